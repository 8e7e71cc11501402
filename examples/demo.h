/* SPDX-License-Identifier: MIT */
/* demo.h - what the demo's sender and receiver share. */
#ifndef MAPQ_DEMO_H
#define MAPQ_DEMO_H

#define _POSIX_C_SOURCE 200809L /* sigaction, nanosleep */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <windows.h>
#endif

#include "mapq.h"

/* The original demo maps its file under the name "ZJ". A name without a
 * separator is a queue in the queue directory ($MAPQ_DIR, else /dev/shm on
 * Linux and %LOCALAPPDATA%\mapq on Windows); --dir DIR makes it DIR/ZJ. */
#define DEMO_REQUEST "ZJ"     /* sender -> receiver */
#define DEMO_REPLY "ZJ-reply" /* receiver -> sender */

static volatile sig_atomic_t demo_stop;

static void demo_on_signal(int sig)
{
	(void)sig;
	demo_stop = 1;
}

/* Ctrl-C and SIGTERM stop the loop; blocking calls wake within 200 ms. */
static void demo_signals(void)
{
#ifdef _WIN32
	signal(SIGINT, demo_on_signal);
	signal(SIGTERM, demo_on_signal);
#else
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = demo_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
#endif
}

static void demo_sleep_ms(long ms)
{
#ifdef _WIN32
	Sleep((DWORD)ms);
#else
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL); /* a signal cuts it short: fine, we then stop */
#endif
}

/* The queue @name, in @dir if one was given. */
static void demo_queue(char *out, size_t n, const char *dir, const char *name)
{
	if (dir)
		snprintf(out, n, "%s/%s", dir, name);
	else
		snprintf(out, n, "%s", name);
}

static long demo_arg(const char *flag, const char *v, long lo, long hi)
{
	char *end;
	long n = v ? strtol(v, &end, 10) : 0;
	if (!v || *end || n < lo || n > hi) {
		fprintf(stderr, "%s needs a number from %ld to %ld\n", flag, lo, hi);
		exit(2);
	}
	return n;
}

#endif
