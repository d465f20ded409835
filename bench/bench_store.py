#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The store at line rate (issue 6), beside its peers in the same run.

1. Sustained encrypted store rate, 64- and 1500-byte packets, both store modes
   (bench_store: the write path alone, timed to its final sync), beside
   `dd oflag=direct bs=1M conv=fsync` of the same bytes to the same filesystem
   and `tcpdump -r IN -w OUT` + sync writing the same packets as a pcap.
2. Query latency in a store of --big packets (default 10 million, 64 bytes,
   flows in runs of 50 packets, 10 us apart): one flow's packets, and a
   1-second slice, with `packetrecorder query`, beside a query of the whole
   session counted the same way.
3. Export of a whole session and of a BPF-filtered one beside
   `tcpdump -r X -w Y [FILTER]` on the same packets.

Prints a Markdown report on stdout, progress on stderr. Python 3 stdlib.
  bench/bench_store.py [--build build/release] [--workdir DIR] [--big N] [--runs R]
"""
import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

KEY = "5f" * 32


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def timed(cmd, **kw):
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                                 p.stderr.decode()[-500:]))
    return dt, p.stdout


def sync_file(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def write_pcap(path, n, size):
    """n Ethernet/IPv4/UDP frames of size bytes, 1 us apart, 1000 flows."""
    hdr = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    with open(path, "wb") as fh:
        fh.write(hdr)
        chunk = []
        for i in range(n):
            f = i % 1000
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size - 14, i & 0xFFFF, 0, 64, 17, 0,
                             bytes([10, 0, f >> 8, f & 255]), bytes([192, 0, 2, 1]))
            udp = struct.pack("!HHHH", 20000 + f, 9000, size - 34, 0)
            frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp
            frame += bytes(size - len(frame))
            chunk.append(struct.pack("<IIII", 1700000000 + i // 1000000, i % 1000000, size,
                                     size) + frame)
            if len(chunk) >= 10000:
                fh.write(b"".join(chunk))
                chunk = []
        fh.write(b"".join(chunk))


def bench_store(exe, db, n, size, mode, extra=()):
    for f in os.listdir(os.path.dirname(db)):
        if f.startswith(os.path.basename(db)):
            p = os.path.join(os.path.dirname(db), f)
            shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
    _, out = timed([exe, "--db", db, "--packets", str(n), "--size", str(size), "--mode", mode,
                    "--key", KEY] + list(extra))
    return json.loads(out)


def drop_caches():
    """Cold page cache (root only): segments are written with O_DIRECT and so are
    never in the cache, while tcpdump's input would be; both start cold."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--build", default=os.path.join(here, "..", "build", "release"))
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--big", type=int, default=10000000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    bs = os.path.join(a.build, "bench", "bench_store")
    pr = os.path.join(a.build, "controlplane", "packetrecorder")
    work = a.workdir or tempfile.mkdtemp(prefix="pr-bench-store-", dir=os.path.join(here, ".."))
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, PACKETRECORDER_DB_KEY=KEY)
    report = []
    try:
        # 1. write rates
        report.append("| packets | writer | MB/s | kpps | CPU s per GB | vs dd |")
        report.append("|---|---|---:|---:|---:|---:|")
        for size, n in ((64, 4000000), (1500, 400000)):
            vol = n * size
            rows = {}
            for r in range(a.runs):
                log("size %d run %d" % (size, r + 1))
                for mode in ("segments", "db"):
                    j = bench_store(bs, os.path.join(work, "w.db"), n, size, mode)
                    rows.setdefault(mode, []).append((j["seconds"], j["cpu_seconds"]))
                out = os.path.join(work, "dd.out")
                dt, _ = timed(["dd", "if=/dev/zero", "of=" + out, "bs=1M",
                               "count=%d" % max(1, vol >> 20), "oflag=direct", "conv=fsync"])
                os.unlink(out)
                rows.setdefault("dd", []).append((dt * vol / (max(1, vol >> 20) << 20), None))
                pc = os.path.join(work, "in-%d.pcap" % size)
                if not os.path.exists(pc):
                    write_pcap(pc, n, size)
                o = os.path.join(work, "td.pcap")
                t0 = time.monotonic()
                subprocess.run(["tcpdump", "-r", pc, "-w", o], stderr=subprocess.DEVNULL,
                               check=True)
                sync_file(o)
                rows.setdefault("tcpdump", []).append((time.monotonic() - t0, None))
                os.unlink(o)
            dd_mbs = vol / 1e6 / median([x[0] for x in rows["dd"]])
            for name, label in (("segments", "store, segments (AES-256-GCM)"),
                                ("db", "store, db (SQLCipher rows)"),
                                ("tcpdump", "peer: tcpdump -r -w + fsync (no encryption)"),
                                ("dd", "peer: dd oflag=direct bs=1M conv=fsync")):
                secs = median([x[0] for x in rows[name]])
                cpu = [x[1] for x in rows[name] if x[1] is not None]
                mbs = vol / 1e6 / secs
                report.append("| %d B | %s | %.0f | %.0f | %s | %.2fx |" % (
                    size, label, mbs, n / 1e3 / secs,
                    "%.2f" % (median(cpu) / (vol / 1e9)) if cpu else "-", mbs / dd_mbs))
        # 2. query latency in a big store
        log("big store: %d packets" % a.big)
        big = os.path.join(work, "big.db")
        j = bench_store(bs, big, a.big, 64, "segments",
                        ["--flow-run", "50", "--ts-step", "10000"])
        report.append("")
        report.append("Big store: %d packets of 64 bytes written in %.1f s (%.0f kpps)." % (
            a.big, j["seconds"], j["kpps"]))
        report.append("")
        report.append("| query on the big store | seconds | packets |")
        report.append("|---|---:|---:|")
        mid = a.big // 2
        t_mid = 1700000000000000000 + mid * 10000
        for label, args in (("one flow (--flow, 50 packets)", ["--flow", str(mid // 50)]),
                            ("1-second slice (--from/--to, 100k packets)",
                             ["--from", str(t_mid), "--to", str(t_mid + 10**9 - 1)]),
                            ("last 100 (--limit on the whole session, first 100)",
                             ["--limit", "100"])):
            ts = []
            cnt = 0
            for _ in range(a.runs):
                dt, out = timed([pr, "query", "-d", big, "-S", "1", "--json", "-q"] + args,
                                env=env)
                ts.append(dt)
                cnt = len(json.loads(out))
            report.append("| %s | %.3f | %d |" % (label, median(ts), cnt))
        # 3. export rates: a realistic mix (the product's generator), captured
        log("export")
        gen = os.path.join(work, "gen.pcap")
        timed([pr, "generate", "--output", gen, "--packets", "400000", "--seed", "7"])
        db = os.path.join(work, "x.db")
        timed([pr, "capture", "-r", gen, "-d", db, "-q"], env=env)
        vol = os.path.getsize(gen)
        flt = "udp and port 53"
        report.append("")
        report.append("| export (%d MB generated mix, segments; page cache dropped before each "
                      "run: %s) | seconds | MB/s of input |" % (vol // 10**6,
                                                             "yes" if drop_caches() else "no"))
        report.append("|---|---:|---:|")
        out = os.path.join(work, "e.pcap")
        for label, cmd in (
                ("packetrecorder export (whole session)",
                 [pr, "export", "-d", db, "-S", "1", "-o", out, "-q"]),
                ("peer: tcpdump -r X -w Y", ["tcpdump", "-r", gen, "-w", out]),
                ("packetrecorder export --filter '%s'" % flt,
                 [pr, "export", "-d", db, "-S", "1", "-o", out, "-f", flt, "-q"]),
                ("peer: tcpdump -r X -w Y '%s'" % flt, ["tcpdump", "-r", gen, "-w", out, flt])):
            ts = []
            for _ in range(a.runs):
                if os.path.exists(out):
                    os.unlink(out)
                drop_caches()
                dt, _ = timed(cmd, env=env)
                ts.append(dt)
            report.append("| %s | %.3f | %.0f |" % (label, median(ts), vol / 1e6 / median(ts)))
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report))


if __name__ == "__main__":
    main()
