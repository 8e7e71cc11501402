/* SPDX-License-Identifier: MIT */
/*
 * wakeups: every change a sleeping process waits for wakes it, within a
 * bound far below the time it would take to look again by itself.
 *
 * A waiter looks again now and then without being woken (mapq__poll,
 * wait.c): a wake-up that is never sent is hidden by that look, and all
 * the messages still arrive, only later. So here the looks are made 8 s
 * apart, each sleeper runs in its own process, and the time from the
 * waker's action to the sleeper's return must be under 300 ms. One case
 * per wake path:
 *   - a commit wakes a reader at an empty queue, a reader at a frame
 *     still being written, and a writer waiting for that frame at head;
 *   - an abort wakes a reader at the aborted frame, and a forsaken
 *     writer's abort of its own frame a writer waiting for it at head;
 *   - a release, a reader's close, the drop of a detached durable reader,
 *     and the recovery of a dead reader, by mapq_recover() or by another
 *     writer that finds it dead, wake a writer held back;
 *   - the repair of a dead writer's frame wakes a reader waiting at it.
 * The waker acts only once the sleeper's flag is up and it has had time
 * to fall asleep. Each sleeper's timeout ends before its first look, so
 * its one sleep is its last; it enters with errno ETIMEDOUT, as an
 * earlier sleep that timed out leaves it: a wake-up that finds errno so
 * must not be taken for the timeout.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define CAP 4096u
#define LEN 1000u             /* 1040-byte frames: three fit in the ring */
#define LOOK_NS 8000000000ull /* mapq__poll's, for every sleeper here */
#define SLEEP_MS 7000         /* under LOOK_NS */

static uint64_t bound_ms;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* the same clock in every process */
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

enum op {
	RECV,
	SEND
};

struct sleeper {
	const char *what;
	pid_t pid;
	int fd;
};

/* In a child, with a handle of its own on queue @name (one inherited
 * would share our liveness locks, and our recovery would take the child
 * for part of us): recv from a new reader at the oldest message, or send,
 * with a long timeout; reports what it returned and when. */
static struct sleeper sleep_in(const char *what, enum op op, const char *name)
{
	int fd;
	pid_t pid = t_fork_reporting(40, &fd);
	if (pid == 0) {
		uint8_t buf[LEN] = { 0 };
		mapq *q;
		mapq_reader *r = NULL;
		CHECK_OK(mapq_open(&q, t_path(name), 0, NULL));
		if (op == RECV)
			CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
		errno = ETIMEDOUT;
		ssize_t n = op == RECV ? mapq_recv(r, buf, sizeof(buf), SLEEP_MS)
				       : mapq_send(q, buf, sizeof(buf), SLEEP_MS);
		int64_t out[2] = { n < 0 ? n : 0, (int64_t)now_us() };
		t_report(fd, out, sizeof(out));
	}
	return (struct sleeper){ what, pid, fd };
}

static bool returned(const struct sleeper *s, int ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	return poll(&p, 1, ms) > 0;
}

/* Wait (5 s at most) for the sleeper's flag, then give it time to sleep. */
static void asleep(const struct sleeper *s, _Atomic uint32_t *flag)
{
	uint64_t t0 = t_now_ms();
	while (atomic_load(flag) == 0) {
		if (returned(s, 0))
			t_fail(__FILE__, __LINE__, "%s: the sleeper returned before it slept",
			       s->what);
		if (t_now_ms() - t0 > 5000)
			t_fail(__FILE__, __LINE__, "%s: the sleeper never raised its flag",
			       s->what);
		usleep(1000);
	}
	usleep(50000);
	if (returned(s, 0))
		t_fail(__FILE__, __LINE__, "%s: the sleeper returned before it was woken", s->what);
}

/* The sleeper must have returned 0 within bound_ms of @t0 (now_us). */
static void woken(const struct sleeper *s, uint64_t t0)
{
	if (!returned(s, SLEEP_MS + 10000))
		t_fail(__FILE__, __LINE__, "%s: the sleeper never reported", s->what);
	int64_t in[2];
	ssize_t n = read(s->fd, in, sizeof(in));
	close(s->fd);
	CHECK_EQ(t_wait_child(s->pid), 0);
	CHECK_EQ(n, sizeof(in));
	if (in[0] != 0)
		t_fail(__FILE__, __LINE__, "%s: the sleeper's call returned %s", s->what,
		       mapq_err_name((int)in[0]));
	uint64_t ms = ((uint64_t)in[1] - t0) / 1000u;
	if ((uint64_t)in[1] < t0 || ms > bound_ms)
		t_fail(__FILE__, __LINE__,
		       "%s: woken %" PRIu64 " ms after the change, want under %" PRIu64
		       " ms (a wake-up not sent: it waited for its next look)",
		       s->what, ms, bound_ms);
	printf("%-58s %6.2f ms\n", s->what, (double)((uint64_t)in[1] - t0) / 1000.0);
}

static mapq *queue(const char *name)
{
	mapq_options o;
	mapq *q;
	mapq_options_init(&o);
	o.capacity = CAP;
	o.unblock_ms = 60000; /* no forced unblock: only wake-ups and looks */
	CHECK_OK(mapq_open(&q, t_path(name), MAPQ_CREATE | MAPQ_EXCL, &o));
	/* Kept where a forked child's leak check finds it (util.h). */
	for (int i = 0; i < T_MAX_QUEUES; i++)
		if (!t_queues[i]) {
			t_queues[i] = q;
			break;
		}
	return q;
}

static void fill(mapq *q)
{
	uint8_t m[LEN] = { 0 };
	for (int i = 0; i < 3; i++)
		CHECK_OK(mapq_send(q, m, sizeof(m), 0));
	CHECK_RC(mapq_send(q, m, sizeof(m), 0), -EAGAIN);
}

/* A child that stays alive until killed, after @fn ran in it on a handle
 * of its own (an inherited one shares our liveness locks: it would never
 * look dead). */
static pid_t hold(void (*fn)(mapq *), const char *name)
{
	int fd;
	pid_t pid = t_fork_reporting(40, &fd);
	if (pid == 0) {
		mapq *q;
		CHECK_OK(mapq_open(&q, t_path(name), 0, NULL));
		fn(q);
		if (write(fd, "k", 1) != 1)
			t_exit(T_ERROR);
		for (;;)
			pause();
	}
	char c;
	CHECK_EQ(read(fd, &c, 1), 1);
	close(fd);
	return pid;
}

static void kill_held(pid_t pid)
{
	CHECK(kill(pid, SIGKILL) == 0);
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
}

static void attach_reader(mapq *q)
{
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
}

static void reserve_frame(mapq *q)
{
	void *p;
	CHECK_OK(mapq_reserve(q, LEN, &p, 0));
}

/* A writer waits for the frame at head, whose writer a repairer forsook
 * (@published: the frame published claimed and forsaken; else only the
 * record marked, the frame's word stale bytes): that writer's commit
 * aborts the frame itself, says -MAPQ_ESTALLED, and wakes the waiter. */
static void abandoned(const char *name, const char *what, bool published)
{
	uint8_t m[LEN] = { 0 };
	void *p;
	mapq *q = queue(name), *q2;
	CHECK_OK(mapq_open(&q2, t_path(name), 0, NULL));
	CHECK_OK(mapq_reserve(q, LEN, &p, 0)); /* at head, no reader */
	uint64_t at = q->resv_pos;
	CHECK_OK(mapq_send(q2, m, sizeof(m), 0));
	CHECK_OK(mapq_send(q2, m, sizeof(m), 0));
	struct sleeper s = sleep_in(what, SEND, name);
	asleep(&s, &q->ctl->data_sleepers);
	/* as a repairer does it (repair.c): the record marked first; nobody
	 * wakes for either step */
	atomic_fetch_or(&q->wslots[q->wslot].resv_size, RESV_FORSAKEN);
	if (published) {
		atomic_store(commit_at(q, at),
			     cw_make(frame_size(LEN), FRAME_CLAIMED, 0, lap_of(q, at)) |
				     CW_FORSAKEN);
		atomic_store(&frame_at(q, at)->pos, at);
		usleep(50000);
		if (returned(&s, 0))
			t_fail(__FILE__, __LINE__,
			       "%s: the writer went on before the frame was aborted", what);
	} else {
		atomic_store(commit_at(q, at), 0);
	}
	uint64_t t0 = now_us();
	CHECK_RC(mapq_commit(q, LEN), -MAPQ_ESTALLED);
	woken(&s, t0);
	mapq_close(q2);
	mapq_close(q);
}

/* How many times a reader waiting @ms on the empty queue @name slept
 * (voluntary context switches), in a child with a handle of its own. */
static long idle_sleeps(const char *name, int ms)
{
	int fd;
	pid_t pid = t_fork_reporting(40, &fd);
	if (pid == 0) {
		mapq *q;
		mapq_reader *r;
		char buf[8];
		struct rusage a, b;
		CHECK_OK(mapq_open(&q, t_path(name), 0, NULL));
		CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
		CHECK_EQ(getrusage(RUSAGE_SELF, &a), 0);
		CHECK_RC(mapq_recv(r, buf, sizeof(buf), ms), -ETIMEDOUT);
		CHECK_EQ(getrusage(RUSAGE_SELF, &b), 0);
		long n = b.ru_nvcsw - a.ru_nvcsw;
		t_report(fd, &n, sizeof(n));
	}
	long n = -1;
	CHECK_EQ(read(fd, &n, sizeof(n)), sizeof(n));
	close(fd);
	CHECK_EQ(t_wait_child(pid), 0);
	return n;
}

int main(void)
{
	const char *scale = getenv("T_SCALE"); /* set by check-valgrind */
	bound_ms = scale && strtod(scale, NULL) < 1 ? 3000 : 300;
	mapq__poll.unblock_ns = mapq__poll.idle_ns = mapq__poll.space_ns = LOOK_NS;
	setvbuf(stdout, NULL, _IONBF, 0);
	uint8_t m[LEN] = { 0 };
	void *p;
	mapq *q, *q2;
	mapq_reader *r;
	struct sleeper s;
	uint64_t t0;

	q = queue("commit-empty");
	s = sleep_in("a commit wakes a reader at an empty queue", RECV, "commit-empty");
	asleep(&s, &q->ctl->data_sleepers);
	t0 = now_us();
	CHECK_OK(mapq_send(q, "x", 1, 0));
	woken(&s, t0);
	mapq_close(q);

	q = queue("commit-claimed");
	CHECK_OK(mapq_reserve(q, LEN, &p, 0));
	s = sleep_in("a commit wakes a reader at the frame being written", RECV, "commit-claimed");
	asleep(&s, &q->ctl->data_sleepers);
	t0 = now_us();
	CHECK_OK(mapq_commit(q, LEN));
	woken(&s, t0);
	mapq_close(q);

	q = queue("commit-head");
	CHECK_OK(mapq_open(&q2, t_path("commit-head"), 0, NULL));
	CHECK_OK(mapq_reserve(q, LEN, &p, 0)); /* at head, no reader */
	CHECK_OK(mapq_send(q2, m, sizeof(m), 0));
	CHECK_OK(mapq_send(q2, m, sizeof(m), 0));
	s = sleep_in("a commit wakes a writer waiting for that frame at head", SEND, "commit-head");
	asleep(&s, &q->ctl->data_sleepers);
	t0 = now_us();
	CHECK_OK(mapq_commit(q, LEN));
	woken(&s, t0);
	mapq_close(q2);
	mapq_close(q);

	q = queue("abort");
	CHECK_OK(mapq_open(&q2, t_path("abort"), 0, NULL));
	CHECK_OK(mapq_reserve(q, LEN, &p, 0));
	CHECK_OK(mapq_send(q2, "after", 5, 0));
	s = sleep_in("an abort wakes a reader at the aborted frame", RECV, "abort");
	asleep(&s, &q->ctl->data_sleepers);
	t0 = now_us();
	CHECK_OK(mapq_abort(q));
	woken(&s, t0);
	mapq_close(q2);
	mapq_close(q);

	abandoned("abandon", "a forsaken writer's own abort wakes a writer at head", true);
	abandoned("abandon-hole", "... and so does its abort of a frame nobody published", false);

	q = queue("release");
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	fill(q);
	s = sleep_in("a release wakes a writer held back by the reader", SEND, "release");
	asleep(&s, &q->ctl->space_sleepers);
	t0 = now_us();
	CHECK_EQ(mapq_recv(r, m, sizeof(m), 0), LEN);
	woken(&s, t0);
	mapq_close(q);

	q = queue("close");
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	fill(q);
	s = sleep_in("a reader's close wakes a writer it held back", SEND, "close");
	asleep(&s, &q->ctl->space_sleepers);
	t0 = now_us();
	mapq_reader_close(r);
	woken(&s, t0);
	mapq_close(q);

	q = queue("drop");
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_OLDEST));
	mapq_reader_close(r); /* detached: it still holds writers back */
	fill(q);
	s = sleep_in("dropping a detached durable reader wakes a writer", SEND, "drop");
	asleep(&s, &q->ctl->space_sleepers);
	t0 = now_us();
	CHECK_OK(mapq_reader_drop(q, "d"));
	woken(&s, t0);
	mapq_close(q);

	q = queue("dead-reader");
	pid_t reader = hold(attach_reader, "dead-reader");
	fill(q);
	s = sleep_in("recovering a dead reader's slot wakes a writer", SEND, "dead-reader");
	asleep(&s, &q->ctl->space_sleepers);
	kill_held(reader); /* dead readers wake nobody */
	if (returned(&s, 200))
		t_fail(__FILE__, __LINE__,
		       "the writer went on before the dead reader was recovered");
	t0 = now_us();
	CHECK_OK(mapq_recover(q, NULL));
	woken(&s, t0);
	mapq_close(q);

	q = queue("dead-reader-reaped");
	reader = hold(attach_reader, "dead-reader-reaped");
	fill(q);
	s = sleep_in("a writer that frees a dead reader's slot wakes another", SEND,
		     "dead-reader-reaped");
	asleep(&s, &q->ctl->space_sleepers);
	kill_held(reader);
	if (returned(&s, 200))
		t_fail(__FILE__, __LINE__, "the writer went on before the dead reader was freed");
	t0 = now_us();
	CHECK_OK(mapq_send(q, m, sizeof(m), 0)); /* cannot wait: looks at the reader at once */
	woken(&s, t0);
	mapq_close(q);

	q = queue("dead-writer");
	pid_t writer = hold(reserve_frame, "dead-writer");
	CHECK_OK(mapq_send(q, "after", 5, 0));
	s = sleep_in("repairing a dead writer's frame wakes a reader at it", RECV, "dead-writer");
	asleep(&s, &q->ctl->data_sleepers);
	kill_held(writer); /* dead writers wake nobody */
	if (returned(&s, 200))
		t_fail(__FILE__, __LINE__, "the reader went on before the frame was repaired");
	t0 = now_us();
	mapq_recovery rep;
	CHECK_OK(mapq_recover(q, &rep));
	CHECK(rep.claims_aborted >= 1); /* its claim hint, helped in and aborted */
	woken(&s, t0);
	mapq_close(q);

	/* A reader at an empty queue looks for dead writers at the idle
	 * poll, not at the 1 ms one meant for a writer on its frame (it once
	 * did: an idle reader woke a thousand times a second). Counted in
	 * sleeps, not time: 1 ms looks would make about 500 here. */
	mapq__poll.unblock_ns = 1000000u;
	q = queue("idle");
	long n = idle_sleeps("idle", 500);
	printf("%-58s %6ld sleeps\n", "a reader idle for 500 ms (idle looks 8 s apart)", n);
	if (n > 50)
		t_fail(__FILE__, __LINE__,
		       "a reader idle for 500 ms slept %ld times: it looked every millisecond", n);
	mapq_close(q);
	return 0;
}
