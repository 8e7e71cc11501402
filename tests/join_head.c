/* SPDX-License-Identifier: MIT */
/* join_head: a reader joining at the oldest frame under MAPQ_BLOCK while a
 * writer is moving head, having looked at the readers before the joiner
 * was there. The writer stops at a fault point between its look and its
 * move; the joiner attaches and takes a message; the writer goes on and
 * sends into the space it freed. Whatever the joiner holds must stay as it
 * was until its release, which succeeds (mapq.h: under MAPQ_BLOCK the data
 * is unchanged until mapq_release()), and every message from there on
 * comes, in order.
 *
 * Two places to stop: before the mover says how far it will move head
 * (its second look at the readers must then see the joiner), and after
 * that, just before the CAS (the joiner must then start past where head
 * will be). Without either step the writer moved head past the frame the
 * joiner held and overwrote it with its own message, and the release
 * said -MAPQ_ELAPPED. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

enum {
	LEN = 96, /* a 128-byte frame */
	FRAME = 128,
	CAP = 4096,  /* 32 frames, no padding */
	READ = 8,    /* messages the first reader takes: head may pass them */
	MARK_ID = 1, /* the payloads of the parent's messages */
	LATE_ID = 2  /* the stopped writer's */
};

static void one(const char *point)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = CAP;
	mapq *q;
	mapq_reader *r, *j;
	char out[LEN], in[200];
	char name[64];
	(void)snprintf(name, sizeof(name), "q-%s", point);
	const char *path = t_path(name);
	CHECK_OK(mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (uint64_t i = 0; i < CAP / FRAME; i++) {
		t_fill(out, LEN, MARK_ID, i);
		CHECK_OK(mapq_send(q, out, LEN, 0));
	}
	for (uint64_t i = 0; i < READ; i++)
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), LEN);

	/* The writer: the ring is full, so it moves head over what the
	 * reader has read, and stops before the move. */
	pid_t w = fork();
	CHECK(w >= 0);
	if (w == 0) {
		alarm(30);
		mapq *cq;
		char spec[64];
		(void)snprintf(spec, sizeof(spec), "%s:1:stop", point);
		t_fill(out, LEN, LATE_ID, 0);
		if (mapq_open(&cq, path, 0, NULL) || mapq_fault_arm(spec))
			t_exit(1);
		t_exit(mapq_send(cq, out, LEN, 5000) ? 2 : 0);
	}
	CHECK(t_wait_stopped(w));
	CHECK_EQ(atomic_load(&q->ctl->head), 0); /* not moved yet */

	/* The joiner, at the oldest frame: it holds a message. */
	CHECK_OK(mapq_reader_open(q, &j, NULL, MAPQ_START_OLDEST));
	mapq_msg m;
	CHECK_OK(mapq_read(j, &m, 0));
	CHECK_EQ(m.len, LEN);
	char held[LEN];
	memcpy(held, m.data, LEN);
	uint32_t id;
	uint64_t first;
	CHECK_OK(t_check_payload(held, LEN, &id, &first));
	CHECK_EQ(id, MARK_ID);

	/* The writer goes on. Under MAPQ_BLOCK it either waits for the
	 * joiner or sends into space no reader holds: both end its send. */
	CHECK_EQ(kill(w, SIGCONT), 0);
	uint64_t t0 = t_now_ms();
	bool sent = false;
	while (!sent && t_now_ms() - t0 < 500) {
		mapq_slot_info si;
		CHECK_OK(mapq_writer_slot(q, 1, &si));
		sent = si.msgs == 1;
		if (!sent)
			usleep(1000);
	}
	if (memcmp(held, m.data, LEN) != 0) {
		uint64_t seq = 0;
		(void)t_check_payload(m.data, LEN, &id, &seq);
		fprintf(stderr,
			"%s: the frame the joiner held (message %llu) was overwritten with writer "
			"%u's message %llu; head is at %llu\n",
			point, (unsigned long long)first, id, (unsigned long long)seq,
			(unsigned long long)atomic_load(&q->ctl->head));
		CHECK(!"the held frame stayed as it was");
	}
	CHECK_OK(mapq_release(j));
	if (!sent) /* it waits for the joiner: our release lets it on */
		CHECK_EQ(t_wait_child(w), 0);

	/* Everything after the held message comes, in order, then the
	 * writer's. */
	uint32_t wid;
	uint64_t s;
	for (uint64_t i = first + 1; i < CAP / FRAME; i++) {
		CHECK_EQ(mapq_recv(j, in, sizeof(in), 2000), LEN);
		CHECK(t_check_payload(in, LEN, &wid, &s) == 0 && wid == MARK_ID && s == i);
	}
	CHECK_EQ(mapq_recv(j, in, sizeof(in), 2000), LEN);
	CHECK(t_check_payload(in, LEN, &wid, &s) == 0 && wid == LATE_ID && s == 0);
	if (sent)
		CHECK_EQ(t_wait_child(w), 0);
	printf("%-20s the joiner started at message %llu (head %llu), held it intact, the "
	       "writer %s\n",
	       point, (unsigned long long)first, (unsigned long long)atomic_load(&q->ctl->head),
	       sent ? "sent past it" : "waited for it");
	mapq_reader_close(j);
	mapq_reader_close(r);
	mapq_close(q);
}

int main(int argc, char **argv)
{
	if (!mapq_fault_enabled()) {
		printf("SKIP: needs --enable-fault-injection (the writer stops at a fault point)\n");
		return T_SKIP;
	}
	static const char *const points[] = { "head.before_intent", "head.before_cas" };
	for (unsigned i = 0; i < sizeof(points) / sizeof(points[0]); i++)
		if (argc < 2 || strcmp(argv[1], points[i]) == 0)
			one(points[i]);
	return 0;
}
