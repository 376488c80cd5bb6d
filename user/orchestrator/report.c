// SPDX-License-Identifier: GPL-2.0
/*
 * The report directory of a run: report.json (the whole record, every probe
 * result with its timestamp), junit.xml (one testcase per phase, for CI) and
 * report.html (verdicts, and an inline SVG timeline of probe health against
 * the fault windows; no script, no external asset).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "json.h"
#include "run.h"
#include "safefile.h"
#include "sanitize.h"

/* The report's files are created under a temporary name next to the
 * final one in the directory tug checked (safefile.h). */
static FILE *open_in(int dfd, const char *name)
{
	FILE *f = NULL;
	int err = safe_file_create(dfd, name, 0644, &f);

	if (err)
		errno = -err;
	return f;
}

static void iso(int64_t ms, char *buf, size_t len)
{
	time_t t = ms / 1000;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ", (int)(ms % 1000));
}

static int write_junit(int dir, json_object *run)
{
	json_object *phases = json_get(run, "phases");
	size_t n = phases ? json_object_array_length(phases) : 0, nfail = 0;
	char ts[40];
	FILE *f = open_in(dir, "junit.xml");

	if (!f)
		return -errno;
	for (size_t i = 0; i < n; i++)
		nfail += !strcmp(json_get_str(json_object_array_get_idx(phases, i), "verdict", ""), "fail");
	iso(json_get_int(run, "started_ms", 0), ts, sizeof(ts));
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"");
	html_escape(f, json_get_str(run, "title", ""));
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" timestamp=\"%s\" time=\"%.3f\">\n",
		n ? n : 1, n ? nfail : 1, ts,
		(json_get_int(run, "finished_ms", 0) - json_get_int(run, "started_ms", 0)) / 1e3);
	fprintf(f, "<properties>\n");
	fprintf(f, "<property name=\"run_id\" value=\"");
	html_escape(f, json_get_str(run, "run_id", ""));
	fprintf(f, "\"/>\n<property name=\"risk\" value=\"");
	html_escape(f, json_get_str(run, "risk", ""));
	fprintf(f, "\"/>\n<property name=\"operator\" value=\"");
	html_escape(f, json_get_str(run, "operator", ""));
	fprintf(f, "\"/>\n<property name=\"approvers\" value=\"");
	html_escape(f, json_line(json_get(run, "approvers")));
	fprintf(f, "\"/>\n</properties>\n");
	if (!n) {
		fprintf(f, "<testcase classname=\"tug\" name=\"run\"><failure message=\"");
		html_escape(f, json_get_str(run, "reason", "no phase ran"));
		fprintf(f, "\"/></testcase>\n");
	}
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(phases, i);
		const char *v = json_get_str(p, "verdict", "");

		fprintf(f, "<testcase classname=\"");
		html_escape(f, json_get_str(run, "title", ""));
		fprintf(f, "\" name=\"");
		html_escape(f, json_get_str(p, "name", ""));
		fprintf(f, "\" time=\"%.3f\">",
			(json_get_int(p, "finished_ms", 0) - json_get_int(p, "started_ms", 0)) / 1e3);
		if (!strcmp(v, "fail")) {
			fprintf(f, "<failure message=\"");
			html_escape(f, json_get_str(p, "detail", ""));
			fprintf(f, "\"/>");
		} else if (*json_get_str(p, "detail", "")) {
			fprintf(f, "<system-out>");
			html_escape(f, json_get_str(p, "detail", ""));
			fprintf(f, "</system-out>");
		}
		fprintf(f, "</testcase>\n");
	}
	fprintf(f, "</testsuite>\n</testsuites>\n");
	return safe_file_commit(dir, "junit.xml", f);
}

/* The timeline: one row per (phase, probe), a mark per result, green when
 * it passed, red when not; fault windows as shaded bands. */
/* A probe result's look on the timeline: what the phase asked for is never
 * drawn as an error (a must-fail probe failing is blue, "confirmed"). */
struct look {
	const char *outcome, *cls, *color, *word;
};

static const struct look looks[] = {
	{ "ok", "ok", "#2e7d32", "ok" },
	{ "confirmed", "confirmed", "#1565c0", "failing as expected" },
	{ "up", "waiting", "#9e9e9e", "not failing yet" },
	{ "not yet", "waiting", "#9e9e9e", "not recovered yet" },
	{ "FAIL", "bad", "#c62828", "FAIL" },
};

static const struct look *outcome_look(const char *outcome)
{
	for (size_t i = 0; i < sizeof(looks) / sizeof(looks[0]); i++)
		if (!strcmp(looks[i].outcome, outcome))
			return &looks[i];
	return &looks[sizeof(looks) / sizeof(looks[0]) - 1];
}

static void svg_timeline(FILE *f, json_object *run)
{
	json_object *probes = json_get(run, "probes"), *events = json_get(run, "events");
	json_object *faults = json_get(run, "faults");
	size_t np = probes ? json_object_array_length(probes) : 0;
	size_t ne = events ? json_object_array_length(events) : 0;
	size_t nf = faults ? json_object_array_length(faults) : 0;
	int64_t t0 = json_get_int(run, "started_ms", 0), t1 = json_get_int(run, "finished_ms", t0 + 1);
	const int left = 230, width = 900, row = 22, top = 30;
	int height = top + (int)np * row + 30;
	double span = t1 > t0 ? (double)(t1 - t0) : 1.0;

#define X(t) (left + ((double)((t) - t0) / span) * (width - left - 10))
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"probe timeline\">\n",
		width, height, width, height);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fafafa\"/>\n", width, height);
	for (size_t i = 0; i < nf; i++) {
		json_object *w = json_object_array_get_idx(faults, i);
		int64_t a = json_get_int(w, "applied_ms", 0), b = json_get_int(w, "reverted_ms", 0);

		if (!a)
			continue;
		if (b < a)
			b = a;
		fprintf(f, "<rect class=\"fault\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
			"fill=\"#f4c7c3\" opacity=\"0.7\"><title>", X(a), top - 10,
			X(b) - X(a) < 2 ? 2.0 : X(b) - X(a), (int)np * row + 10);
		html_escape(f, json_get_str(w, "fault", ""));
		fprintf(f, " on ");
		html_escape(f, json_get_str(w, "node", ""));
		fprintf(f, ": %.3fs, ", (b - a) / 1e3);
		html_escape(f, json_get_str(w, "reason", ""));
		fprintf(f, "</title></rect>\n");
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#a33\">", X(a) + 2, top - 14);
		html_escape(f, json_get_str(w, "fault", ""));
		fprintf(f, "</text>\n");
	}
	{
		json_object *win = json_get(run, "window");
		int64_t a = json_get_int(win, "start_ms", 0), b = json_get_int(win, "end_ms", 0);

		if (a && b >= a && !nf)
			fprintf(f, "<rect class=\"fault\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
				"fill=\"#f4c7c3\" opacity=\"0.7\"><title>method window</title></rect>\n",
				X(a), top - 10, X(b) - X(a) < 2 ? 2.0 : X(b) - X(a), (int)np * row + 10);
	}
	for (size_t i = 0; i < np; i++) {
		json_object *p = json_object_array_get_idx(probes, i);
		const char *name = json_get_str(p, "name", ""), *phase = json_get_str(p, "phase", "");
		int y = top + (int)i * row;

		fprintf(f, "<text x=\"4\" y=\"%d\" font-size=\"12\">", y + 14);
		html_escape(f, phase);
		fprintf(f, ": ");
		html_escape(f, name);
		fprintf(f, "</text>\n<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n",
			left, y + 10, width - 10, y + 10);
		for (size_t k = 0; k < ne; k++) {
			json_object *ev = json_object_array_get_idx(events, k);
			const struct look *look;
			bool ok;

			if (!json_get(ev, "probe") || strcmp(json_get_str(ev, "probe", ""), name) ||
			    strcmp(json_get_str(ev, "phase", ""), phase))
				continue;
			ok = json_object_get_boolean(json_get(ev, "ok"));
			look = outcome_look(json_get_str(ev, "outcome", ok ? "ok" : "FAIL"));
			fprintf(f, "<rect class=\"%s\" x=\"%.1f\" y=\"%d\" width=\"3\" height=\"14\" fill=\"%s\">"
				"<title>%+.3fs: %s: ", look->cls, X(json_get_int(ev, "ts_ms", t0)) - 1, y + 3,
				look->color, (json_get_int(ev, "ts_ms", t0) - t0) / 1e3, look->word);
			html_escape(f, json_get_str(ev, "detail", ""));
			fprintf(f, "</title></rect>\n");
		}
	}
	for (int s = 0; s <= 4; s++) {
		double t = span * s / 4;

		fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#555\">%.1fs</text>\n",
			X(t0 + t) - 8, height - 8, t / 1e3);
	}
	fprintf(f, "</svg>\n");
#undef X
}

static int write_html(int dir, json_object *run)
{
	json_object *phases = json_get(run, "phases"), *faults = json_get(run, "faults");
	json_object *ttd = json_get(run, "time_to_detect_ms"), *ttr = json_get(run, "time_to_recover_ms");
	json_object *notes = json_get(run, "during_notes");
	const char *v = json_get_str(run, "verdict", "?");
	char ts[40];
	FILE *f = open_in(dir, "report.html");

	if (!f)
		return -errno;
	iso(json_get_int(run, "started_ms", 0), ts, sizeof(ts));
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>tug: ");
	html_escape(f, json_get_str(run, "title", ""));
	fprintf(f, "</title>\n<style>\n"
		"body{font-family:sans-serif;margin:2em;color:#222}\n"
		"table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\n"
		".pass{color:#2e7d32;font-weight:bold}.fail,.refused,.interrupted{color:#c62828;font-weight:bold}\n"
		"</style>\n</head>\n<body>\n<h1>");
	html_escape(f, json_get_str(run, "title", ""));
	fprintf(f, "</h1>\n<p id=\"verdict\" class=\"%s\">Verdict: %s</p>\n",
		!strcmp(v, "pass") ? "pass" : "fail", !strcmp(v, "pass") ? "PASS" : !strcmp(v, "fail") ? "FAIL" : v);
	if (*json_get_str(run, "reason", "")) {
		fprintf(f, "<p>");
		html_escape(f, json_get_str(run, "reason", ""));
		fprintf(f, "</p>\n");
	}
	fprintf(f, "<table>\n<tr><th>run</th><td>");
	html_escape(f, json_get_str(run, "run_id", ""));
	fprintf(f, "</td></tr>\n<tr><th>file</th><td>");
	html_escape(f, json_get_str(run, "file", ""));
	fprintf(f, "</td></tr>\n<tr><th>started</th><td>%s</td></tr>\n<tr><th>risk</th><td>", ts);
	html_escape(f, json_get_str(run, "risk", ""));
	fprintf(f, "</td></tr>\n<tr><th>operator</th><td>");
	html_escape(f, json_get_str(run, "operator", ""));
	fprintf(f, "</td></tr>\n<tr><th>approvers</th><td>");
	for (size_t i = 0; i < json_object_array_length(json_get(run, "approvers")); i++) {
		if (i)
			fprintf(f, ", ");
		html_escape(f, json_object_get_string(json_object_array_get_idx(json_get(run, "approvers"), i)));
	}
	fprintf(f, "</td></tr>\n<tr><th>time to detect</th><td id=\"ttd\">%s%s</td></tr>\n"
		"<tr><th>time to recover</th><td id=\"ttr\">%s%s</td></tr>\n<tr><th>parameters</th><td><code>",
		ttd ? json_object_get_string(ttd) : "-", ttd ? " ms" : "",
		ttr ? json_object_get_string(ttr) : "-", ttr ? " ms" : "");
	html_escape(f, json_line(json_get(run, "parameters")));
	for (size_t i = 0; notes && i < json_object_array_length(notes); i++) {
		fprintf(f, "</code></td></tr>\n<tr><th>seen by the node only</th><td class=\"note\"><code>");
		html_escape(f, json_object_get_string(json_object_array_get_idx(notes, i)));
	}
	fprintf(f, "</code></td></tr>\n</table>\n<h2>Timeline</h2>\n"
		"<p>Probe results against the fault windows (shaded): green passed, blue failed as the "
		"experiment expects (a must-fail probe), grey not yet (not failing or not recovered yet), "
		"red failed.</p>\n");
	svg_timeline(f, run);
	fprintf(f, "<h2>Phases</h2>\n<table>\n<tr><th>phase</th><th>verdict</th><th>duration</th><th>detail</th></tr>\n");
	for (size_t i = 0; phases && i < json_object_array_length(phases); i++) {
		json_object *p = json_object_array_get_idx(phases, i);
		const char *pv = json_get_str(p, "verdict", "");

		fprintf(f, "<tr><td>");
		html_escape(f, json_get_str(p, "name", ""));
		fprintf(f, "</td><td class=\"%s\">", !strcmp(pv, "pass") ? "pass" : "fail");
		html_escape(f, pv);
		fprintf(f, "</td><td>%.3fs</td><td>",
			(json_get_int(p, "finished_ms", 0) - json_get_int(p, "started_ms", 0)) / 1e3);
		html_escape(f, json_get_str(p, "detail", ""));
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table>\n<h2>Faults</h2>\n<table>\n<tr><th>fault</th><th>node</th><th>id</th>"
		"<th>held</th><th>ended by</th><th>counters</th></tr>\n");
	for (size_t i = 0; faults && i < json_object_array_length(faults); i++) {
		json_object *w = json_object_array_get_idx(faults, i);

		fprintf(f, "<tr><td>");
		html_escape(f, json_get_str(w, "fault", ""));
		fprintf(f, "</td><td>");
		html_escape(f, json_get_str(w, "node", ""));
		fprintf(f, "</td><td>");
		html_escape(f, json_get_str(w, "id", ""));
		fprintf(f, "</td><td>%.3fs</td><td>",
			(json_get_int(w, "reverted_ms", 0) - json_get_int(w, "applied_ms", 0)) / 1e3);
		html_escape(f, json_get_str(w, "reason", ""));
		fprintf(f, "</td><td><code>");
		/* A node reboot has no counters: its boot ids and time to SSH. */
		html_escape(f, json_get(w, "counters") ? json_line(json_get(w, "counters")) :
			    json_get(w, "reboot") ? json_line(json_get(w, "reboot")) : "");
		fprintf(f, "</code></td></tr>\n");
	}
	fprintf(f, "</table>\n<p>Every probe result with its timestamp: <a href=\"report.json\">report.json</a>;"
		" for CI: <a href=\"junit.xml\">junit.xml</a>.</p>\n</body>\n</html>\n");
	return safe_file_commit(dir, "report.html", f);
}

int report_dir_check(const char *dir, bool create, char *why, size_t len)
{
	int dfd, err = safe_dir_open(dir, create, &dfd, why, len);

	if (!err)
		close(dfd);
	return !create && err == -ENOENT ? 0 : err;
}

int report_write(const char *dir, json_object *run, char *why, size_t len)
{
	FILE *f;
	int dfd, err = safe_dir_open(dir, true, &dfd, why, len);

	if (err)
		return err;
	f = open_in(dfd, "report.json");
	if (!f) {
		err = -errno;
		goto out;
	}
	fprintf(f, "%s\n", json_object_to_json_string_ext(run, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
	err = safe_file_commit(dfd, "report.json", f);
	err = err ?: write_junit(dfd, run) ?: write_html(dfd, run);
out:
	close(dfd);
	return err;
}
