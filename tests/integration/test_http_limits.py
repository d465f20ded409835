#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Abuse and transport of the HTTP server (controlplane/http in
tests/http/pr_http_testd): slowloris clients (headers trickled a byte at a
time) hold at most the per-address connection limit while other clients
are served at once; connections that send nothing are closed after the
inactivity timeout; a body announced larger than the limit is refused
with 413 before it is sent, a chunked body that grows past it has its
connection closed, huge headers and garbage request lines are refused; none of it takes
the server down. The per-key rate limit answers 429 with Retry-After per
key, and refills. TLS: HTTPS with the certificate, TLS 1.1 and plain HTTP
refused, bad certificate files stop startup with an error naming the
file; with a client CA a request without a client certificate, or with
one from another CA, is 403, one with ours is served."""
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httptest  # noqa: E402
import prtest  # noqa: E402

ck = prtest.Checks("test_http_limits")
if not httptest.have_all("curl"):
    prtest.skip("curl is not installed")
httptest.testd_bin()


def connect_from(src, port):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def closed_within(s, secs):
    """Does the server close s (or reset it) within secs? Reads and drops data."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            if not s.recv(65536):
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def raw(port, data, timeout=5):
    """Send data on a new connection; the response bytes until close or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = b""
    try:
        s.sendall(data)
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError:
        pass
    finally:
        s.close()
    return got


def health_fast(base, what):
    t0 = time.monotonic()
    r = httptest.curl(base + "/health", key=None, timeout=5)
    dt = time.monotonic() - t0
    ck.ok(r.status == 200 and dt < 1.0, "%s: /health answered in %.0f ms" % (what, dt * 1000),
          r.describe())


with prtest.tmpdir("prhttplim-") as d:
    srv = httptest.Server(args=["--open-health", "--timeout", "3", "--max-conns", "32",
                                "--max-conns-per-ip", "4", "--max-body", "65536"])
    base = srv.base
    try:
        with ck.section("slowloris and half-open connections"):
            slow = [connect_from("127.0.0.2", srv.port) for _ in range(4)]
            for s in slow:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            extra = [connect_from("127.0.0.2", srv.port) for _ in range(4)]
            ck.ok(all(closed_within(s, 2) for s in extra),
                  "past 4 connections from one address, more are closed at once")
            for s in extra:
                s.close()
            idle = [connect_from("127.0.0.3", srv.port) for _ in range(3)]
            # Trickle a header byte every second, below the 3 s timeout.
            t0 = time.monotonic()
            for i in range(5):
                for s in slow:
                    try:
                        s.sendall(b"X")
                    except OSError:
                        pass
                health_fast(base, "while 4 slowloris clients trickle (%d s)" % i)
                time.sleep(1)
            ck.ok(all(closed_within(s, 0.5) for s in idle),
                  "connections that send nothing are closed by the 3 s timeout "
                  "(%.1f s after they opened)" % (time.monotonic() - t0))
            # Once they stop trickling, the slow ones time out too.
            ck.ok(all(closed_within(s, 5) for s in slow),
                  "slowloris connections that stop are closed by the timeout")
            for s in slow + idle:
                s.close()
            health_fast(base, "after the slowloris clients")

        with ck.section("bodies, headers, garbage"):
            t0 = time.monotonic()
            got = raw(srv.port, b"POST /api/v1/captures HTTP/1.1\r\nHost: x\r\nx-api-key: " +
                      httptest.API_KEY.encode() + b"\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100000000\r\n\r\n")
            ck.ok(got.startswith(b"HTTP/1.1 413") and b"limit of 65536" in got,
                  "Content-Length of 100 MB: 413 before any body is sent (%.0f ms)" %
                  ((time.monotonic() - t0) * 1000), repr(got[:300]))
            chunk = b"a" * 32768
            body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)) + b"0\r\n\r\n"
            got = raw(srv.port, b"POST /api/v1/captures HTTP/1.1\r\nHost: x\r\nx-api-key: " +
                      httptest.API_KEY.encode() + b"\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n" + body)
            ck.ok(got == b"", "a chunked body past 64 KiB: the connection is closed",
                  repr(got[:300]))
            big = os.path.join(d, "big.json")
            with open(big, "wb") as fh:
                fh.write(b'{"interface":"' + b"e" * (1 << 20) + b'"}')
            r = httptest.curl(base + "/api/v1/captures", method="POST", data_file=big,
                              headers=["Content-Type: application/json"])
            ck.eq(r.status, 413, "curl --data-binary of 1 MiB: 413", r.describe())
            got = raw(srv.port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 300000 +
                      b"\r\n\r\n")
            ck.ok(got[:12] in (b"HTTP/1.1 431", b"HTTP/1.1 413") or got == b"",
                  "300 KB of headers: refused", repr(got[:200]))
            got = raw(srv.port, b"\x00\x01\x02GARBAGE \xff\xfe\r\n\r\n")
            ck.ok(got == b"" or got.startswith(b"HTTP/1.1 400"), "a garbage request line: "
                  "400 or closed", repr(got[:200]))
            got = raw(srv.port, b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n")
            ck.ok(got == b"" or got[9:10] in (b"4", b"5"), "an unknown HTTP version is refused",
                  repr(got[:200]))
            for i in range(20):
                raw(srv.port, b"M%d /health HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            # Clients that reset an event stream while the server writes to it.
            streams = [httptest.SSE(srv.port) for _ in range(3)]
            for s in streams:
                s.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
                s.close()
            for i in range(5):
                srv.hook("publish alert 0 {\"n\":%d}" % i)
                time.sleep(0.1)
            ck.ok(srv.alive(), "the server is still up (3 event streams reset under it; "
                  "SIGPIPE at its default)", srv.stderr())
            health_fast(base, "after the abuse")
            m = httptest.curl(base + "/metrics").body.decode()
            ck.ok('code="413"' in m, "413s are counted in /metrics")
            ck.ok('method="M1"' not in m and 'method="other"' in m,
                  "made-up methods are counted as \"other\", not one series each")
        rc, secs = srv.stop()
        ck.eq(rc, 0, "clean exit after the abuse (%.2f s)" % secs, srv.stderr())
    finally:
        srv.stop()

    with ck.section("per-key rate limit"):
        srv = httptest.Server(args=["--open-health", "--rate-limit", "2", "--burst", "5"],
                              api_keys=(httptest.API_KEY, httptest.OTHER_KEY))
        try:
            codes = [httptest.curl(srv.base + "/api/v1/stats").status for _ in range(8)]
            ck.eq(codes[:5], [200] * 5, "a burst of 5 is served")
            ck.ok(429 in codes[5:], "then 429 (%r)" % codes)
            r = httptest.curl(srv.base + "/api/v1/stats")
            if r.status == 429:
                ck.ok(r.header("retry-after") in ("1", "2"), "429 says Retry-After",
                      r.describe())
                ck.ok("rate limit" in r.json().get("message", ""), "429 is a JSON error")
            ck.eq(httptest.curl(srv.base + "/api/v1/stats", key=httptest.OTHER_KEY).status, 200,
                  "another key has its own bucket")
            ck.eq(httptest.curl(srv.base + "/health", key=None).status, 200,
                  "/health is not rate limited")
            time.sleep(1.2)
            ck.eq(httptest.curl(srv.base + "/api/v1/stats").status, 200,
                  "the bucket refills (2 per second)")
            m = httptest.curl(srv.base + "/metrics", key=httptest.OTHER_KEY).body.decode()
            ck.ok('route="/api/v1/stats",code="429"' in m, "429s are counted by route")
        finally:
            srv.stop()

    with ck.section("TLS"):
        if not httptest.have_all("openssl"):
            ck.ok(True, "openssl is not installed: TLS not tested")
        else:
            pki = httptest.make_pki(d)
            srv = httptest.Server(args=["--open-health", "--tls-cert", pki["server.pem"],
                                        "--tls-key", pki["server.key"]], scheme="https")
            try:
                r = httptest.curl(srv.base + "/api/v1/sessions", extra=["--cacert",
                                                                         pki["ca.pem"]])
                ck.eq(r.status, 503, "HTTPS with our CA: served (503: this server has no "
                      "store)", r.describe())
                r = httptest.curl(srv.base + "/health", key=None,
                                  extra=["--cacert", pki["ca.pem"]])
                ck.eq(r.status, 200, "HTTPS /health", r.describe())
                r = httptest.curl(srv.base + "/health", key=None)
                ck.ok(r.status == 0 and r.rc != 0, "HTTPS without trusting the CA fails",
                      r.describe())
                r = httptest.curl(srv.base + "/health", key=None,
                                  extra=["--cacert", pki["ca.pem"], "--tls-max", "1.1"])
                ck.ok(r.status == 0 and r.rc != 0, "TLS 1.1 is refused", r.describe())
                r = httptest.curl("http://127.0.0.1:%d/health" % srv.port, key=None,
                                  timeout=5)
                ck.ok(r.status != 200, "plain HTTP on the TLS port is not served",
                      r.describe())
                # Clients that hang up on an event stream while the server writes to it:
                # over TLS the write fails (EPIPE) and the server lives on.
                streams = [httptest.SSE(srv.port, cafile=pki["ca.pem"]) for _ in range(3)]
                ck.ok(all(s.status == 200 for s in streams), "event streams over TLS")
                for s in streams:
                    s.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                    s.close()
                for i in range(5):
                    srv.hook("publish alert 0 {\"n\":%d}" % i)
                    time.sleep(0.1)
                sse = httptest.SSE(srv.port, cafile=pki["ca.pem"], last_id=0)
                ev = sse.next(3)
                ck.ok(srv.alive() and ev is not None,
                      "after 3 TLS clients hung up mid-stream the server is up and streams "
                      "(SIGPIPE at its default)", srv.stderr())
                sse.close()
            finally:
                srv.stop()
            srv = httptest.Server(args=["--open-health", "--tls-cert", pki["server.pem"],
                                        "--tls-key", pki["server.key"], "--tls-client-ca",
                                        pki["ca.pem"]], scheme="https")
            try:
                ca = ["--cacert", pki["ca.pem"]]
                r = httptest.curl(srv.base + "/health", key=None, extra=ca)
                ck.eq(r.status, 403, "mutual TLS without a client certificate: 403",
                      r.describe())
                r = httptest.curl(srv.base + "/health", key=None,
                                  extra=ca + ["--cert", pki["client.pem"], "--key",
                                              pki["client.key"]])
                ck.eq(r.status, 200, "with our client certificate: served", r.describe())
                r = httptest.curl(srv.base + "/health", key=None,
                                  extra=ca + ["--cert", pki["rogue.pem"], "--key",
                                              pki["rogue.key"]])
                ck.ok(r.status == 403 or (r.status == 0 and r.rc != 0),
                      "with a certificate of another CA: refused", r.describe())
            finally:
                srv.stop()
            for args, words in ((["--tls-cert", os.path.join(d, "nope.pem"), "--tls-key",
                                  pki["server.key"]], ("nope.pem",)),
                                (["--tls-cert", pki["server.key"], "--tls-key",
                                  pki["server.key"]], ("CERTIFICATE",)),
                                (["--tls-cert", pki["server.pem"], "--tls-key",
                                  pki["client.key"]], ("TLS",)),
                                (["--tls-cert", pki["server.pem"]], ("both",))):
                p = subprocess.run([httptest.testd_bin(), "--http-addr", "127.0.0.1:0"] + args,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=20, env=prtest.clean_env())
                err = p.stderr.decode()
                ck.ok(p.returncode != 0 and all(w in err for w in words),
                      "bad TLS setup (%s) stops startup: %s" % (" ".join(
                          os.path.basename(a) for a in args), err.strip()), err)

ck.finish()
