// SPDX-License-Identifier: GPL-2.0
/*
 * The delay classifier on synthetic packets through bpf_prog_test_run_opts:
 * the departure time it writes into skb->tstamp comes back in ctx_out, so
 * the delay, the jitter's spread and the reorder share are measured
 * exactly, without fq (which this host lacks). Also the qdisc probe that
 * decides whether net delay can run at all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfmap.h"
#include "fault.h"
#include "harness.h"
#include "kernel.h"
#include "netdelay.h"
#include "netdelay.skel.h"
#include "parse.h"

#define NEXT 0xffffffffu	/* -1: TC_ACT_UNSPEC / TCX_NEXT */
#define MS 1000000ULL

struct cfg {
	uint64_t delay_ns, jitter_ns, reorder_threshold, deadline_boot_ns;
	uint16_t port;
	uint32_t classid;
};

static struct netdelay_bpf *load(const struct cfg *c, const char *peer)
{
	struct netdelay_bpf *s = netdelay_bpf__open();
	struct cidr cidr;

	if (!s)
		return NULL;
	s->rodata->delay_ns = c->delay_ns;
	s->rodata->jitter_ns = c->jitter_ns;
	s->rodata->reorder_threshold = c->reorder_threshold;
	s->rodata->port = c->port;
	s->rodata->classid = c->classid;
	s->bss->deadline_boot_ns = c->deadline_boot_ns;
	bpf_map__set_max_entries(s->maps.peers4, 4);
	bpf_map__set_max_entries(s->maps.peers6, 4);
	if (netdelay_bpf__load(s) || parse_cidr(peer, &cidr) ||
	    lpm_add_cidr(bpf_map__fd(s->maps.peers4), bpf_map__fd(s->maps.peers6), NULL, 0, &cidr)) {
		netdelay_bpf__destroy(s);
		return NULL;
	}
	return s;
}

struct pkt {
	unsigned char data[64];
	size_t len;
};

static struct pkt udp(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	struct pkt p = { 0 };
	struct ethhdr eth = { .h_proto = htons(ETH_P_IP) };
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP,
			    .tot_len = htons(sizeof(ip) + sizeof(struct udphdr)) };
	struct udphdr u = { .source = htons(sport), .dest = htons(dport), .len = htons(8) };

	inet_pton(AF_INET, src, &ip.saddr);
	inet_pton(AF_INET, dst, &ip.daddr);
	memcpy(p.data, &eth, sizeof(eth));
	memcpy(p.data + sizeof(eth), &ip, sizeof(ip));
	memcpy(p.data + sizeof(eth) + sizeof(ip), &u, sizeof(u));
	p.len = sizeof(eth) + sizeof(ip) + sizeof(u);
	return p;
}

static uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The departure time the program leaves in skb->tstamp (0xdead on error),
 * and its skb->priority in *ret_priority when asked. */
static uint64_t stamp_prio(struct netdelay_bpf *s, const struct pkt *p, uint64_t tstamp_in,
			   uint32_t *ret_priority)
{
	struct __sk_buff in = { .tstamp = tstamp_in, .priority = 6 }, out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data, .data_size_in = p->len,
		    .ctx_in = &in, .ctx_size_in = sizeof(in), .ctx_out = &out,
		    .ctx_size_out = sizeof(out));

	if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.tug_netdelay_egress), &o) ||
	    o.retval != NEXT)
		return 0xdead;
	if (ret_priority)
		*ret_priority = out.priority;
	return out.tstamp;
}

static uint64_t stamp(struct netdelay_bpf *s, const struct pkt *p, uint64_t tstamp_in)
{
	return stamp_prio(s, p, tstamp_in, NULL);
}

static uint64_t counter(struct netdelay_bpf *s, int slot)
{
	static const char *const names[NETDELAY_COUNTER_MAX] = { "a", "b", "c", "d" };
	struct fault_counter c[NETDELAY_COUNTER_MAX];

	fault_read_percpu_counters(bpf_map__fd(s->maps.counters), names, NETDELAY_COUNTER_MAX, c);
	return c[slot].value;
}

#define LOAD(s, peer, ...)                                                 \
	struct cfg _c = { __VA_ARGS__ };                                   \
	struct netdelay_bpf *s = load(&_c, peer);                          \
	if (!s) {                                                          \
		printf("  cannot load netdelay.bpf.o: %s\n", strerror(errno)); \
		t_cur_failed++;                                            \
		return;                                                    \
	}

static void delay_for_the_peer_only(void)
{
	LOAD(s, "10.200.0.2", .delay_ns = 100 * MS);
	struct pkt to_peer = udp("10.200.0.1", "10.200.0.2", 40000, 53);
	struct pkt other = udp("10.200.0.1", "10.200.0.3", 40000, 53);
	uint64_t before = now_mono_ns(), t = stamp(s, &to_peer, 0), after = now_mono_ns();

	printf("  stamped %.3f ms ahead (asked 100 ms)\n", ((double)t - (double)after) / 1e6);
	CHECK(t >= before + 100 * MS && t <= after + 100 * MS);
	CHECK_EQ(stamp(s, &other, 0), 0);
	CHECK_EQ(counter(s, NETDELAY_DELAYED), 1);
	netdelay_bpf__destroy(s);
}

/* TCP's own departure time (pacing) is kept and the delay added to it; a
 * forwarded packet's receive time (CLOCK_REALTIME, far ahead of the
 * monotonic clock) is not taken for one. */
static void adds_to_a_departure_time(void)
{
	LOAD(s, "10.200.0.2", .delay_ns = 10 * MS);
	struct pkt p = udp("10.200.0.1", "10.200.0.2", 40000, 53);
	uint64_t paced = now_mono_ns() + 5 * MS, rx = (uint64_t)time(NULL) * 1000000000ULL;
	uint64_t before = now_mono_ns(), t, past;

	CHECK_EQ(stamp(s, &p, paced), paced + 10 * MS);
	t = stamp(s, &p, rx);
	CHECK(t >= before + 10 * MS && t < now_mono_ns() + 10 * MS);
	past = stamp(s, &p, before - 50 * MS);
	CHECK(past >= before + 10 * MS);
	netdelay_bpf__destroy(s);
}

static void port_and_deadline_spare(void)
{
	struct cfg a = { .delay_ns = 10 * MS, .port = 5432 };
	struct cfg b = { .delay_ns = 10 * MS, .deadline_boot_ns = now_boot_ns() };
	struct netdelay_bpf *sa = load(&a, "10.200.0.0/24"), *sb = load(&b, "10.200.0.0/24");
	struct pkt db = udp("10.200.0.1", "10.200.0.2", 40000, 5432);
	struct pkt web = udp("10.200.0.1", "10.200.0.2", 40000, 80);

	CHECK(sa && sb);
	if (sa && sb) {
		CHECK(stamp(sa, &db, 0) > 0);
		CHECK_EQ(stamp(sa, &web, 0), 0);
		CHECK_EQ(counter(sa, NETDELAY_PASSED), 1);
		/* Past the fault's own deadline nothing is stamped. */
		CHECK_EQ(stamp(sb, &db, 0), 0);
		CHECK_EQ(counter(sb, NETDELAY_DELAYED), 0);
	}
	netdelay_bpf__destroy(sa);
	netdelay_bpf__destroy(sb);
}

/* Uniform in [delay - jitter, delay + jitter]: the extremes, the mean and
 * the standard deviation (jitter / sqrt(3)) of 4000 packets. */
static void jitter_is_uniform(void)
{
	const int n = 4000;
	LOAD(s, "10.200.0.2", .delay_ns = 50 * MS, .jitter_ns = 10 * MS);
	struct pkt p = udp("10.200.0.1", "10.200.0.2", 40000, 53);
	double sum = 0, sq = 0, lo = 1e18, hi = 0, mean, sd, want_sd = 10.0 / sqrt(3);

	for (int i = 0; i < n; i++) {
		uint64_t base = now_mono_ns() + 1000 * MS;	/* a paced stamp: exact base */
		double d = ((double)stamp(s, &p, base) - (double)base) / 1e6;

		sum += d;
		sq += d * d;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	mean = sum / n;
	sd = sqrt(sq / n - mean * mean);
	printf("  delay 50ms jitter 10ms, %d packets: min %.2f max %.2f mean %.2f sd %.2f ms "
	       "(uniform: 40..60, mean 50, sd %.2f)\n", n, lo, hi, mean, sd, want_sd);
	CHECK(lo >= 40 && hi <= 60);
	CHECK(lo < 41 && hi > 59);
	CHECK(fabs(mean - 50) < 0.5);	/* 5 sigma of the mean: 5 * 5.77 / sqrt(4000) */
	CHECK(fabs(sd - want_sd) < 0.5);
	netdelay_bpf__destroy(s);
}

static void reorder_share(void)
{
	const int n = 20000;
	const double want = 0.25;
	LOAD(s, "10.200.0.2", .delay_ns = 10 * MS,
	     .reorder_threshold = (uint64_t)llround(want * (double)TUG_SHARE_ALL));
	struct pkt p = udp("10.200.0.1", "10.200.0.2", 40000, 53);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.data, .data_size_in = p.len, .repeat = n);
	double sigma = sqrt(n * want * (1 - want));
	uint64_t sent_at_once, delayed;

	CHECK_EQ(bpf_prog_test_run_opts(bpf_program__fd(s->progs.tug_netdelay_egress), &o), 0);
	sent_at_once = counter(s, NETDELAY_REORDERED);
	delayed = counter(s, NETDELAY_DELAYED);
	printf("  reorder 25%%: %lu of %d sent undelayed (%.2f%%), bound +-5 sigma = %.0f\n",
	       (unsigned long)sent_at_once, n, 100.0 * sent_at_once / n, 5 * sigma);
	CHECK_EQ(sent_at_once + delayed, n);
	CHECK(fabs((double)sent_at_once - want * n) < 5 * sigma);
	netdelay_bpf__destroy(s);
}

/* --qdisc netem: the chosen packets are steered into netem's prio band
 * (7475:4) and keep their time; the others keep their priority. */
static void netem_class_steering(void)
{
	LOAD(s, "10.200.0.2", .delay_ns = 50 * MS, .classid = 0x74750004);
	struct pkt to_peer = udp("10.200.0.1", "10.200.0.2", 40000, 53);
	struct pkt other = udp("10.200.0.1", "10.200.0.3", 40000, 53);
	uint32_t prio_peer = 0, prio_other = 0;

	CHECK_EQ(stamp_prio(s, &to_peer, 0, &prio_peer), 0);
	CHECK_EQ(prio_peer, 0x74750004);
	CHECK_EQ(stamp_prio(s, &other, 0, &prio_other), 0);
	CHECK_EQ(prio_other, 6);
	CHECK_EQ(counter(s, NETDELAY_DELAYED), 1);
	netdelay_bpf__destroy(s);
}

/* The probe net delay and doctor rely on: a qdisc this kernel has (htb is
 * everywhere tug runs) is found, an unknown kind is -ENOENT, and neither
 * leaves anything on this namespace's loopback. */
static void qdisc_probe(void)
{
	int htb = kernel_probe_qdisc("htb"), none = kernel_probe_qdisc("tugnosuchqdisc");
	int fq = kernel_probe_qdisc("fq");

	printf("  probe: htb %d, tugnosuchqdisc %d, fq %d (%s)\n", htb, none, fq,
	       fq ? strerror(-fq) : "present");
	CHECK_EQ(htb, 0);
	CHECK_EQ(none, -ENOENT);
	CHECK(fq == 0 || fq == -ENOENT);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skip bpf_netdelay: loading BPF programs needs root\n");
		return 0;
	}
	RUN(delay_for_the_peer_only);
	RUN(adds_to_a_departure_time);
	RUN(port_and_deadline_spare);
	RUN(jitter_is_uniform);
	RUN(reorder_share);
	RUN(netem_class_steering);
	RUN(qdisc_probe);
	return t_exit();
}
