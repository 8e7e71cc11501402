/* SPDX-License-Identifier: MIT */
/* timeouts: a timeout is 0, a number of milliseconds or MAPQ_FOREVER;
 * any other negative value is refused, not taken as "for ever". And a
 * writer blocked on a damaged frame at head (pos and lap tag right,
 * state "never written") returns by its deadline: it once spun at full
 * CPU for ever there. Each wait runs in a child under alarm(), so a wait
 * that never ends fails the test in seconds instead of hanging it. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define CAP 4096u
#define LEN 1000u /* 1040-byte frames: three fit, the fourth waits on head */

static void bad_timeouts(void)
{
	mapq *q = t_create("bad", CAP, MAPQ_BLOCK);
	mapq_reader *r;
	mapq_msg m;
	void *p;
	char buf[8];
	static const int bad[] = { -2, -1000, INT_MIN };
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_RC(mapq_send(q, "x", 1, bad[i]), -EINVAL);
		CHECK_RC(mapq_reserve(q, 1, &p, bad[i]), -EINVAL);
		CHECK_RC(mapq_read(r, &m, bad[i]), -EINVAL);
		CHECK_RC(mapq_recv(r, buf, sizeof(buf), bad[i]), -EINVAL);
	}
	/* nothing was sent by the refused calls; MAPQ_FOREVER is taken */
	CHECK_RC(mapq_recv(r, buf, sizeof(buf), 0), -EAGAIN);
	CHECK_OK(mapq_send(q, "x", 1, MAPQ_FOREVER));
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), MAPQ_FOREVER), 1);
	mapq_close(q);
}

/* Fill a ring with three frames, then damage the one at head: pos says
 * it is published, its tag is this lap's, its state is 0. */
static mapq *damaged_head(const char *name, int32_t unblock_ms)
{
	mapq_options o;
	mapq *q;
	uint8_t msg[LEN] = { 0 };
	mapq_options_init(&o);
	o.capacity = CAP;
	o.unblock_ms = unblock_ms;
	CHECK_OK(mapq_open(&q, t_path(name), MAPQ_CREATE | MAPQ_EXCL, &o));
	for (int i = 0; i < 3; i++)
		CHECK_OK(mapq_send(q, msg, sizeof(msg), 0));
	CHECK_EQ(frame_pos_at(q, 0), 0);
	atomic_store(commit_at(q, 0), cw_make(frame_size(LEN), FRAME_NONE, 0, lap_of(q, 0)));
	return q;
}

/* A send that needs the damaged frame's space (or, with timeout -2, a
 * sync), in a child killed by SIGALRM after 10 s. Returns what the call
 * returned, and its time. */
static int timed_send(mapq *q, int timeout_ms, uint64_t *ms)
{
	int fd[2];
	CHECK_EQ(pipe(fd), 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fd[0]);
		alarm(10);
		uint8_t msg[LEN] = { 0 };
		uint64_t t0 = t_now_ms();
		int rc = timeout_ms == -2 ? mapq_sync(q)
					  : mapq_send(q, msg, sizeof(msg), timeout_ms);
		int64_t out[2] = { rc, (int64_t)(t_now_ms() - t0) };
		t_exit(write(fd[1], out, sizeof(out)) == (ssize_t)sizeof(out) ? 0 : T_ERROR);
	}
	close(fd[1]); /* ours closed: a child that dies gives EOF, not a hang */
	int64_t in[2];
	ssize_t n = read(fd[0], in, sizeof(in));
	close(fd[0]);
	int st = t_wait_child(pid);
	if (st == 128 + SIGALRM)
		t_fail(__FILE__, __LINE__, "a %s (timeout %d ms) was still running after 10 s",
		       timeout_ms == -2 ? "sync" : "send", timeout_ms);
	CHECK_EQ(st, 0);
	CHECK_EQ(n, sizeof(in));
	*ms = (uint64_t)in[1];
	return (int)in[0];
}

int main(void)
{
	uint64_t ms;
	bad_timeouts();

	/* Readers never give up on the frame: the writer must time out. */
	mapq *q = damaged_head("never", -1);
	CHECK_RC(timed_send(q, 200, &ms), -ETIMEDOUT);
	CHECK(ms >= 190 && ms < 2000);
	mapq_close(q);

	/* After the unblock timeout the damaged frame is space to fill: the
	 * send either gets through or times out, in time either way. */
	q = damaged_head("forced", 50);
	int rc = timed_send(q, 300, &ms);
	if (rc != 0 && rc != -ETIMEDOUT)
		t_fail(__FILE__, __LINE__, "send returned %s", mapq_err_name(rc));
	CHECK(ms < 2000);
	mapq_close(q);

	/* A sync in a ring held full by a durable reader that is gone waits
	 * twice the unblock timeout for space, not for ever. */
	mapq_options o;
	mapq_reader *r;
	uint8_t msg[LEN] = { 0 };
	mapq_options_init(&o);
	o.capacity = 1 << 14; /* mapq_sync fills to a page from 16 KiB up */
	o.unblock_ms = 100;
	CHECK_OK(mapq_open(&q, t_path("full"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, "gone", MAPQ_START_OLDEST));
	mapq_reader_close(r); /* detached: it holds writers back */
	int n = 0;
	while (mapq_send(q, msg, sizeof(msg), 0) == 0 && n < 100)
		n++;
	while (mapq_send(q, msg, 0, 0) == 0 && n < 200) /* to the last 16 bytes */
		n++;
	CHECK(n > 0 && n < 200);
	CHECK_RC(timed_send(q, -2, &ms), -ETIMEDOUT);
	CHECK(ms >= 150 && ms < 2000);
	mapq_close(q);
	return 0;
}
