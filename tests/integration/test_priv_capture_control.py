#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Capture control of `packetrecorder serve`, with real clients: Debian's grpcio
(stubs generated at test time), curl, an SSE reader and `manage`, against a
daemon started here, capturing with the pcap backend on `lo` (root: skipped
otherwise).

What it proves:
- StartCapture (gRPC) and POST /api/v1/captures (HTTP) each start a capture
  (a dataplane process) and answer once it captures; two run at once, each
  with its own filter, and GetCaptureStatus lists both as running;
- a capture outlives the client that started it (the channel is closed and a
  new one still sees it running);
- the UDP datagrams sent to each capture's port reach the store: after
  StopCapture / DELETE /api/v1/captures/{id}, which answer only once the
  session is flushed, ListSessions shows each session completed with exactly
  the packets sent to it, and `sessions --json` (the CLI, reading the file)
  says the same;
- a capture with max_packets ends by itself at that count (end_reason count);
- capture_started and capture_stopped reach an SSE client of /api/v1/events
  with the capture and session ids, and a gRPC StreamEvents client with the
  same event numbers;
- a daemon with max_captures = 1 refuses a second capture naming the key;
- an unknown interface is INVALID_ARGUMENT / 400 naming "interface", a bad
  filter names "filter", an unknown capture is NOT_FOUND / 404;
- `manage start-capture / status / stop-capture` drive the same registry;
- SIGTERM with a capture running stops it, stores what it captured, marks the
  session completed and exits 0 without a sanitizer report.
"""
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import RAW_KEY  # noqa: E402
import grpctest  # noqa: E402
from grpctest import Daemon, grpc, rpc_error  # noqa: E402
import httptest  # noqa: E402

if os.geteuid() != 0:
    prtest.skip("capturing on lo needs root (CAP_NET_RAW)")

ck = prtest.Checks("test_priv_capture_control")
pb, pbg, hpb, hpbg = grpctest.stubs()
API_KEY = httptest.API_KEY
MD = [("x-api-key", API_KEY)]


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def send_udp(port, n, size=100):
    """n datagrams to 127.0.0.1:port, nobody listening (lo carries them all the same)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        s.sendto(i.to_bytes(4, "big") * (size // 4), ("127.0.0.1", port))
    s.close()


def txt(r):
    return r.body[:300].decode("utf-8", "replace")


def status(stub, cid):
    return stub.GetCaptureStatus(pb.GetCaptureStatusRequest(capture_id=cid), metadata=MD,
                                 timeout=30).captures[0]


def wait_packets(stub, cid, want, limit=120):
    """Poll until the capture has stored want packets (what pcap on lo hands over in
    its own time) or ended; returns its last status. Not a timing check: the bound
    only keeps a broken daemon from hanging the test."""
    end = time.monotonic() + limit
    while True:
        st = status(stub, cid)
        if st.packets >= want or st.state in ("stopped", "failed") or time.monotonic() > end:
            return st
        time.sleep(0.1)


def session_of(stub, sid):
    for s in stub.ListSessions(pb.ListSessionsRequest(), metadata=MD, timeout=30).sessions:
        if s.session_id == sid:
            return s
    return None


def manage(d, args):
    return prtest.run(["manage", "--endpoint", d.endpoint, "--api-key", API_KEY] + args,
                      key=None, timeout=120)


def main():
    with prtest.tmpdir() as tmp:
        run(os.path.join(tmp, "store.db"))
        with ck.section("max_captures"):
            run_limit(tmp)
    ck.finish()


def run_limit(tmp):
    """A daemon with max_captures = 1 refuses a second capture, naming the key."""
    conf = os.path.join(tmp, "limit.conf")
    with open(conf, "w") as fh:
        fh.write("max_captures = 1\n")
    d = Daemon(os.path.join(tmp, "limit.db"), args=["--config", conf],
               env={"PACKETRECORDER_API_KEY": API_KEY})
    try:
        s = pbg.PacketRecorderStub(d.channel())
        a = s.StartCapture(pb.StartCaptureRequest(interface="lo", backend="pcap",
                                                  filter="udp and dst port 9"),
                           metadata=MD, timeout=120)
        e = rpc_error(s.StartCapture, pb.StartCaptureRequest(interface="lo", backend="pcap"),
                      metadata=MD, timeout=120)
        ck.ok(e is not None and e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and
              "max_captures = 1" in e.details(),
              "max_captures = 1: a second StartCapture is RESOURCE_EXHAUSTED naming the key",
              "%s %s" % (e and e.code(), e and e.details()))
        s.StopCapture(pb.StopCaptureRequest(capture_id=a.capture_id), metadata=MD, timeout=120)
        b = s.StartCapture(pb.StartCaptureRequest(interface="lo", backend="pcap",
                                                  filter="udp and dst port 9"),
                           metadata=MD, timeout=120)
        ck.ok(b.state == "running", "... and once the first stopped, another starts", str(b))
        s.StopCapture(pb.StopCaptureRequest(capture_id=b.capture_id), metadata=MD, timeout=120)
        ck.eq(d.stop(), 0, "that daemon exits 0 on SIGTERM", d.stderr()[-2000:])
    except (prtest.TestError, grpc.RpcError) as e:
        ck.error("max_captures", e)
    finally:
        if d.proc.poll() is None:
            d.stop()


def run(db):
    d = Daemon(db, args=["--http-addr", "127.0.0.1:0"],
               env={"PACKETRECORDER_API_KEY": API_KEY})
    sse = None
    try:
        m = re.search(r"serve: http: listening on \S+ \(port (\d+)", d.stderr())
        if not m:
            raise prtest.TestError("no HTTP port in the log:\n" + d.stderr())
        hp = int(m.group(1))
        base = "http://127.0.0.1:%d" % hp
        sse = httptest.SSE(hp, key=API_KEY, timeout=30)
        ck.eq(sse.status, 200, "an SSE client subscribes to /api/v1/events")
        ch = d.channel()
        s = pbg.PacketRecorderStub(ch)
        pa, pb_, pc, pd = (free_udp_port() for _ in range(4))

        with ck.section("errors"):
            e = rpc_error(s.StartCapture, pb.StartCaptureRequest(interface="nosuch0"),
                          metadata=MD)
            ck.ok(e and e.code() == grpc.StatusCode.INVALID_ARGUMENT and
                  "interface" in e.details(), "StartCapture of an unknown interface: "
                  "INVALID_ARGUMENT naming interface", "%s" % (e and e.details()))
            e = rpc_error(s.StartCapture, pb.StartCaptureRequest(interface="lo", filter="((("),
                          metadata=MD)
            ck.ok(e and e.code() == grpc.StatusCode.INVALID_ARGUMENT and
                  "filter" in e.details(), "StartCapture with a bad filter: INVALID_ARGUMENT "
                  "naming filter", "%s" % (e and e.details()))
            e = rpc_error(s.StopCapture, pb.StopCaptureRequest(capture_id=999), metadata=MD)
            ck.ok(e and e.code() == grpc.StatusCode.NOT_FOUND and "999" in e.details(),
                  "StopCapture of an unknown capture: NOT_FOUND", "%s" % (e and e.details()))
            e = rpc_error(s.GetCaptureStatus, pb.GetCaptureStatusRequest(capture_id=999),
                          metadata=MD)
            ck.ok(e and e.code() == grpc.StatusCode.NOT_FOUND,
                  "GetCaptureStatus of an unknown capture: NOT_FOUND")
            r = httptest.curl(base + "/api/v1/captures", method="POST",
                              data=b'{"interface":"nosuch0"}',
                              headers=["Content-Type: application/json"], key=API_KEY)
            ck.ok(r.status == 400 and "interface" in json.loads(r.body).get("message", ""),
                  "POST /api/v1/captures of an unknown interface: 400 naming interface",
                  "%s %r" % (r.status, txt(r)))
            r = httptest.curl(base + "/api/v1/captures/999", method="DELETE", key=API_KEY)
            ck.eq(r.status, 404, "DELETE /api/v1/captures/999: 404", txt(r))
            st = s.GetCaptureStatus(pb.GetCaptureStatusRequest(), metadata=MD)
            ck.eq(len(st.captures), 0, "no capture was started by the refused requests")

        with ck.section("two captures, gRPC and HTTP"):
            a = s.StartCapture(pb.StartCaptureRequest(
                interface="lo", filter="udp and dst port %d" % pa, backend="pcap",
                name="ctl-a"), metadata=MD, timeout=120)
            ck.ok(a.capture_id > 0 and a.session_id > 0 and a.state == "running" and
                  a.backend == "pcap", "StartCapture answers a running capture with a session",
                  str(a))
            r = httptest.curl(base + "/api/v1/captures", method="POST", key=API_KEY,
                              headers=["Content-Type: application/json"], timeout=120,
                              data=json.dumps({"interface": "lo", "backend": "pcap",
                                               "filter": "udp and dst port %d" % pb_,
                                               "name": "ctl-b"}).encode())
            b = json.loads(r.body) if r.status == 201 else {}
            ck.ok(r.status == 201 and b.get("state") == "running" and b.get("session_id", 0) > 0
                  and b.get("capture_id") not in (None, a.capture_id),
                  "POST /api/v1/captures: 201 with a second running capture", txt(r))
            ch.close()
            ch = d.channel()
            s = pbg.PacketRecorderStub(ch)
            got = {c.capture_id: c for c in s.GetCaptureStatus(
                pb.GetCaptureStatusRequest(), metadata=MD).captures}
            ck.ok(got.get(a.capture_id) and got[a.capture_id].state == "running" and
                  got.get(b.get("capture_id")) and got[b["capture_id"]].state == "running",
                  "after the client went away both captures still run (a new client lists "
                  "them)", str(got))
            send_udp(pa, 300)
            send_udp(pb_, 200)
            send_udp(pc, 50)  # neither filter takes these
            sa = wait_packets(s, a.capture_id, 300)
            sb = wait_packets(s, b["capture_id"], 200)
            ck.eq((sa.packets, sb.packets), (300, 200), "each capture sees its own port's "
                  "datagrams, and only those")
            fa = s.StopCapture(pb.StopCaptureRequest(capture_id=a.capture_id), metadata=MD,
                               timeout=120)
            ck.ok(fa.state == "stopped" and fa.packets == 300 and fa.end_reason == "stopped",
                  "StopCapture answers once stopped: 300 packets", str(fa))
            r = httptest.curl(base + "/api/v1/captures/%d" % b["capture_id"], method="DELETE",
                              key=API_KEY, timeout=120)
            fb = json.loads(r.body) if r.status == 200 else {}
            ck.ok(r.status == 200 and fb.get("state") == "stopped" and fb.get("packets") == 200,
                  "DELETE /api/v1/captures/{id}: 200, stopped with 200 packets", txt(r))
            for sid, want, name in ((a.session_id, 300, "ctl-a"),
                                    (b.get("session_id"), 200, "ctl-b")):
                se = session_of(s, sid)
                ck.ok(se is not None and se.packets == want and se.status == "completed" and
                      se.name == name and se.source == "lo",
                      "ListSessions: session %s \"%s\" completed with %d packets" %
                      (sid, name, want), str(se))
            cli = {x["session_id"]: x for x in prtest.run_json(["sessions"], db=db,
                                                                 key=RAW_KEY)[0]}
            ck.ok(cli.get(a.session_id, {}).get("packets") == 300 and
                  cli.get(b.get("session_id"), {}).get("packets") == 200,
                  "the CLI reads the same counts from the store file")
            e = rpc_error(s.StopCapture, pb.StopCaptureRequest(capture_id=a.capture_id),
                          metadata=MD)
            ck.ok(e is None, "StopCapture of a stopped capture answers its final status")

        with ck.section("events"):
            seen = {}
            end = time.monotonic() + 30
            while len(seen) < 4 and time.monotonic() < end:
                ev = sse.next(5)
                if ev and ev.get("event") in ("capture_started", "capture_stopped"):
                    j = ev["json"]
                    seen[(ev["event"], j["data"]["capture_id"])] = j
            for cid, sid in ((a.capture_id, a.session_id), (b.get("capture_id"),
                                                             b.get("session_id"))):
                st_ev = seen.get(("capture_started", cid))
                sp_ev = seen.get(("capture_stopped", cid))
                ck.ok(st_ev and st_ev["session_id"] == sid and
                      st_ev["data"]["interface"] == "lo",
                      "SSE: capture_started of capture %s (session %s)" % (cid, sid),
                      str(seen))
                ck.ok(sp_ev and sp_ev["data"]["packets"] in (300, 200) and
                      sp_ev["data"]["state"] == "stopped",
                      "SSE: capture_stopped of capture %s with its packets" % cid, str(seen))

            # The same events over gRPC StreamEvents, with the same numbers.
            want = {k: v["seq"] for k, v in seen.items()}
            got = {}
            it = s.StreamEvents(pb.StreamEventsRequest(
                after_seq=1, types=["capture_started", "capture_stopped"]), metadata=MD,
                timeout=60)
            try:
                for ev in it:
                    got[(ev.type, json.loads(ev.data_json).get("capture_id"))] = ev.seq
                    if len(got) >= len(want):
                        break
            except grpc.RpcError as e:
                print("StreamEvents ended: %s" % e.code())
            it.cancel()
            ck.ok(want and got == want, "gRPC StreamEvents: the same %d capture events, with "
                  "the same numbers, as SSE" % len(want), "%r\n%r" % (got, want))

        with ck.section("max_packets"):
            c = s.StartCapture(pb.StartCaptureRequest(
                interface="lo", filter="udp and dst port %d" % pc, backend="pcap",
                max_packets=50), metadata=MD, timeout=120)
            send_udp(pc, 100)
            st = c
            end = time.monotonic() + 120
            while st.state not in ("stopped", "failed") and time.monotonic() < end:
                time.sleep(0.1)
                st = status(s, c.capture_id)
            ck.ok(st.state == "stopped" and st.end_reason == "count" and st.packets == 50,
                  "a capture with max_packets 50 ends by itself at 50 (end_reason count)",
                  str(st))
            se = session_of(s, c.session_id)
            ck.ok(se is not None and se.packets == 50, "its session holds 50 packets", str(se))

        with ck.section("manage"):
            r = manage(d, ["start-capture", "--interface", "lo", "--backend", "pcap",
                           "--filter", "udp and dst port %d" % pd, "--json"])
            mj = r.json() if r.rc == 0 else {}
            ck.ok(r.rc == 0 and mj.get("state") == "running" and mj.get("capture_id", 0) > 0,
                  "manage start-capture --json: a running capture", r.describe())
            r = manage(d, ["status", "--json"])
            ids = [x["capture_id"] for x in (r.json().get("captures", []) if r.rc == 0 else [])]
            ck.ok(r.rc == 0 and mj.get("capture_id") in ids, "manage status --json lists it",
                  r.describe())
            send_udp(pd, 20)
            wait_packets(s, mj.get("capture_id", 0), 20)
            r = manage(d, ["stop-capture", "--capture-id", str(mj.get("capture_id", 0)),
                           "--json"])
            ck.ok(r.rc == 0 and r.json().get("packets") == 20 and
                  r.json().get("state") == "stopped",
                  "manage stop-capture --json: stopped with 20 packets", r.describe())
            r = manage(d, ["stop-capture", "--capture-id", "999"])
            ck.ok(r.rc == 4 and "NOT_FOUND" in r.err, "manage stop-capture of an unknown "
                  "capture: exit 4", r.describe())
            r = manage(d, ["start-capture", "--interface", "nosuch0"])
            ck.ok(r.rc == 3 and "interface" in r.err, "manage start-capture of an unknown "
                  "interface: exit 3 naming interface", r.describe())

        with ck.section("SIGTERM flushes a running capture"):
            pe = free_udp_port()
            e_ = s.StartCapture(pb.StartCaptureRequest(
                interface="lo", filter="udp and dst port %d" % pe, backend="pcap",
                name="ctl-term"), metadata=MD, timeout=120)
            send_udp(pe, 120)
            st = wait_packets(s, e_.capture_id, 120)
            ck.eq(st.packets, 120, "the capture has its 120 packets before SIGTERM")
            ch.close()
            sse.close()
            sse = None
            rc = d.stop()
            ck.eq(rc, 0, "serve exits 0 on SIGTERM with a capture running", d.stderr()[-2000:])
            rep = grpctest.sanitizer_report(d.stderr())
            ck.ok(not rep, "no sanitizer report", rep)
            cli = {x["session_id"]: x for x in prtest.run_json(["sessions"], db=db,
                                                                 key=RAW_KEY)[0]}
            se = cli.get(e_.session_id, {})
            ck.ok(se.get("status") == "completed" and se.get("packets") == 120,
                  "after SIGTERM the session is completed with its 120 packets", str(se))
    except (prtest.TestError, grpc.RpcError) as e:
        ck.error("capture control", e)
    finally:
        if sse:
            sse.close()
        if d.proc.poll() is None:
            d.stop()
        ck.ok(not grpctest.sanitizer_report(d.stderr()), "the daemon's log has no sanitizer "
              "report", grpctest.sanitizer_report(d.stderr()))


if __name__ == "__main__":
    main()
