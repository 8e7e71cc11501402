/* SPDX-License-Identifier: MIT */
/*
 * fault.c - arming and firing the named fault points of fault.h.
 *
 * A spec is a comma-separated list of NAME:N:ACTION, where the point
 * fires the Nth time it is reached after arming (N >= 1), and ACTION is
 * kill (SIGKILL to self), error (the step fails with -MAPQ_EINJECTED),
 * stall=MS (sleep), or stop (SIGSTOP to self, for a harness to resume).
 * MAPQ_FAULT in the environment arms a spec when the library loads.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static const char *const point_names[] = {
#define MAPQ_XX_FAULT_NAME(id, name) name,
	MAPQ_FAULT_POINTS(MAPQ_XX_FAULT_NAME)
#undef MAPQ_XX_FAULT_NAME
};

const char *mapq_fault_point(unsigned i)
{
	return i < MAPQ__F_COUNT ? point_names[i] : NULL;
}

static int point_id(const char *name, size_t len)
{
	for (unsigned i = 0; i < MAPQ__F_COUNT; i++)
		if (strlen(point_names[i]) == len && memcmp(point_names[i], name, len) == 0)
			return (int)i;
	return -1;
}

enum {
	ACT_KILL = 1,
	ACT_ERROR,
	ACT_STALL,
	ACT_STOP
};

struct arming {
	uint64_t nth; /* 0: not armed */
	int action;
	unsigned stall_ms;
};

/* Parse @spec into @out (one entry per point). 0 or -EINVAL. */
static int parse(const char *spec, struct arming out[MAPQ__F_COUNT])
{
	memset(out, 0, sizeof(struct arming) * MAPQ__F_COUNT);
	if (!spec || !*spec)
		return -EINVAL;
	for (const char *p = spec; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char item[96];
		if (n == 0 || n >= sizeof(item))
			return -EINVAL;
		memcpy(item, p, n);
		item[n] = 0;
		char *c1 = strchr(item, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c1 || !c2)
			return -EINVAL;
		int id = point_id(item, (size_t)(c1 - item));
		char *e;
		errno = 0;
		unsigned long long nth = strtoull(c1 + 1, &e, 10);
		if (id < 0 || e != c2 || nth == 0 || errno || c1[1] == '-')
			return -EINVAL;
		struct arming a = { .nth = nth };
		const char *act = c2 + 1;
		if (strcmp(act, "kill") == 0) {
			a.action = ACT_KILL;
		} else if (strcmp(act, "error") == 0) {
			a.action = ACT_ERROR;
		} else if (strcmp(act, "stop") == 0) {
			a.action = ACT_STOP;
		} else if (strncmp(act, "stall=", 6) == 0) {
			unsigned long ms = strtoul(act + 6, &e, 10);
			if (e == act + 6 || *e || ms > 600000 || act[6] == '-')
				return -EINVAL;
			a.action = ACT_STALL;
			a.stall_ms = (unsigned)ms;
		} else {
			return -EINVAL;
		}
		out[id] = a;
		p += n;
		if (*p == ',' && !*++p)
			return -EINVAL; /* a trailing comma: something is missing */
	}
	return 0;
}

#ifdef MAPQ_FAULT_INJECTION

#ifdef MAPQ_COVERAGE
/* gcov writes its counters at exit, which a killed process never reaches:
 * flush them first, so that the steps leading to a fault point count. */
void __gcov_dump(void);
#define flush_coverage() __gcov_dump()
#else
#define flush_coverage() ((void)0)
#endif

/* A stall's sleep: its own, not the platform layer's (os.h), because that
 * layer's calls are fault points and so sit above this file; in a
 * simulation build, the simulator's clock. */
static void stall(unsigned ms)
{
	uint64_t ns = (uint64_t)ms * 1000000u;
#ifdef MAPQ_SIM
	if (mapq__sim.sleep_ns && mapq__sim_active()) {
		mapq__sim.sleep_ns(ns);
		return;
	}
#endif
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

_Atomic int mapq__fault_armed;
static struct arming armed[MAPQ__F_COUNT];
/* Hits since arming, per point; atomic because threads share the table. */
static _Atomic uint64_t hits[MAPQ__F_COUNT];

int mapq__fault_hit(enum mapq__fault_id id)
{
	/* relaxed: a per-point counter; arming happened before (process-local) */
	uint64_t n = atomic_fetch_add_explicit(&hits[id], 1, memory_order_relaxed) + 1;
	const struct arming *a = &armed[id];
	if (!a->nth || n != a->nth)
		return 0;
	switch (a->action) {
	case ACT_KILL:
		flush_coverage();
		(void)raise(SIGKILL);
		break;
	case ACT_STOP:
		(void)raise(SIGSTOP);
		break;
	case ACT_STALL:
		stall(a->stall_ms);
		break;
	case ACT_ERROR:
		return -MAPQ_EINJECTED;
	}
	return 0;
}

int mapq_fault_arm(const char *spec)
{
	struct arming a[MAPQ__F_COUNT];
	int err = parse(spec, a);
	if (err)
		return err;
	mapq_fault_disarm();
	memcpy(armed, a, sizeof(armed));
	/* release: not needed for other threads (arm before starting them),
	 * but keeps the table's stores before the flag for signal handlers;
	 * process-local, as is all the state of this file */
	atomic_store_explicit(&mapq__fault_armed, 1, memory_order_release);
	return 0;
}

void mapq_fault_disarm(void)
{
	atomic_store_explicit(&mapq__fault_armed, 0, memory_order_relaxed); /* process-local */
	memset(armed, 0, sizeof(armed));
	for (unsigned i = 0; i < MAPQ__F_COUNT; i++)
		atomic_store_explicit(&hits[i], 0, memory_order_relaxed); /* process-local */
}

uint64_t mapq_fault_hits(const char *name)
{
	int id = name ? point_id(name, strlen(name)) : -1;
	/* process-local */
	return id < 0 ? 0 : atomic_load_explicit(&hits[id], memory_order_relaxed);
}

int mapq_fault_enabled(void)
{
	return 1;
}

/* MAPQ_FAULT in the environment: a test facility of fault-injection
 * builds only, so a bad spec is reported on stderr rather than ignored
 * in silence (there is no caller to return an error to). */
__attribute__((constructor)) static void arm_from_env(void)
{
	const char *spec = getenv("MAPQ_FAULT");
	if (spec && *spec && mapq_fault_arm(spec) != 0)
		(void)fprintf(stderr,
			      "libmapq: MAPQ_FAULT=\"%s\" is not a valid fault spec "
			      "(NAME:N:kill|error|stop|stall=MS[,...]); nothing armed\n",
			      spec);
}

#else /* !MAPQ_FAULT_INJECTION */

int mapq_fault_arm(const char *spec)
{
	struct arming a[MAPQ__F_COUNT];
	int err = parse(spec, a); /* a bad spec is still a bad spec */
	return err ? err : -ENOTSUP;
}

void mapq_fault_disarm(void)
{
}

uint64_t mapq_fault_hits(const char *name)
{
	(void)name;
	return 0;
}

int mapq_fault_enabled(void)
{
	return 0;
}

#endif
