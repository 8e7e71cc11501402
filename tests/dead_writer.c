/* SPDX-License-Identifier: MIT */
/* dead_writer: a writer dies at each step of a write, while a reader in
 * another process is blocked behind its frame. Nobody attaches to the
 * dead writer's slot: the blocked reader itself must notice the death
 * (its slot lock is free), repair the frame and go on to the next
 * message, within the recovery bound, without ever delivering a byte the
 * dead writer wrote. A writer that is alive but stopped (SIGSTOP) must
 * not be mistaken for a dead one: readers skip its frame only after the
 * unblock timeout, and its commit then fails with MAPQ_ESTALLED.
 *
 * The partial writes are made with the library's internals, step by step
 * as writer.c makes them, so this test needs no fault-injection build.
 * Every case runs twice: with a reader that blocks in mapq_recv, and with
 * one that polls (timeout 0 in a loop), which reads tail only now and
 * then (reader.c) and must still start its stall clock on a reservation
 * that was never claimed. Prints the death-to-delivery time of each case. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

enum how {
	CLAIMED,         /* claim written, payload half written, no commit */
	CONFIRMED,       /* tail taken, record confirmed, nothing in the ring */
	TENTATIVE,       /* tail taken, record still tentative */
	PAD_HALF,        /* padding word written but not its pos; no claim */
	POS_UNPUBLISHED, /* claim word written, pos not yet */
	LOSER,           /* tentative record, died before its CAS on tail */
	HALF_RECORD,     /* record half updated: new resv_pos, resv_size not */
	STALLED,         /* alive but stopped with a claimed frame */
	CONFIRMED_MAX,   /* as CONFIRMED, for the largest message: half the ring */
	BATCH_PART,      /* a batch of BATCH_N: the first two published, no more */
	BATCH_WORD,      /* a batch: all but the last published; its word, not its pos */
	NCASES
};
static const char *const names[] = { "claimed",         "confirmed",  "tentative",   "pad_half",
				     "pos_unpublished", "loser",      "half_record", "stalled",
				     "confirmed_max",   "batch_part", "batch_word" };

#define DEAD_ID 1
#define MARK_ID 9
#define PREFIX 5 /* messages before the partial write */
#define UNBLOCK_MS 100
#define BATCH_N 4 /* frames in a batch (mapq_send_batch) */
#define BATCH_LEN 40

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		t_exit(20);
}

static void get(int fd, void *p, size_t n)
{
	if (read(fd, p, n) != (ssize_t)n)
		t_exit(21);
}

static int read_all(mapq_reader *r, int report);
static bool polling;   /* the reader polls instead of blocking */
static mapq *reader_q; /* the reader's queue handle */

static uint64_t repaired(void)
{
	mapq_counters st;
	return mapq_stats(reader_q, &st) == 0 ? st.repaired : 0;
}

/* The reader: every message in order, then the marker; reports when. */
static int reader(const char *path, int ready, int report)
{
	mapq *q;
	mapq_reader *r;
	mapq_options o;
	mapq_options_init(&o);
	o.unblock_ms = UNBLOCK_MS;
	if (mapq_open(&q, path, 0, &o) || mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST))
		return 2;
	reader_q = q;
	put(ready, "r", 1);
	int rc = read_all(r, report);
	mapq_close(q); /* for Valgrind's leak check */
	return rc;
}

static int read_all(mapq_reader *r, int report)
{
	uint64_t next = 0;
	for (;;) {
		char in[600];
		uint32_t w;
		uint64_t s;
		ssize_t n;
		if (polling) {
			/* The marker is committed before the writer dies: the
			 * read that finishes the dead writer's frame goes on to
			 * it, rather than say -EAGAIN and leave it to the next. */
			uint64_t t0 = now_ns();
			for (;;) {
				uint64_t before = repaired();
				n = mapq_recv(r, in, sizeof(in), 0);
				if (n != -EAGAIN || now_ns() - t0 >= 5000000000ull)
					break;
				if (repaired() > before) {
					fprintf(stderr, "reader: the read that finished the dead "
							"writer's frame said EAGAIN\n");
					return 7;
				}
			}
		} else {
			n = mapq_recv(r, in, sizeof(in), 5000);
		}
		if (n < 0) {
			fprintf(stderr, "reader: %s after %llu\n", mapq_strerror((int)n),
				(unsigned long long)next);
			return 3;
		}
		if (t_check_payload(in, (size_t)n, &w, &s)) {
			fprintf(stderr, "reader: torn or foreign payload of %zd bytes\n", n);
			return 4;
		}
		if (w == MARK_ID) {
			uint64_t t[2] = { now_ns(), next };
			put(report, t, sizeof(t));
			return 0;
		}
		if (w != DEAD_ID || s != next) {
			fprintf(stderr, "reader: writer %u seq %llu, want %d/%llu\n", w,
				(unsigned long long)s, DEAD_ID, (unsigned long long)next);
			return 6;
		}
		next++;
	}
}

/* The writer that dies: PREFIX good messages, then a partial write. */
static int victim(const char *path, enum how how, int ready, int cmd)
{
	mapq *q;
	char out[600];
	void *p;
	if (mapq_open(&q, path, 0, NULL))
		return 2;
	bool batch = how == BATCH_PART || how == BATCH_WORD;
	uint64_t size = frame_size(how == CONFIRMED_MAX ? q->max_msg : 100), s = 0;
	if (batch)
		size = BATCH_N * frame_size(BATCH_LEN);
	for (;; s++) {
		size_t len = 40;
		uint64_t left = q->cap - (atomic_load(&q->ctl->tail) & q->mask);
		if (s >= PREFIX && (how != PAD_HALF || left == 48))
			break;
		/* For PAD_HALF, leave 48 bytes before the ring's end: ours pads. */
		if (how == PAD_HALF && left < 600 && left >= 48 + FRAME_HDR + 20)
			len = left - 48 - FRAME_HDR > 500 ? 500 : left - 48 - FRAME_HDR;
		t_fill(out, len, DEAD_ID, s);
		if (mapq_send(q, out, len, 5000))
			return 3;
	}
	if (how == CLAIMED || how == STALLED) {
		if (mapq_reserve(q, 100, &p, 0))
			return 4;
		memset(p, 'X', 50);
		put(ready, &s, sizeof(s));
		if (how == STALLED) {
			raise(SIGSTOP);
			memset(p, 'X', 100);
			/* the commit fails, and counts the message aborted */
			int rc = mapq_commit(q, 100);
			uint64_t aborted = atomic_load(&q->wslots[q->wslot].aborted);
			mapq_close(q);
			return rc == -MAPQ_ESTALLED && aborted == 1 ? 0 : 7;
		}
		char c;
		get(cmd, &c, 1);
		t_die();
	}
	/* Reserve as writer.c does, and stop at the step under test. */
	struct fmt_wslot *ws = &q->wslots[q->wslot];
	uint64_t t = atomic_load(&q->ctl->tail), off = t & q->mask;
	uint64_t pad = off + size > q->cap ? q->cap - off : 0;
	if ((how == PAD_HALF) != (pad != 0))
		return 5;
	/* The space check try_reserve makes; the reader may lag a little. */
	for (int tries = 0; t + pad + size > q->cap; tries++) {
		int r = mapq__advance_head(q, t + pad + size - q->cap, true);
		if (r == 0)
			break;
		if (tries > 5000)
			return 6;
		usleep(1000);
	}
	atomic_store(&ws->resv_pos, t);
	if (how != HALF_RECORD)
		atomic_store(&ws->resv_size, (pad + size) | RESV_TENTATIVE);
	if (how != LOSER && how != HALF_RECORD) {
		atomic_store(&q->ctl->tail, t + pad + size);
		if (how != TENTATIVE)
			atomic_store(&ws->resv_size, pad + size);
		if (how == PAD_HALF)
			atomic_store(commit_at(q, t),
				     cw_make(pad, FRAME_COMMITTED, 1, lap_of(q, t)));
		if (how == POS_UNPUBLISHED) {
			frame_at(q, t)->writer = (uint16_t)q->wslot;
			atomic_store(commit_at(q, t),
				     cw_make(size, FRAME_CLAIMED, 0, lap_of(q, t)));
		}
		if (batch) {
			/* As mapq_send_batch(): published early, so the record
			 * is publishing from its confirmation; then frame by
			 * frame, the payload, header and word, then pos. */
			atomic_store(&ws->resv_size, size | RESV_PUBLISHING);
			unsigned n = how == BATCH_PART ? 2 : BATCH_N;
			uint64_t fs = frame_size(BATCH_LEN);
			for (unsigned i = 0; i < n; i++, s++) {
				uint64_t c = t + i * fs;
				struct fmt_frame *f = frame_at(q, c);
				uint8_t *buf = (uint8_t *)f + FRAME_HDR;
				t_fill(buf, BATCH_LEN, DEAD_ID, s);
				f->len = BATCH_LEN;
				f->crc = mapq__frame_crc_new(c, BATCH_LEN, (uint16_t)q->wslot, buf);
				f->writer = (uint16_t)q->wslot;
				f->flags = 0;
				atomic_store(commit_at(q, c),
					     cw_make(fs, FRAME_COMMITTED, 0, lap_of(q, c)));
				/* the last one's pos never lands: but a repairer
				 * finds its own word there, and helps it in */
				if (i + 1 < BATCH_N)
					atomic_store(&f->pos, c);
			}
		}
	}
	put(ready, &s, sizeof(s));
	char c;
	get(cmd, &c, 1);
	t_die();
}

static void one_case(enum how how)
{
	char path[64];
	snprintf(path, sizeof(path), "q-%s%s", names[how], polling ? "-poll" : "");
	mapq *q = t_create(path, 4096, MAPQ_BLOCK);
	const char *p = t_path(path);
	int ready[2], report[2], cmd[2];
	CHECK(pipe(ready) == 0 && pipe(report) == 0 && pipe(cmd) == 0);
	char c;

	pid_t rp = fork();
	if (rp == 0)
		t_exit(reader(p, ready[1], report[1]));
	/* Only the children keep the write ends: a child that fails gives
	 * us EOF, not a read that waits for ever. */
	close(report[1]);
	CHECK(read(ready[0], &c, 1) == 1);
	pid_t wp = fork();
	if (wp == 0)
		t_exit(victim(p, how, ready[1], cmd[0]));
	close(ready[1]);
	close(cmd[0]);
	uint64_t sent, got[2];
	CHECK(read(ready[0], &sent, sizeof(sent)) == sizeof(sent));

	/* The marker goes after the victim's frame in the ring. */
	char out[100];
	t_fill(out, 60, MARK_ID, 0);
	CHECK_OK(mapq_send(q, out, 60, 1000));
	uint64_t death;
	if (how == STALLED) {
		death = now_ns(); /* from now on the reader waits on a stopped writer */
	} else {
		CHECK(write(cmd[1], "d", 1) == 1);
		CHECK_EQ(t_wait_child(wp), 128 + SIGKILL);
		death = now_ns();
	}
	CHECK(read(report[0], got, sizeof(got)) == sizeof(got));
	CHECK_EQ(t_wait_child(rp), 0);
	CHECK_EQ(got[1], sent); /* every message before the dead one */
	double ms = got[0] > death ? (double)(got[0] - death) / 1e6 : 0;
	printf("%-16s %s reader: death (or stop) to next delivery: %.2f ms\n", names[how],
	       polling ? "polling " : "blocking", ms);
	if (how == STALLED) {
		/* Not before the unblock timeout, and not long after it. */
		CHECK(ms >= UNBLOCK_MS * 0.9);
		CHECK(ms < UNBLOCK_MS + 2000);
		CHECK(kill(wp, SIGCONT) == 0);
		CHECK_EQ(t_wait_child(wp), 0); /* its commit said MAPQ_ESTALLED */
	} else {
		/* Far below the timeout: the death is decided from the lock. The
		 * bound is loose for shared CI machines; the figure is printed. */
		CHECK(ms < UNBLOCK_MS * 0.9 || how == LOSER || how == HALF_RECORD);
		CHECK(ms < 1000);
	}
	/* Someone finished the frame for its writer, and it was counted. */
	mapq_counters stats;
	CHECK_OK(mapq_stats(q, &stats));
	CHECK_EQ(stats.repaired, how == LOSER || how == HALF_RECORD || how == BATCH_WORD ? 0 : 1);
	/* The ring still works across the repaired frame: several laps. */
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	for (uint64_t s = 0; s < 200; s++) {
		char in[200];
		uint32_t w;
		uint64_t seq;
		t_fill(out, 90, MARK_ID, s);
		CHECK_OK(mapq_send(q, out, 90, 1000));
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 1000), 90);
		CHECK_OK(t_check_payload(in, 90, &w, &seq));
		CHECK_EQ(seq, s);
	}
	mapq_reader_close(r);
	close(ready[0]);
	close(report[0]);
	close(cmd[1]);
}

/* The library's own writer (not the steps above) killed at @spec, in
 * mapq_send() (@n 1) or part way through a mapq_send_batch() of @n: the
 * reader gets the @published messages before the death, in order, then
 * the next writer's, far below the unblock timeout: the dead writer's
 * record says where its hole is. (Needs fault injection.) */
static void killed_at(const char *spec, unsigned n, unsigned published)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 4096;
	o.unblock_ms = 2000;
	char name[64], out[BATCH_N][BATCH_LEN], in[200];
	mapq_msg m[BATCH_N];
	static unsigned cases;
	snprintf(name, sizeof(name), "q-killed-%u", cases++);
	mapq *q;
	mapq_reader *r;
	CHECK(n >= 1 && n <= BATCH_N);
	CHECK_OK(mapq_open(&q, t_path(name), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		mapq *cq;
		for (unsigned i = 0; i < n; i++) {
			t_fill(out[i], BATCH_LEN, DEAD_ID, i);
			m[i] = (mapq_msg){ .data = out[i], .len = BATCH_LEN };
		}
		if (mapq_open(&cq, t_path(name), 0, &o) || mapq_fault_arm(spec))
			t_exit(1);
		int rc = n == 1 ? mapq_send(cq, out[0], BATCH_LEN, 0)
				: mapq_send_batch(cq, m, n, 0);
		t_exit(rc == (n == 1 ? 0 : (int)n) ? 2 : 3); /* not reached: the point kills us */
	}
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
	t_fill(out[0], BATCH_LEN, MARK_ID, 0);
	CHECK_OK(mapq_send(q, out[0], BATCH_LEN, 0));
	uint64_t t0 = now_ns();
	uint32_t w;
	uint64_t seq;
	for (unsigned i = 0; i < published; i++) {
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 5000), BATCH_LEN);
		CHECK(t_check_payload(in, BATCH_LEN, &w, &seq) == 0 && w == DEAD_ID && seq == i);
	}
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 5000), BATCH_LEN);
	CHECK(t_check_payload(in, BATCH_LEN, &w, &seq) == 0 && w == MARK_ID);
	double ms = (double)(now_ns() - t0) / 1e6;
	printf("%-28s %s hole to next delivery: %.2f ms\n", spec,
	       n == 1 ? "killed writer's" : "killed batch's", ms);
	CHECK(ms < 1000); /* the unblock timeout is 2000 */
	mapq_close(q);
}

/* A writer stalled between its reservation and its claim for longer
 * than the unblock timeout, while a reader waits on its space.
 *
 * Published late (mapq_reserve() and mapq_commit()): the reader forsakes
 * the space, the writer's claim then fails, and its commit says
 * -MAPQ_ESTALLED, counts the message aborted and leaves no reservation
 * recorded. The reader goes on to the next message.
 *
 * Published early (a small mapq_send(): format.md, "Publish early"): its
 * record was publishing from its confirmation on, so nobody forsakes it;
 * the reader waits out the stall and gets the message, which the send
 * acknowledges. @len: the stalled message's; through mapq_send() unless
 * @reserve. (Fault injection.) */
static void stalled_after_confirm(size_t len, bool reserve)
{
	bool early = !reserve && len <= MAPQ__PUBLISH_EARLY_MAX;
	mapq_options o;
	mapq_options_init(&o);
	/* a power of two with room for the smallest message published
	 * late, at most half the ring (and at least 4 KiB) */
	o.capacity = 4 * MAPQ__PUBLISH_EARLY_MAX;
	o.unblock_ms = 50;
	mapq *q;
	int ready[2];
	char out[MAPQ__PUBLISH_EARLY_MAX + 1];
	CHECK(len <= sizeof(out));
	CHECK_OK(mapq_open(&q, t_path("q-stalled-claim"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_EQ(pipe(ready), 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		close(ready[0]);
		mapq *cq;
		mapq_reader *r;
		char in[MAPQ__PUBLISH_EARLY_MAX + 1];
		uint32_t w;
		uint64_t s;
		if (mapq_open(&cq, t_path("q-stalled-claim"), 0, &o) ||
		    mapq_reader_open(cq, &r, NULL, MAPQ_START_LATEST) ||
		    write(ready[1], "r", 1) != 1)
			t_exit(1);
		ssize_t n = mapq_recv(r, in, sizeof(in), 10000);
		size_t want = early ? len : 60;
		t_exit(n != (ssize_t)want || t_check_payload(in, want, &w, &s) ||
				       w != (early ? DEAD_ID : MARK_ID)
			       ? 2
			       : 0);
	}
	close(ready[1]);
	char c;
	CHECK_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	CHECK_OK(mapq_fault_arm("reserve.after_confirm:1:stall=500"));
	t_fill(out, len, DEAD_ID, 0);
	uint64_t at = atomic_load(&q->ctl->tail);
	int rc = reserve ? t_send_late(q, out, len, 0) : mapq_send(q, out, len, 0);
	mapq_fault_disarm();
	mapq_frame_info fi;
	mapq_slot_info si;
	CHECK_OK(mapq_frame(q, at, &fi));
	CHECK_OK(mapq_writer_slot(q, 0, &si));
	CHECK_EQ(si.resv_size, 0);
	if (early) {
		CHECK_OK(rc);
		CHECK_EQ(fi.kind, MAPQ_FRAME_COMMITTED);
		CHECK_EQ(si.aborted, 0);
	} else {
		CHECK_RC(rc, -MAPQ_ESTALLED);
		/* The forsaken writer finished its own frame before saying so:
		 * it is aborted now, not left claimed for the next repairer. */
		CHECK_EQ(fi.kind, MAPQ_FRAME_ABORTED);
		CHECK_EQ(si.aborted, 1);
		t_fill(out, 60, MARK_ID, 0);
		CHECK_OK(mapq_send(q, out, 60, 0));
	}
	CHECK_EQ(t_wait_child(pid), 0);
	mapq_close(q);
	CHECK_EQ(unlink(t_path("q-stalled-claim")), 0);
}

/* A writer whose frame a reader forsook (published claimed and forsaken)
 * dies before it can abort the frame itself. The writer that takes its
 * slot next finishes that business first: the frame is aborted when its
 * first send returns, not left for whoever meets it later. */
static void successor_aborts_forsaken(void)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 4096;
	o.writer_slots = 2;
	mapq *q, *w2;
	CHECK_OK(mapq_open(&q, t_path("q-successor"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_send(q, "first", 5, 0)); /* slot 0 is ours */
	int ready[2], cmd[2];
	CHECK(pipe(ready) == 0 && pipe(cmd) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		close(ready[0]);
		close(cmd[1]);
		mapq *cq;
		void *p;
		uint64_t at;
		if (mapq_open(&cq, t_path("q-successor"), 0, NULL) || mapq_reserve(cq, 40, &p, 0))
			t_exit(1);
		at = cq->resv_pos;
		put(ready[1], &at, sizeof(at));
		char c;
		get(cmd[0], &c, 1);
		t_die(); /* never commits */
	}
	close(ready[1]);
	close(cmd[0]);
	uint64_t at;
	get(ready[0], &at, sizeof(at));
	/* forsaken, as a repairer does it (repair.c): its record (slot 1)
	 * marked, then the frame published claimed and forsaken */
	atomic_fetch_or(&q->wslots[1].resv_size, RESV_FORSAKEN);
	atomic_store(commit_at(q, at),
		     cw_make(frame_size(40), FRAME_CLAIMED, 0, lap_of(q, at)) | CW_FORSAKEN);
	atomic_store(&frame_at(q, at)->pos, at);
	CHECK_EQ(write(cmd[1], "d", 1), 1);
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
	close(ready[0]);
	close(cmd[1]);
	mapq_frame_info f;
	CHECK_OK(mapq_frame(q, at, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_CLAIMED); /* nobody has met it yet */
	/* a second writer: the only slot left is the dead one's */
	CHECK_OK(mapq_open(&w2, t_path("q-successor"), 0, NULL));
	CHECK_OK(mapq_send(w2, "second", 6, 0));
	CHECK_EQ(w2->wslot, 1);
	CHECK_OK(mapq_frame(q, at, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_ABORTED);
	mapq_close(w2);
	mapq_close(q);
}

/* A writer that loses the race for tail and then finds the ring full
 * waits with no reservation recorded. A tentative record it left behind
 * would name the position it lost, now the winner's: if the winner dies
 * there, repairers take the waiting loser for a live rival (repair.c,
 * unblock_hole) and leave the hole until the unblock timeout, while the
 * loser waits for the space that hole holds back. The loser stops before
 * its CAS on tail (reserve.before_cas:stop), the winner dies between
 * taking tail and confirming its record (reserve.after_cas:kill), then
 * the loser goes on. (Fault injection.) */
static void loser_blocked(void)
{
	enum {
		LEN = 96,
		FRAME = 128,
		CAP = 4096
	};
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = CAP; /* 32 frames of LEN bytes, no padding */
	o.writer_slots = 4;
	o.unblock_ms = 10000;
	mapq *q;
	mapq_reader *r;
	char out[LEN], in[200];
	const char *path = t_path("q-blocked-loser");
	CHECK_OK(mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (uint64_t i = 0; i < CAP / FRAME; i++) {
		t_fill(out, LEN, MARK_ID, i);
		CHECK_OK(mapq_send(q, out, LEN, 0)); /* slot 0 */
	}
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), LEN); /* one frame free */
	pid_t loser = fork();
	CHECK(loser >= 0);
	if (loser == 0) {
		alarm(30);
		mapq *cq;
		t_fill(out, LEN, DEAD_ID + 1, 0);
		if (mapq_open(&cq, path, 0, NULL) || mapq_fault_arm("reserve.before_cas:1:stop"))
			t_exit(1);
		t_exit(mapq_send(cq, out, LEN, 20000) ? 2 : 0); /* slot 1 */
	}
	CHECK(t_wait_stopped(loser));
	mapq_slot_info si;
	CHECK_OK(mapq_writer_slot(q, 1, &si));
	CHECK(si.resv_size && si.resv_tentative && si.resv_pos == CAP);
	pid_t winner = fork();
	CHECK(winner >= 0);
	if (winner == 0) {
		alarm(30);
		mapq *cq;
		t_fill(out, LEN, DEAD_ID, 0);
		if (mapq_open(&cq, path, 0, NULL) || mapq_fault_arm("reserve.after_cas:1:kill"))
			t_exit(1);
		t_exit(mapq_send(cq, out, LEN, 0) ? 3 : 2); /* slot 2; killed first */
	}
	CHECK_EQ(t_wait_child(winner), 128 + SIGKILL);
	CHECK_EQ(atomic_load(&q->ctl->tail), CAP + FRAME); /* the winner's, not the loser's */
	CHECK_EQ(kill(loser, SIGCONT), 0);
	/* The loser's CAS now fails, and the ring is full: head cannot pass
	 * the reader's cursor. It must wait with its record cleared. */
	bool cleared = false;
	for (uint64_t t0 = t_now_ms(); !cleared && t_now_ms() - t0 < 5000;) {
		CHECK_OK(mapq_writer_slot(q, 1, &si));
		cleared = si.resv_size == 0;
		if (!cleared)
			usleep(1000);
	}
	if (!cleared)
		fprintf(stderr, "the blocked loser still records %s %llu + %llu\n",
			si.resv_tentative ? "a tentative reservation at" : "a reservation at",
			(unsigned long long)si.resv_pos, (unsigned long long)si.resv_size);
	CHECK(cleared);
	/* The reader drains the ring, and the dead winner's hole is filled
	 * at once: the loser's message comes long before the unblock
	 * timeout. */
	uint64_t t0 = t_now_ms();
	uint32_t w;
	uint64_t s;
	for (uint64_t i = 1; i < CAP / FRAME; i++) {
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 5000), LEN);
		CHECK(t_check_payload(in, LEN, &w, &s) == 0 && w == MARK_ID && s == i);
	}
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 5000), LEN);
	CHECK(t_check_payload(in, LEN, &w, &s) == 0 && w == DEAD_ID + 1);
	uint64_t ms = t_now_ms() - t0;
	printf("%-28s the ring drained past a dead winner's hole in %llu ms\n", "loser blocked",
	       (unsigned long long)ms);
	CHECK(ms < 3000);
	CHECK_EQ(t_wait_child(loser), 0);
	mapq_reader_close(r);
	mapq_close(q);
}

int main(int argc, char **argv)
{
	if (argc == 1)
		successor_aborts_forsaken();
	if (argc == 1 && mapq_fault_enabled()) {
		loser_blocked();
		/* between taking tail and confirming the record, and after */
		killed_at("reserve.after_cas:1:kill", 1, 0);
		killed_at("reserve.after_confirm:1:kill", 1, 0);
		killed_at("commit.batch_next:2:kill", BATCH_N, 2);
		killed_at("commit.before_pos:1:kill", BATCH_N, 0);
		killed_at("commit.before_pos:3:kill", BATCH_N, 2);
		killed_at("commit.after_store:3:kill", BATCH_N, 3);
		killed_at("commit.before_pos:4:kill", BATCH_N, 4);
		stalled_after_confirm(60, true);
		stalled_after_confirm(MAPQ__PUBLISH_EARLY_MAX + 1, false);
		stalled_after_confirm(MAPQ__PUBLISH_EARLY_MAX, false);
	}
	for (int poll = 0; poll < 2; poll++) {
		polling = poll;
		for (int how = 0; how < NCASES; how++) {
			if (argc > 1 && strcmp(argv[1], names[how]) != 0)
				continue;
			one_case((enum how)how);
		}
	}
	return 0;
}
