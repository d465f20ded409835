#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Replay benchmark (root): packetrecorder replay beside tcpreplay on the
same packets, onto one end of a veth pair in a namespace made here.

1. Rate: N frames of SIZE bytes, `replay --topspeed` (pcap and afxdp
   backends) and `tcpreplay --topspeed`, RUNS runs each: packets/s as each
   tool reports it, and CPU seconds of the sending process tree.
2. Timing at --speed 1 / tcpreplay's default (original timing): 500 frames
   2 ms apart; the far end (tests/integration/rawsink.py, kernel receive
   stamps) gives arrival times; error_i = |(arr_i - arr_0) - (ts_i - ts_0)|,
   p50/p99/max. The same receiver-side measure for both tools.

  bench_replay.py [--count N] [--size B] [--runs R]"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import prtest  # noqa: E402

NS = "prbr%d" % (os.getpid() % 100000)
TX, RX = "brt0", "brr0"
SINK = os.path.join(HERE, "..", "tests", "integration", "rawsink.py")
MARK = b"PRBENCH "


def sh(*a, ns=True, check=True):
    cmd = (["ip", "netns", "exec", NS] if ns else []) + [str(x) for x in a]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode:
        raise SystemExit("%s: %s" % (" ".join(cmd), p.stderr.decode()))
    return p


def timed(cmd):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return p, cpu


def frames(n, size, gap_ns):
    out = []
    for i in range(n):
        pl = MARK + b"%08d" % i
        pl += b"\x55" * max(0, size - 42 - len(pl))
        out.append((1700007000 * 10**9 + i * gap_ns, prtest.gen.udp_frame(
            "02:00:00:00:00:01", "02:00:00:00:00:02", "10.8.0.1", 4000, "10.8.0.2", 5000, pl, i + 1)))
    return out


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def arrivals(cmd):
    sink = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, SINK, RX, "--marker",
                             MARK.decode(), "--idle", "1.5"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    sink.stderr.readline()
    subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, _ = sink.communicate(timeout=120)
    return [ts for ts, _ in json.loads(out)["frames"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    pr = prtest.pr_bin()
    sh("ip", "netns", "add", NS, ns=False)
    try:
        sh("ip", "link", "add", TX, "type", "veth", "peer", "name", RX)
        for i in (TX, RX):
            sh("ip", "link", "set", i, "up")
        with prtest.tmpdir() as tmp:
            pc, db = os.path.join(tmp, "r.pcap"), os.path.join(tmp, "r.db")
            prtest.gen.write_simple_pcap(pc, frames(a.count, a.size, 1000), nsec=True)
            obj, _ = prtest.capture_file(db, pc)
            sid = str(obj["session_id"])
            ns = ["ip", "netns", "exec", NS]
            print("rate: %d frames of %d bytes, %d runs (pps as each tool reports it; CPU s of "
                  "the sender)" % (a.count, a.size, a.runs))
            for name in ("replay-pcap", "replay-afxdp", "tcpreplay"):
                for run in range(a.runs):
                    if name == "tcpreplay":
                        p, cpu = timed(ns + ["tcpreplay", "--topspeed", "-i", TX, pc])
                        m = re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps",
                                      p.stdout.decode())
                        pps = float(m.group(1)) if m else 0.0
                    else:
                        p, cpu = timed(ns + [pr, "replay", "-S", sid, "-i", TX, "--backend",
                                             name.split("-")[1], "--topspeed", "--json", "-d", db,
                                             "--encryption-key", prtest.KEY])
                        pps = json.loads(p.stdout).get("achieved_pps", 0) if p.returncode == 0 else 0
                    print("  %-13s run %d: %10.0f pps  cpu %.2f s  (exit %d)" % (
                        name, run + 1, pps, cpu, p.returncode))
            tf = frames(500, 200, 2_000_000)
            pc2, db2 = os.path.join(tmp, "t.pcap"), os.path.join(tmp, "t.db")
            prtest.gen.write_simple_pcap(pc2, tf, nsec=True)
            obj, _ = prtest.capture_file(db2, pc2)
            sid2 = str(obj["session_id"])
            print("timing: 500 frames 2 ms apart, original speed; receiver-side error |(arr_i-arr_0)"
                  " - (ts_i-ts_0)|")
            for name, cmd in (("replay-pcap", [pr, "replay", "-S", sid2, "-i", TX, "--backend",
                                               "pcap", "-d", db2, "--encryption-key", prtest.KEY]),
                              ("replay-afxdp", [pr, "replay", "-S", sid2, "-i", TX, "--backend",
                                                "afxdp", "-d", db2, "--encryption-key", prtest.KEY]),
                              ("tcpreplay", ["tcpreplay", "-i", TX, pc2])):
                arr = arrivals(ns + cmd)
                if len(arr) != len(tf):
                    print("  %-13s received %d of %d" % (name, len(arr), len(tf)))
                    continue
                err = [abs((arr[i] - arr[0]) - (tf[i][0] - tf[0][0])) for i in range(len(tf))]
                print("  %-13s p50 %8.1f us  p99 %8.1f us  max %8.1f us" % (
                    name, pct(err, 0.5) / 1e3, pct(err, 0.99) / 1e3, max(err) / 1e3))
    finally:
        subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL)


main()
