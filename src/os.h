/* SPDX-License-Identifier: MIT */
/*
 * os.h - what the library takes from its kernel and C library, in one
 * place: descriptors, mappings and their flushes, memory, the process id, sleeps and
 * advisory locks. (The clock and futexes are in wait.c.)
 *
 * In a normal build each is the plain call. In a simulation build each
 * also tells the simulator (sim.h), which owns time and which releases a
 * dead simulated process's descriptors, mappings and memory as the
 * kernel releases a dead process's. In a fault-injection build, open,
 * mmap, msync and calloc are fault points (os.*, with os.lock in slots.c): armed with `error',
 * the call fails as it can in life (EMFILE, ENOMEM, EIO), so that tests
 * reach the paths that clean up after it (doc/fault-points.md).
 */
#ifndef MAPQ_OS_H
#define MAPQ_OS_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

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

static inline int mapq__os_open(const char *path, int flags, mode_t mode)
{
	if (MAPQ_FAULT_QUIET(OS_OPEN)) {
		errno = EMFILE;
		return -1;
	}
	int fd = open(path, flags, mode);
	if (fd >= 0)
		MAPQ__SIM_TELL(opened, fd);
	return fd;
}

static inline void mapq__os_close(int fd)
{
	MAPQ__SIM_TELL(closing, fd);
	close(fd);
}

static inline void *mapq__os_mmap(void *addr, size_t len, int prot, int flags, int fd)
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

static inline void mapq__os_munmap(void *addr, size_t len)
{
	MAPQ__SIM_TELL(unmapping, addr, len);
	munmap(addr, len);
}

/* 0, or -errno. */
static inline int mapq__os_msync(void *addr, size_t len)
{
	if (MAPQ_FAULT_QUIET(OS_MSYNC))
		return -EIO;
	MAPQ__SIM_TELL(syncing, addr, len);
	return msync(addr, len, MS_SYNC) < 0 ? -errno : 0;
}

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

static inline uint32_t mapq__os_pid(void)
{
#ifdef MAPQ_SIM
	if (mapq__sim.pid && mapq__sim_active())
		return mapq__sim.pid();
#endif
	return (uint32_t)getpid();
}

static inline void mapq__os_sleep_ns(uint64_t ns)
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

#endif /* MAPQ_OS_H */
