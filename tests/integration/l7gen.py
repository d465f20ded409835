#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A generator of small L7 fixtures: one capture with a TLS handshake (a
ClientHello with SNI and ALPN, a ServerHello), a DNS query and its answer,
an HTTP request and response (the request split over two TCP segments,
one segment retransmitted), an SSH banner exchange and an SMTP dialogue,
each over a real TCP handshake (UDP for DNS). The expected values are
computed here from the bytes written (the JA3 and JA3S strings and their
MD5s by the JA3 rules), never taken from packetrecorder's output.

  l7gen.py OUT.pcap        writes the capture, prints the expectations as JSON

Python 3 standard library only."""
import hashlib
import json
import struct
import sys

T0 = 1_700_000_000 * 10**9
CLIENT, SERVER = bytes([10, 7, 0, 1]), bytes([10, 7, 0, 2])


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip_frame(src, dst, proto, seg):
    pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
    off = 16 if proto == 6 else 6
    c = csum(pseudo + seg) or 0xFFFF
    seg = seg[:off] + struct.pack("!H", c) + seg[off + 2:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0x4000, 64, proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + seg


class Tcp:
    """One TCP connection: handshake, then data segments in either direction."""

    def __init__(self, frames, cport, sport):
        self.f, self.cport, self.sport = frames, cport, sport
        self.seq = [1000, 50000]  # next sequence number per direction (0: client)
        self.seg(0, 0x02, b"")
        self.seq[0] += 1
        self.seg(1, 0x12, b"")
        self.seq[1] += 1
        self.seg(0, 0x10, b"")

    def seg(self, d, flags, data, seq=None):
        src, dst = (CLIENT, SERVER) if d == 0 else (SERVER, CLIENT)
        sp, dp = (self.cport, self.sport) if d == 0 else (self.sport, self.cport)
        s = self.seq[d] if seq is None else seq
        ack = self.seq[1 - d] if flags != 0x02 else 0
        hdr = struct.pack("!HHIIBBHHH", sp, dp, s, ack, 5 << 4, flags, 65535, 0, 0)
        self.f.append(ip_frame(src, dst, 6, hdr + data))

    def send(self, d, data):
        self.seg(d, 0x18, data)
        self.seq[d] += len(data)

    def close(self):
        self.seg(0, 0x11, b"")
        self.seq[0] += 1
        self.seg(1, 0x11, b"")
        self.seq[1] += 1
        self.seg(0, 0x10, b"")


def udp(frames, d, cport, sport, data):
    src, dst = (CLIENT, SERVER) if d == 0 else (SERVER, CLIENT)
    sp, dp = (cport, sport) if d == 0 else (sport, cport)
    frames.append(ip_frame(src, dst, 17, struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data))


def ext(t, body):
    return struct.pack("!HH", t, len(body)) + body


def client_hello(sni):
    ciphers = [0x1301, 0x1302, 0xC02B, 0xC02F, 0x009C, 0x002F]
    groups = [0x001D, 0x0017, 0x0018]
    ecpf = [0]
    alpn = [b"h2", b"http/1.1"]
    name = sni.encode()
    exts = [
        (0x0000, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name),
        (0x000A, struct.pack("!H", 2 * len(groups)) + b"".join(struct.pack("!H", g) for g in groups)),
        (0x000B, bytes([len(ecpf)]) + bytes(ecpf)),
        (0x000D, struct.pack("!HHH", 4, 0x0403, 0x0804)),
        (0x0010, struct.pack("!H", sum(1 + len(a) for a in alpn)) +
         b"".join(bytes([len(a)]) + a for a in alpn)),
    ]
    body = struct.pack("!H", 0x0303) + bytes(range(32)) + b"\0"
    body += struct.pack("!H", 2 * len(ciphers)) + b"".join(struct.pack("!H", c) for c in ciphers)
    body += b"\x01\x00"
    eb = b"".join(ext(t, b) for t, b in exts)
    body += struct.pack("!H", len(eb)) + eb
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    rec = b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs
    ja3 = "771,%s,%s,%s,%s" % ("-".join(str(c) for c in ciphers), "-".join(str(t) for t, _ in exts),
                               "-".join(str(g) for g in groups), "-".join(str(p) for p in ecpf))
    return rec, ja3


def server_hello():
    cipher = 0xC02F
    exts = [(0xFF01, b"\x00"), (0x0010, struct.pack("!H", 3) + b"\x02h2")]
    body = struct.pack("!H", 0x0303) + bytes(range(32, 64)) + b"\0" + struct.pack("!HB", cipher, 0)
    eb = b"".join(ext(t, b) for t, b in exts)
    body += struct.pack("!H", len(eb)) + eb
    hs = b"\x02" + struct.pack("!I", len(body))[1:] + body
    rec = b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs
    ja3s = "771,%d,%s" % (cipher, "-".join(str(t) for t, _ in exts))
    return rec, ja3s


def dns_name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"


def build():
    frames, want = [], {}

    sni = "fixture.l7gen.example"
    ch, ja3_string = client_hello(sni)
    sh, ja3s_string = server_hello()
    t = Tcp(frames, 40001, 443)
    t.send(0, ch)
    t.send(1, sh)
    t.close()
    want["tls"] = {"sni": sni, "ja3_string": ja3_string,
                   "ja3": hashlib.md5(ja3_string.encode()).hexdigest(),
                   "ja3s_string": ja3s_string,
                   "ja3s": hashlib.md5(ja3s_string.encode()).hexdigest(),
                   "alpn": ["h2", "http/1.1"], "version": "TLSv1.2", "dport": 443}

    q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + dns_name("www.l7gen.example") + \
        struct.pack("!HH", 1, 1)
    r = struct.pack("!HHHHHH", 0x1234, 0x8180, 1, 1, 0, 0) + dns_name("www.l7gen.example") + \
        struct.pack("!HH", 1, 1) + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + \
        bytes([192, 0, 2, 7])
    udp(frames, 0, 40002, 53, q)
    udp(frames, 1, 40002, 53, r)
    want["dns"] = {"id": 0x1234, "qname": "www.l7gen.example", "qtype": 1, "rcode": 0,
                   "answers": [{"name": "www.l7gen.example", "type": 1, "ttl": 300,
                                "data": "192.0.2.7"}], "dport": 53}

    t = Tcp(frames, 40003, 80)
    req = (b"GET /l7gen/index.html?x=1 HTTP/1.1\r\nHost: www.l7gen.example\r\n"
           b"User-Agent: l7gen/1.0\r\nAccept: */*\r\n\r\n")
    # The request in two segments, the first one sent twice (a retransmission).
    first = req[:20]
    s0 = t.seq[0]
    t.send(0, first)
    t.seg(0, 0x18, first, seq=s0)
    t.send(0, req[20:])
    body = b"<html>l7gen</html>"
    t.send(1, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body)
           + body)
    t.close()
    want["http"] = {"method": "GET", "host": "www.l7gen.example", "uri": "/l7gen/index.html?x=1",
                    "user_agent": "l7gen/1.0", "status": 200, "content_type": "text/html",
                    "dport": 80}

    t = Tcp(frames, 40004, 22)
    t.send(1, b"SSH-2.0-l7genServer_1.0\r\n")
    t.send(0, b"SSH-2.0-l7genClient_2.0\r\n")
    t.close()
    want["ssh"] = {"client_banner": "SSH-2.0-l7genClient_2.0",
                   "server_banner": "SSH-2.0-l7genServer_1.0", "dport": 22}

    t = Tcp(frames, 40005, 25)
    for d, line in ((1, b"220 mx.l7gen.example ESMTP ready\r\n"), (0, b"EHLO client.l7gen.example\r\n"),
                    (1, b"250 mx.l7gen.example\r\n"), (0, b"MAIL FROM:<alice@l7gen.example>\r\n"),
                    (1, b"250 OK\r\n"), (0, b"RCPT TO:<bob@l7gen.example>\r\n"), (1, b"250 OK\r\n"),
                    (0, b"RCPT TO:<carol@l7gen.example>\r\n"), (1, b"250 OK\r\n"),
                    (0, b"STARTTLS\r\n"), (1, b"220 go ahead\r\n")):
        t.send(d, line)
    t.close()
    want["smtp"] = {"helo": "client.l7gen.example", "mail_from": "alice@l7gen.example",
                    "rcpt_to": ["bob@l7gen.example", "carol@l7gen.example"], "starttls": True,
                    "dport": 25}
    return frames, want


CLIENT6 = bytes.fromhex("20010db8000700000000000000000001")
SERVER6 = bytes.fromhex("20010db8000700000000000000000002")


def udp_datagram(src, dst, sp, dp, data):
    """A UDP header and data with its checksum (IPv4 or IPv6 pseudo header)."""
    seg = struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, 17, len(seg))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(seg), 17)
    c = csum(pseudo + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def fragments(src, dst, proto, payload, ident, size, order):
    """payload (an L4 header and data) as IP fragments of at most size bytes
    each (a multiple of 8 but the last), as Ethernet frames in the given
    order of fragment indexes."""
    pieces = [payload[o:o + size] for o in range(0, len(payload), size)]
    frames = []
    for i in order:
        off, more = i * size, i < len(pieces) - 1
        body = pieces[i]
        if len(src) == 4:
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident,
                             (0x2000 if more else 0) | (off // 8), 64, proto, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            frames.append(b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + body)
        else:
            fh = struct.pack("!BBHI", proto, 0, off | (1 if more else 0), ident)
            ip = struct.pack("!IHBB16s16s", 6 << 28, 8 + len(body), 44, 64, src, dst)
            frames.append(b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x86\xdd" + ip + fh + body)
    return frames


def fragmented_dns():
    """Two DNS exchanges whose answers (about 2.5 KB each) come as IP
    fragments: over IPv4 with the fragments as first, last, middle (the
    datagram completes on a later fragment), over IPv6 with the fragment
    header as middle, last, first (it completes on the first). The
    queries are single packets. Returns the frames and, per server port,
    the expected response by client port: id, qname, answer count, first
    and last answer."""
    frames, want = [], {}
    for v6, cport, order in ((False, 40201, (0, 2, 1)), (True, 40202, (1, 2, 0))):
        src, dst = (CLIENT6, SERVER6) if v6 else (CLIENT, SERVER)
        qname = "frag%d.l7gen.example" % (6 if v6 else 4)
        ident = 0x4242 + cport
        q = struct.pack("!HHHHHH", ident & 0xFFFF, 0x0100, 1, 0, 0, 0) + dns_name(qname) + \
            struct.pack("!HH", 1, 1)
        n = 150
        r = struct.pack("!HHHHHH", ident & 0xFFFF, 0x8180, 1, n, 0, 0) + dns_name(qname) + \
            struct.pack("!HH", 1, 1)
        addrs = ["198.51.%d.%d" % (i // 250, i % 250 + 1) for i in range(n)]
        for a in addrs:
            r += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(int(x) for x in a.split("."))
        qd = udp_datagram(src, dst, cport, 53, q)
        rd = udp_datagram(dst, src, 53, cport, r)
        # The query as one unfragmented packet.
        if v6:
            ip = struct.pack("!IHBB16s16s", 6 << 28, len(qd), 17, 64, src, dst)
            frames.append(b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x86\xdd" + ip + qd)
        else:
            frames.append(ip_frame(src, dst, 17, qd[:6] + b"\0\0" + qd[8:]))
        frames += fragments(dst, src, 17, rd, ident, 1000, order)
        want[cport] = {"id": ident & 0xFFFF, "qname": qname, "answer_count": n,
                      "first": addrs[0], "last": addrs[-1]}
    return frames, want


def reordered():
    """TCP streams as a receiver would have to put them back together:
    - TLS (port 443, client 41001): a ClientHello in three segments that
      arrive 3, 1, 2 and a ServerHello in two that arrive 2, 1;
    - HTTP (80, client 41002): a request in three segments that arrive 1,
      3, 2, the second again (a retransmission), and a response in two
      whose second starts 10 bytes inside the first (an overlap);
    - HTTP (80, client 41003): a request, its response, a second request
      the capture never had, a third one, and the server's
      acknowledgement past the third (the hole will not fill).
    Returns the frames, the expected metadata by client port and the
    reassembly counters they must produce: held segments 4 (one per
    stream arriving early), retransmits 1, overlaps 1, gaps 1."""
    frames, want = [], {}
    sni = "reorder.l7gen.example"
    ch, ja3_string = client_hello(sni)
    sh, ja3s_string = server_hello()
    t = Tcp(frames, 41001, 443)
    s0, a, b = t.seq[0], 40, 100
    for off, end in ((b, len(ch)), (0, a), (a, b)):
        t.seg(0, 0x18, ch[off:end], seq=s0 + off)
    t.seq[0] += len(ch)
    s1 = t.seq[1]
    for off, end in ((30, len(sh)), (0, 30)):
        t.seg(1, 0x18, sh[off:end], seq=s1 + off)
    t.seq[1] += len(sh)
    t.close()
    want[41001] = {"tls": {"sni": sni, "ja3": hashlib.md5(ja3_string.encode()).hexdigest(),
                           "ja3s": hashlib.md5(ja3s_string.encode()).hexdigest()}}

    t = Tcp(frames, 41002, 80)
    req = (b"GET /reorder/a.html HTTP/1.1\r\nHost: reorder.l7gen.example\r\n"
           b"User-Agent: l7gen-reorder/1.0\r\n\r\n")
    s0 = t.seq[0]
    for off, end in ((0, 25), (50, len(req)), (25, 50), (25, 50)):
        t.seg(0, 0x18, req[off:end], seq=s0 + off)
    t.seq[0] += len(req)
    resp = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
    s1 = t.seq[1]
    t.seg(1, 0x18, resp[:40], seq=s1)
    t.seg(1, 0x18, resp[30:], seq=s1 + 30)
    t.seq[1] += len(resp)
    t.close()
    want[41002] = {"http": [{"method": "GET", "host": "reorder.l7gen.example",
                             "uri": "/reorder/a.html", "user_agent": "l7gen-reorder/1.0",
                             "status": 200, "content_type": "text/plain"}]}

    t = Tcp(frames, 41003, 80)
    ok = b"HTTP/1.1 204 No Content\r\n\r\n"
    t.send(0, b"GET /first HTTP/1.1\r\nHost: gap.l7gen.example\r\n\r\n")
    t.send(1, ok)
    t.seq[0] += len(b"GET /second HTTP/1.1\r\nHost: gap.l7gen.example\r\n\r\n")
    t.send(0, b"GET /third HTTP/1.1\r\nHost: gap.l7gen.example\r\n\r\n")
    t.seg(1, 0x10, b"")
    t.close()
    want[41003] = {"http": [{"method": "GET", "host": "gap.l7gen.example", "uri": "/first",
                             "status": 204}]}
    counters = {"held": 4, "retransmits": 1, "overlaps": 1, "gaps": 1, "beyond_depth": 0}
    return frames, want, counters


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            ts = T0 + i * 1000
            f.write(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(fr), len(fr)))
            f.write(fr)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: l7gen.py OUT.pcap")
    frames, want = build()
    write_pcap(sys.argv[1], frames)
    print(json.dumps(want))


if __name__ == "__main__":
    main()
