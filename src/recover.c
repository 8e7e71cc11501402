/* SPDX-License-Identifier: MIT */
/*
 * recover.c - mapq_recover(): the queue after crashes.
 *
 * Live repair (any time): finish dead writers' reservations, release dead
 * writers' and readers' slots. Exclusive recovery (nobody else has the
 * queue open, proven by taking the open lock exclusively): also walk the
 * log from head, check every frame and CRC, end the log at the first torn
 * or invalid frame, unpublish whatever lies beyond the end, and move reader
 * cursors back into the log.
 *
 * Every step is idempotent, so a recovery killed at any point is simply
 * run again by the next process that opens the queue.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "internal.h"

static void tally(mapq_recovery *rep, int did)
{
	if (did == REPAIR_CLAIM)
		rep->claims_aborted++;
	else if (did == REPAIR_HOLE)
		rep->holes_filled++;
}

/*
 * Release every writer slot whose owner is dead. @repair: finish the
 * owner's reservation first (live repair). Exclusive recovery repairs
 * while it walks instead, where a record is used only if it describes the
 * exact frame boundary the walk stopped at: a record garbled by a system
 * crash can then never write into the middle of a good frame.
 */
static void free_dead_writers(struct mapq *q, mapq_recovery *rep, bool repair)
{
	for (uint32_t i = 0; i < q->nw; i++) {
		if ((int)i == q->wslot || mapq__slot_trylock(q->fd, wslot_lock_off(q, (int)i)) != 0)
			continue;
		struct fmt_wslot *s = &q->wslots[i];
		int did = repair ? mapq__repair_record(q, i) : REPAIR_NONE;
		tally(rep, did);
		/* relaxed: the slot's lock orders these for the next owner */
		if (did != REPAIR_UNSETTLED &&
		    (mapq__load(&s->resv_size, memory_order_relaxed) ||
		     mapq__load(&s->state, memory_order_relaxed) != WSLOT_FREE)) {
			mapq__store(&s->resv_size, 0, memory_order_relaxed);
			mapq__store(&s->state, WSLOT_FREE, memory_order_relaxed);
			rep->writers_freed++;
		}
		mapq__slot_unlock(q->fd, wslot_lock_off(q, (int)i));
	}
}

/* Free dead ephemeral readers, detach dead durable ones. */
static int free_dead_readers(struct mapq *q, mapq_recovery *rep)
{
	int err = mapq__registry_lock(q->fd, registry_off(q));
	if (err)
		return err;
	for (uint32_t i = 0; i < q->nr; i++) {
		struct fmt_rslot *s = &q->rslots[i];
		uint32_t st = mapq__load(&s->state, memory_order_acquire);
		if ((st != RSLOT_ACTIVE && st != RSLOT_BUSY) || own_reader(q, (int)i) ||
		    mapq__slot_trylock(q->fd, rslot_lock_off(q, (int)i)) != 0)
			continue;
		bool durable = mapq__load(&s->flags, memory_order_relaxed) & RSLOT_DURABLE;
		bool keep = durable && st == RSLOT_ACTIVE;
		/* seq_cst: as in mapq_reader_close(), before the wake below */
		mapq__store(&s->state, keep ? RSLOT_DETACHED : RSLOT_FREE, memory_order_seq_cst);
		if (keep)
			rep->readers_detached++;
		else
			rep->readers_freed++;
		mapq__slot_unlock(q->fd, rslot_lock_off(q, (int)i));
	}
	mapq__slot_unlock(q->fd, registry_off(q));
	mapq__wake_space(q);
	return 0;
}

/*
 * Exclusive recovery: reader slots in states no code writes (a garbled
 * page) become free, and so do durable slots without a usable name, which
 * nobody could ever resume or drop. Returns how many were changed.
 */
static uint32_t sanitize_readers(struct mapq *q)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < q->nr; i++) {
		struct fmt_rslot *s = &q->rslots[i];
		/* relaxed: nobody else has the queue open */
		uint32_t st = mapq__load(&s->state, memory_order_relaxed);
		uint32_t fl = mapq__load(&s->flags, memory_order_relaxed);
		size_t len = strnlen(s->name, sizeof(s->name));
		bool ok = st == RSLOT_FREE ||
			  (st == RSLOT_DETACHED && fl == RSLOT_DURABLE && len >= 1 &&
			   len < sizeof(s->name)) ||
			  (st == RSLOT_ACTIVE && (fl & ~RSLOT_DURABLE) == 0);
		if (ok || own_reader(q, (int)i))
			continue;
		mapq__store(&s->flags, 0, memory_order_relaxed);
		mapq__store(&s->state, RSLOT_FREE, memory_order_relaxed);
		n++;
	}
	return n;
}

/* Every unfinished frame in [head, tail) whose writer is dead. */
static void repair_frames(struct mapq *q, mapq_recovery *rep)
{
	/* acquire: frames behind head are done with */
	uint64_t c = mapq__load(&q->ctl->head, memory_order_acquire);
	uint64_t tail = mapq__load(&q->ctl->tail, memory_order_acquire);
	if (tail < c || tail - c > q->cap || c % FRAME_ALIGN)
		return; /* not believable: exclusive recovery deals with it */
	/* A repair that says "look again" (REPAIR_DONE: someone moved the
	 * frame on) is believed a few times per frame, no more: in a damaged
	 * file it can say so for ever. */
	for (unsigned again = 0; c < tail && again < 8;) {
		uint64_t w, pos = frame_pos_at(q, c);
		w = mapq__load(commit_at(q, c), memory_order_acquire);
		if (pos != c || cw_lap(w) != lap_of(q, c) || cw_state(w) == FRAME_CLAIMED) {
			int did = mapq__unblock(q, c, false);
			tally(rep, did);
			if (did == REPAIR_NONE)
				return; /* a live writer's, or torn: stop here */
			again++;
			continue; /* look at it again */
		}
		if (cw_state(w) == FRAME_NONE || !mapq__frame_valid(q, c, w))
			return;
		c += cw_size(w);
		again = 0;
	}
}

/* Verdict on the frame at @c during the exclusive walk: its size, or 0
 * with *why set when the log ends here. Counts intact messages. */
static uint64_t check_frame(struct mapq *q, uint64_t c, const char **why, mapq_recovery *rep)
{
	uint64_t w;
	if (frame_pos_at(q, c) != c) {
		*why = "no frame published where the next one should start";
		return 0;
	}
	w = mapq__load(commit_at(q, c), memory_order_acquire);
	if (cw_lap(w) != lap_of(q, c) || cw_state(w) == FRAME_NONE) {
		*why = "frame header is from another lap or never written";
		return 0;
	}
	if (!mapq__frame_valid(q, c, w)) {
		*why = "frame header is invalid (size or flags)";
		return 0;
	}
	if (cw_state(w) == FRAME_CLAIMED) {
		/* Only ours could still be live, and we hold no reservation. */
		uint64_t nw = cw_make(cw_size(w), FRAME_ABORTED, 0, lap_of(q, c));
		/* relaxed: nobody else has the queue open */
		mapq__store(commit_at(q, c), nw, memory_order_relaxed);
		rep->claims_aborted++;
		/* relaxed: a statistic (mapq_counters.repaired) */
		mapq__fetch_add(&q->ctl->repaired, 1, memory_order_relaxed);
		return cw_size(w);
	}
	if (cw_state(w) == FRAME_COMMITTED && !cw_pad(w)) {
		struct fmt_frame *f = frame_at(q, c);
		if (f->len > cw_size(w) - FRAME_HDR || f->len > q->max_msg) {
			*why = "frame length exceeds its frame";
			return 0;
		}
		if (mapq__frame_crc(f, (uint8_t *)f + FRAME_HDR, f->len) != f->crc) {
			*why = "frame CRC mismatch (torn write)";
			return 0;
		}
		rep->messages++;
	}
	return cw_size(w);
}

/* A head worth starting the walk from: on a published frame, or at tail. */
/*
 * Does the control page's head look like one? The frame at head is
 * published, or it is a hole a writer's record describes (the writer died
 * after its reservation, before its frame's pos): both are the log's
 * start. Taking a hole at head for a garbled page made recovery invent a
 * full lap of log after it, and then lose what was written there when
 * the next recovery found that lap empty (the simulator found it:
 * doc/simulation.md).
 */
static bool head_ok(const struct mapq *q, uint64_t h, uint64_t t)
{
	return h % FRAME_ALIGN == 0 && h <= t && t - h <= q->cap && h < FMT_POS_LIMIT &&
	       (h == t || frame_pos_at(q, h) == h || mapq__reserved_at(q, h));
}

/*
 * Move reader cursors back into the log: onto [head, end], and onto a
 * frame boundary (a garbled cursor moves to the next frame).
 */
static void fix_cursors(struct mapq *q, uint64_t head, uint64_t end, mapq_recovery *rep)
{
	for (uint32_t i = 0; i < q->nr; i++) {
		struct fmt_rslot *s = &q->rslots[i];
		uint32_t st = mapq__load(&s->state, memory_order_relaxed);
		if (st != RSLOT_ACTIVE && st != RSLOT_DETACHED)
			continue;
		uint64_t c = mapq__load(&s->cursor, memory_order_relaxed), b = head;
		while (b < end && b < c)
			b += cw_size(mapq__load(commit_at(q, b), memory_order_relaxed));
		if (b > end)
			b = end;
		if (b != c) {
			/* relaxed: exclusive; the open lock orders it for others */
			mapq__store(&s->cursor, b, memory_order_relaxed);
			rep->cursors_moved++;
		}
	}
}

static int recover_exclusive(struct mapq *q, mapq_recovery *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->exclusive = 1;
	int err = MAPQ_FAULT(RECOVER_START);
	if (err)
		return err;
	struct fmt_ctl *ctl = q->ctl;
	/* relaxed throughout: nobody else has the queue open */
	uint64_t h = mapq__load(&ctl->head, memory_order_relaxed);
	uint64_t t = mapq__load(&ctl->tail, memory_order_relaxed);
	rep->tail_before = t;
	if (!head_ok(q, h, t)) {
		/* The control page is garbled (a system crash mid-write of it):
		 * start from the last sync's checkpoint, else from nothing. */
		const struct fmt_ckpt *k = mapq__newest_ckpt(q);
		h = k && head_ok(q, k->head, k->head + q->cap) ? k->head : 0;
		rep->used_checkpoint = k != NULL;
		mapq__store(&ctl->head, h, memory_order_relaxed);
		mapq__store(&ctl->tail, h + q->cap, memory_order_relaxed);
		mapq__store(&ctl->crc_failures, 0, memory_order_relaxed);
		mapq__store(&ctl->lapped, 0, memory_order_relaxed);
		mapq__store(&ctl->lost, 0, memory_order_relaxed);
	}
	/* Every other process is gone: a slot scan may take any of them. */
	mapq__store(&ctl->reader_hwm, q->nr, memory_order_relaxed);
	if ((err = free_dead_readers(q, rep)) != 0)
		return err;
	rep->readers_freed += sanitize_readers(q);

	/* Walk at most one lap: frames past the recorded tail are genuine
	 * when their pos and lap tag say so (a stale control page). Where a
	 * frame is missing, a dead writer's record may describe it. */
	const char *why = "end of the log";
	uint64_t c = h;
	bool looked_again = false;
	while (c < h + q->cap) {
		uint64_t size = check_frame(q, c, &why, rep);
		if (!size) {
			int did = mapq__unblock(q, c, false);
			/* REPAIR_DONE: the frame is finished now, its pos helped
			 * in (a repairer, an earlier recovery perhaps, died between
			 * its word and its pos): look once more. Ending the log
			 * there scrubbed every frame after it, acknowledged ones
			 * too (the simulator found it: doc/simulation.md). */
			if (did == REPAIR_NONE || (did == REPAIR_DONE && looked_again))
				break;
			if (did != REPAIR_DONE)
				tally(rep, did);
			looked_again = did == REPAIR_DONE;
			continue;
		}
		looked_again = false;
		if (c + size > h + q->cap) {
			/* It would overwrite the oldest frame: a ring holds one lap. */
			why = "frame runs past one lap from head";
			break;
		}
		rep->frames_scanned++;
		c += size;
	}
	if ((err = MAPQ_FAULT(RECOVER_REPAIRED)))
		return err;
	free_dead_writers(q, rep, false);
	if (c == h + q->cap)
		why = "end of the log (one full lap)";
	else if (c == t)
		why = "end of the log";
	uint64_t end = c;
	/* Unpublish everything a reader could meet past the end before
	 * writers reach it (any pos field there equal to its position), and
	 * every commit word there with this lap's tag, which a writer claiming
	 * that position could take for a repairer's (writer.c, claim). */
	for (uint64_t p = end; p < h + q->cap; p += FRAME_ALIGN) {
		struct fmt_frame *f = frame_at(q, p);
		uint64_t w = mapq__load(&f->commit, memory_order_relaxed);
		bool tagged = cw_lap(w) == lap_of(q, p) && cw_state(w) != FRAME_NONE;
		if (mapq__load(&f->pos, memory_order_relaxed) == p) {
			if (tagged)
				rep->frames_scrubbed++; /* a frame, not just zeroes */
			mapq__store(&f->pos, POS_SCRUBBED, memory_order_relaxed);
		}
		if (tagged)
			mapq__store(&f->commit, 0, memory_order_relaxed);
	}
	if ((err = MAPQ_FAULT(RECOVER_SCRUBBED)))
		return err;
	mapq__store(&ctl->tail, end, memory_order_relaxed);
	/* Sleeper flags that dead processes left set would make the next
	 * commit pay for a futex wake no one needs. */
	mapq__store(&ctl->data_sleepers, 0, memory_order_relaxed);
	mapq__store(&ctl->space_sleepers, 0, memory_order_relaxed);
	if ((err = MAPQ_FAULT(RECOVER_TAIL)))
		return err;
	fix_cursors(q, h, end, rep);
	if ((err = MAPQ_FAULT(RECOVER_READERS)))
		return err;
	rep->head = h;
	rep->tail_after = end;
	rep->bytes_discarded = t > end && !rep->used_checkpoint ? t - end : 0;
	rep->end_reason = why;
	return 0;
}

bool mapq__recover_alone(struct mapq *q, const char *path, mapq_recovery *rep, int *err)
{
	/* Exclusive if our open lock (shared, or not taken yet) can be
	 * taken exclusively: nobody else has the queue open. */
	if (mapq__slot_trylock(q->fd, open_off(q)) != 0)
		return false;
	if (path)
		(void)mapq__sweep_temp(path);
	int e = recover_exclusive(q, rep);
	int e2 = mapq__lock_shared(q->fd, open_off(q), false);
	*err = e ? e : e2;
	return true;
}

int mapq_recover(mapq *q, mapq_recovery *rep)
{
	mapq_recovery tmp;
	int err = idle_writable(q);
	if (err)
		return err;
	if (!rep)
		rep = &tmp;
	if (mapq__recover_alone(q, NULL, rep, &err))
		return err;
	memset(rep, 0, sizeof(*rep));
	err = MAPQ_FAULT(RECOVER_START);
	if (err)
		return err;
	free_dead_writers(q, rep, true);
	if ((err = free_dead_readers(q, rep)) != 0)
		return err;
	repair_frames(q, rep);
	/* relaxed: a report, not a cut */
	rep->head = mapq__load(&q->ctl->head, memory_order_relaxed);
	rep->tail_before = rep->tail_after = mapq__load(&q->ctl->tail, memory_order_relaxed);
	rep->end_reason = "other processes have the queue open: repaired dead writers "
			  "and readers only, the log was not cut";
	return 0;
}
