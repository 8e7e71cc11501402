/* SPDX-License-Identifier: MIT */
/*
 * common.c - the fuzz targets' private directory and file helpers.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char dir[256];
static pid_t owner;

static void cleanup(void)
{
	static const char *const names[] = { "q", "img", NULL };
	if (getpid() != owner)
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
		if (!mkdtemp(dir))
			abort(); /* no place to work: nothing to fuzz */
		owner = getpid();
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
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	const uint8_t *p = data;
	while (size) {
		ssize_t n = write(fd, p, size);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		size -= (size_t)n;
	}
	return close(fd);
}
