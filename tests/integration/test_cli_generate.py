#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`generate` and `demo`, the embedded traffic source and the README's main
job. generate: the same seed gives the same bytes, another seed other bytes;
every IPv4 header, ICMP, TCP and UDP checksum (pseudo-header included, IPv6
too) is right, so replayed packets are accepted by real hosts; the JSON
summary counts what the file holds. demo: runs end to end in a fresh
directory and leaves an encrypted store with one completed session, its key
file and a pcapng export holding every generated packet byte for byte."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402

ck = prtest.Checks("test_cli_generate")
prtest.pr_bin()


def ones_sum(b, s=0):
    if len(b) & 1:
        b = b + b"\0"
    for (w,) in struct.iter_unpack("!H", b):
        s += w
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def check_frame(d):
    """Problems with one Ethernet frame's checksums, as a list of strings."""
    bad = []
    off, et = 14, struct.unpack("!H", d[12:14])[0]
    if et == 0x8100:
        off, et = 18, struct.unpack("!H", d[16:18])[0]
    if et == 0x0800:
        ihl = (d[off] & 15) * 4
        ip = d[off:off + ihl]
        tot = struct.unpack("!H", d[off + 2:off + 4])[0]
        if ones_sum(ip) != 0xffff:
            bad.append("ipv4 header")
        proto, l4 = d[off + 9], d[off + ihl:off + tot]
        pseudo = d[off + 12:off + 20] + struct.pack("!BBH", 0, proto, len(l4))
    elif et == 0x86dd:
        proto, plen = d[off + 6], struct.unpack("!H", d[off + 4:off + 6])[0]
        l4 = d[off + 40:off + 40 + plen]
        pseudo = d[off + 8:off + 40] + struct.pack("!IxxxB", len(l4), proto)
    else:
        return bad  # ARP
    if proto in (6, 17):
        if proto == 17 and l4[6:8] == b"\0\0":
            bad.append("udp checksum 0")
        elif ones_sum(l4, ones_sum(pseudo)) != 0xffff:
            bad.append("tcp" if proto == 6 else "udp")
    elif proto == 1 and ones_sum(l4) != 0xffff:
        bad.append("icmp")
    return bad


with prtest.tmpdir() as tmp:
    with ck.section("generate"):
        a, b, c = (os.path.join(tmp, n) for n in ("a.pcap", "b.pcap", "c.pcap"))
        ja, _ = prtest.run_json(["generate", "--output", a, "--packets", "4000", "--seed", "7"],
                                key=None)
        prtest.run_json(["generate", "--output", b, "--packets", "4000", "--seed", "7"], key=None)
        prtest.run_json(["generate", "--output", c, "--packets", "4000", "--seed", "8"], key=None)
        ck.eq(prtest.sha256_file(a), prtest.sha256_file(b), "the same seed gives the same file")
        ck.ok(prtest.sha256_file(a) != prtest.sha256_file(c), "another seed gives another file")
        cap = prtest.read_capture(a)
        ck.eq(len(cap.packets), ja["packets"], "JSON packets = packets in the file")
        ck.eq(sum(p.wire_len for p in cap.packets), ja["bytes"], "JSON bytes = bytes in the file")
        ck.ok(ja["packets"] >= 4000, "at least --packets packets")
        problems = {}
        for i, p in enumerate(cap.packets):
            for what in check_frame(p.data):
                problems.setdefault(what, []).append(i)
        ck.eq({k: len(v) for k, v in problems.items()}, {},
              "every IPv4/ICMP/TCP/UDP checksum is right",
              "first bad frames: %r" % {k: v[:5] for k, v in problems.items()})
        kinds = {p.data[12:14] for p in cap.packets}
        ck.ok({b"\x08\x00", b"\x86\xdd", b"\x08\x06", b"\x81\x00"} <= kinds,
              "mixed traffic: IPv4, IPv6, ARP and VLAN frames", repr(kinds))

    with ck.section("demo"):
        d = os.path.join(tmp, "demo")
        r = prtest.run(["demo", "--dir", d, "--packets", "3000"], key=None, timeout=120)
        ck.rc(r, 0, "demo")
        for n in ("demo.pcap", "demo.db", "demo.key", "demo-export.pcapng"):
            ck.ok(os.path.exists(os.path.join(d, n)), "demo leaves " + n)
        for part in ("== 3. sessions", "== 4. the first 15 flows", "== 5. export"):
            ck.ok(part in r.out, "demo shows " + part, r.describe())
        with open(os.path.join(d, "demo.key")) as f:
            key = f.read().strip()
        ck.eq(len(key), 64, "the demo key is 64 hex digits")
        s = prtest.sessions(os.path.join(d, "demo.db"), key=key)
        ck.eq([(x["status"], x["name"]) for x in s], [("completed", "demo")],
              "one completed session named demo")
        r = prtest.run(["sessions"], db=os.path.join(d, "demo.db"), key=None)
        ck.rc(r, prtest.EXIT_KEY, "the demo store is encrypted (no key: exit 2)")
        src = prtest.read_capture(os.path.join(d, "demo.pcap"))
        exp = prtest.read_capture(os.path.join(d, "demo-export.pcapng"))
        ck.eq(s[0]["packets"], len(src.packets), "every generated packet is stored")
        ck.ok([p.key() for p in src.packets] == [p.key() for p in exp.packets],
              "the export holds them byte for byte with their timestamps")

ck.finish()
