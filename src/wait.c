/* SPDX-License-Identifier: MIT */
/*
 * wait.c - spinning, then sleeping on shared words (the platform's
 * futexes, os.h) with the sleeper flags; deadlines.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "internal.h"
#include "os.h"

uint64_t mapq__now_ns(void)
{
	return mapq__os_mono_ns();
}

/* The pause times, in ns, tuned with mapq-bench (doc/performance.md has
 * the machine and the counts of pause they were); in time rather than in
 * pauses, they carry over to cores whose pause is several times longer or
 * shorter. */
#define EMPTY_NS 120u
#define FILLING_MIN_NS 60u
#define FILLING_MAX_NS 1250u
#define BLOCKED_MAX_NS 620u
#define CONTENDED_NS 1250u
#define CALIBRATE_RELAXES 128u
/* Between two offers of the CPU, this many looks; an offer that comes
 * back sooner than YIELD_HANDED_NS found nobody to run (the call alone
 * costs about a microsecond on a VM). */
#define YIELD_EVERY 8u
#define YIELD_HANDED_NS 4000u

struct mapq__spin mapq__spin;

/* A millisecond between a blocked process's liveness checks of the writer
 * it waits for (each costs a system call); the idle and space polls only
 * catch deaths, so they can be longer. */
struct mapq__polls mapq__poll = {
	.unblock_ns = 1000000u,
	.idle_ns = 5000000u,
	.space_ns = 10000000u,
};

static unsigned relaxes_for(unsigned ns, uint64_t ps_per_relax)
{
	uint64_t n = (uint64_t)ns * 1000u / ps_per_relax;
	return n < 1 ? 1 : n > 4096 ? 4096 : (unsigned)n;
}

/* Time CALIBRATE_RELAXES pauses three times (a few microseconds) and keep
 * the fastest: a preemption only ever makes one try slower. */
__attribute__((constructor)) static void spin_calibrate(void)
{
	uint64_t best = UINT64_MAX;
	for (int t = 0; t < 3; t++) {
		uint64_t t0 = mapq__now_ns();
		relax_n(CALIBRATE_RELAXES);
		uint64_t d = mapq__now_ns() - t0;
		if (d < best)
			best = d;
	}
	/* picoseconds per pause, at least 1 ns (Valgrind makes it a no-op) */
	uint64_t ps = best * 1000u / CALIBRATE_RELAXES;
	if (ps < 1000)
		ps = 1000;
	mapq__spin.empty = relaxes_for(EMPTY_NS, ps);
	mapq__spin.filling_min = relaxes_for(FILLING_MIN_NS, ps);
	mapq__spin.filling_max = relaxes_for(FILLING_MAX_NS, ps);
	mapq__spin.blocked_max = relaxes_for(BLOCKED_MAX_NS, ps);
	mapq__spin.contended = relaxes_for(CONTENDED_NS, ps);
	mapq__spin.ps_per_relax = (unsigned)(ps < UINT32_MAX ? ps : UINT32_MAX);
}

#ifdef MAPQ_SIM
void mapq__sim_spin_scale(unsigned ps_per_relax)
{
	mapq__spin.empty = mapq__spin.filling_min = 1;
	mapq__spin.filling_max = mapq__spin.blocked_max = mapq__spin.contended = 2;
	mapq__spin.ps_per_relax = ps_per_relax;
}
#endif

uint64_t mapq__deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return UINT64_MAX;
	return mapq__now_ns() + (uint64_t)timeout_ms * 1000000ull;
}

/*
 * The sleeper flags. A process about to sleep on a futex word reads the
 * word, sets the word's flag (an RMW, seq_cst), looks once more at what
 * it waits for, and only then sleeps, if the word still holds what it
 * read. A waker publishes
 * its change with a seq_cst operation and then loads the flag (seq_cst):
 * a Dekker pair, so either the waker sees the flag or the sleeper sees the
 * change. A waker that sees the flag clears it and wakes everyone
 * sleeping on the word; sleepers that still cannot go on set it again.
 *
 * A flag, not a count of sleepers: between a wake-up and the moment the
 * woken process runs (tens of microseconds on a busy machine) a count
 * would still say "someone sleeps", and every commit or release in that
 * window would pay for a futex_wake system call. A sleeper that leaves
 * without being woken (its timeout, or it found what it wanted) leaves
 * the flag set: that costs the next waker one system call, and a dead
 * sleeper costs no more, where a count it never took back would cost a
 * system call per message for good.
 */
bool mapq__sleeper_set(_Atomic uint32_t *flag, bool heavy)
{
	/* seq_cst RMW: the sleeper's half of the Dekker pair */
	mapq__xchg(flag, 1, memory_order_seq_cst);
	/* seq_cst fence: the look that follows reads acquire loads (pos, the
	 * commit word, a cursor), which C11 lets be satisfied before the
	 * exchange's store is seen by others (ARMv8.3's LDAPR, POWER): the
	 * waker would find no flag and we no change, and sleep to the poll.
	 * The fence keeps every later load after the flag. On x86 the
	 * exchange already is one; this is the sleep path, not the hot one. */
	mapq__fence(memory_order_seq_cst);
	/* The heavy side of the commit's asymmetric fence: a writer whose
	 * store of pos has not reached memory yet passes a full barrier now,
	 * so our look sees its pos, or its flag load comes after the barrier
	 * and sees our flag (format.md, "Waiting"). A system call, paid once
	 * per sleep so that no commit pays a fence. */
	return !heavy || mapq__os_barrier_all() == 0;
}

static void wake(_Atomic uint32_t *seq, _Atomic uint32_t *flag)
{
	/* seq_cst: the waker's half of the pair, after its seq_cst change */
	if (mapq__load(flag, memory_order_seq_cst) == 0)
		return;
	/* acquire: a sleeper whose flag we take read the word before it set
	 * the flag (mapq__waiter_block), and this orders our bump after that
	 * read, so its sleep returns at once or is woken by our FUTEX_WAKE;
	 * one that sets the flag after us is left for the next waker. Which
	 * of several wakers pays for the call is all the exchange decides. */
	if (mapq__xchg(flag, 0, memory_order_acquire) == 0)
		return;
	/* relaxed: the wake-up's system call (os.h) orders this change against
	 * the sleeper's compare; the bump only makes a sleeper that has not
	 * slept yet skip. */
	uint32_t was = mapq__fetch_add(seq, 1, memory_order_relaxed);
	mapq__os_wake(seq, was);
}

void mapq__wake_data(struct mapq *q)
{
	wake(&q->ctl->data_seq, &q->ctl->data_sleepers);
}

void mapq__wake_space(struct mapq *q)
{
	wake(&q->ctl->space_seq, &q->ctl->space_sleepers);
}

void mapq__waiter_init(struct mapq__waiter *w, int timeout_ms)
{
	w->timeout_ms = timeout_ms;
	w->deadline = 0;
	w->spun = 0;
	w->looks = 0;
	w->set = NULL;
	w->seen = 0;
	w->short_sleep = false;
	w->no_yield = false;
}

uint64_t mapq__waiter_deadline(struct mapq__waiter *w)
{
	if (!w->deadline)
		w->deadline = mapq__deadline(w->timeout_ms);
	return w->deadline;
}

int mapq__waiter_block(struct mapq__waiter *w, const struct mapq__blocker *b, unsigned paused,
		       uint64_t now)
{
	w->looks++;
	if (mapq__waiter_spinning(w, b)) {
		if (!paused) {
			cpu_relax();
			paused = 1;
		}
		w->spun += paused;
		/* Spun for the blocker's yield_ns, offer the CPU every few
		 * looks: with more busy processes than CPUs, the one we wait
		 * for may be waiting for ours, and would otherwise get it
		 * only once we sleep (doc/performance.md, "Yielding before
		 * sleeping"). */
		if (b->yield_ns && !w->no_yield && w->looks % YIELD_EVERY == 0 &&
		    mapq__waiter_spun_ps(w) >= (uint64_t)b->yield_ns * 1000u) {
			uint64_t t0 = mapq__now_ns();
			mapq__os_yield();
			/* Back at once: nobody else wanted this CPU, and the call
			 * costs more than the looks it delays; no more of them
			 * until this wait has slept. */
			w->no_yield = mapq__now_ns() - t0 < YIELD_HANDED_NS;
		}
		return 0;
	}
	if (w->set != b->flag) {
		/* The word first, then the flag (the sleeper's half of the
		 * Dekker pair); then the caller looks again, and the sleep
		 * compares the word with the value read here. In that order, a
		 * waker that takes our flag bumps the word after we read it,
		 * so the sleep returns at once and we set the flag again. Read
		 * after the flag, the word could already hold that waker's
		 * bump: we would sleep with no flag up, and the next waker,
		 * whose change our look missed, would not wake us (the
		 * simulator found it: doc/simulation.md). relaxed: the flag's
		 * seq_cst exchange keeps this load before it, and a waker's
		 * acquire exchange of the flag orders its bump after both. */
		w->seen = mapq__load(b->word, memory_order_relaxed);
		w->short_sleep = !mapq__sleeper_set(b->flag, b->light_wakers);
		w->set = b->flag;
		(void)mapq__waiter_deadline(w);
		return 0;
	}
	/* Without the heavy fence a waker's light one leaves the pair open:
	 * its wake-up may never come, so sleep no longer than a waiter on a
	 * stalled frame does between two looks. */
	uint64_t poll_ns = w->short_sleep && b->poll_ns > mapq__poll.unblock_ns
				   ? mapq__poll.unblock_ns
				   : b->poll_ns;
	uint64_t wake_by = (now ? now : mapq__now_ns()) + poll_ns;
	int r = mapq__os_wait(b->word, w->seen, wake_by < w->deadline ? wake_by : w->deadline);
	if (r && wake_by >= w->deadline)
		return r;
	/* Awake: spin again, and set the flag again only if about to sleep
	 * again (a flag left set costs a waker one system call). */
	w->set = NULL;
	w->spun = 0;
	w->looks = 0;
	w->no_yield = false;
	return 0;
}
