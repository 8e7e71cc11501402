/* SPDX-License-Identifier: MIT */
/*
 * power.c - power cuts: what reached the disk, what a crash leaves of the
 * rest, and whether every message mapq_sync() made durable survives.
 *
 * The simulator keeps an image of the disk: the file as created, then
 * each range a simulated process flushed with msync() (src/os_posix.c tells).
 * A power cut (--power-cuts) kills every process, and the file becomes a
 * crash image: every page that changed since it last reached the disk is,
 * by the schedule's choice, the disk's, the page cache's, or torn, each
 * of its 512-byte sectors old or new: a disk writes a sector whole or not
 * at all (what NVMe calls its atomic write unit on power fail, one block
 * at least). With --tear bytes a torn sector may instead hold garbage
 * where its bytes changed: SQLite's "powersafe overwrite", the weaker
 * promise of older disks. The new processes then recover the image as
 * they open.
 *
 * The judgement, at each cut: a copy of the image is recovered and read
 * from its oldest message here, outside the simulation. Every message a
 * mapq_sync() covered (acknowledged before the call began, the call
 * returned 0) must be in it, intact and in its writer's order, unless
 * every reader had read it before the cut (head may have passed it).
 * Then the acknowledgements fall back to what was durable: the writers
 * send the rest again, as an application would after a reboot, and the
 * readers, whose cursors fell back too, are judged from then on as
 * readers without a durable cursor (order, integrity, no duplicates in
 * one incarnation), since the library promises a durable cursor nothing
 * after a power cut.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapq.h"
#include "simulator.h"

/* The kernel's page, and the format's (doc/format.md): the unit the
 * kernel writes back, and may tear. */
#define PAGE 4096u
#define SECTOR 512u

static uint8_t *disk;   /* the file as the disk holds it */
static uint8_t *img;    /* the crash image, built at a cut */
static uint8_t *before; /* the file as the power failed */
static size_t file_size;
/* [writer][incarnation]: messages a successful mapq_sync() covered */
static uint64_t durable[SIM_MAX_WRITERS][TT_MAX_INC];

/* What a log holds: its messages' keys. */
struct log {
	uint64_t *keys;
	size_t n, cap;
};
static struct log live, after;

static bool on(void)
{
	return sim_w.cfg->events[EV_POWER] > 0;
}

static void syncing(const void *addr, size_t len)
{
	struct sim_proc *p = sim_w.cur;
	if (p)
		sim_memory_drain(p); /* msync(): a system call */
	uint64_t off = p ? sim_key_of(p, addr) : UINT64_MAX;
	if (!on() || off == UINT64_MAX || off >= file_size)
		return;
	if (len > file_size - off)
		len = file_size - off;
	if (sim_w.cfg->breakage == BREAK_SYNC)
		return; /* the self-test: msync makes nothing durable */
	memcpy(disk + off, addr, len);
}

int sim_power_start(void)
{
	mapq__sim.syncing = syncing;
	if (!on())
		return 0;
	int fd = open(sim_w.path, O_RDONLY | O_CLOEXEC);
	off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	if (end <= 0) {
		fprintf(stderr, "mapq-sim: %s: cannot read the new queue: %s\n", sim_w.path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((size_t)end != file_size) {
		free(disk);
		free(img);
		free(before);
		file_size = (size_t)end;
		disk = malloc(file_size);
		img = malloc(file_size);
		before = malloc(file_size);
		free(live.keys);
		free(after.keys);
		live.cap = after.cap = file_size / 32 + 1; /* a message takes 32 bytes or more */
		live.keys = malloc(live.cap * sizeof(uint64_t));
		after.keys = malloc(after.cap * sizeof(uint64_t));
	}
	if (!disk || !img || !before || !live.keys || !after.keys ||
	    pread(fd, disk, file_size, 0) != (ssize_t)file_size) {
		fprintf(stderr, "mapq-sim: %s: cannot read the new queue\n", sim_w.path);
		close(fd);
		file_size = 0;
		return -1;
	}
	close(fd);
	memset(durable, 0, sizeof(durable));
	return 0;
}

void sim_power_snapshot(uint64_t snap[SIM_MAX_WRITERS][TT_MAX_INC])
{
	for (unsigned w = 0; w < sim_w.cfg->writers; w++)
		for (unsigned i = 0; i < TT_MAX_INC; i++)
			/* relaxed: one process runs at a time */
			snap[w][i] = atomic_load_explicit(
				&sim_w.st.acks[(size_t)w * TT_MAX_INC + i], memory_order_relaxed);
}

void sim_power_synced(uint64_t snap[SIM_MAX_WRITERS][TT_MAX_INC])
{
	for (unsigned w = 0; w < sim_w.cfg->writers; w++)
		for (unsigned i = 0; i < TT_MAX_INC; i++)
			if (snap[w][i] > durable[w][i])
				durable[w][i] = snap[w][i];
}

/* A torn sector: garbage in the bytes that changed (@new differs from
 * @old), from one choice of the schedule, so that a replay tears it the
 * same way. */
static void garble(uint8_t *new, const uint8_t *old, uint64_t seed)
{
	for (size_t i = 0; i < SECTOR; i++) {
		if (new[i] == old[i])
			continue;
		uint64_t z = (seed += 0x9E3779B97F4A7C15ull);
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
		new[i] = (uint8_t)(z ^ (z >> 31));
	}
}

static int write_file(const char *path, const uint8_t *b, int flags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0600);
	if (fd < 0)
		return -errno;
	int rc = pwrite(fd, b, file_size, 0) == (ssize_t)file_size ? 0 : -EIO;
	close(fd);
	return rc;
}

/* A message, as a key that sorts by writer, incarnation and sequence. */
static uint64_t key_of(unsigned writer, unsigned inc, uint64_t seq)
{
	return (uint64_t)writer << 56 | (uint64_t)inc << 40 | (seq & 0xFFFFFFFFFFull);
}

static int by_key(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * Recover a copy of @b and read it all, from the oldest message: what a
 * reboot would find. Each writer incarnation's messages must come intact
 * and in order. 0, or -1 with the failure said.
 */
static int read_log(unsigned cut, const char *what, const uint8_t *b, struct log *lg)
{
	char chk[300];
	snprintf(chk, sizeof(chk), "%s/chk", sim_w.cfg->dir);
	(void)unlink(chk);
	int rc = write_file(chk, b, O_CREAT | O_EXCL), ret = -1;
	if (rc) {
		sim_fail("power cut %u: cannot write the %s to judge: %s", cut, what,
			 strerror(-rc));
		return -1;
	}
	const struct sim_config *cfg = sim_w.cfg;
	static uint64_t last[SIM_MAX_WRITERS][TT_MAX_INC];
	memset(last, 0xFF, sizeof(last));
	lg->n = 0;
	mapq *q = NULL;
	mapq_reader *r = NULL;
	mapq_options o;
	mapq_options_init(&o);
	o.unblock_ms = cfg->unblock_ms;
	if ((rc = mapq_open(&q, chk, 0, &o)) != 0 ||
	    (rc = mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST)) != 0) {
		sim_fail("power cut %u: recovery of the %s failed: %s (%s)", cut, what,
			 mapq_strerror(rc), mapq_err_name(rc));
		goto out;
	}
	for (;;) {
		mapq_msg m;
		rc = mapq_read(r, &m, 0);
		if (rc == -EAGAIN)
			break;
		if (rc) {
			sim_fail("power cut %u: reading the recovered %s: %s (%s)", cut, what,
				 mapq_strerror(rc), mapq_err_name(rc));
			goto out;
		}
		struct tt_stamp s;
		if (tt_check(m.data, m.len, &s) || s.writer >= cfg->writers ||
		    s.inc >= TT_MAX_INC || lg->n == lg->cap) {
			sim_fail(
				"power cut %u: the recovered %s delivers a corrupt message at %llu",
				cut, what, (unsigned long long)m.pos);
			goto out;
		}
		uint64_t *l = &last[s.writer][s.inc];
		if (*l != UINT64_MAX && s.seq <= *l) {
			sim_fail("power cut %u: the recovered %s has writer %u.%u's message %llu "
				 "after its %llu",
				 cut, what, s.writer, s.inc, (unsigned long long)s.seq,
				 (unsigned long long)*l);
			goto out;
		}
		*l = s.seq;
		lg->keys[lg->n++] = key_of(s.writer, s.inc, s.seq);
		if ((rc = mapq_release(r)) != 0) {
			sim_fail("power cut %u: releasing a message of the recovered %s: %s (%s)",
				 cut, what, mapq_strerror(rc), mapq_err_name(rc));
			goto out;
		}
	}
	qsort(lg->keys, lg->n, sizeof(uint64_t), by_key);
	ret = 0;
out:
	if (r)
		mapq_reader_close(r);
	if (q)
		mapq_close(q);
	(void)unlink(chk);
	return ret;
}

/*
 * The judgement of a cut. What the queue held when the power failed (the
 * page cache, recovered as after a crash: everything written, nothing
 * torn) is what was still owed to readers; every message of it that a
 * mapq_sync() covered must be in the crash image's recovery.
 */
static void judge(unsigned cut, const uint8_t *at_cut)
{
	if (read_log(cut, "queue as the power failed", at_cut, &live) ||
	    read_log(cut, "crash image", img, &after))
		return;
	for (size_t i = 0; i < live.n; i++) {
		uint64_t k = live.keys[i], seq = k & 0xFFFFFFFFFFull;
		unsigned w = (unsigned)(k >> 56), inc = (unsigned)(k >> 40) & 0xFFFF;
		if (seq >= durable[w][inc] || bsearch(&k, after.keys, after.n, sizeof(k), by_key))
			continue;
		sim_fail("power cut %u: lost after mapq_sync: writer %u.%u's message %llu (of %llu "
			 "synced), still in the queue when the power failed, is not in the "
			 "recovered queue",
			 cut, w, inc, (unsigned long long)seq, (unsigned long long)durable[w][inc]);
		return;
	}
}

void sim_power_cut(void)
{
	unsigned cut = sim_w.done[EV_POWER];
	int fd = open(sim_w.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, img, file_size, 0) != (ssize_t)file_size) {
		sim_fail("power cut %u: cannot read the queue file: %s", cut, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	memcpy(before, img, file_size);
	/* every page the disk does not have: old, new, or torn */
	for (size_t off = 0; off < file_size; off += PAGE) {
		if (!memcmp(disk + off, img + off, PAGE))
			continue;
		uint64_t c = sim_choose(3);
		if (c == 0)
			memcpy(img + off, disk + off, PAGE);
		for (size_t s = off; c == 2 && s < off + PAGE; s += SECTOR) {
			uint64_t how = sim_choose(sim_w.cfg->tear_bytes ? 3 : 2);
			if (how == 0)
				memcpy(img + s, disk + s, SECTOR);
			else if (how == 2)
				garble(img + s, disk + s, sim_choose(UINT32_MAX));
		}
	}
	int rc = write_file(sim_w.path, img, 0);
	if (rc) {
		sim_fail("power cut %u: cannot write the crash image: %s", cut, strerror(-rc));
		return;
	}
	memcpy(disk, img, file_size);
	judge(cut, before);
	/* What was not durable is not acknowledged any more: writers send it
	 * again. Those already done start again. */
	const struct sim_config *cfg = sim_w.cfg;
	for (unsigned w = 0; w < cfg->writers; w++) {
		uint64_t left = 0;
		for (unsigned i = 0; i < TT_MAX_INC; i++) {
			_Atomic uint64_t *a = &sim_w.st.acks[(size_t)w * TT_MAX_INC + i];
			uint64_t n = atomic_load_explicit(a, memory_order_relaxed);
			if (n > durable[w][i])
				atomic_store_explicit(a, durable[w][i], memory_order_relaxed);
			left += n > durable[w][i];
		}
		if (!left || !sim_w.writer_done[w])
			continue;
		sim_w.writer_done[w] = false;
		sim_w.writers_done--;
		unsigned inc = sim_w.incarnations[w];
		if (inc >= TT_MAX_INC) {
			sim_fail("writer %u: more than %d incarnations", w, TT_MAX_INC);
			return;
		}
		sim_w.incarnations[w] = inc + 1;
		(void)sim_spawn(R_WRITER, w, inc, sim_w.vt + RESTART_NS);
	}
	for (unsigned k = 0; k < cfg->readers; k++)
		tt_rstats(&sim_w.st, k)->lossy = 1;
	sim_w.power_cut = true;
}

void sim_power_end(void)
{
	char chk[300];
	if (!sim_w.cfg || !sim_w.cfg->dir)
		return;
	snprintf(chk, sizeof(chk), "%s/chk", sim_w.cfg->dir);
	(void)unlink(chk);
}
