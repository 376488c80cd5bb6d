/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between net.bpf.c and user/faults/net.c: partition and loss. */
#ifndef TUG_BPF_NET_H
#define TUG_BPF_NET_H

#include "common.h"

/* Slots of the per-CPU counters array, one set per fault. */
enum net_counter {
	NET_DROPPED_IN,
	NET_DROPPED_OUT,
	NET_PASSED_IN,		/* from a peer, spared by --port/--proto/--percent */
	NET_PASSED_OUT,
	NET_SPARED_CONTROL,	/* the SSH session that started tug */
	NET_COUNTER_MAX,
};

/* loss_threshold: a matching packet is dropped when a u32 random number is
 * below it (TUG_SHARE_ALL drops all). */
#define NET_LOSS_ALL TUG_SHARE_ALL

#endif
