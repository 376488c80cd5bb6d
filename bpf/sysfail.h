/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between sysfail.bpf.c and user/sysfail.c. */
#ifndef TUG_BPF_SYSFAIL_H
#define TUG_BPF_SYSFAIL_H

#include "common.h"

/* Slots of the per-CPU counters array. The seccomp backend keeps the same
 * counters in user space, under the same names. */
enum sysfail_counter {
	SYSFAIL_SEEN,		/* calls of the syscall by the target */
	SYSFAIL_FAILED,		/* failed with the errno, or signalled */
	SYSFAIL_CONTINUED,	/* ran unchanged (before --after, --percent, --path) */
	SYSFAIL_COUNTER_MAX,
};

/* Slots of the shared (not per-CPU) state array. */
enum sysfail_state {
	SYSFAIL_ST_MATCHED,	/* matching calls so far: --after counts these */
	SYSFAIL_ST_FIRED,	/* --signal: sent already (it is sent once) */
	SYSFAIL_ST_MAX,
};

/* A matching call past --after fails when a u32 random number is below the
 * threshold, so 1 << 32 fails all of them. */
#define SYSFAIL_ALL (1ULL << 32)

#endif
