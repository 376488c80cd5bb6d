// SPDX-License-Identifier: GPL-2.0
/*
 * The node isolate classifier on synthetic packets: every address is a
 * peer, the kept ones (by address, and port when given) pass, ARP and IPv6
 * neighbour discovery pass, the rest drops until the program's deadline.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/icmpv6.h>

#include "bpf_pkt.h"
#include "bpfmap.h"
#include "fault.h"
#include "harness.h"
#include "isolate.h"
#include "isolate.skel.h"
#include "parse.h"

/* keeps: "CIDR[:PORT]" as --keep takes them. */
static struct isolate_bpf *load(const char *const *keeps, uint64_t deadline_boot_ns)
{
	struct isolate_bpf *s = isolate_bpf__open();
	struct cidr all4, all6;

	if (!s)
		return NULL;
	s->bss->deadline_boot_ns = deadline_boot_ns;
	bpf_map__set_max_entries(s->maps.keep4, 4);
	bpf_map__set_max_entries(s->maps.keep6, 4);
	if (isolate_bpf__load(s) || parse_cidr("0.0.0.0/0", &all4) || parse_cidr("::/0", &all6) ||
	    lpm_add_cidr(bpf_map__fd(s->maps.peers4), bpf_map__fd(s->maps.peers6), NULL, 0, &all4) ||
	    lpm_add_cidr(bpf_map__fd(s->maps.peers4), bpf_map__fd(s->maps.peers6), NULL, 0, &all6))
		goto fail;
	for (int i = 0; keeps && keeps[i]; i++) {
		struct cidr c;
		uint16_t port;
		uint8_t pfx[2];

		if (parse_cidr_port(keeps[i], &c, &port))
			goto fail;
		pfx[0] = port >> 8;
		pfx[1] = port & 0xff;
		if (lpm_add_cidr(bpf_map__fd(s->maps.keep4), bpf_map__fd(s->maps.keep6), pfx, 2, &c))
			goto fail;
	}
	return s;
fail:
	isolate_bpf__destroy(s);
	return NULL;
}

static uint64_t counter(struct isolate_bpf *s, int slot)
{
	static const char *const names[NODE_COUNTER_MAX] = { "a", "b", "c", "d" };
	struct fault_counter c[NODE_COUNTER_MAX];

	fault_read_percpu_counters(bpf_map__fd(s->maps.counters), names, NODE_COUNTER_MAX, c);
	return c[slot].value;
}

#define LOAD(s, deadline, ...)                                               \
	const char *_k[] = { __VA_ARGS__, NULL };                            \
	struct isolate_bpf *s = load(_k, deadline);                          \
	if (!s) {                                                            \
		printf("  cannot load isolate.bpf.o: %s\n", strerror(errno)); \
		t_cur_failed++;                                              \
		return;                                                      \
	}

/* The SSH peer on the local sshd port, both directions, a new session too;
 * the same peer on another port, its ping, and any other peer drop. */
static void keeps_the_control_peer_on_its_port(void)
{
	LOAD(s, 0, "10.200.71.1:22");
	struct pkt ssh_in = make("10.200.71.1", "10.200.71.2", IPPROTO_TCP, 40022, 22);
	struct pkt ssh_out = make("10.200.71.2", "10.200.71.1", IPPROTO_TCP, 22, 40022);
	struct pkt new_session = make("10.200.71.1", "10.200.71.2", IPPROTO_TCP, 40099, 22);
	struct pkt web = make("10.200.71.1", "10.200.71.2", IPPROTO_TCP, 40022, 80);
	struct pkt other_ssh = make("10.200.71.65", "10.200.71.2", IPPROTO_TCP, 40022, 22);
	struct pkt to_other = make("10.200.71.2", "10.200.71.65", IPPROTO_UDP, 5353, 53);
	const uint8_t echo[8] = { 8 };
	struct pkt ping = make_l4("10.200.71.1", "10.200.71.2", IPPROTO_ICMP, echo, sizeof(echo));

	CHECK_EQ(run(s->progs.tug_node_ingress, &ssh_in, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_node_egress, &ssh_out, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_node_ingress, &new_session, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_node_ingress, &web, 1), DROP);
	CHECK_EQ(run(s->progs.tug_node_ingress, &other_ssh, 1), DROP);
	CHECK_EQ(run(s->progs.tug_node_egress, &to_other, 1), DROP);
	CHECK_EQ(run(s->progs.tug_node_ingress, &ping, 1), DROP);
	CHECK_EQ(counter(s, NODE_KEPT_IN), 2);
	CHECK_EQ(counter(s, NODE_KEPT_OUT), 1);
	CHECK_EQ(counter(s, NODE_DROPPED_IN), 3);
	CHECK_EQ(counter(s, NODE_DROPPED_OUT), 1);
	isolate_bpf__destroy(s);
}

/* A kept CIDR without a port: everything of it, ICMP included; IPv6 too. */
static void keeps_a_cidr_on_any_port(void)
{
	LOAD(s, 0, "10.200.71.0/26", "fd00:200::71:0/120");
	const uint8_t echo[8] = { 8 };
	struct pkt ping = make_l4("10.200.71.9", "10.200.71.2", IPPROTO_ICMP, echo, sizeof(echo));
	struct pkt tcp = make("10.200.71.2", "10.200.71.63", IPPROTO_TCP, 1234, 5432);
	struct pkt outside = make("10.200.71.64", "10.200.71.2", IPPROTO_TCP, 5432, 1234);
	struct pkt v6 = make("fd00:200::71:9", "fd00:200::71:2", IPPROTO_UDP, 53, 5353);
	struct pkt v6_out = make("fd00:200::72:9", "fd00:200::71:2", IPPROTO_UDP, 53, 5353);

	CHECK_EQ(run(s->progs.tug_node_ingress, &ping, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_node_egress, &tcp, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_node_ingress, &outside, 1), DROP);
	CHECK_EQ(run(s->progs.tug_node_ingress, &v6, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_node_ingress, &v6_out, 1), DROP);
	isolate_bpf__destroy(s);
}

/* The plumbing a kept peer needs: ARP is not IP; neighbour solicitations
 * and advertisements pass, an IPv6 echo does not. */
static void neighbour_discovery_passes(void)
{
	LOAD(s, 0, "10.200.71.1:22");
	struct pkt arp = make("10.200.71.1", "10.200.71.2", IPPROTO_UDP, 1, 2);
	uint16_t arp_proto = htons(ETH_P_ARP);
	const uint8_t ns[24] = { 135 }, na[24] = { 136 }	/* solicitation, advertisement */;
	const uint8_t echo6[8] = { ICMPV6_ECHO_REQUEST };
	struct pkt sol = make_l4("fd00:200::71:1", "ff02::1:ff71:2", IPPROTO_ICMPV6, ns, sizeof(ns));
	struct pkt adv = make_l4("fd00:200::71:2", "fd00:200::71:1", IPPROTO_ICMPV6, na, sizeof(na));
	struct pkt ping6 = make_l4("fd00:200::71:1", "fd00:200::71:2", IPPROTO_ICMPV6, echo6,
				   sizeof(echo6));

	memcpy(arp.data + 12, &arp_proto, 2);
	CHECK_EQ(run(s->progs.tug_node_ingress, &arp, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_node_ingress, &sol, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_node_egress, &adv, 1), NEXT);
	CHECK_EQ(run(s->progs.tug_node_ingress, &ping6, 1), DROP);
	isolate_bpf__destroy(s);
}

/* Past its own deadline the classifier lets everything through. */
static void deadline_ends_the_isolation(void)
{
	struct pkt p = make("10.200.71.65", "10.200.71.2", IPPROTO_TCP, 40000, 22);
	const char *k[] = { "10.200.71.1:22", NULL };
	struct isolate_bpf *live = load(k, now_boot_ns() + 60 * NSEC_PER_SEC);
	struct isolate_bpf *over = load(k, now_boot_ns());

	CHECK(live && over);
	if (live && over) {
		CHECK_EQ(run(live->progs.tug_node_ingress, &p, 1), DROP);
		CHECK_EQ(run(over->progs.tug_node_ingress, &p, 1), NEXT);
		CHECK_EQ(counter(over, NODE_DROPPED_IN), 0);
	}
	isolate_bpf__destroy(live);
	isolate_bpf__destroy(over);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skip bpf_isolate: loading BPF programs needs root\n");
		return 0;
	}
	RUN(keeps_the_control_peer_on_its_port);
	RUN(keeps_a_cidr_on_any_port);
	RUN(neighbour_discovery_passes);
	RUN(deadline_ends_the_isolation);
	return t_exit();
}
