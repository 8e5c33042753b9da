// SPDX-License-Identifier: GPL-2.0
/*
 * sgpu_report_test - tests that provoke a kernel report on purpose
 *
 *   oom.*.killed_in_memcg       issue 11 item 5: a child holding PIN and
 *                               FAULT userptrs, bound in a fence-mode and a
 *                               fault-mode VM with jobs in flight, is
 *                               OOM-killed inside a memory cgroup: what the
 *                               OOM reaper did, every counter back, the
 *                               device still works
 *   kasan.*.engine_reads_freed_page
 *                               issue 11 item 0: the engine reads a freed
 *                               page (sgpu's test hook) and KASAN reports it
 *
 * Each test declares the report it provokes to the runner's log scanner
 * (tools/vm/scan-log.awk) with "uptr-expect: begin TITLE" and
 * "uptr-expect: end" written to /dev/kmsg around the provoking step, and
 * checks itself, from /dev/kmsg, that the report came: an expected report
 * passes, its absence fails the test (and the run), any other report still
 * fails the run.
 *
 * A KASAN report taints the kernel and turns lockdep off for the rest of
 * the boot: this program runs last in selftests/tests.list.
 *
 * Copyright (c) 2026 The uptr authors
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <drm/drm.h>
#include <drm/sgpu_drm.h>

#include "sgpu_lib.h"

/* -------------------------------------------------------------------- */
/* Declared reports and the kernel log                                   */

/*
 * One record to the kernel log.  Not dprintf(): glibc's lseek(SEEK_CUR)
 * on the fd fails on /dev/kmsg, and then nothing is written.
 */
static int kmsg_write(const char *fmt, const char *arg)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	char line[512];
	int n, ret = 0;

	if (fd < 0)
		return -errno;
	n = snprintf(line, sizeof(line), fmt, arg);
	if (write(fd, line, n) != n)
		ret = -EIO;
	close(fd);
	return ret;
}

/* Tell the log scanner that @title is expected until expect_end(). */
static int expect_begin(const char *title)
{
	return kmsg_write("uptr-expect: begin %s\n", title);
}

static int expect_end(void)
{
	return kmsg_write("uptr-expect: end%s\n", "");
}

/* A reader of the kernel log from now on. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * The messages logged since kmsg_open(), one line each (their first line),
 * the scanner's markers left out; malloc()ed, never NULL.
 */
static char *kmsg_read(int fd)
{
	size_t len = 0, cap = 1 << 16;
	char *text = malloc(cap);
	char rec[8192], *msg, *nl;
	ssize_t n;

	if (!text)
		abort();
	text[0] = '\0';
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		if (strstr(msg, "uptr-expect: "))
			continue;
		while (len + strlen(msg) + 2 > cap) {
			cap *= 2;
			text = realloc(text, cap);
			if (!text)
				abort();
		}
		len += sprintf(text + len, "%s\n", msg);
	}
	return text;
}

/* The line of @text that contains @what, as a string of its own, or NULL. */
static char *line_with(const char *text, const char *what)
{
	const char *p = strstr(text, what), *s, *e;
	char *line;

	if (!p)
		return NULL;
	for (s = p; s > text && s[-1] != '\n'; s--)
		;
	e = strchr(p, '\n');
	if (!e)
		e = p + strlen(p);
	line = strndup(s, e - s);
	return line;
}

/* -------------------------------------------------------------------- */
/* oom                                                                  */

/* The child's memory cgroup: room for its setup, not for its hog. */
#define CG_MAX		(48UL << 20)
/* The child allocates up to this much; reaching it is a failure. */
#define HOG_MAX		(512UL << 20)
/* Room left in the cgroup when the child queues its jobs. */
#define HOG_ROOM	(4UL << 20)
/* Userptrs and the shmem BO of each VM. */
#define UP_SIZE		(1024UL * 1024)
/* Seconds of copies queued in each VM: longer than the reaper's 2 s delay
 * plus its 10 retries 100 ms apart.
 */
#define BUSY_S		6

/* What the child tells the parent once it is set up. */
struct oom_ready {
	int ok;
	__u32 vm[2];		/* fence, fault */
	double per_cmd;		/* seconds per 1 MiB copy command */
};

/* Allocate and write @size bytes of distinct data (no shared or zero page). */
static bool hog(size_t size, unsigned int *seed)
{
	size_t done;
	char *p;

	for (done = 0; done < size; done += UP_SIZE) {
		p = anon(UP_SIZE);
		if (!p)
			return false;
		pattern(p, UP_SIZE, (*seed)++);
	}
	return true;
}

/*
 * The child, inside the memory cgroup: two VMs (fence, fault), each with a
 * PIN and a FAULT userptr and a shmem BO, checked by a copy.  It then
 * fills its cgroup up to HOG_ROOM of the limit, queues BUSY_S seconds of
 * copies through both userptrs in each VM, and allocates until it is
 * killed: the kill comes while those jobs are in flight.
 */
static void oom_child(int fd, int ready_fd)
{
	static struct drm_sgpu_cmd c[SGPU_MAX_CMDS];
	struct drm_sgpu_exec e = { .cmds = (uintptr_t)c };
	const __u32 backend[2] = { SGPU_USERPTR_BACKEND_PIN,
				   SGPU_USERPTR_BACKEND_FAULT };
	struct oom_ready r = { };
	unsigned int v, i, n, seed = 100;
	long long t, cur;
	__u32 h[3];
	char *p[2];

	if (write_file(CG_ROOT "/uptr-oom/cgroup.procs", "0"))
		goto out;
	for (v = 0; v < 2; v++) {
		if (vm_create(fd, v ? SGPU_VM_MODE_FAULT : SGPU_VM_MODE_FENCE,
			      &r.vm[v]))
			goto out;
		for (i = 0; i < 2; i++) {
			p[i] = anon(UP_SIZE);
			if (!p[i])
				goto out;
			pattern(p[i], UP_SIZE, 10 * v + i);
			if (userptr(fd, r.vm[v], p[i], UP_SIZE, backend[i],
				    &h[i]) ||
			    map(fd, r.vm[v], h[i], VA(1 + i), UP_SIZE))
				goto out;
		}
		if (bo_create(fd, UP_SIZE, &h[2]) ||
		    map(fd, r.vm[v], h[2], VA(3), UP_SIZE))
			goto out;
		/* PIN -> shmem -> FAULT: both userptrs populated, checked. */
		c[0] = cmd_copy(VA(1), VA(3), UP_SIZE);
		c[1] = cmd_copy(VA(3), VA(2), UP_SIZE);
		t = now_ms();
		if (run(fd, r.vm[v], c, 2, NULL) ||
		    !check_pattern(p[1], UP_SIZE, 10 * v))
			goto out;
		if (!v)
			r.per_cmd = (now_ms() - t) / 2e3;
	}

	/* Fill the cgroup up to HOG_ROOM below its limit. */
	for (;;) {
		cur = cg_key(CG_ROOT, "uptr-oom/memory.current", NULL);
		if (cur < 0 || cur + (long long)HOG_ROOM >= (long long)CG_MAX)
			break;
		if (!hog(UP_SIZE, &seed))
			goto out;
	}

	/* Jobs in flight in both VMs: copies through both userptrs. */
	for (i = 0; i < SGPU_MAX_CMDS; i++)
		c[i] = cmd_copy(VA(1 + i % 2), VA(3), UP_SIZE);
	for (v = 0; v < 2; v++) {
		e.vm_id = r.vm[v];
		for (n = BUSY_S / (r.per_cmd > 0 ? r.per_cmd : 0.01) + 1; n;
		     n -= e.num_cmds) {
			e.num_cmds = n < SGPU_MAX_CMDS ? n : SGPU_MAX_CMDS;
			if (ioc(fd, DRM_IOCTL_SGPU_EXEC, &e))
				goto out;
		}
	}
	r.ok = 1;
out:
	if (write(ready_fd, &r, sizeof(r)) != sizeof(r) || !r.ok)
		_exit(2);
	if (!hog(HOG_MAX, &seed))
		_exit(4);
	_exit(3);
}

FIXTURE(oom) {
	int qfd;
	bool cg_made;
	struct baseline base;
};

FIXTURE_VARIANT(oom) {
	/*
	 * The parent holds the child's sgpu file (opened before the fork):
	 * its VMs outlive the child, so their counters show what the
	 * non-blocking invalidations did.  Else the file dies with the child.
	 */
	bool shared_file;
};

FIXTURE_VARIANT_ADD(oom, own_file) {
	.shared_file = false,
};

FIXTURE_VARIANT_ADD(oom, shared_file) {
	.shared_file = true,
};

FIXTURE_SETUP(oom)
{
	char buf[256];
	int i;

	self->qfd = sgpu_open();
	if (self->qfd < 0)
		SKIP(return, "no sgpu device (drm/sgpu.ko not loaded)");
	i = cg_memory_enable();
	if (i == -ENOENT)
		SKIP(return, "no cgroup2 memory controller (CONFIG_MEMCG)");
	ASSERT_EQ(0, i);
	rmdir(CG_ROOT "/uptr-oom");
	ASSERT_EQ(0, mkdir(CG_ROOT "/uptr-oom", 0755));
	self->cg_made = true;
	snprintf(buf, sizeof(buf), "%lu", CG_MAX);
	ASSERT_EQ(0, write_file(CG_ROOT "/uptr-oom/memory.max", buf));
	/* No swap (zram): the hog must meet the limit, not compress. */
	write_file(CG_ROOT "/uptr-oom/memory.swap.max", "0");
	baseline_settle(self->qfd, &self->base);
}

FIXTURE_TEARDOWN(oom)
{
	if (self->cg_made && rmdir(CG_ROOT "/uptr-oom"))
		TH_LOG("rmdir of the memory cgroup: %s", strerror(errno));
	if (self->qfd >= 0)
		close(self->qfd);
}

/*
 * The OOM killer kills the child in its memory cgroup; the OOM reaper
 * runs the interval notifiers with non-blockable ranges, the victim's own
 * exit_mmap() with blockable ones (RELEASE, then UNMAP).  Both VMs
 * zap and agree without waiting for their jobs in flight: the address
 * space is being torn down (uptr_invalidate_is_teardown()).  Checked: the OOM report and
 * nothing else in the log, what the reaper managed (logged), the VM
 * counters of the non-blocking path (shared_file), every device counter
 * and the cgroup's memory back to zero once the child is gone, and the
 * device still running another process's job.
 */
TEST_F_TIMEOUT(oom, killed_in_memcg, 600)
{
	const char *title = "Memory cgroup out of memory: Killed process";
	struct oom_ready r = { };
	char what[128], *text, *line;
	int pfd[2], kfd, fd = -1, status, i;
	long long t0, anon_left = -1, shmem_left = -1;
	__u64 refused[2] = { }, waits[2] = { };
	pid_t pid;

	if (variant->shared_file) {
		fd = sgpu_open();
		ASSERT_LE(0, fd);
	}
	ASSERT_EQ(0, pipe(pfd));
	kfd = kmsg_open();
	ASSERT_LE(0, kfd);
	ASSERT_EQ(0, expect_begin(title));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pfd[0]);
		if (fd < 0)
			fd = sgpu_open();
		oom_child(fd, pfd[1]);
	}
	close(pfd[1]);
	i = read(pfd[0], &r, sizeof(r));
	close(pfd[0]);
	t0 = now_ms();
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	TH_LOG("child set up (%.3f s per copy command), killed after %.1f s",
	       r.per_cmd, (now_ms() - t0) / 1e3);
	ASSERT_EQ(0, expect_end());
	ASSERT_EQ(sizeof(r), i);
	ASSERT_TRUE(r.ok);
	ASSERT_TRUE(WIFSIGNALED(status)) {
		TH_LOG("child exit status %d: no OOM kill",
		       WEXITSTATUS(status));
	}
	ASSERT_EQ(SIGKILL, WTERMSIG(status));
	EXPECT_EQ(1, cg_key(CG_ROOT "/uptr-oom", "memory.events", "oom_kill"));

	text = kmsg_read(kfd);
	close(kfd);
	snprintf(what, sizeof(what), "%s %d ", title, pid);
	line = line_with(text, what);
	EXPECT_NE(NULL, line) {
		TH_LOG("no \"%s\" in the kernel log", what);
	}
	free(line);
	/* What the OOM reaper managed: logged, see docs/design.rst. */
	snprintf(what, sizeof(what), "oom_reaper: reaped process %d ", pid);
	line = line_with(text, what);
	if (line) {
		TH_LOG("reaper: %s", line);
	} else {
		snprintf(what, sizeof(what), "oom_reaper: unable to reap pid:%d ",
			 pid);
		line = line_with(text, what);
		TH_LOG("reaper: %s", line ? line :
		       "nothing (the victim's exit_mmap() reaped first)");
	}
	/* It is never refused for good: nothing waits for the GPU. */
	EXPECT_EQ(NULL, strstr(line ? line : "", "unable to reap")) {
		TH_LOG("the reaper gave up on the victim");
	}
	free(line);
	free(text);

	if (variant->shared_file) {
		/* The child's VMs live on in the shared file. */
		for (i = 0; i < 2; i++) {
			refused[i] = query(fd, SGPU_QUERY_VM, r.vm[i],
					   SGPU_VM_NONBLOCK_FAILED);
			waits[i] = query(fd, SGPU_QUERY_VM, r.vm[i],
					 SGPU_VM_NOTIFIER_WAITS);
			TH_LOG("%s VM: %llu invals, %llu refused, %llu waits, %llu jobs failed",
			       i ? "fault" : "fence",
			       query(fd, SGPU_QUERY_VM, r.vm[i],
				     SGPU_VM_INVALIDATIONS),
			       refused[i], waits[i],
			       query(fd, SGPU_QUERY_VM, r.vm[i],
				     SGPU_VM_JOBS_FAILED));
		}
		/*
		 * The teardown of a killed process's mm waits for none of
		 * the fence VM's jobs, neither in the reaper nor in
		 * exit_mmap() (docs/design.rst, "Address-space teardown"):
		 * the old code refused the reaper and then waited in
		 * exit_mmap() for every queued job (18-27 s).
		 */
		EXPECT_EQ(0, waits[0]);
		/* A fault-mode VM never waits for its jobs, nor refuses. */
		EXPECT_EQ(0, refused[1] + waits[1]);
		/* The mm is gone: nothing of it is pinned any more. */
		EXPECT_EQ(0, query(fd, SGPU_QUERY_VM, r.vm[0],
				   SGPU_VM_PINNED_PAGES));
		EXPECT_EQ(0, query(fd, SGPU_QUERY_VM, r.vm[1],
				   SGPU_VM_PINNED_PAGES));
		close(fd);
	}

	/* Every device counter back: nothing of the child is left. */
	EXPECT_EQ(-1, baseline_diff(self->qfd, &self->base));
	/* Its memory is back too: no page stays charged (pinned, BO). */
	for (i = 0; i < 100; i++) {
		anon_left = cg_key(CG_ROOT "/uptr-oom", "memory.stat", "anon");
		shmem_left = cg_key(CG_ROOT "/uptr-oom", "memory.stat",
				    "shmem");
		if (!anon_left && !shmem_left)
			break;
		usleep(100000);
	}
	EXPECT_EQ(0, anon_left);
	EXPECT_EQ(0, shmem_left);

	/* The device works for another process. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		const size_t size = 64 * 1024;
		struct drm_sgpu_cmd c;
		__u32 vm, ubo, sbo;
		char *src, *shm;

		fd = sgpu_open();
		src = anon(size);
		if (fd < 0 || !src || vm_create(fd, SGPU_VM_MODE_FENCE, &vm) ||
		    userptr(fd, vm, src, size, SGPU_USERPTR_BACKEND_PIN, &ubo) ||
		    bo_create(fd, size, &sbo) ||
		    map(fd, vm, ubo, VA(1), size) ||
		    map(fd, vm, sbo, VA(2), size))
			_exit(1);
		shm = bo_mmap(fd, sbo, size);
		pattern(src, size, 42);
		c = cmd_copy(VA(1), VA(2), size);
		if (!shm || run(fd, vm, &c, 1, NULL))
			_exit(2);
		_exit(check_pattern(shm, size, 42) ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(-1, baseline_diff(self->qfd, &self->base));
}

/* -------------------------------------------------------------------- */
/* kasan                                                                */

FIXTURE(kasan) {
	int fd;
	__u32 vm;
	char knob[PATH_MAX];
};

FIXTURE_VARIANT(kasan) {
	__u32 mode;
};

FIXTURE_VARIANT_ADD(kasan, fence) {
	.mode = SGPU_VM_MODE_FENCE,
};

FIXTURE_VARIANT_ADD(kasan, fault) {
	.mode = SGPU_VM_MODE_FAULT,
};

FIXTURE_SETUP(kasan)
{
	glob_t g;

	self->fd = sgpu_open();
	if (self->fd < 0)
		SKIP(return, "no sgpu device (drm/sgpu.ko not loaded)");
	/* dri/<minor> are links to one directory per device. */
	ASSERT_EQ(0, glob("/sys/kernel/debug/dri/*/test_uaf_reads", 0, NULL,
			  &g)) {
		TH_LOG("no test hook: load sgpu.ko with test_hooks=1");
	}
	snprintf(self->knob, sizeof(self->knob), "%s", g.gl_pathv[0]);
	globfree(&g);
	ASSERT_EQ(0, vm_create(self->fd, variant->mode, &self->vm));
}

FIXTURE_TEARDOWN(kasan)
{
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * The test hook points the engine's next read at a page just freed, as a
 * GPU PTE that outlived its memory would: the engine copies with an
 * uninstrumented memmove(), so only its explicit kasan_check_read() can
 * report it.  Then the same copy, unhooked, is right and reports nothing.
 */
TEST_F(kasan, engine_reads_freed_page)
{
	const char *title = "BUG: KASAN: use-after-free in sgpu_step_copy";
	struct drm_sgpu_cmd c = cmd_copy(VA(1), VA(2), PAGE);
	char buf[32], *text, *line;
	__u32 src, dst;
	char *s, *d;
	int kfd, ret;

	ASSERT_EQ(0, bo_create(self->fd, PAGE, &src));
	ASSERT_EQ(0, bo_create(self->fd, PAGE, &dst));
	s = bo_mmap(self->fd, src, PAGE);
	d = bo_mmap(self->fd, dst, PAGE);
	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, d);
	pattern(s, PAGE, 5);
	memset(d, 0, PAGE);
	ASSERT_EQ(0, map(self->fd, self->vm, src, VA(1), PAGE));
	ASSERT_EQ(0, map(self->fd, self->vm, dst, VA(2), PAGE));

	kfd = kmsg_open();
	ASSERT_LE(0, kfd);
	ASSERT_EQ(0, expect_begin(title));
	ASSERT_EQ(0, write_file(self->knob, "1"));
	ret = run(self->fd, self->vm, &c, 1, NULL);
	ASSERT_EQ(0, expect_end());
	text = kmsg_read(kfd);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, read_file(self->knob, buf, sizeof(buf)));
	EXPECT_EQ(0, atoi(buf));	/* the hook fired */
	line = line_with(text, title);
	EXPECT_NE(NULL, line) {
		TH_LOG("no \"%s\" in the kernel log", title);
	}
	if (line)
		TH_LOG("%s", line);
	free(line);
	free(text);

	/* Unhooked: the copy is right, the log quiet. */
	ret = run(self->fd, self->vm, &c, 1, NULL);
	text = kmsg_read(kfd);
	close(kfd);
	ASSERT_EQ(0, ret);
	EXPECT_TRUE(check_pattern(d, PAGE, 5));
	EXPECT_EQ(NULL, strstr(text, "KASAN"));
	free(text);
	munmap(s, PAGE);
	munmap(d, PAGE);
}

TEST_HARNESS_MAIN
