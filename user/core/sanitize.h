/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Text that comes from outside tug (nodes, probes, experiment files, the
 * command line) on its way to somewhere it could do harm: a shell, an HTML
 * page, the operator's terminal, a cron line or unit file, a libpq
 * connection string. One helper per destination, no logging.
 */
#ifndef TUG_SANITIZE_H
#define TUG_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* s with a byte the destination would read as a line or field break:
 * C0 controls (tab too), DEL. */
bool has_control(const char *s);

/* Are the n bytes at s all blanks (space, tab, CR, LF)? A NUL is not. */
bool only_blanks(const char *s, size_t n);

/* s in single quotes for sh, newly allocated (NULL without memory). */
char *sh_quote(const char *s);

/* s as HTML/XML text or attribute value; C0 controls but \n and \t as '?'. */
void html_escape(FILE *f, const char *s);

/* In place: every C0 control but \t, DEL and the UTF-8 encoded C1 controls
 * become '?', so a node cannot move the cursor, retitle the window or
 * recolour the operator's terminal. */
void term_clean(char *s);
/* fputs(s, f) with the same neutralisation. */
void term_fputs(const char *s, FILE *f);

#endif
