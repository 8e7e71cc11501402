/* SPDX-License-Identifier: MIT */
/*
 * info.c - `mapq info` and `mapq readers`: what a queue is and who uses it.
 * Both open the queue read-only (MAPQ_RDONLY): looking changes nothing.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char info_help[] =
	"Usage: mapq info [--json] [--all] QUEUE\n"
	"Show a queue's geometry, format version, fill level, counters, and every\n"
	"writer and reader slot in use with its liveness (alive, dead, detached),\n"
	"cursor and lag. Opens the queue read-only; repairs nothing.\n\n"
	"  --all        list free slots too\n"
	"  --json       one JSON object instead of text\n"
	"  -h, --help   this text\n";

static const char readers_help[] =
	"Usage: mapq readers [--json] QUEUE\n"
	"       mapq readers drop QUEUE NAME\n"
	"List the queue's readers (slot, state, name, cursor, lag), or delete the\n"
	"detached durable reader NAME so that it stops holding writers back.\n\n"
	"  --json       JSON instead of text\n"
	"  -h, --help   this text\n";

static void print_writers(const mapq *q, const mapq_geometry *g, bool json, bool all)
{
	bool first = true;
	if (json)
		printf(",\"writers\":[");
	else
		printf("writers:\n  %-5s %-8s %-8s %12s %14s %9s  %s\n", "slot", "state", "pid",
		       "messages", "bytes", "aborted", "reservation");
	for (uint32_t i = 0; i < g->writer_slots; i++) {
		mapq_slot_info s;
		if (mapq_writer_slot(q, i, &s) || (s.state == MAPQ_SLOT_FREE && !all))
			continue;
		if (json) {
			printf("%s{\"slot\":%u,\"state\":\"%s\",\"pid\":%u,\"messages\":%llu,"
			       "\"bytes\":%llu,\"aborted\":%llu,\"attaches\":%llu",
			       first ? "" : ",", i, cli_slot_state(s.state), s.pid,
			       (unsigned long long)s.msgs, (unsigned long long)s.bytes,
			       (unsigned long long)s.aborted, (unsigned long long)s.attaches);
			if (s.resv_size)
				printf(",\"reservation\":{\"pos\":%llu,\"size\":%llu,\"tentative\":%s}",
				       (unsigned long long)s.resv_pos,
				       (unsigned long long)s.resv_size,
				       s.resv_tentative ? "true" : "false");
			printf("}");
		} else {
			char r[80] = "-";
			if (s.resv_size)
				snprintf(r, sizeof(r), "%llu bytes at %llu%s",
					 (unsigned long long)s.resv_size,
					 (unsigned long long)s.resv_pos,
					 s.resv_tentative ? " (tentative)" : "");
			printf("  %-5u %-8s %-8u %12llu %14llu %9llu  %s\n", i,
			       cli_slot_state(s.state), s.pid, (unsigned long long)s.msgs,
			       (unsigned long long)s.bytes, (unsigned long long)s.aborted, r);
		}
		first = false;
	}
	if (json)
		printf("]");
	else if (first)
		printf("  (none attached)\n");
}

static void print_readers(const mapq *q, const mapq_geometry *g, uint64_t tail, bool json, bool all)
{
	bool first = true;
	if (json)
		printf("\"readers\":[");
	else
		printf("readers:\n  %-5s %-9s %-8s %-16s %14s %12s %12s %8s\n", "slot", "state",
		       "pid", "name", "cursor", "lag (bytes)", "delivered", "lost");
	for (uint32_t i = 0; i < g->reader_slots; i++) {
		mapq_slot_info s;
		if (mapq_reader_slot(q, i, &s) || (s.state == MAPQ_SLOT_FREE && !all))
			continue;
		uint64_t lag = tail > s.cursor ? tail - s.cursor : 0;
		if (json) {
			printf("%s{\"slot\":%u,\"state\":\"%s\",\"pid\":%u,\"durable\":%s,\"name\":",
			       first ? "" : ",", i, cli_slot_state(s.state), s.pid,
			       s.durable ? "true" : "false");
			if (s.durable)
				json_str(stdout, s.name, strlen(s.name));
			else
				printf("null");
			printf(",\"cursor\":%llu,\"lag\":%llu,\"delivered\":%llu,\"lost\":%llu}",
			       (unsigned long long)s.cursor, (unsigned long long)lag,
			       (unsigned long long)s.delivered, (unsigned long long)s.lost);
		} else {
			printf("  %-5u %-9s %-8u ", i, cli_slot_state(s.state), s.pid);
			if (s.durable) {
				text_str(stdout, s.name, strlen(s.name));
				printf("%*s", (int)(strlen(s.name) < 16 ? 16 - strlen(s.name) : 0),
				       "");
			} else {
				printf("%-16s", "(ephemeral)");
			}
			printf(" %14llu %12llu %12llu %8llu\n", (unsigned long long)s.cursor,
			       (unsigned long long)lag, (unsigned long long)s.delivered,
			       (unsigned long long)s.lost);
		}
		first = false;
	}
	if (json)
		printf("]");
	else if (first)
		printf("  (none)\n");
}

static void print_info(const char *name, const mapq *q, bool json, bool all)
{
	mapq_geometry g;
	mapq_counters c;
	char path[PATH_MAX], b1[32], b2[32], when[64] = "?";
	(void)mapq_info(q, &g);
	(void)mapq_stats(q, &c);
	(void)mapq_resolve(name, path, sizeof(path));
	struct tm tm;
	if (cli_utc((int64_t)(g.created_ns / 1000000000ull), &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	char id[33];
	for (int i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", g.queue_id[i]);
	uint64_t used = c.tail >= c.head ? c.tail - c.head : 0;
	const char *policy = g.policy == MAPQ_OVERWRITE ? "overwrite" : "block";
	if (json) {
		printf("{\"queue\":");
		json_str(stdout, name, strlen(name));
		printf(",\"path\":");
		json_str(stdout, path, strlen(path));
		printf(",\"version\":%u,\"id\":\"%s\",\"created\":\"%s\",\"capacity\":%llu,"
		       "\"max_msg\":%u,\"writer_slots\":%u,\"reader_slots\":%u,\"policy\":\"%s\","
		       "\"file_size\":%llu,\"head\":%llu,\"tail\":%llu,\"used\":%llu,"
		       "\"counters\":{\"messages\":%llu,\"bytes\":%llu,\"aborted\":%llu,"
		       "\"crc_failures\":%llu,\"lapped\":%llu,\"lost\":%llu,\"repaired\":%llu,"
		       "\"data_wakeups\":%u,\"space_wakeups\":%u,\"writers_attached\":%u,"
		       "\"readers_attached\":%u,\"readers_durable\":%u}",
		       g.version, id, when, (unsigned long long)g.capacity, g.max_msg,
		       g.writer_slots, g.reader_slots, policy, (unsigned long long)g.file_size,
		       (unsigned long long)c.head, (unsigned long long)c.tail,
		       (unsigned long long)used, (unsigned long long)c.msgs,
		       (unsigned long long)c.bytes, (unsigned long long)c.aborted,
		       (unsigned long long)c.crc_failures, (unsigned long long)c.lapped,
		       (unsigned long long)c.lost, (unsigned long long)c.repaired, c.data_wakeups,
		       c.space_wakeups, c.writers_attached, c.readers_attached, c.readers_durable);
		print_writers(q, &g, true, all);
		printf(",");
		print_readers(q, &g, c.tail, true, all);
		printf("}\n");
		return;
	}
	printf("queue      %s\n", path);
	printf("format     version %u, id %s, created %s\n", g.version, id, when);
	printf("geometry   capacity %s, max message %u B, %u writer slots, %u reader slots\n",
	       cli_bytes(g.capacity, b1, sizeof(b1)), g.max_msg, g.writer_slots, g.reader_slots);
	printf("policy     %s when full\n", policy);
	printf("file       %s\n", cli_bytes(g.file_size, b1, sizeof(b1)));
	printf("fill       %s of %s in use (%.1f%%), head %llu, tail %llu\n",
	       cli_bytes(used, b1, sizeof(b1)), cli_bytes(g.capacity, b2, sizeof(b2)),
	       100.0 * (double)used / (double)g.capacity, (unsigned long long)c.head,
	       (unsigned long long)c.tail);
	printf("messages   %llu committed (%s), %llu aborted, %llu repaired\n",
	       (unsigned long long)c.msgs, cli_bytes(c.bytes, b1, sizeof(b1)),
	       (unsigned long long)c.aborted, (unsigned long long)c.repaired);
	printf("problems   %llu CRC failures, %llu laps, %llu messages lost to lapped readers\n",
	       (unsigned long long)c.crc_failures, (unsigned long long)c.lapped,
	       (unsigned long long)c.lost);
	print_writers(q, &g, false, all);
	print_readers(q, &g, c.tail, false, all);
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { .cmd = "info", .help = info_help, .opts = opts, .shortopts = "h" };
	bool all = false;
	int c;
	while ((c = cli_getopt(&o, argc, argv)) != -1) {
		if (c == CLI_OPT_EXIT)
			return o.status;
		all = true; /* 'a', the only other option */
	}
	bool json = o.json;
	if (optind != argc - 1)
		return cli_usage("info", "give exactly one QUEUE");
	mapq *q;
	if (cli_open(argv[optind], MAPQ_RDONLY, NULL, &q))
		return 1;
	print_info(argv[optind], q, json, all);
	mapq_close(q);
	return 0;
}

int cmd_readers(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = {
		.cmd = "readers", .help = readers_help, .opts = opts, .shortopts = "h"
	};
	if (cli_getopt(&o, argc, argv) != -1) /* --help or --json only */
		return o.status;
	bool json = o.json;
	mapq *q;
	if (optind < argc && strcmp(argv[optind], "drop") == 0) {
		if (optind + 3 != argc)
			return cli_usage("readers", "drop takes QUEUE NAME");
		const char *name = argv[optind + 1], *reader = argv[optind + 2];
		if (cli_open(name, 0, NULL, &q))
			return 1;
		int err = mapq_reader_drop(q, reader);
		mapq_close(q);
		if (err == -ENOENT)
			fprintf(stderr,
				"mapq: %s: drop reader %s: no durable reader by that name\n", name,
				reader);
		else if (err == -EBUSY)
			fprintf(stderr,
				"mapq: %s: drop reader %s: it is attached now; stop it first\n",
				name, reader);
		else if (err)
			cli_fail(name, "drop reader", err);
		return err ? 1 : 0;
	}
	if (optind != argc - 1)
		return cli_usage("readers", "give exactly one QUEUE");
	if (cli_open(argv[optind], MAPQ_RDONLY, NULL, &q))
		return 1;
	mapq_geometry g;
	mapq_counters st;
	(void)mapq_info(q, &g);
	(void)mapq_stats(q, &st);
	if (json)
		printf("{");
	print_readers(q, &g, st.tail, json, false);
	if (json)
		printf("}\n");
	mapq_close(q);
	return 0;
}
