#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""BPF-filtered export skips blocks through the block index, and loses nothing.

A generated capture is stored (segment and db mode); for filters that look only
at addresses, ports and protocols, export --filter must give exactly the packets
`tcpdump -r FULL -w - FILTER` gives on the full export, and must skip blocks that
hold only flows the filter cannot match (export --json: blocks_skipped). Filters
with anything else (not, vlan, len, brackets) must read every block and still
give tcpdump's packets."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import RAW_KEY  # noqa: E402

ck = prtest.Checks("test_export_filter_skip")

SIMPLE = ("host 10.1.0.10", "tcp port 80", "udp and port 53", "icmp", "ip6",
          "src net 10.1.0.0/16 and dst port 443", "(tcp or udp) and host 192.0.2.80",
          "ip proto 17 and portrange 50-60")
OTHER = ("not port 80", "vlan", "greater 200", "tcp[13] & 2 != 0", "not (tcp or udp)")


def packets(path):
    """(time in us, bytes): tcpdump writes microsecond pcap, our export may be ns."""
    return [(p.ts_ns // 1000, p.data) for p in prtest.read_capture(path).packets]


def main(tmp):
    if not prtest.have("tcpdump"):
        prtest.skip("tcpdump is not installed")
    src = os.path.join(tmp, "g.pcap")
    r = prtest.run(["generate", "--output", src, "--packets", "30000", "--seed", "9"], key=None)
    if r.rc != 0:
        prtest.fail(r.describe())
    skipped_any = False
    for mode in ("segments", "db"):
        db = os.path.join(tmp, "f-%s.db" % mode)
        obj, _ = prtest.capture_file(db, src, key=RAW_KEY,
                                     extra=("--store-mode", mode, "--config", CONF))
        full = os.path.join(tmp, "full-%s.pcap" % mode)
        r = prtest.run(["export", "--session", str(obj["session_id"]), "--output", full],
                       db=db, key=RAW_KEY, timeout=120)
        ck.rc(r, 0, "%s: full export" % mode)
        for flt in SIMPLE + OTHER:
            out = os.path.join(tmp, "f.pcap")
            if os.path.exists(out):
                os.unlink(out)
            r = prtest.run(["export", "--session", str(obj["session_id"]), "--output", out,
                            "--filter", flt, "--json"], db=db, key=RAW_KEY, timeout=120)
            if r.rc != 0:
                ck.rc(r, 0, "%s: export --filter '%s'" % (mode, flt))
                continue
            j = r.json()
            ref = os.path.join(tmp, "ref.pcap")
            p = subprocess.run(["tcpdump", "-r", full, "-w", ref, flt],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if p.returncode != 0:
                ck.ok(False, "tcpdump '%s'" % flt, p.stderr.decode())
                continue
            want = packets(ref)
            got = packets(out) if os.path.getsize(out) > 24 else []
            ck.ok(got == want, "%s: '%s': tcpdump's %d packets, in order (skipped %d of %d "
                  "blocks)" % (mode, flt, len(want), j["blocks_skipped"],
                               j["blocks_read"] + j["blocks_skipped"]),
                  "got %d packets" % len(got))
            if flt in OTHER:
                ck.eq(j["blocks_skipped"], 0, "%s: '%s' reads every block" % (mode, flt))
            elif j["blocks_skipped"]:
                skipped_any = True
            # Each traffic class has blocks of its own (lanes): a filter on one small
            # service reads its blocks only (DNS and ICMP are a few % of this mix).
            if flt in ("udp and port 53", "icmp"):
                total = j["blocks_read"] + j["blocks_skipped"]
                ck.ok(j["blocks_read"] * 4 < total, "%s: '%s' reads under a quarter of the "
                      "blocks (%d of %d)" % (mode, flt, j["blocks_read"], total))
    ck.ok(skipped_any, "simple filters skipped blocks through the index")


CONF = None
with prtest.tmpdir() as tmpd:
    # Small blocks, so that blocks hold few flows and the index has something to skip.
    CONF = os.path.join(tmpd, "small-blocks.conf")
    with open(CONF, "w") as fh:
        fh.write("block_max_packets = 16\n")
    main(tmpd)
ck.finish()
