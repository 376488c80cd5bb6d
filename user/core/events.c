// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "events.h"
#include "json.h"

static const char *const names[EV_COUNT] = {
#define TUG_EVENT_NAME(id, name) [EV_##id] = name,
	TUG_EVENTS(TUG_EVENT_NAME)
#undef TUG_EVENT_NAME
};

const char *event_name(enum tug_event e)
{
	return e < EV_COUNT ? names[e] : "unknown";
}

enum tug_event event_parse(const char *name)
{
	for (int e = 0; name && e < EV_COUNT; e++)
		if (!strcmp(names[e], name))
			return e;
	return EV_UNKNOWN;
}

static void add_all(json_object *to, json_object *from)
{
	if (!from)
		return;
	json_object_object_foreach(from, k, v)
		json_object_object_add(to, k, json_object_get(v));
}

void event_print(bool json, const char *who, json_object *ids, enum tug_event event,
		 json_object *extra)
{
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, EVF_EVENT, json_object_new_string(event_name(event)));
		add_all(o, ids);
		json_object_object_add(o, EVF_TS, json_object_new_int64(clock_ns(CLOCK_REALTIME) / NSEC_PER_MSEC));
		add_all(o, extra);
		printf("%s\n", json_line(o));
		json_object_put(o);
	} else {
		printf("%s: %s", who, event_name(event));
		if (extra) {
			json_object_object_foreach(extra, k, v) {
				if (json_object_is_type(v, json_type_object) ||
				    json_object_is_type(v, json_type_array))
					printf("  %s=%s", k, json_line(v));
				else
					printf("  %s=%s", k, json_object_get_string(v));
			}
		}
		printf("\n");
	}
	fflush(stdout);
}
