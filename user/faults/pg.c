// SPDX-License-Identifier: GPL-2.0
/*
 * PostgreSQL faults through libpq.
 *
 * pg exhaust is a held fault (struct fault_ops, through fault_run: journal,
 * status, revert): it opens asynchronous connections until the server
 * refuses one with SQLSTATE 53300, or until N slots are left, proves one
 * more is refused, holds them to the deadline, and on release times a
 * normal query. The kernel closes the sockets if tug dies, so the server
 * gets its slots back on any exit; nothing needs a guardian.
 *
 * pg crash is a one-shot action (see proc.h for why): the postmaster's pid
 * from postmaster.pid, checked against the server's recorded start after
 * the pidfd is open, SIGKILL through the pidfd, then the time until queries
 * are accepted again, and optionally that every row of a table survived.
 *
 * CONNINFO is libpq's own (URI, key=value, service=, PGPASSFILE): a password
 * in it is refused, so none reaches a command line, the journal or a log.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "commands.h"
#include "fault.h"
#include "journal.h"
#include "log.h"
#include "parse.h"
#include "proc.h"
#include "conninfo.h"
#include "sanitize.h"
#include "spawn.h"

#define PG_TOO_MANY "53300"

/* ---------------------------------------------------------------- conninfo */

/* Refuse a conninfo that carries a password; describe the rest for logs. */
static int db_check(const char *conninfo, char *desc, size_t len)
{
	char why[512];
	int err = conninfo_check(conninfo, desc, len, why, sizeof(why));

	if (err)
		log_error("--db: %s", why);
	return err;
}

static const char *const pg_keys[] = { "dbname", "connect_timeout", "application_name", NULL };

static PGconn *pg_start(const char *conninfo, bool async)
{
	const char *vals[] = { conninfo, "3", "tug", NULL };

	return async ? PQconnectStartParams(pg_keys, vals, 1) : PQconnectdbParams(pg_keys, vals, 1);
}

/* The first line of libpq's message, for logs and JSON. */
static void pg_msg(PGconn *c, char *buf, size_t len)
{
	const char *m = c ? PQerrorMessage(c) : "out of memory";

	snprintf(buf, len, "%s", m);
	buf[strcspn(buf, "\n")] = '\0';
}

/* Is this failed connection a "too many connections" refusal? With
 * PQERRORS_VERBOSE set before the handshake, libpq puts the SQLSTATE in the
 * message ("FATAL:  53300: sorry, too many clients already"). */
static bool refused_53300(PGconn *c)
{
	const char *m = PQerrorMessage(c);

	return m && (strstr(m, " " PG_TOO_MANY ":") || strstr(m, "too many clients") ||
		     strstr(m, "remaining connection slots are reserved"));
}

/* One value of a one-row query, or -EIO with the message in err. */
static int pg_value(PGconn *c, const char *sql, char *buf, size_t len)
{
	PGresult *r = PQexec(c, sql);
	int err = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
		err = -EIO;
	else
		snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return err;
}

/* Connect and run SELECT 1. */
static bool pg_query_ok(const char *conninfo, char *msg, size_t len)
{
	PGconn *c = pg_start(conninfo, false);
	char v[16];
	bool ok = false;

	if (c && PQstatus(c) == CONNECTION_OK)
		ok = !pg_value(c, "SELECT 1", v, sizeof(v)) && !strcmp(v, "1");
	if (!ok && msg)
		pg_msg(c, msg, len);
	PQfinish(c);
	return ok;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ------------------------------------------------------------- pg exhaust */

struct exhaust {
	char *conninfo;
	char desc[256];
	uint64_t leave;
	uint64_t max;
	/* from prepare */
	long max_connections, reserved, others;
	bool superuser;
	long target;		/* connections to open; -1: until refused */
	long slots;		/* free slots for this role at prepare */
	/* from apply */
	PGconn **conns;
	long held;
	long refused;
	uint64_t to_limit_ms;
	char refusal[160];	/* the server's words, first line */
};

enum { X_DB = 0x100, X_LEAVE, X_MAX };

static int exhaust_parse(struct fault *f, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, X_DB },
		{ "leave", required_argument, NULL, X_LEAVE },
		{ "max", required_argument, NULL, X_MAX },
		FAULT_COMMON_OPTIONS,
		{},
	};
	struct exhaust *x = f->priv;
	int opt, err;

	x->max = 1000;
	while ((opt = fault_getopt(f, argc, argv, opts, &err)) >= 0) {
		switch (opt) {
		case X_DB:
			free(x->conninfo);
			x->conninfo = strdup(optarg);
			if (!x->conninfo)
				return -ENOMEM;
			break;
		case X_LEAVE:
			if (parse_uint(optarg, 0, 100000, &x->leave))
				return fault_bad_option("--leave", optarg, "a number of free slots, 0 to 100000");
			break;
		case X_MAX:
			if (parse_uint(optarg, 1, 100000, &x->max))
				return fault_bad_option("--max", optarg, "a number of connections, 1 to 100000");
			break;
		}
	}
	if (err)
		return err;
	if (!x->conninfo) {
		log_error("--db CONNINFO is required (libpq form: 'host=/run/postgresql dbname=app', "
			  "a URI, or service=NAME)");
		return -EINVAL;
	}
	err = db_check(x->conninfo, x->desc, sizeof(x->desc));
	if (err)
		return err;
	json_object_object_add(f->params, "db", json_object_new_string(x->desc));
	json_object_object_add(f->params, "leave", json_object_new_int64(x->leave));
	json_object_object_add(f->params, "max", json_object_new_int64(x->max));
	return 0;
}

static int exhaust_prepare(struct fault *f)
{
	struct exhaust *x = f->priv;
	PGconn *c = pg_start(x->conninfo, false);
	char v[64], msg[256];
	const char *su;
	long slots;
	int err = 0;

	if (!c || PQstatus(c) != CONNECTION_OK) {
		pg_msg(c, msg, sizeof(msg));
		log_error("--db %s: cannot connect: %s", x->desc, msg);
		PQfinish(c);
		return -ECONNREFUSED;
	}
	su = PQparameterStatus(c, "is_superuser");
	x->superuser = su && !strcmp(su, "on");
	if (pg_value(c, "SELECT pg_catalog.current_setting('max_connections')::int", v, sizeof(v))) {
		err = -EIO;
		goto out;
	}
	x->max_connections = atol(v);
	x->reserved = 0;
	if (!pg_value(c, "SELECT pg_catalog.current_setting('superuser_reserved_connections')::int", v, sizeof(v)))
		x->reserved += atol(v);
	/* PostgreSQL 16 adds reserved_connections (pg_use_reserved_connections). */
	if (!pg_value(c, "SELECT pg_catalog.current_setting('reserved_connections', true)", v, sizeof(v)) && *v)
		x->reserved += atol(v);
	if (!pg_value(c, "SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity "
		      "WHERE backend_type OPERATOR(pg_catalog.=) 'client backend'",
		      v, sizeof(v)))
		x->others = atol(v) - 1;	/* less this one */
	slots = x->max_connections - (x->superuser ? 0 : x->reserved) - x->others;
	x->slots = slots;
	json_object_object_add(f->state, "max_connections", json_object_new_int64(x->max_connections));
	json_object_object_add(f->state, "reserved", json_object_new_int64(x->reserved));
	json_object_object_add(f->state, "superuser", json_object_new_boolean(x->superuser));
	json_object_object_add(f->state, "others", json_object_new_int64(x->others));
	if (x->leave) {
		if ((long)x->leave >= slots) {
			log_error("--leave %" PRIu64 ": only %ld slots are free for this role "
				  "(max_connections %ld, reserved %ld, %ld in use); nothing to exhaust",
				  x->leave, slots, x->max_connections, x->reserved, x->others);
			err = -ERANGE;
			goto out;
		}
		x->target = slots - x->leave;
	} else {
		x->target = -1;
	}
	if ((x->target > 0 ? x->target : slots) > (long)x->max) {
		log_error("--max %" PRIu64 ": reaching the limit needs about %ld connections; "
			  "raise --max if that is meant", x->max, x->target > 0 ? x->target : slots);
		err = -ERANGE;
		goto out;
	}
	x->conns = calloc(x->max + 1, sizeof(*x->conns));
	if (!x->conns)
		err = -ENOMEM;
	raise_nofile();
out:
	if (err == -EIO) {
		pg_msg(c, msg, sizeof(msg));
		log_error("--db %s: cannot read the connection limits: %s", x->desc, msg);
	}
	PQfinish(c);
	return err;
}

/* One connection in flight and what it waits for. */
struct pending {
	PGconn *c;
	PostgresPollingStatusType st;
};

#define EXHAUST_INFLIGHT 32

/*
 * Open connections asynchronously, up to EXHAUST_INFLIGHT at a time, until
 * want are held (want < 0: until the server refuses one with 53300). Held
 * ones go to x->conns. Returns 0, or -ECONNREFUSED with msg for another error.
 */
static int exhaust_open(struct exhaust *x, long want, char *msg, size_t len)
{
	struct pending p[EXHAUST_INFLIGHT] = { 0 };
	struct pollfd pf[EXHAUST_INFLIGHT];
	int inflight = 0, err = 0;
	long launched = 0;
	bool stop = false;

	for (;;) {
		int map[EXHAUST_INFLIGHT], n = 0;

		/* Launch while the limit is not known to be reached. */
		for (int i = 0; i < EXHAUST_INFLIGHT && !stop; i++) {
			if (p[i].c)
				continue;
			if ((want >= 0 && x->held + inflight >= want) ||
			    launched >= (long)x->max + 1)
				break;
			/* Until a refusal: in parallel up to the free slots prepare
			 * saw, then one at a time, so few refused backends are forked. */
			if (want < 0 && x->held + inflight >= x->slots && inflight)
				break;
			p[i].c = pg_start(x->conninfo, true);
			if (!p[i].c || PQstatus(p[i].c) == CONNECTION_BAD) {
				pg_msg(p[i].c, msg, len);
				PQfinish(p[i].c);
				p[i].c = NULL;
				err = -ECONNREFUSED;
				stop = true;
				break;
			}
			PQsetErrorVerbosity(p[i].c, PQERRORS_VERBOSE);
			p[i].st = PGRES_POLLING_WRITING;
			inflight++;
			launched++;
		}
		if (!inflight)
			break;
		for (int i = 0; i < EXHAUST_INFLIGHT; i++) {
			if (!p[i].c)
				continue;
			pf[n] = (struct pollfd){
				.fd = PQsocket(p[i].c),
				.events = p[i].st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
			};
			map[n++] = i;
		}
		if (poll(pf, n, 5000) <= 0 && errno != EINTR) {
			snprintf(msg, len, "the server did not answer within 5s");
			err = -ETIMEDOUT;
			for (int i = 0; i < EXHAUST_INFLIGHT; i++)
				PQfinish(p[i].c), p[i].c = NULL;
			break;
		}
		for (int k = 0; k < n; k++) {
			struct pending *q = &p[map[k]];

			if (!pf[k].revents)
				continue;
			q->st = PQconnectPoll(q->c);
			if (q->st == PGRES_POLLING_OK) {
				x->conns[x->held++] = q->c;
			} else if (q->st == PGRES_POLLING_FAILED) {
				if (refused_53300(q->c)) {
					x->refused++;
					pg_msg(q->c, x->refusal, sizeof(x->refusal));
					memmove(x->refusal, strstr(x->refusal, "FATAL:") ?: x->refusal,
						strlen(strstr(x->refusal, "FATAL:") ?: x->refusal) + 1);
					stop = true;
				} else if (!err) {
					pg_msg(q->c, msg, len);
					err = -ECONNREFUSED;
					stop = true;
				}
				PQfinish(q->c);
			} else {
				continue;
			}
			q->c = NULL;
			inflight--;
		}
		if (x->held > (long)x->max) {
			stop = true;
			err = err ? err : -ERANGE;
		}
	}
	return err;
}

static int exhaust_apply(struct fault *f)
{
	struct exhaust *x = f->priv;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	long refused_before;
	char msg[256] = "";
	bool extra_refused = false;
	int err;

	err = exhaust_open(x, x->target, msg, sizeof(msg));
	x->to_limit_ms = (clock_ns(CLOCK_MONOTONIC) - t0) / NSEC_PER_MSEC;
	if (err == -ERANGE) {
		log_error("held %ld connections (--max) and the server still accepts more", x->held);
		goto fail;
	}
	if (err) {
		log_error("opening connections to %s failed after %ld: %s", x->desc, x->held, msg);
		goto fail;
	}
	/* Prove it: one more connection must be refused with 53300. With
	 * --leave the slots left are the point, so it is not attempted. */
	if (!x->leave) {
		/* Another client's connection that closed meanwhile (a health
		 * check's) frees a slot: take it and try again, a few times. */
		for (int tries = 0; tries < 5 && !err && !extra_refused; tries++) {
			refused_before = x->refused;
			err = exhaust_open(x, x->held + 1, msg, sizeof(msg));
			extra_refused = x->refused > refused_before;
		}
		if (err || !extra_refused) {
			log_error("one more connection was %s, not refused with SQLSTATE 53300%s%s",
				  err ? "refused otherwise" : "accepted", *msg ? ": " : "", msg);
			err = err ? err : -EAGAIN;
			goto fail;
		}
		/* Clients caught mid-connection at the limit (a health check) close
		 * and free their slots a moment later; without this, the next such
		 * client gets in for the whole hold. Take those slots too. */
		for (int settle = 0; settle < 4; settle++) {
			char m2[256] = "";

			usleep(100 * 1000);
			if (exhaust_open(x, x->held + 1, m2, sizeof(m2)))
				break;
		}
	}
	json_object_object_add(f->state, "held", json_object_new_int64(x->held));
	{
		json_object *e = json_object_new_object();

		json_object_object_add(e, "held", json_object_new_int64(x->held));
		json_object_object_add(e, "max_connections", json_object_new_int64(x->max_connections));
		json_object_object_add(e, "in_use_before", json_object_new_int64(x->others));
		json_object_object_add(e, "to_limit_ms", json_object_new_int64(x->to_limit_ms));
		if (!x->leave) {
			json_object_object_add(e, "extra_refused", json_object_new_boolean(extra_refused));
			json_object_object_add(e, "sqlstate", json_object_new_string(PG_TOO_MANY));
			json_object_object_add(e, "refusal", json_object_new_string(x->refusal));
		} else {
			json_object_object_add(e, "left", json_object_new_int64(x->leave));
		}
		fault_emit(f, EV_EXHAUSTED, e);
		json_object_put(e);
	}
	return 0;
fail:
	for (long i = 0; i < x->held; i++)
		PQfinish(x->conns[i]);
	x->held = 0;
	return err;
}

static void exhaust_describe(struct fault *f, char *buf, size_t len)
{
	struct exhaust *x = f->priv;

	snprintf(buf, len, "%ld connections to %s (max_connections %ld)", x->held, x->desc,
		 x->max_connections);
}

static int exhaust_counters(struct fault *f, struct fault_counter *c, int max)
{
	struct exhaust *x = f->priv;
	long alive = 0;

	if (max < 2)
		return 0;
	for (long i = 0; i < x->held; i++)
		alive += PQstatus(x->conns[i]) == CONNECTION_OK;
	c[0] = (struct fault_counter){ "held", alive };
	c[1] = (struct fault_counter){ "refused", x->refused };
	return 2;
}

/* Release everything, then time a normal query (retrying for up to 10s:
 * backends take a moment to exit). A failing query fails the run. */
static int exhaust_revert(struct fault *f)
{
	struct exhaust *x = f->priv;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), limit = t0 + 10 * NSEC_PER_SEC;
	json_object *e = json_object_new_object();
	char msg[256] = "";
	long released = x->held;
	bool ok;

	for (long i = 0; i < x->held; i++)
		PQfinish(x->conns[i]);
	x->held = 0;
	while (!(ok = pg_query_ok(x->conninfo, msg, sizeof(msg))) && clock_ns(CLOCK_MONOTONIC) < limit) {
		struct timespec ts = { 0, 20 * NSEC_PER_MSEC };

		nanosleep(&ts, NULL);
	}
	json_object_object_add(e, "released", json_object_new_int64(released));
	json_object_object_add(e, "query_ok", json_object_new_boolean(ok));
	json_object_object_add(e, "query_ms",
			       json_object_new_int64((clock_ns(CLOCK_MONOTONIC) - t0) / NSEC_PER_MSEC));
	if (!ok)
		json_object_object_add(e, "error", json_object_new_string(msg));
	fault_emit(f, ok ? EV_QUERY_OK : EV_QUERY_FAILED, e);
	json_object_put(e);
	if (!ok) {
		log_error("after the release a normal query to %s still fails: %s", x->desc, msg);
		f->failed = true;
	}
	return 0;
}

static void exhaust_destroy(struct fault *f)
{
	struct exhaust *x = f->priv;

	for (long i = 0; i < x->held; i++)
		PQfinish(x->conns[i]);
	free(x->conns);
	free(x->conninfo);
}

static const char *exhaust_backend(char *why, size_t len)
{
	snprintf(why, len, "libpq %d asynchronous connections; the kernel closes them if tug dies",
		 PQlibVersion());
	return "libpq";
}

const struct fault_ops pg_exhaust_ops = {
	.family = "pg",
	.verb = "exhaust",
	.summary = "hold every PostgreSQL connection slot until the server refuses (53300)",
	.usage =
		"  --db CONNINFO      libpq conninfo, URI or service=NAME (no password: use\n"
		"                     PGPASSFILE, ~/.pgpass or a service file)\n"
		"  --leave N          stop N slots below the limit instead (no refusal check)\n"
		"  --max N            never open more than N connections (default 1000)\n"
		"\n"
		"Opens asynchronous connections until the server refuses one with SQLSTATE\n"
		"53300, checks one more is refused, holds them to the deadline, releases all\n"
		"(also on Ctrl-C; the kernel closes them if tug is killed) and times a normal\n"
		"query after. Exit 1 when the limit is not reached or the query fails after.\n"
		"\n"
		"EXAMPLES\n"
		"  tug pg exhaust --db 'host=/run/postgresql dbname=app user=chaos' --for 60s\n"
		"  PGPASSFILE=/etc/tug/pgpass tug pg exhaust --db postgresql://chaos@db1/app --leave 5 --for 5m\n",
	.priv_size = sizeof(struct exhaust),
	.parse = exhaust_parse,
	.prepare = exhaust_prepare,
	.apply = exhaust_apply,
	.describe = exhaust_describe,
	.counters = exhaust_counters,
	.revert = exhaust_revert,
	.backend = exhaust_backend,
	.destroy = exhaust_destroy,
};

/* --------------------------------------------------------------- pg crash */

/* postmaster.pid: pid, data directory, start time (epoch s), port, ... */
static int read_postmaster_pid(const char *pgdata, pid_t *ret_pid, char *dir, size_t dlen,
			       uint64_t *ret_start_s)
{
	char path[PATH_MAX], line[PATH_MAX];
	uint64_t v;
	FILE *f;
	int err = -EBADMSG;

	snprintf(path, sizeof(path), "%s/postmaster.pid", pgdata);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fgets(line, sizeof(line), f) && (line[strcspn(line, "\n")] = '\0', 1) &&
	    !parse_uint(line, 2, INT_MAX, &v)) {
		*ret_pid = v;
		if (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(dir, dlen, "%s", line);
			if (fgets(line, sizeof(line), f)) {
				line[strcspn(line, "\n")] = '\0';
				if (!parse_uint(line, 0, UINT64_MAX / NSEC_PER_SEC, &v)) {
					*ret_start_s = v;
					err = 0;
				}
			}
		}
	}
	fclose(f);
	return err;
}

/* The process about to be killed is the data directory's postmaster: a
 * postgres executable, run by the directory's owner, working in it. The
 * directory and its postmaster.pid come from a setting or an option, the
 * pid from a file its owner writes: none of them may aim root elsewhere. */
static int postmaster_check(const struct victim *v, const char *pgdata, char *why, size_t len)
{
	char real[PATH_MAX], link[PATH_MAX];
	const char *base;
	uid_t ruid, euid;
	struct stat st, cwd;
	int err;

	if (stat(pgdata, &st))
		err = -errno;
	else
		err = victim_uids(v, &ruid, &euid);
	if (err) {
		snprintf(why, len, "%s", strerror(-err));
		return err;
	}
	if (st.st_uid == 0 || ruid != st.st_uid || euid != st.st_uid) {
		snprintf(why, len, "pid %d (%s) runs as uid %u, the data directory belongs to uid %u: "
			 "not its postmaster", v->pid, v->comm, (unsigned)euid, (unsigned)st.st_uid);
		return -EPERM;
	}
	err = victim_link(v, "exe", link, sizeof(link));
	if (err) {
		snprintf(why, len, "%s", strerror(-err));
		return err;
	}
	base = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	if (strncmp(base, "postgres", 8) && strncmp(base, "postmaster", 10)) {
		snprintf(why, len, "pid %d runs %.160s, which is not a postgres server", v->pid, link);
		return -EPERM;
	}
	/* The directory itself, not its name: a server started in another
	 * mount namespace (ip netns exec, a container) names the same
	 * directory by another path. stat() follows the link to it; the
	 * readlink after it proves the pid was still the victim's. */
	snprintf(real, sizeof(real), "/proc/%d/cwd", v->pid);
	if (stat(real, &cwd))
		err = errno == ENOENT ? -ESRCH : -errno;
	else
		err = victim_link(v, "cwd", link, sizeof(link));
	if (err) {
		snprintf(why, len, "%s", strerror(-err));
		return err;
	}
	if (cwd.st_dev != st.st_dev || cwd.st_ino != st.st_ino) {
		snprintf(why, len, "pid %d works in %.80s, not in the data directory %.80s", v->pid, link,
			 pgdata);
		return -EPERM;
	}
	return 0;
}

/* Each row's md5 of its text form, sorted: "every committed row is still
 * there" is then a merge of two sorted lists. */
struct rowset {
	char (*h)[33];
	long n;
};

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int table_ident(PGconn *c, const char *table, char *buf, size_t len)
{
	char part[256];
	const char *p = table;
	size_t off = 0;

	while (*p) {
		size_t n = strcspn(p, ".");
		char *q;

		if (!n || n >= sizeof(part))
			return -EINVAL;
		memcpy(part, p, n);
		part[n] = '\0';
		q = PQescapeIdentifier(c, part, n);
		if (!q)
			return -EINVAL;
		off += snprintf(buf + off, off < len ? len - off : 0, "%s%s", off ? "." : "", q);
		PQfreemem(q);
		p += n + (p[n] == '.');
	}
	return off && off < len ? 0 : -EINVAL;
}

static int rowset_read(PGconn *c, const char *table, struct rowset *ret, char *msg, size_t len)
{
	char ident[600], sql[700];
	PGresult *r;
	int err = 0;

	if (table_ident(c, table, ident, sizeof(ident))) {
		snprintf(msg, len, "not a table name");
		return -EINVAL;
	}
	snprintf(sql, sizeof(sql), "SELECT pg_catalog.md5(t::text) FROM %s AS t", ident);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(msg, len, "%s", PQresultErrorMessage(r));
		msg[strcspn(msg, "\n")] = '\0';
		PQclear(r);
		return -EIO;
	}
	ret->n = PQntuples(r);
	ret->h = calloc(ret->n ? ret->n : 1, sizeof(*ret->h));
	if (!ret->h)
		err = -ENOMEM;
	for (long i = 0; !err && i < ret->n; i++)
		snprintf(ret->h[i], sizeof(ret->h[i]), "%s", PQgetvalue(r, i, 0));
	PQclear(r);
	if (!err)
		qsort(ret->h, ret->n, sizeof(*ret->h), cmp_hash);
	return err;
}

/* How many rows of before are missing from after (as multisets). */
static long rowset_missing(const struct rowset *before, const struct rowset *after)
{
	long i = 0, j = 0, missing = 0;

	while (i < before->n) {
		int c = j < after->n ? cmp_hash(before->h[i], after->h[j]) : -1;

		if (c == 0)
			i++, j++;
		else if (c < 0)
			missing++, i++;
		else
			j++;
	}
	return missing;
}

enum { C_DB = 0x100, C_PGDATA, C_RESTART, C_VERIFY, C_WAIT };

static const char crash_usage[] =
	"usage: tug pg crash --db CONNINFO [--pgdata DIR] [--restart-cmd CMD] [--verify TABLE]\n"
	"                    [--wait DUR]\n"
	"\n"
	"SIGKILL the postmaster (its pid from postmaster.pid, checked against the server's\n"
	"recorded start after the pidfd is open) and measure the time until the server\n"
	"accepts queries again, after its supervisor or --restart-cmd restarts it.\n"
	"\n"
	"  --db CONNINFO      libpq conninfo (no password: PGPASSFILE or a service file)\n"
	"  --pgdata DIR       the data directory (default: the server's data_directory)\n"
	"  --restart-cmd CMD  run by /bin/sh once the postmaster is gone, retried until it\n"
	"                     succeeds (without it, a supervisor must restart the server)\n"
	"  --verify TABLE     every row of TABLE before the crash must be there after\n"
	"  --wait DUR         the bound (default 60s); exit 1 when not back in time\n"
	"  --json             one JSON object per event on stdout\n"
	"\n"
	"EXAMPLES\n"
	"  tug pg crash --db 'host=/run/postgresql user=postgres' --verify public.markers\n"
	"  tug pg crash --db 'host=/tmp/pg port=5433' --pgdata /srv/pg \\\n"
	"      --restart-cmd 'runuser -u postgres -- pg_ctl -D /srv/pg -w start' --wait 30s\n";

/* Run CMD through /bin/sh, its output on our stderr; its exit status, or
 * -errno when it could not start. */
static int run_shell(const char *cmd)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	pid_t pid;
	int err = spawn(&(struct spawn_opts){ .fds = { { 2, 1 } }, .n_fds = 1, .argv = argv }, &pid, NULL);

	return err ? err : spawn_wait(pid);
}

int cmd_pg_crash(int argc, char **argv, bool json)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, C_DB },
		{ "pgdata", required_argument, NULL, C_PGDATA },
		{ "restart-cmd", required_argument, NULL, C_RESTART },
		{ "verify", required_argument, NULL, C_VERIFY },
		{ "wait", required_argument, NULL, C_WAIT },
		ACTION_COMMON_OPTIONS,
		{},
	};
	struct action_out out = { .name = "pg crash" };
	const char *conninfo = NULL, *pgdata_arg = NULL, *restart = NULL, *table = NULL;
	struct rowset before = { 0 }, after = { 0 };
	char desc[256], pgdata[PATH_MAX] = "", piddir[PATH_MAX], msg[256] = "", v[64];
	uint64_t wait_ns = 60 * NSEC_PER_SEC, start_s = 0, recorded_boot = 0;
	uint64_t t0_mono, t0_real, deadline, t_exit = 0, t_up = 0;
	struct victim vic = { .pidfd = -1 };
	PGconn *c = NULL;
	pid_t pid = 0, newpid = 0;
	int opt, err, ret = 2, restarts = 0;
	long missing = -1;
	bool up = false;
	char unit[256] = "", why[512];

	optind = 0;
	while ((opt = action_getopt(argc, argv, opts, &json, &err)) >= 0) {
		switch (opt) {
		case C_DB: conninfo = optarg; break;
		case C_PGDATA: pgdata_arg = optarg; break;
		case C_RESTART: restart = optarg; break;
		case C_VERIFY: table = optarg; break;
		case C_WAIT:
			if (parse_duration(optarg, &wait_ns) || !wait_ns || wait_ns > 3600 * NSEC_PER_SEC) {
				fault_bad_option("--wait", optarg, "a duration up to 1h, like 30s or 2m");
				goto usage;
			}
			break;
		}
	}
	if (err == 1) {
		fputs(crash_usage, stdout);
		return EXIT_SUCCESS;
	}
	if (err)
		goto usage;
	if (!conninfo) {
		log_error("--db CONNINFO is required");
		goto usage;
	}
	if (db_check(conninfo, desc, sizeof(desc)))
		goto usage;
	out.json = json;
	signal(SIGPIPE, SIG_IGN);

	/* Before: the server answers, where it lives, who its postmaster is. */
	c = pg_start(conninfo, false);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		pg_msg(c, msg, sizeof(msg));
		log_error("--db %s: cannot connect before the crash: %s; nothing was killed", desc, msg);
		goto out;
	}
	if (pgdata_arg)
		snprintf(pgdata, sizeof(pgdata), "%s", pgdata_arg);
	else if (pg_value(c, "SELECT pg_catalog.current_setting('data_directory')", pgdata, sizeof(pgdata))) {
		log_error("cannot read data_directory (needs superuser or pg_read_all_settings); "
			  "give --pgdata DIR; nothing was killed");
		goto out;
	}
	err = read_postmaster_pid(pgdata, &pid, piddir, sizeof(piddir), &start_s);
	if (err) {
		log_error("%s/postmaster.pid: %s (is the server local and running?); nothing was killed",
			  pgdata, err == -EBADMSG ? "not a postmaster.pid" : strerror(-err));
		goto out;
	}
	/* The postmaster's recorded start: microseconds from the server, else
	 * the lock file's whole seconds (rounded up). */
	if (!pg_value(c, "SELECT (extract(epoch FROM pg_catalog.pg_postmaster_start_time()) "
		      "OPERATOR(pg_catalog.*) 1000000)::bigint",
		      v, sizeof(v)))
		recorded_boot = real_to_boot_ns(strtoull(v, NULL, 10) * 1000);
	else
		recorded_boot = real_to_boot_ns((start_s + 1) * NSEC_PER_SEC);
	if (table) {
		err = rowset_read(c, table, &before, msg, sizeof(msg));
		if (err) {
			log_error("--verify %s: %s; nothing was killed", table, msg);
			goto out;
		}
	}
	PQfinish(c);
	c = NULL;

	err = victim_open(pid, recorded_boot, &vic);
	if (err) {
		log_error("postmaster pid %d from %s/postmaster.pid: %s; nothing was killed", pid, pgdata,
			  err == -ESTALE ? "started after the server's recorded start (a reused pid)" :
			  err == -ESRCH ? "no such process (a stale postmaster.pid)" : strerror(-err));
		goto out;
	}
	err = postmaster_check(&vic, pgdata, msg, sizeof(msg));
	if (err) {
		log_error("postmaster pid %d from %s/postmaster.pid: %s; nothing was killed", pid, pgdata,
			  msg);
		goto out;
	}
	{
		json_object *x = json_object_new_object();

		json_object_object_add(x, "db", json_object_new_string(desc));
		json_object_object_add(x, "pgdata", json_object_new_string(pgdata));
		json_object_object_add(x, "postmaster_pid", json_object_new_int(pid));
		json_object_object_add(x, "comm", json_object_new_string(vic.comm));
		/* Whose restart policy decides what happens next: a systemd
		 * unit's (postgresql@15-main.service), when one runs it. */
		if (!access("/run/systemd/system", F_OK) && !systemd_unit_of(pid, unit, sizeof(unit)))
			json_object_object_add(x, "unit", json_object_new_string(unit));
		if (table) {
			json_object_object_add(x, "table", json_object_new_string(table));
			json_object_object_add(x, "rows", json_object_new_int64(before.n));
		}
		action_emit(&out, EV_TARGET, x);
	}

	ret = EXIT_FAILURE;
	t0_mono = clock_ns(CLOCK_MONOTONIC);
	t0_real = clock_ns(CLOCK_REALTIME);
	deadline = t0_mono + wait_ns;
	err = syscall(SYS_pidfd_send_signal, vic.pidfd, SIGKILL, NULL, 0) ? -errno : 0;
	{
		json_object *x = json_object_new_object();

		json_object_object_add(x, "pid", json_object_new_int(pid));
		json_object_object_add(x, "signal", json_object_new_string("KILL"));
		json_object_object_add(x, "ok", json_object_new_boolean(!err));
		action_emit(&out, EV_SIGNALLED, x);
	}
	if (err) {
		log_errno(err, "pidfd_send_signal to the postmaster %d", pid);
		goto out;
	}
	{
		struct pollfd p = { .fd = vic.pidfd, .events = POLLIN };
		int left = (deadline - clock_ns(CLOCK_MONOTONIC)) / NSEC_PER_MSEC;
		json_object *x = json_object_new_object();

		while (poll(&p, 1, left > 0 ? left : 0) < 0 && errno == EINTR)
			;
		t_exit = clock_ns(CLOCK_MONOTONIC);
		json_object_object_add(x, "pid", json_object_new_int(pid));
		json_object_object_add(x, "after_ms", json_object_new_int64((t_exit - t0_mono) / NSEC_PER_MSEC));
		action_emit(&out, EV_EXITED, x);
	}

	/* Until queries work: restart (retried: the dead postmaster's children
	 * hold its shared memory for a moment) and probe every 20 ms. */
	while (clock_ns(CLOCK_MONOTONIC) < deadline) {
		struct timespec ts = { 0, 20 * NSEC_PER_MSEC };

		if (pg_query_ok(conninfo, msg, sizeof(msg))) {
			up = true;
			t_up = clock_ns(CLOCK_MONOTONIC);
			break;
		}
		if (restart && !restarts) {
			int rc = run_shell(restart);
			json_object *x = json_object_new_object();

			json_object_object_add(x, "exit", json_object_new_int(rc));
			json_object_object_add(x, "after_ms", json_object_new_int64(
				(clock_ns(CLOCK_MONOTONIC) - t0_mono) / NSEC_PER_MSEC));
			action_emit(&out, EV_RESTART_CMD, x);
			if (rc == 0)
				restarts++;
			else
				ts.tv_nsec = 250 * NSEC_PER_MSEC;
		}
		nanosleep(&ts, NULL);
	}
	{
		json_object *x = json_object_new_object();
		uint64_t sst = 0;
		char nd[PATH_MAX];

		if (up && !read_postmaster_pid(pgdata, &newpid, nd, sizeof(nd), &sst))
			json_object_object_add(x, "new_postmaster_pid", json_object_new_int(newpid));
		json_object_object_add(x, "ok", json_object_new_boolean(up));
		if (up)
			json_object_object_add(x, "to_accepting_ms",
					       json_object_new_int64((t_up - t0_mono) / NSEC_PER_MSEC));
		else
			json_object_object_add(x, "error", json_object_new_string(msg));
		action_emit(&out, up ? EV_ACCEPTING : EV_NOT_ACCEPTING, x);
	}
	if (up && table) {
		c = pg_start(conninfo, false);
		if (c && PQstatus(c) == CONNECTION_OK &&
		    !rowset_read(c, table, &after, msg, sizeof(msg))) {
			missing = rowset_missing(&before, &after);
		} else {
			if (!*msg)
				pg_msg(c, msg, sizeof(msg));
		}
		json_object *x = json_object_new_object();

		json_object_object_add(x, "table", json_object_new_string(table));
		json_object_object_add(x, "rows_before", json_object_new_int64(before.n));
		json_object_object_add(x, "rows_after", json_object_new_int64(after.n));
		json_object_object_add(x, "missing", json_object_new_int64(missing));
		if (missing < 0)
			json_object_object_add(x, "error", json_object_new_string(msg));
		action_emit(&out, EV_VERIFIED, x);
	}
	{
		bool pass = up && (!table || missing == 0);
		json_object *x = json_object_new_object();
		char dur[32];

		json_object_object_add(x, "pass", json_object_new_boolean(pass));
		json_object_object_add(x, "bound", json_object_new_string(format_duration(wait_ns, dur, sizeof(dur))));
		json_object_object_add(x, "old_pid", json_object_new_int(pid));
		if (newpid)
			json_object_object_add(x, "new_pid", json_object_new_int(newpid));
		json_object_object_add(x, "kill_ms", json_object_new_int64(t0_real / NSEC_PER_MSEC));
		json_object_object_add(x, "to_exit_ms", json_object_new_int64((t_exit - t0_mono) / NSEC_PER_MSEC));
		if (up)
			json_object_object_add(x, "to_accepting_ms",
					       json_object_new_int64((t_up - t0_mono) / NSEC_PER_MSEC));
		if (table)
			json_object_object_add(x, "missing_rows", json_object_new_int64(missing));
		if (!pass) {
			struct unit_state u;

			snprintf(why, sizeof(why), "%s",
				 !up ? "not accepting queries within the bound" : "rows missing after the crash");
			/* A fact, not a guess: did the server's manager bring it back? */
			if (!up && *unit && !systemd_show(unit, &u))
				snprintf(why, sizeof(why), "not accepting queries within the bound: %s is %s (%s), "
					 "NRestarts=%" PRId64 ", main pid %d; %s", unit, u.active, u.sub, u.restarts,
					 u.main_pid, !strcmp(u.active, "active") || !strcmp(u.active, "activating") ?
					 "systemd restarted it, but it does not answer" :
					 "systemd did not restart it (its Restart= policy)");
			json_object_object_add(x, "why", json_object_new_string(why));
		}
		action_emit(&out, pass ? EV_PASS : EV_FAIL, x);
		ret = pass ? EXIT_SUCCESS : EXIT_FAILURE;
	}
out:
	PQfinish(c);
	victim_close(&vic);
	free(before.h);
	free(after.h);
	return ret;
usage:
	log_error("nothing was killed; see 'tug pg crash --help'");
	return 2;
}
