#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Stores written before block version 2 and schema 5 still read, and take new sessions.

tests/stores/schema3-mixed.tar.gz holds two stores written by packetrecorder at
67c4cbf (schema 3, every block version 1, no last_seq column) from
tests/pcaps/mixed.pcap in 16-packet blocks: segments.db (sealed segment files) and
rows.db (--store-mode db); tests/stores/README.md says how they were made. For each:
- read-only (the files on a read-only bind mount, root only): the store stays at
  schema 3 and the export, a flow's packets, a time slice, a BPF-filtered export
  and verify give exactly what mixed.pcap holds;
- writable: the first open migrates it to this build's schema (4: l7_meta,
  5: last_seq, 6: received/filtered and the backends' drop reasons;
  PR_STORE_SCHEMA_VERSION in storage/pr_store_schema.h), the same reads give
  the same answers, and the old rows keep last_seq NULL;
- a second capture of mixed.pcap into the migrated store is written in lanes
  (block version 2: some rows span more packet numbers than they hold), and both
  sessions export byte for byte as mixed.pcap; verify finds no problem."""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402

ck = prtest.Checks("test_store_old")
ARCHIVE = os.path.join(prtest.SOURCE_DIR, "tests", "stores", "schema3-mixed.tar.gz")
SRC = prtest.fixture("mixed.pcap")


def current_schema():
    """PR_STORE_SCHEMA_VERSION of the sources under test: what a writable open migrates to."""
    path = os.path.join(prtest.SOURCE_DIR, "storage", "pr_store_schema.h")
    with open(path) as fh:
        m = re.search(r"#define PR_STORE_SCHEMA_VERSION (\d+)", fh.read())
    if not m:
        prtest.fail("no PR_STORE_SCHEMA_VERSION in %s" % path)
    return int(m.group(1))


SCHEMA = current_schema()


def user_version(db):
    # The fixtures are not encrypted: plain SQLite reads them.
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return con.execute("PRAGMA user_version").fetchone()[0]
    finally:
        con.close()


def block_rows(db, sid):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        cols = [r[1] for r in con.execute("PRAGMA table_info(packet_blocks)")]
        last = "last_seq" if "last_seq" in cols else "NULL"
        return con.execute("SELECT first_seq, pkt_count, %s FROM packet_blocks "
                           "WHERE session_id = ? ORDER BY first_seq" % last, (sid,)).fetchall()
    finally:
        con.close()


def export(db, sid, out, extra=()):
    if os.path.exists(out):
        os.unlink(out)
    return prtest.run(["export", "--session", sid, "--output", out, "--json"] + list(extra),
                      db=db, key=None, timeout=60)


def check_reads(db, sid, what, tmp):
    """Every read of session sid must give what mixed.pcap holds."""
    src = prtest.read_capture(SRC)
    out = os.path.join(tmp, "out.pcap")
    r = export(db, sid, out)
    ck.rc(r, 0, "%s: export session %d" % (what, sid))
    if r.rc == 0:
        with open(out, "rb") as a, open(SRC, "rb") as b:
            ck.ok(a.read() == b.read(), "%s: session %d exports byte for byte mixed.pcap" %
                  (what, sid))
    # One flow's packets, through the block index (16-packet blocks: most are skipped).
    flows = prtest.run_json(["flows", "--session", sid], db=db, key=None)[0]
    ck.eq(len(flows), 26, "%s: session %d has mixed.pcap's 26 flows" % (what, sid))
    big = max(flows, key=lambda f: f["packets"])
    rows = prtest.query(db, sid, ("--flow", big["flow_id"]), key=None)
    ck.eq(len(rows), big["packets"], "%s: --flow %d returns the flow's %d packets" %
          (what, big["flow_id"], big["packets"]))
    ck.ok(all(p["flow_id"] == big["flow_id"] for p in rows),
          "%s: --flow %d returns that flow only" % (what, big["flow_id"]))
    # A time slice from the middle of the capture, ends included.
    ts = [p.ts_ns for p in src.packets]
    lo, hi = ts[len(ts) // 3], ts[2 * len(ts) // 3]
    rows = prtest.query(db, sid, ("--from", lo, "--to", hi), key=None)
    want = [t for t in ts if lo <= t <= hi]
    ck.eq([p["ts"] for p in rows], want, "%s: --from/--to gives the %d packets in the slice" %
          (what, len(want)))
    # A filter the block index can use: tcpdump's packets, fewer blocks read.
    ref = prtest.tcpdump_select(SRC, "udp and port 53")
    if ref is not None:
        r = export(db, sid, out, ("--filter", "udp and port 53"))
        ck.rc(r, 0, "%s: export --filter" % what)
        if r.rc == 0:
            got = prtest.read_capture(out).packets if os.path.getsize(out) > 24 else []
            ck.ok([(p.ts_ns, p.data) for p in got] == [(p.ts_ns, p.data) for p in ref.packets],
                  "%s: --filter 'udp and port 53' gives tcpdump's %d packets" %
                  (what, len(ref.packets)), "got %d" % len(got))
            j = r.json()
            ck.ok(j["blocks_skipped"] > 0, "%s: the filter skipped blocks (%d of %d)" %
                  (what, j["blocks_skipped"], j["blocks_read"] + j["blocks_skipped"]))
    j = prtest.run_json(["verify"], db=db, key=None)[0]
    ck.ok(j["ok"] and j["problem_count"] == 0, "%s: verify finds no problem" % what,
          str(j.get("problems")))


def readonly_section(src_dir, name, tmp):
    """The store on a read-only mount: the CLI falls back to reading only, no migration."""
    if os.geteuid() != 0:
        print("SKIP (section): a read-only bind mount needs root")
        return
    mnt = os.path.join(tmp, "ro-" + name.split(".")[0])
    os.makedirs(mnt)
    p = subprocess.run(["mount", "--bind", "-o", "ro", src_dir, mnt],
                       stderr=subprocess.PIPE)
    if p.returncode == 0:
        # Older util-linux ignores ro on the first bind: remount to be sure.
        p = subprocess.run(["mount", "-o", "remount,ro,bind", mnt], stderr=subprocess.PIPE)
    if p.returncode != 0:
        subprocess.run(["umount", mnt], stderr=subprocess.DEVNULL)
        print("SKIP (section): cannot make a read-only bind mount: %s" %
              p.stderr.decode().strip())
        return
    try:
        db = os.path.join(mnt, name)
        check_reads(db, 1, "%s read-only" % name, tmp)
        ck.eq(user_version(db), 3, "%s read-only: still schema 3" % name)
    finally:
        subprocess.run(["umount", mnt])


def one_store(base, name, tmp):
    orig = os.path.join(base, name)
    ck.eq(user_version(orig), 3, "%s: the fixture is schema 3" % name)
    rows = block_rows(orig, 1)
    ck.ok(len(rows) == 20 and all(r[2] is None for r in rows),
          "%s: the fixture has 20 blocks and no last_seq" % name)
    readonly_section(base, name, tmp)

    work = os.path.join(tmp, "rw-" + name.split(".")[0])
    shutil.copytree(base, work)
    db = os.path.join(work, name)
    check_reads(db, 1, "%s migrated" % name, tmp)
    ck.eq(user_version(db), SCHEMA, "%s: migrated to schema %d on a writable open" % (name, SCHEMA))
    ck.ok(all(r[2] is None for r in block_rows(db, 1)),
          "%s: old rows keep last_seq NULL (first_seq + pkt_count - 1 stands)" % name)

    # A new session in the old store, written by this build: lanes, version 2 blocks.
    obj, _ = prtest.capture_file(db, SRC, key=None,
                                 extra=("--config", os.path.join(tmp, "small.conf")))
    sid = obj["session_id"]
    ck.eq(sid, 2, "%s: the new capture is session 2" % name)
    rows = block_rows(db, sid)
    ck.ok(rows and all(r[2] is not None for r in rows),
          "%s: new rows carry last_seq" % name)
    ck.ok(any(r[2] - r[0] + 1 > r[1] for r in rows),
          "%s: some new blocks hold packets with gaps (block version 2)" % name)
    check_reads(db, sid, "%s new session" % name, tmp)
    check_reads(db, 1, "%s old session after the new one" % name, tmp)


def main(tmp):
    base = os.path.join(tmp, "fixture")
    with tarfile.open(ARCHIVE) as tf:
        tf.extractall(base)
    for name in ("segments.db", "rows.db"):
        with ck.section(name):
            one_store(base, name, tmp)


with prtest.tmpdir() as tmpd:
    with open(os.path.join(tmpd, "small.conf"), "w") as fh:
        fh.write("block_max_packets = 16\n")
    main(tmpd)
ck.finish()
