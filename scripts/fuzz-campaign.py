#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fuzz-campaign.py - run an AFL++ campaign on one mapq fuzz target.

Builds what it needs (make fuzz, fuzz/gen-seeds), then runs one main
instance (-M, the ASan+UBSan build with CMPLOG) and secondaries (-S) on the
other cores, varied (plain build with the explore and coe power schedules,
ASan build with fast), for a time budget, with a progress line (execs per
second, corpus size, crashes, hangs). At the end it collects crashes and
hangs, minimises each with afl-tmin, de-duplicates crashes by the top of
their sanitizer stack, and writes report.md with a command that reproduces
each one. Works with AFL++ 4.04c (Debian 12).

Examples:
  scripts/fuzz-campaign.py frames --minutes 30
  scripts/fuzz-campaign.py open --minutes 5 --jobs 1
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

TARGETS = ("open", "frames", "ops")
MAX_LEN = {"open": 70000, "frames": 8300, "ops": 4096}


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), **kw)


def stats(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k.strip()] = v.strip()
    except OSError:
        pass
    return out


def rate(st):
    """Executions per second over all instances: done / longest run time."""
    done = sum(int(s.get("execs_done", 0)) for s in st)
    secs = max([int(s.get("run_time", 0)) for s in st] or [0])
    return done / secs if secs else 0.0


def stack_key(text):
    """The first three frames of a sanitizer report that are ours."""
    frames = re.findall(r"#\d+ 0x[0-9a-f]+ in (\S+) (\S+?):\d+", text)
    ours = [f"{fn}" for fn, loc in frames if "/src/" in loc or "/fuzz/" in loc]
    return " < ".join(ours[:3]) or (text.strip().splitlines() or ["no output"])[-1][:120]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("target", choices=TARGETS)
    ap.add_argument("--minutes", type=float, default=30, help="time budget (30)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="afl-fuzz instances (one per core by default)")
    ap.add_argument("--build", default=".", help="the configured build directory (.)")
    ap.add_argument("--out", help="campaign directory (fuzz-campaign-TARGET-<time>)")
    args = ap.parse_args(argv)
    # a budget of nothing fuzzed nothing and reported a clean campaign
    if not args.minutes > 0:
        ap.error("--minutes must be more than 0, not %g" % args.minutes)
    if args.jobs < 1:
        ap.error("--jobs must be at least 1, not %d" % args.jobs)
    return args


def main():
    args = parse_args()
    b = os.path.abspath(args.build)
    t = args.target
    for tool in ("afl-fuzz", "afl-tmin"):
        if not shutil.which(tool):
            sys.exit("fuzz-campaign.py: %s not found: apt-get install afl++, then configure "
                     "again" % tool)
    if sh(["make", "-C", b, "fuzz", "fuzz/gen-seeds", "fuzz/replay-" + t],
          stdout=subprocess.DEVNULL).returncode:
        sys.exit("fuzz-campaign.py: the build failed (make -C %s fuzz)" % b)
    out = os.path.abspath(args.out or "fuzz-campaign-%s-%s" % (t, time.strftime("%Y%m%d-%H%M%S")))
    seeds = os.path.join(out, "seeds")
    os.makedirs(out, exist_ok=True)
    sh([os.path.join(b, "fuzz/gen-seeds"), seeds], stdout=subprocess.DEVNULL, check=True)
    bins = {k: os.path.join(b, "fuzz/afl-%s%s" % (k, t)) for k in ("", "asan-", "cmplog-")}
    dict_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "mapq.dict")
    env = dict(os.environ, AFL_NO_UI="1", AFL_SKIP_CPUFREQ="1", AFL_NO_AFFINITY="1",
               AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES="1")
    secs = int(args.minutes * 60)
    common = ["-i", os.path.join(seeds, t), "-o", os.path.join(out, "findings"), "-m", "none",
              "-t", "5000", "-V", str(secs), "-x", dict_file]
    plans = [["-M", "main", "-c", bins["cmplog-"], "--", bins["asan-"]],
             ["-S", "s1", "-p", "explore", "--", bins[""]],
             ["-S", "s2", "-p", "coe", "--", bins[""]],
             ["-S", "s3", "-p", "fast", "--", bins["asan-"]]]
    procs = []
    for i in range(max(1, args.jobs)):
        plan = plans[i % len(plans)] if i < len(plans) else ["-S", "s%d" % i, "--", bins[""]]
        log = open(os.path.join(out, "afl-%d.log" % i), "w")
        procs.append(subprocess.Popen(["afl-fuzz"] + common + plan, env=env, stdout=log,
                                      stderr=subprocess.STDOUT))
    print("fuzz-campaign.py: %s, %d instance(s), %.0f min, in %s" % (t, len(procs),
                                                                    args.minutes, out))
    t0 = time.time()
    tty = sys.stdout.isatty()
    while any(p.poll() is None for p in procs):
        time.sleep(5 if tty else 60)
        st = [stats(f) for f in glob.glob(os.path.join(out, "findings", "*", "fuzzer_stats"))]
        line = "%5.0f s  execs/s %.0f  execs %d  corpus %d  crashes %d  hangs %d" % (
            time.time() - t0, rate(st),
            sum(int(s.get("execs_done", 0)) for s in st),
            max([int(s.get("corpus_count", 0)) for s in st] or [0]),
            sum(int(s.get("saved_crashes", 0)) for s in st),
            sum(int(s.get("saved_hangs", 0)) for s in st))
        print(("\r" + line) if tty else line, end="" if tty else "\n", flush=True)
    print()
    # Collect, minimise, de-duplicate.
    found = sorted(glob.glob(os.path.join(out, "findings", "*", "crashes", "id*")) +
                   glob.glob(os.path.join(out, "findings", "*", "hangs", "id*")))
    mini = os.path.join(out, "minimised")
    os.makedirs(mini, exist_ok=True)
    groups = {}
    for i, f in enumerate(found):
        kind = "hang" if "/hangs/" in f else "crash"
        m = os.path.join(mini, "%s-%03d" % (kind, i))
        sh(["afl-tmin", "-i", f, "-o", m, "-m", "none", "-t", "5000", "--", bins["asan-"]],
           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not os.path.exists(m):
            shutil.copy(f, m)
        r = sh([bins["asan-"]], stdin=open(m, "rb"), capture_output=True, text=True, env=env,
               timeout=60) if kind == "crash" else None
        key = kind + ": " + (stack_key(r.stderr) if r else "timeout")
        groups.setdefault(key, []).append(m)
    st = [stats(f) for f in glob.glob(os.path.join(out, "findings", "*", "fuzzer_stats"))]
    lines = ["# AFL++ campaign: %s" % t, "",
             "%.0f minutes, %d instances; %d execs (%.0f/s); corpus %d; "
             "%d crashes and hangs in %d distinct groups." % (
                 args.minutes, len(procs), sum(int(s.get("execs_done", 0)) for s in st),
                 rate(st),
                 max([int(s.get("corpus_count", 0)) for s in st] or [0]), len(found), len(groups))]
    for key, files in sorted(groups.items()):
        lines += ["", "## " + key, "", "%d inputs; reproduce the first with:" % len(files), "",
                  "    %s %s" % (os.path.join(b, "fuzz/replay-" + t), files[0])]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
