/* SPDX-License-Identifier: MIT */
/* checkpoints: which mapq_sync() checkpoint recovery starts from when the
 * control page is not believable (doc/format.md, "Recovery").
 *
 * - The newest valid one, even when head equals tail in it (a sync of an
 *   empty queue): rep.used_checkpoint says so.
 * - Its tail is the log's recorded end: a damaged frame before it is
 *   skipped and the messages after it are kept (rep.frames_skipped).
 * - Only the checkpoint pages hold checkpoints: one planted in the page
 *   after them (the writer slot table's first bytes, which a hostile
 *   peer can write) is never used, however new its seq; nor is one
 *   whose CRC does not match. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define CAP 4096u
#define MSG 200u

static struct fmt_super sb;

static void poke(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void peek(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* Make the control page unbelievable: head off the frame grid. */
static void garble_head(const char *path)
{
	uint64_t h = 8;
	poke(path, sb.ctl_off + offsetof(struct fmt_ctl, head), &h, sizeof(h));
}

/* Recover alone, after an open that does not. */
static mapq *recover(const char *path, mapq_recovery *rep)
{
	mapq *q;
	CHECK_OK(mapq_open(&q, path, MAPQ_NORECOVER, NULL));
	CHECK_OK(mapq_recover(q, rep));
	CHECK_EQ(rep->exclusive, 1);
	return q;
}

/* The messages a new reader gets from the oldest: their seqs in @seq. */
static int drain(mapq *q, uint64_t *seq, int max)
{
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	int n = 0;
	for (;;) {
		uint8_t in[MSG];
		uint32_t w;
		ssize_t got = mapq_recv(r, in, sizeof(in), 0);
		if (got == -EAGAIN)
			break;
		CHECK_EQ(got, MSG);
		CHECK(n < max);
		CHECK_OK(t_check_payload(in, MSG, &w, &seq[n]));
		n++;
	}
	mapq_reader_close(r);
	return n;
}

int main(void)
{
	const char *p = t_path("q");
	mapq *q;
	mapq_recovery rep;
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = CAP;
	CHECK_OK(mapq_open(&q, p, MAPQ_CREATE | MAPQ_EXCL, &o));
	peek(p, 0, &sb, sizeof(sb));

	/* A sync of an empty queue: head equals tail in its checkpoint. */
	CHECK_OK(mapq_sync(q));
	mapq_close(q);
	garble_head(p);
	q = recover(p, &rep);
	CHECK_EQ(rep.used_checkpoint, 1);
	CHECK_EQ(rep.head, 0);
	CHECK_EQ(rep.messages, 0);

	/* Five messages, synced: the newest checkpoint's tail is after
	 * them. Then frame 1's payload is damaged (its CRC fails). */
	uint8_t out[MSG];
	for (uint64_t s = 0; s < 5; s++) {
		t_fill(out, MSG, 1, s);
		CHECK_OK(mapq_send(q, out, MSG, 0));
	}
	CHECK_OK(mapq_sync(q));
	mapq_close(q);
	uint64_t frame = frame_size(MSG);
	uint8_t junk = 0x5a;
	poke(p, sb.data_off + frame + FRAME_HDR + 3, &junk, 1);

	/* Planted in the page after the checkpoints: a newer checkpoint
	 * that ends the log at 0. Its seq reads as a free writer slot's
	 * state and pid, head and tail as no reservation. */
	struct fmt_ckpt fake = { .seq = (uint64_t)1 << 32, .head = 0, .tail = 0 };
	fake.crc = mapq__ckpt_crc(&fake);
	poke(p, sb.wslot_off, &fake, sizeof(fake));
	/* And in the checkpoint page the next sync would write, one newer
	 * still whose CRC is wrong. */
	struct fmt_ckpt bad = { .seq = 1000, .head = 0, .tail = 0 };
	bad.crc = mapq__ckpt_crc(&bad) ^ 1;
	poke(p, sb.ctl_off + FMT_PAGE * (1 + 3 % FMT_CKPT_PAGES), &bad, sizeof(bad));

	garble_head(p);
	q = recover(p, &rep);
	CHECK_EQ(rep.used_checkpoint, 1);
	CHECK_EQ(rep.head, 0);
	CHECK_EQ(rep.frames_skipped, 1);
	CHECK_EQ(rep.tail_after, 5 * frame);
	uint64_t seq[8];
	CHECK_EQ(drain(q, seq, 8), 4);
	CHECK(seq[0] == 0 && seq[1] == 2 && seq[2] == 3 && seq[3] == 4);
	mapq_close(q);
	return 0;
}
