/* SPDX-License-Identifier: MIT */
/*
 * sim.h - the door between the library and the deterministic simulator
 * (sim/, doc/simulation.md). Only a build configured with --enable-sim
 * has it.
 *
 * The simulator runs simulated processes as coroutines of one process
 * and sets these hooks. Every atomic step of the protocol (atomic.h), every
 * fault point (fault.h) and every liveness lock operation reports to
 * step() first, which may switch to another process or end the caller's
 * life there; the rest route what a process gets from its kernel (the
 * clock, sleeps, futexes, its file descriptors, mappings and memory)
 * through the simulator, so time is virtual and a dead process's
 * resources can be released as the kernel would. A hook left NULL, or any
 * call from outside a simulated process, does the real thing.
 */
#ifndef MAPQ_SIM_H
#define MAPQ_SIM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum mapq_sim_op {
	MAPQ_SIM_LOAD,
	MAPQ_SIM_STORE,
	MAPQ_SIM_XCHG,
	MAPQ_SIM_ADD,
	MAPQ_SIM_SUB,
	MAPQ_SIM_CAS,
	MAPQ_SIM_FENCE,
	MAPQ_SIM_FAULT,  /* arg: the fault point's id (fault.h) */
	MAPQ_SIM_LOCK,   /* an OFD lock taken or tested; arg: offset */
	MAPQ_SIM_UNLOCK, /* an OFD lock dropped; arg: offset */
	MAPQ_SIM_OPS
};

struct mapq__sim_hooks {
	/* Before each step. @addr is the shared word (NULL for fences and
	 * fault points); @arg the value stored, added or swapped in. */
	void (*step)(enum mapq_sim_op op, const void *addr, uint64_t arg, const char *file,
		     int line);
	/* After a step that reads: the value read, the old value, or 1/0
	 * for a compare-exchange that succeeded or failed. */
	void (*value)(uint64_t v);
	/* Non-zero while a simulated process runs: the hooks below apply. */
	int (*active)(void);
	uint64_t (*now_ns)(void);
	/* 0, or -ETIMEDOUT at @deadline (ns of now_ns(); UINT64_MAX: none) */
	int (*futex_wait)(_Atomic uint32_t *word, uint32_t expect, uint64_t deadline);
	void (*futex_wake)(_Atomic uint32_t *word);
	/* membarrier(2): a full barrier in every simulated process, now */
	void (*barrier_all)(void);
	void (*sleep_ns)(uint64_t ns);
	uint32_t (*pid)(void);
	/* What the simulated process holds, to release when it dies. */
	void (*opened)(int fd);
	void (*closing)(int fd);
	void (*mapped)(void *addr, size_t len, int fd); /* fd -1: anonymous */
	void (*unmapping)(void *addr, size_t len);
	void (*allocated)(void *p);
	void (*freeing)(void *p);
	/* Before msync() of [addr, addr + len): what it makes durable, for
	 * the simulator's image of the disk (a power cut keeps that). */
	void (*syncing)(const void *addr, size_t len);
	/* Used whenever set, inside a simulated process or not: a new
	 * queue's id, so that one seed gives one run. */
	void (*random)(void *buf, size_t len);
	/*
	 * The memory model (sim/memory.c), NULL for sequential consistency.
	 * Each is called after step(), when the operation runs; @size is the
	 * word's, @mo its memory_order.
	 * store: 1 when the store went into the caller's store buffer (the
	 *   simulator writes it to memory later), 0 to store it now.
	 * load: 1 when the caller's own buffer holds a newer value of the
	 *   word than memory (*v: that value), 0 to read memory.
	 * order: before a read-modify-write (addr set) or a fence (addr NULL):
	 *   whatever of the caller's buffer must reach memory first does.
	 * rmw: after a read-modify-write that stored @v over @old: the
	 *   simulator may put memory back as it was and buffer the store.
	 * failed: after a compare-exchange that failed, having read @seen
	 *   with its failure order @mo.
	 */
	int (*store)(void *addr, unsigned size, uint64_t v, int mo);
	int (*load)(const void *addr, unsigned size, uint64_t *v, int mo);
	void (*order)(const void *addr, int mo);
	void (*rmw)(void *addr, unsigned size, uint64_t old, uint64_t v, int mo);
	void (*failed)(const void *addr, unsigned size, uint64_t seen, int mo);
	/* plain: before plain (non-atomic) stores to [addr, addr + len) that
	 * the caller makes before its next step: the simulator may buffer
	 * them with its atomic stores (--plain-stores), so that another
	 * process sees them late, in any order the memory model allows. */
	void (*plain)(void *addr, size_t len);
	/* reads: the caller has just read [addr, addr + len) with plain
	 * loads, a frame it now holds. released: its cursor has passed a
	 * frame, whose reads (if it announced any) began at @addr: writers
	 * may now overwrite those bytes.
	 * --memory c11 checks that each plain store into bytes so released
	 * happens after their reads (sim/views.c): the load buffering no
	 * model here can show, judged as ThreadSanitizer would judge it,
	 * but across processes. */
	void (*reads)(const void *addr, size_t len);
	void (*released)(const void *addr);
	/* A repairer filled space at @pos that no record described when
	 * it looked (repair.c, fill_unknown): the last resort, for records
	 * a power cut or damage took. Anywhere else, a reserved byte went
	 * undescribed, or a record was not found that was there. (A look
	 * that is stale finds the space published by then, and fills
	 * nothing.) */
	void (*unknown)(uint64_t pos);
};

/* sim.c: all NULL until the simulator sets them */
extern struct mapq__sim_hooks mapq__sim;

static inline int mapq__sim_active(void)
{
	return mapq__sim.active && mapq__sim.active();
}

static inline void mapq__sim_step(enum mapq_sim_op op, const void *addr, uint64_t arg,
				  const char *file, int line)
{
	if (mapq__sim.step)
		mapq__sim.step(op, addr, arg, file, line);
}

static inline int mapq__sim_store(void *addr, unsigned size, uint64_t v, int mo)
{
	return mapq__sim.store && mapq__sim.store(addr, size, v, mo);
}

static inline int mapq__sim_load(const void *addr, unsigned size, uint64_t *v, int mo)
{
	return mapq__sim.load && mapq__sim.load(addr, size, v, mo);
}

static inline void mapq__sim_order(const void *addr, int mo)
{
	if (mapq__sim.order)
		mapq__sim.order(addr, mo);
}

static inline void mapq__sim_rmw(void *addr, unsigned size, uint64_t old, uint64_t v, int mo)
{
	if (mapq__sim.rmw)
		mapq__sim.rmw(addr, size, old, v, mo);
}

static inline void mapq__sim_failed(const void *addr, unsigned size, uint64_t seen, int mo)
{
	if (mapq__sim.failed)
		mapq__sim.failed(addr, size, seen, mo);
}

static inline void mapq__sim_plain(void *addr, size_t len)
{
	if (mapq__sim.plain)
		mapq__sim.plain(addr, len);
}

static inline void mapq__sim_reads(const void *addr, size_t len)
{
	if (mapq__sim.reads)
		mapq__sim.reads(addr, len);
}

static inline void mapq__sim_released(const void *addr)
{
	if (mapq__sim.released)
		mapq__sim.released(addr);
}

static inline void mapq__sim_unknown(uint64_t pos)
{
	if (mapq__sim.unknown)
		mapq__sim.unknown(pos);
}

static inline void mapq__sim_value(uint64_t v)
{
	if (mapq__sim.value)
		mapq__sim.value(v);
}

/* sim.c: name the shared word at offset @off of a queue file whose first
 * MAPQ_SIM_SB_BYTES bytes are @sb ("ctl.tail", "w1.resv_size",
 * "ring+0x1000.commit"), and the value @v stored in it or read from it
 * when the name alone does not say what it means (a commit word's state,
 * size and lap). For traces. */
#define MAPQ_SIM_SB_BYTES 128
void mapq__sim_name(const void *sb, uint64_t off, char *buf, size_t n);
void mapq__sim_value_name(const void *sb, uint64_t off, uint64_t v, char *buf, size_t n);

/* wait.c: make each pause of a spinning caller stand for @ps_per_relax
 * picoseconds, so a spin budget is a few steps of the simulation */
void mapq__sim_spin_scale(unsigned ps_per_relax);

#endif /* MAPQ_SIM_H */
