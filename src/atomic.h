/* SPDX-License-Identifier: MIT */
/*
 * atomic.h - every atomic access to the shared mapping goes through these.
 *
 * Each wrapper is one atomic step of the protocol (doc/format.md names
 * them). In a normal build they are exactly the C11 operations they name,
 * so the library compiles to the same code as if it called them itself.
 * In a simulation build (./configure --enable-sim) each first yields to
 * the simulator (sim.h), which decides who runs next, or that the calling
 * process dies here, and then reports the value read or written, for the
 * trace; with a store buffer (sim/memory.c) the simulator also decides
 * when a store reaches memory, within what its memory order allows.
 * Atomics on process-local memory (a mapping's reference count, the
 * fault-point flag) are not steps of the protocol and stay plain C11;
 * scripts/check-source.py rejects any other atomic_* call in src/.
 *
 * The memory order is always explicit, as in the C11 calls, and each call
 * site says why it is the weakest correct one.
 */
#ifndef MAPQ_ATOMIC_H
#define MAPQ_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>

#ifndef MAPQ_SIM

#define mapq__load(p, mo) atomic_load_explicit(p, mo)
#define mapq__store(p, v, mo) atomic_store_explicit(p, v, mo)
#define mapq__xchg(p, v, mo) atomic_exchange_explicit(p, v, mo)
#define mapq__fetch_add(p, v, mo) atomic_fetch_add_explicit(p, v, mo)
#define mapq__fetch_sub(p, v, mo) atomic_fetch_sub_explicit(p, v, mo)
#define mapq__cas(p, e, d, s, f) atomic_compare_exchange_strong_explicit(p, e, d, s, f)
#define mapq__cas_weak(p, e, d, s, f) atomic_compare_exchange_weak_explicit(p, e, d, s, f)
#define mapq__fence(mo) atomic_thread_fence(mo)
/* The light side of an asymmetric fence (os.h, mapq__os_light_fence):
 * nothing the CPU sees, only the compiler kept from moving accesses
 * across it. Its heavy side is a sleeper's mapq__os_barrier_all(). */
#define mapq__light_fence() atomic_signal_fence(memory_order_seq_cst)
/* A liveness lock taken, dropped (@unlock) or tested at byte @off (slots.c). */
#define mapq__lock_step(off, unlock) ((void)0)
/* Plain stores to the file's [p, p + n) follow, before the next step. */
#define mapq__plain_stores(p, n) ((void)0)
/* The file's [p, p + n) was read with plain loads; then our cursor passed
 * the frame whose reads began at p. */
#define mapq__plain_reads(p, n) ((void)(p), (void)(n))
#define mapq__reads_released(p) ((void)0)
/* Space at @pos that no record describes was filled. */
#define mapq__unknown_space(pos) ((void)(pos))

#else /* MAPQ_SIM */

#include "sim.h"

/* GNU statement expressions: a simulation build needs gcc or clang. */
#define MAPQ__SIM_STEP(op, p, arg) \
	mapq__sim_step(MAPQ_SIM_##op, (const void *)(p), (uint64_t)(arg), __FILE__, __LINE__)
/* A load sees the caller's own buffered store to the word, if any
 * (store forwarding); a store may wait in the caller's store buffer
 * (sim/memory.c, when the simulator models a memory weaker than
 * sequential consistency). */
#define mapq__load(p, mo)                                                           \
	({                                                                          \
		uint64_t f_;                                                        \
		MAPQ__SIM_STEP(LOAD, p, 0);                                         \
		int fw_ = mapq__sim_load((const void *)(p), sizeof(*(p)), &f_, mo); \
		__auto_type v_ = atomic_load_explicit(p, mo);                       \
		if (fw_)                                                            \
			v_ = (__typeof__(v_))f_;                                    \
		mapq__sim_value((uint64_t)v_);                                      \
		v_;                                                                 \
	})
#define mapq__store(p, v, mo)                                                      \
	do {                                                                       \
		__auto_type s_ = (v);                                              \
		MAPQ__SIM_STEP(STORE, p, s_);                                      \
		if (!mapq__sim_store((void *)(p), sizeof(*(p)), (uint64_t)s_, mo)) \
			atomic_store_explicit(p, s_, mo);                          \
	} while (0)
/* A read-modify-write: the simulator may buffer its store (mapq__sim_rmw
 * is told the old and the new value). */
#define MAPQ__SIM_RMW(OP, p, v, mo, new)                               \
	({                                                             \
		__auto_type s_ = (v);                                  \
		MAPQ__SIM_STEP(OP, p, s_);                             \
		mapq__sim_order((const void *)(p), mo);                \
		__auto_type v_ = MAPQ__SIM_C11_##OP(p, s_, mo);        \
		mapq__sim_rmw((void *)(p), sizeof(*(p)), (uint64_t)v_, \
			      (uint64_t)(__typeof__(v_))(new), mo);    \
		mapq__sim_value((uint64_t)v_);                         \
		v_;                                                    \
	})
#define MAPQ__SIM_C11_XCHG atomic_exchange_explicit
#define MAPQ__SIM_C11_ADD atomic_fetch_add_explicit
#define MAPQ__SIM_C11_SUB atomic_fetch_sub_explicit
#define mapq__xchg(p, v, mo) MAPQ__SIM_RMW(XCHG, p, v, mo, s_)
#define mapq__fetch_add(p, v, mo) MAPQ__SIM_RMW(ADD, p, v, mo, v_ + s_)
#define mapq__fetch_sub(p, v, mo) MAPQ__SIM_RMW(SUB, p, v, mo, v_ - s_)
/* A compare-exchange that succeeds read *e (left as it was) and stored d. */
#define mapq__cas_(strength, p, e, d, s, f)                                                      \
	({                                                                                       \
		__auto_type d_ = (d);                                                            \
		MAPQ__SIM_STEP(CAS, p, d_);                                                      \
		mapq__sim_order((const void *)(p), s);                                           \
		_Bool ok_ = atomic_compare_exchange_##strength##_explicit(p, e, d_, s, f);       \
		if (ok_)                                                                         \
			mapq__sim_rmw((void *)(p), sizeof(*(p)), (uint64_t) * (e), (uint64_t)d_, \
				      s);                                                        \
		else                                                                             \
			mapq__sim_failed((const void *)(p), sizeof(*(p)), (uint64_t) * (e), f);  \
		mapq__sim_value(ok_);                                                            \
		ok_;                                                                             \
	})
#define mapq__cas(p, e, d, s, f) mapq__cas_(strong, p, e, d, s, f)
#define mapq__cas_weak(p, e, d, s, f) mapq__cas_(weak, p, e, d, s, f)
#define mapq__fence(mo)                          \
	do {                                     \
		MAPQ__SIM_STEP(FENCE, NULL, mo); \
		mapq__sim_order(NULL, mo);       \
		atomic_thread_fence(mo);         \
	} while (0)
/* A step that orders nothing in the simulator's memory: the barrier it
 * stands for is made by a sleeper's mapq__os_barrier_all(), in every
 * process at once (sim/kernel.c). */
#define mapq__light_fence()                                        \
	do {                                                       \
		MAPQ__SIM_STEP(FENCE, NULL, memory_order_relaxed); \
		atomic_signal_fence(memory_order_seq_cst);         \
	} while (0)
#define mapq__lock_step(off, unlock)                                                      \
	mapq__sim_step((unlock) ? MAPQ_SIM_UNLOCK : MAPQ_SIM_LOCK, NULL, (uint64_t)(off), \
		       __FILE__, __LINE__)
/* Not a step: the simulator may hold the plain stores the caller makes
 * to [p, p + n) before its next step in its store buffer (sim.h). */
#define mapq__plain_stores(p, n) mapq__sim_plain((void *)(p), (n))
/* Not steps: the caller read [p, p + n) with plain loads (a frame it
 * holds); later its cursor passed the frame whose reads began at p
 * (sim.h, reads). */
#define mapq__plain_reads(p, n) mapq__sim_reads((p), (n))
#define mapq__reads_released(p) mapq__sim_released(p)
/* Not a step: space at @pos that no record describes was
 * filled (sim.h, unknown). */
#define mapq__unknown_space(pos) mapq__sim_unknown(pos)

#endif /* MAPQ_SIM */

#endif /* MAPQ_ATOMIC_H */
