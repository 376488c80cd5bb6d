/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between netshape.bpf.c and user/faults/netshape.c: corrupt,
 * duplicate and bandwidth, the net verbs that shape what they let through. */
#ifndef TUG_BPF_NETSHAPE_H
#define TUG_BPF_NETSHAPE_H

#include "common.h"

enum netshape_action {
	NETSHAPE_CORRUPT = 1,
	NETSHAPE_DUPLICATE,
	NETSHAPE_BANDWIDTH,
};

/* Slots of the per-CPU counters array; each verb names them its way. */
enum netshape_counter {
	NETSHAPE_HIT_IN,	/* corrupted, duplicated, dropped over the rate */
	NETSHAPE_HIT_OUT,
	NETSHAPE_PASSED_IN,	/* a peer's, untouched (--port/--proto/--percent, in rate) */
	NETSHAPE_PASSED_OUT,
	NETSHAPE_SPARED_CONTROL,	/* the SSH session that started tug */
	NETSHAPE_FAILED,	/* corrupt: no payload to flip; duplicate: the clone failed */
	NETSHAPE_COUNTER_MAX,
};

/* tc_index of a duplicate tug made: its own program lets it through. */
#define NETSHAPE_CLONE_MARK 0x7c6e

#endif
