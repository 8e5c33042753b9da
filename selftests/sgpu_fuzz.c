// SPDX-License-Identifier: GPL-2.0
/*
 * sgpu_fuzz - a structure-aware fuzzer of sgpu and /dev/uptr_test.
 *
 * Each worker process (--procs) runs --threads threads.  Every thread keeps
 * live resources of its own (an sgpu file and a /dev/uptr_test file, VMs of
 * both modes, userptr BOs of both backends, shmem BOs and their mmaps,
 * mappings, syncobjs, jobs in flight, uptr_test ranges, forked children)
 * and memory regions of several kinds (anon, THP, memfd, hugetlb, shmem BO
 * mmaps) in slots of a per-process arena, and picks random operations over
 * them: every ioctl, with mostly valid arguments, boundary values and
 * bit-flipped structs; munmap, mremap, mprotect, madvise, move_pages, the
 * migrate ioctl, fork, closing files with work in flight, and exit of the
 * whole worker (which is then started again).
 *
 * All user memory the device may write through a userptr lies in the
 * arena: an unmapped slot is mapped PROT_NONE again at once, so that no
 * allocation of the fuzzer can land where a stale userptr still points.
 * Userptrs over memory outside the arena (boundary values) are read-only.
 *
 * Deterministic from --seed: each thread's operation stream derives from
 * (seed, process, generation, thread) only; with --threads 1 --procs 1 a
 * run replays exactly (--seed S --ops N).
 *
 * Failures: an ioctl error that docs/uapi.rst does not give for that
 * ioctl, a GPU copy between userptrs whose result differs from what the
 * CPU sees although nothing raced with it, a crash of the fuzzer, or the
 * device counters, uptr_test's pinned_total and VmPin not back to their
 * baseline once everything is closed.  Kernel reports are the runner's to
 * find in the kernel log.  On a failure the seed and the failing thread's
 * last operations are printed.
 *
 * Output is TAP (kselftest.h).
 *
 * Copyright (c) 2026 The uptr authors
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <drm/drm.h>
#include <drm/sgpu_drm.h>
#include <linux/uptr_test.h>

#include "kselftest.h"
#include "uptr_selftest.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif
#ifndef MADV_COLD
#define MADV_COLD	20
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	2
#endif

#define PAGE		4096UL
#define SLOT		(4UL << 20)	/* arena slot: one region */
#define NSLOT		6		/* regions per thread */
/*
 * The slot the data check uses: only read-only userptrs and uptr_test
 * ranges are ever made over it (besides the check's own), so that no job
 * or range write of an earlier operation can change its data.
 */
#define CHECK_SLOT	(NSLOT - 1)
#define MAXTHR		8
#define NVM		4
#define NBO		12
#define NMAP		16
#define NJOB		16
#define NSYNC		6
#define NUR		6
#define NKID		2
#define RING		48
#define VA_BASE		0x1000000ULL	/* 16 MiB */
#define VA_SPAN		(64ULL << 20)	/* random binds land here */
#define VA_CHECK	0x10000000000ULL	/* the data checks' own VAs */

enum kind { R_NONE, R_ANON, R_THP, R_MEMFD, R_HUGETLB, R_BOMAP, R_NKIND };

static const char *const kind_name[] = {
	"none", "anon", "thp", "memfd", "hugetlb", "bomap",
};

/*
 * A region: slot s of thread t is [arena + (t * NSLOT + s) * SLOT, +SLOT).
 * Written by its thread under the process's region lock (write side); the
 * epoch is odd while some thread changes its data behind the owner's back
 * (MADV_DONTNEED/FREE), and moves on every such change.
 */
struct region {
	enum kind kind;
	int prot;
	size_t size;
	unsigned int gen;	/* bumped on munmap/mremap */
	atomic_uint epoch;
};

struct vmrec { __u32 id; int mode; };
struct borec {
	__u32 handle;
	int vm;			/* index in vms[], -1: shmem BO */
	__u64 size;
	bool ro;
};

struct maprec { int vm; __u64 va, size; bool ro; };
struct jobrec { int vm; __u64 seqno; };
struct kid { pid_t pid; };

struct oprec {
	unsigned long n;
	char text[96];
};

struct thr {
	int id;
	__u64 rng;
	unsigned long ops, max_ops;
	int fd, ufd;		/* shared with the partner thread (dup) */
	int chkfd;		/* the data check's own file ... */
	__u32 chkvm[2];		/* ... and its VMs, fence and fault mode */
	struct vmrec vms[NVM];
	struct borec bos[NBO];
	struct maprec maps[NMAP];
	struct jobrec jobs[NJOB];
	__u32 syncs[NSYNC];
	__u64 ur[NUR];		/* uptr_test range handles */
	__u64 ur_addr[NUR], ur_size[NUR];
	struct kid kids[NKID];
	int dmabuf;		/* an exported BO, or -1 */
	__u64 dmabuf_size;
	__u32 stale[4];
	struct oprec ring[RING];
	char *tmpbuf;		/* 64 KiB, data checks and uptr_test I/O */
	unsigned long checks, checks_skipped;
};

/* Shared between the supervisor and the workers (MAP_SHARED). */
struct shared {
	atomic_int failed;
	atomic_ulong ops, checks, forks, exits, errs;
	atomic_int intended_exit[16];
};

static struct shared *sh;
static struct opts {
	__u64 seed;
	unsigned long ops;
	unsigned int duration, threads, procs;
	bool verbose;
} o = { .seed = 1, .duration = 30, .threads = 2, .procs = 1 };

/* Per worker process. */
static char *arena;
static size_t arena_size;
static struct region regs[MAXTHR][NSLOT];
static pthread_rwlock_t reglock = PTHREAD_RWLOCK_INITIALIZER;
static long long t_end;
static int worker_idx, worker_gen;
static bool has_hugetlb;
static int nr_nodes = 1;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static __u64 splitmix(__u64 *x)
{
	__u64 z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u64 rnd(struct thr *t)
{
	return splitmix(&t->rng);
}

static unsigned int rn(struct thr *t, unsigned int n)
{
	return n ? rnd(t) % n : 0;
}

static bool chance(struct thr *t, unsigned int pct)
{
	return rn(t, 100) < pct;
}

static void note(struct thr *t, const char *fmt, ...)
{
	struct oprec *r = &t->ring[t->ops % RING];
	va_list ap;

	r->n = t->ops;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* Append the result to the current ring entry. */
static void note_ret(struct thr *t, int ret)
{
	struct oprec *r = &t->ring[t->ops % RING];
	size_t l = strlen(r->text);

	snprintf(r->text + l, sizeof(r->text) - l, " = %d", ret);
	if (o.verbose)
		printf("# [%d.%d] %lu %s\n", worker_idx, t->id, r->n, r->text);
}

static void fail(struct thr *t, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	va_list ap;
	unsigned long i;
	char buf[256];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	atomic_fetch_add(&sh->failed, 1);
	{
		printf("# FAILURE: %s\n", buf);
		printf("# seed %llu worker %d generation %d thread %d op %lu\n",
		       (unsigned long long)o.seed, worker_idx, worker_gen,
		       t->id, t->ops);
		printf("# replay: sgpu_fuzz --seed %llu --ops %lu %s\n",
		       (unsigned long long)o.seed, t->ops + 1,
		       "--threads 1 --procs 1 (exact for worker 0 gen 0 thread 0)");
		printf("# last operations of this thread:\n");
		for (i = t->ops >= RING ? t->ops - RING + 1 : 0; i <= t->ops; i++)
			if (t->ring[i % RING].n == i && t->ring[i % RING].text[0])
				printf("#   %lu: %s\n", i, t->ring[i % RING].text);
		fflush(stdout);
	}
	pthread_mutex_unlock(&lock);
}

/*
 * ioctl returning 0 or -errno.  Nothing is retried: the fuzzer sends no
 * signals, and an -EAGAIN (or -ERESTARTSYS) that reached user space would
 * be an undocumented errno.
 */
static int ioc(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? -errno : 0;
}

/* The errnos docs/uapi.rst gives, per ioctl, besides the common ones. */
enum ioc_kind {
	I_VM_CREATE, I_VM_DESTROY, I_BO_CREATE, I_BO_MMAP, I_USERPTR, I_BIND,
	I_EXEC, I_WAIT, I_MIGRATE, I_QUERY, I_GEM_CLOSE, I_SYNCOBJ,
	I_JOB_STATUS, I_UPTR_TEST, I_BOGUS, I_PRIME, I_NKIND,
};

static const char *const ioc_name[] = {
	"VM_CREATE", "VM_DESTROY", "BO_CREATE", "BO_MMAP_OFFSET",
	"USERPTR_CREATE", "VM_BIND", "EXEC", "WAIT", "MIGRATE", "QUERY",
	"GEM_CLOSE", "SYNCOBJ", "job status", "uptr_test", "bogus ioctl",
	"PRIME",
};

static const int doc_errno[I_NKIND][12] = {
	[I_VM_CREATE]	= { ENOSPC, EOPNOTSUPP },
	[I_VM_DESTROY]	= { },
	[I_BO_CREATE]	= { },
	[I_BO_MMAP]	= { },
	[I_USERPTR]	= { EOVERFLOW, EOPNOTSUPP, EACCES, E2BIG },
	[I_BIND]	= { EOVERFLOW, ERANGE, EXDEV, EACCES, EPERM,
			    EOPNOTSUPP, EBUSY },
	[I_EXEC]	= { EOVERFLOW, EPERM, EOPNOTSUPP, EACCES, EBUSY },
	[I_WAIT]	= { ETIME, ESTALE },
	[I_MIGRATE]	= { EOVERFLOW, ERANGE, EPERM, EOPNOTSUPP },
	[I_QUERY]	= { },
	[I_GEM_CLOSE]	= { },
	[I_SYNCOBJ]	= { ETIME },
	[I_JOB_STATUS]	= { EACCES, EPERM, ESRCH, EOPNOTSUPP, EBUSY,
			    ECANCELED },
	/* mm/tests/uptr_test.c and uptr_range_init()/populate() */
	[I_UPTR_TEST]	= { ERANGE, E2BIG, EBUSY, ENODATA, EACCES, ENXIO,
			    EOPNOTSUPP, EPERM, EOVERFLOW, ENOTTY },
	[I_BOGUS]	= { ENOTTY, EPERM, EACCES, EOPNOTSUPP },
	/* userptr BOs cannot be exported */
	[I_PRIME]	= { EOPNOTSUPP },
};

static bool documented(enum ioc_kind k, int ret)
{
	unsigned int i;

	if (ret >= 0)
		return true;
	ret = -ret;
	if (k != I_JOB_STATUS &&
	    (ret == EINVAL || ret == EFAULT || ret == ENOENT || ret == ENOMEM ||
	     ret == EINTR))
		return true;
	if (k == I_JOB_STATUS && (ret == EFAULT || ret == ENOMEM))
		return true;
	for (i = 0; i < ARRAY_SIZE(doc_errno[k]) && doc_errno[k][i]; i++)
		if (doc_errno[k][i] == ret)
			return true;
	return false;
}

static int check(struct thr *t, enum ioc_kind k, int ret)
{
	note_ret(t, ret);
	if (ret < 0)
		atomic_fetch_add(&sh->errs, 1);
	if (!documented(k, ret))
		fail(t, "%s returned %d (%s), not a documented errno",
		     ioc_name[k], ret, strerror(-ret));
	return ret;
}

/* ---- memory regions ---------------------------------------------------- */

static char *slot_addr(int tid, int s)
{
	return arena + ((size_t)tid * NSLOT + s) * SLOT;
}

static bool in_arena(__u64 a, __u64 size)
{
	return a >= (uintptr_t)arena && size <= arena_size &&
	       a - (uintptr_t)arena <= arena_size - size;
}

/* Give [p, p + size) back to the arena: PROT_NONE, no memory. */
static void reserve(char *p, size_t size)
{
	if (mmap(p, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
		 MAP_NORESERVE, -1, 0) == MAP_FAILED) {
		perror("arena remap");
		abort();
	}
}

static void cpu_touch(char *p, size_t size, int prot, __u64 v)
{
	size_t i;

	if (!(prot & PROT_WRITE))
		return;
	for (i = 0; i < size; i += PAGE)
		__atomic_store_n((__u64 *)(p + i), v + i, __ATOMIC_RELAXED);
}

static void mmap_slot(struct thr *t, int s)
{
	int fd = -1, flags = MAP_FIXED;
	struct region *r = &regs[t->id][s];
	enum kind k = 1 + rn(t, R_NKIND - 1);
	char *p = slot_addr(t->id, s);
	size_t size = PAGE * (1 + rn(t, 256));
	void *q;

	if (r->kind != R_NONE)
		return;
	if (k == R_THP || k == R_HUGETLB)
		size = TWOMEG * (1 + rn(t, 2));
	if (k == R_HUGETLB && !has_hugetlb)
		k = R_ANON;
	if (k == R_BOMAP)
		k = R_MEMFD;	/* op_bo_mmap() makes those */
	note(t, "mmap slot %d %s %zu", s, kind_name[k], size);
	if (k == R_MEMFD) {
		fd = memfd_create("fuzz", 0);
		if (fd < 0 || ftruncate(fd, size)) {
			if (fd >= 0)
				close(fd);
			note_ret(t, -errno);
			return;
		}
		flags |= MAP_SHARED;
	} else {
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
		if (k == R_HUGETLB)
			flags |= MAP_HUGETLB;
	}
	pthread_rwlock_wrlock(&reglock);
	q = mmap(p, size, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (q == MAP_FAILED) {
		pthread_rwlock_unlock(&reglock);
		note_ret(t, -errno);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (k == R_THP)
		madvise(p, size, MADV_HUGEPAGE);
	r->kind = k;
	r->size = size;
	r->prot = PROT_READ | PROT_WRITE;
	r->gen++;
	pthread_rwlock_unlock(&reglock);
	if (fd >= 0)
		close(fd);
	cpu_touch(p, size, r->prot, rnd(t));
	note_ret(t, 0);
}

static void op_mmap(struct thr *t)
{
	mmap_slot(t, rn(t, NSLOT));
}

static void op_munmap(struct thr *t)
{
	int s = rn(t, NSLOT);
	struct region *r = &regs[t->id][s];
	char *p = slot_addr(t->id, s);
	size_t off = 0, len;

	if (r->kind == R_NONE)
		return;
	len = r->size;
	pthread_rwlock_wrlock(&reglock);
	atomic_fetch_add(&r->epoch, 1);
	if (chance(t, 30) && r->kind != R_HUGETLB && r->size > PAGE) {
		/* A hole: the region is then accessed no more as a whole. */
		off = PAGE * rn(t, r->size / PAGE);
		len = PAGE;
	}
	note(t, "munmap slot %d +%zu %zu", s, off, len);
	munmap(p + off, len);
	reserve(p + off, len);
	if (off == 0 && len == r->size)
		r->kind = R_NONE;
	else
		r->prot = PROT_NONE;	/* holed: leave it to munmap */
	r->gen++;
	atomic_fetch_add(&r->epoch, 1);
	pthread_rwlock_unlock(&reglock);
	note_ret(t, 0);
}

/* Grow or shrink in place, or move to a free slot of this thread. */
static void op_mremap(struct thr *t)
{
	int s = rn(t, NSLOT), d = rn(t, NSLOT);
	struct region *r = &regs[t->id][s], *rd = &regs[t->id][d];
	char *p = slot_addr(t->id, s), *q;
	size_t nsize = PAGE * (1 + rn(t, SLOT / PAGE));

	if (r->kind == R_NONE || r->kind == R_BOMAP)
		return;
	if (r->kind == R_HUGETLB || r->kind == R_THP)
		nsize = TWOMEG * (1 + rn(t, 2));
	/* Past the end of its file a shared mapping is SIGBUS. */
	if (r->kind == R_MEMFD && nsize > r->size)
		nsize = r->size / 2 & ~(PAGE - 1);
	if (!nsize)
		return;
	pthread_rwlock_wrlock(&reglock);
	atomic_fetch_add(&r->epoch, 1);
	/*
	 * A move to a free slot.  Not of a holed or PROT_NONE region: the
	 * kernel unmaps the destination before it finds that the source is
	 * not one mapping (-EFAULT), and an mmap() of another thread could
	 * then land in the slot's hole and be clobbered by a later MAP_FIXED
	 * of ours (seen: the fuzzer died of SIGSEGV after "mremap slot 5 ->
	 * 4 ... = -14").
	 */
	if (d != s && rd->kind == R_NONE && r->prot != PROT_NONE) {
		note(t, "mremap slot %d -> %d %zu -> %zu", s, d, r->size, nsize);
		q = mremap(p, r->size, nsize, MREMAP_MAYMOVE | MREMAP_FIXED,
			   slot_addr(t->id, d));
		/*
		 * Whatever failed, the destination may have been unmapped;
		 * and a shrinking move unmaps the source's tail before it
		 * finds the source is not one mapping (-EFAULT, e.g. after a
		 * madvise() of part of it split its VMA): then the region
		 * ends where the move would have cut it.
		 */
		if (q == MAP_FAILED) {
			int err = errno;

			mmap(slot_addr(t->id, d), nsize, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
			     MAP_NORESERVE, -1, 0);
			if (nsize < r->size &&
			    mmap(p + nsize, r->size - nsize, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS |
				 MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0) ==
			    p + nsize) {
				r->size = nsize;
				r->gen++;
			}
			errno = err;
		}
		if (q != MAP_FAILED) {
			reserve(p, r->size);
			rd->kind = r->kind;
			rd->prot = r->prot;
			rd->size = nsize;
			rd->gen++;
			r->kind = R_NONE;
			r->gen++;
		}
	} else {
		note(t, "mremap slot %d %zu -> %zu", s, r->size, nsize);
		/* Growing takes the arena's reservation behind it. */
		if (nsize > r->size)
			munmap(p + r->size, nsize - r->size);
		q = mremap(p, r->size, nsize, 0);
		if (q != MAP_FAILED) {
			if (nsize < r->size)
				reserve(p + nsize, r->size - nsize);
			r->size = nsize;
			r->gen++;
		} else if (nsize > r->size) {
			reserve(p + r->size, nsize - r->size);
		}
	}
	atomic_fetch_add(&r->epoch, 1);
	pthread_rwlock_unlock(&reglock);
	note_ret(t, q == MAP_FAILED ? -errno : 0);
}

static void op_mprotect(struct thr *t)
{
	int s = rn(t, NSLOT);
	struct region *r = &regs[t->id][s];
	int prot = chance(t, 50) ? PROT_READ : PROT_READ | PROT_WRITE;

	if (r->kind == R_NONE || r->prot == PROT_NONE)
		return;
	note(t, "mprotect slot %d %s", s, prot & PROT_WRITE ? "rw" : "ro");
	pthread_rwlock_wrlock(&reglock);
	if (!mprotect(slot_addr(t->id, s), r->size, prot))
		r->prot = prot;
	pthread_rwlock_unlock(&reglock);
	note_ret(t, 0);
}

/* madvise on any thread's region: the mm events behind a userptr's back. */
static void op_madvise(struct thr *t)
{
	static const int advs[] = {
		MADV_DONTNEED, MADV_FREE, MADV_PAGEOUT, MADV_HUGEPAGE,
		MADV_COLD, MADV_NOHUGEPAGE,
	};
	static const char *const names[] = {
		"dontneed", "free", "pageout", "hugepage", "cold", "nohugepage",
	};
	int tid = rn(t, o.threads), s = rn(t, NSLOT), a = rn(t, ARRAY_SIZE(advs));
	struct region *r = &regs[tid][s];
	bool lossy = advs[a] == MADV_DONTNEED || advs[a] == MADV_FREE;
	size_t off, len;
	int ret;

	pthread_rwlock_rdlock(&reglock);
	if (r->kind == R_NONE || r->prot == PROT_NONE) {
		pthread_rwlock_unlock(&reglock);
		return;
	}
	off = PAGE * rn(t, r->size / PAGE);
	len = chance(t, 50) ? r->size - off : PAGE * (1 + rn(t, (r->size - off) / PAGE));
	note(t, "madvise %s slot %d.%d +%zu %zu", names[a], tid, s, off, len);
	if (lossy)
		atomic_fetch_add(&r->epoch, 1);
	ret = madvise(slot_addr(tid, s) + off, len, advs[a]) ? -errno : 0;
	if (lossy)
		atomic_fetch_add(&r->epoch, 1);
	pthread_rwlock_unlock(&reglock);
	note_ret(t, ret);
}

static void op_move_pages(struct thr *t)
{
	int tid = rn(t, o.threads), s = rn(t, NSLOT);
	struct region *r = &regs[tid][s];
	void *pages[16];
	int nodes[16], status[16];
	unsigned int i, n = 1 + rn(t, 16);
	long ret;

	if (nr_nodes < 2)
		return;
	pthread_rwlock_rdlock(&reglock);
	if (r->kind == R_NONE || r->prot == PROT_NONE) {
		pthread_rwlock_unlock(&reglock);
		return;
	}
	for (i = 0; i < n; i++) {
		pages[i] = slot_addr(tid, s) + PAGE * rn(t, r->size / PAGE);
		nodes[i] = rn(t, nr_nodes);
	}
	note(t, "move_pages slot %d.%d %u pages", tid, s, n);
	ret = syscall(SYS_move_pages, 0, n, pages, nodes, status, MPOL_MF_MOVE);
	pthread_rwlock_unlock(&reglock);
	note_ret(t, ret < 0 ? -errno : (int)ret);
}

static bool in_child;

static void op_cpu_write(struct thr *t)
{
	int s = rn(t, NSLOT);
	struct region *r = &regs[t->id][s];

	if (r->kind == R_NONE || !(r->prot & PROT_WRITE))
		return;
	/*
	 * A forked child's COW of a private hugetlb page may find none, and
	 * its writes to a shared mapping would race with the parent's data
	 * check (seed 22 saw one in word 0 of a memfd check slot).
	 */
	if (in_child && r->kind != R_ANON && r->kind != R_THP)
		return;
	note(t, "cpu write slot %d", s);
	cpu_touch(slot_addr(t->id, s), r->size, r->prot, rnd(t));
	note_ret(t, 0);
}

/* ---- argument generators ---------------------------------------------- */

static __u64 boundary(struct thr *t)
{
	static const __u64 v[] = {
		0, 1, PAGE - 1, PAGE, PAGE + 1, TWOMEG, ~0ULL, ~0ULL - PAGE + 1,
		1ULL << 47, 1ULL << 48, (1ULL << 48) - PAGE, 1ULL << 63,
		SGPU_MAX_USERPTR_SIZE, SGPU_MAX_USERPTR_SIZE + PAGE,
		SGPU_MAX_CMD_SIZE, SGPU_MAX_CMD_SIZE + 1, 0xffff800000000000ULL,
		0x7fffffff, 0x80000000, 0xffffffff,
	};

	return v[rn(t, ARRAY_SIZE(v))];
}

static void bitflip(struct thr *t, void *arg, size_t size, size_t nflip)
{
	unsigned char *b = arg;

	while (nflip--) {
		size_t bit = rn(t, size * 8);

		b[bit / 8] ^= 1u << (bit % 8);
	}
}

/* A live VM (or BO), from a random start; -1 when there is none. */
static int pick_vm(struct thr *t)
{
	int i, k = rn(t, NVM);

	for (i = 0; i < NVM; i++, k = (k + 1) % NVM)
		if (t->vms[k].id)
			return k;
	return -1;
}

static __u32 vm_id_arg(struct thr *t, int *vi)
{
	*vi = pick_vm(t);
	if (chance(t, 5))
		return t->stale[rn(t, 4)];
	if (chance(t, 2))
		return (__u32)boundary(t);
	return *vi >= 0 ? t->vms[*vi].id : 0;
}

static int pick_bo(struct thr *t)
{
	int i, k = rn(t, NBO);

	for (i = 0; i < NBO; i++, k = (k + 1) % NBO)
		if (t->bos[k].handle)
			return k;
	return -1;
}

static __u32 sync_arg(struct thr *t)
{
	__u32 h = t->syncs[rn(t, NSYNC)];

	if (chance(t, 3))
		return (__u32)boundary(t);
	return h;
}

/* ---- sgpu ioctls ------------------------------------------------------- */

static void forget_vm(struct thr *t, int vi)
{
	unsigned int i;

	t->stale[rn(t, 4)] = t->vms[vi].id;
	t->vms[vi].id = 0;
	for (i = 0; i < NMAP; i++)
		if (t->maps[i].vm == vi)
			t->maps[i].size = 0;
	for (i = 0; i < NJOB; i++)
		if (t->jobs[i].vm == vi)
			t->jobs[i].seqno = 0;
}

static void op_vm_create(struct thr *t)
{
	struct drm_sgpu_vm_create c = { .flags = rn(t, 2) };
	int i = rn(t, NVM), ret;

	if (chance(t, 5))
		bitflip(t, &c.flags, sizeof(c.flags), 1);
	if (t->vms[i].id)
		return;
	note(t, "VM_CREATE flags %#x", c.flags);
	ret = check(t, I_VM_CREATE, ioc(t->fd, DRM_IOCTL_SGPU_VM_CREATE, &c));
	if (!ret) {
		t->vms[i].id = c.vm_id;
		t->vms[i].mode = c.flags;
	} else if (c.flags <= SGPU_VM_MODE_FAULT && ret != -ENOMEM) {
		fail(t, "valid VM_CREATE failed: %d", ret);
	}
}

static void op_vm_destroy(struct thr *t)
{
	struct drm_sgpu_vm_destroy d = { };
	int vi, ret;

	d.vm_id = vm_id_arg(t, &vi);
	if (chance(t, 3))
		d.pad = 1;
	note(t, "VM_DESTROY %u pad %u", d.vm_id, d.pad);
	ret = check(t, I_VM_DESTROY, ioc(t->fd, DRM_IOCTL_SGPU_VM_DESTROY, &d));
	if (!ret)
		for (vi = 0; vi < NVM; vi++)
			if (t->vms[vi].id == d.vm_id)
				forget_vm(t, vi);
}

static void add_bo(struct thr *t, __u32 handle, int vm, __u64 size, bool ro)
{
	int i = rn(t, NBO);
	struct drm_gem_close c = { .handle = t->bos[i].handle };

	if (c.handle) {		/* replace: close the old one, maybe in use */
		note(t, "GEM_CLOSE %u (evicted)", c.handle);
		check(t, I_GEM_CLOSE, ioc(t->fd, DRM_IOCTL_GEM_CLOSE, &c));
		t->stale[rn(t, 4)] = c.handle;
	}
	t->bos[i] = (struct borec){ handle, vm, size, ro };
}

static void op_bo_create(struct thr *t)
{
	struct drm_sgpu_bo_create c = { .size = PAGE * (1 + rn(t, 64)) };
	int ret;

	if (chance(t, 5))
		c.size = boundary(t) & ~(chance(t, 50) ? PAGE - 1 : 0);
	if (c.size > (64ULL << 20))
		c.size = 0;	/* not gigabytes of shmem */
	if (chance(t, 3))
		c.flags = 1u << rn(t, 32);
	note(t, "BO_CREATE %llu flags %#x", (unsigned long long)c.size, c.flags);
	ret = check(t, I_BO_CREATE, ioc(t->fd, DRM_IOCTL_SGPU_BO_CREATE, &c));
	if (!ret)
		add_bo(t, c.handle, -1, c.size, false);
}

/* mmap a shmem BO into a free slot of the arena. */
static void op_bo_mmap(struct thr *t)
{
	struct drm_sgpu_bo_mmap_offset m = { };
	int bi = pick_bo(t), s = rn(t, NSLOT), ret;
	struct region *r = &regs[t->id][s];
	__u64 size;
	void *q;

	if (bi < 0)
		return;
	m.handle = t->bos[bi].handle;
	size = t->bos[bi].size;
	if (chance(t, 3))
		m.pad = 1;
	note(t, "BO_MMAP_OFFSET %u", m.handle);
	ret = check(t, I_BO_MMAP, ioc(t->fd, DRM_IOCTL_SGPU_BO_MMAP_OFFSET, &m));
	if (ret || r->kind != R_NONE || size > SLOT || s == CHECK_SLOT)
		return;
	note(t, "mmap bo %u slot %d %llu", m.handle, s, (unsigned long long)size);
	pthread_rwlock_wrlock(&reglock);
	q = mmap(slot_addr(t->id, s), size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, t->fd, m.offset);
	if (q != MAP_FAILED) {
		r->kind = R_BOMAP;
		r->size = size;
		r->prot = PROT_READ | PROT_WRITE;
		r->gen++;
	}
	pthread_rwlock_unlock(&reglock);
	note_ret(t, q == MAP_FAILED ? -errno : 0);
	if (q == MAP_FAILED)
		reserve(slot_addr(t->id, s), size);
}

static void op_userptr(struct thr *t)
{
	struct drm_sgpu_userptr_create c = { };
	int vi, tid = chance(t, 75) ? t->id : (int)rn(t, o.threads);
	int s = rn(t, NSLOT), ret;
	struct region *r = &regs[tid][s];
	size_t off = 0, size;

	c.vm_id = vm_id_arg(t, &vi);
	c.flags = (rn(t, 3) << 1) | (chance(t, 30) ? SGPU_USERPTR_READ_ONLY : 0);
	pthread_rwlock_rdlock(&reglock);
	size = r->kind ? r->size : PAGE * (1 + rn(t, 16));
	if (chance(t, 30)) {
		off = PAGE * rn(t, size / PAGE);
		size = PAGE * (1 + rn(t, (size - off) / PAGE));
	}
	c.addr = (uintptr_t)slot_addr(tid, s) + off;
	c.size = size;
	if (chance(t, 10)) {
		switch (rn(t, 4)) {
		case 0:
			c.addr = boundary(t);
			break;
		case 1:
			c.size = boundary(t);
			break;
		case 2:
			c.addr += rn(t, PAGE);
			break;
		default:
			bitflip(t, &c, sizeof(c), 1 + rn(t, 3));
			break;
		}
	}
	if (tid != t->id || s == CHECK_SLOT || !in_arena(c.addr, c.size))
		c.flags |= SGPU_USERPTR_READ_ONLY;
	note(t, "USERPTR_CREATE vm %u %#llx %llu flags %#x", c.vm_id,
	     (unsigned long long)c.addr, (unsigned long long)c.size, c.flags);
	ret = check(t, I_USERPTR, ioc(t->fd, DRM_IOCTL_SGPU_USERPTR_CREATE, &c));
	pthread_rwlock_unlock(&reglock);
	if (!ret) {
		for (vi = 0; vi < NVM; vi++)
			if (t->vms[vi].id && t->vms[vi].id == c.vm_id)
				break;
		add_bo(t, c.handle, vi < NVM ? vi : -1, c.size,
		       c.flags & SGPU_USERPTR_READ_ONLY);
	}
}

/*
 * Export one of this thread's BOs as a dma-buf, which the thread keeps
 * for a while: imported back later, maybe into the next file after a
 * close with work in flight (a BO that outlived its file).
 */
static void op_prime(struct thr *t)
{
	struct drm_prime_handle p = { .flags = DRM_CLOEXEC, .fd = -1 };
	int bi = pick_bo(t), ret;

	if (t->dmabuf >= 0 && chance(t, 50)) {
		p.fd = t->dmabuf;
		note(t, "PRIME import");
		ret = check(t, I_PRIME, ioc(t->fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p));
		close(t->dmabuf);
		t->dmabuf = -1;
		if (!ret)
			add_bo(t, p.handle, -1, t->dmabuf_size, false);
		return;
	}
	if (bi < 0)
		return;
	p.handle = t->bos[bi].handle;
	note(t, "PRIME export %u", p.handle);
	ret = check(t, I_PRIME, ioc(t->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p));
	if (ret)
		return;
	if (t->dmabuf >= 0)
		close(t->dmabuf);
	t->dmabuf = p.fd;
	t->dmabuf_size = t->bos[bi].size;
}

static void op_gem_close(struct thr *t)
{
	int bi = pick_bo(t);
	struct drm_gem_close c = { };

	c.handle = bi >= 0 ? t->bos[bi].handle : t->stale[rn(t, 4)];
	note(t, "GEM_CLOSE %u", c.handle);
	if (!check(t, I_GEM_CLOSE, ioc(t->fd, DRM_IOCTL_GEM_CLOSE, &c)) && bi >= 0) {
		t->stale[rn(t, 4)] = c.handle;
		t->bos[bi].handle = 0;
	}
}

static void op_syncobj(struct thr *t)
{
	int i = rn(t, NSYNC);

	if (t->syncs[i] && chance(t, 50)) {
		struct drm_syncobj_destroy d = { .handle = t->syncs[i] };

		note(t, "SYNCOBJ_DESTROY %u", d.handle);
		check(t, I_SYNCOBJ, ioc(t->fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d));
		t->syncs[i] = 0;
	} else if (!t->syncs[i]) {
		struct drm_syncobj_create c = {
			.flags = chance(t, 30) ? DRM_SYNCOBJ_CREATE_SIGNALED : 0,
		};

		note(t, "SYNCOBJ_CREATE %#x", c.flags);
		if (!check(t, I_SYNCOBJ, ioc(t->fd, DRM_IOCTL_SYNCOBJ_CREATE, &c)))
			t->syncs[i] = c.handle;
	} else {
		struct drm_syncobj_wait w = {
			.handles = (uintptr_t)&t->syncs[i],
			.count_handles = 1,
			.timeout_nsec = 0,
		};

		note(t, "SYNCOBJ_WAIT %u", t->syncs[i]);
		check(t, I_SYNCOBJ, ioc(t->fd, DRM_IOCTL_SYNCOBJ_WAIT, &w));
	}
}

static void op_bind(struct thr *t)
{
	struct drm_sgpu_vm_bind b = { };
	struct drm_sgpu_sync in[2] = { };
	int vi, bi = pick_bo(t), ret, m;
	__u64 bosize = bi >= 0 ? t->bos[bi].size : PAGE;

	b.vm_id = vm_id_arg(t, &vi);
	/* Mostly into the BO's own VM; else any (EXDEV for userptrs). */
	if (bi >= 0 && t->bos[bi].vm >= 0 && chance(t, 80)) {
		vi = t->bos[bi].vm;
		b.vm_id = t->vms[vi].id;
	}
	b.op = chance(t, 70) ? SGPU_BIND_MAP : SGPU_BIND_UNMAP;
	b.addr = VA_BASE + PAGE * rn(t, VA_SPAN / PAGE);
	if (b.op == SGPU_BIND_MAP) {
		b.handle = bi >= 0 ? t->bos[bi].handle : t->stale[0];
		b.bo_offset = PAGE * rn(t, bosize / PAGE);
		b.range = PAGE * (1 + rn(t, (bosize - b.bo_offset) / PAGE));
		if (bi >= 0 && t->bos[bi].ro)
			b.flags = chance(t, 90) ? SGPU_BIND_READ_ONLY : 0;
		else
			b.flags = chance(t, 20) ? SGPU_BIND_READ_ONLY : 0;
	} else {
		b.range = PAGE * (1 + rn(t, 512));
		m = rn(t, NMAP);
		if (t->maps[m].size && chance(t, 70)) {
			b.addr = t->maps[m].va;
			b.range = t->maps[m].size;
		}
	}
	if (chance(t, 50))
		b.out_sync = sync_arg(t);
	if (chance(t, 20)) {
		in[0].handle = sync_arg(t);
		in[1].handle = sync_arg(t);
		b.num_in_syncs = 1 + rn(t, 2);
		b.in_syncs = (uintptr_t)in;
	}
	if (chance(t, 8)) {
		switch (rn(t, 5)) {
		case 0:
			b.addr = boundary(t);
			break;
		case 1:
			b.range = boundary(t);
			break;
		case 2:
			b.bo_offset = boundary(t);
			break;
		case 3:
			b.num_in_syncs = boundary(t);
			break;
		default:
			bitflip(t, &b, offsetof(struct drm_sgpu_vm_bind, in_syncs), 1 + rn(t, 3));
			break;
		}
	}
	note(t, "VM_BIND vm %u op %u h %u off %llu va %#llx range %llu fl %#x out %u nin %u",
	     b.vm_id, b.op, b.handle, (unsigned long long)b.bo_offset,
	     (unsigned long long)b.addr, (unsigned long long)b.range, b.flags,
	     b.out_sync, b.num_in_syncs);
	ret = check(t, I_BIND, ioc(t->fd, DRM_IOCTL_SGPU_VM_BIND, &b));
	if (!ret && b.op == SGPU_BIND_MAP && vi >= 0) {
		m = rn(t, NMAP);
		t->maps[m] = (struct maprec){ vi, b.addr, b.range,
					      b.flags & SGPU_BIND_READ_ONLY };
	}
}

/* A VA inside a mapping of VM vi, or near one. */
static __u64 exec_va(struct thr *t, int vi, __u64 *room, bool *ro)
{
	unsigned int i, m = rn(t, NMAP);
	__u64 off;

	for (i = 0; i < NMAP; i++, m = (m + 1) % NMAP)
		if (t->maps[m].size && t->maps[m].vm == vi)
			break;
	if (i == NMAP || chance(t, 5)) {
		*room = PAGE;
		*ro = false;
		return VA_BASE + PAGE * rn(t, VA_SPAN / PAGE);
	}
	off = rn(t, t->maps[m].size / 8) * 8;
	*room = t->maps[m].size - off;
	*ro = t->maps[m].ro;
	return t->maps[m].va + off;
}

static void op_exec(struct thr *t)
{
	struct drm_sgpu_cmd cmds[4];
	struct drm_sgpu_sync in[2] = { };
	struct drm_sgpu_exec e = { .cmds = (uintptr_t)cmds };
	unsigned int i, n = 1 + rn(t, 4);
	int vi, ret;
	__u64 room, room2, size;
	bool ro, ro2;

	e.vm_id = vm_id_arg(t, &vi);
	for (i = 0; i < n; i++) {
		struct drm_sgpu_cmd *c = &cmds[i];

		memset(c, 0, sizeof(*c));
		c->op = rn(t, 5);
		c->src = exec_va(t, vi, &room, &ro);
		c->dst = exec_va(t, vi, &room2, &ro2);
		size = room < room2 ? room : room2;
		if (size > 65536)
			size = 65536;
		c->size = 8 * (1 + rn(t, size / 8 ? size / 8 : 1));
		if (c->size > size)
			c->size = size & ~7ULL;
		if (!c->size)
			c->size = 8;
		if (c->op == SGPU_CMD_COPY && c->src < c->dst + c->size &&
		    c->dst < c->src + c->size)
			c->op = SGPU_CMD_CHECKSUM;
		switch (c->op) {
		case SGPU_CMD_FILL:
			c->value = (__u32)rnd(t);
			c->src = 0;
			break;
		case SGPU_CMD_COMPARE:
		case SGPU_CMD_CHECKSUM:
			c->result = c->dst & ~7ULL;
			if (c->op == SGPU_CMD_CHECKSUM)
				c->dst = 0;
			break;
		case SGPU_CMD_ATOMIC_INC:
			c->size = 8;
			c->src = 0;
			c->value = rn(t, 10);
			c->result = chance(t, 50) ? c->dst + 8 * rn(t, 2) : 0;
			break;
		}
		if (chance(t, 5)) {
			switch (rn(t, 3)) {
			case 0:
				c->size = boundary(t);
				break;
			case 1:
				c->dst = boundary(t);
				break;
			default:
				bitflip(t, c, sizeof(*c), 1 + rn(t, 3));
				break;
			}
		}
	}
	e.num_cmds = n;
	if (vi >= 0 && t->vms[vi].mode == SGPU_VM_MODE_FENCE && chance(t, 50))
		e.out_sync = sync_arg(t);
	if (chance(t, 15)) {
		in[0].handle = sync_arg(t);
		in[1].handle = sync_arg(t);
		e.num_in_syncs = 1 + rn(t, 2);
		e.in_syncs = (uintptr_t)in;
	}
	if (chance(t, 5)) {
		switch (rn(t, 3)) {
		case 0:
			e.num_cmds = boundary(t);
			break;
		case 1:
			e.cmds = boundary(t);
			break;
		default:
			bitflip(t, &e, sizeof(e), 1 + rn(t, 2));
			break;
		}
	}
	note(t, "EXEC vm %u n %u op0 %u src %#llx dst %#llx size %llu out %u",
	     e.vm_id, e.num_cmds, cmds[0].op, (unsigned long long)cmds[0].src,
	     (unsigned long long)cmds[0].dst, (unsigned long long)cmds[0].size,
	     e.out_sync);
	ret = check(t, I_EXEC, ioc(t->fd, DRM_IOCTL_SGPU_EXEC, &e));
	if (!ret && vi >= 0 && t->vms[vi].id == e.vm_id)
		t->jobs[rn(t, NJOB)] = (struct jobrec){ vi, e.seqno };
}

static void op_wait(struct thr *t)
{
	struct drm_sgpu_wait w = { };
	int j = rn(t, NJOB), ret;

	if (t->jobs[j].seqno && t->vms[t->jobs[j].vm].id) {
		w.vm_id = t->vms[t->jobs[j].vm].id;
		w.seqno = t->jobs[j].seqno;
	} else {
		int vi;

		w.vm_id = vm_id_arg(t, &vi);
		w.seqno = chance(t, 50) ? boundary(t) : rn(t, 300);
	}
	w.timeout_ns = chance(t, 50) ? 0 : 1000000LL * rn(t, 200);
	if (chance(t, 3))
		w.flags = 1;
	note(t, "WAIT vm %u seqno %llu timeout %lld", w.vm_id,
	     (unsigned long long)w.seqno, (long long)w.timeout_ns);
	ret = check(t, I_WAIT, ioc(t->fd, DRM_IOCTL_SGPU_WAIT, &w));
	if (!ret) {
		note(t, "  job status %d cmd %u at %#llx", w.status, w.cmd_index,
		     (unsigned long long)w.fault_addr);
		check(t, I_JOB_STATUS, w.status);
	}
}

static void op_migrate(struct thr *t)
{
	struct drm_sgpu_migrate m = { };
	int bi = pick_bo(t);
	__u64 size = bi >= 0 ? t->bos[bi].size : PAGE;

	m.handle = bi >= 0 ? t->bos[bi].handle : t->stale[rn(t, 4)];
	m.direction = chance(t, 95) ? rn(t, 2) : 2 + rn(t, 5);
	m.offset = PAGE * rn(t, size / PAGE);
	m.size = PAGE * (1 + rn(t, (size - m.offset) / PAGE));
	if (chance(t, 8)) {
		if (chance(t, 50))
			m.offset = boundary(t);
		else
			m.size = boundary(t);
	}
	note(t, "MIGRATE h %u dir %u off %llu size %llu", m.handle, m.direction,
	     (unsigned long long)m.offset, (unsigned long long)m.size);
	check(t, I_MIGRATE, ioc(t->fd, DRM_IOCTL_SGPU_MIGRATE, &m));
}

static void op_query(struct thr *t)
{
	__u64 v[32];
	struct drm_sgpu_query q = { .values = (uintptr_t)v };
	int vi, bi;

	q.type = chance(t, 95) ? rn(t, 3) : (__u32)boundary(t);
	q.count = chance(t, 90) ? rn(t, 33) : 0;
	if (q.type == SGPU_QUERY_VM) {
		q.id = vm_id_arg(t, &vi);
	} else if (q.type == SGPU_QUERY_BO) {
		bi = pick_bo(t);
		q.id = bi >= 0 ? t->bos[bi].handle : t->stale[rn(t, 4)];
	}
	if (chance(t, 3))
		q.pad = 1;
	if (chance(t, 3))
		q.values = chance(t, 50) ? 0 : 0xffff800000000000ULL;
	note(t, "QUERY type %u id %u count %u", q.type, q.id, q.count);
	check(t, I_QUERY, ioc(t->fd, DRM_IOCTL_SGPU_QUERY, &q));
}

/* An ioctl number near or inside sgpu's, argument garbage (read only). */
static void op_bogus(struct thr *t)
{
	static __u64 junk[16];
	unsigned int nr = DRM_COMMAND_BASE + rn(t, 16);
	unsigned long req = _IOC(_IOC_WRITE, DRM_IOCTL_BASE, nr, 8 * rn(t, 9));
	int ret;

	if (nr <= DRM_COMMAND_BASE + DRM_SGPU_QUERY)
		return;	/* real ones with a mangled size: below */
	note(t, "bogus ioctl %#lx", req);
	ret = ioc(t->fd, req, junk);
	check(t, I_BOGUS, ret == -EINVAL ? -ENOTTY : ret);
}

static void drop_bomaps(struct thr *t)
{
	int s;

	/* A BO mmap keeps the file open: unmap them all first. */
	pthread_rwlock_wrlock(&reglock);
	for (s = 0; s < NSLOT; s++) {
		struct region *r = &regs[t->id][s];

		if (r->kind != R_BOMAP)
			continue;
		atomic_fetch_add(&r->epoch, 1);
		reserve(slot_addr(t->id, s), SLOT);
		r->kind = R_NONE;
		r->gen++;
		atomic_fetch_add(&r->epoch, 1);
	}
	pthread_rwlock_unlock(&reglock);
}

/* Close the sgpu file with whatever is in flight, and open a new one. */
static void op_reopen(struct thr *t)
{
	note(t, "close sgpu file (work in flight), reopen");
	if (chance(t, 50))
		drop_bomaps(t);
	close(t->fd);
	memset(t->vms, 0, sizeof(t->vms));
	memset(t->bos, 0, sizeof(t->bos));
	memset(t->maps, 0, sizeof(t->maps));
	memset(t->jobs, 0, sizeof(t->jobs));
	memset(t->syncs, 0, sizeof(t->syncs));
	t->fd = sgpu_open();
	note_ret(t, t->fd < 0 ? -1 : 0);
	if (t->fd < 0)
		fail(t, "cannot reopen the sgpu render node");
}

/* ---- uptr_test --------------------------------------------------------- */

static void op_uptr_test(struct thr *t)
{
	struct uptr_test_cmd c = { };
	int i = rn(t, NUR), s = rn(t, NSLOT), ret;
	struct region *r = &regs[t->id][s];

	if (t->ufd < 0)
		return;
	if (!t->ur[i] || chance(t, 10)) {
		struct uptr_test_create cr = {
			.backend = rn(t, 2),
			.flags = chance(t, 30) ? UPTR_TEST_RANGE_READ_ONLY : 0,
		};

		pthread_rwlock_rdlock(&reglock);
		cr.addr = (uintptr_t)slot_addr(t->id, s);
		cr.size = r->kind ? r->size : PAGE * (1 + rn(t, 16));
		if (chance(t, 10)) {
			switch (rn(t, 3)) {
			case 0:
				cr.addr = boundary(t);
				break;
			case 1:
				cr.size = boundary(t);
				break;
			default:
				bitflip(t, &cr, sizeof(cr), 1 + rn(t, 3));
				break;
			}
		}
		if (s == CHECK_SLOT || !in_arena(cr.addr, cr.size))
			cr.flags |= UPTR_TEST_RANGE_READ_ONLY;
		note(t, "UPTR_TEST_CREATE %#llx %llu be %llu fl %#llx",
		     (unsigned long long)cr.addr, (unsigned long long)cr.size,
		     (unsigned long long)cr.backend, (unsigned long long)cr.flags);
		ret = check(t, I_UPTR_TEST, ioc(t->ufd, UPTR_TEST_CREATE, &cr));
		pthread_rwlock_unlock(&reglock);
		if (!ret) {
			if (t->ur[i]) {
				c.handle = t->ur[i];
				ioc(t->ufd, UPTR_TEST_DESTROY, &c);
			}
			t->ur[i] = cr.handle;
			t->ur_addr[i] = cr.addr;
			t->ur_size[i] = cr.size;
		}
		return;
	}
	c.handle = t->ur[i];
	c.addr = t->ur_addr[i] + PAGE * rn(t, t->ur_size[i] / PAGE);
	c.size = PAGE * (1 + rn(t, (t->ur_addr[i] + t->ur_size[i] - c.addr) / PAGE));
	if (c.size > 65536)
		c.size = 65536;
	c.ptr = (uintptr_t)t->tmpbuf;
	if (chance(t, 5)) {
		if (chance(t, 50))
			c.addr = boundary(t);
		else
			c.size = boundary(t);
	}
	switch (rn(t, 8)) {
	case 0:
		c.flags = rn(t, 8);
		note(t, "UPTR_TEST_POPULATE %llu %#llx %llu fl %#llx",
		     (unsigned long long)c.handle, (unsigned long long)c.addr,
		     (unsigned long long)c.size, (unsigned long long)c.flags);
		check(t, I_UPTR_TEST, ioc(t->ufd, UPTR_TEST_POPULATE, &c));
		break;
	case 1:
		c.flags = rn(t, 2);
		c.addr += rn(t, PAGE);
		note(t, "UPTR_TEST_FAULT %llu %#llx", (unsigned long long)c.handle,
		     (unsigned long long)c.addr);
		check(t, I_UPTR_TEST, ioc(t->ufd, UPTR_TEST_FAULT, &c));
		break;
	case 2:
		note(t, "UPTR_TEST_ENTRIES %llu %#llx %llu", (unsigned long long)c.handle,
		     (unsigned long long)c.addr, (unsigned long long)c.size);
		check(t, I_UPTR_TEST, ioc(t->ufd, UPTR_TEST_ENTRIES, &c));
		break;
	case 3:
		c.flags = rn(t, 2);
		note(t, "UPTR_TEST_READ %llu %#llx %llu", (unsigned long long)c.handle,
		     (unsigned long long)c.addr, (unsigned long long)c.size);
		check(t, I_UPTR_TEST, ioc(t->ufd, UPTR_TEST_READ, &c));
		break;
	case 4:
		c.flags = rn(t, 2);
		note(t, "UPTR_TEST_WRITE %llu %#llx %llu", (unsigned long long)c.handle,
		     (unsigned long long)c.addr, (unsigned long long)c.size);
		check(t, I_UPTR_TEST, ioc(t->ufd, UPTR_TEST_WRITE, &c));
		break;
	case 5: {
		__u64 busy = rn(t, 2);

		note(t, "UPTR_TEST_SET_BUSY %llu", (unsigned long long)busy);
		check(t, I_UPTR_TEST, ioc(t->ufd, UPTR_TEST_SET_BUSY, &busy));
		break;
	}
	case 6:
		note(t, "UPTR_TEST_DESTROY %llu", (unsigned long long)c.handle);
		if (!check(t, I_UPTR_TEST, ioc(t->ufd, UPTR_TEST_DESTROY, &c)))
			t->ur[i] = 0;
		break;
	default: {
		static struct uptr_test_stats st;	/* only read */

		note(t, "UPTR_TEST_STATS");
		check(t, I_UPTR_TEST, ioc(t->ufd, UPTR_TEST_STATS, &st));
		break;
	}
	}
}

/* ---- the data check ---------------------------------------------------- */

static __u32 word(__u32 seed, size_t i)
{
	return seed + (__u32)i * 2654435761u;
}

/*
 * Two fresh userptr BOs (random backends) over the two halves of the
 * thread's check slot, bound in a fence-mode or fault-mode VM of a file
 * that only the check uses (so no stale handle of another operation can
 * reach its BOs): CPU
 * writes a pattern into the first, the GPU copies it to the second, the
 * CPU must read it there; unless a lossy madvise or an unmap raced
 * (epoch), or a step failed with a documented errno.
 */
static void op_data_check(struct thr *t)
{
	int s = CHECK_SLOT, mode = rn(t, 2), fd = t->chkfd, ret, k;
	struct region *r = &regs[t->id][s];
	__u32 h[2] = { }, vm;
	struct drm_sgpu_cmd cmd = { .op = SGPU_CMD_COPY };
	struct drm_sgpu_exec e = { .cmds = (uintptr_t)&cmd, .num_cmds = 1 };
	struct drm_sgpu_wait w = { .timeout_ns = -1 };
	size_t half, i;
	unsigned int e0;
	__u32 *src, *dst, seed = rnd(t);
	__u64 va = VA_CHECK + ((__u64)t->id << 28);

	/* Set the stage when earlier operations left none. */
	if (r->kind != R_NONE && r->prot == PROT_NONE) {	/* holed */
		pthread_rwlock_wrlock(&reglock);
		atomic_fetch_add(&r->epoch, 1);
		reserve(slot_addr(t->id, s), SLOT);
		r->kind = R_NONE;
		r->gen++;
		atomic_fetch_add(&r->epoch, 1);
		pthread_rwlock_unlock(&reglock);
	}
	if (r->kind == R_NONE)
		mmap_slot(t, s);
	if (r->kind != R_NONE && r->prot == PROT_READ) {
		pthread_rwlock_wrlock(&reglock);
		if (!mprotect(slot_addr(t->id, s), r->size, PROT_READ | PROT_WRITE))
			r->prot = PROT_READ | PROT_WRITE;
		pthread_rwlock_unlock(&reglock);
	}
	if (r->kind == R_NONE || r->kind == R_BOMAP ||
	    r->prot != (PROT_READ | PROT_WRITE) || r->size < 2 * PAGE)
		return;
	vm = t->chkvm[mode];
	half = (r->size / 2) & ~(PAGE - 1);
	if (half > 65536)
		half = 65536;
	src = (__u32 *)slot_addr(t->id, s);
	dst = (__u32 *)((char *)src + half);
	e0 = atomic_load(&r->epoch);
	if (e0 & 1)
		return;
	for (i = 0; i < half / 4; i++) {
		src[i] = word(seed, i);
		dst[i] = ~src[i];
	}
	note(t, "data check slot %d %s %zu vm %u mode %d", s, kind_name[r->kind],
	     half, vm, mode);
	for (k = 0; k < 2; k++) {
		struct drm_sgpu_userptr_create c = {
			.addr = (uintptr_t)(k ? dst : src), .size = half,
			.vm_id = vm, .flags = (1 + rn(t, 2)) << 1,
		};
		struct drm_sgpu_vm_bind b = {
			.vm_id = vm, .op = SGPU_BIND_MAP, .addr = va + k * half,
			.range = half,
		};

		ret = check(t, I_USERPTR, ioc(fd, DRM_IOCTL_SGPU_USERPTR_CREATE, &c));
		if (ret)
			goto out;
		h[k] = c.handle;
		b.handle = c.handle;
		ret = check(t, I_BIND, ioc(fd, DRM_IOCTL_SGPU_VM_BIND, &b));
		if (ret)
			goto out;
	}
	cmd.src = va;
	cmd.dst = va + half;
	cmd.size = half;
	e.vm_id = vm;
	ret = check(t, I_EXEC, ioc(fd, DRM_IOCTL_SGPU_EXEC, &e));
	if (ret)
		goto out;
	w.vm_id = vm;
	w.seqno = e.seqno;
	ret = check(t, I_WAIT, ioc(fd, DRM_IOCTL_SGPU_WAIT, &w));
	if (ret)
		goto out;
	check(t, I_JOB_STATUS, w.status);
	if (w.status)
		goto out;
	for (i = 0; i < half / 4; i++)
		if (dst[i] != src[i] || src[i] != word(seed, i))
			break;
	if (i < half / 4 && atomic_load(&r->epoch) == e0) {
		fail(t, "GPU copy %s slot %d: word %zu is %#x, CPU wrote %#x (src now %#x)",
		     kind_name[r->kind], s, i, dst[i], word(seed, i),
		     src[i]);
		goto out;
	}
	if (i == half / 4)
		t->checks++;
out:
	if (!h[1] || ret || w.status)
		t->checks_skipped++;
	/* Unmap both, then close: the region may be checked again later. */
	{
		struct drm_sgpu_vm_bind b = {
			.vm_id = vm, .op = SGPU_BIND_UNMAP, .addr = va,
			.range = 2 * half,
		};

		ioc(fd, DRM_IOCTL_SGPU_VM_BIND, &b);
	}
	for (k = 0; k < 2; k++) {
		struct drm_gem_close c = { .handle = h[k] };

		if (h[k])
			ioc(fd, DRM_IOCTL_GEM_CLOSE, &c);
	}
}

/* ---- processes --------------------------------------------------------- */

static void child_run(struct thr *t)
{
	unsigned int i, n = 1 + rn(t, 12);

	/*
	 * No time limit of its own (a loaded guest ran a dozen operations
	 * for over 20 s): the parent kills it when it reaps it, or exits.
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	in_child = true;
	/* Only ioctls and writes: no locks the parent's threads may hold. */
	o.verbose = false;
	for (i = 0; i < n && !atomic_load(&sh->failed); i++) {
		t->ops++;
		switch (rn(t, 6)) {
		case 0:
			op_exec(t);
			break;
		case 1:
			op_bind(t);
			break;
		case 2:
			op_migrate(t);
			break;
		case 3:
			op_wait(t);
			break;
		case 4:
			op_query(t);
			break;
		default:
			op_cpu_write(t);
			break;
		}
	}
	if (chance(t, 30))
		pause();	/* until the parent kills it */
	_exit(atomic_load(&sh->failed) ? 1 : 0);
}

static void op_fork(struct thr *t)
{
	int i = rn(t, NKID), st;
	pid_t pid;

	if (t->kids[i].pid) {
		note(t, "reap child %d", t->kids[i].pid);
		/* Killed at once, or when it has not exited by itself. */
		if (chance(t, 50) || !waitpid(t->kids[i].pid, &st, WNOHANG)) {
			kill(t->kids[i].pid, SIGKILL);
			waitpid(t->kids[i].pid, &st, 0);
		}
		if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
			fail(t, "forked child died of signal %d", WTERMSIG(st));
		else if (WIFEXITED(st) && WEXITSTATUS(st))
			fail(t, "forked child failed (exit %d)", WEXITSTATUS(st));
		t->kids[i].pid = 0;
		note_ret(t, 0);
		return;
	}
	note(t, "fork");
	/* The child gets its own stream, derived from the parent's. */
	rnd(t);
	pid = fork();
	if (pid == 0) {
		t->rng ^= 0x5555555555555555ULL;
		child_run(t);
	}
	atomic_fetch_add(&sh->forks, 1);
	t->kids[i].pid = pid > 0 ? pid : 0;
	note_ret(t, pid > 0 ? 0 : -errno);
}

/* ---- the thread loop --------------------------------------------------- */

typedef void (*op_fn)(struct thr *t);
static const struct { op_fn fn; unsigned int weight; } ops[] = {
	{ op_mmap, 6 }, { op_munmap, 3 }, { op_mremap, 2 }, { op_mprotect, 2 },
	{ op_madvise, 4 }, { op_move_pages, 2 }, { op_cpu_write, 2 },
	{ op_vm_create, 3 }, { op_vm_destroy, 1 }, { op_bo_create, 3 },
	{ op_bo_mmap, 1 }, { op_userptr, 8 }, { op_gem_close, 3 },
	{ op_prime, 2 },
	{ op_syncobj, 3 }, { op_bind, 10 }, { op_exec, 10 }, { op_wait, 5 },
	{ op_migrate, 3 }, { op_query, 2 }, { op_bogus, 1 }, { op_reopen, 1 },
	{ op_uptr_test, 6 }, { op_data_check, 4 }, { op_fork, 1 },
};

static __thread struct thr *cur_thr;

/* A crash of the fuzzer: say where, then die of the signal. */
static void crash(int sig)
{
	struct thr *t = cur_thr;

	if (t) {
		t->ring[t->ops % RING].n = t->ops;
		fail(t, "%s of the fuzzer itself (signal %d)%s",
		     sig == SIGBUS ? "SIGBUS" : "crash", sig,
		     in_child ? " in a forked child" : "");
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void thread_teardown(struct thr *t)
{
	int i, st;

	for (i = 0; i < NKID; i++)
		if (t->kids[i].pid) {
			kill(t->kids[i].pid, SIGKILL);
			waitpid(t->kids[i].pid, &st, 0);
		}
	drop_bomaps(t);
	close(t->fd);
	close(t->chkfd);
	if (t->dmabuf >= 0)
		close(t->dmabuf);
	if (t->ufd >= 0)
		close(t->ufd);
}

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	unsigned int total = 0, i, w;

	cur_thr = t;
	for (i = 0; i < ARRAY_SIZE(ops); i++)
		total += ops[i].weight;
	while (!atomic_load(&sh->failed)) {
		if (t->max_ops ? t->ops >= t->max_ops : now_ms() >= t_end)
			break;
		w = rn(t, total);
		for (i = 0; w >= ops[i].weight; i++)
			w -= ops[i].weight;
		t->ring[t->ops % RING].text[0] = 0;
		ops[i].fn(t);
		t->ops++;
	}
	atomic_fetch_add(&sh->ops, t->ops);
	atomic_fetch_add(&sh->checks, t->checks);
	return NULL;
}

/*
 * The worker's "exit" operation: with a small chance per second the whole
 * worker process exits (or is killed) with everything live; the
 * supervisor starts it again as the next generation.
 */
static void worker(int idx, int gen)
{
	struct thr *thr = calloc(o.threads, sizeof(*thr));
	pthread_t tids[MAXTHR];
	__u64 base = o.seed, x;
	unsigned int i, k;
	char *p;

	/* Streams of nearby seeds, processes and threads must not overlap. */
	x = splitmix(&base) ^ idx;
	x = splitmix(&x) ^ gen;
	base = splitmix(&x);
	worker_idx = idx;
	worker_gen = gen;
	signal(SIGSEGV, crash);
	signal(SIGBUS, crash);
	signal(SIGILL, crash);
	signal(SIGFPE, crash);
	arena_size = (size_t)MAXTHR * NSLOT * SLOT;
	p = mmap(NULL, arena_size + TWOMEG, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		exit(2);
	arena = (char *)(((uintptr_t)p + TWOMEG - 1) & ~(TWOMEG - 1));
	for (i = 0; i < o.threads; i++) {
		struct thr *t = &thr[i];

		t->id = i;
		x = base ^ i;
		t->rng = splitmix(&x);
		t->max_ops = o.ops;
		t->dmabuf = -1;
		/*
		 * Threads 2k and 2k + 1 share their files (dup): VM ids, GEM
		 * handles and uptr_test ranges of one are (stale) ids of the
		 * other, so both race on the same objects.
		 */
		if (i & 1) {
			t->fd = dup(thr[i - 1].fd);
			t->ufd = thr[i - 1].ufd >= 0 ? dup(thr[i - 1].ufd) : -1;
		} else {
			t->fd = sgpu_open();
			t->ufd = open("/dev/uptr_test", O_RDWR | O_CLOEXEC);
		}
		t->chkfd = sgpu_open();
		t->tmpbuf = malloc(65536);
		for (k = 0; k < 2 && t->chkfd >= 0; k++) {
			struct drm_sgpu_vm_create c = { .flags = k };

			if (ioc(t->chkfd, DRM_IOCTL_SGPU_VM_CREATE, &c))
				t->chkfd = -1;
			t->chkvm[k] = c.vm_id;
		}
		if (t->fd < 0 || t->chkfd < 0 || !t->tmpbuf) {
			printf("# process %d: cannot open the sgpu render node\n", idx);
			exit(2);
		}
	}
	for (i = 0; i < o.threads; i++)
		pthread_create(&tids[i], NULL, thread_main, &thr[i]);
	if (o.procs > 1 && !o.ops) {
		/* The exit operation, decided on the worker's own stream. */
		x = base ^ 0xe1e1;

		while (now_ms() < t_end && !atomic_load(&sh->failed)) {
			usleep(500000);
			if (splitmix(&x) % 100 < 1) {
				atomic_store(&sh->intended_exit[idx], 1);
				atomic_fetch_add(&sh->exits, 1);
				for (i = 0; i < o.threads; i++)
					atomic_fetch_add(&sh->ops, thr[i].ops);
				printf("# process %d generation %d exits with everything live\n",
				       idx, gen);
				fflush(stdout);
				if (splitmix(&x) & 1)
					kill(getpid(), SIGKILL);
				_exit(0);
			}
		}
	}
	for (i = 0; i < o.threads; i++)
		pthread_join(tids[i], NULL);
	for (i = 0; i < o.threads; i++) {
		thread_teardown(&thr[i]);
		if (o.verbose || thr[i].checks_skipped)
			printf("# process %d thread %u: %lu ops, %lu data checks, %lu skipped\n",
			       idx, i, thr[i].ops, thr[i].checks, thr[i].checks_skipped);
	}
	/* Every pin of this process is gone once its files are closed. */
	for (i = 0; i < 300 && vmpin_kb() > 0; i++)
		usleep(100000);
	if (vmpin_kb() > 0) {
		printf("# FAILURE: process %d: VmPin %ld kB after closing all (seed %llu)\n",
		       idx, vmpin_kb(), (unsigned long long)o.seed);
		atomic_fetch_add(&sh->failed, 1);
	}
	fflush(stdout);
	exit(atomic_load(&sh->failed) ? 1 : 0);
}

/* ---- the supervisor ---------------------------------------------------- */

#define NBASE 7
static const unsigned int base_idx[NBASE] = {
	SGPU_DEV_LIVE_VMS, SGPU_DEV_LIVE_BOS, SGPU_DEV_LIVE_USERPTR_BOS,
	SGPU_DEV_LIVE_MAPPINGS, SGPU_DEV_LIVE_JOBS, SGPU_DEV_PINNED_PAGES,
	SGPU_DEV_DEVMEM_USED,
};

static const char *const base_name[NBASE] = {
	"live VMs", "live BOs", "live userptr BOs", "live mappings",
	"live jobs", "pinned pages", "device memory used",
};

/* The counters, and uptr_test's pinned_total as the last one. */
static void counters(int fd, int ufd, __u64 *v)
{
	__u64 all[32] = { };
	struct drm_sgpu_query q = {
		.type = SGPU_QUERY_DEVICE, .values = (uintptr_t)all, .count = 32,
	};
	static struct uptr_test_stats st;
	unsigned int i;

	ioc(fd, DRM_IOCTL_SGPU_QUERY, &q);
	for (i = 0; i < NBASE; i++)
		v[i] = all[base_idx[i]];
	v[NBASE] = ufd >= 0 && !ioc(ufd, UPTR_TEST_STATS, &st) ? st.pinned_total : 0;
}

static void print_help(void)
{
	printf("usage: %s [--seed S] [--duration SEC | --ops N]\n"
	       "                 [--threads T] [--procs P] [--verbose]\n"
	       "  --ops N: N operations per thread (replay): no time limit,\n"
	       "           no exit operation\n", "sgpu_fuzz");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", 1, 0, 's' }, { "ops", 1, 0, 'n' },
		{ "duration", 1, 0, 'd' }, { "threads", 1, 0, 't' },
		{ "procs", 1, 0, 'p' }, { "verbose", 0, 0, 'v' },
		{ "help", 0, 0, 'h' }, { }
	};
	__u64 before[NBASE + 1], after[NBASE + 1];
	pid_t pids[16];
	int gens[16] = { }, c, fd, ufd, st, bad = 0, crashed = 0, tries;
	unsigned int i, alive;
	long long t0;
	long pin0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o.seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			o.ops = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			o.duration = strtoul(optarg, NULL, 0);
			break;
		case 't':
			o.threads = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			o.procs = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			o.verbose = true;
			break;
		default:
			print_help();
		}
	}
	if (!o.threads || o.threads > MAXTHR || !o.procs || o.procs > 16)
		print_help();
	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	ksft_set_plan(2);
	fd = sgpu_open();
	if (fd < 0)
		ksft_exit_skip("no sgpu render node\n");
	ufd = open("/dev/uptr_test", O_RDWR | O_CLOEXEC);
	{
		void *h = mmap(NULL, TWOMEG, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

		has_hugetlb = h != MAP_FAILED;
		if (has_hugetlb)
			munmap(h, TWOMEG);
	}
	nr_nodes = access("/sys/devices/system/node/node1", F_OK) ? 1 : 2;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ksft_exit_fail_msg("mmap shared\n");
	ksft_print_msg("seed %llu, %s %lu, threads %u, procs %u, %s %s, %s %d, %s %s\n",
		       (unsigned long long)o.seed, o.ops ? "ops per thread" : "duration s",
		       o.ops ? o.ops : o.duration, o.threads, o.procs,
		       "hugetlb", has_hugetlb ? "yes" : "no", "nodes", nr_nodes,
		       "uptr_test", ufd >= 0 ? "yes" : "no");
	counters(fd, ufd, before);
	pin0 = vmpin_kb();

	t0 = now_ms();
	t_end = t0 + o.duration * 1000LL;
	for (i = 0; i < o.procs; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			worker(i, 0);
	}
	for (alive = o.procs; alive;) {
		pid_t pid = wait(&st);

		if (pid < 0)
			break;
		for (i = 0; i < o.procs && pids[i] != pid; i++)
			;
		if (i == o.procs)
			continue;
		if (atomic_exchange(&sh->intended_exit[i], 0)) {
			if (now_ms() < t_end - 2000 && !atomic_load(&sh->failed)) {
				pids[i] = fork();
				if (pids[i] == 0)
					worker(i, ++gens[i]);
				gens[i]++;
				continue;
			}
		} else if (WIFSIGNALED(st)) {
			printf("# FAILURE: worker %d generation %d died of signal %d (seed %llu)\n",
			       i, gens[i], WTERMSIG(st), (unsigned long long)o.seed);
			crashed = 1;
		} else if (WEXITSTATUS(st)) {
			crashed |= WEXITSTATUS(st) != 1;
		}
		alive--;
	}
	t0 = now_ms() - t0;
	ksft_print_msg("%lu operations in %.1f s: %.0f ops/s; %lu data checks, %s\n",
		       atomic_load(&sh->ops), t0 / 1000.0,
		       atomic_load(&sh->ops) * 1000.0 / (t0 ? t0 : 1),
		       atomic_load(&sh->checks), "counts below");
	ksft_print_msg("%lu forks, %lu process exits, %lu ioctl errors\n",
		       atomic_load(&sh->forks), atomic_load(&sh->exits),
		       atomic_load(&sh->errs));
	ksft_test_result(!atomic_load(&sh->failed) && !crashed,
			 "operations (seed %llu)\n", (unsigned long long)o.seed);

	/* Everything is closed: the counters come back, allowing 30 s. */
	for (tries = 0; tries < 300; tries++) {
		counters(fd, ufd, after);
		if (!memcmp(before, after, sizeof(after)) && vmpin_kb() == pin0)
			break;
		usleep(100000);
	}
	for (i = 0; i <= NBASE; i++)
		if (before[i] != after[i]) {
			ksft_print_msg("%s: %llu before, %llu after\n",
				       i < NBASE ? base_name[i] : "uptr pinned_total",
				       (unsigned long long)before[i],
				       (unsigned long long)after[i]);
			bad = 1;
		}
	if (vmpin_kb() != pin0) {
		ksft_print_msg("VmPin: %ld kB before, %ld kB after\n", pin0, vmpin_kb());
		bad = 1;
	}
	ksft_test_result(!bad, "counters back to baseline\n");
	ksft_finished();
	return 0;
}
