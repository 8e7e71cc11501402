/* SPDX-License-Identifier: MIT */
/* os_failures: every call the library makes to the system (open, mmap,
 * msync, calloc: the os.* fault points) fails in turn, the first time it
 * is made in an API call, then the second, and so on until the call
 * makes no more, as SQLite tests its out-of-memory paths. Each failure
 * must come back as the error the system gave (not swallowed, not
 * another), and leave nothing behind: no descriptor, no mapping, no
 * memory (LeakSanitizer and Valgrind judge that at exit), no slot taken,
 * no temporary file; and the queue works on afterwards. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapq.h"
#include "util.h"

/* The longest run of system calls one API call makes here is a handful:
 * past this, a failure that never stops firing is a bug. */
#define MAX_NTH 64

static mapq *q;    /* the queue the calls work on, opened before */
static int q_made; /* queues created by op_create, each a new name */
/* What an op leaves for the loop to undo once the points are disarmed
 * (closing a reader takes the registry lock too, and cannot fail). */
static mapq_reader *opened; /* close it */
static int drop_d;          /* drop the durable reader "d" */

/* Mappings of the test directory's files, and the bytes reserved without
 * access right beside them: each queue's guard pages (os_posix.c). A
 * reservation left behind when the file's own mapping failed lands
 * beside the last one made (mmap goes top down) and merges with its
 * guard page. (All such bytes would not do: AddressSanitizer's
 * allocator reserves and releases address space as it goes.) */
static void mappings(int *files, unsigned long *guard)
{
	enum {
		MAX_MAPS = 4096
	};
	static unsigned long lo[MAX_MAPS], hi[MAX_MAPS];
	static char kind[MAX_MAPS]; /* 'f': one of our files; 'g': no access, anonymous */
	FILE *f = fopen("/proc/self/maps", "r");
	CHECK(f);
	char line[4096];
	int n = 0;
	*files = 0;
	*guard = 0;
	while (n < MAX_MAPS && fgets(line, sizeof(line), f)) {
		char perms[8];
		int path = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo[n], &hi[n], perms, &path) < 3)
			continue;
		kind[n] = strstr(line, t_dir())                                  ? 'f'
			  : strcmp(perms, "---p") == 0 && (!path || !line[path]) ? 'g'
										 : 'o';
		*files += kind[n] == 'f';
		n++;
	}
	fclose(f);
	CHECK(n < MAX_MAPS);
	for (int i = 0; i < n; i++)
		if (kind[i] == 'g' && ((i > 0 && kind[i - 1] == 'f' && hi[i - 1] == lo[i]) ||
				       (i + 1 < n && kind[i + 1] == 'f' && hi[i] == lo[i + 1])))
			*guard += hi[i] - lo[i];
}

struct op {
	const char *name;
	/* 0 or the API call's error; on success, undoes what it did */
	int (*run)(void);
	void (*setup)(void); /* run before the point is armed, or NULL */
};

static int op_create(void)
{
	char name[32];
	snprintf(name, sizeof(name), "new%d", q_made++);
	mapq_options o;
	mapq_options_init(&o);
	o.capacity = 1 << 16;
	mapq *n;
	int rc = mapq_open(&n, t_path(name), MAPQ_CREATE | MAPQ_EXCL, &o);
	if (rc == 0)
		mapq_close(n);
	else if (access(t_path(name), F_OK) == 0) {
		/* Failed after the file was published (the mapping, say): it
		 * stays, as others may have opened it since; it must be a
		 * whole queue, never a half-made one. */
		int rc2 = mapq_open(&n, t_path(name), 0, NULL);
		if (rc2)
			t_fail(__FILE__, __LINE__, "a failed create left %s, unusable: %s", name,
			       mapq_strerror(rc2));
		mapq_close(n);
	}
	return rc;
}

static int op_open(void)
{
	mapq *n;
	int rc = mapq_open(&n, t_path("q"), 0, NULL);
	if (rc == 0)
		mapq_close(n);
	return rc;
}

/* A queue nobody has open: opening it recovers it first. */
static int op_open_alone(void)
{
	mapq *n;
	int rc = mapq_open(&n, t_path("solo"), 0, NULL);
	if (rc == 0)
		mapq_close(n);
	return rc;
}

static int op_dup(void)
{
	mapq *n;
	int rc = mapq_dup(q, &n);
	if (rc == 0)
		mapq_close(n);
	return rc;
}

static int op_reader(void)
{
	return mapq_reader_open(q, &opened, NULL, MAPQ_START_OLDEST);
}

static int op_durable(void)
{
	int rc = mapq_reader_open(q, &opened, "d", MAPQ_START_OLDEST);
	drop_d = rc == 0;
	return rc;
}

/* A durable reader, detached, then dropped: only the drop is armed. */
static void setup_drop(void)
{
	mapq_reader *r;
	CHECK_OK(mapq_reader_open(q, &r, "d", MAPQ_START_OLDEST));
	mapq_reader_close(r);
}

static int op_drop(void)
{
	int rc = mapq_reader_drop(q, "d");
	drop_d = rc != 0;
	return rc;
}

static int op_sync(void)
{
	CHECK_OK(mapq_send(q, "s", 1, 0));
	return mapq_sync(q);
}

static const struct op ops[] = {
	{ "create", op_create, NULL },          { "open", op_open, NULL },
	{ "open alone", op_open_alone, NULL },  { "dup", op_dup, NULL },
	{ "reader_open", op_reader, NULL },     { "reader_open durable", op_durable, NULL },
	{ "reader_drop", op_drop, setup_drop }, { "sync", op_sync, NULL },
};

static const struct {
	const char *point;
	int err;
} points[] = {
	{ "os.open", -EMFILE },
	{ "os.mmap", -ENOMEM },
	{ "os.msync", -EIO },
	{ "os.calloc", -ENOMEM },
	{ "os.lock", -ENOLCK },
	/* not a call to the system: the recovery an open runs when alone */
	{ "recover.start", -MAPQ_EINJECTED },
};

/* No slot of the queue is taken but our handle's writer slot. */
static void check_slots(const char *what)
{
	mapq_geometry g;
	mapq_slot_info si;
	CHECK_OK(mapq_info(q, &g));
	unsigned writers = 0;
	for (uint32_t i = 0; i < g.writer_slots; i++) {
		CHECK_OK(mapq_writer_slot(q, i, &si));
		writers += si.state != MAPQ_SLOT_FREE;
	}
	if (writers > 1)
		t_fail(__FILE__, __LINE__, "%s: %u writer slots taken, not 1", what, writers);
	for (uint32_t i = 0; i < g.reader_slots; i++) {
		CHECK_OK(mapq_reader_slot(q, i, &si));
		if (si.state != MAPQ_SLOT_FREE)
			t_fail(__FILE__, __LINE__, "%s: reader slot %u taken (state %d)", what, i,
			       (int)si.state);
	}
}

/* The queue still carries a message from a new handle to a new reader. */
static void check_works(const char *what)
{
	mapq *n;
	mapq_reader *r;
	char buf[8];
	CHECK_OK(mapq_open(&n, t_path("q"), 0, NULL));
	CHECK_OK(mapq_reader_open(n, &r, NULL, MAPQ_START_LATEST));
	CHECK_OK(mapq_send(n, "after", 5, 0));
	ssize_t got = mapq_recv(r, buf, sizeof(buf), 1000);
	if (got != 5 || memcmp(buf, "after", 5) != 0)
		t_fail(__FILE__, __LINE__, "%s: the queue no longer works (%zd)", what, got);
	mapq_reader_close(r);
	mapq_close(n);
}

int main(void)
{
	if (!mapq_fault_enabled())
		t_skip("needs ./configure --enable-fault-injection");
	mapq *solo;
	mapq_options so;
	mapq_options_init(&so);
	so.capacity = 1 << 16;
	CHECK_OK(mapq_open(&solo, t_path("solo"), MAPQ_CREATE | MAPQ_EXCL, &so));
	mapq_close(solo);
	q = t_create("q", 1 << 16, MAPQ_BLOCK);
	CHECK_OK(mapq_send(q, "x", 1, 0)); /* takes our writer slot */
	unsigned failures = 0;
	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		for (size_t p = 0; p < sizeof(points) / sizeof(points[0]); p++) {
			char what[96], spec[64];
			unsigned nth;
			for (nth = 1; nth <= MAX_NTH; nth++) {
				snprintf(what, sizeof(what), "%s, %s failing at call %u",
					 ops[o].name, points[p].point, nth);
				int fds = t_count_fds(), files;
				unsigned long guard;
				mappings(&files, &guard);
				snprintf(spec, sizeof(spec), "%s:%u:error", points[p].point, nth);
				if (ops[o].setup)
					ops[o].setup();
				CHECK_OK(mapq_fault_arm(spec));
				int rc = ops[o].run();
				uint64_t hits = mapq_fault_hits(points[p].point);
				mapq_fault_disarm();
				mapq_reader_close(opened);
				opened = NULL;
				if (drop_d)
					CHECK_OK(mapq_reader_drop(q, "d"));
				drop_d = 0;
				if (hits < nth) { /* the call made fewer: done */
					if (rc)
						t_fail(__FILE__, __LINE__,
						       "%s: %s without a failure", what,
						       mapq_strerror(rc));
					break;
				}
				if (rc != points[p].err)
					t_fail(__FILE__, __LINE__, "%s: returned %s, not %s", what,
					       mapq_strerror(rc), mapq_strerror(points[p].err));
				failures++;
				if (getenv("T_VERBOSE"))
					printf("%s: %s\n", what, mapq_strerror(rc));
				int files2;
				unsigned long guard2;
				mappings(&files2, &guard2);
				if (t_count_fds() != fds || files2 != files || guard2 != guard)
					t_fail(__FILE__, __LINE__,
					       "%s: left descriptors %d -> %d, file mappings %d -> "
					       "%d, guard bytes %lu -> %lu",
					       what, fds, t_count_fds(), files, files2, guard,
					       guard2);
				check_slots(what);
				CHECK_EQ(t_temp_files(), 0);
			}
			if (nth > MAX_NTH)
				t_fail(__FILE__, __LINE__, "%s: still failing", what);
			check_works(what);
		}
	}
	printf("%u calls to the system failed in turn; each came back as its error and "
	       "left nothing behind\n",
	       failures);
	CHECK(failures >= 10);
	mapq_close(q);
	return 0;
}
