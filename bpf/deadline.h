/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fault's deadline, enforced by the program itself: CLOCK_BOOTTIME ns
 * (bpf_ktime_get_boot_ns), set in rodata between open and load; 0 = none.
 * Past it the program lets everything through, so a fault ends on time even
 * when the controller that should detach it is stopped or starved. Include
 * after bpf_helpers.h, in the programs of a fault family only.
 */
#ifndef TUG_BPF_DEADLINE_H
#define TUG_BPF_DEADLINE_H

const volatile __u64 deadline_boot_ns = 0;

static __always_inline bool past_deadline(void)
{
	return deadline_boot_ns && bpf_ktime_get_boot_ns() >= deadline_boot_ns;
}

#endif
