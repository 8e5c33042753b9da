// SPDX-License-Identifier: GPL-2.0
/*
 * uptr_failnth_test - the fault-injection sweep (the fail-nth method) over
 * every ioctl of sgpu and of /dev/uptr_test, and over the paths that run in
 * kernel threads (the GPU-fault work, drm_sched's run_job).
 *
 * For one valid call, made again and again: write N = 1, 2, 3 ... to
 * /proc/thread-self/fail-nth and make the call, so that its Nth fault
 * point fails (a slab or page allocation, a user copy, or one of the
 * project's ALLOW_ERROR_INJECTION functions listed in fail_function; see
 * docs/design.rst, "Fault injection"), until the call completes with
 * fail-nth not consumed.  After every step:
 *
 * - the call returned 0 or a documented errno (docs/uapi.rst: -ENOMEM and
 *   -EFAULT for every ioctl, plus the call's own);
 * - a failed call left nothing behind: the device's live objects, mappings
 *   and jobs, its pinned pages, the process' VmPin and uptr_pinned_total
 *   are what they were before it, and an object the call was to destroy
 *   is still usable;
 * - the same call, without injection, then succeeds, and what it made is
 *   used (a job writes through it and the CPU checks the data);
 * - after the step's teardown every counter is back to its baseline.
 *
 * Each case prints "# NAME: N points": the fault points the call reached,
 * each of which was failed once.  The guest's log scan and the run's
 * kmemleak scan catch WARNs, KASAN reports and leaks.
 *
 * fail-nth only counts the calling task's fault points: work that runs in a
 * kernel thread (the fault-mode engine servicing a GPU page fault, the
 * fence-mode engine behind drm_sched's run_job) is swept through sgpu's
 * test hook, which arms the next job the engine executes with fail-nth N.
 *
 * Copyright (c) 2026 The uptr authors
 */

#define _GNU_SOURCE
#include "kselftest_harness.h"

#include <glob.h>

#include <linux/uptr_test.h>

#include "sgpu_lib.h"

#define SZ		(64 * 1024UL)
#define MAX_POINTS	2000
#define FI		"/sys/kernel/debug/"
#define FF		FI "fail_function/"

/*
 * Our ALLOW_ERROR_INJECTION functions and the value fail_function makes
 * them return: a real failure of each (docs/design.rst).
 */
static const struct {
	const char *name;
	long retval;
} fi_funcs[] = {
	{ "uptr_pin_run",		-EFAULT },
	{ "uptr_hmm_range_fault",	-EFAULT },
	{ "uptr_dma_map_page",		-ENOMEM },
	{ "uptr_batch_alloc",		-ENOMEM },
	{ "uptr_range_init",		-ENOMEM },
	{ "sgpu_pt_alloc",		0 },	/* NULL */
	{ "sgpu_job_alloc",		0 },
	{ "sgpu_job_sched_init",	-ENOMEM },
	{ "sgpu_copy_syncs",		-ENOMEM },
	{ "sgpu_shmem_create",		-ENOMEM },
	{ "sgpu_devmem_alloc",		0 },
};

/* A number in the file @path, or -1 if it cannot be read or is empty. */
static long read_long(const char *path)
{
	char buf[32];

	if (read_file(path, buf, sizeof(buf)) || !buf[0])
		return -1;
	return strtol(buf, NULL, 0);
}

/*
 * The attributes as syzkaller sets them: every allocation may fail, also
 * the sleeping ones and order 0, nothing printed; probability 0 everywhere,
 * so that only fail-nth decides.  Return: the number of our functions in
 * fail_function's list, or -errno.
 */
static int fi_setup(void)
{
	char path[128], val[32];
	unsigned int i, n = 0;

	if (access(FF "inject", W_OK))
		return -ENOENT;
	if (write_file(FI "failslab/ignore-gfp-wait", "N") ||
	    write_file(FI "failslab/verbose", "0") ||
	    write_file(FI "failslab/probability", "0") ||
	    write_file(FI "fail_page_alloc/ignore-gfp-wait", "N") ||
	    write_file(FI "fail_page_alloc/ignore-gfp-highmem", "N") ||
	    write_file(FI "fail_page_alloc/min-order", "0") ||
	    write_file(FI "fail_page_alloc/verbose", "0") ||
	    write_file(FI "fail_page_alloc/probability", "0") ||
	    write_file(FI "fail_usercopy/verbose", "0") ||
	    write_file(FI "fail_usercopy/probability", "0") ||
	    write_file(FF "verbose", "0") ||
	    write_file(FF "probability", "0") ||
	    write_file(FF "interval", "1") ||
	    write_file(FF "space", "0") ||
	    write_file(FF "times", "-1"))
		return -EIO;
	write_file(FF "inject", "\n");
	for (i = 0; i < ARRAY_SIZE(fi_funcs); i++) {
		/* A module that is not loaded: its functions are not there. */
		if (write_file(FF "inject", fi_funcs[i].name))
			continue;
		snprintf(path, sizeof(path), FF "%s/retval", fi_funcs[i].name);
		snprintf(val, sizeof(val), "%#lx",
			 (unsigned long)fi_funcs[i].retval);
		if (write_file(path, val))
			return -EIO;
		n++;
	}
	return n;
}

static void fi_teardown(void)
{
	write_file(FF "probability", "0");
	write_file(FF "space", "0");
	write_file(FF "times", "-1");
	write_file(FF "inject", "\n");
}

/* Everything a failed call must leave as it was. */
enum {
	ST_VMS, ST_BOS, ST_UBOS, ST_MAPPINGS, ST_JOBS, ST_DEV_PINNED,
	ST_DEVMEM, ST_VMPIN, ST_PINNED_TOTAL, ST_NR
};

static const char * const st_name[ST_NR] = {
	"live VMs", "live BOs", "live userptr BOs", "live mappings",
	"live jobs", "device pinned pages", "device memory used", "VmPin",
	"uptr_pinned_total",
};

struct state {
	long long v[ST_NR];
};

FIXTURE(fn)
{
	int qfd;	/* sgpu render node for the counters, or -1 */
	int fd;		/* a file of the node, one per step */
	int ufd;	/* /dev/uptr_test, or -1 */
	int nth;	/* /proc/thread-self/fail-nth */
	int nfuncs;	/* our functions in fail_function */
	char node[32];	/* the render node's path */
	struct state base;
	/* Step state. */
	__u32 mode, backend, vm, bo, ubo, sync, ufd2;
	bool shmem;	/* MAP a shmem BO instead of a userptr BO */
	bool pin_cache;	/* a failed call may leave pins cached */
	bool devmem;	/* a failed call may leave pages moved */
	int fd2;
	__u64 seqno, uh, off, scratch;
	__u32 *buf;	/* the userptr memory, SZ */
	__u32 *shm;	/* a shmem BO's CPU mapping */
	__u32 seed;
};

static long long pinned_total(struct _test_data_fn *self)
{
	struct uptr_test_stats s;

	if (self->ufd < 0)
		return 0;
	if (ioctl(self->ufd, UPTR_TEST_STATS, &s))
		return -1;
	return s.pinned_total;
}

static void state_take(struct _test_data_fn *self, struct state *s)
{
	static const unsigned int dev[] = {
		SGPU_DEV_LIVE_VMS, SGPU_DEV_LIVE_BOS,
		SGPU_DEV_LIVE_USERPTR_BOS, SGPU_DEV_LIVE_MAPPINGS,
		SGPU_DEV_LIVE_JOBS, SGPU_DEV_PINNED_PAGES,
		SGPU_DEV_DEVMEM_USED,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dev); i++)
		s->v[i] = self->qfd >= 0 ?
			  (long long)query(self->qfd, SGPU_QUERY_DEVICE, 0,
					   dev[i]) : 0;
	s->v[ST_VMPIN] = vmpin_kb();
	s->v[ST_PINNED_TOTAL] = pinned_total(self);
}

/*
 * Index of the first counter not back to @want, or -1: polls for up to
 * 10 s, since jobs, VMs and BOs are freed by workqueues.  @skip: a mask
 * of counters not compared.
 */
static int state_diff(struct _test_data_fn *self, const struct state *want,
		      unsigned int skip, struct state *now)
{
	unsigned int i, tries;

	for (tries = 0; tries < 1000; tries++) {
		state_take(self, now);
		for (i = 0; i < ST_NR; i++)
			if (!(skip & (1u << i)) && now->v[i] != want->v[i])
				break;
		if (i == ST_NR)
			return -1;
		usleep(10000);
	}
	return i;
}

#define ASSERT_STATE(want, skip, what) do {				\
	const struct state *__w = (want);				\
	struct state __now;						\
	int __i = state_diff(self, __w, skip, &__now);			\
									\
	ASSERT_EQ(-1, __i)						\
		TH_LOG("%s: %s is %lld, was %lld", what,		\
		       st_name[__i < 0 ? 0 : __i],			\
		       __now.v[__i < 0 ? 0 : __i],			\
		       __w->v[__i < 0 ? 0 : __i]);			\
} while (0)

/* fail-nth: the Nth fault point of this thread from now on fails. */
static void nth_set(struct _test_data_fn *self, unsigned int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%u", n);

	if (pwrite(self->nth, b, len, 0) != len)
		abort();
}

/*
 * Whether the injection happened, and disarm it.  Reading fail-nth makes a
 * user copy, itself a fault point: with 1 left, it fails (-EFAULT) and
 * consumes it; the call did not reach its Nth point then either.
 */
static bool nth_fired(struct _test_data_fn *self)
{
	char b[16] = "";
	ssize_t n = pread(self->nth, b, sizeof(b) - 1, 0);

	pwrite(self->nth, "0", 1, 0);
	return n > 0 && strtoul(b, NULL, 10) == 0;
}

/* A step of a sweep: the call under test and what proves its outcome. */
struct step {
	const char *name;
	/* Prerequisites, made without injection. */
	int (*setup)(struct _test_data_fn *self);
	/* The call under test: 0 or -errno. */
	int (*call)(struct _test_data_fn *self);
	/* After a failed call: what it was to destroy is still usable. */
	int (*still)(struct _test_data_fn *self);
	/* After a successful call: use what it made (or check it is gone). */
	int (*use)(struct _test_data_fn *self);
	/* Release everything (the fixture's memory stays). */
	void (*teardown)(struct _test_data_fn *self);
	/* Errnos the call may return besides -ENOMEM and -EFAULT. */
	int errnos[4];
};

static bool errno_ok(const struct step *st, int ret)
{
	unsigned int i;

	/* 0: the call absorbed the failure (a fallback, a retry). */
	if (!ret || ret == -ENOMEM || ret == -EFAULT)
		return true;
	for (i = 0; i < ARRAY_SIZE(st->errnos); i++)
		if (st->errnos[i] && ret == st->errnos[i])
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Helpers for the steps.  Each returns 0 or a negative errno/status. */

static int raw(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? -errno : 0;
}

static int fill_check(struct _test_data_fn *self, __u32 vm, __u64 va,
		      __u32 *cpu)
{
	struct drm_sgpu_cmd c = cmd_fill(va, SZ, ++self->seed);
	unsigned int i;
	int ret;

	ret = run(self->fd, vm, &c, 1, NULL);
	if (ret)
		return ret;
	for (i = 0; i < SZ / 4; i++)
		if (cpu[i] != self->seed)
			return -EILSEQ;
	return 0;
}

/* A VM works: a shmem BO mapped in it is filled by a job. */
static int use_vm(struct _test_data_fn *self, __u32 vm)
{
	__u32 bo, *p;
	int ret;

	ret = bo_create(self->fd, SZ, &bo);
	if (ret)
		return ret;
	p = bo_mmap(self->fd, bo, SZ);
	ret = p ? map(self->fd, vm, bo, VA(3), SZ) : -ENOMEM;
	if (!ret)
		ret = fill_check(self, vm, VA(3), p);
	if (!ret)
		ret = unmap(self->fd, vm, VA(3), SZ);
	if (p)
		munmap(p, SZ);
	gem_close(self->fd, bo);
	return ret;
}

static void release(struct _test_data_fn *self)
{
	if (self->sync)
		syncobj_destroy(self->fd, self->sync);
	if (self->shm)
		munmap(self->shm, SZ);
	if (self->ubo)
		gem_close(self->fd, self->ubo);
	if (self->bo)
		gem_close(self->fd, self->bo);
	if (self->vm)
		vm_destroy(self->fd, self->vm);
	if (self->fd2 >= 0)
		close(self->fd2);
	self->fd2 = -1;
	self->sync = 0;
	self->ubo = 0;
	self->bo = 0;
	self->vm = 0;
	self->shm = NULL;
	/* Bring back what MIGRATE moved to device memory. */
	memset(self->buf, 0, SZ);
}

static int mk_vm(struct _test_data_fn *self)
{
	return vm_create(self->fd, self->mode, &self->vm);
}

static int mk_ubo(struct _test_data_fn *self)
{
	int ret = mk_vm(self);

	if (!ret)
		ret = userptr(self->fd, self->vm, self->buf, SZ,
			      self->backend, &self->ubo);
	return ret;
}

static int mk_shmem(struct _test_data_fn *self)
{
	int ret = mk_vm(self);

	if (!ret)
		ret = bo_create(self->fd, SZ, &self->bo);
	if (!ret) {
		self->shm = bo_mmap(self->fd, self->bo, SZ);
		if (!self->shm)
			ret = -ENOMEM;
	}
	return ret;
}

/* The BO of the step (userptr or shmem) and its CPU view. */
static __u32 step_bo(struct _test_data_fn *self)
{
	return self->shmem ? self->bo : self->ubo;
}

static __u32 *step_cpu(struct _test_data_fn *self)
{
	return self->shmem ? self->shm : self->buf;
}

static int mk_bo(struct _test_data_fn *self)
{
	return self->shmem ? mk_shmem(self) : mk_ubo(self);
}

static int mk_mapped(struct _test_data_fn *self)
{
	int ret = mk_bo(self);

	if (!ret)
		ret = map(self->fd, self->vm, step_bo(self), VA(2), SZ);
	return ret;
}

static int use_mapped(struct _test_data_fn *self)
{
	return fill_check(self, self->vm, VA(2), step_cpu(self));
}

/* ------------------------------------------------------------------ */
/* sgpu steps. */

static int call_vm_create(struct _test_data_fn *self)
{
	struct drm_sgpu_vm_create c = { .flags = self->mode };
	int ret = raw(self->fd, DRM_IOCTL_SGPU_VM_CREATE, &c);

	if (!ret)
		self->vm = c.vm_id;
	return ret;
}

static int use_vm_self(struct _test_data_fn *self)
{
	return use_vm(self, self->vm);
}

static int setup_none(struct _test_data_fn *self)
{
	return 0;
}

static int call_vm_destroy(struct _test_data_fn *self)
{
	struct drm_sgpu_vm_destroy d = { .vm_id = self->vm };

	return raw(self->fd, DRM_IOCTL_SGPU_VM_DESTROY, &d);
}

static int use_vm_gone(struct _test_data_fn *self)
{
	int ret = vm_destroy(self->fd, self->vm);

	self->vm = 0;
	return ret == -ENOENT ? 0 : -EEXIST;
}

static int call_bo_create(struct _test_data_fn *self)
{
	struct drm_sgpu_bo_create c = { .size = SZ };
	int ret = raw(self->fd, DRM_IOCTL_SGPU_BO_CREATE, &c);

	if (!ret)
		self->bo = c.handle;
	return ret;
}

static int use_bo(struct _test_data_fn *self)
{
	int ret;

	self->shm = bo_mmap(self->fd, self->bo, SZ);
	if (!self->shm)
		return -ENOMEM;
	ret = map(self->fd, self->vm, self->bo, VA(2), SZ);
	return ret ?: fill_check(self, self->vm, VA(2), self->shm);
}

static int setup_bo(struct _test_data_fn *self)
{
	int ret = mk_vm(self);

	return ret ?: bo_create(self->fd, SZ, &self->bo);
}

static int call_mmap_offset(struct _test_data_fn *self)
{
	struct drm_sgpu_bo_mmap_offset o = { .handle = self->bo };
	int ret = raw(self->fd, DRM_IOCTL_SGPU_BO_MMAP_OFFSET, &o);

	self->off = o.offset;
	return ret;
}

static int use_mmap_offset(struct _test_data_fn *self)
{
	void *p = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, self->off);
	int ret;

	if (p == MAP_FAILED)
		return -errno;
	self->shm = p;
	ret = map(self->fd, self->vm, self->bo, VA(2), SZ);
	return ret ?: fill_check(self, self->vm, VA(2), self->shm);
}

static int call_userptr(struct _test_data_fn *self)
{
	struct drm_sgpu_userptr_create c = {
		.addr = (uintptr_t)self->buf,
		.size = SZ,
		.vm_id = self->vm,
		.flags = self->backend,
	};
	int ret = raw(self->fd, DRM_IOCTL_SGPU_USERPTR_CREATE, &c);

	if (!ret)
		self->ubo = c.handle;
	return ret;
}

static int use_ubo(struct _test_data_fn *self)
{
	int ret = map(self->fd, self->vm, self->ubo, VA(2), SZ);

	return ret ?: use_mapped(self);
}

static int setup_bind(struct _test_data_fn *self)
{
	int ret = mk_bo(self);

	if (!ret) {
		self->sync = syncobj_create(self->fd);
		if (!self->sync)
			ret = -ENOMEM;
	}
	return ret;
}

static int call_bind_map(struct _test_data_fn *self)
{
	struct drm_sgpu_vm_bind b = {
		.vm_id = self->vm,
		.op = SGPU_BIND_MAP,
		.handle = step_bo(self),
		.addr = VA(2),
		.range = SZ,
		.out_sync = self->sync,
	};

	return raw(self->fd, DRM_IOCTL_SGPU_VM_BIND, &b);
}

static int use_bound(struct _test_data_fn *self)
{
	int ret = syncobj_wait(self->fd, self->sync);

	return ret ?: use_mapped(self);
}

static int setup_unbind(struct _test_data_fn *self)
{
	int ret = setup_bind(self);

	return ret ?: map(self->fd, self->vm, step_bo(self), VA(2), SZ);
}

static int call_bind_unmap(struct _test_data_fn *self)
{
	struct drm_sgpu_vm_bind b = {
		.vm_id = self->vm,
		.op = SGPU_BIND_UNMAP,
		.addr = VA(2),
		.range = SZ,
		.out_sync = self->sync,
	};

	return raw(self->fd, DRM_IOCTL_SGPU_VM_BIND, &b);
}

/* After the UNMAP: a job on the range fails, the mapping is gone. */
static int use_unbound(struct _test_data_fn *self)
{
	struct drm_sgpu_cmd c = cmd_fill(VA(2), SZ, 1);
	int ret = syncobj_wait(self->fd, self->sync);

	if (ret)
		return ret;
	ret = run(self->fd, self->vm, &c, 1, NULL);
	if (ret != -EFAULT)
		return -EEXIST;
	return query(self->fd, SGPU_QUERY_BO, step_bo(self),
		     SGPU_BO_MAPPINGS) ? -EEXIST : 0;
}

static int call_exec(struct _test_data_fn *self)
{
	struct drm_sgpu_cmd c = cmd_fill(VA(2), SZ, ++self->seed);
	struct drm_sgpu_exec e = {
		.vm_id = self->vm,
		.cmds = (uintptr_t)&c,
		.num_cmds = 1,
		.out_sync = self->mode == SGPU_VM_MODE_FENCE ? self->sync : 0,
	};
	int ret = raw(self->fd, DRM_IOCTL_SGPU_EXEC, &e);

	self->seqno = e.seqno;
	return ret;
}

static int use_exec(struct _test_data_fn *self)
{
	struct drm_sgpu_wait w;
	__u32 *cpu = step_cpu(self);
	unsigned int i;
	int ret;

	if (self->mode == SGPU_VM_MODE_FENCE) {
		ret = syncobj_wait(self->fd, self->sync);
		if (ret)
			return ret;
	}
	ret = wait_job(self->fd, self->vm, self->seqno, &w);
	if (ret || w.status)
		return ret ?: w.status;
	for (i = 0; i < SZ / 4; i++)
		if (cpu[i] != self->seed)
			return -EILSEQ;
	return 0;
}

static int setup_wait(struct _test_data_fn *self)
{
	int ret = setup_unbind(self);

	return ret ?: call_exec(self);
}

static int call_wait(struct _test_data_fn *self)
{
	struct drm_sgpu_wait w = {
		.vm_id = self->vm,
		.seqno = self->seqno,
		.timeout_ns = WAIT_NS,
	};
	int ret = raw(self->fd, DRM_IOCTL_SGPU_WAIT, &w);

	return ret ?: w.status;
}

static int use_waited(struct _test_data_fn *self)
{
	return use_exec(self);
}

static int setup_migrate(struct _test_data_fn *self)
{
	if (!query(self->fd, SGPU_QUERY_DEVICE, 0, SGPU_DEV_DEVMEM_PAGES))
		return -EOPNOTSUPP;
	pattern(self->buf, SZ, ++self->seed);
	return mk_mapped(self);
}

static int call_migrate(struct _test_data_fn *self, __u32 dir)
{
	struct drm_sgpu_migrate m = {
		.handle = self->ubo,
		.direction = dir,
		.size = SZ,
	};
	int ret = raw(self->fd, DRM_IOCTL_SGPU_MIGRATE, &m);

	self->scratch = m.migrated;
	return ret;
}

static int call_migrate_dev(struct _test_data_fn *self)
{
	return call_migrate(self, SGPU_MIGRATE_TO_DEVICE);
}

/* The data survived the move, for the engine and for the CPU. */
static int use_migrated(struct _test_data_fn *self)
{
	__u64 *res = (__u64 *)(self->buf + SZ / 4 - 2);
	__u64 sum = fnv1a(self->buf, SZ - 8);
	struct drm_sgpu_cmd c = cmd_checksum(VA(2), SZ - 8, VA(2) + SZ - 8);
	int ret = run(self->fd, self->vm, &c, 1, NULL);

	if (ret)
		return ret;
	if (*res != sum)
		return -EILSEQ;
	return check_pattern(self->buf, SZ - 8, self->seed) ? 0 : -EILSEQ;
}

static int setup_migrate_sys(struct _test_data_fn *self)
{
	int ret = setup_migrate(self);

	if (!ret) {
		lru_drain_all(self->buf, SZ);
		ret = call_migrate(self, SGPU_MIGRATE_TO_DEVICE);
	}
	return ret;
}

static int call_migrate_sys(struct _test_data_fn *self)
{
	return call_migrate(self, SGPU_MIGRATE_TO_SYSTEM);
}

static int call_query(struct _test_data_fn *self)
{
	__u64 v[SGPU_VM_COUNT] = { };
	struct drm_sgpu_query q = {
		.type = SGPU_QUERY_VM,
		.id = self->vm,
		.values = (uintptr_t)v,
		.count = SGPU_VM_COUNT,
	};
	int ret = raw(self->fd, DRM_IOCTL_SGPU_QUERY, &q);

	self->scratch = v[SGPU_VM_MODE];
	return ret;
}

static int use_query(struct _test_data_fn *self)
{
	return self->scratch == self->mode ? 0 : -EILSEQ;
}

static int call_gem_close(struct _test_data_fn *self)
{
	struct drm_gem_close c = { .handle = self->bo };

	return raw(self->fd, DRM_IOCTL_GEM_CLOSE, &c);
}

static int still_bo(struct _test_data_fn *self)
{
	int ret = use_bo(self);

	munmap(self->shm, SZ);
	self->shm = NULL;
	return ret ?: unmap(self->fd, self->vm, VA(2), SZ);
}

static int use_bo_gone(struct _test_data_fn *self)
{
	int ret = gem_close(self->fd, self->bo);

	self->bo = 0;
	return ret == -EINVAL ? 0 : -EEXIST;
}

static int call_syncobj_create(struct _test_data_fn *self)
{
	struct drm_syncobj_create c = { };
	int ret = raw(self->fd, DRM_IOCTL_SYNCOBJ_CREATE, &c);

	if (!ret)
		self->sync = c.handle;
	return ret;
}

/* The syncobj receives a bind's fence. */
static int use_syncobj(struct _test_data_fn *self)
{
	int ret = call_bind_map(self);

	return ret ?: use_bound(self);
}

static int call_syncobj_destroy(struct _test_data_fn *self)
{
	struct drm_syncobj_destroy d = { .handle = self->sync };

	return raw(self->fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d);
}

static int still_syncobj(struct _test_data_fn *self)
{
	int ret = use_syncobj(self);

	return ret ?: unmap(self->fd, self->vm, VA(2), SZ);
}

static int use_syncobj_gone(struct _test_data_fn *self)
{
	struct drm_syncobj_destroy d = { .handle = self->sync };
	int ret = raw(self->fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d);

	self->sync = 0;
	return ret == -EINVAL ? 0 : -EEXIST;
}

static int setup_syncobj_wait(struct _test_data_fn *self)
{
	int ret = setup_bind(self);

	return ret ?: call_bind_map(self);
}

static int call_syncobj_wait(struct _test_data_fn *self)
{
	struct drm_syncobj_wait w = {
		.handles = (uintptr_t)&self->sync,
		.count_handles = 1,
		.timeout_nsec = INT64_MAX,
	};

	return raw(self->fd, DRM_IOCTL_SYNCOBJ_WAIT, &w);
}

static int call_open(struct _test_data_fn *self)
{
	self->fd2 = open(self->node, O_RDWR | O_CLOEXEC);
	return self->fd2 < 0 ? -errno : 0;
}

static int use_open(struct _test_data_fn *self)
{
	__u32 vm;
	int ret = vm_create(self->fd2, SGPU_VM_MODE_FENCE, &vm);

	return ret ?: vm_destroy(self->fd2, vm);
}

static void teardown_release(struct _test_data_fn *self)
{
	release(self);
}

/* ------------------------------------------------------------------ */
/* /dev/uptr_test steps. */

static int ut_create(struct _test_data_fn *self, int fd)
{
	struct uptr_test_create c = {
		.addr = (uintptr_t)self->buf,
		.size = SZ,
		.backend = self->backend,
	};
	int ret = raw(fd, UPTR_TEST_CREATE, &c);

	if (!ret)
		self->uh = c.handle;
	return ret;
}

static int ut_setup(struct _test_data_fn *self)
{
	if (self->ufd < 0)
		return -EOPNOTSUPP;
	return 0;
}

static int ut_setup_range(struct _test_data_fn *self)
{
	return ut_setup(self) ?: ut_create(self, self->ufd);
}

static int ut_setup_populated(struct _test_data_fn *self)
{
	return ut_setup_range(self) ?:
	       uptr_cmd(self->ufd, UPTR_TEST_POPULATE, self->uh, self->buf, SZ,
			UPTR_TEST_POPULATE_WRITE, NULL, NULL);
}

static void ut_teardown(struct _test_data_fn *self)
{
	if (self->uh)
		uptr_cmd(self->ufd, UPTR_TEST_DESTROY, self->uh, NULL, 0, 0,
			 NULL, NULL);
	self->uh = 0;
	release(self);
}

/* The range mirrors the memory: a device write lands in it. */
static int ut_use_range(struct _test_data_fn *self, int fd)
{
	__u32 *src = malloc(SZ);
	int ret;

	if (!src)
		return -ENOMEM;
	pattern(src, SZ, ++self->seed);
	ret = uptr_cmd(fd, UPTR_TEST_WRITE, self->uh, self->buf, SZ,
		       UPTR_TEST_RW_POPULATE, src, NULL);
	if (!ret && !check_pattern(self->buf, SZ, self->seed))
		ret = -EILSEQ;
	free(src);
	return ret;
}

static int ut_use(struct _test_data_fn *self)
{
	return ut_use_range(self, self->ufd);
}

static int ut_call_open(struct _test_data_fn *self)
{
	self->fd2 = open("/dev/uptr_test", O_RDWR | O_CLOEXEC);
	return self->fd2 < 0 ? -errno : 0;
}

static int ut_use_open(struct _test_data_fn *self)
{
	int ret = ut_create(self, self->fd2);

	ret = ret ?: ut_use_range(self, self->fd2);
	self->uh = 0;	/* destroyed with the file */
	return ret;
}

static int ut_call_create(struct _test_data_fn *self)
{
	return ut_create(self, self->ufd);
}

static int ut_call_destroy(struct _test_data_fn *self)
{
	return uptr_cmd(self->ufd, UPTR_TEST_DESTROY, self->uh, NULL, 0, 0,
			NULL, NULL);
}

static int ut_use_gone(struct _test_data_fn *self)
{
	int ret = ut_call_destroy(self);

	self->uh = 0;
	return ret == -ENOENT ? 0 : -EEXIST;
}

/* Every entry valid, and the device reads what the CPU wrote. */
static int ut_use_populated(struct _test_data_fn *self)
{
	__u32 *dst = malloc(SZ);
	struct uptr_test_cmd c = { };
	int ret;

	if (!dst)
		return -ENOMEM;
	pattern(self->buf, SZ, ++self->seed);
	ret = uptr_cmd(self->ufd, UPTR_TEST_READ, self->uh, self->buf, SZ, 0,
		       dst, &c);
	if (!ret &&
	    (c.npages != SZ / PAGE || !check_pattern(dst, SZ, self->seed)))
		ret = -EILSEQ;
	free(dst);
	return ret;
}

static int ut_call_populate(struct _test_data_fn *self)
{
	return uptr_cmd(self->ufd, UPTR_TEST_POPULATE, self->uh, self->buf, SZ,
			UPTR_TEST_POPULATE_WRITE, NULL, NULL);
}

static int ut_call_populate_lock(struct _test_data_fn *self)
{
	return uptr_cmd(self->ufd, UPTR_TEST_POPULATE, self->uh, self->buf, SZ,
			UPTR_TEST_POPULATE_WRITE | UPTR_TEST_POPULATE_LOCK,
			NULL, NULL);
}

static int ut_call_fault(struct _test_data_fn *self)
{
	return uptr_cmd(self->ufd, UPTR_TEST_FAULT, self->uh,
			(char *)self->buf + 5 * PAGE + 8, 0,
			UPTR_TEST_POPULATE_WRITE, NULL, NULL);
}

static int ut_use_faulted(struct _test_data_fn *self)
{
	__u64 e[SZ / PAGE];
	int ret = uptr_cmd(self->ufd, UPTR_TEST_ENTRIES, self->uh, self->buf,
			   SZ, 0, e, NULL);

	if (ret)
		return ret;
	if (!(e[5] & UPTR_TEST_ENTRY_VALID) || !(e[5] & UPTR_TEST_ENTRY_WRITE))
		return -EILSEQ;
	return ut_use(self);
}

/*
 * The user buffers of WRITE, READ and ENTRIES, written by the setup: a call
 * does nothing but its ioctl while fail-nth is armed (a page fault of ours
 * would count as one of its points).
 */
static __u32 ut_src[SZ / 4], ut_dst[SZ / 4];
static __u64 ut_ent[SZ / PAGE];

static int ut_setup_rw(struct _test_data_fn *self)
{
	pattern(ut_src, SZ, self->seed + 1000);
	pattern(self->buf, SZ, self->seed + 2000);
	memset(ut_dst, 0, sizeof(ut_dst));
	return ut_setup_range(self);
}

static int ut_call_write(struct _test_data_fn *self)
{
	return uptr_cmd(self->ufd, UPTR_TEST_WRITE, self->uh, self->buf, SZ,
			UPTR_TEST_RW_POPULATE, ut_src, NULL);
}

static int ut_use_written(struct _test_data_fn *self)
{
	return check_pattern(self->buf, SZ, self->seed + 1000) ? 0 : -EILSEQ;
}

static int ut_call_read(struct _test_data_fn *self)
{
	return uptr_cmd(self->ufd, UPTR_TEST_READ, self->uh, self->buf, SZ,
			UPTR_TEST_RW_POPULATE, ut_dst, NULL);
}

static int ut_use_read(struct _test_data_fn *self)
{
	if (!check_pattern(ut_dst, SZ, self->seed + 2000))
		return -EILSEQ;
	return ut_use_populated(self);
}

static int ut_setup_entries(struct _test_data_fn *self)
{
	memset(ut_ent, 0, sizeof(ut_ent));
	return ut_setup_populated(self);
}

static int ut_call_entries(struct _test_data_fn *self)
{
	struct uptr_test_cmd c = { };
	int ret = uptr_cmd(self->ufd, UPTR_TEST_ENTRIES, self->uh, self->buf,
			   SZ, 0, ut_ent, &c);

	self->scratch = c.npages;
	return ret;
}

static int ut_use_entries(struct _test_data_fn *self)
{
	unsigned int i;

	if (self->scratch != SZ / PAGE)
		return -EILSEQ;
	for (i = 0; i < SZ / PAGE; i++)
		if (!(ut_ent[i] & UPTR_TEST_ENTRY_VALID))
			return -EILSEQ;
	return ut_use_populated(self);
}

static int ut_call_stats(struct _test_data_fn *self)
{
	struct uptr_test_stats s;
	int ret = raw(self->ufd, UPTR_TEST_STATS, &s);

	return ret ?: (s.stats[UPTR_TEST_STAT_PINNED] ==
		       (self->backend == UPTR_TEST_BACKEND_PIN ? SZ / PAGE : 0) ?
		       0 : -EILSEQ);
}

/* ------------------------------------------------------------------ */

/*
 * Each step on a file of its own: what a call made and could not report
 * (DRM copies an ioctl's result out after the handler succeeded) is
 * released with the file, and the end of the step proves that.
 */
static int step_open(struct _test_data_fn *self)
{
	if (self->qfd < 0)
		return 0;
	self->fd = open(self->node, O_RDWR | O_CLOEXEC);
	return self->fd < 0 ? -errno : 0;
}

static void step_close(struct _test_data_fn *self)
{
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
}

FIXTURE_SETUP(fn)
{
	self->fd = -1;
	self->fd2 = -1;
	self->ufd = open("/dev/uptr_test", O_RDWR | O_CLOEXEC);
	self->qfd = sgpu_open_node(self->node, sizeof(self->node));
	self->nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (self->nth < 0)
		SKIP(return, "no fail-nth (CONFIG_FAULT_INJECTION)");
	self->nfuncs = fi_setup();
	if (self->nfuncs < 0)
		SKIP(return, "no fail_function (CONFIG_FAIL_FUNCTION)");
	self->mode = SGPU_VM_MODE_FENCE;
	self->backend = SGPU_USERPTR_BACKEND_PIN;
	self->buf = anon(SZ);
	ASSERT_NE(NULL, self->buf);
	memset(self->buf, 0, SZ);
	if (self->qfd >= 0)
		baseline_settle(self->qfd, &(struct baseline){ });
	state_take(self, &self->base);
}

FIXTURE_TEARDOWN(fn)
{
	if (self->nth < 0 || self->nfuncs < 0)
		return;
	fi_teardown();
	/* What a failed assertion left behind goes with its files. */
	if (self->uh && self->ufd >= 0)
		uptr_cmd(self->ufd, UPTR_TEST_DESTROY, self->uh, NULL, 0, 0,
			 NULL, NULL);
	if (self->fd2 >= 0)
		close(self->fd2);
	step_close(self);
	ASSERT_STATE(&self->base, 0, "at the end");
	if (self->qfd >= 0)
		close(self->qfd);
	if (self->ufd >= 0)
		close(self->ufd);
	close(self->nth);
}

/*
 * Sweep @st: fail its fault points one at a time, N = 1, 2, ..., until the
 * call completes without reaching point N.
 */
static void sweep(struct __test_metadata *_metadata, struct _test_data_fn *self,
		  const struct step *st)
{
	unsigned int n, failed = 0, skip;
	long long t0 = now_ms();
	struct state pre;
	bool fired;
	int ret;

	ASSERT_EQ(0, step_open(self));
	ret = st->setup(self);
	st->teardown(self);
	step_close(self);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "%s: not available here", st->name);
	ASSERT_EQ(0, ret) TH_LOG("%s: setup", st->name);

	skip = (self->pin_cache ? (1u << ST_DEV_PINNED | 1u << ST_VMPIN |
				   1u << ST_PINNED_TOTAL) : 0) |
	       (self->devmem ? 1u << ST_DEVMEM : 0);
	for (n = 1; n <= MAX_POINTS; n++) {
		ASSERT_EQ(0, step_open(self));
		ASSERT_EQ(0, st->setup(self)) TH_LOG("%s: setup", st->name);
		/* The setup's jobs are freed by workqueues: let them go. */
		state_diff(self, &self->base, ~(1u << ST_JOBS), &pre);
		state_take(self, &pre);
		nth_set(self, n);
		ret = st->call(self);
		fired = nth_fired(self);
		if (!fired) {
			ASSERT_EQ(0, ret)
				TH_LOG("%s: without injection: %d", st->name,
				       ret);
		} else {
			ASSERT_TRUE(errno_ok(st, ret))
				TH_LOG("%s: point %u: undocumented errno %d",
				       st->name, n, ret);
		}
		if (ret) {
			unsigned int made = 0;
			struct state now;

			failed++;
			/*
			 * -EFAULT from DRM's copy of the result to user
			 * space: the object exists, unreported, until the
			 * file is closed (checked at the end of the step).
			 */
			if (ret == -EFAULT)
				made = 1u << ST_VMS | 1u << ST_BOS |
				       1u << ST_UBOS;
			ASSERT_STATE(&pre, skip | made, st->name);
			state_take(self, &now);
			if (now.v[ST_DEV_PINNED] != pre.v[ST_DEV_PINNED])
				printf("# %s: point %u (%d): %lld pins cached\n",
				       st->name, n, ret,
				       now.v[ST_DEV_PINNED] -
				       pre.v[ST_DEV_PINNED]);
			if (made && memcmp(&now.v[ST_VMS], &pre.v[ST_VMS],
					   3 * sizeof(now.v[0])))
				printf("# %s: point %u: made, not reported\n",
				       st->name, n);
			if (st->still && st->still(self)) {
				/*
				 * DRM's SYNCOBJ_DESTROY is _IOWR: -EFAULT
				 * from the copy of its result, after the
				 * handler destroyed the object.
				 */
				ASSERT_EQ(-EFAULT, ret)
					TH_LOG("%s: point %u (%d): not usable",
					       st->name, n, ret);
				printf("# %s: point %u: done, not reported\n",
				       st->name, n);
			} else {
				/* A following valid call succeeds. */
				ret = st->call(self);
				ASSERT_EQ(0, ret)
					TH_LOG("%s: point %u: the next call: %d",
					       st->name, n, ret);
			}
		}
		ret = st->use(self);
		ASSERT_EQ(0, ret)
			TH_LOG("%s: point %u: using the result: %d", st->name,
			       n, ret);
		st->teardown(self);
		step_close(self);
		ASSERT_STATE(&self->base, 0, st->name);
		if (!fired)
			break;
	}
	ASSERT_LE(n, MAX_POINTS);
	/* TAP comment, parsed by the issue note. */
	printf("# %s: %u points (%u failed the call, %u absorbed), %lld ms\n",
	       st->name, n - 1, failed, n - 1 - failed, now_ms() - t0);
	fflush(stdout);
}

#define STEP(_name, _setup, _call, _still, _use, _teardown, ...)	\
	((const struct step){ .name = _name, .setup = _setup,		\
			      .call = _call, .still = _still,		\
			      .use = _use, .teardown = _teardown,	\
			      .errnos = { __VA_ARGS__ } })

#define FENCE	SGPU_VM_MODE_FENCE
#define FAULTM	SGPU_VM_MODE_FAULT
#define PIN	SGPU_USERPTR_BACKEND_PIN
#define HMM	SGPU_USERPTR_BACKEND_FAULT

TEST_F_TIMEOUT(fn, sgpu_open, 600)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	sweep(_metadata, self, &STEP("open", setup_none, call_open, NULL,
				     use_open, teardown_release));
}

TEST_F_TIMEOUT(fn, vm_create, 600)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	self->mode = FENCE;
	sweep(_metadata, self, &STEP("VM_CREATE(fence)", setup_none,
				     call_vm_create, NULL, use_vm_self,
				     teardown_release));
	self->mode = FAULTM;
	sweep(_metadata, self, &STEP("VM_CREATE(fault)", setup_none,
				     call_vm_create, NULL, use_vm_self,
				     teardown_release));
}

TEST_F_TIMEOUT(fn, vm_destroy, 600)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	self->mode = FENCE;
	self->backend = PIN;
	sweep(_metadata, self, &STEP("VM_DESTROY", mk_mapped, call_vm_destroy,
				     use_vm_self, use_vm_gone,
				     teardown_release));
}

TEST_F_TIMEOUT(fn, bo_create, 600)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	sweep(_metadata, self, &STEP("BO_CREATE", mk_vm, call_bo_create, NULL,
				     use_bo, teardown_release));
}

/*
 * drm_gem_shmem_create() fails with -ENOSPC when shmem cannot allocate the
 * BO's inode (new_inode() failing is -ENOSPC in shmem), found by the sweep
 * above at whichever point that allocation was.  BO_CREATE documents
 * -ENOMEM: fail the helper with -ENOSPC at its point, deterministically.
 */
TEST_F_TIMEOUT(fn, bo_create_enospc, 600)
{
	char val[32];

	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	snprintf(val, sizeof(val), "%#lx", (unsigned long)-ENOSPC);
	if (write_file(FF "sgpu_shmem_create/retval", val))
		SKIP(return, "sgpu_shmem_create not in fail_function");
	sweep(_metadata, self, &STEP("BO_CREATE(-ENOSPC)", mk_vm,
				     call_bo_create, NULL, use_bo,
				     teardown_release));
}

TEST_F_TIMEOUT(fn, bo_mmap_offset, 600)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	sweep(_metadata, self, &STEP("BO_MMAP_OFFSET", setup_bo,
				     call_mmap_offset, NULL, use_mmap_offset,
				     teardown_release));
}

TEST_F_TIMEOUT(fn, userptr_create, 600)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	self->mode = FENCE;
	self->backend = PIN;
	sweep(_metadata, self, &STEP("USERPTR_CREATE(pin)", mk_vm,
				     call_userptr, NULL, use_ubo,
				     teardown_release));
	self->backend = HMM;
	sweep(_metadata, self, &STEP("USERPTR_CREATE(fault)", mk_vm,
				     call_userptr, NULL, use_ubo,
				     teardown_release));
}

static void sweep_binds(struct __test_metadata *_metadata,
			struct _test_data_fn *self, const char *what,
			bool unmap)
{
	char map_name[64], unmap_name[64];

	snprintf(map_name, sizeof(map_name), "VM_BIND(MAP,%s)", what);
	snprintf(unmap_name, sizeof(unmap_name), "VM_BIND(UNMAP,%s)", what);
	/*
	 * A fence-mode MAP populates the userptr BO before it can fail:
	 * the pins stay in the BO's registration cache (docs/uapi.rst),
	 * released with the BO, as the end of each step checks.
	 */
	self->pin_cache = self->mode == FENCE && !self->shmem;
	sweep(_metadata, self, &STEP(map_name, setup_bind, call_bind_map,
				     NULL, use_bound, teardown_release,
				     -EINTR, -EBUSY));
	if (unmap)
		sweep(_metadata, self, &STEP(unmap_name, setup_unbind,
					     call_bind_unmap, use_mapped,
					     use_unbound, teardown_release));
	self->pin_cache = false;
}

TEST_F_TIMEOUT(fn, vm_bind, 1200)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	self->mode = FENCE;
	/*
	 * UNMAP takes the same path whatever the BO; a fault-mode MAP
	 * populates nothing, whatever the backend.
	 */
	self->shmem = true;
	sweep_binds(_metadata, self, "fence,shmem", true);
	self->shmem = false;
	self->backend = PIN;
	sweep_binds(_metadata, self, "fence,pin", false);
	self->backend = HMM;
	sweep_binds(_metadata, self, "fence,fault", false);
	self->mode = FAULTM;
	sweep_binds(_metadata, self, "fault,fault", true);
}

static void sweep_exec(struct __test_metadata *_metadata,
		       struct _test_data_fn *self, const char *what)
{
	char exec_name[64], wait_name[64];

	snprintf(exec_name, sizeof(exec_name), "EXEC(%s)", what);
	snprintf(wait_name, sizeof(wait_name), "WAIT(%s)", what);
	/*
	 * Fence mode populates before it can fail; and a job that was
	 * submitted and not reported (-EFAULT from the copy of EXEC's
	 * result) runs, and populates in fault mode.
	 */
	self->pin_cache = true;
	sweep(_metadata, self, &STEP(exec_name, setup_unbind, call_exec, NULL,
				     use_exec, teardown_release,
				     -EINTR, -EBUSY));
	self->pin_cache = false;
	sweep(_metadata, self, &STEP(wait_name, setup_wait, call_wait, NULL,
				     use_waited, teardown_release));
}

TEST_F_TIMEOUT(fn, exec_wait, 1200)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	self->mode = FENCE;
	self->backend = PIN;
	sweep_exec(_metadata, self, "fence,pin");
	self->backend = HMM;
	sweep_exec(_metadata, self, "fence,fault");
	self->mode = FAULTM;
	self->backend = PIN;
	sweep_exec(_metadata, self, "fault,pin");
	self->backend = HMM;
	sweep_exec(_metadata, self, "fault,fault");
}

TEST_F_TIMEOUT(fn, migrate, 900)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	self->mode = FAULTM;
	self->backend = HMM;
	/* MIGRATE keeps what it moved before a failure (docs/uapi.rst). */
	self->devmem = true;
	sweep(_metadata, self, &STEP("MIGRATE(to device)", setup_migrate,
				     call_migrate_dev, NULL, use_migrated,
				     teardown_release, -EINTR));
	sweep(_metadata, self, &STEP("MIGRATE(to system)", setup_migrate_sys,
				     call_migrate_sys, NULL, use_migrated,
				     teardown_release, -EINTR));
}

TEST_F_TIMEOUT(fn, query, 600)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	self->mode = FAULTM;
	sweep(_metadata, self, &STEP("QUERY", mk_vm, call_query, NULL,
				     use_query, teardown_release));
}

TEST_F_TIMEOUT(fn, gem_syncobj, 900)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	self->mode = FENCE;
	self->shmem = true;
	sweep(_metadata, self, &STEP("GEM_CLOSE", setup_bo, call_gem_close,
				     still_bo, use_bo_gone, teardown_release));
	sweep(_metadata, self, &STEP("SYNCOBJ_CREATE", mk_bo,
				     call_syncobj_create, NULL, use_syncobj,
				     teardown_release));
	sweep(_metadata, self, &STEP("SYNCOBJ_DESTROY", setup_bind,
				     call_syncobj_destroy, still_syncobj,
				     use_syncobj_gone, teardown_release));
	sweep(_metadata, self, &STEP("SYNCOBJ_WAIT", setup_syncobj_wait,
				     call_syncobj_wait, NULL, use_bound,
				     teardown_release, -EINTR));
}

TEST_F_TIMEOUT(fn, uptr_test_ioctls, 1200)
{
	static const __u32 backends[] = {
		UPTR_TEST_BACKEND_PIN, UPTR_TEST_BACKEND_FAULT,
	};
	char name[64];
	unsigned int i;

	if (self->ufd < 0)
		SKIP(return, "no /dev/uptr_test");
	/*
	 * A populate that failed after pinning (a lost copy of its result
	 * to user space, a retry) keeps the range's pins cached: they are
	 * released by DESTROY, as the end of each step checks.
	 */
	self->pin_cache = true;
	self->backend = UPTR_TEST_BACKEND_PIN;
	sweep(_metadata, self, &STEP("uptr_test open", ut_setup,
				     ut_call_open, NULL, ut_use_open,
				     ut_teardown));
	for (i = 0; i < ARRAY_SIZE(backends); i++) {
		const char *b = i ? "fault" : "pin";

		self->backend = backends[i];
#define UT_STEP(what, setup, call, still, use, ...) do {		\
	snprintf(name, sizeof(name), "UPTR_TEST_%s(%s)", what, b);	\
	sweep(_metadata, self, &STEP(name, setup, call, still, use,	\
				     ut_teardown, ##__VA_ARGS__));	\
} while (0)
		UT_STEP("CREATE", ut_setup, ut_call_create, NULL, ut_use);
		UT_STEP("DESTROY", ut_setup_populated, ut_call_destroy,
			ut_use_populated, ut_use_gone);
		UT_STEP("POPULATE", ut_setup_range, ut_call_populate, NULL,
			ut_use_populated, -EINTR, -EBUSY);
		UT_STEP("POPULATE_LOCK", ut_setup_range,
			ut_call_populate_lock, NULL, ut_use_populated,
			-EINTR, -EBUSY);
		UT_STEP("FAULT", ut_setup_range, ut_call_fault, NULL,
			ut_use_faulted, -EINTR, -EBUSY);
		UT_STEP("WRITE", ut_setup_rw, ut_call_write, NULL,
			ut_use_written, -EINTR, -EBUSY);
		UT_STEP("READ", ut_setup_rw, ut_call_read, NULL, ut_use_read,
			-EINTR, -EBUSY);
		UT_STEP("ENTRIES", ut_setup_entries, ut_call_entries, NULL,
			ut_use_entries);
		UT_STEP("STATS", ut_setup_populated, ut_call_stats, NULL,
			ut_use_populated);
#undef UT_STEP
	}
}

/* ------------------------------------------------------------------ */
/*
 * Kernel threads.  fail-nth counts the fault points of the task that set
 * it, and the engine executes jobs in kernel workers (the fault-mode
 * GPU-fault work, the fence-mode work behind drm_sched's run_job).  sgpu's
 * test hook arms the next job it executes with fail-nth N for the time of
 * that execution (debugfs dri/<dev>/engine_fail_nth), and tells what the
 * job left of N (engine_fail_nth_left: 0 when point N failed).
 * fail_function's own counters (probability 100, times 1, space N) would
 * reach the workers too, but 6.12's should_fail() then draws a random
 * number from its kprobe's int3 handler, an NMI-like context where
 * lockdep rightly reports crngs.lock.
 */
static int engine_files(char *arm, char *left, size_t len)
{
	glob_t g;
	int ret = -ENOENT;

	if (glob("/sys/kernel/debug/dri/*/engine_fail_nth", 0, NULL, &g))
		return ret;
	/* dri/<minor> are symlinks to the device's directory. */
	if (g.gl_pathc >= 1) {
		snprintf(arm, len, "%s", g.gl_pathv[0]);
		snprintf(left, len, "%s_left", g.gl_pathv[0]);
		ret = 0;
	}
	globfree(&g);
	return ret;
}

static void sweep_engine(struct __test_metadata *_metadata,
			 struct _test_data_fn *self, const char *what)
{
	unsigned int n, in_job = 0, absorbed = 0;
	char arm[128], left[140], val[16];
	long long t0 = now_ms();
	struct drm_sgpu_wait w;
	long rest;
	int ret, i;

	if (engine_files(arm, left, sizeof(arm)))
		SKIP(return, "no engine_fail_nth in sgpu's debugfs");
	for (n = 1; n <= MAX_POINTS; n++) {
		ASSERT_EQ(0, step_open(self));
		ASSERT_EQ(0, setup_unbind(self));
		ASSERT_EQ(0, write_file(left, "-1"));
		snprintf(val, sizeof(val), "%u", n);
		ASSERT_EQ(0, write_file(arm, val));
		ASSERT_EQ(0, call_exec(self));
		ret = wait_job(self->fd, self->vm, self->seqno, &w);
		ASSERT_EQ(0, ret) TH_LOG("%s: point %u: WAIT", what, n);
		ret = w.status;
		/* Stored right after the job completed. */
		for (i = 0; i < 1000 && (rest = read_long(left)) == -1; i++)
			usleep(1000);
		ASSERT_NE(-1, rest) TH_LOG("%s: the job was not armed", what);
		if (rest) {
			/* Point N not reached: the sweep is over. */
			ASSERT_EQ(0, ret) TH_LOG("%s: %d", what, ret);
			ASSERT_EQ(0, use_exec(self));
			teardown_release(self);
			step_close(self);
			ASSERT_STATE(&self->base, 0, what);
			break;
		}
		if (ret) {
			ASSERT_TRUE(ret == -ENOMEM || ret == -EFAULT ||
				    ret == -EBUSY)
				TH_LOG("%s: point %u: status %d", what, n, ret);
			in_job++;
			/* A following valid job succeeds. */
			ASSERT_EQ(0, call_exec(self));
		} else {
			absorbed++;
		}
		ASSERT_EQ(0, use_exec(self))
			TH_LOG("%s: point %u: the next job", what, n);
		teardown_release(self);
		step_close(self);
		ASSERT_STATE(&self->base, 0, what);
	}
	ASSERT_LE(n, MAX_POINTS);
	printf("# %s: %u points (%u failed the job, %u absorbed), %lld ms\n",
	       what, n - 1, in_job, absorbed, now_ms() - t0);
	fflush(stdout);
}

TEST_F_TIMEOUT(fn, engine_threads, 1200)
{
	if (self->qfd < 0)
		SKIP(return, "no sgpu device");
	self->mode = FAULTM;
	self->backend = PIN;
	sweep_engine(_metadata, self, "gpu-fault work(pin)");
	self->backend = HMM;
	sweep_engine(_metadata, self, "gpu-fault work(fault)");
	self->mode = FENCE;
	self->backend = PIN;
	sweep_engine(_metadata, self, "run_job(fence,pin)");
	self->backend = HMM;
	sweep_engine(_metadata, self, "run_job(fence,fault)");
}

TEST_HARNESS_MAIN
