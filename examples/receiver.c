/* SPDX-License-Identifier: MIT */
/* mapq-receiver: prints each request and answers "second data!+i". */
#include "demo.h"

static const char usage[] = "usage: mapq-receiver [--dir DIR] [--count N] [--wait SECONDS]\n"
			    "Opens the queues " DEMO_REQUEST " and " DEMO_REPLY
			    " made by mapq-sender (in DIR if given)\n"
			    "(waiting up to SECONDS for them, default 0), prints each message and\n"
			    "replies \"second data!+i\". Stops after N messages or on Ctrl-C.\n";

static int open_queue(mapq **q, const char *path, long wait_s)
{
	int rc;
	for (long t = 0;; t++) {
		rc = mapq_open(q, path, 0, NULL);
		if (rc != -ENOENT || t >= wait_s * 10 || demo_stop)
			break;
		demo_sleep_ms(100);
	}
	if (rc)
		fprintf(stderr, "mapq-receiver: %s: %s%s\n", path, mapq_strerror(rc),
			rc == -ENOENT ? " (start mapq-sender first, or use --wait)" : "");
	return rc;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	long count = -1, wait_s = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--count"))
			count = demo_arg("--count", argv[++i < argc ? i : 0], 1, 1L << 30);
		else if (!strcmp(argv[i], "--wait"))
			wait_s = demo_arg("--wait", argv[++i < argc ? i : 0], 0, 3600);
		else {
			fputs(usage, strcmp(argv[i], "--help") ? stderr : stdout);
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	demo_signals();
	char req_path[4096], rep_path[4096];
	demo_queue(req_path, sizeof(req_path), dir, DEMO_REQUEST);
	demo_queue(rep_path, sizeof(rep_path), dir, DEMO_REPLY);
	mapq *req, *rep;
	mapq_reader *in;
	if (open_queue(&req, req_path, wait_s) || open_queue(&rep, rep_path, wait_s))
		return 1;
	int rc = mapq_reader_open(req, &in, NULL, MAPQ_START_OLDEST);
	if (rc) {
		fprintf(stderr, "mapq-receiver: reader: %s\n", mapq_strerror(rc));
		return 1;
	}
	for (long i = 1; !demo_stop && (count < 0 || i <= count);) {
		char msg[256], reply[64];
		ssize_t n = mapq_recv(in, msg, sizeof(msg) - 1, 200);
		if (n == -ETIMEDOUT)
			continue;
		if (n < 0) {
			fprintf(stderr, "mapq-receiver: receive: %s\n", mapq_strerror((int)n));
			rc = (int)n;
			break;
		}
		msg[n] = '\0';
		printf("received: %s\n", msg);
		int len = snprintf(reply, sizeof(reply), "second data!+%ld", i++);
		if ((rc = mapq_send(rep, reply, (size_t)len, 1000)) < 0) {
			fprintf(stderr, "mapq-receiver: reply: %s\n", mapq_strerror(rc));
			break;
		}
		printf("replied:  %s\n", reply);
		fflush(stdout);
	}
	mapq_close(req);
	mapq_close(rep);
	return rc < 0 ? 1 : 0;
}
