/* SPDX-License-Identifier: MIT */
/*
 * views.c - --memory c11: a load may read an older value of its word,
 * within what C11's coherence and happens-before allow.
 *
 * The store buffers of memory.c delay stores; this delays what a load
 * sees, which is what a weakened acquire exposes (ARM and POWER let a
 * load be satisfied early, before an earlier load that was not an
 * acquire). Every store reaches memory as it runs and gets a stamp, its
 * place in the word's modification order; each word keeps its last
 * HISTORY stores. A process may read any of them that is not hidden from
 * it, and the schedule chooses which (the newest, unless a choice with
 * odds drawn per schedule says otherwise). A store is hidden when a
 * newer store to the same word is known to the reader:
 *
 *   - it read or wrote that newer store itself (coherence);
 *   - it happens before the load: the reader acquired a release that
 *     came after it in the writer's process (a vector clock of stamps,
 *     one per process slot, carried by every release store, a relaxed
 *     store after a release fence, and a read-modify-write that reads
 *     one: the release sequence);
 *   - the load is seq_cst and the newer store is a seq_cst store (or
 *     read-modify-write) to the word: seq_cst operations are totally
 *     ordered, here in the order they run, and a seq_cst load comes
 *     before every store after the one it reads (coherence, C11
 *     7.17.3). Nothing more: the total order synchronizes nothing, so a
 *     seq_cst load may read older than a relaxed store that nothing
 *     orders before it, and knows no more than an acquire load would;
 *   - it was in memory when the reader, or a process whose release the
 *     reader acquired, last passed a full barrier (a fence, a system
 *     call but a lock's, its start): ARMv8 and x86 are multi-copy
 *     atomic, so a store in memory is seen by every load after such a
 *     barrier. C11 promises less; taking more only removes choices. A
 *     lock call is an acquire and release of the kernel's lock of the
 *     file's lock records (sim_views_lock()).
 *
 * A read-modify-write and a failed compare-exchange read the newest
 * value; a failed one is a load with its failure order alone. An
 * acquire fence counts as a full barrier for a
 * reason of the model's own: the plain bytes read before it (a seqlock's
 * look at a frame a later lap may be overwriting) are not versioned and
 * always the newest, so the atomics read after it must be too, as on
 * hardware, where the fence keeps those plain loads before the later
 * ones.
 *
 * Plain (non-atomic) bytes are not versioned: a weakened acquire that
 * guards them is ThreadSanitizer's to see, but for a frame's bytes,
 * which a reader announces it read and a writer that it is about to
 * store: each such store must happen after every read of those bytes a
 * reader released (see plain() below). A word changed without an
 * atomic (a later lap's payload over an old frame's word, a new file, a
 * power cut's image) starts a new history the first time it is met, from
 * the value in memory, and an acquire that reads it learns every store
 * made so far. What the plain write's process knew is unknown; assuming
 * the most only removes choices. Assuming nothing would not do: a writer
 * stalled in a repair read a later lap's payload as an old frame's word,
 * then an older head than the one the payload's writer had moved, and
 * "repaired" that payload; on hardware its acquire of the word orders
 * the head load after the payload's writer's move of head, which came
 * before the payload (a seq_cst CAS keeps later stores after it).
 *
 * Every choice is a schedule choice (recorded, replayed, shrunk to the
 * newest), and every choice left is one C11 allows, so correct code
 * passes.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "simulator.h"

#define HISTORY 6 /* stores of each word a load may still read */

struct version {
	uint64_t stamp; /* order of making, over all words */
	uint64_t v;
	unsigned proc;       /* the slot of the process that stored it */
	bool sc;             /* a seq_cst store or read-modify-write */
	struct sim_view rel; /* what an acquire reading it learns */
};

struct word {
	uint64_t key; /* offset in the file; UINT64_MAX: an empty entry */
	unsigned n;
	struct version h[HISTORY];    /* oldest first */
	uint64_t seen[SIM_MAX_PROCS]; /* coherence: the newest stamp each
					 process read or wrote */
};

/* A frame's bytes a process read, and its own newest stamp when it read
 * them: a store that happens after the read knows a newer one of its. */
struct read {
	uint64_t lo, hi, stamp;
};

#define READS 16 /* released reads of each process still checked */

static struct word *words;
static size_t nwords, used;
static uint64_t stamps;           /* stores made so far */
static unsigned stale_odds;       /* a load reads an older store with 1/stale_odds */
static struct sim_view lock_view; /* what every fcntl() lock call so far knew */
/* reads held (the frame a process holds) and released (its cursor passed
 * them), per process slot */
static struct read held[SIM_MAX_PROCS], released[SIM_MAX_PROCS][READS];
static unsigned nreleased[SIM_MAX_PROCS];

static uint64_t mask_of(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

static uint64_t in_memory(const void *addr, unsigned size)
{
	/* relaxed: one simulated process runs at a time */
	if (size == 8)
		return atomic_load_explicit((const _Atomic uint64_t *)addr, memory_order_relaxed);
	if (size == 4)
		return atomic_load_explicit((const _Atomic uint32_t *)addr, memory_order_relaxed);
	if (size == 2)
		return atomic_load_explicit((const _Atomic uint16_t *)addr, memory_order_relaxed);
	return atomic_load_explicit((const _Atomic uint8_t *)addr, memory_order_relaxed);
}

static void join(struct sim_view *to, const struct sim_view *from)
{
	for (unsigned i = 0; i < SIM_MAX_PROCS; i++)
		if (from->vc[i] > to->vc[i])
			to->vc[i] = from->vc[i];
	if (from->g > to->g)
		to->g = from->g;
}

static bool acquires(int mo)
{
	return mo != memory_order_relaxed && mo != memory_order_release;
}

static bool releases(int mo)
{
	return mo != memory_order_relaxed && mo != memory_order_acquire &&
	       mo != memory_order_consume && sim_w.cfg->breakage != BREAK_RELEASE;
}

static struct word *slot_of(struct word *tab, size_t n, uint64_t key)
{
	size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (n - 1);
	while (tab[i].key != key && tab[i].key != UINT64_MAX)
		i = (i + 1) & (n - 1);
	return &tab[i];
}

static bool grow(void)
{
	size_t n = nwords ? nwords * 2 : 1024;
	struct word *tab = malloc(n * sizeof(*tab));
	if (!tab) {
		sim_fail("--memory c11: out of memory for %zu words", n);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		tab[i].key = UINT64_MAX;
	for (size_t i = 0; i < nwords; i++)
		if (words[i].key != UINT64_MAX)
			*slot_of(tab, n, words[i].key) = words[i];
	free(words);
	words = tab;
	nwords = n;
	return true;
}

/* The word at @key, whose newest value is @now (what memory holds, or
 * what a read-modify-write just read): a history that does not end with
 * it was overtaken by a plain write, and starts again from it. */
static struct word *word_at(uint64_t key, uint64_t now)
{
	if (2 * (used + 1) > nwords && !grow())
		return NULL;
	struct word *w = slot_of(words, nwords, key);
	if (w->key == UINT64_MAX) {
		memset(w, 0, sizeof(*w));
		w->key = key;
		used++;
	}
	if (!w->n || w->h[w->n - 1].v != now) {
		/* a plain write: an acquire of it learns every store so far
		 * (see above) */
		w->n = 1;
		w->h[0] = (struct version){
			.stamp = ++stamps, .v = now, .proc = SIM_MAX_PROCS, .sc = true
		};
		w->h[0].rel.g = stamps;
	}
	return w;
}

static bool known(const struct sim_proc *p, const struct version *s)
{
	return s->stamp <= p->view.g ||
	       (s->proc < SIM_MAX_PROCS && s->stamp <= p->view.vc[s->proc]);
}

/* The oldest version of @w that @p may read with order @mo: none older
 * than one it knows of, and for a seq_cst load none older than the last
 * seq_cst store (seq_cst operations are totally ordered, here in the
 * order they run, and a seq_cst load is coherence-ordered before every
 * store after what it reads: C11 7.17.3). */
static unsigned oldest_readable(const struct sim_proc *p, const struct word *w, int mo)
{
	for (unsigned i = w->n; i-- > 0;)
		if (known(p, &w->h[i]) || w->h[i].stamp <= w->seen[p->idx] ||
		    (mo == memory_order_seq_cst && w->h[i].sc))
			return i;
	return 0; /* older ones it knew of have left the history */
}

/* A version of @w read by @p with order @mo. */
static const struct version *read_one(struct sim_proc *p, struct word *w, int mo, bool newest)
{
	unsigned at = w->n - 1, lo = oldest_readable(p, w, mo);
	/* 0 (what a shrunk tape holds): the newest */
	if (!newest && at > lo && sim_choose(stale_odds) == 1)
		at = lo + (unsigned)sim_choose(at - lo);
	const struct version *s = &w->h[at];
	w->seen[p->idx] = s->stamp;
	join(acquires(mo) ? &p->view : &p->pending, &s->rel);
	return s;
}

/* A store of @v by @p, whose acquirers learn @rel, and with @own (a
 * release) every store of @p's up to this one; @sc: a seq_cst one. */
static void add(struct word *w, struct sim_proc *p, uint64_t v, const struct sim_view *rel,
		bool own, bool sc)
{
	if (w->n == HISTORY) {
		memmove(&w->h[0], &w->h[1], (HISTORY - 1) * sizeof(w->h[0]));
		w->n--;
	}
	struct version *s = &w->h[w->n++];
	s->stamp = ++stamps;
	s->v = v;
	s->proc = p->idx;
	s->sc = sc;
	p->view.vc[p->idx] = s->stamp;
	s->rel = *rel;
	if (own)
		s->rel.vc[p->idx] = s->stamp;
	w->seen[p->idx] = s->stamp;
}

void sim_views_barrier(struct sim_proc *p)
{
	p->view.g = stamps;
	join(&p->view, &p->pending);
	p->relfence = p->view;
}

static void forget_reads(const struct sim_proc *p)
{
	held[p->idx].hi = 0;
	nreleased[p->idx] = 0;
}

/* A process ended. The kernel drops its locks: a lock call's release.
 * What it read is no longer checked: whoever learns of its end does so
 * through the kernel (its lock released), which orders everything it did
 * before whatever the learner does next. */
void sim_views_end(struct sim_proc *p)
{
	join(&lock_view, &p->view);
	forget_reads(p);
}

/*
 * An OFD lock's fcntl(), taken, tested or dropped. The kernel keeps a
 * file's lock records under one spinlock, which each call takes and
 * drops: an acquire of what every earlier call on the file released,
 * and a release of what the caller knows. Not a full barrier: ARM's
 * kernel makes none there, so a load after the call may still read what
 * no lock call ordered before it.
 */
void sim_views_lock(struct sim_proc *p)
{
	join(&p->view, &lock_view);
	join(&lock_view, &p->view);
}

void sim_views_begin(struct sim_proc *p)
{
	forget_reads(p);
	memset(&p->view, 0, sizeof(p->view));
	memset(&p->pending, 0, sizeof(p->pending));
	sim_views_barrier(p); /* a new process sees what memory holds */
}

/* The process running, and the word's key; NULL for a process's own
 * memory, which is not versioned. */
static struct sim_proc *shared(const void *addr, uint64_t *key)
{
	struct sim_proc *p = sim_w.cur;
	if (!p)
		return NULL;
	*key = sim_key_of(p, addr);
	return *key == UINT64_MAX ? NULL : p;
}

static int store(void *addr, unsigned size, uint64_t v, int mo)
{
	uint64_t key;
	struct sim_proc *p = shared(addr, &key);
	struct word *w = p ? word_at(key, in_memory(addr, size)) : NULL;
	if (w)
		add(w, p, v & mask_of(size), releases(mo) ? &p->view : &p->relfence, releases(mo),
		    mo == memory_order_seq_cst);
	return 0; /* memory holds the newest: the macro stores it */
}

static int load(const void *addr, unsigned size, uint64_t *v, int mo)
{
	uint64_t key;
	struct sim_proc *p = shared(addr, &key);
	if (!p)
		return 0;
	struct word *w = word_at(key, in_memory(addr, size));
	if (!w)
		return 0;
	*v = read_one(p, w, mo, false)->v;
	return 1;
}

static void order(const void *addr, int mo)
{
	struct sim_proc *p = sim_w.cur;
	if (!p)
		return;
	if (addr)
		return; /* before a read-modify-write: rmw() or failed() */
	if (sim_w.cfg->breakage == BREAK_FENCE)
		return;     /* the self-test: fences order nothing */
	if (acquires(mo)) { /* a full barrier (see above) */
		sim_views_barrier(p);
		return;
	}
	if (releases(mo))
		p->relfence = p->view;
}

/* After a read-modify-write that read @old and stored @v: it read the
 * newest, and its store continues the release sequence of what it read. */
static void rmw(void *addr, unsigned size, uint64_t old, uint64_t v, int mo)
{
	uint64_t key;
	struct sim_proc *p = shared(addr, &key);
	struct word *w = p ? word_at(key, old & mask_of(size)) : NULL;
	if (!w)
		return;
	struct sim_view rel = read_one(p, w, mo, true)->rel;
	join(&rel, releases(mo) ? &p->view : &p->relfence);
	add(w, p, v & mask_of(size), &rel, releases(mo), mo == memory_order_seq_cst);
}

/* After a compare-exchange that failed: a load of the newest value, with
 * the failure order alone (a seq_cst success order does not make a
 * failed compare-exchange part of the seq_cst order). */
static void failed(const void *addr, unsigned size, uint64_t seen, int mo)
{
	uint64_t key;
	struct sim_proc *p = shared(addr, &key);
	struct word *w = p ? word_at(key, seen & mask_of(size)) : NULL;
	if (w)
		read_one(p, w, mo, true);
}

/* The caller read [addr, addr + len) of a frame it now holds. */
static void reads(const void *addr, size_t len)
{
	uint64_t key;
	struct sim_proc *p = shared(addr, &key);
	if (p)
		held[p->idx] = (struct read){ key, key + len, p->view.vc[p->idx] };
}

/* The caller's cursor passed the frame whose reads begin at @addr: the
 * reads it holds if they are that frame's (not a frame it read and was
 * pushed past, then a padding frame it passed unread). */
static void release_held(const void *addr)
{
	uint64_t key;
	struct sim_proc *p = shared(addr, &key);
	if (!p || !held[p->idx].hi)
		return;
	if (held[p->idx].lo != key) {
		held[p->idx].hi = 0;
		return;
	}
	unsigned *n = &nreleased[p->idx];
	if (*n == READS) /* the oldest goes unchecked */
		memmove(&released[p->idx][0], &released[p->idx][1],
			(READS - 1) * sizeof(released[0][0]));
	else
		(*n)++;
	released[p->idx][*n - 1] = held[p->idx];
	held[p->idx].hi = 0;
}

/*
 * Plain stores to [addr, addr + len) follow: each read of those bytes
 * that another process released must happen before them. The reader's
 * release of its cursor, after the read, carries a stamp newer than the
 * one it had when it read; a store that happens after the read knows
 * that stamp or a later one (the vector clock, which follows
 * happens-before alone; a barrier's view of memory, g, orders the stores
 * it saw before our loads, not another process's loads before our
 * stores). Otherwise the reader's loads may take the new bytes on ARM or
 * POWER, which may let a load be satisfied after a later store (load
 * buffering).
 */
static void plain(void *addr, size_t len)
{
	uint64_t key;
	struct sim_proc *p = shared(addr, &key);
	if (!p)
		return;
	for (unsigned q = 0; q < SIM_MAX_PROCS; q++) {
		if (q == p->idx)
			continue;
		for (unsigned i = 0; i < nreleased[q];) {
			struct read *r = &released[q][i];
			if (r->hi <= key || key + len <= r->lo) {
				i++;
				continue;
			}
			if (p->view.vc[q] <= r->stamp) {
				char at[48];
				mapq__sim_name(sim_w.sb, key, at, sizeof(at));
				/* plain bytes: where, not which word of a frame */
				if (!strncmp(at, "ring+", 5) && strchr(at, '.'))
					*strchr(at, '.') = 0;
				sim_fail("data race: after step %llu, %s %u.%u stores %zu bytes "
					 "at %s, which %s %u.%u read and released with no "
					 "happens-before from its read to this store",
					 (unsigned long long)sim_w.steps, sim_role_name(p), p->id,
					 p->inc, len, at, sim_role_name(&sim_w.procs[q]),
					 sim_w.procs[q].id, sim_w.procs[q].inc);
				return;
			}
			/* this store happens after the read: checked once */
			memmove(r, r + 1, (--nreleased[q] - i) * sizeof(*r));
		}
	}
}

void sim_views_start(void)
{
	static const unsigned odds[] = { 2, 4, 16, 64 };
	for (size_t i = 0; i < nwords; i++)
		words[i].key = UINT64_MAX;
	used = 0;
	stamps = 0;
	stale_odds = odds[sim_choose(4)]; /* a choice: as memory.c's odds */
	mapq__sim.store = store;
	mapq__sim.load = load;
	mapq__sim.order = order;
	mapq__sim.rmw = rmw;
	mapq__sim.failed = failed;
	mapq__sim.plain = plain;
	mapq__sim.reads = reads;
	mapq__sim.released = release_held;
	memset(nreleased, 0, sizeof(nreleased));
	memset(&lock_view, 0, sizeof(lock_view));
	memset(held, 0, sizeof(held));
}
