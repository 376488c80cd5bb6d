// SPDX-License-Identifier: GPL-2.0
/*
 * tug net delay: added latency for exactly the chosen peers. The egress tc
 * program (bpf/netdelay.bpf.c, on the shared tc engine nettc) marks the
 * chosen packets and a qdisc tug installs at the device's root holds them:
 * - fq: the program stamps the time each may leave (earliest departure
 *   time) and fq releases it then; untargeted packets carry no stamp and
 *   leave at once;
 * - netem (--qdisc netem, or where the kernel has no fq): a prio root whose
 *   fourth band holds netem; the program names that band in skb->priority.
 *   netem frees a TCP socket's send budget while it holds the packets, which
 *   fq does not (TCP Small Queues: bulk TCP from this host crawls with fq).
 *
 * The program dies with tug (tcx) or is removed by the guardian (clsact),
 * like a partition's. The qdisc outlives the process: tug installs it only
 * over the kernel's own default root qdisc (handle 0:, which the kernel
 * re-attaches when the root is deleted), under its own handle (7475:,
 * "tu"), journals that before it is created, and deletes only a root fq or
 * prio with that handle: at revert, from the guardian after a crash, and in
 * `tug recover`. A root qdisc someone configured is refused, not taken
 * over: restoring another's qdisc tree (classes, filters, statistics) by
 * copy is not exact, and the refusal changes nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/pkt_sched.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/qdisc/prio.h>

#include "fault.h"
#include "json.h"
#include "kernel.h"
#include "log.h"
#include "netdelay.h"
#include "netdelay.skel.h"
#include "netns.h"
#include "nettc.h"
#include "parse.h"

/* tug's root qdisc (fq, or the prio above netem), recognisable in `tc
 * qdisc show` and by recover. */
#define NETDELAY_MAJOR 0x7475U
#define NETDELAY_ROOT_HANDLE TC_H_MAKE(NETDELAY_MAJOR << 16, 0)
/* Per flow and in all: the packets a delay holds at once (fq's defaults,
 * 100 a flow, would drop a 1000 packet/s flow delayed by 100 ms). */
#define NETDELAY_FQ_LIMIT 10000U
/* --qdisc netem: prio's three usual bands (its default priomap) carry the
 * rest; the fourth, which only the program's chosen packets reach (their
 * skb->priority names it), holds netem. */
#define NETDELAY_PRIO_BANDS 4
#define NETDELAY_NETEM_CLASS TC_H_MAKE(NETDELAY_MAJOR << 16, NETDELAY_PRIO_BANDS)
#define NETDELAY_NETEM_HANDLE TC_H_MAKE((NETDELAY_MAJOR + 1) << 16, 0)

/* auto: fq where the kernel has it (departure times: nothing is queued
 * twice, no qdisc tree), else netem. */
enum netdelay_qdisc { NETDELAY_FQ, NETDELAY_NETEM, NETDELAY_AUTO };
static const char *const qdisc_names[] = { "fq", "netem", "auto" };
/* The kind of tug's root qdisc for each. */
static const char *const root_kinds[] = { "fq", "prio" };

static const char *const counter_names[NETDELAY_COUNTER_MAX] = {
	[NETDELAY_DELAYED] = "delayed",
	[NETDELAY_REORDERED] = "reordered",
	[NETDELAY_PASSED] = "passed",
	[NETDELAY_SPARED_CONTROL] = "spared_control",
};

struct netdelay_priv {
	struct nettc t;
	uint64_t delay_ns, jitter_ns;
	double reorder;		/* percent */
	enum netdelay_qdisc qdisc;
	struct netdelay_bpf *skel;
	bool installed[NETTC_MAX_DEVS];
};

/* The root qdisc of a device, as the kernel reports it. */
struct root_qdisc {
	char kind[16];
	uint32_t handle;
	bool configured;	/* someone else's: a handle, or qdiscs below it */
	uint32_t qlen;
};

static int nl_open(struct nl_sock **ret)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err) {
		nl_socket_free(sk);
		return -EIO;
	}
	*ret = sk;
	return 0;
}

/* The kernel's own qdiscs have handle 0: (a user's always get one, chosen
 * or allocated), under the root as well (mq's per-queue children). */
static int root_qdisc_get(struct nl_sock *sk, int ifindex, struct root_qdisc *ret)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int err;

	err = rtnl_qdisc_alloc_cache(sk, &cache);
	if (err)
		return -EIO;
	*ret = (struct root_qdisc){ .kind = "none" };
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_tc *q = (struct rtnl_tc *)o;
		uint32_t parent = rtnl_tc_get_parent(q);

		if (rtnl_tc_get_ifindex(q) != ifindex || parent == TC_H_INGRESS)
			continue;	/* ingress and clsact are not on the transmit path */
		if (parent == TC_H_ROOT) {
			snprintf(ret->kind, sizeof(ret->kind), "%s", rtnl_tc_get_kind(q) ? rtnl_tc_get_kind(q) : "?");
			ret->handle = rtnl_tc_get_handle(q);
			ret->qlen = rtnl_tc_get_stat(q, RTNL_TC_QLEN);
		}
		if (rtnl_tc_get_handle(q))
			ret->configured = true;
	}
	nl_cache_free(cache);
	return 0;
}

static bool is_ours(const struct root_qdisc *r)
{
	return (!strcmp(r->kind, root_kinds[NETDELAY_FQ]) || !strcmp(r->kind, root_kinds[NETDELAY_NETEM])) &&
	       r->handle == NETDELAY_ROOT_HANDLE;
}

static int fq_install(struct nl_sock *sk, int ifindex, uint64_t horizon_us)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	struct nl_msg *msg = NULL;
	struct nlattr *opts;
	int err;

	if (!q)
		return -ENOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), NETDELAY_ROOT_HANDLE);
	rtnl_tc_set_kind(TC_CAST(q), "fq");
	/* EXCL: should someone configure a root qdisc after prepare looked,
	 * the kernel refuses rather than replace it. */
	err = rtnl_qdisc_build_add_request(q, NLM_F_CREATE | NLM_F_EXCL, &msg);
	if (err) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* libnl has no fq module: its options go in by hand. */
	opts = nla_nest_start(msg, TCA_OPTIONS);
	if (!opts ||
	    /* Above every stamp tug sets, and capped rather than dropped,
	     * so no packet is lost to the horizon. */
	    nla_put_u32(msg, TCA_FQ_HORIZON, horizon_us) ||
	    nla_put_u8(msg, TCA_FQ_HORIZON_DROP, 0) ||
	    nla_put_u32(msg, TCA_FQ_PLIMIT, NETDELAY_FQ_LIMIT) ||
	    nla_put_u32(msg, TCA_FQ_FLOW_PLIMIT, NETDELAY_FQ_LIMIT) ||
	    /* Departure times only: no pacing of untargeted flows. */
	    nla_put_u32(msg, TCA_FQ_RATE_ENABLE, 0)) {
		err = -ENOMEM;
		goto cleanup;
	}
	nla_nest_end(msg, opts);
	err = nl_send_sync(sk, msg);
	msg = NULL;	/* nl_send_sync frees it */
	if (err)
		err = err == -NLE_EXIST ? -EEXIST : err == -NLE_OBJ_NOTFOUND ? -EOPNOTSUPP : -EIO;
cleanup:
	nlmsg_free(msg);
	rtnl_qdisc_put(q);
	return err;
}

/* prio at the root, netem in its fourth band. netem orphans what it holds
 * (a TCP socket's budget is not spent while its packets wait). */
static int netem_install(struct nl_sock *sk, int ifindex, uint64_t delay_ns, uint64_t jitter_ns)
{
	static uint8_t priomap[TC_PRIO_MAX + 1] = { 1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 };
	struct rtnl_qdisc *prio = rtnl_qdisc_alloc(), *netem = rtnl_qdisc_alloc();
	int err;

	if (!prio || !netem) {
		err = -ENOMEM;
		goto cleanup;
	}
	rtnl_tc_set_ifindex(TC_CAST(prio), ifindex);
	rtnl_tc_set_parent(TC_CAST(prio), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(prio), NETDELAY_ROOT_HANDLE);
	rtnl_tc_set_kind(TC_CAST(prio), "prio");
	rtnl_qdisc_prio_set_bands(prio, NETDELAY_PRIO_BANDS);
	rtnl_qdisc_prio_set_priomap(prio, priomap, sizeof(priomap));
	/* EXCL: as for fq, never over a root someone configured meanwhile. */
	err = rtnl_qdisc_add(sk, prio, NLM_F_CREATE | NLM_F_EXCL);
	if (err) {
		err = err == -NLE_EXIST ? -EEXIST : err == -NLE_OBJ_NOTFOUND ? -EOPNOTSUPP : -EIO;
		goto cleanup;
	}
	rtnl_tc_set_ifindex(TC_CAST(netem), ifindex);
	rtnl_tc_set_parent(TC_CAST(netem), NETDELAY_NETEM_CLASS);
	rtnl_tc_set_handle(TC_CAST(netem), NETDELAY_NETEM_HANDLE);
	rtnl_tc_set_kind(TC_CAST(netem), "netem");
	rtnl_netem_set_delay(netem, delay_ns / 1000);
	if (jitter_ns)
		rtnl_netem_set_jitter(netem, jitter_ns / 1000);
	rtnl_netem_set_limit(netem, NETDELAY_FQ_LIMIT);
	err = rtnl_qdisc_add(sk, netem, NLM_F_CREATE | NLM_F_EXCL);
	if (err)
		err = err == -NLE_OBJ_NOTFOUND ? -EOPNOTSUPP : -EIO;
	/* A prio without its netem is removed by the caller with the rest. */
cleanup:
	rtnl_qdisc_put(prio);
	rtnl_qdisc_put(netem);
	return err;
}

/* Delete the root qdisc if it is tug's (fq, or prio and the netem below it);
 * the kernel then attaches its default again. 0 also when it is gone or not
 * ours (then logged). */
static int qdisc_remove(struct nl_sock *sk, int ifindex, const char *dev, const char *was)
{
	struct rtnl_qdisc *q = NULL;
	struct root_qdisc r;
	int err;

	err = root_qdisc_get(sk, ifindex, &r);
	if (err)
		return err;
	if (!is_ours(&r)) {
		if (strcmp(r.kind, "none") && strcmp(r.kind, was))
			log_warn("%s: the root qdisc is %s %x: now, not tug's %x:; left alone",
				 dev, r.kind, r.handle >> 16, NETDELAY_MAJOR);
		return 0;
	}
	q = rtnl_qdisc_alloc();
	if (!q)
		return -ENOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), NETDELAY_ROOT_HANDLE);
	err = rtnl_qdisc_delete(sk, q);
	rtnl_qdisc_put(q);
	if (err && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV)
		return -EIO;
	if (root_qdisc_get(sk, ifindex, &r) == 0 && strcmp(r.kind, was) && strcmp(was, "none"))
		log_warn("%s: the kernel attached %s after tug's qdisc, not %s as before "
			 "(net.core.default_qdisc changed meanwhile?)", dev, r.kind, was);
	return 0;
}

/* Revert and recover: every device of the entry whose root is tug's. */
static int qdiscs_remove_all(json_object *state)
{
	json_object *arr = json_get(state, "qdiscs");
	struct nl_sock *sk = NULL;
	int orig = -1, err;

	if (!arr || !json_object_array_length(arr))
		return 0;
	err = netns_enter(json_get_str(state, "netns", ""), &orig);
	if (err == -ENOENT)
		return 0;	/* the namespace, and its devices, are gone */
	if (err)
		return err;
	err = nl_open(&sk);
	for (size_t i = 0; !err && i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		int r = qdisc_remove(sk, json_get_int(o, "ifindex", 0), json_get_str(o, "dev", "?"),
				  json_get_str(o, "was", "none"));

		if (r)
			err = r;
	}
	nl_socket_free(sk);
	netns_leave(orig);
	return err;
}

static int parse_dir_out_only(const char *arg)
{
	if (!strcmp(arg, "out"))
		return 0;
	if (!strcmp(arg, "in") || !strcmp(arg, "both")) {
		log_error("--dir: '%s': a delay holds packets this host sends (fq releases each at "
			  "its departure time; received packets have no queue to wait in). To delay "
			  "what the peer sends, run tug net delay on the peer, or on the peer's end of "
			  "a veth pair (--netns NAME --dev IFACE); use --dir out or leave it out", arg);
		return -EINVAL;
	}
	return fault_bad_option("--dir", arg, "out (the only direction a delay acts on)");
}

static int netdelay_parse(struct fault *f, int argc, char **argv)
{
	enum { OPT_DELAY = NETTC_OPT_VERB, OPT_JITTER, OPT_REORDER, OPT_QDISC };
	static const struct option opts[] = {
		NETTC_OPTIONS,
		{ "delay", required_argument, NULL, OPT_DELAY },
		{ "jitter", required_argument, NULL, OPT_JITTER },
		{ "reorder", required_argument, NULL, OPT_REORDER },
		{ "qdisc", required_argument, NULL, OPT_QDISC },
		FAULT_COMMON_OPTIONS,
		{},
	};
	static const char dur_form[] = "a duration like 100ms, 2s or 500us";
	struct netdelay_priv *p = f->priv;
	bool have_delay = false;
	char jbuf[32], dbuf[32];
	int opt, err;

	nettc_init(&p->t);
	p->qdisc = NETDELAY_AUTO;
	while ((opt = fault_getopt(f, argc, argv, opts, &err)) >= 0) {
		if (opt == NETTC_OPT_DIR) {
			err = parse_dir_out_only(optarg);
			if (err)
				return err;
			continue;
		}
		err = nettc_parse_option(&p->t, opt, optarg);
		if (err != -ENOENT) {
			if (err)
				return err;
			continue;
		}
		switch (opt) {
		case OPT_DELAY:
			if (parse_duration(optarg, &p->delay_ns) || !p->delay_ns ||
			    p->delay_ns > NETDELAY_MAX_NS / 2)
				return fault_bad_option("--delay", optarg,
							"a duration from 1us to 30s, like 100ms");
			have_delay = true;
			break;
		case OPT_JITTER:
			if (parse_duration(optarg, &p->jitter_ns) || p->jitter_ns > NETDELAY_MAX_NS / 2)
				return fault_bad_option("--jitter", optarg, dur_form);
			break;
		case OPT_REORDER:
			if (parse_percent(optarg, &p->reorder))
				return fault_bad_option("--reorder", optarg,
							"a percentage 0..100 of packets sent undelayed, like 25");
			break;
		case OPT_QDISC:
			if (!strcmp(optarg, "fq"))
				p->qdisc = NETDELAY_FQ;
			else if (!strcmp(optarg, "netem"))
				p->qdisc = NETDELAY_NETEM;
			else if (!strcmp(optarg, "auto"))
				p->qdisc = NETDELAY_AUTO;
			else
				return fault_bad_option("--qdisc", optarg, "auto, fq or netem");
			break;
		}
	}
	if (err)
		return err;
	if (!have_delay) {
		log_error("--delay: required, like --delay 100ms");
		return -EINVAL;
	}
	if (p->jitter_ns > p->delay_ns) {
		log_error("--jitter: %s is more than --delay %s; the delay is uniform in "
			  "[delay - jitter, delay + jitter], so give a jitter up to the delay",
			  format_duration(p->jitter_ns, jbuf, sizeof(jbuf)),
			  format_duration(p->delay_ns, dbuf, sizeof(dbuf)));
		return -EINVAL;
	}
	p->t.in = false;
	err = nettc_parse_done(f, &p->t);
	if (err)
		return err;
	json_object_object_add(f->params, "delay_us", json_object_new_int64(p->delay_ns / 1000));
	json_object_object_add(f->params, "jitter_us", json_object_new_int64(p->jitter_ns / 1000));
	json_object_object_add(f->params, "reorder", json_object_new_double(p->reorder));
	json_object_object_add(f->params, "qdisc", json_object_new_string(qdisc_names[p->qdisc]));
	return 0;
}

static int check_root_qdiscs(struct fault *f, struct netdelay_priv *p)
{
	struct nl_sock *sk = NULL;
	json_object *arr;
	int orig = -1, err;

	err = netns_enter(p->t.netns, &orig);
	if (err)
		return log_errno(err, "--netns: cannot enter '%s'", p->t.netns);
	err = nl_open(&sk);
	if (err) {
		log_errno(err, "netlink");
		goto cleanup;
	}
	arr = json_object_new_array();
	json_object_object_add(f->state, "qdiscs", arr);
	for (size_t i = 0; i < p->t.ndevs; i++) {
		const struct nettc_dev *d = &p->t.devs[i];
		struct root_qdisc r;
		json_object *o;

		err = root_qdisc_get(sk, d->ifindex, &r);
		if (err) {
			log_errno(err, "%s: cannot read its qdiscs", d->name);
			goto cleanup;
		}
		if (is_ours(&r)) {
			log_error("--dev: %s already has tug's %s %x: as its root qdisc, left by a tug "
				  "that died; run 'tug recover', then try again", d->name, r.kind,
				  NETDELAY_MAJOR);
			err = -EBUSY;
			goto cleanup;
		}
		if (r.configured) {
			log_error("--dev: %s's root qdisc is %s %x: ('tc qdisc show dev %s'), configured "
				  "by someone, not the kernel's default; net delay needs the root for "
				  "its qdisc and does not take over another's qdiscs. Delay on another "
				  "device, or remove that qdisc first", d->name, r.kind, r.handle >> 16,
				  d->name);
			err = -EBUSY;
			goto cleanup;
		}
		o = json_object_new_object();
		json_object_object_add(o, "ifindex", json_object_new_int(d->ifindex));
		json_object_object_add(o, "dev", json_object_new_string(d->name));
		json_object_object_add(o, "handle", json_object_new_int64(NETDELAY_ROOT_HANDLE));
		json_object_object_add(o, "was", json_object_new_string(r.kind));
		json_object_array_add(arr, o);
		fault_add_knob(f, "root qdisc of %s%s%s", d->name, *p->t.netns ? " in netns " : "",
			       p->t.netns);
	}
cleanup:
	nl_socket_free(sk);
	netns_leave(orig);
	return err;
}

static const char no_fq[] =
	"no fq qdisc in this kernel (sch_fq, CONFIG_NET_SCH_FQ) to hold delayed packets; "
	"Debian, Ubuntu, Fedora and RHEL kernels >= 5.7 have it (a module)";

static int probe_netem(void)
{
	int err = kernel_probe_qdisc("netem");

	return err ? err : kernel_probe_qdisc("prio");
}

static int netdelay_prepare(struct fault *f)
{
	struct netdelay_priv *p = f->priv;
	int err, fq, netem;

	err = nettc_prepare(f, &p->t);
	if (!err)
		err = check_root_qdiscs(f, p);
	if (err)
		return err;
	fq = p->qdisc == NETDELAY_NETEM ? -ENOENT : kernel_probe_qdisc("fq");
	netem = p->qdisc == NETDELAY_FQ || !fq ? -ENOENT : probe_netem();
	if (p->qdisc == NETDELAY_AUTO)
		p->qdisc = !fq || netem ? NETDELAY_FQ : NETDELAY_NETEM;
	err = p->qdisc == NETDELAY_FQ ? fq : netem;
	if (err == -ENOENT && p->qdisc == NETDELAY_FQ) {
		log_error("net delay: %s%s. 'tug doctor' says what this kernel has", no_fq,
			  json_get(f->params, "qdisc") && strcmp(json_get_str(f->params, "qdisc", ""), "fq") ?
			  ", nor netem and prio (sch_netem, sch_prio) for --qdisc netem" : "");
		return -EOPNOTSUPP;
	}
	if (err == -ENOENT) {
		log_error("--qdisc netem: no netem or prio qdisc in this kernel (sch_netem, "
			  "sch_prio); use --qdisc fq, or see 'tug doctor'");
		return -EOPNOTSUPP;
	}
	if (err)
		return log_errno(err, "net delay: cannot tell whether this kernel has %s",
				 qdisc_names[p->qdisc]);
	json_object_object_add(f->state, "qdisc", json_object_new_string(qdisc_names[p->qdisc]));
	/* The qdisc outlives tug: the guardian removes it. */
	f->needs_guardian = true;
	return 0;
}

static int netdelay_load(struct netdelay_priv *p, uint64_t deadline_boot_ns, struct fault *f)
{
	struct netdelay_bpf *skel;
	int err;

	skel = netdelay_bpf__open();
	if (!skel)
		return -errno;
	NETTC_SET_RODATA(skel, &p->t);
	skel->rodata->delay_ns = p->delay_ns;
	skel->rodata->jitter_ns = p->jitter_ns;
	skel->rodata->reorder_threshold = p->reorder > 0 ? nettc_threshold(p->reorder) : 0;
	skel->rodata->classid = p->qdisc == NETDELAY_NETEM ? NETDELAY_NETEM_CLASS : 0;
	skel->bss->deadline_boot_ns = deadline_boot_ns;
	err = nettc_configure(&p->t, skel->obj);
	if (!err)
		err = netdelay_bpf__load(skel);
	if (!err)
		err = nettc_loaded(f, &p->t, skel->obj, counter_names, NETDELAY_COUNTER_MAX);
	if (err) {
		netdelay_bpf__destroy(skel);
		return err;
	}
	p->skel = skel;
	return 0;
}

static int install_qdiscs(struct netdelay_priv *p)
{
	uint64_t horizon_us = (p->delay_ns + p->jitter_ns) / 1000 + 10 * 1000000ULL;
	struct nl_sock *sk = NULL;
	int orig = -1, err;

	err = netns_enter(p->t.netns, &orig);
	if (err)
		return err;
	err = nl_open(&sk);
	for (size_t i = 0; !err && i < p->t.ndevs; i++) {
		err = p->qdisc == NETDELAY_NETEM ?
			netem_install(sk, p->t.devs[i].ifindex, p->delay_ns, p->jitter_ns) :
			fq_install(sk, p->t.devs[i].ifindex, horizon_us);
		p->installed[i] = !err;
		if (err == -EEXIST)
			log_error("%s: a root qdisc was configured since tug looked; not replaced",
				  p->t.devs[i].name);
		else if (err)
			log_errno(err, "%s: cannot install the %s qdisc", p->t.devs[i].name,
				  qdisc_names[p->qdisc]);
	}
	nl_socket_free(sk);
	netns_leave(orig);
	return err;
}

static int netdelay_apply(struct fault *f)
{
	struct netdelay_priv *p = f->priv;
	int err;

	err = netdelay_load(p, f->deadline_boot_ns, f);
	if (err)
		return log_errno(err, "loading the delay classifier"), err;
	f->kernel_deadline = &p->skel->bss->deadline_boot_ns;
	/* The qdisc first: a stamp (or a class) on a device without it would
	 * not wait. The journal already names the qdiscs (prepare). */
	err = install_qdiscs(p);
	if (!err)
		err = nettc_attach(f, &p->t, -1, bpf_program__fd(p->skel->progs.tug_netdelay_egress));
	if (err)
		qdiscs_remove_all(f->state);
	return err;
}

/* The packets already stamped leave at their time: wait for fq to send
 * them rather than drop them with the qdisc. At most NETDELAY_DRAIN_MAX: the
 * guardian ends a revert that runs 5 s past the deadline. */
#define NETDELAY_DRAIN_MAX (2 * NSEC_PER_SEC)

static void drain(struct netdelay_priv *p)
{
	uint64_t wait = p->delay_ns + p->jitter_ns + 100 * NSEC_PER_MSEC;
	uint64_t until = now_boot_ns() + (wait < NETDELAY_DRAIN_MAX ? wait : NETDELAY_DRAIN_MAX);
	struct nl_sock *sk = NULL;
	int orig = -1;

	if (netns_enter(p->t.netns, &orig))
		return;
	if (nl_open(&sk) == 0) {
		for (;;) {
			uint32_t queued = 0;

			for (size_t i = 0; i < p->t.ndevs; i++) {
				struct root_qdisc r;

				if (p->installed[i] && root_qdisc_get(sk, p->t.devs[i].ifindex, &r) == 0 &&
				    is_ours(&r))
					queued += r.qlen;
			}
			if (!queued || now_boot_ns() >= until)
				break;
			nanosleep(&(struct timespec){ .tv_nsec = 5 * NSEC_PER_MSEC }, NULL);
		}
		nl_socket_free(sk);
	}
	netns_leave(orig);
}

static int netdelay_revert(struct fault *f)
{
	struct netdelay_priv *p = f->priv;
	int err;

	nettc_detach(&p->t);
	drain(p);
	err = qdiscs_remove_all(f->state);
	if (err)
		log_errno(err, "removing tug's %s qdisc", qdisc_names[p->qdisc]);
	memset(p->installed, 0, sizeof(p->installed));
	return err;
}

static int netdelay_recover(json_object *entry)
{
	int err = nettc_recover(entry);
	int err2 = qdiscs_remove_all(json_get(entry, "state"));

	return err ? err : err2;
}

static int netdelay_counters(struct fault *f, struct fault_counter *c, int max)
{
	struct netdelay_priv *p = f->priv;

	if (!p->skel || max < NETDELAY_COUNTER_MAX)
		return 0;
	return fault_read_percpu_counters(bpf_map__fd(p->skel->maps.counters), counter_names,
					  NETDELAY_COUNTER_MAX, c);
}

static void netdelay_describe(struct fault *f, char *buf, size_t len)
{
	struct netdelay_priv *p = f->priv;
	char extra[128], d[32], j[32], r[32] = "";

	if (p->reorder > 0)
		snprintf(r, sizeof(r), ", %g %% undelayed", p->reorder);
	snprintf(extra, sizeof(extra), ", +%s%s%s%s (%s %x:)", format_duration(p->delay_ns, d, sizeof(d)),
		 p->jitter_ns ? " +-" : "", p->jitter_ns ? format_duration(p->jitter_ns, j, sizeof(j)) : "",
		 r, p->qdisc == NETDELAY_NETEM ? "netem under prio" : "fq", NETDELAY_MAJOR);
	nettc_describe(&p->t, extra, buf, len);
}

static const char *netdelay_backend(char *why, size_t len)
{
	char tc[160];
	const char *b = nettc_backend(tc, sizeof(tc));
	bool tcx = !strcmp(b, "tcx");
	int fq = kernel_has_qdisc("fq", "sch_fq");

	if (!fq) {
		snprintf(why, len, "departure times from a tc program, held by fq (--qdisc netem "
			 "for bulk TCP from this host); %s", tc);
		return tcx ? "tcx+fq" : "clsact+fq";
	}
	if (kernel_has_qdisc("netem", "sch_netem") == 0 && kernel_has_qdisc("prio", "sch_prio") == 0) {
		snprintf(why, len, "no fq: the chosen packets steered into a netem class; %s", tc);
		return tcx ? "tcx+netem" : "clsact+netem";
	}
	snprintf(why, len, "%s; nor netem", no_fq);
	return NULL;
}

static void netdelay_destroy(struct fault *f)
{
	struct netdelay_priv *p = f->priv;

	nettc_detach(&p->t);
	netdelay_bpf__destroy(p->skel);
	nettc_destroy(&p->t);
}

const struct fault_ops net_delay_ops = {
	.family = "net",
	.verb = "delay",
	.summary = "add latency (and jitter, reordering) to packets sent to peers, until the deadline",
	.usage = "Options:\n"
		 "  --delay DUR            added latency, 1us..30s, like 100ms (required)\n"
		 "  --jitter DUR           uniform spread: each packet waits delay +- jitter\n"
		 "                         (up to --delay; packets whose times cross are reordered)\n"
		 "  --reorder P            share of packets, 0..100, sent at once: they overtake\n"
		 "                         the delayed ones (like netem's reorder)\n"
		 /* The engine's selection, in a delay's words (NETTC_USAGE speaks of drops). */
		 "  --peer CIDR[,CIDR...]  peers whose packets wait (IPv4 or IPv6; repeatable)\n"
		 "  --peers-file FILE      one CIDR a line, for thousands of peers\n"
		 "  --dev IFACE[,IFACE]    interfaces (default: every one that routes to the peers)\n"
		 "  --netns NAME           act inside this network namespace (tug enters it itself)\n"
		 "  --dir out              the only direction a delay acts on: packets this host\n"
		 "                         sends (to delay what a peer sends, run it on the peer)\n"
		 "  --port N               only packets with N as source or destination port\n"
		 "  --proto tcp|udp        only this protocol\n"
		 "  --include-control      also delay the SSH session that started tug\n"
		 "                         (spared by default, from SSH_CONNECTION)\n"
		 NETTC_BACKEND_USAGE
		 "  --qdisc auto|fq|netem  what holds the packets (auto: fq where the kernel has\n"
		 "                         it, else netem): fq releases each\n"
		 "                         at the departure time the program stamps; netem, in a\n"
		 "                         prio band only the chosen packets reach, frees their\n"
		 "                         sockets' send budget while they wait: use it for bulk\n"
		 "                         TCP from this host (with fq it crawls, README)\n"
		 "\ntug installs its qdisc (handle 7475:) over the kernel's default root qdisc\n"
		 "and removes it at the end (the guardian or 'tug recover' after a crash); a\n"
		 "root qdisc someone configured is refused. 'tug doctor' says whether this\n"
		 "kernel has fq and netem.\n"
		 "\nExamples:\n"
		 "  tug net delay --peer 10.200.0.3 --delay 100ms --for 60s\n"
		 "  tug net delay --peer 10.200.0.0/24 --delay 50ms --jitter 10ms --reorder 25 --for 2m\n"
		 "  tug net delay --netns lab-gw --dev veth1 --peer 10.200.0.2 --port 5432 --delay 200ms\n",
	.priv_size = sizeof(struct netdelay_priv),
	.parse = netdelay_parse,
	.prepare = netdelay_prepare,
	.apply = netdelay_apply,
	.describe = netdelay_describe,
	.counters = netdelay_counters,
	.revert = netdelay_revert,
	.recover = netdelay_recover,
	.backend = netdelay_backend,
	.destroy = netdelay_destroy,
};
