#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`flows --where EXPR` against the flows it should select.

A capture with L7 content is generated (tests/integration/l7gen.py's TCP,
TLS and DNS builders): TLS flows with different SNIs and ports, DNS flows
with one and with two queries, HTTP flows with one and with two requests
on one connection, l7gen's SSH and SMTP dialogues, and UDP and TCP flows
that no parser recognises. It is stored with `capture -r`; the unfiltered
`flows --json` is the ground truth. For each expression the set of flows
`flows --json --where EXPR` returns (and the FLOW column of the text
output) must equal the set a Python predicate written for that expression
selects from the unfiltered output, in the same order; every expected set
is checked to be neither empty nor everything, so a filter that passes all
or nothing fails. Every scalar key of a flow is also compared by `KEY ==
VALUE` against Python's ==, so the filter sees the keys flows --json
prints. --limit counts matching flows, --flow combines, and bad
expressions exit 3 (usage) naming the position and the token, before the
store is opened. GET /api/v1/sessions/1/flows?where= answers as the CLI
does, and a bad expression there is a 400 with the same message.
"""
import os
import re
import struct
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest as T  # noqa: E402
import l7gen  # noqa: E402
import httptest  # noqa: E402

ck = T.Checks("test_cli_where")


def at(client, server):
    l7gen.CLIENT, l7gen.SERVER = bytes(client), bytes(server)


def dns_msg(qid, qname, answer=None):
    flags = 0x8180 if answer else 0x0100
    m = struct.pack("!HHHHHH", qid, flags, 1, 1 if answer else 0, 0, 0) + \
        l7gen.dns_name(qname) + struct.pack("!HH", 1, 1)
    if answer:
        m += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes(answer)
    return m


def tls_flow(frames, cport, sport, sni):
    ch, _ = l7gen.client_hello(sni)
    sh, _ = l7gen.server_hello()
    t = l7gen.Tcp(frames, cport, sport)
    t.send(0, ch)
    t.send(1, sh)
    t.close()


def http_flow(frames, cport, sport, reqs):
    t = l7gen.Tcp(frames, cport, sport)
    for host, ua, uri in reqs:
        t.send(0, b"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n\r\n" % (
            uri.encode(), host.encode(), ua.encode()))
        body = b"ok"
        t.send(1, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
               % len(body) + body)
    t.close()


def build():
    frames, _ = l7gen.build()  # tls, dns, http, ssh, smtp between 10.7.0.1 and 10.7.0.2
    at([10, 7, 1, 1], [192, 0, 2, 1])
    tls_flow(frames, 41001, 443, "www.example.com")
    tls_flow(frames, 41002, 443, "api.example.org")
    at([10, 7, 2, 1], [198, 51, 100, 9])
    tls_flow(frames, 41003, 8443, "portal.test")
    at([10, 7, 1, 2], [192, 0, 2, 53])
    for qid, name, port in ((1, "www.example.com", 42001), (2, "mail.example.org", 42002)):
        l7gen.udp(frames, 0, port, 53, dns_msg(qid, name))
        l7gen.udp(frames, 1, port, 53, dns_msg(qid, name, [192, 0, 2, 7 + qid]))
    # Two queries on one flow: the second name must be found too.
    l7gen.udp(frames, 0, 42003, 53, dns_msg(3, "a.example.net"))
    l7gen.udp(frames, 1, 42003, 53, dns_msg(3, "a.example.net", [192, 0, 2, 30]))
    l7gen.udp(frames, 0, 42003, 53, dns_msg(4, "b.sample.com"))
    l7gen.udp(frames, 1, 42003, 53, dns_msg(4, "b.sample.com", [192, 0, 2, 31]))
    at([10, 7, 2, 2], [203, 0, 113, 80])
    http_flow(frames, 43001, 80, [("a.example", "curl/8.1", "/one"),
                                  ("b.example", "Mozilla/5.0 (X11)", "/two")])
    http_flow(frames, 43002, 8080, [("api.test", "python-requests/2.31", "/v1")])
    at([10, 7, 3, 1], [203, 0, 113, 9])
    for i in range(3):
        l7gen.udp(frames, i % 2, 44000 + i, 9999, bytes([0x5A, i]) * 20)
    t = l7gen.Tcp(frames, 44100, 7777)
    t.send(0, b"\x00\x01binary")
    t.close()
    return frames


# ---- the semantics, written out in Python for each expression ----

def vals(f, path):
    """Every value at a dotted path, lists walked into (any element)."""
    out = []

    def walk(o, comps):
        if isinstance(o, list):
            for e in o:
                walk(e, comps)
        elif not comps:
            out.append(o)
        elif isinstance(o, dict) and comps[0] in o:
            walk(o[comps[0]], comps[1:])
    walk(f, path.split("."))
    return out


def strs(f, *paths):
    return [v for p in paths for v in vals(f, p) if isinstance(v, str)]


def nums(f, *paths):
    return [v for p in paths for v in vals(f, p)
            if isinstance(v, (int, float)) and not isinstance(v, bool)]


def rx(pattern, f, *paths):
    return any(re.search(pattern, v, re.I) for v in strs(f, *paths))


SNI = ("tls.sni", "quic.sni", "dtls.sni")
PORT = ("src_port", "dst_port")
IP = ("src_ip", "dst_ip")


def cases(flows):
    ja3 = next(v for f in flows for v in strs(f, "tls.ja3"))
    mid = sorted(f["bytes"] for f in flows)[len(flows) // 2]
    return [
        ("sni ~ example", lambda f: rx("example", f, *SNI)),
        ("tls.sni ~ example", lambda f: rx("example", f, "tls.sni")),
        ("app == dns and qname ~ \"\\.com$\"",
         lambda f: f.get("app") == "dns" and rx(r"\.com$", f, "dns.qname")),
        ("qname == b.sample.com", lambda f: "b.sample.com" in strs(f, "dns.qname")),
        ("qname != www.example.com", lambda f: "www.example.com" not in strs(f, "dns.qname")),
        ("dns.answers.data == 192.0.2.7", lambda f: "192.0.2.7" in strs(f, "dns.answers.data")),
        ("port == 53 or port == 443", lambda f: bool({53, 443} & set(nums(f, *PORT)))),
        ("port != 443", lambda f: 443 not in nums(f, *PORT)),
        ("not app", lambda f: not f.get("app")),
        ("app", lambda f: bool(f.get("app"))),
        ("host == b.example", lambda f: "b.example" in strs(f, "http.host")),
        ("ua ~ \"^(curl|python)\"", lambda f: rx("^(curl|python)", f, "http.user_agent")),
        ("user_agent ~ MOZILLA and http.uri == /one",
         lambda f: rx("mozilla", f, "http.user_agent") and "/one" in strs(f, "http.uri")),
        ("ja3 == " + ja3, lambda f: ja3 in strs(f, "tls.ja3")),
        ("ja4", lambda f: any(strs(f, "tls.ja4", "quic.ja4", "dtls.ja4"))),
        ("tls.alpn == h2 and dst_port != 443",
         lambda f: "h2" in strs(f, "tls.alpn") and f["dst_port"] != 443),
        ("bytes > %d" % mid, lambda f: f["bytes"] > mid),
        ("bytes <= %d and tcp_state == none" % mid,
         lambda f: f["bytes"] <= mid and f["tcp_state"] == "none"),
        ("ip_proto == 17 and not (port == 53)",
         lambda f: f["ip_proto"] == 17 and 53 not in nums(f, *PORT)),
        ("not (app == tls or app == dns) and app",
         lambda f: f.get("app") and f["app"] not in ("tls", "dns")),
        ("smtp.rcpt_to ~ carol", lambda f: rx("carol", f, "smtp.rcpt_to")),
        ("ssh.client_banner ~ l7genclient", lambda f: rx("l7genclient", f, "ssh.client_banner")),
        ("ip in 10.7.2.0/24", lambda f: any(v.startswith("10.7.2.") for v in strs(f, *IP))),
        ("ip == 203.0.113.9 or addr == 192.0.2.53",
         lambda f: bool({"203.0.113.9", "192.0.2.53"} & set(strs(f, *IP)))),
        ("dst_ip ~ \"^198\\.51\\.\"", lambda f: f["dst_ip"].startswith("198.51.")),
    ]


def quote(v):
    return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')


def text_ids(out):
    lines = out.splitlines()
    return [int(ln.split()[0]) for ln in lines[1:] if ln.strip()]


def where(db, expr, extra=(), json_out=True, sid="1"):
    args = ["flows", "--session", sid, "--where", expr] + list(extra)
    r = T.run(args + (["--json"] if json_out else []), db=db)
    if r.rc != 0:
        raise T.TestError("exit %s\n%s" % (r.rc, r.describe()))
    return r.json() if json_out else r.out


def main(tmp):
    pcap = os.path.join(tmp, "where.pcap")
    frames = build()
    l7gen.write_pcap(pcap, frames)
    db = os.path.join(tmp, "where.db")
    T.capture_file(db, pcap, extra=["-q"])
    flows = T.flows(db, "1")
    ids = [f["flow_id"] for f in flows]
    apps = sorted({f.get("app") or "-" for f in flows})
    ck.ok(len(flows) >= 15 and {"tls", "dns", "http", "ssh", "smtp", "-"} <= set(apps),
          "the capture has %d flows with apps %s" % (len(flows), apps))

    with ck.section("expressions select what their Python predicate selects"):
        for expr, pred in cases(flows):
            want = [f["flow_id"] for f in flows if pred(f)]
            got = where(db, expr)
            ck.ok(0 < len(want) < len(flows), "%s: selects %d of %d flows (neither none nor all)"
                  % (expr, len(want), len(flows)))
            ck.eq([f["flow_id"] for f in got], want, "--json --where '%s'" % expr)
            # The selected flows are printed whole, as without --where.
            ck.ok(got == [f for f in flows if f["flow_id"] in want],
                  "--where '%s': the flows are the unfiltered objects" % expr)
            ck.eq(text_ids(where(db, expr, json_out=False)), want,
                  "text --where '%s'" % expr)

    with ck.section("every scalar key as flows --json prints it"):
        checked = 0
        for f in flows[:: max(1, len(flows) // 4)]:
            for k, v in f.items():
                if isinstance(v, bool) or v is None or isinstance(v, (dict, list)):
                    continue
                expr = "%s == %s" % (k, quote(v) if isinstance(v, str) else v)
                want = [g["flow_id"] for g in flows if g.get(k) == v]
                ck.eq([g["flow_id"] for g in where(db, expr)], want, "--where '%s'" % expr)
                checked += 1
        ck.ok(checked >= 40, "%d key comparisons" % checked)

    with ck.section("--limit counts matching flows; --flow combines"):
        want = [f["flow_id"] for f in flows if f.get("app") in ("dns", "http")]
        ck.eq([f["flow_id"] for f in where(db, "app == dns or app == http", ["--limit", "2"])],
              want[:2], "--limit 2: the first two matching flows")
        ck.eq(text_ids(where(db, "app == http", ["--limit", "1"], json_out=False)),
              [f["flow_id"] for f in flows if f.get("app") == "http"][:1], "text --limit 1")
        ck.eq([f["flow_id"] for f in where(db, "app == dns", ["--flow", str(want[0])])],
              [want[0]], "--flow of a matching flow")
        non_dns = next(i for i, f in zip(ids, flows) if f.get("app") != "dns")
        ck.eq(where(db, "app == dns", ["--flow", str(non_dns)]), [],
              "--flow of a flow that does not match: nothing")
        ck.eq(where(db, "nosuch.field == 1"), [], "an unknown field matches nothing")
        ck.eq(text_ids(where(db, "snii ~ example", json_out=False)), [],
              "a misspelt shortcut is a path: no flows, no error")

    with ck.section("bad expressions: exit 3, the position and the token"):
        for expr, msg in (
                ("tls.sni ~ ", 'at 11: expected a value after "~", got the end'),
                ("app == dns and", "at 15: expected a field name, got the end"),
                ("(app == dns", 'at 12: expected ")" to close the "(" at 1, got the end'),
                ("port < abc", 'at 8: expected a number after "<", got "abc"'),
                ("app = dns", 'at 5: unexpected "=" (compare with "==")'),
                ("app dns", 'at 5: expected "and", "or" or the end, got "dns"'),
                ('sni ~ "(("', "at 7: bad regular expression"),
                ("", "at 1: empty expression"),
                ("(" * 65 + "app", 'at 65: nested deeper than 64 parentheses and "not"'),
                ("app " * 1100, "the expression is longer than 4096 bytes (the limit)"),
                ("a" + " or a" * 300, "at 1276: more than 256 comparisons and operators")):
            for extra in ([], ["--json"]):
                r = T.run(["flows", "--session", "1", "--where", expr] + extra, db=db)
                ck.ok(r.rc == 3 and "flows: --where: " + msg in r.err and not r.out.strip(),
                      "--where %r%s: exit 3 with %r" % (expr[:30], " --json" if extra else "",
                                                         msg), r.describe(limit=300))
        # Checked before the store is opened: no store needed for a usage error.
        r = T.run(["flows", "--session", "1", "--where", "port <"],
                  db=os.path.join(tmp, "none.db"))
        ck.ok(r.rc == 3 and "at 7: expected a value" in r.err,
              "a bad expression is a usage error even without a store", r.describe())

    with ck.section("the HTTP API: ?where= as flows --where"):
        http_ids = [f["flow_id"] for f in flows if f.get("app") == "http"]
        with httptest.Server(db=db) as srv:
            for expr, extra in (("sni ~ example", []), ("not app", []),
                                ('app == dns and qname ~ "\\.com$"', []),
                                ("port == 53 or port == 443", ["--limit", "3"]),
                                ("app == http", ["--flow", str(http_ids[-1])])):
                q = {"where": expr}
                if extra:
                    q[extra[0].lstrip("-")] = extra[1]
                r = httptest.curl(srv.base + "/api/v1/sessions/1/flows?" +
                                  urllib.parse.urlencode(q))
                want = where(db, expr, extra)
                ck.ok(r.status == 200 and r.json() == want,
                      "?%s: as flows --where (%d flows)" % (urllib.parse.urlencode(q),
                                                            len(want)), r.describe())
            r = httptest.curl(srv.base + "/api/v1/sessions/1/flows?" +
                              urllib.parse.urlencode({"where": "tls.sni ~ "}))
            ck.ok(r.status == 400 and
                  'where: at 11: expected a value after "~", got the end' in
                  str(list(r.json().values()) if r.status == 400 else ""),
                  "a bad ?where= is a 400 with the position", r.describe())

    with ck.section("the HTTP API: ?where= over a large session sends as it scans"):
        # A filter that matches few of many flows: every 512 flows that do
        # not match end a piece with a newline (JSON whitespace), so bytes
        # flow while the daemon scans and a client that left is noticed.
        big = os.path.join(tmp, "big.pcap")
        r = T.run(["generate", "-o", big, "-n", "20000", "--seed", "3"], key=None)
        ck.rc(r, 0, "generate 20000 packets")
        T.capture_file(db, big, extra=["-q"])
        big_flows = T.flows(db, "2")
        last = big_flows[-1]["flow_id"]
        ck.ok(len(big_flows) > 2 * 512, "session 2 has %d flows" % len(big_flows))
        with httptest.Server(db=db) as srv:
            def get(sid, expr):
                return httptest.curl(srv.base + "/api/v1/sessions/%s/flows?" % sid +
                                     urllib.parse.urlencode({"where": expr}))
            base = get(1, "app == nothing").body.count(b"\n")
            r = get(2, "app == nothing")
            ck.ok(r.status == 200 and r.json() == [], "no flow matches: [] (JSON)",
                  r.describe())
            ck.eq(r.body.count(b"\n") - base, len(big_flows) // 512,
                  "one newline per 512 flows scanned without a match (%d flows)"
                  % len(big_flows))
            r = get(2, "flow_id == %d" % last)
            ck.ok(r.status == 200 and r.json() == where(db, "flow_id == %d" % last, sid="2"),
                  "the last flow, after the scan's newlines: as flows --where", r.describe())


with T.tmpdir() as tmpd:
    main(tmpd)
ck.finish()
