/* SPDX-License-Identifier: MIT */
/*
 * format.h - the on-disk layout of a mapq file (doc/format.md is its prose).
 *
 * Everything here is little-endian and fixed-width. Shared words are C11
 * atomics; we require 64-bit atomics to be lock-free (checked below), so
 * they are plain aligned words in the file, usable by every process.
 */
#ifndef MAPQ_FORMAT_H
#define MAPQ_FORMAT_H

#include <stdatomic.h>
#include <stdint.h>

#if ATOMIC_LLONG_LOCK_FREE != 2 || ATOMIC_INT_LOCK_FREE != 2
#error "mapq needs lock-free 32- and 64-bit atomics to share them between processes"
#endif
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mapq's file format is little-endian; big-endian hosts are not supported yet"
#endif

#define FMT_MAGIC "\x89MAPQ\r\n\x1a" /* 8 bytes; catches text-mode mangling */
#define FMT_VERSION 2u
#define FMT_PAGE 4096u
#define FMT_LINE 128u /* two cache lines: defeats adjacent-line prefetch */

#define FMT_MIN_CAPACITY 4096ull
#define FMT_MAX_CAPACITY (1ull << 40)
#define FMT_MAX_SLOTS 1024u
#define FMT_DEFAULT_CAPACITY (1ull << 20)
#define FMT_DEFAULT_MAX_MSG 65536u
#define FMT_DEFAULT_SLOTS 16u
/* Stream positions stay below this (at 1 GB/s a queue would need 146
 * years to reach it), so one read from the file at or above it is damage,
 * and a position plus a size never overflows. */
#define FMT_POS_LIMIT (1ull << 62)

/* Superblock: the first page. Immutable after creation; CRC-protected. */
struct fmt_super {
	uint8_t magic[8];
	uint32_t version;
	uint32_t sb_size;  /* FMT_PAGE */
	uint64_t capacity; /* ring bytes, power of two */
	uint32_t max_msg;  /* largest payload */
	uint32_t writer_slots;
	uint32_t reader_slots;
	uint32_t flags;     /* FMT_F_* */
	uint64_t ctl_off;   /* control area */
	uint64_t wslot_off; /* writer slot table */
	uint64_t rslot_off; /* reader slot table */
	uint64_t data_off;  /* ring */
	uint64_t file_size;
	uint64_t created_ns;
	uint8_t queue_id[16];
	uint32_t crc; /* CRC32C of bytes [0, offsetof(crc)) */
	uint32_t reserved0;
};
#define FMT_F_OVERWRITE 1u
#define FMT_F_KNOWN FMT_F_OVERWRITE

/*
 * Control area: one page; each word that changes often sits alone on its
 * FMT_LINE so writers reserving do not slow readers polling, and so on.
 */
struct fmt_ctl {
	_Alignas(FMT_LINE) _Atomic uint64_t tail; /* next position to reserve */
	_Alignas(FMT_LINE) _Atomic uint64_t head; /* oldest retained frame */
	_Atomic uint64_t head_intent;             /* the furthest a head mover set out to move head:
					 where a reader joining under MAPQ_BLOCK may start
					 (ring.c, reader.c); 0 in files made before it */
	_Alignas(FMT_LINE) _Atomic uint32_t data_seq;  /* futex: a frame was committed */
	_Atomic uint32_t data_sleepers;                /* non-zero: someone may sleep on data_seq */
	_Alignas(FMT_LINE) _Atomic uint32_t space_seq; /* futex: a reader moved on */
	_Atomic uint32_t space_sleepers;
	_Alignas(FMT_LINE) _Atomic uint64_t crc_failures; /* rare events */
	_Atomic uint64_t lapped;
	_Atomic uint64_t lost;
	_Atomic uint32_t reader_hwm; /* slots [0, hwm) may be in use */
	uint32_t reserved0;
	_Atomic uint64_t repaired; /* frames finished by others (repair.c) */
};

/*
 * Sync checkpoints: two pages after the control page, written only by
 * mapq_sync() (alternately, by seq) and never in between, so a crash that
 * garbles pages written after the last sync cannot touch the newest one.
 * Recovery falls back on it when the control page is not believable.
 */
struct fmt_ckpt {
	uint64_t seq; /* 0: never written */
	uint64_t head;
	uint64_t tail;
	uint32_t crc; /* CRC32C of the fields above */
	uint32_t reserved0;
};
#define FMT_CKPT_PAGES 2u

/*
 * Writer slot: owned by whoever holds the OFD lock on its first byte.
 *
 * The reservation record (resv_pos, resv_size) lets anyone finish a dead
 * writer's business. It is written BEFORE the writer's CAS on tail, marked
 * RESV_TENTATIVE, and confirmed (the bit cleared by CAS) right after the
 * CAS succeeds, so every reserved byte of the ring is always described by
 * some slot's record until its frame is published. It is also where a
 * writer and a repairer settle who finishes the frame: the writer by a
 * CAS to RESV_PUBLISHING before it stores the frame's word and pos, a
 * repairer forsaking a live writer by a CAS to RESV_FORSAKEN first
 * (doc/format.md, "Reserve" and "Commit").
 */
enum {
	WSLOT_FREE = 0,
	WSLOT_ACTIVE = 1
};
#define RESV_TENTATIVE (1ull << 63)
#define RESV_FORSAKEN (1ull << 62)
#define RESV_PUBLISHING (1ull << 61)
#define RESV_FLAGS (RESV_TENTATIVE | RESV_FORSAKEN | RESV_PUBLISHING)
struct fmt_wslot {
	_Atomic uint32_t state;
	_Atomic uint32_t pid;       /* for display only: never used for liveness */
	_Atomic uint64_t resv_pos;  /* reservation in progress (recovery) */
	_Atomic uint64_t resv_size; /* 0: none */
	_Atomic uint64_t msgs;      /* per-slot counters: no sharing between writers */
	_Atomic uint64_t bytes;
	_Atomic uint64_t aborted;
	_Atomic uint64_t attaches;
	uint8_t reserved[FMT_LINE - 56];
};

/* Reader slot: line 0 is written by the reader on every message, line 1
 * only at attach/detach. */
enum {
	RSLOT_FREE = 0,
	RSLOT_ACTIVE = 1,
	RSLOT_DETACHED = 2,
	RSLOT_BUSY = 3
};
#define RSLOT_DURABLE 1u
struct fmt_rslot {
	_Alignas(FMT_LINE) _Atomic uint64_t cursor; /* next frame to read */
	_Atomic uint64_t lost;                      /* messages skipped by writers pushing cursor */
	_Atomic uint64_t delivered;                 /* messages consumed */
	_Alignas(FMT_LINE) _Atomic uint32_t state;
	_Atomic uint32_t flags; /* RSLOT_DURABLE */
	_Atomic uint32_t pid;   /* for display only */
	uint32_t reserved0;
	char name[32]; /* NUL-terminated; durable readers only */
};

/*
 * Frames. The commit word is the only thing a reader trusts first:
 *   bits  0..31  frame size / 8 (header + payload + alignment)
 *   bits 32..33  state
 *   bit  34      padding frame (commit word and position only, runs to
 *                the ring's end)
 *   bit  35      forsaken: readers gave up waiting on this claimed frame
 *                (its writer is alive but stalled past the unblock
 *                timeout); readers skip it, head waits for its writer
 *   bits 36..63  lap tag: (position / capacity + key) mod 2^28, where the
 *                key comes from the queue id
 * A frame is published only when its commit word carries the lap tag of
 * its position AND its pos field equals that position: any 16-byte-aligned
 * word of the ring may hold stale payload from an earlier lap, and the key
 * plus the 64-bit position make such bytes fail to pass for a frame.
 */
enum {
	FRAME_NONE = 0,
	FRAME_CLAIMED = 1,
	FRAME_COMMITTED = 2,
	FRAME_ABORTED = 3
};
struct fmt_frame {
	_Atomic uint64_t commit;
	_Atomic uint64_t pos; /* full stream position; atomic: polled before it is written */
	/* Written by the frame's writer alone, after it settled its record
	 * (repairers write no header: repair.c, publish_word()). */
	uint32_t len;    /* payload bytes */
	uint32_t crc;    /* CRC32C over pos, len, writer, flags and payload */
	uint16_t writer; /* writer slot */
	uint16_t flags;  /* 0 */
	uint32_t reserved0;
};
#define FRAME_HDR 32u
#define FRAME_ALIGN 16u /* so padding always holds commit word and pos */
#define FRAME_UNIT 8u   /* commit word size unit */
#define LAP_BITS 28u
/* Set only by repairers, on a claimed frame: forsaken (readers skip it,
 * head waits for its writer, which aborts it). */
#define CW_FORSAKEN (1ull << 35)
/* A pos field that no frame can have: recovery stores it over frames it
 * discards, so they can never pass for published (positions stay < 2^63). */
#define POS_SCRUBBED UINT64_MAX
#define LAP_MASK ((1u << LAP_BITS) - 1)

_Static_assert(sizeof(struct fmt_super) == 112, "superblock layout");
_Static_assert(sizeof(struct fmt_ctl) <= FMT_PAGE, "control area fits a page");
_Static_assert(sizeof(struct fmt_wslot) == FMT_LINE, "writer slot is one line");
_Static_assert(sizeof(struct fmt_rslot) == 2 * FMT_LINE, "reader slot is two lines");
_Static_assert(sizeof(struct fmt_frame) == FRAME_HDR, "frame header");
_Static_assert(sizeof(struct fmt_ckpt) == 32, "checkpoint layout");

static inline uint64_t cw_make(uint64_t size, unsigned state, int pad, uint64_t lap)
{
	return (size / FRAME_UNIT) | ((uint64_t)state << 32) | ((uint64_t)(pad != 0) << 34) |
	       ((lap & LAP_MASK) << 36);
}
static inline uint64_t cw_size(uint64_t w)
{
	return (w & 0xffffffffull) * FRAME_UNIT;
}
static inline unsigned cw_state(uint64_t w)
{
	return (unsigned)(w >> 32) & 3u;
}
static inline int cw_pad(uint64_t w)
{
	return (int)((w >> 34) & 1u);
}
static inline uint64_t cw_lap(uint64_t w)
{
	return w >> 36;
}
static inline int cw_forsaken(uint64_t w)
{
	return (int)((w >> 35) & 1u);
}

static inline uint64_t frame_size(uint64_t len)
{
	return (FRAME_HDR + len + FRAME_ALIGN - 1) & ~(uint64_t)(FRAME_ALIGN - 1);
}

#endif /* MAPQ_FORMAT_H */
