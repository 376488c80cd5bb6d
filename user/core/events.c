// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "events.h"

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
