/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal test harness: each test prints one line, "ok NAME",
 * "FAIL NAME" (after the checks that failed) or "skip NAME: why", which
 * tests/run counts. main() is RUN() calls and `return t_exit();`.
 */
#ifndef TUG_TEST_HARNESS_H
#define TUG_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

static int t_cur_failed, t_total_failed;
static const char *t_skip_reason;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			printf("  check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
			t_cur_failed++;                                          \
		}                                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                           \
	do {                                                                     \
		long long _a = (long long)(a), _b = (long long)(b);              \
		if (_a != _b) {                                                  \
			printf("  check failed: %s == %s (%lld != %lld) (%s:%d)\n", #a, #b, \
			       _a, _b, __FILE__, __LINE__);                      \
			t_cur_failed++;                                          \
		}                                                                \
	} while (0)

#define CHECK_STR(a, b)                                                          \
	do {                                                                     \
		const char *_a = (a), *_b = (b);                                 \
		if (!_a || !_b || strcmp(_a, _b)) {                              \
			printf("  check failed: %s == \"%s\" (got \"%s\") (%s:%d)\n", #a, \
			       _b ? _b : "(null)", _a ? _a : "(null)", __FILE__, __LINE__); \
			t_cur_failed++;                                          \
		}                                                                \
	} while (0)

/* Inside a test: mark it skipped with a reason and return. */
#define SKIP(why)                      \
	do {                           \
		t_skip_reason = (why); \
		return;                \
	} while (0)

#define RUN(fn)                                                         \
	do {                                                            \
		t_cur_failed = 0;                                       \
		t_skip_reason = NULL;                                   \
		fflush(stdout);                                         \
		fn();                                                   \
		if (t_skip_reason && !t_cur_failed)                     \
			printf("skip %s: %s\n", #fn, t_skip_reason);    \
		else if (t_cur_failed)                                  \
			printf("FAIL %s\n", #fn), t_total_failed++;     \
		else                                                    \
			printf("ok %s\n", #fn);                         \
		fflush(stdout);                                         \
	} while (0)

static inline int t_exit(void)
{
	return t_total_failed ? 1 : 0;
}

#endif
