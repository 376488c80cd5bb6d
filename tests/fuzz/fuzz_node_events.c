// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: lines a node prints, as the orchestrator reads them
 * (node_line_parse, then the fields job_event in
 * user/orchestrator/faultjob.c takes, then the escaping on their way to a
 * terminal and an HTML report). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_line.h"
#include "sanitize.h"

static FILE *sink;

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return "";
	return json_object_get_string(v) ?: "";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "event", "id", "reason", "comm", "cgroup", "pid", NULL };
	json_object *o, *v;
	char *line;

	if (!sink)
		sink = fopen("/dev/null", "w");
	o = node_line_parse((const char *)data, size);
	if (!o)
		return 0;
	for (size_t i = 0; keys[i]; i++) {
		line = strdup(str_of(o, keys[i]));
		if (!line)
			break;
		term_clean(line);
		for (unsigned char *p = (unsigned char *)line; *p; p++)
			if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
				abort();	/* a control character reached the terminal */
		html_escape(sink, line);
		free(line);
	}
	if (json_object_object_get_ex(o, "ts_ms", &v))
		(void)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "counters", &v))
		fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), sink);
	json_object_put(o);
	return 0;
}
