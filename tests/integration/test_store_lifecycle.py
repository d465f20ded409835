#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Retention and lifecycle of a store, through the CLI:

1. store-info: every key, the counts of `sessions`, sizes that add up.
2. verify: a clean store exits 0; one changed byte in a segment is one
   problem naming session, block and segment (exit 1) while every other
   block is still checked; a removed segment file is named once.
3. delete-session on a plaintext store (its keys are in clear in the
   files): none of the session's key bytes is left in the database, -wal
   or -shm, its segment files are gone, a copy of one put back is a file
   that no key in the store opens (verify: orphan), and the other sessions
   read back whole. Refused when pinned (until unpinned), without --yes
   when stdin is no terminal, on a store this user cannot write.
4. retention on a synthetic clock (--now): by age, by size, pinned
   sessions kept, expired_packets in store-info, an expired session reads
   and exports as empty; a db-mode store is refused.
5. rekey: segment files byte for byte, the old key refused (exit 2),
   every packet the same under the new key; refused for a plaintext
   store, for the same key, and while another process has the store open.
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import KEY, RAW_KEY, EXIT_OK, EXIT_RUNTIME, EXIT_KEY, EXIT_USAGE, EXIT_NOT_FOUND  # noqa: E402,E501

ck = prtest.Checks("test_store_lifecycle")
BIN = prtest.pr_bin()
MIXED = prtest.fixture("mixed.pcap")
NSEC = prtest.fixture("nsec.pcap")
DAY_NS = 86400 * 10**9

INFO_KEYS = ("mode", "encrypted", "readonly", "size_bytes", "db_bytes", "wal_bytes",
             "segment_bytes", "segment_files", "segments", "sessions", "pinned_sessions",
             "running_sessions", "packets", "expired_packets", "oldest_packet_ts",
             "newest_packet_ts", "capture_s", "bytes_per_day", "retention_days",
             "retention_bytes", "fs_free_bytes", "days_left", "days_left_until")


def capture(db, path, key=KEY, name=None):
    extra = ["--name", name] if name else []
    obj, _ = prtest.capture_file(db, path, extra=extra, key=key, timeout=120)
    return obj


def segdir(db):
    return db + ".segments"


def seg_files(db):
    d = segdir(db)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def plain_query(db, sql, args=()):
    """A plaintext store through Python's sqlite3 (64 KiB pages are fine)."""
    c = sqlite3.connect(db)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def store_bytes(db):
    out = b""
    for p in (db, db + "-wal", db + "-shm", db + "-journal"):
        if os.path.exists(p):
            with open(p, "rb") as fh:
                out += fh.read()
    return out


def info(db, key=KEY):
    return prtest.run_json(["store-info"], db=db, key=key)[0]


def packets_of(db, sid, key=KEY):
    return prtest.packets_from_query(prtest.query(db, sid, extra=["--show-data"], key=key))


def part_help_and_errors(tmp):
    for cmd in ("store-info", "verify", "delete-session", "pin", "unpin", "retention", "rekey"):
        r = prtest.run([cmd, "--help"], key=None)
        ck.ok(r.rc == 0 and ("packetrecorder " + cmd) in r.out, "%s --help" % cmd, r.describe())
        r = prtest.run([cmd, "--bogus"], key=None)
        ck.rc(r, EXIT_USAGE, "%s --bogus" % cmd)
    nope = os.path.join(tmp, "nope.db")
    for args in (["store-info"], ["verify"], ["pin", "--session", "1"],
                 ["retention"], ["delete-session", "--session", "1", "--yes"]):
        r = prtest.run(args, db=nope)
        ck.rc(r, EXIT_NOT_FOUND, "%s on a missing store" % args[0])
    r = prtest.run(["pin"], db=nope)
    ck.rc(r, EXIT_USAGE, "pin without --session")
    ck.ok("--session" in r.err, "naming --session", r.err)


def part_info(tmp):
    db = os.path.join(tmp, "info.db")
    a = capture(db, MIXED)
    b = capture(db, NSEC)
    obj = info(db)
    miss = prtest.missing_keys(obj, INFO_KEYS)
    ck.eq(miss, [], "store-info --json has every key")
    ck.eq((obj["mode"], obj["encrypted"], obj["sessions"], obj["segments"],
           obj["segment_files"]), ("segments", True, 2, 2, 2), "mode, encryption, counts")
    ck.eq(obj["packets"], a["packets"] + b["packets"], "packets = the sessions' packets")
    ck.eq(obj["size_bytes"], obj["db_bytes"] + obj["wal_bytes"] + obj["segment_bytes"],
          "size_bytes adds up")
    ck.eq(obj["segment_bytes"], sum(os.path.getsize(os.path.join(segdir(db), f))
                                    for f in seg_files(db)), "segment_bytes = the files")
    ck.eq((obj["retention_days"], obj["retention_bytes"]), (None, None), "no retention yet")
    ck.ok(obj["bytes_per_day"] is not None and obj["bytes_per_day"] > 0 and
          obj["days_left_until"] == "disk_full", "a rate, and days left until the disk is full",
          str(obj))
    r = prtest.run(["store-info"], db=db)
    ck.ok(r.rc == 0 and "size on disk:" in r.out and "days left:" in r.out,
          "store-info text", r.describe())
    r = prtest.run(["store-info"], db=db, key="wrong key")
    ck.rc(r, EXIT_KEY, "store-info with a wrong key")


def block_rows(db):
    return plain_query(db, "SELECT b.id, b.session_id, b.segment_id, g.file, b.seg_offset, "
                       "b.seg_len FROM packet_blocks b JOIN segments g ON g.id = b.segment_id "
                       "ORDER BY b.session_id, b.first_seq")


def part_verify(tmp):
    db = os.path.join(tmp, "verify.db")
    a = capture(db, MIXED, key=None)
    b = capture(db, NSEC, key=None)
    res, r = prtest.run_json(["verify"], db=db, key=None)
    ck.ok(res["ok"] and res["problem_count"] == 0 and res["problems"] == [] and
          res["packets_ok"] == a["packets"] + b["packets"], "verify: a clean store", r.out)
    blocks = block_rows(db)
    bid, sid, segid, fname, off, _ = blocks[0]
    path = os.path.join(segdir(db), fname)
    with open(path, "r+b") as fh:
        fh.seek(off + 64 + 40)
        c = fh.read(1)
        fh.seek(off + 64 + 40)
        fh.write(bytes([c[0] ^ 0x01]))
    r = prtest.run(["verify", "--json"], db=db, key=None)
    ck.rc(r, EXIT_RUNTIME, "verify: one changed byte")
    res = r.json()
    ck.eq(res["problem_count"], 1, "one problem")
    p = res["problems"][0] if res["problems"] else {}
    ck.eq((p.get("kind"), p.get("session_id"), p.get("block_id"), p.get("segment_id"),
           p.get("file")), ("damaged_block", sid, bid, segid, fname),
          "naming kind, session, block, segment and file")
    ck.eq((res["blocks"], res["blocks_ok"]), (len(blocks), len(blocks) - 1),
          "every other block still checked")
    r = prtest.run(["verify"], db=db, key=None)
    ck.ok(r.rc == 1 and "PROBLEM damaged_block: session %d, block %d " % (sid, bid) in r.out and
          "integrity" in r.out, "verify text names the block", r.describe())
    r = prtest.run(["verify", "--session", str(b["session_id"])], db=db, key=None)
    ck.rc(r, EXIT_OK, "verify of the other session")
    r = prtest.run(["verify", "--session", "99"], db=db, key=None)
    ck.rc(r, EXIT_NOT_FOUND, "verify of no such session")
    os.unlink(path)
    res = prtest.run(["verify", "--json"], db=db, key=None).json()
    kinds = [x["kind"] for x in res["problems"]]
    ck.eq(kinds, ["missing_segment"], "a removed segment file: one problem for it", str(res))


def part_delete(tmp):
    db = os.path.join(tmp, "shred.db")
    s1 = capture(db, MIXED, key=None)
    s2 = capture(db, NSEC, key=None)
    s3 = capture(db, MIXED, key=None)
    before2 = packets_of(db, s2["session_id"], key=None)
    before3 = packets_of(db, s3["session_id"], key=None)
    sid = s1["session_id"]
    keys = [bytes(k) for (k,) in plain_query(db, "SELECT data_key FROM segments "
                                                 "WHERE session_id = ?", (sid,))]
    others = [bytes(k) for (k,) in plain_query(db, "SELECT data_key FROM segments "
                                                   "WHERE session_id != ?", (sid,))]
    files = [f for (f,) in plain_query(db, "SELECT file FROM segments WHERE session_id = ?",
                                       (sid,))]
    ck.ok(keys and all(len(k) == 32 for k in keys), "the session has 32-byte segment keys")
    data = store_bytes(db)
    ck.ok(all(k in data for k in keys), "before: its keys are in the plaintext store's files")
    copy = os.path.join(tmp, "copy-" + files[0])
    shutil.copy2(os.path.join(segdir(db), files[0]), copy)

    r = prtest.run(["delete-session", "--session", str(sid)], db=db, key=None)
    ck.rc(r, EXIT_USAGE, "delete-session without --yes, stdin not a terminal")
    r = prtest.run_json(["pin", "--session", str(sid)], db=db, key=None)[1]
    r = prtest.run(["delete-session", "--session", str(sid), "--yes"], db=db, key=None)
    ck.ok(r.rc == EXIT_RUNTIME and "pinned" in r.err and "unpin" in r.err,
          "a pinned session is refused, saying to unpin it", r.describe())
    ck.eq(info(db, key=None)["pinned_sessions"], 1, "store-info counts it pinned")
    obj, _ = prtest.run_json(["unpin", "--session", str(sid)], db=db, key=None)
    ck.eq(obj, {"session_id": sid, "pinned": False}, "unpin --json")
    obj, r = prtest.run_json(["delete-session", "--session", str(sid), "--yes"], db=db, key=None)
    ck.eq((obj.get("deleted"), obj.get("packets"), obj.get("segments"), obj.get("files_removed"),
           obj.get("wal_clean")), (True, s1["packets"], len(keys), len(files), True),
          "delete-session --json")
    data = store_bytes(db)
    ck.ok(not any(k in data for k in keys),
          "no byte sequence of its keys left in the database, -wal or -shm")
    ck.ok(all(k in data for k in others), "the other sessions' keys are (the search works)")
    ck.ok(not any(f in seg_files(db) for f in files), "its segment files are gone")
    ck.eq([r.get("session_id") for r in prtest.sessions(db, key=None)],
          [s2["session_id"], s3["session_id"]], "its row is gone")
    ck.eq(packets_of(db, s2["session_id"], key=None), before2, "session 2 reads back whole")
    ck.eq(packets_of(db, s3["session_id"], key=None), before3, "session 3 reads back whole")
    left = [bytes(k) for (k,) in plain_query(db, "SELECT data_key FROM segments")]
    ck.ok(not any(k in keys for k in left), "the store has no key for the copied segment")
    shutil.copy2(copy, os.path.join(segdir(db), files[0]))
    res = prtest.run(["verify", "--json"], db=db, key=None).json()
    ck.eq([(x["kind"], x["file"]) for x in res["problems"]], [("orphan_segment", files[0])],
          "put back, the copy is a file that no segment row (and no key) names")
    os.unlink(os.path.join(segdir(db), files[0]))
    r = prtest.run(["delete-session", "--session", str(sid), "--yes"], db=db, key=None)
    ck.rc(r, EXIT_NOT_FOUND, "deleting it again: no such session")

    # A store this user cannot write.
    if os.geteuid() != 0:
        os.chmod(db, 0o444)
        os.chmod(tmp, 0o555)
        try:
            r = prtest.run(["delete-session", "--session", str(s2["session_id"]), "--yes"],
                           db=db, key=None)
        finally:
            os.chmod(tmp, 0o755)
            os.chmod(db, 0o644)
        ck.ok(r.rc == EXIT_RUNTIME and "not writable" in r.err, "read-only: refused",
              r.describe())
    elif prtest.have("setpriv"):
        # Root's store, readable by nobody, not writable.
        os.chmod(os.path.dirname(tmp), 0o755)
        os.chmod(tmp, 0o755)
        os.chmod(db, 0o644)
        r2 = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BIN,
                             "delete-session", "--session", str(s2["session_id"]), "--yes",
                             "-d", db], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=prtest.clean_env(), cwd="/", timeout=60)
        err = r2.stderr.decode("utf-8", "replace")
        if r2.returncode == 127 or "Permission denied" in err and "exec" in err:
            print("note: nobody cannot run %s here: read-only store not tested" % BIN)
        else:
            ck.ok(r2.returncode == EXIT_RUNTIME and "not writable" in err,
                  "another user's store: refused", err)
        ck.eq(len(prtest.sessions(db, key=None)), 2, "and nothing deleted")


def set_closed(db, ts_by_session):
    c = sqlite3.connect(db)
    try:
        for sid, ts in ts_by_session.items():
            c.execute("UPDATE segments SET closed_ts = ? WHERE session_id = ?", (ts, sid))
        c.commit()
    finally:
        c.close()


def part_retention(tmp):
    now = time.time_ns()
    db = os.path.join(tmp, "age.db")
    ss = [capture(db, MIXED, key=None) for _ in range(3)]
    ids = [s["session_id"] for s in ss]
    # Closed 40, 20 and 5 days before now (a synthetic clock in the store).
    set_closed(db, {ids[0]: now - 40 * DAY_NS, ids[1]: now - 20 * DAY_NS,
                    ids[2]: now - 5 * DAY_NS})
    obj, _ = prtest.run_json(["retention"], db=db, key=None)
    ck.eq((obj["retention_days"], obj["segments"]), (None, []), "no limits: nothing to delete")
    obj, _ = prtest.run_json(["retention", "--retention-days", "30", "--now", str(now)], db=db,
                             key=None)
    ck.eq([(x["session_id"], x["reason"]) for x in obj["segments"]], [(ids[0], "age")],
          "30 days: the 40-day-old segment would go")
    obj, _ = prtest.run_json(["retention", "--now", str(now)], db=db, key=None)
    ck.eq(obj["retention_days"], 30, "the limit is kept in the store")
    ck.eq(len(seg_files(db)), 3, "a plan deletes nothing")
    prtest.run_json(["pin", "--session", str(ids[1])], db=db, key=None)
    obj, _ = prtest.run_json(["retention", "--apply", "--now", str(now + 16 * DAY_NS)], db=db,
                             key=None)
    ck.eq(([x["session_id"] for x in obj["segments"]], obj["kept_pinned"], obj["applied"],
           obj["wal_clean"]), ([ids[0]], 1, True, True),
          "16 days later: the oldest goes, the pinned 36-day-old one stays")
    ck.eq(len(seg_files(db)), 2, "its file is gone")
    st = info(db, key=None)
    ck.eq((st["expired_packets"], st["packets"]), (ss[0]["packets"], ss[1]["packets"] +
                                                   ss[2]["packets"]),
          "store-info: expired and stored packets")
    ck.eq(prtest.query(db, ids[0], key=None), [], "the expired session has no packets to read")
    out = os.path.join(tmp, "expired.pcap")
    obj, _ = prtest.run_json(["export", "--session", str(ids[0]), "--output", out], db=db,
                             key=None)
    ck.eq(obj.get("packets"), 0, "and exports none")
    ck.eq(len(prtest.sessions(db, key=None)), 3, "its session row stays")
    ck.eq(len(prtest.query(db, ids[1], key=None)), ss[1]["packets"], "the pinned one reads")
    res = prtest.run_json(["verify"], db=db, key=None)[0]
    ck.ok(res["ok"], "verify: consistent after retention", str(res))

    # By size: limit = the size without the oldest segment.
    db = os.path.join(tmp, "size.db")
    ss = [capture(db, MIXED, key=None) for _ in range(3)]
    ids = [s["session_id"] for s in ss]
    set_closed(db, {ids[0]: now - 3 * DAY_NS, ids[1]: now - 2 * DAY_NS, ids[2]: now - DAY_NS})
    obj, _ = prtest.run_json(["retention"], db=db, key=None)
    first = os.path.getsize(os.path.join(segdir(db), seg_files(db)[0]))
    limit = obj["size_bytes"] - first
    obj, _ = prtest.run_json(["retention", "--retention-bytes", str(limit), "--apply"], db=db,
                             key=None)
    ck.eq(([(x["session_id"], x["reason"]) for x in obj["segments"]], obj["over_size"]),
          ([(ids[0], "size")], False), "by size: exactly the oldest segment goes")
    ck.ok(obj["size_after_bytes"] <= limit, "and the store is within the limit", str(obj))
    r = prtest.run(["retention", "--retention-bytes", "12q"], db=db, key=None)
    ck.rc(r, EXIT_USAGE, "a bad size")
    r = prtest.run(["retention", "--retention-days", "-1"], db=db, key=None)
    ck.rc(r, EXIT_USAGE, "a bad day count")

    # A db-mode store (here: a store marked so) is refused with a clear reason.
    db = os.path.join(tmp, "dbmode.db")
    capture(db, NSEC, key=None)
    c = sqlite3.connect(db)
    c.execute("UPDATE pr_meta SET value = 'db' WHERE key = 'store_mode'")
    c.commit()
    c.close()
    r = prtest.run(["retention", "--retention-days", "1"], db=db, key=None)
    ck.ok(r.rc == EXIT_RUNTIME and "store mode db" in r.err and "delete-session" in r.err,
          "retention on a db-mode store: refused", r.describe())


def part_rekey(tmp):
    db = os.path.join(tmp, "rekey.db")
    s1 = capture(db, MIXED, key=RAW_KEY)
    s2 = capture(db, NSEC, key=RAW_KEY)
    before = {s["session_id"]: packets_of(db, s["session_id"], key=RAW_KEY) for s in (s1, s2)}
    segs = {f: prtest.sha256_file(os.path.join(segdir(db), f)) for f in seg_files(db)}
    newkey = os.path.join(tmp, "new.key")
    with open(newkey, "w") as fh:
        fh.write(KEY + "\n")
    same = os.path.join(tmp, "same.key")
    with open(same, "w") as fh:
        fh.write(RAW_KEY + "\n")
    empty = os.path.join(tmp, "empty.key")
    open(empty, "w").close()

    ck.rc(prtest.run(["rekey"], db=db, key=RAW_KEY), EXIT_USAGE, "rekey without --new-key-file")
    ck.rc(prtest.run(["rekey", "--new-key-file", empty], db=db, key=RAW_KEY), EXIT_USAGE,
          "rekey with an empty new key")
    ck.rc(prtest.run(["rekey", "--new-key-file", same], db=db, key=RAW_KEY), EXIT_USAGE,
          "rekey to the same key")
    ck.rc(prtest.run(["rekey", "--new-key-file", os.path.join(tmp, "none")], db=db, key=RAW_KEY),
          EXIT_RUNTIME, "rekey with a missing key file")
    ck.rc(prtest.run(["rekey", "--new-key-file", newkey], db=db, key="wrong"), EXIT_KEY,
          "rekey with a wrong old key")

    # Another process with the store open: refused, nothing changed.
    if prtest.have("sqlcipher"):
        p = subprocess.Popen(["sqlcipher", "-batch", db], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdin.write(("PRAGMA key = \"x'%s'\"; PRAGMA cipher_page_size = 65536;\n"
                       "SELECT count(*) FROM sessions;\n" % RAW_KEY).encode())
        p.stdin.flush()
        line = p.stdout.readline().decode().strip()
        try:
            r = prtest.run(["rekey", "--new-key-file", newkey], db=db, key=RAW_KEY, timeout=60)
        finally:
            p.stdin.close()
            p.wait(timeout=30)
        ck.ok(line == "2" and r.rc == EXIT_RUNTIME and "another process" in r.err,
              "rekey while another process has the store open: refused", r.describe())
        ck.eq(len(prtest.sessions(db, key=RAW_KEY)), 2, "the old key still opens it")
    else:
        print("note: no sqlcipher CLI: rekey against another open connection not tested")

    obj, r = prtest.run_json(["rekey", "--new-key-file", newkey], db=db, key=RAW_KEY)
    ck.eq(obj.get("rekeyed"), True, "rekey --json")
    ck.eq({f: prtest.sha256_file(os.path.join(segdir(db), f)) for f in seg_files(db)}, segs,
          "every segment file byte for byte")
    r = prtest.run(["sessions"], db=db, key=RAW_KEY)
    ck.rc(r, EXIT_KEY, "the old key is refused")
    after = {sid: packets_of(db, sid, key=KEY) for sid in before}
    ck.eq(after, before, "every packet the same under the new key")
    res = prtest.run_json(["verify"], db=db, key=KEY)[0]
    ck.ok(res["ok"], "verify under the new key", str(res))

    pdb = os.path.join(tmp, "plain.db")
    capture(pdb, NSEC, key=None)
    r = prtest.run(["rekey", "--new-key-file", newkey], db=pdb, key=None)
    ck.ok(r.rc == EXIT_RUNTIME and "not encrypted" in r.err, "rekey of a plaintext store: refused",
          r.describe())


def part_sensor_key(tmp):
    db = os.path.join(tmp, "key.db")
    capture(db, NSEC)
    info = prtest.run_json(["store-info"], db=db, key=KEY)[0]
    pub = info.get("sensor_public_key")
    ck.ok(isinstance(pub, str) and len(pub) == 64 and all(c in "0123456789abcdef" for c in pub),
          "store-info shows the sensor's Ed25519 public key", repr(pub))
    shown = prtest.run_json(["export", "--show-public-key"], db=db, key=KEY)[0]
    ck.eq(shown.get("public_key"), pub, "the key export --show-public-key prints")


with prtest.tmpdir() as tmpd:
    for name, fn in (("help and errors", part_help_and_errors), ("store-info", part_info),
                     ("sensor key", part_sensor_key),
                     ("verify", part_verify), ("delete-session", part_delete),
                     ("retention", part_retention), ("rekey", part_rekey)):
        sub = os.path.join(tmpd, name.replace(" ", "-"))
        os.mkdir(sub)
        with ck.section(name):
            fn(sub)
ck.finish()
