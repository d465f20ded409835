#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Store torture: what an operator does all day while a capture writes.

1. Readers during a large encrypted capture: several threads loop over
   `sessions`, `flows`, `query`, `export` and wrong-key opens for as long as
   the capture runs. None of them may fail with anything but the documented
   answers (0; 4 before the session exists; 2 for the wrong key), and
   afterwards PRAGMA integrity_check is ok, `flows` returns exactly the flows
   and `export` exactly the packets the capture summary reported (the export
   is byte for byte the input file).
2. kill -9 of a capture at random moments, 20 rounds into one store, with a
   reader run just before each kill: the store always opens, the killed
   session reads as interrupted, nothing that a reader had seen committed is
   lost, the stored packets are exactly the input's first ones, and the
   store's files keep mode 0600 although the capture ran under umask 000.
3. Wrong keys on the crashed store: every command refuses with exit 2 and the
   database, its -wal and its -shm stay byte for byte as the crash left them.

Set PR_TORTURE_ROUNDS to change the number of kill rounds (default 20).
"""
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import RAW_KEY  # noqa: E402

ck = prtest.Checks("test_store_torture")
BIN = prtest.pr_bin()
WRONG = "0f" * 32
SANITIZED = any(s in os.path.basename(os.path.normpath(prtest.BUILD_DIR)) for s in ("asan", "tsan"))
BIG_PACKETS = 200000 if SANITIZED else 600000
ROUND_PACKETS = 100000 if SANITIZED else 300000
ROUNDS = int(os.environ.get("PR_TORTURE_ROUNDS", "20"))
PCAP_HDR = 24


def pcap_records(path):
    """Number of records of a pcap file (usec or nsec, either byte order)."""
    n = 0
    with open(path, "rb") as fh:
        hdr = fh.read(PCAP_HDR)
        bo = "<" if hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        import struct
        rec = struct.Struct(bo + "IIII")
        while True:
            h = fh.read(16)
            if len(h) < 16:
                break
            _, _, cap, _ = rec.unpack(h)
            fh.seek(cap, 1)
            n += 1
    return n


def is_prefix_of(part, whole):
    """True if file part is byte for byte the start of file whole."""
    with open(part, "rb") as a, open(whole, "rb") as b:
        while True:
            x = a.read(1 << 20)
            if not x:
                return True
            if b.read(len(x)) != x:
                return False


def generate(path, packets, seed):
    """A realistic mix (the product's own generator): about 600 bytes a packet."""
    r = prtest.run(["generate", "--output", path, "--packets", str(packets), "--seed", str(seed)],
                   key=None, timeout=600)
    if r.rc != 0:
        prtest.fail("generate failed\n" + r.describe())
    # generate may add the packets that close its conversations
    return pcap_records(path)


def start_capture(db, src, errpath, umask=None):
    cmd = [BIN, "capture", "-r", src, "-d", db, "--key-file", KEYFILE, "--json"]
    out = open(errpath + ".out", "wb")
    err = open(errpath, "wb")
    pre = (lambda: os.umask(umask)) if umask is not None else None
    p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                         env=prtest.clean_env(), preexec_fn=pre)
    out.close()
    err.close()
    return p


def dataplanes(pid):
    return [c for c in prtest.proc_children(pid)
            if "packetrecorder-dataplane" in prtest.proc_exe(c)]


class Reader(threading.Thread):
    """Loops one kind of reading command until stopped; keeps every bad answer."""

    def __init__(self, kind, db, tmp):
        super().__init__(daemon=True)
        self.kind, self.db, self.tmp = kind, db, tmp
        self.stop = threading.Event()
        self.runs, self.bad, self.ok_runs = 0, [], 0

    def one(self):
        out = os.path.join(self.tmp, "reader-%s.pcap" % self.kind)
        if self.kind == "sessions":
            r = prtest.run(["sessions", "--json"], db=self.db, key=RAW_KEY, timeout=120)
            return r, (0,)
        if self.kind == "flows":
            r = prtest.run(["flows", "--session", "1", "--json", "--limit", "50"], db=self.db,
                           key=RAW_KEY, timeout=120)
            return r, (0, 4)
        if self.kind == "query":
            r = prtest.run(["query", "--session", "1", "--json", "--limit", "20"], db=self.db,
                           key=RAW_KEY, timeout=120)
            return r, (0, 4)
        if self.kind == "export":
            r = prtest.run(["export", "--session", "1", "--output", out, "--limit", "2000"],
                           db=self.db, key=RAW_KEY, timeout=120)
            return r, (0, 4)
        if self.kind == "wrongkey":
            r = prtest.run(["sessions"], db=self.db, key=WRONG, timeout=120)
            return r, (2,)
        raise ValueError(self.kind)

    def run(self):
        while not self.stop.is_set():
            try:
                r, allowed = self.one()
            except prtest.TestError as e:
                self.bad.append(str(e)[:600])
                continue
            self.runs += 1
            if r.rc not in allowed or "malformed" in r.err:
                self.bad.append("exit %s: %s" % (r.rc, r.err.strip()[:400]))
            elif r.rc == 0:
                self.ok_runs += 1


def part_readers(tmp):
    db = os.path.join(tmp, "busy.db")
    big = os.path.join(tmp, "big.pcap")
    total = generate(big, BIG_PACKETS, 11)
    print("input: %d packets, %d bytes" % (total, os.path.getsize(big)))
    errpath = os.path.join(tmp, "busy.err")
    p = start_capture(db, big, errpath)
    prtest.wait_until(lambda: os.path.exists(db) or p.poll() is not None, 10)
    readers = [Reader(k, db, tmp) for k in ("sessions", "flows", "query", "export", "wrongkey")]
    for r in readers:
        r.start()
    t0 = time.monotonic()
    try:
        p.wait(timeout=900)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for r in readers:
            r.stop.set()
        for r in readers:
            r.join(timeout=180)
    took = time.monotonic() - t0
    with open(errpath + ".out", "rb") as fh:
        out = fh.read().decode("utf-8", "replace")
    with open(errpath, "rb") as fh:
        err = fh.read().decode("utf-8", "replace")
    ck.eq(p.returncode, 0, "the capture under readers exits 0", err[-800:])
    try:
        import json
        summary = json.loads(out)
    except ValueError:
        prtest.fail("capture printed no JSON summary: %r / %s" % (out[:300], err[-500:]))
    print("capture took %.1f s; reader runs: %s" % (
        took, ", ".join("%s %d (%d ok)" % (r.kind, r.runs, r.ok_runs) for r in readers)))
    with ck.section("readers during the capture"):
        for r in readers:
            ck.ok(r.runs >= 2, "%s ran %d times during the capture" % (r.kind, r.runs))
            ck.ok(not r.bad, "%s: every answer was a documented one" % r.kind,
                  "%d bad answers, first: %s" % (len(r.bad), r.bad[:2]))
        ck.ok(sum(r.ok_runs for r in readers if r.kind != "wrongkey") >= 4,
              "readers got real answers while the capture ran")
    with ck.section("the store after the capture"):
        ck.eq(summary.get("status"), "completed", "capture status")
        ck.eq(summary.get("packets"), total, "capture stored every packet")
        res = prtest.sqlcipher(db, "PRAGMA integrity_check;", key=RAW_KEY, timeout=600)
        if res is None:
            print("note: no sqlcipher CLI, integrity_check skipped")
        else:
            ck.ok(res[0] == 0 and res[1].strip() == "ok", "PRAGMA integrity_check: ok",
                  repr(res)[:800])
        fl = prtest.run_json(["flows", "--session", str(summary["session_id"])], db=db,
                             key=RAW_KEY, timeout=600)[0]
        ck.eq(len(fl), summary.get("flows"), "flows returns exactly the flows of the summary")
        ses = prtest.session(db, summary["session_id"], key=RAW_KEY)
        for k in ("packets", "bytes", "flows"):
            ck.eq(ses.get(k), summary.get(k), "sessions: %s as in the summary" % k)
        exp = os.path.join(tmp, "busy-export.pcap")
        r = prtest.run(["export", "--session", str(summary["session_id"]), "--output", exp],
                       db=db, key=RAW_KEY, timeout=600)
        ck.eq(r.rc, 0, "export of the whole session", r.err[-500:])
        if r.rc == 0:
            ck.eq(pcap_records(exp), summary.get("packets"), "export holds every packet")
            ck.ok(prtest.sha256_file(exp) == prtest.sha256_file(big),
                  "the export is byte for byte the input file")
            os.unlink(exp)
    os.unlink(big)
    os.unlink(db)


def kill_round(i, nsess, db, src, tmp, rng, delay=None):
    errpath = os.path.join(tmp, "round-%d.err" % i)
    # Under umask 000 until the store exists: the file modes part checks it.
    p = start_capture(db, src, errpath, umask=0 if not os.path.exists(db) else None)
    dps = set()
    seen = 0
    # Commits come every second: kill before, at and after the first ones.
    if delay is None:
        # From before the first commit (1 s, or 64 MiB) to near the end.
        delay = rng.uniform(0.05, 0.9 * ROUND_SECONDS)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < delay and p.poll() is None:
            dps.update(dataplanes(p.pid))
            time.sleep(0.02)
        # A reader just before the kill: it used to unlink the writer's WAL.
        r = prtest.run(["sessions", "--json"], db=db, key=RAW_KEY, timeout=120)
        if r.rc == 0:
            rows = r.json()
            if len(rows) >= nsess + 1:
                seen = rows[nsess].get("packets") or 0
        elif r.rc == 4 and "no such database" in r.err and nsess == 0:
            pass  # the first capture has not created the store yet: documented
        else:
            ck.ok(False, "round %d: sessions during the capture" % i, r.describe())
        dps.update(dataplanes(p.pid))
        finished = p.poll() is not None
        if not finished:
            os.kill(p.pid, signal.SIGKILL)
    finally:
        p.wait(timeout=60)
    prtest.wait_until(lambda: not [d for d in dps if prtest.proc_alive(d)], 5)
    for d in dps:
        if prtest.proc_alive(d):
            os.kill(d, signal.SIGKILL)
    return finished, seen, p.returncode


def part_kill(tmp):
    db = os.path.join(tmp, "crash.db")
    src = os.path.join(tmp, "round.pcap")
    total = generate(src, ROUND_PACKETS, 3)
    global ROUND_TOTAL
    ROUND_TOTAL = total
    rng = random.Random(int(os.environ.get("PR_TORTURE_SEED", "0")) or None)
    killed = 0
    # How long one whole capture of the round file takes here: kills are drawn
    # within it, so that they land while it runs on a fast machine as on a slow one.
    scratch = os.path.join(tmp, "scratch.db")
    t0 = time.monotonic()
    p = start_capture(scratch, src, os.path.join(tmp, "scratch.err"))
    p.wait(timeout=600)
    global ROUND_SECONDS
    ROUND_SECONDS = max(0.2, time.monotonic() - t0)
    print("one capture of the round file takes %.2f s here" % ROUND_SECONDS)
    for f in os.listdir(tmp):
        if f.startswith("scratch.db"):
            path = os.path.join(tmp, f)
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
    # At least ROUNDS kills that land while the capture runs; a capture that ends
    # before its kill is checked too, and does not count.
    # Round 0 kills at once, before the capture can have created the store or
    # its session; a round killed before its session was recorded leaves none.
    nsess = 0
    early = 0
    for i in range(2 * ROUNDS):
        if killed >= ROUNDS:
            break
        finished, seen, rc = kill_round(i, nsess, db, src, tmp, rng,
                                        delay=0.0 if i == 0 else None)
        r = prtest.run(["sessions", "--json"], db=db, key=RAW_KEY, timeout=300)
        if r.rc == 4 and "no such database" in r.err and nsess == 0 and not finished:
            early += 1
            continue
        if r.rc != 0:
            ck.ok(False, "round %d: the store opens after the kill" % i, r.describe())
            break
        rows = r.json()
        if len(rows) == nsess and not finished:
            early += 1
            continue
        if len(rows) != nsess + 1:
            ck.ok(False, "round %d: at most one session per round" % i,
                  "%d sessions, %d before the round" % (len(rows), nsess))
            break
        s = rows[nsess]
        nsess += 1
        if finished:
            ok = rc == 0 and s.get("status") == "completed" and s.get("packets") == total
            ck.ok(ok, "round %d: the capture finished before the kill, completed" % i,
                  "exit %s, %r" % (rc, s))
            continue
        killed += 1
        n = s.get("packets")
        if s.get("status") == "completed":
            # The kill landed after the capture had finished its work.
            ck.eq(n, total, "round %d: killed at the very end, completed with every packet" % i)
            continue
        good = (s.get("status") == "interrupted" and isinstance(n, int) and n >= seen
                and n <= total)
        ck.ok(good, "round %d: killed after %.0f%%, interrupted, %d packets kept >= %d seen "
              "committed" % (i, 100.0 * (n or 0) / total, n or 0, seen), repr(s))
        if n and killed % 4 == 0:
            exp = os.path.join(tmp, "round-export.pcap")
            r = prtest.run(["export", "--session", str(s["session_id"]), "--output", exp],
                           db=db, key=RAW_KEY, timeout=300)
            ok = r.rc == 0 and pcap_records(exp) == n and is_prefix_of(exp, src)
            ck.ok(ok, "round %d: the stored packets are the input's first %d, byte for byte"
                  % (i, n), r.describe())
            if os.path.exists(exp):
                os.unlink(exp)
    print("%d rounds were killed before their session was recorded" % early)
    ck.ok(killed >= ROUNDS // 2, "%d of %d rounds were killed mid-capture" % (killed, ROUNDS))

    with ck.section("file modes"):
        for f in prtest.db_files(db):
            mode = stat.S_IMODE(os.stat(f).st_mode)
            ck.eq(oct(mode), oct(0o600), "%s created 0600 under umask 000"
                  % os.path.basename(f))

    with ck.section("integrity after %d kills" % killed):
        res = prtest.sqlcipher(db, "PRAGMA integrity_check;", key=RAW_KEY, timeout=600)
        if res is not None:
            ck.ok(res[0] == 0 and res[1].strip() == "ok", "PRAGMA integrity_check: ok",
                  repr(res)[:800])
    return db, src


def part_wrong_key(tmp, db, src):
    # Leave a crashed writer with a WAL behind, then try every wrong key.
    rng = random.Random(5)
    for k in range(8):
        n_rows = len(prtest.sessions(db, key=RAW_KEY))
        kill_round(100 + k, n_rows, db, src, tmp, rng, delay=ROUND_SECONDS * (0.6 - 0.07 * k))
        wal = db + "-wal"
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            break
        # The kill came after the capture's last commit: try again, earlier.
        prtest.run(["sessions"], db=db, key=RAW_KEY)
    files_before = prtest.snapshot(db)
    ck.ok(any(n.endswith("-wal") for n in files_before),
          "a crashed capture left a WAL (%s)" % sorted(files_before))
    out = os.path.join(tmp, "wrong.pcap")
    attempts = [
        (["sessions"], WRONG), (["sessions", "--json"], "a passphrase"),
        (["flows", "--session", "1"], WRONG), (["query", "--session", "1"], WRONG),
        (["export", "--session", "1", "--output", out], WRONG),
        (["replay", "--session", "1", "--display-only"], WRONG),
        (["capture", "-r", prtest.fixture("nsec.pcap")], WRONG),
        (["sessions"], None),
    ]
    with ck.section("wrong keys on a crashed store"):
        for args, key in attempts:
            r = prtest.run(args, db=db, key=key, timeout=120)
            ck.eq(r.rc, 2, "%s with %s: exit 2" % (" ".join(args[:2]), "no key" if key is None
                                                    else "a wrong key"), r.err[-300:])
        ck.eq(prtest.snapshot(db), files_before,
              "database, -wal and -shm byte for byte as the crash left them")
        ck.ok(not os.path.exists(out), "no export file was written")
        rows = prtest.sessions(db, key=RAW_KEY)
        last = rows[-1]
        # The kill may land after the capture's last commit, before its WAL was
        # folded in: then the session is complete, with every packet.
        ck.ok(last.get("status") == "interrupted" or
              (last.get("status") == "completed" and last.get("packets") == ROUND_TOTAL),
              "the right key then opens the store: the session is interrupted, or complete "
              "(%s, %s packets)" % (last.get("status"), last.get("packets")), repr(last))


def main(tmp):
    global KEYFILE
    KEYFILE = os.path.join(tmp, "key")
    with open(KEYFILE, "w") as fh:
        fh.write(RAW_KEY + "\n")
    os.chmod(KEYFILE, 0o600)
    with ck.section("readers during a large capture"):
        part_readers(tmp)
    with ck.section("kill -9 at random moments"):
        db, src = part_kill(tmp)
    part_wrong_key(tmp, db, src)


KEYFILE = None
ROUND_SECONDS = 2.0
ROUND_TOTAL = 0
with prtest.tmpdir() as tmpd:
    main(tmpd)
ck.finish()
