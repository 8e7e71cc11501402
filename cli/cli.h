/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the `mapq` command's subcommands share (cli/util.c).
 *
 * Every subcommand is one file with one entry point, cmd_NAME(argc, argv),
 * where argv[0] is the subcommand's name. Exit statuses: 0 success,
 * 1 failure, 2 bad usage; `verify` has its own (cli/verify.c).
 */
#ifndef MAPQ_CLI_H
#define MAPQ_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "mapq.h"

enum {
	EXIT_USAGE = 2
};

/* Where a queue name points, for --help (the library decides: src/os.h). */
#ifdef _WIN32
#define CLI_QUEUE_DIR "%MAPQ_DIR% (default %LOCALAPPDATA%\\mapq)"
#define CLI_SEPARATORS "'\\', '/' or ':'"
#define CLI_PATH_EXAMPLES ".\\ZJ, C:\\data\\q"
#else
#define CLI_QUEUE_DIR "$MAPQ_DIR (default /dev/shm)"
#define CLI_SEPARATORS "'/'"
#define CLI_PATH_EXAMPLES "./ZJ, /var/lib/app/q"
#endif

int cmd_create(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_readers(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_recover(int argc, char **argv);

/* "mapq: QUEUE: OP: cause", on stderr. @err is a library return code. */
void cli_fail(const char *queue, const char *op, int err);
/* "mapq CMD: message" for bad usage, plus a pointer to --help. Returns 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* mapq_open() with errors that say what was looked for and what was
 * found ("queue file is from format version 3, this mapq reads version
 * 1"). Prints the error itself; returns the library's code. */
int cli_open(const char *queue, int flags, const mapq_options *opt, mapq **q);

/* Numbers from the command line: the whole string, in range. A size may
 * end in K, M or G (powers of 1024). Return false after printing why. */
bool cli_u64(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi,
	     bool size_suffix, uint64_t *out);
bool cli_timeout(const char *cmd, const char *s, int *out);

/* JSON output: a string with every byte that is not printable ASCII
 * escaped (bytes >= 0x80 as \u00XX, so the output is always valid). */
void json_str(FILE *f, const void *s, size_t n);
/* Text output of bytes a user may see in a terminal: escapes like C. */
void text_str(FILE *f, const void *s, size_t n);

/* The first position at or after @from, before @end, where a frame is
 * published (16-byte steps); @end if none: how dump and verify step over
 * space that holds no frame. */
uint64_t cli_next_frame(const mapq *q, uint64_t from, uint64_t end);

const char *cli_slot_state(uint32_t state);
const char *cli_frame_kind(uint32_t kind);
/* "1.5 MiB" */
/* @one or @many, as @n calls for: "1 frame", "2 frames". */
const char *cli_plural(uint64_t n, const char *one, const char *many);
const char *cli_bytes(uint64_t n, char *buf, size_t size);

/*
 * The option parsing every subcommand shares. Give each subcommand's
 * --help the value 'h' and its --json (if it has one) 'j' in @opts.
 * cli_getopt() returns the next option for the caller to handle, -1 after
 * the last (then optind is the first operand), or CLI_OPT_EXIT when the
 * command is over: --help printed @help (status 0), or an unknown option
 * or a missing argument was reported, naming it (status @usage_status, or
 * EXIT_USAGE when that is 0). --json only sets @json.
 */
enum {
	CLI_OPT_EXIT = -2
};
struct cli_opts {
	const char *cmd;           /* "create" */
	const char *help;          /* printed for --help */
	const struct option *opts; /* getopt_long's long options */
	const char *shortopts;     /* its short ones ("h" at least) */
	int usage_status;          /* exit status for a usage error, if not 2 */
	bool json;                 /* --json was given */
	int status;                /* the exit status, after CLI_OPT_EXIT */
	bool started;
};
int cli_getopt(struct cli_opts *o, int argc, char **argv);

/* What differs by platform (cli/platform.c). Ctrl-C and SIGTERM set
 * cli_stop; loops check it between waits. */
extern volatile sig_atomic_t cli_stop;
void cli_catch_signals(void);
/* Standard input, output and error carry bytes as they are (Windows: binary
 * mode, no "\r\n"); main() calls it first. */
void cli_binary_stdio(void);
/* A monotonic clock, in milliseconds. */
uint64_t cli_now_ms(void);
/* Seconds since 1970 as UTC: false if the C library cannot say. */
bool cli_utc(int64_t seconds, struct tm *out);
/* One line of @f with its '\n' into *@line (grown as needed, as
 * getline() does): its length, or -1 at the end of input or on error
 * (ferror() tells which, errno says why). */
long long cli_getline(char **line, size_t *cap, FILE *f);

#endif /* MAPQ_CLI_H */
