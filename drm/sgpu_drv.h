/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (c) 2026 The uptr authors
 */
#ifndef _SGPU_DRV_H_
#define _SGPU_DRV_H_

/**
 * DOC: sgpu overview
 *
 * sgpu is a software GPU.  Its "hardware" is a set of kernel workers that
 * execute engine commands, and they reach memory only through the GPU page
 * tables of a VM (sgpu_pt.c).  The driver is the reference user of the uptr
 * core: each userptr BO wraps one &struct uptr_range whose domain is the
 * VM's &struct uptr_domain, and each VM is in one of two modes:
 *
 * fence mode
 *	EXEC and VM_BIND jobs go through one drm_sched entity per VM, on the
 *	device's only scheduler, &sgpu_device.sched: one engine, like a GPU
 *	with a single ring (credit limit 1, so jobs run one at a time and in
 *	order, and a dependency on another sgpu job may be pipelined).  Their
 *	finished fences are published (syncobj, VM resv BOOKKEEP), so the
 *	path that signals them (run_job, which runs the job) never faults,
 *	allocates, takes mmap_lock, a dma_resv or the domain lock: it only
 *	takes the VM's @pt_lock.  Userptr PTEs are written by jobs from
 *	snapshots of the uptr entries taken under the domain lock when the job
 *	was queued; the MMU notifier waits for the VM's fences before the core
 *	releases pages, then zaps PTEs and queues the BO on the invalidated
 *	list for the next EXEC (repin, move to the gpuvm evict list under the
 *	resv, drm_gpuvm_validate() builds the rebind).
 *
 * fault mode
 *	EXEC jobs are queued on the VM's &sgpu_vm.fault_jobs and run in order
 *	by the VM's &sgpu_vm.fault_work on the device's &sgpu_device.fault_wq;
 *	in-fences are waited for with callbacks, not by a blocked worker.
 *	Completion is a sequence number.  Userptr PTEs are only written by
 *	the GPU fault handler, under
 *	the domain lock after uptr_range_fault(); the notifier zaps without
 *	waiting.  VM_BIND still uses the drm_sched entity (its fences never
 *	depend on EXEC jobs).
 *
 * Locking order (outermost first)::
 *
 *	sgpu_vm.lock (rw_semaphore)
 *	  mmap_lock (only inside uptr_range_populate()/uptr_range_fault()
 *	             and migrate_vma_*())
 *	    dma_resv (drm_exec: the VM's resv, shmem BO resvs)
 *	      uptr_domain.lock (the notifier lock, sgpu_vm.domain)
 *	        sgpu_vm.pt_lock (spinlock: page tables and engine accesses)
 *
 * plus the leaf spinlocks sgpu_vm.results_lock, sgpu_vm.fence_lock and
 * sgpu_vm.fault_lock.
 * uptr populate is never called with a dma_resv or the domain lock held.
 *
 * Lifetimes follow drm_gpuvm: the VM is reference counted with a vm_free
 * op; the file, each &drm_gpuvm_bo, each &drm_gpuva, each job and each
 * userptr BO of the VM hold a reference.  Closing a VM (VM_DESTROY, file
 * close) waits for its jobs and unmaps everything, without allocating.
 * Nothing a job does after its VM's count of jobs (&sgpu_vm.sched_jobs)
 * dropped touches the VM, and the job's own reference keeps the VM alive
 * until then.  The device, and with it the scheduler whose name exported
 * drm_sched fences report, lives until the module is removed: its driver
 * has no sysfs bind/unbind, and every open file holds the module.
 */

#include <linux/dma-fence.h>
#include <linux/jiffies.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/uptr.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <drm/drm_device.h>
#include <drm/drm_gem.h>
#include <drm/drm_gpuvm.h>
#include <drm/gpu_scheduler.h>
#include <drm/sgpu_drm.h>

struct drm_file;
struct platform_device;
struct sgpu_devmem;
struct sgpu_hw_fence;

#define SGPU_PT_ENTRIES		512
#define SGPU_PT_LEVELS		4

/*
 * Work that loses against invalidations is retried for this long before it
 * fails with -EBUSY: a bind or EXEC whose commit found a userptr invalidated
 * again, a GPU fault whose pages were zapped before the engine replayed the
 * access.  A budget in time, not in attempts: under reclaim pressure on a
 * slow machine every attempt can lose for a while, yet the memory settles.
 */
#define SGPU_RETRY_TIMEOUT_MS	10000

/*
 * Loops over the pages of a BO (up to %SGPU_MAX_USERPTR_SIZE, 4M pages) call
 * cond_resched() every this many pages, also under the domain lock (a
 * mutex), so that a large BO gives no soft lockup or RCU stall.
 */
#define SGPU_RESCHED_PAGES	4096

/**
 * sgpu_retry_expired() - account one lost race against a retry budget
 * @deadline: the budget, 0 before the first lost race
 *
 * The budget starts at the first lost race.
 *
 * Context: Any context.
 * Return: true when the operation must give up (-EBUSY).
 */
static inline bool sgpu_retry_expired(unsigned long *deadline)
{
	if (!*deadline) {
		*deadline = jiffies + msecs_to_jiffies(SGPU_RETRY_TIMEOUT_MS) ?: 1;
		return false;
	}
	return time_after(jiffies, *deadline);
}

/**
 * struct sgpu_device - the software GPU
 */
struct sgpu_device {
	/** @drm: the DRM device, parent is the platform device. */
	struct drm_device drm;
	/** @dev: the platform device's struct device; DMA is mapped for it. */
	struct device *dev;
	/** @devmem: device-private memory, NULL without it.  Constant. */
	struct sgpu_devmem *devmem;
	/** @submit_wq: the scheduler's workqueue; run_job() runs the jobs. */
	struct workqueue_struct *submit_wq;
	/**
	 * @sched: the engine's scheduler, one entity per VM.  Lives with the
	 * device, so that drm_sched fences (which name it) may outlive VMs.
	 */
	struct drm_gpu_scheduler sched;
	/** @fault_wq: runs the &sgpu_vm.fault_work of fault-mode VMs. */
	struct workqueue_struct *fault_wq;
	/** @cleanup_wq: releases what finished jobs held. */
	struct workqueue_struct *cleanup_wq;
	/** @vms_lock: protects @vms. */
	struct mutex vms_lock;
	/** @vms: every live VM, for debugfs.  @vms_lock. */
	struct list_head vms;
	/** @live: SGPU_DEV_* object counters.  Atomic. */
	atomic64_t live[SGPU_DEV_COUNT];
	/**
	 * @engine_fail_nth: test hook (debugfs): the fail-nth of the next
	 * job the engine executes, 0 for none.  Atomic.
	 */
	atomic_t engine_fail_nth;
	/**
	 * @engine_fail_nth_left: test hook (debugfs): what that job left of
	 * its fail-nth (0: its Nth fault point failed).  Atomic.
	 */
	atomic_t engine_fail_nth_left;
	/**
	 * @test_uaf_reads: test only (module parameter test_hooks, debugfs
	 * file test_uaf_reads): that many engine reads of system memory are
	 * pointed at a page just freed (sgpu_test_uaf_read()).  Atomic.
	 */
	atomic_t test_uaf_reads;
};

static inline struct sgpu_device *to_sgpu(struct drm_device *drm)
{
	return container_of(drm, struct sgpu_device, drm);
}

/**
 * struct sgpu_file - per open file state
 */
struct sgpu_file {
	/** @vms: vm_id -> &struct sgpu_vm, holds the file's VM reference. */
	struct xarray vms;
};

/**
 * struct sgpu_pt - one page-table level table
 *
 * @ent is the table the engine walks: directory entries hold the physical
 * address of the child's @ent.  @child keeps the child tables allocated
 * even while the directory entry is zero or a large leaf, so that no page
 * table update in a job or a notifier ever allocates.  Both are protected
 * by &sgpu_vm.pt_lock once published.
 */
struct sgpu_pt {
	/** @ent: %SGPU_PT_ENTRIES entries, one page. */
	u64 *ent;
	/** @child: %SGPU_PT_ENTRIES children, NULL at level 0. */
	struct sgpu_pt **child;
};

/**
 * struct sgpu_job_result - status of a finished EXEC job
 */
struct sgpu_job_result {
	/** @seqno: the job. */
	u64 seqno;
	/** @status: 0 or negative errno. */
	s32 status;
	/** @cmd: failing command index. */
	u32 cmd;
	/** @addr: failing GPU VA. */
	u64 addr;
};

/**
 * struct sgpu_vm - a GPU virtual address space
 */
struct sgpu_vm {
	/** @gpuvm: VA space, refcount, resv (must stay first). */
	struct drm_gpuvm gpuvm;
	/** @sdev: the device.  Constant. */
	struct sgpu_device *sdev;
	/** @mode: %SGPU_VM_MODE_FENCE or %SGPU_VM_MODE_FAULT.  Constant. */
	u32 mode;
	/**
	 * @lock: serialises binds, EXEC submission and close; protects the
	 * VA tree (drm_gpuva insert/remove), @closed, @seqno and the
	 * &sgpu_ubo.repin_link lists.  Taken for reading by the GPU fault
	 * handler.
	 */
	struct rw_semaphore lock;
	/** @closed: no new binds or jobs.  @lock. */
	bool closed;
	/**
	 * @cancel: jobs still queued or running stop at their next command
	 * (-ECANCELED).  Set once by sgpu_vm_close(), read by the engine.
	 */
	bool cancel;
	/** @seqno: last EXEC sequence number handed out.  @lock. */
	u64 seqno;
	/** @domain: the uptr domain; its lock is the notifier lock. */
	struct uptr_domain domain;
	/**
	 * @invalidated: fence mode: userptr BOs whose PTEs a notifier zapped
	 * and that no EXEC revalidated yet (&sgpu_ubo.inval_link).
	 * Domain lock.
	 */
	struct list_head invalidated;
	/**
	 * @teardown_mm: the address space whose teardown last waited for
	 * this VM's jobs; compared, never dereferenced.  Domain lock.
	 */
	struct mm_struct *teardown_mm;
	/** @teardown_end: jiffies when that wait ends.  Domain lock. */
	unsigned long teardown_end;
	/**
	 * @pte_mm: fault mode: the mm whose userptrs the userptr PTEs present
	 * in the page tables were faulted for, or %NULL when there are none.
	 * Set by the GPU fault handler; the fault work zaps every userptr PTE
	 * and clears it before a job of another mm runs.  Only compared,
	 * never dereferenced.  Domain lock.
	 */
	struct mm_struct *pte_mm;
	/** @pt_lock: page tables, engine translations in flight. */
	spinlock_t pt_lock;
	/** @root: the level-3 table.  Pointer constant, content @pt_lock. */
	struct sgpu_pt *root;
	/** @entity: the VM's entity on &sgpu_device.sched. */
	struct drm_sched_entity entity;
	/** @fence_context: context of the engine (hw) fences.  Constant. */
	u64 fence_context;
	/** @fence_seqno: last engine fence seqno.  Atomic. */
	atomic64_t fence_seqno;
	/** @fence_lock: lock of the engine fences. */
	spinlock_t fence_lock;
	/** @fault_lock: protects @fault_jobs. */
	spinlock_t fault_lock;
	/** @fault_jobs: fault mode: queued EXEC jobs, oldest first. */
	struct list_head fault_jobs;
	/**
	 * @fault_work: fault mode: runs @fault_jobs in order, on
	 * &sgpu_device.fault_wq; queued by a submission to an empty list and
	 * by the in-fence callback @fault_cb.  Every job on @fault_jobs holds
	 * a VM reference, so the VM outlives a queued or running work.
	 */
	struct work_struct fault_work;
	/** @fault_cb: in-fence callback of the first of @fault_jobs. */
	struct dma_fence_cb fault_cb;
	/**
	 * @sched_jobs: jobs submitted and not yet freed (drm_sched jobs and
	 * fault-mode EXEC jobs).  Atomic.  Decremented with the job's VM
	 * reference still held (sgpu_job_release()).
	 */
	atomic_t sched_jobs;
	/** @idle_wq: woken when @sched_jobs drops to zero. */
	wait_queue_head_t idle_wq;
	/** @results_lock: protects @completed and @results. */
	spinlock_t results_lock;
	/** @completed: last finished EXEC seqno.  @results_lock. */
	u64 completed;
	/** @results: last %SGPU_JOB_HISTORY results.  @results_lock. */
	struct sgpu_job_result results[SGPU_JOB_HISTORY];
	/** @wait_wq: woken when @completed advances. */
	wait_queue_head_t wait_wq;
	/** @validate_job: EXEC being validated.  @lock (write). */
	struct sgpu_job *validate_job;
	/** @dev_link: on &sgpu_device.vms.  &sgpu_device.vms_lock. */
	struct list_head dev_link;
	/** @stats: SGPU_VM_* counters kept by the driver.  Atomic. */
	atomic64_t stats[SGPU_VM_COUNT];
};

static inline struct sgpu_vm *to_sgpu_vm(struct drm_gpuvm *gpuvm)
{
	return container_of(gpuvm, struct sgpu_vm, gpuvm);
}

static inline void sgpu_vm_get(struct sgpu_vm *vm)
{
	drm_gpuvm_get(&vm->gpuvm);
}

static inline void sgpu_vm_put(struct sgpu_vm *vm)
{
	drm_gpuvm_put(&vm->gpuvm);
}

static inline void sgpu_vm_stat_add(struct sgpu_vm *vm, unsigned int c,
				    s64 n)
{
	atomic64_add(n, &vm->stats[c]);
}

/**
 * struct sgpu_ubo - a userptr BO
 *
 * Private to its VM: it shares the VM's dma_resv, so drm_gpuvm treats it as
 * a VM-local object.  Holds a reference on the VM.
 */
struct sgpu_ubo {
	/** @base: the GEM object, resv = the VM's resv. */
	struct drm_gem_object base;
	/** @vm: the VM it belongs to (referenced).  Constant. */
	struct sgpu_vm *vm;
	/** @range: the mirrored user range, domain = @vm's. */
	struct uptr_range range;
	/** @flags: SGPU_USERPTR_* as resolved at creation.  Constant. */
	u32 flags;
	/**
	 * @owner: thread group that created the BO (referenced): who may
	 * say, when it exits, that the owner was killed.  Constant.
	 */
	struct pid *owner;
	/** @mappings: &sgpu_mapping.bo_link of live mappings.  Domain lock. */
	struct list_head mappings;
	/**
	 * @removed: fence mode: &sgpu_mapping.bo_link of mappings removed by
	 * a job not yet freed; their PTEs stay until that job runs, and the
	 * teardown of the address space must reach them
	 * (sgpu_pt_zap_removed()).  Domain lock.
	 */
	struct list_head removed;
	/** @inval_link: on &sgpu_vm.invalidated.  Domain lock. */
	struct list_head inval_link;
	/** @repin_link: on an EXEC's repin list.  &sgpu_vm.lock. */
	struct list_head repin_link;
	/** @reach_link: on an EXEC's list of reached BOs.  &sgpu_vm.lock. */
	struct list_head reach_link;
	/** @invalidations: notifier callbacks that zapped.  Atomic. */
	atomic64_t invalidations;
	/** @repins: revalidations by EXEC.  Atomic. */
	atomic64_t repins;
	/** @faults: GPU faults serviced.  Atomic. */
	atomic64_t faults;
	/** @migrated: pages moved to device memory.  Atomic. */
	atomic64_t migrated;
	/** @nmappings: live mappings.  Atomic. */
	atomic64_t nmappings;
	/**
	 * @torn_down: fence mode: the address space of the range is being
	 * torn down and the notifier zapped without waiting for the VM's
	 * jobs (uptr_invalidate_is_teardown()): snapshots of the entries that
	 * queued jobs carry must never reach the page tables.  Set once,
	 * under the domain lock and pt_lock; read under pt_lock.
	 */
	bool torn_down;
};

/**
 * struct sgpu_mapping - a GPU VA mapping of a BO
 *
 * Holds a reference on its BO until freed; freed only after the page-table
 * update that removed it ran, so the BO's pages outlive every PTE.
 */
struct sgpu_mapping {
	/** @va: the drm_gpuva, in the VM's tree while mapped. */
	struct drm_gpuva va;
	/**
	 * @bo_link: userptr: on &sgpu_ubo.mappings while mapped; in fence
	 * mode, once removed, on &sgpu_ubo.removed until freed.  Domain lock.
	 */
	struct list_head bo_link;
	/** @job_link: on a job's list of removed mappings. */
	struct list_head job_link;
	/** @read_only: PTEs without write permission.  Constant. */
	bool read_only;
	/** @zap_addr: once removed: first GPU VA whose PTEs the job zaps. */
	u64 zap_addr;
	/** @zap_range: once removed: bytes to zap. */
	u64 zap_range;
	/**
	 * @zap_pending: fence-mode userptr, removed: the job that removed it
	 * has not zapped its range yet.  Set under the domain lock before the
	 * job is queued; cleared by that job under pt_lock; read by the
	 * notifier under both (sgpu_pt_zap_removed()).
	 */
	bool zap_pending;
};

static inline struct sgpu_mapping *to_mapping(struct drm_gpuva *va)
{
	return container_of(va, struct sgpu_mapping, va);
}

/**
 * struct sgpu_pt_op - a page-table update carried by a job
 */
struct sgpu_pt_op {
	/** @link: on &sgpu_job.pt_ops. */
	struct list_head link;
	/** @va: first GPU VA. */
	u64 va;
	/** @npages: number of 4 KiB pages. */
	u64 npages;
	/** @entries: &uptr_entry_t per page to map, NULL to zap. */
	uptr_entry_t *entries;
	/** @read_only: map without write permission. */
	bool read_only;
	/** @userptr: large leaves need a covering uptr entry order. */
	bool userptr;
	/**
	 * @ubo: userptr map or rebind: the BO whose entries fill @entries.
	 * Alive while the job is: a mapping of it stays in the VM until a
	 * later job removed it and ran.
	 */
	struct sgpu_ubo *ubo;
	/** @uaddr: userptr rebind: user address of @va. */
	unsigned long uaddr;
};

enum sgpu_job_kind {
	SGPU_JOB_BIND,
	SGPU_JOB_EXEC,
};

/**
 * struct sgpu_job - a VM_BIND operation or an EXEC
 */
struct sgpu_job {
	/** @base: drm_sched job (binds, fence-mode EXEC). */
	struct drm_sched_job base;
	/** @vm: the VM (referenced). */
	struct sgpu_vm *vm;
	/** @kind: bind or exec. */
	enum sgpu_job_kind kind;
	/** @fault_mode: runs from &sgpu_vm.fault_jobs, not on drm_sched. */
	bool fault_mode;
	/** @ran: the engine executed (or cancelled) the job. */
	bool ran;
	/**
	 * @hw: engine completion of a drm_sched job, set up by run_job; NULL
	 * for a fault-mode EXEC job.
	 */
	struct sgpu_hw_fence *hw;
	/** @hw_inited: @hw was initialised (and is reference counted). */
	bool hw_inited;
	/** @sched_inited: @base needs drm_sched_job_cleanup(). */
	bool sched_inited;
	/** @cleanup: deferred release on &sgpu_device.cleanup_wq. */
	struct work_struct cleanup;
	/** @pt_ops: page-table updates run before the commands, in order. */
	struct list_head pt_ops;
	/** @removed: mappings released after the job finished. */
	struct list_head removed;
	/** @seqno: EXEC sequence number. */
	u64 seqno;
	/** @cmds: EXEC commands. */
	struct drm_sgpu_cmd *cmds;
	/** @num_cmds: number of @cmds. */
	u32 num_cmds;
	/** @in_fences: fault mode: fences to wait for before running. */
	struct dma_fence **in_fences;
	/** @num_in_fences: number of @in_fences. */
	u32 num_in_fences;
	/**
	 * @mm: fault-mode EXEC: the submitter's address space (mmgrab()),
	 * the only one whose userptr BOs its GPU faults may serve.
	 */
	struct mm_struct *mm;
	/** @next_in_fence: fault mode: first of @in_fences not waited for. */
	u32 next_in_fence;
	/** @fault_link: fault mode: on &sgpu_vm.fault_jobs. */
	struct list_head fault_link;
	/** @status: 0 or negative errno. */
	int status;
	/** @fail_cmd: failing command. */
	u32 fail_cmd;
	/** @fail_addr: failing GPU VA. */
	u64 fail_addr;
};

/* sgpu_drv.c */
extern int sgpu_default_backend;
struct sgpu_vm *sgpu_vm_lookup(struct drm_file *file, u32 id);
int sgpu_copy_syncs(struct drm_file *file, u64 uptr, u32 count,
		    struct dma_fence ***fences);
void sgpu_put_fences(struct dma_fence **fences, u32 count);

/* sgpu_vm.c */
struct sgpu_vm *sgpu_vm_create(struct sgpu_device *sdev, u32 mode);
long sgpu_vm_close_budget(void);
void sgpu_vm_close(struct sgpu_vm *vm, long *budget);
void sgpu_mapping_free(struct sgpu_mapping *m);
int sgpu_vm_bind_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file);
void sgpu_vm_query(struct sgpu_vm *vm, u64 *v);

/* sgpu_bo.c */
bool sgpu_is_ubo(struct drm_gem_object *obj);
static inline struct sgpu_ubo *to_ubo(struct drm_gem_object *obj)
{
	return container_of(obj, struct sgpu_ubo, base);
}

struct drm_gem_object *sgpu_gem_create_object(struct drm_device *drm,
					      size_t size);
int sgpu_bo_create_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file);
int sgpu_bo_mmap_offset_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file);
int sgpu_userptr_create_ioctl(struct drm_device *drm, void *data,
			      struct drm_file *file);
int sgpu_ubo_check_owner(struct sgpu_ubo *ubo);
unsigned int sgpu_ubo_populate_flags(struct sgpu_ubo *ubo);
int sgpu_ubo_populate(struct sgpu_ubo *ubo);
int sgpu_shmem_entries(struct drm_gem_object *obj, u64 offset, u64 npages,
		       uptr_entry_t *entries);
void sgpu_bo_query(struct drm_gem_object *obj, u64 *v);

/* sgpu_pt.c */
int sgpu_pt_init(struct sgpu_vm *vm);
void sgpu_pt_fini(struct sgpu_vm *vm);
int sgpu_pt_prepare(struct sgpu_vm *vm, u64 va, u64 size);
void sgpu_pt_map(struct sgpu_vm *vm, u64 va, u64 npages,
		 const uptr_entry_t *entries, bool read_only, bool userptr,
		 const struct sgpu_ubo *ubo);
void sgpu_pt_zap(struct sgpu_vm *vm, u64 va, u64 size);
void sgpu_pt_zap_removed(struct sgpu_vm *vm, struct sgpu_mapping *m);
void sgpu_pt_zap_ubo(struct sgpu_vm *vm, struct sgpu_ubo *ubo,
		     struct sgpu_mapping *m, u64 addr, u64 size, bool removed);

/**
 * struct sgpu_xlate - result of a GPU VA translation
 */
struct sgpu_xlate {
	/** @addr: DMA address, or device-private physical address. */
	u64 addr;
	/** @bytes: bytes from @addr to the end of the leaf. */
	u64 bytes;
	/** @devpriv: @addr is a device-private page. */
	bool devpriv;
};

int sgpu_pt_translate(struct sgpu_vm *vm, u64 va, bool write,
		      struct sgpu_xlate *x);

/* sgpu_job.c */
extern const struct drm_sched_backend_ops sgpu_sched_ops;
struct sgpu_job *sgpu_job_alloc(struct sgpu_vm *vm, enum sgpu_job_kind kind);
void sgpu_job_free(struct sgpu_job *job);
void sgpu_fault_job_queue(struct sgpu_job *job);
void sgpu_fault_work(struct work_struct *work);
int sgpu_job_sched_init(struct sgpu_job *job, struct drm_file *file,
			struct dma_fence **fences, u32 count);
struct sgpu_pt_op *sgpu_job_add_pt_op(struct sgpu_job *job, u64 va,
				      u64 npages, uptr_entry_t *entries,
				      bool read_only, bool userptr);
int sgpu_exec_ioctl(struct drm_device *drm, void *data,
		    struct drm_file *file);
int sgpu_wait_ioctl(struct drm_device *drm, void *data,
		    struct drm_file *file);

/* sgpu_devmem.c */
int sgpu_devmem_init(struct sgpu_device *sdev, unsigned long size);
void sgpu_devmem_fini(struct sgpu_device *sdev);
void *sgpu_devmem_vaddr(struct sgpu_device *sdev, u64 phys);
u64 sgpu_devmem_pages(struct sgpu_device *sdev, bool used);
int sgpu_migrate_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file);

#endif /* _SGPU_DRV_H_ */
