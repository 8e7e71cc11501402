/* SPDX-License-Identifier: MIT */
/*
 * recover.c - `mapq recover`: run recovery and print what it found and did.
 */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char help[] =
	"Usage: mapq recover [--json] QUEUE\n"
	"Repair what dead processes left in QUEUE: abort frames they claimed, fill\n"
	"space they reserved, free their writer slots and ephemeral readers, and\n"
	"detach durable readers (keeping their cursors). When no other process has\n"
	"the queue open, also walk every frame, check its CRC, and end the log at\n"
	"the first torn or invalid frame. Nothing committed before that point is\n"
	"lost. Prints the report.\n\n"
	"  --json       the report as one JSON object\n"
	"  -h, --help   this text\n";

int cmd_recover(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { .cmd = "recover", .help = help, .opts = opts, .shortopts = "h" };
	if (cli_getopt(&o, argc, argv) != -1) /* --help or --json only */
		return o.status;
	bool json = o.json;
	if (optind != argc - 1)
		return cli_usage("recover", "give exactly one QUEUE");
	const char *queue = argv[optind];
	mapq *q;
	/* NORECOVER: open must leave the work to mapq_recover(), whose
	 * report we print */
	if (cli_open(queue, MAPQ_NORECOVER, NULL, &q))
		return 1;
	mapq_recovery r;
	int err = mapq_recover(q, &r);
	mapq_close(q);
	if (err) {
		cli_fail(queue, "recover", err);
		return 1;
	}
	if (json) {
		printf("{\"queue\":");
		json_str(stdout, queue, strlen(queue));
		printf(",\"exclusive\":%s,\"used_checkpoint\":%s,\"head\":%llu,\"tail_before\":%llu,"
		       "\"tail_after\":%llu,\"frames_scanned\":%llu,\"messages\":%llu,"
		       "\"claims_aborted\":%llu,\"holes_filled\":%llu,\"bytes_discarded\":%llu,"
		       "\"frames_scrubbed\":%llu,\"frames_skipped\":%llu,\"writers_freed\":%u,"
		       "\"readers_freed\":%u,"
		       "\"readers_detached\":%u,\"cursors_moved\":%u,\"end_reason\":",
		       r.exclusive ? "true" : "false", r.used_checkpoint ? "true" : "false",
		       (unsigned long long)r.head, (unsigned long long)r.tail_before,
		       (unsigned long long)r.tail_after, (unsigned long long)r.frames_scanned,
		       (unsigned long long)r.messages, (unsigned long long)r.claims_aborted,
		       (unsigned long long)r.holes_filled, (unsigned long long)r.bytes_discarded,
		       (unsigned long long)r.frames_scrubbed, (unsigned long long)r.frames_skipped,
		       r.writers_freed, r.readers_freed, r.readers_detached, r.cursors_moved);
		json_str(stdout, r.end_reason, strlen(r.end_reason));
		printf("}\n");
		return 0;
	}
	printf("%s: recovered (%s)\n", queue,
	       r.exclusive ? "alone: the whole log was checked"
			   : "others have it open: dead processes' leftovers only");
	if (r.used_checkpoint)
		printf("  the control page was not believable: started from the last sync checkpoint\n");
	printf("  log         head %llu, tail %llu -> %llu\n", (unsigned long long)r.head,
	       (unsigned long long)r.tail_before, (unsigned long long)r.tail_after);
	if (r.exclusive)
		printf("  checked     %llu %s, %llu intact %s\n",
		       (unsigned long long)r.frames_scanned,
		       cli_plural(r.frames_scanned, "frame", "frames"),
		       (unsigned long long)r.messages,
		       cli_plural(r.messages, "message", "messages"));
	printf("  writers     %llu claimed frames aborted, %llu reservations filled, %u slots freed\n",
	       (unsigned long long)r.claims_aborted, (unsigned long long)r.holes_filled,
	       r.writers_freed);
	printf("  readers     %u freed, %u detached, %u cursors moved into the log\n",
	       r.readers_freed, r.readers_detached, r.cursors_moved);
	printf("  discarded   %llu bytes cut from the end, %llu stale frames unpublished\n",
	       (unsigned long long)r.bytes_discarded, (unsigned long long)r.frames_scrubbed);
	if (r.frames_skipped)
		printf("  skipped     %llu damaged %s before the recorded tail, made aborted\n",
		       (unsigned long long)r.frames_skipped,
		       cli_plural(r.frames_skipped, "frame", "frames"));
	printf("  end         %s\n", r.end_reason ? r.end_reason : "-");
	return 0;
}
