// SPDX-License-Identifier: GPL-2.0
/*
 * Numbered UDP datagrams with a known payload, for the corrupt and duplicate
 * tests.
 *
 *   udpseq send ADDR PORT N [LEN] [GAP_US]   N datagrams of LEN bytes (default
 *                                            256), GAP_US apart (default 100)
 *   udpseq recv ADDR PORT IDLE_MS            receive until IDLE_MS pass without
 *                                            one (after "ready" on stdout)
 *
 * Each datagram is a 32-bit sequence number (network order) then bytes
 * (seq + i) & 0xff. recv prints "received=R unique=U duplicates=D corrupt=C":
 * datagrams, distinct sequence numbers, repeats, payloads that differ from
 * the pattern. Exit 2 on bad usage, 1 on a socket error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEQ (1u << 20)
#define MAX_LEN 1400

static int addr_of(const char *addr, const char *port, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(atoi(port));
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(atoi(port));
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

static void fill(unsigned char *b, uint32_t seq, size_t len)
{
	uint32_t n = htonl(seq);

	memcpy(b, &n, 4);
	for (size_t i = 4; i < len; i++)
		b[i] = (seq ^ seq >> 8 ^ seq >> 16 ^ seq >> 24) + i;
}

static int do_send(int fd, const struct sockaddr_storage *ss, socklen_t sl, long n, long len,
		   long gap_us)
{
	unsigned char b[MAX_LEN];
	struct timespec gap = { gap_us / 1000000, gap_us % 1000000 * 1000 };

	for (long s = 0; s < n; s++) {
		fill(b, s, len);
		if (sendto(fd, b, len, 0, (const struct sockaddr *)ss, sl) < 0 && errno != ECONNREFUSED) {
			perror("sendto");
			return 1;
		}
		if (gap_us)
			nanosleep(&gap, NULL);
	}
	return 0;
}

static int do_recv(int fd, int idle_ms)
{
	unsigned char b[MAX_LEN + 1], want[MAX_LEN];
	unsigned char *seen = calloc(MAX_SEQ, 1);
	long received = 0, unique = 0, dup = 0, corrupt = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (!seen)
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (poll(&p, 1, idle_ms) > 0) {
		ssize_t r = recv(fd, b, sizeof(b), 0);
		uint32_t seq;

		if (r < 4)
			continue;
		memcpy(&seq, b, 4);
		seq = ntohl(seq);
		received++;
		fill(want, seq, r);
		/* A flipped bit in the number itself: a corrupt datagram too. */
		if (seq >= MAX_SEQ || memcmp(b, want, r)) {
			corrupt++;
			continue;
		}
		if (seen[seq]++)
			dup++;
		else
			unique++;
	}
	printf("received=%ld unique=%ld duplicates=%ld corrupt=%ld\n", received, unique, dup, corrupt);
	free(seen);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, rc;

	if (argc < 5 || addr_of(argv[2], argv[3], &ss, &sl)) {
		fprintf(stderr, "usage: udpseq send ADDR PORT N [LEN] [GAP_US] | recv ADDR PORT IDLE_MS\n");
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (!strcmp(argv[1], "send")) {
		long len = argc > 5 ? atol(argv[5]) : 256;

		if (len < 4 || len > MAX_LEN)
			return 2;
		rc = do_send(fd, &ss, sl, atol(argv[4]), len, argc > 6 ? atol(argv[6]) : 100);
	} else if (!strcmp(argv[1], "recv")) {
		int big = 64 << 20;

		/* A receiver starved by a loaded machine must not drop: root may
		 * exceed rmem_max. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		if (bind(fd, (struct sockaddr *)&ss, sl)) {
			perror("bind");
			return 1;
		}
		rc = do_recv(fd, atoi(argv[4]));
	} else {
		rc = 2;
	}
	close(fd);
	return rc;
}
