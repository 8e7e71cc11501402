/* SPDX-License-Identifier: MIT */
/*
 * common.c - the fuzz targets' private directory and file helpers.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _WIN32
#include <direct.h>
#include <io.h>
#endif

#include "fuzz.h"

static char dir[256];
static long owner;

/* A new directory from the template @t (ending in XXXXXX): 0, or -1. */
static int make_dir(char *t)
{
#ifdef _WIN32
	/* replay under Wine: no mkdtemp(); _mktemp_s() picks a free name */
	return _mktemp_s(t, strlen(t) + 1) == 0 && _mkdir(t) == 0 ? 0 : -1;
#else
	return mkdtemp(t) ? 0 : -1;
#endif
}

static void cleanup(void)
{
	static const char *const names[] = { "q", "img", NULL };
	if ((long)getpid() != owner)
		return;
	for (const char *const *n = names; *n; n++)
		unlink(fz_path(*n));
	rmdir(dir);
}

const char *fz_dir(void)
{
	if (!dir[0]) {
		/* MAPQ_FUZZ_TMPDIR: where the make targets want it, so that a
		 * run whose target a fuzzer kills (AFL++ does, and exit
		 * handlers then never run) leaves nothing behind them. */
		const char *base = getenv("MAPQ_FUZZ_TMPDIR");
		if (!base || !*base)
			base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/mapq-fuzz.XXXXXX", base ? base : "/tmp");
		if (make_dir(dir) != 0)
			abort(); /* no place to work: nothing to fuzz */
		owner = (long)getpid();
		atexit(cleanup);
	}
	return dir;
}

const char *fz_path(const char *name)
{
	static char p[320];
	snprintf(p, sizeof(p), "%s/%s", fz_dir(), name);
	return p;
}

int fz_write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb"); /* binary: no "\r\n" on Windows */
	if (!f)
		return -1;
	size_t n = fwrite(data, 1, size, f);
	return fclose(f) == 0 && n == size ? 0 : -1;
}
