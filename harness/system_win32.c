/* SPDX-License-Identifier: MIT */
/*
 * system_win32.c - the torture harness's calls to Windows (system.h):
 * children are this program again, started by CreateProcess() and killed
 * by TerminateProcess(); a reader child says it is attached by setting a
 * named event; files are shared through CreateFileMapping().
 */
#include "config.h"

#include <errno.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "system.h"

/* Exit codes of a process that ended by an exception (an access
 * violation is 0xC0000005): what a signal is on POSIX. */
#define CRASH_CODES 0xC0000000u

static int err_of(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return -ENOENT;
	case ERROR_FILE_EXISTS:
	case ERROR_ALREADY_EXISTS:
		return -EEXIST;
	case ERROR_ACCESS_DENIED:
		return -EACCES;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return -ENOMEM;
	case ERROR_DISK_FULL:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

const char *tt_exit_text(const struct tt_exit *e, char *buf, size_t size)
{
	if (e->sigkill)
		snprintf(buf, size, "killed (TerminateProcess)");
	else if (e->killed)
		snprintf(buf, size, "ended by exception 0x%08x", (unsigned)e->code);
	else
		snprintf(buf, size, "exited with status %d", e->code);
	return buf;
}

int tt_self(char *buf, size_t size)
{
	DWORD n = GetModuleFileNameA(NULL, buf, (DWORD)size);
	return n > 0 && n < size ? 0 : -ENAMETOOLONG;
}

/* One argument of a command line, quoted as the C runtime parses it:
 * backslashes are literal unless they precede a quote. */
static size_t quote(char *out, size_t room, const char *arg)
{
	size_t n = 0;
#define PUT(c)                        \
	do {                          \
		if (n + 1 < room)     \
			out[n] = (c); \
		n++;                  \
	} while (0)
	PUT('"');
	for (const char *p = arg;; p++) {
		size_t slashes = 0;
		while (*p == '\\') {
			p++;
			slashes++;
		}
		if (!*p) {
			for (size_t i = 0; i < 2 * slashes; i++)
				PUT('\\');
			break;
		}
		if (*p == '"') {
			for (size_t i = 0; i < 2 * slashes + 1; i++)
				PUT('\\');
		} else {
			for (size_t i = 0; i < slashes; i++)
				PUT('\\');
		}
		PUT(*p);
	}
	PUT('"');
	PUT(' ');
#undef PUT
	return n;
}

#define SPAWN_TRIES 5

tt_proc tt_spawn(const char *self, const char *const argv[], const char *fault)
{
	static char cmd[32768];
	size_t n = 0;
	for (size_t i = 0; argv[i]; i++)
		n += quote(cmd + n, n < sizeof(cmd) ? sizeof(cmd) - n : 0, argv[i]);
	if (n >= sizeof(cmd)) {
		errno = E2BIG;
		return 0;
	}
	cmd[n ? n - 1 : 0] = 0;
	/* the child inherits the environment: MAPQ_FAULT set for it alone */
	(void)_putenv_s("MAPQ_FAULT", fault ? fault : "");
	fflush(NULL);
	STARTUPINFOA si = { .cb = sizeof(si) };
	PROCESS_INFORMATION pi;
	/* A failure to start a process has been seen to pass: once under
	 * Wine, in one run of tests/win_torture.sh of three, the next two
	 * clean. So a few more tries, 10 to 80 ms apart, before the run is
	 * void; and the system's own error code is said, which the errno
	 * it maps to (EIO, for most) would hide. */
	BOOL ok = FALSE;
	DWORD e = 0;
	for (int tries = 0; !ok && tries < SPAWN_TRIES; tries++) {
		if (tries)
			Sleep(10u << (tries - 1));
		ok = CreateProcessA(self, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi);
		if (!ok) {
			e = GetLastError();
			fprintf(stderr, "mapq-torture: CreateProcess failed with error %lu%s\n",
				(unsigned long)e, tries + 1 < SPAWN_TRIES ? ", trying again" : "");
		}
	}
	(void)_putenv_s("MAPQ_FAULT", "");
	if (!ok) {
		errno = -err_of(e);
		return 0;
	}
	CloseHandle(pi.hThread);
	return (tt_proc)pi.hProcess;
}

bool tt_ended(tt_proc p, struct tt_exit *e)
{
	HANDLE h = (HANDLE)p;
	DWORD code;
	if (WaitForSingleObject(h, 0) != WAIT_OBJECT_0 || !GetExitCodeProcess(h, &code))
		return false;
	e->sigkill = code == TT_KILLED;
	e->killed = e->sigkill || code >= CRASH_CODES;
	e->code = (int)code;
	CloseHandle(h);
	return true;
}

void tt_kill(tt_proc p)
{
	HANDLE h = (HANDLE)p;
	TerminateProcess(h, TT_KILLED);
	WaitForSingleObject(h, INFINITE);
	CloseHandle(h);
}

/* ntdll's, not documented, and what Process Explorer's "Suspend" calls. */
typedef LONG(NTAPI *process_fn)(HANDLE);

static process_fn ntdll_fn(const char *name)
{
	HMODULE nt = GetModuleHandleA("ntdll.dll");
	return nt ? (process_fn)(void (*)(void))GetProcAddress(nt, name) : NULL;
}

bool tt_stop(tt_proc p)
{
	process_fn suspend = ntdll_fn("NtSuspendProcess");
	return suspend && suspend((HANDLE)p) >= 0;
}

void tt_cont(tt_proc p)
{
	process_fn resume = ntdll_fn("NtResumeProcess");
	if (resume)
		(void)resume((HANDLE)p);
}

/* A named manual-reset event, made by the parent, set by the child. */
int tt_ready_open(struct tt_ready *r)
{
	static unsigned serial;
	snprintf(r->token, sizeof(r->token), "Local\\mapq-torture-%lu-%u",
		 (unsigned long)GetCurrentProcessId(), serial++);
	HANDLE e = CreateEventA(NULL, TRUE, FALSE, r->token);
	if (!e)
		return err_of(GetLastError());
	r->mine = (intptr_t)e;
	r->theirs = 0;
	return 0;
}

void tt_ready_started(struct tt_ready *r)
{
	(void)r;
}

bool tt_ready_wait(struct tt_ready *r, int timeout_ms)
{
	HANDLE e = (HANDLE)r->mine;
	bool ok = WaitForSingleObject(e, (DWORD)timeout_ms) == WAIT_OBJECT_0;
	CloseHandle(e);
	return ok;
}

int tt_ready_signal(const char *token)
{
	if (!strcmp(token, "-"))
		return 0;
	HANDLE e = OpenEventA(EVENT_MODIFY_STATE, FALSE, token);
	if (!e)
		return -1;
	BOOL ok = SetEvent(e);
	CloseHandle(e);
	return ok ? 0 : -1;
}

void *tt_map_file(const char *path, bool create, size_t *size, int *err)
{
	HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE,
			       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			       create ? CREATE_NEW : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
	if (f == INVALID_HANDLE_VALUE) {
		*err = err_of(GetLastError());
		return NULL;
	}
	LARGE_INTEGER sz;
	sz.QuadPart = (LONGLONG)*size;
	BOOL ok = create ? SetFilePointerEx(f, sz, NULL, FILE_BEGIN) && SetEndOfFile(f)
			 : GetFileSizeEx(f, &sz);
	void *m = NULL;
	if (ok && sz.QuadPart > 0) {
		*size = (size_t)sz.QuadPart;
		HANDLE map = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL);
		if (map) {
			m = MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, *size);
			CloseHandle(map); /* the view keeps it */
		}
	}
	*err = m    ? 0
	       : ok ? (sz.QuadPart > 0 ? err_of(GetLastError()) : -EINVAL)
		    : err_of(GetLastError());
	CloseHandle(f);
	return m;
}

void tt_unmap(void *m, size_t size)
{
	(void)size;
	UnmapViewOfFile(m);
}

uint64_t tt_now_ns(void)
{
	static LARGE_INTEGER freq;
	LARGE_INTEGER c;
	if (!freq.QuadPart)
		QueryPerformanceFrequency(&freq);
	QueryPerformanceCounter(&c);
	return (uint64_t)((double)c.QuadPart * 1e9 / (double)freq.QuadPart);
}

void tt_sleep_ns(uint64_t ns)
{
	Sleep((DWORD)((ns + 999999) / 1000000)); /* milliseconds, rounded up */
}

uint32_t tt_getpid(void)
{
	return (uint32_t)GetCurrentProcessId();
}

const char *tt_default_dir(void)
{
	static char dir[MAX_PATH];
	DWORD n = GetTempPathA(sizeof(dir), dir);
	if (n == 0 || n >= sizeof(dir))
		return ".";
	if (n > 1 && (dir[n - 1] == '\\' || dir[n - 1] == '/'))
		dir[n - 1] = 0;
	return dir;
}

int tt_make_dir(char *buf, size_t size, const char *base)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	for (int tries = 0; tries < 100; tries++) {
		char tail[7];
		uint64_t r = tt_now_ns() ^ ((uint64_t)GetCurrentProcessId() << 32) ^
			     (uint64_t)tries * 0x9E3779B97F4A7C15ull;
		for (int i = 0; i < 6; i++, r /= 36)
			tail[i] = letters[r % 36];
		tail[6] = 0;
		if ((size_t)snprintf(buf, size, "%s\\mapq-torture.%s", base, tail) >= size)
			return -ENAMETOOLONG;
		if (CreateDirectoryA(buf, NULL))
			return 0;
		if (GetLastError() != ERROR_ALREADY_EXISTS)
			return err_of(GetLastError());
	}
	return -EEXIST;
}

void tt_remove(const char *path)
{
	DeleteFileA(path);
}

void tt_remove_dir(const char *path)
{
	RemoveDirectoryA(path);
}

bool tt_stderr_is_tty(void)
{
	return _isatty(_fileno(stderr));
}

void tt_ignore_sigpipe(void)
{
	/* Windows has no SIGPIPE: a write to a closed pipe fails instead */
}
