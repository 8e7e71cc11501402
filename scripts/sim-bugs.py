#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sim-bugs.py - does the simulator bite? Put each bug of sim/bugs/ back
into a scratch copy of the tree, one at a time, and see how long the
deterministic simulator (mapq-sim) and the torture harness (mapq-torture)
take to find it.

Each sim/bugs/NAME.patch reintroduces one protocol bug: the ones
mapq-sim found, older ones this project fixed, and new plausible ones
(each patch's header says which and why it is wrong). For each bug the
script rebuilds the scratch tree (a build configured with --enable-sim,
which has both programs), then
  - runs mapq-sim campaigns over a list of workloads, each for its share
    of --sim-time, until one fails: schedules and seconds until found,
    the strategy, and what failed; then shrinks the failing schedule
    (--shrink-time) and reports its size;
  - runs mapq-torture in 10 s runs with random kills and pauses over a
    4 KiB ring until a verdict fails or --torture-time is spent.
It writes bugs.md (the table) and bugs.json into --out, and prints the
table. Nothing here touches the tree it is run from.

Examples:
  scripts/sim-bugs.py                         # every bug, about 30 minutes at most
  scripts/sim-bugs.py --only tail-store,pos-before-claim --sim-time 20 --torture-time 20
  scripts/sim-bugs.py --list
  scripts/sim-bugs.py --only lost-wakeup-flag-order --torture-time 0 --require-found   # as CI

A patch's header may name the workloads its bug can show in at all
("# workloads: weak,weak-full-fences": a missing fence, which only the
simulator's store buffers show); that bug is hunted there, whatever
--workloads says for the others.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

# The simulator's workloads, tried in turn (each gets an equal share of
# the time): the default, one without deaths (where every wait is judged
# for lost wake-ups), deaths with stalls, frames up to a quarter of the
# ring, one writer with deaths and stalls, readers without a name, the
# overwrite policy, crashes of every process (recovery on open), power
# cuts (writers sync; the file keeps what reached the disk), readers that
# drop their names as they close, a writer alone (one writer slot),
# readers that take several messages a read, writers that send several
# a reservation, a short unblock timeout,
# and store
# buffers (--memory: a memory weaker than sequential consistency, where a
# missing fence or a weakened order shows), without deaths and with them.
SIM_WORKLOADS = [
    ("default", []),
    ("no-deaths", ["-k", "0"]),
    ("stalls", ["-w", "3", "-r", "2", "-k", "2", "--stalls", "1"]),
    ("big", ["-w", "2", "-r", "2", "--max-size", "1024"]),
    ("one-writer", ["-w", "1", "-r", "1", "--max-size", "1024", "-k", "2", "--stalls", "1"]),
    ("ephemeral", ["-w", "2", "-r", "2", "-k", "2", "--stalls", "1", "--ephemeral"]),
    ("overwrite", ["-w", "2", "-r", "2", "-k", "2", "--stalls", "1", "--max-size", "1024",
                   "-m", "24", "--overwrite"]),
    ("crashes", ["-w", "2", "-r", "2", "-k", "1", "--stalls", "1", "--crashes", "2"]),
    ("power", ["-w", "2", "-r", "2", "-k", "1", "--stalls", "1", "--power-cuts", "2",
               "--capacity", "16384", "-m", "24"]),
    # power cuts over a ring that laps: checkpoints and control pages on
    # disk laps behind the ring
    ("power-laps", ["-w", "2", "-r", "2", "-k", "1", "--power-cuts", "2", "--capacity", "16384",
                    "-m", "100"]),
    # durable readers that close, drop their names now and then and come
    # back under them anew: deaths inside mapq_reader_drop()
    ("drop", ["-w", "1", "-r", "1", "-k", "1", "-m", "40", "--reattach", "--drop"]),
    # the writer alone in a queue of one writer slot: its own reservation
    # steps, stalled and killed
    ("alone", ["-w", "1", "-r", "2", "-k", "2", "--stalls", "1", "--max-size", "1024",
               "--alone"]),
    # readers taking several messages a read, released at once
    ("batch", ["-w", "2", "-r", "2", "-k", "2", "--stalls", "1", "--max-size", "1024",
               "--batch"]),
    # writers sending batches (several frames to a reservation) over
    # enough laps that a dead batch's consumed frames are reused
    ("send-batch", ["-w", "2", "-r", "2", "-k", "2", "--stalls", "1", "-m", "60", "--max-size",
                    "120", "--send-batch"]),
    ("short-unblock", ["-w", "3", "-r", "2", "-k", "1", "--stalls", "2", "--unblock-ms", "1"]),
    ("weak", ["--memory", "weak", "-k", "0"]),
    ("weak-deaths", ["--memory", "weak", "-w", "3", "-r", "2", "-k", "2", "--stalls", "1"]),
    ("tso", ["--memory", "tso", "-k", "0"]),
    ("weak-full-fences", ["--memory", "weak", "-k", "0", "--full-fences"]),
]
# mapq-torture over the same small ring, with kills and pauses; the
# durable and ephemeral reader kinds alternate between runs.
TORTURE_ARGS = ["-w", "2", "-r", "2", "--capacity", "4096", "--max-size", "200",
                "--kill-rate", "5", "--pause-rate", "2", "--unblock-ms", "20", "-q"]
TORTURE_RUN_S = 10


def say(msg):
    print("sim-bugs: " + msg, file=sys.stderr, flush=True)


def run(cmd, cwd, log, timeout=None):
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        return subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                              timeout=timeout).returncode


def patches(bugdir, only):
    names = sorted(f[:-6] for f in os.listdir(bugdir) if f.endswith(".patch"))
    if only:
        missing = [n for n in only if n not in names]
        if missing:
            sys.exit("sim-bugs: no such bug: %s (--list shows them)" % ", ".join(missing))
        names = [n for n in names if n in only]
    return names


def header(path, key):
    with open(path) as f:
        for line in f:
            if line.startswith("# %s: " % key):
                return line.split(": ", 1)[1].strip()
    return ""


def copy_tree(dst):
    """The tree as git sees it (tracked and new files), without builds."""
    files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=TOP,
                           capture_output=True, check=True).stdout.split(b"\0")
    for rel in files:
        if not rel:
            continue
        rel = rel.decode()
        src = os.path.join(TOP, rel)
        if not os.path.isfile(src):
            continue
        os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, rel))


def build(bld, log, torture):
    """The simulator, and the torture harness if it is to run too."""
    return run(["make", "-j2", "sim/mapq-sim"] + (["harness/mapq-torture"] if torture else []),
               bld, log) == 0


def sim_hunt(sim, budget, log, workdir, workloads):
    """Workloads in turn until one fails; what it took."""
    share = max(1, int(budget / len(workloads)))
    schedules, t0 = 0, time.monotonic()
    for name, extra in workloads:
        cmd = [sim, "-q", "-n", "100000000", "-t", str(share), "--seed", "1", "--dir", workdir] + extra
        p = subprocess.run(cmd, capture_output=True, text=True)
        with open(log, "a") as f:
            f.write("$ %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr[-4000:]))
        if p.returncode == 0:
            m = re.search(r"PASS: (\d+) schedules", p.stdout)
            schedules += int(m.group(1)) if m else 0
            continue
        m = re.search(r"FAIL at schedule (\d+) \(seed (\d+), strategy (\w+)\)\n  (.*)", p.stderr)
        if p.returncode != 1 or not m:
            # the horizon's own runs failed: without deaths, the first schedules
            m2 = re.search(r"fails even without deaths or stalls \(seed (\d+), random\): (.*)",
                           p.stderr)
            if not m2:
                return {"found": False, "error": (p.stderr or p.stdout)[-300:]}
            idx, strategy, why = 0, "random", m2.group(2)
        else:
            idx, strategy, why = int(m.group(1)), m.group(3), m.group(4)
        kind = re.search(r"\(what failed: (.*)\)", p.stderr)
        if kind:
            why = kind.group(1)
        replay = re.search(r"replay: mapq-sim (.*)", p.stderr)
        return {"found": True, "workload": name, "schedules": schedules + idx + 1,
                "seconds": round(time.monotonic() - t0, 2), "strategy": strategy,
                "why": why[:200], "replay": replay.group(1) if replay else ""}
    return {"found": False, "schedules": schedules,
            "seconds": round(time.monotonic() - t0, 2)}


def shrink(sim, found, secs, log, workdir):
    if not found.get("replay"):
        return {}
    sched = os.path.join(workdir, "min.schedule")
    cmd = [sim] + found["replay"].split() + ["--dir", workdir, "--shrink", "--shrink-time",
                                               str(max(1, int(secs))), "--save", sched, "-q"]
    cmd = [a for a in cmd if a]
    p = subprocess.run(cmd, capture_output=True, text=True)
    with open(log, "a") as f:
        f.write("$ %s\n%s" % (" ".join(cmd), p.stderr[-3000:]))
    m = re.search(r"shrunk in ([\d.]+) s .*?: (\d+) writers? x (\d+) readers? x (\d+) messages?, "
                  r"(\d+) deaths?, (\d+) stalls?, (?:\d+ crash(?:es)?, )?(?:\d+ power cuts?, )?"
                  r"(\d+) preemptions?, (\d+) steps \(it was .*?(\d+) steps\)",
                  p.stderr)
    if not m:
        return {}
    return {"shrunk": "%sw x %sr x %sm, %s deaths, %s stalls, %s preemptions, %s steps (from %s)" %
            (m.group(2), m.group(3), m.group(4), m.group(5), m.group(6), m.group(7), m.group(8),
             m.group(9))}


def torture_hunt(torture, budget, log, workdir):
    t0, runs = time.monotonic(), 0
    while time.monotonic() - t0 < budget:
        seed = 1000 + runs
        extra = ["--durable"] if runs % 2 else []
        js = os.path.join(workdir, "t.json")
        cmd = [torture] + TORTURE_ARGS + ["-d", str(TORTURE_RUN_S), "--seed", str(seed),
                                          "--dir", workdir, "--json", js] + extra
        try:
            rc = run(cmd, workdir, log, timeout=TORTURE_RUN_S + 90)
        except subprocess.TimeoutExpired:
            rc = -1
        runs += 1
        if rc != 0:
            return {"found": True, "seconds": round(time.monotonic() - t0, 1), "runs": runs,
                    "why": "exit %d" % rc}
    return {"found": False, "seconds": round(time.monotonic() - t0, 1), "runs": runs}


def table(results):
    out = ["| bug | origin | mapq-sim | schedules | seconds | strategy, workload | what failed | "
           "shrunk to | mapq-torture |",
           "|---|---|---|---:|---:|---|---|---|---|"]
    for r in results:
        s, t = r["sim"], r["torture"]
        tort = ("found in %.0f s (%d runs)" % (t["seconds"], t["runs"]) if t.get("found")
                else "not in %.0f s" % t.get("seconds", 0) if "seconds" in t else "-")
        if s.get("found"):
            out.append("| %s | %s | found | %d | %.1f | %s, %s | %s | %s | %s |" % (
                r["bug"], r["origin"], s["schedules"], s["seconds"], s["strategy"], s["workload"],
                s["why"], r.get("shrunk", "-"), tort))
        else:
            out.append("| %s | %s | not found | %s | %s | - | %s | - | %s |" % (
                r["bug"], r["origin"], s.get("schedules", "-"), s.get("seconds", "-"),
                s.get("error", "-"), tort))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--only", help="comma list of bugs (names of sim/bugs/*.patch)")
    ap.add_argument("--list", action="store_true", help="list the bugs and exit")
    ap.add_argument("--sim-time", type=float, default=60, help="seconds of mapq-sim per bug (60)")
    ap.add_argument("--torture-time", type=float, default=60,
                    help="seconds of mapq-torture per bug (60; 0: skip)")
    ap.add_argument("--shrink-time", type=float, default=20,
                    help="seconds to shrink each failure (20; 0: skip)")
    ap.add_argument("--out", default="sim-bugs-report", help="report directory (sim-bugs-report)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch tree")
    ap.add_argument("--workloads", help="comma list of mapq-sim workloads to try, of: " +
                    ", ".join(n for n, _ in SIM_WORKLOADS) + " (all)")
    ap.add_argument("--require-found", action="store_true",
                    help="exit 1 unless mapq-sim finds every bug (CI's short form)")
    args = ap.parse_args()
    bugdir = os.path.join(TOP, "sim", "bugs")
    only = [n for n in (args.only or "").split(",") if n]
    names = patches(bugdir, only)
    wanted = [n for n in (args.workloads or "").split(",") if n]
    known = [n for n, _ in SIM_WORKLOADS]
    if any(n not in known for n in wanted):
        sys.exit("sim-bugs: --workloads: unknown workload in '%s' (%s)" % (args.workloads,
                                                                          ", ".join(known)))
    workloads = [w for w in SIM_WORKLOADS if not wanted or w[0] in wanted]

    def workloads_of(patch):
        """A bug whose patch names its workloads (one that only store
        buffers show) is hunted there alone, whatever --workloads says."""
        own = [n for n in header(patch, "workloads").split(",") if n]
        if any(n not in known for n in own):
            sys.exit("sim-bugs: %s: unknown workload in its 'workloads:' line" % patch)
        return [w for w in SIM_WORKLOADS if w[0] in own] if own else workloads
    if args.list:
        for n in names:
            print("%-34s %s" % (n, header(os.path.join(bugdir, n + ".patch"), "origin")))
        return 0
    if not names:
        sys.exit("sim-bugs: no bugs in %s" % bugdir)
    os.makedirs(args.out, exist_ok=True)
    log = os.path.abspath(os.path.join(args.out, "build.log"))
    open(log, "w").close()
    scratch = tempfile.mkdtemp(prefix="mapq-sim-bugs.")
    workdir = tempfile.mkdtemp(prefix="mapq-sim-bugs-run.", dir="/dev/shm"
                               if os.access("/dev/shm", os.W_OK) else None)
    results = []
    try:
        say("copying the tree to %s and configuring a simulation build (log: %s)" % (scratch, log))
        copy_tree(scratch)
        bld = os.path.join(scratch, "_build")
        os.makedirs(bld)
        if (run(["./autogen.sh"], scratch, log) or
                run(["../configure", "--enable-sim", "CFLAGS=-g -O2"], bld, log) or
                not build(bld, log, args.torture_time > 0)):
            sys.exit("sim-bugs: the scratch tree does not build; see %s" % log)
        sim = os.path.join(bld, "sim", "mapq-sim")
        torture = os.path.join(bld, "harness", "mapq-torture")
        for i, name in enumerate(names, 1):
            patch = os.path.join(bugdir, name + ".patch")
            say("[%d/%d] %s: %s" % (i, len(names), name, header(patch, "origin")))
            if run(["patch", "-p1", "-s", "-i", patch], scratch, log):
                sys.exit("sim-bugs: %s does not apply to this tree; see %s" % (patch, log))
            try:
                if not build(bld, log, args.torture_time > 0):
                    sys.exit("sim-bugs: the tree with %s does not build; see %s" % (name, log))
                r = {"bug": name, "origin": header(patch, "origin")}
                r["sim"] = sim_hunt(sim, args.sim_time, log, workdir, workloads_of(patch))
                s = r["sim"]
                say("   mapq-sim: " + ("found after %d schedules, %.1f s (%s, %s): %s" % (
                    s["schedules"], s["seconds"], s["strategy"], s["workload"], s["why"][:100])
                    if s.get("found") else "not found in %s s" % s.get("seconds", "?")))
                if s.get("found") and args.shrink_time > 0:
                    r.update(shrink(sim, s, args.shrink_time, log, workdir))
                    say("   shrunk to " + r.get("shrunk", "(no result)"))
                r["torture"] = (torture_hunt(torture, args.torture_time, log, workdir)
                                if args.torture_time > 0 else {})
                t = r["torture"]
                if t:
                    say("   mapq-torture: " + ("found in %.0f s" % t["seconds"] if t["found"]
                                               else "not found in %.0f s" % t["seconds"]))
                results.append(r)
            finally:
                if run(["patch", "-p1", "-R", "-s", "-i", patch], scratch, log):
                    sys.exit("sim-bugs: cannot take %s out again; see %s" % (patch, log))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.keep:
            say("scratch tree kept: " + scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    md = table(results)
    with open(os.path.join(args.out, "bugs.md"), "w") as f:
        f.write("# Bugs put back, and who found them\n\n"
                "mapq-sim: up to %.0f s per bug over %d workloads; mapq-torture: up to %.0f s "
                "in %d s runs.\n\n%s" % (args.sim_time, len(workloads), args.torture_time,
                                         TORTURE_RUN_S, md))
    with open(os.path.join(args.out, "bugs.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(md, end="")
    found = sum(1 for r in results if r["sim"].get("found"))
    say("mapq-sim found %d of %d; report in %s/bugs.md" % (found, len(results), args.out))
    if args.require_found and found < len(results):
        say("FAIL: not found: " + ", ".join(r["bug"] for r in results
                                             if not r["sim"].get("found")))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
