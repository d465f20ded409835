#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Errors and exit codes of docs/CLI.md: missing sessions and databases (4),
bad input files (1) including a file cut inside a packet (the packets before
the damage are kept, the error names the offset), bad filters, options and
values (3), rejected keys (2) that leave the database untouched, the
plaintext warning, --help of every command, and that an encrypted store
keeps no payload or key in clear on disk."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import KEY, TestError  # noqa: E402

ck = prtest.Checks("test_cli_errors")
prtest.pr_bin()
FX = prtest.fixtures()
MARKER = prtest.manifest()["marker"].encode()
ERR_PREFIX = "packetrecorder: error:"

# command -> long options its --help must mention (docs/CLI.md)
STORE_OPTS = ["--database", "--encryption-key", "--key-file"]
HELP = {
    "list-interfaces": ["--json"],
    "capture": ["--interface", "--read", "--filter", "--count", "--duration", "--snaplen",
                "--promisc", "--no-promisc", "--buffer-size", "--pcap", "--name", "--json"] + STORE_OPTS,
    "sessions": ["--json"] + STORE_OPTS,
    "query": ["--session", "--limit", "--show-data", "--filter", "--json"] + STORE_OPTS,
    "flows": ["--session", "--json"] + STORE_OPTS,
    "export": ["--session", "--output", "--format", "--limit", "--filter", "--json"] + STORE_OPTS,
    "replay": ["--session", "--speed", "--count", "--display-only", "--interface", "--filter",
               "--json"] + STORE_OPTS,
    "generate": ["--output", "--packets", "--seed", "--format"],
    "demo": ["--dir", "--packets"],
}


def has_err_line(r, *needles):
    """stderr has a `packetrecorder: error:` line containing every needle."""
    for line in r.err.splitlines():
        if line.startswith(ERR_PREFIX) and all(str(n) in line for n in needles):
            return True
    return False


with prtest.tmpdir() as tmp:
    db = os.path.join(tmp, "enc.db")
    mixed = prtest.fixture("mixed.pcap")
    obj, _ = prtest.capture_file(db, mixed)
    sid = obj["session_id"]

    with ck.section("not found: exit 4"):
        for cmd in (["query", "--session", "424242"], ["flows", "--session", "424242"],
                    ["replay", "--session", "424242", "--display-only"],
                    ["export", "--session", "424242", "--output", os.path.join(tmp, "o.pcap")]):
            r = prtest.run(cmd, db=db)
            ck.rc(r, prtest.EXIT_NOT_FOUND, "%s of a missing session" % cmd[0])
            ck.ok(has_err_line(r, "424242"), "%s: the error line names session 424242" % cmd[0],
                  r.describe())
        nodb = os.path.join(tmp, "no-such.db")
        for cmd in (["sessions"], ["query", "--session", "1"], ["flows", "--session", "1"]):
            r = prtest.run(cmd, db=nodb)
            ck.rc(r, prtest.EXIT_NOT_FOUND, "%s on a missing database" % cmd[0])
            ck.ok("no-such.db" in r.err, "%s: message names the database" % cmd[0], r.describe())
            ck.ok(not os.path.exists(nodb), "%s: does not create the missing database" % cmd[0])

    with ck.section("bad input files: exit 1"):
        missing = os.path.join(tmp, "does-not-exist.pcap")
        r = prtest.run(["capture", "-r", missing], db=db)
        ck.rc(r, prtest.EXIT_RUNTIME, "capture -r of a missing file")
        ck.ok(has_err_line(r, "does-not-exist.pcap"), "missing file: the error line names it",
              r.describe())
        adir = os.path.join(tmp, "a-directory.pcap")
        os.mkdir(adir)
        r = prtest.run(["capture", "-r", adir], db=db)
        ck.rc(r, prtest.EXIT_RUNTIME, "capture -r of a directory (unreadable as a file)")
        ck.ok(has_err_line(r, "a-directory.pcap"), "directory: the error line names it", r.describe())
        if os.geteuid() != 0:
            noperm = os.path.join(tmp, "noperm.pcap")
            with open(mixed, "rb") as a, open(noperm, "wb") as b:
                b.write(a.read())
            os.chmod(noperm, 0)
            r = prtest.run(["capture", "-r", noperm], db=db)
            ck.rc(r, prtest.EXIT_RUNTIME, "capture -r of a file without read permission")
            ck.ok(has_err_line(r, "noperm.pcap"), "no permission: the error line names it",
                  r.describe())
        else:
            print("note: running as root, the no-read-permission case is not testable")
        text = os.path.join(tmp, "notes.txt")
        with open(text, "w") as fh:
            fh.write("this is not a capture file\n" * 20)
        r = prtest.run(["capture", "-r", text], db=db)
        ck.rc(r, prtest.EXIT_RUNTIME, "capture -r of a text file")
        ck.ok(has_err_line(r, "notes.txt"), "text file: the error line names it", r.describe())
        empty = os.path.join(tmp, "empty.pcap")
        open(empty, "wb").close()
        r = prtest.run(["capture", "-r", empty], db=db)
        ck.rc(r, prtest.EXIT_RUNTIME, "capture -r of an empty file")

    with ck.section("truncated.pcap: packets before the damage kept, error names the offset"):
        fx = FX["truncated.pcap"]
        path = prtest.fixture("truncated.pcap")
        tdb = os.path.join(tmp, "trunc.db")
        r = prtest.run(["capture", "-r", path, "--json"], db=tdb)
        ck.rc(r, prtest.EXIT_RUNTIME, "capture -r truncated.pcap")
        offs = (str(fx["damage_offset"]), str(fx["file_size"]))
        ck.ok(any(has_err_line(r, o) for o in offs),
              "an error line names the offset %s (or the file size %s)" % offs, r.describe())
        ck.ok(has_err_line(r, "truncated.pcap"), "an error line names the damaged file", r.describe())
        try:
            j = r.json()
            ck.eq(j.get("status"), "failed", "--json summary: status")
            ck.eq(j.get("end_reason"), "error", "--json summary: end_reason")
            ck.eq(j.get("packets"), fx["packets_before_damage"], "--json summary: packets")
            ck.eq(j.get("bytes"), fx["bytes_wire"], "--json summary: bytes")
        except TestError as e:
            ck.error("--json summary of the failed capture", e)
        ss = prtest.sessions(tdb)
        ck.eq(len(ss), 1, "one session recorded")
        if ss:
            s = ss[0]
            ck.eq(s.get("status"), "failed", "session status")
            ck.eq(s.get("packets"), fx["packets_before_damage"], "session packets")
            ck.eq(s.get("bytes"), fx["bytes_wire"], "session bytes")
            ck.eq(s.get("last_packet_ts"), fx["last_ts_ns"], "session last_packet_ts")
            ck.ok(any(o in str(s.get("message")) for o in offs),
                  "session message names the offset", repr(s.get("message")))
            rows = prtest.query(tdb, s["session_id"], ["--show-data"])
            src = prtest.read_capture(path, strict=False).packets
            probs = prtest.compare_packets(
                src, [prtest.CapPacket(x.get("ts"), 0, x.get("wire_len"),
                                       bytes.fromhex(x.get("data") or ""), 0) for x in rows],
                "query")
            ck.ok(not probs, "query returns the %d packets before the damage" % len(src),
                  "\n".join(probs))

    with ck.section("usage: exit 3"):
        for expr in ("tcp port", "nosuchproto 5", "host 999.1.1.1"):
            r = prtest.run(["capture", "-r", mixed, "-f", expr], db=db)
            ck.rc(r, prtest.EXIT_USAGE, "capture -f %r" % expr)
            ck.ok(has_err_line(r, expr), "capture -f %r: the error line names the filter" % expr,
                  r.describe())
        for cmd in (["query", "--session", sid, "--filter", "tcp port"],
                    ["export", "--session", sid, "--output", os.path.join(tmp, "x.pcap"),
                     "--filter", "tcp port"],
                    ["replay", "--session", sid, "--display-only", "--filter", "tcp port"]):
            r = prtest.run(cmd, db=db)
            ck.rc(r, prtest.EXIT_USAGE, "%s --filter 'tcp port'" % cmd[0])
            ck.ok(has_err_line(r, "tcp port"), "%s: the error line names the filter" % cmd[0],
                  r.describe())
        cases = [
            (["capture", "-r", mixed, "--no-such-option"], "--no-such-option"),
            (["sessions", "--frobnicate"], "--frobnicate"),
            (["no-such-command"], "no-such-command"),
            (["capture", "-r", mixed, "-c", "abc"], "abc"),
            (["capture", "-r", mixed, "-c", "-5"], "-5"),
            (["capture", "-r", mixed, "-t", "soon"], "soon"),
            (["capture", "-r", mixed, "-b", "12q"], "12q"),
            (["capture", "-r", mixed, "-s", "zero"], "zero"),
            (["query", "--session", "abc"], "abc"),
            (["query", "--session", sid, "--limit", "many"], "many"),
            (["replay", "--session", sid, "--display-only", "--speed", "fast"], "fast"),
            (["capture"], None),
            (["capture", "-r", mixed, "-i", "lo"], None),
            (["query"], "--session"),
            (["flows"], "--session"),
            (["export", "--session", sid], "--output"),
            ([], None),
        ]
        for args, needle in cases:
            plain = not args or args[0] == "no-such-command"
            r = prtest.run(args, db=None if plain else db, key=None if plain else KEY)
            ck.rc(r, prtest.EXIT_USAGE, "usage error: %s" % " ".join(str(a) for a in args or ["(no command)"]))
            if needle:
                ck.ok(needle in r.err, "usage error names %r" % needle, r.describe())
        r = prtest.run(["capture", "-r", mixed, "-b", "16m", "--json"], db=db)
        ck.rc(r, 0, "capture -b 16m (a size suffix) is accepted")

    with ck.section("keys: exit 2, nothing written"):
        before = prtest.snapshot(db)
        wrong = "not-the-right-key-XYZZY"
        for cmd in (["sessions", "--json"], ["query", "--session", sid], ["flows", "--session", sid],
                    ["export", "--session", sid, "--output", os.path.join(tmp, "w.pcap")],
                    ["capture", "-r", mixed], ["replay", "--session", sid, "--display-only"]):
            r = prtest.run(cmd, db=db, key=wrong)
            ck.rc(r, prtest.EXIT_KEY, "%s with a wrong key" % cmd[0])
            ck.ok(ERR_PREFIX in r.err and "enc.db" in r.err,
                  "%s with a wrong key: an error line naming the database" % cmd[0], r.describe())
            ck.ok(wrong not in r.err and wrong not in r.out,
                  "%s with a wrong key: the key is not printed" % cmd[0])
            r = prtest.run(cmd, db=db, key=None)
            ck.rc(r, prtest.EXIT_KEY, "%s without a key on an encrypted store" % cmd[0])
        ck.eq(prtest.snapshot(db), before, "the database files are byte for byte unchanged")
        ck.ok(not os.path.exists(os.path.join(tmp, "w.pcap")), "no export file written on a wrong key")
        ss = prtest.sessions(db)
        ck.ok(any(s.get("session_id") == sid for s in ss), "the right key still reads the sessions")
        for f in prtest.db_files(db):
            with open(f, "rb") as fh:
                data = fh.read()
            ck.ok(MARKER not in data, "%s holds no payload in clear" % os.path.basename(f))
            ck.ok(KEY.encode() not in data, "%s does not hold the key" % os.path.basename(f))
        res = prtest.sqlcipher(db, "select count(*) from sessions;")
        if res is None:
            print("note: no sqlcipher CLI, raw SQLite access not checked")
        else:
            ck.ok(res[0] != 0 and "not a database" in res[2],
                  "sqlcipher without the key: 'file is not a database'", repr(res))
            res = prtest.sqlcipher(db, "select count(*) from sessions;", key=KEY)
            if res[0] == 0:
                ck.ok(res[1].strip().isdigit() and int(res[1].strip()) >= 1,
                      "sqlcipher with the key reads the sessions table", repr(res))
            else:
                print("note: the sqlcipher CLI cannot open the store with the key and the default or "
                      "64 KiB page size: %r" % (res,))

    with ck.section("plaintext store"):
        pdb = os.path.join(tmp, "plain.db")
        r = prtest.run(["capture", "-r", mixed, "--json"], db=pdb, key=None)
        ck.rc(r, 0, "capture without a key")
        n = r.err.count("not encrypted")
        ck.eq(n, 1, "capture: the 'not encrypted' warning appears once", r.describe())
        ck.ok(re.search(r"warning: .*plain\.db.* not encrypted", r.err) is not None,
              "the warning names the database", r.describe())
        try:
            ck.eq(r.json().get("encrypted"), False, "capture --json: encrypted false")
        except TestError as e:
            ck.error("capture --json of a plaintext store", e)
        r = prtest.run(["sessions", "--json"], db=pdb, key=None)
        ck.rc(r, 0, "sessions without a key")
        ck.eq(r.err.count("not encrypted"), 1, "sessions: the warning appears once", r.describe())
        with open(pdb, "rb") as fh:
            head = fh.read(16)
        ck.eq(head, b"SQLite format 3\0", "a plaintext store is an SQLite file")
        # Segments are sealed even in a plaintext store: the payload never shows.
        def holds_marker(path):
            files = list(prtest.db_files(path))
            seg = path + ".segments"
            if os.path.isdir(seg):
                files += [os.path.join(seg, n) for n in os.listdir(seg)]
            found = False
            for f in files:
                with open(f, "rb") as fh:
                    found = found or MARKER in fh.read()
            return found
        ck.ok(not holds_marker(pdb), "a plaintext store in segment mode shows no payload")
        pdb2 = os.path.join(tmp, "plain-dbmode.db")
        r = prtest.run(["capture", "-r", mixed, "--store-mode", "db"], db=pdb2, key=None)
        ck.rc(r, 0, "capture --store-mode db into a plaintext store")
        ck.ok(holds_marker(pdb2),
              "a plaintext store in db mode holds the payload marker (the marker check works)")
        before = prtest.snapshot(pdb)
        r = prtest.run(["sessions", "--json"], db=pdb, key=KEY)
        ck.rc(r, prtest.EXIT_KEY, "a key for a plaintext store")
        ck.eq(prtest.snapshot(pdb), before, "the plaintext store is unchanged")
        with open(db, "rb") as fh:
            ck.ok(fh.read(16) != b"SQLite format 3\0", "an encrypted store has no SQLite header")

    with ck.section("--help and --version"):
        r = prtest.run(["--help"], key=None)
        ck.rc(r, 0, "packetrecorder --help")
        txt = r.out + r.err
        miss = [c for c in HELP if c not in txt]
        ck.ok(not miss, "--help lists every command", "missing %s" % miss)
        r = prtest.run(["--version"], key=None)
        ck.rc(r, 0, "packetrecorder --version")
        ck.ok(re.search(r"\d+\.\d+", r.out + r.err) is not None, "--version prints a version",
              r.describe())
        for cmd, opts in HELP.items():
            r = prtest.run([cmd, "--help"], key=None)
            ck.rc(r, 0, "%s --help" % cmd)
            txt = r.out + r.err
            miss = [o for o in opts if o not in txt]
            ck.ok(not miss, "%s --help mentions its options" % cmd, "missing %s" % miss)

    with ck.section("configs/packetrecorder.conf is the defaults"):
        # The shipped file documents every key with its default: it is what `config`
        # prints with no file, so a key added to the tables cannot be left out of it.
        r = prtest.run(["config"], key=None)
        ck.rc(r, 0, "packetrecorder config")
        with open(os.path.join(prtest.SOURCE_DIR, "configs", "packetrecorder.conf")) as fh:
            shipped = fh.read()
        ck.eq(shipped, r.out, "configs/packetrecorder.conf equals `packetrecorder config`")
        # ... and docs/configuration.md has a row for every key.
        with open(os.path.join(prtest.SOURCE_DIR, "docs", "configuration.md")) as fh:
            doc = fh.read()
        keys = re.findall(r"^([a-z][a-z0-9_]*) = ", r.out, re.M)
        miss = [k for k in keys if "| `%s` |" % k not in doc]
        ck.ok(len(keys) > 20 and not miss,
              "docs/configuration.md documents every key of `config` (%d)" % len(keys),
              "missing: %s" % miss)

ck.finish()
