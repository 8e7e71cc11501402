/* SPDX-License-Identifier: MIT */
/*
 * create.c - `mapq create`: a new queue, never over an existing one.
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <string.h>

#include "cli.h"

static const char help[] =
	"Usage: mapq create [OPTIONS] QUEUE\n"
	"Create a queue. Fails if QUEUE already exists; the file appears only\n"
	"when it is complete, so no half-made queue is ever left behind.\n\n"
	"  --capacity SIZE   ring bytes, a power of two from 4K to 1T (1M)\n"
	"  --max-msg SIZE    largest message (min(64K, capacity/2 - 32))\n"
	"  --writers N       concurrent writer handles, 1..1024 (16); with 1 the\n"
	"                    writer is alone, and faster (doc/format.md)\n"
	"  --readers N       readers, live and durable, 1..1024 (16)\n"
	"  --policy P        when full: block (writers wait) or overwrite (oldest\n"
	"                    messages are dropped, readers are told) (block)\n"
	"  --mode MODE       permission bits, octal (0600)\n"
	"  --json            print what was created as JSON\n"
	"  -h, --help        this text\n";

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "capacity", required_argument, NULL, 'c' },
		{ "max-msg", required_argument, NULL, 'm' },
		{ "writers", required_argument, NULL, 'w' },
		{ "readers", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	mapq_options o;
	mapq_options_init(&o);
	struct cli_opts co = { .cmd = "create", .help = help, .opts = opts, .shortopts = "h" };
	uint64_t v;
	int c;
	while ((c = cli_getopt(&co, argc, argv)) != -1) {
		switch (c) {
		case CLI_OPT_EXIT:
			return co.status;
		case 'c':
			if (!cli_u64("create", "--capacity", optarg, 4096, 1ull << 40, true, &v))
				return EXIT_USAGE;
			if (v & (v - 1))
				return cli_usage("create", "--capacity %s: not a power of two",
						 optarg);
			o.capacity = v;
			break;
		case 'm':
			if (!cli_u64("create", "--max-msg", optarg, 1, UINT32_MAX, true, &v))
				return EXIT_USAGE;
			o.max_msg = (uint32_t)v;
			break;
		case 'w':
		case 'r':
			if (!cli_u64("create", c == 'w' ? "--writers" : "--readers", optarg, 1,
				     1024, false, &v))
				return EXIT_USAGE;
			if (c == 'w')
				o.writer_slots = (uint32_t)v;
			else
				o.reader_slots = (uint32_t)v;
			break;
		case 'p':
			if (strcmp(optarg, "block") == 0)
				o.policy = MAPQ_BLOCK;
			else if (strcmp(optarg, "overwrite") == 0)
				o.policy = MAPQ_OVERWRITE;
			else
				return cli_usage("create", "--policy %s: use block or overwrite",
						 optarg);
			break;
		case 'o':
			if (optarg[0] != '0')
				return cli_usage("create", "--mode %s: give it in octal, like 0640",
						 optarg);
			if (!cli_u64("create", "--mode", optarg, 1, 0777, false, &v))
				return EXIT_USAGE;
			o.mode = (uint32_t)v;
			break;
		}
	}
	bool json = co.json;
	if (optind != argc - 1)
		return cli_usage("create", "give exactly one QUEUE");
	const char *name = argv[optind];
	mapq *q;
	if (cli_open(name, MAPQ_CREATE | MAPQ_EXCL, &o, &q))
		return 1;
	mapq_geometry g;
	(void)mapq_info(q, &g);
	char path[PATH_MAX];
	(void)mapq_resolve(name, path, sizeof(path));
	if (json) {
		printf("{\"queue\":");
		json_str(stdout, name, strlen(name));
		printf(",\"path\":");
		json_str(stdout, path, strlen(path));
		printf(",\"capacity\":%llu,\"max_msg\":%u,\"writer_slots\":%u,\"reader_slots\":%u,"
		       "\"policy\":\"%s\",\"file_size\":%llu}\n",
		       (unsigned long long)g.capacity, g.max_msg, g.writer_slots, g.reader_slots,
		       g.policy == MAPQ_OVERWRITE ? "overwrite" : "block",
		       (unsigned long long)g.file_size);
	} else {
		char b[32];
		printf("created %s: capacity %s, max message %u B, %u writers, %u readers, "
		       "policy %s\n",
		       path, cli_bytes(g.capacity, b, sizeof(b)), g.max_msg, g.writer_slots,
		       g.reader_slots, g.policy == MAPQ_OVERWRITE ? "overwrite" : "block");
	}
	mapq_close(q);
	return 0;
}
