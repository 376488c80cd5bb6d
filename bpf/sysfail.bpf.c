// SPDX-License-Identifier: GPL-2.0
/*
 * Syscall faults for running processes, in the kernel:
 *
 *   tug_sys_kprobe    kprobe on the __<arch>_sys_<name> wrapper with
 *                     bpf_override_return: the call fails with the errno
 *                     before its body runs (CONFIG_BPF_KPROBE_OVERRIDE);
 *   tug_sys_fmod_ret  the same through fmod_ret (BPF trampolines);
 *   tug_sys_signal    raw_syscalls/sys_enter + bpf_send_signal: the target
 *                     is sent a signal at its (after+1)th matching call;
 *                     works on any kernel with BPF raw tracepoints.
 *   tug_sys_lsm_*     BPF LSM hooks (CONFIG_BPF_LSM, 'bpf' in the LSM list):
 *                     the operation behind a syscall is denied with the
 *                     errno: file_open (open, openat, openat2, creat),
 *                     file_permission (read and write families, by mask),
 *                     socket_connect (connect). Where kernels build without
 *                     error injection (Debian's), this is how a running
 *                     process gets an errno. An earlier LSM's denial stands.
 *
 * The controller picks one with bpf_program__set_autoload(); the others are
 * never loaded. Scope: one thread group (target_tgid) and/or a cgroup v2
 * subtree (the cgroup array, via bpf_current_task_under_cgroup).
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "counters.h"
#include "deadline.h"
#include "sysfail.h"

/* Set by the controller between open and load. */
const volatile __u32 target_tgid = 0;		/* 0 = any */
/* target_tgid is a pid in tug's pid namespace (it may run in a container's):
 * compared there, never against the init namespace's number. */
const volatile __u64 pidns_dev = 0, pidns_ino = 0;
const volatile bool use_cgroup = false;
const volatile __s64 syscall_nr = -1;		/* tug_sys_signal only */
const volatile __u64 after = 0;
const volatile __u64 threshold = SYSFAIL_ALL;
const volatile __s32 err_value = 0;		/* positive errno */
const volatile __u32 signal_nr = 0;
const volatile __u32 lsm_mask = 0;		/* file_permission: MAY_READ 4 / MAY_WRITE 2 */
const volatile __s32 lsm_ret = -1;		/* -errno: what an LSM hook returns */

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} cgroup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SYSFAIL_COUNTER_MAX);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SYSFAIL_ST_MAX);
} state SEC(".maps");

static __always_inline bool in_scope(void)
{
	if (target_tgid) {
		struct bpf_pidns_info ns = {};

		/* fails for a task outside tug's namespace: never the target */
		if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)) ||
		    ns.tgid != target_tgid)
			return false;
	}
	if (use_cgroup && bpf_current_task_under_cgroup(&cgroup, 0) != 1)
		return false;
	return true;
}

/* The same rule as sysfail_gate() in user/sysfail.c: the first `after`
 * matching calls run, later ones fail with probability threshold / 2^32. */
static __always_inline bool chosen(void)
{
	__u32 key = SYSFAIL_ST_MATCHED;
	__u64 *n = bpf_map_lookup_elem(&state, &key);

	tug_count(&counters, SYSFAIL_SEEN);
	if (!n || past_deadline() || __sync_fetch_and_add(n, 1) < after ||
	    (threshold < SYSFAIL_ALL && bpf_get_prandom_u32() >= threshold)) {
		tug_count(&counters, SYSFAIL_CONTINUED);
		return false;
	}
	return true;
}

SEC("kprobe")
int tug_sys_kprobe(struct pt_regs *ctx)
{
	if (!in_scope() || !chosen())
		return 0;
	tug_count(&counters, SYSFAIL_FAILED);
	bpf_override_return(ctx, -(long)err_value);
	return 0;
}

SEC("fmod_ret")
int BPF_PROG(tug_sys_fmod_ret, struct pt_regs *regs, long ret)
{
	if (!in_scope() || !chosen())
		return 0;
	tug_count(&counters, SYSFAIL_FAILED);
	return -err_value;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(tug_sys_signal, struct pt_regs *regs, long id)
{
	__u32 key = SYSFAIL_ST_FIRED;
	__u64 *fired;

	if (id != syscall_nr || !in_scope() || !chosen())
		return 0;
	fired = bpf_map_lookup_elem(&state, &key);
	/* Once: the signal is the fault; later calls run on. */
	if (!fired || __sync_fetch_and_add(fired, 1) != 0) {
		tug_count(&counters, SYSFAIL_CONTINUED);
		return 0;
	}
	tug_count(&counters, SYSFAIL_FAILED);
	bpf_send_signal(signal_nr);
	return 0;
}

static __always_inline int lsm_verdict(int ret)
{
	if (ret)
		return ret;	/* denied already */
	if (!in_scope() || !chosen())
		return 0;
	tug_count(&counters, SYSFAIL_FAILED);
	/* The verifier wants an LSM program's result in [-4095, 0] and does
	 * not follow a negation: the controller stores it negated. */
	if (lsm_ret < -4095 || lsm_ret > -1)
		return -1;
	return lsm_ret;
}

SEC("lsm/file_open")
int BPF_PROG(tug_sys_lsm_open, void *file, int ret)
{
	return lsm_verdict(ret);
}

SEC("lsm/file_permission")
int BPF_PROG(tug_sys_lsm_rw, void *file, int mask, int ret)
{
	if (!(mask & lsm_mask))
		return ret;
	return lsm_verdict(ret);
}

SEC("lsm/socket_connect")
int BPF_PROG(tug_sys_lsm_connect, void *sock, void *address, int addrlen, int ret)
{
	return lsm_verdict(ret);
}

char LICENSE[] SEC("license") = "GPL";
