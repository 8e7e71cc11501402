/* SPDX-License-Identifier: MIT */
/*
 * check.c - payloads every consumer checks byte for byte, clocks, shared
 * memory between the processes of a case, and latency statistics.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "bench.h"

/* Byte i of every payload, after the 8-byte stamp. */
static uint8_t ref[BENCH_MAX_SIZE];
static bool ref_ready;

static void ref_init(void)
{
	if (ref_ready)
		return;
	for (size_t i = 0; i < sizeof(ref); i++)
		ref[i] = (uint8_t)(i * 131 + 7);
	ref_ready = true;
}

/* The stamp: writer in the top byte, sequence below. */
void bench_pay_fill(void *buf, size_t size, unsigned writer, uint64_t seq)
{
	ref_init();
	uint64_t stamp = (uint64_t)writer << 56 | seq;
	memcpy(buf, &stamp, 8);
	if (size > 8)
		memcpy((uint8_t *)buf + 8, ref + 8, size - 8);
}

int bench_pay_check(const void *buf, size_t size, unsigned *writer, uint64_t *seq)
{
	ref_init();
	uint64_t stamp;
	memcpy(&stamp, buf, 8);
	*writer = (unsigned)(stamp >> 56);
	*seq = stamp & ((1ull << 56) - 1);
	return size > 8 && memcmp((const uint8_t *)buf + 8, ref + 8, size - 8) ? -1 : 0;
}

int bench_seq_accept(struct bench_seqcheck *s, const void *buf, size_t len, size_t size, char *why,
		     size_t whylen)
{
	unsigned w;
	uint64_t seq;
	if (len != size) {
		snprintf(why, whylen, "a message of %zu bytes, expected %zu", len, size);
		return -1;
	}
	if (bench_pay_check(buf, size, &w, &seq) != 0) {
		snprintf(why, whylen, "payload bytes differ from what was sent");
		return -1;
	}
	if (w >= BENCH_MAX_PROCS || seq != s->next[w]) {
		snprintf(why, whylen, "writer %u sequence %llu, expected %llu", w,
			 (unsigned long long)seq,
			 (unsigned long long)(w < BENCH_MAX_PROCS ? s->next[w] : 0));
		return -1;
	}
	s->next[w]++;
	return 0;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void *bench_shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mapq-bench: mmap");
		exit(1);
	}
	return p;
}

void bench_shared_free(void *p, size_t size)
{
	munmap(p, size);
}

#define CASE_LIMIT_S 600 /* far longer than any case runs: one still running hangs */

static void kill_and_reap(pid_t *pids, int n)
{
	bench_kill_all(pids, n);
	for (int i = 0; i < n; i++)
		if (pids[i] > 0) {
			waitpid(pids[i], NULL, 0);
			pids[i] = 0;
		}
}

/* Why child @i of a case failed, from waitpid()'s @r and @st. */
static void child_failed(char *why, size_t whylen, int i, pid_t r, int st)
{
	if (r < 0)
		snprintf(why, whylen, "process %d of the case could not be waited for: %s", i,
			 strerror(errno));
	else if (WIFSIGNALED(st))
		snprintf(why, whylen, "process %d of the case was killed by signal %d", i,
			 WTERMSIG(st));
	else
		snprintf(why, whylen, "process %d of the case exited with %d", i, WEXITSTATUS(st));
}

/* Every child's end, looked for every 50 ms (a parent that woke more
 * often would take CPU time from the case it measures), and the case
 * killed if it is still running after CASE_LIMIT_S. */
bool bench_wait_all(pid_t *pids, int n, char *why, size_t whylen)
{
	bool ok = true;
	const struct timespec tick = { 0, 50000000 };
	uint64_t t0 = bench_now_ns();
	for (;;) {
		int left = 0;
		for (int i = 0; i < n; i++) {
			int st;
			if (pids[i] <= 0)
				continue;
			pid_t r = waitpid(pids[i], &st, WNOHANG);
			if (r == 0) {
				left++;
				continue;
			}
			if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
				if (ok)
					child_failed(why, whylen, i, r, st);
				ok = false;
			}
			pids[i] = 0;
		}
		if (!left)
			return ok;
		if (bench_now_ns() - t0 > (uint64_t)CASE_LIMIT_S * 1000000000u) {
			snprintf(why, whylen, "the case ran past %d s: its processes were killed",
				 CASE_LIMIT_S);
			kill_and_reap(pids, n);
			return false;
		}
		nanosleep(&tick, NULL);
	}
}

void bench_kill_all(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void bench_lat_stats(uint64_t *v, uint64_t n, struct bench_lat_result *out)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	out->p50 = (double)v[n / 2];
	out->p99 = (double)v[n * 99 / 100];
	out->p999 = (double)v[n * 999 / 1000];
	out->max = (double)v[n - 1];
	out->ok = true;
}
