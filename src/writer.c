/*
 * writer.c - reserve, commit, abort, send.
 *
 * A reservation is one CAS on tail, made only after head is known to be
 * at least a lap behind the reservation's end; no lock is taken on this
 * path. The frame is then claimed (size known to recovery and to head
 * movers), filled, checksummed, and committed with one store.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

/* How often a blocked writer looks for dead readers and writers. */
#define LIVENESS_POLL_NS (50 * 1000000ull)
/* Looks at a full ring before a writer sleeps: a few microseconds. */
#define RESERVE_SPINS 256

/* Try once to reserve @size frame bytes (plus any padding). Returns 0 with
 * *pos set, a MAPQ__BLOCKED_* reason, or a negative error. */
static int try_reserve(struct mapq *q, uint64_t size, uint64_t *pos, uint64_t *pad)
{
	/* relaxed: the CAS below re-validates the value; the space check uses
	 * head, which carries the ordering */
	uint64_t t = atomic_load_explicit(&q->ctl->tail, memory_order_relaxed);

	for (;;) {
		uint64_t off = t & q->mask;
		uint64_t p = off + size > q->cap ? q->cap - off : 0;
		uint64_t end = t + p + size;
		if (end > q->cap) {
			uint64_t need = end - q->cap;
			if (atomic_load_explicit(&q->ctl->head, memory_order_acquire) < need) {
				int r = mapq__advance_head(q, need);
				if (r)
					return r;
			}
		}
		/* relaxed: tail publishes nothing; readers wait on commit words */
		if (atomic_compare_exchange_weak_explicit(&q->ctl->tail, &t, end,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			*pos = t;
			*pad = p;
			return 0;
		}
	}
}

/*
 * Reserve with waiting. A blocked writer registers as a waiter on the word
 * its blocker will bump (space_seq for a reader, data_seq for a writer's
 * unfinished frame), reads the word, then looks again before sleeping:
 * the waiter's half of the Dekker pair described in wait.c.
 */
static int reserve_wait(struct mapq *q, uint64_t size, uint64_t *pos, uint64_t *pad,
			int timeout_ms)
{
	struct fmt_ctl *c = q->ctl;
	_Atomic uint32_t *seq = NULL, *waiters = NULL;
	uint64_t deadline = 0;
	uint32_t s = 0;
	int r;

	for (unsigned spins = 0;; spins++) {
		r = try_reserve(q, size, pos, pad);
		if (r <= 0)
			break;
		if (timeout_ms == 0) {
			r = -EAGAIN;
			break;
		}
		/* Readers free space continuously while they keep up: look a few
		 * more times before paying for a sleep and a wake-up. */
		if (spins < RESERVE_SPINS) {
			mapq__cpu_relax();
			continue;
		}
		_Atomic uint32_t *want =
			r == MAPQ__BLOCKED_BY_READER ? &c->space_waiters : &c->data_waiters;
		if (waiters != want) {
			if (waiters)
				atomic_fetch_sub_explicit(waiters, 1, memory_order_relaxed);
			else
				deadline = mapq__deadline(timeout_ms);
			waiters = want;
			seq = r == MAPQ__BLOCKED_BY_READER ? &c->space_seq : &c->data_seq;
			/* seq_cst: see wait.c; then look again before sleeping */
			atomic_fetch_add_explicit(waiters, 1, memory_order_seq_cst);
			s = atomic_load_explicit(seq, memory_order_seq_cst);
			continue;
		}
		/* A reader that dies wakes nobody: wake up now and then to look
		 * for dead readers (ring.c frees their slots as it scans). */
		uint64_t wake_by = mapq__now_ns() + LIVENESS_POLL_NS;
		r = mapq__futex_wait(seq, s, wake_by < deadline ? wake_by : deadline);
		if (r && wake_by >= deadline)
			break;
		s = atomic_load_explicit(seq, memory_order_seq_cst);
	}
	if (waiters)
		atomic_fetch_sub_explicit(waiters, 1, memory_order_relaxed);
	return r;
}

int mapq_reserve(mapq *q, size_t len, void **buf, int timeout_ms)
{
	if (!q || !buf)
		return -EINVAL;
	if (q->resv_size)
		return -MAPQ_ESTATE;
	if (len > q->max_msg)
		return -EMSGSIZE;
	if (q->wslot < 0) {
		int err = mapq__wslot_attach(q);
		if (err)
			return err;
	}
	uint64_t size = frame_size(len), pos, pad;
	int r = reserve_wait(q, size, &pos, &pad, timeout_ms);
	if (r)
		return r;

	struct fmt_wslot *ws = &q->wslots[q->wslot];
	/* relaxed pos, release size: recovery reads size (acquire) first, and
	 * a non-zero size means pos is this reservation's */
	atomic_store_explicit(&ws->resv_pos, pos, memory_order_relaxed);
	atomic_store_explicit(&ws->resv_size, pad + size, memory_order_release);
	if (pad) {
		/* relaxed: the release store of pos below publishes it */
		atomic_store_explicit(commit_at(q, pos),
				      cw_make(pad, FRAME_COMMITTED, 1, lap_of(q, pos)),
				      memory_order_relaxed);
		/* release, and last: whoever acquires pos == this position sees
		 * this frame's word, never stale bytes (format.md, publication) */
		atomic_store_explicit(&frame_at(q, pos)->pos, pos, memory_order_release);
	}
	pos += pad;
	struct fmt_frame *f = frame_at(q, pos);
	f->len = 0;
	f->writer = (uint16_t)q->wslot;
	f->flags = 0;
	f->reserved0 = 0;
	/* release: recovery that sees the claim also sees which writer made it */
	atomic_store_explicit(&f->commit, cw_make(size, FRAME_CLAIMED, 0, lap_of(q, pos)),
			      memory_order_release);
	/* release, and last: a reader that acquires pos == this position then
	 * reads this claim (or the commit after it), never stale bytes */
	atomic_store_explicit(&f->pos, pos, memory_order_release);
	q->resv_pos = pos;
	q->resv_size = size;
	q->resv_len = (uint32_t)len;
	*buf = (uint8_t *)f + FRAME_HDR;
	return 0;
}

/* Store the final commit word and clear the reservation record. */
static void finish(struct mapq *q, unsigned state)
{
	struct fmt_wslot *ws = &q->wslots[q->wslot];
	/* seq_cst: release publishes header and payload to readers, and the
	 * waiter-count load in mapq__wake_data must not pass this store */
	atomic_store_explicit(commit_at(q, q->resv_pos),
			      cw_make(q->resv_size, state, 0, lap_of(q, q->resv_pos)),
			      memory_order_seq_cst);
	/* relaxed: only recovery reads it, and a stale non-zero size is
	 * harmless (recovery finds the frame already finished) */
	atomic_store_explicit(&ws->resv_size, 0, memory_order_relaxed);
	q->resv_size = 0;
	mapq__wake_data(q);
}

int mapq_commit(mapq *q, size_t len)
{
	if (!q)
		return -EINVAL;
	if (!q->resv_size)
		return -MAPQ_ESTATE;
	if (len > q->resv_len)
		return -EMSGSIZE;
	struct fmt_frame *f = frame_at(q, q->resv_pos);
	struct fmt_wslot *ws = &q->wslots[q->wslot];
	f->len = (uint32_t)len;
	f->crc = mapq__frame_crc(f, (uint8_t *)f + FRAME_HDR, (uint32_t)len);
	/* relaxed load+store: only this slot's owner writes its counters */
	atomic_store_explicit(&ws->msgs, atomic_load_explicit(&ws->msgs, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&ws->bytes,
			      atomic_load_explicit(&ws->bytes, memory_order_relaxed) + len,
			      memory_order_relaxed);
	finish(q, FRAME_COMMITTED);
	return 0;
}

int mapq_abort(mapq *q)
{
	if (!q)
		return -EINVAL;
	if (!q->resv_size)
		return -MAPQ_ESTATE;
	struct fmt_wslot *ws = &q->wslots[q->wslot];
	atomic_store_explicit(&ws->aborted,
			      atomic_load_explicit(&ws->aborted, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	finish(q, FRAME_ABORTED);
	return 0;
}

int mapq_send(mapq *q, const void *data, size_t len, int timeout_ms)
{
	void *buf;

	if (len && !data)
		return -EINVAL;
	int r = mapq_reserve(q, len, &buf, timeout_ms);
	if (r)
		return r;
	if (len)
		memcpy(buf, data, len);
	return mapq_commit(q, len);
}
