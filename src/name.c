/* SPDX-License-Identifier: MIT */
/*
 * name.c - queue names: "ZJ" stands for a file in /dev/shm (or $MAPQ_DIR),
 * as shm_open() names stand for shared memory objects. Anything with a
 * '/' in it is a path and is used as it is.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_DIR "/dev/shm"

/* Printable ASCII without '/', and no leading '.': that rules out ".",
 * "..", hidden files, whitespace and control characters in one rule a
 * user can remember. */
static bool queue_name_ok(const char *name, size_t n)
{
	if (n == 0 || n > MAPQ_QUEUE_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c >= 0x7f || c == '/')
			return false;
	}
	return true;
}

int mapq_resolve(const char *name, char *buf, size_t size)
{
	if (!name || !buf || size == 0)
		return -EINVAL;
	size_t n = strlen(name);
	int len;
	if (strchr(name, '/')) {
		len = snprintf(buf, size, "%s", name);
	} else {
		if (!queue_name_ok(name, n))
			return -MAPQ_EBADNAME;
		/* secure_getenv: a set-uid program must not be steered
		 * into another directory by its caller's environment */
		const char *dir = secure_getenv("MAPQ_DIR");
		if (!dir || !*dir)
			dir = DEFAULT_DIR;
		size_t d = strlen(dir);
		len = snprintf(buf, size, "%s%s%s", dir, d && dir[d - 1] == '/' ? "" : "/", name);
	}
	if (len < 0 || (size_t)len >= size)
		return -ENAMETOOLONG;
	return 0;
}
