#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scripts_test.py - unit tests of the campaign scripts (scripts/*.py), run by
tests/scripts.sh in `make check'.

What the scripts do with what the programs they drive report: the reports
in tests/data/ were recorded from real runs (mapq-torture --json,
mapq-sim --json, mapq-bench --quick --json, a mutate.py campaign's
mutants.json). stress.py and bench.py: arguments, the order of a campaign
for a seed, the summaries and reports, with and without matplotlib;
mutate.py: the kill ratio and the report; fuzz-campaign.py: AFL++'s stats
and sanitizer stacks; sim-bugs.py: its table; model.py: configurations and
the campaign summary. The tests run none of those
programs, write only into a temporary directory, and leave no bytecode in
the source tree.
"""

import argparse
import contextlib
import importlib.util
import io
import json
import os
import random
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")


def load(name):
    """scripts/NAME.py as a module (its main() not run)."""
    path = os.path.join(TOP, "scripts", name + ".py")
    spec = importlib.util.spec_from_file_location("mapq_script_" + name.replace("-", "_"), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def temp_dir(case):
    """A scratch directory for @case, removed when it ends, pass or fail
    (a cleanup runs even when setUp fails after making it)."""
    tmp = tempfile.TemporaryDirectory(prefix="mapq-scripts-test.")
    case.addCleanup(tmp.cleanup)
    return tmp


def recorded(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


@contextlib.contextmanager
def without_matplotlib():
    """Imports of matplotlib fail inside, as on a machine without it."""
    saved = {k: v for k, v in sys.modules.items() if k == "matplotlib" or
             k.startswith("matplotlib.")}
    for k in saved:
        del sys.modules[k]
    sys.modules["matplotlib"] = None  # import raises ImportError
    sys.modules["matplotlib.pyplot"] = None
    try:
        yield
    finally:
        del sys.modules["matplotlib"]
        del sys.modules["matplotlib.pyplot"]
        sys.modules.update(saved)


@contextlib.contextmanager
def usage_error():
    """argparse's way out: exit status 2, the reason on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        with unittest.TestCase().assertRaises(SystemExit) as cm:
            yield err
    if cm.exception.code != 2:
        raise AssertionError("exit status %r, not 2" % cm.exception.code)


class StressArgs(unittest.TestCase):
    def setUp(self):
        self.s = load("stress")

    def test_durations(self):
        self.assertEqual(self.s.parse_duration("90"), 90)
        self.assertEqual(self.s.parse_duration("30m"), 1800)
        self.assertEqual(self.s.parse_duration("2h"), 7200)
        self.assertEqual(self.s.parse_duration("45s"), 45)
        for bad in ("", "m", "-5", "0", "0m", "1d", "ten", "nan"):
            with self.subTest(bad=bad), usage_error() as err:
                self.s.parse_args(["--budget", bad])
            self.assertIn("--budget", err.getvalue())

    def test_defaults(self):
        a = self.s.parse_args([])
        self.assertEqual((a.writers, a.readers), ([1, 4], [1, 3]))
        self.assertEqual(a.modes, list(self.s.MODES))
        self.assertEqual(a.budget, 180)
        self.assertFalse(a.collect or a.quick)
        a = self.s.parse_args(["--soak", "30m", "--seed", "5", "--writers", "2", "8",
                               "--modes", "kills", "hostile"])
        self.assertEqual((a.soak, a.seed, a.writers, a.modes), (1800, 5, [2, 8],
                                                                 ["kills", "hostile"]))

    def test_bad_arguments(self):
        for argv in (["--quick", "--soak", "1h"], ["--modes", "nonsense"], ["--writers"],
                     ["--seed", "x"], ["--no-such-option"]):
            with self.subTest(argv=argv), usage_error():
                self.s.parse_args(argv)


class StressMatrix(unittest.TestCase):
    def setUp(self):
        self.s = load("stress")
        self.args = self.s.parse_args(["--seed", "1"])

    def test_cells(self):
        cells = list(self.s.cells(self.args, True))
        names = {self.s.cell_name(c) for c in cells}
        self.assertEqual(len(names), len(cells), "a cell twice")
        self.assertIn("4w x 3r mixed block fault-points", names)
        self.assertIn("1w x 1r small overwrite hostile", names)
        # durable cursors and repair are judged under block only
        self.assertFalse([c for c in cells if c[3] == "overwrite" and
                          c[4] in ("durable-kills", "fault-points")])
        # a build without fault injection gets no fault-point cells
        no_faults = list(self.s.cells(self.args, False))
        self.assertFalse([c for c in no_faults if c[4] == "fault-points"])
        self.assertEqual(len(cells) - len(no_faults),
                         len([c for c in cells if c[4] == "fault-points"]))

    def test_order_follows_the_seed(self):
        cells = list(self.s.cells(self.args, True))
        a = self.s.plan(cells, random.Random(7))
        self.assertEqual(a, self.s.plan(cells, random.Random(7)))
        self.assertNotEqual(a, self.s.plan(cells, random.Random(8)))
        self.assertEqual(sorted(a), sorted(cells), "the plan must run every cell")
        # the same generator then draws the runs' seeds: the same ones again
        r1, r2 = random.Random(7), random.Random(7)
        self.s.plan(cells, r1)
        self.s.plan(cells, r2)
        self.assertEqual([r1.randrange(1, 2**62) for _ in range(3)],
                         [r2.randrange(1, 2**62) for _ in range(3)])

    def test_dry_run_prints_the_plan(self):
        import subprocess
        p = subprocess.run([sys.executable, "-B", os.path.join(TOP, "scripts", "stress.py"),
                            "--quick", "--seed", "9", "--dry-run"],
                           capture_output=True, text=True, cwd=tempfile.gettempdir())
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertIn("budget 30 s, runs of 1.5 s, seed 9", lines[0])
        cells = self.s.plan(self.s.cells(self.s.parse_args([]), True), random.Random(9))
        self.assertEqual([l.strip() for l in lines[1:]], [self.s.cell_name(c) for c in cells])

    def test_sim_cells(self):
        a = self.s.parse_args(["--writers", "12", "--readers", "9"])
        for c in self.s.sim_cells(a):
            self.assertLessEqual(c[0], 8)
            self.assertLessEqual(c[1], 4)


class StressReports(unittest.TestCase):
    """summary.md and summary.json from recorded mapq-torture reports."""

    def setUp(self):
        self.s = load("stress")
        self.tmp = temp_dir(self)
        self.out = self.tmp.name
        self.args = self.s.parse_args(["--seed", "42"])
        cell_a = (2, 1, "small", "block", "kills")
        cell_b = (1, 1, "small", "block", "hostile")
        fail = recorded("torture-fail.json")
        self.results = [
            {"cell": cell_a, "cmd": "mapq-torture --seed 7", "status": 0, "seed": 7,
             "json": "run-00000.json", "report": recorded("torture-pass.json")},
            {"cell": cell_a, "cmd": fail["command"], "status": 1, "seed": 11,
             "json": "run-00001.json", "report": fail},
            {"cell": cell_b, "cmd": "mapq-torture --hostile 20", "status": 0, "seed": 9,
             "json": "run-00002.json", "report": recorded("torture-hostile.json")},
            # a run that died before writing its report
            {"cell": cell_b, "cmd": "mapq-torture --seed 3", "status": 3, "seed": 3,
             "json": "run-00003.json", "report": None},
        ]

    def write(self):
        with contextlib.redirect_stdout(io.StringIO()):
            return self.s.write_reports(self.out, self.results, self.args, 12.0)

    def test_totals(self):
        tot = self.write()
        reps = [r["report"] for r in self.results if r["report"]]
        self.assertEqual(tot["runs"], 4)
        self.assertEqual(tot["failures"], 2)
        self.assertEqual(tot["acknowledged"], sum(r["acknowledged"] for r in reps))
        self.assertEqual(tot["duplicated"], 1)
        self.assertEqual(tot["kills"], sum(sum(r["kills"].values()) for r in reps))
        self.assertEqual(tot["hostile_runs"], 1)
        self.assertEqual(tot["scribbles"], recorded("torture-hostile.json")["hostile"]["scribbles"])
        with open(os.path.join(self.out, "summary.json")) as f:
            js = json.load(f)
        self.assertEqual(js["totals"], tot)
        self.assertEqual(js["seed"], 42)
        self.assertEqual([f["seed"] for f in js["failures"]], [11, 3])
        cell = js["cells"]["2w x 1r small block kills"]
        self.assertEqual((cell["runs"], cell["failures"]), (2, 1))
        self.assertEqual(cell["median_msgs_per_s"],
                         max(r["msgs_per_s"] for r in reps[:2]))

    def test_summary_names_each_failure_and_its_command(self):
        self.write()
        with open(os.path.join(self.out, "summary.md")) as f:
            md = f.read()
        self.assertIn("4 runs in 12 s, seed 42: 2 failed.", md)
        self.assertIn("## Failures", md)
        self.assertIn("reproduce with `%s`" % self.results[1]["cmd"], md)
        self.assertIn("2w x 1r small block kills: exit 1", md)
        self.assertIn("1w x 1r small block hostile: exit 3", md)
        self.assertIn("| 1w x 1r small block hostile | 2 | 1 |", md)

    def test_without_matplotlib(self):
        with without_matplotlib():
            self.write()
        with open(os.path.join(self.out, "summary.md")) as f:
            md = f.read()
        # the interpreter named: Debian's package serves /usr/bin/python3
        # only, and `make torture` may run another (pyenv, a venv)
        self.assertIn("No plots: matplotlib is not importable by %s (" % sys.executable, md)
        self.assertFalse(os.path.exists(os.path.join(self.out, "plots.png")))

    @unittest.skipUnless(have_matplotlib(), "matplotlib is not installed")
    def test_with_matplotlib(self):
        self.write()
        with open(os.path.join(self.out, "summary.md")) as f:
            self.assertIn("Plots: plots.png", f.read())
        with open(os.path.join(self.out, "plots.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_sim_reports(self):
        fail = recorded("sim-fail.json")
        results = [
            {"cell": (2, 1, "small", "sim", "deaths"), "cmd": "mapq-sim -q", "status": 0,
             "seed": 5, "json": "sim-00000.json", "report": recorded("sim-pass.json")},
            {"cell": (2, 1, "small", "sim", "deaths"), "cmd": "mapq-sim -q --break wake",
             "status": 1, "seed": 5, "json": "sim-00001.json", "report": fail},
        ]
        tot = self.s.write_sim_reports(self.out, results, self.args, 3.0)
        self.assertEqual((tot["runs"], tot["failures"]), (2, 1))
        self.assertEqual(tot["schedules"], recorded("sim-pass.json")["schedules"] + 1)
        with open(os.path.join(self.out, "summary.md")) as f:
            md = f.read()
        # a failure is given with the command that replays its schedule
        self.assertIn("replay with `%s`" % fail["failure"]["replay"], md)
        with open(os.path.join(self.out, "summary.json")) as f:
            self.assertEqual(json.load(f)["failures"][0]["replay"], fail["failure"]["replay"])


class Bench(unittest.TestCase):
    """bench.py's medians and reports from a recorded mapq-bench --quick run."""

    def setUp(self):
        self.b = load("bench")
        self.tmp = temp_dir(self)
        self.run = recorded("bench-quick.json")

    def scaled(self, k):
        run = json.loads(json.dumps(self.run))
        for r in run["results"]:
            for f in ("msgs_per_s", "mb_per_s", "p50_ns", "p99_ns", "p999_ns", "max_ns"):
                if f in r:
                    r[f] *= k
        return run

    def test_args(self):
        a = self.b.parse_args(["--runs", "5", "--out", self.tmp.name, "--", "--sizes", "64"])
        self.assertEqual((a.runs, a.out, a.extra), (5, self.tmp.name, ["--sizes", "64"]))
        for argv in (["--runs", "0"], ["--pairs", "100"], ["--vs", "/nonexistent/bench"],
                     ["--runs", "x"]):
            with self.subTest(argv=argv), usage_error():
                self.b.parse_args(argv)

    def test_instruction_gates(self):
        rows = [{"build": "A", "pair": 578}, {"build": "A, writer alone", "pair": 569},
                {"build": "A, in batches", "batched": True, "pair": 300}]
        self.assertEqual(self.b.over_gates(rows), [])
        self.assertEqual(self.b.over_gates(rows, 578, 300), [])
        over = self.b.over_gates(rows, 570, 299)
        self.assertEqual(len(over), 2, over)
        self.assertIn("A: 578 instructions per send + read + release, above --max-pair 570",
                      over[0])
        self.assertIn("A, in batches: 300 instructions per message in batches, above "
                      "--max-batch 299", over[1])
        # each gate judges its own rows only
        self.assertEqual(len(self.b.over_gates(rows, None, 299)), 1)
        self.assertEqual(len(self.b.over_gates(rows, 570, None)), 1)

    def test_medians(self):
        runs = [self.scaled(1), self.scaled(3), self.scaled(2)]
        med = self.b.medians(runs)
        k = ("tp", "mapq", 64, 1, 1)
        self.assertIn(k, med)
        first = [r for r in self.run["results"] if self.b.key(r) == k][0]
        self.assertAlmostEqual(med[k][1]["msgs_per_s"], 2 * first["msgs_per_s"])
        lat = [k for k in med if k[0] == "lat"]
        self.assertTrue(lat, "no round trips in the recorded run")

    def test_report(self):
        runs = [self.run, self.scaled(1)]
        args = self.b.parse_args(["--out", self.tmp.name])
        text, targets = self.b.report(args, runs, self.b.medians(runs))
        self.assertIn("# mapq-bench: 2 runs, medians", text)
        self.assertIn("**--quick** (not for conclusions)", text)
        self.assertIn("| 64 B |", text)
        self.assertTrue(targets, "no targets judged")
        for _, _, verdict, _, _ in targets:
            self.assertTrue(verdict, "a target without a verdict")

    def test_report_ceiling_1x2(self):
        # the raw ring 1x2 beside mapq 1x2: its own ratio and mapq's to it
        run = json.loads(json.dumps(self.run))
        two = [r for r in run["results"] if self.b.key(r) == ("tp", "mapq", 64, 1, 2)][0]
        one = [r for r in run["results"] if self.b.key(r) == ("tp", "raw-ring", 64, 1, 1)][0]
        ring2 = dict(one, readers=2, msgs_per_s=4 * two["msgs_per_s"])
        run["results"].append(ring2)
        args = self.b.parse_args(["--out", self.tmp.name])
        text, targets = self.b.report(args, [run], self.b.medians([run]))
        figures = {t: v for t, v, _, _, _ in targets}
        self.assertEqual(figures["64 B 1x2: mapq 1x2 / raw ring 1x2 messages/s"], "0.25")
        ceiling = [v for t, v in figures.items() if t.startswith("64 B 1x2: raw ring 1x2 /")]
        self.assertEqual(ceiling, ["%.2f" % (4 * two["msgs_per_s"] / one["msgs_per_s"])])
        self.assertRegex(text, r"\| 64 B \| [^\n]* \| 0\.25 \|\n")
        # without it, both say so rather than guess
        text, targets = self.b.report(args, [self.run], self.b.medians([self.run]))
        figures = {t: v for t, v, _, _, _ in targets}
        self.assertEqual(figures["64 B 1x2: mapq 1x2 / raw ring 1x2 messages/s"], "not measured")

    def test_ab(self):
        args = self.b.parse_args(["--runs", "2", "--out", self.tmp.name])
        text, rows = self.b.report_ab(args, [self.run, self.run],
                                      [self.scaled(2), self.scaled(2)], "a", "b")
        tp = [r for r in rows if " B " in r["case"]]
        self.assertTrue(tp)
        for r in tp:
            self.assertAlmostEqual(r["a_over_b"], 0.5)
        rt = [r for r in rows if "round trip" in r["case"]]
        self.assertTrue(rt)
        for r in rt:
            self.assertAlmostEqual(r["a_over_b"], 0.5)

    def probed(self, run, k, mapq_probes, ring_probes):
        """@run with mapq 64 B 1x1 at @k times the raw ring's messages/s, and
        the cache-line probes around each of the two cases."""
        run = json.loads(json.dumps(run))
        recs = {self.b.key(r): r for r in run["results"]}
        ring = recs[("tp", "raw-ring", 64, 1, 1)]
        q = recs[("tp", "mapq", 64, 1, 1)]
        q["msgs_per_s"] = k * ring["msgs_per_s"]
        for r, (before, after) in ((q, mapq_probes), (ring, ring_probes)):
            r["line_before_ns"], r["line_after_ns"] = before, after
        return run

    def judged(self, runs):
        args = self.b.parse_args(["--out", self.tmp.name])
        text, targets = self.b.report(args, runs, self.b.medians(runs))
        t = [t for t in targets if t[0].startswith("64 B 1x1: mapq / raw ring")]
        self.assertEqual(len(t), 1)
        return text, t[0]

    def test_placement_moved(self):
        # a run whose probes saw the CPUs moved between its two cases does
        # not count while another run saw one placement
        one = self.probed(self.run, 0.5, (420, 430), (425, 440))
        moved = self.probed(self.run, 2.0, (120, 130), (125, 430))
        text, t = self.judged([one, moved, moved])
        self.assertEqual(t[1:], ("0.50", "NOT met", "1 of 3", "0 of 1"))
        self.assertIn("| 0.50 (428) | 2.00 (120-430, moved) | 2.00 (120-430, moved) |", text)
        # when every run moved, all count and the column says so
        _, t = self.judged([moved, moved, moved])
        self.assertEqual(t[1:], ("2.00", "met (goal 1.2 met)", "0 of 3: moved", "3 of 3"))
        # a run recorded without probes counts, as before
        _, t = self.judged([self.probed(self.run, 0.5, (None, None), (None, None))])
        self.assertEqual(t[1:], ("0.50", "NOT met", "no probes", "0 of 1"))

    def test_runs_that_met(self):
        # the median meets the line; how many runs did on their own says
        # how far the verdict is from turning
        runs = [self.probed(self.run, k, (420, 430), (425, 440)) for k in (0.9, 1.1, 1.3)]
        text, t = self.judged(runs)
        self.assertEqual(t[1:], ("1.10", "met (goal 1.2 not met)", "3 of 3", "2 of 3"))
        self.assertRegex(text, r"\| 64 B 1x1: mapq / raw ring [^\n]* \| met \(goal 1\.2 not "
                               r"met\) \| 3 of 3 \| 2 of 3 \|\n")
        judged = {x[0]: x for x in self.b.report(self.b.parse_args(["--out", self.tmp.name]),
                                                 runs, self.b.medians(runs))[1]}
        # a target of "at most", the same round trips in every run: all
        # three runs agree with the verdict
        rt = judged["busy-poll round trip p50 / cache-line round trip p50 <= 2"]
        self.assertEqual(rt[4], "3 of 3" if rt[2] == "met" else "0 of 3", rt)
        # one figure of the medians, and a figure with no line: nothing to count
        self.assertEqual(judged["busy-poll round trip p99 <= 2 us (figure in us)"][4], "-")
        self.assertEqual(judged["64 B 1x1: mapq / batch ring messages/s"][4], "-")

    def test_figure_near_bound(self):
        # two places would read 0.95 for a target of >= 0.95 that is not met
        self.assertEqual(self.b.fig(0.946, 0.95), "0.946")
        self.assertEqual(self.b.fig(0.9996, 1.0), "0.9996")
        self.assertEqual(self.b.fig(1.004, 1.0), "1.004")
        self.assertEqual(self.b.fig(0.84, 1.0), "0.84")
        self.assertEqual(self.b.fig(0.946, None), "0.95")
        _, t = self.judged([self.probed(self.run, 0.996, (420, 430), (425, 440))])
        self.assertEqual(t[1:3], ("0.996", "NOT met"))

    def test_ab_placement(self):
        # A/B over the pairs whose four probes saw one placement
        a1 = self.probed(self.run, 1.0, (420, 430), (425, 440))
        b1 = self.probed(self.scaled(2), 1.0, (420, 430), (425, 440))
        b2 = self.probed(self.scaled(0.5), 1.0, (120, 130), (125, 130))
        args = self.b.parse_args(["--runs", "2", "--out", self.tmp.name])
        text, rows = self.b.report_ab(args, [a1, a1], [b1, b2], "a", "b")
        row = [r for r in rows if r["case"] == "mapq 64 B 1x1"][0]
        self.assertAlmostEqual(row["a_over_b"], 0.5)
        self.assertEqual(row["steady_pairs"], 1)
        self.assertRegex(text, r"\| mapq 64 B 1x1 \| [^|]+ \| [^|]+ \| 0\.500 \| 1 of 2 \|")

    def test_plot_without_matplotlib(self):
        args = self.b.parse_args(["--out", self.tmp.name])
        with without_matplotlib():
            note = self.b.plot(args, self.b.medians([self.run]))
        self.assertIn("matplotlib is not importable by %s:" % sys.executable, note)
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "plots.png")))

    @unittest.skipUnless(have_matplotlib(), "matplotlib is not installed")
    def test_plot(self):
        args = self.b.parse_args(["--out", self.tmp.name])
        self.assertEqual(self.b.plot(args, self.b.medians([self.run])), "plots.png written")
        self.assertTrue(os.path.getsize(os.path.join(self.tmp.name, "plots.png")) > 0)


class Mutate(unittest.TestCase):
    """mutate.py's report from recorded results of a real campaign: killed,
    equivalent by object code, triaged unseen, triaged equivalent, and one
    that did not build."""

    def setUp(self):
        self.m = load("mutate")
        self.tmp = temp_dir(self)
        self.rows = recorded("mutants.json")

    def test_equivalence(self):
        eq = [r["id"] for r in self.rows if self.m.is_equivalent(r)]
        self.assertEqual(len(eq), 2, "same code and triaged equivalent")
        self.assertNotIn("de9dcc860c", eq, "an unseen mutant is real: it counts against the ratio")

    def test_table_leaves_out_equivalents_only(self):
        counted = [r for r in self.rows if r["result"] != "stillborn"]
        t = self.m.table(counted, "operator")
        self.assertIn("| compare | 3 | 0 | 2 | 100 % |", t)
        self.assertIn("| order | 2 | 2 | 0 | 50 % |", t)

    def test_report(self):
        args = argparse.Namespace(out=self.tmp.name, checks="quick")
        with contextlib.redirect_stdout(io.StringIO()) as out, without_matplotlib():
            untriaged = self.m.report(args, self.rows, 0.0)
        self.assertEqual(untriaged, [])
        self.assertIn("kill ratio 71.4 %", out.getvalue())
        with open(os.path.join(self.tmp.name, "summary.md")) as f:
            md = f.read()
        self.assertIn("5 killed, 4 survived (2 triaged as equivalent, 2 as real but unseen by "
                      "any check here, 0 not triaged), 1 stillborn", md)
        self.assertIn("71.4 % (5 of 7)", md)
        self.assertIn("| tsan:tests/threads | 2 |", md)
        self.assertIn("No plot: matplotlib is not importable by %s (" % sys.executable, md)
        # every survivor with its diff
        self.assertEqual(md.count("```diff"), 4)
        with open(os.path.join(self.tmp.name, "kills.tsv")) as f:
            kills = [l.split("\t")[0] for l in f if not l.startswith("#")]
        self.assertEqual(sorted(kills), sorted(r["id"] for r in self.rows
                                               if r["result"] == "killed"))
        with open(os.path.join(self.tmp.name, "mutants.json")) as f:
            self.assertEqual(json.load(f), self.rows)

    def test_untriaged_survivor_is_named(self):
        rows = [dict(r) for r in self.rows]
        rows[6]["equivalent"] = ""  # de9dcc860c, as if nobody had triaged it
        args = argparse.Namespace(out=self.tmp.name, checks="quick")
        with contextlib.redirect_stdout(io.StringIO()) as out, without_matplotlib():
            untriaged = self.m.report(args, rows, 0.0)
        self.assertEqual([r["id"] for r in untriaged], ["de9dcc860c"])
        self.assertIn("survived: de9dcc860c src/reader.c:", out.getvalue())


class FuzzCampaign(unittest.TestCase):
    """fuzz-campaign.py's reading of AFL++'s fuzzer_stats and of sanitizer
    reports, in the formats those tools write."""

    def setUp(self):
        self.f = load("fuzz-campaign")
        self.tmp = temp_dir(self)

    def test_stats_and_rate(self):
        paths = []
        for i, (done, secs) in enumerate(((120000, 40), (30000, 60))):
            p = os.path.join(self.tmp.name, "fuzzer_stats.%d" % i)
            with open(p, "w") as f:
                f.write("start_time        : 1764550000\nrun_time          : %d\n"
                        "execs_done        : %d\nexecs_per_sec     : 3000.00\n" % (secs, done))
            paths.append(p)
        st = [self.f.stats(p) for p in paths]
        self.assertEqual(st[0]["execs_done"], "120000")
        self.assertEqual(self.f.rate(st), 150000 / 60)
        self.assertEqual(self.f.stats(os.path.join(self.tmp.name, "missing")), {})
        self.assertEqual(self.f.rate([]), 0.0)

    def test_stack_key(self):
        report = (
            "==123==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6020\n"
            "    #0 0x4f1a2b in memcpy /build/llvm/asan_interceptors.inc:10\n"
            "    #1 0x55e0c1 in mapq__frame_valid /work/main/src/internal.h:361:9\n"
            "    #2 0x55e3f0 in look /work/main/src/reader.c:375:7\n"
            "    #3 0x55e7aa in mapq_read /work/main/src/reader.c:580:12\n"
            "    #4 0x560000 in LLVMFuzzerTestOneInput /work/main/fuzz/fuzz_ops.c:88:3\n")
        self.assertEqual(self.f.stack_key(report), "mapq__frame_valid < look < mapq_read")
        self.assertEqual(self.f.stack_key("deadly signal\n"), "deadly signal")
        self.assertEqual(self.f.stack_key(""), "no output")


class SimBugs(unittest.TestCase):
    def test_table(self):
        b = load("sim-bugs")
        t = b.table([
            {"bug": "tail-store", "origin": "new", "shrunk": "12 steps",
             "sim": {"found": True, "schedules": 1, "seconds": 0.0, "strategy": "random",
                     "workload": "default", "why": "verdict: corrupt lost"},
             "torture": {"found": True, "seconds": 3.2, "runs": 2}},
            {"bug": "sleeper-fence", "origin": "new",
             "sim": {"found": False, "schedules": 5000, "seconds": 16, "error": "-"},
             "torture": {"found": False, "seconds": 30}},
            {"bug": "word-alone", "origin": "old", "sim": {"found": False, "error": "build"},
             "torture": {}},
        ])
        lines = t.splitlines()
        self.assertEqual(len(lines), 5)
        self.assertEqual(lines[2], "| tail-store | new | found | 1 | 0.0 | random, default | "
                         "verdict: corrupt lost | 12 steps | found in 3 s (2 runs) |")
        self.assertEqual(lines[3], "| sleeper-fence | new | not found | 5000 | 16 | - | - | - "
                         "| not in 30 s |")
        self.assertEqual(lines[4], "| word-alone | old | not found | - | - | - | build | - | - |")


class Model(unittest.TestCase):
    def setUp(self):
        self.m = load("model")
        self.tmp = temp_dir(self)

    def test_configurations(self):
        self.assertEqual(self.m.parse_config("2x1x1"), ["-DNW=2", "-DMSGS=1", "-DNSLOT=1"])
        self.assertEqual(self.m.parse_config("1x2x3:overjoin"),
                         ["-DNW=1", "-DMSGS=2", "-DNSLOT=3", "-DOVERWRITE", "-DJOIN"])
        self.assertEqual(self.m.parse_config("2x2x2:leave")[3:], ["-DWAKEUPS", "-DLEAVE"])
        self.assertEqual(self.m.parse_config("1x3x2:crashbatch")[3:], ["-DCRASH", "-DSENDBATCH"])
        self.assertEqual(self.m.parse_config("1x3x2:rdeath")[3:], ["-DRDEATH"])
        self.assertEqual(self.m.parse_config("1x3x2:rdurable")[3:], ["-DRDEATH", "-DRDURABLE"])
        # every mode the help names is one parse_config() takes
        for mode in self.m.MODES:
            with self.subTest(mode=mode):
                self.assertIn(mode, self.m.MODES_HELP)
                self.assertEqual(self.m.parse_config("1x1x2" + mode)[3:], self.m.MODES[mode][0])
        # every seeded bug's configuration parses, and every CI one
        for bug, config, *how in self.m.BUGS:
            with self.subTest(bug=bug):
                self.m.parse_config(config)
        for config in self.m.QUICK + self.m.CAMPAIGN:
            with self.subTest(config=config):
                self.m.parse_config(config)
        # a long search named is one CI makes: a name left behind, or
        # misspelt, would build a search the slow way unnoticed
        names = set(self.m.QUICK) | {bug for bug, *_ in self.m.BUGS}
        self.assertEqual(self.m.LONG - names, set())
        for bad in ("2x1", "3x1x1", "2x1x1:nope", "2x0x1", "x"):
            with self.subTest(bad=bad), self.assertRaises(SystemExit) as cm:
                self.m.parse_config(bad)
            self.assertIn("--config", str(cm.exception.code))

    def test_properties(self):
        # every assertion of the model names a property model.py knows,
        # first, so that pan's report of it says what a counterexample broke
        with open(self.m.MODEL) as f:
            model = f.read()
        asserts = self.m.re.findall(r"assert\((.{0,10})", model)
        # each as the constant pan prints and broken() reads: (4==4)
        for n in self.m.PROPERTIES:
            self.assertIn("#define PROP%d (%d == %d)\n" % (n, n, n), model)
        self.assertGreater(len(asserts), 20)
        for a in asserts:
            with self.subTest(start=a):
                m = self.m.re.match(r"PROP(\d) && ", a)
                self.assertTrue(m and int(m.group(1)) in self.m.PROPERTIES)
        # pan's words for a failed assertion and for a process stuck
        self.assertEqual(self.m.broken(
            "pan:1: assertion violated ((4==4)&&(head<=t)) (at depth 261)\n"),
            ("P4 (%s)" % self.m.PROPERTIES[4], 261))
        self.assertEqual(self.m.broken(
            "pan:1: assertion violated ((5==5)&& !((x<y))) (at depth 9)\n"),
            ("P5 (%s)" % self.m.PROPERTIES[5], 9))
        self.assertEqual(self.m.broken(
            "pan:1: invalid end state (at depth 94)\n\tinvalid end states\t+\n"),
            ("P5 (%s)" % self.m.PROPERTIES[5], 94))
        self.assertEqual(self.m.broken(
            "pan:1: assertion violated (head<=t) (at depth 3)\n\tinvalid end states\t+\n"),
            ("an assertion that names no property", 3))

    def test_summary(self):
        args = argparse.Namespace(out=self.tmp.name, mem=2048, timeout=300, bitstate=True)
        self.m.write_summary(args, [
            {"config": "config 2x2x2:wake", "search": "bitstate", "states": 54000000,
             "transitions": 131000000, "seconds": 95.2, "errors": 0, "hash factor": "41.2"}])
        with open(os.path.join(self.tmp.name, "summary.md")) as f:
            md = f.read()
        self.assertIn("memory limit 2048 MB, 300 s per search, bitstate.", md)
        self.assertIn("| states | transitions |", md)
        self.assertIn("| 2x2x2:wake | bitstate | 54000000 | 131000000 | 95 | 0 | 41.2 |", md)


class Arguments(unittest.TestCase):
    """Every campaign script: --help says what it is; a wrong argument is
    refused with status 2 and a reason, before anything runs."""

    def run_script(self, name, *argv):
        import subprocess
        return subprocess.run([sys.executable, "-B", os.path.join(TOP, "scripts", name + ".py")] +
                              list(argv), capture_output=True, text=True,
                              cwd=tempfile.gettempdir(), timeout=60)

    def test_help_and_unknown_options(self):
        for name in ("stress", "bench", "mutate", "sim-bugs", "model", "fuzz-campaign"):
            with self.subTest(script=name):
                p = self.run_script(name, "--help")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("usage: %s.py" % name, p.stdout)
                self.assertIn("%s.py - " % name, p.stdout, "the first line says what it is")
                p = self.run_script(name, "--no-such-option")
                self.assertEqual(p.returncode, 2)
                self.assertIn("%s.py: error: " % name, p.stderr)

    def test_bad_values(self):
        cases = [
            ("mutate", ["--only-file", "src/nope.c", "--list"], 1,
             "--only-file: not a C file or header of src/: src/nope.c"),
            ("sim-bugs", ["--only", "nosuch", "--list"], 1, "no such bug: nosuch"),
            ("model", ["--config", "9x1x1"], 1, "the model takes 1-2 writers"),
            ("model", ["--bug", "BUG_NOPE"], 1, "--bug: no seeded bug BUG_NOPE"),
            ("fuzz-campaign", ["--minutes", "-1", "open"], 2, "--minutes must be more than 0"),
            ("fuzz-campaign", ["--jobs", "0", "open"], 2, "--jobs must be at least 1"),
            ("fuzz-campaign", ["nosuchtarget"], 2, "invalid choice: 'nosuchtarget'"),
            ("stress", ["--soak", "0"], 2, "a duration is a positive number"),
            ("bench", ["--runs", "0"], 2, "--runs must be at least 1"),
        ]
        for name, argv, rc, said in cases:
            with self.subTest(script=name, argv=argv):
                p = self.run_script(name, *argv)
                self.assertEqual(p.returncode, rc, p.stdout + p.stderr)
                self.assertIn(said, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
