/* SPDX-License-Identifier: MIT */
/* overwrite_resume: under MAPQ_OVERWRITE, the messages a durable reader
 * lost are counted exactly across its restarts. Lapped while attached
 * and then closed before it read again, lapped while detached, and lapped
 * in a process that is then killed: each time, resumed, it is told the
 * exact number it missed (each -MAPQ_ELAPPED's count equals the gap in
 * the sequence numbers that follows it), and delivered plus lost equals
 * sent. A count pending at close or death must not be forgotten. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define MSG 100

static uint64_t sent;

static void send_n(mapq *q, uint64_t n)
{
	char buf[MSG];
	for (uint64_t i = 0; i < n; i++, sent++) {
		t_fill(buf, sizeof(buf), 1, sent);
		CHECK_OK(mapq_send(q, buf, sizeof(buf), 0)); /* never blocks */
	}
}

/* Read up to @max messages (all that are there if 0) from where @r is;
 * @next is the sequence number expected next. Returns the count lost. */
static uint64_t drain(mapq_reader *r, uint64_t *next, uint64_t max)
{
	char in[2 * MSG];
	uint64_t lost = 0, got = 0;
	/* far more reads than any ring here holds messages: a reader that
	 * says -MAPQ_ELAPPED for ever must fail the test, not hang it */
	for (unsigned reads = 0;; reads++) {
		CHECK(reads < 1000000);
		if (max && got == max)
			return lost;
		ssize_t n = mapq_recv(r, in, sizeof(in), 0);
		if (n == -MAPQ_ELAPPED) {
			CHECK(mapq_reader_lost(r) > 0);
			lost += mapq_reader_lost(r);
			*next += mapq_reader_lost(r);
			continue;
		}
		if (n == -EAGAIN)
			break;
		CHECK_EQ(n, MSG);
		uint32_t w;
		uint64_t s;
		CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
		CHECK_EQ(s, *next); /* what was lost is exactly the gap */
		(*next)++;
		got++;
	}
	CHECK_EQ(*next, sent); /* delivered + lost == sent */
	return lost;
}

int main(void)
{
	mapq *q = t_create("q", 4096, MAPQ_OVERWRITE);
	mapq_reader *r;
	uint64_t next = 0, lost = 0;

	/* 1. lapped while attached, closed before it read again */
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_OLDEST));
	send_n(q, 10);
	lost += drain(r, &next, 3);
	send_n(q, 100);
	mapq_reader_close(r);
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_RESUME));
	uint64_t l1 = drain(r, &next, 0);
	CHECK(l1 > 0);
	lost += l1;

	/* 2. lapped while detached */
	mapq_reader_close(r);
	send_n(q, 100);
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_RESUME));
	uint64_t l2 = drain(r, &next, 0);
	CHECK(l2 > 0);
	lost += l2;
	mapq_reader_close(r);

	/* 3. lapped in a process that dies before it reads again */
	send_n(q, 10);
	int up[2], go[2];
	CHECK(pipe(up) == 0 && pipe(go) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(up[0]);
		close(go[1]);
		alarm(30);
		/* its own handle: the parent's is not usable here (mapq.h) */
		mapq *cq;
		mapq_reader *cr;
		if (mapq_open(&cq, t_path("q"), 0, NULL) != 0 ||
		    mapq_reader_open(cq, &cr, "d", MAPQ_START_RESUME) != 0)
			t_exit(1);
		uint64_t cl = drain(cr, &next, 4);
		/* the parent learns where we are, laps us, then kills us */
		uint64_t where[2] = { next, cl };
		if (write(up[1], where, sizeof(where)) != (ssize_t)sizeof(where))
			t_exit(1);
		char c;
		/* blocks until the parent kills us: a return, of anything, is
		 * the parent's failure (its end closed) */
		if (read(go[0], &c, 1) != 0)
			t_exit(1);
		t_exit(1);
	}
	close(up[1]);
	close(go[0]);
	uint64_t where[2];
	CHECK_EQ(read(up[0], where, sizeof(where)), sizeof(where));
	next = where[0];
	lost += where[1];
	send_n(q, 100);
	CHECK(kill(pid, SIGKILL) == 0);
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
	close(up[0]);
	close(go[1]);
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_RESUME));
	uint64_t l3 = drain(r, &next, 0);
	CHECK(l3 > 0);
	lost += l3;
	mapq_reader_close(r);

	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.lost, lost); /* the queue's count agrees with the reader's */
	mapq_close(q);
	return 0;
}
