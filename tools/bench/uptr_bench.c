// SPDX-License-Identifier: GPL-2.0
/*
 * uptr_bench - measure the uptr PIN and FAULT backends against the kernel's
 * own reference paths in the same boot, and print a table.
 *
 * Peers: gup_test (CONFIG_GUP_TEST, /sys/kernel/debug/gup_test) is the
 * floor of the PIN backend, test_hmm.ko (/dev/hmm_dmirror0) the (weak)
 * floor of the FAULT backend, and the CPU's memcpy/memset bandwidth and
 * first-touch fault cost the physical limits.  The uptr core is reached
 * through the uptr_test device (/dev/uptr_test), GPU jobs through the sgpu
 * DRM driver (a render node whose driver is "sgpu").  A group whose device
 * is missing reports "unavailable: <reason>" and the rest runs.
 *
 * Runs in the test guest (tools/run.sh, `make run`) or on any host where
 * the modules are loaded.  Output: the table on stdout; with --csv FILE a
 * CSV file ("-": CSV rows on stdout, prefixed "@@CSV "); progress on
 * stderr.  --prefix puts "@@T " before table lines, for the serial port.
 *
 * Exit status: 0 when every measurement that could run ran; 1 when one
 * failed (an ioctl error, a wrong page count ...), or when a device named
 * by --require is missing; 2 on a usage error.  Slow numbers never fail:
 * the table says which targets were missed and by how much.
 *
 * Copyright (c) 2026 The uptr authors
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/sgpu_drm.h>
#include <linux/uptr_test.h>
#include "mm/gup_test.h"
#include "lib/test_hmm_uapi.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB		(21 << 26)
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE		0x2
#endif

/* gup flags of include/linux/mm_types.h (not uapi) that gup_test takes. */
#define GUP_FOLL_WRITE		0x01
#define GUP_FOLL_LONGTERM	0x100

#define PG			4096UL
#define HPG			(2UL << 20)
#define KiB			1024UL
#define MiB			(1024UL * KiB)
#define GiB			(1024UL * MiB)
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define MAX_SIZES		16
#define MAX_ROWS		8192
/* Revalidations in a row after a populate; the last one is a row too. */
#define REVAL_RUN		8

typedef uint64_t u64;
typedef uint32_t u32;

static inline u64 ALIGN_UP(u64 x, u64 a)
{
	return (x + a - 1) / a * a;
}

enum { B_4K, B_THP, B_HUGETLB, NR_BACKING };
static const char *const backing_name[NR_BACKING] = { "4k", "thp", "hugetlb" };

/* ------------------------------------------------------------------ */
/* Options                                                             */

static struct {
	bool smoke, full, prefix;
	int reps, warm;
	size_t sizes[MAX_SIZES];
	int nsizes;
	size_t hmm_max;		/* largest test_hmm size */
	size_t gpu_max;		/* largest sgpu size */
	size_t limit_size;	/* memcpy/memset buffers */
	size_t touch_size;	/* first-touch buffers */
	size_t inval_sizes[4];
	int ninval;
	size_t sparse_size;
	size_t chunk;		/* sparse: unit of "chunks" (2M) */
	int scale_n[4];
	int nscale;
	size_t mig_size;
	const char *only;
	const char *csv;
	const char *accel;
	char host_cpu[256];
	const char *require;
} opt;

static FILE *csv_f;
static u64 t_start;
static int nerrors;

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void progress(const char *fmt, ...)
{
	u64 s = (now_ns() - t_start) / 1000000000ULL;
	va_list ap;

	fprintf(stderr, "[bench +%02llu:%02llu] ", (unsigned long long)s / 60,
		(unsigned long long)s % 60);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static void error(const char *fmt, ...)
{
	va_list ap;

	nerrors++;
	fprintf(stderr, "[bench] ERROR: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* One table line (stdout), with the serial-port prefix when asked. */
static void tline(const char *fmt, ...)
{
	va_list ap;

	if (opt.prefix)
		fputs("@@T ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static bool selected(const char *group)
{
	const char *p;
	size_t n = strlen(group);

	if (!opt.only)
		return true;
	for (p = opt.only; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, group, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Results                                                             */

struct row {
	char group[16];
	char cs[48];		/* case */
	char backend[16];
	char backing[10];
	u64 size;
	char metric[24];
	char unit[8];
	double med, p99;
	int n;
	char note[128];
};

static struct row rows[MAX_ROWS];
static int nrows;

struct unavail {
	char group[16];
	char why[160];
};

static struct unavail unav[32];
static int nunav;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median and p99 (nearest rank) of n samples; sorts them. */
static void stats(double *v, int n, double *med, double *p99)
{
	int k;

	if (n <= 0) {
		*med = *p99 = NAN;
		return;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	k = (int)ceil(0.99 * n) - 1;
	*p99 = v[k < 0 ? 0 : k];
}

static void csv_row(const struct row *r)
{
	if (!csv_f)
		return;
	fprintf(csv_f, "%s%s,%s,%s,%s,%llu,%s,%s,%.6g,%.6g,%d,\"%s\"\n",
		csv_f == stdout ? "@@CSV " : "", r->group, r->cs, r->backend,
		r->backing, (unsigned long long)r->size, r->metric, r->unit,
		r->med, r->p99, r->n, r->note);
	fflush(csv_f);
}

static struct row *add_row(const char *group, const char *cs,
			   const char *backend, const char *backing, u64 size,
			   const char *metric, const char *unit, double med,
			   double p99, int n, const char *note)
{
	struct row *r;

	if (nrows >= MAX_ROWS) {
		error("too many result rows");
		return NULL;
	}
	r = &rows[nrows++];
	snprintf(r->group, sizeof(r->group), "%s", group);
	snprintf(r->cs, sizeof(r->cs), "%s", cs);
	snprintf(r->backend, sizeof(r->backend), "%s", backend);
	snprintf(r->backing, sizeof(r->backing), "%s", backing);
	r->size = size;
	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	r->med = med;
	r->p99 = p99;
	r->n = n;
	snprintf(r->note, sizeof(r->note), "%s", note ? note : "");
	csv_row(r);
	return r;
}

/* Samples scaled by 1/div (e.g. per page). */
static struct row *add_samples(const char *group, const char *cs,
			       const char *backend, const char *backing,
			       u64 size, const char *metric, const char *unit,
			       const double *v, int n, double div,
			       const char *note)
{
	double tmp[256], med, p99;
	int i;

	if (n > (int)ARRAY_SIZE(tmp))
		n = ARRAY_SIZE(tmp);
	for (i = 0; i < n; i++)
		tmp[i] = v[i] / div;
	stats(tmp, n, &med, &p99);
	return add_row(group, cs, backend, backing, size, metric, unit, med,
		       p99, n, note);
}

static const struct row *find_row(const char *group, const char *cs,
				  const char *backend, const char *backing,
				  u64 size, const char *metric)
{
	int i;

	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		if (!strcmp(r->group, group) && !strcmp(r->cs, cs) &&
		    !strcmp(r->backend, backend) &&
		    (!backing || !strcmp(r->backing, backing)) &&
		    (size == (u64)-1 || r->size == size) &&
		    !strcmp(r->metric, metric))
			return r;
	}
	return NULL;
}

static void report_unavailable(const char *group, const char *fmt, ...)
{
	struct unavail *u;
	va_list ap;

	if (nunav >= (int)ARRAY_SIZE(unav))
		return;
	u = &unav[nunav++];
	snprintf(u->group, sizeof(u->group), "%s", group);
	va_start(ap, fmt);
	vsnprintf(u->why, sizeof(u->why), fmt, ap);
	va_end(ap);
	progress("%s: unavailable: %s", group, u->why);
	add_row(group, "unavailable", "-", "-", 0, "-", "-", NAN, NAN, 0,
		u->why);
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */

static const char *fmt_size(u64 s, char *buf, size_t len)
{
	if (s >= GiB && s % GiB == 0)
		snprintf(buf, len, "%lluG", (unsigned long long)(s / GiB));
	else if (s >= MiB && s % MiB == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(s / MiB));
	else if (s >= KiB && s % KiB == 0)
		snprintf(buf, len, "%lluK", (unsigned long long)(s / KiB));
	else
		snprintf(buf, len, "%llu", (unsigned long long)s);
	return buf;
}

static const char *fmt_val(double v, const char *unit, char *buf, size_t len)
{
	if (isnan(v)) {
		snprintf(buf, len, "-");
	} else if (!strcmp(unit, "ns")) {
		if (v >= 1e9)
			snprintf(buf, len, "%.3g s", v / 1e9);
		else if (v >= 1e6)
			snprintf(buf, len, "%.3g ms", v / 1e6);
		else if (v >= 1e3)
			snprintf(buf, len, "%.3g us", v / 1e3);
		else
			snprintf(buf, len, "%.3g ns", v);
	} else if (!strcmp(unit, "MB/s")) {
		snprintf(buf, len, "%.3g MB/s", v);
	} else if (!strcmp(unit, "%")) {
		snprintf(buf, len, "%.2f %%", v);
	} else if (!strcmp(unit, "x")) {
		snprintf(buf, len, "%.3gx", v);
	} else {
		snprintf(buf, len, "%.0f %s", v, unit);
	}
	return buf;
}

/* ------------------------------------------------------------------ */
/* Memory                                                              */

struct buf {
	char *p;
	size_t size;		/* what the measurements use */
	size_t len;		/* mapped length (2M multiple for huge) */
	int backing;
	bool huge_ok;		/* first page is really huge */
};

/* nr_hugepages before hugetlb_reserve() raised it, restored at exit. */
static long hugetlb_saved = -1;

static void hugetlb_set(unsigned long pages)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");

	if (f) {
		fprintf(f, "%lu\n", pages);
		fclose(f);
	}
}

static void hugetlb_restore(void)
{
	if (hugetlb_saved >= 0)
		hugetlb_set(hugetlb_saved);
}

static int hugetlb_reserve(unsigned long pages)
{
	unsigned long have = 0;
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");

	if (!f)
		return -errno;
	if (fscanf(f, "%lu", &have) != 1)
		have = 0;
	fclose(f);
	if (have < pages) {
		hugetlb_saved = have;
		atexit(hugetlb_restore);
		hugetlb_set(pages);
	}
	return 0;
}

static unsigned long hugetlb_free(void)
{
	unsigned long n = 0;
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");

	if (f) {
		if (fscanf(f, "%lu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

/* KPF_THP (22) or KPF_HUGE (17) of the page at addr, via pagemap. */
#define PM_PFN_MASK	0x7fffffffffffffULL
static bool page_is_huge(const void *addr)
{
	u64 ent = 0, flags = 0;
	int fd;
	bool ok = false;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return false;
	if (pread(fd, &ent, 8, (uintptr_t)addr / PG * 8) == 8 &&
	    (ent >> 63) & 1 && (ent & PM_PFN_MASK)) {
		int kf = open("/proc/kpageflags", O_RDONLY);

		if (kf >= 0) {
			u64 pfn = ent & PM_PFN_MASK;

			if (pread(kf, &flags, 8, pfn * 8) == 8)
				ok = (flags >> 22 & 1) || (flags >> 17 & 1);
			close(kf);
		}
	}
	close(fd);
	return ok;
}

static void touch(char *p, size_t size)
{
	size_t off;

	for (off = 0; off < size; off += PG)
		p[off] = 1;
	/* The stores must happen: the "asm" may read all memory. */
	asm volatile("" : : "r"(p) : "memory");
}

/*
 * The CPU's byte string copy.  Real CPUs with ERMS copy fastest with it;
 * TCG emulates it one byte at a time.  Both it and glibc's memcpy are
 * measured, and the better of the two is the CPU reference.
 */
static void copy_movsb(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__)
	asm volatile("rep movsb"
		     : "+D"(dst), "+S"(src), "+c"(n)
		     : : "memory");
#else
	memcpy(dst, src, n);
#endif
}

/* Bandwidth in MB/s of the better of memcpy() and copy_movsb(). */
static double cpu_copy_mbs(void *dst, const void *src, size_t size)
{
	double v[2][64], med[2], p99;
	int k, how, n = opt.reps < 64 ? opt.reps : 64;

	for (how = 0; how < 2; how++) {
		for (k = -opt.warm; k < n; k++) {
			u64 t0 = now_ns();

			if (how)
				copy_movsb(dst, src, size);
			else
				memcpy(dst, src, size);
			asm volatile("" : : "r"(dst) : "memory");
			if (k >= 0)
				v[how][k] = size / ((now_ns() - t0) / 1e3);
		}
		stats(v[how], n, &med[how], &p99);
	}
	return med[0] > med[1] ? med[0] : med[1];
}

/* Map size bytes of a backing; exactly one VMA, 2M aligned when huge. */
static int buf_alloc(struct buf *b, size_t size, int backing, bool do_touch)
{
	char *p, *a;
	size_t len;

	memset(b, 0, sizeof(*b));
	b->size = size;
	b->backing = backing;
	if (backing == B_HUGETLB) {
		len = ALIGN_UP(size, HPG);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			 MAP_HUGE_2MB, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		a = p;
	} else if (backing == B_THP) {
		len = ALIGN_UP(size, HPG);
		p = mmap(NULL, len + HPG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		a = (char *)ALIGN_UP((uintptr_t)p, HPG);
		if (a > p)
			munmap(p, a - p);
		if (p + len + HPG > a + len)
			munmap(a + len, p + len + HPG - (a + len));
		madvise(a, len, MADV_HUGEPAGE);
	} else {
		len = ALIGN_UP(size, PG);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		a = p;
		madvise(a, len, MADV_NOHUGEPAGE);
	}
	b->p = a;
	b->len = len;
	if (do_touch) {
		touch(a, backing == B_4K ? size : len);
		b->huge_ok = backing == B_4K || page_is_huge(a);
	}
	return 0;
}

static void buf_free(struct buf *b)
{
	if (b->p)
		munmap(b->p, b->len);
	b->p = NULL;
}

static const char *huge_note(const struct buf *b)
{
	if (b->backing == B_4K || b->huge_ok)
		return "";
	return "huge page not obtained: 4K fallback";
}

/* ------------------------------------------------------------------ */
/* Devices                                                             */

static int gup_fd = -1, ut_ok, hmm_ok;
static char gup_why[128], ut_why[128], hmm_why[128], sgpu_why[160];
static int nnodes;

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r == -1 && (errno == EINTR || errno == EAGAIN));
	return r == -1 ? -errno : 0;
}

static int ut_open(void)
{
	return open("/dev/uptr_test", O_RDWR | O_CLOEXEC);
}

static int ut_create(int fd, const void *addr, size_t size, int backend,
		     u64 *handle)
{
	struct uptr_test_create c = {
		.addr = (uintptr_t)addr, .size = size, .backend = backend,
	};
	int err = xioctl(fd, UPTR_TEST_CREATE, &c);

	*handle = c.handle;
	return err;
}

/* The kernel's own clock of the last UPTR_TEST_POPULATE (struct's ns). */
static u64 ut_kernel_ns;

static int ut_cmd(int fd, unsigned long op, u64 handle, const void *addr,
		  size_t size, u64 flags, u64 *npages)
{
	struct uptr_test_cmd c = {
		.handle = handle, .addr = (uintptr_t)addr, .size = size,
		.flags = flags,
	};
	int err = xioctl(fd, op, &c);

	if (npages)
		*npages = c.npages;
	ut_kernel_ns = c.ns;
	return err;
}

/*
 * UPTR_TEST_POPULATE.  -EBUSY ("invalidations kept racing") is transient by
 * the contract: retry it, at most twice, and count it for the report.  A
 * long-term pin of pages in ZONE_MOVABLE migrates them, which invalidates
 * the range being populated, so the first attempt always loses there.
 */
static int nbusy;

static int ut_populate_flags(int fd, u64 handle, const void *addr,
			     size_t size, u64 flags, u64 *npages)
{
	int err, tries = 0;
	u64 ns = 0;

	do {
		err = ut_cmd(fd, UPTR_TEST_POPULATE, handle, addr, size,
			     UPTR_TEST_POPULATE_WRITE | flags, npages);
		ns += ut_kernel_ns;
		if (err == -EBUSY)
			nbusy++;
	} while (err == -EBUSY && ++tries < 3);
	/*
	 * The kernel's clock of the attempts that report it: a failed ioctl
	 * copies nothing back, so an -EBUSY attempt adds 0 here while the
	 * wall clock counts it (nbusy reports how many there were).
	 */
	ut_kernel_ns = ns;
	return err;
}

static int ut_populate(int fd, u64 handle, const void *addr, size_t size,
		       u64 *npages)
{
	return ut_populate_flags(fd, handle, addr, size, 0, npages);
}

/* UPTR_TEST_FAULT, with the same -EBUSY handling. */
static int ut_fault(int fd, u64 handle, const void *addr)
{
	int err, tries = 0;

	do {
		err = ut_cmd(fd, UPTR_TEST_FAULT, handle, addr, 0,
			     UPTR_TEST_POPULATE_WRITE, NULL);
		if (err == -EBUSY)
			nbusy++;
	} while (err == -EBUSY && ++tries < 3);
	return err;
}

static int ut_destroy(int fd, u64 handle)
{
	return ut_cmd(fd, UPTR_TEST_DESTROY, handle, NULL, 0, 0, NULL);
}

static int ut_stats(int fd, struct uptr_test_stats *st)
{
	memset(st, 0, sizeof(*st));
	return xioctl(fd, UPTR_TEST_STATS, st);
}

static int hmm_open(void)
{
	return open("/dev/hmm_dmirror0", O_RDWR | O_CLOEXEC);
}

static int hmm_cmd(int fd, unsigned long op, const void *addr, void *ptr,
		   size_t size)
{
	struct hmm_dmirror_cmd c = {
		.addr = (uintptr_t)addr, .ptr = (uintptr_t)ptr,
		.npages = size / PG,
	};
	int err = xioctl(fd, op, &c);

	if (!err && c.cpages != size / PG)
		err = -EIO;
	return err;
}

/* gup_test: in-kernel pin time in ns (its own microsecond clock). */
static int gup_bench(unsigned long op, const void *addr, size_t size,
		     double *kernel_ns, double *wall_ns)
{
	struct gup_test g = {
		.addr = (uintptr_t)addr, .size = size,
		.nr_pages_per_call = size / PG,
		.gup_flags = GUP_FOLL_WRITE,
	};
	u64 t0;
	int err;

	if (op == PIN_FAST_BENCHMARK)
		g.gup_flags |= GUP_FOLL_LONGTERM;
	t0 = now_ns();
	err = xioctl(gup_fd, op, &g);
	*wall_ns = now_ns() - t0;
	if (err)
		return err;
	if (g.size != size)
		return -EFAULT;
	*kernel_ns = g.get_delta_usec * 1000.0;
	return 0;
}

static void probe_devices(void)
{
	int fd;
	DIR *d;
	struct dirent *e;

	gup_fd = open("/sys/kernel/debug/gup_test", O_RDWR | O_CLOEXEC);
	if (gup_fd < 0)
		snprintf(gup_why, sizeof(gup_why),
			 "/sys/kernel/debug/gup_test: %s (CONFIG_GUP_TEST, debugfs)",
			 strerror(errno));
	fd = ut_open();
	if (fd < 0) {
		snprintf(ut_why, sizeof(ut_why),
			 "/dev/uptr_test: %s (load mm/uptr.ko and mm/tests/uptr_test.ko)",
			 strerror(errno));
	} else {
		ut_ok = 1;
		close(fd);
	}
	fd = hmm_open();
	if (fd < 0) {
		snprintf(hmm_why, sizeof(hmm_why),
			 "/dev/hmm_dmirror0: %s (load test_hmm.ko)",
			 strerror(errno));
	} else {
		hmm_ok = 1;
		close(fd);
	}
	d = opendir("/sys/devices/system/node");
	if (d) {
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, "node", 4) &&
			    isdigit((unsigned char)e->d_name[4]))
				nnodes++;
		closedir(d);
	}
	if (!nnodes)
		nnodes = 1;
}

/* ------------------------------------------------------------------ */
/* sgpu                                                                */

static int sgpu_fd = -1;

static int sgpu_open(void)
{
	char path[64], name[32];
	int i, fd;

	for (i = 128; i < 192; i++) {
		struct drm_version v = { 0 };

		snprintf(path, sizeof(path), "/dev/dri/renderD%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		v.name = name;
		v.name_len = sizeof(name) - 1;
		if (!xioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "sgpu"))
			return fd;
		close(fd);
	}
	snprintf(sgpu_why, sizeof(sgpu_why),
		 "no render node of driver sgpu (drm/sgpu.ko not built or not loaded)");
	return -1;
}

#define SG_VA_SRC	0x100000000ULL		/* 4 GiB */
#define SG_VA_DST	0x10000000000ULL	/* 1 TiB */

struct sg_vm {
	u32 vm, mode, sync;
	u32 dst, src;		/* GEM handles */
};

static int sg_syncobj(u32 *h)
{
	struct drm_syncobj_create c = { 0 };
	int err = xioctl(sgpu_fd, DRM_IOCTL_SYNCOBJ_CREATE, &c);

	*h = c.handle;
	return err;
}

static void sg_close_handle(u32 h)
{
	struct drm_gem_close c = { .handle = h };

	if (h)
		xioctl(sgpu_fd, DRM_IOCTL_GEM_CLOSE, &c);
}

static int sg_bind(struct sg_vm *vm, u32 op, u32 handle, u64 va, u64 size)
{
	struct drm_sgpu_vm_bind b = {
		.vm_id = vm->vm, .op = op, .handle = handle, .addr = va,
		.range = size, .out_sync = vm->sync,
	};

	return xioctl(sgpu_fd, DRM_IOCTL_SGPU_VM_BIND, &b);
}

/* Run one job (after the last bind) and wait; returns its status. */
static int sg_job(struct sg_vm *vm, struct drm_sgpu_cmd *cmds, u32 n)
{
	struct drm_sgpu_sync in = { .handle = vm->sync };
	struct drm_sgpu_exec x = {
		.vm_id = vm->vm, .cmds = (uintptr_t)cmds, .num_cmds = n,
		.num_in_syncs = 1, .in_syncs = (uintptr_t)&in,
	};
	struct drm_sgpu_wait w = { .vm_id = vm->vm, .timeout_ns = -1 };
	int err;

	err = xioctl(sgpu_fd, DRM_IOCTL_SGPU_EXEC, &x);
	if (err)
		return err;
	w.seqno = x.seqno;
	err = xioctl(sgpu_fd, DRM_IOCTL_SGPU_WAIT, &w);
	if (err)
		return err;
	return w.status;
}

static int sg_copy(struct sg_vm *vm, u64 size)
{
	struct drm_sgpu_cmd c = {
		.op = SGPU_CMD_COPY, .src = SG_VA_SRC, .dst = SG_VA_DST,
		.size = size,
	};

	return sg_job(vm, &c, 1);
}

static int sg_query(u32 type, u32 id, u64 *vals, u32 n)
{
	struct drm_sgpu_query q = {
		.type = type, .id = id, .values = (uintptr_t)vals, .count = n,
	};

	memset(vals, 0, n * sizeof(*vals));
	return xioctl(sgpu_fd, DRM_IOCTL_SGPU_QUERY, &q);
}

static void sg_vm_destroy(struct sg_vm *vm)
{
	struct drm_sgpu_vm_destroy d = { .vm_id = vm->vm };

	if (vm->vm)
		xioctl(sgpu_fd, DRM_IOCTL_SGPU_VM_DESTROY, &d);
	sg_close_handle(vm->src);
	sg_close_handle(vm->dst);
	if (vm->sync) {
		struct drm_syncobj_destroy s = { .handle = vm->sync };

		xioctl(sgpu_fd, DRM_IOCTL_SYNCOBJ_DESTROY, &s);
	}
	memset(vm, 0, sizeof(*vm));
}

/*
 * A VM with a warm shmem destination BO of size bytes (filled once by the
 * engine), ready for a userptr source at SG_VA_SRC.
 */
static int sg_vm_setup(struct sg_vm *vm, u32 mode, u64 size)
{
	struct drm_sgpu_vm_create c = { .flags = mode };
	struct drm_sgpu_bo_create bo = { .size = size };
	struct drm_sgpu_cmd fill = {
		.op = SGPU_CMD_FILL, .dst = SG_VA_DST, .size = size,
		.value = 0x5a5a5a5a,
	};
	int err;

	memset(vm, 0, sizeof(*vm));
	err = xioctl(sgpu_fd, DRM_IOCTL_SGPU_VM_CREATE, &c);
	if (err)
		return err;
	vm->vm = c.vm_id;
	vm->mode = mode;
	err = sg_syncobj(&vm->sync);
	if (!err)
		err = xioctl(sgpu_fd, DRM_IOCTL_SGPU_BO_CREATE, &bo);
	if (err)
		return err;
	vm->dst = bo.handle;
	err = sg_bind(vm, SGPU_BIND_MAP, vm->dst, SG_VA_DST, size);
	if (!err)
		err = sg_job(vm, &fill, 1);
	return err;
}

/* Create the userptr BO over buf and bind it at SG_VA_SRC. */
static int sg_userptr(struct sg_vm *vm, const void *addr, u64 size,
		      u32 backend)
{
	struct drm_sgpu_userptr_create u = {
		.addr = (uintptr_t)addr, .size = size, .vm_id = vm->vm,
		.flags = backend,
	};
	int err = xioctl(sgpu_fd, DRM_IOCTL_SGPU_USERPTR_CREATE, &u);

	if (err)
		return err;
	vm->src = u.handle;
	return sg_bind(vm, SGPU_BIND_MAP, vm->src, SG_VA_SRC, size);
}

/* ------------------------------------------------------------------ */
/* Sample loops                                                        */

/* A ring of sample arrays: no bench function holds more than 16 at once. */
static double *samples(void)
{
	static double v[16][256];
	static int next;

	next = (next + 1) % 16;
	return v[next];
}

/* ------------------------------------------------------------------ */
/* Group "limits": memcpy/memset of one core, first-touch cost          */

static void bench_limits(void)
{
	size_t size = opt.limit_size;
	struct buf s, d;
	double *vc = samples(), *vs = samples(), *vm = samples();
	int r, n = 0, bk;

	progress("limits: memcpy/memset %zu MiB, first touch %zu MiB",
		 size / MiB, opt.touch_size / MiB);
	if (buf_alloc(&s, size, B_4K, true) || buf_alloc(&d, size, B_4K, true)) {
		error("limits: cannot map %zu MiB", size / MiB);
		return;
	}
	for (r = -opt.warm; r < opt.reps; r++) {
		u64 t0 = now_ns(), t1;

		copy_movsb(d.p, s.p, size);
		asm volatile("" : : "r"(d.p) : "memory");
		if (r >= 0)
			vm[n] = size / ((now_ns() - t0) / 1e3);
		t0 = now_ns();
		memcpy(d.p, s.p, size);
		asm volatile("" : : "r"(d.p) : "memory");
		t1 = now_ns();
		memset(d.p, r & 0xff, size);
		asm volatile("" : : "r"(d.p) : "memory");
		if (r >= 0) {
			vc[n] = size / ((t1 - t0) / 1e3);	/* MB/s */
			vs[n] = size / ((now_ns() - t1) / 1e3);
			n++;
		}
	}
	add_samples("limits", "memcpy 1 core", "cpu", "4k", size, "bandwidth",
		    "MB/s", vc, n, 1, NULL);
	add_samples("limits", "memset 1 core", "cpu", "4k", size, "bandwidth",
		    "MB/s", vs, n, 1, NULL);
	add_samples("limits", "rep movsb 1 core", "cpu", "4k", size,
		    "bandwidth", "MB/s", vm, n, 1,
		    "byte string copy: fast with ERMS, slow under TCG");
	buf_free(&s);
	buf_free(&d);

	for (bk = 0; bk < NR_BACKING; bk++) {
		double *vp = samples(), *vh = samples();
		const char *note = "";
		size_t ts = opt.touch_size;

		n = 0;
		for (r = -opt.warm; r < opt.reps; r++) {
			struct buf b;
			u64 t0;
			double dt;

			if (buf_alloc(&b, ts, bk, false)) {
				report_unavailable("limits",
						   "first touch %s: mmap: %s",
						   backing_name[bk],
						   strerror(errno));
				goto next_backing;
			}
			t0 = now_ns();
			touch(b.p, ts);
			dt = now_ns() - t0;
			if (bk != B_4K && !page_is_huge(b.p))
				note = "huge page not obtained: 4K fallback";
			buf_free(&b);
			if (r >= 0) {
				vp[n] = dt / (ts / PG);
				vh[n] = dt / (ts / HPG ? ts / HPG : 1);
				n++;
			}
		}
		add_samples("limits", "cpu first touch", "cpu", backing_name[bk],
			    ts, "per 4K page", "ns", vp, n, 1, note);
		if (bk != B_4K)
			add_samples("limits", "cpu first touch", "cpu",
				    backing_name[bk], ts, "per 2M fault", "ns",
				    vh, n, 1, note);
next_backing:
		;
	}
}

/* ------------------------------------------------------------------ */
/* Groups "register" and "revalidate"                                  */

static void bench_gup(const struct buf *b)
{
	static const struct {
		unsigned long op;
		const char *name;
	} ops[] = {
		{ PIN_FAST_BENCHMARK, "gup_test PIN_FAST+LONGTERM" },
		{ PIN_LONGTERM_BENCHMARK, "gup_test PIN_LONGTERM" },
	};
	const char *bk = backing_name[b->backing];
	size_t npages = b->size / PG;
	unsigned int i;
	int r, n;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		double *vk = samples(), *vw = samples();

		n = 0;
		for (r = -opt.warm; r < opt.reps; r++) {
			double k, w;
			int err = gup_bench(ops[i].op, b->p, b->size, &k, &w);

			if (err) {
				error("%s %s %zu: %s", ops[i].name, bk, b->size,
				      strerror(-err));
				return;
			}
			if (r >= 0) {
				vk[n] = k;
				vw[n] = w;
				n++;
			}
		}
		add_samples("register", ops[i].name, "gup", bk, b->size,
			    "pin per page", "ns", vk, n, npages,
			    "gup_test's own clock (us resolution), pin only");
		add_samples("register", ops[i].name, "gup", bk, b->size,
			    "pin+unpin per call", "ns", vw, n, 1,
			    "wall time of the ioctl");
	}
}

static void bench_uptr_register(const struct buf *b, int backend)
{
	const char *bk = backing_name[b->backing];
	const char *be = backend == UPTR_TEST_BACKEND_PIN ? "PIN" : "FAULT";
	double *vc = samples(), *vp = samples(), *vr = samples(),
	       *vd = samples(), *vt = samples(), *vs = samples(),
	       *vs2 = samples(), *vr8 = samples(), *vk = samples(),
	       *vkr = samples(), *vka = samples();
	size_t npages = b->size / PG;
	struct uptr_test_stats st0, st1;
	int fd, r, n = 0, nk = 0, nkr = 0, nka = 0, err = 0;
	bool hit = true;

	fd = ut_open();
	if (fd < 0) {
		error("open /dev/uptr_test: %s", strerror(errno));
		return;
	}
	for (r = -opt.warm; r < opt.reps; r++) {
		u64 h, np = 0, np2 = 0, t0, t1, t2, t3, t4, t4s, t5, t6;
		u64 t7 = 0, t8 = 0;
		int k;

		t0 = now_ns();
		err = ut_create(fd, b->p, b->size, backend, &h);
		t1 = now_ns();
		if (err) {
			error("uptr %s create %s %zu: %s", be, bk, b->size,
			      strerror(-err));
			break;
		}
		err = ut_populate(fd, h, b->p, b->size, &np);
		t2 = now_ns();
		if (!err)
			err = ut_stats(fd, &st0);
		t3 = now_ns();
		if (!err)
			err = ut_populate(fd, h, b->p, b->size, &np2);
		t4 = now_ns();
		if (!err)
			err = ut_stats(fd, &st1);
		t4s = now_ns();
		if (!err && (np != npages || np2 != npages))
			err = -EIO;
		if (err) {
			error("uptr %s populate %s %zu: %s (%llu, %llu of %zu pages valid)",
			      be, bk, b->size, strerror(-err),
			      (unsigned long long)np, (unsigned long long)np2,
			      npages);
			ut_destroy(fd, h);
			break;
		}
		if (st1.stats[UPTR_TEST_STAT_CACHE_HITS] ==
		    st0.stats[UPTR_TEST_STAT_CACHE_HITS])
			hit = false;
		/* Revalidations 2 to REVAL_RUN in a row: the last one counts. */
		for (k = 2; k <= REVAL_RUN && !err; k++) {
			t7 = now_ns();
			err = ut_populate(fd, h, b->p, b->size, &np2);
			t8 = now_ns();
			if (!err && np2 != npages)
				err = -EIO;
		}
		if (err) {
			error("uptr %s revalidate %s %zu: %s", be, bk, b->size,
			      strerror(-err));
			ut_destroy(fd, h);
			break;
		}
		t5 = now_ns();
		err = ut_destroy(fd, h);
		t6 = now_ns();
		if (err) {
			error("uptr %s destroy: %s", be, strerror(-err));
			break;
		}
		if (r >= 0) {
			vc[n] = t1 - t0;
			vp[n] = t2 - t1;
			vr[n] = t4 - t3;
			vs[n] = t3 - t2;
			vs2[n] = t4s - t4;
			vr8[n] = t8 - t7;
			vd[n] = t6 - t5;
			vt[n] = (t2 - t0) + (t6 - t5);
			n++;
		}
	}
	/*
	 * The fair row beside gup_test's: the kernel's clock around the
	 * populate, in populates of their own.  Reading the guest's clock
	 * costs microseconds under TCG (HPET), which the rows above do not
	 * pay; gup_test pays it for its own clock.  The revalidation's own
	 * fair row, in the same place as in the loop above (the 2nd ioctl
	 * after the populate), tells the call's work from what the system
	 * call and the emulator add around it after a large populate.
	 */
	for (r = -opt.warm; r < opt.reps && !err; r++) {
		u64 h, np = 0, kns, krns = 0;

		err = ut_create(fd, b->p, b->size, backend, &h);
		if (err)
			break;
		err = ut_populate_flags(fd, h, b->p, b->size,
					UPTR_TEST_POPULATE_TIME, &np);
		/* Before the destroy, whose ioctl resets ut_kernel_ns. */
		kns = ut_kernel_ns;
		if (!err && (np != npages || !kns))
			err = -EIO;
		if (!err)
			err = ut_stats(fd, &st0);
		if (!err) {
			np = 0;
			err = ut_populate_flags(fd, h, b->p, b->size,
						UPTR_TEST_POPULATE_TIME, &np);
			/* 0 is a reading too: the fast path is short. */
			krns = ut_kernel_ns;
			if (!err && np != npages)
				err = -EIO;
		}
		ut_destroy(fd, h);
		if (!err && r >= 0) {
			vk[nk++] = kns;
			vkr[nkr++] = krns;
		}
	}
	if (err)
		error("uptr %s timed populate %s %zu: %s", be, bk, b->size,
		      strerror(-err));
	/*
	 * The anchor of the kernel-clock revalidation: the same first
	 * revalidation by the same clock in the same place, after the same
	 * populate, but of a range of one page, valid since before the loop.
	 * Its work does not depend on this size; whatever it pays more here
	 * than after a small populate, the populate left behind.
	 */
	if (!err) {
		char *one = mmap(NULL, PG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		u64 h1 = 0, np = 0;

		err = one == MAP_FAILED ? -errno : 0;
		if (!err) {
			one[0] = 1;
			err = ut_create(fd, one, PG, backend, &h1);
		}
		if (!err)
			err = ut_populate(fd, h1, one, PG, &np);
		for (r = -opt.warm; r < opt.reps && !err; r++) {
			u64 h, kns;

			err = ut_create(fd, b->p, b->size, backend, &h);
			if (err)
				break;
			err = ut_populate(fd, h, b->p, b->size, &np);
			if (!err)
				err = ut_stats(fd, &st0);
			if (!err)
				err = ut_populate_flags(fd, h1, one, PG,
							UPTR_TEST_POPULATE_TIME,
							&np);
			kns = ut_kernel_ns;
			if (!err && np != 1)
				err = -EIO;
			ut_destroy(fd, h);
			if (!err && r >= 0)
				vka[nka++] = kns;
		}
		if (h1)
			ut_destroy(fd, h1);
		if (one != MAP_FAILED)
			munmap(one, PG);
		if (err)
			error("uptr %s one-page anchor %s %zu: %s", be, bk,
			      b->size, strerror(-err));
		err = 0;
	}
	close(fd);
	if (err)
		return;

	add_samples("register", "uptr create", be, bk, b->size, "per call",
		    "ns", vc, n, 1, NULL);
	add_samples("register", "uptr populate", be, bk, b->size,
		    "per page", "ns", vp, n, npages, huge_note(b));
	add_samples("register", "uptr populate", be, bk, b->size,
		    "per call", "ns", vp, n, 1, NULL);
	/*
	 * The fair row beside gup_test's: the kernel's clock around the
	 * populate, without the system call, as gup_test times its pin.
	 */
	add_samples("register", "uptr populate (kernel clock)", be, bk,
		    b->size, "per page", "ns", vk, nk, npages,
		    "ktime in uptr_test around the populate, no syscall");
	add_samples("register", "uptr destroy", be, bk, b->size, "per call",
		    "ns", vd, n, 1, "unmap/unpin + notifier removal");
	add_samples("register", "uptr create+populate+destroy", be, bk,
		    b->size, "per page", "ns", vt, n, npages, NULL);
	/*
	 * Anchors of the row below: an ioctl that touches no range, just
	 * before and just after it.  Under TCG any call right after a large
	 * populate is slow (emulator state), whatever it does.
	 */
	add_samples("revalidate", "stats ioctl before revalidate", be, bk,
		    b->size, "per call", "ns", vs, n, 1,
		    "anchor: 1st ioctl after the populate, touches no range");
	add_samples("revalidate", "stats ioctl after revalidate", be, bk,
		    b->size, "per call", "ns", vs2, n, 1,
		    "anchor: 3rd ioctl after the populate, touches no range");
	add_samples("revalidate", "uptr populate (valid range)", be, bk,
		    b->size, "per call", "ns", vr, n, 1,
		    backend == UPTR_TEST_BACKEND_PIN ?
		    (hit ? "cache hit" : "NOT counted as a cache hit") :
		    (hit ? "counted as a cache hit" :
		     "no cache-hit path: full hmm_range_fault"));
	/*
	 * The same call once the slowdown after the populate has faded: the
	 * REVAL_RUN-th revalidation in a row.  Beside the row above, not
	 * instead of it.
	 */
	add_samples("revalidate", "uptr populate (valid range) in a row",
		    be, bk, b->size, "per call", "ns", vr8, n, 1,
		    "the 8th revalidation in a row (REVAL_RUN)");
	/* Beside them, not instead: the same 1st call, no system call. */
	add_samples("revalidate", "uptr populate (valid range; kernel clock)",
		    be, bk, b->size, "per call", "ns", vkr, nkr, 1,
		    "1st revalidation: ktime in uptr_test, no syscall");
	if (nka)
		add_samples("revalidate",
			    "1-page range reval. after it (kernel clock)",
			    be, bk, b->size, "per call", "ns", vka, nka, 1,
			    "anchor: a 1-page range, same place, same clock");
}

/* test_hmm: first READ (pre-touched), second READ, SNAPSHOT, untouched. */
static void bench_hmm(struct buf *b, char *bounce)
{
	const char *bk = backing_name[b->backing];
	double *v1 = samples(), *v2 = samples(), *vs = samples(),
	       *vu = samples();
	size_t npages = b->size / PG;
	int r, n = 0, fd, err;

	for (r = -opt.warm; r < opt.reps; r++) {
		u64 t0, t1, t2, t3;

		fd = hmm_open();
		if (fd < 0) {
			error("open /dev/hmm_dmirror0: %s", strerror(errno));
			return;
		}
		t0 = now_ns();
		err = hmm_cmd(fd, HMM_DMIRROR_READ, b->p, bounce, b->size);
		t1 = now_ns();
		if (!err)
			err = hmm_cmd(fd, HMM_DMIRROR_READ, b->p, bounce,
				      b->size);
		t2 = now_ns();
		if (!err)
			err = hmm_cmd(fd, HMM_DMIRROR_SNAPSHOT, b->p, bounce,
				      b->size);
		t3 = now_ns();
		close(fd);
		if (err) {
			error("test_hmm %s %zu: %s", bk, b->size, strerror(-err));
			return;
		}
		if (r >= 0) {
			v1[n] = t1 - t0;
			v2[n] = t2 - t1;
			vs[n] = t3 - t2;
			n++;
		}
	}
	add_samples("register", "test_hmm READ (present)", "hmm", bk, b->size,
		    "per page", "ns", v1, n, npages,
		    "first READ of a new mirror, pages present");
	add_samples("register", "test_hmm READ again", "hmm", bk, b->size,
		    "per page", "ns", v2, n, npages,
		    "second READ, mirror valid");
	add_samples("register", "test_hmm SNAPSHOT", "hmm", bk, b->size,
		    "per page", "ns", vs, n, npages, NULL);

	/* Untouched: the READ faults the pages in (zero page). */
	n = 0;
	for (r = -opt.warm; r < opt.reps; r++) {
		u64 t0;

		if (madvise(b->p, b->len, MADV_DONTNEED)) {
			error("madvise DONTNEED: %s", strerror(errno));
			return;
		}
		fd = hmm_open();
		if (fd < 0)
			return;
		t0 = now_ns();
		err = hmm_cmd(fd, HMM_DMIRROR_READ, b->p, bounce, b->size);
		if (r >= 0)
			vu[n++] = now_ns() - t0;
		close(fd);
		if (err) {
			error("test_hmm untouched %s %zu: %s", bk, b->size,
			      strerror(-err));
			return;
		}
	}
	add_samples("register", "test_hmm READ (untouched)", "hmm", bk,
		    b->size, "per page", "ns", vu, n, npages,
		    "faults the pages in");
	touch(b->p, b->backing == B_4K ? b->size : b->len);
}

static void bench_register(void)
{
	char *bounce = NULL;
	size_t maxsz = 0;
	int bk, i;

	if (!ut_ok)
		report_unavailable("register", "%s", ut_why);
	if (gup_fd < 0)
		report_unavailable("register", "gup_test peer: %s", gup_why);
	if (!hmm_ok)
		report_unavailable("register", "test_hmm peer: %s", hmm_why);
	for (i = 0; i < opt.nsizes; i++)
		if (opt.sizes[i] <= opt.hmm_max && opt.sizes[i] > maxsz)
			maxsz = opt.sizes[i];
	if (hmm_ok && maxsz) {
		bounce = mmap(NULL, maxsz, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (bounce == MAP_FAILED) {
			error("bounce buffer: %s", strerror(errno));
			return;
		}
		touch(bounce, maxsz);
	}

	for (bk = 0; bk < NR_BACKING; bk++) {
		for (i = 0; i < opt.nsizes; i++) {
			size_t size = opt.sizes[i];
			char s[24];
			struct buf b;
			int err;

			progress("register: %s %s", backing_name[bk],
				 fmt_size(size, s, sizeof(s)));
			err = buf_alloc(&b, size, bk, true);
			if (err) {
				report_unavailable("register",
						   "%s %s: mmap: %s",
						   backing_name[bk], s,
						   strerror(-err));
				continue;
			}
			if (gup_fd >= 0)
				bench_gup(&b);
			if (ut_ok) {
				bench_uptr_register(&b, UPTR_TEST_BACKEND_PIN);
				bench_uptr_register(&b, UPTR_TEST_BACKEND_FAULT);
			}
			if (hmm_ok && size <= opt.hmm_max)
				bench_hmm(&b, bounce);
			buf_free(&b);
		}
	}
	if (bounce && bounce != MAP_FAILED)
		munmap(bounce, maxsz);
}

/* ------------------------------------------------------------------ */
/* Group "invalidate": munmap / MADV_DONTNEED, then the next populate   */

static const char *const inval_be_name[] = { "none", "PIN", "FAULT" };
static const int inval_be_id[] = { -1, UPTR_TEST_BACKEND_PIN,
				   UPTR_TEST_BACKEND_FAULT };

/* One repeat: map, register, munmap or DONTNEED; then the next populate. */
static int inval_once(int fd, int bk, size_t size, int op, int backend,
		      double *t_op, double *t_next, const char **note)
{
	const char *opn = op ? "MADV_DONTNEED" : "munmap";
	u64 h = 0, np = 0, t0, t1, t2 = 0;
	struct buf b;
	int err;

	err = buf_alloc(&b, size, bk, true);
	if (err) {
		error("invalidate: mmap: %s", strerror(-err));
		return err;
	}
	if (!b.huge_ok)
		*note = huge_note(&b);
	if (fd >= 0) {
		err = ut_create(fd, b.p, size, backend, &h);
		if (!err)
			err = ut_populate(fd, h, b.p, size, &np);
		if (err) {
			error("invalidate: populate: %s", strerror(-err));
			buf_free(&b);
			return err;
		}
	}
	t0 = now_ns();
	err = op ? madvise(b.p, b.len, MADV_DONTNEED) : munmap(b.p, b.len);
	t1 = now_ns();
	if (err) {
		err = -errno;
		error("invalidate: %s: %s", opn, strerror(-err));
	}
	if (!err && op && fd >= 0) {
		t1 = now_ns();
		err = ut_populate(fd, h, b.p, size, &np);
		t2 = now_ns();
		if (!err && np != size / PG)
			err = -EIO;
		if (err)
			error("invalidate: next populate: %s", strerror(-err));
	}
	if (fd >= 0)
		ut_destroy(fd, h);
	if (op)
		buf_free(&b);
	*t_op = t1 - t0;
	*t_next = t2 - t1;
	return err;
}

static void inval_case(int bk, size_t size, int op, unsigned int c)
{
	double *vo = samples(), *vn = samples();
	const char *note = "";
	int r, n = 0, fd = -1, err = 0;

	if (inval_be_id[c] >= 0) {
		fd = ut_open();
		if (fd < 0) {
			error("open /dev/uptr_test: %s", strerror(errno));
			return;
		}
	}
	for (r = -opt.warm; r < opt.reps && !err; r++) {
		double a, b;

		err = inval_once(fd, bk, size, op, inval_be_id[c], &a, &b,
				 &note);
		if (!err && r >= 0) {
			vo[n] = a;
			vn[n] = b;
			n++;
		}
	}
	if (fd >= 0)
		close(fd);
	if (err)
		return;
	add_samples("invalidate", op ? "MADV_DONTNEED" : "munmap",
		    inval_be_name[c], backing_name[bk], size, "per call", "ns",
		    vo, n, 1, note);
	if (op && inval_be_id[c] >= 0)
		add_samples("invalidate",
			    inval_be_id[c] == UPTR_TEST_BACKEND_PIN ?
			    "next populate (re-pin)" :
			    "next populate (re-fault)",
			    inval_be_name[c], backing_name[bk], size,
			    "per call", "ns", vn, n, 1,
			    "new zero-filled pages");
}

static void bench_invalidate(void)
{
	static const int bks[] = { B_4K, B_THP };
	unsigned int bi, c;
	int i, op;
	char s[24];

	if (!ut_ok) {
		report_unavailable("invalidate", "%s", ut_why);
		return;
	}
	for (bi = 0; bi < ARRAY_SIZE(bks); bi++) {
		for (i = 0; i < opt.ninval; i++) {
			fmt_size(opt.inval_sizes[i], s, sizeof(s));
			for (op = 0; op < 2; op++) {
				progress("invalidate: %s %s %s",
					 op ? "MADV_DONTNEED" : "munmap",
					 backing_name[bks[bi]], s);
				for (c = 0; c < ARRAY_SIZE(inval_be_name); c++)
					inval_case(bks[bi], opt.inval_sizes[i],
						   op, c);
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* Group "sparse": 1% / 10% / 100% of the 2M chunks, 1% of the pages    */

struct pattern {
	const char *name;
	size_t *pages;		/* page indexes the "GPU" touches, ascending */
	size_t n;
};

static void make_pattern(struct pattern *p, const char *name, size_t npages,
			 double frac, bool chunks)
{
	size_t cp = opt.chunk / PG, nchunks = npages / cp, k, i, j;

	p->name = name;
	if (chunks) {
		k = (size_t)llround(nchunks * frac);
		if (!k)
			k = 1;
		p->pages = calloc(k * cp, sizeof(size_t));
		p->n = 0;
		for (i = 0; i < k && p->pages; i++) {
			size_t c = i * nchunks / k;

			for (j = 0; j < cp; j++)
				p->pages[p->n++] = c * cp + j;
		}
	} else {
		k = (size_t)llround(npages * frac);
		if (!k)
			k = 1;
		p->pages = calloc(k, sizeof(size_t));
		p->n = 0;
		for (i = 0; i < k && p->pages; i++)
			p->pages[p->n++] = i * npages / k;
	}
}

static const struct {
	const char *name;
	int backend;
	size_t window;	/* 0: UPTR_TEST_FAULT (the core's window) */
} sparse_modes[] = {
	{ "PIN", UPTR_TEST_BACKEND_PIN, 0 },
	{ "FAULT w=4K", UPTR_TEST_BACKEND_FAULT, 4 * KiB },
	{ "FAULT w=64K", UPTR_TEST_BACKEND_FAULT, 64 * KiB },
	{ "FAULT w=2M", UPTR_TEST_BACKEND_FAULT, 2 * MiB },
	{ "FAULT fault()", UPTR_TEST_BACKEND_FAULT, 0 },
};

/*
 * The "GPU" touches the pattern's pages in order and faults on each page it
 * has no valid translation for: a device fault (UPTR_TEST_FAULT: PIN
 * populates the whole range, FAULT the core's 2M window), or, for an
 * explicit window w, a populate of the w-aligned block around the page.
 */
static int sparse_touch(int fd, u64 h, const struct buf *b, int m,
			const struct pattern *pat, unsigned char *valid,
			u64 *calls)
{
	size_t npages = b->size / PG, i, j, first, w, len;
	int err = 0;

	memset(valid, 0, npages);
	*calls = 0;
	for (i = 0; i < pat->n && !err; i++) {
		size_t pg = pat->pages[i];

		if (valid[pg])
			continue;
		(*calls)++;
		w = sparse_modes[m].window;
		if (!w) {
			err = ut_fault(fd, h, b->p + pg * PG);
			w = sparse_modes[m].backend == UPTR_TEST_BACKEND_PIN ?
			    ALIGN_UP(b->size, HPG) : HPG;
		}
		first = pg / (w / PG) * (w / PG);
		len = w / PG;
		if (first + len > npages)
			len = npages - first;
		if (sparse_modes[m].window)
			err = ut_populate(fd, h, b->p + first * PG, len * PG,
					  NULL);
		for (j = first; j < first + len; j++)
			valid[j] = 1;
	}
	return err;
}

static void sparse_case(const struct buf *b, const struct pattern *pat,
			int m, unsigned char *valid)
{
	size_t npages = b->size / PG;
	u64 mapped = 0, pinned = 0, calls = 0;
	const char *mn = sparse_modes[m].name;
	double *vt = samples();
	int r, n = 0, fd, err = 0;
	char note[128];

	progress("sparse: %s %s", pat->name, mn);
	fd = ut_open();
	if (fd < 0) {
		error("open /dev/uptr_test: %s", strerror(errno));
		return;
	}
	for (r = -opt.warm; r < opt.reps; r++) {
		struct uptr_test_stats st;
		u64 h, t0, t1;

		err = ut_create(fd, b->p, b->size, sparse_modes[m].backend, &h);
		if (err) {
			error("sparse: create: %s", strerror(-err));
			break;
		}
		t0 = now_ns();
		err = sparse_touch(fd, h, b, m, pat, valid, &calls);
		t1 = now_ns();
		if (!err)
			err = ut_stats(fd, &st);
		ut_destroy(fd, h);
		if (err) {
			error("sparse %s %s: %s", pat->name, mn, strerror(-err));
			break;
		}
		mapped = st.stats[UPTR_TEST_STAT_MAPPED];
		pinned = st.stats[UPTR_TEST_STAT_PINNED];
		if (r >= 0)
			vt[n++] = t1 - t0;
	}
	close(fd);
	if (err)
		return;
	snprintf(note, sizeof(note), "%zu pages touched, %llu faults/populates%s",
		 pat->n, (unsigned long long)calls,
		 sparse_modes[m].window || sparse_modes[m].backend ==
		 UPTR_TEST_BACKEND_PIN ? "" :
		 "; uptr_test counts the whole range per fault");
	add_samples("sparse", pat->name, mn, "4k", b->size, "time", "ns", vt,
		    n, 1, note);
	add_row("sparse", pat->name, mn, "4k", b->size, "pages mirrored",
		"pages", mapped, mapped, 1, "valid entries after the touches");
	add_row("sparse", pat->name, mn, "4k", b->size, "mirrored of range",
		"%", 100.0 * mapped / npages, 100.0 * mapped / npages, 1, NULL);
	if (sparse_modes[m].backend == UPTR_TEST_BACKEND_PIN)
		add_row("sparse", pat->name, mn, "4k", b->size, "pages pinned",
			"pages", pinned, pinned, 1, NULL);
}

static void bench_sparse(void)
{
	size_t size = opt.sparse_size, npages = size / PG;
	struct pattern pat[4];
	unsigned char *valid;
	unsigned int m, pi;
	struct buf b;
	char s[24], c[24], names[3][48];
	int err;

	if (!ut_ok) {
		report_unavailable("sparse", "%s", ut_why);
		return;
	}
	fmt_size(size, s, sizeof(s));
	fmt_size(opt.chunk, c, sizeof(c));
	progress("sparse: touching a %s 4k buffer", s);
	err = buf_alloc(&b, size, B_4K, true);
	if (err) {
		report_unavailable("sparse", "mmap %s: %s", s, strerror(-err));
		return;
	}
	snprintf(names[0], sizeof(names[0]), "%s chunks 1%%", c);
	snprintf(names[1], sizeof(names[1]), "%s chunks 10%%", c);
	snprintf(names[2], sizeof(names[2]), "%s chunks 100%%", c);
	make_pattern(&pat[0], names[0], npages, 0.01, true);
	make_pattern(&pat[1], names[1], npages, 0.10, true);
	make_pattern(&pat[2], names[2], npages, 1.0, true);
	make_pattern(&pat[3], "pages 1%", npages, 0.01, false);
	valid = calloc(npages, 1);
	if (!valid) {
		error("sparse: out of memory");
	} else {
		for (pi = 0; pi < ARRAY_SIZE(pat); pi++)
			for (m = 0; m < ARRAY_SIZE(sparse_modes); m++)
				sparse_case(&b, &pat[pi], m, valid);
	}
	for (pi = 0; pi < ARRAY_SIZE(pat); pi++)
		free(pat[pi].pages);
	free(valid);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Group "scale": one small munmap with N registered ranges             */

static void bench_scale(void)
{
	static const char *const be_name[] = { "PIN", "FAULT" };
	int bi, k;

	if (!ut_ok) {
		report_unavailable("scale", "%s", ut_why);
		return;
	}
	for (bi = 0; bi < 2; bi++) {
		for (k = 0; k < opt.nscale; k++) {
			int nr = opt.scale_n[k], r, n = 0, fd, err = 0;
			double *vu = samples(), *vr = samples();
			struct buf reg;
			u64 *h;
			int i;

			progress("scale: %s with %d ranges", be_name[bi], nr);
			h = calloc(nr, sizeof(*h));
			fd = ut_open();
			if (!h || fd < 0 || buf_alloc(&reg, (size_t)nr * PG, B_4K, true)) {
				error("scale: setup for %d ranges failed", nr);
				free(h);
				if (fd >= 0)
					close(fd);
				continue;
			}
			for (i = 0; i < nr && !err; i++) {
				err = ut_create(fd, reg.p + (size_t)i * PG, PG, bi, &h[i]);
				if (!err)
					err = ut_populate(fd, h[i],
							  reg.p + (size_t)i * PG,
							  PG, NULL);
			}
			if (err) {
				error("scale: range %d of %d: %s", i, nr,
				      strerror(-err));
				goto done;
			}
			for (r = -opt.warm; r < opt.reps; r++) {
				struct buf u;
				u64 t0, t1, t2, t3;

				/* Unrelated: 64K elsewhere, no range covers it. */
				if (buf_alloc(&u, 64 * KiB, B_4K, true)) {
					error("scale: mmap: %s", strerror(errno));
					break;
				}
				t0 = now_ns();
				munmap(u.p, u.len);
				t1 = now_ns();

				/* Related: the page of range 0 (splits the VMA). */
				t2 = now_ns();
				munmap(reg.p, PG);
				t3 = now_ns();
				ut_destroy(fd, h[0]);
				if (mmap(reg.p, PG, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
					 -1, 0) == MAP_FAILED) {
					error("scale: remap: %s", strerror(errno));
					break;
				}
				touch(reg.p, PG);
				err = ut_create(fd, reg.p, PG, bi, &h[0]);
				if (!err)
					err = ut_populate(fd, h[0], reg.p, PG, NULL);
				if (err) {
					error("scale: re-create range 0: %s",
					      strerror(-err));
					break;
				}
				if (r >= 0) {
					vu[n] = t1 - t0;
					vr[n] = t3 - t2;
					n++;
				}
			}
			if (n == opt.reps) {
				char cs[48];

				snprintf(cs, sizeof(cs), "%d ranges", nr);
				add_samples("scale", "munmap 64K unrelated", be_name[bi],
					    "4k", (u64)nr, "per call", "ns", vu, n, 1,
					    "size column = number of ranges");
				add_samples("scale", "munmap 4K of one range", be_name[bi],
					    "4k", (u64)nr, "per call", "ns", vr, n, 1,
					    "size column = number of ranges");
			}
done:
			close(fd);
			buf_free(&reg);
			free(h);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Group "migrate": NUMA move of a registered range, then the next use  */

static long move_pages_sys(size_t count, void **pages, const int *nodes,
			   int *status)
{
	return syscall(SYS_move_pages, 0, count, pages, nodes, status,
		       MPOL_MF_MOVE);
}

static void bench_migrate(void)
{
	static const char *const be_name[] = { "none", "PIN", "FAULT" };
	static const int be_id[] = { -1, UPTR_TEST_BACKEND_PIN,
				     UPTR_TEST_BACKEND_FAULT };
	size_t size = opt.mig_size, npages = size / PG, i;
	void **pages = calloc(npages, sizeof(void *));
	int *nodes = calloc(npages, sizeof(int));
	int *status = calloc(npages, sizeof(int));
	u64 *ent = calloc(npages, sizeof(u64));
	unsigned int c;

	if (!pages || !nodes || !status || !ent) {
		error("migrate: out of memory");
		goto out;
	}
	if (nnodes < 2) {
		report_unavailable("migrate", "one NUMA node");
		goto out;
	}
	if (!ut_ok) {
		report_unavailable("migrate", "%s", ut_why);
		goto out;
	}
	for (c = 0; c < ARRAY_SIZE(be_name); c++) {
		double *vm = samples(), *vn = samples(), *vmoved = samples(),
		       *vnode = samples();
		struct buf b;
		int r, n = 0, fd = -1, err = 0, cur;
		u64 h = 0;
		char s[24];

		progress("migrate: %s %s", be_name[c], fmt_size(size, s, sizeof(s)));
		if (buf_alloc(&b, size, B_4K, true)) {
			error("migrate: mmap: %s", strerror(errno));
			continue;
		}
		for (i = 0; i < npages; i++) {
			pages[i] = b.p + i * PG;
			nodes[i] = 0;
		}
		move_pages_sys(npages, pages, nodes, status);
		cur = 0;
		if (be_id[c] >= 0) {
			fd = ut_open();
			err = fd < 0 ? -errno :
			      ut_create(fd, b.p, size, be_id[c], &h);
			if (!err)
				err = ut_populate(fd, h, b.p, size, NULL);
			if (err) {
				error("migrate: populate: %s", strerror(-err));
				goto next;
			}
		}
		for (r = -opt.warm; r < opt.reps; r++) {
			int dest = !cur;
			size_t moved = 0, onnode = 0;
			u64 t0, t1, t2 = 0, np = 0;
			long ret;

			for (i = 0; i < npages; i++)
				nodes[i] = dest;
			t0 = now_ns();
			ret = move_pages_sys(npages, pages, nodes, status);
			t1 = now_ns();
			if (ret < 0) {
				error("migrate: move_pages: %s", strerror(errno));
				break;
			}
			for (i = 0; i < npages; i++)
				moved += status[i] == dest;
			if (moved * 2 > npages)
				cur = dest;
			if (fd >= 0) {
				struct uptr_test_cmd ec = {
					.handle = h, .addr = (uintptr_t)b.p,
					.size = size, .ptr = (uintptr_t)ent,
				};

				t1 = now_ns();
				err = ut_populate(fd, h, b.p, size, &np);
				t2 = now_ns();
				if (!err && size <= 16 * MiB)
					err = xioctl(fd, UPTR_TEST_ENTRIES, &ec);
				if (err || np != npages) {
					error("migrate: next populate: %s",
					      strerror(-err));
					break;
				}
				for (i = 0; size <= 16 * MiB && i < npages; i++)
					onnode += UPTR_TEST_ENTRY_NODE(ent[i]) == cur;
			}
			if (r >= 0) {
				vm[n] = t1 - t0;
				vn[n] = t2 - t1;
				vmoved[n] = moved;
				vnode[n] = onnode;
				n++;
			}
		}
		if (n == opt.reps) {
			add_samples("migrate", "move_pages to other node",
				    be_name[c], "4k", size, "per call", "ns", vm,
				    n, 1, NULL);
			add_samples("migrate", "move_pages to other node",
				    be_name[c], "4k", size, "pages moved", "pages",
				    vmoved, n, 1, NULL);
			if (fd >= 0) {
				add_samples("migrate", "next populate", be_name[c],
					    "4k", size, "per call", "ns", vn, n,
					    1, NULL);
				add_samples("migrate", "next populate", be_name[c],
					    "4k", size, "entries on page's node",
					    "pages", vnode, n, 1,
					    "mirror follows the data");
			}
		}
next:
		if (fd >= 0)
			close(fd);
		buf_free(&b);
	}
out:
	free(pages);
	free(nodes);
	free(status);
	free(ent);
}

/* ------------------------------------------------------------------ */
/* Groups "gpu-first", "gpu-copy", "gpu-migrate" (sgpu)                 */

static const struct {
	const char *name;
	u32 mode, backend;
} gpu_cfg[] = {
	{ "PIN fence-VM", SGPU_VM_MODE_FENCE, SGPU_USERPTR_BACKEND_PIN },
	{ "FAULT fault-VM", SGPU_VM_MODE_FAULT, SGPU_USERPTR_BACKEND_FAULT },
};

static void bench_gpu_one(int bk, size_t size, unsigned int ci)
{
	const char *bkn = backing_name[bk], *be = gpu_cfg[ci].name;
	double *vf = samples(), *vc = samples(), *vmig = samples(),
	       *vj = samples(), *vb = samples();
	u64 q0[SGPU_VM_COUNT], q1[SGPU_VM_COUNT];
	struct sg_vm vm;
	struct buf b;
	int r, n = 0, err;
	double memcpy_mbs;
	char *cpy;

	if (buf_alloc(&b, size, bk, true)) {
		error("gpu: mmap: %s", strerror(errno));
		return;
	}

	/* First access: userptr create + bind + one copy job, fresh VM. */
	for (r = -opt.warm; r < opt.reps; r++) {
		u64 t0, tb, t1;

		err = sg_vm_setup(&vm, gpu_cfg[ci].mode, size);
		if (err) {
			error("gpu %s: VM setup: %s", be, strerror(-err));
			sg_vm_destroy(&vm);
			goto out;
		}
		t0 = now_ns();
		err = sg_userptr(&vm, b.p, size, gpu_cfg[ci].backend);
		tb = now_ns();
		if (!err)
			err = sg_copy(&vm, size);
		t1 = now_ns();
		sg_vm_destroy(&vm);
		if (err) {
			error("gpu %s first access %s %zu: %s", be, bkn, size,
			      strerror(-err));
			goto out;
		}
		if (r >= 0) {
			vb[n] = tb - t0;
			vf[n++] = t1 - t0;
		}
	}
	add_samples("gpu-first", "userptr create + VM_BIND", be, bkn, size,
		    "per call", "ns", vb, n, 1,
		    gpu_cfg[ci].mode == SGPU_VM_MODE_FENCE ?
		    "fence mode: the bind populates" : "fault mode: nothing yet");
	add_samples("gpu-first", "userptr+bind+copy job", be, bkn, size,
		    "per call", "ns", vf, n, 1, huge_note(&b));

	/* Steady state: the same copy again and again. */
	err = sg_vm_setup(&vm, gpu_cfg[ci].mode, size);
	if (!err)
		err = sg_userptr(&vm, b.p, size, gpu_cfg[ci].backend);
	if (!err)
		err = sg_copy(&vm, size);
	if (err) {
		error("gpu %s steady setup: %s", be, strerror(-err));
		sg_vm_destroy(&vm);
		goto out;
	}
	n = 0;
	sg_query(SGPU_QUERY_VM, vm.vm, q0, SGPU_VM_COUNT);
	for (r = -opt.warm; r < opt.reps; r++) {
		u64 t0 = now_ns();

		err = sg_copy(&vm, size);
		if (err) {
			error("gpu %s copy: %s", be, strerror(-err));
			break;
		}
		if (r >= 0)
			vc[n++] = size / ((now_ns() - t0) / 1e3);
	}
	cpy = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cpy != MAP_FAILED) {
		touch(cpy, size);
		memcpy_mbs = cpu_copy_mbs(cpy, b.p, size);
		munmap(cpy, size);
	} else {
		memcpy_mbs = NAN;
	}
	if (n == opt.reps) {
		struct row *rw;
		char note[128] = "";

		/* What the jobs of the loop cost besides the copy. */
		if (!sg_query(SGPU_QUERY_VM, vm.vm, q1, SGPU_VM_COUNT))
			snprintf(note, sizeof(note),
				 "%d jobs: %llu invalidations, %llu repins, %llu GPU faults",
				 opt.reps + opt.warm,
				 (unsigned long long)(q1[SGPU_VM_INVALIDATIONS] -
						      q0[SGPU_VM_INVALIDATIONS]),
				 (unsigned long long)(q1[SGPU_VM_REPINS] -
						      q0[SGPU_VM_REPINS]),
				 (unsigned long long)(q1[SGPU_VM_GPU_FAULTS] -
						      q0[SGPU_VM_GPU_FAULTS]));
		rw = add_samples("gpu-copy", "copy job throughput", be, bkn,
				 size, "bandwidth", "MB/s", vc, n, 1, note);

		add_row("gpu-copy", "cpu memcpy same buffers", be, bkn, size,
			"bandwidth", "MB/s", memcpy_mbs, memcpy_mbs, 1,
			"best of glibc memcpy and rep movsb");
		(void)rw;
	}

	/* NUMA move of the bound source, then the next completed job. */
	if (nnodes >= 2 && bk == B_4K) {
		size_t np = size / PG, i, moved;
		void **pg = calloc(np, sizeof(void *));
		int *nd = calloc(np, sizeof(int)), *st = calloc(np, sizeof(int));
		int cur = 0;

		n = 0;
		for (r = -opt.warm; pg && nd && st && r < opt.reps; r++) {
			u64 t0, t1, t2;

			for (i = 0; i < np; i++) {
				pg[i] = b.p + i * PG;
				nd[i] = !cur;
			}
			t0 = now_ns();
			if (move_pages_sys(np, pg, nd, st) < 0) {
				error("gpu migrate: move_pages: %s", strerror(errno));
				break;
			}
			t1 = now_ns();
			for (i = 0, moved = 0; i < np; i++)
				moved += st[i] == !cur;
			if (moved * 2 > np)
				cur = !cur;
			err = sg_copy(&vm, size);
			t2 = now_ns();
			if (err) {
				error("gpu %s job after migration: %s", be,
				      strerror(-err));
				break;
			}
			if (r >= 0) {
				vmig[n] = t1 - t0;
				vj[n] = t2 - t1;
				n++;
			}
		}
		if (n == opt.reps) {
			u64 q[SGPU_BO_COUNT];

			add_samples("gpu-migrate", "move_pages of bound source",
				    be, bkn, size, "per call", "ns", vmig, n, 1,
				    NULL);
			add_samples("gpu-migrate", "next copy job", be, bkn, size,
				    "per call", "ns", vj, n, 1, NULL);
			if (!sg_query(SGPU_QUERY_BO, vm.src, q, SGPU_BO_COUNT))
				add_row("gpu-migrate", "after the moves", be, bkn,
					size, "repins+gpu faults", "count",
					q[SGPU_BO_REPINS] + q[SGPU_BO_GPU_FAULTS],
					NAN, 1, NULL);
		}
		free(pg);
		free(nd);
		free(st);
	}
	sg_vm_destroy(&vm);
out:
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Group "gpu-job": the job round trip and what bounds it              */

/*
 * Round trips timed per latency row: enough for a p99 that is not just
 * the maximum (the default 10 repeats are not).
 */
static int rt_samples(void)
{
	return opt.smoke ? 50 : 2000;
}

/* Median and p99 of a latency row; the samples are sorted in place. */
static void add_latency(const char *cs, const char *backend,
			const char *backing, u64 size, const char *metric,
			double *v, int n, const char *note)
{
	double med, p99;

	stats(v, n, &med, &p99);
	add_row("gpu-job", cs, backend, backing, size, metric, "ns", med, p99,
		n, note);
}

struct pingpong {
	int to_peer, to_main;
};

/* The peer: answer every wake-up with one, until told to stop (2). */
static void *pingpong_peer(void *arg)
{
	const struct pingpong *pp = arg;
	u64 v, one = 1;

	for (;;) {
		if (read(pp->to_peer, &v, sizeof(v)) != sizeof(v) || v != 1)
			break;
		if (write(pp->to_main, &one, sizeof(one)) != sizeof(one))
			break;
	}
	return NULL;
}

/*
 * The anchor: a thread wakes another one, which wakes it back (two eventfd
 * writes, two blocking reads).  A job round trip has the same two
 * wake-ups at least (the submitter wakes the engine, the engine wakes the
 * waiter) and two syscalls (EXEC, WAIT): the software engine cannot beat
 * it.  Unpinned, the threads usually sit on two CPUs and each wake-up
 * crosses CPUs (an idle vCPU to wake under TCG); with @one_cpu both are
 * pinned to the CPU the benchmark runs on, the floor for an engine worker
 * that starts on the submitter's CPU.
 */
static void bench_pingpong(bool one_cpu)
{
	int r, n = 0, total = rt_samples();
	struct pingpong pp;
	u64 v, one = 1, stop = 2;
	double *vt = calloc(total, sizeof(double));
	cpu_set_t saved, cpu;
	pthread_t th;

	pp.to_peer = eventfd(0, EFD_CLOEXEC);
	pp.to_main = eventfd(0, EFD_CLOEXEC);
	if (one_cpu) {
		CPU_ZERO(&cpu);
		CPU_SET(sched_getcpu(), &cpu);
		if (sched_getaffinity(0, sizeof(saved), &saved) ||
		    sched_setaffinity(0, sizeof(cpu), &cpu)) {
			error("gpu-job: ping-pong affinity: %s", strerror(errno));
			goto out;
		}
	}
	/* The peer inherits the affinity. */
	if (!vt || pp.to_peer < 0 || pp.to_main < 0 ||
	    pthread_create(&th, NULL, pingpong_peer, &pp)) {
		error("gpu-job: ping-pong setup: %s", strerror(errno));
		goto out_affinity;
	}
	for (r = -total / 10; r < total; r++) {
		u64 t0 = now_ns();

		if (write(pp.to_peer, &one, sizeof(one)) != sizeof(one) ||
		    read(pp.to_main, &v, sizeof(v)) != sizeof(v)) {
			error("gpu-job: ping-pong: %s", strerror(errno));
			break;
		}
		if (r >= 0)
			vt[n++] = now_ns() - t0;
	}
	if (write(pp.to_peer, &stop, sizeof(stop)) == sizeof(stop))
		pthread_join(th, NULL);
	if (n == total)
		add_latency(one_cpu ? "thread ping-pong on one CPU" :
			    "thread ping-pong (eventfd)", "cpu", "-", 8,
			    "per round trip", vt, n, one_cpu ?
			    "both threads pinned to one CPU" :
			    "2 threads, 2 wake-ups: the floor of a job round trip");
out_affinity:
	if (one_cpu)
		sched_setaffinity(0, sizeof(saved), &saved);
out:
	if (pp.to_peer >= 0)
		close(pp.to_peer);
	if (pp.to_main >= 0)
		close(pp.to_main);
	free(vt);
}

/*
 * Submit one job and wait for it, @total times after a tenth as many
 * warm-ups; @vx gets the EXEC ioctl alone, @vt the whole round trip.
 */
static int job_loop(struct sg_vm *vm, struct drm_sgpu_cmd *c, double *vx,
		    double *vt, int total)
{
	struct drm_sgpu_exec x = {
		.vm_id = vm->vm, .cmds = (uintptr_t)c, .num_cmds = 1,
	};
	struct drm_sgpu_wait w = { .vm_id = vm->vm, .timeout_ns = -1 };
	int r, n = 0, err;

	for (r = -total / 10; r < total; r++) {
		u64 t0 = now_ns(), t1;

		err = xioctl(sgpu_fd, DRM_IOCTL_SGPU_EXEC, &x);
		t1 = now_ns();
		if (err)
			return err;
		w.seqno = x.seqno;
		err = xioctl(sgpu_fd, DRM_IOCTL_SGPU_WAIT, &w);
		if (!err)
			err = w.status;
		if (err)
			return err;
		if (r >= 0) {
			vx[n] = t1 - t0;
			vt[n++] = now_ns() - t0;
		}
	}
	return 0;
}

/*
 * The null job (the smallest the uapi has: a 4-byte FILL of a shmem BO,
 * no syncobj), and a 64 KiB copy from a 4k userptr, in either mode:
 * submit, completion, wait.
 */
static void bench_job_rt(void)
{
	static const char * const mode_name[] = { "fence-VM", "fault-VM" };
	size_t size = 64 * KiB;
	int total = rt_samples();
	double *vx = calloc(total, sizeof(double));
	double *vt = calloc(total, sizeof(double));
	unsigned int ci;
	struct sg_vm vm;
	struct buf b;
	char *cpy;
	int r, err;

	if (!vx || !vt || buf_alloc(&b, size, B_4K, true)) {
		error("gpu-job: allocation failed");
		goto out_free;
	}
	for (ci = 0; ci < ARRAY_SIZE(gpu_cfg); ci++) {
		struct drm_sgpu_cmd null = {
			.op = SGPU_CMD_FILL, .dst = SG_VA_DST, .size = 4,
			.value = 0x11,
		};
		struct drm_sgpu_cmd copy = {
			.op = SGPU_CMD_COPY, .src = SG_VA_SRC, .dst = SG_VA_DST,
			.size = size,
		};
		char what[64];

		progress("gpu-job: %s null job and 64K copy, %d round trips",
			 gpu_cfg[ci].name, total);
		err = sg_vm_setup(&vm, gpu_cfg[ci].mode, size);
		if (!err)
			err = sg_userptr(&vm, b.p, size, gpu_cfg[ci].backend);
		if (!err)
			err = sg_copy(&vm, size);
		if (!err)
			err = job_loop(&vm, &null, vx, vt, total);
		if (err) {
			error("gpu-job %s null job: %s", gpu_cfg[ci].name,
			      strerror(-err));
			sg_vm_destroy(&vm);
			continue;
		}
		add_latency("null job: exec + wait", mode_name[ci], "shmem", 4,
			    "per round trip", vt, total,
			    "one 4-byte FILL, no syncobj");
		add_latency("null job: exec ioctl", mode_name[ci], "shmem", 4,
			    "per call", vx, total, NULL);
		err = job_loop(&vm, &copy, vx, vt, total);
		sg_vm_destroy(&vm);
		if (err) {
			error("gpu-job %s copy job: %s", gpu_cfg[ci].name,
			      strerror(-err));
			continue;
		}
		snprintf(what, sizeof(what), "%s userptr to shmem",
			 gpu_cfg[ci].name);
		add_latency("64K copy job: exec + wait", gpu_cfg[ci].name, "4k",
			    size, "per round trip", vt, total, what);
	}

	/* One core's copy of the same 64 KiB, as many times. */
	cpy = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cpy == MAP_FAILED) {
		error("gpu-job: mmap: %s", strerror(errno));
		goto out_buf;
	}
	touch(cpy, size);
	for (r = -total / 10; r < total; r++) {
		u64 t0 = now_ns();

		memcpy(cpy, b.p, size);
		asm volatile("" : : "r"(cpy) : "memory");
		if (r >= 0)
			vt[r] = now_ns() - t0;
	}
	add_latency("64K memcpy 1 core", "cpu", "4k", size, "per call", vt,
		    total, "glibc memcpy, same source buffer");
	munmap(cpy, size);
out_buf:
	buf_free(&b);
out_free:
	free(vx);
	free(vt);
}

static void bench_gpu_job(void)
{
	bench_pingpong(false);
	bench_pingpong(true);
	if (sgpu_fd < 0) {
		report_unavailable("gpu-job", "%s", sgpu_why);
		return;
	}
	bench_job_rt();
}

static void bench_gpu(void)
{
	int bk, i;
	unsigned int ci;

	sgpu_fd = sgpu_open();
	if (selected("gpu") || selected("gpu-job"))
		bench_gpu_job();
	if (!selected("gpu"))
		goto out;
	if (sgpu_fd < 0) {
		report_unavailable("gpu-first", "%s", sgpu_why);
		report_unavailable("gpu-copy", "%s", sgpu_why);
		report_unavailable("gpu-migrate", "%s", sgpu_why);
		return;
	}
	for (bk = 0; bk < NR_BACKING; bk++) {
		for (i = 0; i < opt.nsizes; i++) {
			char s[24];

			if ((opt.sizes[i] < 64 * KiB && !opt.smoke) ||
			    opt.sizes[i] > opt.gpu_max)
				continue;
			for (ci = 0; ci < ARRAY_SIZE(gpu_cfg); ci++) {
				progress("gpu: %s %s %s", gpu_cfg[ci].name,
					 backing_name[bk],
					 fmt_size(opt.sizes[i], s, sizeof(s)));
				bench_gpu_one(bk, opt.sizes[i], ci);
			}
		}
	}
out:
	if (sgpu_fd >= 0)
		close(sgpu_fd);
}

/* ------------------------------------------------------------------ */
/* Table and verdicts                                                  */

static int nmiss, npass;

static void verdict(const char *target, const char *what, double ratio,
		    double limit, bool le, const char *basis)
{
	char res[64], lim[24];
	bool ok;

	if (isnan(ratio)) {
		tline("  %-44s %-34s %9s %9s  n/a (%s)", target, what, "-", "-",
		      basis);
		return;
	}
	ok = le ? ratio <= limit : ratio >= limit;
	if (ok) {
		snprintf(res, sizeof(res), "pass");
		npass++;
	} else {
		snprintf(res, sizeof(res), "MISS by %.2fx",
			 le ? ratio / limit : limit / ratio);
		nmiss++;
	}
	snprintf(lim, sizeof(lim), "%s%.3gx", le ? "<=" : ">=", limit);
	tline("  %-44s %-34s %8.3gx %9s  %s", target, what, ratio, lim, res);
	if (csv_f) {
		struct row r = { 0 };

		snprintf(r.group, sizeof(r.group), "verdict");
		snprintf(r.cs, sizeof(r.cs), "%.47s", target);
		snprintf(r.backend, sizeof(r.backend), "-");
		snprintf(r.backing, sizeof(r.backing), "-");
		snprintf(r.metric, sizeof(r.metric), "ratio");
		snprintf(r.unit, sizeof(r.unit), "x");
		r.med = ratio;
		r.p99 = ratio;
		r.n = 1;
		snprintf(r.note, sizeof(r.note), "%s; limit %s%.3g; %s",
			 what, le ? "<=" : ">=", limit, res);
		csv_row(&r);
	}
}

/*
 * gup_test's clock has 1 us resolution: judge only above this (10 %; the
 * 16 MiB huge-page rows, ~13 us, are judged).
 */
#define GUP_MIN_NS	10000.0

/* A populate row against gup_test's pin, per page, or n/a. */
static void judge_populate(const char *target, const char *what,
			   const struct row *g, const struct row *u, u64 sz,
			   double lim)
{
	if (!g || !u)
		return;
	if (g->med * (sz / PG) < GUP_MIN_NS)
		verdict(target, what, NAN, lim, true,
			"gup_test time below its us clock");
	else
		verdict(target, what, u->med / g->med, lim, true, "");
}

static void print_verdicts(void)
{
	const char *bks[NR_BACKING] = { "4k", "thp", "hugetlb" };
	char s[24], s0[24], what[96];
	int bk, i, j;

	tline("");
	tline("Targets (ratios of medians measured in this run)");
	tline("  %-44s %-34s %9s %9s  %s", "target", "case", "ratio", "limit",
	      "result");
	for (bk = 0; bk < NR_BACKING; bk++) {
		for (i = 0; i < opt.nsizes; i++) {
			u64 sz = opt.sizes[i];
			const struct row *g, *p, *f, *h, *pk, *fk;
			double lim = bk == B_4K ? 1.2 : 2.0;
			double flim = bk == B_4K ? 1.0 : 1.5;

			g = find_row("register", "gup_test PIN_FAST+LONGTERM",
				     "gup", bks[bk], sz, "pin per page");
			p = find_row("register", "uptr populate", "PIN", bks[bk],
				     sz, "per page");
			f = find_row("register", "uptr populate", "FAULT",
				     bks[bk], sz, "per page");
			h = find_row("register", "test_hmm READ (present)", "hmm",
				     bks[bk], sz, "per page");
			pk = find_row("register", "uptr populate (kernel clock)",
				      "PIN", bks[bk], sz, "per page");
			fk = find_row("register", "uptr populate (kernel clock)",
				      "FAULT", bks[bk], sz, "per page");
			fmt_size(sz, s, sizeof(s));
			snprintf(what, sizeof(what), "%s %s", bks[bk], s);
			judge_populate(bk == B_4K ?
				       "PIN populate <= 1.2x gup_test pin/page" :
				       "PIN populate <= 2x gup_test pin/subpage",
				       what, g, p, sz, lim);
			judge_populate(bk == B_4K ?
				       "FAULT populate <= 1.0x gup_test pin/page" :
				       "FAULT populate <= 1.5x gup_test pin/subpage",
				       what, g, f, sz, flim);
			/*
			 * The fair rows beside them: uptr's populate by the
			 * kernel's clock, as gup_test times its pin.
			 */
			judge_populate(bk == B_4K ?
				       "PIN kernel clock <= 1.2x gup_test" :
				       "PIN kernel clock <= 2x gup_test",
				       what, g, pk, sz, lim);
			judge_populate(bk == B_4K ?
				       "FAULT kernel clock <= 1.0x gup_test" :
				       "FAULT kernel clock <= 1.5x gup_test",
				       what, g, fk, sz, flim);
			if (h && f) {
				snprintf(what, sizeof(what), "%s %s", bks[bk], s);
				verdict("FAULT populate >= 10x faster than test_hmm",
					what, h->med / f->med, 10.0, false, "");
			}
		}
	}
	for (bk = 0; bk < NR_BACKING; bk++) {
		for (i = 0; i < opt.nsizes; i++) {
			const char *be[2] = { "PIN", "FAULT" };
			int k;

			fmt_size(opt.sizes[i], s, sizeof(s));
			for (k = 0; k < 2; k++) {
				const struct row *rv;

				const char *rn = "uptr populate (valid range)";
				const char *rrn = "uptr populate (valid range) in a row";
				const char *rkn = "uptr populate (valid range; kernel clock)";
				const char *ran = "1-page range reval. after it (kernel clock)";
				const struct row *r4 = NULL, *rr, *rr4, *rk, *rk4;
				const struct row *ra;

				/*
				 * Issue 12: revalidating a valid range is flat
				 * in its size, against the smallest size run
				 * on this backing.
				 */
				for (j = 0; j < i && !r4; j++)
					r4 = find_row("revalidate", rn, be[k],
						      bks[bk], opt.sizes[j],
						      "per call");
				rv = find_row("revalidate", rn, be[k], bks[bk],
					      opt.sizes[i], "per call");
				if (!rv || !r4)
					continue;
				rr = find_row("revalidate", rrn, be[k], bks[bk],
					      opt.sizes[i], "per call");
				rr4 = find_row("revalidate", rrn, be[k], bks[bk],
					       r4->size, "per call");
				snprintf(what, sizeof(what), "%s %s %s vs %s", be[k],
					 bks[bk], s, fmt_size(r4->size, s0,
							      sizeof(s0)));
				verdict("revalidate flat: <= 1.5x smallest size",
					what, rv->med / r4->med, 1.5, true, "");
				if (rr && rr4)
					verdict("reval. in a row: <= 1.5x smallest size",
						what, rr->med / rr4->med, 1.5,
						true, "8th call in a row (fair row)");
				rk = find_row("revalidate", rkn, be[k], bks[bk],
					      opt.sizes[i], "per call");
				rk4 = find_row("revalidate", rkn, be[k], bks[bk],
					       r4->size, "per call");
				if (rk && rk4)
					verdict("reval. kernel clock: <= 1.5x smallest size",
						what, rk->med / rk4->med, 1.5,
						true, "1st call, no syscall (fair row)");
				ra = find_row("revalidate", ran, be[k], bks[bk],
					      opt.sizes[i], "per call");
				snprintf(what, sizeof(what), "%s %s %s", be[k],
					 bks[bk], s);
				if (rk && ra)
					verdict("reval. kernel clock: <= 1.5x a 1-page range's",
						what, rk->med / ra->med, 1.5,
						true, "same place after the same populate");
			}
		}
	}
	for (i = 0; i < nrows; i++) {
		const struct row *c = &rows[i], *m;

		if (strcmp(c->group, "gpu-copy") ||
		    strcmp(c->cs, "copy job throughput"))
			continue;
		m = find_row("gpu-copy", "cpu memcpy same buffers", c->backend,
			     c->backing, c->size, "bandwidth");
		if (!m)
			m = find_row("limits", "memcpy 1 core", "cpu", "4k",
				     (u64)-1, "bandwidth");
		snprintf(what, sizeof(what), "%s %s %s", c->backend, c->backing,
			 fmt_size(c->size, s, sizeof(s)));
		if (m)
			verdict("GPU copy >= 0.8x memcpy of one core", what,
				c->med / m->med, 0.8, false, "");
	}
	for (i = 0; i < nrows; i++) {
		const struct row *c = &rows[i], *pp;

		if (strcmp(c->group, "gpu-job") ||
		    strcmp(c->cs, "null job: exec + wait"))
			continue;
		pp = find_row("gpu-job", "thread ping-pong (eventfd)", "cpu",
			      "-", (u64)-1, "per round trip");
		if (pp)
			verdict("null job <= 3x thread ping-pong (median)",
				c->backend, c->med / pp->med, 3.0, true, "");
		pp = find_row("gpu-job", "thread ping-pong on one CPU", "cpu",
			      "-", (u64)-1, "per round trip");
		if (pp)
			verdict("null job <= 3x ping-pong on one CPU", c->backend,
				c->med / pp->med, 3.0, true, "");
	}
	for (i = 0; i < nrows; i++) {
		const struct row *c = &rows[i], *none;

		if (strcmp(c->group, "invalidate") || strcmp(c->cs, "munmap") ||
		    !strcmp(c->backend, "none"))
			continue;
		none = find_row("invalidate", "munmap", "none", c->backing,
				c->size, "per call");
		if (!none)
			continue;
		snprintf(what, sizeof(what), "%s %s %s", c->backend, c->backing,
			 fmt_size(c->size, s, sizeof(s)));
		verdict("munmap mirrored <= 1.5x munmap unregistered", what,
			c->med / none->med, 1.5, true, "");
	}
	if (opt.nscale >= 2) {
		const char *be[2] = { "PIN", "FAULT" };
		const char *cs[2] = { "munmap 64K unrelated", "munmap 4K of one range" };
		int k, j;

		for (k = 0; k < 2; k++) {
			for (j = 0; j < 2; j++) {
				const struct row *a, *z;

				a = find_row("scale", cs[j], be[k], "4k",
					     opt.scale_n[0], "per call");
				z = find_row("scale", cs[j], be[k], "4k",
					     opt.scale_n[opt.nscale - 1], "per call");
				if (!a || !z)
					continue;
				snprintf(what, sizeof(what), "%s %s, %d vs %d", be[k],
					 cs[j], opt.scale_n[opt.nscale - 1],
					 opt.scale_n[0]);
				verdict("munmap independent of #ranges (<=1.5x)",
					what, z->med / a->med, 1.5, true, "");
			}
		}
	}
	{
		static const char * const modes[] = { "FAULT w=4K", "FAULT w=64K", "FAULT w=2M",
					"FAULT fault()" };
		const struct row *p;
		unsigned int k;
		char c1[48];

		snprintf(c1, sizeof(c1), "%s chunks 1%%",
			 fmt_size(opt.chunk, s, sizeof(s)));
		for (k = 0; k < ARRAY_SIZE(modes); k++) {
			p = find_row("sparse", c1, modes[k], "4k", (u64)-1,
				     "mirrored of range");
			if (!p)
				continue;
			snprintf(what, sizeof(what), "%s, 1%% of 2M chunks", modes[k]);
			verdict("sparse: FAULT mirrors <= 2% of pages", what,
				p->med / 100.0, 0.02, true, "");
		}
		p = find_row("sparse", c1, "PIN", "4k", (u64)-1,
			     "mirrored of range");
		if (p)
			verdict("sparse: PIN pins 100% (expected)",
				"PIN, 1% of 2M chunks", p->med / 100.0, 1.0,
				false, "");
	}
	tline("  %d targets met, %d missed", npass, nmiss);
}

static void print_table(void)
{
	static const char * const groups[] = { "limits", "register", "revalidate",
				 "gpu-first", "gpu-copy", "gpu-job", "invalidate",
				 "sparse", "scale", "migrate", "gpu-migrate" };
	static const char * const title[] = {
		"Physical limits (one core)",
		"1. Registration: create + populate (+ bind with sgpu); peers gup_test, test_hmm",
		"2. Revalidation of a valid range",
		"3. First GPU access: userptr + bind + one copy job",
		"4. Steady state: GPU copy through userptr vs CPU memcpy",
		"4b. GPU job round trip (submit, completion, wait) vs a thread wake-up",
		"5. Invalidation (and the next populate)",
		"6. Sparse access over one userptr (FAULT windows emulated: see note)",
		"7. Scale: one munmap with N registered ranges (size column = N)",
		"8. NUMA migration of a registered range, core level",
		"8. NUMA migration of a bound range, next GPU job",
	};
	unsigned int g;
	int i;
	char s[24], m[24], p[24];

	for (g = 0; g < ARRAY_SIZE(groups); g++) {
		bool any = false;

		for (i = 0; i < nrows; i++) {
			const struct row *r = &rows[i];

			if (strcmp(r->group, groups[g]))
				continue;
			if (!any) {
				tline("");
				tline("%s", title[g]);
				tline("  %-30s %-14s %-7s %6s %-24s %10s %10s  %s",
				      "case", "backend", "backing", "size", "metric",
				      "median", "p99", "note");
				any = true;
			}
			if (!strcmp(r->cs, "unavailable")) {
				tline("  unavailable: %s", r->note);
				continue;
			}
			tline("  %-30s %-14s %-7s %6s %-24s %10s %10s  %s", r->cs,
			      r->backend, r->backing,
			      !strcmp(r->group, "scale") ?
			      (snprintf(s, sizeof(s), "%llu", (unsigned long long)r->size), s) :
			      fmt_size(r->size, s, sizeof(s)),
			      r->metric, fmt_val(r->med, r->unit, m, sizeof(m)),
			      r->n > 1 ? fmt_val(r->p99, r->unit, p, sizeof(p)) : "",
			      r->note);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Setup and main                                                      */

static void read_first(const char *path, const char *key, char *out,
		       size_t len)
{
	char line[512];
	FILE *f = fopen(path, "r");

	snprintf(out, len, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (key && strncmp(line, key, strlen(key)))
			continue;
		{
			char *v = key ? strchr(line, ':') : line;

			if (!v)
				continue;
			if (key)
				v++;
			while (*v == ' ' || *v == '\t')
				v++;
			v[strcspn(v, "\n")] = 0;
			snprintf(out, len, "%.200s", v);
		}
		break;
	}
	fclose(f);
}

static void print_header(int argc, char **argv)
{
	struct utsname u;
	char cpu[256], thp[128];
	const char *flavour;
	int i;

	uname(&u);
	read_first("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
	read_first("/sys/kernel/mm/transparent_hugepage/enabled", NULL, thp,
		   sizeof(thp));
	flavour = !access("/proc/lockdep", F_OK) ||
		  !access("/sys/kernel/debug/kmemleak", F_OK) ?
		  "DEBUG (lockdep/kmemleak: numbers are not representative)" :
		  "non-debug";
	tline("uptr_bench: uptr PIN and FAULT backends against the kernel's reference paths");
	tline("  kernel:       %s %s (%s)", u.release, u.machine, flavour);
	tline("  cpu:          %s, %ld online, %d NUMA node(s)", cpu,
	      sysconf(_SC_NPROCESSORS_ONLN), nnodes);
	tline("  host cpu:     %s", opt.host_cpu[0] ? opt.host_cpu :
	      "(not given: this is the host, or see --host-cpu)");
	tline("  accelerator:  %s", opt.accel ? opt.accel :
	      "none given (real host, or see --accel)");
	tline("  thp:          %s", thp);
	tline("  repeats:      %d timed after %d warm-up; median and p99 (nearest rank)",
	      opt.reps, opt.warm);
	{
		char line[512] = "";
		size_t off = 0;

		for (i = 1; i < argc && off < sizeof(line) - 1; i++)
			off += snprintf(line + off, sizeof(line) - off, "%s%s",
					i > 1 ? " " : "", argv[i]);
		tline("  options:      %s", argc > 1 ? line : "(defaults)");
	}
	if (opt.accel && !strcmp(opt.accel, "tcg"))
		tline("  note: TCG emulation: absolute times are emulated; ratios %s",
		      "between rows of this run compare like with like");
}

static const char help_text[] =
	"uptr_bench [--smoke|--full] [--reps N] [--warmup N] [--only G,...]\n"
	"           [--csv FILE|-] [--prefix] [--accel NAME] [--host-cpu MODEL]\n"
	"           [--require uptr_test,gup_test,test_hmm,sgpu]\n"
	"groups: limits register invalidate sparse scale migrate gpu gpu-job\n"
	"  (register includes revalidate; gpu: gpu-first, gpu-copy, gpu-migrate\n"
	"  and gpu-job, the job round trip, which also runs alone)\n"
	"--smoke: seconds, tiny sizes (make check); --full: up to 1 GiB\n";

static void print_help(void)
{
	fprintf(stderr, "%s", help_text);
}

static void set_defaults(void)
{
	static const size_t def[] = { 4 * KiB, 64 * KiB, 1 * MiB, 16 * MiB,
				      256 * MiB };
	unsigned int i;

	opt.reps = 10;
	opt.warm = 1;
	for (i = 0; i < ARRAY_SIZE(def); i++)
		opt.sizes[opt.nsizes++] = def[i];
	opt.hmm_max = 256 * MiB;
	opt.gpu_max = 16 * MiB;
	opt.limit_size = 64 * MiB;
	opt.touch_size = 16 * MiB;
	opt.inval_sizes[0] = 2 * MiB;
	opt.inval_sizes[1] = 64 * MiB;
	opt.ninval = 2;
	opt.sparse_size = 1 * GiB;
	opt.chunk = 2 * MiB;
	opt.scale_n[0] = 1;
	opt.scale_n[1] = 100;
	opt.scale_n[2] = 10000;
	opt.nscale = 3;
	opt.mig_size = 16 * MiB;
}

static int check_required(void)
{
	const char *p = opt.require;
	int bad = 0;

	if (!p)
		return 0;
	if (strstr(p, "uptr_test") && !ut_ok) {
		fprintf(stderr, "[bench] required: %s\n", ut_why);
		bad = 1;
	}
	if (strstr(p, "gup_test") && gup_fd < 0) {
		fprintf(stderr, "[bench] required: %s\n", gup_why);
		bad = 1;
	}
	if (strstr(p, "test_hmm") && !hmm_ok) {
		fprintf(stderr, "[bench] required: %s\n", hmm_why);
		bad = 1;
	}
	if (strstr(p, "sgpu")) {
		int fd = sgpu_open();

		if (fd < 0) {
			fprintf(stderr, "[bench] required: %s\n", sgpu_why);
			bad = 1;
		} else {
			close(fd);
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "smoke", no_argument, NULL, 's' },
		{ "full", no_argument, NULL, 'f' },
		{ "reps", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "only", required_argument, NULL, 'o' },
		{ "csv", required_argument, NULL, 'c' },
		{ "prefix", no_argument, NULL, 'p' },
		{ "accel", required_argument, NULL, 'a' },
		{ "host-cpu", required_argument, NULL, 'H' },
		{ "require", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, reps = -1, warm = -1;
	size_t need;
	char *q;

	set_defaults();
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.smoke = true;
			break;
		case 'f':
			opt.full = true;
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'w':
			warm = atoi(optarg);
			break;
		case 'o':
			opt.only = optarg;
			break;
		case 'c':
			opt.csv = optarg;
			break;
		case 'p':
			opt.prefix = true;
			break;
		case 'a':
			opt.accel = optarg;
			break;
		case 'H':
			/* Blanks may come as '_' through the guest manifest. */
			snprintf(opt.host_cpu, sizeof(opt.host_cpu), "%s", optarg);
			for (q = opt.host_cpu; *q; q++)
				if (*q == '_')
					*q = ' ';
			break;
		case 'R':
			opt.require = optarg;
			break;
		case 'h':
			print_help();
			return 0;
		default:
			print_help();
			return 2;
		}
	}
	if (optind < argc) {
		print_help();
		return 2;
	}
	if (opt.smoke) {
		opt.nsizes = 0;
		opt.sizes[opt.nsizes++] = 4 * KiB;
		opt.sizes[opt.nsizes++] = 64 * KiB;
		opt.reps = 2;
		opt.warm = 0;
		opt.limit_size = 1 * MiB;
		opt.touch_size = 1 * MiB;
		opt.inval_sizes[0] = 64 * KiB;
		opt.ninval = 1;
		opt.sparse_size = 1 * MiB;
		opt.chunk = 64 * KiB;
		opt.scale_n[0] = 1;
		opt.scale_n[1] = 10;
		opt.nscale = 2;
		opt.mig_size = 256 * KiB;
	} else if (opt.full) {
		opt.sizes[opt.nsizes++] = 1 * GiB;
		opt.hmm_max = 1 * GiB;
		opt.gpu_max = 1 * GiB;
		opt.inval_sizes[1] = 256 * MiB;
		opt.inval_sizes[2] = 1 * GiB;
		opt.ninval = 3;
		opt.mig_size = 256 * MiB;
	}
	if (reps > 0)
		opt.reps = reps;
	if (warm >= 0)
		opt.warm = warm;
	if (opt.reps > 200 || opt.warm > 50) {
		fprintf(stderr, "uptr_bench: at most 200 repeats and 50 warm-ups\n");
		return 2;
	}
	if (opt.csv)
		csv_f = strcmp(opt.csv, "-") ? fopen(opt.csv, "w") : stdout;
	if (opt.csv && !csv_f) {
		perror(opt.csv);
		return 2;
	}
	if (csv_f)
		fprintf(csv_f, "%s%s\n", csv_f == stdout ? "@@CSV " : "",
			"group,case,backend,backing,size_bytes,metric,unit,median,p99,repeats,note");

	t_start = now_ns();
	probe_devices();
	/* hugetlb pages for the largest hugetlb buffer (if we may). */
	need = 0;
	for (c = 0; c < opt.nsizes; c++)
		if (opt.sizes[c] > need)
			need = opt.sizes[c];
	if (opt.touch_size > need)
		need = opt.touch_size;
	hugetlb_reserve(ALIGN_UP(need, HPG) / HPG + 2);
	print_header(argc, argv);
	if (check_required())
		return 1;
	if (hugetlb_free() < ALIGN_UP(need, HPG) / HPG)
		tline("  note: only %lu free hugetlb pages: larger hugetlb cases are skipped",
		      hugetlb_free());

	if (selected("limits"))
		bench_limits();
	if (selected("register"))
		bench_register();
	if (selected("invalidate"))
		bench_invalidate();
	if (selected("sparse"))
		bench_sparse();
	if (selected("scale"))
		bench_scale();
	if (selected("migrate"))
		bench_migrate();
	/* Last: a driver in development must not cost the other groups. */
	if (selected("gpu") || selected("gpu-job"))
		bench_gpu();

	print_table();
	print_verdicts();
	tline("");
	tline("Notes: per-page figures divide a call's time by its 4K pages");
	tline("  (subpages for thp/hugetlb).  gup_test rows use its own in-kernel");
	tline("  clock (1 us resolution, pin only); uptr rows are wall time of one");
	tline("  ioctl (syscall included).  Targets on gup_test are not judged when");
	tline("  its time is below %.0f us.  FAULT windows 4K/64K/2M are emulated by",
	      GUP_MIN_NS / 1e3);
	tline("  populating the window-aligned block around each touched page (the");
	tline("  uptr_test uapi cannot set a range's window); 'fault()' is the");
	tline("  core's own device-fault path (2M window).");
	if (nbusy)
		tline("  Finding: UPTR_TEST_POPULATE returned -EBUSY %d time(s), %s",
		      nbusy, "retried: see the README's benchmark section");
	progress("done in %llu s, %d error(s)",
		 (unsigned long long)((now_ns() - t_start) / 1000000000ULL),
		 nerrors);
	tline("uptr_bench: %s, %d error(s), %d unavailable, %d targets met, %d missed",
	      nerrors ? "FAILED" : "complete", nerrors, nunav, npass, nmiss);
	if (csv_f && csv_f != stdout)
		fclose(csv_f);
	return nerrors ? 1 : 0;
}
