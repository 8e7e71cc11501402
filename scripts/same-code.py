#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""same-code.py - which functions of the library compile differently in two builds.

Disassembles the objects of two builds' libraries (objdump -d) and compares
them function by function, with addresses and jump targets taken out, so a
change that moves code around but leaves a function's instructions alone
reads as the same. Prints each function that differs with its instruction
counts, and a summary; exits 1 if any of the functions named with --hot
differs. Use it to show that a change leaves the message path's machine
code as it was (src/atomic.h's wrappers, for instance), beside make bench.

Examples:
  scripts/same-code.py OLD/_build/rel NEW/_build/rel
  scripts/same-code.py A B --hot mapq_send mapq_read mapq_release mapq_commit
"""

import argparse
import glob
import os
import re
import subprocess
import sys

HOT = ["mapq_send", "mapq_read", "mapq_recv", "mapq_release", "mapq_reserve", "mapq_commit"]


def functions(obj):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", obj], capture_output=True,
                         text=True, check=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            cur = funcs.setdefault(m.group(1), [])
            continue
        if cur is None or "\t" not in line:
            continue
        ins = line.split("\t", 1)[1]
        ins = re.sub(r"#.*$", "", ins)
        ins = re.sub(r"\b[0-9a-f]+ <[^>]*>", "ADDR", ins)
        cur.append(ins.strip())
    return funcs


def objects(build):
    objs = sorted(glob.glob(os.path.join(build, "src", ".libs", "*.o")))
    if not objs:
        sys.exit("same-code.py: no objects in %s/src/.libs (build it first)" % build)
    return {os.path.basename(o): o for o in objs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("old", help="a build directory (with src/.libs/*.o)")
    ap.add_argument("new", help="another build directory")
    ap.add_argument("--hot", nargs="+", default=HOT,
                    help="functions that must not differ (default: %s)" % " ".join(HOT))
    args = ap.parse_args()
    a, b = objects(args.old), objects(args.new)
    fa, fb = {}, {}
    for name in sorted(set(a) | set(b)):
        if name in a:
            fa.update({(name, f): i for f, i in functions(a[name]).items()})
        if name in b:
            fb.update({(name, f): i for f, i in functions(b[name]).items()})
    differ = [k for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]
    for obj, fn in differ:
        print("%-12s %-32s %5s -> %5s instructions" % (
            obj, fn, len(fa.get((obj, fn), [])) if (obj, fn) in fa else "-",
            len(fb.get((obj, fn), [])) if (obj, fn) in fb else "-"))
    hot = sorted({fn for _, fn in differ} & set(args.hot))
    print("same-code: %d functions compared, %d differ; hot path (%s): %s" % (
        len(set(fa) | set(fb)), len(differ), " ".join(args.hot),
        "differs in " + " ".join(hot) if hot else "identical"))
    return 1 if hot else 0


if __name__ == "__main__":
    sys.exit(main())
