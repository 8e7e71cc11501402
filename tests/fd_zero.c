/* SPDX-License-Identifier: MIT */
/* fd_zero: a process that closed its standard input (daemons do) gets
 * descriptor 0 from the next open(), and 0 is a descriptor like any
 * other: creating a queue (the O_TMPFILE way and the named way), reading its
 * version, opening it and mapq_dup() each work when the file lands on descriptor 0. A
 * check written `fd <= 0` would take it for a failure. */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

/* Is descriptor 0 open on a regular file (a queue file)? */
static bool zero_is_file(void)
{
	struct stat st;
	return fstat(0, &st) == 0 && S_ISREG(st.st_mode);
}

/* A message through @q, there and back. */
static void round_trip(mapq *q)
{
	mapq_reader *r;
	char buf[16];
	CHECK_OK(mapq_reader_open(q, &r, NULL, MAPQ_START_LATEST));
	CHECK_OK(mapq_send(q, "zero", 4, 0));
	CHECK_EQ(mapq_recv(r, buf, sizeof(buf), 0), 4);
	CHECK(memcmp(buf, "zero", 4) == 0);
	mapq_reader_close(r);
}

int main(void)
{
	mapq_options o;
	mapq *q, *d;
	mapq_options_init(&o);
	o.capacity = 1 << 16;
	close(0);

	/* Created (O_TMPFILE, then linked) on descriptor 0. */
	CHECK_OK(mapq_open(&q, t_path("q"), MAPQ_CREATE | MAPQ_EXCL, &o));
	CHECK(zero_is_file());
	round_trip(q);
	mapq_close(q);
	CHECK(fcntl(0, F_GETFD) < 0); /* free again */

	/* Its version read on descriptor 0. */
	uint32_t version = 0;
	CHECK_OK(mapq_file_version(t_path("q"), &version));
	CHECK_EQ(version, FMT_VERSION);
	CHECK(fcntl(0, F_GETFD) < 0);

	/* Opened on descriptor 0. */
	CHECK_OK(mapq_open(&q, t_path("q"), 0, NULL));
	CHECK(zero_is_file());
	round_trip(q);
	mapq_close(q);

	/* A second handle (mapq_dup) on descriptor 0, the first elsewhere. */
	CHECK_EQ(open("/dev/null", O_RDONLY), 0);
	CHECK_OK(mapq_open(&q, t_path("q"), 0, NULL));
	CHECK_EQ(close(0), 0);
	CHECK_OK(mapq_dup(q, &d));
	CHECK(zero_is_file());
	round_trip(d);
	mapq_close(d);
	mapq_close(q);
	CHECK(fcntl(0, F_GETFD) < 0);

	/* Created the named way (file systems without O_TMPFILE), the
	 * temporary file on descriptor 0. */
	int fd = t_create_file(t_path("named"), &o, false);
	CHECK_EQ(fd, 0);
	CHECK(zero_is_file()); /* still open: the file, not a number */
	close(fd);
	CHECK_OK(mapq_open(&q, t_path("named"), 0, NULL));
	round_trip(q);
	mapq_close(q);
	return 0;
}
