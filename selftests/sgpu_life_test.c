// SPDX-License-Identifier: GPL-2.0
/*
 * sgpu_life_test - lifetimes of sgpu VMs, jobs, fences and the device
 *
 * Regression tests of issue 10, item 11:
 *   life.killed_processes_stress    item 11: many killed processes whose jobs
 *                                   are freed by drm_sched's kill path
 *
 * Jobs are kept queued by a "slow" job ahead of them in the same VM: a
 * series of CHECKSUM commands over a shmem BO, sized from a measurement
 * of the engine at the start of each test that needs one.
 *
 * Copyright (c) 2026 The uptr authors
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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
#include <sys/wait.h>

#include <drm/drm.h>
#include <drm/sgpu_drm.h>

#include "sgpu_lib.h"

/* The slow job's shmem BO, at VA(1). */
#define SLOW_SIZE	(4UL << 20)
/* Longest series of slow commands, in EXECs of SGPU_MAX_CMDS. */
#define SLOW_MAX_EXECS	16

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Seconds one CHECKSUM of SLOW_SIZE bytes takes on the engine, measured in
 * a VM of its own (best of three).
 */
static double slow_calibrate(void)
{
	struct drm_sgpu_cmd c = cmd_checksum(VA(1), SLOW_SIZE, VA(1));
	double best = 1e9, t;
	__u32 vm, bo;
	int fd, i;

	fd = sgpu_open();
	if (fd < 0)
		return -1;
	if (vm_create(fd, SGPU_VM_MODE_FENCE, &vm) ||
	    bo_create(fd, SLOW_SIZE, &bo) ||
	    map(fd, vm, bo, VA(1), SLOW_SIZE)) {
		close(fd);
		return -1;
	}
	for (i = 0; i < 3; i++) {
		t = now_s();
		if (run(fd, vm, &c, 1, NULL)) {
			close(fd);
			return -1;
		}
		t = now_s() - t;
		if (t < best)
			best = t;
	}
	close(fd);
	return best;
}

/* A series of slow commands: how many for @seconds, given @per_cmd. */
static unsigned int slow_cmds(double seconds, double per_cmd)
{
	double n = seconds / per_cmd + 1;

	if (n > SLOW_MAX_EXECS * SGPU_MAX_CMDS)
		n = SLOW_MAX_EXECS * SGPU_MAX_CMDS;
	return n;
}

/*
 * What a child process sets up before it exits: a VM with a slow series
 * of jobs on a shmem BO at VA(1), then a FILL of @buf (a userptr at VA(2),
 * memory the parent sees) queued behind them.
 */
struct child_job {
	__u32 mode;
	__u32 backend;
	unsigned int nslow;	/* slow CHECKSUM commands */
	unsigned int nfill;	/* FILL jobs after them */
	void *buf;
	size_t size;
	bool hang;		/* wait to be killed instead of exiting */
	int mapped_fd;		/* >= 0: write a byte there once mapped, */
	int go_fd;		/* then read one from there to go on */
	int ready;		/* set once everything is queued (atomic) */
	struct drm_sgpu_cmd cmds[SGPU_MAX_CMDS];
};

#define FILL_VALUE	0x5a5a5a5aU

/*
 * Runs in the child: returns an exit status, 0 once the jobs are queued.
 * Only system calls and the sgpu_lib.h wrappers: a CLONE_VM child shares
 * the parent's memory, errno included (the parent only waits meanwhile).
 */
static int child_submit(struct child_job *cj)
{
	struct drm_sgpu_cmd fill;
	unsigned int i, n, left;
	char go;
	__u64 seqno;
	__u32 vm, bo, ubo;
	int fd;

	fd = sgpu_open();
	if (fd < 0)
		return 10;
	if (vm_create(fd, cj->mode, &vm))
		return 11;
	if (bo_create(fd, SLOW_SIZE, &bo) || map(fd, vm, bo, VA(1), SLOW_SIZE))
		return 12;
	if (cj->buf) {
		if (userptr(fd, vm, cj->buf, cj->size, cj->backend, &ubo) ||
		    map(fd, vm, ubo, VA(2), cj->size))
			return 13;
		fill = cmd_fill(VA(2), cj->size, FILL_VALUE);
	} else {
		fill = cmd_fill(VA(1), PAGE, FILL_VALUE);
	}
	if (cj->mapped_fd >= 0 &&
	    (write(cj->mapped_fd, "m", 1) != 1 || read(cj->go_fd, &go, 1) != 1))
		return 16;
	for (i = 0; i < SGPU_MAX_CMDS; i++)
		cj->cmds[i] = cmd_checksum(VA(1), SLOW_SIZE, VA(1));
	for (left = cj->nslow; left; left -= n) {
		n = left < SGPU_MAX_CMDS ? left : SGPU_MAX_CMDS;
		if (exec(fd, vm, cj->cmds, n, &seqno))
			return 14;
	}
	for (i = 0; i < cj->nfill; i++)
		if (exec(fd, vm, &fill, 1, &seqno))
			return 15;
	__atomic_store_n(&cj->ready, 1, __ATOMIC_RELEASE);
	if (cj->hang)
		for (;;)
			pause();
	/* Exit with the file open: exit closes it. */
	return 0;
}

/* ------------------------------------------------------------------ */

/*
 * The tests need no common setup; a fixture of their own keeps them out of
 * the "global" one, which the runner's case filter does not list.
 */
FIXTURE(life) {
	int unused;
};

FIXTURE_SETUP(life)
{
}

FIXTURE_TEARDOWN(life)
{
}

/* ------------------------------------------------------------------ */

/*
 * Item 11: processes killed while their VM has jobs queued behind a
 * running one.  drm_sched frees killed jobs from system_wq, which nothing
 * in the VM teardown flushes; the job's last act must not touch a VM that
 * the exiting process already freed (KASAN).  32 fence-mode and fault-mode
 * FILL jobs per process, 4 rounds of 8 processes.
 */
TEST_F_TIMEOUT(life, killed_processes_stress, 300)
{
	enum { ROUNDS = 4, PROCS = 8 };
	struct child_job *cj;
	struct baseline base;
	pid_t pids[PROCS];
	double per_cmd;
	int qfd, r, i, st, up[2], go[2];
	char c;

	qfd = sgpu_open();
	if (qfd < 0)
		SKIP(return, "no sgpu device (drm/sgpu.ko not loaded)");
	baseline_settle(qfd, &base);
	per_cmd = slow_calibrate();
	ASSERT_LT(0, per_cmd);
	cj = anon(sizeof(*cj));
	ASSERT_NE(NULL, cj);

	for (r = 0; r < ROUNDS; r++) {
		ASSERT_EQ(0, pipe(up));
		ASSERT_EQ(0, pipe(go));
		for (i = 0; i < PROCS; i++) {
			pids[i] = fork();
			ASSERT_LE(0, pids[i]);
			if (pids[i])
				continue;
			close(up[0]);
			close(go[1]);
			memset(cj, 0, sizeof(*cj));
			cj->mode = (r + i) & 1 ? SGPU_VM_MODE_FAULT :
						 SGPU_VM_MODE_FENCE;
			cj->nslow = slow_cmds(1, per_cmd);
			cj->nfill = 32;
			cj->mapped_fd = up[1];
			cj->go_fd = go[0];
			st = child_submit(cj);
			if (!st && write(up[1], "r", 1) != 1)
				st = 20;
			if (!st)
				for (;;)
					pause();
			_exit(st);
		}
		close(up[1]);
		close(go[0]);
		/* Every VM is set up before any slow job starts. */
		for (i = 0; i < PROCS; i++)
			ASSERT_EQ(1, read(up[0], &c, 1));
		for (i = 0; i < PROCS; i++)
			ASSERT_EQ(1, write(go[1], "g", 1));
		for (i = 0; i < PROCS; i++)
			ASSERT_EQ(1, read(up[0], &c, 1));
		close(up[0]);
		close(go[1]);
		for (i = 0; i < PROCS; i++)
			ASSERT_EQ(0, kill(pids[i], SIGKILL));
		for (i = 0; i < PROCS; i++) {
			ASSERT_EQ(pids[i], waitpid(pids[i], &st, 0));
			ASSERT_TRUE(WIFSIGNALED(st));
		}
	}
	EXPECT_EQ(-1, baseline_diff(qfd, &base));
	close(qfd);
}

TEST_HARNESS_MAIN
