// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The uptr authors
 */

/**
 * DOC: sgpu page tables
 *
 * Each VM has a four-level radix page table over a 48-bit GPU VA space,
 * 512 entries of 64 bits per table, one page per table:
 *
 *	level 3: VA bits 47..39, directory entries
 *	level 2: VA bits 38..30, directory entries or 1 GiB leaves
 *	level 1: VA bits 29..21, directory entries or 2 MiB leaves
 *	level 0: VA bits 20..12, 4 KiB leaves
 *
 * An entry is %SGPU_PTE_VALID plus, for a directory entry, the physical
 * address of the child table, for a leaf, %SGPU_PTE_LEAF, optionally
 * %SGPU_PTE_WRITE and the DMA address of the backing memory -- or, with
 * %SGPU_PTE_DEVPRIV, the physical address (pfn) of an sgpu device-private
 * page, which is not DMA-addressable system memory.
 *
 * The engine walks the entries (sgpu_pt_translate()) with the VM's pt_lock
 * held and keeps the lock while it copies to or from the page it found, at
 * most one page per lock hold.  Every change of a valid entry is also made
 * under pt_lock, so once sgpu_pt_zap() returned, no engine access can be
 * using a translation it removed: releasing pt_lock is the GPU TLB
 * invalidation, which waits for the accesses in flight.
 *
 * Table memory is only allocated by sgpu_pt_prepare(), from an ioctl, for
 * every table down to level 0 of a range about to be mapped.  Tables stay
 * allocated (in &sgpu_pt.child) when their directory entry is replaced by a
 * large leaf or cleared, and are freed with the VM.  So sgpu_pt_map() and
 * sgpu_pt_zap(), called from jobs (dma-fence signalling path), MMU
 * notifiers and the fault handler, never allocate: splitting a large leaf
 * re-activates the preallocated child table.
 *
 * A large leaf is written only when the GPU VA is aligned to its size and
 * every 4 KiB entry of the block is valid, not device-private, physically
 * contiguous from an aligned address and of one write permission; for a
 * userptr BO the first entry's uptr order must cover the block too, so that
 * the core's invalidations, which never cut one of its blocks, always
 * remove a large leaf as a whole.
 */

#include <linux/bits.h>
#include <linux/error-injection.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "sgpu_drv.h"

#define SGPU_PTE_VALID		BIT_ULL(0)
#define SGPU_PTE_WRITE		BIT_ULL(1)
#define SGPU_PTE_LEAF		BIT_ULL(2)
#define SGPU_PTE_DEVPRIV	BIT_ULL(3)
#define SGPU_PTE_ADDR		GENMASK_ULL(51, 12)

static unsigned int sgpu_pt_shift(unsigned int level)
{
	return PAGE_SHIFT + 9 * level;
}

static unsigned int sgpu_pt_index(unsigned int level, u64 va)
{
	return (va >> sgpu_pt_shift(level)) & (SGPU_PT_ENTRIES - 1);
}

static u64 sgpu_pt_dir_entry(struct sgpu_pt *child)
{
	return virt_to_phys(child->ent) | SGPU_PTE_VALID;
}

static void sgpu_pt_count(struct sgpu_vm *vm, long n)
{
	sgpu_vm_stat_add(vm, SGPU_VM_PT_PAGES, n);
	atomic64_add(n, &vm->sdev->live[SGPU_DEV_PT_PAGES]);
}

/* Never inlined: fail_function can fail it (docs/design.rst). */
static noinline struct sgpu_pt *sgpu_pt_alloc(struct sgpu_vm *vm,
					      unsigned int level)
{
	struct sgpu_pt *pt;

	pt = kzalloc(sizeof(*pt), GFP_KERNEL_ACCOUNT);
	if (!pt)
		return NULL;
	pt->ent = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!pt->ent)
		goto err_free_pt;
	if (level) {
		pt->child = kcalloc(SGPU_PT_ENTRIES, sizeof(*pt->child),
				    GFP_KERNEL_ACCOUNT);
		if (!pt->child)
			goto err_free_page;
	}
	sgpu_pt_count(vm, 1);
	return pt;

err_free_page:
	free_page((unsigned long)pt->ent);
err_free_pt:
	kfree(pt);
	return NULL;
}
ALLOW_ERROR_INJECTION(sgpu_pt_alloc, NULL);

static void sgpu_pt_free(struct sgpu_vm *vm, struct sgpu_pt *pt,
			 unsigned int level)
{
	unsigned int i;

	if (level) {
		for (i = 0; i < SGPU_PT_ENTRIES; i++)
			if (pt->child[i])
				sgpu_pt_free(vm, pt->child[i], level - 1);
		kfree(pt->child);
	}
	free_page((unsigned long)pt->ent);
	kfree(pt);
	sgpu_pt_count(vm, -1);
}

/**
 * sgpu_pt_init() - allocate the root table of a VM
 * @vm: the VM
 *
 * Context: Process context.
 * Return: 0 or -ENOMEM.
 */
int sgpu_pt_init(struct sgpu_vm *vm)
{
	spin_lock_init(&vm->pt_lock);
	vm->root = sgpu_pt_alloc(vm, SGPU_PT_LEVELS - 1);
	return vm->root ? 0 : -ENOMEM;
}

/**
 * sgpu_pt_fini() - free all tables of a VM
 * @vm: the VM, no longer used by any engine or notifier
 *
 * Context: Any context that may free pages.
 */
void sgpu_pt_fini(struct sgpu_vm *vm)
{
	if (vm->root)
		sgpu_pt_free(vm, vm->root, SGPU_PT_LEVELS - 1);
	vm->root = NULL;
}

/**
 * sgpu_pt_prepare() - allocate the tables a range will need
 * @vm: the VM
 * @va: first GPU VA
 * @size: bytes
 *
 * Allocates, down to level 0, every table that sgpu_pt_map() of the range
 * may use.  Valid entries are not changed, so this runs while the engine
 * and queued jobs use the page tables.  Tables allocated before a failure
 * stay until the VM is freed.
 *
 * Context: Process context, &sgpu_vm.lock held for writing (serialises
 * prepares), no spinlock held.
 * Return: 0 or -ENOMEM.
 */
int sgpu_pt_prepare(struct sgpu_vm *vm, u64 va, u64 size)
{
	u64 addr, end = va + size;
	struct sgpu_pt *pt, *child, *new;
	unsigned int level, idx;

	lockdep_assert_held_write(&vm->lock);
	might_alloc(GFP_KERNEL);

	for (addr = ALIGN_DOWN(va, SZ_2M); addr < end; addr += SZ_2M) {
		pt = vm->root;
		for (level = SGPU_PT_LEVELS - 1; level > 0; level--) {
			idx = sgpu_pt_index(level, addr);
			/* Only prepares (serialised by vm->lock) write it. */
			child = pt->child[idx];
			if (!child) {
				new = sgpu_pt_alloc(vm, level - 1);
				if (!new)
					return -ENOMEM;
				spin_lock(&vm->pt_lock);
				pt->child[idx] = new;
				spin_unlock(&vm->pt_lock);
				child = new;
			}
			pt = child;
		}
	}
	return 0;
}

/* Fill @child with the sub-leaves of the large leaf @e at @level. */
static void sgpu_pt_split(struct sgpu_pt *child, u64 e, unsigned int level)
{
	u64 flags = e & ~SGPU_PTE_ADDR, addr = e & SGPU_PTE_ADDR;
	u64 sub = 1ULL << sgpu_pt_shift(level - 1);
	unsigned int i;

	for (i = 0; i < SGPU_PT_ENTRIES; i++)
		WRITE_ONCE(child->ent[i], flags | (addr + i * sub));
}

/*
 * Return the table holding the level-@target entry of @va, making every
 * directory entry above it point to its (preallocated) child: a cleared
 * entry activates an emptied child, a large leaf is split into its child.
 */
static struct sgpu_pt *sgpu_pt_walk(struct sgpu_vm *vm, u64 va,
				    unsigned int target)
{
	struct sgpu_pt *pt = vm->root, *child;
	unsigned int level, idx;
	u64 e;

	lockdep_assert_held(&vm->pt_lock);

	for (level = SGPU_PT_LEVELS - 1; level > target; level--) {
		idx = sgpu_pt_index(level, va);
		child = pt->child[idx];
		if (WARN_ON_ONCE(!child))
			return NULL;
		e = pt->ent[idx];
		if (!(e & SGPU_PTE_VALID)) {
			memset(child->ent, 0, PAGE_SIZE);
			WRITE_ONCE(pt->ent[idx], sgpu_pt_dir_entry(child));
		} else if (e & SGPU_PTE_LEAF) {
			sgpu_pt_split(child, e, level);
			WRITE_ONCE(pt->ent[idx], sgpu_pt_dir_entry(child));
		}
		pt = child;
	}
	return pt;
}

static u64 sgpu_pte(uptr_entry_t e, bool read_only)
{
	u64 pte;

	if (!(e & UPTR_ENTRY_VALID))
		return 0;
	pte = uptr_entry_addr(e) | SGPU_PTE_VALID | SGPU_PTE_LEAF;
	if ((e & UPTR_ENTRY_WRITE) && !read_only)
		pte |= SGPU_PTE_WRITE;
	if (e & UPTR_ENTRY_DEVICE_PRIVATE)
		pte |= SGPU_PTE_DEVPRIV;
	return pte;
}

/* Can the 2^@order entries at @e be mapped as one leaf? */
static bool sgpu_pt_block_ok(const uptr_entry_t *e, unsigned int order,
			     bool userptr)
{
	u64 n = 1ULL << order, base = uptr_entry_addr(e[0]), i;
	uptr_entry_t w = e[0] & UPTR_ENTRY_WRITE;

	if (!(e[0] & UPTR_ENTRY_VALID) || (e[0] & UPTR_ENTRY_DEVICE_PRIVATE))
		return false;
	if (userptr && uptr_entry_order(e[0]) < order)
		return false;
	if (!IS_ALIGNED(base, PAGE_SIZE << order))
		return false;
	for (i = 1; i < n; i++) {
		if (!(e[i] & UPTR_ENTRY_VALID) ||
		    (e[i] & (UPTR_ENTRY_DEVICE_PRIVATE | UPTR_ENTRY_WRITE)) != w ||
		    uptr_entry_addr(e[i]) != base + (i << PAGE_SHIFT))
			return false;
	}
	return true;
}

/* Write one leaf at @level; returns false if the walk found no table. */
static bool sgpu_pt_set_leaf(struct sgpu_vm *vm, u64 va, unsigned int level,
			     u64 pte)
{
	struct sgpu_pt *pt = sgpu_pt_walk(vm, va, level);

	if (!pt)
		return false;
	WRITE_ONCE(pt->ent[sgpu_pt_index(level, va)], pte);
	return true;
}

/**
 * sgpu_pt_map() - write leaves for a range
 * @vm: the VM
 * @va: first GPU VA, page aligned
 * @npages: number of 4 KiB pages
 * @entries: one &uptr_entry_t per page; invalid entries clear their PTE
 * @read_only: never set %SGPU_PTE_WRITE
 * @userptr: @entries come from a uptr range (their order limits leaves)
 * @ubo: the userptr BO @entries are a snapshot of, or NULL: once its
 *	address space was torn down (&sgpu_ubo.torn_down) nothing more is
 *	written, the rest of the range stays unmapped
 *
 * The range must have been prepared with sgpu_pt_prepare().  Takes pt_lock
 * per 2 MiB block (or 1 GiB leaf), and checks @ubo under it: the teardown
 * zap sets the flag under pt_lock, so a block is either written before
 * that zap (which then removes it) or not at all.  Never allocates.
 *
 * Context: Process context (job, fault handler); pt_lock not held.  For
 * userptr entries the caller either holds the domain lock or knows that
 * the notifier waits for it, or passes @ubo (fence mode job).
 */
void sgpu_pt_map(struct sgpu_vm *vm, u64 va, u64 npages,
		 const uptr_entry_t *entries, bool read_only, bool userptr,
		 const struct sgpu_ubo *ubo)
{
	u64 i = 0, n, j, a, pte;
	struct sgpu_pt *pt;
	unsigned int idx;

	while (i < npages) {
		a = va + (i << PAGE_SHIFT);
		spin_lock(&vm->pt_lock);
		if (ubo && READ_ONCE(ubo->torn_down))
			goto out_unlock;
		if (IS_ALIGNED(a, SZ_1G) && npages - i >= (SZ_1G >> PAGE_SHIFT) &&
		    sgpu_pt_block_ok(&entries[i], 18, userptr)) {
			pte = sgpu_pte(entries[i], read_only);
			if (!sgpu_pt_set_leaf(vm, a, 2, pte))
				goto out_unlock;
			sgpu_vm_stat_add(vm, SGPU_VM_PTE_1G, 1);
			n = SZ_1G >> PAGE_SHIFT;
		} else if (IS_ALIGNED(a, SZ_2M) &&
			   npages - i >= (SZ_2M >> PAGE_SHIFT) &&
			   sgpu_pt_block_ok(&entries[i], 9, userptr)) {
			pte = sgpu_pte(entries[i], read_only);
			if (!sgpu_pt_set_leaf(vm, a, 1, pte))
				goto out_unlock;
			sgpu_vm_stat_add(vm, SGPU_VM_PTE_2M, 1);
			n = SZ_2M >> PAGE_SHIFT;
		} else {
			pt = sgpu_pt_walk(vm, a, 0);
			if (!pt)
				goto out_unlock;
			idx = sgpu_pt_index(0, a);
			n = min_t(u64, npages - i, SGPU_PT_ENTRIES - idx);
			for (j = 0; j < n; j++)
				WRITE_ONCE(pt->ent[idx + j],
					   sgpu_pte(entries[i + j], read_only));
			sgpu_vm_stat_add(vm, SGPU_VM_PTE_4K, n);
		}
		spin_unlock(&vm->pt_lock);
		i += n;
		cond_resched();
	}
	return;

out_unlock:
	spin_unlock(&vm->pt_lock);
}

/* Whose pages a teardown zap may remove: @range's, mapped at @va0. */
struct sgpu_pt_owner {
	struct uptr_range *range;
	u64 va0;
	unsigned long ua0;
};

/* Does the leaf @e, mapping @addr at @va, map what @o's entry names? */
static bool sgpu_pt_owned(const struct sgpu_pt_owner *o, u64 va, u64 addr,
			  u64 e)
{
	u64 want = sgpu_pte(uptr_range_entry(o->range,
					     o->ua0 + (va - o->va0)), false);

	return want && (want & SGPU_PTE_ADDR) == addr &&
	       !((want ^ e) & SGPU_PTE_DEVPRIV);
}

/*
 * Clear the translations of [@start, @end) below @pt; with @o, only the
 * leaves that map @o's pages (directories are then walked, not dropped).
 */
static void sgpu_pt_zap_level(struct sgpu_pt *pt, unsigned int level,
			      u64 base, u64 start, u64 end,
			      const struct sgpu_pt_owner *o)
{
	u64 size = 1ULL << sgpu_pt_shift(level), bstart, bend, e, va;
	unsigned int idx;

	for (idx = sgpu_pt_index(level, start); idx < SGPU_PT_ENTRIES; idx++) {
		bstart = base + idx * size;
		if (bstart >= end)
			break;
		bend = bstart + size;
		e = pt->ent[idx];
		if (!(e & SGPU_PTE_VALID))
			continue;
		if (o && level && !(e & SGPU_PTE_LEAF)) {
			sgpu_pt_zap_level(pt->child[idx], level - 1, bstart,
					  max(start, bstart), min(end, bend), o);
			continue;
		}
		va = max(start, bstart);
		if (o && !sgpu_pt_owned(o, va,
					(e & SGPU_PTE_ADDR) + (va - bstart), e))
			continue;
		if (start <= bstart && bend <= end) {
			WRITE_ONCE(pt->ent[idx], 0);
			continue;
		}
		/* Partial: descend, splitting a large leaf first. */
		if (WARN_ON_ONCE(!level || !pt->child[idx])) {
			WRITE_ONCE(pt->ent[idx], 0);
			continue;
		}
		if (e & SGPU_PTE_LEAF) {
			sgpu_pt_split(pt->child[idx], e, level);
			WRITE_ONCE(pt->ent[idx],
				   sgpu_pt_dir_entry(pt->child[idx]));
		}
		sgpu_pt_zap_level(pt->child[idx], level - 1, bstart,
				  max(start, bstart), min(end, bend), o);
	}
}

/**
 * sgpu_pt_zap() - remove every translation of a range and flush the TLB
 * @vm: the VM
 * @va: first GPU VA, page aligned
 * @size: bytes, page aligned
 *
 * When this returns, no engine access through a removed translation is in
 * flight and none can start.  Never sleeps or allocates: callable from
 * non-blockable MMU notifiers.
 *
 * Context: Any context that may spin; pt_lock not held.
 */
void sgpu_pt_zap(struct sgpu_vm *vm, u64 va, u64 size)
{
	spin_lock(&vm->pt_lock);
	sgpu_pt_zap_level(vm->root, SGPU_PT_LEVELS - 1, 0, va, va + size, NULL);
	spin_unlock(&vm->pt_lock);
	sgpu_vm_stat_add(vm, SGPU_VM_TLB_INVALIDATIONS, 1);
}

/**
 * sgpu_pt_zap_removed() - the zap of a removed mapping by its job
 * @vm: the VM
 * @m: a mapping that left the VA space (&sgpu_mapping.zap_addr, zap_range)
 *
 * The job that removed @m zaps its range when it runs (or when it is
 * killed), and clears &sgpu_mapping.zap_pending in the same pt_lock
 * section: from then on a teardown notifier leaves the range alone (later
 * jobs may map other memory there).  Never sleeps or allocates.
 *
 * Context: Any context that may spin; pt_lock not held.
 */
void sgpu_pt_zap_removed(struct sgpu_vm *vm, struct sgpu_mapping *m)
{
	spin_lock(&vm->pt_lock);
	sgpu_pt_zap_level(vm->root, SGPU_PT_LEVELS - 1, 0, m->zap_addr,
			  m->zap_addr + m->zap_range, NULL);
	WRITE_ONCE(m->zap_pending, false);
	spin_unlock(&vm->pt_lock);
	sgpu_vm_stat_add(vm, SGPU_VM_TLB_INVALIDATIONS, 1);
}

/**
 * sgpu_pt_zap_ubo() - the teardown's zap of a mapping of a userptr BO
 * @vm: the VM
 * @ubo: the BO, its address space being torn down
 * @m: a mapping of @ubo: live, or removed by a job not yet freed
 * @addr: first GPU VA to zap, within @m
 * @size: bytes
 * @removed: @m left the VA space (on &sgpu_ubo.removed)
 *
 * The teardown does not wait for the jobs queued before the binds that
 * made or removed @m, and those may still use what the range mapped
 * before (another BO, another process's): so only leaves that map the
 * page @ubo's entry names for their address are cleared, and a removed
 * mapping is left alone once its job zapped it
 * (&sgpu_mapping.zap_pending).  The entries are still valid: the core
 * drops them after the callback.  Never sleeps or allocates.
 *
 * Context: The MMU notifier, domain lock held; pt_lock not held.
 */
void sgpu_pt_zap_ubo(struct sgpu_vm *vm, struct sgpu_ubo *ubo,
		     struct sgpu_mapping *m, u64 addr, u64 size, bool removed)
{
	struct sgpu_pt_owner o = {
		.range = &ubo->range,
		.va0 = m->va.va.addr,
		.ua0 = ubo->range.start + m->va.gem.offset,
	};

	lockdep_assert_held(&vm->domain.lock);
	spin_lock(&vm->pt_lock);
	if (!removed || m->zap_pending)
		sgpu_pt_zap_level(vm->root, SGPU_PT_LEVELS - 1, 0, addr,
				  addr + size, &o);
	spin_unlock(&vm->pt_lock);
	sgpu_vm_stat_add(vm, SGPU_VM_TLB_INVALIDATIONS, 1);
}

/**
 * sgpu_pt_translate() - translate a GPU VA as the engine does
 * @vm: the VM
 * @va: the GPU VA
 * @write: the access writes
 * @x: filled with the translation
 *
 * The translation is only valid until pt_lock is released.
 *
 * Context: pt_lock held.
 * Return: 0; -EFAULT when no valid leaf maps @va; -EACCES for a write
 * through a leaf without write permission.
 */
int sgpu_pt_translate(struct sgpu_vm *vm, u64 va, bool write,
		      struct sgpu_xlate *x)
{
	const u64 *ent = vm->root->ent;
	unsigned int level;
	u64 e, size;

	lockdep_assert_held(&vm->pt_lock);

	if (va >= SGPU_VA_END)
		return -EFAULT;
	for (level = SGPU_PT_LEVELS - 1; ; level--) {
		e = READ_ONCE(ent[sgpu_pt_index(level, va)]);
		if (!(e & SGPU_PTE_VALID))
			return -EFAULT;
		if (e & SGPU_PTE_LEAF)
			break;
		if (WARN_ON_ONCE(!level))
			return -EFAULT;
		ent = phys_to_virt(e & SGPU_PTE_ADDR);
	}
	if (write && !(e & SGPU_PTE_WRITE))
		return -EACCES;
	size = 1ULL << sgpu_pt_shift(level);
	x->addr = (e & SGPU_PTE_ADDR) + (va & (size - 1));
	x->bytes = size - (va & (size - 1));
	x->devpriv = e & SGPU_PTE_DEVPRIV;
	return 0;
}
