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
	SOCKFAIL_DNS_ANSWER = 3,	/* dns-fail --answer: the same calls, redirected to
					 * tug's responder on loopback (resp_port) */
};

/* Where a redirected socket last meant to go (socket-local storage), so
 * the recvmsg and getpeername hooks can name the server the service asked
 * as the source of the responder's answers. Addresses in network order;
 * an IPv4 server behind an IPv6 socket is kept as ::ffff:a.b.c.d. */
struct sockfail_orig {
	__u32 ip6[4];
	__u32 ip4;
	__u16 port;
	__u16 family;		/* AF_INET or AF_INET6 */
};

/* Slots of the per-CPU counters array, one set per fault. */
enum sockfail_counter {
	SOCKFAIL_REFUSED_CONNECT4,
	SOCKFAIL_REFUSED_CONNECT6,
	SOCKFAIL_PASSED,		/* calls from the cgroup that did not match */
	SOCKFAIL_REFUSED_SENDMSG4,	/* unconnected UDP sends (dns-fail only) */
	SOCKFAIL_REFUSED_SENDMSG6,
	/* --answer: in answer mode the four slots above count redirections */
	SOCKFAIL_RESTORED,		/* answers whose source was set back to the server */
	SOCKFAIL_OTHER_NETNS,		/* DNS of the cgroup from another network namespace
					 * than the responder's: failed with the errno */
	/* Written by the controller's responder (slot of CPU 0), so that
	 * `tug status` reads every counter from one map. */
	SOCKFAIL_ANSWERED,		/* answered as asked (the rcode, or the address) */
	SOCKFAIL_ANSWERED_EMPTY,	/* ADDRESS: the other type, an empty NOERROR */
	SOCKFAIL_DROPPED,		/* timeout: read and never answered */
	SOCKFAIL_MALFORMED,		/* not a DNS query: dropped */
	SOCKFAIL_COUNTER_MAX,
};

#endif
