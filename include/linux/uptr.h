/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (c) 2026 The uptr authors
 */
#ifndef _LINUX_UPTR_H_
#define _LINUX_UPTR_H_

/**
 * DOC: uptr kernel API
 *
 * uptr mirrors a range of a process address space ("userptr") for a device.
 * A driver picks, per range, one of two interchangeable backends:
 *
 * %UPTR_BACKEND_PIN
 *	a registration cache: pages are pinned with pin_user_pages_fast()
 *	and FOLL_LONGTERM, charged to the process' pinned_vm against
 *	RLIMIT_MEMLOCK, and DMA-mapped.  An interval notifier lets the driver
 *	stop device use, then the core unmaps and unpins.  The next populate
 *	re-pins; populating a range that is still valid costs no GUP.
 *
 * %UPTR_BACKEND_FAULT
 *	an HMM mirror: hmm_range_fault() with no page references, validity
 *	decided by the interval notifier sequence.  Populates on demand, in
 *	windows around a device fault, or by explicit prefetch.
 *
 * Both backends publish the same &uptr_entry_t for each page, read with
 * uptr_range_entry(), and follow the same contract, so a driver switches
 * with one flag.  Entries are stored per block, not per page, where a
 * block covers whole PMD-sized slots of the address space (a block of
 * order 9 or more: a PMD-mapped THP, hugetlb, the whole of a PTE-mapped
 * THP for PIN): see &uptr_range.huge.
 *
 * The contract (both backends)::
 *
 *	again:
 *		err = uptr_range_populate(range, start, len, flags);
 *		if (err)
 *			return err;		// see uptr_range_populate()
 *		uptr_domain_lock(domain);
 *		if (!uptr_range_valid(range, start, len)) {
 *			uptr_domain_unlock(domain);
 *			goto again;		// raced with an invalidation
 *		}
 *		// read entries with uptr_range_entry(), program device PTEs
 *		uptr_domain_unlock(domain);
 *
 * uptr_range_populate_lock() wraps that loop with bounded retries and
 * signal checks and returns with the domain lock held.
 *
 * The driver's &uptr_range_ops.invalidate callback is called from the MMU
 * notifier with the domain lock held, before the core drops DMA mappings
 * and page pins of the invalidated sub-range.  When it returns true the
 * device must not access that sub-range any more.  After it returns, the
 * core never touches a page or a DMA address of that sub-range again.
 */

#include <linux/atomic.h>
#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/lockdep.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/pgtable.h>
#include <linux/sizes.h>
#include <linux/types.h>

struct device;
struct mm_struct;
struct page;
struct uptr_range;
struct uptr_scratch;

/**
 * enum uptr_backend - how a range is mirrored
 * @UPTR_BACKEND_PIN: long-term GUP pins, re-pinned after invalidation
 * @UPTR_BACKEND_FAULT: hmm_range_fault() mirror without page references
 */
enum uptr_backend {
	UPTR_BACKEND_PIN,
	UPTR_BACKEND_FAULT,
};

/*
 * Largest range uptr_range_init() accepts, in bytes (-E2BIG above).  The
 * tables of a range are allocated when it is created, 8 bytes per page
 * (16 for %UPTR_BACKEND_PIN and a writable FAULT range) and 8 per 2 MiB
 * slot, charged to the creator's memory cgroup, so the bound keeps them at
 * about 32 MiB (64 MiB);
 * populates work in chunks of at most %UPTR_POPULATE_CHUNK bytes whatever
 * the size of the range.
 */
#define UPTR_RANGE_MAX_SIZE		SZ_16G

/*
 * Populates collect, map and commit at most this many bytes at a time
 * (naturally aligned chunks), so that what one call allocates is bounded:
 * 4096 pages, at most 129 KiB of scratch arrays (one set of which a domain
 * keeps, in vmalloc memory, for its calls of 2 MiB or more, until its fini
 * or a shrinker frees it).  At least the FAULT window
 * of a domain.  16 MiB, not 2 MiB: each chunk pays one GUP or
 * hmm_range_fault() call, one DMA-map pass and one commit, which under
 * TCG cost as much per 2 MiB chunk as GUP itself costs per subpage of a
 * THP (issue 12).
 */
#define UPTR_POPULATE_CHUNK		SZ_16M

/* Range flags for uptr_range_init(). */
#define UPTR_RANGE_READ_ONLY		BIT(0)	/* device never writes */
#define UPTR_RANGE_FLAGS		(UPTR_RANGE_READ_ONLY)

/* Populate flags for uptr_range_populate() and uptr_range_fault(). */
#define UPTR_POPULATE_WRITE		BIT(0)	/* require write access */
#define UPTR_POPULATE_SNAPSHOT		BIT(1)	/* FAULT: present pages only */
#define UPTR_POPULATE_FLAGS		(UPTR_POPULATE_WRITE | UPTR_POPULATE_SNAPSHOT)

/* Access checks for uptr_check_vmas(). */
#define UPTR_CHECK_READ			BIT(0)	/* VM_READ required */
#define UPTR_CHECK_WRITE		BIT(1)	/* VM_WRITE required */
#define UPTR_CHECK_LONGTERM		BIT(2)	/* written through long-term pins */
#define UPTR_CHECK_FLAGS		(UPTR_CHECK_READ | UPTR_CHECK_WRITE | \
					 UPTR_CHECK_LONGTERM)

/*
 * A &uptr_entry_t describes one PAGE_SIZE page of a range for the device:
 *
 *	bits 63..12	DMA address of the page for the domain's device;
 *			the physical address when the domain has no device;
 *			with %UPTR_ENTRY_DEVICE_PRIVATE, PFN << PAGE_SHIFT of
 *			the driver's own device-private page
 *	bits 8..3	order of the naturally aligned block of 2^order pages
 *			that is physically and DMA contiguous, lies inside the
 *			range and can be mapped by the device as one: the
 *			pages of one folio, or of one CPU mapping (FAULT),
 *			that one populate collected, DMA-mapped once and
 *			dropped as a whole by an invalidation of any part
 *	bit 2		%UPTR_ENTRY_DEVICE_PRIVATE
 *	bit 1		%UPTR_ENTRY_WRITE: the device may write
 *	bit 0		%UPTR_ENTRY_VALID
 */
typedef u64 uptr_entry_t;

#define UPTR_ENTRY_VALID		BIT_ULL(0)
#define UPTR_ENTRY_WRITE		BIT_ULL(1)
#define UPTR_ENTRY_DEVICE_PRIVATE	BIT_ULL(2)
#define UPTR_ENTRY_ORDER_MASK		GENMASK_ULL(8, 3)
#define UPTR_ENTRY_ADDR_MASK		(~(u64)(PAGE_SIZE - 1))

/*
 * A block of at least this order covers whole PMD-sized, naturally aligned
 * slots of the address space; its entries are stored once per slot
 * (&uptr_range.huge) instead of once per page.
 */
#define UPTR_HUGE_SHIFT			PMD_SHIFT
#define UPTR_HUGE_SIZE			PMD_SIZE
#define UPTR_HUGE_ORDER			(UPTR_HUGE_SHIFT - PAGE_SHIFT)

/**
 * uptr_entry_addr() - DMA (or device-private physical) address of an entry
 * @e: the entry
 *
 * Context: Any context; @e must have been read under the domain lock.
 * Return: the page-aligned address.
 */
static inline u64 uptr_entry_addr(uptr_entry_t e)
{
	return e & UPTR_ENTRY_ADDR_MASK;
}

/**
 * uptr_entry_order() - mapping order of the block an entry belongs to
 * @e: the entry
 *
 * Context: Any context.
 * Return: 0 for a 4K page, 9 for a 2M block, and so on.
 */
static inline unsigned int uptr_entry_order(uptr_entry_t e)
{
	return FIELD_GET(UPTR_ENTRY_ORDER_MASK, e);
}

/**
 * enum uptr_counter - per-domain statistics
 * @UPTR_STAT_PINNED: pages currently pinned (PIN backend)
 * @UPTR_STAT_MAPPED: entries currently valid (both backends)
 * @UPTR_STAT_POPULATES: populate calls that did work
 * @UPTR_STAT_CACHE_HITS: populates answered without a page walk
 * @UPTR_STAT_PAGES_POPULATED: pages pinned or mirrored, cumulative
 * @UPTR_STAT_RETRIES: populates retried after a racing invalidation
 * @UPTR_STAT_FAULTS: device faults handled by uptr_range_fault()
 * @UPTR_STAT_INVALIDATIONS: notifier callbacks that dropped entries
 * @UPTR_STAT_SEQ_ONLY: notifier callbacks that only bumped the sequence
 * @UPTR_STAT_NONBLOCK_FAILED: non-blockable callbacks that returned false
 * @UPTR_STAT_DMA_MAPPED: blocks of pages currently DMA-mapped for the
 *	domain's device, those of populates not committed yet included
 * @UPTR_STAT_REFUSED: blockable callbacks that the driver's
 *	&uptr_range_ops.invalidate refused (a driver bug): the entries were
 *	dropped anyway
 * @UPTR_STAT_NR: number of counters
 */
enum uptr_counter {
	UPTR_STAT_PINNED,
	UPTR_STAT_MAPPED,
	UPTR_STAT_POPULATES,
	UPTR_STAT_CACHE_HITS,
	UPTR_STAT_PAGES_POPULATED,
	UPTR_STAT_RETRIES,
	UPTR_STAT_FAULTS,
	UPTR_STAT_INVALIDATIONS,
	UPTR_STAT_SEQ_ONLY,
	UPTR_STAT_NONBLOCK_FAILED,
	UPTR_STAT_DMA_MAPPED,
	UPTR_STAT_REFUSED,
	UPTR_STAT_NR,
};

/*
 * Notifier callbacks are also counted per enum mmu_notifier_event, those
 * that only bumped the sequence included.
 */
#define UPTR_NR_EVENTS			(MMU_NOTIFY_EXCLUSIVE + 1)

/**
 * struct uptr_domain - a device address space that ranges are committed to
 *
 * One domain per device VM (or per device when it has a single address
 * space).  Its @lock is the "notifier lock" of the mmu_interval_notifier
 * documentation: device page tables that point at range pages are only
 * changed with it held, and the notifier takes it before dropping entries.
 *
 * Locking order (see docs/design.rst)::
 *
 *	driver locks (e.g. VM lock)
 *	  mmap_lock (taken inside uptr_range_populate(); never held by callers)
 *	    dma_resv (driver)
 *	      uptr_domain.lock
 *
 * @lock is taken from MMU notifiers, which may run in direct reclaim, so
 * nothing that allocates memory with GFP_KERNEL, takes mmap_lock, a folio
 * lock or a dma_resv lock may be done with it held.  uptr_domain_init()
 * primes lockdep with that fact.
 */
struct uptr_domain {
	/**
	 * @lock: the notifier lock.  Protects every range's entries, pages
	 * and valid count, and the device page tables built from them.
	 */
	struct mutex lock;
	/** @dev: device the pages are DMA-mapped for, or NULL. Constant. */
	struct device *dev;
	/**
	 * @owner: dev_private_owner handed to hmm_range_fault(): device
	 * private pages with this owner are reported, not migrated.  Constant.
	 */
	void *owner;
	/** @window: default FAULT populate window in bytes.  Constant. */
	unsigned long window;
	/**
	 * @max_order: largest block (2^order pages) one DMA mapping of @dev
	 * may cover (dma_max_mapping_size()); larger folios are cut into
	 * blocks of this order.  Constant.
	 */
	unsigned int max_order;
	/** @stats: counters, see &enum uptr_counter.  Atomic. */
	atomic64_t stats[UPTR_STAT_NR];
	/** @events: invalidations per &enum mmu_notifier_event.  Atomic. */
	atomic64_t events[UPTR_NR_EVENTS];
	/**
	 * @scratch: scratch arrays sized for a whole populate chunk, kept
	 * for the domain's populate calls of 2 MiB or more, or NULL while a
	 * call uses them (or before the first such call).  Core-private.
	 * Claimed and handed back with xchg()/cmpxchg(), no lock; freed by
	 * uptr_domain_fini(), or by the core's shrinker under memory pressure
	 * (claimed with xchg() under the lock of @scratch_lru's list).
	 */
	struct uptr_scratch *scratch;
	/**
	 * @scratch_made: bit 0 is set while the domain owns its one set of
	 * @scratch (kept or lent to a call), cleared by the shrinker when it
	 * takes the set; bit 1 while the domain is on the shrinker's list
	 * (@scratch_lru).  Core-private, atomic bitops.
	 */
	unsigned long scratch_made;
	/**
	 * @scratch_lru: the domain's place on the core's list of domains that
	 * kept a @scratch set, which the shrinker walks.  Added when a call
	 * hands the set back and bit 1 of @scratch_made was clear, removed
	 * by the shrinker (which clears that bit) or by uptr_domain_fini().
	 * Core-private, under that list's lock.
	 */
	struct list_head scratch_lru;
};

/**
 * struct uptr_range_ops - driver callbacks of a range
 */
struct uptr_range_ops {
	/**
	 * @invalidate: stop device access to [@start, @end) of @range.
	 *
	 * Called from the MMU notifier with the domain lock held and the
	 * range's entries still valid.  For a blockable event (@nrange:
	 * mmu_notifier_range_blockable()) the callback may sleep, e.g. to wait
	 * for the device's fences with dma_resv_wait_timeout(), but must not
	 * allocate memory or take a dma_resv lock, mmap_lock or a folio lock.
	 * For a non-blockable event (OOM reaper) it must not sleep and returns
	 * false if the device may still be using the pages.  When the event
	 * tears the address space down (uptr_invalidate_is_teardown()), the
	 * callback need not wait for device work that uses the range: it may
	 * cut the device off the pages and return true at once.
	 *
	 * A blockable event cannot be refused: the mm changes the CPU page
	 * tables whatever the answer.  If the callback returns false anyway,
	 * the core reports it once in the kernel log, counts it in
	 * %UPTR_STAT_REFUSED and drops the entries all the same (DMA
	 * mappings, pins), so that the device at least loses its IOMMU
	 * access to the pages.
	 *
	 * Return: true when the device no longer accesses the sub-range.
	 */
	bool (*invalidate)(struct uptr_range *range,
			   const struct mmu_notifier_range *nrange,
			   unsigned long start, unsigned long end);
	/**
	 * @before_commit: optional, for fault injection in tests: called by
	 * uptr_range_populate() after pages were collected and before the
	 * notifier sequence is checked, without any lock held.
	 */
	void (*before_commit)(struct uptr_range *range);
};

/**
 * struct uptr_range - a mirrored range of user virtual addresses
 *
 * Embedded in a driver object.  All fields are set by uptr_range_init() and
 * are constant afterwards, except where noted.
 */
struct uptr_range {
	/** @notifier: the interval notifier covering [@start, @end). */
	struct mmu_interval_notifier notifier;
	/** @domain: the domain this range commits to. */
	struct uptr_domain *domain;
	/** @ops: driver callbacks. */
	const struct uptr_range_ops *ops;
	/** @mm: the address space, held with mmgrab() for the range's life. */
	struct mm_struct *mm;
	/** @start: first address, page aligned. */
	unsigned long start;
	/** @end: one past the last address, page aligned. */
	unsigned long end;
	/** @npages: (@end - @start) >> PAGE_SHIFT. */
	unsigned long npages;
	/** @flags: UPTR_RANGE_* flags. */
	unsigned int flags;
	/** @backend: how the range is mirrored. */
	enum uptr_backend backend;
	/** @window: FAULT populate window in bytes (power of two). */
	unsigned long window;
	/**
	 * @memlock_limit: RLIMIT_MEMLOCK in pages of the creating task, or
	 * ULONG_MAX when it had CAP_IPC_LOCK.  PIN backend only.
	 */
	unsigned long memlock_limit;
	/**
	 * @entries: per-page entries of the pages that no @huge slot
	 * covers (zero for the others).  Domain lock; written by commits,
	 * which populate_lock serialises, and cleared by the notifier.
	 * Private to uptr: drivers read entries with uptr_range_entry().
	 */
	uptr_entry_t *entries;
	/**
	 * @huge: one entry per %UPTR_HUGE_SIZE slot of the address space
	 * that [@start, @end) overlaps (the first slot is that of @start).
	 * Valid when a block of order %UPTR_HUGE_ORDER or more covers the
	 * whole slot: it is then the entry of the slot's first page, with
	 * the block's order, and the slot's per-page @entries are zero.  So
	 * a populate of a PMD-mapped THP or of hugetlb writes one entry per
	 * 2 MiB, and an invalidation clears one.  Otherwise (bit 0 clear)
	 * bits 63..1 count the valid per-page @entries of the slot, so that
	 * a search for valid or invalid entries skips an empty or a full
	 * slot without reading its pages.  Locking as @entries; private to
	 * uptr.
	 */
	uptr_entry_t *huge;
	/**
	 * @pages: the page of the first entry of each valid block (the
	 * other slots are NULL): pinned with the rest of its block (PIN), or
	 * held by no reference and used only while the block is valid, to
	 * dirty its folio (FAULT; NULL for a read-only FAULT range).  Domain
	 * lock.
	 */
	struct page **pages;
	/**
	 * @nvalid: number of valid entries.  Written under the domain lock,
	 * read locklessly (READ_ONCE) by the populate fast path.
	 */
	unsigned long nvalid;
	/** @nwrite: valid entries with %UPTR_ENTRY_WRITE.  As @nvalid. */
	unsigned long nwrite;
	/**
	 * @ncommits: commits that installed entries.  Written under the
	 * domain lock, read under populate_lock: tells a commit whether
	 * entries were installed since its batch was collected.
	 */
	unsigned long ncommits;
	/** @populate_lock: serialises populates of this range. */
	struct mutex populate_lock;
	/**
	 * @gen: incremented by each invalidation that dropped entries.
	 * Domain lock.  Lets a driver cheaply tell whether anything changed.
	 */
	u64 gen;
};

int uptr_domain_init(struct uptr_domain *domain, struct device *dev,
		     void *owner);
void uptr_domain_fini(struct uptr_domain *domain);
u64 uptr_domain_stat(struct uptr_domain *domain, enum uptr_counter counter);
u64 uptr_domain_event_count(struct uptr_domain *domain,
			    enum mmu_notifier_event event);
u64 uptr_pinned_pages_total(void);

int uptr_range_init(struct uptr_range *range, struct uptr_domain *domain,
		    struct mm_struct *mm, unsigned long start,
		    unsigned long length, enum uptr_backend backend,
		    unsigned int flags, const struct uptr_range_ops *ops);
void uptr_range_fini(struct uptr_range *range);

int uptr_range_populate(struct uptr_range *range, unsigned long start,
			unsigned long length, unsigned int flags);
int uptr_range_populate_lock(struct uptr_range *range, unsigned long start,
			     unsigned long length, unsigned int flags);
int uptr_range_fault(struct uptr_range *range, unsigned long addr,
		     unsigned int flags);
bool uptr_range_valid(struct uptr_range *range, unsigned long start,
		      unsigned long length);
unsigned long uptr_range_count_valid(struct uptr_range *range,
				     unsigned long start, unsigned long length);

int uptr_check_vmas(struct mm_struct *mm, unsigned long start,
		    unsigned long end, unsigned int flags);
bool uptr_invalidate_is_teardown(const struct mmu_notifier_range *nrange);

/**
 * uptr_domain_lock() - take the notifier lock of a domain
 * @domain: the domain
 *
 * Context: Process context, may sleep.  No mmap_lock held.
 */
static inline void uptr_domain_lock(struct uptr_domain *domain)
{
	mutex_lock(&domain->lock);
}

/**
 * uptr_domain_unlock() - drop the notifier lock of a domain
 * @domain: the domain
 *
 * Context: Domain lock held.
 */
static inline void uptr_domain_unlock(struct uptr_domain *domain)
{
	lockdep_assert_held(&domain->lock);
	mutex_unlock(&domain->lock);
}

/* Index in &uptr_range.huge of the slot of @addr (inside the range). */
static inline unsigned long uptr_huge_index(const struct uptr_range *range,
					    unsigned long addr)
{
	return (addr >> UPTR_HUGE_SHIFT) - (range->start >> UPTR_HUGE_SHIFT);
}

/*
 * The entry of the page at @addr, from its slot or from the page table;
 * READ_ONCE because uptr itself also reads entries under populate_lock
 * without the domain lock, where they can only go away.
 */
static inline uptr_entry_t __uptr_range_entry(const struct uptr_range *range,
					      unsigned long addr)
{
	uptr_entry_t e = READ_ONCE(range->huge[uptr_huge_index(range, addr)]);

	if (e & UPTR_ENTRY_VALID)
		return e + (addr & (UPTR_HUGE_SIZE - 1) & PAGE_MASK);
	return READ_ONCE(range->entries[(addr - range->start) >> PAGE_SHIFT]);
}

/**
 * uptr_range_entry() - read the entry of one page
 * @range: the range
 * @addr: a user address inside the range
 *
 * The entry of a page inside a block has the block's order and the
 * address of that page: e.g. for a page 5 pages into a 2 MiB block,
 * uptr_entry_addr() of the block's first entry plus 5 * PAGE_SIZE.  O(1),
 * whether the block's entries are stored per page or per slot.
 *
 * Context: Domain lock held; the entry is only meaningful until it is
 * dropped.
 * Return: the entry, zero (no %UPTR_ENTRY_VALID) when not populated.
 */
static inline uptr_entry_t uptr_range_entry(struct uptr_range *range,
					    unsigned long addr)
{
	lockdep_assert_held(&range->domain->lock);
	return __uptr_range_entry(range, addr);
}

#endif /* _LINUX_UPTR_H_ */
