// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the command line's value parsers (durations, sizes,
 * percents, CIDR lists, errno and signal names, libpq conninfo). Each must
 * accept or refuse without crashing, leaking or hanging; a duration and a
 * CIDR it accepts must survive a round trip through their formatters (the
 * orchestrator hands nodes formatted durations: --for, --heartbeat). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"
#include "parse.h"
#include "sanitize.h"

static void need(int cond, const char *what, const char *in)
{
	if (!cond) {
		fprintf(stderr, "%s: '%s'\n", what, in);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, buf[256], why[512];
	struct size_or_pct sp;
	struct cidr c, c2, *list = NULL;
	uint64_t u, u2;
	uint16_t port;
	size_t n;
	double d;
	int x;

	if (!size)
		return 0;
	/* The first byte picks the parser; the rest is the option's value. */
	s = strndup((const char *)data + 1, size - 1);
	if (!s)
		return 0;
	switch (data[0] % 10) {
	case 0:
		if (!parse_duration(s, &u)) {
			format_duration(u, buf, sizeof(buf));
			need(!parse_duration(buf, &u2), "a formatted duration does not parse", s);
		}
		break;
	case 1:
		/* format_size rounds for people ("2.0G"): no round trip asked */
		if (!parse_size(s, &u))
			format_size(u, buf, sizeof(buf));
		break;
	case 2:
		if (!parse_percent(s, &d))
			need(d >= 0 && d <= 100, "a percent outside 0..100", s);
		break;
	case 3:
		if (!parse_size_or_pct(s, &sp) && sp.is_pct)
			need(sp.pct >= 0 && sp.pct <= 100, "a percent outside 0..100", s);
		break;
	case 4:
		if (!parse_uint(s, 1, 65535, &u))
			need(u >= 1 && u <= 65535, "a number outside its range", s);
		break;
	case 5:
		if (!parse_cidr(s, &c)) {
			format_cidr(&c, buf, sizeof(buf));
			need(!parse_cidr(buf, &c2) && c2.family == c.family && c2.prefixlen == c.prefixlen &&
			     !memcmp(c2.addr, c.addr, sizeof(c.addr)), "a CIDR does not round-trip", s);
		}
		break;
	case 6:
		parse_cidr_port(s, &c, &port);
		break;
	case 7:
		if (!parse_cidr_list(s, &list, &n))
			need(n > 0, "an empty CIDR list accepted", s);
		free(list);
		break;
	case 8:
		parse_errno_name(s, &x);
		parse_signal_name(s, &x);
		break;
	case 9:
		conninfo_check(s, buf, sizeof(buf), why, sizeof(why));
		break;
	}
	free(s);
	return 0;
}
