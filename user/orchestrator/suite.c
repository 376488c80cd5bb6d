// SPDX-License-Identifier: GPL-2.0
/*
 * Suites: experiment files run in order as one, each with its own record
 * and report, then a summary table, suite.json, junit.xml and index.html
 * over them. Apart because a suite is a loop over runs: every file is
 * loaded and every risk covered before the first runs, then each goes
 * through run_execute().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "experiment.h"
#include "json.h"
#include "log.h"
#include "run.h"
#include "run_int.h"
#include "runrec.h"
#include "safefile.h"
#include "sanitize.h"

/* One experiment of a suite: its record when it ran. */
struct suite_row {
	int64_t position;
	const char *file, *risk;
	const char *title, *verdict, *reason;	/* the record's when it ran */
	bool ran;
	struct runrec rec;
};

static void suite_row_set(struct suite_row *row, size_t pos, const char *file, enum risk risk,
			  struct runrec *rec, const char *verdict, const char *reason)
{
	*row = (struct suite_row){ .position = pos, .file = file, .risk = risk_name(risk),
				   .title = file, .verdict = verdict, .reason = reason };
	if (!rec)
		return;
	row->ran = true;
	row->rec = *rec;
	row->title = rec->title ? rec->title : file;
	row->verdict = rec->verdict ? rec->verdict : "?";
	row->reason = rec->reason ? rec->reason : "";
}

static json_object *suite_row_json(const struct suite_row *row)
{
	const struct runrec *rr = &row->rec;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "position", json_object_new_int64(row->position));
	json_object_object_add(o, "file", json_object_new_string(row->file));
	json_object_object_add(o, "title", json_object_new_string(row->title));
	json_object_object_add(o, "risk", json_object_new_string(row->risk));
	json_object_object_add(o, "verdict", json_object_new_string(row->verdict));
	json_object_object_add(o, "reason", json_object_new_string(row->reason));
	if (!row->ran)
		return o;
	if (rr->ttd == RR_TTD_SET)
		json_object_object_add(o, "time_to_detect_ms", json_object_new_int64(rr->ttd_ms));
	if (rr->has_ttr)
		json_object_object_add(o, "time_to_recover_ms", json_object_new_int64(rr->ttr_ms));
	json_object_object_add(o, "faults_held", json_object_new_int64(rr->faults_held));
	json_object_object_add(o, "oom_kills", json_object_new_int64(rr->oom_kills));
	if (rr->rows_verified >= 0)
		json_object_object_add(o, "rows_verified", json_object_new_int64(rr->rows_verified));
	json_object_object_add(o, "notes", json_object_new_string(rr->notes ? rr->notes : ""));
	json_object_object_add(o, "run_id", json_object_new_string(rr->run_id));
	json_object_object_add(o, "report", json_object_new_string(rr->report ? rr->report : ""));
	json_object_object_add(o, "started_ms", json_object_new_int64(rr->started_ms));
	json_object_object_add(o, "finished_ms", json_object_new_int64(rr->finished_ms));
	return o;
}

static const char *ms_cell(bool has, int64_t v, char *buf, size_t len)
{
	if (!has)
		return "-";
	snprintf(buf, len, "%.1fs", v / 1e3);
	return buf;
}

static const char *int_cell(bool has, int64_t v, char *buf, size_t len)
{
	if (!has)
		return "-";
	snprintf(buf, len, "%" PRId64, v);
	return buf;
}

/* The numeric cells of a row: detect, recover, faults, OOM, rows. */
static void row_cells(const struct suite_row *row, char cell[5][32])
{
	const struct runrec *rr = &row->rec;
	const char *c[5] = {
		ms_cell(row->ran && rr->ttd == RR_TTD_SET, rr->ttd_ms, cell[0], 32),
		ms_cell(row->ran && rr->has_ttr, rr->ttr_ms, cell[1], 32),
		int_cell(row->ran, rr->faults_held, cell[2], 32),
		int_cell(row->ran, rr->oom_kills, cell[3], 32),
		int_cell(row->ran && rr->rows_verified >= 0, rr->rows_verified, cell[4], 32),
	};

	for (size_t i = 0; i < 5; i++)
		if (c[i] != cell[i])
			snprintf(cell[i], 32, "%s", c[i]);
}

static const char *row_notes(const struct suite_row *row)
{
	return row->ran && row->rec.notes ? row->rec.notes : "";
}

/* The summary table: experiment, verdict, time to detect, time to recover,
 * faults held, OOM kills seen, rows verified; notes and reasons below. */
static void suite_print(FILE *f, const struct suite_row *rows, size_t n)
{
	char c[5][32];

	fprintf(f, "\n %-2s %-40s %-6s %-11s %7s %8s %6s %4s %6s\n", "#", "experiment", "risk", "verdict",
		"detect", "recover", "faults", "OOM", "rows");
	for (size_t i = 0; i < n; i++) {
		const char *v = rows[i].verdict;

		row_cells(&rows[i], c);
		fprintf(f, " %-2zu %-40.40s %-6s %-11s %7s %8s %6s %4s %6s\n", i + 1, rows[i].title,
			rows[i].risk, !strcmp(v, "pass") ? "PASS" : !strcmp(v, "fail") ? "FAIL" : v,
			c[0], c[1], c[2], c[3], c[4]);
	}
	for (size_t i = 0; i < n; i++) {
		const char *notes = row_notes(&rows[i]), *why = rows[i].reason;

		if (*notes) {
			fprintf(f, " %zu: ", i + 1);
			term_fputs(notes, f);
			fputc('\n', f);
		}
		if (*why) {
			fprintf(f, " %zu: %s: ", i + 1, rows[i].verdict);
			term_fputs(why, f);
			fputc('\n', f);
		}
	}
}

/* suite.json, junit.xml (one test case per experiment) and index.html. */
static int suite_write(const char *dir, json_object *suite, const struct suite_row *rows, size_t n,
		       char *why, size_t len)
{
	size_t fails = 0;
	FILE *f = NULL;
	int dfd, err = safe_dir_open(dir, true, &dfd, why, len);

	if (err)
		return err;
	err = safe_file_create(dfd, "suite.json", 0644, &f);
	if (err)
		goto out;
	fprintf(f, "%s\n", json_object_to_json_string_ext(suite, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	err = safe_file_commit(dfd, "suite.json", f);
	for (size_t i = 0; i < n; i++)
		fails += strcmp(rows[i].verdict, "pass") != 0;
	if (!err)
		err = safe_file_create(dfd, "junit.xml", 0644, &f);
	if (err)
		goto out;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
		   "  <testsuite name=\"");
	html_escape(f, json_get_str(suite, "title", "suite"));
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\">\n", n, fails);
	for (size_t i = 0; i < n; i++) {
		const struct suite_row *r = &rows[i];
		int64_t t = r->ran ? r->rec.finished_ms - r->rec.started_ms : 0;

		fprintf(f, "    <testcase classname=\"tug.suite\" name=\"");
		html_escape(f, r->title);
		fprintf(f, "\" time=\"%.3f\">", t > 0 ? t / 1e3 : 0.0);
		if (strcmp(r->verdict, "pass")) {
			fprintf(f, "<failure message=\"");
			html_escape(f, r->reason);
			fprintf(f, "\"/>");
		}
		fprintf(f, "</testcase>\n");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	err = safe_file_commit(dfd, "junit.xml", f) ?: safe_file_create(dfd, "index.html", 0644, &f);
	if (err)
		goto out;
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
	html_escape(f, json_get_str(suite, "title", "suite"));
	fprintf(f, "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
		   "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.pass{color:#070}"
		   ".fail,.refused,.interrupted,.not-run{color:#b00;font-weight:bold}</style></head><body>\n<h1>");
	html_escape(f, json_get_str(suite, "title", "suite"));
	fprintf(f, "</h1>\n<p>Verdict: <span class=\"%s\">%s</span>; operator ",
		fails ? "fail" : "pass", fails ? "FAIL" : "PASS");
	html_escape(f, json_get_str(suite, "operator", "?"));
	fprintf(f, "; approvers ");
	html_escape(f, json_line(json_get(suite, "approvers")));
	fprintf(f, "</p>\n<table><tr><th>#</th><th>experiment</th><th>risk</th><th>verdict</th>"
		   "<th>time to detect</th><th>time to recover</th><th>faults held</th>"
		   "<th>OOM kills</th><th>rows verified</th><th>notes</th></tr>\n");
	for (size_t i = 0; i < n; i++) {
		const struct suite_row *r = &rows[i];
		const char *v = r->verdict, *rep = r->ran && r->rec.report ? r->rec.report : "";
		const char *base = strrchr(rep, '/'), *notes = row_notes(r);
		char c[5][32];

		fprintf(f, "<tr><td>%zu</td><td>", i + 1);
		if (*rep) {
			fprintf(f, "<a href=\"");
			html_escape(f, base ? base + 1 : rep);
			fprintf(f, "/report.html\">");
		}
		html_escape(f, r->title);
		row_cells(r, c);
		fprintf(f, "%s</td><td>%s</td><td class=\"%s\">%s</td><td>%s</td><td>%s</td><td>%s</td>"
			   "<td>%s</td><td>%s</td><td>", *rep ? "</a>" : "", r->risk, v, v,
			c[0], c[1], c[2], c[3], c[4]);
		html_escape(f, notes);
		if (*r->reason) {
			fprintf(f, "%s", *notes ? "<br>" : "");
			html_escape(f, r->reason);
		}
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table>\n</body></html>\n");
	err = safe_file_commit(dfd, "index.html", f);
out:
	close(dfd);
	return err;
}

int run_suite(const struct run_opts *base, const struct tug_config *cfg, const char *path,
	      const char *report, bool dry_run)
{
	struct suite *su = NULL;
	struct experiment **es = NULL;
	enum risk *risks = NULL;
	struct exp_errors errs;
	json_object *suite = NULL, *rows_json;
	struct suite_row *rows = NULL;
	char dir[512], name[64], sid[40], pwhy[256], why[512];
	size_t bad = 0;
	uint64_t rnd[2];
	time_t now = time(NULL);
	int err, ret = 2;

	err = suite_load(path, base->vars, base->nvars, &su, &errs);
	if (err == -EINVAL) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("%s", errs.msg[i]);
		log_error("%s: not run; nothing was touched", path);
		return 2;
	}
	if (err) {
		log_errno(err, "cannot read %s", path);
		return 2;
	}
	es = calloc(su->nentries, sizeof(*es));
	risks = calloc(su->nentries, sizeof(*risks));
	if (!es || !risks)
		goto out;
	/* Every file valid, every risk covered, before anything is touched. */
	for (size_t i = 0; i < su->nentries; i++) {
		const struct suite_entry *en = &su->entries[i];
		size_t nv = su->nvars + en->nvars + base->nvars;
		struct exp_var *v = calloc(nv ? nv : 1, sizeof(*v));

		if (!v)
			goto out;
		/* memcpy from NULL is undefined even for 0 bytes (UBSan says so). */
		if (su->nvars)
			memcpy(v, su->vars, su->nvars * sizeof(*v));
		if (en->nvars)
			memcpy(v + su->nvars, en->vars, en->nvars * sizeof(*v));
		for (size_t k = 0; k < base->nvars; k++)
			v[su->nvars + en->nvars + k] = (struct exp_var){ base->vars[k].name,
									 base->vars[k].value, true };
		err = experiment_load(en->file, v, nv, &es[i], &errs);
		free(v);
		if (err == -EINVAL) {
			for (size_t k = 0; k < errs.n; k++)
				log_error("%s", errs.msg[k]);
			bad++;
			continue;
		}
		if (err) {
			log_errno(err, "%s:%d:%d: cannot read %s", su->file, en->line, en->col, en->file);
			bad++;
			continue;
		}
		if (en->risk < es[i]->risk) {
			log_error("%s:%d:%d: %s is %s risk; the suite says %s: a suite may raise an "
				  "experiment's risk, never lower it", su->file, en->line, en->col, en->file,
				  risk_name(es[i]->risk), risk_name(en->risk));
			bad++;
		}
		risks[i] = es[i]->risk = en->risk > es[i]->risk ? en->risk : es[i]->risk;
	}
	for (size_t k = 0; k < base->nvars && !bad; k++) {
		bool used = false;

		for (size_t i = 0; i < su->nentries; i++)
			used |= json_object_object_get_ex(es[i]->variables, base->vars[k].name, NULL);
		for (size_t i = 0; i < su->nvars && !used; i++)
			used |= i < su->ndeclared && !strcmp(su->vars[i].name, base->vars[k].name);
		if (!used) {
			log_error("--var %s: neither the suite nor any of its experiments declares it",
				  base->vars[k].name);
			bad++;
		}
	}
	if (bad) {
		log_error("%s: not run; nothing was touched", path);
		goto out;
	}
	if (dry_run) {
		printf("suite '%s' (%s): %zu experiments\n", su->title, su->file, su->nentries);
		for (size_t i = 0; i < su->nentries; i++) {
			const char *refusal = policy_refusal(cfg, risks[i], base->approvers,
							     base->napprovers, pwhy, sizeof(pwhy));

			printf("\n[%zu/%zu] ", i + 1, su->nentries);
			plan_print(es[i], base->approvers, base->napprovers, base->operator, refusal);
			bad += !!refusal;
		}
		/* 1: a CI job that validates files tells a refused plan from a runnable one */
		ret = bad ? EXIT_FAILURE : EXIT_SUCCESS;
		goto out;
	}
	for (size_t i = 0; i < su->nentries; i++) {
		if (policy_refusal(cfg, risks[i], base->approvers, base->napprovers, pwhy, sizeof(pwhy))) {
			log_error("refused: '%s' (%s) %s", es[i]->title, su->entries[i].file, pwhy);
			bad++;
		}
	}
	if (bad) {
		log_error("the suite '%s' was refused; nothing was touched", su->title);
		goto out;
	}

	getrandom(rnd, sizeof(rnd), 0);
	snprintf(sid, sizeof(sid), "%016" PRIx64 "%016" PRIx64, rnd[0], rnd[1]);
	run_report_dir(report, su->title, now, dir, sizeof(dir));
	err = report_dir_check(dir, true, why, sizeof(why));
	if (err) {
		if (err == -EPERM)
			log_error("--report: %s; nothing was touched", why);
		else
			log_errno(err, "cannot create the report directory %s", dir);
		goto out;
	}
	suite = json_object_new_object();
	rows = calloc(su->nentries, sizeof(*rows));
	if (!rows) {
		ret = 2;
		log_error("out of memory; nothing was touched");
		goto out;
	}
	{
		json_object *a = json_object_new_array();

		for (size_t i = 0; i < base->napprovers; i++)
			if (policy_approver_distinct(base->approvers, i))
				json_object_array_add(a, json_object_new_string(base->approvers[i]));
		json_object_object_add(suite, "suite_id", json_object_new_string(sid));
		json_object_object_add(suite, "title", json_object_new_string(su->title));
		json_object_object_add(suite, "file", json_object_new_string(su->file));
		json_object_object_add(suite, "operator", json_object_new_string(base->operator));
		json_object_object_add(suite, "approvers", a);
		json_object_object_add(suite, "started_ms", json_object_new_int64(run_ms(now_realtime_ns())));
	}
	if (!base->json)
		printf("suite '%s': %zu experiments, run %s, report %s\n", su->title, su->nentries, sid, dir);
	ret = EXIT_SUCCESS;
	for (size_t i = 0; i < su->nentries; i++) {
		struct run_opts o = *base;
		struct runrec rec;
		char sub[600];
		int r;

		if (run_interrupted) {
			suite_row_set(&rows[i], i + 1, su->entries[i].file, risks[i], NULL, "not-run",
				      "the suite was interrupted");
			continue;
		}
		o.suite_id = sid;
		o.suite_title = su->title;
		o.suite_position = i + 1;
		run_slug(es[i]->title, name, sizeof(name));
		snprintf(sub, sizeof(sub), "%s/%02zu-%s", dir, i + 1, name);
		if (!base->json)
			printf("\n=== [%zu/%zu] %s (%s risk)\n", i + 1, su->nentries, es[i]->title,
			       risk_name(risks[i]));
		fflush(stdout);
		r = run_execute(&o, es[i], su->entries[i].file, sub, &rec);
		suite_row_set(&rows[i], i + 1, su->entries[i].file, risks[i], &rec,
			      r == 2 ? "refused" : "fail", r == 2 ? "see the log" : "");
		/* A refused or failed experiment fails the suite; 2 stays for
		 * the suite's own command line and file, refused before any ran. */
		if (r)
			ret = EXIT_FAILURE;
	}
	rows_json = json_object_new_array();
	for (size_t i = 0; i < su->nentries; i++)
		json_object_array_add(rows_json, suite_row_json(&rows[i]));
	json_object_object_add(suite, "experiments", rows_json);
	json_object_object_add(suite, "finished_ms", json_object_new_int64(run_ms(now_realtime_ns())));
	json_object_object_add(suite, "verdict", json_object_new_string(
		run_interrupted ? "interrupted" : ret ? "fail" : "pass"));
	err = suite_write(dir, suite, rows, su->nentries, why, sizeof(why));
	if (err == -EPERM) {
		log_error("the suite report was not written: %s", why);
		ret = EXIT_FAILURE;
	} else if (err) {
		log_errno(err, "cannot write the suite report to %s", dir);
		ret = EXIT_FAILURE;
	}
	if (base->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "event", json_object_new_string("suite"));
		json_object_object_add(o, "suite", json_object_get(suite));
		printf("%s\n", json_line(o));
		json_object_put(o);
	} else {
		printf("\n== summary of suite '%s' (run %s): %s\n", su->title, sid,
		       run_interrupted ? "INTERRUPTED" : ret ? "FAIL" : "PASS");
		suite_print(stdout, rows, su->nentries);
		printf("\nreport: %s/index.html (each experiment: %s/NN-*/report.html)\n", dir, dir);
	}
	fflush(stdout);
out:
	for (size_t i = 0; rows && i < su->nentries; i++)
		if (rows[i].ran)
			runrec_free(&rows[i].rec);
	free(rows);
	json_object_put(suite);
	for (size_t i = 0; es && i < su->nentries; i++)
		experiment_free(es[i]);
	free(es);
	free(risks);
	suite_free(su);
	return ret;
}
