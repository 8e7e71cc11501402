#!/usr/bin/env python3
"""bench.py - run bench/mapq-bench several times and report medians as ratios.

Each run measures mapq, its peers (pipe, AF_UNIX stream and seqpacket,
POSIX message queues) and the machine's limits (a raw shared-memory byte
ring, one cache line bounced between processes) on this machine, in the
same run. The report takes the median of every figure over the runs and
gives mapq's ratio to each peer and limit, and whether each performance
target of doc/performance.md is met. Writes report.md, results.json and,
when matplotlib can be imported, plots.png into the output directory.

Examples:
  scripts/bench.py                       # 3 runs (make bench)
  scripts/bench.py --runs 5 --out bench-results
  scripts/bench.py --quick --runs 1      # a smoke test
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

PEERS = ["pipe", "unix-stream", "unix-seqpacket", "posix-mq", "zeromq", "nng"]


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


def run_all(args, bench):
    runs = []
    for i in range(args.runs):
        path = os.path.join(args.out, "run-%d.json" % (i + 1))
        cmd = [bench, "--json", path] + (["--quick"] if args.quick else []) + args.extra
        t0 = time.time()
        sys.stdout.write("bench.py: run %d of %d: %s\n" % (i + 1, args.runs, " ".join(cmd)))
        sys.stdout.flush()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with open(os.path.join(args.out, "run-%d.txt" % (i + 1)), "w") as f:
            f.write(p.stdout)
        if p.returncode != 0:
            sys.stdout.write(p.stdout)
            sys.exit("bench.py: mapq-bench failed (exit status %d)" % p.returncode)
        with open(path) as f:
            runs.append(json.load(f))
        sys.stdout.write("bench.py: run %d done in %.0f s\n" % (i + 1, time.time() - t0))
    return runs


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
              "| size | mapq | raw ring | " + " | ".join(PEERS) +
              " | mapq / raw ring | mapq / pipe | mapq / best peer |",
              "|---:|---:|---:|" + "---:|" * len(PEERS) + "---:|---:|---:|"]
    for s in sizes:
        q = tp("mapq", s)
        row = ["%d B" % s]
        for mech in ["mapq", "raw-ring"] + PEERS:
            v = tp(mech, s)
            row.append("%s (%.0f)" % (fmt_rate(v["msgs_per_s"]), v["mb_per_s"]) if v else "not run")
        best = max([tp(p, s)["msgs_per_s"] for p in PEERS if tp(p, s)] or [0])
        raw = tp("raw-ring", s)
        pipe = tp("pipe", s)
        row += [ratio(q and q["msgs_per_s"], raw and raw["msgs_per_s"]),
                ratio(q and q["msgs_per_s"], pipe and pipe["msgs_per_s"]),
                ratio(q and q["msgs_per_s"], best)]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "## mapq with more processes (messages/s, each delivered to every reader)", "",
              "| size | 1x1 | 2 writers x 1 reader | 1 writer x 2 readers |", "|---:|---:|---:|---:|"]
    for s in sizes:
        cells = [tp("mapq", s, w, r) for w, r in ((1, 1), (2, 1), (1, 2))]
        lines.append("| %d B | " % s + " | ".join(fmt_rate(c["msgs_per_s"]) if c else "not run"
                                                   for c in cells) + " |")
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

    def latp50(mech, mode=""):
        rec = med.get(("lat", mech, mode))
        return rec[1]["p50_ns"] if rec and rec[1] else None

    targets = []

    def target(text, value, limit, higher_better=True):
        if value is None or limit is None:
            targets.append((text, "not measured", "-"))
            return
        met = value >= limit if higher_better else value <= limit
        targets.append((text, "%.2f" % value, "met" if met else "NOT met"))

    q64, r64, p64 = tp("mapq", 64), tp("raw-ring", 64), tp("pipe", 64)
    q4k, r4k = tp("mapq", 4096), tp("raw-ring", 4096)
    target("64 B 1x1: mapq / raw ring messages/s >= 0.5",
           q64 and r64 and q64["msgs_per_s"] / r64["msgs_per_s"], 0.5)
    target("64 B 1x1: mapq / pipe messages/s >= 10",
           q64 and p64 and q64["msgs_per_s"] / p64["msgs_per_s"], 10)
    target("4 KiB 1x1: mapq / raw ring bandwidth >= 0.7",
           q4k and r4k and q4k["mb_per_s"] / r4k["mb_per_s"], 0.7)
    poll, line = latp50("mapq", "poll"), latp50("cache-line")
    target("busy-poll round trip p50 / cache-line round trip p50 <= 2",
           poll and line and poll / line, 2, higher_better=False)
    block, pipe = latp50("mapq", "block"), latp50("pipe")
    target("blocking round trip p50 / pipe round trip p50 <= 1",
           block and pipe and block / pipe, 1, higher_better=False)
    lines += ["", "## Targets (issue 8)", "", "| target | figure | verdict |", "|---|---:|---|"]
    lines += ["| %s | %s | %s |" % t for t in targets]
    lines += ["", "Each figure is the median over the runs; every run's raw output is in "
              "run-N.txt and run-N.json beside this report."]
    return "\n".join(lines) + "\n", targets


def plot(args, med):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not importable: no plots.png (apt-get install python3-matplotlib)"
    sizes = sorted({k[2] for k in med if k[0] == "tp"})
    fig, ax = plt.subplots(figsize=(8, 5))
    for mech in ["mapq", "raw-ring"] + PEERS:
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("--runs", type=int, default=3, help="runs to take medians over (3)")
    ap.add_argument("--quick", action="store_true", help="mapq-bench --quick (a smoke test)")
    ap.add_argument("--out", default="bench-results", help="output directory (bench-results)")
    ap.add_argument("--bench", help="path of mapq-bench (bench/mapq-bench)")
    ap.add_argument("extra", nargs="*", help="more mapq-bench arguments, after --")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    bench = find_bench(args.bench)
    os.makedirs(args.out, exist_ok=True)
    runs = run_all(args, bench)
    med = medians(runs)
    text, targets = report(args, runs, med)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"runs": runs, "medians": [
            {"key": list(k), "median": v} for k, (_, v) in med.items()],
            "targets": [{"target": t, "figure": v, "verdict": m} for t, v, m in targets]},
            f, indent=1)
    note = plot(args, med)
    sys.stdout.write(text)
    sys.stdout.write("bench.py: %s; report in %s\n" % (note, os.path.join(args.out, "report.md")))


if __name__ == "__main__":
    main()
