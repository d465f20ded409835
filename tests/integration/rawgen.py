#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A test generator: sends an exact number of Ethernet frames with known
bytes out of an interface through an AF_PACKET socket (root), and can
write the same frames to a pcap file so that a test compares what was
stored with what was sent, byte for byte.

Frames are UDP (or TCP without a handshake) over IPv4 or IPv6, spread over
--flows flows (source port = --sport + flow index) so that a multi-queue
veth hashes them onto several rx queues. Each payload starts with
"PRGEN seq=NNNNNNNN flow=FFFF " and is padded with a byte pattern derived
from the sequence number up to --size bytes of frame.

  rawgen.py IFACE --count N [--size 64..9000] [--flows F] [--proto udp|tcp]
            [--v6] [--src A] [--dst A] [--sport P] [--dport P]
            [--src-mac M] [--dst-mac M] [--pcap FILE] [--rate PPS]
Prints one JSON line: {"sent": N, "bytes": B}. Exit 0 when every frame
went out (a send that fails with ENOBUFS is retried, never skipped)."""
import argparse
import errno
import ipaddress
import json
import socket
import struct
import sys
import time

ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def frame(a, seq):
    flow = seq % a.flows
    sport = (a.sport + flow) & 0xFFFF
    head = b"PRGEN seq=%08d flow=%04d " % (seq, flow)
    l2 = 14
    l3 = 40 if a.v6 else 20
    l4 = 20 if a.proto == "tcp" else 8
    plen = max(a.size - l2 - l3 - l4, len(head))
    fill = bytes(((seq + i) * 7 + 13) & 0xFF for i in range(plen - len(head)))
    payload = head + fill
    src, dst = a.src_ip.packed, a.dst_ip.packed
    proto = 6 if a.proto == "tcp" else 17
    if a.proto == "tcp":
        hdr = struct.pack("!HHIIBBHHH", sport, a.dport, seq, 0, 5 << 4, 0x18, 65535, 0, 0)
    else:
        hdr = struct.pack("!HHHH", sport, a.dport, 8 + len(payload), 0)
    seg = hdr + payload
    if a.v6:
        pseudo = src + dst + struct.pack("!I3xB", len(seg), proto)
    else:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
    c = csum(pseudo + seg) or 0xFFFF
    off = 16 if a.proto == "tcp" else 6
    seg = seg[:off] + struct.pack("!H", c) + seg[off + 2:]
    if a.v6:
        ip = struct.pack("!IHBB", 6 << 28, len(seg), proto, 64) + src + dst
        etype = ETH_P_IPV6
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), seq & 0xFFFF, 0x4000, 64,
                         proto, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        etype = ETH_P_IP
    return a.dst_mac_b + a.src_mac_b + struct.pack("!H", etype) + ip + seg


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))
        t = 1_700_000_000 * 10**9
        for i, fr in enumerate(frames):
            ts = t + i * 1000
            f.write(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(fr), len(fr)))
            f.write(fr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("iface")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--flows", type=int, default=1)
    p.add_argument("--proto", choices=("udp", "tcp"), default="udp")
    p.add_argument("--v6", action="store_true")
    p.add_argument("--src")
    p.add_argument("--dst")
    p.add_argument("--sport", type=int, default=41000)
    p.add_argument("--dport", type=int, default=42000)
    p.add_argument("--src-mac", default="02:00:00:00:00:01")
    p.add_argument("--dst-mac", default="02:00:00:00:00:02")
    p.add_argument("--seq0", type=int, default=0, help="first sequence number")
    p.add_argument("--pcap", help="also write the frames to this pcap file")
    p.add_argument("--rate", type=float, default=0, help="frames per second (0 = at once)")
    a = p.parse_args()
    if not 60 <= a.size <= 9000 or a.count < 0 or a.flows < 1:
        p.error("--size 60..9000, --count >= 0, --flows >= 1")
    a.src_ip = ipaddress.ip_address(a.src or ("fd00::1" if a.v6 else "10.77.0.1"))
    a.dst_ip = ipaddress.ip_address(a.dst or ("fd00::2" if a.v6 else "10.77.0.2"))
    a.src_mac_b, a.dst_mac_b = mac(a.src_mac), mac(a.dst_mac)
    frames = [frame(a, a.seq0 + i) for i in range(a.count)]
    if a.pcap:
        write_pcap(a.pcap, frames)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((a.iface, 0))
    sent = nbytes = 0
    gap = 1.0 / a.rate if a.rate else 0
    t0 = time.monotonic()
    for i, fr in enumerate(frames):
        if gap:
            due = t0 + i * gap
            while time.monotonic() < due:
                pass
        while True:
            try:
                s.send(fr)
                break
            except OSError as e:
                if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    raise
                time.sleep(0.0005)
        sent += 1
        nbytes += len(fr)
    print(json.dumps({"sent": sent, "bytes": nbytes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
