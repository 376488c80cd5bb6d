// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
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
	*pr = (struct prober){ .p = p, .e = e, .accept_new = accept_new, .alert_source = p->source };
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

/* base (trailing slashes dropped) followed by the formatted rest, newly
 * allocated, or NULL. */
static char *api_url(const char *base, const char *fmt, ...)
{
	size_t n = strlen(base);
	char *rest = NULL, *url = NULL;
	va_list ap;

	while (n && base[n - 1] == '/')
		n--;
	va_start(ap, fmt);
	if (vasprintf(&rest, fmt, ap) < 0)
		rest = NULL;
	va_end(ap);
	if (rest && asprintf(&url, "%.*s%s", (int)n, base, rest) < 0)
		url = NULL;
	free(rest);
	return url;
}

static void probe_prometheus(struct prober *pr, struct probe_result *res)
{
	const struct exp_probe *p = pr->p;
	struct http_get g = { 0 };
	char *q = NULL, *url = NULL, val[128];
	long status;
	int err;

	if (!pr->curl && !(pr->curl = curl_easy_init()))
		goto nomem;
	q = curl_easy_escape(pr->curl, p->query, 0);
	url = q ? api_url(p->url, "/api/v1/query?query=%s", q) : NULL;
	if (!url)
		goto nomem;
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
	goto out;
nomem:
	snprintf(res->detail, sizeof(res->detail), "out of memory");
out:
	curl_free(q);
	free(url);
	http_get_free(&g);
}

/* GET the alerts of the probe's source into g; detects the source on the
 * first answer: Prometheus answers 404 to Alertmanager's path. */
static long alerts_get(struct prober *pr, struct http_get *g, struct probe_result *res)
{
	const struct exp_probe *p = pr->p;
	char *m = NULL, *f = NULL, *url = NULL;
	long status = 0;

	if (pr->alert_source == ALERT_SOURCE_PROMETHEUS) {
		url = api_url(p->url, "/api/v1/alerts");
	} else {
		/* The server's filter only narrows the answer; labels are matched here. */
		if (asprintf(&m, "alertname=\"%s\"", p->alert) < 0)
			m = NULL;
		f = m ? curl_easy_escape(pr->curl, m, 0) : NULL;
		url = f ? api_url(p->url, "/api/v2/alerts?active=true&silenced=false&inhibited=false"
				  "&filter=%s", f) : NULL;
	}
	if (!url) {
		snprintf(res->detail, sizeof(res->detail), "out of memory");
		goto out;
	}
	status = probe_get(pr, url, g, res);
	if (pr->alert_source == ALERT_SOURCE_DETECT && status) {
		pr->alert_source = status == 404 ? ALERT_SOURCE_PROMETHEUS : ALERT_SOURCE_ALERTMANAGER;
		if (status == 404) {
			http_get_free(g);
			*g = (struct http_get){ 0 };
			status = alerts_get(pr, g, res);
		}
	}
out:
	free(m);
	curl_free(f);
	free(url);
	return status;
}

static void probe_alert(struct prober *pr, struct probe_result *res)
{
	static const char *const look_for[] = {
		[ALERT_FIRING] = "firing", [ALERT_INACTIVE] = "firing", [ALERT_PENDING] = "pending",
	};
	const struct exp_probe *p = pr->p;
	struct alert_want w = { .name = p->alert, .state = look_for[p->alert_state], .keys = p->label_keys,
				.vals = p->label_vals, .nlabels = p->nlabels };
	const char *src;
	struct alert_seen seen;
	struct http_get g = { 0 };
	char why[160], with[120] = "";
	size_t off = 0;
	bool detect;
	long status;
	int err;

	if (!pr->curl && !(pr->curl = curl_easy_init())) {
		snprintf(res->detail, sizeof(res->detail), "out of memory");
		return;
	}
	detect = pr->alert_source == ALERT_SOURCE_DETECT;
	status = alerts_get(pr, &g, res);
	src = pr->alert_source == ALERT_SOURCE_PROMETHEUS ? "Prometheus" : "Alertmanager";
	if (!status)
		goto out;
	if (status == 404 && detect) {
		snprintf(res->detail, sizeof(res->detail), "status 404 for both Alertmanager's "
			 "/api/v2/alerts and Prometheus's /api/v1/alerts: is the url the server's base?");
		goto out;
	}
	if (status != 200) {
		snprintf(res->detail, sizeof(res->detail), "%s answered status %ld", src, status);
		goto out;
	}
	err = probe_alert_find(g.body ? g.body : "", g.body_len, pr->alert_source == ALERT_SOURCE_PROMETHEUS,
			       &w, &seen, why, sizeof(why));
	if (err == -EBADMSG) {
		snprintf(res->detail, sizeof(res->detail), "%s: %s", src, why);
		goto out;
	}
	for (size_t i = 0; i < p->nlabels && off < sizeof(with); i++)
		off += snprintf(with + off, sizeof(with) - off, "%s%s=%s", i ? ", " : " with ",
				p->label_keys[i], p->label_vals[i]);
	res->ok = (err == 0) == (p->alert_state != ALERT_INACTIVE);
	if (err)
		snprintf(res->detail, sizeof(res->detail), "no %s alert %s%s", p->alert, w.state, with);
	else
		snprintf(res->detail, sizeof(res->detail), "%s %s%s%s (%s)%s", p->alert, w.state,
			 *seen.since ? " since " : "", seen.since, seen.labels,
			 seen.count > 1 ? ", and others" : "");
out:
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
		/* A node that reboots, or whose sshd restarts, is retried for
		 * the attempt's whole timeout. */
		err = node_open_retry(&pr->e->nodes[p->node], pr->accept_new, t0 + p->timeout_ns, NULL,
				      &pr->conn, why, sizeof(why));
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
	case PROBE_ALERT:
		probe_alert(pr, res);
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
