/* SPDX-License-Identifier: MIT */
/*
 * roles.c - the workload of the simulated processes: writers that send
 * stamped messages and count what was acknowledged, readers that check
 * and account every message (harness/account.c, as the torture harness's
 * readers do), and a closer that sends the end marker once every writer
 * is done. Each also checks what only virtual time can judge: a call
 * with a timeout returns at its timeout, not before and not long after,
 * and a waiter that finds what it waited for was woken for it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "mapq.h"
#include "simulator.h"

/* How late past its timeout a call may return: the last look, and a
 * writer's attach, which may repair a dead owner's frame first. */
#define LATE_NS 2000000ull

const char *sim_role_name(const struct sim_proc *p)
{
	return p->role == R_WRITER ? "writer" : p->role == R_READER ? "reader" : "closer";
}

static void fail_rc(const struct sim_proc *p, const char *what, int rc)
{
	sim_fail("%s %u.%u: %s: %s (%s)", sim_role_name(p), p->id, p->inc, what, mapq_strerror(rc),
		 mapq_err_name(rc));
	sim_exit();
}

static mapq *open_queue(const struct sim_proc *p)
{
	mapq_options o;
	mapq_options_init(&o);
	o.unblock_ms = sim_w.cfg->unblock_ms;
	mapq *q;
	int rc = mapq_open(&q, sim_w.path, 0, &o);
	if (rc)
		fail_rc(p, "open", rc);
	return q;
}

/* After a blocking call. @got: it found what it waited for. */
static void judge_wait(struct sim_proc *p, const char *what, int timeout_ms, uint64_t t0, int rc,
		       bool got)
{
	uint64_t took = sim_w.vt - t0;
	if (got && p->quiet_timer && !sim_w.disturbed)
		sim_fail("lost wake-up: %s %u.%u: %s succeeded only when its own timer ran out "
			 "(%.3f ms in), with every other process asleep and nothing dead or "
			 "stalled: whoever made it possible did not wake it",
			 sim_role_name(p), p->id, p->inc, what, (double)took / 1e6);
	if (rc == -ETIMEDOUT && timeout_ms > 0) {
		uint64_t t = (uint64_t)timeout_ms * 1000000u;
		if (took < t)
			sim_fail("timeout error: %s %u.%u: %s with a %d ms timeout gave up after "
				 "%.3f ms",
				 sim_role_name(p), p->id, p->inc, what, timeout_ms,
				 (double)took / 1e6);
		else if (took > t + LATE_NS && !sim_w.disturbed)
			sim_fail("timeout error: %s %u.%u: %s with a %d ms timeout returned after "
				 "%.3f ms",
				 sim_role_name(p), p->id, p->inc, what, timeout_ms,
				 (double)took / 1e6);
	}
	p->quiet_timer = false;
}

/* The timeouts the workload uses: none, a short one and a long one. */
static int pick_timeout(void)
{
	static const int t[] = { -1, 3, 40 };
	return t[sim_choose(3)];
}

static uint64_t acked_before(const struct sim_proc *p)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < p->inc; i++)
		n += atomic_load_explicit(&sim_w.st.acks[(size_t)p->id * TT_MAX_INC + i],
					  memory_order_relaxed);
	return n;
}

/* A send (@what) that began at @t0 sent nothing, for @rc: fail the run
 * unless that is what a send may say, to be sent again. */
static void judge_unsent(struct sim_proc *p, const char *what, int rc, uint64_t t0)
{
	/* Readers skip a frame only after the unblock timeout: said sooner,
	 * -MAPQ_ESTALLED is false (and the message was not sent, when it
	 * may have been). */
	if (rc == -MAPQ_ESTALLED && sim_w.vt - t0 < (uint64_t)sim_w.cfg->unblock_ms * 1000000u)
		sim_fail("false -MAPQ_ESTALLED: writer %u.%u: its %s took %.3f ms, less than the "
			 "%d ms unblock timeout after which readers may skip a frame",
			 p->id, p->inc, what, (double)(sim_w.vt - t0) / 1e6, sim_w.cfg->unblock_ms);
	/* full for a while, or readers skipped our stalled frame: the
	 * message was not sent; send it again */
	if (rc != -ETIMEDOUT && rc != -EAGAIN && rc != -MAPQ_ESTALLED)
		fail_rc(p, what, rc);
}

static void send_retrying(struct sim_proc *p, mapq *q, const uint8_t *buf, uint32_t len,
			  uint64_t seq)
{
	for (;;) {
		int timeout = pick_timeout();
		uint64_t t0 = sim_w.vt;
		p->quiet_timer = false;
		int rc = tt_send(q, buf, len, seq, timeout);
		judge_wait(p, "send", timeout, t0, rc, rc == 0);
		if (rc == 0) {
			sim_w.progress_vt = sim_w.vt;
			return;
		}
		judge_unsent(p, "send", rc, t0);
	}
}

/* --power-cuts: make what this writer (and every other) had acknowledged
 * durable; what a successful call covered must survive a power cut. */
static void sync_now(struct sim_proc *p, mapq *q)
{
	uint64_t snap[SIM_MAX_WRITERS][TT_MAX_INC];
	sim_power_snapshot(snap);
	uint64_t t0 = sim_w.vt;
	p->quiet_timer = false;
	int rc = mapq_sync(q);
	/* its two waits, of up to twice the unblock timeout each, are not a
	 * timeout of the caller's: only a lost wake-up is judged */
	judge_wait(p, "sync", 0, t0, rc, rc == 0);
	if (rc == 0)
		sim_power_synced(snap);
	else if (rc != -ETIMEDOUT)
		fail_rc(p, "sync", rc);
}

/* --send-batch: messages @seq.. (@n of them) through mapq_send_batch(),
 * with @lens; each acknowledged as the call says it was sent; retried as
 * send_retrying() retries. */
static void send_batch_retrying(struct sim_proc *p, mapq *q, uint8_t *buf, const uint32_t *lens,
				unsigned n, uint64_t *seq, _Atomic uint64_t *ack)
{
	for (unsigned i = 0; i < n;) {
		int timeout = pick_timeout();
		uint64_t t0 = sim_w.vt;
		p->quiet_timer = false;
		int rc = tt_send_batch(q, buf, SIM_MAX_MSG, lens + i, n - i, (uint16_t)p->id,
				       (uint16_t)p->inc, *seq, timeout);
		judge_wait(p, "send_batch", timeout, t0, rc, rc > 0);
		if (rc > 0) {
			sim_w.progress_vt = sim_w.vt;
			i += (unsigned)rc;
			*seq += (uint64_t)rc;
			/* relaxed: one process runs at a time */
			atomic_store_explicit(ack, *seq, memory_order_relaxed);
			continue;
		}
		judge_unsent(p, "send_batch", rc, t0);
	}
}

static void writer(struct sim_proc *p)
{
	const struct sim_config *cfg = sim_w.cfg;
	mapq *q = open_queue(p);
	uint8_t buf[TT_SEND_BATCH * SIM_MAX_MSG]; /* a stack each: processes interleave */
	/* relaxed: one process runs at a time */
	_Atomic uint64_t *ack = &sim_w.st.acks[(size_t)p->id * TT_MAX_INC + p->inc];
	uint64_t left = cfg->messages - acked_before(p), seq = 0;
	while (left) {
		/* --send-batch: two to four at a time, one time in two */
		unsigned n = cfg->send_batch && left > 1 && sim_choose(2)
				     ? 2 + (unsigned)sim_choose(TT_SEND_BATCH - 1)
				     : 1;
		if (n > left)
			n = (unsigned)left;
		uint32_t lens[TT_SEND_BATCH];
		for (unsigned i = 0; i < n; i++)
			lens[i] = cfg->min_size +
				  (uint32_t)sim_choose(cfg->max_size - cfg->min_size + 1);
		if (n > 1) {
			send_batch_retrying(p, q, buf, lens, n, &seq, ack);
		} else {
			tt_fill(buf, lens[0], (uint16_t)p->id, (uint16_t)p->inc, seq);
			send_retrying(p, q, buf, lens[0], seq);
			atomic_store_explicit(ack, ++seq, memory_order_relaxed);
		}
		left -= n;
		/* now and then, and after the last */
		if (cfg->events[EV_POWER] && (!left || sim_choose(4) == 0))
			sync_now(p, q);
	}
	mapq_close(q);
	sim_w.writer_done[p->id] = true;
	if (++sim_w.writers_done == cfg->writers && !sim_w.closer_started) {
		sim_w.closer_started = true;
		(void)sim_spawn(R_CLOSER, 0, 0, 0);
	}
}

static void closer(struct sim_proc *p)
{
	mapq *q = open_queue(p);
	uint8_t buf[TT_MIN_MSG];
	tt_fill(buf, TT_MIN_MSG, TT_END_WRITER, 0, 0);
	send_retrying(p, q, buf, TT_MIN_MSG, 0);
	sim_w.end_sent = true;
	mapq_close(q);
}

/* --break crash: a real SIGSEGV inside a simulated process, which
 * mapq-sim must report with its schedule. */
static void crash(void)
{
	volatile uint8_t *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page != MAP_FAILED)
		page[0] = 1;
}

/* --batch: the first @n of a reader's @npend held messages were released */
static void forget_held(struct sim_held *pend, unsigned *npend, unsigned n)
{
	*npend -= n;
	memmove(pend, pend + n, *npend * sizeof(*pend));
}

static void reader(struct sim_proc *p)
{
	const struct sim_config *cfg = sim_w.cfg;
	struct tt_rstats *rs = tt_rstats(&sim_w.st, p->id);
	rs->epoch = p->inc;
	if (rs->done)
		return; /* it died after the end marker: nothing more will come */
	mapq *q = open_queue(p);
	mapq_reader *r;
	char name[16];
	snprintf(name, sizeof(name), "r%u", p->id);
	int start = cfg->durable                    ? MAPQ_START_RESUME
		    : p->inc && !cfg->rejoin_oldest ? MAPQ_START_LATEST
						    : MAPQ_START_OLDEST;
	int rc = mapq_reader_open(q, &r, cfg->durable ? name : NULL, start);
	if (rc)
		fail_rc(p, "reader_open", rc);
	if (p->inc > 0 && !cfg->durable)
		rs->lossy = 1;
	/* --drop: the last incarnation dropped the name as it closed; this
	 * one takes it anew, at the oldest message (MAPQ_START_RESUME of a
	 * name nobody holds), and what came meanwhile is no loss */
	bool anew = sim_w.dropped[p->id];
	sim_w.dropped[p->id] = false;
	if (anew) {
		rs->lossy = 1;
		/* It reads again what it read before the drop, and later
		 * incarnations resume from there: each writer's stream
		 * starts afresh, whatever it is taken up at. */
		for (unsigned w = 0; w < cfg->writers; w++)
			for (unsigned i = 0; i < TT_MAX_INC; i++) {
				struct tt_pair *tp = tt_pair(&sim_w.st, p->id, w, i);
				tp->next = tp->gap_lo = tp->gap_hi = 0;
			}
	}
	/* A reader without a name that comes back once the closer is on its
	 * way starts at the newest message, which may be past the end
	 * marker: it is done when its read times out after the marker went
	 * (mapq-torture stops its kills before the marker instead). */
	bool may_miss_end = start == MAPQ_START_LATEST && p->inc > 0 && sim_w.closer_started;
	if (!sim_w.reader_ready[p->id]) {
		sim_w.reader_ready[p->id] = true;
		if (++sim_w.readers_ready == cfg->readers)
			sim_start_writers();
	}
	/* after a power cut a durable cursor may have gone back or forward
	 * (power.c judges durability): judged as a cursor without a name */
	bool durable = cfg->durable && !sim_w.power_cut && !anew;
	bool first_after_restart = p->inc > 0 && durable;
	/* --batch: what this reader recorded and has not released is
	 * sim_w.held (its cursor is at the first of them). A durable reader
	 * that died with some there reads them again first, in order, until
	 * it meets a message it never recorded; nothing else twice. */
	struct sim_held *pend = sim_w.held[p->id];
	unsigned *npend = &sim_w.held_n[p->id];
	bool again = false;
	if (cfg->batch) {
		again = first_after_restart;
		if (!again || cfg->overwrite)
			*npend = 0;
		first_after_restart = false;
	}
	uint64_t prev_end = UINT64_MAX;
	mapq_msg ms[SIM_BATCH];
	uint8_t copy[SIM_BATCH][1024]; /* on our own stack: other readers run between */
	for (;;) {
		int timeout = pick_timeout();
		uint64_t t0 = sim_w.vt;
		p->quiet_timer = false;
		if (may_miss_end && timeout < 0)
			timeout = 40;
		int n = 1;
		if (cfg->batch) {
			rc = mapq_read_batch(r, ms, 1 + (unsigned)sim_choose(SIM_BATCH), timeout);
			if (rc > 0) {
				n = rc;
				rc = 0;
			}
		} else {
			rc = mapq_read(r, &ms[0], timeout);
		}
		judge_wait(p, "read", timeout, t0, rc, rc == 0);
		if (rc == -ETIMEDOUT && may_miss_end && sim_w.end_sent) {
			rs->done = 1;
			break;
		}
		if (rc == -ETIMEDOUT)
			continue;
		if (rc == -MAPQ_ELAPPED) { /* overwrite: told how many it lost */
			rs->lapped++;
			rs->lapped_lost += mapq_reader_lost(r);
			rs->lossy = 1;
			prev_end = UINT64_MAX;
			continue;
		}
		if (rc == -MAPQ_EFRAMECRC) {
			rs->corrupt++; /* the library caught it: still a failure */
			continue;
		}
		if (rc)
			fail_rc(p, "read", rc);
		sim_w.progress_vt = sim_w.vt;
		uint64_t waited = sim_w.vt - t0;
		if (prev_end != UINT64_MAX && ms[0].pos != prev_end && waited > rs->max_stall_ns)
			rs->max_stall_ns = waited;
		prev_end = tt_frame_end(&ms[n - 1]);
		const void *data[SIM_BATCH];
		for (int i = 0; i < n; i++)
			data[i] = ms[i].data;
		if (again) {
			/* A death inside the release, after its CAS moved the
			 * cursor, left here what it released: those frames lie
			 * before the first message the cursor now gives. */
			unsigned gone = 0;
			while (gone < *npend && pend[gone].pos < ms[0].pos)
				gone++;
			forget_held(pend, npend, gone);
		}
		if (cfg->overwrite) {
			/* Writers may overwrite a held message: copy, then
			 * release, and judge the copies only if they were intact
			 * (the next read reports the lap), as mapq-torture does.
			 * The end marker, sent last, is never overwritten: done
			 * before the release moves a durable cursor past it, or a
			 * death in between would bring the reader back past it. */
			for (int i = 0; i < n; i++) {
				memcpy(copy[i], ms[i].data, ms[i].len);
				struct tt_stamp e;
				if (!tt_check(copy[i], ms[i].len, &e) && e.writer == TT_END_WRITER)
					rs->done = 1;
				data[i] = copy[i];
			}
			if (mapq_release(r) != 0)
				continue;
		}
		for (int i = 0; i < n; i++) {
			struct tt_stamp s = { 0 };
			bool ok = !tt_check(data[i], ms[i].len, &s);
			if (ok && again && (unsigned)i < *npend &&
			    !memcmp(&s, &pend[i].stamp, sizeof(s))) {
				rs->delivered++; /* the batch's i-th, read before a death */
				rs->redelivered++;
				continue;
			}
			if (cfg->batch && !cfg->overwrite) {
				again = false; /* from here on, each message is new */
				*npend = (unsigned)i;
				pend[(*npend)++] = (struct sim_held){ s, ms[i].pos };
			}
			if (!ok)
				rs->corrupt++;
			else if (s.writer == TT_END_WRITER)
				rs->done = 1;
			else if (s.writer >= cfg->writers || s.inc >= TT_MAX_INC)
				rs->corrupt++;
			else
				tt_record(&sim_w.st, p->id, p->inc, durable, &s,
					  &first_after_restart);
		}
		/* Under MAPQ_BLOCK what a reader holds is its own until it
		 * lets go, a reader that just joined at the oldest message
		 * too (ring.c, intend()): any error of the release is a
		 * failure. With --rejoin-oldest a reader now and then holds
		 * on a while (looking at its frame: steps where others run),
		 * and the bytes must not have changed. (Only there: a choice
		 * drawn in every workload would change what every saved seed
		 * replays.) */
		if (!cfg->overwrite && cfg->rejoin_oldest && sim_choose(4) == 1) {
			for (int i = 0; i < n; i++)
				memcpy(copy[i], ms[i].data, ms[i].len);
			mapq_frame_info fi;
			(void)mapq_frame(q, ms[0].pos, &fi);
			for (int i = 0; i < n; i++)
				if (memcmp(copy[i], ms[i].data, ms[i].len) != 0)
					sim_fail("held frame overwritten: reader %u.%u: the "
						 "message at %llu changed while it held it "
						 "(MAPQ_BLOCK)",
						 p->id, p->inc, (unsigned long long)ms[i].pos);
		}
		if (!cfg->overwrite && (rc = mapq_release(r)) != 0)
			fail_rc(p, "release", rc);
		if (cfg->batch && !cfg->overwrite) /* the first n are released */
			forget_held(pend, npend, (unsigned)n);
		if (cfg->breakage == BREAK_CRASH && p->id == 0)
			crash();
		if (rs->done) {
			if (cfg->overwrite)
				tt_last_losses(r, rs);
			break;
		}
		/* --reattach: now and then the reader closes, cleanly, and a
		 * new incarnation comes back later (a durable one resumes, one
		 * without a name starts at the newest message): the close
		 * wakes writers it held back, and the new one joins while
		 * writers move head */
		if (cfg->reattach && p->inc + 1 < TT_MAX_INC && sim_choose(8) == 1) {
			mapq_reader_close(r);
			/* --drop: now and then the name goes too, dropped by
			 * its owner once closed: writers that then find the
			 * slot free pass its cursor, and must happen after the
			 * reads it released (the drop's store of FREE). Said
			 * before the call: a death inside it may have dropped
			 * the name, and the next incarnation must not count on
			 * it. */
			if (cfg->drop && sim_choose(2) == 1) {
				sim_w.dropped[p->id] = true;
				rc = mapq_reader_drop(q, name);
				if (rc == -EBUSY) /* its slot locked by a look at it */
					sim_w.dropped[p->id] = false;
				else if (rc)
					fail_rc(p, "reader_drop", rc);
			}
			mapq_close(q);
			p->again = true;
			sim_exit();
		}
	}
	mapq_close(q);
}

void sim_role_main(void)
{
	struct sim_proc *p = sim_w.cur;
	switch (p->role) {
	case R_WRITER:
		writer(p);
		break;
	case R_READER:
		reader(p);
		break;
	case R_CLOSER:
		closer(p);
		break;
	}
}
