// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The uptr authors
 */

/**
 * DOC: sgpu device memory
 *
 * With CONFIG_DEVICE_PRIVATE, sgpu has "VRAM": a free physical address
 * range (request_free_mem_region()) turned into MEMORY_DEVICE_PRIVATE
 * struct pages by memremap_pages(), with the &sgpu_device as pgmap owner.
 * The CPU cannot address these pages; their contents live in a backing
 * store of kernel memory indexed by device pfn (sgpu_devmem_vaddr()), which
 * is what the engine reads and writes when a PTE has the device-private
 * flag.
 *
 * DRM_IOCTL_SGPU_MIGRATE moves pages of a userptr BO in either direction
 * with migrate_vma_setup()/pages()/finalize(), copying through the backing
 * store.  The uptr domain owner of every VM is the same &sgpu_device, so
 * hmm_range_fault() of the FAULT backend reports these pages (uptr entries
 * with %UPTR_ENTRY_DEVICE_PRIVATE) instead of migrating them back; a CPU
 * access faults into sgpu_devmem_migrate_to_ram(); GUP (PIN backend) does
 * the same through the fault path.  At module unload every page still in
 * use is evicted back to system memory, since the pgmap callbacks live in
 * this module.
 *
 * Without CONFIG_DEVICE_PRIVATE the file only provides stubs: no device
 * memory, MIGRATE returns -EOPNOTSUPP, userptr works unchanged.
 */

#include <linux/error-injection.h>
#include <linux/kasan-checks.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>

#include "sgpu_drv.h"

/* Pages migrated per migrate_vma_setup() call. */
#define SGPU_MIGRATE_BATCH	64

#if IS_ENABLED(CONFIG_DEVICE_PRIVATE)

/**
 * struct sgpu_devmem - device-private memory of an sgpu device
 */
struct sgpu_devmem {
	/** @sdev: the device (pgmap owner). */
	struct sgpu_device *sdev;
	/** @pagemap: the MEMORY_DEVICE_PRIVATE pagemap. */
	struct dev_pagemap pagemap;
	/** @res: the physical address range. */
	struct resource *res;
	/** @pfn_first: first device pfn. */
	unsigned long pfn_first;
	/** @npages: number of device pages. */
	unsigned long npages;
	/** @backing: contents of the device pages, @npages pages. */
	void *backing;
	/** @lock: protects @free. */
	spinlock_t lock;
	/** @free: free device pages, linked through zone_device_data. */
	struct page *free;
	/** @used: pages allocated.  Atomic. */
	atomic64_t used;
};

static struct sgpu_devmem *sgpu_page_devmem(struct page *page)
{
	return container_of(page->pgmap, struct sgpu_devmem, pagemap);
}

static void *sgpu_page_backing(struct sgpu_devmem *dm, struct page *page)
{
	return dm->backing + ((page_to_pfn(page) - dm->pfn_first) << PAGE_SHIFT);
}

/*
 * The device's migration copy of one page.  As for the engine's accesses
 * (sgpu_job.c), KASAN is told explicitly: on x86 (GENERIC_ENTRY) built by
 * gcc 12 (no KASAN mem-intrinsic prefix), memcpy() is not checked.
 */
static void sgpu_devmem_copy(void *dst, const void *src)
{
	kasan_check_read(src, PAGE_SIZE);
	kasan_check_write(dst, PAGE_SIZE);
	memcpy(dst, src, PAGE_SIZE);
}

static bool sgpu_page_is_ours(struct sgpu_devmem *dm, struct page *page)
{
	return page && is_device_private_page(page) &&
	       page->pgmap == &dm->pagemap;
}

/*
 * A free device page, locked with one reference, or NULL.  Never inlined:
 * fail_function can fail it (docs/design.rst, "Fault injection").
 */
static noinline struct page *sgpu_devmem_alloc(struct sgpu_devmem *dm)
{
	struct page *page;

	spin_lock(&dm->lock);
	page = dm->free;
	if (page)
		dm->free = page->zone_device_data;
	spin_unlock(&dm->lock);
	if (!page)
		return NULL;
	page->zone_device_data = NULL;
	zone_device_page_init(page);
	atomic64_inc(&dm->used);
	return page;
}
ALLOW_ERROR_INJECTION(sgpu_devmem_alloc, NULL);

/* dev_pagemap_ops.page_free: the last reference is gone; any context. */
static void sgpu_devmem_page_free(struct page *page)
{
	struct sgpu_devmem *dm = sgpu_page_devmem(page);

	spin_lock(&dm->lock);
	page->zone_device_data = dm->free;
	dm->free = page;
	spin_unlock(&dm->lock);
	atomic64_dec(&dm->used);
}

/* A system page for @addr of @vma holding the contents of @spage. */
static struct page *sgpu_devmem_copy_back(struct sgpu_devmem *dm,
					  struct page *spage,
					  struct vm_area_struct *vma,
					  unsigned long addr)
{
	struct page *dpage;

	if (vma)
		dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, addr);
	else
		dpage = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOFAIL);
	if (!dpage)
		return NULL;
	lock_page(dpage);
	sgpu_devmem_copy(page_address(dpage), sgpu_page_backing(dm, spage));
	return dpage;
}

static vm_fault_t sgpu_devmem_migrate_to_ram(struct vm_fault *vmf)
{
	struct sgpu_devmem *dm = sgpu_page_devmem(vmf->page);
	unsigned long src = 0, dst = 0;
	struct migrate_vma args = {
		.vma = vmf->vma,
		.start = ALIGN_DOWN(vmf->address, PAGE_SIZE),
		.end = ALIGN_DOWN(vmf->address, PAGE_SIZE) + PAGE_SIZE,
		.src = &src,
		.dst = &dst,
		.pgmap_owner = dm->sdev,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = vmf->page,
	};
	struct page *spage, *dpage;

	if (migrate_vma_setup(&args))
		return VM_FAULT_SIGBUS;
	spage = migrate_pfn_to_page(src);
	if ((src & MIGRATE_PFN_MIGRATE) && sgpu_page_is_ours(dm, spage)) {
		dpage = sgpu_devmem_copy_back(dm, spage, vmf->vma, args.start);
		if (dpage) {
			dst = migrate_pfn(page_to_pfn(dpage));
			if (src & MIGRATE_PFN_WRITE)
				dst |= MIGRATE_PFN_WRITE;
		}
	}
	migrate_vma_pages(&args);
	migrate_vma_finalize(&args);
	if (dst)
		atomic64_inc(&dm->sdev->live[SGPU_DEV_CPU_MIGRATIONS]);
	return dst || !(src & MIGRATE_PFN_MIGRATE) ? 0 : VM_FAULT_OOM;
}

static const struct dev_pagemap_ops sgpu_devmem_ops = {
	.page_free = sgpu_devmem_page_free,
	.migrate_to_ram = sgpu_devmem_migrate_to_ram,
};

/**
 * sgpu_devmem_init() - create the device-private memory
 * @sdev: the device
 * @size: bytes, 0 for none
 *
 * Context: Process context (probe).
 * Return: 0 or negative errno.
 */
int sgpu_devmem_init(struct sgpu_device *sdev, unsigned long size)
{
	struct sgpu_devmem *dm;
	unsigned long i;
	void *ptr;
	int ret;

	size = ALIGN(size, SZ_2M);
	if (!size)
		return 0;
	dm = kzalloc(sizeof(*dm), GFP_KERNEL);
	if (!dm)
		return -ENOMEM;
	dm->sdev = sdev;
	spin_lock_init(&dm->lock);
	dm->npages = size >> PAGE_SHIFT;
	dm->backing = vzalloc(size);
	ret = -ENOMEM;
	if (!dm->backing)
		goto err_free_dm;

	dm->res = request_free_mem_region(&iomem_resource, size, "sgpu");
	if (IS_ERR(dm->res)) {
		ret = PTR_ERR(dm->res);
		goto err_free_backing;
	}
	dm->pagemap.type = MEMORY_DEVICE_PRIVATE;
	dm->pagemap.range.start = dm->res->start;
	dm->pagemap.range.end = dm->res->end;
	dm->pagemap.nr_range = 1;
	dm->pagemap.ops = &sgpu_devmem_ops;
	dm->pagemap.owner = sdev;
	ptr = memremap_pages(&dm->pagemap, numa_node_id());
	if (IS_ERR(ptr)) {
		ret = PTR_ERR(ptr);
		goto err_release_region;
	}
	dm->pfn_first = dm->res->start >> PAGE_SHIFT;
	for (i = dm->npages; i-- > 0; ) {
		struct page *page = pfn_to_page(dm->pfn_first + i);

		page->zone_device_data = dm->free;
		dm->free = page;
	}
	sdev->devmem = dm;
	return 0;

err_release_region:
	release_mem_region(dm->res->start, resource_size(dm->res));
err_free_backing:
	vfree(dm->backing);
err_free_dm:
	kfree(dm);
	return ret;
}

/* Move every device page still in use back to system memory. */
static void sgpu_devmem_evict(struct sgpu_devmem *dm)
{
	unsigned long src[SGPU_MIGRATE_BATCH], dst[SGPU_MIGRATE_BATCH];
	unsigned long first, n, i;
	struct page *spage, *dpage;

	for (first = 0; first < dm->npages; first += n) {
		n = min_t(unsigned long, SGPU_MIGRATE_BATCH,
			  dm->npages - first);
		memset(dst, 0, sizeof(dst));
		migrate_device_range(src, dm->pfn_first + first, n);
		for (i = 0; i < n; i++) {
			spage = migrate_pfn_to_page(src[i]);
			if (!(src[i] & MIGRATE_PFN_MIGRATE) || !spage)
				continue;
			dpage = sgpu_devmem_copy_back(dm, spage, NULL, 0);
			dst[i] = migrate_pfn(page_to_pfn(dpage));
		}
		migrate_device_pages(src, dst, n);
		migrate_device_finalize(src, dst, n);
	}
}

/**
 * sgpu_devmem_fini() - destroy the device-private memory
 * @sdev: the device, with no open file
 *
 * Context: Process context (remove).
 */
void sgpu_devmem_fini(struct sgpu_device *sdev)
{
	struct sgpu_devmem *dm = sdev->devmem;

	if (!dm)
		return;
	sgpu_devmem_evict(dm);
	memunmap_pages(&dm->pagemap);
	release_mem_region(dm->res->start, resource_size(dm->res));
	vfree(dm->backing);
	kfree(dm);
	sdev->devmem = NULL;
}

/**
 * sgpu_devmem_vaddr() - backing store of a device-private address
 * @sdev: the device
 * @phys: physical address inside the device-private range
 *
 * Context: Any context.
 * Return: the kernel address holding the byte at @phys, or NULL if @phys
 * is not device memory of @sdev.
 */
void *sgpu_devmem_vaddr(struct sgpu_device *sdev, u64 phys)
{
	struct sgpu_devmem *dm = sdev->devmem;
	unsigned long idx;

	if (!dm)
		return NULL;
	idx = (phys >> PAGE_SHIFT) - dm->pfn_first;
	if (idx >= dm->npages)
		return NULL;
	return dm->backing + (idx << PAGE_SHIFT) + offset_in_page(phys);
}

/**
 * sgpu_devmem_pages() - size or use of the device memory
 * @sdev: the device
 * @used: count pages in use instead of all pages
 *
 * Context: Any context.
 * Return: a number of pages.
 */
u64 sgpu_devmem_pages(struct sgpu_device *sdev, bool used)
{
	struct sgpu_devmem *dm = sdev->devmem;

	if (!dm)
		return 0;
	return used ? atomic64_read(&dm->used) : dm->npages;
}

/* Migrate one batch inside one VMA; returns pages moved or -errno. */
static long sgpu_migrate_batch(struct sgpu_devmem *dm,
			       struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, bool to_device)
{
	unsigned long src[SGPU_MIGRATE_BATCH] = { },
		      dst[SGPU_MIGRATE_BATCH] = { };
	struct migrate_vma args = {
		.vma = vma,
		.start = start,
		.end = end,
		.src = src,
		.dst = dst,
		.pgmap_owner = dm->sdev,
		.flags = to_device ? MIGRATE_VMA_SELECT_SYSTEM :
				     MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
	};
	unsigned long i, n = (end - start) >> PAGE_SHIFT;
	struct page *spage, *dpage;
	long moved = 0;
	bool full = false;
	int ret;

	ret = migrate_vma_setup(&args);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		spage = migrate_pfn_to_page(src[i]);
		if (!(src[i] & MIGRATE_PFN_MIGRATE) || !spage)
			continue;
		if (to_device) {
			if (is_zone_device_page(spage))
				continue;
			dpage = sgpu_devmem_alloc(dm);
			if (!dpage) {
				full = true;
				break;
			}
			sgpu_devmem_copy(sgpu_page_backing(dm, dpage),
					 page_address(spage));
		} else {
			if (!sgpu_page_is_ours(dm, spage))
				continue;
			dpage = sgpu_devmem_copy_back(dm, spage, vma,
						      start + (i << PAGE_SHIFT));
			if (!dpage) {
				full = true;
				break;
			}
		}
		dst[i] = migrate_pfn(page_to_pfn(dpage));
		if (src[i] & MIGRATE_PFN_WRITE)
			dst[i] |= MIGRATE_PFN_WRITE;
	}
	migrate_vma_pages(&args);
	for (i = 0; i < n; i++)
		if (dst[i] && (src[i] & MIGRATE_PFN_MIGRATE))
			moved++;
	migrate_vma_finalize(&args);
	return full && !moved ? -ENOMEM : moved;
}

static long sgpu_migrate_range(struct sgpu_devmem *dm, struct mm_struct *mm,
			       unsigned long start, unsigned long end,
			       bool to_device)
{
	struct vm_area_struct *vma;
	unsigned long addr = start, next;
	long total = 0, moved;

	mmap_read_lock(mm);
	while (addr < end) {
		/* A hole costs one lookup, not one step per page. */
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start >= end)
			break;
		if (vma->vm_start > addr)
			addr = vma->vm_start;
		/*
		 * Only anonymous pages can move.  Skip what migrate_vma
		 * refuses (hugetlb, VM_IO/VM_PFNMAP/VM_MIXEDMAP, DAX) and
		 * shared mappings, which hold no anonymous page: walking
		 * those would only invalidate every mirror of the range.
		 */
		if (is_vm_hugetlb_page(vma) || (vma->vm_flags & VM_SPECIAL) ||
		    vma_is_dax(vma) || (vma->vm_flags & VM_SHARED)) {
			addr = min(end, vma->vm_end);
			continue;
		}
		next = min3(end, vma->vm_end,
			    addr + (SGPU_MIGRATE_BATCH << PAGE_SHIFT));
		moved = sgpu_migrate_batch(dm, vma, addr, next, to_device);
		if (moved < 0) {
			if (!total)
				total = moved;
			break;
		}
		total += moved;
		addr = next;
		/* Up to 4M pages in 64-page batches: stay preemptible. */
		if (fatal_signal_pending(current)) {
			if (!total)
				total = -EINTR;
			break;
		}
		cond_resched();
	}
	mmap_read_unlock(mm);
	return total;
}

/**
 * sgpu_migrate_ioctl() - DRM_IOCTL_SGPU_MIGRATE
 * @drm: the device
 * @data: &struct drm_sgpu_migrate
 * @file: the caller
 *
 * Context: Process context; takes mmap_lock for reading (no sgpu lock
 * held), the notifiers of the range run inside.
 * Return: 0 or negative errno, see docs/uapi.rst.
 */
int sgpu_migrate_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file)
{
	struct drm_sgpu_migrate *args = data;
	struct sgpu_device *sdev = to_sgpu(drm);
	bool to_device = args->direction == SGPU_MIGRATE_TO_DEVICE;
	struct drm_gem_object *obj;
	struct sgpu_ubo *ubo;
	unsigned long start;
	u64 end;
	long moved;
	int ret;

	if (args->direction > SGPU_MIGRATE_TO_SYSTEM || !args->size ||
	    !PAGE_ALIGNED(args->offset) || !PAGE_ALIGNED(args->size))
		return -EINVAL;
	if (check_add_overflow(args->offset, args->size, &end))
		return -EOVERFLOW;
	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	ret = -EINVAL;
	if (!sgpu_is_ubo(obj))
		goto out_put;
	ubo = to_ubo(obj);
	ret = -ERANGE;
	if (end > obj->size)
		goto out_put;
	ret = sgpu_ubo_check_owner(ubo);
	if (ret)
		goto out_put;
	ret = -EOPNOTSUPP;
	if (!sdev->devmem)
		goto out_put;

	start = ubo->range.start + args->offset;
	moved = sgpu_migrate_range(sdev->devmem, ubo->range.mm, start,
				   start + args->size, to_device);
	if (moved < 0) {
		ret = moved;
		goto out_put;
	}
	args->migrated = moved;
	if (to_device) {
		atomic64_add(moved, &ubo->migrated);
		sgpu_vm_stat_add(ubo->vm, SGPU_VM_MIGRATED_TO_DEVICE, moved);
	} else {
		sgpu_vm_stat_add(ubo->vm, SGPU_VM_MIGRATED_TO_SYSTEM, moved);
	}
	ret = 0;
out_put:
	drm_gem_object_put(obj);
	return ret;
}

#else /* !CONFIG_DEVICE_PRIVATE */

int sgpu_devmem_init(struct sgpu_device *sdev, unsigned long size)
{
	return 0;
}

void sgpu_devmem_fini(struct sgpu_device *sdev)
{
}

void *sgpu_devmem_vaddr(struct sgpu_device *sdev, u64 phys)
{
	return NULL;
}

u64 sgpu_devmem_pages(struct sgpu_device *sdev, bool used)
{
	return 0;
}

int sgpu_migrate_ioctl(struct drm_device *drm, void *data,
		       struct drm_file *file)
{
	struct drm_sgpu_migrate *args = data;

	if (args->direction > SGPU_MIGRATE_TO_SYSTEM || !args->size ||
	    !PAGE_ALIGNED(args->offset) || !PAGE_ALIGNED(args->size))
		return -EINVAL;
	return -EOPNOTSUPP;
}

#endif /* CONFIG_DEVICE_PRIVATE */
