/* SPDX-License-Identifier: MIT */
/*
 * ring_end: every frame placement at the ring's end. For every tail
 * offset on the 16-byte grid in the last 2 x (largest frame) bytes of a
 * small ring, each kind of reservation is made there: sends whose frame
 * fits exactly, leaves 16 or 32 bytes, or needs padding; zero-copy
 * reserve then commit or abort; mapq_sync()'s fill frame; a writer that
 * dies holding a claimed frame (repaired by the reader, or by the next
 * writer taking over its slot); a dead writer's reservation never claimed
 * (confirmed and tentative records); and a damaged record whose frame is
 * smaller than a header, which repair must refuse. After each, the
 * reader gets exactly the messages sent, the frames from head to tail
 * are whole and contiguous, and the superblock is unchanged. The queue is
 * mapped between guard pages, so a write past the ring ends the test
 * with SIGSEGV rather than corrupting memory next to it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define CAP 16384u
#define MAX_FRAME 2048u
#define MAX_LEN (MAX_FRAME - FRAME_HDR)
#define DEAD_SLOT 3 /* a writer slot nobody ever locks: its owner is dead */

static mapq *q;
static mapq_reader *r;
static uint8_t super[FMT_PAGE];
static uint64_t seq, cases;

static uint64_t tail(void)
{
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	return st.tail;
}

static void send_msg(mapq *h, uint64_t frame)
{
	static uint8_t buf[MAX_LEN];
	size_t len = (size_t)(frame - FRAME_HDR);
	memset(buf, 0, sizeof(buf));
	t_fill(buf, len, 1, seq); /* under 20 bytes: zeroes */
	CHECK_OK(mapq_send(h, buf, len, 1000));
}

/* The next message must be number @want, of frame size @frame. */
static void expect_msg(uint64_t frame, uint64_t want)
{
	static uint8_t buf[MAX_LEN];
	size_t len = (size_t)(frame - FRAME_HDR);
	ssize_t n = mapq_recv(r, buf, sizeof(buf), 2000);
	if (n != (ssize_t)len)
		t_fail(__FILE__, __LINE__, "case %llu: recv returned %zd (%s), want %zu",
		       (unsigned long long)cases, n, n < 0 ? mapq_err_name((int)n) : "a length",
		       len);
	uint32_t w;
	uint64_t s;
	if (len >= 20) {
		CHECK_OK(t_check_payload(buf, len, &w, &s));
		CHECK_EQ(s, want);
	}
}

static void roundtrip(uint64_t frame)
{
	send_msg(q, frame);
	expect_msg(frame, seq++);
}

/* Sends and reads fillers until tail's ring offset is @target. */
static void seek(uint64_t target)
{
	for (int n = 0; n < 64; n++) {
		uint64_t off = tail() & (CAP - 1);
		if (off == target)
			return;
		uint64_t d = (target - off) & (CAP - 1), size = d > MAX_FRAME ? MAX_FRAME : d;
		if (d - size == 16)
			size -= 32; /* never leave a gap smaller than a frame */
		if (d == 16)
			size = 48; /* cannot step 16: go round the ring */
		roundtrip(size);
	}
	t_fail(__FILE__, __LINE__, "could not bring tail to offset %llu",
	       (unsigned long long)target);
}

/* Everything from head to tail is whole frames, and the superblock is as
 * it was made. */
static void check_frames(void)
{
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	uint64_t p = st.head;
	while (p < st.tail) {
		mapq_frame_info f;
		CHECK_OK(mapq_frame(q, p, &f));
		bool ok = f.kind == MAPQ_FRAME_ABORTED || f.kind == MAPQ_FRAME_PADDING ||
			  (f.kind == MAPQ_FRAME_COMMITTED && f.crc_ok == 1);
		if (!ok || f.next <= p)
			t_fail(__FILE__, __LINE__,
			       "case %llu: frame at %llu (offset %llu) is of kind %d",
			       (unsigned long long)cases, (unsigned long long)p,
			       (unsigned long long)(p & (CAP - 1)), f.kind);
		p = f.next;
	}
	CHECK_EQ(p, st.tail);
	CHECK(memcmp(q->base, super, sizeof(super)) == 0);
}

static void zero_copy(uint64_t frame, bool commit)
{
	void *buf;
	size_t len = (size_t)(frame - FRAME_HDR);
	CHECK_OK(mapq_reserve(q, len, &buf, 1000));
	uint64_t off = (uint64_t)((uint8_t *)buf - q->ring);
	CHECK(off + len <= CAP); /* the payload never crosses the ring's end */
	memset(buf, 0, len);
	if (len >= 20)
		t_fill(buf, len, 1, seq);
	if (commit) {
		CHECK_OK(mapq_commit(q, len));
		expect_msg(frame, seq++);
	} else {
		CHECK_OK(mapq_abort(q));
		roundtrip(48); /* the reader skips the aborted frame */
	}
}

static void sync_fill(void)
{
	CHECK_OK(mapq_sync(q));
	CHECK_EQ(tail() % FMT_PAGE, 0); /* the next frame starts a page */
	roundtrip(64);
}

/* A writer process reserves @frame bytes and dies. The frame is then
 * repaired by the reader (@by_reader), or by a writer taking over the
 * dead one's slot. */
static void dead_claimed(uint64_t frame, bool by_reader)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		mapq *w;
		void *buf;
		if (mapq_open(&w, t_path("q"), 0, NULL) != 0 ||
		    mapq_reserve(w, (size_t)(frame - FRAME_HDR), &buf, 1000) != 0)
			t_exit(1);
		t_die();
	}
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
	if (by_reader) {
		roundtrip(64);
		return;
	}
	mapq *d;
	CHECK_OK(mapq_dup(q, &d));
	send_msg(d, 64); /* attaches: its slot is the dead writer's */
	mapq_close(d);
	expect_msg(64, seq++);
}

/* A reservation of @frame bytes (with padding if it needs it) by a dead
 * writer that never claimed it: its record, and tail moved past it. With
 * @damaged, the record says the frame part is 16 bytes. */
static void dead_hole(uint64_t frame, bool tentative, bool damaged)
{
	struct fmt_wslot *ws = &q->wslots[DEAD_SLOT];
	uint64_t t = tail(), pad = resv_pad(q, t, frame), size = pad + frame;
	atomic_store(&ws->resv_pos, t);
	atomic_store(&ws->resv_size,
		     (damaged ? pad + 16 : size) | (tentative ? RESV_TENTATIVE : 0));
	CHECK(atomic_compare_exchange_strong(&q->ctl->tail, &t, t + size));
	if (damaged) {
		static uint8_t before[CAP];
		memcpy(before, q->ring, CAP);
		/* as a writer taking over the slot would */
		CHECK_EQ(mapq__repair_record(q, DEAD_SLOT), REPAIR_NONE);
		CHECK(memcmp(before, q->ring, CAP) == 0);
		/* readers fill the space once they give up waiting */
		q->unblock_ns = 0;
	}
	roundtrip(64);
	q->unblock_ns = (int64_t)MAPQ__DEFAULT_UNBLOCK_MS * 1000000;
	atomic_store(&ws->resv_size, 0);
}

/* A store one byte past the ring (the end of the mapping) must fault. */
static void check_guard(void)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		((volatile uint8_t *)q->ring)[CAP] = 1;
		t_exit(0);
	}
	CHECK_EQ(t_wait_child(pid), 128 + SIGSEGV);
}

int main(void)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = CAP;
	o.max_msg = MAX_LEN;
	o.writer_slots = 4;
	CHECK_OK(mapq_open(&q, t_path("q"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	memcpy(super, q->base, sizeof(super));
	CHECK(q->abort_max >= FMT_PAGE + 2 * FRAME_HDR); /* mapq_sync fills */
	check_guard();

	/* Valgrind (T_SCALE=0.1) visits every 4th offset. */
	uint64_t step = FRAME_ALIGN * (t_scaled(10) < 10 ? 4 : 1);
	for (uint64_t o16 = CAP - 2 * q->abort_max; o16 < CAP; o16 += step) {
		uint64_t room = CAP - o16;
		uint64_t sizes[] = { FRAME_HDR, room - 32, room - 16, room, room + 16, MAX_FRAME };
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			if (sizes[i] < FRAME_HDR || sizes[i] > MAX_FRAME)
				continue;
			seek(o16), cases++;
			roundtrip(sizes[i]);
			check_frames();
		}
		uint64_t fit = room >= FRAME_HDR && room <= MAX_FRAME ? room : MAX_FRAME;
		seek(o16), cases++, zero_copy(fit, true), check_frames();
		seek(o16), cases++, zero_copy(fit, false), check_frames();
		seek(o16), cases++, sync_fill(), check_frames();
		seek(o16), cases++, dead_claimed(fit, true), check_frames();
		seek(o16), cases++, dead_claimed(fit, false), check_frames();
		seek(o16), cases++, dead_hole(fit, false, false), check_frames();
		seek(o16), cases++, dead_hole(fit, true, false), check_frames();
		seek(o16), cases++,
			dead_hole(room + 16 <= MAX_FRAME ? room + 16 : FRAME_HDR, false, false),
			check_frames();
		seek(o16), cases++, dead_hole(fit, false, true), check_frames();
	}
	printf("%llu cases at %llu ring offsets\n", (unsigned long long)cases,
	       (unsigned long long)(2 * q->abort_max / step));
	mapq_close(q);
	return 0;
}
