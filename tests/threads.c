/* threads: the multi-writer, multi-reader checks with threads of one
 * process, each with its own handle (what a handle allows: one thread),
 * under both policies. Under ThreadSanitizer this is the test that sees
 * inside the protocol; processes hide it from TSan. */
#include "config.h"

#include <pthread.h>
#include <unistd.h>

#include "util.h"
#include "workload.h"

enum { WRITERS = 3, READERS = 2 };

static const char *path;
static int ready[2];
static uint64_t per_writer;
static int policy;

static void *writer(void *arg)
{
	return (void *)(intptr_t)wl_writer(path, (uint32_t)(intptr_t)arg, per_writer);
}

static void *reader(void *arg)
{
	intptr_t i = (intptr_t)arg;
	if (policy == MAPQ_BLOCK)
		return (void *)(intptr_t)wl_reader(path, WRITERS, per_writer, ready[1]);
	/* One reader keeps up, one naps and gets lapped. */
	return (void *)(intptr_t)wl_reader_lossy(path, WRITERS, per_writer, ready[1],
						 i ? 2000 : 0);
}

static void run(const char *name, int pol)
{
	mapq *q = t_create(name, 1 << 14, pol);
	pthread_t tr[READERS], tw[WRITERS];
	path = t_path(name);
	policy = pol;
	per_writer = t_scaled(20000);
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
		if ((intptr_t)ret != 0)
			t_fail(__FILE__, __LINE__, "%s: %s %d returned %d", name,
			       i < WRITERS ? "writer" : "reader", i, (int)(intptr_t)ret);
	}
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.msgs, WRITERS * per_writer);
	mapq_close(q);
}

int main(void)
{
	CHECK_EQ(pipe(ready), 0);
	run("block", MAPQ_BLOCK);
	run("overwrite", MAPQ_OVERWRITE);
	return 0;
}
