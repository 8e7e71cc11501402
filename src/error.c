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
	if (err < 0 && err >= -ERRNO_MAX) {
#ifdef HAVE_STRERRORNAME_NP
		const char *s = strerrorname_np(-err);
		if (s)
			return s;
#endif
	}
	return "EUNKNOWN";
}
