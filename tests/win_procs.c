/* SPDX-License-Identifier: MIT */
/*
 * win_procs: processes on Windows, spawned with CreateProcess() and killed
 * with TerminateProcess(), as the Linux tests fork and SIGKILL:
 *
 *   many     4 writer processes and 3 reader processes over one small
 *            queue: every reader gets every message once, each writer's in
 *            order, every byte as sent;
 *   writer   a writer killed with its frame half written: a reader blocked
 *            behind that frame gets the next message, not the half one
 *            (and the time from the kill to that delivery is printed);
 *   reader   a reader killed while writers wait for it in a full queue:
 *            they go on (time printed as well);
 *   durable  a durable reader that stops, then one killed holding a
 *            message it read: each restart resumes where the last one
 *            stopped, the held message delivered again;
 *   overwrite two writer processes lap a reader process under
 *            MAPQ_OVERWRITE: what it reads plus what it was told it lost
 *            is what was sent, each writer's messages in order.
 *
 * Children report through their exit status (0: all checks passed) and
 * their stderr; every wait is bounded, and children still running when
 * the test fails are killed. The test directory is removed pass or fail.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win_util.h"

#define MANY_WRITERS 4
#define MANY_READERS 3
#define MANY_MSGS 3000 /* per writer */

/* A message: "W SEQ " then bytes that follow from both, to a length that
 * does too, so that a reader can check every byte. */
static size_t make_msg(char *buf, unsigned w, unsigned seq)
{
	int n = snprintf(buf, 32, "%u %u ", w, seq);
	size_t len = (size_t)n + (seq * 7 + w * 13) % 180;
	for (size_t i = (size_t)n; i < len; i++)
		buf[i] = (char)('a' + (i + seq + w) % 26);
	return len;
}

/* Check @len bytes at @p: 0 and the writer and sequence, or -1. */
static int check_msg(const char *p, size_t len, unsigned *w, unsigned *seq)
{
	char want[256], head[32];
	size_t n = len < sizeof(head) - 1 ? len : sizeof(head) - 1;
	memcpy(head, p, n);
	head[n] = 0;
	if (sscanf(head, "%u %u ", w, seq) != 2 || *w >= 16)
		return -1;
	return make_msg(want, *w, *seq) == len && memcmp(want, p, len) == 0 ? 0 : -1;
}

static mapq *open_q(const char *name)
{
	mapq *q;
	CHECK_OK(mapq_open(&q, name, 0, NULL));
	return q;
}

/* A reader of @queue from its oldest message; the queue through @q. */
static mapq_reader *open_reader(const char *queue, mapq **q)
{
	mapq_reader *r;
	*q = open_q(queue);
	CHECK_OK(mapq_reader_open(*q, &r, NULL, MAPQ_START_OLDEST));
	return r;
}

/* Wait, at most 20 s, until @q has @n readers attached. */
static void wait_readers(mapq *q, uint32_t n)
{
	mapq_counters c;
	for (int i = 0; i < 2000; i++) {
		CHECK_OK(mapq_stats(q, &c));
		if (c.readers_attached >= n)
			return;
		Sleep(10);
	}
	wt_fail(__LINE__, "%u readers attached after 20 s, want %u", c.readers_attached, n);
}

/* --- The children ------------------------------------------------------- */

static int child_writer(const char *queue, unsigned w, unsigned count)
{
	mapq *q = open_q(queue);
	char m[256];
	for (unsigned seq = 0; seq < count; seq++)
		CHECK_OK(mapq_send(q, m, make_msg(m, w, seq), 30000));
	mapq_close(q);
	return 0;
}

/* Read @count messages of @writers writers; check order and bytes. */
static int child_reader(const char *queue, unsigned writers, unsigned count)
{
	mapq *q;
	mapq_reader *r = open_reader(queue, &q);
	unsigned next[16] = { 0 };
	char m[256];
	for (unsigned got = 0; got < writers * count; got++) {
		ssize_t n = mapq_recv(r, m, sizeof(m), 30000);
		if (n < 0)
			wt_fail(__LINE__, "after %u messages: %s", got, mapq_strerror((int)n));
		unsigned w, seq;
		if (check_msg(m, (size_t)n, &w, &seq) != 0 || w >= writers)
			wt_fail(__LINE__, "message %u is damaged (%lld bytes)", got, (long long)n);
		if (seq != next[w])
			wt_fail(__LINE__, "writer %u: message %u came where %u was due", w, seq,
				next[w]);
		next[w]++;
	}
	CHECK_RC(mapq_recv(r, m, sizeof(m), 0), -EAGAIN);
	mapq_reader_close(r);
	mapq_close(q);
	return 0;
}

/* Reserve a frame, write half of it, say so, and wait to be killed. */
static int child_half_writer(const char *queue)
{
	mapq *q = open_q(queue);
	void *p;
	CHECK_OK(mapq_reserve(q, 64, &p, 5000));
	memset(p, 'x', 32);
	SetEvent(wt_event("half-ready"));
	Sleep(30000); /* killed long before */
	return 3;
}

/* Attach a reader that reads nothing, say so, and wait to be killed. */
static int child_idle_reader(const char *queue)
{
	mapq *q;
	(void)open_reader(queue, &q); /* held until the kill */
	SetEvent(wt_event("idle-ready"));
	Sleep(30000);
	return 3;
}

/* The durable reader "d": expect messages @from.. (@count of them, each
 * the decimal number it holds), then, with @hold, read one more without
 * releasing it, say so, and wait to be killed. */
static int child_durable(const char *queue, unsigned from, unsigned count, int hold)
{
	mapq *q = open_q(queue);
	mapq_reader *r;
	char want[32];
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_RESUME));
	for (unsigned i = from; i < from + count; i++) {
		snprintf(want, sizeof(want), "%u", i);
		wt_expect_str(r, want, 5000);
	}
	if (hold) {
		mapq_msg msg;
		CHECK_OK(mapq_read(r, &msg, 5000));
		SetEvent(wt_event("durable-holds"));
		Sleep(30000);
		return 3;
	}
	mapq_reader_close(r);
	mapq_close(q);
	return 0;
}

/* Wait for "go", then read what is left: got + lost must be @total. */
static int child_lapped(const char *queue, unsigned writers, unsigned total)
{
	mapq *q;
	mapq_reader *r = open_reader(queue, &q);
	SetEvent(wt_event("lapped-ready"));
	CHECK(WaitForSingleObject(wt_event("lapped-go"), 30000) == WAIT_OBJECT_0);
	unsigned long long got = 0, lost = 0, lapped = 0;
	int next[16];
	for (unsigned w = 0; w < 16; w++)
		next[w] = -1;
	char m[256];
	for (unsigned i = 0; i < 4 * total; i++) { /* bounded: each call consumes or reports */
		ssize_t n = mapq_recv(r, m, sizeof(m), 0);
		if (n == -EAGAIN)
			break;
		if (n == -MAPQ_ELAPPED) {
			lost += mapq_reader_lost(r);
			lapped++;
			continue;
		}
		if (n < 0)
			wt_fail(__LINE__, "after %llu messages: %s", got, mapq_strerror((int)n));
		unsigned w, seq;
		if (check_msg(m, (size_t)n, &w, &seq) != 0 || w >= writers)
			wt_fail(__LINE__, "message %llu is damaged", got);
		if ((int)seq <= next[w])
			wt_fail(__LINE__, "writer %u: %u came after %d", w, seq, next[w]);
		next[w] = (int)seq;
		got++;
	}
	fprintf(stderr, "win_procs: lapped reader: %llu read, %llu lost in %llu laps, of %u\n", got,
		lost, lapped, total);
	CHECK(lapped > 0 && got + lost == total);
	mapq_reader_close(r);
	mapq_close(q);
	return 0;
}

static int child(int argc, char **argv)
{
	wt_child("win_procs");
	const char *role = argv[1], *queue = argc > 2 ? argv[2] : "";
	unsigned a = argc > 3 ? (unsigned)atoi(argv[3]) : 0;
	unsigned b = argc > 4 ? (unsigned)atoi(argv[4]) : 0;
	unsigned c = argc > 5 ? (unsigned)atoi(argv[5]) : 0;
	if (!strcmp(role, "writer"))
		return child_writer(queue, a, b);
	if (!strcmp(role, "reader"))
		return child_reader(queue, a, b);
	if (!strcmp(role, "half-writer"))
		return child_half_writer(queue);
	if (!strcmp(role, "idle-reader"))
		return child_idle_reader(queue);
	if (!strcmp(role, "durable"))
		return child_durable(queue, a, b, (int)c);
	if (!strcmp(role, "lapped"))
		return child_lapped(queue, a, b);
	fprintf(stderr, "win_procs: no role %s\n", role);
	return 2;
}

/* --- The parent --------------------------------------------------------- */

static void create(const char *name, uint64_t capacity, uint32_t policy)
{
	mapq *q;
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = capacity;
	o.policy = policy;
	o.max_msg = 256;
	CHECK_OK(mapq_open(&q, name, MAPQ_CREATE | MAPQ_EXCL, &o));
	mapq_close(q);
}

static void expect_exit(HANDLE h, const char *what)
{
	DWORD rc = wt_wait(h, 120000);
	if (rc != 0)
		wt_fail(__LINE__, "%s exited with %lu", what, (unsigned long)rc);
}

static void many(void)
{
	char args[128];
	HANDLE w[MANY_WRITERS], r[MANY_READERS];
	create("many", 1 << 14, MAPQ_BLOCK); /* 16 KiB: full all the time */
	mapq *q = open_q("many");
	for (int i = 0; i < MANY_READERS; i++) {
		snprintf(args, sizeof(args), "reader many %d %d", MANY_WRITERS, MANY_MSGS);
		r[i] = wt_spawn(args);
	}
	wait_readers(q, MANY_READERS); /* none may miss the first messages */
	double t0 = wt_ms();
	for (int i = 0; i < MANY_WRITERS; i++) {
		snprintf(args, sizeof(args), "writer many %d %d", i, MANY_MSGS);
		w[i] = wt_spawn(args);
	}
	for (int i = 0; i < MANY_WRITERS; i++)
		expect_exit(w[i], "a writer");
	for (int i = 0; i < MANY_READERS; i++)
		expect_exit(r[i], "a reader");
	mapq_counters c;
	CHECK_OK(mapq_stats(q, &c));
	CHECK(c.msgs == MANY_WRITERS * MANY_MSGS && c.crc_failures == 0);
	fprintf(stderr, "win_procs: %d writers x %d readers: %d messages each, in %.0f ms\n",
		MANY_WRITERS, MANY_READERS, MANY_WRITERS * MANY_MSGS, wt_ms() - t0);
	mapq_close(q);
}

struct timed_call {
	mapq *q;
	mapq_reader *r;
	int rc;
	double done_ms;
	char got[64];
};

static DWORD WINAPI blocked_recv(LPVOID arg)
{
	struct timed_call *t = arg;
	ssize_t n = mapq_recv(t->r, t->got, sizeof(t->got) - 1, 10000);
	t->done_ms = wt_ms();
	t->rc = n < 0 ? (int)n : 0;
	if (n >= 0)
		t->got[n] = 0;
	return 0;
}

static DWORD WINAPI blocked_send(LPVOID arg)
{
	struct timed_call *t = arg;
	/* as long as those that filled the queue: no room left for it */
	t->rc = mapq_send(t->q, t->got, sizeof(t->got), 10000);
	t->done_ms = wt_ms();
	return 0;
}

/* Start @fn in a thread, give it @ms to block, kill @victim: how long
 * from the kill until the call returned. */
static double kill_under(LPTHREAD_START_ROUTINE fn, struct timed_call *t, HANDLE victim)
{
	HANDLE th = CreateThread(NULL, 0, fn, t, 0, NULL);
	CHECK(th != NULL);
	Sleep(100); /* blocked by now */
	if (WaitForSingleObject(th, 0) != WAIT_TIMEOUT)
		wt_fail(__LINE__, "the call returned %d (%s) before the kill", t->rc,
			mapq_strerror(t->rc));
	double t0 = wt_ms();
	CHECK(TerminateProcess(victim, 137));
	CHECK(WaitForSingleObject(th, 15000) == WAIT_OBJECT_0);
	CloseHandle(th);
	return t->done_ms - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#define ROUNDS 7

static void dead_writer(void)
{
	double took[ROUNDS];
	create("dead-writer", 1 << 16, MAPQ_BLOCK);
	mapq *q = open_q("dead-writer");
	HANDLE ready = wt_event("half-ready");
	for (int i = 0; i < ROUNDS; i++) {
		struct timed_call t = { q, NULL, -1, 0, "" };
		char want[32];
		CHECK_OK(mapq_reader_open(q, &t.r, NULL, MAPQ_START_LATEST));
		ResetEvent(ready);
		HANDLE h = wt_spawn("half-writer dead-writer");
		if (WaitForSingleObject(ready, 20000) != WAIT_OBJECT_0)
			wt_fail(__LINE__, "the half writer did not reserve in 20 s");
		/* committed behind the dead writer's frame */
		snprintf(want, sizeof(want), "after kill %d", i);
		wt_send_str(q, want);
		took[i] = kill_under(blocked_recv, &t, h);
		CHECK(WaitForSingleObject(h, 10000) == WAIT_OBJECT_0);
		wt_wait(h, 0);
		if (t.rc != 0 || strcmp(t.got, want) != 0)
			wt_fail(__LINE__, "round %d: the blocked reader got %s (%s), not \"%s\"", i,
				t.got, mapq_strerror(t.rc), want);
		mapq_reader_close(t.r);
	}
	mapq_counters c;
	CHECK_OK(mapq_stats(q, &c));
	CHECK(c.repaired == ROUNDS && c.msgs == ROUNDS);
	qsort(took, ROUNDS, sizeof(took[0]), cmp_double);
	fprintf(stderr,
		"win_procs: a writer killed mid-write: the blocked reader's next delivery came "
		"%.2f ms after TerminateProcess (median of %d; min %.2f, max %.2f)\n",
		took[ROUNDS / 2], ROUNDS, took[0], took[ROUNDS - 1]);
	CloseHandle(ready);
	mapq_close(q);
}

static void dead_reader(void)
{
	double took[ROUNDS];
	create("dead-reader", 1 << 12, MAPQ_BLOCK);
	mapq *q = open_q("dead-reader");
	HANDLE ready = wt_event("idle-ready");
	char m[sizeof(((struct timed_call *)0)->got)];
	memset(m, 'm', sizeof(m));
	for (int i = 0; i < ROUNDS; i++) {
		ResetEvent(ready);
		HANDLE h = wt_spawn("idle-reader dead-reader");
		if (WaitForSingleObject(ready, 20000) != WAIT_OBJECT_0)
			wt_fail(__LINE__, "the idle reader did not attach in 20 s");
		int n = 0, err;
		while ((err = mapq_send(q, m, sizeof(m), 0)) == 0 && n < 1000)
			n++;
		CHECK(err == -EAGAIN && n > 0); /* full, held back by the reader */
		struct timed_call t = { q, NULL, -1, 0, "" };
		memset(t.got, 'n', sizeof(t.got));
		took[i] = kill_under(blocked_send, &t, h);
		wt_wait(h, 10000);
		if (t.rc != 0)
			wt_fail(__LINE__, "round %d: the blocked writer got %s", i,
				mapq_strerror(t.rc));
	}
	qsort(took, ROUNDS, sizeof(took[0]), cmp_double);
	fprintf(stderr,
		"win_procs: a reader killed while a writer waits for it: the send went through "
		"%.2f ms after TerminateProcess (median of %d; max %.2f)\n",
		took[ROUNDS / 2], ROUNDS, took[ROUNDS - 1]);
	CloseHandle(ready);
	mapq_close(q);
}

static void durable(void)
{
	create("durable", 1 << 14, MAPQ_BLOCK);
	mapq *q = open_q("durable");
	mapq_reader *d;
	char m[32];
	CHECK_OK(mapq_reader_open(q, &d, "d", MAPQ_START_OLDEST)); /* made, then detached */
	mapq_reader_close(d);
	for (int i = 0; i < 20; i++) {
		snprintf(m, sizeof(m), "%d", i);
		wt_send_str(q, m);
	}
	expect_exit(wt_spawn("durable durable 0 5 0"), "the first durable reader");
	HANDLE holds = wt_event("durable-holds");
	HANDLE h = wt_spawn("durable durable 5 5 1"); /* reads 5..9, holds 10 */
	if (WaitForSingleObject(holds, 20000) != WAIT_OBJECT_0)
		wt_fail(__LINE__, "the second durable reader did not get to 10 in 20 s");
	wt_kill(h);
	/* the one it held comes again, then the rest, once */
	expect_exit(wt_spawn("durable durable 10 10 0"), "the durable reader after the kill");
	mapq_slot_info si;
	int found = 0;
	for (uint32_t i = 0; mapq_reader_slot(q, i, &si) == 0; i++)
		if (si.durable && !strcmp(si.name, "d")) {
			found = 1;
			CHECK(si.state == MAPQ_SLOT_DETACHED && si.delivered == 20);
		}
	CHECK(found);
	CloseHandle(holds);
	mapq_close(q);
}

static void overwrite(void)
{
	const unsigned writers = 2, count = 2000;
	char args[128];
	create("lapped", 1 << 12, MAPQ_OVERWRITE);
	HANDLE ready = wt_event("lapped-ready"), go = wt_event("lapped-go");
	HANDLE r = wt_spawn("lapped lapped 2 4000");
	if (WaitForSingleObject(ready, 20000) != WAIT_OBJECT_0)
		wt_fail(__LINE__, "the lapped reader did not attach in 20 s");
	HANDLE w[2];
	for (unsigned i = 0; i < writers; i++) {
		snprintf(args, sizeof(args), "writer lapped %u %u", i, count);
		w[i] = wt_spawn(args);
	}
	for (unsigned i = 0; i < writers; i++)
		expect_exit(w[i], "an overwriting writer");
	SetEvent(go);
	expect_exit(r, "the lapped reader");
	CloseHandle(ready);
	CloseHandle(go);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return child(argc, argv);
	wt_start("win_procs");
	static const struct {
		const char *name;
		void (*run)(void);
	} parts[] = { { "many", many },
		      { "dead writer", dead_writer },
		      { "dead reader", dead_reader },
		      { "durable", durable },
		      { "overwrite", overwrite } };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		fprintf(stderr, "win_procs: %s\n", parts[i].name);
		parts[i].run();
	}
	wt_cleanup();
	printf("win_procs: many processes, killed writers and readers, durable and lapped "
	       "readers: ok\n");
	return 0;
}
