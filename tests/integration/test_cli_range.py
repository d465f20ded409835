#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""--from, --to and --flow on query, export, replay and flows, in both store modes.

Every fixture capture is stored twice, with --store-mode segments and
--store-mode db: every command must answer the same in both. For a flow and
for a time slice of each session, query/export/replay return exactly the
packets that the full query says match, with their session indexes, and the
export holds the same bytes as those packets in the full export. Times are
given as epoch nanoseconds and as RFC 3339 (Z and +hh:mm). Bad values are
usage errors (exit 3)."""
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import RAW_KEY  # noqa: E402

ck = prtest.Checks("test_cli_range")
FIXTURES = ("mixed.pcap", "multi_if.pcapng", "fragments.pcap", "nsec.pcap")


def rfc3339(ns, offset_min=0):
    tz = datetime.timezone(datetime.timedelta(minutes=offset_min))
    t = datetime.datetime.fromtimestamp(ns // 10**9, tz)
    s = t.strftime("%Y-%m-%dT%H:%M:%S") + ".%09d" % (ns % 10**9)
    if offset_min == 0:
        return s + "Z"
    sign = "+" if offset_min > 0 else "-"
    return s + "%s%02d:%02d" % (sign, abs(offset_min) // 60, abs(offset_min) % 60)


def jrun(args, db):
    r = prtest.run(list(args) + ["--json"], db=db, key=RAW_KEY, timeout=120)
    if r.rc != 0:
        raise prtest.TestError("exit %s\n%s" % (r.rc, r.describe()))
    return r.json()


def export(db, sid, tmp, name, extra=()):
    out = os.path.join(tmp, name)
    r = prtest.run(["export", "--session", str(sid), "--output", out, "--format", "pcapng"]
                   + list(extra), db=db, key=RAW_KEY, timeout=120)
    if r.rc != 0:
        raise prtest.TestError("export exit %s\n%s" % (r.rc, r.describe()))
    return [(p.ts_ns, p.data) for p in prtest.read_capture(out).packets]


def check_session(db, sid, tmp, mode, fx):
    allq = jrun(["query", "--session", str(sid)], db)
    full = export(db, sid, tmp, "full-%s.pcapng" % mode)
    ck.eq(len(full), len(allq), "%s %s: the full export has every packet" % (mode, fx))
    flows = jrun(["flows", "--session", str(sid)], db)
    results = {}
    if not allq:
        return results
    # The flow with the most packets, and one in the middle.
    by_flow = {}
    for r in allq:
        by_flow.setdefault(r["flow_id"], []).append(r)
    fids = sorted(by_flow, key=lambda f: -len(by_flow[f]))[:2]
    for fid in fids:
        want = by_flow[fid]
        got = jrun(["query", "--session", str(sid), "--flow", str(fid)], db)
        ck.eq([(r["index"], r["ts"]) for r in got], [(r["index"], r["ts"]) for r in want],
              "%s %s: query --flow %d: its %d packets with their indexes"
              % (mode, fx, fid, len(want)))
        exp = export(db, sid, tmp, "flow-%s.pcapng" % mode, ["--flow", str(fid)])
        ck.eq(exp, [full[r["index"]] for r in want],
              "%s %s: export --flow %d: the same bytes as in the full export" % (mode, fx, fid))
        fl = jrun(["flows", "--session", str(sid), "--flow", str(fid)], db)
        ck.eq([f["flow_id"] for f in fl], [f["flow_id"] for f in flows if f["flow_id"] == fid],
              "%s %s: flows --flow %d" % (mode, fx, fid))
        results["flow%d" % fid] = [(r["index"], r["ts"]) for r in got]
    ts = sorted({r["ts"] for r in allq})
    lo, hi = ts[len(ts) // 4], ts[(3 * len(ts)) // 4]
    want = [r for r in allq if lo <= r["ts"] <= hi]
    for frm, to, how in ((str(lo), str(hi), "epoch ns"),
                         (rfc3339(lo), rfc3339(hi), "RFC 3339 Z"),
                         (rfc3339(lo, 120), rfc3339(hi, -330), "RFC 3339 +02:00/-05:30")):
        got = jrun(["query", "--session", str(sid), "--from", frm, "--to", to], db)
        ck.eq([r["index"] for r in got], [r["index"] for r in want],
              "%s %s: query --from/--to (%s): %d packets" % (mode, fx, how, len(want)))
    exp = export(db, sid, tmp, "slice-%s.pcapng" % mode, ["--from", str(lo), "--to", str(hi)])
    ck.eq(exp, [full[r["index"]] for r in want], "%s %s: export --from/--to" % (mode, fx))
    r = prtest.run(["replay", "--session", str(sid), "--display-only", "--from", str(lo),
                    "--to", str(hi), "--json"], db=db, key=RAW_KEY)
    ck.rc(r, 0, "%s %s: replay --display-only --from/--to" % (mode, fx))
    fl = jrun(["flows", "--session", str(sid), "--from", str(lo), "--to", str(hi)], db)
    ck.eq(sorted(f["flow_id"] for f in fl),
          sorted(f["flow_id"] for f in flows if f["last_ts"] >= lo and f["first_ts"] <= hi),
          "%s %s: flows --from/--to: the flows that overlap" % (mode, fx))
    results["slice"] = [r["index"] for r in want]
    results["query"] = allq
    results["flows"] = flows
    results["export"] = full
    return results


def main(tmp):
    per_mode = {}
    for mode in ("segments", "db"):
        db = os.path.join(tmp, "range-%s.db" % mode)
        per_mode[mode] = {}
        for fx in FIXTURES:
            obj, _ = prtest.capture_file(db, prtest.fixture(fx), key=RAW_KEY,
                                         extra=("--store-mode", mode))
            with ck.section("%s mode, %s" % (mode, fx)):
                per_mode[mode][fx] = check_session(db, obj["session_id"], tmp, mode, fx)
        with ck.section("%s mode: bad values" % mode):
            for args in (["--from", "yesterday"], ["--to", "2024-13-01T00:00:00Z"],
                         ["--from", "2024-01-01T00:00:00"], ["--flow", "abc"],
                         ["--from", "200", "--to", "100"], ["--from", ""]):
                r = prtest.run(["query", "--session", "1"] + args, db=db, key=RAW_KEY)
                ck.eq(r.rc, 3, "query %s: exit 3" % " ".join(args), r.err.strip())
    with ck.section("both modes answer the same"):
        for fx in FIXTURES:
            for k in per_mode["db"][fx]:
                ck.ok(per_mode["db"][fx][k] == per_mode["segments"][fx][k],
                      "%s: %s identical in both modes" % (fx, k))


with prtest.tmpdir() as tmpd:
    main(tmpd)
ck.finish()
