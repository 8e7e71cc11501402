/* SPDX-License-Identifier: MIT */
/*
 * name.c - queue names: "ZJ" stands for a file in /dev/shm (or $MAPQ_DIR;
 * the platform's queue directory, os.h), as shm_open() names stand for
 * shared memory objects. Anything with a separator ('/') in it is a path
 * and is used as it is.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os.h"

/* Printable ASCII without a separator, and no leading '.': that rules
 * out ".", "..", hidden files, whitespace and control characters in one
 * rule a user can remember; then what the platform forbids in a name. */
static bool queue_name_ok(const char *name, size_t n)
{
	if (n == 0 || n > MAPQ_QUEUE_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c >= 0x7f || mapq__os_separator((char)c))
			return false;
	}
	return mapq__os_name_ok(name, n);
}

static bool is_path(const char *name)
{
	for (; *name; name++)
		if (mapq__os_separator(*name))
			return true;
	return false;
}

int mapq_resolve(const char *name, char *buf, size_t size)
{
	if (!name || !buf || size == 0)
		return -EINVAL;
	size_t n = strlen(name);
	int len;
	if (is_path(name)) {
		len = snprintf(buf, size, "%s", name);
	} else {
		if (!queue_name_ok(name, n))
			return -MAPQ_EBADNAME;
		const char *dir = mapq__os_queue_dir();
		size_t d = strlen(dir);
		len = snprintf(buf, size, "%s%s%s", dir,
			       d && mapq__os_separator(dir[d - 1]) ? "" : mapq__os_join, name);
	}
	if (len < 0 || (size_t)len >= size)
		return -ENAMETOOLONG;
	return 0;
}
