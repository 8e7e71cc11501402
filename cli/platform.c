/* SPDX-License-Identifier: MIT */
/*
 * platform.c - what the `mapq` command does differently on Windows: how it
 * catches Ctrl-C, the mode of its standard streams, clocks, and lines of
 * input (getline() is POSIX, not C11). The library hides every other
 * difference (src/os.h).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <windows.h>
#endif

#include "cli.h"

volatile sig_atomic_t cli_stop;

static void on_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

void cli_catch_signals(void)
{
#ifdef _WIN32
	/* Windows runs the handler on a thread of its own, and cuts no wait
	 * short: the commands wait in slices of 200 ms and look at cli_stop
	 * between them. */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
#else
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: cut waits short */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
#endif
}

void cli_binary_stdio(void)
{
#ifdef _WIN32
	/* Messages are bytes: a "\n" written must not become "\r\n", a 0x1a
	 * read must not end the input. The same bytes on both platforms. */
	(void)_setmode(_fileno(stdin), _O_BINARY);
	(void)_setmode(_fileno(stdout), _O_BINARY);
	(void)_setmode(_fileno(stderr), _O_BINARY);
#endif
}

uint64_t cli_now_ms(void)
{
#ifdef _WIN32
	return GetTickCount64();
#else
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
#endif
}

bool cli_utc(int64_t seconds, struct tm *out)
{
	time_t t = (time_t)seconds;
#ifdef _WIN32
	return gmtime_s(out, &t) == 0;
#else
	return gmtime_r(&t, out) != NULL;
#endif
}

long long cli_getline(char **line, size_t *cap, FILE *f)
{
	size_t n = 0;
	int c;
	/* getc(), not fgets(): a NUL byte in a line is a byte like any other */
	while ((c = getc(f)) != EOF) {
		if (n + 1 >= *cap || !*line) {
			size_t want = *cap ? *cap * 2 : 256;
			char *p = realloc(*line, want);
			if (!p) {
				errno = ENOMEM;
				return -1;
			}
			*line = p;
			*cap = want;
		}
		(*line)[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (n == 0)
		return -1; /* end of input, or an error: ferror() tells */
	(*line)[n] = '\0';
	return (long long)n;
}
