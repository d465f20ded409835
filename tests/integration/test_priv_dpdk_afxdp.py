#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Live capture with the dpdk backend over DPDK's net_af_xdp on a veth
(label: privileged; skipped unless root, `ip netns` works and this build
has the dpdk backend).

Both ends of the veth sit in a namespace of this test, which is deleted
whatever happens; capture and generator (tests/integration/rawgen.py) run
inside it.
- 3000 frames of 64, 300 and 1500 bytes sent by rawgen are stored
  exactly, with no drop, and `export` gives back rawgen's frames byte for
  byte, in order; the port says it has 1 rx queue;
- the capture ends by SIGINT as a live capture does (end_reason stopped);
- net_af_xdp's XDP program is gone from the interface afterwards (the
  backend closes the port on the way out)."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpdktest  # noqa: E402
import prtest  # noqa: E402
from prtest import TestError  # noqa: E402

if os.geteuid() != 0:
    prtest.skip("needs root (network namespaces, XDP)")
if not prtest.have("ip"):
    prtest.skip("no `ip` command (iproute2)")

TAG = "%d" % (os.getpid() % 100000)
NS = "prdx" + TAG
RAWGEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rawgen.py")
STARTED = []


def sh(*args, check=True, ns=True, timeout=60):
    cmd = (["ip", "netns", "exec", NS] if ns else []) + [str(a) for a in args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check and p.returncode != 0:
        raise TestError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                             p.stderr.decode("utf-8", "replace").strip()))
    return p


def setup():
    p = sh("ip", "netns", "add", NS, ns=False, check=False)
    if p.returncode != 0:
        prtest.skip("`ip netns add` failed: %s" % p.stderr.decode("utf-8", "replace").strip())
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "cap0", "type", "veth", "peer", "name", "gen0")
    for ifn in ("cap0", "gen0"):
        # No IPv6 and no addresses: nothing but the generator's frames on the link.
        sh("sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % ifn, check=False)
        sh("ip", "link", "set", ifn, "up")


def teardown():
    for p in STARTED:
        if p.poll() is None:
            p.kill()
            p.wait()
    sh("ip", "netns", "del", NS, ns=False, check=False)


def xdp_on(ifname):
    return "prog/xdp" in sh("ip", "-d", "link", "show", ifname).stdout.decode()


class Capture:
    """capture inside the namespace; stderr is read as it comes, to see the port start."""

    def __init__(self, db, args):
        self.cmd = ["ip", "netns", "exec", NS, prtest.pr_bin(), "capture", "-d", db,
                    "--encryption-key", prtest.KEY, "--json"] + [str(a) for a in args]
        self.p = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, env=prtest.clean_env())
        STARTED.append(self.p)
        self.err = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stderr:
            self.err.append(line.decode("utf-8", "replace"))

    def wait_port(self, needle, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in e for e in self.err):
                return
            if self.p.poll() is not None:
                raise TestError("capture ended before the port started:\n%s" % "".join(self.err))
            time.sleep(0.05)
        raise TestError("the port did not start within %ss:\n%s" % (timeout, "".join(self.err)))

    def stop(self, timeout=60):
        self.p.send_signal(signal.SIGINT)
        try:
            out, _ = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.communicate()
            raise TestError("capture did not stop within %ss" % timeout)
        self.t.join(5)
        return prtest.Result(self.cmd, self.p.returncode, out.decode("utf-8", "replace"),
                             "".join(self.err), 0)


def rawgen(ifname, *args):
    r = sh(sys.executable, RAWGEN, ifname, *args, timeout=120)
    return json.loads(r.stdout.decode())


ck = prtest.Checks("test_priv_dpdk_afxdp")
prtest.pr_bin()


def tests(tmp):
    dpdktest.require_dpdk(tmp)
    with ck.section("net_af_xdp on a veth: exact frames"):
        db = os.path.join(tmp, "x.db")
        c = Capture(db, ["--backend", "dpdk", "-i", "net_af_xdp0", "--dpdk-args",
                         dpdktest.eal("--vdev", "net_af_xdp0,iface=cap0")])
        c.wait_port("port net_af_xdp0 (net_af_xdp): 1 rx queue")
        time.sleep(0.3)
        ck.ok(xdp_on("cap0"), "net_af_xdp put its XDP program on cap0")
        sizes, n_each, sent, want = (64, 300, 1500), 1000, 0, []
        for i, size in enumerate(sizes):
            path = os.path.join(tmp, "sent-%d.pcap" % size)
            g = rawgen("gen0", "--count", n_each, "--size", size, "--flows", 5, "--seq0",
                       i * n_each, "--pcap", path)
            ck.eq(g["sent"], n_each, "rawgen sent %d frames of %d bytes" % (n_each, size))
            sent += g["sent"]
            want += prtest.read_capture(path).packets
        # The frames are in the socket by now; give the worker a moment to store them.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            s = [x for x in prtest.sessions(db) if x.get("status") == "running"]
            if s and s[0].get("packets", 0) >= sent:
                break
            time.sleep(0.2)
        r = c.stop()
        ck.eq(r.rc, 0, "capture exits 0", r.describe())
        obj = r.json()
        ck.eq(obj.get("end_reason"), "stopped", "SIGINT ends it as a stop")
        san = prtest.sanitized()
        if not san:
            ck.eq(obj.get("packets"), sent, "stored exactly the %d frames sent" % sent)
            ck.eq(obj.get("drops_total"), 0, "no drops")
        else:
            # An instrumented worker (TSan: the L7 parsers too) cannot keep up
            # with an unpaced sender: what it misses must be counted, not lost.
            print("  note: %s build: drops allowed; stored + drops must be what was sent, "
                  "the stored frames an ordered subset of the sent ones" % san)
            ck.eq(obj.get("packets", 0) + obj.get("drops_total", 0), sent,
                  "stored %s + counted drops %s = the %d frames sent"
                  % (obj.get("packets"), obj.get("drops_total"), sent))
        out = os.path.join(tmp, "export.pcap")
        e = prtest.run(["export", "-S", obj["session_id"], "-o", out], db=db)
        if not ck.rc(e, 0, "export"):
            return
        got = prtest.read_capture(out).packets
        if san:
            ck.eq(len(got), obj.get("packets"), "export holds every stored frame")
            it = iter([w.data for w in want])
            ck.ok(all(any(g.data == w for w in it) for g in got),
                  "exported frames are sent frames, in order, none twice")
            ck.ok(not xdp_on("cap0"), "no XDP program left on cap0 after the capture")
            return
        ck.eq(len(got), len(want), "export holds every frame")
        ck.ok([g.data for g in got] == [w.data for w in want],
              "exported bytes equal the sent frames, in order",
              "first difference at %s" % next((i for i, (g, w) in enumerate(zip(got, want))
                                               if g.data != w.data), None))
        ck.ok(not xdp_on("cap0"), "no XDP program left on cap0 after the capture")


with prtest.tmpdir() as tmpd:
    try:
        setup()
        tests(tmpd)
    except TestError as e:
        ck.error("dpdk over net_af_xdp", e)
    finally:
        teardown()
ck.finish()
