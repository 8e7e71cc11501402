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

/*
 * Finish a dead writer's reservation [pos, pos+size): a claimed frame
 * becomes aborted, a reservation whose claim was never written gets an
 * aborted (or padding) commit word. Each change is a CAS from the value we
 * saw, so a frame that a live process touched meanwhile is left alone.
 */
static void finish_reservation(struct mapq *q, uint64_t pos, uint64_t size)
{
	uint64_t head = atomic_load_explicit(&q->ctl->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&q->ctl->tail, memory_order_acquire);

	if (size == 0 || size > q->cap || pos < head || pos + size > tail || (pos | size) % FRAME_ALIGN)
		return; /* stale or nonsense record: nothing of ours to finish */
	uint64_t off = pos & q->mask, pad = 0;
	if (off + size > q->cap)
		pad = q->cap - off;
	if (pad) {
		/* pos first: only then is the word known to be this frame's */
		bool done = frame_pos_at(q, pos) == pos;
		uint64_t w = atomic_load_explicit(commit_at(q, pos), memory_order_acquire);
		if (!done &&
		    atomic_compare_exchange_strong_explicit(
			    commit_at(q, pos), &w, cw_make(pad, FRAME_COMMITTED, 1, lap_of(q, pos)),
			    memory_order_relaxed, memory_order_relaxed))
			/* release, and last: publishes the word (see frame_pos_at) */
			atomic_store_explicit(&frame_at(q, pos)->pos, pos, memory_order_release);
	}
	uint64_t p = pos + pad, fsize = size - pad;
	bool claimed = frame_pos_at(q, p) == p; /* pos first: see frame_pos_at() */
	uint64_t w = atomic_load_explicit(commit_at(q, p), memory_order_acquire);
	if (claimed && (cw_lap(w) != lap_of(q, p) || cw_size(w) != fsize))
		return; /* not the frame the record describes */
	if (claimed && cw_state(w) != FRAME_CLAIMED)
		return; /* committed or aborted already */
	/* seq_cst: orders the change before the waiter-count load in wake */
	if (atomic_compare_exchange_strong_explicit(commit_at(q, p), &w,
						    cw_make(fsize, FRAME_ABORTED, 0, lap_of(q, p)),
						    memory_order_relaxed, memory_order_relaxed)) {
		/* release, and last: publishes the word (see frame_pos_at);
		 * seq_cst also orders it before the waiter load in wake */
		atomic_store_explicit(&frame_at(q, p)->pos, p, memory_order_seq_cst);
		mapq__wake_data(q);
	}
}

int mapq__wslot_attach(struct mapq *q)
{
	for (uint32_t i = 0; i < q->nw; i++) {
		if (mapq__slot_trylock(q->fd, wslot_lock_off(q, (int)i)) != 0)
			continue;
		struct fmt_wslot *s = &q->wslots[i];
		/* acquire: pairs with the previous owner's release of resv_size */
		uint64_t size = atomic_load_explicit(&s->resv_size, memory_order_acquire);
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == WSLOT_ACTIVE && size)
			finish_reservation(q, atomic_load_explicit(&s->resv_pos, memory_order_relaxed),
					   size);
		/* relaxed: these fields are ours now; the lock orders ownership */
		atomic_store_explicit(&s->resv_size, 0, memory_order_relaxed);
		atomic_store_explicit(&s->pid, (uint32_t)getpid(), memory_order_relaxed);
		atomic_store_explicit(&s->state, WSLOT_ACTIVE, memory_order_relaxed);
		atomic_store_explicit(&s->attaches, atomic_load_explicit(&s->attaches, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		q->wslot = (int)i;
		return 0;
	}
	return -MAPQ_ENOSLOT;
}

void mapq__wslot_detach(struct mapq *q)
{
	if (q->wslot < 0)
		return;
	struct fmt_wslot *s = &q->wslots[q->wslot];
	atomic_store_explicit(&s->state, WSLOT_FREE, memory_order_relaxed);
	mapq__slot_unlock(q->fd, wslot_lock_off(q, q->wslot));
	q->wslot = -1;
}
