#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""export --format pcap|pcapng|jsonl|csv|db read back: tshark reads pcap and
pcapng with the packets and bytes `query` reports; jsonl parses with
`python3 -m json.tool --json-lines` and csv with the csv module, line for line
equal to `query --json` (with the flows' 5-tuples); a db export (with and
without --output-key) is opened by sessions, flows, query and export and gives
the same packets; a capture without drops says "no loss" in the pcapng comment."""
import csv
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402

ck = prtest.Checks("test_cli_export_formats")
prtest.pr_bin()


def export(db, sid, out, fmt, extra=(), key=prtest.KEY):
    return prtest.run_json(["export", "--session", sid, "--output", out, "--format", fmt]
                           + list(extra), db=db, key=key)[0]


def tshark_fields(path):
    p = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.len",
                        "-e", "frame.cap_len"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=prtest.clean_env(), timeout=60)
    rows = [ln.split("\t") for ln in p.stdout.decode().splitlines() if ln.strip()]
    return p.returncode, rows


def main(tmp):
    db = os.path.join(tmp, "store.db")
    obj, _ = prtest.capture_file(db, prtest.fixture("mixed.pcap"))
    sid = obj["session_id"]
    q = prtest.query(db, sid, ["--show-data"])
    qf = prtest.query(db, sid, ["--filter", "tcp", "--show-data"])
    flows = {f["flow_id"]: f for f in prtest.flows(db, sid)}
    wire = sum(p["wire_len"] for p in q)
    cap = sum(p["cap_len"] for p in q)

    with ck.section("pcap and pcapng through tshark"):
        for fmt in ("pcap", "pcapng"):
            out = os.path.join(tmp, "a." + fmt)
            j = export(db, sid, out, fmt)
            ck.eq(j["packets"], len(q), "%s: packets as query" % fmt)
            if prtest.have("tshark"):
                rc, rows = tshark_fields(out)
                ck.eq(rc, 0, "%s: tshark reads it" % fmt)
                ck.eq(len(rows), len(q), "%s: tshark counts the packets of query" % fmt)
                ck.eq(sum(int(r[0]) for r in rows), wire, "%s: wire bytes" % fmt)
                ck.eq(sum(int(r[1]) for r in rows), cap, "%s: captured bytes" % fmt)
        raw = open(os.path.join(tmp, "a.pcapng"), "rb").read()
        ck.ok(b"completeness: no loss" in raw, "pcapng: the SHB comment says no loss")

    with ck.section("jsonl"):
        out = os.path.join(tmp, "a.jsonl")
        export(db, sid, out, "jsonl", ["--show-data"])
        p = subprocess.run([sys.executable, "-m", "json.tool", "--json-lines", out],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ck.eq(p.returncode, 0, "json.tool --json-lines parses it", p.stderr.decode())
        lines = [json.loads(ln) for ln in open(out)]
        ck.eq(len(lines), len(q), "one line per packet")
        bad = 0
        for a, b in zip(lines, q):
            if (a["index"], a["ts"], a["cap_len"], a["wire_len"], a["iface"], a["flow_id"],
                    a["data"]) != (b["index"], b["ts"], b["cap_len"], b["wire_len"], b["iface"],
                                   b["flow_id"], b["data"]):
                bad += 1
            f = flows.get(a["flow_id"])
            if f and (a.get("src_ip"), a.get("src_port"), a.get("dst_ip"), a.get("dst_port"),
                      a.get("ip_proto")) != (f["src_ip"], f["src_port"], f["dst_ip"],
                                             f["dst_port"], f["ip_proto"]):
                bad += 1
        ck.eq(bad, 0, "every line equals query --json and its flow's 5-tuple")
        ck.ok(any(ln.get("tcp_flags") == "S" for ln in lines), "TCP flags (a SYN) are shown")

    with ck.section("csv"):
        out = os.path.join(tmp, "a.csv")
        export(db, sid, out, "csv", ["--show-data", "--filter", "tcp"])
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
        ck.eq(len(rows), len(qf), "one row per packet (--filter tcp)")
        bad = sum(1 for a, b in zip(rows, qf)
                  if (int(a["index"]), int(a["ts_ns"]), int(a["cap_len"]), int(a["flow_id"]),
                      a["data"]) != (b["index"], b["ts"], b["cap_len"], b["flow_id"], b["data"]))
        ck.eq(bad, 0, "every row equals query --json")

    for key in (prtest.KEY + "-export", None):
        label = "db export %s" % ("with --output-key" if key else "plaintext")
        with ck.section(label):
            out = os.path.join(tmp, "x%s.db" % ("k" if key else "p"))
            r = prtest.run(["export", "--session", sid, "--output", out, "--format", "db",
                            "--filter", "tcp"] + (["--output-key", key] if key else []),
                           db=db)
            ck.rc(r, 0, "%s: exit 0" % label)
            if not key:
                ck.ok("not encrypted" in r.err, "a plaintext db export warns", r.err)
            ss = prtest.sessions(out, key=key)
            ck.eq(len(ss), 1, "sessions: one session")
            nsid = ss[0]["session_id"]
            ck.eq(ss[0]["packets"], len(qf), "sessions: its packets")
            q2 = prtest.query(out, nsid, ["--show-data"], key=key)
            ck.eq([(p["ts"], p["data"], p["flow_id"]) for p in q2],
                  [(p["ts"], p["data"], p["flow_id"]) for p in qf], "query: the same packets")
            f2 = prtest.flows(out, nsid, key=key)
            want = {p["flow_id"] for p in qf}
            ck.eq({f["flow_id"] for f in f2}, want, "flows: the flows of the packets")
            j = export(out, nsid, os.path.join(tmp, "x%s.pcap" % ("k" if key else "p")), "pcap",
                       key=key)
            ck.eq(j["packets"], len(qf), "export of the db export")
            if key:
                r = prtest.run(["sessions"], db=out, key=None)
                ck.ok(r.rc == 2, "the keyed db export needs its key", r.describe())

    with ck.section("usage"):
        r = prtest.run(["export", "--session", sid, "--output", "-", "--format", "db"], db=db)
        ck.rc(r, 3, "db to stdout is a usage error")
        r = prtest.run(["export", "--session", sid, "--output", os.path.join(tmp, "u"),
                        "--format", "xml"], db=db)
        ck.rc(r, 3, "unknown format is a usage error")


with prtest.tmpdir() as tmpd:
    main(tmpd)
ck.finish()
