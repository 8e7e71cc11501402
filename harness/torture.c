/* SPDX-License-Identifier: MIT */
/*
 * torture.c - mapq-torture: N writer and M reader processes over one
 * queue file, killed, stopped and restarted on a seeded schedule, then a
 * verdict on what was delivered (doc/harness.md).
 *
 * Children are this program exec'ed in a role (--role writer|reader), so
 * each is a real process with its own mapping. The same seed gives the
 * same schedule of faults (which process, at which tick, at which fault
 * point and hit); process timing, and so what each fault interrupts,
 * still differs from run to run.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapq.h"
#include "system.h"
#include "torture.h"

#define TICK_MS 5

static const char usage[] =
	"usage: mapq-torture [options]\n"
	"Runs writer and reader processes over one queue, with faults, and checks\n"
	"that nothing was corrupted, duplicated, reordered or lost.\n\n"
	"  -w, --writers N        writer processes (4; at most 64)\n"
	"  -r, --readers N        reader processes (3; at most 32)\n"
	"  -d, --duration SEC     run time (20 unless --messages is given)\n"
	"  -n, --messages N       stop once N messages per writer are acknowledged\n"
	"      --min-size B       smallest message (24)\n"
	"      --max-size B       largest message (512)\n"
	"      --capacity B       ring bytes, a power of two (65536)\n"
	"      --policy P         block (default) or overwrite\n"
	"      --durable          durable readers (restarts resume from the cursor)\n"
	"      --alone            with -w 1: a queue of one writer slot, whose writer\n"
	"                         is alone (doc/format.md, \"Reserve alone\")\n"
	"      --dir DIR          where the run directory goes (/dev/shm; Windows: %TEMP%)\n"
	"      --seed N           fault schedule seed (default: from the clock)\n"
	"      --json PATH        write the verdict as JSON\n"
	"      --kill-rate R      SIGKILL (Windows: TerminateProcess) about R processes\n"
	"                         per second, then restart them\n"
	"      --kill WHO         writers, readers or both (both)\n"
	"      --fault-points L   writers die at these fault points in turn: a comma list,\n"
	"                         or 'all' (needs --enable-fault-injection)\n"
	"      --pause-rate R     SIGSTOP (Windows: NtSuspendProcess) about R writers per\n"
	"                         second for 20-300 ms\n"
	"      --unblock-ms MS    readers' unblock timeout (1000)\n"
	"      --break MODE       self-test: flip, skip, dup or reorder one message;\n"
	"                         the verdict must fail\n"
	"      --hostile RATE     a hostile peer scribbles into the mapping about RATE\n"
	"                         times a second; the data is then not judged, only\n"
	"                         crashes, calls past their timeout, and a fresh open\n"
	"      --keep             keep the run directory\n"
	"  -q, --quiet            no progress line\n"
	"  -h, --help             this text\n"
	"Exit status: 0 clean verdict, 1 failed verdict, 2 bad usage or setup.\n";

struct child {
	tt_proc pid;
	bool writer, paused, hostile;
	uint32_t id;
	uint64_t resume_at;
};

static struct {
	struct tt_role_args a;
	struct tt_run run;
	const char *dir, *json, *kill_who;
	uint64_t messages;
	bool keep, quiet;
	char rundir[PATH_MAX], queue[PATH_MAX + 16], state[PATH_MAX + 16], self[PATH_MAX];
	const char *points[64];
	unsigned npoints, next_point;
	struct child kids[TT_MAX_WRITERS + TT_MAX_READERS];
	unsigned nkids;
	uint64_t rng;
} g;

static uint64_t rnd(void)
{
	g.rng ^= g.rng << 13;
	g.rng ^= g.rng >> 7;
	g.rng ^= g.rng << 17;
	return g.rng;
}

static double rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mapq-torture: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static uint64_t num(const char *s, const char *what, uint64_t lo, uint64_t hi)
{
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	if (!*s || *e || errno || *s == '-' || v < lo || v > hi) {
		fprintf(stderr, "mapq-torture: %s must be a number from %llu to %llu, not '%s'\n",
			what, (unsigned long long)lo, (unsigned long long)hi, s);
		exit(2);
	}
	return v;
}

static double real(const char *s, const char *what)
{
	char *e;
	double v = strtod(s, &e);
	if (!*s || *e || v < 0 || v > 1e6)
		die("%s must be a non-negative number", what);
	return v;
}

/* Start a child in a role; its argv carries everything it needs. */
static tt_proc spawn(const char *role, uint32_t id, uint32_t inc_or_epoch, const char *ready,
		     const char *fault)
{
	char a[16][32];
	snprintf(a[0], 32, "%u", id);
	snprintf(a[1], 32, "%u", inc_or_epoch);
	snprintf(a[2], 32, "%u", g.run.writers);
	snprintf(a[3], 32, "%u", g.run.readers);
	snprintf(a[4], 32, "%u", g.run.min_size);
	snprintf(a[5], 32, "%u", g.run.max_size);
	snprintf(a[6], 32, "%llu", (unsigned long long)g.run.seed);
	snprintf(a[8], 32, "%d", g.a.brk);
	snprintf(a[9], 32, "%u", g.run.unblock_ms);
	snprintf(a[10], 32, "%.6g", g.run.hostile);
	const char *argv[] = { g.self,
			       "--role",
			       role,
			       "--hostile",
			       a[10],
			       "--queue",
			       g.queue,
			       "--state",
			       g.state,
			       "--id",
			       a[0],
			       "--inc",
			       a[1],
			       "--nw",
			       a[2],
			       "--nr",
			       a[3],
			       "--min-size",
			       a[4],
			       "--max-size",
			       a[5],
			       "--seed",
			       a[6],
			       "--ready",
			       ready ? ready : "-",
			       "--break-code",
			       a[8],
			       "--unblock-ms",
			       a[9],
			       g.run.durable ? "--durable" : NULL,
			       NULL };
	tt_proc p = tt_spawn(g.self, argv, fault);
	if (!p)
		die("cannot start a %s: %s", role, strerror(errno));
	return p;
}

static struct child *add_kid(tt_proc pid, bool writer, uint32_t id)
{
	for (unsigned i = 0; i < g.nkids; i++)
		if (!g.kids[i].pid) {
			g.kids[i] = (struct child){ pid, writer, false, false, id, 0 };
			return &g.kids[i];
		}
	g.kids[g.nkids] = (struct child){ pid, writer, false, false, id, 0 };
	return &g.kids[g.nkids++];
}

static bool start_writer(uint32_t id)
{
	uint32_t inc = g.run.incarnations[id];
	if (inc >= TT_MAX_INC)
		return false; /* enough lives for one run */
	char spec[96], *fault = NULL;
	if (g.npoints) {
		snprintf(spec, sizeof(spec), "%s:%llu:kill", g.points[g.next_point++ % g.npoints],
			 (unsigned long long)(1 + rnd() % 300));
		fault = spec;
	}
	g.run.incarnations[id] = inc + 1;
	add_kid(spawn("writer", id, inc, NULL, fault), true, id);
	return true;
}

static void start_reader(uint32_t id)
{
	struct tt_ready rd;
	int err = tt_ready_open(&rd);
	if (err)
		die("cannot make a reader's ready signal: %s", strerror(-err));
	tt_proc pid = spawn("reader", id, g.run.reader_restarts[id], rd.token, NULL);
	tt_ready_started(&rd);
	if (!tt_ready_wait(&rd, 10000))
		die("reader %u did not start within 10 s", id);
	add_kid(pid, false, id);
}

static void fail(const char *what, uint32_t id, const struct tt_exit *e)
{
	char how[64];
	if (!g.run.failure[0])
		snprintf(g.run.failure, sizeof(g.run.failure), "%s %u %s", what, id,
			 tt_exit_text(e, how, sizeof(how)));
}

/* Children that ended on their own: fault-point deaths are restarted. */
static void reap(bool stopping)
{
	struct tt_exit e;
	for (unsigned i = 0; i < g.nkids; i++) {
		struct child *k = &g.kids[i];
		if (!k->pid || !tt_ended(k->pid, &e))
			continue;
		k->pid = 0;
		if (g.run.hostile > 0 && e.killed && !(k->writer && e.sigkill && g.npoints))
			g.run.crashes++; /* a signal nobody sent it: SIGSEGV, SIGBUS, ... */
		if (k->writer && e.sigkill && g.npoints) {
			g.run.fault_kills++;
			if (!stopping)
				start_writer(k->id);
		} else if (!(k->writer && stopping && !e.killed && !e.code)) {
			fail(k->hostile  ? "hostile peer"
			     : k->writer ? "writer"
					 : "reader",
			     k->id, &e);
		}
	}
}

/* SIGKILL one live child chosen by the schedule, and restart it. */
static void kill_one(void)
{
	struct child *pick[TT_MAX_WRITERS + TT_MAX_READERS];
	unsigned n = 0;
	bool w = strcmp(g.kill_who, "readers") != 0, r = strcmp(g.kill_who, "writers") != 0;
	for (unsigned i = 0; i < g.nkids; i++)
		if (g.kids[i].pid && !g.kids[i].paused && !g.kids[i].hostile &&
		    (g.kids[i].writer ? w : r))
			pick[n++] = &g.kids[i];
	if (!n)
		return;
	struct child *k = pick[rnd() % n];
	tt_kill(k->pid);
	k->pid = 0;
	if (k->writer) {
		g.run.writer_kills++;
		start_writer(k->id);
	} else {
		g.run.reader_kills++;
		g.run.reader_restarts[k->id]++;
		start_reader(k->id);
	}
}

static void pause_one(uint64_t now)
{
	struct child *pick[TT_MAX_WRITERS];
	unsigned n = 0;
	for (unsigned i = 0; i < g.nkids; i++)
		if (g.kids[i].pid && g.kids[i].writer && !g.kids[i].paused)
			pick[n++] = &g.kids[i];
	if (!n)
		return;
	struct child *k = pick[rnd() % n];
	if (tt_stop(k->pid)) {
		k->paused = true;
		k->resume_at = now + (20 + rnd() % 281) * 1000000ull;
		g.run.pauses++;
	}
}

static void resume(uint64_t now, bool all)
{
	for (unsigned i = 0; i < g.nkids; i++)
		if (g.kids[i].pid && g.kids[i].paused && (all || now >= g.kids[i].resume_at)) {
			tt_cont(g.kids[i].pid);
			g.kids[i].paused = false;
		}
}

static uint64_t acked_total(const struct tt_state *st)
{
	uint64_t n = 0;
	for (uint32_t w = 0; w < g.run.writers; w++)
		for (uint32_t i = 0; i < g.run.incarnations[w]; i++)
			n += atomic_load_explicit(&st->acks[(size_t)w * TT_MAX_INC + i],
						  memory_order_relaxed);
	return n;
}

/* Wait for the children of one kind; kill the ones that overstay. */
static void wait_kids(bool writers, int timeout_ms, const char *what)
{
	uint64_t end = tt_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		bool left = false;
		for (unsigned i = 0; i < g.nkids; i++) {
			struct child *k = &g.kids[i];
			if (!k->pid || k->writer != writers)
				continue;
			struct tt_exit e;
			if (tt_ended(k->pid, &e)) {
				k->pid = 0;
				if (g.run.hostile > 0 && e.killed)
					g.run.crashes++;
				if (e.killed || e.code)
					fail(k->hostile ? "hostile peer"
					     : writers  ? "writer"
							: "reader",
					     k->id, &e);
			} else {
				left = true;
			}
		}
		if (!left)
			return;
		if (tt_now_ns() > end) {
			for (unsigned i = 0; i < g.nkids; i++)
				if (g.kids[i].pid && g.kids[i].writer == writers) {
					tt_kill(g.kids[i].pid);
					if (!g.run.failure[0])
						snprintf(g.run.failure, sizeof(g.run.failure),
							 "%s %u %s", writers ? "writer" : "reader",
							 g.kids[i].id, what);
					g.kids[i].pid = 0;
				}
			return;
		}
		tt_sleep_ns(2000000);
	}
}

static void send_end(void)
{
	mapq *q;
	uint8_t buf[64];
	if (mapq_open(&q, g.queue, 0, NULL))
		return;
	tt_fill(buf, sizeof(buf), TT_END_WRITER, 0, 0);
	int rc = mapq_send(q, buf, sizeof(buf), 20000);
	mapq_counters c;
	if (mapq_stats(q, &c) == 0)
		g.run.repaired = c.repaired;
	if (rc && !g.run.failure[0])
		snprintf(g.run.failure, sizeof(g.run.failure), "could not send the end marker: %s",
			 mapq_strerror(rc));
	mapq_close(q);
}

/*
 * After a hostile run, with every child gone: open the queue as the next
 * user would (the open recovers it), then send and receive one message.
 * The open may fail, with a code the library names; it must not crash.
 */
static void final_open(void)
{
	mapq *q;
	mapq_recovery rep;
	char *out = g.run.final_report;
	size_t n = sizeof(g.run.final_report);
	g.run.final_open = mapq_open(&q, g.queue, MAPQ_NORECOVER, NULL);
	if (!g.run.final_open)
		g.run.final_open = mapq_recover(q, &rep);
	if (g.run.final_open) {
		snprintf(out, n, "%s", mapq_strerror(g.run.final_open));
		return;
	}
	mapq_reader *r;
	char buf[64];
	int rc = mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST);
	if (!rc)
		rc = mapq_send(q, "after", 5, 1000);
	ssize_t got = rc ? rc : mapq_recv(r, buf, sizeof(buf), 1000);
	snprintf(out, n, "recovered (%llu frames checked, log cut at %llu: %s); one message %s%s",
		 (unsigned long long)rep.frames_scanned, (unsigned long long)rep.tail_after,
		 rep.end_reason ? rep.end_reason : "-",
		 got == 5 ? "sent and received" : "not through: ",
		 got == 5 ? "" : mapq_strerror((int)got));
	mapq_close(q);
}

static void parse_points(char *list)
{
	if (strcmp(list, "all") == 0) {
		for (unsigned i = 0; mapq_fault_point(i) && g.npoints < 64; i++) {
			const char *p = mapq_fault_point(i);
			/* Points a writer passes on its own path (not the
			 * calls to the system, os.*, made at open) */
			if (strncmp(p, "recover.", 8) && strncmp(p, "rslot.", 6) &&
			    strncmp(p, "os.", 3) && strncmp(p, "read.", 5) &&
			    strncmp(p, "sync.", 5) && strcmp(p, "head.after_push") &&
			    strcmp(p, "wslot.detach"))
				g.points[g.npoints++] = p;
		}
		return;
	}
	for (char *t = strtok(list, ","); t && g.npoints < 64; t = strtok(NULL, ",")) {
		bool known = false;
		for (unsigned i = 0; mapq_fault_point(i); i++)
			known = known || strcmp(mapq_fault_point(i), t) == 0;
		if (!known)
			die("no fault point is called '%s' (see doc/fault-points.md)", t);
		g.points[g.npoints++] = t;
	}
}

static int run_torture(void)
{
	const char *base = g.dir ? g.dir : tt_default_dir();
	int err = tt_make_dir(g.rundir, sizeof(g.rundir), base);
	if (err)
		die("cannot make a run directory in %s: %s", base, strerror(-err));
	snprintf(g.queue, sizeof(g.queue), "%s/queue", g.rundir);
	snprintf(g.state, sizeof(g.state), "%s/state", g.rundir);
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = g.run.capacity;
	o.max_msg = g.run.max_size;
	/* Spare slots let a restarted writer attach while its dead former
	 * incarnation's slot waits for repair; alone, it takes that slot. */
	o.writer_slots = g.run.alone ? 1 : g.run.writers + 2;
	o.reader_slots = g.run.readers + 2;
	o.policy = g.run.overwrite ? MAPQ_OVERWRITE : MAPQ_BLOCK;
	mapq *q;
	int rc = mapq_open(&q, g.queue, MAPQ_CREATE | MAPQ_EXCL, &o);
	if (rc)
		die("cannot create the queue: %s", mapq_strerror(rc));
	mapq_close(q);
	struct tt_state st;
	if ((rc = tt_state_map(&st, g.state, true, g.run.writers, g.run.readers)) != 0)
		die("cannot create the state file: %s", strerror(-rc));

	printf("mapq-torture: seed %llu; %s\n", (unsigned long long)g.run.seed, g.run.command);
	printf("mapq-torture: run directory %s\n", g.rundir);
	fflush(stdout);
	for (uint32_t r = 0; r < g.run.readers; r++)
		start_reader(r);
	for (uint32_t w = 0; w < g.run.writers; w++)
		start_writer(w);
	if (g.run.hostile > 0)
		add_kid(spawn("hostile", 0, 0, NULL, NULL), false, 0)->hostile = true;

	uint64_t t0 = tt_now_ns(), last_progress = t0;
	bool tty = tt_stderr_is_tty();
	double tick = TICK_MS / 1000.0;
	for (;;) {
		tt_sleep_ns(TICK_MS * 1000000ull);
		uint64_t now = tt_now_ns();
		double el = (double)(now - t0) / 1e9;
		reap(false);
		if (g.run.failure[0])
			break;
		uint64_t acked = acked_total(&st);
		if (g.messages ? acked >= g.messages * g.run.writers : el >= g.run.duration_s)
			break;
		if (g.run.duration_s > 0 && el >= g.run.duration_s)
			break;
		resume(now, false);
		if (g.run.kill_rate > 0 && rnd01() < g.run.kill_rate * tick)
			kill_one();
		if (g.run.pause_rate > 0 && rnd01() < g.run.pause_rate * tick)
			pause_one(now);
		/* Progress: rewritten in place on a terminal, a line every 5 s
		 * into a log. */
		if (!g.quiet && now - last_progress > (tty ? 1 : 5) * 1000000000ull &&
		    g.run.hostile > 0) {
			last_progress = now;
			/* relaxed: statistics */
			fprintf(stderr,
				"%s  %5.1f s  %llu scribbles  %llu calls, %llu errors, %llu hangs%s",
				tty ? "\r" : "", el,
				(unsigned long long)atomic_load_explicit(&st.hdr->scribbles,
									 memory_order_relaxed),
				(unsigned long long)atomic_load_explicit(&st.hdr->calls,
									 memory_order_relaxed),
				(unsigned long long)atomic_load_explicit(&st.hdr->errors,
									 memory_order_relaxed),
				(unsigned long long)atomic_load_explicit(&st.hdr->hangs,
									 memory_order_relaxed),
				tty ? "  " : "\n");
		} else if (!g.quiet && now - last_progress > (tty ? 1 : 5) * 1000000000ull) {
			last_progress = now;
			fprintf(stderr,
				"%s  %5.1f s  %llu acknowledged  kills: writers %llu, readers %llu, "
				"fault points %llu  pauses %llu%s",
				tty ? "\r" : "", el, (unsigned long long)acked,
				(unsigned long long)g.run.writer_kills,
				(unsigned long long)g.run.reader_kills,
				(unsigned long long)g.run.fault_kills,
				(unsigned long long)g.run.pauses, tty ? "  " : "\n");
		}
	}
	if (!g.quiet && tty)
		fputc('\n', stderr);
	/* release: writers acquire it between messages */
	atomic_store_explicit(&st.hdr->stop, 1, memory_order_release);
	resume(0, true);
	reap(true);
	wait_kids(true, 15000, "did not stop within 15 s");
	g.run.elapsed_s = (double)(tt_now_ns() - t0) / 1e9;
	if (g.run.hostile > 0) {
		/* readers and the peer stop on the flag too: no end marker
		 * can be trusted to arrive */
		wait_kids(false, 15000, "did not stop within 15 s");
		final_open();
	} else {
		send_end();
		wait_kids(false, 30000, "did not reach the end marker within 30 s (stalled)");
	}

	struct tt_verdict v;
	tt_judge(&st, &g.run, &v);
	tt_print(stdout, &st, &g.run, &v);
	if (g.json && tt_write_json(g.json, &st, &g.run, &v) != 0)
		fprintf(stderr, "mapq-torture: cannot write %s: %s\n", g.json, strerror(errno));
	if (!g.keep && v.clean) {
		tt_remove(g.queue);
		tt_remove(g.state);
		tt_remove_dir(g.rundir);
	} else {
		printf("  run directory kept: %s\n", g.rundir);
	}
	return v.clean ? 0 : 1;
}

static const char *break_names[] = { "none", "flip", "skip", "dup", "reorder" };

int main(int argc, char **argv)
{
	enum {
		O_MIN = 256,
		O_MAX,
		O_CAP,
		O_POLICY,
		O_DURABLE,
		O_ALONE,
		O_DIR,
		O_SEED,
		O_JSON,
		O_KRATE,
		O_KWHO,
		O_POINTS,
		O_PRATE,
		O_UNBLOCK,
		O_BREAK,
		O_KEEP,
		O_ROLE,
		O_QUEUE,
		O_STATE,
		O_ID,
		O_INC,
		O_NW,
		O_NR,
		O_READY,
		O_BREAKCODE,
		O_HOSTILE
	};
	static const struct option opts[] = {
		{ "writers", 1, NULL, 'w' },
		{ "readers", 1, NULL, 'r' },
		{ "duration", 1, NULL, 'd' },
		{ "messages", 1, NULL, 'n' },
		{ "min-size", 1, NULL, O_MIN },
		{ "max-size", 1, NULL, O_MAX },
		{ "capacity", 1, NULL, O_CAP },
		{ "policy", 1, NULL, O_POLICY },
		{ "durable", 0, NULL, O_DURABLE },
		{ "alone", 0, NULL, O_ALONE },
		{ "dir", 1, NULL, O_DIR },
		{ "seed", 1, NULL, O_SEED },
		{ "json", 1, NULL, O_JSON },
		{ "kill-rate", 1, NULL, O_KRATE },
		{ "kill", 1, NULL, O_KWHO },
		{ "fault-points", 1, NULL, O_POINTS },
		{ "pause-rate", 1, NULL, O_PRATE },
		{ "unblock-ms", 1, NULL, O_UNBLOCK },
		{ "break", 1, NULL, O_BREAK },
		{ "keep", 0, NULL, O_KEEP },
		{ "quiet", 0, NULL, 'q' },
		{ "hostile", 1, NULL, O_HOSTILE },
		{ "help", 0, NULL, 'h' },
		/* child roles (internal) */
		{ "role", 1, NULL, O_ROLE },
		{ "queue", 1, NULL, O_QUEUE },
		{ "state", 1, NULL, O_STATE },
		{ "id", 1, NULL, O_ID },
		{ "inc", 1, NULL, O_INC },
		{ "nw", 1, NULL, O_NW },
		{ "nr", 1, NULL, O_NR },
		{ "ready", 1, NULL, O_READY },
		{ "break-code", 1, NULL, O_BREAKCODE },
		{ NULL, 0, NULL, 0 },
	};
	const char *role = NULL, *points = NULL;
	g.run = (struct tt_run){ .writers = 4,
				 .readers = 3,
				 .min_size = TT_MIN_MSG,
				 .max_size = 512,
				 .capacity = 65536,
				 .unblock_ms = 1000,
				 /* writers send some batches (roles.c) */
				 .inflight_max = TT_SEND_BATCH };
	g.kill_who = "both";
	g.a.ready = "-";
	g.run.seed = tt_now_ns() ^ (uint64_t)tt_getpid();
	int c;
	while ((c = getopt_long(argc, argv, "w:r:d:n:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			g.run.writers = (uint32_t)num(optarg, "--writers", 1, TT_MAX_WRITERS);
			break;
		case 'r':
			g.run.readers = (uint32_t)num(optarg, "--readers", 1, TT_MAX_READERS);
			break;
		case 'd':
			g.run.duration_s = real(optarg, "--duration");
			break;
		case 'n':
			g.messages = num(optarg, "--messages", 1, UINT64_MAX / TT_MAX_WRITERS);
			break;
		case O_MIN:
			g.run.min_size = (uint32_t)num(optarg, "--min-size", TT_MIN_MSG, 65536);
			break;
		case O_MAX:
			g.run.max_size = (uint32_t)num(optarg, "--max-size", TT_MIN_MSG, 65536);
			break;
		case O_CAP:
			g.run.capacity = num(optarg, "--capacity", 4096, 1ull << 32);
			break;
		case O_POLICY:
			if (strcmp(optarg, "block") && strcmp(optarg, "overwrite"))
				die("--policy is block or overwrite, not '%s'", optarg);
			g.run.overwrite = strcmp(optarg, "overwrite") == 0;
			break;
		case O_DURABLE:
			g.run.durable = true;
			break;
		case O_ALONE:
			g.run.alone = true;
			break;
		case O_DIR:
			g.dir = optarg;
			break;
		case O_SEED:
			g.run.seed = num(optarg, "--seed", 0, UINT64_MAX);
			break;
		case O_JSON:
			g.json = optarg;
			break;
		case O_KRATE:
			g.run.kill_rate = real(optarg, "--kill-rate");
			break;
		case O_KWHO:
			if (strcmp(optarg, "writers") && strcmp(optarg, "readers") &&
			    strcmp(optarg, "both"))
				die("--kill is writers, readers or both, not '%s'", optarg);
			g.kill_who = optarg;
			break;
		case O_POINTS:
			points = optarg;
			break;
		case O_PRATE:
			g.run.pause_rate = real(optarg, "--pause-rate");
			break;
		case O_UNBLOCK:
			g.run.unblock_ms = (uint32_t)num(optarg, "--unblock-ms", 1, 600000);
			break;
		case O_BREAK:
			for (int b = 1; b < 5; b++)
				if (strcmp(optarg, break_names[b]) == 0)
					g.a.brk = b;
			if (!g.a.brk)
				die("--break is flip, skip, dup or reorder, not '%s'", optarg);
			g.run.brk = optarg;
			break;
		case O_KEEP:
			g.keep = true;
			break;
		case O_HOSTILE:
			g.run.hostile = real(optarg, "--hostile");
			break;
		case 'q':
			g.quiet = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case O_ROLE:
			role = optarg;
			break;
		case O_QUEUE:
			g.a.queue = optarg;
			break;
		case O_STATE:
			g.a.state = optarg;
			break;
		case O_ID:
			g.a.id = (uint32_t)num(optarg, "--id", 0, TT_MAX_WRITERS);
			break;
		case O_INC:
			g.a.inc = g.a.epoch = (uint32_t)num(optarg, "--inc", 0, UINT32_MAX);
			break;
		case O_NW:
			g.run.writers = (uint32_t)num(optarg, "--nw", 1, TT_MAX_WRITERS);
			break;
		case O_NR:
			g.run.readers = (uint32_t)num(optarg, "--nr", 1, TT_MAX_READERS);
			break;
		case O_READY: /* "-": none (writers) */
			g.a.ready = optarg;
			break;
		case O_BREAKCODE:
			g.a.brk = (int)num(optarg, "--break-code", 0, 4);
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (see --help)", argv[optind]);
	if (g.run.min_size > g.run.max_size)
		die("--min-size is larger than --max-size");
	if (g.run.alone && g.run.writers != 1)
		die("--alone needs -w 1: a queue of one writer slot has room for one writer");
	if (role) {
		g.a.writers = g.run.writers;
		g.a.readers = g.run.readers;
		g.a.min_size = g.run.min_size;
		g.a.max_size = g.run.max_size;
		g.a.seed = g.run.seed;
		g.a.durable = g.run.durable;
		g.a.unblock_ms = (int)g.run.unblock_ms;
		g.a.hostile = g.run.hostile;
		if (!g.a.queue || !g.a.state)
			die("a %s role needs --queue and --state", role);
		if (strcmp(role, "writer") == 0)
			return g.a.hostile > 0 ? tt_hostile_writer(&g.a) : tt_writer(&g.a);
		if (strcmp(role, "reader") == 0)
			return g.a.hostile > 0 ? tt_hostile_reader(&g.a) : tt_reader(&g.a);
		if (strcmp(role, "hostile") == 0 && g.a.hostile > 0)
			return tt_hostile(&g.a);
		die("unknown role '%s'", role);
	}
	if (g.run.capacity & (g.run.capacity - 1))
		die("--capacity must be a power of two");
	if (g.run.max_size > g.run.capacity / 2 - MAPQ_FRAME_HEADER)
		die("--max-size must be at most half the capacity, less %d bytes",
		    MAPQ_FRAME_HEADER);
	if (!g.messages && g.run.duration_s <= 0)
		g.run.duration_s = 20;
	if (g.run.hostile > 0 && (g.a.brk || g.messages))
		die("--hostile judges no data: it goes with neither --break nor --messages");
	if (points) {
		if (!mapq_fault_enabled())
			die("--fault-points needs a library built with --enable-fault-injection");
		/* A copy strtok may cut, kept for the whole run (the names point
		 * into it). */
		static char list[4096];
		if (strlen(points) >= sizeof(list))
			die("--fault-points: the list is too long");
		strcpy(list, points);
		parse_points(list);
		g.run.fault_points = points;
	}
	int err = tt_self(g.self, sizeof(g.self));
	if (err)
		die("cannot find this program's own path: %s", strerror(-err));
	/* The command line, to reproduce the run (with its seed). */
	static char cmd[4096];
	size_t at = (size_t)snprintf(cmd, sizeof(cmd), "%s", argv[0]);
	bool seeded = false;
	for (int i = 1; i < argc && at < sizeof(cmd); i++) {
		seeded = seeded || strcmp(argv[i], "--seed") == 0 ||
			 strncmp(argv[i], "--seed=", 7) == 0;
		at += (size_t)snprintf(cmd + at, sizeof(cmd) - at, " %s", argv[i]);
	}
	if (!seeded && at < sizeof(cmd))
		snprintf(cmd + at, sizeof(cmd) - at, " --seed %llu",
			 (unsigned long long)g.run.seed);
	g.run.command = cmd;
	g.rng = g.run.seed * 0x9E3779B97F4A7C15ull + 1;
	tt_ignore_sigpipe();
	return run_torture();
}
