// SPDX-License-Identifier: GPL-2.0
/* Parsers of what users type: exact values, and refusal of everything else. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "harness.h"
#include "parse.h"

static void duration_units(void)
{
	uint64_t ns = 0;

	CHECK_EQ(parse_duration("250ms", &ns), 0);
	CHECK_EQ(ns, 250 * NSEC_PER_MSEC);
	CHECK_EQ(parse_duration("30s", &ns), 0);
	CHECK_EQ(ns, 30 * NSEC_PER_SEC);
	CHECK_EQ(parse_duration("5m", &ns), 0);
	CHECK_EQ(ns, 300 * NSEC_PER_SEC);
	CHECK_EQ(parse_duration("1h", &ns), 0);
	CHECK_EQ(ns, 3600 * NSEC_PER_SEC);
	CHECK_EQ(parse_duration("1m30s", &ns), 0);
	CHECK_EQ(ns, 90 * NSEC_PER_SEC);
	CHECK_EQ(parse_duration("1500us", &ns), 0);
	CHECK_EQ(ns, 1500000);
}

static void duration_rejects(void)
{
	uint64_t ns = 42;

	CHECK_EQ(parse_duration("30", &ns), -EINVAL);		/* a unit is required */
	CHECK_EQ(parse_duration("", &ns), -EINVAL);
	CHECK_EQ(parse_duration("s", &ns), -EINVAL);
	CHECK_EQ(parse_duration("-5s", &ns), -EINVAL);
	CHECK_EQ(parse_duration("5 s", &ns), -EINVAL);
	CHECK_EQ(parse_duration("5sec", &ns), -EINVAL);
	CHECK_EQ(parse_duration("1.5s", &ns), -EINVAL);
	CHECK_EQ(parse_duration("5x", &ns), -EINVAL);
	CHECK_EQ(parse_duration("99999999999999999999s", &ns), -ERANGE);
	CHECK_EQ(parse_duration("999999999999d", &ns), -ERANGE);
	CHECK_EQ(ns, 42);	/* untouched on failure */
}

static void duration_format_roundtrip(void)
{
	const uint64_t v[] = { 0, 1, 250 * NSEC_PER_MSEC, 30 * NSEC_PER_SEC, 300 * NSEC_PER_SEC,
			       7200 * NSEC_PER_SEC, 1500 * NSEC_PER_MSEC };
	char buf[32];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t back = 1;

		CHECK_EQ(parse_duration(format_duration(v[i], buf, sizeof(buf)), &back), 0);
		CHECK_EQ(back, v[i]);
	}
	CHECK_STR(format_duration(90 * NSEC_PER_SEC, buf, sizeof(buf)), "90s");
	CHECK_STR(format_duration(5 * 60 * NSEC_PER_SEC, buf, sizeof(buf)), "5m");
}

static void size_units(void)
{
	uint64_t b = 0;

	CHECK_EQ(parse_size("4096", &b), 0);
	CHECK_EQ(b, 4096);
	CHECK_EQ(parse_size("512M", &b), 0);
	CHECK_EQ(b, 512ULL << 20);
	CHECK_EQ(parse_size("2G", &b), 0);
	CHECK_EQ(b, 2ULL << 30);
	CHECK_EQ(parse_size("2GiB", &b), 0);
	CHECK_EQ(b, 2ULL << 30);
	CHECK_EQ(parse_size("10k", &b), 0);
	CHECK_EQ(b, 10240);
	CHECK_EQ(parse_size("1T", &b), 0);
	CHECK_EQ(b, 1ULL << 40);
	b = 7;
	CHECK_EQ(parse_size("", &b), -EINVAL);
	CHECK_EQ(parse_size("M", &b), -EINVAL);
	CHECK_EQ(parse_size("5X", &b), -EINVAL);
	CHECK_EQ(parse_size("5MM", &b), -EINVAL);
	CHECK_EQ(parse_size("-1M", &b), -EINVAL);
	CHECK_EQ(parse_size("1.5G", &b), -EINVAL);
	CHECK_EQ(parse_size("99999999999999999P", &b), -ERANGE);
	CHECK_EQ(b, 7);
}

static void percent_and_size_or_pct(void)
{
	struct size_or_pct sp;
	double p = -1;

	CHECK_EQ(parse_percent("70", &p), 0);
	CHECK(p == 70.0);
	CHECK_EQ(parse_percent("2.5%", &p), 0);
	CHECK(p == 2.5);
	CHECK_EQ(parse_percent("0", &p), 0);
	CHECK_EQ(parse_percent("100%", &p), 0);
	CHECK_EQ(parse_percent("100.1", &p), -ERANGE);
	CHECK_EQ(parse_percent("-1", &p), -EINVAL);
	CHECK_EQ(parse_percent("50%%", &p), -EINVAL);
	CHECK_EQ(parse_percent("nan", &p), -EINVAL);
	CHECK_EQ(parse_percent("ten", &p), -EINVAL);

	CHECK_EQ(parse_size_or_pct("70%", &sp), 0);
	CHECK(sp.is_pct && sp.pct == 70.0);
	CHECK_EQ(parse_size_or_pct("512M", &sp), 0);
	CHECK(!sp.is_pct && sp.bytes == 512ULL << 20);
	CHECK_EQ(parse_size_or_pct("170%", &sp), -ERANGE);
}

static void uint_ranges(void)
{
	uint64_t v = 0;

	CHECK_EQ(parse_uint("80", 1, 65535, &v), 0);
	CHECK_EQ(v, 80);
	CHECK_EQ(parse_uint("0", 1, 65535, &v), -ERANGE);
	CHECK_EQ(parse_uint("65536", 1, 65535, &v), -ERANGE);
	CHECK_EQ(parse_uint("8o", 1, 65535, &v), -EINVAL);
	CHECK_EQ(parse_uint("+8", 1, 65535, &v), -EINVAL);
}

static void cidr_v4(void)
{
	struct cidr c;
	char buf[64];

	CHECK_EQ(parse_cidr("10.200.0.2", &c), 0);
	CHECK_EQ(c.family, AF_INET);
	CHECK_EQ(c.prefixlen, 32);
	CHECK_STR(format_cidr(&c, buf, sizeof(buf)), "10.200.0.2/32");
	CHECK_EQ(parse_cidr("10.200.0.0/16", &c), 0);
	CHECK_EQ(c.prefixlen, 16);
	CHECK_EQ(parse_cidr("0.0.0.0/0", &c), 0);
	CHECK_EQ(c.prefixlen, 0);
	/* Host bits set: refuse rather than guess what was meant. */
	CHECK_EQ(parse_cidr("10.200.0.1/24", &c), -EINVAL);
	CHECK_EQ(parse_cidr("10.200.0.300", &c), -EINVAL);
	CHECK_EQ(parse_cidr("10.200.0.0/33", &c), -EINVAL);
	CHECK_EQ(parse_cidr("10.200.0.0/", &c), -EINVAL);
	CHECK_EQ(parse_cidr("10.200.0.0/2x", &c), -EINVAL);
	CHECK_EQ(parse_cidr("example.com", &c), -EINVAL);
	CHECK_EQ(parse_cidr("", &c), -EINVAL);
}

static void cidr_v6(void)
{
	struct cidr c;
	char buf[64];

	CHECK_EQ(parse_cidr("fd00:200::2", &c), 0);
	CHECK_EQ(c.family, AF_INET6);
	CHECK_EQ(c.prefixlen, 128);
	CHECK_EQ(parse_cidr("fd00::/64", &c), 0);
	CHECK_STR(format_cidr(&c, buf, sizeof(buf)), "fd00::/64");
	CHECK_EQ(parse_cidr("fd00::1/64", &c), -EINVAL);
	CHECK_EQ(parse_cidr("fd00::/129", &c), -EINVAL);
	CHECK_EQ(parse_cidr("fd00:::1", &c), -EINVAL);
}

static void cidr_contains_works(void)
{
	struct cidr net;
	uint8_t a[16];

	parse_cidr("10.200.0.0/24", &net);
	inet_pton(AF_INET, "10.200.0.77", a);
	CHECK(cidr_contains(&net, AF_INET, a));
	inet_pton(AF_INET, "10.200.1.77", a);
	CHECK(!cidr_contains(&net, AF_INET, a));
	parse_cidr("fd00::/16", &net);
	inet_pton(AF_INET6, "fd00:1234::1", a);
	CHECK(cidr_contains(&net, AF_INET6, a));
	CHECK(!cidr_contains(&net, AF_INET, a));
}

static void cidr_port_forms(void)
{
	struct cidr c;
	uint16_t port = 1;

	CHECK_EQ(parse_cidr_port("10.200.0.2:5432", &c, &port), 0);
	CHECK_EQ(port, 5432);
	CHECK_EQ(c.prefixlen, 32);
	CHECK_EQ(parse_cidr_port("10.200.0.0/24", &c, &port), 0);
	CHECK_EQ(port, 0);
	CHECK_EQ(parse_cidr_port("10.200.0.0/24:80", &c, &port), 0);
	CHECK_EQ(port, 80);
	CHECK_EQ(parse_cidr_port("[fd00::2]:443", &c, &port), 0);
	CHECK_EQ(port, 443);
	CHECK_EQ(c.family, AF_INET6);
	CHECK_EQ(parse_cidr_port("fd00::2", &c, &port), 0);
	CHECK_EQ(port, 0);
	CHECK_EQ(parse_cidr_port("[fd00::/64]:53", &c, &port), 0);
	CHECK_EQ(c.prefixlen, 64);
	CHECK_EQ(parse_cidr_port("10.200.0.2:0", &c, &port), -EINVAL);
	CHECK_EQ(parse_cidr_port("10.200.0.2:70000", &c, &port), -EINVAL);
	CHECK_EQ(parse_cidr_port("[fd00::2", &c, &port), -EINVAL);
}

static void cidr_lists(void)
{
	struct cidr *v = NULL;
	size_t n = 0;

	CHECK_EQ(parse_cidr_list("10.200.0.2,10.200.1.0/24,fd00::/64", &v, &n), 0);
	CHECK_EQ(n, 3);
	if (n == 3) {
		CHECK_EQ(v[1].prefixlen, 24);
		CHECK_EQ(v[2].family, AF_INET6);
	}
	free(v);
	v = NULL;
	CHECK_EQ(parse_cidr_list("10.200.0.2,bogus", &v, &n), -EINVAL);
	CHECK(v == NULL);
	CHECK_EQ(parse_cidr_list(",", &v, &n), -EINVAL);
	CHECK_EQ(parse_cidr_list("", &v, &n), -EINVAL);
}

static void errno_and_signal_names(void)
{
	int e = 0, s = 0;

	CHECK_EQ(parse_errno_name("ECONNREFUSED", &e), 0);
	CHECK_EQ(e, ECONNREFUSED);
	CHECK_EQ(parse_errno_name("enospc", &e), 0);
	CHECK_EQ(e, ENOSPC);
	CHECK_EQ(parse_errno_name("110", &e), 0);
	CHECK_EQ(e, 110);
	CHECK_EQ(parse_errno_name("ENOTANERRNO", &e), -EINVAL);
	CHECK_EQ(parse_errno_name("0", &e), -EINVAL);

	CHECK_EQ(parse_signal_name("KILL", &s), 0);
	CHECK_EQ(s, SIGKILL);
	CHECK_EQ(parse_signal_name("sigterm", &s), 0);
	CHECK_EQ(s, SIGTERM);
	CHECK_EQ(parse_signal_name("9", &s), 0);
	CHECK_EQ(s, 9);
	CHECK_EQ(parse_signal_name("SIGNOPE", &s), -EINVAL);
	CHECK_EQ(parse_signal_name("99", &s), -EINVAL);
}

static void rates(void)
{
	uint64_t b = 7;
	char buf[32];

	CHECK_EQ(parse_rate("10mbit", &b), 0);
	CHECK_EQ(b, 10000000);
	CHECK_EQ(parse_rate("500kbit", &b), 0);
	CHECK_EQ(b, 500000);
	CHECK_EQ(parse_rate("1.5Mbit", &b), 0);
	CHECK_EQ(b, 1500000);
	CHECK_EQ(parse_rate("1gbit", &b), 0);
	CHECK_EQ(b, 1000000000);
	CHECK_EQ(parse_rate("64000bit", &b), 0);
	CHECK_EQ(b, 64000);
	b = 7;
	CHECK_EQ(parse_rate("10", &b), -EINVAL);	/* a unit is required */
	CHECK_EQ(parse_rate("10mbps", &b), -EINVAL);	/* tc's bytes */
	CHECK_EQ(parse_rate("10 mbit", &b), -EINVAL);
	CHECK_EQ(parse_rate("0x10mbit", &b), -EINVAL);
	CHECK_EQ(parse_rate("1e3kbit", &b), -EINVAL);
	CHECK_EQ(parse_rate("1.2.3mbit", &b), -EINVAL);
	CHECK_EQ(parse_rate("5.mbit", &b), -EINVAL);
	CHECK_EQ(parse_rate("-1mbit", &b), -EINVAL);
	CHECK_EQ(parse_rate("0mbit", &b), -ERANGE);
	CHECK_EQ(parse_rate("2000gbit", &b), -ERANGE);
	CHECK_EQ(parse_rate("", &b), -EINVAL);
	CHECK_EQ(b, 7);
	CHECK_STR(format_rate(10000000, buf, sizeof(buf)), "10mbit");
	CHECK_STR(format_rate(1500000, buf, sizeof(buf)), "1500kbit");
}

int main(void)
{
	RUN(duration_units);
	RUN(duration_rejects);
	RUN(duration_format_roundtrip);
	RUN(size_units);
	RUN(percent_and_size_or_pct);
	RUN(uint_ranges);
	RUN(cidr_v4);
	RUN(cidr_v6);
	RUN(cidr_contains_works);
	RUN(cidr_port_forms);
	RUN(cidr_lists);
	RUN(errno_and_signal_names);
	RUN(rates);
	return t_exit();
}
