#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Several capture workers on one interface (label: privileged; skipped
unless root and `ip netns` works).

A veth pair whose far end sits in a network namespace carries K TCP
conversations (a server in the namespace, K clients here, each sending
and receiving a few messages, then closing). The same traffic is captured
by `capture --workers 1` and by `capture --workers 2` (--backend pcap: the
two workers' sockets form a kernel fan-out group hashing each packet by
its flow, the same in both directions).

Checked for each: every conversation is exactly one flow, with packets in
both directions and a clean close, as with one worker; the flows' packets
add up to the stored packets; with two workers both workers stored flows
(flow ids carry the worker in their top 16 bits), so the split is real
and a flow split in two by direction would show. Also: --workers on a
capture file is refused with a clear error; --queues is the same option.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import TestError  # noqa: E402

ck = prtest.Checks("test_priv_workers")
BIN = prtest.pr_bin()

with ck.section("--workers on a capture file is refused"):
    with prtest.tmpdir() as tmp:
        r = prtest.run(["capture", "-r", prtest.fixture("mixed.pcap"), "--workers", "2"],
                       db=os.path.join(tmp, "w.db"))
        ck.eq(r.rc, prtest.EXIT_USAGE, "capture -r --workers 2: usage error", r.describe())
        ck.ok("read by one worker" in r.err, "the error says a file is read by one worker",
              r.err)
        r = prtest.run(["capture", "-r", prtest.fixture("mixed.pcap"), "--queues", "0"],
                       db=os.path.join(tmp, "w.db"))
        ck.eq(r.rc, prtest.EXIT_USAGE, "--queues 0: usage error", r.describe())

if os.geteuid() != 0:
    if ck.failed:
        ck.finish()
    prtest.skip("needs root for the live part (network namespaces and veth pairs)")
if not prtest.have("ip"):
    prtest.skip("no `ip` command (iproute2)")

TAG = "%d" % (os.getpid() % 100000)
NS = "prwk" + TAG
HOST_IF = "pwh" + TAG
PEER_IF = "pwn" + TAG
NET = os.getpid() % 200
HOST_IP, PEER_IP = "10.198.%d.1" % NET, "10.198.%d.2" % NET
PORT = 41000
K = 24  # conversations: all on one worker by chance has probability 2^-23
STARTED = []


def sh(*args, check=True, ns=False, timeout=30):
    cmd = (["ip", "netns", "exec", NS] if ns else []) + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check and p.returncode != 0:
        raise TestError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                             p.stderr.decode("utf-8", "replace").strip()))
    return p


def setup():
    p = sh("ip", "netns", "add", NS, check=False)
    if p.returncode != 0:
        prtest.skip("`ip netns add` failed: %s" % p.stderr.decode("utf-8", "replace").strip())
    sh("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", PEER_IF)
    sh("ip", "link", "set", PEER_IF, "netns", NS)
    for ifn, ns in ((HOST_IF, False), (PEER_IF, True)):
        sh("sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % ifn, ns=ns, check=False)
    sh("ip", "addr", "add", HOST_IP + "/24", "dev", HOST_IF)
    sh("ip", "link", "set", HOST_IF, "up")
    sh("ip", "addr", "add", PEER_IP + "/24", "dev", PEER_IF, ns=True)
    sh("ip", "link", "set", PEER_IF, "up", ns=True)
    sh("ip", "link", "set", "lo", "up", ns=True)


def teardown():
    for p in STARTED:
        if p.poll() is None:
            p.kill()
            p.wait()
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "link", "del", HOST_IF, check=False)


SERVER = r"""
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
print("ready", flush=True)
def serve(c):
    with c:
        while True:
            d = c.recv(4096)
            if not d:
                break
            c.sendall(b"reply:" + d)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def conversations(n, rounds=3):
    """n TCP conversations to the server, one after the other; their client ports."""
    import socket
    ports = []
    for _ in range(n):
        c = socket.create_connection((PEER_IP, PORT), timeout=5)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ports.append(c.getsockname()[1])
        for i in range(rounds):
            c.sendall(b"message %d" % i)
            got = b""
            while not got.startswith(b"reply:"):
                got += c.recv(4096)
        c.shutdown(socket.SHUT_WR)
        while c.recv(4096):
            pass
        c.close()
    return ports


def capture(tmp, db, workers):
    cmd = [BIN, "capture", "-i", HOST_IF, "--backend", "pcap", "--workers", str(workers), "-f",
           "tcp port %d" % PORT, "-d", db, "--encryption-key", prtest.KEY]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=prtest.clean_env())
    STARTED.append(p)
    line = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if b"capturing from" in line or not line:
            break
    if b"capturing from" not in line:
        p.kill()
        out, err = p.communicate()
        raise TestError("capture --workers %d did not start: %r %r" % (workers, line, err))
    ports = conversations(K)
    time.sleep(0.5)  # the last FIN/ACKs reach the sockets
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    if p.returncode != 0:
        raise TestError("capture --workers %d: exit %d: %s" % (workers, p.returncode,
                                                               err.decode("utf-8", "replace")))
    return ports


def check_run(tmp, workers):
    db = os.path.join(tmp, "w%d.db" % workers)
    ports = capture(tmp, db, workers)
    sess = prtest.sessions(db)
    ck.eq(len(sess), 1, "--workers %d: one session" % workers)
    s = sess[0]
    fl = prtest.flows(db, s["session_id"])
    by_port = {}
    for f in fl:
        cport = f["src_port"] if f["dst_port"] == PORT else f["dst_port"]
        by_port.setdefault(cport, []).append(f)
    ck.eq(sorted(by_port), sorted(ports),
          "--workers %d: a flow for each of the %d conversations, and no other" % (workers, K))
    split = {p: len(v) for p, v in by_port.items() if len(v) != 1}
    ck.eq(split, {}, "--workers %d: each conversation is exactly one flow" % workers)
    onedir = [f for f in fl if not (f["packets_to_server"] and f["packets_to_client"])]
    ck.eq(onedir, [], "--workers %d: every flow has packets in both directions" % workers)
    states = sorted(set(f["tcp_state"] for f in fl))
    ck.eq(states, ["closed"], "--workers %d: every flow opened and closed cleanly" % workers)
    clients = [f for f in fl if f["src_ip"] != HOST_IP or f["dst_port"] != PORT]
    ck.eq(clients, [], "--workers %d: the client side is the one that sent the SYN" % workers)
    total = sum(f["packets"] for f in fl)
    ck.eq(total, s["packets"], "--workers %d: the flows hold every stored packet" % workers)
    prtest.check_accounting(ck, s, "--workers %d: the session" % workers)
    cores = sorted(set(f["flow_id"] >> 48 for f in fl))
    if workers == 1:
        ck.eq(cores, [0], "--workers 1: every flow is worker 0's")
    else:
        ck.eq(cores, list(range(workers)),
              "--workers %d: every worker stored flows (the fan-out is real)" % workers)
    per_conv = sorted(len(v) for v in by_port.values())
    return s, fl, per_conv


try:
    setup()
    srv = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", SERVER, PEER_IP,
                            str(PORT)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    STARTED.append(srv)
    if b"ready" not in srv.stdout.readline():
        raise TestError("the TCP server in %s did not start" % NS)
    with prtest.tmpdir() as tmp:
        with ck.section("--workers 1"):
            s1, f1, c1 = check_run(tmp, 1)
        with ck.section("--workers 2"):
            s2, f2, c2 = check_run(tmp, 2)
        with ck.section("1 and 2 workers agree"):
            ck.eq(len(f2), len(f1), "as many flows with 2 workers as with 1")
            ck.eq(c2, c1, "the same flows per conversation")
except TestError as e:
    ck.ok(False, "test setup or run", str(e))
finally:
    teardown()
ck.finish()
