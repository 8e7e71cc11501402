/* SPDX-License-Identifier: MIT */
/* durable_resume: a named reader keeps its cursor across close, reopen
 * and the death of its process, holds writers back while detached, can be
 * attached only once at a time, and can be dropped. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static uint64_t recv_seq(mapq_reader *r)
{
	char in[64];
	uint32_t w;
	uint64_t s;
	ssize_t n = mapq_recv(r, in, sizeof(in), 0);
	CHECK_EQ(n, 40);
	CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
	return s;
}

int main(void)
{
	mapq *q = t_create("q", 4096, MAPQ_BLOCK);
	mapq_reader *r, *r2;
	char buf[40];

	CHECK_RC(mapq_reader_open(q, &r, "", MAPQ_START_OLDEST), -EINVAL);
	CHECK_RC(mapq_reader_open(q, &r, "a-name-that-is-longer-than-31-bytes", 0), -EINVAL);
	CHECK_RC(mapq_reader_open(q, &r, "alpha", 7), -EINVAL);
	CHECK_OK(mapq_reader_open(q, &r, "alpha", MAPQ_START_RESUME));
	for (uint64_t i = 0; i < 10; i++) {
		t_fill(buf, sizeof(buf), 0, i);
		CHECK_OK(mapq_send(q, buf, sizeof(buf), 0));
	}
	for (uint64_t i = 0; i < 3; i++)
		CHECK_EQ(recv_seq(r), i);
	CHECK_RC(mapq_reader_open(q, &r2, "alpha", MAPQ_START_RESUME), -EBUSY);
	/* A message read but not released is not consumed. */
	mapq_msg m;
	CHECK_OK(mapq_read(r, &m, 0));
	mapq_reader_close(r);

	CHECK_OK(mapq_reader_open(q, &r, "alpha", MAPQ_START_RESUME));
	CHECK_EQ(recv_seq(r), 3);
	mapq_reader_close(r);

	/* Another process resumes it, reads two, and dies without closing. */
	pid_t pid = fork();
	if (pid == 0) {
		mapq *cq;
		mapq_reader *cr;
		char in[64];
		if (mapq_open(&cq, t_path("q"), 0, NULL) ||
		    mapq_reader_open(cq, &cr, "alpha", MAPQ_START_RESUME))
			t_exit(2);
		if (mapq_recv(cr, in, sizeof(in), 0) != 40 ||
		    mapq_recv(cr, in, sizeof(in), 0) != 40)
			t_exit(3);
		t_die(); /* read two, then crash */
	}
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
	CHECK_OK(mapq_reader_open(q, &r, "alpha", MAPQ_START_RESUME));
	CHECK_EQ(recv_seq(r), 6);
	mapq_reader_close(r);

	/* Detached, it still holds writers back: the ring fills up. */
	int sent = t_send_until_full(q, buf, sizeof(buf));
	CHECK(sent > 0 && sent < 4096 / 72);
	CHECK_RC(mapq_send(q, buf, sizeof(buf), 0), -EAGAIN);
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.readers_durable, 1);
	CHECK_EQ(st.readers_attached, 0);

	/* Reset to the latest position on request. */
	CHECK_OK(mapq_reader_open(q, &r, "alpha", MAPQ_START_LATEST));
	CHECK_RC(mapq_recv(r, buf, sizeof(buf), 0), -EAGAIN);
	CHECK_RC(mapq_reader_drop(q, "alpha"), -EBUSY);
	mapq_reader_close(r);

	/* Dropped, it no longer holds anyone back, and is gone. */
	CHECK_RC(mapq_reader_drop(q, "nobody"), -ENOENT);
	CHECK_OK(mapq_reader_drop(q, "alpha"));
	CHECK_RC(mapq_reader_drop(q, "alpha"), -ENOENT);
	for (int i = 0; i < 200; i++)
		CHECK_OK(mapq_send(q, buf, sizeof(buf), 0));
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.readers_durable, 0);

	/* A durable reader survives closing and reopening the whole queue. */
	CHECK_OK(mapq_reader_open(q, &r, "beta", MAPQ_START_LATEST));
	for (uint64_t i = 100; i < 105; i++) {
		t_fill(buf, sizeof(buf), 0, i);
		CHECK_OK(mapq_send(q, buf, sizeof(buf), 0));
	}
	CHECK_EQ(recv_seq(r), 100);
	mapq_close(q);
	CHECK_OK(mapq_open(&q, t_path("q"), 0, NULL));
	CHECK_OK(mapq_reader_open(q, &r, "beta", MAPQ_START_RESUME));
	CHECK_EQ(recv_seq(r), 101);
	mapq_close(q);
	return 0;
}
