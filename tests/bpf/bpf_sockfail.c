// SPDX-License-Identifier: GPL-2.0
/*
 * The cgroup socket hooks of net refuse / dns-fail: the skeleton loads in
 * both modes, and attached to a scratch cgroup it fails exactly the
 * matching connect()s of a child in that cgroup with the configured errno
 * (IPv4, IPv6 and IPv4-mapped), counted per slot. In answer mode
 * (dns-fail --answer) a child's DNS datagrams reach a stand-in responder
 * on loopback and its answers come back named as from the server asked.
 * (The kernel has no BPF_PROG_TEST_RUN for cgroup sock_addr programs:
 * real sockets in a scratch cgroup are the test.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "fault.h"
#include "harness.h"
#include "sockfail.h"
#include "sockfail.skel.h"

static struct sockfail_bpf *load_answer(enum sockfail_mode mode, int err, uint16_t resp_port)
{
	struct sockfail_bpf *s = sockfail_bpf__open();
	bool answer = mode == SOCKFAIL_DNS_ANSWER;

	if (!s)
		return NULL;
	s->rodata->mode = mode;
	s->rodata->fail_errno = err;
	s->rodata->resp_port = resp_port;
	bpf_program__set_autoload(s->progs.tug_sf_sendmsg4, mode != SOCKFAIL_PEERS);
	bpf_program__set_autoload(s->progs.tug_sf_sendmsg6, mode != SOCKFAIL_PEERS);
	bpf_program__set_autoload(s->progs.tug_sf_recvmsg4, answer);
	bpf_program__set_autoload(s->progs.tug_sf_recvmsg6, answer);
	bpf_program__set_autoload(s->progs.tug_sf_getpeername4, answer);
	bpf_program__set_autoload(s->progs.tug_sf_getpeername6, answer);
	if (sockfail_bpf__load(s)) {
		sockfail_bpf__destroy(s);
		return NULL;
	}
	return s;
}

static struct sockfail_bpf *load(enum sockfail_mode mode, int err)
{
	return load_answer(mode, err, 0);
}

static void loads_in_every_mode(void)
{
	struct sockfail_bpf *a = load(SOCKFAIL_PEERS, ECONNREFUSED);
	struct sockfail_bpf *b = load(SOCKFAIL_DNS, EAGAIN);
	struct sockfail_bpf *c = load_answer(SOCKFAIL_DNS_ANSWER, ECONNREFUSED, 5353);

	CHECK(a != NULL);
	CHECK(b != NULL);
	CHECK(c != NULL);
	sockfail_bpf__destroy(a);
	sockfail_bpf__destroy(b);
	sockfail_bpf__destroy(c);
}

static int listener(int family, const char *addr, uint16_t *port)
{
	struct sockaddr_storage ss = { .ss_family = family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(family, SOCK_STREAM, 0);

	inet_pton(family, addr, family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr :
						  (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len))
		return -1;
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);	/* same offset for v6 */
	return fd;
}

/* connect() from this process: 0 or errno. */
static int try_connect(int family, const char *addr, uint16_t port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(family, SOCK_STREAM, 0), r;

	if (family == AF_INET)
		inet_pton(AF_INET, addr, &s4.sin_addr);
	else
		inet_pton(AF_INET6, addr, &s6.sin6_addr);
	r = family == AF_INET ? connect(fd, (struct sockaddr *)&s4, sizeof(s4)) :
				connect(fd, (struct sockaddr *)&s6, sizeof(s6));
	r = r ? errno : 0;
	close(fd);
	return r;
}

/* In a child: move this process into cgroup cg. */
static int join_cgroup(const char *cg)
{
	char procs[CGROUP_PATH_MAX + 64];
	FILE *f;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	f = fopen(procs, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0)
		return -1;
	return fclose(f) ? -1 : 0;
}

static void refuses_matching_connects_in_cgroup(void)
{
	struct cgroup_layout l;
	struct sockfail_bpf *s = NULL;
	struct bpf_link *l4 = NULL, *l6 = NULL;
	struct fault_counter c[SOCKFAIL_COUNTER_MAX];
	static const char *const names[] = { "r4", "r6", "passed", "u4", "u6" };
	char cg[CGROUP_PATH_MAX + 32];
	uint16_t pa, pb, p6;
	int a, b, six, cfd = -1, status = -1;
	pid_t child;

	if (cgroup_probe(&l) || !l.v2_root[0])
		SKIP("no cgroup2 hierarchy");
	a = listener(AF_INET, "127.0.0.1", &pa);
	b = listener(AF_INET, "127.0.0.1", &pb);
	six = listener(AF_INET6, "::1", &p6);
	snprintf(cg, sizeof(cg), "%s/tug-bpf-sockfail.%d", l.v2_root, getpid());
	if (a < 0 || b < 0 || six < 0 || mkdir(cg, 0755)) {
		CHECK(!"setup");
		goto cleanup;
	}
	cfd = open(cg, O_RDONLY | O_DIRECTORY);
	s = load(SOCKFAIL_PEERS, EHOSTUNREACH);
	CHECK(s != NULL);
	if (!s)
		goto cleanup;
	{
		struct sockfail_lpm_v4 k4 = { .prefixlen = 16 + 8, .port = { pa >> 8, pa & 0xff },
					       .addr = { 127 } };
		struct sockfail_lpm_v6 k6 = { .prefixlen = 16 + 128, .port = { 0, 0 },
					       .addr = { [15] = 1 } };
		__u8 one = 1;

		CHECK_EQ(bpf_map_update_elem(bpf_map__fd(s->maps.peers4), &k4, &one, 0), 0);
		CHECK_EQ(bpf_map_update_elem(bpf_map__fd(s->maps.peers6), &k6, &one, 0), 0);
	}
	l4 = bpf_program__attach_cgroup(s->progs.tug_sf_connect4, cfd);
	l6 = bpf_program__attach_cgroup(s->progs.tug_sf_connect6, cfd);
	CHECK(l4 && l6);
	/* Outside the cgroup nothing changes. */
	CHECK_EQ(try_connect(AF_INET, "127.0.0.1", pa), 0);
	child = fork();
	if (child == 0) {
		int bad = 0;

		if (join_cgroup(cg))
			_exit(100);
		bad |= try_connect(AF_INET, "127.0.0.1", pa) != EHOSTUNREACH;		/* refused */
		bad |= (try_connect(AF_INET, "127.0.0.1", pb) != 0) << 1;		/* other port */
		bad |= (try_connect(AF_INET6, "::1", p6) != EHOSTUNREACH) << 2;	/* any port */
		bad |= (try_connect(AF_INET6, "::ffff:127.0.0.1", pa) != EHOSTUNREACH) << 3;
		bad |= (try_connect(AF_INET6, "::ffff:127.0.0.1", pb) != 0) << 4;
		_exit(bad);
	}
	waitpid(child, &status, 0);
	CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	CHECK_EQ(fault_read_percpu_counters(bpf_map__fd(s->maps.counters), names,
					    SOCKFAIL_REFUSED_SENDMSG6 + 1, c), SOCKFAIL_REFUSED_SENDMSG6 + 1);
	CHECK_EQ(c[SOCKFAIL_REFUSED_CONNECT4].value, 1);
	CHECK_EQ(c[SOCKFAIL_REFUSED_CONNECT6].value, 2);
	CHECK_EQ(c[SOCKFAIL_PASSED].value, 2);
cleanup:
	bpf_link__destroy(l4);
	bpf_link__destroy(l6);
	sockfail_bpf__destroy(s);
	if (cfd >= 0)
		close(cfd);
	rmdir(cg);
	close(a);
	close(b);
	close(six);
}

/* A UDP socket of the stand-in responder on loopback; port 0 picks one. */
static int udp_on(int family, uint16_t *port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(*port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(*port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(s4);
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;

	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (fd < 0 || (family == AF_INET ? bind(fd, (struct sockaddr *)&s4, sizeof(s4)) :
					   bind(fd, (struct sockaddr *)&s6, sizeof(s6))) ||
	    getsockname(fd, (struct sockaddr *)&s4, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(s4.sin_port);	/* same offset for v6 */
	return fd;
}

/* In the child: one query to the server ADDR:53 over an unconnected (or a
 * connected) socket; 0 when the answer comes back from ADDR:53 (and, if
 * connected, getpeername() names it too). */
static int ask(int family, const char *addr, bool connected)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(53) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct sockaddr *sa = family == AF_INET ? (struct sockaddr *)&s4 : (struct sockaddr *)&s6;
	socklen_t salen = family == AF_INET ? sizeof(s4) : sizeof(s6);
	struct sockaddr_in6 from = {}, peer = {};
	socklen_t fl = sizeof(from), pl = sizeof(peer);
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(family, SOCK_DGRAM, 0), bad = 0;
	char buf[8];

	inet_pton(family, addr, family == AF_INET ? (void *)&s4.sin_addr : (void *)&s6.sin6_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connected) {
		if (connect(fd, sa, salen) || send(fd, "q", 1, 0) != 1 ||
		    getpeername(fd, (struct sockaddr *)&peer, &pl) || memcmp(&peer, sa, salen))
			bad = 1;
	} else if (sendto(fd, "q", 1, 0, sa, salen) != 1) {
		bad = 1;
	}
	if (!bad && (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) != 1 ||
		     fl != salen || memcmp(&from, sa, salen)))
		bad = 1;
	close(fd);
	return bad;
}

/* The parent's stand-in responder: echo n datagrams back where they came from. */
static int echo(int fd4, int fd6, int n)
{
	struct pollfd p[2] = { { .fd = fd4, .events = POLLIN }, { .fd = fd6, .events = POLLIN } };
	int got = 0;

	while (got < n && poll(p, 2, 3000) > 0) {
		for (int i = 0; i < 2; i++) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			char buf[8];

			if (!(p[i].revents & POLLIN))
				continue;
			if (recvfrom(p[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) == 1 &&
			    sendto(p[i].fd, "a", 1, 0, (struct sockaddr *)&from, fl) == 1)
				got++;
		}
	}
	return got;
}

static void answer_mode_redirects_and_restores(void)
{
	struct cgroup_layout l;
	struct sockfail_bpf *s = NULL;
	struct bpf_link *links[8] = {};
	struct bpf_program *progs[8];
	struct fault_counter c[SOCKFAIL_COUNTER_MAX];
	static const char *const names[SOCKFAIL_COUNTER_MAX] = { "c4", "c6", "passed", "s4", "s6",
								 "restored", "netns" };
	char cg[CGROUP_PATH_MAX + 32];
	uint16_t port = 0;
	int fd4, fd6 = -1, cfd = -1, status = -1, echoed = 0;
	pid_t child;

	if (cgroup_probe(&l) || !l.v2_root[0])
		SKIP("no cgroup2 hierarchy");
	fd4 = udp_on(AF_INET, &port);
	if (fd4 >= 0)
		fd6 = udp_on(AF_INET6, &port);
	snprintf(cg, sizeof(cg), "%s/tug-bpf-dnsanswer.%d", l.v2_root, getpid());
	if (fd4 < 0 || fd6 < 0 || mkdir(cg, 0755)) {
		CHECK(!"setup");
		goto cleanup;
	}
	cfd = open(cg, O_RDONLY | O_DIRECTORY);
	s = load_answer(SOCKFAIL_DNS_ANSWER, ECONNREFUSED, port);
	CHECK(s != NULL);
	if (!s)
		goto cleanup;
	progs[0] = s->progs.tug_sf_connect4, progs[1] = s->progs.tug_sf_connect6;
	progs[2] = s->progs.tug_sf_sendmsg4, progs[3] = s->progs.tug_sf_sendmsg6;
	progs[4] = s->progs.tug_sf_recvmsg4, progs[5] = s->progs.tug_sf_recvmsg6;
	progs[6] = s->progs.tug_sf_getpeername4, progs[7] = s->progs.tug_sf_getpeername6;
	for (int i = 0; i < 8; i++) {
		links[i] = bpf_program__attach_cgroup(progs[i], cfd);
		CHECK(links[i] != NULL);
	}
	child = fork();
	if (child == 0) {
		int bad = 0;

		if (join_cgroup(cg))
			_exit(100);
		/* Servers that do not exist: only the redirect reaches anyone. */
		bad |= ask(AF_INET, "10.200.9.53", false);
		bad |= ask(AF_INET, "10.200.9.53", true) << 1;
		bad |= ask(AF_INET6, "fd00:200::53", false) << 2;
		bad |= ask(AF_INET6, "fd00:200::53", true) << 3;
		bad |= ask(AF_INET6, "::ffff:10.200.9.53", false) << 4;
		bad |= ask(AF_INET6, "::ffff:10.200.9.53", true) << 5;
		_exit(bad);
	}
	echoed = echo(fd4, fd6, 6);
	waitpid(child, &status, 0);
	CHECK_EQ(echoed, 6);
	CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	CHECK_EQ(fault_read_percpu_counters(bpf_map__fd(s->maps.counters), names,
					    SOCKFAIL_OTHER_NETNS + 1, c), SOCKFAIL_OTHER_NETNS + 1);
	/* connect6 to ::ffff:a.b.c.d is the IPv6 hook; sendto() the IPv4 one. */
	CHECK_EQ(c[SOCKFAIL_REFUSED_CONNECT4].value, 1);
	CHECK_EQ(c[SOCKFAIL_REFUSED_CONNECT6].value, 2);
	CHECK_EQ(c[SOCKFAIL_REFUSED_SENDMSG4].value, 2);
	CHECK_EQ(c[SOCKFAIL_REFUSED_SENDMSG6].value, 1);
	/* Six answers, and three getpeername() calls. */
	CHECK_EQ(c[SOCKFAIL_RESTORED].value, 9);
	CHECK_EQ(c[SOCKFAIL_OTHER_NETNS].value, 0);
cleanup:
	for (int i = 0; i < 8; i++)
		bpf_link__destroy(links[i]);
	sockfail_bpf__destroy(s);
	if (cfd >= 0)
		close(cfd);
	rmdir(cg);
	if (fd4 >= 0)
		close(fd4);
	if (fd6 >= 0)
		close(fd6);
}

int main(void)
{
	libbpf_set_print(NULL);
	RUN(loads_in_every_mode);
	RUN(refuses_matching_connects_in_cgroup);
	RUN(answer_mode_redirects_and_restores);
	return t_exit();
}
