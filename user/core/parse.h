/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Strict parsers for what users type: every one rejects trailing garbage,
 * overflow and missing units, returns 0 or -EINVAL/-ERANGE, and leaves its
 * ret_ argument untouched on failure.
 */
#ifndef TUG_PARSE_H
#define TUG_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"

/* "250ms", "30s", "5m", "1h", "1m30s": a unit is required. */
int parse_duration(const char *s, uint64_t *ret_ns);
/* Formats ns as the shortest exact form parse_duration() accepts. */
char *format_duration(uint64_t ns, char *buf, size_t len);

/* "4096", "512K", "512M", "2G", "1T" (binary multiples; an optional B). */
int parse_size(const char *s, uint64_t *ret_bytes);
char *format_size(uint64_t bytes, char *buf, size_t len);

/* "0".."100", optionally with decimals and a trailing '%'. */
int parse_percent(const char *s, double *ret_pct);

/* X >= 0 to the nearest integer: llround() without libm, one shared
 * object fewer for the node controller to load. */
static inline uint64_t round_u64(double x)
{
	return (uint64_t)(x + 0.5);
}

/* A SIZE or a PCT ("70%"): the '%' decides which. */
struct size_or_pct {
	bool is_pct;
	uint64_t bytes;
	double pct;
};
int parse_size_or_pct(const char *s, struct size_or_pct *ret);

/* A rate in bits a second, tc's way: "500kbit", "10mbit", "1gbit", "64000bit"
 * (k, m, g are powers of 1000); a unit is required, decimals are accepted
 * ("1.5mbit"). tc's "mbps" means bytes: refused, it reads like bits. */
int parse_rate(const char *s, uint64_t *ret_bits);
char *format_rate(uint64_t bits, char *buf, size_t len);

/* An unsigned decimal integer within [min, max]. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* "10.0.0.0/8", "10.0.0.1" (= /32), "fd00::/64", "::1" (= /128). */
struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t prefixlen;
	uint8_t addr[16];	/* network byte order; IPv4 in the first 4 */
};
int parse_cidr(const char *s, struct cidr *ret);
/* "CIDR", "CIDR:PORT", "[V6CIDR]:PORT"; *ret_port is 0 when absent. */
int parse_cidr_port(const char *s, struct cidr *ret, uint16_t *ret_port);
/* A comma separated list; *ret_n entries allocated into *ret. */
int parse_cidr_list(const char *s, struct cidr **ret, size_t *ret_n);
char *format_cidr(const struct cidr *c, char *buf, size_t len);
bool cidr_contains(const struct cidr *c, int family, const uint8_t *addr);

/* "ECONNREFUSED" or "econnrefused" or "111". */
int parse_errno_name(const char *s, int *ret_errno);
/* "KILL", "SIGKILL", "9". */
int parse_signal_name(const char *s, int *ret_sig);

#endif
