#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Crash safety: `capture -r big.pcap` is killed with SIGKILL while a second
process watches it through `sessions --json`. Then its dataplane child must
go away by itself, the session reads as "interrupted" with the packets that
were committed (query returns exactly that many, the file's first ones), the
database passes SQLite's integrity check, and the next capture into the same
store works."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import RAW_KEY  # noqa: E402

ck = prtest.Checks("test_kill9")
BIN = prtest.pr_bin()
DP_NAME = "packetrecorder-dataplane"


def dataplane_children(pid):
    out = []
    for c in prtest.proc_children(pid):
        exe = prtest.proc_exe(c)
        if DP_NAME in os.path.basename(exe.replace(" (deleted)", "")):
            out.append(c)
    return out


def attempt(tmp, db, total):
    """Start a capture of a total-packet file and kill it once packets are visible.
    Returns (killed, info) where info has pids and the last sessions row seen."""
    big = os.path.join(tmp, "big-%d.pcap" % total)
    if not os.path.exists(big):
        t0 = time.monotonic()
        prtest.gen.write_big_pcap(big, total)
        print("generated %s: %d packets, %d bytes in %.1f s" % (
            os.path.basename(big), total, os.path.getsize(big), time.monotonic() - t0))
    n_before = len(prtest.sessions(db, key=RAW_KEY)) if os.path.exists(db) else 0
    cmd = [BIN, "capture", "-r", big, "-d", db, "--encryption-key", RAW_KEY]
    # Output goes to files: a pipe would stay open as long as any child holds it.
    errpath = os.path.join(tmp, "capture-%d.err" % total)
    with open(errpath, "wb") as ferr:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=ferr,
                             stdin=subprocess.DEVNULL, env=prtest.clean_env())
    info = {"pid": p.pid, "dp": set(), "row": None, "big": big}
    deadline = time.monotonic() + 60
    killed = False
    try:
        while time.monotonic() < deadline:
            info["dp"].update(dataplane_children(p.pid))
            if p.poll() is not None:
                break
            r = prtest.run(["sessions", "--json"], db=db, key=RAW_KEY, timeout=30)
            if r.rc == 0:
                rows = r.json()
                if len(rows) > n_before:
                    row = rows[-1]
                    info["row"] = row
                    if (row.get("packets") or 0) > 0:
                        info["dp"].update(dataplane_children(p.pid))
                        if p.poll() is not None:
                            break
                        os.kill(p.pid, signal.SIGKILL)
                        killed = True
                        break
            time.sleep(0.01)
    finally:
        if p.poll() is None and not killed:
            os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
    info["rc"] = p.returncode
    with open(errpath, "rb") as fh:
        info["stderr"] = fh.read().decode("utf-8", "replace")
    return killed, info


ATTEMPTS = []  # infos of every capture this test started


def cleanup():
    """Kill what is left of the captures we started (by pid) and remove the shared
    memory and control sockets they left: they are named after the capture's pid."""
    for info in ATTEMPTS:
        for d in sorted(info["dp"]):
            if prtest.proc_alive(d):
                try:
                    os.kill(d, signal.SIGKILL)
                except OSError:
                    pass
        tag = "packetrecorder-%d-" % info["pid"]
        left = []
        for d in ("/dev/shm", tempfile.gettempdir()):
            if os.path.isdir(d):
                left += [os.path.join(d, n) for n in os.listdir(d) if n.startswith(tag)]
        if left:
            print("note: the killed capture %d left %s (removed now)" % (info["pid"], left))
        for f in left:
            try:
                os.unlink(f)
            except OSError:
                pass


def main(tmp):
    db = os.path.join(tmp, "crash.db")
    killed, info = False, None
    total = 0
    # Bigger files until the kill lands in the middle of the capture (how fast the
    # capture runs depends on the machine and its load).
    for total in (1600000, 4000000):
        killed, info = attempt(tmp, db, total)
        ATTEMPTS.append(info)
        if killed and info["row"].get("packets", 0) < total:
            break
        if killed:
            print("note: sessions showed all %d packets before the kill; trying a bigger file" % total)
        else:
            print("note: the capture of %d packets ended (exit %s) before packets were visible; "
                  "trying a bigger file" % (total, info["rc"]))
            if info["rc"] != 0:
                break
        os.unlink(info["big"])
    if not killed:
        prtest.fail("could not kill a running capture: exit %s, last sessions row %r\nstderr: %s" % (
            info["rc"], info["row"], info["stderr"][-1000:]))
    ck.ok(True, "killed capture pid %d with SIGKILL after sessions showed %s packets" % (
        info["pid"], info["row"].get("packets")))
    ck.eq(info["rc"], -signal.SIGKILL, "the capture died of SIGKILL")
    ck.eq(info["row"].get("status"), "running", "a reader saw the session as running")

    with ck.section("dataplane child exits on its own"):
        dps = sorted(info["dp"])
        ck.ok(len(dps) >= 1, "a %s child was found under pid %d" % (DP_NAME, info["pid"]),
              "children seen: none named %s" % DP_NAME)
        prtest.wait_until(lambda: not [d for d in dps if prtest.proc_alive(d)], 5)
        alive = [d for d in dps if prtest.proc_alive(d)]
        ck.ok(not alive, "no %s left 5 s after its parent was killed" % DP_NAME,
              "still running: %s" % ", ".join("%d (%s)" % (d, prtest.proc_exe(d)) for d in alive))

    with ck.section("the interrupted session"):
        rows = prtest.sessions(db, key=RAW_KEY)
        s = rows[-1]
        ck.eq(s.get("status"), "interrupted", "status after a crash")
        n = s.get("packets")
        ck.ok(isinstance(n, int) and 0 < n <= total, "0 < packets (%r) <= %d" % (n, total))
        ck.ok(isinstance(n, int) and n >= info["row"].get("packets"),
              "no committed packet lost (%r >= %r seen before)" % (n, info["row"].get("packets")))
        ck.ok(isinstance(s.get("end_ts"), int), "end_ts is an integer", repr(s.get("end_ts")))
        q = prtest.query(db, s["session_id"], key=RAW_KEY, timeout=120)
        ck.eq(len(q), n, "query returns exactly the session's packets")
        bad = [i for i, r in enumerate(q) if r.get("ts") != prtest.gen.big_pcap_ts_ns(i)
               or r.get("index") != i]
        ck.ok(not bad, "they are the file's first %d packets, in order" % len(q),
              "first wrong rows: %s" % [q[i] for i in bad[:3]])
        ck.eq(s.get("bytes"), sum(r.get("wire_len") or 0 for r in q),
              "session bytes = the stored packets' wire bytes")
        ck.eq(s.get("last_packet_ts"), q[-1].get("ts") if q else 0, "last_packet_ts")
        ck.eq(s.get("first_packet_ts"), prtest.gen.big_pcap_ts_ns(0), "first_packet_ts")

    with ck.section("integrity"):
        res = prtest.sqlcipher(db, "PRAGMA integrity_check;", key=RAW_KEY, timeout=300)
        if res is None:
            print("note: no sqlcipher CLI, integrity_check skipped")
        else:
            ck.ok(res[0] == 0 and res[1].strip() == "ok", "PRAGMA integrity_check: ok",
                  repr(res)[:1000])

    with ck.section("the store works after the crash"):
        obj, _ = prtest.capture_file(db, prtest.fixture("nsec.pcap"), key=RAW_KEY)
        fx = prtest.fixtures()["nsec.pcap"]
        ck.eq(obj.get("status"), "completed", "a new capture into the same store completes")
        ck.eq(obj.get("packets"), fx["packets"], "its packets")
        rows = prtest.sessions(db, key=RAW_KEY)
        ck.eq([r.get("status") for r in rows][-2:], ["interrupted", "completed"],
              "sessions: the crashed one stays interrupted, the new one is completed")
        ck.eq(len(prtest.query(db, obj["session_id"], key=RAW_KEY)), fx["packets"],
              "query of the new session")


with prtest.tmpdir() as tmpd:
    try:
        main(tmpd)
    finally:
        cleanup()
ck.finish()
