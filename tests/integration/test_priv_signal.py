#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Live capture on the loopback interface (needs root): SIGINT and SIGTERM
stop a capture cleanly with everything stored, --duration ends it on time,
and on a terminal the one-line progress display is refreshed every second.
Skips (exit 77) without root."""
import json
import os
import pty
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("PR_BIN") or os.path.join(
    os.environ.get("PR_BUILD_DIR", "build"), "controlplane", "packetrecorder")
KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(*args, check=True):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        fail(f"{' '.join(args)} -> {p.returncode}: {p.stderr}")
    return p


def send_udp(port, n, payload=b"PR-SIGNAL-TEST"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        s.sendto(payload + b"-%d" % i, ("127.0.0.1", port))
        time.sleep(0.005)
    s.close()


def wait_for_packets(db, session, minimum, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        p = run("sessions", "-d", db, "--encryption-key", KEY, "--json", check=False)
        if p.returncode == 0:
            for s in json.loads(p.stdout):
                if s["session_id"] == session and s["packets"] >= minimum:
                    return s
        time.sleep(0.3)
    fail(f"session {session} never reached {minimum} stored packets")


def stop_with(sig, db, session, port):
    cap = subprocess.Popen([BIN, "capture", "-i", "lo", "-f", f"udp port {port}", "-d", db,
                            "--encryption-key", KEY, "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    send_udp(port, 40)
    # Committed at least once (commit_interval_ms = 1 s) while still running.
    wait_for_packets(db, session, 40)
    cap.send_signal(sig)
    out, err = cap.communicate(timeout=30)
    if cap.returncode != 0:
        fail(f"capture stopped by {sig.name} exited {cap.returncode}: {err}")
    summary = json.loads(out)
    if summary["end_reason"] != "stopped" or summary["status"] != "completed":
        fail(f"{sig.name}: unexpected summary {summary}")
    if summary["packets"] != 40:
        fail(f"{sig.name}: stored {summary['packets']} packets, sent 40")
    total = summary["packets"] + summary["filtered"] + sum(summary["drops"].values())
    if summary["received"] != total:
        fail(f"{sig.name}: received {summary['received']} != stored + filtered + drops "
             f"({total}): {summary}")
    flows = json.loads(run("flows", "-d", db, "--encryption-key", KEY, "--session",
                           str(session), "--json").stdout)
    if len(flows) != 1 or flows[0]["packets"] != 40 or flows[0]["dst_port"] != port:
        fail(f"{sig.name}: flows after stop: {flows}")
    print(f"ok: {sig.name} stops cleanly, 40/40 packets and the flow stored")


def main():
    if os.geteuid() != 0:
        print("skipped: live capture on lo needs root (label: privileged)")
        return 77
    if not os.path.exists(BIN):
        fail(f"{BIN} not built")
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "sig.db")
        stop_with(signal.SIGINT, db, 1, 47001)
        stop_with(signal.SIGTERM, db, 2, 47002)

        # --duration ends a live capture on time, on a terminal with progress lines.
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(BIN, [BIN, "capture", "-i", "lo", "-t", "2.5", "-d", db,
                           "--encryption-key", KEY])
        t0 = time.time()
        buf = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
        _, status = os.waitpid(pid, 0)
        took = time.time() - t0
        text = buf.decode(errors="replace")
        if os.waitstatus_to_exitcode(status) != 0:
            fail(f"capture -t 2.5 exited {status}: {text}")
        if not 2.0 <= took <= 10.0:
            fail(f"capture -t 2.5 took {took:.2f} s")
        progress = [l for l in text.split("\r") if "packets" in l and "pkt/s" in l]
        if len(progress) < 2:
            fail(f"expected progress lines on a terminal, got: {text!r}")
        if "duration" not in text:
            fail(f"summary does not say the duration ended it: {text!r}")
        print(f"ok: --duration 2.5 took {took:.2f} s with {len(progress)} progress updates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
