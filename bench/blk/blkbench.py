#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/blk: one disk, four ways to reach it, same fio workloads.

On one backing file in tmpfs (/dev/shm):
  native-psync     fio, ioengine=psync, on the file itself
  native-io_uring  fio, ioengine=io_uring, on the file itself
  nbd              fio's nbd engine against `nbdkit file` serving the file
                   (the out-of-process disk one would pick today)
  pvio             fio through libpvio_fio.so in a guest domain, the file
                   served by pvio-blkback in a driver domain (io_uring)
Cells: 4 KiB random read and write at QD1 and QD32, 128 KiB sequential
read and write at QD8.  Prints IOPS, bandwidth, mean and p99 latency, the
ratios against the best native engine and against NBD, the goals, and the
grant map/unmap and hypervisor round trips per I/O on both sides of pvio
(the engine's stats line; blkback's counters line at vbd teardown).

Usage: blkbench.py --pvio BUILD/toolstack/pvio --engine BUILD/fio/libpvio_fio.so
                   [--runtime S] [--ramp S] [--size-mib N] [--quick]
Exit status: 0 when every system ran and the table was printed (goals
met or not), 1 otherwise.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CELLS = [
    # name, rw, bs, iodepth
    ("randread 4k QD1", "randread", "4k", 1),
    ("randread 4k QD32", "randread", "4k", 32),
    ("randwrite 4k QD1", "randwrite", "4k", 1),
    ("randwrite 4k QD32", "randwrite", "4k", 32),
    ("read 128k QD8", "read", "128k", 8),
    ("write 128k QD8", "write", "128k", 8),
]
SYSTEMS = ["native-psync", "native-io_uring", "nbd", "pvio"]


def log(msg):
    print(f"[blkbench] {msg}", file=sys.stderr, flush=True)


def jobfile(path, engine_lines, runtime, ramp, size_mib, extra_global=""):
    with open(path, "w") as f:
        f.write("[global]\n")
        f.write("\n".join(engine_lines) + "\n")
        f.write(f"size={size_mib}M\ntime_based=1\nruntime={runtime}\n")
        f.write(f"ramp_time={ramp}\nnorandommap=1\nrandrepeat=0\n")
        f.write("group_reporting=1\nstonewall\n")
        f.write(extra_global)
        for i, (name, rw, bs, qd) in enumerate(CELLS):
            f.write(f"\n[c{i}]\nrw={rw}\nbs={bs}\niodepth={qd}\n")
            # psync has no queue: iodepth>1 only makes fio warn.
            if "ioengine=psync" in engine_lines:
                f.write("iodepth=1\n")


def parse_fio_json(path):
    with open(path) as f:
        text = f.read()
    # Anything printed before the JSON (engine notes) is skipped.
    start = text.find("{")
    data = json.loads(text[start:])
    res = {}
    for job in data["jobs"]:
        i = int(job["jobname"][1:])
        rw = CELLS[i][1]
        d = job["read"] if "read" in rw else job["write"]
        p99 = d["clat_ns"].get("percentile", {}).get("99.000000", 0)
        res[i] = {
            "iops": d["iops"],
            "mibs": d["bw_bytes"] / (1 << 20),
            "lat_us": d["lat_ns"]["mean"] / 1000.0,
            "p99_us": p99 / 1000.0,
            "error": job.get("error", 0),
        }
    return res


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw)


def bench_native(tmp, img, engine, a):
    jf = os.path.join(tmp, f"native-{engine}.fio")
    out = os.path.join(tmp, f"native-{engine}.json")
    jobfile(jf, [f"ioengine={engine}", f"filename={img}"], a.runtime, a.ramp,
            a.size_mib)
    r = run(["fio", "--output-format=json", f"--output={out}", jf])
    if r.returncode != 0:
        log(f"native {engine} failed:\n{r.stdout}")
        return None
    return parse_fio_json(out)


def bench_nbd(tmp, img, a):
    sock = os.path.join(tmp, "nbd.sock")
    jf = os.path.join(tmp, "nbd.fio")
    out = os.path.join(tmp, "nbd.json")
    p = subprocess.Popen(["nbdkit", "-f", "-U", sock, "file", img],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        else:
            log("nbdkit did not start")
            return None
        jobfile(jf, ["ioengine=nbd", f"uri=nbd+unix:///?socket={sock}"],
                a.runtime, a.ramp, a.size_mib)
        r = run(["fio", "--output-format=json", f"--output={out}", jf])
        if r.returncode != 0:
            log(f"nbd failed:\n{r.stdout}")
            return None
        return parse_fio_json(out)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


STATS_RE = re.compile(r"pvio-fio stats: (.*)")
BACK_RE = re.compile(r"vbd (\d+)/(\d+): requests (\d+), errors (\d+), "
                     r"grant maps (\d+), grant unmaps (\d+), hypercalls (\d+)")


def bench_pvio(tmp, img, a, info):
    run_dir = os.path.join(tmp, "run")
    os.makedirs(run_dir)
    env = dict(os.environ, PVIO_RUN_DIR=run_dir)
    jf = os.path.join(tmp, "pvio.fio")
    out = os.path.join(tmp, "pvio.json")
    err = os.path.join(tmp, "pvio.err")
    rcf = os.path.join(tmp, "pvio.rc")
    # thread: the jobs share one attachment, kept until fio exits.
    jobfile(jf, [f"ioengine=external:{a.engine}", "vdev=xvda", "thread"],
            a.runtime, a.ramp, a.size_mib)
    script = os.path.join(tmp, "pvio.sh")
    with open(script, "w") as f:
        f.write(f"cd {tmp} || exit 1\n"
                f"fio --output-format=json --output={out} {jf} 2>{err}\n"
                f"echo $? > {rcf}.tmp && mv {rcf}.tmp {rcf}\n")
    cfg = os.path.join(tmp, "guest.cfg")
    with open(cfg, "w") as f:
        f.write('name = "bench"\nmemory = 64\n'
                f'cmd = ["/bin/sh", "{script}"]\n'
                f"disk = ['file:{img},xvda,w']\n")
    r = run([a.pvio, "hv", "start"], env=env)
    if r.returncode != 0:
        log(f"pvio hv start failed:\n{r.stdout}")
        return None
    try:
        r = run([a.pvio, "create", cfg], env=env)
        if r.returncode != 0:
            log(f"pvio create failed:\n{r.stdout}")
            return None
        limit = time.time() + len(CELLS) * (a.runtime + a.ramp + 5) + 30
        while not os.path.exists(rcf) and time.time() < limit:
            time.sleep(0.2)
        if not os.path.exists(rcf):
            log("pvio: fio did not finish in time")
            run([a.pvio, "destroy", "bench"], env=env)
            return None
        rc = open(rcf).read().strip()
        errtext = open(err).read() if os.path.exists(err) else ""
        m = STATS_RE.search(errtext)
        if m:
            info["guest"] = dict(kv.split("=", 1) for kv in m.group(1).split())
        # blkback logs its counters when the vbd goes (the guest exited).
        blog = os.path.join(run_dir, "log", "blkback.log")
        limit = time.time() + 10
        while time.time() < limit:
            txt = open(blog).read() if os.path.exists(blog) else ""
            mm = BACK_RE.findall(txt)
            if mm:
                req, errs, maps, unmaps, hc = (int(x) for x in mm[-1][2:])
                info["backend"] = {"requests": req, "errors": errs,
                                   "grant_maps": maps, "grant_unmaps": unmaps,
                                   "hypercalls": hc}
                break
            time.sleep(0.2)
        if rc != "0":
            log(f"pvio: fio exited {rc}:\n{errtext[-3000:]}")
            return None
        return parse_fio_json(out)
    finally:
        run([a.pvio, "hv", "stop"], env=env)


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}x"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvio", required=True)
    ap.add_argument("--engine", required=True)
    ap.add_argument("--runtime", type=int, default=4)
    ap.add_argument("--ramp", type=int, default=1)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--quick", action="store_true",
                    help="1 s cells on a 32 MiB file (smoke test)")
    a = ap.parse_args()
    if a.quick:
        a.runtime, a.ramp, a.size_mib = 1, 0, 32
    a.pvio = os.path.abspath(a.pvio)
    a.engine = os.path.abspath(a.engine)
    for tool in ("fio", "nbdkit"):
        if not shutil.which(tool):
            log(f"{tool} is not installed (make deps)")
            return 1
    if not os.path.exists(a.engine):
        log(f"no engine at {a.engine}")
        return 1

    tmp = tempfile.mkdtemp(prefix="pvio-blkbench.", dir="/dev/shm")
    try:
        img = os.path.join(tmp, "disk.img")
        with open(img, "wb") as f:  # real data: holes read too fast
            chunk = os.urandom(1 << 20)
            for _ in range(a.size_mib):
                f.write(chunk)
        t0 = time.time()
        results, info = {}, {}
        log("native psync")
        results["native-psync"] = bench_native(tmp, img, "psync", a)
        log("native io_uring")
        results["native-io_uring"] = bench_native(tmp, img, "io_uring", a)
        log("nbd (nbdkit file)")
        results["nbd"] = bench_nbd(tmp, img, a)
        log("pvio (guest fio -> blkfront -> blkback in a driver domain)")
        results["pvio"] = bench_pvio(tmp, img, a, info)
        log(f"done in {time.time() - t0:.0f}s")
        return report(results, info, a)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(results, info, a):
    print(f"\nbench/blk: {a.size_mib} MiB file in /dev/shm, "
          f"{a.runtime}s per cell (+{a.ramp}s ramp), fio {fio_version()}")
    hdr = (f"{'cell':<19}{'system':<17}{'IOPS':>10}{'MiB/s':>10}"
           f"{'mean us':>10}{'p99 us':>10}{'vs native':>11}{'vs nbd':>9}")
    print(hdr)
    print("-" * len(hdr))
    for i, (name, rw, bs, qd) in enumerate(CELLS):
        nat = [results[s][i] for s in ("native-psync", "native-io_uring")
               if results.get(s) and i in results[s]]
        best = max((r["iops"] for r in nat), default=None)
        nbd = results["nbd"][i]["iops"] if results.get("nbd") else None
        for s in SYSTEMS:
            r = results.get(s)
            label = name if s == SYSTEMS[0] else ""
            if not r or i not in r:
                print(f"{label:<19}{s:<17}{'n/a':>10}")
                continue
            c = r[i]
            vn = c["iops"] / best if best else None
            vb = c["iops"] / nbd if nbd else None
            print(f"{label:<19}{s:<17}{c['iops']:>10.0f}{c['mibs']:>10.1f}"
                  f"{c['lat_us']:>10.1f}{c['p99_us']:>10.1f}"
                  f"{fmt_ratio(vn):>11}{fmt_ratio(vb):>9}")
    print()

    ok_all = all(results.get(s) for s in SYSTEMS)
    p = results.get("pvio")
    goals = []
    if p and results.get("nbd"):
        i = 1  # randread 4k QD32
        best = max(results[s][i]["iops"] for s in ("native-psync", "native-io_uring")
                   if results.get(s))
        rn = p[i]["iops"] / best
        rb = p[i]["iops"] / results["nbd"][i]["iops"]
        goals.append(("QD32 4K randread >= 0.8x best native",
                      f"{rn:.2f}x", rn >= 0.8))
        goals.append(("QD32 4K randread >= 4x NBD", f"{rb:.2f}x", rb >= 4.0))
        for i in (0, 2):
            nat = min(results[s][i]["lat_us"] for s in ("native-psync", "native-io_uring")
                      if results.get(s))
            d = p[i]["lat_us"] - nat
            goals.append((f"QD1 {CELLS[i][1]} latency <= native + 10 us",
                          f"{p[i]['lat_us']:.1f} us (native {nat:.1f}, +{d:.1f})",
                          d <= 10.0))
    g = info.get("guest")
    b = info.get("backend")
    if g:
        ios = int(g.get("ios", 0)) or 1
        print(f"pvio guest side (engine, from first I/O): ios {g.get('ios')}, "
              f"ring requests {g.get('requests')}, notifies/io "
              f"{g.get('notifies_per_io')}, hypercalls {g.get('hypercalls')} "
              f"({g.get('hypercalls_per_io')}/io), grant maps/unmaps "
              f"{g.get('grant_maps')}/{g.get('grant_unmaps')}, bounced bytes "
              f"{g.get('bounced_bytes')}, persistent {g.get('persistent')}")
        # Counted from the first I/O on; later jobs' buffer set-up
        # (a few allocations) lands in it too, so: far below 1 per I/O.
        hc = int(g.get("hypercalls", 0)) + int(g.get("grant_maps", 0)) + \
            int(g.get("grant_unmaps", 0))
        goals.append(("guest: hypercalls+grant ops per I/O ~ 0",
                      f"{hc / ios:.5f}/io ({hc} in all)", hc / ios < 0.01))
    else:
        print("pvio guest side: no stats line from the engine")
    if b:
        req = b["requests"] or 1
        print(f"pvio backend side (blkback, whole vbd life incl. connect): "
              f"requests {b['requests']}, errors {b['errors']}, grant maps "
              f"{b['grant_maps']} ({b['grant_maps'] / req:.5f}/io), unmaps "
              f"{b['grant_unmaps']} ({b['grant_unmaps'] / req:.5f}/io), "
              f"hypercalls {b['hypercalls']} ({b['hypercalls'] / req:.5f}/io)")
        # Persistent grants: maps happen once per buffer page, so the
        # per-I/O rate tends to 0; "steady state zero" = far below 1/io.
        goals.append(("backend: grant maps+unmaps per I/O ~ 0 (persistent)",
                      f"{(b['grant_maps'] + b['grant_unmaps']) / req:.5f}/io",
                      (b["grant_maps"] + b["grant_unmaps"]) / req < 0.01))
        goals.append(("backend: hypercalls per I/O ~ 0",
                      f"{b['hypercalls'] / req:.5f}/io",
                      b["hypercalls"] / req < 0.01))
    else:
        print("pvio backend side: no counters line in blkback's log")
    print("\ngoals:")
    for what, val, met in goals:
        print(f"  {what:<52} {val:<36} {'met' if met else 'NOT MET'}")
    if not ok_all:
        print("\nsome systems did not run (see the log above)")
    return 0 if ok_all else 1


def fio_version():
    try:
        return run(["fio", "--version"]).stdout.strip()
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
