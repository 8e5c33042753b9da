/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (c) 2026 The uptr authors
 */
#ifndef _UPTR_INTERNAL_H_
#define _UPTR_INTERNAL_H_

/**
 * DOC: uptr internals
 *
 * Shared between the core (uptr_core.c) and the two backends
 * (uptr_pin.c, uptr_fault.c).  A backend collects pages for a span of a
 * range into a &struct uptr_batch without any lock but the range's
 * populate_lock; uptr_batch_commit() maps them for DMA and installs them
 * as entries under the domain lock if no invalidation ran since the batch's
 * notifier sequence was read.
 *
 * Entries only become valid in uptr_batch_commit(), and only become
 * invalid in the notifier (uptr_invalidate()) or in uptr_range_fini(), so
 * a valid entry always points at the page the CPU maps: under the domain
 * lock, the page of a valid entry is alive even without a reference.
 */

#include <linux/uptr.h>

struct uptr_batch {
	/* First user address, page aligned. */
	unsigned long start;
	/* Number of pages in the batch. */
	unsigned long npages;
	/* Page per index, NULL where nothing was collected. */
	struct page **pages;
	/* Mapping order hint per index (CPU mapping or folio order). */
	u8 *order;
	/* Device may write to the page at this index. */
	unsigned long *writable;
	/* Entries built by uptr_batch_map(), zero where none. */
	uptr_entry_t *entries;
	/* Notifier sequence the pages were collected under. */
	unsigned long seq;
	/*
	 * The pages are held by no reference (FAULT): they may be freed
	 * as soon as they are collected, so nothing but their PFN may be
	 * used before the sequence check.  uptr_batch_commit() then maps
	 * them itself, under the domain lock, after that check.
	 */
	bool map_in_commit;
};

static inline unsigned long uptr_index(const struct uptr_range *range,
				       unsigned long addr)
{
	return (addr - range->start) >> PAGE_SHIFT;
}

static inline void uptr_stat_add(struct uptr_domain *domain,
				 enum uptr_counter c, long n)
{
	atomic64_add(n, &domain->stats[c]);
}

int uptr_batch_alloc(struct uptr_batch *batch, unsigned long start,
		     unsigned long npages);
void uptr_batch_free(struct uptr_batch *batch);
int uptr_batch_map(struct uptr_range *range, struct uptr_batch *batch);
void uptr_batch_unmap(struct uptr_range *range, struct uptr_batch *batch);
int uptr_batch_commit(struct uptr_range *range, struct uptr_batch *batch);
int uptr_classify_error(struct uptr_range *range, unsigned long start,
			unsigned long end, bool write, int err);

/* Backend PIN (uptr_pin.c). */
int uptr_pin_populate(struct uptr_range *range, unsigned long start,
		      unsigned long end, unsigned int flags, int *retry_err);
void uptr_pin_release(struct uptr_range *range, unsigned long first,
		      unsigned long count);
void uptr_pin_release_batch(struct uptr_range *range,
			    struct uptr_batch *batch);

/* Backend FAULT (uptr_fault.c). */
void uptr_fault_release(struct uptr_range *range, unsigned long first,
			unsigned long count);
int uptr_fault_populate(struct uptr_range *range, unsigned long start,
			unsigned long end, unsigned long fault_start,
			unsigned long fault_end, unsigned int flags);

extern atomic64_t uptr_pinned_total;

#if IS_ENABLED(CONFIG_KUNIT)
int uptr_populate_once(struct uptr_range *range, unsigned long start,
		       unsigned long end, unsigned int flags);
#endif

#endif /* _UPTR_INTERNAL_H_ */
