/* SPDX-License-Identifier: MIT */
/*
 * torture.h - what the torture harness's parent and its child roles share.
 *
 * The parent (torture.c) creates a run directory holding the queue and a
 * state file. Children are the parent's own program, exec'ed in a role
 * (roles.c): writers record in the state file how many messages each of
 * their incarnations had acknowledged (a send that returned 0), readers
 * record what they received. The state survives any child's death, so
 * the verdict (verdict.c) is computed from it after the run.
 */
#ifndef MAPQ_TORTURE_H
#define MAPQ_TORTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mapq.h"
#include "system.h"

#define TT_MAGIC 0x54525455u /* "UTRT" */
#define TT_MAX_WRITERS 64
#define TT_MAX_READERS 32
#define TT_MAX_INC 256        /* incarnations per writer */
#define TT_END_WRITER 0xffffu /* the parent's end-of-run marker */

/* Deliberate breakage, for the checker's self-test (--break). */
enum tt_break {
	TT_BREAK_NONE,
	TT_BREAK_FLIP,
	TT_BREAK_SKIP,
	TT_BREAK_DUP,
	TT_BREAK_REORDER
};

/* Payload stamp: the first bytes of every message. */
struct tt_stamp {
	uint32_t magic;
	uint16_t writer, inc;
	uint64_t seq;
	uint32_t len; /* the whole payload */
	uint32_t sum; /* FNV-1a over the payload with this field zero */
};
#define TT_MIN_MSG ((uint32_t)sizeof(struct tt_stamp))

/* What one reader saw of one writer incarnation. */
struct tt_pair {
	uint64_t next;           /* the sequence number expected next */
	uint64_t got;            /* distinct messages received */
	uint64_t gap_lo, gap_hi; /* the latest gap: [lo, hi) were skipped */
	uint32_t epoch;          /* reader epoch in which it was last touched */
	uint32_t reserved;
};

struct tt_rstats {
	uint64_t delivered, corrupt, duplicated, reordered, redelivered, gaps;
	uint64_t lapped, lapped_lost; /* overwrite policy */
	uint64_t max_stall_ns;        /* longest read that ended past skipped frames */
	uint32_t epoch;               /* restarts so far */
	uint32_t lossy;               /* lapped, or restarted without a durable cursor */
	uint32_t done;                /* saw the end marker */
	uint32_t reserved;
};

struct tt_header {
	uint32_t magic, writers, readers, reserved;
	_Atomic uint32_t stop; /* writers finish their message and exit */
	uint32_t reserved2;
	/* A run with a hostile peer (hostile.c): what it did, and what the
	 * writers and readers beside it saw. */
	_Atomic uint64_t scribbles;   /* writes into the mapping */
	_Atomic uint64_t calls;       /* library calls timed */
	_Atomic uint64_t hangs;       /* calls that ran past their timeout + TT_HANG_BOUND_MS */
	_Atomic uint64_t max_over_ns; /* the most any call ran past its timeout */
	_Atomic uint64_t errors;      /* error returns (the data is not promised) */
	_Atomic uint64_t reopens;     /* handles closed and opened again after one */
};
/* How far past its timeout a call may run before it counts as a hang: a
 * writer's first send attaches to a slot, repairing a dead owner's frame. */
#define TT_HANG_BOUND_MS 1000

/* The state file: header, acks[writers][TT_MAX_INC], then per reader its
 * stats and pairs[writers][TT_MAX_INC]. */
struct tt_state {
	struct tt_header *hdr;
	_Atomic uint64_t *acks;
	size_t size;
	uint32_t writers, readers;
	uint8_t *base;
};

size_t tt_state_size(uint32_t writers, uint32_t readers);
int tt_state_map(struct tt_state *st, const char *path, bool create, uint32_t writers,
		 uint32_t readers);
/* The same state in @mem, tt_state_size() bytes, zeroed here (the
 * simulator's, whose processes share one address space). */
void tt_state_init(struct tt_state *st, void *mem, uint32_t writers, uint32_t readers);
struct tt_rstats *tt_rstats(const struct tt_state *st, uint32_t reader);
struct tt_pair *tt_pair(const struct tt_state *st, uint32_t reader, uint32_t writer, uint32_t inc);

/* stamp.c */
void tt_fill(void *buf, uint32_t len, uint16_t writer, uint16_t inc, uint64_t seq);
/* 0 if intact; fills the stamp's fields. */
int tt_check(const void *buf, size_t len, struct tt_stamp *out);

/* send.c: send message number @seq of @len bytes at @buf, as mapq_send()
 * does (same results), by one of the two ways a frame is published. */
int tt_send(mapq *q, const void *buf, uint32_t len, uint64_t seq, int timeout_ms);
/* Messages @seq.. (@n of them, at most TT_SEND_BATCH, of @lens[i] bytes)
 * stamped for writer @writer.@inc into @buf, @stride bytes apart, and
 * sent with one mapq_send_batch(): how many it sent, or its error. */
#define TT_SEND_BATCH 4
int tt_send_batch(mapq *q, uint8_t *buf, uint32_t stride, const uint32_t *lens, unsigned n,
		  uint16_t writer, uint16_t inc, uint64_t seq, int timeout_ms);

/* roles.c: run a child role; returns its exit status. */
struct tt_role_args {
	const char *queue, *state;
	uint32_t writers, readers;
	uint32_t id, inc, epoch;
	uint32_t min_size, max_size;
	uint64_t seed;
	bool durable;
	double hostile; /* scribbles per second (the hostile role) */
	int brk;
	const char *ready; /* tt_ready_signal()'s token: "-" is none */
	int unblock_ms;
};
int tt_writer(const struct tt_role_args *a);
int tt_reader(const struct tt_role_args *a);
/* hostile.c: the peer that scribbles into the mapping, and the writers
 * and readers of a run with it, which judge only crashes and time */
int tt_hostile(const struct tt_role_args *a);
int tt_hostile_writer(const struct tt_role_args *a);
int tt_hostile_reader(const struct tt_role_args *a);

/* account.c */
/* Where the frame of message @m ends: a read that did not start there
 * next skipped frames on the way. */
uint64_t tt_frame_end(const mapq_msg *m);
/* Record message @s, intact and from a writer of the run, as received by
 * @reader in its @epoch (its restarts so far). @first_after_restart: set
 * for the first message after a durable reader's restart (which may be
 * the last one it received before); cleared here. */
void tt_record(const struct tt_state *st, uint32_t reader, uint32_t epoch, bool durable,
	       const struct tt_stamp *s, bool *first_after_restart);
/* After the end marker, under MAPQ_OVERWRITE: collect a loss report
 * still pending (account.c says why there can be one). */
void tt_last_losses(mapq_reader *r, struct tt_rstats *rs);

/* verdict.c: the judgement of a finished run */
struct tt_run {
	/* configuration, for the report */
	uint32_t writers, readers, min_size, max_size, unblock_ms;
	uint64_t capacity, seed;
	bool overwrite, durable, alone;
	/* messages a writer may have in flight when it dies: 1, or a batch's
	 * (TT_SEND_BATCH) where writers send batches */
	uint32_t inflight_max;
	double duration_s, kill_rate, pause_rate, hostile;
	const char *fault_points, *brk, *command;
	/* what happened */
	double elapsed_s;
	uint32_t incarnations[TT_MAX_WRITERS];
	uint64_t writer_kills, reader_kills, fault_kills, pauses;
	uint64_t repaired; /* mapq_stats(): frames others finished for dead writers */
	uint32_t reader_restarts[TT_MAX_READERS];
	char failure[256]; /* a child failed, or a reader never finished */
	/* --hostile: children that died by a signal nobody sent them, and
	 * the fresh open after the run */
	uint64_t crashes;
	int final_open;         /* what mapq_open returned */
	char final_report[256]; /* what recovery said, or why the open failed */
};
struct tt_verdict {
	uint64_t acked, delivered, corrupt, duplicated, redelivered, reordered, lost, inflight;
	uint64_t lapped, lapped_lost, gaps, bytes;
	uint32_t readers_checked;
	/* overwrite policy: readers never restarted whose reported losses do
	 * not add up to the acknowledged messages they missed (verdict.c,
	 * count_losses(): within one per writer killed) */
	uint32_t miscounted, readers_counted;
	uint64_t missed_lo, missed_hi; /* the first miscounted reader's bounds */
	uint64_t reported;             /* and what it was told */
	uint64_t max_stall_ns, stall_bound_ns;
	/* --hostile */
	uint64_t scribbles, calls, hangs, max_over_ns, errors, reopens;
	bool clean;
};
void tt_judge(const struct tt_state *st, const struct tt_run *run, struct tt_verdict *v);
void tt_print(FILE *f, const struct tt_state *st, const struct tt_run *run,
	      const struct tt_verdict *v);
int tt_write_json(const char *path, const struct tt_state *st, const struct tt_run *run,
		  const struct tt_verdict *v);

#endif /* MAPQ_TORTURE_H */
