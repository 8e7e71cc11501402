/* SPDX-License-Identifier: MIT */
/* lock_bytes: the lock bytes are where doc/format.md says, "Control
 * page": 4095 of the control page the reader registry lock, 4094 the open
 * lock, 4093 the sync lock, 4092 the join lock, and each reader and
 * writer slot's lock its first byte. They are the file format as much as
 * any field: a library that locked another byte would never meet the
 * locks of another version, or of another implementation, in the same
 * file. Each lock is one byte long.
 *
 * This program's own fcntl() records every OFD lock the library asks for
 * and hands the call on: it stands in for the C library's for the library
 * code linked in, which is otherwise the code users get. The offsets are
 * worked out from the superblock as read from the file, not from the
 * library's handle. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "format.h"
#include "util.h"

#define MAX_CALLS 4096

static struct {
	int cmd;
	short type;
	long long start, len;
} calls[MAX_CALLS];
static unsigned ncalls;

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if ((cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW) && ncalls < MAX_CALLS) {
		const struct flock *fl = arg;
		calls[ncalls].cmd = cmd;
		calls[ncalls].type = fl->l_type;
		calls[ncalls].start = (long long)fl->l_start;
		calls[ncalls].len = (long long)fl->l_len;
		ncalls++;
	}
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

/* Did a call since @from take (@type) or release (F_UNLCK) byte @off? */
static bool locked(unsigned from, long long off, short type)
{
	for (unsigned i = from; i < ncalls; i++)
		if (calls[i].start == off && calls[i].type == type)
			return true;
	return false;
}

/* Every lock since @from is one byte, at an offset @sb's layout names:
 * one of the control page's four lock bytes, or a slot's first byte. */
static void only_known_bytes(const struct fmt_super *sb, unsigned from)
{
	for (unsigned i = from; i < ncalls; i++) {
		long long off = calls[i].start;
		CHECK_EQ(calls[i].len, 1);
		long long page_end = (long long)sb->ctl_off + FMT_PAGE;
		if (off >= page_end - 4 && off < page_end)
			continue;
		long long w = off - (long long)sb->wslot_off, r = off - (long long)sb->rslot_off;
		if (w >= 0 && w % (long long)sizeof(struct fmt_wslot) == 0 &&
		    w / (long long)sizeof(struct fmt_wslot) < sb->writer_slots)
			continue;
		if (r >= 0 && r % (long long)sizeof(struct fmt_rslot) == 0 &&
		    r / (long long)sizeof(struct fmt_rslot) < sb->reader_slots)
			continue;
		t_fail(__FILE__, __LINE__, "a lock at byte %lld, which doc/format.md names no lock",
		       off);
	}
}

int main(void)
{
	mapq *q = t_create("q", 1 << 16, MAPQ_BLOCK);
	struct fmt_super sb;
	int fd = open(t_path("q"), O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, &sb, sizeof(sb), 0), (ssize_t)sizeof(sb));
	CHECK_EQ(close(fd), 0);
	const long long ctl_end = (long long)sb.ctl_off + FMT_PAGE;

	/* Opening: the join lock, held exclusively while the opener decides
	 * (and recovers), the open lock shared for as long as it is open. */
	unsigned from = ncalls;
	mapq *o;
	CHECK_OK(mapq_open(&o, t_path("q"), 0, NULL));
	CHECK(locked(from, ctl_end - 4, F_WRLCK));
	CHECK(locked(from, ctl_end - 4, F_UNLCK));
	CHECK(locked(from, ctl_end - 2, F_RDLCK));
	only_known_bytes(&sb, from);

	/* A reader attaching: the registry lock, and its slot's first byte. */
	from = ncalls;
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(o, &r, "named", MAPQ_START_OLDEST));
	CHECK(locked(from, ctl_end - 1, F_WRLCK));
	CHECK(locked(from, ctl_end - 1, F_UNLCK));
	CHECK(locked(from, (long long)sb.rslot_off, F_WRLCK));
	only_known_bytes(&sb, from);

	/* A writer attaching: its slot's first byte; a sync: the sync lock. */
	from = ncalls;
	CHECK_OK(mapq_send(o, "x", 1, 0));
	CHECK(locked(from, (long long)sb.wslot_off, F_WRLCK) ||
	      locked(from, (long long)sb.wslot_off + (long long)sizeof(struct fmt_wslot), F_WRLCK));
	CHECK_OK(mapq_sync(o));
	CHECK(locked(from, ctl_end - 3, F_WRLCK));
	CHECK(locked(from, ctl_end - 3, F_UNLCK));
	only_known_bytes(&sb, from);

	/* Detaching and closing: the registry lock again, and only known
	 * bytes released. */
	from = ncalls;
	mapq_reader_close(r);
	CHECK(locked(from, ctl_end - 1, F_WRLCK));
	mapq_close(o);
	mapq_close(q);
	only_known_bytes(&sb, from);
	CHECK(ncalls < MAX_CALLS);
	return 0;
}
