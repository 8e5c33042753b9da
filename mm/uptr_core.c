// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (c) 2026 The uptr authors
 */

/**
 * DOC: uptr core
 *
 * The backend-independent half of uptr: domains, range life cycle, the
 * per-page entry table, DMA mapping of collected pages, the commit step of
 * the notifier retry protocol and the MMU interval notifier callback.
 *
 * Concurrency, for one range (time flows down)::
 *
 *	populate (process / fault worker)	notifier (any mm path)
 *	---------------------------------	----------------------
 *	lock populate_lock
 *	seq = mmu_interval_read_begin()
 *	pin or hmm_range_fault (mmap_lock)
 *	PIN: dma map pages
 *						lock domain
 *						mmu_interval_set_seq()
 *						ops->invalidate(): device stops
 *						unmap, dirty, unpin, clear
 *						unlock domain
 *	lock domain
 *	mmu_interval_read_retry(seq)? yes:
 *	  unlock, (PIN) unmap, unpin, retry
 *	no: FAULT: dma map pages
 *	    install entries
 *	unlock domain
 *	unlock populate_lock
 *
 * Entries become valid only in uptr_batch_commit() under the domain lock
 * after the sequence check, and invalid only in uptr_invalidate() (after
 * the driver stopped the device) or in uptr_range_fini().  Because
 * populates of a range are serialised by its populate_lock, the set of
 * valid entries a populate sees when it starts can only shrink until it
 * commits, and any shrink bumps the sequence, so a commit never overwrites
 * a valid entry.
 *
 * Nothing in the notifier path allocates memory, takes mmap_lock, a
 * dma_resv lock or a folio lock; uptr_domain_init() primes lockdep so
 * that taking the domain lock around a GFP_KERNEL allocation is reported in
 * every test run, not only under memory pressure.
 */

#include <linux/dma-mapping.h>
#include <linux/error-injection.h>
#include <linux/hmm.h>
#include <linux/list_lru.h>
#include <linux/memcontrol.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/shrinker.h>
#include <linux/backing-dev.h>
#include <linux/slab.h>
#include <linux/swiotlb.h>
#include <linux/vmalloc.h>

#include <kunit/visibility.h>

#include "uptr_internal.h"

/* Pages pinned by all PIN ranges of all domains (leak checks). */
atomic64_t uptr_pinned_total = ATOMIC64_INIT(0);

/* Bound on populate attempts that lose the race against invalidations. */
#define UPTR_RETRY_TIMEOUT_MS	1000

/*
 * The devices uptr serves snoop the CPU caches (as PCIe GPUs and RDMA NICs
 * accessing system memory do), so no CPU cache maintenance is needed at map
 * and unmap.  Skipping it also makes mapping one page several times legal
 * for the DMA API, which userptr needs: every untouched page of a read-only
 * anonymous range is the shared zero page, KSM merges identical pages, and
 * two ranges may alias the same memory.
 */
#define UPTR_DMA_ATTRS		DMA_ATTR_SKIP_CPU_SYNC

/*
 * The DMA map of a block, in a function of our own, never inlined, so that
 * fail_function can fail it (docs/design.rst, "Fault injection").  It
 * returns an errno, never an address, so that any injected retval is an
 * error and none can be taken for a DMA address.
 */
static noinline int uptr_dma_map_page(struct device *dev, struct page *page,
				      size_t size, enum dma_data_direction dir,
				      dma_addr_t *addr)
{
	*addr = dma_map_page_attrs(dev, page, 0, size, dir, UPTR_DMA_ATTRS);
	return dma_mapping_error(dev, *addr) ? -ENOMEM : 0;
}
ALLOW_ERROR_INJECTION(uptr_dma_map_page, ERRNO);

static void uptr_scratch_free(struct uptr_scratch *s)
{
	if (!s)
		return;
	bitmap_free(s->pinned);
	kvfree(s->words);
	kvfree(s->blocks);
	kfree(s);
}

/*
 * Scratch arrays of a whole chunk, for either backend, kept by a domain
 * until its fini or the shrinker: vmalloc memory, so that no high-order
 * page stays pinned down by it (kmalloc would take an order-5 and an
 * order-3 page).
 */
static struct uptr_scratch *uptr_scratch_alloc(gfp_t gfp)
{
	struct uptr_scratch *s = kzalloc(sizeof(*s), gfp);

	if (!s)
		return NULL;
	s->blocks = __vmalloc_array(UPTR_CHUNK_PAGES, sizeof(*s->blocks), gfp);
	s->words = __vmalloc_array(UPTR_CHUNK_PAGES, sizeof(unsigned long),
				   gfp);
	s->pinned = bitmap_zalloc(UPTR_CHUNK_PAGES, gfp);
	if (!s->blocks || !s->words || !s->pinned) {
		uptr_scratch_free(s);
		return NULL;
	}
	return s;
}

/*
 * Pages of one kept set, what the shrinker counts and frees: its two
 * vmalloc arrays (the bitmap and the struct are a few hundred bytes).
 */
#define UPTR_SCRATCH_PAGES						\
	((PAGE_ALIGN(UPTR_CHUNK_PAGES * sizeof(struct uptr_block)) +	\
	  PAGE_ALIGN(UPTR_CHUNK_PAGES * sizeof(unsigned long))) >> PAGE_SHIFT)

/*
 * Domains that handed a kept set back (&uptr_domain.scratch_lru), for the
 * shrinker.  A domain stays listed while a call borrows its set (taking
 * it does not touch the list); the shrinker drops a domain it finds
 * without a set, so the count may include domains whose set is lent (or
 * was freed by the shrinker and not made again since).  The shrinker
 * is neither NUMA- nor memcg-aware (a set is vmalloc memory of any node,
 * charged to the memcg of the mm whose call made it): every domain is on
 * one node's list of the list_lru, uptr_scratch_nid, whichever node
 * reclaim asks about, so global reclaim of any node and drop_caches free
 * the sets; a memory cgroup's own reclaim does not.  The isolate callback
 * runs under the list's lock, which uptr_domain_fini() takes to unlist
 * the domain: that is what keeps a domain alive while the shrinker looks
 * at it.
 *
 * A hand-back takes the list's lock only when the domain is not listed
 * (%UPTR_SCRATCH_LISTED clear).  The isolate clears that bit before its
 * xchg() of the set, and a hand-back tests it after its cmpxchg(): both
 * are full barriers, so when the isolate found no set (it was lent) the
 * hand-back that follows sees the bit clear and lists the domain again;
 * when it found one, it frees that set.  No set stays kept unlisted.
 */
static struct list_lru uptr_scratch_lru;
static struct shrinker *uptr_scratch_shrinker;
static int uptr_scratch_nid __ro_after_init;

/* Keep @domain's set, just handed back by a call, findable. */
static void uptr_scratch_listed(struct uptr_domain *domain)
{
	if (test_bit(UPTR_SCRATCH_LISTED, &domain->scratch_made) ||
	    test_and_set_bit(UPTR_SCRATCH_LISTED, &domain->scratch_made))
		return;
	list_lru_add(&uptr_scratch_lru, &domain->scratch_lru,
		     uptr_scratch_nid, NULL);
}

static unsigned long uptr_scratch_count(struct shrinker *shrinker,
					struct shrink_control *sc)
{
	return list_lru_count_one(&uptr_scratch_lru, uptr_scratch_nid,
				  NULL) * UPTR_SCRATCH_PAGES;
}

/*
 * Unlist a domain and take its set, if it has one now (a call may have
 * borrowed it).  Clearing %UPTR_SCRATCH_MADE after the xchg() lets the
 * domain's next call make a set again: the domain never owns two.
 */
static enum lru_status uptr_scratch_isolate(struct list_head *item,
					    struct list_lru_one *list,
					    spinlock_t *lock, void *arg)
{
	struct uptr_domain *domain = container_of(item, struct uptr_domain,
						  scratch_lru);
	struct list_head *dispose = arg;
	struct uptr_scratch *s;

	lockdep_assert_held(lock);
	list_lru_isolate(list, item);
	clear_bit(UPTR_SCRATCH_LISTED, &domain->scratch_made);
	/* Fully ordered: pairs with the cmpxchg() of a hand-back, above. */
	s = xchg(&domain->scratch, NULL);
	if (s) {
		clear_bit(UPTR_SCRATCH_MADE, &domain->scratch_made);
		list_add(&s->dispose, dispose);
	}
	return LRU_REMOVED;
}

/*
 * Free kept sets, whole: @sc->nr_to_scan is in pages, rounded up to sets,
 * from the domain listed longest.  The sets are freed after the walk,
 * outside the list's lock (vfree() may sleep).  Takes no domain or range
 * lock: it never waits for a populate.
 */
static unsigned long uptr_scratch_scan(struct shrinker *shrinker,
				       struct shrink_control *sc)
{
	unsigned long nr = DIV_ROUND_UP(sc->nr_to_scan, UPTR_SCRATCH_PAGES);
	struct uptr_scratch *s, *next;
	unsigned long freed = 0;
	LIST_HEAD(dispose);

	list_lru_walk_one(&uptr_scratch_lru, uptr_scratch_nid, NULL,
			  uptr_scratch_isolate, &dispose, &nr);
	list_for_each_entry_safe(s, next, &dispose, dispose) {
		uptr_scratch_free(s);
		freed += UPTR_SCRATCH_PAGES;
	}
	return freed;
}

/**
 * uptr_domain_init() - initialise a domain
 * @domain: the domain to initialise
 * @dev: device to DMA-map pages for, or NULL to publish physical addresses
 *	(for devices that address memory directly and for tests)
 * @owner: dev_private_owner for hmm_range_fault(): the pgmap owner of the
 *	driver's own device-private pages, or NULL
 *
 * A device whose streaming DMA would go through swiotlb bounce buffers is
 * refused: uptr keeps pages mapped for as long as they stay valid and maps
 * them with %DMA_ATTR_SKIP_CPU_SYNC, so the device would read and write a
 * bounce buffer that is copied from and back to the user's page only at
 * map and unmap time.  That is the case when swiotlb is forced for the
 * device (``swiotlb=force``, memory-encrypted confidential guests) and when
 * its DMA mask or bus limit does not reach all of memory.
 *
 * Context: Process context.
 * Return: 0, or -EOPNOTSUPP for a device whose DMA would be bounce-buffered
 * (nothing is initialised then).
 */
int uptr_domain_init(struct uptr_domain *domain, struct device *dev,
		     void *owner)
{
	int i;

	if (dev && (is_swiotlb_force_bounce(dev) ||
		    dma_addressing_limited(dev)))
		return -EOPNOTSUPP;

	mutex_init(&domain->lock);
	domain->dev = dev;
	domain->owner = owner;
	domain->window = SZ_2M;
	domain->scratch = NULL;
	domain->scratch_made = 0;
	INIT_LIST_HEAD(&domain->scratch_lru);
	domain->max_order = UINT_MAX;
	if (dev)
		domain->max_order = ilog2(max_t(size_t, PAGE_SIZE,
						dma_max_mapping_size(dev)) >>
					  PAGE_SHIFT);
	for (i = 0; i < UPTR_STAT_NR; i++)
		atomic64_set(&domain->stats[i], 0);
	for (i = 0; i < UPTR_NR_EVENTS; i++)
		atomic64_set(&domain->events[i], 0);

	/*
	 * The notifier takes the domain lock and may run from direct
	 * reclaim.  Tell lockdep now, so that any allocation under the lock
	 * is reported on first use instead of on the first real reclaim.
	 */
	if (IS_ENABLED(CONFIG_LOCKDEP)) {
		fs_reclaim_acquire(GFP_KERNEL);
		might_lock(&domain->lock);
		fs_reclaim_release(GFP_KERNEL);
	}
	return 0;
}
EXPORT_SYMBOL_GPL(uptr_domain_init);

/**
 * uptr_domain_fini() - tear down a domain
 * @domain: the domain, with all its ranges finalised
 *
 * Frees the scratch arrays the domain kept for its populate calls (unless
 * the shrinker freed them first).
 *
 * Context: Process context.
 */
void uptr_domain_fini(struct uptr_domain *domain)
{
	WARN_ON(atomic64_read(&domain->stats[UPTR_STAT_MAPPED]));
	WARN_ON(atomic64_read(&domain->stats[UPTR_STAT_PINNED]));
	/* Under the list's lock: the shrinker is done with @domain after. */
	list_lru_del(&uptr_scratch_lru, &domain->scratch_lru, uptr_scratch_nid,
		     NULL);
	/* A call still holds the set: its hand-back would list a freed domain. */
	WARN_ON_ONCE(test_bit(UPTR_SCRATCH_MADE, &domain->scratch_made) &&
		     !READ_ONCE(domain->scratch));
	uptr_scratch_free(xchg(&domain->scratch, NULL));
	domain->scratch_made = 0;
	mutex_destroy(&domain->lock);
}
EXPORT_SYMBOL_GPL(uptr_domain_fini);

/**
 * uptr_domain_stat() - read a domain counter
 * @domain: the domain
 * @counter: which counter
 *
 * Context: Any context.
 * Return: the counter's value, 0 for an unknown counter.
 */
u64 uptr_domain_stat(struct uptr_domain *domain, enum uptr_counter counter)
{
	if ((unsigned int)counter >= UPTR_STAT_NR)
		return 0;
	return atomic64_read(&domain->stats[counter]);
}
EXPORT_SYMBOL_GPL(uptr_domain_stat);

/**
 * uptr_domain_event_count() - invalidations of a domain by event
 * @domain: the domain
 * @event: the mmu_notifier_event
 *
 * Counts every notifier callback that reached a range of the domain,
 * including those that only bumped the sequence.
 *
 * Context: Any context.
 * Return: the count, 0 for an unknown event.
 */
u64 uptr_domain_event_count(struct uptr_domain *domain,
			    enum mmu_notifier_event event)
{
	if ((unsigned int)event >= UPTR_NR_EVENTS)
		return 0;
	return atomic64_read(&domain->events[event]);
}
EXPORT_SYMBOL_GPL(uptr_domain_event_count);

/**
 * uptr_pinned_pages_total() - pages currently pinned by uptr
 *
 * Context: Any context.
 * Return: the number of pages pinned by all PIN ranges.
 */
u64 uptr_pinned_pages_total(void)
{
	return atomic64_read(&uptr_pinned_total);
}
EXPORT_SYMBOL_GPL(uptr_pinned_pages_total);

/*
 * An entry without write permission is mapped DMA_TO_DEVICE: behind an
 * IOMMU the device then cannot write the page (the shared zero page, a KSM
 * page, a read-only file page), and the DMA API need not track CPU cache
 * lines for it, which makes mapping one page many times legal.
 */
static enum dma_data_direction uptr_dma_dir(uptr_entry_t e)
{
	return e & UPTR_ENTRY_WRITE ? DMA_BIDIRECTIONAL : DMA_TO_DEVICE;
}

/*
 * Widen [*first, *end) (entry indices) so that it does not cut a mapping
 * block in two: blocks are mapped and unmapped as a whole.
 */
static void uptr_expand_to_blocks(struct uptr_range *range,
				  unsigned long *first, unsigned long *end)
{
	uptr_entry_t e;
	unsigned long va, size;

	e = uptr_entry_at(range, *first);
	if ((e & UPTR_ENTRY_VALID) && uptr_entry_order(e)) {
		size = PAGE_SIZE << uptr_entry_order(e);
		va = ALIGN_DOWN(range->start + (*first << PAGE_SHIFT), size);
		*first = uptr_index(range, va);
	}
	e = uptr_entry_at(range, *end - 1);
	if (e & UPTR_ENTRY_VALID)
		*end = uptr_block_end(range, *end - 1, e);
}

/* Index one past the %UPTR_HUGE_SIZE slot of index @i, within the range. */
static unsigned long uptr_slot_end(const struct uptr_range *range,
				   unsigned long i)
{
	unsigned long va = range->start + (i << PAGE_SHIFT);

	return min(uptr_index(range, ALIGN(va + 1, UPTR_HUGE_SIZE)),
		   range->npages);
}

/* The &uptr_range.huge value of the slot of index @i. */
static uptr_entry_t *uptr_slot(const struct uptr_range *range,
			       unsigned long i)
{
	return &range->huge[uptr_huge_index(range,
					    range->start + (i << PAGE_SHIFT))];
}

/**
 * uptr_find() - find the first page of a span with or without an entry
 * @range: the range
 * @i: index of the first page of the span
 * @end: index one past its last page
 * @valid: look for a valid entry (true) or for a page without one
 *
 * A slot whose entry is stored once (&uptr_range.huge) is skipped whole.
 *
 * Context: Domain lock held, or populate_lock held (valid entries may then
 * go away while this runs, never appear).
 * Return: the index found, or @end.
 */
unsigned long uptr_find(const struct uptr_range *range, unsigned long i,
			unsigned long end, bool valid)
{
	unsigned long next, slot_end, cap;
	uptr_entry_t v;

	while (i < end) {
		slot_end = uptr_slot_end(range, i);
		next = min(slot_end, end);
		v = READ_ONCE(*uptr_slot(range, i));
		if (v & UPTR_ENTRY_VALID) {
			if (valid)
				return i;
			i = next;
			continue;
		}
		/* Pages of the slot inside the range, and how many valid. */
		cap = slot_end - uptr_index(range,
				max(range->start,
				    ALIGN_DOWN(range->start + (i << PAGE_SHIFT),
					       UPTR_HUGE_SIZE)));
		if (v >> 1 == (valid ? 0 : cap)) {
			i = next;
			continue;
		}
		for (; i < next; i++)
			if (!!(READ_ONCE(range->entries[i]) & UPTR_ENTRY_VALID) ==
			    valid)
				return i;
	}
	return end;
}

static bool uptr_any_valid(struct uptr_range *range, unsigned long first,
			   unsigned long end)
{
	if (!range->nvalid)
		return false;
	return uptr_find(range, first, end, true) < end;
}

/* Clear the entries of the block of order @order at index @i. */
static void uptr_entries_clear(struct uptr_range *range, unsigned long i,
			       unsigned int order)
{
	uptr_entry_t *slot = uptr_slot(range, i);
	unsigned long k;

	if (order < UPTR_HUGE_ORDER) {
		/* Marked: populates read entries without the domain lock. */
		for (k = 0; k < 1UL << order; k++)
			WRITE_ONCE(range->entries[i + k], 0);
		/* Inside one slot: one less count of valid pages. */
		WRITE_ONCE(*slot, *slot - (2UL << order));
		return;
	}
	for (k = 0; k < 1UL << (order - UPTR_HUGE_ORDER); k++)
		WRITE_ONCE(slot[k], 0);
}

/*
 * Drop the block of valid entry @e that starts at index @i; add its pages
 * to *@dropped and, if writable, to *@wdropped.  Return its page count.
 */
static unsigned long uptr_block_drop(struct uptr_range *range, unsigned long i,
				     uptr_entry_t e, unsigned long *dropped,
				     unsigned long *wdropped)
{
	struct uptr_domain *domain = range->domain;
	unsigned long n = 1UL << uptr_entry_order(e);

	if (domain->dev && !(e & UPTR_ENTRY_DEVICE_PRIVATE)) {
		dma_unmap_page_attrs(domain->dev, uptr_entry_addr(e),
				     PAGE_SIZE << uptr_entry_order(e),
				     uptr_dma_dir(e), UPTR_DMA_ATTRS);
		uptr_stat_add(domain, UPTR_STAT_DMA_MAPPED, -1);
	}
	if (range->backend == UPTR_BACKEND_PIN)
		uptr_pin_release(range, i, n);
	else
		uptr_fault_release(range, i, n);
	uptr_entries_clear(range, i, uptr_entry_order(e));
	*dropped += n;
	if (e & UPTR_ENTRY_WRITE)
		*wdropped += n;
	return n;
}

/*
 * Drop the valid entries of [first, end), which must not cut a block:
 * unmap DMA, release pins (PIN) or forget the pages (FAULT), dirtying the
 * folios of writable entries, clear.  Never allocates, never sleeps, takes
 * no folio lock: called from the notifier.  The pages of valid entries are
 * still mapped by the CPU: the notifier runs before the page tables change,
 * and its other callers hold the domain lock with the notifier registered.
 */
static void uptr_entries_drop(struct uptr_range *range, unsigned long first,
			      unsigned long end)
{
	struct uptr_domain *domain = range->domain;
	unsigned long i = first, n, next, dropped = 0, wdropped = 0;
	uptr_entry_t e;

	lockdep_assert_held(&domain->lock);

	/*
	 * Slot by slot: an empty slot is skipped whole, a slot's own entry
	 * is one block, the pages of the others are read one by one, as
	 * cheaply as a plain per-page table (munmap of 4K pages).
	 */
	for (; i < end; i = max(i, next)) {
		next = min(uptr_slot_end(range, i), end);
		e = READ_ONCE(*uptr_slot(range, i));
		if (!(e & UPTR_ENTRY_VALID) && !(e >> 1))
			continue;
		for (; i < next; i += n) {
			e = uptr_entry_at(range, i);
			n = 1;
			if (e & UPTR_ENTRY_VALID)
				n = uptr_block_drop(range, i, e, &dropped,
						    &wdropped);
		}
	}
	WRITE_ONCE(range->nvalid, range->nvalid - dropped);
	WRITE_ONCE(range->nwrite, range->nwrite - wdropped);
	uptr_stat_add(domain, UPTR_STAT_MAPPED, -(long)dropped);
}

/*
 * Events after which the device may keep using a PIN range: the pinned
 * page stays the one the CPU maps.  Fork's COW write-protect
 * (PROTECTION_PAGE) never moves a pinned anonymous page away from the
 * parent, because fork copies maybe-pinned pages for the child
 * (folio_needs_cow_for_dma()); writeback cleaning (also PROTECTION_PAGE)
 * only matters for writable file pins, which FOLL_LONGTERM refuses where the
 * file needs dirty tracking; SOFT_DIRTY only write-protects to track CPU
 * writes.  A FAULT range holds no reference, so after any of these the CPU
 * may move to another page (COW) and the mirror must be dropped.
 */
static bool uptr_event_keeps_pages(const struct uptr_range *range,
				   const struct mmu_notifier_range *nrange)
{
	if (range->backend != UPTR_BACKEND_PIN)
		return false;
	return nrange->event == MMU_NOTIFY_PROTECTION_PAGE ||
	       nrange->event == MMU_NOTIFY_SOFT_DIRTY;
}

static bool uptr_invalidate(struct mmu_interval_notifier *mni,
			    const struct mmu_notifier_range *nrange,
			    unsigned long cur_seq)
{
	struct uptr_range *range = container_of(mni, struct uptr_range,
						notifier);
	struct uptr_domain *domain = range->domain;
	unsigned long start, end, first, last;

	if (mmu_notifier_range_blockable(nrange)) {
		mutex_lock(&domain->lock);
	} else if (!mutex_trylock(&domain->lock)) {
		uptr_stat_add(domain, UPTR_STAT_NONBLOCK_FAILED, 1);
		return false;
	}

	mmu_interval_set_seq(mni, cur_seq);
	if ((unsigned int)nrange->event < UPTR_NR_EVENTS)
		atomic64_inc(&domain->events[nrange->event]);

	start = max(nrange->start, range->start);
	end = min(nrange->end, range->end);
	first = uptr_index(range, start);
	last = uptr_index(range, ALIGN(end, PAGE_SIZE));

	if (uptr_event_keeps_pages(range, nrange) ||
	    !uptr_any_valid(range, first, last)) {
		uptr_stat_add(domain, UPTR_STAT_SEQ_ONLY, 1);
		goto out_unlock;
	}

	uptr_expand_to_blocks(range, &first, &last);
	start = range->start + (first << PAGE_SHIFT);
	end = range->start + (last << PAGE_SHIFT);

	if (!range->ops->invalidate(range, nrange, start, end)) {
		if (!mmu_notifier_range_blockable(nrange)) {
			uptr_stat_add(domain, UPTR_STAT_NONBLOCK_FAILED, 1);
			mutex_unlock(&domain->lock);
			return false;
		}
		/*
		 * A blockable event cannot be refused: the mm goes on and
		 * changes the page tables whatever we answer.  Entries kept
		 * now would name pages the CPU no longer maps.  Drop them,
		 * so that at least the device's DMA mappings (its IOMMU
		 * access) and our pins go, and tell about the driver.
		 */
		uptr_stat_add(domain, UPTR_STAT_REFUSED, 1);
		pr_warn_once("uptr: %ps refused a blockable invalidation, entries dropped anyway\n",
			     range->ops->invalidate);
	}

	uptr_entries_drop(range, first, last);
	range->gen++;
	uptr_stat_add(domain, UPTR_STAT_INVALIDATIONS, 1);
out_unlock:
	mutex_unlock(&domain->lock);
	return true;
}

/**
 * uptr_invalidate_is_teardown() - does an invalidation tear the mm down?
 * @nrange: the range handed to &uptr_range_ops.invalidate
 *
 * True for the invalidations of an address space that no CPU will run in
 * again: those of exit_mmap() once the last user of the mm is gone
 * (mm_users is zero; first %MMU_NOTIFY_RELEASE from mmu_notifier_release(),
 * which interval notifiers get too, then %MMU_NOTIFY_UNMAP), and the OOM
 * reaper's unmap of a victim (%MMF_UNSTABLE, set before it invalidates;
 * the victim's own faults then fail).  The process that owned the memory
 * is gone, so a driver may stop the device's access (remove and flush its
 * translations) without waiting for device work that still uses the range
 * to finish: that work sees the range unmapped, cut short as a CPU thread
 * of the process would be (what it wrote to memory that outlives the mm,
 * shared file pages or another buffer, stays).  It must still make sure that the device
 * cannot reach the pages once the callback returned, including through
 * translations it queued for later.  Never true for munmap(), migration,
 * reclaim or any other event of a live address space.
 *
 * Context: Any context; meant for &uptr_range_ops.invalidate.
 * Return: true if @nrange is part of the teardown of its mm.
 */
bool uptr_invalidate_is_teardown(const struct mmu_notifier_range *nrange)
{
	return (nrange->event == MMU_NOTIFY_RELEASE ||
		nrange->event == MMU_NOTIFY_UNMAP) &&
	       (!atomic_read(&nrange->mm->mm_users) ||
		test_bit(MMF_UNSTABLE, &nrange->mm->flags));
}
EXPORT_SYMBOL_GPL(uptr_invalidate_is_teardown);

static const struct mmu_interval_notifier_ops uptr_mni_ops = {
	.invalidate = uptr_invalidate,
};

/**
 * uptr_range_init() - register a range of user addresses for mirroring
 * @range: the range, embedded in a driver object
 * @domain: the domain the range commits to
 * @mm: the address space; held with mmgrab() until uptr_range_fini()
 * @start: first user address, page aligned
 * @length: length in bytes, page aligned, not zero
 * @backend: %UPTR_BACKEND_PIN or %UPTR_BACKEND_FAULT
 * @flags: %UPTR_RANGE_READ_ONLY or 0
 * @ops: driver callbacks, @ops->invalidate is required
 *
 * Nothing is pinned or mirrored yet; see uptr_range_populate().  For the
 * PIN backend the caller's RLIMIT_MEMLOCK (or its CAP_IPC_LOCK exemption)
 * is recorded here and applies to every later populate of the range; a PIN
 * range with more pages than that limit could never be pinned as a whole
 * and is refused, before anything is allocated for it.
 *
 * The range's tables (8 bytes per page; 16 for PIN and for a writable
 * FAULT range, which keeps its pages to dirty them; and 8 bytes per 2 MiB
 * slot, &uptr_range.huge) are allocated here and
 * charged to the caller's memory cgroup; @length is at most
 * %UPTR_RANGE_MAX_SIZE.
 *
 * Context: Process context, may sleep; mmap_lock of @mm must not be held.
 * Return: 0 on success; -EINVAL for unknown flags or backend, missing ops,
 * a zero or unaligned @start or @length; -EOVERFLOW if @start + @length
 * wraps; -E2BIG if @length is above %UPTR_RANGE_MAX_SIZE; -EFAULT if the
 * range reaches beyond the user address space of @mm; -EOPNOTSUPP for
 * %UPTR_BACKEND_FAULT without CONFIG_HMM_MIRROR; -ESRCH if @mm has no users
 * left; -ENOMEM, also for a PIN range of more pages than the caller's
 * RLIMIT_MEMLOCK without CAP_IPC_LOCK.
 */
int uptr_range_init(struct uptr_range *range, struct uptr_domain *domain,
		    struct mm_struct *mm, unsigned long start,
		    unsigned long length, enum uptr_backend backend,
		    unsigned int flags, const struct uptr_range_ops *ops)
{
	unsigned long end, memlock_limit = 0;
	int err;

	might_sleep();

	if (!ops || !ops->invalidate || (flags & ~UPTR_RANGE_FLAGS) ||
	    (backend != UPTR_BACKEND_PIN && backend != UPTR_BACKEND_FAULT))
		return -EINVAL;
	if (!length || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(length))
		return -EINVAL;
	if (check_add_overflow(start, length, &end))
		return -EOVERFLOW;
	/* Before anything is allocated: the tables grow with @length. */
	if (length > UPTR_RANGE_MAX_SIZE)
		return -E2BIG;
	if (end > mm->task_size)
		return -EFAULT;
	if (backend == UPTR_BACKEND_FAULT && !IS_ENABLED(CONFIG_HMM_MIRROR))
		return -EOPNOTSUPP;
	if (backend == UPTR_BACKEND_PIN) {
		memlock_limit = capable(CAP_IPC_LOCK) ? ULONG_MAX :
				rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
		/* A range that could never be pinned as a whole. */
		if ((length >> PAGE_SHIFT) > memlock_limit)
			return -ENOMEM;
	}

	memset(range, 0, sizeof(*range));
	range->domain = domain;
	range->ops = ops;
	range->mm = mm;
	range->start = start;
	range->end = end;
	range->npages = length >> PAGE_SHIFT;
	range->flags = flags;
	range->backend = backend;
	range->window = domain->window;
	mutex_init(&range->populate_lock);

	range->entries = kvcalloc(range->npages, sizeof(*range->entries),
				  GFP_KERNEL_ACCOUNT);
	if (!range->entries)
		return -ENOMEM;
	range->huge = kvcalloc(uptr_huge_index(range, end - 1) + 1,
			       sizeof(*range->huge), GFP_KERNEL_ACCOUNT);
	if (!range->huge) {
		err = -ENOMEM;
		goto err_free_entries;
	}

	/* FAULT keeps the pages of writable ranges to dirty them. */
	if (backend == UPTR_BACKEND_PIN || !(flags & UPTR_RANGE_READ_ONLY)) {
		range->pages = kvcalloc(range->npages, sizeof(*range->pages),
					GFP_KERNEL_ACCOUNT);
		if (!range->pages) {
			err = -ENOMEM;
			goto err_free_huge;
		}
	}
	range->memlock_limit = memlock_limit;

	mmgrab(mm);
	if (!mmget_not_zero(mm)) {
		err = -ESRCH;
		goto err_mmdrop;
	}
	err = mmu_interval_notifier_insert(&range->notifier, mm, start, length,
					   &uptr_mni_ops);
	mmput(mm);
	if (err)
		goto err_mmdrop;
	return 0;

err_mmdrop:
	mmdrop(mm);
	kvfree(range->pages);
err_free_huge:
	kvfree(range->huge);
err_free_entries:
	kvfree(range->entries);
	mutex_destroy(&range->populate_lock);
	return err;
}
EXPORT_SYMBOL_GPL(uptr_range_init);
ALLOW_ERROR_INJECTION(uptr_range_init, ERRNO);

/**
 * uptr_range_fini() - unregister a range and release everything it holds
 * @range: a range initialised by uptr_range_init()
 *
 * The device must no longer access the range.  Unmaps, unpins and (FAULT)
 * dirties what is still valid, then unregisters the notifier, waiting for
 * callbacks in progress.  Works after the process exited and never fails.
 *
 * Context: Process context, may sleep; domain lock not held.
 */
void uptr_range_fini(struct uptr_range *range)
{
	struct uptr_domain *domain = range->domain;

	might_sleep();
	lockdep_assert_not_held(&domain->lock);

	/*
	 * Drop the entries while the notifier is still registered: until
	 * then any change of the CPU mapping of a valid entry's page waits
	 * for the domain lock, so the page is alive and a FAULT entry's
	 * folio can still be dirtied.
	 */
	mutex_lock(&domain->lock);
	uptr_entries_drop(range, 0, range->npages);
	mutex_unlock(&domain->lock);

	mmu_interval_notifier_remove(&range->notifier);

	mmdrop(range->mm);
	kvfree(range->pages);
	kvfree(range->huge);
	kvfree(range->entries);
	mutex_destroy(&range->populate_lock);
}
EXPORT_SYMBOL_GPL(uptr_range_fini);

/*
 * The scratch arrays of one populate call of @npages pages, sized for at
 * most one chunk.  A call of UPTR_SCRATCH_MIN_PAGES or more takes the
 * domain's kept set, or makes it if the domain has none yet; a call that
 * finds the set lent to another call, a smaller call, and one whose
 * domain could not make a set, allocate arrays of their own span's size
 * and free them on return.  The blocks and PFNs are not zeroed: blocks are
 * written before they are read, and hmm_range_fault() writes every PFN of
 * the span it walked successfully.  Separate allocations of their own:
 * together they would pass 128 KiB, where kvmalloc() asks for an order-6
 * page and falls back to vmalloc().
 */
static int __uptr_batch_alloc(struct uptr_batch *batch,
			      struct uptr_range *range, unsigned long npages)
{
	unsigned long n = min(npages, UPTR_CHUNK_PAGES);
	const gfp_t gfp = GFP_KERNEL_ACCOUNT;
	struct uptr_domain *domain = range->domain;
	struct uptr_scratch *s = NULL;

	BUILD_BUG_ON(UPTR_SCRATCH_MIN_PAGES > UPTR_CHUNK_PAGES);
	memset(batch, 0, sizeof(*batch));
	batch->max_order = domain->max_order;
	if (n >= UPTR_SCRATCH_MIN_PAGES) {
		s = xchg(&domain->scratch, NULL);
		if (!s &&
		    !test_and_set_bit(UPTR_SCRATCH_MADE, &domain->scratch_made)) {
			s = uptr_scratch_alloc(gfp);
			if (!s)
				clear_bit(UPTR_SCRATCH_MADE,
					  &domain->scratch_made);
		}
	}
	if (s) {
		batch->scratch = s;
		batch->domain = domain;
		batch->max_pages = UPTR_CHUNK_PAGES;
		batch->blocks = s->blocks;
		if (range->backend == UPTR_BACKEND_FAULT) {
			batch->pfns = s->words;
		} else {
			batch->pages = s->words;
			batch->pinned = s->pinned;
		}
		return 0;
	}

	batch->max_pages = n;
	batch->blocks = kvmalloc_array(n, sizeof(*batch->blocks), gfp);
	if (!batch->blocks)
		goto err_free;
	if (range->backend == UPTR_BACKEND_FAULT) {
		batch->pfns = kvmalloc_array(n, sizeof(*batch->pfns), gfp);
		if (!batch->pfns)
			goto err_free;
	} else {
		batch->pages = kvmalloc_array(n, sizeof(*batch->pages), gfp);
		batch->pinned = bitmap_zalloc(n, gfp);
		if (!batch->pages || !batch->pinned)
			goto err_free;
	}
	return 0;

err_free:
	uptr_batch_free(batch);
	return -ENOMEM;
}

/*
 * Charged to the memory cgroup of the range's mm, also when the caller is
 * a kernel worker (a driver's GPU fault handler), whose allocations would
 * otherwise be charged to nobody, and the set a domain keeps with them.
 */
int uptr_batch_alloc(struct uptr_batch *batch, struct uptr_range *range,
		     unsigned long npages)
{
	struct mem_cgroup *memcg, *old;
	int err;

	if (current->mm == range->mm)
		return __uptr_batch_alloc(batch, range, npages);
	memcg = get_mem_cgroup_from_mm(range->mm);
	old = set_active_memcg(memcg);
	err = __uptr_batch_alloc(batch, range, npages);
	set_active_memcg(old);
	mem_cgroup_put(memcg);
	return err;
}
ALLOW_ERROR_INJECTION(uptr_batch_alloc, ERRNO);

/* Start a chunk of @npages pages at @start with an empty block list. */
void uptr_batch_reset(struct uptr_batch *batch, unsigned long start,
		      unsigned long npages)
{
	if (WARN_ON_ONCE(npages > batch->max_pages))
		npages = batch->max_pages;
	batch->start = start;
	batch->npages = npages;
	batch->nblocks = 0;
	batch->ninstalled = 0;
	batch->map_in_commit = false;
	if (batch->pinned)
		bitmap_zero(batch->pinned, npages);
}

void uptr_batch_free(struct uptr_batch *batch)
{
	struct uptr_scratch *s = batch->scratch;

	if (s) {
		if (IS_ENABLED(CONFIG_DEBUG_VM)) {
			memset(s->blocks, 0xff,
			       UPTR_CHUNK_PAGES * sizeof(*s->blocks));
			memset(s->words, 0xff,
			       UPTR_CHUNK_PAGES * sizeof(unsigned long));
			bitmap_fill(s->pinned, UPTR_CHUNK_PAGES);
		}
		/* The domain's one set: its place is empty while lent. */
		if (WARN_ON_ONCE(cmpxchg(&batch->domain->scratch, NULL, s)))
			uptr_scratch_free(s);
		else
			uptr_scratch_listed(batch->domain);
		return;
	}
	bitmap_free(batch->pinned);
	kvfree(batch->pages);
	kvfree(batch->pfns);
	kvfree(batch->blocks);
}

/*
 * The DMA (or physical) address of @order pages from @page for an entry of
 * flags @flags, for a device @dev or none: one mapping.  A device-private
 * page (FAULT only) is not mapped: its address is the physical one and
 * %UPTR_ENTRY_DEVICE_PRIVATE is added to @flags.
 */
static __always_inline int uptr_map_block(struct uptr_range *range,
					  struct page *page,
					  unsigned int order, u8 *flags,
					  u64 *addr)
{
	struct device *dev = range->domain->dev;
	dma_addr_t dma;

	if (range->backend == UPTR_BACKEND_FAULT &&
	    is_device_private_page(page)) {
		*addr = PFN_PHYS(page_to_pfn(page));
		*flags |= UPTR_ENTRY_DEVICE_PRIVATE;
	} else if (dev) {
		if (uptr_dma_map_page(dev, page, PAGE_SIZE << order,
				      uptr_dma_dir(*flags), &dma))
			return -ENOMEM;
		*addr = dma;
		*flags |= UPTR_BLOCK_MAPPED;
	} else {
		*addr = page_to_phys(page);
	}
	return 0;
}

/**
 * uptr_batch_map() - DMA-map the blocks of a PIN batch
 * @range: the range
 * @batch: blocks collected by the PIN backend, held by their pins
 * @from: first block to map
 * @to: one past the last block to map
 *
 * One DMA mapping per block, of its 2^order pages.  A FAULT batch is not
 * mapped here but by uptr_batch_commit(), page by page as it installs
 * them: its pages are held by no reference.
 *
 * Context: Process context, range populate_lock held, domain lock not held.
 * Return: 0 or -ENOMEM when a DMA mapping fails (nothing stays mapped).
 */
int uptr_batch_map(struct uptr_range *range, struct uptr_batch *batch,
		   unsigned long from, unsigned long to)
{
	struct uptr_block *b, *end = batch->blocks + to;
	long mapped = 0;

	for (b = batch->blocks + from; b < end; b++) {
		if (uptr_map_block(range, b->page, b->order, &b->flags,
				   &b->addr)) {
			uptr_stat_add(range->domain, UPTR_STAT_DMA_MAPPED,
				      mapped);
			uptr_batch_unmap(range, batch);
			return -ENOMEM;
		}
		mapped += !!(b->flags & UPTR_BLOCK_MAPPED);
	}
	uptr_stat_add(range->domain, UPTR_STAT_DMA_MAPPED, mapped);
	return 0;
}

/**
 * uptr_batch_unmap() - undo uptr_batch_map() for the blocks not installed
 * @range: the range
 * @batch: the batch
 *
 * Context: Process context.
 */
void uptr_batch_unmap(struct uptr_range *range, struct uptr_batch *batch)
{
	struct device *dev = range->domain->dev;
	struct uptr_block *b, *end = batch->blocks + batch->nblocks;
	long unmapped = 0;

	for (b = batch->blocks; b < end; b++) {
		if ((b->flags & (UPTR_BLOCK_MAPPED | UPTR_BLOCK_INSTALLED)) !=
		    UPTR_BLOCK_MAPPED)
			continue;
		dma_unmap_page_attrs(dev, b->addr, PAGE_SIZE << b->order,
				     uptr_dma_dir(b->flags), UPTR_DMA_ATTRS);
		b->flags &= ~UPTR_BLOCK_MAPPED;
		unmapped++;
	}
	uptr_stat_add(range->domain, UPTR_STAT_DMA_MAPPED, -unmapped);
}

/*
 * Map and install the pages of a FAULT run of 4K pages (block @b, at range
 * index @idx), each a block of order 0 of its own, under the domain lock
 * after the sequence check.  Store the number of pages installed in *@n,
 * and add those DMA-mapped to *@nmapped.  Not inlined: the loop of the caller
 * keeps its registers.  It has its own order-0 copy of uptr_map_block()'s
 * choice (device-private, DMA map, physical address), with the device,
 * direction and entry flags of the run read once: calling that helper for
 * each page cost ~15-30 cycles a page in the release guest (b8748fe,
 * reverted).  Return 0, or -ENOMEM when a mapping failed, which stopped
 * the run.
 */
static noinline int uptr_install_run(struct uptr_range *range,
				     const struct uptr_batch *batch,
				     const struct uptr_block *b,
				     unsigned long idx, bool check,
				     unsigned long *n, unsigned long *nmapped)
{
	struct device *dev = range->domain->dev;
	enum dma_data_direction dir = uptr_dma_dir(b->flags);
	const unsigned long *pfns = batch->pfns + b->idx;
	uptr_entry_t *entries = range->entries + idx;
	struct page **pages = range->pages ? range->pages + idx : NULL;
	uptr_entry_t e = UPTR_ENTRY_VALID | (b->flags & UPTR_ENTRY_WRITE);
	unsigned long k, done = 0, mapped = 0;
	struct page *page;
	dma_addr_t addr;
	int err = 0;

	for (k = 0; k < b->run; k++) {
		if (check && uptr_any_valid(range, idx + k, idx + k + 1))
			continue;
		VM_WARN_ON_ONCE(IS_ENABLED(CONFIG_DEBUG_VM) && !check &&
				uptr_any_valid(range, idx + k, idx + k + 1));
		page = hmm_pfn_to_page(pfns[k]);
		if (is_device_private_page(page)) {
			WRITE_ONCE(entries[k], PFN_PHYS(page_to_pfn(page)) | e |
				   UPTR_ENTRY_DEVICE_PRIVATE);
		} else if (dev) {
			if (uptr_dma_map_page(dev, page, PAGE_SIZE, dir,
					      &addr)) {
				err = -ENOMEM;
				break;
			}
			WRITE_ONCE(entries[k], addr | e);
			mapped++;
		} else {
			WRITE_ONCE(entries[k], page_to_phys(page) | e);
		}
		if (pages)
			pages[k] = page;
		done++;
	}
	*n = done;
	*nmapped += mapped;
	return err;
}

/*
 * Install blocks [@from, @to) of a batch whose sequence was checked under
 * the domain lock, which is held, and count them in @batch->ninstalled (a
 * run counts once, if any of its pages was installed).  A FAULT batch's
 * pages are mapped here, each just before its entries are written, so that
 * nothing stays mapped that is not installed.  Return 0, or -ENOMEM when a
 * mapping failed: what the hold installed before stays installed.
 */
static int uptr_batch_install(struct uptr_range *range,
			      struct uptr_batch *batch, unsigned long from,
			      unsigned long to)
{
	unsigned long j, n, idx, added = 0, wadded = 0, installed = 0;
	unsigned long idx0 = uptr_index(range, batch->start), mapped = 0;
	struct uptr_block *b, *end = batch->blocks + to;
	uptr_entry_t e, *entries;
	bool check;
	int err = 0;
	u64 addr;
	u8 flags;

	lockdep_assert_held(&range->domain->lock);

	/*
	 * Backends collect only pages without a valid entry, and under
	 * populate_lock entries only go away until this commit.  Only a
	 * commit nested in the collection (a test's before_commit hook) can
	 * have installed some meanwhile: then each block is looked at.
	 * CONFIG_DEBUG_VM checks the others.
	 */
	check = range->nvalid && range->ncommits != batch->ncommits;
	for (b = batch->blocks + from; b < end; b++) {
		idx = idx0 + b->idx;
		if (batch->map_in_commit && !b->order) {
			err = uptr_install_run(range, batch, b, idx, check,
					       &n, &mapped);
			if (n) {
				/* Count them in their slot (&uptr_range.huge). */
				entries = uptr_slot(range, idx);
				WRITE_ONCE(*entries, *entries + 2 * n);
				b->flags |= UPTR_BLOCK_INSTALLED;
				installed++;
				added += n;
				if (b->flags & UPTR_ENTRY_WRITE)
					wadded += n;
			}
			if (err)
				break;
			continue;
		}
		n = 1UL << b->order;
		if (check && uptr_any_valid(range, idx, idx + n))
			continue;
		VM_WARN_ON_ONCE(IS_ENABLED(CONFIG_DEBUG_VM) && !check &&
				uptr_any_valid(range, idx, idx + n));
		flags = b->flags;
		addr = b->addr;
		if (batch->map_in_commit) {
			/* Current: mapped by the CPU until we unlock. */
			err = uptr_map_block(range, uptr_block_page(batch, b),
					     b->order, &flags, &addr);
			if (err)
				break;
			mapped += !!(flags & UPTR_BLOCK_MAPPED);
		}
		e = addr | UPTR_ENTRY_VALID |
		    (flags & (UPTR_ENTRY_WRITE | UPTR_ENTRY_DEVICE_PRIVATE)) |
		    FIELD_PREP(UPTR_ENTRY_ORDER_MASK, b->order);
		if (b->order >= UPTR_HUGE_ORDER) {
			/* One entry per slot, see &uptr_range.huge. */
			entries = uptr_slot(range, idx);
			for (j = 0; j < n >> UPTR_HUGE_ORDER; j++)
				WRITE_ONCE(entries[j],
					   e + (j << UPTR_HUGE_SHIFT));
		} else {
			entries = &range->entries[idx];
			for (j = 0; j < n; j++)
				WRITE_ONCE(entries[j], e + (j << PAGE_SHIFT));
			/* Count them in their slot (&uptr_range.huge). */
			entries = uptr_slot(range, idx);
			WRITE_ONCE(*entries, *entries + (2UL << b->order));
		}
		if (range->pages)
			range->pages[idx] = uptr_block_page(batch, b);
		b->flags |= UPTR_BLOCK_INSTALLED;
		installed++;
		added += n;
		if (e & UPTR_ENTRY_WRITE)
			wadded += n;
	}
	WRITE_ONCE(range->nvalid, range->nvalid + added);
	WRITE_ONCE(range->nwrite, range->nwrite + wadded);
	if (installed) {
		WRITE_ONCE(range->ncommits, range->ncommits + 1);
		/*
		 * The batch's own earlier holds are no reason to look at
		 * its later blocks: they are disjoint.  Only another commit
		 * since the collection is, and a hold that looked verified
		 * only its own blocks, so it must not advance.
		 */
		if (!check)
			batch->ncommits = range->ncommits;
	}
	batch->ninstalled += installed;
	uptr_stat_add(range->domain, UPTR_STAT_DMA_MAPPED, mapped);
	uptr_stat_add(range->domain, UPTR_STAT_MAPPED, added);
	uptr_stat_add(range->domain, UPTR_STAT_PAGES_POPULATED, added);
	return err;
}

/* One past the last block of the hold that starts at block @from. */
static unsigned long uptr_batch_hold_end(const struct uptr_batch *batch,
					 unsigned long from)
{
	unsigned long work = 0;

	while (from < batch->nblocks && work < UPTR_COMMIT_BLOCKS)
		work += batch->blocks[from++].run;
	return from;
}

/**
 * uptr_batch_commit() - install a batch if it is still current
 * @range: the range
 * @batch: the batch, mapped by uptr_batch_map() (PIN), or with
 *	@batch->map_in_commit set, only collected (FAULT)
 *
 * Takes the domain lock and installs the batch's blocks unless an
 * invalidation ran since @batch->seq was read: each block's entries are
 * written from its one address, and the page of its first entry is kept
 * (but for a read-only FAULT range, see &uptr_range.pages).  A batch of pages
 * held by no reference (@batch->map_in_commit) is DMA-mapped here, under
 * the lock and after that check, when the pages are known to be still
 * mapped by the CPU, each page as its entry is written: nothing of such a
 * batch stays mapped and not installed.
 *
 * The domain lock is the notifier lock of every range of the domain, so
 * it is held for fewer than 2 * %UPTR_COMMIT_BLOCKS mappings at a time: a
 * chunk of 4K pages is installed in several holds, each after its own
 * sequence check.  Blocks installed by an earlier hold stay valid (an
 * invalidation that ran in between dropped what it covered, and bumped the
 * sequence, so the next hold fails).
 *
 * Only a commit makes entries valid and commits of a range are serialised
 * by its populate_lock, so no block of the batch can be valid in the range
 * already: backends collect only where entries are not valid.  A block
 * found valid all the same (only a commit nested in the collection, from a
 * test's before_commit hook, can install one) is not overwritten: like any
 * block not installed, it is released.
 *
 * Context: Process context, range populate_lock held, domain lock not held.
 * Return: 0: the range owns the installed blocks (PIN: their pins) and DMA
 * mappings, and the other blocks were unmapped (PIN: the caller releases
 * the pins not installed, see &uptr_batch.ninstalled).  -EAGAIN when the
 * batch raced with an invalidation (the blocks installed by earlier holds
 * stay installed, flagged %UPTR_BLOCK_INSTALLED, and the caller still owns,
 * and must release, the others and what it mapped for them), or, for a
 * FAULT batch, -ENOMEM when a DMA mapping made here failed: the pages
 * installed before it stay installed, and nothing else stays mapped.
 */
int uptr_batch_commit(struct uptr_range *range, struct uptr_batch *batch)
{
	struct uptr_domain *domain = range->domain;
	unsigned long from, to;
	int err;

	lockdep_assert_held(&range->populate_lock);

	if (range->ops->before_commit)
		range->ops->before_commit(range);

	batch->ninstalled = 0;
	for (from = 0; ; from = to) {
		to = uptr_batch_hold_end(batch, from);
		mutex_lock(&domain->lock);
		if (mmu_interval_read_retry(&range->notifier, batch->seq)) {
			err = -EAGAIN;
			goto out_unlock;
		}
		err = uptr_batch_install(range, batch, from, to);
		if (err)
			goto out_unlock;
		mutex_unlock(&domain->lock);
		if (to >= batch->nblocks)
			break;
		cond_resched();
	}
	if (batch->ninstalled != batch->nblocks && !batch->map_in_commit)
		uptr_batch_unmap(range, batch);
	return 0;

out_unlock:
	mutex_unlock(&domain->lock);
	return err;
}

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * For the KUnit tests: one collect, map and commit pass of the range's
 * backend over [start, end), without the cache-hit shortcut and the retry
 * loop of uptr_populate_retry(), so that a before_commit hook can commit a
 * batch while another one waits between its collection and its commit.
 */
int uptr_populate_once(struct uptr_range *range, unsigned long start,
		       unsigned long end, unsigned int flags)
{
	struct uptr_batch batch;
	int retry_err, err;

	lockdep_assert_held(&range->populate_lock);

	err = uptr_batch_alloc(&batch, range, (end - start) >> PAGE_SHIFT);
	if (err)
		return err;
	if (range->backend == UPTR_BACKEND_PIN)
		err = uptr_pin_populate(range, &batch, start, end, flags,
					&retry_err);
	else
		err = uptr_fault_populate(range, &batch, start, end, start,
					  end, flags);
	uptr_batch_free(&batch);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(uptr_populate_once);
#endif

/**
 * uptr_check_vmas() - check that a span of user memory can be mirrored
 * @mm: the address space
 * @start: first address of the span
 * @end: end of the span (exclusive)
 * @flags: UPTR_CHECK_* flags, the access the device needs
 *
 * Walk the VMAs covering [@start, @end) and report the first reason why
 * the span cannot be pinned or mirrored.  Each VMA, in address order, is
 * checked for, in this order: a hole before it (-EFAULT); %VM_IO or
 * %VM_PFNMAP (-EOPNOTSUPP); with %UPTR_CHECK_READ, no %VM_READ, and with
 * %UPTR_CHECK_WRITE, no %VM_WRITE (-EACCES); with both %UPTR_CHECK_WRITE
 * and %UPTR_CHECK_LONGTERM, a shared mapping of a file whose mapping needs
 * dirty tracking for writeback, which a writable long-term pin cannot
 * honour (-EOPNOTSUPP).
 *
 * Drivers can call it before creating a range to fail early with a precise
 * errno; the core calls it when a pin or fault failed.  The answer is only
 * a snapshot: the VMAs may change as soon as mmap_lock is dropped.
 *
 * Context: Process context.  The caller holds mmap_lock of @mm, for
 * reading or writing.
 * Return: 0 if the span is mapped with the required access, -EINVAL for
 * unknown @flags, else -EFAULT, -EOPNOTSUPP or -EACCES as above.
 */
int uptr_check_vmas(struct mm_struct *mm, unsigned long start,
		    unsigned long end, unsigned int flags)
{
	bool write = flags & UPTR_CHECK_WRITE;
	struct vm_area_struct *vma;
	unsigned long addr = start;

	mmap_assert_locked(mm);

	if (flags & ~UPTR_CHECK_FLAGS)
		return -EINVAL;

	while (addr < end) {
		vma = vma_lookup(mm, addr);
		if (!vma)
			return -EFAULT;
		if (vma->vm_flags & (VM_IO | VM_PFNMAP))
			return -EOPNOTSUPP;
		if (((flags & UPTR_CHECK_READ) && !(vma->vm_flags & VM_READ)) ||
		    (write && !(vma->vm_flags & VM_WRITE)))
			return -EACCES;
		if (write && (flags & UPTR_CHECK_LONGTERM) &&
		    vma->vm_file && (vma->vm_flags & VM_SHARED) &&
		    mapping_can_writeback(vma->vm_file->f_mapping))
			return -EOPNOTSUPP;
		addr = vma->vm_end;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(uptr_check_vmas);

/**
 * uptr_classify_error() - turn a failed pin or fault into a precise errno
 * @range: the range
 * @start: first address of the failed span
 * @end: end of the failed span
 * @write: write access was required
 * @err: the error GUP or HMM returned
 *
 * GUP and HMM report most failures as -EFAULT.  Walk the VMAs of the span
 * with uptr_check_vmas() to tell the caller what is wrong.
 *
 * Context: Process context, mmap_lock not held.
 * Return: -EFAULT for a hole, -EOPNOTSUPP for VM_IO/VM_PFNMAP memory or a
 * writable long-term pin of a file that needs dirty tracking, -EACCES for
 * memory mapped without read permission or, for a write, without write
 * permission, else @err.
 */
int uptr_classify_error(struct uptr_range *range, unsigned long start,
			unsigned long end, bool write, int err)
{
	unsigned int flags = UPTR_CHECK_READ;
	int ret;

	if (err != -EFAULT && err != -EPERM)
		return err;

	if (write)
		flags |= UPTR_CHECK_WRITE;
	if (range->backend == UPTR_BACKEND_PIN)
		flags |= UPTR_CHECK_LONGTERM;

	mmap_read_lock(range->mm);
	ret = uptr_check_vmas(range->mm, start, end, flags) ?: err;
	mmap_read_unlock(range->mm);
	return ret == -EPERM ? -EACCES : ret;
}

static int uptr_check_span(struct uptr_range *range, unsigned long start,
			   unsigned long length, unsigned int flags,
			   unsigned long *end)
{
	if (flags & ~UPTR_POPULATE_FLAGS)
		return -EINVAL;
	if (!length || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(length))
		return -EINVAL;
	if (check_add_overflow(start, length, end))
		return -EOVERFLOW;
	if (start < range->start || *end > range->end)
		return -ERANGE;
	if ((flags & UPTR_POPULATE_WRITE) &&
	    (range->flags & UPTR_RANGE_READ_ONLY))
		return -EPERM;
	return 0;
}

/*
 * A populate that needs write access over entries that are valid but
 * read-only (mirrored by a read populate) first revokes them, as an
 * invalidation would: the driver is told, with a blockable
 * MMU_NOTIFY_PROTECTION_PAGE range whose owner is the uptr range itself,
 * then the read-only DMA mappings (and PIN read-only pins) are dropped, so
 * the populate that follows maps the pages again for writing.
 */
static int uptr_revoke_read_only(struct uptr_range *range, unsigned long start,
				 unsigned long end)
{
	struct uptr_domain *domain = range->domain;
	unsigned long first = uptr_index(range, start);
	unsigned long last = uptr_index(range, end);
	unsigned long lo = ULONG_MAX, hi = 0, i;
	struct mmu_notifier_range nrange;
	uptr_entry_t e;
	int err = 0;

	mutex_lock(&domain->lock);
	for (i = uptr_find(range, first, last, true); i < last;
	     i = uptr_find(range, uptr_block_end(range, i, e), last, true)) {
		e = uptr_entry_at(range, i);
		if (!(e & UPTR_ENTRY_WRITE)) {
			lo = min(lo, i);
			hi = i + 1;
		}
	}
	if (hi) {
		uptr_expand_to_blocks(range, &lo, &hi);
		start = range->start + (lo << PAGE_SHIFT);
		end = range->start + (hi << PAGE_SHIFT);
		mmu_notifier_range_init_owner(&nrange,
					      MMU_NOTIFY_PROTECTION_PAGE,
					      MMU_NOTIFIER_RANGE_BLOCKABLE,
					      range->mm, start, end, range);
		if (range->ops->invalidate(range, &nrange, start, end)) {
			uptr_entries_drop(range, lo, hi);
			range->gen++;
			uptr_stat_add(domain, UPTR_STAT_INVALIDATIONS, 1);
		} else {
			err = -EBUSY;
		}
	}
	mutex_unlock(&domain->lock);
	return err;
}

/*
 * The retry loop of the contract for one chunk: collect, map, commit; start
 * over when the commit lost against an invalidation (or a PIN lost a
 * migration race), for at most UPTR_RETRY_TIMEOUT_MS after the first
 * attempt, and stop on a pending signal.  mmap_lock is only held inside the
 * backends, never across a retry.
 */
static int uptr_populate_chunk(struct uptr_range *range,
			       struct uptr_batch *batch, unsigned long start,
			       unsigned long end, unsigned long fault_start,
			       unsigned long fault_end, unsigned int flags)
{
	unsigned long timeout = 0;
	int err, retry_err;

	for (;;) {
		retry_err = -EBUSY;
		if (range->backend == UPTR_BACKEND_PIN)
			err = uptr_pin_populate(range, batch, start, end,
						flags, &retry_err);
		else
			err = uptr_fault_populate(range, batch, start, end,
						  fault_start, fault_end,
						  flags);
		if (err != -EAGAIN)
			return err;
		uptr_stat_add(range->domain, UPTR_STAT_RETRIES, 1);
		if (signal_pending(current))
			return -ERESTARTSYS;
		/*
		 * The budget starts after the first attempt: a long-term pin
		 * that migrates pages out of ZONE_MOVABLE invalidates its own
		 * range once, however long that first attempt took.
		 */
		if (!timeout)
			timeout = jiffies +
				  msecs_to_jiffies(UPTR_RETRY_TIMEOUT_MS) ?: 1;
		else if (time_after(jiffies, timeout))
			return retry_err;
		cond_resched();
	}
}

/*
 * Populate [start, end) in naturally aligned chunks of at most
 * UPTR_POPULATE_CHUNK bytes, so that what a backend allocates per call
 * stays small whatever the size of the span.  Each chunk follows the
 * contract on its own (sequence read, collect, commit under the domain
 * lock, bounded retries); the caller's uptr_range_valid() over the whole
 * span catches an invalidation of a chunk committed earlier.  A fault part
 * [fault_start, fault_end) narrower than the span (a FAULT window) lies in
 * one chunk: a window is at most UPTR_POPULATE_CHUNK and aligned to its
 * size.
 */
static int uptr_populate_retry(struct uptr_range *range, unsigned long start,
			       unsigned long end, unsigned long fault_start,
			       unsigned long fault_end, unsigned int flags)
{
	struct uptr_batch batch;
	unsigned long cs, ce;
	int err = 0;

	lockdep_assert_not_held(&range->domain->lock);

	if (mutex_lock_killable(&range->populate_lock))
		return -EINTR;

	/*
	 * Revalidation of a fully valid range costs no page walk, for either
	 * backend: entries only stop being valid in the notifier, which
	 * drops them.  The caller's uptr_range_valid() under the domain lock
	 * closes the race with an invalidation that runs after this check.
	 */
	if (READ_ONCE(range->nvalid) == range->npages &&
	    (!(flags & UPTR_POPULATE_WRITE) ||
	     READ_ONCE(range->nwrite) == range->npages)) {
		uptr_stat_add(range->domain, UPTR_STAT_CACHE_HITS, 1);
		goto out_unlock;
	}

	if (!mmget_not_zero(range->mm)) {
		err = -ESRCH;
		goto out_unlock;
	}

	if (flags & UPTR_POPULATE_WRITE) {
		err = uptr_revoke_read_only(range, fault_start, fault_end);
		if (err)
			goto out_mmput;
	}

	/* One scratch batch for all chunks of the call. */
	err = uptr_batch_alloc(&batch, range, (end - start) >> PAGE_SHIFT);
	if (err)
		goto out_mmput;
	for (cs = start; cs < end; cs = ce) {
		ce = min(ALIGN_DOWN(cs, UPTR_POPULATE_CHUNK) +
			 UPTR_POPULATE_CHUNK, end);
		err = uptr_populate_chunk(range, &batch, cs, ce,
					  clamp(fault_start, cs, ce),
					  clamp(fault_end, cs, ce), flags);
		if (err)
			break;
		if (ce < end) {
			if (signal_pending(current)) {
				err = -ERESTARTSYS;
				break;
			}
			cond_resched();
		}
	}
	uptr_batch_free(&batch);

out_mmput:
	mmput(range->mm);
out_unlock:
	mutex_unlock(&range->populate_lock);
	return err;
}

/**
 * uptr_range_populate() - pin or mirror part of a range
 * @range: the range
 * @start: first address, page aligned, inside the range
 * @length: length in bytes, page aligned
 * @flags: %UPTR_POPULATE_WRITE to require write access;
 *	%UPTR_POPULATE_SNAPSHOT (FAULT) to mirror only pages that are present
 *	without faulting anything in
 *
 * PIN pins and maps every page of the span that is not valid yet (a span
 * that is fully valid is a cache hit: no GUP).  FAULT faults the span in
 * with hmm_range_fault() and maps it.  Entries installed stay valid until
 * an invalidation drops them, but the caller must still check
 * uptr_range_valid() under the domain lock before using them.
 *
 * Context: Process context or a worker, may sleep; takes mmap_lock of the
 * range's mm for reading.  Neither mmap_lock nor the domain lock may be held.
 * Return: 0 on success; -EINVAL for bad flags or an unaligned or empty span;
 * -EOVERFLOW; -ERANGE when the span is not inside the range; -EPERM for
 * %UPTR_POPULATE_WRITE on a read-only range; -EFAULT for an unmapped hole;
 * -EACCES for a write to memory without write permission; -EOPNOTSUPP for
 * VM_IO/VM_PFNMAP memory and (PIN) writable file mappings that need dirty
 * tracking; -ENOMEM, also (PIN) over RLIMIT_MEMLOCK; -ESRCH when the process
 * exited; -ERESTARTSYS on a signal; -EBUSY when invalidations kept racing.
 * The span is worked on in aligned chunks of %UPTR_POPULATE_CHUNK bytes;
 * on error nothing stays pinned or mapped that no entry holds, while the
 * entries installed before the error (chunks committed before, and parts
 * of the chunk that failed, see uptr_batch_commit()) stay valid, like any
 * populated entry, until an invalidation or uptr_range_fini() drops them.
 * A chunk gives up after lost races for %UPTR_RETRY_TIMEOUT_MS: -EBUSY, or
 * for PIN -ENOMEM when GUP kept failing with -ENOMEM.
 */
int uptr_range_populate(struct uptr_range *range, unsigned long start,
			unsigned long length, unsigned int flags)
{
	unsigned long end;
	int err;

	might_sleep();
	err = uptr_check_span(range, start, length, flags, &end);
	if (err)
		return err;
	if (flags & UPTR_POPULATE_SNAPSHOT)
		return uptr_populate_retry(range, start, end, start, start,
					   flags);
	return uptr_populate_retry(range, start, end, start, end, flags);
}
EXPORT_SYMBOL_GPL(uptr_range_populate);

/*
 * Clamp [*start, *end) to the VMA of @addr (which it contains), for a
 * fault on a range that is no longer mapped as a whole.
 */
static int uptr_clamp_to_vma(struct uptr_range *range, unsigned long addr,
			     unsigned long *start, unsigned long *end)
{
	struct vm_area_struct *vma;
	int err = 0;

	if (!mmget_not_zero(range->mm))
		return -ESRCH;
	if (mmap_read_lock_killable(range->mm)) {
		mmput(range->mm);
		return -EINTR;
	}
	vma = vma_lookup(range->mm, addr);
	if (vma) {
		*start = max(*start, vma->vm_start);
		*end = min(*end, vma->vm_end);
	} else {
		err = -EFAULT;
	}
	mmap_read_unlock(range->mm);
	mmput(range->mm);
	return err;
}

/**
 * uptr_range_fault() - service a device fault on one address of a range
 * @range: the range
 * @addr: the faulting user address, inside the range
 * @flags: %UPTR_POPULATE_WRITE for a write fault
 *
 * FAULT faults in the page at @addr and mirrors, without faulting, the pages
 * already present in the window of @range->window bytes around it, clamped
 * to the range and to the VMA of @addr.  PIN populates the whole range, or,
 * when part of it is not mapped (-EFAULT), the window around @addr clamped
 * to the VMA of @addr, so that the mapped part of a partly unmapped range
 * stays usable.
 *
 * Context: As uptr_range_populate().
 * Return: As uptr_range_populate().
 */
int uptr_range_fault(struct uptr_range *range, unsigned long addr,
		     unsigned int flags)
{
	unsigned long page = ALIGN_DOWN(addr, PAGE_SIZE), ws, we;
	int err;

	might_sleep();
	if (flags & ~UPTR_POPULATE_WRITE)
		return -EINVAL;
	if (addr < range->start || addr >= range->end)
		return -ERANGE;
	if ((flags & UPTR_POPULATE_WRITE) &&
	    (range->flags & UPTR_RANGE_READ_ONLY))
		return -EPERM;

	uptr_stat_add(range->domain, UPTR_STAT_FAULTS, 1);
	ws = max(ALIGN_DOWN(page, range->window), range->start);
	we = min(ALIGN_DOWN(page, range->window) + range->window, range->end);
	if (range->backend == UPTR_BACKEND_PIN) {
		err = uptr_populate_retry(range, range->start, range->end,
					  range->start, range->end, flags);
		if (err != -EFAULT)
			return err;
		/*
		 * Part of the range is not mapped any more (partial munmap):
		 * the rest stays usable.  Pin the window around @addr within
		 * the VMA of @addr, as FAULT would mirror it.
		 */
		err = uptr_clamp_to_vma(range, addr, &ws, &we);
		if (err)
			return err;
	}
	return uptr_populate_retry(range, ws, we, page, page + PAGE_SIZE,
				   flags);
}
EXPORT_SYMBOL_GPL(uptr_range_fault);

/**
 * uptr_range_valid() - check that a span is populated and still valid
 * @range: the range
 * @start: first address
 * @length: length in bytes
 *
 * The commit step of the contract: with the domain lock held, a true result
 * stays true until the lock is dropped.  O(1) for a fully valid range.
 *
 * Context: Domain lock held.
 * Return: true if every page of the span has a valid entry.
 */
bool uptr_range_valid(struct uptr_range *range, unsigned long start,
		      unsigned long length)
{
	unsigned long first, end;

	lockdep_assert_held(&range->domain->lock);

	if (start < range->start || start >= range->end ||
	    length > range->end - start)
		return false;
	if (range->nvalid == range->npages)
		return true;
	first = uptr_index(range, start);
	end = uptr_index(range, ALIGN(start + length, PAGE_SIZE));
	return uptr_find(range, first, end, false) == end;
}
EXPORT_SYMBOL_GPL(uptr_range_valid);

/**
 * uptr_range_count_valid() - count the valid entries of a span
 * @range: the range
 * @start: first address
 * @length: length in bytes
 *
 * O(1) for a fully valid range, a scan of the span's entries otherwise.
 *
 * Context: Domain lock held.
 * Return: the number of pages of the span that lie inside the range and
 * have a valid entry; 0 for a span that does not meet the range.
 */
unsigned long uptr_range_count_valid(struct uptr_range *range,
				     unsigned long start, unsigned long length)
{
	unsigned long first, end, last, n = 0;

	lockdep_assert_held(&range->domain->lock);

	/* Clamp both ends of the span: it may start below the range. */
	if (check_add_overflow(start, length, &last))
		last = ULONG_MAX;
	start = max(start, range->start);
	last = min(last, range->end);
	if (start >= last)
		return 0;
	first = uptr_index(range, start);
	end = uptr_index(range, ALIGN(last, PAGE_SIZE));
	/* Fully valid: no scan, so that revalidation stays O(1) for callers. */
	if (range->nvalid == range->npages)
		return end - first;
	while (first < end) {
		first = uptr_find(range, first, end, true);
		last = uptr_find(range, first, end, false);
		n += last - first;
		first = last;
	}
	return n;
}
EXPORT_SYMBOL_GPL(uptr_range_count_valid);

/**
 * uptr_range_populate_lock() - populate a span and take the domain lock
 * @range: the range
 * @start: first address
 * @length: length in bytes
 * @flags: as for uptr_range_populate()
 *
 * The whole contract in one call: populate, lock, check, retry (bounded).
 * On success the span is valid and stays valid until the caller drops the
 * lock with uptr_domain_unlock().
 *
 * Context: Process context, may sleep; no mmap_lock, no domain lock held.
 * Not annotated for sparse: like mutex_lock(), whose lock it returns
 * holding, it is checked by lockdep (uptr_range_valid() and
 * uptr_domain_unlock() assert the lock).
 *
 * Return: 0 with the domain lock held, or an error of
 * uptr_range_populate() (-EBUSY after too many lost races) without it.
 */
int uptr_range_populate_lock(struct uptr_range *range, unsigned long start,
			     unsigned long length, unsigned int flags)
{
	unsigned long timeout = jiffies +
				msecs_to_jiffies(UPTR_RETRY_TIMEOUT_MS);
	int err;

	might_lock(&range->domain->lock);
	for (;;) {
		err = uptr_range_populate(range, start, length, flags);
		if (err)
			return err;
		mutex_lock(&range->domain->lock);
		if (uptr_range_valid(range, start, length))
			return 0;
		mutex_unlock(&range->domain->lock);
		uptr_stat_add(range->domain, UPTR_STAT_RETRIES, 1);
		if (time_after(jiffies, timeout))
			return -EBUSY;
	}
}
EXPORT_SYMBOL_GPL(uptr_range_populate_lock);

static int __init uptr_init(void)
{
	int err;

	/* Possible, so its list is set up; it stays so while the module is. */
	uptr_scratch_nid = first_online_node;
	err = list_lru_init(&uptr_scratch_lru);
	if (err)
		return err;
	uptr_scratch_shrinker = shrinker_alloc(0, "uptr-scratch");
	if (!uptr_scratch_shrinker) {
		err = -ENOMEM;
		goto err_destroy_lru;
	}
	uptr_scratch_shrinker->count_objects = uptr_scratch_count;
	uptr_scratch_shrinker->scan_objects = uptr_scratch_scan;
	shrinker_register(uptr_scratch_shrinker);
	return 0;

err_destroy_lru:
	list_lru_destroy(&uptr_scratch_lru);
	return err;
}
module_init(uptr_init);

/* Every domain was finalised by the modules that use this one. */
static void __exit uptr_exit(void)
{
	shrinker_free(uptr_scratch_shrinker);
	list_lru_destroy(&uptr_scratch_lru);
}
module_exit(uptr_exit);

MODULE_DESCRIPTION("uptr: mirror user memory for devices (PIN and FAULT backends)");
MODULE_LICENSE("GPL");
