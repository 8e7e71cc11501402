/*
 * wait.c - sleeping on shared words with futexes, and deadlines.
 *
 * The words live in a MAP_SHARED file mapping, so the futex calls never
 * use FUTEX_PRIVATE_FLAG: the kernel keys them by inode and offset, which
 * is what lets one process wake another.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

uint64_t mapq__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mapq__deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return UINT64_MAX;
	return mapq__now_ns() + (uint64_t)timeout_ms * 1000000ull;
}

/*
 * Sleep while *word == expect, until woken or @deadline (CLOCK_MONOTONIC
 * ns, UINT64_MAX for none). Returns 0 when the caller should look again
 * (woken, value changed, signal) and -ETIMEDOUT when the deadline passed.
 */
int mapq__futex_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t deadline)
{
	struct timespec ts, *tp = NULL;

	if (deadline != UINT64_MAX) {
		if (mapq__now_ns() >= deadline)
			return -ETIMEDOUT;
		ts.tv_sec = (time_t)(deadline / 1000000000ull);
		ts.tv_nsec = (long)(deadline % 1000000000ull);
		tp = &ts;
	}
	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
	 * wake-up that finds nothing to do costs no recomputation. */
	long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET, expect, tp, NULL,
			  FUTEX_BITSET_MATCH_ANY);
	if (rc < 0 && errno == ETIMEDOUT)
		return -ETIMEDOUT;
	return 0;
}

void mapq__futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/*
 * The waker's half of a Dekker pair. The caller has just published its
 * change with a seq_cst operation; this seq_cst load of the waiter count
 * cannot then miss a waiter whose seq_cst increment came first, and a
 * waiter that increments later will see the change when it re-checks.
 * So a wake-up costs a system call only when someone really sleeps.
 */
static void wake(_Atomic uint32_t *seq, _Atomic uint32_t *waiters)
{
	if (atomic_load_explicit(waiters, memory_order_seq_cst) == 0)
		return;
	/* relaxed: the futex syscall orders this change against the sleeper's
	 * compare; the bump only makes a sleeper that has not slept yet skip. */
	atomic_fetch_add_explicit(seq, 1, memory_order_relaxed);
	mapq__futex_wake(seq);
}

void mapq__wake_data(struct mapq *q)
{
	wake(&q->ctl->data_seq, &q->ctl->data_waiters);
}

void mapq__wake_space(struct mapq *q)
{
	wake(&q->ctl->space_seq, &q->ctl->space_waiters);
}
