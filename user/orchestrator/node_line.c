// SPDX-License-Identifier: GPL-2.0
/* Node output lines into JSON objects; see node_line.h. */
#include "node_line.h"
#include "sanitize.h"

/* Events are flat objects with a counters object: deeper is not ours. */
#define NODE_LINE_DEPTH 16

json_object *node_line_parse(const char *line, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(NODE_LINE_DEPTH);
	json_object *o = NULL;
	size_t end;

	if (!tok || len > 0x7fffffff)
		goto out;
	o = json_tokener_parse_ex(tok, line, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (o && (!json_object_is_type(o, json_type_object) || !only_blanks(line + end, len - end))) {
		json_object_put(o);
		o = NULL;
	}
out:
	if (tok)
		json_tokener_free(tok);
	return o;
}
