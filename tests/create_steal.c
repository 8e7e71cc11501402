/* SPDX-License-Identifier: MIT */
/* create_steal: creating a queue the named way (file systems without
 * O_TMPFILE) while sweepers take the temporary names. A creator's
 * temporary file is unlocked between mkostemp() and its lock, and a
 * sweeper (another process opening a queue in the same directory) that
 * looks then takes it for a dead creator's and unlinks it. The creator
 * must see that once it holds the lock, and start again with a fresh
 * name: never fill a file nobody can reach, nor fail because one name
 * was taken. Eight names taken in a row (create.c's TEMP_TRIES) make it
 * give up with -EAGAIN; either way nothing is left behind.
 *
 * This program's own mkostemp() plays the sweeper: it stands in for the
 * C library's for the library code linked in, which is otherwise the
 * code users get, and unlinks the name it made right after making it,
 * as many times in a row as asked. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

#define TEMP_TRIES 8 /* create.c's */

static unsigned steals; /* names still to take */
static unsigned made;   /* names made */

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
	int fd = mapq__create_file(t_path(name), &o, false);
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
	return 0;
}
