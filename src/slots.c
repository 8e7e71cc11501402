/* SPDX-License-Identifier: MIT */
/*
 * slots.c - who is alive: the platform's liveness locks (os.h) on slot
 * records.
 *
 * A process owns a writer or reader slot while it holds a write lock on
 * the slot record's first byte. The kernel drops the lock when the open
 * file description closes, which includes the process dying in any way.
 * Pids are stored for display only: they are reused, and differ across
 * namespaces.
 */
#include "config.h"

#include <errno.h>

#include "internal.h"
#include "os.h"

/* How often a simulated process that waits for a lock tries again: the
 * simulator runs processes as coroutines of one thread, so none of them
 * may block in the kernel. */
#define SIM_LOCK_POLL_NS 100000u

static int lock(mapq__file fd, uint64_t off, enum mapq__lock_kind kind, bool wait)
{
	/* a liveness lock's change is a step of the protocol (doc/format.md) */
	mapq__lock_step(off, kind == MAPQ__LOCK_NONE);
#ifdef MAPQ_SIM
	if (wait && mapq__sim_active()) {
		int err;
		while ((err = mapq__os_lock(fd, off, kind, false)) == -EBUSY)
			mapq__os_sleep_ns(SIM_LOCK_POLL_NS);
		return err;
	}
#endif
	return mapq__os_lock(fd, off, kind, wait);
}

int mapq__slot_trylock(mapq__file fd, uint64_t off)
{
	return lock(fd, off, MAPQ__LOCK_EXCL, false);
}

void mapq__slot_unlock(mapq__file fd, uint64_t off)
{
	(void)lock(fd, off, MAPQ__LOCK_NONE, false);
}

int mapq__registry_lock(mapq__file fd, uint64_t off)
{
	/* the locks waited for (the registry, the join, the checkpoint),
	 * whose failure callers pass on or take for "not now": a fault point
	 * (os.*), failing as fcntl() does when the kernel's lock records
	 * run out */
	if (MAPQ_FAULT_QUIET(OS_LOCK))
		return -ENOLCK;
	return lock(fd, off, MAPQ__LOCK_EXCL, true);
}

/* A shared lock (or the conversion of our exclusive one into it). */
int mapq__lock_shared(mapq__file fd, uint64_t off, bool wait)
{
	return lock(fd, off, MAPQ__LOCK_SHARED, wait);
}

/* 1: another open file description holds the slot; 0: nobody does. Our
 * own locks never conflict with us, so callers skip their own slots. */
int mapq__slot_is_live(mapq__file fd, uint64_t off)
{
	mapq__lock_step(off, false);
	/* cannot tell: assume alive, never free a live slot */
	return mapq__os_lock_held(fd, off) != 0;
}
