// SPDX-License-Identifier: GPL-2.0
/*
 * Socket probe for the socket-fault tests: one call, its result on stdout.
 *
 *   sockprobe connect ADDR PORT [N]   N TCP connect()s (default 1)
 *   sockprobe udpconnect ADDR PORT    UDP connect()
 *   sockprobe sendto ADDR PORT        one unconnected UDP sendto()
 *   sockprobe listen ADDR PORT        a TCP listener that accepts forever
 *   sockprobe resolve NAME            getaddrinfo(NAME), IPv4
 *   sockprobe trace connect|sendto ADDR PORT MS
 *                                     one call a millisecond for MS ms, one
 *                                     line a call: "<ms since the epoch of
 *                                     its start> <1 ok | 0 failed>"
 *
 * Prints "ok" or the errno name (for resolve: the address, or gai:CODE)
 * per call; connect with N prints "ok=X ERRNO=Y ..." totals. Exit 0 when
 * every call worked, 1 otherwise, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int sockaddr_of(const char *addr, const char *port, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(atoi(port));
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(atoi(port));
		*len = sizeof(*s6);
		return 0;
	}
	fprintf(stderr, "sockprobe: bad address %s\n", addr);
	return -1;
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

static int one(const char *what, struct sockaddr_storage *ss, socklen_t len)
{
	int udp = strcmp(what, "connect") != 0;
	int fd = socket(ss->ss_family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	int r;

	if (fd < 0)
		return errno;
	if (!strcmp(what, "sendto"))
		r = sendto(fd, "x", 1, 0, (struct sockaddr *)ss, len) == 1 ? 0 : -1;
	else
		r = connect(fd, (struct sockaddr *)ss, len);
	r = r ? errno : 0;
	close(fd);
	return r;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Lines are kept in memory and printed at the end: stdout's own writes
 * must not pace the calls. */
static int trace(const char *what, struct sockaddr_storage *ss, socklen_t len, long ms)
{
	size_t n = 0, cap = ms + 16;
	long long *t = calloc(cap, sizeof(*t)), end = now_ms() + ms;
	char *ok = calloc(cap, 1);

	if (!t || !ok)
		return 1;
	while (n < cap && (t[n] = now_ms()) < end) {
		ok[n] = one(what, ss, len) == 0;
		n++;
		usleep(1000);
	}
	for (size_t i = 0; i < n; i++)
		printf("%lld %d\n", t[i], ok[i]);
	free(t);
	free(ok);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (argc == 6 && !strcmp(argv[1], "trace")) {
		if (sockaddr_of(argv[3], argv[4], &ss, &len))
			goto usage;
		return trace(argv[2], &ss, len, atol(argv[5]));
	}

	if (argc == 3 && !strcmp(argv[1], "resolve")) {
		struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
		char buf[INET_ADDRSTRLEN];
		int r = getaddrinfo(argv[2], NULL, &hints, &res);

		if (r) {
			printf("gai:%d %s\n", r, gai_strerror(r));
			return 1;
		}
		inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, buf, sizeof(buf));
		printf("%s\n", buf);
		freeaddrinfo(res);
		return 0;
	}
	if (argc < 4 || sockaddr_of(argv[2], argv[3], &ss, &len))
		goto usage;
	if (!strcmp(argv[1], "listen")) {
		int fd = socket(ss.ss_family, SOCK_STREAM, 0), on = 1;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128)) {
			perror("sockprobe: listen");
			return 1;
		}
		printf("listening\n");
		fflush(stdout);
		for (;;) {
			int c = accept(fd, NULL, NULL);

			if (c >= 0)
				close(c);
		}
	}
	if (!strcmp(argv[1], "connect") || !strcmp(argv[1], "udpconnect") ||
	    !strcmp(argv[1], "sendto")) {
		int n = argc > 4 ? atoi(argv[4]) : 1, ok = 0, last = 0, bad = 0;

		for (int i = 0; i < n; i++) {
			int e = one(argv[1], &ss, len);

			if (!e)
				ok++;
			else
				bad++, last = e;
		}
		if (n == 1)
			printf("%s\n", bad ? ename(last) : "ok");
		else
			printf("ok=%d failed=%d errno=%s\n", ok, bad, bad ? ename(last) : "-");
		return bad ? 1 : 0;
	}
usage:
	fprintf(stderr, "usage: sockprobe connect|udpconnect|sendto|listen ADDR PORT [N] | resolve NAME |\n"
		"       trace connect|sendto ADDR PORT MS\n");
	return 2;
}
