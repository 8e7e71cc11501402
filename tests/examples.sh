#!/bin/sh
# SPDX-License-Identifier: MIT
# examples: the sender/receiver demo exchanges messages and replies, and the
# receiver explains itself when the sender's queue is missing.
set -u
b="${top_builddir:-.}/examples"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
out="$d/out"

"$b/mapq-receiver" --dir "$d" > "$out.missing" 2>&1
rc=$?
[ $rc -eq 1 ] || { echo "receiver without a queue exited $rc, want 1"; exit 1; }
grep -q "No such file or directory (start mapq-sender first" "$out.missing" || {
	echo "receiver's message for a missing queue:"; cat "$out.missing"; exit 1; }

"$b/mapq-receiver" --dir "$d" --count 3 --wait 10 > "$out.recv" 2>&1 &
rpid=$!
"$b/mapq-sender" --dir "$d" --count 3 --interval 10 > "$out.send" 2>&1 || {
	echo "sender failed:"; cat "$out.send"; exit 1; }
wait $rpid || { echo "receiver failed:"; cat "$out.recv"; exit 1; }
for i in 1 2 3; do
	grep -qx "received: second data!+$i" "$out.send" || { cat "$out.send"; exit 1; }
	grep -qx "received: hello my first mapping file!+$i" "$out.recv" || { cat "$out.recv"; exit 1; }
done
[ ! -e "$d/demo-request.q" ] || { echo "sender left its queue behind"; exit 1; }
"$b/mapq-sender" --help | grep -q usage || exit 1
"$b/mapq-sender" --bogus 2>/dev/null && exit 1
echo "examples: demo exchanged 3 messages"
