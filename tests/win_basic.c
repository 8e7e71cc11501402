/* SPDX-License-Identifier: MIT */
/*
 * win_basic: the library on Windows, in one process (doc/platform.md): the
 * demo's queue "ZJ" in the queue directory; two handles, so two writer
 * slots held by two file handles' locks; a queue file opened again (the
 * recovery at open, and a lock turned from exclusive to shared, and back
 * by mapq_recover()); system errors in Linux's words; names
 * Windows forbids; a durable reader resuming; a reader lapped under
 * MAPQ_OVERWRITE told what it lost; a blocked read woken by a send from
 * another thread; mapq_dup(); and the platform layer's sleeps on a word of
 * a mapping, through the named events of os_win32.c.
 *
 * Every wait is bounded, and the directory it works in is removed at the
 * end, pass or fail.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os.h"
#include "win_util.h"

/* The demo's name and messages, two handles sending into one reader. */
static void demo(void)
{
	mapq *a, *b;
	mapq_reader *r;
	char path[MAX_PATH * 2], m[64];
	CHECK_OK(mapq_resolve("ZJ", path, sizeof(path)));
	snprintf(m, sizeof(m), "\\ZJ"); /* joined with Windows' separator */
	CHECK(strncmp(path, wt_dir, strlen(wt_dir)) == 0 && strcmp(path + strlen(wt_dir), m) == 0);
	CHECK_OK(mapq_open(&a, "ZJ", MAPQ_CREATE | MAPQ_EXCL, NULL));
	CHECK(GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES);
	CHECK_RC(mapq_open(&b, "ZJ", MAPQ_CREATE | MAPQ_EXCL, NULL), -EEXIST);
	CHECK_OK(mapq_open(&b, "ZJ", 0, NULL));
	CHECK_OK(mapq_reader_open(a, &r, NULL, MAPQ_START_LATEST));
	for (int i = 0; i < 10; i++) {
		snprintf(m, sizeof(m), "hello ... +%d", i);
		wt_send_str(i % 2 ? b : a, m);
	}
	for (int i = 0; i < 10; i++) {
		snprintf(m, sizeof(m), "hello ... +%d", i);
		wt_expect_str(r, m, 1000);
	}
	/* Two writer slots taken, one per handle: each its own lock. */
	mapq_slot_info si;
	unsigned taken = 0;
	for (uint32_t i = 0; mapq_writer_slot(a, i, &si) == 0; i++)
		taken += si.state != MAPQ_SLOT_FREE;
	CHECK(taken == 2);
	CHECK_RC(mapq_recv(r, m, sizeof(m), 20), -ETIMEDOUT);
	mapq_reader_close(r);
	mapq_close(b);
	mapq_close(a);
	/* Opened again alone: recovered at open, then shared. */
	CHECK_OK(mapq_open(&a, "ZJ", 0, NULL));
	/* Alone, mapq_recover() turns its shared lock exclusive, which
	 * Windows does not do by itself; with another handle open it cannot,
	 * and keeps its shared lock: the other's recovery is not alone
	 * either. */
	mapq_recovery rep;
	CHECK_OK(mapq_recover(a, &rep));
	CHECK(rep.exclusive == 1);
	CHECK_OK(mapq_open(&b, "ZJ", 0, NULL));
	CHECK_OK(mapq_recover(a, &rep));
	CHECK(rep.exclusive == 0);
	CHECK_OK(mapq_recover(b, &rep));
	CHECK(rep.exclusive == 0);
	mapq_close(b);
	CHECK_OK(mapq_recover(a, &rep));
	CHECK(rep.exclusive == 1);
	mapq_close(a);
	CHECK_RC(mapq_open(&a, "nothing-here", 0, NULL), -ENOENT);
	/* the system's errors in the same words as on Linux */
	CHECK(strcmp(mapq_strerror(-ENOENT), "No such file or directory") == 0);
	CHECK(strcmp(mapq_err_name(-ETIMEDOUT), "ETIMEDOUT") == 0);
}

static void names(void)
{
	static const char *const bad[] = { "a<b", "a>b", "a\"b",    "a|b",  "a?b",    "a*b",
					   "CON", "con", "NUL.txt", "COM1", "lpt9.q", "x." };
	static const char *const good[] = { "CONSOLE", "COM0", "COM10", "nul_", "a.b" };
	char path[MAX_PATH * 2];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mapq_resolve(bad[i], path, sizeof(path)) != -MAPQ_EBADNAME)
			wt_fail(__LINE__, "\"%s\" was taken as a queue name", bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (mapq_resolve(good[i], path, sizeof(path)) != 0)
			wt_fail(__LINE__, "\"%s\" was refused as a queue name", good[i]);
	/* A path is used as it is, with either separator. */
	CHECK_OK(mapq_resolve("C:\\x\\q", path, sizeof(path)));
	CHECK(strcmp(path, "C:\\x\\q") == 0);
}

static void durable(void)
{
	mapq *q;
	mapq_reader *r;
	CHECK_OK(mapq_open(&q, "durable", MAPQ_CREATE | MAPQ_EXCL, NULL));
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_OLDEST));
	wt_send_str(q, "one");
	wt_send_str(q, "two");
	wt_send_str(q, "three");
	wt_expect_str(r, "one", 1000);
	mapq_reader_close(r);
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_RESUME));
	wt_expect_str(r, "two", 1000);
	wt_expect_str(r, "three", 1000);
	mapq_reader_close(r);
	CHECK_OK(mapq_reader_drop(q, "d"));
	mapq_close(q);
}

static void overwrite(void)
{
	mapq *q;
	mapq_reader *r;
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 1 << 12;
	o.policy = MAPQ_OVERWRITE;
	CHECK_OK(mapq_open(&q, "over", MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	char m[100], buf[128];
	int sent = 0;
	for (; sent < 200; sent++) { /* far more than 4 KiB holds */
		snprintf(m, sizeof(m), "%-90d", sent);
		CHECK_OK(mapq_send(q, m, strlen(m), 0));
	}
	ssize_t n = mapq_recv(r, buf, sizeof(buf), 0);
	CHECK_RC(n, -MAPQ_ELAPPED);
	uint64_t lost = mapq_reader_lost(r);
	int got = 0;
	while ((n = mapq_recv(r, buf, sizeof(buf), 0)) > 0) {
		buf[n] = 0;
		if (atoi(buf) != (int)lost + got)
			wt_fail(__LINE__, "after %llu lost, message %d is %d",
				(unsigned long long)lost, got, atoi(buf));
		got++;
	}
	CHECK(lost > 0 && (int)lost + got == sent);
	mapq_reader_close(r);
	mapq_close(q);
}

static DWORD WINAPI late_sender(LPVOID arg)
{
	mapq *q = arg;
	Sleep(100);
	int err = mapq_send(q, "late", 4, 1000);
	return err ? 1 : 0;
}

/* A read blocked on an empty queue, woken by another thread's send. */
static void wake(void)
{
	mapq *q, *w;
	mapq_reader *r;
	CHECK_OK(mapq_open(&q, "wake", MAPQ_CREATE | MAPQ_EXCL, NULL));
	CHECK_OK(mapq_dup(q, &w));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	HANDLE t = CreateThread(NULL, 0, late_sender, w, 0, NULL);
	CHECK(t != NULL);
	ULONGLONG t0 = GetTickCount64();
	wt_expect_str(r, "late", 5000);
	ULONGLONG took = GetTickCount64() - t0;
	CHECK(WaitForSingleObject(t, 5000) == WAIT_OBJECT_0);
	DWORD rc = 1;
	CHECK(GetExitCodeThread(t, &rc) && rc == 0);
	CloseHandle(t);
	CHECK(took >= 50 && took < 4000);
	mapq_reader_close(r);
	mapq_close(w);
	mapq_close(q);
}

struct sleeper {
	_Atomic uint32_t *word;
	uint32_t expect;
	uint64_t deadline;
	int rc;
	uint64_t took_ms;
};

static DWORD WINAPI sleep_on(LPVOID arg)
{
	struct sleeper *s = arg;
	uint64_t t0 = mapq__os_mono_ns();
	s->rc = mapq__os_wait(s->word, s->expect, s->deadline);
	s->took_ms = (mapq__os_mono_ns() - t0) / 1000000u;
	return 0;
}

/* The platform layer's sleep on a word of a mapping (named events, one
 * per value: os_win32.c): woken by a wake-up long before its deadline;
 * never asleep on a value the word no longer holds; the deadline kept. */
static void words(void)
{
	char path[MAX_PATH + 16];
	snprintf(path, sizeof(path), "%s\\words", wt_dir);
	static const char head[8] = "words";
	mapq__file f;
	uint8_t *base;
	CHECK_OK(mapq__os_create(path, 0600, 1 << 16, head, sizeof(head), false, &f));
	CHECK_OK(mapq__os_map(f, 1 << 16, false, &base));
	_Atomic uint32_t *word = (_Atomic uint32_t *)(base + 4096);
	CHECK(atomic_load(word) == 0);

	struct sleeper s = { word, 0, mapq__os_mono_ns() + 20000000000ull, -1, 0 };
	HANDLE t = CreateThread(NULL, 0, sleep_on, &s, 0, NULL);
	CHECK(t != NULL);
	Sleep(200);
	uint32_t was = atomic_fetch_add(word, 1);
	mapq__os_wake(word, was);
	CHECK(WaitForSingleObject(t, 10000) == WAIT_OBJECT_0);
	CloseHandle(t);
	if (s.rc != 0 || s.took_ms < 150 || s.took_ms > 5000)
		wt_fail(__LINE__, "a sleeper woken after 200 ms returned %d after %llu ms", s.rc,
			(unsigned long long)s.took_ms);

	/* The word moved on: no sleep at all. */
	uint64_t t0 = mapq__os_mono_ns();
	CHECK_OK(mapq__os_wait(word, 0, mapq__os_mono_ns() + 20000000000ull));
	CHECK(mapq__os_mono_ns() - t0 < 2000000000ull);
	/* Nobody wakes it: the deadline. */
	t0 = mapq__os_mono_ns();
	CHECK_RC(mapq__os_wait(word, 1, mapq__os_mono_ns() + 100000000u), -ETIMEDOUT);
	uint64_t ms = (mapq__os_mono_ns() - t0) / 1000000u;
	if (ms < 90 || ms > 5000)
		wt_fail(__LINE__, "a 100 ms deadline came after %llu ms", (unsigned long long)ms);
	/* A wake-up of another value wakes nobody sleeping on this one. */
	s = (struct sleeper){ word, 1, mapq__os_mono_ns() + 300000000u, -1, 0 };
	t = CreateThread(NULL, 0, sleep_on, &s, 0, NULL);
	CHECK(t != NULL);
	Sleep(50);
	mapq__os_wake(word, 7);
	CHECK(WaitForSingleObject(t, 10000) == WAIT_OBJECT_0);
	CloseHandle(t);
	CHECK(s.rc == -ETIMEDOUT && s.took_ms >= 250);

	mapq__os_unmap(base, 1 << 16);
	mapq__os_close(f);
}

int main(void)
{
	wt_start("win_basic");
	static const struct {
		const char *name;
		void (*run)(void);
	} parts[] = { { "demo", demo },           { "names", names }, { "durable", durable },
		      { "overwrite", overwrite }, { "wake", wake },   { "words", words } };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		fprintf(stderr, "win_basic: %s\n", parts[i].name);
		parts[i].run();
	}
	wt_cleanup();
	printf("win_basic: the demo's queue, names, durable and lapped readers, a wake-up: ok\n");
	return 0;
}
