/* SPDX-License-Identifier: MIT */
/*
 * os.h - the platform layer: everything the library takes from its kernel
 * and C library beyond C11 and the on-disk format, behind one interface,
 * with one file per platform (os_posix.c; doc/platform.md).
 *
 * Files are opened, created (complete before anyone can open them),
 * mapped, flushed and locked; processes sleep on 32-bit words of the
 * mapping and wake each other; the clocks, the process id and random
 * bytes. The protocol files call nothing else of the system.
 *
 * Errors are negative errno values (or -MAPQ_E*), as everywhere in the
 * library. In a simulation build each call also tells the simulator
 * (sim.h), which owns time and which releases a dead simulated process's
 * descriptors, mappings and memory as the kernel releases a dead
 * process's. In a fault-injection build open, map, flush, calloc and the
 * waited-for locks are fault points (os.*): armed with `error', the call
 * fails as it can in life (EMFILE, ENOMEM, EIO, ENOLCK), so that tests
 * reach the paths that clean up after it (doc/fault-points.md).
 */
#ifndef MAPQ_OS_H
#define MAPQ_OS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fault.h"

#ifdef MAPQ_SIM
#include "sim.h"
#define MAPQ__SIM_TELL(hook, ...)                         \
	do {                                              \
		if (mapq__sim.hook && mapq__sim_active()) \
			mapq__sim.hook(__VA_ARGS__);      \
	} while (0)
#else
#define MAPQ__SIM_TELL(hook, ...) ((void)0)
#endif

/* An open file: a descriptor (POSIX) or a handle (Windows), as an
 * integer wide enough for either. Each is its own open file description:
 * the liveness locks belong to it, not to the process. */
typedef intptr_t mapq__file;
#define MAPQ__NO_FILE ((mapq__file)-1)

/* --- Files ------------------------------------------------------------ */

/* Open the queue file at @path for reading and writing (read only if
 * @rdonly). A symbolic link, or anything that would block the open (a
 * FIFO planted at the path), is refused. 0 or -errno. */
int mapq__os_open(const char *path, bool rdonly, mapq__file *out);
/* Another open file description of @f's file (each handle needs its own
 * for its locks): 0, -ENOSYS where the platform cannot, or -errno. */
int mapq__os_reopen(mapq__file f, mapq__file *out);
void mapq__os_close(mapq__file f);
/* The size of @f's file; -MAPQ_ENOTREG if it is not a regular file. */
int mapq__os_size(mapq__file f, uint64_t *size);
/* Read up to @len bytes at @off: how many (fewer only at the end of the
 * file), or -errno. */
int64_t mapq__os_pread(mapq__file f, void *buf, size_t len, uint64_t off);

/*
 * A new file at @path, which must not exist (-EEXIST): @size bytes, the
 * first @head_len of them @head and the rest zero, with permissions
 * @mode (where the platform has them), on disk before it can be seen at
 * @path, so that no process ever opens it half made and a crash never
 * leaves a torn one there. A full file system fails here, not later
 * through the mapping. @unnamed: first try to build it with no name at all
 * (a creator that dies then leaves nothing). Returns the file, open for
 * reading and writing, through @out: 0 or -errno.
 */
int mapq__os_create(const char *path, uint32_t mode, uint64_t size, const void *head,
		    size_t head_len, bool unnamed, mapq__file *out);
/* Remove the temporary files dead creators left in the directory of
 * @path; how many. */
unsigned mapq__os_sweep(const char *path);

/* --- Mappings --------------------------------------------------------- */

/* Map @size bytes of @f shared (read only if @rdonly). Where the platform
 * can, the mapping sits between two inaccessible pages, so a write past
 * either end faults at once. 0 or -errno. */
int mapq__os_map(mapq__file f, uint64_t size, bool rdonly, uint8_t **base);
void mapq__os_unmap(uint8_t *base, uint64_t size);
/* Write [addr, addr + len) of a mapping to the disk and wait for it
 * (@addr page-aligned). 0 or -errno. */
int mapq__os_flush(void *addr, size_t len);

/* --- Liveness locks ----------------------------------------------------- */

/*
 * Byte-range locks on one byte of the file, held by the open file
 * description and dropped by the kernel when it closes, however its
 * process ends. Locks of one description never conflict with each other
 * (taking a shared lock over its own exclusive one converts it).
 */
enum mapq__lock_kind {
	MAPQ__LOCK_EXCL,
	MAPQ__LOCK_SHARED,
	MAPQ__LOCK_NONE
};
/* Take (or with MAPQ__LOCK_NONE drop) the lock on byte @off. @wait: until
 * it is free; else -EBUSY at once if another description holds it. 0,
 * -EBUSY or -errno. */
int mapq__os_lock(mapq__file f, uint64_t off, enum mapq__lock_kind kind, bool wait);
/* 1: another open file description holds a lock on byte @off; 0: none
 * does; -errno: cannot tell. */
int mapq__os_lock_held(mapq__file f, uint64_t off);

/* --- Sleeping on shared words ------------------------------------------ */

/* Sleep while *@word (in a shared mapping) == @expect, until woken by
 * mapq__os_wake() on the same word from any process, or until @deadline
 * (mapq__os_mono_ns(); UINT64_MAX: none). 0: look again (woken, changed,
 * interrupted); -ETIMEDOUT: the deadline passed. */
int mapq__os_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t deadline);
/* Wake every process sleeping on @word, which the caller has just changed
 * from @was (a platform that keys sleeps by value needs it). */
void mapq__os_wake(_Atomic uint32_t *word, uint32_t was);

/*
 * An asymmetric fence, for a Dekker pair whose one side runs for every
 * message and whose other side runs only before a sleep (format.md,
 * "Waiting"). mapq__os_light_fence(): may this process's threads keep
 * their side of such a pair with a compiler barrier alone? Only if the
 * platform lets another process force a full barrier on them: then a
 * sleeper calls mapq__os_barrier_all() between its flag and its last
 * look, and every thread of such a process passes a full barrier in
 * between (its store before the barrier is seen by the look, or its load
 * after it sees the flag). Each call registers the process for it (the
 * kernel answers at once after the first).
 * mapq__os_barrier_all(): 0 when made, or when no process on this system
 * can be using the light side; -errno when it could not be made (the
 * caller must not then sleep for long on what a light side publishes).
 */
bool mapq__os_light_fence(void);
int mapq__os_barrier_all(void);

/* --- Clocks, processes, randomness --------------------------------------- */

/* A monotonic clock, in ns. */
uint64_t mapq__os_mono_ns(void);
/* The wall clock, in ns since 1970 (UTC). */
uint64_t mapq__os_wall_ns(void);
void mapq__os_sleep_ns(uint64_t ns);
/* Offer this thread's CPU to another runnable one (none: returns at once). */
void mapq__os_yield(void);
/* This process's id, for display only. */
uint32_t mapq__os_pid(void);
/* @len random bytes: from the system's generator where it has entropy,
 * else from the clocks and the process id (ids need only be different,
 * not secret). */
void mapq__os_random(uint8_t *buf, size_t len);
/* How many fork()s made this process since the library first counted
 * (bumped in the child; 0 where processes never fork). The first call
 * starts counting. */
unsigned mapq__os_fork_watch(void);
extern unsigned mapq__os_fork_gen;

/* --- Queue names --------------------------------------------------------- */

/* The directory where a queue name stands for a file: $MAPQ_DIR when it
 * is set and not empty (but never from the environment of a set-uid
 * program's caller), else the platform's own (/dev/shm on Linux). */
const char *mapq__os_queue_dir(void);
/* Does @c separate the parts of a path? */
bool mapq__os_separator(char c);
/* The separator a name is joined to the queue directory with: "/" on
 * Linux, "\\" on Windows (which takes '/' too, but says '\\'). */
extern const char mapq__os_join[];
/* May the @n characters at @name (printable ASCII, no separator, not
 * starting with '.') be a file's name in the queue directory? */
bool mapq__os_name_ok(const char *name, size_t n);

/* --- Memory (C11, with the simulator's and the fault points' hooks) ----- */

static inline void *mapq__os_calloc(size_t n, size_t size)
{
	if (MAPQ_FAULT_QUIET(OS_CALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = calloc(n, size);
	if (p)
		MAPQ__SIM_TELL(allocated, p);
	return p;
}

static inline void mapq__os_free(void *p)
{
	if (p)
		MAPQ__SIM_TELL(freeing, p);
	free(p);
}

#endif /* MAPQ_OS_H */
