/* SPDX-License-Identifier: MIT */
/* create_steal: creating a queue the named way (file systems without
 * O_TMPFILE) while sweepers take the temporary names. A creator's
 * temporary file is unlocked between mkostemp() and its lock, and a
 * sweeper (another process opening a queue in the same directory) that
 * looks then takes it for a dead creator's and unlinks it. The creator
 * must see that once it holds the lock, and start again with a fresh
 * name: never fill a file nobody can reach, nor fail because one name
 * was taken. Eight names taken in a row (os_posix.c's TEMP_TRIES) make it
 * give up with -EAGAIN; either way nothing is left behind.
 *
 * And the unnamed way's race: another creator links its queue at the
 * name first, and it is gone again before we open it. Each lost race
 * means another process succeeded, so mapq_open() tries again, and gives
 * up after eight in a row (queue.c's CREATE_TRIES) with -ENOENT, leaving
 * no descriptor behind.
 *
 * This program's own mkostemp() plays the sweeper, and its own linkat()
 * the other creator: they stand in for the C library's for the library
 * code linked in, which is otherwise the code users get. mkostemp()
 * unlinks the name it made right after making it, and linkat() fails
 * with EEXIST without linking, as many times in a row as asked. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define TEMP_TRIES 8   /* os_posix.c's */
#define CREATE_TRIES 8 /* queue.c's */

static unsigned steals; /* names still to take */
static unsigned made;   /* names made */
static unsigned races;  /* links still to lose */
static unsigned links;  /* links tried */

int linkat(int from_dir, const char *from, int to_dir, const char *to, int flags)
{
	links++;
	if (races) {
		races--;
		errno = EEXIST;
		return -1;
	}
	return (int)syscall(SYS_linkat, from_dir, from, to_dir, to, flags);
}

int mkostemp(char *tmpl, int flags)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = strlen(tmpl);
	if (n < 6 || strcmp(tmpl + n - 6, "XXXXXX") != 0) {
		errno = EINVAL;
		return -1;
	}
	/* Only names of this length are swept: one of another length would
	 * be left for ever by a creator that died. */
	const char *base = strrchr(tmpl, '/');
	base = base ? base + 1 : tmpl;
	if (strlen(base) != strlen(".mapq-tmp.XXXXXX") || strncmp(base, ".mapq-tmp.", 10) != 0)
		t_fail(__FILE__, __LINE__, "a temporary name sweepers do not know: %s", base);
	for (unsigned tries = 0; tries < 1000; tries++) {
		for (size_t i = 0; i < 6; i++)
			tmpl[n - 6 + i] = letters[(unsigned)rand() % (sizeof(letters) - 1)];
		int fd = open(tmpl, O_RDWR | O_CREAT | O_EXCL | flags, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd >= 0) {
			made++;
			if (steals) {
				steals--;
				CHECK_EQ(unlink(tmpl), 0);
			}
		}
		return fd;
	}
	errno = EEXIST;
	return -1;
}

/* Create queue @name the named way with @n names taken first. */
static int create(const char *name, unsigned n)
{
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 1 << 16;
	steals = n;
	made = 0;
	int fd = t_create_file(t_path(name), &o, false);
	CHECK_EQ(steals, 0);
	CHECK_EQ(t_temp_files(), 0);
	return fd;
}

int main(void)
{
	mapq *q;
	mapq_reader *r;
	char buf[8];

	/* One name taken, and the last of the names one may take: a fresh
	 * name each time, and a queue that works. */
	unsigned taken[] = { 1, TEMP_TRIES - 1 };
	for (unsigned i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		char name[16];
		snprintf(name, sizeof(name), "q%u", taken[i]);
		int fd = create(name, taken[i]);
		if (fd < 0)
			t_fail(__FILE__, __LINE__, "%u names taken: create failed: %s", taken[i],
			       mapq_strerror(fd));
		CHECK_EQ(made, taken[i] + 1);
		struct stat a, b;
		CHECK(fstat(fd, &a) == 0 && stat(t_path(name), &b) == 0);
		CHECK(a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_nlink == 1);
		close(fd);
		CHECK_OK(mapq_open(&q, t_path(name), 0, NULL));
		CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
		CHECK_OK(mapq_send(q, "stolen", 6, 0));
		CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 6);
		mapq_close(q);
	}

	/* Every name taken, TEMP_TRIES in a row: it gives up, and no queue
	 * appears. */
	CHECK_RC(create("none", TEMP_TRIES), -EAGAIN);
	CHECK_EQ(made, TEMP_TRIES);
	CHECK(access(t_path("none"), F_OK) != 0 && errno == ENOENT);

	/* The unnamed way: one race lost, and the next try makes the queue;
	 * every race lost, CREATE_TRIES in a row, and it gives up. */
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 1 << 16;
	int fds = t_count_fds();
	races = 1;
	links = 0;
	CHECK_OK(mapq_open(&q, t_path("raced"), MAPQ_CREATE, &o));
	CHECK_EQ(links, 2);
	mapq_close(q);
	races = 1000;
	links = 0;
	CHECK_RC(mapq_open(&q, t_path("lost"), MAPQ_CREATE, &o), -ENOENT);
	CHECK_EQ(links, CREATE_TRIES);
	races = 0;
	CHECK(access(t_path("lost"), F_OK) != 0 && errno == ENOENT);
	CHECK_EQ(t_count_fds(), fds);
	CHECK_EQ(t_temp_files(), 0);
	return 0;
}
