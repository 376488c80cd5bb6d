/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Processes as /proc tells them, and the clocks their times are kept in.
 * A pid with its start time names one process for its whole life: a
 * reused pid has another start.
 */
#ifndef TUG_PROCFS_H
#define TUG_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

/* /proc/PID/stat starttime, in clock ticks since boot. */
int proc_start_time(pid_t pid, uint64_t *ret);
/* Such ticks in CLOCK_BOOTTIME ns. */
uint64_t proc_ticks_to_boot_ns(uint64_t ticks);
/* Between clocks, by their offsets now (they drift apart between calls:
 * compare converted times with a tolerance, or compare the originals). */
uint64_t real_to_boot_ns(uint64_t real_ns);
uint64_t boot_to_real_ns(uint64_t boot_ns);
uint64_t mono_to_real_ns(uint64_t mono_ns);

/* A "Key:   N kB" line of /proc/meminfo or /proc/PID/status, in bytes. */
int proc_kb(const char *file, const char *key, uint64_t *ret);
/* The process's anonymous resident memory (RssAnon), 0 when unknown. */
uint64_t pid_rss_anon(pid_t pid);

#endif
