// SPDX-License-Identifier: GPL-2.0
/*
 * Experiment files into the model of experiment.h, in three passes:
 *   1. text -> a generic tree (struct xnode) that keeps line and column:
 *      YAML through libyaml's event parser; JSON is checked by json-c
 *      (its syntax errors located from the tokener's offset) and, being
 *      valid, is walked by libyaml too for the positions;
 *   2. ${var} substitution in every scalar, from `variables:` and --var;
 *   3. the tree into struct experiment, every key and value checked.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "commands.h"
#include "experiment.h"
#include "fault.h"
#include "parse.h"
#include "conninfo.h"
#include "sanitize.h"

#define MAX_FILE_SIZE (4 << 20)
#define MAX_DEPTH 64
#define MAX_ITEMS 4096

enum xkind { X_SCALAR, X_MAP, X_SEQ };

struct xnode {
	enum xkind kind;
	int line, col;
	char *str;		/* scalar */
	bool quoted;		/* a quoted scalar: never null/bool */
	size_t n;
	struct xnode **k;	/* map keys (scalars) */
	struct xnode **v;	/* map values, sequence items */
};

struct ctx {
	const char *file;
	struct exp_errors *errs;
	int err;
	const struct exp_var *vars;
	size_t nvars;
	struct xnode *varmap;	/* `variables:` of the file */
	struct experiment *e;
};

static void xfree(struct xnode *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++) {
		if (x->k)
			xfree(x->k[i]);
		xfree(x->v[i]);
	}
	free(x->k);
	free(x->v);
	free(x->str);
	free(x);
}

__attribute__((format(printf, 4, 5)))
static int fail_at(struct ctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int off;

	c->err = -EINVAL;
	if (c->errs->n >= EXP_MAX_ERRORS)
		return -EINVAL;
	off = snprintf(c->errs->msg[c->errs->n], sizeof(c->errs->msg[0]), "%s:%d:%d: ",
		       c->file, line, col);
	va_start(ap, fmt);
	vsnprintf(c->errs->msg[c->errs->n] + off, sizeof(c->errs->msg[0]) - off, fmt, ap);
	va_end(ap);
	c->errs->n++;
	return -EINVAL;
}

#define fail(c, x, ...) fail_at((c), (x)->line, (x)->col, __VA_ARGS__)

static const char *kind_name(const struct xnode *x)
{
	return x->kind == X_MAP ? "a mapping" : x->kind == X_SEQ ? "a list" : "a scalar";
}

/* ---- pass 1: YAML events -> tree ---- */

static int xpush(struct xnode *parent, struct xnode *key, struct xnode *val)
{
	struct xnode **v, **k;

	if (parent->n >= MAX_ITEMS)
		return -E2BIG;
	v = realloc(parent->v, (parent->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	parent->v = v;
	if (parent->kind == X_MAP) {
		k = realloc(parent->k, (parent->n + 1) * sizeof(*k));
		if (!k)
			return -ENOMEM;
		parent->k = k;
		parent->k[parent->n] = key;
	}
	parent->v[parent->n++] = val;
	return 0;
}

static struct xnode *xnew(enum xkind kind, const yaml_mark_t *m)
{
	struct xnode *x = calloc(1, sizeof(*x));

	if (x) {
		x->kind = kind;
		x->line = m->line + 1;
		x->col = m->column + 1;
	}
	return x;
}

/* Build the value that starts with event ev (already parsed). */
static int yaml_value(struct ctx *c, yaml_parser_t *p, yaml_event_t *ev, int depth,
		      struct xnode **ret)
{
	struct xnode *x = NULL, *key = NULL, *val = NULL;
	yaml_event_t e;
	int err;

	if (depth > MAX_DEPTH)
		return fail_at(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
			       "nested deeper than %d levels", MAX_DEPTH);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		x = xnew(X_SCALAR, &ev->start_mark);
		if (!x)
			return -ENOMEM;
		x->str = strndup((char *)ev->data.scalar.value, ev->data.scalar.length);
		if (!x->str || strlen(x->str) != ev->data.scalar.length) {
			int line = x->line, col = x->col;
			bool nul = x->str;

			xfree(x);
			return nul ? fail_at(c, line, col, "a NUL character inside a value") : -ENOMEM;
		}
		x->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		*ret = x;
		return 0;
	case YAML_ALIAS_EVENT:
		return fail_at(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
			       "aliases (*name) are not supported; write the value out");
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		break;
	default:
		return fail_at(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
			       "unexpected YAML event");
	}
	x = xnew(ev->type == YAML_MAPPING_START_EVENT ? X_MAP : X_SEQ, &ev->start_mark);
	if (!x)
		return -ENOMEM;
	for (;;) {
		if (!yaml_parser_parse(p, &e)) {
			err = fail_at(c, p->problem_mark.line + 1, p->problem_mark.column + 1,
				      "YAML: %s%s%s", p->problem ? p->problem : "syntax error",
				      p->context ? " " : "", p->context ? p->context : "");
			goto fail;
		}
		if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&e);
			break;
		}
		err = yaml_value(c, p, &e, depth + 1, x->kind == X_MAP && !key ? &key : &val);
		yaml_event_delete(&e);
		if (err)
			goto fail;
		if (x->kind == X_MAP && !val) {
			if (key->kind != X_SCALAR) {
				err = fail(c, key, "a mapping key must be a plain name, not %s",
					   kind_name(key));
				goto fail;
			}
			for (size_t i = 0; i < x->n; i++)
				if (!strcmp(x->k[i]->str, key->str)) {
					err = fail(c, key, "duplicate key '%s' (first at line %d)",
						   key->str, x->k[i]->line);
					goto fail;
				}
			continue;
		}
		err = xpush(x, key, val);
		if (err)
			goto fail;
		key = val = NULL;
	}
	*ret = x;
	return 0;
fail:
	xfree(key);
	xfree(val);
	xfree(x);
	return err;
}

static int yaml_tree(struct ctx *c, const char *text, size_t len, struct xnode **ret)
{
	yaml_parser_t p;
	yaml_event_t e;
	struct xnode *root = NULL;
	int err = 0;

	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	for (;;) {
		if (!yaml_parser_parse(&p, &e)) {
			err = fail_at(c, p.problem_mark.line + 1, p.problem_mark.column + 1,
				      "YAML: %s%s%s", p.problem ? p.problem : "syntax error",
				      p.context ? " " : "", p.context ? p.context : "");
			break;
		}
		if (e.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&e);
			break;
		}
		if (e.type == YAML_SEQUENCE_START_EVENT || e.type == YAML_MAPPING_START_EVENT ||
		    e.type == YAML_SCALAR_EVENT || e.type == YAML_ALIAS_EVENT) {
			if (root) {
				err = fail_at(c, e.start_mark.line + 1, e.start_mark.column + 1,
					      "a second document; an experiment file holds one");
				yaml_event_delete(&e);
				break;
			}
			err = yaml_value(c, &p, &e, 0, &root);
		}
		yaml_event_delete(&e);
		if (err)
			break;
	}
	yaml_parser_delete(&p);
	if (!err && !root)
		err = fail_at(c, 1, 1, "the file is empty; expected a mapping with title, nodes, method");
	if (err) {
		xfree(root);
		return err;
	}
	*ret = root;
	return 0;
}

/* JSON: json-c is the judge of syntax; its error offset becomes line:col. */
static int json_check(struct ctx *c, const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
	enum json_tokener_error jerr;
	json_object *o;
	size_t off, line = 1, col = 1;
	int err = 0;

	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, len);
	jerr = json_tokener_get_error(tok);
	off = json_tokener_get_parse_end(tok);
	if (!o && jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	if (o && off < len) {
		/* Only white space may follow the value. */
		while (off < len && isspace((unsigned char)text[off]))
			off++;
		if (off < len)
			jerr = json_tokener_error_parse_unexpected;
	}
	if (jerr != json_tokener_success) {
		for (size_t i = 0; i < off && i < len; i++) {
			if (text[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		err = fail_at(c, line, col, "JSON: %s", json_tokener_error_desc(jerr));
	}
	json_object_put(o);
	json_tokener_free(tok);
	return err;
}

/* ---- pass 2: variables ---- */

static const char *var_lookup(struct ctx *c, const char *name, size_t len, bool *declared)
{
	const char *v = NULL;

	*declared = false;
	if (c->varmap)
		for (size_t i = 0; i < c->varmap->n; i++)
			if (strlen(c->varmap->k[i]->str) == len &&
			    !strncmp(c->varmap->k[i]->str, name, len)) {
				*declared = true;
				v = c->varmap->v[i]->kind == X_SCALAR ? c->varmap->v[i]->str : NULL;
			}
	for (size_t i = 0; i < c->nvars; i++)
		if (strlen(c->vars[i].name) == len && !strncmp(c->vars[i].name, name, len) &&
		    (*declared || !c->vars[i].optional)) {
			*declared = true;
			v = c->vars[i].value;
		}
	return v;
}

/* A value substituted into a shell command (action:, run:) is quoted as
 * one word, so --var x='1; rm -rf /' stays data; ${raw:name} is the value
 * as written, for the rare command that needs its words split. */
static int subst_scalar(struct ctx *c, struct xnode *x, bool shell)
{
	size_t cap = strlen(x->str) + 1, n = 0;
	char *out = malloc(cap), *s = x->str, *quoted = NULL;
	bool changed = false;

	if (!out)
		return -ENOMEM;
	while (*s) {
		const char *add = s, *end;
		size_t alen = 1;

		if (s[0] == '$' && s[1] == '$') {
			s += 2;
			changed = true;
		} else if (s[0] == '$' && s[1] == '{') {
			const char *name = s + 2;
			bool declared, raw;

			end = strchr(s + 2, '}');
			if (!end || end == s + 2) {
				free(out);
				free(quoted);
				return fail(c, x, "'%s': unterminated or empty ${...}; expected ${name}",
					    x->str);
			}
			raw = !strncmp(name, "raw:", 4) && end > name + 4;
			if (raw)
				name += 4;
			add = var_lookup(c, name, end - name, &declared);
			if (!add) {
				int len = (int)(end - name);

				free(out);
				free(quoted);
				if (declared)
					return fail(c, x, "variable '%.*s' has no value; give it one "
						    "with --var %.*s=VALUE", len, name, len, name);
				return fail(c, x, "unknown variable '%.*s'; declare it under "
					    "'variables:' or give --var %.*s=VALUE", len, name, len, name);
			}
			if (shell && !raw) {
				free(quoted);
				quoted = sh_quote(add);
				if (!quoted) {
					free(out);
					return -ENOMEM;
				}
				add = quoted;
			}
			alen = strlen(add);
			s = (char *)end + 1;
			changed = true;
		} else {
			s++;
		}
		if (n + alen + 1 > cap) {
			char *o;

			cap = (n + alen + 1) * 2;
			o = realloc(out, cap);
			if (!o) {
				free(out);
				free(quoted);
				return -ENOMEM;
			}
			out = o;
		}
		memcpy(out + n, add, alen);
		n += alen;
	}
	free(quoted);
	out[n] = '\0';
	if (!changed) {
		free(out);
		return 0;
	}
	free(x->str);
	x->str = out;
	x->quoted = true;	/* a substituted value is a string */
	return 0;
}

/* Values reach terminals, shells and reports: text only, with tabs and
 * newlines (a multi-line command), never an escape sequence. */
static int scalar_text_check(struct ctx *c, struct xnode *x)
{
	for (const unsigned char *p = (const unsigned char *)x->str; *p; p++)
		if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
			return fail(c, x, "a control character (0x%02x) in a value; experiment files "
				    "hold text (tabs and newlines allowed)", *p);
	return 0;
}

static int subst_tree(struct ctx *c, struct xnode *x, bool shell)
{
	int err = 0;

	if (x == c->varmap)
		return 0;
	if (x->kind == X_SCALAR)
		return subst_scalar(c, x, shell) ?: scalar_text_check(c, x);
	for (size_t i = 0; i < x->n; i++) {
		bool sh = x->kind == X_MAP && x->k && (!strcmp(x->k[i]->str, "action") ||
							 !strcmp(x->k[i]->str, "run"));
		int r = subst_tree(c, x->v[i], sh);

		if (r == -ENOMEM)
			return r;
		err = err ?: r;
	}
	return err;
}

/* ---- pass 3: the model ---- */

static struct xnode *map_get(struct xnode *m, const char *key)
{
	if (!m || m->kind != X_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->k[i]->str, key))
			return m->v[i];
	return NULL;
}

/* Every key of m must be in the NULL-terminated list `known`. */
static int check_keys(struct ctx *c, struct xnode *m, const char *what, const char *const *known)
{
	int err = 0;

	for (size_t i = 0; i < m->n; i++) {
		const char *const *k;
		char list[256] = "";
		size_t off = 0;

		for (k = known; *k && strcmp(*k, m->k[i]->str); k++)
			;
		if (*k)
			continue;
		for (k = known; *k && off < sizeof(list); k++)
			off += snprintf(list + off, sizeof(list) - off, "%s%s", k == known ? "" : ", ", *k);
		err = fail(c, m->k[i], "unknown key '%s' in %s; expected one of: %s",
			   m->k[i]->str, what, list);
	}
	return err;
}

static int get_str(struct ctx *c, struct xnode *m, const char *key, bool required,
		   const char *what, char **ret)
{
	struct xnode *x = map_get(m, key);

	if (!x) {
		if (required)
			return fail(c, m, "%s needs '%s'", what, key);
		return 0;
	}
	if (x->kind != X_SCALAR)
		return fail(c, x, "'%s' of %s: expected a string, found %s", key, what, kind_name(x));
	if (!x->quoted && (!strcmp(x->str, "~") || !strcmp(x->str, "null") || !*x->str)) {
		if (required)
			return fail(c, x, "'%s' of %s: expected a value, found nothing", key, what);
		return 0;
	}
	*ret = strdup(x->str);
	return *ret ? 0 : -ENOMEM;
}

static int get_uint(struct ctx *c, struct xnode *m, const char *key, uint64_t min, uint64_t max,
		    const char *what, uint64_t *ret)
{
	struct xnode *x = map_get(m, key);

	if (!x)
		return 0;
	if (x->kind != X_SCALAR || parse_uint(x->str, min, max, ret))
		return fail(c, x, "'%s' of %s: expected a whole number %" PRIu64 "..%" PRIu64 ", found '%s'",
			    key, what, min, max, x->kind == X_SCALAR ? x->str : kind_name(x));
	return 0;
}

static int get_duration(struct ctx *c, struct xnode *m, const char *key, bool nonzero,
			const char *what, uint64_t *ret)
{
	struct xnode *x = map_get(m, key);
	uint64_t v;

	if (!x)
		return 0;
	if (x->kind != X_SCALAR || parse_duration(x->str, &v) || (nonzero && !v))
		return fail(c, x, "'%s' of %s: expected a duration like 250ms, 30s or 5m, found '%s'",
			    key, what, x->kind == X_SCALAR ? x->str : kind_name(x));
	*ret = v;
	return 0;
}

static int get_bool(struct ctx *c, struct xnode *m, const char *key, const char *what, bool *ret)
{
	struct xnode *x = map_get(m, key);

	if (!x)
		return 0;
	if (x->kind == X_SCALAR && (!strcmp(x->str, "true") || !strcmp(x->str, "yes"))) {
		*ret = true;
		return 0;
	}
	if (x->kind == X_SCALAR && (!strcmp(x->str, "false") || !strcmp(x->str, "no"))) {
		*ret = false;
		return 0;
	}
	return fail(c, x, "'%s' of %s: expected true or false, found '%s'", key, what,
		    x->kind == X_SCALAR ? x->str : kind_name(x));
}

static int find_node(struct ctx *c, struct xnode *m, const char *what, int *ret)
{
	struct xnode *x = map_get(m, "node");

	if (!x)
		return fail(c, m, "%s needs 'node' (the name of one of 'nodes')", what);
	if (x->kind == X_SCALAR)
		for (size_t i = 0; i < c->e->nnodes; i++)
			if (!strcmp(c->e->nodes[i].name, x->str)) {
				*ret = i;
				return 0;
			}
	return fail(c, x, "%s: node '%s' is not one of 'nodes'", what,
		    x->kind == X_SCALAR ? x->str : kind_name(x));
}

static int parse_nodes(struct ctx *c, struct xnode *x)
{
	static const char *const keys[] = { "name", "host", "port", "user", "key", "agent",
					    "known-hosts", "tug", NULL };
	int err = 0;

	if (x->kind != X_SEQ)
		return fail(c, x, "'nodes': expected a list of nodes, found %s", kind_name(x));
	c->e->nodes = calloc(x->n ? x->n : 1, sizeof(*c->e->nodes));
	if (!c->e->nodes)
		return -ENOMEM;
	for (size_t i = 0; i < x->n; i++) {
		struct xnode *m = x->v[i];
		struct exp_node *n = &c->e->nodes[c->e->nnodes];
		uint64_t port = 22;
		bool agent = false;

		if (m->kind != X_MAP) {
			err = fail(c, m, "a node: expected a mapping with name and host, found %s",
				   kind_name(m));
			continue;
		}
		n->line = m->line;
		n->col = m->col;
		c->e->nnodes++;
		err = check_keys(c, m, "a node", keys) ?: err;
		err = get_str(c, m, "name", true, "a node", &n->name) ?: err;
		err = get_str(c, m, "host", true, "a node", &n->host) ?: err;
		err = get_uint(c, m, "port", 1, 65535, "a node", &port) ?: err;
		err = get_str(c, m, "user", false, "a node", &n->user) ?: err;
		err = get_str(c, m, "key", false, "a node", &n->key) ?: err;
		err = get_bool(c, m, "agent", "a node", &agent) ?: err;
		err = get_str(c, m, "known-hosts", false, "a node", &n->known_hosts) ?: err;
		err = get_str(c, m, "tug", false, "a node", &n->tug) ?: err;
		n->port = port;
		if (!n->tug && !(n->tug = strdup("tug")))
			return -ENOMEM;
		n->local = n->host && !strcmp(n->host, "local");
		if (!n->name || !n->host)
			continue;
		if (!n->local && !n->user)
			err = fail(c, m, "node '%s': 'user' is needed for SSH (or host: local)", n->name);
		if (!n->local && !n->key && !agent)
			err = fail(c, m, "node '%s': give 'key: FILE' or 'agent: true' for SSH", n->name);
		if (n->key && agent)
			err = fail(c, m, "node '%s': 'key' and 'agent: true' exclude each other", n->name);
		for (size_t j = 0; j + 1 < c->e->nnodes; j++)
			if (c->e->nodes[j].name && !strcmp(c->e->nodes[j].name, n->name))
				err = fail(c, m, "node name '%s' is used twice (first at line %d)",
					   n->name, c->e->nodes[j].line);
	}
	return err;
}

static int check_http_url(struct ctx *c, struct xnode *m, const char *what, const char *url)
{
	if (url && strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return fail(c, map_get(m, "url"), "%s: 'url' must start with http:// or https://", what);
	return 0;
}

/* m[key] one of names (NULL-terminated), its index in *ret; absent: untouched. */
static int get_choice(struct ctx *c, struct xnode *m, const char *key, const char *what,
		      const char *const *names, const char *expected, int *ret)
{
	struct xnode *x = map_get(m, key);

	if (!x)
		return 0;
	for (int i = 0; x->kind == X_SCALAR && names[i]; i++)
		if (!strcmp(x->str, names[i])) {
			*ret = i;
			return 0;
		}
	return fail(c, x, "'%s' of %s: expected %s, found '%s'", key, what, expected,
		    x->kind == X_SCALAR ? x->str : kind_name(x));
}

/* Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*. */
static bool label_name_ok(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return false;
	return true;
}

static int parse_alert(struct ctx *c, struct xnode *m, const char *what, struct exp_probe *p)
{
	static const char *const sources[] = { "alertmanager", "prometheus", NULL };
	struct xnode *l = map_get(m, "labels");
	int src = -1, st = ALERT_FIRING, err = 0;
	size_t k;

	err = get_str(c, m, "url", true, what, &p->url) ?: err;
	err = check_http_url(c, m, what, p->url) ?: err;
	err = get_str(c, m, "alert", true, what, &p->alert) ?: err;
	err = get_str(c, m, "ca-file", false, what, &p->ca_file) ?: err;
	err = get_choice(c, m, "source", what, sources, "alertmanager or prometheus", &src) ?: err;
	err = get_choice(c, m, "state", what, (const char *const[]){ alert_state_name(ALERT_FIRING),
				 alert_state_name(ALERT_INACTIVE), alert_state_name(ALERT_PENDING), NULL },
			 "firing, inactive or pending", &st) ?: err;
	p->source = src < 0 ? ALERT_SOURCE_DETECT : ALERT_SOURCE_ALERTMANAGER + src;
	p->alert_state = st;
	/* The name goes into Alertmanager's filter="..." matcher. */
	if (p->alert && strpbrk(p->alert, "\"\\"))
		err = fail(c, map_get(m, "alert"), "%s: 'alert' is an alert name; found a quote or "
			   "backslash in '%s'", what, p->alert);
	if (p->alert_state == ALERT_PENDING && p->source != ALERT_SOURCE_PROMETHEUS)
		err = fail(c, map_get(m, "state"), "%s: 'state: pending' is Prometheus's; add "
			   "'source: prometheus' (Alertmanager sees firing alerts only)", what);
	if (!l)
		return err;
	if (l->kind != X_MAP)
		return fail(c, l, "'labels' of %s: expected a mapping of label names to values "
			    "({job: gateway}), found %s", what, kind_name(l));
	p->label_keys = calloc(l->n + 1, sizeof(char *));
	p->label_vals = calloc(l->n + 1, sizeof(char *));
	if (!p->label_keys || !p->label_vals)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		if (!label_name_ok(l->k[i]->str))
			err = fail(c, l->k[i], "'labels' of %s: '%s' is not a label name "
				   "([a-zA-Z_][a-zA-Z0-9_]*)", what, l->k[i]->str);
		if (l->v[i]->kind != X_SCALAR) {
			err = fail(c, l->v[i], "'labels' of %s: the value of '%s' must be a string, "
				   "found %s", what, l->k[i]->str, kind_name(l->v[i]));
			continue;
		}
		k = p->nlabels++;
		p->label_keys[k] = strdup(l->k[i]->str);
		p->label_vals[k] = strdup(l->v[i]->str);
		if (!p->label_keys[k] || !p->label_vals[k])
			return -ENOMEM;
	}
	return err;
}

static int parse_probe(struct ctx *c, struct xnode *m, bool during, struct exp_probe *p)
{
	static const char *const common[] = { "name", "type", "interval", "timeout", "retries",
					      "must", "within", NULL };
	static const char *const http[] = { "url", "status", "body-contains", "json-field",
					    "expect", "ca-file", "max-latency", NULL };
	static const char *const tcp[] = { "host", "port", NULL };
	static const char *const sql[] = { "conninfo", "query", "expect", NULL };
	static const char *const cmd[] = { "node", "run", "exit-code", "output-contains", NULL };
	static const char *const prom[] = { "url", "query", "expect", NULL };
	static const char *const alert[] = { "url", "alert", "labels", "state", "source", "ca-file", NULL };
	static const struct { const char *name; enum probe_type t; const char *const *keys; } types[] = {
		{ "http", PROBE_HTTP, http }, { "tcp", PROBE_TCP, tcp }, { "sql", PROBE_SQL, sql },
		{ "cmd", PROBE_CMD, cmd }, { "prometheus", PROBE_PROMETHEUS, prom },
		{ "alert", PROBE_ALERT, alert },
	};
	const char *const *tkeys = NULL;
	const char *keys[24];
	struct xnode *t;
	uint64_t v;
	char what[128];
	size_t nk = 0;
	int err = 0;

	if (m->kind != X_MAP)
		return fail(c, m, "a probe: expected a mapping with name and type, found %s", kind_name(m));
	p->line = m->line;
	p->col = m->col;
	p->interval_ns = 100 * NSEC_PER_MSEC;
	p->timeout_ns = 2 * NSEC_PER_SEC;
	p->node = -1;
	err = get_str(c, m, "name", true, "a probe", &p->name);
	snprintf(what, sizeof(what), "probe '%s'", p->name ? p->name : "?");
	t = map_get(m, "type");
	if (!t)
		return fail(c, m, "%s needs 'type': http, tcp, sql, cmd, prometheus or alert", what);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (t->kind == X_SCALAR && !strcmp(t->str, types[i].name)) {
			p->type = types[i].t;
			tkeys = types[i].keys;
		}
	if (!tkeys)
		return fail(c, t, "%s: 'type' must be http, tcp, sql, cmd, prometheus or alert, found '%s'",
			    what, t->kind == X_SCALAR ? t->str : kind_name(t));
	for (const char *const *k = common; *k; k++)
		keys[nk++] = *k;
	for (const char *const *k = tkeys; *k; k++)
		keys[nk++] = *k;
	keys[nk] = NULL;
	err = check_keys(c, m, what, keys) ?: err;
	err = get_duration(c, m, "interval", true, what, &p->interval_ns) ?: err;
	err = get_duration(c, m, "timeout", true, what, &p->timeout_ns) ?: err;
	v = 0;
	err = get_uint(c, m, "retries", 0, 100, what, &v) ?: err;
	p->retries = v;
	if (during) {
		struct xnode *must = map_get(m, "must");

		p->must_fail = true;
		if (must && (must->kind != X_SCALAR ||
			     (strcmp(must->str, "fail") && strcmp(must->str, "pass"))))
			err = fail(c, must, "%s: 'must' is fail or pass, found '%s'", what,
				   must->kind == X_SCALAR ? must->str : kind_name(must));
		else if (must)
			p->must_fail = !strcmp(must->str, "fail");
		err = get_duration(c, m, "within", false, what, &p->within_ns) ?: err;
	} else if (map_get(m, "must") || map_get(m, "within")) {
		struct xnode *x = map_get(m, "must") ?: map_get(m, "within");

		err = fail(c, x, "%s: 'must' and 'within' belong to expect-during probes only", what);
	}
	switch (p->type) {
	case PROBE_HTTP:
		v = 0;
		err = get_str(c, m, "url", true, what, &p->url) ?: err;
		err = get_uint(c, m, "status", 100, 599, what, &v) ?: err;
		p->status = v;
		err = get_str(c, m, "body-contains", false, what, &p->body_contains) ?: err;
		err = get_str(c, m, "json-field", false, what, &p->json_field) ?: err;
		err = get_str(c, m, "expect", false, what, &p->expect) ?: err;
		err = get_str(c, m, "ca-file", false, what, &p->ca_file) ?: err;
		err = get_duration(c, m, "max-latency", true, what, &p->max_latency_ns) ?: err;
		err = check_http_url(c, m, what, p->url) ?: err;
		if (!!p->json_field != !!p->expect)
			err = fail(c, m, "%s: 'json-field' and 'expect' go together", what);
		break;
	case PROBE_TCP:
		v = 0;
		err = get_str(c, m, "host", true, what, &p->host) ?: err;
		if (!map_get(m, "port"))
			err = fail(c, m, "%s needs 'port'", what);
		err = get_uint(c, m, "port", 1, 65535, what, &v) ?: err;
		p->port = v;
		break;
	case PROBE_SQL:
		err = get_str(c, m, "conninfo", true, what, &p->conninfo) ?: err;
		err = get_str(c, m, "query", true, what, &p->query) ?: err;
		err = get_str(c, m, "expect", false, what, &p->expect) ?: err;
		if (p->conninfo) {
			char why[512];

			if (conninfo_check(p->conninfo, NULL, 0, why, sizeof(why)))
				err = fail(c, map_get(m, "conninfo"), "%s: no password in an experiment "
					   "file: the conninfo %s", what, why);
		}
		break;
	case PROBE_CMD:
		v = 0;
		err = find_node(c, m, what, &p->node) ?: err;
		err = get_str(c, m, "run", true, what, &p->run) ?: err;
		err = get_uint(c, m, "exit-code", 0, 255, what, &v) ?: err;
		p->exit_code = v;
		err = get_str(c, m, "output-contains", false, what, &p->output_contains) ?: err;
		break;
	case PROBE_PROMETHEUS:
		err = get_str(c, m, "url", true, what, &p->url) ?: err;
		err = get_str(c, m, "query", true, what, &p->query) ?: err;
		err = get_str(c, m, "expect", true, what, &p->expect) ?: err;
		break;
	case PROBE_ALERT:
		err = parse_alert(c, m, what, p) ?: err;
		break;
	}
	return err;
}

static int parse_probes(struct ctx *c, struct xnode *x, const char *what, bool during,
			struct exp_probe **ret, size_t *ret_n)
{
	struct exp_probe *p;
	int err = 0;

	if (x->kind == X_MAP && map_get(x, "probes")) {
		/* steady-state: { title: ..., probes: [...] } */
		static const char *const keys[] = { "title", "probes", NULL };

		err = check_keys(c, x, what, keys);
		x = map_get(x, "probes");
	}
	if (x->kind != X_SEQ)
		return fail(c, x, "'%s': expected a list of probes, found %s", what, kind_name(x));
	p = calloc(x->n ? x->n : 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*ret = p;
	*ret_n = x->n;
	for (size_t i = 0; i < x->n; i++) {
		int r = parse_probe(c, x->v[i], during, &p[i]);

		if (r == -ENOMEM)
			return r;
		err = err ?: r;
	}
	return err;
}

static int push_arg(struct exp_step *s, const char *a)
{
	char **args = realloc(s->args, (s->nargs + 2) * sizeof(*args));

	if (!args)
		return -ENOMEM;
	s->args = args;
	if (!(args[s->nargs] = strdup(a)))
		return -ENOMEM;
	args[++s->nargs] = NULL;
	return 0;
}

static int parse_fault_args(struct ctx *c, struct xnode *f, struct xnode *a, struct exp_step *s)
{
	char *words = strdup(f->str), *save = NULL, *w;
	int err = 0, n = 0;

	if (!words)
		return -ENOMEM;
	for (w = strtok_r(words, " \t", &save); w && !err; w = strtok_r(NULL, " \t", &save), n++)
		err = push_arg(s, w);
	free(words);
	if (err)
		return err;
	if (n != 2)
		return fail(c, f, "'fault' is a family and a verb, like 'net partition' or "
			    "'proc kill', found '%s'", f->str);
	if (!a)
		return 0;
	if (a->kind == X_SEQ) {
		for (size_t i = 0; i < a->n && !err; i++) {
			if (a->v[i]->kind != X_SCALAR)
				return fail(c, a->v[i], "'args': expected strings, found %s",
					    kind_name(a->v[i]));
			err = push_arg(s, a->v[i]->str);
		}
		return err;
	}
	if (a->kind != X_MAP)
		return fail(c, a, "'args': expected a mapping (peer: 10.200.0.2) or a list of "
			    "words, found a scalar");
	for (size_t i = 0; i < a->n && !err; i++) {
		char opt[128];
		struct xnode *v = a->v[i];

		if (!strcmp(a->k[i]->str, "for") || !strcmp(a->k[i]->str, "heartbeat") ||
		    !strcmp(a->k[i]->str, "json"))
			return fail(c, a->k[i], "'%s' is set by the step (for:, heartbeat:), not in 'args'",
				    a->k[i]->str);
		snprintf(opt, sizeof(opt), "--%s", a->k[i]->str);
		if (v->kind != X_SCALAR)
			return fail(c, v, "'args.%s': expected a value, found %s", a->k[i]->str,
				    kind_name(v));
		if (!v->quoted && !strcmp(v->str, "true")) {
			err = push_arg(s, opt);
			continue;
		}
		err = push_arg(s, opt) ?: push_arg(s, v->str);
	}
	return err;
}

/* expect: { counter-or-field: expectation, ... } */
static int parse_step_expect(struct ctx *c, struct xnode *x, const char *label, struct exp_step *s)
{
	int err = 0;

	if (x->kind != X_MAP || !x->n)
		return fail(c, x, "'expect' of %s: expected a mapping of counter: expectation "
			    "(like oom_kills: \">= 1\"), found %s", label,
			    x->kind == X_MAP ? "an empty one" : kind_name(x));
	s->expect_keys = calloc(x->n, sizeof(char *));
	s->expect_vals = calloc(x->n, sizeof(char *));
	if (!s->expect_keys || !s->expect_vals)
		return -ENOMEM;
	for (size_t i = 0; i < x->n; i++) {
		if (x->v[i]->kind != X_SCALAR || !*x->v[i]->str) {
			err = fail(c, x->v[i], "'expect.%s' of %s: expected a value or a comparison "
				   "like '>= 1', found %s", x->k[i]->str, label,
				   x->v[i]->kind == X_SCALAR ? "nothing" : kind_name(x->v[i]));
			continue;
		}
		s->expect_keys[s->nexpect] = strdup(x->k[i]->str);
		s->expect_vals[s->nexpect] = strdup(x->v[i]->str);
		if (!s->expect_keys[s->nexpect] || !s->expect_vals[s->nexpect]) {
			free(s->expect_keys[s->nexpect]);
			free(s->expect_vals[s->nexpect]);
			return -ENOMEM;
		}
		s->nexpect++;
	}
	return err;
}

static int parse_step(struct ctx *c, struct xnode *m, bool rollback, struct exp_step *s)
{
	static const char *const fkeys[] = { "name", "fault", "node", "args", "for", "heartbeat",
					     "oneshot", "expect", NULL };
	static const char *const akeys[] = { "name", "action", "node", "timeout", NULL };
	static const char *const pkeys[] = { "name", "pause", NULL };
	const char *what = rollback ? "a rollback" : "a method step";
	struct xnode *f, *a, *p;
	char label[128];
	int err = 0;

	if (m->kind != X_MAP)
		return fail(c, m, "%s: expected a mapping with fault, action or pause, found %s",
			    what, kind_name(m));
	s->line = m->line;
	s->col = m->col;
	s->node = -1;
	f = map_get(m, "fault");
	a = map_get(m, "action");
	p = map_get(m, "pause");
	if (!!f + !!a + !!p != 1)
		return fail(c, m, "%s: expected exactly one of 'fault', 'action' or 'pause'", what);
	if (rollback && !a)
		return fail(c, f ? f : p, "a rollback is an 'action' (a command on a node)");
	err = get_str(c, m, "name", false, what, &s->name);
	snprintf(label, sizeof(label), "%s '%s'", rollback ? "rollback" : "step",
		 s->name ? s->name : "");
	if (p) {
		s->kind = STEP_PAUSE;
		err = check_keys(c, m, label, pkeys) ?: err;
		return get_duration(c, m, "pause", true, label, &s->pause_ns) ?: err;
	}
	err = find_node(c, m, label, &s->node) ?: err;
	if (a) {
		s->kind = STEP_ACTION;
		s->timeout_ns = 60 * NSEC_PER_SEC;
		err = check_keys(c, m, label, akeys) ?: err;
		err = get_str(c, m, "action", true, label, &s->run) ?: err;
		return get_duration(c, m, "timeout", true, label, &s->timeout_ns) ?: err;
	}
	s->kind = STEP_FAULT;
	s->heartbeat_ns = 2 * NSEC_PER_SEC;
	err = check_keys(c, m, label, fkeys) ?: err;
	if (f->kind != X_SCALAR)
		return fail(c, f, "'fault': expected 'family verb', found %s", kind_name(f));
	err = parse_fault_args(c, f, map_get(m, "args"), s) ?: err;
	err = get_duration(c, m, "for", true, label, &s->for_ns) ?: err;
	err = get_duration(c, m, "heartbeat", true, label, &s->heartbeat_ns) ?: err;
	err = get_bool(c, m, "oneshot", label, &s->oneshot) ?: err;
	if (s->oneshot && s->nargs >= 2 && fault_find(s->args[0], s->args[1]))
		err = fail(c, map_get(m, "oneshot"), "%s: '%s %s' holds a fault until its deadline; "
			   "'oneshot: true' is for one-shot verbs (proc kill, proc restart, pg crash)",
			   label, s->args[0], s->args[1]);
	if (!s->oneshot && s->nargs >= 2 && action_find(s->args[0], s->args[1]))
		err = fail(c, f, "%s: '%s %s' acts once and holds nothing; add 'oneshot: true' to the step",
			   label, s->args[0], s->args[1]);
	if (s->oneshot && (map_get(m, "for") || map_get(m, "heartbeat")))
		err = fail(c, map_get(m, "for") ?: map_get(m, "heartbeat"),
			   "%s: a oneshot verb holds nothing; 'for' and 'heartbeat' do not apply", label);
	if (s->heartbeat_ns < 100 * NSEC_PER_MSEC)
		err = fail(c, map_get(m, "heartbeat"), "%s: 'heartbeat' must be at least 100ms", label);
	if (map_get(m, "expect")) {
		int r = parse_step_expect(c, map_get(m, "expect"), label, s);

		if (r == -ENOMEM)
			return r;
		err = err ?: r;
	}
	return err;
}

static int parse_steps(struct ctx *c, struct xnode *x, const char *what, bool rollback,
		       struct exp_step **ret, size_t *ret_n)
{
	struct exp_step *s;
	int err = 0;

	if (x->kind != X_SEQ)
		return fail(c, x, "'%s': expected a list of steps, found %s", what, kind_name(x));
	s = calloc(x->n ? x->n : 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*ret = s;
	*ret_n = x->n;
	for (size_t i = 0; i < x->n; i++) {
		int r = parse_step(c, x->v[i], rollback, &s[i]);

		if (r == -ENOMEM)
			return r;
		err = err ?: r;
	}
	return err;
}

static int parse_root(struct ctx *c, struct xnode *root)
{
	static const char *const keys[] = { "title", "description", "tags", "risk", "variables",
					    "nodes", "preconditions", "steady-state", "method",
					    "expect-during", "recovery", "post-checks", "rollbacks",
					    NULL };
	struct experiment *e = c->e;
	struct xnode *x;
	int err = 0, r;

	if (root->kind != X_MAP)
		return fail(c, root, "expected a mapping with title, nodes and method, found %s",
			    kind_name(root));
	err = check_keys(c, root, "the experiment", keys);
	err = get_str(c, root, "title", true, "the experiment", &e->title) ?: err;
	err = get_str(c, root, "description", false, "the experiment", &e->description) ?: err;
	if ((x = map_get(root, "tags"))) {
		if (x->kind != X_SEQ) {
			err = fail(c, x, "'tags': expected a list of words, found %s", kind_name(x));
		} else {
			e->tags = calloc(x->n + 1, sizeof(*e->tags));
			if (!e->tags)
				return -ENOMEM;
			for (size_t i = 0; i < x->n; i++) {
				if (x->v[i]->kind != X_SCALAR) {
					err = fail(c, x->v[i], "a tag: expected a word, found %s",
						   kind_name(x->v[i]));
					continue;
				}
				if (!(e->tags[e->ntags++] = strdup(x->v[i]->str)))
					return -ENOMEM;
			}
		}
	}
	x = map_get(root, "risk");
	if (!x)
		err = fail(c, root, "the experiment needs 'risk: low|medium|high'");
	else if (x->kind == X_SCALAR && !strcmp(x->str, "low"))
		e->risk = RISK_LOW;
	else if (x->kind == X_SCALAR && !strcmp(x->str, "medium"))
		e->risk = RISK_MEDIUM;
	else if (x->kind == X_SCALAR && !strcmp(x->str, "high"))
		e->risk = RISK_HIGH;
	else
		err = fail(c, x, "'risk': expected low, medium or high, found '%s'",
			   x->kind == X_SCALAR ? x->str : kind_name(x));

	if (!(x = map_get(root, "nodes")))
		err = fail(c, root, "the experiment needs 'nodes' (where faults and commands run)");
	else if ((r = parse_nodes(c, x)))
		err = r;
	if (err == -ENOMEM)
		return err;
	/* Steps and cmd probes name nodes: with broken nodes, stop here. */
	if (err)
		return err;

#define PROBES(key, during, arr, n) \
	if ((x = map_get(root, key)) && (r = parse_probes(c, x, key, during, &e->arr, &e->n))) \
		err = r;
	PROBES("preconditions", false, pre, npre);
	PROBES("steady-state", false, steady, nsteady);
	PROBES("expect-during", true, during, nduring);
	PROBES("post-checks", false, post, npost);
#undef PROBES
	if ((x = map_get(root, "recovery"))) {
		static const char *const rkeys[] = { "within", "probes", NULL };

		if (x->kind != X_MAP) {
			err = fail(c, x, "'recovery': expected a mapping with within and probes, found %s",
				   kind_name(x));
		} else {
			err = check_keys(c, x, "recovery", rkeys) ?: err;
			if (!map_get(x, "within") || !map_get(x, "probes"))
				err = fail(c, x, "'recovery' needs 'within' (a duration) and 'probes'");
			err = get_duration(c, x, "within", true, "recovery", &e->recovery_within_ns) ?: err;
			if (map_get(x, "probes") &&
			    (r = parse_probes(c, map_get(x, "probes"), "recovery.probes", false,
					      &e->recovery, &e->nrecovery)))
				err = r;
		}
	}
	if (!(x = map_get(root, "method")))
		err = fail(c, root, "the experiment needs 'method' (the faults and actions)");
	else if ((r = parse_steps(c, x, "method", false, &e->method, &e->nmethod)))
		err = r;
	else if (!e->nmethod)
		err = fail(c, x, "'method' is empty; expected at least one fault or action");
	if ((x = map_get(root, "rollbacks")) &&
	    (r = parse_steps(c, x, "rollbacks", true, &e->rollbacks, &e->nrollbacks)))
		err = r;
	for (size_t i = 0; e->risk != RISK_HIGH && i < e->nmethod; i++) {
		const struct exp_step *s = &e->method[i];

		/* A node rebooted or cut off is the runbook's fifth category:
		 * only a high-risk run, with its approvers, may do it. */
		if (s->kind == STEP_FAULT && s->nargs >= 2 && !strcmp(s->args[0], "node"))
			err = fail_at(c, s->line, s->col,
				      "step '%s': 'node %s' takes a whole node away; the experiment "
				      "must be 'risk: high' (a run then needs the council's approvers, "
				      "--approve NAME --approve NAME2), not '%s'",
				      s->name ? s->name : "", s->args[1], risk_name(e->risk));
	}
	return err;
}

static int parse_variables(struct ctx *c, struct xnode *root)
{
	json_object *vars;
	int err = 0;

	c->varmap = map_get(root, "variables");
	if (c->varmap && c->varmap->kind != X_MAP) {
		err = fail(c, c->varmap, "'variables': expected a mapping of name: default, found %s",
			   kind_name(c->varmap));
		c->varmap = NULL;
	}
	for (size_t i = 0; c->varmap && i < c->varmap->n; i++) {
		const char *k = c->varmap->k[i]->str;

		if (c->varmap->v[i]->kind != X_SCALAR)
			err = fail(c, c->varmap->v[i], "variable '%s': expected a scalar default, found %s",
				   k, kind_name(c->varmap->v[i]));
		for (const char *s = k; *s; s++)
			if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') {
				err = fail(c, c->varmap->k[i], "variable name '%s': use letters, digits, _ and -", k);
				break;
			}
	}
	for (size_t i = 0; i < c->nvars; i++) {
		bool declared = false;

		for (size_t j = 0; c->varmap && j < c->varmap->n; j++)
			declared |= !strcmp(c->varmap->k[j]->str, c->vars[i].name);
		if (!declared && !c->vars[i].optional)
			err = fail_at(c, root->line, root->col,
				      "--var %s: the file declares no such variable under 'variables:'",
				      c->vars[i].name);
	}
	if (err)
		return err;
	vars = json_object_new_object();
	if (!vars)
		return -ENOMEM;
	for (size_t j = 0; c->varmap && j < c->varmap->n; j++) {
		bool declared;
		const char *k = c->varmap->k[j]->str;
		const char *v = var_lookup(c, k, strlen(k), &declared);

		json_object_object_add(vars, k, v ? json_object_new_string(v) : NULL);
	}
	c->e->variables = vars;
	return 0;
}

int experiment_parse(const char *name, const char *text, size_t len,
		     const struct exp_var *vars, size_t nvars,
		     struct experiment **ret, struct exp_errors *errs)
{
	struct ctx c = { .file = name, .errs = errs, .vars = vars, .nvars = nvars };
	struct xnode *root = NULL;
	size_t nl = strlen(name);
	bool json = nl > 5 && !strcmp(name + nl - 5, ".json");
	int err;

	errs->n = 0;
	for (size_t i = 0; i < len && !json; i++) {
		if (isspace((unsigned char)text[i]))
			continue;
		json = text[i] == '{';
		break;
	}
	if (memchr(text, '\0', len))
		return fail_at(&c, 1, 1, "the file holds a NUL byte; expected YAML or JSON text");
	if (json && (err = json_check(&c, text, len)))
		return err;
	err = yaml_tree(&c, text, len, &root);
	if (err)
		return err;
	c.e = calloc(1, sizeof(*c.e));
	if (!c.e) {
		err = -ENOMEM;
		goto out;
	}
	if (!(c.e->file = strdup(name))) {
		err = -ENOMEM;
		goto out;
	}
	if (root->kind != X_MAP) {
		err = fail(&c, root, "expected a mapping with title, nodes and method, found %s",
			   kind_name(root));
		goto out;
	}
	err = parse_variables(&c, root);
	if (!err)
		err = subst_tree(&c, root, false);
	if (!err)
		err = parse_root(&c, root);
	if (!err && c.err)
		err = c.err;
out:
	xfree(root);
	if (err) {
		experiment_free(c.e);
		return err;
	}
	*ret = c.e;
	return 0;
}

static int read_text(const char *path, char **ret, size_t *ret_len)
{
	struct stat st;
	char *text;
	ssize_t n;
	size_t got = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE) {
		err = errno ? -errno : -EINVAL;
		close(fd);
		return S_ISREG(st.st_mode) && st.st_size > MAX_FILE_SIZE ? -EFBIG : err;
	}
	text = malloc(st.st_size + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size && (n = read(fd, text + got, st.st_size - got)) > 0)
		got += n;
	close(fd);
	text[got] = '\0';
	*ret = text;
	*ret_len = got;
	return 0;
}

int experiment_load(const char *path, const struct exp_var *vars, size_t nvars,
		    struct experiment **ret, struct exp_errors *errs)
{
	char *text;
	size_t len;
	int err;

	errs->n = 0;
	err = read_text(path, &text, &len);
	if (err)
		return err;
	err = experiment_parse(path, text, len, vars, nvars, ret, errs);
	free(text);
	return err;
}

/* Keys and values side by side, n of each. */
static void pairs_free(char **keys, char **vals, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(keys[i]);
		free(vals[i]);
	}
	free(keys);
	free(vals);
}

static void probes_free(struct exp_probe *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].name);
		free(p[i].url);
		free(p[i].body_contains);
		free(p[i].json_field);
		free(p[i].ca_file);
		free(p[i].host);
		free(p[i].conninfo);
		free(p[i].query);
		free(p[i].expect);
		free(p[i].run);
		free(p[i].output_contains);
		free(p[i].alert);
		pairs_free(p[i].label_keys, p[i].label_vals, p[i].nlabels);
	}
	free(p);
}

static void steps_free(struct exp_step *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		for (size_t j = 0; j < s[i].nargs; j++)
			free(s[i].args[j]);
		free(s[i].args);
		free(s[i].name);
		free(s[i].run);
		pairs_free(s[i].expect_keys, s[i].expect_vals, s[i].nexpect);
	}
	free(s);
}

void experiment_free(struct experiment *e)
{
	if (!e)
		return;
	free(e->file);
	free(e->title);
	free(e->description);
	for (size_t i = 0; i < e->ntags; i++)
		free(e->tags[i]);
	free(e->tags);
	json_object_put(e->variables);
	for (size_t i = 0; i < e->nnodes; i++) {
		free(e->nodes[i].name);
		free(e->nodes[i].host);
		free(e->nodes[i].user);
		free(e->nodes[i].key);
		free(e->nodes[i].known_hosts);
		free(e->nodes[i].tug);
	}
	free(e->nodes);
	probes_free(e->pre, e->npre);
	probes_free(e->steady, e->nsteady);
	probes_free(e->during, e->nduring);
	probes_free(e->recovery, e->nrecovery);
	probes_free(e->post, e->npost);
	steps_free(e->method, e->nmethod);
	steps_free(e->rollbacks, e->nrollbacks);
	free(e);
}

const char *risk_name(enum risk r)
{
	return r == RISK_HIGH ? "high" : r == RISK_MEDIUM ? "medium" : "low";
}

const char *probe_type_name(enum probe_type t)
{
	static const char *const names[] = { "http", "tcp", "sql", "cmd", "prometheus", "alert" };

	return t <= PROBE_ALERT ? names[t] : "?";
}

const char *alert_state_name(enum alert_state s)
{
	static const char *const names[] = { "firing", "inactive", "pending" };

	return s <= ALERT_PENDING ? names[s] : "?";
}

bool expect_matches(const char *expect, const char *got)
{
	static const char *const ops[] = { "==", "!=", ">=", "<=", ">", "<" };
	const char *s = expect;
	double want, have;
	char *end;
	int op = -1;

	if (!got)
		return false;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strncmp(s, ops[i], strlen(ops[i]))) {
			op = i;
			s += strlen(ops[i]);
			break;
		}
	if (op < 0)
		return !strcmp(expect, got);
	while (*s == ' ')
		s++;
	errno = 0;
	want = strtod(s, &end);
	if (end == s || *end || errno) {
		/* "== text", "!= text": a string comparison. */
		return op == 0 ? !strcmp(s, got) : op == 1 ? !!strcmp(s, got) : false;
	}
	have = strtod(got, &end);
	if (end == got || isnan(have))
		return op == 1;
	while (*end == ' ' || *end == '\n')
		end++;
	if (*end)
		return op == 1;
	switch (op) {
	case 0: return have == want;
	case 1: return have != want;
	case 2: return have >= want;
	case 3: return have <= want;
	case 4: return have > want;
	default: return have < want;
	}
}

/* ---- suites ---- */

static int vars_push(struct exp_var **arr, size_t *n, const char *name, const char *value)
{
	struct exp_var *v = realloc(*arr, (*n + 1) * sizeof(**arr));
	char *k, *val;

	if (!v)
		return -ENOMEM;
	*arr = v;
	k = strdup(name);
	val = strdup(value);
	if (!k || !val) {
		free(k);
		free(val);
		return -ENOMEM;
	}
	v[(*n)++] = (struct exp_var){ k, val, true };
	return 0;
}

static void vars_free(struct exp_var *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)v[i].name);
		free((char *)v[i].value);
	}
	free(v);
}

/* The variables of a mapping (the suite's own or an entry's), as optional
 * ones for the experiments. */
static int suite_vars(struct ctx *c, struct xnode *x, const char *what, struct exp_var **arr,
		      size_t *n)
{
	int err = 0;

	if (x->kind != X_MAP)
		return fail(c, x, "'variables' of %s: expected a mapping of name: value, found %s",
			    what, kind_name(x));
	for (size_t i = 0; i < x->n; i++) {
		if (x->v[i]->kind != X_SCALAR) {
			err = fail(c, x->v[i], "variable '%s' of %s: expected a scalar, found %s",
				   x->k[i]->str, what, kind_name(x->v[i]));
			continue;
		}
		if (vars_push(arr, n, x->k[i]->str, x->v[i]->str))
			return -ENOMEM;
	}
	return err;
}

static int parse_suite(struct ctx *c, struct xnode *root, struct suite *su)
{
	static const char *const keys[] = { "title", "description", "variables", "experiments", NULL };
	static const char *const ekeys[] = { "file", "risk", "variables", NULL };
	const char *slash = strrchr(c->file, '/');
	struct xnode *x;
	int err, r;

	err = check_keys(c, root, "the suite", keys);
	err = get_str(c, root, "title", true, "the suite", &su->title) ?: err;
	err = get_str(c, root, "description", false, "the suite", &su->description) ?: err;
	if (c->varmap)
		for (size_t i = 0; i < c->varmap->n; i++) {
			bool declared;
			const char *k = c->varmap->k[i]->str;
			const char *v = var_lookup(c, k, strlen(k), &declared);

			if (v && vars_push(&su->vars, &su->nvars, k, v))
				return -ENOMEM;
		}
	su->ndeclared = su->nvars;
	/* --var names no suite variable: it is for the experiments */
	for (size_t i = 0; i < c->nvars; i++) {
		bool declared = false;

		for (size_t j = 0; c->varmap && j < c->varmap->n; j++)
			declared |= !strcmp(c->varmap->k[j]->str, c->vars[i].name);
		if (!declared && vars_push(&su->vars, &su->nvars, c->vars[i].name, c->vars[i].value))
			return -ENOMEM;
	}
	x = map_get(root, "experiments");
	if (x->kind != X_SEQ || !x->n)
		return fail(c, x, "'experiments': expected a list of { file, risk }, found %s",
			    x->kind == X_SEQ ? "an empty list" : kind_name(x));
	su->entries = calloc(x->n, sizeof(*su->entries));
	if (!su->entries)
		return -ENOMEM;
	for (size_t i = 0; i < x->n; i++) {
		struct suite_entry *en = &su->entries[su->nentries++];
		struct xnode *m = x->v[i], *rk, *v;
		char *file = NULL;

		en->line = m->line;
		en->col = m->col;
		if (m->kind != X_MAP) {
			err = fail(c, m, "an experiment of the suite: expected { file, risk }, found %s",
				   kind_name(m));
			continue;
		}
		err = check_keys(c, m, "an experiment of the suite", ekeys) ?: err;
		r = get_str(c, m, "file", true, "an experiment of the suite", &file);
		if (r == -ENOMEM)
			return r;
		err = r ?: err;
		if (file) {
			if (*file == '/' || !slash) {
				en->file = file;
			} else {
				if (asprintf(&en->file, "%.*s/%s", (int)(slash - c->file), c->file, file) < 0)
					en->file = NULL;
				free(file);
				if (!en->file)
					return -ENOMEM;
			}
		}
		rk = map_get(m, "risk");
		if (!rk)
			err = fail(c, m, "an experiment of the suite needs 'risk: low|medium|high'");
		else if (rk->kind == X_SCALAR && !strcmp(rk->str, "low"))
			en->risk = RISK_LOW;
		else if (rk->kind == X_SCALAR && !strcmp(rk->str, "medium"))
			en->risk = RISK_MEDIUM;
		else if (rk->kind == X_SCALAR && !strcmp(rk->str, "high"))
			en->risk = RISK_HIGH;
		else
			err = fail(c, rk, "'risk': expected low, medium or high, found '%s'",
				   rk->kind == X_SCALAR ? rk->str : kind_name(rk));
		if ((v = map_get(m, "variables")) &&
		    (r = suite_vars(c, v, "an experiment of the suite", &en->vars, &en->nvars))) {
			if (r == -ENOMEM)
				return r;
			err = r;
		}
	}
	return err;
}

static bool text_is_json(const char *name, const char *text, size_t len)
{
	size_t nl = strlen(name);

	if (nl > 5 && !strcmp(name + nl - 5, ".json"))
		return true;
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)text[i]))
			return text[i] == '{';
	return false;
}

int suite_parse(const char *name, const char *text, size_t len, const struct exp_var *vars,
		size_t nvars, struct suite **ret, struct exp_errors *errs)
{
	struct exp_var *opt = NULL;
	struct ctx c = { .file = name, .errs = errs };
	struct xnode *root = NULL;
	struct suite *su;
	int err;

	errs->n = 0;
	if (memchr(text, '\0', len))
		return fail_at(&c, 1, 1, "the file holds a NUL byte; expected YAML or JSON text");
	if (text_is_json(name, text, len) && (err = json_check(&c, text, len)))
		return err;
	err = yaml_tree(&c, text, len, &root);
	if (err)
		return err;
	su = calloc(1, sizeof(*su));
	/* --var may name what only the experiments declare */
	opt = calloc(nvars ? nvars : 1, sizeof(*opt));
	if (!su || !opt || !(su->file = strdup(name))) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nvars; i++)
		opt[i] = (struct exp_var){ vars[i].name, vars[i].value, true };
	c.vars = opt;
	c.nvars = nvars;
	if (root->kind != X_MAP || !map_get(root, "experiments")) {
		err = fail(&c, root, "expected a suite: a mapping with title and experiments");
		goto out;
	}
	c.e = calloc(1, sizeof(*c.e));	/* parse_variables records into it */
	if (!c.e) {
		err = -ENOMEM;
		goto out;
	}
	err = parse_variables(&c, root);
	if (!err)
		err = subst_tree(&c, root, false);
	if (!err)
		err = parse_suite(&c, root, su);
	if (!err && c.err)
		err = c.err;
out:
	experiment_free(c.e);
	free(opt);
	xfree(root);
	if (err) {
		suite_free(su);
		return err;
	}
	*ret = su;
	return 0;
}

int suite_load(const char *path, const struct exp_var *vars, size_t nvars,
	       struct suite **ret, struct exp_errors *errs)
{
	char *text;
	size_t len;
	int err;

	errs->n = 0;
	err = read_text(path, &text, &len);
	if (err)
		return err;
	err = suite_parse(path, text, len, vars, nvars, ret, errs);
	free(text);
	return err;
}

int suite_detect(const char *path)
{
	struct exp_errors errs = { 0 };
	struct ctx c = { .file = path, .errs = &errs };
	struct xnode *root = NULL;
	char *text;
	size_t len;
	int err;

	err = read_text(path, &text, &len);
	if (err)
		return err;
	if (memchr(text, '\0', len) || yaml_tree(&c, text, len, &root)) {
		free(text);
		return 0;	/* not well-formed: the experiment parser says why */
	}
	err = root->kind == X_MAP && map_get(root, "experiments") && !map_get(root, "method");
	xfree(root);
	free(text);
	return err;
}

void suite_free(struct suite *s)
{
	if (!s)
		return;
	free(s->file);
	free(s->title);
	free(s->description);
	vars_free(s->vars, s->nvars);
	for (size_t i = 0; i < s->nentries; i++) {
		free(s->entries[i].file);
		vars_free(s->entries[i].vars, s->entries[i].nvars);
	}
	free(s->entries);
	free(s);
}
