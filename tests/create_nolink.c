/* SPDX-License-Identifier: MIT */
/* create_nolink: creating a queue the named way (file systems without
 * O_TMPFILE) on a file system that has no hard links either, as vfat:
 * link() fails there with EPERM, and the temporary file is renamed into
 * place instead, never over an existing file. This program's own link()
 * plays that file system: it stands in for the C library's for the
 * library code linked in, which is otherwise the code users get. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

static unsigned links_refused;

int link(const char *from, const char *to)
{
	(void)from;
	(void)to;
	links_refused++;
	errno = EPERM;
	return -1;
}

int main(void)
{
	mapq_options o;
	mapq *q;
	mapq_reader *r;
	char buf[8];
	mapq_options_init(&o);
	o.capacity = 1 << 16;

	/* Renamed into place: open on the file now at the name. */
	int fd = t_create_file(t_path("q"), &o, false);
	CHECK(fd >= 0);
	CHECK(links_refused >= 1);
	struct stat a, b;
	CHECK(fstat(fd, &a) == 0 && stat(t_path("q"), &b) == 0);
	CHECK(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	close(fd);
	CHECK_EQ(t_temp_files(), 0);
	CHECK_OK(mapq_open(&q, t_path("q"), 0, NULL));
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_OLDEST));
	CHECK_OK(mapq_send(q, "nolink", 6, 0));
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 6);
	mapq_close(q);

	/* Never over an existing queue: -EEXIST, the queue untouched, and
	 * the temporary file gone. */
	CHECK(stat(t_path("q"), &a) == 0);
	CHECK_RC(t_create_file(t_path("q"), &o, false), -EEXIST);
	CHECK(stat(t_path("q"), &b) == 0 && a.st_ino == b.st_ino);
	CHECK_EQ(t_temp_files(), 0);
	return 0;
}
