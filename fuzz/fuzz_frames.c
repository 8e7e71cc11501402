/* SPDX-License-Identifier: MIT */
/*
 * fuzz_frames.c - fuzz target: arbitrary bytes as the ring of a live
 * queue, walked the way readers and writers walk it, without recovery
 * first: everything a process can meet in a ring that another process
 * (a crashed or a hostile one) wrote.
 *
 * Input: byte 0 chooses the policy (bit 0) and the capacity (bit 1:
 * 8 KiB, else 4 KiB); bytes 1-8 and 9-16 are head and tail (little
 * endian, taken as they are); the rest is copied over the ring. Readers
 * then read with timeout 0 (one message or a batch), writers send with
 * timeout 0, and a recovery runs at the end. Nothing may crash or hang.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "internal.h"

/* Every other read takes a batch (mapq_read_batch), which walks the
 * frames past the cursor before any release. */
static void read_some(mapq_reader *r, int limit)
{
	uint8_t buf[512];
	for (int i = 0; i < limit; i++) {
		mapq_msg m[8];
		int rc = i & 1 ? mapq_read_batch(r, m, 8, 0) : mapq_read(r, m, 0);
		if (rc == -MAPQ_ELAPPED || rc == -MAPQ_EFRAMECRC)
			continue;
		if (rc < 0)
			return;
		for (int k = 0; k < (i & 1 ? rc : 1); k++)
			memcpy(buf, m[k].data, m[k].len < sizeof(buf) ? m[k].len : sizeof(buf));
		if (mapq_release(r) != 0)
			continue; /* lapped while held: the next read says so */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 17)
		return 0;
	mapq_options o;
	mapq_options_init(&o);
	o.policy = data[0] & 1 ? MAPQ_OVERWRITE : MAPQ_BLOCK;
	o.capacity = data[0] & 2 ? 8192 : 4096;
	o.writer_slots = 2;
	o.reader_slots = 2;
	const char *path = fz_path("q");
	unlink(path);
	mapq *q;
	if (mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o) != 0)
		abort();
	uint64_t head, tail;
	memcpy(&head, data + 1, 8);
	memcpy(&tail, data + 9, 8);
	size_t n = size - 17 < q->cap ? size - 17 : q->cap;
	memcpy(q->ring, data + 17, n);
	atomic_store(&q->ctl->head, head);
	atomic_store(&q->ctl->tail, tail);

	mapq_reader *r;
	if (mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST) == 0) {
		read_some(r, 2000);
		/* Sends may fail in any of the documented ways; only a crash
		 * or a hang is a finding here. */
		int sent = 0;
		for (int i = 0; i < 3; i++)
			sent += mapq_send(q, "abcdefghijklmnopqrstuvwxyz", 26, 0) == 0;
		(void)sent;
		read_some(r, 2000);
		mapq_reader_close(r);
	}
	/* Alone with it: recover, then the queue must work. */
	mapq_recovery rep;
	if (mapq_recover(q, &rep) == 0 && mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST) == 0) {
		read_some(r, 2000);
		if (mapq_send(q, "after", 5, 0) == 0)
			read_some(r, 1);
		read_some(r, 10);
		mapq_reader_close(r);
	}
	mapq_close(q);
	return 0;
}
