#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""stress.py - a stress campaign: many mapq-torture runs over a matrix of
writers x readers x message sizes x policy x fault mode, for a time budget.

Every run's verdict is read from its JSON report. A failing run keeps its
report, its seed and the exact command that reproduces it. At the end the
campaign writes summary.md and summary.json (per matrix cell: runs,
messages, kills, fault-point deaths, worst stall, throughput) and, when
matplotlib can be imported, plots.png.

Examples:
  scripts/stress.py --quick            # about 30 s
  scripts/stress.py                    # a few minutes
  scripts/stress.py --soak 2h --collect
  scripts/stress.py --modes hostile hostile-storm --budget 10m   # a hostile campaign

The hostile modes run a peer that scribbles into the mapping (mapq-torture
--hostile): their verdict is no crash, no call past its timeout, and a
clean fresh open, since nothing can promise the data.

With --sim the campaign runs the deterministic simulator instead
(sim/mapq-sim from a build configured with --enable-sim,
doc/simulation.md): each run is a stretch of schedules of one cell of
writers x readers x message sizes x deaths and stalls, and a failure keeps
the command that replays its schedule exactly:
  scripts/stress.py --sim --quick
  scripts/stress.py --sim _build/sim/sim/mapq-sim --soak 1h
"""

import argparse
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

MODES = {
    "none": [],
    "kills": ["--kill-rate", "4"],
    "durable-kills": ["--kill-rate", "4", "--durable"],
    "pauses": ["--pause-rate", "8", "--unblock-ms", "200"],
    "fault-points": ["--fault-points", "all"],
    "hostile": ["--hostile", "20", "--kill-rate", "2", "--unblock-ms", "100"],
    "hostile-storm": ["--hostile", "300", "--kill-rate", "2", "--unblock-ms", "100"],
}
SIZES = {"small": (24, 128), "mixed": (24, 2048)}
# The simulator's cells: the 4 KiB ring of its default workload.
SIM_MODES = {
    "no-deaths": ["-k", "0"],
    "deaths": ["-k", "1"],
    "deaths-stalls": ["-k", "2", "--stalls", "1"],
}
SIM_SIZES = {"small": (24, 200), "quarter-ring": (24, 1024)}


def parse_duration(text):
    """'90', '90s', '30m', '2h' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        secs = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        secs = -1
    if not secs > 0:  # a negative or zero budget ran nothing, and said it passed
        raise argparse.ArgumentTypeError(
            "a duration is a positive number of seconds, or ends in s, m or h: %r" % text)
    return secs


def find_torture(given):
    candidates = [given] if given else [
        "harness/mapq-torture",
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness", "mapq-torture"),
    ]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    sys.exit("stress.py: cannot find harness/mapq-torture; build it (make) or pass --torture PATH")


def find_sim(given):
    candidates = [given] if given and given != "auto" else [
        "sim/mapq-sim", "_build/sim/sim/mapq-sim"]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    sys.exit("stress.py: mapq-sim not found (tried %s); build it with "
             "./configure --enable-sim && make, or give its path: --sim PATH"
             % ", ".join(c for c in candidates if c))


def sim_cells(args):
    for w, r, size, mode in itertools.product(args.writers, args.readers, SIM_SIZES,
                                              SIM_MODES):
        yield (min(w, 8), min(r, 4), size, "sim", mode)


def run_one_sim(sim, cell, secs, seed, outdir, index):
    w, r, size, _, mode = cell
    lo, hi = SIM_SIZES[size]
    js = os.path.join(outdir, "sim-%05d.json" % index)
    cmd = [sim, "-q", "-w", str(w), "-r", str(r), "--min-size", str(lo), "--max-size", str(hi),
           "--seed", str(seed), "-n", "1000000000", "--time-limit", "%d" % max(secs, 1),
           "--json", js] + SIM_MODES[mode]
    return run_reporting(cmd, js, cell, seed)


def write_sim_reports(outdir, results, args, elapsed):
    table = {}
    for res in results:
        t = table.setdefault(cell_name(res["cell"]), {"runs": 0, "failures": 0, "schedules": 0,
                                                       "deaths": 0, "stalls": 0, "rates": []})
        rep = res["report"] or {}
        t["runs"] += 1
        t["failures"] += res["status"] != 0
        for k in ("schedules", "deaths", "stalls"):
            t[k] += rep.get(k, 0)
        if rep.get("schedules_per_s"):
            t["rates"].append(rep["schedules_per_s"])
    for t in table.values():
        rates = sorted(t.pop("rates"))
        t["median_schedules_per_s"] = rates[len(rates) // 2] if rates else 0
    tot = {k: sum(t[k] for t in table.values())
           for k in ("runs", "failures", "schedules", "deaths", "stalls")}
    failures = [r for r in results if r["status"] != 0]
    replays = [((r["report"] or {}).get("failure") or {}).get("replay") for r in failures]
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump({"totals": tot, "cells": table, "elapsed_s": elapsed, "seed": args.seed,
                   "failures": [{"cell": cell_name(r["cell"]), "command": r["cmd"],
                                 "replay": rp, "json": r["json"]}
                                for r, rp in zip(failures, replays)]}, f, indent=2)
    lines = ["# mapq simulation campaign", "",
             "%d runs, %d schedules in %.0f s, seed %d: %d failed; %d deaths, %d stalls." % (
                 tot["runs"], tot["schedules"], elapsed, args.seed, tot["failures"],
                 tot["deaths"], tot["stalls"]), "",
             "| cell | runs | failed | schedules | deaths | stalls | median schedules/s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, t in sorted(table.items()):
        lines.append("| %s | %d | %d | %d | %d | %d | %.0f |" % (
            name, t["runs"], t["failures"], t["schedules"], t["deaths"], t["stalls"],
            t["median_schedules_per_s"]))
    if failures:
        lines += ["", "## Failures", ""]
        for r, rp in zip(failures, replays):
            lines.append("- %s: exit %d; replay with `%s`" % (
                cell_name(r["cell"]), r["status"], rp or r["cmd"]))
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return tot


def supports_fault_points(torture):
    """A build without fault injection refuses --fault-points with status 2.
    The probe runs in a directory of its own, removed afterwards: a run
    that fails keeps its run directory, and the probe's must not stay."""
    probe = tempfile.mkdtemp(prefix="mapq-stress-probe.",
                             dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    try:
        r = subprocess.run([torture, "--fault-points", "all", "--duration", "0.1", "-q",
                            "--dir", probe], capture_output=True, text=True)
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return not (r.returncode == 2 and "enable-fault-injection" in r.stderr)


def cells(args, with_faults):
    modes = [m for m in args.modes if with_faults or m != "fault-points"]
    for w, r, size, policy, mode in itertools.product(
            args.writers, args.readers, SIZES, ("block", "overwrite"), modes):
        if policy == "overwrite" and mode in ("durable-kills", "fault-points"):
            continue  # durable cursors and repair matter under block
        yield (w, r, size, policy, mode)


def cell_name(c):
    return "%dw x %dr %s %s %s" % c


def run_reporting(cmd, js, cell, seed):
    """Run a command that writes its JSON report to @js; what a campaign keeps of it."""
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    report = None
    try:
        with open(js) as f:
            report = json.load(f)
    except (OSError, ValueError):
        pass
    return {"cell": cell, "cmd": " ".join(cmd), "status": p.returncode, "seed": seed,
            "json": js, "report": report, "secs": time.time() - t0,
            "output": p.stdout[-4000:] + p.stderr[-4000:]}


def run_one(torture, cell, secs, seed, outdir, index):
    w, r, size, policy, mode = cell
    lo, hi = SIZES[size]
    js = os.path.join(outdir, "run-%05d.json" % index)
    cmd = [torture, "-q", "--writers", str(w), "--readers", str(r), "--duration", "%g" % secs,
           "--min-size", str(lo), "--max-size", str(hi), "--policy", policy,
           "--seed", str(seed), "--json", js] + MODES[mode]
    if hi > 2048:
        cmd += ["--capacity", "262144"]
    return run_reporting(cmd, js, cell, seed)


def summarize(results):
    table = {}
    for res in results:
        name = cell_name(res["cell"])
        t = table.setdefault(name, {"runs": 0, "failures": 0, "acknowledged": 0, "delivered": 0,
                                    "kills": 0, "fault_point_deaths": 0, "pauses": 0,
                                    "repaired": 0,
                                    "worst_stall_ms": 0.0, "msgs_per_s": []})
        t["runs"] += 1
        rep = res["report"] or {}
        if res["status"] != 0:
            t["failures"] += 1
        t["acknowledged"] += rep.get("acknowledged", 0)
        t["delivered"] += rep.get("delivered", 0)
        k = rep.get("kills", {})
        t["kills"] += k.get("writers", 0) + k.get("readers", 0)
        t["fault_point_deaths"] += k.get("fault_points", 0)
        t["pauses"] += rep.get("pauses", 0)
        t["repaired"] += rep.get("repaired", 0)
        t["worst_stall_ms"] = max(t["worst_stall_ms"], rep.get("max_stall_ms", 0.0))
        if rep.get("msgs_per_s"):
            t["msgs_per_s"].append(rep["msgs_per_s"])
    for t in table.values():
        rates = sorted(t.pop("msgs_per_s"))
        t["median_msgs_per_s"] = rates[len(rates) // 2] if rates else 0
    return table


def totals(results):
    keys = ("corrupt", "duplicated", "reordered", "lost", "losses_miscounted", "acknowledged",
            "delivered")
    out = {k: sum((r["report"] or {}).get(k, 0) for r in results) for k in keys}
    out["runs"] = len(results)
    out["failures"] = sum(1 for r in results if r["status"] != 0)
    out["kills"] = sum(sum((r["report"] or {}).get("kills", {}).values()) for r in results)
    hostile = [(r["report"] or {}).get("hostile") for r in results]
    hostile = [h for h in hostile if h]
    out["hostile_runs"] = len(hostile)
    for k in ("scribbles", "crashes", "hangs", "errors"):
        out[k] = sum(h.get(k, 0) for h in hostile)
    out["max_over_ms"] = max([h.get("max_over_ms", 0.0) for h in hostile] or [0.0])
    out["final_open_failed"] = sum(1 for h in hostile if h.get("final_open") != "OK")
    return out


def write_reports(outdir, results, args, elapsed):
    table = summarize(results)
    tot = totals(results)
    failures = [r for r in results if r["status"] != 0]
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump({"totals": tot, "cells": table, "elapsed_s": elapsed, "seed": args.seed,
                   "failures": [{"cell": cell_name(r["cell"]), "command": r["cmd"],
                                 "seed": r["seed"], "json": r["json"]} for r in failures]},
                  f, indent=2)
    lines = ["# mapq stress campaign", "",
             "%d runs in %.0f s, seed %d: %d failed." % (tot["runs"], elapsed, args.seed,
                                                          tot["failures"]),
             "", "Totals: %d messages acknowledged, %d delivered, %d kills; corrupt %d, "
             "duplicated %d, reordered %d, lost after acknowledgement %d; readers whose "
             "loss reports did not add up (overwrite policy) %d." % (
                 tot["acknowledged"], tot["delivered"], tot["kills"], tot["corrupt"],
                 tot["duplicated"], tot["reordered"], tot["lost"],
                 tot["losses_miscounted"]), "",
             "Hostile peer: %d runs, %d scribbles; crashes %d, hangs %d (most over a "
             "timeout: %.1f ms), %d errors returned (all named), fresh opens that failed "
             "(with a named code) %d." % (
                 tot["hostile_runs"], tot["scribbles"], tot["crashes"], tot["hangs"],
                 tot["max_over_ms"], tot["errors"], tot["final_open_failed"]), "",
             "| cell | runs | failed | acknowledged | kills | fault-point deaths | pauses "
             "| frames repaired | worst stall (ms) | median msgs/s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, t in sorted(table.items()):
        lines.append("| %s | %d | %d | %d | %d | %d | %d | %d | %.1f | %.0f |" % (
            name, t["runs"], t["failures"], t["acknowledged"], t["kills"],
            t["fault_point_deaths"], t["pauses"], t["repaired"], t["worst_stall_ms"],
            t["median_msgs_per_s"]))
    if failures:
        lines += ["", "## Failures", ""]
        for r in failures:
            lines.append("- %s: exit %d, report `%s`; reproduce with `%s`" % (
                cell_name(r["cell"]), r["status"], r["json"], r["cmd"]))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        names = sorted(table)
        fig, ax = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
        ax[0].bar(range(len(names)), [table[n]["median_msgs_per_s"] for n in names])
        ax[0].set_ylabel("median msgs/s")
        ax[1].bar(range(len(names)), [table[n]["worst_stall_ms"] for n in names])
        ax[1].set_ylabel("worst stall (ms)")
        ax[1].set_xticks(range(len(names)))
        ax[1].set_xticklabels(names, rotation=90, fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, "plots.png"))
        lines += ["", "Plots: plots.png (throughput and worst stall per cell)."]
    except ImportError:
        lines += ["", "No plots: matplotlib is not importable by %s (on Debian: apt-get install "
                  "python3-matplotlib, for /usr/bin/python3)." % sys.executable]
    with open(os.path.join(outdir, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return tot


def plan(matrix, rng):
    """The order a campaign runs its cells in: shuffled by the campaign's
    generator (random.Random(seed), which then draws the runs' seeds), so
    that a short budget does not always run the same first ones, and the
    same seed runs them in the same order."""
    matrix = list(matrix)
    rng.shuffle(matrix)
    return matrix


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="about 30 s")
    g.add_argument("--soak", type=parse_duration, metavar="DURATION",
                   help="run for DURATION (90, 30m, 2h)")
    g.add_argument("--budget", type=parse_duration, default=180, metavar="DURATION",
                   help="total time (default 180 s)")
    ap.add_argument("--collect", action="store_true",
                    help="keep going after a failure (default: stop at the first)")
    ap.add_argument("--seed", type=int, default=int(time.time()), help="campaign seed")
    ap.add_argument("--writers", type=int, nargs="+", default=[1, 4], help="writer counts")
    ap.add_argument("--readers", type=int, nargs="+", default=[1, 3], help="reader counts")
    ap.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES),
                    help="fault modes to run (default: all)")
    ap.add_argument("--torture", help="path to mapq-torture (default: harness/mapq-torture)")
    ap.add_argument("--out", help="results directory (default: stress-results/<time>)")
    ap.add_argument("--sim", nargs="?", const="auto", metavar="PATH",
                    help="run the deterministic simulator instead (sim/mapq-sim, or PATH)")
    ap.add_argument("--dry-run", action="store_true",
                    help="print the campaign's plan (its cells in order, the budget, the length "
                         "of a run) and run nothing")
    return ap.parse_args(argv)


def main():
    args = parse_args()
    budget = 30 if args.quick else args.soak if args.soak else args.budget
    run_secs = 1.5 if args.quick else 4 if not args.soak else 10
    if args.dry_run:
        # nothing is run, so nothing need be built yet: the plan of a
        # build with fault points
        matrix = list(sim_cells(args) if args.sim else cells(args, True))
        print("stress.py: dry run: %d cells, budget %.0f s, runs of %g s, seed %d; "
              "cells in the order they would run:" % (len(matrix), budget, run_secs, args.seed))
        for c in plan(matrix, random.Random(args.seed)):
            print("  " + cell_name(c))
        return 0
    if args.sim:
        runner = find_sim(args.sim)
        run = run_one_sim
        matrix = list(sim_cells(args))
        run_secs = max(run_secs, 2)
        faults = True
    else:
        runner = find_torture(args.torture)
        run = run_one
        faults = supports_fault_points(runner)
        matrix = list(cells(args, faults))
    outdir = args.out or os.path.join("stress-results", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(outdir, exist_ok=True)
    rng = random.Random(args.seed)
    matrix = plan(matrix, rng)
    print("stress.py: %d cells, budget %.0f s, runs of %g s, seed %d, results in %s" % (
        len(matrix), budget, run_secs, args.seed, outdir))
    if not faults:
        print("stress.py: fault-point cells left out: mapq-torture was built without "
              "--enable-fault-injection")
    results = []
    t0 = time.time()
    kills = fails = schedules = 0
    tty = sys.stdout.isatty()
    for i in itertools.count():
        left = budget - (time.time() - t0)
        if left < run_secs * 0.5 and results:
            break
        cell = matrix[i % len(matrix)]
        res = run(runner, cell, min(run_secs, max(left, 0.5)), rng.randrange(1, 2**62),
                  outdir, i)
        results.append(res)
        rep = res["report"] or {}
        kills += rep.get("deaths", 0) if args.sim else sum(rep.get("kills", {}).values())
        schedules += rep.get("schedules", 0)
        if res["status"] != 0:
            fails += 1
            print("\nFAIL: %s (exit %d)\n  reproduce: %s\n  report: %s\n%s" % (
                cell_name(cell), res["status"], res["cmd"], res["json"], res["output"]))
        line = "runs %d, %.0f s left, %skills %d, failures %d  [%s]" % (
            len(results), max(budget - (time.time() - t0), 0),
            "schedules %d, " % schedules if args.sim else "", kills, fails, cell_name(cell))
        print(("\r" + line.ljust(100)) if tty else line, end="" if tty else "\n", flush=True)
        if fails and not args.collect:
            break
    if tty:
        print()
    if args.sim:
        tot = write_sim_reports(outdir, results, args, time.time() - t0)
        print("stress.py: %d simulator runs, %d failed; %d schedules, %d deaths, %d stalls. "
              "Summary: %s" % (tot["runs"], tot["failures"], tot["schedules"], tot["deaths"],
                               tot["stalls"], os.path.join(outdir, "summary.md")))
        return 1 if tot["failures"] else 0
    tot = write_reports(outdir, results, args, time.time() - t0)
    print("stress.py: %d runs, %d failed; %d acknowledged, corrupt %d, duplicated %d, "
          "reordered %d, lost %d, losses miscounted %d; %d kills. Summary: %s" % (
              tot["runs"], tot["failures"], tot["acknowledged"], tot["corrupt"],
              tot["duplicated"], tot["reordered"], tot["lost"], tot["losses_miscounted"],
              tot["kills"], os.path.join(outdir, "summary.md")))
    if tot["hostile_runs"]:
        print("stress.py: hostile peer: %d runs, %d scribbles, %d crashes, %d hangs" % (
            tot["hostile_runs"], tot["scribbles"], tot["crashes"], tot["hangs"]))
    return 1 if tot["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
