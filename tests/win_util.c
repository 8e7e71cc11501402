/* SPDX-License-Identifier: MIT */
/* win_util.c - what the Windows tests share (win_util.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "win_util.h"

char wt_dir[MAX_PATH];
static const char *test_name = "win";
static HANDLE children[16];

void wt_start(const char *test)
{
	char tmp[MAX_PATH];
	test_name = test;
	DWORD n = GetTempPathA(sizeof(tmp), tmp);
	CHECK(n > 0 && n < sizeof(tmp));
	snprintf(wt_dir, sizeof(wt_dir), "%smapq-test.%s.%lu.%llu", tmp, test,
		 (unsigned long)GetCurrentProcessId(), (unsigned long long)GetTickCount64());
	if (!CreateDirectoryA(wt_dir, NULL)) {
		wt_dir[0] = 0;
		wt_fail(__LINE__, "cannot make a test directory under %s", tmp);
	}
	char pid[32];
	snprintf(pid, sizeof(pid), "%lu", (unsigned long)GetCurrentProcessId());
	CHECK(_putenv_s("MAPQ_DIR", wt_dir) == 0 && _putenv_s("WT_PARENT", pid) == 0);
}

void wt_child(const char *test)
{
	test_name = test; /* and no directory: the parent's is not ours to remove */
}

void wt_cleanup(void)
{
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (children[i]) {
			TerminateProcess(children[i], 99);
			WaitForSingleObject(children[i], 5000);
			CloseHandle(children[i]);
			children[i] = NULL;
		}
	if (!wt_dir[0])
		return;
	char pat[MAX_PATH + 8], f[2 * MAX_PATH];
	WIN32_FIND_DATAA fd;
	snprintf(pat, sizeof(pat), "%s\\*", wt_dir);
	HANDLE h = FindFirstFileA(pat, &fd);
	if (h != INVALID_HANDLE_VALUE) {
		do {
			if (strcmp(fd.cFileName, ".") && strcmp(fd.cFileName, "..")) {
				snprintf(f, sizeof(f), "%s\\%s", wt_dir, fd.cFileName);
				DeleteFileA(f);
			}
		} while (FindNextFileA(h, &fd));
		FindClose(h);
	}
	RemoveDirectoryA(wt_dir);
	wt_dir[0] = 0;
}

void wt_fail(int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s.c:%d: ", test_name, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	wt_cleanup();
	exit(1);
}

void wt_send_str(mapq *q, const char *s)
{
	CHECK_OK(mapq_send(q, s, strlen(s), 1000));
}

void wt_expect_str(mapq_reader *r, const char *want, int timeout_ms)
{
	char buf[256];
	ssize_t n = mapq_recv(r, buf, sizeof(buf) - 1, timeout_ms);
	if (n < 0)
		wt_fail(__LINE__, "waiting for \"%s\": %s", want, mapq_strerror((int)n));
	buf[n] = 0;
	if (strcmp(buf, want) != 0)
		wt_fail(__LINE__, "got \"%s\", not \"%s\"", buf, want);
}

HANDLE wt_spawn(const char *args)
{
	char self[MAX_PATH], cmd[2 * MAX_PATH + 512];
	DWORD n = GetModuleFileNameA(NULL, self, sizeof(self));
	CHECK(n > 0 && n < sizeof(self));
	snprintf(cmd, sizeof(cmd), "\"%s\" %s", self, args);
	size_t slot = 0;
	while (slot < sizeof(children) / sizeof(children[0]) && children[slot])
		slot++;
	CHECK(slot < sizeof(children) / sizeof(children[0]));
	STARTUPINFOA si = { .cb = sizeof(si) };
	PROCESS_INFORMATION pi;
	/* Wine's server has now and then failed a spawn with
	 * ERROR_INTERNAL_ERROR, which Windows does not give for a
	 * well-formed call: a few more tries for that error alone, each
	 * said; any other error fails the test at once. */
	for (int tries = 1;; tries++) {
		if (CreateProcessA(self, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
			break;
		DWORD err = GetLastError();
		if (err != ERROR_INTERNAL_ERROR || tries == 3)
			wt_fail(__LINE__, "CreateProcess %s: error %lu (try %d)", cmd,
				(unsigned long)err, tries);
		fprintf(stderr,
			"CreateProcess %s: error %lu (ERROR_INTERNAL_ERROR), trying again\n", cmd,
			(unsigned long)err);
		Sleep(100);
	}
	CloseHandle(pi.hThread);
	children[slot] = pi.hProcess;
	return pi.hProcess;
}

static void forget(HANDLE child)
{
	for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
		if (children[i] == child)
			children[i] = NULL;
	CloseHandle(child);
}

DWORD wt_wait(HANDLE child, DWORD timeout_ms)
{
	DWORD rc = 99;
	if (WaitForSingleObject(child, timeout_ms) != WAIT_OBJECT_0)
		wt_fail(__LINE__, "a child still runs after %lu ms", (unsigned long)timeout_ms);
	CHECK(GetExitCodeProcess(child, &rc));
	forget(child);
	return rc;
}

void wt_kill(HANDLE child)
{
	CHECK(TerminateProcess(child, 137));
	CHECK(WaitForSingleObject(child, 10000) == WAIT_OBJECT_0);
	forget(child);
}

HANDLE wt_event(const char *name)
{
	char full[128];
	/* the parent's pid keeps two runs of a test apart */
	const char *parent = getenv("WT_PARENT");
	snprintf(full, sizeof(full), "Local\\mapq-%s-%s-%s", test_name, parent ? parent : "self",
		 name);
	HANDLE e = CreateEventA(NULL, TRUE, FALSE, full);
	if (!e)
		wt_fail(__LINE__, "CreateEvent %s: error %lu", full, (unsigned long)GetLastError());
	return e;
}

double wt_ms(void)
{
	LARGE_INTEGER f, c;
	QueryPerformanceFrequency(&f);
	QueryPerformanceCounter(&c);
	return (double)c.QuadPart * 1000.0 / (double)f.QuadPart;
}
