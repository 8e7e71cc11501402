#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""model.py - check model/mapq.pml with spin, in every interleaving.

Each configuration is a size of the model (writers, messages each, frames
in the ring), and with ":wake" the sleeps and wake-ups in place of busy
waits: the sleeper flags of wait.c, with no deaths and no stalls, so that
every sleep ends by a wake-up alone and a lost one leaves a process
asleep for ever (an invalid end state); with ":over" the overwrite
policy, where writers push a lapped reader past the frames they take
and count what it loses; with ":crash" a crash of every process at any
step, then exclusive recovery (which may itself die once, at any step,
and is run again) and the durable reader restarted; with ":abort" a
writer that may take any message back (mapq_abort()); with ":join" a
second reader that joins at the oldest frame while the writers move head
(the head mover's intent and second look at the readers), and with
":overjoin" the same under the overwrite policy (the pushes, and the lift
of a joiner the pushes missed), and with ":joinloss" the joiner's lost
counts as well (each told, adding up: a campaign configuration, twice the
states); with ":takeover" a new writer that takes
a dead writer's slot, settles what the dead one left, and sends after
it; with ":leave" sleeps and wake-ups with a reader that may close
between any two reads (the writers it held back must be woken); with
":nodeaths" nobody dies (writers still stall, and are forsaken); with
":resume" the reader is durable, and may close and come back once
(":resume2" to ":resume4": as many times); with ":rdeath" the reader may
die at any step, and the writers it held back free its slot, and with
":rdurable" the reader is durable: its slot is detached, holds the
writers back until it comes back, and it reads on from its cursor, and
with ":rdeathwake" the (ephemeral) reader dies beside sleeps and
wake-ups, the writers living; with
":sendbatch" writer 0 sends its first two messages as one batch (with
":crashbatch" a crash too, with ":sendwake" sleeps and wake-ups, with
":sendrdeath" a reader that dies (":sendrdurable": a durable one, which
comes back), with ":alonebatch" the writer alone,
with ":sendabort" the other messages perhaps taken back, with
":sendresume" a durable reader that closes and comes back, with
":sendleave" sleeps and a reader that closes, with ":bothbatch" a reader
that reads two frames before one release); with ":pad" writer 0's first
message is a reservation that wraps, padding before its frame (with
":padnodeaths" stalls and no deaths, ":padcrash" a crash, ":padwake"
sleeps and wake-ups, ":padabort" messages taken back, ":padalone" the
writer alone, ":padrdeath" a reader that dies, ":padover" the overwrite
policy); with ":sync" a process that calls mapq_sync() at any moment
(its wait for the frames before its end, the flush, the checkpoint;
":sync2" two at once, the reader alone forsaking, with stalls and no
deaths, ":sync2deaths" with
writers dying, ":syncwake" beside sleeps and wake-ups, ":syncover" under
the overwrite policy). spin
generates a verifier (pan) for it, which searches every
state the model can reach, with a writer dying at any step, for an
assertion that fails or an end state that is not valid (a process stuck
for ever). The search is exhaustive where the state space fits the memory
limit; where it does not, the report says so (the states stored are a
part of them, the configuration is not proven), and --bitstate searches
more of it with a hash of each state (each state seen at most once; some
may be missed, as spin's coverage estimate says).

Then each seeded bug (BUG_* in the model: a step of the protocol done the
way an earlier design or an easy slip would do it) must be found: a model
that passes with the bug in it checks nothing about that step.

The searches run side by side, one per CPU (--jobs), as far as the
memory allows each its --mem. SIGTERM, SIGHUP or Ctrl-C kills them and
removes their files (exit status 128 + the signal).

A failure prints the counterexample as a numbered list of the steps of the
trail: the process, the model's line and step, and what it changed.

Examples:
  scripts/model.py                      # the quick configurations and the bugs (make check-model)
  scripts/model.py --config 2x2x2       # one configuration: writers x messages x frames
  scripts/model.py --config 2x2x2:wake  # the same with sleeps and wake-ups
  scripts/model.py --config 2x1x1:over  # the overwrite policy
  scripts/model.py --config 1x3x2:crash # a crash, recovery, the reader restarted
  scripts/model.py --config 2x1x1:abort # writers that take messages back
  scripts/model.py --config 1x2x1:join  # a reader joining while head moves
  scripts/model.py --config 2x1x1:takeover  # a dead writer's slot taken over
  scripts/model.py --config 2x2x2 --bitstate
  scripts/model.py --no-bugs --mem 6000
  scripts/model.py --bug BUG_POS_FIRST # one seeded bug, in its configuration
  scripts/model.py --campaign --mem 16000 --timeout 3600   # the bigger ones (hours)

--campaign searches the bigger configurations of CAMPAIGN (or those
given with --config), one after the other, and writes a table of what
each search covered to --out/summary.md: exhaustive, stopped at the
memory or time limit (not proven), or bitstate with the hash factor spin
reports (above 100, few states are likely missed; near 1, many).
"""
import argparse
import concurrent.futures
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
MODEL = os.path.join(TOP, "model", "mapq.pml")

# writers x messages x frames[:mode]. Searched whole in CI.
QUICK = ["2x1x1", "2x1x1:wake", "1x4x2:over", "1x3x2:crash", "1x3x2:abort", "1x2x1:join",
         "1x2x1:overjoin", "1x2x2:takeover", "2x2x2:leave", "1x3x2:resume",
         "1x4x2:resume4", "1x3x2:alone", "1x3x2:alonetakeover", "1x3x2:batch",
         "1x4x2:overbatch", "1x3x2:rdeath", "1x3x2:rdurable", "1x3x2:rdeathwake",
         "1x3x2:sendbatch", "2x2x2:sendbatch", "1x3x2:crashbatch", "2x2x2:sendwake",
         "1x3x2:sendrdeath", "1x3x2:alonebatch", "1x3x2:sendabort", "1x3x2:sendresume",
         "2x2x2:sendleave", "1x4x2:bothbatch", "1x3x2:sendrdurable", "1x3x2:pad",
         "2x1x2:padnodeaths", "1x2x2:padcrash", "2x1x2:padwake", "1x3x2:padabort",
         "1x3x2:padalone", "1x3x2:padrdeath", "1x4x2:padover", "1x2x2:sync", "1x1x2:sync2",
         "1x3x2:syncwake"]
# Bigger configurations, for --campaign: each took more than CI's minutes
# or more than 3 GB here (doc/model.md has the figures).
CAMPAIGN = ["2x2x2", "2x2x2:wake", "2x1x2:abort", "2x1x1:crash", "2x2x1:over", "2x3x2:wake",
            "1x4x3:crash", "2x2x2:over", "2x1x1:abort", "1x3x1:join", "2x1x1:takeover",
            "1x2x1:joinloss", "2x1x1:resume2", "2x1x1:batch", "2x1x1:rdeath", "2x1x1:rdurable",
            "2x3x2:sendbatch", "1x4x2:crashbatch", "2x3x2:sendwake", "2x2x2:sendrdeath",
            "2x2x2:sendabort", "2x2x2:sendresume", "2x2x2:bothbatch", "2x2x3:bothbatch",
            "2x2x2:sendrdurable", "1x3x2:padcrash", "2x1x2:pad", "2x2x2:padwake", "2x1x2:padover",
            "1x1x2:sync2deaths", "1x2x2:syncover"]
# Each seeded bug, and the configuration that must find it; "bitstate":
# by a bitstate search, where the exhaustive one fills its memory limit
# before it reaches the bug; "P_REVERSE" or "T_REVERSE": the verifier
# tries the processes, or each process's choices, last first (pan's
# order decides only how soon a search meets the bug, and the first
# order met these after 3 to 15 million states; doc/model.md, "Time").
# A trail found in any of these ways is a real one.
BUGS = [("BUG_SETTLE_STORE", "2x1x1"), ("BUG_FORSAKE_PUBLISHING", "2x1x1"),
        ("BUG_POS_FIRST", "2x1x1"), ("BUG_SEEN_AFTER_FLAG", "2x1x1:wake"),
        ("BUG_WAKE_BEFORE_POS", "2x1x1:wake"), ("BUG_ADVANCE_STORE", "1x4x2:over"),
        ("BUG_LOST_UNCOUNTED", "1x4x2:over"), ("BUG_RELEASE_FIRST", "1x3x2:crash"),
        ("BUG_RECOVER_KEEP_CLAIM", "1x3x2:crash"), ("BUG_ABORT_COMMITTED", "1x3x2:abort"),
        ("BUG_JOIN_NO_INTENT", "1x2x1:join", "P_REVERSE"),
        ("BUG_JOIN_NO_RESCAN", "1x2x1:join", "P_REVERSE"),
        ("BUG_NO_LIFT", "1x2x1:overjoin", "P_REVERSE"),
        ("BUG_HWM_LATE", "1x2x1:join", "T_REVERSE"),
        ("BUG_JOIN_LOST_UNCOUNTED", "1x2x1:joinloss", "T_REVERSE"),
        ("BUG_TAKEOVER_ABORT", "2x1x1:takeover", "bitstate"),
        ("BUG_LEAVE_NO_WAKE", "2x2x2:leave"), ("BUG_LEAVE_WAKE_FIRST", "2x2x2:leave"),
        ("BUG_MARK_SKIPS_BUSY", "2x1x1"),
        ("BUG_REPAIR_HEADER", "2x2x1:nodeaths", "P_REVERSE"),
        ("BUG_RESUME_BUSY", "1x2x1:resume"), ("BUG_ALONE_CONFIRMED", "1x2x1:alone"),
        ("BUG_EARLY_CONFIRMED", "2x1x1"), ("BUG_BATCH_SHORT_RELEASE", "1x3x2:batch"),
        ("BUG_BATCH_LATE_PAYLOAD", "1x4x2:overbatch"), ("BUG_NO_REAP", "1x3x2:rdeath"),
        ("BUG_REAP_LIVE", "1x3x2:rdeath"), ("BUG_REAP_DURABLE_FREE", "1x3x2:rdurable"),
        ("BUG_SPACE_SLEEP_UNBOUNDED", "1x3x2:rdeathwake"),
        ("BUG_BATCH_NO_WALK", "1x3x2:sendbatch"),
        ("BUG_BATCH_WALK_FROM_START", "2x2x2:sendbatch", "P_REVERSE"),
        ("BUG_BATCH_WAKE_FIRST", "2x2x2:sendwake"), ("BUG_PAD_COVERS_START", "1x3x2:pad"),
        ("BUG_PAD_EARLY", "2x1x2:padnodeaths", "P_REVERSE"),
        ("BUG_PAD_COUNTED_LOST", "1x4x2:padover"),
        ("BUG_SYNC_WORD_ONLY", "1x2x2:sync"), ("BUG_CKPT_BACK", "1x1x2:sync2"),
        ("BUG_CKPT_FAILED_FLUSH", "1x2x2:sync")]


# Searches run in threads (--jobs); each message and counterexample is
# printed whole under this lock, so that two searches' lines never mix.
OUTPUT = threading.Lock()


def say(msg):
    with OUTPUT:
        print("model: " + msg, file=sys.stderr, flush=True)


# The searches' work directories are made in one of the run's own, and the
# compilers and verifiers running are in RUNNING: a signal that ends the
# run (SIGTERM from a time limit, Ctrl-C) kills them and removes it all,
# rather than leave verifiers searching for up to --timeout in
# directories nobody removes. Under CHILDREN, so that no child starts
# once the stop has begun.
CHILDREN = threading.Lock()
RUNNING = set()
STOP = {"work": None, "signal": 0}


def run(argv, cwd, timeout=None):
    """Run @argv in @cwd: (status, its output and errors, timed out). After
    @timeout s it is killed, with what it wrote so far kept."""
    with CHILDREN:
        if STOP["signal"]:
            raise SystemExit(128 + STOP["signal"])
        p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        RUNNING.add(p)
    try:
        try:
            out, err = p.communicate(timeout=timeout)
            return p.returncode, out + err, False
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return p.returncode, out + err, True
    finally:
        with CHILDREN:
            RUNNING.discard(p)


def stop(signum, _frame):
    """A signal ends the run: kill the children, remove the work, exit."""
    with CHILDREN:
        STOP["signal"] = signum
        children = list(RUNNING)
    for p in children:
        p.kill()
    for p in children:
        p.wait()
    if STOP["work"]:
        shutil.rmtree(STOP["work"], ignore_errors=True)
    print("model: stopped by signal %d; its searches killed, their files removed" % signum,
          file=sys.stderr, flush=True)
    os._exit(128 + signum)


# Each mode of a configuration: the model's defines, and what it checks.
MODES = {
    ":wake": (["-DWAKEUPS"], "sleeps and wake-ups"),
    ":over": (["-DOVERWRITE"], "the overwrite policy"),
    ":crash": (["-DCRASH"], "a crash and recovery"),
    ":abort": (["-DABORTS"], "mapq_abort()"),
    ":join": (["-DJOIN"], "a reader joining"),
    ":overjoin": (["-DOVERWRITE", "-DJOIN"], "one joining under the overwrite policy"),
    ":joinloss": (["-DOVERWRITE", "-DJOIN", "-DJOIN_LOSSES"],
                  "that with the joiner's lost counts"),
    ":takeover": (["-DTAKEOVER"], "a dead writer's slot taken over"),
    ":leave": (["-DWAKEUPS", "-DLEAVE"], "wake-ups with a reader that closes"),
    ":nodeaths": (["-DNO_DEATHS"], "no deaths"),
    ":resume": (["-DRESUME"], "a durable reader that closes and comes back"),
    ":resume2": (["-DRESUME", "-DRESUMES=2"], "that twice"),
    ":resume3": (["-DRESUME", "-DRESUMES=3"], "three times"),
    ":resume4": (["-DRESUME", "-DRESUMES=4"], "four times"),
    ":alone": (["-DALONE"], "a writer alone in a queue of one writer slot (1 writer)"),
    ":alonetakeover": (["-DALONE", "-DTAKEOVER"], "that writer dying and its slot taken over"),
    ":batch": (["-DBATCH"], "a reader that reads two frames before one release"),
    ":overbatch": (["-DOVERWRITE", "-DBATCH"], "that under the overwrite policy"),
    ":rdeath": (["-DRDEATH"], "a reader that dies, its slot freed by the writers"),
    ":rdurable": (["-DRDEATH", "-DRDURABLE"],
                  "a durable reader that dies, its slot detached, and comes back"),
    ":sendbatch": (["-DSENDBATCH"], "writer 0 sending its first two messages in one batch"),
    ":crashbatch": (["-DCRASH", "-DSENDBATCH"], "that with a crash and recovery"),
    ":sendwake": (["-DWAKEUPS", "-DSENDBATCH"], "that with sleeps and wake-ups"),
    ":rdeathwake": (["-DRDEATH", "-DWAKEUPS"],
                    "a reader that dies beside sleeps and wake-ups (writers live)"),
    ":sendrdeath": (["-DRDEATH", "-DSENDBATCH"], "that with a reader that dies"),
    ":sendrdurable": (["-DRDEATH", "-DRDURABLE", "-DSENDBATCH"],
                      "that with a durable reader that dies and comes back"),
    ":alonebatch": (["-DALONE", "-DSENDBATCH"], "that sent by a writer alone (1 writer)"),
    ":sendabort": (["-DABORTS", "-DSENDBATCH"], "that beside messages taken back"),
    ":sendresume": (["-DRESUME", "-DSENDBATCH"], "that with a durable reader that comes back"),
    ":sendleave": (["-DWAKEUPS", "-DLEAVE", "-DSENDBATCH"],
                   "that with wake-ups and a reader that closes"),
    ":bothbatch": (["-DBATCH", "-DSENDBATCH"], "that with batched reads too"),
    ":pad": (["-DPAD"], "writer 0's first message after padding (a reservation that wraps)"),
    ":padnodeaths": (["-DPAD", "-DNO_DEATHS"], "that with stalls and no deaths"),
    ":padcrash": (["-DPAD", "-DCRASH"], "that with a crash and recovery"),
    ":padwake": (["-DPAD", "-DWAKEUPS"], "that with sleeps and wake-ups"),
    ":padabort": (["-DPAD", "-DABORTS"], "that beside messages taken back"),
    ":padalone": (["-DPAD", "-DALONE"], "that sent by a writer alone (1 writer)"),
    ":padrdeath": (["-DPAD", "-DRDEATH"], "that with a reader that dies"),
    ":padover": (["-DPAD", "-DOVERWRITE"], "that under the overwrite policy"),
    ":sync": (["-DSYNC"], "mapq_sync() by a process of its own, at any moment"),
    ":sync2": (["-DSYNC", "-DSYNCS=2", "-DSYNC_FORSAKES=false", "-DNO_DEATHS"],
               "two syncs at once (the reader alone forsakes), with stalls and no deaths"),
    ":sync2deaths": (["-DSYNC", "-DSYNCS=2", "-DSYNC_FORSAKES=false"],
                     "that with writers dying"),
    ":syncwake": (["-DSYNC", "-DWAKEUPS"], "a sync beside sleeps and wake-ups"),
    ":syncover": (["-DSYNC", "-DOVERWRITE"], "a sync under the overwrite policy"),
}
MODES_HELP = ", ".join("%s for %s" % (k, v[1]) for k, v in MODES.items())


def parse_config(text):
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)(:[a-z0-9]+)?", text)
    if not m or (m.group(4) and m.group(4) not in MODES):
        sys.exit("model: --config: say writers x messages x frames, as 2x1x1, optionally "
                 "followed by a mode: %s; as 2x2x2:wake (got '%s')" % (MODES_HELP, text))
    nw, msgs, nslot = (int(x) for x in m.groups()[:3])
    if m.group(4) in (":alone", ":alonetakeover", ":alonebatch", ":padalone") and nw != 1:
        sys.exit("model: --config %s: :alone is one writer (a queue of one writer slot)" % text)
    if not (1 <= nw <= 2 and 1 <= msgs <= 4 and 1 <= nslot <= 4):
        sys.exit("model: --config %s: the model takes 1-2 writers, 1-4 messages, 1-4 frames"
                 % text)
    return ["-DNW=%d" % nw, "-DMSGS=%d" % msgs, "-DNSLOT=%d" % nslot] + \
        (MODES[m.group(4)][0] if m.group(4) else [])


# Most searches end within a second, and building their verifiers is most
# of their time. So each search is first made with a verifier built
# without optimisation, for at most this many seconds, and built again
# with -O2 only if it needs longer. tcc, where it is installed, builds
# that verifier in a twentieth of a second where cc -O0 takes one or two,
# and it searches at about 0.8 of cc -O0's speed and 0.4 of -O2's: the -O2
# build (6-15 s, beside another search) pays for itself only past about 5
# million states, about twenty seconds of the trial (doc/model.md, "Time").
TRIAL_SECONDS = 20
# The searches of CI's list known to be longer (configurations, and the
# names of seeded bugs): built with -O2 at once, without the trial, and
# started first. A name missing here costs only the trial's time; so
# does one here that is no longer long. --campaign's are all long.
LONG = {"2x1x1", "1x3x2:crash", "1x2x1:join", "1x2x1:overjoin", "2x2x2:sendbatch",
        "1x1x2:sync2", "1x2x2:sync", "1x3x2:syncwake", "2x1x2:padnodeaths",
        "BUG_TAKEOVER_ABORT", "BUG_REPAIR_HEADER"}


# What -O2 spends most of its time on in pan.c's few huge functions, and
# what a search gains nothing from: with these off, gcc builds a verifier
# in half the time, and it searches as fast (doc/model.md, "Time").
GCC_LIGHT = ["-fno-gcse", "-fno-tree-pre", "-fno-schedule-insns2", "-fno-tree-vrp",
             "-fno-ipa-cp"]


@functools.lru_cache(maxsize=None)
def cc_is_gcc():
    """Whether cc is gcc, which takes GCC_LIGHT (asked once a run)."""
    r = subprocess.run(["cc", "--version"], capture_output=True, text=True)
    return r.returncode == 0 and "Free Software Foundation" in r.stdout


def compiler(opt):
    """The command that builds a verifier: tcc for the unoptimised trial
    where it is installed, else cc with @opt, and GCC_LIGHT where that
    optimises and cc is gcc."""
    if opt == "-O0" and shutil.which("tcc"):
        return ["tcc"]
    return ["cc", opt] + (GCC_LIGHT if opt != "-O0" and cc_is_gcc() else [])


def build(work, defines, mem, bitstate, opt="-O2", order=""):
    """Generate and compile the verifier for @defines in @work; @order:
    P_REVERSE or T_REVERSE, the order pan tries processes or choices in."""
    shutil.copy(MODEL, os.path.join(work, "mapq.pml"))
    status, out, _ = run(["spin"] + defines + ["-a", "mapq.pml"], work)
    if status:
        sys.exit("model: spin -a failed:\n" + out)
    cflags = compiler(opt) + ["-DSAFETY", "-DMEMLIM=%d" % mem]
    cflags += ["-DBITSTATE"] if bitstate else ["-DCOLLAPSE"]
    cflags += ["-D" + order] if order else []
    status, out, _ = run(cflags + ["-o", "pan", "pan.c"], work)
    if status:
        sys.exit("model: compiling pan failed:\n" + out)


def search(work, timeout, bitstate, big=False):
    """Run pan: (errors, complete, states, transitions, seconds, output).
    @big: a search that outlasted the trial, with a hash table of 2^26
    slots (512 MB) rather than 2^24: its tens of millions of states then
    take shorter chains (doc/model.md, "Time")."""
    args = ["./pan", "-m2000000"] + (["-w32", "-k3"] if bitstate else
                                     ["-w26" if big else "-w24"])
    t0 = time.monotonic()
    _, out, timed_out = run(args, work, timeout)
    if timed_out:
        out += "\n(stopped after %d s)\n" % timeout
    secs = time.monotonic() - t0
    m = re.search(r"errors: (\d+)", out)
    errors = int(m.group(1)) if m else -1
    # pan writes counts of 10^8 and more as 2.4030947e+08
    m = re.search(r"([0-9.]+(?:e\+\d+)?) states, stored", out)
    states = int(float(m.group(1))) if m else 0
    t = re.search(r"([0-9.]+(?:e\+\d+)?) transitions", out)
    trans = int(float(t.group(1))) if t else 0
    complete = "Search not completed" not in out and "stopped after" not in out and m is not None
    if errors < 0 and "stopped after" in out:
        # stopped by the time limit: pan's last progress line says how far
        seen = re.findall(r"States=\s*([0-9.e+]+)", out)
        states = int(float(seen[-1])) if seen else 0
        errors = 0
    return errors, complete, states, trans, secs, out


# What the model's assertions check: each names one of these as the first
# term of its expression (PROP4 && ...), a constant pan prints as (4==4)
# when the assertion fails. An invalid end state (a process stuck or
# asleep for ever with work left) breaks P5.
PROPERTIES = {
    1: "a delivered frame is committed and holds exactly its writer's payload",
    2: "each acknowledged message delivered once, in its writer's order",
    3: "a lapped reader told how many it lost, the counts adding up",
    4: "no writer's store lands in a frame a reader holds or head has passed",
    5: "progress: nobody stuck or asleep for ever, nothing left unfinished for good",
    6: "recovery leaves a log of finished frames with every acknowledged message",
    7: "a sync flushes only published frames and never moves its checkpoint back",
}


def broken(out):
    """What the error pan found breaks, from its output @out, and the
    length of its trail: ("P4 (...)", 261)."""
    m = re.search(r"\(at depth (\d+)\)", out)
    depth = int(m.group(1)) if m else 0
    if re.search(r"pan:\d+: invalid end state", out):
        return "P5 (%s)" % PROPERTIES[5], depth
    m = re.search(r"pan:\d+: assertion violated \(*\((\d)==\1\)&&", out)
    if not m or int(m.group(1)) not in PROPERTIES:
        return "an assertion that names no property", depth
    return "P%s (%s)" % (m.group(1), PROPERTIES[int(m.group(1))]), depth


def step_names():
    """Line -> the name of the protocol step it is in: the nearest label at
    or above it (labels are the C code's fault points and steps)."""
    names, current = {}, "-"
    with open(MODEL) as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"^(\w+):", line)
            if m:
                current = m.group(1)
            elif re.match(r"^(proctype|inline|init)\b", line):
                current = line.split()[1].split("(")[0] if line.split()[0] != "init" else "init"
            names[n] = current
    return names


def trail(work, defines):
    """The counterexample, as numbered steps: who, which step, what changed."""
    _, out, _ = run(["spin"] + defines + ["-t", "-p", "-g", "mapq.pml"], work)
    names = step_names()
    lines = []
    for line in out.splitlines():
        m = re.match(r"\s*(\d+):\s+proc\s+(\d+) \((\w+):\d+\) mapq\.pml:(\d+) \(state \d+\)\s+\[(.*)\]$",
                     line)
        if m:
            n, pid, name, ln, what = m.groups()
            if what in ("(1)", "else", ".(goto)", "break") or what.startswith("((") and "=" not in what:
                continue
            who = name if name in ("reader", "killer", ":init:") else "%s %s" % (name, pid)
            lines.append("%4s. %-9s %-24s %s" % (n, who, names.get(int(ln), "-"), what))
            continue
        if line.startswith("spin: text of failed assertion") or "invalid end state" in line:
            lines.append("      " + line.strip())
    return lines


def check(defines, label, args, expect_error, rows=None, how="", is_long=False):
    """One search; @how: "bitstate", or the order of a seeded bug's;
    @is_long: known to outlast the unoptimised trial, so built with -O2 at
    once."""
    bitstate = how == "bitstate" or args.bitstate
    order = how if how.endswith("_REVERSE") else ""
    work = tempfile.mkdtemp(prefix="search.", dir=STOP["work"])
    try:
        built = 0.0
        if not is_long:
            t0 = time.monotonic()
            build(work, defines, args.mem, bitstate, "-O0", order)
            built = time.monotonic() - t0
            errors, complete, states, trans, secs, out = search(
                work, min(TRIAL_SECONDS, args.timeout), bitstate)
        if is_long or ("stopped after" in out and args.timeout > TRIAL_SECONDS):
            t0 = time.monotonic()
            build(work, defines, args.mem, bitstate, "-O2", order)
            built += time.monotonic() - t0
            errors, complete, states, trans, secs, out = search(work, args.timeout, bitstate,
                                                                big=True)
        kind = "bitstate" if bitstate else ("exhaustive" if complete else "partial")
        if rows is not None:
            m = re.search(r"hash factor: ([0-9.e+]+)", out)
            rows.append({"config": label, "search": kind if complete or bitstate else
                         "stopped (memory or time limit): not proven", "states": states,
                         "transitions": trans, "seconds": secs, "errors": errors,
                         "hash factor": m.group(1) if m and bitstate else ""})
        if errors < 0:
            say("%s: pan said nothing we understand:\n%s" % (label, out[-2000:]))
            return False
        if expect_error:
            if errors > 0:
                prop, depth = broken(out)
                say("%s: found, as it must be, in %.1f s (%d states; %.1f s to build the "
                    "verifier): it breaks %s, in a trail of %d steps" % (
                        label, secs, states, built, prop, depth))
                return True
            say("%s: NOT FOUND: the model misses this bug, in %.1f s (%d states; %.1f s to "
                "build the verifier)" % (label, secs, states, built))
            return False
        if errors:
            steps = trail(work, defines)[-args.last:]
            prop, depth = broken(out)
            with OUTPUT:
                print("model: %s: FAILED after %d states (%.1f s): %s broken, in a trail of "
                      "%d steps. The counterexample:" % (label, states, secs, prop, depth),
                      file=sys.stderr, flush=True)
                for line in steps:
                    print(line, flush=True)
            if args.keep:
                dst = os.path.join(args.keep, label.replace(" ", "_"))
                shutil.copytree(work, dst, dirs_exist_ok=True)
                say("the model, verifier and trail are in %s (spin %s -t -p -g mapq.pml)"
                    % (dst, " ".join(defines)))
            return False
        if not complete:
            say("%s: no error in %d states, but the search did not finish (memory limit %d MB "
                "or %d s): not proven; --mem, --timeout%s" % (
                    label, states, args.mem, args.timeout, "" if args.bitstate else ", --bitstate"))
            return not args.require_complete
        say("%s: no error, %s search, %d states, %d transitions, %.1f s (%.1f s to build "
            "the verifier)" % (label, kind, states, trans, secs, built))
        return True
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_summary(args, rows):
    """--campaign's table, written again after each configuration."""
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write("# model/mapq.pml, bigger configurations\n\n")
        f.write("`scripts/model.py --campaign`, memory limit %d MB, %d s per search%s.\n\n"
                % (args.mem, args.timeout, ", bitstate" if args.bitstate else ""))
        f.write("| configuration | search | states | transitions | seconds | errors "
                "| hash factor |\n")
        f.write("|---|---|---:|---:|---:|---:|---:|\n")
        for r in rows:
            f.write("| %s | %s | %d | %d | %.0f | %d | %s |\n" % (
                r["config"].replace("config ", ""), r["search"], r["states"],
                r["transitions"], r["seconds"], r["errors"], r["hash factor"]))


def default_jobs(mem):
    """As many searches at once as there are CPUs, and memory for each to
    reach its limit (a search that fills the memory stops unfinished)."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) // 1024
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    jobs = cpus or 1
    if avail is not None:
        jobs = min(jobs, avail // (mem + 512))
    return max(1, jobs)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", action="append",
                    help="writers x messages x frames, then optionally a mode: %s "
                    "(repeatable; default: %s)" % (MODES_HELP, " ".join(QUICK)))
    ap.add_argument("--no-bugs", action="store_true", help="do not check the seeded bugs")
    ap.add_argument("--bug", action="append", metavar="BUG_NAME",
                    help="check only this seeded bug, in its own configuration, and no "
                    "configuration unless --config says which (repeatable)")
    ap.add_argument("--bitstate", action="store_true",
                    help="hash each state into a bit array: far more states in the same "
                    "memory, some possibly missed")
    ap.add_argument("--mem", type=int, default=3000, help="memory limit in MB (3000)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per search (600)")
    ap.add_argument("--jobs", "-j", type=int, default=0,
                    help="searches at once (default: one per CPU, as many as memory "
                    "allows at --mem each)")
    ap.add_argument("--require-complete", action="store_true",
                    help="fail when a search does not finish (CI's configurations do)")
    ap.add_argument("--keep", metavar="DIR",
                    help="on a failure, copy the model, verifier and trail into DIR")
    ap.add_argument("--last", type=int, default=80,
                    help="steps of a counterexample printed (80)")
    ap.add_argument("--campaign", action="store_true",
                    help="the bigger configurations (%s), without the seeded bugs, and a "
                    "summary in --out" % " ".join(CAMPAIGN))
    ap.add_argument("--out", default="model-report",
                    help="where --campaign writes summary.md (model-report)")
    args = ap.parse_args()
    if not shutil.which("spin"):
        sys.exit("model: spin not found (apt-get install spin)")
    if not shutil.which("cc"):
        sys.exit("model: no C compiler (cc) to build spin's verifier")
    bugs = BUGS
    if args.bug:
        unknown = [b for b in args.bug if b not in [x[0] for x in BUGS]]
        if unknown:
            sys.exit("model: --bug: no seeded bug %s (they are: %s)"
                     % (", ".join(unknown), " ".join(x[0] for x in BUGS)))
        bugs = [x for x in BUGS if x[0] in args.bug]
    configs = args.config or ([] if args.bug else CAMPAIGN if args.campaign else QUICK)
    for c in configs:
        parse_config(c)  # every one checked before hours are spent on the first
    rows = [] if args.campaign else None
    # Every search is one job: (defines, label, expect_error, how, long).
    todo = [(parse_config(c), "config %s" % c, False, "", args.campaign or c in LONG)
            for c in configs]
    if not args.campaign and not args.no_bugs:
        todo += [(parse_config(c) + ["-D" + b], "bug %s (config %s%s)" % (
            b, c, ", " + how[0] if how else ""), True, how[0] if how else "", b in LONG)
            for b, c, *how in bugs]
    # The long searches first, the bitstate ones (the longest) before
    # them, so that the others fill the time beside them instead of one
    # running alone at the end.
    todo.sort(key=lambda job: (job[3] != "bitstate", not job[4]))
    jobs = args.jobs or default_jobs(args.mem)
    say("%d searches, %d at a time (memory limit %d MB each)" % (len(todo), jobs, args.mem))

    place = {job[1]: i for i, job in enumerate(todo)}  # the summary's rows in this order

    def one(job):
        defines, label, expect_error, how, is_long = job
        result = check(defines, label, args, expect_error, rows, how, is_long)
        if rows is not None:
            with OUTPUT:
                rows.sort(key=lambda r: place[r["config"]])
                write_summary(args, rows)
        return result

    STOP["work"] = tempfile.mkdtemp(prefix="mapq-model.")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            ok = all(list(pool.map(one, todo)))
    finally:
        shutil.rmtree(STOP["work"], ignore_errors=True)
    if args.campaign:
        say("summary: %s" % os.path.join(args.out, "summary.md"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
