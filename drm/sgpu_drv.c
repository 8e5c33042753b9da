// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The uptr authors
 */

/**
 * DOC: sgpu device
 *
 * The module registers a platform device "sgpu" and its driver.  Probe
 * gives the device a 64-bit DMA mask (dma_coerce_mask_and_coherent()), so
 * that DMA mappings are dma-direct with no swiotlb bounce, and checks that
 * a mapped page's DMA address leads back to the page (dma_to_phys()): the
 * engine relies on it to reach system memory through PTEs holding DMA
 * addresses.  Then it creates the DRM render device, the submit, fault and
 * cleanup workqueues, the engine's drm_sched scheduler and, if configured,
 * the device-private memory.  These are per device, not per VM: a VM costs
 * memory only (charged to the memory cgroup), no workqueue or kthread.
 *
 * Per open file there is an xarray of at most %SGPU_MAX_VMS_PER_FILE VMs
 * (ids from 1, reused).  VM_DESTROY and closing the file close the VMs
 * (sgpu_vm_close()).
 *
 * The driver has no sysfs bind/unbind (suppress_bind_attrs): the device
 * goes away only when the module is removed, which an open file, a mapped
 * BO or an exported dma-buf prevents (each holds the module).  So the
 * device outlives every VM, job and ioctl, and sgpu needs no
 * drm_dev_enter()/drm_dev_unplug(): unplugging a software device whose
 * engine, page tables and device memory live in kernel memory that VMs
 * still use would need every ioctl, the engine, the GPU fault handler and
 * the device-private page callbacks guarded, for no user.  drm_sched
 * fences exported as sync_files name the device's scheduler: like every
 * driver's fences in 6.12, they must not outlive the module (see
 * docs/uapi.rst).
 *
 * Module parameters: ``default_backend`` (``pin`` or ``fault``) for
 * userptr BOs created without an explicit backend, and ``devmem_mb``, the
 * size of the device-private region (0: none).
 */

#include <linux/dma-direct.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/error-injection.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include <drm/drm_debugfs.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_syncobj.h>

#include "sgpu_drv.h"

static char *default_backend = "fault";
module_param(default_backend, charp, 0444);
MODULE_PARM_DESC(default_backend,
		 "userptr backend when none is asked for: pin or fault (default fault)");

static unsigned int devmem_mb = 16;
module_param(devmem_mb, uint, 0444);
MODULE_PARM_DESC(devmem_mb,
		 "device-private memory in MiB, 0 for none (default 16)");

static bool test_hooks;
module_param(test_hooks, bool, 0444);
MODULE_PARM_DESC(test_hooks,
		 "test only, taints the kernel: debugfs knobs that fail engine steps or make the engine touch freed memory on purpose (default off)");

/* enum uptr_backend of default_backend, set at module load. */
int sgpu_default_backend;

static struct platform_device *sgpu_pdev;

/**
 * sgpu_vm_lookup() - find a VM of a file and take a reference
 * @file: the file
 * @id: the vm_id
 *
 * Context: Any context.
 * Return: the VM or NULL.
 */
struct sgpu_vm *sgpu_vm_lookup(struct drm_file *file, u32 id)
{
	struct sgpu_file *sf = file->driver_priv;
	struct sgpu_vm *vm;

	xa_lock(&sf->vms);
	vm = xa_load(&sf->vms, id);
	if (vm)
		sgpu_vm_get(vm);
	xa_unlock(&sf->vms);
	return vm;
}

/**
 * sgpu_put_fences() - drop the fences of an array (not the array)
 * @fences: the array, may be NULL; NULL entries are skipped
 * @count: entries
 *
 * Context: Any context.
 */
void sgpu_put_fences(struct dma_fence **fences, u32 count)
{
	u32 i;

	if (!fences)
		return;
	for (i = 0; i < count; i++) {
		dma_fence_put(fences[i]);
		fences[i] = NULL;
	}
}

/**
 * sgpu_copy_syncs() - resolve an array of in-syncs to fences
 * @file: the file owning the syncobjs
 * @uptr: user pointer to @count &struct drm_sgpu_sync
 * @count: number of entries, at most %SGPU_MAX_SYNCS
 * @fences: set to a kmalloc'ed array of @count fence references, or NULL
 *	when @count is 0
 *
 * Context: Process context.
 * Return: 0; -EINVAL for too many entries, flags, points or a syncobj
 * without fence; -ENOENT for an unknown handle; -EFAULT; -ENOMEM.
 */
int sgpu_copy_syncs(struct drm_file *file, u64 uptr, u32 count,
		    struct dma_fence ***fences)
{
	struct drm_sgpu_sync *syncs;
	struct dma_fence **f;
	u32 i;
	int ret = 0;

	*fences = NULL;
	if (!count)
		return 0;
	if (count > SGPU_MAX_SYNCS)
		return -EINVAL;
	syncs = memdup_array_user(u64_to_user_ptr(uptr), count,
				  sizeof(*syncs));
	if (IS_ERR(syncs))
		return PTR_ERR(syncs);
	f = kcalloc(count, sizeof(*f), GFP_KERNEL);
	if (!f) {
		ret = -ENOMEM;
		goto out_free_syncs;
	}
	for (i = 0; i < count; i++) {
		if (syncs[i].flags || syncs[i].point) {
			ret = -EINVAL;
			break;
		}
		ret = drm_syncobj_find_fence(file, syncs[i].handle, 0, 0, &f[i]);
		if (ret)
			break;
	}
	if (ret) {
		sgpu_put_fences(f, count);
		kfree(f);
	} else {
		*fences = f;
	}
out_free_syncs:
	kfree(syncs);
	return ret;
}
ALLOW_ERROR_INJECTION(sgpu_copy_syncs, ERRNO);

static int sgpu_vm_create_ioctl(struct drm_device *drm, void *data,
				struct drm_file *file)
{
	struct drm_sgpu_vm_create *args = data;
	struct sgpu_file *sf = file->driver_priv;
	struct sgpu_vm *vm;
	long budget;
	int ret;

	if (args->flags & ~SGPU_VM_CREATE_FLAGS)
		return -EINVAL;
	vm = sgpu_vm_create(to_sgpu(drm), args->flags & SGPU_VM_MODE_FAULT);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	/* Ids 1..SGPU_MAX_VMS_PER_FILE: the id space is the limit. */
	ret = xa_alloc(&sf->vms, &args->vm_id, vm,
		       XA_LIMIT(1, SGPU_MAX_VMS_PER_FILE), GFP_KERNEL_ACCOUNT);
	if (ret) {
		budget = 0;	/* no job yet */
		sgpu_vm_close(vm, &budget);
		return ret == -EBUSY ? -ENOSPC : ret;
	}
	return 0;
}

static int sgpu_vm_destroy_ioctl(struct drm_device *drm, void *data,
				 struct drm_file *file)
{
	struct drm_sgpu_vm_destroy *args = data;
	struct sgpu_file *sf = file->driver_priv;
	struct sgpu_vm *vm;
	long budget;

	if (args->pad)
		return -EINVAL;
	vm = xa_erase(&sf->vms, args->vm_id);
	if (!vm)
		return -ENOENT;
	budget = sgpu_vm_close_budget();
	sgpu_vm_close(vm, &budget);
	return 0;
}

/* The largest counter set; a QUERY copies at most that many. */
#define SGPU_QUERY_MAX	SGPU_VM_COUNT
static_assert(SGPU_DEV_COUNT <= SGPU_QUERY_MAX);
static_assert(SGPU_BO_COUNT <= SGPU_QUERY_MAX);

static int sgpu_query_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct drm_sgpu_query *args = data;
	struct sgpu_device *sdev = to_sgpu(drm);
	u64 v[SGPU_QUERY_MAX] = { };
	struct drm_gem_object *obj;
	struct sgpu_vm *vm;
	unsigned int i, n;

	if (args->pad)
		return -EINVAL;
	switch (args->type) {
	case SGPU_QUERY_DEVICE:
		if (args->id)
			return -EINVAL;
		n = SGPU_DEV_COUNT;
		for (i = 0; i < n; i++)
			v[i] = atomic64_read(&sdev->live[i]);
		v[SGPU_DEV_PINNED_PAGES] = uptr_pinned_pages_total();
		v[SGPU_DEV_DEVMEM_PAGES] = sgpu_devmem_pages(sdev, false);
		v[SGPU_DEV_DEVMEM_USED] = sgpu_devmem_pages(sdev, true);
		break;
	case SGPU_QUERY_VM:
		vm = sgpu_vm_lookup(file, args->id);
		if (!vm)
			return -ENOENT;
		n = SGPU_VM_COUNT;
		sgpu_vm_query(vm, v);
		sgpu_vm_put(vm);
		break;
	case SGPU_QUERY_BO:
		obj = drm_gem_object_lookup(file, args->id);
		if (!obj)
			return -ENOENT;
		n = SGPU_BO_COUNT;
		sgpu_bo_query(obj, v);
		drm_gem_object_put(obj);
		break;
	default:
		return -EINVAL;
	}
	if (copy_to_user(u64_to_user_ptr(args->values), v,
			 min(args->count, n) * sizeof(u64)))
		return -EFAULT;
	args->count = n;
	return 0;
}

static int sgpu_open(struct drm_device *drm, struct drm_file *file)
{
	struct sgpu_file *sf;

	sf = kzalloc(sizeof(*sf), GFP_KERNEL);
	if (!sf)
		return -ENOMEM;
	xa_init_flags(&sf->vms, XA_FLAGS_ALLOC1);
	file->driver_priv = sf;
	return 0;
}

static void sgpu_postclose(struct drm_device *drm, struct drm_file *file)
{
	struct sgpu_file *sf = file->driver_priv;
	long budget = sgpu_vm_close_budget();
	struct sgpu_vm *vm;
	unsigned long id;

	/* One budget for all the VMs of the file: an exit waits 10 s at most. */
	xa_for_each(&sf->vms, id, vm) {
		xa_erase(&sf->vms, id);
		sgpu_vm_close(vm, &budget);
	}
	xa_destroy(&sf->vms);
	kfree(sf);
}

static const struct drm_ioctl_desc sgpu_ioctls[] = {
	DRM_IOCTL_DEF_DRV(SGPU_VM_CREATE, sgpu_vm_create_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SGPU_VM_DESTROY, sgpu_vm_destroy_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SGPU_BO_CREATE, sgpu_bo_create_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SGPU_BO_MMAP_OFFSET, sgpu_bo_mmap_offset_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SGPU_USERPTR_CREATE, sgpu_userptr_create_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SGPU_VM_BIND, sgpu_vm_bind_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SGPU_EXEC, sgpu_exec_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SGPU_WAIT, sgpu_wait_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SGPU_MIGRATE, sgpu_migrate_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(SGPU_QUERY, sgpu_query_ioctl, DRM_RENDER_ALLOW),
};

DEFINE_DRM_GEM_FOPS(sgpu_fops);

static const struct drm_driver sgpu_drm_driver = {
	.driver_features = DRIVER_GEM | DRIVER_GEM_GPUVA | DRIVER_SYNCOBJ |
			   DRIVER_RENDER,
	.open = sgpu_open,
	.postclose = sgpu_postclose,
	.ioctls = sgpu_ioctls,
	.num_ioctls = ARRAY_SIZE(sgpu_ioctls),
	.fops = &sgpu_fops,
	.gem_create_object = sgpu_gem_create_object,
	.name = "sgpu",
	.desc = "software GPU for userptr testing",
	.date = "20260101",
	.major = 1,
	.minor = 0,
};

/* Names of the SGPU_DEV_* counters, in debugfs. */
static const char *const sgpu_dev_counter_names[SGPU_DEV_COUNT] = {
	[SGPU_DEV_LIVE_VMS] = "live_vms",
	[SGPU_DEV_LIVE_BOS] = "live_bos",
	[SGPU_DEV_LIVE_USERPTR_BOS] = "live_userptr_bos",
	[SGPU_DEV_LIVE_MAPPINGS] = "live_mappings",
	[SGPU_DEV_LIVE_JOBS] = "live_jobs",
	[SGPU_DEV_PINNED_PAGES] = "pinned_pages",
	[SGPU_DEV_DEVMEM_PAGES] = "devmem_pages",
	[SGPU_DEV_DEVMEM_USED] = "devmem_used",
	[SGPU_DEV_PT_PAGES] = "pt_pages",
	[SGPU_DEV_CPU_MIGRATIONS] = "cpu_migrations",
};

/*
 * dri/<minor>/sgpu: one "name value" line per device counter (the values
 * of SGPU_QUERY_DEVICE), then one "vm <n>:" line per live VM with its
 * SGPU_VM_* counters in index order.
 */
static int sgpu_debugfs_show(struct seq_file *m, void *data)
{
	struct drm_debugfs_entry *entry = m->private;
	struct sgpu_device *sdev = to_sgpu(entry->dev);
	u64 v[SGPU_VM_COUNT];
	struct sgpu_vm *vm;
	unsigned int i, n = 0;

	for (i = 0; i < SGPU_DEV_COUNT; i++)
		v[i] = atomic64_read(&sdev->live[i]);
	v[SGPU_DEV_PINNED_PAGES] = uptr_pinned_pages_total();
	v[SGPU_DEV_DEVMEM_PAGES] = sgpu_devmem_pages(sdev, false);
	v[SGPU_DEV_DEVMEM_USED] = sgpu_devmem_pages(sdev, true);
	for (i = 0; i < SGPU_DEV_COUNT; i++)
		seq_printf(m, "%s %llu\n", sgpu_dev_counter_names[i], v[i]);
	mutex_lock(&sdev->vms_lock);
	list_for_each_entry(vm, &sdev->vms, dev_link) {
		sgpu_vm_query(vm, v);
		seq_printf(m, "vm %u:", n++);
		for (i = 0; i < SGPU_VM_COUNT; i++)
			seq_printf(m, " %llu", v[i]);
		seq_putc(m, '\n');
	}
	mutex_unlock(&sdev->vms_lock);
	return 0;
}

/*
 * The engine turns PTE DMA addresses back into pages: make sure DMA
 * mapping is the identity-like dma-direct one (no IOMMU, no bounce).
 */
static int sgpu_check_dma(struct device *dev)
{
	struct page *page;
	dma_addr_t dma;
	int ret = 0;

	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	dma = dma_map_page(dev, page, 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
	if (dma_mapping_error(dev, dma)) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (dma_to_phys(dev, dma) != page_to_phys(page)) {
		dev_err(dev, "DMA is not dma-direct: the engine cannot work\n");
		ret = -ENODEV;
	}
	dma_unmap_page(dev, dma, PAGE_SIZE, DMA_BIDIRECTIONAL);
out_free:
	__free_page(page);
	return ret;
}

static int sgpu_probe(struct platform_device *pdev)
{
	struct drm_sched_init_args sched_args = {
		.ops = &sgpu_sched_ops,
		.num_rqs = 1,
		.credit_limit = 1,
		.timeout = MAX_SCHEDULE_TIMEOUT,
		.name = "sgpu",
	};
	struct sgpu_device *sdev;
	int ret;

	ret = dma_coerce_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	/* shmem sg tables have segments of any length. */
	dma_set_max_seg_size(&pdev->dev, UINT_MAX);
	ret = sgpu_check_dma(&pdev->dev);
	if (ret)
		return ret;

	sdev = devm_drm_dev_alloc(&pdev->dev, &sgpu_drm_driver,
				  struct sgpu_device, drm);
	if (IS_ERR(sdev))
		return PTR_ERR(sdev);
	sdev->dev = &pdev->dev;
	mutex_init(&sdev->vms_lock);
	INIT_LIST_HEAD(&sdev->vms);

	/*
	 * The scheduler's submit worker runs the jobs and signals fences that
	 * reclaim may wait for.  Not drm_sched's default ordered queue: an
	 * ordered queue's worker may start on any CPU, an idle one rather than
	 * the submitter's, and that cross-CPU wake-up (and the one back to the
	 * waiter) was most of a short job's round trip.  An unbound queue
	 * starts it near the submitter.  Its run_job and free_job work items
	 * may then run concurrently, which drm_sched allows; run_job alone
	 * never runs twice at once (a work item is not reentrant).
	 */
	sdev->submit_wq = alloc_workqueue("sgpu-submit",
					  WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!sdev->submit_wq)
		return -ENOMEM;
	sdev->cleanup_wq = alloc_workqueue("sgpu-cleanup", WQ_UNBOUND, 0);
	if (!sdev->cleanup_wq) {
		ret = -ENOMEM;
		goto err_destroy_submit;
	}
	/* Fault-mode completion is no dma-fence: reclaim never waits for it. */
	sdev->fault_wq = alloc_workqueue("sgpu-fault", WQ_UNBOUND, 0);
	if (!sdev->fault_wq) {
		ret = -ENOMEM;
		goto err_destroy_cleanup;
	}
	/*
	 * One engine: one scheduler.  Credit limit 1: jobs run one at a time,
	 * in order, as on a GPU with one ring.
	 */
	sched_args.dev = sdev->dev;
	sched_args.submit_wq = sdev->submit_wq;
	ret = drm_sched_init(&sdev->sched, &sched_args);
	if (ret)
		goto err_destroy_fault;

	ret = sgpu_devmem_init(sdev, (unsigned long)devmem_mb << 20);
	if (ret)
		goto err_fini_sched;

	drm_debugfs_add_file(&sdev->drm, "sgpu", sgpu_debugfs_show, NULL);
	if (test_hooks) {
		/* Test hooks change what the device does: say so. */
		add_taint(TAINT_TEST, LOCKDEP_STILL_OK);
		/* The fault-injection sweep's, see sgpu_job_execute(). */
		debugfs_create_atomic_t("engine_fail_nth", 0600,
					sdev->drm.debugfs_root,
					&sdev->engine_fail_nth);
		debugfs_create_atomic_t("engine_fail_nth_left", 0600,
					sdev->drm.debugfs_root,
					&sdev->engine_fail_nth_left);
		/* See sgpu_test_uaf_read(). */
		debugfs_create_atomic_t("test_uaf_reads", 0600,
					sdev->drm.debugfs_root,
					&sdev->test_uaf_reads);
	}
	ret = drm_dev_register(&sdev->drm, 0);
	if (ret)
		goto err_fini_devmem;
	platform_set_drvdata(pdev, sdev);
	return 0;

err_fini_devmem:
	sgpu_devmem_fini(sdev);
err_fini_sched:
	drm_sched_fini(&sdev->sched);
err_destroy_fault:
	destroy_workqueue(sdev->fault_wq);
err_destroy_cleanup:
	destroy_workqueue(sdev->cleanup_wq);
err_destroy_submit:
	destroy_workqueue(sdev->submit_wq);
	return ret;
}

/*
 * Objects that only live while a file or a job holds them: every one of
 * them is gone once the device can be removed.
 */
static const unsigned int sgpu_dev_zero_at_remove[] = {
	SGPU_DEV_LIVE_VMS, SGPU_DEV_LIVE_BOS, SGPU_DEV_LIVE_USERPTR_BOS,
	SGPU_DEV_LIVE_MAPPINGS, SGPU_DEV_LIVE_JOBS, SGPU_DEV_PINNED_PAGES,
	SGPU_DEV_DEVMEM_USED, SGPU_DEV_PT_PAGES,
};

static void sgpu_remove(struct platform_device *pdev)
{
	struct sgpu_device *sdev = platform_get_drvdata(pdev);
	unsigned int i, c;

	/* No file is open (each holds the module): no VM, no job is left. */
	drm_dev_unregister(&sdev->drm);
	sgpu_devmem_fini(sdev);
	drm_sched_fini(&sdev->sched);
	destroy_workqueue(sdev->fault_wq);
	destroy_workqueue(sdev->cleanup_wq);
	destroy_workqueue(sdev->submit_wq);
	mutex_destroy(&sdev->vms_lock);
	/* A leak the object counters saw: the kernel log must say so. */
	for (i = 0; i < ARRAY_SIZE(sgpu_dev_zero_at_remove); i++) {
		c = sgpu_dev_zero_at_remove[i];
		WARN(atomic64_read(&sdev->live[c]), "sgpu: %lld %s at removal\n",
		     (long long)atomic64_read(&sdev->live[c]),
		     sgpu_dev_counter_names[c]);
	}
}

static struct platform_driver sgpu_platform_driver = {
	.probe = sgpu_probe,
	.remove_new = sgpu_remove,
	.driver = {
		.name = "sgpu",
		/* The device lives as long as the module: see DOC above. */
		.suppress_bind_attrs = true,
	},
};

static int __init sgpu_init(void)
{
	int ret;

	if (sysfs_streq(default_backend, "pin"))
		sgpu_default_backend = UPTR_BACKEND_PIN;
	else if (sysfs_streq(default_backend, "fault"))
		sgpu_default_backend = UPTR_BACKEND_FAULT;
	else
		return -EINVAL;

	ret = platform_driver_register(&sgpu_platform_driver);
	if (ret)
		return ret;
	sgpu_pdev = platform_device_register_simple("sgpu", PLATFORM_DEVID_NONE,
						    NULL, 0);
	if (IS_ERR(sgpu_pdev)) {
		platform_driver_unregister(&sgpu_platform_driver);
		return PTR_ERR(sgpu_pdev);
	}
	if (!platform_get_drvdata(sgpu_pdev)) {
		/* Probe failed: the reason is in the log. */
		platform_device_unregister(sgpu_pdev);
		platform_driver_unregister(&sgpu_platform_driver);
		return -ENODEV;
	}
	return 0;
}

static void __exit sgpu_exit(void)
{
	platform_device_unregister(sgpu_pdev);
	platform_driver_unregister(&sgpu_platform_driver);
}

module_init(sgpu_init);
module_exit(sgpu_exit);

MODULE_DESCRIPTION("sgpu: software GPU exercising userptr (uptr) in fence and fault VMs");
MODULE_LICENSE("GPL");
