// SPDX-License-Identifier: GPL-2.0
/*
 * The net reset classifier on synthetic SYNs through bpf_prog_test_run_opts:
 * the RST|ACK it makes is checked field by field, with both checksums
 * verified from scratch (a test skb is CHECKSUM_NONE, so the incremental
 * updates must yield the full sums).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fault.h"
#include "harness.h"
#include "netreset.h"
#include "netreset.skel.h"

#define NEXT 0xffffffffu	/* -1: TC_ACT_UNSPEC / TCX_NEXT */
#define REDIRECT 7u		/* TC_ACT_REDIRECT / TCX_REDIRECT */

static const uint8_t our_mac[ETH_ALEN] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t peer_mac[ETH_ALEN] = { 2, 0, 0, 0, 0, 2 };

struct cfg {
	const char *peers[2];
	uint16_t port;
	uint64_t deadline_boot_ns;
};

static struct netreset_bpf *load(const struct cfg *c)
{
	struct netreset_bpf *s = netreset_bpf__open();
	__u8 one = 1;

	if (!s)
		return NULL;
	s->rodata->port = c->port;
	s->bss->deadline_boot_ns = c->deadline_boot_ns;
	bpf_map__set_max_entries(s->maps.peers4, 2);
	bpf_map__set_max_entries(s->maps.peers6, 2);
	if (netreset_bpf__load(s))
		goto fail;
	for (int i = 0; i < 2 && c->peers[i]; i++) {
		struct { __u32 prefixlen; __u8 addr[16]; } k = { 0 };
		bool v6 = strchr(c->peers[i], ':');

		k.prefixlen = v6 ? 128 : 32;
		inet_pton(v6 ? AF_INET6 : AF_INET, c->peers[i], k.addr);
		if (bpf_map_update_elem(bpf_map__fd(v6 ? s->maps.peers6 : s->maps.peers4), &k, &one, 0))
			goto fail;
	}
	return s;
fail:
	netreset_bpf__destroy(s);
	return NULL;
}

struct pkt {
	unsigned char data[160];
	size_t len;
};

static uint32_t sum16(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The TCP checksum over the pseudo-header and the segment: 0 when valid,
 * or the value to store when the field is 0. */
static uint16_t tcp_sum(const struct pkt *p, bool v6, size_t l4, size_t seg_len)
{
	uint32_t s = 0;

	if (v6) {
		s = sum16(p->data + ETH_HLEN + 8, 32, s);
	} else {
		s = sum16(p->data + ETH_HLEN + 12, 8, s);
	}
	s += IPPROTO_TCP + (uint32_t)seg_len;
	return fold(sum16(p->data + l4, seg_len, s));
}

/* A SYN with the options Linux sends (MSS, SACK, timestamps, window scale),
 * seq 1000, from src:sport to dst:dport, checksums filled in; data bytes of
 * payload when asked (TCP Fast Open). */
static struct pkt syn(const char *src, const char *dst, uint16_t sport, uint16_t dport,
		      bool egress, size_t data, uint8_t flags)
{
	static const uint8_t opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
					  1, 3, 3, 7 };
	struct pkt p = { 0 };
	struct ethhdr eth = { .h_proto = htons(ETH_P_IP) };
	struct tcphdr t = { .source = htons(sport), .dest = htons(dport), .seq = htonl(1000),
			    .doff = 10, .window = htons(64240) };
	bool v6 = strchr(src, ':');
	size_t l4 = ETH_HLEN + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr));
	size_t seg = sizeof(t) + sizeof(opts) + data;
	uint16_t c;

	memcpy(&((uint8_t *)&t)[13], &flags, 1);
	memcpy(eth.h_source, egress ? our_mac : peer_mac, ETH_ALEN);
	memcpy(eth.h_dest, egress ? peer_mac : our_mac, ETH_ALEN);
	if (v6) {
		struct ipv6hdr ip6 = { .version = 6, .nexthdr = IPPROTO_TCP, .hop_limit = 64,
				       .payload_len = htons(seg) };

		eth.h_proto = htons(ETH_P_IPV6);
		inet_pton(AF_INET6, src, &ip6.saddr);
		inet_pton(AF_INET6, dst, &ip6.daddr);
		memcpy(p.data + ETH_HLEN, &ip6, sizeof(ip6));
	} else {
		struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_TCP,
				    .tot_len = htons(sizeof(ip) + seg), .frag_off = htons(0x4000) };

		inet_pton(AF_INET, src, &ip.saddr);
		inet_pton(AF_INET, dst, &ip.daddr);
		ip.check = htons(fold(sum16(&ip, sizeof(ip), 0)));
		memcpy(p.data + ETH_HLEN, &ip, sizeof(ip));
	}
	memcpy(p.data, &eth, sizeof(eth));
	memcpy(p.data + l4, &t, sizeof(t));
	memcpy(p.data + l4 + sizeof(t), opts, sizeof(opts));
	memset(p.data + l4 + sizeof(t) + sizeof(opts), 'x', data);
	p.len = l4 + seg;
	c = htons(tcp_sum(&p, v6, l4, seg));
	memcpy(p.data + l4 + 16, &c, 2);
	return p;
}

#define SYN 0x02
#define ACK 0x10

static uint32_t run(struct bpf_program *prog, const struct pkt *in, struct pkt *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data), .repeat = 1);

	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o))
		return 0xdead;
	out->len = o.data_size_out;
	return o.retval;
}

static uint64_t counter(struct netreset_bpf *s, int slot)
{
	static const char *const names[NETRESET_COUNTER_MAX] = { "a", "b", "c", "d", "e", "f" };
	struct fault_counter c[NETRESET_COUNTER_MAX];

	fault_read_percpu_counters(bpf_map__fd(s->maps.counters), names, NETRESET_COUNTER_MAX, c);
	return c[slot].value;
}

/* The answer to in: addresses, ports and MACs swapped, seq 0, ack = seq + 1,
 * RST|ACK, no options, window 0, valid checksums. */
static void check_rst(const struct pkt *in, const struct pkt *out, bool v6)
{
	size_t l4 = ETH_HLEN + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr));
	size_t a = v6 ? 8 : 12, alen = v6 ? 16 : 4;
	struct tcphdr ti, to;

	CHECK_EQ(out->len, l4 + sizeof(struct tcphdr));
	CHECK(!memcmp(out->data, in->data + ETH_ALEN, ETH_ALEN));
	CHECK(!memcmp(out->data + ETH_ALEN, in->data, ETH_ALEN));
	CHECK(!memcmp(out->data + ETH_HLEN + a, in->data + ETH_HLEN + a + alen, alen));
	CHECK(!memcmp(out->data + ETH_HLEN + a + alen, in->data + ETH_HLEN + a, alen));
	memcpy(&ti, in->data + l4, sizeof(ti));
	memcpy(&to, out->data + l4, sizeof(to));
	CHECK_EQ(to.source, ti.dest);
	CHECK_EQ(to.dest, ti.source);
	CHECK_EQ(ntohl(to.seq), 0);
	CHECK_EQ(ntohl(to.ack_seq), ntohl(ti.seq) + 1);
	CHECK(to.rst && to.ack && !to.syn && !to.fin && !to.psh);
	CHECK_EQ(to.doff, 5);
	CHECK_EQ(to.window, 0);
	if (v6) {
		struct ipv6hdr ip6;

		memcpy(&ip6, out->data + ETH_HLEN, sizeof(ip6));
		CHECK_EQ(ntohs(ip6.payload_len), sizeof(struct tcphdr));
	} else {
		struct iphdr ip;

		memcpy(&ip, out->data + ETH_HLEN, sizeof(ip));
		CHECK_EQ(ntohs(ip.tot_len), sizeof(ip) + sizeof(struct tcphdr));
		CHECK_EQ(fold(sum16(&ip, sizeof(ip), 0)), 0);
	}
	CHECK_EQ(tcp_sum(out, v6, l4, sizeof(struct tcphdr)), 0);
}

#define LOAD(s, ...)                                                    \
	struct cfg _c = { __VA_ARGS__ };                                \
	struct netreset_bpf *s = load(&_c);                             \
	if (!s) {                                                       \
		printf("  cannot load netreset.bpf.o: %s\n", strerror(errno)); \
		t_cur_failed++;                                         \
		return;                                                 \
	}

static void v4_our_syn_refused_into_our_stack(void)
{
	LOAD(s, .peers = { "10.200.0.2" });
	struct pkt in = syn("10.200.0.1", "10.200.0.2", 40000, 5432, true, 0, SYN), out;

	CHECK_EQ(run(s->progs.tug_netreset_egress, &in, &out), REDIRECT);
	check_rst(&in, &out, false);
	CHECK_EQ(counter(s, NETRESET_REFUSED_OUT), 1);
	netreset_bpf__destroy(s);
}

static void v4_peer_syn_refused_back_out(void)
{
	LOAD(s, .peers = { "10.200.0.2" });
	struct pkt in = syn("10.200.0.2", "10.200.0.1", 40000, 22, false, 0, SYN), out;

	CHECK_EQ(run(s->progs.tug_netreset_ingress, &in, &out), REDIRECT);
	check_rst(&in, &out, false);
	CHECK_EQ(counter(s, NETRESET_REFUSED_IN), 1);
	netreset_bpf__destroy(s);
}

static void v6_syn_refused(void)
{
	LOAD(s, .peers = { "fd00:200::2" });
	struct pkt in = syn("fd00:200::1", "fd00:200::2", 40000, 443, true, 0, SYN), out;
	struct pkt back = syn("fd00:200::2", "fd00:200::1", 40000, 443, false, 0, SYN);

	CHECK_EQ(run(s->progs.tug_netreset_egress, &in, &out), REDIRECT);
	check_rst(&in, &out, true);
	CHECK_EQ(run(s->progs.tug_netreset_ingress, &back, &out), REDIRECT);
	check_rst(&back, &out, true);
	netreset_bpf__destroy(s);
}

/* Only a first SYN is answered: a SYN|ACK, an ACK pass unchanged, and so
 * does everything of other peers or ports. */
static void only_first_syns_of_chosen_peers(void)
{
	LOAD(s, .peers = { "10.200.0.2" }, .port = 5432);
	struct pkt cases[] = {
		syn("10.200.0.1", "10.200.0.2", 40000, 5432, true, 0, SYN | ACK),
		syn("10.200.0.1", "10.200.0.2", 40000, 5432, true, 0, ACK),
		syn("10.200.0.1", "10.200.0.2", 40000, 80, true, 0, SYN),
		syn("10.200.0.1", "10.200.0.2", 40000, 80, true, 0, ACK),
	};
	struct pkt other = syn("10.200.0.1", "10.200.0.3", 40000, 5432, true, 0, SYN), out;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_EQ(run(s->progs.tug_netreset_egress, &cases[i], &out), NEXT);
		CHECK(out.len == cases[i].len && !memcmp(out.data, cases[i].data, out.len));
	}
	CHECK_EQ(run(s->progs.tug_netreset_egress, &other, &out), NEXT);
	CHECK_EQ(counter(s, NETRESET_PASSED), 4);
	CHECK_EQ(counter(s, NETRESET_REFUSED_OUT), 0);
	netreset_bpf__destroy(s);
}

/* A SYN with data (TCP Fast Open) is dropped, never let through: the
 * sender's retransmission without data is refused. */
static void syn_with_data_dropped(void)
{
	LOAD(s, .peers = { "10.200.0.2" });
	struct pkt in = syn("10.200.0.1", "10.200.0.2", 40000, 5432, true, 16, SYN), out;

	CHECK_EQ(run(s->progs.tug_netreset_egress, &in, &out), 2u /* TC_ACT_SHOT */);
	CHECK_EQ(counter(s, NETRESET_DROPPED_SYN_DATA), 1);
	CHECK_EQ(counter(s, NETRESET_PASSED), 0);
	netreset_bpf__destroy(s);
}

static void deadline_ends_the_refusal(void)
{
	LOAD(s, .peers = { "10.200.0.2" }, .deadline_boot_ns = now_boot_ns());
	struct pkt in = syn("10.200.0.1", "10.200.0.2", 40000, 5432, true, 0, SYN), out;

	CHECK_EQ(run(s->progs.tug_netreset_egress, &in, &out), NEXT);
	CHECK(!memcmp(out.data, in.data, in.len));
	netreset_bpf__destroy(s);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skip bpf_netreset: loading BPF programs needs root\n");
		return 0;
	}
	RUN(v4_our_syn_refused_into_our_stack);
	RUN(v4_peer_syn_refused_back_out);
	RUN(v6_syn_refused);
	RUN(only_first_syns_of_chosen_peers);
	RUN(syn_with_data_dropped);
	RUN(deadline_ends_the_refusal);
	return t_exit();
}
