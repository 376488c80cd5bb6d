// SPDX-License-Identifier: GPL-2.0
#include "json.h"

json_object *json_get(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

int64_t json_get_int(json_object *o, const char *key, int64_t dflt)
{
	json_object *v = json_get(o, key);

	return v ? json_object_get_int64(v) : dflt;
}

const char *json_get_str(json_object *o, const char *key, const char *dflt)
{
	json_object *v = json_get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : dflt;
}

const char *json_line(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}
