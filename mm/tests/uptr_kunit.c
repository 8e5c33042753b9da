// SPDX-License-Identifier: GPL-2.0
/**
 * DOC: uptr KUnit tests
 *
 * KUnit tests of the uptr core API on real user memory: each test case
 * runs in a kthread that gets its own mm from kunit_vm_mmap(), maps a small
 * anonymous buffer there and mirrors it with one range, for each backend
 * (the cases are parameterised over %UPTR_BACKEND_PIN and
 * %UPTR_BACKEND_FAULT).
 *
 * What a module can drive is what the kernel exports: vm_munmap(),
 * zap_page_range_single() (under mmap_read_lock, with find_vma()),
 * copy_to_user() and copy_from_user() to fault pages in, the populate,
 * fault and retry paths of uptr, and a direct call of the range's notifier
 * callback for the non-blockable path.  mprotect, madvise, fork, NUMA moves
 * and RLIMIT_MEMLOCK are tested from user space (selftests/uptr_core_test.c
 * through the uptr_test module).
 *
 * The domain's device is a KUnit device with a 64-bit DMA mask and no
 * IOMMU, so the core maps pages with dma-direct, and dma_to_phys() gives
 * back the physical page behind an entry (on x86 without an IOMMU or
 * memory encryption the DMA address simply is the physical address).  The
 * tests read and write the mirrored pages through the entries that way,
 * as the device would, and compare with what the CPU sees through the user
 * mapping.  .init checks that assumption on one page.
 *
 * Every case checks, in .exit after uptr_range_fini(), that the global count
 * of pinned pages is back where it started.
 *
 * Copyright (c) 2026 The uptr authors
 */

#include <kunit/device.h>
#include <kunit/test.h>

#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/swiotlb.h>
#include <linux/uaccess.h>
#include <linux/uptr.h>

#include "../uptr_internal.h"

/* Pages of the user buffer of each case: small, first touch is slow. */
#define UPTR_KUNIT_NPAGES	16
#define UPTR_KUNIT_SIZE		(UPTR_KUNIT_NPAGES * PAGE_SIZE)
/* Populates of 2 MiB each thread of uptr_kunit_i12_scratch_race makes. */
#define UPTR_KUNIT_RACE_ROUNDS	4

/**
 * struct uptr_kunit_priv - per-case state
 * @dev: KUnit device with a 64-bit DMA mask
 * @domain: the domain of the case, DMA-mapping for @dev
 * @domain_live: @domain is initialised
 * @range: the range of the case
 * @range_live: @range is initialised
 * @backend: backend of the case (the KUnit parameter)
 * @addr: user buffer from kunit_vm_mmap()
 * @pinned_total: uptr_pinned_pages_total() at .init
 * @pinned_vm: the mm's pinned_vm at .init
 * @zap_in_commit: number of times the before_commit hook still zaps
 * @zap_addr: the page it zaps
 * @refuse: the invalidate callback refuses non-blockable events
 * @ninval: invalidate callbacks received
 * @nblockable: of those, blockable ones
 * @inval_start: lowest start address of those callbacks
 * @inval_end: highest end address of those callbacks
 * @block_inval: the next invalidate callback blocks (once) until @inval_go
 * @inval_entered: completed by the callback that blocks
 * @inval_go: completed by the test to let the blocked callback return
 * @refuse_blockable: uptr_kunit_ops_hooks refuse blockable events too
 * @nrefused: blockable callbacks refused that way
 * @nhook: before_commit calls of uptr_kunit_ops_hooks
 * @hook_dma_mapped: %UPTR_STAT_DMA_MAPPED at the first of them
 * @nested_in_commit: number of times that hook still commits a populate of
 *	the whole range while the populate that called it waits to commit
 * @nested_err: what that nested populate returned
 * @nested_start: first address of that populate, 0 for the whole range
 * @nested_end: its end
 * @drop_in_commit: number of times uptr_kunit_ops's before_commit hook
 *	still writes drop_caches=2 (every shrinker runs)
 * @drop_err: what that write returned
 */
struct uptr_kunit_priv {
	struct device *dev;
	struct uptr_domain domain;
	bool domain_live;
	struct uptr_range range;
	bool range_live;
	enum uptr_backend backend;
	unsigned long addr;
	u64 pinned_total;
	s64 pinned_vm;
	int zap_in_commit;
	unsigned long zap_addr;
	bool refuse;
	unsigned int ninval;
	unsigned int nblockable;
	unsigned long inval_start;
	unsigned long inval_end;
	bool block_inval;
	struct completion inval_entered;
	struct completion inval_go;
	bool refuse_blockable;
	unsigned int nrefused;
	unsigned int nhook;
	u64 hook_dma_mapped;
	int nested_in_commit;
	int nested_err;
	unsigned long nested_start;
	unsigned long nested_end;
	int drop_in_commit;
	int drop_err;
};

static const enum uptr_backend uptr_kunit_backends[] = {
	UPTR_BACKEND_PIN,
	UPTR_BACKEND_FAULT,
};

static void uptr_kunit_backend_desc(const enum uptr_backend *backend,
				    char *desc)
{
	strscpy(desc, *backend == UPTR_BACKEND_PIN ? "pin" : "fault",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(uptr_kunit_backend, uptr_kunit_backends,
		  uptr_kunit_backend_desc);

static struct uptr_kunit_priv *uptr_kunit_priv(struct uptr_range *range)
{
	return container_of(range, struct uptr_kunit_priv, range);
}

/*
 * The driver callback.  Runs under the domain lock, possibly in a
 * non-blockable context: no allocation, no KUnit assertion here.
 */
static bool uptr_kunit_invalidate(struct uptr_range *range,
				  const struct mmu_notifier_range *nrange,
				  unsigned long start, unsigned long end)
{
	struct uptr_kunit_priv *priv = uptr_kunit_priv(range);
	bool blockable = mmu_notifier_range_blockable(nrange);

	if (!blockable && priv->refuse)
		return false;
	if (blockable && xchg(&priv->block_inval, false)) {
		/* Entries still valid: the populate races with this. */
		complete(&priv->inval_entered);
		wait_for_completion(&priv->inval_go);
	}
	priv->ninval++;
	if (blockable)
		priv->nblockable++;
	priv->inval_start = min(priv->inval_start, start);
	priv->inval_end = max(priv->inval_end, end);
	return true;
}

static void uptr_kunit_reset_inval(struct uptr_kunit_priv *priv)
{
	uptr_domain_lock(&priv->domain);
	priv->ninval = 0;
	priv->nblockable = 0;
	priv->inval_start = ULONG_MAX;
	priv->inval_end = 0;
	uptr_domain_unlock(&priv->domain);
}

/* Zap one page of the range's mm: an invalidation of kind CLEAR. */
static bool uptr_kunit_zap(struct mm_struct *mm, unsigned long addr,
			   unsigned long len)
{
	struct vm_area_struct *vma;
	bool found = false;

	mmap_read_lock(mm);
	vma = find_vma(mm, addr);
	if (vma && vma->vm_start <= addr && addr + len <= vma->vm_end) {
		zap_page_range_single(vma, addr, len, NULL);
		found = true;
	}
	mmap_read_unlock(mm);
	return found;
}

/*
 * drop_caches=2, as root writes it: drop_slab(), every shrinker, the way
 * global reclaim runs them (and an info line in the kernel log).
 */
static int uptr_kunit_drop_slab(void)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	f = filp_open("/proc/sys/vm/drop_caches", O_WRONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	n = kernel_write(f, "2", 1, &pos);
	filp_close(f, NULL);
	if (n < 0)
		return n;
	return n == 1 ? 0 : -EIO;
}

/*
 * Fault injection between page collection and commit: an invalidation,
 * or reclaim running every shrinker while the call holds its scratch.
 */
static void uptr_kunit_before_commit(struct uptr_range *range)
{
	struct uptr_kunit_priv *priv = uptr_kunit_priv(range);

	if (priv->drop_in_commit > 0) {
		priv->drop_in_commit--;
		priv->drop_err = uptr_kunit_drop_slab();
	}
	if (priv->zap_in_commit <= 0)
		return;
	priv->zap_in_commit--;
	uptr_kunit_zap(range->mm, priv->zap_addr, PAGE_SIZE);
}

static const struct uptr_range_ops uptr_kunit_ops = {
	.invalidate = uptr_kunit_invalidate,
	.before_commit = uptr_kunit_before_commit,
};

static const struct uptr_range_ops uptr_kunit_ops_noinval = {
	.before_commit = uptr_kunit_before_commit,
};

/* A driver that (wrongly) refuses blockable events when told to. */
static bool uptr_kunit_invalidate_hooks(struct uptr_range *range,
					const struct mmu_notifier_range *nrange,
					unsigned long start, unsigned long end)
{
	struct uptr_kunit_priv *priv = uptr_kunit_priv(range);

	if (mmu_notifier_range_blockable(nrange) && priv->refuse_blockable) {
		priv->nrefused++;
		return false;
	}
	return uptr_kunit_invalidate(range, nrange, start, end);
}

/*
 * Observe and perturb a populate between its collection and its commit:
 * record what was DMA-mapped by then, zap a page (an invalidation), or
 * commit a whole populate of the range first (populate_lock is held by
 * this thread: uptr_populate_once() takes no lock).
 */
static void uptr_kunit_hook(struct uptr_range *range)
{
	struct uptr_kunit_priv *priv = uptr_kunit_priv(range);

	if (!priv->nhook++)
		priv->hook_dma_mapped = uptr_domain_stat(range->domain,
							 UPTR_STAT_DMA_MAPPED);
	if (priv->zap_in_commit > 0) {
		priv->zap_in_commit--;
		uptr_kunit_zap(range->mm, priv->zap_addr, PAGE_SIZE);
	}
	if (priv->nested_in_commit > 0) {
		priv->nested_in_commit--;
		priv->nested_err = priv->nested_end ?
			uptr_populate_once(range, priv->nested_start,
					   priv->nested_end,
					   UPTR_POPULATE_WRITE) :
			uptr_populate_once(range, range->start, range->end,
					   UPTR_POPULATE_WRITE);
	}
}

static const struct uptr_range_ops uptr_kunit_ops_hooks = {
	.invalidate = uptr_kunit_invalidate_hooks,
	.before_commit = uptr_kunit_hook,
};

static unsigned long uptr_kunit_page(struct uptr_kunit_priv *priv,
				     unsigned long i)
{
	return priv->addr + i * PAGE_SIZE;
}

static int uptr_kunit_range_init(struct kunit *test, unsigned int flags)
{
	struct uptr_kunit_priv *priv = test->priv;
	int err;

	err = uptr_range_init(&priv->range, &priv->domain, current->mm,
			      priv->addr, UPTR_KUNIT_SIZE, priv->backend, flags,
			      &uptr_kunit_ops);
	priv->range_live = !err;
	return err;
}

static void uptr_kunit_range_fini(struct uptr_kunit_priv *priv)
{
	if (!priv->range_live)
		return;
	uptr_range_fini(&priv->range);
	priv->range_live = false;
}

static unsigned long uptr_kunit_count(struct uptr_kunit_priv *priv,
				      unsigned long start, unsigned long len)
{
	unsigned long n;

	uptr_domain_lock(priv->range.domain);
	n = uptr_range_count_valid(&priv->range, start, len);
	uptr_domain_unlock(priv->range.domain);
	return n;
}

static uptr_entry_t uptr_kunit_entry(struct uptr_kunit_priv *priv,
				     unsigned long addr)
{
	uptr_entry_t e;

	uptr_domain_lock(priv->range.domain);
	e = uptr_range_entry(&priv->range, addr);
	uptr_domain_unlock(priv->range.domain);
	return e;
}

static u64 uptr_kunit_stat(struct uptr_kunit_priv *priv, enum uptr_counter c)
{
	return uptr_domain_stat(&priv->domain, c);
}

/* Pages pinned by uptr since .init, checked against the mm's pinned_vm. */
static s64 uptr_kunit_pinned(struct kunit *test, struct uptr_kunit_priv *priv)
{
	s64 total = uptr_pinned_pages_total() - priv->pinned_total;
	s64 vm = atomic64_read(&current->mm->pinned_vm) - priv->pinned_vm;

	KUNIT_EXPECT_EQ_MSG(test, total, vm,
			    "uptr pinned pages and mm pinned_vm disagree");
	return total;
}

/* Pages a fully valid range of the case's backend holds pinned. */
static s64 uptr_kunit_expect_pinned(struct uptr_kunit_priv *priv,
				    unsigned long nvalid)
{
	return priv->backend == UPTR_BACKEND_PIN ? nvalid : 0;
}

/* The page the device reaches through a valid entry. */
static struct page *uptr_kunit_entry_page(struct uptr_kunit_priv *priv,
					  uptr_entry_t e)
{
	struct uptr_domain *domain = priv->range.domain;
	phys_addr_t phys = uptr_entry_addr(e);

	/* dma-direct without IOMMU: dma_to_phys() undoes dma_map_page(). */
	if (domain->dev)
		phys = dma_to_phys(domain->dev, phys);
	if (!pfn_valid(PHYS_PFN(phys)))
		return NULL;
	return pfn_to_page(PHYS_PFN(phys));
}

/* Does the user page at @addr read as zeroes? */
static bool uptr_kunit_user_zero(struct kunit *test, unsigned long addr)
{
	u8 *buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, copy_from_user(buf, (void __user *)addr,
					     PAGE_SIZE), 0);
	return !memchr_inv(buf, 0, PAGE_SIZE);
}

/* Fill [start, start + len) of the user buffer with a pattern of @seed. */
static void uptr_kunit_fill(struct kunit *test, unsigned long start,
			    unsigned long len, u32 seed)
{
	u32 *buf = kunit_kmalloc(test, len, GFP_KERNEL);
	unsigned long i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < len / sizeof(*buf); i++)
		buf[i] = seed ^ (u32)(start / sizeof(*buf) + i);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)start, buf, len), 0);
	kunit_kfree(test, buf);
}

/*
 * Compare what the device reads through the valid entries of
 * [start, start + len) with what the CPU reads through the mapping (which
 * faults absent pages in: call it after presence-sensitive checks).
 * Returns the number of valid pages compared.
 */
static unsigned long uptr_kunit_check_mirror(struct kunit *test,
					     unsigned long start,
					     unsigned long len)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_domain *domain = priv->range.domain;
	unsigned long off, n = 0, bad = 0, nopage = 0;
	struct page *page;
	uptr_entry_t e;
	void *vaddr;
	u8 *buf;

	buf = kunit_kmalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test,
			copy_from_user(buf, (void __user *)start, len), 0);

	/* No KUnit reporting (it allocates) under the domain lock. */
	uptr_domain_lock(domain);
	for (off = 0; off < len; off += PAGE_SIZE) {
		e = uptr_range_entry(&priv->range, start + off);
		if (!(e & UPTR_ENTRY_VALID))
			continue;
		n++;
		page = uptr_kunit_entry_page(priv, e);
		if (!page) {
			nopage++;
			continue;
		}
		vaddr = kmap_local_page(page);
		if (memcmp(vaddr, buf + off, PAGE_SIZE))
			bad++;
		kunmap_local(vaddr);
	}
	uptr_domain_unlock(domain);

	KUNIT_EXPECT_EQ_MSG(test, nopage, 0, "entries without a page");
	KUNIT_EXPECT_EQ_MSG(test, bad, 0,
			    "device and CPU see different data");
	kunit_kfree(test, buf);
	return n;
}

/* The device writes @seed's pattern into page @i through its entry. */
static void uptr_kunit_device_write(struct kunit *test, unsigned long i,
				    u32 seed)
{
	struct uptr_kunit_priv *priv = test->priv;
	unsigned long addr = uptr_kunit_page(priv, i);
	u32 *vaddr, *user;
	struct page *page;
	unsigned long j;
	uptr_entry_t e;
	bool ok = false;

	uptr_domain_lock(priv->range.domain);
	e = uptr_range_entry(&priv->range, addr);
	page = (e & UPTR_ENTRY_VALID) && (e & UPTR_ENTRY_WRITE) ?
	       uptr_kunit_entry_page(priv, e) : NULL;
	if (page) {
		vaddr = kmap_local_page(page);
		for (j = 0; j < PAGE_SIZE / sizeof(u32); j++)
			vaddr[j] = seed ^ (u32)j;
		kunmap_local(vaddr);
		ok = true;
	}
	uptr_domain_unlock(priv->range.domain);
	KUNIT_ASSERT_TRUE_MSG(test, ok, "page %lu not writable by device", i);

	/* The CPU sees the device's write. */
	user = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, user);
	KUNIT_ASSERT_EQ(test, copy_from_user(user, (void __user *)addr,
					     PAGE_SIZE), 0);
	for (j = 0; j < PAGE_SIZE / sizeof(u32); j++)
		if (user[j] != (seed ^ (u32)j))
			break;
	KUNIT_EXPECT_EQ_MSG(test, j, PAGE_SIZE / sizeof(u32),
			    "CPU does not see the device write");
	kunit_kfree(test, user);
}

/* dma_to_phys() must undo dma_map_page() for the tests' device. */
static void uptr_kunit_check_dma_direct(struct kunit *test, struct device *dev)
{
	struct page *page = alloc_page(GFP_KERNEL);
	dma_addr_t addr;

	int err;

	KUNIT_ASSERT_NOT_NULL(test, page);
	addr = dma_map_page(dev, page, 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
	err = dma_mapping_error(dev, addr);
	if (err)
		__free_page(page);
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "dma_map_page failed");
	KUNIT_EXPECT_EQ(test, dma_to_phys(dev, addr), page_to_phys(page));
	dma_unmap_page(dev, addr, PAGE_SIZE, DMA_BIDIRECTIONAL);
	__free_page(page);
}

static int uptr_kunit_init(struct kunit *test)
{
	struct uptr_kunit_priv *priv;
	unsigned long addr;
	int err;

	priv = kunit_kzalloc(test, sizeof(*priv), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, priv);
	test->priv = priv;
	priv->backend = test->param_value ?
		*(const enum uptr_backend *)test->param_value :
		UPTR_BACKEND_PIN;
	priv->inval_start = ULONG_MAX;

	priv->dev = kunit_device_register(test, "uptr_kunit");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, priv->dev);
	err = dma_coerce_mask_and_coherent(priv->dev, DMA_BIT_MASK(64));
	KUNIT_ASSERT_EQ(test, err, 0);
	uptr_kunit_check_dma_direct(test, priv->dev);

	/* Error values of vm_mmap() come back as they are: check both. */
	addr = kunit_vm_mmap(test, NULL, 0, UPTR_KUNIT_SIZE,
			     PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !addr || IS_ERR_VALUE(addr),
			       "kunit_vm_mmap failed: %ld", (long)addr);
	priv->addr = addr;

	err = uptr_domain_init(&priv->domain, priv->dev, priv);
	KUNIT_ASSERT_EQ(test, err, 0);
	priv->domain_live = true;

	priv->pinned_total = uptr_pinned_pages_total();
	priv->pinned_vm = atomic64_read(&current->mm->pinned_vm);
	return 0;
}

/*
 * Runs in another kthread once the case's kthread is gone, possibly while
 * its mm is still being torn down: the teardown of a process that exits
 * with ranges registered.
 */
static void uptr_kunit_exit(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;

	if (!priv)
		return;
	uptr_kunit_range_fini(priv);
	if (!priv->domain_live)
		return;
	KUNIT_EXPECT_EQ(test, uptr_domain_stat(&priv->domain,
					       UPTR_STAT_MAPPED), 0);
	KUNIT_EXPECT_EQ(test, uptr_domain_stat(&priv->domain,
					       UPTR_STAT_PINNED), 0);
	KUNIT_EXPECT_EQ(test, uptr_pinned_pages_total(), priv->pinned_total);
	uptr_domain_fini(&priv->domain);
	priv->domain_live = false;
}

/* Populate, read back through the entries, device write, cache hit. */
static void uptr_kunit_populate_readback(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	const unsigned long n = UPTR_KUNIT_NPAGES;
	unsigned long i, nvalid, bad_order = 0, bad_flags = 0, bad_page = 0;
	struct uptr_range *range = &priv->range;
	bool valid, outside;
	struct page *page;
	uptr_entry_t e;
	unsigned int o;

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x5eed0000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);

	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n);
	/* Counted without a scan now: sub-spans and clamping still hold. */
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr + PAGE_SIZE,
					       3 * PAGE_SIZE), 3);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr + PAGE_SIZE,
					       UPTR_KUNIT_SIZE), n - 1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr +
					       UPTR_KUNIT_SIZE, PAGE_SIZE), 0);
	/* No KUnit reporting (it allocates) under the domain lock. */
	uptr_domain_lock(&priv->domain);
	valid = uptr_range_valid(range, priv->addr, UPTR_KUNIT_SIZE);
	/* A fully valid range says nothing about spans outside it. */
	outside = uptr_range_valid(range, priv->addr - PAGE_SIZE, PAGE_SIZE) ||
		  uptr_range_valid(range, priv->addr + UPTR_KUNIT_SIZE,
				   PAGE_SIZE) ||
		  uptr_range_valid(range, priv->addr,
				   UPTR_KUNIT_SIZE + PAGE_SIZE);
	nvalid = range->nvalid;
	for (i = 0; i < n; i++) {
		e = uptr_range_entry(range, uptr_kunit_page(priv, i));
		if ((e & (UPTR_ENTRY_VALID | UPTR_ENTRY_WRITE |
			  UPTR_ENTRY_DEVICE_PRIVATE)) !=
		    (UPTR_ENTRY_VALID | UPTR_ENTRY_WRITE))
			bad_flags++;
		/*
		 * 16 pages of a fresh mapping: small pages, or mTHP folios
		 * when the kernel's mTHP sizes say so.  No block is larger
		 * than the folio it lies in, and range->pages holds the page
		 * of the first entry of each block, NULL for the others.
		 */
		o = uptr_entry_order(e);
		page = uptr_kunit_entry_page(priv, e);
		if (!page || o > folio_order(page_folio(page)))
			bad_order++;
		if (range->pages &&
		    range->pages[i] != (IS_ALIGNED(uptr_kunit_page(priv, i),
						   PAGE_SIZE << o) ? page : NULL))
			bad_page++;
	}
	uptr_domain_unlock(&priv->domain);
	KUNIT_EXPECT_TRUE(test, valid);
	KUNIT_EXPECT_FALSE(test, outside);
	KUNIT_EXPECT_EQ(test, nvalid, n);
	KUNIT_EXPECT_EQ(test, bad_flags, 0);
	KUNIT_EXPECT_EQ(test, bad_order, 0);
	KUNIT_EXPECT_EQ(test, bad_page, 0);

	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_PAGES_POPULATED),
			n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_POPULATES), 1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_PINNED),
			uptr_kunit_expect_pinned(priv, n));
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n));

	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);

	/* The device writes, the CPU reads. */
	uptr_kunit_device_write(test, 3, 0xdec0de00);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);

	/*
	 * Populating a valid range again costs no page walk with either
	 * backend: no GUP for PIN, no hmm_range_fault() for FAULT.
	 */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_CACHE_HITS), 1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_POPULATES), 1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_INVALIDATIONS),
			0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n));

	/* The locked variant returns with the lock held and the span valid. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate_lock(range,
						       uptr_kunit_page(priv, 2),
						       4 * PAGE_SIZE, 0), 0);
	lockdep_assert_held(&priv->domain.lock);
	valid = uptr_range_valid(range, uptr_kunit_page(priv, 2),
				 4 * PAGE_SIZE);
	uptr_domain_unlock(&priv->domain);
	KUNIT_EXPECT_TRUE(test, valid);
}

/* A read-only range never populates for write; entries are read-only. */
static void uptr_kunit_read_only_range(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	unsigned long i, writable = 0;

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x0bad0000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, UPTR_RANGE_READ_ONLY),
			0);

	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), -EPERM);
	KUNIT_EXPECT_EQ(test, uptr_range_fault(range, priv->addr,
					       UPTR_POPULATE_WRITE), -EPERM);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);

	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE, 0), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE),
			UPTR_KUNIT_NPAGES);
	for (i = 0; i < UPTR_KUNIT_NPAGES; i++)
		if (uptr_kunit_entry(priv, uptr_kunit_page(priv, i)) &
		    UPTR_ENTRY_WRITE)
			writable++;
	KUNIT_EXPECT_EQ(test, writable, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, UPTR_KUNIT_NPAGES));
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE),
			UPTR_KUNIT_NPAGES);
}

/* A mapping without write permission: -EACCES for write. */
static void uptr_kunit_read_only_vma(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	unsigned long addr, before;
	int err;

	addr = kunit_vm_mmap(test, NULL, 0, UPTR_KUNIT_SIZE, PROT_READ,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, !addr || IS_ERR_VALUE(addr));
	priv->addr = addr;
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);

	before = uptr_pinned_pages_total();
	err = uptr_range_populate(&priv->range, addr, UPTR_KUNIT_SIZE,
				  UPTR_POPULATE_WRITE);
	KUNIT_EXPECT_EQ(test, err, -EACCES);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, addr, UPTR_KUNIT_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_pinned_pages_total(), before);

	/*
	 * A read populate mirrors read-only with both backends: PIN falls
	 * back to pinning for reading (the untouched pages are the zero
	 * page, mapped DMA_TO_DEVICE: no DMA-API overlap report).
	 */
	err = uptr_range_populate(&priv->range, addr, UPTR_KUNIT_SIZE, 0);
	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, addr, UPTR_KUNIT_SIZE),
			UPTR_KUNIT_NPAGES);
	KUNIT_EXPECT_FALSE(test, uptr_kunit_entry(priv, addr) &
			   UPTR_ENTRY_WRITE);
	KUNIT_EXPECT_EQ(test, uptr_pinned_pages_total(), before +
			(priv->backend == UPTR_BACKEND_PIN ?
			 UPTR_KUNIT_NPAGES : 0));
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, addr,
						      UPTR_KUNIT_SIZE),
			UPTR_KUNIT_NPAGES);

	/* Write is still refused. */
	err = uptr_range_populate(&priv->range, addr, UPTR_KUNIT_SIZE,
				  UPTR_POPULATE_WRITE);
	KUNIT_EXPECT_EQ(test, err, -EACCES);
}

/* munmap of a sub-range invalidates exactly that sub-range. */
static void uptr_kunit_munmap_subrange(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long n = UPTR_KUNIT_NPAGES;
	unsigned long hole = uptr_kunit_page(priv, 4);
	u64 unmaps;

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x13570000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_ASSERT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n);
	uptr_kunit_reset_inval(priv);
	unmaps = uptr_domain_event_count(&priv->domain, MMU_NOTIFY_UNMAP);

	KUNIT_ASSERT_EQ(test, vm_munmap(hole, 4 * PAGE_SIZE), 0);

	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, hole, 4 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr, 4 * PAGE_SIZE),
			4);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, hole + 4 * PAGE_SIZE,
					       8 * PAGE_SIZE), 8);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), n - 4);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_PINNED),
			uptr_kunit_expect_pinned(priv, n - 4));
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n - 4));
	KUNIT_EXPECT_GE(test, uptr_kunit_stat(priv, UPTR_STAT_INVALIDATIONS),
			1);
	KUNIT_EXPECT_GT(test, uptr_domain_event_count(&priv->domain,
						      MMU_NOTIFY_UNMAP),
			unmaps);
	/* The driver was asked to stop exactly the unmapped pages. */
	KUNIT_EXPECT_GE(test, priv->ninval, 1);
	KUNIT_EXPECT_EQ(test, priv->nblockable, priv->ninval);
	KUNIT_EXPECT_EQ(test, priv->inval_start, hole);
	KUNIT_EXPECT_EQ(test, priv->inval_end, hole + 4 * PAGE_SIZE);
	KUNIT_EXPECT_GE(test, range->gen, 1);

	/* The rest still mirrors the right pages. */
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      4 * PAGE_SIZE), 4);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test,
						      hole + 4 * PAGE_SIZE,
						      8 * PAGE_SIZE), 8);

	/* Populating over the hole fails and leaves the rest as it was. */
	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE, 0), -EFAULT);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n - 4);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n - 4));

	/* Unmapping the rest drops everything. */
	KUNIT_ASSERT_EQ(test, vm_munmap(priv->addr, UPTR_KUNIT_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);
}

/* zap_page_range_single() of a sub-range: CLEAR, exactly that sub-range. */
static void uptr_kunit_zap_subrange(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long n = UPTR_KUNIT_NPAGES;
	unsigned long zap = uptr_kunit_page(priv, 2);
	u64 clears, gen;

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x24680000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	uptr_kunit_reset_inval(priv);
	clears = uptr_domain_event_count(&priv->domain, MMU_NOTIFY_CLEAR);
	gen = range->gen;

	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm, zap,
					       3 * PAGE_SIZE));

	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, zap, 3 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n - 3);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), n - 3);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n - 3));
	KUNIT_EXPECT_GT(test, uptr_domain_event_count(&priv->domain,
						      MMU_NOTIFY_CLEAR),
			clears);
	KUNIT_EXPECT_EQ(test, priv->inval_start, zap);
	KUNIT_EXPECT_EQ(test, priv->inval_end, zap + 3 * PAGE_SIZE);
	KUNIT_EXPECT_GT(test, range->gen, gen);

	/* Re-populate: the zapped pages come back as zero pages. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n));
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);
	KUNIT_EXPECT_TRUE(test, uptr_kunit_user_zero(test, zap));
}

/* An invalidation between collection and commit makes populate retry. */
static void uptr_kunit_retry_race(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long n = UPTR_KUNIT_NPAGES;
	bool valid;
	u64 clears;

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x77770000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	clears = uptr_domain_event_count(&priv->domain, MMU_NOTIFY_CLEAR);

	priv->zap_addr = uptr_kunit_page(priv, 5);
	priv->zap_in_commit = 1;
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, priv->zap_in_commit, 0);
	KUNIT_EXPECT_GE(test, uptr_kunit_stat(priv, UPTR_STAT_RETRIES), 1);
	KUNIT_EXPECT_GT(test, uptr_domain_event_count(&priv->domain,
						      MMU_NOTIFY_CLEAR),
			clears);
	/* Nothing was valid when the zap ran: the driver was not called. */
	KUNIT_EXPECT_EQ(test, priv->ninval, 0);

	/* The stale collection was thrown away, nothing of it leaked. */
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_PINNED),
			uptr_kunit_expect_pinned(priv, n));
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n));

	/* The device sees the page the CPU sees: the new, zeroed one. */
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);
	KUNIT_EXPECT_TRUE(test, uptr_kunit_user_zero(test, priv->zap_addr));

	/* The same through uptr_range_populate_lock(), for a sub-range. */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm, priv->addr,
					       2 * PAGE_SIZE));
	priv->zap_addr = priv->addr;
	priv->zap_in_commit = 1;
	KUNIT_ASSERT_EQ(test, uptr_range_populate_lock(range, priv->addr,
						       2 * PAGE_SIZE,
						       UPTR_POPULATE_WRITE), 0);
	valid = uptr_range_valid(range, priv->addr, 2 * PAGE_SIZE);
	uptr_domain_unlock(&priv->domain);
	KUNIT_EXPECT_TRUE(test, valid);
	KUNIT_EXPECT_EQ(test, priv->zap_in_commit, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n));
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);
}

/* A hole in the span: -EFAULT, and nothing stays pinned or mapped. */
static void uptr_kunit_hole_efault(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	unsigned long hole = uptr_kunit_page(priv, 9);

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x99990000);
	KUNIT_ASSERT_EQ(test, vm_munmap(hole, PAGE_SIZE), 0);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);

	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), -EFAULT);
	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, hole, PAGE_SIZE, 0),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, uptr_range_fault(range, hole, 0), -EFAULT);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_PINNED), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);

	/* The part before the hole still works. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  9 * PAGE_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), 9);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, 9));
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      9 * PAGE_SIZE), 9);
}

/*
 * Call the interval notifier as the notifier core does for a non-blockable
 * range (mn_itree_invalidate(), from __oom_reap_task_mm()): inside
 * non_block_start()/non_block_end(), so that anything on that path that
 * may sleep is a "sleeping function called from invalid context" report
 * (CONFIG_DEBUG_ATOMIC_SLEEP), which fails the run.
 */
static bool uptr_kunit_invalidate_nonblock(struct uptr_range *range,
					   const struct mmu_notifier_range *nrange,
					   unsigned long seq)
{
	bool ok;

	non_block_start();
	ok = range->notifier.ops->invalidate(&range->notifier, nrange, seq);
	non_block_end();
	return ok;
}

/* The OOM reaper's non-blockable path, by calling the notifier directly. */
static void uptr_kunit_nonblock(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long n = UPTR_KUNIT_NPAGES;
	struct mmu_notifier_range nrange;
	unsigned long seq;
	bool ok;

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x00c0ffee);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	uptr_kunit_reset_inval(priv);

	/* What __oom_reap_task_mm() hands over: no RANGE_BLOCKABLE flag. */
	mmu_notifier_range_init(&nrange, MMU_NOTIFY_UNMAP, 0, current->mm,
				priv->addr, priv->addr + 4 * PAGE_SIZE);
	KUNIT_ASSERT_FALSE(test, mmu_notifier_range_blockable(&nrange));
	/*
	 * A fresh odd sequence, as the notifier core hands out while an
	 * invalidation runs: never equal to the idle (even) sequence, so a
	 * later mmu_interval_read_begin() does not wait for it.
	 */
	seq = (READ_ONCE(range->notifier.invalidate_seq) + 2) | 1;

	/* The domain lock is busy: trylock fails, nothing is touched. */
	uptr_domain_lock(&priv->domain);
	ok = uptr_kunit_invalidate_nonblock(range, &nrange, seq);
	uptr_domain_unlock(&priv->domain);
	KUNIT_EXPECT_FALSE(test, ok);
	KUNIT_EXPECT_EQ(test, priv->ninval, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_NONBLOCK_FAILED),
			1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n);

	/* The device is busy: the driver says no, entries stay valid. */
	priv->refuse = true;
	seq += 2;
	KUNIT_EXPECT_FALSE(test, uptr_kunit_invalidate_nonblock(range, &nrange,
								seq));
	KUNIT_EXPECT_EQ(test, priv->ninval, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_NONBLOCK_FAILED),
			2);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_INVALIDATIONS),
			0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n));
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);

	/* The device is idle: it agrees, the sub-range is dropped. */
	priv->refuse = false;
	seq += 2;
	KUNIT_EXPECT_TRUE(test, uptr_kunit_invalidate_nonblock(range, &nrange,
							       seq));
	KUNIT_EXPECT_EQ(test, priv->ninval, 1);
	KUNIT_EXPECT_EQ(test, priv->nblockable, 0);
	KUNIT_EXPECT_EQ(test, priv->inval_start, priv->addr);
	KUNIT_EXPECT_EQ(test, priv->inval_end, priv->addr + 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n - 4);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_INVALIDATIONS),
			1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_NONBLOCK_FAILED),
			2);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n - 4));

	/* Nothing happened to the CPU mapping: re-populate, same data. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);
}

/* Bad arguments of uptr_range_init(), populate and fault. */
static void uptr_kunit_bad_args(struct kunit *test)
{
	enum { BUF, ABS, TOP };	/* what the start is relative to */
	static const struct {
		const char *what;
		int base;
		unsigned long start;
		unsigned long length;
		int backend;		/* -1: the case's backend */
		unsigned int flags;
		int err;
	} cases[] = {
		{ "unaligned start", BUF, 1, PAGE_SIZE, -1, 0, -EINVAL },
		{ "unaligned length", BUF, 0, PAGE_SIZE + 1, -1, 0, -EINVAL },
		{ "zero length", BUF, 0, 0, -1, 0, -EINVAL },
		{ "unknown flag", BUF, 0, PAGE_SIZE, -1, BIT(7), -EINVAL },
		{ "unknown backend", BUF, 0, PAGE_SIZE, 7, 0, -EINVAL },
		{ "wrap", ABS, PAGE_MASK, 2 * PAGE_SIZE, -1, 0, -EOVERFLOW },
		{ "beyond task_size", TOP, -PAGE_SIZE, 2 * PAGE_SIZE, -1, 0,
		  -EFAULT },
		{ "at task_size", TOP, 0, PAGE_SIZE, -1, 0, -EFAULT },
		{ "up to task_size", TOP, -PAGE_SIZE, PAGE_SIZE, -1, 0, 0 },
	};
	struct uptr_kunit_priv *priv = test->priv;
	struct mm_struct *mm = current->mm;
	struct uptr_range *range = &priv->range;
	unsigned long start, a = priv->addr;
	enum uptr_backend backend;
	unsigned int i;
	bool valid;
	int err;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		start = cases[i].start;
		if (cases[i].base == BUF)
			start += priv->addr;
		else if (cases[i].base == TOP)
			start += mm->task_size;
		backend = priv->backend;
		if (cases[i].backend >= 0)
			backend = cases[i].backend;
		err = uptr_range_init(range, &priv->domain, mm, start,
				      cases[i].length, backend, cases[i].flags,
				      &uptr_kunit_ops);
		KUNIT_EXPECT_EQ_MSG(test, err, cases[i].err, "%s", cases[i].what);
		if (!err)
			uptr_range_fini(range);
	}
	KUNIT_EXPECT_EQ(test, uptr_range_init(range, &priv->domain, mm, a,
					      PAGE_SIZE, priv->backend, 0,
					      NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, uptr_range_init(range, &priv->domain, mm, a,
					      PAGE_SIZE, priv->backend, 0,
					      &uptr_kunit_ops_noinval),
			-EINVAL);

	/* A good range, then bad spans. */
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, a + 1, PAGE_SIZE, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, a, PAGE_SIZE - 1, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, a, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, a, PAGE_SIZE, BIT(9)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, a, PAGE_MASK, 0),
			-EOVERFLOW);
	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, a - PAGE_SIZE,
						  2 * PAGE_SIZE, 0), -ERANGE);
	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, a,
						  UPTR_KUNIT_SIZE + PAGE_SIZE,
						  0), -ERANGE);
	KUNIT_EXPECT_EQ(test, uptr_range_fault(range, a - 1, 0), -ERANGE);
	KUNIT_EXPECT_EQ(test, uptr_range_fault(range, a + UPTR_KUNIT_SIZE, 0),
			-ERANGE);
	KUNIT_EXPECT_EQ(test, uptr_range_fault(range, a, BIT(9)), -EINVAL);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a, UPTR_KUNIT_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);

	/* Queries clamp to the range instead of reading past it. */
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a + UPTR_KUNIT_SIZE,
					       PAGE_SIZE), 0);
	uptr_domain_lock(&priv->domain);
	valid = uptr_range_valid(range, a - PAGE_SIZE, PAGE_SIZE);
	uptr_domain_unlock(&priv->domain);
	KUNIT_EXPECT_FALSE(test, valid);

	/* Nothing was mirrored by any of that. */
	for (i = 0; i < UPTR_STAT_NR; i++)
		KUNIT_EXPECT_EQ_MSG(test, uptr_kunit_stat(priv, i), 0,
				    "counter %u", i);
}

/*
 * A device fault on one absent page of a FAULT range mirrors that page and
 * only the pages already present in the window around it.  A PIN range
 * populates everything.
 */
static void uptr_kunit_fault_window(struct kunit *test)
{
	static const unsigned int present[] = { 0, 3, 5, 6, 12, 15 };
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long n = UPTR_KUNIT_NPAGES;
	const unsigned long fault = uptr_kunit_page(priv, 9);
	unsigned long ws, we, i, a, expect = 0, wrong = 0;
	unsigned long got_mask = 0, want_mask = 0;
	bool is_present[UPTR_KUNIT_NPAGES] = { };
	uptr_entry_t e;

	/* Make some pages present, by writing them; the rest stay none. */
	for (i = 0; i < ARRAY_SIZE(present); i++) {
		uptr_kunit_fill(test, uptr_kunit_page(priv, present[i]),
				PAGE_SIZE, 0xfa000000 + i);
		is_present[present[i]] = true;
	}
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_fault(range, fault, 0), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_FAULTS), 1);

	if (priv->backend == UPTR_BACKEND_PIN) {
		KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
						       UPTR_KUNIT_SIZE), n);
		KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), n);
		KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
							      UPTR_KUNIT_SIZE),
				n);
		return;
	}

	/* The window is naturally aligned, range->window bytes. */
	ws = ALIGN_DOWN(fault, range->window);
	we = ws + range->window;
	uptr_domain_lock(&priv->domain);
	for (i = 0; i < n; i++) {
		bool want;

		a = uptr_kunit_page(priv, i);
		want = a == fault || (is_present[i] && a >= ws && a < we);
		e = uptr_range_entry(range, a);
		if (!!(e & UPTR_ENTRY_VALID) != want)
			wrong++;
		expect += want;
		got_mask |= (unsigned long)!!(e & UPTR_ENTRY_VALID) << i;
		want_mask |= (unsigned long)want << i;
	}
	/* A read fault on an absent anonymous page maps the zero page. */
	e = uptr_range_entry(range, fault);
	uptr_domain_unlock(&priv->domain);
	KUNIT_EXPECT_EQ_MSG(test, wrong, 0,
			    "valid %#lx, want %#lx, window %#lx-%#lx, buffer %#lx",
			    got_mask, want_mask, ws, we, priv->addr);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), expect);
	KUNIT_EXPECT_TRUE(test, e & UPTR_ENTRY_VALID);
	KUNIT_EXPECT_FALSE(test, e & UPTR_ENTRY_WRITE);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_PINNED), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);

	/* A write fault replaces the zero page (CLEAR) and maps it writable. */
	KUNIT_ASSERT_EQ(test, uptr_range_fault(range, fault + 8,
					       UPTR_POPULATE_WRITE), 0);
	e = uptr_kunit_entry(priv, fault);
	KUNIT_EXPECT_TRUE(test, e & UPTR_ENTRY_VALID);
	KUNIT_EXPECT_TRUE(test, e & UPTR_ENTRY_WRITE);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), expect);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE),
			expect);

	/* A snapshot populate mirrors present pages only, faults nothing. */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm, priv->addr,
					       UPTR_KUNIT_SIZE));
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), 0);
	uptr_kunit_fill(test, uptr_kunit_page(priv, 1), 2 * PAGE_SIZE,
			0x5a5a0000);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_SNAPSHOT), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), 2);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, uptr_kunit_page(priv, 1),
					       2 * PAGE_SIZE), 2);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), 2);
}

/* uptr_range_fini() with valid entries releases everything. */
static void uptr_kunit_fini_valid(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	const unsigned long n = UPTR_KUNIT_NPAGES;

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0xf1f10000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(&priv->range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n));

	uptr_kunit_range_fini(priv);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_PINNED), 0);
	/* No invalidation was involved. */
	KUNIT_EXPECT_EQ(test, priv->ninval, 0);

	/* The memory is the process' again: a new range works. */
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(&priv->range, priv->addr,
						  UPTR_KUNIT_SIZE, 0), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);
}

/*
 * The case's kthread exits with the range populated: its mm is torn down
 * (an UNMAP invalidation of everything) while or before .exit calls
 * uptr_range_fini() from another kthread, which then checks the counts.
 */
static void uptr_kunit_exit_with_range(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0xe0e00000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(&priv->range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, UPTR_KUNIT_NPAGES));
}

/* A domain without a device publishes physical addresses. */
static void uptr_kunit_no_device(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	const unsigned long n = UPTR_KUNIT_NPAGES;
	unsigned long i, bad = 0;
	uptr_entry_t e;

	/* Swap the case's domain for one without a device. */
	uptr_domain_fini(&priv->domain);
	KUNIT_ASSERT_EQ(test, uptr_domain_init(&priv->domain, NULL, NULL), 0);

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x0de50000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(&priv->range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	if (priv->backend == UPTR_BACKEND_PIN) {
		uptr_domain_lock(&priv->domain);
		for (i = 0; i < n; i++) {
			e = uptr_range_entry(&priv->range,
					     uptr_kunit_page(priv, i));
			if (uptr_entry_addr(e) !=
			    page_to_phys(priv->range.pages[i]))
				bad++;
		}
		uptr_domain_unlock(&priv->domain);
		KUNIT_EXPECT_EQ(test, bad, 0);
	}
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);
	KUNIT_ASSERT_EQ(test, vm_munmap(priv->addr, UPTR_KUNIT_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);
}

static int uptr_kunit_range_init_hooks(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	int err;

	err = uptr_range_init(&priv->range, &priv->domain, current->mm,
			      priv->addr, UPTR_KUNIT_SIZE, priv->backend, 0,
			      &uptr_kunit_ops_hooks);
	priv->range_live = !err;
	return err;
}

/*
 * Issue 10 item 5: FAULT must not use a page that hmm_range_fault()
 * returned (device-private test, DMA mapping) before the notifier sequence
 * says it is still current: by then it may be freed.  The before_commit
 * hook runs between the collection and the sequence check; it zaps a page
 * (freeing it) and records how many blocks were DMA-mapped at that point:
 * none may be, and the stale collection must never be mapped at all.
 */
static void uptr_kunit_fault_stale_page_use(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long n = UPTR_KUNIT_NPAGES;

	priv->backend = UPTR_BACKEND_FAULT;
	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x57a1e000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init_hooks(test), 0);

	priv->zap_addr = uptr_kunit_page(priv, 5);
	priv->zap_in_commit = 1;
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, priv->zap_in_commit, 0);
	KUNIT_EXPECT_GE(test, priv->nhook, 2);
	KUNIT_EXPECT_GE(test, uptr_kunit_stat(priv, UPTR_STAT_RETRIES), 1);
	KUNIT_EXPECT_EQ_MSG(test, priv->hook_dma_mapped, 0,
			    "pages DMA-mapped before the sequence check");
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);

	uptr_kunit_range_fini(priv);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), 0);
}

/*
 * Issue 10 item 6: a driver that refuses a blockable invalidation cannot
 * stop the mm: the entries must be dropped anyway (DMA mappings, pins),
 * counted, and the kernel told once (no WARN: that is the driver's bug).
 */
static void uptr_kunit_refused_blockable(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long n = UPTR_KUNIT_NPAGES;
	unsigned long zap = uptr_kunit_page(priv, 2);

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x4ef05e00);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init_hooks(test), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_ASSERT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), n);
	uptr_kunit_reset_inval(priv);

	priv->refuse_blockable = true;
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm, zap,
					       4 * PAGE_SIZE));
	priv->refuse_blockable = false;

	KUNIT_EXPECT_EQ(test, priv->nrefused, 1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_REFUSED), 1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_NONBLOCK_FAILED),
			0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, zap, 4 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n - 4);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), n - 4);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED),
			n - 4);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_INVALIDATIONS),
			1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n - 4));

	/* The mirror follows the CPU again: the zapped pages read zero. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);
	KUNIT_EXPECT_TRUE(test, uptr_kunit_user_zero(test, zap));
}

/*
 * Issue 10 item 7: a block that a commit finds valid in the range already
 * is not installed, and must not stay pinned or DMA-mapped.  Only a commit
 * makes entries valid and populate_lock serialises them, so the hook
 * commits a whole populate of the range (uptr_populate_once()) while the
 * outer populate waits between its collection and its commit.
 */
static void uptr_kunit_commit_skip_leak(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long n = UPTR_KUNIT_NPAGES;
	u64 retries;

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x1eaf0000);
	/*
	 * A long-term pin first migrates pages out of ZONE_MOVABLE, an
	 * invalidation that would make the outer populate retry instead of
	 * commit: move them once, before the range that is tested.
	 */
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	uptr_kunit_range_fini(priv);

	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init_hooks(test), 0);
	retries = uptr_kunit_stat(priv, UPTR_STAT_RETRIES);
	priv->nested_in_commit = 1;
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, priv->addr,
						  UPTR_KUNIT_SIZE,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, priv->nested_in_commit, 0);
	KUNIT_EXPECT_EQ(test, priv->nested_err, 0);
	/* The outer commit met the nested one's entries: no retry. */
	KUNIT_EXPECT_EQ(test, priv->nhook, 2);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_RETRIES), retries);

	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_PINNED),
			uptr_kunit_expect_pinned(priv, n));
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n));
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);

	uptr_kunit_range_fini(priv);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);
}

/*
 * Issue 10 item 8: uptr maps pages for a long time without CPU syncs, which
 * a swiotlb bounce buffer cannot honour: a device whose DMA would bounce
 * is refused at uptr_domain_init(), one that reaches all memory directly
 * is accepted.
 */
static void uptr_kunit_domain_bounce(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_domain *domain;
	struct device *dev;
	int err;

	domain = kunit_kzalloc(test, sizeof(*domain), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, domain);

	/* The case's device: 64-bit mask, dma-direct, no bouncing. */
	KUNIT_EXPECT_FALSE(test, dma_addressing_limited(priv->dev));
	err = uptr_domain_init(domain, priv->dev, NULL);
	KUNIT_EXPECT_EQ(test, err, 0);
	if (!err)
		uptr_domain_fini(domain);

	/* A bus that only reaches the first GiB: pages above it bounce. */
	dev = kunit_device_register(test, "uptr_kunit_b30");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	KUNIT_ASSERT_EQ(test, dma_coerce_mask_and_coherent(dev,
							   DMA_BIT_MASK(64)),
			0);
	dev->bus_dma_limit = DMA_BIT_MASK(30);
	KUNIT_ASSERT_TRUE(test, dma_addressing_limited(dev));
	err = uptr_domain_init(domain, dev, NULL);
	KUNIT_EXPECT_EQ(test, err, -EOPNOTSUPP);
	if (!err)
		uptr_domain_fini(domain);

#if IS_ENABLED(CONFIG_SWIOTLB)
	{
		struct io_tlb_mem *mem, *saved;

		/* swiotlb forced (swiotlb=force, encrypted guest memory). */
		dev = kunit_device_register(test, "uptr_kunit_bounce");
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
		KUNIT_ASSERT_EQ(test,
				dma_coerce_mask_and_coherent(dev,
							     DMA_BIT_MASK(64)),
				0);
		mem = kunit_kzalloc(test, sizeof(*mem), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, mem);
		mem->force_bounce = true;
		/* Only looked at, never used to map: restored at once. */
		saved = dev->dma_io_tlb_mem;
		dev->dma_io_tlb_mem = mem;
		err = uptr_domain_init(domain, dev, NULL);
		dev->dma_io_tlb_mem = saved;
		KUNIT_EXPECT_EQ(test, err, -EOPNOTSUPP);
		if (!err)
			uptr_domain_fini(domain);
	}
#endif
}

/* The pages pinned since .init: pinned_vm must charge exactly those. */
static void uptr_kunit_expect_charge(struct kunit *test, const char *when)
{
	struct uptr_kunit_priv *priv = test->priv;
	s64 total = uptr_pinned_pages_total() - priv->pinned_total;
	s64 vm = atomic64_read(&priv->range.mm->pinned_vm) - priv->pinned_vm;

	KUNIT_EXPECT_EQ_MSG(test, vm, total,
			    "%s: pinned_vm charges %lld pages for %lld pins",
			    when, vm, total);
}

struct uptr_kunit_zapper {
	struct uptr_kunit_priv *priv;
	unsigned long addr;
	unsigned long len;
	struct completion done;
};

static int uptr_kunit_zap_thread(void *data)
{
	struct uptr_kunit_zapper *z = data;

	uptr_kunit_zap(z->priv->range.mm, z->addr, z->len);
	complete(&z->done);
	return 0;
}

struct uptr_kunit_populater {
	struct uptr_range *range;
	unsigned long start;
	unsigned long len;
	int err;
	struct completion done;
};

static int uptr_kunit_populate_thread(void *data)
{
	struct uptr_kunit_populater *p = data;

	p->err = uptr_range_populate(p->range, p->start, p->len, 0);
	complete(&p->done);
	return 0;
}

/*
 * Item 2 of issue 10, PIN memlock accounting race: a populate that counted
 * the pages to charge while a zap was still dropping entries pinned more
 * than it charged, so pinned_vm drifted below the pins held (and went
 * negative at release), letting later pins past RLIMIT_MEMLOCK.
 *
 * Deterministic interleaving: the zap's invalidate callback blocks, entries
 * still valid, while a populate of the range starts in another kthread; the
 * populate counts what is invalid, then sleeps in mmu_interval_read_begin()
 * until the zap ends; the callback is released only once the populating
 * kthread sleeps.  Afterwards pinned_vm must equal the pins held, and be
 * back at its baseline when the range is gone.
 */
static void uptr_kunit_i10_memlock_race(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long n = UPTR_KUNIT_NPAGES;
	struct uptr_kunit_populater pop = {};
	struct uptr_kunit_zapper zap = {};
	struct task_struct *zt, *pt;
	unsigned long spins = 0;

	if (priv->backend != UPTR_BACKEND_PIN)
		kunit_skip(test, "PIN only: FAULT charges nothing");

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0x13570000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	/* Pages 1..n-2 valid, 0 and n-1 not: the populate counts 2. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range,
						  uptr_kunit_page(priv, 1),
						  (n - 2) * PAGE_SIZE, 0), 0);
	KUNIT_ASSERT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n - 2);
	uptr_kunit_expect_charge(test, "before the race");

	init_completion(&priv->inval_entered);
	init_completion(&priv->inval_go);
	WRITE_ONCE(priv->block_inval, true);
	zap.priv = priv;
	zap.addr = uptr_kunit_page(priv, 1);
	zap.len = (n - 2) * PAGE_SIZE;
	init_completion(&zap.done);
	zt = kthread_run(uptr_kunit_zap_thread, &zap, "uptr_kunit_zap");
	KUNIT_ASSERT_FALSE(test, IS_ERR(zt));
	wait_for_completion(&priv->inval_entered);

	pop.range = range;
	pop.start = priv->addr;
	pop.len = UPTR_KUNIT_SIZE;
	init_completion(&pop.done);
	pt = kthread_create(uptr_kunit_populate_thread, &pop, "uptr_kunit_pop");
	if (IS_ERR(pt)) {
		complete(&priv->inval_go);
		wait_for_completion(&zap.done);
		KUNIT_FAIL(test, "kthread_create: %ld", PTR_ERR(pt));
		return;
	}
	get_task_struct(pt);
	wake_up_process(pt);
	/*
	 * The populate can only sleep once it waits for the zap to end in
	 * mmu_interval_read_begin(): its range lock is free, the domain lock
	 * it does not take before that.  Poll for that sleep.
	 */
	while (task_is_running(pt) && !completion_done(&pop.done)) {
		cond_resched();
		if (++spins % 1000 == 0)
			schedule_timeout_uninterruptible(1);
	}
	complete(&priv->inval_go);
	wait_for_completion(&zap.done);
	wait_for_completion(&pop.done);
	put_task_struct(pt);

	KUNIT_EXPECT_EQ(test, pop.err, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_PINNED), n);
	KUNIT_EXPECT_EQ(test, uptr_pinned_pages_total() - priv->pinned_total,
			n);
	uptr_kunit_expect_charge(test, "after the race");
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, priv->addr,
						      UPTR_KUNIT_SIZE), n);

	uptr_kunit_range_fini(priv);
	KUNIT_EXPECT_EQ_MSG(test, atomic64_read(&current->mm->pinned_vm),
			    priv->pinned_vm,
			    "pinned_vm not back at its baseline");
}

/*
 * Item 3 of issue 10: uptr_range_count_valid() clamped the start of a span
 * that began below the range but not its length, so a span entirely below
 * the range counted pages, and one straddling the start counted too many.
 * Spans below, straddling the start, inside, straddling the end, above and
 * covering the range, on a fully valid range (the O(1) path) and on one
 * with holes (the scan).
 */
static void uptr_kunit_i10_count_valid_spans(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long n = UPTR_KUNIT_NPAGES;
	unsigned long a = priv->addr, end = a + UPTR_KUNIT_SIZE;

	uptr_kunit_fill(test, a, UPTR_KUNIT_SIZE, 0x24240000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, a, UPTR_KUNIT_SIZE,
						  0), 0);

	/* Fully valid. */
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a - 4 * PAGE_SIZE,
					       2 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a - 4 * PAGE_SIZE,
					       4 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a - 2 * PAGE_SIZE,
					       5 * PAGE_SIZE), 3);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a + 3 * PAGE_SIZE,
					       5 * PAGE_SIZE), 5);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, end - 2 * PAGE_SIZE,
					       5 * PAGE_SIZE), 2);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, end, 2 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a - PAGE_SIZE,
					       UPTR_KUNIT_SIZE + 2 * PAGE_SIZE),
			n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a - PAGE_SIZE, ULONG_MAX),
			n);

	/* Pages 0, 1 and n-1 dropped: the scan. */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm, a, 2 * PAGE_SIZE));
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm, end - PAGE_SIZE,
					       PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a - 4 * PAGE_SIZE,
					       3 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a - 2 * PAGE_SIZE,
					       5 * PAGE_SIZE), 1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a + 3 * PAGE_SIZE,
					       5 * PAGE_SIZE), 5);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, end - 3 * PAGE_SIZE,
					       5 * PAGE_SIZE), 2);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, end, 2 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a - PAGE_SIZE,
					       UPTR_KUNIT_SIZE + 2 * PAGE_SIZE),
			n - 3);
}

/*
 * Item 4 of issue 10: a range above UPTR_RANGE_MAX_SIZE is refused with
 * -E2BIG before anything is allocated for it (a 1 TiB range made
 * kvcalloc() WARN in __kvmalloc_node_noprof), and a range of exactly the
 * maximum is accepted.
 */
static int uptr_kunit_try_init(struct kunit *test, unsigned long start,
			       unsigned long length)
{
	struct uptr_kunit_priv *priv = test->priv;
	int err;

	err = uptr_range_init(&priv->range, &priv->domain, current->mm, start,
			      length, priv->backend, 0, &uptr_kunit_ops);
	/* Accepted where it should not be: do not leave it registered. */
	if (!err)
		uptr_range_fini(&priv->range);
	return err;
}

static void uptr_kunit_i10_range_max_size(struct kunit *test)
{
	/* A low user address: registering needs no mapping. */
	const unsigned long start = SZ_1G;

	KUNIT_EXPECT_EQ(test, uptr_kunit_try_init(test, start, 1UL << 40),
			-E2BIG);
	KUNIT_EXPECT_EQ(test, uptr_kunit_try_init(test, start,
						  UPTR_RANGE_MAX_SIZE +
						  PAGE_SIZE), -E2BIG);
	KUNIT_EXPECT_EQ(test, uptr_kunit_try_init(test, start,
						  -start - PAGE_SIZE), -E2BIG);
	KUNIT_EXPECT_EQ(test, uptr_kunit_try_init(test, start, PAGE_SIZE), 0);
}

/*
 * Issue 12: populate works per block.  A block is a naturally aligned run
 * of 2^order pages, physically contiguous, DMA-mapped once; every entry of
 * it carries that order and the address of its own page.
 */

#define UPTR_KUNIT_THP_PAGES	(SZ_2M >> PAGE_SHIFT)

/*
 * The order of the folio the CPU maps at @addr, and in *@pmd whether a PMD
 * maps it as a whole (what the i12 cases below take for granted: one PMD
 * is one order-9 block for both backends).
 */
static unsigned int uptr_kunit_folio_order(struct kunit *test,
					   unsigned long addr, bool *pmd)
{
	struct folio *folio;
	struct page *page;
	unsigned int order;

	KUNIT_ASSERT_EQ(test, get_user_pages_fast(addr, 1, 0, &page), 1);
	folio = page_folio(page);
	order = folio_order(folio);
	*pmd = folio_test_large(folio) && folio_entire_mapcount(folio) > 0;
	put_page(page);
	return order;
}

/*
 * A 2 MiB aligned anonymous buffer, madvised for THP and written (which
 * faults in one PMD-mapped THP), or a skip when the kernel gives no THP
 * (a smaller mTHP folio, or small pages).
 */
static unsigned long uptr_kunit_thp_buf(struct kunit *test)
{
	struct vm_area_struct *vma;
	unsigned long addr, thp;
	unsigned int order;
	bool pmd;

	addr = kunit_vm_mmap(test, NULL, 0, 2 * SZ_2M, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !addr || IS_ERR_VALUE(addr),
			       "kunit_vm_mmap failed: %ld", (long)addr);
	thp = ALIGN(addr, SZ_2M);

	/* MADV_HUGEPAGE, which a module cannot call. */
	mmap_write_lock(current->mm);
	vma = find_vma(current->mm, thp);
	if (vma)
		vm_flags_set(vma, VM_HUGEPAGE);
	mmap_write_unlock(current->mm);
	KUNIT_ASSERT_NOT_NULL(test, vma);

	uptr_kunit_fill(test, thp, SZ_2M, 0x7a9e0000);
	order = uptr_kunit_folio_order(test, thp, &pmd);
	if (order < HPAGE_PMD_ORDER || !pmd)
		kunit_skip(test, "no PMD-mapped THP (folio order %u)", order);
	return thp;
}

/* uptr_kunit_device_write() at any address (its index wraps around). */
static void uptr_kunit_device_write_at(struct kunit *test, unsigned long addr,
				       u32 seed)
{
	struct uptr_kunit_priv *priv = test->priv;

	uptr_kunit_device_write(test, (addr - priv->addr) >> PAGE_SHIFT, seed);
}

static int uptr_kunit_range_init_at(struct kunit *test, unsigned long start,
				    unsigned long len)
{
	struct uptr_kunit_priv *priv = test->priv;
	int err;

	err = uptr_range_init(&priv->range, &priv->domain, current->mm, start,
			      len, priv->backend, 0, &uptr_kunit_ops);
	priv->range_live = !err;
	return err;
}

/*
 * Check the block invariants of the entries of the whole range: every
 * valid entry's block is aligned, inside the range, made of valid entries
 * of that order whose addresses follow the first one page by page.  Write
 * the order of page i to @orders[i] (-1 when invalid).  Return the number
 * of blocks, or -1 on a broken invariant.
 */
static long uptr_kunit_blocks(struct uptr_kunit_priv *priv, int *orders)
{
	struct uptr_range *range = &priv->range;
	unsigned long i, k, n, b, nblocks = 0;
	uptr_entry_t e, h;
	unsigned int o;
	long ret;

	uptr_domain_lock(range->domain);
	for (i = 0; i < range->npages; i++) {
		e = uptr_range_entry(range, range->start + i * PAGE_SIZE);
		orders[i] = -1;
		if (!(e & UPTR_ENTRY_VALID))
			continue;
		o = uptr_entry_order(e);
		orders[i] = o;
		n = 1UL << o;
		/* Aligned in the address space, inside the range. */
		b = ALIGN_DOWN(range->start + i * PAGE_SIZE, n * PAGE_SIZE);
		if (b < range->start || b + n * PAGE_SIZE > range->end)
			goto broken;
		b = (b - range->start) >> PAGE_SHIFT;
		if (b == i)
			nblocks++;
		h = uptr_range_entry(range, range->start + b * PAGE_SIZE);
		k = i - b;
		if (!(h & UPTR_ENTRY_VALID) || uptr_entry_order(h) != o ||
		    uptr_entry_addr(e) != uptr_entry_addr(h) + k * PAGE_SIZE ||
		    (e & ~UPTR_ENTRY_ADDR_MASK) != (h & ~UPTR_ENTRY_ADDR_MASK))
			goto broken;
	}
	ret = nblocks;
	uptr_domain_unlock(range->domain);
	return ret;
broken:
	uptr_domain_unlock(range->domain);
	return -1;
}

/*
 * How the entries of the %UPTR_HUGE_SIZE slot of @addr are stored: the
 * slot's own entry (&uptr_range.huge), or 0 when it is not valid, and in
 * *@npage the number of non-zero per-page entries of the slot's pages that
 * lie in the range.
 */
static uptr_entry_t uptr_kunit_slot(struct uptr_kunit_priv *priv,
				    unsigned long addr, unsigned long *npage)
{
	struct uptr_range *range = &priv->range;
	unsigned long a = ALIGN_DOWN(addr, UPTR_HUGE_SIZE);
	unsigned long end = min(a + UPTR_HUGE_SIZE, range->end);
	uptr_entry_t h;

	uptr_domain_lock(range->domain);
	h = range->huge[uptr_huge_index(range, addr)];
	*npage = 0;
	for (a = max(a, range->start); a < end; a += PAGE_SIZE)
		if (range->entries[(a - range->start) >> PAGE_SHIFT])
			(*npage)++;
	uptr_domain_unlock(range->domain);
	return h;
}

/* The largest aligned block around @i inside [lo, hi), at most @max. */
static unsigned int uptr_kunit_ref_order(unsigned long i, unsigned long lo,
					 unsigned long hi, unsigned int max)
{
	unsigned int o;

	for (o = max; o; o--) {
		unsigned long b = ALIGN_DOWN(i, 1UL << o);

		if (b >= lo && b + (1UL << o) <= hi)
			break;
	}
	return o;
}

/*
 * uptr_kunit_thp_buf() as a range populated for writing, and @orders for
 * uptr_kunit_blocks().  A long-term pin (PIN) first migrates the THP out of
 * ZONE_MOVABLE (the guest has movablecore=): into a THP again when one can
 * be allocated, else into small pages, and then the test is skipped as for
 * no THP at all.  Nothing has been checked yet, so the skip hides nothing.
 */
static unsigned long uptr_kunit_thp_populated(struct kunit *test,
					      int **orders)
{
	struct uptr_kunit_priv *priv = test->priv;
	unsigned long thp = uptr_kunit_thp_buf(test);
	unsigned int order;
	bool pmd;

	*orders = kunit_kcalloc(test, UPTR_KUNIT_THP_PAGES, sizeof(**orders),
				GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, *orders);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init_at(test, thp, SZ_2M), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(&priv->range, thp, SZ_2M,
						  UPTR_POPULATE_WRITE), 0);
	order = uptr_kunit_folio_order(test, thp, &pmd);
	if (order < HPAGE_PMD_ORDER || !pmd)
		kunit_skip(test, "THP not PMD-mapped after the populate (folio order %u)",
			   order);
	return thp;
}

/*
 * A PMD-mapped THP populated as a whole is one block of order 9, DMA-mapped
 * once; a range that starts and ends inside it gets the largest aligned
 * blocks that fit, down to single pages at the edges, each mapped once.
 */
static void uptr_kunit_i12_thp_orders(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long np = UPTR_KUNIT_THP_PAGES, lo = 3, hi = np - 2;
	unsigned long thp, i, bad = 0, nref = 0, npage;
	uptr_entry_t h;
	int *orders;
	long nblocks;

	/* The whole THP. */
	thp = uptr_kunit_thp_populated(test, &orders);
	nblocks = uptr_kunit_blocks(priv, orders);
	KUNIT_EXPECT_EQ(test, nblocks, 1);
	/* Stored once, in the slot: no per-page entry written. */
	h = uptr_kunit_slot(priv, thp, &npage);
	KUNIT_EXPECT_TRUE(test, h & UPTR_ENTRY_VALID);
	KUNIT_EXPECT_EQ(test, uptr_entry_order(h), HPAGE_PMD_ORDER);
	KUNIT_EXPECT_EQ(test, npage, 0);
	for (i = 0; i < np; i++)
		if (orders[i] != HPAGE_PMD_ORDER)
			bad++;
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), 1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), np);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, np));
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, thp, SZ_2M), np);
	uptr_kunit_device_write_at(test, thp + 7 * PAGE_SIZE, 0xb10c0000);
	uptr_kunit_range_fini(priv);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);

	/* Partial blocks at both edges of a range inside the THP. */
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init_at(test,
						       thp + lo * PAGE_SIZE,
						       (hi - lo) * PAGE_SIZE),
			0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, range->start,
						  (hi - lo) * PAGE_SIZE, 0),
			0);
	nblocks = uptr_kunit_blocks(priv, orders);
	KUNIT_EXPECT_GT(test, nblocks, 0);
	bad = 0;
	for (i = lo; i < hi; i++) {
		unsigned int o = uptr_kunit_ref_order(i, lo, hi,
						      HPAGE_PMD_ORDER);

		if (orders[i - lo] != o)
			bad++;
		if (i == ALIGN_DOWN(i, 1UL << o))
			nref++;
	}
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, nblocks, nref);
	/*
	 * No block covers the slot: every entry is stored per page, and the
	 * slot counts them (bits 63..1).
	 */
	h = uptr_kunit_slot(priv, range->start, &npage);
	KUNIT_EXPECT_FALSE(test, h & UPTR_ENTRY_VALID);
	KUNIT_EXPECT_EQ(test, npage, hi - lo);
	KUNIT_EXPECT_EQ(test, h >> 1, hi - lo);
	/* Page 3 alone, 4-7, 8-15, ... 256-383, ... 504-507, 508-509. */
	KUNIT_EXPECT_EQ(test, orders[0], 0);
	KUNIT_EXPECT_EQ(test, orders[1], 2);
	KUNIT_EXPECT_EQ(test, orders[hi - 1 - lo], 1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED),
			nref);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, hi - lo));
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, range->start,
						      (hi - lo) * PAGE_SIZE),
			hi - lo);
}

/*
 * A THP whose PMD is split after the populate (zapping one page of it):
 * the notifier drops the whole block, never part of it, and what the
 * device still sees is what the CPU maps.  The populate after the split
 * builds blocks around the new page: PIN from the pages of the now
 * PTE-mapped folio, FAULT from the PTE mappings.
 */
static void uptr_kunit_i12_thp_split(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long np = UPTR_KUNIT_THP_PAGES, hole = 100;
	unsigned long thp, i, bad = 0, npage;
	unsigned int order;
	uptr_entry_t h;
	int *orders;
	long nblocks;
	bool pmd;

	thp = uptr_kunit_thp_populated(test, &orders);
	KUNIT_EXPECT_EQ(test, uptr_kunit_blocks(priv, orders), 1);
	h = uptr_kunit_slot(priv, thp, &npage);
	KUNIT_EXPECT_TRUE(test, h & UPTR_ENTRY_VALID);
	KUNIT_EXPECT_EQ(test, npage, 0);

	/* Splits the PMD, then unmaps one page. */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm,
					       thp + hole * PAGE_SIZE,
					       PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, thp, SZ_2M), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_blocks(priv, orders), 0);
	/* The slot's one entry is what the invalidation cleared. */
	h = uptr_kunit_slot(priv, thp, &npage);
	KUNIT_EXPECT_EQ(test, h, 0);
	KUNIT_EXPECT_EQ(test, npage, 0);

	/* Again, with the hole faulted in as a new page. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, thp, SZ_2M,
						  UPTR_POPULATE_WRITE), 0);
	/*
	 * The split PMD left a PTE-mapped folio of order 9 on the deferred
	 * split queue, which memory pressure may have split meanwhile: the
	 * PIN blocks expected below need the folio whole.  A skip would hide
	 * a failure above: end the test instead if there was one.
	 */
	order = uptr_kunit_folio_order(test, thp, &pmd);
	if (priv->backend == UPTR_BACKEND_PIN && order < HPAGE_PMD_ORDER) {
		if (test->status != KUNIT_SUCCESS)
			return;
		kunit_skip(test, "the kernel split the THP after the zap (folio order %u)",
			   order);
	}
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, thp, SZ_2M), np);
	nblocks = uptr_kunit_blocks(priv, orders);
	KUNIT_EXPECT_GT(test, nblocks, 1);
	KUNIT_EXPECT_EQ(test, orders[hole], 0);
	/* Smaller blocks after the split: stored per page, counted. */
	h = uptr_kunit_slot(priv, thp, &npage);
	KUNIT_EXPECT_FALSE(test, h & UPTR_ENTRY_VALID);
	KUNIT_EXPECT_EQ(test, npage, np);
	KUNIT_EXPECT_EQ(test, h >> 1, np);
	if (priv->backend == UPTR_BACKEND_PIN) {
		/* The folio's pages, in blocks that avoid the hole. */
		for (i = 0; i < np; i++)
			if (i != hole &&
			    orders[i] != uptr_kunit_ref_order(i, 0, np,
							      HPAGE_PMD_ORDER) &&
			    orders[i] != uptr_kunit_ref_order(i, hole + 1, np,
							      HPAGE_PMD_ORDER) &&
			    orders[i] != uptr_kunit_ref_order(i, 0, hole,
							      HPAGE_PMD_ORDER))
				bad++;
		KUNIT_EXPECT_EQ(test, bad, 0);
		KUNIT_EXPECT_EQ(test, orders[0], 6);
		KUNIT_EXPECT_EQ(test, orders[np / 2], HPAGE_PMD_ORDER - 1);
	}
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED),
			nblocks);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, np));
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, thp, SZ_2M), np);
	uptr_kunit_device_write_at(test, thp + hole * PAGE_SIZE, 0x5b117000);
	uptr_kunit_device_write_at(test, thp + (hole + 1) * PAGE_SIZE,
				   0x5b117100);

	/* Dropping the hole's one-page block: its slot counts one less. */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm,
					       thp + hole * PAGE_SIZE,
					       PAGE_SIZE));
	h = uptr_kunit_slot(priv, thp, &npage);
	KUNIT_EXPECT_EQ(test, npage, np - 1);
	KUNIT_EXPECT_EQ(test, h >> 1, np - 1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, thp, SZ_2M), np - 1);
}

/*
 * Compare uptr_range_count_valid() and uptr_range_valid() of many
 * sub-spans with a page-by-page reference through uptr_range_entry(), and
 * each slot's count with its non-zero per-page entries.  Returns the
 * number of mismatches.
 */
static unsigned long uptr_kunit_slots_check(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	unsigned long np = range->npages, a, b, i, ref, bad = 0, nslots, s;
	static const unsigned long offs[] = { 0, 1, 2, 3, 4, 5, 511, 512, 513,
					      514, 515, 516, 517, 1023 };
	unsigned char *valid;
	uptr_entry_t e;

	valid = kunit_kzalloc(test, np, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, valid);
	nslots = uptr_huge_index(range, range->end - 1) + 1;
	uptr_domain_lock(range->domain);
	for (i = 0; i < np; i++)
		valid[i] = !!(uptr_range_entry(range, range->start +
					       i * PAGE_SIZE) & UPTR_ENTRY_VALID);
	for (s = 0; s < nslots; s++) {
		unsigned long lo = max(range->start,
			ALIGN_DOWN(range->start, UPTR_HUGE_SIZE) + s * UPTR_HUGE_SIZE);
		unsigned long hi = min(range->end,
			ALIGN_DOWN(range->start, UPTR_HUGE_SIZE) + (s + 1) * UPTR_HUGE_SIZE);
		unsigned long cnt = 0;

		e = range->huge[s];
		for (a = lo; a < hi; a += PAGE_SIZE)
			if (range->entries[(a - range->start) >> PAGE_SHIFT])
				cnt++;
		if (e & UPTR_ENTRY_VALID) {
			if (cnt)
				bad++;
		} else if ((e >> 1) != cnt) {
			bad++;
		}
	}
	for (a = 0; a < ARRAY_SIZE(offs); a++) {
		for (b = 0; b < ARRAY_SIZE(offs); b++) {
			unsigned long f = offs[a], l = offs[b] + 1, n;
			bool all;

			if (f >= np || l > np || f >= l)
				continue;
			for (ref = 0, i = f; i < l; i++)
				ref += valid[i];
			n = uptr_range_count_valid(range,
						   range->start + f * PAGE_SIZE,
						   (l - f) * PAGE_SIZE);
			all = uptr_range_valid(range,
					       range->start + f * PAGE_SIZE,
					       (l - f) * PAGE_SIZE);
			if (n != ref || all != (ref == l - f))
				bad++;
		}
	}
	uptr_domain_unlock(range->domain);
	return bad;
}

/*
 * Entry storage at the edges: a range that starts 3 pages before a
 * PMD-mapped THP and ends 5 pages after it has three slots, the first and
 * the last partly in the range.  Counts, validity and the device's view
 * stay right through populate, zaps at the edges, a PMD split and a
 * repopulate.
 */
static void uptr_kunit_i12_slots_unaligned(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	struct vm_area_struct *vma;
	unsigned long addr, thp, start, len, np;
	unsigned int order;
	int *orders;
	bool pmd;
	long nb;

	addr = kunit_vm_mmap(test, NULL, 0, 4 * SZ_2M, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, !addr || IS_ERR_VALUE(addr));
	thp = ALIGN(addr, SZ_2M) + SZ_2M;
	mmap_write_lock(current->mm);
	vma = find_vma(current->mm, thp);
	if (vma)
		vm_flags_set(vma, VM_HUGEPAGE);
	mmap_write_unlock(current->mm);
	start = thp - 3 * PAGE_SIZE;
	len = SZ_2M + 8 * PAGE_SIZE;
	np = len >> PAGE_SHIFT;
	uptr_kunit_fill(test, start, len, 0x12340000);
	orders = kunit_kcalloc(test, np, sizeof(*orders), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, orders);

	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init_at(test, start, len), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, start, len,
						  UPTR_POPULATE_WRITE), 0);
	order = uptr_kunit_folio_order(test, thp, &pmd);
	if (order < HPAGE_PMD_ORDER || !pmd)
		kunit_skip(test, "no PMD THP (order %u)", order);
	nb = uptr_kunit_blocks(priv, orders);
	KUNIT_EXPECT_GT(test, nb, 0);
	KUNIT_EXPECT_EQ(test, orders[3], HPAGE_PMD_ORDER);
	KUNIT_EXPECT_EQ(test, orders[3 + 511], HPAGE_PMD_ORDER);
	KUNIT_EXPECT_TRUE(test, range->huge[1] & UPTR_ENTRY_VALID);
	KUNIT_EXPECT_EQ(test, range->huge[0] >> 1, 3);
	KUNIT_EXPECT_EQ(test, range->huge[2] >> 1, 5);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, start, len), np);
	KUNIT_EXPECT_EQ(test, uptr_kunit_slots_check(test), 0);

	/* The last page before the THP, the first after it. */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm, thp - PAGE_SIZE,
					       PAGE_SIZE));
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm, thp + SZ_2M,
					       PAGE_SIZE));
	KUNIT_EXPECT_TRUE(test, range->huge[1] & UPTR_ENTRY_VALID);
	KUNIT_EXPECT_EQ(test, uptr_kunit_slots_check(test), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, start, len),
			uptr_kunit_count(priv, start, len));

	/* One page inside the THP: the PMD splits, the slot goes. */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm, thp + 7 * PAGE_SIZE,
					       PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, range->huge[1], 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_slots_check(test), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, thp, SZ_2M), 0);

	/* Again: per-page blocks everywhere, then drop a few. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, start, len,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_GT(test, uptr_kunit_blocks(priv, orders), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, start, len), np);
	KUNIT_EXPECT_EQ(test, range->huge[1] >> 1, 512);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, start, len), np);
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm,
					       thp + SZ_2M - PAGE_SIZE,
					       PAGE_SIZE));
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm, start, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, uptr_kunit_slots_check(test), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, start, len),
			uptr_kunit_count(priv, start, len));
	/* A FAULT-style snapshot populate over the rest, then all again. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, start, len,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, start, len), np);
	KUNIT_EXPECT_EQ(test, uptr_kunit_slots_check(test), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, start, len), np);
}

/*
 * Entry storage of a PMD-mapped THP whose blocks the domain's max_order
 * cuts below a slot: stored per page, counted in the slot, read back right.
 */
static void uptr_kunit_i12_slots_max_order(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	static const unsigned int mos[] = { 8, 3, 0 };
	unsigned long thp = 0;
	unsigned int k;
	int *orders;
	long nb;

	for (k = 0; k < ARRAY_SIZE(mos); k++) {
		if (k) {
			uptr_kunit_range_fini(priv);
			KUNIT_ASSERT_EQ(test,
					uptr_kunit_range_init_at(test, thp, SZ_2M), 0);
		}
		priv->domain.max_order = mos[k];
		if (!k) {
			thp = uptr_kunit_thp_populated(test, &orders);
		} else {
			KUNIT_ASSERT_EQ(test,
					uptr_range_populate(range, thp, SZ_2M,
							    UPTR_POPULATE_WRITE),
					0);
		}
		nb = uptr_kunit_blocks(priv, orders);
		KUNIT_EXPECT_EQ_MSG(test, nb, 1L << (9 - mos[k]), "mo %u", mos[k]);
		KUNIT_EXPECT_EQ(test, orders[0], (int)mos[k]);
		KUNIT_EXPECT_FALSE(test, range->huge[0] & UPTR_ENTRY_VALID);
		KUNIT_EXPECT_EQ(test, range->huge[0] >> 1, 512);
		KUNIT_EXPECT_EQ(test, uptr_kunit_slots_check(test), 0);
		KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, thp, SZ_2M),
				512);
		KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED),
				1L << (9 - mos[k]));
	}
	/* Splitting the PMD drops every block of it. */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm, thp + 9 * PAGE_SIZE,
					       PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, range->huge[0], 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, thp, SZ_2M), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_slots_check(test), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), 0);
}

/*
 * Coverage (make coverage): a device fault on a range whose first pages
 * were unmapped.  PIN cannot pin the whole range (-EFAULT) and falls back
 * to the window around the fault clamped to the VMA of the faulting
 * address; FAULT mirrors the present pages of that window.  Either way the
 * mapped part of the window is valid and mirrors the CPU's data, the
 * unmapped part is not, and a fault on an unmapped page is -EFAULT with
 * nothing more mapped or pinned.
 */
static void uptr_kunit_cov_fault_partly_unmapped(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long gone = 4, fault = uptr_kunit_page(priv, 8);
	unsigned long ws, we, lo, i, want = 0;

	uptr_kunit_fill(test, priv->addr, UPTR_KUNIT_SIZE, 0xc0c00000);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init(test, 0), 0);
	KUNIT_ASSERT_EQ(test, vm_munmap(priv->addr, gone * PAGE_SIZE), 0);

	KUNIT_ASSERT_EQ(test, uptr_range_fault(range, fault, 0), 0);
	ws = max(ALIGN_DOWN(fault, range->window), range->start);
	we = min(ws + range->window, range->end);
	lo = max(ws, uptr_kunit_page(priv, gone));
	for (i = 0; i < UPTR_KUNIT_NPAGES; i++)
		want += uptr_kunit_page(priv, i) >= lo &&
			uptr_kunit_page(priv, i) < we;
	KUNIT_EXPECT_GT(test, want, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), want);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       gone * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test,
						      uptr_kunit_page(priv, gone),
						      UPTR_KUNIT_SIZE -
						      gone * PAGE_SIZE), want);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, want));

	/* A fault on an unmapped page: -EFAULT, nothing more valid. */
	KUNIT_EXPECT_EQ(test, uptr_range_fault(range, uptr_kunit_page(priv, 1),
					       0), -EFAULT);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, priv->addr,
					       UPTR_KUNIT_SIZE), want);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, want));
}

/*
 * uptr_invalidate_is_teardown(): which invalidations tear the mm down.  A
 * blank mm is enough, the helper reads the event, mm_users and the flags.
 * Regression of the OOM test's defect: the first call exit_mmap() makes is
 * MMU_NOTIFY_RELEASE, and sgpu's first version looked for UNMAP only (its
 * killed-exit test still waited for every queued job).
 */
static void uptr_kunit_teardown_events(struct kunit *test)
{
	struct mmu_notifier_range nrange;
	struct mm_struct *mm;

	mm = kunit_kzalloc(test, sizeof(*mm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mm);

	/* A live mm: nothing is a teardown, not even an unmap. */
	atomic_set(&mm->mm_users, 1);
	mmu_notifier_range_init(&nrange, MMU_NOTIFY_UNMAP, 0, mm, 0, PAGE_SIZE);
	KUNIT_EXPECT_FALSE(test, uptr_invalidate_is_teardown(&nrange));
	nrange.event = MMU_NOTIFY_MIGRATE;
	KUNIT_EXPECT_FALSE(test, uptr_invalidate_is_teardown(&nrange));

	/* exit_mmap(): no user left, RELEASE then UNMAP. */
	atomic_set(&mm->mm_users, 0);
	nrange.event = MMU_NOTIFY_RELEASE;
	KUNIT_EXPECT_TRUE(test, uptr_invalidate_is_teardown(&nrange));
	nrange.event = MMU_NOTIFY_UNMAP;
	KUNIT_EXPECT_TRUE(test, uptr_invalidate_is_teardown(&nrange));
	nrange.event = MMU_NOTIFY_CLEAR;
	KUNIT_EXPECT_FALSE(test, uptr_invalidate_is_teardown(&nrange));

	/* The OOM reaper: users left, but the mm is marked unstable. */
	atomic_set(&mm->mm_users, 2);
	set_bit(MMF_UNSTABLE, &mm->flags);
	nrange.event = MMU_NOTIFY_UNMAP;
	KUNIT_EXPECT_TRUE(test, uptr_invalidate_is_teardown(&nrange));
	nrange.event = MMU_NOTIFY_PROTECTION_VMA;
	KUNIT_EXPECT_FALSE(test, uptr_invalidate_is_teardown(&nrange));
}

/* Fill and check @len bytes at @start in pieces kmalloc() can serve. */
static void uptr_kunit_fill_big(struct kunit *test, unsigned long start,
				unsigned long len, u32 seed)
{
	unsigned long off;

	for (off = 0; off < len; off += SZ_64K)
		uptr_kunit_fill(test, start + off,
				min_t(unsigned long, len - off, SZ_64K),
				seed + off);
}

static unsigned long uptr_kunit_mirror_big(struct kunit *test,
					   unsigned long start,
					   unsigned long len)
{
	unsigned long off, n = 0;

	for (off = 0; off < len; off += SZ_64K)
		n += uptr_kunit_check_mirror(test, start + off,
					     min_t(unsigned long, len - off,
						   SZ_64K));
	return n;
}

/*
 * Populate calls of 2 MiB or more take the domain's kept scratch arrays
 * (&uptr_domain.scratch) and hand them back; smaller calls allocate their
 * own.  A call made while another holds the set (here nested in the
 * outer call's before_commit hook) allocates arrays of its own size and
 * frees them (a leak is kmemleak's report): the domain keeps one set.  A
 * failed call hands the set back too.  The same set then serves a range
 * of the other backend.
 */
static void uptr_kunit_i12_scratch_kept(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long len = SZ_2M + SZ_64K, n = len >> PAGE_SHIFT;
	struct uptr_scratch *s1;
	unsigned long addr;

	addr = kunit_vm_mmap(test, NULL, 0, len, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, !addr || IS_ERR_VALUE(addr));
	uptr_kunit_fill_big(test, addr, len, 0x5c7a0000);
	KUNIT_EXPECT_NULL(test, priv->domain.scratch);

	KUNIT_ASSERT_EQ(test, uptr_range_init(range, &priv->domain,
					      current->mm, addr, len,
					      priv->backend, 0,
					      &uptr_kunit_ops_hooks), 0);
	priv->range_live = true;

	/* Below 2 MiB: arrays of its own, none kept. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, addr,
						  SZ_2M - PAGE_SIZE, 0), 0);
	KUNIT_EXPECT_NULL(test, priv->domain.scratch);

	/* 2 MiB: made once, kept, taken again by the next call. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, addr, SZ_2M, 0), 0);
	s1 = priv->domain.scratch;
	KUNIT_ASSERT_NOT_NULL(test, s1);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, addr + SZ_64K, SZ_2M,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_PTR_EQ(test, priv->domain.scratch, s1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, addr, len), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_mirror_big(test, addr, len), n);

	/*
	 * A nested populate of the whole range between the outer call's
	 * collection and its commit, while the outer call holds s1.
	 */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(range->mm, addr, len));
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, addr, len), 0);
	priv->nested_in_commit = 1;
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, addr, len,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, priv->nested_in_commit, 0);
	KUNIT_EXPECT_EQ(test, priv->nested_err, 0);
	KUNIT_EXPECT_PTR_EQ(test, priv->domain.scratch, s1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, addr, len), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_mirror_big(test, addr, len), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n));

	/*
	 * The chunk's 528 4K blocks are committed in two holds of the domain
	 * lock (UPTR_COMMIT_BLOCKS).  A nested populate of exactly the
	 * second hold's blocks: the first hold must look for valid entries
	 * (another commit ran since the collection) and must not let the
	 * second skip looking, which finds its 16 blocks valid already and
	 * installs none of them: no double entry, pin or DMA mapping.
	 */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(range->mm, addr, len));
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, addr, len), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), 0);
	priv->nested_in_commit = 1;
	priv->nested_start = addr + UPTR_COMMIT_BLOCKS * PAGE_SIZE;
	priv->nested_end = addr + len;
	/* Both write: a read would map the zero page the nested one COWs. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, addr, len,
						  UPTR_POPULATE_WRITE), 0);
	priv->nested_end = 0;
	KUNIT_EXPECT_EQ(test, priv->nested_in_commit, 0);
	KUNIT_EXPECT_EQ(test, priv->nested_err, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, addr, len), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_MAPPED), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), n);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, n));
	KUNIT_EXPECT_EQ(test, uptr_kunit_mirror_big(test, addr, len), n);

	/* A call that fails on a hole hands the set back all the same. */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(range->mm, addr, len));
	KUNIT_ASSERT_EQ(test, vm_munmap(addr + SZ_2M, SZ_64K), 0);
	KUNIT_EXPECT_EQ(test, uptr_range_populate(range, addr, len, 0),
			-EFAULT);
	KUNIT_EXPECT_PTR_EQ(test, priv->domain.scratch, s1);
	uptr_kunit_range_fini(priv);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv), 0);

	/* The other backend, same domain, same set. */
	priv->backend = priv->backend == UPTR_BACKEND_PIN ?
			UPTR_BACKEND_FAULT : UPTR_BACKEND_PIN;
	KUNIT_ASSERT_EQ(test, uptr_range_init(range, &priv->domain,
					      current->mm, addr, SZ_2M,
					      priv->backend, 0,
					      &uptr_kunit_ops), 0);
	priv->range_live = true;
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, addr, SZ_2M,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_PTR_EQ(test, priv->domain.scratch, s1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, addr, SZ_2M),
			SZ_2M >> PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, uptr_kunit_mirror_big(test, addr, SZ_2M),
			SZ_2M >> PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, SZ_2M >> PAGE_SHIFT));
	uptr_kunit_device_write_at(test, addr + SZ_1M + 5 * PAGE_SIZE,
				   0x5c7d0000);
}

/*
 * Nothing of a kept set may be read before it is written.  All-ones words
 * would be HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE as hmm_range_fault()
 * input and bogus page pointers, all-ones blocks bogus blocks, and a full
 * bitmap pins to release: a FAULT snapshot must still fault nothing in,
 * and a PIN populate pin and keep exactly its own pages.
 */
static void uptr_kunit_i12_scratch_poisoned(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	const unsigned long len = SZ_4M, n = len >> PAGE_SHIFT;
	struct uptr_scratch *s;
	unsigned long addr;

	addr = kunit_vm_mmap(test, NULL, 0, len, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, !addr || IS_ERR_VALUE(addr));
	/* Only the first half is ever touched by the CPU. */
	uptr_kunit_fill_big(test, addr, len / 2, 0x5c7e0000);
	KUNIT_ASSERT_EQ(test, uptr_range_init(range, &priv->domain,
					      current->mm, addr, len / 2,
					      priv->backend, 0,
					      &uptr_kunit_ops), 0);
	priv->range_live = true;
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, addr, len / 2, 0),
			0);
	uptr_kunit_range_fini(priv);
	/* Borrowed as a call borrows it: the shrinker cannot free it now. */
	s = xchg(&priv->domain.scratch, NULL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	memset(s->words, 0xff, UPTR_CHUNK_PAGES * sizeof(unsigned long));
	memset(s->blocks, 0xff, UPTR_CHUNK_PAGES * sizeof(*s->blocks));
	bitmap_fill(s->pinned, UPTR_CHUNK_PAGES);
	KUNIT_ASSERT_NULL(test, cmpxchg(&priv->domain.scratch, NULL, s));

	KUNIT_ASSERT_EQ(test, uptr_range_init(range, &priv->domain,
					      current->mm, addr, len,
					      priv->backend, 0,
					      &uptr_kunit_ops), 0);
	priv->range_live = true;
	if (priv->backend == UPTR_BACKEND_FAULT) {
		int err = uptr_range_populate(range, addr, len,
					      UPTR_POPULATE_SNAPSHOT);

		KUNIT_ASSERT_EQ(test, err, 0);
		KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, addr, len / 2),
				n / 2);
		KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, addr + len / 2,
						       len / 2), 0);
	} else {
		KUNIT_ASSERT_EQ(test, uptr_range_populate(range, addr, len, 0),
				0);
		KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, addr, len), n);
		KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
				uptr_kunit_expect_pinned(priv, n));
	}
	KUNIT_EXPECT_PTR_EQ(test, priv->domain.scratch, s);
	KUNIT_EXPECT_EQ(test, uptr_kunit_mirror_big(test, addr, len / 2),
			n / 2);
}

/* A range no device reads: nothing to stop on an invalidation. */
static bool uptr_kunit_invalidate_idle(struct uptr_range *range,
				       const struct mmu_notifier_range *nrange,
				       unsigned long start, unsigned long end)
{
	return true;
}

static const struct uptr_range_ops uptr_kunit_ops_idle = {
	.invalidate = uptr_kunit_invalidate_idle,
};

struct uptr_kunit_scratch_racer {
	struct uptr_range range;
	bool live;
	unsigned long addr;
	int err;
	struct completion done;
};

/* Zap and repopulate the 2 MiB of @range at @addr, a few times over. */
static int uptr_kunit_race_rounds(struct uptr_range *range,
				  unsigned long addr)
{
	int i, err = 0;

	for (i = 0; i < UPTR_KUNIT_RACE_ROUNDS && !err; i++) {
		if (!uptr_kunit_zap(range->mm, addr, SZ_2M))
			err = -ENOENT;
		else
			err = uptr_range_populate(range, addr, SZ_2M,
						  UPTR_POPULATE_WRITE);
	}
	return err;
}

static int uptr_kunit_scratch_race_thread(void *data)
{
	struct uptr_kunit_scratch_racer *r = data;

	r->err = uptr_kunit_race_rounds(&r->range, r->addr);
	complete(&r->done);
	return 0;
}

static void uptr_kunit_scratch_racer_fini(void *data)
{
	struct uptr_kunit_scratch_racer *r = data;

	if (r->live)
		uptr_range_fini(&r->range);
	r->live = false;
}

/*
 * Two ranges of one domain populated at once, by the case's thread and by
 * a kthread that has no mm of its own (as a driver's fault worker): the
 * set goes to one call at a time, the other allocates its own arrays,
 * every populate gives the right entries, and the domain ends with its
 * one set.  KCSAN's flavour of the run watches the hand-over.
 */
static void uptr_kunit_i12_scratch_race(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	const unsigned long np = SZ_2M >> PAGE_SHIFT;
	struct uptr_kunit_scratch_racer *r;
	struct task_struct *t;
	unsigned long a1;
	int err;

	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	a1 = kunit_vm_mmap(test, NULL, 0, SZ_2M, PROT_READ | PROT_WRITE,
			   MAP_ANONYMOUS | MAP_PRIVATE, 0);
	r->addr = kunit_vm_mmap(test, NULL, 0, SZ_2M, PROT_READ | PROT_WRITE,
				MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, !a1 || IS_ERR_VALUE(a1));
	KUNIT_ASSERT_FALSE(test, !r->addr || IS_ERR_VALUE(r->addr));
	KUNIT_ASSERT_EQ(test, uptr_range_init(&priv->range, &priv->domain,
					      current->mm, a1, SZ_2M,
					      priv->backend, 0,
					      &uptr_kunit_ops), 0);
	priv->range_live = true;
	KUNIT_ASSERT_EQ(test, uptr_range_init(&r->range, &priv->domain,
					      current->mm, r->addr, SZ_2M,
					      priv->backend, 0,
					      &uptr_kunit_ops_idle), 0);
	r->live = true;
	err = kunit_add_action_or_reset(test, uptr_kunit_scratch_racer_fini,
					r);
	KUNIT_ASSERT_EQ(test, err, 0);
	init_completion(&r->done);

	t = kthread_run(uptr_kunit_scratch_race_thread, r, "uptr_kunit_race");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	err = uptr_kunit_race_rounds(&priv->range, a1);
	wait_for_completion(&r->done);
	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_EQ(test, r->err, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, a1, SZ_2M), np);
	KUNIT_EXPECT_EQ(test, uptr_kunit_mirror_big(test, a1, SZ_2M), np);
	uptr_domain_lock(&priv->domain);
	KUNIT_EXPECT_EQ(test, uptr_range_count_valid(&r->range, r->addr,
						     SZ_2M), np);
	uptr_domain_unlock(&priv->domain);
	KUNIT_EXPECT_NOT_NULL(test, READ_ONCE(priv->domain.scratch));
	KUNIT_EXPECT_EQ(test, uptr_kunit_pinned(test, priv),
			uptr_kunit_expect_pinned(priv, 2 * np));
	uptr_kunit_scratch_racer_fini(r);
}

struct uptr_kunit_dropper {
	struct task_struct *task;
	int err;
	unsigned int ndrops;
};

static int uptr_kunit_dropper_thread(void *data)
{
	struct uptr_kunit_dropper *d = data;

	/* At most 40: each drop writes a line to the kernel log. */
	while (!kthread_should_stop()) {
		if (d->ndrops >= 40) {
			msleep(20);
			continue;
		}
		if (!d->err)
			d->err = uptr_kunit_drop_slab();
		WRITE_ONCE(d->ndrops, d->ndrops + 1);
		cond_resched();
	}
	return 0;
}

/* Also when the case ends early: no dropper outlives it. */
static void uptr_kunit_dropper_stop(void *data)
{
	struct uptr_kunit_dropper *d = data;

	kthread_stop(d->task);
	put_task_struct(d->task);
}

/*
 * One domain's life, as a driver's VM has it, on the 2 MiB THP at @thp:
 * init, a range populated twice (the first call makes the set, keeps it
 * and lists the domain; the second, after a zap, borrows the listed
 * domain's set), fini of both, and the memory freed at once.
 */
static int uptr_kunit_domain_round(struct kunit *test, unsigned long thp)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_domain *domain;
	struct uptr_range *range;
	unsigned long n = 0;
	int err = -ENOMEM;

	domain = kzalloc(sizeof(*domain), GFP_KERNEL);
	range = kzalloc(sizeof(*range), GFP_KERNEL);
	if (!domain || !range)
		goto out_free;
	err = uptr_domain_init(domain, priv->dev, NULL);
	if (err)
		goto out_free;
	err = uptr_range_init(range, domain, current->mm, thp, SZ_2M,
			      priv->backend, 0, &uptr_kunit_ops_idle);
	if (err)
		goto out_fini_domain;
	/* The second call borrows a set the first one listed. */
	err = uptr_range_populate(range, thp, SZ_2M, UPTR_POPULATE_WRITE);
	if (!err && !uptr_kunit_zap(range->mm, thp, SZ_2M))
		err = -ENOENT;
	if (!err)
		err = uptr_range_populate(range, thp, SZ_2M,
					  UPTR_POPULATE_WRITE);
	if (!err) {
		uptr_domain_lock(domain);
		n = uptr_range_count_valid(range, thp, SZ_2M);
		uptr_domain_unlock(domain);
		if (n != SZ_2M >> PAGE_SHIFT)
			err = -EIO;
	}
	uptr_range_fini(range);
out_fini_domain:
	uptr_domain_fini(domain);
out_free:
	kfree(range);
	kfree(domain);
	return err;
}

/*
 * @domain keeps a set and is on the shrinker's list (@kept), or has no set
 * and is off the list.
 */
static void uptr_kunit_expect_scratch(struct kunit *test,
				      struct uptr_domain *domain, bool kept)
{
	const unsigned long bits = BIT(UPTR_SCRATCH_MADE) |
				   BIT(UPTR_SCRATCH_LISTED);

	KUNIT_EXPECT_EQ(test, !!READ_ONCE(domain->scratch), kept);
	KUNIT_EXPECT_EQ(test, READ_ONCE(domain->scratch_made),
			kept ? bits : 0);
	KUNIT_EXPECT_EQ(test, list_empty_careful(&domain->scratch_lru), !kept);
}

/*
 * The core's shrinker frees a domain's kept set (drop_caches=2 runs it,
 * as global reclaim does): the domain forgets the set, keeps its valid
 * entries, and its next call of 2 MiB makes a set again.  Run while a
 * call holds the set (from the before_commit hook), it frees nothing and
 * unlists the domain, and the hand-back lists it again with the same set.
 * Then, for at least 16 rounds and 5 drops (at most a minute), domains
 * made, populated twice (the second call borrowing a listed domain's
 * set), finalised and their memory freed at once, while another thread
 * drops caches: a finalised domain must be off the shrinker's list before
 * it is freed, and a set lent to a call must not be freed under it
 * (KASAN: slab-use-after-free in list_lru_add(); or the call's entries).
 *
 * This case and the other i12_scratch ones compare &uptr_domain.scratch
 * with the set a call handed back: global reclaim running the shrinker
 * during the case (not seen in the test guest, which has memory to spare)
 * would fail those expectations without a defect.
 */
static void uptr_kunit_i12_scratch_shrink(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_domain *domain = &priv->domain;
	const unsigned long np = SZ_2M >> PAGE_SHIFT;
	struct uptr_kunit_dropper *d;
	unsigned long thp, deadline;
	struct uptr_scratch *s1;
	struct task_struct *t;
	int i, err = 0;

	thp = uptr_kunit_thp_buf(test);
	KUNIT_ASSERT_EQ(test, uptr_kunit_range_init_at(test, thp, SZ_2M), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(&priv->range, thp, SZ_2M,
						  UPTR_POPULATE_WRITE), 0);
	uptr_kunit_expect_scratch(test, domain, true);

	KUNIT_ASSERT_EQ(test, uptr_kunit_drop_slab(), 0);
	uptr_kunit_expect_scratch(test, domain, false);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, thp, SZ_2M), np);
	KUNIT_EXPECT_EQ(test, uptr_kunit_mirror_big(test, thp, SZ_2M), np);

	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(priv->range.mm, thp, SZ_2M));
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, thp, SZ_2M), 0);
	KUNIT_ASSERT_EQ(test, uptr_range_populate(&priv->range, thp, SZ_2M,
						  UPTR_POPULATE_WRITE), 0);
	uptr_kunit_expect_scratch(test, domain, true);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, thp, SZ_2M), np);
	KUNIT_EXPECT_EQ(test, uptr_kunit_mirror_big(test, thp, SZ_2M), np);

	/*
	 * The shrinker meets the listed domain while a call holds the set:
	 * it unlists the domain and frees nothing; the hand-back keeps the
	 * same set and lists the domain again (UPTR_SCRATCH_LISTED).
	 */
	s1 = READ_ONCE(domain->scratch);
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(priv->range.mm, thp, SZ_2M));
	priv->drop_in_commit = 1;
	KUNIT_ASSERT_EQ(test, uptr_range_populate(&priv->range, thp, SZ_2M,
						  UPTR_POPULATE_WRITE), 0);
	KUNIT_EXPECT_EQ(test, priv->drop_in_commit, 0);
	KUNIT_EXPECT_EQ(test, priv->drop_err, 0);
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(domain->scratch), s1);
	uptr_kunit_expect_scratch(test, domain, true);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, thp, SZ_2M), np);
	KUNIT_ASSERT_EQ(test, uptr_kunit_drop_slab(), 0);
	uptr_kunit_expect_scratch(test, domain, false);
	uptr_kunit_range_fini(priv);

	d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	t = kthread_run(uptr_kunit_dropper_thread, d, "uptr_kunit_drop");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	d->task = get_task_struct(t);
	err = kunit_add_action_or_reset(test, uptr_kunit_dropper_stop, d);
	KUNIT_ASSERT_EQ(test, err, 0);
	/* Until the dropper went round a few times, for at most a minute. */
	deadline = jiffies + 60 * HZ;
	for (i = 0; !err && time_before(jiffies, deadline); i++) {
		if (i >= 4 * UPTR_KUNIT_RACE_ROUNDS &&
		    READ_ONCE(d->ndrops) > UPTR_KUNIT_RACE_ROUNDS)
			break;
		err = uptr_kunit_domain_round(test, thp);
	}
	kunit_release_action(test, uptr_kunit_dropper_stop, d);
	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_EQ(test, d->err, 0);
	/* The dropper ran from before the first round to after the last. */
	KUNIT_EXPECT_GT(test, i, 0);
	KUNIT_EXPECT_GT(test, d->ndrops, 0);
	kunit_info(test, "%d domains, %u drops", i, d->ndrops);
}

/*
 * FAULT runs of 4K pages (&uptr_block.run): a run ends where the write
 * permission changes and at each %UPTR_HUGE_SIZE slot, and each of its
 * pages is still a block of its own, one DMA mapping and one entry.  The
 * span starts 5 pages before a slot and ends 11 pages into the slot after
 * the next, every third page read-faulted only (the shared zero page, not
 * writable), the others written.
 */
static void uptr_kunit_i12_fault_runs(struct kunit *test)
{
	struct uptr_kunit_priv *priv = test->priv;
	struct uptr_range *range = &priv->range;
	unsigned long addr, start, len, np, i, badw = 0, bado = 0;
	struct vm_area_struct *vma;
	uptr_entry_t e;
	u8 *buf;

	if (priv->backend != UPTR_BACKEND_FAULT)
		kunit_skip(test, "FAULT only: PIN builds no runs");
	addr = kunit_vm_mmap(test, NULL, 0, 4 * SZ_2M, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, !addr || IS_ERR_VALUE(addr));
	mmap_write_lock(current->mm);
	vma = find_vma(current->mm, addr);
	if (vma)
		vm_flags_set(vma, VM_NOHUGEPAGE);
	mmap_write_unlock(current->mm);
	start = ALIGN(addr, SZ_2M) + SZ_2M - 5 * PAGE_SIZE;
	len = SZ_2M + 16 * PAGE_SIZE;
	np = len >> PAGE_SHIFT;

	/* Read every page (the zero page), then write two in three. */
	buf = kunit_kmalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, copy_from_user(buf, (void __user *)start, len),
			0);
	for (i = 0; i < np; i++)
		if (i % 3)
			uptr_kunit_fill(test, start + i * PAGE_SIZE, PAGE_SIZE,
					0x52550000 + i);

	/* The hooks' range: a populate nested in a commit, below. */
	KUNIT_ASSERT_EQ(test, uptr_range_init(range, &priv->domain,
					      current->mm, start, len,
					      priv->backend, 0,
					      &uptr_kunit_ops_hooks), 0);
	priv->range_live = true;
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, start, len, 0), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, start, len), np);
	uptr_domain_lock(range->domain);
	for (i = 0; i < np; i++) {
		e = uptr_range_entry(range, start + i * PAGE_SIZE);
		if (!(e & UPTR_ENTRY_WRITE) != !(i % 3))
			badw++;
		if (!(e & UPTR_ENTRY_VALID) || uptr_entry_order(e))
			bado++;
	}
	uptr_domain_unlock(range->domain);
	KUNIT_EXPECT_EQ_MSG(test, badw, 0,
			    "a page got the write permission of its run");
	KUNIT_EXPECT_EQ(test, bado, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), np);
	KUNIT_EXPECT_EQ(test, range->huge[0] >> 1, 5);
	KUNIT_EXPECT_EQ(test, range->huge[1] >> 1, 512);
	KUNIT_EXPECT_EQ(test, range->huge[2] >> 1, 11);
	KUNIT_EXPECT_EQ(test, uptr_kunit_slots_check(test), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, start, len), np);

	/* One page inside a run: that page only, and its mapping, go. */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm,
					       start + 101 * PAGE_SIZE,
					       PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, start, len), np - 1);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED),
			np - 1);
	KUNIT_EXPECT_EQ(test, range->huge[1] >> 1, 511);
	KUNIT_EXPECT_EQ(test, uptr_kunit_slots_check(test), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, start, len),
			np - 1);

	/* Populated again: one block for the page, in the middle of runs. */
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, start, len, 0), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, start, len), np);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), np);
	KUNIT_EXPECT_EQ(test, uptr_kunit_slots_check(test), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, start, len), np);

	/*
	 * 64 pages dropped and written again, collected as one writable run;
	 * between its collection and its commit, a nested populate (for
	 * writing: nothing to break COW of) installs 20 pages in the middle
	 * of the run: the commit skips exactly those.
	 */
	KUNIT_ASSERT_TRUE(test, uptr_kunit_zap(current->mm,
					       start + 200 * PAGE_SIZE,
					       64 * PAGE_SIZE));
	uptr_kunit_fill(test, start + 200 * PAGE_SIZE, 64 * PAGE_SIZE,
			0x52560000);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, start, len), np - 64);
	priv->nested_in_commit = 1;
	priv->nested_start = start + 220 * PAGE_SIZE;
	priv->nested_end = start + 240 * PAGE_SIZE;
	KUNIT_ASSERT_EQ(test, uptr_range_populate(range, start, len, 0), 0);
	KUNIT_EXPECT_EQ(test, priv->nested_in_commit, 0);
	KUNIT_EXPECT_EQ(test, priv->nested_err, 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_count(priv, start, len), np);
	KUNIT_EXPECT_EQ(test, uptr_kunit_stat(priv, UPTR_STAT_DMA_MAPPED), np);
	KUNIT_EXPECT_EQ(test, range->huge[1] >> 1, 512);
	KUNIT_EXPECT_EQ(test, uptr_kunit_slots_check(test), 0);
	KUNIT_EXPECT_EQ(test, uptr_kunit_check_mirror(test, start, len), np);
}

static struct kunit_case uptr_kunit_cases[] = {
	KUNIT_CASE_PARAM(uptr_kunit_populate_readback,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_read_only_range,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_read_only_vma,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_munmap_subrange,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_zap_subrange,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_retry_race,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_hole_efault,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_nonblock,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_bad_args,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_fault_window,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_fini_valid,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_exit_with_range,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_no_device,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE(uptr_kunit_fault_stale_page_use),
	KUNIT_CASE_PARAM(uptr_kunit_refused_blockable,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_commit_skip_leak,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE(uptr_kunit_domain_bounce),
	KUNIT_CASE_PARAM(uptr_kunit_i10_memlock_race,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_i10_count_valid_spans,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_i10_range_max_size,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_i12_thp_orders,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_i12_thp_split,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_i12_slots_unaligned,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_i12_slots_max_order,
			 uptr_kunit_backend_gen_params),
	/* Populates of 512 4K pages: ~2 s each on the debug TCG guest. */
	KUNIT_CASE_PARAM_ATTR(uptr_kunit_i12_scratch_kept,
			      uptr_kunit_backend_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	KUNIT_CASE_PARAM_ATTR(uptr_kunit_i12_scratch_poisoned,
			      uptr_kunit_backend_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	KUNIT_CASE_PARAM_ATTR(uptr_kunit_i12_scratch_race,
			      uptr_kunit_backend_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	KUNIT_CASE_PARAM_ATTR(uptr_kunit_i12_scratch_shrink,
			      uptr_kunit_backend_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	KUNIT_CASE_PARAM(uptr_kunit_i12_fault_runs,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE_PARAM(uptr_kunit_cov_fault_partly_unmapped,
			 uptr_kunit_backend_gen_params),
	KUNIT_CASE(uptr_kunit_teardown_events),
	{}
};

static struct kunit_suite uptr_kunit_suite = {
	.name = "uptr_core",
	.init = uptr_kunit_init,
	.exit = uptr_kunit_exit,
	.test_cases = uptr_kunit_cases,
};

kunit_test_suite(uptr_kunit_suite);

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_DESCRIPTION("KUnit tests of the uptr core API");
MODULE_LICENSE("GPL");
