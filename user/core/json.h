/* SPDX-License-Identifier: GPL-2.0 */
/* Small json-c accessors that tolerate missing keys and wrong types. */
#ifndef TUG_JSON_H
#define TUG_JSON_H

#include <stdint.h>
#include <json-c/json.h>

json_object *json_get(json_object *o, const char *key);
int64_t json_get_int(json_object *o, const char *key, int64_t dflt);
const char *json_get_str(json_object *o, const char *key, const char *dflt);
/* One line of JSON as tug prints it everywhere: no spaces, '/' unescaped
 * (paths read as paths). Owned by o. */
const char *json_line(json_object *o);

#endif
