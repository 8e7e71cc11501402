/* SPDX-License-Identifier: MIT */
/*
 * create.c - make a new queue file, atomically, leaving nothing behind.
 *
 * The file is built complete, then linked at its path, which must not
 * exist: no process can ever open a half-made queue. Where the file
 * system allows it, it is built as an unnamed O_TMPFILE, so a creator
 * that dies mid-way leaves nothing at all. Elsewhere it is built under a
 * temporary name, TEMP_PREFIX plus six random characters, in the target
 * directory; its creator holds an OFD lock on its first byte until the
 * name is gone, so a temporary file whose lock is free was abandoned by a
 * dead creator, and the next create (or exclusive recovery) in that
 * directory removes it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Temporary names tried when sweepers keep taking the ones we make. */
#define TEMP_TRIES 8

/* Hidden (queue names cannot start with '.'), and short, so that the
 * temporary name fits wherever the queue's own name does. */
#define TEMP_PREFIX ".mapq-tmp."
#define TEMP_NAME TEMP_PREFIX "XXXXXX"

static void random_id(uint8_t id[16])
{
#ifdef MAPQ_SIM
	if (mapq__sim.random) {
		mapq__sim.random(id, 16);
		return;
	}
#endif
	if (getrandom(id, 16, GRND_NONBLOCK) == 16)
		return;
	/* No entropy yet (early boot): the id only needs to tell queues
	 * apart, not to be secret. */
	uint64_t a = mapq__now_ns(), b = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)id;
	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
}

/* The directory part of @path ("." if none) into @dir. */
static int dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dir, !slash ? "." : path, n);
	dir[n] = '\0';
	return 0;
}

/* Size, superblock and permissions of a new queue, on an open, empty file. */
static int fill(int fd, struct fmt_super *sb, mode_t mode)
{
	if (fchmod(fd, mode) < 0)
		return -errno;
	/* posix_fallocate: a full file system fails here, not as SIGBUS later */
	int err = posix_fallocate(fd, 0, (off_t)sb->file_size);
	if (err)
		return -err;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	sb->created_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	random_id(sb->queue_id);
	sb->crc = mapq__super_crc(sb);
	/* The rest of the file is zero from fallocate: tail = head = 0, every
	 * slot free, every commit word "never written". */
	if (pwrite(fd, sb, sizeof(*sb), 0) != (ssize_t)sizeof(*sb))
		return errno ? -errno : -EIO;
	if (fsync(fd) < 0) /* crash-safe: never a named file with a torn header */
		return -errno;
	return 0;
}

/*
 * The unnamed way. Returns the descriptor, -EEXIST, another -errno, or
 * -EOPNOTSUPP when this file system or kernel cannot do it (then the
 * named way is tried; nothing was left behind).
 */
static int create_unnamed(const char *path, const char *dir, struct fmt_super *sb, mode_t mode)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (fd < 0)
		/* EISDIR: a kernel without O_TMPFILE sees O_DIRECTORY alone */
		return errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL ? -EOPNOTSUPP
										 : -errno;
	int err = fill(fd, sb, mode);
	if (!err) {
		char p[64];
		(void)snprintf(p, sizeof(p), "/proc/self/fd/%d", fd); /* 64 bytes hold any fd */
		/* linkat refuses to replace an existing file: EEXIST */
		if (linkat(AT_FDCWD, p, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
			return fd;
		err = errno == EEXIST ? -EEXIST : -EOPNOTSUPP; /* no /proc, say */
	}
	close(fd);
	return err;
}

/* Our own lock on a temporary file's first byte (slots.c locks other
 * bytes of a queue file; nobody else locks this one). */
static int temp_lock(int fd, bool wait)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Put the finished temporary file at @path without replacing anything.
 * 0: linked (the temporary name still to remove); 1: renamed. */
static int publish(const char *tmp, const char *path)
{
	if (link(tmp, path) == 0)
		return 0;
	int err = errno;
	if (err == EEXIST)
		return -EEXIST;
#ifdef SYS_renameat2
	/* File systems without hard links: rename that refuses to replace. */
	if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, 1 /* RENAME_NOREPLACE */) == 0)
		return 1;
	if (errno == EEXIST)
		return -EEXIST;
#endif
	return -err;
}

/* A temporary file of ours, locked and still linked under @tmp. */
static int make_temp(char *tmp)
{
	size_t x = strlen(tmp) - 6; /* where mkostemp writes its six letters */
	for (int tries = 0; tries < TEMP_TRIES; tries++) {
		int fd = mkostemp(tmp, O_CLOEXEC);
		if (fd < 0)
			return -errno;
		/* A sweeper may have taken the name between mkostemp and the
		 * lock (it saw an unlocked temporary file): then the name is
		 * gone once we hold the lock, and we start again. */
		struct stat st;
		int err = temp_lock(fd, true);
		if (!err && fstat(fd, &st) < 0)
			err = -errno;
		if (!err && st.st_nlink > 0)
			return fd;
		close(fd);
		if (err)
			return err;
		for (size_t i = 0; i < 6; i++)
			tmp[x + i] = 'X';
	}
	return -EAGAIN;
}

/* Is @name one of our temporary names? */
static bool temp_name(const char *name)
{
	return strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0 &&
	       strlen(name) == strlen(TEMP_NAME);
}

static unsigned sweep_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!temp_name(e->d_name))
			continue;
		int fd = openat(dirfd(d), e->d_name,
				O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			continue;
		struct stat a, b;
		/* Unlink only the file we locked: its creator is dead, and
		 * the name still leads to it. */
		if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) && temp_lock(fd, false) == 0 &&
		    fstatat(dirfd(d), e->d_name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
		    unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
		close(fd);
	}
	closedir(d);
	return n;
}

/* The named way, for file systems without O_TMPFILE. */
static int create_named(const char *path, const char *dir, struct fmt_super *sb, mode_t mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s/" TEMP_NAME, dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	sweep_dir(dir);
	int fd = make_temp(tmp);
	if (fd < 0)
		return fd;
	int err = fill(fd, sb, mode);
	if (!err)
		err = publish(tmp, path);
	/* Renamed, the name is gone already; else remove it while we still
	 * hold the lock that says it is not abandoned. */
	if (err != 1)
		unlink(tmp);
	if (err < 0) {
		close(fd);
		return err;
	}
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	(void)fcntl(fd, F_OFD_SETLK, &fl);
	return fd;
}

int mapq__create_file(const char *path, const mapq_options *opt, bool unnamed)
{
	struct fmt_super sb;
	int err = mapq__geometry(opt, &sb);
	if (err)
		return err;
	uint32_t mode = opt && opt->mode ? opt->mode : 0600;
	if (mode & ~0777u)
		return -EINVAL;
	char dir[PATH_MAX];
	if ((err = dir_of(path, dir, sizeof(dir))) != 0)
		return err;
	if (unnamed) {
		int fd = create_unnamed(path, dir, &sb, (mode_t)mode);
		if (fd != -EOPNOTSUPP)
			return fd;
	}
	return create_named(path, dir, &sb, (mode_t)mode);
}

unsigned mapq__sweep_temp(const char *path)
{
	char dir[PATH_MAX];
	return dir_of(path, dir, sizeof(dir)) == 0 ? sweep_dir(dir) : 0;
}
