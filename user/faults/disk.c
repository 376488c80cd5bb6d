// SPDX-License-Identifier: GPL-2.0
/*
 * Disk faults: fill the filesystem holding a directory until exactly the
 * asked free space is left, with one preallocated file, and give the space
 * back at the end.
 *
 * "Free" is what df shows as Avail and what an unprivileged service can
 * still write (statvfs f_bavail). The file is fallocate()d in chunks, or
 * written with incompressible data where the filesystem has no fallocate,
 * and then trimmed or grown until the free space is the target within one
 * block (metadata the filesystem spends on the file included).
 *
 * A fill file outlives tug and even a reboot, so its journal entry is
 * persistent (/var/lib/tug), a guardian removes it within a second of a
 * SIGKILL, and `tug recover` removes it after a crash of both. Only the
 * file tug created is ever removed: its random name and inode are checked.
 * Protected filesystems (protect.h) are refused before anything is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "journal.h"
#include "log.h"
#include "parse.h"
#include "protect.h"

#define FILL_PREFIX ".tug-fill-"
#define FILL_CHUNK (256ULL << 20)	/* per fallocate()/progress step */
#define WRITE_BUF (1ULL << 20)

enum disk_counter { DISK_FILLED, DISK_FREE, DISK_COUNTER_MAX };
static const char *const counter_names[DISK_COUNTER_MAX] = {
	[DISK_FILLED] = "filled_bytes",
	[DISK_FREE] = "free_bytes",
};

struct disk_priv {
	char *path_arg;
	char dir[4096];
	char file[4096 + 32];
	bool have_leave, have_size;
	struct size_or_pct leave;
	uint64_t size;

	uint64_t fs_size, free_before, target_free, fill_bytes, bsize;
	int fd;
	bool by_writes;
	uint64_t free_after;
};

static int disk_parse(struct fault *f, int argc, char **argv)
{
	enum { OPT_PATH = 1, OPT_LEAVE, OPT_SIZE };
	static const struct option opts[] = {
		{ "path", required_argument, NULL, OPT_PATH },
		{ "leave", required_argument, NULL, OPT_LEAVE },
		{ "size", required_argument, NULL, OPT_SIZE },
		FAULT_COMMON_OPTIONS,
		{},
	};
	struct disk_priv *p = f->priv;
	char buf[32];
	int opt, err;

	p->fd = -1;
	while ((opt = fault_getopt(f, argc, argv, opts, &err)) >= 0) {
		switch (opt) {
		case OPT_PATH:
			if (!*optarg)
				return fault_bad_option("--path", optarg, "a directory");
			free(p->path_arg);
			p->path_arg = strdup(optarg);
			if (!p->path_arg)
				return -ENOMEM;
			break;
		case OPT_LEAVE:
			if (parse_size_or_pct(optarg, &p->leave) ||
			    (p->leave.is_pct && p->leave.pct >= 100))
				return fault_bad_option("--leave", optarg,
							"a size or a percentage below 100 of free space to leave, like 512M, 2G or 5%");
			p->have_leave = true;
			break;
		case OPT_SIZE:
			if (parse_size(optarg, &p->size) || !p->size)
				return fault_bad_option("--size", optarg,
							"a size above 0 to fill, like 512M or 2G");
			p->have_size = true;
			break;
		}
	}
	if (err)
		return err;
	if (!p->path_arg) {
		log_error("--path: required; give a directory on the filesystem to fill, like --path /srv/scratch");
		return -EINVAL;
	}
	if (p->have_leave == p->have_size) {
		log_error("%s: give exactly one of --leave SIZE|PCT (free space to leave) and --size SIZE (space to take)",
			  p->have_leave ? "--leave and --size" : "--leave or --size");
		return -EINVAL;
	}
	json_object_object_add(f->params, "path", json_object_new_string(p->path_arg));
	if (p->have_size)
		json_object_object_add(f->params, "size", json_object_new_int64(p->size));
	else if (p->leave.is_pct)
		json_object_object_add(f->params, "leave_pct", json_object_new_double(p->leave.pct));
	else
		json_object_object_add(f->params, "leave", json_object_new_string(format_size(p->leave.bytes, buf, sizeof(buf))));
	return 0;
}

static int fs_free(const char *dir, uint64_t *ret_free, uint64_t *ret_size, uint64_t *ret_bsize)
{
	struct statvfs sv;

	if (statvfs(dir, &sv))
		return -errno;
	*ret_free = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (ret_size)
		*ret_size = (uint64_t)sv.f_blocks * sv.f_frsize;
	if (ret_bsize)
		*ret_bsize = sv.f_frsize;
	return 0;
}

static int disk_prepare(struct fault *f)
{
	struct disk_priv *p = f->priv;
	struct protect_env env;
	char why[8192], a[32], b[32];
	uint32_t rnd;
	int r;

	if (!realpath(p->path_arg, p->dir)) {
		r = -errno;
		log_errno(r, "--path: cannot use '%s'", p->path_arg);
		return r;
	}
	protect_env_default(&env);
	r = protect_check(&env, p->dir, why, sizeof(why));
	if (r < 0)
		return log_errno(r, "--path: cannot examine '%s'", p->dir);
	if (r > 0) {
		log_error("--path: %s is protected: %s; tug never fills it", p->dir, why);
		return -EPERM;
	}
	if (access(p->dir, W_OK))
		return log_errno(-errno, "--path: cannot write in %s", p->dir);

	r = fs_free(p->dir, &p->free_before, &p->fs_size, &p->bsize);
	if (r)
		return log_errno(r, "--path: statvfs %s", p->dir);
	if (p->have_size) {
		if (p->size > p->free_before) {
			log_error("--size: %s asked but only %s is free on %s",
				  format_size(p->size, a, sizeof(a)),
				  format_size(p->free_before, b, sizeof(b)), p->dir);
			return -ENOSPC;
		}
		p->target_free = p->free_before - p->size;
	} else if (p->leave.is_pct) {
		p->target_free = (uint64_t)((double)p->fs_size * p->leave.pct / 100.0);
	} else {
		p->target_free = p->leave.bytes;
	}
	if (p->target_free >= p->free_before) {
		log_error("--leave: %s is already free on %s, no more than asked to leave (%s); nothing to fill",
			  format_size(p->free_before, a, sizeof(a)), p->dir,
			  format_size(p->target_free, b, sizeof(b)));
		return -EINVAL;
	}
	p->fill_bytes = p->free_before - p->target_free;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -errno;
	snprintf(p->file, sizeof(p->file), "%s%s" FILL_PREFIX "%08" PRIx32,
		 p->dir, strcmp(p->dir, "/") ? "/" : "", rnd);

	{
		struct stat st;

		if (stat(p->dir, &st))
			return log_errno(-errno, "--path: stat %s", p->dir);
		/* Two fills on one filesystem: each would measure the other's file
		 * as used space. */
		fault_add_knob(f, "filesystem %u:%u (%s)", major(st.st_dev), minor(st.st_dev), p->dir);
	}
	/* The file outlives tug, even a reboot: guardian and persistent journal. */
	f->needs_guardian = true;
	f->persistent = true;
	json_object_object_add(f->state, "file", json_object_new_string(p->file));
	json_object_object_add(f->state, "fs_size", json_object_new_int64(p->fs_size));
	json_object_object_add(f->state, "free_before", json_object_new_int64(p->free_before));
	json_object_object_add(f->state, "target_free", json_object_new_int64(p->target_free));
	return 0;
}

/* Ctrl-C or a revert during a long fill: stop filling; the hold that
 * follows sees the (blocked, pending) signal and reverts at once. */
static bool stop_asked(void)
{
	sigset_t pend;

	if (sigpending(&pend))
		return false;
	return sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM) ||
	       sigismember(&pend, SIGHUP);
}

static int write_range(int fd, const char *buf, uint64_t off, uint64_t len)
{
	while (len) {
		size_t n = len < WRITE_BUF ? len : WRITE_BUF;
		ssize_t w = pwrite(fd, buf, n, off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += w;
		len -= w;
	}
	return 0;
}

/* Grow the file by len bytes from off: fallocate, else writes. */
static int grow(struct disk_priv *p, const char *buf, uint64_t off, uint64_t len)
{
	if (!p->by_writes) {
		if (!fallocate(p->fd, 0, off, len))
			return 0;
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		p->by_writes = true;
		log_info("%s has no fallocate; filling by writes", p->dir);
	}
	return write_range(p->fd, buf, off, len);
}

static void progress(struct fault *f, uint64_t done, uint64_t *last_ms)
{
	struct disk_priv *p = f->priv;
	json_object *x;
	uint64_t now = (mono_ns() / NSEC_PER_MSEC);

	if (f->quiet || now - *last_ms < 1000)
		return;
	*last_ms = now;
	x = json_object_new_object();
	json_object_object_add(x, "filled_bytes", json_object_new_int64(done));
	json_object_object_add(x, "fill_bytes", json_object_new_int64(p->fill_bytes));
	json_object_object_add(x, "percent", json_object_new_int(p->fill_bytes ? done * 100 / p->fill_bytes : 100));
	fault_emit(f, EV_FILLING, x);
	json_object_put(x);
}

/* Make free space equal the target, within a block: the filesystem spends
 * metadata on the file and other writers come and go. */
static int converge(struct disk_priv *p, const char *buf, uint64_t *size)
{
	uint64_t cap = FILL_CHUNK;
	struct stat st;

	/* A failed fallocate or write may have left part of its range. */
	if (fstat(p->fd, &st))
		return -errno;
	*size = st.st_size;
	for (int i = 0; i < 64; i++) {
		uint64_t cur = 0;
		int64_t diff;
		int err;

		if (p->by_writes && fdatasync(p->fd))
			return -errno;
		err = fs_free(p->dir, &cur, NULL, NULL);
		if (err)
			return err;
		diff = (int64_t)(cur - p->target_free);
		if (diff >= 0 && (uint64_t)diff < p->bsize)
			return 0;
		if (diff > 0) {
			uint64_t more = (uint64_t)diff / p->bsize * p->bsize;

			if (more > cap)
				more = cap;
			err = grow(p, buf, *size, more);
			if (err == -ENOSPC) {
				if (more <= p->bsize)
					return 0;	/* metadata took the rest */
				cap = more / 2 / p->bsize * p->bsize;
				if (fstat(p->fd, &st))
					return -errno;
				*size = st.st_size;
				continue;
			}
			if (err)
				return err;
			*size += more;
		} else {
			uint64_t less = ((uint64_t)-diff + p->bsize - 1) / p->bsize * p->bsize;

			if (less > *size)
				less = *size;
			if (!less)
				return 0;
			*size -= less;
			if (ftruncate(p->fd, *size))
				return -errno;
		}
	}
	return 0;
}

/* Truncate through the fd before closing: the space comes back whatever
 * name the file has now (renamed, or hard-linked elsewhere meanwhile). */
static void release_fill(struct disk_priv *p)
{
	if (p->fd < 0)
		return;
	if (ftruncate(p->fd, 0))
		log_errno(-errno, "truncating %s", p->file);
	close(p->fd);
	p->fd = -1;
}

static int remove_fill(const char *file, int64_t ino)
{
	struct stat st;

	if (lstat(file, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode) || (ino > 0 && (int64_t)st.st_ino != ino)) {
		log_warn("%s is not the fill file tug created; left alone", file);
		return 0;
	}
	if (unlink(file) && errno != ENOENT)
		return -errno;
	return 0;
}

static int disk_apply(struct fault *f)
{
	struct disk_priv *p = f->priv;
	uint64_t size = 0, last = (mono_ns() / NSEC_PER_MSEC);
	char *buf = NULL;
	struct stat st = { 0 };
	int err;

	p->fd = open(p->file, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (p->fd < 0)
		return log_errno(-errno, "creating %s", p->file);
	if (fstat(p->fd, &st)) {
		err = -errno;
		goto fail;
	}
	json_object_object_add(f->state, "inode", json_object_new_int64(st.st_ino));
	err = fault_journal_update(f);
	if (err) {
		log_errno(err, "journal update");
		goto fail;
	}
	/* Written only if the filesystem lacks fallocate; random so that a
	 * compressing filesystem cannot shrink it. */
	buf = malloc(WRITE_BUF);
	if (!buf) {
		err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < WRITE_BUF; i += 256)
		getrandom(buf + i, 256, 0);

	while (size < p->fill_bytes && !stop_asked()) {
		uint64_t n = p->fill_bytes - size;

		if (n > FILL_CHUNK)
			n = FILL_CHUNK;
		err = grow(p, buf, size, n);
		if (err == -ENOSPC)
			break;	/* metadata took its share: converge goes on in smaller steps */
		if (err) {
			log_errno(err, "filling %s", p->file);
			goto fail;
		}
		size += n;
		progress(f, size, &last);
	}
	if (!stop_asked()) {
		err = converge(p, buf, &size);
		if (err) {
			log_errno(err, "adjusting %s", p->file);
			goto fail;
		}
	}
	free(buf);
	fs_free(p->dir, &p->free_after, NULL, NULL);
	json_object_object_add(f->state, "free_after", json_object_new_int64(p->free_after));
	json_object_object_add(f->state, "file_bytes", json_object_new_int64(size));
	json_object_object_add(f->state, "method", json_object_new_string(p->by_writes ? "write" : "fallocate"));
	return 0;
fail:
	free(buf);
	release_fill(p);
	remove_fill(p->file, st.st_ino);
	return err;
}

static int disk_counters(struct fault *f, struct fault_counter *c, int max)
{
	struct disk_priv *p = f->priv;
	struct stat st;
	uint64_t fr = 0;

	if (p->fd < 0 || max < DISK_COUNTER_MAX)
		return 0;
	c[DISK_FILLED] = (struct fault_counter){ counter_names[DISK_FILLED],
		fstat(p->fd, &st) ? 0 : (uint64_t)st.st_blocks * 512 };
	fs_free(p->dir, &fr, NULL, NULL);
	c[DISK_FREE] = (struct fault_counter){ counter_names[DISK_FREE], fr };
	return DISK_COUNTER_MAX;
}

static int disk_revert(struct fault *f)
{
	struct disk_priv *p = f->priv;
	int64_t ino = json_get_int(f->state, "inode", 0);

	release_fill(p);
	return remove_fill(p->file, ino);
}

static int disk_recover(json_object *entry)
{
	json_object *state = json_get(entry, "state");
	const char *file = json_get_str(state, "file", NULL);
	const char *base;

	if (!file)
		return 0;
	/* Only ever a file named the way tug names fill files. */
	base = strrchr(file, '/');
	if (!base || strncmp(base + 1, FILL_PREFIX, strlen(FILL_PREFIX)))
		return -EINVAL;
	return remove_fill(file, json_get_int(state, "inode", 0));
}

static void disk_describe(struct fault *f, char *buf, size_t len)
{
	struct disk_priv *p = f->priv;
	char a[32], b[32], c[32];

	snprintf(buf, len, "%s: %s left free of %s (target %s) by %s (%s)", p->dir,
		 format_size(p->free_after, a, sizeof(a)), format_size(p->fs_size, b, sizeof(b)),
		 format_size(p->target_free, c, sizeof(c)), strrchr(p->file, '/') + 1,
		 p->by_writes ? "written" : "fallocate");
}

static const char *disk_backend(char *why, size_t len)
{
	snprintf(why, len, "one fallocate()d file (writes where unsupported); removed by a "
		 "guardian and by tug recover, journal in %s", journal_state_dir());
	return "fallocate";
}

static void disk_destroy(struct fault *f)
{
	struct disk_priv *p = f->priv;

	if (p->fd >= 0)
		close(p->fd);
	free(p->path_arg);
}

const struct fault_ops disk_fill_ops = {
	.family = "disk",
	.verb = "fill",
	.summary = "fill a filesystem until exactly the asked free space is left",
	.usage = "Options:\n"
		 "  --path DIR         a directory on the filesystem to fill (the file goes there)\n"
		 "  --leave SIZE|PCT   free space to leave (df's Avail): 512M, 2G, or a share of\n"
		 "                     the filesystem's size, like 5%\n"
		 "  --size SIZE        space to take instead, like 10G\n"
		 "\nRefused (exit 2, nothing written): the root filesystem, /dev, /boot, /usr,\n"
		 "pseudo filesystems, tug's journal, any filesystem holding a PostgreSQL data\n"
		 "directory (a PG_VERSION file; running servers are found through /proc) and any\n"
		 "path listed in /etc/tug/protected (TUG_PROTECTED moves it).\n"
		 "\nExamples:\n"
		 "  tug disk fill --path /srv/scratch --leave 5% --for 5m\n"
		 "  tug disk fill --path /var/cache/app --leave 200M --for 60s\n"
		 "  tug disk fill --path /mnt/data --size 10G --for 2m\n",
	.priv_size = sizeof(struct disk_priv),
	.parse = disk_parse,
	.prepare = disk_prepare,
	.apply = disk_apply,
	.describe = disk_describe,
	.counters = disk_counters,
	.revert = disk_revert,
	.recover = disk_recover,
	.backend = disk_backend,
	.destroy = disk_destroy,
};
