// SPDX-License-Identifier: GPL-2.0
/*
 * The cgroup socket hooks of net refuse / dns-fail: the skeleton loads in
 * both modes, and attached to a scratch cgroup it fails exactly the
 * matching connect()s of a child in that cgroup with the configured errno
 * (IPv4, IPv6 and IPv4-mapped), counted per slot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static struct sockfail_bpf *load(enum sockfail_mode mode, int err)
{
	struct sockfail_bpf *s = sockfail_bpf__open();

	if (!s)
		return NULL;
	s->rodata->mode = mode;
	s->rodata->fail_errno = err;
	bpf_program__set_autoload(s->progs.tug_sf_sendmsg4, mode == SOCKFAIL_DNS);
	bpf_program__set_autoload(s->progs.tug_sf_sendmsg6, mode == SOCKFAIL_DNS);
	if (sockfail_bpf__load(s)) {
		sockfail_bpf__destroy(s);
		return NULL;
	}
	return s;
}

static void loads_in_both_modes(void)
{
	struct sockfail_bpf *a = load(SOCKFAIL_PEERS, ECONNREFUSED);
	struct sockfail_bpf *b = load(SOCKFAIL_DNS, EAGAIN);

	CHECK(a != NULL);
	CHECK(b != NULL);
	sockfail_bpf__destroy(a);
	sockfail_bpf__destroy(b);
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

static void refuses_matching_connects_in_cgroup(void)
{
	struct cgroup_layout l;
	struct sockfail_bpf *s = NULL;
	struct bpf_link *l4 = NULL, *l6 = NULL;
	struct fault_counter c[SOCKFAIL_COUNTER_MAX];
	static const char *const names[] = { "r4", "r6", "passed", "u4", "u6" };
	char cg[CGROUP_PATH_MAX + 32], procs[CGROUP_PATH_MAX + 64];
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
		FILE *f;
		int bad = 0;

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
		f = fopen(procs, "w");
		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
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
					    SOCKFAIL_COUNTER_MAX, c), SOCKFAIL_COUNTER_MAX);
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

int main(void)
{
	libbpf_set_print(NULL);
	RUN(loads_in_both_modes);
	RUN(refuses_matching_connects_in_cgroup);
	return t_exit();
}
