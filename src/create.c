/* SPDX-License-Identifier: MIT */
/*
 * create.c - a new queue file: its superblock, then the platform's atomic
 * create (os.h), so that no process can ever open a half-made queue and
 * a creator that dies mid-way leaves nothing it cannot clean up.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

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
	/* The file is written up to the first frame's header, whose pos says
	 * "no frame here" (POS_SCRUBBED). Left zero, it would name position
	 * 0, where the first message goes: a reader polling an empty queue
	 * would take pos as published and read a frame whose writer has
	 * stored only its commit word, whose store is relaxed and orders no
	 * header before it (format.md, "Commit"). Recovery scrubs it too,
	 * but a creator with MAPQ_NORECOVER runs none. Everything else is
	 * zero: tail = head = 0, every slot free, every commit word "never
	 * written". */
	size_t n = (size_t)sb.data_off + FRAME_HDR;
	uint8_t *head = mapq__os_calloc(1, n);
	if (!head)
		return -ENOMEM;
	memcpy(head, &sb, sizeof(sb));
	uint64_t none = POS_SCRUBBED;
	memcpy(head + sb.data_off + offsetof(struct fmt_frame, pos), &none, sizeof(none));
	err = mapq__os_create(path, mode, sb.file_size, head, n, unnamed, out);
	mapq__os_free(head);
	return err;
}
