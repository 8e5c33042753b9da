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
 * Device-private pages whose pgmap owner is the domain's owner are reported
 * as they are (entries with %UPTR_ENTRY_DEVICE_PRIVATE); those of other
 * owners are migrated back to system memory by hmm_range_fault() when
 * faulted, and ignored by a snapshot.
 *
 * mmap_lock is dropped before the sequence check and between retries
 * (-EBUSY from hmm_range_fault() becomes -EAGAIN for the core's bounded
 * retry loop).
 */

#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "uptr_internal.h"

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
	return hmm_range_fault(&hrange);
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
	for (i = 0; i < npages; i++) {
		if (!(pfns[i] & HMM_PFN_VALID) || (pfns[i] & HMM_PFN_ERROR))
			continue;
		/* Only used to build entries before the sequence check. */
		batch.pages[i] = hmm_pfn_to_page(pfns[i]);
		batch.order[i] = hmm_pfn_to_map_order(pfns[i]);
		if ((pfns[i] & HMM_PFN_WRITE) &&
		    !(range->flags & UPTR_RANGE_READ_ONLY))
			__set_bit(i, batch.writable);
	}

	err = uptr_batch_map(range, &batch);
	if (err)
		goto out_free_batch;
	err = uptr_batch_commit(range, &batch);
	if (err)
		uptr_batch_unmap(range, &batch);
	else
		uptr_stat_add(range->domain, UPTR_STAT_POPULATES, 1);
out_free_batch:
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
