// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The uptr authors
 */

/**
 * DOC: uptr FAULT backend
 *
 * An HMM mirror.  A populate calls hmm_range_fault() under mmap_read_lock
 * over a span, with per-page request flags: pages of the "fault" sub-span
 * are faulted in (for write if asked), the rest of the span is only
 * snapshotted, so a device fault mirrors the faulting page plus whatever is
 * already present around it without allocating memory.  No page reference
 * is kept: the interval notifier sequence, checked under the domain lock by
 * uptr_batch_commit(), decides whether the result may be installed, and the
 * notifier drops entries before the CPU page tables change.
 *
 * Until that check, a page hmm_range_fault() returned may already have been
 * unmapped and freed (Xe 0a98219bcc96), so nothing but its PFN and the
 * HMM_PFN_* flags is used: the struct page pointer is computed, never
 * dereferenced, and the device-private test and the DMA mapping happen in
 * uptr_batch_commit() under the domain lock after the check, while the
 * notifier cannot let the CPU mapping change.
 *
 * The device may write through a writable entry while the CPU PTE is
 * writable but clean (after MADV_FREE, after a read-fault swap-in, a shmem
 * page first read): nothing marks the folio dirty then, and reclaim would
 * discard it with the device's data.  So a writable range keeps the page of
 * each valid entry, and uptr_fault_release() dirties the folios of writable
 * entries when they are dropped, as ib_umem_odp does.
 *
 * Device-private pages whose pgmap owner is the domain's owner are reported
 * as they are (entries with %UPTR_ENTRY_DEVICE_PRIVATE); those of other
 * owners are migrated back to system memory by hmm_range_fault() when
 * faulted, and ignored by a snapshot.
 *
 * mmap_lock is dropped before the sequence check and between retries
 * (-EBUSY from hmm_range_fault() becomes -EAGAIN for the core's bounded
 * retry loop).
 */

#include <linux/error-injection.h>
#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "uptr_internal.h"

/**
 * uptr_fault_release() - forget the pages of dropped FAULT entries
 * @range: a FAULT range
 * @first: index of the first entry, which starts a block
 * @count: number of entries of the block
 *
 * Marks the folio of a writable block dirty (see the DOC above), then
 * forgets its page.  The entries are still valid, so the CPU still maps
 * the pages and they are alive without a reference of ours; the folio lock
 * is not taken (the notifier may run with it held, as for migration), which
 * folio_mark_dirty() allows while the folio is mapped: the mapping keeps
 * truncation from removing it, as in zap_pte_range().
 *
 * Context: Domain lock held; no allocation, no sleep (notifier path).
 */
void uptr_fault_release(struct uptr_range *range, unsigned long first,
			unsigned long count)
{
	uptr_entry_t e = uptr_entry_at(range, first);

	lockdep_assert_held(&range->domain->lock);

	/* Read-only ranges keep no pages: nothing the device wrote. */
	if (!range->pages)
		return;
	/*
	 * A block has one write permission, that of its first entry, and
	 * lies in one folio, whose page is kept at the block's first index.
	 */
	if ((e & (UPTR_ENTRY_WRITE | UPTR_ENTRY_DEVICE_PRIVATE)) ==
	    UPTR_ENTRY_WRITE)
		folio_mark_dirty(page_folio(range->pages[first]));
	range->pages[first] = NULL;
}

#ifdef CONFIG_HMM_MIRROR

/*
 * Clamp the snapshot part of a window to the VMA of the faulting address,
 * so that a window never spans a hole or a mapping of another kind.
 */
static int uptr_fault_clamp(struct uptr_range *range, unsigned long *start,
			    unsigned long *end, unsigned long fault_start)
{
	struct vm_area_struct *vma;

	mmap_assert_locked(range->mm);
	vma = vma_lookup(range->mm, fault_start);
	if (!vma)
		return -EFAULT;
	*start = max(*start, vma->vm_start);
	*end = min(*end, vma->vm_end);
	return 0;
}

/*
 * hmm_range_fault() in a function of our own, never inlined, so that
 * fail_function can fail it (docs/design.rst, "Fault injection").
 */
static noinline int uptr_hmm_range_fault(struct hmm_range *hrange)
{
	return hmm_range_fault(hrange);
}
ALLOW_ERROR_INJECTION(uptr_hmm_range_fault, ERRNO);

/*
 * One hmm_range_fault() call over [start, end), faulting every page when
 * @req is set and only snapshotting otherwise.  hmm_range_fault() faults
 * from the first page that needs it to the end of the page table it walks,
 * whatever the per-page flags of the pages after it say, so a window is
 * walked as up to three calls under one notifier sequence: the faulted part
 * and the snapshotted parts on either side of it.
 */
static int uptr_hmm_call(struct uptr_range *range, unsigned long seq,
			 unsigned long start, unsigned long end,
			 unsigned long *pfns, unsigned long req)
{
	struct hmm_range hrange = {
		.notifier = &range->notifier,
		.notifier_seq = seq,
		.start = start,
		.end = end,
		.hmm_pfns = pfns,
		.default_flags = req,
		.pfn_flags_mask = 0,
		.dev_private_owner = range->domain->owner,
	};

	if (start >= end)
		return 0;
	return uptr_hmm_range_fault(&hrange);
}

/*
 * The index of the first of @n PFNs, collected by a snapshot from address
 * @start, that does not show a present page with the access @req asks
 * for; @n if there is none.  The PFNs of one CPU mapping share its flags,
 * so a PMD or PUD mapping is stepped over whole.
 */
static unsigned long uptr_fault_present(const unsigned long *pfns,
					unsigned long n, unsigned long start,
					unsigned long req)
{
	unsigned long i = 0, p, vpfn;

	while (i < n) {
		p = pfns[i];
		if (!(p & HMM_PFN_VALID) || (p & HMM_PFN_ERROR) ||
		    ((req & HMM_PFN_REQ_WRITE) && !(p & HMM_PFN_WRITE)))
			return i;
		vpfn = (start >> PAGE_SHIFT) + i;
		i += ALIGN(vpfn + 1, 1UL << hmm_pfn_to_map_order(p)) - vpfn;
	}
	return n;
}

/*
 * Fault in [start, end) with request flags @req.  hmm_range_fault() looks
 * at the request of every 4K page of a span that asks for a fault, also of
 * a PMD mapping that is present; a snapshot (no request) looks at a present
 * mapping as a whole.  So a span that holds a whole aligned
 * %UPTR_HUGE_SIZE slot (where a PMD may map) probes with a snapshot of its
 * part up to the end of that slot; if all of it is present (and writable
 * for a write), the rest is snapshotted too, and only the part from the
 * first page that is missing to the end is faulted; else the span is
 * faulted from the first missing page of the probe.  All under the one
 * notifier sequence @seq: the result is what one faulting call gives.
 * What a span whose pages are missing pays for this is the probe's walk
 * of at most 2 MiB; a span without a whole slot is faulted at once.
 */
static int uptr_fault_call(struct uptr_range *range, unsigned long seq,
			   unsigned long start, unsigned long end,
			   unsigned long *pfns, unsigned long req)
{
	unsigned long slot = ALIGN(start, UPTR_HUGE_SIZE) + UPTR_HUGE_SIZE;
	unsigned long n = (end - start) >> PAGE_SHIFT, i = 0, np;
	int err;

	if (slot <= end) {
		np = (slot - start) >> PAGE_SHIFT;
		err = uptr_hmm_call(range, seq, start, slot, pfns, 0);
		if (err)
			return err;
		i = uptr_fault_present(pfns, np, start, req);
		if (i == np && slot < end) {
			err = uptr_hmm_call(range, seq, slot, end, pfns + np,
					    0);
			if (err)
				return err;
			i = np + uptr_fault_present(pfns + np, n - np, slot,
						    req);
		}
	}
	return uptr_hmm_call(range, seq, start + (i << PAGE_SHIFT), end,
			     pfns + i, req);
}

/* Lockless: valid entries may only go away under populate_lock. */
static bool uptr_fault_any_valid(struct uptr_range *range, unsigned long first,
				 unsigned long n)
{
	return uptr_find(range, first, first + n, true) < first + n;
}

/*
 * Cut the PFNs hmm_range_fault() returned for a batch into blocks.  A PFN
 * comes with the order of the CPU mapping it was found in (a PMD or PUD
 * maps a whole folio, naturally aligned): the block is that mapping,
 * clamped to the natural alignment of its address and to the batch, and
 * the PFNs inside it are not looked at one by one, only its last one, which
 * the same mapping reported.  Pages already valid in the range (a snapshot
 * over entries populated before) get no block; neither does a block that
 * would contain one.  Consecutive 4K pages of one write permission inside
 * one %UPTR_HUGE_SIZE slot, at most %UPTR_COMMIT_BLOCKS of them, become one
 * run (&uptr_block.run): each stays a block of its own for the commit,
 * which finds its page from its PFN.
 */
static void uptr_fault_blocks(struct uptr_range *range,
			      struct uptr_batch *batch,
			      const unsigned long *pfns)
{
	unsigned long i, n, p, q, vpfn, idx0 = uptr_index(range, batch->start);
	bool any_valid = READ_ONCE(range->nvalid);
	bool ro = range->flags & UPTR_RANGE_READ_ONLY;
	struct uptr_block *run = NULL;
	unsigned int order;
	u8 flags;

	BUILD_BUG_ON(UPTR_COMMIT_BLOCKS > U16_MAX);
	for (i = 0; i < batch->npages; i += n) {
		p = pfns[i];
		n = 1;
		if (!(p & HMM_PFN_VALID) || (p & HMM_PFN_ERROR)) {
			run = NULL;
			continue;
		}
		if (any_valid) {
			uptr_entry_t e = uptr_entry_at(range, idx0 + i);

			if (e & UPTR_ENTRY_VALID) {
				/* Over the rest of the valid block. */
				n = min(uptr_block_end(range, idx0 + i, e) - idx0,
					batch->npages) - i;
				run = NULL;
				continue;
			}
		}
		flags = (p & HMM_PFN_WRITE) && !ro ? UPTR_ENTRY_WRITE : 0;
		vpfn = (batch->start >> PAGE_SHIFT) + i;
		order = hmm_pfn_to_map_order(p);
		if (order) {
			order = min_t(unsigned int, order,
				      vpfn ? __ffs(vpfn) : BITS_PER_LONG);
			order = min_t(unsigned int, order,
				      ilog2(batch->npages - i));
			q = pfns[i + (1UL << order) - 1];
			if ((q & ~HMM_PFN_FLAGS) !=
			    (p & ~HMM_PFN_FLAGS) + (1UL << order) - 1 ||
			    (q ^ p) & (HMM_PFN_VALID | HMM_PFN_WRITE |
				       HMM_PFN_ERROR))
				order = 0;
			/* Rare: entries left valid inside the block. */
			if (order && any_valid &&
			    uptr_fault_any_valid(range, idx0 + i, 1UL << order))
				order = 0;
		}
		if (order) {
			n = 1UL << order;
			uptr_batch_add(batch, i, order, hmm_pfn_to_page(p),
				       flags);
			run = NULL;
			continue;
		}
		/* A 4K page: the next one of the current run, or a new run. */
		if (run && run->flags == flags &&
		    vpfn & ((1UL << UPTR_HUGE_ORDER) - 1) &&
		    run->run < UPTR_COMMIT_BLOCKS) {
			run->run++;
			continue;
		}
		run = &batch->blocks[batch->nblocks++];
		run->idx = i;
		run->run = 1;
		run->order = 0;
		run->flags = flags;
	}
}

/**
 * uptr_fault_populate() - mirror a span with hmm_range_fault()
 * @range: a FAULT range
 * @batch: the call's scratch batch
 * @start: first address of the span
 * @end: end of the span
 * @fault_start: first address that must be faulted in
 * @fault_end: end of the faulted part; equal to @fault_start for a snapshot
 * @flags: UPTR_POPULATE_* flags
 *
 * A span wider than the faulted part is clamped to the VMA of @fault_start.
 *
 * Context: Process context or worker, range populate_lock held, mm users
 * held, mmap_lock not held.
 * Return: 0, -EAGAIN to retry after a racing invalidation, or an errno of
 * uptr_range_populate().
 */
int uptr_fault_populate(struct uptr_range *range, struct uptr_batch *batch,
			unsigned long start, unsigned long end,
			unsigned long fault_start, unsigned long fault_end,
			unsigned int flags)
{
	bool write = flags & UPTR_POPULATE_WRITE;
	bool window = fault_end > fault_start &&
		      (start != fault_start || end != fault_end);
	unsigned long *pfns = batch->pfns, npages, req, seq;
	int err;

	mmap_read_lock(range->mm);
	if (window) {
		err = uptr_fault_clamp(range, &start, &end, fault_start);
		if (err) {
			mmap_read_unlock(range->mm);
			goto out_classify;
		}
	}
	npages = (end - start) >> PAGE_SHIFT;

	req = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
	seq = mmu_interval_read_begin(&range->notifier);
	err = uptr_fault_call(range, seq, fault_start, fault_end,
			      pfns + ((fault_start - start) >> PAGE_SHIFT),
			      req);
	if (!err)
		err = uptr_hmm_call(range, seq, start, fault_start, pfns, 0);
	if (!err)
		err = uptr_hmm_call(range, seq, fault_end, end,
				    pfns + ((fault_end - start) >> PAGE_SHIFT),
				    0);
	mmap_read_unlock(range->mm);
	if (err == -EBUSY)
		return -EAGAIN;
	if (err)
		goto out_classify;

	uptr_batch_reset(batch, start, npages);
	batch->seq = seq;
	batch->ncommits = READ_ONCE(range->ncommits);
	/* PFNs and HMM flags only: the pages may be gone already. */
	batch->map_in_commit = true;
	uptr_fault_blocks(range, batch, pfns);

	/* Maps the pages under the domain lock after the sequence check. */
	err = uptr_batch_commit(range, batch);
	if (!err)
		uptr_stat_add(range->domain, UPTR_STAT_POPULATES, 1);
	return err;

out_classify:
	return uptr_classify_error(range, fault_start,
				   max(fault_end, fault_start + PAGE_SIZE),
				   write, err);
}

#else /* !CONFIG_HMM_MIRROR */

int uptr_fault_populate(struct uptr_range *range, struct uptr_batch *batch,
			unsigned long start, unsigned long end,
			unsigned long fault_start, unsigned long fault_end,
			unsigned int flags)
{
	return -EOPNOTSUPP;
}

#endif /* CONFIG_HMM_MIRROR */
