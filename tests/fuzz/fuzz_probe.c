// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: HTTP, Prometheus and alert probe response bodies, as
 * a server (or whoever answers in its place) chooses them. */
#include <stdint.h>
#include <string.h>

#include "probe_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "status", "checks.db.ok", "items.0.name", "a.1.b.2", "0" };
	static char *const keys[] = { "job", "instance" }, *const vals[] = { "gw", "10.200.0.11:8000" };
	char val[128], why[160];
	struct alert_seen seen;
	struct alert_want w = { .name = "GatewayDown", .keys = keys, .vals = vals };

	if (!size)
		return 0;
	/* The first byte picks the JSON path of an http probe's json-field. */
	probe_json_field((const char *)data + 1, size - 1, paths[data[0] % 5], val, sizeof(val));
	probe_prom_value((const char *)data + 1, size - 1, val, sizeof(val));
	/* ... and the alert probe's state and labels, through both APIs. */
	w.state = data[0] & 1 ? "pending" : "firing";
	w.nlabels = data[0] % 3;
	probe_alert_find((const char *)data + 1, size - 1, false, &w, &seen, why, sizeof(why));
	probe_alert_find((const char *)data + 1, size - 1, true, &w, &seen, why, sizeof(why));
	return 0;
}
