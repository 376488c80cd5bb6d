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

/* Every member of o a string, as Prometheus labels are. */
static bool strings_only(json_object *o)
{
	json_object_object_foreach(o, k, v) {
		(void)k;
		if (!json_object_is_type(v, json_type_string))
			return false;
	}
	return true;
}

static bool labels_match(json_object *labels, const struct alert_want *w)
{
	json_object *v = member(labels, "alertname", json_type_string);

	if (!v || strcmp(json_object_get_string(v), w->name))
		return false;
	for (size_t i = 0; i < w->nlabels; i++) {
		v = member(labels, w->keys[i], json_type_string);
		if (!v || strcmp(json_object_get_string(v), w->vals[i]))
			return false;
	}
	return true;
}

/* The time of day of an RFC 3339 stamp ("2026-12-01T19:02:03.1Z"), or "". */
static void since_of(json_object *a, const char *key, char *out, size_t n)
{
	json_object *t = member(a, key, json_type_string);
	const char *s = t ? json_object_get_string(t) : "";
	static const int digits[] = { 11, 12, 14, 15, 17, 18 };

	*out = '\0';
	if (strlen(s) < 19 || s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return;
	for (size_t i = 0; i < sizeof(digits) / sizeof(digits[0]); i++)
		if (s[digits[i]] < '0' || s[digits[i]] > '9')
			return;
	snprintf(out, n, "%.8s", s + 11);
}

static void labels_text(json_object *labels, char *out, size_t n)
{
	size_t off = 0;

	*out = '\0';
	json_object_object_foreach(labels, k, v) {
		if (!strcmp(k, "alertname") || off >= n)
			continue;
		off += snprintf(out + off, n - off, "%s%s=%s", off ? ", " : "", k, json_object_get_string(v));
	}
}

int probe_alert_find(const char *body, size_t len, bool prometheus, const struct alert_want *w,
		     struct alert_seen *seen, char *why, size_t wlen)
{
	json_object *root = parse_body(body, len), *list, *status;
	int err = -ENOENT;
	size_t n;

	*seen = (struct alert_seen){ 0 };
	if (!root) {
		snprintf(why, wlen, "the response is not JSON");
		return -EBADMSG;
	}
	if (prometheus) {
		status = member(root, "status", json_type_string);
		list = member(member(root, "data", json_type_object), "alerts", json_type_array);
		if (!status || strcmp(json_object_get_string(status), "success") || !list) {
			snprintf(why, wlen, "not a Prometheus alerts response (status \"success\", data.alerts a list)");
			err = -EBADMSG;
			goto out;
		}
	} else {
		list = json_object_is_type(root, json_type_array) ? root : NULL;
		if (!list) {
			snprintf(why, wlen, "not an Alertmanager alerts response (a list of alerts)");
			err = -EBADMSG;
			goto out;
		}
	}
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(list, i);
		json_object *labels = member(a, "labels", json_type_object), *st;
		const char *state;

		if (!labels || !strings_only(labels)) {
			snprintf(why, wlen, "alert %zu: 'labels' is not a map of strings", i);
			err = -EBADMSG;
			goto out;
		}
		st = prometheus ? member(a, "state", json_type_string) :
			member(member(a, "status", json_type_object), "state", json_type_string);
		if (!st) {
			snprintf(why, wlen, "alert %zu has no %s", i, prometheus ? "'state'" : "'status.state'");
			err = -EBADMSG;
			goto out;
		}
		state = json_object_get_string(st);
		if (!prometheus && !strcmp(state, "active"))
			state = "firing";
		if (strcmp(state, w->state) || !labels_match(labels, w))
			continue;
		if (!seen->count++) {
			since_of(a, prometheus ? "activeAt" : "startsAt", seen->since, sizeof(seen->since));
			labels_text(labels, seen->labels, sizeof(seen->labels));
		}
		err = 0;
	}
out:
	json_object_put(root);
	return err;
}
