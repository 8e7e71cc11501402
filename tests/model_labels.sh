#!/bin/sh
# SPDX-License-Identifier: MIT
# model_labels: the model and the code name the same steps. Every fault
# point of src/fault.h is a label of model/mapq.pml (a dot for the first
# underscore: reserve.after_cas is reserve_after_cas) or is listed in the
# model's "not modelled" comment; every label of the model that is named
# like a fault point of src/fault.h's groups is one; and nothing listed as
# not modelled is modelled after all. (spin is not needed here: the model
# itself is checked by `make check-model'.)
set -eu
top=${top_srcdir:-.}
model=$top/model/mapq.pml
fault=$top/src/fault.h
[ -f "$model" ] || { echo "FAIL: $model missing"; exit 1; }
points=$(sed -n 's/.*XX([A-Z_0-9]*, "\([a-z_]*\.[a-z_]*\)").*/\1/p' "$fault" | sort -u)
[ -n "$points" ] || { echo "FAIL: no fault points found in $fault"; exit 1; }
labels=$(sed -n 's/^\([a-z][a-z_0-9]*\):.*/\1/p' "$model" | sort -u)
unmodelled=$(awk '/not modelled:/ { on = 1; sub(/.*not modelled:/, "") }
	on { if ($0 ~ /\(/) exit; for (i = 1; i <= NF; i++) if ($i ~ /\./) print $i }' "$model" | sort -u)
groups=$(printf '%s\n' "$points" | sed 's/\..*//' | sort -u)
fail=0
for p in $points; do
	l=$(printf '%s' "$p" | tr . _)
	in_labels=$(printf '%s\n' "$labels" | grep -cx "$l" || true)
	in_list=$(printf '%s\n' "$unmodelled" | grep -cx "$p" || true)
	if [ "$in_labels" -eq 0 ] && [ "$in_list" -eq 0 ]; then
		echo "FAIL: fault point $p is neither a label ($l:) of the model nor listed as not modelled"
		fail=1
	elif [ "$in_labels" -ne 0 ] && [ "$in_list" -ne 0 ]; then
		echo "FAIL: fault point $p is a label of the model and listed as not modelled"
		fail=1
	fi
done
for l in $labels; do
	g=${l%%_*}
	printf '%s\n' "$groups" | grep -qx "$g" || continue
	p=$(printf '%s' "$l" | sed 's/_/./')
	printf '%s\n' "$points" | grep -qx "$p" ||
		{ echo "FAIL: label $l: of the model names no fault point ($p is not in src/fault.h)"; fail=1; }
done
for p in $unmodelled; do
	printf '%s\n' "$points" | grep -qx "$p" ||
		{ echo "FAIL: $p is listed as not modelled but is no fault point of src/fault.h"; fail=1; }
done
[ $fail -eq 0 ] || exit 1
n=$(printf '%s\n' "$points" | wc -l)
m=$(printf '%s\n' "$unmodelled" | grep -c . || true)
echo "model_labels: $((n - m)) of $n fault points are steps of the model; $m listed as not modelled"
