#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`metadata --eve`: a session's flows and L7 metadata as JSON lines in the
shape of Suricata's eve.json.

The session is tests/integration/l7gen.py's fixture (TLS, DNS, HTTP, SSH,
SMTP flows) captured with `capture -r`. What the eve lines must say is
taken from `flows --json` of the same session, so the test checks the
mapping, not values written into it:
- every line is one JSON object with Suricata's common keys (timestamp in
  its format, flow_id, event_type, src_ip/src_port/dest_ip/dest_port,
  proto), and one `flow` event per flow with its packet and byte counts;
- tls: sni, version, ja3/ja3s hash and string, ja4; dns: one event per
  message, query and answer, rrname, rrtype as a name, rcode, answers;
  http: hostname, url, http_user_agent, http_method, status; ssh: the
  banners split into proto_version and software_version; smtp: helo,
  mail_from, rcpt_to;
- --eve-types, --protocol and --flow select; an unknown event type, or
  --eve with --json, exits 3 naming what is wrong.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
import l7gen  # noqa: E402

ck = prtest.Checks("test_cli_eve")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$")
PROTO = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "IPv6-ICMP"}
RRTYPE = {1: "A", 28: "AAAA", 5: "CNAME", 15: "MX", 16: "TXT", 12: "PTR", 2: "NS", 33: "SRV"}


def eve(db, extra=()):
    r = prtest.run(["metadata", "--session", "1", "--eve"] + list(extra), db=db)
    lines = [json.loads(x) for x in r.out.splitlines() if x.strip()] if r.rc == 0 else []
    return r, lines


def main():
    with prtest.tmpdir() as tmp:
        pcap = os.path.join(tmp, "l7gen.pcap")
        frames, _ = l7gen.build()
        l7gen.write_pcap(pcap, frames)
        db = os.path.join(tmp, "s.db")
        prtest.capture_file(db, pcap, extra=["-q"])
        flows = {f["flow_id"]: f for f in prtest.flows(db, "1")}
        r, ev = eve(db)
        ck.ok(r.rc == 0 and ev, "metadata --eve: exit 0 with JSON lines", r.describe())

        with ck.section("common keys"):
            ck.ok(all(TS.match(e.get("timestamp", "")) for e in ev),
                  "every timestamp is in Suricata's format", str([e.get("timestamp")
                                                                  for e in ev][:3]))
            bad = [e for e in ev if e.get("flow_id") not in flows or
                   e.get("src_ip") != flows[e["flow_id"]]["src_ip"] or
                   e.get("dest_ip") != flows[e["flow_id"]]["dst_ip"] or
                   e.get("src_port") != flows[e["flow_id"]]["src_port"] or
                   e.get("dest_port") != flows[e["flow_id"]]["dst_port"] or
                   e.get("proto") != PROTO.get(flows[e["flow_id"]]["ip_proto"])]
            ck.ok(not bad, "every event names its flow's endpoints and protocol", str(bad[:2]))
            fe = {e["flow_id"]: e for e in ev if e["event_type"] == "flow"}
            ck.eq(sorted(fe), sorted(flows), "one flow event per flow")
            ck.ok(all(fe[i]["flow"]["pkts_toserver"] == f["packets_to_server"] and
                      fe[i]["flow"]["pkts_toclient"] == f["packets_to_client"] and
                      fe[i]["flow"]["bytes_toserver"] == f["bytes_to_server"] and
                      fe[i]["flow"]["bytes_toclient"] == f["bytes_to_client"] and
                      fe[i].get("app_proto") == f.get("app")
                      for i, f in flows.items() if i in fe),
                  "flow events carry the flow's counts per direction and its app")

        by = {}
        for e in ev:
            by.setdefault(e["event_type"], []).append(e)

        with ck.section("tls"):
            want = [(i, f["tls"]) for i, f in flows.items() if "tls" in f]
            got = {e["flow_id"]: e["tls"] for e in by.get("tls", [])}
            ck.ok(want, "the fixture has a TLS flow")
            for i, t in want:
                g = got.get(i, {})
                ck.ok(g.get("sni") == t.get("sni") and g.get("version") == t.get("version") and
                      g.get("ja3", {}).get("hash") == t.get("ja3") and
                      g.get("ja3", {}).get("string") == t.get("ja3_string") and
                      g.get("ja3s", {}).get("hash") == t.get("ja3s") and
                      g.get("ja3s", {}).get("string") == t.get("ja3s_string") and
                      g.get("ja4") == t.get("ja4"),
                      "flow %d: tls sni, version, ja3, ja3s, ja4 as flows --json has them" % i,
                      "%r\n%r" % (g, t))

        with ck.section("dns"):
            want = [(i, m) for i, f in flows.items() for m in f.get("dns", [])]
            got = [(e["flow_id"], e["dns"]) for e in by.get("dns", [])]
            ck.eq(len(got), len(want), "one dns event per DNS message (%d)" % len(want))
            for (i, m), (gi, g) in zip(want, got):
                ok = (gi == i and g.get("id") == m.get("id") and g.get("rrname") == m.get("qname")
                      and g.get("rrtype") == RRTYPE.get(m.get("qtype"), "?") and
                      g.get("type") == ("answer" if m.get("response") else "query"))
                if m.get("response"):
                    ok = ok and g.get("rcode") == ("NOERROR" if m.get("rcode") == 0 else
                                                   g.get("rcode")) and \
                        [(a.get("rrname"), a.get("ttl"), a.get("rdata"))
                         for a in g.get("answers", [])] == \
                        [(a.get("name"), a.get("ttl"), a.get("data"))
                         for a in m.get("answers", [])]
                ck.ok(ok, "flow %d: dns %s %s" % (i, g.get("type"), m.get("qname")),
                      "%r\n%r" % (g, m))

        with ck.section("http"):
            want = [(i, m) for i, f in flows.items() for m in f.get("http", [])]
            got = [(e["flow_id"], e["http"]) for e in by.get("http", [])]
            ck.ok(want and len(got) == len(want), "one http event per request (%d)" % len(want))
            for (i, m), (gi, g) in zip(want, got):
                ck.ok(gi == i and g.get("hostname") == m.get("host") and
                      g.get("url") == m.get("uri") and
                      g.get("http_user_agent") == m.get("user_agent") and
                      g.get("http_method") == m.get("method") and
                      g.get("status") == m.get("status"),
                      "flow %d: http %s %s" % (i, m.get("method"), m.get("uri")),
                      "%r\n%r" % (g, m))

        with ck.section("ssh and smtp"):
            for i, f in flows.items():
                if "ssh" in f:
                    g = next((e["ssh"] for e in by.get("ssh", []) if e["flow_id"] == i), {})
                    cb = f["ssh"].get("client_banner", "")
                    sb = f["ssh"].get("server_banner", "")
                    ck.ok("SSH-%s-%s" % (g.get("client", {}).get("proto_version"),
                                         g.get("client", {}).get("software_version"))
                          == cb.split(" ")[0] and
                          "SSH-%s-%s" % (g.get("server", {}).get("proto_version"),
                                         g.get("server", {}).get("software_version"))
                          == sb.split(" ")[0],
                          "flow %d: ssh banners as proto and software versions" % i,
                          "%r\n%r" % (g, f["ssh"]))
                if "smtp" in f:
                    g = next((e["smtp"] for e in by.get("smtp", []) if e["flow_id"] == i), {})
                    s = f["smtp"]
                    ck.ok(g.get("helo") == s.get("helo") and
                          g.get("mail_from") == s.get("mail_from") and
                          g.get("rcpt_to") == s.get("rcpt_to") and s.get("rcpt_to"),
                          "flow %d: smtp helo, mail_from, rcpt_to" % i, "%r\n%r" % (g, s))

        with ck.section("selection and errors"):
            r, only = eve(db, ["--eve-types", "dns,tls"])
            ck.ok(r.rc == 0 and only and {e["event_type"] for e in only} == {"dns", "tls"} and
                  len(only) == len(by.get("dns", [])) + len(by.get("tls", [])),
                  "--eve-types dns,tls: exactly the dns and tls events", r.describe())
            r, only = eve(db, ["--protocol", "dns"])
            ck.ok(r.rc == 0 and only and
                  all(flows[e["flow_id"]].get("app") == "dns" for e in only),
                  "--protocol dns: only the events of DNS flows", r.describe())
            fid = min(flows)
            r, only = eve(db, ["--flow", str(fid)])
            ck.ok(r.rc == 0 and only and all(e["flow_id"] == fid for e in only),
                  "--flow %d: only that flow's events" % fid, r.describe())
            r, _ = eve(db, ["--eve-types", "dns,alerts"])
            ck.ok(r.rc == 3 and "alerts" in r.err, "an unknown event type exits 3 naming it",
                  r.describe())
            r = prtest.run(["metadata", "--session", "1", "--eve", "--json"], db=db)
            ck.ok(r.rc == 3 and "--eve" in r.err, "--eve with --json exits 3", r.describe())
            r = prtest.run(["metadata", "--session", "1", "--eve-types", "dns"], db=db)
            ck.ok(r.rc == 3 and "--eve" in r.err, "--eve-types without --eve exits 3",
                  r.describe())
            r = prtest.run(["metadata", "--session", "1", "--eve"], db=db, key="00" * 32)
            ck.ok(r.rc != 0 and "l7gen" not in r.out, "a wrong key reads nothing", r.describe())
    ck.finish()


if __name__ == "__main__":
    main()
