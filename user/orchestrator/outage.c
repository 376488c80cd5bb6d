// SPDX-License-Identifier: GPL-2.0
#include "events.h"
#include "journal.h"
#include "outage.h"

bool outage_event(struct outage *o, enum tug_event ev, int64_t ts)
{
	switch (ev) {
	case EV_SIGNALLED:
	case EV_RESTART_REQUESTED:
		if (!o->start_ms)
			o->start_ms = ts;
		break;
	case EV_EXITED:
		if (!o->down_ms)
			o->down_ms = ts;
		break;
	case EV_RESTARTED:
		if (!o->restarted_ms)
			o->restarted_ms = ts;
		break;
	case EV_HEALTHY:
	case EV_ACCEPTING:
		if (!o->served_ms)
			o->served_ms = ts;
		break;
	default:
		break;
	}
	/* Without a health check on the node, a new process is the best it saw. */
	o->back_ms = o->served_ms ? o->served_ms : o->restarted_ms;
	if (o->back_ms && o->back_ms < o->start_ms)
		o->back_ms = o->start_ms;
	return o->start_ms && o->back_ms;
}

bool outage_from_events(json_object *events, struct outage *o)
{
	size_t n = events ? json_object_array_length(events) : 0;

	*o = (struct outage){ 0 };
	for (size_t i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(events, i);

		outage_event(o, event_parse(json_get_str(x, EVF_EVENT, NULL)), json_get_int(x, EVF_TS, 0));
	}
	return o->start_ms && o->back_ms;
}

enum outage_seen outage_judge(const struct outage *o, unsigned fails, int64_t interval_ms,
			      int64_t slowest_ms)
{
	if (fails)
		return SEEN_BY_PROBE;
	if (o && o->start_ms && o->back_ms && outage_ms(o) < interval_ms + slowest_ms)
		return SEEN_BY_NODE_ONLY;
	return MISSED;
}
