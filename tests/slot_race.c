/* SPDX-License-Identifier: MIT */
/* slot_race: a reader slot that changes hands between a new reader's
 * first look and its lock. mapq_reader_open() picks a slot that looks
 * free, takes its lock, and looks again under the lock: the library's
 * own code changes a slot's state only under the registry lock, which
 * the opener holds, so the two looks differ only when another process
 * wrote the mapping without it - a peer that does not follow the
 * protocol, or a bug in one. The opener must then leave that slot as it
 * found it: not take it, and not keep its lock (which would make the
 * slot look owned by a live process to everyone, for as long as the
 * handle is open).
 *
 * This program's own fcntl() plays the peer: when the library asks for a
 * slot's lock, it first marks that slot as a durable reader's, detached,
 * which no new reader may take. It stands in for the C library's for the
 * library code linked in, which is otherwise the code users get. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

static struct mapq *victim; /* the handle whose slot the peer takes */
static int target = -1;     /* the slot it takes, or -1 */
static unsigned taken;      /* times it did */

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (target >= 0 && victim && fd == victim->fd && cmd == F_OFD_SETLK) {
		const struct flock *fl = arg;
		if (fl->l_type == F_WRLCK &&
		    (uint64_t)fl->l_start == rslot_lock_off(victim, target)) {
			/* The peer's store, as a durable reader's detach makes it
			 * (seq_cst, as reader.c's), without the registry lock. */
			mapq__store(&victim->rslots[target].state, RSLOT_DETACHED,
				    memory_order_seq_cst);
			target = -1;
			taken++;
		}
	}
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

/* Whether another open file description holds slot i's lock: asked from a
 * description of our own, whose locks never conflict with the handle's. */
static bool slot_locked(const struct mapq *q, int other_fd, int i)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)rslot_lock_off(q, i),
		.l_len = 1,
	};
	CHECK_EQ(syscall(SYS_fcntl, other_fd, F_OFD_GETLK, &fl), 0);
	return fl.l_type != F_UNLCK;
}

int main(void)
{
	int fds = t_count_fds();
	mapq *q = t_create("q", 1 << 16, MAPQ_BLOCK);
	int other = open(t_path("q"), O_RDWR | O_CLOEXEC);
	CHECK(other >= 0);
	CHECK(q->nr >= 3);

	/* The peer takes slot 0 while the reader locks it: the reader goes
	 * on to slot 1, and slot 0 is left detached and unlocked. */
	victim = q;
	target = 0;
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	CHECK_EQ(taken, 1);
	CHECK_EQ(r->slot, 1);
	CHECK_EQ(mapq__load(&q->rslots[0].state, memory_order_relaxed), RSLOT_DETACHED);
	CHECK_EQ(mapq__load(&q->rslots[1].state, memory_order_relaxed), RSLOT_ACTIVE);
	CHECK(!slot_locked(q, other, 0));
	CHECK(slot_locked(q, other, 1));
	/* The reader works, and the next one skips slot 0 at its first look. */
	CHECK_OK(mapq_send(q, "after", 5, 0));
	char in[16];
	CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 5);
	mapq_reader *r2;
	CHECK_OK(mapq_reader_open(q, &r2, NULL, MAPQ_START_OLDEST));
	CHECK_EQ(r2->slot, 2);
	CHECK(!slot_locked(q, other, 0));
	mapq_reader_close(r2);

	/* The same at the last slot: the race lost there leaves no slot, and
	 * the error says so; nothing is left locked. */
	int last = (int)q->nr - 1;
	for (int i = 2; i < last; i++)
		mapq__store(&q->rslots[i].state, RSLOT_DETACHED, memory_order_relaxed);
	target = last;
	CHECK_RC(mapq_reader_open(q, &r2, NULL, MAPQ_START_OLDEST), -MAPQ_ENOSLOT);
	CHECK_EQ(taken, 2);
	CHECK(r2 == NULL);
	CHECK(!slot_locked(q, other, last));

	/* The peer's slots given back, every slot is there to take again. */
	for (int i = 0; i < (int)q->nr; i++)
		if (i != r->slot)
			mapq__store(&q->rslots[i].state, RSLOT_FREE, memory_order_relaxed);
	CHECK_OK(mapq_reader_open(q, &r2, NULL, MAPQ_START_OLDEST));
	CHECK_EQ(r2->slot, 0);
	mapq_reader_close(r2);
	mapq_reader_close(r);
	CHECK_EQ(close(other), 0);
	mapq_close(q);
	CHECK_EQ(t_count_fds(), fds);
	return 0;
}
