#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A generator of tunnelled traffic: one DNS query and its answer inside
each tunnel packetrecorder opens (VXLAN, GRE with a key, ERSPAN type II,
GENEVE with options, GTP-U, Teredo, 6in4, IP-in-IP), each between its own
inner addresses, and decoys that must stay on their outer header (UDP to
port 4789 without the VXLAN I flag, a GTP echo request, ARP inside VXLAN).
The expectations are computed here from the bytes written.

  tungen.py OUT.pcap       writes the capture, prints the expectations as JSON

Python 3 standard library only."""
import ipaddress
import json
import struct
import sys

import l7gen

OUT_A, OUT_B = bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2])
MACS = b"\x02\0\0\0\0\x12\x02\0\0\0\0\x11"


def ipv4(src, dst, proto, body):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 7, 0x4000, 64, proto, 0,
                     src, dst)
    return ip[:10] + struct.pack("!H", l7gen.csum(ip)) + ip[12:] + body


def ipv6(src, dst, nh, body):
    return struct.pack("!IHBB16s16s", 6 << 28, len(body), nh, 64, src, dst) + body


def eth(ethertype, body):
    return MACS + struct.pack("!H", ethertype) + body


def udp(src, dst, sp, dp, data):
    return l7gen.udp_datagram(src, dst, sp, dp, data)


def dns(ident, name, answer=None):
    flags = 0x8180 if answer else 0x0100
    m = struct.pack("!HHHHHH", ident, flags, 1, 1 if answer else 0, 0, 0)
    m += l7gen.dns_name(name) + struct.pack("!HH", 1, 1)
    if answer:
        m += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(answer)
    return m


def inner_ip(v6, src, dst, sp, dp, data):
    """An inner IPv4 or IPv6 packet carrying UDP."""
    seg = udp(src, dst, sp, dp, data)
    return ipv6(src, dst, 17, seg) if v6 else ipv4(src, dst, 17, seg)


def outer_udp(src, dst, sp, dp, payload):
    return eth(0x0800, ipv4(src, dst, 17, udp(src, dst, sp, dp, payload)))


def outer_ip(src, dst, proto, payload):
    return eth(0x0800, ipv4(src, dst, proto, payload))


# Each tunnel: how a packet goes in it, in either direction (0: a to b).
def vxlan(inner, d, vni=4242):
    hdr = struct.pack("!II", 0x08000000, vni << 8)
    sp = 49152 + d  # the outer source port differs by direction, as on real VTEPs
    return outer_udp(*((OUT_A, OUT_B) if d == 0 else (OUT_B, OUT_A)), sp, 4789,
                     hdr + eth(0x0800, inner))


def gre_key(inner, d):
    hdr = struct.pack("!HHI", 0x2000, 0x0800, 0x1234)
    return outer_ip(*((OUT_A, OUT_B) if d == 0 else (OUT_B, OUT_A)), 47, hdr + inner)


def erspan2(inner, d):
    hdr = struct.pack("!HHI", 0x1000, 0x88BE, d + 1)  # S: ERSPAN type II
    hdr += struct.pack("!HHI", 0x1000, 77, 0)  # version 1, session 77
    return outer_ip(*((OUT_A, OUT_B) if d == 0 else (OUT_B, OUT_A)), 47,
                    hdr + eth(0x0800, inner))


def geneve(inner, d):
    hdr = struct.pack("!BBHI", 1, 0, 0x6558, 99 << 8) + b"\x01\x02\x03\x04"
    return outer_udp(*((OUT_A, OUT_B) if d == 0 else (OUT_B, OUT_A)), 40000 + d, 6081,
                     hdr + eth(0x0800, inner))


def gtpu(inner, d):
    teid = 0xDEAD0001 + d  # one TEID per direction
    hdr = struct.pack("!BBHI", 0x30, 0xFF, len(inner), teid)
    return outer_udp(*((OUT_A, OUT_B) if d == 0 else (OUT_B, OUT_A)), 2152, 2152, hdr + inner)


def teredo(inner, d):
    if d == 0:
        return outer_udp(OUT_A, OUT_B, 40001, 3544, inner)
    origin = struct.pack("!HHI", 0, 40001 ^ 0xFFFF, 0x0A090001 ^ 0xFFFFFFFF)
    return outer_udp(OUT_B, OUT_A, 3544, 40001, origin + inner)


def six_in_four(inner, d):
    return outer_ip(*((OUT_A, OUT_B) if d == 0 else (OUT_B, OUT_A)), 41, inner)


def ip_in_ip(inner, d):
    return outer_ip(*((OUT_A, OUT_B) if d == 0 else (OUT_B, OUT_A)), 4, inner)


TUNNELS = [
    # name, builder, inner IPv6, expected id (the query's), outer UDP ports of the query
    ("vxlan", vxlan, False, 4242, (49152, 4789)),
    ("gre", gre_key, False, 0x1234, None),
    ("erspan", erspan2, False, 77, None),
    ("geneve", geneve, False, 99, (40000, 6081)),
    ("gtp-u", gtpu, False, 0xDEAD0001, (2152, 2152)),
    ("teredo", teredo, True, None, (40001, 3544)),
    ("ipv6-in-ip", six_in_four, True, None, None),
    ("ipip", ip_in_ip, False, None, None),
]


def build():
    frames, want = [], {"tunnels": [], "decoys": []}
    for i, (name, wrap, v6, tid, ports) in enumerate(TUNNELS):
        if v6:
            c = ipaddress.IPv6Address("2001:db8:%x::1" % (i + 1)).packed
            s = ipaddress.IPv6Address("2001:db8:%x::2" % (i + 1)).packed
        else:
            c, s = bytes([172, 16, i + 1, 1]), bytes([172, 16, i + 1, 2])
        cport = 5000 + i
        qname = "t%d.%s.tungen.example" % (i, name.replace("-", ""))
        q = inner_ip(v6, c, s, cport, 53, dns(0x100 + i, qname))
        r = inner_ip(v6, s, c, 53, cport, dns(0x100 + i, qname, [192, 0, 2, i + 1]))
        frames += [wrap(q, 0), wrap(r, 1)]
        want["tunnels"].append({
            "type": name, "id": tid, "client": str(ipaddress.ip_address(c)),
            "server": str(ipaddress.ip_address(s)), "client_port": cport, "qname": qname,
            "outer_src": str(ipaddress.ip_address(OUT_A)),
            "outer_dst": str(ipaddress.ip_address(OUT_B)),
            "outer_ports": list(ports) if ports else None,
        })
    # Decoys: UDP to 4789 that is not VXLAN (no I flag), a GTP echo request,
    # and ARP inside VXLAN (not IP: the packet stays on the outer flow).
    frames.append(outer_udp(OUT_A, OUT_B, 33333, 4789, b"\0" * 8 + b"not vxlan"))
    want["decoys"].append({"sport": 33333, "dport": 4789})
    frames.append(outer_udp(OUT_A, OUT_B, 2152, 2152, struct.pack("!BBHIHBB", 0x32, 1, 4, 0,
                                                                   1, 0, 0)))
    arp = eth(0x0806, struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, b"\2" * 6,
                                  bytes([172, 31, 0, 1]), b"\0" * 6, bytes([172, 31, 0, 2])))
    frames.append(outer_udp(OUT_A, OUT_B, 33334, 4789, struct.pack("!II", 0x08000000, 5 << 8)
                            + arp))
    want["decoys"].append({"sport": 33334, "dport": 4789})
    want["gtp_echo_packets"] = 1
    want["packets"] = len(frames)
    return frames, want


def fragmented():
    """A DNS answer of 40 records in three inner IPv4 fragments inside
    VXLAN (VNI 777), with no query before it: the first packet of the
    inner flow the parsers read is the datagram rebuilt from the
    fragments. Returns the frames and the expectations."""
    c, s = bytes([172, 16, 50, 1]), bytes([172, 16, 50, 2])
    qname = "frag.vxlan.tungen.example"
    m = struct.pack("!HHHHHH", 0x777, 0x8180, 1, 40, 0, 0) + l7gen.dns_name(qname)
    m += struct.pack("!HH", 1, 1)
    for k in range(40):
        m += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, k + 1])
    seg = udp(s, c, 53, 6000, m)
    frames = [vxlan(fr[14:], 1, vni=777) for fr in l7gen.fragments(s, c, 17, seg, 0x4321, 304,
                                                                    (0, 1, 2))]
    return frames, {"server": str(ipaddress.ip_address(s)),
                    "client": str(ipaddress.ip_address(c)), "client_port": 6000,
                    "qname": qname, "id": 777, "outer_src": str(ipaddress.ip_address(OUT_B)),
                    "outer_dst": str(ipaddress.ip_address(OUT_A))}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tungen.py OUT.pcap")
    frames, want = build()
    l7gen.write_pcap(sys.argv[1], frames)
    print(json.dumps(want))


if __name__ == "__main__":
    main()
