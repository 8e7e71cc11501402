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

#include "mapq.h"

#define DEMO_REQUEST "demo-request.q" /* sender -> receiver */
#define DEMO_REPLY "demo-reply.q"     /* receiver -> sender */

static volatile sig_atomic_t demo_stop;

static void demo_on_signal(int sig)
{
	(void)sig;
	demo_stop = 1;
}

/* Ctrl-C and SIGTERM stop the loop; blocking calls wake within 200 ms. */
static void demo_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = demo_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void demo_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL); /* a signal cuts it short: fine, we then stop */
}

static void demo_path(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
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
