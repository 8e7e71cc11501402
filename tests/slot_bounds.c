/* SPDX-License-Identifier: MIT */
/* slot_bounds: the slot tables end where the superblock says, and only a
 * slot's state says what its other fields mean.
 *
 * The bytes between the last writer or reader slot and the next page
 * belong to no slot. Here they hold what a live writer and a durable
 * reader called "ghost" would hold, as a damaged or hostile file might:
 * no call may count them, find the reader by its name, free or detach
 * them, or write there. A free reader slot whose flags and name say
 * "durable" (the same kind of damage) is free all the same. And a full
 * table refuses the next reader and the next writer.
 *
 * A writer's record planted just past the writer table is believed by
 * nothing: not by recovery (a hole it names is the log's end, a head it
 * names is garbled), not by a reader filling space no record describes,
 * not as a forsaken frame's owner, and a reader marking tentative records
 * writes nothing there. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

enum {
	NW = 3,
	NR = 2
};

static struct fmt_super read_super(const char *path)
{
	struct fmt_super sb;
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, &sb, sizeof(sb), 0), sizeof(sb));
	close(fd);
	return sb;
}

static void rw_at(const char *path, uint64_t off, void *buf, size_t len, int write)
{
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	ssize_t n = write ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);
	CHECK_EQ(n, (ssize_t)len);
	close(fd);
}

/* The bytes after both tables, up to the page each ends in. */
struct tails {
	unsigned char w[FMT_PAGE], r[FMT_PAGE];
	uint64_t woff, roff;
	size_t wlen, rlen;
};

static void read_tails(const char *path, struct tails *t)
{
	rw_at(path, t->woff, t->w, t->wlen, 0);
	rw_at(path, t->roff, t->r, t->rlen, 0);
}

static void check_untouched(const char *path, const struct tails *want)
{
	struct tails now = *want;
	read_tails(path, &now);
	CHECK(memcmp(now.w, want->w, want->wlen) == 0);
	CHECK(memcmp(now.r, want->r, want->rlen) == 0);
}

static void check_stats_empty(mapq *q, uint64_t readers_attached)
{
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.msgs, 0);
	CHECK_EQ(st.bytes, 0);
	CHECK_EQ(st.aborted, 0);
	CHECK_EQ(st.readers_durable, 0);
	CHECK_EQ(st.readers_attached, readers_attached);
}

static void check_recovery_idle(mapq *q)
{
	mapq_recovery rep;
	CHECK_OK(mapq_recover(q, &rep));
	CHECK_EQ(rep.writers_freed, 0);
	CHECK_EQ(rep.readers_freed, 0);
	CHECK_EQ(rep.readers_detached, 0);
}

/* The writer slot just past the table, where a damaged or hostile file
 * may hold what looks like a record: space for one is checked. */
static struct fmt_wslot *ghost_slot(mapq *q)
{
	CHECK(q->sb.wslot_off + (q->nw + 1) * sizeof(struct fmt_wslot) <= q->sb.rslot_off);
	return &q->wslots[q->nw];
}

/* A new queue with this test's tables (NW writers, NR readers), and the
 * unblock timeout @unblock_ms (0: the default). */
static mapq *create(const char *name, int unblock_ms)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 8192;
	o.writer_slots = NW;
	o.reader_slots = NR;
	if (unblock_ms)
		o.unblock_ms = unblock_ms;
	mapq *q;
	CHECK_OK(mapq_open(&q, t_path(name), MAPQ_CREATE | MAPQ_EXCL, &o));
	return q;
}

/* Plant a record (@size with its flags) of a writer in slot @s, live or
 * dead as its lock says, as a damaged or hostile file might hold it. */
static void plant(struct fmt_wslot *s, uint64_t pos, uint64_t size)
{
	atomic_store(&s->state, WSLOT_ACTIVE);
	atomic_store(&s->resv_pos, pos);
	atomic_store(&s->resv_size, size);
}

/* A dead writer's confirmed record planted past the writer table names a
 * reservation at the log's end, as if it had moved tail and died: recovery
 * must not believe it, neither to fill the hole (the log ends where the
 * frames end) nor, with head there too, to take head for the log's start
 * (a head that names no frame and no record in the table is garbled: the
 * checkpoint is used). */
static void ghost_record_recovery(bool at_head)
{
	const char *name = at_head ? "ghost-head" : "ghost-hole";
	mapq *q = create(name, 0);
	for (int i = 0; i < 3; i++)
		CHECK_OK(mapq_send(q, "m", 1, 0));
	CHECK_OK(mapq_sync(q)); /* a checkpoint to fall back on */
	uint64_t t = atomic_load(&q->ctl->tail);
	plant(ghost_slot(q), t, 64);
	/* and records in the table that name the same hole but cannot be
	 * believed, of dead writers (slots nobody holds): a size off the
	 * frame grid, and one of a whole lap */
	plant(&q->wslots[1], t, 65);
	plant(&q->wslots[2], t, q->cap);
	if (at_head)
		atomic_store(&q->ctl->head, t);
	atomic_store(&q->ctl->tail, t + 64);
	mapq_close(q);
	CHECK_OK(mapq_open(&q, t_path(name), MAPQ_NORECOVER, NULL));
	mapq_recovery rep;
	CHECK_OK(mapq_recover(q, &rep));
	CHECK_EQ(rep.holes_filled, 0);
	CHECK_EQ(rep.claims_aborted, 0);
	CHECK_EQ(rep.tail_after, t);
	CHECK_EQ(rep.used_checkpoint, at_head ? 1 : 0);
	mapq_close(q);
}

/* A live queue: tail moved past space no record in the table describes
 * (lost records), and a record planted past the table starting inside
 * it. A reader forsakes the space after the unblock timeout and fills it
 * to the next boundary it can see, which is the tail: one aborted frame,
 * not one cut at the planted record's start. */
static void ghost_record_fill(void)
{
	mapq *q = create("ghost-fill", 20);
	mapq_reader *r;
	char buf[64];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	CHECK_OK(mapq_send(q, "m", 1, 0));
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 1);
	uint64_t t = atomic_load(&q->ctl->tail);
	plant(ghost_slot(q), t + 64, 64);
	atomic_store(&q->ctl->tail, t + 256);
	/* the fill, then nothing more to read */
	CHECK_RC(mapq_recv(r, buf, sizeof(buf), 300), -ETIMEDOUT);
	mapq_frame_info f;
	CHECK_OK(mapq_frame(q, t, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_ABORTED);
	CHECK_EQ(f.next, t + 256);
	/* Again, with a dead writer's record in the table's last slot
	 * starting inside the space: the fill ends there, and that writer's
	 * frame is aborted after it. */
	t = atomic_load(&q->ctl->tail);
	CHECK(q->wslot != (int)q->nw - 1);
	plant(&q->wslots[q->nw - 1], t + 64, 64);
	atomic_store(&q->ctl->tail, t + 256);
	CHECK_RC(mapq_recv(r, buf, sizeof(buf), 300), -ETIMEDOUT);
	CHECK_OK(mapq_frame(q, t, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_ABORTED);
	CHECK_EQ(f.next, t + 64);
	CHECK_OK(mapq_frame(q, t + 64, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_ABORTED);
	CHECK_EQ(f.next, t + 128);
	mapq_reader_close(r);
	mapq_close(q);
}

/* A claimed frame published forsaken, whose only record is one planted
 * past the table: it has no owner. */
static void ghost_owner(void)
{
	mapq *q = create("ghost-owner", 0);
	CHECK_OK(mapq_send(q, "m", 1, 0));
	uint64_t t = atomic_load(&q->ctl->tail);
	plant(ghost_slot(q), t, 64);
	atomic_store(&q->ctl->tail, t + 64);
	struct fmt_frame *f = frame_at(q, t);
	atomic_store(&f->commit, cw_make(64, FRAME_CLAIMED, 0, lap_of(q, t)) | CW_FORSAKEN);
	atomic_store(&f->pos, t);
	mapq_frame_info fi;
	CHECK_OK(mapq_frame(q, t, &fi));
	CHECK_EQ(fi.kind, MAPQ_FRAME_CLAIMED);
	CHECK_EQ(fi.writer, MAPQ_NO_WRITER);
	/* the same record in the table's first slot (ours, idle): its owner */
	CHECK_EQ(q->wslot, 0);
	plant(&q->wslots[0], t, 64);
	CHECK_OK(mapq_frame(q, t, &fi));
	CHECK_EQ(fi.writer, 0);
	atomic_store(&q->wslots[0].resv_size, 0);
	mapq_close(q);
}

struct stalled {
	mapq *w;
	int rc;
};

static void *send_stalled(void *arg)
{
	struct stalled *st = arg;
	st->rc = mapq_send(st->w, "s", 1, 0);
	return NULL;
}

/* A writer stopped with its record still tentative, and a copy of that
 * record planted past the table: a reader forsaking the space marks every
 * candidate record in the table, and writes nothing past it.
 * (Fault injection.) */
static void ghost_tentative(void)
{
	if (!mapq_fault_enabled())
		return;
	mapq *q = create("ghost-tentative", 20);
	mapq_reader *r;
	struct stalled st = { NULL, 0 };
	char buf[8];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	CHECK_OK(mapq_dup(q, &st.w));
	uint64_t t = atomic_load(&q->ctl->tail);
	CHECK_OK(mapq_fault_arm("reserve.after_cas:1:stall=400"));
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, send_stalled, &st), 0);
	uint64_t t0 = t_now_ms();
	while (atomic_load(&q->ctl->tail) == t && t_now_ms() - t0 < 10000)
		usleep(1000);
	CHECK(atomic_load(&q->ctl->tail) > t);
	/* the writer's record, tentative, copied past the table */
	int ws = -1;
	for (uint32_t i = 0; i < q->nw; i++)
		if (atomic_load(&q->wslots[i].resv_size) & RESV_TENTATIVE)
			ws = (int)i;
	CHECK(ws >= 0);
	uint64_t rec = atomic_load(&q->wslots[ws].resv_size);
	struct fmt_wslot *g = ghost_slot(q);
	plant(g, t, rec);
	/* forsaken after the unblock timeout: skipped, nothing to read */
	CHECK_RC(mapq_recv(r, buf, sizeof(buf), 200), -ETIMEDOUT);
	CHECK(atomic_load(&q->wslots[ws].resv_size) & RESV_FORSAKEN);
	CHECK_EQ(atomic_load(&g->resv_size), rec);
	CHECK_EQ(pthread_join(th, NULL), 0);
	mapq_fault_disarm();
	CHECK_RC(st.rc, -MAPQ_ESTALLED);
	/* the writer aborted its frame itself before saying so, and left no
	 * record behind */
	mapq_frame_info f;
	CHECK_OK(mapq_frame(q, t, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_ABORTED);
	CHECK_EQ(atomic_load(&q->wslots[ws].resv_size), 0);
	mapq_reader_close(r);
	mapq_close(st.w);
	mapq_close(q);
}

int main(void)
{
	ghost_tentative();
	ghost_owner();
	ghost_record_recovery(false);
	ghost_record_recovery(true);
	ghost_record_fill();
	const char *p = t_path("q");
	mapq *q = create("q", 0);
	/* As created, the bytes past the reader table are zero, which reads
	 * as a free slot: the table is full all the same. */
	mapq_reader *r[NR], *extra = NULL;
	for (int i = 0; i < NR; i++)
		CHECK_OK(mapq_reader_open(q, &r[i], NULL, MAPQ_START_OLDEST));
	CHECK_RC(mapq_reader_open(q, &extra, NULL, MAPQ_START_OLDEST), -MAPQ_ENOSLOT);
	CHECK_RC(mapq_reader_open(q, &extra, "d", MAPQ_START_OLDEST), -MAPQ_ENOSLOT);
	CHECK(extra == NULL);
	for (int i = 0; i < NR; i++)
		mapq_reader_close(r[i]);
	mapq_close(q);

	struct fmt_super sb = read_super(p);
	struct tails t;
	t.woff = sb.wslot_off + NW * sizeof(struct fmt_wslot);
	t.roff = sb.rslot_off + NR * sizeof(struct fmt_rslot);
	t.wlen = (size_t)(sb.rslot_off - t.woff);
	t.rlen = (size_t)(sb.data_off - t.roff);
	CHECK(t.wlen >= sizeof(struct fmt_wslot) && t.wlen <= FMT_PAGE);
	CHECK(t.rlen >= sizeof(struct fmt_rslot) && t.rlen <= FMT_PAGE);

	/* A live writer's counts past the writer table, a durable reader
	 * past the reader table, a durable one in free reader slot 0. */
	struct fmt_wslot ws;
	memset(&ws, 0, sizeof(ws));
	ws.state = WSLOT_ACTIVE;
	ws.pid = 1;
	ws.msgs = 1000;
	ws.bytes = 64000;
	ws.aborted = 7;
	ws.attaches = 1;
	rw_at(p, t.woff, &ws, sizeof(ws), 1);
	struct fmt_rslot rs;
	memset(&rs, 0, sizeof(rs));
	rs.cursor = 3; /* off the frame grid: recovery would move a reader's */
	rs.state = RSLOT_ACTIVE;
	rs.flags = RSLOT_DURABLE;
	rs.pid = 1;
	strcpy(rs.name, "ghost");
	rw_at(p, t.roff, &rs, sizeof(rs), 1);
	rs.state = RSLOT_FREE;
	strcpy(rs.name, "free");
	rw_at(p, sb.rslot_off, &rs, sizeof(rs), 1);
	read_tails(p, &t);

	CHECK_OK(mapq_open(&q, p, 0, NULL));
	check_stats_empty(q, 0);
	CHECK_RC(mapq_reader_drop(q, "ghost"), -ENOENT);
	CHECK_RC(mapq_reader_drop(q, "free"), -ENOENT);
	check_recovery_idle(q);
	check_untouched(p, &t);

	/* Full tables: NR readers, then no more, by name or not. */
	for (int i = 0; i < NR; i++)
		CHECK_OK(mapq_reader_open(q, &r[i], NULL, MAPQ_START_OLDEST));
	CHECK_RC(mapq_reader_open(q, &extra, NULL, MAPQ_START_OLDEST), -MAPQ_ENOSLOT);
	CHECK_RC(mapq_reader_open(q, &extra, "ghost", MAPQ_START_RESUME), -MAPQ_ENOSLOT);
	CHECK(extra == NULL);
	check_stats_empty(q, NR);

	/* NW writers (one per handle: each has its own locks), then none. */
	mapq *w[NW + 1];
	w[0] = q;
	for (int i = 1; i <= NW; i++)
		CHECK_OK(mapq_open(&w[i], p, 0, NULL));
	for (int i = 0; i < NW; i++)
		CHECK_OK(mapq_send(w[i], "m", 1, 0));
	CHECK_RC(mapq_send(w[NW], "m", 1, 0), -MAPQ_ENOSLOT);
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.msgs, NW);
	CHECK_EQ(st.writers_attached, NW);
	for (int i = 0; i < NR; i++) {
		char buf[8];
		for (int k = 0; k < NW; k++)
			CHECK_EQ(mapq_recv(r[i], buf, sizeof(buf), 0), 1);
		CHECK_RC(mapq_recv(r[i], buf, sizeof(buf), 0), -EAGAIN);
	}
	/* Laps of the ring with both readers keeping up: head moves on,
	 * whatever the planted reader's cursor says (the scan of the slots
	 * that hold writers back stops at the table's end). */
	for (int k = 0; k < 400; k++) {
		char m[100] = "lap", buf[100];
		CHECK_OK(mapq_send(q, m, sizeof(m), 0));
		for (int i = 0; i < NR; i++)
			CHECK_EQ(mapq_recv(r[i], buf, sizeof(buf), 0), sizeof(m));
	}
	check_recovery_idle(q);
	for (int i = 0; i < NR; i++)
		mapq_reader_close(r[i]);
	for (int i = NW; i >= 0; i--)
		mapq_close(w[i]);
	check_untouched(p, &t);

	/* Opened again alone, the queue is recovered exclusively. */
	CHECK_OK(mapq_open(&q, p, 0, NULL));
	check_recovery_idle(q);
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.readers_durable, 0);
	CHECK_EQ(st.readers_attached, 0);
	mapq_close(q);
	check_untouched(p, &t);
	return 0;
}
