// SPDX-License-Identifier: GPL-2.0
/*
 * Network delay by earliest departure time: on egress the chosen packets get
 * skb->tstamp = now + delay (CLOCK_MONOTONIC, the clock fq compares with),
 * and the fq qdisc tug installs on the device holds each one until then.
 * Nothing is queued here and no packet is copied: the kernel's own pacing
 * machinery does the waiting. Only the chosen peers' packets are stamped;
 * everything else leaves fq as soon as it arrives.
 *
 * With --qdisc netem the program stamps nothing: it steers the chosen
 * packets into the prio band that holds tug's netem (which frees a TCP
 * socket's send budget while it holds them; fq cannot).
 *
 * Jitter is uniform in [delay - jitter, delay + jitter] (netem's default
 * distribution); like netem's, it reorders packets whose times cross. With
 * --reorder a share of the chosen packets is sent at once and overtakes the
 * delayed ones (netem's reorder).
 */
#include "netdelay.h"

#define NETTC_NCOUNTERS NETDELAY_COUNTER_MAX
#include "nettc.h"

/* Set by the controller between open and load. */
const volatile __u64 delay_ns = 0;
const volatile __u64 jitter_ns = 0;
const volatile __u64 reorder_threshold = 0;	/* TUG_SHARE_ALL scale; 0 = none */
/* --qdisc netem: the prio class whose netem holds the chosen packets, named
 * by skb->priority (prio reads a priority with its own major as a class);
 * 0: departure times for fq. */
const volatile __u32 classid = 0;

static __always_inline __u64 random_u64(void)
{
	return (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32();
}

SEC("tc")
int tug_netdelay_egress(struct __sk_buff *skb)
{
	struct nettc_pkt p = {};
	__u64 now, base, d;

	switch (nettc_select(skb, false, &p)) {
	case NETTC_OTHER:
		return TUG_TC_NEXT;
	case NETTC_CONTROL:
		nettc_count(NETDELAY_SPARED_CONTROL);
		return TUG_TC_NEXT;
	case NETTC_FILTERED:
		nettc_count(NETDELAY_PASSED);
		return TUG_TC_NEXT;
	case NETTC_CHOSEN:
		break;
	}
	if (reorder_threshold && nettc_sample(reorder_threshold)) {
		nettc_count(NETDELAY_REORDERED);
		return TUG_TC_NEXT;
	}
	if (classid) {
		skb->priority = classid;
		nettc_count(NETDELAY_DELAYED);
		return TUG_TC_NEXT;
	}
	now = bpf_ktime_get_ns();
	/* TCP stamps its own departure times (pacing): the delay adds to
	 * those. Anything else, 0 or a forwarded packet's receive time on
	 * CLOCK_REALTIME, counts from now. */
	base = skb->tstamp;
	if (base < now || base > now + NETDELAY_MAX_NS)
		base = now;
	d = delay_ns;
	if (jitter_ns)
		d = d - jitter_ns + random_u64() % (2 * jitter_ns + 1);
	skb->tstamp = base + d;
	nettc_count(NETDELAY_DELAYED);
	return TUG_TC_NEXT;
}

char LICENSE[] SEC("license") = "GPL";
