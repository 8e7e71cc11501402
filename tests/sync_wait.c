/* SPDX-License-Identifier: MIT */
/* sync_wait: mapq_sync waits for the frames in flight below the tail it
 * saw, and forsakes one only when that frame has stayed unfinished for
 * the unblock timeout, counted from when the sync reached it, not from
 * when the sync began. Two writers hold frames one after the other, each
 * for less than the timeout, together for more: both must commit. (With
 * one clock for the whole wait, the second writer's frame was forsaken
 * the moment the wait passed the timeout, and its commit failed with
 * -MAPQ_ESTALLED.)
 * And after a sync the next frame starts on a fresh page, whatever the
 * largest message: writes after the sync never touch a page that holds
 * synced frames.
 * And a sync that looks at a frame a lap late (it stopped before the
 * look, and head passed the frame meanwhile) looks again from head: the
 * bytes it read are then another frame's payload, whatever they say.
 * Judged as a frame, a payload that holds what looks like a damaged
 * frame of the old lap failed the sync with -MAPQ_ECORRUPT. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define UNBLOCK_MS 1000

struct holder {
	mapq *q;
	unsigned hold_ms;
	int ready_fd;
	int rc;
};

/* Reserve, say so, hold the frame @hold_ms, commit. */
static void *hold(void *arg)
{
	struct holder *h = arg;
	void *p;
	h->rc = mapq_reserve(h->q, 8, &p, 1000);
	if (write(h->ready_fd, "r", 1) != 1 && !h->rc)
		h->rc = -EIO;
	if (h->rc)
		return NULL;
	memcpy(p, "held....", 8);
	usleep(h->hold_ms * 1000u);
	h->rc = mapq_commit(h->q, 8);
	return NULL;
}

static void fresh_page(uint32_t max_msg)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 1 << 16;
	o.max_msg = max_msg;
	mapq *q;
	mapq_reader *r;
	char in[16];
	CHECK_OK(mapq_open(&q, t_path(max_msg ? "small" : "default"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	CHECK_OK(mapq_send(q, "before", 6, 0));
	CHECK_OK(mapq_sync(q));
	uint64_t tail = atomic_load(&q->ctl->tail);
	if (tail % FMT_PAGE)
		t_fail(__FILE__, __LINE__, "max_msg %u: after a sync tail is %llu, not on a page",
		       max_msg, (unsigned long long)tail);
	CHECK_OK(mapq_send(q, "after", 5, 0));
	/* the sync used the writer slot our sends had taken, once */
	mapq_counters st;
	mapq_slot_info si;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.writers_attached, 1);
	CHECK_OK(mapq_writer_slot(q, 0, &si));
	CHECK_EQ(si.attaches, 1);
	/* and let go of the checkpoint's lock: another process syncs next */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(10);
		mapq *cq;
		t_exit(mapq_open(&cq, t_path(max_msg ? "small" : "default"), 0, NULL) ||
		       mapq_sync(cq));
	}
	CHECK_EQ(t_wait_child(pid), 0);
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 6);
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 5);
	mapq_close(q);
}

/* Tail 32 bytes before a page boundary: the filler is one header, the
 * smallest frame, and the next frame starts on that very page. */
static void smallest_filler(void)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 1 << 16;
	mapq *q;
	static char big[FMT_PAGE];
	CHECK_OK(mapq_open(&q, t_path("gap"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_send(q, big, FMT_PAGE - 2 * FRAME_HDR, 0));
	CHECK_EQ(atomic_load(&q->ctl->tail), FMT_PAGE - FRAME_HDR);
	CHECK_OK(mapq_sync(q));
	CHECK_EQ(atomic_load(&q->ctl->tail), FMT_PAGE);
	mapq_close(q);
}

struct syncer {
	mapq *q;
	int rc;
};

static void *sync_one(void *arg)
{
	struct syncer *y = arg;
	y->rc = mapq_sync(y->q);
	return NULL;
}

/* A sync that stalls before its flush, while a later sync flushes more
 * and writes its checkpoint, must not then write an older checkpoint
 * over it: with a higher seq, that older one is what recovery would start
 * from after a power cut, and the log would end before messages the
 * later sync made durable (mapq-sim found them lost). (Fault injection.) */
static void checkpoint_not_back(void)
{
	if (!mapq_fault_enabled())
		return;
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 1 << 16;
	mapq *q;
	struct syncer y = { NULL, 0 };
	CHECK_OK(mapq_open(&q, t_path("ckpt"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_dup(q, &y.q));
	CHECK_OK(mapq_send(q, "first", 5, 0));
	CHECK_OK(mapq_fault_arm("sync.before_msync:1:stall=600"));
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, sync_one, &y), 0);
	/* its filler aborted: it then loads its end, and stalls */
	mapq_frame_info f;
	uint64_t t0 = t_now_ms(), at = 5 + FRAME_HDR;
	at = (at + FRAME_ALIGN - 1) / FRAME_ALIGN * FRAME_ALIGN;
	do {
		usleep(1000);
		CHECK_OK(mapq_frame(q, at, &f));
	} while (f.kind != MAPQ_FRAME_ABORTED && t_now_ms() - t0 < 10000);
	CHECK_EQ(f.kind, MAPQ_FRAME_ABORTED);
	usleep(50 * 1000);
	CHECK_OK(mapq_send(q, "second", 6, 0));
	CHECK_OK(mapq_sync(q));
	uint64_t end = atomic_load(&q->ctl->tail);
	const struct fmt_ckpt *k = mapq__newest_ckpt(q);
	CHECK(k != NULL);
	CHECK_EQ(k->tail, end);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_OK(y.rc);
	CHECK_EQ(mapq_fault_hits("sync.before_msync"), 2); /* the first stalled */
	mapq_fault_disarm();
	/* the stalled one is done: the newest checkpoint is still the later
	 * sync's, and the sync lock is free again (the stalled sync left
	 * without writing one) */
	k = mapq__newest_ckpt(q);
	CHECK(k != NULL);
	CHECK_EQ(k->tail, end);
	CHECK_OK(mapq__slot_trylock(q->fd, sync_off(q)));
	mapq__slot_unlock(q->fd, sync_off(q));
	mapq_close(y.q);
	mapq_close(q);
}

enum {
	SMALL = 96,
	BIG = 224
}; /* frames of 128 and 256 bytes */

static void lapped_look(void)
{
	if (!mapq_fault_enabled()) {
		printf("lapped look: skipped (fault points are not built in)\n");
		return;
	}
	const char *path = t_path("lapped");
	mapq *q = t_create("lapped", 4096, MAPQ_BLOCK);
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	char out[BIG], in[BIG + 1];
	for (uint64_t i = 0; i < 2; i++) { /* frames at 0 and 128 */
		t_fill(out, SMALL, 1, i);
		CHECK_OK(mapq_send(q, out, SMALL, 0));
	}
	/* The sync judges the frame at 0 finished, and stops before it looks
	 * at the one at 128. Exit status: 0 synced, 3 -MAPQ_ECORRUPT, 4
	 * another failure, 1 no start. */
	pid_t s = fork();
	CHECK(s >= 0);
	if (s == 0) {
		alarm(30);
		mapq *cq;
		if (mapq_open(&cq, path, 0, NULL) || mapq_fault_arm("sync.before_look:2:stop"))
			t_exit(1);
		int rc = mapq_sync(cq);
		if (rc)
			fprintf(stderr, "lapped look: mapq_sync: %s\n", mapq_strerror(rc));
		t_exit(rc == 0 ? 0 : rc == -MAPQ_ECORRUPT ? 3 : 4);
	}
	CHECK(t_wait_stopped(s));
	/* Both read; the rest of the lap filled; the next lap's first frame
	 * (256 bytes at 0) moves head past 128, its payload over 128 the
	 * commit word and pos of a frame there of the old lap, with a size no
	 * frame has. */
	for (uint64_t i = 0; i < 2; i++)
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), SMALL);
	for (uint64_t i = 2; i < 32; i++) {
		t_fill(out, SMALL, 1, i);
		CHECK_OK(mapq_send(q, out, SMALL, 0));
	}
	CHECK_EQ(atomic_load(&q->ctl->tail), 4096);
	t_fill(out, BIG, 1, 32);
	uint64_t fake[2] = { cw_make(FRAME_UNIT, FRAME_COMMITTED, 0, lap_of(q, 128)), 128 };
	memcpy(out + 128 - FRAME_HDR, fake, sizeof(fake));
	CHECK_OK(mapq_send(q, out, BIG, 0));
	CHECK(atomic_load(&q->ctl->head) > 128);
	CHECK_EQ(atomic_load(&commit_at(q, 128)[0]), fake[0]);

	CHECK_EQ(kill(s, SIGCONT), 0);
	int st = t_wait_child(s);
	if (st == 3)
		CHECK(!"a sync that looked a lap late judges what it read as a frame");
	CHECK_EQ(st, 0);
	for (uint64_t i = 2; i < 32; i++) {
		uint32_t id;
		uint64_t seq;
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), SMALL);
		CHECK(t_check_payload(in, SMALL, &id, &seq) == 0 && id == 1 && seq == i);
	}
	/* the one with the look-alike in it */
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), BIG);
	CHECK(memcmp(in, out, BIG) == 0);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -EAGAIN);
	printf("lapped look: a sync that looked a lap late looked again from head\n");
	mapq_reader_close(r);
	mapq_close(q);
}

int main(void)
{
	lapped_look();
	checkpoint_not_back();
	smallest_filler();
	fresh_page(0);
	fresh_page(100); /* the largest aborted frame is then a page and two headers */
	mapq_options o;
	mapq *q, *s;
	mapq_options_init(&o);
	o.capacity = 1 << 16;
	o.unblock_ms = UNBLOCK_MS;
	CHECK_OK(mapq_open(&q, t_path("q"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_dup(q, &s));
	int ready[2];
	CHECK_EQ(pipe(ready), 0);
	/* A's frame first, finished after 0.7 of the timeout; B's next,
	 * finished after 1.4: 0.7 after the sync reaches it. */
	struct holder h[2] = { { q, UNBLOCK_MS * 7 / 10, ready[1], 0 },
			       { NULL, UNBLOCK_MS * 14 / 10, ready[1], 0 } };
	CHECK_OK(mapq_dup(q, &h[1].q));
	pthread_t t[2];
	char c;
	for (int i = 0; i < 2; i++) { /* one after the other: A's frame is first */
		CHECK_EQ(pthread_create(&t[i], NULL, hold, &h[i]), 0);
		CHECK_EQ(read(ready[0], &c, 1), 1);
	}
	uint64_t t0 = t_now_ms();
	CHECK_OK(mapq_sync(s));
	uint64_t waited = t_now_ms() - t0;
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(pthread_join(t[i], NULL), 0);
		if (h[i].rc)
			t_fail(__FILE__, __LINE__, "writer %c: %s (the sync forsook its frame)",
			       'A' + i, mapq_strerror(h[i].rc));
	}
	/* it waited for both (lower bound only: the machine is shared) */
	CHECK(waited >= UNBLOCK_MS * 12 / 10);
	mapq_reader *r;
	char in[16];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (int i = 0; i < 2; i++)
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 8);
	mapq_reader_close(r);
	close(ready[0]);
	close(ready[1]);
	mapq_close(h[1].q);
	mapq_close(s);
	mapq_close(q);
	return 0;
}
