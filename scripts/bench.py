#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench.py - run bench/mapq-bench several times and report medians as ratios.

Each run measures mapq, its peers (pipe, AF_UNIX stream and seqpacket,
POSIX message queues, ZeroMQ and nng when built) and the machine's limits
(a raw shared-memory byte ring, the same ring publishing its indices once
per batch, one cache line bounced between processes) on this machine, in
the same run. The report takes the median of every figure over the runs
and gives mapq's ratio to each peer and limit, and whether each
performance target of doc/performance.md is met; a target's figure is
the median of that ratio taken run by run, so that a drift of the
machine between runs reaches both sides of it.

The host may also move the two CPUs closer or further apart in the
middle of a run, which moves every cross-CPU figure by a factor of two
or more. mapq-bench probes the cache line's round trip before its first
case and after each one (--probe); a run's ratio counts only when every
probe around both of its cases saw one placement (within a factor of
STEADY), unless no run of a target was steady. The report says, target
by target, how many runs counted, and gives each run's ratio beside its
probes. Writes report.md,
results.json and, when matplotlib can be imported, plots.png into the
output directory.

With --vs, two builds of mapq-bench run in turn (A B A B ...), in one
sitting, and ab.md gives each figure of both with the median of the
ratios A/B taken run pair by run pair, over the pairs whose four probes
saw one placement when there are any.

With --instructions, it counts instead the instructions of a 64-byte
mapq_send, mapq_read and mapq_release in one process under Valgrind's
callgrind (mapq-bench --pairs: two counts, of N and 6N pairs, so that
what opening and closing cost drops out), for mapq-bench and, with --vs,
the second one too, and the same in batches of 64; a count, not a time,
so one run is enough. --max-pair and --max-batch make it a gate: exit
status 1 when a count is above them (CI's regression check).

Examples:
  scripts/bench.py                       # 3 runs (make bench)
  scripts/bench.py --instructions        # instructions per send + read pair
  scripts/bench.py --instructions --max-pair 610 --max-batch 315   # as CI gates them
  scripts/bench.py --runs 5 --out bench-results
  scripts/bench.py --quick --runs 1      # a smoke test
  scripts/bench.py --runs 6 --vs ../old/bench/mapq-bench -- --sizes 64,4096
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

PEERS = ["pipe", "unix-stream", "unix-seqpacket", "posix-mq", "zeromq", "nng"]
LIMITS = ["mapq", "raw-ring", "batch-ring"]  # the table's first columns
# Cache-line probes within this factor of each other: one placement of the
# CPUs (round trips of ~60, ~200 and over 250 ns are three placements)
STEADY = 1.5


def probes(*recs):
    """The cache-line round trips (ns) probed around @recs, those taken."""
    return [r[f] for r in recs for f in ("line_before_ns", "line_after_ns") if r.get(f)]


def steady(*recs):
    """Whether every probe around @recs saw one placement; None without probes."""
    xs = probes(*recs)
    return max(xs) <= STEADY * min(xs) if xs else None


def pick(each):
    """The ratios of @each ([(ratio, steady)]) a figure is the median of: the
    steady ones, or all when none was (and then the caller says so)."""
    kept = [x for x, ok in each if ok or ok is None]
    return kept or [x for x, _ in each]


def counted(flags):
    """How many of the runs (or pairs) with steady() @flags counted, as text."""
    if all(ok is None for ok in flags):
        return "no probes"
    n = sum(1 for ok in flags if ok)
    return "%d of %d" % (n, len(flags)) if n else "0 of %d: moved" % len(flags)


def placement(*recs):
    """A run's probes around @recs, as text: "430" or "120-430, moved"."""
    xs = probes(*recs)
    if not xs:
        return "no probe"
    lo, hi = min(xs), max(xs)
    if hi <= STEADY * lo:
        return "%.0f" % statistics.median(xs)
    return "%.0f-%.0f, moved" % (lo, hi)


def fig(value, limit):
    """@value to two places, or three where two would round it onto or
    across @limit (0.946 against 0.95 must not read "0.95 | NOT met")."""
    for places in (2, 3, 4):
        text = "%.*f" % (places, value)
        if limit is None or (float(text) != limit and
                             (float(text) >= limit) == (value >= limit)):
            break
    return text


def find_bench(given):
    for c in [given, "bench/mapq-bench",
              os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench",
                           "mapq-bench")]:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    sys.exit("bench.py: cannot find bench/mapq-bench; build it (make) or pass --bench PATH")


def key(r):
    if r["kind"] == "throughput":
        return ("tp", r["mech"], r["size"], r["writers"], r["readers"])
    return ("lat", r["mech"], r["mode"])


def run_one(args, bench, tag, i, n):
    path = os.path.join(args.out, "run-%s%d.json" % (tag, i + 1))
    cmd = [bench, "--json", path] + (["--quick"] if args.quick else []) + args.extra
    t0 = time.time()
    sys.stdout.write("bench.py: run %d of %d%s: %s\n" % (
        i + 1, n, " (%s)" % tag if tag else "", " ".join(cmd)))
    sys.stdout.flush()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(os.path.join(args.out, "run-%s%d.txt" % (tag, i + 1)), "w") as f:
        f.write(p.stdout)
    if p.returncode != 0:
        sys.stdout.write(p.stdout)
        sys.exit("bench.py: %s failed (exit status %d)" % (bench, p.returncode))
    sys.stdout.write("bench.py: run %d done in %.0f s\n" % (i + 1, time.time() - t0))
    with open(path) as f:
        return json.load(f)


def run_all(args, bench):
    return [run_one(args, bench, "", i, args.runs) for i in range(args.runs)]


def run_ab(args, bench_a, bench_b):
    """A and B in turn, so that a drift of the machine reaches both."""
    a, b = [], []
    for i in range(args.runs):
        a.append(run_one(args, bench_a, "A", i, args.runs))
        b.append(run_one(args, bench_b, "B", i, args.runs))
    return a, b


def figure(rec):
    """The one number of a result that says how good it is, and whether
    higher is better."""
    if rec["kind"] == "throughput":
        return rec["msgs_per_s"], True
    return rec["p50_ns"], False


def report_ab(args, a_runs, b_runs, bench_a, bench_b):
    lines = ["# mapq-bench A/B: %d interleaved run pairs, medians" % args.runs, "",
             "A: `%s`  " % bench_a, "B: `%s`  " % bench_b,
             "Command: `scripts/bench.py %s`%s." % (
                 " ".join(sys.argv[1:]), ", **--quick** (not for conclusions)" if args.quick else ""),
             "", "Throughput is messages/s (higher is better); round trips are p50 ns "
             "(lower is better). A/B is the median of the ratios of each run pair whose "
             "four cache-line probes (before and after A's case and B's) saw one placement "
             "of the CPUs, or of every pair when none did (\"moved\").", "",
             "| case | A | B | A/B | pairs in one placement |", "|---|---:|---:|---:|---:|"]
    rows = []
    for r0 in a_runs[0]["results"]:
        k = key(r0)
        pairs = []
        for ra, rb in zip(a_runs, b_runs):
            x = [r for r in ra["results"] if key(r) == k and r["ok"]]
            y = [r for r in rb["results"] if key(r) == k and r["ok"]]
            if x and y:
                pairs.append((figure(x[0])[0], figure(y[0])[0], steady(x[0], y[0])))
        if k[0] == "tp":
            name = "%s %d B %dx%d" % (k[1], k[2], k[3], k[4])
        else:
            name = "%s round trip%s p50" % (k[1], " (%s)" % k[2] if k[2] else "")
        if not pairs:
            lines.append("| %s | not run | not run | - |" % name)
            continue
        kept = pick([(p, p[2]) for p in pairs])
        fa = statistics.median(p[0] for p in kept)
        fb = statistics.median(p[1] for p in kept)
        ra = statistics.median(pick([(p[0] / p[1], p[2]) for p in pairs if p[1]]))
        show = fmt_rate if k[0] == "tp" else (lambda v: "%.0f ns" % v)
        lines.append("| %s | %s | %s | %.3f | %s |" % (name, show(fa), show(fb), ra,
                                                      counted([p[2] for p in pairs])))
        rows.append({"case": name, "a": fa, "b": fb, "a_over_b": ra,
                     "steady_pairs": sum(1 for p in pairs if p[2]),
                     "pairs": [list(p) for p in pairs]})
    lines += ["", "Cache-line round trip p50 of each run (A, B): " + ", ".join(
        "(%s, %s)" % tuple(
            next(("%.0f" % r["p50_ns"] for r in run["results"]
                  if key(r) == ("lat", "cache-line", "") and r["ok"]), "-")
            for run in pair) for pair in zip(a_runs, b_runs)) + " ns.", ""]
    return "\n".join(lines), rows


def medians(runs):
    """key -> (first record, {field: median}) over the runs where it ran."""
    out = {}
    fields = ["msgs_per_s", "mb_per_s", "p50_ns", "p99_ns", "p999_ns", "max_ns"]
    for r0 in runs[0]["results"]:
        k = key(r0)
        same = [r for run in runs for r in run["results"] if key(r) == k and r["ok"]]
        if not same:
            out[k] = (r0, None)
            continue
        out[k] = (r0, {f: statistics.median(x[f] for x in same) for f in fields if f in r0})
    return out


def fmt_rate(x):
    return "%.2f M" % (x / 1e6) if x >= 1e6 else "%.0f k" % (x / 1e3)


def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "-"


def report(args, runs, med):
    m = runs[0]
    lines = ["# mapq-bench: %d run%s, medians" % (len(runs), "" if len(runs) == 1 else "s"), "",
             "mapq %s on %s (%s), %d CPUs%s. Command: `scripts/bench.py %s`." % (
                 m["mapq"], m["kernel"], m["machine"], m["cpus"],
                 ", **--quick** (not for conclusions)" if m["quick"] else "",
                 " ".join(sys.argv[1:])), ""]
    sizes = sorted({k[2] for k in med if k[0] == "tp"})

    def tp(mech, size, w=1, r=1):
        rec = med.get(("tp", mech, size, w, r))
        return rec[1] if rec and rec[1] else None

    lines += ["## Throughput, 1 writer x 1 reader (messages/s; MB/s in brackets)", "",
              "| size | mapq | raw ring | batch ring | " + " | ".join(PEERS) +
              " | mapq / raw ring | mapq / batch ring | mapq / pipe | mapq / best peer |",
              "|---:|---:|---:|---:|" + "---:|" * len(PEERS) + "---:|---:|---:|---:|"]
    for s in sizes:
        q = tp("mapq", s)
        row = ["%d B" % s]
        for mech in LIMITS + PEERS:
            v = tp(mech, s)
            row.append("%s (%.0f)" % (fmt_rate(v["msgs_per_s"]), v["mb_per_s"]) if v else "not run")
        best = max([tp(p, s)["msgs_per_s"] for p in PEERS if tp(p, s)] or [0])
        raw, batch, pipe = tp("raw-ring", s), tp("batch-ring", s), tp("pipe", s)
        row += [ratio(q and q["msgs_per_s"], raw and raw["msgs_per_s"]),
                ratio(q and q["msgs_per_s"], batch and batch["msgs_per_s"]),
                ratio(q and q["msgs_per_s"], pipe and pipe["msgs_per_s"]),
                ratio(q and q["msgs_per_s"], best)]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## mapq with more processes (messages/s, each delivered to every reader)", "",
              "| size | 1x1 | 2 writers x 1 reader | 1 writer x 2 readers | raw ring 1x2 |"
              " 1x2 / raw ring 1x2 |", "|---:|---:|---:|---:|---:|---:|"]
    for s in sizes:
        cells = [tp("mapq", s, w, r) for w, r in ((1, 1), (2, 1), (1, 2))] + \
            [tp("raw-ring", s, 1, 2)]
        lines.append("| %d B | " % s + " | ".join(fmt_rate(c["msgs_per_s"]) if c else "not run"
                                                   for c in cells) +
                     " | %s |" % ratio(cells[2] and cells[2]["msgs_per_s"],
                                       cells[3] and cells[3]["msgs_per_s"]))
    if any(tp("mapq-alone", s) for s in sizes):
        lines += ["", "## A writer alone: mapq-alone, queues of one writer slot (messages/s)", "",
                  "No CAS on tail or on the writer's record (doc/format.md, \"Reserve alone\").",
                  "", "| size | 1x1 | 1 writer x 2 readers | 1x1 / raw ring | 1x1 / mapq 1x1 |",
                  "|---:|---:|---:|---:|---:|"]
        for s in sizes:
            one, two = tp("mapq-alone", s), tp("mapq-alone", s, 1, 2)
            raw, q = tp("raw-ring", s), tp("mapq", s)
            lines.append("| %d B | %s | %s | %s | %s |" % (
                s, fmt_rate(one["msgs_per_s"]) if one else "not run",
                fmt_rate(two["msgs_per_s"]) if two else "not run",
                ratio(one and one["msgs_per_s"], raw and raw["msgs_per_s"]),
                ratio(one and one["msgs_per_s"], q and q["msgs_per_s"])))
    if any(tp("mapq-batch", s) for s in sizes):
        lines += ["", "## Batched sends and reads: mapq-batch (messages/s)", "",
                  "Each writer gives 64 messages at a time to `mapq_send_batch()` (one "
                  "reservation for each run of them that fits in 4 KiB); each reader takes "
                  "what is ready, up to 64 messages, with one `mapq_read_batch()` and releases "
                  "them with one `mapq_release()`.", "",
                  "| size | 1x1 | 2 writers x 1 reader | 1 writer x 2 readers |"
                  " 1x1 / raw ring | 1x1 / batch ring | 1x1 / mapq 1x1 | 1x2 / mapq 1x2 |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for s in sizes:
            cells = [tp("mapq-batch", s, w, r) for w, r in ((1, 1), (2, 1), (1, 2))]
            one, two = tp("mapq", s), tp("mapq", s, 1, 2)
            raw, batch = tp("raw-ring", s), tp("batch-ring", s)
            first = cells[0] and cells[0]["msgs_per_s"]
            lines.append("| %d B | " % s + " | ".join(fmt_rate(c["msgs_per_s"]) if c else "not run"
                                                       for c in cells) +
                         " | %s | %s | %s | %s |" % (
                             ratio(first, raw and raw["msgs_per_s"]),
                             ratio(first, batch and batch["msgs_per_s"]),
                             ratio(first, one and one["msgs_per_s"]),
                             ratio(cells[2] and cells[2]["msgs_per_s"], two and two["msgs_per_s"])))
    lat = [(k, v) for k, v in med.items() if k[0] == "lat"]
    lines += ["", "## Round trip of a 64-byte message (ns)", "",
              "| mechanism | p50 | p99 | p99.9 | max |", "|---|---:|---:|---:|---:|"]
    for k, (rec, v) in lat:
        name = k[1] + (" (" + k[2] + ")" if k[2] else "")
        if v:
            lines.append("| %s | %.0f | %.0f | %.0f | %.0f |" % (
                name, v["p50_ns"], v["p99_ns"], v["p999_ns"], v["max_ns"]))
        else:
            lines.append("| %s | not run: %s | | | |" % (name, rec.get("why", "")))

    def per_run(num, den, field="msgs_per_s"):
        """The median over the runs of num / den, each run's own, over the
        runs whose probes saw one placement (pick()); and the runs, each as
        (ratio, steady, its probes as text), None for a run without both."""
        each = []
        for run in runs:
            a = [r for r in run["results"] if key(r) == num and r["ok"]]
            b = [r for r in run["results"] if key(r) == den and r["ok"]]
            if a and b and b[0][field]:
                each.append((a[0][field] / b[0][field], steady(a[0], b[0]),
                             placement(a[0], b[0])))
            else:
                each.append(None)
        got = [e for e in each if e]
        return (statistics.median(pick([e[:2] for e in got])) if got else None), each

    def tpk(mech, size, w=1, r=1):
        return ("tp", mech, size, w, r)

    targets, by_run = [], []

    def target(text, measured, limit, higher_better=True, goal=None):
        value, each = measured if isinstance(measured, tuple) else (measured, None)
        got = [e for e in each or [] if e]
        if each is not None and got:
            by_run.append("| %s | " % text + " | ".join(
                "%.2f (%s)" % (e[0], e[2]) if e else "-" for e in each) + " |")
        if value is None:
            targets.append((text, "not measured", "-", "-", "-"))
            return
        runs_kept = counted([e[1] for e in got]) if got else "-"
        if limit is None:
            targets.append((text, "%.2f" % value, "no target: reported", runs_kept, "-"))
            return

        def meets(x):
            return x >= limit if higher_better else x <= limit
        met = meets(value)
        verdict = "met" if met else "NOT met"
        if goal is not None and met:
            verdict += " (goal %s %s)" % (goal, "met" if value >= goal else "not met")
        # of the runs the figure is the median of: how near the line it is
        kept = pick([e[:2] for e in got])
        runs_met = "%d of %d" % (sum(1 for x in kept if meets(x)), len(kept)) if got else "-"
        targets.append((text, fig(value, goal if met and goal is not None else limit),
                        verdict, runs_kept, runs_met))

    target("64 B 1x1: mapq / raw ring messages/s >= 1.0 (goal 1.2)",
           per_run(tpk("mapq", 64), tpk("raw-ring", 64)), 1.0, goal=1.2)
    target("64 B 1x1: mapq / batch ring messages/s",
           per_run(tpk("mapq", 64), tpk("batch-ring", 64)), None)
    target("64 B 2 writers x 1 reader: mapq / mapq 1x1 >= 0.9",
           per_run(tpk("mapq", 64, 2, 1), tpk("mapq", 64)), 0.9)
    target("64 B 1 writer x 2 readers: mapq / mapq 1x1 >= 0.9",
           per_run(tpk("mapq", 64, 1, 2), tpk("mapq", 64)), 0.9)
    target("64 B 1x2: raw ring 1x2 / raw ring 1x1 (the same ratio of the ceiling, on these CPUs)",
           per_run(tpk("raw-ring", 64, 1, 2), tpk("raw-ring", 64)), None)
    target("64 B 1x2: mapq 1x2 / raw ring 1x2 messages/s",
           per_run(tpk("mapq", 64, 1, 2), tpk("raw-ring", 64, 1, 2)), None)
    target("64 B 1x1: mapq / pipe messages/s >= 10",
           per_run(tpk("mapq", 64), tpk("pipe", 64)), 10)
    target("4 KiB 1x1: mapq / raw ring bandwidth >= 0.95",
           per_run(tpk("mapq", 4096), tpk("raw-ring", 4096), "mb_per_s"), 0.95)
    target("busy-poll round trip p50 / cache-line round trip p50 <= 2",
           per_run(("lat", "mapq", "poll"), ("lat", "cache-line", ""), "p50_ns"), 2,
           higher_better=False)
    poll = med.get(("lat", "mapq", "poll"))
    target("busy-poll round trip p99 <= 2 us (figure in us)",
           poll[1]["p99_ns"] / 1000 if poll and poll[1] else None, 2, higher_better=False)
    target("blocking round trip p50 / pipe round trip p50 <= 1",
           per_run(("lat", "mapq", "block"), ("lat", "pipe", ""), "p50_ns"), 1,
           higher_better=False)
    target("64 B 1x1, writer alone: mapq-alone / raw ring messages/s >= 1.0 (goal 1.2)",
           per_run(tpk("mapq-alone", 64), tpk("raw-ring", 64)), 1.0, goal=1.2)
    target("64 B 1x1, writer alone: mapq-alone / batch ring messages/s",
           per_run(tpk("mapq-alone", 64), tpk("batch-ring", 64)), None)
    target("64 B 1 writer alone x 2 readers: mapq-alone / mapq-alone 1x1 >= 0.9",
           per_run(tpk("mapq-alone", 64, 1, 2), tpk("mapq-alone", 64)), 0.9)
    target("4 KiB 1x1, writer alone: mapq-alone / raw ring bandwidth >= 0.95",
           per_run(tpk("mapq-alone", 4096), tpk("raw-ring", 4096), "mb_per_s"), 0.95)
    target("busy-poll round trip p50, writers alone: / cache-line round trip p50 <= 2",
           per_run(("lat", "mapq-alone", "poll"), ("lat", "cache-line", ""), "p50_ns"), 2,
           higher_better=False)
    target("64 B 1x1, batched sends and reads: mapq-batch / raw ring messages/s >= 1.0 "
           "(goal 1.2)", per_run(tpk("mapq-batch", 64), tpk("raw-ring", 64)), 1.0, goal=1.2)
    target("64 B 1x1, batched sends and reads: mapq-batch / batch ring messages/s",
           per_run(tpk("mapq-batch", 64), tpk("batch-ring", 64)), None)
    target("64 B 2 writers x 1 reader, batched: mapq-batch 2x1 / mapq-batch 1x1 >= 0.9",
           per_run(tpk("mapq-batch", 64, 2, 1), tpk("mapq-batch", 64)), 0.9)
    target("64 B 1 writer x 2 readers, batched: mapq-batch 1x2 / mapq-batch 1x1 >= 0.9",
           per_run(tpk("mapq-batch", 64, 1, 2), tpk("mapq-batch", 64)), 0.9)
    target("4 KiB 1x1, batched: mapq-batch / raw ring bandwidth >= 0.95",
           per_run(tpk("mapq-batch", 4096), tpk("raw-ring", 4096), "mb_per_s"), 0.95)
    target("64 B 1 writer x 2 readers, batched: mapq-batch 1x2 / mapq 1x2",
           per_run(tpk("mapq-batch", 64, 1, 2), tpk("mapq", 64, 1, 2)), None)
    lines += ["", "## Targets (issues 8 and 17)", "",
              "A ratio is the median over the runs of each run's own ratio, taken over the "
              "runs in which every cache-line probe around both of its cases saw one "
              "placement of the CPUs (within a factor of %.1f); when none did, over all "
              "of them (\"moved\"). The fourth column says how many runs counted, the last "
              "how many of those met the target on their own: a verdict most runs do not "
              "share is one the noise could turn." % STEADY,
              "", "| target | figure | verdict | runs in one placement | runs that met it |",
              "|---|---:|---|---:|---:|"]
    lines += ["| %s | %s | %s | %s | %s |" % t for t in targets]
    lines += ["", "## Targets run by run", "",
              "Each run's ratio, and in brackets the cache-line round trip (ns) probed "
              "around its two cases: one figure for one placement, a range where the "
              "host moved the CPUs between them.", "",
              "| target | " + " | ".join("run %d" % (i + 1) for i in range(len(runs))) + " |",
              "|---|" + "---:|" * len(runs)] + by_run
    lines += ["", "Each figure is the median over the runs; every run's raw output is in "
              "run-N.txt and run-N.json beside this report."]
    return "\n".join(lines) + "\n", targets


def plot(args, med):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ("matplotlib is not importable by %s: no plots.png (on Debian: apt-get install "
                "python3-matplotlib, for /usr/bin/python3)" % sys.executable)
    sizes = sorted({k[2] for k in med if k[0] == "tp"})
    fig, ax = plt.subplots(figsize=(8, 5))
    for mech in LIMITS + PEERS:
        ys = [(s, med[("tp", mech, s, 1, 1)][1]) for s in sizes if ("tp", mech, s, 1, 1) in med]
        ys = [(s, v["mb_per_s"]) for s, v in ys if v]
        if ys:
            ax.plot([s for s, _ in ys], [v for _, v in ys], marker="o", label=mech)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("message size (bytes)")
    ax.set_ylabel("MB/s, 1 writer x 1 reader (median)")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "plots.png"))
    return "plots.png written"


INSTR_FUNCS = ["mapq_send", "mapq_read", "mapq_release"]
# --only mapq-batch: the same work in batches of 64 (mapq-bench --pairs)
BATCH_FUNCS = ["mapq_send_batch", "mapq_read_batch", "mapq_release"]


def callgrind(bench, pairs, out_dir, tag, alone=False, batched=False):
    """Instructions of the whole run, and inclusive ones of INSTR_FUNCS;
    @alone: in a queue of one writer slot (mapq-bench --only mapq-alone);
    @batched: in batches, BATCH_FUNCS (--only mapq-batch)."""
    funcs = BATCH_FUNCS if batched else INSTR_FUNCS
    # children traced: in a build tree mapq-bench is libtool's wrapper
    # script, which runs the real program; each process has its own file
    stem = os.path.join(out_dir, "callgrind-%s%s-%d" % (
        tag, "-alone" if alone else "-batch" if batched else "", pairs))
    cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes", "--vgdb=no",
           "--callgrind-out-file=%s.%%p.out" % stem, bench,
           "--pairs", str(pairs), "--sizes", "64", "--dir", out_dir]
    if alone or batched:
        cmd += ["--only", "mapq-alone" if alone else "mapq-batch"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outs = [os.path.join(out_dir, f) for f in os.listdir(out_dir)
            if f.startswith(os.path.basename(stem) + ".") and f.endswith(".out")]
    if p.returncode != 0:
        sys.stdout.write(p.stdout)
        for f in outs:
            os.unlink(f)
        sys.exit("bench.py: %s failed (exit status %d)" % (" ".join(cmd), p.returncode))
    text = ""
    for f in outs:
        a = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", f],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        os.unlink(f)
        if "mapq_send" in a.stdout:
            text = a.stdout
    counts = {}
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        n = f[0].replace(",", "")
        if n.isdigit() and "PROGRAM TOTALS" in line:
            counts["total"] = int(n)
        elif n.isdigit():
            name = line.rsplit(":", 1)[-1].split()[0] if ":" in line else ""
            if name in funcs:  # the largest: lines inlined elsewhere come apart
                counts[name] = max(counts.get(name, 0), int(n))
    missing = [k for k in ["total"] + funcs if k not in counts]
    if missing:
        sys.stdout.write(text[:3000])
        sys.exit("bench.py: no count for %s in callgrind_annotate's output" % ", ".join(missing))
    return counts


def instructions(args, benches):
    n = args.pairs
    lines = ["# Instructions per 64-byte message in one process (callgrind)", "",
             "`mapq-bench --pairs N`: N sends, reads and releases, an empty poll after every "
             "other one, every byte checked; \"writer alone\": in a queue of one writer "
             "slot (`--only mapq-alone`). Each figure is (count at %d pairs - count at %d "
             "pairs) / %d: per message, without what opening and closing cost. `mapq_read` "
             "includes half an empty poll." % (6 * n, n, 5 * n), "",
             "| build | mapq_send | mapq_read | mapq_release | send + read + release "
             "| whole program |", "|---|---:|---:|---:|---:|---:|"]
    rows = []
    for tag, bench in benches:
        for alone in (False, True):
            sys.stdout.write("bench.py: callgrind of %s (%s)%s, %d and %d pairs\n" % (
                tag, bench, ", the writer alone" if alone else "", n, 6 * n))
            sys.stdout.flush()
            small = callgrind(bench, n, args.out, tag, alone)
            big = callgrind(bench, 6 * n, args.out, tag, alone)
            per = {k: (big[k] - small[k]) / (5 * n) for k in big}
            pair = sum(per[k] for k in INSTR_FUNCS)
            name = tag + (", writer alone" if alone else "")
            lines.append("| %s | %.0f | %.0f | %.0f | **%.0f** | %.0f |" % (
                name, per["mapq_send"], per["mapq_read"], per["mapq_release"], pair,
                per["total"]))
            rows.append({"build": name, "bench": bench, "alone": alone, "per_message": per,
                         "pair": pair})
    lines += ["", "Target (issue 17): send + read + release <= 300.", "",
              "In batches (`--only mapq-batch`): the same messages, 64 at a time through "
              "`mapq_send_batch()`, read back with `mapq_read_batch()` and released once a "
              "read, an empty poll after every other batch; per message:", "",
              "| build | mapq_send_batch | mapq_read_batch | mapq_release | all three "
              "| whole program |", "|---|---:|---:|---:|---:|---:|"]
    for tag, bench in benches:
        sys.stdout.write("bench.py: callgrind of %s (%s) in batches, %d and %d messages\n" % (
            tag, bench, n, 6 * n))
        sys.stdout.flush()
        small = callgrind(bench, n, args.out, tag, batched=True)
        big = callgrind(bench, 6 * n, args.out, tag, batched=True)
        per = {k: (big[k] - small[k]) / (5 * n) for k in big}
        pair = sum(per[k] for k in BATCH_FUNCS)
        lines.append("| %s | %.0f | %.0f | %.0f | **%.0f** | %.0f |" % (
            tag, per["mapq_send_batch"], per["mapq_read_batch"], per["mapq_release"], pair,
            per["total"]))
        rows.append({"build": tag + ", in batches", "bench": bench, "alone": False,
                     "batched": True, "per_message": per, "pair": pair})
    lines.append("")
    return "\n".join(lines), rows


def over_gates(rows, max_pair=None, max_batch=None):
    """The messages for each row of instructions() above its gate: single
    sends against @max_pair, batches against @max_batch (None: no gate)."""
    msgs = []
    for r in rows:
        batched = r.get("batched", False)
        limit, flag = (max_batch, "--max-batch") if batched else (max_pair, "--max-pair")
        if limit is not None and r["pair"] > limit:
            msgs.append("bench.py: %s: %.0f instructions per %s, above %s %.0f" % (
                r["build"], r["pair"], "message in batches" if batched
                else "send + read + release", flag, limit))
    return msgs


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("--runs", type=int, default=3, help="runs to take medians over (3)")
    ap.add_argument("--quick", action="store_true", help="mapq-bench --quick (a smoke test)")
    ap.add_argument("--out", default="bench-results", help="output directory (bench-results)")
    ap.add_argument("--bench", help="path of mapq-bench (bench/mapq-bench)")
    ap.add_argument("--vs", metavar="BENCH_B",
                    help="a second mapq-bench (B): run both in turn and report A/B in ab.md")
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions per 64-byte send + read with callgrind instead")
    ap.add_argument("--pairs", type=int, default=20000,
                    help="--instructions: pairs in the smaller count, at least 12000 (20000; the "
                         "larger is 6x)")
    ap.add_argument("--max-pair", type=float, metavar="N",
                    help="--instructions: exit 1 if a build's send + read + release is above N "
                         "(a gate against regressions; counts depend on the compiler)")
    ap.add_argument("--max-batch", type=float, metavar="N",
                    help="--instructions: exit 1 if a build's instructions per message in "
                         "batches of 64 are above N (the same kind of gate)")
    ap.add_argument("extra", nargs="*", help="more mapq-bench arguments, after --")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.pairs < 12000:
        ap.error("--pairs must be at least 12000: the smaller count must wrap the ring (1 MiB, "
                 "about 10,900 frames of 64 bytes), or it misses what moving head costs")
    if args.vs and not (os.path.isfile(args.vs) and os.access(args.vs, os.X_OK)):
        ap.error("--vs %s: not an executable file" % args.vs)
    return args


def main():
    args = parse_args()
    bench = find_bench(args.bench)
    os.makedirs(args.out, exist_ok=True)
    if args.instructions:
        benches = [("A" if args.vs else "mapq-bench", bench)]
        if args.vs:
            benches.append(("B", os.path.abspath(args.vs)))
        text, rows = instructions(args, benches)
        with open(os.path.join(args.out, "instructions.md"), "w") as f:
            f.write(text)
        with open(os.path.join(args.out, "instructions.json"), "w") as f:
            json.dump(rows, f, indent=1)
        sys.stdout.write(text)
        sys.stdout.write("bench.py: report in %s\n" % os.path.join(args.out, "instructions.md"))
        over = over_gates(rows, args.max_pair, args.max_batch)
        for m in over:
            sys.stdout.write(m + "\n")
        if over:
            sys.exit(1)
        return
    if args.vs:
        vs = os.path.abspath(args.vs)
        a_runs, b_runs = run_ab(args, bench, vs)
        text, rows = report_ab(args, a_runs, b_runs, bench, vs)
        with open(os.path.join(args.out, "ab.md"), "w") as f:
            f.write(text)
        with open(os.path.join(args.out, "ab.json"), "w") as f:
            json.dump({"a": a_runs, "b": b_runs, "cases": rows}, f, indent=1)
        sys.stdout.write(text)
        sys.stdout.write("bench.py: report in %s\n" % os.path.join(args.out, "ab.md"))
        return
    runs = run_all(args, bench)
    med = medians(runs)
    text, targets = report(args, runs, med)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"runs": runs, "medians": [
            {"key": list(k), "median": v} for k, (_, v) in med.items()],
            "targets": [{"target": t, "figure": v, "verdict": m, "runs_in_one_placement": n,
                         "runs_met": k} for t, v, m, n, k in targets]},
            f, indent=1)
    note = plot(args, med)
    sys.stdout.write(text)
    sys.stdout.write("bench.py: %s; report in %s\n" % (note, os.path.join(args.out, "report.md")))


if __name__ == "__main__":
    main()
