/* SPDX-License-Identifier: MIT */
/* forked: a child made by fork() cannot use the handles it inherited.
 * They share the parent's open file description, so with them the child
 * would see the parent's liveness locks as its own (and take the parent's
 * writer for dead), and closing them the old way would free the parent's
 * writer and reader slots and abort its reservation. Every call on an
 * inherited handle or reader returns -MAPQ_EFORKED; closing them frees
 * the child's copy only; the parent's writer slot, reader slot and open
 * reservation come through intact, and a handle the child opens itself
 * works. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* In the child: every call refused, then both closed. Returns how many
 * calls were not refused (0 on success). */
static int child(mapq *q, mapq_reader *r)
{
	int bad = 0;
#define REFUSED(call)                                                                        \
	do {                                                                                 \
		long long rc_ = (long long)(call);                                           \
		if (rc_ != -MAPQ_EFORKED) {                                                  \
			fprintf(stderr, "child: %s returned %lld (%s), want MAPQ_EFORKED\n", \
				#call, rc_, mapq_err_name((int)rc_));                        \
			bad++;                                                               \
		}                                                                            \
	} while (0)
	void *p;
	mapq_msg m;
	mapq *d = NULL;
	mapq_reader *r2 = NULL;
	mapq_geometry g;
	mapq_counters st;
	mapq_slot_info si;
	mapq_frame_info fi;
	mapq_recovery rec;
	char buf[64];
	REFUSED(mapq_send(q, "x", 1, 0));
	REFUSED(mapq_reserve(q, 1, &p, 0));
	REFUSED(mapq_commit(q, 1)); /* the parent's reservation is open */
	REFUSED(mapq_abort(q));
	REFUSED(mapq_sync(q));
	REFUSED(mapq_recover(q, &rec));
	REFUSED(mapq_dup(q, &d));
	REFUSED(mapq_reader_open(q, &r2, NULL, MAPQ_START_OLDEST));
	REFUSED(mapq_reader_drop(q, "other"));
	REFUSED(mapq_info(q, &g));
	REFUSED(mapq_stats(q, &st));
	REFUSED(mapq_writer_slot(q, 0, &si));
	REFUSED(mapq_reader_slot(q, 0, &si));
	REFUSED(mapq_frame(q, 0, &fi));
	REFUSED(mapq_read(r, &m, 0));
	REFUSED(mapq_recv(r, buf, sizeof(buf), 0));
	REFUSED(mapq_release(r));
#undef REFUSED
	if (d || r2)
		bad++;
	/* The child's copy of the reader is freed (LeakSanitizer would not
	 * call it leaked: the caller still holds its address). */
	long long heap = t_heap_bytes();
	mapq_reader_close(r);
	if (heap >= 0 && t_heap_bytes() >= heap) {
		fprintf(stderr,
			"child: mapq_reader_close() freed nothing (%lld bytes before, %lld after)\n",
			heap, t_heap_bytes());
		bad++;
	}
	mapq_close(q);
	/* A handle of its own works. */
	mapq *own;
	if (mapq_open(&own, t_path("q"), 0, NULL) != 0 || mapq_send(own, "child", 5, 0) != 0)
		bad++;
	else
		mapq_close(own);
	return bad;
}

int main(void)
{
	mapq *q = t_create("q", 1 << 16, MAPQ_BLOCK);
	mapq_reader *r;
	char buf[64];
	void *p;
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_OLDEST));
	CHECK_OK(mapq_send(q, "before", 6, 0)); /* takes a writer slot */
	CHECK_OK(mapq_reserve(q, 5, &p, 0));    /* open across the fork */
	memcpy(p, "after", 5);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		t_exit(child(q, r));
	}
	CHECK_EQ(t_wait_child(pid), 0);

	/* The parent's handle is as it was: its reservation commits, its
	 * reader reads on, and an observer sees both slots alive (the
	 * observer's own lock tests see the parent's locks). */
	CHECK_OK(mapq_commit(q, 5));
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 6);
	CHECK(memcmp(buf, "before", 6) == 0);
	/* the child's message was claimed after the parent's reservation */
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 5);
	CHECK(memcmp(buf, "after", 5) == 0);
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 5);
	CHECK(memcmp(buf, "child", 5) == 0);
	CHECK_RC(mapq_recv(r, buf, sizeof(buf), 0), -EAGAIN);
	mapq *obs;
	mapq_geometry g;
	mapq_slot_info si;
	CHECK_OK(mapq_open(&obs, t_path("q"), 0, NULL));
	CHECK_OK(mapq_info(obs, &g));
	int writers = 0, readers = 0;
	for (uint32_t i = 0; i < g.writer_slots; i++) {
		CHECK_OK(mapq_writer_slot(obs, i, &si));
		writers += si.state == MAPQ_SLOT_ALIVE;
	}
	for (uint32_t i = 0; i < g.reader_slots; i++) {
		CHECK_OK(mapq_reader_slot(obs, i, &si));
		if (si.state == MAPQ_SLOT_ALIVE) {
			readers++;
			CHECK(strcmp(si.name, "d") == 0);
		}
	}
	CHECK_EQ(writers, 1); /* the parent's; the child's own left at close */
	CHECK_EQ(readers, 1);
	mapq_close(obs);
	CHECK_OK(mapq_send(q, "end", 3, 0));
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 3);
	mapq_close(q);
	return 0;
}
