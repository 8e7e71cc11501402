/* SPDX-License-Identifier: MIT */
/* system_posix.c - the torture harness's calls to Linux (system.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "system.h"

static void exit_of(int status, struct tt_exit *e)
{
	e->killed = WIFSIGNALED(status);
	e->sigkill = e->killed && WTERMSIG(status) == SIGKILL;
	e->code = e->killed ? WTERMSIG(status) : WEXITSTATUS(status);
}

const char *tt_exit_text(const struct tt_exit *e, char *buf, size_t size)
{
	snprintf(buf, size, e->killed ? "killed by signal %d" : "exited with status %d", e->code);
	return buf;
}

int tt_self(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	if (n <= 0 || (size_t)n >= size - 1)
		return n < 0 ? -errno : -ENAMETOOLONG;
	buf[n] = 0;
	return 0;
}

tt_proc tt_spawn(const char *self, const char *const argv[], const char *fault)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return 0;
	if (pid)
		return pid;
	if (fault)
		setenv("MAPQ_FAULT", fault, 1);
	else
		unsetenv("MAPQ_FAULT");
	execv(self, (char *const *)argv);
	_exit(127);
}

bool tt_ended(tt_proc p, struct tt_exit *e)
{
	int status;
	if (waitpid((pid_t)p, &status, WNOHANG) != (pid_t)p)
		return false;
	exit_of(status, e);
	return true;
}

void tt_kill(tt_proc p)
{
	kill((pid_t)p, SIGKILL);
	waitpid((pid_t)p, NULL, 0);
}

bool tt_stop(tt_proc p)
{
	return kill((pid_t)p, SIGSTOP) == 0;
}

void tt_cont(tt_proc p)
{
	kill((pid_t)p, SIGCONT);
}

/* A pipe: the child writes a byte into the end whose number it is given. */
int tt_ready_open(struct tt_ready *r)
{
	int p[2];
	if (pipe(p) < 0)
		return -errno;
	r->mine = p[0];
	r->theirs = p[1];
	snprintf(r->token, sizeof(r->token), "%d", p[1]);
	return 0;
}

void tt_ready_started(struct tt_ready *r)
{
	close((int)r->theirs);
}

bool tt_ready_wait(struct tt_ready *r, int timeout_ms)
{
	struct pollfd pf = { (int)r->mine, POLLIN, 0 };
	char c;
	bool ok = poll(&pf, 1, timeout_ms) == 1 && read((int)r->mine, &c, 1) == 1;
	close((int)r->mine);
	return ok;
}

int tt_ready_signal(const char *token)
{
	if (!strcmp(token, "-"))
		return 0;
	int fd = atoi(token);
	int rc = write(fd, "r", 1) == 1 ? 0 : -1;
	close(fd);
	return rc;
}

void *tt_map_file(const char *path, bool create, size_t *size, int *err)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600);
	struct stat st;
	if (fd < 0 || (create && ftruncate(fd, (off_t)*size) < 0) ||
	    (!create && fstat(fd, &st) < 0)) {
		*err = -errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!create)
		*size = (size_t)st.st_size;
	void *m = *size ? mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
	*err = m == MAP_FAILED ? (*size ? -errno : -EINVAL) : 0;
	close(fd);
	return m == MAP_FAILED ? NULL : m;
}

void tt_unmap(void *m, size_t size)
{
	munmap(m, size);
}

uint64_t tt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void tt_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	nanosleep(&ts, NULL);
}

uint32_t tt_getpid(void)
{
	return (uint32_t)getpid();
}

const char *tt_default_dir(void)
{
	return "/dev/shm";
}

int tt_make_dir(char *buf, size_t size, const char *base)
{
	if ((size_t)snprintf(buf, size, "%s/mapq-torture.XXXXXX", base) >= size)
		return -ENAMETOOLONG;
	return mkdtemp(buf) ? 0 : -errno;
}

void tt_remove(const char *path)
{
	unlink(path);
}

void tt_remove_dir(const char *path)
{
	rmdir(path);
}

bool tt_stderr_is_tty(void)
{
	return isatty(STDERR_FILENO);
}

void tt_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}
