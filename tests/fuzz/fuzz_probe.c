// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: HTTP and Prometheus probe response bodies, as a
 * server (or whoever answers in its place) chooses them. */
#include <stdint.h>
#include <string.h>

#include "probe_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "status", "checks.db.ok", "items.0.name", "a.1.b.2", "0" };
	char val[128];

	if (!size)
		return 0;
	/* The first byte picks the JSON path of an http probe's json-field. */
	probe_json_field((const char *)data + 1, size - 1, paths[data[0] % 5], val, sizeof(val));
	probe_prom_value((const char *)data + 1, size - 1, val, sizeof(val));
	return 0;
}
