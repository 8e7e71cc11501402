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
 *  - unpublished space, owner (found by its record) dead: CAS the word
 *    to an ABORTED frame of the reservation's size, then publish its pos.
 *  - writer alive but stalled past the unblock timeout (@force): first
 *    mark its record FORSAKEN (a CAS: the writer's own CAS to confirm or
 *    to publish then fails, and it aborts the frame itself), then publish
 *    the frame claimed and FORSAKEN; readers skip it, head waits for the
 *    writer. A record the writer has already marked PUBLISHING is not
 *    forsaken: its two stores are coming.
 *  - forsaken frame, writer dead: CAS the commit word to ABORTED.
 *
 * Every change of a frame is a CAS from the value we looked at, so two
 * repairers never both win; a writer and a repairer settle on the
 * writer's record, and only the winner writes the frame.
 */
#include "config.h"

#include "internal.h"

/* One writer slot's reservation record, read seqlock style. */
struct record {
	uint64_t pos, size;
	uint64_t raw; /* resv_size as read, flags included: what a CAS expects */
	bool tentative;
};

/* One slot's record: RECORD_OK with *r filled; RECORD_NONE (no record,
 * or one not believable); RECORD_BUSY: changing as we read it, its owner
 * alive and at work (never space to fill as unknown). */
enum {
	RECORD_BUSY = -1,
	RECORD_NONE = 0,
	RECORD_OK = 1
};

static int load_record(const struct mapq *q, uint32_t i, struct record *r)
{
	struct fmt_wslot *s = &q->wslots[i];
	uint64_t a, p;
	for (int look = 0;; look++) {
		/* acquire: pairs with the writer's release of resv_size, stored
		 * after resv_pos, so the pos we read next is at least that new */
		a = mapq__load(&s->resv_size, memory_order_acquire);
		if (!a)
			return RECORD_NONE;
		p = mapq__load(&s->resv_pos, memory_order_relaxed);
		/* acquire fence: the pos load stays before the re-check. Its
		 * partner is the writer's release store of resv_pos, made
		 * after the clear of its last reservation's resv_size: a pos
		 * of a later reservation comes with a changed size
		 * (doc/format.md, Recovery) */
		mapq__fence(memory_order_acquire);
		uint64_t b = mapq__load(&s->resv_size, memory_order_relaxed);
		if (b == a)
			break;
		/* Changing under us: its owner is alive and busy, unless all
		 * that changed is a repairer's forsaken mark (the owner may be
		 * dead then: a successor taking its slot must not take the
		 * record for one being rewritten, and leave the frame it names
		 * forsaken for good). The mark comes once: look once more. */
		if (b != (a | RESV_FORSAKEN) || look > 0)
			return RECORD_BUSY;
	}
	r->pos = p;
	r->raw = a;
	r->size = a & ~RESV_FLAGS;
	r->tentative = (a & RESV_TENTATIVE) != 0;
	/* From the file: never trusted beyond what is checked here. A
	 * repair writes a whole header into the frame part, so it must hold
	 * one, and lie inside the ring (it starts at the ring's start when
	 * padding comes first), and be no larger than a frame can be. The
	 * whole record, padding included, may be more than half the ring
	 * (its frame part is not): taken for damage, a live writer's record
	 * was ignored and its space filled as unknown under it (found by
	 * mapq-sim with 1 KiB messages in a 4 KiB ring). */
	if (r->size >= q->cap || (p | r->size) % FRAME_ALIGN || p >= FMT_POS_LIMIT)
		return RECORD_NONE;
	uint64_t frame = r->size - resv_pad(q, p, r->size);
	return frame >= FRAME_HDR && frame <= q->abort_max ? RECORD_OK : RECORD_NONE;
}

/* What a repairer saw at @c: the pos field, then the word (in that order,
 * see frame_pos_at); published when pos is @c and the tag is this lap's. */
struct seen {
	uint64_t pos, w;
};

__attribute__((noinline)) static bool published(const struct mapq *q, uint64_t c, struct seen *sn)
{
	sn->pos = frame_pos_at(q, c);
	/* acquire: what is loaded after it (head, in publish_word()) is no
	 * older than the word. A later lap's word or payload here, read
	 * with a head from before that lap, passes for a hole of this lap,
	 * and the CAS from it aborts a later message (mapq-sim --memory
	 * c11, writers abandoning forsaken frames while the ring laps) */
	sn->w = mapq__load(commit_at(q, c), memory_order_acquire);
	/* State NONE is no frame, whatever pos and tag say: no writer or
	 * repairer ever publishes it. A fresh file's position 0 has pos 0
	 * and a zero word, whose tag is this lap's when the key is 0; a
	 * damaged file can show it anywhere. Either way it is space to
	 * repair as a hole, not a finished frame to look past (which made
	 * a writer blocked on it spin for ever). */
	return sn->pos == c && cw_lap(sn->w) == lap_of(q, c) && cw_state(sn->w) != FRAME_NONE;
}

/*
 * Where reservation @r's unfinished part starts: past the finished frames
 * at its start. A batch's writer (mapq_send_batch) publishes its frames
 * one by one from its confirmation on, so one that died part way left
 * finished frames before the part nobody will finish; a reservation of
 * one frame has none. The record's end when all of it is finished. A
 * tentative record has nothing of its own published, and its space may
 * be another writer's (who won the CAS for it): its frame part's start.
 *
 * The walk starts at head when head is inside the reservation: readers
 * may have consumed the finished frames, head passed them, and writers
 * of the next lap reused their space, while the unfinished part holds
 * head back (found by tests/fault_kill --random: walked from the
 * record's start, the hole was found by no record, and readers waited
 * out the unblock timeout). Frames at or past head are intact. Each one
 * is this lap's (published() checks its pos): a walk from a stale head
 * stops short where a later lap's frame is, the space is not found
 * covered, and whoever asked looks again.
 */
static uint64_t resv_unfinished(const struct mapq *q, const struct record *r)
{
	uint64_t c = r->pos + resv_pad(q, r->pos, r->size), end = r->pos + r->size;
	if (r->tentative)
		return c;
	/* relaxed: a stale head only starts the walk early (above), and
	 * each frame is judged by published()'s acquire loads. Head is on a
	 * frame boundary, and never past the unfinished part. From the file:
	 * a head off the frame grid is damage, not a place to look (a peer
	 * scribbling on the control page made the walk load a misaligned
	 * pos: UBSan, the hostile campaign in CI). */
	uint64_t h = mapq__load(&q->ctl->head, memory_order_relaxed);
	if (h > c && h % FRAME_ALIGN == 0)
		c = h < end ? h : end;
	struct seen sn;
	while (c < end && published(q, c, &sn) && cw_state(sn.w) != FRAME_CLAIMED &&
	       !cw_pad(sn.w) && mapq__frame_valid(q, c, sn.w) && cw_size(sn.w) <= end - c)
		c += cw_size(sn.w);
	return c;
}

/* Does reservation @r cover the unfinished space at @c? */
static bool record_covers(const struct mapq *q, const struct record *r, uint64_t c)
{
	return r->pos == c || (c < r->pos + r->size && resv_unfinished(q, r) == c);
}

bool mapq__reserved_at(const struct mapq *q, uint64_t c)
{
	struct record r;
	for (uint32_t i = 0; i < q->nw; i++)
		if (load_record(q, i, &r) == RECORD_OK && record_covers(q, &r, c))
			return true;
	return false;
}

/* A writer slot whose owner is gone. Our own slot is alive by definition
 * (our own OFD lock never shows up as a conflict). */
static bool slot_dead(const struct mapq *q, uint32_t i)
{
	return (int)i != q->wslot && !mapq__slot_is_live(q->fd, wslot_lock_off(q, (int)i));
}

/*
 * The writer slot whose record names the frame at @c, with the record in
 * *r; -1 if none does. A forsaken frame's owner is found so, not from its
 * header, which no repairer writes (publish_word()). A confirmed record
 * is the owner's, wherever it is: only the CAS winner confirms. Without
 * one, a tentative record marked forsaken: the winner's, stalled before
 * it confirmed, or a loser's that mark_tentatives() marked with it (and
 * that stays so if the loser died before its next try). They cannot be
 * told apart, so a live one is taken before a dead one: the frame is
 * then aborted only once all of them are dead, as model/mapq.pml's
 * repairs do. Taking the first record in slot order, a dead loser's
 * before the confirmed winner's, aborted a live winner's frame: head
 * passed it, and the winner's late claim word and payload landed in the
 * next lap's frame there (tests/repair_race).
 */
static int frame_owner(const struct mapq *q, uint64_t c, struct record *r)
{
	struct record t;
	int owner = -1;
	bool owner_live = false;
	for (uint32_t i = 0; i < q->nw; i++) {
		if (load_record(q, i, &t) != RECORD_OK || t.pos + resv_pad(q, t.pos, t.size) != c)
			continue;
		if (!t.tentative) {
			*r = t;
			return (int)i;
		}
		if (!(t.raw & RESV_FORSAKEN) || owner_live)
			continue;
		bool live = !slot_dead(q, i);
		if (owner < 0 || live) {
			*r = t;
			owner = (int)i;
			owner_live = live;
		}
	}
	return owner;
}

int mapq__frame_owner(const struct mapq *q, uint64_t c)
{
	struct record r;
	return frame_owner(q, c, &r);
}

/* Is @b where some frame or reservation starts (or the tail)? It probes
 * bytes that may be a live frame's middle: a racy read by design, named
 * for tests/tsan.supp, like published() below. */
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
		if (load_record(q, i, &r) == RECORD_OK && r.pos == b)
			return true;
	return false;
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
 * saw; and pos goes in by CAS from what we saw, so a late store can never
 * land on a later frame. No header: a plain store has no such guard, and
 * another repairer may publish the frame while we are preempted between
 * two steps (then head passes it and a later lap may take the space; a
 * late header of ours corrupted a message there: mapq-sim, overwrite).
 * Nothing reads the header of an aborted or forsaken frame; a forsaken
 * frame's owner is the writer whose record names it (frame_owner()).
 * False if nothing was ours to do.
 */
static bool publish_word(struct mapq *q, uint64_t c, struct seen sn, uint64_t nw)
{
	struct fmt_frame *f = frame_at(q, c);
	/* After our loads of the frame (the acquire loads in published()
	 * keep them before it): head has not passed c, so c is unpublished
	 * space of this lap, and stays so until someone CASes the word we
	 * saw. relaxed: what follows is that seq_cst CAS, whose release half
	 * keeps this load before it, and own_word()'s look at atomics */
	if (mapq__load(&q->ctl->head, memory_order_relaxed) > c)
		return false;
	if (own_word(q, c, sn.w, nw)) {
		/* This frame's own word, whose pos has not landed yet: its
		 * owner's claim or commit, or another repairer's word. Put in
		 * again, ours would undo a finished frame (a commit, even,
		 * when the pos we read is older than the word), and leave it
		 * claimed by a writer that will never settle it. Help its pos
		 * in instead (whoever put it there may be dead), and let the
		 * caller look again. */
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

/* How finish() finishes a reservation. */
enum finish_how {
	FORSAKE,   /* its owner is alive: forsaken */
	ABORT,     /* its owner is dead: aborted */
	ABORT_OWN, /* our own, forsaken: aborted, and not counted as a repair */
};

/*
 * Finish reservation @r, whose frame part starts at @c (with padding
 * before it when the reservation wraps), as @how says. @slot: the owner.
 */
static int finish(struct mapq *q, const struct record *r, enum finish_how how, uint16_t slot)
{
	bool dead = how != FORSAKE;
	uint64_t pad = resv_pad(q, r->pos, r->size);
	struct seen sn;
	if (!dead && r->raw && !(r->raw & RESV_FORSAKEN)) {
		/* A live writer: take the frame from it on its record first.
		 * Publishing: it won, and its two stores come. A failed CAS:
		 * it moved on (confirmed, published): look again. acq_rel:
		 * acquire pairs with the writer's release CAS on the record
		 * (what it wrote before); release, with its failed CAS's
		 * look at our mark in mapq__abandon(). */
		if (r->raw & RESV_PUBLISHING)
			return REPAIR_NONE;
		uint64_t a = r->raw;
		(void)MAPQ_FAULT(REPAIR_BEFORE_MARK);
		if (!mapq__cas(&q->wslots[slot].resv_size, &a, a | RESV_FORSAKEN,
			       memory_order_acq_rel, memory_order_relaxed))
			return REPAIR_DONE;
	}
	if (pad && !published(q, r->pos, &sn))
		/* Padding is the same whoever writes it. */
		(void)publish_word(q, r->pos, sn,
				   cw_make(pad, FRAME_COMMITTED, 1, lap_of(q, r->pos)));
	/* Past a batch's finished frames: its writer published them */
	uint64_t c = resv_unfinished(q, r), size = r->pos + r->size - c;
	if (!size)
		return REPAIR_NONE;
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
			if (how == ABORT_OWN)
				mapq__wake_data(q);
			else
				counted_wake(q);
			return dead ? REPAIR_CLAIM : REPAIR_FORSAKE;
		}
		uint64_t nw = dead ? cw_make(size, FRAME_ABORTED, 0, lap_of(q, c))
				   : cw_make(size, FRAME_CLAIMED, 0, lap_of(q, c)) | CW_FORSAKEN;
		if (publish_word(q, c, sn, nw)) {
			if (how == ABORT_OWN)
				mapq__wake_data(q);
			else
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
		if (published(q, c, &sn) || !publish_word(q, c, sn, nw))
			break;
		mapq__unknown_space(c);
		did = REPAIR_HOLE;
		c += size;
	}
	if (did)
		counted_wake(q);
	return did;
}

/*
 * Before forsaking space that only tentative records describe: mark every
 * live candidate for its owner forsaken, not only the one @best names.
 * Writers that raced for the same space with the same size cannot be told
 * apart (the winner confirms only after its CAS on tail); marking one, a
 * repairer let the winner confirm and publish over the forsaken frame
 * (mapq-sim: a message lost). A loser marked loses nothing: it rewrites
 * its record for its next try. False: a record changed under us (the
 * winner confirmed, say): look again.
 */
static bool mark_tentatives(struct mapq *q, const struct record *best)
{
	struct record r;
	for (uint32_t i = 0; i < q->nw; i++) {
		int got = load_record(q, i, &r);
		/* Changing under us: its owner may be confirming it. Passed
		 * over, it stayed unmarked, as a confirmed one did below
		 * (mapq-sim: sim/regress.txt, mark-skipped-busy-record). */
		if (got == RECORD_BUSY)
			return false;
		if (got != RECORD_OK || r.pos != best->pos || r.size != best->size)
			continue;
		/* Confirmed since our look at the records: the owner, to be
		 * forsaken on its confirmed record. Passed over, it stayed
		 * unmarked under the forsaken word we then published, and its
		 * commit landed over that word after readers had skipped it:
		 * a message acknowledged and not delivered (tests/repair_race). */
		if (!r.tentative)
			return false;
		if (r.raw & RESV_FORSAKEN)
			continue;
		uint64_t a = r.raw;
		(void)MAPQ_FAULT(REPAIR_BEFORE_MARK);
		/* acq_rel: as finish()'s mark */
		if (!mapq__cas(&q->wslots[i].resv_size, &a, a | RESV_FORSAKEN, memory_order_acq_rel,
			       memory_order_relaxed))
			return false;
	}
	return true;
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
	struct record r, best = { 0, 0, 0, false };
	int owner = -1;
	bool live = false, found = false, busy = false;
	for (uint32_t i = 0; i < q->nw; i++) {
		int got = load_record(q, i, &r);
		busy |= got == RECORD_BUSY;
		if (got != RECORD_OK || !record_covers(q, &r, c))
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
		return finish(q, &best, dead ? ABORT : FORSAKE, (uint16_t)owner);
	}
	if (found || busy) {
		/* A live tentative owner confirms or moves on within
		 * nanoseconds, unless it is stopped: wait for it. So for a
		 * record that changed as we read it: it may be this space's
		 * owner at work, whose stores must not land on a fill of ours. */
		if ((live && !force) || owner < 0)
			return REPAIR_UNSETTLED;
		if (live) {
			if (!mark_tentatives(q, &best))
				return REPAIR_DONE;
			best.raw |= RESV_FORSAKEN; /* finish() has nothing to mark */
		}
		return finish(q, &best, live ? FORSAKE : ABORT, (uint16_t)owner);
	}
	return force ? fill_unknown(q, c, tail) : REPAIR_NONE;
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
		return REPAIR_NONE; /* the reader reports the corruption */
	/* A published claim: only repairers publish one, forsaken (its
	 * writer then aborts it: nothing to do unless it is dead), or a
	 * damaged file. Its owner is the writer whose record names it; with
	 * none, nobody will finish it: abort it (a claim nobody forsook
	 * only after the timeout, as damage). */
	struct record r;
	int owner = frame_owner(q, c, &r);
	bool dead = owner >= 0 ? slot_dead(q, (uint32_t)owner) : cw_forsaken(w) || force;
	if (!dead && !force)
		return REPAIR_NONE;
	if (owner < 0 || cw_size(w) != r.size - resv_pad(q, r.pos, r.size))
		r = (struct record){ c, cw_size(w), 0, false }; /* no record to win */
	return finish(q, &r, dead ? ABORT : FORSAKE, owner >= 0 ? (uint16_t)owner : UINT16_MAX);
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
	int got = load_record(q, slot, &r);
	if (got != RECORD_OK)
		/* busy: a repairer's mark and then another change, which only
		 * another repairer makes: look again */
		return got == RECORD_BUSY ? REPAIR_DONE : REPAIR_NONE;
	/* relaxed: numbers that say whether the record is stale. A stale
	 * head lets a stale record through to finish(), whose publish_word()
	 * checks head again before it writes; the frame is judged by
	 * published()'s acquire loads. */
	uint64_t head = mapq__load(&q->ctl->head, memory_order_relaxed);
	uint64_t tail = mapq__load(&q->ctl->tail, memory_order_relaxed);
	uint64_t c = resv_unfinished(q, &r);
	/* Stale if its unfinished part is behind head, or if its CAS on tail
	 * never happened; done with if all of it is finished. Its unfinished
	 * part, not the record's start: a record that wraps starts with
	 * padding, and a batch with the frames its writer published, which
	 * head may have passed while the frame after them is unfinished
	 * (then the owner's successor, taking the slot, is the one to finish
	 * it). */
	if (c < head || r.pos >= tail || c == r.pos + r.size)
		return REPAIR_NONE;
	struct seen sn;
	if (published(q, c, &sn)) {
		if (cw_state(sn.w) != FRAME_CLAIMED)
			return REPAIR_NONE;
		/* Claimed (forsaken). A confirmed record's frame is its alone.
		 * A tentative one may be a loser's that names the winner's
		 * frame: abort it only if its owner (frame_owner(), which
		 * sees our own slot as dead while we take it) is dead too.
		 * Aborting it on the loser's record let head pass a live
		 * winner's frame (model/mapq.pml's :takeover found it). */
		if (r.tentative) {
			struct record o;
			int owner = frame_owner(q, c, &o);
			if (owner >= 0 && owner != (int)slot && !slot_dead(q, (uint32_t)owner))
				return REPAIR_NONE;
		}
		return finish(q, &r, ABORT, (uint16_t)slot);
	}
	if (!r.tentative)
		return finish(q, &r, ABORT, (uint16_t)slot);
	/* Tentative: it may have lost the race for r.pos, to a confirmed
	 * owner (then this record is moot) or to a writer still settling. */
	return unblock_hole(q, r.pos, false);
}

/*
 * Our own reservation (@pos, @size: the record) was forsaken by a
 * repairer while we were on it (our CAS to confirm or to publish found
 * its mark): finish it as aborted with the repairers' own steps, which
 * are CASes guarded against every other repairer, then clear the record.
 */
void mapq__abandon(struct mapq *q, uint64_t pos, uint64_t size)
{
	struct record r = { pos, size, 0, false };
	uint64_t c = pos + resv_pad(q, pos, size);
	struct seen sn;
	/* (We wrote no header: its writer is whoever publishes the word.)
	 * A few rounds at most: each either finishes the frame or sees
	 * another repairer's step land (then the next round finishes it). */
	for (int i = 0; i < 4 && !(published(q, c, &sn) && cw_state(sn.w) != FRAME_CLAIMED); i++)
		(void)finish(q, &r, ABORT_OWN, (uint16_t)q->wslot);
	/* release: whoever sees no record sees our last step. Our next
	 * reservation's release store of resv_pos keeps this clear ahead
	 * of it (load_record()'s seqlock). */
	mapq__store(&q->wslots[q->wslot].resv_size, 0, memory_order_release);
}
