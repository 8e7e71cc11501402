/* SPDX-License-Identifier: MIT */
/*
 * util.c - errors, numbers, escaping and option parsing for the `mapq` command.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_fail(const char *queue, const char *op, int err)
{
	fprintf(stderr, "mapq: %s: %s: %s\n", queue, op, mapq_strerror(err));
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "mapq %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'mapq %s --help'.\n", cmd);
	return EXIT_USAGE;
}

int cli_open(const char *queue, int flags, const mapq_options *opt, mapq **q)
{
	char path[PATH_MAX];
	int err = mapq_resolve(queue, path, sizeof(path));
	if (err) {
		fprintf(stderr, "mapq: %s: %s\n", queue, mapq_strerror(err));
		return err;
	}
	err = mapq_open(q, queue, flags, opt);
	if (!err)
		return 0;
	uint32_t version;
	const char *op = flags & MAPQ_CREATE ? "cannot create" : "cannot open";
	if (err == -ENOENT && !(flags & MAPQ_CREATE))
		fprintf(stderr, "mapq: %s: %s: no such queue (looked for %s)\n", queue, op, path);
	else if (err == -EEXIST)
		fprintf(stderr, "mapq: %s: %s: %s already exists\n", queue, op, path);
	else if (err == -MAPQ_EVERSION && mapq_file_version(queue, &version) == 0)
		fprintf(stderr,
			"mapq: %s: %s: queue file is from format version %u, this mapq reads "
			"version %u\n",
			queue, op, version, MAPQ_FORMAT_VERSION);
	else
		cli_fail(queue, op, err);
	return err;
}

bool cli_u64(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi,
	     bool size_suffix, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		goto bad;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		goto bad;
	unsigned shift = 0;
	if (size_suffix && *end) {
		switch (*end) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		case 't':
		case 'T':
			shift = 40;
			break;
		default:
			goto bad;
		}
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		goto bad;
	v <<= shift;
	if (v < lo || v > hi) {
		cli_usage(cmd, "%s %s: out of range (%llu..%llu)", opt, s, (unsigned long long)lo,
			  (unsigned long long)hi);
		return false;
	}
	*out = v;
	return true;
bad:
	cli_usage(cmd, "%s: '%s' is not a %s", opt, s ? s : "", size_suffix ? "size" : "number");
	return false;
}

bool cli_timeout(const char *cmd, const char *s, int *out)
{
	uint64_t v;
	if (s && (strcmp(s, "-1") == 0 || strcmp(s, "forever") == 0)) {
		*out = MAPQ_FOREVER;
		return true;
	}
	if (!cli_u64(cmd, "--timeout", s, 0, INT_MAX, false, &v))
		return false;
	*out = (int)v;
	return true;
}

void json_str(FILE *f, const void *s, size_t n)
{
	const unsigned char *p = s;
	putc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned c = p[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			putc((int)c, f);
	}
	putc('"', f);
}

void text_str(FILE *f, const void *s, size_t n)
{
	const unsigned char *p = s;
	for (size_t i = 0; i < n; i++) {
		unsigned c = p[i];
		if (c == '\\')
			fputs("\\\\", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			putc((int)c, f);
	}
}

uint64_t cli_next_frame(const mapq *q, uint64_t from, uint64_t end)
{
	mapq_frame_info f;
	for (uint64_t p = from; p < end; p += MAPQ_FRAME_ALIGN)
		if (mapq_frame(q, p, &f) == 0 && f.kind != MAPQ_FRAME_NONE)
			return p;
	return end;
}

const char *cli_slot_state(uint32_t state)
{
	static const char *const names[] = { "free", "alive", "dead", "detached", "invalid" };
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "invalid";
}

const char *cli_frame_kind(uint32_t kind)
{
	static const char *const names[] = { "none",    "claimed", "committed",
					     "aborted", "padding", "invalid" };
	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "invalid";
}

const char *cli_bytes(uint64_t n, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;
	double v = (double)n;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
	return buf;
}

const char *cli_plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int cli_getopt(struct cli_opts *o, int argc, char **argv)
{
	if (!o->started) {
		o->started = true;
		optind = 1;
		opterr = 0; /* we say it, naming the subcommand */
	}
	for (;;) {
		int c = getopt_long(argc, argv, o->shortopts, o->opts, NULL);
		if (c == 'j') {
			o->json = true;
			continue;
		}
		if (c == 'h') {
			fputs(o->help, stdout);
			o->status = 0;
			return CLI_OPT_EXIT;
		}
		if (c == '?' || c == ':') {
			const char *what = argv[optind - 1];
			bool missing = optopt && strchr(o->shortopts, optopt) &&
				       strchr(o->shortopts, optopt)[1] == ':';
			for (const struct option *l = o->opts; !missing && l->name; l++)
				if (l->has_arg == required_argument && what[0] == '-' &&
				    what[1] == '-' && strcmp(what + 2, l->name) == 0)
					missing = true;
			(void)cli_usage(o->cmd, missing ? "%s needs a value" : "unknown option %s",
					what);
			o->status = o->usage_status ? o->usage_status : EXIT_USAGE;
			return CLI_OPT_EXIT;
		}
		return c;
	}
}
