/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Copyright (c) 2026 The uptr authors
 */
#ifndef _UAPI_LINUX_UPTR_TEST_H
#define _UAPI_LINUX_UPTR_TEST_H

/**
 * DOC: uptr_test uapi
 *
 * Private interface of the uptr_test module (``/dev/uptr_test``), which
 * exposes the uptr core API to the project's selftests.  It is not a stable
 * ABI: it changes with the selftests that use it.
 *
 * Each open file is one &struct uptr_domain of a simulated device that does
 * "DMA" by copying through the mirrored pages.  Ranges are created in the
 * address space of the process that opened the file; only that process may
 * issue ioctls on the file.  Closing the file destroys every range.
 *
 * Fields are tagged (in) when user space sets them and (out) when the
 * module fills them.  Addresses and sizes are in bytes and page aligned
 * unless noted.  Unknown flags and non-zero reserved fields give -EINVAL.
 */

#include <linux/ioctl.h>
#include <linux/types.h>

/* Backends, see enum uptr_backend. */
#define UPTR_TEST_BACKEND_PIN		0
#define UPTR_TEST_BACKEND_FAULT		1

/* Range flags for UPTR_TEST_CREATE (UPTR_RANGE_*). */
#define UPTR_TEST_RANGE_READ_ONLY	(1 << 0)

/*
 * Flags for UPTR_TEST_POPULATE and UPTR_TEST_FAULT.  The first two are the
 * core's UPTR_POPULATE_* flags; UPTR_TEST_POPULATE_LOCK makes the module use
 * uptr_range_populate_lock() instead of its own populate/validate loop;
 * UPTR_TEST_POPULATE_TIME (UPTR_TEST_POPULATE only) reports the kernel's
 * clock of the populate in uptr_test_cmd.ns.  Opt-in: the guest's
 * clocksource may be an emulated device (HPET under TCG), whose reads cost
 * microseconds that every populate would otherwise pay.
 */
#define UPTR_TEST_POPULATE_WRITE	(1 << 0)
#define UPTR_TEST_POPULATE_SNAPSHOT	(1 << 1)
#define UPTR_TEST_POPULATE_LOCK		(1 << 2)
#define UPTR_TEST_POPULATE_TIME		(1 << 3)

/*
 * Flags for UPTR_TEST_READ and UPTR_TEST_WRITE: populate the sub-range
 * first (write access for UPTR_TEST_WRITE), as a device page fault would.
 * Without it the access fails with -ENODATA when an entry is not valid.
 */
#define UPTR_TEST_RW_POPULATE		(1 << 0)

/**
 * struct uptr_test_create - argument of UPTR_TEST_CREATE
 * @addr: (in) first user address of the range
 * @size: (in) length of the range
 * @backend: (in) UPTR_TEST_BACKEND_*
 * @flags: (in) UPTR_TEST_RANGE_*
 * @handle: (out) handle of the new range, never 0
 */
struct uptr_test_create {
	__u64	addr;
	__u64	size;
	__u64	backend;
	__u64	flags;
	__u64	handle;
};

/**
 * struct uptr_test_cmd - argument of the per-range ioctls
 * @handle: (in) range handle from UPTR_TEST_CREATE
 * @addr: (in) first address of the sub-range (UPTR_TEST_FAULT: the
 *	faulting address, any alignment)
 * @size: (in) length of the sub-range (unused by UPTR_TEST_FAULT)
 * @flags: (in) UPTR_TEST_POPULATE_* or UPTR_TEST_RW_* flags
 * @ptr: (in) user buffer: UPTR_TEST_ENTRIES one __u64 per page,
 *	UPTR_TEST_READ and UPTR_TEST_WRITE @size bytes
 * @npages: (out) UPTR_TEST_POPULATE, UPTR_TEST_ENTRIES: valid entries in
 *	the sub-range; UPTR_TEST_FAULT: valid entries in the whole range;
 *	UPTR_TEST_READ, UPTR_TEST_WRITE: pages copied
 * @gen: (out) the range's invalidation generation (&uptr_range.gen)
 * @ns: (out) UPTR_TEST_POPULATE with UPTR_TEST_POPULATE_TIME: nanoseconds
 *	spent in the kernel's populate, by the kernel's clock (ktime_get_ns()
 *	around the populate and its validity check under the domain lock),
 *	to be set beside gup_test's own in-kernel clock; 0 otherwise
 */
struct uptr_test_cmd {
	__u64	handle;
	__u64	addr;
	__u64	size;
	__u64	flags;
	__u64	ptr;
	__u64	npages;
	__u64	gen;
	__u64	ns;
};

/*
 * The core's populate chunk (UPTR_POPULATE_CHUNK of include/linux/uptr.h),
 * for tests of what a failing chunk leaves behind.
 */
#define UPTR_TEST_POPULATE_CHUNK	(16ULL << 20)

/*
 * One entry as reported by UPTR_TEST_ENTRIES.  The DMA address is not
 * exposed; instead bits 16..31 hold the NUMA node of the page plus one
 * (0: not valid or unknown).
 */
#define UPTR_TEST_ENTRY_VALID		(1ULL << 0)
#define UPTR_TEST_ENTRY_WRITE		(1ULL << 1)
#define UPTR_TEST_ENTRY_DEVICE_PRIVATE	(1ULL << 2)
#define UPTR_TEST_ENTRY_ORDER_SHIFT	3
#define UPTR_TEST_ENTRY_ORDER_MASK	(0x3fULL << UPTR_TEST_ENTRY_ORDER_SHIFT)
#define UPTR_TEST_ENTRY_NODE_SHIFT	16
#define UPTR_TEST_ENTRY_NODE_MASK	(0xffffULL << UPTR_TEST_ENTRY_NODE_SHIFT)
#define UPTR_TEST_ENTRY_ORDER(e)	\
	(((e) & UPTR_TEST_ENTRY_ORDER_MASK) >> UPTR_TEST_ENTRY_ORDER_SHIFT)
#define UPTR_TEST_ENTRY_NODE(e)		\
	((int)(((e) & UPTR_TEST_ENTRY_NODE_MASK) >> UPTR_TEST_ENTRY_NODE_SHIFT) - 1)

/* Indexes of uptr_test_stats.stats[], the same as enum uptr_counter. */
enum {
	UPTR_TEST_STAT_PINNED,
	UPTR_TEST_STAT_MAPPED,
	UPTR_TEST_STAT_POPULATES,
	UPTR_TEST_STAT_CACHE_HITS,
	UPTR_TEST_STAT_PAGES_POPULATED,
	UPTR_TEST_STAT_RETRIES,
	UPTR_TEST_STAT_FAULTS,
	UPTR_TEST_STAT_INVALIDATIONS,
	UPTR_TEST_STAT_SEQ_ONLY,
	UPTR_TEST_STAT_NONBLOCK_FAILED,
	UPTR_TEST_STAT_DMA_MAPPED,
	UPTR_TEST_STAT_REFUSED,
	UPTR_TEST_STAT_NR,
};

/* Indexes of the event arrays, the same as enum mmu_notifier_event. */
enum {
	UPTR_TEST_EVENT_UNMAP,
	UPTR_TEST_EVENT_CLEAR,
	UPTR_TEST_EVENT_PROTECTION_VMA,
	UPTR_TEST_EVENT_PROTECTION_PAGE,
	UPTR_TEST_EVENT_SOFT_DIRTY,
	UPTR_TEST_EVENT_RELEASE,
	UPTR_TEST_EVENT_MIGRATE,
	UPTR_TEST_EVENT_EXCLUSIVE,
	UPTR_TEST_EVENT_NR,
};

#define UPTR_TEST_MAX_STATS		16
#define UPTR_TEST_MAX_EVENTS		16
#define UPTR_TEST_LOG_LEN		16

/* uptr_test_inval.flags */
#define UPTR_TEST_INVAL_BLOCKABLE	(1 << 0)	/* blockable event */
#define UPTR_TEST_INVAL_REFUSED		(1 << 1)	/* answered false */

/**
 * struct uptr_test_inval - one invalidate callback seen by the device
 * @handle: (out) range handle
 * @event: (out) UPTR_TEST_EVENT_*
 * @start: (out) first address the callback was asked to invalidate
 * @end: (out) one past the last address
 * @flags: (out) UPTR_TEST_INVAL_*
 */
struct uptr_test_inval {
	__u64	handle;
	__u64	event;
	__u64	start;
	__u64	end;
	__u64	flags;
};

/**
 * struct uptr_test_stats - argument of UPTR_TEST_STATS
 * @stats: (out) the domain's counters, indexed by UPTR_TEST_STAT_*
 * @events: (out) the domain's per-event counts, by UPTR_TEST_EVENT_*
 * @pinned_total: (out) pages pinned by the uptr core, all domains
 * @ninval: (out) invalidate callbacks the device received
 * @nrefused: (out) of those, callbacks it answered false
 * @dev_events: (out) device callbacks per UPTR_TEST_EVENT_*
 * @nlog: (out) entries used in @log, at most UPTR_TEST_LOG_LEN
 * @log: (out) the last @nlog callbacks, oldest first
 */
struct uptr_test_stats {
	__u64	stats[UPTR_TEST_MAX_STATS];
	__u64	events[UPTR_TEST_MAX_EVENTS];
	__u64	pinned_total;
	__u64	ninval;
	__u64	nrefused;
	__u64	dev_events[UPTR_TEST_MAX_EVENTS];
	__u64	nlog;
	struct uptr_test_inval log[UPTR_TEST_LOG_LEN];
};

#define UPTR_TEST_IOC_MAGIC		'U'

/* Create a range of the calling process; -EINVAL etc. as uptr_range_init(). */
#define UPTR_TEST_CREATE	_IOWR(UPTR_TEST_IOC_MAGIC, 0x00, struct uptr_test_create)
/* Destroy a range (only @handle is used). */
#define UPTR_TEST_DESTROY	_IOW(UPTR_TEST_IOC_MAGIC, 0x01, struct uptr_test_cmd)
/* Populate [@addr, @addr + @size) with uptr_range_populate(). */
#define UPTR_TEST_POPULATE	_IOWR(UPTR_TEST_IOC_MAGIC, 0x02, struct uptr_test_cmd)
/* Device fault at @addr: uptr_range_fault(). */
#define UPTR_TEST_FAULT		_IOWR(UPTR_TEST_IOC_MAGIC, 0x03, struct uptr_test_cmd)
/* Copy the (sanitised) entries of a sub-range to @ptr. */
#define UPTR_TEST_ENTRIES	_IOWR(UPTR_TEST_IOC_MAGIC, 0x04, struct uptr_test_cmd)
/* Device read: copy the mirrored pages of the sub-range to @ptr. */
#define UPTR_TEST_READ		_IOWR(UPTR_TEST_IOC_MAGIC, 0x05, struct uptr_test_cmd)
/* Device write: copy @ptr into the mirrored pages of the sub-range. */
#define UPTR_TEST_WRITE		_IOWR(UPTR_TEST_IOC_MAGIC, 0x06, struct uptr_test_cmd)
/* Read the counters of this file's domain. */
#define UPTR_TEST_STATS		_IOR(UPTR_TEST_IOC_MAGIC, 0x07, struct uptr_test_stats)
/* Simulated "device busy": non-blockable invalidations are refused. */
#define UPTR_TEST_SET_BUSY	_IOW(UPTR_TEST_IOC_MAGIC, 0x08, __u64)

#endif /* _UAPI_LINUX_UPTR_TEST_H */
