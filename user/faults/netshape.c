// SPDX-License-Identifier: GPL-2.0
/*
 * Network faults that change what they let through: corrupt (flip bits in
 * the payload), duplicate (send twice) and bandwidth (a token bucket that
 * drops what exceeds the rate: policing). Exactly the peers asked, through
 * the tc engine (nettc.h), with the same guarantees as a partition: tcx
 * links die with tug, clsact filters are removed by the guardian.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "fault.h"
#include "log.h"
#include "netshape.h"
#include "netshape.skel.h"
#include "nettc.h"
#include "parse.h"

/* Policing TCP needs a bucket that holds what TCP sends before it sees a
 * loss: with 200 ms of the rate TCP reaches 92-106 % of 1, 10 and 100
 * Mbit/s on veth (docs/bench/netshape.md); with 20 ms (96K at least) only
 * 10-35 % of 10 and 100 Mbit/s. A GSO/GRO packet is up to 64 KiB: a
 * smaller bucket would never pass one. */
#define NETSHAPE_BURST_MS 200
#define NETSHAPE_BURST_MIN (96 * 1024ULL)

static const char *const counter_names[][NETSHAPE_COUNTER_MAX] = {
	[NETSHAPE_CORRUPT] = { "corrupted_in", "corrupted_out", "passed_in", "passed_out",
			       "spared_control", "no_payload" },
	[NETSHAPE_DUPLICATE] = { "duplicated_in", "duplicated_out", "passed_in", "passed_out",
				 "spared_control", "clone_failed" },
	[NETSHAPE_BANDWIDTH] = { "dropped_over_rate_in", "dropped_over_rate_out", "passed_in",
				 "passed_out", "spared_control" },
};

struct netshape_priv {
	struct nettc tc;
	enum netshape_action action;
	double percent;
	bool fix_checksum;
	uint64_t rate_bits;
	uint64_t burst;
};

enum { OPT_PERCENT = NETTC_OPT_VERB, OPT_FIX_CHECKSUM, OPT_RATE, OPT_BURST };

static enum netshape_action action_of(const char *verb)
{
	if (!strcmp(verb, "corrupt"))
		return NETSHAPE_CORRUPT;
	if (!strcmp(verb, "duplicate"))
		return NETSHAPE_DUPLICATE;
	return NETSHAPE_BANDWIDTH;
}

static int verb_option(struct netshape_priv *p, int opt, const char *arg, bool *have)
{
	bool bw = p->action == NETSHAPE_BANDWIDTH;

	switch (opt) {
	case OPT_PERCENT:
		if (bw) {
			log_error("--percent: bandwidth drops what exceeds --rate; use 'tug net loss --percent P'");
			return -EINVAL;
		}
		if (parse_percent(arg, &p->percent))
			return fault_bad_option("--percent", arg, "a percentage 0..100, like 30 or 2.5%");
		*have = true;
		return 0;
	case OPT_FIX_CHECKSUM:
		if (p->action != NETSHAPE_CORRUPT) {
			log_error("--fix-checksum: only 'tug net corrupt' changes payloads");
			return -EINVAL;
		}
		p->fix_checksum = true;
		return 0;
	case OPT_RATE:
	case OPT_BURST:
		if (!bw) {
			log_error("%s: only for 'tug net bandwidth'", opt == OPT_RATE ? "--rate" : "--burst");
			return -EINVAL;
		}
		if (opt == OPT_RATE) {
			if (parse_rate(arg, &p->rate_bits) || p->rate_bits < 8000)
				return fault_bad_option("--rate", arg,
							"a rate from 8kbit, like 500kbit, 10mbit or 1gbit (bits a second)");
			*have = true;
		} else if (parse_size(arg, &p->burst) || p->burst < 2048 || p->burst > (1ULL << 30)) {
			return fault_bad_option("--burst", arg, "a size 2K..1G, like 64K or 1M (bytes)");
		}
		return 0;
	}
	return -ENOENT;
}

static int netshape_parse(struct fault *f, int argc, char **argv)
{
	static const struct option opts[] = {
		NETTC_OPTIONS,
		{ "percent", required_argument, NULL, OPT_PERCENT },
		{ "fix-checksum", no_argument, NULL, OPT_FIX_CHECKSUM },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "burst", required_argument, NULL, OPT_BURST },
		FAULT_COMMON_OPTIONS,
		{},
	};
	struct netshape_priv *p = f->priv;
	bool have = false;
	int opt, err;

	nettc_init(&p->tc);
	p->action = action_of(f->ops->verb);
	while ((opt = fault_getopt(f, argc, argv, opts, &err)) >= 0) {
		err = nettc_parse_option(&p->tc, opt, optarg);
		if (err == -ENOENT)
			err = verb_option(p, opt, optarg, &have);
		if (err)
			return err;
	}
	if (err)
		return err;
	err = nettc_parse_done(f, &p->tc);
	if (err)
		return err;
	if (!have && p->action == NETSHAPE_BANDWIDTH) {
		log_error("--rate: required for bandwidth, like --rate 10mbit");
		return -EINVAL;
	}
	if (!have) {
		log_error("--percent: required for %s, like --percent 5", f->ops->verb);
		return -EINVAL;
	}
	if (p->action == NETSHAPE_BANDWIDTH) {
		char buf[32];

		if (!p->burst) {
			p->burst = p->rate_bits / 8 * NETSHAPE_BURST_MS / 1000;
			if (p->burst < NETSHAPE_BURST_MIN)
				p->burst = NETSHAPE_BURST_MIN;
		}
		json_object_object_add(f->params, "rate",
				       json_object_new_string(format_rate(p->rate_bits, buf, sizeof(buf))));
		json_object_object_add(f->params, "rate_bits", json_object_new_int64(p->rate_bits));
		json_object_object_add(f->params, "burst", json_object_new_int64(p->burst));
	} else {
		json_object_object_add(f->params, "percent", json_object_new_double(p->percent));
	}
	if (p->action == NETSHAPE_CORRUPT)
		json_object_object_add(f->params, "fix_checksum",
				       json_object_new_boolean(p->fix_checksum));
	return 0;
}

static int netshape_open(struct fault *f, struct nettc_half *h)
{
	struct netshape_priv *p = f->priv;
	struct netshape_bpf *skel = netshape_bpf__open();
	uint64_t rate_bytes = p->rate_bits / 8;

	if (!skel)
		return -errno;
	NETTC_SET_RODATA(skel, &p->tc);
	skel->rodata->action = p->action;
	skel->rodata->threshold = nettc_threshold(p->percent);
	skel->rodata->fix_checksum = p->fix_checksum;
	if (p->action == NETSHAPE_BANDWIDTH) {
		skel->rodata->rate_bps = rate_bytes;
		skel->rodata->burst_bnl = p->burst * 1000000000ULL;
		skel->rodata->fill_ns = p->burst * 1000000000ULL / rate_bytes;
	}
	skel->bss->deadline_boot_ns = f->deadline_boot_ns;
	*h = (struct nettc_half){
		.skel = skel, .s = skel->skeleton,
		.prog = { skel->progs.tug_netshape_ingress, skel->progs.tug_netshape_egress },
	};
	return 0;
}

static void netshape_skel_destroy(void *skel)
{
	netshape_bpf__destroy(skel);
}

static int netshape_load(struct fault *f)
{
	struct netshape_priv *p = f->priv;

	return nettc_load(f, &p->tc, &(struct nettc_verb){
		.open = netshape_open, .destroy = netshape_skel_destroy,
		.counter_names = counter_names[p->action],
		/* bandwidth has no last slot */
		.ncounters = NETSHAPE_COUNTER_MAX - (p->action == NETSHAPE_BANDWIDTH),
	});
}

static int netshape_apply(struct fault *f)
{
	struct netshape_priv *p = f->priv;
	int err;

	err = nettc_apply(f, &p->tc);
	if (!err)
		f->kernel_deadline = &((struct netshape_bpf *)p->tc.half[0].skel)->bss->deadline_boot_ns;
	return err;
}

static void netshape_describe(struct fault *f, char *buf, size_t len)
{
	struct netshape_priv *p = f->priv;
	char extra[64], rate[32];

	if (p->action == NETSHAPE_BANDWIDTH)
		snprintf(extra, sizeof(extra), ", at most %s (burst %llu bytes)",
			 format_rate(p->rate_bits, rate, sizeof(rate)), (unsigned long long)p->burst);
	else
		snprintf(extra, sizeof(extra), ", %g %% %s%s", p->percent,
			 p->action == NETSHAPE_CORRUPT ? "corrupted" : "duplicated",
			 p->fix_checksum ? " (checksums fixed)" : "");
	nettc_describe(&p->tc, extra, buf, len);
}

static void netshape_destroy(struct fault *f)
{
	struct netshape_priv *p = f->priv;

	nettc_destroy(&p->tc);
}

#define NETSHAPE_OPS(vb, sum, use)                                            \
	{                                                                     \
		.family = "net", .verb = vb, .summary = sum, .usage = use,    \
		.priv_size = sizeof(struct netshape_priv),                    \
		.parse = netshape_parse, .prepare = nettc_fault_prepare,      \
		.load = netshape_load, .apply = netshape_apply,               \
		.describe = netshape_describe,                                \
		.counters = nettc_fault_counters, .revert = nettc_fault_revert, \
		.recover = nettc_recover, .backend = nettc_backend,           \
		.destroy = netshape_destroy,                                  \
	}

const struct fault_ops net_corrupt_ops = NETSHAPE_OPS(
	"corrupt", "flip bits in the payload of a percentage of packets to and from peers",
	"Options:\n"
	"  --percent P            share of matching TCP/UDP packets to corrupt, 0..100\n"
	"                         (required)\n"
	"  --fix-checksum         fix the TCP/UDP checksum, so the damage reaches the\n"
	"                         application; by default the checksum stays wrong, like\n"
	"                         on a damaged link: the receiving stack drops the segment\n"
	"                         (TCP retransmits it, UDP counts InCsumErrors)\n"
	NETTC_USAGE_OF("peers whose packets to corrupt", "direction to corrupt", "corrupt")
	"\nOne random bit of one 16-bit word of the payload is flipped; packets without\n"
	"payload (pure ACKs) are left alone (counted as no_payload). A GSO packet (up\n"
	"to 64K of TCP segments) counts once and all its segments fail their checksum:\n"
	"the share of segments is still P, in bursts (1 %: 1.1 % of TCP segments\n"
	"retransmitted). Between two namespaces on veth the receiver trusts the\n"
	"sender's checksum offload and never verifies: there the damage reaches the\n"
	"application unless the sending device computes checksums itself\n"
	"(ethtool -K DEV tx off).\n"
	"\nExamples:\n"
	"  tug net corrupt --peer 10.200.0.3 --percent 5 --for 2m\n"
	"  tug net corrupt --peer 10.200.0.0/24 --proto udp --port 5353 --percent 50 --fix-checksum --for 30s\n");

const struct fault_ops net_duplicate_ops = NETSHAPE_OPS(
	"duplicate", "send a percentage of packets to and from peers twice",
	"Options:\n"
	"  --percent P            share of matching packets to send twice, 0..100 (required)\n"
	NETTC_USAGE_OF("peers whose packets to duplicate", "direction to duplicate", "duplicate")
	"\nThe copy goes out (or comes in) through the same device and direction, just\n"
	"before the original.\n"
	"\nExamples:\n"
	"  tug net duplicate --peer 10.200.0.3 --percent 10 --for 2m\n"
	"  tug net duplicate --peer fd00::/64 --proto udp --dir out --percent 50 --for 30s\n");

const struct fault_ops net_bandwidth_ops = NETSHAPE_OPS(
	"bandwidth", "limit traffic to and from peers to a rate (policing), until the deadline",
	"Options:\n"
	"  --rate RATE            the rate, in bits a second: 500kbit, 10mbit, 1gbit (required)\n"
	"  --burst SIZE           the token bucket, in bytes (default 200 ms of the rate,\n"
	"                         at least 96K: TCP then reaches 90-100 % of the rate; with\n"
	"                         a small one it backs off far below it. A GSO/GRO packet\n"
	"                         is up to 64K: the bucket must hold one)\n"
	NETTC_USAGE_OF("peers whose traffic to limit", "direction to limit", "limit")
	"\nEach direction has its own bucket, full at the start; what exceeds it is\n"
	"dropped, not queued (policing, like tc's police action): senders see loss,\n"
	"not delay, and a local sender's stack is not told (as if the loss were on the\n"
	"wire).\n"
	"\nExamples:\n"
	"  tug net bandwidth --peer 10.200.0.3 --rate 10mbit --for 5m\n"
	"  tug net bandwidth --peer 10.200.0.0/24 --port 5432 --dir out --rate 500kbit --burst 128K --for 60s\n");
