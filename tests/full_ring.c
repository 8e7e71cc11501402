/* SPDX-License-Identifier: MIT */
/* full_ring: under MAPQ_BLOCK a full ring makes writers wait for the
 * slowest reader: -EAGAIN at once with timeout 0, -ETIMEDOUT after the
 * timeout, and a writer blocked in another process wakes when a reader
 * frees space. With no reader attached, writers never block. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

int main(void)
{
	mapq *q = t_create("q", 4096, MAPQ_BLOCK);
	mapq_reader *r;
	char buf[100] = "x";
	int sent = 0;

	/* No reader: the ring is a log that overwrites its oldest messages. */
	for (int i = 0; i < 1000; i++)
		CHECK_OK(mapq_send(q, buf, sizeof(buf), 0));

	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	sent = t_send_until_full(q, buf, sizeof(buf));
	/* 4096-byte ring, 136-byte frames: 30 fit; never more than fit. */
	CHECK(sent >= 25 && sent <= 30);
	CHECK_RC(mapq_send(q, buf, sizeof(buf), 0), -EAGAIN);
	uint64_t t0 = t_now_ms();
	CHECK_RC(mapq_send(q, buf, sizeof(buf), 60), -ETIMEDOUT);
	CHECK(t_now_ms() - t0 >= 55); /* lower bound only: the machine is shared */

	/* A writer in another process blocks until we read. */
	pid_t pid = fork();
	if (pid == 0) {
		mapq *cq;
		if (mapq_open(&cq, t_path("q"), 0, NULL))
			t_exit(2);
		int rc = mapq_send(cq, "from child", 10, 10000);
		mapq_close(cq);
		t_exit(rc == 0 ? 0 : 3);
	}
	usleep(200000);
	CHECK_EQ(waitpid(pid, NULL, WNOHANG), 0); /* still blocked */
	char in[200];
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 100);
	CHECK_EQ(t_wait_child(pid), 0);
	/* The child's message is last, after everything we sent before it. */
	for (int i = 1; i < sent; i++)
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 100);
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 10);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -EAGAIN);

	/* Closing the only reader releases the writers. */
	(void)t_send_until_full(q, buf, sizeof(buf));
	mapq_reader_close(r);
	CHECK_OK(mapq_send(q, buf, sizeof(buf), 0));

	/* A reader in a process that dies stops holding writers back. */
	pid = fork();
	if (pid == 0) {
		mapq *cq;
		mapq_reader *cr;
		if (mapq_open(&cq, t_path("q"), 0, NULL) ||
		    mapq_reader_open(cq, &cr, NULL, MAPQ_START_LATEST))
			t_exit(2);
		t_die(); /* no close: the kernel drops its slot lock */
	}
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
	for (int i = 0; i < 100; i++)
		CHECK_OK(mapq_send(q, buf, sizeof(buf), 0));

	/* A writer asleep behind a reader that is then killed goes on. */
	int ready[2];
	CHECK_EQ(pipe(ready), 0);
	pid = fork();
	if (pid == 0) {
		alarm(60); /* killed long before, unless the parent failed */
		mapq *cq;
		mapq_reader *cr;
		if (mapq_open(&cq, t_path("q"), 0, NULL) ||
		    mapq_reader_open(cq, &cr, NULL, MAPQ_START_LATEST) ||
		    write(ready[1], "r", 1) != 1)
			t_exit(2);
		pause();
		t_exit(0);
	}
	close(ready[1]); /* a child that fails gives EOF, not a wait */
	char c;
	CHECK_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	(void)t_send_until_full(q, buf, sizeof(buf));
	pid_t killer = fork();
	if (killer == 0) {
		usleep(200000); /* let the parent fall asleep first */
		kill(pid, SIGKILL);
		t_exit(0);
	}
	t0 = t_now_ms();
	CHECK_OK(mapq_send(q, buf, sizeof(buf), 10000));
	uint64_t waited = t_now_ms() - t0;
	CHECK(waited >= 150 && waited < 5000);
	CHECK_EQ(t_wait_child(killer), 0);
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
	mapq_close(q);
	return 0;
}
