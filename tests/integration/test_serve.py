#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`packetrecorder serve` as a daemon: its life, not its API.

Startup refuses, with an error naming the cause: an unknown config key or a
bad value (naming the key), a non-loopback address without API keys (unless
--insecure-no-auth), a second daemon on the same store (the lock names the
first one's pid), a port in use, a wrong store key (exit 2), TLS with a
certificate but no key or a key of another certificate. It tells systemd
READY=1 (then RELOADING=1/READY=1 on SIGHUP and STOPPING=1 on SIGTERM) over
$NOTIFY_SOCKET, path and abstract. SIGTERM ends open streams with UNAVAILABLE
and a Watch with NOT_SERVING, cancels a stalled one after shutdown_grace_ms,
and leaves a store that verifies, with its lock free for the next daemon;
SIGINT stops it too. TLS with certificates made here by openssl: a verified
client is served, plaintext and an unknown CA are not; mTLS refuses a client
without a certificate and serves one with; `manage --tls-ca` and mTLS work;
SIGHUP makes new connections get a renewed certificate. One daemon serves
gRPC and HTTP with the same keys, answers the CLI's sessions on both, and
counts gRPC calls and refused keys of both in /metrics. The systemd unit in
configs/ passes `systemd-analyze verify`.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import RAW_KEY  # noqa: E402
import grpctest  # noqa: E402
from grpctest import Daemon, grpc, rpc_error  # noqa: E402

ck = prtest.Checks("test_serve")
pb, pbg, hpb, hpbg = grpctest.stubs()
API_KEY = "serve-test-key-0123456789"


def serve_run(db, args, env=None, key=RAW_KEY, timeout=30):
    """A serve that must not start: its exit and stderr."""
    e = {"PACKETRECORDER_DB_KEY": key} if key else {}
    e.update(env or {})
    return prtest.run(["serve", "-d", db] + list(args), key=None, env=e, timeout=timeout)


def stop_clean(d, what):
    rc = d.stop()
    ck.eq(rc, 0, "%s: exit 0" % what, d.stderr()[-2000:])
    rep = grpctest.sanitizer_report(d.stderr())
    ck.ok(not rep, "%s: no sanitizer report" % what, rep)


def part_refusals(db, tmp):
    conf = os.path.join(tmp, "bad.conf")
    with open(conf, "w") as fh:
        fh.write("grpc_threads = 2\ngrpc_max_streamz = 5\n")
    r = serve_run(db, ["--grpc-addr", "127.0.0.1:0", "--config", conf])
    ck.ok(r.rc == 3 and "grpc_max_streamz" in r.err and ":2:" in r.err,
          "an unknown config key stops startup naming it and its line", r.describe())
    with open(conf, "w") as fh:
        fh.write("grpc_max_streams = 0\n")
    r = serve_run(db, ["--grpc-addr", "127.0.0.1:0", "--config", conf])
    ck.ok(r.rc == 3 and "grpc_max_streams" in r.err and "bad value" in r.err,
          "a bad value stops startup naming the key", r.describe())
    r = serve_run(db, ["--grpc-addr", "0.0.0.0:0"])
    ck.ok(r.rc == 3 and "0.0.0.0:0" in r.err and "--insecure-no-auth" in r.err,
          "a non-loopback address without API keys is refused", r.describe())
    r = serve_run(db, ["--grpc-addr", ":0"])
    ck.ok(r.rc == 3 and "--insecure-no-auth" in r.err, "... \":PORT\" (every address) too",
          r.describe())
    r = serve_run(db, ["--grpc-addr", "127.0.0.1:0"], env={"PACKETRECORDER_API_KEY": "short"})
    ck.ok(r.rc == 3 and "PACKETRECORDER_API_KEY" in r.err and "short" not in r.err,
          "a short API key is refused, naming its variable, never showing it", r.describe())
    r = serve_run(db, ["--grpc-addr", "off"])
    ck.ok(r.rc == 3 and "both servers are off" in r.err, "no server at all is refused",
          r.describe())
    r = serve_run(db, ["--grpc-addr", "127.0.0.1:0", "--http-addr", "0.0.0.0:0"])
    ck.ok(r.rc == 3 and "http_addr" in r.err and "--insecure-no-auth" in r.err,
          "an HTTP address other machines reach, without keys, is refused too", r.describe())
    r = serve_run(db, ["--grpc-addr", "127.0.0.1:0"], key="wrong key")
    ck.ok(r.rc == 2, "a wrong store key: exit 2", r.describe())
    r = serve_run(db, ["--grpc-addr", "127.0.0.1:0", "--tls-cert", "/etc/hostname"])
    ck.ok(r.rc == 3 and "tls_key" in r.err, "a TLS certificate without a key is refused",
          r.describe())
    r = serve_run(db, ["--grpc-addr", "nonsense"])
    ck.ok(r.rc != 0 and "nonsense" in r.err, "an address that is none is refused",
          r.describe())
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    port = held.getsockname()[1]
    r = serve_run(db, ["--grpc-addr", "127.0.0.1:%d" % port])
    ck.ok(r.rc != 0 and "127.0.0.1:%d" % port in r.err and "in use" in r.err,
          "a port in use is refused, naming the address", r.describe())
    held.close()

    d = Daemon(db, addr="0.0.0.0:0", args=["--insecure-no-auth"])
    try:
        ck.ok("--insecure-no-auth" in d.stderr() and "anyone who reaches it" in d.stderr(),
              "--insecure-no-auth serves every address, with a warning")
        r = serve_run(db, ["--grpc-addr", "127.0.0.1:0"])
        ck.ok(r.rc == 1 and "one daemon per store" in r.err and
              "pid %d" % d.proc.pid in r.err,
              "a second daemon on the same store is refused, naming the first", r.describe())
    finally:
        stop_clean(d, "insecure daemon")
    d = Daemon(db, addr="0.0.0.0:0", env={"PACKETRECORDER_API_KEY": API_KEY})
    ck.ok("API keys required" in d.stderr(), "with a key every address is served")
    stop_clean(d, "keyed daemon")


def notify_socket(tmp, abstract):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "@prtest-notify-%d" % os.getpid()
        s.bind("\0" + name[1:])
    else:
        name = os.path.join(tmp, "notify.sock")
        s.bind(name)
    s.settimeout(30)
    return s, name


def recv_until(s, want, timeout=30):
    got = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            msg = s.recv(4096).decode("utf-8", "replace")
        except socket.timeout:
            break
        got.append(msg)
        if want in msg:
            break
    return got


def part_notify(db, tmp):
    for abstract in (False, True):
        how = "abstract" if abstract else "path"
        s, name = notify_socket(tmp, abstract)
        d = Daemon(db, env={"NOTIFY_SOCKET": name}, wait=False)
        try:
            got = recv_until(s, "READY=1")
            ready = [m for m in got if "READY=1" in m]
            d.wait_ready()
            ck.ok(ready and "MAINPID=%d" % d.proc.pid in ready[0] and "STATUS=" in ready[0],
                  "sd_notify (%s socket): READY=1 with MAINPID and STATUS" % how, repr(got))
            d.send_signal(signal.SIGHUP)
            got = recv_until(s, "READY=1")
            ck.ok(any("RELOADING=1" in m for m in got) and "READY=1" in got[-1],
                  "SIGHUP: RELOADING=1, then READY=1 (%s)" % how, repr(got))
            d.send_signal(signal.SIGTERM)
            got = recv_until(s, "STOPPING=1")
            ck.ok(any("STOPPING=1" in m for m in got), "SIGTERM: STOPPING=1 (%s)" % how,
                  repr(got))
        finally:
            stop_clean(d, "notify " + how)
            s.close()
            if not abstract:
                os.unlink(name)


def part_shutdown(db, sids, tmp):
    conf = os.path.join(tmp, "grace.conf")
    with open(conf, "w") as fh:
        fh.write("shutdown_grace_ms = 5000\n")
    d = Daemon(db, args=["--config", conf])
    results = {}
    child = None
    try:
        ch = d.channel()
        s = pbg.PacketRecorderStub(ch)
        hs = hpbg.HealthStub(ch)
        watch = hs.Watch(hpb.HealthCheckRequest())
        ck.eq(next(watch).status, hpb.HealthCheckResponse.SERVING, "Watch: SERVING first")
        # A client that reads 1 KiB chunks of a 61 MB download at 1 MB/s: the
        # daemon cannot have sent it all when it stops. Its window is held at 64 KiB so
        # that what is in flight when the status comes is read at once, even on a
        # loaded machine.
        rch = d.channel(options=[("grpc.http2.lookahead_bytes", 65536),
                                 ("grpc.http2.bdp_probe", 0)])
        reading = pbg.PacketRecorderStub(rch).DownloadPcap(pb.DownloadPcapRequest(session_id=sids["big"],
                                                        chunk_bytes=1024))
        next(reading)
        # A client that stops reading its socket altogether: a process stopped with
        # SIGSTOP in the middle of a 61 MB download (its transport holds the daemon back).
        script = ("import sys, grpc; sys.path[:0] = %r; import packetrecorder_pb2 as pb, "
                  "packetrecorder_pb2_grpc as g\n"
                  "s = g.PacketRecorderStub(grpc.insecure_channel(%r))\n"
                  "it = s.DownloadPcap(pb.DownloadPcapRequest(session_id=%d, "
                  "chunk_bytes=65536))\n"
                  "next(it); print('reading', flush=True)\n"
                  "for c in it: pass\n"
                  % ([p for p in sys.path if "prgrpc-stubs" in p], d.endpoint, sids["big"]))
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                 env=prtest.clean_env())
        ck.ok(b"reading" in child.stdout.readline(), "a client process reads a download")
        child.send_signal(signal.SIGSTOP)

        def read_all(name, it):
            try:
                for m in it:
                    if name == "watch":
                        results.setdefault("watch_msgs", []).append(m.status)
                    else:
                        # At most 1 MB/s: the download cannot end before the
                        # stop on a fast machine, and a 64 KiB window still
                        # drains in well under a second.
                        time.sleep(0.001)
                results[name] = "OK"
            except grpc.RpcError as e:
                results[name] = (e.code(), e.details())

        threads = [threading.Thread(target=read_all, args=("reading", reading)),
                   threading.Thread(target=read_all, args=("watch", watch))]
        for t in threads:
            t.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        d.send_signal(signal.SIGTERM)
        rc = d.stop(timeout=60)
        took = time.monotonic() - t0
        for t in threads:
            t.join(30)
        ck.eq(rc, 0, "SIGTERM with open streams: exit 0")
        ck.ok(results.get("reading", ("",))[0] == grpc.StatusCode.UNAVAILABLE and
              "shutting down" in results["reading"][1],
              "a stream being read ends with UNAVAILABLE: shutting down", repr(results))
        ck.ok(results.get("watch_msgs") == [hpb.HealthCheckResponse.NOT_SERVING] and
              results.get("watch", ("",))[0] == grpc.StatusCode.UNAVAILABLE,
              "a health Watch gets NOT_SERVING, then UNAVAILABLE", repr(results))
        ck.ok(4.5 < took < 30, "a stalled client holds the stop for shutdown_grace_ms "
              "(5 s), then its call is cancelled: stopped in %.1f s" % took)
        ck.ok("cancelling them" in d.stderr(), "the log says calls were cancelled",
              d.stderr()[-1500:])
        rep = grpctest.sanitizer_report(d.stderr())
        ck.ok(not rep, "no sanitizer report after a stop with open streams", rep)
        ch.close()
        rch.close()
    finally:
        d.kill()
        if child:
            child.kill()
            child.wait()
    r = prtest.run(["verify", "--json"], db=db, key=RAW_KEY, timeout=300)
    ck.ok(r.rc == 0 and r.json().get("ok"), "the store verifies after the stop", r.describe())
    r = prtest.run(["sessions", "--json"], db=db, key=RAW_KEY)
    ck.ok(r.rc == 0 and all(x["status"] != "running" for x in r.json()),
          "no session is left running")
    d = Daemon(db)
    ck.ok(d.port, "the lock is free: the next daemon starts")
    stop_clean(d, "next daemon")
    d = Daemon(db)
    rc = d.stop(sig=signal.SIGINT)
    ck.ok(rc == 0 and "SIGINT: stopping" in d.stderr(), "SIGINT stops it too", d.stderr())


def openssl(*args):
    p = subprocess.run(["openssl"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=prtest.clean_env(), timeout=60)
    if p.returncode != 0:
        raise prtest.TestError("openssl %s: %s" % (" ".join(args), p.stderr.decode()))
    return p.stdout


def make_ca(tmp, name):
    key, crt = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".crt")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + name)
    return key, crt


def make_cert(tmp, name, ca, server, serial):
    key, csr = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".csr")
    crt, ext = os.path.join(tmp, name + ".crt"), os.path.join(tmp, name + ".ext")
    with open(ext, "w") as fh:
        if server:
            fh.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        else:
            fh.write("extendedKeyUsage=clientAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-set_serial",
            str(serial), "-out", crt, "-days", "2", "-extfile", ext)
    return key, crt


def read(path):
    with open(path, "rb") as fh:
        return fh.read()


def cert_serial(port):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-servername", "localhost", "-alpn", "h2"], input=b"",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    pem = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", p.stdout,
                    re.S)
    if not pem:
        return None
    q = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem.group(0),
                       stdout=subprocess.PIPE, timeout=30)
    return q.stdout.decode().strip()


def part_tls(db, tmp):
    if not prtest.have("openssl"):
        prtest.skip("no openssl")
    ca = make_ca(tmp, "ca")
    other_ca = make_ca(tmp, "otherca")
    client_ca = make_ca(tmp, "clientca")
    srv = make_cert(tmp, "server", ca, True, 4097)
    cli = make_cert(tmp, "client", client_ca, False, 8193)
    tls_dir = os.path.join(tmp, "tls")
    os.mkdir(tls_dir)
    cert, key = os.path.join(tls_dir, "server.crt"), os.path.join(tls_dir, "server.key")
    shutil.copy(srv[1], cert)
    shutil.copy(srv[0], key)
    opts = [("grpc.ssl_target_name_override", "localhost")]

    r = serve_run(db, ["--grpc-addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key",
                       ca[0]])
    ck.ok(r.rc == 3 and ca[0] in r.err and "is not the key of" in r.err,
          "a key of another certificate is refused, naming both files", r.describe())
    r = serve_run(db, ["--grpc-addr", "127.0.0.1:0", "--tls-cert", "/etc/hostname",
                       "--tls-key", key])
    ck.ok(r.rc == 3 and "/etc/hostname" in r.err, "a certificate file that is none is refused",
          r.describe())

    d = Daemon(db, args=["--tls-cert", cert, "--tls-key", key])
    try:
        ck.ok("TLS" in d.stderr(), "serve --tls-cert --tls-key listens with TLS")
        good = grpc.ssl_channel_credentials(root_certificates=read(ca[1]))
        ch = d.channel(good, opts)
        s = pbg.PacketRecorderStub(ch)
        ck.eq(s.Health(pb.HealthRequest(), timeout=20).status, "SERVING",
              "a client that checks the daemon against its CA is served")
        ch.close()
        ch = d.channel()
        e = rpc_error(pbg.PacketRecorderStub(ch).Health, pb.HealthRequest(), timeout=10)
        ck.eq(e.code() if e else None, grpc.StatusCode.UNAVAILABLE,
              "a plaintext client gets nothing")
        ch.close()
        bad = grpc.ssl_channel_credentials(root_certificates=read(other_ca[1]))
        ch = d.channel(bad, opts)
        e = rpc_error(pbg.PacketRecorderStub(ch).Health, pb.HealthRequest(), timeout=10)
        ck.eq(e.code() if e else None, grpc.StatusCode.UNAVAILABLE,
              "a client that trusts another CA does not connect")
        ch.close()
        r = prtest.run(["manage", "--endpoint", d.endpoint, "--tls-ca", ca[1],
                        "--tls-server-name", "localhost", "sessions", "--json"], key=None)
        ck.ok(r.rc == 0 and len(r.json()) >= 1, "manage --tls-ca answers over TLS",
              r.describe())
        # Rotation: new files, SIGHUP, new connections get the new certificate.
        before = cert_serial(d.port)
        new = make_cert(tmp, "server2", ca, True, 4098)
        shutil.copy(new[1], cert)
        shutil.copy(new[0], key)
        mark = len(d.stderr())
        d.send_signal(signal.SIGHUP)
        d.wait_log("reload:", after=mark)
        after = cert_serial(d.port)
        ck.ok(before and after and before != after and after.endswith("1002"),
              "SIGHUP: new connections get the renewed certificate (%s -> %s)"
              % (before, after))
        ch = d.channel(good, opts)
        ck.eq(pbg.PacketRecorderStub(ch).Health(pb.HealthRequest(), timeout=20).status,
              "SERVING", "... which clients accept")
        ch.close()
    finally:
        stop_clean(d, "TLS daemon")

    d = Daemon(db, args=["--tls-cert", cert, "--tls-key", key, "--tls-client-ca",
                         client_ca[1]])
    try:
        ch = d.channel(grpc.ssl_channel_credentials(root_certificates=read(ca[1])), opts)
        e = rpc_error(pbg.PacketRecorderStub(ch).Health, pb.HealthRequest(), timeout=10)
        ck.eq(e.code() if e else None, grpc.StatusCode.UNAVAILABLE,
              "mTLS: a client without a certificate is refused")
        ch.close()
        creds = grpc.ssl_channel_credentials(root_certificates=read(ca[1]),
                                             private_key=read(cli[0]),
                                             certificate_chain=read(cli[1]))
        ch = d.channel(creds, opts)
        ck.eq(pbg.PacketRecorderStub(ch).Health(pb.HealthRequest(), timeout=20).status,
              "SERVING", "mTLS: a client with a certificate of the client CA is served")
        ch.close()
        wrong = make_cert(tmp, "client-other", other_ca, False, 12)
        creds = grpc.ssl_channel_credentials(root_certificates=read(ca[1]),
                                             private_key=read(wrong[0]),
                                             certificate_chain=read(wrong[1]))
        ch = d.channel(creds, opts)
        e = rpc_error(pbg.PacketRecorderStub(ch).Health, pb.HealthRequest(), timeout=10)
        ck.eq(e.code() if e else None, grpc.StatusCode.UNAVAILABLE,
              "mTLS: a certificate of another CA is refused")
        ch.close()
        r = prtest.run(["manage", "--endpoint", d.endpoint, "--tls-ca", ca[1],
                        "--tls-server-name", "localhost", "--tls-cert", cli[1], "--tls-key",
                        cli[0], "health"], key=None)
        ck.rc(r, 0, "manage with a client certificate over mTLS")
        r = prtest.run(["manage", "--endpoint", d.endpoint, "--tls-ca", ca[1],
                        "--tls-server-name", "localhost", "--timeout", "5", "health"], key=None)
        ck.ok(r.rc == 1, "manage without one is refused", r.describe())
    finally:
        stop_clean(d, "mTLS daemon")


def http_get(port, path, key=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
    if key:
        req.add_header("x-api-key", key)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def part_http(db):
    d = Daemon(db, args=["--http-addr", "127.0.0.1:0"],
               env={"PACKETRECORDER_API_KEY": API_KEY})
    try:
        m = re.search(r"serve: http: listening on \S+ \(port (\d+)", d.stderr())
        ck.ok(m and "API keys required" in d.stderr()[m.start():],
              "one daemon serves gRPC and HTTP, both asking for keys", d.stderr())
        hp = int(m.group(1))
        st, body = http_get(hp, "/api/v1/sessions")
        ck.eq(st, 401, "HTTP without a key: 401 (the same keys as gRPC)")
        st, body = http_get(hp, "/api/v1/sessions", API_KEY)
        want = prtest.run_json(["sessions"], db=db, key=RAW_KEY)[0]
        ck.ok(st == 200 and json.loads(body) == want,
              "HTTP /api/v1/sessions is `sessions --json`", body[:300])
        ch = d.channel()
        s = pbg.PacketRecorderStub(ch)
        got = [grpctest.to_dict(x) for x in s.ListSessions(
            pb.ListSessionsRequest(), metadata=[("x-api-key", API_KEY)]).sessions]
        ck.eq(got, want, "... and gRPC ListSessions, from the same daemon")
        rpc_error(s.ListSessions, pb.ListSessionsRequest())
        ch.close()
        st, body = http_get(hp, "/metrics", API_KEY)
        text = body.decode()
        ck.ok(st == 200 and re.search(r'packetrecorder_grpc_requests_total\{method="/packetrecorder'
                                      r'\.v1\.PacketRecorder/ListSessions",code="OK"\} 1', text),
              "/metrics counts the gRPC call", text[:2000])
        ck.ok(re.search(r'packetrecorder_auth_failures_total\{api="grpc",reason="missing"\} 1',
                        text) and
              re.search(r'packetrecorder_auth_failures_total\{api="http",reason="missing"\} 1',
                        text),
              "... and the refused keys of both servers", text[:3000])
    finally:
        stop_clean(d, "gRPC and HTTP daemon")


def part_unit(tmp):
    unit = os.path.join(prtest.SOURCE_DIR, "configs", "packetrecorder.service")
    if not prtest.have("systemd-analyze"):
        print("(no systemd-analyze: the unit is not verified)")
        return
    with open(unit) as fh:
        text = fh.read()
    ck.ok("Type=notify" in text and "ExecReload=" in text and "NoNewPrivileges=yes" in text,
          "the unit is Type=notify, reloads with SIGHUP, and is hardened")
    copy = os.path.join(tmp, "packetrecorder.service")
    with open(copy, "w") as fh:
        fh.write(text.replace("/usr/local/bin/packetrecorder", prtest.pr_bin()))
    p = subprocess.run(["systemd-analyze", "verify", copy], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode("utf-8", "replace")
    ck.ok(p.returncode == 0 and "packetrecorder.service" not in out,
          "configs/packetrecorder.service passes systemd-analyze verify", out)


def main():
    with prtest.tmpdir("prserve-") as tmp:
        db = os.path.join(tmp, "s.db")
        sids = {}
        for name in ("mixed.pcap",):
            sids[name] = prtest.capture_file(db, prtest.fixture(name),
                                             key=RAW_KEY)[0]["session_id"]
        big = os.path.join(tmp, "big.pcap")
        prtest.run(["generate", "-o", big, "--packets", "100000"], key=None, timeout=300)
        sids["big"] = prtest.capture_file(db, big, key=RAW_KEY, timeout=300)[0]["session_id"]
        with ck.section("refusals"):
            part_refusals(db, tmp)
        with ck.section("systemd notification"):
            part_notify(db, tmp)
        with ck.section("shutdown"):
            part_shutdown(db, sids, tmp)
        with ck.section("TLS"):
            part_tls(db, tmp)
        with ck.section("HTTP beside gRPC"):
            part_http(db)
        with ck.section("systemd unit"):
            part_unit(tmp)
    ck.finish()


if __name__ == "__main__":
    main()
