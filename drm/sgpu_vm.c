// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The uptr authors
 */

/**
 * DOC: sgpu VMs and VM_BIND
 *
 * One &struct drm_gpuvm per VM, embedded in &struct sgpu_vm, with a dummy
 * resv object (drm_gpuvm_resv_object_alloc()) whose dma_resv the VM's
 * userptr BOs share.  The gpuvm's extobj/evict lists use its internal
 * spinlocks (no %DRM_GPUVM_RESV_PROTECTED), so that closing a VM can
 * unlink each mapping with only its own BO's resv held.
 *
 * VM_BIND changes the VA space at once, under &sgpu_vm.lock, the resvs of
 * the VM, of the BO being mapped and of every BO mapped in the range, and
 * the domain lock, through drm_gpuvm_sm_map() / drm_gpuvm_sm_unmap() and
 * the split/merge callbacks below.  Everything those callbacks need is
 * allocated before (new mappings, the &drm_gpuvm_bo, the page tables, the
 * PTE entries), because the domain lock is held.  The page-table update is
 * a drm_sched job of the VM: it zaps the ranges of the removed (or split)
 * mappings, then writes the new mapping's PTEs, after its in-syncs and after
 * everything queued before it.  Removed mappings, and with them their BO
 * references, are released after that job finished, so no PTE ever
 * outlives the memory it points to.
 *
 * A fence-mode userptr MAP populates the BO first (no lock but the VM
 * lock), then, under the domain lock, checks that the populate is still
 * valid, snapshots the entries for the job, links the mapping to the BO's
 * mapping list and queues the job with its fence in the VM resv -- all in
 * one critical section, so a notifier either makes the check fail or waits
 * for the job and then zaps the new PTEs.
 *
 * The notifier finds the PTEs to zap through the BO's mapping list, which
 * loses a mapping when the ioctl removes it, while the job that zaps its
 * PTEs may run much later (after its in-syncs).  A PTE must never be out
 * of the notifier's reach while it is valid, or the core releases pages the
 * GPU still maps.  Fence mode is safe because the notifier waits for the
 * VM's fences, the unmapping job's included, before it returns; the one
 * notifier that may not wait, the teardown of the address space, finds
 * the removed mappings whose job has not run on &sgpu_ubo.removed and
 * zaps those of its BO's pages still there (sgpu_pt_zap_ubo()).  Fault mode
 * waits for nothing, and its EXEC jobs are not ordered after binds: there
 * sgpu_mapping_removed() zaps the removed range at ioctl time, under the
 * domain lock, in the critical section that takes the mapping off the
 * list.  The alternative, keeping removed mappings on the BO's list until
 * their job ran, would need the job (a dma-fence signalling path) or its
 * cleanup to take the domain lock, and would leave the GPU translating an
 * address range that the VA tree, which fault mode consults on every GPU
 * fault, no longer maps.  (Fence mode keeps them on &sgpu_ubo.removed
 * for the teardown: its cleanup work does take the domain lock, so that
 * work must never be waited for with the domain lock held; nothing does.)
 * Zapping early makes both views agree at once: an
 * access after the UNMAP ioctl faults and finds no mapping (-EFAULT).  The
 * job still zaps the range when it runs, for PTEs that a bind queued before
 * it writes (a shmem MAP), whose memory the removed mappings keep alive
 * until then.
 */

#include <linux/dma-resv.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include <drm/drm_exec.h>
#include <drm/drm_file.h>
#include <drm/drm_syncobj.h>

#include "sgpu_drv.h"

static void sgpu_vm_free(struct drm_gpuvm *gpuvm)
{
	struct sgpu_vm *vm = to_sgpu_vm(gpuvm);
	struct sgpu_device *sdev = vm->sdev;

	mutex_lock(&sdev->vms_lock);
	list_del(&vm->dev_link);
	mutex_unlock(&sdev->vms_lock);

	WARN_ON(!list_empty(&vm->invalidated));
	WARN_ON(!list_empty(&vm->fault_jobs));
	sgpu_pt_fini(vm);
	uptr_domain_fini(&vm->domain);
	kfree(vm);
	atomic64_dec(&sdev->live[SGPU_DEV_LIVE_VMS]);
}

/*
 * drm_gpuvm_validate() callback, called by EXEC with the VM resv held for
 * the userptr BOs it re-populated and moved to the evict list: queue a
 * rebind of every mapping of the BO on the EXEC job.  The entries are
 * filled under the domain lock when the job is committed.
 */
static int sgpu_vm_bo_validate(struct drm_gpuvm_bo *vm_bo,
			       struct drm_exec *exec)
{
	struct sgpu_vm *vm = to_sgpu_vm(vm_bo->vm);
	struct sgpu_job *job = vm->validate_job;
	struct drm_gem_object *obj = vm_bo->obj;
	struct sgpu_pt_op *op;
	struct sgpu_ubo *ubo;
	struct drm_gpuva *va;
	uptr_entry_t *entries;

	lockdep_assert_held_write(&vm->lock);
	dma_resv_assert_held(obj->resv);

	/* Only BOs this EXEC re-populated (see sgpu_exec_fence()). */
	if (sgpu_is_ubo(obj) && job && !list_empty(&to_ubo(obj)->repin_link)) {
		ubo = to_ubo(obj);
		drm_gpuvm_bo_for_each_va(va, vm_bo) {
			entries = kvcalloc(va->va.range >> PAGE_SHIFT,
					   sizeof(*entries),
					   GFP_KERNEL_ACCOUNT);
			if (!entries)
				return -ENOMEM;
			op = sgpu_job_add_pt_op(job, va->va.addr,
						va->va.range >> PAGE_SHIFT,
						entries, to_mapping(va)->read_only,
						true);
			if (!op) {
				kvfree(entries);
				return -ENOMEM;
			}
			op->ubo = ubo;
			op->uaddr = ubo->range.start + va->gem.offset;
		}
	}
	drm_gpuvm_bo_evict(vm_bo, false);
	return 0;
}

/**
 * struct sgpu_bind_ctx - state of one VM_BIND through the sm callbacks
 */
struct sgpu_bind_ctx {
	/** @vm: the VM. */
	struct sgpu_vm *vm;
	/** @job: the page-table job. */
	struct sgpu_job *job;
	/** @vm_bo: MAP: the vm_bo of the BO being mapped. */
	struct drm_gpuvm_bo *vm_bo;
	/** @prealloc: mappings for the map step and remap prev/next. */
	struct sgpu_mapping *prealloc[3];
	/** @nprealloc: number of @prealloc left. */
	unsigned int nprealloc;
	/** @map_op: MAP: preallocated page-table op, NULL once queued. */
	struct sgpu_pt_op *map_op;
	/** @read_only: MAP: read-only mapping. */
	bool read_only;
};

static struct sgpu_mapping *sgpu_bind_take(struct sgpu_bind_ctx *ctx)
{
	if (WARN_ON(!ctx->nprealloc))
		return NULL;
	return ctx->prealloc[--ctx->nprealloc];
}

/* A mapping entered the VA space; @m->va is linked. */
static void sgpu_mapping_added(struct sgpu_vm *vm, struct sgpu_mapping *m)
{
	struct drm_gem_object *obj = m->va.gem.obj;
	struct sgpu_ubo *ubo;

	lockdep_assert_held(&vm->domain.lock);
	if (sgpu_is_ubo(obj)) {
		ubo = to_ubo(obj);
		list_add_tail(&m->bo_link, &ubo->mappings);
		atomic64_inc(&ubo->nmappings);
	}
	atomic64_inc(&vm->sdev->live[SGPU_DEV_LIVE_MAPPINGS]);
}

/*
 * A mapping left the VA space; the job zaps [addr, addr + range).  Once off
 * its BO's list the notifier no longer reaches its PTEs, so a fault-mode VM
 * zaps them here, in the same domain-lock critical section (see the DOC
 * comment); the job zaps again, for PTEs a bind queued earlier writes.
 */
static void sgpu_mapping_removed(struct sgpu_bind_ctx *ctx,
				 struct sgpu_mapping *m, u64 addr, u64 range)
{
	struct drm_gem_object *obj = m->va.gem.obj;
	struct sgpu_vm *vm = ctx->vm;

	lockdep_assert_held(&vm->domain.lock);
	drm_gpuva_unlink(&m->va);
	if (sgpu_is_ubo(obj)) {
		list_del_init(&m->bo_link);
		atomic64_dec(&to_ubo(obj)->nmappings);
		if (vm->mode == SGPU_VM_MODE_FENCE) {
			m->zap_pending = true;
			list_add_tail(&m->bo_link, &to_ubo(obj)->removed);
		}
	}
	if (vm->mode == SGPU_VM_MODE_FAULT)
		sgpu_pt_zap(vm, addr, range);
	m->zap_addr = addr;
	m->zap_range = range;
	list_add_tail(&m->job_link, &ctx->job->removed);
}

static int sgpu_sm_step_map(struct drm_gpuva_op *op, void *priv)
{
	struct sgpu_bind_ctx *ctx = priv;
	struct sgpu_mapping *m = sgpu_bind_take(ctx);

	if (!m)
		return -EINVAL;
	m->read_only = ctx->read_only;
	drm_gem_object_get(op->map.gem.obj);
	drm_gpuva_map(&ctx->vm->gpuvm, &m->va, &op->map);
	drm_gpuva_link(&m->va, ctx->vm_bo);
	sgpu_mapping_added(ctx->vm, m);
	if (ctx->map_op) {
		list_add_tail(&ctx->map_op->link, &ctx->job->pt_ops);
		ctx->map_op = NULL;
	}
	return 0;
}

static int sgpu_sm_step_remap(struct drm_gpuva_op *op, void *priv)
{
	struct sgpu_bind_ctx *ctx = priv;
	struct drm_gpuva *old = op->remap.unmap->va;
	struct sgpu_mapping *om = to_mapping(old), *prev = NULL, *next = NULL;
	u64 zap_addr, zap_range;

	if (op->remap.prev) {
		prev = sgpu_bind_take(ctx);
		if (!prev)
			return -EINVAL;
		prev->read_only = om->read_only;
		drm_gem_object_get(old->gem.obj);
	}
	if (op->remap.next) {
		next = sgpu_bind_take(ctx);
		if (!next)
			return -EINVAL;
		next->read_only = om->read_only;
		drm_gem_object_get(old->gem.obj);
	}

	drm_gpuva_op_remap_to_unmap_range(&op->remap, &zap_addr, &zap_range);
	drm_gpuva_remap(prev ? &prev->va : NULL, next ? &next->va : NULL,
			&op->remap);
	if (prev) {
		drm_gpuva_link(&prev->va, old->vm_bo);
		sgpu_mapping_added(ctx->vm, prev);
	}
	if (next) {
		drm_gpuva_link(&next->va, old->vm_bo);
		sgpu_mapping_added(ctx->vm, next);
	}
	sgpu_mapping_removed(ctx, om, zap_addr, zap_range);
	return 0;
}

static int sgpu_sm_step_unmap(struct drm_gpuva_op *op, void *priv)
{
	struct sgpu_bind_ctx *ctx = priv;
	struct drm_gpuva *va = op->unmap.va;

	sgpu_mapping_removed(ctx, to_mapping(va), va->va.addr, va->va.range);
	drm_gpuva_unmap(&op->unmap);
	return 0;
}

static const struct drm_gpuvm_ops sgpu_gpuvm_ops = {
	.vm_free = sgpu_vm_free,
	.vm_bo_validate = sgpu_vm_bo_validate,
	.sm_step_map = sgpu_sm_step_map,
	.sm_step_remap = sgpu_sm_step_remap,
	.sm_step_unmap = sgpu_sm_step_unmap,
};

/**
 * sgpu_vm_create() - create a VM
 * @sdev: the device
 * @mode: %SGPU_VM_MODE_FENCE or %SGPU_VM_MODE_FAULT
 *
 * Context: Process context.
 * Return: the VM with one reference (the caller's), or an ERR_PTR.
 */
struct sgpu_vm *sgpu_vm_create(struct sgpu_device *sdev, u32 mode)
{
	struct drm_gpu_scheduler *sched_list[1] = { &sdev->sched };
	struct drm_gem_object *r_obj;
	struct sgpu_vm *vm;
	int ret;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	vm->sdev = sdev;
	vm->mode = mode;
	init_rwsem(&vm->lock);
	INIT_LIST_HEAD(&vm->invalidated);
	spin_lock_init(&vm->fence_lock);
	spin_lock_init(&vm->fault_lock);
	INIT_LIST_HEAD(&vm->fault_jobs);
	INIT_WORK(&vm->fault_work, sgpu_fault_work);
	atomic_set(&vm->sched_jobs, 0);
	init_waitqueue_head(&vm->idle_wq);
	spin_lock_init(&vm->results_lock);
	init_waitqueue_head(&vm->wait_wq);
	vm->fence_context = dma_fence_context_alloc(1);

	ret = sgpu_pt_init(vm);
	if (ret)
		goto err_free_pt;

	/* Device-private pages of this device are mirrored, not migrated. */
	ret = uptr_domain_init(&vm->domain, sdev->dev, sdev);
	if (ret)
		goto err_free_pt;

	/* One entity per VM, no scheduler, workqueue or kthread of its own. */
	ret = drm_sched_entity_init(&vm->entity, DRM_SCHED_PRIORITY_KERNEL,
				    sched_list, 1, NULL);
	if (ret)
		goto err_fini_domain;

	r_obj = drm_gpuvm_resv_object_alloc(&sdev->drm);
	if (!r_obj) {
		ret = -ENOMEM;
		goto err_fini_entity;
	}
	drm_gpuvm_init(&vm->gpuvm, "sgpu", 0, &sdev->drm, r_obj,
		       SGPU_VA_START, SGPU_VA_END - SGPU_VA_START, 0, 0,
		       &sgpu_gpuvm_ops);
	drm_gem_object_put(r_obj);

	mutex_lock(&sdev->vms_lock);
	list_add_tail(&vm->dev_link, &sdev->vms);
	mutex_unlock(&sdev->vms_lock);
	atomic64_inc(&sdev->live[SGPU_DEV_LIVE_VMS]);
	return vm;

err_fini_entity:
	drm_sched_entity_fini(&vm->entity);
err_fini_domain:
	uptr_domain_fini(&vm->domain);
err_free_pt:
	sgpu_pt_fini(vm);
	kfree(vm);
	return ERR_PTR(ret);
}

/**
 * sgpu_mapping_free() - release a mapping that left the VA space
 * @m: the mapping; its PTEs were zapped (or the VM is idle and closing)
 *
 * Drops the mapping's BO reference, which may free the BO.
 *
 * Context: Process context; no dma_resv or domain lock held.
 */
void sgpu_mapping_free(struct sgpu_mapping *m)
{
	struct sgpu_device *sdev = to_sgpu(m->va.gem.obj->dev);

	drm_gem_object_put(m->va.gem.obj);
	kfree(m);
	atomic64_dec(&sdev->live[SGPU_DEV_LIVE_MAPPINGS]);
}

/*
 * Remove every mapping of an idle, closed VM.  Allocates nothing: each
 * mapping is unlinked with only its BO's resv held.
 */
static void sgpu_vm_unmap_all(struct sgpu_vm *vm)
{
	struct drm_gpuva *va, *next;
	struct drm_gem_object *obj;
	struct sgpu_mapping *m;

	down_write(&vm->lock);
	drm_gpuvm_for_each_va_safe(va, next, &vm->gpuvm) {
		m = to_mapping(va);
		obj = va->gem.obj;

		if (sgpu_is_ubo(obj)) {
			uptr_domain_lock(&vm->domain);
			list_del_init(&m->bo_link);
			atomic64_dec(&to_ubo(obj)->nmappings);
			uptr_domain_unlock(&vm->domain);
		}
		dma_resv_lock(obj->resv, NULL);
		drm_gpuva_unlink(va);
		dma_resv_unlock(obj->resv);
		drm_gpuva_remove(va);
		sgpu_mapping_free(m);
	}
	up_write(&vm->lock);
}

/**
 * sgpu_vm_close_budget() - how long closing VMs may wait for their jobs
 *
 * One budget for everything a close does, however many VMs it closes, so
 * that an exit waits at most %SGPU_EXIT_FLUSH_MS in all: a process killed
 * by a signal (SIGKILL, the OOM killer, any fatal signal) gets none; a
 * process that exits otherwise, and a kernel thread that drops the last
 * reference of a file for a task that is gone (a delayed fput(), which no
 * signal can interrupt), get %SGPU_EXIT_FLUSH_MS; anyone else (VM_DESTROY,
 * the close() of the last file descriptor by a live process) waits for as
 * long as it takes, until a fatal signal.
 *
 * Context: Process context.
 * Return: the budget in jiffies, %MAX_SCHEDULE_TIMEOUT for no bound.
 */
long sgpu_vm_close_budget(void)
{
	if (!(current->flags & (PF_EXITING | PF_KTHREAD)))
		return MAX_SCHEDULE_TIMEOUT;
	if ((current->flags & PF_EXITING) && (current->exit_code & 0x7f))
		return 0;
	return msecs_to_jiffies(SGPU_EXIT_FLUSH_MS);
}

/*
 * Wait for the VM's jobs, taking the time from *@budget; false if some are
 * left when it ran out.
 */
static bool sgpu_vm_wait_idle(struct sgpu_vm *vm, long *budget)
{
	long left;

	if (*budget == MAX_SCHEDULE_TIMEOUT)
		return !wait_event_killable(vm->idle_wq,
					    !atomic_read(&vm->sched_jobs));
	if (!*budget)
		return !atomic_read(&vm->sched_jobs);
	left = wait_event_timeout(vm->idle_wq, !atomic_read(&vm->sched_jobs),
				  *budget);
	*budget = left;
	return left;
}

/**
 * sgpu_vm_close() - destroy a VM on behalf of its file
 * @vm: the VM; the caller's (the file's) reference is dropped
 * @budget: in jiffies, from sgpu_vm_close_budget(); the time spent waiting
 *	for the VM's jobs is taken from it, so that one budget bounds the
 *	close of all the VMs of a file
 *
 * Lets the VM's queued and running jobs finish, then removes every mapping
 * and drops the reference.  How long the jobs get depends on who closes
 * (sgpu_vm_close_budget()): a process that exits normally keeps its jobs
 * for up to %SGPU_EXIT_FLUSH_MS in all, a killed one loses them at once,
 * VM_DESTROY waits until they are done or a fatal signal arrives.  Jobs
 * left then are cancelled: a running one stops at its next command, queued
 * ones never run (-ECANCELED); a cancelled job still waits for its
 * in-fences before it is freed, as drm_sched's killed jobs do.  The VM is
 * freed when userptr BOs of it and other references are gone.  Never fails
 * and does not allocate: it runs when an OOM-killed task exits.
 *
 * Context: Process context, no sgpu lock held.
 */
void sgpu_vm_close(struct sgpu_vm *vm, long *budget)
{
	down_write(&vm->lock);
	vm->closed = true;
	up_write(&vm->lock);

	if (!sgpu_vm_wait_idle(vm, budget))
		WRITE_ONCE(vm->cancel, true);
	/* Kills what is still queued; the scheduler forgets the entity. */
	drm_sched_entity_fini(&vm->entity);
	/* Every job dropped the count with its VM reference still held. */
	wait_event(vm->idle_wq, !atomic_read(&vm->sched_jobs));
	/* The engine is idle on this VM: no PTE may outlive its memory. */
	sgpu_pt_zap(vm, SGPU_VA_START, SGPU_VA_END - SGPU_VA_START);

	sgpu_vm_unmap_all(vm);
	sgpu_vm_put(vm);
}

static void sgpu_bind_ctx_fini(struct sgpu_bind_ctx *ctx)
{
	while (ctx->nprealloc)
		kfree(ctx->prealloc[--ctx->nprealloc]);
	if (ctx->map_op) {
		kvfree(ctx->map_op->entries);
		kfree(ctx->map_op);
	}
}

/* Validate a VM_BIND and resolve its BO; @obj gets a reference. */
static int sgpu_bind_check(struct drm_file *file, struct sgpu_vm *vm,
			   struct drm_sgpu_vm_bind *args,
			   struct drm_gem_object **obj)
{
	u64 end, bo_end;
	struct sgpu_ubo *ubo;
	int ret;

	if (args->op > SGPU_BIND_UNMAP || (args->flags & ~SGPU_BIND_FLAGS))
		return -EINVAL;
	if (!args->range || !IS_ALIGNED(args->addr, SZ_4K) ||
	    !IS_ALIGNED(args->range, SZ_4K) ||
	    !IS_ALIGNED(args->bo_offset, SZ_4K))
		return -EINVAL;
	if (check_add_overflow(args->addr, args->range, &end))
		return -EOVERFLOW;
	if (args->addr < SGPU_VA_START || end > SGPU_VA_END)
		return -EINVAL;

	*obj = NULL;
	if (args->op == SGPU_BIND_UNMAP)
		return args->handle || args->bo_offset || args->flags ?
		       -EINVAL : 0;

	if (check_add_overflow(args->bo_offset, args->range, &bo_end))
		return -EOVERFLOW;
	*obj = drm_gem_object_lookup(file, args->handle);
	if (!*obj)
		return -ENOENT;
	if (bo_end > (*obj)->size) {
		ret = -ERANGE;
		goto err_put;
	}
	if (sgpu_is_ubo(*obj)) {
		ubo = to_ubo(*obj);
		ret = -EXDEV;
		if (ubo->vm != vm)
			goto err_put;
		ret = sgpu_ubo_check_owner(ubo);
		if (ret)
			goto err_put;
		ret = -EACCES;
		if ((ubo->flags & SGPU_USERPTR_READ_ONLY) &&
		    !(args->flags & SGPU_BIND_READ_ONLY))
			goto err_put;
	}
	return 0;

err_put:
	drm_gem_object_put(*obj);
	*obj = NULL;
	return ret;
}

/* Allocate what the sm callbacks of this bind may consume. */
static int sgpu_bind_prealloc(struct sgpu_bind_ctx *ctx,
			      struct drm_sgpu_vm_bind *args,
			      struct drm_gem_object *obj, bool write_ptes)
{
	u64 npages = args->range >> PAGE_SHIFT;
	struct sgpu_pt_op *op;
	int ret;

	for (ctx->nprealloc = 0; ctx->nprealloc < ARRAY_SIZE(ctx->prealloc);
	     ctx->nprealloc++) {
		ctx->prealloc[ctx->nprealloc] =
			kzalloc(sizeof(struct sgpu_mapping), GFP_KERNEL);
		if (!ctx->prealloc[ctx->nprealloc])
			return -ENOMEM;
	}
	if (!obj || !write_ptes)
		return 0;

	op = kzalloc(sizeof(*op), GFP_KERNEL);
	if (!op)
		return -ENOMEM;
	ctx->map_op = op;
	op->va = args->addr;
	op->npages = npages;
	op->read_only = ctx->read_only;
	op->userptr = sgpu_is_ubo(obj);
	op->entries = kvcalloc(npages, sizeof(*op->entries),
			       GFP_KERNEL_ACCOUNT);
	if (!op->entries)
		return -ENOMEM;
	if (!op->userptr) {
		ret = sgpu_shmem_entries(obj, args->bo_offset, npages,
					 op->entries);
		if (ret)
			return ret;
	}
	return 0;
}

static int sgpu_bind_lock(struct drm_exec *exec, struct sgpu_vm *vm,
			  struct drm_sgpu_vm_bind *args,
			  struct drm_gem_object *obj)
{
	int ret = 0;

	drm_exec_init(exec, DRM_EXEC_INTERRUPTIBLE_WAIT |
			    DRM_EXEC_IGNORE_DUPLICATES, 0);
	drm_exec_until_all_locked(exec) {
		ret = drm_gpuvm_prepare_vm(&vm->gpuvm, exec, 1);
		drm_exec_retry_on_contention(exec);
		if (ret)
			break;
		ret = drm_gpuvm_prepare_range(&vm->gpuvm, exec, args->addr,
					      args->range, 1);
		drm_exec_retry_on_contention(exec);
		if (ret)
			break;
		if (obj) {
			ret = drm_exec_prepare_obj(exec, obj, 1);
			drm_exec_retry_on_contention(exec);
			if (ret)
				break;
		}
	}
	if (ret)
		drm_exec_fini(exec);
	return ret;
}

/*
 * Fence-mode userptr MAP, domain lock held: is the populated span still
 * valid?  If so, snapshot its entries into the job's map op.
 */
static bool sgpu_bind_snapshot(struct sgpu_bind_ctx *ctx, struct sgpu_ubo *ubo,
			       u64 bo_offset)
{
	struct uptr_range *r = &ubo->range;
	unsigned long ustart = r->start + bo_offset, i;
	struct sgpu_pt_op *op = ctx->map_op;

	lockdep_assert_held(&r->domain->lock);
	if (!uptr_range_valid(r, ustart, op->npages << PAGE_SHIFT))
		return false;
	for (i = 0; i < op->npages; i++) {
		op->entries[i] = uptr_range_entry(r, ustart + (i << PAGE_SHIFT));
		if (!((i + 1) % SGPU_RESCHED_PAGES))
			cond_resched();
	}
	op->ubo = ubo;
	return true;
}

/**
 * sgpu_vm_bind_ioctl() - DRM_IOCTL_SGPU_VM_BIND
 * @drm: the device
 * @data: &struct drm_sgpu_vm_bind
 * @file: the caller
 *
 * Context: Process context.  Takes the VM lock, mmap_lock (populate), the
 * resvs and the domain lock, in that order.
 * Return: 0 or negative errno, see docs/uapi.rst.
 */
int sgpu_vm_bind_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file)
{
	struct drm_sgpu_vm_bind *args = data;
	struct sgpu_bind_ctx ctx = { };
	struct drm_syncobj *out_sync = NULL;
	struct dma_fence **in_fences = NULL;
	struct drm_gem_object *obj = NULL;
	struct sgpu_ubo *ubo = NULL;
	struct dma_fence *fence;
	struct drm_exec exec;
	struct sgpu_job *job;
	struct sgpu_vm *vm;
	bool populate;
	unsigned long deadline = 0;
	int ret;

	vm = sgpu_vm_lookup(file, args->vm_id);
	if (!vm)
		return -ENOENT;
	ret = sgpu_bind_check(file, vm, args, &obj);
	if (ret)
		goto out_put_vm;
	if (obj && sgpu_is_ubo(obj))
		ubo = to_ubo(obj);
	populate = ubo && vm->mode == SGPU_VM_MODE_FENCE;
	ctx.vm = vm;
	ctx.read_only = args->flags & SGPU_BIND_READ_ONLY;

	if (args->out_sync) {
		out_sync = drm_syncobj_find(file, args->out_sync);
		if (!out_sync) {
			ret = -ENOENT;
			goto out_put_obj;
		}
	}
	ret = sgpu_copy_syncs(file, args->in_syncs, args->num_in_syncs,
			      &in_fences);
	if (ret)
		goto out_put_sync;

	job = sgpu_job_alloc(vm, SGPU_JOB_BIND);
	if (!job) {
		ret = -ENOMEM;
		goto out_put_fences;
	}
	ctx.job = job;

	/* shmem entries take the BO's resv: before any lock. */
	ret = sgpu_bind_prealloc(&ctx, args, obj, !ubo || populate);
	if (ret)
		goto out_free_job;
	if (obj) {
		ctx.vm_bo = drm_gpuvm_bo_create(&vm->gpuvm, obj);
		if (!ctx.vm_bo) {
			ret = -ENOMEM;
			goto out_free_job;
		}
	}

	ret = down_write_killable(&vm->lock);
	if (ret)
		goto out_free_job;
	ret = -ENOENT;
	if (vm->closed)
		goto out_unlock_vm;
	ret = sgpu_job_sched_init(job, file, in_fences, args->num_in_syncs);
	if (ret)
		goto out_unlock_vm;
	ret = -ENOENT;
	if (!obj && drm_gpuvm_interval_empty(&vm->gpuvm, args->addr,
					     args->range))
		goto out_unlock_vm;
	if (obj) {
		ret = sgpu_pt_prepare(vm, args->addr, args->range);
		if (ret)
			goto out_unlock_vm;
	}

again:
	if (populate) {
		/* The whole BO: EXEC revalidates BOs as a whole. */
		ret = sgpu_ubo_populate(ubo);
		if (ret)
			goto out_unlock_vm;
	}
	ret = sgpu_bind_lock(&exec, vm, args, obj);
	if (ret)
		goto out_unlock_vm;

	uptr_domain_lock(&vm->domain);
	if (populate && !sgpu_bind_snapshot(&ctx, ubo, args->bo_offset)) {
		uptr_domain_unlock(&vm->domain);
		drm_exec_fini(&exec);
		ret = -EBUSY;
		if (sgpu_retry_expired(&deadline))
			goto out_unlock_vm;
		ret = -ERESTARTSYS;
		if (signal_pending(current))
			goto out_unlock_vm;
		goto again;
	}

	if (obj) {
		ctx.vm_bo = drm_gpuvm_bo_obtain_prealloc(ctx.vm_bo);
		/* shmem BOs: locked and fenced with the VM by EXEC. */
		drm_gpuvm_bo_extobj_add(ctx.vm_bo);
		ret = drm_gpuvm_sm_map(&vm->gpuvm, &ctx, args->addr,
				       args->range, obj, args->bo_offset);
	} else {
		ret = drm_gpuvm_sm_unmap(&vm->gpuvm, &ctx, args->addr,
					 args->range);
	}
	/* The callbacks cannot fail: everything was preallocated. */
	WARN_ON(ret);

	drm_sched_job_arm(&job->base);
	fence = dma_fence_get(&job->base.s_fence->finished);
	drm_gpuvm_resv_add_fence(&vm->gpuvm, &exec, fence,
				 DMA_RESV_USAGE_BOOKKEEP,
				 DMA_RESV_USAGE_BOOKKEEP);
	atomic_inc(&vm->sched_jobs);
	drm_sched_entity_push_job(&job->base);
	uptr_domain_unlock(&vm->domain);

	/* The mapping holds the vm_bo now; drop ours under the resv. */
	drm_gpuvm_bo_put(ctx.vm_bo);
	ctx.vm_bo = NULL;
	drm_exec_fini(&exec);
	up_write(&vm->lock);

	if (out_sync)
		drm_syncobj_replace_fence(out_sync, fence);
	dma_fence_put(fence);
	ret = 0;
	job = NULL;
	goto out_fini_ctx;

out_unlock_vm:
	up_write(&vm->lock);
out_free_job:
	sgpu_job_free(job);
out_fini_ctx:
	if (ctx.vm_bo) {
		/* Never linked, but its destruction asserts the gpuva lock. */
		dma_resv_lock(obj->resv, NULL);
		drm_gpuvm_bo_put(ctx.vm_bo);
		dma_resv_unlock(obj->resv);
	}
	sgpu_bind_ctx_fini(&ctx);
out_put_fences:
	sgpu_put_fences(in_fences, args->num_in_syncs);
	kfree(in_fences);
out_put_sync:
	if (out_sync)
		drm_syncobj_put(out_sync);
out_put_obj:
	if (obj)
		drm_gem_object_put(obj);
out_put_vm:
	sgpu_vm_put(vm);
	return ret;
}

/**
 * sgpu_vm_query() - SGPU_VM_* counters of a VM
 * @vm: the VM
 * @v: %SGPU_VM_COUNT values
 *
 * Context: Any context.
 */
void sgpu_vm_query(struct sgpu_vm *vm, u64 *v)
{
	struct uptr_domain *d = &vm->domain;
	unsigned int i;

	for (i = 0; i < SGPU_VM_COUNT; i++)
		v[i] = atomic64_read(&vm->stats[i]);
	v[SGPU_VM_MODE] = vm->mode;
	v[SGPU_VM_PINNED_PAGES] = uptr_domain_stat(d, UPTR_STAT_PINNED);
	v[SGPU_VM_MAPPED_PAGES] = uptr_domain_stat(d, UPTR_STAT_MAPPED);
	v[SGPU_VM_POPULATES] = uptr_domain_stat(d, UPTR_STAT_POPULATES);
	v[SGPU_VM_INVALIDATIONS] = uptr_domain_stat(d,
						    UPTR_STAT_INVALIDATIONS);
	v[SGPU_VM_NONBLOCK_FAILED] = uptr_domain_stat(d,
						      UPTR_STAT_NONBLOCK_FAILED);
}
