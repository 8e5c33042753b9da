/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr_selftest.h - what every selftest of this project shares: checks in
 * forked children and the process's long-term pinned memory (VmPin).
 * Header-only, included after kselftest_harness.h.
 *
 * Copyright (c) 2026 The uptr authors
 */
#ifndef UPTR_SELFTEST_H
#define UPTR_SELFTEST_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TWOMEG		(2UL << 20)

/* A check in a forked child: report and exit non-zero. */
#define CHILD_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "child %s:%d: %s failed (errno %d)\n",	\
			__FILE__, __LINE__, #cond, errno);		\
		_exit(1);						\
	}								\
} while (0)

/* VmPin of this process in kB, -1 if not found. */
static inline long vmpin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * A /proc/vmstat event counter (pglazyfreed, pswpout, thp_split_pmd...), -1
 * if the kernel has none (CONFIG_VM_EVENT_COUNTERS off).  The counters are
 * global and summed from per-CPU counts when read: a test compares the
 * deltas around one step of its own, in a guest where nothing else runs.
 */
static inline long long vmstat_event(const char *name)
{
	char line[160], key[64];
	long long v, ret = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", key, &v) == 2 &&
		    !strcmp(key, name)) {
			ret = v;
			break;
		}
	fclose(f);
	return ret;
}

#endif /* UPTR_SELFTEST_H */
