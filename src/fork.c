/* SPDX-License-Identifier: MIT */
/*
 * fork.c - telling the handles a forked child inherited from its own.
 *
 * A child made by fork() inherits the parent's handles, and with them the
 * parent's open file descriptions: its liveness lock tests see the
 * parent's locks as its own (so it would take the parent's writer for
 * dead and repair its frame as it is written), and closing a reader or
 * writer slot would free the parent's. So each handle remembers the fork
 * generation it was opened in; every fork() bumps the generation in the
 * child, and a call on a handle from an older generation is refused.
 *
 * getpid() would do the same, but it is a system call in every call; a
 * counter bumped by a pthread_atfork() handler costs one load.
 */
#include "config.h"

#include <pthread.h>

#include "internal.h"

/* Written only by the child's atfork handler, while the child has one
 * thread; read by that thread and the threads it starts afterwards
 * (thread creation orders the write before them): a plain variable. */
unsigned mapq__fork_gen;

static void bump(void)
{
	mapq__fork_gen++;
}

static pthread_once_t watch_once = PTHREAD_ONCE_INIT;

static void watch(void)
{
	/* No way to report a failure (ENOMEM): forks would then go unseen,
	 * as before this check existed. */
	(void)pthread_atfork(NULL, NULL, bump);
}

unsigned mapq__fork_watch(void)
{
	(void)pthread_once(&watch_once, watch);
	return mapq__fork_gen;
}
