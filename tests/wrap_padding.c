/* wrap_padding: messages of every size cross the ring's end at every
 * 8-byte alignment; padding frames are skipped and every payload arrives
 * intact and in order. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"
#include "util.h"

int main(void)
{
	mapq *q = t_create("q", 4096, MAPQ_BLOCK);
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	uint8_t out[2048], in[2048];
	uint64_t seq = 0, pads = 0;
	mapq_counters st;

	/* Sizes 20..600 step 4 shift the end-of-ring offset through every
	 * alignment; each message is read back before the next is sent, so
	 * the ring wraps many times. */
	for (int round = 0; round < 3; round++) {
		for (size_t len = 20; len <= 600; len += 4) {
			CHECK_OK(mapq_stats(q, &st));
			uint64_t off = st.tail & 4095;
			if (off + frame_size(len) > 4096)
				pads++;
			t_fill(out, len, 1, seq);
			CHECK_OK(mapq_send(q, out, len, 0));
			ssize_t n = mapq_recv(r, in, sizeof(in), 0);
			CHECK_EQ(n, len);
			uint32_t w;
			uint64_t s;
			CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
			CHECK_EQ(s, seq);
			seq++;
		}
	}
	CHECK(pads > 10);
	/* Fill-then-drain: several messages in flight across the wrap. */
	for (int round = 0; round < 200; round++) {
		size_t lens[6];
		for (int k = 0; k < 6; k++) {
			lens[k] = 20 + (size_t)((round * 37 + k * 101) % 500);
			t_fill(out, lens[k], 2, seq + (uint64_t)k);
			CHECK_OK(mapq_send(q, out, lens[k], 0));
		}
		for (int k = 0; k < 6; k++) {
			ssize_t n = mapq_recv(r, in, sizeof(in), 0);
			CHECK_EQ(n, lens[k]);
			uint32_t w;
			uint64_t s;
			CHECK_OK(t_check_payload(in, (size_t)n, &w, &s));
			CHECK_EQ(s, seq + (uint64_t)k);
		}
		seq += 6;
	}
	CHECK_RC(mapq_recv(r, in, sizeof(in), 0), -EAGAIN);
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.msgs, seq);
	CHECK(st.tail > 100 * 4096);
	/* Padding frames are not messages. */
	mapq_close(q);
	return 0;
}
