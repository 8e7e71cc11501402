#!/bin/sh
# SPDX-License-Identifier: MIT
# make-queue-files.sh LINUX_BUILD WINDOWS_BUILD: makes queue-linux.q.gz with
# a Linux build's mapq and queue-windows.q.gz with a Windows build's
# mapq.exe (under wine), beside this script: one queue file from each
# platform, which tests/cli.sh reads on both (the format is the same on
# both: doc/platform.md). Each is a 4 KiB queue holding three messages,
# "made on PLATFORM +1" to "+3", and a durable reader "r1" that has read
# the first. Run it again when the format version changes.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 LINUX_BUILD WINDOWS_BUILD" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
lin=$(cd "$1" && pwd) win=$(cd "$2" && pwd)
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
export MAPQ_DIR="$d"
make_queue() { # PLATFORM MAPQ-COMMAND...
	p=$1
	shift
	"$@" create q --capacity 4K --max-msg 256 --writers 2 --readers 2 > /dev/null
	for i in 1 2 3; do "$@" send q "made on $p +$i" > /dev/null 2>&1; done
	"$@" recv --name r1 --count 1 q > /dev/null
	gzip -9 -n -c "$d/q" > "$here/queue-$(echo "$p" | tr A-Z a-z).q.gz"
	rm -f "$d/q"
}
make_queue Linux "$lin/cli/mapq"
WINEDEBUG=-all make_queue Windows wine "$win/cli/mapq.exe"
echo "made $here/queue-linux.q.gz and $here/queue-windows.q.gz"
