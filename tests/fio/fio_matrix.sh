#!/bin/sh
# fio_matrix: fio with verify=crc32c through libpvio_fio.so against a real
# pvio-blkback in a driver domain, fio running as a guest domain.
#
#   fio_matrix.sh PVIO_CLI ENGINE_SO [ENGINES] [PERSISTENT] [INDIRECT] [QUEUES]
#
# For each combination of blkback I/O engine x persistent grants on/off x
# indirect descriptors on/off x 1 or 4 queues (24 by default) one guest
# runs one fio with two concurrent jobs on one vbd:
#   wverify  random writes, block sizes 512 B .. 1 MiB, then verify;
#   mix      70/30 random read/write with verify, 512 B .. 64 KiB;
# at queue depths that rotate through 1 .. 128 across the combinations.
# A combination fails on a nonzero fio exit, a verify error or a job error.
# Everything lives in a private run dir (mktemp) and is torn down at exit.
set -u

pvio=$1
engine=$2
engines=${3:-"io_uring libaio psync"}
persists=${4:-"1 0"}
indirects=${5:-"1 0"}
queues_list=${6:-"1 4"}
per_run_timeout=${PVIO_FIO_TIMEOUT:-60}

tmp=$(mktemp -d)
export PVIO_RUN_DIR="$tmp/run"
mkdir -p "$PVIO_RUN_DIR"
cd "$tmp" || exit 1

cleanup() {
	"$pvio" hv stop >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! "$pvio" hv start >"$tmp/hv.out" 2>&1; then
	echo "FAIL: pvio hv start:"
	cat "$tmp/hv.out"
	exit 1
fi

# Every run has four jobs: random writes then verify at a rotating
# shallow depth (1..8, blocks up to 1 MiB) and at depth 128 (up to
# 128 KiB), and the 70/30 mix with verify at a rotating deep depth
# (128..16) and at depth 1 (up to 1 MiB): so each combination sees depths
# 1 and 128 and both workloads, and all depths from 1 to 128 appear.
qa_list="1 2 4 8"
qb_list="128 64 32 16"

fail=0
i=0
for eng in $engines; do
	for per in $persists; do
		for ind in $indirects; do
			for nq in $queues_list; do
				i=$((i + 1))
				k=$(((i - 1) % 4 + 1))
				qa=$(echo $qa_list | cut -d' ' -f$k)
				qb=$(echo $qb_list | cut -d' ' -f$k)
				tag="$eng persistent=$per indirect=$ind queues=$nq qd=$qa,128/$qb,1"
				d="$tmp/c$i"
				mkdir -p "$d"
				truncate -s 80M "$d/disk.img"
				cat >"$d/job.fio" <<EOF
[global]
ioengine=external:$engine
vdev=xvda
queues=$nq
persistent=$per
indirect=$ind
thread
verify=crc32c
verify_fatal=1
verify_state_save=0
do_verify=1
size=16M

[wverify]
rw=randwrite
bssplit=512/10:4k/30:16k/20:128k/20:1m/20
iodepth=$qa
offset=0

[mix]
rw=randrw
rwmixread=70
bssplit=512/20:4k/40:16k/20:64k/20
iodepth=$qb
offset=20M

[wverify_deep]
rw=randwrite
bssplit=512/20:4k/40:16k/20:128k/20
iodepth=128
offset=40M

[mix_shallow]
rw=randrw
rwmixread=70
bssplit=512/10:4k/30:16k/20:128k/20:1m/20
iodepth=1
offset=60M
EOF
				cat >"$d/run.sh" <<EOF
cd "$d" || exit 1
fio --output="$d/fio.out" "$d/job.fio" 2>"$d/fio.err"
echo \$? >"$d/rc.tmp"
mv "$d/rc.tmp" "$d/rc"
EOF
				cat >"$d/guest.cfg" <<EOF
name = "fio$i"
memory = 96
cmd = ["/bin/sh", "$d/run.sh"]
disk = ['file:$d/disk.img,xvda,w,engine=$eng']
EOF
				start=$(date +%s)
				if ! "$pvio" create "$d/guest.cfg" \
					>"$d/create.out" 2>&1; then
					echo "FAIL [$tag]: pvio create:"
					cat "$d/create.out"
					fail=1
					continue
				fi
				waited=0
				while [ ! -f "$d/rc" ] &&
					[ $waited -lt $((per_run_timeout * 10)) ]; do
					sleep 0.1
					waited=$((waited + 1))
				done
				took=$(($(date +%s) - start))
				if [ ! -f "$d/rc" ]; then
					echo "FAIL [$tag]: fio did not finish in ${per_run_timeout}s"
					"$pvio" destroy "fio$i" >/dev/null 2>&1
					cat "$d/fio.out" "$d/fio.err" 2>/dev/null | tail -20
					fail=1
					continue
				fi
				rc=$(cat "$d/rc")
				if [ "$rc" != 0 ] ||
					grep -q "verify failed\|bad magic\|err= *[1-9]" \
						"$d/fio.out" "$d/fio.err" ||
					! grep -q "pvio-fio stats" "$d/fio.err"; then
					echo "FAIL [$tag]: fio exit $rc"
					cat "$d/fio.out" "$d/fio.err" | grep -v "^ *|" |
						tail -40
					tail -20 "$PVIO_RUN_DIR/log/fio$i.log" 2>/dev/null
					fail=1
				else
					echo "ok   [$tag] ${took}s: $(grep -o 'ios=[0-9]* .*hypercalls=[0-9]*' "$d/fio.err" | head -1)"
				fi
				rm -f "$d/disk.img"
			done
		done
	done
done

if [ $fail -ne 0 ]; then
	echo "--- driver domain log (tail) ---"
	tail -30 "$PVIO_RUN_DIR"/log/blkback.log 2>/dev/null
fi
exit $fail
