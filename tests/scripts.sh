#!/bin/sh
# SPDX-License-Identifier: MIT
# scripts: the unit tests of the campaign and report scripts of scripts/
# (tests/scripts_test.py: arguments, the order of a campaign for a seed, the
# reports written from recorded runs, and what happens without matplotlib;
# stress.py, bench.py, mutate.py, fuzz-campaign.py, sim-bugs.py, model.py).
set -eu
top=${top_srcdir:-.}
py=${PYTHON:-python3}
command -v "$py" > /dev/null 2>&1 || { echo "SKIP: no Python ($py) to run the scripts with"; exit 77; }
# -B: no bytecode written next to the scripts (the source tree may be read-only)
exec "$py" -B "$top/tests/scripts_test.py" -v
