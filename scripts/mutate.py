#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mutate.py - test the tests: mutants of src/, and whether the checks kill them.

Each mutant changes one thing in one file of src/, mechanically:
  order     a memory order weakened to memory_order_relaxed
  compare   a comparison loosened or tightened (< <=, > >=, == !=)
  constant  an addition or subtraction of 1 made of 0
  call      a call dropped whose result nobody uses (a wake-up, a counter
            update, an unlock, a fault point, ...)
  jump      a continue or break dropped
  swap      two adjacent stores to shared words swapped

For each mutant the script writes the changed file into a scratch copy of
the tree (never the tree it is run from), rebuilds incrementally, and runs
the checks (--checks: quick is `make check`); a mutant is killed when a
check fails or runs past --timeout, survives when every check passes, and
is stillborn when it does not build (not counted). Mutants triaged as
equivalent (the change cannot be observed) are listed with the reason in
mutation/equivalent.txt, one per line: the mutant's id, then the reason;
they are run only with --all.

It writes summary.md (kill ratio overall, per operator and per file, and
every survivor with its diff), and mutants.json, into --out.

Examples:
  scripts/mutate.py --list                       # the mutants, with ids
  scripts/mutate.py --sample 10 --seed 1         # ten at random
  scripts/mutate.py --only-file src/wait.c --operators order,call
  scripts/mutate.py --full                       # every mutant (hours)
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
EQUIVALENT = os.path.join(TOP, "mutation", "equivalent.txt")
OPERATORS = ("order", "compare", "constant", "call", "jump", "swap")

# Calls that can be dropped and still compile: statements of their own,
# result unused. Dropping one is a plausible slip (a wake-up forgotten, a
# counter not updated, a lock not released, a check skipped).
DROPPABLE = re.compile(
    r"^\s*(?:\(void\)\s*)?((?:mapq__[a-z_]+|counted_wake|count|wake_[a-z_]+|"
    r"prefetch_for_write|lift|pass_readers|settle|free_dead_[a-z_]+|fix_cursors|"
    r"scrub_[a-z_]+|tally))\s*\(.*\);\s*$")
ORDER = re.compile(r"memory_order_(seq_cst|acq_rel|release|acquire)")
COMPARE = [(" < ", " <= "), (" <= ", " < "), (" > ", " >= "), (" >= ", " > "),
           (" == ", " != "), (" != ", " == ")]
CONSTANT = [(" + 1", " + 0"), (" - 1", " - 0")]
STORE = re.compile(r"^\s*mapq__store\(.*\);\s*$")


def say(msg):
    print("mutate: " + msg, file=sys.stderr, flush=True)


def code_lines(text):
    """(index, line) of the lines that are code, not comment or preprocessor."""
    in_comment = False
    for i, line in enumerate(text.split("\n")):
        s = line.strip()
        if in_comment:
            if "*/" in s:
                in_comment = False
            continue
        if s.startswith("/*") or s.startswith("*") or s.startswith("//"):
            if s.startswith("/*") and "*/" not in s:
                in_comment = True
            continue
        if s.startswith("#") or not s:
            continue
        yield i, line


def occurrences(line, needle):
    start = 0
    while True:
        k = line.find(needle, start)
        if k < 0:
            return
        yield k
        start = k + 1


def mutants_of(path):
    """Every mutant of one file: dicts with file, line (1-based), operator,
    the line before and after (or two lines, for a swap)."""
    rel = os.path.relpath(path, TOP)
    with open(path) as f:
        text = f.read()
    lines = text.split("\n")
    out = []

    def add(op, i, new, note, j=None):
        old = lines[i] if j is None else lines[i] + "\n" + lines[j]
        key = "%s:%d:%s:%s" % (rel, i + 1, op, new)
        mid = hashlib.sha1(key.encode()).hexdigest()[:10]
        out.append({"id": mid, "file": rel, "line": i + 1, "operator": op, "old": old,
                    "new": new, "note": note, "span": 1 if j is None else 2})

    code = list(code_lines(text))
    for i, line in code:
        for m in ORDER.finditer(line):
            new = line[:m.start()] + "memory_order_relaxed" + line[m.end():]
            add("order", i, new, "%s -> relaxed" % m.group(0))
        if "(" in line and ("if" in line or "while" in line or "for" in line or
                            "return" in line or "?" in line):
            for a, b in COMPARE:
                for k in occurrences(line, a):
                    add("compare", i, line[:k] + b + line[k + len(a):],
                        "'%s' -> '%s'" % (a.strip(), b.strip()))
        for a, b in CONSTANT:
            for k in occurrences(line, a):
                rest = line[k + len(a):]
                if rest[:1].isalnum() or rest[:1] in "._":
                    continue  # + 10, + 1u: another number or a name
                add("constant", i, line[:k] + b + rest, "'%s' -> '%s'" % (a.strip(), b.strip()))
        m = DROPPABLE.match(line)
        if m and not line.rstrip().endswith(",") and "return" not in line:
            indent = line[:len(line) - len(line.lstrip())]
            add("call", i, indent + "; /* mutant: %s dropped */" % m.group(1),
                "%s() dropped" % m.group(1))
        if line.strip() in ("continue;", "break;"):
            indent = line[:len(line) - len(line.lstrip())]
            add("jump", i, indent + ";", "%s dropped" % line.strip()[:-1])
    code_idx = [i for i, _ in code]
    for a, b in zip(code_idx, code_idx[1:]):
        if b == a + 1 and STORE.match(lines[a]) and STORE.match(lines[b]):
            add("swap", a, lines[b] + "\n" + lines[a], "two stores swapped", j=b)
    return out


def all_mutants(only_files, operators):
    src = os.path.join(TOP, "src")
    # not sim.c and fault.c: the simulator's hooks and the fault points,
    # built only into test builds
    files = sorted(os.path.join(src, f) for f in os.listdir(src)
                   if f.endswith(".c") and f not in ("sim.c", "fault.c"))
    if only_files:
        want = {os.path.normpath(os.path.join(TOP, f)) for f in only_files}
        missing = [f for f in only_files if os.path.normpath(os.path.join(TOP, f)) not in files]
        if missing:
            sys.exit("mutate: --only-file: not a C file of src/: %s" % ", ".join(missing))
        files = [f for f in files if f in want]
    out = []
    for f in files:
        out += [m for m in mutants_of(f) if m["operator"] in operators]
    return out


def load_equivalent():
    eq = {}
    if os.path.exists(EQUIVALENT):
        with open(EQUIVALENT) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split(None, 1)
                if len(parts) < 2:
                    sys.exit("mutate: %s:%d: an id and a reason, please" % (EQUIVALENT, n))
                eq[parts[0]] = parts[1]
    return eq


def apply(tree, m):
    path = os.path.join(tree, m["file"])
    with open(path) as f:
        lines = f.read().split("\n")
    i = m["line"] - 1
    lines[i:i + m["span"]] = m["new"].split("\n")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def restore(tree, m):
    shutil.copy2(os.path.join(TOP, m["file"]), os.path.join(tree, m["file"]))
    # a newer stamp than the mutant's, so make rebuilds the object
    now = time.time()
    os.utime(os.path.join(tree, m["file"]), (now, now))


def diff_of(m):
    old = m["old"].split("\n")
    new = m["new"].split("\n")
    return "\n".join(["--- a/%s:%d" % (m["file"], m["line"]), "+++ b/%s:%d" % (m["file"], m["line"])] +
                     ["-" + x for x in old] + ["+" + x for x in new])


def run(cmd, cwd, log, timeout=None, env=None):
    """Its exit status, or "timeout": then the whole process group is
    killed (make, the tests, and whatever a mutant left hanging)."""
    with open(log, "a") as f:
        f.write("$ %s\n" % " ".join(cmd))
        f.flush()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                             start_new_session=True, env=env)
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            f.write("(timed out after %s s)\n" % timeout)
            return "timeout"
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


CHECKS = {
    "quick": [["make", "-j2", "check"]],
    "full": [["make", "-j2", "check"], ["make", "check-faults", "FAULT_KILLS=100"]],
}


def table(rows, key):
    groups = {}
    for r in rows:
        g = groups.setdefault(r[key], {"killed": 0, "survived": 0})
        if r["result"] in g:
            g[r["result"]] += 1
    out = ["| %s | killed | survived | kill ratio |" % key, "|---|---:|---:|---:|"]
    for k in sorted(groups):
        g = groups[k]
        n = g["killed"] + g["survived"]
        out.append("| %s | %d | %d | %s |" % (k, g["killed"], g["survived"],
                                               "%.0f %%" % (100.0 * g["killed"] / n) if n else "-"))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--sample", type=int, help="run N mutants drawn at random (--seed)")
    ap.add_argument("--seed", type=int, default=1, help="the sample's seed (1)")
    ap.add_argument("--full", action="store_true", help="run every mutant")
    ap.add_argument("--all", action="store_true", help="equivalent mutants too")
    ap.add_argument("--only-file", action="append", help="a file of src/ (repeatable)")
    ap.add_argument("--operators", default=",".join(OPERATORS),
                    help="comma list of operators (%s)" % ",".join(OPERATORS))
    ap.add_argument("--checks", choices=sorted(CHECKS), default="quick",
                    help="quick: make check; full: plus check-faults (quick)")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds a mutant's checks may take: past it, killed (300)")
    ap.add_argument("--out", default="mutate-report", help="report directory (mutate-report)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch tree")
    ap.add_argument("--fail-on-survivor", action="store_true",
                    help="exit 1 if a mutant not triaged as equivalent survives (CI)")
    args = ap.parse_args()
    ops = [o for o in args.operators.split(",") if o]
    bad = [o for o in ops if o not in OPERATORS]
    if bad:
        sys.exit("mutate: --operators: unknown operator '%s' (%s)" % (bad[0], ", ".join(OPERATORS)))
    if args.sample is not None and args.sample < 1:
        sys.exit("mutate: --sample: at least 1")
    mutants = all_mutants(args.only_file, ops)
    eq = load_equivalent()
    if args.list:
        for m in mutants:
            print("%s  %-8s %s:%d  %s%s" % (m["id"], m["operator"], m["file"], m["line"], m["note"],
                                          "  (equivalent: %s)" % eq[m["id"]] if m["id"] in eq else ""))
        print("%d mutants (%d triaged as equivalent)" % (len(mutants),
                                                        sum(m["id"] in eq for m in mutants)),
              file=sys.stderr)
        return 0
    if not args.sample and not args.full:
        sys.exit("mutate: say --sample N, --full or --list (mutate.py --help)")
    pool = [m for m in mutants if args.all or m["id"] not in eq]
    if args.sample:
        pool = random.Random(args.seed).sample(pool, min(args.sample, len(pool)))
    if not pool:
        sys.exit("mutate: no mutants to run")
    os.makedirs(args.out, exist_ok=True)
    log = os.path.abspath(os.path.join(args.out, "run.log"))
    open(log, "w").close()
    scratch = tempfile.mkdtemp(prefix="mapq-mutate.")
    # the checks' own files: a test killed at the timeout leaves its
    # directory behind, cleared here after each mutant
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    tmp = tempfile.mkdtemp(prefix="mapq-mutate-run.", dir=shm)
    env = dict(os.environ, TMPDIR=tmp)
    results = []
    t0 = time.monotonic()
    try:
        say("copying the tree to %s and building it (log: %s)" % (scratch, log))
        files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=TOP,
                               capture_output=True, check=True).stdout.split(b"\0")
        for rel in files:
            rel = rel.decode()
            src = os.path.join(TOP, rel)
            if rel and os.path.isfile(src):
                os.makedirs(os.path.join(scratch, os.path.dirname(rel)), exist_ok=True)
                shutil.copy2(src, os.path.join(scratch, rel))
        bld = os.path.join(scratch, "_build")
        os.makedirs(bld)
        if (run(["./autogen.sh"], scratch, log) or
                run(["../configure", "--enable-fault-injection", "CFLAGS=-g -O2"], bld, log) or
                run(["make", "-j2"], bld, log)):
            sys.exit("mutate: the scratch tree does not build; see %s" % log)
        for n, m in enumerate(pool, 1):
            apply(scratch, m)
            t = time.monotonic()
            result = "stillborn"
            if run(["make", "-j2"], bld, log) == 0:
                result = "survived"
                for cmd in CHECKS[args.checks]:
                    rc = run(cmd, bld, log, timeout=args.timeout, env=env)
                    if rc != 0:
                        result = "killed"
                        break
            restore(scratch, m)
            for name in os.listdir(tmp):
                p = os.path.join(tmp, name)
                shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else os.unlink(p)
            r = dict(m, result=result, seconds=round(time.monotonic() - t, 1),
                     equivalent=eq.get(m["id"], ""))
            results.append(r)
            say("[%d/%d] %s %s %s:%d (%s): %s in %.0f s" % (
                n, len(pool), m["id"], m["operator"], m["file"], m["line"], m["note"], result,
                r["seconds"]))
    finally:
        if args.keep:
            say("scratch tree kept: " + scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    counted = [r for r in results if r["result"] != "stillborn"]
    killed = sum(r["result"] == "killed" for r in counted)
    survivors = [r for r in counted if r["result"] == "survived"]
    untriaged = [r for r in survivors if not r["equivalent"]]
    ratio = 100.0 * killed / len(counted) if counted else 0.0
    md = ["# Mutants of src/ and the checks (%s)" % args.checks, "",
          "%d mutants run in %.0f s: %d killed, %d survived (%d not triaged), %d stillborn; "
          "kill ratio %.1f %%." % (len(results), time.monotonic() - t0, killed, len(survivors),
                                   len(untriaged), len(results) - len(counted), ratio), "",
          "## Per operator", "", table(counted, "operator"), "",
          "## Per file", "", table(counted, "file"), "", "## Survivors", ""]
    for r in survivors:
        md += ["### %s (%s%s)" % (r["id"], r["note"],
                                  ", equivalent: " + r["equivalent"] if r["equivalent"] else ""),
               "", "```diff", diff_of(r), "```", ""]
    if not survivors:
        md.append("None.")
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(args.out, "mutants.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("mutate: %d run: %d killed, %d survived (%d not triaged), %d stillborn; kill ratio "
          "%.1f %%; report in %s" % (len(results), killed, len(survivors), len(untriaged),
                                     len(results) - len(counted), ratio,
                                     os.path.join(args.out, "summary.md")))
    for r in untriaged:
        print("  survived: %s %s:%d %s" % (r["id"], r["file"], r["line"], r["note"]))
    return 1 if args.fail_on_survivor and untriaged else 0


if __name__ == "__main__":
    sys.exit(main())
