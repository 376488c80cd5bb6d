// SPDX-License-Identifier: GPL-2.0
/*
 * The tc engine of the net verbs (nettc.h): the packets chosen, and the tc
 * programs attached for them.
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
#include "common.h"
#include "expedite.h"
#include "fault.h"
#include "journal.h"
#include "kernel.h"
#include "log.h"
#include "nettc.h"
#include "netns.h"
#include "parse.h"

static const char *const backend_names[] = { "auto", "tcx", "clsact" };

static int add_peers(struct nettc *p, const char *arg)
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

static int add_peers_file(struct nettc *p, const char *path)
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

void nettc_init(struct nettc *t)
{
	t->in = t->out = true;
	t->counters_fd = -1;
}

int nettc_parse_option(struct nettc *p, int opt, const char *arg)
{
	uint64_t v;
	int err;

	switch (opt) {
	case NETTC_OPT_PEER:
		err = add_peers(p, arg);
		if (err == -ENOMEM)
			return err;
		if (err)
			return fault_bad_option("--peer", arg, peer_form);
		return 0;
	case NETTC_OPT_PEERS_FILE:
		return add_peers_file(p, arg);
	case NETTC_OPT_DEV:
		free(p->dev_arg);
		p->dev_arg = strdup(arg);
		return p->dev_arg ? 0 : -ENOMEM;
	case NETTC_OPT_NETNS:
		if (strlen(arg) >= sizeof(p->netns) || strchr(arg, '/') || !*arg)
			return fault_bad_option("--netns", arg,
						"a namespace name as 'ip netns list' shows it");
		strcpy(p->netns, arg);
		return 0;
	case NETTC_OPT_DIR:
		if (!strcmp(arg, "in"))
			p->out = false;
		else if (!strcmp(arg, "out"))
			p->in = false;
		else if (strcmp(arg, "both"))
			return fault_bad_option("--dir", arg, "one of in, out, both");
		return 0;
	case NETTC_OPT_PORT:
		if (parse_uint(arg, 1, 65535, &v))
			return fault_bad_option("--port", arg, "a port number 1..65535");
		p->port = v;
		return 0;
	case NETTC_OPT_PROTO:
		if (!strcmp(arg, "tcp"))
			p->proto = 6;
		else if (!strcmp(arg, "udp"))
			p->proto = 17;
		else
			return fault_bad_option("--proto", arg, "tcp or udp");
		return 0;
	case NETTC_OPT_INCLUDE_CONTROL:
		p->include_control = true;
		return 0;
	case NETTC_OPT_BACKEND:
		if (!strcmp(arg, "auto"))
			p->backend = NETTC_BACKEND_AUTO;
		else if (!strcmp(arg, "tcx"))
			p->backend = NETTC_BACKEND_TCX;
		else if (!strcmp(arg, "clsact"))
			p->backend = NETTC_BACKEND_CLSACT;
		else
			return fault_bad_option("--backend", arg, "one of auto, tcx, clsact");
		return 0;
	default:
		return -ENOENT;
	}
}

int nettc_parse_done(struct fault *f, struct nettc *p)
{
	json_object *peers;

	if (!p->npeers) {
		log_error("--peer: required; give %s (or --peers-file FILE)", peer_form);
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
	return 0;
}

/* The devices that route to the peers, from the kernel's own route lookup. */
static int resolve_routes(struct nettc *p)
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
		if (p->ndevs == NETTC_MAX_DEVS) {
			log_error("--peer: the peers route through more than %d interfaces", NETTC_MAX_DEVS);
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

static int resolve_devs(struct nettc *p)
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
		if (p->ndevs == NETTC_MAX_DEVS) {
			log_error("--dev: at most %d interfaces", NETTC_MAX_DEVS);
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
void nettc_find_control(struct nettc *p)
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

int nettc_prepare(struct fault *f, struct nettc *p)
{
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

	if (p->backend == NETTC_BACKEND_AUTO)
		p->backend = kernel_has_tcx() ? NETTC_BACKEND_TCX : NETTC_BACKEND_CLSACT;
	else if (p->backend == NETTC_BACKEND_TCX && !kernel_has_tcx()) {
		log_error("--backend: this kernel has no tcx (needs Linux >= 6.6); use --backend clsact");
		return -EINVAL;
	}
	/* clsact filters are not owned by a file descriptor. */
	f->needs_guardian = p->backend == NETTC_BACKEND_CLSACT;
	p->expedite = p->backend == NETTC_BACKEND_TCX && f->expedite_rcu;

	if (!p->include_control)
		nettc_find_control(p);

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

bool nettc_has_family(const struct nettc *p, int family)
{
	for (size_t i = 0; i < p->npeers; i++)
		if (p->peers[i].family == family)
			return true;
	return false;
}

int nettc_configure(struct nettc *p, struct bpf_object *obj)
{
	struct bpf_map *m4 = bpf_object__find_map_by_name(obj, "peers4");
	struct bpf_map *m6 = bpf_object__find_map_by_name(obj, "peers6");
	size_t n4 = 0, n6 = 0;
	int err;

	if (!m4 || !m6)
		return -ENOENT;
	for (size_t i = 0; i < p->npeers; i++)
		p->peers[i].family == AF_INET ? n4++ : n6++;
	err = bpf_map__set_max_entries(m4, n4 ? n4 : 1);
	if (!err)
		err = bpf_map__set_max_entries(m6, n6 ? n6 : 1);
	return err;
}

int nettc_loaded(struct fault *f, struct nettc *p, struct bpf_object *obj,
		 const char *const *counter_names, int ncounters)
{
	int fd4 = bpf_object__find_map_fd_by_name(obj, "peers4");
	int fd6 = bpf_object__find_map_fd_by_name(obj, "peers6");
	json_object *names;

	p->counters_fd = bpf_object__find_map_fd_by_name(obj, "counters");
	p->counter_names = counter_names;
	p->ncounters = ncounters;
	if (fd4 < 0 || fd6 < 0 || p->counters_fd < 0)
		return -ENOENT;
	for (size_t i = 0; i < p->npeers; i++) {
		int err = lpm_add_cidr(fd4, fd6, NULL, 0, &p->peers[i]);

		if (err)
			return err;
	}
	names = json_object_new_array();
	for (int i = 0; i < ncounters; i++)
		json_object_array_add(names, json_object_new_string(counter_names[i]));
	json_object_object_add(f->state, "counters_map_id",
			       json_object_new_int(bpf_map_id(p->counters_fd)));
	json_object_object_add(f->state, "counter_names", names);
	return 0;
}

uint64_t nettc_threshold(double percent)
{
	return percent >= 100 ? TUG_SHARE_ALL : round_u64(percent / 100.0 * (double)TUG_SHARE_ALL);
}

/* Remove filters tug attached, then the clsact qdisc if tug created it and
 * nobody else's filter is on it. Shared by revert and recover. */
static int clsact_remove(struct nettc_filter *flt, size_t n)
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

static json_object *filter_json(const struct nettc_filter *flt)
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
static int clsact_hook(const struct nettc_dev *dev, bool *ret_created)
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

static int attach_clsact(struct fault *f, struct nettc *p, const struct nettc_dev *dev,
			 int prog_fd, bool ingress, bool hook_created)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = dev->ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
	struct nettc_filter *flt = &p->filters[p->nfilters];
	json_object *arr;
	int err;

	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return err;
	*flt = (struct nettc_filter){
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

static int attach_tcx(struct nettc *p, const struct nettc_dev *dev, int prog_fd, bool ingress)
{
	int fd = bpf_link_create(prog_fd, dev->ifindex,
				 ingress ? TUG_BPF_TCX_INGRESS : TUG_BPF_TCX_EGRESS, NULL);

	if (fd < 0)
		return fd;
	p->link_fds[p->nlinks++] = fd;
	return 0;
}

void nettc_detach(struct nettc *p)
{
	struct rcu_expedite x;
	int orig = -1;

	if (p->nlinks) {
		/* Each detach waits for grace periods, as each attach does. */
		int err = p->expedite ? rcu_expedite_begin(&x) : -ECANCELED;

		for (size_t i = 0; i < p->nlinks; i++)
			close(p->link_fds[i]);
		if (!err)
			rcu_expedite_end(&x);
	}
	p->nlinks = 0;
	if (p->nfilters && netns_enter(p->netns, &orig) == 0) {
		int err = clsact_remove(p->filters, p->nfilters);

		if (err)
			log_errno(err, "removing clsact filters");
		netns_leave(orig);
	}
	p->nfilters = 0;
}

int nettc_attach(struct fault *f, struct nettc *p, int ingress_prog_fd, int egress_prog_fd)
{
	struct rcu_expedite x;
	int orig = -1, err, expedited = -1;

	err = netns_enter(p->netns, &orig);
	if (err)
		return err;
	/* A tcx attach waits for RCU grace periods under the rtnl lock, the
	 * first before its packets meet the program (tcx_entry_sync, then
	 * bpf_mprog_commit: 5-10 ms each at HZ=250); threads would queue on
	 * the lock. Expedited, they take tens of microseconds (expedite.h). */
	if (p->expedite) {
		expedited = rcu_expedite_begin(&x);
		if (expedited)
			log_debug("RCU grace periods not expedited (%s): the attach takes longer",
				  strerror(-expedited));
	}
	for (size_t i = 0; i < p->ndevs && !err; i++) {
		bool hook_created = false;

		if (p->backend == NETTC_BACKEND_CLSACT) {
			err = clsact_hook(&p->devs[i], &hook_created);
			if (err) {
				log_errno(err, "creating the clsact qdisc on %s", p->devs[i].name);
				break;
			}
		}
		for (int dir = 0; dir < 2 && !err; dir++) {
			bool ingress = dir == 0;
			int prog_fd = ingress ? ingress_prog_fd : egress_prog_fd;

			if (prog_fd < 0 || (ingress ? !p->in : !p->out))
				continue;
			if (p->backend == NETTC_BACKEND_TCX)
				err = attach_tcx(p, &p->devs[i], prog_fd, ingress);
			else
				err = attach_clsact(f, p, &p->devs[i], prog_fd, ingress, hook_created);
			if (err)
				log_errno(err, "attaching %s to %s (%s)", ingress ? "ingress" : "egress",
					  p->devs[i].name, backend_names[p->backend]);
		}
	}
	if (!expedited)
		rcu_expedite_end(&x);
	netns_leave(orig);
	if (err)
		nettc_detach(p);
	return err;
}

/* The second instance uses the first's maps, so both programs see the
 * same peers, counters, rodata and deadline. */
static int share_maps(struct bpf_object *to, const struct bpf_object *from)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, to) {
		const struct bpf_map *src = bpf_object__find_map_by_name(from, bpf_map__name(m));
		int err;

		if (!src)
			return -ENOENT;
		err = bpf_map__reuse_fd(m, bpf_map__fd(src));
		if (err)
			return err;
	}
	return 0;
}

static int load_half(struct fault *f, struct nettc *p, int dir)
{
	const struct nettc_verb *v = &p->verb;
	struct nettc_half *h = &p->half[p->nhalf];
	struct bpf_object *obj;
	int err;

	err = v->open(f, h);
	if (err)
		return err;
	p->nhalf++;
	obj = *h->s->obj;
	bpf_program__set_autoload(h->prog[dir], true);
	bpf_program__set_autoload(h->prog[!dir], false);
	if (p->nhalf > 1)
		return share_maps(obj, *p->half[0].s->obj) ?: bpf_object__load_skeleton(h->s);
	return nettc_configure(p, obj) ?: bpf_object__load_skeleton(h->s) ?:
	       nettc_loaded(f, p, obj, v->counter_names, v->ncounters) ?:
	       (v->fill ? v->fill(f, h->skel) : 0);
}

static const char *const dir_names[] = { "ingress", "egress" };

static int load_dir(struct fault *f, struct nettc *p, int dir)
{
	int err = load_half(f, p, dir);

	if (err)
		log_errno(err, "loading the %s %s classifier", f->ops->verb, dir_names[dir]);
	log_stamp(dir == 0 ? "ingress loaded" : "egress loaded");
	return err;
}

int nettc_load(struct fault *f, struct nettc *p, const struct nettc_verb *v)
{
	p->verb = *v;
	p->destroy_skel = v->destroy;
	return load_dir(f, p, p->in ? 0 : 1);
}

static int attach_half(struct fault *f, struct nettc *p, int dir, const struct nettc_half *h)
{
	int fd = bpf_program__fd(h->prog[dir]);
	int err = nettc_attach(f, p, dir == 0 ? fd : -1, dir == 0 ? -1 : fd);

	log_stamp(dir == 0 ? "ingress attached" : "egress attached");
	return err;
}

/* Ingress first: from its attach on, nothing a peer sends gets in, so a
 * request or a reply, whichever way it goes, is already cut while the
 * egress program is verified. */
int nettc_apply(struct fault *f, struct nettc *p)
{
	int err = attach_half(f, p, p->in ? 0 : 1, &p->half[0]);

	if (!err && p->in && p->out)
		err = load_dir(f, p, 1) ?: attach_half(f, p, 1, &p->half[1]);
	if (err)
		nettc_detach(p);
	return err;
}

int nettc_fault_prepare(struct fault *f)
{
	return nettc_prepare(f, f->priv);
}

int nettc_fault_counters(struct fault *f, struct fault_counter *c, int max)
{
	struct nettc *p = f->priv;

	if (p->counters_fd < 0 || max < p->ncounters)
		return 0;
	return fault_read_percpu_counters(p->counters_fd, p->counter_names, p->ncounters, c);
}

int nettc_fault_revert(struct fault *f)
{
	nettc_detach(f->priv);
	return 0;
}

int nettc_recover(json_object *entry)
{
	json_object *state = json_get(entry, "state");
	json_object *arr = json_get(state, "filters");
	struct nettc_filter flt[2 * NETTC_MAX_DEVS];
	size_t n = 0;
	int orig = -1, err;

	/* tcx links died with their owner; only clsact filters can remain. */
	if (strcmp(json_get_str(state, "backend", ""), "clsact") || !arr)
		return 0;
	for (size_t i = 0; i < json_object_array_length(arr) && n < 2 * NETTC_MAX_DEVS; i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		flt[n++] = (struct nettc_filter){
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

void nettc_describe(const struct nettc *p, const char *extra, char *buf, size_t len)
{
	char peer[64], devs[256] = "", others[32] = "";
	size_t off = 0;

	for (size_t i = 0; i < p->ndevs && off < sizeof(devs); i++)
		off += snprintf(devs + off, sizeof(devs) - off, "%s%s", i ? "," : "", p->devs[i].name);
	if (p->npeers > 1)
		snprintf(others, sizeof(others), " and %zu more", p->npeers - 1);
	snprintf(buf, len, "%s%s on %s%s%s (%s, %s)%s%s",
		 format_cidr(&p->peers[0], peer, sizeof(peer)), others,
		 devs, *p->netns ? " in netns " : "", p->netns,
		 backend_names[p->backend],
		 p->in && p->out ? "in+out" : p->in ? "in" : "out",
		 p->ctl_family ? ", SSH session spared" : "", extra ? extra : "");
}

const char *nettc_backend(char *why, size_t len)
{
	if (kernel_has_tcx()) {
		snprintf(why, len, "tcx links: the kernel detaches them when tug exits");
		return "tcx";
	}
	snprintf(why, len, "no tcx on this kernel: clsact filters, removed by the guardian");
	return "clsact";
}

void nettc_destroy(struct nettc *p)
{
	nettc_detach(p);
	for (size_t i = 0; i < p->nhalf; i++)
		p->destroy_skel(p->half[i].skel);
	p->nhalf = 0;
	free(p->peers);
	free(p->dev_arg);
}
