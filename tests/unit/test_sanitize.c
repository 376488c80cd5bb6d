// SPDX-License-Identifier: GPL-2.0
/* Text from outside on its way to a shell, a terminal, an HTML page, a
 * cron line or libpq. */
#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "node.h"
#include "conninfo.h"
#include "sanitize.h"

static void shell_words(void)
{
	char *q = sh_quote("a'b; $(id)"), *cmd = NULL;

	CHECK_STR(q, "'a'\\''b; $(id)'");
	free(q);
	CHECK_EQ(shell_quote_append(&cmd, "exec"), 0);
	CHECK_EQ(shell_quote_append(&cmd, "/usr/sbin/tug"), 0);
	CHECK_EQ(shell_quote_append(&cmd, "it's"), 0);
	CHECK_EQ(shell_quote_append(&cmd, ""), 0);
	CHECK_STR(cmd, "exec /usr/sbin/tug 'it'\\''s' ''");
	free(cmd);
}

static void terminals(void)
{
	char s[] = "ok\033]0;x\007\tend\302\233J\r\n\177";

	term_clean(s);
	CHECK_STR(s, "ok?]0;x?\tend??J???");
	CHECK(has_control("a\nb"));
	CHECK(has_control("a\tb"));
	CHECK(!has_control("plain text, 100%"));
}

static void html(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	html_escape(f, "</title><script>x('\"')</script>&\033");
	fclose(f);
	CHECK_STR(buf, "&lt;/title&gt;&lt;script&gt;x(&#39;&quot;&#39;)&lt;/script&gt;&amp;?");
	free(buf);
}

static void conninfo(void)
{
	char desc[256], why[512];

	CHECK_EQ(conninfo_check("host=/tmp port=5432 dbname=tug user=tug", desc, sizeof(desc), why,
				sizeof(why)), 0);
	CHECK_STR(desc, "user=tug dbname=tug host=/tmp port=5432");
	CHECK_EQ(conninfo_check("service=tug passfile=/root/.pgpass", NULL, 0, why, sizeof(why)), 0);
	/* A database named "password" is not a password (strstr thought so). */
	CHECK_EQ(conninfo_check("dbname=passwords", NULL, 0, why, sizeof(why)), 0);
	CHECK_EQ(conninfo_check("host=db password=x", NULL, 0, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "carries a password") != NULL);
	CHECK_EQ(conninfo_check("postgresql://tug:s3cret@db:5432/tug", NULL, 0, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "carries a password") != NULL);
	CHECK_EQ(conninfo_check("postgresql://db/tug?password=s3cret", NULL, 0, why, sizeof(why)), -EINVAL);
	CHECK_EQ(conninfo_check("host=db dbname", NULL, 0, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "not a libpq conninfo") != NULL);
}

int main(void)
{
	RUN(shell_words);
	RUN(terminals);
	RUN(html);
	RUN(conninfo);
	return t_exit();
}
