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
the tests of `make check' one at a time, those that killed mutants of the
same file first, until one fails: then it runs that test once more, and
the mutant is killed only if it fails again (a test that failed once only
is reported as flaky, and the others still run). A test past its timeout
(four times its time on the unchanged tree, at least 30 s) has failed. A
mutant survives when every test passes, and is stillborn when it does not
build (not counted). The build has AddressSanitizer, UBSan and leak
checks on, and fault points. Memory-order mutants, which x86 hides from every
other test, are then also run under a ThreadSanitizer build of the scratch
tree (the tests of TSAN_TESTS). A mutant every test missed then meets
the deterministic simulator (a build configured with --enable-sim):
seeded mapq-sim campaigns (SIM_CHECKS) that judge lost wake-ups and
stuck queues, which the tests' polls hide, and, with store buffers
(--memory tso and weak) and loads that read older stores (--memory c11),
the weakened orders only atomics depend on (--no-sim leaves them out).
A mutant that one of those campaigns killed in the recorded campaign
(mutation/kills.tsv) meets that campaign first, before the tests, as a
test that killed a mutant is tried first: a kill is a kill, and CI's
sample then spends seconds, not minutes, on it.
Last, a mutant still alive meets Valgrind's memcheck, as CI's `make
check-valgrind-memcheck' runs it: the test programs that reach its line,
in the -O2 build (a read of memory never written, which no sanitizer
build here sees). --checks full adds `make check-faults'.

Before any test runs, the mutant is built as users build the library
(-O2): if its object code is the unchanged file's, no test can tell them
apart, and it is counted as equivalent without a run (a hook or fault
point only test builds define, a comparison the compiler proves
redundant); a memory-order mutant that x86 compiles alike still meets
ThreadSanitizer and the simulator, whose memory models can tell them
apart, and one they miss survives, to be triaged: ARM and POWER do not
compile it alike. With --select
reach (the default of --full) a coverage build first records which tests
run which lines; a mutant is then tried only against the tests that run
its line, and one that no test reaches survives at once, reported as
such: confirm survivors with --ids and --select all.

Mutants triaged as equivalent (the change cannot be observed) are listed
with the reason in mutation/equivalent.txt, one per line: the mutant's id,
then the reason; they are run only with --all. A reason that starts with
"unseen:" marks a real bug that no check on this machine can observe (a
memory order that x86 and ThreadSanitizer both hide: doc/format.md says
which and why); those still count against the kill ratio. --resume keeps the mutants
already killed in --out's mutants.json (same id, same change) and runs the
rest, so a long campaign can be done in pieces; without a report in --out
it takes up the kills recorded in mutation/kills.tsv (copy the report's
kills.tsv there to hand a campaign on).

It writes summary.md (kill ratio overall, per operator and per file, the
tests that killed most, and every survivor with its diff), mutants.json
and, with python3-matplotlib, kill-ratio.png (per file) into --out.

Examples:
  scripts/mutate.py --list                       # the mutants, with ids
  scripts/mutate.py --sample 10 --seed 1         # ten at random
  scripts/mutate.py --only-file src/wait.c --operators order,call
  scripts/mutate.py --full --resume              # every mutant (hours), in pieces
  scripts/mutate.py --report-only                # the report again, after triage
  make mutate                                    # the same, from a build directory
"""
import argparse
import hashlib
import json
import os
import random
import re
import shlex
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


def functions(lines):
    """The name of the function (or other top-level definition) each line
    is in: the last name before a "(" on the last line that starts at the
    left margin with a name, as this code's definitions do."""
    names, current = [], "-"
    for line in lines:
        if line[:1].isalpha() or line[:1] == "_":
            calls = [n for n in re.findall(r"(\w+)\s*\(", line) if n != "__attribute__"]
            if calls:
                current = calls[-1]
        names.append(current)
    return names


def mutants_of(path):
    """Every mutant of one file: dicts with file, line (1-based), function,
    operator, the line before and after (or two lines, for a swap)."""
    rel = os.path.relpath(path, TOP)
    with open(path) as f:
        text = f.read()
    lines = text.split("\n")
    fn = functions(lines)
    out = []
    seen = {}

    def add(op, i, new, note, j=None):
        old = lines[i] if j is None else lines[i] + "\n" + lines[j]
        # The id names the change and the function it is in, not the line
        # number, so that edits elsewhere leave it (and its triage) alone;
        # the same change made to identical lines of one function is told
        # apart by its rank there. (Ranked in the whole file, a `break;`
        # added to one function moved every later function's `break;`
        # mutant onto another's id, and its triage with it.)
        key = "%s:%s:%s:%s:%s" % (rel, fn[i], op, old.strip(), new.strip())
        seen[key] = seen.get(key, 0) + 1
        mid = hashlib.sha1(("%s:%d" % (key, seen[key])).encode()).hexdigest()[:10]
        out.append({"id": mid, "file": rel, "line": i + 1, "function": fn[i], "operator": op,
                    "old": old, "new": new, "note": note, "span": 1 if j is None else 2})

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
    # built only into test builds; not os_win32.c, the Windows build's
    # platform layer, which the tests run here never build. The headers
    # too: their static inline functions are code of every file that
    # includes them.
    files = sorted(os.path.join(src, f) for f in os.listdir(src)
                   if f.endswith((".c", ".h")) and
                   f not in ("sim.c", "fault.c", "sim.h", "fault.h", "os_win32.c"))
    if only_files:
        want = {os.path.normpath(os.path.join(TOP, f)) for f in only_files}
        missing = [f for f in only_files if os.path.normpath(os.path.join(TOP, f)) not in files]
        if missing:
            sys.exit("mutate: --only-file: not a C file or header of src/: %s" %
                     ", ".join(missing))
        files = [f for f in files if f in want]
    out = []
    for f in files:
        out += [m for m in mutants_of(f) if m["operator"] in operators]
    return out


def check_triage(mutants, eq, complete):
    """A triage whose reason names a function ("src/x.c f(): ...") must be
    of a mutant in that function: else it has come to name another mutant
    (its id moved) and would keep that one from being run. Stop there.
    With @complete (every file and operator listed), name the triaged ids
    that no mutant has any more."""
    wrong = []
    for m in mutants:
        why = eq.get(m["id"], "")
        named = re.search(r"src/\w+\.c (\w+)\(\)", why)
        if named and named.group(1) != m["function"]:
            wrong.append("%s (%s:%d, in %s): %s" % (m["id"], m["file"], m["line"],
                                                   m["function"], why[:100]))
    if wrong:
        sys.exit("mutate: %s: triage of a mutant in another function than its reason "
                 "names (fix the id or the reason):\n  %s" % (EQUIVALENT, "\n  ".join(wrong)))
    if complete:
        gone = sorted(set(eq) - {m["id"] for m in mutants})
        if gone:
            say("%s triages %d mutant(s) that no longer exist (their lines changed): %s; "
                "remove them" % (os.path.relpath(EQUIVALENT, TOP), len(gone), ", ".join(gone)))


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


SAME_CODE = "same code: it builds to the same object code as the unchanged file (-O2)"

# Tests that see memory orders: threads of one process sharing a mapping,
# the only place ThreadSanitizer can follow the protocol (tests/threads.c).
TSAN_TESTS = ["tests/threads", "tests/dup"]
FLAKY = "flaky"

# The deterministic simulator's campaigns, for a mutant every test missed
# (doc/simulation.md): lost wake-ups and stuck queues, which polls hide
# from the tests, and, with store buffers (--memory), weakened orders that
# only atomics depend on. Each is seeded: one mutant, one verdict.
SIM_CHECKS = [
    ("sim-weak", ["--memory", "weak", "-k", "0", "-n", "3000"]),
    ("sim-weak-deaths", ["--memory", "weak", "-n", "4000"]),
    ("sim-tso", ["--memory", "tso", "-k", "0", "-w", "2", "-r", "2", "-n", "2000"]),
    # a platform without membarrier (Windows): the commit's full fence
    ("sim-weak-full-fences", ["--memory", "weak", "-k", "0", "--full-fences", "-n", "3000"]),
    ("sim-stalls", ["-w", "3", "-r", "2", "-k", "2", "--stalls", "1", "-n", "1500"]),
    ("sim-overwrite", ["-w", "2", "-r", "2", "-k", "2", "--stalls", "1", "--max-size", "1024",
                       "-m", "24", "--overwrite", "-n", "2000"]),
    ("sim-weak-stalls", ["--memory", "weak", "-w", "3", "-r", "2", "-k", "2", "--stalls", "1",
                         "-n", "1500"]),
    ("sim-crashes", ["-w", "2", "-r", "2", "-k", "1", "--stalls", "1", "--crashes", "2",
                     "-n", "2000"]),
    ("sim-short-unblock", ["--unblock-ms", "1", "--stall-ms", "5", "-w", "3", "-r", "1",
                           "--stalls", "3", "-k", "0", "-n", "3000"]),
    # stalls past a short unblock timeout under store buffers: met a lost
    # message once (sim/regress.txt, mark-skipped-busy-record)
    ("sim-weak-short-unblock", ["--memory", "weak", "--unblock-ms", "5", "-w", "2", "-r", "1",
                                "-k", "2", "--stalls", "1", "-n", "3000"]),
    # four writers: a repairer reads records while others reserve (the
    # tail CAS weakened, c23d093f2d: a reservation past tail with no
    # record yet, a message lost at schedule 14 516 of seed 1)
    ("sim-weak-four-writers", ["--memory", "weak", "-w", "4", "-r", "1", "-k", "2",
                               "--stalls", "2", "--unblock-ms", "5", "-n", "16000"]),
    # a writer's payload and header wait in the store buffers too: the
    # release of pos seen publishing them
    ("sim-weak-plain", ["--memory", "weak", "--plain-stores", "-w", "3", "-r", "2", "-k", "2",
                        "--stalls", "1", "-n", "1500"]),
    ("sim-reattach", ["--reattach", "--memory", "weak", "-w", "3", "-r", "2", "-k", "2",
                      "--stalls", "1", "-n", "2000"]),
    # readers joining at the oldest message while writers move head
    ("sim-rejoin-weak", ["--ephemeral", "--rejoin-oldest", "--reattach", "--memory", "weak",
                         "-w", "3", "-r", "2", "-k", "1", "-m", "32", "-n", "1500"]),
    ("sim-power", ["-w", "2", "-r", "2", "-k", "1", "--stalls", "1", "--power-cuts", "2",
                   "--capacity", "16384", "-m", "24", "-n", "800"]),
    ("sim-power-laps", ["-w", "2", "-r", "2", "-k", "1", "--power-cuts", "2",
                        "--capacity", "16384", "-m", "100", "-n", "1000"]),
    # stale loads after power cuts: every process comes back knowing only
    # what it reads and locks, so a joiner's loads may miss a head mover's
    # intent that nothing ordered before them (0ef558d36e, at schedule
    # 4220: a data race on the frame it then read)
    ("sim-c11-power", ["--memory", "c11", "-w", "2", "-r", "2", "-k", "1", "--stalls", "1",
                       "--power-cuts", "2", "--capacity", "16384", "-m", "24", "-n", "6000"]),
    # loads that read older stores: overwrite-mode readers' seqlocks
    ("sim-c11-overwrite", ["--memory", "c11", "-w", "2", "-r", "2", "-k", "2", "--stalls", "1",
                           "--max-size", "1024", "-m", "24", "--overwrite", "-n", "3000"]),
    ("sim-c11-lapped", ["--memory", "c11", "-w", "1", "-r", "2", "-k", "0", "--max-size", "1024",
                        "-m", "24", "--overwrite", "-n", "12000"]),
    # a lapped reader back from a stall advances while four writers push
    # it and race to move head: the happens-before check of the frames'
    # bytes sees a writer's failed CAS (of a cursor, of head) or re-read
    # of head that did not acquire the reader's release (load buffering)
    ("sim-c11-lapped-stalls", ["--memory", "c11", "--strategy", "random", "-w", "4", "-r", "1",
                               "-k", "0", "--stalls", "4", "--stall-ms", "1", "--max-size",
                               "1024", "-m", "24", "--overwrite", "-n", "6000"]),
    # readers that close and come back: a writer that finds a closed
    # reader's slot free must happen after the reads it released (the
    # close's store of FREE weakened, bf8aa82b6a: a data race at
    # schedule 272); and durable ones that drop their names as they
    # close (the drop's store, 8088e9bac3: at schedule 1241)
    ("sim-c11-reattach", ["--memory", "c11", "--strategy", "pct", "--ephemeral", "--reattach",
                          "-w", "1", "-r", "2", "-k", "0", "-m", "40", "-n", "4000"]),
    ("sim-c11-drop", ["--memory", "c11", "--strategy", "pct", "--reattach", "--drop", "-w", "1",
                      "-r", "1", "-k", "0", "-m", "40", "-n", "6000"]),
    # a repairer, or a mapq_sync(), looks at a frame while the ring laps
    # it: head must be read after the frame's word, or a later lap's word
    # or bytes pass for this lap's hole or a corrupt frame (the word's
    # acquire weakened: published(), cbdfa2794b, a message lost at
    # schedule 61 of writers abandoning forsaken frames; wait_finished(),
    # c542320b0c, mapq_sync's MAPQ_ECORRUPT at schedule 970)
    ("sim-c11-abandon-laps", ["--memory", "c11", "--strategy", "pct", "-w", "3", "-r", "1", "-k",
                              "0", "--stalls", "6", "--stall-ms", "2", "--unblock-ms", "1",
                              "--max-size", "1024", "-m", "32", "-n", "2000"]),
    # the writer alone (one writer slot) stalled past a short unblock
    # timeout: its record must be seen with the tail it stores (the
    # store's release weakened, b0d07931aa: two messages lost at
    # schedule 40)
    ("sim-weak-alone", ["--memory", "weak", "--alone", "-w", "1", "-r", "2", "-k", "2",
                        "--stalls", "2", "--unblock-ms", "1", "-n", "3000"]),
    ("sim-c11-sync-stalls", ["--memory", "c11", "-w", "3", "-r", "1", "-k", "0", "--stalls", "3",
                             "--stall-ms", "5", "--unblock-ms", "1", "--power-cuts", "1",
                             "--capacity", "16384", "-m", "100", "-n", "1200"]),
]
SIM_TIMEOUT = 120
# Tests of the repository's own files, not of the library's behaviour.
NOT_CHECKS = {"tests/bug_patches.sh", "tests/scripts.sh", "tests/version.sh"}
# Tests that sanitizer builds skip (they run the library under qemu-user,
# which cannot map a sanitizer's shadow memory): run in the -O2 build of
# SameCode, the library as users build it, on a mutant the others missed.
PLAIN_CHECKS = ["tests/no_sse42.sh"]
# Valgrind's memcheck as tests/local.mk runs it (check-valgrind-memcheck)
MEMCHECK = ["-q", "--error-exitcode=1", "--trace-children=yes", "--vgdb=no", "--tool=memcheck",
            "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect"]
MEMCHECK_TIMEOUT = 600


class Suite:
    """The tests of one build directory, run one at a time."""

    def __init__(self, tree, bld, log, env, wrap=None):
        self.tree, self.bld, self.log, self.env = tree, bld, log, env
        self.wrap = wrap or []  # a command the test programs run under
        out = subprocess.run(["make", "-s", "list-tests"], cwd=bld, capture_output=True, text=True)
        # tests/bug_patches.sh checks that sim/bugs/'s patches still apply:
        # any change near their lines fails it, whatever it does
        self.tests = [t for t in out.stdout.split() if "/" in t and t not in NOT_CHECKS]
        if out.returncode or not self.tests:
            sys.exit("mutate: `make list-tests' failed in %s" % bld)
        self.seconds = {}
        self.built = set()

    def build(self):
        """The library, for a new mutant (False: it does not compile).
        Each test is linked only when it is about to run: a mutant that
        the first test kills costs one link, not forty."""
        self.built = set()
        return run(["make", "-j2", "libmapq_core.la", "libmapq.la"], self.bld, self.log) == 0

    def build_for(self, t):
        if t.endswith(".sh"):  # scripts run the programs and tools: build them all
            # check builds all first: naming both lets the two
            # sub-makes compile the same object at once (a race that
            # failed the build now and then)
            target = ["-j2", "check", "TESTS="]
            key = "all"
        else:
            target, key = [t], t
        if key in self.built or "all" in self.built:
            return True
        self.built.add(key)
        return run(["make"] + target, self.bld, self.log) == 0

    def run_test(self, t, timeout):
        if not self.build_for(t):
            return "build failed", 0.0
        path = os.path.join(self.bld, t)
        if not os.path.exists(path):
            path = os.path.join(self.tree, t)
        cmd = [os.environ.get("SHELL", "/bin/sh"), path] if t.endswith(".sh") else \
            self.wrap + [path]
        env = dict(self.env, top_builddir=".", top_srcdir=self.tree,
                   TSAN_OPTIONS="suppressions=%s history_size=7 %s" % (
                       os.path.join(self.tree, "tests", "tsan.supp"),
                       self.env.get("TSAN_OPTIONS", "")),
                   UBSAN_OPTIONS="print_stacktrace=1")
        t0 = time.monotonic()
        rc = run(cmd, self.bld, self.log, timeout=timeout, env=env)
        return rc, time.monotonic() - t0

    def timeout(self, t):
        return max(30.0, 4 * self.seconds.get(t, 30.0))

    def baseline(self, tests):
        """Every test must pass on the unchanged tree; their times."""
        for t in tests:
            rc, secs = self.run_test(t, 900)
            if rc not in (0, 77):
                sys.exit("mutate: %s fails on the unchanged tree (exit %s): fix that first; "
                         "see %s" % (t, rc, self.log))
            self.seconds[t] = secs

    def hunt_named(self, tests, prefix, flaky):
        """Rebuild for the mutant, then hunt(@tests): the killer as
        "@prefix:test" (or "@prefix build"), None if none; the tests that
        failed once only are added to @flaky, named so too."""
        if not self.build():
            return prefix + " build"
        killer, once = self.hunt(tests)
        flaky += [prefix + ":" + x for x in once]
        return prefix + ":" + killer if killer else None

    def hunt(self, tests):
        """Run @tests in order until one fails twice: (killer, flaky)."""
        flaky = []
        for t in tests:
            rc, _ = self.run_test(t, self.timeout(t))
            if rc in (0, 77):
                continue
            rc2, _ = self.run_test(t, self.timeout(t))
            if rc2 in (0, 77):
                flaky.append(t)
                continue
            return t, flaky
        return None, flaky


class Sim:
    """The simulator of a build configured with --enable-sim, over SIM_CHECKS."""

    def __init__(self, scratch, log, env, tmp):
        self.scratch, self.bld = scratch, None
        self.log, self.env, self.tmp = log, env, tmp

    def build(self):
        """Configured at the first build: a sample whose mutants the
        tests all kill never needs it."""
        if self.bld is None:
            say("a simulation build: mapq-sim's campaigns for what the tests miss")
            self.bld = configure(self.scratch, "_sim", ["--enable-sim", "CFLAGS=-g -O2"],
                                 self.log)
        return run(["make", "-j2", "sim/mapq-sim"], self.bld, self.log) == 0

    def check(self, name, extra):
        """The campaign's exit status (1: a schedule failed; 3: one crashed;
        "timeout" past SIM_TIMEOUT, which a spinning mutant reaches)."""
        d = tempfile.mkdtemp(prefix="sim.", dir=self.tmp)
        try:
            return run([os.path.join(self.bld, "sim", "mapq-sim"), "--dir", d, "-q",
                        "--seed", "1"] + extra, self.bld, self.log, timeout=SIM_TIMEOUT,
                       env=self.env)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def checks(self):
        """The regression seeds first (one schedule each, milliseconds: a
        mutant that puts back a bug the simulator once found fails its
        seed), then the campaigns."""
        seeds = []
        with open(os.path.join(TOP, "sim", "regress.txt")) as f:
            for line in f:
                if line.startswith("#") or ":" not in line:
                    continue
                name, args = line.split(":", 1)
                seeds.append(("sim-regress:" + name.strip(), shlex.split(args)))
        return seeds + SIM_CHECKS

    def baseline(self):
        for name, extra in self.checks():
            rc = self.check(name, extra)
            if rc != 0:
                sys.exit("mutate: the simulator's %s fails on the unchanged tree "
                         "(exit %s): fix that first; see %s" % (name, rc, self.log))

    def hunt(self, first=None):
        """The first check that fails; @first, the one that killed the
        mutant in the recorded campaign, is tried before the others."""
        for name, extra in sorted(self.checks(), key=lambda c: c[0] != first):
            if self.check(name, extra) != 0:
                return name
        return None

    def hunt_one(self, name):
        """Only the check @name: @name if it fails, else None."""
        for n, extra in self.checks():
            if n == name:
                return name if self.check(n, extra) != 0 else None
        return None


def ordering(m):
    """A mutant of a memory order: one weakened, or a fence dropped."""
    return m["operator"] == "order" or (m["operator"] == "call" and "mapq__fence" in m["old"])


class SameCode:
    """Is a mutant's object code the unchanged file's, as users build the
    library (configure's defaults, -O2)? Then no test can tell them apart:
    the mutant is equivalent by construction (a hook or fault point that
    only test builds define, a comparison the compiler proves redundant),
    and is not run. Sanitizer builds cannot answer this: their check data
    hold source columns, which a mutant moves."""

    def __init__(self, scratch, log):
        self.log = log
        self.bld = configure(scratch, "_same", ["CFLAGS=-O2"], log)
        self.digest = {}

    def objects(self, rel):
        if rel.endswith(".h"):  # in every object of the library that includes it
            objs = os.path.join(self.bld, "src", ".libs")
            return sorted(os.path.join(objs, f) for f in os.listdir(objs) if f.endswith(".o"))
        stem = os.path.splitext(os.path.basename(rel))[0]
        return [p for p in (os.path.join(self.bld, "src", ".libs", stem + ".o"),
                            os.path.join(self.bld, "src", stem + ".o")) if os.path.exists(p)]

    def hash(self, rel):
        stem = os.path.splitext(os.path.basename(rel))[0]
        target = "libmapq.la" if rel.endswith(".h") else "src/%s.lo" % stem
        if run(["make", target], self.bld, self.log) != 0:
            return None
        h = hashlib.sha1()
        for p in self.objects(rel):
            with open(p, "rb") as f:
                h.update(f.read())
        return h.hexdigest()

    def same(self, m):
        """True if @m (applied to the tree now) builds to the same objects."""
        if m["file"] not in self.digest:
            return False  # the unchanged file's digest is taken first, in main()
        return self.hash(m["file"]) == self.digest[m["file"]]


class Reach:
    """Which tests run which lines of src/: a coverage build of the scratch
    tree (gcov; processes about to be killed flush their counters, see
    MAPQ_COVERAGE), each test run alone in it once. A test that does not
    run a line cannot see a change to it, so a mutant is tried only
    against the tests that reach its line, and one whose line no test
    reaches survives at once. A line gcov keeps no record of (a statement's
    second line, a macro) is tried against every test."""

    def __init__(self, scratch, tests, log, env):
        self.suite = Suite(scratch, configure(scratch, "_cov", [
            "--enable-code-coverage", "--enable-fault-injection", "CFLAGS=-g -O0"], log),
            log, env)
        if not self.suite.build_for("tests/all.sh"):
            sys.exit("mutate: the coverage build's tests do not build; see %s" % log)
        self.tree = scratch
        self.runs = {}    # (file, line) -> tests that ran it
        self.known = set()  # (file, line) that gcov has a record of
        self.failed = []
        objs = os.path.join(self.suite.bld, "src", ".libs")
        for n, t in enumerate(tests, 1):
            for dirpath, _, names in os.walk(self.suite.bld):
                for name in names:
                    if name.endswith(".gcda"):
                        os.unlink(os.path.join(dirpath, name))
            rc, secs = self.suite.run_test(t, 900)
            if rc not in (0, 77):
                self.failed.append(t)
            gcda = sorted(f for f in os.listdir(objs) if f.endswith(".gcda"))
            out = subprocess.run(["gcov", "--json-format", "--stdout"] + gcda, cwd=objs,
                                 capture_output=True, text=True).stdout if gcda else ""
            for doc in out.splitlines():
                if not doc.strip():
                    continue
                for f in json.loads(doc)["files"]:
                    # as the compiler was given it, relative to where it ran
                    parts = os.path.normpath(f["file"]).split(os.sep)
                    if len(parts) < 2 or parts[-2] != "src":
                        continue
                    rel = "src/" + parts[-1]
                    for ln in f["lines"]:
                        key = (rel, ln["line_number"])
                        self.known.add(key)
                        if ln["count"] > 0:
                            self.runs.setdefault(key, set()).add(t)
            say("coverage [%d/%d] %s: %.0f s%s" % (n, len(tests), t, secs,
                                                   "" if rc in (0, 77) else " (failed: %s)" % rc))
        if self.failed:
            say("these tests fail in the coverage build, so what they reach may be "
                "undercounted: " + ", ".join(self.failed))

    def tests_for(self, m):
        """The tests that run @m's line(s), or None: not known, try them all."""
        lines = [(m["file"], m["line"] + k) for k in range(m["span"])]
        if not any(x in self.known for x in lines):
            return None
        return set().union(*(self.runs.get(x, set()) for x in lines))


def is_equivalent(r):
    """Triaged as equivalent proper (not "unseen:", a real bug no check here sees)."""
    return bool(r["result"] == "survived" and r["equivalent"] and
                not r["equivalent"].startswith("unseen:"))


def table(rows, key):
    """Kills per @key; the ratio leaves out the equivalent mutants only."""
    groups = {}
    for r in rows:
        g = groups.setdefault(r[key], {"killed": 0, "survived": 0, "equivalent": 0})
        if is_equivalent(r):
            g["equivalent"] += 1
        elif r["result"] in g:
            g[r["result"]] += 1
    out = ["| %s | killed | survived | equivalent | kill ratio |" % key,
           "|---|---:|---:|---:|---:|"]
    for k in sorted(groups):
        g = groups[k]
        n = g["killed"] + g["survived"]
        out.append("| %s | %d | %d | %d | %s |" % (
            k, g["killed"], g["survived"], g["equivalent"],
            "%.0f %%" % (100.0 * g["killed"] / n) if n else "-"))
    return "\n".join(out)


def plot(counted, path, checks):
    """Kill ratio per file, as bars; False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    counted = [r for r in counted if not is_equivalent(r)]
    files = sorted({r["file"] for r in counted})
    ratio = [100.0 * sum(r["result"] == "killed" for r in counted if r["file"] == f) /
             max(1, sum(r["file"] == f for r in counted)) for f in files]
    n = [sum(r["file"] == f for r in counted) for f in files]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(files) + 1.2))
    ax.barh([os.path.basename(f) for f in files], ratio, color="#4c72b0")
    ax.axvline(95, color="#c44e52", linestyle="--", linewidth=1, label="target 95 %")
    for y, (r, k) in enumerate(zip(ratio, n)):
        ax.text(min(r, 100) + 0.5, y, "%.0f %% of %d" % (r, k), va="center", fontsize=8)
    ax.set_xlim(0, 115)
    ax.set_xlabel("mutants killed (%)")
    ax.set_title("Mutants of src/ killed by the checks (%s), per file" % checks)
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


CAMPAIGN = os.path.join(TOP, "mutation", "kills.tsv")


def load_previous(out):
    """The mutants an earlier run killed: --out's mutants.json, else the
    kills recorded in mutation/kills.tsv (a campaign taken up on another
    machine). An id hashes the change itself, so a recorded kill stands
    for the same change only."""
    try:
        with open(os.path.join(out, "mutants.json")) as f:
            return {r["id"]: r for r in json.load(f)}
    except (OSError, ValueError):
        pass
    current = {m["id"]: m for m in all_mutants(None, OPERATORS)}
    return {mid: dict(current[mid], result="killed", killer=killer, flaky=[], seconds=0.0,
                      reached=None)
            for mid, killer in recorded_killers().items() if mid in current}


def recorded_killers():
    """Mutant id -> the check that killed it, as mutation/kills.tsv
    records."""
    out = {}
    try:
        with open(CAMPAIGN) as f:
            for line in f:
                if not line.startswith("#") and line.strip():
                    mid, killer = line.rstrip("\n").split("\t")[:2]
                    out[mid] = killer
    except OSError:
        pass
    return out


def recorded(previous, ran, eq):
    """The results of an earlier run for mutants not in @ran that still
    exist unchanged, each triaged as equivalent.txt says now."""
    current = {m["id"]: m for m in all_mutants(None, OPERATORS)}
    out = []
    for mid, r in previous.items():
        m = current.get(mid)
        if mid not in ran and m and r["old"] == m["old"] and r["new"] == m["new"]:
            # a memory order x86 builds alike is no equivalent (see run())
            kept = r["equivalent"] if r.get("equivalent") == SAME_CODE and not ordering(r) else ""
            out.append(dict(r, equivalent=eq.get(mid, kept), resumed=True))
    return out


def triaged_rows(results, eq):
    """For a report of every mutant: the triaged ones that @results do not
    hold (a campaign does not run them), as the survivors they are, so
    that the ratio counts those triaged real but unseen. None unless
    @results hold every mutant not triaged (a full campaign)."""
    have = {r["id"] for r in results}
    every = all_mutants(None, OPERATORS)
    if any(m["id"] not in eq and m["id"] not in have for m in every):
        return []
    return [dict(m, result="survived", killer=None, flaky=[], seconds=0, equivalent=eq[m["id"]],
                 reached=None, triaged_only=True)
            for m in every if m["id"] in eq and m["id"] not in have]


def write_kills(path, results):
    with open(path, "w") as f:
        f.write("# mutation/kills.tsv - mutants of src/ killed in mutate.py campaigns, and\n"
                "# the check that killed each: what `mutate.py --resume' takes up from\n"
                "# when there is no report of an earlier run. Written by mutate.py (the\n"
                "# kills.tsv of its report).\n")
        for r in sorted(results, key=lambda r: (r["file"], r["line"], r["id"])):
            if r["result"] == "killed":
                f.write("%s\t%s\t%s:%d\n" % (r["id"], r["killer"], r["file"], r["line"]))


def copy_tree(scratch):
    files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=TOP,
                           capture_output=True, check=True).stdout.split(b"\0")
    for rel in files:
        rel = rel.decode()
        src = os.path.join(TOP, rel)
        if rel and os.path.isfile(src):
            os.makedirs(os.path.join(scratch, os.path.dirname(rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(scratch, rel))


def configure(scratch, name, flags, log):
    """A build directory of the scratch tree, configured: what each check
    needs is built when it needs it (Suite.build(), build_for())."""
    bld = os.path.join(scratch, name)
    os.makedirs(bld)
    if run(["../configure"] + flags, bld, log):
        sys.exit("mutate: the scratch tree does not configure (%s); see %s" % (" ".join(flags),
                                                                             log))
    return bld


def reached_text(n):
    if n is None:
        return ""  # every test was run
    return ", reached by no test" if n == 0 else ", reached by %d test%s, run alone" % (
        n, "" if n == 1 else "s")


def report(args, results, t0):
    counted = [r for r in results if r["result"] != "stillborn"]
    killed = sum(r["result"] == "killed" for r in counted)
    survivors = [r for r in counted if r["result"] == "survived"]
    untriaged = [r for r in survivors if not r["equivalent"]]
    equivalent = sum(is_equivalent(r) for r in survivors)
    unseen = len(survivors) - len(untriaged) - equivalent
    live = len(counted) - equivalent
    ratio = 100.0 * killed / live if live else 0.0
    killers = {}
    for r in counted:
        if r.get("killer"):
            killers[r["killer"]] = killers.get(r["killer"], 0) + 1
    md = ["# Mutants of src/ and the checks (%s)" % args.checks, "",
          "%d mutants in %.0f s: %d killed, %d survived (%d triaged as equivalent, %d as real "
          "but unseen by any check here, %d not triaged), %d stillborn; kill ratio of the "
          "non-equivalent mutants %.1f %% (%d of %d)." % (
              len(results), time.monotonic() - t0, killed, len(survivors), equivalent, unseen,
              len(untriaged), len(results) - len(counted), ratio, killed, live), "",
          "Of the equivalent ones, %d build to the same object code as the unchanged file "
          "(found by the script); the others are triaged in mutation/equivalent.txt." % sum(
              r["equivalent"] == SAME_CODE for r in survivors), "",
          "## Per operator", "", table(counted, "operator"), "",
          "## Per file", "", table(counted, "file"), "",
          "## What killed them", "", "| check | mutants killed |", "|---|---:|"]
    md += ["| %s | %d |" % (k, n) for k, n in sorted(killers.items(), key=lambda x: -x[1])]
    flaky = sorted({t for r in results for t in r.get("flaky", [])})
    if flaky:
        md += ["", "Failed once and passed when run again (not counted as kills): " +
               ", ".join(flaky) + "."]
    md += ["", "## Survivors", ""]
    for r in survivors:
        md += ["### %s %s:%d (%s%s%s)" % (r["id"], r["file"], r["line"], r["note"],
                                          reached_text(r.get("reached")),
                                          ", triaged: " + r["equivalent"] if r["equivalent"] else ""),
               "", "```diff", diff_of(r), "```", ""]
    if not survivors:
        md.append("None.")
    if plot(counted, os.path.join(args.out, "kill-ratio.png"), args.checks):
        md += ["", "![kill ratio per file](kill-ratio.png)"]
    else:
        md += ["", "No plot: matplotlib is not importable by %s (on Debian: apt-get install "
               "python3-matplotlib, for /usr/bin/python3)." % sys.executable]
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(args.out, "mutants.json"), "w") as f:
        json.dump(results, f, indent=2)
    write_kills(os.path.join(args.out, "kills.tsv"), results)
    print("mutate: %d mutants: %d killed, %d survived (%d not triaged), %d stillborn; kill ratio "
          "%.1f %%; report in %s" % (len(results), killed, len(survivors), len(untriaged),
                                     len(results) - len(counted), ratio,
                                     os.path.join(args.out, "summary.md")))
    for r in untriaged:
        print("  survived: %s %s:%d %s" % (r["id"], r["file"], r["line"], r["note"]))
    return untriaged


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
    ap.add_argument("--ids", help="comma list of mutant ids (from --list) to run")
    ap.add_argument("--operators", default=",".join(OPERATORS),
                    help="comma list of operators (%s)" % ",".join(OPERATORS))
    ap.add_argument("--checks", choices=("quick", "full", "tsan"), default="quick",
                    help="quick: the tests of make check (and TSan's for memory orders); "
                    "full: plus check-faults; tsan: memory-order mutants under TSan only, "
                    "to see which it catches (quick)")
    ap.add_argument("--select", choices=("reach", "all"),
                    help="reach: try each mutant only against the tests that run its line "
                    "(found once, in a coverage build; a mutant no test reaches survives "
                    "at once); all: against every test. Default: reach with --full, all "
                    "otherwise")
    ap.add_argument("--no-baseline", action="store_true",
                    help="do not run the tests on the unchanged tree first (CI, which just "
                    "did): every test then gets 60 s, far past any test's time on the unchanged tree")
    ap.add_argument("--no-sim", action="store_true",
                    help="do not run the simulator's campaigns (SIM_CHECKS) on a mutant the "
                    "tests missed")
    ap.add_argument("--resume", action="store_true",
                    help="keep the kills recorded in --out/mutants.json, and report on "
                    "every mutant recorded there, not only on those run now")
    ap.add_argument("--out", default="mutate-report", help="report directory (mutate-report)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch tree")
    ap.add_argument("--report-only", action="store_true",
                    help="run nothing: write --out's report again from its mutants.json, "
                    "with the triage of mutation/equivalent.txt as it is now")
    ap.add_argument("--fail-on-survivor", action="store_true",
                    help="exit 1 if a mutant not triaged as equivalent survives (CI)")
    args = ap.parse_args()
    ops = [o for o in args.operators.split(",") if o]
    bad = [o for o in ops if o not in OPERATORS]
    if bad:
        sys.exit("mutate: --operators: unknown operator '%s' (%s)" % (bad[0], ", ".join(OPERATORS)))
    if args.sample is not None and args.sample < 1:
        sys.exit("mutate: --sample: at least 1")
    if args.checks == "tsan":
        if ops != ["order"]:
            sys.exit("mutate: --checks tsan is for memory-order mutants: add --operators order")
        if args.resume:
            sys.exit("mutate: --checks tsan runs TSan alone: its survivors are not survivors "
                     "of the campaign; give it an --out of its own, without --resume")
    if args.select is None:
        args.select = "reach" if args.full else "all"
    eq = load_equivalent()
    if args.report_only:
        try:
            with open(os.path.join(args.out, "mutants.json")) as f:
                previous = {r["id"]: r for r in json.load(f)}
        except (OSError, ValueError) as e:
            sys.exit("mutate: --report-only: no report to write again in %s (%s)" % (args.out, e))
        results = recorded(previous, set(), eq)
        results += triaged_rows(results, eq)
        untriaged = report(args, results,
                           time.monotonic() - sum(r.get("seconds", 0) for r in results))
        return 1 if args.fail_on_survivor and untriaged else 0
    mutants = all_mutants(args.only_file, ops)
    check_triage(mutants, eq, not args.only_file and set(ops) == set(OPERATORS))
    if args.list:
        for m in mutants:
            print("%s  %-8s %s:%d  %s%s" % (m["id"], m["operator"], m["file"], m["line"], m["note"],
                                          "  (equivalent: %s)" % eq[m["id"]] if m["id"] in eq else ""))
        print("%d mutants (%d triaged as equivalent)" % (len(mutants),
                                                        sum(m["id"] in eq for m in mutants)),
              file=sys.stderr)
        return 0
    if args.ids:
        want = set(args.ids.split(","))
        unknown = want - {m["id"] for m in mutants}
        if unknown:
            sys.exit("mutate: --ids: no such mutant: %s (mutate.py --list)" % ", ".join(sorted(unknown)))
        mutants = [m for m in mutants if m["id"] in want]
        args.all = True
    elif not args.sample and not args.full:
        sys.exit("mutate: say --sample N, --full, --ids or --list (mutate.py --help)")
    if args.sample:
        # drawn from every mutant, triaged or not, so that a triage does
        # not change which ones a seed draws; the triaged ones are skipped
        mutants = random.Random(args.seed).sample(mutants, min(args.sample, len(mutants)))
        skipped = [m for m in mutants if m["id"] in eq and not args.all]
        for m in skipped:
            say("%s %s %s:%d (%s): triaged, not run: %s" % (m["id"], m["operator"], m["file"],
                                                           m["line"], m["note"], eq[m["id"]]))
    pool = [m for m in mutants if args.all or m["id"] not in eq]
    if not pool:
        sys.exit("mutate: no mutants to run")
    os.makedirs(args.out, exist_ok=True)
    previous = load_previous(args.out) if args.resume else {}
    log = os.path.abspath(os.path.join(args.out, "run.log"))
    open(log, "w").close()
    scratch = tempfile.mkdtemp(prefix="mapq-mutate.")
    # the checks' own files: a test killed at its timeout leaves its
    # directory behind, cleared here after each mutant
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    tmp = tempfile.mkdtemp(prefix="mapq-mutate-run.", dir=shm)
    env = dict(os.environ, TMPDIR=tmp)
    results = []
    t0 = time.monotonic()
    interrupted = False
    # kill(1) as well as ^C: stop the checks, clean up, and write the report
    signal.signal(signal.SIGTERM, on_sigterm)
    kills = {}  # file -> {test: kills}, to try first what killed its neighbours
    gkills = {}
    # the test that killed each mutant in the recorded campaign: tried
    # first (it must still kill it: only the order of the tests changes)
    first = recorded_killers()
    try:
        say("copying the tree to %s and building it (log: %s)" % (scratch, log))
        copy_tree(scratch)
        if run(["./autogen.sh"], scratch, log):
            sys.exit("mutate: autogen.sh failed in the scratch tree; see %s" % log)
        # AddressSanitizer, UBSan and LeakSanitizer see what a test cannot
        # (a buffer overrun that lands in memory nobody checks, a leak)
        suite = Suite(scratch, configure(scratch, "_build", [
            "--enable-asan", "--enable-ubsan", "--enable-fault-injection", "CFLAGS=-g -O1"],
            log), log, env)
        # Without a baseline (CI, which has just built and run the tests)
        # each test is built when it is about to run: a mutant the first
        # test kills costs one test's build, not the suite's.
        if not suite.build() or not (args.no_baseline or suite.build_for("tests/all.sh")):
            sys.exit("mutate: the tests do not build; see %s" % log)
        tsan = None
        if any(m["operator"] == "order" for m in pool):
            say("a ThreadSanitizer build for the memory-order mutants")
            tsan = Suite(scratch, configure(scratch, "_tsan", ["--enable-tsan", "CFLAGS=-g -O2"],
                                            log), log, env)
            if not tsan.build() or not all(tsan.build_for(t) for t in TSAN_TESTS):
                sys.exit("mutate: the TSan tests do not build; see %s" % log)
        sim = None
        if args.checks != "tsan" and not args.no_sim:
            sim = Sim(scratch, log, env, tmp)
            if not args.no_baseline:
                if not sim.build():
                    sys.exit("mutate: the simulator does not build; see %s" % log)
                sim.baseline()
        if not args.no_baseline:
            say("the tests on the unchanged tree (they must pass; their times set the timeouts)")
            suite.baseline(suite.tests if args.checks != "tsan" else [])
            if tsan:
                tsan.baseline(TSAN_TESTS)
            say("baseline: %d tests in %.0f s" % (len(suite.seconds), sum(suite.seconds.values())) +
                (", TSan's %d in %.0f s" % (len(tsan.seconds), sum(tsan.seconds.values()))
                 if tsan else ""))
        else:
            suite.seconds = {t: 15.0 for t in suite.tests}
            if tsan:
                tsan.seconds = {t: 15.0 for t in TSAN_TESTS}
        same = SameCode(scratch, log)
        for f in sorted({m["file"] for m in pool}):
            same.digest[f] = same.hash(f)
        plain = None
        if args.checks != "tsan":
            plain = Suite(scratch, same.bld, log, env)
            plain.tests = [t for t in PLAIN_CHECKS if t in plain.tests]
            if not plain.build():
                sys.exit("mutate: the -O2 build does not build; see %s" % log)
            for t in list(plain.tests) if not args.no_baseline else []:
                rc, secs = plain.run_test(t, 900)
                if rc == 77:
                    say("%s skips in the -O2 build (see %s): left out" % (t, log))
                    plain.tests.remove(t)
                elif rc != 0:
                    sys.exit("mutate: %s fails on the unchanged tree's -O2 build (exit %s): "
                             "fix that first; see %s" % (t, rc, log))
                plain.seconds[t] = secs
        memcheck = None
        valgrind = shutil.which("valgrind")
        if args.checks != "tsan" and valgrind:
            memcheck = Suite(scratch, same.bld, log, dict(env, T_SCALE="0.1"), wrap=[
                valgrind, "--suppressions=" + os.path.join(scratch, "tests", "valgrind.supp")]
                + MEMCHECK)
            memcheck.tests = [t for t in memcheck.tests if not t.endswith(".sh")]
            memcheck.seconds = {t: MEMCHECK_TIMEOUT / 4 for t in memcheck.tests}
        reach = None
        if args.select == "reach" and args.checks != "tsan":
            say("a coverage build: which tests run which lines")
            reach = Reach(scratch, suite.tests, log, env)
        for n, m in enumerate(pool, 1):
            t = time.monotonic()
            prev = previous.get(m["id"])
            if prev and prev["result"] == "killed" and prev["old"] == m["old"] and \
                    prev["new"] == m["new"]:
                r = dict(prev, equivalent=eq.get(m["id"], ""), resumed=True)
                results.append(r)
                continue
            apply(scratch, m)
            with open(log, "a") as f:
                f.write("\n=== mutant %s: %s %s:%d (%s)\n" % (m["id"], m["operator"], m["file"],
                                                          m["line"], m["note"]))
            result, killer, flaky = "stillborn", None, []
            reached = reach.tests_for(m) if reach else None
            samecode = same.same(m)
            prior = first.get(m["id"], "")
            if samecode and ordering(m):
                # x86 builds both alike, and no test on it can tell them
                # apart; ThreadSanitizer, which follows each atomic's
                # order, and the simulator's memory models can. One they
                # miss is no equivalent: ARM and POWER build it otherwise.
                # It survives, to be triaged (mutation/equivalent.txt).
                killer = None
                if tsan and m["operator"] == "order":
                    killer = tsan.hunt_named(TSAN_TESTS, "tsan", flaky)
                if not killer and sim:
                    killer = sim.hunt(prior) if sim.build() else "sim build"
                result = "killed" if killer else "survived"
                samecode = False
            elif samecode:
                result = "survived"
            elif suite.build():
                fk = kills.setdefault(m["file"], {})
                # what killed this file's mutants, then any, then programs
                # before scripts (which need everything built), fast first
                order = sorted(suite.tests if reached is None else reached,
                               key=lambda x: (x != first.get(m["id"]), -fk.get(x, 0),
                                              -gkills.get(x, 0),
                                              x.endswith(".sh"), suite.seconds.get(x, 30.0)))
                killer = None
                if prior.startswith("sim-") and sim and args.checks != "tsan":
                    # killed by a simulator campaign in the recorded run,
                    # after every test had missed it: that campaign first,
                    # as a test that killed a mutant is tried first (the
                    # tests run after it if it no longer kills)
                    killer = sim.hunt_one(prior) if sim.build() else None
                if not killer:
                    killer, flaky = suite.hunt(order) if args.checks != "tsan" else (None, [])
                if not killer and args.checks == "full":
                    if run(["make", "check-faults", "FAULT_KILLS=100"], suite.bld, log,
                           timeout=600, env=env) != 0:
                        killer = "check-faults"
                if not killer and tsan and m["operator"] == "order":
                    killer = tsan.hunt_named(TSAN_TESTS, "tsan", flaky)
                # not narrowed by reach: they run code on another CPU,
                # under qemu-user, whose lines the coverage build's native
                # runs need not show them reaching (and they are few, and
                # only meet a mutant everything else missed)
                ptests = plain.tests if plain else []
                if not killer and ptests:
                    killer = plain.hunt_named(ptests, "-O2", flaky)
                if not killer and sim:
                    killer = sim.hunt(prior) if sim.build() else "sim build"
                vtests = [t for t in memcheck.tests if reached is None or t in reached] \
                    if memcheck else []
                if not killer and vtests:
                    killer = memcheck.hunt_named(vtests, "memcheck", flaky)
                result = "killed" if killer else "survived"
                if killer:
                    fk[killer] = fk.get(killer, 0) + 1
                    gkills[killer] = gkills.get(killer, 0) + 1
            restore(scratch, m)
            for name in os.listdir(tmp):
                p = os.path.join(tmp, name)
                shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else os.unlink(p)
            r = dict(m, result=result, killer=killer, flaky=flaky,
                     seconds=round(time.monotonic() - t, 1),
                     equivalent=SAME_CODE if samecode else eq.get(m["id"], ""),
                     reached=None if reached is None else len(reached))
            results.append(r)
            say("[%d/%d] %s %s %s:%d (%s): %s%s%s in %.0f s" % (
                n, len(pool), m["id"], m["operator"], m["file"], m["line"], m["note"],
                "same object code (equivalent)" if samecode else result,
                " by " + killer if killer else "",
                " (no test reaches it)" if result == "survived" and reached == set() else "",
                r["seconds"]))
            if n % 10 == 0:
                report(args, results, t0)  # a report to look at while it runs
    except KeyboardInterrupt:
        interrupted = True
        say("interrupted: the report covers the mutants finished so far (--resume goes on)")
    finally:
        if args.keep:
            say("scratch tree kept: " + scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    # With --resume the report covers every mutant of the campaign so far:
    # what this run did, and what earlier runs (other files, operators)
    # recorded for mutants that still exist, unchanged.
    if args.resume:
        results += recorded(previous, {r["id"] for r in results}, eq)
    if args.full and not interrupted:
        results += triaged_rows(results, eq)
    untriaged = report(args, results, t0)
    if interrupted:
        return 130
    return 1 if args.fail_on_survivor and untriaged else 0


if __name__ == "__main__":
    sys.exit(main())
