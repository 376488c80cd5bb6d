// SPDX-License-Identifier: GPL-2.0
/* The answers of dns-fail --answer, built from queries: the same id and
 * question, the asked rcode or address, and nothing for what is not a
 * well formed query (the queries are untrusted input). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsresp.h"
#include "harness.h"

/* A query for NAME (dotted) of type qtype, id 0xbeef, RD set. */
static size_t query(const char *name, unsigned qtype, uint8_t *q)
{
	static const uint8_t hdr[12] = { 0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t n = 12;
	const char *p = name;

	memcpy(q, hdr, 12);
	while (*p) {
		size_t l = strcspn(p, ".");

		q[n++] = l;
		memcpy(q + n, p, l);
		n += l;
		p += l + (p[l] == '.');
	}
	q[n++] = 0;
	q[n++] = qtype >> 8, q[n++] = qtype & 0xff;
	q[n++] = 0, q[n++] = 1;
	return n;
}

static struct dns_answer answer(const char *arg)
{
	struct dns_answer a = {};

	CHECK_EQ(dns_answer_parse(arg, &a), 0);
	return a;
}

static void parses_answers(void)
{
	struct dns_answer a;
	char buf[64];

	a = answer("NXDomain");
	CHECK_EQ(a.kind, DNS_ANSWER_RCODE);
	CHECK_EQ(a.rcode, 3);
	CHECK_STR(dns_answer_name(&a, buf, sizeof(buf)), "nxdomain");
	CHECK_EQ(answer("servfail").rcode, 2);
	CHECK_EQ(answer("refused").rcode, 5);
	CHECK_EQ(answer("timeout").kind, DNS_ANSWER_TIMEOUT);
	a = answer("10.200.9.9");
	CHECK_EQ(a.kind, DNS_ANSWER_ADDRESS);
	CHECK_EQ(a.family, AF_INET);
	CHECK_STR(dns_answer_name(&a, buf, sizeof(buf)), "10.200.9.9");
	a = answer("fd00:200:0::9");
	CHECK_EQ(a.family, AF_INET6);
	CHECK_STR(dns_answer_name(&a, buf, sizeof(buf)), "fd00:200::9");
	CHECK_EQ(dns_answer_parse("nx", &a), -EINVAL);
	CHECK_EQ(dns_answer_parse("", &a), -EINVAL);
	CHECK_EQ(dns_answer_parse("10.0.0.256", &a), -EINVAL);
	CHECK_EQ(dns_answer_parse("[fd00::1]", &a), -EINVAL);
}

static void rcode_answers_keep_id_and_question(void)
{
	struct dns_answer a = answer("nxdomain");
	uint8_t q[512], out[512];
	size_t n = query("svc.tug.test", 1, q);
	enum dns_built b;
	int m = dns_answer_build(&a, q, n, out, sizeof(out), &b);

	CHECK_EQ(m, (int)n);
	CHECK_EQ(b, DNS_BUILT_ANSWER);
	CHECK(!memcmp(out, q, 2));			/* id */
	CHECK_EQ(out[2], 0x85);				/* QR AA RD */
	CHECK_EQ(out[3], 0x83);				/* RA NXDOMAIN */
	CHECK_EQ(out[5], 1);				/* one question */
	CHECK_EQ(out[7] | out[9] | out[11], 0);		/* no records */
	CHECK(!memcmp(out + 12, q + 12, n - 12));	/* the question */
	a = answer("servfail");
	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), (int)n);
	CHECK_EQ(out[3] & 0x0f, 2);
	/* Extra bytes after the question (EDNS OPT) are not echoed. */
	q[11] = 1;
	memset(q + n, 0, 11);
	q[n + 2] = 41;
	CHECK_EQ(dns_answer_build(&a, q, n + 11, out, sizeof(out), &b), (int)n);
	CHECK_EQ(out[11], 0);
}

static void address_answers_its_type_only(void)
{
	struct dns_answer a4 = answer("10.200.9.9"), a6 = answer("fd00:200::9");
	uint8_t q[512], out[512];
	size_t n = query("svc.tug.test", 1, q);
	enum dns_built b;
	int m = dns_answer_build(&a4, q, n, out, sizeof(out), &b);

	CHECK_EQ(b, DNS_BUILT_ANSWER);
	CHECK_EQ(m, (int)n + 16);
	CHECK_EQ(out[3], 0x80);				/* NOERROR */
	CHECK_EQ(out[7], 1);				/* one answer */
	CHECK_EQ(out[n], 0xc0);				/* name: the question's */
	CHECK_EQ(out[n + 1], 12);
	CHECK_EQ(out[n + 3], 1);			/* type A */
	CHECK_EQ(out[n + 9], DNS_ANSWER_TTL);
	CHECK_EQ(out[n + 11], 4);
	CHECK(!memcmp(out + n + 12, a4.addr, 4));
	/* AAAA for an IPv4 address: NOERROR, no records. */
	n = query("svc.tug.test", 28, q);
	CHECK_EQ(dns_answer_build(&a4, q, n, out, sizeof(out), &b), (int)n);
	CHECK_EQ(b, DNS_BUILT_EMPTY);
	CHECK_EQ(out[3], 0x80);
	CHECK_EQ(out[7], 0);
	m = dns_answer_build(&a6, q, n, out, sizeof(out), &b);
	CHECK_EQ(m, (int)n + 28);
	CHECK_EQ(out[n + 3], 28);
	CHECK(!memcmp(out + m - 16, a6.addr, 16));
	/* No room: nothing is written past max. */
	CHECK_EQ(dns_answer_build(&a6, q, n, out, n + 27, &b), -EBADMSG);
}

static void timeout_drops(void)
{
	struct dns_answer a = answer("timeout");
	uint8_t q[512], out[512];
	size_t n = query("svc.tug.test", 1, q);
	enum dns_built b;

	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), 0);
	CHECK_EQ(b, DNS_BUILT_DROP);
	/* Still validated: a malformed one is counted as such. */
	CHECK_EQ(dns_answer_build(&a, q, 11, out, sizeof(out), &b), -EBADMSG);
}

static void rejects_malformed_queries(void)
{
	struct dns_answer a = answer("nxdomain");
	uint8_t q[600], out[512];
	size_t n = query("svc.tug.test", 1, q);
	enum dns_built b;
	char longname[300];

	/* Every truncation of a good query. */
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(dns_answer_build(&a, q, i, out, sizeof(out), &b), -EBADMSG);
	q[2] |= 0x80;				/* a response */
	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), -EBADMSG);
	q[2] = 0x01 | (4 << 3);			/* opcode NOTIFY */
	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), -EBADMSG);
	q[2] = 0x01;
	q[5] = 2;				/* two questions */
	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), -EBADMSG);
	q[5] = 0;
	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), -EBADMSG);
	q[4] = 1, q[5] = 1;			/* 257 questions */
	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), -EBADMSG);
	q[4] = 0;
	q[12] = 0xc0;				/* a compression pointer */
	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), -EBADMSG);
	q[12] = 64;				/* a label too long */
	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), -EBADMSG);
	q[12] = 200;				/* a label past the end */
	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), -EBADMSG);
	/* A name of 255 bytes is the most; 257 is not a name. */
	memset(longname, 'a', sizeof(longname));
	for (int i = 63; i < 300; i += 64)
		longname[i] = '.';
	longname[253] = '\0';			/* 253 characters: 255 on the wire */
	n = query(longname, 1, q);
	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), (int)n);
	longname[253] = 'a';
	longname[255] = '\0';
	n = query(longname, 1, q);
	CHECK_EQ(dns_answer_build(&a, q, n, out, sizeof(out), &b), -EBADMSG);
	/* Random bytes never crash and never answer past max. */
	srand(1);
	for (int i = 0; i < 20000; i++) {
		size_t len = rand() % 64;
		int m;

		for (size_t j = 0; j < len; j++)
			q[j] = rand();
		if (i & 1)
			q[2] = 0, q[4] = 0, q[5] = 1;
		m = dns_answer_build(&a, q, len, out, sizeof(out), &b);
		CHECK(m == -EBADMSG || (m >= 17 && (size_t)m <= len));
	}
}

int main(void)
{
	RUN(parses_answers);
	RUN(rcode_answers_keep_id_and_question);
	RUN(address_answers_its_type_only);
	RUN(timeout_drops);
	RUN(rejects_malformed_queries);
	return t_exit();
}
