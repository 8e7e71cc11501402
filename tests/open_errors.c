/* SPDX-License-Identifier: MIT */
/* open_errors: create/open/close, and every way a file can be refused. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

static void make_valid(const char *path)
{
	mapq *q;
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 8192;
	unlink(path);
	CHECK_OK(mapq_open(&q, path, MAPQ_CREATE | MAPQ_EXCL, &o));
	mapq_close(q);
}

static int try_open(const char *path)
{
	mapq *q = NULL;
	int rc = mapq_open(&q, path, 0, NULL);
	if (rc == 0)
		mapq_close(q);
	else
		CHECK(q == NULL);
	return rc;
}

/* Superblock edits: each case changes the file, with or without fixing the
 * CRC afterwards, and names the code that open must return. */
static void sb_version(struct fmt_super *s)
{
	s->version = FMT_VERSION + 1;
}
/* Version 1 (claims published by a CAS of the frame's word) cannot share a
 * file with this library's writers. */
static void sb_old_version(struct fmt_super *s)
{
	s->version = FMT_VERSION - 1;
}
static void sb_magic(struct fmt_super *s)
{
	s->magic[1] ^= 0x20;
}
static void sb_capacity_pow2(struct fmt_super *s)
{
	s->capacity = 12288;
}
static void sb_capacity_small(struct fmt_super *s)
{
	s->capacity = 1024;
}
static void sb_data_off(struct fmt_super *s)
{
	s->data_off += 4096;
}
static void sb_max_msg(struct fmt_super *s)
{
	s->max_msg = (uint32_t)s->capacity;
}
static void sb_slots(struct fmt_super *s)
{
	s->reader_slots = 0;
}
static void sb_flags(struct fmt_super *s)
{
	s->flags |= 0x80;
}
static void sb_file_size(struct fmt_super *s)
{
	s->file_size *= 2;
}

static const struct {
	const char *name;
	void (*edit)(struct fmt_super *);
	int fix_crc;
	int want;
} cases[] = {
	{ "bad magic", sb_magic, 0, -MAPQ_EBADMAGIC },
	{ "future version", sb_version, 1, -MAPQ_EVERSION },
	{ "older version", sb_old_version, 1, -MAPQ_EVERSION },
	{ "capacity edited, CRC stale", sb_capacity_pow2, 0, -MAPQ_ESBCRC },
	{ "capacity not a power of two", sb_capacity_pow2, 1, -MAPQ_EGEOMETRY },
	{ "capacity below minimum", sb_capacity_small, 1, -MAPQ_EGEOMETRY },
	{ "data offset inconsistent", sb_data_off, 1, -MAPQ_EGEOMETRY },
	{ "max_msg too large", sb_max_msg, 1, -MAPQ_EGEOMETRY },
	{ "zero reader slots", sb_slots, 1, -MAPQ_EGEOMETRY },
	{ "unknown flag", sb_flags, 1, -MAPQ_EGEOMETRY },
	{ "file size field wrong", sb_file_size, 1, -MAPQ_EGEOMETRY },
};

static void edit_super(const char *path, void (*edit)(struct fmt_super *), int fix_crc)
{
	struct fmt_super s;
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, &s, sizeof(s), 0), sizeof(s));
	edit(&s);
	if (fix_crc)
		s.crc = mapq__super_crc(&s);
	CHECK_EQ(pwrite(fd, &s, sizeof(s), 0), sizeof(s));
	close(fd);
}

/* The longest last component a file system takes (NAME_MAX, 255 here)
 * is a legal queue path: creating it needs no longer temporary name. */
static void check_long_name(void)
{
	char name[256];
	memset(name, 'q', 255);
	name[255] = '\0';
	mapq *q;
	CHECK_OK(mapq_open(&q, t_path(name), MAPQ_CREATE | MAPQ_EXCL, NULL));
	mapq_close(q);
	CHECK_OK(unlink(t_path(name)));
}

/* A directory under t_dir() whose path is exactly @len bytes long. */
static const char *deep_dir(size_t len)
{
	static char path[PATH_MAX];
	size_t cur = strlen(t_dir());
	CHECK(cur + 2 <= len && len < sizeof(path));
	memcpy(path, t_dir(), cur + 1);
	while (cur < len) {
		size_t room = len - cur - 1, k = room > 200 ? 200 : room;
		if (room - k == 1) /* never leave room for a lone '/' */
			k--;
		path[cur++] = '/';
		memset(path + cur, 'd', k);
		cur += k;
		path[cur] = '\0';
		if (mkdir(path, 0700) != 0)
			CHECK_EQ(errno, EEXIST);
	}
	return path;
}

/* Created the named way (file systems without O_TMPFILE), a queue needs
 * its temporary name "DIR/.mapq-tmp.XXXXXX" to fit in PATH_MAX too: the
 * longest directory that allows it works, one byte more is -ENAMETOOLONG
 * (a truncated template would make mkostemp() fail with EINVAL). */
static void check_deep_temp_name(void)
{
	const size_t tmp_len = strlen("/.mapq-tmp.XXXXXX");
	char path[PATH_MAX];
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 4096;
	for (size_t over = 0; over < 2; over++) {
		const char *dir = deep_dir(PATH_MAX - 1 - tmp_len + over);
		CHECK(snprintf(path, sizeof(path), "%s/q", dir) < (int)sizeof(path));
		int fd = t_create_file(path, &o, false);
		if (over) {
			CHECK_RC(fd, -ENAMETOOLONG);
		} else {
			struct stat a, b; /* the descriptor is open on the queue */
			CHECK(fd >= 0);
			CHECK(fstat(fd, &a) == 0 && stat(path, &b) == 0);
			CHECK(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
			close(fd);
			CHECK_EQ(unlink(path), 0);
		}
	}
}

static void check_permissions(const char *path)
{
	make_valid(path);
	if (geteuid() != 0) {
		CHECK_EQ(chmod(path, 0), 0);
		CHECK_RC(try_open(path), -EACCES);
		return;
	}
	/* Root ignores permission bits: drop to nobody in a child. The
	 * directory lets nobody through, so the file's own mode decides. */
	CHECK_EQ(chmod(t_dir(), 0711), 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			t_exit(T_SKIP);
		t_exit(try_open(path) == -EACCES ? 0 : 1);
	}
	int st = t_wait_child(pid);
	if (st == T_SKIP)
		fprintf(stderr, "cannot drop privileges: EACCES case not checked\n");
	else
		CHECK_EQ(st, 0);
}

/* Create with @o under a scratch name: the result; removed again. */
static int create_with(const mapq_options *o, mapq_geometry *g)
{
	const char *p = t_path("edge");
	mapq *q;
	int rc = mapq_open(&q, p, MAPQ_CREATE | MAPQ_EXCL, o);
	if (rc == 0) {
		CHECK_OK(mapq_info(q, g));
		mapq_close(q);
		CHECK_EQ(unlink(p), 0);
	}
	return rc;
}

/* Each documented limit (doc/format.md) is taken at its edge and refused
 * one past it. (The largest capacity, 1 TiB, is not tried: the file would
 * be that large.) */
static void limits(void)
{
	mapq_options o;
	mapq_geometry g;
	mapq_options_init(&o);
	o.capacity = 4096; /* the smallest */
	CHECK_OK(create_with(&o, &g));
	CHECK_EQ(g.capacity, 4096);
	o.max_msg = 4096 / 2 - 32; /* the largest payload: half the ring, less a header */
	CHECK_OK(create_with(&o, &g));
	CHECK_EQ(g.max_msg, 4096 / 2 - 32);
	o.max_msg++;
	CHECK_RC(create_with(&o, &g), -EINVAL);
	o.max_msg = 1;
	CHECK_OK(create_with(&o, &g));
	CHECK_EQ(g.max_msg, 1);
	mapq_options_init(&o);
	o.capacity = 4096;
	o.writer_slots = 1024;
	o.reader_slots = 1024;
	CHECK_OK(create_with(&o, &g));
	CHECK_EQ(g.writer_slots, 1024);
	CHECK_EQ(g.reader_slots, 1024);
	o.writer_slots = 1025;
	CHECK_RC(create_with(&o, &g), -EINVAL);
	o.writer_slots = 1;
	o.reader_slots = 1025;
	CHECK_RC(create_with(&o, &g), -EINVAL);
	o.reader_slots = 1;
	CHECK_OK(create_with(&o, &g));
	CHECK_EQ(g.writer_slots, 1);
	CHECK_EQ(g.reader_slots, 1);
}

/*
 * The platform layer's own promises, where no public call can reach the
 * edge: a new file may be given all of its bytes; a read that fails for
 * a reason other than EINTR is not tried again (it would be for ever:
 * alarm() ends the test instead).
 */
static void layer_edges(void)
{
	static const char head[16] = "0123456789abcdef";
	char back[16];
	mapq__file f;
	CHECK_OK(mapq__os_create(t_path("whole"), 0600, sizeof(head), head, sizeof(head), false,
				 &f));
	CHECK_EQ(mapq__os_pread(f, back, sizeof(back), 0), sizeof(back));
	CHECK(memcmp(back, head, sizeof(head)) == 0);
	mapq__os_close(f);
	CHECK_RC(mapq__os_create(t_path("more"), 0600, 8, head, sizeof(head), false, &f), -EINVAL);
	int fd = open(t_path("whole"), O_WRONLY);
	CHECK(fd >= 0);
	alarm(10);
	CHECK_RC(mapq__os_pread((mapq__file)fd, back, sizeof(back), 0), -EBADF);
	alarm(0);
	close(fd);
}

int main(void)
{
	const char *p = t_path("q");
	layer_edges();
	mapq *q, *q2;
	mapq_options o;

	/* Arguments. */
	mapq_options_init(&o);
	CHECK_RC(mapq_open(NULL, p, MAPQ_CREATE, NULL), -EINVAL);
	CHECK_RC(mapq_open(&q, NULL, MAPQ_CREATE, NULL), -EINVAL);
	CHECK_RC(mapq_open(&q, "", MAPQ_CREATE, NULL), -EINVAL);
	CHECK_RC(mapq_open(&q, p, MAPQ_EXCL, NULL), -EINVAL);
	CHECK_RC(mapq_open(&q, p, 0x100, NULL), -EINVAL);
	o.capacity = 5000;
	CHECK_RC(mapq_open(&q, p, MAPQ_CREATE, &o), -EINVAL);
	o.capacity = 2048;
	CHECK_RC(mapq_open(&q, p, MAPQ_CREATE, &o), -EINVAL);
	o.capacity = 8192;
	o.max_msg = 8192;
	CHECK_RC(mapq_open(&q, p, MAPQ_CREATE, &o), -EINVAL);
	mapq_options_init(&o);
	o.reader_slots = 5000;
	CHECK_RC(mapq_open(&q, p, MAPQ_CREATE, &o), -EINVAL);
	mapq_options_init(&o);
	o.policy = 7;
	CHECK_RC(mapq_open(&q, p, MAPQ_CREATE, &o), -EINVAL);
	mapq_options_init(&o);
	o.mode = 01777;
	CHECK_RC(mapq_open(&q, p, MAPQ_CREATE, &o), -EINVAL);
	/* A reserved field set (a newer program's option) is refused. */
	for (unsigned i = 0; i < MAPQ_RESERVED; i++) {
		mapq_options_init(&o);
		o.reserved[i] = 1;
		CHECK_RC(mapq_open(&q, p, MAPQ_CREATE, &o), -EINVAL);
	}
	CHECK(access(p, F_OK) != 0); /* no failed create left a file */
	limits();

	/* Create, defaults, reopen. */
	CHECK_RC(mapq_open(&q, p, 0, NULL), -ENOENT);
	uint64_t before = mapq__now_ns();
	CHECK_OK(mapq_open(&q, p, MAPQ_CREATE | MAPQ_EXCL, NULL));
	uint64_t after = mapq__now_ns();
	mapq_geometry g;
	CHECK_OK(mapq_info(q, &g));
	/* The id is the kernel's random bytes where it has them (here), not
	 * the fallback made of the clock and the pid, which two containers
	 * (each its own pid 1) started together could share. The fallback's
	 * first half is the clock: random bytes land in this window once in
	 * ~10^10 runs. */
	uint64_t id_clock;
	memcpy(&id_clock, g.queue_id, 8);
	CHECK(id_clock < before || id_clock > after);
	static const uint8_t no_id[16];
	CHECK(memcmp(g.queue_id, no_id, sizeof(no_id)) != 0); /* an id at all */
	CHECK_EQ(g.capacity, 1 << 20);
	CHECK_EQ(g.max_msg, 65536);
	CHECK_EQ(g.writer_slots, 16);
	CHECK_EQ(g.reader_slots, 16);
	CHECK_EQ(g.policy, MAPQ_BLOCK);
	CHECK_EQ(g.version, MAPQ_FORMAT_VERSION);
	struct stat st;
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ((uint64_t)st.st_size, g.file_size);
	CHECK(st.st_blocks * 512 >= st.st_size); /* space really reserved */
	CHECK_EQ(t_temp_files(), 0);
	CHECK_RC(mapq_open(&q2, p, MAPQ_CREATE | MAPQ_EXCL, NULL), -EEXIST);
	CHECK_OK(mapq_open(&q2, p, MAPQ_CREATE, NULL));
	mapq_geometry g2;
	CHECK_OK(mapq_info(q2, &g2));
	CHECK(memcmp(g.queue_id, g2.queue_id, 16) == 0);
	mapq_close(q2);
	mapq_options_init(&o);
	o.capacity = 1 << 16;
	CHECK_RC(mapq_open(&q2, p, MAPQ_CREATE, &o), -MAPQ_EMISMATCH);
	o.capacity = 0;
	o.policy = MAPQ_OVERWRITE;
	CHECK_RC(mapq_open(&q2, p, 0, &o), -MAPQ_EMISMATCH);
	/* The other way round, default options (policy 0) open any queue. */
	mapq *ow;
	CHECK_OK(mapq_open(&ow, t_path("ow"), MAPQ_CREATE, &o));
	mapq_options_init(&o);
	CHECK_OK(mapq_open(&q2, t_path("ow"), 0, &o));
	CHECK_OK(mapq_info(q2, &g2));
	CHECK_EQ(g2.policy, MAPQ_OVERWRITE);
	mapq_close(q2);
	mapq_close(ow);
	mapq_close(q);
	mapq_close(NULL);

	/* Mode option. */
	mapq_options_init(&o);
	o.mode = 0640;
	CHECK_OK(mapq_open(&q, t_path("mode"), MAPQ_CREATE, &o));
	CHECK_EQ(stat(t_path("mode"), &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0640);
	mapq_close(q);

	/* Superblock damage, case by case. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_valid(p);
		edit_super(p, cases[i].edit, cases[i].fix_crc);
		int rc = try_open(p);
		if (rc != cases[i].want)
			t_fail(__FILE__, __LINE__, "%s: got %s, want %s", cases[i].name,
			       mapq_err_name(rc), mapq_err_name(cases[i].want));
	}

	/* The version a file claims, read without opening it as a queue. */
	uint32_t version = 0;
	make_valid(p);
	CHECK_OK(mapq_file_version(p, &version));
	CHECK_EQ(version, MAPQ_FORMAT_VERSION);
	edit_super(p, sb_version, 1);
	CHECK_OK(mapq_file_version(p, &version));
	CHECK_EQ(version, FMT_VERSION + 1);
	edit_super(p, sb_magic, 1);
	CHECK_RC(mapq_file_version(p, &version), -MAPQ_ECORRUPT);
	CHECK_RC(mapq_file_version(t_path("no-such"), &version), -ENOENT);
	CHECK_RC(mapq_file_version(p, NULL), -EINVAL);
	CHECK_RC(mapq_file_version(".bad", &version), -MAPQ_EBADNAME);
	int sfd = open(t_path("short"), O_CREAT | O_WRONLY, 0600);
	CHECK(sfd >= 0 && write(sfd, "\x89MAPQ", 5) == 5);
	close(sfd);
	CHECK_RC(mapq_file_version(t_path("short"), &version), -MAPQ_ECORRUPT);
	sfd = open(t_path("empty"), O_CREAT | O_WRONLY, 0600); /* nothing to read at all */
	CHECK(sfd >= 0);
	close(sfd);
	CHECK_RC(mapq_file_version(t_path("empty"), &version), -MAPQ_ECORRUPT);
	/* The magic and the version word are all it needs: one byte less is
	 * too little, and exactly that much is enough. */
	make_valid(p);
	CHECK_EQ(truncate(p, (off_t)offsetof(struct fmt_super, sb_size) - 1), 0);
	CHECK_RC(mapq_file_version(p, &version), -MAPQ_ECORRUPT);
	make_valid(p);
	CHECK_EQ(truncate(p, (off_t)offsetof(struct fmt_super, sb_size)), 0);
	version = 0;
	CHECK_OK(mapq_file_version(p, &version));
	CHECK_EQ(version, MAPQ_FORMAT_VERSION);

	/* Size damage. */
	make_valid(p);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(truncate(p, st.st_size - 4096), 0);
	CHECK_RC(try_open(p), -MAPQ_ETRUNCATED);
	CHECK_EQ(truncate(p, st.st_size + 4096), 0);
	CHECK_RC(try_open(p), -MAPQ_ETRUNCATED);
	CHECK_EQ(truncate(p, 50), 0);
	CHECK_RC(try_open(p), -MAPQ_ETRUNCATED);
	/* A whole superblock and nothing after it is a truncated queue too,
	 * as is a file of the magic alone; one byte less is not a queue. */
	make_valid(p);
	CHECK_EQ(truncate(p, (off_t)sizeof(struct fmt_super)), 0);
	CHECK_RC(try_open(p), -MAPQ_ETRUNCATED);
	CHECK_EQ(truncate(p, 8), 0);
	CHECK_RC(try_open(p), -MAPQ_ETRUNCATED);
	CHECK_EQ(truncate(p, 7), 0);
	CHECK_RC(try_open(p), -MAPQ_EBADMAGIC);
	CHECK_EQ(truncate(p, 0), 0);
	CHECK_RC(try_open(p), -MAPQ_EBADMAGIC);
	/* An empty file reads as 0 bytes whatever errno held before: a stale
	 * EINTR (left by a wait a signal cut short) is no reason to read
	 * again, and reading again at the end would spin for ever (alarm()
	 * ends this test instead). */
	alarm(10);
	errno = EINTR;
	CHECK_RC(try_open(p), -MAPQ_EBADMAGIC);
	errno = EINTR;
	CHECK_RC(mapq_file_version(p, &version), -MAPQ_ECORRUPT);
	alarm(0);

	/* Foreign files. */
	int fd = open(t_path("garbage"), O_CREAT | O_WRONLY, 0600);
	char junk[8192];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 >> 3);
	CHECK_EQ(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	CHECK_RC(try_open(t_path("garbage")), -MAPQ_EBADMAGIC);
	make_valid(t_path("target"));
	CHECK_EQ(symlink(t_path("target"), t_path("link")), 0);
	CHECK_RC(try_open(t_path("link")), -ELOOP);
	CHECK_RC(mapq_open(&q, t_path("link"), MAPQ_CREATE, NULL), -ELOOP);
	CHECK_EQ(mkdir(t_path("dir"), 0700), 0);
	CHECK_RC(try_open(t_path("dir")), -EISDIR);
	CHECK_RC(mapq_open(&q, t_path("dir"), MAPQ_RDONLY, NULL), -MAPQ_ENOTREG);
	CHECK_EQ(mkfifo(t_path("fifo"), 0600), 0);
	CHECK_RC(try_open(t_path("fifo")), -MAPQ_ENOTREG);
	CHECK_RC(mapq_open(&q, t_path("fifo"), MAPQ_CREATE, NULL), -MAPQ_ENOTREG);
	if (access("/dev/null", R_OK | W_OK) == 0)
		CHECK_RC(try_open("/dev/null"), -MAPQ_ENOTREG);
	check_long_name();
	check_deep_temp_name();
	CHECK_RC(mapq_open(&q, "/nonexistent-dir/q", MAPQ_CREATE, NULL), -ENOENT);

	check_permissions(t_path("perm"));
	CHECK_EQ(t_temp_files(), 0);
	return 0;
}
