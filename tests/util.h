/* SPDX-License-Identifier: MIT */
/*
 * util.h - what every test program shares: checks that print file:line
 * and both values, a private temporary directory, and exit codes that the
 * automake harness understands (0 pass, 77 skip, 99 hard error, 1 fail).
 * The checks are never compiled out (no assert(), no NDEBUG).
 */
#ifndef MAPQ_TEST_UTIL_H
#define MAPQ_TEST_UTIL_H

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "mapq.h"

#define T_SKIP 77
#define T_ERROR 99

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			t_fail(__FILE__, __LINE__, "check failed: %s", #cond); \
	} while (0)

/* Compare two integers; prints both on failure. */
#define CHECK_EQ(a, b)                                                                        \
	do {                                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);                           \
		if (a_ != b_)                                                                 \
			t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
	} while (0)

/* A mapq call that must return @want; names both codes on failure. */
#define CHECK_RC(call, want)                                                                    \
	do {                                                                                    \
		long long r_ = (long long)(call), w_ = (long long)(want);                       \
		if (r_ != w_)                                                                   \
			t_fail(__FILE__, __LINE__, "%s returned %lld (%s: %s), want %lld (%s)", \
			       #call, r_, mapq_err_name((int)r_), mapq_strerror((int)r_), w_,   \
			       mapq_err_name((int)w_));                                         \
	} while (0)

#define CHECK_OK(call) CHECK_RC(call, 0)

/* Two strings equal (a NULL is no string); prints both on failure. */
#define CHECK_STR(a, b)                                                                  \
	do {                                                                             \
		const char *a_ = (a), *b_ = (b);                                         \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                   \
			t_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, \
			       a_ ? a_ : "(null)", b_ ? b_ : "(null)");                  \
	} while (0)

__attribute__((noreturn, format(printf, 3, 4))) void t_fail(const char *file, int line,
							    const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2))) void t_skip(const char *fmt, ...);

/* A fresh directory for this test, removed at exit (unless T_KEEP=1). */
const char *t_dir(void);
/* t_dir()/name, in static storage that rotates over 8 buffers. */
const char *t_path(const char *name);

/* Every queue t_create made (external, so the stores are not optimised
 * away: forked children rely on these pointers being reachable). */
#define T_MAX_QUEUES 64
extern mapq *t_queues[T_MAX_QUEUES];

/* Create a queue with the given capacity and policy (other fields default). */
mapq *t_create(const char *name, uint64_t capacity, int policy);

/* Deterministic payloads: fill and check (writer, seq) stamped messages. */
size_t t_fill(void *buf, size_t len, uint32_t writer, uint64_t seq);
int t_check_payload(const void *buf, size_t len, uint32_t *writer, uint64_t *seq);

/* End this (forked) process the way a crash would: SIGKILL, no cleanup. */
__attribute__((noreturn)) void t_die(void);

/* End a forked child without running the parent's exit handlers or
 * flushing its copy of their stdio buffers (_exit), keeping coverage. */
__attribute__((noreturn)) void t_exit(int code);
/* Send @len bytes of @buf with timeout 0 until the ring is full (the send
 * fails with -EAGAIN); how many were sent. Fails the test if any other
 * error comes back, or if the ring never fills (writers that do not block
 * must not keep a test busy for ever). */
int t_send_until_full(mapq *q, const void *buf, size_t len);

/* Send @len bytes of @buf as mapq_send() does, but through mapq_reserve()
 * and mapq_commit(): a frame published late, whose writer a repairer can
 * forsake until its commit (doc/format.md, "Publish early"), whatever
 * its size. mapq_send() publishes a small frame early. */
int t_send_late(mapq *q, const void *buf, size_t len, int timeout_ms);

/* The library's internal create (src/create.c): a new queue file at
 * @path, its descriptor or -errno. */
int t_create_file(const char *path, const mapq_options *opt, bool unnamed);
/* How many of the library's temporary files (".mapq-tmp.*") are in the
 * test directory; each one is named on stderr. */
int t_temp_files(void);
/* Descriptors this process has open (a leak check's count). */
int t_count_fds(void);
/* The bytes the process has allocated and not freed, exactly, where the
 * allocator tells (AddressSanitizer's builds); -1 elsewhere. For memory
 * LeakSanitizer cannot call leaked, because something still points to it. */
long long t_heap_bytes(void);

/* fork() a child that reports to us through a pipe. In the child
 * (returns 0) *fd is the pipe's write end and alarm(@alarm_s) is armed, so
 * a child stuck in a wait dies; in the parent (returns the pid) *fd is the
 * read end, ours of the write end closed: a child that dies gives EOF, not
 * a hang. */
pid_t t_fork_reporting(unsigned alarm_s, int *fd);
/* In such a child: write @len bytes of @buf to @fd and exit, 0 if all
 * were written. */
__attribute__((noreturn)) void t_report(int fd, const void *buf, size_t len);
/* Wait for a child and return its exit status (or 128 + signal). */
int t_wait_child(int pid);
/* Wait until child @pid stops (a fault point's `stop', SIGSTOP): true if
 * it did, false if it ended instead. Until t_wait_child() reaps it, a
 * test that ends, failing or not, kills it: none is left stopped. */
bool t_wait_stopped(pid_t pid);

uint64_t t_now_ms(void);
/* Wait (at most @ms) until a sleeper flag of the queue's control area is
 * up: another process is about to sleep, or asleep. False if it never
 * rose. */
bool t_until_flag(_Atomic uint32_t *flag, unsigned ms);

/* @n scaled by $T_SCALE (default 1, e.g. 0.1 under Valgrind), at least 1. */
uint64_t t_scaled(uint64_t n);

#endif
