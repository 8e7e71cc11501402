/* SPDX-License-Identifier: MIT */
/*
 * send.c - how the workloads send a message: every other one through
 * mapq_send(), the others through mapq_reserve() and mapq_commit(). A
 * small mapq_send() settles its frame when it reserves it, a reservation
 * only at its commit (doc/format.md, "Publish early"), so both ways meet
 * the kills, stalls and schedules of every run. And some in batches,
 * through mapq_send_batch(): several frames to a reservation, each
 * published as it is copied (doc/format.md, "Send a batch").
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

int tt_send_batch(mapq *q, uint8_t *buf, uint32_t stride, const uint32_t *lens, unsigned n,
		  uint16_t writer, uint16_t inc, uint64_t seq, int timeout_ms)
{
	mapq_msg m[TT_SEND_BATCH];
	if (n > TT_SEND_BATCH)
		n = TT_SEND_BATCH;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = buf + (size_t)i * stride;
		tt_fill(p, lens[i], writer, inc, seq + i);
		m[i] = (mapq_msg){ .data = p, .len = lens[i] };
	}
	return mapq_send_batch(q, m, n, timeout_ms);
}
