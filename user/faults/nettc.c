// SPDX-License-Identifier: GPL-2.0
/*
 * Network faults: partitions and packet loss for exactly the peers asked.
 *
 * One tc classifier per direction, attached through tcx links where the
 * kernel has them (>= 6.6): the kernel detaches a link when its last fd
 * closes, so even a SIGKILLed controller takes its partition with it. On
 * older kernels the classifier goes on a clsact qdisc; those filters outlive
 * the process, so the guardian and `tug recover` remove them, and only the
 * filters (and the qdisc) tug created itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/pkt_sched.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netlink/netlink.h>
#include <netlink/route/classifier.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/route.h>

#include "bpfmap.h"
#include "fault.h"
#include "journal.h"
#include "kernel.h"
#include "log.h"
#include "net.h"
#include "net.skel.h"
#include "netns.h"
#include "parse.h"

#define NET_MAX_DEVS 32

enum net_backend { NET_BACKEND_AUTO, NET_BACKEND_TCX, NET_BACKEND_CLSACT };
static const char *const backend_names[] = { "auto", "tcx", "clsact" };

static const char *const counter_names[NET_COUNTER_MAX] = {
	[NET_DROPPED_IN] = "dropped_in",
	[NET_DROPPED_OUT] = "dropped_out",
	[NET_PASSED_IN] = "passed_in",
	[NET_PASSED_OUT] = "passed_out",
	[NET_SPARED_CONTROL] = "spared_control",
};

struct net_dev {
	char name[IF_NAMESIZE];
	int ifindex;
};

/* A clsact filter tug attached: exactly what to remove, and how to know it
 * is still ours (the program id). */
struct net_filter {
	int ifindex;
	bool ingress;
	bool created_hook;
	__u32 handle;
	__u32 priority;
	__u32 prog_id;
};

struct net_priv {
	bool loss;
	struct cidr *peers;
	size_t npeers;
	char *dev_arg;
	char netns[64];
	bool in, out;
	uint16_t port;
	uint8_t proto;
	double percent;
	bool include_control;
	enum net_backend backend;

	int ctl_family;
	uint8_t ctl_addr[16];
	uint16_t ctl_remote_port, ctl_local_port;

	struct net_dev devs[NET_MAX_DEVS];
	size_t ndevs;

	struct net_bpf *skel;
	int link_fds[2 * NET_MAX_DEVS];
	size_t nlinks;
	struct net_filter filters[2 * NET_MAX_DEVS];
	size_t nfilters;
};

static int add_peers(struct net_priv *p, const char *arg)
{
	struct cidr *v, *nv;
	size_t n;
	int err;

	err = parse_cidr_list(arg, &v, &n);
	if (err)
		return err;
	nv = realloc(p->peers, (p->npeers + n) * sizeof(*nv));
	if (!nv) {
		free(v);
		return -ENOMEM;
	}
	memcpy(nv + p->npeers, v, n * sizeof(*v));
	p->peers = nv;
	p->npeers += n;
	free(v);
	return 0;
}

static int add_peers_file(struct net_priv *p, const char *path)
{
	char line[256];
	int lineno = 0, err = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		err = -errno;
		log_errno(err, "--peers-file: cannot open '%s'", path);
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;

		lineno++;
		s += strspn(s, " \t");
		e = s + strcspn(s, " \t\r\n#");
		*e = '\0';
		if (!*s)
			continue;
		err = add_peers(p, s);
		if (err) {
			log_error("--peers-file: %s:%d: '%s' is not an address or CIDR",
				  path, lineno, s);
			err = -EINVAL;
			break;
		}
	}
	fclose(f);
	return err;
}

static const char peer_form[] =
	"an IPv4/IPv6 address or CIDR list, like 10.200.0.2,10.200.1.0/24 or fd00::/64";

static int net_parse(struct fault *f, int argc, char **argv)
{
	enum { OPT_PEER = 1, OPT_PEERS_FILE, OPT_DEV, OPT_NETNS, OPT_DIR, OPT_PORT,
	       OPT_PROTO, OPT_PERCENT, OPT_INCLUDE_CONTROL, OPT_BACKEND };
	static const struct option opts[] = {
		{ "peer", required_argument, NULL, OPT_PEER },
		{ "peers-file", required_argument, NULL, OPT_PEERS_FILE },
		{ "dev", required_argument, NULL, OPT_DEV },
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "proto", required_argument, NULL, OPT_PROTO },
		{ "percent", required_argument, NULL, OPT_PERCENT },
		{ "include-control", no_argument, NULL, OPT_INCLUDE_CONTROL },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		FAULT_COMMON_OPTIONS,
		{},
	};
	struct net_priv *p = f->priv;
	bool have_percent = false;
	json_object *peers;
	uint64_t v;
	int opt, err;

	p->loss = !strcmp(f->ops->verb, "loss");
	p->in = p->out = true;
	p->percent = 100;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_PEER:
			err = add_peers(p, optarg);
			if (err == -ENOMEM)
				return err;
			if (err)
				return fault_bad_option("--peer", optarg, peer_form);
			break;
		case OPT_PEERS_FILE:
			err = add_peers_file(p, optarg);
			if (err)
				return err;
			break;
		case OPT_DEV:
			free(p->dev_arg);
			p->dev_arg = strdup(optarg);
			if (!p->dev_arg)
				return -ENOMEM;
			break;
		case OPT_NETNS:
			if (strlen(optarg) >= sizeof(p->netns) || strchr(optarg, '/') || !*optarg)
				return fault_bad_option("--netns", optarg,
							"a namespace name as 'ip netns list' shows it");
			strcpy(p->netns, optarg);
			break;
		case OPT_DIR:
			if (!strcmp(optarg, "in"))
				p->out = false;
			else if (!strcmp(optarg, "out"))
				p->in = false;
			else if (strcmp(optarg, "both"))
				return fault_bad_option("--dir", optarg, "one of in, out, both");
			break;
		case OPT_PORT:
			if (parse_uint(optarg, 1, 65535, &v))
				return fault_bad_option("--port", optarg, "a port number 1..65535");
			p->port = v;
			break;
		case OPT_PROTO:
			if (!strcmp(optarg, "tcp"))
				p->proto = 6;
			else if (!strcmp(optarg, "udp"))
				p->proto = 17;
			else
				return fault_bad_option("--proto", optarg, "tcp or udp");
			break;
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
		case OPT_INCLUDE_CONTROL:
			p->include_control = true;
			break;
		case OPT_BACKEND:
			if (!strcmp(optarg, "auto"))
				p->backend = NET_BACKEND_AUTO;
			else if (!strcmp(optarg, "tcx"))
				p->backend = NET_BACKEND_TCX;
			else if (!strcmp(optarg, "clsact"))
				p->backend = NET_BACKEND_CLSACT;
			else
				return fault_bad_option("--backend", optarg, "one of auto, tcx, clsact");
			break;
		default:
			err = fault_parse_common(f, opt, optarg);
			if (err)
				return err;
		}
	}
	if (fault_parse_done(argc, argv))
		return -EINVAL;
	if (!p->npeers) {
		log_error("--peer: required; give %s (or --peers-file FILE)", peer_form);
		return -EINVAL;
	}
	if (p->loss && !have_percent) {
		log_error("--percent: required for loss, like --percent 30");
		return -EINVAL;
	}

	peers = json_object_new_array();
	for (size_t i = 0; i < p->npeers && i < 64; i++) {
		char buf[64];

		json_object_array_add(peers, json_object_new_string(format_cidr(&p->peers[i], buf, sizeof(buf))));
	}
	json_object_object_add(f->params, "peers", peers);
	json_object_object_add(f->params, "npeers", json_object_new_int64(p->npeers));
	json_object_object_add(f->params, "dir", json_object_new_string(p->in && p->out ? "both" : p->in ? "in" : "out"));
	json_object_object_add(f->params, "port", json_object_new_int(p->port));
	json_object_object_add(f->params, "proto", json_object_new_string(p->proto == 6 ? "tcp" : p->proto == 17 ? "udp" : "any"));
	json_object_object_add(f->params, "percent", json_object_new_double(p->percent));
	return 0;
}

/* The devices that route to the peers, from the kernel's own route lookup. */
static int resolve_routes(struct net_priv *p)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err = 0;

	if (!sk)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err) {
		log_error("netlink: %s", nl_geterror(err));
		err = -EIO;
		goto cleanup;
	}
	for (size_t i = 0; i < p->npeers; i++) {
		const struct cidr *c = &p->peers[i];
		struct rtnl_route *route = NULL;
		struct rtnl_nexthop *nh;
		struct nl_addr *dst;
		char buf[64];
		int ifindex;

		dst = nl_addr_build(c->family, c->addr, c->family == AF_INET ? 4 : 16);
		if (!dst) {
			err = -ENOMEM;
			goto cleanup;
		}
		err = rtnl_route_lookup(sk, dst, &route);
		nl_addr_put(dst);
		nh = !err && route && rtnl_route_get_nnexthops(route) > 0 ?
			rtnl_route_nexthop_n(route, 0) : NULL;
		ifindex = nh ? rtnl_route_nh_get_ifindex(nh) : 0;
		if (route)
			rtnl_route_put(route);
		if (ifindex <= 0) {
			log_error("--peer: no interface%s%s routes to %s; give --dev IFACE",
				  *p->netns ? " in namespace " : "", p->netns,
				  format_cidr(c, buf, sizeof(buf)));
			err = -EINVAL;
			goto cleanup;
		}
		err = 0;
		for (size_t d = 0; d < p->ndevs; d++)
			if (p->devs[d].ifindex == ifindex)
				goto next;
		if (p->ndevs == NET_MAX_DEVS) {
			log_error("--peer: the peers route through more than %d interfaces", NET_MAX_DEVS);
			err = -EINVAL;
			goto cleanup;
		}
		p->devs[p->ndevs].ifindex = ifindex;
		if (!if_indextoname(ifindex, p->devs[p->ndevs].name))
			snprintf(p->devs[p->ndevs].name, IF_NAMESIZE, "if%d", ifindex);
		p->ndevs++;
next:;
	}
cleanup:
	nl_socket_free(sk);
	return err;
}

static int resolve_devs(struct net_priv *p)
{
	char *dup, *tok, *save = NULL;
	int err = 0;

	if (!p->dev_arg)
		return resolve_routes(p);
	dup = strdup(p->dev_arg);
	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int ifindex = if_nametoindex(tok);

		if (!ifindex || strlen(tok) >= IF_NAMESIZE) {
			log_error("--dev: no interface '%s'%s%s ('ip link' lists them)", tok,
				  *p->netns ? " in namespace " : "", p->netns);
			err = -EINVAL;
			break;
		}
		if (p->ndevs == NET_MAX_DEVS) {
			log_error("--dev: at most %d interfaces", NET_MAX_DEVS);
			err = -EINVAL;
			break;
		}
		p->devs[p->ndevs].ifindex = ifindex;
		strcpy(p->devs[p->ndevs].name, tok);
		p->ndevs++;
	}
	free(dup);
	return err;
}

/* SSH_CONNECTION is "client_ip client_port server_ip server_port": that
 * session is how the operator (or the orchestrator) reaches this node. */
static void find_control_channel(struct net_priv *p)
{
	const char *env = getenv("SSH_CONNECTION");
	char client[INET6_ADDRSTRLEN], server[INET6_ADDRSTRLEN];
	unsigned int cport, sport;

	if (!env || sscanf(env, "%45s %u %45s %u", client, &cport, server, &sport) != 4)
		return;
	if (inet_pton(AF_INET, client, p->ctl_addr) == 1)
		p->ctl_family = 4;
	else if (inet_pton(AF_INET6, client, p->ctl_addr) == 1)
		p->ctl_family = 6;
	else
		return;
	p->ctl_remote_port = cport;
	p->ctl_local_port = sport;
}

static int net_prepare(struct fault *f)
{
	struct net_priv *p = f->priv;
	json_object *devs;
	int orig = -1, err;

	if (*p->netns && netns_exists(p->netns)) {
		log_error("--netns: no network namespace '%s' ('ip netns list' shows them)", p->netns);
		return -EINVAL;
	}
	err = netns_enter(p->netns, &orig);
	if (err)
		return log_errno(err, "--netns: cannot enter '%s'", p->netns);
	err = resolve_devs(p);
	netns_leave(orig);
	if (err)
		return err;

	if (p->backend == NET_BACKEND_AUTO)
		p->backend = kernel_has_tcx() ? NET_BACKEND_TCX : NET_BACKEND_CLSACT;
	else if (p->backend == NET_BACKEND_TCX && !kernel_has_tcx()) {
		log_error("--backend: this kernel has no tcx (needs Linux >= 6.6); use --backend clsact");
		return -EINVAL;
	}
	/* clsact filters are not owned by a file descriptor. */
	f->needs_guardian = p->backend == NET_BACKEND_CLSACT;

	if (!p->include_control)
		find_control_channel(p);

	devs = json_object_new_array();
	for (size_t i = 0; i < p->ndevs; i++)
		json_object_array_add(devs, json_object_new_string(p->devs[i].name));
	json_object_object_add(f->state, "backend", json_object_new_string(backend_names[p->backend]));
	json_object_object_add(f->state, "netns", json_object_new_string(p->netns));
	json_object_object_add(f->state, "devices", devs);
	json_object_object_add(f->state, "control_spared", json_object_new_boolean(p->ctl_family != 0));
	for (size_t i = 0; i < p->ndevs; i++)
		fault_add_knob(f, "packets of %s%s%s to and from %s", p->devs[i].name,
			       *p->netns ? " in netns " : "", p->netns,
			       json_object_to_json_string_ext(json_get(f->params, "peers"),
							      JSON_C_TO_STRING_PLAIN));
	return 0;
}

static int fill_peers(struct net_priv *p)
{
	int fd4 = bpf_map__fd(p->skel->maps.peers4);
	int fd6 = bpf_map__fd(p->skel->maps.peers6);

	for (size_t i = 0; i < p->npeers; i++) {
		int err = lpm_add_cidr(fd4, fd6, NULL, 0, &p->peers[i]);

		if (err)
			return err;
	}
	return 0;
}

static int net_open_load(struct net_priv *p, uint64_t deadline_boot_ns)
{
	struct net_bpf *skel;
	size_t n4 = 0, n6 = 0;
	int err;

	skel = net_bpf__open();
	if (!skel)
		return -errno;
	for (size_t i = 0; i < p->npeers; i++)
		p->peers[i].family == AF_INET ? n4++ : n6++;
	skel->rodata->loss_threshold = p->percent >= 100 ? NET_LOSS_ALL :
		(__u64)llround(p->percent / 100.0 * (double)NET_LOSS_ALL);
	skel->rodata->port = p->port;
	skel->rodata->proto = p->proto;
	skel->rodata->ctl_family = p->ctl_family;
	memcpy((void *)skel->rodata->ctl_addr, p->ctl_addr, 16);
	skel->rodata->ctl_remote_port = p->ctl_remote_port;
	skel->rodata->ctl_local_port = p->ctl_local_port;
	skel->bss->deadline_boot_ns = deadline_boot_ns;
	bpf_map__set_max_entries(skel->maps.peers4, n4 ? n4 : 1);
	bpf_map__set_max_entries(skel->maps.peers6, n6 ? n6 : 1);
	bpf_program__set_autoload(skel->progs.tug_net_ingress, p->in);
	bpf_program__set_autoload(skel->progs.tug_net_egress, p->out);

	err = net_bpf__load(skel);
	if (err)
		goto cleanup;
	p->skel = skel;
	err = fill_peers(p);
	if (err)
		p->skel = NULL;
cleanup:
	if (err)
		net_bpf__destroy(skel);
	return err;
}

/* Remove filters tug attached, then the clsact qdisc if tug created it and
 * nobody else's filter is on it. Shared by revert and recover. */
static int clsact_remove(struct net_filter *flt, size_t n)
{
	struct nl_sock *sk = NULL;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = flt[i].ifindex,
			    .attach_point = flt[i].ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, q, .handle = flt[i].handle, .priority = flt[i].priority);
		LIBBPF_OPTS(bpf_tc_opts, d, .handle = flt[i].handle, .priority = flt[i].priority);
		int r = bpf_tc_query(&hook, &q);

		if (r == -ENOENT || r == -EINVAL || r == -ENODEV)
			continue;	/* gone already, or the device is */
		if (r) {
			err = r;
			continue;
		}
		if (q.prog_id != flt[i].prog_id) {
			log_warn("clsact filter %x:%u on ifindex %d is not tug's any more (prog %u); left alone",
				 flt[i].handle, flt[i].priority, flt[i].ifindex, q.prog_id);
			continue;
		}
		r = bpf_tc_detach(&hook, &d);
		if (r && r != -ENOENT)
			err = r;
	}
	for (size_t i = 0; i < n; i++) {
		struct nl_cache *cache = NULL;
		int busy = 0;

		if (!flt[i].created_hook)
			continue;
		if (!sk) {
			sk = nl_socket_alloc();
			if (!sk || nl_connect(sk, NETLINK_ROUTE)) {
				err = -EIO;
				break;
			}
		}
		for (int dir = 0; dir < 2; dir++) {
			__u32 parent = TC_H_MAKE(TC_H_CLSACT, dir ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);

			if (rtnl_cls_alloc_cache(sk, flt[i].ifindex, parent, &cache) == 0) {
				busy += nl_cache_nitems(cache);
				nl_cache_free(cache);
			}
		}
		if (!busy) {
			LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = flt[i].ifindex,
				    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
			int r = bpf_tc_hook_destroy(&hook);

			if (r && r != -ENOENT && r != -EINVAL && r != -ENODEV)
				err = r;
		}
		/* One qdisc per device: don't look at it twice. */
		for (size_t j = i + 1; j < n; j++)
			if (flt[j].ifindex == flt[i].ifindex)
				flt[j].created_hook = false;
	}
	if (sk)
		nl_socket_free(sk);
	return err;
}

static json_object *filter_json(const struct net_filter *flt)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ifindex", json_object_new_int(flt->ifindex));
	json_object_object_add(o, "ingress", json_object_new_boolean(flt->ingress));
	json_object_object_add(o, "created_hook", json_object_new_boolean(flt->created_hook));
	json_object_object_add(o, "handle", json_object_new_int64(flt->handle));
	json_object_object_add(o, "priority", json_object_new_int64(flt->priority));
	json_object_object_add(o, "prog_id", json_object_new_int64(flt->prog_id));
	return o;
}

/* The clsact qdisc carries both directions: create it once per device and
 * remember whether it was ours. */
static int clsact_hook(const struct net_dev *dev, bool *ret_created)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache = NULL;
	struct rtnl_qdisc *q;
	int err;

	if (!sk)
		return -ENOMEM;
	/* Ask first: libbpf would log the kernel's complaint about an existing one. */
	if (nl_connect(sk, NETLINK_ROUTE) == 0 && rtnl_qdisc_alloc_cache(sk, &cache) == 0) {
		q = rtnl_qdisc_get(cache, dev->ifindex, TC_H_CLSACT);
		if (q) {
			rtnl_qdisc_put(q);
			*ret_created = false;
			err = 0;
			goto cleanup;
		}
	}
	{
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = dev->ifindex, .attach_point = BPF_TC_INGRESS);

		err = bpf_tc_hook_create(&hook);
		*ret_created = !err;
		if (err == -EEXIST)
			err = 0;
	}
cleanup:
	if (cache)
		nl_cache_free(cache);
	nl_socket_free(sk);
	return err;
}

static int attach_clsact(struct fault *f, const struct net_dev *dev, int prog_fd, bool ingress,
			 bool hook_created)
{
	struct net_priv *p = f->priv;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = dev->ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
	struct net_filter *flt = &p->filters[p->nfilters];
	json_object *arr;
	int err;

	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return err;
	*flt = (struct net_filter){
		.ifindex = dev->ifindex, .ingress = ingress, .created_hook = hook_created,
		.handle = opts.handle, .priority = opts.priority, .prog_id = opts.prog_id,
	};
	p->nfilters++;
	if (!json_object_object_get_ex(f->state, "filters", &arr)) {
		arr = json_object_new_array();
		json_object_object_add(f->state, "filters", arr);
	}
	json_object_array_add(arr, filter_json(flt));
	/* Journal each filter as it lands: a crash now must not orphan it. */
	return fault_journal_update(f);
}

static int attach_tcx(struct net_priv *p, const struct net_dev *dev, int prog_fd, bool ingress)
{
	int fd = bpf_link_create(prog_fd, dev->ifindex,
				 ingress ? TUG_BPF_TCX_INGRESS : TUG_BPF_TCX_EGRESS, NULL);

	if (fd < 0)
		return fd;
	p->link_fds[p->nlinks++] = fd;
	return 0;
}

static void detach_all(struct net_priv *p)
{
	int orig = -1;

	for (size_t i = 0; i < p->nlinks; i++)
		close(p->link_fds[i]);
	p->nlinks = 0;
	if (p->nfilters && netns_enter(p->netns, &orig) == 0) {
		int err = clsact_remove(p->filters, p->nfilters);

		if (err)
			log_errno(err, "removing clsact filters");
		netns_leave(orig);
	}
	p->nfilters = 0;
}

static int net_apply(struct fault *f)
{
	struct net_priv *p = f->priv;
	json_object *names;
	int orig = -1, err;

	err = net_open_load(p, f->deadline_boot_ns);
	if (err)
		return log_errno(err, "loading the net classifier"), err;
	f->kernel_deadline = &p->skel->bss->deadline_boot_ns;

	err = netns_enter(p->netns, &orig);
	if (err)
		return err;
	for (size_t i = 0; i < p->ndevs && !err; i++) {
		bool hook_created = false;

		if (p->backend == NET_BACKEND_CLSACT) {
			err = clsact_hook(&p->devs[i], &hook_created);
			if (err) {
				log_errno(err, "creating the clsact qdisc on %s", p->devs[i].name);
				break;
			}
		}
		for (int dir = 0; dir < 2 && !err; dir++) {
			bool ingress = dir == 0;
			struct bpf_program *prog = ingress ? p->skel->progs.tug_net_ingress :
							     p->skel->progs.tug_net_egress;

			if (ingress ? !p->in : !p->out)
				continue;
			if (p->backend == NET_BACKEND_TCX)
				err = attach_tcx(p, &p->devs[i], bpf_program__fd(prog), ingress);
			else
				err = attach_clsact(f, &p->devs[i], bpf_program__fd(prog), ingress,
						    hook_created);
			if (err)
				log_errno(err, "attaching %s to %s (%s)", ingress ? "ingress" : "egress",
					  p->devs[i].name, backend_names[p->backend]);
		}
	}
	netns_leave(orig);
	if (err) {
		detach_all(p);
		return err;
	}

	names = json_object_new_array();
	for (int i = 0; i < NET_COUNTER_MAX; i++)
		json_object_array_add(names, json_object_new_string(counter_names[i]));
	json_object_object_add(f->state, "counters_map_id",
			       json_object_new_int(bpf_map_id(bpf_map__fd(p->skel->maps.counters))));
	json_object_object_add(f->state, "counter_names", names);
	return 0;
}

static int net_counters(struct fault *f, struct fault_counter *c, int max)
{
	struct net_priv *p = f->priv;

	if (!p->skel || max < NET_COUNTER_MAX)
		return 0;
	return fault_read_percpu_counters(bpf_map__fd(p->skel->maps.counters), counter_names,
					  NET_COUNTER_MAX, c);
}

static int net_revert(struct fault *f)
{
	detach_all(f->priv);
	return 0;
}

static int net_recover(json_object *entry)
{
	json_object *state = json_get(entry, "state");
	json_object *arr = json_get(state, "filters");
	struct net_filter flt[2 * NET_MAX_DEVS];
	size_t n = 0;
	int orig = -1, err;

	/* tcx links died with their owner; only clsact filters can remain. */
	if (strcmp(json_get_str(state, "backend", ""), "clsact") || !arr)
		return 0;
	for (size_t i = 0; i < json_object_array_length(arr) && n < 2 * NET_MAX_DEVS; i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		flt[n++] = (struct net_filter){
			.ifindex = json_get_int(o, "ifindex", 0),
			.ingress = json_object_get_boolean(json_get(o, "ingress")),
			.created_hook = json_object_get_boolean(json_get(o, "created_hook")),
			.handle = json_get_int(o, "handle", 0),
			.priority = json_get_int(o, "priority", 0),
			.prog_id = json_get_int(o, "prog_id", 0),
		};
	}
	err = netns_enter(json_get_str(state, "netns", ""), &orig);
	if (err == -ENOENT)
		return 0;	/* the namespace, and its devices, are gone */
	if (err)
		return err;
	err = clsact_remove(flt, n);
	netns_leave(orig);
	return err;
}

static void net_describe(struct fault *f, char *buf, size_t len)
{
	struct net_priv *p = f->priv;
	char peer[64], devs[256] = "";
	size_t off = 0;

	for (size_t i = 0; i < p->ndevs && off < sizeof(devs); i++)
		off += snprintf(devs + off, sizeof(devs) - off, "%s%s", i ? "," : "", p->devs[i].name);
	char others[32] = "", loss[32] = "";

	if (p->npeers > 1)
		snprintf(others, sizeof(others), " and %zu more", p->npeers - 1);
	if (p->loss)
		snprintf(loss, sizeof(loss), ", %g %% lost", p->percent);
	snprintf(buf, len, "%s%s on %s%s%s (%s, %s)%s%s",
		 format_cidr(&p->peers[0], peer, sizeof(peer)), others,
		 devs, *p->netns ? " in netns " : "", p->netns,
		 backend_names[p->backend],
		 p->in && p->out ? "in+out" : p->in ? "in" : "out",
		 p->ctl_family ? ", SSH session spared" : "", loss);
}

static const char *net_backend(char *why, size_t len)
{
	if (kernel_has_tcx()) {
		snprintf(why, len, "tcx links: the kernel detaches them when tug exits");
		return "tcx";
	}
	snprintf(why, len, "no tcx on this kernel: clsact filters, removed by the guardian");
	return "clsact";
}

static void net_destroy(struct fault *f)
{
	struct net_priv *p = f->priv;

	detach_all(p);
	net_bpf__destroy(p->skel);
	free(p->peers);
	free(p->dev_arg);
}

#define NET_COMMON_USAGE \
	"  --peer CIDR[,CIDR...]  peers to cut off (IPv4 or IPv6; repeatable)\n" \
	"  --peers-file FILE      one CIDR a line, for thousands of peers\n" \
	"  --dev IFACE[,IFACE]    interfaces (default: every one that routes to the peers)\n" \
	"  --netns NAME           act inside this network namespace (tug enters it itself)\n" \
	"  --dir in|out|both      direction to drop (default both)\n" \
	"  --port N               only packets with N as source or destination port\n" \
	"  --proto tcp|udp        only this protocol\n" \
	"  --include-control      also drop the SSH session that started tug\n" \
	"                         (spared by default, from SSH_CONNECTION)\n" \
	"  --backend auto|tcx|clsact  tcx links (kernel >= 6.6) die with tug; clsact\n" \
	"                         filters are removed by a guardian (default auto)\n"

const struct fault_ops net_partition_ops = {
	.family = "net",
	.verb = "partition",
	.summary = "drop every packet to and from peers, until the deadline",
	.usage = "Options:\n" NET_COMMON_USAGE
		 "\nExamples:\n"
		 "  tug net partition --peer 10.200.0.3 --for 60s\n"
		 "  tug net partition --peer 10.200.0.0/24,fd00::/64 --dev eth1 --dir out --for 5m\n"
		 "  tug net partition --netns lab-gw --peer 10.200.0.2 --port 5432 --for 30s\n",
	.priv_size = sizeof(struct net_priv),
	.parse = net_parse,
	.prepare = net_prepare,
	.apply = net_apply,
	.describe = net_describe,
	.counters = net_counters,
	.revert = net_revert,
	.recover = net_recover,
	.backend = net_backend,
	.destroy = net_destroy,
};

const struct fault_ops net_loss_ops = {
	.family = "net",
	.verb = "loss",
	.summary = "drop a percentage of packets to and from peers, until the deadline",
	.usage = "Options:\n"
		 "  --percent P            share of matching packets to drop, 0..100 (required)\n"
		 NET_COMMON_USAGE
		 "\nExamples:\n"
		 "  tug net loss --peer 10.200.0.3 --percent 30 --for 2m\n"
		 "  tug net loss --peer 10.200.0.0/24 --percent 5 --proto udp --for 60s\n",
	.priv_size = sizeof(struct net_priv),
	.parse = net_parse,
	.prepare = net_prepare,
	.apply = net_apply,
	.describe = net_describe,
	.counters = net_counters,
	.revert = net_revert,
	.recover = net_recover,
	.backend = net_backend,
	.destroy = net_destroy,
};
