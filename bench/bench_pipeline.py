#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Pipeline rate of one dataplane worker core (root, DPDK): packets per
second through rx + decode + flow table + L7 + record ring, with storage
off, beside dpdk-testpmd rxonly on the same virtual device, and cycles per
packet per stage from the worker's own TSC counters (`capture --stats`).

Sources (each a DPDK vdev, so no NIC and no kernel are in the way):
- null: `net_null0,copy=1` (64-byte frames of zeros: not IP, so decode
  stops at Ethernet and the flow table and parsers are skipped; the rx +
  ring ceiling);
- pcap: `net_pcap0,rx_pcap=TRACE,infinite_rx=1`, a gen_mixed.py trace of
  --trace-packets packets looped from memory (real decode, flows and L7;
  the loop replays the same flows, so the parsers see repeats of the
  same connections, which makes their share larger than on live traffic).

How, per source and run:
- `packetrecorder-dataplane --instance` on lcore 0 for --seconds, with
  nobody attached: "storage off". The ring fills in the first
  milliseconds and every later packet takes the ring-full path (counted
  as ring_full, as a capture without a consumer does); then `capture
  --attach --stats --json` reads the final counters (and stores the ring's
  64 MiB, which is not timed). Mpps = received / seconds, and the
  worker's cycles per packet per stage.
- `dpdk-testpmd --forward-mode=rxonly` with its forwarding core on lcore 1:
  the Rx-pps it prints once a second, median of the seconds after the
  first.

  bench_pipeline.py [--build DIR] [--seconds S] [--runs N] [--trace-packets N]

Prints a Markdown table on stdout; progress on stderr. Hugepages are used
when enough are free (scripts/hugepages.sh), else --no-huge (said so)."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def hugepages_free():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("HugePages_Free:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def mem_args():
    if hugepages_free() >= 128:
        return [], "hugepages"
    return ["--no-huge", "-m", "512"], "--no-huge (no free hugepages)"


def vdev(source, trace):
    if source == "null":
        return "net_null0", "net_null0,copy=1"
    return "net_pcap0", "net_pcap0,rx_pcap=%s,infinite_rx=1" % trace


def run_ours(build, source, trace, seconds, mem, tmp, n):
    dp = os.path.join(build, "dataplane", "packetrecorder-dataplane")
    pr = os.path.join(build, "controlplane", "packetrecorder")
    port, dev = vdev(source, trace)
    inst = "prbp%d_%d" % (os.getpid() % 100000, n)
    eal = " ".join(["-l", "0", "--no-pci", "--file-prefix", inst, "--vdev", dev] + mem)
    p = subprocess.run([dp, "--instance", inst, "--backend", "dpdk", "-i", port,
                        "--backend-args", eal, "-t", str(seconds)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode:
        raise SystemExit("dataplane (%s): exit %d\n%s" % (source, p.returncode, p.stderr))
    db = os.path.join(tmp, "%s.db" % inst)
    env = dict(os.environ, PACKETRECORDER_DB_KEY="bench-pipeline")
    a = subprocess.run([pr, "capture", "-d", db, "--attach", inst, "--stats", "--json", "-q"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if a.returncode:
        raise SystemExit("capture --attach %s: exit %d\n%s" % (inst, a.returncode, a.stderr))
    j = json.loads(a.stdout)
    for f in os.listdir(tmp):
        if f.startswith(inst):
            path = os.path.join(tmp, f)
            subprocess.run(["rm", "-rf", path])
    st = j["stages"]
    return {
        "mpps": j["received"] / seconds / 1e6,
        "received": j["received"],
        "ring_full": j["drops"]["ring_full"],
        "cpp": {k: st[k]["cycles_per_packet"] for k in
                ("rx", "decode", "flow", "l7", "emit", "total")},
        "hz": st["cycles_hz"],
    }


def run_testpmd(source, trace, seconds, mem, n):
    _, dev = vdev(source, trace)
    cmd = ["timeout", "-s", "INT", str(seconds + 2), "dpdk-testpmd", "-l", "0,1", "--no-pci",
           "--file-prefix", "prbt%d_%d" % (os.getpid() % 100000, n), "--vdev", dev] + mem + \
          ["--", "--forward-mode=rxonly", "--nb-cores=1", "--stats-period", "1"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pps = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)", p.stdout)]
    pps = [x for x in pps[1:] if x > 0]
    if not pps:
        raise SystemExit("dpdk-testpmd (%s) printed no rate:\n%s" % (source, p.stdout[-2000:]))
    return statistics.median(pps) / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--trace-packets", type=int, default=2000,
                    help="packets of the looped gen_mixed.py trace (net_pcap holds them all "
                         "in mbufs: keep it under the worker's pool, ~4500)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_pipeline.py: needs root (DPDK EAL)")
    mem, mem_note = mem_args()
    rows = {}
    with tempfile.TemporaryDirectory(prefix="pr-bench-pipe-") as tmp:
        trace = os.path.join(tmp, "loop.pcap")
        subprocess.run([sys.executable, os.path.join(HERE, "gen_mixed.py"), "--output", trace,
                        "--packets", str(args.trace_packets), "--jobs", "1"],
                       stdout=subprocess.DEVNULL, check=True)
        n = 0
        for source in ("null", "pcap"):
            for r in range(args.runs):
                n += 1
                log("%s run %d/%d: packetrecorder-dataplane, %d s" %
                    (source, r + 1, args.runs, args.seconds))
                ours = run_ours(args.build, source, trace, args.seconds, mem, tmp, n)
                log("  %.2f Mpps, %.0f cycles/packet" % (ours["mpps"], ours["cpp"]["total"]))
                log("%s run %d/%d: dpdk-testpmd rxonly, %d s" %
                    (source, r + 1, args.runs, args.seconds))
                tp = run_testpmd(source, trace, args.seconds, mem, n)
                log("  %.2f Mpps" % tp)
                rows.setdefault(source, []).append((ours, tp))
    print("Pipeline rate of one worker core, storage off, %d s x %d runs (medians), %s, "
          "%.2f GHz TSC:\n" % (args.seconds, args.runs, mem_note,
                              rows["null"][0][0]["hz"] / 1e9))
    print("| source | packetrecorder Mpps (runs) | dpdk-testpmd rxonly Mpps (runs) | "
          "cycles/packet: rx | decode | flow | l7 | ring | total |")
    print("|---|---|---|---|---|---|---|---|---|")
    for source, rs in rows.items():
        ours = [o["mpps"] for o, _ in rs]
        tps = [t for _, t in rs]
        med = sorted(rs, key=lambda x: x[0]["mpps"])[len(rs) // 2][0]
        c = med["cpp"]
        print("| %s | %.2f (%s) | %.2f (%s) | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
            "net_null copy=1" if source == "null" else
            "net_pcap infinite_rx (%d-packet gen_mixed trace)" % args.trace_packets,
            statistics.median(ours), ", ".join("%.2f" % x for x in ours),
            statistics.median(tps), ", ".join("%.2f" % x for x in tps),
            c["rx"], c["decode"], c["flow"], c["l7"], c["emit"], c["total"]))


if __name__ == "__main__":
    main()
