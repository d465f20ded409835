#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The fixtures in tests/pcaps/ are what tests/pcaps/gen/gen_fixtures.py makes
(`--check`), each is at most 64 KiB, and the manifest agrees with what an
independent reader sees in the files: our own reader in prtest.py and, when
installed, tshark/capinfos and tcpdump. Needs no packetrecorder binary."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402

ck = prtest.Checks("test_cli_fixtures")

gen = os.path.join(prtest.GEN_DIR, "gen_fixtures.py")
p = subprocess.run([sys.executable, gen, "--check", "--out", prtest.PCAPS],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
ck.ok(p.returncode == 0, "gen_fixtures.py --check: committed fixtures match a fresh generation",
      p.stdout.decode("utf-8", "replace"))

# determinism inside one run as well: two builds give the same bytes
files1, man1 = prtest.gen.build_all()
files2, man2 = prtest.gen.build_all()
ck.ok(files1 == files2 and man1 == man2, "two generations in one process are identical")

for name, fx in prtest.fixtures().items():
    path = prtest.fixture(name)
    size = os.path.getsize(path)
    ck.ok(size <= 64 * 1024, "%s: %d bytes <= 64 KiB" % (name, size))
    ck.eq(size, fx["size"], "%s: size as in the manifest" % name)
    ck.eq(prtest.sha256_file(path), fx["sha256"], "%s: sha256 as in the manifest" % name)
    cap = prtest.read_capture(path, strict=False)
    if name == "truncated.pcap":
        ck.ok(cap.error is not None and str(fx["damage_offset"]) in cap.error,
              "%s: damaged at offset %d" % (name, fx["damage_offset"]), repr(cap.error))
    else:
        ck.ok(cap.error is None, "%s: reads without damage" % name, repr(cap.error))
    ck.eq(cap.format, fx["format"], "%s: format" % name)
    pk = cap.packets
    ck.eq(len(pk), fx["packets"], "%s: packets" % name)
    ck.eq(sum(x.wire_len for x in pk), fx["bytes_wire"], "%s: wire bytes" % name)
    ck.eq(sum(x.cap_len for x in pk), fx["bytes_captured"], "%s: captured bytes" % name)
    ck.eq(pk[0].ts_ns, fx["first_ts_ns"], "%s: first timestamp" % name)
    ck.eq(pk[-1].ts_ns, fx["last_ts_ns"], "%s: last timestamp" % name)
    ck.ok(all(a.ts_ns <= b.ts_ns for a, b in zip(pk, pk[1:])), "%s: packets in time order" % name)
    ck.eq([(i["linktype"], i["tsresol"], i["name"]) for i in cap.interfaces],
          [(i["linktype"], i["tsresol"], i["name"]) for i in fx["interfaces"]],
          "%s: interfaces (linktype, tsresol, name)" % name)
    if "packet_flow" in fx:
        ck.eq(len(fx["packet_flow"]), len(pk), "%s: packet_flow has one entry per packet" % name)
        for fi, f in enumerate(fx["flows"]):
            idx = [i for i, v in enumerate(fx["packet_flow"]) if v == fi]
            ok = (len(idx) == f["packets"] and
                  sum(pk[i].wire_len for i in idx) == f["bytes"] and
                  min(pk[i].ts_ns for i in idx) == f["first_ts"] and
                  max(pk[i].ts_ns for i in idx) == f["last_ts"])
            if not ok:
                ck.ok(False, "%s: flow %d agrees with its packets" % (name, fi), prtest.fmt_flow(f))
        ck.ok(True, "%s: %d flows agree with their packets" % (name, len(fx["flows"])))
    marker = prtest.manifest()["marker"].encode()
    if name == "mixed.pcap":
        n = sum(1 for x in pk if marker in x.data)
        ck.ok(n >= 100, "%s: %d packets carry the payload marker" % (name, n))
    if name == "nsec.pcap":
        ck.ok(all(x.ts_ns % 1000 for x in pk), "%s: every timestamp has ns digits" % name)

    if prtest.have("capinfos"):
        r = subprocess.run(["capinfos", "-c", "-M", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=prtest.clean_env())
        out = r.stdout.decode("utf-8", "replace")
        count = None
        for line in out.splitlines():
            if "Number of packets" in line:
                count = int(line.split(":")[1].strip())
        ck.eq(count, fx["packets"], "%s: capinfos counts the same packets" % name)
    if prtest.have("tcpdump") and len(fx["linktypes"]) == 1 and name != "truncated.pcap":
        for expr, want in sorted(fx["filter_counts"].items()):
            sel = prtest.tcpdump_select(path, expr)
            ck.eq(len(sel.packets), want, "%s: tcpdump %r selects the model's count" % (name, expr))
    if prtest.have("tshark") and name != "malformed.pcap":
        r = subprocess.run(["tshark", "-n", "-r", path, "-o", "ip.check_checksum:TRUE",
                            "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                            "-Y", "ip.checksum.status == 0 || tcp.checksum.status == 0 || "
                            "udp.checksum.status == 0 || icmp.checksum.status == 0 || "
                            "_ws.malformed"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=prtest.clean_env())
        bad = r.stdout.decode("utf-8", "replace").strip()
        ck.ok(r.returncode in (0, 2) and bad == "",
              "%s: tshark finds no bad checksum or malformed packet" % name, bad[:800])
if not prtest.have("tcpdump"):
    print("note: tcpdump not installed, BPF counts of the model not cross-checked")
if not prtest.have("tshark"):
    print("note: tshark not installed, checksums not cross-checked")
ck.finish()
