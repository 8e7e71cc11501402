#!/bin/sh
# SPDX-License-Identifier: MIT
# bug_patches: every sim/bugs/*.patch still applies to src/. The patches
# put known bugs back so that scripts/sim-bugs.py can show the simulator
# finds them; a refactor of src/ that leaves one behind would otherwise be
# noticed only late in CI, when that script runs.
set -eu
top="${top_srcdir:-.}"
[ -d "$top/sim/bugs" ] || { echo "SKIP: $top/sim/bugs not here"; exit 77; }
command -v patch >/dev/null || { echo "SKIP: patch not found"; exit 77; }
n=0 bad=0
for p in "$top"/sim/bugs/*.patch; do
	n=$((n + 1))
	if ! out=$(patch -p1 --dry-run -s -f -d "$top" -i "$(cd "$(dirname "$p")" && pwd)/$(basename "$p")" 2>&1); then
		echo "$p does not apply to src/ any more (rewrite it for the code as it is now):"
		printf '%s\n' "$out" | sed 's/^/  /'
		bad=$((bad + 1))
	fi
done
[ "$n" -gt 0 ] || { echo "no patches in $top/sim/bugs"; exit 1; }
[ "$bad" -eq 0 ] || exit 1
echo "bug_patches: $n patches of sim/bugs/ apply"
