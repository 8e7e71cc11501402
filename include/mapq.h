/* SPDX-License-Identifier: MIT */
/*
 * mapq.h - a multi-writer, multi-reader message queue in one shared,
 * memory-mapped file.
 *
 * This header is the manual. Every function returns 0 (or a length) on
 * success and a negative error code on failure: -errno where one fits, or
 * one of the MAPQ_E* codes below. mapq_strerror() turns any of them into a
 * sentence. No function prints, exits or aborts.
 *
 * Handles are not thread-safe: give each thread its own mapq handle
 * (mapq_dup(), or open the same path again) and its own readers. Any
 * number of handles, in any number of processes, may write to and read
 * from one queue at once. A child made by fork() opens its own handles:
 * the ones it inherits share the parent's open file description, and so
 * its liveness locks (a process that dies holding them would not look
 * dead while the other lives, and recovery would take the two for one).
 * In the child, every call on an inherited handle or reader returns
 * -MAPQ_EFORKED, except mapq_close() and mapq_reader_close(), which free
 * the child's copy and leave the queue and the parent's handle as they
 * are, and mapq_reader_lost(), which reads a private counter.
 */
#ifndef MAPQ_H
#define MAPQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mapq_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MAPQ_WUR __attribute__((warn_unused_result))
#else
#define MAPQ_WUR
#endif

/*
 * Library error codes, in their own range far from errno values. Like
 * errno values they are positive, and functions return them negated:
 * `if (rc == -MAPQ_ELAPPED)`. XX(name, value, sentence). One table generates the enum, mapq_strerror()
 * and mapq_err_name().
 */
#define MAPQ_ERROR_MAP(XX)                                                                       \
	XX(EBADMAGIC, 30700, "not a mapq queue file (bad magic number)")                         \
	XX(EVERSION, 30701, "queue file format version is not supported")                        \
	XX(ESBCRC, 30702, "queue file superblock checksum does not match")                       \
	XX(EGEOMETRY, 30703, "queue file geometry is invalid or inconsistent")                   \
	XX(ETRUNCATED, 30704, "queue file size does not match its geometry")                     \
	XX(EMISMATCH, 30705, "existing queue differs from the requested options")                \
	XX(ECORRUPT, 30706, "queue data is corrupt (invalid frame)")                             \
	XX(EFRAMECRC, 30707, "message checksum mismatch; message skipped")                       \
	XX(ELAPPED, 30708, "reader was overtaken by writers; messages were lost")                \
	XX(ENOSLOT, 30709, "no free writer or reader slot in the queue")                         \
	XX(ESTATE, 30710, "operation not valid in the handle's current state")                   \
	XX(ESTALLED, 30711,                                                                      \
	   "writer stalled past the unblock timeout; readers skipped its message")               \
	XX(EINJECTED, 30712, "injected fault (fault-injection build)")                           \
	XX(EBADNAME, 30713,                                                                      \
	   "invalid queue name (1-200 printable characters, no '/', not starting with '.')")     \
	XX(ERDONLY, 30714, "queue was opened read-only (MAPQ_RDONLY)")                           \
	XX(ENOTREG, 30715, "not a regular file (a FIFO, device or directory cannot be a queue)") \
	XX(EFORKED, 30716, "handle was opened before fork(); a child must open its own")

enum mapq_error {
#define MAPQ_XX_ENUM(name, value, text) MAPQ_##name = (value),
	MAPQ_ERROR_MAP(MAPQ_XX_ENUM)
#undef MAPQ_XX_ENUM
};

/** Full-ring policy, fixed when the queue is created. */
enum mapq_policy {
	MAPQ_BLOCK = 0,     /**< writers wait for the slowest attached reader */
	MAPQ_OVERWRITE = 1, /**< writers overwrite; lapped readers are told */
};

/** Flags for mapq_open(). */
enum mapq_open_flags {
	MAPQ_CREATE = 1 << 0, /**< create the file if it does not exist */
	MAPQ_EXCL = 1 << 1,   /**< with MAPQ_CREATE: fail if it exists */
	/**
	 * Inspect only: the file is opened and mapped read-only, no lock is
	 * taken and nothing is recovered, so the handle sees the file exactly
	 * as it is, even one that only read permission is granted on.
	 * mapq_info(), mapq_stats(), mapq_writer_slot(), mapq_reader_slot()
	 * and mapq_frame() work; everything that writes returns
	 * -MAPQ_ERDONLY.
	 */
	MAPQ_RDONLY = 1 << 2,
	/**
	 * Do not run recovery at open even when no other process has the
	 * queue open; the caller runs mapq_recover() itself and gets the
	 * report (the `mapq recover` command).
	 */
	MAPQ_NORECOVER = 1 << 3,
};

/** Where a new reader starts (mapq_reader_open()). */
enum mapq_start {
	MAPQ_START_RESUME = 0, /**< durable reader: its saved cursor; else oldest */
	MAPQ_START_OLDEST = 1, /**< oldest message still in the ring (or a few
				    after it, if a writer is freeing those) */
	MAPQ_START_LATEST = 2, /**< only messages committed from now on */
};

/** Timeouts in milliseconds: 0 returns at once, MAPQ_FOREVER never gives up. */
#define MAPQ_FOREVER (-1)

/** Longest queue name (mapq_resolve()), without the terminating NUL. */
#define MAPQ_QUEUE_NAME_MAX 200

/** Longest durable reader name, without the terminating NUL. */
#define MAPQ_NAME_MAX 31

/** Every frame starts at a stream position that is a multiple of this. */
#define MAPQ_FRAME_ALIGN 16

/** Bytes of header in every frame: a queue's largest message is at most
 * half its capacity less this. */
#define MAPQ_FRAME_HEADER 32

/** The on-disk format version this library reads and writes. */
#define MAPQ_FORMAT_VERSION 2

/**
 * Reserved fields end every struct the caller allocates, so that fields
 * can be added without changing its size. In mapq_options they must be
 * zero (mapq_options_init() sees to it; anything else is -EINVAL, so a
 * program built for a newer library fails loudly on an older one); in
 * the structs the library fills, the library zeroes them.
 */
#define MAPQ_RESERVED 4

/**
 * struct mapq_options - geometry and policy for a new queue.
 *
 * Fill with mapq_options_init(), then change what you need. A field left
 * at zero takes its default. When mapq_open() opens an existing file,
 * every non-zero geometry field must match it (else -MAPQ_EMISMATCH).
 */
typedef struct mapq_options {
	uint64_t capacity; /**< ring bytes, power of two, 4 KiB..1 TiB; 1 MiB */
	uint32_t max_msg;  /**< largest payload; default min(64 KiB, cap/2 - 32) */
	/**
	 * Concurrent writer handles, 1..1024; 16. With 1 the writer is
	 * alone: faster (no locked instruction per send), and never skipped
	 * as stalled, since no frame can be behind its own (doc/format.md,
	 * "Reserve alone").
	 */
	uint32_t writer_slots;
	uint32_t reader_slots; /**< readers (live + durable), 1..1024; 16 */
	uint32_t policy;       /**< enum mapq_policy; MAPQ_BLOCK. On open, only
	                            MAPQ_OVERWRITE is checked (0 is "any") */
	uint32_t mode;         /**< file permission bits at creation; 0600 */
	/**
	 * How long this handle's readers and writers wait on a frame whose
	 * writer is alive (its slot lock is held) but makes no progress,
	 * before readers skip the frame (its writer then gets
	 * -MAPQ_ESTALLED); never in a queue of one writer slot, where no
	 * frame waits behind the writer's. 0: 1000 ms; negative: wait
	 * forever. A dead writer's frame is repaired within milliseconds
	 * regardless. Not stored in the file.
	 */
	int32_t unblock_ms;
	uint64_t reserved[MAPQ_RESERVED]; /**< zero */
} mapq_options;

/**
 * struct mapq_recovery - what mapq_recover() found and did.
 */
typedef struct mapq_recovery {
	uint32_t exclusive;                   /**< 1: no other process had the queue open, so
	                                the log could be checked and cut */
	uint32_t used_checkpoint;             /**< head came from the last mapq_sync() checkpoint
	                                (the control page was not believable) */
	uint64_t head;                        /**< oldest retained position, after recovery */
	uint64_t tail_before;                 /**< tail as found */
	uint64_t tail_after;                  /**< tail after recovery (the end of the log) */
	uint64_t frames_scanned;              /**< frames walked from head */
	uint64_t messages;                    /**< committed messages found intact */
	uint64_t claims_aborted;              /**< dead writers' claimed frames made aborted */
	uint64_t holes_filled;                /**< dead writers' unclaimed reservations filled */
	uint64_t bytes_discarded;             /**< bytes cut from the end of the log */
	uint64_t frames_scrubbed;             /**< stale frames past the end unpublished */
	uint32_t writers_freed;               /**< dead writers' slots released */
	uint32_t readers_freed;               /**< dead ephemeral readers' slots freed */
	uint32_t readers_detached;            /**< dead durable readers detached, cursor kept */
	uint32_t cursors_moved;               /**< reader cursors that were outside the log */
	const char *end_reason;               /**< why the log ends where it does (static text) */
	uint64_t frames_skipped;              /**< damaged frames before the recorded tail made
	                                aborted, so that the log goes on after them */
	uint64_t reserved[MAPQ_RESERVED - 1]; /**< zeroed */
} mapq_recovery;

/** Opaque queue handle: one mapping of one queue file. */
typedef struct mapq mapq;
/** Opaque reader handle, attached to a mapq handle. */
typedef struct mapq_reader mapq_reader;

/** A message seen through the zero-copy read API. */
typedef struct mapq_msg {
	const void *data; /**< payload, valid until mapq_release() */
	size_t len;       /**< payload length in bytes */
	uint64_t pos;     /**< position of the frame in the queue's stream */
	uint32_t writer;  /**< writer slot that sent it */
} mapq_msg;

/** Queue geometry, as stored in the file. */
typedef struct mapq_geometry {
	uint32_t version;  /**< on-disk format version */
	uint32_t policy;   /**< enum mapq_policy */
	uint64_t capacity; /**< ring bytes */
	uint32_t max_msg;  /**< largest payload */
	uint32_t writer_slots;
	uint32_t reader_slots;
	uint64_t file_size;
	uint64_t created_ns; /**< CLOCK_REALTIME at creation */
	uint8_t queue_id[16];
	uint64_t reserved[MAPQ_RESERVED]; /**< zeroed */
} mapq_geometry;

/** Counters kept in the file, summed over all processes ever attached. */
typedef struct mapq_counters {
	uint64_t msgs;          /**< messages committed */
	uint64_t bytes;         /**< payload bytes committed */
	uint64_t aborted;       /**< reservations aborted */
	uint64_t crc_failures;  /**< frames that failed their CRC on read */
	uint64_t lapped;        /**< times a reader was told it had been lapped */
	uint64_t lost;          /**< messages lapped readers never saw */
	uint64_t repaired;      /**< frames of dead or stalled writers that other
	                             processes finished (aborted or forsook) */
	uint64_t tail;          /**< next position writers will reserve */
	uint64_t head;          /**< position of the oldest retained frame */
	uint32_t data_wakeups;  /**< commits that had to wake a sleeper (mod 2^32) */
	uint32_t space_wakeups; /**< releases that had to wake a writer (mod 2^32) */
	uint32_t writers_attached;
	uint32_t readers_attached;        /**< readers with a live handle */
	uint32_t readers_durable;         /**< durable readers, attached or not */
	uint64_t reserved[MAPQ_RESERVED]; /**< zeroed */
} mapq_counters;

/** State of a writer or reader slot (mapq_writer_slot(), mapq_reader_slot()). */
enum mapq_slot_state {
	MAPQ_SLOT_FREE = 0,     /**< unused */
	MAPQ_SLOT_ALIVE = 1,    /**< attached, and its process holds the slot lock */
	MAPQ_SLOT_DEAD = 2,     /**< attached, but its process is gone: recovery frees it */
	MAPQ_SLOT_DETACHED = 3, /**< durable reader with no process: cursor kept */
	MAPQ_SLOT_INVALID = 4,  /**< the slot record holds an impossible state */
};

/** One writer or reader slot, as the file shows it now. */
typedef struct mapq_slot_info {
	uint32_t state; /**< enum mapq_slot_state */
	uint32_t pid;   /**< last owner's pid: display only, never liveness */
	/* writers */
	uint64_t msgs;           /**< messages committed through this slot, ever */
	uint64_t bytes;          /**< payload bytes committed */
	uint64_t aborted;        /**< reservations aborted */
	uint64_t attaches;       /**< times the slot was taken */
	uint64_t resv_pos;       /**< open reservation's position (resv_size != 0) */
	uint64_t resv_size;      /**< its size in bytes including the header; 0: none */
	uint32_t resv_tentative; /**< 1: recorded before the reservation was won */
	/* readers */
	uint32_t durable;                 /**< 1: durable (named) reader */
	char name[MAPQ_NAME_MAX + 1];     /**< durable reader's name */
	uint64_t cursor;                  /**< next position it reads */
	uint64_t delivered;               /**< messages it consumed */
	uint64_t lost;                    /**< messages it missed and was not yet told of
	                                       (overwrite policy) */
	uint64_t reserved[MAPQ_RESERVED]; /**< zeroed */
} mapq_slot_info;

/** What is at a position of the ring (mapq_frame()). */
enum mapq_frame_kind {
	MAPQ_FRAME_NONE = 0,      /**< nothing published at this position yet */
	MAPQ_FRAME_CLAIMED = 1,   /**< forsaken: its writer stalled, readers skip it */
	MAPQ_FRAME_COMMITTED = 2, /**< a message */
	MAPQ_FRAME_ABORTED = 3,   /**< skipped by readers (aborted or repaired) */
	MAPQ_FRAME_PADDING = 4,   /**< fills the ring's end before a wrap */
	MAPQ_FRAME_INVALID = 5,   /**< published, but its header is impossible */
};

/** mapq_frame_info.writer when no writer slot is known for the frame. */
#define MAPQ_NO_WRITER UINT32_MAX

/** One frame, decoded without trusting it (mapq_frame()). */
typedef struct mapq_frame_info {
	uint64_t pos;      /**< stream position */
	uint64_t offset;   /**< byte offset of the frame in the file */
	uint64_t size;     /**< frame bytes, header and alignment included */
	uint64_t next;     /**< position of the following frame (pos + size) */
	uint32_t kind;     /**< enum mapq_frame_kind */
	uint32_t forsaken; /**< claimed frame readers gave up waiting on */
	uint32_t len;      /**< payload bytes (committed frames) */
	uint32_t
		writer; /**< committed: the writer slot that made it; claimed: the one whose record names it; else MAPQ_NO_WRITER */
	int32_t crc_ok; /**< committed: 1 CRC matches, 0 it does not; else -1 */
	uint32_t crc;   /**< the CRC stored in the header */
	const void *data;                 /**< payload (committed), inside the mapping */
	const void *frame;                /**< the frame's first byte, inside the mapping: 32
	                        header bytes, then the rest of size bytes */
	uint64_t reserved[MAPQ_RESERVED]; /**< zeroed */
} mapq_frame_info;

/**
 * mapq_options_init - fill @opt with defaults (all fields zero).
 * @opt: options to initialise.
 */
void mapq_options_init(mapq_options *opt);

/**
 * mapq_resolve - the file a queue name or path stands for.
 * @name: a path (anything containing a '/'), used as it is; or a queue
 *        name: 1..MAPQ_QUEUE_NAME_MAX printable ASCII characters, no '/',
 *        not starting with '.', which names the file @name in the
 *        directory $MAPQ_DIR when that is set and not empty, else in
 *        /dev/shm. "ZJ" is /dev/shm/ZJ; "./ZJ" is ZJ in the current
 *        directory.
 * @buf:  receives the path, NUL-terminated.
 * @size: bytes at @buf.
 * Return: 0, or -EINVAL, -MAPQ_EBADNAME, -ENAMETOOLONG (@buf too small).
 */
int mapq_resolve(const char *name, char *buf, size_t size);

/**
 * mapq_file_version - the on-disk format version a queue file claims,
 * read without opening it as a queue: to tell the user whose mapq_open()
 * failed with -MAPQ_EVERSION which version the file is from.
 * @name:    a queue name or path, as for mapq_open().
 * @version: receives the version (MAPQ_FORMAT_VERSION is this library's).
 * Return: 0, -errno (cannot read it), -MAPQ_EBADNAME, -MAPQ_ECORRUPT (too
 * short, or not a mapq file: no magic).
 */
MAPQ_WUR int mapq_file_version(const char *name, uint32_t *version);

/**
 * mapq_open - open (and optionally create) a queue file.
 * @qp:    on success, the new handle.
 * @name:  a queue name or a file path, as mapq_resolve() describes; a
 *         file on /dev/shm for memory-only queues.
 * @flags: MAPQ_CREATE, MAPQ_EXCL, MAPQ_RDONLY, MAPQ_NORECOVER.
 * @opt:   options for creation and checks; NULL for defaults.
 *
 * Creation is atomic: the file is built complete (space reserved with
 * posix_fallocate()) as an unnamed O_TMPFILE, or under a hidden temporary
 * name on file systems without it, and linked into place only then. A
 * creator that dies leaves nothing behind: a temporary name whose creator
 * is gone is removed by the next create, or the next recovering open, in
 * that directory. A symlink at @name is refused. A creation that fails
 * after the file was linked (the mapping, say) returns the error and
 * leaves the queue in place, complete: others may have opened it already.
 *
 * When no other process has the queue open, mapq_open() first runs
 * mapq_recover() on it (others opening meanwhile wait for it to finish),
 * so a queue left behind by crashed processes, or by a system crash, is
 * consistent before anyone uses it.
 *
 * Return: 0, or -EINVAL (bad flags or options), -MAPQ_EBADNAME,
 * -ENAMETOOLONG, -ENOENT, -EEXIST, -EACCES, -ELOOP (symlink), -ENOSPC, -ENOMEM, other -errno from the system,
 * -MAPQ_ENOTREG (a FIFO, device or directory at @name), -MAPQ_EBADMAGIC,
 * -MAPQ_EVERSION, -MAPQ_ESBCRC, -MAPQ_EGEOMETRY, -MAPQ_ETRUNCATED,
 * -MAPQ_EMISMATCH.
 */
MAPQ_WUR int mapq_open(mapq **qp, const char *name, int flags, const mapq_options *opt);

/**
 * mapq_dup - a new handle on the same queue, for another thread.
 * @q:   an open handle.
 * @out: on success, the new handle; close it with mapq_close().
 *
 * The new handle shares @q's mapping (no second mmap) and has its own
 * writer slot, readers and open file description, so it may be used by
 * another thread at the same time as @q. Call it from the thread that
 * uses @q. Sharing one mapping also lets ThreadSanitizer see the
 * protocol between threads, which separate mappings hide from it.
 *
 * Return: 0, or -EINVAL, -ENOMEM, -ENOSYS (no /proc to reopen the file
 * through), other -errno from open().
 */
MAPQ_WUR int mapq_dup(const mapq *q, mapq **out);

/**
 * mapq_close - release the writer slot, unmap and free. Open readers of
 * this handle are closed too. An open reservation is aborted.
 * @q: handle, or NULL.
 */
void mapq_close(mapq *q);

/**
 * mapq_info - copy the queue's geometry into @info.
 * Return: 0, or -EINVAL.
 */
int mapq_info(const mapq *q, mapq_geometry *info);

/**
 * mapq_stats - read the counters stored in the file.
 * Return: 0, or -EINVAL.
 */
int mapq_stats(const mapq *q, mapq_counters *st);

/**
 * mapq_writer_slot - describe writer slot @i (0 <= i < writer_slots).
 * Return: 0, or -EINVAL, -ERANGE (@i past the last slot).
 */
int mapq_writer_slot(const mapq *q, uint32_t i, mapq_slot_info *out);

/**
 * mapq_reader_slot - describe reader slot @i (0 <= i < reader_slots).
 * Return: 0, or -EINVAL, -ERANGE.
 */
int mapq_reader_slot(const mapq *q, uint32_t i, mapq_slot_info *out);

/**
 * mapq_frame - decode the frame at stream position @pos, for inspection.
 * Reads only, and trusts nothing: every field is checked before use. On a
 * live queue the answer is a snapshot that writers may change at once.
 * Walk a queue from mapq_stats()'s head to its tail with out->next.
 * Return: 0 (out->kind says what is there, MAPQ_FRAME_NONE included), or
 * -EINVAL (@pos not on the 16-byte frame grid).
 */
int mapq_frame(const mapq *q, uint64_t pos, mapq_frame_info *out);

/**
 * mapq_reserve - reserve space for a message of @len bytes (zero-copy send).
 * @q:          handle; the first reservation attaches a writer slot.
 * @len:        payload bytes, at most max_msg.
 * @buf:        on success, where to write the payload.
 * @timeout_ms: how long to wait for space (MAPQ_BLOCK policy), 0 or
 *              MAPQ_FOREVER.
 *
 * Fill *@buf, then mapq_commit() or mapq_abort(). One reservation per
 * handle at a time. Readers see messages in reservation order.
 *
 * Return: 0, or -EMSGSIZE, -EAGAIN (full, timeout 0), -ETIMEDOUT,
 * -MAPQ_ESTATE (a reservation is already open), -MAPQ_ENOSLOT,
 * -MAPQ_ECORRUPT, -MAPQ_ESTALLED (stalled between reserving and
 * claiming for longer than the readers' unblock timeout; try again).
 */
MAPQ_WUR int mapq_reserve(mapq *q, size_t len, void **buf, int timeout_ms);

/**
 * mapq_commit - publish the reserved message with its first @len bytes
 * (@len at most the reserved length).
 * Return: 0, or -MAPQ_ESTATE (no reservation), -EMSGSIZE,
 * -MAPQ_ESTALLED (this writer stalled past the readers' unblock timeout
 * and they skipped the frame: the message was not sent; the reservation
 * is closed).
 */
MAPQ_WUR int mapq_commit(mapq *q, size_t len);

/**
 * mapq_abort - give up the open reservation; readers skip it.
 * Return: 0, or -MAPQ_ESTATE.
 */
int mapq_abort(mapq *q);

/**
 * mapq_send - copy @len bytes from @data into the queue as one message.
 * Same errors and blocking as mapq_reserve() and mapq_commit(). A message
 * of at most 4096 bytes is settled as soon as its space is reserved, so
 * that its copy and commit need no locked instruction: a writer stopped
 * while it copies one is waited for, not skipped after the unblock
 * timeout (a dead one is still repaired). Larger messages, and
 * mapq_reserve(), are skipped if their writer stalls before its commit
 * (doc/format.md, "Publish early"). @data must not change during the
 * call: a message whose bytes change while they are copied may reach
 * readers torn, or be rejected by them as corrupt (MAPQ_EFRAMECRC).
 */
MAPQ_WUR int mapq_send(mapq *q, const void *data, size_t len, int timeout_ms);

/**
 * mapq_send_batch - copy @n messages into the queue, in order, with one
 * reservation for as many of them as fit in it.
 * @q:          queue handle.
 * @msgs:       the messages: each one's @data and @len (@pos and @writer
 *              are not read).
 * @n:          how many.
 * @timeout_ms: how long to wait for space for the first reservation, as
 *              for mapq_send().
 *
 * Consecutive messages whose frames fit in 4 KiB together share one
 * reservation: one move of the queue's tail, one record, one wake-up
 * check, where mapq_send() makes one of each per message. Each message of
 * a reservation is published as soon as it is copied, so readers may
 * take the first while the others are copied in; a writer stopped part
 * way is waited for and a dead one repaired, as for mapq_send() of a
 * small message. A message too large to share goes in a reservation of
 * its own, as mapq_send() sends it. Only the first reservation waits for
 * space: once a message is sent, a full ring ends the call.
 *
 * Return: the number of messages sent, from the first on (0 for @n 0).
 * It is less than @n when the ring filled, when a message could not be
 * sent (the call that starts with that message returns its error), or
 * when a reservation failed part way (the next call goes on from there). When
 * none was sent, the errors of mapq_send(), and -EINVAL (@msgs NULL).
 */
MAPQ_WUR int mapq_send_batch(mapq *q, const mapq_msg *msgs, unsigned n, int timeout_ms);

/**
 * mapq_reader_open - attach a reader.
 * @q:     queue handle; the reader lives no longer than it.
 * @rp:    on success, the reader.
 * @name:  NULL for an ephemeral reader (its slot is freed when it closes
 *         or its process dies); a name (1..MAPQ_NAME_MAX bytes) for a
 *         durable reader, whose cursor is kept in the file across closes
 *         and restarts and which holds writers back (MAPQ_BLOCK) even
 *         while detached.
 * @start: enum mapq_start.
 *
 * Return: 0, or -EINVAL, -ENOMEM, -EBUSY (that durable reader is attached
 * elsewhere), -MAPQ_ENOSLOT.
 */
MAPQ_WUR int mapq_reader_open(mapq *q, mapq_reader **rp, const char *name, int start);

/**
 * mapq_reader_close - detach. A durable reader keeps its cursor (at the
 * first unreleased message); an ephemeral one frees its slot.
 * @r: reader, or NULL.
 */
void mapq_reader_close(mapq_reader *r);

/**
 * mapq_reader_drop - delete a detached durable reader by name, so it no
 * longer holds writers back.
 * Return: 0, or -EINVAL, -ENOENT, -EBUSY (attached now).
 */
int mapq_reader_drop(mapq *q, const char *name);

/**
 * mapq_read - zero-copy read of the next message.
 * @r:          reader.
 * @msg:        on success, the message; its data stays valid and
 *              unchanged until mapq_release() under MAPQ_BLOCK. Under
 *              MAPQ_OVERWRITE writers may overwrite it meanwhile: then
 *              mapq_release() returns -MAPQ_ELAPPED and the data must
 *              be discarded.
 * @timeout_ms: 0, a time in milliseconds, or MAPQ_FOREVER.
 *
 * The frame's CRC32C is checked before it is returned. With timeout 0 the
 * call does not sleep, but it does pause briefly so that polling in a
 * loop does not slow writers down: about 0.1 us on an empty queue, and up
 * to about a microsecond (then one more look) when a writer is half way
 * through the next message.
 *
 * Return: 0, or -EAGAIN (nothing, timeout 0), -ETIMEDOUT, -MAPQ_ESTATE
 * (previous message not released), -MAPQ_ELAPPED (the reader was lapped:
 * mapq_reader_lost() says how many messages it missed; the next call
 * continues from the oldest retained message), -MAPQ_EFRAMECRC (a bad
 * frame was skipped and counted), -MAPQ_ECORRUPT (the ring cannot be
 * walked further).
 *
 * Under MAPQ_OVERWRITE a writer counts a lapped reader's loss just after
 * it moves the reader on, so the report can come after the first message
 * past the gap; and a writer that dies between the two never counts it.
 */
MAPQ_WUR int mapq_read(mapq_reader *r, mapq_msg *msg, int timeout_ms);

/**
 * mapq_read_batch - zero-copy read of up to @max messages at once.
 * @r:          reader.
 * @msgs:       room for @max messages; on success the first n are filled,
 *              in order, each valid as mapq_read() says.
 * @max:        at least 1.
 * @timeout_ms: how long to wait for the first message, as for mapq_read().
 *
 * Waits for one message as mapq_read() does, then adds those that follow
 * it and are ready, without waiting. It stops early at the ring's end (the
 * next call goes on from its start) and before a frame that is unfinished
 * or damaged (the next call reports it). One mapq_release() consumes them
 * all: the reader's cursor moves once per batch instead of once per
 * message. Until then, under MAPQ_BLOCK, writers cannot reuse their
 * space; under MAPQ_OVERWRITE, a writer that overwrites any of them makes
 * the release return -MAPQ_ELAPPED for the whole batch. A durable reader
 * that dies holding a batch reads all of it again when it resumes.
 *
 * Return: the number of messages (1 to @max), or -EINVAL (@max 0, @msgs
 * NULL), or the errors of mapq_read().
 */
MAPQ_WUR int mapq_read_batch(mapq_reader *r, mapq_msg *msgs, unsigned max, int timeout_ms);

/**
 * mapq_release - consume the message returned by mapq_read(), or all
 * those returned by mapq_read_batch().
 * Return: 0, or -MAPQ_ESTATE (nothing to release), -MAPQ_ELAPPED (under
 * MAPQ_OVERWRITE: the message was overwritten while held; discard what was
 * read).
 */
MAPQ_WUR int mapq_release(mapq_reader *r);

/**
 * mapq_recv - copy the next message into @buf and consume it.
 * Return: the payload length, or -EMSGSIZE (@cap too small; the message
 * stays unread), or the errors of mapq_read().
 */
MAPQ_WUR ssize_t mapq_recv(mapq_reader *r, void *buf, size_t cap, int timeout_ms);

/**
 * mapq_reader_lost - messages missed at the last -MAPQ_ELAPPED.
 */
uint64_t mapq_reader_lost(const mapq_reader *r);

/**
 * mapq_recover - repair what dead processes left behind.
 * @q:   handle.
 * @rep: on success, what was found and done; may be NULL.
 *
 * Always: finishes every dead writer's reservation (a claimed frame
 * becomes aborted; unclaimed space becomes an aborted frame), frees dead
 * writers' slots and dead ephemeral readers' slots, and detaches dead
 * durable readers (keeping their cursors).
 *
 * When no other process has the queue open (rep->exclusive), it also
 * walks every frame from head, checking each CRC. A torn or invalid frame
 * before the tail the control page recorded is made aborted and skipped
 * (rep->frames_skipped: after a power cut, what a writer had begun to
 * reuse); the log ends at the first one after: nothing before it is lost,
 * nothing after it is ever delivered. Each step can be interrupted (the
 * process killed) and the next recovery completes the work.
 *
 * Return: 0, or -EINVAL, -MAPQ_ESTATE (this handle has a reservation
 * open), -errno from the file locks.
 */
MAPQ_WUR int mapq_recover(mapq *q, mapq_recovery *rep);

/**
 * mapq_sync - make every message committed so far durable (msync).
 * @q: handle.
 *
 * Waits (up to the unblock timeout) for frames reserved earlier to be
 * finished, starts the next frame on a fresh page so later writes cannot
 * tear a synced page, writes a checkpoint, and flushes the file. After a
 * system crash, recovery yields every message committed before the call
 * that no reader had consumed yet. Only useful for queue files on a
 * persistent file system, and it assumes what disks promise: a sector is
 * written whole or not at all when the power fails. The fresh page needs
 * a ring of 16 KiB or more; in a smaller one a later write can share a
 * page with synced messages.
 *
 * Return: 0, or -EINVAL, -MAPQ_ESTATE (reservation open), -ETIMEDOUT (an
 * earlier frame stayed unfinished, or the ring stayed full, for twice the
 * unblock timeout), -MAPQ_ECORRUPT, -EIO and other -errno from msync.
 */
MAPQ_WUR int mapq_sync(mapq *q);

/**
 * mapq_fault_point - name of fault point @i ("commit.before_store"), or
 * NULL past the last. The list is the same in every build.
 */
const char *mapq_fault_point(unsigned i);

/**
 * mapq_fault_arm - arm fault points for this process (fault-injection
 * builds): @spec is "NAME:N:ACTION[,...]", firing the Nth time NAME is
 * reached; ACTION is kill, error, stop or stall=MS. Replaces any earlier
 * arming and resets the hit counts. The environment variable MAPQ_FAULT
 * takes the same spec when the library loads.
 * Return: 0, -EINVAL (bad spec), -ENOTSUP (built without
 * --enable-fault-injection).
 */
int mapq_fault_arm(const char *spec);

/** mapq_fault_disarm - disarm every point and reset the hit counts. */
void mapq_fault_disarm(void);

/** mapq_fault_hits - times point @name was reached since arming. */
uint64_t mapq_fault_hits(const char *name);

/** mapq_fault_enabled - 1 if built with --enable-fault-injection. */
int mapq_fault_enabled(void);

/**
 * mapq_strerror - a sentence for any return code of this library
 * (negative MAPQ_E* or -errno). Never NULL; static storage.
 */
const char *mapq_strerror(int err);

/**
 * mapq_err_name - the symbolic name ("MAPQ_ELAPPED", "ETIMEDOUT") of a
 * return code. Never NULL; static storage.
 */
const char *mapq_err_name(int err);

/** mapq_version - the library's version string, "MAJOR.MINOR.PATCH". */
const char *mapq_version(void);

#ifdef __cplusplus
}
#endif

#endif /* MAPQ_H */
