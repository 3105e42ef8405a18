#!/bin/sh
# make demo: the pieces working together, from a ring between two processes
# to domains under pvio-hv that Debian's xenstore tools can read.
set -eu

B=${1:-build}
B=$(cd "$B" && pwd)
D=$(mktemp -d /tmp/pvio-demo.XXXXXX)
PVIO="$B/toolstack/pvio --run-dir $D"
export XENSTORED_PATH="$D/xenstored/socket"

cleanup() {
	$PVIO hv stop >/dev/null 2>&1 || true
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

step() { printf '\n=== %s\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}

step "1. A blkif ring between two processes (libchannel)"
"$B/examples/pvio-ring-demo"

step "2. The hypervisor stub: grants, event channels and a xenstore"
run $PVIO hv start

step "3. Two domains from xl.cfg files"
truncate -s 16M "$D/alpha.img"
for name in alpha beta; do
	cat >"$D/$name.cfg" <<CFG
name = "$name"
memory = 4
cmd = [ "$B/examples/pvio-domain-hello" ]
CFG
done
echo "disk = [ 'file:$D/alpha.img,xvda,w' ]" >>"$D/alpha.cfg"
echo "vif = [ 'bridge=pvbr0' ]" >>"$D/beta.cfg"
run cat "$D/alpha.cfg"
run $PVIO create "$D/alpha.cfg"
run $PVIO create "$D/beta.cfg"
# Each guest writes data/hello through its own xenstore connection.
for name in alpha beta; do
	for i in $(seq 100); do
		id=$($PVIO list | awk -v n=$name '$1 == n { print $2 }')
		xenstore-exists "/local/domain/$id/data/hello" 2>/dev/null &&
			break
		sleep 0.05
	done
done
run $PVIO list

step "4. Their xenstore, read by Debian's unmodified xenstore-ls"
run xenstore-ls -f /local/domain

step "5. Destroy one; pvio-hv releases everything it held"
run $PVIO destroy alpha
run $PVIO list
run $PVIO hv stop
