// SPDX-License-Identifier: GPL-2.0
/* Response bodies into values; see probe_parse.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "probe_parse.h"
#include "json.h"
#include "sanitize.h"

#define JSON_DEPTH 64

/* The whole body as one JSON value, or NULL. */
static json_object *parse_body(const char *body, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	json_object *o;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, body, (int)(len > 0x7fffffff ? 0x7fffffff : len));
	if (o && !only_blanks(body + json_tokener_get_parse_end(tok), len - json_tokener_get_parse_end(tok))) {
		json_object_put(o);	/* trailing garbage */
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static void as_text(json_object *o, char *val, size_t vlen)
{
	snprintf(val, vlen, "%s", json_object_is_type(o, json_type_string) ? json_object_get_string(o) :
		 json_line(o));
}

int probe_json_field(const char *body, size_t len, const char *path, char *val, size_t vlen)
{
	json_object *root = parse_body(body, len), *o = root;
	char *copy, *save = NULL, *w;
	int err = 0;

	if (!root)
		return -EBADMSG;
	copy = strdup(path);
	if (!copy) {
		err = -ENOMEM;
		goto out;
	}
	for (w = strtok_r(copy, ".", &save); w && o; w = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array)) {
			char *end;
			long i = strtol(w, &end, 10);

			o = *end || i < 0 ? NULL : json_object_array_get_idx(o, i);
		} else if (!json_object_is_type(o, json_type_object) ||
			   !json_object_object_get_ex(o, w, &o)) {
			o = NULL;
		}
	}
	free(copy);
	if (!o)
		err = -ENOENT;
	else
		as_text(o, val, vlen);
out:
	json_object_put(root);
	return err;
}

/* o[key] when o is an object and the member has the type asked. */
static json_object *member(json_object *o, const char *key, json_type type)
{
	json_object *m;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &m) ||
	    !json_object_is_type(m, type))
		return NULL;
	return m;
}

int probe_prom_value(const char *body, size_t len, char *val, size_t vlen)
{
	json_object *root = parse_body(body, len), *status, *data, *result, *first, *value = NULL, *v;
	int err = 0;

	status = member(root, "status", json_type_string);
	if (!status || strcmp(json_object_get_string(status), "success")) {
		err = -EBADMSG;
		goto out;
	}
	data = member(root, "data", json_type_object);
	result = member(data, "result", json_type_array);
	first = result && json_object_array_length(result) ? json_object_array_get_idx(result, 0) : NULL;
	if (json_object_is_type(first, json_type_object))
		value = member(first, "value", json_type_array);	/* a vector's first sample */
	else if (first)
		value = result;		/* a scalar or string: [ts, "v"] */
	v = value && json_object_array_length(value) > 1 ? json_object_array_get_idx(value, 1) : NULL;
	if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int)) {
		err = -ENODATA;
		goto out;
	}
	as_text(v, val, vlen);
out:
	json_object_put(root);
	return err;
}
