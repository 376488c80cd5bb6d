/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tc engine of the net verbs: which packets (--peer, --peers-file,
 * --port, --proto, --dir, --dev, --netns, the SSH session spared unless
 * --include-control) and where the verb's tc programs go (--backend: tcx
 * links the kernel detaches when tug dies, or clsact filters journaled one
 * by one, removed by the guardian and `tug recover`). The BPF half is
 * bpf/nettc.h: each verb's .bpf.c has only its action.
 *
 * A verb embeds struct nettc in its priv, lists NETTC_OPTIONS in its getopt
 * table (its own ids from NETTC_OPT_VERB up) and hands every option to
 * nettc_parse_option() first. A verb with a program for each direction
 * gives nettc_load() its skeleton (struct nettc_verb) and then calls
 * nettc_apply(); one with a single program drives it like this:
 *
 *   open -> NETTC_SET_RODATA(skel, t) -> nettc_configure(t, skel->obj)
 *        -> load -> nettc_loaded(f, t, skel->obj) -> nettc_attach(f, t, in, out)
 */
#ifndef TUG_NETTC_H
#define TUG_NETTC_H

#include <getopt.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "fault.h"
#include "parse.h"

struct bpf_object;
struct bpf_object_skeleton;
struct bpf_program;

#define NETTC_MAX_DEVS 32

enum nettc_backend { NETTC_BACKEND_AUTO, NETTC_BACKEND_TCX, NETTC_BACKEND_CLSACT };

struct nettc_dev {
	char name[IF_NAMESIZE];
	int ifindex;
};

/* One instance of a verb's skeleton (see nettc_apply). */
struct nettc_half {
	void *skel;			/* the verb's own skeleton struct */
	struct bpf_object_skeleton *s;	/* its ->skeleton */
	struct bpf_program *prog[2];	/* its ingress and egress programs */
};

/* A clsact filter tug attached: exactly what to remove, and how to know it
 * is still ours (the program id). */
struct nettc_filter {
	int ifindex;
	bool ingress;
	bool created_hook;
	__u32 handle;
	__u32 priority;
	__u32 prog_id;
};

struct nettc {
	/* The selection, from the command line. */
	struct cidr *peers;
	size_t npeers;
	char *dev_arg;
	char netns[64];
	bool in, out;
	uint16_t port;
	uint8_t proto;
	bool include_control;
	enum nettc_backend backend;
	bool expedite;		/* the site's expedite-rcu, for attach and detach */

	/* The SSH session to spare (SSH_CONNECTION), from prepare. */
	int ctl_family;
	uint8_t ctl_addr[16];
	uint16_t ctl_remote_port, ctl_local_port;

	struct nettc_dev devs[NETTC_MAX_DEVS];
	size_t ndevs;

	/* What apply attached. */
	int link_fds[2 * NETTC_MAX_DEVS];
	size_t nlinks;
	struct nettc_filter filters[2 * NETTC_MAX_DEVS];
	size_t nfilters;
	int counters_fd;
	const char *const *counter_names;
	int ncounters;

	/* What nettc_load and nettc_apply loaded: one instance per
	 * direction, in order. */
	struct nettc_verb {
		/* Open a new instance of the skeleton, its rodata and bss
		 * set (both instances alike), into h; 0 or -errno. */
		int (*open)(struct fault *f, struct nettc_half *h);
		void (*destroy)(void *skel);
		/* After the first load, before any attach: fill the verb's
		 * own maps (NULL: it has none). */
		int (*fill)(struct fault *f, void *skel);
		const char *const *counter_names;
		int ncounters;
	} verb;
	struct nettc_half half[2];
	size_t nhalf;
	void (*destroy_skel)(void *skel);
};


enum {
	NETTC_OPT_PEER = 1, NETTC_OPT_PEERS_FILE, NETTC_OPT_DEV, NETTC_OPT_NETNS, NETTC_OPT_DIR,
	NETTC_OPT_PORT, NETTC_OPT_PROTO, NETTC_OPT_INCLUDE_CONTROL, NETTC_OPT_BACKEND,
	NETTC_OPT_VERB = 0x100,		/* a verb's own option ids start here */
};

#define NETTC_OPTIONS \
	{ "peer", required_argument, NULL, NETTC_OPT_PEER }, \
	{ "peers-file", required_argument, NULL, NETTC_OPT_PEERS_FILE }, \
	{ "dev", required_argument, NULL, NETTC_OPT_DEV }, \
	{ "netns", required_argument, NULL, NETTC_OPT_NETNS }, \
	{ "dir", required_argument, NULL, NETTC_OPT_DIR }, \
	{ "port", required_argument, NULL, NETTC_OPT_PORT }, \
	{ "proto", required_argument, NULL, NETTC_OPT_PROTO }, \
	{ "include-control", no_argument, NULL, NETTC_OPT_INCLUDE_CONTROL }, \
	{ "backend", required_argument, NULL, NETTC_OPT_BACKEND }

/* Before the getopt loop: both directions, every protocol. */
void nettc_init(struct nettc *t);
/* 0 when taken, -ENOENT when opt is not the engine's, -EINVAL (logged) on
 * a bad value, -ENOMEM. */
int nettc_parse_option(struct nettc *t, int opt, const char *arg);
/* After the loop: --peer is required; the selection goes into f->params. */
int nettc_parse_done(struct fault *f, struct nettc *t);
/* The devices (--dev, or the routes to the peers inside --netns), the
 * backend, the control channel; f->state and the fault's knobs. */
int nettc_prepare(struct fault *f, struct nettc *t);

/* The SSH session that started tug (SSH_CONNECTION) into t->ctl_*;
 * t->ctl_family stays 0 without one. prepare calls it unless
 * --include-control. */
void nettc_find_control(struct nettc *t);

bool nettc_has_family(const struct nettc *t, int family);
/* The selection's rodata of any skeleton built on bpf/nettc.h. */
#define NETTC_SET_RODATA(skel, t)                                                    \
	do {                                                                         \
		(skel)->rodata->port = (t)->port;                                    \
		(skel)->rodata->proto = (t)->proto;                                  \
		(skel)->rodata->ctl_family = (t)->ctl_family;                        \
		memcpy((void *)(skel)->rodata->ctl_addr, (t)->ctl_addr, 16);          \
		(skel)->rodata->ctl_remote_port = (t)->ctl_remote_port;              \
		(skel)->rodata->ctl_local_port = (t)->ctl_local_port;                \
		(skel)->rodata->has_peers4 = nettc_has_family(t, AF_INET);           \
		(skel)->rodata->has_peers6 = nettc_has_family(t, AF_INET6);          \
	} while (0)
/* Between open and load: size the peer tries. */
int nettc_configure(struct nettc *t, struct bpf_object *obj);
/* After load: fill the peer tries; name the counters map in f->state
 * (counter_names: the verb's slots, for `tug status`). */
int nettc_loaded(struct fault *f, struct nettc *t, struct bpf_object *obj,
		 const char *const *counter_names, int ncounters);
/* Attach the programs to every device, fd < 0: that direction not wanted
 * (nor when --dir excludes it). On failure everything attached is removed. */
int nettc_attach(struct fault *f, struct nettc *t, int ingress_prog_fd, int egress_prog_fd);
void nettc_detach(struct nettc *t);
/*
 * A verb with an ingress and an egress program loads and attaches them
 * one direction at a time, ingress first: the fault begins once one
 * program is verified, not two. nettc_load (the verb's fault_ops load,
 * while the guardian starts) loads the first direction's instance of the
 * skeleton, which creates the maps (sized by nettc_configure, filled by
 * nettc_loaded and v->fill); nettc_apply attaches it, then loads the other
 * program in a second instance over the same maps and attaches that.
 * t->half[0].skel is the first instance. On failure (logged) nothing
 * stays attached; nettc_destroy destroys the instances.
 */
int nettc_load(struct fault *f, struct nettc *t, const struct nettc_verb *v);
int nettc_apply(struct fault *f, struct nettc *t);
/* fault_ops callbacks for a verb whose priv begins with its struct nettc. */
int nettc_fault_prepare(struct fault *f);
int nettc_fault_counters(struct fault *f, struct fault_counter *c, int max);
int nettc_fault_revert(struct fault *f);
/* The guardian's and `tug recover`'s undo of a journal entry. */
int nettc_recover(json_object *entry);
/* "10.200.0.3 on veth0 (tcx, in+out), SSH session spared" then extra. */
void nettc_describe(const struct nettc *t, const char *extra, char *buf, size_t len);
const char *nettc_backend(char *why, size_t len);
/* A percentage as the threshold a u32 random number is compared with:
 * below it, the packet is taken; 1 << 32 takes all. */
uint64_t nettc_threshold(double percent);
void nettc_destroy(struct nettc *t);

/* The engine's options in a verb's --help: what its peers are ("peers to
 * cut off"), what --dir chooses, and what --include-control does to the
 * SSH session ("drop"). */
/* --backend of every verb on the tc engine: the onsets are docs/bench/net.md's. */
#define NETTC_BACKEND_USAGE \
	"  --backend auto|tcx|clsact  tcx links (kernel >= 6.6; auto's choice) die with\n" \
	"                         tug; clsact filters are removed by a guardian, and\n" \
	"                         adding and removing the clsact qdisc, where the\n" \
	"                         device has none, drops all its traffic for about 1 ms\n"
#define NETTC_USAGE_OF(peers, dir, ctl) \
	"  --peer CIDR[,CIDR...]  " peers " (IPv4 or IPv6; repeatable)\n" \
	"  --peers-file FILE      one CIDR a line, for thousands of peers\n" \
	"  --dev IFACE[,IFACE]    interfaces (default: every one that routes to the peers)\n" \
	"  --netns NAME           act inside this network namespace (tug enters it itself)\n" \
	"  --dir in|out|both      " dir " (default both)\n" \
	"  --port N               only packets with N as source or destination port\n" \
	"  --proto tcp|udp        only this protocol\n" \
	"  --include-control      also " ctl " the SSH session that started tug\n" \
	"                         (spared by default, from SSH_CONNECTION)\n" \
	NETTC_BACKEND_USAGE
#define NETTC_USAGE NETTC_USAGE_OF("peers to cut off", "direction to drop", "drop")

#endif
