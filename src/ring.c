/* SPDX-License-Identifier: MIT */
/*
 * ring.c - the oldest retained frame (head) and who may pass it.
 *
 * head only moves forward, over whole finished frames, by a CAS from any
 * writer that needs the space. Before moving head past a frame, the mover
 * looks at every reader still on that frame:
 *   MAPQ_BLOCK     - the reader holds writers back; the mover stops before
 *                    it (and otherwise moves a batch of frames at once).
 *   MAPQ_OVERWRITE - the mover pushes the reader's cursor past the frame
 *                    (a CAS, so the reader's own advance and ours cannot
 *                    both win) and counts the message as lost to it.
 * Nobody writes into ring bytes until head has passed them, so a reader
 * whose cursor CAS succeeds knows the bytes it read were intact.
 */
#include "config.h"

#include <errno.h>

#include "internal.h"

/*
 * A reader slot marked ACTIVE whose owner died: free it (ephemeral) or
 * detach it (durable, which keeps its cursor). Returns true if the slot no
 * longer holds writers back.
 */
static bool reap_dead_reader(struct mapq *q, int i)
{
	struct fmt_rslot *s = &q->rslots[i];

	if (own_reader(q, i) || mapq__slot_is_live(q->fd, rslot_lock_off(q, i)))
		return false;
	/* Under the registry lock, so that our brief hold of the slot's lock
	 * never makes a reader attaching by name see a live owner. */
	if (mapq__registry_lock(q->fd, registry_off(q)) != 0)
		return false;
	if (mapq__slot_trylock(q->fd, rslot_lock_off(q, i)) != 0) {
		mapq__slot_unlock(q->fd, registry_off(q));
		return false;
	}
	bool freed = false;
	uint32_t st = RSLOT_ACTIVE;
	bool durable = mapq__load(&s->flags, memory_order_relaxed) & RSLOT_DURABLE;
	/* seq_cst: release, so that a later owner's acquire of the state sees
	 * our fields; and ordered before the sleeper-flag load in wake_space */
	if (mapq__cas(&s->state, &st, durable ? RSLOT_DETACHED : RSLOT_FREE, memory_order_seq_cst,
		      memory_order_relaxed))
		freed = !durable;
	mapq__slot_unlock(q->fd, rslot_lock_off(q, i));
	mapq__slot_unlock(q->fd, registry_off(q));
	/* Other writers the dead reader held back may be asleep: they would
	 * otherwise find out only at their next look (mapq__poll.space_ns). */
	if (freed)
		mapq__wake_space(q);
	return freed;
}

static uint32_t reader_hwm(const struct mapq *q)
{
	/* seq_cst: the bound is part of the join's pair with head movers. A
	 * mover's CAS of head, then this load, then the slots' seq_cst state
	 * loads; against a joiner's seq_cst raise of the bound, its state
	 * store, then its load of head (reader.c, raise_hwm()). A slot past
	 * the bound is never looked at, so a relaxed bound, read before the
	 * CAS was seen (ARM), missed a joiner whose load of head missed the
	 * move: under MAPQ_OVERWRITE it read frames the mover overwrote
	 * (mapq-sim --memory weak, four writers, readers rejoining). */
	uint32_t hwm = mapq__load(&q->ctl->reader_hwm, memory_order_seq_cst);
	return hwm > q->nr ? q->nr : hwm; /* from the file: never trusted */
}

static bool holds_writers(uint32_t st)
{
	return st == RSLOT_ACTIVE || st == RSLOT_DETACHED;
}

/*
 * The one scan of the reader slots, used by every mover of head and of
 * cursors: each slot that holds writers back (attached, or a detached
 * durable reader), with its state and cursor.
 *
 * The state is read seq_cst: it pairs with a joining reader's seq_cst
 * store of its state, after which the reader re-reads head. So either this
 * scan (after the caller's seq_cst CAS of head) sees the new reader, or
 * the reader sees the new head: a reader can never be left behind head
 * unseen (mapq__lift_readers). The cursor is read acquire: the reader read
 * its frames before it released its cursor past them.
 */
struct holder {
	struct fmt_rslot *slot;
	uint32_t i;
	uint32_t state;
	uint64_t cursor;
};
struct reader_scan {
	uint32_t next, hwm;
};

static struct reader_scan scan_readers(const struct mapq *q)
{
	return (struct reader_scan){ 0, reader_hwm(q) };
}

static inline bool next_holder(struct mapq *q, struct reader_scan *it, struct holder *h)
{
	while (it->next < it->hwm) {
		uint32_t i = it->next++;
		struct fmt_rslot *s = &q->rslots[i];
		uint32_t st = mapq__load(&s->state, memory_order_seq_cst);
		if (!holds_writers(st))
			continue;
		*h = (struct holder){ s, i, st, mapq__load(&s->cursor, memory_order_acquire) };
		return true;
	}
	return false;
}

/* MAPQ_OVERWRITE: push every reader still at or before frame [h, next)
 * past it, counting the message as lost to it. */
static void pass_readers(struct mapq *q, uint64_t h, uint64_t next, bool data)
{
	struct holder rd;

	for (struct reader_scan it = scan_readers(q); next_holder(q, &it, &rd);) {
		struct fmt_rslot *s = rd.slot;
		uint64_t c = rd.cursor;
		if (c > h)
			continue;
		while (c <= h) {
			/* acq_rel. Acquire, as the scan's load of the cursor:
			 * the reader's release of the frames before c comes
			 * before we overwrite them. Release: the lost counts of
			 * our earlier pushes come before this push. This one's
			 * count follows it, so a reader can see the push before
			 * the count (doc/format.md, "Read"). */
			if (mapq__cas_weak(&s->cursor, &c, next, memory_order_acq_rel,
					   memory_order_acquire)) {
				if (data && c == h) {
					/* relaxed: counters; the reader polls lost */
					mapq__fetch_add(&s->lost, 1, memory_order_relaxed);
					mapq__fetch_add(&q->ctl->lost, 1, memory_order_relaxed);
				}
				(void)MAPQ_FAULT(HEAD_AFTER_PUSH);
				break;
			}
		}
	}
}

/*
 * MAPQ_OVERWRITE: a reader that joined while we moved head may have set its
 * cursor to the old head without our scan seeing it. Either its re-check of
 * head sees our move, or this scan (after our seq_cst CAS) sees its seq_cst
 * state store: whoever notices moves the cursor up to the new head. (It may
 * have looked at a frame we passed meanwhile: an overwrite reader's
 * seqlock finds its cursor moved. MAPQ_BLOCK needs more, intend() below.)
 */
void mapq__lift_readers(struct mapq *q, uint64_t head)
{
	struct holder rd;

	for (struct reader_scan it = scan_readers(q); next_holder(q, &it, &rd);) {
		uint64_t c = rd.cursor;
		/* relaxed: a cursor is a position; the reader judges the frames
		 * it reads from it by look()'s own acquire loads, and no count
		 * is stored with a lift for it to publish */
		while (c < head && !mapq__cas_weak(&rd.slot->cursor, &c, head, memory_order_relaxed,
						   memory_order_relaxed))
			;
	}
}

/*
 * MAPQ_BLOCK: how far every reader has got. Returns the smallest cursor of
 * the readers that hold writers back (UINT64_MAX if none), after freeing
 * dead ephemeral readers that sit at or before @h.
 */
static uint64_t readers_floor(struct mapq *q, uint64_t h, bool eager)
{
	uint64_t floor = UINT64_MAX;
	struct holder rd;
	/* Asking the kernel whether a reader is alive costs a system call:
	 * a writer spinning on a full ring asks at most once a millisecond
	 * (a dead reader's slot is then freed within about that); one that
	 * cannot wait (@eager) asks at once. */
	int may_reap = eager ? 1 : -1; /* -1: undecided, the clock is read only if needed */

	for (struct reader_scan it = scan_readers(q); next_holder(q, &it, &rd);) {
		uint64_t c = rd.cursor;
		if (c <= h && rd.state == RSLOT_ACTIVE && may_reap) {
			if (may_reap < 0) {
				uint64_t now = mapq__now_ns();
				may_reap = now - q->reap_check >= mapq__poll.unblock_ns;
				if (may_reap)
					q->reap_check = now;
			}
			if (may_reap && reap_dead_reader(q, (int)rd.i))
				continue;
		}
		if (c < floor)
			floor = c;
	}
	return floor;
}

/*
 * The frame at @h, if it is finished: its end, else 0 (not claimed yet or
 * still being written), or -MAPQ_ECORRUPT via *err.
 */
static uint64_t finished_end(const struct mapq *q, uint64_t h, unsigned *state, int *err)
{
	/* pos first (acquire), then the word: see frame_pos_at() */
	uint64_t pos = frame_pos_at(q, h);
	/* acquire: a finished frame's size is final */
	uint64_t w = mapq__load(commit_at(q, h), memory_order_acquire);
	unsigned st = cw_state(w);
	*err = 0;
	if (cw_lap(w) != lap_of(q, h) || st == FRAME_NONE || st == FRAME_CLAIMED || pos != h)
		return 0;
	if (!mapq__frame_valid(q, h, w)) {
		*err = -MAPQ_ECORRUPT;
		return 0;
	}
	*state = cw_pad(w) ? FRAME_ABORTED : st; /* padding carries no message */
	return h + cw_size(w);
}

/*
 * MAPQ_BLOCK: the end of the run of finished frames from @h: up to the
 * first frame that starts at or past @limit, is not finished, or ends past
 * @floor (a reader is still on it). The same frames as finished_end() one
 * by one, which head's batches call once per frame over an eighth of the
 * ring; so the frames every batch is made of (messages of this lap,
 * committed, no larger than a message) are judged here by one compare of
 * their word's upper half and two of their size, and any other frame
 * (padding, aborted, of another lap, damaged) by finished_end() itself.
 * The same loads in the same order: pos, then the word, both acquire.
 */
static uint64_t walk_finished(const struct mapq *q, uint64_t h, uint64_t limit, uint64_t floor,
			      int *err)
{
	/* In locals: after each acquire load the compiler would read them
	 * again from the handle */
	uint8_t *const ring = q->ring;
	const uint64_t mask = q->mask, max = q->commit_max - FRAME_HDR;
	uint64_t end = h;
	unsigned st;

	*err = 0;
	while (end < limit) {
		/* A frame ends at or before its lap's end (else it is damaged,
		 * which finished_end() says), and at or before @floor. */
		uint64_t lap_end = (end | mask) + 1, bound = floor < lap_end ? floor : lap_end;
		/* The upper half of a message's word in this lap: committed,
		 * no padding, not forsaken, the lap's tag */
		uint64_t hi = cw_make(0, FRAME_COMMITTED, 0, lap_of(q, end)) >> 32;
		while (end < limit) {
			struct fmt_frame *f = (struct fmt_frame *)(ring + (end & mask));
			/* acquire, both, as finished_end(): pos first, whose
			 * release published the frame (frame_pos_at()); the
			 * word's keeps head's re-read after it (the seqlock in
			 * mapq__advance_head()) */
			uint64_t pos = mapq__load(&f->pos, memory_order_acquire);
			uint64_t w = mapq__load(&f->commit, memory_order_acquire);
			uint64_t size = cw_size(w);
			/* size - FRAME_HDR > max: smaller than a header (it
			 * wraps) or larger than any message */
			if (pos != end || w >> 32 != hi || size % FRAME_ALIGN ||
			    size - FRAME_HDR > max || end + size > bound)
				break;
			end += size;
		}
		if (end >= limit)
			break;
		uint64_t next = finished_end(q, end, &st, err);
		if (!next || next > floor)
			break;
		end = next;
	}
	return end;
}

/*
 * MAPQ_BLOCK: before moving head from @h to @end, say so, then look at the
 * readers again. A reader joining at the oldest frame (reader.c, Join)
 * stores its state, then reads head_intent and head, and starts at the
 * furthest of them. Our first scan may have missed it; this second scan
 * comes after the intent (both seq_cst), so either it sees the joiner,
 * whose cursor then bounds @end, or the joiner's load of head_intent comes
 * after our store and it starts at or past @end: a reader never holds a
 * frame head passes, whenever our CAS lands. False: a reader joined below
 * @end; look again.
 */
static bool intend(struct mapq *q, uint64_t h, uint64_t end)
{
	_Atomic uint64_t *in = &q->ctl->head_intent;
	/* seq_cst, load and CAS alike: whichever of them leaves head_intent
	 * at or past @end must come before the scan below in the single
	 * order of seq_cst operations, so that a joiner's seq_cst load of it,
	 * after its state store that the scan missed, reads @end or more.
	 * A max: a plain store could replace another mover's larger intent
	 * that a joiner still needs. */
	uint64_t i = mapq__load(in, memory_order_seq_cst);
	while (i < end && !mapq__cas_weak(in, &i, end, memory_order_seq_cst, memory_order_seq_cst))
		;
	return readers_floor(q, h, false) >= end;
}

/*
 * Move head to at least @need. Returns 0, MAPQ__BLOCKED_BY_READER,
 * MAPQ__BLOCKED_BY_WRITER (the frame at head is not finished) or -MAPQ_ECORRUPT.
 * @eager: a caller that cannot wait: ask at once whether blocking readers
 * are alive, rather than at most once a millisecond.
 *
 * Under MAPQ_BLOCK head moves in batches: up to HEAD_BATCH bytes past
 * @need when every reader has passed them, so the scan of the readers'
 * cursors (lines that readers write on every message) is paid once per
 * batch rather than once per frame. Under MAPQ_OVERWRITE it moves one
 * frame at a time, pushing only the readers that must be pushed.
 */
#define HEAD_BATCH(q) ((q)->cap / 8)

int mapq__advance_head(struct mapq *q, uint64_t need, bool eager)
{
	/* acquire: pairs with the release CAS that moved head, so the frames
	 * behind it are free for us to overwrite */
	uint64_t h = mapq__load(&q->ctl->head, memory_order_acquire);
	bool moved = false;

	while (h < need) {
		if (h % FRAME_ALIGN)
			return -MAPQ_ECORRUPT; /* from the file: off the frame grid */
		uint64_t limit = need, floor = UINT64_MAX;
		if (!q->overwrite) {
			floor = readers_floor(q, h, eager);
			if (floor <= h)
				return MAPQ__BLOCKED_BY_READER;
			limit = need + HEAD_BATCH(q) < floor ? need + HEAD_BATCH(q) : floor;
		}
		/* Walk the finished frames from h towards limit: one frame
		 * under MAPQ_OVERWRITE, whose readers on it are pushed below. */
		uint64_t end = h;
		unsigned st = FRAME_ABORTED;
		int err = 0;
		if (!q->overwrite) {
			end = walk_finished(q, h, limit, floor, &err);
		} else {
			uint64_t next = finished_end(q, h, &st, &err);
			if (next)
				end = next;
		}
		/* If head moved on while we looked, writers of the next lap may
		 * have overwritten part of these frames: a commit word can even
		 * be torn, its tag from the old frame and its size from new
		 * payload. So re-read head after the frames (seqlock style) and
		 * trust what we read only if head is still here. No fence: all
		 * we read of the frames is their pos and commit word, each an
		 * acquire load, which keeps every later load (this re-read)
		 * after it; the fence a reader needs is for its plain reads of
		 * the header and payload (reader.c). acquire: pairs with the
		 * CAS that moved head, when we go on from the head it reads. */
		uint64_t now = mapq__load(&q->ctl->head, memory_order_acquire);
		if (now != h) {
			h = now;
			continue;
		}
		if (end == h)
			return err ? err : MAPQ__BLOCKED_BY_WRITER;
		int r;
		if (q->overwrite) {
			pass_readers(q, h, end, st == FRAME_COMMITTED);
		} else {
			if ((r = MAPQ_FAULT(HEAD_BEFORE_INTENT)) != 0)
				return r;
			if (!intend(q, h, end))
				continue; /* a reader joined below end: look again */
		}
		if ((r = MAPQ_FAULT(HEAD_BEFORE_CAS)) != 0)
			return r;
		/* seq_cst: under MAPQ_OVERWRITE the late-joiner scan below must
		 * not be ordered before this; failure reloads h (acquire) and we
		 * look again */
		if (mapq__cas(&q->ctl->head, &h, end, memory_order_seq_cst, memory_order_acquire)) {
			if (q->overwrite)
				mapq__lift_readers(q, end);
			h = end;
			moved = true;
		}
	}
	/* release fence: our pushes and head move come before every store we
	 * make after it, in particular into the frames we just passed, which
	 * a reader or head mover may still be reading; it trusts what it read
	 * only if the cursor or head it re-reads after its acquire fence has
	 * not moved (the seqlock of "Torn frames"). A release CAS orders only
	 * the stores before it, and ARM may let a later plain store be seen
	 * before it; x86 keeps stores in order, where this costs nothing. */
	if (moved)
		mapq__fence(memory_order_release);
	return 0;
}
