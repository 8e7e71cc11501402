/* SPDX-License-Identifier: MIT */
/*
 * queue.c - create, open, validate, map and close a queue file.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"
#include "os.h"

/* mapq_open's tries to open or create a queue file that other processes
 * are creating and removing at the same moment. */
#define CREATE_TRIES 8

void mapq_options_init(mapq_options *opt)
{
	if (opt)
		memset(opt, 0, sizeof(*opt));
}

/* Non-zero geometry fields of @opt must match the existing file. */
/* Fields a newer library may give a meaning to must be zero here. */
static bool reserved_zero(const mapq_options *opt)
{
	for (unsigned i = 0; i < MAPQ_RESERVED; i++)
		if (opt->reserved[i])
			return false;
	return true;
}

static int check_options(const struct fmt_super *sb, const mapq_options *opt)
{
	if (!opt)
		return 0;
	if ((opt->capacity && opt->capacity != sb->capacity) ||
	    (opt->max_msg && opt->max_msg != sb->max_msg) ||
	    (opt->writer_slots && opt->writer_slots != sb->writer_slots) ||
	    (opt->reader_slots && opt->reader_slots != sb->reader_slots) ||
	    /* policy 0 (MAPQ_BLOCK) is also "unspecified", like the zeros above */
	    (opt->policy == MAPQ_OVERWRITE && !(sb->flags & FMT_F_OVERWRITE)))
		return -MAPQ_EMISMATCH;
	return 0;
}

/* Geometry and pointers into the mapping, from the validated superblock. */
static void set_views(struct mapq *q)
{
	q->base = q->map->base;
	q->cap = q->sb.capacity;
	q->mask = q->cap - 1;
	q->cap_shift = (unsigned)__builtin_ctzll(q->cap);
	q->max_msg = q->sb.max_msg;
	memcpy(&q->lap_key, q->sb.queue_id, sizeof(q->lap_key));
	q->lap_key &= LAP_MASK;
	q->nw = q->sb.writer_slots;
	q->nr = q->sb.reader_slots;
	q->overwrite = (q->sb.flags & FMT_F_OVERWRITE) != 0;
	q->ctl = (struct fmt_ctl *)(q->base + q->sb.ctl_off);
	q->wslots = (struct fmt_wslot *)(q->base + q->sb.wslot_off);
	q->rslots = (struct fmt_rslot *)(q->base + q->sb.rslot_off);
	q->ring = q->base + q->sb.data_off;
	/* Aborted frames may be as large as a page plus a header (mapq_sync)
	 * or a message, but never more than half the ring (writer.c). */
	q->commit_max = frame_size(q->max_msg);
	uint64_t am = q->commit_max > FMT_PAGE + 2 * FRAME_HDR ? q->commit_max
							       : FMT_PAGE + 2 * FRAME_HDR;
	q->abort_max = am < q->cap / 2 ? am : q->cap / 2;
}

static int64_t unblock_ns(const mapq_options *opt)
{
	int32_t ms = opt && opt->unblock_ms ? opt->unblock_ms : MAPQ__DEFAULT_UNBLOCK_MS;
	return ms < 0 ? -1 : (int64_t)ms * 1000000;
}

/*
 * Join the queue's users: a shared lock on the open byte. If we can take
 * it exclusively instead, nobody else has the queue open, and whatever is
 * unfinished in it was left by dead processes: recover first, then share
 * (recover.c, mapq__join).
 */
static int join(struct mapq *q, const char *path, bool recover)
{
	mapq_recovery rep;
	bool alone;
	if (!recover)
		return mapq__lock_shared(q->fd, open_off(q), true);
	return mapq__join(q, path, &rep, &alone);
}

static void unmap(struct mapq_map *map)
{
	mapq__os_unmap(map->base, map->size);
}

static int map_queue(struct mapq *q, const mapq_options *opt)
{
	uint64_t size;
	int err = mapq__os_size(q->fd, &size);
	if (err)
		return err;
	int64_t n = mapq__os_pread(q->fd, &q->sb, sizeof(q->sb), 0);
	if (n < 0)
		return (int)n;
	if ((size_t)n < sizeof(q->sb)) {
		/* Too short for a superblock: truncated if it starts like one. */
		if (n >= 8 && memcmp(q->sb.magic, FMT_MAGIC, 8) == 0)
			return -MAPQ_ETRUNCATED;
		return -MAPQ_EBADMAGIC;
	}
	err = mapq__super_check(&q->sb, size);
	if (err)
		return err;
	err = check_options(&q->sb, opt);
	if (err)
		return err;
	if (q->sb.file_size > SIZE_MAX)
		return -ENOMEM;
	q->map = mapq__os_calloc(1, sizeof(*q->map));
	if (!q->map)
		return -ENOMEM;
	uint8_t *m;
	if ((err = mapq__os_map(q->fd, q->sb.file_size, q->rdonly, &m)) != 0) {
		mapq__os_free(q->map);
		q->map = NULL;
		return err;
	}
	q->map->base = m;
	q->map->size = q->sb.file_size;
	atomic_init(&q->map->refs, 1);
	if ((err = mapq__super_check_rest(m)) != 0) {
		unmap(q->map);
		mapq__os_free(q->map);
		q->map = NULL;
		return err;
	}
	set_views(q);
	return 0;
}

int mapq_open(mapq **qp, const char *name, int flags, const mapq_options *opt)
{
	if (!qp)
		return -EINVAL;
	*qp = NULL;
	if (!name || !*name ||
	    (flags & ~(MAPQ_CREATE | MAPQ_EXCL | MAPQ_RDONLY | MAPQ_NORECOVER)) ||
	    ((flags & MAPQ_EXCL) && !(flags & MAPQ_CREATE)) ||
	    ((flags & MAPQ_RDONLY) && (flags & MAPQ_CREATE)))
		return -EINVAL;
	if (opt && !reserved_zero(opt))
		return -EINVAL;
	char path[PATH_MAX];
	int err = mapq_resolve(name, path, sizeof(path));
	if (err)
		return err;
	struct mapq *q = mapq__os_calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->fork_gen = mapq__os_fork_watch();
	q->wslot = -1;
	q->rdonly = (flags & MAPQ_RDONLY) != 0;
	mapq__file fd = MAPQ__NO_FILE;
	err = -ENOENT;
	if (!(flags & MAPQ_EXCL))
		err = mapq__os_open(path, q->rdonly, &fd);
	/* Loop: a racing creator may link its file between our two tries
	 * (CREATE_TRIES: each lost race means another process succeeded). */
	for (int tries = 0; err == -ENOENT && (flags & MAPQ_CREATE) && tries < CREATE_TRIES;
	     tries++) {
		err = mapq__create_file(path, opt, true, &fd);
		if (err == -EEXIST && !(flags & MAPQ_EXCL))
			err = mapq__os_open(path, false, &fd);
	}
	if (err) {
		mapq__os_free(q);
		return err;
	}
	q->fd = fd;
	q->unblock_ns = unblock_ns(opt);
	err = map_queue(q, opt);
	/* A read-only handle takes no lock: looking at a queue must not
	 * count as using it, or it would hold up recovery at others' open. */
	if (!err && q->map && !q->rdonly && (err = join(q, path, !(flags & MAPQ_NORECOVER))) != 0)
		unmap(q->map);
	if (err) {
		mapq__os_close(fd);
		mapq__os_free(q->map);
		mapq__os_free(q);
		return err;
	}
	*qp = q;
	return 0;
}

void mapq_close(mapq *q)
{
	if (!q)
		return;
	while (q->readers)
		mapq_reader_close(q->readers);
	/* In a forked child, the reservation and the writer slot are the
	 * parent's (os.h, mapq__os_fork_watch): only the child's copy of
	 * the handle goes. */
	if (!inherited(q)) {
		if (q->resv_size)
			(void)mapq_abort(q);
		mapq__wslot_detach(q);
	}
	/* acq_rel: the last one to leave sees every other handle's use done
	 * (process-local: the handles of one process share a mapping) */
	if (atomic_fetch_sub_explicit(&q->map->refs, 1, memory_order_acq_rel) == 1) {
		unmap(q->map);
		mapq__os_free(q->map);
	}
	mapq__os_close(q->fd); /* drops every OFD lock this handle held */
	mapq__os_free(q);
}

int mapq_dup(const mapq *q, mapq **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	int err = usable(q);
	if (err)
		return err;
	if (q->rdonly)
		return -MAPQ_ERDONLY;
	struct mapq *d = mapq__os_calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fork_gen = q->fork_gen;
	/* A new open file description of the same file: locks belong to
	 * one, so each handle needs its own to own slots. */
	if ((err = mapq__os_reopen(q->fd, &d->fd)) != 0) {
		mapq__os_free(d);
		return err;
	}
	/* relaxed: the caller's handle keeps the mapping alive meanwhile
	 * (process-local) */
	atomic_fetch_add_explicit(&q->map->refs, 1, memory_order_relaxed);
	d->map = q->map;
	d->sb = q->sb;
	d->wslot = -1;
	d->unblock_ns = q->unblock_ns;
	set_views(d);
	/* shared: the original handle holds its own, so this never waits
	 * for long (only behind a recovery that started before) */
	err = mapq__lock_shared(d->fd, open_off(d), true);
	if (err) {
		mapq_close(d);
		return err;
	}
	*out = d;
	return 0;
}
