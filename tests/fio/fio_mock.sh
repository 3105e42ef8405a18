#!/bin/sh
# fio_engine_mock: the engine's own logic with the real fio, over
# tests/fio/mock_blkfront.c (a file-backed stand-in for blkfront).
# Each case must exit 0 with no verify error; the last one must be refused.
set -u
engine=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp" || exit 1 # fio may leave verify state files in the cwd
img=$tmp/disk.img
truncate -s 64M "$img"
export PVIO_FIO_MOCK_FILE=$img
fail=0

run() {
	name=$1
	shift
	if fio --output="$tmp/$name.out" --ioengine=external:"$engine" \
		--vdev=xvda --thread --group_reporting --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --verify_state_save=0 \
		--name="$name" "$@" \
		2>"$tmp/$name.err"; then
		if ! grep -q "pvio-fio stats: vdev=xvda" "$tmp/$name.err"; then
			echo "FAIL $name: no stats line"
			fail=1
			return
		fi
		echo "ok   $name: $(grep 'pvio-fio stats' "$tmp/$name.err" | head -1)"
	else
		echo "FAIL $name:"
		cat "$tmp/$name.out" "$tmp/$name.err"
		fail=1
	fi
}

# Four jobs over two queues (two jobs per queue): routing of completions.
run shared --rw=randwrite --bssplit=512/10:4k/40:64k/20:256k/20:1m/10 \
	--iodepth=32 --numjobs=4 --size=16M --offset_increment=16M \
	--queues=2
# No indirect: 1 MiB I/O split into 11-page ring requests.
run split --rw=randwrite --bs=1m --iodepth=8 --indirect=0 --size=32M
# Small ring: queue-full back-pressure at QD128.
PVIO_FIO_MOCK_DEPTH=8 run qd128 --rw=randwrite --bs=4k --iodepth=128 \
	--size=8M
# 70/30 mix with verify, and flushes.
run mix --rw=randrw --rwmixread=70 --bs=4k --iodepth=16 --size=16M \
	--fsync=8
# Trim path (the mock does nothing for discard; fio's trim verify off).
run trim --rw=randtrim --bs=64k --iodepth=4 --size=8M --do_verify=0 \
	--verify=null

# The checks can fail: a backend that corrupts reads must be caught.
if PVIO_FIO_MOCK_CORRUPT=50 fio --output="$tmp/bad.out" \
	--ioengine=external:"$engine" --vdev=xvda --thread --name=bad \
	--verify_state_save=0 \
	--rw=randwrite --bs=4k --iodepth=8 --size=4M --verify=crc32c \
	2>"$tmp/bad.err"; then
	echo "FAIL corrupt: fio did not notice corrupted reads"
	fail=1
elif grep -q "verify" "$tmp/bad.out" "$tmp/bad.err"; then
	echo "ok   corrupt reads caught by verify"
else
	echo "FAIL corrupt: failed, but not with a verify error"
	cat "$tmp/bad.out" "$tmp/bad.err"
	fail=1
fi

# Forked jobs (no --thread): one works; two at once on one vbd must be
# refused with a clear message.
if fio --output="$tmp/fork1.out" --ioengine=external:"$engine" \
	--vdev=xvda --name=f1 --verify_state_save=0 --rw=randwrite --bs=4k --size=4M \
	--verify=crc32c --iodepth=4 2>"$tmp/fork1.err"; then
	echo "ok   fork1"
else
	echo "FAIL fork1"
	cat "$tmp/fork1.out" "$tmp/fork1.err"
	fail=1
fi
if fio --output="$tmp/fork2.out" --ioengine=external:"$engine" \
	--vdev=xvda --name=f2 --rw=randread --bs=4k --size=4M \
	--numjobs=2 --time_based --runtime=2 --iodepth=4 \
	2>"$tmp/fork2.err"; then
	echo "FAIL fork2: two forked jobs both attached"
	fail=1
elif grep -q "attached by another fio process" "$tmp/fork2.out" \
	"$tmp/fork2.err"; then
	echo "ok   fork2 refused"
else
	echo "FAIL fork2: no clear error"
	cat "$tmp/fork2.out" "$tmp/fork2.err"
	fail=1
fi
# A missing vdev= is a clear error, not a crash.
fio --output="$tmp/novdev.out" --ioengine=external:"$engine" \
	--name=n --rw=read --size=1M 2>"$tmp/novdev.err"
if grep -q "vdev= option is required" "$tmp/novdev.out" "$tmp/novdev.err"; then
	echo "ok   novdev"
else
	echo "FAIL novdev"
	cat "$tmp/novdev.out" "$tmp/novdev.err"
	fail=1
fi
exit $fail
