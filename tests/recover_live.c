/* SPDX-License-Identifier: MIT */
/* recover_live: repair while other processes have the queue open.
 * - mapq_recover() with a live process holding the queue: dead writer's
 *   claim aborted, dead ephemeral reader freed, dead durable reader
 *   detached (cursor kept), and the log is not cut (not exclusive);
 * - mapq_sync() waits for a stopped writer only up to the unblock
 *   timeout, then its frame is forsaken and its commit fails;
 * - space that no record describes (damage) is filled after the timeout
 *   so readers go on, once, when two readers fill it at the same time;
 * - dead writers' claimed frames that their slots' records no longer
 *   describe (damage) are aborted by mapq_recover() all the same, in a
 *   full ring too: it walks the frames from head, not only the records. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

static void msg(mapq *q, uint32_t id, uint64_t s)
{
	char out[100];
	t_fill(out, 60, id, s);
	CHECK_OK(mapq_send(q, out, 60, 1000));
}

static void expect(mapq_reader *r, uint32_t id, uint64_t seq)
{
	char in[100];
	uint32_t w;
	uint64_t s;
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 2000), 60);
	CHECK_OK(t_check_payload(in, 60, &w, &s));
	CHECK_EQ(w, id);
	CHECK_EQ(s, seq);
}

static void live_recover(void)
{
	mapq *q = t_create("live", 65536, MAPQ_BLOCK);
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	msg(q, 1, 0);
	int hold[2], ready[2];
	char c;
	CHECK(pipe(hold) == 0 && pipe(ready) == 0);
	/* Someone else keeps the queue open throughout. */
	pid_t keeper = fork();
	if (keeper == 0) {
		mapq *k;
		close(ready[0]);
		if (mapq_open(&k, t_path("live"), 0, NULL))
			t_exit(2);
		close(hold[1]);
		/* Say so only once open: the recovery below must see it. */
		if (write(ready[1], "k", 1) != 1)
			t_exit(4);
		t_exit(read(hold[0], &c, 1) == 0 ? 0 : 3);
	}
	close(hold[0]);
	close(ready[1]);
	CHECK_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	/* A writer that dies with a frame reserved, half written and not
	 * published, and two readers. */
	pid_t pid = fork();
	if (pid == 0) {
		mapq *w;
		mapq_reader *a, *b;
		void *p;
		if (mapq_open(&w, t_path("live"), 0, NULL) ||
		    mapq_reader_open(w, &a, NULL, MAPQ_START_OLDEST) ||
		    mapq_reader_open(w, &b, "dur", MAPQ_START_OLDEST) || mapq_reserve(w, 60, &p, 0))
			t_exit(2);
		memset(p, 'x', 30);
		t_die();
	}
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
	msg(q, 1, 1); /* behind the dead writer's frame */
	mapq_recovery rep;
	CHECK_OK(mapq_recover(q, &rep));
	CHECK_EQ(rep.exclusive, 0);
	/* its claim hint (writer.c) is helped in, then aborted as a claim */
	CHECK_EQ(rep.claims_aborted, 1);
	CHECK_EQ(rep.holes_filled, 0);
	CHECK_EQ(rep.writers_freed, 1);
	CHECK_EQ(rep.readers_freed, 1);
	CHECK_EQ(rep.readers_detached, 1);
	CHECK_EQ(rep.bytes_discarded, 0);
	CHECK(strstr(rep.end_reason, "not cut") != NULL);
	expect(r, 1, 0);
	expect(r, 1, 1);
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.readers_durable, 1);
	CHECK_OK(mapq_reader_drop(q, "dur"));
	/* Nothing left to do the second time. */
	CHECK_OK(mapq_recover(q, &rep));
	CHECK_EQ(rep.holes_filled + rep.claims_aborted + rep.writers_freed + rep.readers_freed, 0);
	close(hold[1]);
	CHECK_EQ(t_wait_child(keeper), 0);
	/* Alone now: exclusive, and the log is whole. */
	mapq_reader_close(r);
	CHECK_OK(mapq_recover(q, &rep));
	CHECK_EQ(rep.exclusive, 1);
	CHECK_EQ(rep.tail_after, rep.tail_before);
	CHECK(rep.frames_scanned >= 3);
	CHECK_EQ(rep.messages, 2);
	mapq_close(q);
}

static void sync_stalled(void)
{
	mapq_options o;
	mapq_options_init(&o);
	o.unblock_ms = 50;
	mapq *q;
	CHECK_OK(mapq_open(&q, t_path("sync"), MAPQ_CREATE, &o));
	msg(q, 1, 0);
	pid_t pid = fork();
	if (pid == 0) {
		mapq *w;
		void *p;
		if (mapq_open(&w, t_path("sync"), 0, NULL) || mapq_reserve(w, 60, &p, 0))
			t_exit(2);
		raise(SIGSTOP);
		memset(p, 0, 60);
		int rc = mapq_commit(w, 60);
		mapq_close(w);
		t_exit(rc == -MAPQ_ESTALLED ? 0 : 3);
	}
	CHECK(t_wait_stopped(pid));
	uint64_t t0 = t_now_ms();
	CHECK_OK(mapq_sync(q)); /* gives up on the stopped writer's frame */
	uint64_t ms = t_now_ms() - t0;
	CHECK(ms >= 45 && ms < 5000);
	CHECK_OK(mapq_sync(q)); /* and again: nothing to wait for */
	CHECK(kill(pid, SIGCONT) == 0);
	CHECK_EQ(t_wait_child(pid), 0);
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	expect(r, 1, 0);
	CHECK_RC(mapq_recv(r, NULL, 0, 0), -EAGAIN); /* forsaken, then aborted */
	CHECK_OK(mapq_reserve(q, 10, &(void *){ NULL }, 0));
	CHECK_RC(mapq_sync(q), -MAPQ_ESTATE);
	CHECK_RC(mapq_recover(q, NULL), -MAPQ_ESTATE);
	CHECK_OK(mapq_abort(q));
	mapq_close(q);
}

static void unknown_hole(void)
{
	mapq_options o;
	mapq_options_init(&o);
	o.unblock_ms = 30;
	mapq *q;
	CHECK_OK(mapq_open(&q, t_path("hole"), MAPQ_CREATE, &o));
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	msg(q, 1, 0);
	/* Damage: 96 bytes reserved that no record describes. */
	atomic_fetch_add(&q->ctl->tail, 96);
	msg(q, 1, 1);
	expect(r, 1, 0);
	uint64_t t0 = t_now_ms();
	expect(r, 1, 1); /* after the timeout, the space is filled */
	CHECK(t_now_ms() - t0 >= 25);
	mapq_close(q);
}

/* Two repairers of one unknown hole: a reader in another process stops
 * just before its CAS of the hole's word (repair.before_cas:stop) while
 * ours fills the hole. When the other goes on, its CAS fails: it must
 * count nothing and step over nothing, and read on. The hole is one
 * repair. (Fault injection.) */
static void unknown_hole_raced(void)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 4096;
	o.unblock_ms = 30;
	mapq *q;
	mapq_reader *r;
	CHECK_OK(mapq_open(&q, t_path("hole-raced"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	msg(q, 1, 0);
	atomic_fetch_add(&q->ctl->tail, 96); /* damage: no record describes it */
	msg(q, 1, 1);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		mapq *cq;
		mapq_reader *cr;
		char in[100];
		uint32_t w;
		uint64_t s;
		if (mapq_open(&cq, t_path("hole-raced"), 0, NULL) ||
		    mapq_reader_open(cq, &cr, NULL, MAPQ_START_OLDEST) ||
		    mapq_fault_arm("repair.before_cas:1:stop"))
			t_exit(1);
		for (uint64_t i = 0; i < 2; i++)
			if (mapq_recv(cr, in, sizeof(in), 2000) != 60 ||
			    t_check_payload(in, 60, &w, &s) || w != 1 || s != i)
				t_exit(2 + (int)i);
		t_exit(mapq_fault_hits("repair.before_cas") == 1 ? 0 : 4);
	}
	CHECK(t_wait_stopped(pid));
	char in[100];
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 2000), 60);
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 2000), 60);
	uint32_t w;
	uint64_t seq;
	CHECK(t_check_payload(in, 60, &w, &seq) == 0 && w == 1 && seq == 1);
	mapq_counters c1, c2;
	CHECK_OK(mapq_stats(q, &c1));
	CHECK_EQ(c1.repaired, 1); /* ours */
	CHECK_EQ(kill(pid, SIGCONT), 0);
	CHECK_EQ(t_wait_child(pid), 0);
	CHECK_OK(mapq_stats(q, &c2));
	CHECK_EQ(c2.repaired, 1); /* and none of the other's */
	mapq_frame_info fi;
	CHECK_OK(mapq_frame(q, FRAME_ALIGN * 6, &fi)); /* 60 bytes: a 96-byte frame */
	CHECK_EQ(fi.kind, MAPQ_FRAME_ABORTED);
	CHECK_EQ(fi.size, 96);
	mapq_reader_close(r);
	mapq_close(q);
}

/* Unrecorded space of @size bytes (0: up to the ring's end) after
 * @before messages: after the timeout it is filled with @frames frames
 * of @kind tiling it exactly, in @fills repairs, and the message after
 * it comes through. The smallest frame, the largest aborted frame (half
 * the ring: abort_max), more than that (one fill ends at half a ring
 * from where it starts), and padding to the ring's end. */
static void unknown_space(const char *name, uint64_t before, uint64_t size, uint32_t kind,
			  unsigned frames, unsigned fills)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 4096;
	o.unblock_ms = 30;
	mapq *q;
	mapq_reader *r;
	CHECK_OK(mapq_open(&q, t_path(name), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (uint64_t s = 0; s < before; s++) {
		msg(q, 1, s);
		expect(r, 1, s);
	}
	uint64_t c = atomic_load(&q->ctl->tail);
	if (!size)
		size = 4096 - (c & 4095);
	atomic_fetch_add(&q->ctl->tail, size);
	msg(q, 1, before);
	expect(r, 1, before);
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.repaired, fills);
	unsigned n = 0;
	for (uint64_t p = c; p < c + size; n++) {
		mapq_frame_info fi;
		CHECK_OK(mapq_frame(q, p, &fi));
		if (fi.kind != kind)
			t_fail(__FILE__, __LINE__, "%s: a frame of kind %u at %llu, want %u", name,
			       fi.kind, (unsigned long long)p, kind);
		CHECK(fi.size >= FRAME_ALIGN && n < 1000);
		/* an aborted frame has no writer, and no message */
		if (kind == MAPQ_FRAME_ABORTED)
			CHECK(fi.writer == MAPQ_NO_WRITER && fi.len == 0);
		p += fi.size;
		CHECK(p <= c + size);
	}
	CHECK_EQ(n, frames);
	mapq_close(q);
}

/* A published claim nobody forsook (damage: no writer of format version 2
 * publishes one) whose header names a slot past the writer table: its
 * owner is the live writer whose record names the frame, not the header,
 * so it is waited for, up to the unblock timeout, not aborted at once; the
 * writer commits within the timeout, and it is read. */
static void no_such_writer(void)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 4096;
	o.unblock_ms = 500;
	mapq *q;
	mapq_reader *r;
	void *p;
	CHECK_OK(mapq_open(&q, t_path("nobody"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	uint64_t c = atomic_load(&q->ctl->tail);
	CHECK_OK(mapq_reserve(q, 60, &p, 0));
	memset(p, 'n', 60);
	/* published claimed, as no writer of this version does: damage */
	struct fmt_frame *f = frame_at(q, c);
	f->writer = (uint16_t)q->nw;
	atomic_store(&f->commit, cw_make(frame_size(60), FRAME_CLAIMED, 0, lap_of(q, c)));
	atomic_store(&f->pos, c);
	char in[100];
	CHECK_RC(mapq_recv(r, in, sizeof(in), 20), -ETIMEDOUT);
	CHECK_OK(mapq_commit(q, 60));
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 60);
	CHECK(in[0] == 'n' && in[59] == 'n');
	mapq_close(q);
}

/* Two dead writers' claimed frames (forsaken by readers before they
 * died) fill the ring's last two slots (16 frames of 256 bytes: tail is a
 * whole ring ahead of head), and their records are gone. */
static void record_gone(void)
{
	enum {
		TILE = 256 - FRAME_HDR,
		N = 4096 / 256
	};
	mapq *q = t_create("gone", 4096, MAPQ_BLOCK), *d;
	mapq_reader *r;
	char buf[TILE];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (uint64_t s = 0; s < N - 2; s++) {
		t_fill(buf, TILE, 1, s);
		CHECK_OK(mapq_send(q, buf, TILE, 0));
	}
	/* Both alive at once, each in a slot of its own: one that took a
	 * dead writer's slot would finish its frame first. */
	pid_t pid[2];
	for (int k = 0; k < 2; k++) {
		uint64_t tail = atomic_load(&q->ctl->tail);
		pid[k] = fork();
		CHECK(pid[k] >= 0);
		if (pid[k] == 0) {
			alarm(30);
			mapq *cq;
			void *p;
			if (mapq_open(&cq, t_path("gone"), 0, NULL) ||
			    mapq_reserve(cq, TILE, &p, 0))
				t_exit(1);
			/* forsaken, as a repairer does it (repair.c): the
			 * record marked, then the word published; no header */
			struct fmt_frame *cf = frame_at(cq, cq->resv_pos);
			atomic_fetch_or(&cq->wslots[cq->wslot].resv_size, RESV_FORSAKEN);
			atomic_store(&cf->commit, cw_make(cq->resv_size, FRAME_CLAIMED, 0,
							  lap_of(cq, cq->resv_pos)) |
							  CW_FORSAKEN);
			atomic_store(&cf->pos, cq->resv_pos);
			pause(); /* never committed */
			t_exit(1);
		}
		/* its claim published */
		uint64_t t0 = t_now_ms();
		while (frame_pos_at(q, tail) != tail && t_now_ms() - t0 < 10000)
			usleep(1000);
		CHECK_EQ(frame_pos_at(q, tail), tail);
	}
	for (int k = 0; k < 2; k++) {
		CHECK_EQ(kill(pid[k], SIGKILL), 0);
		CHECK_EQ(t_wait_child(pid[k]), 128 + SIGKILL);
	}
	CHECK_EQ(atomic_load(&q->ctl->tail) - atomic_load(&q->ctl->head), 4096);
	unsigned cleared = 0;
	for (uint32_t i = 0; i < q->nw; i++)
		if ((int)i != q->wslot && atomic_load(&q->wslots[i].resv_size)) {
			atomic_store(&q->wslots[i].resv_size, 0);
			cleared++;
		}
	CHECK_EQ(cleared, 2);
	CHECK_OK(mapq_dup(q, &d)); /* not alone: a live recovery */
	mapq_recovery rep;
	CHECK_OK(mapq_recover(q, &rep));
	CHECK_EQ(rep.exclusive, 0);
	CHECK_EQ(rep.writers_freed, 2);
	CHECK_EQ(rep.claims_aborted, 2);
	for (uint64_t s = 0; s < N - 2; s++) {
		uint32_t w;
		uint64_t seq;
		CHECK_EQ(mapq_recv(r, buf, TILE, 0), TILE);
		CHECK_OK(t_check_payload(buf, TILE, &w, &seq));
		CHECK_EQ(seq, s);
	}
	CHECK_OK(mapq_send(q, "after", 5, 0));
	CHECK_EQ(mapq_recv(r, buf, TILE, 0), 5);
	mapq_close(d);
	mapq_close(q);
}

int main(void)
{
	record_gone();
	live_recover();
	sync_stalled();
	unknown_hole();
	if (mapq_fault_enabled())
		unknown_hole_raced();
	no_such_writer();
	unknown_space("hole-min", 1, FRAME_HDR, MAPQ_FRAME_ABORTED, 1, 1);
	unknown_space("hole-max", 1, 2048, MAPQ_FRAME_ABORTED, 1, 1);
	unknown_space("hole-big", 1, 3008, MAPQ_FRAME_ABORTED, 2, 2);
	unknown_space("hole-end", 25, 0, MAPQ_FRAME_PADDING, 1, 1);
	return 0;
}
