/* SPDX-License-Identifier: MIT */
/*
 * writer.c - reserve, commit, abort, send.
 *
 * A reservation is one CAS on tail, made only after head is known to be
 * at least a lap behind the reservation's end; no lock is taken on this
 * path. The frame is then filled and checksummed, and published with
 * plain stores of its commit word and pos, once a CAS of our own
 * reservation record has settled that no repairer forsook it: no locked
 * instruction touches the frame's line, which a caught-up reader polls
 * (doc/performance.md, "What each locked instruction costs"). In a queue
 * with one writer slot the writer is alone: tail moves by a store, and
 * no record is settled by CAS.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "os.h"

/* How long a writer spins at a full ring before it sleeps: readers free
 * space continuously while they keep up, so a few looks usually do; a
 * writer's unfinished frame at head is finished within microseconds. */
#define READER_SPIN_NS 20000u
#define WRITER_SPIN_NS 3000u
/* Spun this long at a full ring, a writer offers its CPU now and then to
 * the readers it waits for (wait.c). Not behind a writer's unfinished
 * frame: what that writer lacks is seldom our CPU, and it cost two writers
 * throughput (doc/performance.md, "Yielding before sleeping"). */
#define SPACE_YIELD_NS 1000u
/* The spaced looks at a blocking reader double up to 1 << this many
 * pauses at most (and to mapq__spin.blocked_max, whichever is less),
 * which also keeps the shift defined. */
#define SPACING_SHIFT_MAX 12
/* A CPU cache line: prefetch_for_write touches each line once. */
#define CACHE_LINE 64u
/* A dead writer's slot whose record cannot be settled yet (another writer
 * raced for the same position and is mid-step, for nanoseconds unless it
 * is stopped) is tried again this many times, this far apart. */
#define ATTACH_PASSES 100
#define ATTACH_RETRY_NS 100000L
/* Looks at a dead owner's record before taking its slot: each settles it
 * or sees it moved by someone else, which happens a few times at most. */
#define TAKE_OVER_TRIES 8

/*
 * The size of the aborted frame that ends a reservation at @t on a page
 * boundary (mapq_sync), 0 if @t is on one already. Every frame holds at
 * least a header, so a gap smaller than that grows by a page. The ring's
 * end is a page boundary too: a frame that would cross it stops there,
 * unless the space left before the end is smaller than a header; then
 * that space becomes padding (try_reserve) and the frame is the first
 * page of the next lap. Never less than FRAME_HDR, never more than a page
 * plus a header, which mapq_sync() checks against abort_max.
 */
static uint64_t fill_size(const struct mapq *q, uint64_t t)
{
	uint64_t off = t & q->mask, gap = -off & (FMT_PAGE - 1);
	if (gap && gap < FRAME_HDR)
		gap += FMT_PAGE;
	if (off + gap <= q->cap)
		return gap;
	return q->cap - off >= FRAME_HDR ? q->cap - off : FMT_PAGE;
}

/* The reservation [@t, @t + @p + @sz) is ours: leave the claim hint and
 * report it. */
static inline __attribute__((always_inline)) int claimed(struct mapq *q, uint64_t t, uint64_t p,
							 uint64_t sz, uint64_t *pos, uint64_t *pad,
							 uint64_t *fsize)
{
	/* A hint for readers: a claimed word in the frame, its pos not
	 * stored (so nothing is published), tells a reader polling the
	 * position that a writer is filling it, and to space its looks out
	 * (reader.c, FILLING). relaxed: only a hint, read as one. Not a
	 * claim to the space: a repairer that forsakes us publishes over it
	 * by CAS, and a late store of it can only land before our own
	 * settle(), which alone (or our death) lets head pass the frame. */
	mapq__store(commit_at(q, t + p), cw_make(sz, FRAME_CLAIMED, 0, lap_of(q, t + p)),
		    memory_order_relaxed);
	*pos = t;
	*pad = p;
	*fsize = sz;
	return 0;
}

/* Try once to reserve @size frame bytes (plus any padding; @size 0 means
 * fill_size()). Returns 0 with *pos set, a MAPQ__BLOCKED_* reason, or a
 * negative error. */
static inline __attribute__((always_inline)) int try_reserve(struct mapq *q, uint64_t size,
							     uint64_t *pos, uint64_t *pad,
							     uint64_t *fsize, bool eager)
{
	struct fmt_wslot *ws = &q->wslots[q->wslot];
	/* relaxed: the CAS below re-validates the value; the space check uses
	 * head, which carries the ordering */
	uint64_t t = mapq__load(&q->ctl->tail, memory_order_relaxed);

	for (;;) {
		int err;
		/* From the file: a tail off the frame grid would put frames
		 * anywhere, even across the ring's end. */
		if (t % FRAME_ALIGN)
			return -MAPQ_ECORRUPT;
		uint64_t off = t & q->mask, sz = size ? size : fill_size(q, t);
		if (!sz) { /* filling, and tail is on a page boundary already */
			*fsize = 0;
			return 0;
		}
		/* claim() writes a whole header: never into a smaller frame */
		if (sz < FRAME_HDR || sz > q->cap / 2)
			return -EINVAL;
		uint64_t p = off + sz > q->cap ? q->cap - off : 0;
		uint64_t end = t + p + sz;
		if (end > q->cap) {
			uint64_t need = end - q->cap;
			if (mapq__load(&q->ctl->head, memory_order_acquire) < need) {
				int r = mapq__advance_head(q, need, eager);
				if (r) {
					/* relaxed: no reservation of ours is pending */
					mapq__store(&ws->resv_size, 0, memory_order_relaxed);
					return r;
				}
			}
		}
		if ((err = MAPQ_FAULT(RESERVE_BEFORE_RECORD)))
			return err;
		if (q->nw == 1) {
			/* Alone (format.md, "Reserve alone"): the slot's lock
			 * makes us the only writer, so nobody races us for tail,
			 * and nobody forsakes us (no frame can be reserved behind
			 * ours): the record is publishing from the start, and
			 * tail moves by a store. relaxed, both: the release store
			 * of tail publishes them to whoever acquires it, and
			 * whoever reads them without that acts on them only once
			 * we are dead, after the kernel's release of our lock (a
			 * live writer's publishing record is left alone). */
			mapq__store(&ws->resv_pos, t, memory_order_relaxed);
			if ((err = MAPQ_FAULT(RESERVE_AFTER_POS)))
				return err; /* no size stored: no record */
			mapq__store(&ws->resv_size, (p + sz) | RESV_PUBLISHING,
				    memory_order_relaxed);
			if ((err = MAPQ_FAULT(RESERVE_BEFORE_CAS))) {
				mapq__store(&ws->resv_size, 0, memory_order_relaxed);
				return err;
			}
			/* release: our record is visible to anyone who sees
			 * this tail. Only we write tail while we hold the slot
			 * (exclusive recovery needs us gone). */
			mapq__store(&q->ctl->tail, end, memory_order_release);
			(void)MAPQ_FAULT(RESERVE_AFTER_CAS);
			return claimed(q, t, p, sz, pos, pad, fsize);
		}
		/* The tentative record goes first, so that a reservation is
		 * never without one (repair.c). The release CAS below
		 * publishes both to whoever acquires the new tail. release
		 * pos: it keeps the clear of our last record's resv_size
		 * ahead of it (a release store orders nothing after it, and a
		 * settle with the light fence has no fence after its clear).
		 * A repairer that reads this pos and then fences acquire sees
		 * the clear, or a later size, at its re-check of resv_size:
		 * it never pairs our last size with this pos (load_record()'s
		 * seqlock; format.md, Recovery). Free on x86. */
		mapq__store(&ws->resv_pos, t, memory_order_release);
		/* An injected failure leaves no record: a size left from an
		 * earlier try would name the position just stored. */
		if (!(err = MAPQ_FAULT(RESERVE_AFTER_POS))) {
			mapq__store(&ws->resv_size, (p + sz) | RESV_TENTATIVE,
				    memory_order_relaxed);
			err = MAPQ_FAULT(RESERVE_BEFORE_CAS);
		}
		if (err) {
			mapq__store(&ws->resv_size, 0, memory_order_relaxed);
			return err;
		}
		uint64_t tried = t;
		/* release: our record is visible to anyone who sees this tail */
		if (mapq__cas_weak(&q->ctl->tail, &t, end, memory_order_release,
				   memory_order_relaxed)) {
			(void)MAPQ_FAULT(RESERVE_AFTER_CAS);
			/* release: confirming says the pos stored above is ours.
			 * A CAS, not a store: a repairer may have forsaken the
			 * tentative record meanwhile (repair.c), and a store
			 * would erase its mark. A small copy confirms straight
			 * to publishing (format.md, "Publish early"): it settles
			 * the frame here, where the CAS of tail has just made us
			 * wait for our earlier stores, and not after the copy,
			 * where a locked instruction would wait for the lines
			 * of the payload, which readers last held. */
			uint64_t tent = (p + sz) | RESV_TENTATIVE;
			uint64_t conf = (p + sz) | (q->resv_publishing ? RESV_PUBLISHING : 0);
			if (!mapq__cas(&ws->resv_size, &tent, conf, memory_order_release,
				       memory_order_relaxed)) {
				mapq__abandon(q, t, p + sz);
				return -MAPQ_ESTALLED;
			}
			(void)MAPQ_FAULT(RESERVE_AFTER_CONFIRM);
			return claimed(q, t, p, sz, pos, pad, fsize);
		}
		/* Another writer moved tail first (not a spurious failure of
		 * the weak CAS: then t is what we tried). Its line is on that
		 * writer's CPU now: trying again at once would pull it back
		 * while that writer is still sending, and two writers that do
		 * so move the line once per message, each waiting for it.
		 * Pausing leaves the line where it is for several of the
		 * winner's sends (doc/performance.md, "Two writers: a pause
		 * after a lost CAS of tail"). */
		if (t != tried)
			relax_n(mapq__spin.contended);
	}
}

/*
 * Reserve with waiting (mapq__waiter_block, wait.c), after a first try
 * found the ring full for reason @r: blocked by a reader, on space_seq,
 * which releases bump; blocked by a writer's unfinished frame at head, on
 * data_seq, which commits bump. Dead readers and writers bump nothing, so
 * the sleeps are short enough to look for them (ring.c frees a dead
 * reader's slot as it scans; an unfinished frame's writer is checked
 * here, once a millisecond). Out of line: a send that finds room builds
 * none of this state (what that saves: doc/performance.md).
 */
__attribute__((noinline)) static int reserve_wait(struct mapq *q, uint64_t size, uint64_t *pos,
						  uint64_t *pad, uint64_t *fsize, int timeout_ms,
						  int r)
{
	struct fmt_ctl *c = q->ctl;
	struct mapq__waiter w;
	uint64_t stall_pos = UINT64_MAX, stall_since = 0, stall_check = 0;

	mapq__waiter_init(&w, timeout_ms);
	for (;; r = try_reserve(q, size, pos, pad, fsize, false)) {
		if (r <= 0)
			return r;
		bool by_reader = r == MAPQ__BLOCKED_BY_READER;
		const struct mapq__blocker blk =
			by_reader ? (struct mapq__blocker){ .word = &c->space_seq,
							    .flag = &c->space_sleepers,
							    .poll_ns = mapq__poll.space_ns,
							    .spin_ns = READER_SPIN_NS,
							    .yield_ns = SPACE_YIELD_NS }
				  : (struct mapq__blocker){ .word = &c->data_seq,
							    .flag = &c->data_sleepers,
							    .poll_ns = mapq__poll.unblock_ns,
							    .spin_ns = WRITER_SPIN_NS,
							    .light_wakers = true };
		const struct mapq__blocker *b = &blk;
		uint64_t now = 0;
		if (!by_reader && !mapq__waiter_spinning(&w, b)) {
			/* relaxed: only which frame's stall clock runs; the frame
			 * is judged by mapq__unblock()'s own acquire loads, and
			 * the space is taken by try_reserve(), after its own */
			uint64_t h = mapq__load(&c->head, memory_order_relaxed);
			now = mapq__now_ns();
			if (h != stall_pos) {
				stall_pos = h;
				stall_since = stall_check = now;
			}
			bool force = q->unblock_ns >= 0 &&
				     now - stall_since >= (uint64_t)q->unblock_ns;
			/* the writer's liveness costs a system call: ask once a
			 * millisecond, as blocked readers do */
			if ((force || now - stall_check >= mapq__poll.unblock_ns) &&
			    (stall_check = now, mapq__unblock(q, h, force) != REPAIR_NONE)) {
				/* Something changed: look again at once, but not
				 * past the deadline. A file damaged so that the
				 * repair never takes would otherwise keep us
				 * here for ever, @force being true every time. */
				if (now >= mapq__waiter_deadline(&w))
					return -ETIMEDOUT;
				continue;
			}
		}
		/* Each look at a blocking reader reads its cursor line, which
		 * it writes with a locked CAS on every release, and would stall
		 * that CAS: those looks space out, doubling up to
		 * mapq__spin.blocked_max pauses, so that the reader frees
		 * several frames between two of them. */
		unsigned paused = 0;
		if (by_reader && mapq__waiter_spinning(&w, b)) {
			paused = w.looks < SPACING_SHIFT_MAX &&
						 1u << w.looks < mapq__spin.blocked_max
					 ? 1u << w.looks
					 : mapq__spin.blocked_max;
			relax_n(paused);
		}
		if ((r = mapq__waiter_block(&w, b, paused, now)) != 0)
			return r;
	}
}

/* Padding of @pad bytes at @at, the start of our reservation. */
static inline __attribute__((always_inline)) void publish_pad(struct mapq *q, uint64_t at,
							      uint64_t pad)
{
	(void)MAPQ_FAULT(PAD_BEFORE_WORD);
	/* relaxed: the release store of pos below publishes it */
	mapq__store(commit_at(q, at), cw_make(pad, FRAME_COMMITTED, 1, lap_of(q, at)),
		    memory_order_relaxed);
	(void)MAPQ_FAULT(PAD_BEFORE_POS);
	/* release, and last (format.md, publication) */
	mapq__store(&frame_at(q, at)->pos, at, memory_order_release);
}

/* The header, commit word and pos of the frame at @pos, whose payload is
 * written, in that order: once our record is publishing, nobody else
 * writes them. @len, @crc: the header's. */
static inline __attribute__((always_inline)) void publish_frame(struct mapq *q, uint64_t pos,
								uint64_t size, unsigned state,
								uint32_t len, uint32_t crc)
{
	struct fmt_frame *f = frame_at(q, pos);
	/* plain: the release store of pos below publishes them */
	mapq__plain_stores(&f->len, FRAME_HDR - offsetof(struct fmt_frame, len));
	f->len = len;
	f->crc = crc;
	f->writer = (uint16_t)q->wslot;
	f->flags = 0;
	f->reserved0 = 0;
	/* relaxed: the release store of pos below publishes it */
	mapq__store(commit_at(q, pos), cw_make(size, state, 0, lap_of(q, pos)),
		    memory_order_relaxed);
	(void)MAPQ_FAULT(COMMIT_BEFORE_POS);
	/* release, and last: a reader that acquires pos == this position
	 * reads this word, header and payload, never stale bytes */
	mapq__store(&f->pos, pos, memory_order_release);
	(void)MAPQ_FAULT(COMMIT_AFTER_STORE);
}

/* Our reservation's frames are all published: clear the record, and wake
 * whoever sleeps for data. */
static inline __attribute__((always_inline)) void clear_record(struct mapq *q)
{
	/* release: a repairer that acquires the record cleared must see the
	 * frame published. Relaxed, the clear could land before pos (ARM
	 * keeps a later store behind a release store only when it is a
	 * release too): a reader past the unblock timeout then saw a
	 * committed word, no pos and no record, and filled the frame as
	 * unknown space (mapq-sim --memory weak, a message lost). */
	mapq__store(&q->wslots[q->wslot].resv_size, 0, memory_order_release);
	(void)MAPQ_FAULT(COMMIT_AFTER_CLEAR);
	/* The store of pos above must not pass the sleeper-flag load in
	 * mapq__wake_data (format.md, "Waiting"). Where the platform lets a
	 * sleeper force a barrier on us, a compiler barrier is our side of
	 * the pair, and the sleeper pays (os.h): a seq_cst fence here waits
	 * for every store of the frame to reach its line, once per message
	 * (what that cost: doc/performance.md). Elsewhere, a seq_cst fence. */
	if (q->light_fence)
		mapq__light_fence();
	else
		mapq__fence(memory_order_seq_cst);
	mapq__wake_data(q);
}

/*
 * Publish the frame at @pos (whose header and payload are written) in
 * final state @state, unless a repairer forsook our reservation: then it
 * is aborted by the repairers' own steps and the result is false. Either
 * way the record is cleared.
 *
 * The CAS of our record to RESV_PUBLISHING is where a repairer and we
 * settle who finishes the frame (format.md, "Commit"): after it nobody
 * else writes the frame's header, word or pos, so ours are plain stores,
 * which wait in the store buffer for the line a reader polls instead of
 * stalling us for it as a CAS on that line would. The header too waits
 * until then: a repairer that forsook us writes its own there. A writer
 * alone in its queue has no CAS to make: its record was publishing from
 * its reservation on, and a locked instruction there would also make
 * the payload's stores wait for their lines before the word's could
 * start (doc/performance.md, "A writer alone").
 * @len, @crc: the header's.
 */
static inline __attribute__((always_inline)) bool settle(struct mapq *q, uint64_t pos,
							 uint64_t size, unsigned state,
							 uint32_t len, uint32_t crc)
{
	struct fmt_wslot *ws = &q->wslots[q->wslot];
	uint64_t rec = q->resv_rec;
	/* relaxed, both ways. The value alone settles who finishes the
	 * frame: a repairer that reads the record publishing leaves the
	 * frame alone and reads nothing we wrote since the confirmation,
	 * and the pos it reads of the record was published by the
	 * confirmation's release, whose release sequence this CAS, a
	 * read-modify-write, continues. A repairer acts on the record of a
	 * dead writer only after the kernel said it is dead. On failure
	 * the mark is all we need, and abandoning reloads it. */
	if (!q->resv_publishing && /* alone, or published early: no race left */
	    !mapq__cas(&ws->resv_size, &rec, rec | RESV_PUBLISHING, memory_order_relaxed,
		       memory_order_relaxed)) {
		/* our own copy of where the reservation starts: the record's
		 * pos is in the file, where anyone may have scribbled */
		mapq__abandon(q, pos - (q->resv_rec - size), q->resv_rec);
		return false;
	}
	(void)MAPQ_FAULT(COMMIT_AFTER_RECORD);
	uint64_t pad = rec - size;
	/* Padding first, at the reservation's start, as a frame of its own.
	 * Only now, with the record ours: a repairer that forsook us
	 * publishes the same padding, and head may then pass it and a later
	 * lap take the space before a late store of ours (mapq-sim, 1 KiB
	 * messages in a 4 KiB ring). */
	if (pad)
		publish_pad(q, pos - pad, pad);
	publish_frame(q, pos, size, state, len, crc);
	clear_record(q);
	return true;
}

/*
 * Ask for the lines of @n bytes from @pos (up to PREFETCH_MAX) in the
 * exclusive state, without waiting for them. After a commit: the frame
 * this writer will probably claim PREFETCH_AHEAD sends after its next,
 * each guessed to be as large as the one just committed. Those lines were
 * last held by readers, a lap ago. Without this, each store of a copy
 * waits in turn for its line, and the claim's CAS stalls on the first;
 * with it, the fetches overlap each other and the sends in between.
 * (What it gained: doc/performance.md, "What buys the speed".)
 * PREFETCHW is a no-op on CPUs without it, and never faults.
 */
#define PREFETCH_MAX 4096u
/*
 * Why ahead: a small message's send is shorter than a line's transfer
 * from a reader on a distant CPU, and lines asked for one send ahead were
 * still on their way when the copy stored into them (doc/performance.md,
 * "Prefetching further ahead"). Each line is still asked for once.
 * Never past an eighth of the ring: in a small ring a reader may still be
 * reading that far ahead, and a fetch for writing would take the line
 * from under it.
 */
#define PREFETCH_AHEAD 4u
/*
 * A batch asks for the lines this far ahead of each frame it publishes,
 * as it goes, each line once: its frames follow each other faster than
 * single sends do, so a distance counted in frames would be a shorter
 * time; and asking for the next batch's lines all at once, at the end of
 * a batch, was slower (doc/performance.md, "A batch's prefetch, line by
 * line"). Half a batch's bound; never past an eighth of the ring, as
 * above.
 */
#define BATCH_AHEAD (MAPQ__BATCH_MAX / 2)
static inline void prefetch_for_write(const struct mapq *q, uint64_t pos, uint64_t n)
{
	for (uint64_t o = 0; o < n && o < PREFETCH_MAX; o += CACHE_LINE) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
		__asm__ volatile("prefetchw %0" : : "m"(*(const char *)frame_at(q, pos + o)));
#else
		__builtin_prefetch(frame_at(q, pos + o), 1, 3);
#endif
	}
}

/* Ask for each line from *@from up to @to (see prefetch_for_write), and
 * move *@from past them. */
static inline void prefetch_lines_to(const struct mapq *q, uint64_t *from, uint64_t to)
{
	for (; *from < to; *from += CACHE_LINE)
		prefetch_for_write(q, *from, 1);
}

static void count(_Atomic uint64_t *ctr, uint64_t n)
{
	/* relaxed load+store: only this slot's owner writes its counters */
	mapq__store(ctr, mapq__load(ctr, memory_order_relaxed) + n, memory_order_relaxed);
}

static inline __attribute__((always_inline)) int reserve_frame(struct mapq *q, uint64_t size,
							       uint64_t *fpos, uint64_t *fsize,
							       int timeout_ms, bool publish)
{
	uint64_t pos = 0, pad = 0;
	/* Alone, the record is publishing from the start ("Reserve alone") */
	q->resv_publishing = publish || q->nw == 1;
	/* A caller that cannot wait gets its answer about blocking readers'
	 * liveness at once (@eager); retries are rate-limited (ring.c). */
	int r = try_reserve(q, size, &pos, &pad, fsize, timeout_ms == 0);
	if (r > 0)
		r = timeout_ms == 0 ? -EAGAIN
				    : reserve_wait(q, size, &pos, &pad, fsize, timeout_ms, r);
	if (r == -MAPQ_ESTALLED)
		count(&q->wslots[q->wslot].aborted, 1); /* forsaken before we confirmed */
	if (r || !*fsize)
		return r;
	/* The padding, if any, is published with the frame (settle()) */
	q->resv_rec = pad + *fsize;
	*fpos = pos + pad;
	return 0;
}

int mapq__reserve_frame(struct mapq *q, uint64_t size, uint64_t *fpos, uint64_t *fsize,
			int timeout_ms)
{
	return reserve_frame(q, size, fpos, fsize, timeout_ms, false);
}

/*
 * Writer slots. A writer owns its slot through the slot's kernel lock
 * (slots.c); taking a slot whose owner died first finishes that owner's
 * reservation (repair.c).
 *
 * take_over: take slot @i (its lock held) from a dead owner. 0: done;
 * -EAGAIN: its record cannot be settled yet, leave the slot.
 */
static int take_over(struct mapq *q, uint32_t i)
{
	int err = MAPQ_FAULT(WSLOT_ATTACH_LOCKED);
	if (err)
		return err;
	/* REPAIR_DONE: the frame's word moved under us. While we hold the
	 * slot's lock its dead owner looks alive, so a reader may forsake
	 * the frame after the unblock timeout; nobody but us would ever
	 * abort it then. Look again until the record is settled. */
	int r = REPAIR_DONE;
	for (int tries = 0; r == REPAIR_DONE && tries < TAKE_OVER_TRIES; tries++)
		r = mapq__repair_record(q, i);
	if (r == REPAIR_UNSETTLED)
		return -EAGAIN;
	return MAPQ_FAULT(WSLOT_ATTACH_REPAIRED);
}

/* Make slot @i ours; its lock is held and its old business finished. */
static void claim_slot(struct mapq *q, uint32_t i)
{
	struct fmt_wslot *s = &q->wslots[i];
	/* relaxed: these fields are ours now; the lock orders ownership */
	mapq__store(&s->resv_size, 0, memory_order_relaxed);
	mapq__store(&s->pid, mapq__os_pid(), memory_order_relaxed);
	mapq__store(&s->state, WSLOT_ACTIVE, memory_order_relaxed);
	mapq__store(&s->attaches, mapq__load(&s->attaches, memory_order_relaxed) + 1,
		    memory_order_relaxed);
	q->wslot = (int)i;
	q->light_fence = mapq__os_light_fence();
}

int mapq__wslot_attach(struct mapq *q)
{
	if (q->rdonly)
		return -MAPQ_ERDONLY;
	int err = -MAPQ_ENOSLOT;
	/* A slot whose dead owner's record cannot be settled yet is left
	 * for a moment (ATTACH_PASSES) */
	for (int pass = 0; pass < ATTACH_PASSES && err == -MAPQ_ENOSLOT; pass++) {
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
		mapq__os_sleep_ns(ATTACH_RETRY_NS);
	}
	return err;
}

void mapq__wslot_detach(struct mapq *q)
{
	if (q->wslot < 0)
		return;
	struct fmt_wslot *s = &q->wslots[q->wslot];
	(void)MAPQ_FAULT(WSLOT_DETACH);
	mapq__store(&s->state, WSLOT_FREE, memory_order_relaxed);
	mapq__slot_unlock(q->fd, wslot_lock_off(q, q->wslot));
	q->wslot = -1;
}

/* The checks of every reservation's start, in order: the handle may make
 * one now (else its error). */
static inline int may_reserve(const mapq *q, int timeout_ms)
{
	if (!timeout_ok(timeout_ms))
		return -EINVAL;
	if (inherited(q))
		return -MAPQ_EFORKED;
	return q->resv_size ? -MAPQ_ESTATE : 0;
}

/* Our writer slot, taken at the first reservation. */
static inline int own_slot(mapq *q)
{
	return q->wslot < 0 ? mapq__wslot_attach(q) : 0;
}

/* mapq_reserve(), and mapq_send()'s first step: a call within this file,
 * not through the library's exported symbol (which a call from another
 * exported function would take, through the PLT). Inlined, also where gcc
 * would rather call it: a send then keeps @buf in a register and makes no
 * call, which saves it a prologue, an epilogue and the call's setup
 * (doc/performance.md, "Send with its reservation inlined"). */
static inline __attribute__((always_inline)) int reserve(mapq *q, size_t len, void **buf,
							 int timeout_ms, bool publish)
{
	if (!q || !buf)
		return -EINVAL;
	int r = may_reserve(q, timeout_ms);
	if (r)
		return r;
	if (len > q->max_msg)
		return -EMSGSIZE;
	if ((r = own_slot(q)) != 0)
		return r;
	uint64_t pos = 0, size = 0;
	r = reserve_frame(q, frame_size(len), &pos, &size, timeout_ms, publish);
	if (r)
		return r;
	q->resv_pos = pos;
	q->resv_size = size;
	q->resv_len = (uint32_t)len;
	*buf = (uint8_t *)frame_at(q, pos) + FRAME_HDR;
	return 0;
}

int mapq_reserve(mapq *q, size_t len, void **buf, int timeout_ms)
{
	return reserve(q, len, buf, timeout_ms, false);
}

/* Publish the reserved frame with @len payload bytes. @crc: its CRC when
 * the caller computed it while copying (mapq_send), else NULL. */
static inline __attribute__((always_inline)) int commit_frame(mapq *q, size_t len,
							      const uint32_t *crc)
{
	struct fmt_wslot *ws = &q->wslots[q->wslot];
	int err = MAPQ_FAULT(COMMIT_BEFORE_CRC);
	if (err)
		return err;
	uint32_t c = crc ? *crc
			 : mapq__frame_crc_new(q->resv_pos, (uint32_t)len, (uint16_t)q->wslot,
					       (uint8_t *)frame_at(q, q->resv_pos) + FRAME_HDR);
	if ((err = MAPQ_FAULT(COMMIT_BEFORE_STORE)))
		return err;
	uint64_t size = q->resv_size;
	q->resv_size = 0;
	if (!settle(q, q->resv_pos, size, FRAME_COMMITTED, (uint32_t)len, c)) {
		count(&ws->aborted, 1);
		return -MAPQ_ESTALLED;
	}
	count(&ws->msgs, 1);
	count(&ws->bytes, len);
	/* Not before a frame as long as this one would be copied by the
	 * string instruction (crc32c.c, copy_streamed()), which needs none
	 * of its lines' old bytes: fetched for writing, they would come
	 * over from the reader that held them in vain. (The constant first:
	 * a small frame's test then loads nothing.) */
	if (len < MAPQ__STREAM_MIN || len < mapq__crc32c_stream_min) {
		uint64_t ahead = PREFETCH_AHEAD * size;
		prefetch_for_write(q, q->resv_pos + size + (ahead <= q->cap / 8 ? ahead : 0), size);
	}
	return 0;
}

int mapq_commit(mapq *q, size_t len)
{
	int err = usable(q);
	if (err)
		return err;
	if (!q->resv_size)
		return -MAPQ_ESTATE;
	if (len > q->resv_len)
		return -EMSGSIZE;
	return commit_frame(q, len, NULL);
}

int mapq_abort(mapq *q)
{
	int err = usable(q);
	if (err)
		return err;
	if (!q->resv_size)
		return -MAPQ_ESTATE;
	err = MAPQ_FAULT(ABORT_BEFORE_STORE);
	if (err)
		return err;
	count(&q->wslots[q->wslot].aborted, 1);
	uint64_t size = q->resv_size;
	q->resv_size = 0;
	(void)settle(q, q->resv_pos, size, FRAME_ABORTED, 0, 0);
	return 0;
}

/* mapq_send's copy while fault points are armed: in two halves, so that
 * copy.midway can die (or fail) with half a payload in the frame. */
static int send_in_halves(mapq *q, void *buf, const void *data, size_t len)
{
	size_t half = len / 2;
	mapq__plain_stores(buf, half);
	uint32_t crc = mapq__frame_crc_copy(buf, q->resv_pos, (uint32_t)len, (uint16_t)q->wslot,
					    data, (uint32_t)half);
	int r = MAPQ_FAULT(COPY_MIDWAY);
	if (r) {
		(void)mapq_abort(q);
		return r;
	}
	mapq__plain_stores((uint8_t *)buf + half, len - half);
	crc = mapq__crc32c_copy(crc, (uint8_t *)buf + half, (const uint8_t *)data + half,
				len - half);
	return commit_frame(q, len, &crc);
}

/* Copy @len bytes of @data into the payload at @buf of the frame at @pos,
 * and return the frame's CRC. */
static inline __attribute__((always_inline)) uint32_t copy_in(mapq *q, void *buf, uint64_t pos,
							      const void *data, size_t len)
{
	mapq__plain_stores(buf, len);
	/* The CRC is computed as the payload is copied in (one pass over it,
	 * not two), and is of the bytes in the frame. */
	return mapq__frame_crc_copy(buf, pos, (uint32_t)len, (uint16_t)q->wslot, data,
				    (uint32_t)len);
}

static inline __attribute__((always_inline)) int send_one(mapq *q, const void *data, size_t len,
							  int timeout_ms)
{
	void *buf;

	if (len && !data)
		return -EINVAL;
	/* A small copy publishes early: see try_reserve() */
	int r = reserve(q, len, &buf, timeout_ms, len <= MAPQ__PUBLISH_EARLY_MAX);
	if (r)
		return r;
	if (len && MAPQ_FAULT_ARMED())
		return send_in_halves(q, buf, data, len);
	uint32_t crc = copy_in(q, buf, q->resv_pos, data, len);
	/* one call of commit_frame(), which is inlined: one copy of it */
	return commit_frame(q, len, &crc);
}

int mapq_send(mapq *q, const void *data, size_t len, int timeout_ms)
{
	return send_one(q, data, len, timeout_ms);
}

/*
 * The frame bytes one reservation of mapq_send_batch() may hold. Its
 * frames are published one by one from the reservation on, as a small
 * send's one frame is (format.md, "Send a batch"), so a stopped writer
 * holds readers at its next frame: the bound keeps that copy short. And
 * what a writer that died part way leaves is aborted as one frame
 * (repair.c), which abort_max bounds (never more than half the ring).
 */
static inline uint64_t batch_bytes(const struct mapq *q)
{
	return q->abort_max < MAPQ__BATCH_MAX ? q->abort_max : MAPQ__BATCH_MAX;
}

/*
 * One reservation's worth of @msgs (@n of them, at least 1): the first
 * message, and those after it whose frames fit in batch_bytes() with it.
 * Returns how many were sent, or an error if none was; *@cut when a
 * failure sent fewer than the reservation held.
 */
static int send_run(mapq *q, const mapq_msg *msgs, unsigned n, int timeout_ms, bool *cut)
{
	uint64_t total = 0, limit = batch_bytes(q);
	unsigned k = 0;
	for (; k < n; k++) {
		size_t len = msgs[k].len;
		if (len > q->max_msg || (len && !msgs[k].data))
			break; /* reported by the call that starts with it */
		uint64_t fs = frame_size(len);
		if (total + fs > limit)
			break;
		total += fs;
	}
	if (k <= 1) {
		int r = send_one(q, msgs[0].data, msgs[0].len, timeout_ms);
		return r ? r : 1;
	}
	int r = may_reserve(q, timeout_ms);
	if (r || (r = own_slot(q)) != 0)
		return r;
	uint64_t pos = 0, size = 0;
	r = reserve_frame(q, total, &pos, &size, timeout_ms, true);
	if (r)
		return r;
	struct fmt_wslot *ws = &q->wslots[q->wslot];
	uint64_t pad = q->resv_rec - size, bytes = 0;
	(void)MAPQ_FAULT(COMMIT_AFTER_RECORD);
	if (pad)
		publish_pad(q, pos - pad, pad);
	/* The lines up to @ahead past the reservation's start were asked for
	 * by whatever was sent before it, if anything was */
	uint64_t ahead = BATCH_AHEAD <= q->cap / 8 ? BATCH_AHEAD : q->cap / 8;
	uint64_t fetched = (pos + ahead) & ~(uint64_t)(CACHE_LINE - 1);
	unsigned i = 0;
	for (uint64_t c = pos; i < k; i++) {
		size_t len = msgs[i].len;
		if (i && MAPQ_FAULT(COMMIT_BATCH_NEXT) != 0) {
			/* An injected failure: the rest becomes one aborted
			 * frame, and the call reports what it sent. */
			publish_frame(q, c, pos + size - c, FRAME_ABORTED, 0, 0);
			count(&ws->aborted, 1);
			*cut = true;
			break;
		}
		void *buf = (uint8_t *)frame_at(q, c) + FRAME_HDR;
		uint32_t crc = copy_in(q, buf, c, msgs[i].data, len);
		publish_frame(q, c, frame_size(len), FRAME_COMMITTED, (uint32_t)len, crc);
		c += frame_size(len);
		bytes += len;
		prefetch_lines_to(q, &fetched, c + ahead);
	}
	clear_record(q);
	count(&ws->msgs, i);
	count(&ws->bytes, bytes);
	return (int)i;
}

int mapq_send_batch(mapq *q, const mapq_msg *msgs, unsigned n, int timeout_ms)
{
	if (!q || (n && !msgs) || !timeout_ok(timeout_ms))
		return -EINVAL;
	if (n > INT_MAX)
		n = INT_MAX;
	unsigned sent = 0;
	bool cut = false;
	while (sent < n && !cut) {
		/* Only the first reservation waits: a call that has sent
		 * something returns rather than wait again. */
		int r = send_run(q, msgs + sent, n - sent, sent ? 0 : timeout_ms, &cut);
		if (r < 0)
			return sent ? (int)sent : r;
		sent += (unsigned)r;
	}
	return (int)sent;
}
