#!/bin/sh
# SPDX-License-Identifier: MIT
# no_sse42: the library on an x86-64 CPU without SSE4.2, where it must
# pick the table CRC (src/crc32c.c) and never run the crc32 instruction.
# Such CPUs are rare now, so the tests run on an emulated one: qemu-user's
# "qemu64" model, which reports no SSE4.2 and raises SIGILL on crc32.
# Every other test runs on the CPU the machine has.
set -eu
b="${top_builddir:-.}/tests"
case "$(uname -m)" in
x86_64) ;;
*) echo "SKIP: not an x86-64 machine"; exit 77 ;;
esac
command -v qemu-x86_64 >/dev/null ||
	{ echo "SKIP: qemu-x86_64 not found (apt-get install qemu-user)"; exit 77; }
# Sanitizer runtimes reserve terabytes of shadow memory that qemu-user
# cannot map: their builds skip (the default build, and the mutation
# campaign's -O2 one, run it). The programs say what they were built with.
for t in crc32c frame_crc msg_sizes zerocopy; do
	[ -x "$b/$t" ] || { echo "FAIL: $b/$t not built"; exit 1; }
	if grep -q -a -E '__(asan|tsan|msan)_init' "$b/$t"; then
		echo "SKIP: a sanitizer build (qemu-user cannot run its runtime)"
		exit 77
	fi
done
fail=0
for t in crc32c frame_crc msg_sizes zerocopy; do
	if out=$(timeout 120 qemu-x86_64 -cpu qemu64 "$b/$t" 2>&1); then
		echo "ok: $t on a CPU without SSE4.2"
	else
		rc=$?
		echo "FAIL: $t on a CPU without SSE4.2 exited with $rc" \
			"$([ $rc -eq 132 ] && echo '(SIGILL: the crc32 instruction ran)')"
		printf '%s\n' "$out" | tail -5
		fail=1
	fi
done
# The CRC test must have seen the CPU as qemu shows it: otherwise the
# table path was not what ran.
out=$(timeout 120 qemu-x86_64 -cpu qemu64 "$b/crc32c" 2>&1) || true
case "$out" in
*"no SSE4.2"*) ;;
*) echo "FAIL: tests/crc32c did not see a CPU without SSE4.2 under qemu64: $out"; fail=1 ;;
esac
exit $fail
