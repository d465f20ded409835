#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Round trip: `capture -r FIXTURE`, then `export` to pcap and pcapng gives the
same packets byte for byte with the same nanosecond timestamps; pcap uses the
nanosecond magic only when the source had it; pcapng keeps each packet's
interface (name, link type, resolution) and carries the session as the
section comment; a session with several link types cannot go to pcap;
--filter and --limit; tshark (when installed) reads what we wrote."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402

ck = prtest.Checks("test_cli_export")
prtest.pr_bin()
FX = prtest.fixtures()
FIXTURES = ["mixed.pcap", "nsec.pcap", "multi_if.pcapng", "fragments.pcap", "malformed.pcap"]


def export(db, sid, out, extra=()):
    return prtest.run_json(["export", "--session", sid, "--output", out] + list(extra), db=db)[0]


def check_export_json(label, j, sid, out, fmt, packets, wire, captured):
    miss = prtest.missing_keys(j, ("session_id", "output", "format", "packets", "bytes"))
    ck.ok(not miss, "%s: --json has every key" % label, "missing %s in %r" % (miss, j))
    ck.eq(j.get("session_id"), sid, "%s: session_id" % label)
    ck.ok(j.get("output") in (out, os.path.abspath(out)), "%s: output" % label, repr(j.get("output")))
    ck.eq(j.get("format"), fmt, "%s: format" % label)
    ck.eq(j.get("packets"), packets, "%s: packets" % label)
    ck.ok(j.get("bytes") in (wire, captured), "%s: bytes" % label,
          "got %r, expected the wire bytes %d (or captured %d)" % (j.get("bytes"), wire, captured))


def tshark_count(path):
    p = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.number"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=prtest.clean_env(),
                       timeout=60)
    return p.returncode, len([x for x in p.stdout.decode().splitlines() if x.strip()]), \
        p.stderr.decode("utf-8", "replace")


def capinfos_comment(path):
    p = subprocess.run(["capinfos", "-k", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=prtest.clean_env(), timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    return [ln.split(":", 1)[1].strip() for ln in out.splitlines() if "omment" in ln and ":" in ln]


with prtest.tmpdir() as tmp:
    db = os.path.join(tmp, "store.db")
    for name in FIXTURES:
        with ck.section("export of %s" % name):
            fx = FX[name]
            src = prtest.read_capture(prtest.fixture(name))
            sname = "prtest-export-%s" % name.replace(".", "-")
            obj, _ = prtest.capture_file(db, prtest.fixture(name), ["--name", sname])
            sid = obj["session_id"]
            ck.eq(obj.get("packets"), fx["packets"], "%s: captured every packet" % name)

            # pcapng
            ng = os.path.join(tmp, "%s.export.pcapng" % name)
            j = export(db, sid, ng, ["--format", "pcapng"])
            check_export_json("%s: export pcapng" % name, j, sid, ng, "pcapng", fx["packets"],
                              fx["bytes_wire"], fx["bytes_captured"])
            cap = prtest.read_capture(ng)
            ck.eq(cap.format, "pcapng", "%s: pcapng export is a pcapng file" % name)
            probs = prtest.compare_packets(src.packets, cap.packets, "%s pcapng" % name)
            ck.ok(not probs, "%s: pcapng export: same packets, data and ns timestamps" % name,
                  "\n".join(probs))
            bad = []
            for i, (a, b) in enumerate(zip(src.packets, cap.packets)):
                ia, ib = src.interfaces[a.iface], cap.interfaces[b.iface]
                if ia["linktype"] != ib["linktype"] or ia["tsresol"] != ib["tsresol"] or \
                        (ia["name"] and ia["name"] != ib["name"]):
                    bad.append("packet %d: interface %r, expected %r" % (
                        i, {k: ib[k] for k in ("linktype", "tsresol", "name")},
                        {k: ia[k] for k in ("linktype", "tsresol", "name")}))
            ck.ok(not bad, "%s: pcapng export keeps each packet's interface (link type, "
                  "resolution, name)" % name, "\n".join(bad[:5]))
            ck.eq(len(cap.interfaces), len(src.interfaces),
                  "%s: one Interface Description Block per interface" % name)
            ck.ok(cap.shb_comments and any(sname in c for c in cap.shb_comments),
                  "%s: the section comment describes the session (names %s)" % (name, sname),
                  repr(cap.shb_comments))

            # pcap (the default format)
            pc = os.path.join(tmp, "%s.export.pcap" % name)
            if len(fx["linktypes"]) == 1:
                j = export(db, sid, pc)
                check_export_json("%s: export pcap" % name, j, sid, pc, "pcap", fx["packets"],
                                  fx["bytes_wire"], fx["bytes_captured"])
                cap = prtest.read_capture(pc)
                ck.eq(cap.format, "pcap", "%s: default export format is pcap" % name)
                want_nsec = any(i["tsresol"] == 9 for i in fx["interfaces"])
                ck.eq(cap.nsec, want_nsec, "%s: pcap magic is %s" % (
                    name, "nanosecond" if want_nsec else "microsecond"))
                ck.eq(cap.interfaces[0]["linktype"], fx["linktypes"][0], "%s: pcap linktype" % name)
                probs = prtest.compare_packets(src.packets, cap.packets, "%s pcap" % name)
                ck.ok(not probs, "%s: pcap export: same packets, data and timestamps" % name,
                      "\n".join(probs))
            else:
                r = prtest.run(["export", "--session", sid, "--output", pc, "--format", "pcap"], db=db)
                ck.ok(r.rc not in (0, None) and "pcapng" in r.err,
                      "%s: pcap export of %d link types fails and points to pcapng" % (
                          name, len(fx["linktypes"])), r.describe())
                print("     (exit code %s)" % r.rc)
                ck.ok(r.rc in (prtest.EXIT_RUNTIME, prtest.EXIT_USAGE),
                      "%s: that failure exits 1 or 3" % name, r.describe())

            if prtest.have("tshark"):
                for f in ([ng, pc] if len(fx["linktypes"]) == 1 else [ng]):
                    rc, n, err = tshark_count(f)
                    ck.ok(rc == 0 and n == fx["packets"],
                          "tshark reads %s: %d packets" % (os.path.basename(f), fx["packets"]),
                          "exit %s, %d packets: %s" % (rc, n, err[-500:]))
            if prtest.have("capinfos"):
                com = capinfos_comment(ng)
                ck.ok(any(sname in c for c in com),
                      "capinfos shows the session in the section comment of %s" % os.path.basename(ng),
                      repr(com))

    with ck.section("export --filter and --limit"):
        name = "mixed.pcap"
        path = prtest.fixture(name)
        src = prtest.read_capture(path)
        sid = [s for s in prtest.sessions(db) if s.get("name") == "prtest-export-mixed-pcap"][0]["session_id"]
        for expr in ("tcp port 80", "udp port 53 or icmp", "vlan"):
            sel = prtest.tcpdump_select(path, expr)
            if sel is None:
                want_pk = None
                want_n = FX[name]["filter_counts"].get(expr)
            else:
                want_pk = sel.packets
                want_n = len(want_pk)
            for fmt in ("pcap", "pcapng"):
                out = os.path.join(tmp, "filtered.%s" % fmt)
                j = export(db, sid, out, ["--format", fmt, "--filter", expr])
                cap = prtest.read_capture(out)
                if want_n is not None:
                    ck.eq(j.get("packets"), want_n, "export --filter %r --format %s: packets" % (expr, fmt))
                if want_pk is not None:
                    probs = prtest.compare_packets(want_pk, cap.packets, "export --filter")
                    ck.ok(not probs, "export --filter %r --format %s: tcpdump's selection" % (expr, fmt),
                          "\n".join(probs))
                else:
                    ck.eq(len(cap.packets), want_n if want_n is not None else len(cap.packets),
                          "export --filter %r --format %s: count (model)" % (expr, fmt))
        out = os.path.join(tmp, "limited.pcapng")
        j = export(db, sid, out, ["--format", "pcapng", "--limit", "10"])
        cap = prtest.read_capture(out)
        ck.eq(j.get("packets"), 10, "export --limit 10: packets in --json")
        probs = prtest.compare_packets(src.packets[:10], cap.packets, "export --limit 10")
        ck.ok(not probs, "export --limit 10: the first 10 packets", "\n".join(probs))
        out = os.path.join(tmp, "limfilt.pcap")
        j = export(db, sid, out, ["--filter", "tcp port 80", "--limit", "4"])
        cap = prtest.read_capture(out)
        sel = prtest.tcpdump_select(path, "tcp port 80")
        if sel is not None:
            probs = prtest.compare_packets(sel.packets[:4], cap.packets, "export --filter --limit 4")
            ck.ok(not probs, "export --filter 'tcp port 80' --limit 4: first 4 matches",
                  "\n".join(probs))
        else:
            ck.eq(len(cap.packets), 4, "export --filter --limit 4: 4 packets")

    with ck.section("export --filter of the three-link-type session"):
        name = "multi_if.pcapng"
        fx = FX[name]
        src = prtest.read_capture(prtest.fixture(name))
        sid = [s for s in prtest.sessions(db)
               if s.get("name") == "prtest-export-multi_if-pcapng"][0]["session_id"]
        for expr in ("tcp port 80", "arp"):
            out = os.path.join(tmp, "mif-filtered.pcapng")
            r = prtest.run(["export", "--session", sid, "--output", out, "--format", "pcapng",
                            "--filter", expr, "--json"], db=db)
            if not ck.rc(r, 0, "export --filter %r of %s" % (expr, name)):
                continue
            cap = prtest.read_capture(out)
            n = fx["filter_counts"][expr]
            ck.eq(len(cap.packets), n, "export --filter %r of %s: packets (model)" % (expr, name))
            idx = prtest.subsequence_indexes(src.packets, cap.packets)
            ck.ok(idx is not None and all(src.packets[i].iface == 0 for i in idx),
                  "export --filter %r of %s: the eth0 packets, unchanged" % (expr, name))

    with ck.section("export errors"):
        r = prtest.run(["export", "--session", "999999", "--output", os.path.join(tmp, "x.pcap")], db=db)
        ck.rc(r, prtest.EXIT_NOT_FOUND, "export of a missing session")
        ck.ok("999999" in r.err, "export of a missing session: message names it", r.describe())
        sid = prtest.sessions(db)[0]["session_id"]
        r = prtest.run(["export", "--session", sid, "--output", os.path.join(tmp, "x.pcap"),
                        "--format", "pcapx"], db=db)
        ck.rc(r, prtest.EXIT_USAGE, "export --format pcapx")
        ck.ok("pcapx" in r.err, "export --format pcapx: message names the value", r.describe())
        r = prtest.run(["export", "--session", sid, "--output",
                        os.path.join(tmp, "no-such-dir", "x.pcap")], db=db)
        ck.rc(r, prtest.EXIT_RUNTIME, "export into a missing directory")
        ck.ok("no-such-dir" in r.err, "export into a missing directory: message names the path",
              r.describe())

ck.finish()
