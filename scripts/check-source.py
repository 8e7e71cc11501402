#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-source.py - every source file says its licence and is formatted.

Three checks over the source tree: each source file carries an
`SPDX-License-Identifier: MIT` line within its first three lines; each
C and C++ file is formatted as .clang-format says (clang-format 14, the
version Debian 12 ships: other versions format differently); and the
library's atomics on the shared mapping all go through src/atomic.h (the
simulator's scheduling points), so a C11 atomic call elsewhere in src/
must say `process-local` on its line or the two before. Prints each
file that fails and why; exits 1 if any does. With --fix, formats the
files in place instead (the licence lines are left to you).

Examples:
  scripts/check-source.py                   # make format-check
  scripts/check-source.py --fix             # make format
  scripts/check-source.py --clang-format clang-format-14
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

DIRS = ["src", "include", "cli", "bench", "harness", "sim", "tests", "examples", "fuzz", "scripts",
        "ci", ".ci", ".clusterfuzzlite", "man"]
TOP = ["configure.ac", "Makefile.am", "autogen.sh", "mapq.pc.in"]
C_EXT = (".c", ".h", ".cc")
SOURCE_EXT = C_EXT + (".sh", ".py", ".in", ".sym", ".mk", ".1", ".3")
NO_EXT_SCRIPTS = {"ci/run", "ci/install-deps", "ci/check-install", ".ci/run"}
GENERATED = {"tests/readme_api.c"}  # cut out of README.md by make
WANT_MAJOR = 14


def sources(top):
    out = [t for t in TOP if os.path.isfile(os.path.join(top, t))]
    for d in DIRS:
        for root, dirs, files in os.walk(os.path.join(top, d)):
            dirs[:] = [x for x in dirs if x not in ("__pycache__", "regress", "seeds", ".deps",
                                                    ".libs")]
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), top)
                if (f.endswith(SOURCE_EXT) or rel in NO_EXT_SCRIPTS) and rel not in GENERATED:
                    out.append(rel)
    return sorted(out)


ATOMIC_CALL = re.compile(r"\batomic_(load|store|exchange|fetch_\w+|compare_exchange_\w+|"
                         r"thread_fence|signal_fence)(_explicit)?\s*\(")


def atomic_problems(top):
    """C11 atomic calls in src/ that bypass src/atomic.h."""
    out = []
    src = os.path.join(top, "src")
    for f in sorted(os.listdir(src)):
        if not f.endswith((".c", ".h")) or f == "atomic.h":
            continue
        with open(os.path.join(src, f), errors="replace") as fh:
            lines = fh.read().split("\n")
        for i, line in enumerate(lines):
            code = line.split("//")[0]
            if code.lstrip().startswith("*") or not ATOMIC_CALL.search(code):
                continue
            if any("process-local" in x for x in lines[max(0, i - 2):i + 1]):
                continue
            out.append("src/%s:%d: a C11 atomic outside src/atomic.h's wrappers (the "
                       "simulator cannot schedule it); if it is not on the shared mapping, "
                       "say `process-local'" % (f, i + 1))
    return out


def find_clang_format(given):
    for c in [given, "clang-format-%d" % WANT_MAJOR, "clang-format"]:
        if c and shutil.which(c):
            v = subprocess.run([c, "--version"], capture_output=True, text=True).stdout
            m = re.search(r"version (\d+)", v)
            if m and int(m.group(1)) == WANT_MAJOR:
                return c
            if c == given:
                sys.exit("check-source.py: %s is %s; the format is clang-format %d's "
                         "(apt-get install clang-format-%d)" % (c, v.strip(), WANT_MAJOR,
                                                                WANT_MAJOR))
    sys.exit("check-source.py: clang-format %d not found (apt-get install clang-format)"
             % WANT_MAJOR)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("--fix", action="store_true", help="format the C files in place")
    ap.add_argument("--clang-format", help="the clang-format to use (clang-format-14)")
    ap.add_argument("--top", default=".", help="the source tree (.)")
    args = ap.parse_args()
    files = sources(args.top)
    if not files:
        sys.exit("check-source.py: no source files under %s" % os.path.abspath(args.top))
    cf = find_clang_format(args.clang_format)
    bad = []
    for f in files:
        with open(os.path.join(args.top, f), errors="replace") as fh:
            head = [next(fh, "") for _ in range(3)]
        if not any("SPDX-License-Identifier: MIT" in line for line in head):
            bad.append("%s: no 'SPDX-License-Identifier: MIT' in its first three lines" % f)
    bad += atomic_problems(args.top)
    cfiles = [os.path.join(args.top, f) for f in files if f.endswith(C_EXT)]
    if args.fix:
        subprocess.run([cf, "-i"] + cfiles, check=True)
    else:
        for f in cfiles:
            p = subprocess.run([cf, "--dry-run", "--Werror", f], capture_output=True, text=True)
            if p.returncode:
                n = p.stderr.count("error:")
                bad.append("%s: %d line%s not as .clang-format says (make format fixes it)" % (
                    os.path.relpath(f, args.top), n, "" if n == 1 else "s"))
    for b in bad:
        print(b)
    print("check-source: %d files, %d C files %s, %d problem%s" % (
        len(files), len(cfiles), "formatted" if args.fix else "checked", len(bad),
        "" if len(bad) == 1 else "s"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
