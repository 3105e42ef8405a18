#!/usr/bin/env python3
# Byte-exact I/O through pvio-blkfuse's file, checked against a model:
# writes and reads at any offset and length (partial sectors, requests
# that cross the 1 MiB chunk), fsync, punch hole, and (with --image) that
# after fsync the data is in the backing image as dom0 sees it.
#
# usage: rwcheck.py FILE [--image IMG] [--seed N]
import argparse
import os
import random
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("--image")
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
rnd = random.Random(a.seed)
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


fd = os.open(a.file, os.O_RDWR)
size = os.fstat(fd).st_size
# The model covers the first 8 MiB; the disk starts as zeroes (a fresh
# sparse image).
span = min(size, 8 << 20)
model = bytearray(span)
if os.pread(fd, span, 0) != bytes(span):
    fail("a fresh disk does not read as zeroes")

for i in range(200):
    off = rnd.randrange(0, span - 1)
    n = rnd.choice([1, 7, 511, 512, 513, 4095, 4096, 70000, 1 << 20,
                    (1 << 20) + 333, 3 << 20])
    n = min(n, span - off)
    data = bytes(rnd.getrandbits(8) for _ in range(min(n, 64))) * (n // 64 + 1)
    data = data[:n]
    if os.pwrite(fd, data, off) != n:
        fail(f"short write at {off}+{n}")
    model[off:off + n] = data
    if rnd.random() < 0.3:
        roff = rnd.randrange(0, span - 1)
        rn = min(rnd.choice([1, 100, 512, 5000, 1 << 20, 2 << 20]),
                 span - roff)
        if os.pread(fd, rn, roff) != bytes(model[roff:roff + rn]):
            fail(f"read {roff}+{rn} after write {i} differs")
if os.pread(fd, span, 0) != bytes(model):
    fail("whole-span read differs from the model")

# Reads past the end are short; writes past the end fail (a disk).
if os.pread(fd, 4096, size - 100) != os.pread(fd, 100, size - 100) or \
        len(os.pread(fd, 4096, size - 100)) != 100:
    fail("read across the end is not short")
if os.pread(fd, 10, size) != b"":
    fail("read at the end is not empty")
try:
    os.pwrite(fd, b"x", size)
    fail("write past the end succeeded")
except OSError as e:
    if e.errno != 28:  # ENOSPC
        fail(f"write past the end: {e}")

os.fsync(fd)

# Punch a hole with ragged edges: zeroes inside, data kept around it.
poff, plen = 4096 * 100 + 123, 300000
subprocess.run(["fallocate", "-p", "-o", str(poff), "-l", str(plen), a.file],
               check=True)
model[poff:poff + plen] = bytes(plen)
if os.pread(fd, span, 0) != bytes(model):
    fail("punch hole: contents differ from the model")
os.fsync(fd)

if a.image:
    with open(a.image, "rb") as img:
        if img.read(span) != bytes(model):
            fail("after fsync the image in dom0 differs from the model")
os.close(fd)
if failures:
    sys.exit(1)
print("rwcheck: 200 writes, partial sectors, punch hole, fsync: ok")
