#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-layers.py - the files of src/ must depend on each other in layers.

Reads the library's object files with nm: file A depends on file B when A
uses a global symbol that B defines. Prints each file's layer (1: uses no
other file; n: uses files of layers below n only) and exits 1, naming the
files and symbols that tie it, if any set of files depends on itself in a
circle. Run by `make analyze`.

Examples:
  scripts/check-layers.py src/.libs/*.o
  scripts/check-layers.py --nm llvm-nm src/*.o
"""

import argparse
import os
import subprocess
import sys


def symbols(nm, obj):
    """(defined, used) global symbol names of one object."""
    out = subprocess.run([nm, "-g", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] not in ("U", "w", "v"):
            defined.add(parts[2])
    return defined, used


def circles(graph):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("objects", nargs="+", help="the library's object files")
    ap.add_argument("--nm", default=os.environ.get("NM", "nm"), help="nm to use (default: nm)")
    args = ap.parse_args()
    names = {o: os.path.splitext(os.path.basename(o))[0] + ".c" for o in args.objects}
    defs, uses = {}, {}
    try:
        for o in args.objects:
            defs[o], uses[o] = symbols(args.nm, o)
    except (OSError, subprocess.CalledProcessError) as e:
        print("check-layers: cannot read the objects with %s: %s" % (args.nm, e), file=sys.stderr)
        return 2
    owner = {s: names[o] for o in args.objects for s in defs[o]}
    graph, why = {n: set() for n in names.values()}, {}
    for o in args.objects:
        a = names[o]
        for s in sorted(uses[o]):
            b = owner.get(s)
            if b and b != a:
                graph[a].add(b)
                why.setdefault((a, b), []).append(s)
    bad = circles(graph)
    if bad:
        for comp in bad:
            print("check-layers: these files depend on each other in a circle: %s" %
                  ", ".join(comp))
            for a in comp:
                for b in sorted(graph[a] & set(comp)):
                    print("  %s -> %s: %s" % (a, b, ", ".join(why[(a, b)][:6])))
        return 1
    layer = {}

    def depth(v):
        if v not in layer:
            layer[v] = 1 + max([depth(w) for w in graph[v]] or [0])
        return layer[v]

    for v in graph:
        depth(v)
    for n in range(1, max(layer.values()) + 1):
        print("layer %d: %s" % (n, " ".join(sorted(v for v in layer if layer[v] == n))))
    print("check-layers: %d files, no circle" % len(graph))
    return 0


if __name__ == "__main__":
    sys.exit(main())
