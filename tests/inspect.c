/* SPDX-License-Identifier: MIT */
/* inspect: the pieces the `mapq` command is built on.
 * - mapq_resolve(): names go to $MAPQ_DIR or /dev/shm, paths stay paths,
 *   bad names and overlong results are refused;
 * - mapq_open() by name; MAPQ_RDONLY sees the queue, works on a read-only
 *   file, takes no lock and refuses every write; MAPQ_NORECOVER leaves a
 *   dead writer's frame for mapq_recover() to report;
 * - mapq_writer_slot(), mapq_reader_slot(), mapq_frame() describe what
 *   the file holds: free, alive, dead and detached slots; committed,
 *   claimed, aborted and damaged frames. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

static void names(void)
{
	char buf[PATH_MAX];
	CHECK_OK(setenv("MAPQ_DIR", "/some/dir/", 1));
	CHECK_OK(mapq_resolve("ZJ", buf, sizeof(buf)));
	CHECK(strcmp(buf, "/some/dir/ZJ") == 0);
	CHECK_OK(setenv("MAPQ_DIR", "/some/dir", 1));
	CHECK_OK(mapq_resolve("a-b_c.d+e@f:g,h=i", buf, sizeof(buf)));
	CHECK(strcmp(buf, "/some/dir/a-b_c.d+e@f:g,h=i") == 0);
	CHECK_OK(unsetenv("MAPQ_DIR"));
	CHECK_OK(mapq_resolve("ZJ", buf, sizeof(buf)));
	CHECK(strcmp(buf, "/dev/shm/ZJ") == 0);
	CHECK_OK(setenv("MAPQ_DIR", "", 1)); /* empty: the default */
	CHECK_OK(mapq_resolve("ZJ", buf, sizeof(buf)));
	CHECK(strcmp(buf, "/dev/shm/ZJ") == 0);
	/* paths are used as they are, even odd ones */
	CHECK_OK(mapq_resolve("./ZJ", buf, sizeof(buf)));
	CHECK(strcmp(buf, "./ZJ") == 0);
	CHECK_OK(mapq_resolve("../x/.y", buf, sizeof(buf)));
	CHECK(strcmp(buf, "../x/.y") == 0);
	static const char *const bad[] = { "",          ".",       "..",
					   ".hidden",   "a b",     "tab\there",
					   "new\nline", "del\x7f", "\xc3\xa9t\xc3\xa9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_RC(mapq_resolve(bad[i], buf, sizeof(buf)), -MAPQ_EBADNAME);
	char name[MAPQ_QUEUE_NAME_MAX + 2];
	memset(name, 'n', sizeof(name));
	name[MAPQ_QUEUE_NAME_MAX] = '\0';
	CHECK_OK(mapq_resolve(name, buf, sizeof(buf)));
	name[MAPQ_QUEUE_NAME_MAX] = 'n';
	name[MAPQ_QUEUE_NAME_MAX + 1] = '\0';
	CHECK_RC(mapq_resolve(name, buf, sizeof(buf)), -MAPQ_EBADNAME);
	CHECK_RC(mapq_resolve("ZJ", buf, 5), -ENAMETOOLONG);
	/* "/dev/shm/ZJ" is 11 bytes: 12 with its NUL fit, 11 do not */
	CHECK_OK(mapq_resolve("ZJ", buf, 12));
	CHECK(strcmp(buf, "/dev/shm/ZJ") == 0);
	CHECK_RC(mapq_resolve("ZJ", buf, 11), -ENAMETOOLONG);
	CHECK_RC(mapq_resolve("./ZJ", buf, 4), -ENAMETOOLONG);
	CHECK_OK(mapq_resolve("./ZJ", buf, 5));
	CHECK_RC(mapq_resolve(NULL, buf, sizeof(buf)), -EINVAL);
	mapq *q;
	CHECK_RC(mapq_open(&q, "..", MAPQ_CREATE, NULL), -MAPQ_EBADNAME);
	CHECK(q == NULL);
}

static void by_name(void)
{
	CHECK_OK(setenv("MAPQ_DIR", t_dir(), 1));
	mapq *q, *r;
	CHECK_OK(mapq_open(&q, "named", MAPQ_CREATE | MAPQ_EXCL, NULL));
	CHECK(access(t_path("named"), F_OK) == 0);
	CHECK_OK(mapq_send(q, "x", 1, 0));
	CHECK_OK(mapq_open(&r, t_path("named"), 0, NULL)); /* the same file by path */
	mapq_counters st;
	CHECK_OK(mapq_stats(r, &st));
	CHECK_EQ(st.msgs, 1);
	mapq_close(r);
	mapq_close(q);
	CHECK_OK(unsetenv("MAPQ_DIR"));
}

static void read_only(void)
{
	mapq *q = t_create("ro", 65536, MAPQ_BLOCK), *ro;
	CHECK_OK(mapq_send(q, "hello", 5, 0));
	CHECK_RC(mapq_open(&ro, t_path("ro"), MAPQ_RDONLY | MAPQ_CREATE, NULL), -EINVAL);
	CHECK_OK(chmod(t_path("ro"), 0400)); /* read permission is enough */
	CHECK_OK(mapq_open(&ro, t_path("ro"), MAPQ_RDONLY, NULL));
	mapq_reader *r;
	void *p;
	mapq *d;
	CHECK_RC(mapq_send(ro, "x", 1, 0), -MAPQ_ERDONLY);
	CHECK_RC(mapq_reserve(ro, 1, &p, 0), -MAPQ_ERDONLY);
	CHECK_RC(mapq_reader_open(ro, &r, NULL, MAPQ_START_OLDEST), -MAPQ_ERDONLY);
	CHECK_RC(mapq_reader_drop(ro, "x"), -MAPQ_ERDONLY);
	CHECK_RC(mapq_recover(ro, NULL), -MAPQ_ERDONLY);
	CHECK_RC(mapq_sync(ro), -MAPQ_ERDONLY);
	CHECK_RC(mapq_dup(ro, &d), -MAPQ_ERDONLY);
	mapq_counters st;
	CHECK_OK(mapq_stats(ro, &st));
	CHECK_EQ(st.msgs, 1);
	CHECK_EQ(st.writers_attached, 1); /* q's writer, seen through its lock */
	mapq_frame_info f;
	CHECK_OK(mapq_frame(ro, 0, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_COMMITTED);
	CHECK_EQ(f.len, 5);
	CHECK_EQ(f.crc_ok, 1);
	CHECK(memcmp(f.data, "hello", 5) == 0);
	/* no lock taken: the writer's handle still recovers alone */
	mapq_recovery rep;
	CHECK_OK(mapq_recover(q, &rep));
	CHECK_EQ(rep.exclusive, 1);
	mapq_close(ro);
	CHECK_OK(chmod(t_path("ro"), 0600));
	mapq_close(q);
}

static void slots_and_frames(void)
{
	mapq *q = t_create("sf", 65536, MAPQ_BLOCK);
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, "keeper", MAPQ_START_OLDEST));
	CHECK_OK(mapq_send(q, "first", 5, 0));
	pid_t pid = fork();
	if (pid == 0) {
		mapq *w;
		void *p;
		if (mapq_open(&w, t_path("sf"), 0, NULL) || mapq_reserve(w, 100, &p, 0))
			t_exit(2);
		t_die();
	}
	CHECK_EQ(t_wait_child(pid), 128 + SIGKILL);
	mapq_slot_info s;
	CHECK_OK(mapq_writer_slot(q, 0, &s));
	CHECK_EQ(s.state, MAPQ_SLOT_ALIVE); /* ours */
	CHECK_EQ(s.msgs, 1);
	CHECK_EQ(s.resv_size, 0); /* the send is done: no reservation open */
	CHECK_OK(mapq_writer_slot(q, 1, &s));
	CHECK_EQ(s.state, MAPQ_SLOT_DEAD);
	CHECK_EQ(s.pid, pid);
	CHECK_EQ(s.resv_size, frame_size(100));
	CHECK_EQ(s.resv_tentative, 0);
	CHECK_OK(mapq_writer_slot(q, 2, &s));
	CHECK_EQ(s.state, MAPQ_SLOT_FREE);
	CHECK_RC(mapq_writer_slot(q, 16, &s), -ERANGE);
	CHECK_OK(mapq_reader_slot(q, 0, &s));
	CHECK_EQ(s.state, MAPQ_SLOT_ALIVE);
	CHECK_EQ(s.durable, 1);
	CHECK(strcmp(s.name, "keeper") == 0);
	CHECK_RC(mapq_reader_slot(q, 16, &s), -ERANGE);
	mapq_frame_info f;
	uint64_t second = frame_size(5);
	/* its writer died before publishing anything: no frame yet */
	CHECK_OK(mapq_frame(q, second, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_NONE);
	/* a repairer forsaking it (repair.c) publishes a claim; the
	 * header stays unwritten, and the owner comes from its record */
	struct fmt_frame *cf = frame_at(q, second);
	atomic_store(&cf->commit,
		     cw_make(frame_size(100), FRAME_CLAIMED, 0, lap_of(q, second)) | CW_FORSAKEN);
	atomic_store(&cf->pos, second);
	CHECK_OK(mapq_frame(q, second, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_CLAIMED);
	CHECK_EQ(f.forsaken, 1);
	CHECK_EQ(f.writer, 1);
	CHECK_EQ(f.next, second + frame_size(100));
	CHECK_OK(mapq_frame(q, f.next, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_NONE);
	CHECK_RC(mapq_frame(q, 8, &f), -EINVAL);
	mapq_reader_close(r);
	CHECK_OK(mapq_reader_slot(q, 0, &s));
	CHECK_EQ(s.state, MAPQ_SLOT_DETACHED);
	/* a damaged payload: the frame says so */
	struct fmt_frame *fr = frame_at(q, 0);
	((uint8_t *)fr)[FRAME_HDR] ^= 1;
	CHECK_OK(mapq_frame(q, 0, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_COMMITTED);
	CHECK_EQ(f.crc_ok, 0);
	((uint8_t *)fr)[FRAME_HDR] ^= 1;
	/* a length longer than the frame: invalid, not read past */
	fr->len = 4000;
	CHECK_OK(mapq_frame(q, 0, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_INVALID);
	fr->len = 5;
	mapq_close(q);

	/* NORECOVER: the open leaves the dead claim, mapq_recover reports it */
	CHECK_OK(mapq_open(&q, t_path("sf"), MAPQ_NORECOVER, NULL));
	CHECK_OK(mapq_frame(q, second, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_CLAIMED);
	mapq_recovery rep;
	CHECK_OK(mapq_recover(q, &rep));
	CHECK_EQ(rep.exclusive, 1);
	CHECK_EQ(rep.claims_aborted, 1);
	CHECK_OK(mapq_frame(q, second, &f));
	CHECK_EQ(f.kind, MAPQ_FRAME_ABORTED);
	mapq_counters st;
	CHECK_OK(mapq_stats(q, &st));
	CHECK_EQ(st.repaired, 1); /* counted by exclusive recovery too */
	CHECK_OK(mapq_reader_drop(q, "keeper"));
	mapq_close(q);
}

int main(void)
{
	names();
	by_name();
	read_only();
	slots_and_frames();
	return 0;
}
