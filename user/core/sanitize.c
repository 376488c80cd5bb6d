// SPDX-License-Identifier: GPL-2.0
/* Escaping and checks for text from outside; see sanitize.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

bool has_control(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

bool only_blanks(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

char *sh_quote(const char *s)
{
	size_t n = 3;
	char *out, *p;

	for (const char *q = s; *q; q++)
		n += *q == '\'' ? 4 : 1;
	out = malloc(n);
	if (!out)
		return NULL;
	p = out;
	*p++ = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = *s;
		}
	}
	*p++ = '\'';
	*p = '\0';
	return out;
}

void html_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') || *s == 0x7f)
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

void term_clean(char *s)
{
	for (unsigned char *p = (unsigned char *)s; p && *p; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			*p = '?';
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* U+0080..U+009F: CSI (U+009B) and OSC (U+009D) among them */
			p[0] = '?';
			p[1] = '?';
			p++;
		}
	}
}

void term_fputs(const char *s, FILE *f)
{
	char *c = strdup(s ? s : "");

	if (!c)
		return;
	term_clean(c);
	fputs(c, f);
	free(c);
}
