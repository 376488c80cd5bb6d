// SPDX-License-Identifier: GPL-2.0
/*
 * The net classifier on synthetic packets through bpf_prog_test_run_opts:
 * no network, exact verdicts. Each case loads its own skeleton because the
 * configuration is read-only data fixed at load time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_pkt.h"
#include "bpfmap.h"
#include "fault.h"
#include "harness.h"
#include "net.h"
#include "net.skel.h"
#include "parse.h"

struct cfg {
	const char *peers[4];
	uint16_t port;
	uint8_t proto;
	uint64_t loss_threshold;
	const char *ctl_addr;
	uint16_t ctl_rport, ctl_lport;
	uint64_t deadline_boot_ns;
};

static struct net_bpf *load(const struct cfg *c)
{
	struct net_bpf *s = net_bpf__open();

	if (!s)
		return NULL;
	s->rodata->port = c->port;
	s->rodata->proto = c->proto;
	s->rodata->loss_threshold = c->loss_threshold ? c->loss_threshold : NET_LOSS_ALL;
	s->bss->deadline_boot_ns = c->deadline_boot_ns;
	if (c->ctl_addr) {
		s->rodata->ctl_family = strchr(c->ctl_addr, ':') ? 6 : 4;
		inet_pton(strchr(c->ctl_addr, ':') ? AF_INET6 : AF_INET, c->ctl_addr,
			  (void *)s->rodata->ctl_addr);
		s->rodata->ctl_remote_port = c->ctl_rport;
		s->rodata->ctl_local_port = c->ctl_lport;
	}
	bpf_map__set_max_entries(s->maps.peers4, 4);
	bpf_map__set_max_entries(s->maps.peers6, 4);
	if (net_bpf__load(s)) {
		net_bpf__destroy(s);
		return NULL;
	}
	for (int i = 0; i < 4 && c->peers[i]; i++) {
		struct cidr cidr;

		if (parse_cidr(c->peers[i], &cidr) ||
		    lpm_add_cidr(bpf_map__fd(s->maps.peers4), bpf_map__fd(s->maps.peers6), NULL, 0,
				 &cidr)) {
			net_bpf__destroy(s);
			return NULL;
		}
	}
	return s;
}

static uint64_t counter(struct net_bpf *s, int slot)
{
	static const char *const names[NET_COUNTER_MAX] = { "a", "b", "c", "d", "e" };
	struct fault_counter c[NET_COUNTER_MAX];

	fault_read_percpu_counters(bpf_map__fd(s->maps.counters), names, NET_COUNTER_MAX, c);
	return c[slot].value;
}

#define LOAD(s, ...)                                              \
	struct cfg _c = { __VA_ARGS__ };                          \
	struct net_bpf *s = load(&_c);                            \
	if (!s) {                                                 \
		printf("  cannot load net.bpf.o: %s\n", strerror(errno)); \
		t_cur_failed++;                                   \
		return;                                           \
	}

static void v4_match_ingress_and_egress(void)
{
	LOAD(s, .peers = { "10.200.0.2" });
	struct pkt from_peer = make("10.200.0.2", "10.200.0.1", IPPROTO_TCP, 5432, 40000);
	struct pkt to_peer = make("10.200.0.1", "10.200.0.2", IPPROTO_TCP, 40000, 5432);
	struct pkt other = make("10.200.0.3", "10.200.0.1", IPPROTO_TCP, 5432, 40000);

	CHECK_EQ(run(s->progs.tug_net_ingress, &from_peer, 1), DROP);
	CHECK_EQ(run(s->progs.tug_net_egress, &to_peer, 1), DROP);
	CHECK_EQ(run(s->progs.tug_net_ingress, &other, 1), NEXT);
	/* Direction: ingress looks at the source, egress at the destination. */
	CHECK_EQ(run(s->progs.tug_net_ingress, &to_peer, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_net_egress, &from_peer, 1), NEXT);
	CHECK_EQ(counter(s, NET_DROPPED_IN), 1);
	CHECK_EQ(counter(s, NET_DROPPED_OUT), 1);
	net_bpf__destroy(s);
}

static void v4_cidr_and_udp(void)
{
	LOAD(s, .peers = { "10.200.4.0/22" });
	struct pkt in = make("10.200.7.255", "10.200.0.1", IPPROTO_UDP, 53, 5353);
	struct pkt out = make("10.200.8.0", "10.200.0.1", IPPROTO_UDP, 53, 5353);

	CHECK_EQ(run(s->progs.tug_net_ingress, &in, 1), DROP);
	CHECK_EQ(run(s->progs.tug_net_ingress, &out, 1), NEXT);
	net_bpf__destroy(s);
}

static void v6_match(void)
{
	LOAD(s, .peers = { "fd00:200::/64", "10.200.0.2" });
	struct pkt tcp = make("fd00:200::2", "fd00:100::1", IPPROTO_TCP, 443, 50000);
	struct pkt udp = make("fd00:100::1", "fd00:200::77", IPPROTO_UDP, 50000, 53);
	struct pkt miss = make("fd00:201::2", "fd00:100::1", IPPROTO_TCP, 443, 50000);

	CHECK_EQ(run(s->progs.tug_net_ingress, &tcp, 1), DROP);
	CHECK_EQ(run(s->progs.tug_net_egress, &udp, 1), DROP);
	CHECK_EQ(run(s->progs.tug_net_ingress, &miss, 1), NEXT);
	net_bpf__destroy(s);
}

static void port_filter(void)
{
	LOAD(s, .peers = { "10.200.0.2", "fd00::2" }, .port = 5432);
	struct pkt db_reply = make("10.200.0.2", "10.200.0.1", IPPROTO_TCP, 5432, 40000);
	struct pkt db_query = make("10.200.0.1", "10.200.0.2", IPPROTO_TCP, 40000, 5432);
	struct pkt web = make("10.200.0.2", "10.200.0.1", IPPROTO_TCP, 80, 40000);
	struct pkt v6 = make("fd00::2", "fd00::1", IPPROTO_UDP, 7, 5432);

	CHECK_EQ(run(s->progs.tug_net_ingress, &db_reply, 1), DROP);
	CHECK_EQ(run(s->progs.tug_net_egress, &db_query, 1), DROP);
	CHECK_EQ(run(s->progs.tug_net_ingress, &web, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_net_ingress, &v6, 1), DROP);
	CHECK_EQ(counter(s, NET_PASSED_IN), 1);
	net_bpf__destroy(s);
}

static void proto_filter(void)
{
	LOAD(s, .peers = { "10.200.0.2" }, .proto = IPPROTO_UDP);
	struct pkt tcp = make("10.200.0.2", "10.200.0.1", IPPROTO_TCP, 1, 2);
	struct pkt udp = make("10.200.0.2", "10.200.0.1", IPPROTO_UDP, 1, 2);

	CHECK_EQ(run(s->progs.tug_net_ingress, &tcp, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_net_ingress, &udp, 1), DROP);
	net_bpf__destroy(s);
}

static void non_ip_passes(void)
{
	LOAD(s, .peers = { "0.0.0.0/0" });
	struct pkt arp = make("10.200.0.2", "10.200.0.1", IPPROTO_UDP, 1, 2);

	uint16_t arp_proto = htons(ETH_P_ARP);

	memcpy(arp.data + 12, &arp_proto, 2);
	CHECK_EQ(run(s->progs.tug_net_ingress, &arp, 1), NEXT);
	net_bpf__destroy(s);
}

static void control_channel_spared(void)
{
	/* SSH_CONNECTION="10.200.0.9 51000 10.200.0.1 22" */
	LOAD(s, .peers = { "10.200.0.0/24" }, .ctl_addr = "10.200.0.9", .ctl_rport = 51000,
	     .ctl_lport = 22);
	struct pkt ssh_in = make("10.200.0.9", "10.200.0.1", IPPROTO_TCP, 51000, 22);
	struct pkt ssh_out = make("10.200.0.1", "10.200.0.9", IPPROTO_TCP, 22, 51000);
	struct pkt other_conn = make("10.200.0.9", "10.200.0.1", IPPROTO_TCP, 51001, 22);
	struct pkt udp_same_ports = make("10.200.0.9", "10.200.0.1", IPPROTO_UDP, 51000, 22);

	CHECK_EQ(run(s->progs.tug_net_ingress, &ssh_in, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_net_egress, &ssh_out, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_net_ingress, &other_conn, 1), DROP);
	CHECK_EQ(run(s->progs.tug_net_ingress, &udp_same_ports, 1), DROP);
	CHECK_EQ(counter(s, NET_SPARED_CONTROL), 2);
	net_bpf__destroy(s);
}

static void loss_rate(void)
{
	const int n = 100000;
	const double want = 0.30;
	LOAD(s, .peers = { "10.200.0.2" },
	     .loss_threshold = (uint64_t)llround(want * (double)NET_LOSS_ALL));
	struct pkt p = make("10.200.0.2", "10.200.0.1", IPPROTO_UDP, 1, 2);
	uint64_t dropped, passed;
	double sigma = sqrt(n * want * (1 - want)), got;

	run(s->progs.tug_net_ingress, &p, n);
	dropped = counter(s, NET_DROPPED_IN);
	passed = counter(s, NET_PASSED_IN);
	got = (double)dropped / n;
	printf("  loss 30%%: %lu of %d dropped (%.3f%%), bound +-5 sigma = %.0f\n",
	       (unsigned long)dropped, n, got * 100, 5 * sigma);
	CHECK_EQ(dropped + passed, n);
	CHECK(fabs((double)dropped - want * n) < 5 * sigma);
	net_bpf__destroy(s);
}

/* Past its own deadline the classifier lets the peer through, with no
 * process of tug's running; before it, it drops. */
static void deadline_ends_the_drop(void)
{
	struct pkt to_peer = make("10.200.0.1", "10.200.0.2", IPPROTO_TCP, 40000, 5432);
	struct cfg live = { .peers = { "10.200.0.2" }, .deadline_boot_ns = now_boot_ns() + 60 * NSEC_PER_SEC };
	struct cfg over = { .peers = { "10.200.0.2" }, .deadline_boot_ns = now_boot_ns() };
	struct net_bpf *a = load(&live), *b = load(&over);

	CHECK(a && b);
	if (a && b) {
		CHECK_EQ(run(a->progs.tug_net_egress, &to_peer, 1), DROP);
		CHECK_EQ(run(b->progs.tug_net_egress, &to_peer, 1), NEXT);
		CHECK_EQ(run(b->progs.tug_net_ingress, &to_peer, 1), NEXT);
		CHECK_EQ(counter(b, NET_DROPPED_OUT), 0);
	}
	net_bpf__destroy(a);
	net_bpf__destroy(b);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skip bpf_net: loading BPF programs needs root\n");
		return 0;
	}
	RUN(v4_match_ingress_and_egress);
	RUN(v4_cidr_and_udp);
	RUN(v6_match);
	RUN(port_filter);
	RUN(proto_filter);
	RUN(non_ip_passes);
	RUN(control_channel_spared);
	RUN(loss_rate);
	RUN(deadline_ends_the_drop);
	return t_exit();
}
