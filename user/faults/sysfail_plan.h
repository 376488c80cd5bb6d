/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tug sys fail: the parts with no side effects, exported for unit tests:
 * backend planning, syscall tables, the after/percent gate.
 */
#ifndef TUG_SYSFAIL_PLAN_H
#define TUG_SYSFAIL_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sysfail_backend {
	SYSFAIL_AUTO,
	SYSFAIL_KPROBE,		/* kprobe + bpf_override_return on the wrapper */
	SYSFAIL_FMOD_RET,	/* fmod_ret on the wrapper */
	SYSFAIL_SECCOMP,	/* seccomp user notification, launched command */
	SYSFAIL_TRACEPOINT,	/* raw_syscalls/sys_enter + bpf_send_signal */
	SYSFAIL_LSM,		/* BPF LSM hook behind the syscall (open, read, write, connect) */
	SYSFAIL_BACKEND_MAX,
};

enum sysfail_scope { SYSFAIL_SCOPE_NONE, SYSFAIL_SCOPE_PID, SYSFAIL_SCOPE_CGROUP, SYSFAIL_SCOPE_CMD };

/* What the running kernel offers (sysfail_probe_caps()). */
struct sysfail_caps {
	bool kprobe_override;	/* kprobes and bpf_override_return */
	bool fmod_ret;		/* an fmod_ret program loads */
	bool seccomp_notif;	/* SECCOMP_RET_USER_NOTIF */
	bool signal_tp;		/* raw tracepoints with bpf_send_signal */
	bool bpf_lsm;		/* a BPF LSM program loads and 'bpf' is an active LSM */
};

struct sysfail_request {
	enum sysfail_scope scope;
	bool signal;		/* --signal instead of --errno */
	bool path;		/* --path given */
	enum sysfail_backend forced;	/* --backend, SYSFAIL_AUTO if not */
	const char *syscall;	/* for the LSM backend, which serves a few only */
};

const char *sysfail_backend_name(enum sysfail_backend b);
int sysfail_backend_parse(const char *s, enum sysfail_backend *ret);

/* Pick the backend for a request on a kernel. 0 and *ret, or -EOPNOTSUPP
 * (the kernel lacks what the request needs) / -EINVAL (the request can never
 * work) with a message for the user in why. */
int sysfail_plan(const struct sysfail_request *r, const struct sysfail_caps *c,
		 enum sysfail_backend *ret, char *why, size_t len);

/* The LSM hook that fails a syscall, and for file_permission the access
 * mask (MAY_READ 4, MAY_WRITE 2); -ENOENT for a syscall no hook serves. */
enum sysfail_lsm_hook { SYSFAIL_LSM_OPEN, SYSFAIL_LSM_RW, SYSFAIL_LSM_CONNECT };
int sysfail_lsm_hook(const char *syscall, enum sysfail_lsm_hook *ret_hook, unsigned *ret_mask);
/* The syscalls the LSM backend can fail, as text for messages. */
#define SYSFAIL_LSM_SYSCALLS "open, openat, openat2, creat (file_open); read, readv, pread64, " \
	"preadv, preadv2 (file_permission, read); write, writev, pwrite64, pwritev, pwritev2 " \
	"(file_permission, write); connect (socket_connect)"

/* fmod_ret: also load probe.bpf.c's fmod_ret and LSM programs (slower: a
 * BTF parse); without it ret->fmod_ret and ret->bpf_lsm are false. */
void sysfail_probe_caps(struct sysfail_caps *ret, bool fmod_ret);

/* The argument that holds the path of a syscall of the open family (and the
 * other path-taking calls tug knows), and the one holding the directory fd
 * it is relative to (-1: the cwd). -ENOENT for a syscall with no path. */
int sysfail_path_arg(const char *syscall, int *ret_dirfd_arg);

/* The kernel symbol a kprobe or fmod_ret attaches to: "__x64_sys_write". */
int sysfail_wrapper_symbol(const char *syscall, const char *machine, char *buf, size_t len);

/* The after/percent rule, the same one the BPF programs apply. */
struct sysfail_gate {
	uint64_t after;		/* the first `after` matching calls run */
	uint64_t threshold;	/* fail when a u32 random number is below it */
	uint64_t matched;
};
uint64_t sysfail_threshold(double percent);
bool sysfail_gate_pass(struct sysfail_gate *g, uint32_t rnd);

/* Match a path a process passed against --path: as given, and, when the
 * glob is absolute and the path is not, joined to base (its cwd or dirfd). */
bool sysfail_path_match(const char *glob, const char *path, const char *base);

#endif
