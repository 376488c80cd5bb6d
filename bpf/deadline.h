/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fault's deadline, enforced by the program itself: CLOCK_BOOTTIME ns
 * (bpf_ktime_get_boot_ns); 0 = none. Past it the program lets everything
 * through, so a fault ends on time even when the controller that should
 * detach it is stopped or starved. Global data, not rodata: the controller
 * sets it before attach and moves it once the fault is applied (--for
 * counts from there), through the skeleton's mapping of .bss. Include after
 * bpf_helpers.h, in the programs of a fault family only.
 */
#ifndef TUG_BPF_DEADLINE_H
#define TUG_BPF_DEADLINE_H

volatile __u64 deadline_boot_ns = 0;

static __always_inline bool past_deadline(void)
{
	__u64 d = deadline_boot_ns;

	return d && bpf_ktime_get_boot_ns() >= d;
}

#endif
