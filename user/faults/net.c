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
	struct net_bpf *skel;
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
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		err = nettc_parse_option(&p->tc, opt, optarg);
		if (err != -ENOENT) {
			if (err)
				return err;
			continue;
		}
		switch (opt) {
		case OPT_PERCENT:
			if (!p->loss) {
				log_error("--percent: a partition drops everything; use 'tug net loss --percent P'");
				return -EINVAL;
			}
			if (parse_percent(optarg, &p->percent))
				return fault_bad_option("--percent", optarg,
							"a percentage 0..100, like 30 or 2.5%");
			have_percent = true;
			break;
		default:
			err = fault_parse_common(f, opt, optarg);
			if (err)
				return err;
		}
	}
	if (fault_parse_done(argc, argv))
		return -EINVAL;
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

static int net_prepare(struct fault *f)
{
	struct net_priv *p = f->priv;

	return nettc_prepare(f, &p->tc);
}

static int net_open_load(struct fault *f, struct net_priv *p)
{
	struct net_bpf *skel;
	int err;

	skel = net_bpf__open();
	if (!skel)
		return -errno;
	NETTC_SET_RODATA(skel, &p->tc);
	skel->rodata->loss_threshold = nettc_threshold(p->percent);
	skel->bss->deadline_boot_ns = f->deadline_boot_ns;
	bpf_program__set_autoload(skel->progs.tug_net_ingress, p->tc.in);
	bpf_program__set_autoload(skel->progs.tug_net_egress, p->tc.out);
	err = nettc_configure(&p->tc, skel->obj);
	if (!err)
		err = net_bpf__load(skel);
	if (!err)
		err = nettc_loaded(f, &p->tc, skel->obj, counter_names, NET_COUNTER_MAX);
	if (err)
		net_bpf__destroy(skel);
	else
		p->skel = skel;
	return err;
}

static int net_apply(struct fault *f)
{
	struct net_priv *p = f->priv;
	int err;

	err = net_open_load(f, p);
	if (err)
		return log_errno(err, "loading the net classifier"), err;
	f->kernel_deadline = &p->skel->bss->deadline_boot_ns;
	return nettc_attach(f, &p->tc,
			    p->tc.in ? bpf_program__fd(p->skel->progs.tug_net_ingress) : -1,
			    p->tc.out ? bpf_program__fd(p->skel->progs.tug_net_egress) : -1);
}

static int net_counters(struct fault *f, struct fault_counter *c, int max)
{
	struct net_priv *p = f->priv;

	if (!p->skel || max < NET_COUNTER_MAX)
		return 0;
	return fault_read_percpu_counters(p->tc.counters_fd, counter_names, NET_COUNTER_MAX, c);
}

static int net_revert(struct fault *f)
{
	struct net_priv *p = f->priv;

	nettc_detach(&p->tc);
	return 0;
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
	net_bpf__destroy(p->skel);
}

#define NET_OPS(vb, sum, use)                                                \
	{                                                                    \
		.family = "net", .verb = vb, .summary = sum, .usage = use,   \
		.priv_size = sizeof(struct net_priv), .parse = net_parse,    \
		.prepare = net_prepare, .apply = net_apply,                  \
		.describe = net_describe, .counters = net_counters,          \
		.revert = net_revert, .recover = nettc_recover,              \
		.backend = nettc_backend, .destroy = net_destroy,            \
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
