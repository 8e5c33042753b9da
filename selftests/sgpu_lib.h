/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sgpu_lib.h - user-space helpers of the sgpu selftests (sgpu_test.c,
 * sgpu_matrix.c): thin ioctl wrappers that return 0 or -errno, engine
 * command builders, data patterns and the device-counter leak check.
 * Included after kselftest_harness.h; header-only, every helper static.
 *
 * Copyright (c) 2026 The uptr authors
 */
#ifndef SGPU_LIB_H
#define SGPU_LIB_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <numaif.h>
#include <drm/drm.h>
#include <drm/sgpu_drm.h>

#include "uptr_selftest.h"

#define PAGE		4096UL
#define VA(n)		((__u64)(n) << 24)	/* 16 MiB slots, n >= 1 */
#define WAIT_NS		(60LL * 1000 * 1000 * 1000)

/* Each helper returns 0 or -errno. */
static inline int ioc(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret ? -errno : 0;
}

static inline int vm_create(int fd, __u32 mode, __u32 *vm)
{
	struct drm_sgpu_vm_create c = { .flags = mode };
	int ret = ioc(fd, DRM_IOCTL_SGPU_VM_CREATE, &c);

	*vm = c.vm_id;
	return ret;
}

static inline int vm_destroy(int fd, __u32 vm)
{
	struct drm_sgpu_vm_destroy d = { .vm_id = vm };

	return ioc(fd, DRM_IOCTL_SGPU_VM_DESTROY, &d);
}

static inline int bo_create(int fd, __u64 size, __u32 *handle)
{
	struct drm_sgpu_bo_create c = { .size = size };
	int ret = ioc(fd, DRM_IOCTL_SGPU_BO_CREATE, &c);

	*handle = c.handle;
	return ret;
}

static inline void *bo_mmap(int fd, __u32 handle, __u64 size)
{
	struct drm_sgpu_bo_mmap_offset o = { .handle = handle };
	void *p;

	if (ioc(fd, DRM_IOCTL_SGPU_BO_MMAP_OFFSET, &o))
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, o.offset);
	return p == MAP_FAILED ? NULL : p;
}

static inline int gem_close(int fd, __u32 handle)
{
	struct drm_gem_close c = { .handle = handle };

	return ioc(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

static inline int userptr(int fd, __u32 vm, void *addr, __u64 size,
			  __u32 flags, __u32 *handle)
{
	struct drm_sgpu_userptr_create c = {
		.addr = (uintptr_t)addr,
		.size = size,
		.vm_id = vm,
		.flags = flags,
	};
	int ret = ioc(fd, DRM_IOCTL_SGPU_USERPTR_CREATE, &c);

	*handle = c.handle;
	return ret;
}

static inline __u32 syncobj_create(int fd)
{
	struct drm_syncobj_create c = { };

	if (ioc(fd, DRM_IOCTL_SYNCOBJ_CREATE, &c))
		return 0;
	return c.handle;
}

static inline void syncobj_destroy(int fd, __u32 h)
{
	struct drm_syncobj_destroy d = { .handle = h };

	ioc(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d);
}

static inline int syncobj_wait(int fd, __u32 h)
{
	struct timespec ts;
	struct drm_syncobj_wait w = {
		.handles = (uintptr_t)&h,
		.count_handles = 1,
	};

	clock_gettime(CLOCK_MONOTONIC, &ts);
	w.timeout_nsec = ts.tv_sec * 1000000000LL + ts.tv_nsec + WAIT_NS;
	return ioc(fd, DRM_IOCTL_SYNCOBJ_WAIT, &w);
}

/* A bind that waits for its page-table update. */
static inline int bind_op(int fd, __u32 vm, __u32 op, __u32 handle,
			  __u64 offset, __u64 va, __u64 range, __u32 flags)
{
	struct drm_sgpu_vm_bind b = {
		.vm_id = vm,
		.op = op,
		.flags = flags,
		.handle = handle,
		.bo_offset = offset,
		.addr = va,
		.range = range,
	};
	int ret;

	b.out_sync = syncobj_create(fd);
	if (!b.out_sync)
		return -ENOMEM;
	ret = ioc(fd, DRM_IOCTL_SGPU_VM_BIND, &b);
	if (!ret)
		ret = syncobj_wait(fd, b.out_sync);
	syncobj_destroy(fd, b.out_sync);
	return ret;
}

static inline int map(int fd, __u32 vm, __u32 handle, __u64 va, __u64 size)
{
	return bind_op(fd, vm, SGPU_BIND_MAP, handle, 0, va, size, 0);
}

static inline int unmap(int fd, __u32 vm, __u64 va, __u64 size)
{
	return bind_op(fd, vm, SGPU_BIND_UNMAP, 0, 0, va, size, 0);
}

static inline int exec(int fd, __u32 vm, struct drm_sgpu_cmd *cmds, __u32 n,
		       __u64 *seqno)
{
	struct drm_sgpu_exec e = {
		.vm_id = vm,
		.cmds = (uintptr_t)cmds,
		.num_cmds = n,
	};
	int ret = ioc(fd, DRM_IOCTL_SGPU_EXEC, &e);

	*seqno = e.seqno;
	return ret;
}

static inline int wait_job(int fd, __u32 vm, __u64 seqno,
			   struct drm_sgpu_wait *w)
{
	memset(w, 0, sizeof(*w));
	w->vm_id = vm;
	w->seqno = seqno;
	w->timeout_ns = WAIT_NS;
	return ioc(fd, DRM_IOCTL_SGPU_WAIT, w);
}

/*
 * Submit and wait.  Returns the EXEC errno, or else the WAIT errno, or
 * else the job status; @w (optional) gets the WAIT result.
 */
static inline int run(int fd, __u32 vm, struct drm_sgpu_cmd *cmds, __u32 n,
		      struct drm_sgpu_wait *w)
{
	struct drm_sgpu_wait tmp;
	__u64 seqno;
	int ret;

	if (!w)
		w = &tmp;
	ret = exec(fd, vm, cmds, n, &seqno);
	if (ret)
		return ret;
	ret = wait_job(fd, vm, seqno, w);
	return ret ? ret : w->status;
}

static inline __u64 query(int fd, __u32 type, __u32 id, unsigned int idx)
{
	__u64 v[32] = { };
	struct drm_sgpu_query q = {
		.type = type,
		.id = id,
		.values = (uintptr_t)v,
		.count = 32,
	};

	if (ioc(fd, DRM_IOCTL_SGPU_QUERY, &q) || idx >= q.count)
		return ~0ULL;
	return v[idx];
}

static inline struct drm_sgpu_cmd cmd_copy(__u64 src, __u64 dst, __u64 size)
{
	return (struct drm_sgpu_cmd){ .op = SGPU_CMD_COPY, .src = src,
				      .dst = dst, .size = size };
}

static inline struct drm_sgpu_cmd cmd_fill(__u64 dst, __u64 size, __u32 value)
{
	return (struct drm_sgpu_cmd){ .op = SGPU_CMD_FILL, .dst = dst,
				      .size = size, .value = value };
}

static inline struct drm_sgpu_cmd cmd_compare(__u64 a, __u64 b, __u64 size,
					      __u64 result)
{
	return (struct drm_sgpu_cmd){ .op = SGPU_CMD_COMPARE, .src = a,
				      .dst = b, .size = size,
				      .result = result };
}

static inline struct drm_sgpu_cmd cmd_checksum(__u64 src, __u64 size,
					       __u64 result)
{
	return (struct drm_sgpu_cmd){ .op = SGPU_CMD_CHECKSUM, .src = src,
				      .size = size, .result = result };
}

static inline struct drm_sgpu_cmd cmd_inc(__u64 dst, __u64 value, __u64 result)
{
	return (struct drm_sgpu_cmd){ .op = SGPU_CMD_ATOMIC_INC, .dst = dst,
				      .size = 8, .value = value,
				      .result = result };
}

/* 0 once the syncobj's fence signalled, -ETIME while it is pending. */
static inline int syncobj_busy(int fd, __u32 h)
{
	struct drm_syncobj_wait w = {
		.handles = (uintptr_t)&h,
		.count_handles = 1,
		.timeout_nsec = 0,
	};

	return ioc(fd, DRM_IOCTL_SYNCOBJ_WAIT, &w);
}

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * A fence that stays pending for a while: the out-syncobj @sync of EXECs
 * on a fence-mode VM of their own that copy a shmem BO for about @ms
 * (calibrated here, since the guest's speed varies).  A test gates an
 * operation on it, acts, and then checks with syncobj_busy() that it was
 * still pending, so the interleaving it needs really happened.
 */
struct slow {
	__u32 vm, bo, sync;
};

static inline int slow_start(int fd, unsigned int ms, struct slow *s)
{
	const __u64 half = 1UL << 20;
	static struct drm_sgpu_cmd c[SGPU_MAX_CMDS];
	struct drm_sgpu_exec e = { .cmds = (uintptr_t)c };
	long long t;
	unsigned int i, n;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = vm_create(fd, SGPU_VM_MODE_FENCE, &s->vm);
	if (!ret)
		ret = bo_create(fd, 2 * half, &s->bo);
	if (!ret)
		ret = map(fd, s->vm, s->bo, VA(1), 2 * half);
	if (ret)
		return ret;
	for (i = 0; i < SGPU_MAX_CMDS; i++)
		c[i] = cmd_copy(VA(1), VA(1) + half, half);
	t = now_ms();
	ret = run(fd, s->vm, c, 8, NULL);
	if (ret)
		return ret;
	t = now_ms() - t;
	n = ms * 8 / (t > 0 ? t : 1) + 1;
	s->sync = syncobj_create(fd);
	if (!s->sync)
		return -ENOMEM;
	e.vm_id = s->vm;
	e.out_sync = s->sync;
	/* The VM runs its jobs in order: the last fence signals last. */
	while (n) {
		e.num_cmds = n < SGPU_MAX_CMDS ? n : SGPU_MAX_CMDS;
		n -= e.num_cmds;
		ret = ioc(fd, DRM_IOCTL_SGPU_EXEC, &e);
		if (ret)
			return ret;
	}
	return 0;
}

/* Wait for the slow fence and release what slow_start() created. */
static inline int slow_end(int fd, struct slow *s)
{
	int ret = s->sync ? syncobj_wait(fd, s->sync) : 0;

	if (s->sync)
		syncobj_destroy(fd, s->sync);
	if (s->bo)
		gem_close(fd, s->bo);
	if (s->vm)
		vm_destroy(fd, s->vm);
	return ret;
}

static inline __u64 fnv1a(const void *p, size_t n)
{
	const unsigned char *x = p;
	__u64 h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *x++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Word @i of the test pattern @seed.  Word i of pattern seed + 1 is word
 * i + 1 of pattern seed: a copy shifted by one word turns one into the
 * other.
 */
static inline __u32 pattern_word(size_t i, __u32 seed)
{
	return (i + seed) * 2654435761u;
}

static inline void pattern(void *p, size_t size, __u32 seed)
{
	__u32 *w = p;
	size_t i;

	for (i = 0; i < size / 4; i++)
		w[i] = pattern_word(i, seed);
}

static inline bool check_pattern(const void *p, size_t size, __u32 seed)
{
	const __u32 *w = p;
	size_t i;

	for (i = 0; i < size / 4; i++)
		if (w[i] != pattern_word(i, seed))
			return false;
	return true;
}

static inline void *anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Drain every CPU's LRU folio batches.  A folio queued in another CPU's
 * batch (activated by a GUP that ran there, say a PIN populate of a fault
 * worker) holds a reference until that CPU drains it, and migrate_vma
 * skips a page with an extra reference; in 6.12 it drains other CPUs only
 * for folios that are off the LRU, and a queued one is not.  Userspace has
 * one way to drain them all: move_pages() with MPOL_MF_MOVE disables the
 * LRU caches while it runs.  Ask it to move each page of [p, p + size)
 * that is in system memory to the node it is on: nothing moves.
 */
static inline int lru_drain_all(void *p, size_t size)
{
	unsigned long i, n = size / PAGE;
	void **pages = calloc(n, sizeof(*pages));
	int *status = calloc(n, sizeof(*status));
	int *nodes = calloc(n, sizeof(*nodes));
	long ret = -1;

	if (!pages || !status || !nodes)
		goto out;
	for (i = 0; i < n; i++)
		pages[i] = (char *)p + i * PAGE;
	/* Where each page is; device-private pages are -ENOENT. */
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0))
		goto out;
	for (i = 0; i < n; i++)
		nodes[i] = status[i] >= 0 ? status[i] : 0;
	ret = syscall(SYS_move_pages, 0, n, pages, nodes, status,
		      MPOL_MF_MOVE);
out:
	free(pages);
	free(status);
	free(nodes);
	return ret < 0 ? -1 : 0;
}

/* Counters that must come back to where they were: leak checks. */
static const unsigned int baseline_idx[] = {
	SGPU_DEV_LIVE_VMS, SGPU_DEV_LIVE_BOS, SGPU_DEV_LIVE_USERPTR_BOS,
	SGPU_DEV_LIVE_MAPPINGS, SGPU_DEV_LIVE_JOBS, SGPU_DEV_PINNED_PAGES,
	SGPU_DEV_DEVMEM_USED,
};

struct baseline {
	__u64 v[ARRAY_SIZE(baseline_idx)];
};

static inline void baseline_take(int fd, struct baseline *b)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(baseline_idx); i++)
		b->v[i] = query(fd, SGPU_QUERY_DEVICE, 0, baseline_idx[i]);
}

/*
 * The baseline of a test: taken once what earlier tests released has
 * settled (their last jobs and the objects those held are freed by
 * workqueues after the process that owned them exited), so that an earlier
 * test's teardown is not counted against this one.  Waits for up to 10 s
 * for no live job and two equal readings 20 ms apart.
 */
static inline void baseline_settle(int fd, struct baseline *b)
{
	struct baseline again;
	unsigned int tries;

	baseline_take(fd, b);
	for (tries = 0; tries < 500; tries++) {
		usleep(20000);
		baseline_take(fd, &again);
		if (!memcmp(b, &again, sizeof(again)) &&
		    !query(fd, SGPU_QUERY_DEVICE, 0, SGPU_DEV_LIVE_JOBS))
			return;
		*b = again;
	}
}

/* Index of the first counter that differs, or -1. */
static inline int baseline_diff(int fd, const struct baseline *b)
{
	struct baseline now;
	unsigned int i, tries;

	/*
	 * Device pages are freed by the last put of the CPU page, BOs and
	 * VMs by the last job or bind that referenced them (drm_sched's
	 * free_job, the fault-mode workqueue): poll, for up to 10 s.
	 */
	for (tries = 0; tries < 1000; tries++) {
		baseline_take(fd, &now);
		for (i = 0; i < ARRAY_SIZE(baseline_idx); i++)
			if (now.v[i] != b->v[i])
				break;
		if (i == ARRAY_SIZE(baseline_idx))
			return -1;
		usleep(10000);
	}
	return baseline_idx[i];
}

#endif /* SGPU_LIB_H */
