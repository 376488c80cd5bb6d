// SPDX-License-Identifier: GPL-2.0
/* Directories and files written as root where others could plant links;
 * see safefile.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "safefile.h"

static bool ours(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* One component below dirfd, as a directory fd: a symlink is followed only
 * when its owner could have written the target anyway. */
static int open_component(int dirfd, const char *comp, bool create, const char *path,
			  char *why, size_t len)
{
	struct stat st;
	int fd;

	fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dirfd, comp, 0755) && errno != EEXIST)
			return -errno;
		fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd >= 0 || (errno != ELOOP && errno != ENOTDIR))
		return fd >= 0 ? fd : -errno;
	if (fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (!S_ISLNK(st.st_mode))
		return -ENOTDIR;
	if (!ours(st.st_uid)) {
		snprintf(why, len, "%s: '%s' on the way is a symlink owned by uid %u; not followed "
			 "(give the real path)", path, comp, (unsigned)st.st_uid);
		return -EPERM;
	}
	fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

int safe_dir_open(const char *path, bool create, int *ret_fd, char *why, size_t len)
{
	char buf[PATH_MAX], *save = NULL, *comp;
	int fd = -1, err = 0;
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	fd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int next = open_component(fd, comp, create, path, why, len);

		close(fd);
		fd = next;
		if (fd < 0) {
			err = fd;
			goto out;
		}
	}
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(why, len, "%s: the directory is %s (mode %04o, uid %u): others could plant "
			 "files or links in it; give a new path (tug creates it) or a directory only "
			 "you can write", path, st.st_uid != geteuid() ? "not yours" : "writable by others",
			 (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		err = -EPERM;
		goto out;
	}
	*ret_fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return err;
}

static void tmp_name(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, ".%s.tmp", name);
}

int safe_file_create(int dirfd, const char *name, mode_t mode, FILE **ret)
{
	char tmp[NAME_MAX + 1];
	FILE *f;
	int fd;

	if (strlen(name) + 6 > NAME_MAX || strchr(name, '/'))
		return -EINVAL;
	tmp_name(name, tmp, sizeof(tmp));
	/* A leftover of a crash, or a plant: unlinkat removes the link itself. */
	if (unlinkat(dirfd, tmp, 0) && errno != ENOENT)
		return -errno;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		int err = -errno;

		close(fd);
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	*ret = f;
	return 0;
}

int safe_file_commit(int dirfd, const char *name, FILE *f)
{
	char tmp[NAME_MAX + 1];
	int err = 0;

	tmp_name(name, tmp, sizeof(tmp));
	if (fflush(f) || ferror(f) || fsync(fileno(f)))
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}

void safe_file_abort(int dirfd, const char *name, FILE *f)
{
	char tmp[NAME_MAX + 1];

	tmp_name(name, tmp, sizeof(tmp));
	fclose(f);
	unlinkat(dirfd, tmp, 0);
}

int safe_file_write(const char *path, const char *text, mode_t mode, char *why, size_t len)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	FILE *f = NULL;
	int dfd = -1, err;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path),
			  path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	err = safe_dir_open(dir, false, &dfd, why, len);
	if (!err)
		err = safe_file_create(dfd, name, mode, &f);
	if (!err && fputs(text, f) < 0) {
		safe_file_abort(dfd, name, f);
		err = -EIO;
	} else if (!err) {
		err = safe_file_commit(dfd, name, f);
	}
	if (dfd >= 0)
		close(dfd);
	return err;
}

int path_trusted(const char *path, char *why, size_t len)
{
	char real[PATH_MAX];
	struct stat st;

	if (!realpath(path, real))
		return -errno;
	for (;;) {
		bool dir;
		char *slash;

		if (lstat(real, &st))
			return -errno;
		dir = S_ISDIR(st.st_mode);
		if (!ours(st.st_uid) || ((st.st_mode & 022) && !(dir && (st.st_mode & S_ISVTX)))) {
			snprintf(why, len, "%s: %s %s is %s (mode %04o, uid %u), so others could change "
				 "what runs as root later; keep it where only root can write", path,
				 dir ? "the directory" : "the file", real,
				 !ours(st.st_uid) ? "not root's" : "writable by others",
				 (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
			return -EPERM;
		}
		if (!strcmp(real, "/"))
			return 0;
		slash = strrchr(real, '/');
		slash[slash == real] = '\0';	/* up one level; "/x" becomes "/" */
	}
}
