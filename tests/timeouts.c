/* SPDX-License-Identifier: MIT */
/* timeouts: a timeout is 0, a number of milliseconds or MAPQ_FOREVER;
 * any other negative value is refused, not taken as "for ever". And a
 * writer blocked on a damaged frame at head (pos and lap tag right,
 * state "never written") returns by its deadline: it once spun at full
 * CPU for ever there. Each wait runs in a child under alarm(), so a wait
 * that never ends fails the test in seconds instead of hanging it.
 *
 * And each call that waits (send and reserve on a full ring, read and
 * recv on an empty one) returns when its timeout says, for 0, 1 ms, tens
 * of milliseconds, under a second, over two seconds (the deadline's
 * seconds and nanoseconds both move) and near INT_MAX (which must not
 * return early, and must still return once what it waits for happens):
 * a deadline computed wrongly for some values still returns, at the wrong
 * time, which only a bound on the time sees. The waits run at once, each
 * in its own child, so the test takes about as long as the longest. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
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

/* ---- every waiting call, every kind of timeout ---------------------- */

enum call {
	SEND,
	RESERVE,
	READ,
	RECV,
	NCALLS, /* the calls with a timeout; and one without: */
	SYNC = NCALLS
};
static const char *const call_name[NCALLS + 1] = { "mapq_send", "mapq_reserve", "mapq_read",
						   "mapq_recv", "mapq_sync" };

/* The queue a child waits on: its file, and the unblock timeout its
 * handles use (not stored in the file; 0: the default). */
struct target {
	const char *name;
	int32_t unblock_ms;
};

struct waiter {
	pid_t pid;
	int fd;
	enum call call;
	int timeout;
};

static int call_once(enum call c, mapq *q, mapq_reader *r, int timeout)
{
	uint8_t msg[LEN] = { 0 };
	void *p;
	mapq_msg m;
	int rc;
	switch (c) {
	case SEND:
		return mapq_send(q, msg, sizeof(msg), timeout);
	case RESERVE:
		if ((rc = mapq_reserve(q, sizeof(msg), &p, timeout)) != 0)
			return rc;
		return mapq_commit(q, sizeof(msg));
	case READ:
		if ((rc = mapq_read(r, &m, timeout)) != 0)
			return rc;
		return mapq_release(r);
	case SYNC:
		return mapq_sync(q);
	default:
		rc = (int)mapq_recv(r, msg, sizeof(msg), timeout);
		return rc > 0 ? 0 : rc;
	}
}

static uint64_t cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The call in a child (killed by SIGALRM after 30 s); what it returned,
 * how long it took and the CPU time it used come back through a pipe.
 * The child opens its own handle and reader, as mapq.h asks of a forked
 * process: on the parent's, it would share the parent's open file
 * description, see the parent's liveness locks as its own, and take the
 * parent's writer for dead (a reader child then repaired the parent's
 * frame as it was being written, whenever it looked in that window). */
static struct waiter start(enum call c, struct target tg, int timeout)
{
	int fd;
	pid_t pid = t_fork_reporting(30, &fd);
	if (pid == 0) {
		mapq_options o;
		mapq *q;
		mapq_reader *r = NULL;
		mapq_options_init(&o);
		o.unblock_ms = tg.unblock_ms;
		CHECK_OK(mapq_open(&q, t_path(tg.name), 0, &o));
		if (c == READ || c == RECV)
			CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
		uint64_t t0 = t_now_ms(), cpu0 = cpu_ms();
		int rc = call_once(c, q, r, timeout);
		int64_t out[3] = { rc, (int64_t)(t_now_ms() - t0), (int64_t)(cpu_ms() - cpu0) };
		t_report(fd, out, sizeof(out));
	}
	return (struct waiter){ pid, fd, c, timeout };
}

/* Has the call returned within @ms? */
static bool returned_within(const struct waiter *w, int ms)
{
	struct pollfd p = { .fd = w->fd, .events = POLLIN };
	return poll(&p, 1, ms) > 0;
}

/* What the call returned; *ms its time, *cpu the CPU time it used. */
static int finish(const struct waiter *w, uint64_t *ms, uint64_t *cpu)
{
	if (!returned_within(w, 35000))
		t_fail(__FILE__, __LINE__, "%s (timeout %d ms) never reported", call_name[w->call],
		       w->timeout);
	int64_t in[3];
	ssize_t n = read(w->fd, in, sizeof(in));
	close(w->fd);
	int st = t_wait_child(w->pid);
	if (st == 128 + SIGALRM)
		t_fail(__FILE__, __LINE__, "%s (timeout %d ms) was still running after 30 s",
		       call_name[w->call], w->timeout);
	CHECK_EQ(st, 0);
	CHECK_EQ(n, sizeof(in));
	*ms = (uint64_t)in[1];
	*cpu = (uint64_t)in[2];
	return (int)in[0];
}

/* One call in a child, waited for: what it returned, and its time. */
static int timed(enum call c, struct target tg, int timeout_ms, uint64_t *ms)
{
	struct waiter w = start(c, tg, timeout_ms);
	uint64_t cpu;
	return finish(&w, ms, &cpu);
}

/* A ring that a reader at the oldest message keeps full. */
static mapq *full_ring(const char *name, mapq_reader **r)
{
	mapq *q = t_create(name, CAP, MAPQ_BLOCK);
	uint8_t msg[LEN] = { 0 };
	CHECK_OK(mapq_reader_open(q, r, NULL, MAPQ_START_OLDEST));
	int n = 0;
	while (mapq_send(q, msg, sizeof(msg), 0) == 0 && n < 10)
		n++;
	CHECK_EQ(n, 3);
	return q;
}

static bool under_valgrind(void)
{
	const char *s = getenv("T_SCALE"); /* set by check-valgrind */
	return s && strtod(s, NULL) < 1;
}

static void timeout_bounds(void)
{
	/* Late by at most this much: loaded CI machines, and Valgrind, where
	 * two dozen children start at once. */
	const uint64_t slack = under_valgrind() ? 5000 : 800;
	static const int timeouts[] = { 0, 1, 30, 700, 2100 };
	enum {
		NT = sizeof(timeouts) / sizeof(timeouts[0])
	};
	mapq_reader *fr;
	const struct target full_t = { "full-bounds", 0 }, empty_t = { "empty-bounds", 0 };
	mapq *full = full_ring(full_t.name, &fr);
	mapq *empty = t_create(empty_t.name, CAP, MAPQ_BLOCK);
	struct waiter w[NCALLS][NT], forever[NCALLS];
	for (int c = 0; c < NCALLS; c++)
		for (int t = 0; t < NT; t++)
			w[c][t] = start((enum call)c, c < READ ? full_t : empty_t, timeouts[t]);
	/* Near INT_MAX, one queue each, so that one action frees each. */
	mapq *fq[2], *eq[2];
	mapq_reader *fqr[2];
	fq[0] = full_ring("full-max0", &fqr[0]);
	fq[1] = full_ring("full-max1", &fqr[1]);
	eq[0] = t_create("empty-max0", CAP, MAPQ_BLOCK);
	eq[1] = t_create("empty-max1", CAP, MAPQ_BLOCK);
	forever[SEND] = start(SEND, (struct target){ "full-max0", 0 }, INT_MAX);
	forever[RESERVE] = start(RESERVE, (struct target){ "full-max1", 0 }, INT_MAX - 1);
	forever[READ] = start(READ, (struct target){ "empty-max0", 0 }, INT_MAX);
	forever[RECV] = start(RECV, (struct target){ "empty-max1", 0 }, INT_MAX - 999);

	for (int c = 0; c < NCALLS; c++)
		for (int t = 0; t < NT; t++) {
			uint64_t ms, cpu;
			int rc = finish(&w[c][t], &ms, &cpu);
			int want = timeouts[t] == 0 ? -EAGAIN : -ETIMEDOUT;
			if (rc != want || ms + 1 < (uint64_t)timeouts[t] ||
			    ms > (uint64_t)timeouts[t] + slack)
				t_fail(__FILE__, __LINE__,
				       "%s with timeout %d ms returned %s after %" PRIu64
				       " ms, want %s in %d ... %" PRIu64 " ms",
				       call_name[c], timeouts[t], mapq_err_name(rc), ms,
				       mapq_err_name(want), timeouts[t], timeouts[t] + slack);
		}
	/* By now (over 2 s) none of the long waits may have returned. */
	for (int c = 0; c < NCALLS; c++)
		if (returned_within(&forever[c], 0))
			t_fail(__FILE__, __LINE__, "%s with a timeout near INT_MAX returned early",
			       call_name[c]);
	/* Free each one's way: space for the writers, a message for the readers. */
	char buf[LEN];
	CHECK_EQ(mapq_recv(fqr[0], buf, sizeof(buf), 0), LEN);
	CHECK_EQ(mapq_recv(fqr[1], buf, sizeof(buf), 0), LEN);
	CHECK_OK(mapq_send(eq[0], "x", 1, 0));
	CHECK_OK(mapq_send(eq[1], "x", 1, 0));
	for (int c = 0; c < NCALLS; c++) {
		uint64_t ms, cpu;
		int rc = finish(&forever[c], &ms, &cpu);
		if (rc != 0)
			t_fail(__FILE__, __LINE__, "%s with a timeout near INT_MAX returned %s",
			       call_name[c], mapq_err_name(rc));
	}

	/* A wait sleeps. One writer and one reader wait a second each, alone
	 * on the machine's CPUs, so that a wait that spins would use most of
	 * a CPU; a sleeping one uses a few per cent (it looks at its writer
	 * or its word every few milliseconds). Not under Valgrind, which
	 * makes every look a hundred times dearer. */
	if (!under_valgrind()) {
		struct waiter solo[2] = { start(SEND, full_t, 1000), start(READ, empty_t, 1000) };
		for (int i = 0; i < 2; i++) {
			uint64_t ms, cpu;
			CHECK_RC(finish(&solo[i], &ms, &cpu), -ETIMEDOUT);
			if (cpu > ms / 4 + 50)
				t_fail(__FILE__, __LINE__,
				       "%s waiting %" PRIu64 " ms used %" PRIu64
				       " ms of CPU: it spun instead of sleeping",
				       call_name[solo[i].call], ms, cpu);
		}
	}
	mapq_close(full);
	mapq_close(empty);
	for (int i = 0; i < 2; i++) {
		mapq_close(fq[i]);
		mapq_close(eq[i]);
	}
}

int main(void)
{
	uint64_t ms;
	bad_timeouts();
	timeout_bounds();

	/* Readers never give up on the frame: the writer must time out. */
	mapq *q = damaged_head("never", -1);
	CHECK_RC(timed(SEND, (struct target){ "never", -1 }, 200, &ms), -ETIMEDOUT);
	CHECK(ms >= 190 && ms < 2000);
	mapq_close(q);

	/* After the unblock timeout the damaged frame is space to fill: the
	 * send either gets through or times out, in time either way. */
	q = damaged_head("forced", 50);
	int rc = timed(SEND, (struct target){ "forced", 50 }, 300, &ms);
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
	CHECK_RC(timed(SYNC, (struct target){ "full", 100 }, 0, &ms), -ETIMEDOUT);
	CHECK(ms >= 150 && ms < 2000);
	mapq_close(q);
	return 0;
}
