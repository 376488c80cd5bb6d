// SPDX-License-Identifier: GPL-2.0
/* The node/orchestrator vocabulary, and the outage the orchestrator reads
 * from a one-shot action's events. */
#include <stdlib.h>

#include "events.h"
#include "harness.h"
#include "outage.h"

static void names_round_trip(void)
{
	for (int e = 0; e < EV_COUNT; e++) {
		CHECK(event_name(e) && *event_name(e));
		CHECK_EQ(event_parse(event_name(e)), e);
		for (int k = 0; k < e; k++)
			CHECK(strcmp(event_name(e), event_name(k)));
	}
	CHECK_EQ(event_parse("crashed"), EV_UNKNOWN);	/* never emitted: never matched */
	CHECK_EQ(event_parse(NULL), EV_UNKNOWN);
	CHECK_STR(event_name(EV_UNKNOWN), "unknown");
}

static json_object *ev(enum tug_event e, int64_t ts)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, EVF_EVENT, json_object_new_string(event_name(e)));
	json_object_object_add(o, EVF_TS, json_object_new_int64(ts));
	return o;
}

/* pg crash as it reports: target, signalled, exited, accepting, verified, PASS */
static void outage_of_a_crash(void)
{
	json_object *a = json_object_new_array();
	struct outage o;

	json_object_array_add(a, ev(EV_TARGET, 990));
	json_object_array_add(a, ev(EV_SIGNALLED, 1000));
	json_object_array_add(a, ev(EV_EXITED, 1006));
	json_object_array_add(a, ev(EV_ACCEPTING, 1210));
	json_object_array_add(a, ev(EV_VERIFIED, 1300));
	json_object_array_add(a, ev(EV_PASS, 1301));
	CHECK(outage_from_events(a, &o));
	CHECK_EQ(o.start_ms, 1000);
	CHECK_EQ(o.down_ms, 1006);
	CHECK_EQ(o.back_ms, 1210);
	CHECK_EQ(outage_ms(&o), 210);
	json_object_put(a);
}

/* proc kill without --probe: a new process is the end; with one, healthy is */
static void outage_of_a_kill(void)
{
	json_object *a = json_object_new_array();
	struct outage o;

	json_object_array_add(a, ev(EV_SIGNALLED, 5000));
	json_object_array_add(a, ev(EV_EXITED, 5002));
	json_object_array_add(a, ev(EV_RESTARTED, 5030));
	CHECK(outage_from_events(a, &o));
	CHECK_EQ(o.back_ms, 5030);
	json_object_array_add(a, ev(EV_HEALTHY, 5400));
	CHECK(outage_from_events(a, &o));
	CHECK_EQ(o.restarted_ms, 5030);
	CHECK_EQ(o.back_ms, 5400);
	CHECK_EQ(outage_ms(&o), 400);
	json_object_put(a);
}

static void outage_unknown(void)
{
	json_object *a = json_object_new_array();
	struct outage o;

	CHECK(!outage_from_events(NULL, &o));
	json_object_array_add(a, ev(EV_SIGNALLED, 5000));
	json_object_array_add(a, ev(EV_EXITED, 5002));
	CHECK(!outage_from_events(a, &o));	/* never back: no outage to time */
	CHECK_EQ(o.start_ms, 5000);
	CHECK_EQ(o.back_ms, 0);
	json_object_put(a);
}

static void judgement(void)
{
	struct outage shorter = { .start_ms = 1000, .back_ms = 1023 };
	struct outage longer = { .start_ms = 1000, .back_ms = 1400 };

	CHECK_EQ(outage_judge(&longer, 3, 50, 2), SEEN_BY_PROBE);
	CHECK_EQ(outage_judge(&shorter, 1, 50, 2), SEEN_BY_PROBE);
	CHECK_EQ(outage_judge(&shorter, 0, 50, 2), SEEN_BY_NODE_ONLY);
	CHECK_EQ(outage_judge(&longer, 0, 50, 2), MISSED);
	CHECK_EQ(outage_judge(NULL, 0, 50, 2), MISSED);	/* a held fault never seen */
	/* an attempt that takes long leaves a longer gap to slip through */
	CHECK_EQ(outage_judge(&longer, 0, 50, 400), SEEN_BY_NODE_ONLY);
}

/* As the events come: known once both ends are, the same as from them all. */
static void outage_as_it_comes(void)
{
	struct outage o = { 0 };

	CHECK(!outage_event(&o, EV_SIGNALLED, 1000));
	CHECK(!outage_event(&o, EV_EXITED, 1003));
	CHECK(outage_event(&o, EV_RESTARTED, 1200));
	CHECK_EQ(o.back_ms, 1200);
	CHECK(outage_event(&o, EV_HEALTHY, 1450));
	CHECK(outage_event(&o, EV_ACCEPTING, 1500));
	CHECK_EQ(o.back_ms, 1450);	/* the first time it served */
	CHECK_EQ(outage_ms(&o), 450);
	CHECK_EQ(o.down_ms, 1003);
}

int main(void)
{
	RUN(names_round_trip);
	RUN(outage_of_a_crash);
	RUN(outage_of_a_kill);
	RUN(outage_unknown);
	RUN(judgement);
	RUN(outage_as_it_comes);
	return t_exit();
}
