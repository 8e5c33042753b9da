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

#include <linux/hmm.h>
#include <linux/uptr.h>

/* Pages of the largest chunk a backend collects at once. */
#define UPTR_CHUNK_PAGES	(UPTR_POPULATE_CHUNK >> PAGE_SHIFT)

/*
 * Work a commit does per hold of the domain lock, the notifier lock of
 * every range of the domain: a hold takes blocks until they hold at least
 * this many DMA mappings (a FAULT run, of at most this many pages, counts
 * each of its pages), so it installs (and FAULT DMA-maps) fewer than twice
 * as many: about a 2 MiB chunk of 4K pages, whatever the chunk size.
 */
#define UPTR_COMMIT_BLOCKS	512

/*
 * A block: 2^@order pages at consecutive batch indices, naturally aligned
 * in the user address space, physically contiguous, inside one folio, with
 * one write permission: one DMA mapping, one entry value per page derived
 * from it, one dirty and one unpin per folio.
 */
struct uptr_block {
	/* PIN: first page.  FAULT: unused, see uptr_block_page(). */
	struct page *page;
	/* PIN: DMA (or physical) address of @page once mapped. */
	u64 addr;
	/* Batch index of the first page. */
	u32 idx;
	/*
	 * FAULT: number of blocks of order 0 at consecutive indices in one
	 * %UPTR_HUGE_SIZE slot that this one stands for, at most
	 * %UPTR_COMMIT_BLOCKS, each a 4K page of its own with its own DMA
	 * mapping and entry (a run: the backend writes one block for them,
	 * not one each); 1 otherwise.
	 */
	u16 run;
	/* log2 of the number of pages. */
	u8 order;
	/* UPTR_ENTRY_WRITE, UPTR_ENTRY_DEVICE_PRIVATE, UPTR_BLOCK_*. */
	u8 flags;
};

/* Internal block flags, never in an entry (bits 0..2 are entry flags). */
#define UPTR_BLOCK_MAPPED	BIT(6)	/* addr holds a DMA mapping */
#define UPTR_BLOCK_INSTALLED	BIT(7)	/* now owned by the range */

/*
 * The scratch arrays of a whole chunk (UPTR_CHUNK_PAGES pages), for either
 * backend: @words holds hmm_range_fault()'s PFNs (FAULT) or GUP's pages
 * (PIN), @pinned is PIN's bitmap.  A domain keeps one set for its populate
 * calls of UPTR_SCRATCH_MIN_PAGES or more (&uptr_domain.scratch): for
 * 16 MiB of huge pages, allocating and freeing the arrays cost a quarter
 * of the call.  What a set holds when a call takes it is undefined (the
 * last call's PFNs, pages or bits; poisoned under CONFIG_DEBUG_VM): every
 * array is written before it is read, and hmm_range_fault() ignores the
 * per-page request bits of its input (uptr_hmm_call() passes a
 * pfn_flags_mask of 0).  The core's shrinker frees a kept set under memory
 * pressure (see uptr_scratch_scan()); the domain makes a new one on its next
 * call of that size.
 */
struct uptr_scratch {
	struct uptr_block *blocks;
	void *words;
	unsigned long *pinned;
	/* On the shrinker's list of sets to free, once taken from a domain. */
	struct list_head dispose;
};

/* Bits of &uptr_domain.scratch_made. */
#define UPTR_SCRATCH_MADE	0	/* the domain owns a set, kept or lent */
#define UPTR_SCRATCH_LISTED	1	/* on the shrinker's list */

/* Calls of at least this many pages use the domain's kept scratch. */
#define UPTR_SCRATCH_MIN_PAGES	(SZ_2M >> PAGE_SHIFT)

/*
 * The scratch state of one populate call, allocated once per call (or
 * taken from the domain, @scratch) and reused for each chunk: a block
 * list, and the output of GUP (PIN) or of hmm_range_fault() (FAULT).  A
 * commit keeps one page per block in range->pages, that of the block's
 * first entry.
 */
struct uptr_batch {
	/* First user address of the chunk, page aligned. */
	unsigned long start;
	/* Number of pages of the chunk, at most UPTR_CHUNK_PAGES. */
	unsigned long npages;
	/* Blocks collected, in address order, and how many. */
	struct uptr_block *blocks;
	unsigned long nblocks;
	/* Blocks the last commit installed (a run counts once). */
	unsigned long ninstalled;
	/* FAULT: hmm_range_fault() output, one per page of the chunk. */
	unsigned long *pfns;
	/* PIN: GUP's output, one page per index of the chunk. */
	struct page **pages;
	/* PIN: indices of @pages that hold a pin not installed yet. */
	unsigned long *pinned;
	/* Capacity of the arrays, in pages. */
	unsigned long max_pages;
	/* The arrays came from, and go back to, @domain's kept scratch. */
	struct uptr_scratch *scratch;
	struct uptr_domain *domain;
	/* Largest block order the domain's device can map at once. */
	unsigned int max_order;
	/* Notifier sequence the pages were collected under. */
	unsigned long seq;
	/*
	 * &uptr_range.ncommits before the backend looked at which entries
	 * are valid: if it is unchanged at the commit, no entry of the
	 * batch's blocks not installed yet became valid since, and the
	 * commit need not look for any.  A hold of the domain lock that
	 * installed blocks without looking at them (no other commit since
	 * the collection, or no valid entry at all) sets it to include its
	 * own commit, so that later holds need not look either; a hold that
	 * looked must not, as it checked only its own blocks.
	 */
	unsigned long ncommits;
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

/* The entry of the page at index @idx, from its slot or its own. */
static inline uptr_entry_t uptr_entry_at(const struct uptr_range *range,
					 unsigned long idx)
{
	return __uptr_range_entry(range, range->start + (idx << PAGE_SHIFT));
}

/* Index one past the block that holds index @idx, of valid entry @e. */
static inline unsigned long uptr_block_end(const struct uptr_range *range,
					   unsigned long idx, uptr_entry_t e)
{
	unsigned long va = range->start + (idx << PAGE_SHIFT);

	return uptr_index(range, ALIGN(va + 1,
				       PAGE_SIZE << uptr_entry_order(e)));
}

/* Index of the first page of the block that holds index @idx. */
static inline unsigned long uptr_block_start(const struct uptr_range *range,
					     unsigned long idx, uptr_entry_t e)
{
	unsigned long va = range->start + (idx << PAGE_SHIFT);

	return uptr_index(range, ALIGN_DOWN(va,
					    PAGE_SIZE << uptr_entry_order(e)));
}

unsigned long uptr_find(const struct uptr_range *range, unsigned long i,
			unsigned long end, bool valid);

static inline void uptr_stat_add(struct uptr_domain *domain,
				 enum uptr_counter c, long n)
{
	atomic64_add(n, &domain->stats[c]);
}

int uptr_batch_alloc(struct uptr_batch *batch, struct uptr_range *range,
		     unsigned long npages);
void uptr_batch_reset(struct uptr_batch *batch, unsigned long start,
		      unsigned long npages);
void uptr_batch_free(struct uptr_batch *batch);

static inline void uptr_batch_add(struct uptr_batch *batch, unsigned long idx,
				  unsigned int order, struct page *page,
				  u8 flags)
{
	unsigned int o = min(order, batch->max_order);
	unsigned long k;
	struct uptr_block *b;

	/* A block larger than one DMA mapping may be is cut into several. */
	for (k = 0; k < 1UL << order; k += 1UL << o) {
		b = &batch->blocks[batch->nblocks++];
		b->page = nth_page(page, k);
		b->addr = 0;
		b->idx = idx + k;
		b->run = 1;
		b->order = o;
		b->flags = flags;
	}
}

/*
 * The first page of block @b.  A FAULT batch (@batch->map_in_commit) keeps
 * no page pointer: the page is computed from hmm_range_fault()'s PFN, and
 * may be dereferenced only under the domain lock after the sequence check.
 */
static inline struct page *uptr_block_page(const struct uptr_batch *batch,
					   const struct uptr_block *b)
{
	if (batch->map_in_commit)
		return hmm_pfn_to_page(batch->pfns[b->idx]);
	return b->page;
}

int uptr_batch_map(struct uptr_range *range, struct uptr_batch *batch,
		   unsigned long from, unsigned long to);
void uptr_batch_unmap(struct uptr_range *range, struct uptr_batch *batch);
int uptr_batch_commit(struct uptr_range *range, struct uptr_batch *batch);
int uptr_classify_error(struct uptr_range *range, unsigned long start,
			unsigned long end, bool write, int err);

/* Backend PIN (uptr_pin.c). */
int uptr_pin_populate(struct uptr_range *range, struct uptr_batch *batch,
		      unsigned long start, unsigned long end, unsigned int flags,
		      int *retry_err);
void uptr_pin_release(struct uptr_range *range, unsigned long first,
		      unsigned long count);

/* Backend FAULT (uptr_fault.c). */
void uptr_fault_release(struct uptr_range *range, unsigned long first,
			unsigned long count);
int uptr_fault_populate(struct uptr_range *range, struct uptr_batch *batch,
			unsigned long start, unsigned long end,
			unsigned long fault_start, unsigned long fault_end,
			unsigned int flags);

extern atomic64_t uptr_pinned_total;

#if IS_ENABLED(CONFIG_KUNIT)
int uptr_populate_once(struct uptr_range *range, unsigned long start,
		       unsigned long end, unsigned int flags);
#endif

#endif /* _UPTR_INTERNAL_H_ */
