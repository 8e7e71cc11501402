/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

static char dir[256];
static pid_t dir_owner;

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void t_skip(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "SKIP: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(T_SKIP);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0; /* go on whatever failed: remove all that can be */
}

/* Children stopped at a fault point (t_wait_stopped) and not waited for
 * since: a test that fails before it lets them go must not leave them
 * stopped, where their alarm never fires. */
static pid_t stopped[8];

static void kill_stopped(void)
{
	for (size_t i = 0; i < sizeof(stopped) / sizeof(stopped[0]); i++)
		if (stopped[i] > 0) {
			(void)kill(stopped[i], SIGKILL); /* not reaped yet: still ours */
			stopped[i] = 0;
		}
}

/* Remove the test's directory and everything in it, subdirectories too. */
static void rm_dir(void)
{
	if (!dir[0] || getpid() != dir_owner)
		return; /* children leave the parent's directory alone */
	kill_stopped();
	const char *keep = getenv("T_KEEP");
	if (keep && *keep == '1') {
		fprintf(stderr, "kept %s\n", dir);
		return;
	}
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A test that crashes leaves nothing behind either (SIGKILL aside). */
static void rm_dir_and_die(int sig)
{
	rm_dir();
	signal(sig, SIG_DFL);
	raise(sig);
}

const char *t_dir(void)
{
	if (dir[0])
		return dir;
	/* /dev/shm when there is one: the queues of these tests are memory-only */
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/mapq-test.XXXXXX", base);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "ERROR: mkdtemp %s: %s\n", dir, strerror(errno));
		exit(T_ERROR);
	}
	dir_owner = getpid();
	atexit(rm_dir);
	static const int fatal[] = { SIGSEGV, SIGBUS,  SIGABRT, SIGFPE, SIGILL,
				     SIGALRM, SIGTERM, SIGINT,  SIGHUP };
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction sa = { .sa_handler = rm_dir_and_die, .sa_flags = SA_RESETHAND };
		struct sigaction old;
		/* leave alone what a sanitizer or the test set up itself */
		if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			sigaction(fatal[i], &sa, NULL);
	}
	return dir;
}

const char *t_path(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ & 7];
	snprintf(b, 512, "%s/%s", t_dir(), name);
	return b;
}

/* Queues made by t_create stay reachable from here, so that a forked
 * child, which inherits them but must not close them (that would drop
 * the parent's slot locks, which live on the shared open file
 * description), is not reported by Valgrind as leaking them. */
mapq *t_queues[T_MAX_QUEUES];
static unsigned ncreated;

mapq *t_create(const char *name, uint64_t capacity, int policy)
{
	mapq_options o;
	mapq *q;
	mapq_options_init(&o);
	o.capacity = capacity;
	o.policy = (uint32_t)policy;
	int rc = mapq_open(&q, t_path(name), MAPQ_CREATE | MAPQ_EXCL, &o);
	if (rc) {
		fprintf(stderr, "ERROR: create %s: %s\n", name, mapq_strerror(rc));
		exit(T_ERROR);
	}
	if (ncreated < T_MAX_QUEUES)
		t_queues[ncreated++] = q;
	return q;
}

/* Payload: writer (4) | seq (8) | len (4) | bytes derived from the three |
 * a 32-bit FNV-1a checksum of everything before it (last 4 bytes). */
static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

size_t t_fill(void *buf, size_t len, uint32_t writer, uint64_t seq)
{
	uint8_t *p = buf;
	uint32_t l = (uint32_t)len;
	if (len < 20)
		return 0;
	memcpy(p, &writer, 4);
	memcpy(p + 4, &seq, 8);
	memcpy(p + 12, &l, 4);
	for (size_t i = 16; i < len - 4; i++)
		p[i] = (uint8_t)(writer * 31 + seq * 7 + i);
	uint32_t h = fnv(p, len - 4);
	memcpy(p + len - 4, &h, 4);
	return len;
}

int t_check_payload(const void *buf, size_t len, uint32_t *writer, uint64_t *seq)
{
	const uint8_t *p = buf;
	uint32_t l, h;
	if (len < 20)
		return -1;
	memcpy(writer, p, 4);
	memcpy(seq, p + 4, 8);
	memcpy(&l, p + 12, 4);
	memcpy(&h, p + len - 4, 4);
	if (l != len || h != fnv(p, len - 4))
		return -1;
	return 0;
}

#ifdef MAPQ_COVERAGE
void __gcov_dump(void);
#define flush_coverage() __gcov_dump()
#else
#define flush_coverage() ((void)0)
#endif

/* A forked child leaves through _exit(), where LeakSanitizer does not
 * look: ask it here, so that memory a child's own calls leaked fails the
 * child as it would fail the test's main process. */
#if defined(__SANITIZE_ADDRESS__)
#define T_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_LSAN 1
#endif
#endif
#ifdef T_LSAN
#include <sanitizer/lsan_interface.h>
#define leaks_found() __lsan_do_recoverable_leak_check()
#else
#define leaks_found() 0
#endif

#ifdef T_LSAN
/* the sanitizer runtime's (sanitizer/allocator_interface.h, which gcc
 * does not install) */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

long long t_heap_bytes(void)
{
#ifdef T_LSAN
	return (long long)__sanitizer_get_current_allocated_bytes();
#else
	return -1;
#endif
}

void t_die(void)
{
	flush_coverage();
	kill(getpid(), SIGKILL);
	_exit(T_ERROR); /* not reached */
}

void t_exit(int code)
{
	flush_coverage();
	if (code == 0 && leaks_found())
		code = T_ERROR;
	_exit(code);
}

int t_send_until_full(mapq *q, const void *buf, size_t len)
{
	/* far more than any ring in the tests holds */
	enum {
		LIMIT = 1 << 20
	};
	for (int n = 0; n < LIMIT; n++) {
		int rc = mapq_send(q, buf, len, 0);
		if (rc == -EAGAIN)
			return n;
		if (rc)
			t_fail(__FILE__, __LINE__, "filling the ring: %s after %d messages",
			       mapq_strerror(rc), n);
	}
	t_fail(__FILE__, __LINE__, "the ring never filled: %d messages sent without a wait",
	       (int)LIMIT);
}

int t_send_late(mapq *q, const void *buf, size_t len, int timeout_ms)
{
	void *p;
	int rc = mapq_reserve(q, len, &p, timeout_ms);
	if (rc)
		return rc;
	if (len)
		memcpy(p, buf, len);
	return mapq_commit(q, len);
}

int t_create_file(const char *path, const mapq_options *opt, bool unnamed)
{
	mapq__file f;
	int err = mapq__create_file(path, opt, unnamed, &f);
	return err ? err : (int)f;
}

int t_temp_files(void)
{
	DIR *d = opendir(t_dir());
	CHECK(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, ".mapq-tmp.", 10) == 0) {
			fprintf(stderr, "temporary file: %s\n", e->d_name);
			n++;
		}
	closedir(d);
	return n;
}

int t_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	CHECK(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

pid_t t_fork_reporting(unsigned alarm_s, int *fd)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		alarm(alarm_s);
		*fd = p[1];
		return 0;
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

void t_report(int fd, const void *buf, size_t len)
{
	t_exit(write(fd, buf, len) == (ssize_t)len ? 0 : T_ERROR);
}

bool t_wait_stopped(pid_t pid)
{
	int st;
	pid_t got;
	while ((got = waitpid(pid, &st, WUNTRACED)) < 0 && errno == EINTR)
		;
	if (got != pid || !WIFSTOPPED(st))
		return false;
	for (size_t i = 0; i < sizeof(stopped) / sizeof(stopped[0]); i++)
		if (stopped[i] <= 0) {
			stopped[i] = pid;
			break;
		}
	return true;
}

int t_wait_child(int pid)
{
	int st;
	for (size_t i = 0; i < sizeof(stopped) / sizeof(stopped[0]); i++)
		if (stopped[i] == pid)
			stopped[i] = 0; /* reaped below: its pid may be reused after */
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return T_ERROR;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

uint64_t t_scaled(uint64_t n)
{
	const char *s = getenv("T_SCALE");
	double f = s && *s ? strtod(s, NULL) : 1.0;
	uint64_t m = f > 0 ? (uint64_t)((double)n * f) : n;
	return m ? m : 1;
}

uint64_t t_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool t_until_flag(_Atomic uint32_t *flag, unsigned ms)
{
	for (uint64_t t0 = t_now_ms(); atomic_load(flag) == 0; usleep(1000))
		if (t_now_ms() - t0 > ms)
			return false;
	return true;
}
