#!/bin/sh
# `pvio` with a real disk: `create` starts the default driver domain
# (pvio-blkback) and wires a guest's vbd to it; the guest (pvio-blkfuse, a
# blkfront) connects; block-attach/-detach work against the live driver
# domain; destroy and driver-domain stop clean xenstore.
#
# usage: test_cli_disk.sh PVIO PVIO_BLKFUSE   (root; exit 77 = skipped)
set -u

PVIO=$1
FUSE=$2
if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] ||
	! command -v fusermount3 >/dev/null; then
	echo "SKIP: needs root, /dev/fuse and fusermount3"
	exit 77
fi
D=$(mktemp -d /tmp/pvio-cli-disk.XXXXXX)
export XENSTORED_PATH="$D/xenstored/socket"
failures=0

pv() { "$PVIO" --run-dir "$D" "$@"; }

cleanup() {
	fusermount3 -u -z "$D/mnt" 2>/dev/null
	fusermount3 -u -z "$D/mnt2" 2>/dev/null
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP" 2>/dev/null
	for p in $(cat "$D/pids" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	pv hv stop >/dev/null 2>&1
	if [ $failures -ne 0 ]; then
		tail -n 20 "$D"/log/*.log
	fi
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/../../scripts/shlib.sh" # fail, wait_for

state_is() { [ "$(xenstore-read "$1/state" 2>/dev/null)" = "$2" ]; }

pv hv start >/dev/null || { fail "hv start"; exit 1; }
truncate -s 16M "$D/a.img"
truncate -s 1M "$D/b.img"
mkdir "$D/mnt"
cat >"$D/g.cfg" <<EOF
name = "g"
memory = 16
disk = [ 'file:$D/a.img,xvda,w,engine=psync' ]
cmd = [ "$FUSE", "-f", "--vdev", "xvda", "$D/mnt" ]
EOF

out=$(pv create "$D/g.cfg" 2>&1) || fail "create: $out"
G=$(printf '%s\n' "$out" | sed -n 's/.*created: domid \([0-9]*\).*/\1/p')
BB=$(printf '%s\n' "$out" |
	sed -n 's/.*driver domain blkback started: domid \([0-9]*\).*/\1/p')
[ -n "$G" ] && [ -n "$BB" ] || { fail "create output: $out"; exit 1; }
pv list | awk '$1 == "g" { print $6 }' >>"$D/pids"
# create returns once the daemon serves (its ready node, or its watch is
# registered: it logs "serving" right after that).
xenstore-exists "/local/domain/$BB/data/blkback-ready" ||
	grep -q "serving /local/domain/$BB/backend/vbd" "$D/log/blkback.log" ||
	fail "create did not wait for the driver domain"

BE=/local/domain/$BB/backend/vbd/$G/51712
FE=/local/domain/$G/device/vbd/51712
wait_for 20 state_is "$BE" 4 || fail "backend not Connected: $(xenstore-read $BE/state)"
wait_for 5 state_is "$FE" 4 || fail "frontend not Connected"
[ "$(xenstore-read $BE/sectors)" = 32768 ] || fail "sectors"
[ "$(xenstore-read $BE/io-engine)" = psync ] || fail "io-engine"
[ "$(xenstore-read $BE/feature-flush-cache)" = 1 ] || fail "flush feature"
wait_for 10 test -e "$D/mnt/xvda" || fail "blkfuse file"
[ "$(stat -c %s "$D/mnt/xvda" 2>/dev/null)" = 16777216 ] || fail "file size"
printf 'pvio-cli' | dd of="$D/mnt/xvda" bs=512 seek=5 conv=notrunc,fsync \
	status=none || fail "write through the guest"
[ "$(dd if="$D/a.img" bs=1 skip=2560 count=8 status=none)" = pvio-cli ] ||
	fail "data not in the image"

# Hot-plug against the live driver domain: the backend answers (InitWait)
# though no frontend uses it; detach removes both ends.
out=$(pv block-attach g "file:$D/b.img,xvdb,r" 2>&1) || fail "attach: $out"
printf '%s' "$out" | grep -q "served by driver domain $BB" ||
	fail "attach output: $out"
BE2=/local/domain/$BB/backend/vbd/$G/51728
wait_for 10 state_is "$BE2" 2 || fail "attached backend not InitWait"
[ "$(xenstore-read $BE2/mode)" = r ] || fail "attached mode"
pv block-detach g xvdb || fail "block-detach"
xenstore-exists "$BE2" 2>/dev/null && fail "backend dir left after detach"

# phy: a block device (a loop device over c.img) served end to end: a
# second guest writes through it and the bytes land in the backing file.
truncate -s 8M "$D/c.img"
LOOP=$(losetup -f --show "$D/c.img" 2>/dev/null) || LOOP=
if [ -n "$LOOP" ]; then
	mkdir "$D/mnt2"
	cat >"$D/p.cfg" <<EOF
name = "p"
memory = 16
disk = [ 'phy:$LOOP,xvda,w' ]
cmd = [ "$FUSE", "-f", "--vdev", "xvda", "$D/mnt2" ]
EOF
	out=$(pv create "$D/p.cfg" 2>&1) || fail "create phy: $out"
	P=$(printf '%s\n' "$out" | sed -n 's/.*created: domid \([0-9]*\).*/\1/p')
	pv list | awk '$1 == "p" { print $6 }' >>"$D/pids"
	BEP=/local/domain/$BB/backend/vbd/$P/51712
	wait_for 20 state_is "$BEP" 4 || fail "phy backend not Connected"
	[ "$(xenstore-read $BEP/type)" = phy ] || fail "phy type"
	[ "$(xenstore-read $BEP/sectors)" = 16384 ] || fail "phy sectors"
	wait_for 10 test -e "$D/mnt2/xvda" || fail "phy blkfuse file"
	printf 'pvio-phy' | dd of="$D/mnt2/xvda" bs=512 seek=9 \
		conv=notrunc,fsync status=none || fail "write through phy"
	# O_DIRECT on the loop device may bypass its page cache: read the
	# backing file only after the loop device has written it back.
	blockdev --flushbufs "$LOOP" 2>/dev/null
	[ "$(dd if="$D/c.img" bs=1 skip=4608 count=8 status=none)" = pvio-phy ] ||
		fail "phy data not in the backing file"
	pv destroy p || fail "destroy phy guest"
	fusermount3 -u -z "$D/mnt2" 2>/dev/null
	wait_for 10 sh -c "! xenstore-exists $BEP" || fail "phy backend dir left"
	wait_for 10 sh -c "losetup -d $LOOP" || fail "loop device still busy"
	LOOP=
else
	echo "note: no loop device here; phy: end to end not exercised"
fi

# Destroy: the guest and every xenstore trace of its vbd go; blkback logs
# the vbd's counters when it lets go.
pv destroy g || fail "destroy"
xenstore-exists "$BE" 2>/dev/null && fail "backend dir left after destroy"
xenstore-exists "/local/domain/$G" 2>/dev/null && fail "guest dir left"
wait_for 10 grep -q "vbd $G/51712" "$D/log/blkback.log" ||
	fail "no teardown line for vbd $G/51712 in blkback.log"
fusermount3 -u -z "$D/mnt" 2>/dev/null

pv driver-domain stop >/dev/null || fail "driver-domain stop"
pv list | grep -q "^blkback " && fail "blkback still listed"
xenstore-exists "/local/domain/$BB" 2>/dev/null && fail "driver domain dir left"

# Sanitizer builds: what the daemons and guests reported as they exited.
if grep -E "Sanitizer|runtime error" "$D"/log/*.log; then
	fail "sanitizer reports in the logs"
fi
if [ $failures -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all pvio disk CLI checks passed"
