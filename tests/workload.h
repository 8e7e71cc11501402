/* SPDX-License-Identifier: MIT */
/* workload.h - the writer and reader loops shared by the multi-process
 * and multi-thread tests: writers send stamped messages, readers check
 * that each writer's messages arrive exactly once, in order, intact. */
#ifndef MAPQ_TEST_WORKLOAD_H
#define MAPQ_TEST_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#define WL_MAXW 16

#include "mapq.h"

/* Each takes an open handle (or NULL: returns 2), used by this caller
 * (thread) alone. */

/* Send @count messages stamped (id, 0..count-1). 0 on success. */
int wl_writer(mapq *q, uint32_t id, uint64_t count);

/* Attach (signalling @ready_fd with one byte once attached), then receive
 * writers * per_writer messages and check them. 0 on success. */
int wl_reader(mapq *q, int writers, uint64_t per_writer, int ready_fd);

/* Overwrite policy: like wl_reader, but gaps are allowed where the reader
 * was told it was lapped. Stops when delivered + reported lost reaches the
 * total, and fails unless that sum is exact. Sleeps @nap_us every 64
 * messages to get lapped. */
int wl_reader_lossy(mapq *q, int writers, uint64_t per_writer, int ready_fd, unsigned nap_us);

/* A forked child's handle: opened by path (NULL if that fails, which the
 * wl_* functions then report as 2). */
mapq *wl_open(const char *path);

/*
 * Run a whole workload in processes over the queue at @path: @readers
 * reader processes (wl_reader, or with @lossy wl_reader_lossy where the
 * first reader keeps up and the others nap @nap_us), all attached before
 * @writers writer processes start; then wait for all of them. Returns
 * the number of children that failed (each is reported on stderr).
 */
int wl_run_processes(const char *path, int writers, int readers, uint64_t per_writer, bool lossy,
		     unsigned nap_us);

#endif
