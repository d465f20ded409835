#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The store at line rate (issue 6), beside its peers in the same run.

1. Sustained encrypted store rate, 64- and 1500-byte packets, both store
   modes (bench_store: the write path alone, as the capture's consumer
   drives it, timed to its final sync), beside `dd oflag=direct bs=1M
   conv=fsync` of the same bytes to the same filesystem, and `tcpdump -r IN
   -w OUT` and `netsniff-ng --in IN --out OUT` writing the same packets as a
   pcap, each followed by an fsync of its output inside the timing.
2. Query latency in a store of --big packets (default 10 million, 64 bytes,
   flows in runs of 50 packets, 10 us apart): one flow's packets, a
   1-second slice and the last 100 packets, through the store's index
   (bench_store --query, nothing printed) and through `packetrecorder
   query --json` (the packets printed), page cache dropped before each
   run and warm.
3. Export of a whole session and of BPF-filtered ones beside `tcpdump -r X
   -w Y [FILTER]` on the same packets (page cache dropped before each run).

Every row runs --runs times; tables show the median, the CPU seconds
(user + system of the process tree, from wait4) and every run. Prints a
Markdown report on stdout, progress on stderr. Python 3 stdlib; root for
dropping the page cache (otherwise the export rows say "warm").

  bench/bench_store.py [--build build/release] [--workdir DIR] [--big N] [--runs R]
                       [--write-mb MB] [--skip write,query,export]
"""
import argparse
import json
import os
import platform
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


def run(cmd, env=None, sync=None, check=True):
    """Run cmd; wall seconds (to the fsync of file sync, if given), CPU seconds, stdout."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate()
    if sync:
        fd = os.open(sync, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    dt = time.monotonic() - t0
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                                 err.decode()[-500:]))
    return dt, out


class Cpu:
    """CPU seconds (user + system, from wait4) of the children reaped between start() and
    stop(): the process and everything it waited for (io_uring workers are its threads)."""

    def start(self):
        r = os.times()
        self.c0 = r.children_user + r.children_system

    def stop(self):
        r = os.times()
        return r.children_user + r.children_system - self.c0


def timed(cmd, env=None, sync=None):
    """(wall, cpu, stdout) of one run."""
    c = Cpu()
    c.start()
    dt, out = run(cmd, env=env, sync=sync)
    return dt, c.stop(), out


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


def warm(path):
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def clean(prefix):
    d, b = os.path.dirname(prefix), os.path.basename(prefix)
    for f in os.listdir(d):
        if f.startswith(b):
            p = os.path.join(d, f)
            shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)


def drop_caches():
    """Cold page cache (root only): segments are written with O_DIRECT and so are
    never in the cache, while a peer's input would be; both start cold."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def runs_text(xs):
    return " / ".join("%.3f" % x for x in xs)


def loadavg():
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def bench_write(a, bs, work, report):
    report.append("## Write rate: the store beside dd, tcpdump and netsniff-ng")
    report.append("")
    report.append("bench_store writes N packets of S bytes into a new encrypted store (raw "
                  "key), commits every 64 MiB, ends the session and truncates the WAL: "
                  "timed to the final sync. `commit async` is pr_store_commit_async() (the "
                  "disk syncs one commit while the next is written), `commit wait` is "
                  "pr_store_commit(). The peers read a pcap of the same packets from the "
                  "page cache and write a pcap; their output is fsync'ed inside the timing.")
    report.append("")
    report.append("`disk wait s`: the time bench_store's writer waited for the disk "
                  "(pr_store_get_io_stats(): free write buffers, syncs, SQLite's COMMIT).")
    report.append("")
    report.append("| packets | writer | MB/s | kpps | vs dd | CPU s | CPU s per GB | "
                  "disk wait s | runs, wall s |")
    report.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
    sizes = [(64, max(1, a.write_mb * 10**6 // 6 // 64)), (1500, a.write_mb * 10**6 // 1500)]
    for size, n in sizes:
        vol = n * size
        pc = os.path.join(work, "in-%d.pcap" % size)
        log("write: %d packets of %d bytes (%.0f MB)" % (n, size, vol / 1e6))
        write_pcap(pc, n, size)
        rows = {}
        db = os.path.join(work, "w.db")
        # netsniff-ng tells a pcap from a device or a trafgen config by the name.
        out = os.path.join(work, "peer.pcap")
        writers = [
            ("seg-async", "store, segments, commit async (AES-256-GCM)",
             [bs, "--db", db, "--packets", str(n), "--size", str(size), "--mode", "segments",
              "--key", KEY, "--commit", "async"], None),
            ("seg-wait", "store, segments, commit wait (AES-256-GCM)",
             [bs, "--db", db, "--packets", str(n), "--size", str(size), "--mode", "segments",
              "--key", KEY, "--commit", "wait"], None),
            ("db", "store, db (SQLCipher rows)",
             [bs, "--db", db, "--packets", str(n), "--size", str(size), "--mode", "db",
              "--key", KEY, "--commit", "wait"], None),
            ("tcpdump", "peer: tcpdump -r -w, fsync (no encryption)",
             ["tcpdump", "-r", pc, "-w", out], out),
            ("netsniff", "peer: netsniff-ng --in --out -m, fsync (no encryption)",
             ["netsniff-ng", "--in", pc, "--out", out, "-s", "-m", "-T", "0xa1b2c3d4"], out),
            ("dd", "peer: dd oflag=direct bs=1M conv=fsync (zeros)",
             ["dd", "if=/dev/zero", "of=" + out, "bs=1M", "count=%d" % max(1, vol >> 20),
              "oflag=direct", "conv=fsync"], None),
        ]
        for r in range(a.runs):
            for key, _, cmd, sync in writers:
                log("  run %d: %s" % (r + 1, key))
                clean(db)
                if os.path.exists(out):
                    os.unlink(out)
                if key in ("tcpdump", "netsniff"):
                    warm(pc)
                dt, cpu, out = timed(cmd, sync=sync)
                if key == "dd":
                    dt = dt * vol / (max(1, vol >> 20) << 20)  # dd wrote whole MiB
                wait = json.loads(out).get("store_wait_s") if cmd[0] == bs else None
                rows.setdefault(key, []).append((dt, cpu, wait))
        clean(db)
        if os.path.exists(out):
            os.unlink(out)
        os.unlink(pc)
        dd_s = median([x[0] for x in rows["dd"]])
        for key, label, _, _ in writers:
            walls = [x[0] for x in rows[key]]
            secs = median(walls)
            cpu = median([x[1] for x in rows[key]])
            waits = [x[2] for x in rows[key] if x[2] is not None]
            report.append("| %d B | %s | %.0f | %.0f | %.2fx | %.2f | %.2f | %s | %s |" % (
                size, label, vol / 1e6 / secs, n / 1e3 / secs, dd_s / secs, cpu,
                cpu / (vol / 1e9), "%.2f" % median(waits) if waits else "-",
                runs_text(walls)))
    report.append("")


def bench_query(a, bs, pr, work, env, report):
    log("query: big store of %d packets" % a.big)
    big = os.path.join(work, "big.db")
    clean(big)
    dt, cpu, out = timed([bs, "--db", big, "--packets", str(a.big), "--size", "64", "--mode",
                          "segments", "--key", KEY, "--commit", "async", "--flow-run", "50",
                          "--ts-step", "10000"])
    report.append("## Query latency in a big store")
    report.append("")
    report.append("%d packets of 64 bytes (flows in runs of 50 packets, 10 us apart, 256-packet "
                  "blocks) written by bench_store in %.1f s (%.0f kpps, %.1f CPU s). "
                  "`index` = bench_store --query (open the store, read the wanted packets "
                  "through the block index, close; nothing printed); `CLI` = `packetrecorder "
                  "query --json` (the packets printed as JSON). Cold: page cache dropped "
                  "before each run." % (a.big, dt, a.big / 1e3 / dt, cpu))
    report.append("")
    report.append("| query | packets | blocks read / skipped | index cold s | index warm s | "
                  "CLI cold s | CLI warm s |")
    report.append("|---|---:|---:|---:|---:|---:|---:|")
    mid = a.big // 2
    t_mid = 1700000000000000000 + mid * 10000
    queries = [
        ("one flow (50 packets)", "flow=%d" % (mid // 50), ["--flow", str(mid // 50)]),
        ("a 1-second slice (100,000 packets)", "time=%d:%d" % (t_mid, t_mid + 10**9 - 1),
         ["--from", str(t_mid), "--to", str(t_mid + 10**9 - 1)]),
        ("the last 100 packets", "last=100", None),
    ]
    for label, q, cli in queries:
        res = {}
        for r in range(a.runs):
            for kind in ("index", "cli"):
                if kind == "cli" and cli is None:
                    continue
                for temp in ("cold", "warm"):
                    if temp == "cold":
                        drop_caches()
                    if kind == "index":
                        dt, _, out = timed([bs, "--db", big, "--key", KEY, "--query", q])
                        j = json.loads(out)
                        res["info"] = (j["packets"], j["blocks_read"], j["blocks_skipped"])
                    else:
                        dt, _, out = timed([pr, "query", "-d", big, "-S", "1", "--json", "-q"] +
                                           cli, env=env)
                    res.setdefault((kind, temp), []).append(dt)
        pk, rd, sk = res["info"]
        cells = ["%.3f" % median(res[k]) if k in res else "-"
                 for k in (("index", "cold"), ("index", "warm"), ("cli", "cold"),
                           ("cli", "warm"))]
        report.append("| %s | %d | %d / %d | %s |" % (label, pk, rd, sk, " | ".join(cells)))
    clean(big)
    report.append("")


def bench_export(a, pr, work, env, report):
    log("export")
    gen = os.path.join(work, "gen.pcap")
    run([pr, "generate", "--output", gen, "--packets", str(a.export_packets), "--seed", "7"])
    db = os.path.join(work, "x.db")
    clean(db)
    run([pr, "capture", "-r", gen, "-d", db, "-q"], env=env)
    vol = os.path.getsize(gen)
    cold = drop_caches()
    report.append("## Export beside tcpdump")
    report.append("")
    report.append("`packetrecorder generate --packets %d --seed 7` (a realistic mix: HTTP, DNS, "
                  "QUIC, ICMP; %.0f MB), captured into an encrypted segment store; page cache "
                  "dropped before every run: %s. MB/s = input pcap bytes per second. The "
                  "exported pcap is compared with tcpdump's output byte for byte."
                  % (a.export_packets, vol / 1e6, "yes" if cold else "no (not root: warm)"))
    report.append("")
    report.append("| export | packets | blocks read / skipped | s | MB/s | CPU s | vs tcpdump | "
                  "runs, s |")
    report.append("|---|---:|---:|---:|---:|---:|---:|---|")
    ours = os.path.join(work, "e.pcap")
    theirs = os.path.join(work, "t.pcap")
    for flt in [None] + a.filters:
        label = "whole session" if flt is None else "--filter '%s'" % flt
        mine = [pr, "export", "-d", db, "-S", "1", "-o", ours, "--json", "-q"]
        # --nano: the input is a nanosecond pcap, which export keeps; tcpdump would
        # write microseconds otherwise, and the outputs could not be compared.
        peer = ["tcpdump", "--nano", "-r", gen, "-w", theirs]
        if flt:
            mine += ["-f", flt]
            peer += [flt]
        res = {}
        info = None
        for r in range(a.runs):
            for kind, cmd, path in (("ours", mine, ours), ("tcpdump", peer, theirs)):
                if os.path.exists(path):
                    os.unlink(path)
                drop_caches()
                dt, cpu, out = timed(cmd, env=env)
                res.setdefault(kind, []).append((dt, cpu))
                if kind == "ours":
                    info = json.loads(out)
        same = open(ours, "rb").read() == open(theirs, "rb").read()
        t_peer = median([x[0] for x in res["tcpdump"]])
        for kind in ("ours", "tcpdump"):
            walls = [x[0] for x in res[kind]]
            secs = median(walls)
            name = ("packetrecorder export, %s%s" % (label, "" if same else " (OUTPUT DIFFERS)")
                    if kind == "ours" else "peer: tcpdump --nano -r -w%s" % ("" if flt is None
                                                                      else " '%s'" % flt))
            report.append("| %s | %s | %s | %.3f | %.0f | %.2f | %s | %s |" % (
                name, info["packets"] if kind == "ours" else "",
                "%d / %d" % (info["blocks_read"], info["blocks_skipped"]) if kind == "ours"
                else "", secs, vol / 1e6 / secs, median([x[1] for x in res[kind]]),
                "%.2fx" % (t_peer / secs) if kind == "ours" else "1.00x", runs_text(walls)))
    clean(db)
    for p in (gen, ours, theirs):
        if os.path.exists(p):
            os.unlink(p)
    report.append("")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--build", default=os.path.join(here, "..", "build", "release"))
    ap.add_argument("--workdir", default=None, help="on the filesystem to measure")
    ap.add_argument("--big", type=int, default=10000000, help="packets in the query store")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write-mb", type=int, default=1500,
                    help="MB per write run of 1500-byte packets (a sixth for 64-byte ones)")
    ap.add_argument("--export-packets", type=int, default=400000)
    ap.add_argument("--filter", dest="filters", action="append",
                    help="export filters (default: 'udp and port 53', 'tcp port 8080', "
                    "'host 10.1.0.203')")
    ap.add_argument("--skip", default="", help="comma-separated: write, query, export")
    a = ap.parse_args()
    a.filters = a.filters or ["udp and port 53", "tcp port 8080", "host 10.1.0.203"]
    skip = set(x for x in a.skip.split(",") if x)
    # Copies: a rebuild during the run must not change what is measured.
    work = a.workdir or tempfile.mkdtemp(prefix="pr-bench-store-", dir=os.path.join(here, ".."))
    os.makedirs(work, exist_ok=True)
    bs = os.path.join(work, "bench_store")
    pr = os.path.join(work, "packetrecorder")
    shutil.copy2(os.path.join(a.build, "bench", "bench_store"), bs)
    shutil.copy2(os.path.join(a.build, "controlplane", "packetrecorder"), pr)
    shutil.copy2(os.path.join(a.build, "dataplane", "packetrecorder-dataplane"),
                 os.path.join(work, "packetrecorder-dataplane"))
    env = dict(os.environ, PACKETRECORDER_DB_KEY=KEY)
    rev = subprocess.run(["git", "-C", here, "describe", "--always", "--dirty"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    report = ["# bench/bench_store.py", ""]
    la0 = loadavg()
    t0 = time.time()
    try:
        if "write" not in skip:
            bench_write(a, bs, work, report)
        if "query" not in skip:
            bench_query(a, bs, pr, work, env, report)
        if "export" not in skip:
            bench_export(a, pr, work, env, report)
    except BaseException:
        report.append("(the run stopped here: see the error on stderr)")
        raise
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
        print_report(report, t0, la0, rev, work, a)


def print_report(report, t0, la0, rev, work, a):
    head = ["Run %s, %.0f s, git %s; %s, kernel %s, %d CPUs; load average %s at the start, "
            "%s at the end (compare rows of one run only); workdir on %s; --runs %d, "
            "median shown." % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)),
                               time.time() - t0, rev or "?", platform.machine(),
                               platform.release(), os.cpu_count(), la0, loadavg(),
                               os.path.dirname(os.path.abspath(work)), a.runs), ""]
    print("\n".join(report[:2] + head + report[2:]))


if __name__ == "__main__":
    main()
