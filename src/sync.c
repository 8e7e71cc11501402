/* SPDX-License-Identifier: MIT */
/*
 * sync.c - mapq_sync(): make every message committed so far survive a
 * system crash, and leave a checkpoint that recovery can start from.
 *
 * The data first (msync of the whole file, once every earlier frame is
 * finished), then the checkpoint that points at it, in its own page.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>

#include "internal.h"
#include "os.h"

/* How often mapq_sync looks again at an unfinished frame whose writer is
 * alive (a dead one's frame is repaired at once). */
#define SYNC_POLL_NS 200000L

/* How long each of mapq_sync's waits (for ring space, for earlier frames)
 * may last: twice the unblock timeout; UINT64_MAX (for ever) if that is. */
static uint64_t sync_limit_ns(const struct mapq *q)
{
	return q->unblock_ns >= 0 ? 2 * (uint64_t)q->unblock_ns : UINT64_MAX;
}

/* Wait until every frame before @end is finished (committed, aborted or
 * padding), repairing dead writers' frames on the way; -ETIMEDOUT once
 * the whole wait has lasted twice the unblock timeout. A frame is
 * forsaken, as readers do, when it has stayed unfinished for the unblock
 * timeout counted from when we reached it. (Counted from the start of the
 * wait, it forsook live writers' frames the moment they were reached,
 * once a loaded machine had made the wait last that long.) */
static int wait_finished(struct mapq *q, uint64_t end)
{
	uint64_t start = mapq__now_ns(), c = 0, at = UINT64_MAX, since = 0;
	uint64_t limit = sync_limit_ns(q);
	for (;;) {
		/* relaxed: only where to look from (frames behind head are
		 * finished); every frame looked at is judged by its own pos
		 * and word, and head is checked again after them */
		uint64_t h = mapq__load(&q->ctl->head, memory_order_relaxed);
		if (c < h)
			c = h;
		if (c >= end)
			return 0;
		if (c % FRAME_ALIGN)
			return -MAPQ_ECORRUPT; /* from the file: off the frame grid */
		int err = MAPQ_FAULT(SYNC_BEFORE_LOOK);
		if (err)
			return err;
		uint64_t w, pos = frame_pos_at(q, c);
		w = mapq__load(commit_at(q, c), memory_order_acquire);
		/* We hold nothing back: if head passed c while we looked, the
		 * next lap may have half overwritten what we read (a stale lap
		 * tag, with a torn size: the simulator found it taken for
		 * corruption). Look again from head. The word's acquire keeps
		 * this load after the reads above (without it, mapq-sim
		 * --memory c11 met a stale head beside such a word: a false
		 * MAPQ_ECORRUPT); a head not yet past c means no writer had c.
		 * relaxed: nothing read after it depends on it but the word
		 * already read. */
		if (mapq__load(&q->ctl->head, memory_order_relaxed) > c)
			continue;
		/* A forsaken frame counts as finished: it will never be
		 * delivered, and recovery after a crash aborts it. */
		if (pos == c && cw_lap(w) == lap_of(q, c) && cw_state(w) != FRAME_NONE &&
		    (cw_state(w) != FRAME_CLAIMED || cw_forsaken(w))) {
			if (!mapq__frame_valid(q, c, w))
				return -MAPQ_ECORRUPT;
			c += cw_size(w);
			continue;
		}
		uint64_t now = mapq__now_ns();
		if (c != at) { /* a frame not waited for yet: its clock starts */
			at = c;
			since = now;
		}
		if (now - start > limit)
			return -ETIMEDOUT;
		bool force = q->unblock_ns >= 0 && now - since >= (uint64_t)q->unblock_ns;
		if (mapq__unblock(q, c, force) == REPAIR_NONE) {
			mapq__os_sleep_ns(SYNC_POLL_NS);
		}
	}
}

int mapq_sync(mapq *q)
{
	int err = idle_writable(q);
	if (err)
		return err;
	if (q->wslot < 0 && (err = mapq__wslot_attach(q)) != 0)
		return err;
	/* Start the next frame on a fresh page: writes after the sync then
	 * never touch a page that holds synced frames. */
	uint64_t pos = 0, size = 0;
	if (q->abort_max >= FMT_PAGE + 2 * FRAME_HDR) {
		/* A full ring (a slow reader, or a durable one that is gone)
		 * is waited for as long as an unfinished frame is below. */
		uint64_t limit = sync_limit_ns(q), ms = limit / 1000000;
		int timeout = limit == UINT64_MAX ? MAPQ_FOREVER
			      : ms > INT_MAX      ? INT_MAX
			      : ms < 1            ? 1
						  : (int)ms;
		err = mapq__reserve_frame(q, 0, &pos, &size, timeout);
		/* Readers skipped the filler while we stalled, and aborted it,
		 * which is all it was for (the simulator found this error
		 * reaching the caller) */
		if (err == -MAPQ_ESTALLED) {
			err = 0;
			size = 0;
		}
		if (err)
			return err;
		if (size) {
			q->resv_pos = pos;
			q->resv_size = size;
			q->resv_len = (uint32_t)(size - FRAME_HDR);
			(void)mapq_abort(q);
		}
	}
	/* relaxed: only a bound. The records of the reservations below it
	 * are read by mapq__unblock(), after its own acquire of tail. */
	uint64_t end = mapq__load(&q->ctl->tail, memory_order_relaxed);
	if ((err = wait_finished(q, end)) != 0)
		return err;
	(void)MAPQ_FAULT(SYNC_BEFORE_MSYNC);
	if ((err = mapq__os_flush(q->base, (size_t)q->sb.file_size)) != 0)
		return err;
	/* The checkpoint: only after the data it points at is durable. */
	if ((err = mapq__registry_lock(q->fd, sync_off(q))) != 0)
		return err;
	const struct fmt_ckpt *old = mapq__newest_ckpt(q);
	/* Never move the checkpoint back. A sync whose wait was long can end
	 * before the newest checkpoint, written since by a sync that began
	 * later and flushed more. Its seq being higher, ours would become
	 * what recovery starts from after a power cut: a log that ends laps
	 * before what was synced (the simulator found every synced message
	 * after it lost: doc/simulation.md). The newer one stands for ours:
	 * its sync flushed all we did. Unless it names positions past the
	 * tail (a recovery cut the log after it was written): then ours.
	 * relaxed: a number; tail only grows while we have the queue open. */
	if (old && old->tail >= end &&
	    old->tail <= mapq__load(&q->ctl->tail, memory_order_relaxed)) {
		mapq__slot_unlock(q->fd, sync_off(q));
		return 0;
	}
	uint64_t seq = old ? old->seq + 1 : 1;
	struct fmt_ckpt *k = ckpt_at(q, (unsigned)(seq % FMT_CKPT_PAGES));
	/* relaxed: a number written into the checkpoint, no newer than the
	 * frames we synced need (an older head only starts recovery's walk
	 * earlier, at frames it skips if reused) */
	uint64_t h = mapq__load(&q->ctl->head, memory_order_relaxed);
	k->seq = seq;
	k->head = h < end ? h : end;
	k->tail = end;
	k->crc = mapq__ckpt_crc(k);
	(void)MAPQ_FAULT(SYNC_BEFORE_CKPT);
	/* k starts its page: the mapping and the offsets are page aligned */
	err = mapq__os_flush(k, FMT_PAGE);
	mapq__slot_unlock(q->fd, sync_off(q));
	return err;
}
