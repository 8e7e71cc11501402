/* SPDX-License-Identifier: MIT */
/* fault_kill: a process is killed (SIGKILL) at a named fault point of the
 * library, and the survivors must carry on: every message whose send
 * returned success reaches the reader that was attached throughout,
 * exactly once and in order; nothing torn is delivered; writers are not
 * blocked for good by a dead reader; a new writer attaches and works; a
 * recovery killed half way is completed by the next one.
 *
 * By default every fault point is killed once (each point must actually
 * be reached). `fault_kill --random N [--seed S]` kills N times at random
 * points and hits and prints the figures: kills, messages acknowledged
 * and lost, torn deliveries, and the time from a writer's death to the
 * blocked reader's next delivery (median and maximum).
 *
 * Needs ./configure --enable-fault-injection; skipped otherwise. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

enum scen {
	S_WRITER,
	S_OVERWRITE,
	S_ABORTS,
	S_SYNC,
	S_ATTACH,
	S_DETACH,
	S_READER,
	S_DURABLE,
	S_REPAIR,
	S_FORSAKE,
	S_RECOVER
};

enum {
	ID_VICTIM = 1,
	ID_OTHER = 2,
	ID_NEW = 3,
	ID_PING = 6,
	ID_END = 7
};

#define CAP 4096
#define VICTIM_MSGS 3000
#define OTHER_MSGS 3000

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static enum scen scenario(const char *p)
{
	static const struct {
		const char *prefix;
		enum scen s;
	} map[] = {
		{ "abort.", S_ABORTS },
		{ "head.after_push", S_OVERWRITE },
		{ "sync.", S_SYNC },
		{ "wslot.attach", S_ATTACH },
		{ "wslot.detach", S_DETACH },
		{ "read.", S_READER },
		{ "rslot.attach_busy", S_DURABLE },
		{ "rslot.", S_READER },
		{ "repair.before_mark", S_FORSAKE },
		{ "repair.", S_REPAIR },
		{ "recover.", S_RECOVER },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(p, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].s;
	return S_WRITER;
}

static void arm(const char *point, unsigned nth)
{
	char spec[96];
	snprintf(spec, sizeof(spec), "%s:%u:kill", point, nth);
	if (mapq_fault_arm(spec) != 0)
		t_exit(40);
}

static int send_seq(mapq *q, uint32_t id, uint64_t s, size_t len)
{
	char out[600];
	t_fill(out, len, id, s);
	/* Odd messages through mapq_reserve() and mapq_commit(): frames
	 * published late, each step of which a repairer can race; even ones
	 * through mapq_send(), published early (format.md, "Publish early") */
	return s & 1 ? t_send_late(q, out, len, 5000) : mapq_send(q, out, len, 5000);
}

static size_t size_of(uint64_t s)
{
	return 20 + (size_t)((s * 2654435761u) % 280);
}

/* Messages @s.. through one mapq_send_batch() (a reservation for those
 * whose frames fit in it together, each published as it is copied):
 * how many it sent, or an error. */
#define BATCH_N 3
static int send_batch(mapq *q, uint32_t id, uint64_t s)
{
	char out[BATCH_N][600];
	mapq_msg m[BATCH_N];
	for (unsigned i = 0; i < BATCH_N; i++) {
		/* small enough that some batches share a reservation */
		size_t len = size_of(s + i) / 2 + 10;
		t_fill(out[i], len, id, s + i);
		m[i] = (mapq_msg){ .data = out[i], .len = len };
	}
	return mapq_send_batch(q, m, BATCH_N, 5000);
}

/* A writer that acknowledges each message whose send returned 0. */
static int writer(const char *path, uint32_t id, uint64_t n, const char *point, unsigned nth,
		  enum scen sc, int ack)
{
	mapq *q;
	mapq_options o;
	mapq_options_init(&o);
	o.policy = sc == S_OVERWRITE ? MAPQ_OVERWRITE : MAPQ_BLOCK;
	/* Armed after the open (open-time recovery is not the point here),
	 * which the first send reaches. */
	if (mapq_open(&q, path, 0, &o))
		return 2;
	if (point)
		arm(point, nth);
	for (uint64_t s = 0; s < n;) {
		if (sc == S_ABORTS && s % 5 == 0) {
			void *p;
			if (mapq_reserve(q, 64, &p, 5000) || mapq_abort(q))
				return 3;
		}
		int rc = s % 8 == 4 && s + BATCH_N <= n ? send_batch(q, id, s)
							: send_seq(q, id, s, size_of(s));
		if (rc < 0) {
			fprintf(stderr, "writer %u: %s at %llu\n", id, mapq_strerror(rc),
				(unsigned long long)s);
			return 4;
		}
		for (uint64_t end = s + (rc ? (uint64_t)rc : 1); s < end; s++) {
			if (ack >= 0 && write(ack, &s, sizeof(s)) != sizeof(s))
				return 5;
			if (sc == S_SYNC && s % 50 == 49 && mapq_sync(q))
				return 6;
		}
	}
	mapq_close(q);         /* wslot.detach dies here */
	return point ? 10 : 0; /* 10: the armed point was never reached */
}

/* The reader attached throughout: checks everything, reports counts and
 * when it saw the ping (the first message sent after the death). */
struct report {
	uint64_t got[8];
	uint64_t ping_ns;
	uint64_t lapped;
};

static int read_all(mapq_reader *r, bool lossy, int out);

static int reader(const char *path, bool lossy, int ready, int out)
{
	mapq *q;
	mapq_reader *r;
	if (mapq_open(&q, path, 0, NULL) || mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST))
		return 2;
	if (write(ready, "r", 1) != 1)
		return 2;
	int rc = read_all(r, lossy, out);
	mapq_close(q); /* for Valgrind's leak check */
	return rc;
}

static int read_all(mapq_reader *r, bool lossy, int out)
{
	struct report rep = { { 0 }, 0, 0 };
	for (;;) {
		char in[600];
		uint32_t w;
		uint64_t s;
		ssize_t n = mapq_recv(r, in, sizeof(in), 10000);
		if (n == -MAPQ_ELAPPED && lossy) {
			rep.lapped++;
			continue;
		}
		if (n < 0) {
			fprintf(stderr, "reader: %s\n", mapq_strerror((int)n));
			return 3;
		}
		if (t_check_payload(in, (size_t)n, &w, &s) || w >= 8) {
			fprintf(stderr, "reader: torn payload (%zd bytes)\n", n);
			return 4;
		}
		if (w == ID_END)
			break;
		if (w == ID_PING && s == 1)
			rep.ping_ns = now_ns();
		if (s != rep.got[w] && !(lossy && s > rep.got[w])) {
			fprintf(stderr, "reader: writer %u seq %llu, want %llu\n", w,
				(unsigned long long)s, (unsigned long long)rep.got[w]);
			return 5;
		}
		rep.got[w] = s + 1;
		/* Lossy: fall behind now and then, so that writers lap us
		 * for certain (head.after_push), not only when the machine
		 * happens to make us slow. */
		if (lossy && s % 64 == 63)
			usleep(2000);
	}
	return write(out, &rep, sizeof(rep)) == sizeof(rep) ? 0 : 6;
}

/* A reader that is killed at the point (reader and durable scenarios). */
static int victim_reader(const char *path, const char *point, unsigned nth, bool durable)
{
	mapq *q;
	mapq_reader *r;
	if (mapq_open(&q, path, 0, NULL))
		return 2;
	arm(point, nth);
	for (int round = 0; round < 50; round++) {
		if (mapq_reader_open(q, &r, durable ? "victim" : NULL, MAPQ_START_OLDEST))
			return 3;
		for (int i = 0; i < 40; i++) {
			char in[600];
			ssize_t n = mapq_recv(r, in, sizeof(in), 20);
			if (n < 0 && n != -MAPQ_ELAPPED)
				break;
		}
		mapq_reader_close(r);
	}
	mapq_close(q);
	return 10;
}

struct stats {
	unsigned runs, kills, unreached;
	uint64_t acked, lost, torn, extra;
	double lat[4096];
	unsigned nlat;
};

static uint64_t drain_acks(int fd)
{
	uint64_t s, n = 0;
	while (read(fd, &s, sizeof(s)) == sizeof(s))
		n = s + 1;
	return n;
}

/*
 * One kill in a live queue; returns 0, or fails the test. @alone: a queue
 * with one writer slot (format.md, "Reserve alone"), whose only writer is
 * the victim: nobody else writes until it is dead, and then a new writer
 * takes its slot and sends everything after the death.
 */
static void live_case(const char *point, unsigned nth, struct stats *st, bool alone)
{
	enum scen sc = scenario(point);
	bool lossy = sc == S_OVERWRITE;
	const char *how = alone ? "alone " : "";
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = CAP;
	o.policy = lossy ? MAPQ_OVERWRITE : MAPQ_BLOCK;
	if (alone)
		o.writer_slots = 1;
	char name[64];
	snprintf(name, sizeof(name), "q%u", st->runs);
	const char *path = t_path(name);
	mapq *q;
	CHECK_OK(mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o));

	int ready[2], rep[2], ack[2];
	CHECK(pipe(ready) == 0 && pipe(rep) == 0);
	char c;
	pid_t rp = fork();
	if (rp == 0)
		t_exit(reader(path, lossy, ready[1], rep[1]));
	CHECK(read(ready[0], &c, 1) == 1);
	/* After the reader's fork: only the victim may hold its write end. */
	CHECK(pipe(ack) == 0);
	/* Our own writer slot, attached before anything dies. */
	if (!alone)
		CHECK_OK(send_seq(q, ID_PING, 0, 40));

	bool wvictim = sc != S_READER && sc != S_DURABLE;
	pid_t vp = fork();
	if (vp == 0) {
		close(ack[0]);
		if (wvictim)
			t_exit(writer(path, ID_VICTIM, VICTIM_MSGS, point, nth, sc, ack[1]));
		t_exit(victim_reader(path, point, nth, sc == S_DURABLE));
	}
	close(ack[1]);
	pid_t op = alone ? 0 : fork();
	if (op == 0 && !alone)
		t_exit(writer(path, ID_OTHER, OTHER_MSGS, NULL, 0,
			      sc == S_OVERWRITE ? sc : S_WRITER, -1));
	uint64_t acked = wvictim ? drain_acks(ack[0]) : 0;
	int vs = t_wait_child(vp);
	uint64_t death = now_ns();
	if (vs == 10) {
		st->unreached++;
	} else if (vs != 128 + SIGKILL) {
		t_fail(__FILE__, __LINE__, "%s%s:%u: victim exited with %d", how, point, nth, vs);
	} else {
		st->kills++;
	}
	if (sc == S_DURABLE) {
		/* A dead durable reader keeps holding writers back until it is
		 * resumed or dropped: resume it by name, then drop it. */
		mapq_reader *r;
		CHECK_OK(mapq_reader_open(q, &r, "victim", MAPQ_START_RESUME));
		mapq_reader_close(r);
		CHECK_OK(mapq_reader_drop(q, "victim"));
	}
	/* A new writer attaches (to the dead one's slot, if alone) and works;
	 * the ping is the first message after the death. */
	mapq *nq, *pinger = q;
	CHECK_OK(mapq_open(&nq, path, 0, NULL));
	if (alone) {
		pinger = nq;
		CHECK_OK(send_seq(nq, ID_PING, 0, 40));
	}
	CHECK_OK(send_seq(pinger, ID_PING, 1, 40));
	if (!alone)
		CHECK_EQ(t_wait_child(op), 0); /* not blocked for good by the dead */
	for (uint64_t s = 0; s < 300; s++)
		CHECK_OK(send_seq(nq, ID_NEW, s, size_of(s)));
	CHECK_OK(send_seq(pinger, ID_END, 0, 40));
	mapq_close(nq);
	struct report got;
	CHECK(read(rep[0], &got, sizeof(got)) == sizeof(got));
	int rs = t_wait_child(rp);
	if (rs)
		t_fail(__FILE__, __LINE__, "%s%s:%u: reader exited with %d", how, point, nth, rs);
	if (!lossy) {
		/* in flight at the death: one message, or a batch's */
		if (got.got[ID_VICTIM] < acked || got.got[ID_VICTIM] > acked + BATCH_N)
			t_fail(__FILE__, __LINE__, "%s%s:%u: victim acked %llu, delivered %llu",
			       how, point, nth, (unsigned long long)acked,
			       (unsigned long long)got.got[ID_VICTIM]);
		CHECK_EQ(got.got[ID_OTHER], alone ? 0 : OTHER_MSGS);
		CHECK_EQ(got.got[ID_NEW], 300);
		CHECK_EQ(got.got[ID_PING], 2);
		st->extra += got.got[ID_VICTIM] - acked;
	}
	st->acked += acked;
	if (got.ping_ns > death && vs != 10 && wvictim) {
		double ms = (double)(got.ping_ns - death) / 1e6;
		/* The bound: a dead writer is decided from its lock, well before
		 * the 1 s unblock timeout that applies to live writers. */
		if (ms >= 1000)
			t_fail(__FILE__, __LINE__,
			       "%s%s:%u: the reader waited %.0f ms after the death", how, point,
			       nth, ms);
		if (st->nlat < sizeof(st->lat) / sizeof(st->lat[0]))
			st->lat[st->nlat++] = ms;
	}
	mapq_close(q);
	unlink(path);
	close(ready[0]);
	close(ready[1]);
	close(rep[0]);
	close(rep[1]);
	close(ack[0]);
}

/* Is @point one of a writer alone's steps (live_case(), @alone)? The
 * confirmation is a step only writers among others have. */
static bool alone_has(const char *point)
{
	enum scen sc = scenario(point);
	return (sc == S_WRITER || sc == S_ABORTS || sc == S_SYNC || sc == S_ATTACH ||
		sc == S_DETACH) &&
	       strcmp(point, "reserve.after_confirm") != 0;
}

/* A writer dies leaving a frame to repair; a reader dies while repairing
 * it (repair.*), or the process recovering the closed queue dies
 * (recover.*); then the next reader or recovery must finish the job. */
static void repair_case(const char *point, unsigned nth, struct stats *st)
{
	enum scen sc = scenario(point);
	char name[64];
	snprintf(name, sizeof(name), "r%u", st->runs);
	const char *path = t_path(name);
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 65536;
	mapq *q;
	CHECK_OK(mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o));
	mapq_reader *keep;
	CHECK_OK(mapq_reader_open(q, &keep, "keep", MAPQ_START_OLDEST));
	/* Our writer slot first, so we never take over (and repair) the
	 * victim's: the repairing process under test must meet its frame. */
	CHECK_OK(send_seq(q, ID_OTHER, 0, size_of(0)));
	int ack[2];
	CHECK(pipe(ack) == 0);
	pid_t vp = fork();
	if (vp == 0) {
		close(ack[0]);
		t_exit(writer(path, ID_VICTIM, 100, "commit.before_store", 1 + nth % 50, S_WRITER,
			      ack[1]));
	}
	close(ack[1]);
	uint64_t acked = drain_acks(ack[0]);
	close(ack[0]);
	CHECK_EQ(t_wait_child(vp), 128 + SIGKILL);
	for (uint64_t s = 1; s < 20; s++)
		CHECK_OK(send_seq(q, ID_OTHER, s, size_of(s)));
	if (sc == S_RECOVER) {
		mapq_close(q); /* nobody has it open: the next open recovers */
		q = NULL;
	}
	pid_t kp = fork();
	if (kp == 0) {
		mapq *k;
		mapq_reader *r;
		arm(point, 1);
		if (mapq_open(&k, path, 0, NULL))
			t_exit(2);
		if (sc == S_REPAIR) {
			char in[600];
			if (mapq_reader_open(k, &r, NULL, MAPQ_START_OLDEST))
				t_exit(3);
			while (mapq_recv(r, in, sizeof(in), 3000) >= 0)
				;
		}
		t_exit(10);
	}
	int ks = t_wait_child(kp);
	if (ks != 128 + SIGKILL)
		t_fail(__FILE__, __LINE__, "%s: the repairing process exited with %d", point, ks);
	st->kills += 2;
	if (!q) {
		mapq_recovery rep;
		CHECK_OK(mapq_open(&q, path, 0, NULL)); /* recovers again */
		CHECK_OK(mapq_recover(q, &rep));
		CHECK_EQ(rep.exclusive, 1);
		CHECK_OK(mapq_reader_open(q, &keep, "keep", MAPQ_START_RESUME));
	}
	CHECK_OK(send_seq(q, ID_END, 0, 40));
	uint64_t got[8] = { 0 };
	for (;;) {
		char in[600];
		uint32_t w;
		uint64_t s;
		ssize_t n = mapq_recv(keep, in, sizeof(in), 5000);
		CHECK_RC(n < 0 ? n : 0, 0);
		CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
		CHECK(w < 8);
		if (w == ID_END)
			break;
		CHECK_EQ(s, got[w]);
		got[w] = s + 1;
	}
	if (got[ID_VICTIM] < acked || got[ID_VICTIM] > acked + 1)
		t_fail(__FILE__, __LINE__, "%s: victim acked %llu, delivered %llu", point,
		       (unsigned long long)acked, (unsigned long long)got[ID_VICTIM]);
	CHECK_EQ(got[ID_OTHER], 20);
	st->acked += acked;
	st->extra += got[ID_VICTIM] - acked;
	/* And the queue takes new messages. */
	CHECK_OK(send_seq(q, ID_NEW, 0, 50));
	mapq_close(q);
	unlink(path);
}

/* The hit to kill at by default: points passed once per handle or per
 * reader's life die at their first hit, the others a few hits in. */
static unsigned default_nth(const char *point)
{
	enum scen sc = scenario(point);
	return sc == S_ATTACH || sc == S_DETACH || sc == S_DURABLE ? 1 : 3;
}

/*
 * A reader dies as it forsakes a stalled writer (repair.before_mark:
 * it has decided to, and not yet marked the writer's record). The
 * writer, when its stall ends, is then not forsaken: its commit
 * succeeds, and every message is read, the stalled one too.
 */
static void forsake_case(const char *point, struct stats *st)
{
	const char *path = t_path("forsake");
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 65536;
	o.unblock_ms = 100;
	mapq *q;
	mapq_reader *r;
	CHECK_OK(mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	uint64_t tail0 = atomic_load(&q->ctl->tail);
	pid_t wp = fork();
	if (wp == 0) {
		mapq *w;
		if (mapq_open(&w, path, 0, NULL) || send_seq(w, ID_VICTIM, 0, size_of(0)))
			t_exit(2);
		/* stalls with its second frame reserved and filled, long past
		 * the readers' unblock timeout */
		if (mapq_fault_arm("commit.before_store:1:stall=800"))
			t_exit(3);
		int rc = send_seq(w, ID_VICTIM, 1, size_of(1));
		t_exit(rc == 0 ? 0 : rc == -MAPQ_ESTALLED ? 20 : 4);
	}
	/* Its second reservation made: tail past two frames. */
	uint64_t two = tail0 + frame_size(size_of(0)) + frame_size(size_of(1));
	uint64_t t0 = t_now_ms();
	while (atomic_load(&q->ctl->tail) < two && t_now_ms() - t0 < 10000)
		usleep(1000);
	CHECK(atomic_load(&q->ctl->tail) >= two);
	pid_t kp = fork();
	if (kp == 0) {
		mapq *k;
		mapq_reader *kr;
		char in[600];
		/* the unblock timeout is each handle's own */
		if (mapq_open(&k, path, 0, &o) || mapq_reader_open(k, &kr, NULL, MAPQ_START_OLDEST))
			t_exit(2);
		arm(point, 1);
		while (mapq_recv(kr, in, sizeof(in), 3000) >= 0)
			;
		t_exit(10);
	}
	int ks = t_wait_child(kp);
	if (ks != 128 + SIGKILL)
		t_fail(__FILE__, __LINE__, "%s: the forsaking reader exited with %d", point, ks);
	/* not forsaken after all: its commit went through */
	CHECK_EQ(t_wait_child(wp), 0);
	for (uint64_t s = 0; s < 2; s++) {
		char in[600];
		uint32_t id;
		uint64_t seq;
		ssize_t n = mapq_recv(r, in, sizeof(in), 5000);
		CHECK_EQ(n, (ssize_t)size_of(s));
		CHECK_OK(t_check_payload(in, (size_t)n, &id, &seq));
		CHECK_EQ(id, ID_VICTIM);
		CHECK_EQ(seq, s);
	}
	st->kills++;
	st->acked += 2;
	mapq_close(q);
	unlink(path);
}

static void one(const char *point, unsigned nth, struct stats *st)
{
	enum scen sc = scenario(point);
	if (sc == S_FORSAKE)
		forsake_case(point, st);
	else if (sc == S_REPAIR || sc == S_RECOVER)
		repair_case(point, nth, st);
	else
		live_case(point, nth, st, false);
	st->runs++;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (!mapq_fault_enabled())
		t_skip("built without --enable-fault-injection");
	static struct stats st;
	unsigned long random_runs = 0, seed = (unsigned long)time(NULL);
	const char *only = NULL;
	unsigned only_nth = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--random") == 0 && i + 1 < argc)
			random_runs = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--nth") == 0 && i + 1 < argc)
			only_nth = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (argv[i][0] != '-')
			only = argv[i];
		else {
			fprintf(stderr,
				"usage: fault_kill [--random N [--seed S]] [POINT [--nth N]]\n");
			return T_ERROR;
		}
	}
	/* The protocol's points; the calls to the system (os.*, listed
	 * last) are tests/os_failures', unless named. */
	unsigned npoints = 0, nproto = 0;
	while (mapq_fault_point(npoints))
		npoints++;
	while (nproto < npoints && strncmp(mapq_fault_point(nproto), "os.", 3) != 0)
		nproto++;
	if (random_runs) {
		printf("seed %lu\n", seed);
		srandom((unsigned)seed);
		for (unsigned long i = 0; i < random_runs; i++) {
			const char *p = mapq_fault_point((unsigned)random() % nproto);
			if (getenv("T_VERBOSE"))
				fprintf(stderr, "run %lu: %s\n", i, p);
			unsigned nth = default_nth(p) == 1 ? 1 : 1 + (unsigned)random() % 200;
			one(p, nth, &st);
			if ((i + 1) % 50 == 0)
				fprintf(stderr, "%lu/%lu runs, %u kills\n", i + 1, random_runs,
					st.kills);
		}
	} else {
		for (unsigned i = 0; i < npoints; i++) {
			const char *p = mapq_fault_point(i);
			if (only && strcmp(only, p) != 0)
				continue;
			if (!only && i >= nproto)
				break;
			unsigned before = st.unreached, nth = only_nth ? only_nth : default_nth(p);
			one(p, nth, &st);
			if (st.unreached != before)
				t_fail(__FILE__, __LINE__, "fault point %s was never reached", p);
			printf("%-24s killed; survivors verified\n", p);
			if (!alone_has(p))
				continue;
			live_case(p, nth, &st, true);
			st.runs++;
			if (st.unreached != before)
				t_fail(__FILE__, __LINE__,
				       "fault point %s was never reached by a writer alone", p);
			printf("%-24s killed in a writer alone; survivors verified\n", p);
		}
	}
	qsort(st.lat, st.nlat, sizeof(st.lat[0]), cmp_d);
	printf("runs %u, kills %u (points not reached: %u), messages acknowledged %llu, "
	       "lost after acknowledgement 0, torn 0, in-flight messages delivered %llu\n",
	       st.runs, st.kills, st.unreached, (unsigned long long)st.acked,
	       (unsigned long long)st.extra);
	if (st.nlat)
		printf("writer death to the reader's next delivery: median %.2f ms, max %.2f ms "
		       "(%u samples)\n",
		       st.lat[st.nlat / 2], st.lat[st.nlat - 1], st.nlat);
	return 0;
}
