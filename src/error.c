/* SPDX-License-Identifier: MIT */
/*
 * error.c - text and names for every code the library returns.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

/* Linux's errno values are 1..4095 (MAX_ERRNO): a system error, negated. */
#define ERRNO_MAX 4095

/*
 * The system errors a caller of the library can meet, in glibc's words and
 * with their names: the same text on every platform (Windows' C library
 * words them otherwise, and its strerror() writes a per-thread buffer the
 * next call overwrites). A table, not a switch: two names may share a
 * value (EOPNOTSUPP is ENOTSUP on Linux, not on Windows), and the first
 * wins. Any other value: the C library's words where it has them without
 * a buffer (glibc), else "unknown error".
 */
static const struct sys_error {
	int code;
	const char *name, *text;
} sys_errors[] = {
#define E(code, text)             \
	{                         \
		code, #code, text \
	}
	E(EPERM, "Operation not permitted"),
	E(ENOENT, "No such file or directory"),
	E(EINTR, "Interrupted system call"),
	E(EIO, "Input/output error"),
	E(EBADF, "Bad file descriptor"),
	E(EAGAIN, "Resource temporarily unavailable"),
	E(ENOMEM, "Cannot allocate memory"),
	E(EACCES, "Permission denied"),
	E(EBUSY, "Device or resource busy"),
	E(EEXIST, "File exists"),
	E(EXDEV, "Invalid cross-device link"),
	E(ENODEV, "No such device"),
	E(ENOTDIR, "Not a directory"),
	E(EISDIR, "Is a directory"),
	E(EINVAL, "Invalid argument"),
	E(ENFILE, "Too many open files in system"),
	E(EMFILE, "Too many open files"),
	E(EFBIG, "File too large"),
	E(ENOSPC, "No space left on device"),
	E(EROFS, "Read-only file system"),
	E(ERANGE, "Numerical result out of range"),
	E(ENAMETOOLONG, "File name too long"),
	E(ENOLCK, "No locks available"),
	E(ENOSYS, "Function not implemented"),
	E(ELOOP, "Too many levels of symbolic links"),
	E(EOVERFLOW, "Value too large for defined data type"),
	E(EMSGSIZE, "Message too long"),
	E(EOPNOTSUPP, "Operation not supported"),
	E(ENOTSUP, "Operation not supported"),
	E(ETIMEDOUT, "Connection timed out"),
#undef E
};

static const struct sys_error *sys_error(int err)
{
	for (size_t i = 0; i < sizeof(sys_errors) / sizeof(sys_errors[0]); i++)
		if (err == -sys_errors[i].code)
			return &sys_errors[i];
	return NULL;
}

const char *mapq_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define XX(name, value, text) \
	case -MAPQ_##name:    \
		return text;
		MAPQ_ERROR_MAP(XX)
#undef XX
	default:
		break;
	}
	const struct sys_error *e = sys_error(err);
	if (e)
		return e->text;
	if (err < 0 && err >= -ERRNO_MAX) {
#ifdef HAVE_STRERRORDESC_NP
		const char *s = strerrordesc_np(-err);
		if (s)
			return s;
#endif
	}
	return "unknown error";
}

const char *mapq_err_name(int err)
{
	switch (err) {
	case 0:
		return "OK";
#define XX(name, value, text) \
	case -MAPQ_##name:    \
		return "MAPQ_" #name;
		MAPQ_ERROR_MAP(XX)
#undef XX
	default:
		break;
	}
	const struct sys_error *e = sys_error(err);
	if (e)
		return e->name;
	if (err < 0 && err >= -ERRNO_MAX) {
#ifdef HAVE_STRERRORNAME_NP
		const char *s = strerrorname_np(-err);
		if (s)
			return s;
#endif
	}
	return "EUNKNOWN";
}
