#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`packetrecorder capture -r` of every fixture, then sessions, flows and query
against tests/pcaps/manifest.json (docs/CLI.md is the contract): counts,
timestamps, flows field by field, per-packet flow ids, --limit, --show-data,
--filter (cross-checked with tcpdump), capture -f/-c/--name/-p, stdin input,
the ways to pass a key, and replay --display-only (no root needed)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import KEY, TestError  # noqa: E402

ck = prtest.Checks("test_cli_capture")
prtest.pr_bin()
FX = prtest.fixtures()
CAPTURED = ["mixed.pcap", "nsec.pcap", "multi_if.pcapng", "fragments.pcap", "malformed.pcap"]
FILTERS = {
    "mixed.pcap": ["tcp port 80", "udp port 53", "icmp", "arp", "ip6", "vlan", "vlan 100 and tcp",
                   "tcp[tcpflags] & tcp-syn != 0", "host 192.0.2.80", "not ip and not ip6",
                   "icmp6"],
    "nsec.pcap": ["tcp", "icmp", "udp port 53"],
    "fragments.pcap": ["udp port 9000", "ip[6:2] & 0x1fff != 0", "ip6", "udp"],
    "malformed.pcap": ["tcp", "udp", "greater 100", "tcp port 80"],
    # one link type per file is all tcpdump reads: the model's counts are used
    "multi_if.pcapng": ["tcp port 80", "udp port 53", "arp"],
}


def expect_filter(name, cap, expr):
    """Indexes of the fixture's packets that the filter accepts, or None when unknown."""
    fx = FX[name]
    if len(fx["linktypes"]) == 1:
        sel = prtest.tcpdump_select(prtest.fixture(name), expr)
        if sel is not None:
            idx = prtest.subsequence_indexes(cap.packets, sel.packets)
            if idx is None:
                raise TestError("tcpdump's output for %r is not a subsequence of %s" % (expr, name))
            return idx
    if expr in fx["filter_counts"]:
        return fx["filter_counts"][expr]  # a count only
    return None


def check_capture_summary(name, fx, obj, label):
    miss = prtest.missing_keys(obj, prtest.CAPTURE_KEYS)
    ck.ok(not miss, "%s: capture --json has every key" % label, "missing %s in %r" % (miss, obj))
    miss = prtest.missing_keys(obj.get("drops"), prtest.DROP_KEYS)
    ck.ok(not miss, "%s: capture --json drops has every reason" % label, "missing %s" % miss)
    ck.eq(obj.get("status"), "completed", "%s: status" % label)
    ck.eq(obj.get("end_reason"), "eof", "%s: end_reason" % label)
    ck.eq(obj.get("packets"), fx["packets"], "%s: packets" % label)
    ck.eq(obj.get("bytes"), fx["bytes_wire"], "%s: bytes (wire)" % label)
    ck.eq(obj.get("captured_bytes"), fx["bytes_captured"], "%s: captured_bytes" % label)
    ck.eq(obj.get("drops_total"), 0, "%s: drops_total" % label)
    ck.ok(isinstance(obj.get("drops"), dict) and all(v == 0 for v in obj["drops"].values()),
          "%s: every drop counter is 0" % label, repr(obj.get("drops")))
    ck.eq(obj.get("filtered"), 0, "%s: filtered" % label)
    ck.eq(obj.get("source_kind"), "file", "%s: source_kind" % label)
    ck.eq(obj.get("filter"), "", "%s: filter" % label)
    ck.eq(obj.get("encrypted"), True, "%s: encrypted" % label)
    ck.ok(isinstance(obj.get("duration_s"), (int, float)) and obj["duration_s"] >= 0,
          "%s: duration_s is a number" % label, repr(obj.get("duration_s")))
    ck.eq(obj.get("truncated"), fx["decode"]["truncated"], "%s: truncated (decoder)" % label)
    ck.eq(obj.get("malformed"), fx["decode"]["malformed"], "%s: malformed (decoder)" % label)
    if name == "malformed.pcap":
        ck.ok(isinstance(obj.get("flows"), int) and obj["flows"] >= len(fx["flows"]),
              "%s: flows >= %d" % (label, len(fx["flows"])), repr(obj.get("flows")))
    else:
        ck.eq(obj.get("flows"), len(fx["flows"]), "%s: flows" % label)


def check_session_row(name, fx, s, sid, cap_obj, t_before, t_after, sname):
    label = "%s: sessions" % name
    miss = prtest.missing_keys(s, prtest.SESSION_KEYS)
    ck.ok(not miss, "%s: every key" % label, "missing %s in %r" % (miss, s))
    ck.eq(s.get("name"), sname, "%s: name" % label)
    ck.ok(str(s.get("source", "")).endswith(name), "%s: source names the file" % label,
          repr(s.get("source")))
    ck.eq(s.get("source_kind"), "file", "%s: source_kind" % label)
    ck.eq(s.get("filter"), "", "%s: filter" % label)
    ck.eq(s.get("status"), "completed", "%s: status" % label)
    for k, want in (("packets", fx["packets"]), ("bytes", fx["bytes_wire"]),
                    ("captured_bytes", fx["bytes_captured"]), ("drops", 0),
                    ("first_packet_ts", fx["first_ts_ns"]), ("last_packet_ts", fx["last_ts_ns"]),
                    ("flows", cap_obj.get("flows"))):
        ck.eq(s.get(k), want, "%s: %s" % (label, k))
    dbr = s.get("drops_by_reason")
    ck.ok(isinstance(dbr, dict) and all(v == 0 for v in dbr.values()) and dbr,
          "%s: drops_by_reason all 0" % label, repr(dbr))
    st, en = s.get("start_ts"), s.get("end_ts")
    ck.ok(isinstance(st, int) and isinstance(en, int) and
          t_before - 5 * 10**9 <= st <= en <= t_after + 5 * 10**9,
          "%s: start_ts <= end_ts, both wall-clock ns of the run" % label,
          "start_ts %r end_ts %r, run between %d and %d" % (st, en, t_before, t_after))
    ck.ok(isinstance(s.get("message"), str), "%s: message is a string" % label)


def check_flows(name, fx, got):
    """Returns {manifest flow index: flow_id}, extra flow ids."""
    label = "%s: flows" % name
    exp = fx["flows"]
    ck.ok(isinstance(got, list), "%s --json is an array" % label)
    ids = [g.get("flow_id") for g in got]
    ck.ok(all(isinstance(i, int) and i != 0 for i in ids) and len(set(ids)) == len(ids),
          "%s: flow ids non-zero and unique" % label, repr(ids))
    firsts = [g.get("first_ts") or 0 for g in got]
    ck.ok(firsts == sorted(firsts), "%s: ordered by first_ts" % label)
    ck.ok(all(g.get("packets") == (g.get("packets_to_server") or 0) + (g.get("packets_to_client") or 0)
              and g.get("bytes") == (g.get("bytes_to_server") or 0) + (g.get("bytes_to_client") or 0)
              for g in got), "%s: packets/bytes are the sums of both directions" % label)
    pairs, missing, extra = prtest.match_flows(exp, got)
    if name == "malformed.pcap":
        ok = not missing
        what = "%s: all %d expected flows reported exactly (extra flows of broken packets checked " \
               "below)" % (label, len(exp))
    else:
        ok = not missing and not extra
        what = "%s: exactly the %d expected flows, every field" % (label, len(exp))
    ck.ok(ok, what, prtest.explain_flow_mismatch(exp, got, missing, extra))
    return {ei: got[gi]["flow_id"] for ei, gi in pairs}, {got[gi]["flow_id"]: got[gi] for gi in extra}


def check_query(name, fx, cap, rows, exp2id, extra_flows, all_ids):
    label = "%s: query" % name
    ck.eq(len(rows), fx["packets"], "%s: row count" % label)
    if rows:
        miss = prtest.missing_keys(rows[0], prtest.QUERY_KEYS + ("data",))
        ck.ok(not miss, "%s: rows have every key" % label, "missing %s" % miss)
    ck.eq([r.get("index") for r in rows], list(range(len(rows))), "%s: index 0..n-1" % label)
    probs = prtest.compare_packets(
        cap.packets,
        [prtest.CapPacket(r.get("ts"), 0, r.get("wire_len"), bytes.fromhex(r.get("data") or ""), 0)
         for r in rows], label)
    ck.ok(not probs, "%s: ts, wire_len and data equal the file's, packet by packet" % label,
          "\n".join(probs))
    ck.ok(all(r.get("cap_len") == len(bytes.fromhex(r.get("data") or "")) for r in rows),
          "%s: cap_len is the length of data" % label)
    lt_bad = [i for i, (r, p) in enumerate(zip(rows, cap.packets))
              if r.get("linktype") != cap.linktype_of(p)]
    ck.ok(not lt_bad, "%s: linktype of every packet" % label, "wrong at %s" % lt_bad[:10])
    # iface: one stored interface per file interface, used consistently
    m = {}
    bad = []
    for i, (r, p) in enumerate(zip(rows, cap.packets)):
        if m.setdefault(p.iface, r.get("iface")) != r.get("iface"):
            bad.append(i)
    ck.ok(not bad and len(set(m.values())) == len(m),
          "%s: iface maps the file's %d interface(s) one to one" % (label, len(cap.interfaces)),
          "mapping %r, inconsistent at %s" % (m, bad[:10]))
    # flow ids
    pf = fx["packet_flow"]
    wrong = []
    any_ids = {}
    for i, r in enumerate(rows[:len(pf)]):
        fid = r.get("flow_id")
        want = pf[i]
        if want >= 0:
            if want in exp2id and fid != exp2id[want]:
                wrong.append("packet %d: flow_id %r, expected %r (flow %d)" % (i, fid, exp2id[want], want))
        elif want == prtest.gen.PF_NONE:
            if fid != 0:
                wrong.append("packet %d: flow_id %r, expected 0 (no flow)" % (i, fid))
        else:
            if fid != 0:
                any_ids[fid] = any_ids.get(fid, 0) + 1
        if fid != 0 and fid not in all_ids:
            wrong.append("packet %d: flow_id %r is not in `flows`" % (i, fid))
    ck.ok(not wrong, "%s: flow_id of every packet (0 without a flow)" % label, "\n".join(wrong[:10]))
    # flows beyond the manifest may only be made of broken packets
    bad = []
    for fid, f in extra_flows.items():
        if any_ids.get(fid, 0) != f.get("packets"):
            bad.append("flow %s has %s packets, %d of them broken ones" % (
                prtest.fmt_flow(f), f.get("packets"), any_ids.get(fid, 0)))
    ck.ok(not bad, "%s: flows outside the manifest hold only broken packets" % label, "\n".join(bad))


def check_fixture(db, name, sids):
    fx = FX[name]
    path = prtest.fixture(name)
    cap = prtest.read_capture(path)
    sname = "prtest-" + name.replace(".", "-")
    t_before = time.time_ns()
    obj, res = prtest.capture_file(db, path, ["--name", sname])
    t_after = time.time_ns()
    check_capture_summary(name, fx, obj, "%s: capture" % name)
    ck.eq(obj.get("name"), sname, "%s: capture: --name" % name)
    sid = obj.get("session_id")
    ck.ok(isinstance(sid, int) and sid > 0, "%s: capture: session_id" % name, repr(sid))
    sids[name] = sid
    s = prtest.session(db, sid)
    check_session_row(name, fx, s, sid, obj, t_before, t_after, sname)
    got = prtest.flows(db, sid)
    exp2id, extra = check_flows(name, fx, got)
    rows = prtest.query(db, sid, ["--show-data"])
    check_query(name, fx, cap, rows, exp2id, extra, {g.get("flow_id") for g in got})

    # without --show-data: same rows, no data
    plain = prtest.query(db, sid)
    ck.ok(all("data" not in r or r["data"] in (None, "") for r in plain),
          "%s: query without --show-data has no data" % name)
    strip = lambda rr: [{k: r.get(k) for k in prtest.QUERY_KEYS} for r in rr]  # noqa: E731
    ck.ok(strip(plain) == strip(rows), "%s: query rows equal with and without --show-data" % name)
    lim = prtest.query(db, sid, ["--limit", "7"])
    ck.ok(strip(lim) == strip(rows)[:7], "%s: query --limit 7 = the first 7 rows" % name,
          "got %d rows" % len(lim))

    for expr in FILTERS.get(name, []):
        try:
            check_filter(db, sid, name, cap, expr)
        except TestError as e:
            ck.error("%s: query --filter %r" % (name, expr), e)


def check_filter(db, sid, name, cap, expr):
    if True:
        want = expect_filter(name, cap, expr)
        frows = prtest.query(db, sid, ["--filter", expr, "--show-data"])
        got_idx = [r.get("index") for r in frows]
        if want is None:
            print("note: %s %r: no tcpdump, not checked" % (name, expr))
            return
        if isinstance(want, int):
            ck.eq(len(got_idx), want, "%s: query --filter %r count (model)" % (name, expr))
            return
        ck.ok(got_idx == want, "%s: query --filter %r selects tcpdump's %d packets" %
              (name, expr, len(want)), "got indexes %s\nwant %s" % (got_idx[:20], want[:20]))
        okdata = all(bytes.fromhex(r.get("data") or "") == cap.packets[r["index"]].data
                     for r in frows if isinstance(r.get("index"), int) and r["index"] < len(cap.packets))
        ck.ok(okdata, "%s: query --filter %r data is the packets' data" % (name, expr))
        if len(want) > 3:
            lim = prtest.query(db, sid, ["--filter", expr, "--limit", "3"])
            ck.eq([r.get("index") for r in lim], want[:3],
                  "%s: --limit counts after --filter %r" % (name, expr))


with prtest.tmpdir() as tmp:
    db = os.path.join(tmp, "store.db")
    sids = {}
    for name in CAPTURED:
        with ck.section("capture -r %s" % name):
            check_fixture(db, name, sids)

    with ck.section("sessions: all sessions, oldest first"):
        ss = prtest.sessions(db)
        ids = [s.get("session_id") for s in ss]
        ck.eq(ids, [sids[n] for n in CAPTURED if n in sids], "sessions --json lists them in order")

    mixed = prtest.fixture("mixed.pcap")
    mcap = prtest.read_capture(mixed)
    mfx = FX["mixed.pcap"]

    with ck.section("capture -f 'tcp port 80'"):
        expr = "tcp port 80"
        want = expect_filter("mixed.pcap", mcap, expr)
        if isinstance(want, int):
            want = None
        obj, _ = prtest.capture_file(db, mixed, ["-f", expr])
        n = mfx["filter_counts"][expr]
        ck.eq(obj.get("packets"), n, "capture -f: packets stored")
        ck.eq(obj.get("filtered"), mfx["packets"] - n, "capture -f: filtered = rejected packets")
        ck.eq(obj.get("filter"), expr, "capture -f: filter in the summary")
        ck.eq(obj.get("drops_total"), 0, "capture -f: no drops")
        sid = obj.get("session_id")
        s = prtest.session(db, sid)
        ck.eq(s.get("filter"), expr, "capture -f: sessions shows the filter")
        if want is not None:
            rows = prtest.query(db, sid, ["--show-data"])
            probs = prtest.compare_packets(
                [mcap.packets[i] for i in want],
                [prtest.CapPacket(r.get("ts"), 0, r.get("wire_len"),
                                  bytes.fromhex(r.get("data") or ""), 0) for r in rows],
                "capture -f")
            ck.ok(not probs, "capture -f: the stored packets are tcpdump's selection",
                  "\n".join(probs))
            sel = set(want)
            pf = mfx["packet_flow"]
            expf = []
            for fi, f in enumerate(mfx["flows"]):
                members = [i for i, v in enumerate(pf) if v == fi]
                inside = [i in sel for i in members]
                if all(inside):
                    expf.append(f)
                elif any(inside):
                    raise TestError("fixture flow %d is split by %r" % (fi, expr))
            got = prtest.flows(db, sid)
            _, missing, extra = prtest.match_flows(expf, got)
            ck.ok(not missing and not extra,
                  "capture -f: flows are the %d flows the filter keeps" % len(expf),
                  prtest.explain_flow_mismatch(expf, got, missing, extra))

    with ck.section("capture -f 'tcp port 80' of the three-link-type pcapng"):
        name = "multi_if.pcapng"
        fx = FX[name]
        expr = "tcp port 80"
        r = prtest.run(["capture", "-r", prtest.fixture(name), "-f", expr, "--json"], db=db)
        if ck.rc(r, 0, "capture -r %s -f %r" % (name, expr)):
            obj = r.json()
            prtest.check_accounting(ck, obj, "multi_if capture -f")
            n = fx["filter_counts"][expr]
            ck.eq(obj.get("packets"), n, "multi_if capture -f: packets (model)")
            ck.eq(obj.get("filtered"), fx["packets"] - n, "multi_if capture -f: filtered")
            expf = [f for f in fx["flows"] if f["ip_proto"] == 6 and 80 in (f["src_port"], f["dst_port"])]
            if sum(f["packets"] for f in expf) != n:
                raise TestError("fixture: the port-80 flows do not hold the %d port-80 packets" % n)
            got = prtest.flows(db, obj.get("session_id"))
            _, missing, extra = prtest.match_flows(expf, got)
            ck.ok(not missing and not extra, "multi_if capture -f: the port-80 flow only",
                  prtest.explain_flow_mismatch(expf, got, missing, extra))

    with ck.section("capture -c 5"):
        obj, _ = prtest.capture_file(db, mixed, ["-c", "5"])
        ck.eq(obj.get("packets"), 5, "capture -c 5: packets")
        ck.eq(obj.get("end_reason"), "count", "capture -c 5: end_reason")
        ck.eq(obj.get("status"), "completed", "capture -c 5: status")
        rows = prtest.query(db, obj.get("session_id"), ["--show-data"])
        probs = prtest.compare_packets(
            mcap.packets[:5], [prtest.CapPacket(r.get("ts"), 0, r.get("wire_len"),
                                                bytes.fromhex(r.get("data") or ""), 0) for r in rows],
            "capture -c 5")
        ck.ok(not probs, "capture -c 5: the file's first 5 packets are stored", "\n".join(probs))
        s = prtest.session(db, obj.get("session_id"))
        ck.ok(s.get("name") in ("mixed.pcap", mixed), "capture: default name is the file name",
              "got %r" % s.get("name"))
        # The flows describe the stored packets: the first five are the handshake, the
        # request and the first answer segment of connection A (fixture flow 0).
        f0 = mfx["flows"][0]
        up = [p for p in mcap.packets[:5] if p.data[26:30] == bytes(map(int, f0["src_ip"].split(".")))]
        down = [p for p in mcap.packets[:5] if p not in up]
        want = dict(f0, packets=5, bytes=sum(p.wire_len for p in mcap.packets[:5]),
                    packets_to_server=len(up), packets_to_client=len(down),
                    bytes_to_server=sum(p.wire_len for p in up),
                    bytes_to_client=sum(p.wire_len for p in down),
                    last_ts=mcap.packets[4].ts_ns, tcp_state="established", end_reason="shutdown")
        ck.eq(mfx["packet_flow"][:5], [0] * 5, "fixture: the first 5 packets are flow 0")
        got = prtest.flows(db, obj.get("session_id"))
        _, missing, extra = prtest.match_flows([want], got)
        ck.ok(not missing and not extra,
              "capture -c 5: flows hold only the 5 stored packets (one established flow)",
              prtest.explain_flow_mismatch([want], got, missing, extra))

    for name in ("mixed.pcap", "nsec.pcap"):
        with ck.section("capture -p out.pcap (%s)" % name):
            out = os.path.join(tmp, "out-" + name)
            obj, _ = prtest.capture_file(db, prtest.fixture(name), ["-p", out])
            src = prtest.read_capture(prtest.fixture(name))
            try:
                wr = prtest.read_capture(out)
            except (OSError, prtest.CaptureError) as e:
                ck.ok(False, "capture -p: %s is a readable pcap" % out, str(e))
                continue
            ck.eq(wr.format, "pcap", "capture -p %s: format" % name)
            ck.eq(wr.nsec, src.nsec, "capture -p %s: nanosecond magic iff the source had it" % name)
            ck.eq(wr.interfaces[0]["linktype"], 1, "capture -p %s: linktype" % name)
            probs = prtest.compare_packets(src.packets, wr.packets, "capture -p " + name)
            ck.ok(not probs, "capture -p %s: same packets and timestamps as the input" % name,
                  "\n".join(probs))

    with ck.section("capture -r - (standard input)"):
        obj, _ = prtest.run_json(["capture", "-r", "-"], db=db, stdin=mixed)
        ck.eq(obj.get("packets"), mfx["packets"], "capture -r -: packets")
        ck.eq(obj.get("bytes"), mfx["bytes_wire"], "capture -r -: bytes")
        ck.eq(obj.get("status"), "completed", "capture -r -: status")

    with ck.section("capture --stats: where the workers' time went"):
        obj, _ = prtest.run_json(["capture", "-r", mixed, "--stats"], db=db)
        st = obj.get("stages") or {}
        names = ("rx", "decode", "flow", "l7", "emit")
        ck.eq(st.get("packets"), obj.get("received"), "--stats --json: stages.packets is every "
              "packet the workers received")
        ck.ok(all(st.get(n, {}).get("cycles", 0) > 0 for n in ("rx", "decode", "flow", "emit")),
              "--stats --json: rx, decode, flow and emit each took cycles", str(st))
        ck.eq(st.get("total", {}).get("cycles"), sum(st.get(n, {}).get("cycles", 0)
                                                     for n in names),
              "--stats --json: total is the sum of the stages")
        ck.ok(st.get("cycles_hz", 0) > 1e6 and st.get("mpps_per_core", 0) > 0 and
              abs(st["total"]["cycles_per_packet"] * st["packets"] - st["total"]["cycles"])
              <= st["packets"], "--stats --json: a cycle rate, per-packet figures and a rate "
              "per core", str(st))
        r = prtest.run(["capture", "-r", mixed, "--stats", "-q"], db=db)
        lines = [ln.split()[0] for ln in r.out.splitlines()[2:] if ln.strip()]
        ck.ok(r.rc == 0 and lines[:6] == list(names) + ["total"] and
              "Mpps" in r.out, "capture --stats -q: the stage table on stdout", r.out)
        obj, _ = prtest.run_json(["capture", "-r", mixed], db=db)
        ck.ok("stages" not in obj, "without --stats the summary has no stages")

    with ck.section("keys: --key-file, PACKETRECORDER_DB_KEY, raw hex keys"):
        ref = prtest.sessions(db)
        kf = os.path.join(tmp, "key.txt")
        with open(kf, "w") as fh:
            fh.write(KEY + "\n")
        r = prtest.run(["sessions", "--json", "--key-file", kf], db=db, key=None)
        ck.ok(r.rc == 0 and r.json() == ref, "--key-file reads the key from the file's first line",
              r.describe())
        r = prtest.run(["sessions", "--json"], db=db, key=None, env={"PACKETRECORDER_DB_KEY": KEY})
        ck.ok(r.rc == 0 and r.json() == ref, "PACKETRECORDER_DB_KEY is the default key", r.describe())
        db2 = os.path.join(tmp, "raw.db")
        obj, _ = prtest.capture_file(db2, prtest.fixture("nsec.pcap"), key=prtest.RAW_KEY)
        ck.eq(obj.get("packets"), FX["nsec.pcap"]["packets"], "raw hex key: capture")
        r = prtest.run(["sessions", "--json"], db=db2, key="x'%s'" % prtest.RAW_KEY)
        ck.ok(r.rc == 0 and len(r.json()) == 1, "raw key given as x'<hex>' opens the same store",
              r.describe())
        r = prtest.run(["sessions", "--json"], db=db2, key=prtest.RAW_KEY.upper())
        ck.ok(r.rc == 0, "raw key in upper-case hex opens the same store", r.describe())

    with ck.section("replay --display-only (no root)"):
        sid = sids["nsec.pcap"]
        n = FX["nsec.pcap"]["packets"]
        r = prtest.run(["replay", "--session", sid, "--display-only"], db=db)
        lines = [x for x in r.out.splitlines() if x.strip()]
        ck.ok(r.rc == 0 and len(lines) >= n,
              "replay --display-only prints the %d packets (one line or more each)" % n, r.describe())
        r3 = prtest.run(["replay", "--session", sid, "--display-only", "--count", "3"], db=db)
        lines3 = [x for x in r3.out.splitlines() if x.strip()]
        ck.ok(r3.rc == 0 and 3 <= len(lines3) < len(lines),
              "replay --display-only --count 3 prints fewer", r3.describe())

ck.finish()
