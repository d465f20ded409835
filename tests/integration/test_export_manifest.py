#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""export --manifest and verify-export: a manifest verifies (exit 0) with the
manifest's own key and with the store's key from `export --show-public-key`;
a one-byte change in the exported file, a one-byte change in a manifest
field, and a manifest signed by another store's key (with --public-key) are
each reported (exit 1) naming what does not match; so is a one-byte change
at the value of every member of the manifest, an upper-case hex digit in
its signature, and a changed or added byte after it (only the final newline
may go); a capture without drops says "no loss" in the manifest and the
pcapng comment; --limit and --filter cuts are named, and a one-byte change
of a pcap, csv, jsonl or db export is reported; usage errors exit 3. (Every
one-byte change of a manifest, 11 ways per byte, is in test_pr_manifest;
real drops in test_priv_slow_store.)"""
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402

ck = prtest.Checks("test_export_manifest")
prtest.pr_bin()


def verify(f, m, extra=()):
    return prtest.run(["verify-export", f, "--manifest", m, "--json"] + list(extra), key=None)


def main(tmp):
    db = os.path.join(tmp, "store.db")
    other = os.path.join(tmp, "other.db")
    sid = prtest.capture_file(db, prtest.fixture("mixed.pcap"))[0]["session_id"]
    osid = prtest.capture_file(other, prtest.fixture("mixed.pcap"))[0]["session_id"]
    pub = prtest.run_json(["export", "--show-public-key"], db=db)[0]["public_key"]
    opub = prtest.run_json(["export", "--show-public-key"], db=other)[0]["public_key"]
    ck.ok(len(pub) == 64 and pub != opub, "each store has its own public key")
    pub2 = prtest.run_json(["export", "--show-public-key"], db=db)[0]["public_key"]
    ck.eq(pub2, pub, "the key is kept: the same on a second call")

    out, man = os.path.join(tmp, "a.pcapng"), os.path.join(tmp, "a.json")
    prtest.run_json(["export", "--session", sid, "--output", out, "--format", "pcapng",
                     "--manifest", man], db=db)
    m = json.load(open(man))
    with ck.section("manifest contents"):
        q = prtest.query(db, sid)
        ck.eq(m["format"], "packetrecorder-export-manifest", "format")
        ck.eq(m["session"]["id"], sid, "session id")
        ck.eq(m["packets"], len(q), "packets as query")
        ck.eq(m["first_ts_ns"], q[0]["ts"], "first timestamp")
        ck.eq(m["last_ts_ns"], q[-1]["ts"], "last timestamp")
        ck.eq(m["file_sha256"], prtest.sha256_file(out), "file_sha256")
        ck.eq(m["sensor_public_key"], pub, "the store's public key")
        ck.ok(m["completeness"]["no_loss"] and "no loss" in m["completeness"]["loss"],
              "no loss in the manifest", repr(m["completeness"]))
        ck.eq(m["completeness"]["drop_intervals"], [], "no drop intervals")
        ck.ok(b"no loss" in open(out, "rb").read(), "no loss in the pcapng comment")

    with ck.section("verified"):
        r = verify(out, man)
        ck.rc(r, 0, "ok with the manifest's key")
        ck.ok(not r.json()["origin_proven"], "without --public-key: origin not proven")
        r = verify(out, man, ["--public-key", pub])
        ck.rc(r, 0, "ok with the store's key")
        ck.ok(r.json()["origin_proven"], "with --public-key: origin proven")
        kf = os.path.join(tmp, "pub.txt")
        with open(kf, "w") as f:
            f.write(pub + "\n")
        ck.rc(verify(out, man, ["--public-key", kf]), 0, "ok with the key in a file")
        r = prtest.run(["verify-export", out, "--manifest", man], key=None)
        ck.ok(r.rc == 0 and "OK" in r.out and "not origin" in r.out, "text output", r.describe())

    with ck.section("one byte of the file changed"):
        bad = os.path.join(tmp, "bad.pcapng")
        shutil.copy(out, bad)
        with open(bad, "r+b") as f:
            f.seek(os.path.getsize(bad) - 10)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 1]))
        r = verify(bad, man)
        ck.rc(r, 1, "exit 1")
        j = r.json()
        ck.ok(not j["file_sha256_ok"] and j["signature_ok"], "names the file hash, not the "
              "signature", repr(j))
        r = prtest.run(["verify-export", bad, "--manifest", man], key=None)
        ck.ok("MISMATCH: file hash" in r.out, "text says file hash", r.out)

    with ck.section("one byte of the manifest changed"):
        bm = os.path.join(tmp, "bad.json")
        txt = open(man, "rb").read()
        i = txt.index(b'"packets":') + len(b'"packets":')
        txt = txt[:i] + bytes([txt[i] ^ 1]) + txt[i + 1:]
        open(bm, "wb").write(txt)
        r = verify(out, bm)
        ck.rc(r, 1, "exit 1")
        j = r.json()
        ck.ok(j["file_sha256_ok"] and not j["signature_ok"], "names the signature", repr(j))
        r = prtest.run(["verify-export", out, "--manifest", bm], key=None)
        ck.ok("MISMATCH: signature" in r.out and "edited" in r.out, "text says edited", r.out)

    with ck.section("one byte at every member of the manifest"):
        txt = open(man, "rb").read()
        missed, tried = [], 0
        bm = os.path.join(tmp, "member.json")
        for mm in re.finditer(rb'"([a-z_0-9]+)":', txt):
            i = mm.end()
            if txt[i:i + 1] == b'"' and txt[i + 1:i + 2] != b'"':
                i += 1  # the first character of a string, not its quote
            open(bm, "wb").write(txt[:i] + bytes([txt[i] ^ 1]) + txt[i + 1:])
            r = verify(out, bm)
            tried += 1
            if r.rc != 1 or r.json().get("ok"):
                missed.append("%s (byte %d): exit %s" % (mm.group(1).decode(), i, r.rc))
        ck.ok(tried >= 50 and not missed, "each of %d members changed at its value: exit 1" % tried,
              "\n".join(missed))

    with ck.section("the manifest byte for byte as written"):
        txt = open(man, "rb").read()
        k = txt.rindex(b'"signature":"') + len(b'"signature":"')
        while not (0x61 <= txt[k] <= 0x66):  # the first letter among its hex digits
            k += 1
        cases = (("an upper-case hex digit in the signature",
                  txt[:k] + bytes([txt[k] - 0x20]) + txt[k + 1:], 1),
                 ("its newline changed to CR", txt[:-1] + b"\r", 1),
                 ("one more newline", txt + b"\n", 1),
                 ("a space after it", txt + b" ", 1),
                 ("its newline gone (not signed, carries nothing)", txt[:-1], 0))
        for what, data, want in cases:
            bm = os.path.join(tmp, "exact.json")
            open(bm, "wb").write(data)
            ck.rc(verify(out, bm), want, what)

    with ck.section("signed by another store's key"):
        o_out, o_man = os.path.join(tmp, "o.pcapng"), os.path.join(tmp, "o.json")
        prtest.run_json(["export", "--session", osid, "--output", o_out, "--format", "pcapng",
                         "--manifest", o_man], db=other)
        ck.rc(verify(o_out, o_man), 0, "the other manifest is intact")
        r = verify(o_out, o_man, ["--public-key", pub])
        ck.rc(r, 1, "but not signed by our sensor: exit 1")
        ck.ok(not r.json()["key_matches_manifest"], "names the key", r.out)
        r = prtest.run(["verify-export", o_out, "--manifest", o_man, "--public-key", pub],
                       key=None)
        ck.ok("not signed by the given key" in r.out, "text names the key", r.out)

    with ck.section("cuts: --limit and --filter"):
        for fmt in ("csv", "jsonl", "pcap", "db"):
            f2, m2 = os.path.join(tmp, "c." + fmt), os.path.join(tmp, "c-%s.json" % fmt)
            prtest.run_json(["export", "--session", sid, "--output", f2, "--format", fmt,
                             "--limit", "200", "--filter", "tcp", "--manifest", m2], db=db)
            mm = json.load(open(m2))
            kinds = {c["kind"]: c for c in mm["completeness"]["cuts"]}
            ck.ok("limit" in kinds and "limit reached at packet" in kinds["limit"]["what"],
                  "%s: limit cut named" % fmt, repr(kinds))
            ck.ok("filter" in kinds and kinds["filter"]["excluded"] > 0,
                  "%s: filter exclusions counted" % fmt, repr(kinds))
            ck.ok(not mm["completeness"]["complete"], "%s: not complete" % fmt)
            ck.rc(verify(f2, m2), 0, "%s: verifies" % fmt)
            bad = os.path.join(tmp, "bad." + fmt)
            raw = bytearray(open(f2, "rb").read())
            raw[len(raw) // 2] ^= 0x01
            open(bad, "wb").write(raw)
            r = verify(bad, m2)
            ck.ok(r.rc == 1 and not r.json()["file_sha256_ok"] and r.json()["signature_ok"],
                  "%s: one byte changed in the middle: the file hash, exit 1" % fmt, r.describe())

    with ck.section("usage"):
        ck.rc(prtest.run(["verify-export", out], key=None), 3, "no --manifest: exit 3")
        ck.rc(prtest.run(["verify-export", out, "--manifest", man, "--public-key", "zz"],
                         key=None), 3, "bad key: exit 3")


with prtest.tmpdir() as tmpd:
    main(tmpd)
ck.finish()
