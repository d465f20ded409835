#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The two processes apart (label: privileged; skipped unless root and `ip
netns` works). A veth pair whose far end sits in a network namespace; a
generator there sends an exact number of numbered UDP datagrams.

1. Control plane killed: `capture -i --instance T` with small rings, with
   the pcap backend and again with afxdp (where this build and kernel load
   XDP; otherwise that run says why and is skipped)
   (ring_bytes 1m), SIGKILL while the generator runs. The dataplane goes on
   (same pid); its ring fills and it drops. `capture --attach T` goes on
   with the same session and store: afterwards every datagram sent is
   either stored once (no duplicate, none twice) or counted as a drop
   (ring_full while no control plane consumed): stored + drops = sent,
   and received = stored + filtered + drops in the summary and the store.
2. Dataplane killed (our child): `capture -i`, SIGKILL of the dataplane:
   capture notices and ends by itself, exit 1, status failed, the message
   says the dataplane was killed by signal 9; the session in the store
   says failed too. How long it took is printed, not bounded: on a busy,
   sanitized build it is no measure of the code (100 ms checks).
3. A dataplane on its own: `packetrecorder-dataplane --instance S -i ...`
   (the datagrams are sent once its packet socket exists), then `capture
   --attach S`: every datagram stored, session completed after SIGINT
   (which stops the dataplane too).
4. Dataplane killed while attached (not our child): seen through its
   pidfd, the same way as 2.
Also: --attach of an instance that does not exist is exit 4, and settings
given with --attach are refused.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import TestError  # noqa: E402

ck = prtest.Checks("test_priv_twoproc")
BIN = prtest.pr_bin()
DP = prtest.dataplane_bin()

with ck.section("--attach without a live instance"):
    with prtest.tmpdir() as tmp:
        r = prtest.run(["capture", "--attach", "no-such-instance-%d" % os.getpid()],
                       db=os.path.join(tmp, "a.db"))
        ck.eq(r.rc, prtest.EXIT_NOT_FOUND, "--attach of no instance: exit 4", r.describe())
        ck.ok("no instance" in r.err, "the error says there is no such instance", r.err)
        r = prtest.run(["capture", "--attach", "x", "-i", "lo"], db=os.path.join(tmp, "a.db"))
        ck.eq(r.rc, prtest.EXIT_USAGE, "--attach with -i: usage error", r.describe())
        r = prtest.run(["capture", "--attach", "../etc"], db=os.path.join(tmp, "a.db"))
        ck.eq(r.rc, prtest.EXIT_USAGE, "--attach with a bad name: usage error", r.describe())

if os.geteuid() != 0:
    if ck.failed:
        ck.finish()
    prtest.skip("needs root for the live part (network namespaces and veth pairs)")
if not prtest.have("ip"):
    prtest.skip("no `ip` command (iproute2)")

TAG = "%d" % (os.getpid() % 100000)
NS = "prtp" + TAG
HOST_IF = "pth" + TAG
PEER_IF = "ptn" + TAG
NET = os.getpid() % 200
HOST_IP, PEER_IP = "10.197.%d.1" % NET, "10.197.%d.2" % NET
DPORT, SPORT = 42000, 42001
STARTED = []
INSTANCES = []


def sh(*args, check=True, ns=False, timeout=30):
    cmd = (["ip", "netns", "exec", NS] if ns else []) + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check and p.returncode != 0:
        raise TestError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                             p.stderr.decode("utf-8", "replace").strip()))
    return p


def mac_of(ifname, ns=False):
    return sh("cat", "/sys/class/net/%s/address" % ifname, ns=ns).stdout.decode().strip()


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
    sh("ip", "neigh", "replace", HOST_IP, "lladdr", mac_of(HOST_IF), "dev", PEER_IF, "nud",
       "permanent", ns=True)
    sh("ip", "neigh", "replace", PEER_IP, "lladdr", mac_of(PEER_IF, ns=True), "dev", HOST_IF,
       "nud", "permanent")


def teardown():
    for p in STARTED:
        if p.poll() is None:
            p.kill()
            p.wait()
    for name in INSTANCES:
        pid = dataplane_of(name)
        if pid:
            os.kill(pid, signal.SIGKILL)
        for path in ("/dev/shm/packetrecorder.%s" % name,):
            if os.path.exists(path):
                os.unlink(path)
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "link", "del", HOST_IF, check=False)


# Exactly N datagrams, numbered, at about RATE per second; prints how many it sent.
SENDER = r"""
import socket, sys, time
dst, dport, src, sport, n, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, sport))
t0 = time.monotonic()
for i in range(n):
    s.sendto(b"PRTEST-2P seq=%08d " % i + b"y" * 200, (dst, dport))
    lag = t0 + (i + 1) / rate - time.monotonic()
    if lag > 0:
        time.sleep(lag)
print(n, flush=True)
"""


def send(n, rate):
    return subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", SENDER, HOST_IP,
                             str(DPORT), PEER_IP, str(SPORT), str(n), str(rate)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def sent_count(p, timeout=60):
    out, err = p.communicate(timeout=timeout)
    if p.returncode != 0:
        raise TestError("generator: exit %d: %s" % (p.returncode, err.decode()))
    return int(out.decode().strip())


def dataplane_of(name):
    """The pid of the packetrecorder-dataplane serving instance name, or 0."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"packetrecorder-dataplane") and (
                ("/packetrecorder.%s" % name).encode() in argv or name.encode() in argv):
            return int(d)
    return 0


def start(args, ready=b"capturing from", timeout=20):
    cmd = [BIN, "capture"] + [str(a) for a in args] + ["--encryption-key", prtest.KEY]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=prtest.clean_env())
    STARTED.append(p)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        seen += line
        if ready in line or not line:
            break
    if ready not in seen:
        p.kill()
        out, err = p.communicate()
        raise TestError("%s did not start: %r" % (" ".join(cmd), seen + err))
    p.seen = seen.decode("utf-8", "replace")  # what it said before it was ready
    return p


def finish(p, timeout=30):
    out, err = p.communicate(timeout=timeout)
    try:
        obj = json.loads(out.decode())
    except ValueError:
        raise TestError("no JSON from capture (exit %s): %r %r" % (p.returncode, out, err))
    return p.returncode, obj, err.decode("utf-8", "replace")


def seqs(db, sid):
    out = []
    for row in prtest.query(db, sid, ["--show-data"], timeout=120):
        m = re.search(rb"PRTEST-2P seq=(\d{8})", bytes.fromhex(row.get("data") or ""))
        out.append(int(m.group(1)) if m else None)
    return out


def test_control_plane_killed(tmp, backend="pcap"):
    name = "tp-a-%s-%s" % (backend, TAG)
    INSTANCES.append(name)
    db = os.path.join(tmp, "a-%s.db" % backend)
    conf = os.path.join(tmp, "small-ring.conf")
    with open(conf, "w") as f:
        f.write("ring_bytes = 1m\n")
    N, RATE = 12000, 4000
    try:
        cap = start(["-i", HOST_IF, "--backend", backend, "-f", "udp port %d" % DPORT,
                     "--instance", name, "-d", db, "--config", conf, "--json"])
    except TestError as e:
        # Only the afxdp run may find the backend missing here; pcap always runs.
        if backend == "afxdp" and ("without AF_XDP" in str(e) or "XDP" in str(e)):
            print("     note: afxdp cannot run here, this part is skipped: %s" % str(e)[-300:])
            return
        raise
    dp = prtest.wait_until(lambda: dataplane_of(name), 10)
    ck.ok(dp, "the dataplane of instance %s runs" % name)
    gen = send(N, RATE)
    time.sleep(0.8)
    cap.kill()
    cap.wait()
    time.sleep(0.3)
    ck.ok(dp and dataplane_of(name) == dp,
          "after SIGKILL of capture the same dataplane (pid %s) goes on capturing" % dp)
    sessions = prtest.sessions(db)
    ck.eq(len(sessions), 1, "one session in the store")
    sid = sessions[0]["session_id"] if sessions else None
    sent = sent_count(gen)
    ck.eq(sent, N, "the generator sent %d datagrams" % N)
    # The gap is longer than the ring: the dataplane dropped, and counted it.
    att = start(["--attach", name, "--json"])
    time.sleep(1.0)
    att.send_signal(signal.SIGINT)
    rc, obj, err = finish(att)
    err = att.seen + err
    ck.eq(rc, 0, "capture --attach: exit 0", err[-800:])
    ck.eq(obj.get("session_id"), sid, "--attach went on with the same session")
    ck.eq(obj.get("status"), "completed", "--attach: status completed")
    ck.ok("going on with session %s" % sid in err, "--attach says it goes on", err[-400:])
    drops = obj.get("drops", {})
    ring_full = drops.get("ring_full", 0)
    stored = obj.get("packets", 0)
    print("     sent %d, stored %d, ring_full %d, drops %s" % (sent, stored, ring_full, drops))
    ck.ok(ring_full > 0, "the ring filled while no control plane consumed it: ring_full > 0",
          repr(drops))
    ck.eq(stored + sum(drops.values()), sent,
          "every datagram sent is stored or counted as a drop (stored + drops = sent)")
    prtest.check_accounting(ck, obj, "after the handover")
    ck.eq(obj.get("received", 0) - obj.get("filtered", 0), sent,
          "received, less what the filter rejected, is what the generator sent")
    ck.eq(prtest.accounting_error(prtest.session(db, sid)), None,
          "the session in the store adds up the same way")
    s = seqs(db, sid)
    ck.eq(len(s), stored, "query returns the stored packets")
    ck.ok(None not in s and len(set(s)) == len(s),
          "no datagram stored twice across the handover", repr(s[:10]))
    ck.eq(s, sorted(s), "stored in the order sent (one worker)")
    ck.ok(not os.path.exists("/dev/shm/packetrecorder." + name),
          "the instance's region is gone once everything is stored")
    ck.ok(not dataplane_of(name), "the dataplane stopped with the capture")


def test_dataplane_killed_child(tmp):
    db = os.path.join(tmp, "b.db")
    cap = start(["-i", HOST_IF, "--backend", "pcap", "-f", "udp port %d" % DPORT, "-d", db,
                 "--json"])
    kids = [c for c in prtest.proc_children(cap.pid)
            if "packetrecorder-dataplane" in prtest.proc_exe(c)]
    ck.eq(len(kids), 1, "capture started one dataplane")
    gen = send(2000, 4000)
    time.sleep(0.3)
    t0 = time.monotonic()
    os.kill(kids[0], signal.SIGKILL)
    rc, obj, err = finish(cap, timeout=30)
    el = time.monotonic() - t0
    sent_count(gen)
    print("     capture ended %.3f s after SIGKILL of its dataplane (not bounded)" % el)
    ck.eq(rc, 1, "exit 1")
    ck.eq(obj.get("status"), "failed", "status failed")
    ck.ok("killed by signal 9" in obj.get("message", ""),
          "the message says the dataplane was killed by signal 9", obj.get("message"))
    ck.ok("killed by signal 9" in err, "and so does stderr", err[-300:])
    s = prtest.session(db, obj["session_id"])
    ck.eq(s.get("status"), "failed", "the session in the store is marked failed")
    ck.eq(s.get("packets"), obj.get("packets"), "the summary's packets are the store's")


def packet_socket_on(ifindex):
    """A packet socket for every protocol (ETH_P_ALL) bound to ifindex exists."""
    with open("/proc/net/packet") as fh:
        next(fh)
        for line in fh:
            f = line.split()
            if len(f) >= 5 and f[3] == "0003" and int(f[4]) == ifindex:
                return True
    return False


def start_dataplane(name, extra=()):
    INSTANCES.append(name)
    cmd = [DP, "--instance", name, "-i", HOST_IF, "--backend", "pcap", "-f",
           "udp port %d" % DPORT] + list(extra)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    STARTED.append(p)
    ok = prtest.wait_until(lambda: os.path.exists("/dev/shm/packetrecorder." + name), 10)
    if not ok:
        p.kill()
        raise TestError("packetrecorder-dataplane --instance %s did not start: %r" % (
            name, p.communicate()[1]))
    return p


def test_standalone(tmp):
    name = "tp-c-" + TAG
    db = os.path.join(tmp, "c.db")
    dp = start_dataplane(name)
    # The region exists before the dataplane opens the interface: send only once its
    # packet socket is there, or the first datagrams reach nobody (and are not counted).
    ifindex = int(open("/sys/class/net/%s/ifindex" % HOST_IF).read())
    if not prtest.wait_until(lambda: packet_socket_on(ifindex) or dp.poll() is not None, 30):
        raise TestError("no packet socket on %s 30 s after the dataplane started" % HOST_IF)
    N = 3000
    gen = send(N, 6000)
    sent = sent_count(gen)
    att = start(["--attach", name, "-d", db, "--json", "--name", "standalone"])
    time.sleep(1.0)
    att.send_signal(signal.SIGINT)
    rc, obj, err = finish(att)
    ck.eq(rc, 0, "capture --attach of a dataplane on its own: exit 0", err[-600:])
    ck.eq(obj.get("status"), "completed", "status completed")
    ck.eq(obj.get("name"), "standalone", "the session takes --name")
    ck.eq(obj.get("source"), HOST_IF, "the source is the dataplane's interface")
    ck.eq(obj.get("filter"), "udp port %d" % DPORT, "the filter is the dataplane's")
    ck.eq(obj.get("packets"), sent, "every datagram sent while nobody was attached is stored")
    ck.eq(sum(obj.get("drops", {}).values()), 0, "no drops")
    prtest.check_accounting(ck, obj, "standalone")
    try:
        dp.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    ck.eq(dp.returncode, 0, "SIGINT of capture --attach stopped the dataplane (exit 0)")
    s = seqs(db, obj["session_id"])
    ck.eq(s, list(range(sent)), "datagrams 0..%d, in order, once each" % (sent - 1))


def test_dataplane_killed_attached(tmp):
    name = "tp-d-" + TAG
    db = os.path.join(tmp, "d.db")
    dp = start_dataplane(name)
    att = start(["--attach", name, "-d", db, "--json"])
    gen = send(2000, 4000)
    time.sleep(0.3)
    t0 = time.monotonic()
    dp.kill()
    rc, obj, err = finish(att)
    el = time.monotonic() - t0
    sent_count(gen)
    print("     capture --attach ended %.3f s after SIGKILL of the dataplane (not bounded)" % el)
    ck.eq(rc, 1, "exit 1")
    ck.eq(obj.get("status"), "failed", "status failed")
    ck.ok("is gone" in obj.get("message", ""), "the message says the dataplane is gone",
          obj.get("message"))
    ck.eq(prtest.session(db, obj["session_id"]).get("status"), "failed",
          "the session in the store is marked failed")


try:
    setup()
    with prtest.tmpdir() as tmp:
        with ck.section("control plane SIGKILL, capture --attach goes on"):
            test_control_plane_killed(tmp)
        with ck.section("the same with the afxdp backend"):
            test_control_plane_killed(tmp, "afxdp")
        with ck.section("dataplane SIGKILL (a child)"):
            test_dataplane_killed_child(tmp)
        with ck.section("packetrecorder-dataplane on its own, capture --attach"):
            test_standalone(tmp)
        with ck.section("dataplane SIGKILL (attached, not a child)"):
            test_dataplane_killed_attached(tmp)
except TestError as e:
    ck.ok(False, "test setup or run", str(e))
finally:
    teardown()
ck.finish()
