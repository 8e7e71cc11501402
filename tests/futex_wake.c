/* SPDX-License-Identifier: MIT */
/* futex_wake: a reader blocked in another process wakes when a message is
 * committed; a commit costs no wake-up when nobody waits; a sleeper that
 * left without being woken costs the next commit one wake-up, not one
 * per commit from then on (the sleeper flag of wait.c). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

int main(void)
{
	mapq *q = t_create("q", 1 << 16, MAPQ_BLOCK);
	int ready[2];
	CHECK_EQ(pipe(ready), 0);

	pid_t pid = fork();
	if (pid == 0) {
		alarm(60);
		mapq *cq;
		mapq_reader *cr;
		char in[64];
		if (mapq_open(&cq, t_path("q"), 0, NULL) ||
		    mapq_reader_open(cq, &cr, NULL, MAPQ_START_OLDEST))
			t_exit(2);
		if (write(ready[1], "r", 1) != 1)
			t_exit(2);
		uint64_t t0 = t_now_ms();
		ssize_t n = mapq_recv(cr, in, sizeof(in), 20000);
		uint64_t waited = t_now_ms() - t0;
		mapq_close(cq);
		if (n != 5 || memcmp(in, "wake!", 5))
			t_exit(3);
		/* Woken by the commit, not by the 20 s timeout. */
		t_exit(waited < 15000 ? 0 : 4);
	}
	close(ready[1]); /* a child that fails gives EOF, not a wait */
	char c;
	CHECK_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	/* Give the child time to go to sleep in the futex. */
	CHECK(t_until_flag(&q->ctl->data_sleepers, 10000));
	CHECK_EQ(atomic_load(&q->ctl->data_sleepers), 1);
	uint32_t seq0 = atomic_load(&q->ctl->data_seq);
	CHECK_OK(mapq_send(q, "wake!", 5, 0));
	CHECK(atomic_load(&q->ctl->data_seq) != seq0); /* the writer did wake */
	CHECK_EQ(t_wait_child(pid), 0);
	/* Our wake-up cleared the child's flag. But the child also wakes on
	 * its own every idle poll: if one came round just as the message
	 * did, it set its flag again after we cleared it, then found the
	 * message and left without sleeping, flag up (slow under Valgrind,
	 * about one run in five). That flag costs the next commit one
	 * wake-up and no more. */
	if (atomic_load(&q->ctl->data_sleepers)) {
		seq0 = atomic_load(&q->ctl->data_seq);
		CHECK_OK(mapq_send(q, "again", 5, 0));
		CHECK_EQ(atomic_load(&q->ctl->data_seq), seq0 + 1);
	}
	CHECK_EQ(atomic_load(&q->ctl->data_sleepers), 0);

	/* Nobody waiting: a commit leaves the futex word alone (no syscall). */
	seq0 = atomic_load(&q->ctl->data_seq);
	CHECK_OK(mapq_send(q, "quiet", 5, 0));
	CHECK_EQ(atomic_load(&q->ctl->data_seq), seq0);

	/* A timed wait with nothing to read times out. */
	mapq_reader *r;
	char in[64];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	uint64_t t0 = t_now_ms();
	CHECK_RC(mapq_recv(r, in, sizeof(in), 50), -ETIMEDOUT);
	CHECK(t_now_ms() - t0 >= 45);
	/* It left its flag up: the next commit wakes (nobody), and clears it. */
	CHECK_EQ(atomic_load(&q->ctl->data_sleepers), 1);
	seq0 = atomic_load(&q->ctl->data_seq);
	CHECK_OK(mapq_send(q, "once", 4, 0));
	CHECK_EQ(atomic_load(&q->ctl->data_seq), seq0 + 1);
	CHECK_EQ(atomic_load(&q->ctl->data_sleepers), 0);
	CHECK_OK(mapq_send(q, "twice", 5, 0));
	CHECK_EQ(atomic_load(&q->ctl->data_seq), seq0 + 1);
	mapq_close(q);
	return 0;
}
