#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`packetrecorder capture -r` from inputs that are not regular files
(docs/packetrecorder-capture.md, -r): they are streamed in bounded memory,
input that is no capture file is refused at once, and SIGTERM stops the
capture promptly even while a pipe delivers endlessly or a FIFO delivers
nothing, with the session stored as completed/stopped.

  (a) -r /dev/zero (and an empty stdin, and a FIFO whose writer sent text
      and keeps it open): exit 1 at once, naming the input and what it
      starts with; no packet stored, an earlier session untouched.
  (b) -r FIFO fed endlessly by a writer thread (pcap header, then 1514-byte
      frames): the RSS of `capture` and of its dataplane stays bounded
      while hundreds of MB flow through; SIGTERM ends both quickly; the
      session is completed/stopped and holds as many packets as the
      summary says.
  (c) the same through -r - with standard input a pipe.
  (d) -r FIFO whose writer opened it and never writes, and a FIFO nobody
      opens: SIGTERM ends the capture within about a second.

Bounds. RSS: 200 MiB each (AddressSanitizer's quarantine of freed memory
is cut to 16 MiB here, it would otherwise hold up to 256 MiB); 768 MiB
under ThreadSanitizer, whose shadow memory is about 4 times what the
process touches (the 64 MiB record ring alone costs 256 MiB of it); and in
every build, no growth beyond 32 MiB over the second half of the feed,
while at least 128 MiB more flow through. Stop: the dataplane, which
reads the input, gone 1 s (2 s under sanitizers) after the SIGTERM;
`capture` 5 s (8 s) after it: it still stores what the record ring holds,
commits the session and checkpoints the store, whose fdatasync() calls
took from 0.1 to 3.3 s on a busy 2-vCPU test machine. Python 3 standard
library only.
"""
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import RAW_KEY  # noqa: E402

ck = prtest.Checks("test_cli_stream_input")
BIN = prtest.pr_bin()
DP_NAME = "packetrecorder-dataplane"
MiB = 1 << 20



SAN = prtest.sanitized()
RSS_BOUND = (768 if SAN == "tsan" else 200) * MiB
RSS_GROWTH = 32 * MiB
DP_STOP_S = 2.0 if SAN else 1.0
CLI_STOP_S = 8.0 if SAN else 5.0
# Feed until this much went through, within the time limits below.
STREAM_BYTES = 500 * 1000 * 1000
MIN_SAMPLE_S, MAX_SAMPLE_S = 5.0, 15.0 if SAN else 8.0
# An unbounded reader holds everything fed: half of this, fed in the second
# half, is far beyond RSS_GROWTH (and, outside TSan, this beyond RSS_BOUND).
MIN_STREAM_BYTES = 256 * MiB


def env():
    e = {}
    if SAN == "asan":
        opts = os.environ.get("ASAN_OPTIONS", "")
        e["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "quarantine_size_mb=16"
    return e


def pcap_header():
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def frame(seq):
    """Ethernet/IPv4/UDP, 1514 bytes, one flow."""
    payload = bytes((seq + i) & 0xFF for i in range(1514 - 42))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1500, seq & 0xFFFF, 0, 64, 17, 0,
                     bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
    udp = struct.pack("!HHHH", 40000, 9999, 1480, 0)
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + udp + payload


class Feeder(threading.Thread):
    """Writes a pcap header, then packets with rising timestamps, until the
    reader goes away (EPIPE) or stop is set. `opener` returns the file object."""

    PER_CHUNK = 256

    def __init__(self, opener, header=True, packets=True):
        super().__init__(daemon=True)
        self.opener, self.header, self.packets = opener, header, packets
        self.written = 0
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            fh = self.opener()
        except OSError as e:
            self.error = e
            return
        try:
            fr = frame(1)
            rec = struct.Struct("<IIII")
            chunk = bytearray((rec.size + len(fr)) * self.PER_CHUNK)
            for i in range(self.PER_CHUNK):
                chunk[i * (rec.size + len(fr)) + rec.size:(i + 1) * (rec.size + len(fr))] = fr
            if self.header:
                fh.write(pcap_header())
                fh.flush()
            seq = 0
            while self.packets and not self.stop.is_set():
                for i in range(self.PER_CHUNK):
                    rec.pack_into(chunk, i * (rec.size + len(fr)), 1700000000 + seq // 100000,
                                  (seq % 100000) * 10, len(fr), len(fr))
                    seq += 1
                fh.write(chunk)
                self.written += len(chunk)
            self.stop.wait()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the capture is gone
        finally:
            try:
                fh.close()
            except OSError:
                pass


def rss(pid):
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def dataplane_of(pid):
    for c in prtest.proc_children(pid):
        if DP_NAME in os.path.basename(prtest.proc_exe(c).replace(" (deleted)", "")):
            return c
    return None


def start_capture(db, path, stdin=subprocess.DEVNULL):
    cmd = [BIN, "capture", "-r", path, "-d", db, "--encryption-key", RAW_KEY, "--json", "-q"]
    return subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            bufsize=0, env=prtest.clean_env(env()))


def wait_pid_gone(pid, timeout):
    """Seconds until pid is gone or a zombie (None if still there after timeout)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not prtest.proc_alive(pid):
            return time.monotonic() - t0
        time.sleep(0.002)
    return None


def stop_and_check(label, proc, dp):
    """SIGTERM `capture`, time the dataplane's and its own exit; returns its summary."""
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    dp_s = wait_pid_gone(dp, 30) if dp else 0.0
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    cli_s = time.monotonic() - t0
    # Read only now: a feeder may still hold the stdin pipe, which communicate() would close.
    out = proc.stdout.read().decode("utf-8", "replace")
    err = proc.stderr.read().decode("utf-8", "replace")
    print("     %s: dataplane gone %.3f s, capture gone %.3f s after SIGTERM" % (
        label, dp_s if dp_s is not None else -1, cli_s))
    ck.ok(dp_s is not None and dp_s <= DP_STOP_S,
          "%s: the dataplane stops within %.1f s of SIGTERM" % (label, DP_STOP_S),
          "took %s s" % dp_s)
    ck.ok(cli_s <= CLI_STOP_S, "%s: capture exits within %.1f s of SIGTERM" % (label, CLI_STOP_S),
          "took %.3f s" % cli_s)
    ck.eq(proc.returncode, 0, "%s: exit 0" % label, err.strip())
    try:
        summ = json.loads(out)
    except ValueError:
        ck.ok(False, "%s: --json summary" % label, "stdout %r stderr %r" % (out, err))
        return None
    ck.eq(summ.get("status"), "completed", "%s: status" % label)
    ck.eq(summ.get("end_reason"), "stopped", "%s: end_reason" % label)
    return summ


def session_matches(label, db, summ):
    sid = summ.get("session_id")
    s = prtest.session(db, sid, key=RAW_KEY)
    ck.eq(s.get("status"), "completed", "%s: stored session status" % label)
    ck.eq(s.get("message"), "stopped", "%s: stored session message" % label)
    ck.eq(s.get("packets"), summ.get("packets"), "%s: stored packets equal the summary's" % label)
    ck.eq(s.get("bytes"), summ.get("bytes"), "%s: stored bytes equal the summary's" % label)
    prtest.check_accounting(ck, summ, label)
    return s


def endless(label, tmp, db, via_stdin):
    """(b)/(c): feed endlessly, sample RSS, stop, check."""
    if via_stdin:
        proc = start_capture(db, "-", stdin=subprocess.PIPE)
        feeder = Feeder(lambda: proc.stdin)
    else:
        fifo = os.path.join(tmp, "endless.fifo")
        os.mkfifo(fifo)
        proc = start_capture(db, fifo)
        feeder = Feeder(lambda: open(fifo, "wb", buffering=0))
    feeder.start()
    dp = prtest.wait_until(lambda: dataplane_of(proc.pid), 15)
    ck.ok(dp, "%s: the dataplane started" % label)
    peak_cli = peak_dp = 0
    samples = []
    t0 = time.monotonic()
    while True:
        el = time.monotonic() - t0
        if el >= MAX_SAMPLE_S or (el >= MIN_SAMPLE_S and feeder.written >= STREAM_BYTES):
            break
        if proc.poll() is not None:
            break
        r_cli, r_dp = rss(proc.pid), rss(dp) if dp else 0
        samples.append((el, feeder.written, r_cli, r_dp))
        peak_cli, peak_dp = max(peak_cli, r_cli), max(peak_dp, r_dp)
        time.sleep(0.1)
    fed = feeder.written
    for el, w, c, d in samples[::10]:
        print("     %5.1f s %6.0f MB fed: RSS capture %6.1f MiB, dataplane %6.1f MiB" % (
            el, w / 1e6, c / MiB, d / MiB))
    # Growth over the second half of what was fed, once the ring and caches are warm.
    mid = next((i for i, x in enumerate(samples) if x[1] >= fed / 2), len(samples))
    growth = [max([x[k] for x in samples[mid:]] or [0]) - max([x[k] for x in samples[:mid]] or [0])
              for k in (2, 3)]
    print("     %s: %.0f MB fed in %.1f s; peak RSS capture %.1f MiB, dataplane %.1f MiB" % (
        label, fed / 1e6, time.monotonic() - t0, peak_cli / MiB, peak_dp / MiB))
    ck.ok(proc.poll() is None, "%s: still capturing while fed" % label,
          proc.poll() is not None and proc.stderr.read().decode("utf-8", "replace") or "")
    ck.ok(fed >= MIN_STREAM_BYTES, "%s: more than %d MiB went through" % (
        label, MIN_STREAM_BYTES // MiB), "%d bytes" % fed)
    ck.ok(0 < peak_cli <= RSS_BOUND, "%s: capture's RSS stays below %d MiB" % (
        label, RSS_BOUND // MiB), "peak %d bytes" % peak_cli)
    ck.ok(0 < peak_dp <= RSS_BOUND, "%s: the dataplane's RSS stays below %d MiB" % (
        label, RSS_BOUND // MiB), "peak %d bytes" % peak_dp)
    for who, g in zip(("capture", "the dataplane"), growth):
        ck.ok(g <= RSS_GROWTH, "%s: %s's RSS grows at most %d MiB over the second half of the feed"
              % (label, who, RSS_GROWTH // MiB), "grew %.1f MiB" % (g / MiB))
    summ = stop_and_check(label, proc, dp)
    feeder.stop.set()
    feeder.join(10)
    if summ:
        ck.ok(summ.get("packets", 0) > 0, "%s: packets were stored" % label, repr(summ))
        ck.ok(summ.get("packets", 0) * 1530 <= feeder.written,
              "%s: no more packets than were fed" % label,
              "%r packets, %d bytes fed" % (summ.get("packets"), feeder.written))
        session_matches(label, db, summ)


def quiet_fifo(label, tmp, db, open_writer):
    """(d): a FIFO that never delivers (its writer holds it open, or there is none)."""
    fifo = os.path.join(tmp, "quiet-%d.fifo" % int(open_writer))
    os.mkfifo(fifo)
    proc = start_capture(db, fifo)
    feeder = None
    if open_writer:
        feeder = Feeder(lambda: open(fifo, "wb", buffering=0), header=False, packets=False)
        feeder.start()
    dp = prtest.wait_until(lambda: dataplane_of(proc.pid), 15)
    ck.ok(dp, "%s: the dataplane started" % label)
    time.sleep(1.5)
    ck.ok(proc.poll() is None, "%s: still waiting for input" % label)
    summ = stop_and_check(label, proc, dp)
    if feeder:
        feeder.stop.set()
        feeder.join(10)
    if summ:
        ck.eq(summ.get("packets"), 0, "%s: no packets" % label)
        session_matches(label, db, summ)


def main():
    print("build: %s" % (SAN or "no sanitizer"))
    with prtest.tmpdir() as tmp:
        db = os.path.join(tmp, "s.db")
        with ck.section("(a) not a capture file: refused at once"):
            first, _ = prtest.capture_file(db, prtest.fixture("mixed.pcap"), key=RAW_KEY)
            before = prtest.sessions(db, key=RAW_KEY)
            t0 = time.monotonic()
            r = prtest.run(["capture", "-r", "/dev/zero"], db=db, key=RAW_KEY, timeout=60,
                           env=env())
            took = time.monotonic() - t0
            ck.rc(r, prtest.EXIT_RUNTIME, "capture -r /dev/zero")
            ck.ok("/dev/zero: not a pcap or pcapng file (starts with 00 00 00 00)" in r.err,
                  "/dev/zero: the error names the input and its first bytes", r.describe())
            ck.ok(took < 10, "/dev/zero: fails at once (%.2f s)" % took)
            after = prtest.sessions(db, key=RAW_KEY)
            ck.eq(after[:len(before)], before, "/dev/zero: the earlier session is untouched")
            new = after[len(before):]
            ck.ok(len(new) == 1 and new[0].get("status") == "failed" and new[0].get("packets") == 0
                  and "starts with 00 00 00 00" in str(new[0].get("message")),
                  "/dev/zero: its session failed with no packets and the reason", repr(new))

            r = prtest.run(["capture", "-r", "-"], db=db, key=RAW_KEY, stdin=b"", env=env())
            ck.rc(r, prtest.EXIT_RUNTIME, "capture -r - of an empty standard input")
            ck.ok("<stdin>: not a pcap or pcapng file: file is empty (0 bytes)" in r.err,
                  "empty standard input: a clear error", r.describe())

            fifo = os.path.join(tmp, "text.fifo")
            os.mkfifo(fifo)

            def text_opener():
                fh = open(fifo, "wb", buffering=0)
                fh.write(b"GET / HTTP/1.1\r\n")
                return fh
            feeder = Feeder(text_opener, header=False, packets=False)
            feeder.start()
            t0 = time.monotonic()
            r = prtest.run(["capture", "-r", fifo], db=db, key=RAW_KEY, timeout=60, env=env())
            took = time.monotonic() - t0
            feeder.stop.set()
            feeder.join(10)
            ck.rc(r, prtest.EXIT_RUNTIME, "capture -r FIFO of text, writer still open")
            ck.ok("text.fifo: not a pcap or pcapng file (starts with 47 45 54 20)" in r.err,
                  "text FIFO: the error names it and its first bytes", r.describe())
            ck.ok(took < 10, "text FIFO: fails without waiting for the writer to close (%.2f s)"
                  % took)
            ck.eq(sum(s.get("packets", 0) for s in prtest.sessions(db, key=RAW_KEY)),
                  first.get("packets"), "no packet stored by the refused inputs")

        with ck.section("(b) endless FIFO"):
            endless("FIFO", tmp, os.path.join(tmp, "b.db"), via_stdin=False)
        with ck.section("(c) endless standard input"):
            endless("stdin", tmp, os.path.join(tmp, "c.db"), via_stdin=True)
        with ck.section("(d) FIFO that delivers nothing"):
            quiet_fifo("FIFO opened, never written", tmp, os.path.join(tmp, "d.db"), True)
            quiet_fifo("FIFO never opened", tmp, os.path.join(tmp, "d.db"), False)
    ck.finish()


if __name__ == "__main__":
    main()
