// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The uptr authors
 */

/**
 * DOC: sgpu buffer objects
 *
 * Two kinds of GEM objects:
 *
 * shmem BOs
 *	drm_gem_shmem objects with their own dma_resv: external objects in
 *	every VM they are mapped in.  Their pages are pinned by the sg table
 *	that the first mapping creates (drm_gem_shmem_get_pages_sgt()) and
 *	stay until the BO is freed; a mapping holds a BO reference, so the
 *	pages outlive every PTE.
 *
 * userptr BOs (&struct sgpu_ubo)
 *	one &struct uptr_range over user memory of the creating process, in
 *	the domain of the VM named at creation.  The BO's resv *is* the VM's
 *	(drm_gpuvm_resv_obj()), which makes it VM-private for drm_gpuvm: it
 *	is on no extobj list, it is locked with the VM and
 *	drm_gpuvm_validate() revalidates it.  It cannot be bound into another
 *	VM, exported or mmapped.
 *
 * The uptr invalidate callback of a userptr BO (sgpu_ubo_invalidate()) is
 * the driver's MMU notifier.  It runs with the domain lock held, never
 * locks a dma_resv, never allocates:
 *
 * - fence mode: wait (blockable) or test (non-blockable, fail if busy) the
 *   VM resv's BOOKKEEP fences, which include every bind and EXEC job that
 *   could use the pages; zap the PTEs of the invalidated part of every
 *   mapping of the BO; put the BO on the VM's invalidated list.  The
 *   teardown of the address space (exit, OOM reaper:
 *   uptr_invalidate_is_teardown()) waits at most as long as the exit would
 *   wait for the jobs at close, nothing for a killed process, then marks
 *   the BO torn down (&sgpu_ubo.torn_down: queued jobs' snapshots of its
 *   entries are never written) and zaps; jobs that still reach it fault.
 * - fault mode: zap the PTEs, which flushes the engine's translations;
 *   jobs fault on their next access.
 */

#include <linux/dma-resv.h>
#include <linux/error-injection.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>

#include <drm/drm_file.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_prime.h>
#include <drm/drm_vma_manager.h>

#include "sgpu_drv.h"

/* Largest shmem BO: 4 GiB, far more than the test guest has. */
#define SGPU_MAX_BO_SIZE	SZ_4G

static void sgpu_shmem_free(struct drm_gem_object *obj)
{
	struct sgpu_device *sdev = to_sgpu(obj->dev);

	drm_gem_shmem_free(to_drm_gem_shmem_obj(obj));
	atomic64_dec(&sdev->live[SGPU_DEV_LIVE_BOS]);
}

static const struct drm_gem_object_funcs sgpu_shmem_funcs = {
	.free = sgpu_shmem_free,
	.print_info = drm_gem_shmem_object_print_info,
	.pin = drm_gem_shmem_object_pin,
	.unpin = drm_gem_shmem_object_unpin,
	.get_sg_table = drm_gem_shmem_object_get_sg_table,
	.vmap = drm_gem_shmem_object_vmap,
	.vunmap = drm_gem_shmem_object_vunmap,
	.mmap = drm_gem_shmem_object_mmap,
	.vm_ops = &drm_gem_shmem_vm_ops,
};

/**
 * sgpu_gem_create_object() - &drm_driver.gem_create_object for shmem BOs
 * @drm: the device
 * @size: the size
 *
 * Context: Process context.
 * Return: the embedded GEM object or ERR_PTR(-ENOMEM).
 */
struct drm_gem_object *sgpu_gem_create_object(struct drm_device *drm,
					      size_t size)
{
	struct drm_gem_shmem_object *shmem;

	shmem = kzalloc(sizeof(*shmem), GFP_KERNEL);
	if (!shmem)
		return ERR_PTR(-ENOMEM);
	shmem->base.funcs = &sgpu_shmem_funcs;
	return &shmem->base;
}

/*
 * The shmem BO of BO_CREATE, in a function of our own, never inlined, so
 * that fail_function can fail it (docs/design.rst, "Fault injection").
 */
static noinline struct drm_gem_shmem_object *
sgpu_shmem_create(struct drm_device *drm, size_t size)
{
	return drm_gem_shmem_create(drm, size);
}
ALLOW_ERROR_INJECTION(sgpu_shmem_create, ERRNO);

/**
 * sgpu_bo_create_ioctl() - DRM_IOCTL_SGPU_BO_CREATE
 * @drm: the device
 * @data: &struct drm_sgpu_bo_create
 * @file: the caller
 *
 * Context: Process context.
 * Return: 0 or negative errno, see docs/uapi.rst.
 */
int sgpu_bo_create_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file)
{
	struct drm_sgpu_bo_create *args = data;
	struct drm_gem_shmem_object *shmem;
	int ret;

	if (args->flags || !args->size || !PAGE_ALIGNED(args->size) ||
	    args->size > SGPU_MAX_BO_SIZE)
		return -EINVAL;

	shmem = sgpu_shmem_create(drm, args->size);
	if (IS_ERR(shmem)) {
		ret = PTR_ERR(shmem);
		/*
		 * shmem reports an inode it could not allocate as -ENOSPC
		 * (and drm_mm a full fake-offset space): out of memory.
		 */
		return ret == -ENOSPC ? -ENOMEM : ret;
	}
	atomic64_inc(&to_sgpu(drm)->live[SGPU_DEV_LIVE_BOS]);

	ret = drm_gem_handle_create(file, &shmem->base, &args->handle);
	drm_gem_object_put(&shmem->base);
	return ret;
}

/**
 * sgpu_bo_mmap_offset_ioctl() - DRM_IOCTL_SGPU_BO_MMAP_OFFSET
 * @drm: the device
 * @data: &struct drm_sgpu_bo_mmap_offset
 * @file: the caller
 *
 * Context: Process context.
 * Return: 0 or negative errno.
 */
int sgpu_bo_mmap_offset_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file)
{
	struct drm_sgpu_bo_mmap_offset *args = data;
	struct drm_gem_object *obj;
	int ret;

	if (args->pad)
		return -EINVAL;
	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	if (sgpu_is_ubo(obj)) {
		ret = -EINVAL;
		goto out_put;
	}
	ret = drm_gem_create_mmap_offset(obj);
	if (!ret)
		args->offset = drm_vma_node_offset_addr(&obj->vma_node);
out_put:
	drm_gem_object_put(obj);
	return ret;
}

/**
 * sgpu_shmem_entries() - describe pages of a shmem BO as uptr entries
 * @obj: a shmem BO
 * @offset: byte offset in the BO, page aligned
 * @npages: number of pages
 * @entries: filled with DMA address | VALID | WRITE per page
 *
 * Creates and DMA-maps the BO's sg table on first use; it lives as long
 * as the BO.
 *
 * Context: Process context, no dma_resv held (takes the BO's).
 * Return: 0 or negative errno.
 */
int sgpu_shmem_entries(struct drm_gem_object *obj, u64 offset, u64 npages,
		       uptr_entry_t *entries)
{
	u64 first = offset >> PAGE_SHIFT, idx = 0, k, n;
	struct scatterlist *sg;
	struct sg_table *sgt;
	dma_addr_t dma;
	unsigned int i;

	sgt = drm_gem_shmem_get_pages_sgt(to_drm_gem_shmem_obj(obj));
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);

	for_each_sgtable_dma_sg(sgt, sg, i) {
		dma = sg_dma_address(sg);
		n = sg_dma_len(sg) >> PAGE_SHIFT;
		for (k = 0; k < n; k++, idx++) {
			if (idx < first || idx - first >= npages)
				continue;
			entries[idx - first] = (dma + (k << PAGE_SHIFT)) |
					       UPTR_ENTRY_VALID |
					       UPTR_ENTRY_WRITE;
		}
	}
	return idx >= first + npages ? 0 : -EINVAL;
}

/* Was the address space of @ubo torn down because its owner was killed? */
static bool sgpu_teardown_killed(const struct sgpu_ubo *ubo,
				 const struct mmu_notifier_range *nrange)
{
	struct signal_struct *sig = current->signal;

	/* An OOM victim's mm, whoever drops its last user. */
	if (test_bit(MMF_OOM_REAP_QUEUED, &nrange->mm->flags))
		return true;
	/*
	 * Else only an exiting task of the process that made the BO speaks
	 * for it: the process itself, or one of its io_uring/vhost workers
	 * (threads of it).  Another task dropping the last user (a vhost fd
	 * passed over a socket, /proc) says nothing about how the owner
	 * ended.  (Not current->active_mm: after exit_mm() a context switch
	 * rewrites it.)
	 */
	if (current->mm || !(current->flags & PF_EXITING) ||
	    task_tgid(current) != ubo->owner)
		return false;
	/* Written under siglock by other threads: a snapshot is enough. */
	if ((READ_ONCE(sig->flags) & SIGNAL_GROUP_EXIT) &&
	    (READ_ONCE(sig->group_exit_code) & 0x7f))
		return true;
	return !sgpu_vm_close_budget();
}

/*
 * How long the teardown of an address space may still wait for a
 * fence-mode VM's jobs.  Nothing when the owner was killed (a fatal
 * signal, the OOM killer) and for the OOM reaper (it must not sleep).
 * Otherwise at most %SGPU_EXIT_FLUSH_MS for all the BOs of the VM
 * together, whoever drops the last user of the mm: the first BO's
 * callback sets the VM's deadline for this mm, the next ones wait what is
 * left of it.  The bound is per VM: an exit with busy jobs in K VMs may
 * wait K bounds (a pending signal ends each wait).  The mm is compared by
 * address, and its deadline only honoured while it can still be running
 * out: an mm freed and reallocated at the same address within 2 bounds of
 * the first one's teardown waits only what is left, then nothing.
 */
static long sgpu_ubo_teardown_budget(struct sgpu_ubo *ubo,
				     const struct mmu_notifier_range *nrange)
{
	const long bound = msecs_to_jiffies(SGPU_EXIT_FLUSH_MS);
	struct sgpu_vm *vm = ubo->vm;

	lockdep_assert_held(&vm->domain.lock);
	if (!mmu_notifier_range_blockable(nrange) ||
	    sgpu_teardown_killed(ubo, nrange))
		return 0;
	if (vm->teardown_mm == nrange->mm &&
	    time_before(jiffies, vm->teardown_end + bound))
		return clamp_t(long, (long)(vm->teardown_end - jiffies), 0,
			       bound);
	vm->teardown_mm = nrange->mm;
	vm->teardown_end = jiffies + bound;
	return bound;
}

static bool sgpu_ubo_invalidate(struct uptr_range *range,
				const struct mmu_notifier_range *nrange,
				unsigned long start, unsigned long end)
{
	struct sgpu_ubo *ubo = container_of(range, struct sgpu_ubo, range);
	bool teardown = uptr_invalidate_is_teardown(nrange);
	struct sgpu_vm *vm = ubo->vm;
	struct dma_resv *resv = drm_gpuvm_resv(&vm->gpuvm);
	long budget = MAX_SCHEDULE_TIMEOUT;
	struct sgpu_mapping *m;
	unsigned long us, ue, s, e;

	lockdep_assert_held(&vm->domain.lock);

	if (vm->mode == SGPU_VM_MODE_FENCE &&
	    !dma_resv_test_signaled(resv, DMA_RESV_USAGE_BOOKKEEP)) {
		if (teardown)
			budget = sgpu_ubo_teardown_budget(ubo, nrange);
		else if (!mmu_notifier_range_blockable(nrange))
			return false;	/* must not wait, the GPU may use them */
		/*
		 * Only a teardown may stop waiting early (a pending signal
		 * interrupts it: an exiting task is normally killed or has
		 * none): it zaps its own PTEs either way.
		 */
		if (budget) {
			sgpu_vm_stat_add(vm, SGPU_VM_NOTIFIER_WAITS, 1);
			dma_resv_wait_timeout(resv, DMA_RESV_USAGE_BOOKKEEP,
					      teardown, budget);
		}
	}
	/*
	 * Jobs may still run and carry snapshots of the entries (binds,
	 * rebinds): from now on the engine must not write them
	 * (sgpu_pt_map()); a job that reaches the range faults.  Mappings
	 * that a queued job removed keep their PTEs until it runs, out of
	 * the list below: zap them now, unless that job already did.
	 */
	if (vm->mode == SGPU_VM_MODE_FENCE && teardown) {
		if (!READ_ONCE(ubo->torn_down)) {
			spin_lock(&vm->pt_lock);
			WRITE_ONCE(ubo->torn_down, true);
			spin_unlock(&vm->pt_lock);
		}
		list_for_each_entry(m, &ubo->removed, bo_link)
			sgpu_pt_zap_ubo(vm, ubo, m, m->zap_addr, m->zap_range,
					true);
	}

	list_for_each_entry(m, &ubo->mappings, bo_link) {
		us = range->start + m->va.gem.offset;
		ue = us + m->va.va.range;
		s = max(start, us);
		e = min(end, ue);
		if (s >= e)
			continue;
		/*
		 * Not waited for, the bind that made @m may not have run:
		 * clear only this BO's own PTEs (sgpu_pt_zap_ubo()).
		 */
		if (vm->mode == SGPU_VM_MODE_FENCE && teardown)
			sgpu_pt_zap_ubo(vm, ubo, m, m->va.va.addr + (s - us),
					e - s, false);
		else
			sgpu_pt_zap(vm, m->va.va.addr + (s - us), e - s);
	}

	if (vm->mode == SGPU_VM_MODE_FENCE && list_empty(&ubo->inval_link))
		list_add_tail(&ubo->inval_link, &vm->invalidated);
	atomic64_inc(&ubo->invalidations);
	return true;
}

static const struct uptr_range_ops sgpu_ubo_range_ops = {
	.invalidate = sgpu_ubo_invalidate,
};

static void sgpu_ubo_free(struct drm_gem_object *obj)
{
	struct sgpu_ubo *ubo = to_ubo(obj);
	struct sgpu_vm *vm = ubo->vm;
	struct sgpu_device *sdev = vm->sdev;

	/* Every mapping holds a BO reference, removed ones too. */
	WARN_ON(!list_empty(&ubo->mappings));
	WARN_ON(!list_empty(&ubo->removed));

	/* Stops and waits for the notifier, then releases pins. */
	uptr_range_fini(&ubo->range);

	uptr_domain_lock(&vm->domain);
	list_del_init(&ubo->inval_link);
	uptr_domain_unlock(&vm->domain);

	drm_gem_object_release(obj);
	put_pid(ubo->owner);
	kfree(ubo);
	atomic64_dec(&sdev->live[SGPU_DEV_LIVE_USERPTR_BOS]);
	atomic64_dec(&sdev->live[SGPU_DEV_LIVE_BOS]);
	sgpu_vm_put(vm);
}

static struct dma_buf *sgpu_ubo_export(struct drm_gem_object *obj,
				       int flags)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static const struct drm_gem_object_funcs sgpu_ubo_funcs = {
	.free = sgpu_ubo_free,
	.export = sgpu_ubo_export,
};

/**
 * sgpu_is_ubo() - is a GEM object a userptr BO of this driver
 * @obj: the object
 *
 * Context: Any context.
 * Return: true for a userptr BO.
 */
bool sgpu_is_ubo(struct drm_gem_object *obj)
{
	return obj->funcs == &sgpu_ubo_funcs;
}

/**
 * sgpu_userptr_create_ioctl() - DRM_IOCTL_SGPU_USERPTR_CREATE
 * @drm: the device
 * @data: &struct drm_sgpu_userptr_create
 * @file: the caller
 *
 * Nothing is pinned or mirrored yet.
 *
 * Context: Process context, takes mmap_lock for reading.
 * Return: 0 or negative errno, see docs/uapi.rst.
 */
int sgpu_userptr_create_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file)
{
	struct drm_sgpu_userptr_create *args = data;
	struct sgpu_device *sdev = to_sgpu(drm);
	enum uptr_backend backend;
	unsigned long end;
	struct sgpu_ubo *ubo;
	struct sgpu_vm *vm;
	u32 flags = args->flags;
	unsigned int check;
	int ret;

	if (args->pad || (flags & ~SGPU_USERPTR_FLAGS) ||
	    (flags & SGPU_USERPTR_BACKEND_MASK) == SGPU_USERPTR_BACKEND_MASK)
		return -EINVAL;
	if (!args->size || !PAGE_ALIGNED(args->addr) ||
	    !PAGE_ALIGNED(args->size))
		return -EINVAL;
	if (check_add_overflow((unsigned long)args->addr,
			       (unsigned long)args->size, &end) ||
	    args->addr > ULONG_MAX || args->size > ULONG_MAX)
		return -EOVERFLOW;
	/* Bounds every per-page table and loop over the BO. */
	if (args->size > SGPU_MAX_USERPTR_SIZE)
		return -E2BIG;
	if (end > TASK_SIZE)
		return -EFAULT;

	if (!(flags & SGPU_USERPTR_BACKEND_MASK))
		flags |= sgpu_default_backend == UPTR_BACKEND_PIN ?
			 SGPU_USERPTR_BACKEND_PIN : SGPU_USERPTR_BACKEND_FAULT;
	backend = (flags & SGPU_USERPTR_BACKEND_MASK) ==
		  SGPU_USERPTR_BACKEND_PIN ? UPTR_BACKEND_PIN :
					     UPTR_BACKEND_FAULT;

	/*
	 * Early, precise errors: the range must be mapped, not
	 * VM_IO/VM_PFNMAP, and writable unless the BO is read-only; a
	 * writable PIN BO cannot long-term pin file pages that need dirty
	 * tracking, so it would never populate: refuse it now.
	 */
	check = 0;
	if (!(flags & SGPU_USERPTR_READ_ONLY))
		check = UPTR_CHECK_WRITE |
			(backend == UPTR_BACKEND_PIN ? UPTR_CHECK_LONGTERM : 0);
	if (mmap_read_lock_killable(current->mm))
		return -EINTR;
	ret = uptr_check_vmas(current->mm, args->addr, end, check);
	mmap_read_unlock(current->mm);
	if (ret)
		return ret;

	vm = sgpu_vm_lookup(file, args->vm_id);
	if (!vm)
		return -ENOENT;

	ubo = kzalloc(sizeof(*ubo), GFP_KERNEL);
	if (!ubo) {
		ret = -ENOMEM;
		goto err_put_vm;
	}
	ubo->vm = vm;
	ubo->flags = flags;
	ubo->owner = get_task_pid(current, PIDTYPE_TGID);
	INIT_LIST_HEAD(&ubo->mappings);
	INIT_LIST_HEAD(&ubo->removed);
	INIT_LIST_HEAD(&ubo->inval_link);
	INIT_LIST_HEAD(&ubo->repin_link);
	INIT_LIST_HEAD(&ubo->reach_link);
	ubo->base.funcs = &sgpu_ubo_funcs;
	/* VM-private: the VM's resv, locked and validated with the VM. */
	ubo->base.resv = drm_gpuvm_resv(&vm->gpuvm);
	drm_gem_private_object_init(drm, &ubo->base, args->size);

	ret = uptr_range_init(&ubo->range, &vm->domain, current->mm,
			      args->addr, args->size, backend,
			      flags & SGPU_USERPTR_READ_ONLY ?
			      UPTR_RANGE_READ_ONLY : 0, &sgpu_ubo_range_ops);
	if (ret)
		goto err_fini_obj;

	atomic64_inc(&sdev->live[SGPU_DEV_LIVE_BOS]);
	atomic64_inc(&sdev->live[SGPU_DEV_LIVE_USERPTR_BOS]);
	/* From here the BO's free releases the range and the VM. */
	ret = drm_gem_handle_create(file, &ubo->base, &args->handle);
	drm_gem_object_put(&ubo->base);
	return ret;

err_fini_obj:
	drm_gem_private_object_fini(&ubo->base);
	put_pid(ubo->owner);
	kfree(ubo);
err_put_vm:
	sgpu_vm_put(vm);
	return ret;
}

/**
 * sgpu_ubo_check_owner() - may the caller use this userptr BO
 * @ubo: the BO
 *
 * The DRM file may be shared with a forked child, the address space is
 * not: only the creating process may populate, bind, migrate or run jobs
 * on the BO.
 *
 * Context: Process context.
 * Return: 0 or -EPERM.
 */
int sgpu_ubo_check_owner(struct sgpu_ubo *ubo)
{
	return current->mm == ubo->range.mm ? 0 : -EPERM;
}

/**
 * sgpu_ubo_populate() - populate a whole userptr BO
 * @ubo: the BO
 *
 * uptr_range_populate() of the whole range, called again when it gives
 * up with -EBUSY, for up to %SGPU_RETRY_TIMEOUT_MS: a PIN populate whose pages FOLL_LONGTERM has to
 * migrate out of ZONE_MOVABLE or CMA always loses its first commit (the
 * migration invalidates the range), and on a slow machine that attempt
 * alone can outlast the core's retry budget.  The pages have moved by
 * then, so the next call succeeds.
 *
 * Context: Process context; no dma_resv, no domain lock, no mmap_lock.
 * Return: 0 or an errno of uptr_range_populate().
 */
int sgpu_ubo_populate(struct sgpu_ubo *ubo)
{
	struct uptr_range *r = &ubo->range;
	unsigned long deadline = 0;
	int ret;

	/* GUP under a resv or the notifier lock: ABBA with mmap_lock. */
	lockdep_assert_not_held(&r->domain->lock);
	lockdep_assert_not_held(&ubo->base.resv->lock.base);

	do {
		ret = uptr_range_populate(r, r->start, r->end - r->start,
					  sgpu_ubo_populate_flags(ubo));
	} while (ret == -EBUSY && !sgpu_retry_expired(&deadline));
	return ret;
}

/**
 * sgpu_ubo_populate_flags() - uptr populate flags for a BO
 * @ubo: the BO
 *
 * Context: Any context.
 * Return: %UPTR_POPULATE_WRITE unless the BO is read-only.
 */
unsigned int sgpu_ubo_populate_flags(struct sgpu_ubo *ubo)
{
	return ubo->flags & SGPU_USERPTR_READ_ONLY ? 0 : UPTR_POPULATE_WRITE;
}

/*
 * Device-private entries of a FAULT range (a PIN range has none: GUP
 * migrates such pages back).  Scans only until it has seen every valid
 * entry, so an unpopulated range costs nothing whatever its size; a long
 * scan yields the CPU (the domain lock is a mutex).
 */
static unsigned long sgpu_ubo_device_pages(struct uptr_range *r)
{
	unsigned long i, seen = 0, n = 0;
	uptr_entry_t e;

	lockdep_assert_held(&r->domain->lock);
	for (i = 0; i < r->npages && seen < r->nvalid; i++) {
		e = uptr_range_entry(r, r->start + (i << PAGE_SHIFT));
		if (!(i % SGPU_RESCHED_PAGES))
			cond_resched();
		if (!(e & UPTR_ENTRY_VALID))
			continue;
		seen++;
		if (e & UPTR_ENTRY_DEVICE_PRIVATE)
			n++;
	}
	return n;
}

/**
 * sgpu_bo_query() - SGPU_BO_* counters of a BO
 * @obj: the BO
 * @v: %SGPU_BO_COUNT values
 *
 * Context: Process context; takes the domain lock of a userptr BO.
 */
void sgpu_bo_query(struct drm_gem_object *obj, u64 *v)
{
	struct sgpu_ubo *ubo;
	struct uptr_range *r;

	v[SGPU_BO_SIZE] = obj->size;
	if (!sgpu_is_ubo(obj))
		return;
	ubo = to_ubo(obj);
	r = &ubo->range;
	v[SGPU_BO_IS_USERPTR] = 1;
	v[SGPU_BO_BACKEND] = ubo->flags & SGPU_USERPTR_BACKEND_MASK;
	uptr_domain_lock(r->domain);
	v[SGPU_BO_VALID_PAGES] = r->nvalid;
	if (r->backend == UPTR_BACKEND_PIN)
		v[SGPU_BO_PINNED_PAGES] = r->nvalid;
	else
		v[SGPU_BO_DEVICE_PAGES] = sgpu_ubo_device_pages(r);
	uptr_domain_unlock(r->domain);
	v[SGPU_BO_INVALIDATIONS] = atomic64_read(&ubo->invalidations);
	v[SGPU_BO_REPINS] = atomic64_read(&ubo->repins);
	v[SGPU_BO_GPU_FAULTS] = atomic64_read(&ubo->faults);
	v[SGPU_BO_MIGRATED_PAGES] = atomic64_read(&ubo->migrated);
	v[SGPU_BO_MAPPINGS] = atomic64_read(&ubo->nmappings);
}
