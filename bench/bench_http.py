#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""HTTP API benchmark: a pcap download over HTTP with curl, beside the same
file written by `packetrecorder export` and read back with `cat`; and
unary requests per second with 1 and 32 in flight.

    bench_http.py [--build DIR] [--packets N] [--runs N] [--requests N]

Makes a trace with gen_mixed.py (--packets, default 1,000,000), stores it
with `packetrecorder capture -r` (raw key: no KDF), then per run:
  export      packetrecorder export --session 1 --format pcap -o FILE
  cat         cat FILE > /dev/null (page cache warm: FILE was just written)
  http        curl -o /dev/null http://127.0.0.1:PORT/api/v1/sessions/1/pcap
              (once more, outside the timing, into a file compared with the export)
The HTTP server is tests/http/pr_http_testd (controlplane/http with the
store pool), on loopback. MB/s = bytes of the file / median wall time
(1 MB = 10^6 bytes). CPU is user + system seconds: of the command for
export and cat; for http, of the server (from /proc, before and after)
and, on a row of its own, of curl.
Unary: GET /api/v1/sessions/1 with `curl --parallel` over --requests
URLs on one keep-alive pool, 1 and 32 in flight (curl's own CPU counts
on the same two cores). Prints a Markdown report on stdout.
"""
import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
RAW_KEY = "6b" * 32
API_KEY = "bench-http-key-0123456789"


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, **kw):
    c0, t0 = children_cpu(), time.monotonic()
    subprocess.run(cmd, check=True, **kw)
    return time.monotonic() - t0, children_cpu() - c0


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
    ap.add_argument("--requests", type=int, default=2000)
    a = ap.parse_args()
    pr = os.path.join(a.build, "controlplane", "packetrecorder")
    testd = os.path.join(a.build, "tests", "http", "pr_http_testd")
    work = tempfile.mkdtemp(prefix="bench-http-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACKETRECORDER_")}
    try:
        trace = os.path.join(work, "mixed.pcap")
        print("generating %d packets..." % a.packets, file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(HERE, "gen_mixed.py"), "-o", trace,
                        "--packets", str(a.packets)], check=True)
        db = os.path.join(work, "s.db")
        subprocess.run([pr, "capture", "-r", trace, "-d", db, "--encryption-key", RAW_KEY, "-q"],
                       check=True, env=env)
        out = os.path.join(work, "export.pcap")
        rows = {"export": [], "cat": [], "http": []}
        size = 0
        srv = subprocess.Popen([testd, "--http-addr", "127.0.0.1:0", "--database", db,
                                "--encryption-key", RAW_KEY],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               env=dict(env, PACKETRECORDER_API_KEY=API_KEY))
        port = int(srv.stdout.readline().split()[1])
        url = "http://127.0.0.1:%d/api/v1/sessions/1" % port
        got = os.path.join(work, "http.pcap")
        try:
            for i in range(a.runs):
                print("run %d/%d" % (i + 1, a.runs), file=sys.stderr)
                if os.path.exists(out):
                    os.unlink(out)
                rows["export"].append(timed([pr, "export", "-d", db, "--encryption-key",
                                             RAW_KEY, "--session", "1", "--format", "pcap",
                                             "-o", out, "-q"], env=env))
                size = os.path.getsize(out)
                with open(os.devnull, "wb") as dn:
                    rows["cat"].append(timed(["cat", out], stdout=dn))
                s0 = proc_cpu(srv.pid)
                wall, cpu = timed(["curl", "-sS", "-f", "-H", "x-api-key: " + API_KEY, "-o",
                                   os.devnull, url + "/pcap"])
                rows["http"].append((wall, proc_cpu(srv.pid) - s0, cpu))
            # Once, outside the timing: the download is the export, byte for byte.
            subprocess.run(["curl", "-sS", "-f", "-H", "x-api-key: " + API_KEY, "-o", got,
                            url + "/pcap"], check=True)
            if sha256(got) != sha256(out):
                sys.exit("the download differs from the export")
            os.unlink(got)
            unary = {}
            cfg = os.path.join(work, "urls")
            with open(cfg, "w") as fh:
                fh.write('header = "x-api-key: %s"\n' % API_KEY)
                for _ in range(a.requests):
                    fh.write('url = "%s"\noutput = "/dev/null"\n' % url)
            for inflight in (1, 32):
                s0 = proc_cpu(srv.pid)
                wall, cpu = timed(["curl", "-sS", "-f", "--parallel", "--parallel-max",
                                   str(inflight), "--parallel-immediate", "-K", cfg])
                unary[inflight] = (a.requests / wall, proc_cpu(srv.pid) - s0, cpu)
        finally:
            srv.stdin.close()
            srv.wait(30)
        print("### HTTP API (`bench/bench_http.py`)\n")
        print("Session of %d packets, pcap file of %d bytes; median of %d runs; 1 MB = "
              "10^6 bytes.\n" % (a.packets, size, a.runs))
        print("| what | wall s (median; runs) | MB/s (wall) | CPU s | MB per CPU s |")
        print("|---|---|---|---|---|")
        for name, label in (("export", "packetrecorder export -o FILE"),
                            ("cat", "cat FILE > /dev/null (cached)"),
                            ("http", "HTTP server, curl GET .../pcap -o /dev/null"),
                            ("curl", "curl itself (the client of that row)")):
            src = rows["http"] if name == "curl" else rows[name]
            walls = sorted(r[0] for r in src)
            med = statistics.median(walls)
            cpu = statistics.median(r[2] if name == "curl" else r[1] for r in src)
            print("| %s | %.3f (%s) | %.0f | %.2f | %.0f |" % (
                label, med, ", ".join("%.3f" % w for w in walls), size / med / 1e6, cpu,
                size / cpu / 1e6 if cpu else 0))
        print("\n| unary GET /api/v1/sessions/1 | requests/s | server CPU s | curl CPU s |")
        print("|---|---|---|---|")
        for inflight, (rps, scpu, ccpu) in unary.items():
            print("| %d in flight, %d requests | %.0f | %.2f | %.2f |" % (
                inflight, a.requests, rps, scpu, ccpu))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
