/* SPDX-License-Identifier: MIT */
/*
 * create.c - a new queue file: its superblock, then the platform's atomic
 * create (os.h), so that no process can ever open a half-made queue and
 * a creator that dies mid-way leaves nothing it cannot clean up.
 */
#include "config.h"

#include <errno.h>

#include "internal.h"
#include "os.h"

int mapq__create_file(const char *path, const mapq_options *opt, bool unnamed, mapq__file *out)
{
	struct fmt_super sb;
	int err = mapq__geometry(opt, &sb);
	if (err)
		return err;
	uint32_t mode = opt && opt->mode ? opt->mode : 0600;
	if (mode & ~0777u)
		return -EINVAL;
	sb.created_ns = mapq__os_wall_ns();
	mapq__os_random(sb.queue_id, sizeof(sb.queue_id));
	sb.crc = mapq__super_crc(&sb);
	/* The rest of the file is zero: tail = head = 0, every slot free,
	 * every commit word "never written". */
	return mapq__os_create(path, mode, sb.file_size, &sb, sizeof(sb), unnamed, out);
}
