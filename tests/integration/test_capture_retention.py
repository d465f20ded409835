#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Retention while capturing: capture --retention-bytes/--retention-days and the
config keys record the limits in the store and apply them at the start, every
minute and at the end of a capture; later captures apply the store's limits
without being told; pinned sessions are kept; a db-mode store refuses them
before any session is created."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import RAW_KEY  # noqa: E402

ck = prtest.Checks("test_capture_retention")


def info(db):
    return prtest.run_json(["store-info"], db=db, key=RAW_KEY)[0]


def stored(db, sid):
    return len(prtest.query(db, sid, key=RAW_KEY, timeout=120))


def seg_bytes(db):
    d = db + ".segments"
    return sum(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d))


def main(tmp):
    src = os.path.join(tmp, "g.pcap")
    r = prtest.run(["generate", "--output", src, "--packets", "20000", "--seed", "5"], key=None)
    if r.rc != 0:
        prtest.fail(r.describe())
    db = os.path.join(tmp, "ret.db")
    obj, _ = prtest.capture_file(db, src, key=RAW_KEY)
    n = obj["packets"]
    one = seg_bytes(db)
    size1 = info(db)["size_bytes"]
    limit = size1 + int(1.6 * one)
    with ck.section("a limit given to capture"):
        obj2, _ = prtest.capture_file(db, src, key=RAW_KEY,
                                      extra=("--retention-bytes", str(limit)))
        ck.eq([stored(db, 1), stored(db, 2)], [n, n], "two sessions fit under the limit")
        obj3, r = prtest.capture_file(db, src, key=RAW_KEY,
                                      extra=("--retention-bytes", str(limit)))
        ck.eq([stored(db, s) for s in (1, 2, 3)], [0, n, n],
              "the third capture expired the oldest session's segments")
        ck.ok("retention deleted" in r.err, "the capture said so", r.err)
        i = info(db)
        ck.eq(i.get("retention_bytes"), limit, "the limit is kept in the store")
        ck.eq(i.get("expired_packets"), n, "store-info counts the expired packets")
        ck.ok(i["size_bytes"] <= limit + 65536, "the store is within the limit (%d <= %d)"
              % (i["size_bytes"], limit))
    with ck.section("the store's limit applies without flags"):
        prtest.capture_file(db, src, key=RAW_KEY)
        ck.eq([stored(db, s) for s in (2, 3, 4)], [0, n, n],
              "a capture without flags expired the next oldest session")
    with ck.section("pinned sessions are kept"):
        r = prtest.run(["pin", "--session", "3"], db=db, key=RAW_KEY)
        ck.rc(r, 0, "pin session 3")
        prtest.capture_file(db, src, key=RAW_KEY)
        ck.eq([stored(db, s) for s in (3, 4, 5)], [n, 0, n],
              "session 3 is pinned: session 4 went instead")
    with ck.section("config keys"):
        conf = os.path.join(tmp, "ret.conf")
        with open(conf, "w") as fh:
            fh.write("retention_bytes = %d\n" % (size1 + int(0.5 * one)))
        db2 = os.path.join(tmp, "ret2.db")
        prtest.capture_file(db2, src, key=RAW_KEY)
        prtest.capture_file(db2, src, key=RAW_KEY, extra=("--config", conf))
        ck.eq([stored(db2, s) for s in (1, 2)], [0, n],
              "retention_bytes from the config file expired session 1")
        ck.eq(info(db2).get("retention_bytes"), size1 + int(0.5 * one),
              "and was recorded in the store")
    with ck.section("db mode refuses"):
        db3 = os.path.join(tmp, "ret3.db")
        r = prtest.run(["capture", "-r", src, "--store-mode", "db", "--retention-days", "3"],
                       db=db3, key=RAW_KEY)
        ck.eq(r.rc, 3, "capture --store-mode db --retention-days: exit 3", r.describe())
        ck.ok("delete-session" in r.err, "the message says what to do instead", r.err)
        ck.eq(prtest.sessions(db3, key=RAW_KEY), [], "and no session was created")
        for args in (["--retention-days", "-1"], ["--retention-days", "40000"],
                     ["--retention-bytes", "lots"]):
            r = prtest.run(["capture", "-r", src] + args, db=db3, key=RAW_KEY)
            ck.eq(r.rc, 3, "capture %s: exit 3" % " ".join(args), r.err.strip())


with prtest.tmpdir() as tmpd:
    main(tmpd)
ck.finish()
