/* SPDX-License-Identifier: MIT */
/*
 * os_win32.c - the platform layer (os.h) on Windows: handles, LockFileEx,
 * named events, MoveFileEx (doc/platform.md).
 *
 * Liveness: a process owns a slot while it holds a LockFileEx lock on the
 * slot record's byte through its own handle. Windows drops a handle's
 * locks when the handle closes, which includes its process ending in any
 * way (TerminateProcess too), "in a time that depends on available
 * system resources": doc/platform.md has what was measured.
 *
 * Creation: there is no unnamed file to link, so every new queue is built
 * under a temporary name in the target directory, locked on its first
 * byte while its creator lives, then moved to its name by MoveFileExW
 * without MOVEFILE_REPLACE_EXISTING, which fails if the name exists.
 *
 * Sleeping: WaitOnAddress only works within a process, so a sleeper waits
 * on a named, manual-reset event that stands for the word's value: the
 * name holds the file's identity (volume serial and file index, as a
 * futex is keyed by inode), the word's offset and the value the sleeper
 * saw. The sleeper creates (or opens) the event, then looks at the word
 * once more; a waker changes the word, then opens the event of the value
 * it replaced and sets it. Both are system calls, full barriers: either
 * the waker finds the sleeper's event, or the sleeper sees the new value.
 * An event is never reset: the next sleep is on the next value's.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <bcrypt.h>

#include "atomic.h"
#include "mapq.h"
#include "os.h"

/* --- Errors and names ------------------------------------------------------ */

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
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
	case ERROR_IO_PENDING:
		return -EBUSY;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
	case ERROR_COMMITMENT_LIMIT:
		return -ENOMEM;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return -ENOSPC;
	case ERROR_FILENAME_EXCED_RANGE:
		return -ENAMETOOLONG;
	case ERROR_INVALID_NAME:
	case ERROR_BAD_PATHNAME:
	case ERROR_INVALID_PARAMETER:
		return -EINVAL;
	case ERROR_TOO_MANY_OPEN_FILES:
		return -EMFILE;
	case ERROR_CANT_RESOLVE_FILENAME:
		return -ELOOP;
	default:
		return -EIO;
	}
}

static int last_err(void)
{
	return err_of(GetLastError());
}

static HANDLE h_of(mapq__file f)
{
	return (HANDLE)f;
}

/* @path (UTF-8) as UTF-16, into @w of @n characters. */
static int wide(const char *path, wchar_t *w, int n)
{
	int k = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, n);
	if (k > 0)
		return 0;
	return GetLastError() == ERROR_INSUFFICIENT_BUFFER ? -ENAMETOOLONG : -EINVAL;
}

#define WPATH 32768 /* the longest path Windows takes, in UTF-16 units */

static const DWORD share_all = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

/* --- Files ------------------------------------------------------------ */

/* Open @w; refuse a reparse point (a symbolic link or junction), as
 * O_NOFOLLOW does. */
static int open_w(const wchar_t *w, DWORD access, DWORD disposition, mapq__file *out)
{
	HANDLE h = CreateFileW(w, access, share_all, NULL, disposition,
			       FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
	if (h == INVALID_HANDLE_VALUE)
		return last_err();
	BY_HANDLE_FILE_INFORMATION fi;
	if (GetFileInformationByHandle(h, &fi) &&
	    (fi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
		CloseHandle(h);
		return -ELOOP;
	}
	*out = (mapq__file)h;
	return 0;
}

int mapq__os_open(const char *path, bool rdonly, mapq__file *out)
{
	if (MAPQ_FAULT_QUIET(OS_OPEN))
		return -EMFILE;
	wchar_t *wp = malloc(WPATH * sizeof(wchar_t));
	if (!wp)
		return -ENOMEM;
	int err = wide(path, wp, WPATH);
	if (!err)
		err = open_w(wp, GENERIC_READ | (rdonly ? 0 : GENERIC_WRITE), OPEN_EXISTING, out);
	free(wp);
	return err;
}

void mapq__os_close(mapq__file f)
{
	CloseHandle(h_of(f));
}

/* Open @w again, into *@out, if it is still the file @h is open on. */
static int same_file_at(HANDLE h, const wchar_t *w, mapq__file *out)
{
	int err = open_w(w, GENERIC_READ | GENERIC_WRITE, OPEN_EXISTING, out);
	if (err)
		return err;
	/* The file index alone: @w is on @h's volume (the same directory),
	 * and Wine gives a renamed file's first handle a volume serial of 0. */
	BY_HANDLE_FILE_INFORMATION a, b;
	if (!GetFileInformationByHandle(h, &a) || !GetFileInformationByHandle(h_of(*out), &b) ||
	    a.nFileIndexHigh != b.nFileIndexHigh || a.nFileIndexLow != b.nFileIndexLow) {
		mapq__os_close(*out);
		return -EIO;
	}
	return 0;
}

int mapq__os_reopen(mapq__file f, mapq__file *out)
{
	if (MAPQ_FAULT_QUIET(OS_OPEN))
		return -EMFILE;
	/* A new file object: LockFileEx locks belong to it, not to @f. */
	HANDLE h = ReOpenFile(h_of(f), GENERIC_READ | GENERIC_WRITE, share_all, 0);
	if (h != INVALID_HANDLE_VALUE) {
		*out = (mapq__file)h;
		return 0;
	}
	/* Wine has no ReOpenFile() for files: open the file's path again, and
	 * make sure it is still the same file. */
	wchar_t *w = malloc(WPATH * sizeof(wchar_t));
	if (!w)
		return -ENOMEM;
	int err = 0;
	DWORD n = GetFinalPathNameByHandleW(h_of(f), w, WPATH, FILE_NAME_NORMALIZED);
	if (n == 0 || n >= WPATH)
		err = n ? -ENAMETOOLONG : last_err();
	if (!err)
		err = same_file_at(h_of(f), w, out);
	free(w);
	return err;
}

int mapq__os_size(mapq__file f, uint64_t *size)
{
	if (GetFileType(h_of(f)) != FILE_TYPE_DISK)
		return -MAPQ_ENOTREG;
	BY_HANDLE_FILE_INFORMATION fi;
	if (!GetFileInformationByHandle(h_of(f), &fi))
		return last_err();
	if (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
		return -MAPQ_ENOTREG;
	*size = (uint64_t)fi.nFileSizeHigh << 32 | fi.nFileSizeLow;
	return 0;
}

int64_t mapq__os_pread(mapq__file f, void *buf, size_t len, uint64_t off)
{
	OVERLAPPED ov = { 0 };
	ov.Offset = (DWORD)off;
	ov.OffsetHigh = (DWORD)(off >> 32);
	DWORD n = 0;
	if (len > MAXDWORD)
		len = MAXDWORD;
	if (!ReadFile(h_of(f), buf, (DWORD)len, &n, &ov))
		return GetLastError() == ERROR_HANDLE_EOF ? 0 : last_err();
	return n;
}

/* --- Creation ----------------------------------------------------------- */

#define TEMP_TRIES 8
#define TEMP_PREFIX L".mapq-tmp."
#define TEMP_LETTERS 6

/* The directory part of @w (UTF-16), with its separator, into @dir:
 * its length, or "" when @w names no directory. */
static size_t dir_len(const wchar_t *w)
{
	size_t n = 0;
	for (size_t i = 0; w[i]; i++)
		if (w[i] == L'\\' || w[i] == L'/' || w[i] == L':')
			n = i + 1;
	return n;
}

static int lock_byte(HANDLE h, uint64_t off, DWORD flags)
{
	OVERLAPPED ov = { 0 };
	ov.Offset = (DWORD)off;
	ov.OffsetHigh = (DWORD)(off >> 32);
	if (LockFileEx(h, flags, 0, 1, 0, &ov))
		return 0;
	return last_err();
}

/* false if this handle held no lock on the byte */
static bool unlock_byte(HANDLE h, uint64_t off)
{
	OVERLAPPED ov = { 0 };
	ov.Offset = (DWORD)off;
	ov.OffsetHigh = (DWORD)(off >> 32);
	return UnlockFileEx(h, 0, 1, 0, &ov);
}

/* Size, first bytes, on disk. */
static int fill(HANDLE h, uint64_t size, const void *head, size_t head_len)
{
	/* The size, zero-filled and allocated (NTFS files are not sparse
	 * unless asked): a full disk fails here, not in the mapping. */
	LARGE_INTEGER end;
	end.QuadPart = (LONGLONG)size;
	if (!SetFilePointerEx(h, end, NULL, FILE_BEGIN) || !SetEndOfFile(h))
		return last_err();
	OVERLAPPED ov = { 0 };
	DWORD n;
	if (!WriteFile(h, head, (DWORD)head_len, &n, &ov) || n != head_len)
		return last_err();
	if (!FlushFileBuffers(h)) /* never a named file with a torn header */
		return last_err();
	return 0;
}

static void temp_name(wchar_t *at)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t r[TEMP_LETTERS];
	mapq__os_random(r, sizeof(r));
	for (int i = 0; i < TEMP_LETTERS; i++)
		at[i] = (wchar_t)letters[r[i] % 36];
	at[TEMP_LETTERS] = 0;
}

int mapq__os_create(const char *path, uint32_t mode, uint64_t size, const void *head,
		    size_t head_len, bool unnamed, mapq__file *out)
{
	(void)mode; /* Windows files take their directory's permissions */
	(void)unnamed;
	if (size > (uint64_t)INT64_MAX || head_len > size || head_len > MAXDWORD)
		return -EINVAL;
	wchar_t *w = malloc(2 * WPATH * sizeof(wchar_t));
	if (!w)
		return -ENOMEM;
	wchar_t *tmp = w + WPATH;
	int err = wide(path, w, WPATH);
	size_t d = dir_len(w);
	if (!err && d + wcslen(TEMP_PREFIX) + TEMP_LETTERS + 1 > WPATH)
		err = -ENAMETOOLONG;
	HANDLE h = INVALID_HANDLE_VALUE;
	for (int tries = 0; !err && tries < TEMP_TRIES; tries++) {
		memcpy(tmp, w, d * sizeof(wchar_t));
		wcscpy(tmp + d, TEMP_PREFIX);
		temp_name(tmp + d + wcslen(TEMP_PREFIX));
		mapq__file f;
		err = open_w(tmp, GENERIC_READ | GENERIC_WRITE | DELETE, CREATE_NEW, &f);
		if (err == -EEXIST) {
			err = 0;
			continue;
		}
		if (!err)
			h = h_of(f);
		break;
	}
	if (!err && h == INVALID_HANDLE_VALUE)
		err = -EAGAIN;
	if (!err) {
		/* the lock that says its creator lives (mapq__os_sweep) */
		err = lock_byte(h, 0, LOCKFILE_EXCLUSIVE_LOCK);
		if (!err)
			err = fill(h, size, head, head_len);
		/* fails if @w exists: it never replaces a queue */
		if (!err && !MoveFileExW(tmp, w, MOVEFILE_WRITE_THROUGH))
			err = last_err();
		if (err) {
			FILE_DISPOSITION_INFO di = { TRUE };
			(void)SetFileInformationByHandle(h, FileDispositionInfo, &di, sizeof(di));
			CloseHandle(h);
		} else {
			/* The caller gets a handle opened under the queue's own
			 * name: Wine keeps the name a handle was opened by, and
			 * would reopen (mapq_dup) the temporary one. */
			err = same_file_at(h, w, out);
			(void)unlock_byte(h, 0);
			CloseHandle(h);
		}
	}
	free(w);
	return err;
}

unsigned mapq__os_sweep(const char *path)
{
	wchar_t *w = malloc(2 * WPATH * sizeof(wchar_t));
	if (!w)
		return 0;
	wchar_t *file = w + WPATH;
	unsigned n = 0;
	size_t d;
	WIN32_FIND_DATAW fd;
	HANDLE find = INVALID_HANDLE_VALUE;
	if (wide(path, w, WPATH) == 0 && (d = dir_len(w)) + wcslen(TEMP_PREFIX) + 2 < WPATH) {
		wcscpy(w + d, TEMP_PREFIX L"*");
		find = FindFirstFileW(w, &fd);
	}
	if (find != INVALID_HANDLE_VALUE) {
		do {
			if (wcslen(fd.cFileName) != wcslen(TEMP_PREFIX) + TEMP_LETTERS ||
			    d + wcslen(fd.cFileName) + 1 > WPATH)
				continue;
			memcpy(file, w, d * sizeof(wchar_t));
			wcscpy(file + d, fd.cFileName);
			mapq__file f;
			if (open_w(file, GENERIC_READ | GENERIC_WRITE | DELETE, OPEN_EXISTING, &f))
				continue;
			/* Delete only the file we locked, through our own handle:
			 * its creator is dead. */
			FILE_DISPOSITION_INFO di = { TRUE };
			if (lock_byte(h_of(f), 0,
				      LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY) == 0 &&
			    SetFileInformationByHandle(h_of(f), FileDispositionInfo, &di,
						       sizeof(di)))
				n++;
			CloseHandle(h_of(f));
		} while (FindNextFileW(find, &fd));
		FindClose(find);
	}
	free(w);
	return n;
}

/* --- Mappings --------------------------------------------------------- */

/*
 * The views this process has made, with their file's identity and a
 * handle of the file of their own: mapq__os_wait() is given only a word's
 * address, and finds here the name of its event; mapq__os_flush() finds
 * the file to flush.
 */
struct view {
	uint8_t *base;
	uint64_t size;
	HANDLE file;
	DWORD volume, index_hi, index_lo;
	struct view *next;
};
static struct view *views;
static SRWLOCK views_lock = SRWLOCK_INIT;

static struct view *view_of(const void *addr)
{
	AcquireSRWLockShared(&views_lock);
	struct view *v = views;
	while (v &&
	       !((const uint8_t *)addr >= v->base && (const uint8_t *)addr < v->base + v->size))
		v = v->next;
	ReleaseSRWLockShared(&views_lock);
	return v;
}

int mapq__os_map(mapq__file f, uint64_t size, bool rdonly, uint8_t **base)
{
	if (MAPQ_FAULT_QUIET(OS_MMAP))
		return -ENOMEM;
	if (size > SIZE_MAX / 2)
		return -ENOMEM;
	struct view *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	BY_HANDLE_FILE_INFORMATION fi;
	int err = 0;
	if (!GetFileInformationByHandle(h_of(f), &fi) ||
	    !DuplicateHandle(GetCurrentProcess(), h_of(f), GetCurrentProcess(), &v->file, 0, FALSE,
			     DUPLICATE_SAME_ACCESS)) {
		err = last_err();
		free(v);
		return err;
	}
	v->volume = fi.dwVolumeSerialNumber;
	v->index_hi = fi.nFileIndexHigh;
	v->index_lo = fi.nFileIndexLow;
	HANDLE m = CreateFileMappingW(h_of(f), NULL, rdonly ? PAGE_READONLY : PAGE_READWRITE,
				      (DWORD)(size >> 32), (DWORD)size, NULL);
	void *p = NULL;
	if (m) {
		p = MapViewOfFile(m, rdonly ? FILE_MAP_READ : FILE_MAP_READ | FILE_MAP_WRITE, 0, 0,
				  (SIZE_T)size);
		if (!p)
			err = last_err();
		CloseHandle(m); /* the view keeps the mapping */
	} else {
		err = last_err();
	}
	if (err) {
		CloseHandle(v->file);
		free(v);
		return err;
	}
	v->base = p;
	v->size = size;
	AcquireSRWLockExclusive(&views_lock);
	v->next = views;
	views = v;
	ReleaseSRWLockExclusive(&views_lock);
	*base = p;
	return 0;
}

void mapq__os_unmap(uint8_t *base, uint64_t size)
{
	(void)size;
	AcquireSRWLockExclusive(&views_lock);
	struct view **pv = &views;
	while (*pv && (*pv)->base != base)
		pv = &(*pv)->next;
	struct view *v = *pv;
	if (v)
		*pv = v->next;
	ReleaseSRWLockExclusive(&views_lock);
	UnmapViewOfFile(base);
	if (v) {
		CloseHandle(v->file);
		free(v);
	}
}

int mapq__os_flush(void *addr, size_t len)
{
	if (MAPQ_FAULT_QUIET(OS_MSYNC))
		return -EIO;
	/* the view's pages to the file, then the file's to the disk */
	if (!FlushViewOfFile(addr, len))
		return last_err();
	struct view *v = view_of(addr);
	if (v && !FlushFileBuffers(v->file))
		return last_err();
	return 0;
}

/* --- Liveness locks ----------------------------------------------------- */

int mapq__os_lock(mapq__file f, uint64_t off, enum mapq__lock_kind kind, bool wait)
{
	HANDLE h = h_of(f);
	if (kind == MAPQ__LOCK_NONE) {
		(void)unlock_byte(h, off);
		return 0;
	}
	DWORD flags = (kind == MAPQ__LOCK_EXCL ? LOCKFILE_EXCLUSIVE_LOCK : 0) |
		      (wait ? 0 : LOCKFILE_FAIL_IMMEDIATELY);
	/* Windows does not convert a lock: a shared lock taken over our own
	 * exclusive one is a second lock beside it (the exclusive one still
	 * keeps everyone else out), and two shared ones need two unlocks. So
	 * a shared lock drops whatever this handle holds on the byte first
	 * (nothing, or an error we ignore). The only conversion (recover.c,
	 * mapq__join) happens under the join lock, which keeps every other
	 * process from the byte meanwhile. */
	if (kind == MAPQ__LOCK_SHARED)
		(void)unlock_byte(h, off);
	int err = lock_byte(h, off, flags);
	if (err != -EBUSY || kind != MAPQ__LOCK_EXCL || wait)
		return err;
	/* Busy, perhaps only with our own shared lock, which Windows does not
	 * convert either (mapq_recover() on an open queue: is anyone else
	 * here?). Drop it, which fails if we hold none, and try again; if
	 * someone else has it too, take ours back. Only mapq__join converts,
	 * under the join lock: nobody else takes the byte exclusively in the
	 * meantime, so the shared lock is granted again at once. */
	if (!unlock_byte(h, off))
		return -EBUSY;
	err = lock_byte(h, off, flags);
	if (err != -EBUSY)
		return err;
	err = lock_byte(h, off, 0);
	return err ? err : -EBUSY;
}

int mapq__os_lock_held(mapq__file f, uint64_t off)
{
	/* No way to ask: take it for a moment. A trylock of another process
	 * in that moment finds it busy, as if the slot were live. */
	int err = lock_byte(h_of(f), off, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY);
	if (err == -EBUSY)
		return 1;
	if (err)
		return err;
	(void)unlock_byte(h_of(f), off);
	return 0;
}

/* --- Sleeping on shared words ------------------------------------------ */

/* The event that stands for *@word == @value: 0 and *@ev, or -errno.
 * @create: create it if nobody has it open. */
static int word_event(_Atomic uint32_t *word, uint32_t value, bool create, HANDLE *ev)
{
	struct view *v = view_of((const void *)word);
	if (!v)
		return -EINVAL;
	wchar_t name[96];
	(void)_snwprintf(
		name, sizeof(name) / sizeof(name[0]), L"Local\\mapq-%08lx-%08lx%08lx-%llx-%08lx",
		(unsigned long)v->volume, (unsigned long)v->index_hi, (unsigned long)v->index_lo,
		(unsigned long long)((const uint8_t *)word - v->base), (unsigned long)value);
	name[sizeof(name) / sizeof(name[0]) - 1] = 0;
	*ev = create ? CreateEventW(NULL, TRUE, FALSE, name)
		     : OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
	return *ev ? 0 : last_err();
}

int mapq__os_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t deadline)
{
	HANDLE ev;
	if (word_event(word, expect, true, &ev) != 0) {
		/* no event (out of handles): a short sleep, then look again */
		Sleep(1);
		return 0;
	}
	int r = 0;
	/* after the event exists (a system call: a full barrier), the word;
	 * seq_cst, the order the rest of the protocol states */
	if (mapq__load(word, memory_order_seq_cst) == expect) {
		DWORD ms = INFINITE;
		if (deadline != UINT64_MAX) {
			uint64_t now = mapq__os_mono_ns();
			if (now >= deadline) {
				CloseHandle(ev);
				return -ETIMEDOUT;
			}
			uint64_t left = (deadline - now + 999999u) / 1000000u;
			ms = left >= INFINITE ? INFINITE - 1 : (DWORD)left;
		}
		if (WaitForSingleObject(ev, ms) == WAIT_TIMEOUT && mapq__os_mono_ns() >= deadline)
			r = -ETIMEDOUT;
	}
	CloseHandle(ev);
	return r;
}

void mapq__os_wake(_Atomic uint32_t *word, uint32_t was)
{
	/* the word was bumped from the value sleepers saw: set its event */
	HANDLE ev;
	if (word_event(word, was, false, &ev) == 0) {
		SetEvent(ev);
		CloseHandle(ev);
	}
}

/* --- Asymmetric fences ----------------------------------------------------- */

/*
 * Windows has no barrier one process can force on another:
 * FlushProcessWriteBuffers() reaches only the caller's own threads. So
 * every process keeps both sides of the sleeper pairs with full fences,
 * and a sleeper has nothing more to do.
 */
bool mapq__os_light_fence(void)
{
	return false;
}

int mapq__os_barrier_all(void)
{
	return 0;
}

/* --- Clocks, processes, randomness --------------------------------------- */

uint64_t mapq__os_mono_ns(void)
{
	static LARGE_INTEGER freq;
	LARGE_INTEGER c;
	if (!freq.QuadPart)
		QueryPerformanceFrequency(&freq);
	QueryPerformanceCounter(&c);
	uint64_t f = (uint64_t)freq.QuadPart, t = (uint64_t)c.QuadPart;
	return t / f * 1000000000ull + t % f * 1000000000ull / f;
}

uint64_t mapq__os_wall_ns(void)
{
	FILETIME ft;
	GetSystemTimePreciseAsFileTime(&ft);
	uint64_t t = (uint64_t)ft.dwHighDateTime << 32 | ft.dwLowDateTime;
	/* 100 ns units since 1601 */
	return (t - 116444736000000000ull) * 100u;
}

void mapq__os_sleep_ns(uint64_t ns)
{
	uint64_t ms = (ns + 999999u) / 1000000u;
	Sleep(ms >= INFINITE ? INFINITE - 1 : (DWORD)ms);
}

void mapq__os_yield(void)
{
	SwitchToThread();
}

uint32_t mapq__os_pid(void)
{
	return (uint32_t)GetCurrentProcessId();
}

void mapq__os_random(uint8_t *buf, size_t len)
{
	if (len <= ULONG_MAX &&
	    BCryptGenRandom(NULL, buf, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0)
		return;
	uint64_t a = mapq__os_mono_ns(),
		 b = (uint64_t)GetCurrentProcessId() << 32 ^ (uint64_t)(uintptr_t)buf;
	uint8_t x[16];
	memcpy(x, &a, 8);
	memcpy(x + 8, &b, 8);
	for (size_t i = 0; i < len; i++)
		buf[i] = x[i % sizeof(x)];
}

/* --- Queue names --------------------------------------------------------- */

/*
 * $MAPQ_DIR, else "mapq" in the user's local application data folder
 * (%LOCALAPPDATA%\mapq), made if missing: like /dev/shm, a directory of
 * this user's that needs no setting up. The default is computed once.
 */
static char default_dir[MAX_PATH * 3];
static INIT_ONCE dir_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK find_dir(PINIT_ONCE once, PVOID arg, PVOID *ctx)
{
	(void)once;
	(void)arg;
	(void)ctx;
	wchar_t w[MAX_PATH + 8];
	DWORD n = GetEnvironmentVariableW(L"LOCALAPPDATA", w, MAX_PATH);
	if (n == 0 || n >= MAX_PATH)
		n = GetTempPathW(MAX_PATH, w);
	if (n == 0 || n >= MAX_PATH) {
		strcpy(default_dir, ".");
		return TRUE;
	}
	if (w[n - 1] == L'\\')
		n--;
	wcscpy(w + n, L"\\mapq");
	(void)CreateDirectoryW(w, NULL); /* ERROR_ALREADY_EXISTS: fine */
	if (!WideCharToMultiByte(CP_UTF8, 0, w, -1, default_dir, (int)sizeof(default_dir), NULL,
				 NULL))
		strcpy(default_dir, ".");
	return TRUE;
}

const char *mapq__os_queue_dir(void)
{
	const char *dir = getenv("MAPQ_DIR");
	if (dir && *dir)
		return dir;
	(void)InitOnceExecuteOnce(&dir_once, find_dir, NULL, NULL);
	return default_dir;
}

bool mapq__os_separator(char c)
{
	return c == '/' || c == '\\' || c == ':';
}

const char mapq__os_join[] = "\\";

/* The characters Windows forbids in a file name (beyond the separators),
 * and the names of devices, which stand for the device in any directory
 * and with any extension ("NUL.txt" is NUL). */
bool mapq__os_name_ok(const char *name, size_t n)
{
	static const char *const devices[] = { "CON", "PRN", "AUX", "NUL", "COM", "LPT" };
	for (size_t i = 0; i < n; i++)
		if (strchr("<>\"|?*", name[i]))
			return false;
	if (name[n - 1] == '.') /* Windows drops a trailing dot */
		return false;
	size_t stem = 0;
	while (stem < n && name[stem] != '.')
		stem++;
	for (size_t d = 0; d < sizeof(devices) / sizeof(devices[0]); d++) {
		bool numbered = d >= 4; /* COM1..COM9, LPT1..LPT9 */
		if (stem != 3u + numbered || _strnicmp(name, devices[d], 3) != 0)
			continue;
		if (!numbered || (name[3] >= '1' && name[3] <= '9'))
			return false;
	}
	return true;
}

/* Windows has no fork(): every handle is this process's own. */
unsigned mapq__os_fork_gen;

unsigned mapq__os_fork_watch(void)
{
	return 0;
}
