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
#include <time.h>
#include <unistd.h>

#include "internal.h"

static int ofd_lock(int fd, uint64_t off, short type, int cmd)
{
	struct flock fl = {
		.l_type = type,
		.l_whence = SEEK_SET,
		.l_start = (off_t)off,
		.l_len = 1,
	};
	while (fcntl(fd, cmd, &fl) < 0) {
		if (errno == EINTR)
			continue;
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
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return 1; /* cannot tell: assume alive, never free a live slot */
	return fl.l_type != F_UNLCK;
}

/* Take slot @i (its lock held) from a dead owner: finish its business.
 * 0: done; -EAGAIN: its record cannot be settled yet, leave the slot. */
static int take_over(struct mapq *q, uint32_t i)
{
	int err = MAPQ_FAULT(WSLOT_ATTACH_LOCKED);
	if (err)
		return err;
	if (mapq__repair_record(q, i) < 0)
		return -EAGAIN;
	return MAPQ_FAULT(WSLOT_ATTACH_REPAIRED);
}

/* Make slot @i ours; its lock is held and its old business finished. */
static void claim_slot(struct mapq *q, uint32_t i)
{
	struct fmt_wslot *s = &q->wslots[i];
	/* relaxed: these fields are ours now; the lock orders ownership */
	atomic_store_explicit(&s->resv_size, 0, memory_order_relaxed);
	atomic_store_explicit(&s->pid, (uint32_t)getpid(), memory_order_relaxed);
	atomic_store_explicit(&s->state, WSLOT_ACTIVE, memory_order_relaxed);
	atomic_store_explicit(&s->attaches, atomic_load_explicit(&s->attaches, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	q->wslot = (int)i;
}

int mapq__wslot_attach(struct mapq *q)
{
	if (q->rdonly)
		return -MAPQ_ERDONLY;
	int err = -MAPQ_ENOSLOT;
	/* A slot whose dead owner's record cannot be settled yet (another
	 * writer raced for the same position and is mid-step) is left for a
	 * moment; a few passes settle it. */
	for (int pass = 0; pass < 100 && err == -MAPQ_ENOSLOT; pass++) {
		bool unsettled = false;
		for (uint32_t i = 0; i < q->nw; i++) {
			if (mapq__slot_trylock(q->fd, wslot_lock_off(q, (int)i)) != 0)
				continue;
			err = take_over(q, i);
			if (err == 0) {
				claim_slot(q, i);
				return 0;
			}
			mapq__slot_unlock(q->fd, wslot_lock_off(q, (int)i));
			if (err != -EAGAIN)
				return err;
			err = -MAPQ_ENOSLOT;
			unsettled = true;
		}
		if (!unsettled)
			break;
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
	return err;
}

void mapq__wslot_detach(struct mapq *q)
{
	if (q->wslot < 0)
		return;
	struct fmt_wslot *s = &q->wslots[q->wslot];
	(void)MAPQ_FAULT(WSLOT_DETACH);
	atomic_store_explicit(&s->state, WSLOT_FREE, memory_order_relaxed);
	mapq__slot_unlock(q->fd, wslot_lock_off(q, q->wslot));
	q->wslot = -1;
}
