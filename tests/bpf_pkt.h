/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Synthetic frames for the tc programs' tests (bpf_prog_test_run_opts): an
 * Ethernet header, IPv4 or IPv6 by the form of the addresses, then an L4
 * header.
 */
#ifndef TUG_TEST_BPF_PKT_H
#define TUG_TEST_BPF_PKT_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define DROP 2u
#define NEXT 0xffffffffu	/* -1: TC_ACT_UNSPEC / TCX_NEXT */

struct pkt {
	unsigned char data[128];
	size_t len;
};

/* Headers are built as their own objects and copied in: writing them
 * through casts into a char array is undefined, and gcc -O2 exploits it. */
static inline struct pkt make_l4(const char *src, const char *dst, int l4, const void *hdr,
				 size_t hlen)
{
	struct pkt p = { 0 };
	struct ethhdr eth = { 0 };

	if (strchr(src, ':')) {
		struct ipv6hdr ip6 = { .version = 6, .nexthdr = l4, .hop_limit = 64,
				       .payload_len = htons(hlen) };

		eth.h_proto = htons(ETH_P_IPV6);
		inet_pton(AF_INET6, src, &ip6.saddr);
		inet_pton(AF_INET6, dst, &ip6.daddr);
		memcpy(p.data + sizeof(eth), &ip6, sizeof(ip6));
		p.len = sizeof(eth) + sizeof(ip6);
	} else {
		struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = l4,
				    .tot_len = htons(sizeof(ip) + hlen) };

		eth.h_proto = htons(ETH_P_IP);
		inet_pton(AF_INET, src, &ip.saddr);
		inet_pton(AF_INET, dst, &ip.daddr);
		memcpy(p.data + sizeof(eth), &ip, sizeof(ip));
		p.len = sizeof(eth) + sizeof(ip);
	}
	memcpy(p.data, &eth, sizeof(eth));
	memcpy(p.data + p.len, hdr, hlen);
	p.len += hlen;
	return p;
}

/* TCP or UDP between the ports. */
static inline struct pkt make(const char *src, const char *dst, int l4, uint16_t sport,
			      uint16_t dport)
{
	struct tcphdr t = { .source = htons(sport), .dest = htons(dport), .doff = 5 };
	struct udphdr u = { .source = htons(sport), .dest = htons(dport), .len = htons(8) };

	if (l4 == IPPROTO_TCP)
		return make_l4(src, dst, l4, &t, sizeof(t));
	return make_l4(src, dst, l4, &u, sizeof(u));
}

/* The program's verdict on p, repeat times; 0xdead when it did not run. */
static inline uint32_t run(struct bpf_program *prog, const struct pkt *p, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data, .data_size_in = p->len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o))
		return 0xdead;
	return o.retval;
}

#endif
