/* SPDX-License-Identifier: MIT */
/*
 * main.c - `mapq`: look inside, feed and drain mapq queues from the shell.
 * Dispatches to one file per subcommand (cli.h).
 */
#include "config.h"

#include <string.h>

#include "cli.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *what;
} commands[] = {
	{ "create", cmd_create, "create a queue" },
	{ "info", cmd_info, "geometry, fill level, counters and every slot with its liveness" },
	{ "send", cmd_send, "send messages from arguments or standard input" },
	{ "recv", cmd_recv, "print the messages waiting in a queue" },
	{ "tail", cmd_recv, "print the last messages, and with -f follow new ones" },
	{ "dump", cmd_dump, "list every frame in the ring (position, state, CRC)" },
	{ "verify", cmd_verify,
	  "read-only health check (exit 0 healthy, 1 repairable, 2 corrupt)" },
	{ "recover", cmd_recover, "repair what dead processes left and print the report" },
	{ "readers", cmd_readers, "list readers; 'readers drop QUEUE NAME' deletes a durable one" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: mapq COMMAND [OPTIONS] QUEUE [ARGS]\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
	fputs("\nQUEUE is a name such as ZJ, meaning the file ZJ in " CLI_QUEUE_DIR ",\n"
	      "or a path containing a " CLI_SEPARATORS " (" CLI_PATH_EXAMPLES ").\n"
	      "'mapq COMMAND --help' describes a command; man mapq has it all.\n",
	      f);
}

int main(int argc, char **argv)
{
	cli_binary_stdio();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *c = argv[1];
	if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
		if (strcmp(c, "help") == 0 && argc > 2) {
			/* "mapq help send" is "mapq send --help" */
			for (size_t i = 0; i < NCOMMANDS; i++)
				if (strcmp(argv[2], commands[i].name) == 0) {
					char *av[] = { argv[2], "--help", NULL };
					return commands[i].run(2, av);
				}
			fprintf(stderr, "mapq: no command '%s'\n", argv[2]);
			return EXIT_USAGE;
		}
		usage(stdout);
		return 0;
	}
	if (strcmp(c, "--version") == 0 || strcmp(c, "-V") == 0) {
		printf("mapq %s (libmapq %s)\n", PACKAGE_VERSION, mapq_version());
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(c, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "mapq: no command '%s'; try 'mapq --help'\n", c);
	return EXIT_USAGE;
}
