/* SPDX-License-Identifier: MIT */
/*
 * memory.c - a memory weaker than sequential consistency, for the atomic
 * words of the queue file: each simulated process has a store buffer.
 *
 * With --memory sc (the default) every atomic step reaches memory as it
 * runs, and a weakened memory order of the library changes nothing the
 * simulator can see. With a store buffer it can: a store waits there (at
 * every step the schedule chooses whether one leaves), loads by the same
 * process see it (store forwarding), loads by others do not yet. What
 * must reach memory first, and when, is what each memory order promises
 * and no more, in one of two ways:
 *
 *   tso   x86-64. Stores leave in program order; a read-modify-write or
 *         a seq_cst fence empties the buffer (a locked instruction,
 *         mfence). A seq_cst store and a later seq_cst load are kept
 *         apart in one of the two ways a compiler may give C11 on x86,
 *         drawn for each schedule: the store empties the buffer behind
 *         it (mov; mfence), or the seq_cst load empties it first (mfence;
 *         mov). The first shows a seq_cst store weakened to relaxed, the
 *         second a weakened seq_cst load.
 *   weak  what C11 allows for stores, as ARMv8 and POWER do it. Stores to
 *         different words leave in any order, except that a release (or
 *         seq_cst) store leaves only after every store before it, and a
 *         release fence keeps every store before it ahead of every store
 *         after it. A read-modify-write reads the newest value of its
 *         word (every buffered store to it, ours or another's, reaches
 *         memory first), and its store waits in the buffer like any
 *         other; a store to the word made after it waits for it, so it
 *         stays atomic. A seq_cst load, or the load of a seq_cst
 *         read-modify-write, waits for every seq_cst store before it
 *         (ldar after stlr); a seq_cst fence empties the buffer.
 *         Every store waits only for stores made before it, so the
 *         waits never go round in a circle.
 *
 * With --plain-stores (tso or weak) the plain stores a writer makes into
 * a frame, its payload and header, wait in the buffer too, as relaxed
 * stores of up to SIM_PIECE bytes each: a reader may then see a frame's
 * new bytes before the atomic stores made ahead of them, where no release
 * keeps them behind (the frames passed by a head mover, "Torn frames" of
 * doc/format.md). The library announces them (src/sim.h, plain); they are
 * made between two steps, so the simulator compares the bytes at the next
 * step, puts back what memory held and buffers what changed.
 *
 * Both are correct implementations of C11, so correct code passes both;
 * the library's own tests of the model are weakened orders (mutation/).
 * Loads are not reordered here and never see a value older than
 * memory's: a weakened acquire is for --memory c11 (views.c), which
 * delays what loads see instead of stores.
 *
 * A system call (a futex, a sleep, msync, close, munmap) and a process's
 * end empty its buffer, as the kernel's own barriers do. An fcntl() lock
 * does under tso; under weak it is what ARM's kernel locks are, acquire
 * and release (sim_memory_lock()), so that a store-before-load pair with
 * an unlock between them is judged by its own orders.
 */
#include "config.h"

#include <stdatomic.h>
#include <string.h>

#include "simulator.h"

static bool sc_load_fences; /* tso: this schedule's way to keep seq_cst apart */
static unsigned leave_odds; /* a store leaves a buffer at a step with 1/leave_odds */
static uint64_t made;       /* stores buffered so far: their order of making */

static const char *const memory_names[] = { "sc", "tso", "weak", "c11" };

const char *sim_memory_name(enum sim_memory m)
{
	return memory_names[m];
}

bool sim_memory_parse(const char *name, enum sim_memory *m)
{
	for (unsigned i = 0; i < sizeof(memory_names) / sizeof(memory_names[0]); i++)
		if (!strcmp(name, memory_names[i])) {
			*m = (enum sim_memory)i;
			return true;
		}
	return false;
}

static void write_word(void *addr, unsigned size, uint64_t v)
{
	/* relaxed: the order is the buffer's, chosen by the caller */
	if (size == 8)
		atomic_store_explicit((_Atomic uint64_t *)addr, v, memory_order_relaxed);
	else if (size == 4)
		atomic_store_explicit((_Atomic uint32_t *)addr, (uint32_t)v, memory_order_relaxed);
	else if (size == 2)
		atomic_store_explicit((_Atomic uint16_t *)addr, (uint16_t)v, memory_order_relaxed);
	else
		atomic_store_explicit((_Atomic uint8_t *)addr, (uint8_t)v, memory_order_relaxed);
}

static void drain_upto(struct sim_proc *p, unsigned n);

/* Do two buffered stores touch the same bytes? Atomic words are whole
 * words at their own offsets; plain pieces may start anywhere. */
static bool same_place(const struct sim_sb_entry *a, const struct sim_sb_entry *b)
{
	if (!a->plain && !b->plain)
		return a->key == b->key;
	return a->key < b->key + b->size && b->key < a->key + a->size;
}

/* Does buffered store @e touch the 8-byte word at @key? */
static bool touches(const struct sim_sb_entry *e, uint64_t key)
{
	return e->plain ? e->key < key + 8 && key < e->key + e->size : e->key == key;
}

/* The first buffered read-modify-write of another process than @p to the
 * word @key made before @seq: a store to the word must wait for it. */
static bool rmw_before(const struct sim_proc *p, uint64_t key, uint64_t seq, struct sim_proc **o,
		       unsigned *at)
{
	for (unsigned k = 0; k < SIM_MAX_PROCS; k++) {
		struct sim_proc *q = &sim_w.procs[k];
		if (q == p)
			continue;
		for (unsigned i = 0; i < q->nsb; i++)
			if (q->sb[i].rmw && q->sb[i].key == key && q->sb[i].seq < seq) {
				*o = q;
				*at = i;
				return true;
			}
	}
	return false;
}

/* Entry @i of @p's buffer reaches memory (what it must wait for first). */
static void take_out(struct sim_proc *p, unsigned i)
{
	struct sim_proc *o;
	unsigned at;
	while (rmw_before(p, p->sb[i].key, p->sb[i].seq, &o, &at))
		drain_upto(o, at + 1);
	struct sim_sb_entry e = p->sb[i];
	memmove(&p->sb[i], &p->sb[i + 1], (p->nsb - i - 1) * sizeof(p->sb[0]));
	p->nsb--;
	if (e.plain)
		memcpy(e.addr, e.bytes, e.size);
	else
		write_word(e.addr, e.size, e.v);
}

/* The first @n entries of @p's buffer reach memory, in order. */
static void drain_upto(struct sim_proc *p, unsigned n)
{
	while (n-- > 0 && p->nsb)
		take_out(p, 0);
}

/* The entries of @p's buffer up to its last store to the word @key. */
static void drain_key(struct sim_proc *p, uint64_t key)
{
	unsigned n = 0;
	for (unsigned i = 0; i < p->nsb; i++)
		if (touches(&p->sb[i], key))
			n = i + 1;
	drain_upto(p, n);
}

void sim_memory_drain(struct sim_proc *p)
{
	sim_memory_plain(p);
	if (sim_w.cfg->memory == MEM_C11)
		sim_views_barrier(p);
	else
		drain_upto(p, p->nsb);
}

/*
 * An OFD lock's fcntl() (slots.c), taken, tested or dropped. On x86 (tso)
 * a system call with locked instructions in it: a full barrier. ARM's
 * kernel takes and drops its lock records with acquire and release alone
 * (weak): the stores made before an unlock reach memory before anyone's
 * next lock sees the lock free (the kernel's lock word, released after
 * them), but the caller's later loads may pass them, and its later stores
 * too; a store-before-load pair with an unlock between needs its own
 * seq_cst. A lock or a test empties the caller's own buffer, as a system
 * call does here (stronger than ARM's acquire, which needs only that the
 * unlocks before it are seen). Under c11, an acquire and a release of
 * the kernel's one lock of the file's lock records (views.c).
 */
void sim_memory_lock(struct sim_proc *p, bool unlock)
{
	if (sim_w.cfg->memory == MEM_C11) {
		sim_views_lock(p);
		return;
	}
	if (sim_w.cfg->memory != MEM_WEAK) {
		sim_memory_drain(p);
		return;
	}
	sim_memory_plain(p);
	if (unlock) {
		p->unlocked_below = made;
		return;
	}
	for (unsigned k = 0; k < SIM_MAX_PROCS; k++) {
		struct sim_proc *o = &sim_w.procs[k];
		unsigned n = 0;
		for (unsigned i = 0; i < o->nsb; i++)
			if (o->sb[i].seq < o->unlocked_below)
				n = i + 1;
		drain_upto(o, n);
	}
	drain_upto(p, p->nsb);
}

/* weak: the entries up to the last seq_cst one, which a seq_cst load waits
 * for */
static void drain_sc(struct sim_proc *p)
{
	unsigned n = 0;
	for (unsigned i = 0; i < p->nsb; i++)
		if (p->sb[i].sc)
			n = i + 1;
	drain_upto(p, n);
}

/* May entry @i leave the buffer now, before those older than it? */
static bool may_leave(const struct sim_proc *p, unsigned i)
{
	struct sim_proc *o;
	unsigned at;
	if (rmw_before(p, p->sb[i].key, p->sb[i].seq, &o, &at))
		return false;
	if (i == 0)
		return true;
	if (sim_w.cfg->memory == MEM_TSO || p->sb[i].ordered)
		return false;
	for (unsigned j = 0; j < i; j++)
		if (same_place(&p->sb[j], &p->sb[i]) || p->sb[j].epoch != p->sb[i].epoch)
			return false;
	return true;
}

void sim_memory_tick(void)
{
	if (sim_w.cfg->memory == MEM_SC || sim_w.cfg->memory == MEM_C11)
		return;
	for (unsigned k = 0; k < SIM_MAX_PROCS; k++) {
		struct sim_proc *p = &sim_w.procs[k];
		if (!p->nsb)
			continue;
		/* 0 (what a shrunk tape holds): the stores wait longer */
		if (sim_choose(leave_odds) != 1)
			continue;
		unsigned can[SIM_SB_PLAIN], n = 0;
		for (unsigned i = 0; i < p->nsb; i++)
			if (may_leave(p, i))
				can[n++] = i;
		if (n)
			take_out(p, can[n > 1 ? sim_choose(n) : 0]);
	}
}

static struct sim_sb_entry *push(struct sim_proc *p, void *addr, uint64_t key, unsigned size,
				 uint64_t v, int mo, bool rmw)
{
	if (p->nsb == (sim_w.cfg->plain_stores ? SIM_SB_PLAIN : SIM_SB))
		take_out(p, 0); /* a full buffer stalls the store until one leaves */
	struct sim_sb_entry *e = &p->sb[p->nsb++];
	*e = (struct sim_sb_entry){ .addr = addr,
				    .key = key,
				    .v = v,
				    .size = (uint8_t)size,
				    .ordered = mo != memory_order_relaxed &&
					       mo != memory_order_acquire &&
					       sim_w.cfg->breakage != BREAK_RELEASE,
				    .sc = mo == memory_order_seq_cst,
				    .rmw = rmw,
				    .epoch = p->epoch,
				    .seq = made++ };
	return e;
}

static int store(void *addr, unsigned size, uint64_t v, int mo)
{
	struct sim_proc *p = sim_w.cur;
	if (!p)
		return 0;
	uint64_t key = sim_key_of(p, addr);
	if (key == UINT64_MAX)
		return 0; /* the process's own memory */
	if (sim_w.cfg->memory == MEM_TSO && mo == memory_order_seq_cst && !sc_load_fences) {
		sim_memory_drain(p); /* mov; mfence */
		return 0;
	}
	push(p, addr, key, size, v, mo, false);
	return 1;
}

/* The newest value of the word at @key in @p's buffer, if it holds one. */
static bool forward(const struct sim_proc *p, uint64_t key, uint64_t *v)
{
	for (unsigned i = p->nsb; i-- > 0;)
		if (!p->sb[i].plain && p->sb[i].key == key) {
			*v = p->sb[i].v;
			return true;
		}
	return false;
}

static int load(const void *addr, unsigned size, uint64_t *v, int mo)
{
	struct sim_proc *p = sim_w.cur;
	(void)size;
	if (!p || !p->nsb)
		return 0;
	if (mo == memory_order_seq_cst) {
		if (sim_w.cfg->memory == MEM_WEAK)
			drain_sc(p); /* ldar waits for stlr */
		else if (sc_load_fences)
			sim_memory_drain(p); /* mfence; mov */
	}
	return forward(p, sim_key_of(p, addr), v);
}

static void order(const void *addr, int mo)
{
	struct sim_proc *p = sim_w.cur;
	if (!p)
		return;
	if (!addr) { /* a fence */
		if (sim_w.cfg->breakage == BREAK_FENCE)
			return; /* the self-test: fences order nothing */
		if (mo == memory_order_seq_cst)
			sim_memory_drain(p); /* mfence, dmb */
		else if (mo == memory_order_release || mo == memory_order_acq_rel)
			p->epoch++; /* stores after it wait for those before */
		return;
	}
	if (sim_w.cfg->memory == MEM_TSO) {
		sim_memory_drain(p); /* a locked instruction */
		return;
	}
	/* weak: the read reads the newest value, so every buffered store to
	 * the word gets to memory first */
	uint64_t key = sim_key_of(p, addr);
	if (key == UINT64_MAX)
		return;
	for (unsigned k = 0; k < SIM_MAX_PROCS; k++)
		drain_key(&sim_w.procs[k], key);
	if (mo == memory_order_seq_cst)
		drain_sc(p);
}

/* weak: a read-modify-write that stored @v into the word @addr, which
 * held @old: the store goes into the buffer. */
static void rmw(void *addr, unsigned size, uint64_t old, uint64_t v, int mo)
{
	struct sim_proc *p = sim_w.cur;
	if (!p || sim_w.cfg->memory != MEM_WEAK)
		return;
	uint64_t key = sim_key_of(p, addr);
	if (key == UINT64_MAX)
		return;
	write_word(addr, size, old); /* memory as it was: nobody ran meanwhile */
	push(p, addr, key, size, v, mo, true);
}

/* The library's announcement (src/sim.h): plain stores to [addr, addr +
 * len) follow before the caller's next step. What it holds now is what
 * they change. */
static void plain(void *addr, size_t len)
{
	struct sim_proc *p = sim_w.cur;
	if (!p || !len || sim_key_of(p, addr) == UINT64_MAX)
		return;
	sim_memory_plain(p); /* one run at a time */
	if (len > SIM_PLAIN)
		len = SIM_PLAIN; /* the rest reaches memory at once, which it may */
	p->plain_at = addr;
	p->plain_len = len;
	memcpy(p->plain_old, addr, len);
}

void sim_memory_plain(struct sim_proc *p)
{
	size_t n = p->plain_len;
	uint8_t *a = p->plain_at;
	p->plain_len = 0;
	for (size_t o = 0, end; o < n; o = end) {
		/* pieces that do not cross a SIM_PIECE boundary of the file */
		uint64_t key = sim_key_of(p, a + o);
		end = o + SIM_PIECE - (size_t)(key % SIM_PIECE);
		if (end > n)
			end = n;
		if (!memcmp(a + o, p->plain_old + o, end - o))
			continue; /* nothing changed here: nothing to wait */
		struct sim_sb_entry *e = push(p, a + o, key, (unsigned)(end - o), 0,
					      memory_order_relaxed, false);
		e->plain = true;
		memcpy(e->bytes, a + o, end - o);
		memcpy(a + o, p->plain_old + o, end - o); /* memory as it was */
	}
}

void sim_memory_start(void)
{
	static const unsigned odds[] = { 2, 4, 16, 64 };
	made = 0;
	mapq__sim.failed = NULL;
	mapq__sim.plain = NULL;
	mapq__sim.reads = NULL;
	mapq__sim.released = NULL;
	if (sim_w.cfg->memory == MEM_SC) {
		mapq__sim.store = NULL;
		mapq__sim.load = NULL;
		mapq__sim.order = NULL;
		mapq__sim.rmw = NULL;
		return;
	}
	if (sim_w.cfg->memory == MEM_C11) {
		sim_views_start();
		return;
	}
	/* drawn once, not per step: the sc schedules' seeds keep meaning what
	 * they meant. A choice, so that a schedule written down replays with
	 * the same odds (a draw of the generator's was another on replay,
	 * where nothing is planned first, and the choices of when stores
	 * leave then meant others): 31 bits, the same as the draw's low bits
	 * it used, so seeds keep meaning what they meant here too. */
	uint64_t r = sim_choose(1u << 31);
	sc_load_fences = r & 1;
	leave_odds = odds[(r >> 1) % 4];
	mapq__sim.store = store;
	mapq__sim.load = load;
	mapq__sim.order = order;
	mapq__sim.rmw = rmw;
	mapq__sim.plain = sim_w.cfg->plain_stores ? plain : NULL;
}
