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
- LiveTap: a gRPC client tapping a running capture with a BPF filter gets
  exactly the packets the filter takes, byte for byte, with their index in
  the session (QueryPackets afterwards has the same bytes there); a tap with
  a rate cap of 20/s gets no more than the cap allows and the lost_before
  of what it gets adds up with what it got to what it matched; the stream
  ends OK when the capture stops; `manage tap -w - | tshark -r -` reads a
  live pcap as it arrives, and `manage tap --json --count N` prints N
  packets; a stopped capture is FAILED_PRECONDITION, an unknown one
  NOT_FOUND, a bad filter or rate cap INVALID_ARGUMENT naming the field,
  no API key UNAUTHENTICATED;
- SIGTERM with a capture running stops it, stores what it captured, marks the
  session completed and exits 0 without a sanitizer report.
"""
import json
import os
import re
import socket
import subprocess
import sys
import threading
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


def tap_reader(it, out, stop_at=None):
    """Read a LiveTap stream into out (a list) in a thread; out[-1] is the end."""
    def run():
        try:
            for p in it:
                out.append(p)
                if stop_at and stop_at(out):
                    it.cancel()
                    break
            out.append(("end", grpc.StatusCode.OK, ""))
        except grpc.RpcError as e:
            out.append(("end", e.code(), e.details()))
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def is_end(x):
    return isinstance(x, tuple)


def wait_for(cond, limit=60):
    """Poll cond until it holds; the bound only keeps a broken daemon from hanging us."""
    end = time.monotonic() + limit
    while not cond() and time.monotonic() < end:
        time.sleep(0.05)
    return cond()


def udp_payload(pkt):
    """The UDP payload of an Ethernet (lo) IPv4 frame."""
    return bytes(pkt.data[42:])


def live_tap(d, s):
    port = free_udp_port()
    c = s.StartCapture(pb.StartCaptureRequest(
        interface="lo", filter="udp and dst port %d" % port, backend="pcap", name="ctl-tap"),
        metadata=MD, timeout=120)
    ck.eq(c.state, "running", "a capture to tap runs", str(c))
    cid = c.capture_id

    # A tap taking only the large datagrams. Marker datagrams (larger still, and
    # taken too) are sent until one comes through: from then on the tap is
    # subscribed, and what is sent next is what it must see.
    got = []
    it = s.LiveTap(pb.LiveTapRequest(capture_id=cid, filter="greater 200"), metadata=MD,
                   timeout=300)
    th = tap_reader(it, got)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    marks = 0
    while not got and marks < 600:
        sock.sendto(b"M" * 300, ("127.0.0.1", port))
        marks += 1
        time.sleep(0.05)
    ck.ok(got and not is_end(got[0]), "LiveTap: the tap delivers a marker datagram "
          "while the capture runs", str(got[:1]))
    sent_small, sent_large = [], []
    for i in range(100):
        small = b"s%05d" % i + b"." * 94
        large = b"L%05d" % i + b"#" * 194
        sock.sendto(small, ("127.0.0.1", port))
        sock.sendto(large, ("127.0.0.1", port))
        sent_small.append(small)
        sent_large.append(large)
    sock.close()
    st = wait_packets(s, cid, marks + 200)
    ck.eq(st.packets, marks + 200, "the capture stored every datagram sent")
    wait_for(lambda: sum(1 for p in got if not is_end(p) and udp_payload(p)[:1] == b"L")
             >= 100)
    pk = [p for p in got if not is_end(p)]
    large = [p for p in pk if udp_payload(p)[:1] == b"L"]
    ck.eq([udp_payload(p) for p in large], sent_large, "LiveTap with filter \"greater 200\": "
          "the 100 large datagrams, in order, byte for byte")
    ck.ok(all(udp_payload(p)[:1] in (b"L", b"M") for p in pk),
          "... and none of the small ones", str([udp_payload(p)[:8] for p in pk][:20]))
    ck.ok(all(p.lost_before == 0 for p in pk) and
          all(p.cap_len == len(p.data) and p.wire_len == len(p.data) and p.linktype == 1
              for p in pk), "... nothing lost, whole frames, Ethernet link type")

    # A second tap, capped at 20 packets/s, while 400 datagrams go by at once.
    capped = []
    it2 = s.LiveTap(pb.LiveTapRequest(capture_id=cid, max_packets_per_s=20), metadata=MD,
                    timeout=300)
    th2 = tap_reader(it2, capped)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    n = 0
    while not capped and n < 600:
        sock.sendto(b"M" * 300, ("127.0.0.1", port))
        n += 1
        time.sleep(0.05)
    t0 = time.monotonic()
    for i in range(400):
        sock.sendto(b"c%05d" % i + b"-" * 50, ("127.0.0.1", port))
    sock.close()
    before = st.packets
    st = wait_packets(s, cid, before + n + 400)
    ck.eq(st.packets, before + n + 400, "the capture stored all 400 datagrams under the cap")
    # One more marker, a second later, carries what the cap cost in lost_before.
    time.sleep(1.2)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(b"Z" * 300, ("127.0.0.1", port))
    sock.close()
    wait_for(lambda: any(not is_end(p) and udp_payload(p)[:1] == b"Z" for p in capped))
    elapsed = time.monotonic() - t0
    cp = [p for p in capped if not is_end(p)]
    in_run = [p for p in cp if udp_payload(p)[:1] in (b"c", b"Z")]
    lost = sum(p.lost_before for p in in_run)
    ck.ok(in_run and len(in_run) <= 20 + 20 * elapsed + 1,
          "LiveTap at 20 packets/s: %d of 401 delivered in %.1f s" % (len(in_run), elapsed),
          str(len(in_run)))
    ck.eq(len(in_run) + lost, 401, "... and what it got plus its lost_before counts are the "
          "401 packets it matched (trustworthy loss accounting)")

    # manage tap: a live pcap on stdout, read by tshark as it arrives.
    tsh = prtest.have("tshark")
    cmd = [prtest.pr_bin(), "manage", "--endpoint", d.endpoint, "--api-key", API_KEY, "tap",
           "--capture-id", str(cid), "--filter", "greater 120", "--count", "30", "-w", "-"]
    mp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if tsh:
        tp = subprocess.Popen(["tshark", "-r", "-", "-T", "fields", "-e", "udp.length"],
                              stdin=mp.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        mp.stdout.close()
    jp = subprocess.Popen([prtest.pr_bin(), "manage", "--endpoint", d.endpoint, "--api-key",
                           API_KEY, "tap", "--capture-id", str(cid), "--json", "--count",
                           "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    k = 0
    while (mp.poll() is None or jp.poll() is None) and k < 2000:
        sock.sendto(b"t%05d" % k + b"+" * 94, ("127.0.0.1", port))
        k += 1
        time.sleep(0.02)
    sock.close()
    mout, merr = mp.communicate(timeout=60)
    jout, jerr = jp.communicate(timeout=60)
    ck.ok(mp.returncode == 0, "manage tap -w - --count 30 exits 0", merr.decode()[-500:])
    if tsh:
        tout, terr = tp.communicate(timeout=60)
        lens = tout.decode().split()
        ck.ok(tp.returncode == 0 and len(lens) == 30 and set(lens) == {"108"},
              "tshark -r - reads the 30 packets of the live pcap (UDP length 108)",
              "%s %r %s" % (tp.returncode, lens[:5], terr.decode()[-300:]))
    else:
        print("note: no tshark: the live pcap is not read back")
    jl = [json.loads(x) for x in jout.decode().splitlines() if x.strip()]
    ck.ok(jp.returncode == 0 and len(jl) == 5 and all(x["wire_len"] >= 42 and "index" in x
                                                      for x in jl),
          "manage tap --json --count 5: five JSON packets", jerr.decode()[-300:])

    # Refusals.
    e = rpc_error(s.LiveTap, pb.LiveTapRequest(capture_id=cid, filter="((("), metadata=MD)
    ck.ok(e and e.code() == grpc.StatusCode.INVALID_ARGUMENT and "filter" in e.details(),
          "LiveTap with a bad filter: INVALID_ARGUMENT naming filter", str(e and e.details()))
    e = rpc_error(s.LiveTap, pb.LiveTapRequest(capture_id=cid, max_packets_per_s=2000000000),
                  metadata=MD)
    ck.ok(e and e.code() == grpc.StatusCode.INVALID_ARGUMENT and
          "max_packets_per_s" in e.details(), "LiveTap over the highest rate cap: "
          "INVALID_ARGUMENT naming max_packets_per_s", str(e and e.details()))
    e = rpc_error(s.LiveTap, pb.LiveTapRequest(capture_id=cid))
    ck.ok(e and e.code() == grpc.StatusCode.UNAUTHENTICATED, "LiveTap without an API key: "
          "UNAUTHENTICATED", str(e and e.code()))
    e = rpc_error(s.LiveTap, pb.LiveTapRequest(capture_id=999), metadata=MD)
    ck.ok(e and e.code() == grpc.StatusCode.NOT_FOUND, "LiveTap of an unknown capture: "
          "NOT_FOUND", str(e and e.details()))

    # Stopping the capture ends both taps with OK.
    fin = s.StopCapture(pb.StopCaptureRequest(capture_id=cid), metadata=MD, timeout=120)
    th.join(60)
    th2.join(60)
    ck.ok(got and is_end(got[-1]) and got[-1][1] == grpc.StatusCode.OK and
          capped and is_end(capped[-1]) and capped[-1][1] == grpc.StatusCode.OK,
          "stopping the capture ends its taps with OK",
          "%r %r" % (got[-1:] , capped[-1:]))
    e = rpc_error(s.LiveTap, pb.LiveTapRequest(capture_id=cid), metadata=MD)
    ck.ok(e and e.code() == grpc.StatusCode.FAILED_PRECONDITION and "stopped" in e.details(),
          "LiveTap of a stopped capture: FAILED_PRECONDITION", str(e and e.details()))

    # The index of each tapped packet is its position in the stored session.
    q = list(s.QueryPackets(pb.QueryPacketsRequest(session_id=c.session_id, include_data=True),
                            metadata=MD, timeout=120))
    ck.eq(len(q), fin.packets, "QueryPackets has the session's %d packets" % fin.packets)
    by_index = {p.index: bytes(p.data) for p in q}
    ck.ok(pk and all(by_index.get(p.index) == bytes(p.data) for p in pk),
          "each tapped packet is the stored packet at its index, byte for byte")


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

        with ck.section("live tap"):
            live_tap(d, s)

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
