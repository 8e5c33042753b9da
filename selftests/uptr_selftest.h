/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uptr_selftest.h - what every selftest of this project shares: checks in
 * forked children, the process's long-term pinned memory (VmPin) and
 * CAP_IPC_LOCK, /proc/vmstat events, the sgpu render node, the
 * /dev/uptr_test commands, and one-line reads and writes of sysfs,
 * debugfs and procfs files.  Header-only, every helper static; included
 * after kselftest_harness.h (or kselftest.h: nothing here needs the
 * harness).
 *
 * Copyright (c) 2026 The uptr authors
 */
#ifndef UPTR_SELFTEST_H
#define UPTR_SELFTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <drm/drm.h>
#include <linux/capability.h>
#include <linux/uptr_test.h>

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
 * Drop CAP_IPC_LOCK from every set of this process, so that RLIMIT_MEMLOCK
 * applies to its long-term pins again.  Return: 0, or -errno.
 */
static inline int drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned int idx = CAP_TO_INDEX(CAP_IPC_LOCK);
	unsigned int mask = CAP_TO_MASK(CAP_IPC_LOCK);

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[idx].effective &= ~mask;
	data[idx].permitted &= ~mask;
	data[idx].inheritable &= ~mask;
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
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

/*
 * A command of /dev/uptr_test (UPTR_TEST_POPULATE, _READ, _ENTRIES...) on
 * the range @handle, made once: a fail-nth step must see its own errno.
 * The command as the kernel left it (npages...) goes to @out unless it is
 * NULL, also after a failure.  Return: 0, or -errno.
 */
static inline int uptr_cmd(int fd, unsigned long op, __u64 handle,
			   void *addr, size_t size, __u64 flags, void *ptr,
			   struct uptr_test_cmd *out)
{
	struct uptr_test_cmd c = {
		.handle = handle,
		.addr = (uintptr_t)addr,
		.size = size,
		.flags = flags,
		.ptr = (uintptr_t)ptr,
	};
	int ret = ioctl(fd, op, &c) ? -errno : 0;

	if (out)
		*out = c;
	return ret;
}

/*
 * Open the first render node whose DRM driver is sgpu, and copy its path
 * to @node (@len bytes) unless @node is NULL, so that the caller can open
 * it again.  Return: the file descriptor, or -1 when there is none.
 */
static inline int sgpu_open_node(char *node, size_t len)
{
	char path[32], name[16];
	struct drm_version v;
	int i, fd;

	for (i = 128; i < 192; i++) {
		snprintf(path, sizeof(path), "/dev/dri/renderD%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&v, 0, sizeof(v));
		memset(name, 0, sizeof(name));
		v.name = name;
		v.name_len = sizeof(name) - 1;
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "sgpu")) {
			if (node)
				snprintf(node, len, "%s", path);
			return fd;
		}
		close(fd);
	}
	return -1;
}

static inline int sgpu_open(void)
{
	return sgpu_open_node(NULL, 0);
}

/* Write the string @val to the file @path.  Return: 0, or -errno. */
static inline int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(val);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return n == (ssize_t)len ? 0 : -EIO;
}

/*
 * Read the start of the file @path into @buf (@size bytes, at least 1),
 * NUL-terminated.  Return: 0, or -errno.
 */
static inline int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return 0;
}

/* -------------------------------------------------------------------- */
/* Memory cgroups (cgroup2)                                             */

#define CG_ROOT		"/sys/fs/cgroup"

/*
 * A "key value" line of the file @file of the cgroup directory @cg (@key
 * NULL: the file's one number).  Return: the value, or -1.
 */
static inline long long cg_key(const char *cg, const char *file,
			       const char *key)
{
	char path[300], buf[8192], *p;
	size_t klen = key ? strlen(key) : 0;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	if (!key)
		return atoll(buf);
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return atoll(p + klen + 1);
	return -1;
}

/*
 * Mount cgroup2 at CG_ROOT if nothing is there, and enable the memory
 * controller for the root's children.  Return: 0, -ENOENT when the kernel
 * has no memory controller (a test then skips), or another -errno when
 * enabling it failed.
 */
static inline int cg_memory_enable(void)
{
	char buf[256];

	if (access(CG_ROOT "/cgroup.controllers", F_OK)) {
		mkdir(CG_ROOT, 0755);
		mount("none", CG_ROOT, "cgroup2", 0, NULL);
	}
	if (read_file(CG_ROOT "/cgroup.controllers", buf, sizeof(buf)) ||
	    !strstr(buf, "memory"))
		return -ENOENT;
	return write_file(CG_ROOT "/cgroup.subtree_control", "+memory");
}

/*
 * The cgroup2 directory of the calling process, from /proc/self/cgroup
 * ("0::/PATH"), as CG_ROOT/PATH in @dir (@size bytes).  Return: 0, or
 * -errno.
 */
static inline int cg_self(char *dir, size_t size)
{
	char buf[512], *p, *nl;
	int n;

	n = read_file("/proc/self/cgroup", buf, sizeof(buf));
	if (n)
		return n;
	/* The cgroup2 line: "0::" at the start of a line. */
	for (p = buf; p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (!strncmp(p, "0::", 3))
			break;
	}
	if (!p)
		return -ENOENT;
	p += 3;
	nl = strchr(p, '\n');
	if (nl)
		*nl = '\0';
	n = snprintf(dir, size, "%s%s", CG_ROOT, strcmp(p, "/") ? p : "");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

#endif /* UPTR_SELFTEST_H */
