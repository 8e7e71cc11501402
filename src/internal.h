/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the library's files share and nobody else sees.
 *
 * The files of src/ call each other in layers, lowest first (a file uses
 * only files on lower layers; `make analyze' checks it from the objects):
 *   crc32c error fault version < os_posix < name slots wait < format <
 *   create inspect repair ring < reader recover writer < queue sync
 * os_posix.c (os_win32.c on Windows) is the platform layer (os.h): every
 * call to the system beyond C11 is there, but for fault.c's kill, stop
 * and stall (test builds) and error.c's errno names (doc/platform.md).
 * (sim.c, in simulation builds only, is on the first layer.)
 *
 * Names: what a file of src/ defines for the others is mapq__name (it
 * has linkage, so it needs the prefix to stay out of programs' way); the
 * static inline helpers below have no prefix (no linkage, nothing to
 * collide with); constants shared across files are MAPQ__NAME, those of
 * the file format FMT_NAME (format.h). Each section says which file
 * defines what it declares.
 */
#ifndef MAPQ_INTERNAL_H
#define MAPQ_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapq.h"
#include "format.h"
#include "fault.h"
#include "atomic.h"
#include "os.h"

/* One mapping of the file, shared by handles made with mapq_dup(). */
struct mapq_map {
	_Atomic uint32_t refs;
	uint8_t *base;
	uint64_t size;
};

struct mapq {
	mapq__file fd; /* our own open file description: slot locks */
	struct mapq_map *map;
	uint8_t *base; /* map->base */
	/* Geometry copied from the validated superblock: never re-read. */
	uint64_t cap;
	uint64_t mask;
	unsigned cap_shift;
	uint32_t max_msg;
	uint32_t lap_key; /* from the queue id: see format.h */
	uint32_t nw, nr;
	bool overwrite;
	bool rdonly;         /* MAPQ_RDONLY: mapped PROT_READ, no locks */
	uint64_t commit_max; /* largest committed frame: frame_size(max_msg) */
	uint64_t abort_max;  /* largest aborted frame: see mapq__frame_valid */
	int64_t unblock_ns;  /* stall before readers skip a frame; <0: never */
	uint64_t reap_check; /* when we last asked if blocking readers live */
	struct fmt_super sb; /* private copy, validated */
	struct fmt_ctl *ctl;
	struct fmt_wslot *wslots;
	struct fmt_rslot *rslots;
	uint8_t *ring;
	/* Writer state. */
	int wslot;            /* -1: none attached yet */
	bool light_fence;     /* the commit's side of the data sleepers' pair is
				 a compiler barrier (os.h): set on attaching */
	uint64_t resv_pos;    /* frame position of the open reservation */
	uint64_t resv_size;   /* its frame size; 0 when none is open */
	uint64_t resv_rec;    /* its confirmed record's resv_size (padding included) */
	bool resv_publishing; /* its record is publishing already (writer.c) */
	uint32_t resv_len;
	/* Readers attached through this handle. */
	struct mapq_reader *readers;
	unsigned fork_gen; /* mapq__os_fork_gen when opened (os.h) */
};

/* mapq_send() of at most this many bytes settles its frame when it
 * reserves it (doc/format.md, "Publish early"): it can no longer be
 * forsaken, so the copy it then makes must stay short; as short as a
 * batch's (MAPQ__BATCH_MAX), which publishes early too. */
#define MAPQ__PUBLISH_EARLY_MAX 4096
/* mapq_send_batch() puts at most this many bytes of frames in one
 * reservation (doc/format.md, "Send a batch"; what the bound buys:
 * doc/performance.md, "Batched sends"). */
#define MAPQ__BATCH_MAX 4096

struct mapq_reader {
	struct mapq *q;
	struct mapq_reader *next;
	int slot;
	bool durable;
	bool holding;                 /* messages returned by read, not released */
	uint64_t held_pos, held_next; /* the first one's position, the next one after the last */
	unsigned held;                /* how many: 1, or more after mapq_read_batch() */
	bool ahead; /* a batch ended looking at an unpublished frame: see mapq_read_batch() */
	uint64_t lost;
	uint64_t tail_seen;  /* tail when last looked at: see peek() */
	unsigned idle_looks; /* looks at an unpublished position: see peek() */
	unsigned backoff;    /* pauses after finding a frame being filled */
	/* The unfinished frame this reader waits on, and since when. */
	uint64_t stall_pos, stall_since, stall_check;
	bool on_writer; /* tail has passed stall_pos */
};

/* crc32c.c */
uint32_t mapq__crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t mapq__crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t mapq__crc32c_hw(uint32_t crc, const void *buf, size_t len);
/* the crc32 instruction alone, without the vector folding of long runs */
uint32_t mapq__crc32c_sse(uint32_t crc, const void *buf, size_t len);
/* The widest vector folding of long runs this CPU runs (512, 256, or 0);
 * a test lowers it to check the narrower paths, before any thread
 * starts. */
unsigned mapq__crc32c_vx_width(void);
void mapq__crc32c_vx_limit(unsigned width);
bool mapq__crc32c_hw_available(void);
/* The CRC of the 16 bytes of words @a and @b (little-endian), then @len
 * bytes at @buf: a frame's CRC in one call (format.c). Every send and
 * read makes one, through a pointer to the code this CPU runs: set when
 * the library loads (crc32c.c), so that no call tests which that is. */
typedef uint32_t mapq__crc32c_hdr_fn(uint64_t a, uint64_t b, const void *buf, size_t len);
extern _Atomic(mapq__crc32c_hdr_fn *) mapq__crc32c_hdr_impl;
static inline uint32_t mapq__crc32c_hdr(uint64_t a, uint64_t b, const void *buf, size_t len)
{
	/* relaxed: process-local; every store is of the same pointer */
	return atomic_load_explicit(&mapq__crc32c_hdr_impl, memory_order_relaxed)(a, b, buf, len);
}
/* Both of the above while copying @len bytes from @src to @dst; the CRC
 * is of the bytes written at @dst. */
uint32_t mapq__crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len);
/* From this many bytes on, where the CPU moves strings fast, a copy is
 * made by the string instruction and its CRC is of @src (crc32c.c,
 * copy_streamed()); mapq__crc32c_stream_min is this, or SIZE_MAX where
 * copies never stream. Set when the library loads; a test turns it off. */
#define MAPQ__STREAM_MIN 4096
extern size_t mapq__crc32c_stream_min;
void mapq__crc32c_stream_off(void);
/* mapq__crc32c_hdr() of the @len bytes it copies from @src to @dst, the
 * bytes written (@src may be NULL if @len is 0); through a pointer, as
 * that one. */
typedef uint32_t mapq__crc32c_hdr_copy_fn(uint64_t a, uint64_t b, void *dst, const void *src,
					  size_t len);
extern _Atomic(mapq__crc32c_hdr_copy_fn *) mapq__crc32c_hdr_copy_impl;
static inline uint32_t mapq__crc32c_hdr_copy(uint64_t a, uint64_t b, void *dst, const void *src,
					     size_t len)
{
	/* relaxed: process-local; every store is of the same pointer */
	return atomic_load_explicit(&mapq__crc32c_hdr_copy_impl, memory_order_relaxed)(a, b, dst,
										       src, len);
}

/* format.c */
int mapq__geometry(const mapq_options *opt, struct fmt_super *sb);
int mapq__super_check(const struct fmt_super *sb, uint64_t real_size);
uint32_t mapq__super_crc(const struct fmt_super *sb);
/* The superblock page past the CRC: the reserved word and the rest are zero. */
int mapq__super_check_rest(const unsigned char *page);

/* A frame's CRC covers every header field but the commit word (whose
 * state changes after the CRC is written) and the frame's own CRC: pos,
 * then len, writer and flags as one little-endian word. (Inline, as the
 * other helpers on every send's and read's path.) */
static inline uint64_t frame_crc_rest(uint32_t len, uint16_t writer, uint16_t flags)
{
	return (uint64_t)len | (uint64_t)writer << 32 | (uint64_t)flags << 48;
}

/* The CRC of the frame at position @pos (the value its pos field has, or
 * will have once the writer publishes it). */
static inline uint32_t mapq__frame_crc(const struct fmt_frame *f, uint64_t pos, const void *payload,
				       uint32_t len)
{
	return mapq__crc32c_hdr(pos, frame_crc_rest(len, f->writer, f->flags), payload, len);
}

/* The CRC of a frame a writer is making at @pos, with @len payload bytes,
 * writer slot @writer and flags 0, from those values rather than its
 * header (which it writes only once the frame is its to publish):
 * mapq__frame_crc_new of the payload at @payload, or mapq__frame_crc_copy
 * as the first @n bytes are copied from @src to @dst (continue with
 * mapq__crc32c_copy). */
static inline uint32_t mapq__frame_crc_new(uint64_t pos, uint32_t len, uint16_t writer,
					   const void *payload)
{
	return mapq__crc32c_hdr(pos, frame_crc_rest(len, writer, 0), payload, len);
}

static inline uint32_t mapq__frame_crc_copy(void *dst, uint64_t pos, uint32_t len, uint16_t writer,
					    const void *src, uint32_t n)
{
	return mapq__crc32c_hdr_copy(pos, frame_crc_rest(len, writer, 0), dst, src, n);
}
uint32_t mapq__ckpt_crc(const struct fmt_ckpt *k);
/* The newest believable mapq_sync() checkpoint, or NULL. */
const struct fmt_ckpt *mapq__newest_ckpt(const struct mapq *q);

/* slots.c: liveness through the platform's byte-range locks (os.h) */
int mapq__slot_trylock(mapq__file fd, uint64_t off);
void mapq__slot_unlock(mapq__file fd, uint64_t off);
int mapq__slot_is_live(mapq__file fd, uint64_t off);
int mapq__registry_lock(mapq__file fd, uint64_t off);
int mapq__lock_shared(mapq__file fd, uint64_t off, bool wait);

/* wait.c: sleeps on shared words (os.h), deadlines, and how long spinning
 * pauses (with the inline helpers they need) */
uint64_t mapq__now_ns(void);
uint64_t mapq__deadline(int timeout_ms);
/* 0, a positive number of milliseconds, or MAPQ_FOREVER; any other
 * negative value is a caller's mistake, not "for ever". */
static inline bool timeout_ok(int timeout_ms)
{
	return timeout_ms >= 0 || timeout_ms == MAPQ_FOREVER;
}
/* Say "I am about to sleep on the futex word this flag belongs to". With
 * @heavy, its wakers may keep their side of the pair with a light fence
 * (os.h), and the sleeper makes the heavy one. False: the heavy fence
 * could not be made, and a sleep must not last long. */
bool mapq__sleeper_set(_Atomic uint32_t *flag, bool heavy);
void mapq__wake_data(struct mapq *q);
void mapq__wake_space(struct mapq *q);

/* A hint to the CPU that we are spinning on shared memory. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * How long the spinning paths pause, as counts of cpu_relax(). The
 * pause instruction takes about 10 cycles on some x86 cores and over 100
 * on others, so the counts are worked out when the library loads from a
 * measurement of it, to give the same times everywhere (wait.c). Set
 * before any thread can run, read-only afterwards.
 */
struct mapq__spin {
	unsigned empty;        /* between looks at an empty queue: ~120 ns */
	unsigned filling_min;  /* first pause at a frame being filled: ~60 ns */
	unsigned filling_max;  /* ... doubling up to ~1.25 us while a stream lasts */
	unsigned blocked_max;  /* a writer between looks at a blocking reader: ~0.6 us */
	unsigned contended;    /* a writer that lost tail's CAS to another: ~1.25 us */
	unsigned ps_per_relax; /* what one pause takes, in picoseconds (at least 1000) */
};
extern struct mapq__spin mapq__spin;

/*
 * How long a waiter sleeps before it looks again without being woken.
 * What it waits for can come from a process that wakes nobody (a writer
 * that died in its frame, a reader that died holding writers back), so
 * it must look now and then; every other change wakes it, so these are
 * the worst case, not the usual one. Set before any thread runs: tests
 * make them long (tests/wakeups), so that a wake-up never sent shows as
 * a late return instead of being hidden by the next look.
 */
struct mapq__polls {
	uint64_t unblock_ns; /* a waiter on an unfinished frame checks its writer */
	uint64_t idle_ns;    /* a reader at an empty queue */
	uint64_t space_ns;   /* a writer held back by a reader */
};
extern struct mapq__polls mapq__poll;

static inline void relax_n(unsigned n)
{
	while (n--)
		cpu_relax();
}

/*
 * Waiting for another process, one way for every blocked caller (a reader
 * at an empty queue or a half-written frame, a writer at a full ring):
 * look, and while still blocked spin for a while, then sleep on the futex
 * word the blocker will bump, waking now and then to look for a blocker
 * that died. The caller says only what it waits on (struct mapq__blocker)
 * and how long it paused between two looks; the waiter keeps the rest.
 */
struct mapq__blocker {
	_Atomic uint32_t *word; /* the futex word the blocker bumps */
	_Atomic uint32_t *flag; /* its sleeper flag (wait.c) */
	uint64_t poll_ns;       /* a sleep lasts at most this long */
	uint32_t spin_ns;       /* spin this long before sleeping */
	bool light_wakers;      /* its wakers may use the light fence: the
				   sleeper makes the heavy one (wait.c) */
	uint32_t yield_ns;      /* spun this long, offer the CPU now and then:
				   the blocker may need ours (0: never; wait.c) */
};
struct mapq__waiter {
	int timeout_ms;
	uint64_t deadline;           /* 0 until the first sleep draws near: a
	                                clock read a blocked look need not pay */
	uint64_t spun;               /* pauses since the last sleep */
	unsigned looks;              /* looks since the last sleep */
	const _Atomic uint32_t *set; /* the flag set for the coming sleep, or NULL */
	uint32_t seen;               /* the futex word's value after setting it */
	bool short_sleep;            /* the heavy fence failed: poll, do not trust
					the wake-up (wait.c) */
	bool no_yield;               /* a yield came straight back: nobody else
					wants the CPU, stop offering it (wait.c) */
};
void mapq__waiter_init(struct mapq__waiter *w, int timeout_ms);
/* The waiter's deadline, read from the clock the first time it is asked. */
uint64_t mapq__waiter_deadline(struct mapq__waiter *w);
/* How long the waiter has spun since its last sleep, in ps. */
static inline uint64_t mapq__waiter_spun_ps(const struct mapq__waiter *w)
{
	return w->spun * mapq__spin.ps_per_relax;
}
/* Still spinning on @b (not yet time to sleep)? */
static inline bool mapq__waiter_spinning(const struct mapq__waiter *w,
					 const struct mapq__blocker *b)
{
	return mapq__waiter_spun_ps(w) < (uint64_t)b->spin_ns * 1000u;
}
/* After a look that found the caller blocked on @b, having paused @paused
 * times since the previous look (0: the waiter pauses once): spin, or set
 * the sleeper flag, or sleep. 0: look again; -ETIMEDOUT: the deadline has
 * passed. @now: mapq__now_ns() if the caller has it, else 0. */
int mapq__waiter_block(struct mapq__waiter *w, const struct mapq__blocker *b, unsigned paused,
		       uint64_t now);

/* create.c: a new queue file at @path, complete before anyone can open
 * it; @unnamed: try to build it unnamed first (mapq__os_create). 0 and
 * the open file in *@out, or -errno. */
int mapq__create_file(const char *path, const mapq_options *opt, bool unnamed, mapq__file *out);

/* recover.c: under the join lock, if no other process has the queue open
 * (our open lock turns exclusive: *alone), recover it and sweep @path's
 * directory of dead creators' temporary files (@path may be NULL); hold
 * the open lock shared at the end either way. 0 or the first error. */
int mapq__join(struct mapq *q, const char *path, mapq_recovery *rep, bool *alone);

/* repair.c: finishing what dead (or stalled) writers left */
/* The first frame of a fill of [c, b) with aborted frames (padding where
 * it reaches the ring's end): its size and its word in *w; 0 if what is
 * left is smaller than a header and not at the ring's end. */
uint64_t mapq__fill_piece(const struct mapq *q, uint64_t c, uint64_t b, uint64_t *w);
enum {
	REPAIR_NONE = 0,
	REPAIR_CLAIM = 1,
	REPAIR_HOLE = 2,
	REPAIR_FORSAKE = 3,
	REPAIR_DONE = 4,
	/* several writers raced for the position and the winner is alive
	 * and has not confirmed yet: nothing can be decided now */
	REPAIR_UNSETTLED = 5
};
int mapq__unblock(struct mapq *q, uint64_t c, bool force);
int mapq__repair_record(struct mapq *q, uint32_t slot);
void mapq__abandon(struct mapq *q, uint64_t pos, uint64_t size);
/* The writer slot whose reservation record names the frame at @c, or -1. */
int mapq__frame_owner(const struct mapq *q, uint64_t c);
/* Does some writer's reservation record start a frame at @c? */
bool mapq__reserved_at(const struct mapq *q, uint64_t c);
#define MAPQ__DEFAULT_UNBLOCK_MS 1000

/* ring.c: head movement, and readers' cursors pushed along with it */
enum {
	MAPQ__BLOCKED_BY_READER = 1,
	MAPQ__BLOCKED_BY_WRITER = 2
};
int mapq__advance_head(struct mapq *q, uint64_t need, bool eager);
void mapq__lift_readers(struct mapq *q, uint64_t head);

/* writer.c: this handle's writer slot, taken from a dead owner if need be */
int mapq__wslot_attach(struct mapq *q);
void mapq__wslot_detach(struct mapq *q);
/* writer.c: size 0 reserves a frame ending on the next page (mapq_sync) */
int mapq__reserve_frame(struct mapq *q, uint64_t size, uint64_t *fpos, uint64_t *fsize,
			int timeout_ms);

/* ---- Inline helpers, defined here: a handle's readers, and where
 * frames, commit words, slot locks and checkpoints lie in the mapping. */

/* What mapq_sync and mapq_recover ask of a handle first: one that may
 * write and holds no reservation. 0, or the error to return. */

/* Was @q opened by a process this one was forked from? Then it may only
 * be closed (mapq.h). */
static inline bool inherited(const struct mapq *q)
{
	return q->fork_gen != mapq__os_fork_gen;
}

/* The checks every call on a handle starts with. */
static inline int usable(const struct mapq *q)
{
	if (!q)
		return -EINVAL;
	return inherited(q) ? -MAPQ_EFORKED : 0;
}

static inline int idle_writable(const struct mapq *q)
{
	int err = usable(q);
	if (err)
		return err;
	if (q->rdonly)
		return -MAPQ_ERDONLY;
	return q->resv_size ? -MAPQ_ESTATE : 0;
}

/* Is reader slot @slot one of this handle's readers? Our own OFD locks
 * never conflict with us, so a lock test alone cannot tell. */
static inline bool own_reader(const struct mapq *q, int slot)
{
	for (const struct mapq_reader *r = q->readers; r; r = r->next)
		if (r->slot == slot)
			return true;
	return false;
}

/*
 * The pos field of the frame at @pos: 8 bytes after its commit word.
 * acquire: pos is the last thing a writer stores when it claims a frame
 * (release); read it FIRST, and only if it equals the position is the
 * commit word read next guaranteed to be this frame's, not stale bytes.
 */
static inline uint64_t frame_pos_at(const struct mapq *q, uint64_t pos)
{
	return mapq__load(&((struct fmt_frame *)(q->ring + (pos & q->mask)))->pos,
			  memory_order_acquire);
}

static inline struct fmt_frame *frame_at(const struct mapq *q, uint64_t pos)
{
	return (struct fmt_frame *)(q->ring + (pos & q->mask));
}
static inline _Atomic uint64_t *commit_at(const struct mapq *q, uint64_t pos)
{
	return (_Atomic uint64_t *)(q->ring + (pos & q->mask));
}
/* Is commit word @w believable for a frame at @pos of this queue? Every
 * field comes from the file, so size, padding and state are checked
 * against the geometry before anyone uses them. (Inline: head's walk
 * and every read judge a frame with it.) */
static inline bool mapq__frame_valid(const struct mapq *q, uint64_t pos, uint64_t w)
{
	uint64_t size = cw_size(w), off = pos & q->mask;

	if (size % FRAME_ALIGN)
		return false;
	if (cw_pad(w))
		return size >= FRAME_ALIGN && off + size == q->cap &&
		       cw_state(w) == FRAME_COMMITTED;
	/* Aborted (and still claimed) frames may be larger than any message:
	 * mapq_sync() pads to a page boundary with one, and repairs may fill
	 * a dead writer's whole reservation. */
	uint64_t max = cw_state(w) == FRAME_COMMITTED ? q->commit_max : q->abort_max;
	return size >= FRAME_HDR && off + size <= q->cap && size <= max;
}

static inline uint64_t lap_of(const struct mapq *q, uint64_t pos)
{
	return ((pos >> q->cap_shift) + q->lap_key) & LAP_MASK;
}
/* Liveness: a slot is owned through an OFD write lock on the first byte
 * of its record (slots.c); locks are advisory and never block I/O through
 * the mapping. */
static inline uint64_t wslot_lock_off(const struct mapq *q, int i)
{
	return q->sb.wslot_off + (uint64_t)i * sizeof(struct fmt_wslot);
}
/* The registry lock serialises reader attach, detach, drop and reaping. */
static inline uint64_t registry_off(const struct mapq *q)
{
	return q->sb.ctl_off + FMT_PAGE - 1;
}
/* Every handle holds a shared lock here while open; recovery takes it
 * exclusively, which proves no other process has the queue open. */
static inline uint64_t open_off(const struct mapq *q)
{
	return q->sb.ctl_off + FMT_PAGE - 2;
}
/* Serialises joining: an opener holds it exclusively while it finds out
 * whether anyone has the queue open, and recovers it if not (queue.c). */
static inline uint64_t join_off(const struct mapq *q)
{
	return q->sb.ctl_off + FMT_PAGE - 4;
}
/* Serialises mapq_sync() checkpoints between processes. */
static inline uint64_t sync_off(const struct mapq *q)
{
	return q->sb.ctl_off + FMT_PAGE - 3;
}
static inline struct fmt_ckpt *ckpt_at(const struct mapq *q, unsigned i)
{
	return (struct fmt_ckpt *)(q->base + q->sb.ctl_off + (uint64_t)FMT_PAGE * (1 + i));
}
/* Padding before a reservation of @size bytes (padding included) at @pos:
 * a reservation crosses the ring's end only by starting with padding. */
static inline uint64_t resv_pad(const struct mapq *q, uint64_t pos, uint64_t size)
{
	uint64_t off = pos & q->mask;
	return off + size > q->cap ? q->cap - off : 0;
}
static inline uint64_t rslot_lock_off(const struct mapq *q, int i)
{
	return q->sb.rslot_off + (uint64_t)i * sizeof(struct fmt_rslot);
}

#endif /* MAPQ_INTERNAL_H */
