/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Files root writes where other users may have been first: a report
 * directory, a known_hosts file, a schedule. Directories are walked one
 * component at a time from file descriptors, files are created with
 * O_EXCL|O_NOFOLLOW under a temporary name and renamed into place, so a
 * symlink or a file planted by someone else is never written through.
 */
#ifndef TUG_SAFEFILE_H
#define TUG_SAFEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Open directory path (created, mode 0755, when create and missing) as
 * *ret_fd, one component at a time from the previous one's fd (a
 * directory swapped on the way changes nothing we hold). A symlink on the
 * way is followed only when root or we own it; the last directory must be
 * ours and writable by nobody else. -EPERM (why says what was found and
 * how to fix it), or -errno. */
int safe_dir_open(const char *path, bool create, int *ret_fd, char *why, size_t len);

/* Create name's temporary sibling in dirfd, opened for writing. */
int safe_file_create(int dirfd, const char *name, mode_t mode, FILE **ret);
/* Flush and close f, then rename it to name in dirfd; on any failure the
 * temporary file is removed and name left as it was. */
int safe_file_commit(int dirfd, const char *name, FILE *f);

/* Close f and remove it: name stays as it was. */
void safe_file_abort(int dirfd, const char *name, FILE *f);

/* Write text to path (whose directory is checked as by safe_dir_open, but
 * not created) through safe_file_create/commit. */
int safe_file_write(const char *path, const char *text, mode_t mode, char *why, size_t len);

/* A file only root (or we) can change: it and every directory above it
 * owned by root or us and writable by nobody else (a sticky directory
 * excepted: others cannot replace what is ours in it). -EPERM with why. */
int path_trusted(const char *path, char *why, size_t len);

#endif
