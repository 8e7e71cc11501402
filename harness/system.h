/* SPDX-License-Identifier: MIT */
/*
 * system.h - what the torture harness takes from its operating system:
 * child processes (started in a role, killed, stopped, waited for), the
 * signal a reader child sends once it is attached, shared mappings of
 * files, clocks, and the run directory. system_posix.c is Linux's,
 * system_win32.c Windows'; the rest of harness/ calls nothing of the
 * system beyond C11 and the public header.
 */
#ifndef MAPQ_TORTURE_SYSTEM_H
#define MAPQ_TORTURE_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A child process: its pid (POSIX) or process handle (Windows); 0: none. */
typedef intptr_t tt_proc;

/* On Windows, the exit status of a process tt_kill() ended, as a shell
 * reports a SIGKILL. */
#define TT_KILLED 137

/* How a child ended. */
struct tt_exit {
	bool killed;  /* by a signal (POSIX); by TerminateProcess() or an
			 exception (Windows) */
	bool sigkill; /* the way tt_kill() and a fault point kill: SIGKILL,
			 or TerminateProcess() with TT_KILLED */
	int code;     /* the exit status, the signal, or the exception code */
};
/* "killed by signal 11", "exited with status 2", into @buf. */
const char *tt_exit_text(const struct tt_exit *e, char *buf, size_t size);

/* This program's path, to start children from: 0, or -errno. */
int tt_self(char *buf, size_t size);
/* Start @self with the arguments @argv (argv[0] included, NULL last),
 * with $MAPQ_FAULT set to @fault, or unset when NULL: the child, or 0
 * (errno says why). */
tt_proc tt_spawn(const char *self, const char *const argv[], const char *fault);
/* Has @p ended? If so, how, and @p is gone. Does not wait. */
bool tt_ended(tt_proc p, struct tt_exit *e);
/* Kill @p at once, as a crash would (SIGKILL, TerminateProcess()), and
 * wait for its end: @p is gone. */
void tt_kill(tt_proc p);
/* Stop and continue @p (SIGSTOP and SIGCONT; NtSuspendProcess() and
 * NtResumeProcess()): false if the platform cannot. */
bool tt_stop(tt_proc p);
void tt_cont(tt_proc p);

/* The one-byte signal a reader child sends once it is attached: opened
 * by the parent before it starts the child, whose arguments carry
 * @token; tt_ready_started() after the start, then tt_ready_wait(). */
struct tt_ready {
	intptr_t mine, theirs;
	char token[64];
};
int tt_ready_open(struct tt_ready *r);
void tt_ready_started(struct tt_ready *r);
/* true if the child signalled within @timeout_ms; closes @r either way */
bool tt_ready_wait(struct tt_ready *r, int timeout_ms);
/* In the child: send it (@token "-" is none). 0, or -1. */
int tt_ready_signal(const char *token);

/* A shared, writable mapping of the file @path: with @create, a new file
 * (that must not exist) of *@size bytes of zeros; else the whole of an
 * existing file, whose size is stored in *@size. NULL with *@err set to
 * -errno on failure. */
void *tt_map_file(const char *path, bool create, size_t *size, int *err);
void tt_unmap(void *m, size_t size);

uint64_t tt_now_ns(void);
void tt_sleep_ns(uint64_t ns);
uint32_t tt_getpid(void);
/* Where run directories go by default: /dev/shm, or %TEMP% on Windows. */
const char *tt_default_dir(void);
/* Make a new directory BASE/mapq-torture.XXXXXX into @buf: 0, or -errno. */
int tt_make_dir(char *buf, size_t size, const char *base);
/* Remove the file @path, or the empty directory @path. */
void tt_remove(const char *path);
void tt_remove_dir(const char *path);
bool tt_stderr_is_tty(void);
/* A child that died must not take the parent with it (SIGPIPE). */
void tt_ignore_sigpipe(void);

#endif
