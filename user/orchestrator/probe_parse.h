/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a probe reads out of a response body: pure functions over bytes a
 * remote server chose, kept apart from the transport so they can be fuzzed.
 */
#ifndef TUG_PROBE_PARSE_H
#define TUG_PROBE_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* A dotted path ("status", "checks.db.ok", "items.0.name") into a JSON
 * body: the value as text in val. -EBADMSG: not JSON; -ENOENT: no such
 * field. */
int probe_json_field(const char *body, size_t len, const char *path, char *val, size_t vlen);

/* A Prometheus /api/v1/query response: the first sample's value (vector)
 * or the scalar's. -EBADMSG: not a "success" response; -ENODATA: no
 * series. */
int probe_prom_value(const char *body, size_t len, char *val, size_t vlen);

/* Which alert an alert probe looks for: its name, labels that must all be
 * equal, and the state ("firing"; "pending", Prometheus only). */
struct alert_want {
	const char *name;
	const char *state;
	char *const *keys;
	char *const *vals;
	size_t nlabels;
};

/* What was seen of the first alert that matched. */
struct alert_seen {
	unsigned count;		/* matching alerts in that state */
	char since[16];		/* "19:02:03" (UTC) from startsAt/activeAt, or "" */
	char labels[120];	/* "instance=..., job=..." without alertname */
};

/* An Alertmanager GET /api/v2/alerts body (prometheus false: a list of
 * alerts, "firing" = status.state "active") or a Prometheus GET
 * /api/v1/alerts body (data.alerts[], with .state). Labels are matched
 * here whatever the server filtered. 0 with *seen filled when an alert
 * matched, -ENOENT when none did, -EBADMSG with why when the body is not
 * such a response (not JSON, a member of the wrong type). */
int probe_alert_find(const char *body, size_t len, bool prometheus, const struct alert_want *w,
		     struct alert_seen *seen, char *why, size_t wlen);

#endif
