/* SPDX-License-Identifier: MIT */
/*
 * send.c - `mapq send`: messages from arguments, lines, or length-prefixed
 * records on standard input.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
	"Usage: mapq send [OPTIONS] QUEUE [MESSAGE...]\n"
	"Send each MESSAGE as one message; with none, send one message per line\n"
	"of standard input (without its newline).\n\n"
	"  --binary       read standard input as records: a 4-byte little-endian\n"
	"                 length, then that many bytes (what 'recv --binary' writes)\n"
	"  --timeout MS   how long to wait when the queue is full; 0 fails at once,\n"
	"                 -1 waits for ever (-1)\n"
	"  -q, --quiet    do not report the count on standard error\n"
	"  -h, --help     this text\n\n"
	"A message longer than the queue's max message stops the command with an\n"
	"error naming it; everything before it was sent.\n";

struct sender {
	const char *queue;
	mapq *q;
	int timeout;
	uint64_t sent;
	uint32_t max_msg;
};

/* One message; prints why and returns false when it cannot be sent. */
static bool send_one(struct sender *s, const void *data, size_t len, const char *what,
		     uint64_t index)
{
	if (len > s->max_msg) {
		fprintf(stderr,
			"mapq: %s: send: %s %llu is %zu bytes, more than the queue's max message "
			"(%u)\n",
			s->queue, what, (unsigned long long)index, len, s->max_msg);
		return false;
	}
	int err;
	if (s->timeout == MAPQ_FOREVER) {
		/* in slices, so Ctrl-C is noticed while the queue stays full */
		do
			err = mapq_send(s->q, data, len, 200);
		while (err == -ETIMEDOUT && !cli_stop);
		if (err == -ETIMEDOUT)
			return false;
	} else {
		err = mapq_send(s->q, data, len, s->timeout);
	}
	if (err == -EAGAIN || err == -ETIMEDOUT) {
		fprintf(stderr, "mapq: %s: send: queue still full after %d ms (%s %llu not sent)\n",
			s->queue, s->timeout, what, (unsigned long long)index);
		return false;
	}
	if (err) {
		char op[64];
		snprintf(op, sizeof(op), "send (%s %llu)", what, (unsigned long long)index);
		cli_fail(s->queue, op, err);
		return false;
	}
	s->sent++;
	return true;
}

static bool send_lines(struct sender *s)
{
	char *line = NULL;
	size_t cap = 0;
	long long n;
	uint64_t no = 0;
	bool ok = true;
	while (ok && !cli_stop && (n = cli_getline(&line, &cap, stdin)) >= 0) {
		no++;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		ok = send_one(s, line, (size_t)n, "line", no);
	}
	if (ok && ferror(stdin)) {
		fprintf(stderr, "mapq: %s: send: reading standard input: %s\n", s->queue,
			strerror(errno));
		ok = false;
	}
	free(line);
	return ok;
}

static bool send_records(struct sender *s)
{
	unsigned char hdr[4];
	char *buf = malloc(s->max_msg ? s->max_msg : 1);
	uint64_t no = 0;
	bool ok = buf != NULL;
	while (ok && !cli_stop) {
		size_t got = fread(hdr, 1, 4, stdin);
		if (got == 0 && feof(stdin))
			break;
		no++;
		if (got != 4) {
			fprintf(stderr,
				"mapq: %s: send: record %llu: input ends inside its length\n",
				s->queue, (unsigned long long)no);
			ok = false;
			break;
		}
		uint32_t len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
			       (uint32_t)hdr[3] << 24;
		if (len > s->max_msg) {
			ok = send_one(s, NULL, len, "record", no); /* reports the size */
			break;
		}
		if (fread(buf, 1, len, stdin) != len) {
			fprintf(stderr,
				"mapq: %s: send: record %llu: input ends inside its %u bytes; not "
				"sent\n",
				s->queue, (unsigned long long)no, len);
			ok = false;
			break;
		}
		ok = send_one(s, buf, len, "record", no);
	}
	free(buf);
	return ok;
}

int cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "binary", no_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sender s = { .timeout = MAPQ_FOREVER };
	struct cli_opts o = { .cmd = "send", .help = help, .opts = opts, .shortopts = "qh" };
	bool binary = false, quiet = false;
	int c;
	while ((c = cli_getopt(&o, argc, argv)) != -1) {
		switch (c) {
		case CLI_OPT_EXIT:
			return o.status;
		case 'b':
			binary = true;
			break;
		case 't':
			if (!cli_timeout("send", optarg, &s.timeout))
				return EXIT_USAGE;
			break;
		default: /* 'q' */
			quiet = true;
			break;
		}
	}
	if (optind >= argc)
		return cli_usage("send", "give a QUEUE");
	s.queue = argv[optind++];
	if (binary && optind < argc)
		return cli_usage("send", "--binary reads standard input; give no MESSAGE");
	if (cli_open(s.queue, 0, NULL, &s.q))
		return 1;
	mapq_geometry g;
	(void)mapq_info(s.q, &g);
	s.max_msg = g.max_msg;
	cli_catch_signals();
	bool ok = true;
	if (optind < argc)
		for (int i = optind; ok && i < argc && !cli_stop; i++)
			ok = send_one(&s, argv[i], strlen(argv[i]), "message",
				      (uint64_t)(i - optind + 1));
	else if (binary)
		ok = send_records(&s);
	else
		ok = send_lines(&s);
	mapq_close(s.q);
	if (!quiet && !(optind < argc))
		fprintf(stderr, "mapq: %s: sent %llu %s\n", s.queue, (unsigned long long)s.sent,
			cli_plural(s.sent, "message", "messages"));
	if (cli_stop && ok) {
		fprintf(stderr, "mapq: %s: send: interrupted after %llu %s\n", s.queue,
			(unsigned long long)s.sent, cli_plural(s.sent, "message", "messages"));
		return 1;
	}
	return ok ? 0 : 1;
}
