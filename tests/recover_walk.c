/* SPDX-License-Identifier: MIT */
/* recover_walk: where exclusive recovery starts and ends the log
 * (doc/format.md, "Exclusive recovery").
 *
 * When the control page is not believable, it starts from a mapq_sync()
 * checkpoint:
 * - the newest valid one, even when head equals tail in it (a sync of an
 *   empty queue): rep.used_checkpoint says so;
 * - its tail is the log's recorded end: a damaged frame before it is
 *   skipped and the messages after it are kept (rep.frames_skipped);
 *   the log ends at a damaged frame whose next intact frame lies at or
 *   after that tail, and what lies past the end is unpublished
 *   (rep.frames_scrubbed);
 * - only the checkpoint pages hold checkpoints: one planted in the page
 *   after them (the writer slot table's first bytes, which a hostile
 *   peer can write) is never used, however new its seq; nor is one
 *   whose CRC does not match.
 * A damaged frame at head (a head that readers had left, at a frame a
 * writer had begun to reuse) is no part of the log: it starts at the
 * next intact frame. Positions at or past 2^62, the format's limit, are
 * believed neither in a writer's record nor in a frame. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define CAP 4096u
#define MSG 200u

static struct fmt_super sb;
static uint64_t frame; /* a message's frame size */

static void poke(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void peek(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* Make the control page unbelievable: head off the frame grid. */
static void garble_head(const char *path)
{
	uint64_t h = 8;
	poke(path, sb.ctl_off + offsetof(struct fmt_ctl, head), &h, sizeof(h));
}

/* Recover alone, after an open that does not. */
static mapq *recover(const char *path, mapq_recovery *rep)
{
	mapq *q;
	CHECK_OK(mapq_open(&q, path, MAPQ_NORECOVER, NULL));
	CHECK_OK(mapq_recover(q, rep));
	CHECK_EQ(rep->exclusive, 1);
	return q;
}

/* The messages a new reader gets from the oldest: their seqs in @seq. */
static int drain(mapq *q, uint64_t *seq, int max)
{
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	int n = 0;
	for (;;) {
		uint8_t in[MSG];
		uint32_t w;
		ssize_t got = mapq_recv(r, in, sizeof(in), 0);
		if (got == -EAGAIN)
			break;
		CHECK_EQ(got, MSG);
		CHECK(n < max);
		CHECK_OK(t_check_payload(in, MSG, &w, &seq[n]));
		n++;
	}
	mapq_reader_close(r);
	return n;
}

static mapq *create(const char *p)
{
	mapq *q;
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = CAP;
	CHECK_OK(mapq_open(&q, p, MAPQ_CREATE | MAPQ_EXCL, &o));
	peek(p, 0, &sb, sizeof(sb));
	frame = frame_size(MSG);
	return q;
}

static void send_seqs(mapq *q, uint64_t from, uint64_t to)
{
	uint8_t out[MSG];
	for (uint64_t s = from; s < to; s++) {
		t_fill(out, MSG, 1, s);
		CHECK_OK(mapq_send(q, out, MSG, 0));
	}
}

/* Flip a payload byte of the @i-th frame: its CRC fails. */
static void damage_frame(const char *p, uint64_t i)
{
	uint8_t junk;
	uint64_t off = sb.data_off + i * frame + FRAME_HDR + 3;
	peek(p, off, &junk, 1);
	junk ^= 0x5a;
	poke(p, off, &junk, 1);
}

static void checkpoints(void)
{
	const char *p = t_path("q");
	mapq_recovery rep;
	mapq *q = create(p);

	/* A sync of an empty queue: head equals tail in its checkpoint. */
	CHECK_OK(mapq_sync(q));
	mapq_close(q);
	garble_head(p);
	q = recover(p, &rep);
	CHECK_EQ(rep.used_checkpoint, 1);
	CHECK_EQ(rep.head, 0);
	CHECK_EQ(rep.messages, 0);

	/* Five messages, synced: the newest checkpoint's tail is after
	 * them. Then frame 1's payload is damaged (its CRC fails). */
	send_seqs(q, 0, 5);
	CHECK_OK(mapq_sync(q));
	mapq_close(q);
	/* Intact, the log ends where the control page says: at tail. */
	q = recover(p, &rep);
	CHECK_EQ(rep.used_checkpoint, 0);
	CHECK_EQ(rep.frames_scanned, 5);
	CHECK_EQ(rep.messages, 5);
	CHECK_STR(rep.end_reason, "end of the log");
	mapq_close(q);
	damage_frame(p, 1);

	/* Planted in the page after the checkpoints: a newer checkpoint
	 * that ends the log at 0. Its seq reads as a free writer slot's
	 * state and pid, head and tail as no reservation. */
	struct fmt_ckpt fake = { .seq = (uint64_t)1 << 32, .head = 0, .tail = 0 };
	fake.crc = mapq__ckpt_crc(&fake);
	poke(p, sb.wslot_off, &fake, sizeof(fake));
	/* And in the checkpoint page the next sync would write, one newer
	 * still whose CRC is wrong. */
	struct fmt_ckpt bad = { .seq = 1000, .head = 0, .tail = 0 };
	bad.crc = mapq__ckpt_crc(&bad) ^ 1;
	poke(p, sb.ctl_off + FMT_PAGE * (1 + 3 % FMT_CKPT_PAGES), &bad, sizeof(bad));

	garble_head(p);
	q = recover(p, &rep);
	CHECK_EQ(rep.used_checkpoint, 1);
	CHECK_EQ(rep.head, 0);
	CHECK_EQ(rep.frames_skipped, 1);
	CHECK_EQ(rep.tail_after, 5 * frame);
	/* frame 1 skipped, not walked; the end is where nothing follows,
	 * short of the lap that the garbled tail left the walk */
	CHECK_EQ(rep.frames_scanned, 4);
	CHECK_STR(rep.end_reason, "no frame published where the next one should start");
	uint64_t seq[8];
	CHECK_EQ(drain(q, seq, 8), 4);
	CHECK(seq[0] == 0 && seq[1] == 2 && seq[2] == 3 && seq[3] == 4);
	mapq_close(q);
}

/* Read @n messages with a new reader (durable if @name), and detach. */
static void read_and_leave(mapq *q, const char *name, int n)
{
	mapq_reader *r;
	uint8_t in[MSG];
	CHECK_OK(mapq_reader_open(q, &r, name, MAPQ_START_OLDEST));
	for (int i = 0; i < n; i++)
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), MSG);
	mapq_reader_close(r);
}

static uint64_t next_seq(mapq_reader *r)
{
	uint8_t in[MSG];
	uint32_t w;
	uint64_t s;
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), MSG);
	CHECK_OK(t_check_payload(in, MSG, &w, &s));
	return s;
}

/* Four messages synced, a fifth not; then frame 3 is damaged. The next
 * intact frame after it, the fifth, starts at the checkpoint's tail, so
 * the log ends at frame 3: frames 3 and 4 are unpublished (pos and commit
 * word both), the control page's counters start again, and the cursors
 * of readers that had read all five come back to the end: a durable one
 * attached (this handle's, recovering) and one detached; a free slot's
 * stale cursor is no reader's and stays. */
static void end_at_tail(void)
{
	const char *p = t_path("tail");
	mapq_recovery rep;
	mapq *q = create(p);
	send_seqs(q, 0, 4);
	CHECK_OK(mapq_sync(q));
	send_seqs(q, 4, 5);
	read_and_leave(q, "attached", 5);
	read_and_leave(q, "detached", 5);
	read_and_leave(q, NULL, 5);
	mapq_close(q);
	damage_frame(p, 3);
	garble_head(p);
	uint64_t junk[3] = { 7, 8, 9 }; /* crc_failures, lapped, lost */
	poke(p, sb.ctl_off + offsetof(struct fmt_ctl, crc_failures), junk, sizeof(junk));

	CHECK_OK(mapq_open(&q, p, MAPQ_NORECOVER, NULL));
	mapq_reader *att, *det;
	CHECK_OK(mapq_reader_open(q, &att, "attached", MAPQ_START_RESUME));
	CHECK_OK(mapq_recover(q, &rep));
	CHECK_EQ(rep.exclusive, 1);
	CHECK_EQ(rep.used_checkpoint, 1);
	CHECK_EQ(rep.frames_skipped, 0);
	CHECK_EQ(rep.tail_after, 3 * frame);
	CHECK_EQ(rep.frames_scanned, 3);
	CHECK_STR(rep.end_reason, "frame CRC mismatch (torn write)");
	CHECK_EQ(rep.frames_scrubbed, 2);
	CHECK_EQ(rep.cursors_moved, 2);
	for (uint64_t i = 3; i < 5; i++) {
		CHECK_EQ(frame_pos_at(q, i * frame), POS_SCRUBBED);
		CHECK_EQ(atomic_load(commit_at(q, i * frame)), 0);
	}
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK(st.crc_failures == 0 && st.lapped == 0 && st.lost == 0);
	uint64_t seq[8];
	CHECK_EQ(drain(q, seq, 8), 3);
	CHECK(seq[0] == 0 && seq[1] == 1 && seq[2] == 2);
	/* Both durable readers are at the end: the next message is theirs. */
	CHECK_OK(mapq_reader_open(q, &det, "detached", MAPQ_START_RESUME));
	uint8_t in[MSG];
	CHECK_RC(mapq_recv(att, in, sizeof(in), 0), -EAGAIN);
	send_seqs(q, 5, 6);
	CHECK_EQ(next_seq(att), 5);
	CHECK_EQ(next_seq(det), 5);
	mapq_close(q);
}

/* An aborted frame's body is never checked: a frame of the next lap
 * written there before a power cut (its pos a lap on, its word tagged
 * with that lap) must be unpublished, or a reader a lap on would take it
 * for a new message. Here the aborted frame is the last of the log, and
 * comes after 16 bytes of padding at the ring's end (17 frames of 240
 * bytes leave 16). */
static void scrub_bodies(void)
{
	const char *p = t_path("bodies");
	mapq_recovery rep;
	mapq *q = create(p);
	CHECK_EQ(CAP - 17 * frame, 16);
	send_seqs(q, 0, 17);
	void *buf;
	CHECK_OK(mapq_reserve(q, MSG, &buf, 0)); /* padding, then slot 0 */
	CHECK_OK(mapq_abort(q));
	CHECK_EQ(atomic_load(&q->ctl->tail), CAP + frame);
	uint64_t x = CAP + FRAME_ALIGN, later = x + CAP;
	struct fmt_frame *f = frame_at(q, x);
	atomic_store(&f->commit, cw_make(FRAME_HDR + 16, FRAME_COMMITTED, 0, lap_of(q, later)));
	atomic_store(&f->pos, later);
	mapq_close(q);
	q = recover(p, &rep);
	CHECK_EQ(rep.frames_scrubbed, 1);
	CHECK_EQ(rep.tail_after, CAP + frame);
	/* head moved on to make room (no reader holds it): what is left is
	 * messages up to the 17th, in order */
	CHECK(rep.messages >= 10);
	CHECK_EQ(frame_pos_at(q, x), POS_SCRUBBED);
	CHECK_EQ(atomic_load(commit_at(q, x)), 0);
	uint64_t seq[20];
	CHECK_EQ(drain(q, seq, 20), rep.messages);
	for (uint64_t i = 0; i < rep.messages; i++)
		CHECK_EQ(seq[i], 17 - rep.messages + i);
	mapq_close(q);
}

/* The frame at head damaged (the control page is fine): the log starts
 * at the next frame, and nothing counts as skipped. */
static void damaged_head(void)
{
	const char *p = t_path("head");
	mapq_recovery rep;
	mapq *q = create(p);
	send_seqs(q, 0, 3);
	mapq_close(q);
	damage_frame(p, 0);
	q = recover(p, &rep);
	CHECK_EQ(rep.used_checkpoint, 0);
	CHECK_EQ(rep.head, frame);
	CHECK_EQ(rep.frames_skipped, 0);
	CHECK_EQ(rep.messages, 2);
	uint64_t seq[8];
	CHECK_EQ(drain(q, seq, 8), 2);
	CHECK(seq[0] == 1 && seq[1] == 2);
	mapq_close(q);
}

/* A checkpoint's head at a slot that the next lap has since reused: the
 * frame there is a lap ahead, and the log starts at the frame right
 * after it, the oldest of the earlier lap still there. Frames of 256
 * bytes tile the ring, so the laps' frames line up. */
static void later_lap_at_head(void)
{
	enum {
		TILE = 256 - FRAME_HDR,
		N = CAP / 256
	};
	const char *p = t_path("lap");
	mapq_recovery rep;
	mapq *q = create(p);
	mapq_reader *r;
	uint8_t buf[TILE];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (uint64_t s = 0; s < N; s++) {
		t_fill(buf, TILE, 1, s);
		CHECK_OK(mapq_send(q, buf, TILE, 0));
		CHECK_EQ(mapq_recv(r, buf, TILE, 0), TILE);
	}
	mapq_reader_close(r);
	CHECK_OK(mapq_sync(q)); /* head 0, tail one lap on */
	t_fill(buf, TILE, 1, N);
	CHECK_OK(mapq_send(q, buf, TILE, 0)); /* into frame 0's slot */
	mapq_close(q);
	garble_head(p);
	q = recover(p, &rep);
	CHECK_EQ(rep.used_checkpoint, 1);
	CHECK_EQ(rep.head, 256);
	CHECK_EQ(rep.messages, N);
	CHECK_EQ(rep.frames_scanned, N);
	CHECK_STR(rep.end_reason, "end of the log (one full lap)");
	mapq_reader *all;
	CHECK_OK(mapq_reader_open(q, &all, NULL, MAPQ_START_OLDEST));
	for (uint64_t s = 1; s <= N; s++) {
		uint32_t w;
		uint64_t seq;
		CHECK_EQ(mapq_recv(all, buf, TILE, 0), TILE);
		CHECK_OK(t_check_payload(buf, TILE, &w, &seq));
		CHECK_EQ(seq, s);
	}
	mapq_close(q);
}

/* Writers that died in the log, after @before messages: one after
 * taking tail and confirming its record, with nothing in the ring yet (a
 * hole), and one whose frame readers had forsaken (a claim, published by
 * them); then three messages. Seqs 0 to @before + 3, the hole and the
 * claim in between. */
static void dead_writers_file(const char *p, uint64_t before)
{
	mapq *q = create(p);
	mapq_close(q);
	pid_t c = fork();
	if (c == 0) {
		mapq *w;
		void *buf;
		if (mapq_open(&w, p, 0, NULL))
			_exit(2);
		send_seqs(w, 0, before); /* which also gives the handle its writer slot */
		/* the next reservation as writer.c makes it, up to its
		 * confirmation */
		struct fmt_wslot *ws = &w->wslots[w->wslot];
		uint64_t t = atomic_load(&w->ctl->tail);
		atomic_store(&ws->resv_pos, t);
		atomic_store(&ws->resv_size, frame | RESV_TENTATIVE);
		atomic_store(&w->ctl->tail, t + frame);
		atomic_store(&ws->resv_size, frame);
		/* a second handle, a writer slot of its own: claims, half
		 * writes; a third sends the messages after them */
		mapq *v, *u;
		if (mapq_open(&v, p, 0, NULL) || mapq_reserve(v, MSG, &buf, 0) ||
		    mapq_open(&u, p, 0, NULL))
			_exit(3);
		memset(buf, 'X', MSG / 2);
		/* forsaken, as a repairer does it (repair.c): the record
		 * marked, then the frame published claimed and forsaken,
		 * with no header */
		struct fmt_wslot *vs = &v->wslots[v->wslot];
		struct fmt_frame *vf = frame_at(v, v->resv_pos);
		atomic_fetch_or(&vs->resv_size, RESV_FORSAKEN);
		atomic_store(&vf->commit,
			     cw_make(v->resv_size, FRAME_CLAIMED, 0, lap_of(v, v->resv_pos)) |
				     CW_FORSAKEN);
		atomic_store(&vf->pos, v->resv_pos);
		send_seqs(u, before, before + 3);
		t_die(); /* the process dies with all three */
	}
	CHECK_EQ(t_wait_child(c), 128 + SIGKILL);
}

/* Recovery of a dead_writers_file(): the walk fills the hole and aborts
 * the claim, counts each once, walks both as frames, and the log goes on
 * past them to the three messages after. @first: the seq the log starts
 * with; @why: the end reason. */
static void recover_dead_writers(const char *p, uint64_t before, uint64_t first, const char *why)
{
	mapq_recovery rep;
	mapq *q = recover(p, &rep);
	CHECK_EQ(rep.holes_filled, 1);
	CHECK_EQ(rep.claims_aborted, 1);
	CHECK_EQ(rep.writers_freed, 3);
	CHECK_EQ(rep.head, first * frame);
	CHECK_EQ(rep.frames_scanned, before - first + 5);
	CHECK_EQ(rep.messages, before - first + 3);
	CHECK_EQ(rep.tail_after, (before + 5) * frame);
	CHECK_STR(rep.end_reason, why);
	uint64_t seq[8];
	CHECK_EQ(drain(q, seq, 8), (int)(before - first + 3));
	for (uint64_t i = first; i < before + 3; i++)
		CHECK_EQ(seq[i - first], i);
	mapq_close(q);
}

static void dead_writers_in_the_walk(void)
{
	const char *p = t_path("dead");
	dead_writers_file(p, 2);
	recover_dead_writers(p, 2, 0, "end of the log");
}

/* The same, when the control page is garbled (a system crash while it
 * was written) with no checkpoint: the walk starts at 0, and goes on
 * past the hole and the claim although the tail on the page is 0. A
 * repair takes no reservation at or past tail for one: with that tail
 * left on the page during the walk, the log ended at the hole, and the
 * messages after it were lost. */
static void dead_writers_garbled(void)
{
	const char *p = t_path("dead-garbled");
	dead_writers_file(p, 2);
	uint64_t h = frame, t = 0; /* head past tail */
	poke(p, sb.ctl_off + offsetof(struct fmt_ctl, head), &h, sizeof(h));
	poke(p, sb.ctl_off + offsetof(struct fmt_ctl, tail), &t, sizeof(t));
	/* no tail to end at: where the next frame should start */
	recover_dead_writers(p, 2, 0, "no frame published where the next one should start");
}

/* The same, after a power cut that left an old control page (head 0,
 * tail @t) and the first two frames damaged (a writer of the next lap
 * had begun to reuse them): the walk starts at the first intact frame,
 * at or past that tail, and must treat the hole and the claim after it
 * as the log's, not as space past its end. With the start just at the
 * tail, the hole ended the log, and the messages after it were lost. */
static void dead_writers_stale(const char *name, uint64_t t)
{
	const char *p = t_path(name);
	dead_writers_file(p, 3);
	uint64_t h = 0;
	poke(p, sb.ctl_off + offsetof(struct fmt_ctl, head), &h, sizeof(h));
	poke(p, sb.ctl_off + offsetof(struct fmt_ctl, tail), &t, sizeof(t));
	damage_frame(p, 0);
	damage_frame(p, 1);
	recover_dead_writers(p, 3, 2, "no frame published where the next one should start");
}

/* A queue whose head and tail are @n frames below @end: stream positions
 * near the limit of doc/format.md (2^62), which no writer reaches in
 * years but a crafted file names. */
static mapq *create_at(const char *p, uint64_t end, unsigned n)
{
	mapq *q = create(p);
	uint64_t at = end - n * frame;
	atomic_store(&q->ctl->head, at);
	atomic_store(&q->ctl->tail, at);
	return q;
}

/* Positions at or past 2^62 are no frame's: the walk believes no record
 * that names one, and no frame there. */
static void at_position_limit(void)
{
	const uint64_t L = FMT_POS_LIMIT;
	mapq_recovery rep;
	uint64_t seq[8];

	/* A dead writer's confirmed record of a reservation at the limit,
	 * tail moved past it: the log ends at the limit, no hole filled. */
	const char *p = t_path("limit-record");
	mapq *q = create_at(p, L, 2);
	send_seqs(q, 0, 2);
	CHECK_EQ(atomic_load(&q->ctl->tail), L);
	struct fmt_wslot *dead = &q->wslots[(q->wslot + 1) % q->nw];
	atomic_store(&dead->state, WSLOT_ACTIVE);
	atomic_store(&dead->resv_pos, L);
	atomic_store(&dead->resv_size, frame);
	atomic_store(&q->ctl->tail, L + frame);
	mapq_close(q);
	q = recover(p, &rep);
	CHECK_EQ(rep.holes_filled, 0);
	CHECK_EQ(rep.messages, 2);
	CHECK_EQ(rep.tail_after, L);
	CHECK_EQ(drain(q, seq, 8), 2);
	mapq_close(q);

	/* A frame damaged at P, a lap below the limit, whose slot holds what
	 * looks like an intact frame of the next lap, at the limit, two
	 * frames long: its body covers the next frame, which is intact. A
	 * later lap's frame is believed to have overwritten what its body
	 * covers, but not one at the limit: the walk steps on to the intact
	 * frame after P rather than jumping the body. */
	p = t_path("limit-frame");
	const uint64_t P = L - CAP;
	q = create_at(p, P, 2);
	send_seqs(q, 0, 5); /* frames at P - 2f, P - f, P, P + f, P + 2f */
	struct fmt_frame *f = frame_at(q, P);
	f->len = (uint32_t)(2 * frame - FRAME_HDR);
	f->writer = 0;
	f->flags = 0;
	f->crc = mapq__frame_crc(f, L, (const uint8_t *)f + FRAME_HDR, f->len);
	atomic_store(&f->commit, cw_make(2 * frame, FRAME_COMMITTED, 0, lap_of(q, L)));
	atomic_store(&f->pos, L);
	mapq_close(q);
	q = recover(p, &rep);
	CHECK_EQ(rep.frames_skipped, 1);
	CHECK_EQ(rep.messages, 4);
	CHECK_EQ(rep.tail_after, P + 3 * frame);
	CHECK_EQ(drain(q, seq, 8), 4);
	CHECK(seq[0] == 0 && seq[1] == 1 && seq[2] == 3 && seq[3] == 4);
	mapq_close(q);
}

int main(void)
{
	at_position_limit();
	dead_writers_in_the_walk();
	dead_writers_garbled();
	dead_writers_stale("dead-stale", frame);
	dead_writers_stale("dead-stale-2", 2 * frame);
	later_lap_at_head();
	checkpoints();
	end_at_tail();
	scrub_bodies();
	damaged_head();
	return 0;
}
