# SPDX-License-Identifier: Apache-2.0
"""Helpers of the HTTP tests (tests/integration/test_http_*.py).

Starts the HTTP server under test: tests/http/pr_http_testd (the real
controlplane/http server with the real registry, event bus, API keys and
store; its standard input takes test-hook commands that publish events and
feed metrics). Talks to it with curl (every request the tests make to an
endpoint goes through curl), reads Server-Sent Events with a small client
of our own on a socket, makes TLS certificates with the openssl command,
and runs a real Prometheus server on loopback. Python 3 standard library
only, plus the programs named (curl, openssl, prometheus, promtool).
"""
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import prtest

API_KEY = "http-test-key-0123456789"
OTHER_KEY = "http-other-key-9876543210"


def testd_bin():
    p = os.environ.get("PR_HTTP_TESTD") or os.path.join(prtest.BUILD_DIR, "tests", "http",
                                                        "pr_http_testd")
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        prtest.fail("pr_http_testd not found at %s (build it, or set PR_BUILD_DIR)" % p)
    return p


class Server:
    """pr_http_testd on 127.0.0.1, port chosen by the kernel."""

    def __init__(self, db=None, key=prtest.KEY, api_keys=(API_KEY,), args=(), env=None,
                 scheme="http", host="127.0.0.1"):
        cmd = [testd_bin(), "--http-addr", "%s:0" % host] + list(args)
        if db:
            cmd += ["--database", db, "--encryption-key", key]
        e = prtest.clean_env(env)
        if api_keys:
            e["PACKETRECORDER_API_KEYS"] = ",".join(api_keys)
        self.cmd = cmd
        self.scheme = scheme
        self.host = host
        self.errfile = tempfile.TemporaryFile()
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.errfile, env=e)
        line = self.p.stdout.readline().decode()
        if not line.startswith("port "):
            self.p.kill()
            self.p.wait()
            raise prtest.TestError("pr_http_testd did not start: %r\n%s" % (line, self.stderr()))
        self.port = int(line.split()[1])
        self.base = "%s://%s:%d" % (scheme, host, self.port)

    def stderr(self):
        self.errfile.seek(0)
        return self.errfile.read().decode("utf-8", "replace")

    def hook(self, line):
        """One test-hook command; returns its answer line."""
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()
        ans = self.p.stdout.readline().decode().strip()
        if not ans.startswith("ok"):
            raise prtest.TestError("hook %r: %s" % (line, ans))
        return ans

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=15):
        """Shut down through the hook (quit); returns (exit code, seconds)."""
        t0 = time.monotonic()
        if self.p.poll() is None:
            try:
                self.p.stdin.write(b"quit\n")
                self.p.stdin.flush()
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                return None, time.monotonic() - t0
        return self.p.returncode, time.monotonic() - t0

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


class Reply:
    def __init__(self, status, headers, body, rc, err):
        self.status, self.headers, self.body, self.rc, self.err = status, headers, body, rc, err

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise prtest.TestError("body is not JSON (%s): %r" % (e, self.body[:300]))

    def header(self, name):
        return self.headers.get(name.lower())

    def describe(self):
        return "status %s, curl exit %s %s\n  headers %r\n  body %r" % (
            self.status, self.rc, self.err.strip(), self.headers, self.body[:400])


def curl(url, method=None, headers=(), key=API_KEY, data=None, data_file=None, timeout=30,
         extra=(), out=None):
    """One request with curl. key None: no API key. data: bytes for the body.
    out: write the body to that file instead of keeping it."""
    with tempfile.TemporaryDirectory(prefix="prcurl-") as d:
        hdr = os.path.join(d, "h")
        body = out or os.path.join(d, "b")
        cmd = ["curl", "-s", "-S", "-g", "--max-time", str(timeout), "-D", hdr, "-o", body,
               "-w", "%{http_code}"]
        if method:
            cmd += ["-X", method]
        if method == "HEAD":
            cmd = [c for c in cmd if c not in ("-X", "HEAD")] + ["-I"]
        if key is not None:
            cmd += ["-H", "x-api-key: " + key]
        for h in headers:
            cmd += ["-H", h]
        if data is not None:
            dp = os.path.join(d, "in")
            with open(dp, "wb") as fh:
                fh.write(data)
            cmd += ["--data-binary", "@" + dp]
        if data_file:
            cmd += ["--data-binary", "@" + data_file]
        cmd += list(extra) + [url]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout + 10)
        heads = {}
        if os.path.exists(hdr):
            with open(hdr, "rb") as fh:
                for line in fh.read().decode("latin-1").split("\r\n"):
                    if ":" in line:
                        k, v = line.split(":", 1)
                        heads[k.strip().lower()] = v.strip()
        b = b""
        if not out and os.path.exists(body):
            with open(body, "rb") as fh:
                b = fh.read()
        code = p.stdout.decode().strip()
        return Reply(int(code) if code.isdigit() else 0, heads, b, p.returncode,
                     p.stderr.decode("utf-8", "replace"))


class SSE:
    """A Server-Sent Events client on a plain socket (http.client), reading
    one event at a time with a deadline."""

    def __init__(self, port, path="/api/v1/events", key=API_KEY, last_id=None, host="127.0.0.1",
                 timeout=10, cafile=None):
        if cafile:
            ctx = ssl.create_default_context(cafile=cafile)
            self.conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
        else:
            self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        h = {"Accept": "text/event-stream"}
        if key:
            h["x-api-key"] = key
        if last_id is not None:
            h["Last-Event-ID"] = str(last_id)
        self.conn.request("GET", path, headers=h)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.ctype = self.resp.getheader("Content-Type")

    def next(self, timeout):
        """The next event as {"id", "event", "data"} (comments skipped), or None
        when nothing came within timeout seconds."""
        end = time.monotonic() + timeout
        ev = {}
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.conn.sock.settimeout(left)
            try:
                line = self.resp.fp.readline()
            except (socket.timeout, TimeoutError):
                return None
            if not line:
                return None
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if "event" in ev or "data" in ev:
                    if "data" in ev:
                        ev["json"] = json.loads(ev["data"])
                    return ev
                ev = {}
                continue
            if line.startswith(":"):
                continue
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            if k == "data" and "data" in ev:
                ev["data"] += "\n" + v
            else:
                ev[k] = v

    def close(self):
        self.conn.close()


def openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if p.returncode:
        raise prtest.TestError("openssl %s: %s" % (" ".join(args), p.stderr.decode()))


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate
    from that CA and one from another CA. Returns a dict of paths."""
    ext = os.path.join(d, "san.cnf")
    with open(ext, "w") as fh:
        fh.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for ca in ("ca", "otherca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", ca + ".key", "-out", ca + ".pem", "-days", "2",
                "-subj", "/CN=packetrecorder test " + ca, cwd=d)
    for name, ca, extfile in (("server", "ca", ext), ("client", "ca", None),
                              ("rogue", "otherca", None)):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name, cwd=d)
        a = ["x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
             "-CAcreateserial", "-out", name + ".pem", "-days", "2"]
        if extfile:
            a += ["-extfile", extfile]
        openssl(*a, cwd=d)
    return {n: os.path.join(d, n) for n in
            ("ca.pem", "server.pem", "server.key", "client.pem", "client.key", "rogue.pem",
             "rogue.key")}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Prometheus:
    """Debian's prometheus on 127.0.0.1 with a temporary config and data dir."""

    def __init__(self, d, scrape_port, interval="1s", bearer_file=None, job="packetrecorder"):
        self.d = d
        self.port = free_port()
        cfg = os.path.join(d, "prometheus.yml")
        lines = ["global:", "  scrape_interval: %s" % interval,
                 "  evaluation_interval: %s" % interval, "scrape_configs:",
                 "  - job_name: %s" % job, "    scrape_interval: %s" % interval,
                 "    static_configs:", "      - targets: ['127.0.0.1:%d']" % scrape_port]
        if bearer_file:
            lines += ["    authorization:", "      type: Bearer",
                      "      credentials_file: %s" % bearer_file]
        with open(cfg, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(d, "prometheus.log"), "wb")
        self.p = subprocess.Popen(
            ["prometheus", "--config.file", cfg, "--storage.tsdb.path", os.path.join(d, "tsdb"),
             "--web.listen-address", "127.0.0.1:%d" % self.port, "--log.level", "warn"],
            stdout=self.log, stderr=self.log, env=prtest.clean_env())
        ready = prtest.wait_until(self._ready, 30, 0.2)
        if not ready:
            self.stop()
            raise prtest.TestError("prometheus did not become ready:\n" + self.logtext())

    def logtext(self):
        with open(os.path.join(self.d, "prometheus.log"), "rb") as fh:
            return fh.read().decode("utf-8", "replace")[-3000:]

    def _ready(self):
        if self.p.poll() is not None:
            return False
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s?%s" % (self.port, path,
                                                    urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=10) as r:
            j = json.load(r)
        if j.get("status") != "success":
            raise prtest.TestError("prometheus %s: %r" % (path, j))
        return j["data"]

    def query(self, expr):
        """The result vector of an instant query."""
        return self.api("query", query=expr)["result"]

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def have_all(*tools):
    return all(shutil.which(t) for t in tools)
