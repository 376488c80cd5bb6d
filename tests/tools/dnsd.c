// SPDX-License-Identifier: GPL-2.0
/*
 * A tiny DNS responder for the dns-fail tests: on ADDR:PORT, UDP and TCP,
 * it answers every A question with IP (TTL 0) and every other type with
 * an empty NOERROR answer. Prints "ready" once both sockets listen.
 *
 *   dnsd ADDR PORT IP
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Build the answer to query q (n bytes) in out; returns its length or -1. */
static int answer(const uint8_t *q, int n, const struct in_addr *ip, uint8_t *out, int max)
{
	int off = 12, qtype;

	if (n < 17 || n + 16 > max)
		return -1;
	while (off < n && q[off])
		off += q[off] + 1;
	if (off + 5 > n)
		return -1;
	qtype = q[off + 1] << 8 | q[off + 2];
	off += 5;			/* root label, QTYPE, QCLASS */
	memcpy(out, q, off);
	out[2] = 0x84 | (q[2] & 0x01);	/* QR, AA, RD copied */
	out[3] = 0x80;			/* RA, NOERROR */
	out[4] = 0, out[5] = 1;		/* one question */
	out[6] = 0, out[7] = qtype == 1;
	memset(out + 8, 0, 4);
	if (qtype != 1)
		return off;
	{
		uint8_t rr[16] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4 };

		memcpy(rr + 12, ip, 4);
		memcpy(out + off, rr, 16);
		return off + 16;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct in_addr ip;
	int u, t, on = 1;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[3], &ip) != 1) {
		fprintf(stderr, "usage: dnsd ADDR PORT IP\n");
		return 2;
	}
	sa.sin_port = htons(atoi(argv[2]));
	u = socket(AF_INET, SOCK_DGRAM, 0);
	t = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(u, (struct sockaddr *)&sa, sizeof(sa)) || bind(t, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(t, 16)) {
		perror("dnsd: bind");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p[2] = { { .fd = u, .events = POLLIN }, { .fd = t, .events = POLLIN } };
		uint8_t q[512], out[600];
		int n, m;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);

			n = recvfrom(u, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
			m = n > 0 ? answer(q, n, &ip, out, sizeof(out)) : -1;
			if (m > 0)
				sendto(u, out, m, 0, (struct sockaddr *)&from, fl);
		}
		if (p[1].revents & POLLIN) {
			int c = accept(t, NULL, NULL);
			uint8_t lb[2];

			if (c < 0)
				continue;
			/* One query per connection is all glibc's use-vc needs. */
			while (recv(c, lb, 2, MSG_WAITALL) == 2) {
				int ql = lb[0] << 8 | lb[1];

				if (ql > (int)sizeof(q) || recv(c, q, ql, MSG_WAITALL) != ql)
					break;
				m = answer(q, ql, &ip, out + 2, sizeof(out) - 2);
				if (m < 0)
					break;
				out[0] = m >> 8, out[1] = m & 0xff;
				if (send(c, out, m + 2, MSG_NOSIGNAL) != m + 2)
					break;
			}
			close(c);
		}
	}
}
