#!/bin/sh
# make demo: the pieces working together, from a ring between two processes
# to a guest that formats, mounts and fills a disk served by blkback in a
# driver domain, all under pvio-hv.
#
# usage: scripts/demo.sh BUILD_DIR   (needs root: FUSE and loop devices)
set -eu

B=${1:-build}
B=$(cd "$B" && pwd)
D=$(mktemp -d /tmp/pvio-demo.XXXXXX)
PVIO="$B/toolstack/pvio --run-dir $D"
export XENSTORED_PATH="$D/xenstored/socket"

cleanup() {
	status=$?
	# Whatever state a failure left: the loop mount, the FUSE mount,
	# every domain (hv stop kills them), the files.
	umount "$D/fs" 2>/dev/null || umount -l "$D/fs" 2>/dev/null || true
	for l in $(losetup -j "$D/mnt/xvda" -O NAME -n 2>/dev/null); do
		losetup -d "$l" 2>/dev/null || true
	done
	fusermount3 -u -z "$D/mnt" 2>/dev/null || true
	$PVIO hv stop >/dev/null 2>&1 || true
	if [ $status -ne 0 ]; then
		echo "demo FAILED; logs:"
		tail -n 30 "$D"/log/*.log 2>/dev/null || true
	fi
	rm -rf "$D"
	exit $status
}
trap cleanup EXIT
trap 'exit 1' INT TERM

step() { printf '\n=== %s\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}
. "$(dirname "$0")/shlib.sh" # wait_for

for tool in mkfs.ext4 debugfs fusermount3 losetup; do
	command -v $tool >/dev/null ||
		{ echo "demo: $tool missing (scripts/deps.sh)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "demo: needs root (FUSE, loop devices)"; exit 1; }

step "1. A blkif ring between two processes (libchannel)"
"$B/examples/pvio-ring-demo"

step "2. The hypervisor stub: grants, event channels and a xenstore"
run $PVIO hv start

step "3. A domain from an xl.cfg file, read by Debian's xenstore-ls"
cat >"$D/hello.cfg" <<CFG
name = "hello"
memory = 4
cmd = [ "$B/examples/pvio-domain-hello" ]
vif = [ 'bridge=pvbr0' ]
CFG
run $PVIO create "$D/hello.cfg"
H=$($PVIO list | awk '$1 == "hello" { print $2 }')
# It writes data/hello through its own xenstore connection.
wait_for 5 xenstore-exists "/local/domain/$H/data/hello" || true
run xenstore-ls -f "/local/domain/$H"

step "4. A block driver domain: pvio-blkback in its own domain"
run $PVIO driver-domain start
run $PVIO list

step "5. A guest with a disk image (a sparse file in dom0)"
truncate -s 256M "$D/disk.img"
mkdir "$D/mnt" "$D/fs"
# The guest's command: export its disk with pvio-blkfuse, then use it
# with unmodified tools.  It pauses once (files written, mounted) so that
# dom0 can look at the running system.
cat >"$D/guest.sh" <<'GUEST'
#!/bin/sh
set -eu
FUSE=$1 D=$2
trap '[ -e "$D/guest-done" ] || touch "$D/guest-failed"' EXIT
say() { printf 'guest %s: %s\n' "$PVIO_DOMAIN_NAME" "$*"; }
say "domain $PVIO_DOMID; starting pvio-blkfuse on $D/mnt"
"$FUSE" --vdev xvda "$D/mnt"
say "$(ls -l "$D/mnt/xvda")"
say "mkfs.ext4 $D/mnt/xvda"
mkfs.ext4 -q -F -L pvio-demo "$D/mnt/xvda"
say "mount -o loop $D/mnt/xvda $D/fs"
mount -o loop "$D/mnt/xvda" "$D/fs"
echo "hello from guest $PVIO_DOMAIN_NAME over a pvio disk" >"$D/fs/hello.txt"
mkdir "$D/fs/data"
dd if=/dev/urandom of="$D/fs/data/random.bin" bs=1M count=8 status=none
(cd "$D/fs" && sha256sum hello.txt data/random.bin) >"$D/sums"
say "wrote hello.txt and data/random.bin (8 MiB); sync"
sync
touch "$D/guest-paused"
n=0
while [ ! -e "$D/guest-go" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
# A new mount on a new loop device: nothing cached, all read from disk.
say "umount, mount again, read back"
umount "$D/fs"
mount -o loop "$D/mnt/xvda" "$D/fs"
(cd "$D/fs" && sha256sum -c --quiet "$D/sums")
say "contents verified: $(cat "$D/fs/hello.txt")"
umount "$D/fs"
fusermount3 -u "$D/mnt"
n=0
while grep -q " $D/mnt " /proc/mounts && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
say "done: file system unmounted, disk detached"
echo ok >"$D/guest-done"
GUEST
cat >"$D/guest.cfg" <<CFG
name = "guest"
memory = 32
disk = [ 'file:$D/disk.img,xvda,w' ]
cmd = [ "/bin/sh", "$D/guest.sh", "$B/fuse/pvio-blkfuse", "$D" ]
CFG
run cat "$D/guest.cfg"
run $PVIO create "$D/guest.cfg"

step "6. Inside the guest: pvio-blkfuse, mkfs.ext4, mount -o loop, write"
if ! wait_for 60 sh -c "test -e $D/guest-paused || test -e $D/guest-failed" ||
	[ -e "$D/guest-failed" ]; then
	echo "the guest did not get there"
	exit 1
fi
run cat "$D/log/guest.log"
G=$($PVIO list | awk '$1 == "guest" { print $2 }')
BB=$($PVIO list | awk '$1 == "blkback" { print $2 }')
run $PVIO list
echo "# the vbd, as blkback (domain $BB) and the guest (domain $G) see it:"
run xenstore-ls -f "/local/domain/$BB/backend/vbd/$G"
run xenstore-ls -f "/local/domain/$G/device/vbd"
run grep "$D" /proc/mounts

step "7. The guest reads its files back and lets go of the disk"
touch "$D/guest-go"
if ! wait_for 60 sh -c "test -e $D/guest-done || test -e $D/guest-failed" ||
	[ -e "$D/guest-failed" ]; then
	echo "the guest did not finish"
	exit 1
fi
run tail -n 4 "$D/log/guest.log"

step "8. The image from dom0: the data reached the disk"
run debugfs -R 'ls -l /' "$D/disk.img"
run debugfs -R 'cat /hello.txt' "$D/disk.img"
run e2fsck -fn "$D/disk.img"
run du -h --apparent-size "$D/disk.img"
run du -h "$D/disk.img"

step "9. Tear down: the guest is gone, the driver domain stops"
# The guest's process exited, so pvio-hv released its domain.
wait_for 10 sh -c "! $PVIO list | grep -q '^guest '"
run $PVIO destroy hello
run $PVIO driver-domain stop
run $PVIO list
echo "# blkback's log (one line of counters per vbd):"
run cat "$D/log/blkback.log"
run $PVIO hv stop
echo
echo "demo: all steps passed"
