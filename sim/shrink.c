/* SPDX-License-Identifier: MIT */
/*
 * shrink.c - make a failing schedule small enough to read.
 *
 * A failure found by a campaign is one schedule of thousands of steps,
 * most of them beside the point. Written down as a tape (simulator.h), the
 * schedule can be changed and run again: any tape is a valid schedule, so
 * the shrinker tries smaller ones and keeps each that fails the same way
 * (sim_result.kind), as Hypothesis shrinks a test case's choices:
 *   - fewer preemptions: runs of choices made 0 ("the one running goes
 *     on"), halves first, down to single ones;
 *   - a smaller workload: fewer writers, readers, messages;
 *   - fewer deaths, stalls and crashes, and each one earlier;
 *   - fewer choices: runs of them taken out, halves first.
 * A candidate is kept when it is smaller by the order of cost_of() below
 * (processes, then deaths and stalls, preemptions, steps, messages), until
 * a round changes nothing or the time is up. The result replays with `mapq-sim --schedule`.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "simulator.h"

struct cost {
	uint64_t c[6];
};

static struct cost cost_of(const struct sim_config *cfg, const struct sim_tape *t, uint64_t steps)
{
	uint64_t preempt = 0;
	for (size_t i = 0; i < t->n; i++)
		preempt += t->v[i] != 0;
	uint64_t events = 0;
	for (unsigned e = 0; e < EV_KINDS; e++)
		events += t->events[e];
	return (struct cost){ { cfg->writers + cfg->readers, events, preempt, steps, cfg->messages,
				t->n } };
}

static bool less(const struct cost *a, const struct cost *b)
{
	for (unsigned i = 0; i < 6; i++)
		if (a->c[i] != b->c[i])
			return a->c[i] < b->c[i];
	return false;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct shrinker {
	struct sim_config cfg; /* the smallest failing so far */
	struct sim_tape best;
	struct cost cost;
	const char *kind;
	struct sim_tape cand, rec;
	double deadline, next_report;
	bool quiet;
	struct sim_shrink_stats *st;
};

/* Run @cfg with the candidate tape; keep it if it fails the same way and
 * costs less. The tape kept is the one recorded: exactly the choices the
 * run made, so choices it never reached are gone. */
static bool attempt(struct shrinker *s, const struct sim_config *cfg)
{
	if (now_s() > s->deadline)
		return false;
	struct sim_config g = *cfg;
	memcpy(g.events, s->cand.events, sizeof(g.events));
	g.strategy = SIM_TAPE;
	s->st->runs++;
	if (sim_run(&g, s->cand.seed, &s->cand, &s->rec, false, NULL))
		return false;
	struct sim_result res;
	sim_judge(&res);
	if (res.pass || strcmp(res.kind, s->kind) || s->rec.oom)
		return false;
	struct cost c = cost_of(&g, &s->rec, sim_w.steps);
	if (!less(&c, &s->cost))
		return false;
	s->cfg = g;
	s->cost = c;
	s->st->accepted++;
	s->st->steps_after = sim_w.steps;
	(void)sim_tape_copy(&s->best, &s->rec);
	double t = now_s();
	if (!s->quiet && t >= s->next_report) {
		fprintf(stderr,
			"mapq-sim: shrinking: %llu schedules run; now %u writers, %u readers, %u "
			"messages, %u deaths, %u stalls, %u crashes, %u power cuts, %llu preemptions, "
			"%llu steps\n",
			(unsigned long long)s->st->runs, g.writers, g.readers, g.messages,
			g.events[EV_DEATH], g.events[EV_STALL], g.events[EV_CRASH],
			g.events[EV_POWER], (unsigned long long)c.c[2], (unsigned long long)c.c[3]);
		s->next_report = t + 2;
	}
	return true;
}

/* The candidate: the best tape, then changed by the caller. */
static void from_best(struct shrinker *s)
{
	(void)sim_tape_copy(&s->cand, &s->best);
}

static bool smaller_workload(struct shrinker *s)
{
	bool any = false;
	struct sim_config g;
	for (unsigned w = 1; w < s->cfg.writers; w++) {
		g = s->cfg, g.writers = w;
		from_best(s);
		if (attempt(s, &g)) {
			any = true;
			break;
		}
	}
	for (unsigned r = 1; r < s->cfg.readers; r++) {
		g = s->cfg, g.readers = r;
		from_best(s);
		if (attempt(s, &g)) {
			any = true;
			break;
		}
	}
	unsigned m = 1;
	while (m < s->cfg.messages) {
		g = s->cfg, g.messages = m;
		from_best(s);
		if (attempt(s, &g)) {
			any = true;
			continue; /* s->cfg.messages is m now: the loop ends */
		}
		m = m < s->cfg.messages / 2 ? 2 * m : m + 1;
	}
	return any;
}

/* Take out deaths, stalls and crashes, then move each one earlier
 * (halving the distance to the one before, or to step 1). */
static bool fewer_events(struct shrinker *s)
{
	bool any = false;
	for (unsigned e = 0; e < EV_KINDS; e++) {
		for (unsigned i = 0; i < s->best.events[e];) {
			from_best(s);
			uint64_t *at = s->cand.ev_at[e];
			unsigned n = s->cand.events[e]--;
			memmove(at + i, at + i + 1, (n - i - 1) * sizeof(*at));
			if (attempt(s, &s->cfg))
				any = true; /* the next one moved into place i */
			else
				i++;
		}
		for (unsigned i = 0; i < s->best.events[e]; i++) {
			for (;;) {
				const uint64_t *b = s->best.ev_at[e];
				uint64_t lo = i ? b[i - 1] : 1, cur = b[i];
				if (cur <= lo)
					break;
				from_best(s);
				s->cand.ev_at[e][i] = lo + (cur - lo) / 2;
				if (!attempt(s, &s->cfg))
					break;
				any = true;
			}
		}
	}
	return any;
}

static bool any_set(const struct sim_tape *t, size_t i, size_t k)
{
	for (size_t j = i; j < i + k && j < t->n; j++)
		if (t->v[j])
			return true;
	return false;
}

/* Make runs of choices 0, halves first, down to single ones: most of a
 * random schedule's preemptions are beside the point. */
static bool zero_choices(struct shrinker *s)
{
	bool any = false;
	for (size_t k = s->best.n / 2 ? s->best.n / 2 : 1;; k /= 2) {
		for (size_t i = 0; i < s->best.n && now_s() <= s->deadline; i += k) {
			if (!any_set(&s->best, i, k))
				continue;
			from_best(s);
			for (size_t j = i; j < i + k && j < s->cand.n; j++)
				s->cand.v[j] = 0;
			any |= attempt(s, &s->cfg);
		}
		if (k <= 1)
			break;
	}
	/* what is left: a smaller choice of other process */
	for (size_t i = 0; i < s->best.n && now_s() <= s->deadline; i++) {
		if (s->best.v[i] <= 1)
			continue;
		from_best(s);
		s->cand.v[i] = 1;
		any |= attempt(s, &s->cfg);
	}
	return any;
}

/* Take runs of choices out, halves first: shorter schedules. */
static bool drop_choices(struct shrinker *s)
{
	bool any = false;
	for (size_t k = s->best.n / 2 ? s->best.n / 2 : 1;; k /= 2) {
		for (size_t i = 0; i + k <= s->best.n && now_s() <= s->deadline;) {
			from_best(s);
			memmove(s->cand.v + i, s->cand.v + i + k,
				(s->cand.n - i - k) * sizeof(*s->cand.v));
			s->cand.n -= k;
			if (attempt(s, &s->cfg))
				any = true; /* the same i: what follows moved in */
			else
				i += k;
		}
		if (k <= 1)
			break;
	}
	return any;
}

void sim_shrink(struct sim_config *cfg, struct sim_tape *t, const char *kind, double budget_s,
		bool quiet, struct sim_shrink_stats *st)
{
	struct shrinker s = { .cfg = *cfg, .kind = kind, .quiet = quiet, .st = st };
	double t0 = now_s();
	memset(st, 0, sizeof(*st));
	s.deadline = t0 + budget_s;
	s.next_report = t0 + 2;
	memcpy(s.cfg.events, t->events, sizeof(s.cfg.events));
	s.cfg.strategy = SIM_TAPE;
	if (sim_tape_copy(&s.best, t) == 0) {
		/* the cost to beat: the schedule as recorded, run as a tape */
		st->runs++;
		(void)sim_run(&s.cfg, t->seed, t, NULL, false, NULL);
		st->steps_before = st->steps_after = sim_w.steps;
		s.cost = cost_of(&s.cfg, t, sim_w.steps);
		while (now_s() <= s.deadline) {
			bool any = zero_choices(&s);
			any |= smaller_workload(&s);
			any |= fewer_events(&s);
			any |= drop_choices(&s);
			if (!any)
				break;
		}
		*cfg = s.cfg;
		(void)sim_tape_copy(t, &s.best);
	}
	sim_tape_free(&s.best);
	sim_tape_free(&s.cand);
	sim_tape_free(&s.rec);
	st->seconds = now_s() - t0;
}
