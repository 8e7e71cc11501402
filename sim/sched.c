/* SPDX-License-Identifier: MIT */
/*
 * sched.c - the scheduler: simulated processes as coroutines, one step at
 * a time, chosen by a seeded generator.
 *
 * The library calls step() before every atomic step (src/atomic.h),
 * fault point and liveness lock. There the scheduler may end the caller's
 * life (a death), stop scheduling it for a while (a stall), or switch to
 * another process, by the strategy:
 *   random  every step, any runnable process, uniformly;
 *   pct     the runnable process of highest priority; priorities are
 *           random, and at depth-1 random steps the running process
 *           drops below all others (Burckhardt et al., "A randomized
 *           scheduler with probabilistic guarantees of finding bugs",
 *           ASPLOS 2010): a bug that needs d ordering constraints is found
 *           with probability at least 1/(n k^(d-1)) per schedule, for n
 *           processes and k steps.
 * Deaths and stalls fall on steps drawn at the start of the schedule, so
 * they too are part of what the seed decides.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mapq.h"
#include "simulator.h"

struct sim_world sim_w;

/* Virtual time per step. */
#define STEP_NS 20u
/* Virtual time starts here: the library takes a zero deadline as unset. */
#define VT_START 1000000000ull
/* Virtual time without a message going through that makes a queue stuck,
 * besides stalls: far beyond the workload's timeouts (roles.c), and the
 * torture verdict's stall bound (harness/verdict.c: unblock + 1 s). */
#define QUIET_NS 1000000000ull

static void *stacks[SIM_MAX_PROCS];

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

uint64_t sim_rand(void)
{
	return splitmix(&sim_w.rng);
}

uint64_t sim_choose(uint64_t n)
{
	uint64_t c;
	if (sim_w.tape)
		c = sim_w.tape->at < sim_w.tape->n ? sim_w.tape->v[sim_w.tape->at++] % n : 0;
	else
		c = sim_rand() % n;
	if (sim_w.rec)
		sim_tape_push(sim_w.rec, (uint32_t)c);
	return c;
}

uint64_t sim_seed_of(uint64_t base, uint64_t i)
{
	uint64_t x = base ^ (i * 0xD1B54A32D192ED03ull);
	return splitmix(&x);
}

const char *sim_strategy_name(enum sim_strategy s)
{
	return s == SIM_PCT ? "pct" : s == SIM_TAPE ? "tape" : "random";
}

void sim_fail(const char *fmt, ...)
{
	if (sim_w.failure[0])
		return; /* the first failure is the one to explain */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sim_w.failure, sizeof(sim_w.failure), fmt, ap);
	va_end(ap);
}

static void to_main(struct sim_proc *p)
{
	sim_ctx_switch(&p->ctx, &sim_w.main_ctx);
}

static void proc_entry(void)
{
	sim_role_main();
	sim_exit();
}

void sim_exit(void)
{
	struct sim_proc *p = sim_w.cur;
	p->state = P_DONE;
	to_main(p);
	abort(); /* never resumed */
}

void sim_start_writers(void)
{
	for (unsigned i = 0; i < sim_w.cfg->writers; i++) {
		sim_w.incarnations[i] = 1;
		(void)sim_spawn(R_WRITER, i, 0, sim_w.vt);
	}
}

struct sim_proc *sim_spawn(enum sim_role role, unsigned id, unsigned inc, uint64_t at)
{
	struct sim_proc *p = NULL;
	for (unsigned i = 0; i < SIM_MAX_PROCS && !p; i++)
		if (sim_w.procs[i].state == P_FREE)
			p = &sim_w.procs[i];
	if (!p) {
		sim_fail("more than %d simulated processes at once", SIM_MAX_PROCS);
		return NULL;
	}
	unsigned idx = (unsigned)(p - sim_w.procs);
	if (!stacks[idx]) {
		stacks[idx] = mmap(NULL, SIM_STACK, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stacks[idx] == MAP_FAILED) {
			stacks[idx] = NULL;
			sim_fail("cannot map a stack: %s", strerror(errno));
			return NULL;
		}
	}
	memset(p, 0, sizeof(*p));
	p->idx = idx;
	p->role = role;
	p->id = id;
	p->inc = inc;
	p->stack = stacks[idx];
	p->pid = 1000 + sim_w.spawned++; /* as distinct as real pids */
	sim_views_begin(p);
	/* PCT: initial priorities above every change point's (1..depth) */
	p->prio = sim_w.cfg->depth + 1 + sim_rand() % 1000000;
	sim_ctx_make(&p->ctx, p->stack, SIM_STACK, proc_entry);
	p->wake_at = at;
	p->state = at > sim_w.vt ? P_SLEEP : P_RUN;
	return p;
}

static bool runnable(const struct sim_proc *p)
{
	return p->state == P_RUN && p->stall_until <= sim_w.vt;
}

/*
 * Timers that ran out while others ran. A process that now runs may make
 * possible what a process woken earlier by its own timer, when nobody
 * else could run, then finds (a writer of a batch wakes sleepers only at
 * the batch's end, after the reader found its first frame): that success
 * owes nothing to a lost wake-up (roles.c, judge_wait()).
 */
static void expire_timers(void)
{
	bool woke = false;
	for (unsigned i = 0; i < SIM_MAX_PROCS; i++) {
		struct sim_proc *p = &sim_w.procs[i];
		if ((p->state == P_WAIT || p->state == P_SLEEP) && p->wake_at <= sim_w.vt) {
			p->state = P_RUN;
			p->woken = false;
			woke = true;
		}
	}
	for (unsigned i = 0; woke && i < SIM_MAX_PROCS; i++)
		sim_w.procs[i].quiet_timer = false;
}

/* The next process to run. The strategy decides; with a tape or a
 * recording, the choice is also put as the tape has it (simulator.h): the
 * position in the list of the one running, if it can go on, then the
 * others in order. A choice only one process could take is not one. */
static struct sim_proc *pick(void)
{
	struct sim_proc *order[SIM_MAX_PROCS], *ready[SIM_MAX_PROCS], *best = NULL;
	struct sim_proc *cur = sim_w.cur;
	unsigned n = 0, r = 0;
	expire_timers();
	/* order: as the random and PCT strategies have always counted */
	for (unsigned i = 0; i < SIM_MAX_PROCS; i++) {
		struct sim_proc *p = &sim_w.procs[i];
		if (!runnable(p))
			continue;
		order[n++] = p;
		if (!best || p->prio > best->prio)
			best = p;
	}
	if (!n)
		return NULL;
	if (cur && runnable(cur))
		ready[r++] = cur;
	for (unsigned i = 0; i < n; i++)
		if (order[i] != cur)
			ready[r++] = order[i];
	if (sim_w.cfg->strategy == SIM_TAPE)
		return n > 1 ? ready[sim_choose(n)] : ready[0];
	struct sim_proc *c = sim_w.cfg->strategy == SIM_PCT ? best : order[sim_rand() % n];
	if (sim_w.rec && n > 1) {
		unsigned i = 0;
		while (ready[i] != c)
			i++;
		sim_tape_push(sim_w.rec, i);
	}
	return c;
}

static bool killable(const struct sim_proc *p)
{
	return p->role != R_CLOSER && p->inc + 1 < TT_MAX_INC;
}

static struct sim_step *trace_at(uint64_t n)
{
	return &sim_w.trace[n % SIM_TRACE];
}

static struct sim_step *trace_add(struct sim_proc *p, enum mapq_sim_op op, uint64_t off,
				  uint64_t arg, const char *file, int line, const char *note)
{
	struct sim_step *s = trace_at(++sim_w.ops);
	*s = (struct sim_step){ .n = sim_w.ops,
				.vt = sim_w.vt,
				.file = file,
				.line = line,
				.op = (uint8_t)op,
				.proc = (uint8_t)p->idx,
				.inc = (uint16_t)p->inc,
				.off = off,
				.arg = arg,
				.note = note };
	return s;
}

static void print_step(FILE *f, const struct sim_step *s);

/* A schedule that does not end: busy, or stuck with its waiters polling. */
static void stuck(const char *unit, double limit)
{
	double since = (double)(sim_w.vt - sim_w.progress_vt) / 1e6;
	sim_fail("not finished after %.0f %s (%.1f ms virtual); the last message went through "
		 "%.3f ms before: %s",
		 limit, unit, (double)(sim_w.vt - VT_START) / 1e6, since,
		 since > 2.0 * sim_w.cfg->unblock_ms + 10
			 ? "the queue is stuck (everyone waits, wakes, looks and waits again)"
			 : "a process spins without bound");
}

/* Is an event of @kind planned for this step (or one before, when the
 * process there could not take it)? Then count it as happened. */
static bool due(enum sim_event kind, bool can)
{
	unsigned *n = &sim_w.done[kind];
	if (*n >= sim_w.cfg->events[kind] || sim_w.steps < sim_w.ev_at[kind][*n] || !can)
		return false;
	++*n;
	sim_w.disturbed = true;
	if (kind == EV_CRASH || kind == EV_POWER)
		sim_w.crashing = true;
	if (kind == EV_POWER)
		sim_w.power_pending = true;
	return true;
}

/* Nothing went through for longer than any wait the workload has
 * (timeouts, unblock timeouts, stalls): stuck, whether its processes
 * sleep and poll or spin, and no need to go on to max_vt_ns. */
static void quiet_too_long(void)
{
	stuck("s of virtual time, the last without any message going through",
	      (double)sim_w.quiet_ns / 1e9);
}

/* The library's step hook (src/sim.h). */
static void step(enum mapq_sim_op op, const void *addr, uint64_t arg, const char *file, int line)
{
	struct sim_proc *p = sim_w.cur;
	if (!p)
		return;
	sim_memory_plain(p); /* the plain stores made since its last step */
	sim_w.steps++;
	sim_w.vt += STEP_NS;
	/* FNV-1a of (process, operation, line) */
	sim_w.fingerprint = (sim_w.fingerprint ^
			     (p->idx << 24 ^ (uint64_t)op << 16 ^ (uint64_t)line)) *
			    0x100000001B3ull;
	uint64_t off = addr ? sim_key_of(p, addr) : UINT64_MAX;
	if (sim_w.steps > sim_w.cfg->max_steps || sim_w.vt - sim_w.progress_vt > sim_w.quiet_ns) {
		if (sim_w.steps > sim_w.cfg->max_steps)
			stuck("steps", (double)sim_w.cfg->max_steps);
		else
			quiet_too_long();
		p->state = P_DEAD;
		to_main(p);
	}
	for (unsigned i = 0; i < sim_w.pct_changes; i++)
		if (sim_w.pct_change[i] == sim_w.steps)
			p->prio = i + 1;
	if (due(EV_CRASH, true) || due(EV_POWER, !sim_w.closer_started)) {
		/* every process dies, wherever it is; they come back as
		 * new incarnations, and the first to open recovers */
		for (unsigned i = 0; i < SIM_MAX_PROCS; i++) {
			struct sim_proc *o = &sim_w.procs[i];
			if (o != p && o->state >= P_RUN && o->state <= P_SLEEP && killable(o))
				o->state = P_DEAD;
		}
	}
	bool crash = sim_w.crashing && killable(p);
	sim_w.crashing = false;
	if (crash || due(EV_DEATH, killable(p))) {
		struct sim_step *s = trace_add(
			p, op, off, arg, file, line,
			!crash                ? "dies here, before it"
			: sim_w.power_pending ? "dies here, with every process (a power cut)"
					      : "dies here, with every process (a crash)");
		if (sim_w.tracing)
			print_step(sim_w.trace_out, s);
		p->state = P_DEAD;
		to_main(p);
		abort(); /* never resumed */
	}
	sim_memory_tick();
	const char *note = NULL;
	if (due(EV_STALL, killable(p))) {
		p->stall_until = sim_w.vt + sim_w.cfg->stall_ns;
		note = "after a stall";
	}
	struct sim_proc *n = pick();
	if (n != p) {
		sim_w.next = n;
		to_main(p);
	}
	/* The operation runs now, before anyone else: the trace is in the
	 * order operations run, not the order processes reached them. */
	if (op == MAPQ_SIM_LOCK || op == MAPQ_SIM_UNLOCK)
		/* fcntl(): a system call, run now. Taken when the process
		 * reached the step, before a stall or others' steps, it let a
		 * recovery that got the lock after a stall read a head older
		 * than one moved meanwhile: tail past head by more than the
		 * ring, a garbled control page, every message lost. */
		sim_memory_lock(p, op == MAPQ_SIM_UNLOCK);
	struct sim_step *s = trace_add(p, op, off, arg, file, line, note);
	p->last_step = s->n;
	if (sim_w.tracing && op != MAPQ_SIM_LOAD && op != MAPQ_SIM_XCHG && op != MAPQ_SIM_ADD &&
	    op != MAPQ_SIM_SUB && op != MAPQ_SIM_CAS)
		print_step(sim_w.trace_out, s);
}

static void value(uint64_t v)
{
	if (!sim_w.cur)
		return;
	struct sim_step *s = trace_at(sim_w.cur->last_step);
	if (s->n != sim_w.cur->last_step)
		return; /* so long ago the trace has forgotten it */
	s->value = v;
	s->has_value = 1;
	if (sim_w.tracing)
		print_step(sim_w.trace_out, s);
}

static const char *const op_names[MAPQ_SIM_OPS] = {
	"load", "store", "xchg",        "fetch_add", "fetch_sub",
	"cas",  "fence", "fault point", "lock",      "unlock",
};

static void print_step(FILE *f, const struct sim_step *s)
{
	const struct sim_proc *p = &sim_w.procs[s->proc];
	const char *file = s->file ? strrchr(s->file, '/') : NULL;
	char where[48], what[96] = "", vname[80];
	file = file ? file + 1 : s->file ? s->file : "?";
	if (s->op == MAPQ_SIM_FAULT)
		snprintf(where, sizeof(where), "%s", mapq_fault_point((unsigned)s->arg));
	else if (s->op == MAPQ_SIM_LOCK || s->op == MAPQ_SIM_UNLOCK)
		snprintf(where, sizeof(where), "lock byte %llu", (unsigned long long)s->arg);
	else if (s->off != UINT64_MAX)
		mapq__sim_name(sim_w.sb, s->off, where, sizeof(where));
	else
		where[0] = 0;
	size_t n = 0;
	if (s->op == MAPQ_SIM_STORE || s->op == MAPQ_SIM_ADD || s->op == MAPQ_SIM_SUB ||
	    s->op == MAPQ_SIM_XCHG || s->op == MAPQ_SIM_CAS)
		n += (size_t)snprintf(what, sizeof(what), "<- %#llx ", (unsigned long long)s->arg);
	if (s->has_value && s->op == MAPQ_SIM_CAS)
		snprintf(what + n, sizeof(what) - n, "%s", s->value ? "ok" : "failed");
	else if (s->has_value && s->op != MAPQ_SIM_FAULT)
		snprintf(what + n, sizeof(what) - n, "-> %#llx", (unsigned long long)s->value);
	/* a commit word's meaning: the value stored, else the value read */
	vname[0] = 0;
	if (s->off != UINT64_MAX && s->op != MAPQ_SIM_FAULT && s->op != MAPQ_SIM_LOCK &&
	    s->op != MAPQ_SIM_UNLOCK)
		mapq__sim_value_name(sim_w.sb, s->off, s->op == MAPQ_SIM_LOAD ? s->value : s->arg,
				     vname, sizeof(vname));
	fprintf(f, "%7llu %10.3f us  %c%u.%u  %-11s %-24s %-28s %s:%d%s%s%s%s%s\n",
		(unsigned long long)s->n, (double)(s->vt - VT_START) / 1e3,
		p->role == R_WRITER   ? 'w'
		: p->role == R_READER ? 'r'
				      : 'c',
		p->id, s->inc, s->op < MAPQ_SIM_OPS ? op_names[s->op] : "?", where, what, file,
		s->line, vname[0] ? "  (" : "", vname, vname[0] ? ")" : "", s->note ? "  " : "",
		s->note ? s->note : "");
}

void sim_print_procs(FILE *f)
{
	static const char *const states[] = { "free",     "runnable", "waiting",
					      "sleeping", "done",     "dead" };
	for (unsigned i = 0; i < SIM_MAX_PROCS; i++) {
		const struct sim_proc *p = &sim_w.procs[i];
		if (p->state == P_FREE)
			continue;
		fprintf(f, "    %c%u.%u %-8s",
			p->role == R_WRITER   ? 'w'
			: p->role == R_READER ? 'r'
					      : 'c',
			p->id, p->inc, states[p->state]);
		if (p->state == P_WAIT && p->key != UINT64_MAX)
			fprintf(f, " on the futex @%llu", (unsigned long long)p->key);
		if ((p->state == P_WAIT || p->state == P_SLEEP) && p->wake_at != UINT64_MAX)
			fprintf(f, " until %.3f us", (double)(p->wake_at - VT_START) / 1e3);
		if (p->stall_until > sim_w.vt)
			fprintf(f, " stalled until %.3f us",
				(double)(p->stall_until - VT_START) / 1e3);
		fputc('\n', f);
	}
	fprintf(f, "    writers done: %u of %u; closer %s\n", sim_w.writers_done,
		sim_w.cfg->writers, sim_w.closer_started ? "started" : "not started");
}

void sim_print_trace(FILE *f, unsigned last)
{
	uint64_t from = sim_w.ops >= last ? sim_w.ops - last + 1 : 1;
	if (sim_w.ops >= SIM_TRACE && from <= sim_w.ops - SIM_TRACE)
		from = sim_w.ops - SIM_TRACE + 1;
	fprintf(f,
		"   step      virtual  proc  operation   word or point            value                        source\n");
	for (uint64_t n = from; n <= sim_w.ops; n++)
		print_step(f, trace_at(n));
}

static int sort_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Steps where deaths, stalls and PCT's priority changes fall. */
static void plan(const struct sim_config *cfg)
{
	if (sim_w.tape) {
		memcpy(sim_w.ev_at, sim_w.tape->ev_at, sizeof(sim_w.ev_at));
		return;
	}
	uint64_t k = cfg->pct_steps ? cfg->pct_steps : 1;
	/* deaths, stalls, PCT's changes, then crashes: in the order that
	 * keeps the seeds of schedules without crashes as they were */
	for (unsigned e = EV_DEATH; e <= EV_STALL; e++) {
		for (unsigned i = 0; i < cfg->events[e]; i++)
			sim_w.ev_at[e][i] = 1 + sim_rand() % k;
		qsort(sim_w.ev_at[e], cfg->events[e], sizeof(uint64_t), sort_u64);
	}
	if (cfg->strategy == SIM_PCT) {
		sim_w.pct_changes = cfg->depth > 1 ? cfg->depth - 1 : 0;
		for (unsigned i = 0; i < sim_w.pct_changes; i++)
			sim_w.pct_change[i] = 1 + sim_rand() % k;
	}
	for (unsigned e = EV_CRASH; e <= EV_POWER; e++) {
		for (unsigned i = 0; i < cfg->events[e]; i++)
			sim_w.ev_at[e][i] = 1 + sim_rand() % k;
		qsort(sim_w.ev_at[e], cfg->events[e], sizeof(uint64_t), sort_u64);
	}
}

static bool all_done(void)
{
	for (unsigned i = 0; i < SIM_MAX_PROCS; i++) {
		enum sim_pstate s = sim_w.procs[i].state;
		if (s != P_FREE && s != P_DONE)
			return false;
	}
	return true;
}

/* What happens when a process leaves the CPU for good. */
static void reap(struct sim_proc *p)
{
	sim_kernel_release(p);
	sim_views_end(p);
	if (p->state == P_DONE && !p->again) {
		p->state = P_FREE;
		return;
	}
	/* died, or closed to come back: a new incarnation, as the torture
	 * harness restarts it */
	enum sim_role role = p->role;
	unsigned id = p->id, inc = p->inc + 1;
	uint64_t at = sim_w.vt + (p->again ? REATTACH_NS : RESTART_NS);
	p->state = P_FREE;
	if (role == R_WRITER)
		sim_w.incarnations[id] = inc + 1;
	else
		sim_w.reader_epochs[id] = inc;
	(void)sim_spawn(role, id, inc, at);
}

static int make_queue(const struct sim_config *cfg)
{
	snprintf(sim_w.path, sizeof(sim_w.path), "%s/q", cfg->dir);
	(void)unlink(sim_w.path);
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = cfg->capacity;
	/* Spare slots let a restarted writer attach while its dead former
	 * incarnation's slot still waits for repair; alone, it takes that
	 * slot over. */
	o.writer_slots = cfg->alone ? 1 : cfg->writers + 2;
	o.reader_slots = cfg->readers + 1;
	o.unblock_ms = cfg->unblock_ms;
	o.policy = cfg->overwrite ? MAPQ_OVERWRITE : MAPQ_BLOCK;
	mapq *q;
	int rc = mapq_open(&q, sim_w.path, MAPQ_CREATE | MAPQ_EXCL, &o);
	if (rc) {
		fprintf(stderr, "mapq-sim: %s: cannot create the queue: %s\n", sim_w.path,
			mapq_strerror(rc));
		return -1;
	}
	mapq_close(q);
	int fd = open(sim_w.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, sim_w.sb, sizeof(sim_w.sb), 0) != (ssize_t)sizeof(sim_w.sb)) {
		fprintf(stderr, "mapq-sim: %s: cannot read the superblock back\n", sim_w.path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int sim_run(const struct sim_config *cfg, uint64_t seed, struct sim_tape *tape,
	    struct sim_tape *rec, bool trace, FILE *trace_out)
{
	void *st_mem = sim_w.st_mem;
	memset(&sim_w, 0, offsetof(struct sim_world, trace));
	sim_w.cfg = cfg;
	sim_w.seed = seed;
	sim_w.rng = seed;
	sim_w.vt = sim_w.progress_vt = VT_START;
	sim_w.fingerprint = 0xCBF29CE484222325ull;
	sim_w.quiet_ns = QUIET_NS + (uint64_t)cfg->events[EV_STALL] * cfg->stall_ns +
			 4000000ull * (uint64_t)cfg->unblock_ms;
	sim_w.tape = cfg->strategy == SIM_TAPE ? tape : NULL;
	if (sim_w.tape)
		sim_w.tape->at = 0;
	sim_w.rec = rec;
	mapq__sim.step = step;
	mapq__sim.value = value;
	/* a pause stands for 2 us: a spin budget is a few steps */
	mapq__sim_spin_scale(2000000u);
	sim_w.tracing = trace;
	sim_w.trace_out = trace_out;
	sim_kernel_install();
	if (!st_mem && !(st_mem = malloc(tt_state_size(cfg->writers, cfg->readers)))) {
		fprintf(stderr, "mapq-sim: out of memory\n");
		return -1;
	}
	sim_w.st_mem = st_mem;
	tt_state_init(&sim_w.st, st_mem, cfg->writers, cfg->readers);
	if (make_queue(cfg) || sim_power_start())
		return -1;
	plan(cfg);
	if (rec) {
		sim_tape_clear(rec);
		rec->seed = seed;
		memcpy(rec->events, cfg->events, sizeof(rec->events));
		memcpy(rec->ev_at, sim_w.ev_at, sizeof(rec->ev_at));
	}
	/* after plan(): an sc schedule's seed means what it meant; after the
	 * tape is cleared: its odds are the tape's first choice */
	sim_memory_start();
	/* the writers start once every reader is attached (roles.c) */
	for (unsigned i = 0; i < cfg->readers; i++)
		(void)sim_spawn(R_READER, i, 0, 0);
	while (!sim_w.failure[0]) {
		struct sim_proc *n = sim_w.next ? sim_w.next : pick();
		sim_w.next = NULL;
		if (!n) {
			if (all_done())
				break;
			if (!sim_kernel_advance()) {
				sim_fail(
					"deadlock: every live process waits, with no timer to end it");
				break;
			}
			if (sim_w.vt - VT_START > cfg->max_vt_ns) {
				stuck("s of virtual time", (double)cfg->max_vt_ns / 1e9);
				break;
			}
			if (sim_w.vt - sim_w.progress_vt > sim_w.quiet_ns) {
				quiet_too_long();
				break;
			}
			continue;
		}
		sim_w.cur = n;
		sim_ctx_switch(&sim_w.main_ctx, &n->ctx);
		sim_w.cur = NULL;
		/* it, and after a crash every process */
		for (unsigned i = 0; i < SIM_MAX_PROCS; i++)
			if (sim_w.procs[i].state == P_DONE || sim_w.procs[i].state == P_DEAD)
				reap(&sim_w.procs[i]);
		if (sim_w.power_pending) {
			sim_w.power_pending = false;
			sim_power_cut();
		}
	}
	/* what is left when a schedule ends early: as if all were killed */
	for (unsigned i = 0; i < SIM_MAX_PROCS; i++)
		if (sim_w.procs[i].state != P_FREE)
			sim_kernel_release(&sim_w.procs[i]);
	(void)unlink(sim_w.path);
	sim_power_end();
	return 0;
}
