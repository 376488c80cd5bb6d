// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "sanitize.h"

enum log_level log_max_level = LOG_INFO;

static const char *const prefix[] = {
	[LOG_ERROR] = "tug: error: ",
	[LOG_WARN] = "tug: warning: ",
	[LOG_INFO] = "tug: ",
	[LOG_DEBUG] = "tug: debug: ",
};

static void vlog(enum log_level level, const char *fmt, va_list ap, int err)
{
	char *msg;

	if (level > log_max_level)
		return;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	/* Messages quote nodes, probes and files: no escape sequences. */
	term_clean(msg);
	fputs(prefix[level], stderr);
	fputs(msg, stderr);
	free(msg);
	if (err)
		fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
	fputc('\n', stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap, 0);
	va_end(ap);
}

int log_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERROR, fmt, ap, err);
	va_end(ap);
	return err;
}

void log_stamp(const char *what)
{
	static int on = -1;
	static double t0;
	struct timespec ts;
	double now;

	if (on < 0)
		on = getenv("TUG_TIMING") && !strcmp(getenv("TUG_TIMING"), "1");
	if (!on)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
	if (!t0)
		t0 = now;
	fprintf(stderr, "tug: timing: %.3f +%.3f %s\n", now, now - t0, what);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && log_max_level < LOG_DEBUG)
		return 0;
	if (level == LIBBPF_INFO && log_max_level < LOG_DEBUG)
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
