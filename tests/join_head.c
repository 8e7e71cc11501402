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
 * said -MAPQ_ELAPPED. A third case has the mover free every frame up to
 * tail: the joiner must find nothing until the writer's message.
 *
 * And a dead mover's intent, left in the file: the recovery of the next
 * open clears it, so a reader joining at the oldest frame then gets every
 * message still in the ring. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

enum {
	CAP = 4096,
	MARK_ID = 1, /* the payloads of the parent's messages */
	LATE_ID = 2  /* the stopped writer's */
};

struct join_case {
	const char *name;
	const char *point; /* where the writer stops */
	uint32_t len;      /* payload of every message; frames of len + 32 */
	uint64_t read;     /* messages the first reader takes: head may pass them */
	bool held;         /* the joiner finds a message before the writer goes on */
};

static void one(const struct join_case *k)
{
	const uint64_t frame = k->len + FRAME_HDR, nmsg = CAP / frame;
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = CAP;
	mapq *q;
	mapq_reader *r, *j;
	char out[2048], in[2048];
	const char *path = t_path(k->name);
	CHECK_OK(mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	for (uint64_t i = 0; i < nmsg; i++) {
		t_fill(out, k->len, MARK_ID, i);
		CHECK_OK(mapq_send(q, out, k->len, 0));
	}
	for (uint64_t i = 0; i < k->read; i++)
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), k->len);

	/* The writer: the ring is full, so it moves head over what the
	 * reader has read, and stops before the move. */
	pid_t w = fork();
	CHECK(w >= 0);
	if (w == 0) {
		alarm(30);
		mapq *cq;
		char spec[64];
		(void)snprintf(spec, sizeof(spec), "%s:1:stop", k->point);
		t_fill(out, k->len, LATE_ID, 0);
		if (mapq_open(&cq, path, 0, NULL) || mapq_fault_arm(spec))
			t_exit(1);
		t_exit(mapq_send(cq, out, k->len, 5000) ? 2 : 0);
	}
	CHECK(t_wait_stopped(w));
	CHECK_EQ(atomic_load(&q->ctl->head), 0); /* not moved yet */

	/* The joiner, at the oldest frame: it holds a message, or finds
	 * none past where the writer will move head. */
	CHECK_OK(mapq_reader_open(q, &j, NULL, MAPQ_START_OLDEST));
	mapq_msg m;
	int rc = mapq_read(j, &m, 0);
	if (rc == 0 && !k->held) {
		uint32_t id = 0;
		uint64_t seq = 0;
		(void)t_check_payload(m.data, m.len, &id, &seq);
		fprintf(stderr,
			"%s: the joiner started at message %llu of writer %u, below where the "
			"writer is moving head (%llu)\n",
			k->name, (unsigned long long)seq, id,
			(unsigned long long)atomic_load(&q->ctl->head_intent));
	}
	CHECK_RC(rc, k->held ? 0 : -EAGAIN);
	char held[2048];
	uint32_t id = 0;
	uint64_t first = nmsg;
	if (k->held) {
		CHECK_EQ(m.len, k->len);
		memcpy(held, m.data, k->len);
		CHECK_OK(t_check_payload(held, k->len, &id, &first));
		CHECK_EQ(id, MARK_ID);
	}

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
	if (k->held) {
		if (memcmp(held, m.data, k->len) != 0) {
			uint64_t seq = 0;
			(void)t_check_payload(m.data, k->len, &id, &seq);
			fprintf(stderr,
				"%s: the frame the joiner held (message %llu) was overwritten with "
				"writer %u's message %llu; head is at %llu\n",
				k->name, (unsigned long long)first, id, (unsigned long long)seq,
				(unsigned long long)atomic_load(&q->ctl->head));
			CHECK(!"the held frame stayed as it was");
		}
		CHECK_OK(mapq_release(j));
	}
	if (!sent) /* it waits for the joiner: our release lets it on */
		CHECK_EQ(t_wait_child(w), 0);

	/* Everything after the held message comes, in order, then the
	 * writer's. */
	uint32_t wid;
	uint64_t s;
	for (uint64_t i = first + 1; i < nmsg; i++) {
		CHECK_EQ(mapq_recv(j, in, sizeof(in), 2000), k->len);
		CHECK(t_check_payload(in, k->len, &wid, &s) == 0 && wid == MARK_ID && s == i);
	}
	CHECK_EQ(mapq_recv(j, in, sizeof(in), 2000), k->len);
	CHECK(t_check_payload(in, k->len, &wid, &s) == 0 && wid == LATE_ID && s == 0);
	if (sent)
		CHECK_EQ(t_wait_child(w), 0);
	if (k->held)
		printf("%-20s the joiner started at message %llu (head %llu), held it intact, "
		       "the writer %s\n",
		       k->name, (unsigned long long)first,
		       (unsigned long long)atomic_load(&q->ctl->head),
		       sent ? "sent past it" : "waited for it");
	else
		printf("%-20s the joiner started past every message head passed (head %llu)\n",
		       k->name, (unsigned long long)atomic_load(&q->ctl->head));
	mapq_reader_close(j);
	mapq_reader_close(r);
	mapq_close(q);
}

/* A head mover that died after saying its intent leaves it in the file.
 * It only ever makes a joiner start at frames every reader attached then
 * had read; but once nobody has the queue open, the next open recovers it
 * and clears the intent: a reader joining at the oldest frame then gets
 * every message still in the ring. */
static void stale_intent(void)
{
	enum {
		LEN = 96,
		N = 8
	};
	const char *path = t_path("stale-intent");
	mapq *q;
	mapq_reader *r;
	char out[LEN], in[200];
	CHECK_OK(mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, NULL));
	for (uint64_t i = 0; i < N; i++) {
		t_fill(out, LEN, MARK_ID, i);
		CHECK_OK(mapq_send(q, out, LEN, 0));
	}
	/* as a mover that died before its CAS leaves it: past head, on
	 * the grid, within tail */
	atomic_store(&q->ctl->head_intent, (uint64_t)(N / 2) * (LEN + FRAME_HDR));
	mapq_close(q);
	CHECK_OK(mapq_open(&q, path, 0, NULL));
	CHECK_EQ(atomic_load(&q->ctl->head_intent), 0);
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	uint32_t w;
	uint64_t s;
	for (uint64_t i = 0; i < N; i++) {
		CHECK_EQ(mapq_recv(r, in, sizeof(in), 0), LEN);
		CHECK(t_check_payload(in, LEN, &w, &s) == 0 && w == MARK_ID && s == i);
	}
	printf("%-20s recovery cleared a dead mover's intent: all %d messages read\n",
	       "stale intent", N);
	mapq_reader_close(r);
	mapq_close(q);
}

int main(int argc, char **argv)
{
	static const struct join_case cases[] = {
		/* the mover's second scan must see the joiner */
		{ "before-intent", "head.before_intent", 96, 8, true },
		/* the joiner must start where the mover will move head */
		{ "before-cas", "head.before_cas", 96, 8, true },
		/* ... which may be tail itself: two frames, both read */
		{ "intent-at-tail", "head.before_cas", 2016, 2, false },
	};
	if (argc < 2 || strcmp(argv[1], "stale-intent") == 0)
		stale_intent();
	if (!mapq_fault_enabled()) {
		printf("the rest needs --enable-fault-injection (a writer stops at a fault "
		       "point): not run\n");
		return 0;
	}
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (argc < 2 || strcmp(argv[1], cases[i].name) == 0)
			one(&cases[i]);
	return 0;
}
