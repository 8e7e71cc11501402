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
	/* relaxed: numbers only. Each frame is judged by its own pos and
	 * word, a stale head only makes us look at more of them, and the
	 * records of reservations below tail are read by mapq__unblock(),
	 * after its own acquire of tail. */
	uint64_t c = mapq__load(&q->ctl->head, memory_order_relaxed);
	uint64_t tail = mapq__load(&q->ctl->tail, memory_order_relaxed);
	if (tail < c || tail - c > q->cap || c % FRAME_ALIGN)
		return; /* not believable: exclusive recovery deals with it */
	/* A repair that says "look again" (REPAIR_DONE: someone moved the
	 * frame on) is believed a few times per frame, no more: in a damaged
	 * file it can say so for ever. */
	for (unsigned again = 0; c < tail && again < 8;) {
		/* relaxed: after pos's acquire, which is what publishes the
		 * word (a stale word is a later lap's, which fails the tag
		 * check); nothing plain of the frame is read here */
		uint64_t w, pos = frame_pos_at(q, c);
		w = mapq__load(commit_at(q, c), memory_order_relaxed);
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

/*
 * What is wrong with the frame at @c, NULL if it is intact (a claimed one
 * counts: the walk aborts it). Changes nothing. The word in *wp.
 */
static const char *frame_fault(const struct mapq *q, uint64_t c, uint64_t *wp)
{
	if (frame_pos_at(q, c) != c)
		return "no frame published where the next one should start";
	/* relaxed: exclusive (recover_exclusive(), the walk): no other
	 * process has the queue open, and the open lock orders what the
	 * last ones wrote before our reads of header and payload */
	uint64_t w = *wp = mapq__load(commit_at(q, c), memory_order_relaxed);
	if (cw_lap(w) != lap_of(q, c) || cw_state(w) == FRAME_NONE)
		return "frame header is from another lap or never written";
	if (!mapq__frame_valid(q, c, w))
		return "frame header is invalid (size or flags)";
	if (cw_state(w) != FRAME_COMMITTED || cw_pad(w))
		return NULL;
	const struct fmt_frame *f = frame_at(q, c);
	uint32_t len = f->len;
	if (len > cw_size(w) - FRAME_HDR || len > q->max_msg)
		return "frame length exceeds its frame";
	if (mapq__frame_crc(f, c, (const uint8_t *)f + FRAME_HDR, len) != f->crc)
		return "frame CRC mismatch (torn write)";
	return NULL;
}

static bool intact_at(const struct mapq *q, uint64_t p)
{
	uint64_t w;
	return frame_fault(q, p, &w) == NULL;
}

/* Verdict on the frame at @c during the exclusive walk: its size, or 0
 * with *why set when the log ends here. Counts intact messages; aborts a
 * dead writer's claimed frame. */
static uint64_t check_frame(struct mapq *q, uint64_t c, const char **why, mapq_recovery *rep)
{
	uint64_t w;
	const char *fault = frame_fault(q, c, &w);
	if (fault) {
		*why = fault;
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
	} else if (cw_state(w) == FRAME_COMMITTED && !cw_pad(w)) {
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
 * The first intact frame in [@p, @limit), 0 if none. Past a frame of a
 * later lap where one starts (the slot's pos is a lap or more ahead): it
 * overwrote what was there, and a frame of this lap whose header it
 * reached may still look intact but for its size, which the CRC does not
 * cover (the simulator found a log walked from such a frame).
 */
static uint64_t next_intact(const struct mapq *q, uint64_t p, uint64_t limit)
{
	while (p < limit) {
		if (intact_at(q, p))
			return p;
		uint64_t later = frame_pos_at(q, p);
		if (later > p && later < FMT_POS_LIMIT && (later - p) % q->cap == 0 &&
		    intact_at(q, later)) {
			/* relaxed: nobody else has the queue open */
			p += cw_size(mapq__load(commit_at(q, later), memory_order_relaxed));
			continue;
		}
		p += FRAME_ALIGN;
	}
	return 0;
}

/*
 * Where the walk starts: @h, if an intact frame starts there, or a hole a
 * writer's record describes, or it is the end (@t). Otherwise the first
 * intact frame after it, within a lap. That is what a power cut can leave
 * (doc/format.md, "Exclusive recovery"): a head from the disk (a control
 * page older than the ring, or the last sync checkpoint) that readers had
 * moved on from, at a frame that a writer had since begun to reuse (its
 * header partly rewritten) or had reused. Ending the log there lost every
 * message after it, synced ones too (the simulator found it:
 * doc/simulation.md). The frames skipped were consumed; some after them
 * may have been too, and are delivered again.
 */
static uint64_t walk_start(const struct mapq *q, uint64_t h, uint64_t t)
{
	if (h == t || intact_at(q, h) || mapq__reserved_at(q, h))
		return h;
	uint64_t p = next_intact(q, h, h + q->cap);
	return p ? p : h;
}
/*
 * Exclusive: make [c, b) aborted frames (padding where it reaches the
 * ring's end), as a repair fills a hole (mapq__fill_piece), so that
 * readers walk past what is there. False, changing nothing, if it cannot be tiled with frames
 * (a piece smaller than a header that is not the ring's end).
 */
static bool abort_span(struct mapq *q, uint64_t c, uint64_t b, bool dry)
{
	while (c < b) {
		uint64_t nw, size = mapq__fill_piece(q, c, b, &nw);
		if (!size)
			return false;
		if (!dry) {
			/* relaxed: nobody else has the queue open; the word before
			 * pos, as a writer publishes, so that a recovery killed
			 * half way leaves frames the next one walks or redoes */
			mapq__store(commit_at(q, c), nw, memory_order_relaxed);
			mapq__store(&frame_at(q, c)->pos, c, memory_order_relaxed);
		}
		c += size;
	}
	return true;
}

/*
 * The walk met a frame at @c that fails, before @anchor, the tail that the
 * control page or the checkpoint recorded: frames up to there were
 * written before it was. After a power cut that is a frame readers had
 * consumed, that a writer of the next lap had begun to reuse (its header
 * partly rewritten): what follows is intact and still owed to readers
 * (the simulator found every synced message after it cut off:
 * doc/simulation.md). Skip it: the next intact frame before @anchor, with
 * the damage between made aborted frames. 0 if there is none.
 */
static uint64_t skip_damage(struct mapq *q, uint64_t c, uint64_t anchor)
{
	uint64_t limit = anchor < c + q->cap ? anchor : c + q->cap;
	for (uint64_t p = c; (p = next_intact(q, p, limit)) != 0; p += FRAME_ALIGN)
		if (p > c && abort_span(q, c, p, true)) {
			(void)abort_span(q, c, p, false);
			return p;
		}
	return 0;
}
/*
 * Exclusive: unpublish what a reader or writer reaching position @p (the
 * first at or past @end in its slot) could take for a frame: a pos field
 * there that names @p or a later position in the slot, and a commit word
 * with the tag of @p's lap or the next, which a writer claiming it could
 * take for a repairer's (writer.c, claim). The next lap's too: after a
 * power cut the log can end a lap or more before what was written (the
 * simulator found a stale frame a lap on delivered as a new message).
 */
static void scrub_slot(struct mapq *q, uint64_t p, uint64_t end, mapq_recovery *rep)
{
	struct fmt_frame *f = frame_at(q, p);
	/* relaxed: nobody else has the queue open */
	uint64_t w = mapq__load(&f->commit, memory_order_relaxed);
	uint64_t pos = mapq__load(&f->pos, memory_order_relaxed);
	bool tagged = cw_state(w) != FRAME_NONE &&
		      (cw_lap(w) == lap_of(q, p) || cw_lap(w) == lap_of(q, p + q->cap));
	if (pos != POS_SCRUBBED && pos >= end && pos >= p && (pos - p) % q->cap == 0) {
		if (tagged)
			rep->frames_scrubbed++; /* a frame, not just zeroes */
		mapq__store(&f->pos, POS_SCRUBBED, memory_order_relaxed);
	}
	if (tagged)
		mapq__store(&f->commit, 0, memory_order_relaxed);
}

/*
 * The bodies of the log's aborted frames and padding are never checked:
 * frames written there before a power cut, of a lap that the recovered
 * log does not reach, can still look published. Each slot of such a body
 * is one a lap on, past the end.
 */
static void scrub_bodies(struct mapq *q, uint64_t h, uint64_t end, mapq_recovery *rep)
{
	for (uint64_t c = h; c < end;) {
		/* relaxed: nobody else has the queue open */
		uint64_t w = mapq__load(commit_at(q, c), memory_order_relaxed), size = cw_size(w);
		if (size < FRAME_ALIGN || size % FRAME_ALIGN || size > end - c)
			return; /* the walk checked every frame: not reached */
		if (cw_state(w) != FRAME_COMMITTED || cw_pad(w))
			for (uint64_t x = c + FRAME_ALIGN; x < c + size; x += FRAME_ALIGN)
				scrub_slot(q, x + q->cap, end, rep);
		c += size;
	}
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
	/* where the recorded log ends: everything before was written first */
	uint64_t anchor = t;
	if (!head_ok(q, h, t)) {
		/* The control page is garbled (a system crash mid-write of it):
		 * start from the last sync's checkpoint, else from nothing. */
		const struct fmt_ckpt *k = mapq__newest_ckpt(q);
		h = k && k->head % FRAME_ALIGN == 0 && k->head < FMT_POS_LIMIT ? k->head : 0;
		anchor = k && k->tail >= h && k->tail - h <= q->cap ? k->tail : h;
		rep->used_checkpoint = k != NULL;
		t = h + q->cap; /* the walk finds the end */
		mapq__store(&ctl->head, h, memory_order_relaxed);
		mapq__store(&ctl->tail, t, memory_order_relaxed);
		mapq__store(&ctl->crc_failures, 0, memory_order_relaxed);
		mapq__store(&ctl->lapped, 0, memory_order_relaxed);
		mapq__store(&ctl->lost, 0, memory_order_relaxed);
	}
	uint64_t start = walk_start(q, h, t);
	if (start != h) {
		h = start;
		mapq__store(&ctl->head, h, memory_order_relaxed);
		/* A tail at or behind the walk's start is as stale as the
		 * head was: the walk finds the end. Left at the start, it
		 * made a dead writer's hole after it space past the end, and
		 * the log ended there (tests/recover_walk). */
		if (t <= h)
			mapq__store(&ctl->tail, h + q->cap, memory_order_relaxed);
	}
	/* Every other process is gone: a slot scan may take any of them. */
	mapq__store(&ctl->reader_hwm, q->nr, memory_order_relaxed);
	if ((err = free_dead_readers(q, rep)) != 0)
		return err;
	rep->readers_freed += sanitize_readers(q);
	/* Head movers need scan no further than the last slot still in use
	 * (a durable reader's); a reader attaching above it raises it first
	 * (reader.c). Without this, every queue's first open left it at
	 * the slot count, and each head move looked at every slot. */
	uint32_t hwm = q->nr;
	while (hwm > 0 && mapq__load(&q->rslots[hwm - 1].state, memory_order_relaxed) == RSLOT_FREE)
		hwm--;
	mapq__store(&ctl->reader_hwm, hwm, memory_order_relaxed);

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
			if (did == REPAIR_NONE || (did == REPAIR_DONE && looked_again)) {
				uint64_t next = c < anchor ? skip_damage(q, c, anchor) : 0;
				if (!next)
					break;
				rep->frames_skipped++;
				looked_again = false;
				c = next;
				continue;
			}
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
	 * writers reach it: outside the log, and in the unchecked bodies of
	 * its aborted frames and padding (scrub_slot). */
	for (uint64_t p = end; p < h + q->cap; p += FRAME_ALIGN)
		scrub_slot(q, p, end, rep);
	scrub_bodies(q, h, end, rep);
	if ((err = MAPQ_FAULT(RECOVER_SCRUBBED)))
		return err;
	mapq__store(&ctl->tail, end, memory_order_relaxed);
	/* No head mover is in flight: an intent left (a garbled control page
	 * may hold any) would only make joiners skip frames once tail passed
	 * it. */
	mapq__store(&ctl->head_intent, 0, memory_order_relaxed);
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

/*
 * All of it under the join lock. Openers that waited on the open byte
 * behind a recoverer were granted their shared locks when it died as
 * well as when it finished, and then used a queue it had left half
 * recovered, or not recovered at all (a power cut's image: the simulator
 * found both, doc/simulation.md). Behind the join lock, the next opener
 * finds the queue unused instead, and recovers it.
 */
int mapq__join(struct mapq *q, const char *path, mapq_recovery *rep, bool *alone)
{
	int err = mapq__registry_lock(q->fd, join_off(q));
	if (err)
		return err;
	/* Exclusive if our open lock (shared, or not taken yet) can be
	 * taken exclusively: nobody else has the queue open. */
	*alone = mapq__slot_trylock(q->fd, open_off(q)) == 0;
	if (*alone) {
		/* creators that died beside the queue left temporary files */
		if (path)
			(void)mapq__os_sweep(path);
		err = recover_exclusive(q, rep);
	}
	int e2 = mapq__lock_shared(q->fd, open_off(q), !*alone);
	mapq__slot_unlock(q->fd, join_off(q));
	return err ? err : e2;
}

int mapq_recover(mapq *q, mapq_recovery *rep)
{
	mapq_recovery tmp;
	int err = idle_writable(q);
	if (err)
		return err;
	if (!rep)
		rep = &tmp;
	bool alone;
	if ((err = mapq__join(q, NULL, rep, &alone)) != 0 || alone)
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
