#!/bin/sh
# SPDX-License-Identifier: MIT
# examples: the sender/receiver demo exchanges messages and replies over
# the queue named ZJ (in $MAPQ_DIR, as the original demo's mapping name),
# and the receiver explains itself when the sender's queue is missing.
#
# With $WINE set (tests/windows.mk), it runs a Windows build's
# mapq-sender.exe and mapq-receiver.exe under Wine.
set -u
b="${top_builddir:-.}/examples"
d=$(mktemp -d)
rpid=
trap '[ -z "$rpid" ] || kill "$rpid" 2>/dev/null; rm -rf "$d"' EXIT
out="$d/out"
if [ -n "${WINE:-}" ]; then
	# the programs as commands of their own, so that $! is the program
	mkdir "$d/bin"
	for p in mapq-sender mapq-receiver; do
		printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$WINE" "$(cd "$b" && pwd)/$p.exe" > "$d/bin/$p"
		chmod +x "$d/bin/$p"
	done
	b="$d/bin"
fi

"$b/mapq-receiver" --dir "$d" > "$out.missing" 2>&1
rc=$?
[ $rc -eq 1 ] || { echo "receiver without a queue exited $rc, want 1"; exit 1; }
grep -q "No such file or directory (start mapq-sender first" "$out.missing" || {
	echo "receiver's message for a missing queue:"; cat "$out.missing"; exit 1; }

MAPQ_DIR="$d" "$b/mapq-receiver" --count 3 --wait 10 > "$out.recv" 2>&1 &
rpid=$!
MAPQ_DIR="$d" "$b/mapq-sender" --count 3 --interval 10 > "$out.send" 2>&1 || {
	echo "sender failed:"; cat "$out.send"; exit 1; }
wait $rpid || { echo "receiver failed:"; cat "$out.recv"; exit 1; }
rpid=
# Windows' text mode ends the demo's lines with "\r\n"
for f in "$out.send" "$out.recv"; do tr -d '\r' < "$f" > "$f.lines" && mv "$f.lines" "$f"; done
for i in 1 2 3; do
	grep -qx "received: second data!+$i" "$out.send" || { cat "$out.send"; exit 1; }
	grep -qx "received: hello my first mapping file!+$i" "$out.recv" || { cat "$out.recv"; exit 1; }
done
[ ! -e "$d/ZJ" ] && [ ! -e "$d/ZJ-reply" ] || { echo "sender left its queues behind"; ls "$d"; exit 1; }
[ -z "$(ls "$d" | grep -v -e '^out' -e '^bin$')" ] || { echo "files left behind: $(ls "$d")"; exit 1; }
"$b/mapq-sender" --help | grep -q usage || exit 1
"$b/mapq-sender" --bogus 2>/dev/null && exit 1
echo "examples: demo exchanged 3 messages"
