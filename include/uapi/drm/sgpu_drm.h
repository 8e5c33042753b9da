/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Copyright (c) 2026 The uptr authors
 */
#ifndef _UAPI_SGPU_DRM_H_
#define _UAPI_SGPU_DRM_H_

/**
 * DOC: sgpu uapi
 *
 * sgpu is a software GPU: a DRM render driver whose "engine" runs on the
 * CPU and reaches memory only through its own multi-level GPU page tables.
 * It exists to exercise user pointers (userptr BOs mirrored by the uptr
 * core) in the two memory-management models of real GPUs.  The full
 * specification, with the errno of every case, is docs/uapi.rst.
 *
 * General rules:
 *
 * - Fields are tagged (in) when user space sets them and (out) when the
 *   kernel fills them.  Every structure is a multiple of 8 bytes with
 *   explicit padding; padding (``pad``) and reserved fields must be zero,
 *   unknown flags are rejected, both with -EINVAL.
 * - GPU virtual addresses, sizes and offsets are __u64 bytes.  GPU VAs of
 *   VM_BIND are 4 KiB aligned and lie in
 *   [%SGPU_VA_START, %SGPU_VA_END); so GPU VA 0 is never mapped.
 * - User pointers to arrays are __u64 (cast the pointer to uintptr_t).
 * - Syncobjs are binary DRM syncobjs; timeline points must be 0.
 *
 * A VM is fixed at creation in one of two modes:
 *
 * fence mode (%SGPU_VM_MODE_FENCE)
 *	Each EXEC is a drm_sched job with a dma_fence (optional out-syncobj).
 *	Before the job is queued every userptr BO it can reach is populated
 *	and validated; the job never faults.  An invalidation of a userptr
 *	(munmap, migration, swap ...) waits for the VM's jobs to finish.
 *
 * fault mode (%SGPU_VM_MODE_FAULT)
 *	Each EXEC is long-running work completed through %DRM_IOCTL_SGPU_WAIT
 *	on its sequence number; no dma_fence is published for it.  The engine
 *	takes recoverable GPU page faults on userptr BOs, serviced like a CPU
 *	fault, and resumes.  An invalidation zaps GPU PTEs without waiting.
 *
 * Both modes accept both userptr backends (PIN: long-term pinned pages,
 * FAULT: HMM mirror without page references).
 */

#include <drm/drm.h>

#if defined(__cplusplus)
extern "C" {
#endif

/* GPU VA space of every VM. */
#define SGPU_VA_START			(1ULL << 16)
#define SGPU_VA_END			(1ULL << 48)

/* Limits. */
#define SGPU_MAX_CMDS			256
#define SGPU_MAX_SYNCS			64
#define SGPU_MAX_CMD_SIZE		(1ULL << 30)
/* Largest userptr BO (16 GiB); USERPTR_CREATE gives -E2BIG above. */
#define SGPU_MAX_USERPTR_SIZE		(1ULL << 34)
#define SGPU_JOB_HISTORY		256
/* VMs a file may hold at a time; VM_CREATE beyond: -ENOSPC. */
#define SGPU_MAX_VMS_PER_FILE		256
/*
 * A process that exits (not killed by a signal) with jobs still queued
 * waits this long for them at the close of its file; what is left then is
 * cancelled (-ECANCELED).
 */
#define SGPU_EXIT_FLUSH_MS		10000

/* ioctl numbers, relative to DRM_COMMAND_BASE. */
#define DRM_SGPU_VM_CREATE		0x00
#define DRM_SGPU_VM_DESTROY		0x01
#define DRM_SGPU_BO_CREATE		0x02
#define DRM_SGPU_BO_MMAP_OFFSET		0x03
#define DRM_SGPU_USERPTR_CREATE		0x04
#define DRM_SGPU_VM_BIND		0x05
#define DRM_SGPU_EXEC			0x06
#define DRM_SGPU_WAIT			0x07
#define DRM_SGPU_MIGRATE		0x08
#define DRM_SGPU_QUERY			0x09

/* VM modes, the flags of &struct drm_sgpu_vm_create. */
#define SGPU_VM_MODE_FENCE		0
#define SGPU_VM_MODE_FAULT		(1 << 0)
#define SGPU_VM_CREATE_FLAGS		(SGPU_VM_MODE_FAULT)

/**
 * struct drm_sgpu_vm_create - argument of %DRM_IOCTL_SGPU_VM_CREATE
 * @flags: (in) %SGPU_VM_MODE_FENCE or %SGPU_VM_MODE_FAULT
 * @vm_id: (out) id of the new VM in this file, never 0
 */
struct drm_sgpu_vm_create {
	__u32 flags;
	__u32 vm_id;
};

/**
 * struct drm_sgpu_vm_destroy - argument of %DRM_IOCTL_SGPU_VM_DESTROY
 * @vm_id: (in) the VM
 * @pad: (in) must be zero
 *
 * Waits for the VM's jobs, unmaps everything and drops the file's
 * reference.  Userptr BOs created for the VM stay valid handles but can no
 * longer be bound or used (-ENOENT).
 */
struct drm_sgpu_vm_destroy {
	__u32 vm_id;
	__u32 pad;
};

/**
 * struct drm_sgpu_bo_create - argument of %DRM_IOCTL_SGPU_BO_CREATE
 * @size: (in) size in bytes, a non-zero multiple of 4 KiB
 * @flags: (in) must be zero
 * @handle: (out) GEM handle of a new shmem BO
 */
struct drm_sgpu_bo_create {
	__u64 size;
	__u32 flags;
	__u32 handle;
};

/**
 * struct drm_sgpu_bo_mmap_offset - argument of %DRM_IOCTL_SGPU_BO_MMAP_OFFSET
 * @handle: (in) a shmem BO
 * @pad: (in) must be zero
 * @offset: (out) fake offset to mmap() the DRM file with
 */
struct drm_sgpu_bo_mmap_offset {
	__u32 handle;
	__u32 pad;
	__u64 offset;
};

/* Flags of &struct drm_sgpu_userptr_create. */
#define SGPU_USERPTR_READ_ONLY		(1 << 0)
#define SGPU_USERPTR_BACKEND_DEFAULT	(0 << 1)
#define SGPU_USERPTR_BACKEND_PIN	(1 << 1)
#define SGPU_USERPTR_BACKEND_FAULT	(2 << 1)
#define SGPU_USERPTR_BACKEND_MASK	(3 << 1)
#define SGPU_USERPTR_FLAGS		(SGPU_USERPTR_READ_ONLY | \
					 SGPU_USERPTR_BACKEND_PIN | \
					 SGPU_USERPTR_BACKEND_FAULT)

/**
 * struct drm_sgpu_userptr_create - argument of %DRM_IOCTL_SGPU_USERPTR_CREATE
 * @addr: (in) first user address, 4 KiB aligned
 * @size: (in) size in bytes, a non-zero multiple of 4 KiB, at most
 *	%SGPU_MAX_USERPTR_SIZE (-E2BIG above)
 * @vm_id: (in) the VM the BO belongs to
 * @flags: (in) %SGPU_USERPTR_READ_ONLY, one %SGPU_USERPTR_BACKEND_*;
 *	%SGPU_USERPTR_BACKEND_DEFAULT picks the module parameter
 *	``default_backend``
 * @handle: (out) GEM handle of the new userptr BO
 * @pad: (in) must be zero
 *
 * The BO mirrors [@addr, @addr + @size) of the calling process.  It shares
 * the VM's reservation object, can only be bound into that VM (-EXDEV for
 * another), cannot be exported (-EOPNOTSUPP) or mmapped (-EINVAL) and is
 * only usable by the process that created it (-EPERM in a forked child).
 */
struct drm_sgpu_userptr_create {
	__u64 addr;
	__u64 size;
	__u32 vm_id;
	__u32 flags;
	__u32 handle;
	__u32 pad;
};

/**
 * struct drm_sgpu_sync - a binary syncobj to wait on or signal
 * @handle: (in) syncobj handle
 * @flags: (in) must be zero
 * @point: (in) must be zero
 */
struct drm_sgpu_sync {
	__u32 handle;
	__u32 flags;
	__u64 point;
};

/* VM_BIND operations. */
#define SGPU_BIND_MAP			0
#define SGPU_BIND_UNMAP			1

/* VM_BIND flags. */
#define SGPU_BIND_READ_ONLY		(1 << 0)
#define SGPU_BIND_FLAGS			(SGPU_BIND_READ_ONLY)

/**
 * struct drm_sgpu_vm_bind - argument of %DRM_IOCTL_SGPU_VM_BIND
 * @vm_id: (in) the VM
 * @op: (in) %SGPU_BIND_MAP or %SGPU_BIND_UNMAP
 * @flags: (in) MAP: %SGPU_BIND_READ_ONLY; UNMAP: zero
 * @handle: (in) MAP: the BO; UNMAP: zero
 * @bo_offset: (in) MAP: offset in the BO, 4 KiB aligned; UNMAP: zero
 * @addr: (in) GPU VA, 4 KiB aligned
 * @range: (in) size in bytes, a non-zero multiple of 4 KiB
 * @in_syncs: (in) pointer to @num_in_syncs &struct drm_sgpu_sync
 * @num_in_syncs: (in) at most %SGPU_MAX_SYNCS
 * @out_sync: (in) syncobj to receive the operation's fence, or 0
 *
 * Binds are asynchronous and ordered: the VA space changes at once (for
 * later ioctls), the page tables change when the operation runs, after its
 * in-syncs and after every earlier bind and (fence mode) EXEC of the VM.
 * MAP over existing mappings replaces them (split/merge); UNMAP of a range
 * with no mapping at all is -ENOENT.  Once the out fence of an UNMAP
 * signalled, no engine access to the old pages is in flight or will ever
 * happen again, so the memory may be freed.
 */
struct drm_sgpu_vm_bind {
	__u32 vm_id;
	__u32 op;
	__u32 flags;
	__u32 handle;
	__u64 bo_offset;
	__u64 addr;
	__u64 range;
	__u64 in_syncs;
	__u32 num_in_syncs;
	__u32 out_sync;
};

/* Engine commands. */
#define SGPU_CMD_COPY			0
#define SGPU_CMD_FILL			1
#define SGPU_CMD_COMPARE		2
#define SGPU_CMD_CHECKSUM		3
#define SGPU_CMD_ATOMIC_INC		4

/**
 * struct drm_sgpu_cmd - one engine command
 * @op: (in) %SGPU_CMD_*
 * @flags: (in) must be zero
 * @src: (in) GPU VA read by COPY, COMPARE and CHECKSUM
 * @dst: (in) GPU VA written by COPY and FILL, compared by COMPARE,
 *	incremented by ATOMIC_INC (8-byte aligned)
 * @size: (in) bytes, 1 ... %SGPU_MAX_CMD_SIZE; FILL: a multiple of 4 with
 *	@dst 4-byte aligned; ATOMIC_INC: 8
 * @value: (in) FILL: 32-bit pattern (low 32 bits, the rest must be zero);
 *	ATOMIC_INC: addend
 * @result: (in) GPU VA (8-byte aligned) of a __u64 result: COMPARE writes
 *	0 when equal, else 1 + the offset of the first differing byte;
 *	CHECKSUM writes the 64-bit FNV-1a hash of the bytes; ATOMIC_INC
 *	writes the old value when @result is not 0; others: must be 0
 *
 * A job reaches exactly the GPU VAs its commands name.
 */
struct drm_sgpu_cmd {
	__u32 op;
	__u32 flags;
	__u64 src;
	__u64 dst;
	__u64 size;
	__u64 value;
	__u64 result;
};

/**
 * struct drm_sgpu_exec - argument of %DRM_IOCTL_SGPU_EXEC
 * @vm_id: (in) the VM
 * @flags: (in) must be zero
 * @cmds: (in) pointer to @num_cmds &struct drm_sgpu_cmd
 * @num_cmds: (in) 1 ... %SGPU_MAX_CMDS
 * @num_in_syncs: (in) at most %SGPU_MAX_SYNCS
 * @in_syncs: (in) pointer to @num_in_syncs &struct drm_sgpu_sync
 * @out_sync: (in) fence mode: syncobj to receive the job's fence, or 0;
 *	fault mode: must be 0
 * @pad: (in) must be zero
 * @seqno: (out) the job's sequence number in the VM (from 1, in order)
 *
 * Commands run in order; the first failing command ends the job, whose
 * status (a negative errno, see docs/uapi.rst) is reported by
 * %DRM_IOCTL_SGPU_WAIT and, in fence mode, as the fence's error.
 */
struct drm_sgpu_exec {
	__u32 vm_id;
	__u32 flags;
	__u64 cmds;
	__u32 num_cmds;
	__u32 num_in_syncs;
	__u64 in_syncs;
	__u32 out_sync;
	__u32 pad;
	__u64 seqno;
};

/**
 * struct drm_sgpu_wait - argument of %DRM_IOCTL_SGPU_WAIT
 * @vm_id: (in) the VM
 * @flags: (in) must be zero
 * @seqno: (in) job sequence number returned by EXEC
 * @timeout_ns: (in) relative timeout; negative waits forever
 * @status: (out) 0, or the job's negative errno
 * @cmd_index: (out) failing command, when @status is not 0
 * @fault_addr: (out) GPU VA that failed, when @status is not 0
 *
 * Interruptible.  Returns -ETIME on timeout, -EINVAL for a @seqno never
 * returned, -ESTALE when the job is older than the last
 * %SGPU_JOB_HISTORY jobs (its status is gone).
 */
struct drm_sgpu_wait {
	__u32 vm_id;
	__u32 flags;
	__u64 seqno;
	__s64 timeout_ns;
	__s32 status;
	__u32 cmd_index;
	__u64 fault_addr;
};

/* MIGRATE directions. */
#define SGPU_MIGRATE_TO_DEVICE		0
#define SGPU_MIGRATE_TO_SYSTEM		1

/**
 * struct drm_sgpu_migrate - argument of %DRM_IOCTL_SGPU_MIGRATE
 * @handle: (in) a userptr BO
 * @direction: (in) %SGPU_MIGRATE_TO_DEVICE or %SGPU_MIGRATE_TO_SYSTEM
 * @offset: (in) offset in the BO, 4 KiB aligned
 * @size: (in) bytes, a non-zero multiple of 4 KiB
 * @migrated: (out) pages moved
 *
 * Moves anonymous private pages of the range into (out of) the device's
 * DEVICE_PRIVATE memory.  Pages that cannot move (pinned, file-backed,
 * not present) are skipped and not counted; shared and hugetlb mappings
 * are skipped without being walked.  -EOPNOTSUPP without device
 * memory (``devmem_mb=0`` or CONFIG_DEVICE_PRIVATE=n).
 */
struct drm_sgpu_migrate {
	__u32 handle;
	__u32 direction;
	__u64 offset;
	__u64 size;
	__u64 migrated;
};

/* QUERY types. */
#define SGPU_QUERY_DEVICE		0
#define SGPU_QUERY_VM			1
#define SGPU_QUERY_BO			2

/* SGPU_QUERY_DEVICE counters (global, all files). */
#define SGPU_DEV_LIVE_VMS		0
#define SGPU_DEV_LIVE_BOS		1
#define SGPU_DEV_LIVE_USERPTR_BOS	2
#define SGPU_DEV_LIVE_MAPPINGS		3
#define SGPU_DEV_LIVE_JOBS		4
#define SGPU_DEV_PINNED_PAGES		5
#define SGPU_DEV_DEVMEM_PAGES		6
#define SGPU_DEV_DEVMEM_USED		7
#define SGPU_DEV_PT_PAGES		8
#define SGPU_DEV_CPU_MIGRATIONS		9
#define SGPU_DEV_COUNT			10

/* SGPU_QUERY_VM counters. */
#define SGPU_VM_MODE			0
#define SGPU_VM_PINNED_PAGES		1
#define SGPU_VM_MAPPED_PAGES		2
#define SGPU_VM_POPULATES		3
#define SGPU_VM_INVALIDATIONS		4
#define SGPU_VM_NOTIFIER_WAITS		5
#define SGPU_VM_NONBLOCK_FAILED		6
#define SGPU_VM_REPINS			7
#define SGPU_VM_GPU_FAULTS		8
#define SGPU_VM_FATAL_FAULTS		9
#define SGPU_VM_MIGRATED_TO_DEVICE	10
#define SGPU_VM_MIGRATED_TO_SYSTEM	11
#define SGPU_VM_JOBS_SUBMITTED		12
#define SGPU_VM_JOBS_COMPLETED		13
#define SGPU_VM_JOBS_FAILED		14
#define SGPU_VM_TLB_INVALIDATIONS	15
#define SGPU_VM_PTE_4K			16
#define SGPU_VM_PTE_2M			17
#define SGPU_VM_PTE_1G			18
#define SGPU_VM_PT_PAGES		19
#define SGPU_VM_COUNT			20

/* SGPU_QUERY_BO counters. */
#define SGPU_BO_SIZE			0
#define SGPU_BO_IS_USERPTR		1
#define SGPU_BO_BACKEND			2
#define SGPU_BO_VALID_PAGES		3
#define SGPU_BO_PINNED_PAGES		4
#define SGPU_BO_DEVICE_PAGES		5
#define SGPU_BO_INVALIDATIONS		6
#define SGPU_BO_REPINS			7
#define SGPU_BO_GPU_FAULTS		8
#define SGPU_BO_MIGRATED_PAGES		9
#define SGPU_BO_MAPPINGS		10
#define SGPU_BO_COUNT			11

/**
 * struct drm_sgpu_query - argument of %DRM_IOCTL_SGPU_QUERY
 * @type: (in) %SGPU_QUERY_DEVICE, %SGPU_QUERY_VM or %SGPU_QUERY_BO
 * @id: (in) DEVICE: 0; VM: the vm_id; BO: a GEM handle
 * @values: (in) pointer to @count __u64 slots, filled with the counters
 *	%SGPU_DEV_*, %SGPU_VM_* or %SGPU_BO_* in index order
 * @count: (in) number of slots, may be 0; (out) number of counters known
 * @pad: (in) must be zero
 */
struct drm_sgpu_query {
	__u32 type;
	__u32 id;
	__u64 values;
	__u32 count;
	__u32 pad;
};

#define DRM_IOCTL_SGPU_VM_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SGPU_VM_CREATE, \
		 struct drm_sgpu_vm_create)
#define DRM_IOCTL_SGPU_VM_DESTROY \
	DRM_IOW(DRM_COMMAND_BASE + DRM_SGPU_VM_DESTROY, \
		 struct drm_sgpu_vm_destroy)
#define DRM_IOCTL_SGPU_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SGPU_BO_CREATE, \
		 struct drm_sgpu_bo_create)
#define DRM_IOCTL_SGPU_BO_MMAP_OFFSET \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SGPU_BO_MMAP_OFFSET, \
		 struct drm_sgpu_bo_mmap_offset)
#define DRM_IOCTL_SGPU_USERPTR_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SGPU_USERPTR_CREATE, \
		 struct drm_sgpu_userptr_create)
#define DRM_IOCTL_SGPU_VM_BIND \
	DRM_IOW(DRM_COMMAND_BASE + DRM_SGPU_VM_BIND, \
		 struct drm_sgpu_vm_bind)
#define DRM_IOCTL_SGPU_EXEC \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SGPU_EXEC, \
		 struct drm_sgpu_exec)
#define DRM_IOCTL_SGPU_WAIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SGPU_WAIT, \
		 struct drm_sgpu_wait)
#define DRM_IOCTL_SGPU_MIGRATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SGPU_MIGRATE, \
		 struct drm_sgpu_migrate)
#define DRM_IOCTL_SGPU_QUERY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_SGPU_QUERY, \
		 struct drm_sgpu_query)

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_SGPU_DRM_H_ */
