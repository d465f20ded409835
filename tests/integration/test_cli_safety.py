#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Data-loss and safety contract of the commands (issue 5, items 2, 5, 6, 7):

- an output aimed at the store (same path, ./ and ../ forms, a symlink, a
  hard link, its -wal/-shm names; export, capture --pcap, generate) is
  refused with exit 3 and the store stays byte for byte the same;
- a failed export leaves a file that was there before untouched and leaves
  no temporary file behind;
- names and source paths with control characters or invalid UTF-8 are
  escaped in text output (no raw control byte reaches the terminal) while
  --json keeps the exact name;
- export, --pcap and generate files get mode 0600 whatever the umask, or
  the --file-mode given;
- --encryption-key is gone from /proc/PID/cmdline while a capture runs;
- empty -i/-r/--name/... and over-long --name/--filter are usage errors,
  capture into a missing directory is exit 1 (never 4);
- a disk-full capture (root only: a small tmpfs) ends with end_reason
  store_error, exit 1, and a summary whose figures are the store's.
"""
import json
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import KEY, TestError  # noqa: E402

ck = prtest.Checks("test_cli_safety")
PR = prtest.pr_bin()
MIXED = prtest.fixture("mixed.pcap")
MIXED_PACKETS = prtest.fixtures()["mixed.pcap"]["packets"]
ERR_PREFIX = b"packetrecorder: error:"


class Raw:
    """A finished run with raw stdout/stderr bytes."""

    def __init__(self, cmd, rc, out, err):
        self.cmd, self.rc, self.out, self.err = cmd, rc, out, err

    def describe(self):
        return "$ %s\n  exit %s\n  stderr: %r\n  stdout: %r" % (
            " ".join(repr(a) if isinstance(a, bytes) else str(a) for a in self.cmd), self.rc,
            self.err[-1500:], self.out[:1500])


def run(args, db=None, key=KEY, umask=None, fsize=None, timeout=120):
    """packetrecorder ARGS [-d DB] [--encryption-key KEY], raw bytes; args may be bytes.
    umask: run under this umask. fsize: RLIMIT_FSIZE in bytes (SIGXFSZ ignored, so a write
    past it fails with EFBIG)."""
    cmd = [PR] + list(args)
    if db is not None:
        cmd += ["-d", db]
    if key is not None:
        cmd += ["--encryption-key", key]

    def pre():
        if umask is not None:
            os.umask(umask)
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, env=prtest.clean_env(), timeout=timeout,
                           preexec_fn=pre)
    except subprocess.TimeoutExpired:
        raise TestError("timed out after %ss: %r" % (timeout, cmd))
    return Raw(cmd, p.returncode, p.stdout, p.stderr)


def rc_is(r, want, what):
    return ck.ok(r.rc == want, "%s: exit %s" % (what, want), "got exit %s\n%s" % (r.rc, r.describe()))


def err_line(r, *needles):
    """stderr has a `packetrecorder: error:` line containing every needle (str or bytes)."""
    for line in r.err.splitlines():
        if line.startswith(ERR_PREFIX) and all(
                (n if isinstance(n, bytes) else str(n).encode()) in line for n in needles):
            return True
    return False


def raw_control(b):
    """Terminal-active bytes in b, newlines aside: C0 controls, DEL, C1 (as UTF-8 or as
    single bytes) and bytes that are not UTF-8. Returns a description or ''."""
    for i, c in enumerate(b):
        if (c < 0x20 and c != 0x0a) or c == 0x7f:
            return "byte 0x%02x at %d" % (c, i)
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError as e:
        return "invalid UTF-8: %s" % e
    for i, ch in enumerate(s):
        if 0x80 <= ord(ch) <= 0x9f:
            return "C1 control U+%04X at character %d" % (ord(ch), i)
    return ""


def dir_listing(d):
    return sorted(os.listdir(d))


def sessions_json(db):
    r = run(["sessions", "--json"], db=db)
    if r.rc != 0:
        raise TestError("sessions --json failed\n" + r.describe())
    return json.loads(r.out.decode("utf-8"))


def mode_of(path):
    return os.stat(path).st_mode & 0o7777 if os.path.exists(path) else None


def sha(path):
    """sha256 of a file, None when it is gone (a destroyed store must fail a check, not
    the script)."""
    return prtest.sha256_file(path) if os.path.exists(path) else None


with prtest.tmpdir() as tmp:
    pristine = os.path.join(tmp, "pristine")
    os.mkdir(pristine)
    pdb = os.path.join(pristine, "store.db")
    r = run(["capture", "-r", MIXED, "-q"], db=pdb)
    if r.rc != 0:
        prtest.fail("cannot make the store\n" + r.describe())
    sid = "1"

    def fresh_store(label):
        """A copy of the pristine store in its own directory: one destroyed store must not
        hide the next attempt."""
        d = os.path.join(tmp, "s-" + re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-"))
        os.mkdir(d)
        for f in prtest.db_files(pdb):
            shutil.copy2(f, os.path.join(d, os.path.basename(f)))
        if os.path.isdir(pdb + ".segments"):
            shutil.copytree(pdb + ".segments", os.path.join(d, "store.db.segments"))
        return d, os.path.join(d, "store.db")

    def a_segment(db):
        """A segment file of the store, or None for a store without segments."""
        sd = db + ".segments"
        segs = sorted(os.listdir(sd)) if os.path.isdir(sd) else []
        return os.path.join(sd, segs[0]) if segs else None

    # ------------------------------------------------ item 2: outputs aimed at the store
    with ck.section("outputs aimed at the store are refused (exit 3), store unchanged"):
        attempts = [
            ("export -o the store", lambda d, db: ["export", "-S", sid, "-o", db]),
            ("export --format pcapng -o the store",
             lambda d, db: ["export", "-S", sid, "--format", "pcapng", "-o", db]),
            ("export -o ./relative/../path of the store",
             lambda d, db: ["export", "-S", sid, "-o",
                            "./" + os.path.relpath(os.path.join(d, "sub", "..", "store.db"))]),
            ("export -o a symlink to the store",
             lambda d, db: ["export", "-S", sid, "-o", os.path.join(d, "link-to-it")]),
            ("export --format pcapng -o a hard link to the store",
             lambda d, db: ["export", "-S", sid, "--format", "pcapng", "-o",
                            os.path.join(d, "hard-link")]),
            ("export -o the store's -wal name",
             lambda d, db: ["export", "-S", sid, "-o", db + "-wal"]),
            ("export --format pcapng -o the store's -shm name",
             lambda d, db: ["export", "-S", sid, "--format", "pcapng", "-o", db + "-shm"]),
            ("capture -p the store", lambda d, db: ["capture", "-r", MIXED, "-p", db]),
            ("capture -p ../ path of the store's -wal",
             lambda d, db: ["capture", "-r", MIXED, "-p",
                            os.path.join(d, "sub", "..", "store.db-wal")]),
        ]
        if a_segment(pdb):
            attempts += [
                ("export -o a segment file of the store",
                 lambda d, db: ["export", "-S", sid, "-o", a_segment(db)]),
                ("export -o a hard link to a segment file",
                 lambda d, db: ["export", "-S", sid, "-o", os.path.join(d, "seg-link")]),
                ("export -o a new file in the store's segment directory",
                 lambda d, db: ["export", "-S", sid, "-o",
                                os.path.join(db + ".segments", "new.pcap")]),
            ]
        else:
            print("note: the store keeps no segment files; segment attempts not tried")
        for label, mk in attempts:
            d, db = fresh_store(label)
            os.mkdir(os.path.join(d, "sub"))
            os.symlink("store.db", os.path.join(d, "link-to-it"))
            os.link(db, os.path.join(d, "hard-link"))
            if a_segment(db):
                os.link(a_segment(db), os.path.join(d, "seg-link"))
            before = prtest.snapshot(db)
            digest = sha(db)
            listing = dir_listing(d)
            args = mk(d, db)
            r = run(args, db=db)
            rc_is(r, prtest.EXIT_USAGE, label)
            ck.ok(err_line(r, args[-1], db), "%s: an error line names the output and the store"
                  % label, r.describe())
            ck.ok(not raw_control(r.err), "%s: nothing raw on stderr" % label)
            ck.eq(sha(db), digest, "%s: the database's sha256 is unchanged" % label)
            ck.eq(prtest.snapshot(db), before, "%s: no store file changed or appeared" % label)
            ck.eq(dir_listing(d), listing, "%s: no file left behind" % label)
            try:
                ss = sessions_json(db)
                ck.ok(len(ss) == 1 and ss[0].get("packets") == MIXED_PACKETS,
                      "%s: sessions --json still reads the one session" % label, repr(ss))
            except (TestError, ValueError) as e:
                ck.error("%s: sessions --json still works" % label, e)

        d, db = fresh_store("generate onto the store")
        digest = sha(db)
        for label, out in (("generate -o the store", db),
                           ("generate -o a symlink to the store", os.path.join(d, "gl"))):
            if out != db:
                os.symlink("store.db", out)
            r = run(["generate", "-o", out, "-n", "100"], key=None)
            rc_is(r, prtest.EXIT_USAGE, label)
            ck.ok(err_line(r, out), "%s: an error line names the output" % label, r.describe())
            ck.eq(sha(db), digest, "%s: the database's sha256 is unchanged" % label)
        try:
            ck.eq(len(sessions_json(db)), 1, "generate: sessions --json still works")
        except (TestError, ValueError) as e:
            ck.error("generate: sessions --json still works", e)

    # ------------------------------------------------ item 2: failures keep what was there
    with ck.section("a failed export keeps the previous file and leaves no temporary file"):
        d, db = fresh_store("failed export")
        out = os.path.join(d, "previous.pcap")
        r = run(["generate", "-o", out, "-n", "50", "--seed", "3"], key=None)
        rc_is(r, 0, "generate the previous file")
        digest = sha(out)
        orig = os.path.join(tmp, "previous.orig")
        shutil.copy2(out, orig)
        listing = dir_listing(d)
        # The export is 48840 bytes: a 40000-byte file size limit fails it after it began
        # writing (EFBIG), the way a full disk would.
        for label, args, fsize, want in (
                ("export cut by a file size limit (EFBIG mid-way)",
                 ["export", "-S", sid, "-o", out], 40000, prtest.EXIT_RUNTIME),
                ("export --format pcapng cut by a file size limit",
                 ["export", "-S", sid, "--format", "pcapng", "-o", out], 40000,
                 prtest.EXIT_RUNTIME),
                ("export of a session that does not exist",
                 ["export", "-S", "4242", "-o", out], None, prtest.EXIT_NOT_FOUND),
                ("export with a bad filter", ["export", "-S", sid, "-o", out, "-f", "tcp port"],
                 None, prtest.EXIT_USAGE)):
            shutil.copy2(orig, out)
            r = run(args, db=db, fsize=fsize)
            rc_is(r, want, label)
            ck.ok(os.path.exists(out) and sha(out) == digest,
                  "%s: the previous file is untouched" % label, r.describe())
            ck.eq(dir_listing(d), listing, "%s: no temporary or partial file is left" % label)
        new = os.path.join(d, "new.pcap")
        r = run(["export", "-S", sid, "-o", new], db=db, fsize=40000)
        rc_is(r, prtest.EXIT_RUNTIME, "a new export cut by a file size limit")
        ck.ok(not os.path.exists(new), "the new file it created is removed")
        ck.eq(dir_listing(d), listing, "a new export cut mid-way: nothing left behind")
        # An existing file that is not a capture file is not replaced.
        notes = os.path.join(d, "notes.txt")
        with open(notes, "w") as fh:
            fh.write("keep me\n")
        listing = dir_listing(d)
        for args in (["export", "-S", sid, "-o", notes], ["generate", "-o", notes]):
            r = run(args, db=db if args[0] == "export" else None,
                    key=KEY if args[0] == "export" else None)
            rc_is(r, prtest.EXIT_USAGE, "%s -o a text file" % args[0])
            with open(notes, "rb") as fh:
                ck.eq(fh.read(), b"keep me\n", "%s -o a text file: the file is kept" % args[0])
        # A successful export does replace an earlier capture file.
        shutil.copy2(orig, out)
        r = run(["export", "-S", sid, "-o", out], db=db)
        rc_is(r, 0, "export over the previous capture file")
        ck.ok(os.path.exists(out) and sha(out) != digest and
              len(prtest.read_capture(out).packets) == MIXED_PACKETS,
              "export replaced the previous file with the session's packets")
        ck.eq(dir_listing(d), listing, "the successful replacement leaves no temporary file")

    # ------------------------------------------------ item 6: terminal injection
    with ck.section("control characters are escaped in text output, kept in JSON"):
        d, db = fresh_store("escapes")
        evil = "a\nb\x1b[31mred\x1b]0;title\x07\x7f\u009b2J\u202eend\\n"
        r = run(["capture", "-r", MIXED, "--name", evil.encode(), "--json"], db=db)
        rc_is(r, 0, "capture --name with control characters")
        fname = os.path.join(d.encode(), b"new\nline\x1b[2J\xff.pcap")
        shutil.copy(MIXED, fname)
        r2 = run(["capture", "-r", fname], db=db)
        rc_is(r2, 0, "capture -r of a file whose name has a newline, ESC and \\xff")
        ck.ok(not raw_control(r2.err), "capture's text summary on stderr has no raw control byte",
              raw_control(r2.err) + "\n" + r2.describe())
        r = run(["sessions"], db=db)
        rc_is(r, 0, "sessions (text)")
        bad = raw_control(r.out)
        ck.ok(not bad, "sessions text output has no raw control byte or invalid UTF-8",
              bad + "\n" + repr(r.out))
        ck.eq(len(r.out.splitlines()), 4, "sessions: one line per session plus the header")
        ck.ok(b"\\n" in r.out and b"\\e" in r.out and b"\\xff" in r.out,
              "sessions shows the escapes (\\n, \\e, \\xff)", repr(r.out))
        try:
            ss = sessions_json(db)
            ck.eq(ss[1].get("name"), evil, "sessions --json round-trips the exact name")
            ck.ok("\n" in ss[2].get("source", ""), "sessions --json keeps the source's newline",
                  repr(ss[2].get("source")))
        except (TestError, ValueError, IndexError) as e:
            ck.error("sessions --json parses (valid UTF-8) and keeps the names", e)
        r = run(["capture", "-r", os.path.join(d.encode(), b"no\x1b[31msuch\n.pcap")], db=db)
        rc_is(r, prtest.EXIT_RUNTIME, "capture -r of a missing file with ESC in its name")
        ck.ok(not raw_control(r.err), "the error message has no raw control byte", r.describe())
        ck.ok(b"\\e[31m" in r.err, "the error message shows the name escaped", r.describe())

    # ------------------------------------------------ item 7: modes
    with ck.section("files are created 0600 whatever the umask, or --file-mode"):
        d, db = fresh_store("modes")
        cases = [
            ("export", ["export", "-S", sid, "-o", os.path.join(d, "e.pcap")], KEY, db),
            ("export pcapng", ["export", "-S", sid, "-F", "pcapng", "-o",
                               os.path.join(d, "e.pcapng")], KEY, db),
            ("capture -p", ["capture", "-r", MIXED, "-q", "-p", os.path.join(d, "p.pcap")], KEY,
             db),
            ("generate", ["generate", "-n", "20", "-o", os.path.join(d, "g.pcap")], None, None),
        ]
        for label, args, key, sdb in cases:
            r = run(args, db=sdb, key=key, umask=0)
            rc_is(r, 0, "%s under umask 000" % label)
            out = args[args.index("-o" if "-o" in args else "-p") + 1]
            ck.eq(mode_of(out), 0o600,
                  "%s under umask 000: mode 0600" % label)
            if os.path.exists(out):
                os.chmod(out, 0o644)
            r = run(args + ["--file-mode", "0640"], db=sdb, key=key, umask=0o077)
            rc_is(r, 0, "%s --file-mode 0640 over an existing 0644 file (umask 077)" % label)
            ck.eq(mode_of(out), 0o640, "%s --file-mode 0640: mode 0640" % label)
        for bad in ("999", "0o640", "rw-r-----", "1777", "", "-1"):
            r = run(["generate", "-n", "5", "-o", os.path.join(d, "x.pcap"), "--file-mode", bad],
                    key=None)
            rc_is(r, prtest.EXIT_USAGE, "--file-mode %r" % bad)
            ck.ok(err_line(r, "--file-mode"), "--file-mode %r: the error names the option" % bad,
                  r.describe())

    # ------------------------------------------------ item 7: key in /proc/PID/cmdline
    with ck.section("--encryption-key is wiped from /proc/PID/cmdline while capture runs"):
        d, _ = fresh_store("cmdline")
        db = os.path.join(d, "fifo.db")
        secret = "S3cret-key-under-test-" + str(os.getpid())
        fifo = os.path.join(d, "slow.fifo")
        os.mkfifo(fifo)
        with open(MIXED, "rb") as fh:
            data = fh.read()
        cmd = [PR, "capture", "-r", fifo, "-d", db, "--encryption-key", secret, "--json",
               "--name", "fifo"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=prtest.clean_env())
        seen = []
        wfd = -1
        try:
            # No reader yet is ENXIO: wait for the dataplane to open the FIFO.
            end = time.monotonic() + 30
            while wfd < 0 and p.poll() is None and time.monotonic() < end:
                try:
                    wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:
                    time.sleep(0.05)
            if wfd < 0:
                raise TestError("the capture never opened the FIFO (exit %s)" % p.poll())
            os.set_blocking(wfd, True)
            os.write(wfd, data[:24 + 16 + 60])
            time.sleep(1.0)
            for pid in [p.pid] + prtest.proc_children(p.pid):
                try:
                    with open("/proc/%d/cmdline" % pid, "rb") as fh:
                        seen.append((pid, fh.read()))
                except OSError:
                    pass
            os.write(wfd, data[24 + 16 + 60:])
            os.close(wfd)
            wfd = -1
            out, err = p.communicate(timeout=60)
        finally:
            if wfd >= 0:
                os.close(wfd)
            if p.poll() is None:
                p.kill()
            out, err = p.communicate()
        ck.ok(any(pid == p.pid for pid, _ in seen), "read the running capture's cmdline",
              repr(seen))
        ck.ok(seen and all(secret.encode() not in c for _, c in seen),
              "the key is not in /proc/PID/cmdline of capture or its dataplane",
              "\n".join(repr(c) for _, c in seen))
        ck.ok(any(b"--encryption-key" in c for _, c in seen),
              "the option name is still there (only the value is wiped)")
        ck.eq(p.returncode, 0, "the capture from the FIFO ends well",
              err.decode("utf-8", "replace"))
        r = run(["sessions", "--json"], db=db, key=secret)
        rc_is(r, 0, "sessions with the key: it was copied before the wipe")
        ck.ok(r.rc == 0 and any(s.get("name") == "fifo" and s.get("packets") == MIXED_PACKETS
                                for s in json.loads(r.out.decode())),
              "the FIFO capture stored every packet", r.describe())
        if os.geteuid() == 0:
            cmd = [PR, "capture", "-i", "lo", "-t", "3", "-d", db, "--encryption-key=" + secret,
                   "-q"]
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 stdin=subprocess.DEVNULL, env=prtest.clean_env())
            # The dataplane is started after the options are read: once it is
            # there, the command is past the point where the key must be gone.
            # (A fixed second was too short for a sanitized build on a busy CI.)
            end = time.monotonic() + 60
            while (p.poll() is None and not prtest.proc_children(p.pid) and
                   time.monotonic() < end):
                time.sleep(0.05)
            try:
                with open("/proc/%d/cmdline" % p.pid, "rb") as fh:
                    c = fh.read()
            except OSError:
                c = b""
            out, err = p.communicate(timeout=60)
            ck.ok(c and secret.encode() not in c,
                  "capture -i lo --encryption-key=KEY: the key is not in /proc/PID/cmdline",
                  repr(c) + "\n" + err.decode("utf-8", "replace"))
        else:
            print("note: not root, capture -i lo is not tried (the FIFO case covers it)")
        r = run(["capture", "--help"], key=None)
        ck.ok(b"--key-file" in r.out and b"PACKETRECORDER_DB_KEY" in r.out and
              b"prefer" in r.out.lower(), "capture --help recommends --key-file or the variable")
        for c in ("export", "sessions", "flows", "query", "replay"):
            r = run([c, "--help"], key=None)
            ck.ok(b"prefer --key-file" in r.out.lower(), "%s --help recommends --key-file" % c,
                  r.out.decode("utf-8", "replace"))

    # ------------------------------------------------ item 5: usage and contract
    with ck.section("empty and over-long values, missing directory"):
        d, db = fresh_store("usage")
        cases = [
            (["capture", "-i", ""], "--interface"),
            (["capture", "-r", ""], "--read"),
            (["capture", "-r", MIXED, "--name", ""], "--name"),
            (["capture", "-r", MIXED, "-p", ""], "--pcap"),
            (["export", "-S", sid, "-o", ""], "--output"),
            (["generate", "-o", ""], "--output"),
            (["capture", "-r", MIXED, "--name", "\u00e9" * 100], "127"),
            (["capture", "-r", MIXED, "--name", "x" * 128], "127"),
            (["capture", "-r", MIXED, "-f", " or ".join(["tcp port %d" % i for i in range(100)])],
             "1023"),
        ]
        for args, needle in cases:
            r = run(args, db=db if args[0] != "generate" else None,
                    key=KEY if args[0] != "generate" else None)
            rc_is(r, prtest.EXIT_USAGE, "%s %s" % (args[0], " ".join(repr(a)[:40] for a in args[1:])))
            ck.ok(err_line(r, needle), "the error names %r" % needle, r.describe())
        ck.eq(len(sessions_json(db)), 1, "no session was started by a refused command")
        r = run(["capture", "-r", MIXED, "--name", "x" * 127, "--json"], db=db)
        rc_is(r, 0, "--name of exactly 127 bytes")
        ck.ok(any(s.get("name") == "x" * 127 for s in sessions_json(db)),
              "the 127-byte name is stored whole")
        long_name = os.path.join(d, "\u00e9" * 100 + ".pcap")
        shutil.copy(MIXED, long_name)
        r = run(["capture", "-r", long_name, "--json"], db=db)
        rc_is(r, 0, "capture -r FILE with a 205-byte name (default session name)")
        try:
            name = sessions_json(db)[-1].get("name")
            ck.ok(isinstance(name, str) and 0 < len(name.encode()) <= 127 and
                  ("\u00e9" * 100 + ".pcap").startswith(name),
                  "the default name is cut at a character boundary (valid UTF-8)", repr(name))
        except (TestError, ValueError) as e:
            ck.error("the default name", e)
        r = run(["capture", "-r", MIXED], db="/nonexistent/dir/x.db")
        rc_is(r, prtest.EXIT_RUNTIME, "capture -d /nonexistent/dir/x.db")
        ck.ok(err_line(r, "/nonexistent/dir/x.db", "no such directory"),
              "the error names the database and says the directory is missing", r.describe())

    # ------------------------------------------------ item 5: disk full
    with ck.section("disk full: store_error, exit 1, the summary is the store's"):
        if os.geteuid() != 0:
            print("SKIP (section): disk full needs root to mount a small tmpfs")
        else:
            big = os.path.join(tmp, "big.pcap")
            r = run(["generate", "-o", big, "-n", "200000", "--seed", "11"], key=None,
                    timeout=600)
            rc_is(r, 0, "generate 200000 packets")
            # 2m: too small to create the store at all, or full at once; 8m and 48m: full
            # after some commits.
            for size in ("2m", "8m", "48m"):
                mnt = os.path.join(tmp, "full-" + size)
                os.mkdir(mnt)
                m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mnt],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                if m.returncode != 0:
                    print("SKIP (section): cannot mount a tmpfs: %s" %
                          m.stderr.decode("utf-8", "replace").strip())
                    break
                try:
                    fdb = os.path.join(mnt, "full.db")
                    r = run(["capture", "-r", big, "--json"], db=fdb, timeout=600)
                    rc_is(r, prtest.EXIT_RUNTIME, "capture into a %s tmpfs" % size)
                    if not r.out.strip() and size == "2m":
                        ck.ok(err_line(r, fdb), "%s: the store could not be created; an error "
                              "line names it" % size, r.describe())
                        continue
                    try:
                        j = json.loads(r.out.decode("utf-8"))
                    except ValueError as e:
                        raise TestError("no JSON summary: %s\n%s" % (e, r.describe()))
                    ck.eq(j.get("end_reason"), "store_error", "%s: end_reason" % size)
                    ck.eq(j.get("status"), "failed", "%s: status" % size)
                    ck.ok("full" in str(j.get("message", "")),
                          "%s: the message says the disk is full" % size, repr(j))
                    ck.ok(err_line(r, "full"), "%s: an error line says so" % size, r.describe())
                    s = [x for x in sessions_json(fdb) if x.get("session_id") == j.get("session_id")]
                    ck.eq(len(s), 1, "%s: the session is in the store" % size)
                    s = s[0] if s else {}
                    for k in ("packets", "bytes", "captured_bytes", "flows"):
                        ck.eq(j.get(k), s.get(k), "%s: summary %s = the store's" % (size, k))
                    ck.eq(j.get("drops_total"), s.get("drops"), "%s: drops = the store's" % size)
                    ck.eq(j.get("drops"), s.get("drops_by_reason"),
                          "%s: drops by reason = the store's" % size)
                    for k in ("truncated", "malformed", "non_ip", "fragments"):
                        ck.ok(j.get(k, 0) <= j.get("packets", 0),
                              "%s: %s (%s) counts stored packets, at most %s" %
                              (size, k, j.get(k), j.get("packets")))
                finally:
                    subprocess.run(["umount", mnt])

ck.finish()
