/* SPDX-License-Identifier: MIT */
/*
 * repair.c - finishing the frames of writers that died (or stalled).
 *
 * A frame nobody will finish blocks every reader at its position and,
 * once head reaches it, every writer. Whoever waits on it (a reader, a
 * writer needing space, a writer attaching to the dead one's slot,
 * mapq_recover) calls mapq__unblock(), which decides from the kernel's
 * slot locks and the writers' reservation records:
 *
 *  - claimed frame, writer dead: CAS the commit word to ABORTED.
 *  - unclaimed space, owner (found by its record) dead: CAS the word to
 *    an ABORTED frame of the reservation's size, then publish its pos.
 *  - writer alive but stalled past the unblock timeout (@force): mark the
 *    frame FORSAKEN; readers skip it, head waits for the writer, whose
 *    commit then fails with -MAPQ_ESTALLED.
 *
 * Every change is a CAS from the value we looked at, so two repairers, or
 * a repairer and a writer that turns out to be alive, never both win.
 */
#include "config.h"

#include "internal.h"

/* One writer slot's reservation record, read seqlock style. */
struct record {
	uint64_t pos, size;
	bool tentative;
};

static bool load_record(const struct mapq *q, uint32_t i, struct record *r)
{
	struct fmt_wslot *s = &q->wslots[i];
	/* acquire: pairs with the writer's release of resv_size, stored after
	 * resv_pos, so the pos we read next is at least that new */
	uint64_t a = mapq__load(&s->resv_size, memory_order_acquire);
	if (!a)
		return false;
	uint64_t p = mapq__load(&s->resv_pos, memory_order_relaxed);
	/* acquire fence: the pos load stays before the re-check */
	mapq__fence(memory_order_acquire);
	if (mapq__load(&s->resv_size, memory_order_relaxed) != a)
		return false; /* changing under us: its owner is alive and busy */
	r->pos = p;
	r->size = a & ~RESV_TENTATIVE;
	r->tentative = (a & RESV_TENTATIVE) != 0;
	/* From the file: never trusted beyond what is checked here. A
	 * repair writes a whole header into the frame part, so it must hold
	 * one, and lie inside the ring (it starts at the ring's start when
	 * padding comes first), and be no larger than a frame can be. */
	if (r->size > q->cap / 2 || (p | r->size) % FRAME_ALIGN || p >= FMT_POS_LIMIT)
		return false;
	uint64_t frame = r->size - resv_pad(q, p, r->size);
	return frame >= FRAME_HDR && frame <= q->abort_max;
}

/* Does reservation @r cover the frame starting at @c? */
static bool record_covers(const struct mapq *q, const struct record *r, uint64_t c)
{
	return r->pos == c || r->pos + resv_pad(q, r->pos, r->size) == c;
}

bool mapq__reserved_at(const struct mapq *q, uint64_t c)
{
	struct record r;
	for (uint32_t i = 0; i < q->nw; i++)
		if (load_record(q, i, &r) && record_covers(q, &r, c))
			return true;
	return false;
}

/* A writer slot whose owner is gone. Our own slot is alive by definition
 * (our own OFD lock never shows up as a conflict). */
static bool slot_dead(const struct mapq *q, uint32_t i)
{
	return (int)i != q->wslot && !mapq__slot_is_live(q->fd, wslot_lock_off(q, (int)i));
}

/* Is @b where some frame or reservation starts (or the tail)? It probes
 * bytes that may be a live frame's middle: a racy read by design, named
 * for tests/tsan.supp, like published() and header_writer() below. */
__attribute__((noinline)) static bool visible_boundary(const struct mapq *q, uint64_t b,
						       uint64_t tail)
{
	if (b == tail)
		return true;
	if (b > tail)
		return false;
	if (frame_pos_at(q, b) == b)
		return true;
	struct record r;
	for (uint32_t i = 0; i < q->nw; i++)
		if (load_record(q, i, &r) && r.pos == b)
			return true;
	return false;
}

/* What a repairer saw at @c: the pos field, then the word (in that order,
 * see frame_pos_at); published when pos is @c and the tag is this lap's. */
struct seen {
	uint64_t pos, w;
};

__attribute__((noinline)) static bool published(const struct mapq *q, uint64_t c, struct seen *sn)
{
	sn->pos = frame_pos_at(q, c);
	/* acquire: the word and the header fields stored before it */
	sn->w = mapq__load(commit_at(q, c), memory_order_acquire);
	/* State NONE is no frame, whatever pos and tag say: no writer or
	 * repairer ever publishes it. A fresh file's position 0 has pos 0
	 * and a zero word, whose tag is this lap's when the key is 0; a
	 * damaged file can show it anywhere. Either way it is space to
	 * repair as a hole, not a finished frame to look past (which made
	 * a writer blocked on it spin for ever). */
	return sn->pos == c && cw_lap(sn->w) == lap_of(q, c) && cw_state(sn->w) != FRAME_NONE;
}

/* Is @w, seen at @c, a word that this very frame's owner or repairers put
 * there (this lap's tag, a state, and the size and kind of @nw)? Stale
 * bytes of earlier laps cannot carry this lap's tag (format.h). */
static bool own_word(const struct mapq *q, uint64_t c, uint64_t w, uint64_t nw)
{
	return cw_lap(w) == lap_of(q, c) && cw_state(w) != FRAME_NONE &&
	       cw_size(w) == cw_size(nw) && cw_pad(w) == cw_pad(nw);
}

/*
 * Publish commit word @nw at @c, where we saw no frame (@sn). A repairer
 * may have been preempted for a whole lap since it looked, so each step
 * is guarded: head must not have passed @c (then the space is done with
 * and may hold a later lap's frame); the word goes in by CAS from what we
 * saw; the header is written only by the one whose CAS changed the word,
 * before publication; and pos goes in by CAS from what we saw, so a late
 * store can never land on a later frame. False if nothing was ours to do.
 */
static bool publish_word(struct mapq *q, uint64_t c, struct seen sn, uint64_t nw, uint16_t slot)
{
	struct fmt_frame *f = frame_at(q, c);
	/* acquire, after our loads of the frame (the acquire loads in
	 * published() keep them before it): head has not passed c, so c is
	 * unpublished space of this lap, and stays so until someone CASes
	 * the word we saw */
	if (mapq__load(&q->ctl->head, memory_order_acquire) > c)
		return false;
	if (own_word(q, c, sn.w, nw)) {
		/* This frame's own word, whose pos has not landed yet: its
		 * owner's claim or commit, or another repairer's word. Put in
		 * again, ours would undo a finished frame (a commit, even,
		 * when the pos we read is older than the word), and leave it
		 * claimed by a writer that will never settle it. Help its pos
		 * in instead (whoever put it there may be dead), with the
		 * header a repairer writes, and let the caller look again. */
		if (!cw_pad(sn.w) && (cw_state(sn.w) == FRAME_ABORTED || (sn.w & CW_FORSAKEN))) {
			f->len = 0;
			f->writer = slot;
			f->flags = 0;
		}
		uint64_t p = sn.pos;
		(void)MAPQ_FAULT(REPAIR_BEFORE_POS); /* the word in, pos not: as below */
		/* seq_cst: as below */
		(void)mapq__cas(&f->pos, &p, c, memory_order_seq_cst, memory_order_relaxed);
		return false;
	}
	(void)MAPQ_FAULT(REPAIR_BEFORE_CAS);
	uint64_t w = sn.w;
	/* relaxed: the CAS on pos below publishes it */
	if (!mapq__cas(commit_at(q, c), &w, nw, memory_order_relaxed, memory_order_relaxed))
		return false;
	if (sn.w != nw && !cw_pad(nw)) {
		/* The owner, if alive and forsaken, stores the same values. */
		f->len = 0;
		f->writer = slot;
		f->flags = 0;
	}
	(void)MAPQ_FAULT(REPAIR_BEFORE_POS);
	/* seq_cst: release publishes the word (see frame_pos_at), and the
	 * sleeper-flag load in wake must not pass it */
	uint64_t p = sn.pos;
	return mapq__cas(&f->pos, &p, c, memory_order_seq_cst, memory_order_relaxed);
}

/* A frame was finished for its writer: count it, wake whoever waits. */
static void counted_wake(struct mapq *q)
{
	/* relaxed: a statistic */
	mapq__fetch_add(&q->ctl->repaired, 1, memory_order_relaxed);
	mapq__wake_data(q);
}

/*
 * Finish reservation @r, whose frame part starts at @c (with padding
 * before it when the reservation wraps). @dead: its owner is gone, so the
 * frame becomes ABORTED; otherwise it is forsaken. @slot: the owner.
 */
static int finish(struct mapq *q, const struct record *r, bool dead, uint16_t slot)
{
	uint64_t pad = resv_pad(q, r->pos, r->size);
	struct seen sn;
	if (pad && !published(q, r->pos, &sn))
		/* Padding is the same whoever writes it. */
		(void)publish_word(q, r->pos, sn,
				   cw_make(pad, FRAME_COMMITTED, 1, lap_of(q, r->pos)), slot);
	uint64_t c = r->pos + pad, size = r->size - pad;
	/* Twice at most: a hole whose own word is already there (its
	 * owner's claim, say, from a writer that died before its pos) is
	 * published by publish_word's help, and then finished as a frame. */
	for (int round = 0; round < 2; round++) {
		if (published(q, c, &sn)) {
			uint64_t w = sn.w;
			if (cw_state(w) != FRAME_CLAIMED || cw_size(w) != size)
				return REPAIR_DONE; /* finished, or not the frame we think */
			uint64_t nw = dead ? cw_make(size, FRAME_ABORTED, 0, lap_of(q, c))
					   : w | CW_FORSAKEN;
			if (nw == w)
				return REPAIR_NONE;
			(void)MAPQ_FAULT(REPAIR_BEFORE_CAS);
			/* seq_cst: ordered before the sleeper-flag load in wake */
			if (!mapq__cas(commit_at(q, c), &w, nw, memory_order_seq_cst,
				       memory_order_relaxed))
				return REPAIR_DONE; /* someone else moved it on: look again */
			counted_wake(q);
			return dead ? REPAIR_CLAIM : REPAIR_FORSAKE;
		}
		uint64_t nw = dead ? cw_make(size, FRAME_ABORTED, 0, lap_of(q, c))
				   : cw_make(size, FRAME_CLAIMED, 0, lap_of(q, c)) | CW_FORSAKEN;
		if (publish_word(q, c, sn, nw, slot)) {
			counted_wake(q);
			return dead ? REPAIR_HOLE : REPAIR_FORSAKE;
		}
	}
	return REPAIR_DONE;
}

uint64_t mapq__fill_piece(const struct mapq *q, uint64_t c, uint64_t b, uint64_t *w)
{
	uint64_t off = c & q->mask, size = b - c;
	if (off + size >= q->cap) {
		size = q->cap - off; /* to the ring's end: padding */
		*w = cw_make(size, FRAME_COMMITTED, 1, lap_of(q, c));
		return size;
	}
	if (size < FRAME_HDR)
		return 0; /* no frame is this small */
	if (size > q->abort_max)
		size = size - q->abort_max >= FRAME_HDR ? q->abort_max : q->abort_max - FRAME_HDR;
	*w = cw_make(size, FRAME_ABORTED, 0, lap_of(q, c));
	return size;
}

/*
 * Last resort, after the timeout, for space no record describes (the
 * records were lost or the file was damaged): end it at the next visible
 * boundary and fill it with aborted frames, as Aeron's unblocker does.
 */
static int fill_unknown(struct mapq *q, uint64_t c, uint64_t tail)
{
	uint64_t b = c + FRAME_ALIGN, limit = tail < c + q->cap / 2 ? tail : c + q->cap / 2;
	while (b < limit && !visible_boundary(q, b, tail))
		b += FRAME_ALIGN;
	int did = REPAIR_NONE;
	while (c < b) {
		uint64_t nw, size = mapq__fill_piece(q, c, b, &nw);
		struct seen sn;
		if (!size)
			break; /* no frame is this small: not a hole after all */
		if (published(q, c, &sn) || !publish_word(q, c, sn, nw, UINT16_MAX))
			break;
		did = REPAIR_HOLE;
		c += size;
	}
	if (did)
		counted_wake(q);
	return did;
}

/* Space at @c that tail has passed but no frame claims yet.
 * REPAIR_UNSETTLED: its owner is one of several writers that raced for @c
 * and has not settled yet. */
static int unblock_hole(struct mapq *q, uint64_t c, bool force)
{
	/* acquire: pairs with the writer's release CAS on tail, made after it
	 * wrote its tentative record: every reservation below this tail has
	 * a record we can see (or a published frame) */
	uint64_t tail = mapq__load(&q->ctl->tail, memory_order_acquire);
	if (c >= tail)
		return REPAIR_NONE;
	struct record r, best = { 0, 0, false };
	int owner = -1;
	bool live = false, found = false;
	for (uint32_t i = 0; i < q->nw; i++) {
		if (!load_record(q, i, &r) || !record_covers(q, &r, c))
			continue;
		if (!r.tentative) { /* only the CAS winner confirms: the owner */
			best = r;
			owner = (int)i;
			break;
		}
		found = true;
		if (!slot_dead(q, i))
			live = true;
		/* The winner's end is the first boundary after c; a loser's
		 * end is never smaller (nothing starts inside the winner's
		 * reservation), so the smallest visible end is the winner's. */
		if ((!best.size || r.size < best.size) &&
		    visible_boundary(q, r.pos + r.size, tail)) {
			best = r;
			owner = (int)i;
		}
	}
	if (owner >= 0 && !best.tentative) {
		bool dead = slot_dead(q, (uint32_t)owner);
		if (!dead && !force)
			return REPAIR_NONE;
		return finish(q, &best, dead, (uint16_t)owner);
	}
	if (found) {
		/* A live tentative owner confirms or moves on within
		 * nanoseconds, unless it is stopped: wait for it. */
		if ((live && !force) || owner < 0)
			return REPAIR_UNSETTLED;
		return finish(q, &best, !live, (uint16_t)owner);
	}
	return force ? fill_unknown(q, c, tail) : REPAIR_NONE;
}

/* The claimer's slot from a frame header that a later lap may be
 * overwriting as we read (then the CAS in finish() fails). */
__attribute__((noinline)) static uint16_t header_writer(const struct mapq *q, uint64_t c)
{
	return frame_at(q, c)->writer;
}

int mapq__unblock(struct mapq *q, uint64_t c, bool force)
{
	struct seen sn;
	if (c % FRAME_ALIGN)
		return REPAIR_NONE; /* not a frame position: the caller reports it */
	if (!published(q, c, &sn)) {
		int did = unblock_hole(q, c, force);
		return did == REPAIR_UNSETTLED ? REPAIR_NONE : did;
	}
	uint64_t w = sn.w;
	if (cw_state(w) != FRAME_CLAIMED)
		return REPAIR_DONE; /* finished meanwhile: look again */
	if (!mapq__frame_valid(q, c, w))
		return REPAIR_NONE;          /* the reader reports the corruption */
	uint16_t slot = header_writer(q, c); /* stored before the claim */
	bool dead = slot < q->nw ? slot_dead(q, slot) : force;
	if (!dead && !force)
		return REPAIR_NONE;
	struct record r = { c, cw_size(w), false };
	return finish(q, &r, dead, slot);
}

/*
 * The record of writer slot @slot, whose lock the caller holds (so its
 * previous owner is dead): finish that owner's reservation. Returns a
 * REPAIR_* value: REPAIR_UNSETTLED if it cannot be decided yet (another
 * live writer raced for the same position and has not settled).
 */
int mapq__repair_record(struct mapq *q, uint32_t slot)
{
	struct record r;
	if (!load_record(q, slot, &r))
		return REPAIR_NONE;
	/* acquire: frames behind head are finished and may be reused */
	uint64_t head = mapq__load(&q->ctl->head, memory_order_acquire);
	uint64_t tail = mapq__load(&q->ctl->tail, memory_order_acquire);
	uint64_t c = r.pos + resv_pad(q, r.pos, r.size);
	/* Stale if its frame is behind head, or if its CAS on tail never
	 * happened. The frame, not the record's start: a record that wraps
	 * starts with padding, which head may have passed while the frame
	 * after it, at the ring's start, is unfinished (then the owner's
	 * successor, taking the slot, is the one to finish it). */
	if (c < head || r.pos >= tail)
		return REPAIR_NONE;
	struct seen sn;
	if (published(q, c, &sn)) {
		/* Claimed: by its owner if the header says so. */
		if (cw_state(sn.w) != FRAME_CLAIMED || header_writer(q, c) != slot)
			return REPAIR_NONE;
		return finish(q, &r, true, (uint16_t)slot);
	}
	if (!r.tentative)
		return finish(q, &r, true, (uint16_t)slot);
	/* Tentative: it may have lost the race for r.pos, to a confirmed
	 * owner (then this record is moot) or to a writer still settling. */
	return unblock_hole(q, r.pos, false);
}
