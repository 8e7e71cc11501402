/* SPDX-License-Identifier: MIT */
/* threads: the multi-writer, multi-reader checks with threads of one
 * process, each with its own handle made by mapq_dup() (so all share one
 * mapping). The runs: blocking policy with a small ring (writers wait
 * for readers), a ring so large that nobody ever waits (so no futex
 * bookkeeping orders writers and readers, and only the commit protocol
 * does), the overwrite policy with a lapped reader, and a run where
 * every writer now and then stops between reserving and committing for
 * longer than the unblock timeout, so that the others forsake its frame
 * (repair.c) while it may still try to commit, and it sends the message
 * again: the repair protocol between threads. And a churn run: beside a
 * blocking run, two threads attach and detach readers over and over
 * (durable ones by name, and ephemeral ones), one inspects the queue
 * and the frames they hold, and one syncs it.
 *
 * ThreadSanitizer sees the protocol between the threads because they
 * share one mapping (it tracks memory by virtual address). With
 * T_SEPARATE_MAPPINGS=1 (Valgrind's DRD and Helgrind, which do not model
 * C11 atomics and would report every protocol word) each thread maps the
 * queue itself and only the library's process-local memory is judged. */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"
#include "workload.h"

/* The unblock timeout of the stall run. */
#define UNBLOCK_MS 5

/* A handle for one worker thread. */
static mapq *worker_handle(mapq *q, const char *name, const mapq_options *o)
{
	mapq *h;
	const char *sep = getenv("T_SEPARATE_MAPPINGS");
	if (sep && *sep == '1')
		CHECK_OK(mapq_open(&h, t_path(name), 0, o));
	else
		CHECK_OK(mapq_dup(q, &h));
	return h;
}

enum {
	WRITERS = 3,
	READERS = 2
};

struct worker {
	mapq *q;
	intptr_t id;
	int policy;
	bool stall;
	uint64_t per_writer;
	int ready_fd;
	pthread_t thread;
	int rc;
	unsigned rounds; /* churners: readers opened; the looker: frames shown;
			    the syncer: syncs that finished */
};

/* ---- the churn run: attach, detach and look, beside the traffic ---- */

/* Set once the writers and readers are done: the churners stop. */
static atomic_bool churn_stop;

/* A frame a churner holds, handed to the looker relaxed: so the only
 * edge that orders the looker's reads of the frame after the writer's is
 * mapq_frame()'s own acquire of the commit word (the frame cannot be
 * reused meanwhile: a held frame holds head back). The answer comes back
 * with release and acquire, which order the looker's reads before the
 * churner's release of the frame, and so before the next lap's writes. */
static _Atomic uint64_t show_pos = UINT64_MAX;
static _Atomic int64_t shown_len = -1;

/* Show the frame of @m to the looker; 0 if it saw what we hold. */
static int show(const mapq_msg *m)
{
	atomic_store_explicit(&shown_len, -1, memory_order_relaxed);
	atomic_store_explicit(&show_pos, m->pos, memory_order_relaxed);
	for (uint64_t end = t_now_ms() + 5000; t_now_ms() < end;) {
		int64_t len = atomic_load_explicit(&shown_len, memory_order_acquire);
		if (len >= 0)
			return len == (int64_t)m->len ? 0 : 1;
		if (atomic_load_explicit(&churn_stop, memory_order_relaxed))
			return 0;
		sched_yield();
	}
	return 2;
}

/* A durable reader that attaches, reads a little, detaches, over and
 * over, and now and then an ephemeral one: slots taken, named, found,
 * freed and taken again (reader.c) while writers scan them and move head
 * past them (ring.c). Its first reader starts at the newest message. */
static void *churner(void *arg)
{
	struct worker *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "churn%d", (int)w->id);
	for (unsigned round = 0; !atomic_load_explicit(&churn_stop, memory_order_relaxed);
	     round++, w->rounds++) {
		mapq_reader *r;
		bool durable = round % 4 != 3;
		int rc = mapq_reader_open(w->q, &r, durable ? name : NULL,
					  durable && round ? MAPQ_START_RESUME : MAPQ_START_LATEST);
		if (rc) {
			fprintf(stderr, "churner %d: open: %s\n", (int)w->id, mapq_strerror(rc));
			w->rc = 1;
			return NULL;
		}
		for (int k = 0; k < 16; k++) {
			mapq_msg m;
			rc = mapq_read(r, &m, 2);
			if (rc == -ETIMEDOUT)
				break;
			if (rc == 0 && w->id == 0 && k == 0)
				rc = show(&m) ? -MAPQ_ECORRUPT : mapq_release(r);
			else if (rc == 0)
				rc = mapq_release(r);
			if (rc) {
				fprintf(stderr, "churner %d: read: %s\n", (int)w->id,
					mapq_strerror(rc));
				w->rc = 2;
				break;
			}
		}
		mapq_reader_close(r);
		if (w->rc)
			return NULL;
	}
	/* gone for good: a durable reader left detached holds writers back */
	w->rc = mapq_reader_drop(w->q, name) ? 3 : 0;
	return NULL;
}

/* Looks at the queue while it runs: counters, a writer slot, and the
 * frame a churner shows it. */
static void *looker(void *arg)
{
	struct worker *w = arg;
	while (!atomic_load_explicit(&churn_stop, memory_order_relaxed)) {
		mapq_counters st;
		mapq_slot_info si;
		if (mapq_stats(w->q, &st) || mapq_writer_slot(w->q, 0, &si)) {
			w->rc = 1;
			return NULL;
		}
		uint64_t pos = atomic_load_explicit(&show_pos, memory_order_relaxed);
		if (pos != UINT64_MAX) {
			mapq_frame_info fi;
			atomic_store_explicit(&show_pos, UINT64_MAX, memory_order_relaxed);
			int rc = mapq_frame(w->q, pos, &fi);
			w->rounds++;
			atomic_store_explicit(
				&shown_len,
				rc || fi.kind != MAPQ_FRAME_COMMITTED ? INT64_MAX : (int64_t)fi.len,
				memory_order_release);
		}
	}
	return NULL;
}

/* Syncs the queue every 20 ms, as a user would (each sync starts the
 * next frame on a fresh page, a quarter of this ring, and flushes the
 * file), waiting for the writers' frames in flight and for ring space.
 * The only thread that syncs: the checkpoint is plain memory that an OFD
 * lock guards, which TSan does not model. Not the looker, which a
 * churner waits for while it holds a frame: a sync waiting for space
 * there would wait for itself. */
static void *syncer(void *arg)
{
	struct worker *w = arg;
	while (!atomic_load_explicit(&churn_stop, memory_order_relaxed)) {
		/* -ETIMEDOUT: the ring stayed full for 2 s (a slow reader) */
		int rc = mapq_sync(w->q);
		if (rc && rc != -ETIMEDOUT) {
			fprintf(stderr, "syncer: %s\n", mapq_strerror(rc));
			w->rc = 1;
			return NULL;
		}
		w->rounds += rc == 0;
		usleep(20000);
	}
	return NULL;
}

/* Stop with a frame reserved until a reader or writer forsakes it (its
 * commit word gets the forsaken bit: doc/format.md), 2 s at most: on a
 * loaded machine the others may reach the frame only long after the
 * unblock timeout, and a fixed pause could end before they do. */
static void stall(const void *payload)
{
	const _Atomic uint64_t *commit =
		&((const struct fmt_frame *)((const char *)payload - FRAME_HDR))->commit;
	for (int ms = 0; ms < 2000; ms++) {
		usleep(1000);
		if (atomic_load_explicit(commit, memory_order_relaxed) & CW_FORSAKEN)
			return;
	}
}

/* Like wl_writer, through reserve and commit, stalling (above) before
 * one commit in 32; a message whose frame was forsaken meanwhile
 * (-MAPQ_ESTALLED: it is never delivered) is sent again, so readers
 * still get every one exactly once. */
static int stalling_writer(mapq *q, uint32_t id, uint64_t count)
{
	unsigned forsaken = 0;
	for (uint64_t s = 0; s < count; s++) {
		size_t len = 20 + (size_t)((s * 2654435761u + id * 97) % 300);
		for (int attempt = 0;; attempt++) {
			void *p;
			if (attempt > 1000) {
				fprintf(stderr, "writer %u: message %llu forsaken 1000 times\n", id,
					(unsigned long long)s);
				return 4;
			}
			int rc = mapq_reserve(q, len, &p, 10000);
			if (rc == 0) {
				t_fill(p, len, id, s);
				if (s % 32 == 7 && attempt == 0)
					stall(p);
				rc = mapq_commit(q, len);
			}
			if (rc == 0)
				break;
			if (rc != -MAPQ_ESTALLED) {
				fprintf(stderr, "writer %u: %s at %llu\n", id, mapq_strerror(rc),
					(unsigned long long)s);
				return 3;
			}
			forsaken++;
		}
	}
	return forsaken ? 0 : 5; /* 5: the repair was never reached */
}

static void *writer(void *arg)
{
	struct worker *w = arg;
	w->rc = w->stall ? stalling_writer(w->q, (uint32_t)w->id, w->per_writer)
			 : wl_writer(w->q, (uint32_t)w->id, w->per_writer);
	return NULL;
}

static void *reader(void *arg)
{
	struct worker *w = arg;
	if (w->policy == MAPQ_BLOCK)
		w->rc = wl_reader(w->q, WRITERS, w->per_writer, w->ready_fd);
	else /* one reader keeps up, one naps and gets lapped */
		w->rc = wl_reader_lossy(w->q, WRITERS, w->per_writer, w->ready_fd,
					w->id ? 2000 : 0);
	return NULL;
}

static void run(const char *name, uint64_t capacity, int policy, uint64_t per_writer,
		bool never_full, bool stall, bool churn)
{
	mapq_options o;
	mapq *q;
	mapq_options_init(&o);
	o.capacity = capacity;
	o.policy = (uint32_t)policy;
	o.unblock_ms = stall ? UNBLOCK_MS : 0;
	CHECK_OK(mapq_open(&q, t_path(name), MAPQ_CREATE | MAPQ_EXCL, &o));
	struct worker w[WRITERS + READERS];
	int ready[2];
	CHECK_EQ(pipe(ready), 0);
	for (int i = 0; i < WRITERS + READERS; i++) {
		w[i] = (struct worker){ .id = i < READERS ? i : i - READERS,
					.policy = policy,
					.stall = stall,
					.per_writer = per_writer,
					.ready_fd = ready[1] };
		w[i].q = worker_handle(q, name, &o);
	}
	/* Readers first, attached before any writer starts. */
	for (int i = 0; i < READERS; i++)
		CHECK_EQ(pthread_create(&w[i].thread, NULL, reader, &w[i]), 0);
	for (int i = 0; i < READERS; i++) {
		char c;
		CHECK_EQ(read(ready[0], &c, 1), 1);
	}
	for (int i = READERS; i < WRITERS + READERS; i++)
		CHECK_EQ(pthread_create(&w[i].thread, NULL, writer, &w[i]), 0);
	enum {
		CHURNERS = 2,
		LOOKER = CHURNERS,
		SYNCER,
		SIDE
	};
	static const char *const side_name[SIDE] = { "churner", "churner", "looker", "syncer" };
	void *(*const side_fn[SIDE])(void *) = { churner, churner, looker, syncer };
	struct worker side[SIDE];
	atomic_store(&churn_stop, false);
	for (int i = 0; churn && i < SIDE; i++) {
		side[i] = (struct worker){ .id = i };
		side[i].q = worker_handle(q, name, &o);
		CHECK_EQ(pthread_create(&side[i].thread, NULL, side_fn[i], &side[i]), 0);
	}
	for (int i = 0; i < WRITERS + READERS; i++) {
		CHECK_EQ(pthread_join(w[i].thread, NULL), 0);
		if (w[i].rc)
			t_fail(__FILE__, __LINE__, "%s: %s %d returned %d", name,
			       i < READERS ? "reader" : "writer", (int)w[i].id, w[i].rc);
		mapq_close(w[i].q);
	}
	atomic_store(&churn_stop, true);
	for (int i = 0; churn && i < SIDE; i++) {
		CHECK_EQ(pthread_join(side[i].thread, NULL), 0);
		if (side[i].rc || side[i].rounds < (i == SYNCER ? 1 : 4))
			t_fail(__FILE__, __LINE__, "%s: %s %d returned %d after %u rounds", name,
			       side_name[i], i, side[i].rc, side[i].rounds);
		mapq_close(side[i].q);
	}
	if (churn)
		printf("%s: %u readers opened, %u frames shown, %u syncs\n", name,
		       side[0].rounds + side[1].rounds, side[LOOKER].rounds, side[SYNCER].rounds);
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.msgs, WRITERS * per_writer);
	if (never_full) { /* really nobody waited for space */
		CHECK(st.tail <= capacity);
		CHECK_EQ(st.space_wakeups, 0);
	}
	close(ready[0]);
	close(ready[1]);
	mapq_close(q);
}

int main(void)
{
	run("block", 1 << 14, MAPQ_BLOCK, t_scaled(20000), false, false, false);
	run("nowait", 1 << 24, MAPQ_BLOCK, t_scaled(5000), true, false, false);
	run("overwrite", 1 << 14, MAPQ_OVERWRITE, t_scaled(20000), false, false, false);
	/* 8 stalls per writer (at least 2, under Valgrind) */
	run("stall", 1 << 14, MAPQ_BLOCK, t_scaled(256) < 64 ? 64 : t_scaled(256), false, true,
	    false);
	/* For ThreadSanitizer, not Valgrind (T_SCALE < 1): DRD and Helgrind
	 * would judge the hand-off's relaxed atomics, which they do not
	 * model, and under memcheck's one-thread-at-a-time scheduling the
	 * looker may not get to a shown frame within show()'s 5 s. */
	const char *scale = getenv("T_SCALE");
	if (!scale || strtod(scale, NULL) >= 1)
		run("churn", 1 << 14, MAPQ_BLOCK, t_scaled(20000), false, false, true);
	return 0;
}
