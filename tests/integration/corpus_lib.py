# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for the corpus oracle tests (test_corpus*.py).

Standard library only. The oracle is ../shared/corpus/<capture>.expect.json,
made by tshark (see ../shared/corpus/EXPECT.md). This module:
  - finds the binary and the corpus (PR_BIN, PR_CORPUS, PR_SOURCE_DIR),
  - runs `packetrecorder` with a timeout and parses its JSON,
  - converts the oracle's decimal timestamps to integer nanoseconds exactly,
  - reads pcap/pcapng files itself (an oracle independent of the binary) to
    find IP fragments and tunnels, the documented sources of flow differences,
  - compares our flow records with tshark's tcp/udp streams.
"""

import collections
import ipaddress
import json
import os
import struct
import subprocess
import sys
import time

EXIT_SKIP = 77
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")

# --------------------------------------------------------------------------
# Locations


def source_dir():
	env = os.environ.get("PR_SOURCE_DIR")
	if env:
		return env
	return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def corpus_dir():
	env = os.environ.get("PR_CORPUS")
	if env:
		return env
	return os.path.join(source_dir(), "..", "shared", "corpus")


def binary():
	env = os.environ.get("PR_BIN")
	if env:
		return env
	for build in ("build-lead", "build"):
		cand = os.path.join(source_dir(), build, "controlplane", "packetrecorder")
		if os.access(cand, os.X_OK):
			return cand
	return os.path.join(source_dir(), "build", "controlplane", "packetrecorder")


def require_corpus_and_binary():
	"""Exit 77 (ctest: skipped) when the corpus or the binary is missing."""
	corpus = corpus_dir()
	if not os.path.isdir(corpus):
		print("skipped: ../shared/corpus not found")
		sys.exit(EXIT_SKIP)
	exe = binary()
	if not os.access(exe, os.X_OK):
		print("skipped: packetrecorder binary not found (%s; set PR_BIN)" % exe)
		sys.exit(EXIT_SKIP)
	return os.path.abspath(corpus), os.path.abspath(exe)


def list_captures(corpus, include_dirs=None, exclude_dirs=()):
	"""Capture files under corpus, sorted, as paths relative to corpus."""
	out = []
	for root, dirs, files in os.walk(corpus):
		dirs.sort()
		rel_root = os.path.relpath(root, corpus)
		top = rel_root.split(os.sep)[0] if rel_root != "." else ""
		if top in exclude_dirs:
			continue
		if include_dirs is not None and top not in include_dirs:
			continue
		for name in sorted(files):
			if name.endswith(CAPTURE_SUFFIXES):
				out.append(os.path.normpath(os.path.join(rel_root, name)))
	return out


def load_oracle(corpus, rel):
	path = os.path.join(corpus, rel + ".expect.json")
	if not os.path.exists(path):
		return None
	with open(path, "r", encoding="utf-8") as f:
		return json.load(f)


# --------------------------------------------------------------------------
# Running the binary


class Run:
	__slots__ = ("argv", "rc", "stdout", "stderr", "timed_out")

	def __init__(self, argv, rc, stdout, stderr, timed_out=False):
		self.argv = argv
		self.rc = rc
		self.stdout = stdout
		self.stderr = stderr
		self.timed_out = timed_out

	def json(self):
		return json.loads(self.stdout)

	def describe(self):
		tail = self.stderr.strip().splitlines()[-3:]
		return "rc=%s%s: %s" % (self.rc, " (timeout)" if self.timed_out else "",
				       " | ".join(tail))


def run(argv, timeout=120, env=None):
	full_env = dict(os.environ)
	# Never let a key from the caller's environment change what the test does.
	full_env.pop("PACKETRECORDER_DB_KEY", None)
	# ctest passes the dataplane of the same build; use it.
	if os.environ.get("PR_DATAPLANE_BIN") and "PACKETRECORDER_DATAPLANE" not in full_env:
		full_env["PACKETRECORDER_DATAPLANE"] = os.environ["PR_DATAPLANE_BIN"]
	if env:
		full_env.update(env)
	for attempt in range(10):
		try:
			p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
					   stderr=subprocess.PIPE, timeout=timeout, env=full_env)
			break
		except subprocess.TimeoutExpired as e:
			return Run(argv, None, _dec(e.stdout), _dec(e.stderr), timed_out=True)
		except OSError as e:
			# The binary is being relinked (EACCES, ETXTBSY, ENOENT): wait a bit.
			if attempt == 9:
				return Run(argv, None, "", "cannot run %s: %s" % (argv[0], e))
			time.sleep(2)
	return Run(argv, p.returncode, _dec(p.stdout), _dec(p.stderr))


def _dec(b):
	if b is None:
		return ""
	return b.decode("utf-8", "replace")


SANITIZER_MARKERS = ("AddressSanitizer", "runtime error:", "LeakSanitizer",
		     "ThreadSanitizer", "UndefinedBehaviorSanitizer")


def sanitizer_report(stderr):
	for m in SANITIZER_MARKERS:
		if m in stderr:
			return m
	return None


# --------------------------------------------------------------------------
# Timestamps


def ts_to_ns(s):
	"""'1138357073.253837000' -> 1138357073253837000, exactly (no floats)."""
	s = s.strip()
	neg = s.startswith("-")
	if neg:
		s = s[1:]
	whole, _, frac = s.partition(".")
	if len(frac) > 9:
		if frac[9:].strip("0"):
			raise ValueError("timestamp finer than 1 ns: %r" % s)
		frac = frac[:9]
	ns = int(whole or "0") * 1000000000 + int((frac + "000000000")[:9])
	return -ns if neg else ns


def ns_to_str(ns):
	sign = "-" if ns < 0 else ""
	ns = abs(ns)
	return "%s%d.%09d" % (sign, ns // 1000000000, ns % 1000000000)


# --------------------------------------------------------------------------
# Reading capture files (independent of the binary under test)


class CaptureReadError(Exception):
	pass


def iter_capture(path):
	"""Yield (linktype, ts_ns, cap_len, wire_len, data) for each frame.

	Stops quietly at a truncated record (like a reader that keeps what it
	could read); sets nothing else. Raises CaptureReadError on an unknown
	magic number.
	"""
	with open(path, "rb") as f:
		buf = f.read()
	if len(buf) < 4:
		return
	magic = buf[:4]
	if magic == b"\x0a\x0d\x0d\x0a":
		yield from _iter_pcapng(buf)
		return
	yield from _iter_pcap(buf)


def _iter_pcap(buf):
	if len(buf) < 24:
		return
	m_le = struct.unpack("<I", buf[:4])[0]
	table = {0xa1b2c3d4: 1000, 0xa1b23c4d: 1, 0xa1b2cd34: 1000}
	if m_le in table:
		e = "<"
		magic = m_le
	else:
		magic = struct.unpack(">I", buf[:4])[0]
		if magic not in table:
			raise CaptureReadError("unknown magic %s" % buf[:4].hex())
		e = ">"
	mult = table[magic]
	rec_extra = 8 if magic == 0xa1b2cd34 else 0
	linktype = struct.unpack(e + "I", buf[20:24])[0] & 0x0fffffff
	off = 24
	hdr = struct.Struct(e + "IIII")
	n = len(buf)
	while off + 16 + rec_extra <= n:
		sec, frac, incl, orig = hdr.unpack_from(buf, off)
		off += 16 + rec_extra
		if incl > 0x4000000 or off + incl > n:
			return
		yield linktype, sec * 1000000000 + frac * mult, incl, orig, buf[off:off + incl]
		off += incl


def _iter_pcapng(buf):
	n = len(buf)
	off = 0
	e = "<"
	ifaces = []  # (linktype, ticks_per_sec, offset_s)
	while off + 12 <= n:
		btype_raw = buf[off:off + 4]
		if btype_raw == b"\x0a\x0d\x0d\x0a":
			bom = buf[off + 8:off + 12]
			if bom == b"\x4d\x3c\x2b\x1a":
				e = "<"
			elif bom == b"\x1a\x2b\x3c\x4d":
				e = ">"
			else:
				return
			ifaces = []
		btype, blen = struct.unpack_from(e + "II", buf, off)
		if blen < 12 or blen % 4 or off + blen > n:
			return
		body = buf[off + 8:off + blen - 4]
		if btype == 1 and len(body) >= 8:  # Interface Description Block
			lt = struct.unpack_from(e + "H", body, 0)[0]
			tps = 1000000
			tsoff = 0
			for code, val in _pcapng_options(body[8:], e):
				if code == 9 and len(val) >= 1:
					r = val[0]
					tps = (2 ** (r & 0x7f)) if r & 0x80 else (10 ** r)
				elif code == 14 and len(val) >= 8:
					tsoff = struct.unpack(e + "q", val[:8])[0]
			ifaces.append((lt, tps, tsoff))
		elif btype == 6 and len(body) >= 20:  # Enhanced Packet Block
			ifid, th, tl, incl, orig = struct.unpack_from(e + "IIIII", body, 0)
			if ifid < len(ifaces) and 20 + incl <= len(body):
				lt, tps, tsoff = ifaces[ifid]
				ticks = (th << 32) | tl
				ts = (ticks * 1000000000) // tps + tsoff * 1000000000
				yield lt, ts, incl, orig, body[20:20 + incl]
		elif btype == 3 and len(body) >= 4 and ifaces:  # Simple Packet Block
			orig = struct.unpack_from(e + "I", body, 0)[0]
			incl = min(orig, len(body) - 4)
			yield ifaces[0][0], 0, incl, orig, body[4:4 + incl]
		elif btype == 2 and len(body) >= 20:  # obsolete Packet Block
			ifid, _drops, th, tl, incl, orig = struct.unpack_from(e + "HHIIII", body, 0)
			if ifid < len(ifaces) and 20 + incl <= len(body):
				lt, tps, tsoff = ifaces[ifid]
				ts = (((th << 32) | tl) * 1000000000) // tps + tsoff * 1000000000
				yield lt, ts, incl, orig, body[20:20 + incl]
		off += blen


def _pcapng_options(b, e):
	off = 0
	while off + 4 <= len(b):
		code, ln = struct.unpack_from(e + "HH", b, off)
		if code == 0:
			return
		yield code, b[off + 4:off + 4 + ln]
		off += 4 + ln + ((4 - ln % 4) % 4)


# --------------------------------------------------------------------------
# A minimal L2/L3 walk: enough to find IP fragments and tunnels.

ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
ETH_VLANS = (0x8100, 0x88A8, 0x9100, 0x9200)
ETH_MPLS = (0x8847, 0x8848)
ETH_PPPOE = 0x8864
TUNNEL_UDP_PORTS = {4789: "vxlan", 6081: "geneve", 2152: "gtp-u", 2123: "gtp-c",
		    3544: "teredo", 4790: "vxlan-gpe", 1701: "l2tp", 8472: "vxlan"}
IPPROTO_TUNNEL = {4: "ipip", 41: "ipv6-in-ip", 47: "gre", 97: "etherip", 115: "l2tp"}


def _l3_start(linktype, d):
	"""Return (ethertype-like 4/6 or 0, offset) of the first IP header."""
	if linktype == 1:  # Ethernet
		return _ether(d, 12)
	if linktype in (101, 12, 14):  # RAW
		if d and d[0] >> 4 in (4, 6):
			return d[0] >> 4, 0
		return 0, 0
	if linktype == 228:
		return 4, 0
	if linktype == 229:
		return 6, 0
	if linktype in (0, 108):  # NULL / LOOP: 4-byte address family
		if len(d) < 4:
			return 0, 0
		fam_le = struct.unpack_from("<I", d, 0)[0]
		fam_be = struct.unpack_from(">I", d, 0)[0]
		fam = fam_le if fam_le < 256 else fam_be
		if fam == 2:
			return 4, 4
		if fam in (10, 24, 28, 30):
			return 6, 4
		return 0, 0
	if linktype == 113:  # Linux SLL: protocol at 14
		return _ether(d, 14)
	if linktype == 276:  # SLL2: protocol at 0
		if len(d) < 20:
			return 0, 0
		return _ethertype_at(d, struct.unpack_from(">H", d, 0)[0], 20)
	if linktype in (9, 50, 104):  # PPP / PPP-HDLC / Cisco HDLC
		if linktype == 104:
			if len(d) < 4:
				return 0, 0
			return _ethertype_at(d, struct.unpack_from(">H", d, 2)[0], 4)
		off = 2 if d[:2] == b"\xff\x03" else 0
		if len(d) < off + 2:
			return 0, 0
		proto = struct.unpack_from(">H", d, off)[0]
		if proto == 0x0021:
			return 4, off + 2
		if proto == 0x0057:
			return 6, off + 2
		return 0, 0
	return 0, 0


def _ether(d, type_off):
	if len(d) < type_off + 2:
		return 0, 0
	return _ethertype_at(d, struct.unpack_from(">H", d, type_off)[0], type_off + 2)


def _ethertype_at(d, et, off):
	for _ in range(8):
		if et in ETH_VLANS:
			if len(d) < off + 4:
				return 0, 0
			et = struct.unpack_from(">H", d, off + 2)[0]
			off += 4
			continue
		if et in ETH_MPLS:
			while len(d) >= off + 4:
				bos = d[off + 2] & 1
				off += 4
				if bos:
					break
			if len(d) > off and d[off] >> 4 in (4, 6):
				return d[off] >> 4, off
			return 0, 0
		if et == ETH_PPPOE:
			if len(d) < off + 8:
				return 0, 0
			proto = struct.unpack_from(">H", d, off + 6)[0]
			off += 8
			if proto == 0x0021:
				return 4, off
			if proto == 0x0057:
				return 6, off
			return 0, 0
		break
	if et == ETH_IPV4:
		return 4, off
	if et == ETH_IPV6:
		return 6, off
	return 0, 0


class IpInfo:
	"""What the L3 walk found in one frame's outermost IP header."""
	__slots__ = ("version", "src", "dst", "proto", "fragment", "first_fragment",
		     "sport", "dport", "tunnel", "tcp_flags", "tcp_seq")

	def __init__(self):
		self.version = 0
		self.src = self.dst = None
		self.proto = None
		self.fragment = False
		self.first_fragment = False
		self.sport = self.dport = None
		self.tunnel = None
		self.tcp_flags = None
		self.tcp_seq = None


IPV6_EXT = (0, 43, 60, 135, 139, 140)


def walk_ip(linktype, d):
	"""Outermost IP header facts of one frame, or None."""
	ver, off = _l3_start(linktype, d)
	if not ver:
		return None
	info = IpInfo()
	info.version = ver
	l4 = None
	if ver == 4:
		if len(d) < off + 20 or d[off] >> 4 != 4:
			return None
		ihl = (d[off] & 0x0f) * 4
		flags_off = struct.unpack_from(">H", d, off + 6)[0]
		mf = bool(flags_off & 0x2000)
		foff = (flags_off & 0x1fff) * 8
		info.proto = d[off + 9]
		info.src = ipaddress.IPv4Address(d[off + 12:off + 16])
		info.dst = ipaddress.IPv4Address(d[off + 16:off + 20])
		if mf or foff:
			info.fragment = True
			info.first_fragment = foff == 0
		if foff == 0 and ihl >= 20:
			l4 = off + ihl
	else:
		if len(d) < off + 40 or d[off] >> 4 != 6:
			return None
		nxt = d[off + 6]
		info.src = ipaddress.IPv6Address(d[off + 8:off + 24])
		info.dst = ipaddress.IPv6Address(d[off + 24:off + 40])
		p = off + 40
		l4 = p
		for _ in range(10):
			if nxt == 44:  # Fragment header
				if len(d) < p + 8:
					l4 = None
					break
				fo = struct.unpack_from(">H", d, p + 2)[0]
				info.fragment = True
				info.first_fragment = (fo & 0xfff8) == 0
				nxt = d[p]
				p += 8
				if not info.first_fragment:
					l4 = None
					break
				l4 = p
				continue
			if nxt in IPV6_EXT:
				if len(d) < p + 2:
					l4 = None
					break
				ln = (d[p + 1] + 1) * 8 if nxt != 51 else (d[p + 1] + 2) * 4
				nxt = d[p]
				p += ln
				l4 = p
				continue
			break
		info.proto = nxt
	if info.proto in IPPROTO_TUNNEL:
		info.tunnel = IPPROTO_TUNNEL[info.proto]
	if l4 is not None and info.proto in (6, 17, 132) and len(d) >= l4 + 4:
		info.sport, info.dport = struct.unpack_from(">HH", d, l4)
		if info.proto == 6 and len(d) >= l4 + 14:
			info.tcp_flags = d[l4 + 13]
			info.tcp_seq = struct.unpack_from(">I", d, l4 + 4)[0]
		if info.proto == 17:
			for port in (info.sport, info.dport):
				if port in TUNNEL_UDP_PORTS:
					info.tunnel = TUNNEL_UDP_PORTS[port]
	return info


class CaptureFacts:
	"""Facts the flow comparison needs, read from the capture file itself."""

	def __init__(self):
		self.frames = 0
		self.frag_pairs = set()  # (l4 proto, frozenset{src ip, dst ip}) with fragments
		self.frag_ip_pairs = set()  # frozenset{src ip, dst ip} with fragments
		self.tunnels = collections.Counter()  # tunnel kind -> frames
		self.tunnel_ip_pairs = set()  # outer ip pairs carrying a tunnel
		self.max_cap_len = 0
		self.read_error = None


def capture_facts(path):
	facts = CaptureFacts()
	try:
		for lt, _ts, incl, _orig, data in iter_capture(path):
			facts.frames += 1
			if incl > facts.max_cap_len:
				facts.max_cap_len = incl
			info = walk_ip(lt, data)
			if info is None:
				continue
			pair = frozenset((info.src, info.dst))
			if info.fragment:
				facts.frag_pairs.add((info.proto, pair))
				facts.frag_ip_pairs.add(pair)
			if info.tunnel:
				facts.tunnels[info.tunnel] += 1
				facts.tunnel_ip_pairs.add(pair)
	except (CaptureReadError, struct.error, ValueError) as e:
		facts.read_error = str(e)
	return facts


# --------------------------------------------------------------------------
# Flows

PROTO_NUM = {"tcp": 6, "udp": 17}
PROTO_NAME = {6: "tcp", 17: "udp"}
TIMEOUT_REASONS = ("idle", "active_timeout")


def norm_ip(s):
	try:
		return ipaddress.ip_address(s.strip("[]"))
	except ValueError:
		return s


def parse_endpoint(s):
	"""'1.2.3.4:80' or '[::1]:80' -> (ip_address, port)."""
	if s.startswith("["):
		addr, _, port = s[1:].rpartition("]:")
	else:
		addr, _, port = s.rpartition(":")
	return norm_ip(addr), int(port)


def ep_str(ep):
	ip, port = ep
	if isinstance(ip, ipaddress.IPv6Address):
		return "[%s]:%d" % (ip, port)
	return "%s:%d" % (ip, port)


class Flow:
	"""One flow, either side, with per-endpoint direction counters."""
	__slots__ = ("proto", "a", "b", "packets", "bytes", "pkts_ab", "bytes_ab",
		     "pkts_ba", "bytes_ba", "first_ts", "end_reason", "vlan", "records")

	def __init__(self, proto, a, b, packets, nbytes, pkts_ab, bytes_ab, pkts_ba, bytes_ba):
		self.proto = proto
		self.a = a
		self.b = b
		self.packets = packets
		self.bytes = nbytes
		self.pkts_ab = pkts_ab
		self.bytes_ab = bytes_ab
		self.pkts_ba = pkts_ba
		self.bytes_ba = bytes_ba
		self.first_ts = 0
		self.end_reason = None
		self.vlan = 0
		self.records = 1

	def pair(self):
		return frozenset((self.a, self.b))

	def ip_pair(self):
		return frozenset((self.a[0], self.b[0]))

	def key(self):
		"""Multiset key: (proto, unordered endpoint pair, packets, bytes)."""
		return (self.proto, self.pair(), self.packets, self.bytes)

	def directed(self, src):
		"""(packets, bytes) sent by endpoint src."""
		if src == self.a:
			return self.pkts_ab, self.bytes_ab
		return self.pkts_ba, self.bytes_ba

	def absorb(self, other):
		"""Add a later record of the same 5-tuple (orientation may differ)."""
		self.packets += other.packets
		self.bytes += other.bytes
		pa, ba = other.directed(self.a)
		pb, bb = other.directed(self.b)
		self.pkts_ab += pa
		self.bytes_ab += ba
		self.pkts_ba += pb
		self.bytes_ba += bb
		self.end_reason = other.end_reason
		self.records += other.records

	def describe(self):
		return "%s %s <-> %s %d pkts %d B (%d/%d pkts)" % (
			PROTO_NAME.get(self.proto, self.proto), ep_str(self.a), ep_str(self.b),
			self.packets, self.bytes, self.pkts_ab, self.pkts_ba)


def oracle_flows(oracle, which="outer"):
	"""tshark's TCP/UDP streams as Flows. which: "outer" (tunneled: false,
	the ones we compare), "tunneled" (inside a tunnel) or "all"."""
	out = []
	for f in oracle.get("flows", []):
		tun = bool(f.get("tunneled"))
		if (which == "outer" and tun) or (which == "tunneled" and not tun):
			continue
		proto = PROTO_NUM.get(f.get("proto"))
		if proto is None:
			continue
		fl = Flow(proto, parse_endpoint(f["a"]), parse_endpoint(f["b"]), f["packets"], f["bytes"],
			  f["packets_a_to_b"], f["bytes_a_to_b"], f["packets_b_to_a"], f["bytes_b_to_a"])
		fl.first_ts = ts_to_ns(f["first_ts"]) if f.get("first_ts") else 0
		out.append(fl)
	return out


TCP_SYN, TCP_ACK, TCP_RST = 0x02, 0x10, 0x04


def tcp_first_packets(path):
	"""{(unordered endpoint pair, ts_ns): (flags, seq, src endpoint)} of the
	first TCP packet of each pair at each timestamp."""
	out = {}
	try:
		for lt, ts, _incl, _orig, data in iter_capture(path):
			info = walk_ip(lt, data)
			if info is None or info.proto != 6 or info.tcp_flags is None:
				continue
			src = (info.src, info.sport)
			key = (frozenset((src, (info.dst, info.dport))), ts)
			if key not in out:
				out[key] = (info.tcp_flags, info.tcp_seq, src)
	except (CaptureReadError, struct.error, ValueError):
		pass
	return out


class SynLookup:
	"""How a flow record began, from the capture file itself (read lazily,
	only when a record needs it)."""

	def __init__(self, path):
		self.path = path
		self.map = None

	def first(self, fl):
		if self.map is None:
			self.map = tcp_first_packets(self.path)
		return self.map.get((fl.pair(), fl.first_ts))

	def continues(self, prev, nxt):
		"""True if tshark would keep nxt in prev's tcp.stream: nxt does not
		begin with a SYN, or with a SYN of the same initial sequence number
		as prev's (a retransmission). tshark starts a new stream only for a
		SYN with a new ISN."""
		n = self.first(nxt)
		if n is None:
			return False  # unknown: do not join
		flags, seq, src = n
		if (flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN:
			return True
		p = self.first(prev)
		if p is None:
			return False
		return (p[0] & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN and p[1] == seq and p[2] == src


def our_flows(records, syn_lookup=None):
	"""TCP/UDP records of `flows --json`, with timeout-split records joined.

	tshark has no timeouts, so consecutive records of one 5-tuple (and
	VLAN) are joined when the earlier one ended by a timeout:
	  - `idle` or `active_timeout`: a flow cut by a timeout continues as a
	    new record with the same 5-tuple (docs/CLI.md);
	  - `fin` or `rst` when the later record does not begin with a SYN of
	    a new ISN (checked in the capture file via syn_lookup): the closed
	    TCP connection was forgotten after the closed timeout
	    (flow_tcp_closed_timeout_s) and a late packet (ACK, RST,
	    retransmitted SYN) opened a record of its own; tshark starts a new
	    tcp.stream only for a SYN with a new initial sequence number.
	Records ended by reused/evicted/shutdown stay apart.
	"""
	flows = []
	for r in records:
		proto = r.get("ip_proto")
		if proto not in (6, 17):
			continue
		fl = Flow(proto, (norm_ip(r["src_ip"]), r["src_port"]), (norm_ip(r["dst_ip"]), r["dst_port"]),
			  r["packets"], r["bytes"], r["packets_to_server"], r["bytes_to_server"],
			  r["packets_to_client"], r["bytes_to_client"])
		fl.first_ts = r.get("first_ts", 0)
		fl.end_reason = r.get("end_reason")
		fl.vlan = r.get("vlan", 0)
		flows.append(fl)
	by_tuple = collections.OrderedDict()
	for fl in sorted(flows, key=lambda x: x.first_ts):
		by_tuple.setdefault((fl.proto, fl.pair(), fl.vlan), []).append(fl)
	out = []
	for recs in by_tuple.values():
		cur = recs[0]
		for nxt in recs[1:]:
			if cur.end_reason in TIMEOUT_REASONS or (
					cur.proto == 6 and cur.end_reason in ("fin", "rst") and
					syn_lookup is not None and syn_lookup.continues(cur, nxt)):
				cur.absorb(nxt)
			else:
				out.append(cur)
				cur = nxt
		out.append(cur)
	return out


def merge_vlans(flows):
	"""Merge our records of one 5-tuple seen on several VLANs (we key on the
	outermost VLAN, tshark's streams do not). Returns (flows, merged?)."""
	groups = collections.OrderedDict()
	for fl in flows:
		groups.setdefault((fl.proto, fl.pair()), []).append(fl)
	out, merged = [], False
	for recs in groups.values():
		if len({f.vlan for f in recs}) > 1:
			recs = sorted(recs, key=lambda x: x.first_ts)
			head = recs[0]
			for r in recs[1:]:
				head.absorb(r)
			out.append(head)
			merged = True
		else:
			out.extend(recs)
	return out, merged


def merge_udp_streams(flows):
	"""Merge tshark UDP streams that share a 5-tuple. tshark has no UDP
	timeouts, yet some dissectors create conversations that split one:
	SNMP puts a request in a stream of its own (seen with snmp/*.pcap; with
	`--disable-protocol snmp` the split goes away). Returns (flows, merged?)."""
	groups = collections.OrderedDict()
	for fl in flows:
		groups.setdefault((fl.proto, fl.pair()) if fl.proto == 17 else id(fl), []).append(fl)
	out, merged = [], False
	for recs in groups.values():
		head = recs[0]
		for r in recs[1:]:
			head.absorb(r)
			merged = True
		out.append(head)
	return out, merged


class FlowDiff:
	def __init__(self):
		self.only_ours = []  # Flow records (ours) without an equal oracle flow
		self.only_oracle = []  # oracle flows without an equal flow of ours
		self.direction = []  # (ours, oracle) equal totals, different directions
		self.matched = 0

	def ok(self):
		return not (self.only_ours or self.only_oracle or self.direction)

	def all_flows(self):
		return (self.only_ours + self.only_oracle +
			[o for o, _ in self.direction] + [t for _, t in self.direction])


def compare_flows(ours, theirs):
	"""Multiset compare on (proto, unordered pair, packets, bytes); then the
	per-direction counters of each matched pair (mapped by endpoint, so the
	orientation of the two records does not matter; skipped when both
	endpoints are equal and the direction is ambiguous)."""
	diff = FlowDiff()
	pool = collections.defaultdict(list)
	for t in theirs:
		pool[t.key()].append(t)
	for o in ours:
		cands = pool.get(o.key())
		if not cands:
			diff.only_ours.append(o)
			continue
		# Prefer an oracle flow whose direction counters agree.
		pick = None
		for i, t in enumerate(cands):
			if _directions_agree(o, t):
				pick = i
				break
		if pick is None:
			pick = 0
		t = cands.pop(pick)
		diff.matched += 1
		if not _directions_agree(o, t):
			diff.direction.append((o, t))
	for cands in pool.values():
		diff.only_oracle.extend(cands)
	return diff


def _directions_agree(o, t):
	if o.a == o.b:
		return True
	return o.directed(t.a) == (t.pkts_ab, t.bytes_ab) and o.directed(t.b) == (t.pkts_ba, t.bytes_ba)


def describe_diff(diff, limit=4):  # limit None: all
	"""Short lines: unmatched flows paired up by endpoints where possible."""
	lines = []
	theirs_by_pair = collections.defaultdict(list)
	for t in diff.only_oracle:
		theirs_by_pair[(t.proto, t.pair())].append(t)
	used = set()
	for o in diff.only_ours:
		ts = theirs_by_pair.get((o.proto, o.pair()))
		if ts:
			t = ts.pop(0)
			used.add(id(t))
			lines.append("flow %s %s<->%s: ours %d pkts/%d B%s, tshark %d pkts/%d B" % (
				PROTO_NAME[o.proto], ep_str(o.a), ep_str(o.b), o.packets, o.bytes,
				" (%d records, end %s)" % (o.records, o.end_reason) if o.records > 1 else
				" (end %s)" % o.end_reason, t.packets, t.bytes))
		else:
			lines.append("only ours: %s (end %s%s)" % (o.describe(), o.end_reason,
				", vlan %d" % o.vlan if o.vlan else ""))
	for t in diff.only_oracle:
		if id(t) not in used:
			lines.append("only tshark: %s" % t.describe())
	for o, t in diff.direction:
		lines.append("direction %s %s<->%s: ours %s->%d/%dB %s->%d/%dB, tshark %d/%dB %d/%dB" % (
			PROTO_NAME[o.proto], ep_str(t.a), ep_str(t.b), ep_str(t.a), *o.directed(t.a),
			ep_str(t.b), *o.directed(t.b), t.pkts_ab, t.bytes_ab, t.pkts_ba, t.bytes_ba))
	if limit is not None and len(lines) > limit:
		more = len(lines) - limit
		lines = lines[:limit] + ["... %d more" % more]
	return lines
