// SPDX-License-Identifier: GPL-2.0
/*
 * Network partition and loss: drop the chosen packets (bpf/nettc.h), all of
 * them or a percentage.
 */
#include "net.h"
#define NETTC_NCOUNTERS NET_COUNTER_MAX
#include "nettc.h"

/* Set by the controller between open and load. */
const volatile __u64 loss_threshold = NET_LOSS_ALL;

static __always_inline int handle(struct __sk_buff *skb, bool ingress)
{
	struct nettc_pkt p = {};

	switch (nettc_select(skb, ingress, &p)) {
	case NETTC_OTHER:
		return TUG_TC_NEXT;
	case NETTC_CONTROL:
		nettc_count(NET_SPARED_CONTROL);
		return TUG_TC_NEXT;
	case NETTC_FILTERED:
		break;
	case NETTC_CHOSEN:
		if (nettc_sample(loss_threshold)) {
			nettc_count(ingress ? NET_DROPPED_IN : NET_DROPPED_OUT);
			return TUG_TC_DROP;
		}
		break;
	}
	nettc_count(ingress ? NET_PASSED_IN : NET_PASSED_OUT);
	return TUG_TC_NEXT;
}

SEC("tc")
int tug_net_ingress(struct __sk_buff *skb)
{
	return handle(skb, true);
}

SEC("tc")
int tug_net_egress(struct __sk_buff *skb)
{
	return handle(skb, false);
}

char LICENSE[] SEC("license") = "GPL";
