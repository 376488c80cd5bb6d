/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a probe reads out of a response body: pure functions over bytes a
 * remote server chose, kept apart from the transport so they can be fuzzed.
 */
#ifndef TUG_PROBE_PARSE_H
#define TUG_PROBE_PARSE_H

#include <stddef.h>

/* A dotted path ("status", "checks.db.ok", "items.0.name") into a JSON
 * body: the value as text in val. -EBADMSG: not JSON; -ENOENT: no such
 * field. */
int probe_json_field(const char *body, size_t len, const char *path, char *val, size_t vlen);

/* A Prometheus /api/v1/query response: the first sample's value (vector)
 * or the scalar's. -EBADMSG: not a "success" response; -ENODATA: no
 * series. */
int probe_prom_value(const char *body, size_t len, char *val, size_t vlen);

#endif
