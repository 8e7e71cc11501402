/* SPDX-License-Identifier: MIT */
/*
 * win_util.h - what the Windows tests share (tests/win_util.c): a test
 * directory of their own, made the queue directory and removed at the
 * end, pass or fail; checks that name the line and end the test; and
 * child processes that are never left behind.
 */
#ifndef MAPQ_WIN_UTIL_H
#define MAPQ_WIN_UTIL_H

#include <stdint.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "mapq.h"

/* The test directory (empty until wt_start()). */
extern char wt_dir[MAX_PATH];

/* Make a fresh directory under %TEMP% named after @test, and make it the
 * queue directory (%MAPQ_DIR%) of this process and its children, who also
 * learn the parent's pid (%WT_PARENT%), which names its events. */
void wt_start(const char *test);
/* In a child (wt_spawn()): name the test, for messages and events. */
void wt_child(const char *test);
/* Remove the test directory and what is in it; terminate the children. */
void wt_cleanup(void);
/* "FILE:LINE: message" on stderr, wt_cleanup(), exit(1). */
__attribute__((noreturn, format(printf, 2, 3))) void wt_fail(int line, const char *fmt, ...);

#define CHECK(c) ((c) ? (void)0 : wt_fail(__LINE__, "%s", #c))
#define CHECK_RC(call, want)                                                                     \
	do {                                                                                     \
		int rc_ = (int)(call);                                                           \
		if (rc_ != (want))                                                               \
			wt_fail(__LINE__, "%s: %s (%d), not %s (%d)", #call, mapq_strerror(rc_), \
				rc_, mapq_strerror(want), (want));                               \
	} while (0)
#define CHECK_OK(call) CHECK_RC(call, 0)

void wt_send_str(mapq *q, const char *s);
/* The next message of @r is @want, within @timeout_ms. */
void wt_expect_str(mapq_reader *r, const char *want, int timeout_ms);

/* This program run again as a child, with @args after its own path
 * (at most 16 children at once). */
HANDLE wt_spawn(const char *args);
/* Wait at most @timeout_ms for @child to end: its exit status, or a
 * failure of the test if it does not end in time (it is then killed). */
DWORD wt_wait(HANDLE child, DWORD timeout_ms);
/* TerminateProcess(), as a kill -9 would, and wait for the end. */
void wt_kill(HANDLE child);

/* A named event of this test (manual reset), for "ready" and "go". */
HANDLE wt_event(const char *name);
/* Milliseconds on a clock every process reads alike. */
double wt_ms(void);

#endif
