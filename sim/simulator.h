/* SPDX-License-Identifier: MIT */
/*
 * simulator.h - what the simulator's files share (doc/simulation.md).
 *
 * One run ("a schedule") executes a workload of simulated processes over
 * one queue file. The processes are coroutines of this one thread, each
 * with its own mapq handles, mapping and open file descriptions, and
 * exactly one runs at a time: the library yields at every atomic step
 * (src/sim.h), and the scheduler (sched.c) picks who goes on from a
 * seeded generator, so one seed gives one execution. The kernel side
 * (kernel.c) keeps virtual time, futex wait queues, and what each process
 * holds, released when it dies. roles.c is the workload; verdict.c judges
 * the result with the torture harness's rules plus the simulator's own
 * (deadlock, lost wake-up, timeouts, crashes); main.c is the command.
 */
#ifndef MAPQ_SIM_TOOL_H
#define MAPQ_SIM_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim.h" /* the library's side: src/sim.h */
#include "switch.h"
#include "torture.h"

#define SIM_MAX_PROCS 16
#define SIM_MAX_WRITERS 8
#define SIM_MAX_READERS 4
#define SIM_MAX_FDS 8
#define SIM_MAX_MAPS 8
#define SIM_MAX_ALLOCS 32
#define SIM_STACK (256 * 1024)
#define SIM_BATCH 4      /* --batch: most messages a reader takes a read */
#define SIM_TRACE 4096   /* steps kept for the trace: the last ones */
#define SIM_SB 8         /* stores a process's store buffer holds (memory.c) */
#define SIM_SB_PLAIN 32  /* ... with --plain-stores, whose payloads take several */
#define SIM_PIECE 64     /* plain bytes one buffered store holds, at most */
#define SIM_PLAIN 1024   /* plain bytes one run of plain stores may buffer */
#define SIM_MAX_MSG 1024 /* the largest --max-size */

enum sim_strategy {
	SIM_RANDOM,
	SIM_PCT,
	SIM_TAPE /* every choice read from a recorded schedule (tape.c) */
};

/* How the atomic words of the file behave (memory.c). */
enum sim_memory {
	MEM_SC,   /* every step reaches memory as it runs */
	MEM_TSO,  /* store buffers, emptied in order */
	MEM_WEAK, /* store buffers, emptied in any order the memory orders allow */
	MEM_C11   /* loads may read older stores, as coherence and happens-before allow */
};

/* What a process knows of the stores made (views.c): stamp vc[i] and
 * those before it by the process in slot i, and every store stamped up
 * to g (in memory at its last full barrier). */
struct sim_view {
	uint64_t vc[SIM_MAX_PROCS];
	uint64_t g;
};

/* A store waiting in a process's store buffer. */
struct sim_sb_entry {
	void *addr;   /* in the process's own mapping */
	uint64_t key; /* the word's offset in the file */
	uint64_t v;
	uint8_t size;
	bool plain;     /* plain bytes (bytes[]), not an atomic word (v) */
	bool ordered;   /* release or seq_cst: after every store before it */
	bool sc;        /* seq_cst: a seq_cst load after it waits for it */
	bool rmw;       /* the store of a read-modify-write */
	uint32_t epoch; /* release fences before it */
	uint64_t seq;   /* stores buffered before it, in the whole simulation */
	uint8_t bytes[SIM_PIECE];
};

/* What may befall a schedule's processes at planned steps. */
enum sim_event {
	EV_DEATH, /* the process at the step dies */
	EV_STALL, /* it is not scheduled for stall_ns */
	EV_CRASH, /* every process dies at once: the next open recovers */
	EV_POWER, /* a crash that also loses what did not reach the disk */
	EV_KINDS
};
#define SIM_MAX_EVENTS 8 /* of each kind per schedule */

/*
 * A schedule written down (tape.c): where deaths and stalls fall, and each
 * choice the schedule made, in order. A choice among the processes that
 * can run is recorded as 0 for "the one running goes on" (or the first, when
 * none is running) and i for the i-th other, so that a tape of zeros is a
 * schedule without preemption and shrink.c can take choices out, or make
 * them 0, and still have a valid schedule to run: a choice read past the
 * end is 0. Any other choice (a message's size, a timeout) is its value.
 */
struct sim_tape {
	uint32_t *v;
	size_t n, cap, at;         /* at: the next choice to read */
	uint64_t seed;             /* the schedule's seed: the queue's id comes from it */
	unsigned events[EV_KINDS]; /* how many of each */
	uint64_t ev_at[EV_KINDS][SIM_MAX_EVENTS]; /* their steps, sorted */
	bool oom;                                 /* a choice could not be recorded */
};

/* The workload and how to explore it: the same for every schedule. */
struct sim_config {
	unsigned writers, readers;
	unsigned messages; /* per writer, acknowledged, over its incarnations */
	unsigned min_size, max_size;
	uint64_t capacity;
	bool durable;       /* readers resume by name after a restart */
	bool overwrite;     /* MAPQ_OVERWRITE: writers lap slow readers */
	bool reattach;      /* readers close now and then and come back (roles.c) */
	bool rejoin_oldest; /* a restarted reader without a name starts at the oldest */
	bool drop;          /* a durable reader that closes drops its name now and then */
	bool alone;         /* one writer slot: the writer is alone (writer.c) */
	bool batch;         /* readers take several messages a read (mapq_read_batch) */
	bool send_batch;    /* writers send some in batches (mapq_send_batch) */
	bool plain_stores;  /* plain stores into frames wait in store buffers too */
	bool full_fences;   /* no membarrier: commits make full fences (kernel.c) */
	enum sim_strategy strategy;
	unsigned depth;            /* PCT: bugs of this depth have a guaranteed chance */
	unsigned events[EV_KINDS]; /* deaths, stalls, crashes, cuts per schedule, at most */
	uint64_t stall_ns;         /* how long a stall lasts (virtual) */
	bool tear_bytes;           /* power cuts garble changed bytes (power.c) */
	enum sim_memory memory;
	int unblock_ms;     /* the handles' unblock timeout */
	uint64_t max_steps; /* a schedule that runs longer spins: a failure */
	uint64_t max_vt_ns; /* likewise in virtual time: a stall */
	uint64_t pct_steps; /* PCT's estimate of a schedule's length */
	const char *dir;    /* where the queue file lives */
	enum sim_break {
		BREAK_NONE,
		BREAK_CRASH,  /* reader 0 faults after its first message */
		BREAK_WAKE,   /* futex wakes wake nobody: lost wake-ups */
		BREAK_SYNC,   /* msync makes nothing durable (power.c) */
		BREAK_FENCE,  /* seq_cst fences order nothing (memory.c) */
		BREAK_RELEASE /* release stores order nothing before them (memory.c, views.c) */
	} breakage;           /* self-tests of the simulator (--break) */
};

enum sim_pstate {
	P_FREE,
	P_RUN,
	P_WAIT,
	P_SLEEP,
	P_DONE,
	P_DEAD
};
enum sim_role {
	R_WRITER,
	R_READER,
	R_CLOSER
};

struct sim_proc {
	unsigned idx;
	enum sim_role role;
	unsigned id;  /* writer or reader number */
	unsigned inc; /* incarnation (restarts so far) */
	enum sim_pstate state;
	struct sim_ctx ctx;
	void *stack;
	/* P_WAIT: on this futex key until woken or wake_at; P_SLEEP: until wake_at */
	uint64_t key;
	uint64_t wake_at;
	bool woken, quiet_timer;
	bool again; /* done, but to come back as a new incarnation (reattach) */
	uint64_t stall_until;
	uint64_t prio;      /* PCT */
	uint64_t last_step; /* its latest step: where the value read goes */
	/* stores not yet in memory (memory.c), oldest first */
	struct sim_sb_entry sb[SIM_SB_PLAIN];
	unsigned nsb;
	uint32_t epoch;
	/* weak: stores made before its last unlock (seq below this) reach
	 * memory before anyone's next lock */
	uint64_t unlocked_below;
	/* --plain-stores: plain stores announced (src/sim.h, plain), made
	 * since its last step, and what those bytes held before them */
	uint8_t *plain_at;
	size_t plain_len;
	uint8_t plain_old[SIM_PLAIN];
	/* views.c: what it knows, what it knew at its last release fence,
	 * and what its relaxed loads read, for its next acquire fence */
	struct sim_view view, relfence, pending;
	uint32_t pid;
	/* what it holds */
	int fds[SIM_MAX_FDS];
	unsigned nfds;
	struct {
		void *addr;
		size_t len;
		int fd;
	} maps[SIM_MAX_MAPS];
	unsigned nmaps;
	void *allocs[SIM_MAX_ALLOCS];
	unsigned nallocs;
};

struct sim_step {
	uint64_t n, vt;
	const char *file;
	int line;
	uint8_t op, proc, has_value;
	uint16_t inc;
	uint64_t off; /* in the queue file; UINT64_MAX: not a shared word */
	uint64_t arg, value;
	const char *note; /* "dies", "stalls", "wakes", ... */
};

/* One schedule's world. */
struct sim_world {
	const struct sim_config *cfg;
	uint64_t seed, rng;
	uint64_t vt, steps;   /* steps: scheduling points reached */
	uint64_t ops;         /* operations run: the trace's numbering */
	uint64_t fingerprint; /* of the steps taken: differs on another build */
	struct sim_proc procs[SIM_MAX_PROCS];
	unsigned spawned; /* processes started, incarnations included */
	struct sim_proc *cur, *next;
	struct sim_ctx main_ctx;
	char path[256];
	uint8_t sb[MAPQ_SIM_SB_BYTES]; /* the queue's superblock: names in traces */
	/* deaths and stalls still to come, and those done */
	unsigned done[EV_KINDS]; /* deaths, stalls and crashes so far */
	uint64_t ev_at[EV_KINDS][SIM_MAX_EVENTS];
	uint64_t pct_change[8];
	unsigned pct_changes;
	/* SIM_TAPE: the choices to make; else NULL. rec: choices made */
	struct sim_tape *tape, *rec;
	bool disturbed;     /* a death or stall happened: polls may be needed */
	bool crashing;      /* a crash is under way: the process at the step dies */
	bool power_pending; /* a power cut: the file becomes a crash image */
	bool power_cut;     /* there was one: cursors are not durable any more */
	/* the workload's state, judged at the end */
	struct tt_state st;
	void *st_mem;
	unsigned incarnations[TT_MAX_WRITERS], reader_epochs[TT_MAX_READERS];
	unsigned writers_done, readers_ready;
	bool writer_done[TT_MAX_WRITERS];
	uint64_t progress_vt; /* when a message last went through */
	uint64_t quiet_ns;    /* longer than this without one: stuck */
	bool reader_ready[TT_MAX_READERS];
	bool dropped[TT_MAX_READERS]; /* --drop: its name is gone; it comes back anew */
	/* --batch: what a reader recorded and had not released yet, which a
	 * durable reader's next incarnation reads again if it died first,
	 * each with where it is in the ring */
	struct sim_held {
		struct tt_stamp stamp;
		uint64_t pos;
	} held[TT_MAX_READERS][SIM_BATCH];
	unsigned held_n[TT_MAX_READERS];
	bool closer_started, end_sent;
	char failure[512];
	/* the trace: the last SIM_TRACE steps */
	struct sim_step trace[SIM_TRACE];
	bool tracing; /* print each step as it happens */
	FILE *trace_out;
};

extern struct sim_world sim_w;

/* sched.c */
uint64_t sim_rand(void);
/* A choice of the schedule from 0..n-1: drawn, or read from the tape;
 * recorded when recording. */
uint64_t sim_choose(uint64_t n);
uint64_t sim_seed_of(uint64_t base, uint64_t i);
/* Run one schedule; 0 when it ended (judge it), -1 on a setup error.
 * @tape: the choices when cfg->strategy is SIM_TAPE; @rec: where to record
 * the choices made (either may be NULL). */
int sim_run(const struct sim_config *cfg, uint64_t seed, struct sim_tape *tape,
	    struct sim_tape *rec, bool trace, FILE *trace_out);
void sim_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Called by the running process: end it here (its role is over). */
void sim_exit(void) __attribute__((noreturn));
/* Start the writers (once every reader is attached, as in mapq-torture:
 * under the block policy only attached readers hold messages back). */
void sim_start_writers(void);
struct sim_proc *sim_spawn(enum sim_role role, unsigned id, unsigned inc, uint64_t at);
void sim_print_trace(FILE *f, unsigned last);
void sim_print_procs(FILE *f);
const char *sim_strategy_name(enum sim_strategy s);

/* kernel.c: the hooks of src/sim.h, and what a dead process leaves */
void sim_kernel_install(void);
void sim_kernel_release(struct sim_proc *p);
/* Advance virtual time to the next timer when nobody can run; false if
 * there is none (everyone waits forever, or everyone is done). */
bool sim_kernel_advance(void);
uint64_t sim_key_of(struct sim_proc *p, const void *addr);

/* memory.c */
void sim_memory_start(void);                           /* at a schedule's start: the hooks */
void sim_memory_plain(struct sim_proc *p);             /* at each step: plain stores buffered */
void sim_memory_tick(void);                            /* at each step: stores may leave buffers */
void sim_memory_drain(struct sim_proc *p);             /* a system call or an end: all leave */
void sim_memory_lock(struct sim_proc *p, bool unlock); /* an OFD lock's fcntl() */
const char *sim_memory_name(enum sim_memory m);
bool sim_memory_parse(const char *name, enum sim_memory *m); /* false: no such */
/* views.c */
void sim_views_start(void);                 /* at a schedule's start, for --memory c11 */
void sim_views_begin(struct sim_proc *p);   /* a process starts: it sees memory */
void sim_views_barrier(struct sim_proc *p); /* a full barrier: it sees memory */
void sim_views_end(struct sim_proc *p);     /* a process ends: its reads go */
void sim_views_lock(struct sim_proc *p);    /* an OFD lock's fcntl() */

/* Virtual time before a dead process comes back. */
#define RESTART_NS 200000u
/* ... and a reader that closed to come back (--reattach): longer than the
 * space poll (wait.c), so that a writer it blocked is woken by its close
 * or judged for a lost wake-up, not rescued by its return. */
#define REATTACH_NS 20000000u

/* power.c: the disk's image, power cuts and their judgement */
int sim_power_start(void); /* after the queue's creation; -1: setup error */
void sim_power_end(void);
void sim_power_snapshot(uint64_t snap[SIM_MAX_WRITERS][TT_MAX_INC]); /* before mapq_sync */
void sim_power_synced(uint64_t snap[SIM_MAX_WRITERS][TT_MAX_INC]);   /* it returned 0 */
void sim_power_cut(void); /* every process is dead: the crash image, judged */

/* roles.c */
void sim_role_main(void);
const char *sim_role_name(const struct sim_proc *p); /* writer, reader or closer */

/* verdict.c */
struct sim_result {
	struct tt_verdict v;
	bool pass;
	char why[600];
	char kind[96]; /* what failed, without the numbers: shrink.c keeps it */
};
void sim_judge(struct sim_result *res);

/* tape.c */
void sim_tape_clear(struct sim_tape *t);
void sim_tape_free(struct sim_tape *t);
void sim_tape_push(struct sim_tape *t, uint32_t v);
int sim_tape_copy(struct sim_tape *to, const struct sim_tape *from);
/* A schedule file: the workload, the tape, the fingerprint and what failed. */
int sim_tape_save(const char *path, const struct sim_config *cfg, const struct sim_tape *t,
		  uint64_t fingerprint, const char *kind);
/* 0, or -1 with the reason in @err. */
int sim_tape_load(const char *path, struct sim_config *cfg, struct sim_tape *t,
		  uint64_t *fingerprint, char *kind, size_t kind_len, char *err, size_t err_len);

/* shrink.c: make a failing schedule smaller (fewer processes, deaths,
 * messages, preemptions and steps) while it fails the same way, in place,
 * within @budget_s seconds. */
struct sim_shrink_stats {
	uint64_t runs, accepted;
	uint64_t steps_before, steps_after;
	double seconds;
};
void sim_shrink(struct sim_config *cfg, struct sim_tape *t, const char *kind, double budget_s,
		bool quiet, struct sim_shrink_stats *st);

#endif /* MAPQ_SIM_TOOL_H */
