// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

static const struct unit {
	const char *suffix;
	uint64_t mult;
} duration_units[] = {
	/* Longest suffix first so "ms" is not read as "m" + garbage. */
	{ "ms", NSEC_PER_MSEC },
	{ "us", 1000ULL },
	{ "ns", 1ULL },
	{ "s", NSEC_PER_SEC },
	{ "m", 60 * NSEC_PER_SEC },
	{ "h", 3600 * NSEC_PER_SEC },
	{ "d", 86400 * NSEC_PER_SEC },
};

int parse_duration(const char *s, uint64_t *ret_ns)
{
	uint64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	while (*p) {
		unsigned long long v;
		const struct unit *u = NULL;
		char *end;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno)
			return -ERANGE;
		for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
			size_t n = strlen(duration_units[i].suffix);

			if (!strncmp(end, duration_units[i].suffix, n) &&
			    !isalpha((unsigned char)end[n])) {
				u = &duration_units[i];
				p = end + n;
				break;
			}
		}
		if (!u)
			return -EINVAL;
		if (v > (UINT64_MAX - total) / u->mult)
			return -ERANGE;
		total += v * u->mult;
	}
	*ret_ns = total;
	return 0;
}

char *format_duration(uint64_t ns, char *buf, size_t len)
{
	if (ns && ns % (3600 * NSEC_PER_SEC) == 0)
		snprintf(buf, len, "%" PRIu64 "h", ns / (3600 * NSEC_PER_SEC));
	else if (ns && ns % (60 * NSEC_PER_SEC) == 0)
		snprintf(buf, len, "%" PRIu64 "m", ns / (60 * NSEC_PER_SEC));
	else if (ns % NSEC_PER_SEC == 0)
		snprintf(buf, len, "%" PRIu64 "s", ns / NSEC_PER_SEC);
	else if (ns % NSEC_PER_MSEC == 0)
		snprintf(buf, len, "%" PRIu64 "ms", ns / NSEC_PER_MSEC);
	else
		snprintf(buf, len, "%" PRIu64 "ns", ns);
	return buf;
}

int parse_size(const char *s, uint64_t *ret_bytes)
{
	static const char units[] = "KMGTP";
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end) {
		const char *u = strchr(units, toupper((unsigned char)*end));

		if (!u)
			return -EINVAL;
		mult = 1ULL << (10 * (u - units + 1));
		end++;
		/* Accept "M", "MB", "MiB": all binary, as dd and the kernel mean. */
		if (*end == 'i')
			end++;
		if (toupper((unsigned char)*end) == 'B')
			end++;
	}
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*ret_bytes = v * mult;
	return 0;
}

char *format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	int i = -1;
	double v = bytes;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%" PRIu64 "B", bytes);
	else
		snprintf(buf, len, "%.*f%c", v < 10 ? 1 : 0, v, units[i]);
	return buf;
}

int parse_percent(const char *s, double *ret_pct)
{
	char *end;
	double v;

	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	if (*end == '%')
		end++;
	if (*end || !isfinite(v))
		return -EINVAL;
	if (v < 0 || v > 100)
		return -ERANGE;
	*ret_pct = v;
	return 0;
}

int parse_size_or_pct(const char *s, struct size_or_pct *ret)
{
	struct size_or_pct r = { 0 };
	int err;

	if (s && *s && s[strlen(s) - 1] == '%') {
		r.is_pct = true;
		err = parse_percent(s, &r.pct);
	} else {
		err = parse_size(s, &r.bytes);
	}
	if (err)
		return err;
	*ret = r;
	return 0;
}

int parse_rate(const char *s, uint64_t *ret_bits)
{
	static const struct { const char *unit; double mult; } units[] = {
		{ "bit", 1 }, { "kbit", 1e3 }, { "mbit", 1e6 }, { "gbit", 1e9 },
	};
	size_t n = s ? strspn(s, "0123456789.") : 0;
	const char *end = s + n;
	int dots = 0;
	double v;

	/* Digits, one optional '.', digits: strtod alone would take hex and
	 * exponents. */
	for (size_t i = 0; i < n; i++)
		dots += s[i] == '.';
	if (!n || !isdigit((unsigned char)*s) || dots > 1 || end[-1] == '.')
		return -EINVAL;
	v = strtod(s, NULL);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].unit))
			continue;
		v *= units[i].mult;
		if (v < 1 || v > 1e12)
			return -ERANGE;
		*ret_bits = (uint64_t)(v + 0.5);
		return 0;
	}
	return -EINVAL;
}

char *format_rate(uint64_t bits, char *buf, size_t len)
{
	if (bits >= 1000000000 && bits % 1000000000 == 0)
		snprintf(buf, len, "%llugbit", (unsigned long long)(bits / 1000000000));
	else if (bits >= 1000000 && bits % 1000000 == 0)
		snprintf(buf, len, "%llumbit", (unsigned long long)(bits / 1000000));
	else if (bits >= 1000 && bits % 1000 == 0)
		snprintf(buf, len, "%llukbit", (unsigned long long)(bits / 1000));
	else
		snprintf(buf, len, "%llubit", (unsigned long long)bits);
	return buf;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_cidr(const char *s, struct cidr *ret)
{
	struct cidr c = { 0 };
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	int maxlen;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, c.addr) == 1) {
		c.family = AF_INET;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, c.addr) == 1) {
		c.family = AF_INET6;
		maxlen = 128;
	} else {
		return -EINVAL;
	}
	c.prefixlen = maxlen;
	if (slash) {
		uint64_t len;

		if (parse_uint(slash + 1, 0, maxlen, &len))
			return -EINVAL;
		c.prefixlen = len;
	}
	/* Host bits set means the user meant something else: refuse, don't guess. */
	for (int bit = c.prefixlen; bit < maxlen; bit++)
		if (c.addr[bit / 8] & (0x80 >> (bit % 8)))
			return -EINVAL;
	*ret = c;
	return 0;
}

int parse_cidr_port(const char *s, struct cidr *ret, uint16_t *ret_port)
{
	char buf[INET6_ADDRSTRLEN + 16];
	const char *port = NULL;
	uint64_t p = 0;
	struct cidr c;
	char *colon;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || (close[1] != ':' && close[1] != '\0'))
			return -EINVAL;
		*close = '\0';
		if (close[1] == ':')
			port = close + 2;
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
	} else if ((colon = strchr(buf, ':')) && !strchr(colon + 1, ':')) {
		/* Exactly one colon: IPv4 with a port. More means bare IPv6. */
		*colon = '\0';
		port = colon + 1;
	}
	if (port && parse_uint(port, 1, 65535, &p))
		return -EINVAL;
	if (parse_cidr(buf, &c))
		return -EINVAL;
	*ret = c;
	*ret_port = p;
	return 0;
}

int parse_cidr_list(const char *s, struct cidr **ret, size_t *ret_n)
{
	struct cidr *v = NULL;
	size_t n = 0, cap = 0;
	char *dup, *tok, *save = NULL;
	int err = 0;

	if (!s || !*s)
		return -EINVAL;
	dup = strdup(s);
	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == cap) {
			struct cidr *nv;

			cap = cap ? cap * 2 : 4;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				goto cleanup;
			}
			v = nv;
		}
		err = parse_cidr(tok, &v[n]);
		if (err)
			goto cleanup;
		n++;
	}
	if (!n) {
		err = -EINVAL;
		goto cleanup;
	}
	*ret = v;
	*ret_n = n;
	v = NULL;
cleanup:
	free(v);
	free(dup);
	return err;
}

char *format_cidr(const struct cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->prefixlen);
	return buf;
}

bool cidr_contains(const struct cidr *c, int family, const uint8_t *addr)
{
	if (c->family != family)
		return false;
	for (int bit = 0; bit < c->prefixlen; bit++) {
		uint8_t m = 0x80 >> (bit % 8);

		if ((c->addr[bit / 8] & m) != (addr[bit / 8] & m))
			return false;
	}
	return true;
}

int parse_errno_name(const char *s, int *ret_errno)
{
	uint64_t v;

	if (!s || !*s)
		return -EINVAL;
	if (isdigit((unsigned char)*s)) {
		if (parse_uint(s, 1, 4095, &v))
			return -EINVAL;
		*ret_errno = v;
		return 0;
	}
	/* glibc knows every name; asking it keeps one table, not two. */
	for (int e = 1; e < 4096; e++) {
		const char *name = strerrorname_np(e);

		if (name && !strcasecmp(name, s)) {
			*ret_errno = e;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_signal_name(const char *s, int *ret_sig)
{
	uint64_t v;

	if (!s || !*s)
		return -EINVAL;
	if (isdigit((unsigned char)*s)) {
		if (parse_uint(s, 1, SIGRTMAX, &v))
			return -EINVAL;
		*ret_sig = v;
		return 0;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *name = sigabbrev_np(sig);

		if (name && !strcasecmp(name, s)) {
			*ret_sig = sig;
			return 0;
		}
	}
	return -EINVAL;
}
