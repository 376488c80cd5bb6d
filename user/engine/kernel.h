/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel offers, probed without changing anything: from
 * BTF, from /proc and /sys, and by loading (never attaching) small programs.
 */
#ifndef TUG_KERNEL_H
#define TUG_KERNEL_H

#include <stdbool.h>

/* libbpf 1.1's headers predate tcx; the kernel ABI numbers are stable. */
#define TUG_BPF_TCX_INGRESS 46
#define TUG_BPF_TCX_EGRESS 47

bool kernel_has_btf(void);
/* A named struct in vmlinux BTF or, when module is given, that module's BTF. */
bool kernel_btf_has_struct(const char *name, const char *module);
/* tcx (kernel >= 6.6): a read-only query of the tcx attach type. */
bool kernel_has_tcx(void);
/* kprobes and bpf_override_return (CONFIG_BPF_KPROBE_OVERRIDE). */
bool kernel_has_kprobe_override(void);
/* SECCOMP_RET_USER_NOTIF in /proc/sys/kernel/seccomp/actions_avail. */
bool kernel_has_seccomp_notif(void);
/* Load (never attach) one program of bpf/probe.bpf.c: 0 or the kernel's
 * -errno (EPERM where lockdown or the config forbids the program type). */
int kernel_probe_load(const char *prog_name);
/* Is word one of the space/comma separated words of a small text file? */
bool kernel_file_has_word(const char *path, const char *word);

#endif
