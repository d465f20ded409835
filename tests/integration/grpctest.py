# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the gRPC tests (test_grpc_*.py, test_serve_*.py).

Imports Debian's python3-grpcio (re-running the script with /usr/bin/python3
when the python3 on PATH has no grpc module), generates the Python stubs of
proto/packetrecorder.proto and the grpc.health.v1 proto with grpc_tools.protoc
into a temporary directory at test time, runs `packetrecorder serve` and
reads its port from its log, and turns messages into the dicts the CLI's
--json prints (uint64 as numbers, bytes as hex, every field present).
"""
import atexit
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import prtest


def _reexec_with_system_python():
    """grpcio is Debian's: if this python cannot import it, the system's can."""
    sysp = "/usr/bin/python3"
    if os.environ.get("PR_GRPC_REEXEC") or not os.path.exists(sysp) or \
            os.path.realpath(sys.executable) == os.path.realpath(sysp):
        return
    env = dict(os.environ, PR_GRPC_REEXEC="1")
    os.execve(sysp, [sysp] + sys.argv, env)


try:
    import grpc  # noqa: F401
except ImportError:
    _reexec_with_system_python()
    prtest.skip("python3-grpcio is not installed (scripts/install-deps.sh)")

try:
    from grpc_tools import protoc
except ImportError:
    protoc = None

import grpc  # noqa: E402

PROTO_DIR = os.path.join(prtest.SOURCE_DIR, "proto")
SVC = "/packetrecorder.v1.PacketRecorder/"
_STUBS = None


def stubs():
    """(packetrecorder_pb2, packetrecorder_pb2_grpc, health_pb2, health_pb2_grpc), made
    once per process with grpc_tools.protoc in a temporary directory."""
    global _STUBS
    if _STUBS:
        return _STUBS
    if protoc is None:
        prtest.skip("python3-grpc-tools is not installed (scripts/install-deps.sh)")
    out = tempfile.mkdtemp(prefix="prgrpc-stubs-")
    atexit.register(shutil.rmtree, out, True)
    # The health proto's package is grpc.health.v1, a name the grpc module owns in
    # Python: generated under another file name, its service keeps its proto name.
    shutil.copy(os.path.join(PROTO_DIR, "grpc", "health", "v1", "health.proto"),
                os.path.join(out, "prhealth.proto"))
    for inc, name in ((PROTO_DIR, "packetrecorder.proto"), (out, "prhealth.proto")):
        rc = protoc.main(["grpc_tools.protoc", "-I" + inc, "--python_out=" + out,
                          "--grpc_python_out=" + out, os.path.join(inc, name)])
        if rc != 0:
            prtest.fail("grpc_tools.protoc %s failed (%d)" % (name, rc))
    sys.path.insert(0, out)
    import packetrecorder_pb2 as pb
    import packetrecorder_pb2_grpc as pbg
    import prhealth_pb2 as hpb
    import prhealth_pb2_grpc as hpbg
    _STUBS = (pb, pbg, hpb, hpbg)
    return _STUBS


def to_dict(msg):
    """A message as the CLI's JSON writes it: every field, ints as ints, bytes as hex,
    sub-messages as dicts. Unset oneof members are None (the CLI's null). A Flow's
    l7_json (a JSON object) gives its keys, as `flows --json` has them inline."""
    out = {}
    for f in msg.DESCRIPTOR.fields:
        v = getattr(msg, f.name)
        if f.name == "l7_json":
            out.update(json.loads(v) if v else {})
        elif f.containing_oneof is not None and msg.WhichOneof(f.containing_oneof.name) != f.name:
            out[f.name] = None
        elif f.label == f.LABEL_REPEATED:
            out[f.name] = [to_dict(x) if f.type == f.TYPE_MESSAGE else x for x in v]
        elif f.type == f.TYPE_MESSAGE:
            out[f.name] = to_dict(v) if msg.HasField(f.name) else None
        elif f.type == f.TYPE_BYTES:
            out[f.name] = v.hex()
        else:
            out[f.name] = v
    return out


class Daemon:
    """`packetrecorder serve` on 127.0.0.1 with a port of its choosing."""

    def __init__(self, db, key=prtest.RAW_KEY, args=(), env=None, addr="127.0.0.1:0",
                 wait=True):
        self.db = db
        cmd = [prtest.pr_bin(), "serve", "-d", db, "--grpc-addr", addr] + list(args)
        e = prtest.clean_env(env)
        if key is not None:
            e["PACKETRECORDER_DB_KEY"] = key
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=e)
        self.err = b""
        self.port = None
        # serve's stderr is read as it comes, by a thread: a pipe nobody empties
        # fills at 64 KiB and blocks the daemon's next write. Under TSan the
        # reports about the uninstrumented gRPC libraries did that, with the
        # report lock held, and serve never ended after SIGTERM.
        self._err_lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        if wait:
            self.wait_ready()

    def _drain(self):
        fd = self.proc.stderr.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._err_lock:
                self.err += chunk

    def _read_err(self, timeout):
        """Wait up to timeout for more of serve's stderr; True if some came."""
        with self._err_lock:
            n = len(self.err)
        end = time.monotonic() + timeout
        while True:
            with self._err_lock:
                if len(self.err) > n:
                    return True
            if time.monotonic() >= end or not self._reader.is_alive():
                return False
            time.sleep(0.02)

    def wait_ready(self, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(rb"grpc: listening on \S+ \(port (\d+)", self.err)
            if m and b"serving " in self.err:
                self.port = int(m.group(1))
                return self.port
            if self.proc.poll() is not None:
                self._reader.join(10)
                raise prtest.TestError("serve exited %s before it was ready:\n%s" % (
                    self.proc.returncode, self.stderr()))
            self._read_err(0.2)
        raise prtest.TestError("serve not ready after %ss:\n%s" % (timeout, self.stderr()))

    def wait_log(self, text, timeout=15, after=0):
        """Read the log until text appears past byte after; True if it did."""
        end = time.monotonic() + timeout
        while True:
            if text in self.stderr()[after:]:
                return True
            if time.monotonic() >= end or self.proc.poll() is not None:
                return text in self.stderr()[after:]
            self._read_err(0.1)

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.port

    def channel(self, creds=None, options=None):
        opts = [("grpc.max_receive_message_length", 64 << 20)] + list(options or [])
        if creds is not None:
            return grpc.secure_channel(self.endpoint, creds, options=opts)
        return grpc.insecure_channel(self.endpoint, options=opts)

    def stderr(self):
        return self.err.decode("utf-8", "replace")

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Signal, wait, collect stderr; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise prtest.TestError("serve did not stop within %ss of %s:\n%s" % (
                timeout, sig, self.stderr()))
        self._reader.join(10)
        return self.proc.returncode

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def sanitizer_report(text):
    """The first lines of an AddressSanitizer/LeakSanitizer/UBSan report in text, or ""."""
    for pat in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        i = text.find(pat)
        if i >= 0:
            return text[max(0, i - 200):i + 3000]
    return ""


def rpc_error(fn, *a, **kw):
    """Call fn; returns the grpc.RpcError it raised, or None if it succeeded (streams are
    read to the end)."""
    try:
        r = fn(*a, **kw)
        if hasattr(r, "__iter__") and not hasattr(r, "DESCRIPTOR"):
            for _ in r:
                pass
        return None
    except grpc.RpcError as e:
        return e
