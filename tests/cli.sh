#!/bin/sh
# SPDX-License-Identifier: MIT
# cli.sh: every `mapq` subcommand, its output and its error paths, a queue
# left with a dead writer's frame, a deliberately corrupted copy, queue
# files made on Linux and on Windows, and a pipeline of 100,000 lines
# through send and tail -f.
#
# With MAPQ_EXE set (tests/win_cli.sh), it tests a Windows build's
# mapq.exe and cli_die.exe under $WINE instead: the same checks, but for
# the separator a path is joined with and the file modes Windows has not.
set -u
B=${top_builddir:-.}
# $TMPDIR, else /dev/shm, else /tmp: as tests/util.c chooses
base=${TMPDIR:-}
[ -n "$base" ] || { [ -w /dev/shm ] && base=/dev/shm; } || base=/tmp
MAPQ_DIR=$(mktemp -d "$base/mapq-cli-test.XXXXXX") || exit 99
W=$(mktemp -d "$base/mapq-cli-bin.XXXXXX") || { rm -rf "$MAPQ_DIR"; exit 99; }
export MAPQ_DIR
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$MAPQ_DIR" "$W"' EXIT
D=$MAPQ_DIR
if [ -n "${MAPQ_EXE:-}" ]; then
	# commands the checks below can run like any other, quoted or not
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$WINE" "$MAPQ_EXE" > "$W/mapq"
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$WINE" "$CLI_DIE_EXE" > "$W/cli_die"
	chmod +x "$W/mapq" "$W/cli_die"
	M="$W/mapq" DIE="$W/cli_die"
	DR="$D\\\\" # the queue directory as mapq.exe joins it to a name, for grep
	windows=1
else
	M="$B/cli/mapq" DIE="$B/tests/cli_die"
	DR="$D/" windows=0
fi
fails=0
out=$D/out err=$D/err

fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; fails=$((fails + 1)); }
# expect STATUS DESCRIPTION -- command...: runs it, checks its exit status
expect() {
	want=$1 what=$2
	shift 3
	"$@" > "$out" 2> "$err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then fail "$what: exit status $rc, want $want"; return 1; fi
	echo "ok: $what"
}
# has FILE TEXT DESCRIPTION: the last command's FILE (out or err) holds TEXT
has() {
	if grep -q -- "$2" "$1"; then :; else fail "$3: no '$2'"; fi
}

# ---- help and usage ----
expect 0 "mapq --help" -- "$M" --help
has "$out" "Usage: mapq COMMAND" "mapq --help"
for c in create info send recv tail dump verify recover readers; do
	expect 0 "mapq $c --help" -- "$M" "$c" --help
	has "$out" "Usage: mapq $c" "mapq $c --help"
done
expect 2 "unknown command" -- "$M" frobnicate
has "$err" "no command 'frobnicate'" "unknown command"
# every command parses its options one way (cli_getopt): an unknown
# option and a missing value are usage errors that name the option, and
# nothing is printed by getopt itself
for c in create info send recv tail dump recover readers; do
	expect 2 "mapq $c --bogus" -- "$M" "$c" --bogus q
	has "$err" "mapq $c: unknown option --bogus" "mapq $c --bogus"
	if grep -q "unrecognized" "$err"; then fail "mapq $c --bogus: getopt spoke too"; fi
done
expect 3 "verify --bogus (its own status for a usage error)" -- "$M" verify --bogus q
has "$err" "mapq verify: unknown option --bogus" "verify --bogus"
expect 2 "recv --count without a value" -- "$M" recv q --count
has "$err" "mapq recv: --count needs a value" "recv --count"
expect 2 "tail -n without a value" -- "$M" tail q -n
has "$err" "mapq tail: -n needs a value" "tail -n"
expect 2 "recv -n (tail's only)" -- "$M" recv -n 3 q
has "$err" "unknown option -n" "recv -n"
expect 2 "missing queue" -- "$M" info

# ---- create ----
expect 0 "create" -- "$M" create q --capacity 64K --max-msg 1000 --writers 4 --readers 4 --mode 0640
has "$out" "created ${DR}q: capacity 64.0 KiB, max message 1000 B, 4 writers, 4 readers" "create"
[ -f "$D/q" ] || fail "create: no file $D/q"
[ $windows = 1 ] || [ "$(stat -c %a "$D/q")" = 640 ] || fail "create: mode $(stat -c %a "$D/q"), want 640"
expect 1 "create over an existing queue" -- "$M" create q
has "$err" "mapq: q: cannot create: ${DR}q already exists" "create twice"
expect 2 "create: capacity not a power of two" -- "$M" create r --capacity 5000
has "$err" "not a power of two" "bad capacity"
expect 2 "create: bad policy" -- "$M" create r --policy sometimes
expect 2 "create: mode not octal" -- "$M" create r --mode 640
expect 1 "create: name starting with a dot" -- "$M" create .hidden
has "$err" "invalid queue name" "dot name"
expect 1 "create: name with a space" -- "$M" create "a b"
expect 1 "create: impossible geometry" -- "$M" create r --capacity 4K --max-msg 100K
expect 2 "create: over 1T" -- "$M" create r --capacity 2T
has "$err" "out of range" "capacity 2T"
# 1T is a size the parser takes (creating it may fail for want of space)
"$M" create r --capacity 1T > "$out" 2> "$err"; rm -f "$D/r"
if grep -q "not a size" "$err"; then fail "capacity 1T: refused as not a size"; fi
[ -z "$(ls "$D" | grep -v -e '^q$' -e '^out$' -e '^err$')" ] || fail "files left behind: $(ls "$D")"
expect 0 "create by path" -- "$M" create "$D/sub.q" --capacity 4K --policy overwrite --json
has "$out" '"policy":"overwrite"' "create --json"

# ---- send, recv, tail ----
expect 0 "send arguments" -- "$M" send q hello world
printf 'one\ntwo\n\nfour\n' > "$D/in"
expect 0 "send lines" -- sh -c "'$M' send q < '$D/in'"
has "$err" "sent 4 messages" "send lines"
expect 0 "create another" -- "$M" create one --capacity 4K
printf 'five\n' > "$D/in1"
expect 0 "send one line" -- sh -c "'$M' send one < '$D/in1'"
has "$err" "sent 1 message\$" "send one line: singular"
expect 0 "recv" -- "$M" recv q
printf 'hello\nworld\none\ntwo\n\nfour\n' | cmp -s - "$out" || fail "recv: wrong output"
expect 0 "tail -n 2" -- "$M" tail -n 2 q
printf '\nfour\n' | cmp -s - "$out" || fail "tail -n 2: wrong output"
expect 0 "recv --count 1 --hex" -- "$M" recv --count 1 --hex q
[ "$(cat "$out")" = 68656c6c6f ] || fail "recv --hex: $(cat "$out")"
expect 0 "recv --json" -- "$M" recv --json --count 2 q
has "$out" '{"pos":0,"writer":0,"len":5,"data":"hello"}' "recv --json"
expect 0 "recv --binary into send --binary" -- sh -c "'$M' create q2 >/dev/null && '$M' recv --binary q | '$M' send --binary q2"
expect 0 "recv the copy" -- "$M" recv q2
printf 'hello\nworld\none\ntwo\n\nfour\n' | cmp -s - "$out" || fail "binary copy differs"
expect 2 "recv: two formats" -- "$M" recv --hex --json q
expect 2 "recv: resume without a name" -- "$M" recv --from resume q
big=$(head -c 1001 /dev/zero | tr '\0' a)
expect 1 "send: message over max" -- "$M" send q "$big"
has "$err" "message 1 is 1001 bytes, more than the queue's max message (1000)" "send over max"
printf 'abc' > "$D/short"
expect 1 "send --binary: truncated record" -- sh -c "'$M' send --binary q < '$D/short'"
has "$err" "input ends inside its length" "truncated record"

# ---- durable readers ----
expect 0 "recv --name r1 --count 2" -- "$M" recv --name r1 --count 2 q
printf 'hello\nworld\n' | cmp -s - "$out" || fail "durable first part"
expect 0 "recv --name r1 resumes" -- "$M" recv --name r1 q
printf 'one\ntwo\n\nfour\n' | cmp -s - "$out" || fail "durable resume"
expect 0 "readers" -- "$M" readers q
has "$out" "detached  *[0-9]*  *r1 " "readers lists r1"
expect 0 "readers --json" -- "$M" readers --json q
has "$out" '"state":"detached","pid":[0-9]*,"durable":true,"name":"r1"' "readers --json"
expect 0 "readers drop" -- "$M" readers drop q r1
expect 1 "readers drop again" -- "$M" readers drop q r1
has "$err" "no durable reader by that name" "drop twice"

# ---- back-pressure ----
"$M" create small --capacity 4K > /dev/null
"$M" recv --name hold small > /dev/null # a durable reader that holds writers back
expect 1 "send --timeout 0 into a full queue" -- sh -c "seq 1 1000 | '$M' send --timeout 0 small"
has "$err" "queue still full after 0 ms" "full queue"

# ---- info ----
expect 0 "info" -- "$M" info q
has "$out" "geometry   capacity 64.0 KiB, max message 1000 B, 4 writer slots, 4 reader slots" "info"
has "$out" "messages   6 committed" "info counters"
expect 0 "info --json" -- "$M" info --json q
has "$out" '"version":2,' "info --json"
has "$out" '"messages":6,' "info --json counters"

# ---- a writer killed mid-write ----
expect 137 "a writer dies with its frame half written" -- "$DIE" q
expect 0 "info sees the dead writer" -- "$M" info q
has "$out" "  0     dead " "info: dead writer"
has "$out" "96 bytes at 320" "info: its reservation"
expect 0 "dump shows the unpublished frame" -- "$M" dump q
has "$out" "gap      no frame here (reserved, not published yet, or damaged)" "dump: gap"
expect 1 "verify: repairable" -- "$M" verify q
has "$out" "96 bytes at 320 were reserved by writer slot 0, whose process is gone; recovery turns them into an aborted frame" "verify: dead reservation"
has "$out" "q: repairable" "verify verdict"
expect 0 "recover" -- "$M" recover q
has "$out" "1 claimed frames aborted, 0 reservations filled" "recover report"
has "$out" "1 slots freed" "recover frees the slot"
expect 0 "info counts the repair" -- "$M" info q
has "$out" "0 aborted, 1 repaired" "info: repaired"
expect 0 "dump shows the aborted frame" -- "$M" dump --raw q
has "$out" "data     aborted" "dump: aborted"
has "$out" "|xxxxxxxxxxxxxxxx|" "dump --raw shows the half-written payload"
expect 0 "verify: healthy after recovery" -- "$M" verify q
expect 0 "recover --json" -- "$M" recover --json q
has "$out" '"exclusive":true' "recover --json"

# ---- a corrupted copy ----
cp "$D/q" "$D/bad"
off=$("$M" dump --json bad | sed -n 's/.*"offset":\([0-9]*\),"size":[0-9]*,"len":5,"type":"data","state":"committed".*/\1/p' | head -1)
[ -n "$off" ] || fail "no committed frame in dump --json"
printf 'X' | dd of="$D/bad" bs=1 seek=$((off + 32)) conv=notrunc status=none
expect 2 "verify: corrupt copy" -- "$M" verify bad
has "$out" "fails its CRC" "verify: CRC"
expect 2 "verify --json: corrupt" -- "$M" verify --json bad
has "$out" '"status":"corrupt"' "verify --json"
cp "$D/q" "$D/v3"
printf '\003' | dd of="$D/v3" bs=1 seek=8 conv=notrunc status=none
expect 1 "info on a newer format" -- "$M" info v3
has "$err" "mapq: v3: cannot open: queue file is from format version 3, this mapq reads version 2" "version"
expect 2 "verify on a newer format" -- "$M" verify v3
printf 'not a queue' > "$D/junk"
expect 2 "verify: not a queue" -- "$M" verify junk
has "$err" "bad magic number" "junk"
expect 1 "info: missing queue" -- "$M" info nosuch
has "$err" "mapq: nosuch: cannot open: no such queue (looked for ${DR}nosuch)" "missing"
expect 3 "verify: missing queue" -- "$M" verify nosuch
expect 1 "send: missing queue" -- "$M" send nosuch x
[ ! -e "$D/nosuch" ] || fail "send created the missing queue"

# ---- queue files made on each platform (tests/data/make-queue-files.sh) ----
for made in Linux Windows; do
	f=$(echo "$made" | tr A-Z a-z)
	gzip -dc "${top_srcdir:-.}/tests/data/queue-$f.q.gz" > "$D/from-$f" ||
		{ fail "no queue file made on $made"; continue; }
	expect 0 "verify a queue file made on $made" -- "$M" verify "from-$f"
	has "$out" "healthy: 3 frames checked, 3 intact messages" "verify: made on $made"
	expect 0 "its durable reader resumes" -- "$M" recv --name r1 "from-$f"
	printf 'made on %s +2\nmade on %s +3\n' "$made" "$made" | cmp -s - "$out" ||
		fail "durable reader of the queue made on $made"
done

# ---- a pipeline: 100,000 lines through send while tail -f reads ----
"$M" create pipe --capacity 256K > /dev/null
"$M" tail -f -n 0 --count 100000 pipe > "$D/piped" 2> "$D/tail.err" &
tpid=$!
i=0
until "$M" info --json pipe | grep -q '"readers_attached":1'; do
	i=$((i + 1))
	[ $i -lt 100 ] || { fail "tail -f never attached"; break; }
	sleep 0.05
done
expect 0 "seq 1 100000 | mapq send" -- sh -c "seq 1 100000 | '$M' send pipe" || kill $tpid
wait $tpid || fail "tail -f exited with $?: $(cat "$D/tail.err")"
seq 1 100000 | cmp -s - "$D/piped" && echo "ok: tail -f got 100000 lines in order" ||
	fail "tail -f output differs: $(wc -l < "$D/piped") lines"

if [ $fails -ne 0 ]; then
	echo "$fails failures"
	exit 1
fi
