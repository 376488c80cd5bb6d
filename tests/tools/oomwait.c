// SPDX-License-Identifier: GPL-2.0
/*
 * oomwait: the ways an operator learns of an OOM kill without tug, each
 * printing "MONOTONIC_NS detail" on stdout the moment it notices one, until
 * killed. The OOM benchmark (scripts/bench.d/oom.sh) runs them side by
 * side with tug watch.
 *
 *   oomwait poll FILE KEY INTERVAL_MS   re-read a "key value" file (v1
 *                                       memory.oom_control, v2 memory.events)
 *                                       every INTERVAL_MS; report increases
 *   oomwait notify CGROUP_DIR           v1: eventfd on memory.oom_control via
 *                                       cgroup.event_control; v2: poll() for a
 *                                       change of memory.events, then oom_kill
 *   oomwait kmsg PATTERN                read /dev/kmsg (what dmesg -w reads)
 *   oomwait lines PATTERN               read lines on stdin (another tool's output)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void report(unsigned long long t, const char *detail)
{
	printf("%llu %s\n", t, detail);
	fflush(stdout);
}

/* The value of "key N" in a flat keyed file; -1 when absent. */
static long long read_key(const char *file, const char *key)
{
	char line[256], k[64];
	long long v, ret = -1;
	FILE *f = fopen(file, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", k, &v) == 2 && !strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

static int do_poll(const char *file, const char *key, long ms)
{
	long long last = read_key(file, key), v;
	struct timespec iv = { ms / 1000, (ms % 1000) * 1000000L };
	char d[64];

	if (last < 0) {
		fprintf(stderr, "oomwait: no '%s' in %s\n", key, file);
		return 1;
	}
	for (;;) {
		nanosleep(&iv, NULL);
		v = read_key(file, key);
		if (v > last) {
			snprintf(d, sizeof(d), "%s=%lld", key, v);
			report(mono_ns(), d);
			last = v;
		}
	}
}

static int do_notify(const char *dir)
{
	char path[4096], buf[64];
	int efd, cfd, ofd;
	uint64_t n;

	snprintf(path, sizeof(path), "%s/memory.oom_control", dir);
	ofd = open(path, O_RDONLY | O_CLOEXEC);
	if (ofd >= 0) {		/* v1 */
		efd = eventfd(0, EFD_CLOEXEC);
		snprintf(path, sizeof(path), "%s/cgroup.event_control", dir);
		cfd = open(path, O_WRONLY | O_CLOEXEC);
		snprintf(buf, sizeof(buf), "%d %d", efd, ofd);
		if (efd < 0 || cfd < 0 || write(cfd, buf, strlen(buf)) < 0) {
			perror("oomwait: cgroup.event_control");
			return 1;
		}
		while (read(efd, &n, sizeof(n)) == sizeof(n))
			report(mono_ns(), "oom_notification");
		return 1;
	}
	/* v2: kernfs notifies pollers of memory.events on every change. */
	snprintf(path, sizeof(path), "%s/memory.events", dir);
	long long last = read_key(path, "oom_kill"), v;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || last < 0) {
		perror("oomwait: memory.events");
		return 1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLPRI };

		if (read(fd, buf, sizeof(buf)) < 0 || lseek(fd, 0, SEEK_SET) < 0)
			return 1;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return 1;
		v = read_key(path, "oom_kill");
		if (v > last) {
			snprintf(buf, sizeof(buf), "oom_kill=%lld", v);
			report(mono_ns(), buf);
			last = v;
		}
	}
}

static int do_kmsg(const char *pattern)
{
	char rec[8192];
	int fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || lseek(fd, 0, SEEK_END) < 0) {
		perror("oomwait: /dev/kmsg");
		return 1;
	}
	for (;;) {
		r = read(fd, rec, sizeof(rec) - 1);
		if (r < 0) {
			if (errno == EPIPE || errno == EINTR)	/* overwritten records */
				continue;
			return 1;
		}
		rec[r] = '\0';
		if (strstr(rec, pattern)) {
			unsigned long long t = mono_ns();

			rec[strcspn(rec, "\n")] = '\0';
			report(t, strchr(rec, ';') ? strchr(rec, ';') + 1 : rec);
		}
	}
}

static int do_lines(const char *pattern)
{
	char line[8192];

	while (fgets(line, sizeof(line), stdin)) {
		if (strstr(line, pattern)) {
			unsigned long long t = mono_ns();

			line[strcspn(line, "\n")] = '\0';
			report(t, line);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "poll"))
		return do_poll(argv[2], argv[3], atol(argv[4]) > 0 ? atol(argv[4]) : 1000);
	if (argc == 3 && !strcmp(argv[1], "notify"))
		return do_notify(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "kmsg"))
		return do_kmsg(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "lines"))
		return do_lines(argv[2]);
	fprintf(stderr, "usage: oomwait poll FILE KEY MS | notify CGDIR | kmsg PATTERN | lines PATTERN\n");
	return 2;
}
