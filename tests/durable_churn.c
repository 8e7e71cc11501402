/* SPDX-License-Identifier: MIT */
/* durable_churn: a durable reader that detaches and reattaches thousands
 * of times, while a writer in another process is always blocked behind
 * it, never misses or repeats a message. (Catches a resume that stops
 * holding writers back for even a moment.) */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "util.h"

static uint64_t total;

int main(void)
{
	total = t_scaled(20000);
	mapq *q = t_create("q", 4096, MAPQ_BLOCK);
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, "churn", MAPQ_START_OLDEST));
	mapq_reader_close(r);

	pid_t pid = fork();
	if (pid == 0) {
		mapq *wq;
		uint8_t out[64];
		if (mapq_open(&wq, t_path("q"), 0, NULL))
			t_exit(2);
		for (uint64_t s = 0; s < total; s++) {
			t_fill(out, sizeof(out), 0, s);
			if (mapq_send(wq, out, sizeof(out), 10000))
				t_exit(3);
		}
		mapq_close(wq);
		t_exit(0);
	}
	uint64_t next = 0, opens = 0;
	while (next < total) {
		CHECK_OK(mapq_reader_open(q, &r, "churn", MAPQ_START_RESUME));
		opens++;
		/* A few messages per attachment, so the writer keeps waking. */
		for (int k = 0; k < 3 && next < total; k++) {
			uint8_t in[64];
			uint32_t w;
			uint64_t s;
			ssize_t n = mapq_recv(r, in, sizeof(in), 10000);
			CHECK_EQ(n, 64);
			CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
			if (s != next)
				t_fail(__FILE__, __LINE__,
				       "after %llu reattachments: got %llu, want %llu",
				       (unsigned long long)opens, (unsigned long long)s,
				       (unsigned long long)next);
			next++;
		}
		mapq_reader_close(r);
	}
	CHECK_EQ(t_wait_child(pid), 0);
	mapq_close(q);
	return 0;
}
