/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared by every BPF program and the user side: fixed-width only,
 * no pointers. Each event starts with struct tug_event_hdr.
 */
#ifndef TUG_BPF_COMMON_H
#define TUG_BPF_COMMON_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct tug_event_hdr {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u32 kind;
	__u32 pid;
};

/* tc/tcx verdicts: the same numbers serve cls_bpf direct action and tcx. */
#define TUG_TC_NEXT -1		/* TC_ACT_UNSPEC / TCX_NEXT: let others decide */
#define TUG_TC_DROP 2		/* TC_ACT_SHOT / TCX_DROP */

/* A share of packets as a threshold: a packet is taken when a u32 random
 * number is below it, so 1 << 32 takes all and 0 none. */
#define TUG_SHARE_ALL (1ULL << 32)

#endif
