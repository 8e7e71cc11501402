/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ops.c - stateful fuzz target: the input is a program of operations
 * on a real queue, checked after every step against a simple model.
 *
 * Two writer handles (0 and 1) and up to three readers work on one 4 KiB
 * ring under the blocking policy. Operations: send; reserve, then commit
 * or abort; the death of writer 1 in the middle of a reservation (all the
 * locks of its open file description are dropped, as the kernel does at
 * death, and the handle is then forgotten); recovery; reader open
 * (ephemeral from the latest message, or the durable reader resuming),
 * close, and read. The model is the list of reservations in order
 * (committed with their bytes, aborted, open, or dead) and each reader's
 * place in it: a read must return exactly the model's next committed
 * message, and may only say "nothing yet" when the model has none ready.
 * Any divergence aborts with a message.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"
#include "internal.h"

#define MAX_SLOTS 4096
#define NREADERS 3

enum {
	S_COMMITTED,
	S_ABORTED,
	S_OPEN,
	S_DEAD
};
struct mslot {
	int state, owner;
	uint32_t len;
	uint8_t fill; /* payload byte: messages are len copies of it */
};

static struct mslot model[MAX_SLOTS];
static int nslots;

struct mreader {
	mapq_reader *r;
	int cursor; /* index into model */
	bool durable;
};

static void diverge(const char *what, int step, long got)
{
	fprintf(stderr, "fuzz_ops: step %d: %s (got %ld: %s)\n", step, what, got,
		got < 0 ? mapq_strerror((int)got) : "");
	abort();
}

/* Where the model's next deliverable message is for a reader at @c:
 * skips aborted ones; -1 if blocked by an open or dead one, or none. */
static int next_ready(int c)
{
	while (c < nslots && model[c].state == S_ABORTED)
		c++;
	return c < nslots && model[c].state == S_COMMITTED ? c : -1;
}

/* The writer handle that has slot @owner open, if any. */
static int open_slot(int owner)
{
	for (int i = nslots - 1; i >= 0; i--)
		if (model[i].owner == owner && model[i].state == S_OPEN)
			return i;
	return -1;
}

/* The same, but a dead writer's frame may have been repaired already by a
 * reader that waited on it long enough (at least a millisecond). */
static int next_maybe_repaired(int c)
{
	while (c < nslots && (model[c].state == S_ABORTED || model[c].state == S_DEAD))
		c++;
	return c < nslots && model[c].state == S_COMMITTED ? c : -1;
}

static void do_read(struct mreader *mr, int step)
{
	uint8_t buf[300];
	ssize_t n = mapq_recv(mr->r, buf, sizeof(buf), 0);
	int want = next_ready(mr->cursor);
	if (n == -EAGAIN) {
		if (want >= 0)
			diverge("read said nothing, the model has a message", step, n);
		return;
	}
	if (n < 0)
		diverge("read failed", step, n);
	if (want < 0) {
		want = next_maybe_repaired(mr->cursor);
		if (want < 0)
			diverge("read a message the model does not have", step, n);
		for (int s = mr->cursor; s < want; s++)
			if (model[s].state == S_DEAD)
				model[s].state = S_ABORTED; /* repaired by the reader */
	}
	if ((uint32_t)n != model[want].len)
		diverge("read the wrong length", step, n);
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] != model[want].fill)
			diverge("read the wrong bytes", step, n);
	mr->cursor = want + 1;
}

static void add(int state, int owner, uint32_t len, uint8_t fill)
{
	model[nslots++] = (struct mslot){ state, owner, len, fill };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 4096;
	o.max_msg = 256;
	o.writer_slots = 4;
	o.reader_slots = 6;
	/* Readers never give up on a live writer's open reservation: that
	 * happens after a timeout, so whether it had happened would depend on
	 * how fast the machine runs the program (under strace or Valgrind a
	 * long input takes over a second), and the model could not know.
	 * tests/recover_live and tests/dead_writer cover it. Dead writers'
	 * frames are still repaired, within a millisecond or so. */
	o.unblock_ms = -1;
	const char *path = fz_path("q");
	unlink(path);
	mapq *w[2];
	if (mapq_open(&w[0], path, MAPQ_CREATE | MAPQ_EXCL, &o) || mapq_open(&w[1], path, 0, &o))
		abort();
	struct mreader rd[NREADERS] = { { NULL, 0, false } };
	nslots = 0;
	/* The durable reader exists from the start (detached: it holds
	 * writers back), so the model knows where it resumes. */
	if (mapq_reader_open(w[0], &rd[0].r, "d", MAPQ_START_OLDEST))
		abort();
	mapq_reader_close(rd[0].r);
	rd[0].r = NULL;
	bool w1_alive = true;
	void *resv[2] = { NULL, NULL };
	uint32_t resv_len[2] = { 0, 0 };
	uint8_t fill = 1;

	for (size_t i = 0; i + 1 < size && nslots < MAX_SLOTS - 2; i += 2) {
		int step = (int)(i / 2), op = data[i] % 10, arg = data[i + 1];
		int h = arg & 1, k = arg % NREADERS;
		if (h == 1 && !w1_alive)
			h = 0;
		switch (op) {
		case 0: /* send */
		case 1: {
			if (open_slot(h) >= 0)
				break; /* one reservation per handle: the API says ESTATE */
			uint32_t len = (uint32_t)(arg * 7) % 200;
			uint8_t buf[256];
			memset(buf, fill, len);
			int rc = mapq_send(w[h], buf, len, 0);
			if (rc == 0)
				add(S_COMMITTED, h, len, fill++);
			else if (rc != -EAGAIN)
				diverge("send failed", step, rc);
			break;
		}
		case 2: /* reserve */
			if (open_slot(h) >= 0) {
				if (mapq_reserve(w[h], 10, &resv[h], 0) != -MAPQ_ESTATE)
					diverge("second reservation accepted", step, 0);
				break;
			}
			resv_len[h] = (uint32_t)(arg * 5) % 200;
			{
				int rc = mapq_reserve(w[h], resv_len[h], &resv[h], 0);
				if (rc == 0)
					add(S_OPEN, h, resv_len[h], 0);
				else if (rc != -EAGAIN)
					diverge("reserve failed", step, rc);
			}
			break;
		case 3: /* commit or abort the open reservation */
		{
			int s = open_slot(h);
			if (s < 0)
				break;
			if (arg & 2) {
				memset(resv[h], fill, resv_len[h]);
				if (mapq_commit(w[h], resv_len[h]))
					diverge("commit failed", step, 0);
				model[s].state = S_COMMITTED;
				model[s].fill = fill++;
			} else {
				if (mapq_abort(w[h]))
					diverge("abort failed", step, 0);
				model[s].state = S_ABORTED;
			}
			break;
		}
		case 4: /* writer 1 dies (maybe mid-reservation) */
			if (!w1_alive)
				break;
			{
				/* What the kernel does when the process dies: every lock of
			 * its open file description goes. (Closing the descriptor
			 * would not do it here: the mapping keeps the description
			 * open until it is unmapped.) */
				struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
				if (fcntl(w[1]->fd, F_OFD_SETLK, &fl) != 0)
					abort();
			}
			w[1]->wslot = -1;
			w[1]->resv_size = 0;
			w1_alive = false;
			for (int s = 0; s < nslots; s++)
				if (model[s].owner == 1 && model[s].state == S_OPEN)
					model[s].state = S_DEAD;
			break;
		case 5: { /* recovery: finishes dead writers' frames */
			mapq_recovery rep;
			int rc = mapq_recover(w[0], &rep);
			if (rc == -MAPQ_ESTATE)
				break;
			if (rc)
				diverge("recover failed", step, rc);
			for (int s = 0; s < nslots; s++)
				if (model[s].state == S_DEAD)
					model[s].state = S_ABORTED;
			break;
		}
		case 6: /* reader open */
			if (rd[k].r)
				break;
			if (k == 0) { /* the durable one resumes where it was */
				int rc = mapq_reader_open(w[0], &rd[k].r, "d", MAPQ_START_RESUME);
				if (rc)
					diverge("durable reader open failed", step, rc);
				rd[k].durable = true;
			} else {
				int rc = mapq_reader_open(w[0], &rd[k].r, NULL, MAPQ_START_LATEST);
				if (rc)
					diverge("reader open failed", step, rc);
				rd[k].cursor = nslots;
			}
			break;
		case 7: /* reader close */
			if (rd[k].r) {
				mapq_reader_close(rd[k].r);
				rd[k].r = NULL;
			}
			break;
		default: /* read */
			if (rd[k].r)
				do_read(&rd[k], step);
			break;
		}
	}
	/* Everything the model has ready must come out, in order. */
	for (int k = 0; k < NREADERS; k++)
		if (rd[k].r)
			while (next_ready(rd[k].cursor) >= 0)
				do_read(&rd[k], -1);
	mapq_close(w[1]); /* dead: no slot or reservation left to release */
	mapq_close(w[0]);
	return 0;
}
