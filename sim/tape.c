/* SPDX-License-Identifier: MIT */
/*
 * tape.c - a schedule written down (simulator.h: struct sim_tape), and its
 * file: what `mapq-sim --save` writes and `--schedule` replays. A seed
 * replays only with the strategy that drew it; a schedule file replays
 * choice by choice, and stays a valid schedule when shrink.c takes
 * choices out of it.
 *
 * The file is text, one "key value..." per line; '#' starts a comment:
 *   mapq-sim-schedule 1
 *   fingerprint 0x...          of the steps: another build runs others
 *   seed N                     the seed it was found with (the queue's id)
 *   failure TEXT               what failed, without its numbers
 *   writers N, readers N, messages N, capacity B, min-size B, max-size B,
 *   unblock-ms MS, stall-ms MS, max-steps N
 *   ephemeral                  readers without a name, if so
 *   overwrite                  the overwrite policy, if so
 *   break wake|sync|fence|release  the self-test's breakage, if any
 *   tear bytes                 power cuts garble changed bytes, if so
 *   reattach                   readers close and come back, if so
 *   rejoin-oldest              a restarted reader starts at the oldest
 *                              message, if so
 *   drop                       a reader that closes drops its name now
 *                              and then, if so
 *   memory tso|weak            store buffers (memory.c), if so
 *   plain-stores               plain stores wait in them too, if so
 *   full-fences                no membarrier: commits fence fully, if so
 *   alone                      one writer slot (-w 1 --alone), if so
 *   batch                      readers read in batches (--batch), if so
 *   send-batch                 writers send in batches (--send-batch), if so
 *   deaths STEP...             the steps where a process dies
 *   stalls STEP...             the steps where a process stalls
 *   crashes STEP...            the steps where every process dies
 *   power-cuts STEP...         the steps where the power fails
 *   choices C...               in order; "0*N" is N zeros
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "simulator.h"

#define FORMAT_VERSION 1

/* The keys of the events' lines, by enum sim_event (the first one's key
 * ends the format string of sim_tape_save). */
static const char *const event_keys[EV_KINDS] = { "\ndeaths", "\nstalls", "\ncrashes",
						  "\npower-cuts" };

void sim_tape_clear(struct sim_tape *t)
{
	t->n = t->at = 0;
	memset(t->events, 0, sizeof(t->events));
	t->seed = 0;
	t->oom = false;
}

void sim_tape_free(struct sim_tape *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

void sim_tape_push(struct sim_tape *t, uint32_t v)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 4096;
		uint32_t *nv = realloc(t->v, cap * sizeof(*nv));
		if (!nv) {
			t->oom = true;
			return;
		}
		t->v = nv;
		t->cap = cap;
	}
	t->v[t->n++] = v;
}

int sim_tape_copy(struct sim_tape *to, const struct sim_tape *from)
{
	sim_tape_clear(to);
	for (size_t i = 0; i < from->n; i++)
		sim_tape_push(to, from->v[i]);
	to->seed = from->seed;
	memcpy(to->events, from->events, sizeof(to->events));
	memcpy(to->ev_at, from->ev_at, sizeof(to->ev_at));
	return to->oom ? -1 : 0;
}

int sim_tape_save(const char *path, const struct sim_config *cfg, const struct sim_tape *t,
		  uint64_t fingerprint, const char *kind)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"# a schedule of mapq-sim: replay it with mapq-sim --schedule %s [--trace]\n"
		"mapq-sim-schedule %d\nfingerprint %#" PRIx64 "\nseed %" PRIu64 "\nfailure %s\n"
		"writers %u\nreaders %u\nmessages %u\ncapacity %" PRIu64 "\nmin-size %u\n"
		"max-size %u\nunblock-ms %d\nstall-ms %" PRIu64 "\nmax-steps %" PRIu64 "%s%s%s",
		path, FORMAT_VERSION, fingerprint, t->seed, kind && *kind ? kind : "-",
		cfg->writers, cfg->readers, cfg->messages, cfg->capacity, cfg->min_size,
		cfg->max_size, cfg->unblock_ms, cfg->stall_ns / 1000000u, cfg->max_steps,
		cfg->durable ? "" : "\nephemeral", cfg->overwrite ? "\noverwrite" : "",
		cfg->breakage == BREAK_WAKE      ? "\nbreak wake"
		: cfg->breakage == BREAK_SYNC    ? "\nbreak sync"
		: cfg->breakage == BREAK_FENCE   ? "\nbreak fence"
		: cfg->breakage == BREAK_RELEASE ? "\nbreak release"
						 : "");
	fprintf(f, "%s", cfg->tear_bytes ? "\ntear bytes" : "");
	if (cfg->memory != MEM_SC)
		fprintf(f, "\nmemory %s", sim_memory_name(cfg->memory));
	if (cfg->reattach)
		fprintf(f, "\nreattach");
	if (cfg->rejoin_oldest)
		fprintf(f, "\nrejoin-oldest");
	if (cfg->drop)
		fprintf(f, "\ndrop");
	if (cfg->plain_stores)
		fprintf(f, "\nplain-stores");
	if (cfg->full_fences)
		fprintf(f, "\nfull-fences");
	if (cfg->alone)
		fprintf(f, "\nalone");
	if (cfg->batch)
		fprintf(f, "\nbatch");
	if (cfg->send_batch)
		fprintf(f, "\nsend-batch");
	fprintf(f, "\ndeaths");
	for (unsigned e = 0; e < EV_KINDS; e++) {
		fprintf(f, "%s", e ? event_keys[e] : "");
		for (unsigned i = 0; i < t->events[e]; i++)
			fprintf(f, " %" PRIu64, t->ev_at[e][i]);
	}
	fprintf(f, "\nchoices");
	/* zeros at the end are what is read past it */
	size_t n = t->n;
	while (n && !t->v[n - 1])
		n--;
	for (size_t i = 0, col = 7; i < n;) {
		size_t j = i;
		while (j < n && t->v[j] == t->v[i])
			j++;
		char tok[32];
		if (t->v[i] == 0 && j - i > 2) {
			snprintf(tok, sizeof(tok), " 0*%zu", j - i);
			i = j;
		} else {
			snprintf(tok, sizeof(tok), " %" PRIu32, t->v[i++]);
		}
		if (col + strlen(tok) > 78) {
			fputs("\nchoices", f);
			col = 7;
		}
		fputs(tok, f);
		col += strlen(tok);
	}
	fputc('\n', f);
	return fclose(f) ? -1 : 0;
}

struct loader {
	const char *path;
	unsigned line;
	char *err;
	size_t err_len;
};

static __attribute__((format(printf, 2, 3))) int bad(struct loader *l, const char *fmt, ...)
{
	int n = snprintf(l->err, l->err_len, "%s:%u: ", l->path, l->line);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < l->err_len)
		vsnprintf(l->err + n, l->err_len - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int num(struct loader *l, const char *key, const char *s, uint64_t lo, uint64_t hi,
	       uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || x < lo || x > hi)
		return bad(l, "%s: '%s' is not a number from %" PRIu64 " to %" PRIu64, key, s, lo,
			   hi);
	*v = x;
	return 0;
}

static int sort_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* deaths or stalls: at most 8 steps */
static int steps(struct loader *l, const char *key, char *rest, uint64_t *at, unsigned *n)
{
	*n = 0;
	for (char *tok = strtok(rest, " \t"); tok; tok = strtok(NULL, " \t")) {
		if (*n == SIM_MAX_EVENTS)
			return bad(l, "%s: more than 8", key);
		if (num(l, key, tok, 1, UINT64_MAX, &at[(*n)++]))
			return -1;
	}
	qsort(at, *n, sizeof(*at), sort_u64);
	return 0;
}

static int choices(struct loader *l, char *rest, struct sim_tape *t)
{
	for (char *tok = strtok(rest, " \t"); tok; tok = strtok(NULL, " \t")) {
		uint64_t v, times = 1;
		char *star = strchr(tok, '*');
		if (star) {
			*star = 0;
			if (num(l, "choices", star + 1, 1, 100000000, &times))
				return -1;
		}
		if (num(l, "choices", tok, 0, UINT32_MAX, &v))
			return -1;
		while (times--)
			sim_tape_push(t, (uint32_t)v);
		if (t->oom)
			return bad(l, "out of memory");
	}
	return 0;
}

int sim_tape_load(const char *path, struct sim_config *cfg, struct sim_tape *t,
		  uint64_t *fingerprint, char *kind, size_t kind_len, char *err, size_t err_len)
{
	struct loader l = { .path = path, .err = err, .err_len = err_len };
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	sim_tape_clear(t);
	cfg->breakage = BREAK_NONE; /* the file says, as it says the workload */
	cfg->durable = true;
	cfg->overwrite = false;
	cfg->memory = MEM_SC;
	cfg->reattach = false;
	cfg->rejoin_oldest = false;
	cfg->drop = false;
	cfg->plain_stores = false;
	cfg->full_fences = false;
	cfg->alone = false;
	cfg->batch = false;
	cfg->send_batch = false;
	*fingerprint = 0;
	if (kind_len)
		kind[0] = 0;
	char buf[4096];
	bool version = false;
	unsigned seen = 0; /* workload keys given */
	int rc = 0;
	while (!rc && fgets(buf, sizeof(buf), f)) {
		l.line++;
		size_t len = strlen(buf);
		if (len == sizeof(buf) - 1 && buf[len - 1] != '\n') {
			rc = bad(&l, "line too long");
			break;
		}
		buf[strcspn(buf, "\r\n")] = 0;
		char *key = buf + strspn(buf, " \t");
		if (!*key || *key == '#')
			continue;
		char *rest = key + strcspn(key, " \t");
		if (*rest)
			*rest++ = 0;
		rest += strspn(rest, " \t");
		uint64_t v;
		if (!version) {
			if (strcmp(key, "mapq-sim-schedule"))
				rc = bad(&l, "not a schedule of mapq-sim (it starts with "
					     "'mapq-sim-schedule')");
			else if (num(&l, key, rest, 0, UINT32_MAX, &v))
				rc = -1;
			else if (v != FORMAT_VERSION)
				rc = bad(&l,
					 "version %" PRIu64
					 " of the format; this mapq-sim reads %d",
					 v, FORMAT_VERSION);
			version = true;
		} else if (!strcmp(key, "fingerprint")) {
			rc = num(&l, key, rest, 0, UINT64_MAX, fingerprint);
		} else if (!strcmp(key, "seed")) {
			rc = num(&l, key, rest, 0, UINT64_MAX, &t->seed);
		} else if (!strcmp(key, "failure")) {
			snprintf(kind, kind_len, "%s", strcmp(rest, "-") ? rest : "");
		} else if (!strcmp(key, "writers")) {
			rc = num(&l, key, rest, 1, 8, &v);
			cfg->writers = (unsigned)v, seen |= 1;
		} else if (!strcmp(key, "readers")) {
			rc = num(&l, key, rest, 1, 4, &v);
			cfg->readers = (unsigned)v, seen |= 2;
		} else if (!strcmp(key, "messages")) {
			rc = num(&l, key, rest, 1, 100000, &v);
			cfg->messages = (unsigned)v, seen |= 4;
		} else if (!strcmp(key, "capacity")) {
			rc = num(&l, key, rest, 4096, 1u << 24, &cfg->capacity);
			if (!rc && (cfg->capacity & (cfg->capacity - 1)))
				rc = bad(&l, "capacity: not a power of two");
			seen |= 8;
		} else if (!strcmp(key, "min-size")) {
			rc = num(&l, key, rest, TT_MIN_MSG, 1024, &v);
			cfg->min_size = (unsigned)v, seen |= 16;
		} else if (!strcmp(key, "max-size")) {
			rc = num(&l, key, rest, TT_MIN_MSG, 1024, &v);
			cfg->max_size = (unsigned)v, seen |= 32;
		} else if (!strcmp(key, "unblock-ms")) {
			rc = num(&l, key, rest, 1, 60000, &v);
			cfg->unblock_ms = (int)v;
		} else if (!strcmp(key, "stall-ms")) {
			rc = num(&l, key, rest, 1, 60000, &v);
			cfg->stall_ns = v * 1000000u;
		} else if (!strcmp(key, "max-steps")) {
			rc = num(&l, key, rest, 1000, UINT64_MAX, &cfg->max_steps);
		} else if (!strcmp(key, "ephemeral")) {
			cfg->durable = false;
		} else if (!strcmp(key, "overwrite")) {
			cfg->overwrite = true;
		} else if (!strcmp(key, "reattach")) {
			cfg->reattach = true;
		} else if (!strcmp(key, "rejoin-oldest")) {
			cfg->rejoin_oldest = true;
		} else if (!strcmp(key, "drop")) {
			cfg->drop = true;
		} else if (!strcmp(key, "plain-stores")) {
			cfg->plain_stores = true;
		} else if (!strcmp(key, "full-fences")) {
			cfg->full_fences = true;
		} else if (!strcmp(key, "alone")) {
			cfg->alone = true;
		} else if (!strcmp(key, "batch")) {
			cfg->batch = true;
		} else if (!strcmp(key, "send-batch")) {
			cfg->send_batch = true;
		} else if (!strcmp(key, "memory")) {
			if (!sim_memory_parse(rest, &cfg->memory))
				rc = bad(&l, "memory: '%s' is not a memory (sc, tso, weak or c11)",
					 rest);
		} else if (!strcmp(key, "tear")) {
			if (strcmp(rest, "bytes"))
				rc = bad(&l, "tear: '%s' is not a way to tear (bytes)", rest);
			cfg->tear_bytes = true;
		} else if (!strcmp(key, "break")) {
			if (!strcmp(rest, "wake"))
				cfg->breakage = BREAK_WAKE;
			else if (!strcmp(rest, "sync"))
				cfg->breakage = BREAK_SYNC;
			else if (!strcmp(rest, "fence"))
				cfg->breakage = BREAK_FENCE;
			else if (!strcmp(rest, "release"))
				cfg->breakage = BREAK_RELEASE;
			else
				rc = bad(&l,
					 "break: '%s' is not a breakage a schedule can have (wake, "
					 "sync or fence)",
					 rest);
		} else if (!strcmp(key, "deaths")) {
			rc = steps(&l, key, rest, t->ev_at[EV_DEATH], &t->events[EV_DEATH]);
		} else if (!strcmp(key, "stalls")) {
			rc = steps(&l, key, rest, t->ev_at[EV_STALL], &t->events[EV_STALL]);
		} else if (!strcmp(key, "crashes")) {
			rc = steps(&l, key, rest, t->ev_at[EV_CRASH], &t->events[EV_CRASH]);
		} else if (!strcmp(key, "power-cuts")) {
			rc = steps(&l, key, rest, t->ev_at[EV_POWER], &t->events[EV_POWER]);
		} else if (!strcmp(key, "choices")) {
			rc = choices(&l, rest, t);
		} else {
			rc = bad(&l, "unknown key '%s'", key);
		}
	}
	if (!rc && ferror(f))
		rc = bad(&l, "%s", strerror(errno));
	fclose(f);
	if (rc)
		return -1;
	if (!version)
		return bad(&l, "empty: not a schedule of mapq-sim");
	if (seen != 63)
		return bad(&l, "the workload is incomplete (writers, readers, messages, capacity, "
			       "min-size and max-size are needed)");
	if (cfg->min_size > cfg->max_size || cfg->max_size + 32 > cfg->capacity / 2)
		return bad(&l, "min-size, max-size and capacity do not fit together");
	if (cfg->alone && cfg->writers != 1)
		return bad(&l,
			   "alone: the workload has %u writers (a queue with one writer slot "
			   "has room for one)",
			   cfg->writers);
	memcpy(cfg->events, t->events, sizeof(cfg->events));
	cfg->strategy = SIM_TAPE;
	return 0;
}
