#!/bin/sh
# Conformance: Debian's unmodified xenstore-utils against a pvio daemon.
#   xs_tools.sh DAEMON [ARGS...]
# runs "DAEMON ARGS... --run-dir DIR --foreground" in a private run dir
# (pvio-xenstored, or pvio-hv which makes the same DIR/xenstored/socket)
# and checks the tools' output exactly.
set -u
[ $# -ge 1 ] || { echo "usage: $0 DAEMON [ARGS...]" >&2; exit 2; }
RUN=$(mktemp -d "${TMPDIR:-/tmp}/pvio-xs-tools.XXXXXX")
PID=
WPID=
cleanup() {
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$RUN"
}
trap cleanup EXIT INT TERM
"$@" --run-dir "$RUN" --foreground &
PID=$!
export XENSTORED_PATH="$RUN/xenstored/socket"
i=0
while [ ! -S "$XENSTORED_PATH" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "FAIL: no socket at $XENSTORED_PATH"; exit 1; }
	kill -0 "$PID" 2>/dev/null || { echo "FAIL: daemon died"; exit 1; }
	sleep 0.05
done

FAILS=0
# expect NAME EXPECTED-OUTPUT COMMAND...: stdout must match exactly.
expect() {
	name=$1 want=$2
	shift 2
	got=$("$@" 2>"$RUN/err")
	if [ "$got" != "$want" ]; then
		echo "FAIL $name: '$*'"
		echo "  want: $(printf '%s' "$want" | od -c | head -5)"
		echo "  got:  $(printf '%s' "$got" | od -c | head -5)"
		cat "$RUN/err"
		FAILS=$((FAILS + 1))
	fi
}
# status NAME RC COMMAND...: exit status must be RC.
status() {
	name=$1 want=$2
	shift 2
	"$@" >/dev/null 2>&1
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name: '$*' exited $rc, want $want"
		FAILS=$((FAILS + 1))
	fi
}
NL='
'
expect initial-tree "tool = \"\"$NL xenstored = \"\"" xenstore-ls /
status write 0 xenstore-write /test/a 1 /test/b "two words"
expect read-a 1 xenstore-read /test/a
expect read-b "two words" xenstore-read /test/b
expect read-two "1${NL}two words" xenstore-read /test/a /test/b
expect ls "a = \"1\"${NL}b = \"two words\"" xenstore-ls /test
expect ls-f "/test/a = \"1\"${NL}/test/b = \"two words\"" xenstore-ls -f /test
expect list "a${NL}b" xenstore-list /test
status exists 0 xenstore-exists /test/a
status exists-not 1 xenstore-exists /test/zz
status read-missing 1 xenstore-read /test/zz
expect read-missing-msg "xenstore-read: couldn't read path /test/zz" \
	sh -c 'xenstore-read /test/zz 2>&1'
status list-missing 1 xenstore-list /test/zz
# Permissions.
status chmod 0 xenstore-chmod /test/a r0 b5 w7
expect ls-p "a = \"1\"  . . . . . . . . . . . . . . . . . . . . . . . . . .  (r0,b5,w7)" \
	sh -c 'xenstore-ls -p /test | grep "^a "'
status chmod-bad 1 xenstore-chmod /test/a x0
# Relative paths are under /local/domain/0 for dom0.
status write-rel 0 xenstore-write rel/key v
expect read-rel v xenstore-read /local/domain/0/rel/key
expect read-rel2 v xenstore-read rel/key
# Removal: subtree, missing node with parent (OK), root (refused).
status rm 0 xenstore-rm /test/a
expect list-after-rm b xenstore-list /test
status rm-missing 0 xenstore-rm /test/nothing
status rm-root 1 xenstore-rm /
status rm-no-parent 1 xenstore-rm /nothere/child
status write-deep 0 xenstore-write /deep/x/y/z 1
status rm-subtree 0 xenstore-rm /deep
status exists-gone 1 xenstore-exists /deep/x/y/z
# Bad paths and limits.
status bad-chars 1 xenstore-write "/a b" 1
status bad-slash 1 xenstore-write /a//b 1
LONG=$(head -c 2100 /dev/zero | tr '\0' a)
status path-too-long 1 xenstore-write "/x/$LONG" 1
status path-dom-ok 0 xenstore-write "/local/domain/3/$(head -c 2000 /dev/zero | tr '\0' b)" 1
# Watches: initial event, then a write and a removal of a child.
xenstore-watch -n 3 /test >"$RUN/watch" 2>&1 &
WPID=$!
i=0
while ! grep -q . "$RUN/watch" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && break
	sleep 0.05
done
xenstore-write /test/c 3
xenstore-rm /test/c
i=0
while kill -0 "$WPID" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && { kill "$WPID"; break; }
	sleep 0.05
done
wait "$WPID" 2>/dev/null
WPID=
expect watch "/test${NL}/test/c${NL}/test/c" cat "$RUN/watch"
expect final-ls "b = \"two words\"" xenstore-ls /test

# The daemon exits on SIGTERM and removes its socket.
kill "$PID"
wait "$PID"
rc=$?
PID=
[ "$rc" = 0 ] || { echo "FAIL: daemon exited $rc"; FAILS=$((FAILS + 1)); }
[ ! -e "$XENSTORED_PATH" ] || { echo "FAIL: socket left behind"; FAILS=$((FAILS + 1)); }
if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all xenstore-utils checks passed"
