/* SPDX-License-Identifier: MIT */
/*
 * send.c - how the workloads send a message: every other one through
 * mapq_send(), the others through mapq_reserve() and mapq_commit(). A
 * small mapq_send() settles its frame when it reserves it, a reservation
 * only at its commit (doc/format.md, "Publish early"), so both ways meet
 * the kills, stalls and schedules of every run.
 */
#include "config.h"

#include <string.h>

#include "torture.h"

int tt_send(mapq *q, const void *buf, uint32_t len, uint64_t seq, int timeout_ms)
{
	if (!(seq & 1))
		return mapq_send(q, buf, len, timeout_ms);
	void *p;
	int rc = mapq_reserve(q, len, &p, timeout_ms);
	if (rc)
		return rc;
	memcpy(p, buf, len);
	return mapq_commit(q, len);
}
