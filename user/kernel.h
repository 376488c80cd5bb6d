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
/* tcx (kernel >= 6.6): struct tcx_entry exists in BTF. */
bool kernel_has_tcx(void);

#endif
