/* SPDX-License-Identifier: MIT */
/*
 * state.c - the harness's state file: acknowledgements and what readers
 * received, in a shared mapping that outlives any child.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "torture.h"

static size_t acks_size(uint32_t writers)
{
	return (size_t)writers * TT_MAX_INC * sizeof(uint64_t);
}

static size_t reader_size(uint32_t writers)
{
	return sizeof(struct tt_rstats) + (size_t)writers * TT_MAX_INC * sizeof(struct tt_pair);
}

size_t tt_state_size(uint32_t writers, uint32_t readers)
{
	return sizeof(struct tt_header) + acks_size(writers) +
	       (size_t)readers * reader_size(writers);
}

/* Point @st into the state at @mem; @fresh: write its header. */
static void place(struct tt_state *st, void *mem, uint32_t writers, uint32_t readers, bool fresh)
{
	st->base = mem;
	st->size = tt_state_size(writers, readers);
	st->hdr = mem;
	st->acks = (_Atomic uint64_t *)(st->base + sizeof(struct tt_header));
	st->writers = writers;
	st->readers = readers;
	if (fresh) {
		st->hdr->magic = TT_MAGIC;
		st->hdr->writers = writers;
		st->hdr->readers = readers;
	}
}

int tt_state_map(struct tt_state *st, const char *path, bool create, uint32_t writers,
		 uint32_t readers)
{
	size_t size = tt_state_size(writers, readers), got = size;
	int err;
	void *m = tt_map_file(path, create, &got, &err);
	if (!m)
		return err;
	if (got < size) {
		tt_unmap(m, got);
		return -EINVAL;
	}
	place(st, m, writers, readers, create);
	if (!create && (st->hdr->magic != TT_MAGIC || st->hdr->writers != writers ||
			st->hdr->readers != readers)) {
		tt_unmap(m, got);
		return -EINVAL;
	}
	return 0;
}

void tt_state_init(struct tt_state *st, void *mem, uint32_t writers, uint32_t readers)
{
	memset(mem, 0, tt_state_size(writers, readers));
	place(st, mem, writers, readers, true);
}

struct tt_rstats *tt_rstats(const struct tt_state *st, uint32_t reader)
{
	return (struct tt_rstats *)(st->base + sizeof(struct tt_header) + acks_size(st->writers) +
				    (size_t)reader * reader_size(st->writers));
}

struct tt_pair *tt_pair(const struct tt_state *st, uint32_t reader, uint32_t writer, uint32_t inc)
{
	struct tt_pair *p = (struct tt_pair *)(tt_rstats(st, reader) + 1);
	return p + (size_t)writer * TT_MAX_INC + inc;
}
