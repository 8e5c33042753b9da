// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The uptr authors
 */

/**
 * DOC: uptr PIN backend
 *
 * A registration cache of long-term GUP pins.  A populate pins, with
 * pin_user_pages_fast() and FOLL_LONGTERM (FOLL_WRITE unless the range is
 * read-only), every page of the requested span whose entry is not valid,
 * one GUP call per run of invalid pages.  When a read populate of a
 * writable range meets memory mapped without write permission, that run is
 * pinned for reading instead, with read-only entries, as the FAULT backend
 * would mirror it; a later write populate revokes them and pins again for
 * writing (or fails with -EACCES).  FOLL_LONGTERM first migrates
 * pages out of ZONE_MOVABLE and CMA and refuses writable pins of file
 * mappings that need dirty tracking (reported as -EOPNOTSUPP).
 *
 * Pins are charged to the process' pinned_vm against the RLIMIT_MEMLOCK
 * recorded at uptr_range_init() (CAP_IPC_LOCK exempts), like RDMA's
 * ib_umem; going over gives -ENOMEM with nothing left pinned.
 *
 * The notifier (uptr_invalidate()) releases pins after the driver stopped
 * the device.  It runs with folio locks held by its caller in some paths:
 * migration calls it from try_to_migrate() with the source folio locked.
 * So the release here must never lock a folio, and must not use
 * unpin_user_pages_dirty_lock().  Pages of a writable range are marked dirty
 * with folio_mark_dirty() without the folio lock, which is valid for what a
 * writable long-term pin can hold: anonymous memory (no mapping, or the swap
 * cache's noop_dirty_folio), shmem/tmpfs and hugetlbfs, whose dirty_folio
 * operations only set the flag.  File mappings whose dirty_folio needs the
 * lock are exactly those that need dirty tracking, and FOLL_LONGTERM never
 * gave us a writable pin on them.  Unpinning synchronously in the notifier
 * is what lets migration succeed: after the callback returns, the folio's
 * reference count no longer includes our pin.
 */

#include <linux/error-injection.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "uptr_internal.h"

static void uptr_pin_charge_undo(struct uptr_range *range, unsigned long n)
{
	atomic64_sub(n, &range->mm->pinned_vm);
}

static int uptr_pin_charge(struct uptr_range *range, unsigned long n)
{
	s64 pinned = atomic64_add_return(n, &range->mm->pinned_vm);

	if (range->memlock_limit != ULONG_MAX &&
	    pinned > (s64)range->memlock_limit) {
		uptr_pin_charge_undo(range, n);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Release the pins of one block: @count pages from entry index @first,
 * consecutive pages of one folio, of which range->pages holds the first.
 * Called under the domain lock from the notifier: no folio lock, no
 * allocation.
 */
void uptr_pin_release(struct uptr_range *range, unsigned long first,
		      unsigned long count)
{
	struct page *page = range->pages[first];

	lockdep_assert_held(&range->domain->lock);

	/* A block has one write permission: that of its first entry. */
	if (uptr_entry_at(range, first) & UPTR_ENTRY_WRITE)
		folio_mark_dirty(page_folio(page));
	/* One folio: one reference drop, the folio lock is not taken. */
	unpin_user_page_range_dirty_lock(page, count, false);
	range->pages[first] = NULL;

	uptr_pin_charge_undo(range, count);
	atomic64_sub(count, &uptr_pinned_total);
	uptr_stat_add(range->domain, UPTR_STAT_PINNED, -(long)count);
}

/*
 * Release the pins a chunk took and did not install: those marked in
 * @batch->pinned, but for the blocks installed.
 */
static void uptr_pin_release_batch(struct uptr_range *range,
				   struct uptr_batch *batch)
{
	struct uptr_block *b, *end = batch->blocks + batch->nblocks;
	unsigned long i, n = 0;

	for (b = batch->blocks; b < end; b++)
		if (b->flags & UPTR_BLOCK_INSTALLED)
			bitmap_clear(batch->pinned, b->idx, 1U << b->order);
	for_each_set_bit(i, batch->pinned, batch->npages) {
		unpin_user_page(batch->pages[i]);
		n++;
	}
	bitmap_zero(batch->pinned, batch->npages);
	uptr_pin_charge_undo(range, n);
	atomic64_sub(n, &uptr_pinned_total);
	uptr_stat_add(range->domain, UPTR_STAT_PINNED, -(long)n);
}

/*
 * The GUP call of a populate.  A function of its own, never inlined, so
 * that fail_function can fail it like a real GUP failure (docs/design.rst,
 * "Fault injection").
 */
static noinline long uptr_pin_run(struct uptr_range *range,
				  unsigned long addr, unsigned long n,
				  struct page **pages, bool write)
{
	unsigned int gup = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	long pinned;

	if (current->mm == range->mm)
		return pin_user_pages_fast(addr, n, gup, pages);

	/* A fault worker or another process: the remote variant. */
	mmap_read_lock(range->mm);
	pinned = pin_user_pages_remote(range->mm, addr, n, gup, pages, NULL);
	mmap_read_unlock(range->mm);
	return pinned;
}
ALLOW_ERROR_INJECTION(uptr_pin_run, ERRNO);

/*
 * Is a large folio mapped only as a whole, so that GUP returned the pages
 * of each aligned block of it in order?  A hugetlb folio always is (6.12
 * maps no part of one), and so is a THP whose only mapping is one PMD
 * (entire and large mapcount both 1: no PTE maps any page of it), which
 * must then be the PMD that GUP walked for our pages.  A PTE-mapped THP
 * may map other pages between its own (after a partial mremap() or
 * MAP_FIXED), so its pages are compared one by one.  The mapcounts are
 * read without a lock.  A new mapping (fork, a PTE-mapped copy) raises
 * them without a notifier, which only sends us to the compare; removing
 * or replacing a mapping bumps the notifier sequence first, and the
 * commit then throws the batch away.  So the answer is exact for every
 * batch that can be committed; CONFIG_DEBUG_VM checks that against the
 * compare.
 */
static bool uptr_pin_mapped_whole(struct folio *folio)
{
	if (folio_test_hugetlb(folio))
		return true;
	return folio_entire_mapcount(folio) == 1 &&
	       folio_large_mapcount(folio) == 1;
}

/* How many of @pages[0..@n) follow the first one page by page. */
static unsigned long uptr_pin_in_order(struct page **pages, unsigned long n)
{
	unsigned long k;

	for (k = 1; k < n; k++)
		if (pages[k] != nth_page(pages[0], k))
			break;
	return k;
}

/*
 * Cut the pages [@i, @i + @n) of a batch, just pinned for one permission,
 * into blocks: the largest naturally aligned runs (in the user address
 * space and in the folio) of consecutive pages of one folio.  Per page this
 * costs one folio lookup per 4K page, and one compare inside a large folio
 * that is not mapped as a whole (with CONFIG_DEBUG_VM, inside every large
 * folio: the check of uptr_pin_mapped_whole()).
 */
static void uptr_pin_blocks(struct uptr_range *range, struct uptr_batch *batch,
			    unsigned long i, unsigned long n, u8 flags)
{
	struct page **pages = batch->pages;
	unsigned long end = i + n, vpfn, j, k, idx;
	unsigned int order;
	struct folio *folio;
	struct page *page;

	for (j = i; j < end; j += 1UL << order) {
		page = pages[j];
		folio = page_folio(page);
		order = 0;
		if (folio_test_large(folio)) {
			idx = folio_page_idx(folio, page);
			vpfn = (batch->start >> PAGE_SHIFT) + j;
			/* Aligned in the folio, in the VA, within the run. */
			order = min3(folio_order(folio),
				     idx ? __ffs(idx) : BITS_PER_LONG,
				     vpfn ? __ffs(vpfn) : BITS_PER_LONG);
			order = min_t(unsigned int, order, ilog2(end - j));
			if (order && !uptr_pin_mapped_whole(folio)) {
				/* Other pages may be mapped in between. */
				k = uptr_pin_in_order(&pages[j], 1UL << order);
				order = ilog2(k);
			} else if (order && IS_ENABLED(CONFIG_DEBUG_VM)) {
				/* The shortcut, unless the batch is stale. */
				k = uptr_pin_in_order(&pages[j], 1UL << order);
				VM_WARN_ON_ONCE(k < 1UL << order &&
						!mmu_interval_check_retry(&range->notifier,
									  batch->seq));
			}
		}
		uptr_batch_add(batch, j, order, page, flags);
	}
}

/*
 * Pin @n pages at @addr into @pages, for writing if @write, charging each
 * GUP call before it is made and uncharging what it did not pin, so that
 * the charge always equals the pins held.  A partial pin goes on from the
 * first page not pinned, so that the errno is that of the page that failed.
 * Return: the number of pages pinned: all of them, or fewer with *@err set
 * to -ENOMEM over RLIMIT_MEMLOCK, -EAGAIN when GUP failed with -ENOMEM, or
 * another errno of GUP.
 */
static long uptr_pin_span(struct uptr_range *range, unsigned long addr,
			  unsigned long n, struct page **pages, bool write,
			  int *err)
{
	unsigned long done = 0;
	long pinned;

	*err = 0;
	while (done < n) {
		*err = uptr_pin_charge(range, n - done);
		if (*err)
			break;
		pinned = uptr_pin_run(range, addr + (done << PAGE_SHIFT),
				      n - done, &pages[done], write);
		uptr_pin_charge_undo(range, n - done - max(pinned, 0L));
		if (pinned <= 0) {
			*err = pinned ?: -EFAULT;
			/*
			 * Not the memlock limit (that is the charge above):
			 * GUP's own -ENOMEM, which FOLL_LONGTERM also gives
			 * when a page it migrates out of ZONE_MOVABLE is
			 * freed under it.  Transient: retried.
			 */
			if (*err == -ENOMEM)
				*err = -EAGAIN;
			break;
		}
		atomic64_add(pinned, &uptr_pinned_total);
		uptr_stat_add(range->domain, UPTR_STAT_PINNED, pinned);
		done += pinned;
	}
	return done;
}

/* Unpin @n pages of a span, as uptr_pin_span() pinned them. */
static void uptr_pin_unspan(struct uptr_range *range, struct page **pages,
			    unsigned long n)
{
	if (!n)
		return;
	unpin_user_pages(pages, n);
	memset(pages, 0, n * sizeof(*pages));
	uptr_pin_charge_undo(range, n);
	atomic64_sub(n, &uptr_pinned_total);
	uptr_stat_add(range->domain, UPTR_STAT_PINNED, -(long)n);
}

/**
 * uptr_pin_populate() - pin and install the invalid pages of a span
 * @range: a PIN range
 * @batch: the call's scratch batch
 * @start: first address
 * @end: end address, at most %UPTR_POPULATE_CHUNK after @start
 * @flags: UPTR_POPULATE_* flags
 * @retry_err: set with -EAGAIN: the errno to report when retries run out
 *
 * Each run of invalid entries is pinned with one GUP call (more if GUP
 * pins part of it) and cut into folio blocks, one DMA mapping each; the
 * commit writes each block's entries from it and keeps its first page.
 *
 * Each GUP call is charged to pinned_vm before it is made, for the pages it
 * is asked to pin, and what it did not pin is uncharged at once: the charge
 * never differs from the pins held by more than one call in progress, and
 * an invalidation that runs at any time cannot make it drift.
 *
 * A long-term pin first migrates pages out of ZONE_MOVABLE and CMA; when a
 * concurrent MADV_DONTNEED or munmap frees a page under that migration,
 * 6.12's GUP fails with -ENOMEM although memory is not short.  That is
 * returned as -EAGAIN, to be retried within the core's time bound, with
 * *@retry_err set to -ENOMEM for when it persists.  Going over
 * RLIMIT_MEMLOCK is -ENOMEM at once.
 *
 * Context: Process context or worker, range populate_lock held, mm users
 * held.
 * Return: 0, -EAGAIN to retry after a racing invalidation or a lost
 * migration, or an errno of uptr_range_populate().
 */
int uptr_pin_populate(struct uptr_range *range, struct uptr_batch *batch,
		      unsigned long start, unsigned long end,
		      unsigned int flags, int *retry_err)
{
	unsigned long first = uptr_index(range, start);
	unsigned long last = uptr_index(range, end);
	bool write = !(range->flags & UPTR_RANGE_READ_ONLY);
	struct page **pages = batch->pages;
	unsigned long i, run;
	bool ro, any_valid;
	long pinned;
	int err;

	batch->ncommits = READ_ONCE(range->ncommits);
	/* Cache lookup: the span of pages that still need a pin. */
	first = uptr_find(range, first, last, false);
	while (last > first) {
		uptr_entry_t e = uptr_entry_at(range, last - 1);

		if (!(e & UPTR_ENTRY_VALID))
			break;
		/* Back over the whole valid block. */
		last = max(first, uptr_block_start(range, last - 1, e));
	}
	if (first == last) {
		uptr_stat_add(range->domain, UPTR_STAT_CACHE_HITS, 1);
		return 0;
	}

	uptr_batch_reset(batch, range->start + (first << PAGE_SHIFT),
			 last - first);
	batch->seq = mmu_interval_read_begin(&range->notifier);
	/* Under populate_lock the valid entries can only go away. */
	any_valid = READ_ONCE(range->nvalid);

	/*
	 * One GUP call per run of invalid entries, each run read after the
	 * sequence: a run that an invalidation extends after this point is
	 * caught by the commit's sequence check.
	 */
	for (i = 0; i < batch->npages; i += run) {
		unsigned long addr = batch->start + (i << PAGE_SHIFT);

		run = batch->npages - i;
		if (any_valid) {
			if (uptr_entry_at(range, first + i) & UPTR_ENTRY_VALID) {
				/* Over the valid stretch, slots whole. */
				run = uptr_find(range, first + i + 1,
						first + batch->npages, false) -
				      (first + i);
				continue;
			}
			run = uptr_find(range, first + i + 1,
					first + batch->npages, true) -
			      (first + i);
		}

		ro = !write;
		pinned = uptr_pin_span(range, addr, run, &pages[i], write,
				       &err);
		if (err && err != -ENOMEM && err != -EAGAIN && write &&
		    !(flags & UPTR_POPULATE_WRITE)) {
			/*
			 * Memory mapped without write permission: a read
			 * populate pins it for reading, as FAULT mirrors it
			 * read-only.  A later write populate revokes and
			 * re-pins it for writing, or fails.
			 */
			uptr_pin_unspan(range, &pages[i], pinned);
			pinned = uptr_pin_span(range, addr, run, &pages[i],
					       false, &err);
			ro = true;
		}
		bitmap_set(batch->pinned, i, pinned);
		if (err == -EAGAIN) {
			/* -ENOMEM if GUP keeps failing until the deadline. */
			*retry_err = -ENOMEM;
			goto out_release;
		}
		if (err) {
			unsigned long bad = addr + (pinned << PAGE_SHIFT);

			err = uptr_classify_error(range, bad, bad + PAGE_SIZE,
						  !ro, err);
			goto out_release;
		}
		uptr_pin_blocks(range, batch, i, run,
				ro ? 0 : UPTR_ENTRY_WRITE);
	}

	err = uptr_batch_map(range, batch, 0, batch->nblocks);
	if (err)
		goto out_release;
	err = uptr_batch_commit(range, batch);
	if (err) {
		uptr_batch_unmap(range, batch);
		goto out_release;
	}
	uptr_stat_add(range->domain, UPTR_STAT_POPULATES, 1);
	/* Normally nothing: every block was installed. */
	if (batch->ninstalled != batch->nblocks)
		uptr_pin_release_batch(range, batch);
	return 0;

out_release:
	/* Pins held are uncharged as they are released. */
	uptr_pin_release_batch(range, batch);
	return err;
}
