/* SPDX-License-Identifier: MIT */
/*
 * account.c - what a reader makes of each message it receives: the
 * bookkeeping behind the verdict's corrupt, duplicated, reordered and lost
 * counts, shared by the torture harness's readers and the simulator's.
 */
#include "config.h"

#include "mapq.h"
#include "torture.h"

/* The frame a message occupies (doc/format.md): to tell a read that went
 * straight to the next frame from one that skipped frames on the way. */
uint64_t tt_frame_end(const mapq_msg *m)
{
	return m->pos + ((32 + m->len + 15) & ~(uint64_t)15);
}

void tt_record(const struct tt_state *st, uint32_t reader, uint32_t epoch, bool durable,
	       const struct tt_stamp *s, bool *first_after_restart)
{
	struct tt_rstats *rs = tt_rstats(st, reader);
	struct tt_pair *p = tt_pair(st, reader, s->writer, s->inc);
	rs->delivered++;
	if (p->epoch != epoch && epoch > 0 && !durable) {
		/* First from this writer since an ephemeral restart: the
		 * reader missed what came meanwhile, by design. */
		p->next = s->seq + 1;
		p->got++;
	} else if (s->seq == p->next) {
		p->next++;
		p->got++;
	} else if (s->seq > p->next) {
		if (!rs->lossy)
			rs->gaps++;
		p->gap_lo = p->next;
		p->gap_hi = s->seq;
		p->next = s->seq + 1;
		p->got++;
	} else if (*first_after_restart && s->seq + 1 == p->next) {
		rs->redelivered++; /* read, recorded, killed before release */
	} else if (s->seq >= p->gap_lo && s->seq < p->gap_hi) {
		rs->reordered++;
		p->got++;
	} else {
		rs->duplicated++;
	}
	p->epoch = epoch;
	*first_after_restart = false;
}

/* After the end marker, under MAPQ_OVERWRITE: a writer counts a lapped
 * reader's loss just after it pushes the reader's cursor (doc/format.md,
 * "Read"), so the reader can meet the end marker before it is told of
 * the last messages it lost. The end marker's sender counted its own
 * pushes before its commit, and every other writer had stopped: one more
 * read collects what is left. */
void tt_last_losses(mapq_reader *r, struct tt_rstats *rs)
{
	mapq_msg m;
	int rc = mapq_read(r, &m, 0);
	if (rc == 0 && mapq_release(r) == 0)
		return; /* nothing is sent after the end marker: nothing to add */
	if (rc == -MAPQ_ELAPPED) {
		rs->lapped++;
		rs->lapped_lost += mapq_reader_lost(r);
	}
}
