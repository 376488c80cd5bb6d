// SPDX-License-Identifier: GPL-2.0
/*
 * Corrupt, duplicate, bandwidth: what happens to the chosen packets
 * (bpf/nettc.h chooses them). One object for the three verbs; `action`, in
 * rodata, picks one, and the verifier prunes the other two.
 */
#include "netshape.h"
#define NETTC_NCOUNTERS NETSHAPE_COUNTER_MAX
#include "nettc.h"
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

/* Set by the controller between open and load. */
const volatile __u8 action = 0;
const volatile __u64 threshold = TUG_SHARE_ALL;	/* corrupt, duplicate: the share */
const volatile bool fix_checksum = false;	/* corrupt */
const volatile __u64 rate_bps = 0;		/* bandwidth: bytes a second */
const volatile __u64 burst_bnl = 0;		/* bandwidth: the bucket, byte-ns */
const volatile __u64 fill_ns = 0;		/* time to fill it from empty */

/*
 * The token bucket of one direction. A spin lock, not atomics: the refill
 * (tokens from the time since last_ns, capped at the burst) and the take
 * must be one step, or two CPUs refill from the same interval and the rate
 * overshoots; a lock-free form would need a compare-and-swap loop, which
 * the verifier bounds only awkwardly. The critical section is a few
 * instructions, under a lock per direction and per fault.
 */
struct bucket {
	struct bpf_spin_lock lock;
	__u64 tokens;		/* bytes * 1e9: the refill needs no division */
	__u64 last_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bucket);
	__uint(max_entries, 2);		/* 0 ingress, 1 egress */
} buckets SEC(".maps");

/* Within the rate: take the packet's bytes from the bucket. */
static __always_inline bool within_rate(struct __sk_buff *skb, bool ingress)
{
	__u32 key = ingress ? 0 : 1;
	__u64 now = bpf_ktime_get_ns(), need = (__u64)skb->len * 1000000000ULL, elapsed;
	struct bucket *b = bpf_map_lookup_elem(&buckets, &key);
	bool ok = false;

	if (!b)
		return true;
	bpf_spin_lock(&b->lock);
	if (!b->last_ns) {
		b->tokens = burst_bnl;
	} else {
		elapsed = now - b->last_ns;
		/* elapsed * rate would overflow long after the bucket is full. */
		if (elapsed >= fill_ns)
			b->tokens = burst_bnl;
		else if (b->tokens + elapsed * rate_bps >= burst_bnl)
			b->tokens = burst_bnl;
		else
			b->tokens += elapsed * rate_bps;
	}
	b->last_ns = now;
	if (b->tokens >= need) {
		b->tokens -= need;
		ok = true;
	}
	bpf_spin_unlock(&b->lock);
	return ok;
}

/*
 * A policer in the network drops without the sender knowing: TCP finds out
 * by SACK and retransmits. TCX_DROP on egress instead returns NET_XMIT_DROP
 * to the sending socket, which TCP takes for local congestion: it keeps the
 * segment, stops sending and retries on a timer, and reaches a fraction of
 * the rate (10mbit: 8.0 against 9.8 Mbit/s). tcx has no TC_ACT_STOLEN; a
 * redirect to ifindex 0, which no device has, is freed by the kernel after
 * it told the sender NET_XMIT_SUCCESS (skb_do_redirect), on tcx and clsact.
 */
static __always_inline int silent_drop(void)
{
	return bpf_redirect(0, 0);
}

/*
 * Flip one random bit of one 16-bit word of the TCP or UDP payload. Like a
 * damaged link the L4 checksum then no longer matches, so the receiving
 * stack drops the segment: the checksum field is moved by the same amount
 * as the data instead of against it, which breaks it whether it is already
 * final (CHECKSUM_NONE) or a seed the device completes (CHECKSUM_PARTIAL:
 * BPF_F_PSEUDO_HDR moves the seed). fix_checksum moves it against the data:
 * the corruption reaches the application.
 */
static __always_inline int corrupt(struct __sk_buff *skb, const struct nettc_pkt *p)
{
	__u32 hlen, check_off, payload_off, words, off;
	__u64 mangled_0 = 0;
	__be16 old, new;

	if (!p->ports_known)
		return -1;
	if (p->l4 == IPPROTO_TCP) {
		__u8 doff;

		/* doff is the high nibble of byte 12 of the TCP header. */
		if (bpf_skb_load_bytes(skb, p->l4_off + 12, &doff, 1))
			return -1;
		hlen = (doff >> 4) * 4;
		check_off = p->l4_off + offsetof(struct tcphdr, check);
	} else {
		__be16 csum;

		hlen = sizeof(struct udphdr);
		check_off = p->l4_off + offsetof(struct udphdr, check);
		/* An IPv4 UDP datagram without a checksum (0) is not checked;
		 * one whose checksum comes out 0 must say 0xffff, or it would
		 * read as none and pass. */
		if (bpf_skb_load_bytes(skb, check_off, &csum, 2))
			return -1;
		if (!csum)
			check_off = 0;
		mangled_0 = BPF_F_MARK_MANGLED_0;
	}
	payload_off = p->l4_off + hlen;
	if (hlen < 8 || skb->len < payload_off + 2)
		return -1;
	words = (skb->len - payload_off) / 2;
	/* The header lengths are even: the word lines up with the checksum's. */
	off = payload_off + 2 * (bpf_get_prandom_u32() % words);
	if (bpf_skb_load_bytes(skb, off, &old, 2))
		return -1;
	new = old ^ bpf_htons(1 << (bpf_get_prandom_u32() & 15));
	if (bpf_skb_store_bytes(skb, off, &new, 2, fix_checksum ? 0 : BPF_F_RECOMPUTE_CSUM))
		return -1;
	if (!check_off)
		return 0;
	if (fix_checksum)
		return bpf_l4_csum_replace(skb, check_off, old, new, mangled_0 | 2) ? -1 : 0;
	bpf_l4_csum_replace(skb, check_off, new, old, mangled_0 | BPF_F_PSEUDO_HDR | 2);
	/* A checksum the device already verified is checked again. */
	bpf_csum_level(skb, BPF_CSUM_LEVEL_RESET);
	return 0;
}

static __always_inline int handle(struct __sk_buff *skb, bool ingress)
{
	struct nettc_pkt p = {};

	/* Our own duplicate, back through the hook it was sent to. */
	if (action == NETSHAPE_DUPLICATE && skb->tc_index == NETSHAPE_CLONE_MARK) {
		skb->tc_index = 0;
		return TUG_TC_NEXT;
	}
	switch (nettc_select(skb, ingress, &p)) {
	case NETTC_OTHER:
		return TUG_TC_NEXT;
	case NETTC_CONTROL:
		nettc_count(NETSHAPE_SPARED_CONTROL);
		return TUG_TC_NEXT;
	case NETTC_FILTERED:
		break;
	case NETTC_CHOSEN:
		if (action == NETSHAPE_BANDWIDTH) {
			if (within_rate(skb, ingress))
				break;
			nettc_count(ingress ? NETSHAPE_HIT_IN : NETSHAPE_HIT_OUT);
			return ingress ? TUG_TC_DROP : silent_drop();
		}
		if (!nettc_sample(threshold))
			break;
		if (action == NETSHAPE_CORRUPT) {
			if (corrupt(skb, &p)) {
				nettc_count(NETSHAPE_FAILED);
				break;
			}
		} else if (action == NETSHAPE_DUPLICATE) {
			int err;

			skb->tc_index = NETSHAPE_CLONE_MARK;
			err = bpf_clone_redirect(skb, skb->ifindex, ingress ? BPF_F_INGRESS : 0);
			skb->tc_index = 0;
			if (err) {
				nettc_count(NETSHAPE_FAILED);
				break;
			}
		}
		nettc_count(ingress ? NETSHAPE_HIT_IN : NETSHAPE_HIT_OUT);
		return TUG_TC_NEXT;
	}
	nettc_count(ingress ? NETSHAPE_PASSED_IN : NETSHAPE_PASSED_OUT);
	return TUG_TC_NEXT;
}

SEC("tc")
int tug_netshape_ingress(struct __sk_buff *skb)
{
	return handle(skb, true);
}

SEC("tc")
int tug_netshape_egress(struct __sk_buff *skb)
{
	return handle(skb, false);
}

char LICENSE[] SEC("license") = "GPL";
