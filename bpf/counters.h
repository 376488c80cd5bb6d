/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fault family's counters: one BPF_MAP_TYPE_PERCPU_ARRAY of __u64 per
 * family, one slot per counter, summed over the CPUs by the user side
 * (fault_read_percpu_counters). Per-CPU, so a program adds without atomics.
 * Include after bpf_helpers.h.
 */
#ifndef TUG_BPF_COUNTERS_H
#define TUG_BPF_COUNTERS_H

static __always_inline void tug_count_n(void *counters, __u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(counters, &slot);

	if (v)
		*v += n;
}

static __always_inline void tug_count(void *counters, __u32 slot)
{
	tug_count_n(counters, slot, 1);
}

#endif
