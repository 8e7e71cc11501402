/* SPDX-License-Identifier: MIT */
/* mapq-sender: writes "hello my first mapping file!+i" every interval into
 * the request queue and prints the receiver's replies. */
#include "demo.h"

static const char usage[] =
	"usage: mapq-sender [--dir DIR] [--count N] [--interval MS]\n"
	"Creates the queues " DEMO_REQUEST " and " DEMO_REPLY " (1 MiB each), then sends\n"
	"\"hello my first mapping file!+i\" every MS milliseconds (default 1000),\n"
	"N times (default: until Ctrl-C), printing each reply. The queues are in\n"
	"DIR if given, else in the queue directory (mapq --help says where).\n";

/* Remove the queue file of @queue (a fresh pair each run: stale messages
 * would confuse the demo). */
static void remove_queue(const char *queue)
{
	char path[4096];
	if (mapq_resolve(queue, path, sizeof(path)) == 0)
		(void)remove(path);
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	long count = -1, interval = 1000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--count"))
			count = demo_arg("--count", argv[++i < argc ? i : 0], 1, 1L << 30);
		else if (!strcmp(argv[i], "--interval"))
			interval = demo_arg("--interval", argv[++i < argc ? i : 0], 0, 3600000);
		else {
			fputs(usage, strcmp(argv[i], "--help") ? stderr : stdout);
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	demo_signals();
	char req_path[4096], rep_path[4096];
	demo_queue(req_path, sizeof(req_path), dir, DEMO_REQUEST);
	demo_queue(rep_path, sizeof(rep_path), dir, DEMO_REPLY);
	remove_queue(req_path);
	remove_queue(rep_path);
	mapq *req, *rep;
	mapq_reader *replies;
	int rc = mapq_open(&req, req_path, MAPQ_CREATE | MAPQ_EXCL, NULL);
	if (!rc)
		rc = mapq_open(&rep, rep_path, MAPQ_CREATE | MAPQ_EXCL, NULL);
	if (!rc)
		rc = mapq_reader_open(rep, &replies, NULL, MAPQ_START_OLDEST);
	if (rc) {
		fprintf(stderr, "mapq-sender: cannot create the queues %s and %s: %s\n", req_path,
			rep_path, mapq_strerror(rc));
		return 1;
	}
	for (long i = 1; !demo_stop && (count < 0 || i <= count); i++) {
		char msg[64], reply[256];
		int n = snprintf(msg, sizeof(msg), "hello my first mapping file!+%ld", i);
		if ((rc = mapq_send(req, msg, (size_t)n, 1000)) < 0) {
			fprintf(stderr, "mapq-sender: send: %s\n", mapq_strerror(rc));
			break;
		}
		printf("sent:     %s\n", msg);
		ssize_t got = -EAGAIN;
		for (int waited = 0; !demo_stop && waited < 10000 && got < 0; waited += 200)
			got = mapq_recv(replies, reply, sizeof(reply) - 1, 200);
		if (got < 0 && demo_stop)
			break; /* Ctrl-C while waiting: a clean stop */
		if (got < 0) {
			fprintf(stderr, "mapq-sender: no reply: %s\n", mapq_strerror((int)got));
			rc = (int)got;
			break;
		}
		reply[got] = '\0';
		printf("received: %s\n", reply);
		fflush(stdout);
		if (count < 0 || i < count)
			demo_sleep_ms(interval);
	}
	mapq_close(req);
	mapq_close(rep);
	remove_queue(req_path);
	remove_queue(rep_path);
	return rc < 0 ? 1 : 0;
}
