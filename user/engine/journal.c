// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "json.h"

const char *journal_run_dir(void)
{
	const char *d = getenv("TUG_RUN_DIR");

	return d && *d ? d : "/run/tug";
}

const char *journal_state_dir(void)
{
	const char *d = getenv("TUG_STATE_DIR");

	return d && *d ? d : "/var/lib/tug";
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static int faults_dir(bool persistent, char *buf, size_t len)
{
	const char *base = persistent ? journal_state_dir() : journal_run_dir();

	if (snprintf(buf, len, "%s/faults", base) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

int journal_write(json_object *entry, bool persistent)
{
	char dir[4096], path[4200], tmp[4210];
	const char *id = json_get_str(entry, "id", NULL);
	const char *text;
	size_t len;
	int fd = -1, err;

	if (!id)
		return -EINVAL;
	err = faults_dir(persistent, dir, sizeof(dir));
	if (err)
		return err;
	err = mkdir_p(dir, 0700);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%s.json", dir, id);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	text = json_line(entry);
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* The intent must be written before the fault exists, and replace the
	 * old entry whole: write, rename over it. A persistent entry names state
	 * that survives a reboot (a fill file), so it must survive a power loss
	 * too: fsync the file before the rename and the directory after. A
	 * run-time entry names state that a reboot removes with it (links,
	 * filters, limits, processes): the page cache outlives any crash of
	 * tug, and an fsync would only cost the onset (0.5 ms each here). */
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		err = errno ? -errno : -EIO;
		goto cleanup;
	}
	if (persistent && fsync(fd)) {
		err = -errno;
		goto cleanup;
	}
	if (rename(tmp, path)) {
		err = -errno;
		goto cleanup;
	}
	if (persistent)
		err = fsync_path(dir, O_RDONLY | O_DIRECTORY);
cleanup:
	close(fd);
	if (err)
		unlink(tmp);
	return err;
}

int journal_remove(const char *id)
{
	int removed = 0;

	for (int p = 0; p < 2; p++) {
		char dir[4096], path[4200];

		if (faults_dir(p, dir, sizeof(dir)))
			continue;
		snprintf(path, sizeof(path), "%s/%s.json.tmp", dir, id);
		unlink(path);	/* a write interrupted by a crash */
		snprintf(path, sizeof(path), "%s/%s.json", dir, id);
		if (unlink(path) == 0) {
			removed++;
			if (p)
				fsync_path(dir, O_RDONLY | O_DIRECTORY);
		} else if (errno != ENOENT) {
			return -errno;
		}
	}
	return removed ? 0 : -ENOENT;
}

static int load_file(const char *path, json_object **ret)
{
	json_object *o = json_object_from_file(path);

	if (!o)
		return access(path, F_OK) ? -ENOENT : -EBADMSG;
	if (!json_object_is_type(o, json_type_object) || !json_get_str(o, "id", NULL)) {
		json_object_put(o);
		return -EBADMSG;
	}
	*ret = o;
	return 0;
}

static int valid_id(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
		      id[i] == '-'))
			return 0;
	return 1;
}

int journal_load(const char *id, json_object **ret)
{
	if (!valid_id(id))
		return -EINVAL;
	for (int p = 0; p < 2; p++) {
		char dir[4096], path[4200];
		int err;

		if (faults_dir(p, dir, sizeof(dir)))
			continue;
		snprintf(path, sizeof(path), "%s/%s.json", dir, id);
		err = load_file(path, ret);
		if (err != -ENOENT)
			return err;
	}
	return -ENOENT;
}

static int cmp_start(const void *a, const void *b)
{
	json_object *const *x = a, *const *y = b;
	int64_t sx = json_get_int(*x, "started_ns", 0), sy = json_get_int(*y, "started_ns", 0);

	return (sx > sy) - (sx < sy);
}

int journal_list(json_object **ret)
{
	json_object *arr = json_object_new_array();

	if (!arr)
		return -ENOMEM;
	for (int p = 0; p < 2; p++) {
		char dir[4096];
		struct dirent *de;
		DIR *d;

		if (faults_dir(p, dir, sizeof(dir)))
			continue;
		d = opendir(dir);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			char path[4400];
			size_t n = strlen(de->d_name);
			json_object *o;

			if (n < 6 || strcmp(de->d_name + n - 5, ".json"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (load_file(path, &o) == 0)
				json_object_array_add(arr, o);
		}
		closedir(d);
	}
	json_object_array_sort(arr, cmp_start);
	*ret = arr;
	return 0;
}

int journal_sweep(void)
{
	json_object *list;
	int err, n = 0;

	err = journal_list(&list);
	if (err)
		return err;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);
		json_object *k = json_get(e, "kernel_owned");

		if (k && json_object_get_boolean(k) && !journal_owner_alive(e) &&
		    journal_remove(json_get_str(e, "id", "")) == 0)
			n++;
	}
	json_object_put(list);
	return n;
}

int journal_lock(void)
{
	int fd, err;

	err = mkdir_p(journal_run_dir(), 0700);
	if (err)
		return err;
	/* The directory itself is the lock: no lock file is left behind. */
	fd = open(journal_run_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX)) {
		if (errno != EINTR) {
			err = -errno;
			close(fd);
			return err;
		}
	}
	return fd;
}

bool journal_owner_alive(json_object *entry)
{
	pid_t pid = json_get_int(entry, "owner_pid", 0);
	uint64_t start;

	if (pid <= 0 || proc_start_time(pid, &start))
		return false;
	return start == (uint64_t)json_get_int(entry, "owner_start", -1);
}
