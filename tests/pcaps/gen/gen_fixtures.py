#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generator of the fixture captures in tests/pcaps/ and their manifest.

Every fixture is built packet by packet from a small traffic model
(conversations with real TCP sequence numbers, DNS messages, ICMP echo,
ARP, VLAN/QinQ tags, IPv6, fragments, deliberately broken headers) and
written byte by byte with struct: classic pcap (microsecond or nanosecond
magic) or pcapng. The same model yields manifest.json: per fixture the
packet and byte counts, first/last timestamps, the interfaces, and the
flows packetrecorder must report (docs/CLI.md, `flows --json`), computed
from what the generator sent, never from running our binaries.

Output is deterministic (fixed seeds, fixed clock): running it twice gives
identical bytes. `--check` regenerates into a temporary directory and
compares with the committed files (tests/integration/test_cli_fixtures.py).
The integration tests import this module to build large captures too.

Usage: gen_fixtures.py [--out DIR] [--check]
Python 3 standard library only.
"""
import argparse
import hashlib
import ipaddress
import json
import os
import random
import struct
import sys
import tempfile

MARKER = b"PRTEST-PAYLOAD-MARKER"
MAX_FIXTURE_SIZE = 64 * 1024

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL2 = 276

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD
ETH_8021Q = 0x8100
ETH_8021AD = 0x88A8

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_IPV6_FRAG = 44
PROTO_ICMPV6 = 58

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# 2023-11-14T22:13:20Z: a fixed clock for every fixture.
T0_NS = 1700000000 * 1000000000

# Packet classes (what pr_decode should flag), used for the manifest counts.
CLS_OK = "ok"
CLS_TRUNCATED = "truncated"  # the captured bytes end inside a header
CLS_MALFORMED = "malformed"  # an impossible header field
CLS_NON_IP = "non_ip"  # no IP layer (ARP, other ethertypes)

# packet_flow values in the manifest besides a flow index
PF_NONE = -1  # no flow: flow_id 0
PF_ANY = -2  # a broken packet: flow_id 0 or a flow made of such packets only


# ---------------------------------------------------------------- headers


def inet_csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip(s):
    return ipaddress.ip_address(s)


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ipv4_packet(src, dst, proto, payload, ident, ttl=64, df=True, frag_off=0,
                more=False, ihl=5, total_len=None):
    """An IPv4 packet. ihl and total_len can be forced to broken values."""
    flags = (0x4000 if df else 0) | (0x2000 if more else 0) | (frag_off // 8)
    total = 20 + len(payload) if total_len is None else total_len
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, ident, flags, ttl,
                      proto, 0, ip(src).packed, ip(dst).packed)
    hdr = hdr[:10] + struct.pack("!H", inet_csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6_packet(src, dst, nh, payload, hlim=64, flow_label=0):
    hdr = struct.pack("!IHBB16s16s", (6 << 28) | flow_label, len(payload), nh,
                      hlim, ip(src).packed, ip(dst).packed)
    return hdr + payload


def pseudo_header(src, dst, proto, length):
    a, b = ip(src), ip(dst)
    if a.version == 4:
        return struct.pack("!4s4sBBH", a.packed, b.packed, 0, proto, length)
    return struct.pack("!16s16sI3xB", a.packed, b.packed, length, proto)


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b"",
                options=b"", window=64240, doff=None):
    if len(options) % 4:
        options += b"\x01" * (4 - len(options) % 4)
    off = (20 + len(options)) // 4 if doff is None else doff
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                      ack & 0xFFFFFFFF, off << 4, flags, window, 0, 0) + options
    seg = hdr + payload
    c = inet_csum(pseudo_header(src, dst, PROTO_TCP, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp_datagram(src, dst, sport, dport, payload, length=None):
    ulen = 8 + len(payload) if length is None else length
    seg = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = inet_csum(pseudo_header(src, dst, PROTO_UDP, len(seg)) + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp_echo(icmp_type, ident, seq, payload):
    msg = struct.pack("!BBHHH", icmp_type, 0, 0, ident, seq) + payload
    return msg[:2] + struct.pack("!H", inet_csum(msg)) + msg[4:]


def icmpv6_echo(src, dst, icmp_type, ident, seq, payload):
    msg = struct.pack("!BBHHH", icmp_type, 0, 0, ident, seq) + payload
    c = inet_csum(pseudo_header(src, dst, PROTO_ICMPV6, len(msg)) + msg)
    return msg[:2] + struct.pack("!H", c) + msg[4:]


def arp_packet(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, op, mac(sha),
                       ip(spa).packed, mac(tha), ip(tpa).packed)


def dns_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_query(txid, name):
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + dns_name(name) + \
        struct.pack("!HH", 1, 1)


def dns_response(txid, name, addr):
    q = dns_name(name) + struct.pack("!HH", 1, 1)
    ans = struct.pack("!HHHIH4s", 0xC00C, 1, 1, 300, 4, ip(addr).packed)
    return struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0) + q + ans


def text_payload(rng, tag, size):
    """Printable payload of exactly size bytes that carries the marker."""
    head = b"%s %s " % (MARKER, tag.encode())
    alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789"
    body = bytes(rng.choice(alphabet) for _ in range(max(0, size - len(head))))
    return (head + body)[:size]


# ------------------------------------------------------------------ links


class EthLink:
    """Ethernet between two MACs, optionally with VLAN tags (outermost first)."""
    linktype = LINKTYPE_ETHERNET

    def __init__(self, mac_a, mac_b, vlans=(), pad=True):
        self.mac_a, self.mac_b = mac(mac_a), mac(mac_b)
        self.vlans = list(vlans)  # [(tpid, vid)]
        self.pad = pad

    @property
    def vlan(self):
        return self.vlans[0][1] if self.vlans else 0

    def frame(self, from_a, ethertype, l3, dst_override=None):
        dst, src = (self.mac_b, self.mac_a) if from_a else (self.mac_a, self.mac_b)
        if dst_override is not None:
            dst = dst_override
        hdr = dst + src
        for tpid, vid in self.vlans:
            hdr += struct.pack("!HH", tpid, vid)
        f = hdr + struct.pack("!H", ethertype) + l3
        if self.pad and len(f) < 60:
            f += b"\0" * (60 - len(f))
        return f


class RawLink:
    """LINKTYPE_RAW: the frame is the IP packet."""
    linktype = LINKTYPE_RAW
    vlan = 0

    def frame(self, from_a, ethertype, l3):
        return l3


class Sll2Link:
    """LINKTYPE_LINUX_SLL2: 20-byte cooked header as `tcpdump -i any` writes it."""
    linktype = LINKTYPE_LINUX_SLL2
    vlan = 0

    def __init__(self, ifindex, mac_a, mac_b):
        self.ifindex = ifindex
        self.mac_a, self.mac_b = mac(mac_a), mac(mac_b)

    def frame(self, from_a, ethertype, l3):
        # side a is the local host: its packets are outgoing (4), b's are to us (0)
        pkttype, addr = (4, self.mac_a) if from_a else (0, self.mac_b)
        hdr = struct.pack("!HHIHBB8s", ethertype, 0, self.ifindex, 1, pkttype, 6, addr)
        return hdr + l3


# ------------------------------------------------------------------ model


class Flow:
    """One expected flow record (docs/CLI.md `flows --json`)."""

    def __init__(self, index, ip_proto, src_ip, src_port, dst_ip, dst_port, vlan):
        self.index = index
        self.ip_proto = ip_proto
        self.src_ip, self.dst_ip = str(ip(src_ip)), str(ip(dst_ip))
        self.src_port, self.dst_port = src_port, dst_port
        self.vlan = vlan
        self.packets = [0, 0]
        self.bytes = [0, 0]
        self.first_ts = None
        self.last_ts = None
        self.tcp_state = "none"
        self.end_reason = "shutdown"

    def account(self, ts, wire_len, to_server):
        d = 0 if to_server else 1
        self.packets[d] += 1
        self.bytes[d] += wire_len
        self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
        self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)

    def to_json(self):
        return {
            "ip_proto": self.ip_proto,
            "src_ip": self.src_ip, "src_port": self.src_port,
            "dst_ip": self.dst_ip, "dst_port": self.dst_port,
            "vlan": self.vlan,
            "first_ts": self.first_ts, "last_ts": self.last_ts,
            "packets": sum(self.packets), "bytes": sum(self.bytes),
            "packets_to_server": self.packets[0], "packets_to_client": self.packets[1],
            "bytes_to_server": self.bytes[0], "bytes_to_client": self.bytes[1],
            "tcp_state": self.tcp_state, "end_reason": self.end_reason,
        }


class Packet:
    __slots__ = ("ts", "iface", "data", "wire_len", "flow", "cls", "tags",
                 "seq", "comment")

    def __init__(self, ts, iface, data, wire_len, flow, cls, tags, seq, comment=None):
        self.ts, self.iface, self.data, self.wire_len = ts, iface, data, wire_len
        self.flow, self.cls, self.tags, self.seq = flow, cls, tags, seq
        self.comment = comment


class Trace:
    """Packets of one fixture plus the flows they make."""

    def __init__(self):
        self.packets = []
        self.flows = []
        self.ident = 0x1000

    def next_ident(self):
        self.ident = (self.ident + 7) & 0xFFFF
        return self.ident

    def new_flow(self, ip_proto, src_ip, src_port, dst_ip, dst_port, vlan=0):
        f = Flow(len(self.flows), ip_proto, src_ip, src_port, dst_ip, dst_port, vlan)
        self.flows.append(f)
        return f

    def add(self, ts, data, wire_len=None, iface=0, flow=None, to_server=True,
            cls=CLS_OK, tags=(), comment=None):
        """flow: a Flow, PF_NONE or PF_ANY."""
        wire = len(data) if wire_len is None else wire_len
        assert wire >= len(data)
        if isinstance(flow, Flow):
            flow.account(ts, wire, to_server)
        elif flow is None:
            flow = PF_NONE
        self.packets.append(Packet(ts, iface, data, wire, flow, cls, set(tags),
                                   len(self.packets), comment))

    def finish(self):
        """Capture order = time order (stable for equal times)."""
        self.packets.sort(key=lambda p: (p.ts, p.seq))
        return self


def sec(s):
    """Seconds (float) after T0 to ns, rounded to whole microseconds."""
    return T0_NS + int(round(s * 1e6)) * 1000


def NS(s):
    """A duration in seconds (float) to ns, rounded to whole microseconds."""
    return int(round(s * 1e6)) * 1000


class Tcp:
    """A TCP connection between side a (the opener) and side b."""

    def __init__(self, trace, link, a_ip, a_port, b_ip, b_port, isn_a, isn_b,
                 iface=0, new_flow=True):
        self.trace, self.link, self.iface = trace, link, iface
        self.a = (a_ip, a_port)
        self.b = (b_ip, b_port)
        self.v6 = ip(a_ip).version == 6
        self.seq = {True: isn_a, False: isn_b}
        self.flow = trace.new_flow(PROTO_TCP, a_ip, a_port, b_ip, b_port, link.vlan) \
            if new_flow else None

    def tags(self, l3):
        t = {"tcp"}
        if 80 in (self.a[1], self.b[1]):
            t.add("tcp80")
        return t

    def send(self, t, from_a, flags, payload=b"", options=b""):
        (sip, sport), (dip, dport) = (self.a, self.b) if from_a else (self.b, self.a)
        seq = self.seq[from_a]
        ack = self.seq[not from_a] if flags & ACK else 0
        seg = tcp_segment(sip, dip, sport, dport, seq, ack, flags, payload, options)
        if self.v6:
            l3 = ipv6_packet(sip, dip, PROTO_TCP, seg)
            et = ETH_IPV6
        else:
            l3 = ipv4_packet(sip, dip, PROTO_TCP, seg, self.trace.next_ident())
            et = ETH_IPV4
        adv = len(payload) + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
        self.seq[from_a] = (seq + adv) & 0xFFFFFFFF
        frame = self.link.frame(from_a, et, l3)
        tags = {"tcp"} if getattr(self.link, "vlans", None) else self.tags(l3)
        self.trace.add(t, frame, iface=self.iface, flow=self.flow, to_server=from_a, tags=tags)
        return frame

    def handshake(self, t, gap=0.0005):
        """SYN, SYN/ACK, ACK from time t (ns), gap seconds apart."""
        mss = b"\x02\x04\x05\xb4"
        self.send(t, True, SYN, options=mss)
        self.send(t + NS(gap), False, SYN | ACK, options=mss)
        self.send(t + 2 * NS(gap), True, ACK)
        return t + 2 * NS(gap)

    def close(self, t, gap=0.0005, a_first=True):
        """FIN, FIN, ACK from time t (ns)."""
        self.send(t, a_first, FIN | ACK)
        self.send(t + NS(gap), not a_first, FIN | ACK)
        self.send(t + 2 * NS(gap), a_first, ACK)
        return t + 2 * NS(gap)


def udp_send(trace, link, t, src, dst, payload, flow, to_server, iface=0, tags=()):
    (sip, sport), (dip, dport) = src, dst
    seg = udp_datagram(sip, dip, sport, dport, payload)
    if ip(sip).version == 6:
        l3, et = ipv6_packet(sip, dip, PROTO_UDP, seg), ETH_IPV6
    else:
        l3, et = ipv4_packet(sip, dip, PROTO_UDP, seg, trace.next_ident()), ETH_IPV4
    t_ = {"udp"} | set(tags)
    if 53 in (sport, dport) and not getattr(link, "vlans", None):
        t_.add("udp53")
    trace.add(t, link.frame(to_server, et, l3), iface=iface, flow=flow,
              to_server=to_server, tags=t_)


def icmp_echo_pair(trace, link, t, a_ip, b_ip, ident, seqs, gap, rng, iface=0):
    """Echo request/reply pairs a -> b. One flow; ports per pr_record.h:
    src_port = type << 8 | code of the first packet, dst_port = identifier."""
    v6 = ip(a_ip).version == 6
    req_type = 128 if v6 else 8
    flow = trace.new_flow(PROTO_ICMPV6 if v6 else PROTO_ICMP, a_ip, req_type << 8,
                          b_ip, ident, link.vlan)
    for i, s in enumerate(seqs):
        data = text_payload(rng, "icmp%d" % s, 48)
        for to_server in (True, False):
            sip, dip = (a_ip, b_ip) if to_server else (b_ip, a_ip)
            if v6:
                typ = 128 if to_server else 129
                l3 = ipv6_packet(sip, dip, PROTO_ICMPV6, icmpv6_echo(sip, dip, typ, ident, s, data))
                et = ETH_IPV6
            else:
                typ = 8 if to_server else 0
                l3 = ipv4_packet(sip, dip, PROTO_ICMP, icmp_echo(typ, ident, s, data),
                                 trace.next_ident())
                et = ETH_IPV4
            trace.add(t + NS(i * gap + (0 if to_server else 0.0004)), link.frame(to_server, et, l3),
                      iface=iface, flow=flow, to_server=to_server,
                      tags={"icmp6" if v6 else "icmp"})
    return flow


def arp_pair(trace, link, t, a_mac, a_ip, b_mac, b_ip, iface=0):
    bcast = b"\xff" * 6
    req = arp_packet(1, a_mac, a_ip, "00:00:00:00:00:00", b_ip)
    rep = arp_packet(2, b_mac, b_ip, a_mac, a_ip)
    if isinstance(link, EthLink):
        f1 = link.frame(True, ETH_ARP, req, dst_override=bcast)
    else:
        f1 = link.frame(True, ETH_ARP, req)
    trace.add(t, f1, iface=iface, cls=CLS_NON_IP, tags={"arp"})
    trace.add(t + NS(0.0002), link.frame(False, ETH_ARP, rep), iface=iface, cls=CLS_NON_IP,
              tags={"arp"})


def dns_exchange(trace, link, t, client, server, txid, name, addr, answer=True, iface=0):
    flow = trace.new_flow(PROTO_UDP, client[0], client[1], server[0], server[1], link.vlan)
    udp_send(trace, link, t, client, server, dns_query(txid, name), flow, True, iface)
    if answer:
        udp_send(trace, link, t + NS(0.0031), server, client, dns_response(txid, name, addr),
                 flow, False, iface)
    return flow


# -------------------------------------------------------------- fixtures


CLIENT_MAC = "02:00:00:00:00:10"
ROUTER_MAC = "02:00:00:00:00:01"


def build_mixed():
    """A few hundred packets of everyday traffic, ~17 s, microsecond pcap."""
    rng = random.Random(1001)
    tr = Trace()
    eth = EthLink(CLIENT_MAC, ROUTER_MAC)
    T = lambda s: sec(s)  # noqa: E731

    # A: HTTP with handshake, data both ways, FIN/FIN/ACK
    c = Tcp(tr, eth, "10.1.0.10", 40001, "192.0.2.80", 80, 1000, 50000)
    t = c.handshake(T(0.100))
    req = b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nX-Tag: " + MARKER + b"\r\n\r\n"
    c.send(T(0.1012), True, PSH | ACK, req)
    for i in range(3):
        c.send(T(0.1050 + i * 0.001), False, ACK if i < 2 else PSH | ACK,
               text_payload(rng, "A-resp-%d" % i, 300))
    c.send(T(0.1090), True, ACK)
    c.close(T(0.2000))
    c.flow.tcp_state, c.flow.end_reason = "closed", "fin"

    # B: larger transfer, server closes first
    c = Tcp(tr, eth, "10.1.0.10", 40002, "192.0.2.80", 80, 7000, 90000)
    c.handshake(T(0.300))
    c.send(T(0.3015), True, PSH | ACK, b"GET /big HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
    for i in range(40):
        c.send(T(0.3100 + i * 0.002), False, ACK, text_payload(rng, "B-%d" % i, 220))
        if i % 2 == 1:
            c.send(T(0.3105 + i * 0.002), True, ACK)
    c.close(T(0.500), a_first=False)
    c.flow.tcp_state, c.flow.end_reason = "closed", "fin"

    # C: established, some data, then the server resets it
    c = Tcp(tr, eth, "10.1.0.10", 40003, "192.0.2.43", 443, 333, 444)
    c.handshake(T(0.600))
    c.send(T(0.602), True, PSH | ACK, text_payload(rng, "C-hello", 120))
    c.send(T(0.605), False, PSH | ACK, text_payload(rng, "C-reply", 160))
    c.send(T(0.607), False, RST | ACK)
    c.flow.tcp_state, c.flow.end_reason = "reset", "rst"

    # D: connection refused (SYN, RST/ACK)
    c = Tcp(tr, eth, "10.1.0.10", 40004, "192.0.2.44", 8080, 5555, 0)
    c.send(T(0.700), True, SYN, options=b"\x02\x04\x05\xb4")
    c.send(T(0.7004), False, RST | ACK)
    c.flow.tcp_state, c.flow.end_reason = "reset", "rst"

    # J1/J2: a closed connection whose 5-tuple a new SYN reuses 0.5 s later
    c = Tcp(tr, eth, "10.1.0.11", 40100, "192.0.2.81", 80, 11000, 12000)
    c.handshake(T(1.000))
    c.send(T(1.002), True, PSH | ACK, text_payload(rng, "J1", 90))
    c.send(T(1.004), False, PSH | ACK, text_payload(rng, "J1-resp", 180))
    c.close(T(1.010))
    c.flow.tcp_state, c.flow.end_reason = "closed", "reused"
    c = Tcp(tr, eth, "10.1.0.11", 40100, "192.0.2.81", 80, 21000, 22000)
    c.handshake(T(1.510))
    c.send(T(1.512), True, PSH | ACK, text_payload(rng, "J2", 90))
    c.send(T(1.514), False, PSH | ACK, text_payload(rng, "J2-resp", 180))
    c.close(T(1.520))
    c.flow.tcp_state, c.flow.end_reason = "closed", "fin"

    # K: a bulk download with delayed ACKs
    c = Tcp(tr, eth, "10.1.0.12", 40200, "192.0.2.82", 80, 31000, 32000)
    c.handshake(T(2.000))
    c.send(T(2.0015), True, PSH | ACK, b"GET /data.bin HTTP/1.1\r\nHost: data.example.com\r\n\r\n")
    for i in range(70):
        c.send(T(2.0100 + i * 0.001), False, ACK, text_payload(rng, "K-%d" % i, 150))
        if i % 2 == 1:
            c.send(T(2.0104 + i * 0.001), True, ACK)
    c.close(T(2.200))
    c.flow.tcp_state, c.flow.end_reason = "closed", "fin"

    # IPv6 TCP with FIN teardown
    c = Tcp(tr, eth, "2001:db8:1::10", 40500, "2001:db8:2::80", 80, 4000, 8000)
    c.handshake(T(2.500))
    c.send(T(2.502), True, PSH | ACK, b"GET /v6 HTTP/1.1\r\nHost: v6.example.com\r\nX-Tag: " +
           MARKER + b"\r\n\r\n")
    c.send(T(2.505), False, PSH | ACK, text_payload(rng, "v6-resp", 400))
    c.send(T(2.506), True, ACK)
    c.close(T(2.600))
    c.flow.tcp_state, c.flow.end_reason = "closed", "fin"

    # VLAN 100 TCP with FIN teardown
    v100 = EthLink(CLIENT_MAC, ROUTER_MAC, [(ETH_8021Q, 100)])
    c = Tcp(tr, v100, "10.2.0.10", 41000, "10.2.0.80", 80, 61000, 62000)
    c.handshake(T(3.000))
    c.send(T(3.002), True, PSH | ACK, text_payload(rng, "vlan100-req", 80))
    c.send(T(3.004), False, PSH | ACK, text_payload(rng, "vlan100-resp", 250))
    c.close(T(3.010))
    c.flow.tcp_state, c.flow.end_reason = "closed", "fin"

    # I: half-closed: the client's FIN is acknowledged, the server never closes
    c = Tcp(tr, eth, "10.1.0.13", 40300, "192.0.2.83", 8000, 71000, 72000)
    c.handshake(T(4.000))
    c.send(T(4.002), True, PSH | ACK, text_payload(rng, "I-upload", 200))
    c.send(T(4.003), False, ACK)
    c.send(T(4.010), True, FIN | ACK)
    c.send(T(4.011), False, ACK)
    c.flow.tcp_state, c.flow.end_reason = "fin_wait", "shutdown"

    # DNS: four answered queries, one unanswered
    names = ["www.example.com", "mail.example.com", "ns1.example.org", "cdn.example.net"]
    for i, n in enumerate(names):
        f = dns_exchange(tr, eth, T(5.000 + i * 0.05), ("10.1.0.10", 50001 + i),
                         ("192.0.2.53", 53), 0x4000 + i, n, "198.51.100.%d" % (10 + i))
        f.tcp_state, f.end_reason = "none", "shutdown"
    f = dns_exchange(tr, eth, T(5.300), ("10.1.0.10", 50009), ("192.0.2.53", 53), 0x4009,
                     "lost.example.com", None, answer=False)

    # ICMP echo (3 pairs) and ICMPv6 echo (2 pairs)
    icmp_echo_pair(tr, eth, T(6.000), "10.1.0.10", "192.0.2.1", 0x1234, [1, 2, 3], 0.2, rng)
    icmp_echo_pair(tr, eth, T(6.100), "2001:db8:1::10", "2001:db8:2::1", 0x4321, [1, 2], 0.2, rng)

    # ARP
    arp_pair(tr, eth, T(6.800), CLIENT_MAC, "10.1.0.10", ROUTER_MAC, "10.1.0.1")

    # IPv6 UDP
    f = tr.new_flow(PROTO_UDP, "2001:db8:1::10", 50500, "2001:db8:2::53", 53)
    udp_send(tr, eth, T(7.000), ("2001:db8:1::10", 50500), ("2001:db8:2::53", 53),
             dns_query(0x6000, "v6.example.com"), f, True)
    udp_send(tr, eth, T(7.004), ("2001:db8:2::53", 53), ("2001:db8:1::10", 50500),
             dns_response(0x6000, "v6.example.com", "198.51.100.66"), f, False)

    # QinQ UDP (outer S-tag 200, inner C-tag 300); the first sender has the lower port
    qinq = EthLink(CLIENT_MAC, ROUTER_MAC, [(ETH_8021AD, 200), (ETH_8021Q, 300)])
    f = tr.new_flow(PROTO_UDP, "10.3.0.10", 5000, "10.3.0.20", 6000, 200)
    for i in range(3):
        udp_send(tr, qinq, T(8.000 + i * 0.01), ("10.3.0.10", 5000), ("10.3.0.20", 6000),
                 text_payload(rng, "qinq-%d" % i, 64), f, True)
    for i in range(2):
        udp_send(tr, qinq, T(8.005 + i * 0.01), ("10.3.0.20", 6000), ("10.3.0.10", 5000),
                 text_payload(rng, "qinq-r%d" % i, 32), f, False)

    # The same UDP 5-tuple untagged and on VLAN 101: two flows
    v101 = EthLink(CLIENT_MAC, ROUTER_MAC, [(ETH_8021Q, 101)])
    for link in (eth, v101):
        f = tr.new_flow(PROTO_UDP, "10.4.0.10", 7000, "10.4.0.20", 7001, link.vlan)
        base = 9.000 if link is eth else 9.100
        udp_send(tr, link, T(base), ("10.4.0.10", 7000), ("10.4.0.20", 7001),
                 text_payload(rng, "dup", 40), f, True)
        udp_send(tr, link, T(base + 0.002), ("10.4.0.20", 7001), ("10.4.0.10", 7000),
                 text_payload(rng, "dup-r", 40), f, False)

    # E: midstream (capture started during the connection)
    c = Tcp(tr, eth, "10.1.0.14", 51000, "192.0.2.22", 22, 0x10000000, 0x20000000)
    for i in range(6):
        c.send(T(10.000 + i * 0.01), i % 2 == 0, PSH | ACK,
               text_payload(rng, "ssh-%d" % i, 96))
    c.flow.tcp_state, c.flow.end_reason = "midstream", "shutdown"

    # G: SYN never answered (retransmitted once); H: SYN, SYN/ACK, nothing more
    c = Tcp(tr, eth, "10.1.0.15", 40400, "192.0.2.99", 9999, 41000, 0)
    c.send(T(14.000), True, SYN, options=b"\x02\x04\x05\xb4")
    c.seq[True] = 41000
    c.send(T(15.000), True, SYN, options=b"\x02\x04\x05\xb4")
    c.flow.tcp_state, c.flow.end_reason = "syn_sent", "shutdown"
    c = Tcp(tr, eth, "10.1.0.15", 40401, "192.0.2.98", 9998, 42000, 43000)
    c.send(T(14.500), True, SYN, options=b"\x02\x04\x05\xb4")
    c.send(T(14.501), False, SYN | ACK, options=b"\x02\x04\x05\xb4")
    c.flow.tcp_state, c.flow.end_reason = "syn_recv", "shutdown"

    # F: established and still open when the capture ends
    c = Tcp(tr, eth, "10.1.0.16", 40500, "192.0.2.25", 25, 81000, 82000)
    c.handshake(T(15.500))
    c.send(T(15.510), False, PSH | ACK, b"220 mail.example.com ESMTP\r\n")
    c.send(T(15.520), True, PSH | ACK, b"EHLO client.example.com\r\n")
    c.send(T(15.530), False, PSH | ACK, b"250 mail.example.com " + MARKER + b"\r\n")
    c.flow.tcp_state, c.flow.end_reason = "established", "shutdown"

    # A steady one-way UDP stream that keeps the capture clock moving for
    # ~16 s after the last TCP close, so closed flows time out before the end.
    f = tr.new_flow(PROTO_UDP, "10.1.0.30", 40514, "192.0.2.114", 514)
    for i in range(34):
        udp_send(tr, eth, T(1.000 + i * 0.5), ("10.1.0.30", 40514), ("192.0.2.114", 514),
                 b"<13>Nov 14 22:13:20 host prtest: " + MARKER + b" %d" % i, f, True)
    return tr.finish()


def build_nsec():
    """Nanosecond pcap: every timestamp has non-zero digits below the microsecond."""
    rng = random.Random(2002)
    tr = Trace()
    eth = EthLink(CLIENT_MAC, ROUTER_MAC)

    def T(s):
        return T0_NS + 100 * 1000000000 + NS(s) + rng.randrange(1, 1000)

    c = Tcp(tr, eth, "10.10.0.10", 45000, "10.10.0.80", 8080, 123, 456)
    mss = b"\x02\x04\x05\xb4"
    c.send(T(0.001), True, SYN, options=mss)
    c.send(T(0.002), False, SYN | ACK, options=mss)
    c.send(T(0.003), True, ACK)
    for i in range(6):
        c.send(T(0.010 + i * 0.003), i % 3 == 0, PSH | ACK,
               text_payload(rng, "nsec-%d" % i, 100 + 20 * i))
    c.flow.tcp_state, c.flow.end_reason = "established", "shutdown"
    for i in range(2):
        dns_exchange(tr, eth, T(0.100 + i * 0.01), ("10.10.0.10", 52000 + i),
                     ("10.10.0.53", 53), 0x7000 + i, "n%d.example.com" % i, "198.51.100.7")
    icmp_echo_pair(tr, eth, T(0.200), "10.10.0.10", "10.10.0.1", 0x0777, [1, 2], 0.1, rng)
    arp_pair(tr, eth, T(0.300), CLIENT_MAC, "10.10.0.10", ROUTER_MAC, "10.10.0.1")
    for p in tr.packets:
        assert p.ts % 1000, "nsec fixture timestamp without ns digits"
    return tr.finish()


def build_multi_if():
    """pcapng, three interfaces with different link types, interleaved."""
    rng = random.Random(3003)
    tr = Trace()
    eth = EthLink("02:00:00:00:07:10", "02:00:00:00:07:01")
    raw = RawLink()
    sll2 = Sll2Link(4, "02:00:00:00:09:10", "02:00:00:00:09:20")

    def Tus(s):  # eth0 has microsecond resolution
        return sec(20.0 + s)

    def Tns(s):
        return sec(20.0 + s) + rng.randrange(1, 999)

    # iface 0 (eth0): TCP established, ARP
    c = Tcp(tr, eth, "10.7.0.10", 42000, "10.7.0.80", 80, 500, 900, iface=0)
    mss = b"\x02\x04\x05\xb4"
    c.send(Tus(0.0010), True, SYN, options=mss)
    c.send(Tus(0.0030), False, SYN | ACK, options=mss)
    c.send(Tus(0.0050), True, ACK)
    c.send(Tus(0.0100), True, PSH | ACK, b"GET / HTTP/1.1\r\nHost: eth0.example\r\n\r\n")
    for i in range(4):
        c.send(Tus(0.0200 + i * 0.01), False, ACK, text_payload(rng, "eth0-%d" % i, 180))
    c.send(Tus(0.0700), True, ACK)
    c.flow.tcp_state, c.flow.end_reason = "established", "shutdown"
    arp_pair(tr, eth, Tus(0.0150), "02:00:00:00:07:10", "10.7.0.10", "02:00:00:00:07:01",
             "10.7.0.1", iface=0)

    # iface 1 (tun0, raw IPv4): DNS and ICMP echo
    for i in range(2):
        f = tr.new_flow(PROTO_UDP, "10.8.0.2", 53000 + i, "10.8.0.1", 53)
        q = ("10.8.0.2", 53000 + i)
        s = ("10.8.0.1", 53)
        udp_send(tr, raw, Tns(0.0020 + i * 0.02), q, s, dns_query(0x5100 + i, "tun%d.example" % i),
                 f, True, iface=1)
        udp_send(tr, raw, Tns(0.0120 + i * 0.02), s, q,
                 dns_response(0x5100 + i, "tun%d.example" % i, "198.51.100.9"), f, False, iface=1)
    f = tr.new_flow(PROTO_ICMP, "10.8.0.2", 8 << 8, "10.8.0.1", 0x0abc)
    for i in range(2):
        data = text_payload(rng, "tun-icmp%d" % i, 40)
        for to_server in (True, False):
            sip, dip = ("10.8.0.2", "10.8.0.1") if to_server else ("10.8.0.1", "10.8.0.2")
            l3 = ipv4_packet(sip, dip, PROTO_ICMP,
                             icmp_echo(8 if to_server else 0, 0x0abc, i + 1, data), tr.next_ident())
            tr.add(Tns(0.0300 + i * 0.02 + (0 if to_server else 0.001)), raw.frame(to_server, 0, l3),
                   iface=1, flow=f, to_server=to_server, tags={"icmp"})

    # iface 2 (LINUX_SLL2, declared only before its first packet): TCP midstream, IPv6 UDP
    c = Tcp(tr, sll2, "10.9.0.10", 44000, "10.9.0.20", 8443, 0x30000000, 0x40000000, iface=2)
    for i in range(4):
        c.send(Tns(0.0400 + i * 0.005), i % 2 == 0, PSH | ACK, text_payload(rng, "sll2-%d" % i, 70))
    c.flow.tcp_state, c.flow.end_reason = "midstream", "shutdown"
    f = tr.new_flow(PROTO_UDP, "2001:db8:9::10", 45353, "2001:db8:9::20", 45454)
    udp_send(tr, sll2, Tns(0.0450), ("2001:db8:9::10", 45353), ("2001:db8:9::20", 45454),
             text_payload(rng, "sll2-v6", 60), f, True, iface=2)
    udp_send(tr, sll2, Tns(0.0470), ("2001:db8:9::20", 45454), ("2001:db8:9::10", 45353),
             text_payload(rng, "sll2-v6r", 30), f, False, iface=2)
    tr.finish()
    # one packet carries an EPB comment option, which readers must skip
    tr.packets[5].comment = "prtest: an EPB with an option"
    return tr


def build_fragments():
    """An IPv4 UDP datagram in 3 fragments and an IPv6 one in 3, interleaved."""
    rng = random.Random(4004)
    tr = Trace()
    eth = EthLink("02:00:00:00:05:10", "02:00:00:00:05:20")
    T = lambda s: sec(30.0 + s)  # noqa: E731

    f4 = tr.new_flow(PROTO_UDP, "10.5.0.10", 33000, "10.5.0.20", 9000)
    f6 = tr.new_flow(PROTO_UDP, "2001:db8:5::10", 33001, "2001:db8:5::20", 9001)
    d4 = udp_datagram("10.5.0.10", "10.5.0.20", 33000, 9000, text_payload(rng, "frag4", 2400))
    d6 = udp_datagram("2001:db8:5::10", "2001:db8:5::20", 33001, 9001,
                      text_payload(rng, "frag6", 1800))
    ident4 = 0x5151
    ident6 = 0xABCDEF01
    cuts4 = [(0, 1000), (1000, 2000), (2000, len(d4))]
    cuts6 = [(0, 800), (800, 1600), (1600, len(d6))]
    for i in range(3):
        a, b = cuts4[i]
        l3 = ipv4_packet("10.5.0.10", "10.5.0.20", PROTO_UDP, d4[a:b], ident4, df=False,
                         frag_off=a, more=(i < 2))
        tr.add(T(0.001 + i * 0.002), eth.frame(True, ETH_IPV4, l3), flow=f4, to_server=True,
               tags={"frag"})
        a, b = cuts6[i]
        fh = struct.pack("!BBHI", PROTO_UDP, 0, (a // 8) << 3 | (1 if i < 2 else 0), ident6)
        l3 = ipv6_packet("2001:db8:5::10", "2001:db8:5::20", PROTO_IPV6_FRAG, fh + d6[a:b])
        tr.add(T(0.002 + i * 0.002), eth.frame(True, ETH_IPV6, l3), flow=f6, to_server=True,
               tags={"frag"})
    udp_send(tr, eth, T(0.010), ("10.5.0.20", 9000), ("10.5.0.10", 33000), b"ack4 " + MARKER,
             f4, False)
    udp_send(tr, eth, T(0.011), ("2001:db8:5::20", 9001), ("2001:db8:5::10", 33001),
             b"ack6 " + MARKER, f6, False)
    return tr.finish()


MALFORMED_SNAPLEN = 128


def build_malformed():
    """Broken and cut packets among a few good ones (snaplen 128)."""
    rng = random.Random(5005)
    tr = Trace()
    eth = EthLink("02:00:00:00:06:10", "02:00:00:00:06:20")
    T = lambda s: sec(40.0 + s)  # noqa: E731
    good = tr.new_flow(PROTO_UDP, "10.6.0.10", 41111, "10.6.0.20", 42222)
    udp_send(tr, eth, T(0.000), ("10.6.0.10", 41111), ("10.6.0.20", 42222),
             text_payload(rng, "good", 40), good, True)

    # a runt: Ethernet + the first 12 bytes of an IPv4 header
    l3 = ipv4_packet("10.6.0.30", "10.6.0.31", PROTO_UDP, udp_datagram(
        "10.6.0.30", "10.6.0.31", 1, 2, b"x" * 10), tr.next_ident())
    f = eth.frame(True, ETH_IPV4, b"")[:14] + l3[:12]
    tr.add(T(0.010), f, cls=CLS_TRUNCATED)

    # IHL = 4
    l3 = ipv4_packet("10.6.0.30", "10.6.0.40", PROTO_UDP,
                     udp_datagram("10.6.0.30", "10.6.0.40", 3333, 4444, b"ihl" * 10),
                     tr.next_ident(), ihl=4)
    tr.add(T(0.020), eth.frame(True, ETH_IPV4, l3), cls=CLS_MALFORMED, flow=PF_ANY)

    # TCP data offset 4
    seg = tcp_segment("10.6.0.50", "10.6.0.60", 5555, 80, 1, 0, SYN, doff=4)
    l3 = ipv4_packet("10.6.0.50", "10.6.0.60", PROTO_TCP, seg, tr.next_ident())
    tr.add(T(0.030), eth.frame(True, ETH_IPV4, l3), cls=CLS_MALFORMED, flow=PF_ANY,
           tags={"tcp80"})  # BPF reads the ports all the same

    # UDP length 4
    seg = udp_datagram("10.6.0.70", "10.6.0.80", 7777, 8888, b"udplen" * 4, length=4)
    l3 = ipv4_packet("10.6.0.70", "10.6.0.80", PROTO_UDP, seg, tr.next_ident())
    tr.add(T(0.040), eth.frame(True, ETH_IPV4, l3), cls=CLS_MALFORMED, flow=PF_ANY)

    # a TCP connection whose big segments were cut by the snap length
    c = Tcp(tr, eth, "10.6.1.10", 45000, "10.6.1.20", 80, 100, 200)
    c.handshake(T(0.050))
    c.send(T(0.052), True, PSH | ACK, b"GET /big HTTP/1.1\r\n\r\n")
    for i in range(3):
        c.send(T(0.060 + i * 0.002), False, ACK, text_payload(rng, "cut-%d" % i, 1000))
    c.send(T(0.070), True, ACK)
    c.flow.tcp_state, c.flow.end_reason = "established", "shutdown"

    # a zero-length record
    tr.add(T(0.080), b"", wire_len=0, cls=CLS_TRUNCATED)

    # an ethertype that is not IP (IEEE 802 local experimental)
    tr.add(T(0.090), eth.frame(True, 0x88B5, b"\x01\x02\x03\x04" + MARKER), cls=CLS_NON_IP)

    # a TCP header cut after 10 bytes (cap_len 44 of 74)
    seg = tcp_segment("10.6.2.10", "10.6.2.20", 6000, 6001, 1, 0, SYN,
                      options=b"\x02\x04\x05\xb4\x01\x01\x04\x02\x01\x03\x03\x07"
                      b"\x01\x01\x01\x01\x01\x01\x01\x01")
    l3 = ipv4_packet("10.6.2.10", "10.6.2.20", PROTO_TCP, seg, tr.next_ident())
    fr = eth.frame(True, ETH_IPV4, l3)
    tr.add(T(0.100), fr[:44], wire_len=len(fr), cls=CLS_TRUNCATED, flow=PF_ANY)

    # an IPv6 header cut after 30 bytes
    l3 = ipv6_packet("2001:db8:6::1", "2001:db8:6::2", PROTO_UDP,
                     udp_datagram("2001:db8:6::1", "2001:db8:6::2", 1, 2, b"v6" * 20))
    fr = eth.frame(True, ETH_IPV6, l3)
    tr.add(T(0.110), fr[:14 + 30], wire_len=len(fr), cls=CLS_TRUNCATED)

    # the good flow's answer, cut inside the payload
    udp_send(tr, eth, T(0.120), ("10.6.0.20", 42222), ("10.6.0.10", 41111),
             text_payload(rng, "good-r", 300), good, False)
    tr.finish()
    # apply the snap length to every record
    for p in tr.packets:
        if len(p.data) > MALFORMED_SNAPLEN:
            p.data = p.data[:MALFORMED_SNAPLEN]
    return tr


def build_truncated():
    """A valid capture whose file ends inside the data of a packet record."""
    rng = random.Random(6006)
    tr = Trace()
    eth = EthLink("02:00:00:00:08:10", "02:00:00:00:08:20")
    T = lambda s: sec(50.0 + s)  # noqa: E731
    c = Tcp(tr, eth, "10.11.0.10", 46000, "10.11.0.80", 80, 10, 20)
    c.handshake(T(0.001))
    for i in range(8):
        c.send(T(0.010 + i * 0.002), i % 2 == 1, PSH | ACK, text_payload(rng, "tr-%d" % i, 120))
    f = tr.new_flow(PROTO_UDP, "10.11.0.10", 46001, "10.11.0.53", 53)
    for i in range(5):
        udp_send(tr, eth, T(0.030 + i * 0.002), ("10.11.0.10", 46001), ("10.11.0.53", 53),
                 dns_query(0x100 + i, "t%d.example" % i), f, True)
    return tr.finish()


TRUNCATED_KEEP = 12  # packets before the damaged record


# ---------------------------------------------------------------- writers


def write_pcap(trace, nsec=False, snaplen=65535, linktype=LINKTYPE_ETHERNET):
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = bytearray(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
    offsets = []
    for p in trace.packets:
        s, ns = divmod(p.ts, 1000000000)
        if not nsec:
            assert ns % 1000 == 0, "usec fixture with a sub-usec timestamp"
            ns //= 1000
        offsets.append(len(out))
        out += struct.pack("<IIII", s, ns, len(p.data), p.wire_len) + p.data
    return bytes(out), offsets


def pcapng_block(btype, body):
    pad = (-len(body)) % 4
    total = 12 + len(body) + pad
    return struct.pack("<II", btype, total) + body + b"\0" * pad + struct.pack("<I", total)


def pcapng_opt(code, value):
    pad = (-len(value)) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def pcapng_opts(opts):
    if not opts:
        return b""
    return b"".join(pcapng_opt(c, v) for c, v in opts) + struct.pack("<HH", 0, 0)


def write_pcapng(trace, ifaces, comment=None, late_ifaces=()):
    """ifaces: [{"linktype", "tsresol", "name", "description", "snaplen"}]. IDBs of
    interfaces in late_ifaces are written right before their first packet."""
    opts = []
    if comment:
        opts.append((1, comment.encode()))
    opts.append((4, b"prtest gen_fixtures.py"))
    out = bytearray(pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) +
                                 pcapng_opts(opts)))

    def idb(i):
        d = ifaces[i]
        o = []
        if d.get("name"):
            o.append((2, d["name"].encode()))
        if d.get("description"):
            o.append((3, d["description"].encode()))
        o.append((9, bytes([d["tsresol"]])))
        return pcapng_block(1, struct.pack("<HHI", d["linktype"], 0, d.get("snaplen", 65535)) +
                            pcapng_opts(o))

    declared = set()
    for i in range(len(ifaces)):
        if i not in late_ifaces:
            out += idb(i)
            declared.add(i)
    # a Name Resolution Block, which readers skip
    nrb = struct.pack("<HH", 1, 4 + len(b"gw.example\0")) + ip("10.7.0.1").packed + b"gw.example\0"
    nrb += b"\0" * ((-len(nrb)) % 4) + struct.pack("<HH", 0, 0)
    out += pcapng_block(4, nrb)
    for p in trace.packets:
        if p.iface not in declared:
            out += idb(p.iface)
            declared.add(p.iface)
        res = ifaces[p.iface]["tsresol"]
        units = p.ts // (10 ** (9 - res))
        assert units * (10 ** (9 - res)) == p.ts, "timestamp finer than the interface resolution"
        o = [(1, p.comment.encode())] if p.comment else []
        pad = (-len(p.data)) % 4
        body = struct.pack("<IIIII", p.iface, units >> 32, units & 0xFFFFFFFF, len(p.data),
                           p.wire_len) + p.data + b"\0" * pad + pcapng_opts(o)
        out += pcapng_block(6, body)
    # an Interface Statistics Block for interface 0 (isb_ifrecv)
    last = trace.packets[-1].ts // 1000
    n0 = sum(1 for p in trace.packets if p.iface == 0)
    out += pcapng_block(5, struct.pack("<III", 0, last >> 32, last & 0xFFFFFFFF) +
                        pcapng_opts([(4, struct.pack("<Q", n0))]))
    return bytes(out)


# --------------------------------------------------------------- manifest


def manifest_entry(name, fmt, trace, data, ifaces, extra=None, with_flows=True):
    pk = trace.packets
    if not with_flows:
        trace = Trace()
        trace.packets = [Packet(p.ts, p.iface, p.data, p.wire_len, PF_NONE, p.cls, p.tags, p.seq)
                         for p in pk]
        pk = trace.packets
    for f in trace.flows:
        assert f.first_ts is not None, "flow without packets"
    flows = [f.to_json() for f in sorted(trace.flows, key=lambda f: (f.first_ts, f.index))]
    order = {f.index: i for i, f in enumerate(sorted(trace.flows, key=lambda f: (f.first_ts, f.index)))}
    pflow = []
    for p in pk:
        if isinstance(p.flow, Flow):
            pflow.append(order[p.flow.index])
        else:
            pflow.append(p.flow)
    classes = {}
    for p in pk:
        classes[p.cls] = classes.get(p.cls, 0) + 1
    filters = {
        "tcp port 80": sum(1 for p in pk if "tcp80" in p.tags),
        "udp port 53": sum(1 for p in pk if "udp53" in p.tags),
        "arp": sum(1 for p in pk if "arp" in p.tags),
    }
    e = {
        "file": name,
        "format": fmt,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "linktypes": sorted({d["linktype"] for d in ifaces}),
        "interfaces": ifaces,
        "packets": len(pk),
        "bytes_wire": sum(p.wire_len for p in pk),
        "bytes_captured": sum(len(p.data) for p in pk),
        "first_ts_ns": pk[0].ts,
        "last_ts_ns": pk[-1].ts,
        "flow_packets": sum(1 for x in pflow if x >= 0),
        "decode": {c: classes.get(c, 0) for c in (CLS_TRUNCATED, CLS_MALFORMED, CLS_NON_IP)},
        "filter_counts": filters,
        "flows": flows,
        "packet_flow": pflow,
    }
    if extra:
        e.update(extra)
    return e


def build_all():
    """Returns {filename: bytes} and the manifest dict."""
    files = {}
    man = {
        "about": "Generated by tests/pcaps/gen/gen_fixtures.py; do not edit. See README.md.",
        "marker": MARKER.decode(),
        "packet_flow_values": {"-1": "no flow (flow_id 0)",
                               "-2": "broken packet: flow_id 0 or a flow made only of such packets",
                               "n >= 0": "index into flows"},
        "fixtures": {},
    }
    eth_if = [{"id": 0, "linktype": LINKTYPE_ETHERNET, "tsresol": 6, "name": "",
               "snaplen": 65535}]

    tr = build_mixed()
    data, _ = write_pcap(tr)
    files["mixed.pcap"] = data
    man["fixtures"]["mixed.pcap"] = manifest_entry("mixed.pcap", "pcap", tr, data, eth_if,
                                                   {"ts_resolution": "usec"})

    tr = build_nsec()
    data, _ = write_pcap(tr, nsec=True)
    files["nsec.pcap"] = data
    ifs = [dict(eth_if[0], tsresol=9)]
    man["fixtures"]["nsec.pcap"] = manifest_entry("nsec.pcap", "pcap", tr, data, ifs,
                                                  {"ts_resolution": "nsec"})

    tr = build_multi_if()
    ifs = [
        {"id": 0, "linktype": LINKTYPE_ETHERNET, "tsresol": 6, "name": "eth0",
         "description": "prtest ethernet", "snaplen": 65535},
        {"id": 1, "linktype": LINKTYPE_RAW, "tsresol": 9, "name": "tun0", "snaplen": 65535},
        {"id": 2, "linktype": LINKTYPE_LINUX_SLL2, "tsresol": 9, "name": "", "snaplen": 65535},
    ]
    data = write_pcapng(tr, ifs, comment="prtest multi-interface fixture", late_ifaces=(2,))
    files["multi_if.pcapng"] = data
    man["fixtures"]["multi_if.pcapng"] = manifest_entry(
        "multi_if.pcapng", "pcapng", tr, data, ifs,
        {"packet_iface": [p.iface for p in tr.packets],
         "shb_comment": "prtest multi-interface fixture"})

    tr = build_fragments()
    data, _ = write_pcap(tr)
    files["fragments.pcap"] = data
    man["fixtures"]["fragments.pcap"] = manifest_entry("fragments.pcap", "pcap", tr, data, eth_if,
                                                       {"ts_resolution": "usec"})

    tr = build_malformed()
    data, _ = write_pcap(tr, snaplen=MALFORMED_SNAPLEN)
    files["malformed.pcap"] = data
    ifs = [dict(eth_if[0], snaplen=MALFORMED_SNAPLEN)]
    man["fixtures"]["malformed.pcap"] = manifest_entry(
        "malformed.pcap", "pcap", tr, data, ifs,
        {"ts_resolution": "usec",
         "packet_class": [p.cls for p in tr.packets],
         "note": "decode counts follow pr_decode.h: truncated = the captured bytes end inside "
                 "a header (not a cut payload); packet_flow -2 marks broken packets that may "
                 "or may not form flows of their own"})

    tr = build_truncated()
    full, offsets = write_pcap(tr)
    cut = offsets[TRUNCATED_KEEP] + 16 + 30  # inside the data of record TRUNCATED_KEEP
    data = full[:cut]
    files["truncated.pcap"] = data
    kept = Trace()
    kept.packets = tr.packets[:TRUNCATED_KEEP]
    e = manifest_entry("truncated.pcap", "pcap", kept, data, eth_if, with_flows=False, extra=
                       {"ts_resolution": "usec",
                        "packets_before_damage": TRUNCATED_KEEP,
                        "damage_offset": offsets[TRUNCATED_KEEP],
                        "damage_record_caplen": len(tr.packets[TRUNCATED_KEEP].data),
                        "file_size": len(data),
                        "note": "the record at damage_offset claims more bytes than the file "
                                "has; packets and bytes describe the packets before it"})
    del e["flows"]
    del e["packet_flow"]
    man["fixtures"]["truncated.pcap"] = e
    return files, man


def manifest_bytes(man):
    return (json.dumps(man, indent=1, sort_keys=False) + "\n").encode()


def write_all(outdir):
    files, man = build_all()
    os.makedirs(outdir, exist_ok=True)
    for name, data in files.items():
        if len(data) > MAX_FIXTURE_SIZE:
            raise SystemExit("%s: %d bytes, over the %d-byte limit" % (name, len(data),
                                                                      MAX_FIXTURE_SIZE))
        with open(os.path.join(outdir, name), "wb") as fh:
            fh.write(data)
    with open(os.path.join(outdir, "manifest.json"), "wb") as fh:
        fh.write(manifest_bytes(man))
    return files, man


# ------------------------------------------------- large captures for tests


def write_big_pcap(path, packets, seed=7, templates=4096):
    """A large usec pcap (for the crash test): `templates` distinct frames (TCP and UDP
    of many 5-tuples, 60-134 bytes) repeated in turn, 3 us apart. Packet i has the
    timestamp big_pcap_ts_ns(i). Returns (packets, wire bytes)."""
    rng = random.Random(seed)
    eth = EthLink(CLIENT_MAC, ROUTER_MAC)
    frames = []
    for i in range(templates):
        sip = "10.%d.%d.%d" % (20 + i % 8, (i // 8) % 250, 1 + i % 200)
        sport = 20000 + i
        pl = text_payload(rng, "big%d" % i, 10 * (i % 8))
        if i % 2:
            seg = tcp_segment(sip, "192.0.2.200", sport, 80, i * 1000, 1, PSH | ACK, pl)
            l3 = ipv4_packet(sip, "192.0.2.200", PROTO_TCP, seg, i & 0xFFFF)
        else:
            seg = udp_datagram(sip, "192.0.2.90", sport, 9000, pl)
            l3 = ipv4_packet(sip, "192.0.2.90", PROTO_UDP, seg, i & 0xFFFF)
        frames.append(eth.frame(True, ETH_IPV4, l3))
    wire = 0
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        buf = []
        pack = struct.Struct("<IIII").pack
        for n in range(packets):
            fr = frames[n % templates]
            t_us = BIG_T0_US + 3 * n
            buf.append(pack(t_us // 1000000, t_us % 1000000, len(fr), len(fr)))
            buf.append(fr)
            wire += len(fr)
            if len(buf) >= 16384:
                fh.write(b"".join(buf))
                buf = []
        fh.write(b"".join(buf))
    return packets, wire


BIG_T0_US = 1700001000 * 1000000


def big_pcap_ts_ns(i):
    return (BIG_T0_US + 3 * i) * 1000


def write_simple_pcap(path, frames, nsec=False, linktype=LINKTYPE_ETHERNET):
    """frames: [(ts_ns, bytes)]. A small helper for tests that need a custom capture."""
    tr = Trace()
    for ts, data in frames:
        tr.add(ts, data)
    data, _ = write_pcap(tr.finish(), nsec=nsec, linktype=linktype)
    with open(path, "wb") as fh:
        fh.write(data)
    return data


def udp_frame(src_mac, dst_mac, sip, sport, dip, dport, payload, ident=1):
    """One Ethernet/IPv4/UDP frame (tests use it for live traffic)."""
    link = EthLink(src_mac, dst_mac)
    l3 = ipv4_packet(sip, dip, PROTO_UDP, udp_datagram(sip, dip, sport, dport, payload), ident)
    return link.frame(True, ETH_IPV4, l3)


# -------------------------------------------------------------------- main


def default_outdir():
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def check(outdir):
    """Regenerate into a temp dir; compare with outdir. Returns a list of problems."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="prtest-gen-") as tmp:
        files, _ = write_all(tmp)
        names = sorted(files) + ["manifest.json"]
        for name in names:
            a = os.path.join(tmp, name)
            b = os.path.join(outdir, name)
            if not os.path.exists(b):
                problems.append("%s: missing from %s" % (name, outdir))
                continue
            with open(a, "rb") as fa, open(b, "rb") as fb:
                da, db = fa.read(), fb.read()
            if da != db:
                problems.append("%s: differs from a fresh generation (%d vs %d bytes, sha256 %s "
                                "vs %s)" % (name, len(db), len(da), hashlib.sha256(db).hexdigest()[:12],
                                            hashlib.sha256(da).hexdigest()[:12]))
            if name != "manifest.json" and len(db) > MAX_FIXTURE_SIZE:
                problems.append("%s: %d bytes, over %d" % (name, len(db), MAX_FIXTURE_SIZE))
        for name in sorted(os.listdir(outdir)):
            if name.endswith((".pcap", ".pcapng")) and name not in files:
                problems.append("%s: a capture the generator does not make" % name)
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=default_outdir(), help="output directory (default: tests/pcaps)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temp dir and compare with --out")
    args = ap.parse_args(argv)
    if args.check:
        problems = check(args.out)
        for p in problems:
            print("gen_fixtures: " + p)
        if problems:
            print("gen_fixtures: run tests/pcaps/gen/gen_fixtures.py to regenerate")
            return 1
        print("gen_fixtures: fixtures in %s match the generator" % args.out)
        return 0
    files, man = write_all(args.out)
    for name in sorted(files):
        fx = man["fixtures"][name]
        print("%-18s %6d bytes %4d packets %3d flows" % (name, len(files[name]), fx["packets"],
                                                        len(fx.get("flows", []))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
