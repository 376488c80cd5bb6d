/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The outage a one-shot action caused, from the node's own events (kernel
 * facts: the signal sent, the old process's exit seen through its pidfd, the
 * moment the service answered again), and what a must-fail probe that polled
 * during it may conclude. A probe polling every 50 ms cannot see an outage
 * of 20 ms; the node can.
 */
#ifndef TUG_OUTAGE_H
#define TUG_OUTAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "events.h"

struct outage {
	int64_t start_ms;	/* signalled or restart requested (realtime ms) */
	int64_t down_ms;	/* the old process exited */
	int64_t restarted_ms;	/* a new process was seen */
	int64_t back_ms;	/* it served again (healthy, accepting), else restarted */
	int64_t served_ms;	/* healthy or accepting first seen */
};

/* One of a one-shot action's events, as it comes (o starts zeroed).
 * Returns true once both ends are known; fields not reported stay 0. */
bool outage_event(struct outage *o, enum tug_event ev, int64_t ts_ms);
/* The same over a one-shot action's JSON events (as the node printed them). */
bool outage_from_events(json_object *events, struct outage *o);

static inline int64_t outage_ms(const struct outage *o)
{
	return o->back_ms > o->start_ms ? o->back_ms - o->start_ms : 0;
}

enum outage_seen {
	SEEN_BY_PROBE,		/* the probe failed at least once: confirmed */
	SEEN_BY_NODE_ONLY,	/* too short for the probe's interval; the node saw it */
	MISSED,			/* long enough to be seen, yet the probe never failed */
};

/*
 * A must-fail probe's judgement. fails: its failed attempts in the window;
 * interval_ms: the time between its attempts; slowest_ms: its slowest attempt
 * (an outage must outlast one gap between attempts to be sure of being hit).
 * o may be NULL (a held fault: no outage from events).
 */
enum outage_seen outage_judge(const struct outage *o, unsigned fails, int64_t interval_ms,
			      int64_t slowest_ms);

#endif
