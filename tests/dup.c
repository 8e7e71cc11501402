/* SPDX-License-Identifier: MIT */
/* dup: mapq_dup() gives a handle that shares the mapping, owns its own
 * writer slot and readers, and keeps the mapping alive after the original
 * handle is closed.
 *
 * A dup opens the handle's file again through /proc/self/fd, and must
 * not trust what that gives: a /proc that is not the kernel's (a
 * container's stand-in) may hand back another file. Then the dup fails
 * with -EIO and keeps no descriptor. This program's own open() plays
 * that /proc when asked to; it stands in for the C library's for the
 * library code linked in, which is otherwise the code users get.
 *
 * And handles of one mapping closed at once by the threads that used
 * them: the last close unmaps and frees what the others used, so each
 * close must see every other's use done (its acq_rel count). Under
 * ThreadSanitizer a weaker count is a race between one thread's close and
 * the other's free, whichever comes last. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

static const char *lying_proc; /* open this for /proc/self/fd/N, if set */

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (lying_proc && strncmp(path, "/proc/self/fd/", 14) == 0)
		path = lying_proc;
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

enum {
	CLOSERS = 2
};

struct closer {
	mapq *h;
	pthread_barrier_t *all_sent;
	int rc;
};

/* Send through our own handle, wait until every closer has sent (so the
 * closes below race each other, and nothing but the count orders them),
 * then close it. */
static void *send_and_close(void *arg)
{
	struct closer *c = arg;
	c->rc = mapq_send(c->h, "closer", 6, 0);
	(void)pthread_barrier_wait(c->all_sent);
	mapq_close(c->h);
	return NULL;
}

/* The original closed first; the dups close last, concurrently, each in
 * its own thread. The messages they sent are all there afterwards. */
static void closed_by_threads(void)
{
	mapq *q = t_create("closers", 1 << 16, MAPQ_BLOCK);
	struct closer c[CLOSERS];
	pthread_t t[CLOSERS];
	pthread_barrier_t b;
	CHECK(pthread_barrier_init(&b, NULL, CLOSERS) == 0);
	for (int i = 0; i < CLOSERS; i++) {
		c[i] = (struct closer){ NULL, &b, -1 };
		CHECK_OK(mapq_dup(q, &c[i].h));
	}
	for (int i = 0; i < T_MAX_QUEUES; i++)
		if (t_queues[i] == q)
			t_queues[i] = NULL; /* closed: no longer ours to keep reachable */
	mapq_close(q);
	for (int i = 0; i < CLOSERS; i++)
		CHECK(pthread_create(&t[i], NULL, send_and_close, &c[i]) == 0);
	for (int i = 0; i < CLOSERS; i++) {
		CHECK(pthread_join(t[i], NULL) == 0);
		CHECK_OK(c[i].rc);
	}
	CHECK(pthread_barrier_destroy(&b) == 0);
	CHECK_OK(mapq_open(&q, t_path("closers"), 0, NULL));
	mapq_reader *r;
	char in[16];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (int i = 0; i < CLOSERS; i++) {
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 6);
		CHECK(memcmp(in, "closer", 6) == 0);
	}
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -EAGAIN);
	mapq_close(q);
}

int main(void)
{
	mapq *q = t_create("q", 1 << 16, MAPQ_BLOCK), *d, *d2;
	mapq_reader *r;
	char in[32];

	CHECK_RC(mapq_dup(NULL, &d), -EINVAL);
	CHECK_RC(mapq_dup(q, NULL), -EINVAL);
	CHECK_OK(mapq_dup(q, &d));
	CHECK(d->base == q->base); /* one mapping */
	CHECK(d->fd != q->fd);
	/* Each handle owns a writer slot of its own. */
	CHECK_OK(mapq_send(q, "from q", 6, 0));
	CHECK_OK(mapq_send(d, "from d", 6, 0));
	CHECK(q->wslot >= 0 && d->wslot >= 0 && q->wslot != d->wslot);
	mapq_counters st;
	CHECK_OK(mapq_stats(d, &st));
	CHECK_EQ(st.writers_attached, 2);
	/* Readers of the dup see what either wrote, in order. */
	CHECK_OK(mapq_reader_open(d, &r, NULL, MAPQ_START_OLDEST));
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 6);
	CHECK(memcmp(in, "from q", 6) == 0);
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 6);
	CHECK(memcmp(in, "from d", 6) == 0);
	/* A durable reader attached through one handle is busy for the other. */
	mapq_reader *dr, *dr2;
	CHECK_OK(mapq_reader_open(q, &dr, "durable", MAPQ_START_OLDEST));
	CHECK_RC(mapq_reader_open(d, &dr2, "durable", MAPQ_START_OLDEST), -EBUSY);
	/* Closing the original keeps the shared mapping alive for the dup. */
	CHECK_OK(mapq_dup(d, &d2));
	mapq_close(q);
	t_queues[0] = NULL; /* closed: no longer ours to keep reachable */
	CHECK_OK(mapq_send(d2, "still here", 10, 0));
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 10);
	CHECK(memcmp(in, "still here", 10) == 0);
	/* The durable reader's slot was freed with its handle's lock. */
	CHECK_OK(mapq_reader_open(d2, &dr2, "durable", MAPQ_START_RESUME));

	/* /proc gives another file (another queue's): no dup, no descriptor. */
	mapq *other = t_create("other", 1 << 16, MAPQ_BLOCK);
	lying_proc = t_path("other");
	int fds = t_count_fds();
	mapq *d3 = d;
	CHECK_RC(mapq_dup(d2, &d3), -EIO);
	CHECK(d3 == NULL);
	CHECK_EQ(t_count_fds(), fds);
	lying_proc = NULL;
	CHECK_OK(mapq_dup(d2, &d3));
	CHECK_EQ(t_count_fds(), fds + 1);
	mapq_close(d3);
	mapq_close(other);
	mapq_close(d);
	mapq_close(d2);

	closed_by_threads();
	return 0;
}
