/* SPDX-License-Identifier: MIT */
/*
 * os_posix.c - the platform layer (os.h) on Linux: descriptors, OFD
 * locks, futexes, O_TMPFILE.
 *
 * Liveness: a process owns a slot while it holds an open-file-description
 * (OFD) write lock on the slot record's byte. The kernel drops the lock
 * when the last descriptor of that open file description closes, which
 * includes the process dying in any way.
 *
 * Creation: the file is built complete, then linked at its path, which
 * must not exist. Where the file system allows it, it is built as an
 * unnamed O_TMPFILE, so a creator that dies mid-way leaves nothing at
 * all. Elsewhere it is built under a temporary name, TEMP_PREFIX plus six
 * random characters, in the target directory; its creator holds an OFD
 * lock on its first byte until the name is gone, so a temporary file
 * whose lock is free was abandoned by a dead creator, and the next create
 * (or exclusive recovery) in that directory removes it.
 *
 * Sleeping: the words live in a MAP_SHARED file mapping, so the futex
 * calls never use FUTEX_PRIVATE_FLAG: the kernel keys them by inode and
 * offset, which is what lets one process wake another.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mapq.h"
#include "os.h"

/* --- Files ------------------------------------------------------------ */

int mapq__os_open(const char *path, bool rdonly, mapq__file *out)
{
	if (MAPQ_FAULT_QUIET(OS_OPEN))
		return -EMFILE;
	/* O_NONBLOCK: opening a FIFO placed at our path must not hang. */
	int fd = open(path, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	MAPQ__SIM_TELL(opened, fd);
	*out = fd;
	return 0;
}

void mapq__os_close(mapq__file f)
{
	MAPQ__SIM_TELL(closing, (int)f);
	close((int)f);
}

int mapq__os_reopen(mapq__file f, mapq__file *out)
{
	char p[64];
	struct stat a, b;
	(void)snprintf(p, sizeof(p), "/proc/self/fd/%d", (int)f); /* 64 bytes hold any fd */
	if (MAPQ_FAULT_QUIET(OS_OPEN))
		return -EMFILE;
	int fd = open(p, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? -ENOSYS : -errno; /* no /proc mounted */
	MAPQ__SIM_TELL(opened, fd);
	if (fstat((int)f, &a) < 0 || fstat(fd, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino) {
		mapq__os_close(fd);
		return -EIO;
	}
	*out = fd;
	return 0;
}

int mapq__os_size(mapq__file f, uint64_t *size)
{
	struct stat st;
	if (fstat((int)f, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -MAPQ_ENOTREG;
	*size = (uint64_t)st.st_size;
	return 0;
}

int64_t mapq__os_pread(mapq__file f, void *buf, size_t len, uint64_t off)
{
	ssize_t n;
	while ((n = pread((int)f, buf, len, (off_t)off)) < 0 && errno == EINTR)
		;
	return n < 0 ? -errno : (int64_t)n;
}

/* --- Creation ----------------------------------------------------------- */

/* Temporary names tried when sweepers keep taking the ones we make. */
#define TEMP_TRIES 8

/* Hidden (queue names cannot start with '.'), and short, so that the
 * temporary name fits wherever the queue's own name does. */
#define TEMP_PREFIX ".mapq-tmp."
#define TEMP_NAME TEMP_PREFIX "XXXXXX"

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

struct new_file {
	uint32_t mode;
	uint64_t size;
	const void *head;
	size_t head_len;
};

/* Size, first bytes and permissions of a new queue, on an open, empty file. */
static int fill(int fd, const struct new_file *nf)
{
	if (fchmod(fd, (mode_t)nf->mode) < 0)
		return -errno;
	/* posix_fallocate: a full file system fails here, not as SIGBUS later */
	int err = posix_fallocate(fd, 0, (off_t)nf->size);
	if (err)
		return -err;
	/* The rest of the file is zero from fallocate. */
	if (pwrite(fd, nf->head, nf->head_len, 0) != (ssize_t)nf->head_len)
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
static int create_unnamed(const char *path, const char *dir, const struct new_file *nf)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, (mode_t)nf->mode);
	if (fd < 0)
		/* EISDIR: a kernel without O_TMPFILE sees O_DIRECTORY alone */
		return errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL ? -EOPNOTSUPP
										 : -errno;
	int err = fill(fd, nf);
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

/* Our own lock on a temporary file's first byte (the queue's locks are on
 * other bytes of a queue file; nobody else locks this one). */
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
static int create_named(const char *path, const char *dir, const struct new_file *nf)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s/" TEMP_NAME, dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	sweep_dir(dir);
	int fd = make_temp(tmp);
	if (fd < 0)
		return fd;
	int err = fill(fd, nf);
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

int mapq__os_create(const char *path, uint32_t mode, uint64_t size, const void *head,
		    size_t head_len, bool unnamed, mapq__file *out)
{
	const struct new_file nf = { mode, size, head, head_len };
	if (size > (uint64_t)INT64_MAX || head_len > size)
		return -EINVAL;
	char dir[PATH_MAX];
	int fd = dir_of(path, dir, sizeof(dir));
	if (fd)
		return fd;
	fd = -EOPNOTSUPP;
	if (unnamed)
		fd = create_unnamed(path, dir, &nf);
	if (fd == -EOPNOTSUPP)
		fd = create_named(path, dir, &nf);
	if (fd < 0)
		return fd;
	*out = fd;
	return 0;
}

unsigned mapq__os_sweep(const char *path)
{
	char dir[PATH_MAX];
	return dir_of(path, dir, sizeof(dir)) == 0 ? sweep_dir(dir) : 0;
}

/* --- Mappings --------------------------------------------------------- */

static void *os_mmap(void *addr, size_t len, int prot, int flags, int fd)
{
	if (MAPQ_FAULT_QUIET(OS_MMAP)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	void *m = mmap(addr, len, prot, flags, fd, 0);
	if (m != MAP_FAILED)
		MAPQ__SIM_TELL(mapped, m, len, fd);
	return m;
}

static void os_munmap(void *addr, size_t len)
{
	MAPQ__SIM_TELL(unmapping, addr, len);
	munmap(addr, len);
}

/*
 * The file's mapping sits between two inaccessible pages (an address
 * range reserved PROT_NONE, with the file mapped into its middle), so a
 * write past either end of the queue faults at once rather than landing
 * in whatever the process has mapped next to it. It costs one more mmap
 * at open and nothing after.
 */
static size_t guard_size(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	return pg > 0 ? (size_t)pg : 4096;
}

static size_t guarded_span(size_t size)
{
	size_t g = guard_size();
	return (size + g - 1) / g * g + 2 * g;
}

int mapq__os_map(mapq__file f, uint64_t size, bool rdonly, uint8_t **base)
{
	if (size > SIZE_MAX / 2)
		return -ENOMEM;
	size_t g = guard_size();
	uint8_t *r = os_mmap(NULL, guarded_span((size_t)size), PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
	if (r == MAP_FAILED)
		return -errno;
	void *m = os_mmap(r + g, (size_t)size, rdonly ? PROT_READ : PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED, (int)f);
	if (m == MAP_FAILED) {
		int err = errno;
		os_munmap(r, guarded_span((size_t)size));
		return -err;
	}
	*base = m;
	return 0;
}

void mapq__os_unmap(uint8_t *base, uint64_t size)
{
	os_munmap(base - guard_size(), guarded_span((size_t)size));
}

int mapq__os_flush(void *addr, size_t len)
{
	if (MAPQ_FAULT_QUIET(OS_MSYNC))
		return -EIO;
	MAPQ__SIM_TELL(syncing, addr, len);
	return msync(addr, len, MS_SYNC) < 0 ? -errno : 0;
}

/* --- Liveness locks ----------------------------------------------------- */

static const short lock_type[] = {
	[MAPQ__LOCK_EXCL] = F_WRLCK,
	[MAPQ__LOCK_SHARED] = F_RDLCK,
	[MAPQ__LOCK_NONE] = F_UNLCK,
};

int mapq__os_lock(mapq__file f, uint64_t off, enum mapq__lock_kind kind, bool wait)
{
	struct flock fl = {
		.l_type = lock_type[kind],
		.l_whence = SEEK_SET,
		.l_start = (off_t)off,
		.l_len = 1,
	};
	while (fcntl((int)f, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
	}
	return 0;
}

int mapq__os_lock_held(mapq__file f, uint64_t off)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)off,
		.l_len = 1,
	};
	if (fcntl((int)f, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

/* --- Sleeping on shared words ------------------------------------------ */

int mapq__os_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t deadline)
{
	struct timespec ts, *tp = NULL;

#ifdef MAPQ_SIM
	if (mapq__sim.futex_wait && mapq__sim_active())
		return mapq__sim.futex_wait(word, expect, deadline);
#endif
	if (deadline != UINT64_MAX) {
		if (mapq__os_mono_ns() >= deadline)
			return -ETIMEDOUT;
		ts.tv_sec = (time_t)(deadline / 1000000000ull);
		ts.tv_nsec = (long)(deadline % 1000000000ull);
		tp = &ts;
	}
	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
	 * wake-up that finds nothing to do costs no recomputation. */
	long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET, expect, tp, NULL,
			  FUTEX_BITSET_MATCH_ANY);
	if (rc < 0 && errno == ETIMEDOUT)
		return -ETIMEDOUT;
	return 0;
}

void mapq__os_wake(_Atomic uint32_t *word, uint32_t was)
{
	(void)was; /* a futex is keyed by the word alone */
#ifdef MAPQ_SIM
	if (mapq__sim.futex_wake && mapq__sim_active()) {
		mapq__sim.futex_wake(word);
		return;
	}
#endif
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* --- Asymmetric fences ----------------------------------------------------- */

/*
 * membarrier(2): MEMBARRIER_CMD_GLOBAL_EXPEDITED makes every thread of
 * every process registered for it pass a full barrier before the call
 * returns (an interrupt on each CPU running one; a thread not running
 * passes one when it is next scheduled). The registration belongs to the
 * address space: a fork() inherits it (checked on Linux 6.18 with
 * MEMBARRIER_CMD_GET_REGISTRATIONS), and an exec() starts a new one.
 *
 * What the kernel offers is asked once, while the library loads, before
 * any thread of ours can run: a plain variable, read-only afterwards.
 * (Asked later under pthread_once(), its fast path is an acquire load
 * Helgrind does not see, and tests/threads failed under it.) The
 * registration is made at each writer's attach: after the first, the
 * kernel answers from the address space's state at once, and no
 * variable of ours changes.
 */
static bool barrier_known; /* the kernel has GLOBAL_EXPEDITED and its registration */

__attribute__((constructor)) static void barrier_query(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	barrier_known = cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
			(cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED);
}

bool mapq__os_light_fence(void)
{
#ifdef MAPQ_SIM
	/* the simulator's barrier reaches every simulated process; without
	 * it, a platform that has none (mapq-sim --full-fences) */
	if (mapq__sim_active())
		return mapq__sim.barrier_all != NULL;
#endif
	return barrier_known &&
	       syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
}

int mapq__os_barrier_all(void)
{
#ifdef MAPQ_SIM
	if (mapq__sim_active()) {
		if (mapq__sim.barrier_all)
			mapq__sim.barrier_all();
		return 0;
	}
#endif
	/* A kernel without the command registered nobody for it: no process
	 * here keeps its side of a pair with a compiler barrier alone. */
	if (!barrier_known)
		return 0;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0)
		return 0;
	return -errno;
}

/* --- Clocks, processes, randomness --------------------------------------- */

uint64_t mapq__os_mono_ns(void)
{
#ifdef MAPQ_SIM
	if (mapq__sim.now_ns && mapq__sim_active())
		return mapq__sim.now_ns();
#endif
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mapq__os_wall_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

void mapq__os_sleep_ns(uint64_t ns)
{
#ifdef MAPQ_SIM
	if (mapq__sim.sleep_ns && mapq__sim_active()) {
		mapq__sim.sleep_ns(ns);
		return;
	}
#endif
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void mapq__os_yield(void)
{
#ifdef MAPQ_SIM
	if (mapq__sim_active())
		return; /* the simulator's scheduler interleaves every step */
#endif
	sched_yield();
}

uint32_t mapq__os_pid(void)
{
#ifdef MAPQ_SIM
	if (mapq__sim.pid && mapq__sim_active())
		return mapq__sim.pid();
#endif
	return (uint32_t)getpid();
}

void mapq__os_random(uint8_t *buf, size_t len)
{
#ifdef MAPQ_SIM
	if (mapq__sim.random) {
		mapq__sim.random(buf, len);
		return;
	}
#endif
	if (getrandom(buf, len, GRND_NONBLOCK) == (ssize_t)len)
		return;
	/* No entropy yet (early boot): the bytes only need to tell queues
	 * apart, not to be secret. */
	uint64_t a = mapq__os_mono_ns(), b = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)buf;
	uint8_t x[16];
	memcpy(x, &a, 8);
	memcpy(x + 8, &b, 8);
	for (size_t i = 0; i < len; i++)
		buf[i] = x[i % sizeof(x)];
}

/* --- Queue names --------------------------------------------------------- */

const char *mapq__os_queue_dir(void)
{
	/* secure_getenv: a set-uid program must not be steered into another
	 * directory by its caller's environment */
	const char *dir = secure_getenv("MAPQ_DIR");
	return dir && *dir ? dir : "/dev/shm";
}

bool mapq__os_separator(char c)
{
	return c == '/';
}

const char mapq__os_join[] = "/";

bool mapq__os_name_ok(const char *name, size_t n)
{
	(void)name;
	(void)n;
	return true; /* every byte but '/' and NUL may be in a name */
}

/*
 * A child made by fork() inherits the parent's handles, and with them the
 * parent's open file descriptions: its liveness lock tests see the
 * parent's locks as its own. So each handle remembers the fork generation
 * it was opened in (internal.h, inherited()); every fork() bumps the
 * generation in the child. getpid() would do the same, but it is a system
 * call in every call; a counter bumped by a pthread_atfork() handler
 * costs one load.
 *
 * Written only by the child's atfork handler, while the child has one
 * thread; read by that thread and the threads it starts afterwards
 * (thread creation orders the write before them): a plain variable.
 */
unsigned mapq__os_fork_gen;

static void bump(void)
{
	mapq__os_fork_gen++;
}

static pthread_once_t watch_once = PTHREAD_ONCE_INIT;

static void watch(void)
{
	/* No way to report a failure (ENOMEM): forks would then go unseen,
	 * as before this check existed. */
	(void)pthread_atfork(NULL, NULL, bump);
}

unsigned mapq__os_fork_watch(void)
{
	(void)pthread_once(&watch_once, watch);
	return mapq__os_fork_gen;
}
