// SPDX-License-Identifier: GPL-2.0
/*
 * Socket faults for exactly one service: connect() to chosen peers, or DNS,
 * fails with the asked errno for the processes of one cgroup, and for
 * nobody else.
 *
 * cgroup/connect4/6 (and, for DNS, sendmsg4/6) programs choose the errno
 * with bpf_set_retval() and are attached through cgroup links on the v2
 * hierarchy: a link holds only while its fd is open, so the kernel takes
 * the fault away the moment tug exits, even on SIGKILL. Nothing outlives
 * the process, so there is no guardian and nothing to recover.
 *
 * dns-fail --answer redirects the DNS calls instead, to a responder on
 * loopback (dnsresp.c) that this process serves from its hold loop: it
 * goes with the process as the links do.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfmap.h"
#include "cgroup.h"
#include "dnsresp.h"
#include "fault.h"
#include "journal.h"
#include "log.h"
#include "netns.h"
#include "parse.h"
#include "sockfail.h"
#include "sockfail.skel.h"

#define SOCKFAIL_MAX_PEERS 1024

static const char *const counter_names[SOCKFAIL_COUNTER_MAX] = {
	[SOCKFAIL_REFUSED_CONNECT4] = "refused_v4",
	[SOCKFAIL_REFUSED_CONNECT6] = "refused_v6",
	[SOCKFAIL_PASSED] = "passed",
	[SOCKFAIL_REFUSED_SENDMSG4] = "refused_udp_v4",
	[SOCKFAIL_REFUSED_SENDMSG6] = "refused_udp_v6",
};

/* --answer: the same slots count redirections, then the answers. */
static const char *const answer_counter_names[SOCKFAIL_COUNTER_MAX] = {
	[SOCKFAIL_REFUSED_CONNECT4] = "redirected_v4",
	[SOCKFAIL_REFUSED_CONNECT6] = "redirected_v6",
	[SOCKFAIL_PASSED] = "passed",
	[SOCKFAIL_REFUSED_SENDMSG4] = "redirected_udp_v4",
	[SOCKFAIL_REFUSED_SENDMSG6] = "redirected_udp_v6",
	[SOCKFAIL_RESTORED] = "source_restored",
	[SOCKFAIL_OTHER_NETNS] = "refused_other_netns",
	[SOCKFAIL_ANSWERED] = "answered",	/* named after the answer in apply */
	[SOCKFAIL_ANSWERED_EMPTY] = "answered_empty",
	[SOCKFAIL_DROPPED] = "dropped",
	[SOCKFAIL_MALFORMED] = "malformed",
};

struct sockfail_peer {
	struct cidr cidr;
	uint16_t port;		/* 0 = any */
};

#define RESP_COUNTERS (SOCKFAIL_COUNTER_MAX - SOCKFAIL_ANSWERED)

struct sockfail_priv {
	enum sockfail_mode mode;
	struct sockfail_peer *peers;
	size_t npeers;
	int err;		/* the errno calls fail with */
	uint16_t dns_port;
	char *cgroup_arg;
	char cgroup[CGROUP_PATH_MAX];
	int cgroup_fd;
	struct dns_answer answer;	/* --answer */
	char *netns;			/* --netns: where the responder listens */
	char answered_name[32];		/* "answered_nxdomain" */
	const char *names[SOCKFAIL_COUNTER_MAX];

	struct sockfail_bpf *skel;
	struct bpf_link *links[8];
	size_t nlinks;
	struct dns_responder *resp;
	uint64_t *percpu;		/* one counter's value for each possible CPU */
	int ncpus;
	uint64_t published[RESP_COUNTERS];
};

/* The counters a verb can move: refuse never hooks sendmsg. */
static int ncounters(const struct sockfail_priv *p)
{
	return p->mode == SOCKFAIL_DNS_ANSWER ? SOCKFAIL_COUNTER_MAX :
	       p->mode == SOCKFAIL_DNS ? SOCKFAIL_REFUSED_SENDMSG6 + 1 : SOCKFAIL_PASSED + 1;
}

static const char peer_form[] =
	"an address or CIDR with an optional port, like 10.200.0.2, 10.0.0.0/8:5432 "
	"or [fd00::/64]:443 (a comma separated list)";

static int add_peers(struct sockfail_priv *p, const char *arg)
{
	char *dup = strdup(arg), *tok, *save = NULL;
	int err = 0;

	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct sockfail_peer *np;
		struct sockfail_peer peer;

		if (parse_cidr_port(tok, &peer.cidr, &peer.port)) {
			err = -EINVAL;
			break;
		}
		if (p->npeers == SOCKFAIL_MAX_PEERS) {
			err = -E2BIG;
			break;
		}
		np = realloc(p->peers, (p->npeers + 1) * sizeof(*np));
		if (!np) {
			err = -ENOMEM;
			break;
		}
		p->peers = np;
		p->peers[p->npeers++] = peer;
	}
	if (!err && !p->npeers)
		err = -EINVAL;
	free(dup);
	return err;
}

static int sockfail_parse(struct fault *f, int argc, char **argv)
{
	enum { OPT_CGROUP = 1, OPT_PEER, OPT_ERRNO, OPT_PORT, OPT_ANSWER, OPT_NETNS };
	static const struct option opts[] = {
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "peer", required_argument, NULL, OPT_PEER },
		{ "errno", required_argument, NULL, OPT_ERRNO },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "answer", required_argument, NULL, OPT_ANSWER },
		{ "netns", required_argument, NULL, OPT_NETNS },
		FAULT_COMMON_OPTIONS,
		{},
	};
	struct sockfail_priv *p = f->priv;
	json_object *peers;
	bool errno_given = false;
	char abuf[INET6_ADDRSTRLEN];
	uint64_t v;
	int opt, err;

	p->mode = !strcmp(f->ops->verb, "dns-fail") ? SOCKFAIL_DNS : SOCKFAIL_PEERS;
	p->err = ECONNREFUSED;
	p->dns_port = 53;
	p->cgroup_fd = -1;
	while ((opt = fault_getopt(f, argc, argv, opts, &err)) >= 0) {
		switch (opt) {
		case OPT_CGROUP:
			free(p->cgroup_arg);
			p->cgroup_arg = strdup(optarg);
			if (!p->cgroup_arg)
				return -ENOMEM;
			break;
		case OPT_PEER:
			if (p->mode == SOCKFAIL_DNS) {
				log_error("--peer: dns-fail fails every DNS server; use 'tug net refuse --peer %s:53'",
					  optarg);
				return -EINVAL;
			}
			err = add_peers(p, optarg);
			if (err == -ENOMEM)
				return err;
			if (err == -E2BIG) {
				log_error("--peer: at most %d peers", SOCKFAIL_MAX_PEERS);
				return -EINVAL;
			}
			if (err)
				return fault_bad_option("--peer", optarg, peer_form);
			break;
		case OPT_ERRNO:
			if (parse_errno_name(optarg, &p->err))
				return fault_bad_option("--errno", optarg,
							"an errno name or number, like ECONNREFUSED, ETIMEDOUT or 113");
			errno_given = true;
			break;
		case OPT_ANSWER:
		case OPT_NETNS:
			if (p->mode != SOCKFAIL_DNS) {
				log_error("%s: only 'tug net dns-fail' answers DNS",
					  opt == OPT_ANSWER ? "--answer" : "--netns");
				return -EINVAL;
			}
			if (opt == OPT_NETNS) {
				free(p->netns);
				p->netns = strdup(optarg);
				if (!p->netns)
					return -ENOMEM;
			} else if (dns_answer_parse(optarg, &p->answer)) {
				return fault_bad_option("--answer", optarg,
							"nxdomain, servfail, refused, timeout, or an IPv4 or IPv6 "
							"address, like 10.200.9.9 or fd00:200::9");
			}
			break;
		case OPT_PORT:
			if (p->mode != SOCKFAIL_DNS) {
				log_error("--port: give the port with the peer, like --peer 10.0.0.5:5432");
				return -EINVAL;
			}
			if (parse_uint(optarg, 1, 65535, &v))
				return fault_bad_option("--port", optarg, "a port number 1..65535");
			p->dns_port = v;
			break;
		}
	}
	if (err)
		return err;
	if (!p->cgroup_arg) {
		log_error("--cgroup: required; give the service's cgroup, like system.slice/gateway.service");
		return -EINVAL;
	}
	if (p->mode == SOCKFAIL_PEERS && !p->npeers) {
		log_error("--peer: required; give %s", peer_form);
		return -EINVAL;
	}
	if (p->netns && !p->answer.kind) {
		log_error("--netns: names where the responder of --answer listens; add --answer");
		return -EINVAL;
	}
	if (p->netns && (strchr(p->netns, '/') || !*p->netns || !strcmp(p->netns, ".") ||
			 !strcmp(p->netns, ".."))) {
		log_error("--netns: '%s' is not a name under /run/netns; give one 'ip netns list' shows",
			  p->netns);
		return -EINVAL;
	}
	if (p->answer.kind && errno_given) {
		log_error("--errno: calls are not failed when --answer answers them; give one of the two");
		return -EINVAL;
	}
	if (p->answer.kind)
		p->mode = SOCKFAIL_DNS_ANSWER;

	json_object_object_add(f->params, "cgroup", json_object_new_string(p->cgroup_arg));
	json_object_object_add(f->params, "errno", json_object_new_string(strerrorname_np(p->err) ?: "?"));
	if (p->mode == SOCKFAIL_DNS_ANSWER) {
		json_object_object_add(f->params, "answer",
				       json_object_new_string(dns_answer_name(&p->answer, abuf, sizeof(abuf))));
		if (p->netns)
			json_object_object_add(f->params, "netns", json_object_new_string(p->netns));
	}
	if (p->mode != SOCKFAIL_PEERS) {
		json_object_object_add(f->params, "port", json_object_new_int(p->dns_port));
		return 0;
	}
	peers = json_object_new_array();
	for (size_t i = 0; i < p->npeers && i < 64; i++) {
		char buf[80], out[96];

		format_cidr(&p->peers[i].cidr, buf, sizeof(buf));
		if (!p->peers[i].port)
			snprintf(out, sizeof(out), "%s", buf);
		else if (p->peers[i].cidr.family == AF_INET6)
			snprintf(out, sizeof(out), "[%s]:%u", buf, p->peers[i].port);
		else
			snprintf(out, sizeof(out), "%s:%u", buf, p->peers[i].port);
		json_object_array_add(peers, json_object_new_string(out));
	}
	json_object_object_add(f->params, "peers", peers);
	json_object_object_add(f->params, "npeers", json_object_new_int64(p->npeers));
	return 0;
}

static int sockfail_prepare(struct fault *f)
{
	struct sockfail_priv *p = f->priv;
	struct cgroup_dir cg;
	int err;

	if (p->netns && netns_exists(p->netns)) {
		log_error("--netns: no network namespace '%s' (/run/netns/%s); 'ip netns list' shows them",
			  p->netns, p->netns);
		return -ENOENT;
	}
	/* Socket hooks attach on the v2 hierarchy, whatever holds the controllers. */
	err = cgroup_resolve_flag(NULL, p->cgroup_arg, &cg);
	if (err)
		return err;
	snprintf(p->cgroup, sizeof(p->cgroup), "%s", cg.path);
	p->cgroup_fd = open(p->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->cgroup_fd < 0)
		return log_errno(-errno, "--cgroup: cannot open %s", p->cgroup);
	json_object_object_add(f->state, "cgroup", json_object_new_string(p->cgroup));
	json_object_object_add(f->state, "backend", json_object_new_string("cgroup-link"));
	if (p->mode != SOCKFAIL_PEERS)
		fault_add_knob(f, "DNS of cgroup %s", p->cgroup);
	else
		fault_add_knob(f, "connect() of cgroup %s to %s", p->cgroup,
			       json_object_to_json_string_ext(json_get(f->params, "peers"),
							      JSON_C_TO_STRING_PLAIN));
	return 0;
}

static int fill_peers(struct sockfail_priv *p)
{
	int fd4 = bpf_map__fd(p->skel->maps.peers4);
	int fd6 = bpf_map__fd(p->skel->maps.peers6);

	for (size_t i = 0; i < p->npeers; i++) {
		const struct sockfail_peer *s = &p->peers[i];
		/* The port leads the key, in network order; 0 (any port) is an
		 * entry of its own that the program looks up second. */
		const uint8_t port[2] = { s->port >> 8, s->port & 0xff };
		int err = lpm_add_cidr(fd4, fd6, port, sizeof(port), &s->cidr);

		if (err)
			return err;
	}
	return 0;
}

static int open_load(struct sockfail_priv *p, uint64_t deadline_boot_ns)
{
	struct sockfail_bpf *skel;
	size_t n4 = 0, n6 = 0;
	bool dns = p->mode != SOCKFAIL_PEERS, answer = p->mode == SOCKFAIL_DNS_ANSWER;
	int err;

	skel = sockfail_bpf__open();
	if (!skel)
		return -errno;
	for (size_t i = 0; i < p->npeers; i++)
		p->peers[i].cidr.family == AF_INET ? n4++ : n6++;
	skel->rodata->mode = p->mode;
	skel->rodata->fail_errno = p->err;
	skel->rodata->dns_port = p->dns_port;
	if (p->resp) {
		skel->rodata->resp_port = dns_responder_port(p->resp);
		skel->rodata->resp_netns_cookie = dns_responder_netns_cookie(p->resp);
	}
	skel->bss->deadline_boot_ns = deadline_boot_ns;
	bpf_map__set_max_entries(skel->maps.peers4, n4 ? n4 : 1);
	bpf_map__set_max_entries(skel->maps.peers6, n6 ? n6 : 1);
	bpf_program__set_autoload(skel->progs.tug_sf_sendmsg4, dns);
	bpf_program__set_autoload(skel->progs.tug_sf_sendmsg6, dns);
	bpf_program__set_autoload(skel->progs.tug_sf_recvmsg4, answer);
	bpf_program__set_autoload(skel->progs.tug_sf_recvmsg6, answer);
	bpf_program__set_autoload(skel->progs.tug_sf_getpeername4, answer);
	bpf_program__set_autoload(skel->progs.tug_sf_getpeername6, answer);

	err = sockfail_bpf__load(skel);
	if (err)
		goto cleanup;
	p->skel = skel;
	err = fill_peers(p);
	if (err)
		p->skel = NULL;
cleanup:
	if (err)
		sockfail_bpf__destroy(skel);
	return err;
}

static void detach_all(struct sockfail_priv *p)
{
	for (size_t i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	p->nlinks = 0;
}

/* The responder's counts go into the slots of CPU 0 of the counters map,
 * where `tug status` reads them with the kernel's. */
static void publish_answers(struct sockfail_priv *p)
{
	const struct dns_responder_stats *st = dns_responder_stats(p->resp);
	const uint64_t v[] = {
		[SOCKFAIL_ANSWERED - SOCKFAIL_ANSWERED] = st->answered,
		[SOCKFAIL_ANSWERED_EMPTY - SOCKFAIL_ANSWERED] = st->empty,
		[SOCKFAIL_DROPPED - SOCKFAIL_ANSWERED] = st->dropped,
		[SOCKFAIL_MALFORMED - SOCKFAIL_ANSWERED] = st->malformed,
	};
	int fd = bpf_map__fd(p->skel->maps.counters);

	for (int i = 0; i < RESP_COUNTERS; i++) {
		__u32 k = SOCKFAIL_ANSWERED + i;

		if (v[i] == p->published[i])
			continue;
		p->percpu[0] = v[i];
		if (!bpf_map_update_elem(fd, &k, p->percpu, BPF_ANY))
			p->published[i] = v[i];
	}
}

static void serve_dns(struct fault *f, void *ctx)
{
	struct sockfail_priv *p = ctx;

	dns_responder_serve(p->resp);
	publish_answers(p);
}

/* --answer: the responder first, as its port goes into the programs. */
static int open_responder(struct fault *f, struct sockfail_priv *p)
{
	char where[64], abuf[INET6_ADDRSTRLEN];
	int err;

	p->ncpus = libbpf_num_possible_cpus();
	if (p->ncpus <= 0)
		return p->ncpus ? p->ncpus : -EINVAL;
	p->percpu = calloc(p->ncpus, sizeof(*p->percpu));
	if (!p->percpu)
		return -ENOMEM;
	err = dns_responder_open(p->netns, &p->answer, &p->resp);
	if (err)
		return log_errno(err, "opening the DNS responder on loopback%s%s",
				 p->netns ? " in network namespace " : "", p->netns ?: ""), err;
	snprintf(p->answered_name, sizeof(p->answered_name), "answered_%s",
		 p->answer.kind == DNS_ANSWER_ADDRESS ? "address" :
		 dns_answer_name(&p->answer, abuf, sizeof(abuf)));
	p->names[SOCKFAIL_ANSWERED] = p->answered_name;
	snprintf(where, sizeof(where), "127.0.0.1:%u", dns_responder_port(p->resp));
	json_object_object_add(f->state, "responder", json_object_new_string(where));
	f->event_fd = dns_responder_fd(p->resp);
	f->on_event = serve_dns;
	f->event_ctx = p;
	return 0;
}

static int sockfail_apply(struct fault *f)
{
	struct sockfail_priv *p = f->priv;
	struct bpf_program *progs[8];
	json_object *names, *ids;
	size_t nprogs = 0;
	int err;

	memcpy(p->names, p->mode == SOCKFAIL_DNS_ANSWER ? answer_counter_names : counter_names,
	       sizeof(p->names));
	if (p->mode == SOCKFAIL_DNS_ANSWER) {
		err = open_responder(f, p);
		if (err)
			return err;
	}
	err = open_load(p, f->deadline_boot_ns);
	if (err)
		return log_errno(err, "loading the cgroup socket hooks"), err;
	f->kernel_deadline = &p->skel->bss->deadline_boot_ns;
	progs[nprogs++] = p->skel->progs.tug_sf_connect4;
	progs[nprogs++] = p->skel->progs.tug_sf_connect6;
	if (p->mode != SOCKFAIL_PEERS) {
		progs[nprogs++] = p->skel->progs.tug_sf_sendmsg4;
		progs[nprogs++] = p->skel->progs.tug_sf_sendmsg6;
	}
	if (p->mode == SOCKFAIL_DNS_ANSWER) {
		progs[nprogs++] = p->skel->progs.tug_sf_recvmsg4;
		progs[nprogs++] = p->skel->progs.tug_sf_recvmsg6;
		progs[nprogs++] = p->skel->progs.tug_sf_getpeername4;
		progs[nprogs++] = p->skel->progs.tug_sf_getpeername6;
	}
	ids = json_object_new_array();
	for (size_t i = 0; i < nprogs; i++) {
		struct bpf_link *l = bpf_program__attach_cgroup(progs[i], p->cgroup_fd);

		if (!l) {
			err = -errno;
			log_errno(err, "attaching %s to %s", bpf_program__section_name(progs[i]),
				  p->cgroup);
			json_object_put(ids);
			detach_all(p);
			return err;
		}
		p->links[p->nlinks++] = l;
		{
			struct bpf_link_info info = {};
			__u32 len = sizeof(info);

			if (!bpf_obj_get_info_by_fd(bpf_link__fd(l), &info, &len))
				json_object_array_add(ids, json_object_new_int(info.id));
		}
	}
	json_object_object_add(f->state, "link_ids", ids);

	names = json_object_new_array();
	for (int i = 0; i < ncounters(p); i++)
		json_object_array_add(names, json_object_new_string(p->names[i]));
	json_object_object_add(f->state, "counters_map_id",
			       json_object_new_int(bpf_map_id(bpf_map__fd(p->skel->maps.counters))));
	json_object_object_add(f->state, "counter_names", names);
	return 0;
}

static int sockfail_counters(struct fault *f, struct fault_counter *c, int max)
{
	struct sockfail_priv *p = f->priv;

	if (!p->skel || max < ncounters(p))
		return 0;
	return fault_read_percpu_counters(bpf_map__fd(p->skel->maps.counters), p->names,
					  ncounters(p), c);
}

static int sockfail_revert(struct fault *f)
{
	struct sockfail_priv *p = f->priv;

	/* Hooks first: nothing is sent to the responder once it is gone. */
	detach_all(p);
	dns_responder_close(p->resp);
	p->resp = NULL;
	f->event_fd = -1;
	f->on_event = NULL;
	return 0;
}

static void sockfail_describe(struct fault *f, char *buf, size_t len)
{
	struct sockfail_priv *p = f->priv;
	const char *name = strerrorname_np(p->err) ?: "?";
	char peer[80];

	if (p->mode == SOCKFAIL_DNS) {
		snprintf(buf, len, "DNS (UDP and TCP port %u) fails with %s for cgroup %s",
			 p->dns_port, name, p->cgroup);
		return;
	}
	if (p->mode == SOCKFAIL_DNS_ANSWER) {
		char abuf[INET6_ADDRSTRLEN];
		const char *a = dns_answer_name(&p->answer, abuf, sizeof(abuf));

		snprintf(buf, len, "DNS (UDP and TCP port %u) of cgroup %s %s%s%s, by tug's responder "
			 "on 127.0.0.1/::1 port %u%s%s", p->dns_port, p->cgroup,
			 p->answer.kind == DNS_ANSWER_TIMEOUT ? "never answered" : "answered ",
			 p->answer.kind == DNS_ANSWER_TIMEOUT ? "" : a,
			 p->answer.kind == DNS_ANSWER_ADDRESS ? " (TTL 1s)" : "",
			 p->resp ? dns_responder_port(p->resp) : 0,
			 p->netns ? " in netns " : "", p->netns ?: "");
		return;
	}
	format_cidr(&p->peers[0].cidr, peer, sizeof(peer));
	if (p->peers[0].port)
		snprintf(peer + strlen(peer), sizeof(peer) - strlen(peer), " port %u",
			 p->peers[0].port);
	snprintf(buf, len, "connect() to %s%s fails with %s for cgroup %s", peer,
		 p->npeers > 1 ? " and others" : "", name, p->cgroup);
}

static const char *sockfail_backend(char *why, size_t len)
{
	snprintf(why, len, "cgroup links on the v2 hierarchy, errno by bpf_set_retval; "
		 "the kernel detaches them when tug exits");
	return "cgroup-link";
}

/* dns-fail --answer loads four more hooks (recvmsg4/6 since 5.2,
 * getpeername4/6 since 5.8): load them to know. */
static const char *dns_fail_backend(char *why, size_t len)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	struct sockfail_bpf *skel = sockfail_bpf__open();
	int err = skel ? 0 : -errno;

	if (skel) {
		skel->rodata->mode = SOCKFAIL_DNS_ANSWER;
		err = sockfail_bpf__load(skel);
		sockfail_bpf__destroy(skel);
	}
	libbpf_set_print(old);
	snprintf(why, len, "cgroup links on the v2 hierarchy, errno by bpf_set_retval; --answer: %s%s; "
		 "the kernel detaches them when tug exits",
		 err ? "unavailable, the recvmsg/getpeername hooks do not load: " :
		 "connect/sendmsg redirected to a responder on loopback, recvmsg/getpeername "
		 "name the server asked", err ? strerror(-err) : "");
	return "cgroup-link";
}

static void sockfail_destroy(struct fault *f)
{
	struct sockfail_priv *p = f->priv;

	detach_all(p);
	dns_responder_close(p->resp);
	free(p->percpu);
	free(p->netns);
	sockfail_bpf__destroy(p->skel);
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	free(p->peers);
	free(p->cgroup_arg);
}

#define SOCKFAIL_CGROUP_USAGE \
	"  --cgroup PATH          the service's cgroup on the v2 hierarchy (absolute, or\n" \
	"                         relative to its mount: system.slice/gateway.service);\n" \
	"                         its child cgroups are included\n" \
	"  --errno NAME           what the calls fail with (default ECONNREFUSED)\n"

const struct fault_ops net_refuse_ops = {
	.family = "net",
	.verb = "refuse",
	.summary = "connect() to peers fails with an errno, for one cgroup only",
	.usage = "Options:\n"
		 SOCKFAIL_CGROUP_USAGE
		 "  --peer CIDR[:PORT]     peers whose connect() fails (IPv4 or IPv6, [V6]:PORT;\n"
		 "                         comma separated, repeatable)\n"
		 "\nExamples:\n"
		 "  tug net refuse --cgroup system.slice/gateway.service --peer 10.200.0.3:5432 --for 60s\n"
		 "  tug net refuse --cgroup /sys/fs/cgroup/app --peer 10.0.0.0/8,[fd00::/64]:443 --errno ETIMEDOUT\n",
	.priv_size = sizeof(struct sockfail_priv),
	.parse = sockfail_parse,
	.prepare = sockfail_prepare,
	.apply = sockfail_apply,
	.describe = sockfail_describe,
	.counters = sockfail_counters,
	.revert = sockfail_revert,
	.backend = sockfail_backend,
	.destroy = sockfail_destroy,
};

const struct fault_ops net_dns_fail_ops = {
	.family = "net",
	.verb = "dns-fail",
	.summary = "DNS (UDP and TCP port 53) fails or is answered as asked, for one cgroup only",
	.usage = "Options:\n"
		 SOCKFAIL_CGROUP_USAGE
		 "  --port N               the DNS port (default 53)\n"
		 "  --answer WHAT          answer instead of failing: nxdomain, servfail, refused,\n"
		 "                         timeout (never answer), or an IPv4 or IPv6 ADDRESS\n"
		 "                         (A or AAAA queries get it, TTL 1s; the other type an\n"
		 "                         empty NOERROR answer)\n"
		 "  --netns NAME           with --answer: the service's network namespace\n"
		 "                         (/run/netns/NAME), where the responder listens\n"
		 "\nUDP connect() and sendto() and TCP connect() to the port fail, so the\n"
		 "service's resolver reports a failure (getaddrinfo: EAI_AGAIN). Lookups that\n"
		 "do not leave the process by a socket (/etc/hosts, nscd, nss-resolve over\n"
		 "D-Bus) are not affected.\n"
		 "\nWith --answer the same calls go to a responder tug runs on 127.0.0.1 and ::1\n"
		 "(in --netns NAME, else tug's own namespace) for as long as the fault holds;\n"
		 "the answers seem to come from the server the service asked. A process of\n"
		 "the cgroup in another network namespace gets ECONNREFUSED instead.\n"
		 "\nExamples:\n"
		 "  tug net dns-fail --cgroup system.slice/gateway.service --for 30s\n"
		 "  tug net dns-fail --cgroup system.slice/gateway.service --answer nxdomain --for 30s\n"
		 "  tug net dns-fail --cgroup app.slice/api.service --answer 10.200.9.9 --for 1m\n"
		 "  tug net dns-fail --cgroup /sys/fs/cgroup/ctr --netns ctr --answer timeout\n",
	.priv_size = sizeof(struct sockfail_priv),
	.parse = sockfail_parse,
	.prepare = sockfail_prepare,
	.apply = sockfail_apply,
	.describe = sockfail_describe,
	.counters = sockfail_counters,
	.revert = sockfail_revert,
	.backend = dns_fail_backend,
	.destroy = sockfail_destroy,
};
