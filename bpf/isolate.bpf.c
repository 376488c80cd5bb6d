// SPDX-License-Identifier: GPL-2.0
/*
 * Node isolate: every IP packet in and out of the node's interfaces is
 * dropped (the tc engine's peers are 0.0.0.0/0 and ::/0) except a kept
 * peer's. ARP is not IP and passes; so does IPv6 neighbour discovery, the
 * same plumbing for IPv6, or a kept IPv6 peer could not be reached either.
 */
#include "isolate.h"
#define NETTC_NCOUNTERS NODE_COUNTER_MAX
#include "nettc.h"

#define ICMPV6_ND_FIRST 133	/* router solicitation .. redirect */
#define ICMPV6_ND_LAST 137

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct node_keep_v4);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} keep4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct node_keep_v6);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} keep6 SEC(".maps");

static __always_inline void set_port(__u8 *dst, __u16 port)
{
	dst[0] = port >> 8;
	dst[1] = port & 0xff;
}

/* key's port is set to the packet's local port, its remote port, then 0. */
static __always_inline bool kept_lookup(void *map, void *key, __u8 *port, const struct nettc_pkt *p)
{
	if (p->ports_known) {
		set_port(port, p->local_port);
		if (bpf_map_lookup_elem(map, key))
			return true;
		set_port(port, p->remote_port);
		if (bpf_map_lookup_elem(map, key))
			return true;
	}
	set_port(port, 0);
	return bpf_map_lookup_elem(map, key);
}

static __always_inline bool kept(const struct nettc_pkt *p)
{
	if (p->family == 4) {
		struct node_keep_v4 k = { .prefixlen = 16 + 32 };

		__builtin_memcpy(k.addr, p->remote, 4);
		return kept_lookup(&keep4, &k, k.port, p);
	} else {
		struct node_keep_v6 k = { .prefixlen = 16 + 128 };

		__builtin_memcpy(k.addr, p->remote, 16);
		return kept_lookup(&keep6, &k, k.port, p);
	}
}

static __always_inline bool neighbour_discovery(struct __sk_buff *skb, const struct nettc_pkt *p)
{
	__u8 type;

	if (p->family != 6 || p->l4 != IPPROTO_ICMPV6)
		return false;
	if (bpf_skb_load_bytes(skb, p->l3_off + sizeof(struct ipv6hdr), &type, 1))
		return false;
	return type >= ICMPV6_ND_FIRST && type <= ICMPV6_ND_LAST;
}

static __always_inline int handle(struct __sk_buff *skb, bool ingress)
{
	struct nettc_pkt p = {};

	switch (nettc_select(skb, ingress, &p)) {
	case NETTC_OTHER:
		return TUG_TC_NEXT;
	case NETTC_CONTROL:
	case NETTC_FILTERED:
		break;
	case NETTC_CHOSEN:
		if (kept(&p) || neighbour_discovery(skb, &p))
			break;
		nettc_count(ingress ? NODE_DROPPED_IN : NODE_DROPPED_OUT);
		return TUG_TC_DROP;
	}
	nettc_count(ingress ? NODE_KEPT_IN : NODE_KEPT_OUT);
	return TUG_TC_NEXT;
}

SEC("tc")
int tug_node_ingress(struct __sk_buff *skb)
{
	return handle(skb, true);
}

SEC("tc")
int tug_node_egress(struct __sk_buff *skb)
{
	return handle(skb, false);
}

char LICENSE[] SEC("license") = "GPL";
