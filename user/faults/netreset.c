// SPDX-License-Identifier: GPL-2.0
/*
 * tug net reset: TCP connections with the chosen peers are reset once, at
 * the start, and new ones are refused while the fault holds.
 *
 * The established ones go through the kernel's socket destroy (inet_diag,
 * sockdiag.h): the peer gets a RST, the local owner ECONNABORTED. New ones
 * meet a tc program (netreset.bpf.c) that answers each SYN with the RST|ACK
 * of a closed port, so connect() fails at once with ECONNREFUSED on both
 * sides. The programs go on first, so no connection slips in between.
 * Selection and attach are the tc engine's (nettc.h); sockets are not
 * state to revert, so the engine's recover is all a crash needs.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fault.h"
#include "log.h"
#include "netns.h"
#include "netreset.h"
#include "netreset.skel.h"
#include "nettc.h"
#include "parse.h"
#include "sockdiag.h"

static const char *const counter_names[NETRESET_COUNTER_MAX] = {
	[NETRESET_RESET_ESTABLISHED] = "reset_established",
	[NETRESET_REFUSED_OUT] = "refused_syn_out",
	[NETRESET_REFUSED_IN] = "refused_syn_in",
	[NETRESET_PASSED] = "passed",
	[NETRESET_SPARED_CONTROL] = "spared_control",
	[NETRESET_DROPPED_SYN_DATA] = "dropped_syn_data",
};

struct netreset_priv {
	struct nettc tc;
	struct netreset_bpf *skel;
	unsigned int reset;
};

static int netreset_parse(struct fault *f, int argc, char **argv)
{
	static const struct option opts[] = {
		NETTC_OPTIONS,
		FAULT_COMMON_OPTIONS,
		{},
	};
	struct netreset_priv *p = f->priv;
	int opt, err;

	nettc_init(&p->tc);
	while ((opt = fault_getopt(f, argc, argv, opts, &err)) >= 0) {
		err = nettc_parse_option(&p->tc, opt, optarg);
		if (err)
			return err;
	}
	if (err)
		return err;
	if (p->tc.proto && p->tc.proto != IPPROTO_TCP) {
		log_error("--proto: net reset acts on TCP connections only; leave --proto out "
			  "(or use 'tug net partition --proto udp')");
		return -EINVAL;
	}
	return nettc_parse_done(f, &p->tc);
}

/* Run inside --netns: the sockets are those of that namespace. */
static int in_netns(const char *netns, int (*fn)(void *), void *arg)
{
	int orig = -1, err;

	err = netns_enter(netns, &orig);
	if (err)
		return err;
	err = fn(arg);
	netns_leave(orig);
	return err;
}

static int probe_destroy(void *arg)
{
	return sockdiag_destroy_supported();
}

static int netreset_prepare(struct fault *f)
{
	struct netreset_priv *p = f->priv;
	int err;

	err = nettc_prepare(f, &p->tc);
	if (err)
		return err;
	err = in_netns(p->tc.netns, probe_destroy, NULL);
	if (err == -EOPNOTSUPP) {
		log_error("net reset: this kernel cannot destroy sockets (built without "
			  "CONFIG_INET_DIAG_DESTROY; 'tug doctor' says so); established "
			  "connections cannot be reset here");
		return -EINVAL;
	}
	if (err)
		return log_errno(err, "net reset: asking inet_diag for socket destroy");
	return 0;
}

static int reset_established(void *arg)
{
	struct netreset_priv *p = arg;
	struct sockdiag_filter flt = {
		.peers = p->tc.peers,
		.npeers = p->tc.npeers,
		.port = p->tc.port,
	};

	if (p->tc.ctl_family) {
		flt.spare_family = p->tc.ctl_family == 4 ? AF_INET : AF_INET6;
		memcpy(flt.spare_addr, p->tc.ctl_addr, sizeof(flt.spare_addr));
		flt.spare_local_port = p->tc.ctl_local_port;
		flt.spare_remote_port = p->tc.ctl_remote_port;
	}
	return sockdiag_reset_tcp(&flt, &p->reset);
}

/* The controller's own slot of the per-CPU counters: all on CPU 0. */
static int store_reset_count(struct netreset_priv *p)
{
	int ncpu = libbpf_num_possible_cpus();
	__u32 key = NETRESET_RESET_ESTABLISHED;
	__u64 *vals;
	int err;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	vals[0] = p->reset;
	err = bpf_map_update_elem(p->tc.counters_fd, &key, vals, BPF_ANY) ? -errno : 0;
	free(vals);
	return err;
}

static int netreset_open_load(struct fault *f, struct netreset_priv *p)
{
	struct netreset_bpf *skel;
	int err;

	skel = netreset_bpf__open();
	if (!skel)
		return -errno;
	NETTC_SET_RODATA(skel, &p->tc);
	skel->bss->deadline_boot_ns = f->deadline_boot_ns;
	bpf_program__set_autoload(skel->progs.tug_netreset_ingress, p->tc.in);
	bpf_program__set_autoload(skel->progs.tug_netreset_egress, p->tc.out);
	err = nettc_configure(&p->tc, skel->obj);
	if (!err)
		err = netreset_bpf__load(skel);
	if (!err)
		err = nettc_loaded(f, &p->tc, skel->obj, counter_names, NETRESET_COUNTER_MAX);
	if (err)
		netreset_bpf__destroy(skel);
	else
		p->skel = skel;
	return err;
}

static int netreset_apply(struct fault *f)
{
	struct netreset_priv *p = f->priv;
	int err;

	err = netreset_open_load(f, p);
	if (err)
		return log_errno(err, "loading the net reset classifier"), err;
	f->kernel_deadline = &p->skel->bss->deadline_boot_ns;
	err = nettc_attach(f, &p->tc,
			   p->tc.in ? bpf_program__fd(p->skel->progs.tug_netreset_ingress) : -1,
			   p->tc.out ? bpf_program__fd(p->skel->progs.tug_netreset_egress) : -1);
	if (err)
		return err;
	/* Refusal holds from here: now the established ones can go. */
	err = in_netns(p->tc.netns, reset_established, p);
	if (!err)
		err = store_reset_count(p);
	if (err) {
		log_errno(err, "net reset: destroying the established connections");
		nettc_detach(&p->tc);
	}
	return err;
}

static int netreset_counters(struct fault *f, struct fault_counter *c, int max)
{
	struct netreset_priv *p = f->priv;

	if (!p->skel || max < NETRESET_COUNTER_MAX)
		return 0;
	return fault_read_percpu_counters(p->tc.counters_fd, counter_names,
					  NETRESET_COUNTER_MAX, c);
}

static int netreset_revert(struct fault *f)
{
	struct netreset_priv *p = f->priv;

	nettc_detach(&p->tc);
	return 0;
}

static void netreset_describe(struct fault *f, char *buf, size_t len)
{
	struct netreset_priv *p = f->priv;
	char extra[64];

	snprintf(extra, sizeof(extra), ", %u established reset, new TCP refused", p->reset);
	nettc_describe(&p->tc, extra, buf, len);
}

static const char *netreset_backend(char *why, size_t len)
{
	char tc_why[192];
	const char *tc = nettc_backend(tc_why, sizeof(tc_why));
	int err = sockdiag_destroy_supported();

	if (err == -EOPNOTSUPP) {
		snprintf(why, len, "the kernel has no CONFIG_INET_DIAG_DESTROY: established "
			 "connections cannot be destroyed");
		return NULL;
	}
	snprintf(why, len, "inet_diag socket destroy%s, SYNs answered with RST by %s",
		 err ? " (could not be probed)" : "", tc_why);
	return tc;
}

static void netreset_destroy(struct fault *f)
{
	struct netreset_priv *p = f->priv;

	nettc_destroy(&p->tc);
	netreset_bpf__destroy(p->skel);
}

const struct fault_ops net_reset_ops = {
	.family = "net",
	.verb = "reset",
	.summary = "reset TCP connections with peers, refuse new ones until the deadline",
	.usage = "Established TCP connections with the peers are destroyed once, at the\n"
		 "start (the peer gets a RST, the local process ECONNABORTED); while the\n"
		 "fault holds, each new connection is answered with a RST, so connect()\n"
		 "fails at once with ECONNREFUSED, on this host (--dir out) and on the\n"
		 "peer (--dir in); a SYN with data (TCP Fast Open) is dropped, and the\n"
		 "SYN sent again without it is refused. Other packets of the reset\n"
		 "connections pass; the stack answers them with its own RST.\n"
		 "\nOptions:\n" NETTC_USAGE
		 "\nExamples:\n"
		 "  tug net reset --peer 10.200.0.10 --port 5432 --for 30s\n"
		 "  tug net reset --peer 10.200.0.0/24,fd00:200::/64 --dir out --for 2m\n"
		 "  tug net reset --netns lab-gw --peer 10.200.0.2 --for 10s --json\n",
	.priv_size = sizeof(struct netreset_priv),
	.parse = netreset_parse,
	.prepare = netreset_prepare,
	.apply = netreset_apply,
	.describe = netreset_describe,
	.counters = netreset_counters,
	.revert = netreset_revert,
	.recover = nettc_recover,
	.backend = netreset_backend,
	.destroy = netreset_destroy,
};
