/* SPDX-License-Identifier: MIT */
/* dead_writer_slot: a writer killed mid-write leaves a frame that stops
 * readers; the next writer to take over its slot finishes the dead one's
 * reservation (aborting it), and readers go on without ever seeing the
 * dead writer's bytes. Cases: claimed but not committed; reserved but
 * never claimed (made through the library's internals, as fault points
 * are not built yet); the same with padding before the frame. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

enum how {
	CLAIMED,
	RESERVED,
	RESERVED_WITH_PADDING
};

/* In a child: take writer slot 0 and die in the middle of a write. */
static void die_mid_write(const char *path, enum how how)
{
	mapq *q;
	void *p;
	if (mapq_open(&q, path, 0, NULL))
		t_exit(2);
	if (how == CLAIMED) {
		if (mapq_reserve(q, 100, &p, 0))
			t_exit(3);
		memset(p, 'X', 100); /* half-written payload */
		t_die();
	}
	int rc = mapq__wslot_attach(q);
	if (rc || q->wslot != 0) {
		fprintf(stderr, "attach: %s, slot %d\n", mapq_strerror(rc), q->wslot);
		t_exit(4);
	}
	/* Reserve as mapq_reserve does, record it, and die before the claim. */
	uint64_t t = atomic_load(&q->ctl->tail), size = frame_size(100);
	uint64_t off = t & q->mask, pad = off + size > q->cap ? q->cap - off : 0;
	if ((how == RESERVED_WITH_PADDING) != (pad != 0))
		t_exit(5);
	uint64_t end = t + pad + size;
	if (end > q->cap && mapq__advance_head(q, end - q->cap, true) != 0)
		t_exit(6); /* the space check mapq_reserve makes first */
	atomic_store(&q->ctl->tail, end);
	atomic_store(&q->wslots[0].resv_pos, t);
	atomic_store(&q->wslots[0].resv_size, pad + size);
	t_die();
}

static void one_case(mapq_reader *r, enum how how)
{
	char in[200];
	uint32_t w;
	uint64_t s;

	pid_t pid = fork();
	if (pid == 0)
		die_mid_write(t_path("q"), how);
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -EAGAIN); /* stuck behind it */

	/* A new writer takes slot 0 over and finishes the dead reservation. */
	mapq *w2;
	CHECK_OK(mapq_open(&w2, t_path("q"), 0, NULL));
	t_fill(in, 60, 7, how);
	CHECK_OK(mapq_send(w2, in, 60, 0));
	CHECK_EQ(w2->wslot, 0);
	mapq_close(w2);

	ssize_t n = mapq_recv(r, in, sizeof(in), 0);
	CHECK_EQ(n, 60);
	CHECK_OK(t_check_payload(in, 60, &w, &s));
	CHECK_EQ(s, how);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -EAGAIN);
}

int main(void)
{
	mapq *q = t_create("q", 4096, MAPQ_BLOCK);
	mapq_reader *r;
	char buf[200] = { 0 };
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));

	one_case(r, CLAIMED);
	one_case(r, RESERVED);
	/* Move the tail close to the ring's end, so the next frame pads;
	 * through a handle of its own, closed after, so slot 0 is free. */
	mapq_counters st;
	mapq *filler;
	CHECK_OK(mapq_open(&filler, t_path("q"), 0, NULL));
	for (;;) {
		CHECK_OK(mapq_stats(q, &st));
		if ((st.tail & 4095) + frame_size(100) > 4096)
			break;
		CHECK_OK(mapq_send(filler, buf, 16, 0));
		CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 16);
	}
	mapq_close(filler);
	one_case(r, RESERVED_WITH_PADDING);
	mapq_close(q);
	return 0;
}
