/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A line a node printed, as the orchestrator reads it: the node (and
 * whoever controls it) chose every byte, so it is parsed with bounds.
 */
#ifndef TUG_NODE_LINE_H
#define TUG_NODE_LINE_H

#include <stddef.h>
#include <json-c/json.h>

/* The line as a JSON object (nesting bounded, nothing after it but
 * blanks), or NULL when it is not one: plain text for the debug log. */
json_object *node_line_parse(const char *line, size_t len);

#endif
