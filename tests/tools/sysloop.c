// SPDX-License-Identifier: GPL-2.0
/*
 * sysloop: make N calls of one syscall and report the errnos they got, for
 * the tests and benchmarks of `tug sys fail`. The report goes out through
 * writev(), so a fault on write() does not eat it.
 *
 *   sysloop [-n N] [-c write|openat|getppid] [-o FILE] [-p PATH [-q PATH2]]
 *           [-i US] [-g GATEFILE] [-x]
 *
 *   -c write    write 1 byte to FILE (-o, default /dev/null) per call
 *   -c openat   open PATH (and PATH2 on every other call), closing each fd
 *   -c getppid  the cheapest syscall there is (a benchmark filler)
 *   -i US       sleep US microseconds between calls
 *   -g FILE     wait until FILE exists before the first call
 *   -x          exit 3 if any call failed
 *
 * Report, one "key value" a line: calls, ok, err_<ERRNO> counts, for -q
 * also p_ok/p_err and q_ok/q_err, and seq: one character a call for the
 * first 2000 calls ('.' ok, 'E' failed), and loop_ns: the loop's own time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SEQ_MAX 2000
#define ERR_MAX 4096

static char out[1 << 16];
static size_t outlen;

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	outlen += vsnprintf(out + outlen, sizeof(out) - outlen, fmt, ap);
	va_end(ap);
	if (outlen >= sizeof(out))
		outlen = sizeof(out) - 1;
}

int main(int argc, char **argv)
{
	const char *call = "write", *file = "/dev/null", *p1 = NULL, *p2 = NULL, *gate = NULL;
	static unsigned long errs[ERR_MAX];
	unsigned long n = 1000, us = 0, ok = 0, cls[2][2] = { { 0 } };
	static char seq[SEQ_MAX + 1];
	int opt, fd = -1, strict = 0;
	struct timespec t0, t1;
	struct iovec iov;

	while ((opt = getopt(argc, argv, "n:c:o:p:q:i:g:x")) != -1) {
		switch (opt) {
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'c': call = optarg; break;
		case 'o': file = optarg; break;
		case 'p': p1 = optarg; break;
		case 'q': p2 = optarg; break;
		case 'i': us = strtoul(optarg, NULL, 10); break;
		case 'g': gate = optarg; break;
		case 'x': strict = 1; break;
		default:
			fprintf(stderr, "usage: sysloop [-n N] [-c write|openat|getppid] [-o FILE] "
				"[-p PATH [-q PATH2]] [-i US] [-g GATE] [-x]\n");
			return 2;
		}
	}
	if (!strcmp(call, "openat") && !p1) {
		fprintf(stderr, "sysloop: -c openat needs -p PATH\n");
		return 2;
	}
	if (!strcmp(call, "write")) {
		fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror(file);
			return 2;
		}
	}
	while (gate && access(gate, F_OK))
		usleep(1000);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long i = 0; i < n; i++) {
		int cl = p2 && (i & 1), e = 0;
		long r;

		if (!strcmp(call, "write")) {
			r = write(fd, "x", 1);
		} else if (!strcmp(call, "openat")) {
			r = openat(AT_FDCWD, cl ? p2 : p1, O_RDONLY | O_CLOEXEC);
			if (r >= 0)
				close(r);
		} else {
			r = getppid();
		}
		if (r < 0)
			e = errno;
		if (e) {
			errs[e < ERR_MAX ? e : 0]++;
		} else {
			ok++;
		}
		cls[cl][!!e]++;
		if (i < SEQ_MAX)
			seq[i] = e ? 'E' : '.';
		if (us) {
			struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

			nanosleep(&ts, NULL);
		}
	}

	clock_gettime(CLOCK_MONOTONIC, &t1);
	put("calls %lu\nok %lu\n", n, ok);
	put("loop_ns %lld\n", (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	for (int e = 0; e < ERR_MAX; e++)
		if (errs[e])
			put("err_%s %lu\n", e ? strerrorname_np(e) : "other", errs[e]);
	if (p2)
		put("p_ok %lu\np_err %lu\nq_ok %lu\nq_err %lu\n", cls[0][0], cls[0][1], cls[1][0], cls[1][1]);
	put("seq %s\n", seq);
	iov = (struct iovec){ out, outlen };
	if (writev(STDOUT_FILENO, &iov, 1) < 0)
		return 4;
	return strict && ok != n ? 3 : 0;
}
