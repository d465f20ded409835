#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write a large, deterministic, mixed-traffic pcap for the benchmarks.

    gen_mixed.py --output mixed.pcap [--packets 2000000] [--seed 1]
                 [--concurrency 2000] [--rate 50000]

The trace interleaves many flows (`--concurrency` open at a time):
  - TCP sessions (HTTP on 80/8080, TLS-like on 443, SSH-like on 22): three-way
    handshake with MSS/SACK/timestamp/window-scale options, one to three
    request/response rounds (responses of 0.3 kB .. 0.6 MB in MSS-sized
    segments, the client acking every second segment), then FIN teardown
    (some end with RST);
  - DNS over UDP (A and AAAA questions, answered), other UDP (RTP-like and
    random sizes), ICMP / ICMPv6 echo request and reply;
  - about 12 % of flows over IPv6 and 10 % with an 802.1Q VLAN tag.
Frames are 66..1514 bytes (Ethernet, no FCS) with valid IPv4 header, TCP,
UDP and ICMP checksums. Payloads are slices of one 16 MiB pseudo-random
block at random offsets, so they do not compress away (HTTP and DNS are
text). The output is byte-for-byte the same for the same arguments.
Classic pcap, microsecond timestamps, LINKTYPE_ETHERNET, snaplen 65535.

Speed: frames are built from per-flow prebuilt header parts; payload
checksums come from prefix sums over the block; output is written in
large chunks. The trace is made of 4 segments (flows do not cross them;
addresses differ per segment) written by up to --jobs processes, then
concatenated; the bytes do not depend on --jobs. 2,000,000 packets take
~15 s on 2 idle cores.
"""

import argparse
import array
import concurrent.futures
import itertools
import os
import random
import shutil
import struct
import sys
import time

BLOCK_SIZE = 16 << 20
START_TS_US = 1704067200 * 1000000  # 2024-01-01T00:00:00Z
ETH_IPV4 = b"\x08\x00"
ETH_IPV6 = b"\x86\xdd"
ETH_VLAN = b"\x81\x00"

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

HOSTS = ["www", "mail", "api", "cdn", "static", "login", "img", "video", "chat", "updates"]
DOMAINS = ["example.com", "example.net", "example.org", "test.invalid", "corp.example"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0",
	  "curl/7.88.1", "python-requests/2.31.0",
	  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0"]


def fold(s):
	while s >> 16:
		s = (s & 0xffff) + (s >> 16)
	return s


_TCP_TS = struct.Struct("!HHIIBBHHH4sII")  # TCP header, then NOP NOP TS(8, 10) tsval tsecr
_IP4 = struct.Struct("!BBHHHBBH")
_IP6 = struct.Struct("!IHBB")
_UNPACK_WORDS = [struct.Struct("!%dH" % n).unpack for n in range(1024)]


def csum_bytes(b):
	"""Sum of the 16-bit big-endian words of b (zero-padded), not folded."""
	if len(b) & 1:
		b += b"\x00"
	return sum(_UNPACK_WORDS[len(b) >> 1](b))


class Block:
	"""16 MiB of pseudo-random bytes and prefix sums of its 16-bit words."""

	def __init__(self, rng):
		self.data = rng.randbytes(BLOCK_SIZE)
		words = array.array("H", self.data)
		if sys.byteorder == "little":
			words.byteswap()  # network order words
		self.prefix = array.array("Q", [0])
		self.prefix.extend(itertools.accumulate(words))

	def slice(self, rng, n):
		"""(bytes, one's complement partial sum) of n random bytes."""
		off = int(rng.random() * (BLOCK_SIZE - n - 2)) & ~1
		b = self.data[off:off + n]
		half = n >> 1
		s = self.prefix[(off >> 1) + half] - self.prefix[off >> 1]
		if n & 1:
			s += b[-1] << 8
		return b, s


class Endpoints:
	"""Prebuilt L2/L3 parts for one flow (both directions)."""

	def __init__(self, v6, vlan, c_ip, s_ip, c_mac, s_mac, ttl_c, ttl_s):
		self.v6 = v6
		self.vlan = vlan
		et = ETH_IPV6 if v6 else ETH_IPV4
		tag = ETH_VLAN + struct.pack("!H", vlan) if vlan else b""
		self.eth = (s_mac + c_mac + tag + et, c_mac + s_mac + tag + et)  # [0]: c->s
		self.ip = (c_ip, s_ip)
		self.ttl = (ttl_c, ttl_s)
		self.addr_sum = csum_bytes(c_ip + s_ip)
		# IPv4 header words that never change in a direction: version/IHL,
		# DF flag, TTL, both addresses (protocol, length, id are added later).
		self.ip4_base = [0x4500 + 0x4000 + (t << 8) + self.addr_sum for t in self.ttl]
		self.ip_id = [1, 1]
		self.addrs = (c_ip + s_ip, s_ip + c_ip)

	def tcp(self, d, ports, flags, seq, ack, tsv, tsecr, payload, psum):
		"""The common TCP segment (20-byte header + NOP NOP timestamps), built
		with arithmetic checksums: the hot path of the generator."""
		l4len = 32 + len(payload)
		sp, dp = ports
		s = (self.addr_sum + 6 + l4len + sp + dp + (seq >> 16) + (seq & 0xffff) + (ack >> 16) +
		     (ack & 0xffff) + (0x8000 | flags) + 502 + 0x0101 + 0x080a + (tsv >> 16) +
		     (tsv & 0xffff) + (tsecr >> 16) + (tsecr & 0xffff) + psum)
		s = (s & 0xffff) + (s >> 16)
		s = (s & 0xffff) + (s >> 16)
		s = (s & 0xffff) + (s >> 16)
		tcph = _TCP_TS.pack(sp, dp, seq, ack, 0x80, flags, 502, (~s) & 0xffff, 0, b"\x01\x01\x08\x0a",
				    tsv, tsecr)
		if self.v6:
			iph = _IP6.pack(0x60000000, l4len, 6, self.ttl[d]) + self.addrs[d]
		else:
			ipid = self.ip_id[d]
			self.ip_id[d] = (ipid + 1) & 0xffff
			tl = 20 + l4len
			c = self.ip4_base[d] + 6 + tl + ipid
			c = (c & 0xffff) + (c >> 16)
			c = (c & 0xffff) + (c >> 16)
			iph = _IP4.pack(0x45, 0, tl, ipid, 0x4000, self.ttl[d], 6, (~c) & 0xffff) + self.addrs[d]
		return self.eth[d] + iph + tcph + payload

	def frame(self, d, proto, l4hdr, payload, payload_sum, ck_off={6: 16, 17: 6, 1: 2, 58: 2}):
		"""d = 0 client->server, 1 server->client. l4hdr has a zero checksum."""
		l4len = len(l4hdr) + len(payload)
		s = csum_bytes(l4hdr) + payload_sum
		if proto != 1:  # TCP, UDP, ICMPv6 cover a pseudo header; ICMPv4 does not
			s += self.addr_sum + proto + l4len
		s = (s & 0xffff) + (s >> 16)
		s = (s & 0xffff) + (s >> 16)
		ck = (~s) & 0xffff
		if ck == 0 and proto == 17:
			ck = 0xffff
		o = ck_off[proto]
		l4hdr = l4hdr[:o] + ck.to_bytes(2, "big") + l4hdr[o + 2:]
		if self.v6:
			iph = struct.pack("!IHBB", 0x60000000, l4len, proto, self.ttl[d]) + \
				self.ip[d] + self.ip[d ^ 1]
		else:
			ipid = self.ip_id[d]
			self.ip_id[d] = (ipid + 1) & 0xffff
			tl = 20 + l4len
			c = self.ip4_base[d] + proto + tl + ipid
			c = (c & 0xffff) + (c >> 16)
			c = (c & 0xffff) + (c >> 16)
			iph = struct.pack("!BBHHHBBH", 0x45, 0, tl, ipid, 0x4000, self.ttl[d], proto,
					  (~c) & 0xffff) + self.ip[d] + self.ip[d ^ 1]
		f = self.eth[d] + iph + l4hdr + payload
		if len(f) < 60:
			f += bytes(60 - len(f))
		return f


class Gen:
	def __init__(self, seed, block, segment):
		self.rng = random.Random(seed)
		self.block = block
		self.segment = segment  # keeps address spaces of segments apart
		self.nflows = 0

	# --- addresses -------------------------------------------------------
	def endpoints(self, v6):
		rng = self.rng
		self.nflows += 1
		n = self.nflows
		vlan = rng.choice((10, 20, 30, 100, 200)) if rng.random() < 0.10 else 0
		c_mac = b"\x02\x00" + struct.pack("!I", rng.randrange(1, 4096))
		s_mac = b"\x00\x1b\x21" + bytes((0x10, 0, rng.randrange(1, 64)))
		if v6:
			c_ip = (bytes.fromhex("20010db80001000000000000") +
				bytes((self.segment,)) + rng.randrange(1 << 24).to_bytes(3, "big"))
			s_ip = bytes.fromhex("20010db8ffff0000000000000000") + struct.pack("!H", rng.randrange(1, 512))
		else:
			c_ip = bytes((10, (self.segment << 6) | ((n >> 16) & 0x3f), rng.randrange(256),
				      rng.randrange(1, 255)))
			s_ip = bytes((198, 51, 100 + rng.randrange(3), rng.randrange(1, 255)))
		return Endpoints(v6, vlan, c_ip, s_ip, c_mac, s_mac, 64, rng.choice((54, 57, 117, 243)))

	def v6(self):
		return self.rng.random() < 0.12

	# --- flows: each returns an iterable of frames in order -------------
	def tcp_session(self):
		"""A generator: sessions can be long, build frames only when written."""
		rng = self.rng
		ep = self.endpoints(self.v6())
		mss = 1428 if ep.v6 else 1448
		cport = rng.randrange(32768, 61000)
		sport = rng.choices((443, 80, 8080, 22), (60, 25, 5, 10))[0]
		cseq, sseq = rng.getrandbits(32), rng.getrandbits(32)
		tsv = [rng.getrandbits(31), rng.getrandbits(31)]
		block = self.block

		ports = ((cport, sport), (sport, cport))

		def seg(d, flags, seq, ack, payload=b"", psum=0, syn_opts=None):
			seq &= 0xffffffff
			ack &= 0xffffffff
			if syn_opts is None:
				tsv[d] = (tsv[d] + 1) & 0xffffffff
				return ep.tcp(d, ports[d], flags, seq, ack, tsv[d], tsv[d ^ 1], payload, psum)
			hl = 20 + len(syn_opts)
			h = struct.pack("!HHIIBBHHH", ports[d][0], ports[d][1], seq, ack, (hl // 4) << 4, flags,
					64240, 0, 0) + syn_opts
			return ep.frame(d, 6, h, payload, psum)

		syn_opts_c = (b"\x02\x04" + struct.pack("!H", mss) + b"\x04\x02\x08\x0a" +
			      struct.pack("!II", tsv[0], 0) + b"\x01\x03\x03\x07")
		yield seg(0, TCP_SYN, cseq, 0, syn_opts=syn_opts_c)
		syn_opts_s = (b"\x02\x04" + struct.pack("!H", mss) + b"\x04\x02\x08\x0a" +
			      struct.pack("!II", tsv[1], tsv[0]) + b"\x01\x03\x03\x07")
		yield seg(1, TCP_SYN | TCP_ACK, sseq, cseq + 1, syn_opts=syn_opts_s)
		cseq += 1
		sseq += 1
		yield seg(0, TCP_ACK, cseq, sseq)
		rounds = rng.choices((1, 2, 3), (70, 20, 10))[0]
		for _ in range(rounds):
			if sport in (80, 8080):
				req = ("GET /%s/%d HTTP/1.1\r\nHost: %s.%s\r\nUser-Agent: %s\r\n"
				       "Accept: */*\r\nConnection: keep-alive\r\n\r\n" % (
					       rng.choice(("index.html", "api/v1/items", "img", "static/app.js")),
					       rng.randrange(100000), rng.choice(HOSTS), rng.choice(DOMAINS),
					       rng.choice(AGENTS))).encode()
				psum = csum_bytes(req)
			else:
				req, psum = block.slice(rng, rng.randrange(60, 700))
			yield seg(0, TCP_PSH | TCP_ACK, cseq, sseq, req, psum)
			cseq += len(req)
			total = rng.choices((300, 1500, 6000, 25000, 120000, 500000),
					    (25, 25, 20, 15, 10, 5))[0]
			total = max(1, total + rng.randrange(-total // 4, total // 4 + 1))
			n_seg = 0
			while total > 0:
				n = min(mss, total)
				pl, psum = block.slice(rng, n)
				yield seg(1, TCP_ACK | (TCP_PSH if n == total else 0), sseq, cseq, pl, psum)
				sseq += n
				total -= n
				n_seg += 1
				if n_seg % 2 == 0 or total == 0:
					yield seg(0, TCP_ACK, cseq, sseq)
		if rng.random() < 0.05:
			yield seg(0, TCP_RST | TCP_ACK, cseq, sseq)
		else:
			yield seg(0, TCP_FIN | TCP_ACK, cseq, sseq)
			cseq += 1
			yield seg(1, TCP_FIN | TCP_ACK, sseq, cseq)
			sseq += 1
			yield seg(0, TCP_ACK, cseq, sseq)

	def dns_exchange(self):
		rng = self.rng
		ep = self.endpoints(self.v6())
		cport = rng.randrange(1024, 65535)
		qid = rng.getrandbits(16)
		name = "%s%d.%s" % (rng.choice(HOSTS), rng.randrange(1000), rng.choice(DOMAINS))
		qname = b"".join(bytes((len(p),)) + p.encode() for p in name.split(".")) + b"\x00"
		aaaa = rng.random() < 0.3
		qtype = 28 if aaaa else 1
		question = qname + struct.pack("!HH", qtype, 1)
		query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1) + question + \
			b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"  # EDNS0 OPT
		nans = rng.choice((0, 1, 1, 2, 4))
		rcode = 3 if nans == 0 else 0
		answers = b""
		for i in range(nans):
			rdata = bytes(rng.randrange(256) for _ in range(16 if aaaa else 4))
			answers += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, rng.randrange(30, 86400),
							     len(rdata)) + rdata
		resp = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, nans, 0, 0) + question + answers
		out = []
		for d, msg in ((0, query), (1, resp)):
			ports = (cport, 53) if d == 0 else (53, cport)
			h = struct.pack("!HHHH", ports[0], ports[1], 8 + len(msg), 0)
			out.append(ep.frame(d, 17, h, msg, csum_bytes(msg)))
		return out

	def udp_flow(self):
		rng = self.rng
		ep = self.endpoints(self.v6())
		ports = (rng.randrange(32768, 61000), rng.choice((5004, 5006, 10000 + 2 * rng.randrange(10000))))
		n = rng.choices((1, 4, 20, 60), (30, 30, 25, 15))[0]
		rtp = rng.random() < 0.5
		base = 160 + rng.randrange(0, 1000) if rtp else 0
		out = []
		hdr_max = 62 if ep.v6 else 42
		for _ in range(n):
			d = 0 if rng.random() < 0.6 else 1
			size = base if rtp else 64 + int(rng.random() * 1451)
			plen = max(0, min(size, 1514) - hdr_max - (4 if ep.vlan else 0))
			pl, psum = self.block.slice(self.rng, max(plen, 22))
			sp, dp = (ports[0], ports[1]) if d == 0 else (ports[1], ports[0])
			h = struct.pack("!HHHH", sp, dp, 8 + len(pl), 0)
			out.append(ep.frame(d, 17, h, pl, psum))
		return out

	def icmp_echo(self):
		rng = self.rng
		ep = self.endpoints(self.v6())
		ident = rng.getrandbits(16)
		proto = 58 if ep.v6 else 1
		req_t, rep_t = (128, 129) if ep.v6 else (8, 0)
		out = []
		pl, psum = self.block.slice(rng, 56)
		for seq in range(1, rng.choice((1, 2, 4, 8)) + 1):
			for d, t in ((0, req_t), (1, rep_t)):
				h = struct.pack("!BBHHH", t, 0, 0, ident, seq)
				out.append(ep.frame(d, proto, h, pl, psum))
		return out

	def new_flow(self):
		k = self.rng.random()
		if k < 0.38:
			return self.tcp_session()
		if k < 0.72:
			return iter(self.dns_exchange())
		if k < 0.88:
			return iter(self.udp_flow())
		return iter(self.icmp_echo())


SEGMENTS = 4  # fixed, so the output does not depend on the number of cores
_BLOCKS = {}


def write_segment(job):
	"""Write frames [seg * n, (seg + 1) * n) of the trace to path (records only)."""
	seed, seg, npackets, stride, concurrency, mean_gap, path = job
	if seed not in _BLOCKS:
		_BLOCKS.clear()
		_BLOCKS[seed] = Block(random.Random(seed ^ 0x5eed))
	gen = Gen(seed * 1000003 + seg, _BLOCKS[seed], seg)
	rng = gen.rng
	active = [gen.new_flow() for _ in range(concurrency)]
	# Strictly increasing times, one mean gap apart plus jitter below one gap,
	# so segments join seamlessly: frame k of the trace is at k * gap + jitter.
	ts = START_TS_US + seg * stride * mean_gap
	rec = struct.Struct("<IIII")
	written = 0
	nbytes = 0
	chunk = []
	with open(path, "wb") as f:
		rnd = rng.random
		nactive = len(active)
		while written < npackets:
			k = int(rnd() * nactive)
			fr = next(active[k], None)
			while fr is None:
				active[k] = gen.new_flow()
				fr = next(active[k], None)
			t = ts + int(rnd() * mean_gap)
			ts += mean_gap
			ln = len(fr)
			chunk.append(rec.pack(t // 1000000, t % 1000000, ln, ln))
			chunk.append(fr)
			nbytes += ln
			written += 1
			if len(chunk) >= 131072:
				f.writelines(chunk)
				chunk = []
		f.writelines(chunk)
	return written, nbytes, gen.nflows


def main():
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("--output", "-o", required=True)
	ap.add_argument("--packets", "-n", type=int, default=2000000)
	ap.add_argument("--seed", type=int, default=1)
	ap.add_argument("--concurrency", type=int, default=2000, help="flows open at a time")
	ap.add_argument("--rate", type=int, default=50000, help="mean packets per second of trace time")
	ap.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
			help="worker processes (the output does not depend on it)")
	opts = ap.parse_args()
	t0 = time.monotonic()
	mean_gap = max(1, 1000000 // max(1, opts.rate))
	per = [opts.packets // SEGMENTS + (1 if i < opts.packets % SEGMENTS else 0)
	       for i in range(SEGMENTS)]
	stride = max(per)  # segment i starts at i * stride gaps: times stay increasing
	parts = ["%s.part%d" % (opts.output, i) for i in range(SEGMENTS)]
	jobs = [(opts.seed, i, per[i], stride, opts.concurrency, mean_gap, parts[i])
		for i in range(SEGMENTS)]
	try:
		if opts.jobs > 1:
			with concurrent.futures.ProcessPoolExecutor(max_workers=min(opts.jobs, SEGMENTS)) as pool:
				stats = list(pool.map(write_segment, jobs))
		else:
			stats = [write_segment(j) for j in jobs]
		with open(opts.output, "wb") as out:
			out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
			for part in parts:
				with open(part, "rb") as f:
					shutil.copyfileobj(f, out, 8 << 20)
				os.unlink(part)
	finally:
		for part in parts:
			if os.path.exists(part):
				os.unlink(part)
	written = sum(x[0] for x in stats)
	nbytes = sum(x[1] for x in stats)
	flows = sum(x[2] for x in stats)
	print("%s: %d packets, %d bytes of frames, %d flows started, %.1f s" % (
		opts.output, written, nbytes, flows, time.monotonic() - t0), file=sys.stderr)
	return 0


if __name__ == "__main__":
	sys.exit(main())
