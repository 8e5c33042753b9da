// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The uptr authors
 */

/**
 * DOC: sgpu jobs and engine
 *
 * The engine executes a job's page-table updates, then its commands.  It
 * reaches memory only through sgpu_pt_translate(): for every chunk (at most
 * to the end of a page) it takes the VM's pt_lock, translates the GPU VAs
 * involved, copies through the kernel mapping of the page and drops the
 * lock.  DMA addresses of system pages are dma-direct addresses of the
 * platform device (64-bit mask, no IOMMU, checked at probe), so
 * dma_to_phys() + phys_to_virt() give the page; device-private PTEs give
 * the pfn of an sgpu device page, whose contents live in the driver's
 * backing store (sgpu_devmem_vaddr()).  The driver needs a 64-bit kernel
 * (no highmem, every page is in the direct map).
 *
 * Fence mode: drm_sched calls run_job() on its submit worker, which runs
 * the job there and returns the engine fence, signalled.  The execution is
 * a dma-fence signalling critical section (annotated): it takes pt_lock and
 * the results lock only.  A translation failure ends the job with -EFAULT
 * (no PTE) or -EACCES (read-only PTE).  free_job() hands the job to
 * &sgpu_device.cleanup_wq, which drops what the job held (removed mappings
 * and their BOs, which may free userptr ranges): those may take dma_resv
 * and notifier locks and must not run on the scheduler's queue.
 *
 * Fault mode: EXEC jobs are run in order by the VM's fault work on the
 * device's fault workqueue (sgpu_fault_work()).  A
 * translation failure is a GPU page fault: sgpu_gpu_fault() finds the
 * mapping under the VM lock (read), calls uptr_range_fault(), and writes
 * the PTEs of the populated window under the domain lock; the engine then
 * retries the access.  A fault that cannot be serviced ends the job.  The
 * fault may hit a mapping made after the job was submitted, so the owner
 * check of EXEC is repeated there: the job holds its submitter's mm
 * (mmgrab()) and a fault on a userptr of any other mm fails with -EPERM.
 */

#include <linux/dma-direct.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/error-injection.h>
#include <linux/kasan-checks.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <drm/drm_exec.h>
#include <drm/drm_file.h>
#include <drm/drm_syncobj.h>

#include "sgpu_drv.h"

#define SGPU_FNV_BASIS		0xcbf29ce484222325ULL
#define SGPU_FNV_PRIME		0x100000001b3ULL

/**
 * struct sgpu_hw_fence - the engine's completion fence of a job
 *
 * Allocated with the job, so that run_job() does not allocate; carries its
 * own lock because it may outlive the VM (drm_sched fences keep it).
 */
struct sgpu_hw_fence {
	/** @base: the fence; freed by dma_fence_free() (must be first). */
	struct dma_fence base;
	/** @lock: the fence lock. */
	spinlock_t lock;
};

static const char *sgpu_fence_driver_name(struct dma_fence *fence)
{
	return "sgpu";
}

static const char *sgpu_fence_timeline_name(struct dma_fence *fence)
{
	return "sgpu-engine";
}

static const struct dma_fence_ops sgpu_hw_fence_ops = {
	.get_driver_name = sgpu_fence_driver_name,
	.get_timeline_name = sgpu_fence_timeline_name,
};

/**
 * sgpu_job_alloc() - allocate a job
 * @vm: the VM, referenced by the job
 * @kind: bind or exec
 *
 * Context: Process context.
 * Return: the job or NULL.
 */
struct sgpu_job *sgpu_job_alloc(struct sgpu_vm *vm, enum sgpu_job_kind kind)
{
	struct sgpu_job *job;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return NULL;
	job->fault_mode = kind == SGPU_JOB_EXEC &&
			  vm->mode == SGPU_VM_MODE_FAULT;
	/* Only drm_sched jobs have an engine fence. */
	if (!job->fault_mode) {
		job->hw = kzalloc(sizeof(*job->hw), GFP_KERNEL);
		if (!job->hw) {
			kfree(job);
			return NULL;
		}
		spin_lock_init(&job->hw->lock);
	}
	job->vm = vm;
	sgpu_vm_get(vm);
	job->kind = kind;
	INIT_LIST_HEAD(&job->pt_ops);
	INIT_LIST_HEAD(&job->removed);
	atomic64_inc(&vm->sdev->live[SGPU_DEV_LIVE_JOBS]);
	return job;
}
ALLOW_ERROR_INJECTION(sgpu_job_alloc, NULL);

static void sgpu_job_free_pt_ops(struct sgpu_job *job)
{
	struct sgpu_pt_op *op, *tmp;

	list_for_each_entry_safe(op, tmp, &job->pt_ops, link) {
		list_del(&op->link);
		kvfree(op->entries);
		kfree(op);
	}
}

/**
 * sgpu_job_free() - release a job and everything it holds
 * @job: the job, not (or no longer) known to drm_sched
 *
 * Context: Process context; no dma_resv or domain lock held (removed
 * mappings may free their BOs).
 */
void sgpu_job_free(struct sgpu_job *job)
{
	struct sgpu_device *sdev = job->vm->sdev;
	struct sgpu_mapping *m, *tmp;

	if (job->sched_inited)
		drm_sched_job_cleanup(&job->base);
	sgpu_job_free_pt_ops(job);
	if (!list_empty(&job->removed)) {
		/* Off &sgpu_ubo.removed before they go. */
		uptr_domain_lock(&job->vm->domain);
		list_for_each_entry(m, &job->removed, job_link)
			if (sgpu_is_ubo(m->va.gem.obj))
				list_del_init(&m->bo_link);
		uptr_domain_unlock(&job->vm->domain);
	}
	list_for_each_entry_safe(m, tmp, &job->removed, job_link) {
		list_del(&m->job_link);
		sgpu_mapping_free(m);
	}
	kvfree(job->cmds);
	sgpu_put_fences(job->in_fences, job->num_in_fences);
	kfree(job->in_fences);
	if (job->mm)
		mmdrop(job->mm);
	if (job->hw_inited)
		dma_fence_put(&job->hw->base);
	else
		kfree(job->hw);
	sgpu_vm_put(job->vm);
	kfree(job);
	atomic64_dec(&sdev->live[SGPU_DEV_LIVE_JOBS]);
}

/**
 * sgpu_job_sched_init() - make a job a drm_sched job of its VM
 * @job: the job
 * @file: the submitting file
 * @fences: in-fences, each consumed (set to NULL) even on error; may be
 *	NULL when @count is 0
 * @count: number of @fences
 *
 * Context: Process context, &sgpu_vm.lock held and the VM not closed (its
 * entity is alive).
 * Return: 0 or negative errno; the job is freed with sgpu_job_free().
 */
int sgpu_job_sched_init(struct sgpu_job *job, struct drm_file *file,
			struct dma_fence **fences, u32 count)
{
	struct sgpu_vm *vm = job->vm;
	u32 i;
	int ret;

	lockdep_assert_held(&vm->lock);
	ret = drm_sched_job_init(&job->base, &vm->entity, 1, vm,
				 file->client_id);
	if (ret)
		return ret;
	job->sched_inited = true;
	for (i = 0; i < count; i++) {
		ret = drm_sched_job_add_dependency(&job->base, fences[i]);
		fences[i] = NULL;
		if (ret)
			return ret;
	}
	return 0;
}
ALLOW_ERROR_INJECTION(sgpu_job_sched_init, ERRNO);

/**
 * sgpu_job_add_pt_op() - append a page-table update to a job
 * @job: the job
 * @va: first GPU VA
 * @npages: pages
 * @entries: entries to map (the op owns them), NULL to zap
 * @read_only: map without write permission
 * @userptr: @entries come from a uptr range
 *
 * Context: Process context, may allocate (no domain lock held).
 * Return: the op, or NULL (@entries still belong to the caller).
 */
struct sgpu_pt_op *sgpu_job_add_pt_op(struct sgpu_job *job, u64 va,
				      u64 npages, uptr_entry_t *entries,
				      bool read_only, bool userptr)
{
	struct sgpu_pt_op *op;

	op = kzalloc(sizeof(*op), GFP_KERNEL);
	if (!op)
		return NULL;
	op->va = va;
	op->npages = npages;
	op->entries = entries;
	op->read_only = read_only;
	op->userptr = userptr;
	list_add_tail(&op->link, &job->pt_ops);
	return op;
}

/* Publish the status of an EXEC job and advance the VM's completed seqno. */
static void sgpu_job_complete(struct sgpu_job *job)
{
	struct sgpu_vm *vm = job->vm;
	struct sgpu_job_result *r = &vm->results[job->seqno % SGPU_JOB_HISTORY];

	spin_lock(&vm->results_lock);
	r->seqno = job->seqno;
	r->status = job->status;
	r->cmd = job->fail_cmd;
	r->addr = job->fail_addr;
	if (job->seqno > vm->completed)
		vm->completed = job->seqno;
	spin_unlock(&vm->results_lock);

	sgpu_vm_stat_add(vm, SGPU_VM_JOBS_COMPLETED, 1);
	if (job->status)
		sgpu_vm_stat_add(vm, SGPU_VM_JOBS_FAILED, 1);
	if (job->status == -EFAULT || job->status == -EACCES)
		sgpu_vm_stat_add(vm, SGPU_VM_FATAL_FAULTS, 1);
	wake_up_all(&vm->wait_wq);
}

/* -------------------------------------------------------------------- */
/* GPU page faults (fault mode)                                          */

/*
 * Service a GPU page fault at @va: find the userptr mapping, fault the
 * page in through uptr and write the PTEs of the populated window.
 */
static int sgpu_gpu_fault(struct sgpu_job *job, u64 va, bool write)
{
	struct sgpu_vm *vm = job->vm;
	unsigned long mstart, mend, uaddr, ws, we, i, n;
	uptr_entry_t *entries;
	struct drm_gpuva *gva;
	struct sgpu_mapping *m;
	struct sgpu_ubo *ubo;
	struct uptr_range *r;
	int ret;

	down_read(&vm->lock);
	gva = drm_gpuva_find_first(&vm->gpuvm, va & PAGE_MASK, PAGE_SIZE);
	ret = -EFAULT;
	if (!gva)
		goto out_unlock;
	m = to_mapping(gva);
	/* Any BO: a write through a read-only mapping is -EACCES. */
	ret = -EACCES;
	if (write && m->read_only)
		goto out_unlock;
	/* A shmem mapping's PTEs come from its bind; nothing to fault. */
	ret = -EFAULT;
	if (!sgpu_is_ubo(gva->gem.obj))
		goto out_unlock;

	ubo = to_ubo(gva->gem.obj);
	r = &ubo->range;
	/*
	 * The mapping may be younger than the job: check at fault time, not
	 * only at submit, that the userptr is the submitter's memory.
	 */
	ret = -EPERM;
	if (r->mm != job->mm)
		goto out_unlock;
	mstart = r->start + gva->gem.offset;
	mend = mstart + gva->va.range;
	uaddr = mstart + (va - gva->va.addr);

	ret = uptr_range_fault(r, uaddr, write ? UPTR_POPULATE_WRITE : 0);
	if (ret == -EPERM)
		ret = -EACCES;
	if (ret)
		goto out_unlock;
	atomic64_inc(&ubo->faults);
	sgpu_vm_stat_add(vm, SGPU_VM_GPU_FAULTS, 1);

	ws = max(ALIGN_DOWN(uaddr, r->window), mstart);
	we = min(ALIGN_DOWN(uaddr, r->window) + r->window, mend);
	n = (we - ws) >> PAGE_SHIFT;
	entries = kvmalloc_array(n, sizeof(*entries), GFP_KERNEL);
	ret = -ENOMEM;
	if (!entries)
		goto out_unlock;

	uptr_domain_lock(r->domain);
	/* sgpu_fault_work() zapped the PTEs of any other mm. */
	vm->pte_mm = job->mm;
	for (i = 0; i < n; i++)
		entries[i] = uptr_range_entry(r, ws + (i << PAGE_SHIFT));
	sgpu_pt_map(vm, gva->va.addr + (ws - mstart), n, entries,
		    m->read_only, true, NULL);
	uptr_domain_unlock(r->domain);
	kvfree(entries);
	ret = 0;

out_unlock:
	up_read(&vm->lock);
	return ret;
}

/* -------------------------------------------------------------------- */
/* Engine                                                                */

/**
 * struct sgpu_access - one translated engine access
 */
struct sgpu_access {
	/** @va: GPU VA. */
	u64 va;
	/** @write: the access writes. */
	bool write;
	/** @p: kernel address of @va, valid while pt_lock is held. */
	void *p;
	/** @n: bytes usable at @p (to the end of the page). */
	u64 n;
};

/*
 * Test only (module parameter test_hooks, debugfs file test_uaf_reads of
 * the device): point a read of system memory at a page that was just
 * freed, as a GPU PTE that outlived its memory would, so that a test sees
 * KASAN report the engine's access (selftests/sgpu_test.c, kasan.*).  A
 * free page stays in the direct map without debug_pagealloc, so the read
 * itself is harmless; the data read is garbage.
 */
static void sgpu_test_uaf_read(struct sgpu_device *sdev,
			       struct sgpu_access *a)
{
	struct page *page;

	if (likely(!atomic_read(&sdev->test_uaf_reads)) ||
	    debug_pagealloc_enabled() ||
	    !atomic_add_unless(&sdev->test_uaf_reads, -1, 0))
		return;
	/* Under pt_lock, in the engine: no reclaim. */
	page = alloc_page(GFP_NOWAIT | __GFP_NOWARN);
	if (!page)
		return;
	__free_page(page);
	a->p = page_address(page) + offset_in_page(a->va);
}

static int sgpu_engine_xlate(struct sgpu_vm *vm, struct sgpu_access *a)
{
	struct sgpu_xlate x;
	int ret;

	ret = sgpu_pt_translate(vm, a->va, a->write, &x);
	if (ret)
		return ret;
	if (x.devpriv) {
		a->p = sgpu_devmem_vaddr(vm->sdev, x.addr);
		if (!a->p)
			return -EFAULT;
	} else {
		a->p = phys_to_virt(dma_to_phys(vm->sdev->dev, x.addr));
		if (!a->write)
			sgpu_test_uaf_read(vm->sdev, a);
	}
	a->n = PAGE_SIZE - offset_in_page(a->va);
	return 0;
}

/**
 * struct sgpu_chunk - progress of one engine command
 */
struct sgpu_chunk {
	/** @c: the command. */
	const struct drm_sgpu_cmd *c;
	/** @done: bytes of the command already processed. */
	u64 done;
	/** @n: set by a step: bytes processed by this chunk. */
	u64 n;
	/** @acc: checksum state, compare result or old atomic value. */
	u64 acc;
	/** @stop: set by a step: the command is complete. */
	bool stop;
};

typedef void (*sgpu_step_fn)(struct sgpu_access *a, struct sgpu_chunk *k);

/*
 * The steps below are the device's memory accesses.  KASAN instruments
 * neither __memmove nor the inline-asm memset32 of x86, so each step tells
 * it explicitly which bytes the "device" reads and writes: an access to a
 * freed page (a PTE that outlived its memory) is then reported.
 */

/*
 * One engine access: translate @n GPU VAs and run @step on the pages while
 * holding pt_lock, so that a concurrent zap (TLB invalidation) waits for
 * it.  In fault mode a failed translation is a GPU page fault, serviced
 * without any lock held, and the access is retried.
 */
static int sgpu_engine_access(struct sgpu_job *job, struct sgpu_access *a,
			      unsigned int n, sgpu_step_fn step,
			      struct sgpu_chunk *k)
{
	struct sgpu_vm *vm = job->vm;
	unsigned long deadline = 0;
	unsigned int i;
	int ret = 0;

	for (;;) {
		spin_lock(&vm->pt_lock);
		for (i = 0; i < n; i++) {
			ret = sgpu_engine_xlate(vm, &a[i]);
			if (ret)
				break;
		}
		if (i == n)
			step(a, k);
		spin_unlock(&vm->pt_lock);
		if (i == n)
			return 0;

		job->fail_addr = a[i].va;
		if (!job->fault_mode)
			return ret;
		/* A GPU replays a faulting access until it is serviced. */
		if (sgpu_retry_expired(&deadline))
			return -EBUSY;
		if (READ_ONCE(vm->cancel))
			return -ECANCELED;
		ret = sgpu_gpu_fault(job, a[i].va, a[i].write);
		/* -EBUSY: the populate lost against invalidations, retry. */
		if (ret && ret != -EBUSY)
			return ret;
	}
}

static void sgpu_step_store(struct sgpu_access *a, struct sgpu_chunk *k)
{
	kasan_check_write(a[0].p, sizeof(u64));
	*(u64 *)a[0].p = k->acc;
}

static int sgpu_write_result(struct sgpu_job *job, u64 va, u64 val)
{
	struct sgpu_access a = { .va = va, .write = true };
	struct sgpu_chunk k = { .acc = val };

	return sgpu_engine_access(job, &a, 1, sgpu_step_store, &k);
}

static void sgpu_step_copy(struct sgpu_access *a, struct sgpu_chunk *k)
{
	k->n = min3(k->c->size - k->done, a[0].n, a[1].n);
	kasan_check_read(a[0].p, k->n);
	kasan_check_write(a[1].p, k->n);
	memmove(a[1].p, a[0].p, k->n);
}

static void sgpu_step_fill(struct sgpu_access *a, struct sgpu_chunk *k)
{
	k->n = min(k->c->size - k->done, a[0].n);
	kasan_check_write(a[0].p, k->n);
	memset32(a[0].p, (u32)k->c->value, k->n / 4);
}

static void sgpu_step_compare(struct sgpu_access *a, struct sgpu_chunk *k)
{
	const u8 *x = a[0].p, *y = a[1].p;
	u64 i;

	k->n = min3(k->c->size - k->done, a[0].n, a[1].n);
	kasan_check_read(x, k->n);
	kasan_check_read(y, k->n);
	if (!memcmp(x, y, k->n))
		return;
	for (i = 0; x[i] == y[i]; i++)
		;
	k->acc = k->done + i + 1;
	k->stop = true;
}

static void sgpu_step_checksum(struct sgpu_access *a, struct sgpu_chunk *k)
{
	const u8 *x = a[0].p;
	u64 i;

	k->n = min(k->c->size - k->done, a[0].n);
	kasan_check_read(x, k->n);
	for (i = 0; i < k->n; i++) {
		k->acc ^= x[i];
		k->acc *= SGPU_FNV_PRIME;
	}
}

static void sgpu_step_atomic_inc(struct sgpu_access *a, struct sgpu_chunk *k)
{
	/* A locked add: atomic against the CPU and other engine accesses. */
	kasan_check_write(a[0].p, sizeof(u64));
	k->acc = atomic64_fetch_add(k->c->value, (atomic64_t *)a[0].p);
	k->n = 8;
}

/*
 * Run a command chunk by chunk: @src (read) and @dst (written when
 * @dst_write) advance with the chunks; a zero VA is not accessed.
 */
static int sgpu_cmd_loop(struct sgpu_job *job, struct sgpu_chunk *k,
			 u64 src, u64 dst, bool dst_write, sgpu_step_fn step)
{
	struct sgpu_access a[2];
	unsigned int n;
	int ret;

	while (k->done < k->c->size) {
		n = 0;
		if (src)
			a[n++] = (struct sgpu_access){ .va = src + k->done };
		if (dst)
			a[n++] = (struct sgpu_access){ .va = dst + k->done,
						       .write = dst_write };
		ret = sgpu_engine_access(job, a, n, step, k);
		if (ret)
			return ret;
		k->done += k->n;
		if (k->stop)
			break;
		cond_resched();
	}
	return 0;
}

static int sgpu_cmd_run(struct sgpu_job *job, const struct drm_sgpu_cmd *c)
{
	struct sgpu_chunk k = { .c = c };
	int ret;

	switch (c->op) {
	case SGPU_CMD_COPY:
		return sgpu_cmd_loop(job, &k, c->src, c->dst, true,
				     sgpu_step_copy);
	case SGPU_CMD_FILL:
		return sgpu_cmd_loop(job, &k, 0, c->dst, true, sgpu_step_fill);
	case SGPU_CMD_COMPARE:
		ret = sgpu_cmd_loop(job, &k, c->src, c->dst, false,
				    sgpu_step_compare);
		break;
	case SGPU_CMD_CHECKSUM:
		k.acc = SGPU_FNV_BASIS;
		ret = sgpu_cmd_loop(job, &k, c->src, 0, false,
				    sgpu_step_checksum);
		break;
	case SGPU_CMD_ATOMIC_INC:
		ret = sgpu_cmd_loop(job, &k, 0, c->dst, true,
				    sgpu_step_atomic_inc);
		if (!ret && !c->result)
			return 0;
		break;
	default:
		return -EINVAL;
	}
	if (ret)
		return ret;
	return sgpu_write_result(job, c->result, k.acc);
}

/*
 * Test hook of the fault-injection sweep (docs/design.rst, "Fault
 * injection").  fail-nth counts the fault points of one task, and the
 * engine executes jobs in kernel workers that no test can arm: debugfs
 * dri/<dev>/engine_fail_nth arms the next job executed instead, for the
 * duration of its execution, and engine_fail_nth_left tells what it left.
 */
static unsigned int sgpu_fail_nth_begin(struct sgpu_device *sdev)
{
#ifdef CONFIG_FAULT_INJECTION
	unsigned int n = atomic_xchg(&sdev->engine_fail_nth, 0);

	if (n)
		current->fail_nth = n;
	return n;
#else
	return 0;
#endif
}

static void sgpu_fail_nth_end(struct sgpu_device *sdev, unsigned int armed)
{
#ifdef CONFIG_FAULT_INJECTION
	if (!armed)
		return;
	atomic_set(&sdev->engine_fail_nth_left, current->fail_nth);
	current->fail_nth = 0;
#endif
}

/* Run a job's page-table updates and commands. */
static void sgpu_job_run_cmds(struct sgpu_job *job)
{
	struct sgpu_vm *vm = job->vm;
	struct sgpu_mapping *m;
	struct sgpu_pt_op *op;
	u32 i;
	int ret;

	job->ran = true;
	list_for_each_entry(m, &job->removed, job_link)
		sgpu_pt_zap_removed(vm, m);
	list_for_each_entry(op, &job->pt_ops, link)
		sgpu_pt_map(vm, op->va, op->npages, op->entries, op->read_only,
			    op->userptr, op->ubo);
	if (job->kind != SGPU_JOB_EXEC)
		return;

	for (i = 0; i < job->num_cmds; i++) {
		if (READ_ONCE(vm->cancel)) {
			job->status = -ECANCELED;
			break;
		}
		ret = sgpu_cmd_run(job, &job->cmds[i]);
		if (ret) {
			job->status = ret;
			job->fail_cmd = i;
			break;
		}
	}
	sgpu_job_complete(job);
}

/* The engine proper: a job's page-table updates and commands. */
static void sgpu_job_execute(struct sgpu_job *job)
{
	struct sgpu_device *sdev = job->vm->sdev;
	unsigned int armed = sgpu_fail_nth_begin(sdev);

	sgpu_job_run_cmds(job);
	sgpu_fail_nth_end(sdev, armed);
}

/* -------------------------------------------------------------------- */
/* drm_sched backend (binds, fence-mode EXEC)                           */

static inline struct sgpu_job *to_sgpu_job(struct drm_sched_job *sched_job)
{
	return container_of(sched_job, struct sgpu_job, base);
}

/*
 * The engine runs the job right here, on the scheduler's submit worker,
 * and returns its fence signalled.  With a credit limit of 1 no other job
 * could start before this one ends anyway, and handing the job to another
 * worker cost one more wake-up per job (the round trip went submitter ->
 * scheduler -> engine -> waiter).  The scheduler's workqueue is
 * WQ_MEM_RECLAIM, as a worker signalling dma-fences must be.
 */
static struct dma_fence *sgpu_run_job(struct drm_sched_job *sched_job)
{
	struct sgpu_job *job = to_sgpu_job(sched_job);
	struct sgpu_vm *vm = job->vm;
	struct dma_fence *fence = &job->hw->base;
	bool cookie;

	dma_fence_init(fence, &sgpu_hw_fence_ops, &job->hw->lock,
		       vm->fence_context,
		       atomic64_inc_return(&vm->fence_seqno));
	job->hw_inited = true;
	/* The job's reference stays with the job; this one is drm_sched's. */
	dma_fence_get(fence);

	/* Everything until the signal may be waited for by reclaim. */
	cookie = dma_fence_begin_signalling();
	sgpu_job_execute(job);
	if (job->status)
		dma_fence_set_error(fence, job->status);
	dma_fence_signal(fence);
	dma_fence_end_signalling(cookie);
	return fence;
}

static enum drm_gpu_sched_stat sgpu_timedout_job(struct drm_sched_job *job)
{
	/* The engine always makes progress; there is nothing to reset. */
	return DRM_GPU_SCHED_STAT_NOMINAL;
}

/*
 * Free a submitted job, then let sgpu_vm_close() know.  The job's VM
 * reference is what keeps the VM alive until the wake-up: sgpu_vm_close()
 * may see the count at zero and free the VM as soon as it dropped, and
 * nothing (drm_sched_fini() of a device-wide scheduler, a flush) waits for
 * the work this runs from (drm_sched frees killed jobs from system_wq).
 * So take a VM reference of our own before the job's goes with the job,
 * and drop it after the wake-up.
 */
static void sgpu_job_release(struct sgpu_job *job)
{
	struct sgpu_vm *vm = job->vm;

	sgpu_vm_get(vm);
	sgpu_job_free(job);
	if (atomic_dec_and_test(&vm->sched_jobs))
		wake_up_all(&vm->idle_wq);
	sgpu_vm_put(vm);
}

static void sgpu_job_cleanup_work(struct work_struct *work)
{
	sgpu_job_release(container_of(work, struct sgpu_job, cleanup));
}

static void sgpu_free_job(struct drm_sched_job *sched_job)
{
	struct sgpu_job *job = to_sgpu_job(sched_job);
	struct sgpu_vm *vm = job->vm;
	struct sgpu_mapping *m;

	/* Killed by the entity's teardown before it ran. */
	if (!job->ran && job->kind == SGPU_JOB_EXEC) {
		job->status = -ECANCELED;
		sgpu_job_complete(job);
	}
	/*
	 * A killed bind still zaps what it unmapped before the cleanup
	 * releases the memory: an earlier job may be running on it.
	 */
	if (!job->ran)
		list_for_each_entry(m, &job->removed, job_link)
			sgpu_pt_zap_removed(vm, m);
	drm_sched_job_cleanup(sched_job);
	job->sched_inited = false;
	/*
	 * The job, and its VM reference, live until the cleanup work: that
	 * is where sgpu_vm_close() learns that the job is gone.  Nothing
	 * here may touch @vm after the queue_work().
	 */
	INIT_WORK(&job->cleanup, sgpu_job_cleanup_work);
	queue_work(vm->sdev->cleanup_wq, &job->cleanup);
}

const struct drm_sched_backend_ops sgpu_sched_ops = {
	.run_job = sgpu_run_job,
	.timedout_job = sgpu_timedout_job,
	.free_job = sgpu_free_job,
};

/* -------------------------------------------------------------------- */
/* Fault-mode EXEC                                                       */

static void sgpu_fault_fence_cb(struct dma_fence *fence,
				struct dma_fence_cb *cb)
{
	struct sgpu_vm *vm = container_of(cb, struct sgpu_vm, fault_cb);

	/* The waiting job is still first on the list: the VM is alive. */
	queue_work(vm->sdev->fault_wq, &vm->fault_work);
}

/*
 * Are the in-fences of the first job of the VM signalled?  If not, a
 * callback on the first pending one queues the fault work again.  Only
 * the first job waits, and only sgpu_fault_work() calls this: one
 * callback at a time uses &sgpu_vm.fault_cb.  A job is never freed
 * before its in-fences signalled, even when cancelled (as drm_sched does
 * for the jobs it kills).
 */
static bool sgpu_fault_job_ready(struct sgpu_job *job)
{
	struct sgpu_vm *vm = job->vm;
	struct dma_fence *fence;

	while (job->next_in_fence < job->num_in_fences) {
		fence = job->in_fences[job->next_in_fence];
		if (!dma_fence_add_callback(fence, &vm->fault_cb,
					    sgpu_fault_fence_cb))
			return false;
		job->next_in_fence++;
	}
	return true;
}

/*
 * Userptr PTEs stay in the page tables after the job that faulted them in,
 * and an access that hits a present PTE never reaches sgpu_gpu_fault() and
 * its check of the userptr's mm.  Before a job of another mm than the one
 * the present userptr PTEs were faulted for runs, zap them all, so that the
 * job's accesses fault and are checked.  Shmem PTEs are written at bind
 * and are not the memory of any process: they stay.
 *
 * The compare of @job->mm with &sgpu_vm.pte_mm has no ABA problem: @job->mm
 * is grabbed by the job, and a stale &sgpu_vm.pte_mm (an mm freed and its
 * struct reused for @job->mm) leaves no PTE behind: a userptr range holds
 * its mm with mmgrab() until the BO is freed, and a BO is freed only after
 * its last mapping was removed and its PTEs zapped.  So while any userptr
 * PTE of the old mm is present, that mm cannot be freed and reused.
 */
static void sgpu_fault_zap_userptrs(struct sgpu_job *job)
{
	struct sgpu_vm *vm = job->vm;
	struct drm_gpuva *gva;

	down_read(&vm->lock);
	uptr_domain_lock(&vm->domain);
	if (vm->pte_mm && vm->pte_mm != job->mm) {
		drm_gpuvm_for_each_va(gva, &vm->gpuvm) {
			if (sgpu_is_ubo(gva->gem.obj))
				sgpu_pt_zap(vm, gva->va.addr, gva->va.range);
		}
		vm->pte_mm = NULL;
	}
	uptr_domain_unlock(&vm->domain);
	up_read(&vm->lock);
}

/**
 * sgpu_fault_work() - run the queued fault-mode EXEC jobs of a VM
 * @work: &sgpu_vm.fault_work
 *
 * Runs the VM's jobs one at a time, oldest first, each once its in-fences
 * signalled.  A job stays first on &sgpu_vm.fault_jobs until it ran, so
 * that a concurrent submission sees a non-empty list and leaves the next
 * job to this loop; the work stops when the list is empty or the first job
 * waits.  The VM may be freed by the release of the last job: nothing
 * touches it after that.
 *
 * Context: Process context (&sgpu_device.fault_wq), no lock held.
 */
void sgpu_fault_work(struct work_struct *work)
{
	struct sgpu_vm *vm = container_of(work, struct sgpu_vm, fault_work);
	struct sgpu_job *job;
	bool more;

	do {
		spin_lock(&vm->fault_lock);
		job = list_first_entry_or_null(&vm->fault_jobs,
					       struct sgpu_job, fault_link);
		spin_unlock(&vm->fault_lock);
		if (!job || !sgpu_fault_job_ready(job))
			return;

		sgpu_fault_zap_userptrs(job);
		sgpu_job_execute(job);

		spin_lock(&vm->fault_lock);
		list_del(&job->fault_link);
		more = !list_empty(&vm->fault_jobs);
		spin_unlock(&vm->fault_lock);
		/* With more jobs queued, the next one holds the VM. */
		sgpu_job_release(job);
		cond_resched();
	} while (more);
}

/**
 * sgpu_fault_job_queue() - submit a fault-mode EXEC job
 * @job: the job, with its in-fences and seqno set
 *
 * The job belongs to the VM's fault work from now on.
 *
 * Context: Process context, &sgpu_vm.lock held and the VM not closed.
 */
void sgpu_fault_job_queue(struct sgpu_job *job)
{
	struct sgpu_vm *vm = job->vm;
	bool first;

	lockdep_assert_held(&vm->lock);
	atomic_inc(&vm->sched_jobs);
	spin_lock(&vm->fault_lock);
	first = list_empty(&vm->fault_jobs);
	list_add_tail(&job->fault_link, &vm->fault_jobs);
	spin_unlock(&vm->fault_lock);
	if (first)
		queue_work(vm->sdev->fault_wq, &vm->fault_work);
}

/* -------------------------------------------------------------------- */
/* EXEC ioctl                                                            */

/* The GPU VA spans a command reaches; returns how many. */
static unsigned int sgpu_cmd_spans(const struct drm_sgpu_cmd *c,
				   u64 va[3], u64 len[3])
{
	unsigned int n = 0;

	switch (c->op) {
	case SGPU_CMD_COPY:
	case SGPU_CMD_COMPARE:
		va[n] = c->src;
		len[n++] = c->size;
		va[n] = c->dst;
		len[n++] = c->size;
		break;
	case SGPU_CMD_FILL:
		va[n] = c->dst;
		len[n++] = c->size;
		break;
	case SGPU_CMD_CHECKSUM:
		va[n] = c->src;
		len[n++] = c->size;
		break;
	case SGPU_CMD_ATOMIC_INC:
		va[n] = c->dst;
		len[n++] = 8;
		break;
	}
	if (c->result) {
		va[n] = c->result;
		len[n++] = 8;
	}
	return n;
}

static int sgpu_cmd_check(const struct drm_sgpu_cmd *c)
{
	u64 va[3], len[3], end;
	unsigned int i, n;

	if (c->flags || c->op > SGPU_CMD_ATOMIC_INC)
		return -EINVAL;
	if (!c->size || c->size > SGPU_MAX_CMD_SIZE)
		return -EINVAL;
	switch (c->op) {
	case SGPU_CMD_COPY:
		if (c->value || c->result)
			return -EINVAL;
		break;
	case SGPU_CMD_FILL:
		if (c->src || c->result || (c->value >> 32) ||
		    !IS_ALIGNED(c->dst, 4) || !IS_ALIGNED(c->size, 4))
			return -EINVAL;
		break;
	case SGPU_CMD_COMPARE:
		if (c->value || !c->result)
			return -EINVAL;
		break;
	case SGPU_CMD_CHECKSUM:
		if (c->dst || c->value || !c->result)
			return -EINVAL;
		break;
	case SGPU_CMD_ATOMIC_INC:
		if (c->src || c->size != 8 || !IS_ALIGNED(c->dst, 8))
			return -EINVAL;
		break;
	}
	if (c->result && !IS_ALIGNED(c->result, 8))
		return -EINVAL;

	n = sgpu_cmd_spans(c, va, len);
	for (i = 0; i < n; i++) {
		if (check_add_overflow(va[i], len[i], &end))
			return -EOVERFLOW;
		if (va[i] < SGPU_VA_START || end > SGPU_VA_END)
			return -EINVAL;
	}
	return 0;
}

static void sgpu_reach_fini(struct list_head *reached)
{
	struct sgpu_ubo *ubo, *tmp;

	list_for_each_entry_safe(ubo, tmp, reached, reach_link)
		list_del_init(&ubo->reach_link);
}

/*
 * Collect the userptr BOs mapped at the GPU VAs the job's commands name:
 * those the job can reach.  Each must belong to the calling process.
 */
static int sgpu_exec_reach(struct sgpu_job *job, struct list_head *reached)
{
	struct sgpu_vm *vm = job->vm;
	u64 va[3], len[3];
	struct drm_gpuva *gva;
	struct sgpu_ubo *ubo;
	unsigned int i, j, n;

	lockdep_assert_held_write(&vm->lock);

	for (i = 0; i < job->num_cmds; i++) {
		n = sgpu_cmd_spans(&job->cmds[i], va, len);
		for (j = 0; j < n; j++) {
			drm_gpuvm_for_each_va_range(gva, &vm->gpuvm, va[j],
						    va[j] + len[j]) {
				if (!sgpu_is_ubo(gva->gem.obj))
					continue;
				ubo = to_ubo(gva->gem.obj);
				if (!list_empty(&ubo->reach_link))
					continue;
				if (sgpu_ubo_check_owner(ubo))
					return -EPERM;
				list_add_tail(&ubo->reach_link, reached);
			}
		}
	}
	return 0;
}

/* Put BOs taken off the invalidated list back: they were not rebound. */
static void sgpu_exec_restore(struct sgpu_vm *vm, struct list_head *repin)
{
	struct sgpu_ubo *ubo, *tmp;

	uptr_domain_lock(&vm->domain);
	list_for_each_entry_safe(ubo, tmp, repin, repin_link) {
		list_del_init(&ubo->repin_link);
		if (list_empty(&ubo->inval_link))
			list_add_tail(&ubo->inval_link, &vm->invalidated);
	}
	uptr_domain_unlock(&vm->domain);
}

/* Domain lock held: is every reached BO still valid as a whole? */
static bool sgpu_exec_still_valid(struct sgpu_vm *vm,
				  struct list_head *reached)
{
	struct sgpu_ubo *ubo;
	bool valid = true;

	lockdep_assert_held(&vm->domain.lock);
	list_for_each_entry(ubo, reached, reach_link) {
		if (!list_empty(&ubo->inval_link)) {
			valid = false;
		} else if (!uptr_range_valid(&ubo->range, ubo->range.start,
					     ubo->range.end - ubo->range.start)) {
			list_add_tail(&ubo->inval_link, &vm->invalidated);
			valid = false;
		}
	}
	return valid;
}

/*
 * Fence mode: revalidate every reached userptr BO that a notifier
 * invalidated (repin without locks but the VM lock, move to the gpuvm evict
 * list under the resv, drm_gpuvm_validate() queues the rebinds), then in
 * one domain-lock critical section check that nothing was invalidated
 * since, snapshot the entries for the rebinds and queue the job with its
 * fence in the resvs.  On success returns the job's finished fence.
 */
static int sgpu_exec_fence(struct sgpu_job *job, struct list_head *reached,
			   struct dma_fence **out)
{
	struct sgpu_vm *vm = job->vm;
	struct drm_gpuvm *gpuvm = &vm->gpuvm;
	struct sgpu_ubo *ubo, *tmp;
	struct drm_gpuvm_bo *vm_bo;
	struct dma_fence *fence;
	struct drm_exec exec;
	struct sgpu_pt_op *op;
	unsigned long i, deadline = 0;
	LIST_HEAD(repin);
	int ret;

	lockdep_assert_held_write(&vm->lock);
again:
	uptr_domain_lock(&vm->domain);
	list_for_each_entry(ubo, reached, reach_link) {
		if (list_empty(&ubo->inval_link))
			continue;
		list_del_init(&ubo->inval_link);
		list_add_tail(&ubo->repin_link, &repin);
	}
	uptr_domain_unlock(&vm->domain);

	list_for_each_entry(ubo, &repin, repin_link) {
		ret = sgpu_ubo_populate(ubo);
		if (ret)
			goto err_restore;
	}

	drm_exec_init(&exec, DRM_EXEC_INTERRUPTIBLE_WAIT |
			     DRM_EXEC_IGNORE_DUPLICATES, 0);
	drm_exec_until_all_locked(&exec) {
		ret = drm_gpuvm_prepare_vm(gpuvm, &exec, 1);
		drm_exec_retry_on_contention(&exec);
		if (ret)
			break;
		ret = drm_gpuvm_prepare_objects(gpuvm, &exec, 1);
		drm_exec_retry_on_contention(&exec);
		if (ret)
			break;
	}
	if (ret)
		goto err_fini_exec;

	list_for_each_entry(ubo, &repin, repin_link) {
		vm_bo = drm_gpuvm_bo_find(gpuvm, &ubo->base);
		if (vm_bo) {
			drm_gpuvm_bo_evict(vm_bo, true);
			drm_gpuvm_bo_put(vm_bo);
		}
	}
	vm->validate_job = job;
	ret = drm_gpuvm_validate(gpuvm, &exec);
	vm->validate_job = NULL;
	if (ret)
		goto err_fini_exec;

	uptr_domain_lock(&vm->domain);
	if (!sgpu_exec_still_valid(vm, reached)) {
		uptr_domain_unlock(&vm->domain);
		drm_exec_fini(&exec);
		sgpu_job_free_pt_ops(job);
		sgpu_exec_restore(vm, &repin);
		if (sgpu_retry_expired(&deadline))
			return -EBUSY;
		if (signal_pending(current))
			return -ERESTARTSYS;
		goto again;
	}
	list_for_each_entry(op, &job->pt_ops, link) {
		for (i = 0; i < op->npages; i++) {
			op->entries[i] = uptr_range_entry(&op->ubo->range,
							  op->uaddr +
							  (i << PAGE_SHIFT));
			if (!((i + 1) % SGPU_RESCHED_PAGES))
				cond_resched();
		}
	}
	list_for_each_entry(ubo, &repin, repin_link) {
		atomic64_inc(&ubo->repins);
		sgpu_vm_stat_add(vm, SGPU_VM_REPINS, 1);
	}
	job->seqno = ++vm->seqno;
	drm_sched_job_arm(&job->base);
	fence = dma_fence_get(&job->base.s_fence->finished);
	drm_gpuvm_resv_add_fence(gpuvm, &exec, fence, DMA_RESV_USAGE_BOOKKEEP,
				 DMA_RESV_USAGE_BOOKKEEP);
	atomic_inc(&vm->sched_jobs);
	drm_sched_entity_push_job(&job->base);
	uptr_domain_unlock(&vm->domain);

	list_for_each_entry_safe(ubo, tmp, &repin, repin_link)
		list_del_init(&ubo->repin_link);
	drm_exec_fini(&exec);
	*out = fence;
	return 0;

err_fini_exec:
	drm_exec_fini(&exec);
err_restore:
	sgpu_job_free_pt_ops(job);
	sgpu_exec_restore(vm, &repin);
	return ret;
}

/**
 * sgpu_exec_ioctl() - DRM_IOCTL_SGPU_EXEC
 * @drm: the device
 * @data: &struct drm_sgpu_exec
 * @file: the caller
 *
 * Context: Process context.  Takes the VM lock, mmap_lock (fence mode
 * repopulation), the resvs and the domain lock, in that order.
 * Return: 0 or negative errno, see docs/uapi.rst.
 */
int sgpu_exec_ioctl(struct drm_device *drm, void *data, struct drm_file *file)
{
	struct drm_sgpu_exec *args = data;
	struct drm_syncobj *out_sync = NULL;
	struct dma_fence **in_fences = NULL;
	struct dma_fence *fence = NULL;
	struct drm_sgpu_cmd *cmds;
	struct sgpu_job *job;
	struct sgpu_vm *vm;
	LIST_HEAD(reached);
	u64 seqno;
	u32 i;
	int ret;

	if (args->flags || args->pad || !args->num_cmds ||
	    args->num_cmds > SGPU_MAX_CMDS ||
	    args->num_in_syncs > SGPU_MAX_SYNCS)
		return -EINVAL;
	vm = sgpu_vm_lookup(file, args->vm_id);
	if (!vm)
		return -ENOENT;
	ret = -EINVAL;
	if (vm->mode == SGPU_VM_MODE_FAULT && args->out_sync)
		goto out_put_vm;

	cmds = vmemdup_array_user(u64_to_user_ptr(args->cmds), args->num_cmds,
				  sizeof(*cmds));
	if (IS_ERR(cmds)) {
		ret = PTR_ERR(cmds);
		goto out_put_vm;
	}
	for (i = 0; i < args->num_cmds; i++) {
		ret = sgpu_cmd_check(&cmds[i]);
		if (ret) {
			kvfree(cmds);
			goto out_put_vm;
		}
	}

	job = sgpu_job_alloc(vm, SGPU_JOB_EXEC);
	if (!job) {
		kvfree(cmds);
		ret = -ENOMEM;
		goto out_put_vm;
	}
	job->cmds = cmds;
	job->num_cmds = args->num_cmds;

	if (args->out_sync) {
		out_sync = drm_syncobj_find(file, args->out_sync);
		ret = -ENOENT;
		if (!out_sync)
			goto out_free_job;
	}
	ret = sgpu_copy_syncs(file, args->in_syncs, args->num_in_syncs,
			      &in_fences);
	if (ret)
		goto out_free_job;

	ret = down_write_killable(&vm->lock);
	if (ret)
		goto out_free_job;
	ret = -ENOENT;
	if (vm->closed)
		goto out_unlock;
	if (job->fault_mode) {
		job->in_fences = in_fences;
		job->num_in_fences = args->num_in_syncs;
		in_fences = NULL;
		job->mm = current->mm;
		mmgrab(job->mm);
	} else {
		ret = sgpu_job_sched_init(job, file, in_fences,
					  args->num_in_syncs);
		if (ret)
			goto out_unlock;
	}
	ret = sgpu_exec_reach(job, &reached);
	if (ret)
		goto out_unlock;

	if (job->fault_mode) {
		seqno = ++vm->seqno;
		job->seqno = seqno;
		sgpu_fault_job_queue(job);
	} else {
		ret = sgpu_exec_fence(job, &reached, &fence);
		if (ret)
			goto out_unlock;
		seqno = vm->seqno;
	}
	/* The job may be gone already. */
	job = NULL;
	sgpu_reach_fini(&reached);
	up_write(&vm->lock);

	sgpu_vm_stat_add(vm, SGPU_VM_JOBS_SUBMITTED, 1);
	args->seqno = seqno;
	if (out_sync && fence)
		drm_syncobj_replace_fence(out_sync, fence);
	dma_fence_put(fence);
	ret = 0;
	goto out_put_fences;

out_unlock:
	sgpu_reach_fini(&reached);
	up_write(&vm->lock);
out_free_job:
	sgpu_job_free(job);
out_put_fences:
	sgpu_put_fences(in_fences, args->num_in_syncs);
	kfree(in_fences);
	if (out_sync)
		drm_syncobj_put(out_sync);
out_put_vm:
	sgpu_vm_put(vm);
	return ret;
}

static u64 sgpu_vm_completed(struct sgpu_vm *vm)
{
	u64 done;

	spin_lock(&vm->results_lock);
	done = vm->completed;
	spin_unlock(&vm->results_lock);
	return done;
}

/**
 * sgpu_wait_ioctl() - DRM_IOCTL_SGPU_WAIT
 * @drm: the device
 * @data: &struct drm_sgpu_wait
 * @file: the caller
 *
 * Context: Process context, sleeps interruptibly.
 * Return: 0 or negative errno, see docs/uapi.rst.
 */
int sgpu_wait_ioctl(struct drm_device *drm, void *data, struct drm_file *file)
{
	struct drm_sgpu_wait *args = data;
	struct sgpu_job_result *r;
	struct sgpu_vm *vm;
	long timeout;
	int ret;

	if (args->flags)
		return -EINVAL;
	vm = sgpu_vm_lookup(file, args->vm_id);
	if (!vm)
		return -ENOENT;
	ret = -EINVAL;
	if (!args->seqno || args->seqno > READ_ONCE(vm->seqno))
		goto out_put;

	timeout = args->timeout_ns < 0 ? MAX_SCHEDULE_TIMEOUT :
		  nsecs_to_jiffies(args->timeout_ns);
	timeout = wait_event_interruptible_timeout(vm->wait_wq,
						   sgpu_vm_completed(vm) >=
						   args->seqno, timeout);
	ret = timeout < 0 ? timeout : timeout == 0 ? -ETIME : 0;
	if (ret)
		goto out_put;

	spin_lock(&vm->results_lock);
	r = &vm->results[args->seqno % SGPU_JOB_HISTORY];
	if (r->seqno == args->seqno) {
		args->status = r->status;
		args->cmd_index = r->cmd;
		args->fault_addr = r->addr;
	} else {
		ret = -ESTALE;
	}
	spin_unlock(&vm->results_lock);
out_put:
	sgpu_vm_put(vm);
	return ret;
}
