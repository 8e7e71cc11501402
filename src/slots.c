/* SPDX-License-Identifier: MIT */
/*
 * slots.c - who is alive: open-file-description locks on slot records.
 *
 * A process owns a writer or reader slot while it holds an OFD write lock
 * on the slot record's first byte. The kernel drops the lock when the last
 * descriptor of that open file description closes, which includes the
 * process dying in any way. Pids are stored for display only: they are
 * reused, and differ across namespaces.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"
#include "os.h"

/* How often a simulated process that waits for a lock tries again: the
 * simulator runs processes as coroutines of one thread, so none of them
 * may block in the kernel. */
#define SIM_LOCK_POLL_NS 100000u

static int ofd_lock(int fd, uint64_t off, short type, int cmd)
{
	struct flock fl = {
		.l_type = type,
		.l_whence = SEEK_SET,
		.l_start = (off_t)off,
		.l_len = 1,
	};
	/* a liveness lock's change is a step of the protocol (doc/format.md) */
	mapq__lock_step(off, type == F_UNLCK);
	bool sim_wait = false;
#ifdef MAPQ_SIM
	if (cmd == F_OFD_SETLKW && mapq__sim_active()) {
		cmd = F_OFD_SETLK;
		sim_wait = true;
	}
#endif
	while (fcntl(fd, cmd, &fl) < 0) {
		if (errno == EINTR)
			continue;
		if (sim_wait && (errno == EAGAIN || errno == EACCES)) {
			mapq__os_sleep_ns(SIM_LOCK_POLL_NS);
			continue;
		}
		if (errno == EAGAIN || errno == EACCES)
			return -EBUSY;
		return -errno;
	}
	return 0;
}

int mapq__slot_trylock(int fd, uint64_t off)
{
	return ofd_lock(fd, off, F_WRLCK, F_OFD_SETLK);
}

void mapq__slot_unlock(int fd, uint64_t off)
{
	(void)ofd_lock(fd, off, F_UNLCK, F_OFD_SETLK);
}

int mapq__registry_lock(int fd, uint64_t off)
{
	/* the locks waited for (the registry, the join, the checkpoint),
	 * whose failure callers pass on or take for "not now": a fault point
	 * (os.*), failing as fcntl() does when the kernel's lock records
	 * run out */
	if (MAPQ_FAULT_QUIET(OS_LOCK))
		return -ENOLCK;
	return ofd_lock(fd, off, F_WRLCK, F_OFD_SETLKW);
}

/* A shared lock (or the conversion of our exclusive one into it). */
int mapq__lock_shared(int fd, uint64_t off, bool wait)
{
	return ofd_lock(fd, off, F_RDLCK, wait ? F_OFD_SETLKW : F_OFD_SETLK);
}

/* 1: another open file description holds the slot; 0: nobody does. Our
 * own locks never conflict with us, so callers skip their own slots. */
int mapq__slot_is_live(int fd, uint64_t off)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)off,
		.l_len = 1,
	};
	mapq__lock_step(off, false);
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return 1; /* cannot tell: assume alive, never free a live slot */
	return fl.l_type != F_UNLCK;
}
