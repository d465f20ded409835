#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Replay onto a veth pair (label: privileged; skipped unless root and
`ip netns` works). Both ends sit in a namespace made here and removed at
the end; `replay` sends on one end, tests/integration/rawsink.py (an
AF_PACKET reader) records what arrives on the other. For each backend
that runs here (pcap; afxdp when built in):
- --topspeed: the same frames arrive, in the same order, byte for byte,
  and --json's packets_sent/bytes_sent are theirs;
- --speed 1 of 200 frames 5 ms apart: the timing error at hand-off
  (tx_burst() return minus the scheduled time, stamped by the tx core)
  has p50 < 50 ms and p99 < 250 ms (pacing works at all; the documented
  p50 < 200 us and p99 < 1 ms are checked with PR_STRICT_TIMING=1 on a
  quiet machine; bench/bench_replay.py measures them beside tcpreplay), and the arrival span
  on the far end is 1 s within 10 %;
- --pps 2000 and --mbps 8: the achieved rate is within 5 % of the target
  (15 % in sanitized builds, whose first hand-off can be late);
- --loop 3 sends the selection three times, in order;
- --filter and --from/--to send exactly the frames they select.
Bad arguments (conflicting pacing, --pps 0, --loop 0, --mbps -1, unknown
--backend) exit 3 with a message naming the option."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import TestError  # noqa: E402

if os.geteuid() != 0:
    prtest.skip("needs root (network namespaces, veth)")
if not prtest.have("ip"):
    prtest.skip("no `ip` command (iproute2)")

TAG = "%d" % (os.getpid() % 100000)
NS = "prrp" + TAG
TX_IF, RX_IF = "rpt0", "rpr0"
SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rawsink.py")
MARK = b"PRRP%s " % TAG.encode()



def sh(*args, check=True, ns=True, timeout=60):
    cmd = (["ip", "netns", "exec", NS] if ns else []) + [str(a) for a in args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check and p.returncode != 0:
        raise TestError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                             p.stderr.decode("utf-8", "replace").strip()))
    return p


def setup():
    p = sh("ip", "netns", "add", NS, ns=False, check=False)
    if p.returncode != 0:
        prtest.skip("`ip netns add` failed: %s" % p.stderr.decode("utf-8", "replace").strip())
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", TX_IF, "type", "veth", "peer", "name", RX_IF)
    for ifn in (TX_IF, RX_IF):
        sh("sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % ifn, check=False)
        sh("ip", "link", "set", ifn, "up")


def teardown():
    subprocess.run(["ip", "netns", "del", NS], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_frames(n, t0, gap_ns, sizes=(60, 200, 1000, 1514)):
    out = []
    for i in range(n):
        size = sizes[i % len(sizes)]
        payload = MARK + b"seq=%06d " % i
        payload += bytes((i + k) & 0xFF for k in range(max(0, size - 42 - len(payload))))
        f = prtest.gen.udp_frame("02:00:00:00:00:01", "02:00:00:00:00:02", "10.9.0.1",
                                 40000 + (i % 4), "10.9.0.2", 5000 + (i % 2), payload, ident=i + 1)
        out.append((t0 + i * gap_ns, f))
    return out


def store(tmp, name, frames):
    db = os.path.join(tmp, name + ".db")
    pc = os.path.join(tmp, name + ".pcap")
    prtest.gen.write_simple_pcap(pc, frames, nsec=True)
    obj, _ = prtest.capture_file(db, pc)
    return db, str(obj["session_id"])


def replay(db, sid, backend, extra, timeout=120):
    """Run replay in the namespace with a sink on the peer; (result, frames)."""
    sink = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, SINK, RX_IF,
                             "--marker", MARK.decode(), "--idle", "1.5", "--timeout",
                             str(timeout)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        sink.stderr.readline()  # "ready"
        args = ["ip", "netns", "exec", NS, prtest.pr_bin(), "replay", "--session", sid,
                "--interface", TX_IF, "--backend", backend, "--json"] + list(extra)
        cmd = args + ["--database", db, "--encryption-key", prtest.KEY]
        t = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=prtest.clean_env())
        r = prtest.Result(cmd, p.returncode, p.stdout.decode("utf-8", "replace"),
                          p.stderr.decode("utf-8", "replace"), time.monotonic() - t)
        out, _ = sink.communicate(timeout=timeout + 10)
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
    got = json.loads(out.decode())["frames"] if out else []
    return r, [(ts, bytes.fromhex(h)) for ts, h in got]


def run_backend(ck, tmp, be):
    base = 1700005000 * 10**9
    frames = make_frames(2000, base, 100_000)
    db, sid = store(tmp, "top-" + be, frames)
    want = [f for _, f in frames]

    with ck.section("%s: --topspeed, same frames in the same order" % be):
        r, got = replay(db, sid, be, ["--topspeed"])
        if be == "afxdp" and r.rc != 0 and "built without AF_XDP" in r.err:
            # A build without the backend says so; that is checked by the
            # AF_XDP tests. Nothing of afxdp can run here.
            print("  skip afxdp: this build has no AF_XDP backend (%s)" % r.err.strip())
            return
        if ck.rc(r, 0, "%s replay --topspeed" % be):
            j = r.json()
            ck.eq(j.get("packets_sent"), len(want), "%s: packets_sent" % be)
            ck.eq(j.get("bytes_sent"), sum(len(f) for f in want), "%s: bytes_sent" % be)
            ck.eq(j.get("errors"), 0, "%s: errors" % be)
            ck.eq(j.get("backend"), be, "%s: backend in --json" % be)
        ck.eq(len(got), len(want), "%s: frames received on the peer" % be)
        ck.ok([g for _, g in got] == want, "%s: received frames equal the stored ones, in order" % be)

    with ck.section("%s: --loop 3" % be):
        r, got = replay(db, sid, be, ["--topspeed", "--loop", "3", "--count", "300"])
        if ck.rc(r, 0, "%s replay --loop 3" % be):
            ck.eq(r.json().get("packets_sent"), 900, "%s: --loop 3 --count 300 sent" % be)
            ck.eq(r.json().get("passes"), 3, "%s: passes" % be)
        ck.ok([g for _, g in got] == want[:300] * 3, "%s: the 300 frames arrive 3 times in order"
              " (got %d)" % (be, len(got)))

    with ck.section("%s: --filter and --from/--to" % be):
        r, got = replay(db, sid, be, ["--topspeed", "--filter", "udp dst port 5001"])
        sel = [f for i, f in enumerate(want) if i % 2 == 1]
        if ck.rc(r, 0, "%s replay --filter" % be):
            ck.eq(r.json().get("packets_sent"), len(sel), "%s: --filter packets_sent" % be)
        ck.ok([g for _, g in got] == sel, "%s: --filter sends exactly its %d frames (got %d)"
              % (be, len(sel), len(got)))
        lo, hi = base + 500 * 100_000, base + 899 * 100_000
        r, got = replay(db, sid, be, ["--topspeed", "--from", str(lo), "--to", str(hi)])
        if ck.rc(r, 0, "%s replay --from/--to" % be):
            ck.eq(r.json().get("packets_sent"), 400, "%s: --from/--to packets_sent" % be)
        ck.ok([g for _, g in got] == want[500:900], "%s: --from/--to sends frames 500..899 (got %d)"
              % (be, len(got)))

    with ck.section("%s: --speed 1 timing" % be):
        pf = make_frames(200, base, 5_000_000, sizes=(100,))
        pdb, psid = store(tmp, "pace-" + be, pf)
        r, got = replay(pdb, psid, be, ["--speed", "1"])
        if ck.rc(r, 0, "%s replay --speed 1" % be):
            te = r.json().get("timing_error", {})
            ck.eq(te.get("packets"), 200, "%s: timed packets" % be)
            p50, p99 = te.get("p50_ns", 10**12), te.get("p99_ns", 10**12)
            # The documented bound (docs/packetrecorder-replay.md: p50 < 200 us,
            # p99 < 1 ms) is a property of a machine with a core to spare; under
            # ctest -j on two cores another test's build or capture takes the tx
            # core's CPU for whole scheduler slices (CI measured p99 12 ms so).
            # bench/bench_replay.py measures it; here it is checked only when
            # asked (PR_STRICT_TIMING=1). Otherwise the
            # coarse bound says pacing works at all, and the arrival span below
            # says the schedule held.
            load = os.getloadavg()[0]
            san = prtest.sanitized()
            strict = os.environ.get("PR_STRICT_TIMING") == "1" and not san
            bound = 1_000_000 if strict else 250_000_000
            p50_bound = 200_000 if strict else 50_000_000
            if not strict:
                print("  note: %s: the documented bounds (p50 < 200 us, p99 < 1 ms) are "
                      "not checked (%s; load average %.1f on %d CPUs); p50 < 50 ms and "
                      "p99 < 250 ms are"
                      % (be, "%s build" % san if san else "PR_STRICT_TIMING=1 not set",
                         load, os.cpu_count() or 1))
            ck.ok(p50 < p50_bound, "%s: timing error p50 %.1f us < %d us"
                  % (be, p50 / 1e3, p50_bound // 1000))
            ck.ok(p99 < bound, "%s: timing error p99 %.1f us < %d us (max %.1f us)"
                  % (be, p99 / 1e3, bound // 1000, te.get("max_ns", 0) / 1e3))
            print("  %s --speed 1 timing error: %s" % (be, te))
        ck.eq(len(got), 200, "%s: paced frames received" % be)
        if len(got) == 200:
            span = (got[-1][0] - got[0][0]) / 1e9
            ck.ok(abs(span - 0.995) < 0.1, "%s: arrival span %.4f s (schedule 0.995 s)" % (be, span))
            ck.ok([g for _, g in got] == [f for _, f in pf], "%s: paced frames unchanged" % be)

    with ck.section("%s: --pps and --mbps" % be):
        rf = make_frames(1000, base, 1000, sizes=(500,))
        rdb, rsid = store(tmp, "rate-" + be, rf)
        # The achieved rate is taken between the first and the last hand-off;
        # a sanitized build can hand off the first frame tens of ms late (CI's
        # TSan run: 35 ms of a 0.5 s schedule, 8.6 "Mbit/s" for 8), and the
        # schedule then holds from its start. 5 % otherwise, 15 % there.
        san = prtest.sanitized()
        tol = 0.15 if san else 0.05
        if san:
            print("  note: %s build: the achieved rates are checked within 15 %%, not 5 %%" % san)
        r, got = replay(rdb, rsid, be, ["--pps", "2000"])
        if ck.rc(r, 0, "%s replay --pps 2000" % be):
            pps = r.json().get("achieved_pps", 0)
            ck.ok(abs(pps - 2000) / 2000 < tol, "%s: --pps 2000 achieved %.1f" % (be, pps))
        ck.eq(len(got), 1000, "%s: --pps frames received" % be)
        if len(got) == 1000:
            span = (got[-1][0] - got[0][0]) / 1e9
            ck.ok(abs(span - 0.4995) < 0.05, "%s: --pps 2000 arrival span %.3f s (0.4995)" % (be, span))
        r, got = replay(rdb, rsid, be, ["--mbps", "8"])
        if ck.rc(r, 0, "%s replay --mbps 8" % be):
            mb = r.json().get("achieved_mbps", 0)
            ck.ok(abs(mb - 8) / 8 < tol, "%s: --mbps 8 achieved %.3f" % (be, mb))
        ck.eq(len(got), 1000, "%s: --mbps frames received" % be)


def usage_checks(ck, tmp):
    frames = make_frames(10, 1700006000 * 10**9, 1000)
    db, sid = store(tmp, "usage", frames)
    with ck.section("bad arguments exit 3"):
        for extra, word in ((["--speed", "2", "--pps", "5"], "pacing"),
                            (["--topspeed", "--mbps", "5"], "pacing"),
                            (["--pps", "0"], "--pps"), (["--loop", "0"], "--loop"),
                            (["--mbps", "-1"], "--mbps"), (["--speed", "-1"], "--speed"),
                            (["--backend", "nope"], "--backend")):
            r = prtest.run(["replay", "--session", sid, "--interface", "lo"] + extra, db=db)
            ck.rc(r, 3, "replay %s" % " ".join(extra))
            ck.ok(word in r.err, "replay %s: the error names %s" % (" ".join(extra), word),
                  r.err.strip())


ck = prtest.Checks("priv_replay")
with prtest.tmpdir() as tmpd:
    try:
        setup()
        usage_checks(ck, tmpd)
        backends = ["pcap"]
        if "afxdp" in sys.argv[1:] or not sys.argv[1:]:
            backends.append("afxdp")
        if sys.argv[1:]:
            backends = [b for b in backends if b in sys.argv[1:]]
        for be in backends:
            run_backend(ck, tmpd, be)
    except TestError as e:
        ck.error("setup", e)
    finally:
        teardown()
ck.finish()
