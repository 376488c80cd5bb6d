// SPDX-License-Identifier: GPL-2.0
/*
 * Connection refusal: a TCP SYN between this host and a chosen peer is
 * turned, in place, into the RST|ACK the other end would send if nothing
 * listened, and sent back where it came from. Egress (we connect): the
 * answer goes into our own stack (bpf_redirect with BPF_F_INGRESS on the
 * same device), so connect() fails with ECONNREFUSED at once, nothing on
 * the wire. Ingress (the peer connects): it goes back out of the device.
 *
 * Only SYNs are touched (one that carries data, TCP Fast Open, is dropped).
 * Segments of connections that exist pass: the controller destroys the
 * established ones through inet_diag once this is attached (their RSTs pass
 * too), and the stack answers a reset flow's stragglers with its own RST.
 *
 * Checksums are updated incrementally with bpf_l3/l4_csum_replace, which
 * also serve a CHECKSUM_PARTIAL skb (the usual one on egress and from a veth
 * peer): there the TCP field holds only the pseudo-header sum, and only the
 * pseudo-header changes (the length) are applied to it.
 */
#define NETTC_NCOUNTERS NETRESET_COUNTER_MAX
#include "netreset.h"
#include "nettc.h"
#include <linux/tcp.h>

#define TCP_CSUM_OFF 16
#define TCP_FLAGS_OFF 12	/* the 16-bit word of doff, reserved bits and flags */
#define TCP_MAX_OPTS 40

/* The RST|ACK word: a 20-byte header (doff 5), RST and ACK set. */
#define RST_ACK_WORD bpf_htons((5 << 12) | 0x14)

static __always_inline int swap_bytes(struct __sk_buff *skb, __u32 off, __u32 half)
{
	__u8 a[16], b[16];

	if (half > 16 || bpf_skb_load_bytes(skb, off, a, half & 0x1f) ||
	    bpf_skb_load_bytes(skb, off + half, b, half & 0x1f))
		return -1;
	if (bpf_skb_store_bytes(skb, off, b, half & 0x1f, 0) ||
	    bpf_skb_store_bytes(skb, off + half, a, half & 0x1f, 0))
		return -1;
	return 0;
}

#define SYN_WITH_DATA 2

/* Rewrite the SYN at p into the RST|ACK that answers it: 0 when done, 1 when
 * the packet is not one to answer and untouched (not a first SYN),
 * SYN_WITH_DATA (untouched), -1 when a helper failed halfway and the packet
 * is spoilt. */
static __always_inline int syn_to_rst(struct __sk_buff *skb, const struct nettc_pkt *p)
{
	__u32 l3 = p->l3_off, l4 = p->l4_off, csum = l4 + TCP_CSUM_OFF;
	__u32 thlen, optlen, seg_len, seq, ack_old, ack_new, zero = 0;
	__u8 opts[64] = {};
	__be16 word_old, len_old, len_new;
	struct tcphdr th;
	__s64 diff = 0;

	if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)))
		return 1;
	if (!th.syn || th.ack || th.rst || th.fin)
		return 1;
	thlen = th.doff * 4;
	if (thlen < sizeof(th) || thlen > sizeof(th) + TCP_MAX_OPTS)
		return 1;
	optlen = thlen - sizeof(th);

	/* The segment's length from the IP header: a frame may carry padding. */
	if (p->family == 4) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, l3, &ip, sizeof(ip)))
			return 1;
		seg_len = bpf_ntohs(ip.tot_len) - ip.ihl * 4;
		len_old = ip.tot_len;
		len_new = bpf_htons(ip.ihl * 4 + sizeof(th));
	} else {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, l3, &ip6, sizeof(ip6)))
			return 1;
		seg_len = bpf_ntohs(ip6.payload_len);
		len_old = ip6.payload_len;
		len_new = bpf_htons(sizeof(th));
	}
	/* TCP Fast Open: taking the data out of the sum would need a pass over
	 * up to an MSS of it. */
	if (seg_len != thlen)
		return seg_len > thlen ? SYN_WITH_DATA : 1;

	/* Addresses and ports swap in place: neither sum changes. */
	if (swap_bytes(skb, 0, ETH_ALEN) ||
	    swap_bytes(skb, l3 + (p->family == 4 ? 12 : 8), p->family == 4 ? 4 : 16) ||
	    swap_bytes(skb, l4, 2))
		return -1;

	/* The IP length: the header checksum, the TCP pseudo-header. */
	if (p->family == 4) {
		if (bpf_l3_csum_replace(skb, l3 + 10, len_old, len_new, sizeof(__u16)) ||
		    bpf_skb_store_bytes(skb, l3 + 2, &len_new, sizeof(len_new), 0))
			return -1;
	} else if (bpf_skb_store_bytes(skb, l3 + 4, &len_new, sizeof(len_new), 0)) {
		return -1;
	}
	if (bpf_l4_csum_replace(skb, csum, bpf_htons(thlen), bpf_htons(sizeof(th)),
				BPF_F_PSEUDO_HDR | sizeof(__u16)))
		return -1;

	/* seq 0, ack the SYN's seq + 1, RST|ACK, window and urgent pointer 0
	 * (RFC 9293 3.10.7.1: the answer to a SYN that nobody listens for). */
	seq = th.seq;
	ack_old = th.ack_seq;
	ack_new = bpf_htonl(bpf_ntohl(seq) + 1);
	__builtin_memcpy(&word_old, (__u8 *)&th + TCP_FLAGS_OFF, sizeof(word_old));
	{
		__be16 word_new = RST_ACK_WORD;

		if (bpf_l4_csum_replace(skb, csum, seq, 0, sizeof(__u32)) ||
		    bpf_l4_csum_replace(skb, csum, ack_old, ack_new, sizeof(__u32)) ||
		    bpf_l4_csum_replace(skb, csum, word_old, word_new, sizeof(__u16)) ||
		    bpf_l4_csum_replace(skb, csum, th.window, 0, sizeof(__u16)) ||
		    bpf_l4_csum_replace(skb, csum, th.urg_ptr, 0, sizeof(__u16)) ||
		    bpf_skb_store_bytes(skb, l4 + 4, &zero, sizeof(zero), 0) ||
		    bpf_skb_store_bytes(skb, l4 + 8, &ack_new, sizeof(ack_new), 0) ||
		    bpf_skb_store_bytes(skb, l4 + TCP_FLAGS_OFF, &word_new, sizeof(word_new), 0) ||
		    bpf_skb_store_bytes(skb, l4 + 14, &zero, sizeof(__u16), 0) ||
		    bpf_skb_store_bytes(skb, l4 + 18, &zero, sizeof(__u16), 0))
			return -1;
	}

	/* The options go: their bytes leave the sum, the frame ends at the header. */
	if (optlen) {
		/* 4..40 as the verifier can see it: 4..64, never 0. */
		optlen = ((optlen - 4) & 0x3c) + 4;
		if (bpf_skb_load_bytes(skb, l4 + sizeof(th), opts, optlen))
			return -1;
		diff = bpf_csum_diff((__be32 *)opts, optlen, NULL, 0, 0);
		if (diff < 0 || bpf_l4_csum_replace(skb, csum, 0, diff, 0))
			return -1;
	}
	if (bpf_skb_change_tail(skb, l4 + sizeof(th), 0))
		return -1;
	return 0;
}

static __always_inline int handle(struct __sk_buff *skb, bool ingress)
{
	struct nettc_pkt p = {};
	int err = 0;

	switch (nettc_select(skb, ingress, &p)) {
	case NETTC_OTHER:
		return TUG_TC_NEXT;
	case NETTC_CONTROL:
		nettc_count(NETRESET_SPARED_CONTROL);
		return TUG_TC_NEXT;
	case NETTC_FILTERED:
		nettc_count(NETRESET_PASSED);
		return TUG_TC_NEXT;
	case NETTC_CHOSEN:
		break;
	}
	if (p.l4 == IPPROTO_TCP && p.ports_known)
		err = syn_to_rst(skb, &p);
	else
		err = 1;
	if (err == SYN_WITH_DATA) {
		/* Let through, it would open a connection the fault must
		 * refuse. Dropped, it is sent again without data: at once by
		 * our stack (tcp_send_syn_data() falls back when the transmit
		 * fails), after the first RTO by a peer's; that one is refused. */
		nettc_count(NETRESET_DROPPED_SYN_DATA);
		return TUG_TC_DROP;
	}
	if (err > 0) {
		nettc_count(NETRESET_PASSED);
		return TUG_TC_NEXT;
	}
	if (err)
		return TUG_TC_DROP;	/* half rewritten: a lost SYN, retransmitted */
	nettc_count(ingress ? NETRESET_REFUSED_IN : NETRESET_REFUSED_OUT);
	/* Back the way it came: into our stack, or out to the peer. */
	return bpf_redirect(skb->ifindex, ingress ? 0 : BPF_F_INGRESS);
}

SEC("tc")
int tug_netreset_ingress(struct __sk_buff *skb)
{
	return handle(skb, true);
}

SEC("tc")
int tug_netreset_egress(struct __sk_buff *skb)
{
	return handle(skb, false);
}

char LICENSE[] SEC("license") = "GPL";
