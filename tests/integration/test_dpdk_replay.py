#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Replay out of a DPDK tx queue: `replay --backend dpdk -i net_pcap0
--dpdk-args "--vdev net_pcap0,tx_pcap=OUT"` writes what the tx core hands
the PMD into OUT, so the frames the device was given can be read back
(skipped when the build has no dpdk backend or the EAL cannot start).

- mixed.pcap's session at top speed: OUT holds every frame, byte for byte,
  in order; the summary counts them sent, no errors;
- frames of up to 9018 bytes (larger than a default mbuf; net_pcap takes
  no chained mbufs, so a replay's pools get jumbo-sized ones): the same;
- a BPF filter with --count: the first N frames tcpdump's filter accepts;
- --loop 2: the selection twice; --pps: the same frames (the paced path;
  no timing bound is checked here: bench/bench_replay.py measures it);
- a session whose interface is raw IP onto net_pcap0 (Ethernet) is refused
  (exit 3) with a message naming both link types, and sends nothing."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpdktest  # noqa: E402
import prtest  # noqa: E402
from prtest import TestError  # noqa: E402

ck = prtest.Checks("test_dpdk_replay")
prtest.pr_bin()


def frames_of(path):
    return [p.data for p in prtest.read_capture(path).packets]


def replay(db, sid, out, extra=(), rc=0):
    if os.path.exists(out):
        os.unlink(out)
    r = prtest.run(["replay", "--session", sid, "--backend", "dpdk", "-i", "net_pcap0",
                    "--dpdk-args", dpdktest.eal("--vdev", "net_pcap0,tx_pcap=" + out),
                    "--json"] + list(extra), db=db, timeout=180)
    if r.rc != rc:
        raise TestError("replay %s: exit %s, expected %s\n%s" % (extra, r.rc, rc, r.describe()))
    return r


def jumbo_pcap(path, n=400):
    frames = []
    t0 = 1700005000 * 10**9
    for i in range(n):
        size = 60 + (i * 2477) % 8959
        pl = b"J%06d" % i
        pl += bytes((i + k) & 0xFF for k in range(max(0, size - 42 - len(pl))))
        frames.append((t0 + i * 1000, prtest.gen.udp_frame(
            "02:00:00:00:00:0a", "02:00:00:00:00:0b", "10.9.0.1", 7000 + i % 5, "10.9.0.2", 9000,
            pl, i + 1)))
    prtest.gen.write_simple_pcap(path, frames)
    return [f for _, f in frames]


def main(tmp):
    dpdktest.require_dpdk(tmp)
    db = os.path.join(tmp, "replay.db")
    out = os.path.join(tmp, "tx.pcap")
    mixed = prtest.fixture("mixed.pcap")
    want = frames_of(mixed)
    sid = str(prtest.capture_file(db, mixed)[0]["session_id"])

    with ck.section("mixed.pcap at top speed"):
        r = replay(db, sid, out, ["--speed", "0"])
        j = r.json()
        ck.ok(j.get("backend") == "dpdk" and j.get("packets_sent") == len(want) and
              j.get("errors") == 0, "summary: dpdk, %d packets sent, no errors" % len(want),
              r.out)
        got = frames_of(out)
        ck.eq(len(got), len(want), "tx_pcap holds %d frames" % len(want))
        ck.ok(got == want, "every frame byte for byte, in order")

    with ck.section("frames of up to 9018 bytes"):
        jp = os.path.join(tmp, "jumbo.pcap")
        jwant = jumbo_pcap(jp)
        jsid = str(prtest.capture_file(db, jp)[0]["session_id"])
        r = replay(db, jsid, out, ["--speed", "0"])
        ck.eq(r.json().get("packets_sent"), len(jwant), "summary: %d sent" % len(jwant))
        got = frames_of(out)
        ck.ok(got == jwant, "every jumbo frame byte for byte (%d of %d frames, %d of %d "
              "bytes)" % (len(got), len(jwant), sum(map(len, got)), sum(map(len, jwant))))

    with ck.section("a filter and --count"):
        sel = prtest.tcpdump_select(mixed, "tcp")
        if sel is None:
            print("note: no tcpdump: the filter's selection is not checked")
        else:
            expect = [p.data for p in sel.packets][:7]
            replay(db, sid, out, ["--speed", "0", "-f", "tcp", "-c", "7"])
            ck.ok(frames_of(out) == expect, "the first 7 tcp frames, as tcpdump selects them")

    with ck.section("--loop 2 and --pps"):
        r = replay(db, sid, out, ["--speed", "0", "--loop", "2", "-c", "20"])
        ck.ok(frames_of(out) == want[:20] * 2, "--loop 2: the 20 frames twice", r.out)
        r = replay(db, sid, out, ["--pps", "5000", "-c", "50"])
        j = r.json()
        ck.ok(frames_of(out) == want[:50] and j.get("pacing") == "pps" and
              j.get("achieved_pps", 0) > 0, "--pps 5000: the 50 frames, paced", r.out)

    with ck.section("a raw-IP session onto an Ethernet port is refused"):
        rp = os.path.join(tmp, "raw.pcap")
        fr = prtest.gen.udp_frame("02:00:00:00:00:01", "02:00:00:00:00:02", "10.0.0.1", 1,
                                  "10.0.0.2", 2, b"raw ip")
        prtest.gen.write_simple_pcap(rp, [(1700000000 * 10**9, fr[14:])], linktype=101)
        rsid = str(prtest.capture_file(db, rp)[0]["session_id"])
        r = replay(db, rsid, out, ["--speed", "0"], rc=3)
        ck.ok("link type 101" in r.err and "net_pcap0 has link type 1" in r.err,
              "the refusal names both link types", r.describe())
        ck.ok(not os.path.exists(out) or os.path.getsize(out) <= 24 or not frames_of(out),
              "nothing was sent")


with prtest.tmpdir() as tmpd:
    try:
        main(tmpd)
    except TestError as e:
        ck.error("replay over dpdk", e)
ck.finish()
