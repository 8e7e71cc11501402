/* SPDX-License-Identifier: MIT */
/* repair_race: repairs that meet two writers' records for one frame.
 *
 * Two writers that race for the same space write the same tentative record
 * (position and size) before their CAS on tail; only the winner confirms.
 * A loser that dies before its CAS leaves its record for good, and a
 * repairer cannot tell it from the winner's until the winner confirms.
 * The model (model/mapq.pml, ":takeover") found what follows; each case
 * stops the processes at fault points to make it happen every time.
 *
 * mark: a reader forsaking the frame (the winner stalled past the unblock
 * timeout) marks every tentative candidate; the winner confirms between
 * the reader's look at the records and its mark. The reader must not
 * then publish the frame forsaken with the winner's record unmarked: the
 * winner would commit over the forsaken word, its message acknowledged
 * and skipped by the reader. After it, a writer blocked at the forsaken
 * frame must not take the dead loser's marked record for the owner's and
 * abort the frame under the live winner: head would pass it, and the
 * winner's late stores (its claim word, its payload) land in the next
 * lap's frame there.
 *
 * takeover: the same frame, forsaken (the winner confirmed and stalled),
 * and a new writer taking over the dead loser's slot. Finishing the dead
 * owner's reservation (mapq__repair_record()) must not abort a frame that
 * the loser's tentative record names but the live winner owns; with the
 * winner in the first slot or the second.
 *
 * tentatives: the winner stalled before it confirmed, so the reader
 * marked both tentative records; the loser dies. Which of the two is the
 * winner's cannot be told, and the frame is aborted only once both
 * owners are dead (doc/format.md, "Recovery"; the model's rule): the
 * new writer in the loser's slot leaves it to the winner.
 *
 * stale: as tentatives, and a third writer that read tail before the
 * race stores the same tentative record after the marks, and stops
 * before its CAS (which will fail). Its unmarked record is no owner's:
 * once both marked owners are dead, the frame is aborted at once, and
 * head passes it without waiting for that writer to come back.
 *
 * half: a writer takes over a dead writer's slot (whose confirmed
 * record it finishes) and dies between the two stores of its first
 * record, the position and the size. What the slot holds then must be
 * no record: the new position with the dead owner's confirmed size
 * would name the space that a live writer reserves there next. A reader
 * would abort that frame as a dead owner's, and the live writer, its
 * own record unmarked, commit over the aborted word: acknowledged, and
 * never delivered. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

enum {
	CAP = 4096,
	LEN = 96, /* frames of 128 bytes: 32 in the ring */
	NFRAME = CAP / (LEN + FRAME_HDR),
	LATE_ID = 1, /* the winner's message */
	NEW_ID = 2   /* the messages sent while it is stopped */
};

/* A child that opens the queue, arms @spec and sends one message of
 * writer @id, stopped at the spec's first point when this returns. Exit
 * status: 0 sent, 3 -MAPQ_ESTALLED, 1 or 4 another failure. */
static pid_t stopped_writer(const char *path, const char *spec, uint32_t id)
{
	pid_t w = fork();
	CHECK(w >= 0);
	if (w == 0) {
		alarm(30);
		mapq *cq;
		char out[LEN];
		t_fill(out, LEN, id, 0);
		if (mapq_open(&cq, path, 0, NULL) || mapq_fault_arm(spec))
			t_exit(1);
		int rc = t_send_late(cq, out, LEN, 5000);
		t_exit(rc == 0 ? 0 : rc == -MAPQ_ESTALLED ? 3 : 4);
	}
	CHECK(t_wait_stopped(w));
	return w;
}

static mapq_frame_info frame0(mapq *q)
{
	mapq_frame_info fi;
	CHECK_OK(mapq_frame(q, 0, &fi));
	return fi;
}

/* SIGKILL a child (stopped or not) and reap it. */
static void kill_child(pid_t p)
{
	CHECK_EQ(kill(p, SIGKILL), 0);
	CHECK_EQ(t_wait_child(p), 128 + SIGKILL);
}

/* The message in @in is writer @id's number @seq, intact. */
static void check_msg(const char *in, uint32_t id, uint64_t seq)
{
	uint32_t got_id;
	uint64_t got_seq;
	CHECK(t_check_payload(in, LEN, &got_id, &got_seq) == 0 && got_id == id && got_seq == seq);
}

/* A case's end: its reader, the reader's handle, the queue. */
static void close_all(mapq_reader *r, mapq *qr, mapq *q)
{
	mapq_reader_close(r);
	mapq_close(qr);
	mapq_close(q);
}

/* Wait (bounded) until the frame at 0 is published forsaken. */
static void wait_forsaken(mapq *q)
{
	uint64_t t0 = t_now_ms();
	mapq_frame_info fi = frame0(q);
	while (!(fi.kind == MAPQ_FRAME_CLAIMED && fi.forsaken) && t_now_ms() - t0 < 3000) {
		usleep(1000);
		fi = frame0(q);
	}
	CHECK_EQ(fi.kind, MAPQ_FRAME_CLAIMED);
	CHECK(fi.forsaken);
}

/* A handle whose readers and writers give up on a stalled writer after
 * 20 ms (its unblock timeout). */
static mapq *open_impatient(const char *path)
{
	mapq *h;
	mapq_options o;
	mapq_options_init(&o);
	o.unblock_ms = 20;
	CHECK_OK(mapq_open(&h, path, 0, &o));
	return h;
}

/* A reader at the oldest frame, on its own handle *qr, that waits past
 * its unblock timeout at the stopped writer's frame 0 and forsakes it. */
static mapq_reader *forsaking_reader(mapq *q, const char *path, mapq **qr)
{
	*qr = open_impatient(path);
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(*qr, &r, NULL, MAPQ_START_OLDEST));
	char in[LEN + 1];
	CHECK_RC(mapq_recv(r, in, sizeof(in), 200), -ETIMEDOUT);
	wait_forsaken(q);
	return r;
}

/* With the winner stopped on its forsaken frame at 0 and the loser dead:
 * a new writer (its own handle, taking the first free slot: the loser's)
 * sends until the ring is full. The frame must stay the winner's until
 * it finishes it itself; then every message of the new writer arrives
 * intact, and so does the winner's if its send said it was sent. */
static void lap_and_resume(const char *name, mapq *q, mapq_reader *r, pid_t w)
{
	mapq *q2 = open_impatient(t_path(name));
	char out[LEN], in[LEN + 1];
	uint64_t sent = 0;
	/* one lap at most: frame 0 can only be passed if something wrongly
	 * finished it */
	for (int i = 0; i < NFRAME + 2; i++) {
		t_fill(out, LEN, NEW_ID, sent);
		int rc = mapq_send(q2, out, LEN, 50);
		if (rc == -ETIMEDOUT || rc == -EAGAIN)
			break;
		CHECK_OK(rc);
		sent++;
		mapq_frame_info fi = frame0(q);
		if (fi.kind != MAPQ_FRAME_CLAIMED) {
			fprintf(stderr,
				"%s: after the new writer's message %llu the stopped writer's frame "
				"at 0 is %s, no longer its forsaken claim\n",
				name, (unsigned long long)sent - 1,
				fi.kind == MAPQ_FRAME_ABORTED ? "aborted" : "something else");
			CHECK(!"a live writer's frame is finished by its owner alone");
		}
		/* the reader keeps up, so only frame 0 can hold head back */
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 1000), LEN);
		check_msg(in, NEW_ID, sent - 1);
	}
	CHECK_EQ(sent, NFRAME - 1); /* every frame but the stopped one's */

	/* The winner goes on: it finds its record forsaken and aborts its
	 * frame (-MAPQ_ESTALLED), which lets the new writer on. */
	CHECK_EQ(kill(w, SIGCONT), 0);
	CHECK_EQ(t_wait_child(w), 3);
	t_fill(out, LEN, NEW_ID, sent);
	CHECK_OK(mapq_send(q2, out, LEN, 2000));
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 1000), LEN);
	check_msg(in, NEW_ID, sent);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -EAGAIN);
	mapq_close(q2);
}

/* The reader that forsakes the frame, in a child: it stops at its first
 * mark (the loser's record), then reads until it finds nothing 20 times
 * running (50 ms each) and reports how many of the winner's messages it
 * got (one byte). */
static pid_t marking_reader(const char *path, int *fd)
{
	pid_t r = t_fork_reporting(30, fd);
	CHECK(r >= 0);
	if (r == 0) {
		mapq *cq;
		mapq_reader *cr;
		mapq_options o;
		mapq_options_init(&o);
		o.unblock_ms = 20;
		if (mapq_open(&cq, path, 0, &o) ||
		    mapq_reader_open(cq, &cr, NULL, MAPQ_START_OLDEST) ||
		    mapq_fault_arm("repair.before_mark:1:stop"))
			t_exit(1);
		unsigned char late = 0;
		char in[LEN + 1];
		for (int empty = 0; empty < 20;) {
			ssize_t n = mapq_recv(cr, in, sizeof(in), 50);
			uint32_t id;
			uint64_t seq;
			if (n == -ETIMEDOUT) {
				empty++;
				continue;
			}
			if (n != LEN || t_check_payload(in, LEN, &id, &seq) != 0)
				t_exit(2);
			late += id == LATE_ID;
		}
		t_report(*fd, &late, 1);
	}
	return r;
}

static void mark(void)
{
	const char *path = t_path("mark");
	mapq *q = t_create("mark", CAP, MAPQ_BLOCK);
	/* The loser (slot 0): its record written, stopped before its CAS.
	 * The winner (slot 1): its CAS made, stopped before it confirms. */
	pid_t l = stopped_writer(path, "reserve.before_cas:1:stop", 3);
	pid_t w = stopped_writer(path, "reserve.after_cas:1:stop,reserve.after_confirm:1:stop",
				 LATE_ID);
	CHECK_EQ(atomic_load(&q->ctl->tail), LEN + FRAME_HDR);
	/* The reader waits past its unblock timeout at the frame, sees two
	 * tentative records, and stops before its first mark. */
	int fd;
	pid_t r = marking_reader(path, &fd);
	CHECK(t_wait_stopped(r));
	/* The winner confirms, and stops again before its claim. */
	CHECK_EQ(kill(w, SIGCONT), 0);
	CHECK(t_wait_stopped(w));
	/* The reader marks, publishes the frame forsaken, reads on. */
	CHECK_EQ(kill(r, SIGCONT), 0);
	wait_forsaken(q);
	mapq_frame_info fi = frame0(q);
	CHECK_EQ(fi.kind, MAPQ_FRAME_CLAIMED);

	/* Did the reader mark the winner's record? If not, the winner's
	 * commit lands over the forsaken word: its message acknowledged,
	 * and the reader gone past it. */
	bool marked = (atomic_load(&q->wslots[1].resv_size) & RESV_FORSAKEN) != 0;
	/* The loser dies: its record stays, tentative and marked. */
	kill_child(l);

	mapq_reader *rd;
	CHECK_OK(mapq_reader_open(q, &rd, NULL, MAPQ_START_LATEST));
	if (marked) {
		lap_and_resume("mark", q, rd, w);
	} else {
		/* the winner goes on and commits */
		CHECK_EQ(kill(w, SIGCONT), 0);
		CHECK_EQ(t_wait_child(w), 0);
	}
	unsigned char late = 0;
	ssize_t got = read(fd, &late, 1);
	CHECK_EQ(t_wait_child(r), 0);
	CHECK_EQ(got, 1);
	if (!marked) {
		fprintf(stderr,
			"mark: the reader forsook the frame without marking the winner's "
			"record (it confirmed meanwhile); the winner then committed over it, its "
			"message acknowledged, and the reader got %u of it\n",
			late);
		CHECK(!"the winner's record is marked before its frame is forsaken");
	}
	CHECK_EQ(late, 0); /* its send said -MAPQ_ESTALLED */
	close(fd);
	printf("%-10s the winner that confirmed during the mark was marked, its frame "
	       "kept until it aborted it\n",
	       "mark");
	mapq_reader_close(rd);
	mapq_close(q);
}

/* @winner_first: the winner takes slot 0 (it attaches, and stops before
 * its record until the loser has written its own), else the loser does. */
static void takeover(const char *name, bool winner_first)
{
	const char *path = t_path(name);
	mapq *q = t_create(name, CAP, MAPQ_BLOCK);
	pid_t l, w;
	if (winner_first) {
		w = stopped_writer(
			path, "reserve.before_record:1:stop,reserve.after_confirm:1:stop", LATE_ID);
		l = stopped_writer(path, "reserve.before_cas:1:stop", 3);
		CHECK_EQ(kill(w, SIGCONT), 0);
		CHECK(t_wait_stopped(w));
	} else {
		l = stopped_writer(path, "reserve.before_cas:1:stop", 3);
		w = stopped_writer(path, "reserve.after_confirm:1:stop", LATE_ID);
	}
	CHECK_EQ(atomic_load(&q->wslots[winner_first ? 0 : 1].resv_size), LEN + FRAME_HDR);
	kill_child(l);
	/* A reader gives up on the stopped winner: its frame forsaken. */
	mapq *qr;
	mapq_reader *r = forsaking_reader(q, path, &qr);
	CHECK(atomic_load(&q->wslots[winner_first ? 0 : 1].resv_size) & RESV_FORSAKEN);
	/* A new writer takes the dead loser's slot, and must leave the
	 * winner's frame to the winner. */
	lap_and_resume(name, q, r, w);
	printf("%-10s the dead loser's successor (slot %d) left the live winner's frame alone\n",
	       name, winner_first ? 1 : 0);
	close_all(r, qr, q);
}

static void tentatives(void)
{
	const char *path = t_path("tentatives");
	mapq *q = t_create("tentatives", CAP, MAPQ_BLOCK);
	pid_t l = stopped_writer(path, "reserve.before_cas:1:stop", 3);
	pid_t w = stopped_writer(path, "reserve.after_cas:1:stop", LATE_ID);
	mapq *qr;
	mapq_reader *r = forsaking_reader(q, path, &qr);
	CHECK(atomic_load(&q->wslots[0].resv_size) & RESV_FORSAKEN);
	CHECK(atomic_load(&q->wslots[1].resv_size) & RESV_FORSAKEN);
	kill_child(l);
	lap_and_resume("tentatives", q, r, w);
	printf("%-10s with two tentative owners, the frame waited for the live one\n",
	       "tentatives");
	close_all(r, qr, q);
}

static void stale(void)
{
	const char *path = t_path("stale");
	mapq *q = t_create("stale", CAP, MAPQ_BLOCK);
	/* The late one (slot 0) reads tail (0) and stops before its record. */
	pid_t x = stopped_writer(path, "reserve.before_record:1:stop,reserve.before_cas:1:stop",
				 LATE_ID);
	pid_t l = stopped_writer(path, "reserve.before_cas:1:stop", 3);
	pid_t w = stopped_writer(path, "reserve.after_cas:1:stop", 4);
	mapq *qr;
	mapq_reader *r = forsaking_reader(q, path, &qr);
	CHECK(atomic_load(&q->wslots[1].resv_size) & RESV_FORSAKEN);
	CHECK(atomic_load(&q->wslots[2].resv_size) & RESV_FORSAKEN);
	/* The late one writes its record for 0, unmarked, and stops again
	 * (the reader has gone past the forsaken frame). */
	CHECK_EQ(kill(x, SIGCONT), 0);
	CHECK(t_wait_stopped(x));
	uint64_t rec = atomic_load(&q->wslots[0].resv_size);
	CHECK_EQ(atomic_load(&q->wslots[0].resv_pos), 0);
	CHECK_EQ(rec, (uint64_t)(LEN + FRAME_HDR) | RESV_TENTATIVE);
	kill_child(l);
	kill_child(w);

	/* Both owners dead, the frame is aborted: no reader or writer
	 * waits for the stopped late writer. The new writer (this handle)
	 * sends more than a lap, so head must pass the frame. */
	char out[LEN], in[LEN + 1];
	for (uint64_t i = 0; i < NFRAME + 2; i++) {
		t_fill(out, LEN, NEW_ID, i);
		int rc = mapq_send(q, out, LEN, 1000);
		if (rc != 0) {
			fprintf(stderr,
				"stale: message %llu of the new writer: %s; the dead owners' frame "
				"at 0 is %s\n",
				(unsigned long long)i, mapq_strerror(rc),
				frame0(q).kind == MAPQ_FRAME_ABORTED ? "aborted" : "not aborted");
			CHECK(!"a record no repairer marked is not a forsaken frame's owner");
		}
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 1000), LEN);
		check_msg(in, NEW_ID, i);
	}
	/* The late one's CAS fails; it reserves anew and sends. */
	CHECK_EQ(kill(x, SIGCONT), 0);
	CHECK_EQ(t_wait_child(x), 0);
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 1000), LEN);
	check_msg(in, LATE_ID, 0);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -EAGAIN);
	printf("%-10s a stopped late writer's unmarked record for it held nobody up\n", "stale");
	close_all(r, qr, q);
}

static void half(void)
{
	const char *path = t_path("half");
	mapq *q = t_create("half", CAP, MAPQ_BLOCK);
	/* The dead owner (slot 0): its frame at 0 confirmed, never
	 * committed. This handle (slot 1) sends the frame at 128. */
	pid_t a = stopped_writer(path, "commit.before_crc:1:stop", 3);
	char out[LEN], in[LEN + 1];
	t_fill(out, LEN, NEW_ID, 0);
	CHECK_OK(mapq_send(q, out, LEN, 0));
	kill_child(a);
	/* Its successor in slot 0 aborts the frame at 0, and dies with only
	 * the position of its own record stored (256). */
	pid_t b = stopped_writer(path, "reserve.after_pos:1:stop", 4);
	CHECK_EQ(atomic_load(&q->wslots[0].resv_pos), 2 * (LEN + FRAME_HDR));
	CHECK_EQ(frame0(q).kind, MAPQ_FRAME_ABORTED);
	kill_child(b);

	/* This handle reserves the frame at 256 and holds it, while a
	 * reader reads what is before it and waits at it: a reader that
	 * never forsakes a live writer's frame, only repairs a dead one's. */
	void *p;
	CHECK_OK(mapq_reserve(q, LEN, &p, 0));
	mapq *qr;
	mapq_options o;
	mapq_options_init(&o);
	o.unblock_ms = -1;
	CHECK_OK(mapq_open(&qr, path, 0, &o));
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(qr, &r, NULL, MAPQ_START_OLDEST));
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), LEN);
	check_msg(in, NEW_ID, 0);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 100), -ETIMEDOUT);
	t_fill(p, LEN, NEW_ID, 1);
	int rc = mapq_commit(q, LEN);
	ssize_t n = mapq_recv(r, in, sizeof(in), 1000);
	if (rc != 0 || n != LEN) {
		fprintf(stderr, "half: the live writer's commit: %s; the reader then: %s\n",
			mapq_strerror(rc), n < 0 ? mapq_strerror((int)n) : "a message");
		CHECK(!"a dead writer's half-written record names no reservation");
	}
	check_msg(in, NEW_ID, 1);
	printf("%-10s a successor that died halfway through its record left none\n", "half");
	close_all(r, qr, q);
}

static void stray(void)
{
	const char *path = t_path("stray");
	mapq *q = t_create("stray", CAP, MAPQ_BLOCK);
	pid_t w = stopped_writer(path, "commit.before_crc:1:stop", LATE_ID);
	mapq_frame_info fi = frame0(q);
	CHECK(fi.kind != MAPQ_FRAME_CLAIMED); /* the hint alone publishes nothing */
	atomic_store(&frame_at(q, 0)->pos, 0);
	CHECK_EQ(frame0(q).kind, MAPQ_FRAME_CLAIMED);
	mapq *qr;
	mapq_reader *r = forsaking_reader(q, path, &qr);
	CHECK_EQ(kill(w, SIGCONT), 0);
	int st = t_wait_child(w);
	if (st == 0) {
		char in[LEN + 1];
		fprintf(stderr,
			"stray: the writer's send said sent, after a reader forsook its "
			"frame; the reader then got %s\n",
			mapq_recv(r, in, sizeof(in), 500) == LEN ? "it" : "nothing");
		CHECK(!"a live owner's record is marked before its published claim is forsaken");
	}
	CHECK_EQ(st, 3);                                  /* -MAPQ_ESTALLED */
	CHECK(atomic_load(&q->wslots[0].resv_size) == 0); /* it aborted its frame, and left */
	CHECK_EQ(frame0(q).kind, MAPQ_FRAME_ABORTED);
	printf("%-10s a claim published by a stray pos was forsaken on the live writer's "
	       "record\n",
	       "stray");
	close_all(r, qr, q);
}

int main(void)
{
	if (!mapq_fault_enabled())
		t_skip("fault points are not built in (--enable-fault-injection)");
	mark();
	takeover("takeover", false);
	takeover("takeover-2", true);
	tentatives();
	stale();
	half();
	stray();
	return 0;
}
