/* SPDX-License-Identifier: MIT */
/*
 * dump.c - `mapq dump`: every frame between head and tail, as the file
 * holds it, judged without trusting it (mapq_frame()).
 */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char help[] =
	"Usage: mapq dump [--raw] [--json] QUEUE\n"
	"List every frame from the oldest retained position (head) to the end of\n"
	"the log (tail): position, file offset, frame size, payload length, type,\n"
	"state, CRC and writer slot. Space that holds no frame (reserved but not yet\n"
	"claimed, or damaged) is shown as a gap. Opens the queue read-only.\n\n"
	"  --raw        also print each frame's bytes in hexadecimal\n"
	"  --json       one JSON object per line: the queue, then each frame\n"
	"  -h, --help   this text\n";

static void hexdump(const unsigned char *p, uint64_t n, uint64_t off)
{
	for (uint64_t i = 0; i < n; i += 16) {
		printf("    %08llx ", (unsigned long long)(off + i));
		for (uint64_t j = i; j < i + 16; j++)
			if (j < n)
				printf(" %02x", p[j]);
			else
				printf("   ");
		printf("  |");
		for (uint64_t j = i; j < i + 16 && j < n; j++)
			putchar(p[j] >= 0x20 && p[j] < 0x7f ? p[j] : '.');
		printf("|\n");
	}
}

static const char *state_of(const mapq_frame_info *f)
{
	if (f->kind == MAPQ_FRAME_CLAIMED && f->forsaken)
		return "forsaken";
	if (f->kind == MAPQ_FRAME_PADDING)
		return "committed";
	return cli_frame_kind(f->kind);
}

static void print_frame(const mapq_frame_info *f, bool json, bool raw, uint64_t nbytes,
			const void *bytes)
{
	const char *type = f->kind == MAPQ_FRAME_PADDING ? "padding" : "data";
	const char *crc = f->crc_ok < 0 ? "-" : f->crc_ok ? "ok" : "bad";
	char writer[16] = "-";
	if (f->writer != MAPQ_NO_WRITER)
		snprintf(writer, sizeof(writer), "%u", f->writer);
	if (json) {
		printf("{\"pos\":%llu,\"offset\":%llu,\"size\":%llu,\"len\":%u,\"type\":\"%s\","
		       "\"state\":\"%s\",\"crc\":\"%s\",\"writer\":%s}\n",
		       (unsigned long long)f->pos, (unsigned long long)f->offset,
		       (unsigned long long)f->size, f->len, type, state_of(f), crc,
		       f->writer != MAPQ_NO_WRITER ? writer : "null");
		return;
	}
	printf("%14llu %12llu %8llu %8u  %-8s %-10s %-4s %6s\n", (unsigned long long)f->pos,
	       (unsigned long long)f->offset, (unsigned long long)f->size, f->len, type,
	       state_of(f), crc, writer);
	if (raw && bytes)
		hexdump(bytes, nbytes, f->offset);
}

int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { .cmd = "dump", .help = help, .opts = opts, .shortopts = "h" };
	bool raw = false;
	int c;
	while ((c = cli_getopt(&o, argc, argv)) != -1) {
		if (c == CLI_OPT_EXIT)
			return o.status;
		raw = true; /* 'r', the only other option */
	}
	bool json = o.json;
	if (optind != argc - 1)
		return cli_usage("dump", "give exactly one QUEUE");
	const char *queue = argv[optind];
	mapq *q;
	if (cli_open(queue, MAPQ_RDONLY, NULL, &q))
		return 1;
	mapq_counters st;
	mapq_geometry g;
	(void)mapq_stats(q, &st);
	(void)mapq_info(q, &g);
	uint64_t head = st.head, tail = st.tail, frames = 0, gaps = 0;
	if (json) {
		printf("{\"queue\":");
		json_str(stdout, queue, strlen(queue));
		printf(",\"head\":%llu,\"tail\":%llu,\"capacity\":%llu}\n",
		       (unsigned long long)head, (unsigned long long)tail,
		       (unsigned long long)g.capacity);
	} else {
		printf("head %llu, tail %llu, capacity %llu\n", (unsigned long long)head,
		       (unsigned long long)tail, (unsigned long long)g.capacity);
		printf("%14s %12s %8s %8s  %-8s %-10s %-4s %6s\n", "position", "offset", "size",
		       "len", "type", "state", "crc", "writer");
	}
	if (tail < head || tail - head > g.capacity || head % MAPQ_FRAME_ALIGN) {
		fprintf(stderr,
			"mapq: %s: dump: head %llu and tail %llu are impossible (capacity %llu)\n",
			queue, (unsigned long long)head, (unsigned long long)tail,
			(unsigned long long)g.capacity);
		mapq_close(q);
		return 1;
	}
	uint64_t pos = head;
	while (pos < tail) {
		mapq_frame_info f;
		(void)mapq_frame(q, pos, &f);
		if (f.kind == MAPQ_FRAME_NONE || f.kind == MAPQ_FRAME_INVALID || f.next > tail) {
			if (f.kind == MAPQ_FRAME_INVALID ||
			    (f.kind != MAPQ_FRAME_NONE && f.next > tail)) {
				/* an impossible size: show the header only, within the ring */
				uint64_t room = g.capacity - (pos & (g.capacity - 1));
				print_frame(&f, json, raw, room < 32 ? room : 32, f.frame);
				frames++;
			}
			uint64_t to = cli_next_frame(q, pos + MAPQ_FRAME_ALIGN, tail);
			gaps++;
			if (json)
				printf("{\"gap\":%llu,\"bytes\":%llu}\n", (unsigned long long)pos,
				       (unsigned long long)(to - pos));
			else
				printf("%14llu %12llu %8llu %8s  %-8s %s\n",
				       (unsigned long long)pos, (unsigned long long)f.offset,
				       (unsigned long long)(to - pos), "-", "gap",
				       "no frame here (reserved, not published yet, or damaged)");
			pos = to;
			continue;
		}
		print_frame(&f, json, raw, f.size, f.frame);
		frames++;
		pos = f.next;
	}
	if (!json)
		printf("%llu %s, %llu %s\n", (unsigned long long)frames,
		       cli_plural(frames, "frame", "frames"), (unsigned long long)gaps,
		       cli_plural(gaps, "gap", "gaps"));
	mapq_close(q);
	return 0;
}
