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
 * Marks the folios of a writable block dirty (see the DOC above), then
 * forgets its pages.  The entries are still valid, so the CPU still maps
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
	uptr_entry_t e = range->entries[first];
	struct folio *folio, *prev = NULL;
	unsigned long i;

	lockdep_assert_held(&range->domain->lock);

	/* Read-only ranges keep no pages: nothing the device wrote. */
	if (!range->pages)
		return;
	/* A block has one write permission: that of its first entry. */
	if ((e & (UPTR_ENTRY_WRITE | UPTR_ENTRY_DEVICE_PRIVATE)) ==
	    UPTR_ENTRY_WRITE) {
		for (i = 0; i < count; i++) {
			folio = page_folio(range->pages[first + i]);
			if (folio != prev)
				folio_mark_dirty(folio);
			prev = folio;
		}
	}
	memset(&range->pages[first], 0, count * sizeof(*range->pages));
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

/**
 * uptr_fault_populate() - mirror a span with hmm_range_fault()
 * @range: a FAULT range
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
int uptr_fault_populate(struct uptr_range *range, unsigned long start,
			unsigned long end, unsigned long fault_start,
			unsigned long fault_end, unsigned int flags)
{
	bool write = flags & UPTR_POPULATE_WRITE;
	bool window = fault_end > fault_start &&
		      (start != fault_start || end != fault_end);
	unsigned long *pfns, i, npages, req, seq;
	struct uptr_batch batch;
	int err;

	npages = (end - start) >> PAGE_SHIFT;
	pfns = kvcalloc(npages, sizeof(*pfns), GFP_KERNEL_ACCOUNT);
	if (!pfns)
		return -ENOMEM;

	mmap_read_lock(range->mm);
	if (window) {
		err = uptr_fault_clamp(range, &start, &end, fault_start);
		if (err) {
			mmap_read_unlock(range->mm);
			goto out_classify;
		}
		npages = (end - start) >> PAGE_SHIFT;
	}

	req = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0);
	seq = mmu_interval_read_begin(&range->notifier);
	err = uptr_hmm_call(range, seq, fault_start, fault_end,
			    pfns + ((fault_start - start) >> PAGE_SHIFT), req);
	if (!err)
		err = uptr_hmm_call(range, seq, start, fault_start, pfns, 0);
	if (!err)
		err = uptr_hmm_call(range, seq, fault_end, end,
				    pfns + ((fault_end - start) >> PAGE_SHIFT),
				    0);
	mmap_read_unlock(range->mm);
	if (err == -EBUSY) {
		err = -EAGAIN;
		goto out_free_pfns;
	}
	if (err)
		goto out_classify;

	err = uptr_batch_alloc(&batch, start, npages);
	if (err)
		goto out_free_pfns;
	batch.seq = seq;
	/* PFNs and HMM flags only: the pages may be gone already. */
	batch.map_in_commit = true;
	for (i = 0; i < npages; i++) {
		if (!(pfns[i] & HMM_PFN_VALID) || (pfns[i] & HMM_PFN_ERROR))
			continue;
		batch.pages[i] = hmm_pfn_to_page(pfns[i]);
		batch.order[i] = hmm_pfn_to_map_order(pfns[i]);
		if ((pfns[i] & HMM_PFN_WRITE) &&
		    !(range->flags & UPTR_RANGE_READ_ONLY))
			__set_bit(i, batch.writable);
	}

	/* Maps the pages under the domain lock after the sequence check. */
	err = uptr_batch_commit(range, &batch);
	if (!err)
		uptr_stat_add(range->domain, UPTR_STAT_POPULATES, 1);
	uptr_batch_free(&batch);
out_free_pfns:
	kvfree(pfns);
	return err;

out_classify:
	kvfree(pfns);
	return uptr_classify_error(range, fault_start,
				   max(fault_end, fault_start + PAGE_SIZE),
				   write, err);
}

#else /* !CONFIG_HMM_MIRROR */

int uptr_fault_populate(struct uptr_range *range, unsigned long start,
			unsigned long end, unsigned long fault_start,
			unsigned long fault_end, unsigned int flags)
{
	return -EOPNOTSUPP;
}

#endif /* CONFIG_HMM_MIRROR */
