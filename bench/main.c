/* SPDX-License-Identifier: MIT */
/*
 * main.c - mapq-bench: mapq against the mechanisms users would pick
 * instead, and against the machine's limits, in one run on one machine.
 * scripts/bench.py runs it several times and turns medians into ratios.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"
#include "mapq.h"

static const char usage[] =
	"Usage: mapq-bench [OPTIONS]\n"
	"Measure, each case as separate producer and consumer processes:\n"
	"  throughput (messages/s, MB/s) for 8 B to 64 KiB messages: mapq 1x1, 2x1\n"
	"  and 1x2 (broadcast), and 1x1 and 1x2 in a queue of one writer slot\n"
	"  (mapq-alone, whose writer is alone); 1x1, 2x1 and 1x2 sending and reading\n"
	"  in batches (mapq-batch: mapq_send_batch, mapq_read_batch); pipe, AF_UNIX\n"
	"  stream and seqpacket, POSIX\n"
	"  mq, and ZeroMQ and nng over ipc:// when configure found them; the\n"
	"  raw shared-memory byte ring (the ceiling) and the same ring publishing\n"
	"  its indices once per 4 KiB (a higher ceiling);\n"
	"  round trips of 64-byte messages (p50, p99, p99.9, max): mapq busy-polling\n"
	"  and blocking, each peer, and one cache line bounced between processes.\n"
	"Every consumer checks every byte of every message. Throughput runs size by\n"
	"size, so that the cases a ratio compares run close together.\n\n"
	"  --quick          a tenth of the messages and 20,000 round trips (smoke)\n"
	"  --only LIST      mechanisms to run, comma-separated (mapq,mapq-alone,\n"
	"                   mapq-batch,raw-ring,batch-ring,pipe,unix-stream,\n"
	"                   unix-seqpacket,posix-mq,zeromq,nng,cache-line)\n"
	"  --sizes LIST     message sizes for throughput (8,64,512,4096,65536)\n"
	"  --iters N        measured round trips per latency case (100000)\n"
	"  --json FILE      also write every result as JSON\n"
	"  --dir DIR        where mapq queue files go (/dev/shm)\n"
	"  --probe N        round trips of the cache-line probe taken before the\n"
	"                   first case and after each one (2000; 0: none): the\n"
	"                   host may move the CPUs between cases, which moves\n"
	"                   every figure, and the probe's p50 says where they sat\n"
	"  --pairs N        instead: N mapq sends, reads and releases of the first\n"
	"                   --sizes size in this one process (for an instruction\n"
	"                   count under valgrind --tool=callgrind), nothing else;\n"
	"                   with --only mapq-alone, in a queue of one writer slot;\n"
	"                   with --only mapq-batch, 64 at a time (mapq_send_batch,\n"
	"                   mapq_read_batch)\n"
	"  -h, --help       this text\n\n"
	"Exit status: 0, or 1 if a case of mapq itself or of the limits failed\n"
	"(a peer that cannot run a case only says why), 2 for bad arguments.\n";

static const struct bench_mech *const mechs[] = {
	&bench_mapq,       &bench_mapq_alone, &bench_mapq_batch,  &bench_raw_ring,
	&bench_batch_ring, &bench_pipe,       &bench_unix_stream, &bench_unix_seqpacket,
	&bench_posix_mq,   &bench_zeromq,     &bench_nng,         &bench_cacheline,
};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

struct opts {
	bool quick;
	const char *only;
	size_t sizes[8];
	int nsizes;
	uint64_t iters, pairs, probe;
	const char *json, *dir;
};

static bool selected(const struct opts *o, const char *name)
{
	if (!o->only)
		return true;
	size_t n = strlen(name);
	for (const char *p = o->only; (p = strstr(p, name)) != NULL; p += n)
		if ((p == o->only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static uint64_t parse_num(const char *flag, const char *v, uint64_t lo, uint64_t hi)
{
	char *end;
	errno = 0;
	unsigned long long n = v ? strtoull(v, &end, 10) : 0;
	if (!v || errno || *end || n < lo || n > hi) {
		fprintf(stderr, "mapq-bench: %s: give a number from %llu to %llu\n", flag,
			(unsigned long long)lo, (unsigned long long)hi);
		exit(2);
	}
	return n;
}

static void parse_sizes(struct opts *o, const char *v)
{
	o->nsizes = 0;
	char *copy = strdup(v), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->nsizes == 8) {
			fprintf(stderr, "mapq-bench: --sizes: at most 8\n");
			exit(2);
		}
		o->sizes[o->nsizes++] = parse_num("--sizes", t, 8, BENCH_MAX_SIZE);
	}
	free(copy);
	if (!o->nsizes)
		exit(2);
}

/* Enough messages for about half a second on the fast mechanisms. */
static uint64_t count_for(size_t size, bool quick)
{
	uint64_t n = (512ull << 20) / size;
	n = n > 2000000 ? 2000000 : n < 20000 ? 20000 : n;
	return quick ? n / 10 : n;
}

static FILE *json;
static bool json_first = true;
/* Cases of mapq itself or of the limits that failed: a peer may be
 * unable to run a case (posix-mq and 64 KiB messages), mapq may not. */
static int own_failures;

/* The cache line's round-trip p50 (ns) at the last probe, or < 0: none */
static double line_ns = -1;

/* The placement of the two CPUs now: a short cache-line round trip. A
 * failed probe only leaves the figure unknown. */
static void probe(const struct opts *o)
{
	struct bench_lat_case c = { "cache-line", "", 64, o->probe, o->probe / 10, o->dir };
	struct bench_lat_result res;
	line_ns = -1;
	if (!o->probe)
		return;
	bench_cacheline.latency(&c, &res);
	if (res.ok)
		line_ns = res.p50;
}

/* The probes either side of a case, as JSON fields and as text */
struct around {
	char json[96], text[64];
};

static void around_case(const struct opts *o, double before, struct around *a)
{
	probe(o);
	char b[24] = "null", e[24] = "null";
	if (before >= 0)
		snprintf(b, sizeof(b), "%.0f", before);
	if (line_ns >= 0)
		snprintf(e, sizeof(e), "%.0f", line_ns);
	snprintf(a->json, sizeof(a->json), "\"line_before_ns\":%s,\"line_after_ns\":%s", b, e);
	a->text[0] = '\0';
	if (o->probe)
		snprintf(a->text, sizeof(a->text), "  [line %s/%s ns]", b[0] == 'n' ? "-" : b,
			 e[0] == 'n' ? "-" : e);
}

static bool own(const struct bench_mech *m)
{
	return m == &bench_mapq || m == &bench_mapq_alone || m == &bench_mapq_batch ||
	       m == &bench_raw_ring || m == &bench_batch_ring || m == &bench_cacheline;
}

static void json_item(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void json_item(const char *fmt, ...)
{
	if (!json)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(json, "%s\n    ", json_first ? "" : ",");
	vfprintf(json, fmt, ap);
	va_end(ap);
	json_first = false;
}

static void tp(const struct opts *o, const struct bench_mech *m, size_t size, int w, int r)
{
	struct bench_tp_case c = { m->name, size, w, r, count_for(size, o->quick), o->dir };
	struct bench_tp_result res;
	struct around a;
	double before = line_ns;
	fflush(stdout);
	m->throughput(&c, &res);
	around_case(o, before, &a);
	if (res.ok)
		printf("%-16s %6zu B  %dx%d  %12.0f msgs/s  %9.1f MB/s%s\n", m->name, size, w, r,
		       res.msgs_per_s, res.mb_per_s, a.text);
	else
		printf("%-16s %6zu B  %dx%d  not run: %s%s\n", m->name, size, w, r, res.why,
		       a.text);
	own_failures += !res.ok && own(m);
	json_item(
		"{\"kind\":\"throughput\",\"mech\":\"%s\",\"size\":%zu,\"writers\":%d,"
		"\"readers\":%d,\"messages\":%llu,\"ok\":%s,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
		"\"why\":\"%s\",%s}",
		m->name, size, w, r, (unsigned long long)c.count * (unsigned)w,
		res.ok ? "true" : "false", res.msgs_per_s, res.mb_per_s, res.ok ? "" : res.why,
		a.json);
}

static void lat(const struct opts *o, const struct bench_mech *m, const char *mode)
{
	struct bench_lat_case c = { m->name, mode, 64, o->iters, o->iters / 10, o->dir };
	struct bench_lat_result res;
	struct around a;
	double before = line_ns;
	fflush(stdout);
	m->latency(&c, &res);
	around_case(o, before, &a);
	char name[40];
	snprintf(name, sizeof(name), "%s%s%s", m->name, mode[0] ? " " : "", mode);
	if (res.ok)
		printf("%-22s 64 B round trip: p50 %8.0f ns  p99 %8.0f  p99.9 %8.0f  max %9.0f%s\n",
		       name, res.p50, res.p99, res.p999, res.max, a.text);
	else
		printf("%-22s 64 B round trip: not run: %s%s\n", name, res.why, a.text);
	own_failures += !res.ok && own(m);
	json_item("{\"kind\":\"latency\",\"mech\":\"%s\",\"mode\":\"%s\",\"size\":64,"
		  "\"round_trips\":%llu,\"ok\":%s,\"p50_ns\":%.0f,\"p99_ns\":%.0f,\"p999_ns\":%.0f,"
		  "\"max_ns\":%.0f,\"why\":\"%s\",%s}",
		  m->name, mode, (unsigned long long)c.iters, res.ok ? "true" : "false", res.p50,
		  res.p99, res.p999, res.max, res.ok ? "" : res.why, a.json);
}

int main(int argc, char **argv)
{
	struct opts o = { .sizes = { 8, 64, 512, 4096, 65536 },
			  .nsizes = 5,
			  .iters = 100000,
			  .probe = 2000,
			  .dir = "/dev/shm" };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick"))
			o.quick = true;
		else if (!strcmp(a, "--only") && v)
			o.only = v, i++;
		else if (!strcmp(a, "--sizes") && v)
			parse_sizes(&o, v), i++;
		else if (!strcmp(a, "--iters"))
			o.iters = parse_num(a, v, 1000, 100000000), i++;
		else if (!strcmp(a, "--json") && v)
			o.json = v, i++;
		else if (!strcmp(a, "--dir") && v)
			o.dir = v, i++;
		else if (!strcmp(a, "--probe"))
			o.probe = parse_num(a, v, 0, 10000000), i++;
		else if (!strcmp(a, "--pairs"))
			o.pairs = parse_num(a, v, 1, 100000000), i++;
		else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return fputs(usage, stdout), 0;
		else
			return fprintf(stderr, "mapq-bench: bad argument '%s'\n%s", a, usage), 2;
	}
	if (o.pairs)
		return bench_mapq_pairs(o.dir, o.sizes[0], o.pairs,
					o.only && !strcmp(o.only, "mapq-alone"),
					o.only && !strcmp(o.only, "mapq-batch"))
			       ? 1
			       : 0;
	if (o.quick && o.iters == 100000)
		o.iters = 20000;
	if (o.json && !(json = fopen(o.json, "w"))) {
		fprintf(stderr, "mapq-bench: %s: %s\n", o.json, strerror(errno));
		return 1;
	}
	struct utsname u;
	uname(&u);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	printf("mapq-bench: mapq %s, %s %s, %ld CPUs%s\n", mapq_version(), u.sysname, u.release,
	       cpus, o.quick ? ", --quick" : "");
	if (json)
		fprintf(json,
			"{\"mapq\":\"%s\",\"kernel\":\"%s %s\",\"machine\":\"%s\",\"cpus\":%ld,"
			"\"quick\":%s,\"results\":[",
			mapq_version(), u.sysname, u.release, u.machine, cpus,
			o.quick ? "true" : "false");
	probe(&o);
	for (int s = 0; s < o.nsizes; s++) {
		for (size_t m = 0; m < NMECHS; m++) {
			if (!mechs[m]->throughput || !selected(&o, mechs[m]->name))
				continue;
			tp(&o, mechs[m], o.sizes[s], 1, 1);
			if (mechs[m]->multi_writer)
				tp(&o, mechs[m], o.sizes[s], 2, 1);
			if (mechs[m]->broadcast)
				tp(&o, mechs[m], o.sizes[s], 1, 2);
		}
	}
	for (size_t m = 0; m < NMECHS; m++) {
		if (!mechs[m]->latency || !selected(&o, mechs[m]->name))
			continue;
		if (mechs[m]->poll_and_block) {
			lat(&o, mechs[m], "poll");
			lat(&o, mechs[m], "block");
		} else {
			lat(&o, mechs[m], "");
		}
	}
	if (json) {
		fprintf(json, "\n]}\n");
		if (fclose(json) != 0) {
			fprintf(stderr, "mapq-bench: %s: %s\n", o.json, strerror(errno));
			return 1;
		}
	}
	if (own_failures) {
		fprintf(stderr, "mapq-bench: %d case%s of mapq or of the limits failed (above)\n",
			own_failures, own_failures == 1 ? "" : "s");
		return 1;
	}
	return 0;
}
