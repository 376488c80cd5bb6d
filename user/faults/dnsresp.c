// SPDX-License-Identifier: GPL-2.0
/*
 * The responder of dns-fail --answer (see dnsresp.h). It lives in the
 * controller's own poll loop: one epoll fd stands for all of its sockets,
 * so the hold serves it between its timers and signals, and the sockets
 * close with the process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>

#include "dnsresp.h"
#include "netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define DNS_HDR 12
#define DNS_MAX_NAME 255
#define DNS_QTYPE_A 1
#define DNS_QTYPE_AAAA 28
#define DNS_QCLASS_IN 1
#define DNS_QCLASS_ANY 255
/* A TCP query longer than this is no query of a stub resolver's. */
#define DNS_TCP_MAX_QUERY 1024
#define DNS_MAX_CONNS 64
#define DNS_UDP_BATCH 64

static const struct {
	const char *name;
	int rcode;
} rcodes[] = {
	{ "nxdomain", DNS_RCODE_NXDOMAIN },
	{ "servfail", DNS_RCODE_SERVFAIL },
	{ "refused", DNS_RCODE_REFUSED },
};

int dns_answer_parse(const char *arg, struct dns_answer *ret)
{
	struct dns_answer a = {};

	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
		if (!strcasecmp(arg, rcodes[i].name)) {
			a.kind = DNS_ANSWER_RCODE;
			a.rcode = rcodes[i].rcode;
			goto done;
		}
	if (!strcasecmp(arg, "timeout")) {
		a.kind = DNS_ANSWER_TIMEOUT;
		goto done;
	}
	a.kind = DNS_ANSWER_ADDRESS;
	if (inet_pton(AF_INET, arg, a.addr) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, arg, a.addr) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
done:
	*ret = a;
	return 0;
}

const char *dns_answer_name(const struct dns_answer *a, char *buf, size_t len)
{
	if (a->kind == DNS_ANSWER_TIMEOUT)
		return "timeout";
	if (a->kind == DNS_ANSWER_ADDRESS)
		return inet_ntop(a->family, a->addr, buf, len) ? buf : "?";
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
		if (rcodes[i].rcode == a->rcode)
			return rcodes[i].name;
	return "?";
}

/* Offset just past the question, or -EBADMSG. */
static int question_end(const uint8_t *q, size_t n)
{
	size_t off = DNS_HDR, name = 0;

	if (n < DNS_HDR)
		return -EBADMSG;
	/* A query (QR 0), standard (opcode 0), with exactly one question. */
	if ((q[2] & 0x80) || ((q[2] >> 3) & 0x0f) || q[4] || q[5] != 1)
		return -EBADMSG;
	for (;;) {
		uint8_t l;

		if (off >= n)
			return -EBADMSG;
		l = q[off];
		if (!l)
			break;
		/* No compression pointers in a question; labels are 63 at most. */
		if (l > 63)
			return -EBADMSG;
		name += l + 1;
		if (name > DNS_MAX_NAME - 1)
			return -EBADMSG;
		off += l + 1;
	}
	off += 1 + 4;		/* the root label, QTYPE, QCLASS */
	return off <= n ? (int)off : -EBADMSG;
}

int dns_answer_build(const struct dns_answer *a, const uint8_t *q, size_t n,
		     uint8_t *out, size_t max, enum dns_built *ret_built)
{
	int end = question_end(q, n);
	unsigned qtype, qclass, rdlen;
	uint8_t rcode = 0;
	bool match;

	if (end < 0)
		return end;
	if (a->kind == DNS_ANSWER_TIMEOUT) {
		*ret_built = DNS_BUILT_DROP;
		return 0;
	}
	qtype = q[end - 4] << 8 | q[end - 3];
	qclass = q[end - 2] << 8 | q[end - 1];
	rdlen = a->family == AF_INET6 ? 16 : 4;
	match = a->kind == DNS_ANSWER_ADDRESS &&
		qtype == (a->family == AF_INET6 ? DNS_QTYPE_AAAA : DNS_QTYPE_A) &&
		(qclass == DNS_QCLASS_IN || qclass == DNS_QCLASS_ANY);
	if ((size_t)end + (match ? 12 + rdlen : 0) > max)
		return -EBADMSG;
	if (a->kind == DNS_ANSWER_RCODE)
		rcode = a->rcode;
	memcpy(out, q, end);
	out[2] = 0x84 | (q[2] & 0x01);	/* QR, AA; RD as asked */
	out[3] = 0x80 | rcode;		/* RA */
	memset(out + 6, 0, 6);		/* no records but ours; no EDNS */
	*ret_built = a->kind == DNS_ANSWER_ADDRESS && !match ? DNS_BUILT_EMPTY : DNS_BUILT_ANSWER;
	if (!match)
		return end;
	out[7] = 1;
	{
		uint8_t *rr = out + end;

		rr[0] = 0xc0, rr[1] = DNS_HDR;	/* the question's name */
		rr[2] = qtype >> 8, rr[3] = qtype & 0xff;
		rr[4] = 0, rr[5] = DNS_QCLASS_IN;
		rr[6] = 0, rr[7] = 0, rr[8] = 0, rr[9] = DNS_ANSWER_TTL;
		rr[10] = 0, rr[11] = rdlen;
		memcpy(rr + 12, a->addr, rdlen);
	}
	return end + 12 + rdlen;
}

struct dns_conn {
	int fd;
	size_t len;
	uint8_t buf[2 + DNS_TCP_MAX_QUERY];
};

enum { S_UDP4, S_TCP4, S_UDP6, S_TCP6, S_MAX };

struct dns_responder {
	struct dns_answer answer;
	int ep;
	int socks[S_MAX];
	uint16_t port;
	uint64_t cookie;
	struct dns_conn *conns[DNS_MAX_CONNS];
	struct dns_responder_stats st;
};

/* epoll data: the socket index below S_MAX, else S_MAX + a conn slot. */
static int watch(struct dns_responder *r, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int bind_one(int family, int type, uint16_t port, int *ret_fd)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1, err = 0;

	if (fd < 0)
		return -errno;
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (family == AF_INET ? bind(fd, (struct sockaddr *)&s4, sizeof(s4)) :
				bind(fd, (struct sockaddr *)&s6, sizeof(s6))) {
		err = -errno;
		goto cleanup;
	}
	if (type == SOCK_STREAM && listen(fd, 64)) {
		err = -errno;
		goto cleanup;
	}
	*ret_fd = fd;
	fd = -1;
cleanup:
	if (fd >= 0)
		close(fd);
	return err;
}

static void close_socks(struct dns_responder *r)
{
	for (int i = 0; i < S_MAX; i++) {
		if (r->socks[i] >= 0)
			close(r->socks[i]);
		r->socks[i] = -1;
	}
}

/* One port for all four sockets: the first UDP socket picks it, the
 * others take it or the whole set tries again. ::1 may be missing (IPv6
 * off): then IPv4 alone. */
static int bind_all(struct dns_responder *r)
{
	int err = -EADDRINUSE;

	for (int tries = 0; tries < 32 && err == -EADDRINUSE; tries++) {
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);

		close_socks(r);
		err = bind_one(AF_INET, SOCK_DGRAM, 0, &r->socks[S_UDP4]);
		if (err)
			return err;
		if (getsockname(r->socks[S_UDP4], (struct sockaddr *)&sa, &len))
			return -errno;
		r->port = ntohs(sa.sin_port);
		err = bind_one(AF_INET, SOCK_STREAM, r->port, &r->socks[S_TCP4]);
		if (!err)
			err = bind_one(AF_INET6, SOCK_DGRAM, r->port, &r->socks[S_UDP6]);
		if (!err)
			err = bind_one(AF_INET6, SOCK_STREAM, r->port, &r->socks[S_TCP6]);
		if (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT) {
			for (int i = S_UDP6; i < S_MAX; i++) {
				if (r->socks[i] >= 0)
					close(r->socks[i]);
				r->socks[i] = -1;
			}
			err = r->socks[S_TCP4] >= 0 ? 0 : err;
		}
	}
	return err;
}

int dns_responder_open(const char *netns, const struct dns_answer *a,
		       struct dns_responder **ret)
{
	struct dns_responder *r = calloc(1, sizeof(*r));
	socklen_t len = sizeof(uint64_t);
	int orig = -1, err;

	if (!r)
		return -ENOMEM;
	r->answer = *a;
	for (int i = 0; i < S_MAX; i++)
		r->socks[i] = -1;
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	if (r->ep < 0) {
		err = -errno;
		goto cleanup;
	}
	/* Sockets keep the namespace they were made in: enter, make, leave. */
	err = netns_enter(netns, &orig);
	if (err)
		goto cleanup;
	err = bind_all(r);
	/* Without SO_NETNS_COOKIE (before 5.14) the hooks cannot tell
	 * namespaces apart: 0 redirects every one. */
	if (!err && getsockopt(r->socks[S_UDP4], SOL_SOCKET, SO_NETNS_COOKIE, &r->cookie, &len))
		r->cookie = 0;
	{
		int e = netns_leave(orig);

		err = err ? err : e;
	}
	for (int i = 0; !err && i < S_MAX; i++)
		if (r->socks[i] >= 0)
			err = watch(r, r->socks[i], i);
cleanup:
	if (err) {
		dns_responder_close(r);
		return err;
	}
	*ret = r;
	return 0;
}

int dns_responder_fd(const struct dns_responder *r)
{
	return r->ep;
}

uint16_t dns_responder_port(const struct dns_responder *r)
{
	return r->port;
}

uint64_t dns_responder_netns_cookie(const struct dns_responder *r)
{
	return r->cookie;
}

const struct dns_responder_stats *dns_responder_stats(const struct dns_responder *r)
{
	return &r->st;
}

/* Count a query; the answer's length, 0 for none. */
static int respond(struct dns_responder *r, const uint8_t *q, size_t n, uint8_t *out, size_t max)
{
	enum dns_built b;
	int m = dns_answer_build(&r->answer, q, n, out, max, &b);

	if (m < 0) {
		r->st.malformed++;
		return 0;
	}
	if (b == DNS_BUILT_DROP)
		r->st.dropped++;
	else if (b == DNS_BUILT_EMPTY)
		r->st.empty++;
	else
		r->st.answered++;
	return m;
}

static void serve_udp(struct dns_responder *r, int fd)
{
	for (int i = 0; i < DNS_UDP_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		uint8_t q[4096], out[512];
		ssize_t n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		int m;

		if (n < 0)
			return;
		m = respond(r, q, n, out, sizeof(out));
		if (m > 0)
			sendto(fd, out, m, MSG_DONTWAIT, (struct sockaddr *)&from, fl);
	}
}

static void drop_conn(struct dns_responder *r, int slot)
{
	close(r->conns[slot]->fd);	/* close() takes it out of the epoll set too */
	free(r->conns[slot]);
	r->conns[slot] = NULL;
}

static void serve_accept(struct dns_responder *r, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int slot = 0;

	if (fd < 0)
		return;
	while (slot < DNS_MAX_CONNS && r->conns[slot])
		slot++;
	/* Past the cap the client sees its connection closed, and retries. */
	if (slot == DNS_MAX_CONNS || !(r->conns[slot] = calloc(1, sizeof(struct dns_conn)))) {
		close(fd);
		return;
	}
	r->conns[slot]->fd = fd;
	if (watch(r, fd, S_MAX + slot))
		drop_conn(r, slot);
}

/* DNS over TCP: each message is led by its length (2 bytes). Answers are
 * small and the socket's buffer empty, so a send that does not take the
 * whole answer at once ends the connection. */
static void serve_conn(struct dns_responder *r, int slot)
{
	struct dns_conn *c = r->conns[slot];
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			drop_conn(r, slot);
		return;
	}
	c->len += n;
	while (c->len >= 2) {
		size_t ql = c->buf[0] << 8 | c->buf[1];
		uint8_t out[2 + 512];
		int m;

		if (ql > DNS_TCP_MAX_QUERY) {
			r->st.malformed++;
			drop_conn(r, slot);
			return;
		}
		if (c->len < 2 + ql)
			return;
		m = respond(r, c->buf + 2, ql, out + 2, sizeof(out) - 2);
		if (m > 0) {
			out[0] = m >> 8, out[1] = m & 0xff;
			if (send(c->fd, out, m + 2, MSG_DONTWAIT | MSG_NOSIGNAL) != m + 2) {
				drop_conn(r, slot);
				return;
			}
		}
		c->len -= 2 + ql;
		memmove(c->buf, c->buf + 2 + ql, c->len);
	}
}

void dns_responder_serve(struct dns_responder *r)
{
	struct epoll_event ev[16];
	int n = epoll_wait(r->ep, ev, 16, 0);

	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;

		if (tag == S_UDP4 || tag == S_UDP6)
			serve_udp(r, r->socks[tag]);
		else if (tag == S_TCP4 || tag == S_TCP6)
			serve_accept(r, r->socks[tag]);
		else if (tag - S_MAX < DNS_MAX_CONNS && r->conns[tag - S_MAX])
			serve_conn(r, tag - S_MAX);
	}
}

void dns_responder_close(struct dns_responder *r)
{
	if (!r)
		return;
	for (int i = 0; i < DNS_MAX_CONNS; i++)
		if (r->conns[i])
			drop_conn(r, i);
	close_socks(r);
	if (r->ep >= 0)
		close(r->ep);
	free(r);
}
