/* SPDX-License-Identifier: MIT */
/*
 * recv.c - `mapq recv` and `mapq tail`: print messages as text, hex,
 * length-prefixed records or JSON lines.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char recv_help[] =
	"Usage: mapq recv [OPTIONS] QUEUE\n"
	"Print the messages waiting in QUEUE, one per line, and exit when none is\n"
	"left (or, with --timeout, when none arrives for that long).\n\n"
	"  --from WHERE   oldest (default), latest (only what arrives from now on),\n"
	"                 or resume (the durable reader --name's saved cursor)\n"
	"  --name READER  read as the durable reader READER: its cursor is kept in\n"
	"                 the queue, so the next 'recv --name READER' continues\n"
	"                 after the last message printed (default --from resume)\n"
	"  --count N      stop after N messages\n"
	"  --timeout MS   wait up to MS for each next message; -1 waits for ever (0)\n"
	"  --hex          print each message as hexadecimal\n"
	"  --binary       write each message as a 4-byte little-endian length and\n"
	"                 its bytes (what 'send --binary' reads)\n"
	"  --json         one JSON object per message: pos, writer, len, data\n"
	"  -h, --help     this text\n\n"
	"Text output escapes nothing: use --hex, --json or --binary for binary data.\n";

static const char tail_help[] =
	"Usage: mapq tail [OPTIONS] QUEUE\n"
	"Print the last messages retained in QUEUE, and with -f keep printing new\n"
	"ones until interrupted (Ctrl-C).\n\n"
	"  -n, --lines N  how many of the last messages to print first (10)\n"
	"  -f, --follow   then wait for new messages, for ever\n"
	"  --from WHERE, --name READER, --count N, --timeout MS, --hex, --binary,\n"
	"  --json         as for 'mapq recv' (--from or --name replaces -n)\n"
	"  -h, --help     this text\n";

enum out_fmt {
	OUT_TEXT,
	OUT_HEX,
	OUT_BINARY,
	OUT_JSON
};

struct kept {
	uint64_t pos;
	uint32_t writer;
	size_t len;
	char *data;
};

static void emit(enum out_fmt fmt, uint64_t pos, uint32_t writer, const void *data, size_t len)
{
	const unsigned char *p = data;
	switch (fmt) {
	case OUT_TEXT:
		fwrite(data, 1, len, stdout);
		putchar('\n');
		break;
	case OUT_HEX:
		for (size_t i = 0; i < len; i++)
			printf("%02x", p[i]);
		putchar('\n');
		break;
	case OUT_BINARY: {
		unsigned char h[4] = { (unsigned char)len, (unsigned char)(len >> 8),
				       (unsigned char)(len >> 16), (unsigned char)(len >> 24) };
		fwrite(h, 1, 4, stdout);
		fwrite(data, 1, len, stdout);
		break;
	}
	case OUT_JSON:
		printf("{\"pos\":%llu,\"writer\":%u,\"len\":%zu,\"data\":", (unsigned long long)pos,
		       writer, len);
		json_str(stdout, data, len);
		printf("}\n");
		break;
	}
}

/* mapq_read() in slices of 200 ms, so that Ctrl-C is seen while waiting. */
static int read_next(mapq_reader *r, mapq_msg *m, int timeout)
{
	if (timeout == 0)
		return mapq_read(r, m, 0);
	uint64_t end = timeout < 0 ? UINT64_MAX : cli_now_ms() + (uint64_t)timeout;
	for (;;) {
		uint64_t now = cli_now_ms();
		int slice = end - now < 200 ? (int)(end - now) : 200;
		int err = mapq_read(r, m, slice);
		if (err != -ETIMEDOUT)
			return err;
		if (cli_stop || cli_now_ms() >= end)
			return -ETIMEDOUT;
	}
}

/* What the command line asked for. */
struct recv_args {
	const char *cmd; /* "recv" or "tail" */
	const char *queue;
	const char *name; /* durable reader, or NULL */
	int from;         /* MAPQ_START_* */
	int timeout;
	uint64_t count;
	uint64_t lines; /* tail: how many of the last to print first */
	enum out_fmt fmt;
	bool tail, follow;
	bool last_n; /* tail without --from or --name: start from the last lines */
};

/* Parse the command line into @a: -1, or the exit status to end with. */
static int parse_args(struct recv_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'F' },
		{ "name", required_argument, NULL, 'N' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "hex", no_argument, NULL, 'x' },
		{ "binary", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "lines", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0];
	bool tail = strcmp(cmd, "tail") == 0;
	*a = (struct recv_args){ .cmd = cmd,
				 .from = -1,
				 .count = UINT64_MAX,
				 .lines = 10,
				 .fmt = OUT_TEXT,
				 .tail = tail };
	struct cli_opts o = { .cmd = cmd,
			      .help = tail ? tail_help : recv_help,
			      .opts = opts,
			      .shortopts = tail ? "n:fh" : "h" };
	int nfmt = 0, c;
	while ((c = cli_getopt(&o, argc, argv)) != -1) {
		switch (c) {
		case CLI_OPT_EXIT:
			return o.status;
		case 'F':
			if (strcmp(optarg, "oldest") == 0)
				a->from = MAPQ_START_OLDEST;
			else if (strcmp(optarg, "latest") == 0)
				a->from = MAPQ_START_LATEST;
			else if (strcmp(optarg, "resume") == 0)
				a->from = MAPQ_START_RESUME;
			else
				return cli_usage(cmd, "--from %s: use oldest, latest or resume",
						 optarg);
			break;
		case 'N':
			if (!*optarg || strlen(optarg) > MAPQ_NAME_MAX)
				return cli_usage(cmd, "--name: 1 to %d bytes", MAPQ_NAME_MAX);
			a->name = optarg;
			break;
		case 'c':
			if (!cli_u64(cmd, "--count", optarg, 1, UINT64_MAX, false, &a->count))
				return EXIT_USAGE;
			break;
		case 't':
			if (!cli_timeout(cmd, optarg, &a->timeout))
				return EXIT_USAGE;
			break;
		case 'x':
		case 'b':
			a->fmt = c == 'x' ? OUT_HEX : OUT_BINARY;
			nfmt++;
			break;
		case 'n':
			if (!tail)
				return cli_usage(cmd, "unknown option --lines");
			if (!cli_u64(cmd, "--lines", optarg, 0, 1000000, false, &a->lines))
				return EXIT_USAGE;
			break;
		case 'f':
			if (!tail)
				return cli_usage(cmd, "unknown option --follow");
			a->follow = true;
			break;
		}
	}
	if (o.json) {
		a->fmt = OUT_JSON;
		nfmt++;
	}
	if (optind != argc - 1)
		return cli_usage(cmd, "give exactly one QUEUE");
	if (nfmt > 1)
		return cli_usage(cmd, "choose one of --hex, --binary and --json");
	if (a->from == MAPQ_START_RESUME && !a->name)
		return cli_usage(cmd, "--from resume needs --name READER");
	a->last_n = tail && a->from < 0 && !a->name;
	if (a->from < 0)
		a->from = a->name ? MAPQ_START_RESUME : MAPQ_START_OLDEST;
	if (a->follow)
		a->timeout = MAPQ_FOREVER;
	a->queue = argv[optind];
	return -1;
}

/* Open the queue and attach the reader. 0, or 1 (said why). */
static int attach(const struct recv_args *a, int from, mapq **q, mapq_reader **r)
{
	if (cli_open(a->queue, 0, NULL, q))
		return 1;
	int err = mapq_reader_open(*q, r, a->name, from);
	if (!err)
		return 0;
	if (err == -EBUSY)
		fprintf(stderr, "mapq: %s: %s: reader %s is attached elsewhere\n", a->queue, a->cmd,
			a->name);
	else
		cli_fail(a->queue, "cannot attach a reader", err);
	mapq_close(*q);
	return 1;
}

/* tail: everything retained now, printing the last @a->lines. 0 or -errno. */
static int print_last(const struct recv_args *a, mapq_reader *r, uint64_t *done)
{
	struct kept *k = calloc(a->lines, sizeof(*k));
	if (!k)
		return -ENOMEM;
	uint64_t n = 0, lines = a->lines;
	mapq_msg m;
	int err;
	while ((err = mapq_read(r, &m, 0)) != -EAGAIN) {
		if (err == -MAPQ_ELAPPED || err == -MAPQ_EFRAMECRC)
			continue; /* counted below only when following */
		if (err)
			break;
		struct kept *e = &k[n++ % lines];
		char *d = realloc(e->data, m.len ? m.len : 1);
		if (!d) {
			err = -ENOMEM;
			break;
		}
		memcpy(d, m.data, m.len);
		*e = (struct kept){ m.pos, m.writer, m.len, d };
		err = mapq_release(r);
		if (err == -MAPQ_ELAPPED)
			n--; /* overwritten while copied: not a message */
		else if (err)
			break;
		err = 0;
	}
	if (err == -EAGAIN)
		err = 0;
	for (uint64_t i = n > lines ? n - lines : 0; i < n && *done < a->count; i++, ++*done) {
		struct kept *e = &k[i % lines];
		emit(a->fmt, e->pos, e->writer, e->data, e->len);
	}
	for (uint64_t i = 0; i < lines; i++)
		free(k[i].data);
	free(k);
	return err;
}

/* Print messages as they come, until --count, --timeout or Ctrl-C. @copy:
 * a buffer of the largest message, for the overwrite policy (else NULL).
 * 0, or 1 (said why). */
static int stream(const struct recv_args *a, mapq_reader *r, char *copy, uint64_t *done)
{
	const char *queue = a->queue, *cmd = a->cmd;
	while (*done < a->count && !cli_stop) {
		mapq_msg m;
		int err = mapq_read(r, &m, 0);
		if (err == -EAGAIN) {
			/* about to wait: let whoever reads our output see it all */
			fflush(stdout);
			err = read_next(r, &m, a->timeout);
		}
		if (err == -EAGAIN || err == -ETIMEDOUT)
			return 0;
		if (err == -MAPQ_ELAPPED) {
			fprintf(stderr, "mapq: %s: %s: overtaken by writers: %llu messages lost\n",
				queue, cmd, (unsigned long long)mapq_reader_lost(r));
			continue;
		}
		if (err == -MAPQ_EFRAMECRC) {
			fprintf(stderr, "mapq: %s: %s: a message failed its CRC and was skipped\n",
				queue, cmd);
			continue;
		}
		if (err) {
			cli_fail(queue, cmd, err);
			return 1;
		}
		if (copy) {
			/* Overwrite policy: the bytes are ours only if release
			 * says no writer overwrote them meanwhile. */
			memcpy(copy, m.data, m.len);
			err = mapq_release(r);
			if (err == -MAPQ_ELAPPED) {
				fprintf(stderr,
					"mapq: %s: %s: message at %llu was overwritten while "
					"read; skipped\n",
					queue, cmd, (unsigned long long)m.pos);
				continue;
			}
			if (!err)
				emit(a->fmt, m.pos, m.writer, copy, m.len);
		} else {
			emit(a->fmt, m.pos, m.writer, m.data, m.len);
			/* A durable reader's cursor must not pass what the user
			 * has not got yet: flush first, then release. */
			if (a->name)
				fflush(stdout);
			err = mapq_release(r);
		}
		if (err) {
			cli_fail(queue, cmd, err);
			return 1;
		}
		++*done;
	}
	return 0;
}

int cmd_recv(int argc, char **argv)
{
	struct recv_args a;
	int rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		return rc;
	rc = 0;
	/* tail -n 0 -f: only what arrives from now on */
	int from = a.last_n && a.lines == 0 ? MAPQ_START_LATEST : a.from;
	mapq *q;
	mapq_reader *r;
	if (attach(&a, from, &q, &r))
		return 1;
	cli_catch_signals();
	mapq_geometry g;
	(void)mapq_info(q, &g);
	char *copy = NULL;
	if (g.policy == MAPQ_OVERWRITE && !(copy = malloc(g.max_msg ? g.max_msg : 1))) {
		cli_fail(a.queue, a.cmd, -ENOMEM);
		rc = 1;
	}
	uint64_t done = 0;
	if (rc == 0 && a.last_n && a.lines > 0) {
		int err = print_last(&a, r, &done);
		if (err) {
			cli_fail(a.queue, a.cmd, err);
			rc = 1;
		}
	}
	if (rc == 0 && (!a.last_n || a.follow))
		rc = stream(&a, r, copy, &done);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "mapq: %s: %s: writing output: %s\n", a.queue, a.cmd,
			strerror(errno));
		rc = 1;
	}
	free(copy);
	mapq_reader_close(r);
	mapq_close(q);
	return rc;
}
