#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Live capture on a veth pair with a generator at full speed: packets
captured/stored per second, loss %, and CPU of the capturing side per
captured Mpps, for packetrecorder's afxdp and pcap backends beside
`tcpdump -w`, `netsniff-ng` and `stenotype` (Debian's stenographer) in the
same run. Prints a Markdown report on stdout (progress on stderr). Needs
root, trafgen (netsniff-ng) and ip.

    bench/bench_live.py [--bin build/release/controlplane/packetrecorder]
                        [--seconds 10] [--runs 3] [--sizes 64,1500]
                        [--tools afxdp,pcap,tcpdump,netsniff-ng,stenotype]

Setup: a namespace of its own with a veth pair gen0 <-> cap0. trafgen
sends UDP frames of the given size out of gen0 as fast as it can, pinned
to CPU 0; the capturing tool reads cap0, pinned to CPU 1, and writes to a
file under --dir (default: a temporary directory on the disk of /var/tmp).

- sent: gen0's tx_packets delta (what reached cap0), counted from the
  first frame to the last;
- captured: what the tool says it stored (packetrecorder's --json
  "packets", tcpdump's "packets captured", netsniff-ng's "packets
  passed filter" less its drops); stenotype prints no total when it
  stops, so its packets are counted in the files it wrote (the num_pkts
  of each TPACKET_V3 block; one thread, a 256-block ring, indexing on,
  blocks written at least every second; it does not exit on SIGINT and is
  killed 5 s after);
- loss % = (sent - captured) / sent;
- CPU: user + system time of the capturing processes and their children
  (from /proc), divided by the seconds of sending: the share of a core.
  Kernel work done in softirq on the sender's CPU (veth delivers on the
  CPU that sends, and there the XDP program and the copy into the UMEM or
  the packet socket run) is not in it, for any tool alike.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

NS = "prbench%d" % (os.getpid() % 100000)
HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "bench-live-key-0123456789"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(*args, ns=True, check=True, **kw):
    cmd = (["ip", "netns", "exec", NS] if ns else []) + [str(a) for a in args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if check and p.returncode:
        raise SystemExit("%s: %s" % (" ".join(cmd), p.stderr.decode().strip()))
    return p


def setup():
    sh("ip", "netns", "add", NS, ns=False)
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "cap0", "type", "veth", "peer", "name", "gen0")
    for i in ("cap0", "gen0"):
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % i, check=False)
        sh("ip", "link", "set", i, "up")


def teardown():
    sh("ip", "netns", "del", NS, ns=False, check=False)


def trafgen_conf(path, size):
    """A UDP/IPv4 frame of `size` bytes; trafgen fills in the IP checksum."""
    payload = size - 14 - 20 - 8
    with open(path, "w") as f:
        f.write("{\n")
        f.write("  0x02,0x00,0x00,0x00,0x00,0x02, 0x02,0x00,0x00,0x00,0x00,0x01, 0x08,0x00,\n")
        f.write("  0x45,0x00, const16(%d), 0x00,0x00, 0x40,0x00, 64, 17, csumip(14, 33),\n"
                % (size - 14))
        f.write("  10,77,0,1, 10,77,0,2,\n")
        f.write("  const16(40000), const16(40001), const16(%d), 0x00,0x00,\n" % (payload + 8))
        f.write("  fill(0x41, %d),\n}\n" % payload)


def tx_packets():
    return int(sh("cat", "/sys/class/net/gen0/statistics/tx_packets").stdout)


def proc_cpu(pids):
    """user+system seconds of these processes and their waited-for children."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime stime cutime cstime are fields 14-17 (1-based), here 11..14
        total += sum(int(x) for x in fields[11:15]) / tck
    return total


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def start_tool(tool, args, d, size):
    out = os.path.join(d, "%s-%d" % (tool, size))
    pin = ["taskset", "-c", "1"]
    if tool in ("afxdp", "pcap"):
        db = out + ".db"
        cmd = pin + [args.bin, "capture", "-i", "cap0", "--backend", tool, "-d", db,
                     "--encryption-key", KEY, "--json", "-q"]
        if tool == "pcap":
            cmd += ["-b", "256m"]
    elif tool == "tcpdump":
        cmd = pin + ["tcpdump", "-i", "cap0", "-n", "-B", "262144", "-w", out + ".pcap"]
    elif tool == "netsniff-ng":
        cmd = pin + ["netsniff-ng", "--in", "cap0", "--out", out + ".pcap", "--silent",
                     "--ring-size", "256MiB"]
    elif tool == "stenotype":
        # It drops privileges to nobody:nogroup before it opens its files,
        # so it needs its way through the (mkdtemp, 0700) work directory.
        os.chmod(d, 0o711)
        steno = out + ".steno"
        for sub in ("PKT0", "IDX0"):
            os.makedirs(os.path.join(steno, sub), exist_ok=True)
        shutil.chown(steno, "nobody", "nogroup")
        for sub in ("PKT0", "IDX0"):
            shutil.chown(os.path.join(steno, sub), "nobody", "nogroup")
        cmd = pin + ["stenotype", "--iface=cap0", "--dir=" + steno, "--threads=1",
                     "--blocks=256", "--blockage_sec=1", "--seccomp=none", "--no_watchdogs"]
    else:
        raise SystemExit("unknown tool %s" % tool)
    p = subprocess.Popen(["ip", "netns", "exec", NS] + cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    return p, out


def steno_packets(d):
    """Packets in stenotype's packet files: the num_pkts of each 1 MiB
    TPACKET_V3 block (struct tpacket_block_desc: version, offset_to_priv,
    then block_status and num_pkts); preallocated, unwritten blocks are 0."""
    total = 0
    for name in os.listdir(d):
        with open(os.path.join(d, name), "rb") as f:
            while True:
                blk = f.read(1 << 20)
                if len(blk) < 16:
                    break
                total += struct.unpack_from("<I", blk, 12)[0]
    return total


def stop_tool(tool, p, out_base):
    p.send_signal(signal.SIGINT)
    if tool == "stenotype":
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            # `ip netns exec` execs stenotype: p is the process itself.
            p.kill()
            out, err = p.communicate()
        return steno_packets(os.path.join(out_base + ".steno", "PKT0")), err.decode(
            "utf-8", "replace")
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    if tool in ("afxdp", "pcap"):
        try:
            return json.loads(out.strip().splitlines()[-1])["packets"], err
        except (ValueError, IndexError, KeyError):
            raise SystemExit("%s: no JSON summary: %s %s" % (tool, out[-300:], err[-500:]))
    if tool == "tcpdump":
        m = re.search(r"(\d+) packets captured", err)
        return int(m.group(1)) if m else 0, err
    m = re.search(r"(\d+)\s+packets passed filter", err + out)
    d = re.search(r"(\d+)\s+packets failed to pass", err + out)
    if not m:
        raise SystemExit("netsniff-ng: no summary: %s" % (err + out)[-500:])
    return int(m.group(1)) - (int(d.group(1)) if d else 0), err


def one_run(tool, size, args, d):
    conf = os.path.join(d, "frame-%d.cfg" % size)
    trafgen_conf(conf, size)
    p, out = start_tool(tool, args, d, size)
    time.sleep(1.5)  # attach, open, warm up
    if p.poll() is not None:
        raise SystemExit("%s did not start: %s" % (tool, p.stderr.read().decode()[-500:]))
    pids = descendants(p.pid)
    cpu0 = proc_cpu(pids)
    tx0 = tx_packets()
    t0 = time.monotonic()
    gen = subprocess.run(["ip", "netns", "exec", NS, "timeout", "-s", "INT", str(args.seconds),
                          "taskset", "-c", "0", "trafgen", "--dev", "gen0", "--conf", conf,
                          "--cpus", "1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    elapsed = time.monotonic() - t0
    tx1 = tx_packets()
    time.sleep(1.0)  # let the capture drain what is queued
    pids = descendants(p.pid)
    cpu1 = proc_cpu(pids)
    captured, err = stop_tool(tool, p, out)
    cpu1 = max(cpu1, proc_cpu(pids))
    sent = tx1 - tx0
    for ext in (".db", ".pcap"):
        for f in (out + ext,):
            if os.path.exists(f):
                os.remove(f)
    for sub in (".db.segments", ".steno"):
        if os.path.isdir(out + sub):
            shutil.rmtree(out + sub)
    return {"sent": sent, "captured": captured, "seconds": elapsed, "cpu": (cpu1 - cpu0) / elapsed}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "release", "controlplane",
                                                  "packetrecorder"))
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="64,1500")
    ap.add_argument("--tools", default="afxdp,pcap,tcpdump,netsniff-ng,stenotype")
    ap.add_argument("--dir", default="/var/tmp")
    args = ap.parse_args()
    if os.geteuid():
        raise SystemExit("bench_live: needs root (namespaces, XDP)")
    for t in ("trafgen", "ip", "taskset"):
        if not shutil.which(t):
            raise SystemExit("bench_live: %s not found" % t)
    args.bin = os.path.abspath(args.bin)
    sizes = [int(s) for s in args.sizes.split(",")]
    tools = args.tools.split(",")
    d = tempfile.mkdtemp(prefix="bench-live-", dir=args.dir)
    setup()
    results = {}
    try:
        for size in sizes:
            for tool in tools:
                if tool in ("tcpdump", "netsniff-ng", "stenotype") and not shutil.which(tool):
                    log("skip %s: not installed" % tool)
                    continue
                for r in range(args.runs):
                    res = one_run(tool, size, args, d)
                    log("%5d B %-12s run %d: sent %d captured %d in %.1f s, cpu %.2f" % (
                        size, tool, r + 1, res["sent"], res["captured"], res["seconds"],
                        res["cpu"]))
                    results.setdefault((size, tool), []).append(res)
    finally:
        teardown()
        shutil.rmtree(d, ignore_errors=True)
    print("| frame | tool | offered Mpps | captured Mpps | stored MB/s | loss % | "
          "CPU (share of a core) | CPU per captured Mpps |")
    print("|---|---|---|---|---|---|---|---|")
    for (size, tool), rs in results.items():
        def med(f):
            return statistics.median(f(x) for x in rs)
        off = med(lambda x: x["sent"] / x["seconds"] / 1e6)
        cap = med(lambda x: x["captured"] / x["seconds"] / 1e6)
        loss = med(lambda x: 100.0 * (x["sent"] - x["captured"]) / x["sent"] if x["sent"] else 0)
        cpu = med(lambda x: x["cpu"])
        print("| %d B | %s | %.3f | %.3f | %.0f | %.2f | %.2f | %.2f |" % (
            size, tool, off, cap, cap * size, loss, cpu, cpu / cap if cap else float("nan")))
    print("\n%d run(s) of %.0f s each, medians; packetrecorder: %s" % (args.runs, args.seconds,
                                                                      args.bin))


if __name__ == "__main__":
    main()
