/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DNS responder of `tug net dns-fail --answer`: UDP and TCP sockets on
 * loopback (127.0.0.1 and ::1, one port) in the service's network
 * namespace, served from the controller's hold loop. Every query is
 * answered the one way asked: an rcode, an address, or never (timeout).
 * Queries are untrusted input: only the header and the question are read,
 * every length is checked, and anything else is dropped.
 */
#ifndef TUG_DNSRESP_H
#define TUG_DNSRESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dns_answer_kind {
	DNS_ANSWER_RCODE = 1,	/* nxdomain, servfail, refused */
	DNS_ANSWER_TIMEOUT,	/* read and dropped */
	DNS_ANSWER_ADDRESS,	/* A or AAAA with the address, else empty NOERROR */
};

#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_REFUSED 5
#define DNS_ANSWER_TTL 1	/* seconds: a cache forgets the fault at once */

struct dns_answer {
	enum dns_answer_kind kind;
	int rcode;
	int family;		/* ADDRESS: AF_INET or AF_INET6 */
	uint8_t addr[16];
};

/* "nxdomain", "servfail", "refused", "timeout" (any case) or an IPv4 or
 * IPv6 address. -EINVAL when it is none of these. */
int dns_answer_parse(const char *arg, struct dns_answer *ret);
/* The normalised name of an answer ("nxdomain", "10.0.0.1"). */
const char *dns_answer_name(const struct dns_answer *a, char *buf, size_t len);

enum dns_built {
	DNS_BUILT_ANSWER,	/* as asked */
	DNS_BUILT_EMPTY,	/* ADDRESS, but the other type: NOERROR, no records */
	DNS_BUILT_DROP,		/* timeout: no answer */
};

/* The answer to query q (n bytes) in out (max bytes): its length, with
 * *ret_built saying what it is (length 0 for DNS_BUILT_DROP); -EBADMSG
 * when q is not a well formed standard query with one question. */
int dns_answer_build(const struct dns_answer *a, const uint8_t *q, size_t n,
		     uint8_t *out, size_t max, enum dns_built *ret_built);

struct dns_responder_stats {
	uint64_t answered, empty, dropped, malformed;
};

struct dns_responder;

/* Open the sockets in network namespace netns (NULL: this one). */
int dns_responder_open(const char *netns, const struct dns_answer *a,
		       struct dns_responder **ret);
/* Readable when there is work for dns_responder_serve(). */
int dns_responder_fd(const struct dns_responder *r);
uint16_t dns_responder_port(const struct dns_responder *r);
/* The namespace's cookie (SO_NETNS_COOKIE), 0 when the kernel has none. */
uint64_t dns_responder_netns_cookie(const struct dns_responder *r);
/* Serve what is ready, without blocking. */
void dns_responder_serve(struct dns_responder *r);
const struct dns_responder_stats *dns_responder_stats(const struct dns_responder *r);
void dns_responder_close(struct dns_responder *r);

#endif
