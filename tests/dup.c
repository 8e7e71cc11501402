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
 * library code linked in, which is otherwise the code users get. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
	return 0;
}
