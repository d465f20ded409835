#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Live capture with the afxdp backend through the CLI (label: privileged;
skipped unless root, `ip netns` works and this build has AF_XDP).

Both ends of each veth pair sit in a namespace of this test; capture and
generator (tests/integration/rawgen.py) run inside it.
- `capture -i` without --backend picks afxdp and says so;
- 3000 frames of mixed sizes sent by rawgen are stored exactly, and
  `export` gives back rawgen's own pcap byte for byte; no drops;
- the same in generic (SKB) mode;
- an early-drop rule from --backend-args (drop=udp:PORT) keeps exactly
  the frames to that port out of the store;
- on a veth with 2 rx queues read by one worker, stored + kernel drops =
  sent (the frames of the unread queue are counted, not lost silently);
- a bad --backend-args key fails the capture with a message naming it;
- the interface has no XDP program left after each capture."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import TestError  # noqa: E402

if os.geteuid() != 0:
    prtest.skip("needs root (network namespaces, XDP)")
if not prtest.have("ip"):
    prtest.skip("no `ip` command (iproute2)")

TAG = "%d" % (os.getpid() % 100000)
NS = "praf" + TAG
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
    for cap, gen, q in (("cap0", "gen0", 1), ("cap1", "gen1", 2)):
        extra = ["numrxqueues", q, "numtxqueues", q] if q > 1 else []
        sh("ip", "link", "add", cap, *extra, "type", "veth", "peer", "name", gen, *extra)
        for ifn in (cap, gen):
            sh("sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % ifn, check=False)
            sh("ip", "link", "set", ifn, "up")


def teardown():
    for p in STARTED:
        if p.poll() is None:
            p.kill()
            p.wait()
    sh("ip", "netns", "del", NS, ns=False, check=False)


def xdp_on(ifname):
    out = sh("ip", "-d", "link", "show", ifname).stdout.decode()
    return "prog/xdp" in out


def capture(db, args, timeout=60):
    """Start a capture inside the namespace; returns the Popen."""
    cmd = ["ip", "netns", "exec", NS, prtest.pr_bin(), "capture", "-d", db, "--encryption-key",
           prtest.KEY, "--json"] + [str(a) for a in args]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=prtest.clean_env())
    STARTED.append(p)
    p.cmd = cmd
    return p


def wait_attached(ifname, p, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            out, err = p.communicate()
            raise TestError("capture ended before attaching: %s" % err.decode())
        if xdp_on(ifname):
            # The program is armed once the socket is bound, just after; an
            # instrumented build takes longer from one to the other.
            time.sleep(1.0 if prtest.sanitized() else 0.3)
            return
        time.sleep(0.05)
    raise TestError("no XDP program on %s within %ss" % (ifname, timeout))


def finish(p, timeout=60):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise TestError("%s: no exit within %ss: %s" % (" ".join(p.cmd), timeout, err.decode()))
    r = prtest.Result(p.cmd, p.returncode, out.decode("utf-8", "replace"),
                      err.decode("utf-8", "replace"), 0)
    return r


def rawgen(ifname, *args):
    r = sh(sys.executable, RAWGEN, ifname, *args, timeout=120)
    import json
    return json.loads(r.stdout.decode())


def export(db, sid, path):
    r = prtest.run(["export", "-S", sid, "-o", path], db=db)
    if r.rc != 0:
        raise TestError("export failed\n%s" % r.describe())
    return prtest.read_capture(path).packets


ck = prtest.Checks("test_priv_afxdp")
prtest.pr_bin()


def exact_run(tmp, name, backend_args, sizes=(64, 200, 1500), n_each=1000, auto=False):
    db = os.path.join(tmp, name + ".db")
    sent_pcaps = []
    total = n_each * len(sizes)
    args = ["-i", "cap0", "-c", total, "-t", 60]
    if not auto:
        args += ["--backend", "afxdp"]
    if backend_args:
        args += ["--backend-args", backend_args]
    p = capture(db, args)
    wait_attached("cap0", p)
    for i, size in enumerate(sizes):
        path = os.path.join(tmp, "%s-sent-%d.pcap" % (name, size))
        g = rawgen("gen0", "--count", n_each, "--size", size, "--flows", 5, "--seq0",
                   i * n_each, "--pcap", path)
        ck.eq(g["sent"], n_each, "%s: rawgen sent %d frames of %d bytes" % (name, n_each, size))
        sent_pcaps.append(path)
    r = finish(p)
    ck.eq(r.rc, 0, "%s: capture exits 0" % name, r.describe())
    obj = r.json()
    ck.eq(obj.get("packets"), total, "%s: stored exactly what was sent" % name)
    ck.eq(obj.get("drops_total"), 0, "%s: no drops" % name)
    want = []
    for path in sent_pcaps:
        want += prtest.read_capture(path).packets
    got = export(db, obj["session_id"], os.path.join(tmp, name + "-export.pcap"))
    ck.eq(len(got), len(want), "%s: export holds every packet" % name)
    ck.ok([g.data for g in got] == [w.data for w in want],
          "%s: exported bytes equal the sent frames, in order" % name)
    ck.ok(not xdp_on("cap0"), "%s: no XDP program left on the interface" % name)
    return r


def tests(tmp):
    with ck.section("auto pick, native mode, exact bytes"):
        r = exact_run(tmp, "auto", None, auto=True)
        ck.ok("capturing with the afxdp backend" in r.err,
              "capture without --backend says it picked afxdp", r.err[-500:])

    with ck.section("generic mode, exact bytes"):
        exact_run(tmp, "generic", "mode=generic,frames=4096,rx_ring=2048")

    with ck.section("early-drop rule from --backend-args"):
        db = os.path.join(tmp, "rule.db")
        p = capture(db, ["-i", "cap0", "--backend", "afxdp", "-t", 60, "-c", 700,
                         "--backend-args", "drop=udp:42000"])
        wait_attached("cap0", p)
        rawgen("gen0", "--count", 900, "--dport", 42000)
        rawgen("gen0", "--count", 700, "--dport", 42001, "--seq0", 900)
        r = finish(p)
        obj = r.json()
        ck.eq(obj.get("packets"), 700, "rule: only the frames to other ports are stored")
        got = export(db, obj["session_id"], os.path.join(tmp, "rule.pcap"))
        dports = {int.from_bytes(g.data[36:38], "big") for g in got}
        ck.eq(dports, {42001}, "rule: no frame to udp port 42000 in the store")

    with ck.section("2 rx queues, 1 worker: the unread queue is counted"):
        db = os.path.join(tmp, "mq.db")
        N = 6000
        p = capture(db, ["-i", "cap1", "--backend", "afxdp", "-t", 4])
        wait_attached("cap1", p)
        rawgen("gen1", "--count", N, "--flows", 64)
        r = finish(p)
        obj = r.json()
        # The unread queue's frames are drops by reason (no_socket), not stored.
        stored, kdrops = obj.get("packets", 0), sum(obj.get("drops", {}).values())
        ck.ok(0 < stored < N, "mq: one queue's share is stored (%d of %d)" % (stored, N))
        ck.eq(stored + kdrops, N, "mq: stored + drops = sent")
        prtest.check_accounting(ck, obj, "mq")
        ck.ok("this capture reads 1" in r.err, "mq: a warning names the unread queues",
              r.err[-600:])

    with ck.section("bad --backend-args"):
        db = os.path.join(tmp, "bad.db")
        p = capture(db, ["-i", "cap0", "--backend", "afxdp", "-t", 5,
                         "--backend-args", "rx_ring=1000"])
        r = finish(p)
        ck.eq(r.rc, 1, "bad args: exit 1")
        ck.ok("rx_ring" in r.err and "power of two" in r.err,
              "bad args: the message names the key", r.err[-400:])
        ck.ok(not xdp_on("cap0"), "bad args: nothing attached")


def main():
    probe = subprocess.run([prtest.dataplane_bin(), "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    if b"--backend-args" not in probe.stdout:
        prtest.skip("this dataplane has no --backend-args")
    with prtest.tmpdir("prtest-afxdp-") as tmp:
        setup()
        try:
            # Does this build have afxdp, and can XDP load here?
            db = os.path.join(tmp, "probe.db")
            p = capture(db, ["-i", "cap0", "--backend", "afxdp", "-t", 0.5])
            r = finish(p)
            if r.rc != 0:
                if "built without AF_XDP" in r.err:
                    prtest.skip("this build has no AF_XDP backend")
                if "Operation not permitted" in r.err or "not supported" in r.err:
                    prtest.skip("XDP cannot load here: %s" % r.err.strip()[-300:])
                raise TestError("afxdp probe capture failed\n%s" % r.describe())
            tests(tmp)
        except TestError as e:
            ck.error("setup or run", e)
        finally:
            teardown()
    ck.finish()


main()
