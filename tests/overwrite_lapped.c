/* SPDX-License-Identifier: MIT */
/* overwrite_lapped: under MAPQ_OVERWRITE writers never wait; a reader
 * that falls a lap behind gets -MAPQ_ELAPPED with the exact number of
 * messages it missed, then continues in order from the oldest retained. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* In the child below: whatever ends it, the parent must not stay stopped. */
static void wake_parent_and_die(int sig)
{
	(void)sig;
	kill(getppid(), SIGCONT);
	_exit(T_ERROR);
}

/* Is process @pid stopped (state T in /proc/PID/stat)? */
static int stopped(pid_t pid)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int got = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	const char *p = got ? strrchr(line, ')') : NULL;
	return p && p[1] == ' ' && p[2] == 'T';
}

/* mapq_recv with timeout 0 whose message is overwritten while it copies
 * it out: the read that follows at once reports the loss
 * (-MAPQ_ELAPPED), not a timeout. We stop ourselves between the copy and
 * the release (read.before_advance:stop); a child laps the ring, then
 * lets us go on. */
static void lapped_while_copying(mapq *q)
{
	mapq_reader *r;
	char buf[100], in[200];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	CHECK_OK(mapq_send(q, buf, sizeof(buf), 0));
	fflush(NULL);
	pid_t parent = getpid(), pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int sigs[] = { SIGALRM, SIGSEGV, SIGBUS, SIGABRT, SIGFPE };
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], wake_parent_and_die);
		alarm(20);
		while (!stopped(parent))
			usleep(1000);
		mapq *cq;
		int bad = mapq_open(&cq, t_path("q"), 0, NULL) != 0;
		for (int i = 0; i < 100 && !bad; i++)
			bad |= mapq_send(cq, buf, sizeof(buf), 0) != 0;
		kill(parent, SIGCONT);
		t_exit(bad);
	}
	CHECK_OK(mapq_fault_arm("read.before_advance:1:stop"));
	ssize_t rc = mapq_recv(r, in, sizeof(in), 0);
	mapq_fault_disarm();
	CHECK_EQ(t_wait_child(pid), 0);
	CHECK_RC(rc, -MAPQ_ELAPPED);
	CHECK(mapq_reader_lost(r) >= 1);
	mapq_reader_close(r);
}

static uint64_t next_seq(mapq_reader *r)
{
	char in[200];
	uint32_t w;
	uint64_t s;
	ssize_t n = mapq_recv(r, in, sizeof(in), 0);
	CHECK_EQ(n, 100);
	CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
	return s;
}

int main(void)
{
	mapq *q = t_create("q", 4096, MAPQ_OVERWRITE);
	mapq_reader *r, *fast;
	char buf[100], in[200];
	const uint64_t total = 100;

	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	CHECK_OK(mapq_reader_open(q, &fast, NULL, MAPQ_START_OLDEST));
	for (uint64_t i = 0; i < total; i++) {
		t_fill(buf, sizeof(buf), 1, i);
		CHECK_OK(mapq_send(q, buf, sizeof(buf), 0)); /* never blocks */
		CHECK_EQ(next_seq(fast), i); /* a reader that keeps up loses nothing */
	}
	mapq_reader_close(fast);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -MAPQ_ELAPPED);
	uint64_t lost = mapq_reader_lost(r);
	CHECK(lost > 0 && lost < total);
	uint64_t expect = lost;
	ssize_t n;
	while ((n = mapq_recv(r, in, sizeof(in), 0)) > 0) {
		uint32_t w;
		uint64_t s;
		CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
		CHECK_EQ(s, expect);
		expect++;
	}
	CHECK_RC(n, -EAGAIN);
	CHECK_EQ(expect, total); /* lost + delivered == sent, exactly */

	/* A message held through the zero-copy API and overwritten meanwhile:
	 * release says so, and the next read counts it as lost. */
	mapq_msg m;
	t_fill(buf, sizeof(buf), 1, total);
	CHECK_OK(mapq_send(q, buf, sizeof(buf), 0));
	CHECK_OK(mapq_read(r, &m, 0));
	for (uint64_t i = 0; i < 40; i++) {
		t_fill(buf, sizeof(buf), 1, total + 1 + i);
		CHECK_OK(mapq_send(q, buf, sizeof(buf), 0));
	}
	CHECK_RC(mapq_release(r), -MAPQ_ELAPPED);
	CHECK_RC(mapq_read(r, &m, 0), -MAPQ_ELAPPED);
	uint64_t lost2 = mapq_reader_lost(r);
	CHECK(lost2 >= 1);
	uint64_t s = next_seq(r);
	CHECK_EQ(s, total + lost2); /* the held one counts among the lost */

	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.lapped, 2);
	CHECK_EQ(st.lost, lost + lost2);
	if (mapq_fault_enabled())
		lapped_while_copying(q);
	mapq_close(q);
	return 0;
}
