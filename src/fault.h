/* SPDX-License-Identifier: MIT */
/*
 * fault.h - named fault points.
 *
 * Each point marks one step of a protocol where a process could die,
 * fail or stall. Armed points act when reached for the Nth time: SIGKILL
 * to self, an error return, or a stall. Only a build configured with
 * --enable-fault-injection has them; in any other MAPQ_FAULT() is the
 * constant 0 and the points vanish, because ~20 of them lie on the path of
 * every message (doc/fault-points.md has the measured cost). Code that
 * needs the points to work differently asks MAPQ_FAULT_ARMED() at run
 * time, never #ifdef, so a fault-injection build runs the production
 * path whenever nothing is armed.
 *
 * The list below is the only one: mapq_fault_point() enumerates it, and
 * doc/fault-points.md explains each entry.
 */
#ifndef MAPQ_FAULT_H
#define MAPQ_FAULT_H

#include <stdatomic.h>

#define MAPQ_FAULT_POINTS(XX)                              \
	XX(RESERVE_BEFORE_RECORD, "reserve.before_record") \
	XX(RESERVE_AFTER_POS, "reserve.after_pos")         \
	XX(RESERVE_BEFORE_CAS, "reserve.before_cas")       \
	XX(RESERVE_AFTER_CAS, "reserve.after_cas")         \
	XX(RESERVE_AFTER_CONFIRM, "reserve.after_confirm") \
	XX(PAD_BEFORE_WORD, "pad.before_word")             \
	XX(PAD_BEFORE_POS, "pad.before_pos")               \
	XX(COPY_MIDWAY, "copy.midway")                     \
	XX(COMMIT_BATCH_NEXT, "commit.batch_next")         \
	XX(COMMIT_BEFORE_CRC, "commit.before_crc")         \
	XX(COMMIT_BEFORE_STORE, "commit.before_store")     \
	XX(COMMIT_AFTER_RECORD, "commit.after_record")     \
	XX(COMMIT_BEFORE_POS, "commit.before_pos")         \
	XX(COMMIT_AFTER_STORE, "commit.after_store")       \
	XX(COMMIT_AFTER_CLEAR, "commit.after_clear")       \
	XX(ABORT_BEFORE_STORE, "abort.before_store")       \
	XX(READ_BEFORE_ADVANCE, "read.before_advance")     \
	XX(READ_AFTER_ADVANCE, "read.after_advance")       \
	XX(HEAD_BEFORE_INTENT, "head.before_intent")       \
	XX(HEAD_BEFORE_CAS, "head.before_cas")             \
	XX(HEAD_AFTER_PUSH, "head.after_push")             \
	XX(WSLOT_ATTACH_LOCKED, "wslot.attach_locked")     \
	XX(WSLOT_ATTACH_REPAIRED, "wslot.attach_repaired") \
	XX(WSLOT_DETACH, "wslot.detach")                   \
	XX(RSLOT_ATTACH_BUSY, "rslot.attach_busy")         \
	XX(RSLOT_ATTACH_ACTIVE, "rslot.attach_active")     \
	XX(RSLOT_DETACH, "rslot.detach")                   \
	XX(REPAIR_BEFORE_MARK, "repair.before_mark")       \
	XX(REPAIR_BEFORE_CAS, "repair.before_cas")         \
	XX(REPAIR_BEFORE_POS, "repair.before_pos")         \
	XX(RECOVER_START, "recover.start")                 \
	XX(RECOVER_REPAIRED, "recover.repaired")           \
	XX(RECOVER_SCRUBBED, "recover.scrubbed")           \
	XX(RECOVER_TAIL, "recover.tail")                   \
	XX(RECOVER_READERS, "recover.readers")             \
	XX(SYNC_BEFORE_LOOK, "sync.before_look")           \
	XX(SYNC_BEFORE_MSYNC, "sync.before_msync")         \
	XX(SYNC_BEFORE_CKPT, "sync.before_checkpoint")     \
	XX(OS_OPEN, "os.open")                             \
	XX(OS_MMAP, "os.mmap")                             \
	XX(OS_MSYNC, "os.msync")                           \
	XX(OS_CALLOC, "os.calloc")                         \
	XX(OS_LOCK, "os.lock")

enum mapq__fault_id {
#define MAPQ_XX_FAULT_ID(id, name) MAPQ__F_##id,
	MAPQ_FAULT_POINTS(MAPQ_XX_FAULT_ID)
#undef MAPQ_XX_FAULT_ID
	MAPQ__F_COUNT
};

/* In a simulation build every point is also a scheduling point (atomic.h):
 * the simulator may switch processes or kill the caller there. */
#ifdef MAPQ_SIM
#include "sim.h"
#define MAPQ_FAULT_STEP(id) mapq__sim_step(MAPQ_SIM_FAULT, NULL, MAPQ__F_##id, __FILE__, __LINE__)
#else
#define MAPQ_FAULT_STEP(id) ((void)0)
#endif

#ifdef MAPQ_FAULT_INJECTION
/* Non-zero while any point is armed. hidden: the library's own, so each
 * point reads the flag directly rather than through the global offset
 * table. */
extern _Atomic int mapq__fault_armed __attribute__((visibility("hidden")));
int mapq__fault_hit(enum mapq__fault_id id) __attribute__((visibility("hidden")));
/* relaxed: a hint; arming happens before the armed code runs (same
 * thread, or a fork/exec that copies the state); process-local */
#define MAPQ_FAULT_ARMED() \
	__builtin_expect(atomic_load_explicit(&mapq__fault_armed, memory_order_relaxed), 0)
#define MAPQ_FAULT(id) (MAPQ_FAULT_STEP(id), MAPQ_FAULT_ARMED() ? mapq__fault_hit(MAPQ__F_##id) : 0)
/* A point that is no step of the protocol (os.h's calls): the simulator
 * does not schedule there, so its schedules stay as they were. */
#define MAPQ_FAULT_QUIET(id) (MAPQ_FAULT_ARMED() ? mapq__fault_hit(MAPQ__F_##id) : 0)
#else
#define MAPQ_FAULT_ARMED() 0
#define MAPQ_FAULT(id) (MAPQ_FAULT_STEP(id), 0)
#define MAPQ_FAULT_QUIET(id) 0
#endif

#endif /* MAPQ_FAULT_H */
