// SPDX-License-Identifier: GPL-2.0
/* libpq's own parse of a conninfo; see conninfo.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libpq-fe.h>

#include "conninfo.h"

int conninfo_check(const char *conninfo, char *desc, size_t dlen, char *why, size_t wlen)
{
	PQconninfoOption *opts, *o;
	char *errmsg = NULL;
	size_t off = 0;
	int err = 0;

	if (desc && dlen)
		desc[0] = '\0';
	opts = PQconninfoParse(conninfo, &errmsg);
	if (!opts) {
		snprintf(why, wlen, "not a libpq conninfo (key=value ... or postgresql://...): %.*s",
			 errmsg ? (int)strcspn(errmsg, "\n") : 13, errmsg ? errmsg : "out of memory");
		PQfreemem(errmsg);
		return -EINVAL;
	}
	for (o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "password")) {
			snprintf(why, wlen, "carries a password; put it in a password file "
				 "(PGPASSFILE, ~/.pgpass) or a service file, never where others can "
				 "read it (command lines, cron lines, unit and experiment files)");
			err = -EINVAL;
			break;
		}
		if (desc && (!strcmp(o->keyword, "host") || !strcmp(o->keyword, "hostaddr") ||
			     !strcmp(o->keyword, "port") || !strcmp(o->keyword, "dbname") ||
			     !strcmp(o->keyword, "user") || !strcmp(o->keyword, "service")))
			off += snprintf(desc + off, off < dlen ? dlen - off : 0, "%s%s=%s",
					off ? " " : "", o->keyword, o->val);
	}
	PQconninfoFree(opts);
	return err;
}
