/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The clocks, once. Realtime for stamps that cross machines and reports,
 * monotonic for intervals, boottime for deadlines the kernel keeps too
 * (BPF programs compare bpf_ktime_get_boot_ns() against it; it runs on
 * through a suspend).
 */
#ifndef TUG_CLOCK_H
#define TUG_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NSEC_PER_SEC UINT64_C(1000000000)
#define NSEC_PER_MSEC UINT64_C(1000000)

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static inline uint64_t now_realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

static inline uint64_t now_boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

static inline uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

#endif
