/* SPDX-License-Identifier: MIT */
/*
 * first_frame: a new queue names no frame published, not even at
 * position 0, where the first message goes.
 *
 * A reader takes a frame as published when its pos field holds its own
 * position (reader.c, look()); only then does it trust the commit word,
 * which the writer stores relaxed, before its release store of pos
 * (writer.c, publish_frame()). A file left zero would hold 0 in the
 * first frame's pos from the start: a reader polling an empty queue
 * would take that frame on its word alone, whose store orders nothing
 * before it, and read a header and payload that may not be there yet
 * (on ARM or POWER; x86 keeps the stores in order). The window is held
 * open by hand here, as a weak memory could show it: the first frame is
 * reserved and gets its committed word, and nothing else; the reader
 * must see no message yet, then the whole message once it is committed.
 *
 * Recovery at open scrubs such a pos (recover.c), so the queue is made
 * both ways: by an open that recovers, and by one with MAPQ_NORECOVER,
 * where creation alone must leave no frame published.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "internal.h"
#include "util.h"

enum {
	CAP = 16384,
	LEN = 64
};

static void first_message(const char *name, int flags)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = CAP;
	mapq *q = NULL;
	CHECK_OK(mapq_open(&q, t_path(name), MAPQ_CREATE | MAPQ_EXCL | flags, &o));
	mapq_reader *r = NULL;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));

	void *p = NULL;
	CHECK_OK(mapq_reserve(q, LEN, &p, 1000));
	CHECK_EQ(q->resv_pos, 0);
	t_fill(p, LEN, 1, 0);
	/* The commit word as publish_frame() stores it, before the header
	 * and pos: the reader must not take the frame on it */
	mapq__store(commit_at(q, 0), cw_make(q->resv_size, FRAME_COMMITTED, 0, lap_of(q, 0)),
		    memory_order_relaxed);
	mapq_msg m;
	int rc = mapq_read(r, &m, 0);
	if (rc != -EAGAIN)
		t_fail(__FILE__, __LINE__,
		       "%s: the first frame, its commit word stored and nothing else, was "
		       "read as published: %s (%d), not EAGAIN",
		       name, rc < 0 ? mapq_strerror(rc) : "a message", rc);

	CHECK_OK(mapq_commit(q, LEN));
	CHECK_OK(mapq_read(r, &m, 1000));
	uint32_t writer = 0;
	uint64_t seq = 1;
	CHECK_OK(t_check_payload(m.data, m.len, &writer, &seq));
	CHECK_EQ(m.len, LEN);
	CHECK_EQ(writer, 1);
	CHECK_EQ(seq, 0);
	CHECK_OK(mapq_release(r));
	mapq_reader_close(r);
	mapq_close(q);
}

int main(void)
{
	first_message("recovered", 0);
	first_message("norecover", MAPQ_NORECOVER);
	return 0;
}
