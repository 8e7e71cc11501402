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
 *   - a seq_cst operation that came before the load (they are totally
 *     ordered, here in the order they run) knew it;
 *   - it was in memory when the reader, or a process whose release the
 *     reader acquired, last passed a full barrier (a fence, a system
 *     call, its start): ARMv8 and x86 are multi-copy atomic, so a store
 *     in memory is seen by every load after such a barrier. C11 promises
 *     less; taking more only removes choices.
 *
 * A read-modify-write, a failed compare-exchange and a seq_cst load read
 * the newest value. An acquire fence counts as a full barrier for a
 * reason of the model's own: the plain bytes read before it (a seqlock's
 * look at a frame a later lap may be overwriting) are not versioned and
 * always the newest, so the atomics read after it must be too, as on
 * hardware, where the fence keeps those plain loads before the later
 * ones.
 *
 * Plain (non-atomic) bytes are not versioned: a weakened acquire that
 * guards them is ThreadSanitizer's to see. A word changed without an
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
	struct sim_view rel; /* what an acquire reading it learns */
};

struct word {
	uint64_t key; /* offset in the file; UINT64_MAX: an empty entry */
	unsigned n;
	struct version h[HISTORY];    /* oldest first */
	uint64_t seen[SIM_MAX_PROCS]; /* coherence: the newest stamp each
					 process read or wrote */
};

static struct word *words;
static size_t nwords, used;
static uint64_t stamps;         /* stores made so far */
static unsigned stale_odds;     /* a load reads an older store with 1/stale_odds */
static struct sim_view sc_view; /* what every seq_cst operation so far knew */

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
	       mo != memory_order_consume;
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
		w->h[0] = (struct version){ .stamp = ++stamps, .v = now, .proc = SIM_MAX_PROCS };
		w->h[0].rel.g = stamps;
	}
	return w;
}

static bool known(const struct sim_proc *p, const struct version *s)
{
	return s->stamp <= p->view.g ||
	       (s->proc < SIM_MAX_PROCS && s->stamp <= p->view.vc[s->proc]);
}

/* The oldest version of @w that @p may read. */
static unsigned oldest_readable(const struct sim_proc *p, const struct word *w)
{
	for (unsigned i = w->n; i-- > 0;)
		if (known(p, &w->h[i]) || w->h[i].stamp <= w->seen[p->idx])
			return i;
	return 0; /* older ones it knew of have left the history */
}

/* A version of @w read by @p with order @mo. */
static const struct version *read_one(struct sim_proc *p, struct word *w, int mo, bool newest)
{
	unsigned at = w->n - 1, lo = oldest_readable(p, w);
	/* 0 (what a shrunk tape holds): the newest */
	if (!newest && at > lo && sim_choose(stale_odds) == 1)
		at = lo + (unsigned)sim_choose(at - lo);
	const struct version *s = &w->h[at];
	w->seen[p->idx] = s->stamp;
	join(acquires(mo) ? &p->view : &p->pending, &s->rel);
	return s;
}

static void add(struct word *w, struct sim_proc *p, uint64_t v, const struct sim_view *rel)
{
	if (w->n == HISTORY) {
		memmove(&w->h[0], &w->h[1], (HISTORY - 1) * sizeof(w->h[0]));
		w->n--;
	}
	struct version *s = &w->h[w->n++];
	s->stamp = ++stamps;
	s->v = v;
	s->proc = p->idx;
	p->view.vc[p->idx] = s->stamp;
	s->rel = *rel;
	w->seen[p->idx] = s->stamp;
}

void sim_views_barrier(struct sim_proc *p)
{
	p->view.g = stamps;
	join(&p->view, &p->pending);
	p->relfence = p->view;
}

void sim_views_begin(struct sim_proc *p)
{
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
		add(w, p, v & mask_of(size), releases(mo) ? &p->view : &p->relfence);
	return 0; /* memory holds the newest: the macro stores it */
}

/* A seq_cst load or read-modify-write: seq_cst operations are totally
 * ordered, here in the order they run, and each sees what those before
 * it knew (as an acquire of every earlier one would) and tells those
 * after it what it knows (as a release would). */
static void seq_cst(struct sim_proc *p)
{
	join(&p->view, &sc_view);
	join(&sc_view, &p->view);
}

static int load(const void *addr, unsigned size, uint64_t *v, int mo)
{
	uint64_t key;
	struct sim_proc *p = shared(addr, &key);
	if (!p)
		return 0;
	if (mo == memory_order_seq_cst)
		seq_cst(p); /* and it reads the newest (see above) */
	struct word *w = word_at(key, in_memory(addr, size));
	if (!w)
		return 0;
	*v = read_one(p, w, mo, mo == memory_order_seq_cst)->v;
	return 1;
}

static void order(const void *addr, int mo)
{
	struct sim_proc *p = sim_w.cur;
	if (!p)
		return;
	if (addr) { /* before a read-modify-write */
		if (mo == memory_order_seq_cst)
			seq_cst(p);
		return;
	}
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
	add(w, p, v & mask_of(size), &rel);
}

/* After a compare-exchange that failed: a load of the newest value. */
static void failed(const void *addr, unsigned size, uint64_t seen, int mo)
{
	uint64_t key;
	struct sim_proc *p = shared(addr, &key);
	struct word *w = p ? word_at(key, seen & mask_of(size)) : NULL;
	if (w)
		read_one(p, w, mo, true);
}

void sim_views_start(void)
{
	static const unsigned odds[] = { 2, 4, 16, 64 };
	for (size_t i = 0; i < nwords; i++)
		words[i].key = UINT64_MAX;
	used = 0;
	stamps = 0;
	memset(&sc_view, 0, sizeof(sc_view));
	stale_odds = odds[sim_choose(4)]; /* a choice: as memory.c's odds */
	mapq__sim.store = store;
	mapq__sim.load = load;
	mapq__sim.order = order;
	mapq__sim.rmw = rmw;
	mapq__sim.failed = failed;
}
