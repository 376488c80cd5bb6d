// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/inet_diag.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/idiag/idiagnl.h>

#include "sockdiag.h"

#define STATES ((1u << TCP_ESTABLISHED) | (1u << TCP_SYN_SENT) | (1u << TCP_SYN_RECV))

/* The dump's socket ids, kept whole: a destroy request names a socket by
 * the id (and cookie) the dump gave, so a reused 4-tuple is never hit. */
struct victims {
	const struct sockdiag_filter *flt;
	struct inet_diag_msg *v;
	size_t n, cap;
	int err;
};

static bool remote_matches(const struct sockdiag_filter *flt, const struct inet_diag_msg *m)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *addr = (const uint8_t *)m->id.idiag_dst;
	int family = m->idiag_family;
	uint16_t lport = ntohs(m->id.idiag_sport), rport = ntohs(m->id.idiag_dport);

	if (flt->port && lport != flt->port && rport != flt->port)
		return false;
	/* An AF_INET6 socket talking to an IPv4 peer carries it mapped. */
	if (family == AF_INET6 && !memcmp(addr, v4mapped, sizeof(v4mapped))) {
		family = AF_INET;
		addr += sizeof(v4mapped);
	}
	if (family == flt->spare_family && lport == flt->spare_local_port &&
	    rport == flt->spare_remote_port &&
	    !memcmp(addr, flt->spare_addr, family == AF_INET ? 4 : 16))
		return false;
	for (size_t i = 0; i < flt->npeers; i++)
		if (cidr_contains(&flt->peers[i], family, addr))
			return true;
	return false;
}

static int collect(struct nl_msg *msg, void *arg)
{
	struct victims *vs = arg;
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	struct inet_diag_msg *m = nlmsg_data(hdr);

	if (!nlmsg_valid_hdr(hdr, sizeof(*m)) || !remote_matches(vs->flt, m))
		return NL_OK;
	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? 2 * vs->cap : 64;
		struct inet_diag_msg *nv = realloc(vs->v, cap * sizeof(*nv));

		if (!nv) {
			vs->err = -ENOMEM;
			return NL_STOP;
		}
		vs->v = nv;
		vs->cap = cap;
	}
	vs->v[vs->n++] = *m;
	return NL_OK;
}

/* libnl reports a kernel's refusal as its own NLE_ codes, which lose the
 * errno (EOPNOTSUPP and EPERM matter here): keep the kernel's. */
static int keep_errno(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	*(int *)arg = e->error;
	return NL_STOP;
}

/* One SOCK_DESTROY request; libnl has no helper for it, so it is built with
 * the nl_msg API. 0, -ENOENT (gone meanwhile) or -errno. */
static int destroy_one(struct nl_sock *sk, int *kerr, const struct inet_diag_msg *m)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = m->idiag_family,
		.sdiag_protocol = IPPROTO_TCP,
		.idiag_states = ~0u,
		.id = m->id,
	};
	struct nl_msg *msg = nlmsg_alloc_simple(SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK);
	int err;

	if (!msg)
		return -ENOMEM;
	*kerr = 0;
	err = nlmsg_append(msg, &req, sizeof(req), NLMSG_ALIGNTO);
	if (err)
		goto cleanup;
	err = nl_send_auto(sk, msg);
	if (err >= 0)
		err = nl_wait_for_ack(sk);
	if (err < 0)
		err = *kerr ? *kerr : -EIO;
cleanup:
	nlmsg_free(msg);
	return err < 0 ? err : 0;
}

static int open_diag(struct nl_sock **ret, int *kerr)
{
	struct nl_sock *sk = nl_socket_alloc();

	if (!sk)
		return -ENOMEM;
	if (idiagnl_connect(sk)) {
		nl_socket_free(sk);
		return -EIO;
	}
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, keep_errno, kerr);
	*ret = sk;
	return 0;
}

int sockdiag_reset_tcp(const struct sockdiag_filter *flt, unsigned int *ret_reset)
{
	struct victims vs = { .flt = flt };
	struct nl_sock *sk = NULL;
	unsigned int reset = 0;
	int kerr = 0, err;

	err = open_diag(&sk, &kerr);
	if (err)
		return err;
	/* The dump comes whole before anything is destroyed: one socket, one
	 * request in flight. AF_UNSPEC asks for IPv4 and IPv6 at once. */
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, collect, &vs);
	err = idiagnl_send_simple(sk, NLM_F_DUMP, AF_UNSPEC, STATES, 0);
	if (err >= 0)
		err = nl_recvmsgs_default(sk);
	if (err < 0) {
		err = kerr ? kerr : -EIO;
		goto cleanup;
	}
	err = vs.err;
	if (err)
		goto cleanup;
	for (size_t i = 0; i < vs.n; i++) {
		int r = destroy_one(sk, &kerr, &vs.v[i]);

		if (r == -ENOENT)
			continue;	/* closed since the dump */
		if (r) {
			err = r;
			goto cleanup;
		}
		reset++;
	}
	*ret_reset = reset;
cleanup:
	free(vs.v);
	nl_socket_free(sk);
	return err;
}

int sockdiag_destroy_supported(void)
{
	/* No socket has an all-zero id: a kernel that can destroy says ENOENT,
	 * one without the handler EOPNOTSUPP before any lookup. */
	struct inet_diag_msg none = { .idiag_family = AF_INET };
	struct nl_sock *sk = NULL;
	int kerr = 0, err;

	err = open_diag(&sk, &kerr);
	if (err)
		return err;
	err = destroy_one(sk, &kerr, &none);
	nl_socket_free(sk);
	return err == -ENOENT ? 0 : err;
}
