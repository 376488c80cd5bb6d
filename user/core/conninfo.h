/* SPDX-License-Identifier: GPL-2.0 */
/* Apart from sanitize.h: only the commands that talk to PostgreSQL load libpq. */
#ifndef TUG_CONNINFO_H
#define TUG_CONNINFO_H

#include <stddef.h>

/* A libpq conninfo (key=value or URI), parsed by libpq itself: -EINVAL
 * when it does not parse or carries a password (why says which and how
 * to fix it); desc, when given, gets host/port/dbname/user/service. */
int conninfo_check(const char *conninfo, char *desc, size_t dlen, char *why, size_t wlen);

#endif
