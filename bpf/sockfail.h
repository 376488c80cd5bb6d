/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between sockfail.bpf.c and user/sockfail.c. */
#ifndef TUG_BPF_SOCKFAIL_H
#define TUG_BPF_SOCKFAIL_H

#include "common.h"

/*
 * LPM keys lead with the destination port (network order) so one trie
 * holds "CIDR" and "CIDR:PORT" entries alike: an entry for one port has
 * prefixlen 16 + the CIDR's, an entry for any port has port 0. A lookup
 * tries the connect()'s own port first, then port 0.
 */
struct sockfail_lpm_v4 {
	__u32 prefixlen;
	__u8 port[2];
	__u8 addr[4];
};

struct sockfail_lpm_v6 {
	__u32 prefixlen;
	__u8 port[2];
	__u8 addr[16];
};

/* What the programs match, set in rodata. */
enum sockfail_mode {
	SOCKFAIL_PEERS = 1,	/* tug net refuse: connect() to the peers in the tries */
	SOCKFAIL_DNS = 2,	/* tug net dns-fail: connect() or sendmsg() to dns_port */
};

/* Slots of the per-CPU counters array, one set per fault. */
enum sockfail_counter {
	SOCKFAIL_REFUSED_CONNECT4,
	SOCKFAIL_REFUSED_CONNECT6,
	SOCKFAIL_PASSED,		/* calls from the cgroup that did not match */
	SOCKFAIL_REFUSED_SENDMSG4,	/* unconnected UDP sends (dns-fail only) */
	SOCKFAIL_REFUSED_SENDMSG6,
	SOCKFAIL_COUNTER_MAX,
};

#endif
