/* threads: the multi-writer, multi-reader check with threads of one
 * process, each with its own handle (what a handle allows: one thread).
 * Under ThreadSanitizer this is the test that sees inside the protocol. */
#include "config.h"

#include <pthread.h>
#include <unistd.h>

#include "util.h"
#include "workload.h"

enum { WRITERS = 3, READERS = 2, PER_WRITER = 20000 };

static const char *path;
static int ready[2];

static void *writer(void *arg)
{
	return (void *)(intptr_t)wl_writer(path, (uint32_t)(intptr_t)arg, PER_WRITER);
}

static void *reader(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)wl_reader(path, WRITERS, PER_WRITER, ready[1]);
}

int main(void)
{
	mapq *q = t_create("q", 1 << 14, MAPQ_BLOCK);
	pthread_t tr[READERS], tw[WRITERS];
	path = t_path("q");
	CHECK_EQ(pipe(ready), 0);
	for (intptr_t i = 0; i < READERS; i++)
		CHECK_EQ(pthread_create(&tr[i], NULL, reader, (void *)i), 0);
	for (int i = 0; i < READERS; i++) {
		char c;
		CHECK_EQ(read(ready[0], &c, 1), 1);
	}
	for (intptr_t i = 0; i < WRITERS; i++)
		CHECK_EQ(pthread_create(&tw[i], NULL, writer, (void *)i), 0);
	for (int i = 0; i < WRITERS + READERS; i++) {
		void *ret;
		CHECK_EQ(pthread_join(i < WRITERS ? tw[i] : tr[i - WRITERS], &ret), 0);
		CHECK_EQ((intptr_t)ret, 0);
	}
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.msgs, (uint64_t)WRITERS * PER_WRITER);
	mapq_close(q);
	return 0;
}
