/* SPDX-License-Identifier: MIT */
/*
 * format.c - compute a queue's layout from options, and validate a
 * superblock read from a file that nobody vouches for.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

/* The public header tells tools these without showing them the layout. */
_Static_assert(FMT_VERSION == MAPQ_FORMAT_VERSION, "mapq.h's format version is the file's");
_Static_assert(FRAME_ALIGN == MAPQ_FRAME_ALIGN, "mapq.h's frame grid is the file's");
_Static_assert(FRAME_HDR == MAPQ_FRAME_HEADER, "mapq.h's frame header is the file's");

static uint64_t page_up(uint64_t n)
{
	return (n + FMT_PAGE - 1) & ~(uint64_t)(FMT_PAGE - 1);
}

static int is_pow2(uint64_t n)
{
	return n && !(n & (n - 1));
}

/* The largest payload a ring of @cap bytes can carry: a frame plus the
 * padding before it must fit in one lap, which frame <= cap/2 ensures. */
static uint64_t max_msg_for(uint64_t cap)
{
	return cap / 2 - FRAME_HDR;
}

/* Offsets follow from geometry alone, so open can recompute and compare. */
static void layout(struct fmt_super *sb)
{
	sb->ctl_off = FMT_PAGE;
	/* the control page, then the sync checkpoints */
	sb->wslot_off = sb->ctl_off + (uint64_t)FMT_PAGE * (1 + FMT_CKPT_PAGES);
	sb->rslot_off = sb->wslot_off +
			page_up((uint64_t)sb->writer_slots * sizeof(struct fmt_wslot));
	sb->data_off = sb->rslot_off +
		       page_up((uint64_t)sb->reader_slots * sizeof(struct fmt_rslot));
	sb->file_size = sb->data_off + sb->capacity;
}

int mapq__geometry(const mapq_options *opt, struct fmt_super *sb)
{
	/* no options: every field at zero, which means its default */
	static const mapq_options defaults;
	if (!opt)
		opt = &defaults;
	memset(sb, 0, sizeof(*sb));
	memcpy(sb->magic, FMT_MAGIC, 8);
	sb->version = FMT_VERSION;
	sb->sb_size = FMT_PAGE;
	sb->capacity = opt->capacity ? opt->capacity : FMT_DEFAULT_CAPACITY;
	if (!is_pow2(sb->capacity) || sb->capacity < FMT_MIN_CAPACITY ||
	    sb->capacity > FMT_MAX_CAPACITY)
		return -EINVAL;
	uint64_t limit = max_msg_for(sb->capacity);
	if (limit > 0x7fffffffu)
		limit = 0x7fffffffu;
	if (opt->max_msg) {
		if (opt->max_msg > limit)
			return -EINVAL;
		sb->max_msg = opt->max_msg;
	} else {
		sb->max_msg = (uint32_t)(limit < FMT_DEFAULT_MAX_MSG ? limit : FMT_DEFAULT_MAX_MSG);
	}
	sb->writer_slots = opt->writer_slots ? opt->writer_slots : FMT_DEFAULT_SLOTS;
	sb->reader_slots = opt->reader_slots ? opt->reader_slots : FMT_DEFAULT_SLOTS;
	if (sb->writer_slots > FMT_MAX_SLOTS || sb->reader_slots > FMT_MAX_SLOTS)
		return -EINVAL;
	if (opt->policy != MAPQ_BLOCK && opt->policy != MAPQ_OVERWRITE)
		return -EINVAL;
	sb->flags = opt->policy == MAPQ_OVERWRITE ? FMT_F_OVERWRITE : 0;
	layout(sb);
	return 0;
}

uint32_t mapq__super_crc(const struct fmt_super *sb)
{
	return mapq__crc32c(0, sb, offsetof(struct fmt_super, crc));
}

int mapq__super_check(const struct fmt_super *sb, uint64_t real_size)
{
	if (real_size < sizeof(*sb) || memcmp(sb->magic, FMT_MAGIC, 8) != 0)
		return -MAPQ_EBADMAGIC;
	if (sb->version != FMT_VERSION)
		return -MAPQ_EVERSION;
	if (sb->crc != mapq__super_crc(sb))
		return -MAPQ_ESBCRC;
	/* The CRC only proves the bytes are what a writer stored; a hostile
	 * creator can store anything, so every field is checked as if raw. */
	if (sb->sb_size != FMT_PAGE || !is_pow2(sb->capacity) || sb->capacity < FMT_MIN_CAPACITY ||
	    sb->capacity > FMT_MAX_CAPACITY || sb->max_msg == 0 ||
	    sb->max_msg > max_msg_for(sb->capacity) || sb->writer_slots == 0 ||
	    sb->writer_slots > FMT_MAX_SLOTS || sb->reader_slots == 0 ||
	    sb->reader_slots > FMT_MAX_SLOTS || (sb->flags & ~FMT_F_KNOWN))
		return -MAPQ_EGEOMETRY;
	struct fmt_super want = *sb;
	layout(&want);
	if (want.ctl_off != sb->ctl_off || want.wslot_off != sb->wslot_off ||
	    want.rslot_off != sb->rslot_off || want.data_off != sb->data_off ||
	    want.file_size != sb->file_size)
		return -MAPQ_EGEOMETRY;
	if (real_size != sb->file_size)
		return -MAPQ_ETRUNCATED;
	return 0;
}

int mapq__super_check_rest(const unsigned char *page)
{
	/* The CRC stops before the reserved word: it and the rest of the page
	 * are zero when created (doc/format.md), so anything else there is
	 * damage the CRC cannot see, or a later format that gave them a
	 * meaning this library does not know. */
	for (size_t i = offsetof(struct fmt_super, reserved0); i < FMT_PAGE; i++)
		if (page[i])
			return -MAPQ_EGEOMETRY;
	return 0;
}

uint32_t mapq__ckpt_crc(const struct fmt_ckpt *k)
{
	return mapq__crc32c(0, k, offsetof(struct fmt_ckpt, crc));
}

/* The newest valid checkpoint, or NULL. */
const struct fmt_ckpt *mapq__newest_ckpt(const struct mapq *q)
{
	const struct fmt_ckpt *best = NULL;
	for (unsigned i = 0; i < FMT_CKPT_PAGES; i++) {
		const struct fmt_ckpt *k = ckpt_at(q, i);
		if (k->seq && k->crc == mapq__ckpt_crc(k) && k->head <= k->tail &&
		    k->tail - k->head <= q->cap && (!best || k->seq > best->seq))
			best = k;
	}
	return best;
}
