#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""gRPC API benchmark: DownloadPcap beside the same file over HTTP with curl,
written by `packetrecorder export` and read back with `cat`; and unary calls
per second with 1 and 32 in flight.

    bench_grpc.py [--build DIR] [--packets N] [--runs N] [--seconds S] [--chunk N]

Makes a trace with gen_mixed.py (--packets, default 1,000,000), stores it
with `packetrecorder capture -r` (raw key: no KDF), starts one
`packetrecorder serve` with gRPC and HTTP on loopback (API key required),
then per run:
  export      packetrecorder export --session 1 --format pcap -o FILE
  cat         cat FILE > /dev/null (page cache warm: FILE was just written)
  grpc        bench_grpc download (controlplane/grpc's client on the C core,
              chunks checked and dropped); --chunk bytes per chunk
  http        curl -o /dev/null http://127.0.0.1:PORT/api/v1/sessions/1/pcap
Both downloads are fetched once more, outside the timing, into files that
must equal the export byte for byte. MB/s = bytes of the file / median wall
time (1 MB = 10^6 bytes). CPU is user + system seconds: of the command for
export and cat; of the daemon (from /proc, before and after) for grpc and
http, with the client's own on a row of its own.
Unary: bench_grpc unary, Health (no store) and GetSession(1) (a store read),
1 and 32 calls in flight for --seconds each, one channel. Prints a Markdown
report on stdout.
"""
import argparse
import hashlib
import os
import re
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
RAW_KEY = "6b" * 32
API_KEY = "bench-grpc-key-0123456789"


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, **kw):
    c0, t0 = children_cpu(), time.monotonic()
    p = subprocess.run(cmd, check=True, **kw)
    return time.monotonic() - t0, children_cpu() - c0, p


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for b in iter(lambda: fh.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SOURCE, "build", "release"))
    ap.add_argument("--packets", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--chunk", type=int, default=0)
    a = ap.parse_args()
    pr = os.path.join(a.build, "controlplane", "packetrecorder")
    bg = os.path.join(a.build, "bench", "bench_grpc")
    work = tempfile.mkdtemp(prefix="bench-grpc-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACKETRECORDER_")}
    cenv = dict(env, PACKETRECORDER_API_KEY=API_KEY)
    srv = None
    try:
        trace = os.path.join(work, "mixed.pcap")
        print("generating %d packets..." % a.packets, file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(HERE, "gen_mixed.py"), "-o", trace,
                        "--packets", str(a.packets)], check=True)
        db = os.path.join(work, "s.db")
        subprocess.run([pr, "capture", "-r", trace, "-d", db, "--encryption-key", RAW_KEY, "-q"],
                       check=True, env=env)
        srv = subprocess.Popen([pr, "serve", "-d", db, "--grpc-addr", "127.0.0.1:0",
                                "--http-addr", "127.0.0.1:0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=dict(env, PACKETRECORDER_DB_KEY=RAW_KEY,
                                        PACKETRECORDER_API_KEY=API_KEY))
        log = b""
        while b"serving " not in log:
            r, _, _ = select.select([srv.stderr], [], [], 60)
            chunk = os.read(srv.stderr.fileno(), 65536) if r else b""
            if not chunk:
                sys.exit("serve did not start:\n" + log.decode())
            log += chunk
        gport = int(re.search(rb"serve: grpc: listening on \S+ \(port (\d+)", log).group(1))
        hport = int(re.search(rb"serve: http: listening on \S+ \(port (\d+)", log).group(1))
        ep = "127.0.0.1:%d" % gport
        url = "http://127.0.0.1:%d/api/v1/sessions/1/pcap" % hport
        out = os.path.join(work, "export.pcap")
        rows = {"export": [], "cat": [], "grpc": [], "http": []}
        size = 0
        for i in range(a.runs):
            print("run %d/%d" % (i + 1, a.runs), file=sys.stderr)
            if os.path.exists(out):
                os.unlink(out)
            w, c, _ = timed([pr, "export", "-d", db, "--encryption-key", RAW_KEY, "--session",
                             "1", "--format", "pcap", "-o", out, "-q"], env=env)
            rows["export"].append((w, c, 0))
            size = os.path.getsize(out)
            with open(os.devnull, "wb") as dn:
                w, c, _ = timed(["cat", out], stdout=dn)
            rows["cat"].append((w, c, 0))
            s0 = proc_cpu(srv.pid)
            w, c, p = timed([bg, "download", ep, "1", str(a.chunk)], env=cenv,
                            stdout=subprocess.PIPE)
            nbytes = int(p.stdout.split()[0])
            if nbytes != size:
                sys.exit("gRPC download: %d bytes, the export has %d" % (nbytes, size))
            rows["grpc"].append((w, proc_cpu(srv.pid) - s0, c))
            s0 = proc_cpu(srv.pid)
            w, c, _ = timed(["curl", "-sS", "-f", "-H", "x-api-key: " + API_KEY, "-o",
                             os.devnull, url])
            rows["http"].append((w, proc_cpu(srv.pid) - s0, c))
        for name, cmd in (("grpc", [bg, "download", ep, "1", str(a.chunk)]),
                          ("http", ["curl", "-sS", "-f", "-H", "x-api-key: " + API_KEY, "-o"])):
            got = os.path.join(work, name + ".pcap")
            subprocess.run(cmd + [got] if name == "grpc" else cmd + [got, url], check=True,
                           env=cenv, stdout=subprocess.DEVNULL)
            if sha256(got) != sha256(out):
                sys.exit("the %s download differs from the export" % name)
            os.unlink(got)
        unary = []
        for method in ("Health", "GetSession"):
            for inflight in (1, 32):
                s0 = proc_cpu(srv.pid)
                p = subprocess.run([bg, "unary", ep, method, "1", str(inflight), str(a.seconds)],
                                   check=True, env=cenv, stdout=subprocess.PIPE)
                calls, failed, secs, ccpu = p.stdout.split()
                unary.append((method, inflight, int(calls), int(failed), float(secs),
                              proc_cpu(srv.pid) - s0, float(ccpu)))
        srv.terminate()
        srv.wait(60)
        srv = None
        print("### gRPC API (`bench/bench_grpc.py`)\n")
        print("Session of %d packets, pcap file of %d bytes; median of %d runs; 1 MB = "
              "10^6 bytes; DownloadPcap chunks of %s.\n" % (
                  a.packets, size, a.runs,
                  "%d bytes" % a.chunk if a.chunk else "the default size (256 KiB)"))
        print("| what | wall s (median; runs) | MB/s (wall) | CPU s | MB per CPU s |")
        print("|---|---|---|---|---|")
        for name, label, col in (
                ("export", "packetrecorder export -o FILE", 1),
                ("cat", "cat FILE > /dev/null (cached)", 1),
                ("grpc", "gRPC DownloadPcap: the daemon", 1),
                ("grpc", "gRPC DownloadPcap: the client (bench_grpc)", 2),
                ("http", "HTTP GET .../pcap: the daemon", 1),
                ("http", "HTTP GET .../pcap: curl", 2)):
            src = rows[name]
            walls = sorted(r[0] for r in src)
            med = statistics.median(walls)
            cpu = statistics.median(r[col] for r in src)
            print("| %s | %.3f (%s) | %.0f | %.2f | %.0f |" % (
                label, med, ", ".join("%.3f" % w for w in walls), size / med / 1e6, cpu,
                size / cpu / 1e6 if cpu else 0))
        print("\n| unary call | in flight | calls/s | failed | daemon CPU s per 1000 calls | "
              "client CPU s per 1000 calls |")
        print("|---|---|---|---|---|---|")
        for method, inflight, calls, failed, secs, scpu, ccpu in unary:
            print("| %s | %d | %.0f | %d | %.3f | %.3f |" % (
                method, inflight, calls / secs, failed, 1000 * scpu / max(calls, 1),
                1000 * ccpu / max(calls, 1)))
    finally:
        if srv:
            srv.kill()
            srv.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
