// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "fault.h"
#include "node.h"
#include "parse.h"
#include "health.h"
#include "http.h"
#include "probe_parse.h"

void prober_init(struct prober *pr, const struct experiment *e, const struct exp_probe *p,
		 bool accept_new)
{
	*pr = (struct prober){ .p = p, .e = e, .accept_new = accept_new };
}

void prober_cleanup(struct prober *pr)
{
	if (pr->curl)
		http_close(pr->curl);
	node_close(pr->conn);
	pr->curl = NULL;
	pr->conn = NULL;
}

/* GET url; the HTTP status, or 0 with the reason in res->detail. */
static long probe_get(struct prober *pr, const char *url, struct http_get *g, struct probe_result *res)
{
	g->url = url;
	g->timeout_ns = pr->p->timeout_ns;
	g->ca_file = pr->p->ca_file;
	g->want_body = true;
	if (http_get(&pr->curl, g)) {
		snprintf(res->detail, sizeof(res->detail), "out of memory");
		return 0;
	}
	res->latency_ns = g->latency_ns;
	if (!g->status)
		snprintf(res->detail, sizeof(res->detail), "%.*s", (int)sizeof(res->detail) - 1, g->why);
	return g->status;
}

static void probe_http(struct prober *pr, struct probe_result *res)
{
	const struct exp_probe *p = pr->p;
	struct http_get g = { 0 };
	long status = probe_get(pr, p->url, &g, res);
	char val[128];

	if (!status)
		goto out;
	if (p->status ? status != p->status : (status < 200 || status > 299)) {
		snprintf(res->detail, sizeof(res->detail), "status %ld, expected %ld", status,
			 p->status ? p->status : 200);
		goto out;
	}
	if (p->body_contains && (!g.body || !strstr(g.body, p->body_contains))) {
		snprintf(res->detail, sizeof(res->detail), "status %ld; body lacks '%s'", status,
			 p->body_contains);
		goto out;
	}
	if (p->json_field) {
		int err = g.body ? probe_json_field(g.body, g.body_len, p->json_field, val, sizeof(val)) : -EBADMSG;

		if (err == -ENOENT)
			snprintf(res->detail, sizeof(res->detail), "status %ld; no field %s", status,
				 p->json_field);
		else if (err)
			snprintf(res->detail, sizeof(res->detail), "status %ld; body is not JSON", status);
		else if (!expect_matches(p->expect, val))
			snprintf(res->detail, sizeof(res->detail), "%s = %s, expected %s", p->json_field,
				 val, p->expect);
		if (err || !expect_matches(p->expect, val))
			goto out;
	}
	if (p->max_latency_ns && res->latency_ns > p->max_latency_ns) {
		snprintf(res->detail, sizeof(res->detail), "status %ld in %.0f ms, above the %.0f ms bound",
			 status, res->latency_ns / 1e6, p->max_latency_ns / 1e6);
		goto out;
	}
	res->ok = true;
	snprintf(res->detail, sizeof(res->detail), "status %ld in %.1f ms", status, res->latency_ns / 1e6);
out:
	http_get_free(&g);
}

static void probe_prometheus(struct prober *pr, struct probe_result *res)
{
	const struct exp_probe *p = pr->p;
	struct http_get g = { 0 };
	char *q = NULL, *url = NULL, val[128];
	long status;
	int err;

	if (!pr->curl && !(pr->curl = curl_easy_init()))
		return;
	q = curl_easy_escape(pr->curl, p->query, 0);
	if (!q || asprintf(&url, "%s%s/api/v1/query?query=%s", p->url,
			   p->url[strlen(p->url) - 1] == '/' ? "" : "", q) < 0) {
		url = NULL;
		goto out;
	}
	if (url && p->url[strlen(p->url) - 1] == '/') {
		/* "http://h:9090/" + "api/..." : drop the doubled slash */
		char *s = strstr(url, "//api/");

		if (s)
			memmove(s, s + 1, strlen(s));
	}
	status = probe_get(pr, url, &g, res);
	if (!status)
		goto out;
	err = status == 200 && g.body ? probe_prom_value(g.body, g.body_len, val, sizeof(val)) : -EBADMSG;
	if (err == -EBADMSG) {
		snprintf(res->detail, sizeof(res->detail), "status %ld: %.120s", status, g.body ? g.body : "");
		goto out;
	}
	if (err) {
		snprintf(res->detail, sizeof(res->detail), "no series for %s", p->query);
		goto out;
	}
	res->ok = expect_matches(p->expect, val);
	snprintf(res->detail, sizeof(res->detail), "%s = %s%s%s", p->query, val,
		 res->ok ? "" : ", expected ", res->ok ? "" : p->expect);
out:
	curl_free(q);
	free(url);
	http_get_free(&g);
}

static void probe_tcp(struct prober *pr, struct probe_result *res)
{
	const struct exp_probe *p = pr->p;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	uint64_t t0 = mono_ns();
	char port[8];
	int fd, r;

	snprintf(port, sizeof(port), "%u", p->port);
	r = getaddrinfo(p->host, port, &hints, &ai);
	if (r) {
		snprintf(res->detail, sizeof(res->detail), "%s: %s", p->host, gai_strerror(r));
		return;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
			soerr = errno;
		} else {
			r = poll(&pf, 1, p->timeout_ns / NSEC_PER_MSEC);
			if (r == 0)
				soerr = ETIMEDOUT;
			else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
				soerr = errno;
		}
		res->latency_ns = mono_ns() - t0;
		res->ok = !soerr;
		if (soerr)
			snprintf(res->detail, sizeof(res->detail), "connect %s:%u: %s", p->host, p->port,
				 strerror(soerr));
		else
			snprintf(res->detail, sizeof(res->detail), "connected in %.1f ms", res->latency_ns / 1e6);
		close(fd);
	}
	freeaddrinfo(ai);
}

static void probe_sql(struct prober *pr, struct probe_result *res)
{
	const struct exp_probe *p = pr->p;
	char timeout[16], *msg;
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { p->conninfo, timeout, "tug-probe", NULL };
	uint64_t t0 = mono_ns();
	PGresult *r = NULL;
	PGconn *c;

	snprintf(timeout, sizeof(timeout), "%u",
		 (unsigned)((p->timeout_ns + NSEC_PER_SEC - 1) / NSEC_PER_SEC));
	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		msg = c ? PQerrorMessage(c) : "out of memory";
		snprintf(res->detail, sizeof(res->detail), "%.*s", (int)strcspn(msg, "\n"), msg);
		goto out;
	}
	r = PQexecParams(c, p->query, 0, NULL, NULL, NULL, NULL, 0);
	res->latency_ns = mono_ns() - t0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
		msg = PQresultErrorMessage(r);
		snprintf(res->detail, sizeof(res->detail), "%.*s", (int)strcspn(msg, "\n"), msg);
		goto out;
	}
	if (!p->expect) {
		res->ok = true;
		snprintf(res->detail, sizeof(res->detail), "query ok in %.1f ms", res->latency_ns / 1e6);
		goto out;
	}
	if (PQntuples(r) < 1 || PQnfields(r) < 1) {
		snprintf(res->detail, sizeof(res->detail), "no rows, expected %s", p->expect);
		goto out;
	}
	res->ok = expect_matches(p->expect, PQgetvalue(r, 0, 0));
	snprintf(res->detail, sizeof(res->detail), "value %.80s%s%s", PQgetvalue(r, 0, 0),
		 res->ok ? "" : ", expected ", res->ok ? "" : p->expect);
out:
	PQclear(r);
	PQfinish(c);
}

static void probe_cmd(struct prober *pr, struct probe_result *res)
{
	const struct exp_probe *p = pr->p;
	uint64_t t0 = mono_ns();
	char why[256] = "", *out = NULL;
	int err, code = -1;

	if (!pr->conn) {
		err = node_open(&pr->e->nodes[p->node], pr->accept_new, &pr->conn, why, sizeof(why));
		if (err) {
			snprintf(res->detail, sizeof(res->detail), "%s", why);
			return;
		}
	}
	err = node_run(pr->conn, p->run, p->timeout_ns, &code, &out, why, sizeof(why));
	res->latency_ns = mono_ns() - t0;
	if (err) {
		snprintf(res->detail, sizeof(res->detail), "%s", why);
		/* A broken session is not reused. */
		node_close(pr->conn);
		pr->conn = NULL;
		return;
	}
	if (code != p->exit_code)
		snprintf(res->detail, sizeof(res->detail), "exit %d, expected %d%s%.100s", code,
			 p->exit_code, *why ? ": " : "", why);
	else if (p->output_contains && !strstr(out, p->output_contains))
		snprintf(res->detail, sizeof(res->detail), "output lacks '%s'", p->output_contains);
	else {
		res->ok = true;
		snprintf(res->detail, sizeof(res->detail), "exit %d in %.1f ms", code, res->latency_ns / 1e6);
	}
	free(out);
}

void probe_once(struct prober *pr, struct probe_result *res)
{
	memset(res, 0, sizeof(*res));
	switch (pr->p->type) {
	case PROBE_HTTP:
		probe_http(pr, res);
		break;
	case PROBE_TCP:
		probe_tcp(pr, res);
		break;
	case PROBE_SQL:
		probe_sql(pr, res);
		break;
	case PROBE_CMD:
		probe_cmd(pr, res);
		break;
	case PROBE_PROMETHEUS:
		probe_prometheus(pr, res);
		break;
	}
	res->ts_ns = now_realtime_ns();
}

void probe_check(struct prober *pr, struct probe_result *res, atomic_int *stop)
{
	for (unsigned i = 0;; i++) {
		probe_once(pr, res);
		if (res->ok || i >= pr->p->retries || (stop && *stop))
			return;
		{
			struct timespec ts = { pr->p->interval_ns / NSEC_PER_SEC,
					       pr->p->interval_ns % NSEC_PER_SEC };

			nanosleep(&ts, NULL);
		}
	}
}
