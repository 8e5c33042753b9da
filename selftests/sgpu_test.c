// SPDX-License-Identifier: GPL-2.0
/**
 * DOC: sgpu selftests
 *
 * Drives the sgpu software GPU (drm/sgpu.ko, docs/uapi.rst) from user
 * space.  The fixture ``sgpu`` has one variant per VM mode x userptr
 * backend (fence_pin, fence_fault, fault_pin, fault_fault); every test of
 * it creates a VM of the mode, userptr BOs of the backend and shmem BOs,
 * binds them, runs engine jobs and checks the data from the CPU side.
 * The teardown checks that the device's live object counters, the pinned
 * pages and the device memory in use are back at their starting values.
 *
 * The fixture ``bad`` checks the argument validation of every ioctl.
 *
 * Copyright (c) 2026 The uptr authors
 */

#define _GNU_SOURCE
#include "kselftest_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <drm/drm.h>
#include <drm/sgpu_drm.h>

#include "sgpu_lib.h"

/* -------------------------------------------------------------------- */

FIXTURE(sgpu) {
	int fd;		/* the file the test uses */
	int qfd;	/* a second file: device counters after fd closed */
	__u32 vm;
	__u32 backend;	/* SGPU_USERPTR_BACKEND_* */
	struct baseline base;
	char cg[64];	/* a memory cgroup the test moved into, or "" */
	char cg_home[160];	/* the cgroup it came from */
};

FIXTURE_VARIANT(sgpu) {
	__u32 mode;
	__u32 backend;
};

FIXTURE_VARIANT_ADD(sgpu, fence_pin) {
	.mode = SGPU_VM_MODE_FENCE,
	.backend = SGPU_USERPTR_BACKEND_PIN,
};

FIXTURE_VARIANT_ADD(sgpu, fence_fault) {
	.mode = SGPU_VM_MODE_FENCE,
	.backend = SGPU_USERPTR_BACKEND_FAULT,
};

FIXTURE_VARIANT_ADD(sgpu, fault_pin) {
	.mode = SGPU_VM_MODE_FAULT,
	.backend = SGPU_USERPTR_BACKEND_PIN,
};

FIXTURE_VARIANT_ADD(sgpu, fault_fault) {
	.mode = SGPU_VM_MODE_FAULT,
	.backend = SGPU_USERPTR_BACKEND_FAULT,
};

FIXTURE_SETUP(sgpu)
{
	self->qfd = sgpu_open();
	if (self->qfd < 0)
		SKIP(return, "no sgpu device (drm/sgpu.ko not loaded)");
	baseline_settle(self->qfd, &self->base);
	self->fd = sgpu_open();
	ASSERT_GE(self->fd, 0);
	self->backend = variant->backend;
	ASSERT_EQ(0, vm_create(self->fd, variant->mode, &self->vm));
	ASSERT_NE(0, self->vm);
	ASSERT_EQ(variant->mode,
		  query(self->fd, SGPU_QUERY_VM, self->vm, SGPU_VM_MODE));
}

FIXTURE_TEARDOWN(sgpu)
{
	char pid[16];

	if (self->cg[0]) {
		char path[192];

		snprintf(path, sizeof(path), "%s/cgroup.procs", self->cg_home);
		snprintf(pid, sizeof(pid), "%d", getpid());
		EXPECT_EQ(0, write_file(path, pid));
		EXPECT_EQ(0, rmdir(self->cg));
	}
	if (self->qfd < 0)
		return;
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(-1, baseline_diff(self->qfd, &self->base));
	close(self->qfd);
}

/* Userptr -> shmem -> userptr copies, checked from the CPU. */
TEST_F(sgpu, copy)
{
	const size_t size = 256 * 1024;
	__u32 ubo, sbo, ubo2;
	struct drm_sgpu_cmd c[2];
	char *src, *dst, *shm;

	src = anon(size);
	dst = anon(size);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	pattern(src, size, 1);
	memset(dst, 0, size);

	ASSERT_EQ(0, userptr(self->fd, self->vm, src, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, userptr(self->fd, self->vm, dst, size, self->backend,
			     &ubo2));
	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	shm = bo_mmap(self->fd, sbo, size);
	ASSERT_NE(NULL, shm);

	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));
	ASSERT_EQ(0, map(self->fd, self->vm, ubo2, VA(3), size));

	c[0] = cmd_copy(VA(1), VA(2), size);
	c[1] = cmd_copy(VA(2) + 1, VA(3) + 1, size - 1);
	ASSERT_EQ(0, run(self->fd, self->vm, c, 2, NULL));
	EXPECT_TRUE(check_pattern(shm, size, 1));
	EXPECT_EQ(0, dst[0]);
	EXPECT_EQ(0, memcmp(src + 1, dst + 1, size - 1));

	/* The CPU writes, the GPU sees it. */
	pattern(src, size, 7);
	c[0] = cmd_copy(VA(1), VA(3), size);
	ASSERT_EQ(0, run(self->fd, self->vm, c, 1, NULL));
	EXPECT_TRUE(check_pattern(dst, size, 7));

	if (variant->mode == SGPU_VM_MODE_FAULT) {
		EXPECT_LT(0, query(self->fd, SGPU_QUERY_VM, self->vm,
				   SGPU_VM_GPU_FAULTS));
	} else {
		EXPECT_EQ(0, query(self->fd, SGPU_QUERY_VM, self->vm,
				   SGPU_VM_GPU_FAULTS));
	}
	munmap(shm, size);
}

/* FILL, COMPARE, CHECKSUM and ATOMIC_INC with results in a shmem BO. */
TEST_F(sgpu, fill_compare_checksum_atomic)
{
	const size_t size = 64 * 1024;
	__u64 *res, expect;
	struct drm_sgpu_cmd c[6];
	__u32 ubo, rbo;
	char *buf;

	buf = anon(2 * size);
	ASSERT_NE(NULL, buf);
	memset(buf, 0, 2 * size);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, 2 * size,
			     self->backend, &ubo));
	ASSERT_EQ(0, bo_create(self->fd, PAGE, &rbo));
	res = bo_mmap(self->fd, rbo, PAGE);
	ASSERT_NE(NULL, res);
	memset(res, 0xff, PAGE);
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), 2 * size));
	ASSERT_EQ(0, map(self->fd, self->vm, rbo, VA(2), PAGE));

	c[0] = cmd_fill(VA(1), size, 0xdeadbeef);
	c[1] = cmd_fill(VA(1) + size, size, 0xdeadbeef);
	c[2] = cmd_compare(VA(1), VA(1) + size, size, VA(2));
	c[3] = cmd_fill(VA(1) + size + 1000, 4, 0x12345678);
	c[4] = cmd_compare(VA(1), VA(1) + size, size, VA(2) + 8);
	c[5] = cmd_checksum(VA(1), 2 * size, VA(2) + 16);
	ASSERT_EQ(0, run(self->fd, self->vm, c, 6, NULL));
	EXPECT_EQ(0xdeadbeef, *(__u32 *)(buf + 4));
	EXPECT_EQ(0x12345678, *(__u32 *)(buf + size + 1000));
	EXPECT_EQ(0, res[0]);
	/* first difference: the low byte of 0x12345678 vs 0xef */
	EXPECT_EQ(1000 + 1, res[1]);
	EXPECT_EQ(fnv1a(buf, 2 * size), res[2]);

	*(__u64 *)(buf + 64) = 40;
	c[0] = cmd_inc(VA(1) + 64, 2, VA(2) + 24);
	c[1] = cmd_inc(VA(1) + 64, 3, 0);
	ASSERT_EQ(0, run(self->fd, self->vm, c, 2, NULL));
	expect = 45;
	EXPECT_EQ(expect, *(__u64 *)(buf + 64));
	EXPECT_EQ(40, res[3]);
	munmap(res, PAGE);
}

/*
 * The CPU replaces the pages behind a userptr (MADV_DONTNEED): fence mode
 * revalidates the BO at the next EXEC (repin), fault mode faults again.
 */
TEST_F(sgpu, invalidate_revalidate)
{
	const size_t size = 128 * 1024;
	struct drm_sgpu_cmd c;
	__u32 ubo, sbo;
	__u64 inval;
	char *buf, *shm;

	buf = anon(size);
	ASSERT_NE(NULL, buf);
	pattern(buf, size, 3);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	shm = bo_mmap(self->fd, sbo, size);
	ASSERT_NE(NULL, shm);
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));

	c = cmd_copy(VA(1), VA(2), size);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_TRUE(check_pattern(shm, size, 3));

	ASSERT_EQ(0, madvise(buf, size, MADV_DONTNEED));
	inval = query(self->fd, SGPU_QUERY_BO, ubo, SGPU_BO_INVALIDATIONS);
	EXPECT_LT(0, inval);
	pattern(buf, size, 4);

	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_TRUE(check_pattern(shm, size, 4));
	if (variant->mode == SGPU_VM_MODE_FENCE) {
		EXPECT_LT(0, query(self->fd, SGPU_QUERY_BO, ubo,
				   SGPU_BO_REPINS));
	} else {
		EXPECT_LT(0, query(self->fd, SGPU_QUERY_BO, ubo,
				   SGPU_BO_GPU_FAULTS));
	}
	munmap(shm, size);
}

/*
 * After munmap the next job touching the range fails with -EFAULT: at
 * EXEC in fence mode, as an unrecoverable fault in fault mode.  No stale
 * page is written: memory mapped again at the address stays untouched.
 */
TEST_F(sgpu, munmap_then_exec)
{
	const size_t size = 64 * 1024;
	struct drm_sgpu_wait w;
	struct drm_sgpu_cmd c;
	__u32 ubo, sbo;
	__u64 seqno;
	char *buf, *again;
	int ret;

	buf = anon(size);
	ASSERT_NE(NULL, buf);
	memset(buf, 1, size);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));
	c = cmd_copy(VA(2), VA(1), size);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));

	ASSERT_EQ(0, munmap(buf, size));
	ret = exec(self->fd, self->vm, &c, 1, &seqno);
	if (variant->mode == SGPU_VM_MODE_FENCE) {
		EXPECT_EQ(-EFAULT, ret);
	} else {
		ASSERT_EQ(0, ret);
		ASSERT_EQ(0, wait_job(self->fd, self->vm, seqno, &w));
		EXPECT_EQ(-EFAULT, w.status);
		EXPECT_EQ(0, w.cmd_index);
		EXPECT_EQ(VA(1), w.fault_addr);
		EXPECT_LT(0, query(self->fd, SGPU_QUERY_VM, self->vm,
				   SGPU_VM_FATAL_FAULTS));
	}

	/* New memory at the same address: the BO follows it. */
	again = mmap(buf, size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (again == buf) {
		memset(again, 7, size);
		c = cmd_fill(VA(2), size, 0x05050505);
		ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
		EXPECT_EQ(7, again[0]);
		c = cmd_copy(VA(2), VA(1), size);
		ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
		EXPECT_EQ(5, again[size - 1]);
		munmap(again, size);
	}
}

struct race {
	int fd;
	__u32 vm;
	__u64 src, dst, size;
	bool stop;	/* __atomic accesses */
	int submitted, refused, failed;
};

static void *race_submitter(void *arg)
{
	struct race *r = arg;
	struct drm_sgpu_cmd c[4];
	struct drm_sgpu_wait w;
	__u64 seqno;
	int i;

	for (i = 0; i < 4; i++)
		c[i] = cmd_copy(r->src, r->dst, r->size);
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if (exec(r->fd, r->vm, c, 4, &seqno)) {
			r->refused++;
			continue;
		}
		r->submitted++;
		if (wait_job(r->fd, r->vm, seqno, &w) || w.status)
			r->failed++;
	}
	return NULL;
}

/*
 * munmap while jobs read the range: the notifier waits for the fences
 * (fence mode) or zaps (fault mode) with mmap_lock held for writing.
 * Neither may deadlock against the jobs.  A fence-mode job that was queued
 * never fails: the munmap waits for it (EXEC refuses later ones); a
 * fault-mode job may fail with an unrecoverable fault.
 */
TEST_F_TIMEOUT(sgpu, munmap_races_jobs, 300)
{
	const size_t size = 1024 * 1024;
	struct race r = { .fd = self->fd, .vm = self->vm, .size = size };
	pthread_t t;
	__u32 ubo, sbo;
	char *buf;
	int i;

	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));
	r.src = VA(1);
	r.dst = VA(2);
	for (i = 0; i < 3; i++) {
		buf = anon(size);
		ASSERT_NE(NULL, buf);
		memset(buf, i, size);
		ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size,
				     self->backend, &ubo));
		ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
		__atomic_store_n(&r.stop, false, __ATOMIC_RELAXED);
		ASSERT_EQ(0, pthread_create(&t, NULL, race_submitter, &r));
		usleep(20000 * (i + 1));
		ASSERT_EQ(0, munmap(buf, size));
		usleep(20000);
		__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
		ASSERT_EQ(0, pthread_join(t, NULL));
		ASSERT_EQ(0, unmap(self->fd, self->vm, VA(1), size));
		ASSERT_EQ(0, gem_close(self->fd, ubo));
	}
	TH_LOG("%d jobs run, %d failed, %d refused; notifier waits %llu",
	       r.submitted, r.failed, r.refused,
	       query(self->fd, SGPU_QUERY_VM, self->vm,
		     SGPU_VM_NOTIFIER_WAITS));
	EXPECT_LT(0, r.submitted);
	if (variant->mode == SGPU_VM_MODE_FENCE)
		EXPECT_EQ(0, r.failed);
}

/*
 * The same, deterministic: a long job is queued, then the range is
 * unmapped from the same thread.  Fence mode: munmap returns after the
 * job, which succeeded.
 */
TEST_F_TIMEOUT(sgpu, munmap_waits_for_job, 300)
{
	const size_t size = 1024 * 1024;
	struct drm_sgpu_cmd c[32];
	struct drm_sgpu_wait w;
	__u32 ubo, sbo;
	__u64 seqno;
	char *buf;
	int i;

	buf = anon(size);
	ASSERT_NE(NULL, buf);
	memset(buf, 1, size);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));
	for (i = 0; i < 32; i++)
		c[i] = cmd_copy(VA(1), VA(2), size);
	ASSERT_EQ(0, exec(self->fd, self->vm, c, 32, &seqno));
	ASSERT_EQ(0, munmap(buf, size));
	ASSERT_EQ(0, wait_job(self->fd, self->vm, seqno, &w));
	TH_LOG("status %d, notifier waits %llu", w.status,
	       query(self->fd, SGPU_QUERY_VM, self->vm,
		     SGPU_VM_NOTIFIER_WAITS));
	/* Fence mode: never -EFAULT, the munmap waited for the job. */
	EXPECT_TRUE(w.status == 0 ||
		    (variant->mode == SGPU_VM_MODE_FAULT && w.status == -EFAULT));
}

struct zapper {
	char *buf;
	size_t size;
	bool stop;	/* __atomic accesses */
	int zaps;
};

/* Invalidate the whole buffer every 100 ms until told to stop. */
static void *zapper_thread(void *arg)
{
	struct zapper *z = arg;

	while (!__atomic_load_n(&z->stop, __ATOMIC_RELAXED)) {
		madvise(z->buf, z->size, MADV_DONTNEED);
		z->zaps++;
		usleep(100000);
	}
	return NULL;
}

/*
 * Invalidations racing with submissions and running jobs (MADV_DONTNEED
 * in a loop): a queued job never fails, the memory stays mapped.  Fence
 * mode revalidates at EXEC (the commit may lose and retry), fault mode
 * takes recoverable faults.
 */
TEST_F_TIMEOUT(sgpu, invalidate_races_exec, 300)
{
	const size_t size = 16 * PAGE;
	struct zapper z = { .size = size };
	struct drm_sgpu_cmd c[2];
	struct drm_sgpu_wait w;
	int jobs = 0, busy = 0, failed = 0, ret;
	__u32 ubo, sbo;
	pthread_t t;
	__u64 seqno;

	z.buf = anon(size);
	ASSERT_NE(NULL, z.buf);
	ASSERT_EQ(0, userptr(self->fd, self->vm, z.buf, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));
	c[0] = cmd_copy(VA(1), VA(2), size);
	c[1] = cmd_fill(VA(1), size, 0x0c0c0c0c);

	ASSERT_EQ(0, pthread_create(&t, NULL, zapper_thread, &z));
	while (jobs < 6) {
		ret = exec(self->fd, self->vm, c, 2, &seqno);
		if (ret == -EBUSY && busy++ < 20)
			continue;
		ASSERT_EQ(0, ret);
		ASSERT_EQ(0, wait_job(self->fd, self->vm, seqno, &w));
		jobs++;
		if (w.status)
			failed++;
	}
	__atomic_store_n(&z.stop, true, __ATOMIC_RELAXED);
	ASSERT_EQ(0, pthread_join(t, NULL));
	TH_LOG("%d jobs, %d failed, %d EXEC gave up, %d zaps; repins %llu, faults %llu",
	       jobs, failed, busy, z.zaps,
	       query(self->fd, SGPU_QUERY_BO, ubo, SGPU_BO_REPINS),
	       query(self->fd, SGPU_QUERY_BO, ubo, SGPU_BO_GPU_FAULTS));
	EXPECT_EQ(0, failed);
	EXPECT_LT(0, jobs);

	/* Quiet again: the data path is intact. */
	pattern(z.buf, size, 5);
	ASSERT_EQ(0, run(self->fd, self->vm, c, 1, NULL));
	c[0] = cmd_compare(VA(1), VA(2), size, VA(1));
	ASSERT_EQ(0, run(self->fd, self->vm, c, 1, NULL));
	EXPECT_EQ(0, *(__u64 *)z.buf);
}

/*
 * Explicit synchronization: an asynchronous bind's out-syncobj is the
 * in-syncobj of the EXEC that uses the mapping; fence-mode EXEC signals an
 * out-syncobj, fault mode refuses one.
 */
TEST_F(sgpu, syncobjs)
{
	const size_t size = 16 * PAGE;
	struct drm_sgpu_sync in = { };
	struct drm_sgpu_vm_bind b = {
		.vm_id = self->vm,
		.op = SGPU_BIND_MAP,
		.addr = VA(1),
		.range = size,
	};
	struct drm_sgpu_exec e = { .vm_id = self->vm, .num_cmds = 1 };
	struct drm_sgpu_cmd c = cmd_fill(VA(1), size, 0x42424242);
	struct drm_sgpu_wait w;
	__u32 sbo, empty;
	char *shm;

	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	shm = bo_mmap(self->fd, sbo, size);
	ASSERT_NE(NULL, shm);
	b.handle = sbo;
	b.out_sync = syncobj_create(self->fd);
	in.handle = b.out_sync;
	e.cmds = (uintptr_t)&c;
	e.in_syncs = (uintptr_t)&in;
	e.num_in_syncs = 1;
	ASSERT_NE(0, b.out_sync);
	ASSERT_EQ(0, ioc(self->fd, DRM_IOCTL_SGPU_VM_BIND, &b));

	if (variant->mode == SGPU_VM_MODE_FENCE) {
		e.out_sync = syncobj_create(self->fd);
		ASSERT_EQ(0, ioc(self->fd, DRM_IOCTL_SGPU_EXEC, &e));
		ASSERT_EQ(0, syncobj_wait(self->fd, e.out_sync));
		EXPECT_EQ(0x42, shm[size - 1]);
		syncobj_destroy(self->fd, e.out_sync);
	} else {
		e.out_sync = b.out_sync;
		EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_EXEC, &e));
		e.out_sync = 0;
		ASSERT_EQ(0, ioc(self->fd, DRM_IOCTL_SGPU_EXEC, &e));
		ASSERT_EQ(0, wait_job(self->fd, self->vm, e.seqno, &w));
		EXPECT_EQ(0, w.status);
		EXPECT_EQ(0x42, shm[size - 1]);
	}
	EXPECT_EQ(0, wait_job(self->fd, self->vm, e.seqno, &w));

	/* a syncobj without fence, an unknown one, flags */
	empty = syncobj_create(self->fd);
	in.handle = empty;
	EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_EXEC, &e));
	in.handle = 0xdead;
	EXPECT_EQ(-ENOENT, ioc(self->fd, DRM_IOCTL_SGPU_EXEC, &e));
	in.handle = b.out_sync;
	in.point = 1;
	EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_EXEC, &e));
	syncobj_destroy(self->fd, empty);
	syncobj_destroy(self->fd, b.out_sync);
	munmap(shm, size);
}

/* Partial unmap splits a mapping; the hole faults, the rest works. */
TEST_F(sgpu, split_mapping)
{
	const size_t size = 16 * PAGE;
	struct drm_sgpu_wait w;
	struct drm_sgpu_cmd c;
	__u32 ubo;
	char *buf;

	buf = anon(size);
	ASSERT_NE(NULL, buf);
	memset(buf, 0, size);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	ASSERT_EQ(0, unmap(self->fd, self->vm, VA(1) + 4 * PAGE, 4 * PAGE));
	EXPECT_EQ(2, query(self->fd, SGPU_QUERY_BO, ubo, SGPU_BO_MAPPINGS));
	/* a double unmap finds nothing */
	EXPECT_EQ(-ENOENT, unmap(self->fd, self->vm, VA(1) + 4 * PAGE,
				 4 * PAGE));

	c = cmd_fill(VA(1), 4 * PAGE, 0x11111111);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	c = cmd_fill(VA(1) + 8 * PAGE, 8 * PAGE, 0x22222222);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_EQ(0x11, buf[0]);
	EXPECT_EQ(0, buf[4 * PAGE]);
	EXPECT_EQ(0x22, buf[size - 1]);

	c = cmd_fill(VA(1) + 3 * PAGE, 2 * PAGE, 0x33333333);
	ASSERT_EQ(-EFAULT, run(self->fd, self->vm, &c, 1, &w));
	EXPECT_EQ(VA(1) + 4 * PAGE, w.fault_addr);
	EXPECT_EQ(0x33, buf[3 * PAGE]);
	EXPECT_EQ(0, buf[4 * PAGE]);

	/* Remap the hole at another offset of the BO. */
	ASSERT_EQ(0, bind_op(self->fd, self->vm, SGPU_BIND_MAP, ubo, 12 * PAGE,
			     VA(1) + 4 * PAGE, 4 * PAGE, 0));
	c = cmd_fill(VA(1) + 4 * PAGE, 4 * PAGE, 0x44444444);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_EQ(0x44, buf[12 * PAGE]);
	EXPECT_EQ(0, buf[4 * PAGE]);
}

/* Read-only BOs and mappings: the engine cannot write through them. */
TEST_F(sgpu, read_only)
{
	const size_t size = 4 * PAGE;
	struct drm_sgpu_wait w;
	struct drm_sgpu_cmd c;
	__u32 ro, rw;
	char *a, *b;

	a = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b = anon(size);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(NULL, b);
	memset(b, 9, size);
	EXPECT_EQ(-EACCES, userptr(self->fd, self->vm, a, size,
				   self->backend, &ro));
	ASSERT_EQ(0, userptr(self->fd, self->vm, a, size,
			     self->backend | SGPU_USERPTR_READ_ONLY, &ro));
	EXPECT_EQ(-EACCES, map(self->fd, self->vm, ro, VA(1), size));
	ASSERT_EQ(0, bind_op(self->fd, self->vm, SGPU_BIND_MAP, ro, 0, VA(1),
			     size, SGPU_BIND_READ_ONLY));
	ASSERT_EQ(0, userptr(self->fd, self->vm, b, size, self->backend, &rw));
	ASSERT_EQ(0, map(self->fd, self->vm, rw, VA(2), size));

	c = cmd_copy(VA(1), VA(2), size);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_EQ(0, b[0]);
	c = cmd_copy(VA(2), VA(1), size);
	EXPECT_EQ(-EACCES, run(self->fd, self->vm, &c, 1, &w));
	EXPECT_EQ(VA(1), w.fault_addr);

	/* The CPU mapping of a writable BO becomes read-only. */
	ASSERT_EQ(0, mprotect(b, size, PROT_READ));
	c = cmd_fill(VA(2), size, 0x0b0b0b0b);
	EXPECT_EQ(-EACCES, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_EQ(0, b[0]);
	ASSERT_EQ(0, mprotect(b, size, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_EQ(0x0b, b[0]);
}

/* A BO handle closed with live mappings stays usable through them. */
TEST_F(sgpu, close_handle_with_mappings)
{
	const size_t size = 8 * PAGE;
	struct drm_sgpu_cmd c;
	__u32 ubo, sbo;
	char *buf;

	buf = anon(size);
	ASSERT_NE(NULL, buf);
	memset(buf, 0, size);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));
	ASSERT_EQ(0, gem_close(self->fd, ubo));
	ASSERT_EQ(0, gem_close(self->fd, sbo));

	c = cmd_fill(VA(2), size, 0x61616161);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	c = cmd_copy(VA(2), VA(1), size);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_EQ('a', buf[size - 1]);
	/* VM destroyed with live mappings (the file closes the rest). */
	ASSERT_EQ(0, vm_destroy(self->fd, self->vm));
	EXPECT_EQ(-ENOENT, vm_destroy(self->fd, self->vm));
}

/* Several VMs per file, of both modes; a userptr BO cannot cross VMs. */
TEST_F(sgpu, two_vms)
{
	const size_t size = 4 * PAGE;
	struct drm_sgpu_cmd c;
	__u32 vm2, ubo, ubo2;
	char *buf;

	buf = anon(size);
	ASSERT_NE(NULL, buf);
	memset(buf, 0, size);
	ASSERT_EQ(0, vm_create(self->fd, variant->mode ^ SGPU_VM_MODE_FAULT,
			       &vm2));
	ASSERT_NE(self->vm, vm2);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, userptr(self->fd, vm2, buf, size, self->backend, &ubo2));
	EXPECT_EQ(-EXDEV, map(self->fd, vm2, ubo, VA(1), size));
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	ASSERT_EQ(0, map(self->fd, vm2, ubo2, VA(3), size));

	c = cmd_fill(VA(1), PAGE, 0x01010101);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	c = cmd_fill(VA(3) + PAGE, PAGE, 0x02020202);
	ASSERT_EQ(0, run(self->fd, vm2, &c, 1, NULL));
	EXPECT_EQ(1, buf[0]);
	EXPECT_EQ(2, buf[PAGE]);
	/* The same VA is not mapped in the other VM. */
	c = cmd_fill(VA(3), PAGE, 0);
	EXPECT_EQ(-EFAULT, run(self->fd, self->vm, &c, 1, NULL));
	ASSERT_EQ(0, vm_destroy(self->fd, vm2));
	/* ubo2 outlives its VM as a handle, but is useless */
	EXPECT_EQ(-ENOENT, map(self->fd, vm2, ubo2, VA(3), size));
}

/*
 * Process exit with jobs in flight: a child submits and exits without
 * waiting; everything is torn down (the teardown checks the counters).
 */
TEST_F_TIMEOUT(sgpu, exit_with_jobs_in_flight, 300)
{
	const size_t size = 512 * 1024;
	pid_t pid;
	int status;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct drm_sgpu_cmd c[8];
		__u32 vm, ubo, sbo;
		__u64 seqno;
		int fd, i;
		char *buf;

		fd = sgpu_open();
		CHILD_CHECK(fd >= 0);
		CHILD_CHECK(!vm_create(fd, variant->mode, &vm));
		buf = anon(size);
		CHILD_CHECK(buf);
		memset(buf, 3, size);
		CHILD_CHECK(!userptr(fd, vm, buf, size, self->backend, &ubo));
		CHILD_CHECK(!bo_create(fd, size, &sbo));
		CHILD_CHECK(!map(fd, vm, ubo, VA(1), size));
		CHILD_CHECK(!map(fd, vm, sbo, VA(2), size));
		for (i = 0; i < 8; i++)
			c[i] = cmd_copy(VA(1), VA(2), size);
		for (i = 0; i < 4; i++)
			CHILD_CHECK(!exec(fd, vm, c, 8, &seqno));
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/*
 * fork: the child shares the DRM file but not the address space; the
 * parent's userptr BOs are refused with -EPERM.  The parent keeps working.
 */
TEST_F(sgpu, fork_child_refused)
{
	const size_t size = 4 * PAGE;
	struct drm_sgpu_cmd c;
	__u32 ubo, sbo;
	pid_t pid;
	int status;
	char *buf;

	buf = anon(size);
	ASSERT_NE(NULL, buf);
	memset(buf, 0, size);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct drm_sgpu_migrate m = {
			.handle = ubo, .size = size,
		};
		__u64 seqno;

		c = cmd_fill(VA(1), size, 1);
		CHILD_CHECK(exec(self->fd, self->vm, &c, 1, &seqno) == -EPERM);
		CHILD_CHECK(map(self->fd, self->vm, ubo, VA(3), size) ==
			    -EPERM);
		CHILD_CHECK(ioc(self->fd, DRM_IOCTL_SGPU_MIGRATE, &m) ==
			    -EPERM);
		/* shmem BOs are fine */
		c = cmd_fill(VA(2), size, 1);
		CHILD_CHECK(!run(self->fd, self->vm, &c, 1, NULL));
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	c = cmd_fill(VA(1), size, 0x77777777);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_EQ(0x77, buf[size - 1]);
}

/*
 * Issue 10 item 9, stale GPU PTEs after VM_BIND UNMAP: the UNMAP of a
 * userptr mapping is gated on an in-sync that is still pending while the
 * CPU drops the pages (MADV_DONTNEED) and a fault-mode EXEC, which is not
 * ordered after binds, writes the range.  The notifier must still reach
 * the mapping's PTEs: the job fails with -EFAULT (no mapping) and no freed
 * page is written -- the memory faulted in again reads zero, KASAN stays
 * quiet.  Fence mode: the notifier waits for the UNMAP job, the EXEC is
 * queued behind it and fails the same way.  The in-sync is a slow fence;
 * when it signalled before the EXEC was done (a loaded machine), the
 * interleaving did not happen and the test tries again with a slower one.
 */
TEST_F_TIMEOUT(sgpu, unmap_pending_stale_ptes, 600)
{
	const size_t size = 64 * PAGE;
	struct drm_sgpu_sync in = { };
	struct drm_sgpu_vm_bind b = {
		.vm_id = self->vm,
		.op = SGPU_BIND_UNMAP,
		.addr = VA(1),
		.range = size,
		.in_syncs = (uintptr_t)&in,
		.num_in_syncs = 1,
	};
	bool pending = false;
	struct drm_sgpu_wait w;
	struct drm_sgpu_cmd c;
	unsigned int attempt;
	struct slow slow;
	__u32 ubo;
	size_t i;
	char *buf;
	int ret;

	buf = anon(size);
	ASSERT_NE(NULL, buf);
	memset(buf, 0, size);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size, self->backend,
			     &ubo));
	for (attempt = 0; attempt < 4 && !pending; attempt++) {
		ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
		/* The GPU PTEs exist: written by the bind or by faults. */
		c = cmd_fill(VA(1), size, 0x11111111);
		ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
		ASSERT_EQ(0x11, buf[size - 1]);

		ASSERT_EQ(0, slow_start(self->fd, 2000 << attempt, &slow));
		in.handle = slow.sync;
		b.out_sync = syncobj_create(self->fd);
		ASSERT_NE(0, b.out_sync);
		ASSERT_EQ(0, ioc(self->fd, DRM_IOCTL_SGPU_VM_BIND, &b));
		EXPECT_EQ(0, query(self->fd, SGPU_QUERY_BO, ubo,
				   SGPU_BO_MAPPINGS));

		/* Fence mode: waits for the UNMAP job (the notifier waits). */
		ASSERT_EQ(0, madvise(buf, size, MADV_DONTNEED));
		/* New pages, maybe the ones just freed. */
		memset(buf, 0, size);
		c = cmd_fill(VA(1), size, 0x41414141);
		ret = run(self->fd, self->vm, &c, 1, &w);
		/* Did the job run before the UNMAP job? */
		pending = variant->mode == SGPU_VM_MODE_FENCE ||
			  syncobj_busy(self->fd, b.out_sync) == -ETIME;
		EXPECT_EQ(-EFAULT, ret);
		EXPECT_EQ(VA(1), w.fault_addr);
		for (i = 0; i < size; i++)
			if (buf[i])
				break;
		EXPECT_EQ(size, i) {
			TH_LOG("byte %zu of the new pages is %#x", i, buf[i]);
		}

		EXPECT_EQ(0, syncobj_wait(self->fd, b.out_sync));
		syncobj_destroy(self->fd, b.out_sync);
		EXPECT_EQ(0, slow_end(self->fd, &slow));
		if (!pending)
			TH_LOG("the in-sync signalled too early, again slower");
	}
	EXPECT_TRUE(pending);
	EXPECT_EQ(0, gem_close(self->fd, ubo));
}

/*
 * The two fork_child_* cases below: a forked child submits @e, tells the
 * parent through @go, waits for its job, sends the job's status through
 * @res and exits.
 */
static void child_submit(int fd, struct drm_sgpu_exec *e, int go, int res)
{
	struct drm_sgpu_wait w;
	char x = 0;

	CHILD_CHECK(!ioc(fd, DRM_IOCTL_SGPU_EXEC, e));
	CHILD_CHECK(write(go, &x, 1) == 1);
	CHILD_CHECK(!wait_job(fd, e->vm_id, e->seqno, &w));
	CHILD_CHECK(write(res, &w.status, sizeof(w.status)) ==
		    sizeof(w.status));
	_exit(0);
}

/*
 * The parent's side: once the child's job is queued, map the secret
 * userptr @ubo with @b where the jobs read, note in *@pending whether
 * @slow's in-sync still held them back after the MAP, and reap the child.
 * Return: the status of the child's job (1 if it sent none).
 */
static int map_secret_reap(struct __test_metadata *_metadata, int fd,
			   struct drm_sgpu_vm_bind *b, __u32 ubo,
			   struct slow *slow, int go, int res, pid_t pid,
			   bool *pending)
{
	int child_status = 1, status;
	char x;

	ASSERT_EQ(1, read(go, &x, 1));
	b->handle = ubo;
	b->out_sync = syncobj_create(fd);
	ASSERT_NE(0, b->out_sync);
	ASSERT_EQ(0, ioc(fd, DRM_IOCTL_SGPU_VM_BIND, b));
	*pending = syncobj_busy(fd, slow->sync) == -ETIME;

	EXPECT_EQ(sizeof(child_status),
		  read(res, &child_status, sizeof(child_status)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	return child_status;
}

/*
 * The end of an attempt: the child's job copied nothing of the secret
 * into @shm, the MAP completes, the slow job ends and the secret is
 * unmapped again.
 */
static void end_attempt(struct __test_metadata *_metadata, int fd, __u32 vm,
			const char *shm, size_t size,
			struct drm_sgpu_vm_bind *b, struct slow *slow,
			bool pending)
{
	size_t i;

	for (i = 0; i < size; i++)
		if (shm[i])
			break;
	EXPECT_EQ(size, i) {
		TH_LOG("the child's job copied the parent's memory");
	}

	EXPECT_EQ(0, syncobj_wait(fd, b->out_sync));
	syncobj_destroy(fd, b->out_sync);
	EXPECT_EQ(0, slow_end(fd, slow));
	ASSERT_EQ(0, unmap(fd, vm, b->addr, size));
	if (!pending)
		TH_LOG("the in-sync signalled too early, again slower");
}

/*
 * Issue 10 item 10, ownership checked at submit only: a forked child
 * submits a COPY from a GPU VA that nothing maps yet, gated on a slow
 * in-sync; the parent then maps its userptr there.  The child's job must
 * not read the parent's memory: fault mode fails the fault with -EPERM
 * (the mapping's userptr belongs to another process than the submitter),
 * fence mode with -EFAULT (the job is ordered before the MAP's PTEs).
 * When the in-sync signalled before the MAP (a loaded machine), the test
 * tries again with a slower one.
 */
TEST_F_TIMEOUT(sgpu, fork_child_fault_after_parent_map, 600)
{
	const size_t size = 4 * PAGE;
	struct drm_sgpu_vm_bind b = {
		.vm_id = self->vm,
		.op = SGPU_BIND_MAP,
		.addr = VA(1),
		.range = size,
	};
	int go[2], res[2], child_status;
	bool pending = false;
	struct drm_sgpu_cmd c;
	unsigned int attempt;
	struct slow slow;
	__u32 ubo, sbo;
	char *secret, *shm;
	pid_t pid;

	secret = anon(size);
	ASSERT_NE(NULL, secret);
	memset(secret, 's', size);
	ASSERT_EQ(0, userptr(self->fd, self->vm, secret, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	shm = bo_mmap(self->fd, sbo, size);
	ASSERT_NE(NULL, shm);
	memset(shm, 0, size);
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(res));
	c = cmd_copy(VA(1), VA(2), size);

	for (attempt = 0; attempt < 4 && !pending; attempt++) {
		ASSERT_EQ(0, slow_start(self->fd, 2000 << attempt, &slow));
		pid = fork();
		ASSERT_GE(pid, 0);
		if (!pid) {
			struct drm_sgpu_sync in = { .handle = slow.sync };
			struct drm_sgpu_exec e = {
				.vm_id = self->vm,
				.cmds = (uintptr_t)&c,
				.num_cmds = 1,
				.in_syncs = (uintptr_t)&in,
				.num_in_syncs = 1,
			};

			child_submit(self->fd, &e, go[1], res[1]);
		}
		/* The job is queued; map the secret where it will read. */
		child_status = map_secret_reap(_metadata, self->fd, &b, ubo,
					       &slow, go[0], res[0], pid,
					       &pending);
		if (pending || variant->mode == SGPU_VM_MODE_FENCE)
			EXPECT_EQ(variant->mode == SGPU_VM_MODE_FAULT ?
				  -EPERM : -EFAULT, child_status);
		end_attempt(_metadata, self->fd, self->vm, shm, size, &b,
			    &slow, pending);
	}
	EXPECT_TRUE(pending);

	/* The parent's own jobs keep working. */
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	EXPECT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_EQ('s', shm[size - 1]);
	close(go[0]);
	close(go[1]);
	close(res[0]);
	close(res[1]);
	munmap(shm, size);
}

/*
 * Issue 10 item 10, PTEs faulted for another process: the parent's job,
 * gated on a slow in-sync, reads a GPU VA that nothing maps yet; a forked
 * child then queues a COPY from that VA behind it, and the parent maps its
 * userptr there.  The parent's job faults the PTEs in; the child's job,
 * run next, must not read through them: its accesses fault again and fail
 * with -EPERM.  Fault mode only (fence mode orders both jobs before the
 * MAP).  When the in-sync signalled before the MAP, again slower.
 */
TEST_F_TIMEOUT(sgpu, fork_child_reads_parent_faulted_ptes, 600)
{
	const size_t size = 4 * PAGE;
	struct drm_sgpu_vm_bind b = {
		.vm_id = self->vm,
		.op = SGPU_BIND_MAP,
		.addr = VA(1),
		.range = size,
	};
	struct drm_sgpu_sync in = { };
	struct drm_sgpu_exec e = {
		.vm_id = self->vm,
		.num_cmds = 1,
		.in_syncs = (uintptr_t)&in,
		.num_in_syncs = 1,
	};
	int go[2], res[2], child_status;
	struct drm_sgpu_cmd cp, cc;
	bool pending = false;
	struct drm_sgpu_wait w;
	unsigned int attempt;
	char *secret, *shm, *pshm;
	__u32 ubo, sbo, pbo;
	struct slow slow;
	pid_t pid;

	if (variant->mode != SGPU_VM_MODE_FAULT)
		SKIP(return, "fault mode only");
	secret = anon(size);
	ASSERT_NE(NULL, secret);
	memset(secret, 's', size);
	ASSERT_EQ(0, userptr(self->fd, self->vm, secret, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	shm = bo_mmap(self->fd, sbo, size);
	ASSERT_NE(NULL, shm);
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));
	ASSERT_EQ(0, bo_create(self->fd, size, &pbo));
	pshm = bo_mmap(self->fd, pbo, size);
	ASSERT_NE(NULL, pshm);
	ASSERT_EQ(0, map(self->fd, self->vm, pbo, VA(3), size));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(res));
	cp = cmd_copy(VA(1), VA(3), size);
	cc = cmd_copy(VA(1), VA(2), size);

	for (attempt = 0; attempt < 4 && !pending; attempt++) {
		memset(shm, 0, size);
		memset(pshm, 0, size);
		ASSERT_EQ(0, slow_start(self->fd, 2000 << attempt, &slow));
		/* The parent's job, first in the VM's queue. */
		in.handle = slow.sync;
		e.cmds = (uintptr_t)&cp;
		ASSERT_EQ(0, ioc(self->fd, DRM_IOCTL_SGPU_EXEC, &e));
		pid = fork();
		ASSERT_GE(pid, 0);
		if (!pid) {
			struct drm_sgpu_exec ec = {
				.vm_id = self->vm,
				.cmds = (uintptr_t)&cc,
				.num_cmds = 1,
			};

			child_submit(self->fd, &ec, go[1], res[1]);
		}
		/* Both jobs are queued; map the secret where they read. */
		child_status = map_secret_reap(_metadata, self->fd, &b, ubo,
					       &slow, go[0], res[0], pid,
					       &pending);
		ASSERT_EQ(0, wait_job(self->fd, self->vm, e.seqno, &w));
		if (pending) {
			/* The parent's job faulted the PTEs in. */
			EXPECT_EQ(0, w.status);
			EXPECT_EQ('s', pshm[size - 1]);
			EXPECT_EQ(-EPERM, child_status);
		}
		end_attempt(_metadata, self->fd, self->vm, shm, size, &b,
			    &slow, pending);
	}
	EXPECT_TRUE(pending);
	close(go[0]);
	close(go[1]);
	close(res[0]);
	close(res[1]);
	munmap(pshm, size);
	munmap(shm, size);
}

/*
 * Issue 10 item 18: a write through a read-only mapping of a shmem BO is
 * -EACCES in both modes (fault mode reported -EFAULT: the GPU fault
 * handler gave up on every non-userptr mapping before it checked the
 * permission).
 */
TEST_F(sgpu, read_only_shmem_write)
{
	const size_t size = 4 * PAGE;
	struct drm_sgpu_wait w;
	struct drm_sgpu_cmd c;
	__u32 sbo, rbo;
	char *shm;

	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	shm = bo_mmap(self->fd, sbo, size);
	ASSERT_NE(NULL, shm);
	memset(shm, 5, size);
	ASSERT_EQ(0, bo_create(self->fd, size, &rbo));
	ASSERT_EQ(0, bind_op(self->fd, self->vm, SGPU_BIND_MAP, sbo, 0, VA(1),
			     size, SGPU_BIND_READ_ONLY));
	ASSERT_EQ(0, map(self->fd, self->vm, rbo, VA(2), size));

	c = cmd_fill(VA(1) + PAGE, PAGE, 0x0d0d0d0d);
	EXPECT_EQ(-EACCES, run(self->fd, self->vm, &c, 1, &w));
	EXPECT_EQ(VA(1) + PAGE, w.fault_addr);
	c = cmd_copy(VA(2), VA(1), size);
	EXPECT_EQ(-EACCES, run(self->fd, self->vm, &c, 1, &w));
	EXPECT_EQ(VA(1), w.fault_addr);
	EXPECT_EQ(5, shm[PAGE]);
	/* Reading is fine. */
	c = cmd_copy(VA(1), VA(2), size);
	EXPECT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	munmap(shm, size);
}

#define VA_BIG		VA(1 << 16)	/* 1 TiB */

/*
 * Issue 10 item 13, user-sized loops under locks: the largest userptr BO
 * (SGPU_MAX_USERPTR_SIZE, read-only over a MAP_NORESERVE PROT_READ
 * anonymous mapping) goes through every ioctl -- QUERY_BO, a read-only MAP
 * of all of it, EXEC, MIGRATE over it once most of it is a hole, UNMAP --
 * with a clean kernel log (no soft lockup, no RCU stall); one page more is
 * -E2BIG.  A PIN BO of more pages than RLIMIT_MEMLOCK (without
 * CAP_IPC_LOCK) could never be pinned: its creation fails with -ENOMEM, as
 * documented, before anything is allocated.  A fence-mode MAP of a FAULT BO mirrors all
 * 4M pages first, which takes minutes in the debug guest: not run.
 */
TEST_F_TIMEOUT(sgpu, max_userptr, 1200)
{
	const __u64 size = SGPU_MAX_USERPTR_SIZE, part = 64 * 1024;
	const __u64 edge = 2UL << 20;
	struct rlimit rl = { 64UL << 20, 64UL << 20 };
	struct drm_sgpu_migrate mig = { .size = size };
	struct drm_sgpu_cmd c;
	__u32 ubo, big, rbo;
	bool mapped;
	char *p, *zero;
	__u64 *res;
	long long t;
	int ret;

	ASSERT_EQ(0, drop_ipc_lock());
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	p = mmap(NULL, size + PAGE, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	zero = calloc(1, part);
	ASSERT_NE(NULL, zero);

	ret = userptr(self->fd, self->vm, p, size + PAGE,
		      self->backend | SGPU_USERPTR_READ_ONLY, &big);
	EXPECT_EQ(-E2BIG, ret);
	if (!ret)
		gem_close(self->fd, big);
	ret = userptr(self->fd, self->vm, p, size,
		      self->backend | SGPU_USERPTR_READ_ONLY, &ubo);
	if (self->backend == SGPU_USERPTR_BACKEND_PIN) {
		/* More pages than RLIMIT_MEMLOCK: refused before allocating. */
		EXPECT_EQ(-ENOMEM, ret);
		if (!ret)
			gem_close(self->fd, ubo);
		munmap(p, size + PAGE);
		free(zero);
		return;
	}
	ASSERT_EQ(0, ret);

	t = now_ms();
	EXPECT_EQ(size, query(self->fd, SGPU_QUERY_BO, ubo, SGPU_BO_SIZE));
	EXPECT_EQ(0, query(self->fd, SGPU_QUERY_BO, ubo, SGPU_BO_VALID_PAGES));
	EXPECT_EQ(0, query(self->fd, SGPU_QUERY_BO, ubo,
			   SGPU_BO_DEVICE_PAGES));
	TH_LOG("QUERY_BO of the empty BO: %lld ms", now_ms() - t);

	if (variant->mode == SGPU_VM_MODE_FENCE &&
	    self->backend == SGPU_USERPTR_BACKEND_FAULT) {
		/*
		 * A fence-mode MAP mirrors the whole BO first: 4M pages,
		 * minutes in the debug guest.  Not run here.
		 */
		ret = -1;
	} else {
		t = now_ms();
		ret = bind_op(self->fd, self->vm, SGPU_BIND_MAP, ubo, 0,
			      VA_BIG, size, SGPU_BIND_READ_ONLY);
		TH_LOG("MAP: %d, %lld ms", ret, now_ms() - t);
		if (variant->mode == SGPU_VM_MODE_FENCE) {
			/* 16 GiB of pins over a 64 MiB RLIMIT_MEMLOCK */
			EXPECT_EQ(-ENOMEM, ret);
			EXPECT_EQ(0, query(self->fd, SGPU_QUERY_BO, ubo,
					   SGPU_BO_PINNED_PAGES));
		} else {
			EXPECT_EQ(0, ret);
		}
	}
	mapped = !ret;

	if (mapped) {
		t = now_ms();
		EXPECT_EQ(variant->mode == SGPU_VM_MODE_FENCE ? size / PAGE : 0,
			  query(self->fd, SGPU_QUERY_BO, ubo,
				SGPU_BO_VALID_PAGES));
		EXPECT_EQ(0, query(self->fd, SGPU_QUERY_BO, ubo,
				   SGPU_BO_DEVICE_PAGES));
		TH_LOG("QUERY_BO after MAP: %lld ms", now_ms() - t);

		ASSERT_EQ(0, bo_create(self->fd, PAGE, &rbo));
		res = bo_mmap(self->fd, rbo, PAGE);
		ASSERT_NE(NULL, res);
		ASSERT_EQ(0, map(self->fd, self->vm, rbo, VA(1), PAGE));
		t = now_ms();
		c = cmd_checksum(VA_BIG + size / 2, part, VA(1));
		ret = run(self->fd, self->vm, &c, 1, NULL);
		TH_LOG("EXEC CHECKSUM: %d, %lld ms", ret, now_ms() - t);
		if (self->backend == SGPU_USERPTR_BACKEND_PIN) {
			/* A PIN GPU fault pins the whole BO: RLIMIT_MEMLOCK */
			EXPECT_EQ(-ENOMEM, ret);
		} else {
			EXPECT_EQ(0, ret);
			EXPECT_EQ(fnv1a(zero, part), res[0]);
		}
		munmap(res, PAGE);
	}

	/* A 16 GiB hole between two mapped edges. */
	ASSERT_EQ(0, munmap(p + edge, size - 2 * edge));
	t = now_ms();
	mig.handle = ubo;
	ret = ioc(self->fd, DRM_IOCTL_SGPU_MIGRATE, &mig);
	TH_LOG("MIGRATE over the hole: %d, %lld ms", ret, now_ms() - t);
	EXPECT_EQ(query(self->fd, SGPU_QUERY_DEVICE, 0, SGPU_DEV_DEVMEM_PAGES) ?
		  0 : -EOPNOTSUPP, ret);
	/* Nothing but zero pages and holes: nothing moves. */
	EXPECT_EQ(0, mig.migrated);

	if (mapped) {
		t = now_ms();
		EXPECT_EQ(0, unmap(self->fd, self->vm, VA_BIG, size));
		TH_LOG("UNMAP: %lld ms", now_ms() - t);
	}
	EXPECT_EQ(0, gem_close(self->fd, ubo));
	munmap(p, edge);
	munmap(p + size - edge, edge + PAGE);
	free(zero);
}

/*
 * Device memory: migrate a userptr range to sgpu VRAM, run jobs on it,
 * touch it from the CPU (migrate back), check the data at every step.
 */
TEST_F(sgpu, device_memory)
{
	const size_t size = 32 * PAGE;
	struct drm_sgpu_migrate m = { .size = size };
	struct drm_sgpu_cmd c[2];
	__u64 cpu_mig, dev_pages, moved = 0;
	unsigned int tries;
	__u32 ubo, sbo;
	char *buf, *shm;

	if (!query(self->fd, SGPU_QUERY_DEVICE, 0, SGPU_DEV_DEVMEM_PAGES))
		SKIP(return, "no device memory");
	buf = anon(size);
	ASSERT_NE(NULL, buf);
	pattern(buf, size, 11);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	shm = bo_mmap(self->fd, sbo, size);
	ASSERT_NE(NULL, shm);
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));

	m.handle = ubo;
	m.direction = SGPU_MIGRATE_TO_DEVICE;
	/*
	 * Best effort: a page with a transient extra reference (a folio
	 * queued in another CPU's LRU batch) is skipped.  Drain every CPU's
	 * batches and move what is left.
	 */
	for (tries = 0; tries < 3 && moved < size / PAGE; tries++) {
		if (tries)
			ASSERT_EQ(0, lru_drain_all(buf, size));
		ASSERT_EQ(0, ioc(self->fd, DRM_IOCTL_SGPU_MIGRATE, &m));
		moved += m.migrated;
	}
	TH_LOG("%llu of %zu pages moved in %u MIGRATE calls", moved,
	       size / PAGE, tries);
	EXPECT_EQ(size / PAGE, moved);
	EXPECT_EQ(moved, query(self->fd, SGPU_QUERY_DEVICE, 0,
			       SGPU_DEV_DEVMEM_USED) - self->base.v[6]);
	cpu_mig = query(self->fd, SGPU_QUERY_DEVICE, 0,
			SGPU_DEV_CPU_MIGRATIONS);

	/* The GPU reads and writes device memory (FAULT: in place). */
	c[0] = cmd_copy(VA(1), VA(2), size);
	c[1] = cmd_fill(VA(1) + PAGE, PAGE, 0x5a5a5a5a);
	ASSERT_EQ(0, run(self->fd, self->vm, c, 2, NULL));
	EXPECT_TRUE(check_pattern(shm, size, 11));
	dev_pages = query(self->fd, SGPU_QUERY_BO, ubo, SGPU_BO_DEVICE_PAGES);
	/* FAULT mirrors device pages, PIN migrates them back to pin. */
	EXPECT_EQ(self->backend == SGPU_USERPTR_BACKEND_FAULT ?
		  size / PAGE : 0, dev_pages);

	/* The CPU migrates back on access and sees the GPU's writes. */
	EXPECT_EQ(pattern_word(0, 11), *(__u32 *)buf);
	EXPECT_EQ(0x5a, (unsigned char)buf[PAGE + 7]);
	EXPECT_TRUE(check_pattern(buf + 2 * PAGE, size - 2 * PAGE,
				  2 * PAGE / 4 + 11));
	if (self->backend == SGPU_USERPTR_BACKEND_FAULT) {
		EXPECT_LT(cpu_mig, query(self->fd, SGPU_QUERY_DEVICE, 0,
					 SGPU_DEV_CPU_MIGRATIONS));
	}

	/* Explicit round trip. */
	m.direction = SGPU_MIGRATE_TO_DEVICE;
	ASSERT_EQ(0, ioc(self->fd, DRM_IOCTL_SGPU_MIGRATE, &m));
	m.direction = SGPU_MIGRATE_TO_SYSTEM;
	ASSERT_EQ(0, ioc(self->fd, DRM_IOCTL_SGPU_MIGRATE, &m));
	EXPECT_EQ(0x5a, (unsigned char)buf[PAGE]);
	munmap(shm, size);
}

/* Is @addr backed by a THP (AnonHugePages of its smaps entry)? */
static bool thp_backed(void *addr)
{
	unsigned long start, end, kb;
	bool in = false, thp = false;
	char line[256];
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = (uintptr_t)addr >= start && (uintptr_t)addr < end;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1) {
			thp = kb >= 2048;
			break;
		}
	}
	fclose(f);
	return thp;
}

/*
 * A 2 MiB THP behind a userptr, mapped at a 2 MiB aligned GPU VA, gets a
 * 2 MiB GPU leaf; splitting the mapping splits the leaf.
 */
TEST_F(sgpu, large_pte)
{
	const size_t size = TWOMEG;
	struct drm_sgpu_cmd c;
	__u32 ubo;
	char *raw, *buf;

	raw = anon(2 * size);
	ASSERT_NE(NULL, raw);
	buf = (char *)(((uintptr_t)raw + size - 1) & ~(size - 1));
	if (madvise(buf, size, MADV_HUGEPAGE))
		SKIP(return, "no THP");
	memset(buf, 1, size);
	if (!thp_backed(buf))
		SKIP(return, "the kernel gave no THP");
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(2), size));
	c = cmd_fill(VA(2), size, 0x01020304);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_EQ(4, buf[0]);
	EXPECT_EQ(1, buf[size - 1]);
	TH_LOG("2M leaves %llu, 4K entries %llu, THP %d",
	       query(self->fd, SGPU_QUERY_VM, self->vm, SGPU_VM_PTE_2M),
	       query(self->fd, SGPU_QUERY_VM, self->vm, SGPU_VM_PTE_4K),
	       thp_backed(buf));
	if (thp_backed(buf)) {
		EXPECT_LT(0, query(self->fd, SGPU_QUERY_VM, self->vm,
				   SGPU_VM_PTE_2M));
	}

	/* Unmapping one page in the middle splits the leaf. */
	ASSERT_EQ(0, unmap(self->fd, self->vm, VA(2) + 16 * PAGE, PAGE));
	c = cmd_fill(VA(2) + 15 * PAGE, PAGE, 0x05050505);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	c = cmd_fill(VA(2) + 17 * PAGE, size - 17 * PAGE, 0x06060606);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_EQ(5, buf[15 * PAGE]);
	EXPECT_EQ(4, buf[16 * PAGE]);
	EXPECT_EQ(6, buf[size - 1]);
	c = cmd_fill(VA(2) + 16 * PAGE, 4, 0);
	EXPECT_EQ(-EFAULT, run(self->fd, self->vm, &c, 1, NULL));
}

/*
 * The kept scratch set's block array alone (4096 blocks of 24 bytes): the
 * least a domain's set adds to its memory cgroup's "vmalloc" figure.
 */
#define SCRATCH_VMALLOC_MIN	(96 * 1024LL)

/*
 * Poll the "vmalloc" figure of memory.stat of @cg until it is at least
 * @min (@min >= 0) or at most -@min (@min < 0), for up to 20 s: the
 * kernel flushes memcg statistics every 2 s, reads in between may see old
 * values.  Return: the last value read.
 */
static long long cg_vmalloc_wait(const char *cg, long long min)
{
	long long v = -1;
	int i;

	for (i = 0; i < 200; i++) {
		v = cg_key(cg, "memory.stat", "vmalloc");
		if (v >= 0 && (min >= 0 ? v >= min : v <= -min))
			break;
		usleep(100000);
	}
	return v;
}

/*
 * What a populate allocates is charged to the memory cgroup of the
 * userptr's process, also when the GPU fault worker of a fault-mode VM
 * populates (uptr's set_active_memcg()), not to nobody: here the
 * domain's kept scratch set, a populate's one vmalloc allocation
 * (memory.stat "vmalloc").  The uptr shrinker frees it under
 * drop_caches=2 and the cgroup gets it back; an invalidation and the next
 * job make and charge it again; destroying the VM frees it.
 */
TEST_F_TIMEOUT(sgpu, memcg_scratch_charge, 300)
{
	const size_t size = 2 * TWOMEG;
	long long base, made, shrunk, again, gone;
	char path[96], pid[16], *raw, *buf, *shm;
	const char *cg = self->cg;
	struct drm_sgpu_cmd c;
	__u32 ubo, sbo;
	int ret;

	ret = cg_memory_enable();
	if (ret == -ENOENT)
		SKIP(return, "no cgroup2 memory controller (CONFIG_MEMCG)");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, cg_self(self->cg_home, sizeof(self->cg_home)));
	snprintf(path, sizeof(path), CG_ROOT "/uptr-scratch-%d", getpid());
	/* Left by a run that timed out with this pid, if any. */
	rmdir(path);
	ASSERT_EQ(0, mkdir(path, 0755));
	/* The teardown moves back out and removes it. */
	snprintf(self->cg, sizeof(self->cg), "%s", path);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, write_file(path, pid));

	/* 2 MiB aligned: a fault-mode VM's 2 MiB windows are whole. */
	raw = anon(size + TWOMEG);
	ASSERT_NE(NULL, raw);
	buf = (char *)(((uintptr_t)raw + TWOMEG - 1) & ~(TWOMEG - 1));
	pattern(buf, size, 21);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, size, self->backend,
			     &ubo));
	ASSERT_EQ(0, bo_create(self->fd, size, &sbo));
	shm = bo_mmap(self->fd, sbo, size);
	ASSERT_NE(NULL, shm);
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(2), size));
	base = cg_vmalloc_wait(cg, 0);
	ASSERT_LE(0, base);

	ASSERT_EQ(0, map(self->fd, self->vm, ubo, VA(1), size));
	c = cmd_copy(VA(1), VA(2), size);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_TRUE(check_pattern(shm, size, 21));
	made = cg_vmalloc_wait(cg, base + SCRATCH_VMALLOC_MIN);
	EXPECT_LE(base + SCRATCH_VMALLOC_MIN, made);

	ASSERT_EQ(0, write_file("/proc/sys/vm/drop_caches", "2"));
	shrunk = cg_vmalloc_wait(cg, -(made - SCRATCH_VMALLOC_MIN));
	EXPECT_GE(made - SCRATCH_VMALLOC_MIN, shrunk);

	/* New pages: the next job populates again. */
	ASSERT_EQ(0, madvise(buf, size, MADV_DONTNEED));
	pattern(buf, size, 22);
	ASSERT_EQ(0, run(self->fd, self->vm, &c, 1, NULL));
	EXPECT_TRUE(check_pattern(shm, size, 22));
	again = cg_vmalloc_wait(cg, shrunk + SCRATCH_VMALLOC_MIN);
	EXPECT_LE(shrunk + SCRATCH_VMALLOC_MIN, again);

	munmap(shm, size);
	ASSERT_EQ(0, gem_close(self->fd, sbo));
	ASSERT_EQ(0, gem_close(self->fd, ubo));
	ASSERT_EQ(0, vm_destroy(self->fd, self->vm));
	gone = cg_vmalloc_wait(cg, -(again - SCRATCH_VMALLOC_MIN));
	EXPECT_GE(again - SCRATCH_VMALLOC_MIN, gone);
	TH_LOG("memcg vmalloc: %lld, job %lld, drop_caches %lld, job %lld, VM destroyed %lld",
	       base, made, shrunk, again, gone);

	munmap(raw, size + TWOMEG);
}

/* -------------------------------------------------------------------- */

FIXTURE(bad) {
	int fd, qfd;
	__u32 vm;
	struct baseline base;
};

FIXTURE_SETUP(bad)
{
	self->qfd = sgpu_open();
	if (self->qfd < 0)
		SKIP(return, "no sgpu device (drm/sgpu.ko not loaded)");
	baseline_settle(self->qfd, &self->base);
	self->fd = sgpu_open();
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, vm_create(self->fd, SGPU_VM_MODE_FENCE, &self->vm));
}

FIXTURE_TEARDOWN(bad)
{
	if (self->qfd < 0)
		return;
	close(self->fd);
	EXPECT_EQ(-1, baseline_diff(self->qfd, &self->base));
	close(self->qfd);
}

TEST_F(bad, vm_create_destroy)
{
	struct drm_sgpu_vm_destroy d = { .vm_id = self->vm, .pad = 1 };
	__u32 vm;

	EXPECT_EQ(-EINVAL, vm_create(self->fd, 2, &vm));
	EXPECT_EQ(-EINVAL, vm_create(self->fd, ~0u, &vm));
	EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_VM_DESTROY, &d));
	EXPECT_EQ(-ENOENT, vm_destroy(self->fd, 12345));
	EXPECT_EQ(-ENOENT, vm_destroy(self->fd, 0));
}

TEST_F(bad, bo_create)
{
	struct drm_sgpu_bo_create c = { .size = PAGE, .flags = 1 };
	__u32 h;

	EXPECT_EQ(-EINVAL, bo_create(self->fd, 0, &h));
	EXPECT_EQ(-EINVAL, bo_create(self->fd, 100, &h));
	EXPECT_EQ(-EINVAL, bo_create(self->fd, 1ULL << 60, &h));
	EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_BO_CREATE, &c));
}

TEST_F(bad, userptr_create)
{
	struct drm_sgpu_userptr_create c = { };
	char *buf = anon(4 * PAGE), *ro;
	__u32 h, sbo;
	void *shm;

	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-EINVAL, userptr(self->fd, self->vm, buf, 0, 0, &h));
	EXPECT_EQ(-EINVAL, userptr(self->fd, self->vm, buf + 1, PAGE, 0, &h));
	EXPECT_EQ(-EINVAL, userptr(self->fd, self->vm, buf, PAGE + 1, 0, &h));
	EXPECT_EQ(-EINVAL, userptr(self->fd, self->vm, buf, PAGE, 1 << 5, &h));
	EXPECT_EQ(-EINVAL, userptr(self->fd, self->vm, buf, PAGE,
				   SGPU_USERPTR_BACKEND_MASK, &h));
	EXPECT_EQ(-EOVERFLOW, userptr(self->fd, self->vm,
				      (void *)(-2 * PAGE), 4 * PAGE, 0, &h));
	/* kernel addresses */
	EXPECT_EQ(-EFAULT, userptr(self->fd, self->vm,
				   (void *)0xffff888000000000ULL, PAGE, 0,
				   &h));
	/* a hole */
	EXPECT_EQ(0, munmap(buf + 2 * PAGE, PAGE));
	EXPECT_EQ(-EFAULT, userptr(self->fd, self->vm, buf, 4 * PAGE, 0, &h));
	EXPECT_EQ(-ENOENT, userptr(self->fd, 999, buf, PAGE, 0, &h));
	c.addr = (uintptr_t)buf;
	c.size = PAGE;
	c.vm_id = self->vm;
	c.pad = 1;
	EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_USERPTR_CREATE, &c));

	/* read-only memory asked for write */
	ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EACCES, userptr(self->fd, self->vm, ro, PAGE, 0, &h));

	/* VM_PFNMAP: a mmapped shmem GEM object */
	ASSERT_EQ(0, bo_create(self->fd, PAGE, &sbo));
	shm = bo_mmap(self->fd, sbo, PAGE);
	ASSERT_NE(NULL, shm);
	EXPECT_EQ(-EOPNOTSUPP, userptr(self->fd, self->vm, shm, PAGE, 0, &h));
	munmap(shm, PAGE);
}

TEST_F(bad, bind)
{
	char *buf = anon(4 * PAGE);
	__u32 ubo, sbo, vm2, ubo2;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, 4 * PAGE,
			     SGPU_USERPTR_BACKEND_PIN, &ubo));
	ASSERT_EQ(0, bo_create(self->fd, 4 * PAGE, &sbo));

	EXPECT_EQ(-EINVAL, bind_op(self->fd, self->vm, 7, sbo, 0, VA(1), PAGE,
				   0));
	EXPECT_EQ(-EINVAL, bind_op(self->fd, self->vm, SGPU_BIND_MAP, sbo, 0,
				   VA(1), PAGE, 1 << 4));
	EXPECT_EQ(-EINVAL, bind_op(self->fd, self->vm, SGPU_BIND_MAP, sbo, 0,
				   VA(1), 0, 0));
	EXPECT_EQ(-EINVAL, bind_op(self->fd, self->vm, SGPU_BIND_MAP, sbo, 0,
				   VA(1) + 1, PAGE, 0));
	EXPECT_EQ(-EINVAL, bind_op(self->fd, self->vm, SGPU_BIND_MAP, sbo, 1,
				   VA(1), PAGE, 0));
	EXPECT_EQ(-EINVAL, bind_op(self->fd, self->vm, SGPU_BIND_MAP, sbo, 0,
				   0, PAGE, 0));
	EXPECT_EQ(-EINVAL, bind_op(self->fd, self->vm, SGPU_BIND_MAP, sbo, 0,
				   SGPU_VA_END - PAGE, 2 * PAGE, 0));
	EXPECT_EQ(-EOVERFLOW, bind_op(self->fd, self->vm, SGPU_BIND_MAP, sbo,
				      0, -PAGE, 2 * PAGE, 0));
	EXPECT_EQ(-EOVERFLOW, bind_op(self->fd, self->vm, SGPU_BIND_MAP, sbo,
				      -PAGE, VA(1), 2 * PAGE, 0));
	EXPECT_EQ(-ERANGE, bind_op(self->fd, self->vm, SGPU_BIND_MAP, sbo,
				   PAGE, VA(1), 4 * PAGE, 0));
	EXPECT_EQ(-ENOENT, bind_op(self->fd, self->vm, SGPU_BIND_MAP, 9999, 0,
				   VA(1), PAGE, 0));
	EXPECT_EQ(-ENOENT, bind_op(self->fd, 999, SGPU_BIND_MAP, sbo, 0,
				   VA(1), PAGE, 0));
	EXPECT_EQ(-EINVAL, bind_op(self->fd, self->vm, SGPU_BIND_UNMAP, sbo, 0,
				   VA(1), PAGE, 0));
	EXPECT_EQ(-ENOENT, unmap(self->fd, self->vm, VA(1), PAGE));

	/* userptr of another VM */
	ASSERT_EQ(0, vm_create(self->fd, SGPU_VM_MODE_FAULT, &vm2));
	ASSERT_EQ(0, userptr(self->fd, vm2, buf, 4 * PAGE, 0, &ubo2));
	EXPECT_EQ(-EXDEV, map(self->fd, self->vm, ubo2, VA(1), PAGE));
	EXPECT_EQ(0, map(self->fd, vm2, ubo2, VA(1), PAGE));
	EXPECT_EQ(0, map(self->fd, vm2, sbo, VA(2), PAGE));

	/* populate fails: nothing stays pinned (teardown checks) */
	EXPECT_EQ(0, munmap(buf + PAGE, PAGE));
	EXPECT_EQ(-EFAULT, map(self->fd, self->vm, ubo, VA(1), 4 * PAGE));
	EXPECT_EQ(-ENOENT, unmap(self->fd, self->vm, VA(1), 4 * PAGE));
}

TEST_F(bad, exec)
{
	struct drm_sgpu_exec e = { .vm_id = self->vm };
	struct drm_sgpu_cmd c[2];
	__u64 seqno;
	__u32 sbo;

	ASSERT_EQ(0, bo_create(self->fd, PAGE, &sbo));
	ASSERT_EQ(0, map(self->fd, self->vm, sbo, VA(1), PAGE));

	EXPECT_EQ(-EINVAL, exec(self->fd, self->vm, c, 0, &seqno));
	EXPECT_EQ(-EINVAL, exec(self->fd, self->vm, c, SGPU_MAX_CMDS + 1,
				&seqno));
	EXPECT_EQ(-ENOENT, exec(self->fd, 999, c, 1, &seqno));
	e.cmds = 8;
	e.num_cmds = 1;
	EXPECT_EQ(-EFAULT, ioc(self->fd, DRM_IOCTL_SGPU_EXEC, &e));
	e.flags = 1;
	EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_EXEC, &e));

	c[0] = cmd_copy(VA(1), VA(1) + 8, 8);
	c[0].op = 99;
	EXPECT_EQ(-EINVAL, exec(self->fd, self->vm, c, 1, &seqno));
	c[0] = cmd_copy(VA(1), VA(1) + 8, 0);
	EXPECT_EQ(-EINVAL, exec(self->fd, self->vm, c, 1, &seqno));
	c[0] = cmd_copy(VA(1), -8ULL, 16);
	EXPECT_EQ(-EOVERFLOW, exec(self->fd, self->vm, c, 1, &seqno));
	c[0] = cmd_copy(VA(1), 0, 16);
	EXPECT_EQ(-EINVAL, exec(self->fd, self->vm, c, 1, &seqno));
	c[0] = cmd_fill(VA(1) + 1, 4, 0);
	EXPECT_EQ(-EINVAL, exec(self->fd, self->vm, c, 1, &seqno));
	c[0] = cmd_fill(VA(1), 4, 0);
	c[0].value = 1ULL << 40;
	EXPECT_EQ(-EINVAL, exec(self->fd, self->vm, c, 1, &seqno));
	c[0] = cmd_inc(VA(1) + 4, 1, 0);
	EXPECT_EQ(-EINVAL, exec(self->fd, self->vm, c, 1, &seqno));
	c[0] = cmd_checksum(VA(1), 8, 0);
	EXPECT_EQ(-EINVAL, exec(self->fd, self->vm, c, 1, &seqno));
	c[0] = cmd_checksum(VA(1), 8, VA(1) + 3);
	EXPECT_EQ(-EINVAL, exec(self->fd, self->vm, c, 1, &seqno));
	c[0] = cmd_copy(VA(1), VA(1) + 8, 8);
	c[0].flags = 1;
	EXPECT_EQ(-EINVAL, exec(self->fd, self->vm, c, 1, &seqno));

	/* an unmapped VA: the job fails, nothing else */
	c[0] = cmd_fill(VA(1), 8, 1);
	c[1] = cmd_copy(VA(1), VA(5), 8);
	EXPECT_EQ(-EFAULT, run(self->fd, self->vm, c, 2, NULL));
	EXPECT_LT(0, query(self->fd, SGPU_QUERY_VM, self->vm,
			   SGPU_VM_JOBS_FAILED));
}

TEST_F(bad, wait_query_migrate_export)
{
	struct drm_sgpu_wait w = { .vm_id = self->vm, .seqno = 1 };
	struct drm_sgpu_query q = { .type = 9 };
	struct drm_sgpu_migrate m = { .size = PAGE };
	struct drm_prime_handle p = { .flags = DRM_CLOEXEC };
	char *buf = anon(PAGE);
	__u32 ubo, sbo;

	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_WAIT, &w));
	w.seqno = 0;
	EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_WAIT, &w));
	w.vm_id = 999;
	EXPECT_EQ(-ENOENT, ioc(self->fd, DRM_IOCTL_SGPU_WAIT, &w));
	EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_QUERY, &q));
	q.type = SGPU_QUERY_DEVICE;
	q.id = 1;
	EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_QUERY, &q));
	q.type = SGPU_QUERY_BO;
	q.id = 999;
	EXPECT_EQ(-ENOENT, ioc(self->fd, DRM_IOCTL_SGPU_QUERY, &q));
	q.type = SGPU_QUERY_DEVICE;
	q.id = 0;
	EXPECT_EQ(0, ioc(self->fd, DRM_IOCTL_SGPU_QUERY, &q));
	EXPECT_EQ(SGPU_DEV_COUNT, q.count);

	ASSERT_EQ(0, userptr(self->fd, self->vm, buf, PAGE, 0, &ubo));
	ASSERT_EQ(0, bo_create(self->fd, PAGE, &sbo));
	m.handle = ubo;
	m.direction = 5;
	EXPECT_EQ(-EINVAL, ioc(self->fd, DRM_IOCTL_SGPU_MIGRATE, &m));
	m.direction = SGPU_MIGRATE_TO_DEVICE;
	m.offset = PAGE;
	EXPECT_EQ(-ERANGE, ioc(self->fd, DRM_IOCTL_SGPU_MIGRATE, &m));
	/* A wrapping range, as for USERPTR_CREATE and VM_BIND. */
	m.offset = -PAGE;
	EXPECT_EQ(-EOVERFLOW, ioc(self->fd, DRM_IOCTL_SGPU_MIGRATE, &m));
	m.offset = 0;
	m.handle = sbo;
	EXPECT_NE(0, ioc(self->fd, DRM_IOCTL_SGPU_MIGRATE, &m));

	/* userptr BOs cannot be exported or mmapped */
	p.handle = ubo;
	EXPECT_EQ(-EOPNOTSUPP, ioc(self->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p));
	EXPECT_EQ(NULL, bo_mmap(self->fd, ubo, PAGE));
	p.handle = sbo;
	EXPECT_EQ(0, ioc(self->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p));
	close(p.fd);
}

TEST_HARNESS_MAIN
