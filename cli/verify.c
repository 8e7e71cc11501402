/* SPDX-License-Identifier: MIT */
/*
 * verify.c - `mapq verify`: a read-only health check with a sentence for
 * each finding. Exit status: 0 healthy, 1 repairable (what `mapq recover`
 * or the next lone open fixes without losing a committed message), 2
 * corrupt (committed data is damaged, or the file cannot be used), 3 the
 * check could not be made (no such queue, no permission, bad usage).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"

static const char help[] =
	"Usage: mapq verify [--json] QUEUE\n"
	"Check a queue without changing it: the superblock, head and tail, every\n"
	"writer and reader slot (is its process alive?), and every frame from head\n"
	"to tail with its CRC. Prints one sentence per finding.\n\n"
	"Exit status: 0 healthy; 1 repairable ('mapq recover' fixes it and loses\n"
	"no committed message); 2 corrupt (committed data is damaged, or the file\n"
	"is not a usable queue); 3 the check could not be made.\n"
	"On a queue in use, frames being written are reported as such, not as\n"
	"faults.\n\n"
	"  --json       one JSON object instead of text\n"
	"  -h, --help   this text\n";

enum {
	OK = 0,
	REPAIRABLE = 1,
	CORRUPT = 2,
	CANNOT = 3
};
#define MAX_SHOWN 100

struct check {
	bool json;
	int worst;
	unsigned shown, hidden;
	uint64_t frames, messages;
};

static void finding(struct check *c, int sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void finding(struct check *c, int sev, const char *fmt, ...)
{
	static const char *const label[] = { "note", "repairable", "corrupt" };
	if (sev > c->worst)
		c->worst = sev;
	if (c->shown >= MAX_SHOWN) {
		c->hidden++;
		return;
	}
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (c->json) {
		printf("%s{\"severity\":\"%s\",\"text\":", c->shown ? "," : "", label[sev]);
		json_str(stdout, text, strlen(text));
		printf("}");
	} else {
		printf("%s: %s\n", label[sev], text);
	}
	c->shown++;
}

/* Which writer slot's record describes the reserved byte at @pos. */
static int record_for(const mapq *q, uint32_t nw, uint64_t pos, mapq_slot_info *out)
{
	for (uint32_t i = 0; i < nw; i++)
		if (mapq_writer_slot(q, i, out) == 0 && out->state != MAPQ_SLOT_FREE &&
		    out->resv_size && pos >= out->resv_pos && pos - out->resv_pos < out->resv_size)
			return (int)i;
	return -1;
}

static void check_slots(struct check *c, const mapq *q, const mapq_geometry *g,
			const mapq_counters *st)
{
	for (uint32_t i = 0; i < g->writer_slots; i++) {
		mapq_slot_info s;
		if (mapq_writer_slot(q, i, &s))
			continue;
		if (s.state == MAPQ_SLOT_INVALID)
			finding(c, REPAIRABLE,
				"writer slot %u holds an impossible state; recovery frees it", i);
		else if (s.state == MAPQ_SLOT_DEAD)
			finding(c, REPAIRABLE,
				"writer slot %u (pid %u) is still attached but its process is gone; "
				"recovery frees it%s",
				i, s.pid, s.resv_size ? " and finishes its reservation" : "");
	}
	for (uint32_t i = 0; i < g->reader_slots; i++) {
		mapq_slot_info s;
		if (mapq_reader_slot(q, i, &s) || s.state == MAPQ_SLOT_FREE)
			continue;
		char who[64];
		if (s.durable)
			snprintf(who, sizeof(who), "durable reader '%.31s'", s.name);
		else
			snprintf(who, sizeof(who), "reader slot %u", i);
		if (s.state == MAPQ_SLOT_INVALID) {
			finding(c, REPAIRABLE,
				"reader slot %u holds an impossible state; recovery frees it", i);
			continue;
		}
		if (s.state == MAPQ_SLOT_DEAD)
			finding(c, REPAIRABLE,
				"%s (pid %u) is still attached but its process is gone; recovery %s",
				who, s.pid,
				s.durable ? "detaches it and keeps its cursor" : "frees its slot");
		if (s.cursor % MAPQ_FRAME_ALIGN || s.cursor > st->tail ||
		    (s.cursor < st->head && g->policy != MAPQ_OVERWRITE))
			finding(c, REPAIRABLE,
				"%s has its cursor at %llu, outside the log [%llu, %llu]; recovery moves it "
				"back into the log",
				who, (unsigned long long)s.cursor, (unsigned long long)st->head,
				(unsigned long long)st->tail);
	}
	if (st->crc_failures)
		finding(c, OK, "readers have counted %llu CRC failures in this queue's life",
			(unsigned long long)st->crc_failures);
}

static void check_frames(struct check *c, const mapq *q, const mapq_geometry *g, uint64_t head,
			 uint64_t tail)
{
	uint64_t pos = head;
	while (pos < tail) {
		mapq_frame_info f;
		mapq_slot_info s;
		(void)mapq_frame(q, pos, &f);
		if (f.kind == MAPQ_FRAME_INVALID) {
			finding(c, CORRUPT,
				"the frame at %llu has an impossible header (size %llu)",
				(unsigned long long)pos, (unsigned long long)f.size);
			pos = cli_next_frame(q, pos + MAPQ_FRAME_ALIGN, tail);
			continue;
		}
		if (f.kind == MAPQ_FRAME_NONE) {
			uint64_t to = cli_next_frame(q, pos + MAPQ_FRAME_ALIGN, tail);
			int w = record_for(q, g->writer_slots, pos, &s);
			if (w >= 0 && s.state == MAPQ_SLOT_ALIVE)
				finding(c, OK,
					"%llu bytes at %llu are being written by writer slot %d",
					(unsigned long long)(to - pos), (unsigned long long)pos, w);
			else if (w >= 0)
				finding(c, REPAIRABLE,
					"%llu bytes at %llu were reserved by writer slot %d, whose process "
					"is gone; recovery turns them into an aborted frame",
					(unsigned long long)(to - pos), (unsigned long long)pos, w);
			else if (to == tail)
				finding(c, REPAIRABLE,
					"the log ends in %llu bytes at %llu that hold no frame (torn by a "
					"crash?); recovery ends the log at %llu",
					(unsigned long long)(to - pos), (unsigned long long)pos,
					(unsigned long long)pos);
			else
				finding(c, REPAIRABLE,
					"%llu bytes at %llu hold no frame and no writer's record describes "
					"them; readers skip them after the unblock timeout, recovery fills "
					"them",
					(unsigned long long)(to - pos), (unsigned long long)pos);
			pos = to;
			continue;
		}
		c->frames++;
		if (f.next > tail) {
			finding(c, REPAIRABLE,
				"the frame at %llu runs %llu bytes past the end of the log; recovery ends "
				"the log before it",
				(unsigned long long)pos, (unsigned long long)(f.next - tail));
			break;
		}
		switch (f.kind) {
		case MAPQ_FRAME_COMMITTED:
			if (f.crc_ok == 1)
				c->messages++;
			else
				finding(c, CORRUPT,
					"the message at %llu (%u bytes, writer slot %u) fails its CRC: its "
					"bytes are damaged, readers skip it",
					(unsigned long long)pos, f.len, f.writer);
			break;
		case MAPQ_FRAME_CLAIMED:
			if (f.writer == MAPQ_NO_WRITER) {
				finding(c, REPAIRABLE,
					"the frame at %llu was forsaken and no writer's record names "
					"it any more; recovery aborts it",
					(unsigned long long)pos);
			} else if (mapq_writer_slot(q, f.writer, &s) == 0 &&
				   s.state == MAPQ_SLOT_ALIVE) {
				finding(c, OK,
					f.forsaken
						? "the frame at %llu belongs to writer slot %u, "
						  "which stalled: readers skip it, and the writer "
						  "aborts it when it runs again"
						: "the frame at %llu is claimed by writer slot %u, "
						  "which is alive",
					(unsigned long long)pos, f.writer);
			} else {
				finding(c, REPAIRABLE,
					"the frame at %llu was claimed by writer slot %u, whose process is "
					"gone; recovery aborts it",
					(unsigned long long)pos, f.writer);
			}
			break;
		default: /* aborted, padding */
			break;
		}
		pos = f.next;
	}
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct check c = { 0 };
	struct cli_opts o = { .cmd = "verify",
			      .help = help,
			      .opts = opts,
			      .shortopts = "h",
			      .usage_status = CANNOT };
	if (cli_getopt(&o, argc, argv) != -1) /* --help or --json only */
		return o.status;
	c.json = o.json;
	if (optind != argc - 1)
		return cli_usage("verify", "give exactly one QUEUE"), CANNOT;
	const char *queue = argv[optind];
	mapq *q;
	int err = cli_open(queue, MAPQ_RDONLY, NULL, &q);
	if (c.json) {
		printf("{\"queue\":");
		json_str(stdout, queue, strlen(queue));
		printf(",\"findings\":[");
	}
	switch (err) {
	case 0:
		break;
	case -MAPQ_EBADMAGIC:
	case -MAPQ_EVERSION:
	case -MAPQ_ESBCRC:
	case -MAPQ_EGEOMETRY:
	case -MAPQ_ETRUNCATED:
		/* cli_open() said why; the verdict is that the file is unusable */
		finding(&c, CORRUPT, "the file cannot be opened as a queue: %s",
			mapq_strerror(err));
		goto verdict;
	default:
		if (c.json)
			printf("],\"status\":\"unchecked\"}\n");
		return CANNOT;
	}
	mapq_geometry g;
	mapq_counters st;
	(void)mapq_info(q, &g);
	(void)mapq_stats(q, &st);
	if (st.tail < st.head || st.tail - st.head > g.capacity || st.head % MAPQ_FRAME_ALIGN ||
	    st.tail % MAPQ_FRAME_ALIGN) {
		finding(&c, CORRUPT, "head %llu and tail %llu are impossible for capacity %llu",
			(unsigned long long)st.head, (unsigned long long)st.tail,
			(unsigned long long)g.capacity);
	} else {
		check_slots(&c, q, &g, &st);
		check_frames(&c, q, &g, st.head, st.tail);
	}
	mapq_close(q);
verdict:;
	static const char *const status[] = { "healthy", "repairable", "corrupt" };
	if (c.json) {
		printf("],\"hidden\":%u,\"frames\":%llu,\"messages\":%llu,\"status\":\"%s\"}\n",
		       c.hidden, (unsigned long long)c.frames, (unsigned long long)c.messages,
		       status[c.worst]);
	} else {
		if (c.hidden)
			printf("(%u more findings not shown)\n", c.hidden);
		printf("%s: %s: %llu %s checked, %llu intact %s\n", queue, status[c.worst],
		       (unsigned long long)c.frames, cli_plural(c.frames, "frame", "frames"),
		       (unsigned long long)c.messages,
		       cli_plural(c.messages, "message", "messages"));
	}
	return c.worst;
}
