// SPDX-License-Identifier: GPL-2.0
/*
 * The corrupt and bandwidth actions of netshape.bpf.c on synthetic packets
 * through bpf_prog_test_run_opts: the packet the program hands on is read
 * back, so the flipped bit and the checksum are checked exactly.
 * (duplicate's clone would be sent for real: the integration test has it.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfmap.h"
#include "fault.h"
#include "harness.h"
#include "netshape.h"
#include "netshape.skel.h"
#include "parse.h"

#define DROP 2u
#define NEXT 0xffffffffu
#define PAYLOAD 200

struct pkt {
	unsigned char data[ETH_HLEN + sizeof(struct iphdr) + sizeof(struct udphdr) + PAYLOAD];
	size_t len;
};

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* The ones' complement sum of the UDP datagram and its pseudo header:
 * 0xffff when the checksum is right. */
static uint16_t udp_sum(const struct pkt *p)
{
	const unsigned char *ip = p->data + ETH_HLEN, *u = ip + sizeof(struct iphdr);
	size_t ulen = sizeof(struct udphdr) + PAYLOAD;
	uint32_t s = 0;

	for (int i = 12; i < 20; i += 2)	/* saddr, daddr */
		s += ip[i] << 8 | ip[i + 1];
	s += IPPROTO_UDP + ulen;
	for (size_t i = 0; i < ulen; i += 2)
		s += u[i] << 8 | u[i + 1];
	return fold(s);
}

static struct pkt make(const char *src, const char *dst)
{
	struct pkt p = { .len = sizeof(p.data) };
	struct ethhdr eth = { .h_proto = htons(ETH_P_IP) };
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP,
			    .tot_len = htons(sizeof(p.data) - ETH_HLEN) };
	struct udphdr u = { .source = htons(40000), .dest = htons(9000),
			    .len = htons(sizeof(u) + PAYLOAD) };
	unsigned char *ipp = p.data + ETH_HLEN, *up = ipp + sizeof(ip);
	uint16_t c;

	inet_pton(AF_INET, src, &ip.saddr);
	inet_pton(AF_INET, dst, &ip.daddr);
	memcpy(p.data, &eth, sizeof(eth));
	memcpy(ipp, &ip, sizeof(ip));
	memcpy(up, &u, sizeof(u));
	for (int i = 0; i < PAYLOAD; i++)
		up[sizeof(u) + i] = i * 7;
	c = htons(~udp_sum(&p) & 0xffff);
	memcpy(up + offsetof(struct udphdr, check), &c, 2);
	return p;
}

static struct netshape_bpf *load(enum netshape_action a, bool fix, uint64_t rate, uint64_t burst)
{
	struct netshape_bpf *s = netshape_bpf__open();
	struct cidr c;

	if (!s)
		return NULL;
	s->rodata->action = a;
	s->rodata->fix_checksum = fix;
	s->rodata->rate_bps = rate;
	s->rodata->burst_bnl = burst * 1000000000ULL;
	s->rodata->fill_ns = rate ? burst * 1000000000ULL / rate : 0;
	bpf_map__set_max_entries(s->maps.peers4, 1);
	if (netshape_bpf__load(s) || parse_cidr("10.200.0.2", &c) ||
	    lpm_add_cidr(bpf_map__fd(s->maps.peers4), bpf_map__fd(s->maps.peers6), NULL, 0, &c)) {
		netshape_bpf__destroy(s);
		return NULL;
	}
	return s;
}

/* Run once; *out gets the packet as the program left it. */
static uint32_t run(struct bpf_program *prog, const struct pkt *in, struct pkt *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data), .repeat = 1);

	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o))
		return 0xdead;
	out->len = o.data_size_out;
	return o.retval;
}

static int bits_differ(const struct pkt *a, const struct pkt *b)
{
	int n = 0;

	for (size_t i = 0; i < a->len; i++)
		n += __builtin_popcount(a->data[i] ^ b->data[i]);
	return n;
}

#define LOAD(s, ...)                                                           \
	struct netshape_bpf *s = load(__VA_ARGS__);                            \
	if (!s) {                                                              \
		printf("  cannot load netshape.bpf.o: %s\n", strerror(errno)); \
		t_cur_failed++;                                                \
		return;                                                        \
	}

static void corrupt_breaks_checksum(void)
{
	LOAD(s, NETSHAPE_CORRUPT, false, 0, 0);
	struct pkt in = make("10.200.0.1", "10.200.0.2"), out;

	CHECK_EQ(udp_sum(&in), 0xffff);
	for (int i = 0; i < 20; i++) {
		CHECK_EQ(run(s->progs.tug_netshape_egress, &in, &out), NEXT);
		/* One bit of the payload, and the checksum moved with the data. */
		CHECK(memcmp(in.data, out.data, ETH_HLEN + sizeof(struct iphdr) + 6) == 0);
		CHECK(memcmp(in.data + out.len - PAYLOAD, out.data + out.len - PAYLOAD, PAYLOAD) != 0);
		CHECK(udp_sum(&out) != 0xffff);
	}
	netshape_bpf__destroy(s);
}

static void corrupt_fix_checksum(void)
{
	LOAD(s, NETSHAPE_CORRUPT, true, 0, 0);
	struct pkt in = make("10.200.0.1", "10.200.0.2"), out;
	struct pkt other = make("10.200.0.1", "10.200.0.3");

	for (int i = 0; i < 20; i++) {
		CHECK_EQ(run(s->progs.tug_netshape_egress, &in, &out), NEXT);
		CHECK(memcmp(in.data + out.len - PAYLOAD, out.data + out.len - PAYLOAD, PAYLOAD) != 0);
		CHECK_EQ(udp_sum(&out), 0xffff);
		/* the bit, and the checksum's compensation */
		CHECK(bits_differ(&in, &out) >= 2);
	}
	CHECK_EQ(run(s->progs.tug_netshape_egress, &other, &out), NEXT);
	CHECK_EQ(bits_differ(&other, &out), 0);
	netshape_bpf__destroy(s);
}

static void bandwidth_bucket(void)
{
	/* 1000 bytes a second, a bucket of 2.5 packets: two pass, then drops;
	 * test runs microseconds apart refill nothing that counts. */
	LOAD(s, NETSHAPE_BANDWIDTH, false, 1000, 2 * sizeof(struct pkt) + 100);
	struct pkt in = make("10.200.0.1", "10.200.0.2"), out;
	struct pkt other = make("10.200.0.1", "10.200.0.3");

	CHECK_EQ(run(s->progs.tug_netshape_egress, &in, &out), NEXT);
	CHECK_EQ(run(s->progs.tug_netshape_egress, &in, &out), NEXT);
	/* over the rate: a redirect to no device (a drop the sender is not told of) */
	CHECK_EQ(run(s->progs.tug_netshape_egress, &in, &out), 7u);
	CHECK_EQ(run(s->progs.tug_netshape_egress, &other, &out), NEXT);
	/* ingress has its own bucket, and drops plainly */
	{
		struct pkt back = make("10.200.0.2", "10.200.0.1");

		CHECK_EQ(run(s->progs.tug_netshape_ingress, &back, &out), NEXT);
		CHECK_EQ(run(s->progs.tug_netshape_ingress, &back, &out), NEXT);
		CHECK_EQ(run(s->progs.tug_netshape_ingress, &back, &out), DROP);
	}
	netshape_bpf__destroy(s);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skip bpf_netshape: loading BPF programs needs root\n");
		return 0;
	}
	RUN(corrupt_breaks_checksum);
	RUN(corrupt_fix_checksum);
	RUN(bandwidth_bucket);
	return t_exit();
}
