/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Diagnostics go to stderr, results and events to stdout. Library code
 * returns -errno and leaves the logging to its caller, once.
 */
#ifndef TUG_LOG_H
#define TUG_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_max_level;

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Log with strerror(-err) appended; returns err so callers can return it. */
int log_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Where a command's time goes: with TUG_TIMING=1 in the environment, each
 * stamp prints "tug: timing: WALL_MS +MS_SINCE_MAIN what" to stderr
 * (docs/bench/net.md reads them). Costs one getenv the first time. */
void log_stamp(const char *what);

/* Route libbpf's own messages through log_msg; debug ones only with -v. */
void log_setup_libbpf(void);

#endif
