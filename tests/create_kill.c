/* SPDX-License-Identifier: MIT */
/*
 * create_kill: a creator killed at any moment of mapq_open(MAPQ_CREATE)
 * leaves nothing behind but, possibly, a complete queue. With O_TMPFILE
 * (tmpfs, ext4, xfs, btrfs) nothing is ever named before it is complete;
 * on file systems without it the temporary name of a dead creator is
 * removed by the next create, or the next recovering open, in that
 * directory, and the temporary file of a live creator is left alone.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define CAP (8u << 20) /* a millisecond or so to create */

static mapq_options opts;

/* Every queue a killed creator left is complete; remove them. */
static void check_queues(int n)
{
	char name[32];
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		mapq *q;
		int rc = mapq_open(&q, t_path(name), 0, NULL);
		if (rc == -ENOENT)
			continue;
		CHECK_RC(rc, 0);
		mapq_close(q);
		CHECK_EQ(unlink(t_path(name)), 0);
	}
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };
	nanosleep(&ts, NULL);
}

/* @n creators, each killed a random time up to @max_us after it starts
 * to create. */
static void kill_creators(int n, bool unnamed, long max_us)
{
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "k%d", i);
		int go[2];
		CHECK_EQ(pipe(go), 0);
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			mapq *q;
			close(go[0]);
			/* "about to create": the kill's clock starts here, not
			 * at fork, which takes as long as a create */
			if (write(go[1], "c", 1) != 1)
				t_exit(T_ERROR);
			if (unnamed) /* what users call */
				t_exit(mapq_open(&q, t_path(name), MAPQ_CREATE | MAPQ_EXCL, &opts)
					       ? 1
					       : 0);
			t_exit(t_create_file(t_path(name), &opts, false) >= 0 ? 0 : 1);
		}
		close(go[1]);
		char c;
		CHECK_EQ(read(go[0], &c, 1), 1);
		close(go[0]);
		sleep_us(random() % max_us);
		kill(pid, SIGKILL);
		int st = t_wait_child(pid);
		CHECK(st == 0 || st == 128 + SIGKILL);
	}
}

/* Microseconds one create takes here. */
static long create_us(bool unnamed)
{
	uint64_t t0 = t_now_ms();
	for (int i = 0; i < 5; i++) {
		int fd = t_create_file(t_path("timing"), &opts, unnamed);
		CHECK(fd >= 0);
		close(fd);
		CHECK_EQ(unlink(t_path("timing")), 0);
	}
	long us = (long)(t_now_ms() - t0) * 1000 / 5;
	return us < 200 ? 200 : us;
}

int main(void)
{
	int n = (int)t_scaled(50);
	srandom((unsigned)getpid());
	mapq_options_init(&opts);
	opts.capacity = CAP;

	/* O_TMPFILE: nothing named, ever, but complete queues. */
	long us = create_us(true);
	kill_creators(n, true, 2 * us);
	CHECK_EQ(t_temp_files(), 0);
	check_queues(n);

	/* Named temporary files: killed creators may leave one (each
	 * create sweeps what the ones before left) ... */
	us = create_us(false);
	kill_creators(n, false, 2 * us);
	printf("%d of %d killed creators' temporary files left (a create takes %ld us)\n",
	       t_temp_files(), n, us);
	check_queues(n);
	/* ... as abandoned ones look: named, unlocked ... */
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof(name), ".mapq-tmp.dead0%d", i);
		int fd = open(t_path(name), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
		CHECK(fd >= 0);
		close(fd);
	}

	/* ... which a live creator's lock protects from the sweep ... */
	int fd = open(t_path(".mapq-tmp.ABCDEF"), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	CHECK_EQ(fcntl(fd, F_OFD_SETLK, &fl), 0);
	/* ... and which the next create removes. */
	int q = t_create_file(t_path("next"), &opts, false);
	CHECK(q >= 0);
	close(q);
	CHECK_EQ(t_temp_files(), 1); /* the locked one */
	close(fd);                   /* its creator "dies" */

	/* A recovering open removes them too. */
	kill_creators(n, false, 2 * us);
	fd = open(t_path(".mapq-tmp.dead01"), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	mapq *h;
	CHECK_OK(mapq_open(&h, t_path("next"), 0, NULL));
	mapq_close(h);
	CHECK_EQ(t_temp_files(), 0);
	check_queues(n);
	return 0;
}
