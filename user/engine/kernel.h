/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel offers, probed without changing anything: from
 * BTF, from /proc and /sys, and by loading (never attaching) small programs.
 */
#ifndef TUG_KERNEL_H
#define TUG_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

/* libbpf 1.1's headers predate tcx; the kernel ABI numbers are stable. */
#define TUG_BPF_TCX_INGRESS 46
#define TUG_BPF_TCX_EGRESS 47

bool kernel_has_btf(void);
/* Can this process load BPF programs at all? A trivial socket filter: 0, or
 * the kernel's -errno (EPERM: no CAP_BPF/CAP_SYS_ADMIN, or a seccomp filter
 * on bpf() as in a container). */
int kernel_bpf_usable(void);
/* tcx: 0 when the kernel has it, -EINVAL when it does not (before 6.6),
 * another -errno (EPERM, ...) when bpf() was refused and nothing is known. */
int kernel_probe_tcx(void);
/* A named struct in vmlinux BTF or, when module is given, that module's BTF. */
bool kernel_btf_has_struct(const char *name, const char *module);
/* The arguments of a BTF tracepoint (its btf_trace_NAME typedef, without
 * the leading context pointer): the count, and whether the first is a
 * pointer (mark_victim passes a task_struct * from 6.8 on, a pid before).
 * -ENOENT when vmlinux BTF has no such tracepoint. */
int kernel_btf_tp_args(const char *tp, int *ret_nargs, bool *ret_first_is_ptr);
/* tcx (kernel >= 6.6): a read-only query of the tcx attach type. */
bool kernel_has_tcx(void);
/* Can a qdisc of this kind ("fq", "netem") be created? Tried on loopback in
 * a scratch network namespace, so the kernel loads the module if it has one
 * and nothing of the host changes: 0, -ENOENT (the kernel has no such
 * qdisc), or another -errno (EPERM: not allowed to try). */
int kernel_probe_qdisc(const char *kind);
/* The same answer without loading anything where the module lists tell
 * (built in, loaded, on disk, absent); the probe only where they are
 * missing (no /lib/modules for this kernel). For reports; a fault that is
 * about to use the qdisc probes. */
int kernel_has_qdisc(const char *kind, const char *module);
/* kprobes and bpf_override_return (CONFIG_BPF_KPROBE_OVERRIDE). */
bool kernel_has_kprobe_override(void);
/* SECCOMP_RET_USER_NOTIF in /proc/sys/kernel/seccomp/actions_avail. */
bool kernel_has_seccomp_notif(void);
/* Load (never attach) one program of bpf/probe.bpf.c: 0 or the kernel's
 * -errno (EPERM where lockdown or the config forbids the program type). */
int kernel_probe_load(const char *prog_name);
/* A kernel module: built in, loaded, on disk (the kernel loads it on first
 * use: a qdisc when tc asks for it), or absent. KMOD_UNKNOWN: there is no
 * /lib/modules/$(uname -r) to look in (a container, a chroot). */
enum kernel_module {
	KMOD_ABSENT,
	KMOD_BUILTIN,
	KMOD_LOADED,
	KMOD_AVAILABLE,
	KMOD_UNKNOWN,
};
enum kernel_module kernel_module_state(const char *name);
const char *kernel_module_state_name(enum kernel_module m);
/* Is word one of the space/comma separated words of a small text file? */
bool kernel_file_has_word(const char *path, const char *word);
/* Is the machine booted by systemd (sd_booted()'s test, /run/systemd/system/,
 * and PID 1 named systemd)? *comm gets PID 1's name either way. */
bool host_has_systemd(char *comm, size_t len);

#endif
