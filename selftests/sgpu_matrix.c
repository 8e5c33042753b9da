// SPDX-License-Identifier: GPL-2.0
/**
 * DOC: userptr event matrix
 *
 * Does the GPU still see exactly what the CPU sees when the memory behind
 * a bound userptr BO changes?  Every test of the fixture ``matrix`` is one
 * memory event (munmap, mremap, mprotect, madvise, fork, NUMA migration,
 * compaction, THP split/collapse, KSM, device memory, swap, memory
 * pressure, lifetime, races) and every variant one backing memory x one
 * userptr backend:
 *
 * ========= ===========================================================
 * backing   memory mirrored by the BO
 * ========= ===========================================================
 * anon      private anonymous 4 KiB pages (MADV_NOHUGEPAGE)
 * thp       private anonymous, one PMD-mapped THP (MADV_HUGEPAGE)
 * hugetlb   two 2 MiB hugetlbfs pages, MAP_PRIVATE, from libhugetlbfs
 * shmem     a memfd, MAP_SHARED
 * tmpfs     a file on tmpfs (/tmp), MAP_SHARED
 * ext2      a file on ext2 on zram (needs dirty tracking), MAP_SHARED
 * movable   private anonymous memory allocated from ZONE_MOVABLE
 * rdonly    a memfd mapped PROT_READ (a read-only userptr BO)
 * ========= ===========================================================
 *
 * Every test runs the event against two VMs at once, one in fence mode
 * and one in fault mode, each with its own userptr BO of the variant's
 * backend over the same memory and a shmem scratch BO.  verify() checks
 * both directions in both VMs: CPU writes read by the GPU, GPU writes read
 * by the CPU (or refused with -EACCES when the BO is read-only).  The
 * per-event contract -- what the GPU sees, which errno, which counters
 * move -- is docs/matrix.rst; ``sgpu_matrix --matrix`` prints the table
 * of docs/matrix.rst from the tests and variants compiled in here.
 *
 * The teardown is the leak check: after the device file is closed, the
 * device's live VM/BO/mapping/job counters, its pinned pages and its
 * device memory in use (QUERY and debugfs) and this process's VmPin are
 * back where they were before the test.
 *
 * Copyright (c) 2026 The uptr authors
 */

#define _GNU_SOURCE
#include "kselftest_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <hugetlbfs.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "sgpu_lib.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED	2
#endif

#define EXT2_DIR	"/mnt/ext2"
#define EXT2_MAGIC	0xEF53
#define UBO_VA		VA(1)
#define SCRATCH_VA	VA(2)
#define EXTRA_VA	VA(3)
/* The scratch BO: a copy of the userptr BO and one more page (verify()). */
#define SCRATCH_SIZE(self)	((self)->size + PAGE)

enum backing { ANON, THP, HUGETLB, SHMEM, TMPFS, EXT2, MOVABLE, RDONLY };

struct backing_desc {
	const char *name;
	size_t size;		/* bytes mirrored by the BO */
	bool private;		/* MAP_PRIVATE: fork copies it */
	bool anon;		/* private anonymous LRU memory */
	bool file;		/* backed by a file descriptor */
};

static const struct backing_desc backings[] = {
	[ANON]    = { "anon",    64 * PAGE, true,  true,  false },
	[THP]     = { "thp",     TWOMEG,    true,  true,  false },
	[HUGETLB] = { "hugetlb", 2 * TWOMEG, true, false, true },
	[SHMEM]   = { "shmem",   64 * PAGE, false, false, true },
	[TMPFS]   = { "tmpfs",   64 * PAGE, false, false, true },
	[EXT2]    = { "ext2",    64 * PAGE, false, false, true },
	[MOVABLE] = { "movable", 64 * PAGE, true,  true,  false },
	[RDONLY]  = { "rdonly",  64 * PAGE, false, false, true },
};

/* The two VMs of every test. */
#define NR_VMS	2
static const __u32 vm_modes[NR_VMS] = {
	SGPU_VM_MODE_FENCE, SGPU_VM_MODE_FAULT,
};

struct gpu {
	__u32 mode;
	__u32 vm;
	__u32 ubo;	/* userptr BO at UBO_VA */
	__u32 sbo;	/* shmem scratch BO at SCRATCH_VA */
	char *scratch;	/* CPU mapping of sbo */
};

/* Per-BO counters, for "what moved" assertions. */
struct snap {
	__u64 inval[NR_VMS], repins[NR_VMS], faults[NR_VMS];
};

static bool is_pin(__u32 backend)
{
	return backend == SGPU_USERPTR_BACKEND_PIN;
}

/* -------------------------------------------------------------------- */
/* Memory helpers                                                        */

/* A /proc/sys or /sys number; -1 when unreadable. */
static long read_num(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int write_num(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f))
		ret = -errno;
	return ret;
}

/* A field of /proc/meminfo or /proc/vmstat ("Name:" or "name"). */
static long long proc_field(const char *file, const char *name)
{
	char line[160], key[64];
	long long v, sum = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", key, &v) != 2)
			continue;
		if (!strncmp(key, name, strlen(name)) &&
		    (key[strlen(name)] == ':' || !key[strlen(name)]))
			sum = sum < 0 ? v : sum + v;
	}
	fclose(f);
	return sum;
}

/* pagemap entry of a user address (PFNs need CAP_SYS_ADMIN). */
static __u64 pagemap_entry(const void *addr)
{
	__u64 e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (uintptr_t)addr / PAGE * 8) != 8)
		e = 0;
	close(fd);
	return e;
}

#define PM_SWAP		0x4000000000000000ULL	/* bit 62 */
#define PM_PFN		0x007fffffffffffffULL	/* bits 0-54 */

static unsigned long count_swapped(const char *buf, size_t size)
{
	unsigned long n = 0;
	size_t off;

	for (off = 0; off < size; off += PAGE)
		if (pagemap_entry(buf + off) & PM_SWAP)
			n++;
	return n;
}

/* Pages of [buf, buf + size) whose frame lies in a Movable zone. */
static long count_movable(const char *buf, size_t size)
{
	unsigned long start[4], span[4], pfn;
	unsigned int nz = 0, i;
	char line[160];
	bool movable = false;
	long n = 0;
	size_t off;
	FILE *f;

	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && nz < 4) {
		if (!strncmp(line, "Node", 4)) {
			movable = !!strstr(line, "zone  Movable");
			continue;
		}
		if (!movable)
			continue;
		if (sscanf(line, " spanned %lu", &span[nz]) == 1)
			continue;
		if (sscanf(line, " start_pfn: %lu", &start[nz]) == 1)
			nz++;
	}
	fclose(f);
	for (off = 0; off < size; off += PAGE) {
		pfn = pagemap_entry(buf + off) & PM_PFN;
		for (i = 0; i < nz; i++)
			if (pfn && pfn >= start[i] && pfn < start[i] + span[i])
				n++;
	}
	return n;
}

/*
 * The node whose Movable zone has the most free pages, or -1.  movablecore=
 * spreads ZONE_MOVABLE over the nodes, and the hugetlb pool and page cache
 * may have filled one of them.
 */
static int movable_node(void)
{
	unsigned long free, most = 0;
	int node = -1, cur = -1;
	bool movable = false;
	char line[160];
	FILE *f;

	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d,", &cur) == 1) {
			movable = !!strstr(line, "zone  Movable");
			continue;
		}
		if (movable && sscanf(line, " pages free %lu", &free) == 1 &&
		    free > most) {
			most = free;
			node = cur;
		}
	}
	fclose(f);
	return node;
}

/* AnonHugePages of the VMA containing @addr, in kB; -1 if not found. */
static long anon_huge_kb(const void *addr)
{
	unsigned long start, end;
	bool in = false;
	char line[256];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = (uintptr_t)addr >= start && (uintptr_t)addr < end;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* NUMA node of each page (move_pages query); -1 on error. */
static int pages_on_node(const char *buf, size_t size, int node)
{
	unsigned long i, n = size / PAGE;
	void **pages = calloc(n, sizeof(*pages));
	int *status = calloc(n, sizeof(*status));
	int on = 0;

	if (!pages || !status) {
		on = -1;
		goto out;
	}
	for (i = 0; i < n; i++)
		pages[i] = (void *)(buf + i * PAGE);
	if (move_pages(0, n, pages, NULL, status, 0)) {
		on = -1;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (status[i] == node)
			on++;
out:
	free(pages);
	free(status);
	return on;
}

static int node_of(const void *addr)
{
	void *p = (void *)addr;
	int status = -1;

	if (move_pages(0, 1, &p, NULL, &status, 0))
		return -1;
	return status;
}

static bool all_bytes(const char *p, size_t size, unsigned char c)
{
	size_t i;

	for (i = 0; i < size; i++)
		if ((unsigned char)p[i] != c)
			return false;
	return true;
}

/* -------------------------------------------------------------------- */
/* The fixture                                                           */

FIXTURE(matrix) {
	int qfd;		/* counters, stays open across the test */
	int fd;			/* the device file the test uses */
	int bfd;		/* backing file, or -1 */
	const struct backing_desc *b;
	enum backing kind;
	__u32 backend;
	bool gpu_write;		/* the BOs are writable */
	char *resv;		/* VA reservation around buf */
	size_t resv_size;
	char *buf;		/* the mirrored range */
	char *cpu;		/* where the CPU writes (an alias for rdonly) */
	size_t size;
	long movable0;		/* movable: pages in ZONE_MOVABLE at start */
	__u32 seed;		/* last pattern written */
	long vmpin0;
	struct baseline base;
	struct timespec t0;	/* setup start: the test's wall time */
	struct gpu g[NR_VMS];
};

FIXTURE_VARIANT(matrix) {
	enum backing backing;
	__u32 backend;
};

FIXTURE_VARIANT_ADD(matrix, anon_pin) {
	.backing = ANON,
	.backend = SGPU_USERPTR_BACKEND_PIN,
};

FIXTURE_VARIANT_ADD(matrix, anon_fault) {
	.backing = ANON,
	.backend = SGPU_USERPTR_BACKEND_FAULT,
};

FIXTURE_VARIANT_ADD(matrix, thp_pin) {
	.backing = THP,
	.backend = SGPU_USERPTR_BACKEND_PIN,
};

FIXTURE_VARIANT_ADD(matrix, thp_fault) {
	.backing = THP,
	.backend = SGPU_USERPTR_BACKEND_FAULT,
};

FIXTURE_VARIANT_ADD(matrix, hugetlb_pin) {
	.backing = HUGETLB,
	.backend = SGPU_USERPTR_BACKEND_PIN,
};

FIXTURE_VARIANT_ADD(matrix, hugetlb_fault) {
	.backing = HUGETLB,
	.backend = SGPU_USERPTR_BACKEND_FAULT,
};

FIXTURE_VARIANT_ADD(matrix, shmem_pin) {
	.backing = SHMEM,
	.backend = SGPU_USERPTR_BACKEND_PIN,
};

FIXTURE_VARIANT_ADD(matrix, shmem_fault) {
	.backing = SHMEM,
	.backend = SGPU_USERPTR_BACKEND_FAULT,
};

FIXTURE_VARIANT_ADD(matrix, tmpfs_pin) {
	.backing = TMPFS,
	.backend = SGPU_USERPTR_BACKEND_PIN,
};

FIXTURE_VARIANT_ADD(matrix, tmpfs_fault) {
	.backing = TMPFS,
	.backend = SGPU_USERPTR_BACKEND_FAULT,
};

FIXTURE_VARIANT_ADD(matrix, ext2_pin) {
	.backing = EXT2,
	.backend = SGPU_USERPTR_BACKEND_PIN,
};

FIXTURE_VARIANT_ADD(matrix, ext2_fault) {
	.backing = EXT2,
	.backend = SGPU_USERPTR_BACKEND_FAULT,
};

FIXTURE_VARIANT_ADD(matrix, movable_pin) {
	.backing = MOVABLE,
	.backend = SGPU_USERPTR_BACKEND_PIN,
};

FIXTURE_VARIANT_ADD(matrix, movable_fault) {
	.backing = MOVABLE,
	.backend = SGPU_USERPTR_BACKEND_FAULT,
};

FIXTURE_VARIANT_ADD(matrix, rdonly_pin) {
	.backing = RDONLY,
	.backend = SGPU_USERPTR_BACKEND_PIN,
};

FIXTURE_VARIANT_ADD(matrix, rdonly_fault) {
	.backing = RDONLY,
	.backend = SGPU_USERPTR_BACKEND_FAULT,
};

/*
 * Map the backing at @at (MAP_FIXED) with @prot; files from offset @off,
 * so that a re-map shows the same file pages.  Returns 0 or -errno.
 */
static int backing_map(struct _test_data_matrix *self, char *at, size_t size,
		       int prot, off_t off)
{
	int flags = MAP_FIXED;
	void *p;

	switch (self->kind) {
	case ANON:
	case THP:
	case MOVABLE:
		p = mmap(at, size, prot, flags | MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		return madvise(p, size, self->kind == THP ? MADV_HUGEPAGE :
			       MADV_NOHUGEPAGE) ? -errno : 0;
	case HUGETLB:
		flags |= MAP_PRIVATE;
		break;
	default:
		flags |= MAP_SHARED;
		break;
	}
	p = mmap(at, size, prot, flags, self->bfd, off);
	return p == MAP_FAILED ? -errno : 0;
}

/* Open the backing file (files are 2 x size: mremap_grow). */
static int backing_open(struct __test_metadata *_metadata,
			struct _test_data_matrix *self)
{
	char path[64];
	struct statfs sfs;
	int fd = -1;

	switch (self->kind) {
	case HUGETLB:
		if (gethugepagesize() != (long)TWOMEG)
			return -ENOENT;
		fd = hugetlbfs_unlinked_fd();
		return fd < 0 ? -ENOENT : fd;
	case SHMEM:
	case RDONLY:
		fd = memfd_create("sgpu_matrix", MFD_CLOEXEC);
		break;
	case TMPFS:
	case EXT2:
		snprintf(path, sizeof(path), "%s/sgpu_matrix.XXXXXX",
			 self->kind == TMPFS ? "/tmp" : EXT2_DIR);
		if (self->kind == EXT2 &&
		    (statfs(EXT2_DIR, &sfs) || sfs.f_type != EXT2_MAGIC))
			return -ENOENT;
		fd = mkstemp(path);
		if (fd >= 0)
			unlink(path);
		break;
	default:
		return -1;
	}
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 2 * self->size));
	return fd;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * SGPU_MATRIX_TIMING=1 in the environment logs the time since the setup
 * started at each step of the fixture: where a test spends its time.
 */
#define STEP(what)							\
	do {								\
		if (getenv("SGPU_MATRIX_TIMING"))			\
			TH_LOG("%ld ms: %s", ms_since(&self->t0), what); \
	} while (0)

/*
 * The per-backing contract of the events, shared by the tests and the
 * generated table (cell()): -errno the event fails with by design, 0 when
 * it applies.
 */

/* A writable long-term pin of a file that needs dirty tracking. */
static bool writable_pin_refused(enum backing kind, __u32 backend)
{
	return kind == EXT2 && is_pin(backend);
}

/* Growing the mapping in place: hugetlb cannot. */
static int mremap_grow_errno(enum backing kind)
{
	return kind == HUGETLB ? -EINVAL : 0;
}

/* MADV_FREE: private anonymous memory only. */
static int madv_free_errno(enum backing kind)
{
	return backings[kind].anon ? 0 : -EINVAL;
}

/* Splitting a huge mapping with mprotect() of one page: hugetlb cannot. */
static int thp_split_errno(enum backing kind)
{
	return kind == HUGETLB ? -EINVAL : 0;
}

/* MADV_PAGEOUT: hugetlb cannot be paged out. */
static int pageout_errno(enum backing kind)
{
	return kind == HUGETLB ? -EINVAL : 0;
}

/* vmscan keeps long-term pinned anonymous pages: page-out is a no-op. */
static bool pageout_keeps_pins(enum backing kind, __u32 backend)
{
	return backings[kind].anon && is_pin(backend);
}

/* Migration to device memory takes private anonymous memory only. */
static bool devmem_applies(enum backing kind)
{
	return backings[kind].anon;
}

/* The BO flags and bind flags of the variant. */
static __u32 ubo_flags(struct _test_data_matrix *self)
{
	return self->backend | (self->gpu_write ? 0 : SGPU_USERPTR_READ_ONLY);
}

static __u32 bind_flags(struct _test_data_matrix *self)
{
	return self->gpu_write ? 0 : SGPU_BIND_READ_ONLY;
}

/* The protection the range is mapped with. */
static int backing_prot(struct _test_data_matrix *self)
{
	return self->kind == RDONLY ? PROT_READ : PROT_READ | PROT_WRITE;
}

FIXTURE_SETUP(matrix)
{
	unsigned int i;
	size_t align;
	char *p;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &self->t0);
	self->bfd = -1;
	self->fd = -1;
	self->qfd = sgpu_open();
	if (self->qfd < 0)
		SKIP(return, "no sgpu device (drm/sgpu.ko not loaded)");
	baseline_settle(self->qfd, &self->base);
	self->vmpin0 = vmpin_kb();
	self->kind = variant->backing;
	self->b = &backings[self->kind];
	self->backend = variant->backend;
	self->size = self->b->size;
	self->gpu_write = self->kind != RDONLY &&
			  !writable_pin_refused(self->kind, self->backend);

	if (self->b->file) {
		ret = backing_open(_metadata, self);
		if (ret == -ENOENT && self->kind == EXT2)
			SKIP(return, "no ext2 file system at " EXT2_DIR);
		if (ret == -ENOENT)
			SKIP(return, "no 2 MiB hugetlbfs mount (libhugetlbfs)");
		self->bfd = ret;
	}

	/*
	 * Reserve 3 x size + 2 MiB: buf is 2 MiB aligned, the size after it
	 * is kept free for mremap_grow, the rest is slack.
	 */
	align = TWOMEG;
	self->resv_size = 3 * self->size + align;
	self->resv = mmap(NULL, self->resv_size, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->resv);
	self->buf = (char *)(((uintptr_t)self->resv + align - 1) &
			     ~(uintptr_t)(align - 1));
	ASSERT_EQ(0, backing_map(self, self->buf, self->size,
				 backing_prot(self), 0));
	self->cpu = self->buf;
	if (self->kind == MOVABLE) {
		/*
		 * An allocation falls back to another node's zones before
		 * its ZONE_MOVABLE: prefer the node whose Movable zone has
		 * room for the first touch.
		 */
		unsigned long mask;
		int node = movable_node();

		ASSERT_LE(0, node) TH_LOG("no ZONE_MOVABLE (boot with movablecore=)");
		mask = 1UL << node;
		ASSERT_EQ(0, mbind(self->buf, self->size, MPOL_PREFERRED, &mask,
				   sizeof(mask) * 8, 0));
	}
	if (self->kind == RDONLY) {
		p = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->bfd, 0);
		ASSERT_NE(MAP_FAILED, p);
		self->cpu = p;
	}
	STEP("memory mapped");
	self->seed = 1;
	pattern(self->cpu, self->size, self->seed);
	if (self->kind == THP)
		ASSERT_EQ(2048, anon_huge_kb(self->buf))
			TH_LOG("no THP: transparent_hugepage/enabled must allow madvise");
	if (self->kind == MOVABLE) {
		self->movable0 = count_movable(self->buf, self->size);
		ASSERT_LT(0, self->movable0)
			TH_LOG("no page in ZONE_MOVABLE: node %d, first pfn %#llx, movable node %d",
			       node_of(self->buf),
			       pagemap_entry(self->buf) & PM_PFN,
			       movable_node());
	}

	STEP("memory filled");
	self->fd = sgpu_open();
	ASSERT_LE(0, self->fd);
	for (i = 0; i < NR_VMS; i++) {
		struct gpu *g = &self->g[i];

		g->mode = vm_modes[i];
		ASSERT_EQ(0, vm_create(self->fd, g->mode, &g->vm));
		ASSERT_EQ(0, userptr(self->fd, g->vm, self->buf, self->size,
				     ubo_flags(self), &g->ubo));
		ASSERT_EQ(0, bo_create(self->fd, SCRATCH_SIZE(self), &g->sbo));
		g->scratch = bo_mmap(self->fd, g->sbo, SCRATCH_SIZE(self));
		ASSERT_NE(NULL, g->scratch);
		ASSERT_EQ(0, bind_op(self->fd, g->vm, SGPU_BIND_MAP, g->ubo, 0,
				     UBO_VA, self->size, bind_flags(self)));
		ASSERT_EQ(0, map(self->fd, g->vm, g->sbo, SCRATCH_VA,
				 SCRATCH_SIZE(self)));
	}
	STEP("VMs bound");
}

/* Read dri/<minor>/sgpu: the live_* counters must be back at @b. */
static int debugfs_diff(const struct baseline *b)
{
	static const char *const names[] = {
		"live_vms", "live_bos", "live_userptr_bos", "live_mappings",
		"live_jobs",
	};
	char path[96], line[128], key[64];
	unsigned long long v;
	unsigned int i, found = 0;
	int minor, diff = 0;
	FILE *f = NULL;

	for (minor = 0; minor < 64 && !f; minor++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/sgpu",
			 minor);
		f = fopen(path, "r");
	}
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %llu", key, &v) != 2)
			continue;
		for (i = 0; i < ARRAY_SIZE(names); i++) {
			if (strcmp(key, names[i]))
				continue;
			found++;
			/* baseline_idx[] starts with the same five */
			if (v != b->v[i])
				diff = 1;
		}
	}
	fclose(f);
	return found == ARRAY_SIZE(names) ? diff : -1;
}

FIXTURE_TEARDOWN(matrix)
{
	unsigned int i;

	if (self->qfd < 0)
		return;
	STEP("teardown");
	if (self->fd >= 0)
		close(self->fd);
	STEP("device file closed");
	for (i = 0; i < NR_VMS; i++)
		if (self->g[i].scratch)
			munmap(self->g[i].scratch, SCRATCH_SIZE(self));
	if (self->resv && self->resv != MAP_FAILED)
		munmap(self->resv, self->resv_size);
	if (self->cpu && self->cpu != self->buf)
		munmap(self->cpu, self->size);
	if (self->bfd >= 0)
		close(self->bfd);
	STEP("memory unmapped");
	EXPECT_EQ(-1, baseline_diff(self->qfd, &self->base));
	STEP("device counters back");
	EXPECT_EQ(0, debugfs_diff(&self->base));
	EXPECT_EQ(self->vmpin0, vmpin_kb());
	close(self->qfd);
	TH_LOG("%ld ms", ms_since(&self->t0));
}

/* -------------------------------------------------------------------- */
/* GPU helpers                                                           */

static int gpu_copy(struct _test_data_matrix *self, struct gpu *g, __u64 src,
		    __u64 dst, __u64 size, struct drm_sgpu_wait *w)
{
	struct drm_sgpu_cmd c = cmd_copy(src, dst, size);

	return run(self->fd, g->vm, &c, 1, w);
}

/*
 * The contract of a bound, usable userptr, in both VMs: the GPU reads what
 * the CPU wrote and the CPU reads what the GPU wrote (a read-only BO
 * refuses the write with -EACCES and the memory is unchanged).  One job
 * per VM: copy the BO (pattern seed) to the zeroed scratch BO, then copy
 * the scratch BO from its second word back to the BO.  That writes pattern
 * seed + 1, which the CPU did not write and whose every word tells where
 * it belongs; the page after the copy in the scratch BO provides its last
 * word.
 */
static void verify(struct __test_metadata *_metadata,
		   struct _test_data_matrix *self)
{
	struct drm_sgpu_cmd c[2];
	struct drm_sgpu_wait w;
	unsigned int i;
	int ret;

	c[0] = cmd_copy(UBO_VA, SCRATCH_VA, self->size);
	c[1] = cmd_copy(SCRATCH_VA + 4, UBO_VA, self->size);
	for (i = 0; i < NR_VMS; i++) {
		struct gpu *g = &self->g[i];

		pattern(self->cpu, self->size, ++self->seed);
		memset(g->scratch, 0, self->size);
		*(__u32 *)(g->scratch + self->size) =
			pattern_word(self->size / 4, self->seed);
		ret = run(self->fd, g->vm, c, 2, &w);
		if (self->gpu_write) {
			ASSERT_EQ(0, ret) TH_LOG("VM %u: command %u at 0x%llx",
						 i, w.cmd_index, w.fault_addr);
		} else {
			ASSERT_EQ(-EACCES, ret);
			EXPECT_EQ(1, w.cmd_index);
		}
		EXPECT_TRUE(check_pattern(g->scratch, self->size, self->seed))
			TH_LOG("VM %u: the GPU did not read the CPU's data", i);
		if (self->gpu_write)
			self->seed++;
		EXPECT_TRUE(check_pattern(self->buf, self->size, self->seed))
			TH_LOG("VM %u: the CPU does not see the GPU's data", i);
	}
	STEP("verified");
}

/*
 * Both VMs read the BO at once and must see exactly the CPU's current
 * view.
 */
static void gpu_sees_cpu(struct __test_metadata *_metadata,
			 struct _test_data_matrix *self)
{
	struct drm_sgpu_cmd c = cmd_copy(UBO_VA, SCRATCH_VA, self->size);
	struct drm_sgpu_wait w;
	__u64 seqno[NR_VMS];
	unsigned int i;

	for (i = 0; i < NR_VMS; i++) {
		memset(self->g[i].scratch, 0xa5, self->size);
		ASSERT_EQ(0, exec(self->fd, self->g[i].vm, &c, 1, &seqno[i]));
	}
	for (i = 0; i < NR_VMS; i++) {
		ASSERT_EQ(0, wait_job(self->fd, self->g[i].vm, seqno[i], &w));
		ASSERT_EQ(0, w.status);
		EXPECT_EQ(0, memcmp(self->g[i].scratch, self->buf, self->size))
			TH_LOG("VM %u: GPU and CPU views differ", i);
	}
}

static __u64 bo_q(struct _test_data_matrix *self, unsigned int i,
		  unsigned int idx)
{
	return query(self->fd, SGPU_QUERY_BO, self->g[i].ubo, idx);
}

static __u64 dev_q(struct _test_data_matrix *self, unsigned int idx)
{
	return query(self->qfd, SGPU_QUERY_DEVICE, 0, idx);
}

/*
 * A device counter once it reached @want, or its last value after 2 s:
 * the last references of unbound BOs go from the bind jobs' free_job,
 * just after their fence signalled.
 */
static __u64 dev_q_wait(struct _test_data_matrix *self, unsigned int idx,
			__u64 want)
{
	unsigned int tries;
	__u64 v = 0;

	for (tries = 0; tries < 200; tries++) {
		v = dev_q(self, idx);
		if (v == want)
			break;
		usleep(10000);
	}
	return v;
}

static void snap_take(struct _test_data_matrix *self, struct snap *s)
{
	unsigned int i;

	for (i = 0; i < NR_VMS; i++) {
		s->inval[i] = bo_q(self, i, SGPU_BO_INVALIDATIONS);
		s->repins[i] = bo_q(self, i, SGPU_BO_REPINS);
		s->faults[i] = bo_q(self, i, SGPU_BO_GPU_FAULTS);
	}
}

/*
 * After an event that changed the CPU page tables and a verify(): both
 * BOs were invalidated; the fence VM revalidated at EXEC (PIN re-pinned,
 * FAULT re-mirrored), the fault VM through GPU page faults.
 */
static void expect_revalidated(struct __test_metadata *_metadata,
			       struct _test_data_matrix *self,
			       const struct snap *s)
{
	unsigned int i;

	for (i = 0; i < NR_VMS; i++) {
		EXPECT_LT(s->inval[i], bo_q(self, i, SGPU_BO_INVALIDATIONS))
			TH_LOG("VM %u: no invalidation", i);
		if (self->g[i].mode == SGPU_VM_MODE_FENCE) {
			EXPECT_LT(s->repins[i], bo_q(self, i, SGPU_BO_REPINS));
			EXPECT_EQ(s->faults[i],
				  bo_q(self, i, SGPU_BO_GPU_FAULTS));
		} else {
			EXPECT_LT(s->faults[i],
				  bo_q(self, i, SGPU_BO_GPU_FAULTS));
		}
	}
}

/* Nothing reached the BOs: no invalidation, nothing to revalidate. */
static void expect_untouched(struct __test_metadata *_metadata,
			     struct _test_data_matrix *self,
			     const struct snap *s)
{
	unsigned int i;

	for (i = 0; i < NR_VMS; i++) {
		EXPECT_EQ(s->inval[i], bo_q(self, i, SGPU_BO_INVALIDATIONS))
			TH_LOG("VM %u: unexpected invalidation", i);
		EXPECT_EQ(s->repins[i], bo_q(self, i, SGPU_BO_REPINS));
		EXPECT_EQ(s->faults[i], bo_q(self, i, SGPU_BO_GPU_FAULTS));
	}
}

/* PIN holds every page of the fence VM's BO, FAULT holds none. */
static void expect_pins(struct __test_metadata *_metadata,
			struct _test_data_matrix *self)
{
	__u64 pinned = bo_q(self, 0, SGPU_BO_PINNED_PAGES);

	if (is_pin(self->backend)) {
		EXPECT_EQ(self->size / PAGE, pinned);
	} else {
		EXPECT_EQ(0, pinned);
		EXPECT_EQ(0, bo_q(self, 1, SGPU_BO_PINNED_PAGES));
	}
}

/*
 * The BO's memory is gone: fence-mode EXEC refuses the job (-EFAULT,
 * nothing queued), a fault-mode job fails with an unrecoverable fault at
 * @va.  A job that does not reach the BO still runs.
 */
static void expect_gone(struct __test_metadata *_metadata,
			struct _test_data_matrix *self, __u64 va, __u64 size)
{
	struct drm_sgpu_wait w;
	struct drm_sgpu_cmd c;
	unsigned int i;
	__u64 seqno;
	int ret;

	for (i = 0; i < NR_VMS; i++) {
		struct gpu *g = &self->g[i];

		c = cmd_copy(va, SCRATCH_VA, size);
		ret = exec(self->fd, g->vm, &c, 1, &seqno);
		if (g->mode == SGPU_VM_MODE_FENCE) {
			EXPECT_EQ(-EFAULT, ret);
		} else {
			ASSERT_EQ(0, ret);
			ASSERT_EQ(0, wait_job(self->fd, g->vm, seqno, &w));
			EXPECT_EQ(-EFAULT, w.status);
			EXPECT_EQ(va, w.fault_addr);
		}
		c = cmd_fill(SCRATCH_VA, self->size, 0x17171717);
		EXPECT_EQ(0, run(self->fd, g->vm, &c, 1, NULL));
		EXPECT_TRUE(all_bytes(g->scratch, self->size, 0x17));
	}
}

/* -------------------------------------------------------------------- */
/* Events                                                                */

/*
 * madvise(@advice) over the range, which must fail with @expect (a
 * -errno; the BOs keep working) or succeed (@expect 0).  Returns true
 * when it was refused as expected: the test is over.
 */
static bool madvise_refused(struct __test_metadata *_metadata,
			    struct _test_data_matrix *self, int advice,
			    int expect)
{
	int ret = madvise(self->buf, self->size, advice);

	if (!expect) {
		ASSERT_EQ(0, ret) TH_LOG("madvise(%d): errno %d", advice, errno);
		return false;
	}
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(-expect, errno);
	verify(_metadata, self);
	return true;
}

/* Bind and use: the baseline of every cell. */
TEST_F(matrix, use)
{
	__u32 h;

	verify(_metadata, self);
	verify(_metadata, self);
	expect_pins(_metadata, self);
	EXPECT_EQ(0, query(self->fd, SGPU_QUERY_VM, self->g[0].vm,
			   SGPU_VM_GPU_FAULTS));
	EXPECT_LT(0, query(self->fd, SGPU_QUERY_VM, self->g[1].vm,
			   SGPU_VM_GPU_FAULTS));
	if (is_pin(self->backend)) {
		EXPECT_LE(self->vmpin0 + (long)(self->size / 1024),
			  vmpin_kb());
	} else {
		EXPECT_EQ(self->vmpin0, vmpin_kb());
	}

	if (self->kind == EXT2 && is_pin(self->backend)) {
		/* Documented error: no writable long-term pin of a file that
		 * needs dirty tracking.
		 */
		EXPECT_EQ(-EOPNOTSUPP,
			  userptr(self->fd, self->g[0].vm, self->buf,
				  self->size, self->backend, &h));
	}
	if (self->kind == MOVABLE) {
		/* FOLL_LONGTERM migrated the pages out of ZONE_MOVABLE. */
		if (is_pin(self->backend)) {
			EXPECT_EQ(0, count_movable(self->buf, self->size));
		} else {
			EXPECT_EQ(self->movable0,
				  count_movable(self->buf, self->size));
		}
	}
}

/* munmap of the whole range while bound, then the same memory again. */
TEST_F(matrix, munmap_all)
{
	struct snap s;

	verify(_metadata, self);
	snap_take(self, &s);
	ASSERT_EQ(0, munmap(self->buf, self->size));
	expect_gone(_metadata, self, UBO_VA, self->size);
	EXPECT_EQ(0, bo_q(self, 0, SGPU_BO_PINNED_PAGES));
	EXPECT_EQ(0, bo_q(self, 0, SGPU_BO_VALID_PAGES));
	if (self->b->file) {
		/* No GPU write reached the old file pages. */
		char *old = malloc(self->size);

		ASSERT_NE(NULL, old);
		if (self->kind != HUGETLB) {
			ASSERT_EQ((ssize_t)self->size,
				  pread(self->bfd, old, self->size, 0));
			EXPECT_TRUE(check_pattern(old, self->size,
						  self->seed));
		}
		free(old);
	}
	/* Mapped again at the same address: the BO follows. */
	ASSERT_EQ(0, backing_map(self, self->buf, self->size,
				 backing_prot(self), 0));
	EXPECT_TRUE(self->b->private ?
		    all_bytes(self->buf, self->size, 0) :
		    check_pattern(self->buf, self->size, self->seed));
	gpu_sees_cpu(_metadata, self);
	verify(_metadata, self);
	expect_revalidated(_metadata, self, &s);
}

/*
 * munmap of the second half.  Fence mode populates the whole BO, so every
 * EXEC reaching it is refused; in fault mode the mapped half keeps
 * working and the hole faults fatally.
 */
TEST_F(matrix, munmap_part)
{
	const size_t half = self->size / 2;
	struct drm_sgpu_wait w;
	struct snap s;

	verify(_metadata, self);
	snap_take(self, &s);
	ASSERT_EQ(0, munmap(self->buf + half, half));
	expect_gone(_metadata, self, UBO_VA + half, half);
	EXPECT_EQ(-EFAULT, gpu_copy(self, &self->g[0], UBO_VA, SCRATCH_VA,
				    half, NULL));
	memset(self->g[1].scratch, 0, half);
	EXPECT_EQ(0, gpu_copy(self, &self->g[1], UBO_VA, SCRATCH_VA, half,
			      &w));
	EXPECT_TRUE(check_pattern(self->g[1].scratch, half, self->seed));

	/* The same memory back: both VMs work again. */
	ASSERT_EQ(0, backing_map(self, self->buf + half, half,
				 backing_prot(self), half));
	if (self->b->private)
		EXPECT_TRUE(all_bytes(self->buf + half, half, 0));
	gpu_sees_cpu(_metadata, self);
	verify(_metadata, self);
	expect_revalidated(_metadata, self, &s);
}

/*
 * mmap(MAP_FIXED) of other memory over the bound range: the GPU must see
 * the new memory, never the old pages, and write only into the new ones.
 */
TEST_F(matrix, map_fixed_other)
{
	__u32 old_seed;
	struct snap s;
	char *p;

	verify(_metadata, self);
	old_seed = self->seed;
	snap_take(self, &s);
	p = mmap(self->buf, self->size, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_EQ(self->buf, p);
	memset(p, 0x3c, self->size);
	if (self->cpu != self->buf)
		munmap(self->cpu, self->size);
	self->cpu = self->buf;
	gpu_sees_cpu(_metadata, self);
	EXPECT_TRUE(all_bytes(self->g[0].scratch, self->size, 0x3c));
	verify(_metadata, self);
	expect_revalidated(_metadata, self, &s);
	if (self->b->file && self->kind != HUGETLB) {
		/* The old file pages kept the last data of the old mapping. */
		char *old = malloc(self->size);

		ASSERT_NE(NULL, old);
		ASSERT_EQ((ssize_t)self->size,
			  pread(self->bfd, old, self->size, 0));
		EXPECT_TRUE(check_pattern(old, self->size, old_seed));
		free(old);
	}
}

/* mremap away (the BO sees a hole) and back (the BO follows). */
TEST_F(matrix, mremap_move)
{
	size_t tsize = self->size + TWOMEG;
	char *t, *to, *p;
	struct snap s;

	verify(_metadata, self);
	t = mmap(NULL, tsize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, t);
	to = (char *)(((uintptr_t)t + TWOMEG - 1) & ~(TWOMEG - 1));
	snap_take(self, &s);
	p = mremap(self->buf, self->size, self->size,
		   MREMAP_MAYMOVE | MREMAP_FIXED, to);
	ASSERT_EQ(to, p);
	EXPECT_TRUE(check_pattern(to, self->size, self->seed));
	expect_gone(_metadata, self, UBO_VA, self->size);
	p = mremap(to, self->size, self->size, MREMAP_MAYMOVE | MREMAP_FIXED,
		   self->buf);
	ASSERT_EQ(self->buf, p);
	gpu_sees_cpu(_metadata, self);
	EXPECT_TRUE(check_pattern(self->g[1].scratch, self->size, self->seed));
	verify(_metadata, self);
	expect_revalidated(_metadata, self, &s);
	munmap(t, tsize);
}

/*
 * mremap growing in place: the bound range is untouched (no invalidation)
 * and a BO over the grown range works.  hugetlb cannot grow (-EINVAL).
 */
TEST_F(matrix, mremap_grow)
{
	struct drm_sgpu_cmd c;
	struct snap s;
	__u32 h;
	void *p;

	verify(_metadata, self);
	snap_take(self, &s);
	ASSERT_EQ(0, munmap(self->buf + self->size, self->size));
	p = mremap(self->buf, self->size, 2 * self->size, 0);
	if (mremap_grow_errno(self->kind)) {
		EXPECT_EQ(MAP_FAILED, p);
		EXPECT_EQ(-mremap_grow_errno(self->kind), errno);
		verify(_metadata, self);
		expect_untouched(_metadata, self, &s);
		return;
	}
	ASSERT_EQ(self->buf, p);
	EXPECT_TRUE(check_pattern(self->buf, self->size, self->seed));
	verify(_metadata, self);
	expect_untouched(_metadata, self, &s);

	/* The grown tail, through a BO of the fault VM. */
	ASSERT_EQ(0, userptr(self->fd, self->g[1].vm, self->buf,
			     2 * self->size, ubo_flags(self), &h));
	ASSERT_EQ(0, bind_op(self->fd, self->g[1].vm, SGPU_BIND_MAP, h, 0,
			     EXTRA_VA, 2 * self->size, bind_flags(self)));
	c = cmd_copy(EXTRA_VA + self->size, SCRATCH_VA, self->size);
	memset(self->g[1].scratch, 0x5a, self->size);
	EXPECT_EQ(0, run(self->fd, self->g[1].vm, &c, 1, NULL));
	EXPECT_EQ(0, memcmp(self->g[1].scratch, self->buf + self->size,
			    self->size));
	/* Shrink back for the teardown's reservation bookkeeping. */
	ASSERT_EQ(0, unmap(self->fd, self->g[1].vm, EXTRA_VA,
			   2 * self->size));
	ASSERT_EQ(self->buf, mremap(self->buf, 2 * self->size, self->size, 0));
}

/*
 * mprotect to read-only and back.  A writable BO over read-only memory:
 * fence mode refuses the EXEC (-EACCES, the BO is populated for write);
 * fault mode reads, and a GPU write fails with -EACCES.
 */
TEST_F(matrix, mprotect_ro_rw)
{
	struct drm_sgpu_wait w;
	struct snap s;
	int ret;

	verify(_metadata, self);
	snap_take(self, &s);
	ASSERT_EQ(0, mprotect(self->buf, self->size, PROT_READ));
	if (self->gpu_write) {
		EXPECT_EQ(-EACCES, gpu_copy(self, &self->g[0], UBO_VA,
					    SCRATCH_VA, self->size, NULL));
		EXPECT_EQ(0, gpu_copy(self, &self->g[1], UBO_VA, SCRATCH_VA,
				      self->size, NULL));
		EXPECT_TRUE(check_pattern(self->g[1].scratch, self->size,
					  self->seed));
		ret = gpu_copy(self, &self->g[1], SCRATCH_VA, UBO_VA,
			       self->size, &w);
		EXPECT_EQ(-EACCES, ret);
		EXPECT_TRUE(check_pattern(self->buf, self->size, self->seed));
	} else {
		gpu_sees_cpu(_metadata, self);
	}
	ASSERT_EQ(0, mprotect(self->buf, self->size, backing_prot(self)));
	verify(_metadata, self);
	if (self->gpu_write)
		expect_revalidated(_metadata, self, &s);
}

/* MADV_DONTNEED: private memory reads back as zeroes, shared keeps data. */
TEST_F(matrix, madv_dontneed)
{
	struct snap s;

	verify(_metadata, self);
	snap_take(self, &s);
	ASSERT_EQ(0, madvise(self->buf, self->size, MADV_DONTNEED));
	gpu_sees_cpu(_metadata, self);
	EXPECT_TRUE(self->b->private ?
		    all_bytes(self->buf, self->size, 0) :
		    check_pattern(self->buf, self->size, self->seed));
	verify(_metadata, self);
	expect_revalidated(_metadata, self, &s);
}

/*
 * MADV_FREE (private anonymous memory only, else -EINVAL) then
 * MADV_PAGEOUT: the lazily freed pages are discarded and read as zeroes,
 * by the CPU and the GPU alike.
 */
TEST_F(matrix, madv_free)
{
	struct snap s;
	long long lazy;

	verify(_metadata, self);
	snap_take(self, &s);
	if (madvise_refused(_metadata, self, MADV_FREE,
			    madv_free_errno(self->kind)))
		return;
	/*
	 * MADV_FREE queues its folios in per-CPU batches, and a folio still
	 * in another CPU's batch is not lazily freed yet: reclaim would swap
	 * it out instead of discarding it.  Drain them all first.
	 */
	ASSERT_EQ(0, lru_drain_all(self->buf, self->size));
	lazy = vmstat_event("pglazyfreed");
	ASSERT_EQ(0, madvise(self->buf, self->size, MADV_PAGEOUT));
	/*
	 * Reclaim really discarded lazily freed pages (a PIN lost its
	 * pins).  Not necessarily all of them: a folio another CPU holds
	 * isolated or locked at that moment is skipped by MADV_PAGEOUT
	 * (seen: 57 of 64 in one run), and the test is about what the GPU
	 * sees after those that were.
	 */
	if (lazy >= 0) {
		lazy = vmstat_event("pglazyfreed") - lazy;
		TH_LOG("%lld of %zu pages discarded", lazy, self->size / PAGE);
		EXPECT_LT(0, lazy);
	}
	gpu_sees_cpu(_metadata, self);
	EXPECT_FALSE(check_pattern(self->buf, self->size, self->seed));
	verify(_metadata, self);
	expect_revalidated(_metadata, self, &s);
}

/* -errno of MADV_REMOVE per backing (0: the range is punched out). */
static int madv_remove_errno(enum backing kind)
{
	switch (kind) {
	case SHMEM:
	case TMPFS:
		return 0;
	case RDONLY:		/* mapped read-only, but may be written */
		return 0;
	case HUGETLB:		/* private file mapping */
		return -EACCES;
	case EXT2:		/* no FALLOC_FL_PUNCH_HOLE */
		return -EOPNOTSUPP;
	default:		/* anonymous */
		return -EINVAL;
	}
}

TEST_F(matrix, madv_remove)
{
	struct snap s;

	verify(_metadata, self);
	snap_take(self, &s);
	if (madvise_refused(_metadata, self, MADV_REMOVE,
			    madv_remove_errno(self->kind)))
		return;
	EXPECT_TRUE(all_bytes(self->buf, self->size, 0));
	gpu_sees_cpu(_metadata, self);
	verify(_metadata, self);
	expect_revalidated(_metadata, self, &s);
}

/*
 * fork: the child writes its view of the range and cannot use the
 * parent's BOs (-EPERM).  The parent keeps using them and sees its own
 * data (private memory, fork copied it) or the child's (shared memory).
 */
TEST_F(matrix, fork)
{
	struct drm_sgpu_cmd c;
	__u32 parent_seed;
	int status;
	pid_t pid;

	verify(_metadata, self);
	parent_seed = self->seed;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		__u64 seqno;

		pattern(self->cpu, self->size, 1000);
		c = cmd_copy(UBO_VA, SCRATCH_VA, self->size);
		CHILD_CHECK(exec(self->fd, self->g[0].vm, &c, 1, &seqno) ==
			    -EPERM);
		CHILD_CHECK(exec(self->fd, self->g[1].vm, &c, 1, &seqno) ==
			    -EPERM);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	gpu_sees_cpu(_metadata, self);
	EXPECT_TRUE(check_pattern(self->g[0].scratch, self->size,
				  self->b->private ? parent_seed : 1000));
	verify(_metadata, self);
}

/* MADV_DONTFORK: the child gets no copy, the BOs are not even touched. */
TEST_F(matrix, fork_dontfork)
{
	struct snap s;
	int status;
	pid_t pid;

	verify(_metadata, self);
	ASSERT_EQ(0, madvise(self->buf, self->size, MADV_DONTFORK));
	snap_take(self, &s);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Not mapped in the child. */
		CHILD_CHECK(madvise(self->buf, PAGE, MADV_NORMAL) == -1 &&
			    errno == ENOMEM);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	gpu_sees_cpu(_metadata, self);
	expect_untouched(_metadata, self, &s);
	verify(_metadata, self);
	expect_untouched(_metadata, self, &s);
	ASSERT_EQ(0, madvise(self->buf, self->size, MADV_DOFORK));
}

/* The NUMA node every page of buf is moved to: the other one. */
static int numa_target(struct __test_metadata *_metadata,
		       struct _test_data_matrix *self)
{
	int node;

	if (numa_available() < 0 || numa_max_node() < 1)
		SKIP(return -1, "needs two NUMA nodes");
	node = node_of(self->buf);
	ASSERT_LE(0, node);
	return !node;
}

/*
 * NUMA migration with move_pages(MPOL_MF_MOVE_ALL): every page moves (PIN
 * drops its pins in the notifier, so migration succeeds) and both
 * backends see the moved pages: PIN by re-pinning at the next EXEC or
 * fault, FAULT by re-mirroring.
 */
TEST_F(matrix, numa_move_pages)
{
	unsigned long i, n = self->size / PAGE;
	void **pages;
	int *nodes, *status, target;
	struct snap s;

	verify(_metadata, self);
	target = numa_target(_metadata, self);
	if (target < 0)
		return;
	pages = calloc(n, sizeof(*pages));
	nodes = calloc(n, sizeof(*nodes));
	status = calloc(n, sizeof(*status));
	ASSERT_TRUE(pages && nodes && status);
	for (i = 0; i < n; i++) {
		pages[i] = self->buf + i * PAGE;
		nodes[i] = target;
	}
	snap_take(self, &s);
	ASSERT_EQ(0, move_pages(0, n, pages, nodes, status,
				MPOL_MF_MOVE_ALL));
	EXPECT_EQ((int)n, pages_on_node(self->buf, self->size, target));
	gpu_sees_cpu(_metadata, self);
	verify(_metadata, self);
	expect_revalidated(_metadata, self, &s);
	free(pages);
	free(nodes);
	free(status);
}

/* The same through mbind(MPOL_BIND, MPOL_MF_MOVE_ALL). */
TEST_F(matrix, numa_mbind)
{
	unsigned long mask;
	struct snap s;
	int target;

	verify(_metadata, self);
	target = numa_target(_metadata, self);
	if (target < 0)
		return;
	mask = 1UL << target;
	snap_take(self, &s);
	ASSERT_EQ(0, mbind(self->buf, self->size, MPOL_BIND, &mask,
			   sizeof(mask) * 8, MPOL_MF_MOVE_ALL | MPOL_MF_STRICT));
	EXPECT_EQ((int)(self->size / PAGE),
		  pages_on_node(self->buf, self->size, target));
	gpu_sees_cpu(_metadata, self);
	verify(_metadata, self);
	expect_revalidated(_metadata, self, &s);
}

/*
 * Compaction: migrates whatever it can; data stays right.  Long-term
 * pinned anonymous pages are never isolated, so a PIN BO over anonymous
 * memory is not even invalidated.
 */
TEST_F(matrix, compaction)
{
	struct snap s;

	verify(_metadata, self);
	snap_take(self, &s);
	ASSERT_EQ(0, write_num("/proc/sys/vm/compact_memory", 1));
	gpu_sees_cpu(_metadata, self);
	if (is_pin(self->backend) && self->b->anon)
		EXPECT_EQ(s.inval[0], bo_q(self, 0, SGPU_BO_INVALIDATIONS));
	verify(_metadata, self);
}

/*
 * THP split: mprotect of one 4 KiB page inside the range and back splits
 * the PMD mapping (hugetlb: -EINVAL, a huge page cannot be split).
 */
TEST_F(matrix, thp_split)
{
	long long split;
	struct snap s;
	int ret;

	verify(_metadata, self);
	snap_take(self, &s);
	split = vmstat_event("thp_split_pmd");
	ret = mprotect(self->buf + PAGE, PAGE, PROT_READ);
	if (thp_split_errno(self->kind)) {
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(-thp_split_errno(self->kind), errno);
		verify(_metadata, self);
		expect_untouched(_metadata, self, &s);
		return;
	}
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, mprotect(self->buf + PAGE, PAGE, backing_prot(self)));
	if (self->kind == THP) {
		EXPECT_EQ(0, anon_huge_kb(self->buf));
		if (split >= 0)
			EXPECT_LE(split + 1, vmstat_event("thp_split_pmd"));
	}
	gpu_sees_cpu(_metadata, self);
	verify(_metadata, self);
	if (self->gpu_write)
		expect_revalidated(_metadata, self, &s);
}

/* -errno of MADV_COLLAPSE per backing and backend (0: collapsed). */
static int collapse_errno(enum backing kind, __u32 backend)
{
	switch (kind) {
	case THP:
		/* long-term pinned pages cannot be collapsed */
		return is_pin(backend) ? -EAGAIN : 0;
	default:
		/* MADV_NOHUGEPAGE, hugetlb, files without THP, < 2 MiB */
		return -EINVAL;
	}
}

/* THP collapse (MADV_COLLAPSE) of a split THP. */
TEST_F(matrix, thp_collapse)
{
	int ret, tries, expect = collapse_errno(self->kind, self->backend);
	long long alloc;
	struct snap s;

	verify(_metadata, self);
	/*
	 * Split the PMD mapping.  khugepaged may collapse the range again
	 * while the jobs of verify() run, and MADV_COLLAPSE would then have
	 * nothing to do: split again until it is still split once the BOs
	 * are valid again.
	 */
	for (tries = 0; self->kind == THP && tries < 5; tries++) {
		ASSERT_EQ(0, mprotect(self->buf + PAGE, PAGE, PROT_READ));
		ASSERT_EQ(0, mprotect(self->buf + PAGE, PAGE,
				      PROT_READ | PROT_WRITE));
		ASSERT_EQ(0, anon_huge_kb(self->buf));
		verify(_metadata, self);
		if (!anon_huge_kb(self->buf))
			break;
		TH_LOG("khugepaged collapsed the split THP first, again");
	}
	snap_take(self, &s);
	alloc = vmstat_event("thp_collapse_alloc");
	ret = madvise(self->buf, self->size, MADV_COLLAPSE);
	if (expect) {
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(-expect, errno);
	} else {
		EXPECT_EQ(0, ret);
		EXPECT_EQ(2048, anon_huge_kb(self->buf));
		/* A new huge page, not the old one mapped again. */
		if (alloc >= 0)
			EXPECT_LE(alloc + 1, vmstat_event("thp_collapse_alloc"));
	}
	gpu_sees_cpu(_metadata, self);
	verify(_metadata, self);
	if (!expect)
		expect_revalidated(_metadata, self, &s);
}

#define KSM	"/sys/kernel/mm/ksm/"

/*
 * Does ksmd merge the range?  Only private anonymous memory is mergeable,
 * and a THP must be split first, which a long-term pin prevents.
 */
static bool ksm_merges(enum backing kind, __u32 backend)
{
	return backings[kind].anon && !(kind == THP && is_pin(backend));
}

/*
 * KSM: identical private anonymous pages are merged even while bound
 * (PIN drops its pins in the notifier); the GPU reads the merged pages,
 * and a GPU write breaks the sharing again.  Other memory, and a pinned
 * THP, is not merged: after three full scans nothing changed.
 */
TEST_F_TIMEOUT(matrix, ksm, 120)
{
	bool merges = ksm_merges(self->kind, self->backend);
	long sharing0, scans0, sharing = 0, want;
	struct timespec t0;
	struct snap s;
	char *other;
	long smart;

	if (read_num(KSM "run") < 0)
		SKIP(return, "no KSM");
	verify(_metadata, self);
	memset(self->cpu, 0x42, self->size);
	/*
	 * n identical pages end up as ceil(n / max_page_sharing) KSM pages,
	 * each shared by the others: n minus that many are "sharing".
	 */
	if (merges) {
		long n = self->size / PAGE, m = read_num(KSM "max_page_sharing");

		ASSERT_LT(1, m);
		want = n - (n + m - 1) / m;
	} else {
		want = 0;
	}
	sharing0 = read_num(KSM "pages_sharing");
	scans0 = read_num(KSM "full_scans");
	snap_take(self, &s);
	ASSERT_EQ(0, madvise(self->buf, self->size, MADV_MERGEABLE));
	/*
	 * MADV_MERGEABLE on memory KSM cannot merge registers nothing: give
	 * ksmd one mergeable page of this process, so that its full scans,
	 * which bound the wait, go on.
	 */
	other = anon(PAGE);
	ASSERT_NE(NULL, other);
	memset(other, 1, PAGE);
	ASSERT_EQ(0, madvise(other, PAGE, MADV_MERGEABLE));
	ASSERT_EQ(0, write_num(KSM "pages_to_scan", 4096));
	ASSERT_EQ(0, write_num(KSM "sleep_millisecs", 10));
	/*
	 * smart_scan skips, for a growing number of scans, a page that did
	 * not merge when first seen, such as a subpage of the THP that KSM
	 * had to split first: scan every page every time.
	 */
	smart = read_num(KSM "smart_scan");
	if (smart > 0)
		ASSERT_EQ(0, write_num(KSM "smart_scan", 0));
	ASSERT_EQ(0, write_num(KSM "run", 1));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		usleep(20000);
		sharing = read_num(KSM "pages_sharing") - sharing0;
	} while (!(merges && sharing >= want) &&
		 read_num(KSM "full_scans") < scans0 + (merges ? 8 : 3) &&
		 ms_since(&t0) < 60000);
	ASSERT_EQ(0, write_num(KSM "run", 0));
	if (smart > 0)
		write_num(KSM "smart_scan", smart);
	EXPECT_EQ(want, sharing);
	if (!merges)
		expect_untouched(_metadata, self, &s);
	gpu_sees_cpu(_metadata, self);
	EXPECT_TRUE(all_bytes(self->g[1].scratch, self->size, 0x42));
	verify(_metadata, self);
	if (merges)
		expect_revalidated(_metadata, self, &s);
	EXPECT_EQ(0, madvise(self->buf, self->size, MADV_UNMERGEABLE));
	munmap(other, PAGE);
	ASSERT_EQ(0, write_num(KSM "run", 2));
}

/*
 * Device memory: MIGRATE moves private anonymous pages into the GPU's
 * DEVICE_PRIVATE memory (other memory: nothing moves).  FAULT mirrors the
 * device pages and the engine uses them in place; a PIN populate brings
 * them back to system memory through GUP (migrate_to_ram), so does any
 * CPU access.  Either way every reader sees the same data.
 */
TEST_F(matrix, devmem)
{
	struct drm_sgpu_migrate m = {
		.direction = SGPU_MIGRATE_TO_DEVICE,
		.size = self->size,
	};
	__u64 back0, moved = 0;
	unsigned int tries;
	struct snap s;
	__u32 h;
	int ret;

	verify(_metadata, self);
	/* A FAULT BO to migrate with: PIN BOs would hold the pages. */
	ASSERT_EQ(0, userptr(self->fd, self->g[1].vm, self->buf, self->size,
			     SGPU_USERPTR_BACKEND_FAULT |
			     SGPU_USERPTR_READ_ONLY, &h));
	m.handle = h;
	snap_take(self, &s);
	back0 = dev_q(self, SGPU_DEV_CPU_MIGRATIONS);
	/*
	 * Best effort (uapi.rst): a page with a transient extra reference is
	 * skipped.  The PIN fault-mode BO's fault worker pinned the pages from
	 * another CPU, whose LRU batch may hold such a reference on each
	 * folio it activated: drain every CPU's, then move what is left.
	 */
	for (tries = 0; tries < 3 && moved < self->size / PAGE; tries++) {
		if (tries)
			ASSERT_EQ(0, lru_drain_all(self->buf, self->size));
		ret = ioc(self->fd, DRM_IOCTL_SGPU_MIGRATE, &m);
		if (ret == -EOPNOTSUPP)
			SKIP(return, "no device memory (CONFIG_DEVICE_PRIVATE)");
		ASSERT_EQ(0, ret);
		moved += m.migrated;
		if (!devmem_applies(self->kind))
			break;
	}
	if (!devmem_applies(self->kind)) {
		/* Shared and hugetlb mappings are skipped: not even walked. */
		EXPECT_EQ(0, moved);
		verify(_metadata, self);
		expect_untouched(_metadata, self, &s);
		return;
	}
	TH_LOG("%llu of %zu pages moved in %u MIGRATE calls", moved,
	       self->size / PAGE, tries);
	EXPECT_EQ(self->size / PAGE, moved);
	EXPECT_LE(moved, dev_q(self, SGPU_DEV_DEVMEM_USED) -
		  self->base.v[6]);
	/* Migration invalidated the PIN BOs: they released every pin. */
	EXPECT_EQ(self->base.v[5], dev_q(self, SGPU_DEV_PINNED_PAGES));

	/* GPU reads first, in both VMs. */
	memset(self->g[0].scratch, 0, self->size);
	memset(self->g[1].scratch, 0, self->size);
	ASSERT_EQ(0, gpu_copy(self, &self->g[0], UBO_VA, SCRATCH_VA,
			      self->size, NULL));
	ASSERT_EQ(0, gpu_copy(self, &self->g[1], UBO_VA, SCRATCH_VA,
			      self->size, NULL));
	EXPECT_TRUE(check_pattern(self->g[0].scratch, self->size,
				  self->seed));
	EXPECT_TRUE(check_pattern(self->g[1].scratch, self->size,
				  self->seed));
	if (is_pin(self->backend)) {
		EXPECT_EQ(0, bo_q(self, 0, SGPU_BO_DEVICE_PAGES));
		EXPECT_LE(back0 + moved,
			  dev_q(self, SGPU_DEV_CPU_MIGRATIONS));
	} else {
		EXPECT_EQ(moved, bo_q(self, 1, SGPU_BO_DEVICE_PAGES));
		EXPECT_EQ(back0, dev_q(self, SGPU_DEV_CPU_MIGRATIONS));
	}
	/* The CPU reads them back. */
	EXPECT_TRUE(check_pattern(self->buf, self->size, self->seed));
	EXPECT_LE(back0 + moved, dev_q(self, SGPU_DEV_CPU_MIGRATIONS));
	verify(_metadata, self);
	expect_revalidated(_metadata, self, &s);
}

/*
 * Reclaim: MADV_PAGEOUT of the bound range to zram swap.  Long-term
 * pinned anonymous pages are never reclaimed (vmscan skips a maybe-pinned
 * anonymous folio before it unmaps anything): a PIN BO over anonymous
 * memory is untouched.  Otherwise the pages go to swap and the GPU swaps
 * them in through its own populate or fault path and must read the data,
 * before the CPU touches anything.
 */
TEST_F(matrix, pageout)
{
	unsigned long swapped;
	struct snap s;
	unsigned int i;
	long long swp;

	if (proc_field("/proc/meminfo", "SwapTotal") <= 0)
		SKIP(return, "no swap");
	verify(_metadata, self);
	snap_take(self, &s);
	swp = vmstat_event("pswpout");
	if (madvise_refused(_metadata, self, MADV_PAGEOUT,
			    pageout_errno(self->kind)))
		return;
	if (swp >= 0)
		swp = vmstat_event("pswpout") - swp;
	swapped = count_swapped(self->buf, self->size);
	TH_LOG("MADV_PAGEOUT: %lld pages swapped out, %lu of the range",
	       swp, swapped);
	if (pageout_keeps_pins(self->kind, self->backend)) {
		EXPECT_EQ(0, swapped);
		expect_untouched(_metadata, self, &s);
	} else if (self->b->anon) {
		EXPECT_LT(0, swapped);
		/* Written to swap, not only unmapped. */
		if (swp >= 0)
			EXPECT_LE((long long)swapped, swp);
	}
	for (i = 0; i < NR_VMS; i++) {
		memset(self->g[i].scratch, 0, self->size);
		ASSERT_EQ(0, gpu_copy(self, &self->g[i], UBO_VA, SCRATCH_VA,
				      self->size, NULL));
		EXPECT_TRUE(check_pattern(self->g[i].scratch, self->size,
					  self->seed));
	}
	verify(_metadata, self);
	if (pageout_keeps_pins(self->kind, self->backend))
		expect_untouched(_metadata, self, &s);
	else if (self->b->anon)
		expect_revalidated(_metadata, self, &s);
}

/*
 * Reclaim pressure from a second process, bounded in time: for a second
 * it pages the range out (process_madvise(MADV_PAGEOUT) through a pidfd)
 * again and again while this process keeps running jobs on both VMs.
 * Every job sees the right data.  FAULT anonymous memory is reclaimed
 * under the jobs (revalidated); long-term pinned anonymous memory is
 * mostly kept, but repeated page-outs may split a pinned THP's PMD, whose
 * invalidation drops the pins; hugetlb is refused (-EINVAL).
 */
TEST_F_TIMEOUT(matrix, pressure, 120)
{
	int expect = pageout_errno(self->kind);
	long res[2] = { 0, 0 };	/* successful calls, last -errno */
	int status, rounds = 0, p[2];
	pid_t parent = getpid(), pid;
	struct snap s;
	long long swp;

	if (proc_field("/proc/meminfo", "SwapTotal") <= 0)
		SKIP(return, "no swap");
	verify(_metadata, self);
	snap_take(self, &s);
	swp = vmstat_event("pswpout");
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct iovec iov = { .iov_base = self->buf,
				     .iov_len = self->size };
		struct timespec t0;
		int pidfd;

		/*
		 * Not a user of the device: without its copies of the files,
		 * the VMs go away with this test's process even if it dies.
		 */
		close(self->fd);
		close(self->qfd);
		close(p[0]);
		pidfd = syscall(SYS_pidfd_open, parent, 0);
		CHILD_CHECK(pidfd >= 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			if (syscall(SYS_process_madvise, pidfd, &iov, 1,
				    MADV_PAGEOUT, 0) >= 0)
				res[0]++;
			else
				res[1] = -errno;
			usleep(10000);
		} while (ms_since(&t0) < 1000);
		CHILD_CHECK(write(p[1], res, sizeof(res)) == sizeof(res));
		_exit(0);
	}
	close(p[1]);
	do {
		verify(_metadata, self);
		rounds++;
	} while (!waitpid(pid, &status, WNOHANG));
	EXPECT_EQ(0, status);
	ASSERT_EQ(sizeof(res), read(p[0], res, sizeof(res)));
	close(p[0]);
	if (swp >= 0)
		swp = vmstat_event("pswpout") - swp;
	TH_LOG("%d rounds, %ld page-outs, %lld swapped; fault VM: %llu invals, %llu GPU faults",
	       rounds, res[0], swp,
	       bo_q(self, 1, SGPU_BO_INVALIDATIONS) - s.inval[1],
	       bo_q(self, 1, SGPU_BO_GPU_FAULTS) - s.faults[1]);
	if (expect) {
		EXPECT_EQ(0, res[0]);
		EXPECT_EQ(expect, res[1]);
	} else {
		EXPECT_LT(0, res[0]);
	}
	/* FAULT anonymous memory really went to swap under the jobs. */
	if (self->b->anon && !is_pin(self->backend) && swp >= 0)
		EXPECT_LT(0, swp);
	gpu_sees_cpu(_metadata, self);
	verify(_metadata, self);
	if (self->b->anon && !is_pin(self->backend))
		expect_revalidated(_metadata, self, &s);
}

/*
 * A process exits with jobs in flight on its own VMs and userptrs over
 * its copy of the range: everything it had is torn down.
 */
TEST_F_TIMEOUT(matrix, exit_in_flight, 120)
{
	struct baseline before;
	int status;
	pid_t pid;

	verify(_metadata, self);
	/*
	 * The jobs of verify() have signalled, but drm_sched frees them
	 * later: a plain reading could count one that is gone by the end.
	 */
	baseline_settle(self->qfd, &before);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct drm_sgpu_cmd c[4];
		__u32 vm, h, sbo;
		unsigned int i, k;
		__u64 seqno;
		int fd = sgpu_open();

		CHILD_CHECK(fd >= 0);
		for (i = 0; i < NR_VMS; i++) {
			CHILD_CHECK(!vm_create(fd, vm_modes[i], &vm));
			CHILD_CHECK(!userptr(fd, vm, self->buf, self->size,
					     ubo_flags(self), &h));
			CHILD_CHECK(!bo_create(fd, self->size, &sbo));
			CHILD_CHECK(!bind_op(fd, vm, SGPU_BIND_MAP, h, 0,
					     UBO_VA, self->size,
					     bind_flags(self)));
			CHILD_CHECK(!map(fd, vm, sbo, SCRATCH_VA, self->size));
			for (k = 0; k < 4; k++)
				c[k] = cmd_copy(UBO_VA, SCRATCH_VA, self->size);
			for (k = 0; k < 2; k++)
				CHILD_CHECK(!exec(fd, vm, c, 4, &seqno));
		}
		_exit(0);	/* with the jobs in flight */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	/*
	 * fork may have dropped some of our own pins (a pinned THP's PMD is
	 * split to copy it for the child): compare after our BOs are whole
	 * again, as they were when @before was taken.
	 */
	verify(_metadata, self);
	EXPECT_EQ(-1, baseline_diff(self->qfd, &before));
}

/* BO handles closed with mappings bound: the mappings keep them alive. */
TEST_F(matrix, close_with_mappings)
{
	__u64 bos;
	unsigned int i;

	verify(_metadata, self);
	bos = dev_q(self, SGPU_DEV_LIVE_USERPTR_BOS);
	for (i = 0; i < NR_VMS; i++)
		ASSERT_EQ(0, gem_close(self->fd, self->g[i].ubo));
	EXPECT_EQ(bos, dev_q(self, SGPU_DEV_LIVE_USERPTR_BOS));
	verify(_metadata, self);
	for (i = 0; i < NR_VMS; i++)
		ASSERT_EQ(0, unmap(self->fd, self->g[i].vm, UBO_VA,
				   self->size));
	EXPECT_EQ(bos - NR_VMS,
		  dev_q_wait(self, SGPU_DEV_LIVE_USERPTR_BOS, bos - NR_VMS));
	EXPECT_EQ(self->base.v[5],
		  dev_q_wait(self, SGPU_DEV_PINNED_PAGES, self->base.v[5]));
	EXPECT_EQ(self->vmpin0, vmpin_kb());
}

/*
 * Unbind while a job runs on the BO.  Once the UNMAP's fence signalled,
 * the engine never touches the memory again: CPU data written after it
 * stays, and a later job on that VA fails with -EFAULT.
 */
TEST_F(matrix, unbind_running)
{
	struct drm_sgpu_cmd c[8];
	struct drm_sgpu_vm_bind b = { .op = SGPU_BIND_UNMAP };
	struct drm_sgpu_wait w;
	unsigned int i, k;
	__u64 seqno;

	verify(_metadata, self);
	for (i = 0; i < NR_VMS; i++) {
		struct gpu *g = &self->g[i];

		for (k = 0; k < 8; k++)
			c[k] = self->gpu_write ?
			       cmd_copy(SCRATCH_VA, UBO_VA, self->size) :
			       cmd_copy(UBO_VA, SCRATCH_VA, self->size);
		ASSERT_EQ(0, exec(self->fd, g->vm, c, 8, &seqno));
		b.vm_id = g->vm;
		b.addr = UBO_VA;
		b.range = self->size;
		b.out_sync = syncobj_create(self->fd);
		ASSERT_NE(0, b.out_sync);
		ASSERT_EQ(0, ioc(self->fd, DRM_IOCTL_SGPU_VM_BIND, &b));
		ASSERT_EQ(0, syncobj_wait(self->fd, b.out_sync));
		syncobj_destroy(self->fd, b.out_sync);
		pattern(self->cpu, self->size, ++self->seed);

		ASSERT_EQ(0, wait_job(self->fd, g->vm, seqno, &w));
		if (g->mode == SGPU_VM_MODE_FENCE) {
			EXPECT_EQ(0, w.status);	/* the unbind waited */
		} else {
			EXPECT_TRUE(w.status == 0 || w.status == -EFAULT)
				TH_LOG("status %d", w.status);
		}
		EXPECT_TRUE(check_pattern(self->buf, self->size, self->seed));
		EXPECT_EQ(-EFAULT, gpu_copy(self, g, SCRATCH_VA, UBO_VA,
					    PAGE, &w));
		EXPECT_TRUE(check_pattern(self->buf, self->size, self->seed));
		ASSERT_EQ(0, bind_op(self->fd, g->vm, SGPU_BIND_MAP, g->ubo, 0,
				     UBO_VA, self->size, bind_flags(self)));
	}
	verify(_metadata, self);
}

/* -------------------------------------------------------------------- */
/* Concurrency                                                           */

struct racer {
	struct _test_data_matrix *self;
	int prot;
	bool stop;		/* __atomic */
	int rounds, err;
};

/*
 * munmap + mmap again, MAP_FIXED over, MADV_DONTNEED, in a loop, for one
 * second.
 */
static void *racer_thread(void *arg)
{
	struct racer *r = arg;
	struct _test_data_matrix *self = r->self;
	struct timespec t0;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms_since(&t0) < 1000 && !ret) {
		switch (r->rounds++ % 3) {
		case 0:
			ret = munmap(self->buf, self->size) ? -errno : 0;
			if (!ret)
				ret = backing_map(self, self->buf, self->size,
						  r->prot, 0);
			break;
		case 1:
			ret = backing_map(self, self->buf, self->size,
					  r->prot, 0);
			break;
		case 2:
			ret = madvise(self->buf, self->size, MADV_DONTNEED) ?
			      -errno : 0;
			break;
		}
		usleep(2000);
	}
	r->err = ret;
	__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Jobs on both VMs race munmap/mmap/MADV_DONTNEED of the range for a
 * bounded second: every EXEC is accepted or refused with a documented
 * errno (-EFAULT, -EBUSY), every job completes or fails cleanly (-EFAULT;
 * fault mode also -EBUSY), and afterwards the BOs work again with the
 * right data.
 */
TEST_F_TIMEOUT(matrix, race, 120)
{
	struct racer r = { .self = self, .prot = backing_prot(self) };
	struct drm_sgpu_wait w;
	struct drm_sgpu_cmd c;
	int ok = 0, refused = 0, failed = 0;
	unsigned int i = 0;
	pthread_t th;
	__u64 seqno;
	int ret;

	verify(_metadata, self);
	ASSERT_EQ(0, pthread_create(&th, NULL, racer_thread, &r));
	do {
		struct gpu *g = &self->g[i++ % NR_VMS];

		c = self->gpu_write ? cmd_fill(UBO_VA, self->size, 0x61616161) :
				      cmd_copy(UBO_VA, SCRATCH_VA, self->size);
		ret = exec(self->fd, g->vm, &c, 1, &seqno);
		if (ret) {
			EXPECT_TRUE(ret == -EFAULT || ret == -EBUSY)
				TH_LOG("EXEC: %d", ret);
			refused++;
		} else {
			ASSERT_EQ(0, wait_job(self->fd, g->vm, seqno, &w));
			/* -EBUSY: a fault kept losing to invalidations */
			EXPECT_TRUE(w.status == 0 || w.status == -EFAULT ||
				    (g->mode == SGPU_VM_MODE_FAULT &&
				     w.status == -EBUSY))
				TH_LOG("job status %d", w.status);
			if (w.status)
				failed++;
			else
				ok++;
		}
	} while (!__atomic_load_n(&r.stop, __ATOMIC_ACQUIRE));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(0, r.err);
	TH_LOG("%d ok, %d refused, %d failed, %d racer rounds", ok, refused,
	       failed, r.rounds);
	EXPECT_LT(0, ok + refused + failed);
	/* The racer left the range mapped. */
	gpu_sees_cpu(_metadata, self);
	verify(_metadata, self);
}

/* -------------------------------------------------------------------- */
/* The matrix table (sgpu_matrix --matrix)                               */

/*
 * What a cell asserts beyond verify(), for the generated table: from the
 * same contract helpers the tests assert.
 */
static const char *cell(const char *test, enum backing kind, __u32 backend)
{
	int e = 0;

	if (!strcmp(test, "use") && writable_pin_refused(kind, backend))
		return "RW:EOPNOTSUPP";
	if (!strcmp(test, "mremap_grow"))
		e = mremap_grow_errno(kind);
	else if (!strcmp(test, "madv_free"))
		e = madv_free_errno(kind);
	else if (!strcmp(test, "madv_remove"))
		e = madv_remove_errno(kind);
	else if (!strcmp(test, "thp_split"))
		e = thp_split_errno(kind);
	else if (!strcmp(test, "thp_collapse"))
		e = collapse_errno(kind, backend);
	else if (!strcmp(test, "pageout") &&
		 pageout_keeps_pins(kind, backend))
		return "pinned: kept";
	else if (!strcmp(test, "pageout") || !strcmp(test, "pressure"))
		e = pageout_errno(kind);
	else if (!strcmp(test, "ksm") && !ksm_merges(kind, backend))
		return backings[kind].anon ? "pinned: kept" : "no-op";
	else if (!strcmp(test, "devmem") && !devmem_applies(kind))
		return "no-op";
	return e ? strerrorname_np(-e) : "ok";
}

#define COL0	22
#define COLN	14

static void rule(void)
{
	unsigned int i;

	printf("%.*s", COL0, "==============================");
	for (i = 0; i < ARRAY_SIZE(backings); i++)
		printf(" %.*s", COLN, "==============================");
	printf("\n");
}

/*
 * Print the event x backing matrix of each backend as RST tables, from the
 * harness's own lists of tests and variants: the table cannot drift from
 * what runs.  A cell is "ok" (the event's contract holds and verify()
 * passes in both VMs), the errno the event itself fails with by design,
 * or "no-op" (the event does not apply to that memory).
 */
static int print_matrix(void)
{
	static const char *const be_names[] = { "PIN", "FAULT" };
	static const __u32 be[] = {
		SGPU_USERPTR_BACKEND_PIN, SGPU_USERPTR_BACKEND_FAULT,
	};
	const struct _fixture_variant_matrix *d;
	struct __fixture_variant_metadata *v;
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	unsigned int i, k, found;

	for (f = __fixture_list; f && strcmp(f->name, "matrix"); f = f->next)
		;
	if (!f)
		return 1;
	for (k = 0; k < ARRAY_SIZE(be); k++) {
		printf("%s backend\n%.*s\n\n", be_names[k],
		       (int)strlen(be_names[k]) + 8, "==============");
		rule();
		printf("%-*s", COL0, "event");
		for (i = 0; i < ARRAY_SIZE(backings); i++)
			printf(" %-*s", COLN, backings[i].name);
		printf("\n");
		rule();
		for (t = f->tests; t; t = t->next) {
			printf("%-*s", COL0, t->name);
			for (i = 0; i < ARRAY_SIZE(backings); i++) {
				found = 0;
				for (v = f->variant; v; v = v->next) {
					d = v->data;
					if (d->backing != i || d->backend != be[k])
						continue;
					printf(" %-*s", COLN,
					       cell(t->name, i, be[k]));
					found = 1;
				}
				if (!found)
					printf(" %-*s", COLN, "-");
			}
			printf("\n");
		}
		rule();
		printf("\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--matrix"))
		return print_matrix();
	return test_harness_run(argc, argv);
}
