/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between netreset.bpf.c and user/faults/netreset.c. */
#ifndef TUG_BPF_NETRESET_H
#define TUG_BPF_NETRESET_H

#include "common.h"

/* Slots of the per-CPU counters array, one set per fault. */
enum netreset_counter {
	NETRESET_RESET_ESTABLISHED,	/* written once by the controller: the sockets
					 * it destroyed, so `tug status` finds every
					 * counter in one map */
	NETRESET_REFUSED_OUT,	/* our SYN to a peer, answered with the peer's RST */
	NETRESET_REFUSED_IN,	/* a peer's SYN, answered with our RST */
	NETRESET_PASSED,	/* a peer's other packets, and those --port spares */
	NETRESET_SPARED_CONTROL,
	NETRESET_DROPPED_SYN_DATA,	/* a SYN with data (Fast Open), dropped */
	NETRESET_COUNTER_MAX,
};

#endif
