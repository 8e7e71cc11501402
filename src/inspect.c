/* SPDX-License-Identifier: MIT */
/*
 * inspect.c - read-only views of a queue (geometry, counters, slots,
 * frames, the version a file claims), for tools and monitoring (`mapq
 * info`, `mapq dump`, `mapq verify`). Nothing here writes to the file, so
 * all of it works on a MAPQ_RDONLY handle; nothing here trusts the file
 * either.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

int mapq_info(const mapq *q, mapq_geometry *info)
{
	if (!info)
		return -EINVAL;
	int err = usable(q);
	if (err)
		return err;
	memset(info, 0, sizeof(*info));
	info->version = q->sb.version;
	info->policy = q->overwrite ? MAPQ_OVERWRITE : MAPQ_BLOCK;
	info->capacity = q->cap;
	info->max_msg = q->max_msg;
	info->writer_slots = q->nw;
	info->reader_slots = q->nr;
	info->file_size = q->sb.file_size;
	info->created_ns = q->sb.created_ns;
	memcpy(info->queue_id, q->sb.queue_id, 16);
	return 0;
}

int mapq_stats(const mapq *q, mapq_counters *st)
{
	if (!st)
		return -EINVAL;
	int err = usable(q);
	if (err)
		return err;
	memset(st, 0, sizeof(*st));
	/* relaxed throughout: a snapshot of counters, not a consistent cut */
	for (uint32_t i = 0; i < q->nw; i++) {
		const struct fmt_wslot *w = &q->wslots[i];
		st->msgs += mapq__load(&w->msgs, memory_order_relaxed);
		st->bytes += mapq__load(&w->bytes, memory_order_relaxed);
		st->aborted += mapq__load(&w->aborted, memory_order_relaxed);
		if (mapq__slot_is_live(q->fd, wslot_lock_off(q, (int)i)) || (int)i == q->wslot)
			st->writers_attached++;
	}
	for (uint32_t i = 0; i < q->nr; i++) {
		const struct fmt_rslot *r = &q->rslots[i];
		uint32_t s = mapq__load(&r->state, memory_order_relaxed);
		uint32_t f = mapq__load(&r->flags, memory_order_relaxed);
		if (s == RSLOT_FREE)
			continue;
		if (f & RSLOT_DURABLE)
			st->readers_durable++;
		if (s == RSLOT_ACTIVE)
			st->readers_attached++;
	}
	st->crc_failures = mapq__load(&q->ctl->crc_failures, memory_order_relaxed);
	st->lapped = mapq__load(&q->ctl->lapped, memory_order_relaxed);
	st->lost = mapq__load(&q->ctl->lost, memory_order_relaxed);
	st->repaired = mapq__load(&q->ctl->repaired, memory_order_relaxed);
	st->tail = mapq__load(&q->ctl->tail, memory_order_relaxed);
	st->head = mapq__load(&q->ctl->head, memory_order_relaxed);
	st->data_wakeups = mapq__load(&q->ctl->data_seq, memory_order_relaxed);
	st->space_wakeups = mapq__load(&q->ctl->space_seq, memory_order_relaxed);
	return 0;
}

int mapq_writer_slot(const mapq *q, uint32_t i, mapq_slot_info *out)
{
	if (!out)
		return -EINVAL;
	int err = usable(q);
	if (err)
		return err;
	if (i >= q->nw)
		return -ERANGE;
	memset(out, 0, sizeof(*out));
	const struct fmt_wslot *w = &q->wslots[i];
	/* relaxed throughout: a snapshot for display, not a consistent cut */
	uint32_t st = mapq__load(&w->state, memory_order_relaxed);
	bool live = (int)i == q->wslot || mapq__slot_is_live(q->fd, wslot_lock_off(q, (int)i)) == 1;
	if (st == WSLOT_FREE)
		out->state = MAPQ_SLOT_FREE;
	else if (st == WSLOT_ACTIVE)
		out->state = live ? MAPQ_SLOT_ALIVE : MAPQ_SLOT_DEAD;
	else
		out->state = MAPQ_SLOT_INVALID;
	out->pid = mapq__load(&w->pid, memory_order_relaxed);
	out->msgs = mapq__load(&w->msgs, memory_order_relaxed);
	out->bytes = mapq__load(&w->bytes, memory_order_relaxed);
	out->aborted = mapq__load(&w->aborted, memory_order_relaxed);
	out->attaches = mapq__load(&w->attaches, memory_order_relaxed);
	uint64_t size = mapq__load(&w->resv_size, memory_order_relaxed);
	out->resv_pos = mapq__load(&w->resv_pos, memory_order_relaxed);
	out->resv_tentative = (size & RESV_TENTATIVE) != 0;
	out->resv_size = size & ~RESV_FLAGS;
	return 0;
}

int mapq_reader_slot(const mapq *q, uint32_t i, mapq_slot_info *out)
{
	if (!out)
		return -EINVAL;
	int err = usable(q);
	if (err)
		return err;
	if (i >= q->nr)
		return -ERANGE;
	memset(out, 0, sizeof(*out));
	const struct fmt_rslot *r = &q->rslots[i];
	/* relaxed: as above */
	uint32_t st = mapq__load(&r->state, memory_order_relaxed);
	uint32_t flags = mapq__load(&r->flags, memory_order_relaxed);
	bool live = own_reader(q, (int)i) ||
		    mapq__slot_is_live(q->fd, rslot_lock_off(q, (int)i)) == 1;
	switch (st) {
	case RSLOT_FREE:
		out->state = MAPQ_SLOT_FREE;
		break;
	case RSLOT_ACTIVE:
	case RSLOT_BUSY: /* attaching or detaching: alive only while locked */
		out->state = live ? MAPQ_SLOT_ALIVE : MAPQ_SLOT_DEAD;
		break;
	case RSLOT_DETACHED:
		out->state = MAPQ_SLOT_DETACHED;
		break;
	default:
		out->state = MAPQ_SLOT_INVALID;
		break;
	}
	out->pid = mapq__load(&r->pid, memory_order_relaxed);
	/* a free slot has no reader, whatever its flags still say: a drop
	 * frees a slot with one store and leaves the flags to its next
	 * owner (reader.c) */
	out->durable = st != RSLOT_FREE && (flags & RSLOT_DURABLE) != 0;
	if (out->durable) {
		/* the file's copy may lack its NUL: never read past it */
		memcpy(out->name, r->name, MAPQ_NAME_MAX);
		out->name[MAPQ_NAME_MAX] = '\0';
	}
	out->cursor = mapq__load(&r->cursor, memory_order_relaxed);
	out->delivered = mapq__load(&r->delivered, memory_order_relaxed);
	out->lost = mapq__load(&r->lost, memory_order_relaxed);
	return 0;
}

int mapq_frame(const mapq *q, uint64_t pos, mapq_frame_info *out)
{
	if (!out || pos % FRAME_ALIGN)
		return -EINVAL;
	int err = usable(q);
	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	out->pos = pos;
	out->offset = q->sb.data_off + (pos & q->mask);
	out->crc_ok = -1;
	out->kind = MAPQ_FRAME_NONE;
	out->frame = frame_at(q, pos);
	/* pos first, then the commit word (acquire both), as readers do:
	 * only then does the word belong to this frame (reader.c, look()) */
	if (frame_pos_at(q, pos) != pos)
		return 0;
	uint64_t w = mapq__load(commit_at(q, pos), memory_order_acquire);
	if (cw_lap(w) != lap_of(q, pos) || cw_state(w) == FRAME_NONE)
		return 0;
	const struct fmt_frame *f = frame_at(q, pos);
	out->size = cw_size(w);
	if (!mapq__frame_valid(q, pos, w)) {
		out->kind = MAPQ_FRAME_INVALID;
		return 0;
	}
	out->next = pos + out->size;
	if (cw_pad(w)) {
		out->kind = MAPQ_FRAME_PADDING;
		return 0;
	}
	/* Only a committed frame's header is its writer's; a claimed one
	 * belongs to the writer whose record names it (repair.c) */
	out->writer = MAPQ_NO_WRITER;
	switch (cw_state(w)) {
	case FRAME_CLAIMED: {
		int owner = mapq__frame_owner(q, pos);
		out->kind = MAPQ_FRAME_CLAIMED;
		out->forsaken = (uint32_t)cw_forsaken(w);
		if (owner >= 0)
			out->writer = (uint32_t)owner;
		return 0;
	}
	case FRAME_ABORTED:
		out->kind = MAPQ_FRAME_ABORTED;
		return 0;
	default:
		break;
	}
	uint32_t len = f->len;
	if (len > out->size - FRAME_HDR || len > q->max_msg) {
		out->kind = MAPQ_FRAME_INVALID;
		out->next = 0;
		return 0;
	}
	out->kind = MAPQ_FRAME_COMMITTED;
	out->writer = f->writer;
	out->len = len;
	out->crc = f->crc;
	out->data = (const uint8_t *)f + FRAME_HDR;
	out->crc_ok = mapq__frame_crc(f, pos, out->data, len) == f->crc;
	return 0;
}

int mapq_file_version(const char *name, uint32_t *version)
{
	if (!name || !version)
		return -EINVAL;
	char path[PATH_MAX];
	int err = mapq_resolve(name, path, sizeof(path));
	if (err)
		return err;
	mapq__file fd;
	if ((err = mapq__os_open(path, true, &fd)) != 0)
		return err;
	struct fmt_super sb;
	int64_t n = mapq__os_pread(fd, &sb, sizeof(sb), 0);
	mapq__os_close(fd);
	if (n < 0)
		return (int)n;
	if (n < (int64_t)offsetof(struct fmt_super, sb_size) ||
	    memcmp(sb.magic, FMT_MAGIC, sizeof(sb.magic)) != 0)
		return -MAPQ_ECORRUPT;
	*version = sb.version;
	return 0;
}
