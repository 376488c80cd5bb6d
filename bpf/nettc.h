// SPDX-License-Identifier: GPL-2.0
/*
 * Network partition and loss: a tc classifier (tcx or clsact) that drops
 * packets to or from the peers in an LPM trie, optionally only for one port
 * or protocol, optionally only a percentage of them. Ingress matches the
 * source address, egress the destination: one lookup per packet whatever
 * the number of peers.
 */
/* Packet headers are ABI: the uapi structs need no CO-RE, so loading this
 * program costs no vmlinux BTF parse and a partition starts sooner. */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "deadline.h"
#include "net.h"

/* Set by the controller between open and load. */
const volatile __u64 loss_threshold = NET_LOSS_ALL;
const volatile __u16 port = 0;			/* host order; 0 = any */
const volatile __u8 proto = 0;			/* 0 = any */
const volatile __u8 ctl_family = 0;		/* 0 = no control channel */
const volatile __u8 ctl_addr[16] = {};
const volatile __u16 ctl_remote_port = 0;	/* host order */
const volatile __u16 ctl_local_port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct net_lpm_v4);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} peers4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct net_lpm_v6);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} peers6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, NET_COUNTER_MAX);
} counters SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &slot);

	if (v)
		*v += 1;
}

struct pkt {
	__u8 family;
	__u8 l4;
	bool ports_known;
	__u16 remote_port;
	__u16 local_port;
	__u8 remote[16];
};

static __always_inline bool is_control(const struct pkt *p)
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

static __always_inline int load_ports(struct __sk_buff *skb, __u32 off, struct pkt *p,
				      bool ingress)
{
	__be16 ports[2];

	if (p->l4 != IPPROTO_TCP && p->l4 != IPPROTO_UDP)
		return 0;
	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)))
		return 0;
	p->ports_known = true;
	p->remote_port = bpf_ntohs(ingress ? ports[0] : ports[1]);
	p->local_port = bpf_ntohs(ingress ? ports[1] : ports[0]);
	return 0;
}

static __always_inline int handle(struct __sk_buff *skb, bool ingress)
{
	struct pkt p = {};
	__be16 h_proto;

	if (bpf_skb_load_bytes(skb, 12, &h_proto, sizeof(h_proto)))
		return TUG_TC_NEXT;

	if (h_proto == bpf_htons(ETH_P_IP)) {
		struct net_lpm_v4 key = { .prefixlen = 32 };
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)))
			return TUG_TC_NEXT;
		__builtin_memcpy(key.addr, ingress ? (void *)&ip.saddr : (void *)&ip.daddr, 4);
		if (!bpf_map_lookup_elem(&peers4, &key))
			return TUG_TC_NEXT;
		p.family = 4;
		p.l4 = ip.protocol;
		__builtin_memcpy(p.remote, key.addr, 4);
		/* Only a first fragment carries the ports. */
		if (!(ip.frag_off & bpf_htons(0x1fff)))
			load_ports(skb, ETH_HLEN + ip.ihl * 4, &p, ingress);
	} else if (h_proto == bpf_htons(ETH_P_IPV6)) {
		struct net_lpm_v6 key = { .prefixlen = 128 };
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)))
			return TUG_TC_NEXT;
		__builtin_memcpy(key.addr, ingress ? (void *)&ip6.saddr : (void *)&ip6.daddr, 16);
		if (!bpf_map_lookup_elem(&peers6, &key))
			return TUG_TC_NEXT;
		p.family = 6;
		p.l4 = ip6.nexthdr;
		__builtin_memcpy(p.remote, key.addr, 16);
		/* Extension headers leave the ports unknown: a port filter spares them. */
		load_ports(skb, ETH_HLEN + sizeof(ip6), &p, ingress);
	} else {
		return TUG_TC_NEXT;
	}

	/* Checked only for peers: other traffic pays nothing for it. */
	if (past_deadline())
		return TUG_TC_NEXT;
	if (is_control(&p)) {
		count(NET_SPARED_CONTROL);
		return TUG_TC_NEXT;
	}
	if ((proto && p.l4 != proto) ||
	    (port && !(p.ports_known && (p.remote_port == port || p.local_port == port))) ||
	    (loss_threshold < NET_LOSS_ALL && bpf_get_prandom_u32() >= loss_threshold)) {
		count(ingress ? NET_PASSED_IN : NET_PASSED_OUT);
		return TUG_TC_NEXT;
	}
	count(ingress ? NET_DROPPED_IN : NET_DROPPED_OUT);
	return TUG_TC_DROP;
}

SEC("tc")
int tug_net_ingress(struct __sk_buff *skb)
{
	return handle(skb, true);
}

SEC("tc")
int tug_net_egress(struct __sk_buff *skb)
{
	return handle(skb, false);
}

char LICENSE[] SEC("license") = "GPL";
