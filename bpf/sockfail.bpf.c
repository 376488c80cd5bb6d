// SPDX-License-Identifier: GPL-2.0
/*
 * Socket faults for one cgroup: cgroup/connect4/6 and cgroup/sendmsg4/6
 * hooks that make matching calls fail with the asked errno
 * (bpf_set_retval) and let every other call through. Attached through
 * cgroup links, so they act on exactly the processes of that cgroup (and
 * its children) and the kernel detaches them when tug exits.
 *
 * dns-fail --answer rewrites the destination of the same calls to tug's
 * responder on loopback instead, and the recvmsg/getpeername hooks name
 * the server the service asked as the answers' source, so a resolver that
 * checks where an answer came from (glibc does, connected or not)
 * accepts it.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "counters.h"
#include "deadline.h"
#include "sockfail.h"

/* Set by the controller between open and load. */
const volatile __u32 mode = SOCKFAIL_PEERS;
const volatile __s32 fail_errno = 111;		/* ECONNREFUSED */
const volatile __u16 dns_port = 53;		/* host order */
const volatile __u16 resp_port;			/* the responder's, host order */
const volatile __u64 resp_netns_cookie;		/* its network namespace; 0 = not known */

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sockfail_lpm_v4);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} peers4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sockfail_lpm_v6);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} peers6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SOCKFAIL_COUNTER_MAX);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sockfail_orig);
} orig SEC(".maps");

/* Cgroup socket hooks: return 1 lets the call go on; 0 fails it, with the
 * errno set by bpf_set_retval() instead of the default EPERM. */
static __always_inline int pass(void)
{
	tug_count(&counters, SOCKFAIL_PASSED);
	return 1;
}

static __always_inline int refuse(__u32 slot)
{
	if (past_deadline())
		return pass();
	tug_count(&counters, slot);
	bpf_set_retval(-fail_errno);
	return 0;
}

static __always_inline bool match4(__u32 ip4, __u32 port_be)
{
	struct sockfail_lpm_v4 k = { .prefixlen = 16 + 32 };

	__builtin_memcpy(k.port, &port_be, 2);
	__builtin_memcpy(k.addr, &ip4, 4);
	if (bpf_map_lookup_elem(&peers4, &k))
		return true;
	k.port[0] = k.port[1] = 0;
	return bpf_map_lookup_elem(&peers4, &k) != NULL;
}

static __always_inline bool is_dns(__u32 port_be)
{
	return (__u16)port_be == bpf_htons(dns_port);
}

#define LOOPBACK4 0x7f000001

/* --answer: send the call to the responder, remembering where it was
 * going. The responder listens in one network namespace: a socket of the
 * cgroup in another would reach nothing there, so its DNS fails with the
 * errno instead. After the deadline everything goes where it was sent.
 * v6 is a constant (the hook's family): the verifier refuses a connect4
 * program that so much as reads user_ip6. */
static __always_inline int redirect(struct bpf_sock_addr *ctx, __u32 slot, bool v6)
{
	struct sockfail_orig *o;
	bool mapped;

	if (past_deadline())
		return pass();
	if (resp_netns_cookie && bpf_get_netns_cookie(ctx) != resp_netns_cookie)
		return refuse(SOCKFAIL_OTHER_NETNS);
	o = bpf_sk_storage_get(&orig, ctx->sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		return refuse(slot);
	o->family = v6 ? 10 : 2;
	o->port = ctx->user_port;
	if (!v6) {
		o->ip4 = ctx->user_ip4;
		ctx->user_ip4 = bpf_htonl(LOOPBACK4);
	} else {
		o->ip6[0] = ctx->user_ip6[0];
		o->ip6[1] = ctx->user_ip6[1];
		o->ip6[2] = ctx->user_ip6[2];
		o->ip6[3] = ctx->user_ip6[3];
		mapped = o->ip6[0] == 0 && o->ip6[1] == 0 && o->ip6[2] == bpf_htonl(0xffff);
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = mapped ? bpf_htonl(0xffff) : 0;
		ctx->user_ip6[3] = bpf_htonl(mapped ? LOOPBACK4 : 1);
	}
	ctx->user_port = bpf_htons(resp_port);
	tug_count(&counters, slot);
	return 1;
}

/* Fail the call with the errno, or (--answer) redirect it. */
static __always_inline int dns(struct bpf_sock_addr *ctx, __u32 slot, bool v6)
{
	return mode == SOCKFAIL_DNS_ANSWER ? redirect(ctx, slot, v6) : refuse(slot);
}

/* recvmsg/getpeername: an address from the responder becomes the
 * server's the socket last sent to. Always 1: these hooks cannot fail. */
static __always_inline int restore(struct bpf_sock_addr *ctx, bool v6)
{
	struct sockfail_orig *o;

	if (ctx->user_port != bpf_htons(resp_port))
		return 1;
	if (!v6) {
		if (ctx->user_ip4 != bpf_htonl(LOOPBACK4))
			return 1;
	} else if (ctx->user_ip6[0] || ctx->user_ip6[1] ||
		   (ctx->user_ip6[2] && ctx->user_ip6[2] != bpf_htonl(0xffff)) ||
		   ctx->user_ip6[3] != bpf_htonl(ctx->user_ip6[2] ? LOOPBACK4 : 1)) {
		return 1;
	}
	o = bpf_sk_storage_get(&orig, ctx->sk, NULL, 0);
	if (!o || (!v6 && o->family != 2))
		return 1;
	if (!v6) {
		ctx->user_ip4 = o->ip4;
	} else if (o->family == 2) {
		/* An IPv6 socket's sendto() to ::ffff:a.b.c.d runs the IPv4
		 * hook, its recvmsg() the IPv6 one. */
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = o->ip4;
	} else {
		ctx->user_ip6[0] = o->ip6[0];
		ctx->user_ip6[1] = o->ip6[1];
		ctx->user_ip6[2] = o->ip6[2];
		ctx->user_ip6[3] = o->ip6[3];
	}
	ctx->user_port = o->port;
	tug_count(&counters, SOCKFAIL_RESTORED);
	return 1;
}

static __always_inline bool dns_mode(void)
{
	return mode == SOCKFAIL_DNS || mode == SOCKFAIL_DNS_ANSWER;
}

SEC("cgroup/connect4")
int tug_sf_connect4(struct bpf_sock_addr *ctx)
{
	__u32 port = ctx->user_port;

	if (dns_mode())
		return is_dns(port) ? dns(ctx, SOCKFAIL_REFUSED_CONNECT4, false) : pass();
	return match4(ctx->user_ip4, port) ? refuse(SOCKFAIL_REFUSED_CONNECT4) : pass();
}

SEC("cgroup/connect6")
int tug_sf_connect6(struct bpf_sock_addr *ctx)
{
	struct sockfail_lpm_v6 k = { .prefixlen = 16 + 128 };
	__u32 port = ctx->user_port;
	__u32 ip[4];

	if (dns_mode())
		return is_dns(port) ? dns(ctx, SOCKFAIL_REFUSED_CONNECT6, true) : pass();
	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	/* An IPv4 peer reached through a dual-stack socket (::ffff:a.b.c.d). */
	if (ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0xffff))
		return match4(ip[3], port) ? refuse(SOCKFAIL_REFUSED_CONNECT6) : pass();
	__builtin_memcpy(k.port, &port, 2);
	__builtin_memcpy(k.addr, ip, 16);
	if (bpf_map_lookup_elem(&peers6, &k))
		return refuse(SOCKFAIL_REFUSED_CONNECT6);
	k.port[0] = k.port[1] = 0;
	if (bpf_map_lookup_elem(&peers6, &k))
		return refuse(SOCKFAIL_REFUSED_CONNECT6);
	return pass();
}

/* Unconnected UDP: sendto()/sendmsg() with a destination (dns-fail only). */
SEC("cgroup/sendmsg4")
int tug_sf_sendmsg4(struct bpf_sock_addr *ctx)
{
	return is_dns(ctx->user_port) ? dns(ctx, SOCKFAIL_REFUSED_SENDMSG4, false) : pass();
}

SEC("cgroup/sendmsg6")
int tug_sf_sendmsg6(struct bpf_sock_addr *ctx)
{
	return is_dns(ctx->user_port) ? dns(ctx, SOCKFAIL_REFUSED_SENDMSG6, true) : pass();
}

/* --answer only: the source of what UDP recvmsg()/recvfrom() return, and
 * the peer a redirected socket reports. */
SEC("cgroup/recvmsg4")
int tug_sf_recvmsg4(struct bpf_sock_addr *ctx)
{
	return restore(ctx, false);
}

SEC("cgroup/recvmsg6")
int tug_sf_recvmsg6(struct bpf_sock_addr *ctx)
{
	return restore(ctx, true);
}

SEC("cgroup/getpeername4")
int tug_sf_getpeername4(struct bpf_sock_addr *ctx)
{
	return restore(ctx, false);
}

SEC("cgroup/getpeername6")
int tug_sf_getpeername6(struct bpf_sock_addr *ctx)
{
	return restore(ctx, true);
}

char LICENSE[] SEC("license") = "GPL";
