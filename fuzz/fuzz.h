/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the fuzz targets share: a private temporary directory,
 * and the entry point every target defines (libFuzzer's signature; AFL++
 * and the replay driver call it the same way).
 */
#ifndef MAPQ_FUZZ_H
#define MAPQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A directory of this process's own under /dev/shm (or $TMPDIR), made on
 * first use and removed at exit; targets never write anywhere else. */
const char *fz_dir(void);
/* fz_dir()/name */
const char *fz_path(const char *name);
/* Write @size bytes to @path, replacing it. 0 or -1. */
int fz_write_file(const char *path, const void *data, size_t size);

#endif
