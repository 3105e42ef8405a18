#!/bin/sh
# The `pvio` command end to end against a private pvio-hv, with Debian's
# unmodified xenstore-utils reading what it wrote.
#
# The block driver domain here is a stand-in (a script that reports ready
# and records its arguments), so this tests the toolstack alone; the real
# pvio-blkback end to end is test_cli_disk.sh.
#
# usage: test_cli.sh PVIO_BINARY PVIO_HV_BINARY
set -u

D=$(mktemp -d /tmp/pvio-cli.XXXXXX)
export XENSTORED_PATH="$D/xenstored/socket"
failures=0

# pvio finds pvio-hv and pvio-blkback next to itself.
mkdir "$D/bin"
cp "$1" "$D/bin/pvio"
ln -s "$(readlink -f "$2")" "$D/bin/pvio-hv"
# The stand-in takes each vbd up (InitWait), refuses targets named *bad*
# (error node + Closing, as blkback does) and answers Closing with Closed.
cat >"$D/bin/pvio-blkback" <<'EOF2'
#!/bin/sh
echo "$@" >"$PVIO_RUN_DIR/args.$PVIO_DOMAIN_NAME"
export XENSTORED_PATH=$PVIO_RUN_DIR/xenstored/socket
xenstore-write /local/domain/$PVIO_DOMID/data/blkback-ready 1
while sleep 0.02; do
	xenstore-ls -f /local/domain/$PVIO_DOMID/backend/vbd 2>/dev/null |
		sed -n 's/^\(.*\)\/state = "\([15]\)"$/\1 \2/p' |
		while read -r dir st; do
			if [ "$st" = 5 ]; then
				xenstore-write "$dir/state" 6
			elif xenstore-read "$dir/params" | grep -q bad; then
				xenstore-write "$dir/error" "cannot open" \
					"$dir/state" 5
			else
				xenstore-write "$dir/state" 2
			fi
		done
done
EOF2
chmod +x "$D/bin/pvio-blkback"
PVIO=$D/bin/pvio

cleanup() {
	"$PVIO" --run-dir "$D" hv stop >/dev/null 2>&1
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

# expect_ok DESCRIPTION COMMAND...: the command succeeds
expect_ok() {
	what=$1
	shift
	if ! out=$("$@" 2>&1); then
		fail "$what: '$*' failed: $out"
	fi
}

# expect_err DESCRIPTION PATTERN COMMAND...: fails, stderr matches PATTERN
expect_err() {
	what=$1
	pat=$2
	shift 2
	if out=$("$@" 2>&1); then
		fail "$what: '$*' succeeded: $out"
	elif ! printf '%s\n' "$out" | grep -q -- "$pat"; then
		fail "$what: message '$out' lacks '$pat'"
	fi
}

. "$(dirname "$0")/../../scripts/shlib.sh" # fail, wait_for

pv() { "$PVIO" --run-dir "$D" "$@"; }

# --- help ---------------------------------------------------------------
for c in hv create list destroy pause unpause block-attach block-detach \
	network-attach network-detach store help; do
	out=$(pv "$c" --help) || fail "$c --help exit status"
	printf '%s' "$out" | grep -q "usage: pvio $c" || fail "$c --help: $out"
done
pv --help | grep -q "Commands:" || fail "pvio --help"
pv frobnicate >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown command must exit 2"

# --- the stub -----------------------------------------------------------
expect_err "list without a stub" "is it running" pv list
expect_ok "hv start" pv hv start
expect_ok "hv status" pv hv status
expect_err "second hv start" "already running" pv hv start
[ -S "$D/xenstored/socket" ] || fail "no xenstore socket"
expect_ok "xenstore-ls on a fresh store" xenstore-ls /

# --- configs ------------------------------------------------------------
truncate -s 1M "$D/a.img"
cat >"$D/a.cfg" <<EOF
name = "alpha"
memory = 4
vcpus = 1
disk = [ 'file:$D/a.img,xvda,w,engine=psync' ]
vif = [ 'bridge=pvbr0,mac=00:16:3e:00:00:0a' ]
cmd = [ "sleep", "600" ]
EOF
cat >"$D/b.cfg" <<EOF
name = "beta"
cmd = "exec sleep 600"
EOF
cat >"$D/bad.cfg" <<EOF
name = "gamma"

memory = "lots"
EOF

expect_err "bad config" "bad.cfg:3: memory: expected a number" \
	pv create "$D/bad.cfg"
out=$(pv create -n "$D/a.cfg" 2>&1) || fail "create -n: $out"
printf '%s' "$out" | grep -q "vcpus: not yet supported" ||
	fail "unsupported key not reported: $out"

# --- disk targets are checked, errors name file:line ----------------------
printf 'name = "x"\ndisk = [ "file:%s/none.img,xvda,w" ]\n' "$D" >"$D/x.cfg"
expect_err "missing image" "x.cfg:2: disk: $D/none.img: No such file" \
	pv create "$D/x.cfg"
expect_err "missing image (-n)" "No such file" pv create -n "$D/x.cfg"
printf 'name = "x"\n\ndisk = [ "phy:%s/a.img,xvda,w" ]\n' "$D" >"$D/x.cfg"
expect_err "phy on a file" "x.cfg:3: disk: .*needs a block device" \
	pv create "$D/x.cfg"
printf 'name = "x"\ndisk = [ "file:/dev/null,xvda,w" ]\n' >"$D/x.cfg"
expect_err "file on a char device" "x.cfg:2: disk: /dev/null: file: needs" \
	pv create "$D/x.cfg"
printf 'name = "x"\ndisk = [ "%s/a.img,,xvda,w,engine=spdk" ]\n' "$D" \
	>"$D/x.cfg"
expect_err "bad engine" "x.cfg:2: disk: unknown engine 'spdk'" \
	pv create "$D/x.cfg"
printf 'name = "x"\ndisk = [ "%s/a.img,,xvda,w,backend=nosuch" ]\n' "$D" \
	>"$D/x.cfg"
expect_err "missing backend domain" "no domain named 'nosuch'" \
	pv create "$D/x.cfg"
pv list | grep -q "^x " && fail "failed create left a domain"
pv list | grep -q "^blkback " && fail "driver domain started too early"

out=$(pv create "$D/a.cfg" 2>&1) || fail "create alpha: $out"
A=$(printf '%s\n' "$out" | sed -n 's/.*created: domid \([0-9]*\).*/\1/p')
BB=$(printf '%s\n' "$out" |
	sed -n 's/.*driver domain blkback started: domid \([0-9]*\).*/\1/p')
[ -n "$BB" ] || fail "default driver domain not started: $out"
printf '%s' "$out" | grep -q "disk xvda .*served by driver domain $BB" ||
	fail "disk not reported as served: $out"
[ "$(cat "$D/args.blkback" 2>/dev/null)" = "" ] ||
	fail "default driver domain args: $(cat "$D/args.blkback")"
out=$(pv create "$D/b.cfg" 2>&1) || fail "create beta: $out"
B=$(printf '%s\n' "$out" | sed -n 's/.*created: domid \([0-9]*\).*/\1/p')
[ -n "$A" ] && [ -n "$B" ] && [ "$A" != "$B" ] || fail "domids '$A' '$B'"
expect_err "duplicate name" "a domain named 'alpha' exists" \
	pv create "$D/a.cfg"

# --- what xenstore holds, read by Debian's tools ------------------------
[ "$(xenstore-read /local/domain/$A/name)" = alpha ] || fail "name of $A"
[ "$(xenstore-read /local/domain/$B/name)" = beta ] || fail "name of $B"
[ "$(xenstore-read /local/domain/$A/memory/target)" = 4096 ] ||
	fail "memory/target"
FE=/local/domain/$A/device/vbd/51712
BE=/local/domain/$BB/backend/vbd/$A/51712
[ "$(xenstore-read $FE/backend)" = "$BE" ] || fail "frontend backend key"
[ "$(xenstore-read $FE/state)" = 1 ] || fail "frontend state"
[ "$(xenstore-read $BE/params)" = "$D/a.img" ] || fail "backend params"
[ "$(xenstore-read $BE/frontend-id)" = "$A" ] || fail "frontend-id"
[ "$(xenstore-read $BE/mode)" = w ] || fail "mode"
[ "$(xenstore-read $BE/type)" = file ] || fail "type"
[ "$(xenstore-read $BE/io-engine)" = psync ] || fail "io-engine"
[ "$(xenstore-read /local/domain/$A/device/vif/0/mac)" = \
	00:16:3e:00:00:0a ] || fail "vif mac"
# Frontend dir owned by the guest, readable by the driver domain; the
# backend dir the other way round.
perms=$(xenstore-ls -p $FE 2>/dev/null | head -1)
printf '%s' "$perms" | grep -q "(n$A,r$BB)" || fail "frontend perms: $perms"
perms=$(xenstore-ls -p /local/domain/$BB/backend/vbd/$A 2>/dev/null | head -1)
printf '%s' "$perms" | grep -q "(n$BB,r$A)" || fail "backend perms: $perms"
xenstore-ls /local/domain | grep -q "name = \"beta\"" ||
	fail "xenstore-ls does not show beta"

# --- list, pause ---------------------------------------------------------
out=$(pv list) || fail "list"
printf '%s\n' "$out" | grep -E "^alpha +$A .* running .*vbd:51712 vif:0" \
	>/dev/null || fail "list alpha: $out"
printf '%s\n' "$out" | grep -E "^beta +$B .* running" >/dev/null ||
	fail "list beta: $out"
PIDB=$(printf '%s\n' "$out" | awk -v n=beta '$1 == n { print $6 }')
expect_ok "pause" pv pause beta
pv list | grep -E "^beta .* paused" >/dev/null || fail "not paused"
grep -q "^State:.*T" "/proc/$PIDB/status" || fail "beta's process runs"
expect_ok "unpause" pv unpause "$B"
grep -q "^State:.*T" "/proc/$PIDB/status" && fail "beta still stopped"

# --- devices ------------------------------------------------------------
truncate -s 1M "$D/c.img"
expect_ok "block-attach" pv block-attach alpha "file:$D/c.img,xvdb,r"
[ "$(xenstore-read /local/domain/$BB/backend/vbd/$A/51728/mode)" = r ] ||
	fail "attached disk mode"
expect_err "attach a missing file" "$D/nope.img: No such file" \
	pv block-attach alpha "file:$D/nope.img,xvdc,r"
truncate -s 1M "$D/bad.img"
expect_err "driver domain refuses a disk" \
	"driver domain $BB cannot serve xvdc: cannot open" \
	pv block-attach alpha "file:$D/bad.img,xvdc,r"
xenstore-exists /local/domain/$A/device/vbd/51744 2>/dev/null &&
	fail "refused disk left a frontend dir"
printf 'name = "x"\ndisk = [ "%s/bad.img,,xvda,w" ]\ncmd = "exec sleep 60"\n' \
	"$D" >"$D/x.cfg"
expect_err "create with a refused disk" \
	"disk xvda: driver domain $BB cannot serve it: cannot open" \
	pv create "$D/x.cfg"
pv list | grep -q "^x " && fail "refused create left a domain"
out=$(pv block-attach alpha "file:$D/c.img,xvdd,r,backend=Domain-0" 2>&1) ||
	fail "attach to dom0: $out"
printf '%s' "$out" | grep -q "no block backend runs in Domain-0" ||
	fail "dom0 backend not explained: $out"
[ "$(xenstore-read /local/domain/0/backend/vbd/$A/51760/mode)" = r ] ||
	fail "dom0-backed disk"
expect_ok "block-detach dom0 disk" pv block-detach alpha xvdd
expect_err "attach twice" "already attached" \
	pv block-attach alpha "file:$D/c.img,xvdb,r"
expect_err "bad disk spec" "not a virtual disk name" \
	pv block-attach alpha "file:$D/c.img,xvd9,r"
expect_ok "block-detach" pv block-detach alpha xvdb
xenstore-exists /local/domain/$A/device/vbd/51728 2>/dev/null &&
	fail "frontend dir left after detach"
xenstore-exists /local/domain/$BB/backend/vbd/$A/51728 2>/dev/null &&
	fail "backend dir left after detach"
expect_err "detach twice" "has no vbd" pv block-detach alpha xvdb
expect_ok "network-attach" pv network-attach beta bridge=pvbr0
[ "$(xenstore-read /local/domain/0/backend/vif/$B/0/bridge)" = pvbr0 ] ||
	fail "vif bridge"
expect_ok "second network-attach" pv network-attach beta
xenstore-exists /local/domain/$B/device/vif/1 || fail "second vif devid"
expect_ok "network-detach" pv network-detach beta 0
xenstore-exists /local/domain/$B/device/vif/0 2>/dev/null &&
	fail "vif 0 left"

# --- store --------------------------------------------------------------
expect_ok "store write" pv store write /tool/a 1 /tool/b two
[ "$(pv store read /tool/b)" = two ] || fail "store read"
[ "$(xenstore-read /tool/a)" = 1 ] || fail "store write seen by xenstore"
pv store ls /tool | grep -q 'b = "two"' || fail "store ls"
pv store watch /tool 2 >"$D/watch.out" &
WPID=$!
wait_for 5 grep -q /tool "$D/watch.out" || fail "watch: no initial event"
xenstore-write /tool/c 3
wait $WPID || fail "store watch exit status"
[ "$(sed -n 2p "$D/watch.out")" = /tool/c ] ||
	fail "watch output: $(cat "$D/watch.out")"
expect_ok "store rm" pv store rm /tool
xenstore-exists /tool 2>/dev/null && fail "store rm left /tool"
expect_err "store read missing" "No such file" pv store read /tool/a

# --- driver domains ------------------------------------------------------
expect_ok "driver-domain start" \
	pv driver-domain start --name dd2 -- --engine libaio --verbose
[ "$(cat "$D/args.dd2" 2>/dev/null)" = "--engine libaio --verbose" ] ||
	fail "driver-domain args: $(cat "$D/args.dd2" 2>/dev/null)"
expect_err "driver-domain twice" "a domain named 'dd2' exists" \
	pv driver-domain start --name dd2
DD2=$(pv list | awk '$1 == "dd2" { print $2 }')
expect_ok "attach to a named driver domain" \
	pv block-attach beta "$D/c.img,raw,xvdb,r,backend=dd2"
[ "$(xenstore-read /local/domain/$DD2/backend/vbd/$B/51728/params)" = \
	"$D/c.img" ] || fail "disk on dd2"
expect_ok "driver-domain stop" pv driver-domain stop --name dd2
pv list | grep -q "^dd2 " && fail "dd2 still listed"
expect_err "stop a missing driver domain" "no domain named 'dd2'" \
	pv driver-domain stop --name dd2
cat >"$D/dd3.cfg" <<EOF
name = "dd3"
driver = "blkback"
driver_args = [ "--engine", "psync" ]
EOF
expect_ok "driver domain from a config" pv create "$D/dd3.cfg"
[ "$(cat "$D/args.dd3" 2>/dev/null)" = "--engine psync" ] ||
	fail "config driver args: $(cat "$D/args.dd3" 2>/dev/null)"
DD3=$(pv list | awk '$1 == "dd3" { print $2 }')
xenstore-exists "/local/domain/$DD3/data/blkback-ready" ||
	fail "create returned before dd3 was ready"
printf 'name = "dd4"\ndriver = "blkback"\ncmd = "true"\n' >"$D/dd4.cfg"
expect_err "driver with cmd" "dd4.cfg:2: driver: a driver domain's command" \
	pv create "$D/dd4.cfg"
expect_ok "driver-domain stop dd3" pv driver-domain stop --name dd3

# --- death and destroy ---------------------------------------------------
xenstore-watch -n 2 @releaseDomain >"$D/release.out" 2>&1 &
RPID=$!
wait_for 5 grep -q @releaseDomain "$D/release.out" ||
	fail "@releaseDomain: no initial event"
kill -9 "$PIDB"
wait_for 5 sh -c "! \"$PVIO\" --run-dir \"$D\" list | grep -q '^beta '" ||
	fail "killed domain still listed"
wait $RPID || fail "@releaseDomain did not fire"
xenstore-exists /local/domain/$B 2>/dev/null &&
	fail "dead domain's subtree left"
xenstore-exists /local/domain/0/backend/vif/$B 2>/dev/null &&
	fail "dead domain's backend dirs left"

# What a guest starts belongs to it: destroy ends its process group too.
cat >"$D/kids.cfg" <<EOF
name = "kids"
cmd = "sleep 600 & echo \$! >$D/kid.pid; wait"
EOF
expect_ok "create kids" pv create "$D/kids.cfg"
wait_for 5 test -s "$D/kid.pid" || fail "kids: no child pid"
KID=$(cat "$D/kid.pid" 2>/dev/null)
kill -0 "$KID" 2>/dev/null || fail "kids: child not running"
expect_ok "destroy kids" pv destroy kids
wait_for 5 sh -c "! kill -0 $KID" || fail "a guest's child outlived destroy"

expect_ok "destroy" pv destroy alpha
pv list | grep -q "^alpha " && fail "destroyed domain listed"
xenstore-exists /local/domain/$BB/backend/vbd/$A 2>/dev/null &&
	fail "destroyed domain's backend dirs left"
expect_ok "driver-domain stop (default)" pv driver-domain stop
pv list | grep -q "^blkback " && fail "default driver domain still listed"
expect_err "destroy unknown" "no domain named 'alpha'" pv destroy alpha
expect_err "destroy dom0" "cannot be destroyed" pv destroy 0

expect_ok "hv stop" pv hv stop
[ -e "$D/hv.sock" ] && fail "hypercall socket left after stop"
expect_err "status after stop" "not running" pv hv status

if [ $failures -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all pvio CLI checks passed"
