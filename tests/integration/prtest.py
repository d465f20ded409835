# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the integration tests (tests/integration/test_*.py).

Finds the binaries (PR_BIN, PR_DATAPLANE_BIN, else under PR_BUILD_DIR), runs
the packetrecorder CLI with a timeout and an environment free of stray
PACKETRECORDER_* variables, parses its JSON, reads pcap and pcapng files
(a small reader of our own, to check exports), loads the fixture manifest
(tests/pcaps/manifest.json) and compares flows and packets with it.

A test script collects results in a Checks object and ends with
checks.finish(): exit 0 when everything passed, 1 otherwise. skip(msg)
exits 77, which ctest reports as skipped. Python 3 standard library only.
"""
import contextlib
import hashlib
import ipaddress
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("PR_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD_DIR = os.environ.get("PR_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
PCAPS = os.path.join(SOURCE_DIR, "tests", "pcaps")
GEN_DIR = os.path.join(PCAPS, "gen")
if GEN_DIR not in sys.path:
    sys.path.insert(0, GEN_DIR)
import gen_fixtures as gen  # noqa: E402

EXIT_OK, EXIT_RUNTIME, EXIT_KEY, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3, 4
EXIT_SKIP = 77

KEY = "prtest passphrase 1"
RAW_KEY = "5f" * 16 + "a3" * 16  # 64 hex digits: a raw key, no KDF

FLOW_FIELDS = ("ip_proto", "src_ip", "src_port", "dst_ip", "dst_port", "vlan", "first_ts",
               "last_ts", "packets", "bytes", "packets_to_server", "packets_to_client",
               "bytes_to_server", "bytes_to_client", "tcp_state", "end_reason")
SESSION_KEYS = ("session_id", "name", "source", "source_kind", "filter", "start_ts", "end_ts",
                "first_packet_ts", "last_packet_ts", "packets", "bytes", "captured_bytes",
                "drops", "drops_by_reason", "flows", "status", "message")
CAPTURE_KEYS = ("session_id", "name", "source", "source_kind", "filter", "status", "end_reason",
                "received", "packets", "bytes", "captured_bytes", "flows", "filtered", "truncated",
                "malformed", "drops", "drops_total", "duration_s", "encrypted")
DROP_KEYS = ("ring_full", "kernel", "interface", "too_big", "store", "no_socket", "xsk_rx_dropped",
             "xsk_rx_ring_full", "nic_missed", "nic_nombuf", "nic_errors")
QUERY_KEYS = ("index", "ts", "cap_len", "wire_len", "iface", "linktype", "flow_id")


# ------------------------------------------------------------ exit paths


def skip(msg):
    print("SKIP: " + msg)
    sys.stdout.flush()
    sys.exit(EXIT_SKIP)


def fail(msg):
    print("FAIL: " + msg)
    sys.stdout.flush()
    sys.exit(1)


def have(tool):
    return shutil.which(tool) is not None


# -------------------------------------------------------------- binaries


def pr_bin():
    p = os.environ.get("PR_BIN") or os.path.join(BUILD_DIR, "controlplane", "packetrecorder")
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        fail("packetrecorder binary not found at %s (build it, or set PR_BIN / PR_BUILD_DIR)" % p)
    return p


_SANITIZED = None


def sanitized():
    """'asan', 'tsan' or '' for the build under test, from the symbols the
    packetrecorder binary imports. Tests use it to widen what an instrumented
    build cannot meet (rates, memory), never to skip a check."""
    global _SANITIZED
    if _SANITIZED is None:
        with open(pr_bin(), "rb") as fh:
            data = fh.read()
        _SANITIZED = ("tsan" if b"__tsan_init" in data else
                      "asan" if b"__asan_init" in data else "")
    return _SANITIZED


def dataplane_bin():
    return os.environ.get("PR_DATAPLANE_BIN") or os.path.join(
        BUILD_DIR, "dataplane", "packetrecorder-dataplane")


def clean_env(extra=None):
    """The test's environment without PACKETRECORDER_* (a key there would hide bugs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACKETRECORDER_")}
    env["LC_ALL"] = "C"
    if extra:
        env.update(extra)
    return env


class Result:
    def __init__(self, cmd, rc, out, err, elapsed):
        self.cmd, self.rc, self.out, self.err, self.elapsed = cmd, rc, out, err, elapsed

    def cmdline(self):
        return " ".join(_quote(a) for a in self.cmd)

    def describe(self, limit=1500):
        err = self.err if len(self.err) <= limit else "..." + self.err[-limit:]
        out = self.out if len(self.out) <= limit else self.out[:limit] + "..."
        return "$ %s\n  exit %s\n  stderr: %s\n  stdout: %s" % (
            self.cmdline(), self.rc, err.strip() or "(empty)", out.strip() or "(empty)")

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise TestError("stdout is not one JSON value (%s)\n%s" % (e, self.describe()))


class TestError(Exception):
    pass


def _quote(a):
    a = str(a)
    if a and all(c.isalnum() or c in "-_./=:,@%+" for c in a):
        return a
    return "'" + a.replace("'", "'\\''") + "'"


def run(args, db=None, key=KEY, timeout=60, stdin=None, env=None, key_opt="--encryption-key"):
    """Run `packetrecorder ARGS [-d DB] [--encryption-key KEY]`. key=None: no key option.
    stdin: bytes or a file path (str) or None."""
    cmd = [pr_bin()] + [str(a) for a in args]
    if db is not None:
        cmd += ["-d", db]
    if key is not None:
        cmd += [key_opt, key]
    t0 = time.monotonic()
    fin = None
    kw = {}
    if isinstance(stdin, (bytes, bytearray)):
        kw["input"] = bytes(stdin)
    elif isinstance(stdin, str):
        fin = open(stdin, "rb")
        kw["stdin"] = fin
    else:
        kw["stdin"] = subprocess.DEVNULL
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=clean_env(env), **kw)
    except subprocess.TimeoutExpired as e:
        r = Result(cmd, None, (e.stdout or b"").decode("utf-8", "replace"),
                   (e.stderr or b"").decode("utf-8", "replace"), time.monotonic() - t0)
        raise TestError("timed out after %ss\n%s" % (timeout, r.describe()))
    finally:
        if fin:
            fin.close()
    return Result(cmd, p.returncode, p.stdout.decode("utf-8", "replace"),
                  p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


def accounting_error(obj):
    """None when a capture summary (or a `sessions --json` row) adds up:
    received = packets (stored) + filtered + the sum of drops by reason;
    otherwise what does not. Every capture that ends in order must add up."""
    drops = obj.get("drops")
    if not isinstance(drops, dict):
        drops = obj.get("drops_by_reason")
    if not isinstance(drops, dict) or "received" not in obj:
        return "no received/drops by reason in %r" % sorted(obj)
    total = obj.get("packets", 0) + obj.get("filtered", 0) + sum(drops.values())
    if obj["received"] != total:
        return "received %s != packets %s + filtered %s + drops %s (= %s)" % (
            obj["received"], obj.get("packets"), obj.get("filtered"), drops, total)
    return None


def check_accounting(ck, obj, label):
    """received = stored + filtered + drops, as a check of ck."""
    err = accounting_error(obj)
    ck.ok(err is None, "%s: received %s = stored + filtered + drops" % (
        label, obj.get("received")), err or "")


def run_json(args, db=None, key=KEY, **kw):
    """Run with --json; exit 0 and a JSON document on stdout are required. A
    capture that completed must add up (accounting_error()), or it fails."""
    r = run(list(args) + ["--json"], db=db, key=key, **kw)
    if r.rc != 0:
        raise TestError("exit %s, expected 0\n%s" % (r.rc, r.describe()))
    obj = r.json()
    if args and args[0] == "capture" and isinstance(obj, dict) and \
            obj.get("status") == "completed":
        err = accounting_error(obj)
        if err:
            raise TestError("capture does not add up: %s\n%s" % (err, r.describe()))
    return obj, r


def capture_file(db, path, extra=(), key=KEY, timeout=60):
    return run_json(["capture", "-r", path] + list(extra), db=db, key=key, timeout=timeout)


def sessions(db, key=KEY):
    return run_json(["sessions"], db=db, key=key)[0]


def session(db, sid, key=KEY):
    for s in sessions(db, key):
        if s.get("session_id") == sid:
            return s
    raise TestError("session %s not in `sessions --json`" % sid)


def flows(db, sid, key=KEY):
    return run_json(["flows", "--session", sid], db=db, key=key)[0]


def query(db, sid, extra=(), key=KEY, timeout=60):
    return run_json(["query", "--session", sid] + list(extra), db=db, key=key, timeout=timeout)[0]


# ------------------------------------------------------------- fixtures


def fixture(name):
    return os.path.join(PCAPS, name)


_MANIFEST = None


def manifest():
    global _MANIFEST
    if _MANIFEST is None:
        with open(os.path.join(PCAPS, "manifest.json")) as fh:
            _MANIFEST = json.load(fh)
    return _MANIFEST


def fixtures():
    return manifest()["fixtures"]


def check_fixtures_fresh():
    """The committed fixtures must be what the generator makes (else fail)."""
    problems = gen.check(PCAPS)
    if problems:
        fail("fixtures out of date: %s (run tests/pcaps/gen/gen_fixtures.py)" % "; ".join(problems))


@contextlib.contextmanager
def tmpdir(prefix="prtest-"):
    """A temporary directory, removed afterwards unless PR_KEEP_TMP is set."""
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        yield d
    finally:
        if os.environ.get("PR_KEEP_TMP"):
            print("(kept %s)" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def db_files(db):
    """The database and its SQLite side files that exist."""
    return [p for p in (db, db + "-wal", db + "-shm", db + "-journal") if os.path.exists(p)]


def snapshot(db):
    """{path: sha256} of the database and every file beside it that starts with its name,
    and of the files in such directories (the store's segments)."""
    d = os.path.dirname(os.path.abspath(db)) or "."
    base = os.path.basename(db)
    out = {}
    for n in sorted(os.listdir(d)):
        if n.startswith(base):
            p = os.path.join(d, n)
            if os.path.isfile(p):
                out[n] = sha256_file(p)
            elif os.path.isdir(p):
                for m in sorted(os.listdir(p)):
                    if os.path.isfile(os.path.join(p, m)):
                        out[n + "/" + m] = sha256_file(os.path.join(p, m))
    return out


# ------------------------------------------------------------- checking


class Checks:
    """Collects results: each check prints one line; finish() exits."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = []
        print("== %s (packetrecorder: %s)" % (name, os.environ.get("PR_BIN") or
                                            os.path.join(BUILD_DIR, "controlplane", "packetrecorder")))
        sys.stdout.flush()

    def ok(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok   " + what)
        else:
            self.failed.append(what)
            print("FAIL " + what + (("\n     " + detail.replace("\n", "\n     ")) if detail else ""))
        sys.stdout.flush()
        return bool(cond)

    def eq(self, got, want, what, detail=""):
        return self.ok(got == want, what,
                       "got %r, expected %r%s" % (got, want, ("\n" + detail) if detail else ""))

    def rc(self, res, want, what):
        return self.ok(res.rc == want, "%s: exit %s" % (what, want),
                       "got exit %s\n%s" % (res.rc, res.describe()))

    def error(self, what, exc):
        """A sub-test raised: record it and go on with the next."""
        self.failed.append(what)
        print("FAIL %s: %s" % (what, str(exc).replace("\n", "\n     ")))
        sys.stdout.flush()

    @contextlib.contextmanager
    def section(self, what):
        print("-- " + what)
        sys.stdout.flush()
        try:
            yield
        except TestError as e:
            self.error(what, e)

    def finish(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, len(self.failed)))
        for f in self.failed:
            print("  failed: " + f)
        sys.stdout.flush()
        sys.exit(1 if self.failed else 0)


def norm_ip(s):
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return s


def flow_tuple(f):
    """A flow dict reduced to the compared fields, addresses normalised."""
    out = []
    for k in FLOW_FIELDS:
        v = f.get(k)
        if k in ("src_ip", "dst_ip") and isinstance(v, str):
            v = norm_ip(v)
        out.append(v)
    return tuple(out)


def match_flows(expected, got):
    """Multiset match on FLOW_FIELDS. Returns (pairs [(exp_idx, got_idx)], missing exp idx,
    extra got idx)."""
    pool = {}
    for gi, g in enumerate(got):
        pool.setdefault(flow_tuple(g), []).append(gi)
    pairs, missing = [], []
    for ei, e in enumerate(expected):
        lst = pool.get(flow_tuple(e))
        if lst:
            pairs.append((ei, lst.pop(0)))
        else:
            missing.append(ei)
    extra = sorted(gi for lst in pool.values() for gi in lst)
    return pairs, missing, extra


def explain_flow_mismatch(expected, got, missing, extra):
    """Text for missing/extra flows: each missing one next to its nearest reported flow."""
    lines = []
    key = ("ip_proto", "src_ip", "src_port", "dst_ip", "dst_port")
    for ei in missing:
        e = expected[ei]
        lines.append("expected, not reported: " + fmt_flow(e))
        best, bestd = None, None
        for gi in extra:
            g = got[gi]
            same = sum(1 for k in FLOW_FIELDS if flow_tuple({k: e.get(k)}) == flow_tuple({k: g.get(k)}))
            if {norm_ip(str(e[k])) for k in key} == {norm_ip(str(g.get(k))) for k in key}:
                same += 100
            if bestd is None or same > bestd:
                best, bestd = g, same
        if best is not None:
            diffs = ["%s=%r (want %r)" % (k, best.get(k), e.get(k)) for k in FLOW_FIELDS
                     if flow_tuple({k: best.get(k)}) != flow_tuple({k: e.get(k)})]
            lines.append("    nearest reported flow %s differs in: %s" % (best.get("flow_id"),
                                                                       ", ".join(diffs)))
    for gi in extra:
        lines.append("reported, not expected: " + fmt_flow(got[gi]))
    return "\n".join(lines)


def fmt_flow(f):
    return "[%s %s:%s -> %s:%s vlan %s %s/%s pkts %s/%s bytes %s %s %s..%s]" % (
        f.get("ip_proto"), f.get("src_ip"), f.get("src_port"), f.get("dst_ip"), f.get("dst_port"),
        f.get("vlan"), f.get("packets_to_server"), f.get("packets_to_client"),
        f.get("bytes_to_server"), f.get("bytes_to_client"), f.get("tcp_state"),
        f.get("end_reason"), f.get("first_ts"), f.get("last_ts"))


def missing_keys(obj, keys):
    if not isinstance(obj, dict):
        return list(keys)
    return [k for k in keys if k not in obj]


# --------------------------------------------------------- capture files


class CapPacket:
    __slots__ = ("ts_ns", "iface", "cap_len", "wire_len", "data", "offset", "comments")

    def __init__(self, ts_ns, iface, wire_len, data, offset, comments=()):
        self.ts_ns, self.iface, self.wire_len = ts_ns, iface, wire_len
        self.data, self.cap_len, self.offset = bytes(data), len(data), offset
        self.comments = list(comments)

    def key(self):
        return (self.ts_ns, self.wire_len, self.data)


class Capture:
    def __init__(self):
        self.format = None  # "pcap" | "pcapng"
        self.byte_order = "<"
        self.nsec = False  # pcap: nanosecond magic
        self.interfaces = []  # dicts: linktype, snaplen, tsresol, name, description, tsoffset
        self.packets = []
        self.shb_comments = []
        self.shb_userappl = []
        self.error = None  # damage found: a message naming the offset

    def linktype_of(self, pkt):
        return self.interfaces[pkt.iface]["linktype"]


class CaptureError(Exception):
    pass


def _ts_to_ns(units, tsresol):
    if tsresol & 0x80:
        return (units * 1000000000) >> (tsresol & 0x7F)
    if tsresol <= 9:
        return units * 10 ** (9 - tsresol)
    return units // 10 ** (tsresol - 9)


def _opts(buf, off, end, bo):
    """Parse pcapng options in buf[off:end]; returns [(code, bytes)]."""
    out = []
    while off + 4 <= end:
        code, ln = struct.unpack_from(bo + "HH", buf, off)
        off += 4
        if code == 0:
            break
        if off + ln > end:
            raise CaptureError("option %d at offset %d runs past its block" % (code, off - 4))
        out.append((code, bytes(buf[off:off + ln])))
        off += ln + ((-ln) % 4)
    return out


def read_capture(src, strict=True):
    """Read a pcap or pcapng file (path or bytes). strict: raise CaptureError on damage;
    else set .error and return what was read before it."""
    if isinstance(src, (bytes, bytearray)):
        buf = bytes(src)
    else:
        with open(src, "rb") as fh:
            buf = fh.read()
    cap = Capture()
    try:
        if len(buf) < 4:
            raise CaptureError("%d bytes: not a capture file" % len(buf))
        magic_le = struct.unpack_from("<I", buf, 0)[0]
        if magic_le == 0x0A0D0D0A:
            _read_pcapng(buf, cap)
        else:
            _read_pcap(buf, cap)
    except CaptureError as e:
        if strict:
            raise
        cap.error = str(e)
    return cap


def _read_pcap(buf, cap):
    cap.format = "pcap"
    if len(buf) < 24:
        raise CaptureError("pcap header cut at %d bytes" % len(buf))
    m = buf[:4]
    table = {b"\xd4\xc3\xb2\xa1": ("<", False), b"\xa1\xb2\xc3\xd4": (">", False),
             b"\x4d\x3c\xb2\xa1": ("<", True), b"\xa1\xb2\x3c\x4d": (">", True)}
    if m not in table:
        raise CaptureError("unknown magic %s" % m.hex())
    bo, nsec = table[m]
    cap.byte_order, cap.nsec = bo, nsec
    _vmaj, _vmin, _tz, _sig, snaplen, linktype = struct.unpack_from(bo + "HHiIII", buf, 4)
    cap.interfaces.append({"linktype": linktype & 0x0FFFFFFF, "snaplen": snaplen,
                           "tsresol": 9 if nsec else 6, "name": "", "description": "",
                           "tsoffset": 0})
    off = 24
    while off < len(buf):
        if off + 16 > len(buf):
            raise CaptureError("record header at offset %d cut (%d bytes left)" % (off, len(buf) - off))
        s, frac, incl, orig = struct.unpack_from(bo + "IIII", buf, off)
        if off + 16 + incl > len(buf):
            raise CaptureError("record at offset %d claims %d bytes, %d left" %
                               (off, incl, len(buf) - off - 16))
        ts = s * 1000000000 + (frac if nsec else frac * 1000)
        cap.packets.append(CapPacket(ts, 0, orig, buf[off + 16:off + 16 + incl], off))
        off += 16 + incl


def _read_pcapng(buf, cap):
    cap.format = "pcapng"
    off = 0
    bo = "<"
    section_ifaces = []
    while off < len(buf):
        if off + 12 > len(buf):
            raise CaptureError("block header at offset %d cut" % off)
        btype = struct.unpack_from("<I", buf, off)[0]
        if btype == 0x0A0D0D0A:
            bom = buf[off + 8:off + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                bo = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                bo = ">"
            else:
                raise CaptureError("bad byte-order magic at offset %d" % (off + 8))
            cap.byte_order = bo
            section_ifaces = []
        btype, blen = struct.unpack_from(bo + "II", buf, off)
        if blen < 12 or blen % 4 or off + blen > len(buf):
            raise CaptureError("block at offset %d: bad length %d" % (off, blen))
        if struct.unpack_from(bo + "I", buf, off + blen - 4)[0] != blen:
            raise CaptureError("block at offset %d: trailing length differs" % off)
        body = off + 8
        end = off + blen - 4
        if btype == 0x0A0D0D0A:
            for code, val in _opts(buf, body + 16, end, bo):
                if code == 1:
                    cap.shb_comments.append(val.decode("utf-8", "replace"))
                elif code == 4:
                    cap.shb_userappl.append(val.decode("utf-8", "replace"))
        elif btype == 1:
            lt, _res, snap = struct.unpack_from(bo + "HHI", buf, body)
            d = {"linktype": lt, "snaplen": snap, "tsresol": 6, "name": "", "description": "",
                 "tsoffset": 0}
            for code, val in _opts(buf, body + 8, end, bo):
                if code == 2:
                    d["name"] = val.decode("utf-8", "replace")
                elif code == 3:
                    d["description"] = val.decode("utf-8", "replace")
                elif code == 9 and val:
                    d["tsresol"] = val[0]
                elif code == 14 and len(val) == 8:
                    d["tsoffset"] = struct.unpack(bo + "q", val)[0]
            section_ifaces.append(len(cap.interfaces))
            cap.interfaces.append(d)
        elif btype in (6, 2):
            if btype == 6:
                ifid, hi, lo, caplen, orig = struct.unpack_from(bo + "IIIII", buf, body)
                doff = body + 20
            else:
                ifid, _drops, hi, lo, caplen, orig = struct.unpack_from(bo + "HHIIII", buf, body)
                doff = body + 20
            if ifid >= len(section_ifaces):
                raise CaptureError("packet block at offset %d: interface %d undeclared" % (off, ifid))
            if doff + caplen > end:
                raise CaptureError("packet block at offset %d: captured length %d too big" %
                                   (off, caplen))
            gi = section_ifaces[ifid]
            d = cap.interfaces[gi]
            ts = _ts_to_ns((hi << 32) | lo, d["tsresol"]) + d["tsoffset"] * 1000000000
            comments = [v.decode("utf-8", "replace") for c, v in
                        _opts(buf, doff + caplen + ((-caplen) % 4), end, bo) if c == 1]
            cap.packets.append(CapPacket(ts, gi, orig, buf[doff:doff + caplen], off, comments))
        elif btype == 3:
            if not section_ifaces:
                raise CaptureError("simple packet block at offset %d without interface" % off)
            orig = struct.unpack_from(bo + "I", buf, body)[0]
            gi = section_ifaces[0]
            snap = cap.interfaces[gi]["snaplen"] or orig
            caplen = min(orig, snap, end - body - 4)
            cap.packets.append(CapPacket(0, gi, orig, buf[body + 4:body + 4 + caplen], off))
        off += blen


def packets_from_query(rows):
    """query --show-data rows to [(ts, wire_len, data)]."""
    return [(r.get("ts"), r.get("wire_len"), bytes.fromhex(r.get("data") or "")) for r in rows]


def compare_packets(want, got, what, max_report=3):
    """want/got: lists of CapPacket. Compare timestamps, wire lengths and data. Returns a
    list of problem strings (empty = equal)."""
    probs = []
    if len(want) != len(got):
        probs.append("%s: %d packets, expected %d" % (what, len(got), len(want)))
    for i, (a, b) in enumerate(zip(want, got)):
        d = []
        if a.ts_ns != b.ts_ns:
            d.append("ts %d, expected %d" % (b.ts_ns, a.ts_ns))
        if a.wire_len != b.wire_len:
            d.append("wire_len %d, expected %d" % (b.wire_len, a.wire_len))
        if a.data != b.data:
            d.append("data differs (%d vs %d bytes%s)" % (
                b.cap_len, a.cap_len, _first_diff(a.data, b.data)))
        if d:
            probs.append("%s: packet %d: %s" % (what, i, "; ".join(d)))
            if len(probs) > max_report:
                probs.append("...")
                break
    return probs


def _first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return ", first at byte %d" % i
    return ""


def tcpdump_select(path, expr, timeout=30):
    """Packets of path that tcpdump's filter expr accepts (a Capture), or None without
    tcpdump. Raises TestError if tcpdump rejects the file or the filter."""
    if not have("tcpdump"):
        return None
    # nano: tcpdump would otherwise write (and round to) microseconds
    p = subprocess.run(["tcpdump", "--time-stamp-precision=nano", "-r", path, "-w", "-", expr],
                       stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=clean_env())
    if p.returncode != 0:
        raise TestError("tcpdump -r %s -w - %r: exit %d: %s" % (
            path, expr, p.returncode, p.stderr.decode("utf-8", "replace").strip()))
    return read_capture(p.stdout)


def subsequence_indexes(full, part):
    """Indexes in full (CapPackets) of the packets of part, matched in order by
    (ts, wire_len, data). None if part is not an ordered subsequence of full."""
    out = []
    j = 0
    for p in part:
        k = p.key()
        while j < len(full) and full[j].key() != k:
            j += 1
        if j == len(full):
            return None
        out.append(j)
        j += 1
    return out


# ----------------------------------------------------------------- sqlcipher


def sqlcipher(db, sql, key=None, timeout=60):
    """Run the sqlcipher CLI on db. With a key, tries the page sizes the store may use
    (default, 64 KiB). Returns (rc, stdout, stderr) of the last try, or None without the
    CLI. Raw keys (64 hex digits) are passed as x'...'."""
    if not have("sqlcipher"):
        return None
    tries = [""]
    if key is not None:
        k = key
        if len(k) == 64 and all(c in "0123456789abcdefABCDEF" for c in k):
            k = "x'%s'" % k
        kq = "PRAGMA key = \"%s\";" % k.replace('"', '""') if k.startswith("x'") else \
            "PRAGMA key = '%s';" % k.replace("'", "''")
        tries = [kq + " PRAGMA cipher_page_size = 65536;", kq]
    res = None
    for pre in tries:
        p = subprocess.run(["sqlcipher", "-batch", "-bail", db], input=(pre + "\n" + sql + "\n").encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=clean_env())
        res = (p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))
        if p.returncode == 0 and "not a database" not in res[2]:
            return res
    return res


# ---------------------------------------------------------------- processes


def proc_children(pid):
    """Pids whose parent is pid (from /proc)."""
    out = []
    for n in os.listdir("/proc"):
        if not n.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % n) as fh:
                st = fh.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        if len(rest) > 1 and int(rest[1]) == pid:
            out.append(int(n))
    return out


def proc_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            st = fh.read()
    except OSError:
        return False
    return st[st.rfind(")") + 2:].split()[0] != "Z"


def proc_exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as fh:
                return fh.read().split(b"\0")[0].decode("utf-8", "replace")
        except OSError:
            return ""


def wait_until(pred, timeout, interval=0.05):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            return v
        time.sleep(interval)
