/* SPDX-License-Identifier: MIT */
/*
 * kernel.c - what the kernel would do for a simulated process: virtual
 * time, sleeps, futex wait queues, process ids, and the descriptors,
 * mappings and memory a process holds, released when it dies so that its
 * OFD locks drop exactly as a dead process's do.
 *
 * Futexes on a shared file mapping are keyed by the file offset, not the
 * address (each process maps the file at its own address), as the
 * kernel keys them by inode and offset.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "simulator.h"

static int active(void)
{
	return sim_w.cur != NULL;
}

static uint64_t now_ns(void)
{
	return sim_w.vt;
}

uint64_t sim_key_of(struct sim_proc *p, const void *addr)
{
	const uint8_t *a = addr;
	for (unsigned i = 0; i < p->nmaps; i++) {
		const uint8_t *m = p->maps[i].addr;
		if (p->maps[i].fd >= 0 && a >= m && a < m + p->maps[i].len)
			return (uint64_t)(a - m);
	}
	return UINT64_MAX; /* not in the queue file: private to the process */
}

/* Leave the CPU until the scheduler wakes us (state set by the caller). */
static void block(struct sim_proc *p)
{
	sim_ctx_switch(&p->ctx, &sim_w.main_ctx);
	sim_memory_drain(p); /* the system call's return: a full barrier */
}

static int futex_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t deadline)
{
	struct sim_proc *p = sim_w.cur;
	sim_memory_drain(p);
	/* The kernel's compare and the sleep are one step: nobody runs
	 * between them. relaxed: one process runs at a time. */
	if (atomic_load_explicit(word, memory_order_relaxed) != expect)
		return 0;
	p->key = sim_key_of(p, word);
	p->wake_at = deadline;
	p->woken = false;
	p->quiet_timer = false;
	p->state = P_WAIT;
	block(p);
	return p->woken ? 0 : -ETIMEDOUT;
}

static void futex_wake(_Atomic uint32_t *word)
{
	uint64_t key = sim_key_of(sim_w.cur, word);
	sim_memory_drain(sim_w.cur);
	if (sim_w.cfg->breakage == BREAK_WAKE)
		return; /* the self-test's lost wake-ups */
	for (unsigned i = 0; i < SIM_MAX_PROCS; i++) {
		struct sim_proc *p = &sim_w.procs[i];
		if (p->key != key || key == UINT64_MAX)
			continue;
		if (p->state == P_WAIT) {
			p->state = P_RUN;
			p->woken = true;
		} else if (p->state == P_RUN) {
			/* Woken by its timer, and looking again: a wake for it
			 * came all the same, so what it finds now is not a lost
			 * wake-up's (roles.c). Judged so, a reader whose poll
			 * timer ran out as a reattaching reader's sleep did
			 * failed for a message a writer freed by that reader
			 * committed, and woke it for, while it looked. */
			p->quiet_timer = false;
		}
	}
}

/*
 * membarrier(2), MEMBARRIER_CMD_GLOBAL_EXPEDITED: every process passes a
 * full barrier before the call returns. Here all of them at once, at the
 * caller's step: each buffered store reaches memory (tso, weak), and each
 * process's later loads see what memory holds now (c11). A process
 * waiting or sleeping is in a system call and has emptied its buffer
 * already; one not running yet has nothing to order.
 */
static void barrier_all(void)
{
	if (sim_w.cfg->breakage == BREAK_FENCE)
		return; /* the self-test: fences order nothing */
	for (unsigned i = 0; i < SIM_MAX_PROCS; i++) {
		struct sim_proc *p = &sim_w.procs[i];
		if (p->state >= P_RUN && p->state <= P_SLEEP)
			sim_memory_drain(p);
	}
}

static void sleep_ns(uint64_t ns)
{
	struct sim_proc *p = sim_w.cur;
	sim_memory_drain(p);
	p->wake_at = sim_w.vt + ns;
	p->state = P_SLEEP;
	block(p);
}

static uint32_t pid(void)
{
	return sim_w.cur->pid;
}

static void opened(int fd)
{
	struct sim_proc *p = sim_w.cur;
	if (p->nfds < SIM_MAX_FDS)
		p->fds[p->nfds++] = fd;
	else
		sim_fail("a simulated process holds more than %d descriptors", SIM_MAX_FDS);
}

static void closing(int fd)
{
	struct sim_proc *p = sim_w.cur;
	sim_memory_drain(p); /* close(): a system call */
	for (unsigned i = 0; i < p->nfds; i++)
		if (p->fds[i] == fd) {
			p->fds[i] = p->fds[--p->nfds];
			return;
		}
}

static void mapped(void *addr, size_t len, int fd)
{
	struct sim_proc *p = sim_w.cur;
	if (p->nmaps < SIM_MAX_MAPS) {
		p->maps[p->nmaps].addr = addr;
		p->maps[p->nmaps].len = len;
		p->maps[p->nmaps++].fd = fd;
	} else
		sim_fail("a simulated process holds more than %d mappings", SIM_MAX_MAPS);
}

/* Forget every mapping inside [addr, addr + len). */
static void forget_maps(struct sim_proc *p, const void *addr, size_t len)
{
	const uint8_t *lo = addr, *hi = lo + len;
	for (unsigned i = 0; i < p->nmaps;) {
		const uint8_t *m = p->maps[i].addr;
		if (m >= lo && m < hi)
			p->maps[i] = p->maps[--p->nmaps];
		else
			i++;
	}
}

static void unmapping(void *addr, size_t len)
{
	sim_memory_drain(sim_w.cur); /* its stores reach the file first */
	forget_maps(sim_w.cur, addr, len);
}

static void allocated(void *ptr)
{
	struct sim_proc *p = sim_w.cur;
	if (p->nallocs < SIM_MAX_ALLOCS)
		p->allocs[p->nallocs++] = ptr;
	else
		sim_fail("a simulated process holds more than %d allocations", SIM_MAX_ALLOCS);
}

static void freeing(void *ptr)
{
	struct sim_proc *p = sim_w.cur;
	for (unsigned i = 0; i < p->nallocs; i++)
		if (p->allocs[i] == ptr) {
			p->allocs[i] = p->allocs[--p->nallocs];
			return;
		}
}

static void random_bytes(void *buf, size_t len)
{
	uint8_t *b = buf;
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)sim_rand();
}

/* Space no record described, filled as unknown (repair.c):
 * what only a power cut can leave. Every reserved byte that no frame
 * covers has a record (format.md, "Writer slot"); a fill anywhere else
 * means a record went missing or a repairer did not find it, and the
 * frame waited out the unblock timeout. */
static void unknown_space(uint64_t pos)
{
	if (!sim_w.cfg->events[EV_POWER])
		sim_fail("space at %" PRIu64 " filled as unknown: no record describes it, and "
			 "no power cut took one: a dead writer's frame waited out the unblock "
			 "timeout",
			 pos);
}

void sim_kernel_install(void)
{
	mapq__sim.active = active;
	mapq__sim.now_ns = now_ns;
	mapq__sim.futex_wait = futex_wait;
	mapq__sim.futex_wake = futex_wake;
	/* offered, as Linux offers membarrier, unless the workload is of a
	 * platform without one */
	mapq__sim.barrier_all = sim_w.cfg->full_fences ? NULL : barrier_all;
	mapq__sim.sleep_ns = sleep_ns;
	mapq__sim.pid = pid;
	mapq__sim.opened = opened;
	mapq__sim.closing = closing;
	mapq__sim.mapped = mapped;
	mapq__sim.unmapping = unmapping;
	mapq__sim.allocated = allocated;
	mapq__sim.freeing = freeing;
	mapq__sim.random = random_bytes;
	mapq__sim.unknown = unknown_space;
}

void sim_kernel_release(struct sim_proc *p)
{
	/* a dead process's store buffer still empties: the CPU goes on */
	sim_memory_drain(p);
	/* closing the descriptors drops the process's OFD locks */
	for (unsigned i = 0; i < p->nfds; i++)
		close(p->fds[i]);
	p->nfds = 0;
	/* the anonymous reservations hold the file views inside them */
	for (unsigned i = 0; i < p->nmaps; i++)
		if (p->maps[i].fd < 0)
			munmap(p->maps[i].addr, p->maps[i].len);
	p->nmaps = 0;
	for (unsigned i = 0; i < p->nallocs; i++)
		free(p->allocs[i]);
	p->nallocs = 0;
}

bool sim_kernel_advance(void)
{
	uint64_t t = UINT64_MAX;
	for (unsigned i = 0; i < SIM_MAX_PROCS; i++) {
		const struct sim_proc *p = &sim_w.procs[i];
		if ((p->state == P_WAIT || p->state == P_SLEEP) && p->wake_at < t)
			t = p->wake_at;
		if (p->state == P_RUN && p->stall_until > sim_w.vt && p->stall_until < t)
			t = p->stall_until;
	}
	if (t == UINT64_MAX)
		return false;
	if (t > sim_w.vt)
		sim_w.vt = t;
	/* Nobody could run until this timer: a waiter it wakes that then
	 * finds what it waited for was never woken for it (roles.c). Unless
	 * another process wakes with it, which may be what makes it so. */
	unsigned woke = 0;
	for (unsigned i = 0; i < SIM_MAX_PROCS; i++) {
		const struct sim_proc *p = &sim_w.procs[i];
		woke += (p->state == P_WAIT || p->state == P_SLEEP) && p->wake_at <= sim_w.vt;
	}
	for (unsigned i = 0; i < SIM_MAX_PROCS; i++) {
		struct sim_proc *p = &sim_w.procs[i];
		if (p->state == P_WAIT && p->wake_at <= sim_w.vt) {
			p->state = P_RUN;
			p->woken = false;
			p->quiet_timer = woke == 1;
		} else if (p->state == P_SLEEP && p->wake_at <= sim_w.vt) {
			p->state = P_RUN;
		}
	}
	return true;
}
