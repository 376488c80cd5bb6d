/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between isolate.bpf.c and user/faults/node.c: node isolate. */
#ifndef TUG_BPF_ISOLATE_H
#define TUG_BPF_ISOLATE_H

#include "common.h"

/*
 * The peers kept reachable (--keep, and the SSH session's peer on the local
 * sshd port). LPM keys lead with a port (network order) so one trie holds
 * "CIDR" and "CIDR:PORT" alike: an entry for one port has prefixlen 16 +
 * the CIDR's, an entry for any port has port 0. A packet is looked up with
 * its local port, its remote port, then 0.
 */
struct node_keep_v4 {
	__u32 prefixlen;
	__u8 port[2];
	__u8 addr[4];
};

struct node_keep_v6 {
	__u32 prefixlen;
	__u8 port[2];
	__u8 addr[16];
};

/* Slots of the per-CPU counters array, one set per fault. */
enum node_counter {
	NODE_DROPPED_IN,
	NODE_DROPPED_OUT,
	NODE_KEPT_IN,		/* a kept peer's: the control channel */
	NODE_KEPT_OUT,
	NODE_COUNTER_MAX,
};

#endif
