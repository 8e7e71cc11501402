/* SPDX-License-Identifier: MIT */
/* light_fence: on Linux a writer process registers for membarrier's
 * global expedited barrier when it first attaches a writer slot, and then
 * commits with the light fence (format.md, "Waiting"); a process that
 * only reads does not register; a child forked after the registration
 * keeps it, and its own writer uses the light fence too; a reader asleep
 * in another process is still woken by each light-fenced commit. The
 * kernel says what is registered (MEMBARRIER_CMD_GET_REGISTRATIONS,
 * Linux 6.3 and later; skipped before). */
#include "config.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

/* Not in the headers of older kernels; the value is the ABI's. */
#define CMD_GET_REGISTRATIONS (1 << 9)

static long registrations(void)
{
	return syscall(SYS_membarrier, CMD_GET_REGISTRATIONS, 0, 0);
}

static bool registered(void)
{
	long r = registrations();
	return r > 0 && (r & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED);
}

int main(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED))
		t_skip("membarrier(2) has no MEMBARRIER_CMD_GLOBAL_EXPEDITED here: every "
		       "commit makes the full fence");
	if (registrations() < 0)
		t_skip("membarrier(2) has no MEMBARRIER_CMD_GET_REGISTRATIONS (Linux < 6.3): "
		       "what is registered cannot be asked");
	CHECK(!registered()); /* a new process image starts without */

	mapq *q = t_create("q", 1 << 16, MAPQ_BLOCK);
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	char in[64];
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -EAGAIN);
	/* Reading, we registered nothing: a sleeper's barrier need not
	 * interrupt a process that never commits. */
	CHECK(!registered());
	CHECK(!q->light_fence);

	CHECK_OK(mapq_send(q, "one", 3, 0));
	CHECK(registered());
	CHECK(q->light_fence);
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 3);

	/* An idle reader sleeps to its idle poll (5 ms): its membarrier
	 * worked, so it trusts the wake-up. One that could not make it
	 * would sleep 1 ms at a time: five times the wake-ups. */
	struct rusage ru0, ru1;
	CHECK_EQ(getrusage(RUSAGE_SELF, &ru0), 0);
	CHECK_RC(mapq_recv(r, in, sizeof(in), 300), -ETIMEDOUT);
	CHECK_EQ(getrusage(RUSAGE_SELF, &ru1), 0);
	long sleeps = ru1.ru_nvcsw - ru0.ru_nvcsw;
	printf("light_fence: a 300 ms wait at an empty queue slept %ld times\n", sleeps);
	if (sleeps >= 150)
		t_fail(__FILE__, __LINE__,
		       "a 300 ms wait at an empty queue slept %ld times: its sleeps were cut short",
		       sleeps);
	mapq_reader_close(r);

	/* A reader asleep in a child, woken by each commit of ours: the
	 * light fence on our side, membarrier on its side. Every wait is
	 * bounded: the child by alarm() and its receive timeout, we by
	 * t_until_flag() and the child's exit. */
	enum {
		ROUNDS = 20
	};
	int ready[2];
	CHECK_EQ(pipe(ready), 0);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(60);
		close(ready[0]);
		mapq *cq;
		mapq_reader *cr;
		if (mapq_open(&cq, t_path("q"), 0, NULL) ||
		    mapq_reader_open(cq, &cr, NULL, MAPQ_START_LATEST))
			t_exit(2);
		if (write(ready[1], "r", 1) != 1)
			t_exit(2);
		close(ready[1]);
		for (int i = 0; i < ROUNDS; i++) {
			char m[16];
			/* far longer than the idle poll: a wake-up, not
			 * the poll, must end most of these */
			if (mapq_recv(cr, m, sizeof(m), 10000) != 4 || m[0] != 'w' ||
			    m[3] != (char)('a' + i))
				t_exit(3);
		}
		mapq_close(cq);
		t_exit(0);
	}
	close(ready[1]); /* a child that fails gives EOF, not a wait */
	char c;
	CHECK_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	for (int i = 0; i < ROUNDS; i++) {
		CHECK(t_until_flag(&q->ctl->data_sleepers, 10000));
		CHECK_EQ(atomic_load(&q->ctl->data_sleepers), 1);
		uint32_t seq0 = atomic_load(&q->ctl->data_seq);
		char m[4] = { 'w', 'a', 'k', (char)('a' + i) };
		CHECK_OK(mapq_send(q, m, sizeof(m), 0));
		/* the commit saw the flag: it woke the sleeper */
		CHECK(atomic_load(&q->ctl->data_seq) != seq0);
	}
	CHECK_EQ(t_wait_child(pid), 0);

	/* A child forked now keeps the registration (the kernel's, by the
	 * address space), and a writer it opens uses the light fence. */
	pid = fork();
	if (pid == 0) {
		alarm(60);
		mapq *cq;
		if (!registered() || mapq_open(&cq, t_path("q"), 0, NULL))
			t_exit(2);
		if (mapq_send(cq, "two", 3, 0) || !cq->light_fence)
			t_exit(3);
		mapq_close(cq);
		t_exit(0);
	}
	CHECK_EQ(t_wait_child(pid), 0);
	mapq_close(q);
	return 0;
}
