#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tunnels through capture, store and flows: a generated capture
(tests/integration/tungen.py) with a DNS exchange inside each tunnel
packetrecorder opens and decoys that must stay on their outer header.

  - each tunnelled exchange is one flow keyed on its inner addresses and
    ports, both directions on it (the outer source ports and TEIDs differ
    by direction, as on real equipment);
  - its "tunnel" object holds the type, the id (VNI, GRE key, ERSPAN
    session, TEID of the first packet), the outer addresses and the outer
    UDP ports;
  - the DNS parser saw the inner payload (the query name);
  - --where selects on tunnel.* fields;
  - the decoys (UDP to 4789 without the VXLAN I flag, a GTP echo request,
    ARP inside VXLAN) are flows of their outer header, without "tunnel";
  - eve.json flow events carry Suricata's "tunnel" object;
  - export gives back the original frames, tunnels and all.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest as T  # noqa: E402
import tungen  # noqa: E402
import l7gen  # noqa: E402


def main():
    c = T.Checks("tunnels: flows keyed on the inner packet")
    with tempfile.TemporaryDirectory(prefix="pr-tun-") as tmp:
        pcap = os.path.join(tmp, "tun.pcap")
        frames, want = tungen.build()
        l7gen.write_pcap(pcap, frames)
        db = os.path.join(tmp, "tun.db")
        summ, _ = T.capture_file(db, pcap, extra=["-q"])
        c.eq(summ.get("packets"), want["packets"], "every frame stored")
        flows = T.flows(db, "1")
        by_inner = {(f["src_ip"], f["src_port"]): f for f in flows}
        with c.section("tunnelled flows"):
            for w in want["tunnels"]:
                name = w["type"]
                f = by_inner.get((w["client"], w["client_port"]))
                if not c.ok(f is not None, "%s: a flow keyed on the inner %s:%d" % (
                        name, w["client"], w["client_port"]), json.dumps(flows)[:1500]):
                    continue
                c.eq((f["dst_ip"], f["dst_port"], f["ip_proto"]), (w["server"], 53, 17),
                     "%s: inner destination and protocol" % name)
                c.eq((f["packets_to_server"], f["packets_to_client"]), (1, 1),
                     "%s: both directions on one flow" % name)
                t = f.get("tunnel") or {}
                c.eq(t.get("type"), name, "%s: tunnel.type" % name)
                c.eq(t.get("id"), w["id"], "%s: tunnel.id" % name)
                c.eq(t.get("depth"), 1, "%s: tunnel.depth" % name)
                c.eq((t.get("outer_src"), t.get("outer_dst")), (w["outer_src"], w["outer_dst"]),
                     "%s: outer addresses" % name)
                ports = [t["outer_sport"], t["outer_dport"]] if "outer_sport" in t else None
                c.eq(ports, w["outer_ports"], "%s: outer UDP ports" % name)
                names = {m.get("query", {}).get("name") if isinstance(m.get("query"), dict)
                         else m.get("qname") or m.get("query") for m in f.get("dns") or []}
                c.ok(f.get("app") == "dns" and w["qname"] in json.dumps(f.get("dns")),
                     "%s: the DNS parser read the inner query" % name,
                     "app %r, dns %r" % (f.get("app"), names))
        with c.section("decoys stay on the outer header"):
            outer = [f for f in flows if f["src_ip"] == "10.9.0.1"]
            c.eq(len(outer), len(want["decoys"]) + want["gtp_echo_packets"],
                 "one outer flow per decoy", json.dumps(outer)[:800])
            for f in outer:
                c.ok("tunnel" not in f, "outer flow %d -> %d has no tunnel object" % (
                    f["src_port"], f["dst_port"]))
            c.eq(len(flows), len(want["tunnels"]) + len(outer), "no other flow")
        with c.section("--where on tunnel fields"):
            for expr, n in (('tunnel.type == "gtp-u"', 1), ("tunnel.id == 4242", 1),
                            ('tunnel.outer_src == "10.9.0.1"', len(want["tunnels"])),
                            ("tunnel", len(want["tunnels"])),
                            ("not tunnel", len(outer)), ("tunnel.outer_src in 10.9.0.0/24", len(want["tunnels"]))):
                r = T.run(["flows", "--session", "1", "--json", "--where", expr], db=db)
                got = r.json() if r.rc == 0 else None
                c.ok(isinstance(got, list) and len(got) == n,
                     "--where '%s': %d flows" % (expr, n), r.describe())
        with c.section("eve.json"):
            r = T.run(["metadata", "--session", "1", "--eve", "--eve-types", "flow"], db=db)
            ev = [json.loads(x) for x in r.out.splitlines() if x.strip()] if r.rc == 0 else []
            tun = {e["src_ip"]: e.get("tunnel") for e in ev}
            for w in want["tunnels"]:
                t = tun.get(w["client"]) or {}
                c.eq((t.get("proto"), t.get("src_ip"), t.get("dest_ip"), t.get("depth")),
                     (w["type"], w["outer_src"], w["outer_dst"], 1),
                     "eve flow event of the %s flow: tunnel object" % w["type"], r.describe())
            c.ok(not tun.get("10.9.0.1", "x"), "eve: an outer flow has no tunnel object")
        with c.section("export"):
            out = os.path.join(tmp, "out.pcap")
            r = T.run(["export", "--session", "1", "--output", out], db=db)
            c.ok(r.rc == 0 and T.sha256_file(out) == T.sha256_file(pcap),
                 "the export is byte for byte the input", r.describe())
            if T.have("tshark"):
                p = subprocess.run(["tshark", "-r", out, "-Y", "dns.flags.response == 1",
                                    "-T", "fields", "-e", "dns.qry.name"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   env=T.clean_env(), timeout=120)
                got = sorted(p.stdout.decode().split())
                c.eq(got, sorted(w["qname"] for w in want["tunnels"]),
                     "tshark reads every inner answer from the export")
        with c.section("a datagram rebuilt from inner fragments"):
            fragment_checks(c, tmp)
    c.finish()


def fragment_checks(c, tmp):
    """tungen.fragmented(): the inner flow's first parsed packet is a DNS
    answer rebuilt from three inner fragments; the flow still gets its
    tunnel object, and the parser reads the rebuilt answer."""
    pcap = os.path.join(tmp, "tunfrag.pcap")
    frames, w = tungen.fragmented()
    l7gen.write_pcap(pcap, frames)
    db = os.path.join(tmp, "tunfrag.db")
    summ, _ = T.capture_file(db, pcap, extra=["-q"])
    c.eq((summ.get("packets"), (summ.get("ipfrag") or {}).get("reassembled")), (3, 1),
         "3 fragments stored, 1 datagram rebuilt")
    flows = [f for f in T.flows(db, str(summ.get("session_id")))
             if {f["src_ip"], f["dst_ip"]} == {w["server"], w["client"]}]
    if not c.ok(len(flows) >= 1, "a flow on the inner addresses", json.dumps(flows)[:1500]):
        return
    f = next((x for x in flows if x.get("dns")), flows[0])
    t = f.get("tunnel") or {}
    c.eq((t.get("type"), t.get("id"), t.get("outer_src"), t.get("outer_dst")),
         ("vxlan", w["id"], w["outer_src"], w["outer_dst"]),
         "the flow of the rebuilt datagram has its tunnel object", json.dumps(f)[:1500])
    c.ok(w["qname"] in json.dumps(f.get("dns")) and f.get("app") == "dns",
         "the DNS parser read the rebuilt answer", json.dumps(f.get("dns"))[:800])


if __name__ == "__main__":
    main()
