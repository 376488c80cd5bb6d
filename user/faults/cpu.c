// SPDX-License-Identifier: GPL-2.0
/* The cpu family: cpu throttle caps one cgroup at a share of a CPU (cpu.max,
 * cpu.cfs_quota_us on v1), through the knob engine (cgknob.c). */
#include <stddef.h>
#include <stdio.h>

#include "cgknob.h"

static const char *cpu_backend(char *why, size_t len)
{
	return knob_backend_for("cpu", "cpu.cfs_quota_us", "cpu.max", why, len);
}

const struct fault_ops cpu_throttle_ops = KNOB_OPS("cpu", "throttle",
	"cap one cgroup at a share of a CPU; the previous quota comes back",
	"Options:\n"
	CGROUP_USAGE
	"  --percent P        the share of one CPU, 1..100 x CPUs (150 = one and a half)\n"
	"\nExamples:\n"
	"  tug cpu throttle --cgroup system.slice/model.service --percent 20 --for 5m\n"
	"  tug cpu throttle --cgroup /sys/fs/cgroup/cpu/worker --percent 5 --for 30s\n",
	cpu_backend);
