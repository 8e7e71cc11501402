/* SPDX-License-Identifier: MIT */
/*
 * main.c - mapq-sim: explore schedules and deaths of the real library,
 * deterministically (doc/simulation.md). Runs schedules until a failure,
 * the count or the time limit; a failure prints why, the last steps of
 * the schedule, and the command that replays it exactly.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mapq.h"
#include "simulator.h"

static const char usage[] =
	"usage: mapq-sim [options]\n"
	"Run the library's real code as simulated processes, one step at a time, in\n"
	"schedules chosen by a seed; kill and stall processes at any step; judge each\n"
	"schedule as mapq-torture does, plus deadlocks, lost wake-ups and timeouts.\n"
	"\n"
	"exploration:\n"
	"  -n, --schedules N    schedules to run (1000)\n"
	"  -s, --seed S         first seed of the campaign (1); schedule i runs seed f(S, i)\n"
	"  -S, --strategy X     random, pct, or mixed (alternate; the default)\n"
	"  -d, --depth D        PCT's bug depth: D-1 priority changes (3)\n"
	"  -k, --kills K        deaths per schedule, at most, 0..8 (1)\n"
	"      --stalls K       stalls per schedule, at most, 0..8 (0)\n"
	"      --stall-ms MS    how long a stall lasts, virtual (50)\n"
	"      --crashes K      every process dies at once, up to K times, 0..8 (0): the\n"
	"                       first to come back recovers the queue as it opens it\n"
	"      --power-cuts K   a crash that also loses what no msync wrote, up to K\n"
	"                       times, 0..8 (0): writers call mapq_sync now and then,\n"
	"                       the file keeps each unsynced page old, new or torn, and\n"
	"                       every synced message must survive its recovery\n"
	"      --tear X         how a power cut tears a sector: sector (old or new,\n"
	"                       the default) or bytes (garbage where bytes changed)\n"
	"      --memory X       how the file's atomic words behave: sc (every step\n"
	"                       reaches memory at once; the default), tso (a store\n"
	"                       buffer per process, x86-64), weak (store buffers\n"
	"                       emptied in any order C11 allows, ARM- or POWER-like)\n"
	"                       or c11 (a load may read an older store, as far as\n"
	"                       coherence and happens-before allow): a weakened\n"
	"                       memory order of the library shows there\n"
	"      --plain-stores   with --memory tso or weak: the plain stores of a\n"
	"                       frame's payload and header wait in the store buffer\n"
	"                       too (a torn frame a missing release lets through)\n"
	"      --full-fences    a platform where no process can force a barrier on\n"
	"                       another (Windows): every commit makes a full fence,\n"
	"                       as no membarrier is offered (the default offers one,\n"
	"                       as Linux does, and commits make the light fence)\n"
	"      --horizon N      steps over which deaths, stalls and priority changes\n"
	"                       fall (measured from the workload when not given)\n"
	"  -t, --time-limit S   stop after S seconds of real time (none)\n"
	"workload:\n"
	"  -w, --writers N      writer processes, 1..8 (2)\n"
	"  -r, --readers N      reader processes, 1..4 (1): durable, resuming by name\n"
	"      --ephemeral      readers without a name: a restarted one starts at the\n"
	"                       newest message, and what it missed is not a loss\n"
	"      --overwrite      the overwrite policy: writers never wait, and lap slow\n"
	"                       readers, who are told how many messages they lost\n"
	"      --reattach       readers close now and then, cleanly, and come back\n"
	"                       20 ms later: closes and joins during the traffic\n"
	"      --rejoin-oldest  with --ephemeral: a restarted reader starts at the\n"
	"                       oldest message, joining while writers move head\n"
	"      --drop           with --reattach: a reader that closes drops its name\n"
	"                       (mapq_reader_drop) now and then, and comes back under\n"
	"                       it anew, at the oldest message: what it missed is not\n"
	"                       a loss\n"
	"      --alone          with -w 1: the queue has one writer slot, so its writer\n"
	"                       is alone (format.md, \"Reserve alone\"): no CAS on tail\n"
	"                       or on its record, and nobody forsakes it\n"
	"      --batch          readers take up to four messages a read\n"
	"                       (mapq_read_batch) and release them at once\n"
	"      --send-batch     writers send some messages two to four at a time\n"
	"                       (mapq_send_batch): one reservation, frames published\n"
	"                       one by one\n"
	"  -m, --messages N     messages per writer (16: more than the ring holds)\n"
	"      --capacity B     ring bytes, a power of two >= 4096 (4096)\n"
	"      --min-size B     smallest payload, >= %u (%u)\n"
	"      --max-size B     largest payload, <= 1024 (200)\n"
	"      --unblock-ms MS  the handles' unblock timeout (20)\n"
	"      --max-steps N    a schedule longer than this spins: a failure (2000000)\n"
	"replay:\n"
	"      --replay SEED    run the one schedule of this seed (with the workload and\n"
	"                       strategy it was found with) and say what happened\n"
	"      --expect FP      with --replay: the fingerprint the failure printed; a\n"
	"                       different one means another build or workload\n"
	"      --trace          with --replay or --schedule: print every step\n"
	"      --last N         steps of the trace printed on a failure (60)\n"
	"      --dir D          where the queue file lives, in a directory of its own\n"
	"                       removed at the end (/dev/shm, else $TMPDIR, else /tmp)\n"
	"      --schedule FILE  replay a schedule written by --save, choice by choice\n"
	"                       (with --trace: print every step)\n"
	"      --save FILE      on a failure, write its schedule there (shrunk with\n"
	"                       --shrink), to replay with --schedule\n"
	"      --shrink         on a failure, shrink the schedule: fewer processes,\n"
	"                       deaths, messages, preemptions and steps, failing the\n"
	"                       same way; print it whole and save it (--save, else\n"
	"                       ./mapq-sim-SEED.schedule)\n"
	"      --shrink-time S  time the shrinking may take (60)\n"
	"      --break X        self-tests: crash, a reader faults after its first\n"
	"                       message (reported with its schedule); wake, futex wakes\n"
	"                       wake nobody (lost wake-ups to find, save and shrink);\n"
	"                       sync, msync makes nothing durable (with --power-cuts:\n"
	"                       synced messages lost); fence, the library's fences\n"
	"                       order nothing (with --memory weak: the lost wake-up\n"
	"                       the sleeper's fence prevents); release, the\n"
	"                       library's release stores order nothing before them\n"
	"                       (with --memory weak --plain-stores: a frame's payload\n"
	"                       seen after its pos, a torn message; with --memory c11:\n"
	"                       a writer's payload stored over bytes a reader read,\n"
	"                       a data race)\n"
	"      --json FILE      write the campaign's result there (scripts/stress.py --sim)\n"
	"  -q, --quiet          no progress lines\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 all schedules passed, 1 one failed, 2 bad usage or setup.\n";

enum {
	O_STALLS = 256,
	O_STALL_MS,
	O_HORIZON,
	O_CAP,
	O_MIN,
	O_MAX,
	O_UNBLOCK,
	O_MAXSTEPS,
	O_REPLAY,
	O_EXPECT,
	O_TRACE,
	O_LAST,
	O_DIR,
	O_BREAK,
	O_JSON,
	O_SCHEDULE,
	O_SAVE,
	O_SHRINK,
	O_SHRINK_TIME,
	O_EPHEMERAL,
	O_OVERWRITE,
	O_CRASHES,
	O_POWER,
	O_TEAR,
	O_MEMORY,
	O_REATTACH,
	O_DROP,
	O_ALONE,
	O_REJOIN,
	O_PLAIN,
	O_FULL_FENCES,
	O_BATCH,
	O_SEND_BATCH
};

static const struct option longopts[] = {
	{ "schedules", required_argument, NULL, 'n' },
	{ "seed", required_argument, NULL, 's' },
	{ "strategy", required_argument, NULL, 'S' },
	{ "depth", required_argument, NULL, 'd' },
	{ "kills", required_argument, NULL, 'k' },
	{ "stalls", required_argument, NULL, O_STALLS },
	{ "stall-ms", required_argument, NULL, O_STALL_MS },
	{ "horizon", required_argument, NULL, O_HORIZON },
	{ "time-limit", required_argument, NULL, 't' },
	{ "writers", required_argument, NULL, 'w' },
	{ "readers", required_argument, NULL, 'r' },
	{ "messages", required_argument, NULL, 'm' },
	{ "capacity", required_argument, NULL, O_CAP },
	{ "min-size", required_argument, NULL, O_MIN },
	{ "max-size", required_argument, NULL, O_MAX },
	{ "unblock-ms", required_argument, NULL, O_UNBLOCK },
	{ "max-steps", required_argument, NULL, O_MAXSTEPS },
	{ "replay", required_argument, NULL, O_REPLAY },
	{ "expect", required_argument, NULL, O_EXPECT },
	{ "trace", no_argument, NULL, O_TRACE },
	{ "last", required_argument, NULL, O_LAST },
	{ "dir", required_argument, NULL, O_DIR },
	{ "break", required_argument, NULL, O_BREAK },
	{ "json", required_argument, NULL, O_JSON },
	{ "schedule", required_argument, NULL, O_SCHEDULE },
	{ "save", required_argument, NULL, O_SAVE },
	{ "shrink", no_argument, NULL, O_SHRINK },
	{ "shrink-time", required_argument, NULL, O_SHRINK_TIME },
	{ "ephemeral", no_argument, NULL, O_EPHEMERAL },
	{ "overwrite", no_argument, NULL, O_OVERWRITE },
	{ "crashes", required_argument, NULL, O_CRASHES },
	{ "power-cuts", required_argument, NULL, O_POWER },
	{ "tear", required_argument, NULL, O_TEAR },
	{ "memory", required_argument, NULL, O_MEMORY },
	{ "reattach", no_argument, NULL, O_REATTACH },
	{ "drop", no_argument, NULL, O_DROP },
	{ "alone", no_argument, NULL, O_ALONE },
	{ "batch", no_argument, NULL, O_BATCH },
	{ "send-batch", no_argument, NULL, O_SEND_BATCH },
	{ "rejoin-oldest", no_argument, NULL, O_REJOIN },
	{ "plain-stores", no_argument, NULL, O_PLAIN },
	{ "full-fences", no_argument, NULL, O_FULL_FENCES },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static char dir[PATH_MAX];

static void remove_dir(void)
{
	if (!dir[0])
		return;
	char q[PATH_MAX + 8];
	snprintf(q, sizeof(q), "%s/q", dir);
	(void)unlink(q);
	snprintf(q, sizeof(q), "%s/chk", dir); /* power.c's, if a cut was cut short */
	(void)unlink(q);
	(void)rmdir(dir);
	dir[0] = 0;
}

static __attribute__((noreturn, format(printf, 1, 2))) void bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mapq-sim: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'mapq-sim --help'.\n");
	va_end(ap);
	exit(2);
}

static uint64_t number(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
		bad("%s: '%s' is not a number from %" PRIu64 " to %" PRIu64, opt, s, lo, hi);
	return v;
}

static void crash_replay(void);

/* A crash inside a simulated process: say which schedule caused it. */
static volatile sig_atomic_t crashing;
static unsigned last_steps = 60;

static void on_crash(int sig)
{
	if (crashing++)
		_exit(3);
	const struct sim_proc *p = sim_w.cur;
	fprintf(stderr, "\nmapq-sim: FAIL: %s in %s at step %llu of seed %llu (strategy %s)\n",
		strsignal(sig),
		p ? (p->role == R_WRITER   ? "a writer"
		     : p->role == R_READER ? "a reader"
					   : "the closer")
		  : "the simulator itself",
		(unsigned long long)sim_w.steps, (unsigned long long)sim_w.seed,
		sim_w.cfg ? sim_strategy_name(sim_w.cfg->strategy) : "?");
	sim_print_trace(stderr, last_steps);
	crash_replay();
	remove_dir();
	_exit(3);
}

static void on_stop(int sig)
{
	remove_dir();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signals(void)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	(void)sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGHUP, on_stop);
	/* a trace piped into head: the pipe closes under us */
	signal(SIGPIPE, on_stop);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct campaign {
	struct sim_config cfg;
	const char *strategy; /* as given */
	uint64_t schedules, seed;
	double time_limit;
	bool replay, trace, quiet, horizon_given;
	uint64_t replay_seed, expect;
	bool expect_given;
	const char *dir;
	const char *json;
	const char *schedule, *save;
	bool shrink;
	double shrink_time;
};

static void print_command(FILE *f, const struct campaign *c, uint64_t seed, bool expect)
{
	const struct sim_config *g = &c->cfg;
	fprintf(f,
		"mapq-sim --replay %llu --strategy %s --depth %u --kills %u --stalls %u "
		"--stall-ms %llu --horizon %llu -w %u -r %u -m %u --capacity %llu --min-size %u "
		"--max-size %u --unblock-ms %d --max-steps %llu%s%s%s",
		(unsigned long long)seed, sim_strategy_name(g->strategy), g->depth,
		g->events[EV_DEATH], g->events[EV_STALL],
		(unsigned long long)(g->stall_ns / 1000000u), (unsigned long long)g->pct_steps,
		g->writers, g->readers, g->messages, (unsigned long long)g->capacity, g->min_size,
		g->max_size, g->unblock_ms, (unsigned long long)g->max_steps,
		g->durable ? "" : " --ephemeral", g->overwrite ? " --overwrite" : "",
		g->breakage == BREAK_CRASH  ? " --break crash"
		: g->breakage == BREAK_WAKE ? " --break wake"
					    : "");
	if (g->events[EV_CRASH])
		fprintf(f, " --crashes %u", g->events[EV_CRASH]);
	if (g->events[EV_POWER])
		fprintf(f, " --power-cuts %u%s", g->events[EV_POWER],
			g->tear_bytes ? " --tear bytes" : "");
	if (g->breakage == BREAK_SYNC || g->breakage == BREAK_FENCE || g->breakage == BREAK_RELEASE)
		fprintf(f, " --break %s",
			g->breakage == BREAK_SYNC    ? "sync"
			: g->breakage == BREAK_FENCE ? "fence"
						     : "release");
	if (g->memory != MEM_SC)
		fprintf(f, " --memory %s", sim_memory_name(g->memory));
	if (g->reattach)
		fprintf(f, " --reattach");
	if (g->drop)
		fprintf(f, " --drop");
	if (g->alone)
		fprintf(f, " --alone");
	if (g->batch)
		fprintf(f, " --batch");
	if (g->send_batch)
		fprintf(f, " --send-batch");
	if (g->rejoin_oldest)
		fprintf(f, " --rejoin-oldest");
	if (g->plain_stores)
		fprintf(f, " --plain-stores");
	if (g->full_fences)
		fprintf(f, " --full-fences");
	if (expect)
		fprintf(f, " --expect %#llx", (unsigned long long)sim_w.fingerprint);
	fputc('\n', f);
}

/* The campaign running, for the crash handler; NULL while the horizon is
 * measured (those schedules replay with their own settings). */
static const struct campaign *the_campaign;

static void crash_replay(void)
{
	if (!the_campaign) {
		fprintf(stderr, "  (while measuring the horizon: seed %llu, random, no deaths)\n",
			(unsigned long long)sim_w.seed);
		return;
	}
	if (the_campaign->schedule) {
		fprintf(stderr, "  replay: mapq-sim --schedule %s --trace\n",
			the_campaign->schedule);
		return;
	}
	if (sim_w.cfg && sim_w.cfg->strategy == SIM_TAPE)
		fprintf(stderr, "  (while running a written-down schedule of this seed, "
				"shrinking: the seed itself replays with)\n");
	fprintf(stderr, "  replay: ");
	print_command(stderr, the_campaign, sim_w.seed, false);
}

static void parse(int argc, char **argv, struct campaign *c)
{
	struct sim_config *g = &c->cfg;
	*g = (struct sim_config){ .writers = 2,
				  .readers = 1,
				  .messages = 16,
				  .min_size = TT_MIN_MSG,
				  .max_size = 200,
				  .capacity = 4096,
				  .durable = true,
				  .depth = 3,
				  .events = { [EV_DEATH] = 1 },
				  .stall_ns = 50000000,
				  .unblock_ms = 20,
				  .max_steps = 2000000,
				  .max_vt_ns = 60000000000ull };
	c->strategy = "mixed";
	c->schedules = 1000;
	c->shrink_time = 60;
	c->seed = 1;
	int o;
	while ((o = getopt_long(argc, argv, "n:s:S:d:k:t:w:r:m:qh", longopts, NULL)) != -1) {
		switch (o) {
		case 'n':
			c->schedules = number("--schedules", optarg, 1, UINT64_MAX);
			break;
		case 's':
			c->seed = number("--seed", optarg, 0, UINT64_MAX);
			break;
		case 'S':
			c->strategy = optarg;
			break;
		case 'd':
			g->depth = (unsigned)number("--depth", optarg, 1, 8);
			break;
		case 'k':
			g->events[EV_DEATH] = (unsigned)number("--kills", optarg, 0,
							       SIM_MAX_EVENTS);
			break;
		case O_STALLS:
			g->events[EV_STALL] = (unsigned)number("--stalls", optarg, 0,
							       SIM_MAX_EVENTS);
			break;
		case O_CRASHES:
			g->events[EV_CRASH] = (unsigned)number("--crashes", optarg, 0,
							       SIM_MAX_EVENTS);
			break;
		case O_TEAR:
			if (!strcmp(optarg, "sector") || !strcmp(optarg, "bytes"))
				g->tear_bytes = !strcmp(optarg, "bytes");
			else
				bad("--tear: unknown way to tear '%s' (sector or bytes)", optarg);
			break;
		case O_POWER:
			g->events[EV_POWER] = (unsigned)number("--power-cuts", optarg, 0,
							       SIM_MAX_EVENTS);
			break;
		case O_STALL_MS:
			g->stall_ns = number("--stall-ms", optarg, 1, 60000) * 1000000u;
			break;
		case O_HORIZON:
			g->pct_steps = number("--horizon", optarg, 1, UINT32_MAX);
			c->horizon_given = true;
			break;
		case 't':
			c->time_limit = (double)number("--time-limit", optarg, 1, 1000000);
			break;
		case 'w':
			g->writers = (unsigned)number("--writers", optarg, 1, 8);
			break;
		case 'r':
			g->readers = (unsigned)number("--readers", optarg, 1, 4);
			break;
		case 'm':
			g->messages = (unsigned)number("--messages", optarg, 1, 100000);
			break;
		case O_CAP:
			g->capacity = number("--capacity", optarg, 4096, 1u << 24);
			break;
		case O_MIN:
			g->min_size = (unsigned)number("--min-size", optarg, TT_MIN_MSG,
						       SIM_MAX_MSG);
			break;
		case O_MAX:
			g->max_size = (unsigned)number("--max-size", optarg, TT_MIN_MSG,
						       SIM_MAX_MSG);
			break;
		case O_UNBLOCK:
			g->unblock_ms = (int)number("--unblock-ms", optarg, 1, 60000);
			break;
		case O_MAXSTEPS:
			g->max_steps = number("--max-steps", optarg, 1000, UINT64_MAX);
			break;
		case O_REPLAY:
			c->replay = true;
			c->replay_seed = number("--replay", optarg, 0, UINT64_MAX);
			break;
		case O_EXPECT:
			c->expect = number("--expect", optarg, 0, UINT64_MAX);
			c->expect_given = true;
			break;
		case O_TRACE:
			c->trace = true;
			break;
		case O_LAST:
			last_steps = (unsigned)number("--last", optarg, 1, SIM_TRACE);
			break;
		case O_DIR:
			c->dir = optarg;
			break;
		case O_JSON:
			c->json = optarg;
			break;
		case O_SCHEDULE:
			c->schedule = optarg;
			break;
		case O_SAVE:
			c->save = optarg;
			break;
		case O_SHRINK:
			c->shrink = true;
			break;
		case O_EPHEMERAL:
			g->durable = false;
			break;
		case O_OVERWRITE:
			g->overwrite = true;
			break;
		case O_REATTACH:
			g->reattach = true;
			break;
		case O_DROP:
			g->drop = true;
			break;
		case O_ALONE:
			g->alone = true;
			break;
		case O_BATCH:
			g->batch = true;
			break;
		case O_SEND_BATCH:
			g->send_batch = true;
			break;
		case O_REJOIN:
			g->rejoin_oldest = true;
			break;
		case O_PLAIN:
			g->plain_stores = true;
			break;
		case O_FULL_FENCES:
			g->full_fences = true;
			break;
		case O_MEMORY:
			if (!sim_memory_parse(optarg, &g->memory))
				bad("--memory: unknown memory '%s' (sc, tso, weak or c11)", optarg);
			break;
		case O_SHRINK_TIME:
			c->shrink_time = (double)number("--shrink-time", optarg, 1, 1000000);
			break;
		case O_BREAK:
			if (!strcmp(optarg, "crash"))
				g->breakage = BREAK_CRASH;
			else if (!strcmp(optarg, "wake"))
				g->breakage = BREAK_WAKE;
			else if (!strcmp(optarg, "sync"))
				g->breakage = BREAK_SYNC;
			else if (!strcmp(optarg, "fence"))
				g->breakage = BREAK_FENCE;
			else if (!strcmp(optarg, "release"))
				g->breakage = BREAK_RELEASE;
			else
				bad("--break: unknown breakage '%s' (crash, wake, sync, fence or "
				    "release)",
				    optarg);
			break;
		case 'q':
			c->quiet = true;
			break;
		case 'h':
			printf(usage, TT_MIN_MSG, TT_MIN_MSG);
			exit(0);
		default:
			fprintf(stderr, "Try 'mapq-sim --help'.\n");
			exit(2);
		}
	}
	if (optind < argc)
		bad("unexpected argument '%s'", argv[optind]);
	if (strcmp(c->strategy, "random") && strcmp(c->strategy, "pct") &&
	    strcmp(c->strategy, "mixed"))
		bad("--strategy: unknown strategy '%s' (random, pct or mixed)", c->strategy);
	if (c->replay && !strcmp(c->strategy, "mixed"))
		bad("--replay: say which --strategy the seed was found with (random or pct, as "
		    "the failure printed)");
	if (c->schedule && c->replay)
		bad("--schedule and --replay: one or the other");
	if (c->trace && !c->replay && !c->schedule)
		bad("--trace needs --replay or --schedule");
	if (c->expect_given && !c->replay)
		bad("--expect needs --replay (a schedule file holds its fingerprint)");
	if (g->drop && (!g->reattach || !g->durable))
		bad("--drop: needs --reattach (readers that close) and durable readers (not "
		    "--ephemeral: a name to drop)");
	if (g->alone && g->writers != 1)
		bad("--alone: needs -w 1 (a queue with one writer slot has room for one "
		    "writer)");
	if (g->rejoin_oldest && g->durable)
		bad("--rejoin-oldest: for readers without a name (--ephemeral); a durable one "
		    "resumes at its cursor");
	if (g->plain_stores && g->memory != MEM_TSO && g->memory != MEM_WEAK)
		bad("--plain-stores: needs --memory tso or weak (the store buffers that hold "
		    "them)");
	if (c->shrink && g->breakage == BREAK_CRASH)
		bad("--shrink: a crash ends the simulator; it cannot shrink one");
	if (g->events[EV_POWER] && (g->overwrite || !g->durable))
		bad("--power-cuts: judged with durable readers under the block policy only (not "
		    "with --%s): a message they have not read must still be in the queue",
		    g->overwrite ? "overwrite" : "ephemeral");
	/* mapq_sync keeps later writes off synced pages with an aborted frame
	 * up to a page and a header long, which must fit half the ring */
	if (g->events[EV_POWER] && g->capacity < 16384)
		bad("--power-cuts: needs --capacity 16384 or more: in a smaller ring mapq_sync "
		    "cannot keep later writes off the pages it synced, and a torn page loses "
		    "synced messages (include/mapq.h)");
	if (g->breakage == BREAK_RELEASE && g->memory != MEM_WEAK && g->memory != MEM_C11)
		bad("--break release: needs --memory weak or c11 (the memories here where a "
		    "release orders anything the others do not already)");
	if (g->breakage == BREAK_FENCE && g->memory == MEM_SC)
		bad("--break fence: needs --memory tso, weak or c11 (with every step in memory at "
		    "once a fence has nothing to order)");
	if (g->breakage == BREAK_SYNC && !g->events[EV_POWER])
		bad("--break sync: needs --power-cuts (nothing else reads the disk's image)");
	if (g->min_size > g->max_size)
		bad("--min-size is larger than --max-size");
	if (g->capacity & (g->capacity - 1))
		bad("--capacity: %llu is not a power of two", (unsigned long long)g->capacity);
	/* a frame must fit in half the ring (mapq_options: max_msg) */
	if (g->max_size + 32 > g->capacity / 2)
		bad("--max-size: %u does not fit a ring of %llu bytes (at most capacity/2 - 32)",
		    g->max_size, (unsigned long long)g->capacity);
	g->strategy = !strcmp(c->strategy, "pct") ? SIM_PCT : SIM_RANDOM;
}

static void write_json(const struct campaign *c, uint64_t done, uint64_t steps, uint64_t kills,
		       uint64_t stalls, double el, const struct sim_result *fail, uint64_t seed);
static void keep_schedule(const struct campaign *c, uint64_t seed, const struct sim_tape *from,
			  const struct sim_result *res);

/* How long the run that just ended was: the line scripts and tests read. */
static void print_run_size(FILE *out)
{
	fprintf(out,
		"  %llu steps, %.3f ms of virtual time, %u deaths, %u stalls, %u crashes, %u power "
		"cuts\n",
		(unsigned long long)sim_w.steps, (double)(sim_w.vt - 1000000000ull) / 1e6,
		sim_w.done[EV_DEATH], sim_w.done[EV_STALL], sim_w.done[EV_CRASH],
		sim_w.done[EV_POWER]);
}

/* The horizon: how long a schedule of this workload is, without deaths. */
static uint64_t measure_horizon(struct campaign *c)
{
	struct sim_config g = c->cfg;
	memset(g.events, 0, sizeof(g.events));
	g.strategy = SIM_RANDOM;
	g.pct_steps = 1;
	uint64_t sum = 0;
	for (uint64_t i = 0; i < 3; i++) {
		if (sim_run(&g, sim_seed_of(0, i), NULL, NULL, false, NULL))
			exit(2);
		sum += sim_w.steps;
		struct sim_result res;
		sim_judge(&res);
		if (!res.pass) {
			fprintf(stderr,
				"mapq-sim: the workload fails even without deaths or stalls (seed "
				"%llu, random): %s\n  (what failed: %s)\n",
				(unsigned long long)sim_seed_of(0, i), res.why, res.kind);
			print_run_size(stderr);
			sim_print_trace(stderr, last_steps);
			struct campaign as_run = *c; /* the settings it ran with */
			as_run.cfg = g;
			fprintf(stderr, "  replay: ");
			print_command(stderr, &as_run, sim_seed_of(0, i), true);
			if (c->json)
				write_json(&as_run, i + 1, sum, 0, 0, 0, &res, sim_seed_of(0, i));
			keep_schedule(&as_run, sim_seed_of(0, i), NULL, &res);
			exit(1);
		}
	}
	return sum / 3 > 0 ? sum / 3 : 1;
}

static void report_failure(const struct campaign *c, uint64_t seed, uint64_t i,
			   const struct sim_result *res)
{
	fprintf(stderr, "\nmapq-sim: FAIL at schedule %llu (seed %llu, strategy %s)\n",
		(unsigned long long)i, (unsigned long long)seed,
		sim_strategy_name(c->cfg.strategy));
	fprintf(stderr, "  %s\n  (what failed: %s)\n", res->why, res->kind);
	print_run_size(stderr);
	fprintf(stderr, "  the processes at the end:\n");
	sim_print_procs(stderr);
	fprintf(stderr, "  the last steps:\n");
	sim_print_trace(stderr, last_steps);
	if (c->cfg.strategy == SIM_TAPE) {
		fprintf(stderr, "  replay: mapq-sim --schedule %s --trace\n", c->schedule);
		return;
	}
	fprintf(stderr, "  replay: ");
	print_command(stderr, c, seed, true);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* After a failure, with --save or --shrink: write the schedule down (by
 * running its seed again, recording), shrink it, print it whole, save it.
 * @t: the schedule when it came from a file, else NULL. */
static void keep_schedule(const struct campaign *c, uint64_t seed, const struct sim_tape *from,
			  const struct sim_result *res)
{
	if (!c->shrink && !c->save)
		return;
	struct sim_config g = c->cfg;
	struct sim_tape t = { 0 };
	struct sim_result r;
	if (from) {
		(void)sim_tape_copy(&t, from);
	} else if (sim_run(&g, seed, NULL, &t, false, NULL)) {
		goto out;
	}
	memcpy(g.events, t.events, sizeof(g.events));
	g.strategy = SIM_TAPE;
	/* the tape must fail as the seed did, or it is not the same schedule */
	if (t.oom || sim_run(&g, t.seed, &t, NULL, false, NULL))
		goto out;
	sim_judge(&r);
	if (r.pass || strcmp(r.kind, res->kind)) {
		fprintf(stderr,
			"mapq-sim: the schedule written down does not fail as the seed did (%s); "
			"not saved\n",
			r.pass ? "it passes" : r.why);
		goto out;
	}
	if (c->shrink) {
		struct sim_shrink_stats st;
		unsigned w = g.writers, rd = g.readers, m = g.messages;
		unsigned k = g.events[EV_DEATH], sl = g.events[EV_STALL], cr = g.events[EV_CRASH],
			 pc = g.events[EV_POWER];
		fprintf(stderr, "\nmapq-sim: shrinking the schedule (at most %.0f s)...\n",
			c->shrink_time);
		sim_shrink(&g, &t, res->kind, c->shrink_time, c->quiet, &st);
		uint64_t pre = 0;
		for (size_t i = 0; i < t.n; i++)
			pre += t.v[i] != 0;
		fprintf(stderr,
			"mapq-sim: shrunk in %.1f s (%llu schedules run, %llu kept): %u %s x %u "
			"%s x %u %s, %u %s, %u %s, %u %s, %u %s, %llu %s, %llu steps (it was %u x %u x "
			"%u, %u deaths, %u stalls, %u crashes, %u power cuts, %llu steps)\n",
			st.seconds, (unsigned long long)st.runs, (unsigned long long)st.accepted,
			g.writers, plural(g.writers, "writer", "writers"), g.readers,
			plural(g.readers, "reader", "readers"), g.messages,
			plural(g.messages, "message", "messages"), g.events[EV_DEATH],
			plural(g.events[EV_DEATH], "death", "deaths"), g.events[EV_STALL],
			plural(g.events[EV_STALL], "stall", "stalls"), g.events[EV_CRASH],
			plural(g.events[EV_CRASH], "crash", "crashes"), g.events[EV_POWER],
			plural(g.events[EV_POWER], "power cut", "power cuts"),
			(unsigned long long)pre, plural(pre, "preemption", "preemptions"),
			(unsigned long long)st.steps_after, w, rd, m, k, sl, cr, pc,
			(unsigned long long)st.steps_before);
		/* run it once more, to print it */
		if (sim_run(&g, t.seed, &t, NULL, false, NULL))
			goto out;
		sim_judge(&r);
		fprintf(stderr, "  %s\n  the shrunk schedule, step by step:\n", r.why);
		sim_print_trace(stderr, SIM_TRACE);
	}
	char path[PATH_MAX];
	if (c->save)
		snprintf(path, sizeof(path), "%s", c->save);
	else
		snprintf(path, sizeof(path), "mapq-sim-%llu.schedule", (unsigned long long)seed);
	if (sim_tape_save(path, &g, &t, sim_w.fingerprint, r.kind))
		fprintf(stderr, "mapq-sim: %s: cannot write the schedule: %s\n", path,
			strerror(errno));
	else
		fprintf(stderr, "  saved: %s; replay: mapq-sim --schedule %s --trace\n", path,
			path);
out:
	sim_tape_free(&t);
}

/* --schedule FILE: one schedule, choice by choice. */
static int replay_schedule(struct campaign *c)
{
	struct sim_tape t = { 0 };
	uint64_t fp;
	char kind[96], err[600];
	if (sim_tape_load(c->schedule, &c->cfg, &t, &fp, kind, sizeof(kind), err, sizeof(err))) {
		fprintf(stderr, "mapq-sim: %s\n", err);
		sim_tape_free(&t);
		return 2;
	}
	int rc = 2;
	if (sim_run(&c->cfg, t.seed, &t, NULL, c->trace, stdout))
		goto out;
	struct sim_result res;
	sim_judge(&res);
	if (fp && sim_w.fingerprint != fp) {
		fprintf(stderr,
			"mapq-sim: %s ran differently from when it was saved (fingerprint %#llx, "
			"saved %#llx): it was saved by another build of the library, so it cannot "
			"be replayed here\n",
			c->schedule, (unsigned long long)sim_w.fingerprint, (unsigned long long)fp);
		goto out;
	}
	if (!res.pass) {
		report_failure(c, t.seed, 0, &res);
		keep_schedule(c, t.seed, &t, &res);
		rc = 1;
		goto out;
	}
	printf("mapq-sim: %s: PASS, %llu steps, %.3f ms virtual, %u deaths, %u stalls; %llu "
	       "acknowledged, %llu delivered%s%s%s\n",
	       c->schedule, (unsigned long long)sim_w.steps,
	       (double)(sim_w.vt - 1000000000ull) / 1e6, sim_w.done[EV_DEATH], sim_w.done[EV_STALL],
	       (unsigned long long)res.v.acked, (unsigned long long)res.v.delivered,
	       kind[0] ? " (saved failing: " : "", kind, kind[0] ? ")" : "");
	rc = 0;
out:
	sim_tape_free(&t);
	return rc;
}

static int replay(struct campaign *c)
{
	if (sim_run(&c->cfg, c->replay_seed, NULL, NULL, c->trace, stdout))
		return 2;
	struct sim_result res;
	sim_judge(&res);
	if (c->expect_given && sim_w.fingerprint != c->expect) {
		fprintf(stderr,
			"mapq-sim: seed %llu ran a different schedule from the one recorded "
			"(fingerprint %#llx, expected %#llx): it was found with another build of "
			"the library or another workload, so it cannot be replayed exactly; "
			"run the campaign again on this build\n",
			(unsigned long long)c->replay_seed, (unsigned long long)sim_w.fingerprint,
			(unsigned long long)c->expect);
		return 2;
	}
	if (!res.pass) {
		report_failure(c, c->replay_seed, 0, &res);
		keep_schedule(c, c->replay_seed, NULL, &res);
		return 1;
	}
	printf("mapq-sim: seed %llu (%s): PASS, %llu steps, %.3f ms virtual, %u deaths, %u "
	       "stalls; %llu acknowledged, %llu delivered, %llu lapped; fingerprint %#llx\n",
	       (unsigned long long)c->replay_seed, sim_strategy_name(c->cfg.strategy),
	       (unsigned long long)sim_w.steps, (double)(sim_w.vt - 1000000000ull) / 1e6,
	       sim_w.done[EV_DEATH], sim_w.done[EV_STALL], (unsigned long long)res.v.acked,
	       (unsigned long long)res.v.delivered, (unsigned long long)res.v.lapped_lost,
	       (unsigned long long)sim_w.fingerprint);
	return 0;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		fprintf(f,
			*s == '"' || *s == '\\'  ? "\\%c"
			: (unsigned char)*s < 32 ? "?"
						 : "%c",
			*s);
	fputc('"', f);
}

/* --json: what scripts/stress.py --sim reads. */
static void write_json(const struct campaign *c, uint64_t done, uint64_t steps, uint64_t kills,
		       uint64_t stalls, double el, const struct sim_result *fail, uint64_t seed)
{
	FILE *f = fopen(c->json, "w");
	if (!f) {
		fprintf(stderr, "mapq-sim: %s: %s\n", c->json, strerror(errno));
		return;
	}
	fprintf(f,
		"{\n  \"verdict\": \"%s\",\n  \"schedules\": %llu,\n  \"seconds\": %.3f,\n"
		"  \"schedules_per_s\": %.1f,\n  \"steps_per_schedule\": %.1f,\n"
		"  \"deaths\": %llu,\n  \"stalls\": %llu,\n  \"strategy\": \"%s\",\n"
		"  \"horizon\": %llu",
		fail ? "FAIL" : "PASS", (unsigned long long)done, el,
		el > 0 ? (double)done / el : 0, done ? (double)steps / (double)done : 0,
		(unsigned long long)kills, (unsigned long long)stalls, c->strategy,
		(unsigned long long)c->cfg.pct_steps);
	if (fail) {
		fprintf(f, ",\n  \"failure\": {\"seed\": %llu, \"strategy\": \"%s\", \"why\": ",
			(unsigned long long)seed, sim_strategy_name(c->cfg.strategy));
		json_string(f, fail->why);
		fprintf(f, ", \"replay\": ");
		char cmd[1024];
		FILE *m = fmemopen(cmd, sizeof(cmd), "w");
		if (m) {
			print_command(m, c, seed, true);
			fclose(m);
			cmd[strcspn(cmd, "\n")] = 0;
		} else {
			cmd[0] = 0;
		}
		json_string(f, cmd);
		fprintf(f, "}");
	}
	fprintf(f, "\n}\n");
	fclose(f);
}

static int campaign(struct campaign *c)
{
	double t0 = now_s(), next_report = t0 + 2;
	uint64_t steps = 0, kills = 0, stalls = 0, crashes = 0, cuts = 0, done = 0;
	bool mixed = !strcmp(c->strategy, "mixed");
	for (uint64_t i = 0; i < c->schedules; i++) {
		uint64_t seed = sim_seed_of(c->seed, i);
		if (mixed)
			c->cfg.strategy = i % 2 ? SIM_PCT : SIM_RANDOM;
		if (sim_run(&c->cfg, seed, NULL, NULL, false, NULL))
			return 2;
		struct sim_result res;
		sim_judge(&res);
		done++;
		steps += sim_w.steps;
		kills += sim_w.done[EV_DEATH];
		stalls += sim_w.done[EV_STALL];
		crashes += sim_w.done[EV_CRASH];
		cuts += sim_w.done[EV_POWER];
		if (!res.pass) {
			report_failure(c, seed, i, &res);
			if (c->json)
				write_json(c, done, steps, kills, stalls, now_s() - t0, &res, seed);
			keep_schedule(c, seed, NULL, &res);
			return 1;
		}
		double t = now_s();
		if (!c->quiet && t >= next_report) {
			fprintf(stderr,
				"mapq-sim: %llu of %llu schedules, %.0f a second, no failure\n",
				(unsigned long long)done, (unsigned long long)c->schedules,
				(double)done / (t - t0));
			next_report = t + 2;
		}
		if (c->time_limit > 0 && t - t0 >= c->time_limit)
			break;
	}
	double el = now_s() - t0;
	if (c->json)
		write_json(c, done, steps, kills, stalls, el, NULL, 0);
	printf("mapq-sim: PASS: %llu schedules (%s, depth %u, horizon %llu) of %u writers x %u "
	       "readers x %u messages, capacity %llu; %llu deaths, %llu stalls, %llu crashes, "
	       "%llu power cuts; %.1f s, %.0f schedules/s, %.0f steps each\n",
	       (unsigned long long)done, c->strategy, c->cfg.depth,
	       (unsigned long long)c->cfg.pct_steps, c->cfg.writers, c->cfg.readers,
	       c->cfg.messages, (unsigned long long)c->cfg.capacity, (unsigned long long)kills,
	       (unsigned long long)stalls, (unsigned long long)crashes, (unsigned long long)cuts,
	       el, el > 0 ? (double)done / el : 0.0, done ? (double)steps / (double)done : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	struct campaign c;
	memset(&c, 0, sizeof(c));
	parse(argc, argv, &c);
	/* Each schedule creates the queue file anew, and creation syncs it:
	 * on tmpfs that costs nothing, on a disk most of the run. */
	const char *base = c.dir ? c.dir : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
	if (!base)
		base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(dir, sizeof(dir), "%s/mapq-sim.XXXXXX", base);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "mapq-sim: cannot make a directory under %s: %s\n", base,
			strerror(errno));
		return 2;
	}
	atexit(remove_dir);
	install_signals();
	c.cfg.dir = dir;
	the_campaign = &c;
	if (c.schedule)
		return replay_schedule(&c);
	the_campaign = NULL;
	if (!c.horizon_given)
		c.cfg.pct_steps = measure_horizon(&c);
	the_campaign = &c;
	return c.replay ? replay(&c) : campaign(&c);
}
