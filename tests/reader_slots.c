/* SPDX-License-Identifier: MIT */
/* reader_slots: what a reader slot says about the reader in it, when the
 * slot is used again. A reader that takes a slot another reader left
 * starts with none of its counts; a durable reader attached again from
 * the start (not resumed) has lost nothing yet; a slot an ephemeral
 * reader takes is not durable, whoever had it before; and a dropped
 * durable reader's slot is free and nameless (for other processes too);
 * a slot names the process that took it last; and a reader that takes a
 * dead reader's slot is told of no loss the dead one had. mapq_reader_slot()
 * shows each, as `mapq info' does. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

static mapq_slot_info slot(mapq *q, uint32_t i)
{
	mapq_slot_info si;
	CHECK_OK(mapq_reader_slot(q, i, &si));
	return si;
}

static void send_n(mapq *q, int n)
{
	char m[200] = "m";
	for (int i = 0; i < n; i++)
		CHECK_OK(mapq_send(q, m, sizeof(m), 0));
}

static void recv_n(mapq_reader *r, int n)
{
	char in[256];
	for (int i = 0; i < n; i++)
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), 200);
}

/* A child that opens queue @name and a reader, which must get slot 0. */
static pid_t child_takes_slot0(const char *name)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		mapq *cq;
		mapq_reader *cr;
		if (mapq_open(&cq, t_path(name), 0, NULL) ||
		    mapq_reader_open(cq, &cr, NULL, MAPQ_START_LATEST) ||
		    slot(cq, 0).pid != (uint32_t)getpid())
			t_exit(1);
		mapq_close(cq);
		t_exit(0);
	}
	return pid;
}

/* A child that opens queue @name and a reader, and dies attached. */
static void reader_dies(const char *name)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		mapq *cq;
		mapq_reader *cr;
		if (mapq_open(&cq, t_path(name), 0, NULL) ||
		    mapq_reader_open(cq, &cr, NULL, MAPQ_START_OLDEST))
			t_exit(1);
		t_die();
	}
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
}

/* A reader that takes the slot of a dead one is BUSY until it is ready:
 * writers lapping the ring meanwhile (overwrite) must not push the dead
 * reader's cursor and count the messages it lost into the new reader.
 * A child stops just before its slot turns ACTIVE (rslot.attach_active)
 * while we lap the ring; its first read must then be a message. */
static void attach_over_dead_reader(void)
{
	mapq *q = t_create("ow", 4096, MAPQ_OVERWRITE);
	reader_dies("ow"); /* slot 0: ACTIVE, its owner dead */
	CHECK_EQ(slot(q, 0).state, MAPQ_SLOT_DEAD);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		mapq *cq;
		mapq_reader *cr;
		char in[256];
		if (mapq_open(&cq, t_path("ow"), 0, NULL) ||
		    mapq_fault_arm("rslot.attach_active:1:stop") ||
		    mapq_reader_open(cq, &cr, NULL, MAPQ_START_OLDEST))
			t_exit(1);
		mapq_fault_disarm();
		if (slot(cq, 0).pid != (uint32_t)getpid())
			t_exit(3); /* the dead reader's slot is free to take */
		ssize_t n = mapq_recv(cr, in, sizeof(in), 0);
		if (n != 200 || mapq_reader_lost(cr) != 0) {
			fprintf(stderr, "child: first read %zd (%s), lost %llu\n", n,
				mapq_err_name((int)n), (unsigned long long)mapq_reader_lost(cr));
			t_exit(2);
		}
		mapq_close(cq);
		t_exit(0);
	}
	CHECK(t_wait_stopped(pid));
	send_n(q, 100); /* laps the ring about six times */
	CHECK(kill(pid, SIGCONT) == 0);
	CHECK_EQ(t_wait_child(pid), 0);
	mapq_close(q);
}

/* A dead reader's slot that a recovery freed is free for every process:
 * the recovery let go of the slot's lock (one slot, so there is no
 * other to take). */
static void freed_by_recovery(void)
{
	mapq *q;
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 4096;
	o.reader_slots = 1;
	CHECK_OK(mapq_open(&q, t_path("one"), MAPQ_CREATE | MAPQ_EXCL, &o));
	reader_dies("one");
	/* with a second handle open, the recovery is not exclusive (the
	 * live one: a dead reader's slot is freed all the same) */
	mapq *d;
	CHECK_OK(mapq_dup(q, &d));
	mapq_recovery rep;
	CHECK_OK(mapq_recover(q, &rep));
	CHECK_EQ(rep.exclusive, 0);
	CHECK_EQ(rep.readers_freed, 1);
	CHECK_EQ(t_wait_child(child_takes_slot0("one")), 0);
	mapq_close(d);
	mapq_close(q);
}

/* After an exclusive recovery, head movers scan the reader slots up to
 * just past the last one in use: a durable reader detached in the last
 * slot, below a free one, still holds writers back (block policy), and
 * a queue with no reader left has nothing to scan. */
static void hwm_after_recovery(void)
{
	mapq *q;
	mapq_reader *e, *d;
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 4096;
	o.reader_slots = 2;
	CHECK_OK(mapq_open(&q, t_path("hwm"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &e, NULL, MAPQ_START_LATEST)); /* slot 0 */
	CHECK_OK(mapq_reader_open(q, &d, "d", MAPQ_START_LATEST));  /* slot 1 */
	mapq_reader_close(e);
	mapq_reader_close(d);
	mapq_close(q);
	CHECK_OK(mapq_open(&q, t_path("hwm"), 0, NULL)); /* alone: recovers */
	CHECK_EQ(atomic_load(&q->ctl->reader_hwm), 2);
	char m[200] = "m";
	int sent = t_send_until_full(q, m, sizeof(m));
	CHECK(sent > 0 && sent < 4096 / 200);
	CHECK_OK(mapq_reader_open(q, &d, "d", MAPQ_START_RESUME));
	recv_n(d, sent);
	mapq_reader_close(d);
	CHECK_OK(mapq_reader_drop(q, "d"));
	mapq_close(q);
	CHECK_OK(mapq_open(&q, t_path("hwm"), 0, NULL));
	CHECK_EQ(atomic_load(&q->ctl->reader_hwm), 0);
	mapq_close(q);
}

int main(void)
{
	mapq *q = t_create("q", 4096, MAPQ_OVERWRITE);
	mapq_reader *r;

	/* A slot shows the pid of the process that took it last. */
	pid_t pid = child_takes_slot0("q");
	CHECK_EQ(t_wait_child(pid), 0);
	CHECK_EQ(slot(q, 0).pid, (uint32_t)pid);

	/* An ephemeral reader's counts go with it. */
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	send_n(q, 5);
	recv_n(r, 5);
	CHECK_EQ(slot(q, 0).delivered, 5);
	mapq_reader_close(r);
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	mapq_slot_info si = slot(q, 0);
	CHECK_EQ(si.state, MAPQ_SLOT_ALIVE);
	CHECK_EQ(si.pid, (uint32_t)getpid());
	CHECK_EQ(si.delivered, 0);
	CHECK_EQ(si.lost, 0);
	mapq_reader_close(r);

	/* A durable reader lapped while detached has lost messages it has
	 * not been told of; attached again from the oldest message, not
	 * resumed, it has lost none. */
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_LATEST));
	mapq_reader_close(r);
	send_n(q, 100); /* a 4 KiB ring holds about 17 */
	CHECK(slot(q, 0).lost > 0);
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_OLDEST));
	si = slot(q, 0);
	CHECK(si.durable && strcmp(si.name, "d") == 0);
	CHECK_EQ(si.lost, 0);
	recv_n(r, 1); /* a message, not -MAPQ_ELAPPED */
	CHECK_EQ(mapq_reader_lost(r), 0);
	mapq_reader_close(r);

	/* Dropped, the slot is free and holds no name; the ephemeral reader
	 * that takes it next is not durable, and on close frees it. */
	CHECK_OK(mapq_reader_drop(q, "d"));
	si = slot(q, 0);
	CHECK_EQ(si.state, MAPQ_SLOT_FREE);
	CHECK(!si.durable);
	/* ... free for another process too: the drop let go of its lock. */
	CHECK_EQ(t_wait_child(child_takes_slot0("q")), 0);
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	si = slot(q, 0);
	CHECK(si.state == MAPQ_SLOT_ALIVE && !si.durable && si.name[0] == '\0');
	mapq_reader_close(r);
	CHECK_EQ(slot(q, 0).state, MAPQ_SLOT_FREE);
	CHECK_RC(mapq_reader_drop(q, "d"), -ENOENT);

	mapq_close(q);
	freed_by_recovery();
	hwm_after_recovery();
	if (mapq_fault_enabled())
		attach_over_dead_reader();
	return 0;
}
