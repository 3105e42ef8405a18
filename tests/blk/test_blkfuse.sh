#!/bin/sh
# pvio-blkfuse end to end: guests under a private pvio-hv whose disks are
# served by pvio-blkback in the default driver domain (started by `pvio
# create`), exported as files by pvio-blkfuse (the guests' process), and
# used from here with unmodified tools: byte-exact partial I/O, fsync and
# punch hole checked against the image, mkfs.ext4 + mount -o loop + a file
# round trip, a read-only disk refusing writes, and clean exits on
# fusermount3 -u and SIGTERM.
#
# usage: test_blkfuse.sh PVIO PVIO_BLKFUSE   (root; exit 77 = skipped)
set -u

PVIO=$1
FUSE=$2
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || ! command -v fusermount3 \
	>/dev/null || ! command -v mkfs.ext4 >/dev/null; then
	echo "SKIP: needs root, /dev/fuse, fusermount3 and mkfs.ext4"
	exit 77
fi
D=$(mktemp -d /tmp/pvio-blkfuse.XXXXXX)
export XENSTORED_PATH="$D/xenstored/socket"
failures=0

pv() { "$PVIO" --run-dir "$D" "$@"; }

cleanup() {
	for m in fs mnt mnt2 mnt3; do
		umount "$D/$m" 2>/dev/null
	done
	for img in "$D/mnt/xvda" "$D/mnt2/xvdb"; do
		for l in $(losetup -j "$img" -O NAME -n 2>/dev/null); do
			losetup -d "$l"
		done
	done
	for m in mnt mnt2 mnt3; do
		fusermount3 -u -z "$D/$m" 2>/dev/null
	done
	# Guests' processes (pvio-blkfuse) by the pids pvio-hv reported.
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

# guest NAME DISKSPEC MOUNTPOINT VDEV: a guest whose process is
# pvio-blkfuse; waits until MOUNTPOINT/VDEV is there.
guest() {
	mkdir -p "$3"
	cat >"$D/$1.cfg" <<EOF
name = "$1"
memory = 16
disk = [ '$2' ]
cmd = [ "$FUSE", "-f", "--vdev", "$4", "$3" ]
EOF
	if ! out=$(pv create "$D/$1.cfg" 2>&1); then
		fail "create $1: $out"
		return 1
	fi
	pv list | awk -v n="$1" '$1 == n { print $6 }' >>"$D/pids"
	if ! wait_for 20 test -e "$3/$4"; then
		fail "$1: $3/$4 did not appear"
		return 1
	fi
}

pv hv start >/dev/null || { fail "hv start"; exit 1; }

# --- a writable disk --------------------------------------------------------
truncate -s 64M "$D/a.img"
guest fs "file:$D/a.img,xvda,w" "$D/mnt" xvda || exit 1
[ "$(stat -c %s "$D/mnt/xvda")" = 67108864 ] ||
	fail "size $(stat -c %s "$D/mnt/xvda")"
[ "$(ls "$D/mnt")" = xvda ] || fail "directory: $(ls "$D/mnt")"
df "$D/mnt" >/dev/null || fail "statfs"

timeout 60 python3 "$HERE/rwcheck.py" "$D/mnt/xvda" --image "$D/a.img" ||
	fail "byte-exact I/O"

# Punching an aligned range frees the image's blocks (blkback punches a
# hole in the file) and reads back as zeroes.
dd if=/dev/urandom of="$D/mnt/xvda" bs=1M count=4 seek=32 conv=notrunc,fsync \
	status=none || fail "dd 4 MiB"
before=$(du -k "$D/a.img" | cut -f1)
fallocate -p -o $((32 << 20)) -l $((4 << 20)) "$D/mnt/xvda" || fail "punch"
after=$(du -k "$D/a.img" | cut -f1)
[ $((before - after)) -ge 3072 ] ||
	fail "punch hole freed $((before - after)) KiB of 4096"
cmp -n $((4 << 20)) -i $((32 << 20)):0 "$D/mnt/xvda" /dev/zero ||
	fail "punched range not zero"

# mkfs.ext4 and a loop mount over the FUSE file, a round trip of files.
timeout 60 mkfs.ext4 -q -F "$D/mnt/xvda" || fail "mkfs.ext4"
mkdir "$D/fs"
timeout 30 mount -o loop "$D/mnt/xvda" "$D/fs" || fail "mount -o loop"
head -c 3000000 /dev/urandom >"$D/src"
cp "$D/src" "$D/fs/data.bin" && echo "pvio" >"$D/fs/small.txt" &&
	sync -f "$D/fs/data.bin" || fail "writing files"
umount "$D/fs" || fail "umount"
timeout 30 mount -o loop "$D/mnt/xvda" "$D/fs" || fail "mount again"
cmp "$D/src" "$D/fs/data.bin" || fail "data.bin differs after remount"
[ "$(cat "$D/fs/small.txt" 2>/dev/null)" = pvio ] || fail "small.txt"
umount "$D/fs" || fail "second umount"
# The image, read in dom0, holds a clean file system with the files.
e2fsck -fn "$D/a.img" >/dev/null 2>&1 || fail "e2fsck of the image"
debugfs -R 'ls -l /' "$D/a.img" 2>/dev/null | grep -q 'data.bin' ||
	fail "debugfs does not see data.bin"

# fusermount3 -u: blkfuse detaches and exits; the domain goes with it.
G=$(pv list | awk '$1 == "fs" { print $2 }')
BB=$(pv list | awk '$1 == "blkback" { print $2 }')
fusermount3 -u "$D/mnt" || fail "fusermount3 -u"
wait_for 15 sh -c "! \"$PVIO\" --run-dir \"$D\" list | grep -q '^fs '" ||
	fail "guest fs did not exit after fusermount3 -u"
grep -q "unmounted" "$D/log/fs.log" || fail "no clean exit in fs.log"
pv destroy fs >/dev/null 2>&1
wait_for 5 sh -c "! xenstore-exists /local/domain/$BB/backend/vbd/$G" ||
	fail "backend dir of fs left behind"

# --- a read-only disk ----------------------------------------------------------
head -c $((8 << 20)) /dev/urandom >"$D/b.img"
guest ro "file:$D/b.img,xvdb,r" "$D/mnt2" xvdb || exit 1
cmp "$D/b.img" "$D/mnt2/xvdb" || fail "read-only disk reads differ"
if dd if=/dev/zero of="$D/mnt2/xvdb" bs=512 count=1 conv=notrunc \
	2>"$D/err"; then
	fail "write to a read-only disk succeeded"
fi
grep -q "Read-only file system" "$D/err" || fail "not EROFS: $(cat "$D/err")"
python3 - "$D/mnt2/xvdb" <<'EOF' || fail "O_RDWR open of a read-only disk"
import errno, os, sys
try:
    os.open(sys.argv[1], os.O_RDWR)
    sys.exit(1)
except OSError as e:
    sys.exit(0 if e.errno == errno.EROFS else 1)
EOF
fallocate -p -o 0 -l 4096 "$D/mnt2/xvdb" 2>/dev/null && fail "punch on ro"
cmp "$D/b.img" "$D/mnt2/xvdb" || fail "read-only disk changed"

# SIGTERM: a clean unmount too.
P=$(pv list | awk '$1 == "ro" { print $6 }')
kill -TERM "$P"
wait_for 15 sh -c "! grep -q \" $D/mnt2 \" /proc/mounts" ||
	fail "SIGTERM did not unmount"
wait_for 15 sh -c "! kill -0 $P" || fail "blkfuse did not exit on SIGTERM"
grep -q "unmounted" "$D/log/ro.log" || fail "no clean exit in ro.log"

# Sanitizer builds: what the daemons and guests reported as they exited.
if grep -E "Sanitizer|runtime error" "$D"/log/*.log; then
	fail "sanitizer reports in the logs"
fi
if [ $failures -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all pvio-blkfuse checks passed"
