#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Protocol analysis per core: decode + IP reassembly + flow table + every
L7 parser of one dataplane worker, beside ndpiReader (Debian's
libndpi-bin) and `tshark -T fields` with the fields our flows carry, on the
same file in the same run.

Traces: the largest capture of ../shared/corpus/bench/ (real traffic) and a
gen_mixed.py trace (generated: TCP handshakes with HTTP-like exchanges,
DNS, ICMP, ...); --trace FILE (repeatable) replaces both.

How, per trace and run (--runs, default 3; the median is shown):
- ours: `packetrecorder capture -r TRACE --stats --json` into a fresh
  store. The worker's own TSC counters give cycles per packet per stage
  (rx: reading the file; decode; flow; l7: the parsers and IP fragment
  reassembly; emit: the record ring). "analysis" is decode + flow + l7:
  the work ndpiReader and tshark do; its packets/s per core is
  cycles_hz / (its cycles per packet). "worker" adds rx and emit. The
  store is another process and is not counted.
- ndpiReader -i TRACE (one thread, its defaults): its own "Packet
  Processing Time" (reading the file included, setup excluded).
- tshark -r TRACE -n -T fields with the fields below, output to
  /dev/null: wall time of the process (its start-up included; shown
  apart as the time of the same command on a 1-packet file).

  bench_l7.py [--build DIR] [--runs N] [--trace FILE ...] [--gen-packets N]

Prints a Markdown table on stdout; progress on stderr."""
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
CORPUS_BENCH = os.path.join(ROOT, "..", "shared", "corpus", "bench")

# tshark fields: the flow key and what our parsers put in flows --json.
TSHARK_FIELDS = ["frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport",
                 "tcp.dstport", "udp.srcport", "udp.dstport", "tls.handshake.extensions_server_name",
                 "tls.handshake.ja3", "tls.handshake.ja3s", "x509sat.printableString",
                 "dns.qry.name", "dns.a", "http.request.method", "http.host",
                 "http.request.uri", "http.user_agent", "http.response.code", "ssh.protocol",
                 "smtp.req.command", "ldap.protocolOp", "nbns.name", "bgp.type", "ntp.stratum",
                 "snmp.community", "dhcp.option.hostname", "icmp.type", "sip.Method"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ours(build, trace, tmp, n):
    pr = os.path.join(build, "controlplane", "packetrecorder")
    db = os.path.join(tmp, "l7-%d.db" % n)
    r = subprocess.run([pr, "capture", "-r", trace, "-d", db, "-s", "262144", "--stats",
                        "--json", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=dict(os.environ, PACKETRECORDER_DB_KEY="bench-l7"))
    if r.returncode:
        raise SystemExit("capture -r %s: exit %d\n%s" % (trace, r.returncode, r.stderr))
    subprocess.run(["rm", "-rf"] + [os.path.join(tmp, f) for f in os.listdir(tmp)
                                    if f.startswith("l7-%d.db" % n)])
    st = json.loads(r.stdout)["stages"]
    cpp = {k: st[k]["cycles_per_packet"] for k in ("rx", "decode", "flow", "l7", "emit")}
    analysis = cpp["decode"] + cpp["flow"] + cpp["l7"]
    worker = analysis + cpp["rx"] + cpp["emit"]
    return {"packets": st["packets"], "hz": st["cycles_hz"], "cpp": cpp,
            "analysis_pps": st["cycles_hz"] / analysis, "worker_pps": st["cycles_hz"] / worker}


def ndpi(trace):
    t0 = time.monotonic()
    r = subprocess.run(["ndpiReader", "-i", trace], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    wall = time.monotonic() - t0
    m = re.search(r"Packet Processing Time:\s+([\d.]+) msec", r.stdout)
    p = re.search(r"IP packets:\s+\d+\s+of (\d+) packets total", r.stdout)
    if r.returncode or not m or not p:
        raise SystemExit("ndpiReader -i %s: exit %d\n%s" % (trace, r.returncode, r.stdout[-800:]))
    ms = float(m.group(1))
    return {"packets": int(p.group(1)), "pps": int(p.group(1)) / (ms / 1000.0) if ms else 0.0,
            "wall": wall}


def tshark(trace):
    cmd = ["tshark", "-r", trace, "-n", "-T", "fields"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode:
        raise SystemExit("tshark -r %s: exit %d\n%s" % (trace, r.returncode, r.stderr[-800:]))
    return time.monotonic() - t0


def one_packet(trace, tmp):
    out = os.path.join(tmp, "one.pcap")
    subprocess.run(["editcap", "-r", trace, out, "1"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return out


def fmt(v):
    return "{:,.0f}".format(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--trace", action="append", default=[])
    ap.add_argument("--gen-packets", type=int, default=300000)
    a = ap.parse_args()
    for tool in ("ndpiReader", "tshark", "editcap"):
        if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode:
            raise SystemExit("%s is missing (scripts/install-deps.sh installs it)" % tool)
    with tempfile.TemporaryDirectory(prefix="bench-l7-") as tmp:
        traces = list(a.trace)
        if not traces:
            if os.path.isdir(CORPUS_BENCH):
                caps = [os.path.join(CORPUS_BENCH, f) for f in os.listdir(CORPUS_BENCH)
                        if f.endswith((".pcap", ".pcapng"))]
                if caps:
                    traces.append(max(caps, key=os.path.getsize))
            else:
                log("no %s: the generated trace only" % CORPUS_BENCH)
            gen = os.path.join(tmp, "mixed.pcap")
            log("generating %d packets" % a.gen_packets)
            subprocess.run([sys.executable, os.path.join(HERE, "gen_mixed.py"), "--output", gen,
                            "--packets", str(a.gen_packets)], check=True,
                           stdout=subprocess.DEVNULL)
            traces.append(gen)
        print("| trace | tool | packets | packets/s per core | cycles/packet: rx / decode / "
              "flow / l7 / emit |")
        print("|---|---|---:|---:|---|")
        for trace in traces:
            name = os.path.basename(trace)
            o, nd, ts = [], [], []
            for n in range(a.runs):
                log("%s: run %d/%d" % (name, n + 1, a.runs))
                o.append(ours(a.build, trace, tmp, n))
                nd.append(ndpi(trace))
                ts.append(tshark(trace))
            ts0 = statistics.median(tshark(one_packet(trace, tmp)) for _ in range(a.runs))
            om = sorted(o, key=lambda r: r["analysis_pps"])[len(o) // 2]
            c = om["cpp"]
            stages = " / ".join("%.0f" % c[k] for k in ("rx", "decode", "flow", "l7", "emit"))
            print("| %s | packetrecorder: analysis (decode + flow + l7) | %d | %s | %s |" % (
                name, om["packets"], fmt(om["analysis_pps"]), stages))
            print("| %s | packetrecorder: whole worker (with rx and emit) | %d | %s | |" % (
                name, om["packets"], fmt(statistics.median(r["worker_pps"] for r in o))))
            npps = statistics.median(r["pps"] for r in nd)
            print("| %s | ndpiReader (Packet Processing Time) | %d | %s | |" % (
                name, nd[0]["packets"], fmt(npps)))
            tsw = statistics.median(ts)
            print("| %s | tshark -T fields (%d fields; wall %.2f s, of which %.2f s start-up) | %d "
                  "| %s | |" % (name, len(TSHARK_FIELDS), tsw, ts0, om["packets"],
                                fmt(om["packets"] / max(tsw - ts0, 1e-6))))
            print("| %s | ratio: ours / ndpiReader | | %.2fx | |" % (
                name, om["analysis_pps"] / npps if npps else 0.0))


if __name__ == "__main__":
    main()
