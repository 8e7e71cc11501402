/* SPDX-License-Identifier: MIT */
/*
 * afl_driver.c - AFL++ persistent-mode driver for a fuzz target: test
 * cases arrive in shared memory (__AFL_FUZZ_TESTCASE_BUF), the fork server
 * starts after our one-time setup (__AFL_INIT), and each forked process
 * runs up to 10000 inputs (__AFL_LOOP). Built by `make fuzz` with
 * afl-clang-fast; see doc/fuzzing.md.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef __AFL_FUZZ_TESTCASE_LEN
#error "build this file with afl-clang-fast (make fuzz)"
#endif

__AFL_FUZZ_INIT();

int main(void)
{
	(void)fz_dir(); /* once, before the fork server: children share it */
	__AFL_INIT();
	unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(10000)) {
		int len = __AFL_FUZZ_TESTCASE_LEN;
		LLVMFuzzerTestOneInput(buf, (size_t)len);
	}
	return 0;
}
