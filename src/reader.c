/* SPDX-License-Identifier: MIT */
/*
 * reader.c - reader slots, cursors, and reading frames.
 *
 * A reader's cursor lives in its slot in the file. The reader advances it
 * with a CAS when it releases a message; under MAPQ_OVERWRITE a writer may
 * push it forward too (ring.c), so a failed CAS means "overwritten while
 * you read it". Attaching, detaching and dropping readers take a short
 * registry lock (an OFD lock, so a dead holder cannot wedge anyone).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os.h"

enum {
	NOT_READY = 1,
	SKIP = 2,
	EMPTY = 3,     /* NOT_READY, and (as far as we know) nothing is reserved there */
	UNCLAIMED = 4, /* look(): no frame published at the position yet */
	HINTED = 6,    /* UNCLAIMED, with a writer's claim hint (writer.c) */
	FILLING = 5,   /* NOT_READY, and a writer has reserved the position */
};

/* How long a reader spins before it sleeps: a writer that is producing
 * commits within a microsecond or so. Longer at a half-written frame
 * (300 us was tried) starves the writer of the CPU when readers outnumber
 * CPUs, and gains nothing measurable (doc/performance.md). */
#define READ_SPIN_NS 8000u
/* Spun this long at an empty queue, a reader offers its CPU now and then
 * (wait.c): a writer sharing it gets it before our sleep would give it.
 * At a half-written frame it does not: that writer is running. Sooner
 * (1 us was measured) costs two writers sharing the CPUs with a reader
 * more than it gains (doc/performance.md, "Yielding before sleeping"). */
#define READ_YIELD_NS 4000u
/* A caught-up polling reader reads tail once in this many looks (a
 * power of two), to learn whether a writer has reserved its position. */
#define TAIL_SAMPLE 64

static bool reader_name_ok(const char *name)
{
	size_t n = strnlen(name, MAPQ_NAME_MAX + 1);
	return n >= 1 && n <= MAPQ_NAME_MAX;
}

/* Find the durable slot called @name, or -1. Caller holds the registry. */
static int find_durable(const struct mapq *q, const char *name)
{
	for (uint32_t i = 0; i < q->nr; i++) {
		const struct fmt_rslot *s = &q->rslots[i];
		uint32_t st = mapq__load(&s->state, memory_order_acquire);
		/* BUSY under the registry lock we hold: its owner died while
		 * attaching, and its name may be half written */
		if (st == RSLOT_FREE || st == RSLOT_BUSY ||
		    !(mapq__load(&s->flags, memory_order_relaxed) & RSLOT_DURABLE))
			continue;
		if (strncmp(s->name, name, sizeof(s->name)) == 0)
			return (int)i;
	}
	return -1;
}

/* Can a new reader take this slot (if no live process holds its lock)?
 * A durable reader's slot is not free even when nobody holds it; a BUSY
 * one seen under the registry lock is a reader that died attaching. */
static bool reusable(uint32_t st, bool durable)
{
	return st == RSLOT_FREE || st == RSLOT_BUSY || (st == RSLOT_ACTIVE && !durable);
}

/* Take a slot no live process owns; the OFD lock makes it ours. */
static int take_free_slot(struct mapq *q)
{
	for (uint32_t i = 0; i < q->nr; i++) {
		struct fmt_rslot *s = &q->rslots[i];
		uint32_t st = mapq__load(&s->state, memory_order_acquire);
		bool durable = mapq__load(&s->flags, memory_order_relaxed) & RSLOT_DURABLE;
		if (!reusable(st, durable))
			continue;
		/* Our own locks never conflict with us, so the lock alone does
		 * not keep us from taking a slot this handle already uses. */
		if (own_reader(q, (int)i) ||
		    mapq__slot_trylock(q->fd, rslot_lock_off(q, (int)i)) != 0)
			continue;
		/* Lock held: any previous owner is dead. Re-read under the lock. */
		st = mapq__load(&s->state, memory_order_acquire);
		durable = mapq__load(&s->flags, memory_order_relaxed) & RSLOT_DURABLE;
		if (!reusable(st, durable)) {
			mapq__slot_unlock(q->fd, rslot_lock_off(q, (int)i));
			continue;
		}
		return (int)i;
	}
	return -MAPQ_ENOSLOT;
}

static void raise_hwm(struct mapq *q, uint32_t n)
{
	/* seq_cst, this load and the CAS: the bound of every scan is the
	 * first step of the join's pair with head movers (ring.c,
	 * reader_hwm()). Raised by us, or seen raised by another joiner,
	 * before our state store and our load of head: a mover whose seq_cst
	 * load of the bound stops short of our slot then came before all of
	 * them in the single order of seq_cst operations, and our load of
	 * head sees its move. A failed CAS's load counts as that look too
	 * (another raised it past us): seq_cst as well. */
	uint32_t h = mapq__load(&q->ctl->reader_hwm, memory_order_seq_cst);
	while (h < n && !mapq__cas_weak(&q->ctl->reader_hwm, &h, n, memory_order_seq_cst,
					memory_order_seq_cst))
		;
}

/*
 * After a joining reader's seq_cst store of its state: the first position
 * it may read (doc/format.md, Join). Under
 * MAPQ_BLOCK a head mover whose scan missed us may still move head, but
 * only to where it said it would first (head_intent; ring.c, intend()),
 * so we start there if that is past head. Under MAPQ_OVERWRITE such a
 * mover lifts us after its move (mapq__lift_readers()).
 */
static uint64_t join_floor(const struct mapq *q)
{
	/* seq_cst, both: the joiner's half of the pairs with a head mover's
	 * seq_cst intent and second scan, and with its CAS and lift scan */
	uint64_t i = mapq__load(&q->ctl->head_intent, memory_order_seq_cst);
	uint64_t h = mapq__load(&q->ctl->head, memory_order_seq_cst);
	if (q->overwrite || i <= h || i % FRAME_ALIGN)
		return h;
	/* relaxed: a mover intends only frames it saw finished, so a real
	 * intent is at most the tail we read after acquiring it; one past
	 * tail is damage, and would park us beyond every frame */
	return i <= mapq__load(&q->ctl->tail, memory_order_relaxed) ? i : h;
}

int mapq_reader_open(mapq *q, mapq_reader **rp, const char *name, int start)
{
	if (!q || !rp || (name && !reader_name_ok(name)) || start < MAPQ_START_RESUME ||
	    start > MAPQ_START_LATEST)
		return -EINVAL;
	if (inherited(q))
		return -MAPQ_EFORKED;
	*rp = NULL;
	if (q->rdonly)
		return -MAPQ_ERDONLY;
	struct mapq_reader *r = mapq__os_calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int err = mapq__registry_lock(q->fd, registry_off(q));
	if (err) {
		mapq__os_free(r);
		return err;
	}
	int i = name ? find_durable(q, name) : -1;
	bool existing = i >= 0, resume = false;
	if (existing) {
		/* Our own handle's locks never conflict with us: check it too. */
		if (own_reader(q, i) || mapq__slot_trylock(q->fd, rslot_lock_off(q, i)) != 0) {
			err = -EBUSY;
			goto out;
		}
		resume = start == MAPQ_START_RESUME;
	} else {
		i = take_free_slot(q);
		if (i < 0) {
			err = i;
			goto out;
		}
	}
	struct fmt_rslot *s = &q->rslots[i];
	_Atomic uint64_t *from = start == MAPQ_START_LATEST ? &q->ctl->tail : &q->ctl->head;
	if (existing) {
		/* The slot keeps holding writers back throughout: it goes from
		 * detached straight to active, never through BUSY, which head
		 * movers skip. A reset moves the cursor while it is visible;
		 * the join below settles any race with a head mover. */
		if (!resume) {
			mapq__store(&s->lost, 0, memory_order_relaxed);
			/* relaxed load: a position only; every frame read from it
			 * is judged by look()'s own acquire loads. relaxed store:
			 * the seq_cst store of ACTIVE below releases it, as it
			 * does a new slot's fields. A mover's seq_cst load of the
			 * state that reads our store of ACTIVE acquires it, so
			 * its acquire load of the cursor sees the reset; one that
			 * reads an earlier state (DETACHED, or a dead owner's
			 * ACTIVE: a holder at the old cursor) comes before our
			 * store in the single order of seq_cst operations, after
			 * its intent or its CAS of head, which our loads of them
			 * after that store then see (join_floor()). */
			mapq__store(&s->cursor, mapq__load(from, memory_order_relaxed),
				    memory_order_relaxed);
		}
	} else {
		/* relaxed: no scanner looks at a BUSY slot's fields; the seq_cst
		 * store of ACTIVE below publishes them */
		mapq__store(&s->state, RSLOT_BUSY, memory_order_relaxed);
		if ((err = MAPQ_FAULT(RSLOT_ATTACH_BUSY)) != 0) {
			mapq__slot_unlock(q->fd, rslot_lock_off(q, i));
			goto out;
		}
		memset(s->name, 0, sizeof(s->name));
		if (name)
			memcpy(s->name, name, strlen(name));
		mapq__store(&s->flags, name ? RSLOT_DURABLE : 0, memory_order_relaxed);
		mapq__store(&s->lost, 0, memory_order_relaxed);
		mapq__store(&s->delivered, 0, memory_order_relaxed);
		/* relaxed load: a position only, as above */
		mapq__store(&s->cursor, mapq__load(from, memory_order_relaxed),
			    memory_order_relaxed);
	}
	mapq__store(&s->pid, mapq__os_pid(), memory_order_relaxed);
	raise_hwm(q, (uint32_t)i + 1);
	(void)MAPQ_FAULT(RSLOT_ATTACH_ACTIVE);
	/* seq_cst: pairs with head movers' seq_cst scans (ring.c) */
	mapq__store(&s->state, RSLOT_ACTIVE, memory_order_seq_cst);
	uint64_t h = join_floor(q);
	/* A cursor behind that (a stale resume point, or head moved while we
	 * joined) starts from the oldest frame still retained. relaxed, load
	 * and CAS: a position, compared and raised, with nothing read on its
	 * strength (each read loads the cursor again, and judges the frame
	 * there by its own acquires) and nothing written before it for a
	 * writer to see (we have read no frame); a writer that pushed or
	 * lifted it meanwhile fails our CAS, which reloads. */
	uint64_t c = mapq__load(&s->cursor, memory_order_relaxed);
	while (c < h &&
	       !mapq__cas_weak(&s->cursor, &c, h, memory_order_relaxed, memory_order_relaxed))
		;
	r->q = q;
	r->stall_pos = UINT64_MAX;
	r->backoff = mapq__spin.filling_min;
	r->slot = i;
	r->durable = name != NULL;
	r->next = q->readers;
	q->readers = r;
	*rp = r;
	err = 0;
out:
	mapq__slot_unlock(q->fd, registry_off(q));
	if (err)
		mapq__os_free(r);
	return err;
}

void mapq_reader_close(mapq_reader *r)
{
	if (!r)
		return;
	struct mapq *q = r->q;
	struct fmt_rslot *s = &q->rslots[r->slot];
	for (struct mapq_reader **pp = &q->readers; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	if (inherited(q)) {
		/* the slot and its lock are the parent's: leave them be */
		mapq__os_free(r);
		return;
	}
	int locked = mapq__registry_lock(q->fd, registry_off(q));
	(void)MAPQ_FAULT(RSLOT_DETACH);
	/* seq_cst: a release, so that a writer that finds the slot free and
	 * passes our cursor stores over the frames we read only after our
	 * reads of them (mapq-sim --memory c11 --reattach: a data race
	 * otherwise); and ordered before the sleeper-flag load in
	 * wake_space, so a writer blocked by this reader is woken */
	mapq__store(&s->state, r->durable ? RSLOT_DETACHED : RSLOT_FREE, memory_order_seq_cst);
	mapq__slot_unlock(q->fd, rslot_lock_off(q, r->slot));
	if (locked == 0)
		mapq__slot_unlock(q->fd, registry_off(q));
	mapq__wake_space(q);
	mapq__os_free(r);
}

int mapq_reader_drop(mapq *q, const char *name)
{
	if (!q || !name || !reader_name_ok(name))
		return -EINVAL;
	if (inherited(q))
		return -MAPQ_EFORKED;
	if (q->rdonly)
		return -MAPQ_ERDONLY;
	int err = mapq__registry_lock(q->fd, registry_off(q));
	if (err)
		return err;
	int i = find_durable(q, name);
	if (i < 0) {
		err = -ENOENT;
	} else if (mapq__slot_trylock(q->fd, rslot_lock_off(q, i)) != 0) {
		err = -EBUSY;
	} else {
		if (own_reader(q, i))
			err = -EBUSY;
		if (!err) {
			struct fmt_rslot *s = &q->rslots[i];
			/* One store drops the name: FREE hides a slot's flags
			 * and name from every reader of them, and the next
			 * owner writes both. Clearing the durable flag first
			 * left, if we died in between, a detached slot nobody
			 * could resume or drop, holding head back until no
			 * process had the queue open (mapq-sim --drop).
			 * seq_cst: a release, so that a writer that finds the
			 * slot free and passes its cursor comes after what its
			 * reader read (mapq_reader_close()); and ordered before
			 * the sleeper-flag load in wake_space */
			mapq__store(&s->state, RSLOT_FREE, memory_order_seq_cst);
			mapq__slot_unlock(q->fd, rslot_lock_off(q, i));
		}
	}
	mapq__slot_unlock(q->fd, registry_off(q));
	if (!err)
		mapq__wake_space(q);
	return err;
}

/* Move the cursor from @from to @to. False: a writer pushed it meanwhile. */
static bool advance(struct mapq_reader *r, uint64_t from, uint64_t to)
{
	struct mapq *q = r->q;
	struct fmt_rslot *s = &q->rslots[r->slot];
	/* seq_cst: release says we are done reading the bytes we pass (writers
	 * acquire it before overwriting them), and the sleeper-flag load in
	 * wake_space must not move before it */
	if (!mapq__cas(&s->cursor, &from, to, memory_order_seq_cst, memory_order_relaxed))
		return false;
	mapq__reads_released(&frame_at(q, from)->len);
	if (!q->overwrite)
		mapq__wake_space(q);
	return true;
}

/*
 * Between two looks at an empty queue. The look after a writer's claim
 * pulls the frame's line back from the writer while it fills the frame,
 * and its commit then waits for the line again: spacing the looks out
 * (about 120 ns, mapq__spin) lets most writers finish first. What it
 * gained is in doc/performance.md, "What buys the speed".
 */
static inline unsigned pause_empty(void)
{
	relax_n(mapq__spin.empty);
	return mapq__spin.empty;
}

/*
 * The frame at @c is not ready. If tail has passed it, a writer is on it
 * (or died on it): now and then, ask repair.c to look at that writer, and
 * after the unblock timeout to give up on it. Returns true if something
 * changed and the caller should look again at once.
 */
static bool unblock(struct mapq_reader *r, uint64_t c, uint64_t now)
{
	struct mapq *q = r->q;
	bool fresh = c != r->stall_pos;
	if (!fresh && now - r->stall_check < mapq__poll.unblock_ns)
		return false;
	bool was = r->on_writer && !fresh;
	r->stall_pos = c;
	r->stall_check = now;
	/* relaxed: only whether the stall clock runs; the records of the
	 * reservations below tail are read by mapq__unblock(), after its own
	 * acquire of tail */
	r->on_writer = c < mapq__load(&q->ctl->tail, memory_order_relaxed);
	/* The clock runs from the first look that finds a writer on @c: not
	 * from our arrival, nor from the last look at an empty queue, which
	 * can be a poll before the writer reserved (then it was skipped as
	 * stalled moments after its reservation: the simulator found it,
	 * with a 1 ms unblock timeout). Late by a poll at most, never early. */
	if (!r->on_writer || !was) {
		r->stall_since = now;
		return false;
	}
	bool force = q->unblock_ns >= 0 && now - r->stall_since >= (uint64_t)q->unblock_ns;
	return mapq__unblock(q, c, force) != REPAIR_NONE;
}

/*
 * Judge the frame at position @c once. Returns 0 with *msg filled (data
 * frame, CRC good), SKIP (padding or aborted frame), UNCLAIMED, HINTED,
 * NOT_READY (anything else unfinished), or
 * -MAPQ_ECORRUPT / -MAPQ_EFRAMECRC; *next is the frame's end when known.
 * It only reads: the caller decides whether the verdict can be trusted.
 */
static inline __attribute__((always_inline)) int look(const struct mapq *q, uint64_t c,
						      mapq_msg *msg, uint64_t *next)
{
	struct fmt_frame *f = frame_at(q, c);
	/* pos first (acquire): if it is not ours, the frame is not published
	 * yet and the word holds stale bytes of earlier laps (format.md) */
	if (frame_pos_at(q, c) != c) {
		/* The writer's claim hint (writer.c, try_reserve), on the
		 * line just read: relaxed, only a hint (stale bytes that look
		 * like one cost a pause, nothing more) */
		uint64_t hw = mapq__load(commit_at(q, c), memory_order_relaxed);
		return cw_lap(hw) == lap_of(q, c) && cw_state(hw) == FRAME_CLAIMED &&
				       !cw_forsaken(hw)
			       ? HINTED
			       : UNCLAIMED;
	}
	/* acquire: pairs with the writer's commit store; header and payload
	 * are visible once we see the committed word */
	uint64_t w = mapq__load(commit_at(q, c), memory_order_acquire);
	unsigned st = cw_state(w);
	if (cw_lap(w) != lap_of(q, c) || st == FRAME_NONE)
		return NOT_READY;
	/* A claim nobody forsook: no writer publishes one (a damaged file
	 * can hold one); unfinished, for unblock() to judge */
	if (st == FRAME_CLAIMED && !cw_forsaken(w))
		return NOT_READY;
	if (!mapq__frame_valid(q, c, w))
		return -MAPQ_ECORRUPT;
	*next = c + cw_size(w);
	/* padding, aborted, or forsaken (its writer stalled: repair.c) */
	if (cw_pad(w) || st != FRAME_COMMITTED)
		return SKIP;
	uint32_t len = f->len;
	/* Every header field is checked before use; len bounds the CRC. */
	if (len > cw_size(w) - FRAME_HDR || len > q->max_msg)
		return -MAPQ_ECORRUPT;
	const uint8_t *payload = (const uint8_t *)f + FRAME_HDR;
	if (mapq__frame_crc(f, c, payload, len) != f->crc)
		return -MAPQ_EFRAMECRC;
	msg->data = payload;
	msg->len = len;
	msg->pos = c;
	msg->writer = f->writer;
	return 0;
}

/*
 * look() for MAPQ_OVERWRITE, where a writer may overwrite the frame while
 * we read it (a seqlock read: peek() validates it against the cursor).
 * Kept out of line under its own name so that tests/tsan.supp can excuse
 * exactly these reads and nothing that MAPQ_BLOCK does.
 */
__attribute__((noinline)) static int look_overwritable(const struct mapq *q, uint64_t c,
						       mapq_msg *msg, uint64_t *next)
{
	return look(q, c, msg, next);
}

/*
 * The frame at our cursor: 0 with *msg filled, NOT_READY, FILLING, EMPTY,
 * or an error. Skips padding and aborted frames, and reports a lap first.
 *
 * A caught-up reader polls the frame at its cursor, a line that only the
 * writer who claims it will write, and never the tail line, which every
 * reservation writes with a locked instruction: a reader that read tail
 * on every look would pull that line away from the writer once per
 * message and stall its next CAS. Whether an unclaimed position is
 * reserved (a writer is about to claim it, or died before it could)
 * matters only to the stall clock in unblock(); tail says so, and a
 * polling reader reads it once in TAIL_SAMPLE looks. @hint: an unclaimed
 * position we have not seen reserved may be called EMPTY. Not on the
 * look before sleeping, whose ordering argument is about the frame
 * itself (wait.c).
 */
static inline __attribute__((always_inline)) int peek(struct mapq_reader *r, mapq_msg *msg,
						      uint64_t *cur, bool hint)
{
	struct mapq *q = r->q;
	struct fmt_rslot *s = &q->rslots[r->slot];

	for (;;) {
		/* relaxed: our own line; writers only add to it */
		if (mapq__load(&s->lost, memory_order_relaxed)) {
			r->lost = mapq__xchg(&s->lost, 0, memory_order_relaxed);
			mapq__fetch_add(&q->ctl->lapped, 1, memory_order_relaxed);
			return -MAPQ_ELAPPED;
		}
		/* relaxed: the cursor only says where to look. The frame there
		 * is judged by look()'s own acquires of its pos and commit
		 * word, and lap tags tell an older value from ours; a writer
		 * counts the loss after its push (ring.c), so no acquire
		 * here could order that count before the push it reads. */
		uint64_t c = mapq__load(&s->cursor, memory_order_relaxed);
		*cur = c;
		if (c % FRAME_ALIGN)
			return -MAPQ_ECORRUPT; /* from the file: off the frame grid */
		int rc = q->overwrite ? look_overwritable(q, c, msg, &r->held_next)
				      : look(q, c, msg, &r->held_next);
		if (rc == 0) {
			r->held_pos = c;
			/* the header fields and payload look() read */
			mapq__plain_reads(&frame_at(q, c)->len,
					  FRAME_HDR - offsetof(struct fmt_frame, len) + msg->len);
			return 0;
		}
		/*
		 * Under MAPQ_OVERWRITE a writer may have pushed us past this
		 * frame and overwritten it while we looked; what we saw may
		 * then be torn (format.md). Writers push before they overwrite,
		 * so a cursor that has not moved proves the bytes were intact
		 * and the verdict stands. acquire fence: our reads of the frame
		 * come before this check.
		 */
		mapq__fence(memory_order_acquire);
		if (mapq__load(&s->cursor, memory_order_relaxed) != c)
			continue;
		if (rc == UNCLAIMED || rc == HINTED) {
			if (!hint)
				return NOT_READY;
			if (rc == HINTED || c < r->tail_seen)
				return FILLING;
			if ((++r->idle_looks & (TAIL_SAMPLE - 1)) == 0) {
				/* relaxed: only says whether to start the stall
				 * clock and how long to pause; the frame's own
				 * acquire loads decide what is read. tail only
				 * grows while we are attached (exclusive recovery
				 * needs us gone). */
				r->tail_seen = mapq__load(&q->ctl->tail, memory_order_relaxed);
				if (c < r->tail_seen)
					return FILLING;
			}
			return EMPTY;
		}
		if (rc == SKIP) {
			advance(r, c, r->held_next);
			continue;
		}
		if (rc == -MAPQ_EFRAMECRC) {
			mapq__fetch_add(&q->ctl->crc_failures, 1, memory_order_relaxed);
			advance(r, c, r->held_next);
		}
		return rc;
	}
}

/*
 * mapq_read() after a first look that found no message: @rc is that
 * look's verdict, @cur the cursor it looked at. Pauses, looks again,
 * spins and sleeps until a message, an error or the timeout. Out of
 * line: a read that finds its message at once builds none of this state
 * (the waiter, the blocker), and saves the registers and stack it needs.
 */
__attribute__((noinline)) static int read_wait(mapq_reader *r, mapq_msg *msg, int timeout_ms,
					       int rc, uint64_t cur)
{
	struct fmt_ctl *c = r->q->ctl;
	struct mapq__waiter w;
	bool blocked_before = false, looked_again = false;

	for (bool first = true;; first = false) {
		if (!first)
			rc = peek(r, msg, &cur, !blocked_before || w.set == NULL);
		unsigned paused = 0;
		if (rc == FILLING) {
			/* A writer is filling our frame, and every look pulls the
			 * frame's first line (and the lines it prefetched for its
			 * next frame) away from it. Look again only after a pause
			 * that doubles while we keep finding frames being filled
			 * (a stream: then each look finds several finished frames
			 * in a row) and shrinks back when the queue runs dry (a
			 * lone message, whose latency is what counts). A caller
			 * that cannot wait gets one pause and one more look. */
			rc = NOT_READY;
			paused = r->backoff;
			r->backoff = 2 * paused < mapq__spin.filling_max ? 2 * paused
									 : mapq__spin.filling_max;
			relax_n(paused);
			if (timeout_ms == 0 && !looked_again) {
				looked_again = true;
				continue;
			}
		} else if (rc == EMPTY) {
			r->backoff = mapq__spin.filling_min;
			paused = pause_empty();
			if (timeout_ms == 0) {
				/* No writer on our frame: nobody to unblock, and a
				 * stall that begins later starts its clock then
				 * (unblock()). */
				r->stall_pos = UINT64_MAX;
				return -EAGAIN;
			}
		}
		if (rc != NOT_READY && rc != EMPTY)
			break;
		if (timeout_ms != 0 && !blocked_before) {
			mapq__waiter_init(&w, timeout_ms); /* the first time blocked */
			blocked_before = true;
		}
		/* Commits bump data_seq. Dead writers bump nothing: a reader at
		 * an unfinished frame wakes often enough to check its writer.
		 * About to sleep, the look does not sample tail (NOT_READY for
		 * an empty queue too): what unblock() last saw of tail says
		 * whether a writer is on our frame, or nobody is and the idle
		 * poll will do. (Built here, not on entry: a read that finds a
		 * message pays nothing for it.) */
		const struct mapq__blocker blk = {
			.word = &c->data_seq,
			.flag = &c->data_sleepers,
			.poll_ns = rc == EMPTY || !r->on_writer ? mapq__poll.idle_ns
								: mapq__poll.unblock_ns,
			.spin_ns = READ_SPIN_NS,
			.light_wakers = true,
			.yield_ns = rc == EMPTY ? READ_YIELD_NS : 0,
		};
		const struct mapq__blocker *b = &blk;
		uint64_t now = 0;
		if (timeout_ms == 0 || !mapq__waiter_spinning(&w, b)) {
			now = mapq__now_ns();
			/* something changed: look again at once, but not past
			 * the deadline (a damaged file could make it always so) */
			if (unblock(r, cur, now) &&
			    (timeout_ms == 0 || now < mapq__waiter_deadline(&w)))
				continue;
		}
		if (timeout_ms == 0)
			return -EAGAIN;
		if ((rc = mapq__waiter_block(&w, b, paused, now)) != 0)
			return rc;
	}
	if (rc == 0) {
		r->holding = true;
		r->held = 1;
	}
	return rc;
}

int mapq_read(mapq_reader *r, mapq_msg *msg, int timeout_ms)
{
	if (!r || !msg || !timeout_ok(timeout_ms))
		return -EINVAL;
	if (inherited(r->q))
		return -MAPQ_EFORKED;
	if (r->holding)
		return -MAPQ_ESTATE;
	if (r->ahead) { /* that look was our first: space this one out from it */
		r->ahead = false;
		(void)pause_empty();
	}
	/* The first look, as read_wait()'s loop would make it */
	uint64_t cur;
	int rc = peek(r, msg, &cur, true);
	if (rc == 0) {
		r->holding = true;
		r->held = 1;
		return 0;
	}
	return rc < 0 ? rc : read_wait(r, msg, timeout_ms, rc, cur);
}

/*
 * mapq_read(), then what is ready past that message, without waiting and
 * without moving the cursor: mapq_release() moves it once past them all.
 * A frame past our cursor is ours to read as the one at it is: under
 * MAPQ_BLOCK head cannot pass the cursor, and under MAPQ_OVERWRITE a
 * writer pushes the cursor before it overwrites, so the release's CAS
 * from the first one's position fails if any of them was touched
 * (format.md, "Read a batch"). Stops at anything else (an unfinished, bad or
 * corrupt frame: the next read meets it at the cursor and deals with it
 * there) and at the end of the ring, so that the batch is one run of the
 * mapping (the simulator checks a reader's plain reads as one range).
 *
 * The look that finds the next frame unpublished stands for the caller's
 * next look at it, come early: the next read pauses before its own, as it
 * would have after finding it so, rather than pull the line the writer
 * is about to claim twice in a row (a batch without that pause ran at 0.9
 * of mapq_read()'s speed on a stream it kept up with: doc/performance.md,
 * "Batched reads").
 */
int mapq_read_batch(mapq_reader *r, mapq_msg *msgs, unsigned max, int timeout_ms)
{
	if (!msgs || max == 0)
		return -EINVAL;
	int rc = mapq_read(r, &msgs[0], timeout_ms);
	if (rc)
		return rc;
	struct mapq *q = r->q;
	uint64_t c = r->held_next;
	unsigned n = 1;
	const uint8_t *first = (const uint8_t *)frame_at(q, r->held_pos);
	const uint8_t *end = (const uint8_t *)msgs[0].data + msgs[0].len;
	while (n < max && (const uint8_t *)frame_at(q, c) > first) {
		uint64_t next;
		rc = q->overwrite ? look_overwritable(q, c, &msgs[n], &next)
				  : look(q, c, &msgs[n], &next);
		if (rc == SKIP) {
			c = next;
			continue;
		}
		if (rc != 0) {
			r->ahead = rc == UNCLAIMED || rc == HINTED;
			break;
		}
		end = (const uint8_t *)msgs[n].data + msgs[n].len;
		c = next;
		n++;
	}
	/* the header fields and payloads look() read, as in peek() */
	mapq__plain_reads(&frame_at(q, r->held_pos)->len,
			  (size_t)(end - (const uint8_t *)&frame_at(q, r->held_pos)->len));
	r->held_next = c;
	r->held = n;
	return (int)n;
}

int mapq_release(mapq_reader *r)
{
	if (!r)
		return -EINVAL;
	if (inherited(r->q))
		return -MAPQ_EFORKED;
	if (!r->holding)
		return -MAPQ_ESTATE;
	int err = MAPQ_FAULT(READ_BEFORE_ADVANCE);
	if (err)
		return err;
	r->holding = false;
	if (!advance(r, r->held_pos, r->held_next))
		return -MAPQ_ELAPPED;
	(void)MAPQ_FAULT(READ_AFTER_ADVANCE);
	struct fmt_rslot *s = &r->q->rslots[r->slot];
	/* relaxed load+store: only this reader writes delivered */
	mapq__store(&s->delivered, mapq__load(&s->delivered, memory_order_relaxed) + r->held,
		    memory_order_relaxed);
	return 0;
}

/* The copy out of the ring under MAPQ_OVERWRITE: another seqlock read,
 * validated by mapq_release(); named for tests/tsan.supp like the above. */
__attribute__((noinline)) static void copy_overwritable(void *buf, const void *src, size_t len)
{
	memcpy(buf, src, len);
}

ssize_t mapq_recv(mapq_reader *r, void *buf, size_t cap, int timeout_ms)
{
	if (!r || (cap && !buf) || !timeout_ok(timeout_ms))
		return -EINVAL;
	/* mapq_read, the first step, refuses an inherited reader. Each try
	 * after an overwrite waits only for what is left. */
	uint64_t deadline = timeout_ms > 0 ? mapq__deadline(timeout_ms) : 0;
	for (int left = timeout_ms;;) {
		mapq_msg m;
		int rc = mapq_read(r, &m, left);
		if (rc)
			return rc;
		if (m.len > cap) {
			r->holding = false; /* leave it unread */
			return -EMSGSIZE;
		}
		if (m.len == 0)
			; /* buf may be NULL for an empty message: memcpy forbids it */
		else if (r->q->overwrite)
			copy_overwritable(buf, m.data, m.len);
		else
			memcpy(buf, m.data, m.len);
		rc = mapq_release(r);
		if (rc == 0)
			return (ssize_t)m.len;
		if (rc != -MAPQ_ELAPPED)
			return rc;
		/* Overwritten while we copied: the next read reports the loss. */
		if (deadline) {
			uint64_t now = mapq__now_ns();
			if (now >= deadline)
				return -ETIMEDOUT;
			left = (int)((deadline - now + 999999) / 1000000);
		}
	}
}

uint64_t mapq_reader_lost(const mapq_reader *r)
{
	return r ? r->lost : 0;
}
