/* SPDX-License-Identifier: MIT */
/* signals: a signal handled while the library waits, by a handler
 * installed without SA_RESTART (as many programs install them), cuts
 * short the system call, never the API call. A read blocked for a
 * message, a send blocked on a full ring, and an attach waiting for the
 * reader registry's lock (held here by another process) each go on
 * waiting through a signal every few milliseconds, and end as they would
 * have without them: with the message, the send, the reader. And a read
 * whose timeout is shorter than the reader's poll, interrupted, still
 * times out no sooner than its timeout. In a build with fault points, a
 * step stalled by one (stall=MS, the library's own sleep) sleeps its
 * whole time through them, neither cut short nor made endless. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define WAIT_MS 200 /* how long the other process makes us wait */

static volatile sig_atomic_t ticks;

/* Ticks after which a wait has gone on far too long (about 20 s of them):
 * the test fails there rather than hang, by abort(), whose handler
 * (tests/util.c) removes the test's directory first. */
#define STUCK_TICKS 10000

static void on_tick(int sig)
{
	(void)sig;
	if (++ticks == STUCK_TICKS) {
		static const char msg[] = "FAIL signals: a wait goes on through 10000 signals\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		abort();
	}
}

/* SIGALRM every 2 ms from now on (fork() does not pass it on). */
static void start_ticks(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	CHECK_EQ(sigaction(SIGALRM, &sa, NULL), 0);
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } };
	ticks = 0;
	CHECK_EQ(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/* Stop them; how many came. */
static int stop_ticks(void)
{
	struct itimerval it;
	memset(&it, 0, sizeof(it));
	CHECK_EQ(setitimer(ITIMER_REAL, &it, NULL), 0);
	return ticks;
}

/* Signals that must have come during a wait of WAIT_MS. Valgrind and
 * ThreadSanitizer hold signals back while the process is in some system
 * calls (a lock wait) and may deliver none before the call returns: under
 * them nothing is certain, and only the other builds check the count. */
#if defined(__SANITIZE_THREAD__)
#define T_DEFERS_SIGNALS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_DEFERS_SIGNALS 1
#endif
#endif
static int min_ticks(void)
{
#ifdef T_DEFERS_SIGNALS
	return 0;
#else
	return t_scaled(5) < 5 ? 0 : 5;
#endif
}

/* A child that waits for a byte on @go, sleeps WAIT_MS, then runs @act. */
static pid_t later(int go, int (*act)(void))
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		char c;
		if (read(go, &c, 1) != 1)
			t_exit(1);
		usleep(WAIT_MS * 1000);
		t_exit(act());
	}
	return pid;
}

static int send_late(void)
{
	mapq *q;
	if (mapq_open(&q, t_path("q"), 0, NULL) || mapq_send(q, "late", 4, 1000))
		return 2;
	mapq_close(q);
	return 0;
}

static void blocked_read(mapq *q)
{
	mapq_reader *r;
	char buf[64];
	int go[2];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	CHECK_EQ(pipe(go), 0);
	pid_t pid = later(go[0], send_late);
	close(go[0]);
	start_ticks();
	CHECK_EQ(write(go[1], "g", 1), 1);
	uint64_t t0 = t_now_ms();
	ssize_t n = mapq_recv(r, buf, sizeof(buf), 10000);
	int seen = stop_ticks();
	CHECK_EQ(n, 4);
	CHECK(memcmp(buf, "late", 4) == 0);
	CHECK(t_now_ms() - t0 < 9000);
	CHECK(seen >= min_ticks());
	CHECK_EQ(t_wait_child(pid), 0);
	close(go[1]);
	mapq_reader_close(r);
}

/* The child's reader holds the ring full; after WAIT_MS it reads. */
static void blocked_send(mapq *q)
{
	int ready[2], go[2];
	char buf[500];
	memset(buf, 'x', sizeof(buf));
	CHECK(pipe(ready) == 0 && pipe(go) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		mapq *cq;
		mapq_reader *cr;
		char c, in[600];
		if (mapq_open(&cq, t_path("q"), 0, NULL) ||
		    mapq_reader_open(cq, &cr, NULL, MAPQ_START_LATEST) ||
		    write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			t_exit(1);
		usleep(WAIT_MS * 1000);
		for (int i = 0; i < 3; i++)
			if (mapq_recv(cr, in, sizeof(in), 0) != (ssize_t)sizeof(buf))
				t_exit(2);
		mapq_close(cq);
		t_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	char c;
	CHECK_EQ(read(ready[0], &c, 1), 1);
	CHECK(t_send_until_full(q, buf, sizeof(buf)) > 0);
	start_ticks();
	CHECK_EQ(write(go[1], "g", 1), 1);
	uint64_t t0 = t_now_ms();
	int rc = mapq_send(q, buf, sizeof(buf), 10000);
	int seen = stop_ticks();
	CHECK_OK(rc);
	CHECK(t_now_ms() - t0 < 9000);
	CHECK(seen >= min_ticks());
	CHECK_EQ(t_wait_child(pid), 0);
	close(ready[0]);
	close(go[1]);
}

/* Another process holds the registry's lock for WAIT_MS. */
static void blocked_attach(mapq *q)
{
	int ready[2];
	uint64_t off = registry_off(q);
	CHECK_EQ(pipe(ready), 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		struct flock fl = {
			.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)off, .l_len = 1
		};
		int fd = open(t_path("q"), O_RDWR);
		if (fd < 0 || fcntl(fd, F_OFD_SETLKW, &fl) < 0 || write(ready[1], "r", 1) != 1)
			t_exit(1);
		usleep(WAIT_MS * 1000);
		t_exit(0); /* the lock goes with the descriptor */
	}
	close(ready[1]);
	char c;
	CHECK_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	start_ticks();
	uint64_t t0 = t_now_ms();
	mapq_reader *r = NULL;
	int rc = mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST);
	int seen = stop_ticks();
	CHECK_OK(rc);
	CHECK(t_now_ms() - t0 >= WAIT_MS / 2); /* it did wait for the lock */
	CHECK(seen >= min_ticks());
	mapq_reader_close(r);
	CHECK_EQ(t_wait_child(pid), 0);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* 4 ms: less than the idle poll, so each of its sleeps is its last. */
static void timed_out_read(mapq *q)
{
	mapq_reader *r;
	char buf[8];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	for (int i = 0; i < 20; i++) {
		start_ticks();
		uint64_t t0 = now_us();
		ssize_t n = mapq_recv(r, buf, sizeof(buf), 4);
		uint64_t took = now_us() - t0;
		stop_ticks();
		CHECK_RC(n, -ETIMEDOUT);
		if (took < 4000)
			t_fail(__FILE__, __LINE__,
			       "a read with timeout 4 ms timed out after %llu us",
			       (unsigned long long)took);
	}
	mapq_reader_close(r);
}

/* A fault point's stall (fault builds only): the library's sleep, which a
 * signal interrupts and which must go on for what is left, and stop once
 * the time is up (errno still says EINTR from the interruptions then). */
static void stalled_step(mapq *q)
{
	int rc = mapq_fault_arm("commit.after_record:1:stall=100");
	if (rc == -ENOTSUP)
		return; /* no fault points in this build */
	CHECK_OK(rc);
	start_ticks();
	uint64_t t0 = t_now_ms();
	CHECK_OK(mapq_send(q, "stalled", 7, 0));
	uint64_t took = t_now_ms() - t0;
	int n = stop_ticks();
	mapq_fault_disarm();
	if (took < 99)
		t_fail(__FILE__, __LINE__,
		       "a stall of 100 ms ended after %llu ms, cut short by %d signals",
		       (unsigned long long)took, n);
	CHECK(n >= min_ticks());
	mapq_reader *r;
	char buf[16];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 7);
	mapq_reader_close(r);
}

int main(void)
{
	mapq *q = t_create("q", 4096, MAPQ_BLOCK);
	stalled_step(q);
	blocked_read(q);
	blocked_send(q);
	blocked_attach(q);
	timed_out_read(q);
	mapq_close(q);
	return 0;
}
