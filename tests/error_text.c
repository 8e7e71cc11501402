/* SPDX-License-Identifier: MIT */
/* error_text: every code has its own sentence and name. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "util.h"

static const int codes[] = {
#define XX(name, value, text) -MAPQ_##name,
	MAPQ_ERROR_MAP(XX)
#undef XX
};

int main(void)
{
	size_t n = sizeof(codes) / sizeof(codes[0]);
	CHECK(n >= 11);
	for (size_t i = 0; i < n; i++) {
		const char *t = mapq_strerror(codes[i]);
		const char *name = mapq_err_name(codes[i]);
		CHECK(codes[i] < -4095); /* far from any -errno */
		CHECK(t && strlen(t) > 10 && strcmp(t, "unknown error"));
		CHECK(strncmp(name, "MAPQ_E", 6) == 0);
		for (size_t j = 0; j < i; j++) {
			CHECK(codes[i] != codes[j]);
			CHECK(strcmp(t, mapq_strerror(codes[j])));
			CHECK(strcmp(name, mapq_err_name(codes[j])));
		}
	}
	CHECK(strcmp(mapq_err_name(-MAPQ_ELAPPED), "MAPQ_ELAPPED") == 0);
	CHECK(strcmp(mapq_err_name(MAPQ_ELAPPED), "EUNKNOWN") ==
	      0); /* positive: not a return code */
	CHECK(strcmp(mapq_strerror(0), "success") == 0);
	CHECK(strcmp(mapq_strerror(-ETIMEDOUT), "Connection timed out") == 0);
	CHECK(strcmp(mapq_err_name(-ETIMEDOUT), "ETIMEDOUT") == 0);
	CHECK_STR(mapq_strerror(-ENOENT), "No such file or directory");
	CHECK_STR(mapq_err_name(-ENOENT), "ENOENT");
	CHECK_STR(mapq_err_name(-ELOOP), "ELOOP");
#ifdef __GLIBC__
	/* The library's own table of system errors (the same words on every
	 * platform) says what glibc says, for every value glibc knows. */
	for (int e = 1; e < 134; e++)
		if (strncmp(strerror(e), "Unknown error", 13) != 0)
			CHECK_STR(mapq_strerror(-e), strerror(e));
#endif
	CHECK(strcmp(mapq_strerror(-99999), "unknown error") == 0);
	CHECK(strcmp(mapq_strerror(12345), "unknown error") == 0);
	CHECK(strcmp(mapq_version(), MAPQ_VERSION_STRING) == 0);
	return 0;
}
