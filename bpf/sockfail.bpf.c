// SPDX-License-Identifier: GPL-2.0
/*
 * Socket faults for one cgroup: cgroup/connect4/6 and cgroup/sendmsg4/6
 * hooks that make matching calls fail with the asked errno
 * (bpf_set_retval) and let every other call through. Attached through
 * cgroup links, so they act on exactly the processes of that cgroup (and
 * its children) and the kernel detaches them when tug exits.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "deadline.h"
#include "sockfail.h"

/* Set by the controller between open and load. */
const volatile __u32 mode = SOCKFAIL_PEERS;
const volatile __s32 fail_errno = 111;		/* ECONNREFUSED */
const volatile __u16 dns_port = 53;		/* host order */

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

static __always_inline void count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &slot);

	if (v)
		*v += 1;
}

/* Cgroup socket hooks: return 1 lets the call go on; 0 fails it, with the
 * errno set by bpf_set_retval() instead of the default EPERM. */
static __always_inline int pass(void)
{
	count(SOCKFAIL_PASSED);
	return 1;
}

static __always_inline int refuse(__u32 slot)
{
	if (past_deadline())
		return pass();
	count(slot);
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

SEC("cgroup/connect4")
int tug_sf_connect4(struct bpf_sock_addr *ctx)
{
	__u32 port = ctx->user_port;

	if (mode == SOCKFAIL_DNS)
		return is_dns(port) ? refuse(SOCKFAIL_REFUSED_CONNECT4) : pass();
	return match4(ctx->user_ip4, port) ? refuse(SOCKFAIL_REFUSED_CONNECT4) : pass();
}

SEC("cgroup/connect6")
int tug_sf_connect6(struct bpf_sock_addr *ctx)
{
	struct sockfail_lpm_v6 k = { .prefixlen = 16 + 128 };
	__u32 port = ctx->user_port;
	__u32 ip[4];

	if (mode == SOCKFAIL_DNS)
		return is_dns(port) ? refuse(SOCKFAIL_REFUSED_CONNECT6) : pass();
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
	return is_dns(ctx->user_port) ? refuse(SOCKFAIL_REFUSED_SENDMSG4) : pass();
}

SEC("cgroup/sendmsg6")
int tug_sf_sendmsg6(struct bpf_sock_addr *ctx)
{
	return is_dns(ctx->user_port) ? refuse(SOCKFAIL_REFUSED_SENDMSG6) : pass();
}

char LICENSE[] SEC("license") = "GPL";
