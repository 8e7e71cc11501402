/* SPDX-License-Identifier: MIT */
/*
 * version.c - which libmapq this is (mapq_version()), beside the
 * compile-time MAPQ_VERSION_STRING of the header a program was built with.
 */
#include "config.h"

#include "internal.h"

const char *mapq_version(void)
{
	return MAPQ_VERSION_STRING;
}
