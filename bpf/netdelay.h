/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between netdelay.bpf.c and user/faults/netdelay.c. */
#ifndef TUG_BPF_NETDELAY_H
#define TUG_BPF_NETDELAY_H

#include "common.h"

/* Slots of the per-CPU counters array. */
enum netdelay_counter {
	NETDELAY_DELAYED,	/* stamped with a departure time */
	NETDELAY_REORDERED,	/* chosen, but sent at once (--reorder) */
	NETDELAY_PASSED,	/* to a peer, spared by --port/--proto */
	NETDELAY_SPARED_CONTROL,	/* the SSH session that started tug */
	NETDELAY_COUNTER_MAX,
};

/* The largest delay + jitter: fq's horizon is set above it, and a departure
 * time further than this ahead of now is not one of TCP's own. */
#define NETDELAY_MAX_NS (60ULL * 1000000000ULL)

#endif
