#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The dpdk backend over DPDK's net_pcap against the pcap backend on the
same capture files: the store must hold the same thing, whichever way the
file came in (skipped when the build has no dpdk backend).

- For the Ethernet fixtures (mixed, fragments) and a generated
  file of 3000 frames of 60 to 9018 bytes (larger than one mbuf, so they
  arrive in segments): `capture --backend dpdk -i net_pcap0 --dpdk-args
  "--vdev net_pcap0,rx_pcap=FILE"` and `capture --backend dpdk -r FILE`
  store the same packets (bytes and timestamps), the same flows (`flows
  --json`) and export the same pcap bytes as `capture -r FILE` (pcap
  backend); the end of the file ends the capture (end_reason eof) each time;
- the same with a BPF filter (-f tcp) and with -c (end_reason count);
- nsec.pcap: net_pcap reads files with microsecond precision, so the
  timestamps are the pcap backend's cut to the microsecond (documented);
- malformed.pcap holds packets cut at capture (caplen < len): net_pcap
  gives only the captured length, so the same packets, timestamps and
  bytes are stored, with wire length = captured length (documented);
- two files on one net_pcap port (rx_pcap=A,rx_pcap=B), one per queue,
  read by --workers 2: each worker ends at the end of its own file, and
  the store holds the packets and flows of both files, as the pcap
  backend stores them from each file alone;
- a raw-IP file is refused with a message naming the link type."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpdktest  # noqa: E402
import prtest  # noqa: E402
from prtest import TestError  # noqa: E402

ck = prtest.Checks("test_dpdk_pcap")
prtest.pr_bin()


def jumbo_pcap(path, n=3000):
    """n UDP frames of 60..9018 bytes in both directions of 12 conversations, 1 ms apart."""
    frames = []
    t0 = 1700004000 * 10**9
    a_mac, b_mac = "02:00:00:00:0a:01", "02:00:00:00:0b:02"
    for i in range(n):
        conv = i % 12
        size = 60 + (i * 977) % 8959  # 60..9018, most above one mbuf's 2048
        pl = bytes(((i + k) * 31) & 0xFF for k in range(max(size - 42, 18)))
        a, b = "10.50.%d.1" % conv, "10.60.%d.2" % conv
        if (i // 12) % 3 == 2:  # every third round goes back
            fr = prtest.gen.udp_frame(b_mac, a_mac, b, 7000 + conv, a, 5000 + conv, pl, ident=i)
        else:
            fr = prtest.gen.udp_frame(a_mac, b_mac, a, 5000 + conv, b, 7000 + conv, pl, ident=i)
        frames.append((t0 + i * 1000000, fr))
    prtest.gen.write_simple_pcap(path, frames)
    return n


def capture_ok(db, args, what):
    obj, _ = prtest.run_json(["capture"] + args, db=db, timeout=120)
    return obj


def compare(tmp, db, path, name, extra=(), end="eof"):
    """pcap backend -r, dpdk -i net_pcap0 (vdev), dpdk -r: same store content."""
    ref = capture_ok(db, ["-r", path, "--backend", "pcap"] + list(extra), name)
    ck.eq(ref.get("end_reason"), end, "%s: pcap backend ends with %s" % (name, end))
    want = dpdktest.content(db, ref["session_id"], tmp, name + "-pcap")
    ck.ok(want["packets"] and want["packets"] > 0, "%s: the pcap backend stored %r packets" %
          (name, want["packets"]))
    runs = (
        ("dpdk net_pcap0 vdev", ["-i", "net_pcap0", "--backend", "dpdk", "--dpdk-args",
                                 dpdktest.eal("--vdev", "net_pcap0,rx_pcap=" + path)]),
        ("dpdk -r", ["-r", path, "--backend", "dpdk", "--dpdk-args", dpdktest.eal()]),
    )
    for tag, args in runs:
        obj = capture_ok(db, args + list(extra), "%s %s" % (name, tag))
        ck.eq(obj.get("end_reason"), end, "%s: %s ends with %s" % (name, tag, end))
        ck.eq(obj.get("drops_total"), 0, "%s: %s drops nothing" % (name, tag))
        got = dpdktest.content(db, obj["session_id"], tmp, "%s-%s" % (name, tag.split()[-1]))
        d = dpdktest.diff(want, got)
        ck.ok(not d, "%s: %s stores what the pcap backend stores (%d packets, %d bytes, %d "
              "flows, same flows --json, same exported pcap bytes)" %
              (name, tag, want["packets"], want["bytes"], want["flows"]), "; ".join(d))
    return want


def main(tmp):
    dpdktest.require_dpdk(tmp)
    db = os.path.join(tmp, "dpdk.db")
    for fx in ("mixed.pcap", "fragments.pcap"):
        with ck.section(fx):
            compare(tmp, db, prtest.fixture(fx), fx)

    with ck.section("3000 frames of up to 9018 bytes (segmented mbufs)"):
        jp = os.path.join(tmp, "jumbo.pcap")
        n = jumbo_pcap(jp)
        want = compare(tmp, db, jp, "jumbo")
        ck.eq(want["packets"], n, "jumbo: %d packets stored" % n)
        ck.eq(want["flows"], 12, "jumbo: 12 conversations, one flow each")

    with ck.section("a BPF filter and --count"):
        compare(tmp, db, prtest.fixture("mixed.pcap"), "mixed-tcp", ["-f", "tcp"])
        compare(tmp, db, prtest.fixture("mixed.pcap"), "mixed-c100", ["-c", "100"], end="count")

    with ck.section("nsec.pcap: microseconds"):
        path = prtest.fixture("nsec.pcap")
        ref = capture_ok(db, ["-r", path, "--backend", "pcap"], "nsec pcap")
        got = capture_ok(db, ["-r", path, "--backend", "dpdk", "--dpdk-args", dpdktest.eal()],
                         "nsec dpdk")
        a = prtest.query(db, ref["session_id"], ["--show-data"])
        b = prtest.query(db, got["session_id"], ["--show-data"])
        ck.eq(len(b), len(a), "nsec: as many packets as the pcap backend")
        ck.ok(any(x["ts"] % 1000 for x in a), "nsec: the file has sub-microsecond timestamps")
        ck.ok([(x["ts"] - x["ts"] % 1000, x["data"]) for x in a] ==
              [(x["ts"], x["data"]) for x in b],
              "nsec: dpdk timestamps are the file's cut to the microsecond, data the same")

    with ck.section("malformed.pcap: packets cut at capture"):
        path = prtest.fixture("malformed.pcap")
        ref = capture_ok(db, ["-r", path, "--backend", "pcap"], "malformed pcap")
        got = capture_ok(db, ["-r", path, "--backend", "dpdk", "--dpdk-args", dpdktest.eal()],
                 "malformed dpdk")
        a = prtest.query(db, ref["session_id"], ["--show-data"])
        b = prtest.query(db, got["session_id"], ["--show-data"])
        ck.ok(any(x["cap_len"] < x["wire_len"] for x in a), "malformed: the file has cut packets")
        ck.ok([(x["ts"], x["cap_len"], x["data"]) for x in a] ==
              [(x["ts"], x["cap_len"], x["data"]) for x in b],
              "malformed: dpdk stores the same %d packets (time, captured bytes)" % len(a))
        ck.ok(all(x["wire_len"] == x["cap_len"] for x in b),
              "malformed: dpdk's wire lengths are the captured lengths")

    with ck.section("two files, two queues, two workers"):
        fa, fb = prtest.fixture("mixed.pcap"), prtest.fixture("fragments.pcap")
        parts = [dpdktest.content(db, capture_ok(db, ["-r", f, "--backend", "pcap"], f)
                                  ["session_id"], tmp, "part%d" % i)
                 for i, f in enumerate((fa, fb))]
        obj = capture_ok(db, ["-i", "net_pcap0", "--backend", "dpdk", "--workers", "2",
                              "--dpdk-args", dpdktest.eal("--vdev", "net_pcap0,rx_pcap=%s,"
                                                          "rx_pcap=%s" % (fa, fb))], "2 files")
        ck.eq(obj.get("end_reason"), "eof", "2 files: ends at the end of both files")
        ck.eq(obj.get("workers"), 2, "2 files: two workers")
        got = dpdktest.content(db, obj["session_id"], tmp, "two")
        ck.eq(got["packets"], parts[0]["packets"] + parts[1]["packets"],
              "2 files: the packets of both files")
        ck.ok(sorted(got["rows"]) == sorted(parts[0]["rows"] + parts[1]["rows"]),
              "2 files: the same packets (time, lengths, bytes) as each file alone")
        ck.ok(got["flow_list"] == sorted(parts[0]["flow_list"] + parts[1]["flow_list"]),
              "2 files: the flows of each file alone, together")

    with ck.section("a raw-IP file is refused"):
        rp = os.path.join(tmp, "raw.pcap")
        fr = prtest.gen.udp_frame("02:00:00:00:00:01", "02:00:00:00:00:02", "10.0.0.1", 1,
                                  "10.0.0.2", 2, b"raw ip")
        prtest.gen.write_simple_pcap(rp, [(1700000000 * 10**9, fr[14:])], linktype=101)
        r = prtest.run(["capture", "-r", rp, "--backend", "dpdk", "--dpdk-args",
                        dpdktest.eal(), "--json"], db=db)
        ck.rc(r, 1, "raw-IP file through dpdk")
        msg = r.json().get("message", "") if r.out.strip() else ""
        ck.ok("link type RAW" in msg and "--backend pcap" in msg,
              "raw-IP file: the message names the link type and the way out", msg)


with prtest.tmpdir() as tmpd:
    try:
        main(tmpd)
    except TestError as e:
        ck.error("dpdk over net_pcap", e)
ck.finish()
