// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "parse.h"

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int config_load(struct tug_config *ret)
{
	struct tug_config c = {
		.default_for_ns = 60 * NSEC_PER_SEC,
		.max_for_ns = 3600 * NSEC_PER_SEC,
		.approvals_medium = 1,
		.approvals_high = 2,
		.expedite_rcu = true,
	};
	const char *path = getenv("TUG_CONFIG");
	char line[512];
	int lineno = 0, err = 0;
	FILE *f;

	if (!path || !*path)
		path = "/etc/tug/tug.conf";
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			return log_errno(-errno, "cannot read %s", path);
		*ret = c;
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *val, *eq;
		uint64_t *dst;

		lineno++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			log_error("%s:%d: expected 'key = value'", path, lineno);
			err = -EINVAL;
			goto cleanup;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		if (!strcmp(key, "approvals-medium") || !strcmp(key, "approvals-high")) {
			uint64_t n;

			if (parse_uint(val, 1, 16, &n)) {
				log_error("%s:%d: %s: '%s' is not a number of approvers 1..16",
					  path, lineno, key, val);
				err = -EINVAL;
				goto cleanup;
			}
			if (!strcmp(key, "approvals-medium"))
				c.approvals_medium = n;
			else
				c.approvals_high = n;
			continue;
		}
		if (!strcmp(key, "summary-table") || !strcmp(key, "summary-columns")) {
			char *dstr = key[8] == 't' ? c.summary_table : c.summary_columns;
			size_t cap = key[8] == 't' ? sizeof(c.summary_table) : sizeof(c.summary_columns);

			/* Checked where it is used (sink.c), with the same file:line. */
			if (strlen(val) >= cap) {
				log_error("%s:%d: %s: longer than %zu characters", path, lineno, key, cap - 1);
				err = -EINVAL;
				goto cleanup;
			}
			strcpy(dstr, val);
			continue;
		}
		if (!strcmp(key, "expedite-rcu")) {
			if (strcmp(val, "yes") && strcmp(val, "no")) {
				log_error("%s:%d: expedite-rcu: '%s' is not yes or no", path, lineno, val);
				err = -EINVAL;
				goto cleanup;
			}
			c.expedite_rcu = !strcmp(val, "yes");
			continue;
		}
		if (!strcmp(key, "max-for"))
			dst = &c.max_for_ns;
		else if (!strcmp(key, "default-for"))
			dst = &c.default_for_ns;
		else {
			log_error("%s:%d: unknown key '%s' (known: max-for, default-for, "
				  "approvals-medium, approvals-high, summary-table, summary-columns, "
				  "expedite-rcu)",
				  path, lineno, key);
			err = -EINVAL;
			goto cleanup;
		}
		if (parse_duration(val, dst) || !*dst) {
			log_error("%s:%d: %s: '%s' is not a duration like 30s, 5m, 1h",
				  path, lineno, key, val);
			err = -EINVAL;
			goto cleanup;
		}
	}
	if (c.default_for_ns > c.max_for_ns)
		c.default_for_ns = c.max_for_ns;
	*ret = c;
cleanup:
	fclose(f);
	return err;
}
