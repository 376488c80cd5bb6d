// SPDX-License-Identifier: GPL-2.0
/*
 * Network faults: partitions and packet loss for exactly the peers asked.
 * The selection and the attach (tcx links, or clsact filters the guardian
 * removes) are the tc engine's (nettc.h); this module only drops.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "fault.h"
#include "log.h"
#include "net.h"
#include "net.skel.h"
#include "nettc.h"
#include "parse.h"

static const char *const counter_names[NET_COUNTER_MAX] = {
	[NET_DROPPED_IN] = "dropped_in",
	[NET_DROPPED_OUT] = "dropped_out",
	[NET_PASSED_IN] = "passed_in",
	[NET_PASSED_OUT] = "passed_out",
	[NET_SPARED_CONTROL] = "spared_control",
};

struct net_priv {
	struct nettc tc;
	bool loss;
	double percent;
};

static int net_parse(struct fault *f, int argc, char **argv)
{
	enum { OPT_PERCENT = NETTC_OPT_VERB };
	static const struct option opts[] = {
		NETTC_OPTIONS,
		{ "percent", required_argument, NULL, OPT_PERCENT },
		FAULT_COMMON_OPTIONS,
		{},
	};
	struct net_priv *p = f->priv;
	bool have_percent = false;
	int opt, err;

	nettc_init(&p->tc);
	p->loss = !strcmp(f->ops->verb, "loss");
	p->percent = 100;
	while ((opt = fault_getopt(f, argc, argv, opts, &err)) >= 0) {
		err = nettc_parse_option(&p->tc, opt, optarg);
		if (err != -ENOENT) {
			if (err)
				return err;
			continue;
		}
		if (!p->loss) {	/* OPT_PERCENT, the verb's only option */
			log_error("--percent: a partition drops everything; use 'tug net loss --percent P'");
			return -EINVAL;
		}
		if (parse_percent(optarg, &p->percent))
			return fault_bad_option("--percent", optarg,
						"a percentage 0..100, like 30 or 2.5%");
		have_percent = true;
	}
	if (err)
		return err;
	err = nettc_parse_done(f, &p->tc);
	if (err)
		return err;
	if (p->loss && !have_percent) {
		log_error("--percent: required for loss, like --percent 30");
		return -EINVAL;
	}
	json_object_object_add(f->params, "percent", json_object_new_double(p->percent));
	return 0;
}

static int net_open(struct fault *f, struct nettc_half *h)
{
	struct net_priv *p = f->priv;
	struct net_bpf *skel = net_bpf__open();

	if (!skel)
		return -errno;
	NETTC_SET_RODATA(skel, &p->tc);
	skel->rodata->loss_threshold = nettc_threshold(p->percent);
	skel->bss->deadline_boot_ns = f->deadline_boot_ns;
	*h = (struct nettc_half){
		.skel = skel, .s = skel->skeleton,
		.prog = { skel->progs.tug_net_ingress, skel->progs.tug_net_egress },
	};
	return 0;
}

static void net_skel_destroy(void *skel)
{
	net_bpf__destroy(skel);
}

static int net_load(struct fault *f)
{
	struct net_priv *p = f->priv;

	return nettc_load(f, &p->tc, &(struct nettc_verb){
		.open = net_open, .destroy = net_skel_destroy,
		.counter_names = counter_names, .ncounters = NET_COUNTER_MAX,
	});
}

static int net_apply(struct fault *f)
{
	struct net_priv *p = f->priv;
	int err;

	err = nettc_apply(f, &p->tc);
	if (!err)
		f->kernel_deadline = &((struct net_bpf *)p->tc.half[0].skel)->bss->deadline_boot_ns;
	return err;
}

static void net_describe(struct fault *f, char *buf, size_t len)
{
	struct net_priv *p = f->priv;
	char loss[32] = "";

	if (p->loss)
		snprintf(loss, sizeof(loss), ", %g %% lost", p->percent);
	nettc_describe(&p->tc, loss, buf, len);
}

static void net_destroy(struct fault *f)
{
	struct net_priv *p = f->priv;

	nettc_destroy(&p->tc);
}

#define NET_OPS(vb, sum, use)                                                      \
	{                                                                          \
		.family = "net", .verb = vb, .summary = sum, .usage = use,         \
		.priv_size = sizeof(struct net_priv), .parse = net_parse,          \
		.prepare = nettc_fault_prepare, .load = net_load, .apply = net_apply, \
		.describe = net_describe, .counters = nettc_fault_counters,        \
		.revert = nettc_fault_revert, .recover = nettc_recover,            \
		.backend = nettc_backend, .destroy = net_destroy,                  \
	}

const struct fault_ops net_partition_ops = NET_OPS(
	"partition", "drop every packet to and from peers, until the deadline",
	"Options:\n" NETTC_USAGE
	"\nExamples:\n"
	"  tug net partition --peer 10.200.0.3 --for 60s\n"
	"  tug net partition --peer 10.200.0.0/24,fd00::/64 --dev eth1 --dir out --for 5m\n"
	"  tug net partition --netns lab-gw --peer 10.200.0.2 --port 5432 --for 30s\n");

const struct fault_ops net_loss_ops = NET_OPS(
	"loss", "drop a percentage of packets to and from peers, until the deadline",
	"Options:\n"
	"  --percent P            share of matching packets to drop, 0..100 (required)\n"
	NETTC_USAGE
	"\nExamples:\n"
	"  tug net loss --peer 10.200.0.3 --percent 30 --for 2m\n"
	"  tug net loss --peer 10.200.0.0/24 --percent 5 --proto udp --for 60s\n");
