#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Store safety beyond the torture test:

1. A packet stamped 0 (a pcap record, a pcapng EPB with both time stamp
   fields 0) is stored, queried and exported as 0, as Wireshark shows it,
   not as the time of the capture.
2. A store that this user cannot write: on read-only media (a tmpfs
   remounted read-only, as root) or without write permission (chmod, as a
   normal user; as root also a store of root's read by `nobody`). sessions,
   flows, query and export work and say that nothing is written; capture
   into it fails with a clear error; every file stays byte for byte.
"""
import os
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import RAW_KEY  # noqa: E402

ck = prtest.Checks("test_store_safety")
BIN = prtest.pr_bin()


def frame(i):
    return prtest.gen.udp_frame("02:00:00:00:00:01", "02:00:00:00:00:02", "192.0.2.1", 1000 + i,
                                "192.0.2.2", 53, b"zero-ts-%d" % i)


def pcapng_zero_ts(path):
    """SHB, one Ethernet IDB, three EPBs: time stamps 0, 0 and 1 s (usec units)."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 0))
    for i, ts in enumerate((0, 0, 1000000)):
        f = frame(i)
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(f), len(f)) + f)
    with open(path, "wb") as fh:
        fh.write(out)


def part_zero_ts(tmp):
    db = os.path.join(tmp, "zero.db")
    src = os.path.join(tmp, "zero.pcap")
    prtest.gen.write_simple_pcap(src, [(0, frame(0)), (0, frame(1)), (1500000000, frame(2))])
    obj, _ = prtest.capture_file(db, src, key=RAW_KEY)
    q = prtest.query(db, obj["session_id"], key=RAW_KEY)
    ck.eq([r.get("ts") for r in q], [0, 0, 1500000000], "query: the pcap's time stamps 0, 0, 1.5 s")
    out = os.path.join(tmp, "zero-out.pcap")
    r = prtest.run(["export", "--session", str(obj["session_id"]), "--output", out], db=db,
                   key=RAW_KEY)
    ck.eq(r.rc, 0, "export of the pcap session", r.err)
    if r.rc == 0:
        ck.eq(prtest.sha256_file(out), prtest.sha256_file(src),
              "the pcap export is byte for byte the input (time stamps 0 kept)")

    src2 = os.path.join(tmp, "zero.pcapng")
    pcapng_zero_ts(src2)
    obj, _ = prtest.capture_file(db, src2, key=RAW_KEY)
    q = prtest.query(db, obj["session_id"], key=RAW_KEY)
    ck.eq([r.get("ts") for r in q], [0, 0, 1000000000], "query: the EPBs' time stamps 0, 0, 1 s")
    out2 = os.path.join(tmp, "zero-out.pcapng")
    r = prtest.run(["export", "--session", str(obj["session_id"]), "--output", out2, "--format",
                    "pcapng"], db=db, key=RAW_KEY)
    ck.eq(r.rc, 0, "export of the pcapng session", r.err)
    if r.rc == 0:
        ts = [p.ts_ns for p in prtest.read_capture(out2).packets]
        ck.eq(ts, [0, 0, 1000000000], "the pcapng export keeps time stamps of 0")
        if prtest.have("tshark"):
            t = subprocess.run(["tshark", "-r", out2, "-T", "fields", "-e", "frame.time_epoch"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            vals = [float(x) for x in t.stdout.decode().split()]
            ck.eq(vals, [0.0, 0.0, 1.0], "tshark reads the export's time stamps as 0, 0, 1")


def make_store(tmp, name):
    d = os.path.join(tmp, name)
    os.mkdir(d)
    db = os.path.join(d, "ro.db")
    obj, _ = prtest.capture_file(db, prtest.fixture("mixed.pcap"), key=RAW_KEY)
    base = os.path.join(tmp, name + "-base.pcap")
    r = prtest.run(["export", "--session", str(obj["session_id"]), "--output", base], db=db,
                   key=RAW_KEY)
    if r.rc != 0:
        prtest.fail("export of the new store\n" + r.describe())
    return d, db, obj, base


def check_readonly_store(tmp, label, db, obj, base, runner):
    """runner(args, db) -> Result, runs the CLI as the user that cannot write."""
    before = prtest.snapshot(db)
    sid = str(obj["session_id"])
    with ck.section("read-only store: " + label):
        r = runner(["sessions", "--json"], db)
        ck.eq(r.rc, 0, "sessions works", r.describe())
        if r.rc == 0:
            rows = r.json()
            ck.eq([x.get("packets") for x in rows], [obj["packets"]], "sessions shows the session")
        ck.ok("not writable" in r.err, "it says that nothing is written", r.err)
        r = runner(["flows", "--session", sid, "--json"], db)
        ck.ok(r.rc == 0 and len(r.json()) == obj["flows"], "flows works", r.describe())
        r = runner(["query", "--session", sid, "--json"], db)
        ck.ok(r.rc == 0 and len(r.json()) == obj["packets"], "query works", r.describe())
        out = os.path.join(tmp, "ro-export-%s.pcap" % label.replace(" ", "-"))
        r = runner(["export", "--session", sid, "--output", out], db)
        ck.ok(r.rc == 0 and prtest.sha256_file(out) == prtest.sha256_file(base),
              "export works and equals the export made before", r.describe())
        r = runner(["capture", "-r", prtest.fixture("nsec.pcap")], db)
        ck.eq(r.rc, 1, "capture into it fails", r.describe())
        ck.ok("cannot write" in r.err, "naming why", r.err)
        ck.eq(prtest.snapshot(db), before, "every file of the store byte for byte")


def run_as(uid=None):
    def runner(args, db):
        if uid is None:
            return prtest.run(args, db=db, key=RAW_KEY, timeout=120)
        cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", BIN] + \
            list(args) + ["-d", db, "--encryption-key", RAW_KEY]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                           env=prtest.clean_env(), cwd="/")
        return prtest.Result(cmd, p.returncode, p.stdout.decode("utf-8", "replace"),
                             p.stderr.decode("utf-8", "replace"), 0)
    return runner


def part_readonly(tmp):
    if os.geteuid() == 0:
        d, db, obj, base = make_store(tmp, "media")
        mnt = os.path.join(tmp, "mnt")
        os.mkdir(mnt)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt]).returncode:
            print("note: cannot mount a tmpfs: read-only media not tested")
        else:
            try:
                for n in os.listdir(d):
                    if os.path.isdir(os.path.join(d, n)):
                        shutil.copytree(os.path.join(d, n), os.path.join(mnt, n))
                    else:
                        shutil.copy2(os.path.join(d, n), mnt)
                subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
                check_readonly_store(tmp, "read-only media", os.path.join(mnt, "ro.db"), obj, base,
                                     run_as(None))
            finally:
                subprocess.run(["umount", "-l", mnt])
        # Root's store, read by nobody: readable, not writable.
        d2, db2, obj2, base2 = make_store(tmp, "others")
        os.chmod(tmp, 0o755)
        os.chmod(d2, 0o755)
        os.chmod(db2, 0o644)
        os.chmod(base2, 0o644)
        # The operator lets others read it: the segments too.
        seg = db2 + ".segments"
        if os.path.isdir(seg):
            os.chmod(seg, 0o755)
            for m in os.listdir(seg):
                os.chmod(os.path.join(seg, m), 0o644)
        probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                BIN, "--help"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd="/") if prtest.have("setpriv") else None
        if probe is None or probe.returncode != 0:
            print("note: nobody cannot run %s here: another user's store not tested" % BIN)
        else:
            outdir = os.path.join(tmp, "nobody-out")
            os.mkdir(outdir)
            os.chown(outdir, 65534, 65534)
            check_readonly_store(outdir, "another user's store", db2, obj2, base2, run_as(65534))
    else:
        d, db, obj, base = make_store(tmp, "perm")
        os.chmod(db, 0o444)
        os.chmod(d, 0o555)
        try:
            check_readonly_store(tmp, "no write permission", db, obj, base, run_as(None))
        finally:
            os.chmod(d, 0o755)


def part_tamper(tmp):
    """One changed byte in a sealed block: query and export report an integrity
    error naming the segment and block, the blocks before it come out, and a
    time range that avoids the block still reads whole."""
    db = os.path.join(tmp, "tamper.db")
    src = os.path.join(tmp, "tamper-src.pcap")
    r = prtest.run(["generate", "--output", src, "--packets", "3000", "--seed", "4"], key=None)
    if r.rc != 0:
        prtest.fail(r.describe())
    conf = os.path.join(tmp, "blocks.conf")
    with open(conf, "w") as fh:
        fh.write("block_max_packets = 256\n")
    obj, _ = prtest.capture_file(db, src, key=RAW_KEY, extra=("--config", conf))
    sid = obj["session_id"]
    allq = prtest.query(db, sid, key=RAW_KEY)
    # The third block in packet order; with lanes (one block per traffic class open at a
    # time) it need not be the third in its segment, so its number comes from the index.
    res = prtest.sqlcipher(db, "SELECT s.file, b.seg_offset, b.seg_seq, b.first_ts FROM "
                           "packet_blocks b JOIN segments s ON s.id = b.segment_id WHERE "
                           "b.session_id = %d ORDER BY b.first_seq LIMIT 1 OFFSET 2;" % sid,
                           key=RAW_KEY)
    if res is None or res[0] != 0 or "|" not in res[1]:
        ck.ok(False, "find the third block in the index", repr(res))
        return
    name, off, blk, first_ts = res[1].strip().split("|")
    seg = os.path.join(db + ".segments", name)
    with open(seg, "r+b") as fh:
        fh.seek(int(off) + 64 + 300)
        b = fh.read(1)
        fh.seek(int(off) + 64 + 300)
        fh.write(bytes([b[0] ^ 0x01]))
    out = os.path.join(tmp, "tamper-out.pcap")
    r = prtest.run(["export", "--session", str(sid), "--output", out], db=db, key=RAW_KEY)
    ck.eq(r.rc, 1, "export of the tampered session fails", r.describe())
    ck.ok("integrity error" in r.err and "block %s:" % blk in r.err,
          "naming the segment block (%s)" % blk, r.err.strip())
    ck.ok(not os.path.exists(out), "and leaves no partial export")
    r = prtest.run(["query", "--session", str(sid), "--json"], db=db, key=RAW_KEY)
    ck.eq(r.rc, 1, "query of the tampered session fails", r.describe())
    ck.ok("integrity error" in r.err, "with the integrity error", r.err.strip())
    # The packets before the damaged block's first stay readable through a time range.
    first = int(first_ts)
    hi = max(x["ts"] for x in allq if x["ts"] < first)
    r = prtest.run(["query", "--session", str(sid), "--json", "--to", str(hi)], db=db,
                   key=RAW_KEY)
    ck.rc(r, 0, "a range before the damaged block reads")
    if r.rc == 0:
        ck.eq([x["index"] for x in r.json()], [x["index"] for x in allq if x["ts"] <= hi],
              "every packet of the blocks before it")
    r = prtest.run(["verify"], db=db, key=RAW_KEY)
    ck.eq(r.rc, 1, "verify reports it too", r.describe())


with prtest.tmpdir() as tmpd:
    with ck.section("time stamps of 0"):
        part_zero_ts(tmpd)
    part_readonly(tmpd)
    with ck.section("a tampered block"):
        part_tamper(tmpd)
ck.finish()
