#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Live capture and replay on a veth pair whose far end sits in a network
namespace (label: privileged; skipped unless root and `ip netns` works).

- capture -i VETH -c N while the namespace sends numbered UDP datagrams:
  N packets, consecutive numbers, the flow in `flows`; -s 64 cuts packets;
  -t 1 ends by duration; SIGINT ends with end_reason "stopped";
- replay --speed 0 of that session arrives on the far end byte for byte;
- replay --speed 1 of 3 packets 200 ms apart keeps the spacing."""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import TestError  # noqa: E402

if os.geteuid() != 0:
    prtest.skip("needs root (network namespaces and veth pairs)")
if not prtest.have("ip"):
    prtest.skip("no `ip` command (iproute2)")

TAG = "%d" % (os.getpid() % 100000)
NS = "prtest" + TAG
HOST_IF = "prh" + TAG  # in our namespace
PEER_IF = "prn" + TAG  # in NS
HOST_IP, PEER_IP = "10.199.%d.1" % (os.getpid() % 200), "10.199.%d.2" % (os.getpid() % 200)
DPORT, SPORT = 40000, 40001
PAYLOAD_LEN = len(b"PRTEST-LIVE seq=%08d " % 0) + 180  # what SENDER sends
FRAME_LEN = 14 + 20 + 8 + PAYLOAD_LEN
STARTED = []  # Popen objects of this test, ended in finally


def sh(*args, check=True, ns=False, timeout=30):
    cmd = (["ip", "netns", "exec", NS] if ns else []) + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check and p.returncode != 0:
        raise TestError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                             p.stderr.decode("utf-8", "replace").strip()))
    return p


def mac_of(ifname, ns=False):
    out = sh("cat", "/sys/class/net/%s/address" % ifname, ns=ns).stdout.decode().strip()
    return out


def setup():
    p = sh("ip", "netns", "add", NS, check=False)
    if p.returncode != 0:
        prtest.skip("`ip netns add` failed: %s" % p.stderr.decode("utf-8", "replace").strip())
    sh("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", PEER_IF)
    sh("ip", "link", "set", PEER_IF, "netns", NS)
    for ifn, ns in ((HOST_IF, False), (PEER_IF, True)):
        # no IPv6 chatter (router solicitations, MLD) on the test link
        sh("sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % ifn, ns=ns, check=False)
    sh("ip", "addr", "add", HOST_IP + "/24", "dev", HOST_IF)
    sh("ip", "link", "set", HOST_IF, "up")
    sh("ip", "addr", "add", PEER_IP + "/24", "dev", PEER_IF, ns=True)
    sh("ip", "link", "set", PEER_IF, "up", ns=True)
    sh("ip", "link", "set", "lo", "up", ns=True)
    # static neighbours: no ARP on the link
    sh("ip", "neigh", "replace", HOST_IP, "lladdr", mac_of(HOST_IF), "dev", PEER_IF, "nud",
       "permanent", ns=True)
    sh("ip", "neigh", "replace", PEER_IP, "lladdr", mac_of(PEER_IF, ns=True), "dev", HOST_IF,
       "nud", "permanent")


def teardown():
    for p in STARTED:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "link", "del", HOST_IF, check=False)


SENDER = r"""
import os, socket, sys, time
stop, dst, dport, src, sport, gap = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, sport))
i = 0
while not os.path.exists(stop) and i < 20000:
    s.sendto(b"PRTEST-LIVE seq=%08d " % i + b"x" * 180, (dst, dport))
    i += 1
    time.sleep(gap)
"""


class Sender:
    """Numbered UDP datagrams from the namespace to HOST_IP:DPORT until stopped."""

    def __init__(self, tmp, gap=0.01):
        self.stop = os.path.join(tmp, "stop-sender-%d" % time.monotonic_ns())
        self.p = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", SENDER,
                                   self.stop, HOST_IP, str(DPORT), PEER_IP, str(SPORT), str(gap)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        STARTED.append(self.p)

    def end(self):
        open(self.stop, "w").close()
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def start_capture(args, db):
    cmd = [prtest.pr_bin(), "capture"] + [str(a) for a in args] + ["-d", db, "--encryption-key",
                                                                  prtest.KEY]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=prtest.clean_env())
    STARTED.append(p)
    return p, cmd


def finish_capture(p, cmd, timeout):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise TestError("%s: no exit within %ss\nstderr: %s" % (" ".join(cmd), timeout,
                                                               err.decode("utf-8", "replace")))
    r = prtest.Result(cmd, p.returncode, out.decode("utf-8", "replace"),
                      err.decode("utf-8", "replace"), 0)
    if r.rc != 0:
        raise TestError("exit %s\n%s" % (r.rc, r.describe()))
    obj = r.json()
    # Every packet on the link is stored, filtered or counted as dropped.
    err = prtest.accounting_error(obj)
    if err:
        raise TestError("the capture does not add up: %s" % err)
    return obj, r


def seqs_of(rows):
    out = []
    for r in rows:
        m = re.search(rb"PRTEST-LIVE seq=(\d{8})", bytes.fromhex(r.get("data") or ""))
        out.append(int(m.group(1)) if m else None)
    return out


class PeerDump:
    """tcpdump on the namespace's end, incoming packets only, nanosecond timestamps."""

    def __init__(self, tmp, expr, name):
        self.path = os.path.join(tmp, name)
        # --immediate-mode: without it libpcap's TPACKET_V3 block timeout (~1 s) can hold a
        # burst sent at --speed 0 past the SIGINT in packets(), and tcpdump exits without it.
        self.p = subprocess.Popen(["ip", "netns", "exec", NS, "tcpdump", "-i", PEER_IF, "-Q", "in",
                                   "--immediate-mode", "-U", "-n",
                                   "--time-stamp-precision=nano", "-w", self.path, expr],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        STARTED.append(self.p)
        # tcpdump says "listening on" once its socket is bound
        line = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = self.p.stderr.readline()
            if b"listening on" in line or not line:
                break
        if b"listening on" not in line:
            raise TestError("tcpdump in %s did not start: %r" % (NS, line))
        time.sleep(0.2)

    def packets(self, settle=0.7):
        time.sleep(settle)
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return prtest.read_capture(self.path).packets


ck = prtest.Checks("test_priv_live")
prtest.pr_bin()
if not prtest.have("tcpdump"):
    print("note: no tcpdump: the replay checks are skipped")


def live_tests(tmp):
    db = os.path.join(tmp, "live.db")
    N = 20
    with ck.section("capture -i %s -c %d" % (HOST_IF, N)):
        snd = Sender(tmp)
        p, cmd = start_capture(["-i", HOST_IF, "-c", N, "-f", "udp port %d" % DPORT, "--json"], db)
        try:
            obj, _ = finish_capture(p, cmd, 30)
        finally:
            snd.end()
        ck.eq(obj.get("packets"), N, "live: packets")
        ck.eq(obj.get("status"), "completed", "live: status")
        ck.eq(obj.get("end_reason"), "count", "live: end_reason")
        ck.eq(obj.get("source_kind"), "interface", "live: source_kind")
        ck.eq(obj.get("source"), HOST_IF, "live: source")
        ck.eq(obj.get("name"), HOST_IF, "live: default name is the interface")
        ck.eq(obj.get("drops_total"), 0, "live: no drops")
        sid = obj["session_id"]
        rows = prtest.query(db, sid, ["--show-data"])
        ck.eq(len(rows), N, "live: query rows")
        seqs = seqs_of(rows)
        ck.ok(None not in seqs and seqs == list(range(seqs[0], seqs[0] + N)),
              "live: %d consecutive datagrams, none lost or reordered" % N, repr(seqs))
        ck.ok(all(r.get("linktype") == 1 and r.get("cap_len") == r.get("wire_len") == FRAME_LEN
                  for r in rows), "live: Ethernet frames of %d bytes, whole" % FRAME_LEN,
              repr([(r.get("linktype"), r.get("cap_len"), r.get("wire_len")) for r in rows[:3]]))
        ts = [r.get("ts") for r in rows]
        now = time.time_ns()
        ck.ok(ts == sorted(ts) and now - 60 * 10**9 < ts[0] <= now,
              "live: timestamps are wall-clock ns, in order")
        fl = prtest.flows(db, sid)
        want = {"ip_proto": 17, "src_ip": PEER_IP, "src_port": SPORT, "dst_ip": HOST_IP,
                "dst_port": DPORT, "vlan": 0, "packets_to_server": N, "packets_to_client": 0,
                "bytes_to_server": FRAME_LEN * N, "bytes_to_client": 0, "tcp_state": "none"}
        ok = len(fl) == 1 and all(fl[0].get(k) == v for k, v in want.items())
        ck.ok(ok, "live: flows shows the one UDP flow with the %d stored packets" % N,
              "got %s" % [prtest.fmt_flow(f) for f in fl])

    with ck.section("capture -i -s 64"):
        snd = Sender(tmp)
        p, cmd = start_capture(["-i", HOST_IF, "-c", 3, "-s", 64, "-f", "udp port %d" % DPORT,
                                "--json"], db)
        try:
            obj, _ = finish_capture(p, cmd, 30)
        finally:
            snd.end()
        rows = prtest.query(db, obj["session_id"])
        ck.ok(len(rows) == 3 and all(r.get("cap_len") == 64 and r.get("wire_len") == FRAME_LEN
                                     for r in rows),
              "-s 64: 3 packets cut to 64 of %d bytes" % FRAME_LEN,
              repr([(r.get("cap_len"), r.get("wire_len")) for r in rows]))
        ck.eq(obj.get("captured_bytes"), 3 * 64, "-s 64: captured_bytes")
        ck.eq(obj.get("bytes"), 3 * FRAME_LEN, "-s 64: bytes (wire)")

    with ck.section("capture -i -t 1 (duration)"):
        t0 = time.monotonic()
        p, cmd = start_capture(["-i", HOST_IF, "-t", 1, "--json"], db)
        obj, _ = finish_capture(p, cmd, 30)
        el = time.monotonic() - t0
        ck.eq(obj.get("end_reason"), "duration", "-t 1: end_reason")
        ck.eq(obj.get("status"), "completed", "-t 1: status")
        # The upper bound says the duration ended it, not the 30 s wait above;
        # a sanitized build on a busy machine needs seconds just to start
        # (CI-like runs measured 11.75 s under ASan with two tests at once).
        hi = 25 if prtest.sanitized() else 10
        ck.ok(0.9 <= el <= hi, "-t 1: ends after about a second (%.2f s, at most %d s)"
              % (el, hi))

    with ck.section("SIGINT stops a capture cleanly"):
        snd = Sender(tmp)
        p, cmd = start_capture(["-i", HOST_IF, "-f", "udp port %d" % DPORT, "--json"], db)
        try:
            seen = prtest.wait_until(
                lambda: [s for s in prtest.sessions(db) if s.get("status") == "running" and
                         (s.get("packets") or 0) > 0], 20, interval=0.2)
            ck.ok(seen, "the running capture shows packets in sessions")
            p.send_signal(signal.SIGINT)
            obj, _ = finish_capture(p, cmd, 20)
        finally:
            snd.end()
        ck.eq(obj.get("end_reason"), "stopped", "SIGINT: end_reason")
        ck.eq(obj.get("status"), "completed", "SIGINT: status")
        n = obj.get("packets")
        rows = prtest.query(db, obj["session_id"])
        ck.ok(isinstance(n, int) and n > 0 and len(rows) == n,
              "SIGINT: every counted packet is stored (%r, %d rows)" % (n, len(rows)))
        s = prtest.session(db, obj["session_id"])
        ck.eq(s.get("status"), "completed", "SIGINT: sessions status")
    return db, sid, N


def replay_tests(tmp, db, sid, N):
    if not prtest.have("tcpdump"):
        return
    with ck.section("replay --speed 0 arrives byte for byte"):
        stored = prtest.query(db, sid, ["--show-data"])
        dump = PeerDump(tmp, "udp port %d" % DPORT, "replay0.pcap")
        r = prtest.run(["replay", "--session", sid, "--interface", HOST_IF, "--speed", "0",
                        "--json"], db=db, timeout=60)
        got = dump.packets()
        if ck.rc(r, 0, "replay --speed 0"):
            j = r.json()
            ck.eq(j.get("packets_sent"), N, "replay --json: packets_sent")
            ck.eq(j.get("bytes_sent"), sum(x.get("wire_len") for x in stored), "replay --json: bytes_sent")
            ck.eq(j.get("errors"), 0, "replay --json: errors")
            ck.eq(j.get("interface"), HOST_IF, "replay --json: interface")
        want = [bytes.fromhex(x["data"]) for x in stored]
        ck.eq(len(got), N, "the far end received %d packets" % N)
        ck.ok([g.data for g in got] == want, "received frames equal the stored ones, in order",
              "first received %s" % (got[0].data.hex() if got else None))

    with ck.section("replay --speed 1 keeps 200 ms spacing"):
        pdb = os.path.join(tmp, "pace.db")
        pc = os.path.join(tmp, "pace.pcap")
        t0 = 1700003000 * 10**9
        frames = [(t0 + i * 200 * 10**6, prtest.gen.udp_frame(
            mac_of(HOST_IF), mac_of(PEER_IF, ns=True), HOST_IP, 41000, PEER_IP, 41001,
            b"PRTEST-PACE %d" % i, ident=i + 1)) for i in range(3)]
        prtest.gen.write_simple_pcap(pc, frames)
        obj, _ = prtest.capture_file(pdb, pc)
        psid = obj["session_id"]
        for speed, lo, hi in (("1", 0.3, 1.5), ("2", 0.15, 0.8), ("0", 0.0, 0.1)):
            dump = PeerDump(tmp, "udp port 41001", "pace%s.pcap" % speed)
            t = time.monotonic()
            r = prtest.run(["replay", "--session", psid, "--interface", HOST_IF, "--speed", speed,
                            "--json"], db=pdb, timeout=60)
            wall = time.monotonic() - t
            got = dump.packets()
            if not ck.rc(r, 0, "replay --speed %s" % speed):
                continue
            j = r.json()
            ck.eq(j.get("packets_sent"), 3, "replay --speed %s: packets_sent" % speed)
            d = j.get("duration_s")
            if speed != "0":
                ck.ok(isinstance(d, (int, float)) and lo <= d <= hi,
                      "replay --speed %s: duration_s %r in [%s, %s] (wall %.2f s)" % (speed, d, lo, hi, wall))
            ck.eq(len(got), 3, "replay --speed %s: 3 packets arrive" % speed)
            if len(got) == 3:
                span = (got[2].ts_ns - got[0].ts_ns) / 1e9
                gaps = [(got[i + 1].ts_ns - got[i].ts_ns) / 1e9 for i in range(2)]
                want = 0.4 / float(speed) if speed != "0" else 0
                # generous: this checks pacing, it is not a benchmark
                ok = (want * 0.75 <= span <= want * 1.25 + 0.1) if speed != "0" else span < 0.1
                ck.ok(ok, "replay --speed %s: arrival span %.3f s (expected ~%.2f), gaps %s" % (
                    speed, span, want, ["%.3f" % g for g in gaps]))
                ck.ok([g.data for g in got] == [f for _, f in frames],
                      "replay --speed %s: frames arrive unchanged" % speed)


with prtest.tmpdir() as tmpd:
    try:
        setup()
        res = None
        try:
            res = live_tests(tmpd)
        except TestError as e:
            ck.error("live capture", e)
        if res:
            replay_tests(tmpd, *res)
    except TestError as e:
        ck.error("setup", e)
    finally:
        teardown()
ck.finish()
