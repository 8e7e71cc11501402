/* SPDX-License-Identifier: MIT */
/* fault_api: arming fault points. Specs are parsed strictly; "error"
 * makes the step fail with MAPQ_EINJECTED and leaves the handle usable;
 * "stall" delays; "stop" stops the process; "kill" kills it; hits are
 * counted; MAPQ_FAULT in the environment arms a spec at load. Without
 * --enable-fault-injection, arming a valid spec says -ENOTSUP. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static const char *const bad_specs[] = {
	"",
	"commit.before_store",
	"commit.before_store:3",
	"nosuch.point:1:kill",
	"commit.before_store:0:kill",
	"commit.before_store:-1:kill",
	"commit.before_store:x:kill",
	"commit.before_store:1:explode",
	"commit.before_store:1:stall=",
	"commit.before_store:1:stall=-5",
	"commit.before_store:1:stall=9999999",
	"commit.before_store:1:kill,",
	",commit.before_store:1:kill",
	"commit.before_store:1:kill,commit.before_crc:2",
	NULL,
};

/* A child that sends one message on a handle of its own; 0 if it did. */
static int child_sends(void)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		mapq *cq;
		t_exit(mapq_open(&cq, t_path("slots"), 0, NULL) || mapq_send(cq, "c", 1, 0));
	}
	return t_wait_child(pid);
}

/* Taking a writer slot fails (wslot.attach_locked:error): the send says
 * so, and the slot is let go, free for the next writer, another
 * process's; a writer that closes frees its slot too. */
static void slot_attach_fails(void)
{
	mapq *q = t_create("slots", 1 << 16, MAPQ_BLOCK);
	mapq_slot_info si;
	CHECK_OK(mapq_fault_arm("wslot.attach_locked:1:error"));
	int rc = mapq_send(q, "x", 1, 0);
	mapq_fault_disarm();
	CHECK_RC(rc, -MAPQ_EINJECTED);
	CHECK_EQ(child_sends(), 0);
	CHECK_OK(mapq_writer_slot(q, 0, &si));
	CHECK_EQ(si.msgs, 1); /* the child's, in slot 0 */
	CHECK_OK(mapq_send(q, "y", 1, 0));
	mapq *other; /* open throughout: no recovery tidies up after us */
	CHECK_OK(mapq_open(&other, t_path("slots"), 0, NULL));
	mapq_close(q);
	CHECK_OK(mapq_writer_slot(other, 0, &si));
	CHECK_EQ(si.state, MAPQ_SLOT_FREE);
	CHECK_EQ(si.msgs, 2); /* and then ours */
	mapq_close(other);
}

/* Taking a reader slot fails after marking it attaching
 * (rslot.attach_busy:error): the open says so, and the slot is let go,
 * free for another process's reader while ours stays open. In a queue of
 * one reader slot a slot kept locked leaves the next reader none. */
static void reader_slot_attach_fails(void)
{
	mapq_options o;
	mapq *q;
	mapq_reader *r;
	mapq_options_init(&o);
	o.capacity = 4096;
	o.reader_slots = 1;
	CHECK_OK(mapq_open(&q, t_path("rslots"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_fault_arm("rslot.attach_busy:1:error"));
	int rc = mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST);
	mapq_fault_disarm();
	CHECK_RC(rc, -MAPQ_EINJECTED);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		mapq *cq;
		mapq_reader *cr;
		t_exit(mapq_open(&cq, t_path("rslots"), 0, NULL) ||
		       mapq_reader_open(cq, &cr, NULL, MAPQ_START_OLDEST));
	}
	CHECK_EQ(t_wait_child(pid), 0);
	/* and ours may take it again */
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	mapq_reader_close(r);
	mapq_close(q);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--child") == 0) {
		/* Re-executed with MAPQ_FAULT set: send until it fires. */
		mapq *q;
		if (mapq_open(&q, argv[2], 0, NULL))
			return 2;
		for (int i = 0; i < 10; i++)
			if (mapq_send(q, "abcdef", 6, 0))
				return 3;
		mapq_close(q);
		return 10; /* not armed */
	}
	unsigned n = 0;
	while (mapq_fault_point(n))
		n++;
	CHECK(n >= 30);
	CHECK(mapq_fault_point(n) == NULL);
	for (const char *const *s = bad_specs; *s; s++)
		CHECK_RC(mapq_fault_arm(*s), -EINVAL);
	CHECK_RC(mapq_fault_arm(NULL), -EINVAL);
	if (!mapq_fault_enabled()) {
		CHECK_RC(mapq_fault_arm("commit.before_store:1:kill"), -ENOTSUP);
		CHECK_EQ(mapq_fault_hits("commit.before_store"), 0);
		mapq_fault_disarm();
		printf("built without fault injection: arming refused, as documented\n");
		return 0;
	}

	mapq *q = t_create("q", 4096, MAPQ_BLOCK);
	mapq_reader *r;
	char buf[64];
	void *p;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));

	/* error: the step fails, nothing is left half done. */
	CHECK_OK(mapq_fault_arm("reserve.before_record:2:error"));
	CHECK_OK(mapq_send(q, "one", 3, 0));
	CHECK_RC(mapq_send(q, "two", 3, 0), -MAPQ_EINJECTED);
	CHECK_OK(mapq_send(q, "three", 5, 0));
	CHECK_EQ(mapq_fault_hits("reserve.before_record"), 3);
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 3);
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 5);
	CHECK_OK(mapq_fault_arm("reserve.before_cas:1:error"));
	CHECK_RC(mapq_send(q, "x", 1, 0), -MAPQ_EINJECTED);
	CHECK_OK(mapq_fault_arm("commit.before_crc:1:error,commit.before_store:1:error"));
	CHECK_OK(mapq_reserve(q, 10, &p, 0));
	memcpy(p, "0123456789", 10);
	CHECK_RC(mapq_commit(q, 10), -MAPQ_EINJECTED); /* reservation still open */
	CHECK_RC(mapq_commit(q, 10), -MAPQ_EINJECTED);
	CHECK_OK(mapq_commit(q, 10));
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 10);
	CHECK_OK(mapq_fault_arm("abort.before_store:1:error"));
	CHECK_OK(mapq_reserve(q, 10, &p, 0));
	CHECK_RC(mapq_abort(q), -MAPQ_EINJECTED);
	CHECK_OK(mapq_abort(q));
	CHECK_OK(mapq_fault_arm("copy.midway:1:error"));
	CHECK_RC(mapq_send(q, "halfway", 7, 0), -MAPQ_EINJECTED); /* aborted */
	CHECK_OK(mapq_fault_arm("read.before_advance:1:error"));
	CHECK_OK(mapq_send(q, "held", 4, 0));
	mapq_msg m;
	CHECK_OK(mapq_read(r, &m, 0));
	CHECK_RC(mapq_release(r), -MAPQ_EINJECTED);
	CHECK_OK(mapq_release(r));
	CHECK_RC(mapq_recv(r, buf, sizeof(buf), 0), -EAGAIN);

	/* stall: the step waits, then goes on. */
	CHECK_OK(mapq_fault_arm("commit.after_record:1:stall=40"));
	uint64_t t0 = t_now_ms();
	CHECK_OK(mapq_send(q, "slow", 4, 0));
	CHECK(t_now_ms() - t0 >= 39);
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 4);
	mapq_fault_disarm();
	CHECK_EQ(mapq_fault_hits("commit.after_record"), 0);

	/* stop and kill, in children. */
	pid_t pid = fork();
	if (pid == 0) {
		mapq *cq; /* its own handle: the parent's is not usable here */
		if (mapq_open(&cq, t_path("q"), 0, NULL) ||
		    mapq_fault_arm("commit.after_record:1:stop"))
			t_exit(2);
		t_exit(mapq_send(cq, "stopped", 7, 0) ? 3 : 0);
	}
	CHECK(t_wait_stopped(pid));
	CHECK(kill(pid, SIGCONT) == 0);
	CHECK_EQ(t_wait_child(pid), 0);
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 1000), 7);

	/* MAPQ_FAULT from the environment, through exec. */
	char *self = argv[0];
	for (int k = 0; k < 2; k++) {
		pid = fork();
		if (pid == 0) {
			setenv("MAPQ_FAULT", k ? "no.such:1:kill" : "copy.midway:3:kill", 1);
			if (k)
				CHECK(freopen("/dev/null", "w", stderr) != NULL);
			execl(self, self, "--child", t_path("q"), (char *)NULL);
			t_exit(T_ERROR);
		}
		CHECK_EQ(t_wait_child(pid), k ? 10 : 128 + SIGKILL);
	}
	mapq_close(q);
	slot_attach_fails();
	reader_slot_attach_fails();
	return 0;
}
