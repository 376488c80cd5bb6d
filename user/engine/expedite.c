// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "expedite.h"

#define KNOB "/sys/kernel/rcu_expedited"
/* The knob is the machine's, so its lock is too: not under TUG_RUN_DIR. */
#define LOCK_DIR "/run/tug"
#define LOCK_PATH LOCK_DIR "/rcu-expedited"
/* Longer only if a tug holding the lock is stopped: not worth waiting for. */
#define LOCK_WAIT_NS (50 * NSEC_PER_MSEC)

static int knob_read(bool *ret_on)
{
	char c = 0;
	int fd = open(KNOB, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (read(fd, &c, 1) != 1)
		err = -EIO;
	close(fd);
	*ret_on = c != '0';
	return err;
}

static int knob_write(bool on)
{
	int fd = open(KNOB, O_WRONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, on ? "1" : "0", 1) != 1)
		err = -errno;
	close(fd);
	return err;
}

/*
 * The lock file exists only while a tug holds it, or after one died owing
 * the 0: each holder removes it before it lets go. So a waiter may get the
 * lock of a file already removed, or replaced by the next one's: it opens
 * again until the lock it holds is the file's at the path.
 */
static int lock_open(int *ret_fd)
{
	struct timespec pause = { .tv_nsec = 200000 };
	uint64_t end = mono_ns() + LOCK_WAIT_NS;
	int fd = -1, err;

	if (mkdir(LOCK_DIR, 0755) && errno != EEXIST)
		return -errno;
	for (;;) {
		struct stat st, path_st;

		fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		/* Root's file only: another user's could say "1" to make us write 0. */
		if (fstat(fd, &st) || st.st_uid != 0 || !S_ISREG(st.st_mode)) {
			err = -EPERM;
			goto fail;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (lstat(LOCK_PATH, &path_st) == 0 && path_st.st_ino == st.st_ino &&
			    path_st.st_dev == st.st_dev)
				break;
		} else if (errno != EWOULDBLOCK) {
			err = -errno;
			goto fail;
		}
		close(fd);
		fd = -1;
		if (mono_ns() > end)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
	*ret_fd = fd;
	return 0;
fail:
	close(fd);
	return err;
}

/* Let go of the lock, leaving nothing behind. */
static void lock_release(int fd)
{
	unlink(LOCK_PATH);
	close(fd);
}

/* With the lock held: a "1" in it was written by a tug that died before it
 * could put the knob back (the lock died with it). 1 when healed. */
static int heal_locked(int fd)
{
	char c = 0;
	int err;

	if (pread(fd, &c, 1, 0) != 1 || c != '1')
		return 0;
	err = knob_write(false);
	if (err)
		return err;
	return ftruncate(fd, 0) ? -errno : 1;
}

int rcu_expedite_begin(struct rcu_expedite *x)
{
	bool on;
	int err;

	*x = (struct rcu_expedite){ .lock_fd = -1 };
	err = lock_open(&x->lock_fd);
	if (err)
		return err;
	err = heal_locked(x->lock_fd);
	if (err < 0) {
		close(x->lock_fd);	/* the mark stays: the knob is still on */
		x->lock_fd = -1;
		return err;
	}
	err = knob_read(&on);
	if (err || on)
		goto fail;	/* on: the administrator's, left alone */
	/* The mark before the knob: a death between them leaves the mark,
	 * which only makes the next tug write the 0 that is already there. */
	if (pwrite(x->lock_fd, "1\n", 2, 0) != 2) {
		err = -errno;
		goto fail;
	}
	err = knob_write(true);
	if (err)
		goto fail;
	x->set = true;
	return 0;
fail:
	lock_release(x->lock_fd);
	x->lock_fd = -1;
	return err;
}

void rcu_expedite_end(struct rcu_expedite *x)
{
	if (x->lock_fd < 0)
		return;
	/* Had the 0 failed, the file and its mark stay for the next tug. */
	if (x->set && knob_write(false))
		close(x->lock_fd);
	else
		lock_release(x->lock_fd);
	x->lock_fd = -1;
	x->set = false;
}

int rcu_expedite_heal(void)
{
	int fd, err;

	if (access(LOCK_PATH, F_OK))
		return 0;
	err = lock_open(&fd);
	if (err)
		return err;
	err = heal_locked(fd);
	if (err < 0)
		close(fd);	/* the mark stays: the knob is still on */
	else
		lock_release(fd);
	return err;
}

int rcu_expedite_usable(bool *ret_on)
{
	int err = knob_read(ret_on);

	if (err)
		return err;
	return access(KNOB, W_OK) ? -errno : 0;
}
