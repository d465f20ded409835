#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The HTTP API with curl against every endpoint of the real server
(controlplane/http in tests/http/pr_http_testd, over a real store made by
`packetrecorder capture -r`): status codes and JSON errors with messages;
API keys as x-api-key and as Bearer, 401 without or with a wrong one,
/health open by config while the rest is not, and every refusal counted
in /metrics; the same answers as the CLI (sessions, a session, flows with
from/to/flow/limit, store figures, interfaces); pcap downloads byte for
byte what `packetrecorder export` writes, with filter, time range, limit and
format (pcapng: all but the section comment, which export extends with
its completeness summary); a JSON body parsed strictly (malformed, wrong types, unknown keys
are 400 naming the problem) and capture control answering 501 with a JSON
error since this server has none; Server-Sent Events: an event published
through the bus (by the test hook: no capture control here yet) reaches a
client within 1 s, Last-Event-ID resumes after the last event seen, a
client too far behind is told how many it lost. The server shuts down
cleanly with a stream open."""
import json
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httptest  # noqa: E402
import prtest  # noqa: E402

ck = prtest.Checks("test_http_api")
if not httptest.have_all("curl"):
    prtest.skip("curl is not installed")
prtest.pr_bin()
httptest.testd_bin()

ENDPOINTS = [
    ("GET", "/api/v1/stats"),
    ("GET", "/api/v1/interfaces"),
    ("GET", "/api/v1/sessions"),
    ("GET", "/api/v1/sessions/1"),
    ("GET", "/api/v1/sessions/1/flows"),
    ("GET", "/api/v1/sessions/1/pcap"),
    ("POST", "/api/v1/captures"),
    ("DELETE", "/api/v1/captures/1"),
    ("GET", "/api/v1/events"),
    ("GET", "/metrics"),
]


def is_error(r, status, what, words=()):
    """r is a JSON error with this status, a message, and the words in it."""
    ok = ck.eq(r.status, status, "%s: status %d" % (what, status), r.describe())
    try:
        j = r.json()
    except prtest.TestError as e:
        return ck.ok(False, "%s: JSON error body" % what, str(e))
    ok &= ck.ok(j.get("code") == status and isinstance(j.get("message"), str) and j["message"]
                and isinstance(j.get("error"), str), "%s: JSON error with code and message" % what,
                repr(j))
    ok &= ck.ok(r.header("content-type") == "application/json", "%s: application/json" % what,
                repr(r.header("content-type")))
    for w in words:
        ok &= ck.ok(w in j.get("message", ""), "%s: message says %r" % (what, w),
                    repr(j.get("message")))
    return ok


def shb_len(buf):
    """Length of the pcapng Section Header Block at the start of buf."""
    if len(buf) < 12 or buf[:4] != b"\x0a\x0d\x0d\x0a":
        raise prtest.TestError("not a pcapng file: %r" % buf[:16])
    bo = "<" if buf[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    return struct.unpack(bo + "I", buf[4:8])[0]


def metric(text, line_start):
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    return None


with prtest.tmpdir("prhttp-") as d:
    db = os.path.join(d, "s.db")
    c1 = prtest.capture_file(db, prtest.fixture("mixed.pcap"))[0]
    c2 = prtest.capture_file(db, prtest.fixture("multi_if.pcapng"))[0]
    sid, sid2 = c1["session_id"], c2["session_id"]
    srv = httptest.Server(db=db, args=["--open-health", "--heartbeat-ms", "1000",
                                       "--history", "8"])
    base = srv.base
    try:
        with ck.section("health and auth"):
            r = httptest.curl(base + "/health", key=None)
            ck.eq(r.status, 200, "/health without a key (open by config)", r.describe())
            ck.eq(r.json().get("status"), "ok", "/health says ok")
            for method, path in ENDPOINTS:
                r = httptest.curl(base + path, method=method, key=None,
                                  data=b"{}" if method == "POST" else None)
                is_error(r, 401, "%s %s without a key" % (method, path), ("API key",))
                ck.ok("Bearer" in (r.header("www-authenticate") or ""),
                      "%s %s: WWW-Authenticate Bearer" % (method, path), r.describe())
                r = httptest.curl(base + path, method=method, key=httptest.OTHER_KEY,
                                  data=b"{}" if method == "POST" else None)
                is_error(r, 401, "%s %s with a wrong key" % (method, path), ("not valid",))
            r = httptest.curl(base + "/api/v1/sessions", key=None,
                              headers=["Authorization: Bearer " + httptest.API_KEY])
            ck.eq(r.status, 200, "Authorization: Bearer KEY is accepted", r.describe())
            r = httptest.curl(base + "/api/v1/sessions", key=None,
                              headers=["Authorization: bearer   " + httptest.API_KEY])
            ck.eq(r.status, 200, "the Bearer scheme in any case, spaces before the key",
                  r.describe())
            r = httptest.curl(base + "/api/v1/sessions", key=None,
                              headers=["Authorization: Basic " + httptest.API_KEY])
            ck.eq(r.status, 401, "another scheme is no key", r.describe())
            r = httptest.curl(base + "/api/v1/sessions", key=httptest.API_KEY[:-1])
            ck.eq(r.status, 401, "a prefix of a key is refused", r.describe())
            r = httptest.curl(base + "/nope", key=None)
            ck.eq(r.status, 401, "an unknown path without a key is 401, not 404", r.describe())
            m = httptest.curl(base + "/metrics").body.decode()
            n = len(ENDPOINTS)
            ck.eq(metric(m, 'packetrecorder_auth_failures_total{api="http",reason="missing"}'),
                  float(n + 2), "auth failures without a key counted (%d endpoints + 2)" % n)
            ck.eq(metric(m, 'packetrecorder_auth_failures_total{api="http",reason="invalid"}'),
                  float(n + 1), "auth failures with a wrong key counted")
            ck.ok(metric(m, 'packetrecorder_http_requests_total{method="GET",route="/api/v1/'
                            'sessions",code="401"}') is not None,
                  "401s counted by method, route and code")

        with ck.section("docs/openapi.yaml matches what is served"):
            try:
                import yaml
            except ImportError:
                yaml = None
            if yaml is None:
                ck.ok(True, "python3-yaml is not installed: docs/openapi.yaml not read")
            else:
                with open(os.path.join(prtest.SOURCE_DIR, "docs", "openapi.yaml")) as fh:
                    api = yaml.safe_load(fh)
                documented = {(m.upper(), p) for p, ops in api["paths"].items()
                              for m in ops if m in ("get", "post", "delete", "put", "patch")}
                served = {(m, p.replace("/1", "/{id}", 1)) for m, p in ENDPOINTS}
                served.add(("GET", "/health"))
                ck.eq(sorted(documented), sorted(served),
                      "every documented path and method is served, and nothing else")
                for m, p in sorted(documented):
                    if p == "/api/v1/events":
                        continue  # a stream: checked below
                    r = httptest.curl(base + p.replace("{id}", str(sid)), method=m,
                                      data=b"{}" if m == "POST" else None)
                    ck.ok(r.status not in (404, 405),
                          "%s %s is answered (%d)" % (m, p, r.status), r.describe())

        with ck.section("routes and errors"):
            is_error(httptest.curl(base + "/nope"), 404, "unknown path")
            is_error(httptest.curl(base + "/api/v1/sessions/"), 404, "empty session id")
            is_error(httptest.curl(base + "/api/v1/sessions/1/nope"), 404, "unknown sub-resource")
            is_error(httptest.curl(base + "/api/v1/sessions/abc"), 400, "non-numeric id",
                     ("abc",))
            is_error(httptest.curl(base + "/api/v1/sessions/0"), 400, "id 0")
            is_error(httptest.curl(base + "/api/v1/sessions/99999999999999999999"), 400,
                     "id beyond int64")
            is_error(httptest.curl(base + "/api/v1/sessions/424242"), 404, "no such session",
                     ("424242",))
            is_error(httptest.curl(base + "/api/v1/sessions/424242/flows"), 404,
                     "flows of no such session")
            is_error(httptest.curl(base + "/api/v1/sessions/424242/pcap"), 404,
                     "pcap of no such session")
            r = httptest.curl(base + "/api/v1/sessions", method="POST", data=b"{}")
            is_error(r, 405, "POST on a GET route", ("GET",))
            ck.eq(r.header("allow"), "GET, HEAD", "405 says Allow: GET, HEAD")
            r = httptest.curl(base + "/api/v1/captures", method="GET")
            is_error(r, 405, "GET on the captures route")
            ck.eq(r.header("allow"), "POST", "405 says Allow: POST")
            r = httptest.curl(base + "/api/v1/sessions", method="HEAD")
            ck.eq(r.status, 200, "HEAD on a GET route", r.describe())
            for q, words in (("from=yesterday", ("from",)), ("to=2024-13-01T00:00:00Z", ("to",)),
                             ("limit=-1", ("limit",)), ("flow=x", ("flow",))):
                is_error(httptest.curl(base + "/api/v1/sessions/%d/flows?%s" % (sid, q)), 400,
                         "flows?%s" % q, words)
            is_error(httptest.curl(base + "/api/v1/sessions/%d/flows?from=2000&to=1000" % sid),
                     400, "flows with from after to")
            is_error(httptest.curl(base + "/api/v1/sessions/%d/pcap?filter=tcp%%20and%%20and" %
                                   sid), 400, "pcap with a bad filter", ("filter",))
            long_filter = "%20or%20".join("portrange%%20%d-%d" % (i, i + 5) for i in range(1, 200))
            is_error(httptest.curl(base + "/api/v1/sessions/%d/pcap?filter=%s" % (sid, long_filter)),
                     400, "pcap with a filter over 1023 bytes", ("more than 1023",))
            is_error(httptest.curl(base + "/api/v1/sessions/%d/pcap?format=jpeg" % sid), 400,
                     "pcap with a bad format", ("jpeg",))
            is_error(httptest.curl(base + "/api/v1/sessions/%d/pcap?format=pcap" % sid2), 400,
                     "pcap of a session with several link types", ("pcapng",))

        with ck.section("the same answers as the CLI"):
            cli = prtest.sessions(db)
            r = httptest.curl(base + "/api/v1/sessions")
            ck.eq(r.status, 200, "GET /api/v1/sessions", r.describe())
            ck.eq(r.json(), cli, "sessions: as `packetrecorder sessions --json`")
            r = httptest.curl(base + "/api/v1/sessions/%d" % sid)
            ck.eq(r.json(), [s for s in cli if s["session_id"] == sid][0],
                  "sessions/{id}: that session's object")
            for q, opts in (("", []), ("limit=3", ["--limit", "3"]),
                            ("flow=2", ["--flow", "2"]),
                            ("from=1700000000300000000", ["--from", "1700000000300000000"]),
                            ("to=2023-11-14T22:13:20.4Z", ["--to", "2023-11-14T22:13:20.4Z"])):
                want = prtest.run_json(["flows", "--session", sid] + opts, db=db)[0]
                r = httptest.curl(base + "/api/v1/sessions/%d/flows?%s" % (sid, q))
                ck.eq(r.status, 200, "flows?%s: 200" % q, r.describe())
                ck.eq(r.json(), want, "flows?%s: as `flows %s --json` (%d flows)" %
                      (q, " ".join(opts), len(want)))
            info = prtest.run_json(["store-info"], db=db)[0]
            r = httptest.curl(base + "/api/v1/stats")
            st = r.json().get("store") or {}
            for k in ("mode", "encrypted", "sessions", "packets", "oldest_packet_ts",
                      "newest_packet_ts", "running_sessions", "retention_days"):
                ck.eq(st.get(k), info.get(k), "stats.store.%s as `store-info --json`" % k)
            ck.ok(isinstance(r.json().get("uptime_s"), float), "stats has uptime_s")
            want = sorted(i["name"] for i in prtest.run_json(["list-interfaces"], key=None)[0])
            r = httptest.curl(base + "/api/v1/interfaces")
            ck.eq(sorted(i["name"] for i in r.json()), want,
                  "interfaces: as `list-interfaces --json`")

        with ck.section("a burst of concurrent requests"):
            # 30 at once (the per-address cap is 32) against a pool of 8 store readers:
            # they wait their turn.
            cfg = os.path.join(d, "burst.curl")
            with open(cfg, "w") as fh:
                fh.write('header = "x-api-key: %s"\n' % httptest.API_KEY)
                for i in range(30):
                    fh.write('url = "%s/api/v1/sessions/%d"\noutput = "%s/burst.%d"\n'
                             'write-out = "%%{http_code}\\n"\n' % (base, sid, d, i))
            p = subprocess.run(["curl", "-sS", "--parallel", "--parallel-max", "30",
                                "--parallel-immediate", "-K", cfg], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            codes = p.stdout.decode().split()
            ck.eq(codes, ["200"] * 30, "30 concurrent requests, 8 store readers: all 200",
                  p.stderr.decode()[-500:])

        with ck.section("pcap downloads"):
            for fmt, extra, q in (("pcap", [], ""),
                                  ("pcap", ["--filter", "tcp port 80"], "filter=tcp%20port%2080"),
                                  ("pcap", ["--filter", "udp"], "filter=udp&format=pcap"),
                                  ("pcap", ["--from", "1700000000300000000", "--to",
                                            "1700000000500000000"],
                                   "from=1700000000300000000&to=1700000000500000000"),
                                  ("pcap", ["--limit", "5"], "limit=5"),
                                  ("pcapng", [], "format=pcapng"),
                                  ("pcapng", ["--filter", "icmp"], "format=pcapng&filter=icmp")):
                out = os.path.join(d, "cli.%s" % fmt)
                if os.path.exists(out):
                    os.unlink(out)
                prtest.run_json(["export", "--session", sid, "--output", out, "--format", fmt] +
                                extra, db=db)
                got = os.path.join(d, "http.%s" % fmt)
                r = httptest.curl(base + "/api/v1/sessions/%d/pcap?%s" % (sid, q), out=got)
                ck.eq(r.status, 200, "pcap?%s: 200" % q, r.describe())
                with open(out, "rb") as fh:
                    a = fh.read()
                with open(got, "rb") as fh:
                    b = fh.read()
                if fmt == "pcap":
                    ck.ok(a == b, "pcap?%s: byte for byte `export --format pcap %s` (%d bytes)" %
                          (q, " ".join(extra), len(a)),
                          "http %d bytes, export %d bytes" % (len(b), len(a)))
                    continue
                # pcapng: export's section comment adds its completeness summary; the
                # download's names the session as gRPC's does. Everything after the
                # section header block (interfaces, packets) is byte for byte the same.
                shb_a, shb_b = shb_len(a), shb_len(b)
                ck.ok(a[shb_a:] == b[shb_b:] and len(a) > shb_a,
                      "pcapng?%s: after the section header, byte for byte `export --format "
                      "pcapng %s` (%d bytes)" % (q, " ".join(extra), len(a) - shb_a),
                      "http %d bytes after %d, export %d after %d" % (
                          len(b) - shb_b, shb_b, len(a) - shb_a, shb_a))
                ck.ok(('packetrecorder session %d "mixed.pcap"' % sid).encode() in b[:shb_b],
                      "pcapng?%s: the section comment names the session" % q)
            r = httptest.curl(base + "/api/v1/sessions/%d/pcap" % sid)
            ck.ok("attachment" in (r.header("content-disposition") or ""),
                  "a download is an attachment", r.describe())
            ck.eq(r.header("transfer-encoding"), "chunked",
                  "a download is streamed (chunked), not sized up front")

        with ck.section("request bodies and capture control"):
            for body, status, words, what in (
                    (b'{"interface": "eth0"', 400, ("not JSON",), "truncated JSON"),
                    (b'{"interface": "eth0"} x', 400, ("not JSON",), "text after the JSON"),
                    (b"\xff\xfe{}", 400, ("not JSON",), "not UTF-8"),
                    (b"[1,2]", 400, ("object",), "an array"),
                    (b'{"interface": 5}', 400, ("interface",), "a number for a string"),
                    (b'{"interface": "eth0", "filer": "tcp"}', 400, ("filer",),
                     "an unknown key"),
                    (b'{"interface": "eth0", "max_packets": -1}', 400, ("max_packets",),
                     "a negative count"),
                    (b'{"interface": "eth0", "duration_s": 1.5}', 400, ("duration_s",),
                     "a fraction for a count"),
                    (b'{"filter": "tcp"}', 400, ("interface",), "no interface"),
                    (b"", 400, ("not JSON",), "an empty body"),
                    (b'{"interface": "eth0", "filter": "tcp", "max_packets": 10}', 501,
                     ("capture control",), "a good request: no capture control here")):
                r = httptest.curl(base + "/api/v1/captures", method="POST", data=body,
                                  headers=["Content-Type: application/json"])
                is_error(r, status, "POST captures, %s" % what, words)
            r = httptest.curl(base + "/api/v1/captures", method="POST", data=b"{}",
                              headers=["Content-Type: text/plain"])
            is_error(r, 415, "POST captures as text/plain")
            is_error(httptest.curl(base + "/api/v1/captures/7", method="DELETE"), 501,
                     "DELETE captures/7: no capture control here", ("capture control",))
            is_error(httptest.curl(base + "/api/v1/captures/x", method="DELETE"), 400,
                     "DELETE captures/x")
            ck.ok(srv.alive(), "the server is still up after every bad body")

        with ck.section("server-sent events"):
            sse = httptest.SSE(srv.port)
            ck.eq(sse.status, 200, "GET /api/v1/events: 200")
            ck.eq(sse.ctype, "text/event-stream", "events are text/event-stream")
            time.sleep(0.2)
            t0 = time.monotonic()
            seq = int(srv.hook('publish capture_started %d {"interface":"veth0","backend":'
                               '"pcap"}' % sid).split()[1])
            ev = sse.next(1.0)
            dt = time.monotonic() - t0
            ck.ok(ev is not None and ev.get("event") == "capture_started",
                  "capture_started reaches the client within 1 s (%.1f ms)" % (dt * 1000),
                  repr(ev))
            if ev:
                ck.eq(int(ev["id"]), seq, "the event's id is its number")
                ck.eq(ev["json"].get("data"), {"interface": "veth0", "backend": "pcap"},
                      "the event's data")
                ck.eq(ev["json"].get("session_id"), sid, "the event's session")
            for i in range(3):
                srv.hook('publish drops %d {"n":%d}' % (sid, i))
            got = [sse.next(2.0) for _ in range(3)]
            ck.eq([int(e["json"]["data"]["n"]) for e in got if e], [0, 1, 2],
                  "three more events, in order")
            last = int(got[1]["id"]) if got[1] else 0
            ev = sse.next(2.5)
            ck.ok(ev is None, "no event while nothing is published (heartbeats are comments)")
            sse.close()
            # Resume after the second of the three: the third comes again, then new ones.
            sse = httptest.SSE(srv.port, last_id=last)
            ev = sse.next(2.0)
            ck.ok(ev and int(ev["id"]) == last + 1 and ev["json"]["data"] == {"n": 2},
                  "Last-Event-ID resumes after the last event seen", repr(ev))
            srv.hook('publish alert 0 {"sig":"x"}')
            ev = sse.next(2.0)
            ck.ok(ev and ev.get("event") == "alert", "then the new ones", repr(ev))
            sse.close()
            # Too far behind: the bus keeps 8 (--history 8).
            for i in range(12):
                srv.hook('publish drops 0 {"burst":%d}' % i)
            sse = httptest.SSE(srv.port, last_id=last)
            ev = sse.next(2.0)
            ck.ok(ev and ev.get("event") == "lost" and ev["json"]["lost"] > 0 and "id" not in ev,
                  "a client too far behind is told how many it lost (no id on the notice)",
                  repr(ev))
            ev = sse.next(2.0)
            ck.ok(ev and ev.get("event") == "drops", "then the oldest event still kept",
                  repr(ev))
            sse.close()
            r = httptest.curl(base + "/api/v1/events", headers=["Last-Event-ID: abc"])
            is_error(r, 400, "Last-Event-ID that is not a number")
            r = httptest.curl(base + "/api/v1/events?types=capture_started,bogus")
            is_error(r, 400, "types with an unknown type", ("bogus",))
            sse = httptest.SSE(srv.port, path="/api/v1/events?types=capture_stopped")
            srv.hook("publish alert 0 {}")
            srv.hook('publish capture_stopped %d {"reason":"eof"}' % sid)
            ev = sse.next(2.0)
            ck.ok(ev and ev.get("event") == "capture_stopped", "?types= filters the stream",
                  repr(ev))
            m = httptest.curl(base + "/metrics").body.decode()
            ck.eq(metric(m, "packetrecorder_event_subscribers"), 1.0,
                  "the open stream is counted as a subscriber")
            # Shut down with that stream open: it ends, the process exits 0.
            rc, secs = srv.stop()
            ck.eq(rc, 0, "clean exit with an event stream open (%.2f s)" % secs, srv.stderr())
            ck.ok(sse.next(3.0) is None, "the stream ended at shutdown")
            sse.close()
    finally:
        srv.stop()

ck.finish()
