#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Replay control of `packetrecorder serve`: StartReplay and StopReplay over
gRPC (Debian's grpcio, stubs generated at test time) and `manage
start-replay / stop-replay`, against a daemon started here in a network
namespace with a veth pair (root: skipped otherwise). The script makes the
namespace, then runs itself inside it (the daemon's loopback and the veth
ends are the namespace's); tests/integration/rawsink.py (AF_PACKET) records
what arrives on the far end.

What it proves:
- StartReplay of a stored session at top speed answers a running replay;
  the frames arrive on the peer byte for byte and in order; replay_started
  and replay_stopped reach a StreamEvents client (end_reason finished,
  packets_sent); StopReplay of the finished replay answers its final status
  (stopped, finished) with sent and bytes_sent equal to the frames stored;
- `manage start-replay --backend pcap --filter F --json` sends exactly the
  frames the filter selects, and `manage stop-replay --json` reports them;
- StopReplay of a slow replay (1 s between frames) stops it early: state
  stopped, end_reason stopped, fewer packets sent than stored, and the peer
  got exactly the ones it reports, unchanged;
- a session whose interfaces are not all Ethernet is refused on a veth end
  with INVALID_ARGUMENT naming "interface" (its link types differ), and the
  replay is kept as failed;
- bad requests are INVALID_ARGUMENT naming the field (session_id,
  interface, speed < 0 and NaN, filter, backend), an unknown interface
  names "interface", a missing session or replay is NOT_FOUND, no API key
  UNAUTHENTICATED; `manage` exits 4 and 3 for those;
- SIGTERM with a replay running stops it and exits 0 without a sanitizer
  report.
"""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import RAW_KEY, TestError  # noqa: E402

if os.geteuid() != 0:
    prtest.skip("needs root (network namespaces, veth, AF_PACKET)")
if not prtest.have("ip"):
    prtest.skip("no `ip` command (iproute2)")

import grpctest  # noqa: E402  (skips without python3-grpcio)
from grpctest import Daemon, grpc, rpc_error  # noqa: E402
import httptest  # noqa: E402

TAG = os.environ.get("PR_RC_TAG") or "%d" % (os.getpid() % 100000)
NS = "prrc" + TAG
TX_IF, RX_IF = "rct0", "rcr0"
SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rawsink.py")
MARK = b"PRRC%s " % TAG.encode()
API_KEY = httptest.API_KEY
MD = [("x-api-key", API_KEY)]


def sh(*args, check=True):
    p = subprocess.run([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if check and p.returncode != 0:
        raise TestError("%s: exit %d: %s" % (" ".join(map(str, args)), p.returncode,
                                             p.stderr.decode("utf-8", "replace").strip()))
    return p


def outside():
    """Make the namespace and the veth pair, run the checks inside, remove it."""
    p = sh("ip", "netns", "add", NS, check=False)
    if p.returncode != 0:
        prtest.skip("`ip netns add` failed: %s" % p.stderr.decode("utf-8", "replace").strip())
    try:
        ns = ["ip", "netns", "exec", NS]
        sh(*ns, "ip", "link", "set", "lo", "up")
        sh(*ns, "ip", "link", "add", TX_IF, "type", "veth", "peer", "name", RX_IF)
        for ifn in (TX_IF, RX_IF):
            sh(*ns, "sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % ifn, check=False)
            sh(*ns, "ip", "link", "set", ifn, "up")
        env = dict(os.environ, PR_RC_TAG=TAG, PR_RC_INSIDE="1")
        rc = subprocess.run(ns + [sys.executable, os.path.abspath(__file__)], env=env).returncode
    finally:
        subprocess.run(["ip", "netns", "del", NS], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    sys.exit(rc)


def make_frames(n, t0, gap_ns, sizes=(60, 200, 1000, 1514)):
    out = []
    for i in range(n):
        size = sizes[i % len(sizes)]
        payload = MARK + b"seq=%06d " % i
        payload += bytes((i * 7 + k) & 0xFF for k in range(max(0, size - 42 - len(payload))))
        f = prtest.gen.udp_frame("02:00:00:00:00:01", "02:00:00:00:00:02", "10.8.0.1",
                                 41000 + (i % 4), "10.8.0.2", 6000 + (i % 2), payload,
                                 ident=i + 1)
        out.append((t0 + i * gap_ns, f))
    return out


def store(db, tmp, name, frames):
    pc = os.path.join(tmp, name + ".pcap")
    prtest.gen.write_simple_pcap(pc, frames, nsec=True)
    obj, _ = prtest.capture_file(db, pc, key=RAW_KEY)
    return obj["session_id"]


class Sink:
    """rawsink.py on the far end, started before the replay; frames() waits for its end."""

    def __init__(self, idle=1.5, timeout=120):
        self.p = subprocess.Popen([sys.executable, SINK, RX_IF, "--marker", MARK.decode(),
                                   "--idle", str(idle), "--timeout", str(timeout)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.timeout = timeout
        if b"ready" not in self.p.stderr.readline():
            raise TestError("rawsink did not start")

    def frames(self):
        try:
            out, _ = self.p.communicate(timeout=self.timeout + 30)
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()
        got = json.loads(out.decode())["frames"] if out else []
        return [bytes.fromhex(h) for _, h in got]


class Events:
    """A StreamEvents client of replay_started/replay_stopped, read by a thread."""

    def __init__(self, stub):
        self.it = stub.StreamEvents(grpctest.stubs()[0].StreamEventsRequest(
            types=["replay_started", "replay_stopped"]), metadata=MD)
        self.got = []
        self.cond = threading.Condition()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        try:
            for ev in self.it:
                with self.cond:
                    self.got.append((ev.type, json.loads(ev.data_json), ev.session_id))
                    self.cond.notify_all()
        except grpc.RpcError:
            pass

    def wait(self, typ, replay_id, limit=120):
        """The event of that type for that replay; the bound only keeps a broken daemon
        from hanging the test."""
        end = time.monotonic() + limit
        with self.cond:
            while True:
                for t, d, sid in self.got:
                    if t == typ and d.get("replay_id") == replay_id:
                        return d, sid
                left = end - time.monotonic()
                if left <= 0:
                    return None, None
                self.cond.wait(left)

    def close(self):
        self.it.cancel()
        self.t.join(10)


def manage(d, args, key=API_KEY):
    k = ["--api-key", key] if key else []
    return prtest.run(["manage", "--endpoint", d.endpoint] + k + args, key=None, timeout=120)


def inside():
    ck = prtest.Checks("test_priv_replay_control")
    pb, pbg, _, _ = grpctest.stubs()
    with prtest.tmpdir() as tmp:
        db = os.path.join(tmp, "store.db")
        base = 1700007000 * 10**9
        top = make_frames(1000, base, 100_000)
        slow = make_frames(100, base, 1_000_000_000, sizes=(120,))
        sid_top = store(db, tmp, "top", top)
        sid_slow = store(db, tmp, "slow", slow)
        sid_del = store(db, tmp, "del", slow)
        sid_multi = prtest.capture_file(db, prtest.fixture("multi_if.pcapng"),
                                        key=RAW_KEY)[0]["session_id"]
        d = Daemon(db, env={"PACKETRECORDER_API_KEY": API_KEY})
        ev = None
        try:
            s = pbg.PacketRecorderStub(d.channel())
            ev = Events(s)
            run_checks(ck, d, s, pb, ev, sid_top, sid_slow, sid_multi, sid_del, top, slow)
        except (TestError, grpc.RpcError) as e:
            ck.error("replay control", e)
        finally:
            if ev:
                ev.close()
            if d.proc.poll() is None:
                d.stop()
    ck.finish()


def run_checks(ck, d, s, pb, ev, sid_top, sid_slow, sid_multi, sid_del, top, slow):
    want = [f for _, f in top]

    with ck.section("StartReplay at top speed, frames byte for byte"):
        sink = Sink()
        r = s.StartReplay(pb.StartReplayRequest(session_id=sid_top, interface=TX_IF, speed=0),
                          metadata=MD, timeout=120)
        ck.ok(r.replay_id > 0 and r.session_id == sid_top and r.state == "running" and
              r.interface == TX_IF and r.backend in ("pcap", "afxdp"),
              "StartReplay answers a running replay of the session on %s" % TX_IF, str(r))
        got = sink.frames()
        ck.eq(len(got), len(want), "frames received on the peer")
        ck.ok(got == want, "received frames equal the stored ones, in order")
        st, esid = ev.wait("replay_started", r.replay_id)
        ck.ok(st is not None and esid == sid_top and st.get("interface") == TX_IF,
              "StreamEvents: replay_started with the replay and session ids", repr(st))
        end, _ = ev.wait("replay_stopped", r.replay_id)
        ck.ok(end is not None and end.get("end_reason") == "finished" and
              end.get("packets_sent") == len(want),
              "StreamEvents: replay_stopped, finished, with packets_sent", repr(end))
        f = s.StopReplay(pb.StopReplayRequest(replay_id=r.replay_id), metadata=MD, timeout=120)
        ck.ok(f.state == "stopped" and f.end_reason == "finished" and f.sent == len(want) and
              f.bytes_sent == sum(len(x) for x in want) and f.errors == 0,
              "StopReplay of the finished replay: its final status, every frame sent", str(f))

    with ck.section("StartReplay of a time range, twice over; paced by mbps"):
        t_from, t_to = top[100][0], top[199][0]
        sink = Sink()
        r = s.StartReplay(pb.StartReplayRequest(session_id=sid_top, interface=TX_IF, speed=0,
                                                from_ts=t_from, to_ts=t_to, loop=2),
                          metadata=MD, timeout=120)
        got = sink.frames()
        ck.ok(got == want[100:200] * 2, "from_ts, to_ts, loop 2: frames 100 to 199 twice, in "
              "order (got %d frames)" % len(got))
        end, _ = ev.wait("replay_stopped", r.replay_id)
        f = s.StopReplay(pb.StopReplayRequest(replay_id=r.replay_id), metadata=MD, timeout=120)
        ck.eq(f.sent, 200, "its status counts 200 sent")
        sink = Sink()
        m = manage(d, ["--json", "start-replay", "--session-id", str(sid_top), "--interface",
                       TX_IF, "--backend", "pcap", "--mbps", "50", "--count", "30",
                       "--from", str(top[10][0])])
        j = m.json() if m.rc == 0 else {}
        ck.ok(m.rc == 0 and j.get("state") in ("running", "stopped"),
              "manage start-replay --mbps 50 --count 30 --from T", m.describe())
        got = sink.frames()
        ck.ok(got == want[10:40], "--mbps paces the 30 frames from T, unchanged (got %d)" %
              len(got))
        if j:
            ev.wait("replay_stopped", j["replay_id"])
        m = manage(d, ["start-replay", "--session-id", str(sid_top), "--interface", TX_IF,
                       "--pps", "10", "--mbps", "5"])
        ck.ok(m.rc == 3 and "give one" in m.err, "manage start-replay --pps with --mbps: "
              "exit 3", m.describe())

    with ck.section("manage start-replay / stop-replay"):
        sel = [x for i, x in enumerate(want) if i % 2 == 1]
        sink = Sink()
        m = manage(d, ["--json", "start-replay", "--session-id", str(sid_top), "--interface",
                       TX_IF, "--backend", "pcap", "--speed", "0", "--filter",
                       "udp dst port 6001"])
        j = m.json() if m.rc == 0 else {}
        ck.ok(m.rc == 0 and j.get("state") == "running" and j.get("backend") == "pcap" and
              j.get("filter") == "udp dst port 6001",
              "manage start-replay --json: a running replay with the pcap backend",
              m.describe())
        got = sink.frames()
        ck.ok(got == sel, "manage start-replay --filter: exactly the %d frames it selects "
              "arrive (got %d)" % (len(sel), len(got)))
        if j:
            ev.wait("replay_stopped", j["replay_id"])
            m = manage(d, ["--json", "stop-replay", "--replay-id", str(j["replay_id"])])
            k = m.json() if m.rc == 0 else {}
            ck.ok(m.rc == 0 and k.get("packets_sent") == len(sel) and
                  k.get("state") == "stopped" and k.get("end_reason") == "finished",
                  "manage stop-replay --json: the final status with packets_sent",
                  m.describe())
            m = manage(d, ["stop-replay", "--replay-id", str(j["replay_id"])])
            ck.ok(m.rc == 0 and "stopped" in m.out and ("%d packets sent" % len(sel)) in m.out,
                  "manage stop-replay (text): one line with the state and count",
                  m.describe())

    with ck.section("StopReplay of a slow replay stops it early"):
        sink = Sink(idle=3)
        r = s.StartReplay(pb.StartReplayRequest(session_id=sid_slow, interface=TX_IF, speed=1,
                                                backend="pcap"),
                          metadata=MD, timeout=120)
        ck.eq(r.state, "running", "a replay of 100 frames 1 s apart runs")
        time.sleep(1.5)  # a frame or two goes out; not a timing check
        f = s.StopReplay(pb.StopReplayRequest(replay_id=r.replay_id), metadata=MD, timeout=120)
        ck.ok(f.state == "stopped" and f.end_reason == "stopped" and f.sent < len(slow),
              "StopReplay: stopped early (%d of %d sent)" % (f.sent, len(slow)), str(f))
        got = sink.frames()
        ck.ok(len(got) == f.sent and got == [x for _, x in slow][:len(got)],
              "the peer got exactly the %d frames reported sent, unchanged (got %d)" %
              (f.sent, len(got)))
        end, _ = ev.wait("replay_stopped", r.replay_id)
        ck.ok(end is not None and end.get("end_reason") == "stopped",
              "StreamEvents: replay_stopped with end_reason stopped", repr(end))
        g = s.StopReplay(pb.StopReplayRequest(replay_id=r.replay_id), metadata=MD, timeout=30)
        ck.ok(g.state == "stopped" and g.sent == f.sent,
              "StopReplay again answers the same final status", str(g))

    with ck.section("DeleteSession of a session being replayed"):
        sink = Sink(idle=3)
        r = s.StartReplay(pb.StartReplayRequest(session_id=sid_del, interface=TX_IF, speed=1,
                                                backend="pcap"),
                          metadata=MD, timeout=120)
        ck.eq(r.state, "running", "a slow replay of the session to delete runs")
        # Deleting it under the replay would cut the replay off with a read error.
        e = rpc_error(s.DeleteSession, pb.DeleteSessionRequest(session_id=sid_del),
                      metadata=MD, timeout=60)
        ck.ok(e is not None and e.code() == grpc.StatusCode.FAILED_PRECONDITION and
              ("session %d is being replayed by 1 replay" % sid_del) in e.details(),
              "DeleteSession while it is replayed: FAILED_PRECONDITION, saying so",
              "%s %s" % (e and e.code(), e and e.details()))
        m = manage(d, ["delete-session", "--session-id", str(sid_del), "--yes"])
        ck.ok(m.rc != 0 and "being replayed" in m.err,
              "manage delete-session of it: refused with the daemon's reason", m.describe())
        f = s.StopReplay(pb.StopReplayRequest(replay_id=r.replay_id), metadata=MD, timeout=120)
        ck.eq(f.state, "stopped", "StopReplay stops it")
        g = s.GetSession(pb.GetSessionRequest(session_id=sid_del), metadata=MD, timeout=60)
        ck.eq(g.packets, len(slow), "the refused delete left every packet of the session")
        x = s.DeleteSession(pb.DeleteSessionRequest(session_id=sid_del), metadata=MD,
                            timeout=60)
        ck.ok(x.deleted and x.packets == len(slow),
              "once the replay has ended, DeleteSession deletes it", str(x))
        sink.frames()

    with ck.section("link types"):
        e = rpc_error(s.StartReplay, pb.StartReplayRequest(session_id=sid_multi,
                                                           interface=TX_IF, speed=0),
                      metadata=MD, timeout=120)
        ck.ok(e is not None and e.code() == grpc.StatusCode.INVALID_ARGUMENT and
              e.details().startswith("interface: ") and "link type 101" in e.details(),
              "a session with a raw-IP interface on a veth end: INVALID_ARGUMENT naming "
              "interface and the link type", "%s %s" % (e and e.code(), e and e.details()))

    with ck.section("bad requests"):
        bad = (
            (pb.StartReplayRequest(interface=TX_IF), "session_id: "),
            (pb.StartReplayRequest(session_id=sid_top), "interface: required"),
            (pb.StartReplayRequest(session_id=sid_top, interface="nosuch0"),
             "interface: no such interface"),
            (pb.StartReplayRequest(session_id=sid_top, interface=TX_IF, speed=-1), "speed: "),
            (pb.StartReplayRequest(session_id=sid_top, interface=TX_IF, speed=float("nan")),
             "speed: "),
            (pb.StartReplayRequest(session_id=sid_top, interface=TX_IF, filter="((("),
             "filter: "),
            (pb.StartReplayRequest(session_id=sid_top, interface=TX_IF, backend="netmap"),
             "backend: "),
            (pb.StartReplayRequest(session_id=sid_top, interface=TX_IF, speed=2, pps=100),
             "speed, pps: "),
            (pb.StartReplayRequest(session_id=sid_top, interface=TX_IF, pps=100, mbps=5),
             "mbps: "),
            (pb.StartReplayRequest(session_id=sid_top, interface=TX_IF, mbps=float("nan")),
             "mbps: "),
            (pb.StartReplayRequest(session_id=sid_top, interface=TX_IF, from_ts=20, to_ts=10),
             "from_ts: "),
            (pb.StartReplayRequest(session_id=sid_top, interface=TX_IF, loop=10**7), "loop: "),
        )
        for req, field in bad:
            e = rpc_error(s.StartReplay, req, metadata=MD, timeout=60)
            ck.ok(e is not None and e.code() == grpc.StatusCode.INVALID_ARGUMENT and
                  e.details().startswith(field),
                  "StartReplay %s: INVALID_ARGUMENT naming %s" % (
                      str(req).replace("\n", " ").strip(), field.split(":")[0]),
                  "%s %s" % (e and e.code(), e and e.details()))
        e = rpc_error(s.StartReplay, pb.StartReplayRequest(session_id=987654, interface=TX_IF),
                      metadata=MD, timeout=60)
        ck.ok(e is not None and e.code() == grpc.StatusCode.NOT_FOUND and
              "session_id" in e.details() and "987654" in e.details(),
              "StartReplay of a missing session: NOT_FOUND naming it",
              "%s %s" % (e and e.code(), e and e.details()))
        e = rpc_error(s.StopReplay, pb.StopReplayRequest(replay_id=4242), metadata=MD)
        ck.ok(e is not None and e.code() == grpc.StatusCode.NOT_FOUND and
              "replay_id" in e.details(), "StopReplay of an unknown replay: NOT_FOUND",
              "%s %s" % (e and e.code(), e and e.details()))
        e = rpc_error(s.StopReplay, pb.StopReplayRequest(), metadata=MD)
        ck.ok(e is not None and e.code() == grpc.StatusCode.INVALID_ARGUMENT and
              "replay_id" in e.details(), "StopReplay of replay 0: INVALID_ARGUMENT")
        for name, fn, req in (
                ("StartReplay", s.StartReplay,
                 pb.StartReplayRequest(session_id=sid_top, interface=TX_IF)),
                ("StopReplay", s.StopReplay, pb.StopReplayRequest(replay_id=1))):
            e = rpc_error(fn, req, timeout=30)
            ck.ok(e is not None and e.code() == grpc.StatusCode.UNAUTHENTICATED,
                  "%s without an API key: UNAUTHENTICATED" % name, str(e and e.code()))
        m = manage(d, ["start-replay", "--session-id", "987654", "--interface", TX_IF])
        ck.ok(m.rc == 4 and "NOT_FOUND" in m.err, "manage start-replay of a missing session "
              "exits 4", m.describe())
        m = manage(d, ["start-replay", "--session-id", str(sid_top), "--interface", TX_IF,
                       "--speed", "-1"])
        ck.ok(m.rc == 3 and "speed" in m.err, "manage start-replay --speed -1 exits 3 naming "
              "speed", m.describe())
        m = manage(d, ["stop-replay", "--replay-id", "4242"])
        ck.ok(m.rc == 4, "manage stop-replay of an unknown replay exits 4", m.describe())
        m = manage(d, ["start-replay", "--interface", TX_IF])
        ck.ok(m.rc == 3 and "--session-id" in m.err, "manage start-replay without "
              "--session-id exits 3", m.describe())

    with ck.section("SIGTERM with a replay running"):
        r = s.StartReplay(pb.StartReplayRequest(session_id=sid_slow, interface=TX_IF, speed=1,
                                                backend="pcap"),
                          metadata=MD, timeout=120)
        ck.eq(r.state, "running", "a slow replay runs")
        rc = d.stop(timeout=120)
        ck.eq(rc, 0, "serve exits 0 on SIGTERM with a replay running", d.stderr()[-2000:])
        ck.ok(("replay %d of session %d on %s" % (r.replay_id, sid_slow, TX_IF)) in d.stderr()
              and "(stopped)" in d.stderr(), "the log says the replay was stopped",
              d.stderr()[-2000:])
        rep = grpctest.sanitizer_report(d.stderr())
        ck.ok(not rep, "no sanitizer report", rep)


if os.environ.get("PR_RC_INSIDE"):
    inside()
else:
    outside()
