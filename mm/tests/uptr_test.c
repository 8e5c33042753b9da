// SPDX-License-Identifier: GPL-2.0
/**
 * DOC: uptr_test - expose the uptr core API to user space
 *
 * ``/dev/uptr_test`` is a simulated device for the project's selftests,
 * in the pattern of lib/test_hmm.c.  Each open file is one uptr domain of
 * the device; the ioctls of include/uapi/linux/uptr_test.h create ranges of
 * the opener's address space, populate them, fault in them, report their
 * entries and counters, and let the "device" read and write the mirrored
 * pages through the entries, the way a DMA engine would.
 *
 * The device is a platform device with a 64-bit DMA mask and no IOMMU, so
 * the core maps pages with dma-direct and dma_to_phys() turns an entry back
 * into the physical page the device would access.  The module checks that
 * at load time and refuses to load otherwise.
 *
 * The invalidate callback is honest: it records every call (event, range,
 * sub-range, blockable) and returns false only for a non-blockable event
 * while the simulated "device busy" flag is set.  It takes nothing but a
 * spinlock, as the notifier context requires.
 *
 * Locking: &uptr_test_file.lock serialises the ioctls of a file and
 * protects its range table; it nests outside mmap_lock and the domain
 * lock, and the notifier path never takes it.
 *
 * Copyright (c) 2026 The uptr authors
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/uptr.h>
#include <linux/uptr_test.h>
#include <linux/xarray.h>

/* Largest device read or write, and largest entry table copied out. */
#define UPTR_TEST_MAX_XFER	(16UL << 20)

/* Bound of the module's own populate/validate loop. */
#define UPTR_TEST_MAX_TRIES	64

/**
 * struct uptr_test_file - one open file: a device domain and its ranges
 * @domain: the uptr domain
 * @mm: address space of the opener, held with mmgrab()
 * @lock: serialises ioctls, protects @ranges
 * @ranges: handle to &struct uptr_test_range
 * @busy: simulated "device busy": refuse non-blockable invalidations
 * @log_lock: protects the fields below; taken in the notifier path
 * @ninval: invalidate callbacks received
 * @nrefused: callbacks answered false
 * @dev_events: callbacks per mmu_notifier_event
 * @log: ring of the last callbacks
 * @log_next: next slot of @log
 */
struct uptr_test_file {
	struct uptr_domain domain;
	struct mm_struct *mm;
	struct mutex lock;		/* ioctls, @ranges */
	struct xarray ranges;
	bool busy;
	spinlock_t log_lock;		/* the fields below */
	u64 ninval;
	u64 nrefused;
	u64 dev_events[UPTR_NR_EVENTS];
	struct uptr_test_inval log[UPTR_TEST_LOG_LEN];
	unsigned int log_next;
};

/**
 * struct uptr_test_range - a range created by UPTR_TEST_CREATE
 * @range: the uptr range
 * @file: owning file
 * @handle: handle given to user space
 */
struct uptr_test_range {
	struct uptr_range range;
	struct uptr_test_file *file;
	u32 handle;
};

static struct platform_device *uptr_test_pdev;

static bool uptr_test_invalidate(struct uptr_range *range,
				 const struct mmu_notifier_range *nrange,
				 unsigned long start, unsigned long end)
{
	struct uptr_test_range *trange =
		container_of(range, struct uptr_test_range, range);
	struct uptr_test_file *tfile = trange->file;
	bool blockable = mmu_notifier_range_blockable(nrange);
	struct uptr_test_inval *rec;
	bool ok;

	/*
	 * A real device would wait here for its work on [start, end) to
	 * finish when it may block; when it may not, it can only say whether
	 * it is idle.
	 */
	ok = blockable || !READ_ONCE(tfile->busy);

	spin_lock(&tfile->log_lock);
	tfile->ninval++;
	if (!ok)
		tfile->nrefused++;
	if (nrange->event < UPTR_NR_EVENTS)
		tfile->dev_events[nrange->event]++;
	rec = &tfile->log[tfile->log_next];
	tfile->log_next = (tfile->log_next + 1) % UPTR_TEST_LOG_LEN;
	rec->handle = trange->handle;
	rec->event = nrange->event;
	rec->start = start;
	rec->end = end;
	rec->flags = (blockable ? UPTR_TEST_INVAL_BLOCKABLE : 0) |
		     (ok ? 0 : UPTR_TEST_INVAL_REFUSED);
	spin_unlock(&tfile->log_lock);

	return ok;
}

static const struct uptr_range_ops uptr_test_range_ops = {
	.invalidate = uptr_test_invalidate,
};

/* The page the device accesses for a valid entry (dma-direct, no IOMMU). */
static struct page *uptr_test_entry_page(struct uptr_test_file *tfile,
					 uptr_entry_t e)
{
	phys_addr_t phys;

	if (!(e & UPTR_ENTRY_VALID) || (e & UPTR_ENTRY_DEVICE_PRIVATE))
		return NULL;
	phys = dma_to_phys(tfile->domain.dev, uptr_entry_addr(e));
	if (!pfn_valid(PHYS_PFN(phys)))
		return NULL;
	return pfn_to_page(PHYS_PFN(phys));
}

static struct uptr_test_range *uptr_test_lookup(struct uptr_test_file *tfile,
						u64 handle)
{
	if (!handle || handle > U32_MAX)
		return NULL;
	return xa_load(&tfile->ranges, handle);
}

/*
 * Check a sub-range given to an ioctl that indexes entries itself.
 * Populate and fault hand their arguments to the core unchecked instead.
 */
static int uptr_test_check_span(struct uptr_test_range *trange,
				const struct uptr_test_cmd *cmd)
{
	struct uptr_range *range = &trange->range;

	if (!cmd->size || !PAGE_ALIGNED(cmd->addr) || !PAGE_ALIGNED(cmd->size))
		return -EINVAL;
	if (cmd->addr < range->start || cmd->addr >= range->end ||
	    cmd->size > range->end - cmd->addr)
		return -ERANGE;
	if (cmd->size > UPTR_TEST_MAX_XFER)
		return -E2BIG;
	return 0;
}

static unsigned int uptr_test_core_flags(u64 flags)
{
	unsigned int core = 0;

	if (flags & UPTR_TEST_POPULATE_WRITE)
		core |= UPTR_POPULATE_WRITE;
	if (flags & UPTR_TEST_POPULATE_SNAPSHOT)
		core |= UPTR_POPULATE_SNAPSHOT;
	return core;
}

/*
 * Populate [start, start + len) and return 0 with the domain lock held and
 * the sub-range valid, following the contract of uptr.h; or with
 * UPTR_TEST_POPULATE_LOCK let uptr_range_populate_lock() do it.
 */
static int uptr_test_populate_lock(struct uptr_test_range *trange,
				   unsigned long start, unsigned long len,
				   u64 flags)
{
	struct uptr_range *range = &trange->range;
	unsigned int core = uptr_test_core_flags(flags);
	int tries, err;

	if (flags & UPTR_TEST_POPULATE_LOCK)
		return uptr_range_populate_lock(range, start, len, core);

	for (tries = 0; tries < UPTR_TEST_MAX_TRIES; tries++) {
		err = uptr_range_populate(range, start, len, core);
		if (err)
			return err;
		uptr_domain_lock(range->domain);
		if (uptr_range_valid(range, start, len))
			return 0;
		uptr_domain_unlock(range->domain);
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return -EBUSY;
}

static int uptr_test_create(struct uptr_test_file *tfile, void __user *uarg)
{
	struct uptr_test_create args;
	struct uptr_test_range *trange;
	u32 handle;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	/* Values the core cannot even be given; the rest it checks. */
	if (args.backend > INT_MAX || args.flags > UINT_MAX)
		return -EINVAL;

	trange = kzalloc(sizeof(*trange), GFP_KERNEL);
	if (!trange)
		return -ENOMEM;
	trange->file = tfile;
	err = xa_alloc(&tfile->ranges, &handle, trange, xa_limit_32b,
		       GFP_KERNEL);
	if (err)
		goto err_free;
	trange->handle = handle;

	err = uptr_range_init(&trange->range, &tfile->domain, tfile->mm,
			      args.addr, args.size,
			      (enum uptr_backend)args.backend,
			      (unsigned int)args.flags, &uptr_test_range_ops);
	if (err)
		goto err_erase;

	args.handle = handle;
	if (copy_to_user(uarg, &args, sizeof(args))) {
		err = -EFAULT;
		goto err_fini;
	}
	return 0;

err_fini:
	uptr_range_fini(&trange->range);
err_erase:
	xa_erase(&tfile->ranges, handle);
err_free:
	kfree(trange);
	return err;
}

static int uptr_test_destroy(struct uptr_test_file *tfile,
			     struct uptr_test_cmd *cmd)
{
	struct uptr_test_range *trange = uptr_test_lookup(tfile, cmd->handle);

	if (!trange)
		return -ENOENT;
	xa_erase(&tfile->ranges, trange->handle);
	uptr_range_fini(&trange->range);
	kfree(trange);
	return 0;
}

static int uptr_test_populate(struct uptr_test_range *trange,
			      struct uptr_test_cmd *cmd)
{
	struct uptr_range *range = &trange->range;
	u64 t0 = 0;
	int err;

	BUILD_BUG_ON(UPTR_TEST_POPULATE_CHUNK != UPTR_POPULATE_CHUNK);
	if (cmd->flags & ~(u64)(UPTR_TEST_POPULATE_WRITE |
				UPTR_TEST_POPULATE_SNAPSHOT |
				UPTR_TEST_POPULATE_LOCK |
				UPTR_TEST_POPULATE_TIME))
		return -EINVAL;
	if (cmd->flags & UPTR_TEST_POPULATE_TIME)
		t0 = ktime_get_ns();

	if (cmd->flags & UPTR_TEST_POPULATE_SNAPSHOT) {
		/* Only present pages: the sub-range need not end up valid. */
		if (cmd->flags & UPTR_TEST_POPULATE_LOCK)
			return -EINVAL;
		err = uptr_range_populate(range, cmd->addr, cmd->size,
					  uptr_test_core_flags(cmd->flags));
		if (err)
			return err;
		uptr_domain_lock(range->domain);
	} else {
		err = uptr_test_populate_lock(trange, cmd->addr, cmd->size,
					      cmd->flags);
		if (err)
			return err;
	}
	/* Domain lock held: the core accepted the sub-range. */
	if (cmd->flags & UPTR_TEST_POPULATE_TIME)
		cmd->ns = ktime_get_ns() - t0;
	cmd->npages = uptr_range_count_valid(range, cmd->addr, cmd->size);
	cmd->gen = range->gen;
	uptr_domain_unlock(range->domain);
	return 0;
}

static int uptr_test_fault(struct uptr_test_range *trange,
			   struct uptr_test_cmd *cmd)
{
	struct uptr_range *range = &trange->range;
	int err;

	if (cmd->flags & ~(u64)(UPTR_TEST_POPULATE_WRITE |
				UPTR_TEST_POPULATE_SNAPSHOT))
		return -EINVAL;
	err = uptr_range_fault(range, cmd->addr,
			       uptr_test_core_flags(cmd->flags));
	if (err)
		return err;
	uptr_domain_lock(range->domain);
	cmd->npages = uptr_range_count_valid(range, range->start,
					     range->end - range->start);
	cmd->gen = range->gen;
	uptr_domain_unlock(range->domain);
	return 0;
}

static int uptr_test_entries(struct uptr_test_range *trange,
			     struct uptr_test_cmd *cmd)
{
	struct uptr_test_file *tfile = trange->file;
	struct uptr_range *range = &trange->range;
	unsigned long i, npages;
	struct page *page;
	u64 *out;
	int err;

	if (cmd->flags)
		return -EINVAL;
	err = uptr_test_check_span(trange, cmd);
	if (err)
		return err;
	npages = cmd->size >> PAGE_SHIFT;
	out = kvcalloc(npages, sizeof(*out), GFP_KERNEL_ACCOUNT);
	if (!out)
		return -ENOMEM;

	uptr_domain_lock(range->domain);
	for (i = 0; i < npages; i++) {
		uptr_entry_t e = uptr_range_entry(range,
						  cmd->addr + i * PAGE_SIZE);

		if (!(e & UPTR_ENTRY_VALID))
			continue;
		out[i] = UPTR_TEST_ENTRY_VALID;
		if (e & UPTR_ENTRY_WRITE)
			out[i] |= UPTR_TEST_ENTRY_WRITE;
		if (e & UPTR_ENTRY_DEVICE_PRIVATE)
			out[i] |= UPTR_TEST_ENTRY_DEVICE_PRIVATE;
		out[i] |= (u64)uptr_entry_order(e) <<
			  UPTR_TEST_ENTRY_ORDER_SHIFT;
		page = uptr_test_entry_page(tfile, e);
		if (page)
			out[i] |= (u64)(page_to_nid(page) + 1) <<
				  UPTR_TEST_ENTRY_NODE_SHIFT;
	}
	cmd->npages = uptr_range_count_valid(range, cmd->addr, cmd->size);
	cmd->gen = range->gen;
	uptr_domain_unlock(range->domain);

	if (copy_to_user(u64_to_user_ptr(cmd->ptr), out,
			 npages * sizeof(*out)))
		err = -EFAULT;
	kvfree(out);
	return err;
}

/*
 * The device accesses memory: with @write, copy @buf into the mirrored
 * pages of [addr, addr + len), otherwise copy them into @buf.  Called with
 * the domain lock held, which keeps the entries valid.
 */
static int uptr_test_access(struct uptr_test_range *trange, unsigned long addr,
			    unsigned long len, void *buf, bool write)
{
	struct uptr_test_file *tfile = trange->file;
	struct uptr_range *range = &trange->range;
	unsigned long off;
	struct page *page;
	void *vaddr;

	lockdep_assert_held(&range->domain->lock);
	for (off = 0; off < len; off += PAGE_SIZE) {
		uptr_entry_t e = uptr_range_entry(range, addr + off);

		if (!(e & UPTR_ENTRY_VALID))
			return -ENODATA;
		if (write && !(e & UPTR_ENTRY_WRITE))
			return -EACCES;
		page = uptr_test_entry_page(tfile, e);
		if (!page)
			return -ENXIO;
		vaddr = kmap_local_page(page);
		if (write)
			memcpy(vaddr, buf + off, PAGE_SIZE);
		else
			memcpy(buf + off, vaddr, PAGE_SIZE);
		kunmap_local(vaddr);
	}
	return 0;
}

static int uptr_test_rw(struct uptr_test_range *trange,
			struct uptr_test_cmd *cmd, bool write)
{
	struct uptr_range *range = &trange->range;
	void __user *uptr = u64_to_user_ptr(cmd->ptr);
	void *buf;
	int err;

	if (cmd->flags & ~(u64)UPTR_TEST_RW_POPULATE)
		return -EINVAL;
	err = uptr_test_check_span(trange, cmd);
	if (err)
		return err;

	/* User copies fault and take mmap_lock: never under the domain lock. */
	buf = kvmalloc(cmd->size, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	if (write && copy_from_user(buf, uptr, cmd->size)) {
		err = -EFAULT;
		goto out;
	}

	if (cmd->flags & UPTR_TEST_RW_POPULATE) {
		err = uptr_test_populate_lock(trange, cmd->addr, cmd->size,
					      write ? UPTR_TEST_POPULATE_WRITE :
						      0);
		if (err)
			goto out;
	} else {
		uptr_domain_lock(range->domain);
	}
	err = uptr_test_access(trange, cmd->addr, cmd->size, buf, write);
	cmd->gen = range->gen;
	uptr_domain_unlock(range->domain);
	if (err)
		goto out;

	if (!write && copy_to_user(uptr, buf, cmd->size)) {
		err = -EFAULT;
		goto out;
	}
	cmd->npages = cmd->size >> PAGE_SHIFT;
out:
	kvfree(buf);
	return err;
}

static int uptr_test_stats(struct uptr_test_file *tfile, void __user *uarg)
{
	struct uptr_test_stats *st;
	unsigned int i, n, first;
	int err = 0;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	for (i = 0; i < UPTR_STAT_NR; i++)
		st->stats[i] = uptr_domain_stat(&tfile->domain, i);
	for (i = 0; i < UPTR_NR_EVENTS; i++)
		st->events[i] = uptr_domain_event_count(&tfile->domain, i);
	st->pinned_total = uptr_pinned_pages_total();

	spin_lock(&tfile->log_lock);
	st->ninval = tfile->ninval;
	st->nrefused = tfile->nrefused;
	for (i = 0; i < UPTR_NR_EVENTS; i++)
		st->dev_events[i] = tfile->dev_events[i];
	n = min_t(u64, tfile->ninval, UPTR_TEST_LOG_LEN);
	first = (tfile->log_next + UPTR_TEST_LOG_LEN - n) % UPTR_TEST_LOG_LEN;
	for (i = 0; i < n; i++)
		st->log[i] = tfile->log[(first + i) % UPTR_TEST_LOG_LEN];
	st->nlog = n;
	spin_unlock(&tfile->log_lock);

	if (copy_to_user(uarg, st, sizeof(*st)))
		err = -EFAULT;
	kfree(st);
	return err;
}

static long uptr_test_range_ioctl(struct uptr_test_file *tfile,
				  unsigned int op, void __user *uarg)
{
	struct uptr_test_range *trange;
	struct uptr_test_cmd cmd;
	int err;

	if (copy_from_user(&cmd, uarg, sizeof(cmd)))
		return -EFAULT;
	trange = uptr_test_lookup(tfile, cmd.handle);
	if (!trange)
		return -ENOENT;
	cmd.npages = 0;
	cmd.gen = 0;
	cmd.ns = 0;

	switch (op) {
	case UPTR_TEST_DESTROY:
		return uptr_test_destroy(tfile, &cmd);
	case UPTR_TEST_POPULATE:
		err = uptr_test_populate(trange, &cmd);
		break;
	case UPTR_TEST_FAULT:
		err = uptr_test_fault(trange, &cmd);
		break;
	case UPTR_TEST_ENTRIES:
		err = uptr_test_entries(trange, &cmd);
		break;
	case UPTR_TEST_READ:
		err = uptr_test_rw(trange, &cmd, false);
		break;
	case UPTR_TEST_WRITE:
		err = uptr_test_rw(trange, &cmd, true);
		break;
	default:
		return -ENOTTY;
	}
	if (err)
		return err;
	if (copy_to_user(uarg, &cmd, sizeof(cmd)))
		return -EFAULT;
	return 0;
}

static long uptr_test_ioctl(struct file *filp, unsigned int op,
			    unsigned long arg)
{
	struct uptr_test_file *tfile = filp->private_data;
	void __user *uarg = (void __user *)arg;
	u64 busy;
	long ret;

	/* Ranges live in the opener's mm; populate runs GUP on current->mm. */
	if (current->mm != tfile->mm)
		return -EPERM;

	switch (op) {
	case UPTR_TEST_CREATE:
	case UPTR_TEST_STATS:
	case UPTR_TEST_SET_BUSY:
	case UPTR_TEST_DESTROY:
	case UPTR_TEST_POPULATE:
	case UPTR_TEST_FAULT:
	case UPTR_TEST_ENTRIES:
	case UPTR_TEST_READ:
	case UPTR_TEST_WRITE:
		break;
	default:
		return -ENOTTY;
	}

	mutex_lock(&tfile->lock);
	switch (op) {
	case UPTR_TEST_CREATE:
		ret = uptr_test_create(tfile, uarg);
		break;
	case UPTR_TEST_STATS:
		ret = uptr_test_stats(tfile, uarg);
		break;
	case UPTR_TEST_SET_BUSY:
		ret = get_user(busy, (u64 __user *)uarg);
		if (!ret)
			WRITE_ONCE(tfile->busy, !!busy);
		break;
	default:
		ret = uptr_test_range_ioctl(tfile, op, uarg);
		break;
	}
	mutex_unlock(&tfile->lock);
	return ret;
}

static int uptr_test_open(struct inode *inode, struct file *filp)
{
	struct uptr_test_file *tfile;
	int err;

	if (!current->mm)
		return -EINVAL;
	tfile = kzalloc(sizeof(*tfile), GFP_KERNEL);
	if (!tfile)
		return -ENOMEM;
	err = uptr_domain_init(&tfile->domain, &uptr_test_pdev->dev, tfile);
	if (err) {
		kfree(tfile);
		return err;
	}
	mutex_init(&tfile->lock);
	xa_init_flags(&tfile->ranges, XA_FLAGS_ALLOC1);
	spin_lock_init(&tfile->log_lock);
	mmgrab(current->mm);
	tfile->mm = current->mm;
	filp->private_data = tfile;
	return 0;
}

static int uptr_test_release(struct inode *inode, struct file *filp)
{
	struct uptr_test_file *tfile = filp->private_data;
	struct uptr_test_range *trange;
	unsigned long handle;

	/* May run after the opener's mm is gone (exit_mm before exit_files). */
	xa_for_each(&tfile->ranges, handle, trange) {
		xa_erase(&tfile->ranges, handle);
		uptr_range_fini(&trange->range);
		kfree(trange);
	}
	xa_destroy(&tfile->ranges);
	uptr_domain_fini(&tfile->domain);
	mutex_destroy(&tfile->lock);
	mmdrop(tfile->mm);
	kfree(tfile);
	return 0;
}

static const struct file_operations uptr_test_fops = {
	.owner		= THIS_MODULE,
	.open		= uptr_test_open,
	.release	= uptr_test_release,
	.unlocked_ioctl	= uptr_test_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice uptr_test_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "uptr_test",
	.fops	= &uptr_test_fops,
};

/*
 * The device reads pages through dma_to_phys(), which is only right when
 * its DMA addresses come from dma-direct: check that on one page.
 */
static int uptr_test_check_dma(struct device *dev)
{
	struct page *page = alloc_page(GFP_KERNEL);
	dma_addr_t addr;
	int err = 0;

	if (!page)
		return -ENOMEM;
	addr = dma_map_page(dev, page, 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
	if (dma_mapping_error(dev, addr)) {
		err = -EIO;
	} else {
		if (dma_to_phys(dev, addr) != page_to_phys(page))
			err = -ENODEV;
		dma_unmap_page(dev, addr, PAGE_SIZE, DMA_BIDIRECTIONAL);
	}
	__free_page(page);
	if (err)
		pr_err("device DMA is not dma-direct (%d)\n", err);
	return err;
}

static int __init uptr_test_init(void)
{
	int err;

	/* The uapi mirrors the kernel's enums and flags one to one. */
	BUILD_BUG_ON((int)UPTR_STAT_NR != (int)UPTR_TEST_STAT_NR);
	BUILD_BUG_ON(UPTR_STAT_NR > UPTR_TEST_MAX_STATS);
	BUILD_BUG_ON((int)UPTR_STAT_NONBLOCK_FAILED !=
		     (int)UPTR_TEST_STAT_NONBLOCK_FAILED);
	BUILD_BUG_ON((int)UPTR_NR_EVENTS != (int)UPTR_TEST_EVENT_NR);
	BUILD_BUG_ON(UPTR_NR_EVENTS > UPTR_TEST_MAX_EVENTS);
	BUILD_BUG_ON((int)MMU_NOTIFY_EXCLUSIVE !=
		     (int)UPTR_TEST_EVENT_EXCLUSIVE);
	BUILD_BUG_ON((int)UPTR_BACKEND_FAULT != UPTR_TEST_BACKEND_FAULT);
	BUILD_BUG_ON(UPTR_RANGE_READ_ONLY != UPTR_TEST_RANGE_READ_ONLY);
	BUILD_BUG_ON(UPTR_ENTRY_VALID != UPTR_TEST_ENTRY_VALID);
	BUILD_BUG_ON(UPTR_ENTRY_WRITE != UPTR_TEST_ENTRY_WRITE);
	BUILD_BUG_ON(UPTR_ENTRY_DEVICE_PRIVATE !=
		     UPTR_TEST_ENTRY_DEVICE_PRIVATE);

	uptr_test_pdev = platform_device_register_simple("uptr_test",
							 PLATFORM_DEVID_NONE,
							 NULL, 0);
	if (IS_ERR(uptr_test_pdev))
		return PTR_ERR(uptr_test_pdev);
	err = dma_coerce_mask_and_coherent(&uptr_test_pdev->dev,
					   DMA_BIT_MASK(64));
	if (err)
		goto err_pdev;
	err = uptr_test_check_dma(&uptr_test_pdev->dev);
	if (err)
		goto err_pdev;

	uptr_test_misc.parent = &uptr_test_pdev->dev;
	err = misc_register(&uptr_test_misc);
	if (err)
		goto err_pdev;
	return 0;

err_pdev:
	platform_device_unregister(uptr_test_pdev);
	return err;
}

static void __exit uptr_test_exit(void)
{
	misc_deregister(&uptr_test_misc);
	platform_device_unregister(uptr_test_pdev);
}

module_init(uptr_test_init);
module_exit(uptr_test_exit);

MODULE_DESCRIPTION("uptr test device: the uptr core API for selftests");
MODULE_LICENSE("GPL");
