// SPDX-License-Identifier: GPL-2.0
/*
 * The node family: the whole node at once.
 *
 * Node isolate: cut every peer of the node but the control channel, until
 * the deadline. The tc engine (nettc.h) does the attach and the revert, with
 * every address as its peers and every non-loopback interface as its
 * devices; this module adds what stays reachable: the SSH session's peer on
 * the local sshd port (SSH_CONNECTION) and each --keep. Without either it
 * refuses, since a node nobody can reach cannot be told to revert.
 *
 * Node reboot (a one-shot action): say the boot id, then leave a detached
 * process to run `systemctl reboot` a moment later, so the answer reaches
 * the orchestrator before the node goes down. The orchestrator compares the
 * boot id after it reconnects.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "bpfmap.h"
#include "commands.h"
#include "fault.h"
#include "json.h"
#include "kernel.h"
#include "log.h"
#include "spawn.h"
#include "netns.h"
#include "nettc.h"
#include "isolate.h"
#include "isolate.skel.h"
#include "parse.h"
#include "proc.h"

#define NODE_MAX_KEEPS 64

static const char *const counter_names[NODE_COUNTER_MAX] = {
	[NODE_DROPPED_IN] = "dropped_in",
	[NODE_DROPPED_OUT] = "dropped_out",
	[NODE_KEPT_IN] = "kept_in",
	[NODE_KEPT_OUT] = "kept_out",
};

struct node_keep {
	struct cidr cidr;
	uint16_t port;		/* 0 = any */
};

struct node_priv {
	struct nettc tc;	/* first: the nettc_fault_* callbacks take priv as it */
	struct node_keep keeps[NODE_MAX_KEEPS];
	size_t nkeeps;
};

static const char keep_form[] =
	"ADDR[/LEN][:PORT], like 10.200.0.1:22, 10.200.0.0/24 or [fd00::1]:22";

/* One --keep: a comma-separated list (an experiment's args mapping gives
 * each option once). */
static int add_keeps(struct node_priv *p, const char *arg)
{
	char *dup = strdup(arg), *tok, *save = NULL;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		struct node_keep *k = &p->keeps[p->nkeeps];

		if (p->nkeeps == NODE_MAX_KEEPS) {
			log_error("--keep: at most %d", NODE_MAX_KEEPS);
			err = -EINVAL;
		} else if (parse_cidr_port(tok, &k->cidr, &k->port)) {
			err = fault_bad_option("--keep", tok, keep_form);
		} else {
			p->nkeeps++;
		}
	}
	free(dup);
	return err;
}

/* The SSH session's peer, on the local sshd port in both directions: a new
 * session from the orchestrator (a reconnect) is kept too, not only this
 * one. */
static void keep_ssh_peer(struct node_priv *p)
{
	struct node_keep *k = &p->keeps[p->nkeeps];
	struct nettc *t = &p->tc;

	nettc_find_control(t);
	if (!t->ctl_family || p->nkeeps == NODE_MAX_KEEPS)
		return;
	*k = (struct node_keep){
		.cidr.family = t->ctl_family == 4 ? AF_INET : AF_INET6,
		.cidr.prefixlen = t->ctl_family == 4 ? 32 : 128,
		.port = t->ctl_local_port,
	};
	memcpy(k->cidr.addr, t->ctl_addr, t->ctl_family == 4 ? 4 : 16);
	p->nkeeps++;
}

static int node_parse(struct fault *f, int argc, char **argv)
{
	enum { OPT_KEEP = NETTC_OPT_VERB };
	static const struct option opts[] = {
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "dev", required_argument, NULL, NETTC_OPT_DEV },
		{ "netns", required_argument, NULL, NETTC_OPT_NETNS },
		{ "backend", required_argument, NULL, NETTC_OPT_BACKEND },
		FAULT_COMMON_OPTIONS,
		{},
	};
	struct node_priv *p = f->priv;
	json_object *keeps;
	int opt, err;

	nettc_init(&p->tc);
	while ((opt = fault_getopt(f, argc, argv, opts, &err)) >= 0) {
		err = opt == OPT_KEEP ? add_keeps(p, optarg) : nettc_parse_option(&p->tc, opt, optarg);
		if (err)
			return err;
	}
	if (err)
		return err;
	keep_ssh_peer(p);
	if (!p->nkeeps) {
		log_error("--keep: would cut the control channel: give --keep ADDR[:PORT] "
			  "(tug was not started over SSH, so there is no session to keep)");
		return -EINVAL;
	}
	/* The session found above is kept by its own entry. */
	p->tc.include_control = true;
	err = nettc_parse_option(&p->tc, NETTC_OPT_PEER, "0.0.0.0/0,::/0");
	if (!err)
		err = nettc_parse_done(f, &p->tc);
	if (err)
		return err;
	keeps = json_object_new_array();
	for (size_t i = 0; i < p->nkeeps; i++) {
		char buf[80];
		size_t n;

		format_cidr(&p->keeps[i].cidr, buf, sizeof(buf));
		n = strlen(buf);
		if (p->keeps[i].port)
			snprintf(buf + n, sizeof(buf) - n, " port %u", p->keeps[i].port);
		json_object_array_add(keeps, json_object_new_string(buf));
	}
	json_object_object_add(f->params, "keep", keeps);
	return 0;
}

/* --dev, or every interface of the namespace but loopback. */
static int list_devs(struct nettc *t)
{
	struct nl_sock *sk = NULL;
	struct nl_cache *cache = NULL;
	char *devs = NULL;
	size_t len = 0;
	int orig = -1, err;

	if (t->dev_arg)
		return 0;
	if (*t->netns && netns_exists(t->netns))
		return 0;	/* nettc_prepare says so */
	err = netns_enter(t->netns, &orig);
	if (err)
		return log_errno(err, "--netns: cannot enter '%s'", t->netns);
	sk = nl_socket_alloc();
	if (!sk) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = nl_connect(sk, NETLINK_ROUTE) ?: rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (err) {
		log_error("netlink: listing interfaces: %s", nl_geterror(err));
		err = -EIO;
		goto cleanup;
	}
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(l);
		char *nd;

		if ((rtnl_link_get_flags(l) & IFF_LOOPBACK) || !name)
			continue;
		nd = realloc(devs, len + strlen(name) + 2);
		if (!nd) {
			err = -ENOMEM;
			goto cleanup;
		}
		devs = nd;
		len += sprintf(devs + len, "%s%s", len ? "," : "", name);
	}
	if (!devs) {
		log_error("--dev: no interface but loopback%s%s: nothing to isolate",
			  *t->netns ? " in namespace " : "", t->netns);
		err = -EINVAL;
		goto cleanup;
	}
	t->dev_arg = devs;
	devs = NULL;
cleanup:
	free(devs);
	if (cache)
		nl_cache_free(cache);
	nl_socket_free(sk);
	netns_leave(orig);
	return err;
}

static int node_prepare(struct fault *f)
{
	struct node_priv *p = f->priv;

	return list_devs(&p->tc) ?: nettc_prepare(f, &p->tc);
}

static int fill_keeps(struct fault *f, void *skel)
{
	struct isolate_bpf *obj = skel;
	struct node_priv *p = f->priv;
	int fd4 = bpf_map__fd(obj->maps.keep4);
	int fd6 = bpf_map__fd(obj->maps.keep6);

	for (size_t i = 0; i < p->nkeeps; i++) {
		/* The port leads the key, in network order (isolate.h). */
		const uint8_t port[2] = { p->keeps[i].port >> 8, p->keeps[i].port & 0xff };
		int err = lpm_add_cidr(fd4, fd6, port, sizeof(port), &p->keeps[i].cidr);

		if (err)
			return err;
	}
	return 0;
}

static int node_open(struct fault *f, struct nettc_half *h)
{
	struct node_priv *p = f->priv;
	struct isolate_bpf *skel = isolate_bpf__open();
	size_t n4 = 0, n6 = 0;
	int err;

	if (!skel)
		return -errno;
	for (size_t i = 0; i < p->nkeeps; i++)
		p->keeps[i].cidr.family == AF_INET ? n4++ : n6++;
	NETTC_SET_RODATA(skel, &p->tc);
	skel->bss->deadline_boot_ns = f->deadline_boot_ns;
	err = bpf_map__set_max_entries(skel->maps.keep4, n4 ? n4 : 1) ?:
	      bpf_map__set_max_entries(skel->maps.keep6, n6 ? n6 : 1);
	if (err) {
		isolate_bpf__destroy(skel);
		return err;
	}
	*h = (struct nettc_half){
		.skel = skel, .s = skel->skeleton,
		.prog = { skel->progs.tug_node_ingress, skel->progs.tug_node_egress },
	};
	return 0;
}

static void node_skel_destroy(void *skel)
{
	isolate_bpf__destroy(skel);
}

static int node_load(struct fault *f)
{
	struct node_priv *p = f->priv;

	return nettc_load(f, &p->tc, &(struct nettc_verb){
		.open = node_open, .destroy = node_skel_destroy, .fill = fill_keeps,
		.counter_names = counter_names, .ncounters = NODE_COUNTER_MAX,
	});
}

static int node_apply(struct fault *f)
{
	struct node_priv *p = f->priv;
	int err;

	err = nettc_apply(f, &p->tc);
	if (!err)
		f->kernel_deadline = &((struct isolate_bpf *)p->tc.half[0].skel)->bss->deadline_boot_ns;
	return err;
}

static void node_describe(struct fault *f, char *buf, size_t len)
{
	struct node_priv *p = f->priv;
	const char *keeps = json_object_to_json_string_ext(json_get(f->params, "keep"),
							   JSON_C_TO_STRING_PLAIN);
	size_t off;

	off = snprintf(buf, len, "every peer on ");
	for (size_t i = 0; i < p->tc.ndevs && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? "," : "", p->tc.devs[i].name);
	if (off < len)
		snprintf(buf + off, len - off, "%s%s (%s) but %s", *p->tc.netns ? " in netns " : "",
			 p->tc.netns, json_get_str(f->state, "backend", "?"), keeps);
}

static void node_destroy(struct fault *f)
{
	struct node_priv *p = f->priv;

	nettc_destroy(&p->tc);
}

const struct fault_ops node_isolate_ops = {
	.family = "node",
	.verb = "isolate",
	.summary = "cut every peer of the node but the control channel, until the deadline",
	.usage =
	"Every IP packet in and out of the node's interfaces is dropped but the\n"
	"control channel's: the peer of the SSH session tug was started over\n"
	"(SSH_CONNECTION), on the local sshd port, and each --keep. ARP and IPv6\n"
	"neighbour discovery pass. Without SSH_CONNECTION and without --keep tug\n"
	"refuses: nobody could reach the node to end the fault.\n"
	"\nOptions:\n"
	"  --keep ADDR[/LEN][:PORT][,...]  also keep these peers (on that port, local\n"
	"                         or remote: any port when absent); repeatable\n"
	"  --dev IFACE[,IFACE]    interfaces (default: every one but loopback)\n"
	"  --netns NAME           act inside this network namespace (tug enters it itself)\n"
	NETTC_BACKEND_USAGE
	"\nExamples:\n"
	"  tug node isolate --for 60s                      # over SSH: that session stays\n"
	"  tug node isolate --keep 10.200.0.1:22,10.200.0.0/24:5432 --for 2m\n"
	"  tug node isolate --dev eth1 --keep [fd00:200::1]:22 --for 30s\n",
	.priv_size = sizeof(struct node_priv),
	.parse = node_parse,
	.prepare = node_prepare,
	.load = node_load, .apply = node_apply,
	.describe = node_describe,
	.counters = nettc_fault_counters,
	.revert = nettc_fault_revert,
	.recover = nettc_recover,
	.backend = nettc_backend,
	.destroy = node_destroy,
};

/* ---- node reboot ---- */

static const char reboot_usage[] =
	"usage: tug node reboot [--in DUR] [--json]\n\n"
	"Reboot this node through systemd (systemctl reboot). tug first prints the\n"
	"current boot id and the time, then a detached process (its own session,\n"
	"no terminal) asks for the reboot --in later, so the answer reaches the\n"
	"orchestrator before the node goes down. `tug run` then waits until the\n"
	"node answers SSH with a new boot id. Needs systemd as PID 1.\n"
	"\nOptions:\n"
	"  --in DUR      delay before the reboot, 100ms..10m (default 1s; --wait is the same)\n"
	"  --json        one JSON object per event on stdout\n"
	"\nExamples:\n"
	"  tug node reboot\n"
	"  tug node reboot --in 5s --json\n";

static int read_line_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		err = -EIO;
	else
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return err;
}

/* In the child: wait, then ask systemd for the reboot. */
static int reboot_later(void *arg)
{
	uint64_t in_ns = *(const uint64_t *)arg;
	struct timespec ts = { in_ns / NSEC_PER_SEC, in_ns % NSEC_PER_SEC };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	execlp("systemctl", "systemctl", "reboot", (char *)NULL);
	return 127;
}

/* Its own session and /dev/null for stdio, so neither the SSH channel nor
 * tug's exit takes it along; tug does not wait for it. */
static int spawn_reboot(uint64_t in_ns)
{
	struct spawn_opts o = {
		.fds = { { SPAWN_DEVNULL, 0 }, { SPAWN_DEVNULL, 1 }, { SPAWN_DEVNULL, 2 } },
		.n_fds = 3,
		.new_session = true,
		.name = "tug-reboot",
		.fn = reboot_later,
		.arg = &in_ns,
	};
	pid_t pid;

	return spawn(&o, &pid, NULL);
}

int cmd_node_reboot(int argc, char **argv, bool json)
{
	enum { O_IN = 1 };
	static const struct option opts[] = {
		{ "in", required_argument, NULL, O_IN },
		{ "wait", required_argument, NULL, O_IN },
		ACTION_COMMON_OPTIONS,
		{},
	};
	struct action_out out = { .name = "node reboot" };
	uint64_t in_ns = NSEC_PER_SEC;
	char boot_id[64], comm[64];
	json_object *x;
	int opt, err;

	while ((opt = action_getopt(argc, argv, opts, &json, &err)) >= 0) {
		if (parse_duration(optarg, &in_ns) || in_ns < 100 * NSEC_PER_MSEC ||
		    in_ns > 600 * NSEC_PER_SEC) {	/* O_IN, the verb's only option */
			fault_bad_option("--in", optarg, "a duration 100ms..10m, like 1s or 30s");
			goto usage;
		}
	}
	if (err == 1) {
		fputs(reboot_usage, stdout);
		return EXIT_SUCCESS;
	}
	if (err)
		goto usage;
	if (!host_has_systemd(comm, sizeof(comm))) {
		log_error("PID 1 is '%s', not systemd: tug reboots a node only through systemd "
			  "(systemctl reboot; 'tug doctor' says so too); nothing was done", comm);
		return 2;
	}
	err = read_line_file(TUG_BOOT_ID_PATH, boot_id, sizeof(boot_id));
	if (err) {
		log_errno(err, "cannot read %s; nothing was done", TUG_BOOT_ID_PATH);
		return EXIT_FAILURE;
	}
	out.json = json;
	x = json_object_new_object();
	json_object_object_add(x, EVF_BOOT_ID, json_object_new_string(boot_id));
	json_object_object_add(x, EVF_IN_MS, json_object_new_int64(in_ns / NSEC_PER_MSEC));
	action_emit(&out, EV_REBOOTING, x);
	err = spawn_reboot(in_ns);
	if (err) {
		log_errno(err, "cannot start the process that reboots the node");
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
usage:
	log_error("nothing was done; see 'tug node reboot --help'");
	return 2;
}
