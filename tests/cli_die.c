/* SPDX-License-Identifier: MIT */
/*
 * cli_die: a writer that dies mid-write, for tests/cli.sh (which must not
 * depend on a fault-injection build): `cli_die QUEUE` sends one message,
 * then reserves a second, writes half of it and is killed (SIGKILL), so
 * the queue holds a claimed frame whose writer is dead. On Windows, it
 * ends itself with TerminateProcess(), as Task Manager would.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#endif

#include "mapq.h"

int main(int argc, char **argv)
{
	mapq *q;
	void *p;
	if (argc != 2) {
		fprintf(stderr, "usage: cli_die QUEUE\n");
		return 2;
	}
	int err = mapq_open(&q, argv[1], 0, NULL);
	if (!err)
		err = mapq_send(q, "before the crash", 16, 0);
	if (!err)
		err = mapq_reserve(q, 64, &p, 0);
	if (err) {
		fprintf(stderr, "cli_die: %s: %s\n", argv[1], mapq_strerror(err));
		return 1;
	}
	memset(p, 'x', 32);
	fflush(NULL);
#ifdef _WIN32
	/* as Windows kills: no handler, no atexit, locks freed by the kernel;
	 * 137 is the status a shell gives a process killed by SIGKILL */
	TerminateProcess(GetCurrentProcess(), 137);
#else
	raise(SIGKILL);
#endif
	return 1;
}
