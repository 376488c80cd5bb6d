// SPDX-License-Identifier: GPL-2.0
/*
 * pingtrace: ICMP echo every INTERVAL microseconds for DURATION ms, one line
 * per probe: "<send time, us since the epoch> <seq> <1 replied | 0 lost>".
 * A probe is lost when no reply came within TIMEOUT ms or the send itself
 * failed (an egress drop returns ENOBUFS). Used by the tests and benchmarks
 * to time when a partition starts and ends, to the millisecond.
 *
 *   pingtrace [-i US] [-d MS] [-W MS] ADDRESS
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXP 200000

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint16_t csum(const void *p, size_t n)
{
	const uint16_t *w = p;
	uint32_t s = 0;

	for (; n > 1; n -= 2)
		s += *w++;
	if (n)
		s += *(const uint8_t *)w;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

static uint64_t sent[MAXP];
static unsigned char got[MAXP];

int main(int argc, char **argv)
{
	long interval = 1000, duration = 1000, timeout = 20;
	struct sockaddr_storage dst = { 0 };
	socklen_t dlen;
	int opt, fd, v6 = 0;
	uint16_t ident = getpid() & 0xffff;
	uint64_t start, next, end;
	long n = 0;

	while ((opt = getopt(argc, argv, "i:d:W:")) != -1) {
		if (opt == 'i')
			interval = atol(optarg);
		else if (opt == 'd')
			duration = atol(optarg);
		else if (opt == 'W')
			timeout = atol(optarg);
		else
			return 2;
	}
	if (optind >= argc || interval <= 0 || duration <= 0) {
		fprintf(stderr, "usage: pingtrace [-i US] [-d MS] [-W MS] ADDRESS\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[optind], &((struct sockaddr_in *)&dst)->sin_addr) == 1) {
		dst.ss_family = AF_INET;
		dlen = sizeof(struct sockaddr_in);
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	} else if (inet_pton(AF_INET6, argv[optind], &((struct sockaddr_in6 *)&dst)->sin6_addr) == 1) {
		dst.ss_family = AF_INET6;
		dlen = sizeof(struct sockaddr_in6);
		fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
		v6 = 1;
	} else {
		fprintf(stderr, "pingtrace: '%s' is not an address\n", argv[optind]);
		return 2;
	}
	if (fd < 0) {
		perror("pingtrace: socket");
		return 1;
	}
	/* The default 50 us of timer slack is a quarter of a 200 us interval. */
	prctl(PR_SET_TIMERSLACK, 1UL);
	start = now_us();
	next = start;
	end = start + duration * 1000;
	while (1) {
		uint64_t t = now_us();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct timespec wait;
		uint64_t us;

		if (t >= next && t < end && n < MAXP) {
			unsigned char pkt[64] = { 0 };

			if (v6) {
				struct icmp6_hdr *h = (void *)pkt;

				h->icmp6_type = ICMP6_ECHO_REQUEST;
				h->icmp6_id = htons(ident);
				h->icmp6_seq = htons(n & 0xffff);
			} else {
				struct icmphdr *h = (void *)pkt;

				h->type = ICMP_ECHO;
				h->un.echo.id = htons(ident);
				h->un.echo.sequence = htons(n & 0xffff);
				h->checksum = csum(pkt, sizeof(pkt));
			}
			sent[n] = t;
			sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, dlen);
			n++;
			next += interval;
			continue;
		}
		if (t >= end + timeout * 1000)
			break;
		/* To the microsecond: poll()'s milliseconds would spin through
		 * sub-millisecond intervals and take a CPU from what is measured. */
		us = t < end ? (next > t ? next - t : 0) : (uint64_t)timeout * 1000;
		wait = (struct timespec){ .tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000 };
		if (ppoll(&p, 1, &wait, NULL) > 0) {
			unsigned char buf[1500];
			ssize_t r = recv(fd, buf, sizeof(buf), 0);
			uint64_t rt = now_us();
			uint16_t id, seq;
			int ok;

			if (r <= 0)
				continue;
			if (v6) {
				struct icmp6_hdr *h = (void *)buf;

				ok = r >= 8 && h->icmp6_type == ICMP6_ECHO_REPLY;
				id = ntohs(h->icmp6_id);
				seq = ntohs(h->icmp6_seq);
			} else {
				size_t ihl = (buf[0] & 0xf) * 4;
				struct icmphdr *h = (void *)(buf + ihl);

				ok = r >= (ssize_t)(ihl + 8) && h->type == ICMP_ECHOREPLY;
				id = ntohs(h->un.echo.id);
				seq = ntohs(h->un.echo.sequence);
			}
			if (!ok || id != ident)
				continue;
			/* seq wraps at 65536: the newest probe with that seq. */
			for (long i = n - 1; i >= 0 && i >= n - 65536; i--) {
				if ((i & 0xffff) == seq) {
					if (rt - sent[i] <= (uint64_t)timeout * 1000)
						got[i] = 1;
					break;
				}
			}
		}
	}
	for (long i = 0; i < n; i++)
		printf("%llu %ld %d\n", (unsigned long long)sent[i], i, got[i]);
	return 0;
}
