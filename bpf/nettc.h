/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The BPF half of the net verbs' tc engine (user/faults/nettc.h): is this
 * packet one of the chosen ones? Peers in LPM tries (ingress matches the
 * source address, egress the destination: one lookup per packet whatever
 * the number of peers), then the port and protocol, the SSH session that
 * started tug, and the fault's deadline. A verb's .bpf.c defines
 * NETTC_NCOUNTERS (its counter slots), includes this after bpf_helpers.h,
 * and has only its action. BPF side only.
 */
/* Packet headers are ABI: the uapi structs need no CO-RE, so loading a
 * program costs no vmlinux BTF parse and a fault starts sooner. */
#ifndef TUG_BPF_NETTC_H
#define TUG_BPF_NETTC_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "common.h"
#include "counters.h"
#include "deadline.h"

#ifndef NETTC_NCOUNTERS
#error "define NETTC_NCOUNTERS, the verb's counter slots, before including nettc.h"
#endif

/* Set by the controller between open and load (NETTC_SET_RODATA). */
const volatile __u16 port = 0;			/* host order; 0 = any */
const volatile __u8 proto = 0;			/* 0 = any */
const volatile __u8 ctl_family = 0;		/* 0 = no control channel */
const volatile __u8 ctl_addr[16] = {};
const volatile __u16 ctl_remote_port = 0;	/* host order */
const volatile __u16 ctl_local_port = 0;
/* A family without peers: its branch below is dead code the verifier
 * skips (an IPv4 partition's program loads about a quarter faster). */
const volatile bool has_peers4 = true;
const volatile bool has_peers6 = true;

struct nettc_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct nettc_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Sized and filled by the engine, by name, whatever the skeleton. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct nettc_lpm_v4);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} peers4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct nettc_lpm_v6);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} peers6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, NETTC_NCOUNTERS);
} counters SEC(".maps");

static __always_inline void nettc_count(__u32 slot)
{
	tug_count(&counters, slot);
}

static __always_inline void nettc_count_n(__u32 slot, __u64 n)
{
	tug_count_n(&counters, slot, n);
}

/* A share of the packets (threshold as in TUG_SHARE_ALL). */
static __always_inline bool nettc_sample(__u64 threshold)
{
	return threshold >= TUG_SHARE_ALL || bpf_get_prandom_u32() < threshold;
}

struct nettc_pkt {
	__u8 family;		/* 4 or 6 */
	__u8 l4;		/* IPPROTO_* (IPv6: the first next header) */
	bool ports_known;	/* TCP/UDP, first fragment, no extension header */
	bool ingress;
	__u16 remote_port;
	__u16 local_port;
	__u16 l3_off;		/* from the start of the frame */
	__u16 l4_off;		/* valid when ports_known */
	__u8 remote[16];
};

enum nettc_verdict {
	NETTC_OTHER,		/* not a peer's, or past the deadline: not counted */
	NETTC_CONTROL,		/* the SSH session that started tug: spared */
	NETTC_FILTERED,		/* a peer's, spared by --port/--proto */
	NETTC_CHOSEN,
};

static __always_inline bool nettc_is_control(const struct nettc_pkt *p)
{
	if (!ctl_family || p->family != ctl_family || p->l4 != IPPROTO_TCP || !p->ports_known)
		return false;
	if (p->remote_port != ctl_remote_port || p->local_port != ctl_local_port)
		return false;
	for (int i = 0; i < (p->family == 4 ? 4 : 16); i++)
		if (p->remote[i] != ctl_addr[i])
			return false;
	return true;
}

static __always_inline void nettc_load_ports(struct __sk_buff *skb, __u32 off,
					     struct nettc_pkt *p)
{
	__be16 ports[2];

	if (p->l4 != IPPROTO_TCP && p->l4 != IPPROTO_UDP)
		return;
	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)))
		return;
	p->ports_known = true;
	p->l4_off = off;
	p->remote_port = bpf_ntohs(p->ingress ? ports[0] : ports[1]);
	p->local_port = bpf_ntohs(p->ingress ? ports[1] : ports[0]);
}

/* Parse the frame into *p and say whether the fault takes it. */
static __always_inline enum nettc_verdict nettc_select(struct __sk_buff *skb, bool ingress,
						       struct nettc_pkt *p)
{
	__be16 h_proto;

	p->ingress = ingress;
	p->l3_off = ETH_HLEN;
	if (bpf_skb_load_bytes(skb, 12, &h_proto, sizeof(h_proto)))
		return NETTC_OTHER;

	if (h_proto == bpf_htons(ETH_P_IP) && has_peers4) {
		struct nettc_lpm_v4 key = { .prefixlen = 32 };
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)))
			return NETTC_OTHER;
		__builtin_memcpy(key.addr, ingress ? (void *)&ip.saddr : (void *)&ip.daddr, 4);
		if (!bpf_map_lookup_elem(&peers4, &key))
			return NETTC_OTHER;
		p->family = 4;
		p->l4 = ip.protocol;
		__builtin_memcpy(p->remote, key.addr, 4);
		/* Only a first fragment carries the ports. */
		if (!(ip.frag_off & bpf_htons(0x1fff)))
			nettc_load_ports(skb, ETH_HLEN + ip.ihl * 4, p);
	} else if (h_proto == bpf_htons(ETH_P_IPV6) && has_peers6) {
		struct nettc_lpm_v6 key = { .prefixlen = 128 };
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)))
			return NETTC_OTHER;
		__builtin_memcpy(key.addr, ingress ? (void *)&ip6.saddr : (void *)&ip6.daddr, 16);
		if (!bpf_map_lookup_elem(&peers6, &key))
			return NETTC_OTHER;
		p->family = 6;
		p->l4 = ip6.nexthdr;
		__builtin_memcpy(p->remote, key.addr, 16);
		/* Extension headers leave the ports unknown: a port filter spares them. */
		nettc_load_ports(skb, ETH_HLEN + sizeof(ip6), p);
	} else {
		return NETTC_OTHER;
	}

	/* Checked only for peers: other traffic pays nothing for it. */
	if (past_deadline())
		return NETTC_OTHER;
	if (nettc_is_control(p))
		return NETTC_CONTROL;
	if ((proto && p->l4 != proto) ||
	    (port && !(p->ports_known && (p->remote_port == port || p->local_port == port))))
		return NETTC_FILTERED;
	return NETTC_CHOSEN;
}

#endif
