#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""L7 metadata through the whole pipeline: `packetrecorder capture -r` (the
dataplane's parsers, META records in the ring, the store's l7_meta table)
and `flows --json` (the app key and one key per protocol).

1. Generated fixture (tests/integration/l7gen.py): a TLS handshake, a DNS
   query and answer, an HTTP exchange (request split over two segments,
   one retransmitted), SSH banners and an SMTP dialogue with STARTTLS. Each
   flow's keys must equal the values l7gen.py computed from the bytes it
   wrote (JA3/JA3S strings and MD5s by the JA3 rules); `metadata` lists the
   same transactions one by one, by protocol and by flow; and a wrong key
   reads nothing.
2. IP fragments (l7gen.fragmented_dns()): DNS answers of 2.4 KB in three
   IPv4 fragments (completing on a later fragment) and three IPv6 ones
   (completing on the first) are parsed from the rebuilt datagrams, the
   store keeps the fragments, and `ipfrag_max_datagrams = 0` turns it off.
3. Corpus (../shared/corpus: tls, dns, http, ssh, smtp; skipped with a
   message when absent): per capture, the sets of SNI, JA3, JA3S, leaf
   certificate subjects, DNS query names, HTTP methods/hosts/URIs/user
   agents, SSH banners and HASSH values in `flows --json` against tshark's
   in <capture>.expect.json (the sets tests/l7/pr_l7_corpus.c builds).
   pr_l7_corpus runs on the same captures: every field-capture the
   parsers alone get equal to tshark must be equal through the pipeline
   too, and the rate of equal field-captures is printed.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest as T  # noqa: E402
import l7gen  # noqa: E402

CORPUS = os.environ.get("PR_CORPUS") or os.path.join(T.SOURCE_DIR, "..", "shared", "corpus")
DIRS = ("tls", "dns", "http", "ssh", "smtp")
CAPTURE_EXT = (".pcap", ".pcapng", ".cap")


def fixture_checks(c, tmp):
    pcap = os.path.join(tmp, "l7gen.pcap")
    frames, want = l7gen.build()
    l7gen.write_pcap(pcap, frames)
    db = os.path.join(tmp, "fixture.db")
    summ, _ = T.capture_file(db, pcap, extra=["-q"])
    c.eq(summ.get("packets"), len(frames), "fixture: every frame stored")
    flows = T.flows(db, "1")
    by_port = {f["dst_port"]: f for f in flows}
    for proto, w in want.items():
        f = by_port.get(w["dport"])
        if not c.ok(f is not None, "fixture: %s flow (port %d) listed" % (proto, w["dport"])):
            continue
        c.eq(f.get("app"), proto, "fixture: %s flow has app %s" % (proto, proto))
        got = f.get(proto)
        if proto in ("dns", "http"):
            if not c.ok(isinstance(got, list) and got, "fixture: %s is a non-empty list" % proto,
                        "got %r" % (got,)):
                continue
            if proto == "dns":
                resp = [m for m in got if m.get("response")]
                qry = [m for m in got if not m.get("response")]
                c.eq(len(qry), 1, "fixture: dns: one query")
                c.eq(len(resp), 1, "fixture: dns: one response")
                got = resp[0] if resp else {}
            else:
                c.eq(len(got), 1, "fixture: http: request and response in one element")
                got = got[0]
        for k, v in w.items():
            if k == "dport":
                continue
            c.eq((got or {}).get(k), v, "fixture: %s.%s" % (proto, k))
    # metadata: the stored transactions one by one, by protocol and by flow.
    rows = T.run_json(["metadata", "--session", "1", "--protocol", "dns"], db=db)[0]
    c.eq(sorted((r["kind"], r["dir"], r["fields"].get("qname")) for r in rows),
         [("app", "to_server", None), ("message", "to_client", "www.l7gen.example"),
          ("message", "to_server", "www.l7gen.example")],
         "metadata --protocol dns: the query, the response and the flow's app row")
    http_flow = by_port.get(80, {}).get("flow_id")
    rows = T.run_json(["metadata", "--session", "1", "--flow", str(http_flow)], db=db)[0]
    c.eq([(r["app"], r["kind"], r["flow_id"]) for r in rows],
         [("http", "request", http_flow), ("http", "response", http_flow),
          ("http", "app", http_flow)],
         "metadata --flow: only that flow's rows, in order, the app row last")
    rows = T.run_json(["metadata", "--session", "1"], db=db)[0]
    c.eq(sorted({r["app"] for r in rows if r["kind"] != "app"}),
         ["dns", "http", "smtp", "ssh", "tls"], "metadata: every protocol of the fixture")
    # The metadata lives in the encrypted store: opened with a wrong key, nothing is listed.
    r = T.run(["flows", "--session", "1", "--json"], db=db, key="not the key")
    c.ok(r.rc != 0 and "fixture.l7gen.example" not in r.out,
         "fixture: a wrong key reads no metadata", r.describe())
    depth_checks(c, tmp, pcap, len(frames))


def depth_checks(c, tmp, pcap, n_frames):
    """l7_depth_bytes: one window for every parser (the TCP reassembly depth).
    A window of 8 bytes holds no TLS ClientHello, HTTP request or SSH banner:
    the flows keep their packets and lose their metadata. Bad values of the
    three l7_ keys stop the capture with an error naming the key."""
    conf = os.path.join(tmp, "depth.conf")
    with open(conf, "w") as fh:
        fh.write("l7_depth_bytes = 8\nl7_buf_bytes = 4096\nl7_buf_count = 16\n")
    db = os.path.join(tmp, "depth.db")
    summ, _ = T.capture_file(db, pcap, extra=["-q", "--config", conf])
    c.eq(summ.get("packets"), n_frames, "l7_depth_bytes = 8: every frame stored")
    flows = T.flows(db, "1")
    c.ok(flows and not any(f.get(k) for f in flows for k in ("tls", "http", "ssh")),
         "l7_depth_bytes = 8: no TLS, HTTP or SSH metadata past the window",
         json.dumps(flows)[:1500])
    c.eq(sum(f["packets"] for f in flows), n_frames, "l7_depth_bytes = 8: the flows count "
         "every packet")
    refused(c, tmp, pcap, ("l7_depth_bytes = -1", "l7_buf_bytes = 100", "l7_buf_count = 70000",
                           "l7_depth_bytes = lots"))


def refused(c, tmp, pcap, lines):
    """Each config line stops the capture with an error naming its key."""
    conf = os.path.join(tmp, "bad.conf")
    for bad in lines:
        with open(conf, "w") as fh:
            fh.write(bad + "\n")
        r = T.run(["capture", "-r", pcap, "-q", "--config", conf], db=os.path.join(
            tmp, "bad.db"), timeout=60)
        c.ok(r.rc != 0 and bad.split()[0] in r.err, "%s: refused, naming the key" % bad,
             r.describe())


def fragment_checks(c, tmp):
    """DNS answers in IP fragments: the parsers see the rebuilt datagrams; the
    store keeps the fragments; with ipfrag_max_datagrams = 0 nothing is rebuilt."""
    pcap = os.path.join(tmp, "frag.pcap")
    frames, want = l7gen.fragmented_dns()
    l7gen.write_pcap(pcap, frames)
    db = os.path.join(tmp, "frag.db")
    summ, _ = T.capture_file(db, pcap, extra=["-q"])
    c.eq(summ.get("packets"), len(frames), "fragments: every frame stored")
    c.eq(summ.get("fragments"), 6, "fragments: six fragments counted")
    c.eq(summ.get("ipfrag"), {"reassembled": 2, "timeouts": 0, "evicted": 0, "dropped": 0},
         "fragments: capture --json says two datagrams were rebuilt")
    sid = str(summ.get("session_id"))
    pkts = T.query(db, sid)
    c.eq([p.get("cap_len") for p in pkts], [len(f) for f in frames],
         "fragments: the stored packets are the fragments as captured, not the datagrams")
    by_port = {f["src_port"]: f for f in T.flows(db, sid)}
    for cport, w in sorted(want.items()):
        f = by_port.get(cport)
        what = "fragments: %s" % w["qname"]
        if not c.ok(f is not None, what + ": its flow is listed"):
            continue
        msgs = f.get("dns") or []
        resp = [m for m in msgs if m.get("response")]
        if not c.eq(len(resp), 1, what + ": the response, rebuilt from 3 fragments, is parsed",
                    json.dumps(msgs)[:2000]):
            continue
        r = resp[0]
        c.eq((r.get("id"), r.get("qname"), r.get("rcode")), (w["id"], w["qname"], 0),
             what + ": id, qname and rcode of the response")
        ans = r.get("answers") or []
        # The parser keeps the first answers that fit (not all 150).
        c.ok(ans and ans[0].get("data") == w["first"] and
             all(a.get("name") == w["qname"] and a.get("type") == 1 for a in ans),
             what + ": the answers are the datagram's (%d kept)" % len(ans), json.dumps(ans)[:600])
    conf = os.path.join(tmp, "nofrag.conf")
    with open(conf, "w") as fh:
        fh.write("ipfrag_max_datagrams = 0\n")
    summ, _ = T.capture_file(db, pcap, extra=["-q", "--config", conf])
    c.eq(summ.get("ipfrag", {}).get("reassembled"), 0,
         "ipfrag_max_datagrams = 0: nothing is rebuilt")
    flows = T.flows(db, str(summ.get("session_id")))
    c.ok(not any(m.get("response") for f in flows for m in (f.get("dns") or [])) and
         any(f.get("dns") for f in flows),
         "ipfrag_max_datagrams = 0: the queries are parsed, the fragmented responses are not")


def reorder_checks(c, tmp):
    """TCP reassembly in the worker (l7gen.reordered()): segments that arrive
    early wait for the hole before them, a retransmission and an overlap
    are trimmed, a hole the server acknowledges past is given up; with
    tcp_reasm_held_bytes = 0, or too small to hold a segment, the
    reordered streams lose their metadata. The counters of capture --json
    are the ones the generator's streams must produce."""
    pcap = os.path.join(tmp, "reorder.pcap")
    frames, want, counters = l7gen.reordered()
    l7gen.write_pcap(pcap, frames)

    def run(name, conf_text):
        conf = os.path.join(tmp, name + ".conf")
        with open(conf, "w") as fh:
            fh.write(conf_text)
        db = os.path.join(tmp, name + ".db")
        summ, _ = T.capture_file(db, pcap, extra=["-q", "--config", conf])
        c.eq(summ.get("packets"), len(frames), "%s: every frame stored" % name)
        return summ, {f["src_port"]: f for f in T.flows(db, str(summ.get("session_id")))}

    def sub(got, w):
        """The keys of w in got (lists element by element)."""
        if isinstance(w, list):
            got = got if isinstance(got, list) else []
            return [sub(g, x) for g, x in zip(got, w)] + ([None] * (len(w) - len(got))) + \
                got[len(w):]
        return {k: (got or {}).get(k) for k in w}

    summ, flows = run("reorder", "")
    c.eq(summ.get("tcp_reasm"), counters,
         "reorder: capture --json tcp_reasm: 4 held, 1 retransmit, 1 overlap, 1 gap")
    c.eq((summ.get("l7") or {}).get("gaps"), 1,
         "reorder: the parsers stop one direction at the hole that never filled")
    c.ok((summ.get("l7") or {}).get("transactions", 0) >= 6 and
         (summ.get("l7") or {}).get("meta_lost") == 0,
         "reorder: l7 counts the transactions, none lost", json.dumps(summ.get("l7")))
    for cport, w in sorted(want.items()):
        f = flows.get(cport) or {}
        for proto, wv in w.items():
            c.eq(sub(f.get(proto), wv), wv, "reorder: client port %d: %s" % (cport, proto),
                 json.dumps(f)[:1500])

    # Off, or too small to hold a segment: the reordered hellos and request are lost.
    for name, text in (("reasm-off", "tcp_reasm_held_bytes = 0\n"),
                       ("reasm-16", "tcp_reasm_held_bytes = 16\n")):
        summ, flows = run(name, text)
        tls = (flows.get(41001) or {}).get("tls") or {}
        http = (flows.get(41002) or {}).get("http") or []
        c.ok(tls.get("sni") is None and tls.get("ja3s") is None,
             "%s: the TLS hellos that came out of order are not read" % name, json.dumps(tls))
        c.ok(not any(h.get("host") for h in http),
             "%s: the HTTP request that came out of order is not read" % name, json.dumps(http))
        if name == "reasm-off":
            c.eq(summ.get("tcp_reasm"), dict.fromkeys(counters, 0),
                 "reasm-off: nothing goes through reassembly")
        else:
            c.ok((summ.get("tcp_reasm") or {}).get("gaps", 0) >= 3,
                 "reasm-16: the holes are given up at once", json.dumps(summ.get("tcp_reasm")))
    refused(c, tmp, pcap, ("tcp_reasm_held_bytes = 99999999", "tcp_reasm_chunks = 8",
                           "tcp_reasm_chunks = many"))


# ---- corpus ----

FIELDS = ("tls.sni", "tls.ja3", "tls.ja3s", "tls.cert_subject", "ssh.banner", "ssh.hassh",
          "ssh.hassh_server", "dns.qname", "http.method", "http.host", "http.uri",
          "http.user_agent")


def tshark_sets(o):
    s = {f: set() for f in FIELDS}
    tls, ssh, dns, http = (o.get(k) or {} for k in ("tls", "ssh", "dns", "http"))
    for ch in tls.get("client_hellos") or []:
        for k in ("sni", "ja3"):
            if ch.get(k):
                s["tls." + k].add(ch[k])
    for sh in tls.get("server_hellos") or []:
        if sh.get("ja3s"):
            s["tls.ja3s"].add(sh["ja3s"])
    for ce in tls.get("certificates") or []:
        if ce.get("from_server") is True and ce.get("subject"):
            s["tls.cert_subject"].add(ce["subject"])
    for b in ssh.get("banners") or []:
        if b.get("banner"):
            s["ssh.banner"].add(b["banner"])
    for k in ("hassh", "hassh_server"):
        for h in ssh.get(k) or []:
            if h.get(k):
                s["ssh." + k].add(h[k])
    for e in dns.get("entries") or []:
        q = e.get("questions")
        if e.get("nested") is True or not isinstance(q, list):
            continue
        if q and q[0].get("name"):
            s["dns.qname"].add(q[0]["name"])
    for r in http.get("requests") or []:
        for k in ("method", "host", "uri", "user_agent"):
            if r.get(k):
                s["http." + k].add(r[k])
    return s


def our_sets(flows):
    s = {f: set() for f in FIELDS}
    for f in flows:
        for key in ("tls", "quic", "dtls"):
            t = f.get(key) or {}
            for k in ("sni", "ja3", "ja3s", "cert_subject"):
                if t.get(k):
                    s["tls." + k].add(t[k])
        ssh = f.get("ssh") or {}
        for k in ("client_banner", "server_banner"):
            if ssh.get(k):
                s["ssh.banner"].add(ssh[k])
        for k in ("hassh", "hassh_server"):
            if ssh.get(k):
                s["ssh." + k].add(ssh[k])
        for m in f.get("dns") or []:
            if m.get("qname"):
                s["dns.qname"].add(m["qname"])
        for m in f.get("http") or []:
            for k in ("method", "host", "uri", "user_agent"):
                if m.get(k):
                    s["http." + k].add(m[k])
    return s


def corpus_tool_diffs(rels, dirs=None):
    """(capture, field) pairs pr_l7_corpus reports as DIFF or EXCEPTED."""
    exe = None
    for cand in ("dataplane/pr_l7_corpus", "tests/l7/pr_l7_corpus"):
        p = os.path.join(T.BUILD_DIR, cand)
        if os.path.exists(p):
            exe = p
    if not exe:
        return None
    r = subprocess.run([exe, "-v", CORPUS] + (dirs or [d + "/" for d in DIRS]), capture_output=True,
                       text=True, timeout=1200)
    out = set()
    for line in r.stdout.splitlines():
        for tag in ("DIFF ", "EXCEPTED "):
            if line.startswith(tag) and ": " in line:
                rel, field = line[len(tag):].split(": ", 1)
                out.add((rel, field.strip()))
    return out


def corpus_checks(c, tmp):
    if not os.path.isdir(CORPUS):
        print("-- corpus: skipped: %s is absent" % CORPUS)
        return
    rels = []
    for d in DIRS:
        dd = os.path.join(CORPUS, d)
        if not os.path.isdir(dd):
            continue
        for n in sorted(os.listdir(dd)):
            if n.endswith(CAPTURE_EXT) and os.path.exists(os.path.join(dd, n + ".expect.json")):
                rels.append(d + "/" + n)
    if not rels:
        print("-- corpus: skipped: no captures with .expect.json under %s" % CORPUS)
        return
    tool = corpus_tool_diffs(rels)
    if tool is None:
        print("-- corpus: pr_l7_corpus not built: pipeline checked against tshark only")
        tool = set()
    db = os.path.join(tmp, "corpus.db")
    total = equal = 0
    pipeline_only = []
    for sid, rel in enumerate(rels, 1):
        with open(os.path.join(CORPUS, rel + ".expect.json")) as fh:
            oracle = json.load(fh)
        r = T.run(["capture", "-r", os.path.join(CORPUS, rel), "-s", "262144", "-q", "--json"],
                  db=db, key=None, timeout=600)
        if not c.ok(r.rc == 0, "corpus %s: stored" % rel, r.describe()):
            return
        flows = T.run_json(["flows", "--session", str(sid)], db=db, key=None)[0]
        want, got = tshark_sets(oracle), our_sets(flows)
        for f in FIELDS:
            if not want[f] and not got[f]:
                continue
            total += 1
            if want[f] == got[f]:
                equal += 1
            elif (rel, f) not in tool:
                pipeline_only.append("%s %s: missing %s, extra %s" % (
                    rel, f, sorted(want[f] - got[f])[:3], sorted(got[f] - want[f])[:3]))
    print("-- corpus: %d captures, %d field-captures, %d equal to tshark (%.1f %%), "
          "%d differences pr_l7_corpus also has" % (
              len(rels), total, equal, 100.0 * equal / max(total, 1),
              total - equal - len(pipeline_only)))
    c.ok(total > 0, "corpus: some field-captures compared")
    c.ok(not pipeline_only, "corpus: no field-capture differs through the pipeline that the "
         "parsers alone get right", "\n".join(pipeline_only))


# The other protocols: tshark's -T fields values (tests/l7/oracle.json, made by
# tests/l7/make_oracle.py) against the same fields of flows --json. Each entry:
# tshark field -> (flow key, transaction filter, our field).
OTHER_DIRS = ("bgp", "eigrp", "icmp", "ldap", "netbios", "netflow", "ntp", "ospf", "rip",
              "sflow", "snmp")
OTHER_FIELDS = {
    "ldap.protocolOp": ("ldap", None, "op"),
    "ldap.resultCode": ("ldap", None, "result"),
    "bgp.type": ("bgp", None, "type"),
    "bgp.open.identifier": ("bgp", None, "router_id"),
    "bgp.open.holdtime": ("bgp", None, "hold_time"),
    "ntp.flags.vn": ("ntp", None, "version"),
    "ntp.flags.mode": ("ntp", None, "mode"),
    "ntp.stratum": ("ntp", None, "stratum"),
    "ospf.srcrouter": ("ospf", None, "router_id"),
    "ospf.area_id": ("ospf", None, "area_id"),
    "eigrp.as": ("eigrp", None, "as"),
    "eigrp.opcode": ("eigrp", None, "opcode"),
    "snmp.community": ("snmp", None, "community"),
    "sflow_245.agent": ("sflow", lambda m: ":" not in m.get("agent", ""), "agent"),
    "sflow_245.agent.v6": ("sflow", lambda m: ":" in m.get("agent", ""), "agent"),
    "icmp.type": ("icmp", lambda m: m.get("version") == 4, "type"),
    "icmp.code": ("icmp", lambda m: m.get("version") == 4, "code"),
    "icmpv6.type": ("icmp", lambda m: m.get("version") == 6, "type"),
    "icmpv6.code": ("icmp", lambda m: m.get("version") == 6, "code"),
    "nbns.name": ("netbios", lambda m: m.get("kind") == "nbns", "name"),
    "cflow.version": ("netflow", lambda m: m.get("kind") == "export", "version"),
}


def other_sets(flows):
    s = {f: set() for f in OTHER_FIELDS}
    for fl in flows:
        for field, (key, keep, ours) in OTHER_FIELDS.items():
            msgs = fl.get(key)
            for m in msgs if isinstance(msgs, list) else []:
                if (keep is None or keep(m)) and m.get(ours) not in (None, ""):
                    s[field].add(str(m[ours]))
    return s


def other_checks(c, tmp):
    """The parsers' fields of the protocols other than TLS, DNS, HTTP, SSH and
    SMTP reach flows --json: every field-capture pr_l7_corpus gets equal to
    tshark must be equal through capture, store and flows too."""
    path = os.path.join(T.SOURCE_DIR, "tests", "l7", "oracle.json")
    if not os.path.isdir(CORPUS):
        print("-- other protocols: skipped: %s is absent" % CORPUS)
        return
    with open(path) as fh:
        oracle = json.load(fh)["captures"]
    rels = sorted(r for r in oracle if r.split("/")[0] in OTHER_DIRS and
                  os.path.exists(os.path.join(CORPUS, r)))
    tool = corpus_tool_diffs(rels, [d + "/" for d in OTHER_DIRS])
    if tool is None:
        print("-- other protocols: skipped: pr_l7_corpus is not built")
        return
    db = os.path.join(tmp, "other.db")
    total = equal = 0
    bad = []
    for sid, rel in enumerate(rels, 1):
        r = T.run(["capture", "-r", os.path.join(CORPUS, rel), "-s", "262144", "-q", "--json"],
                  db=db, key=None, timeout=600)
        if not c.ok(r.rc == 0, "other protocols %s: stored" % rel, r.describe()):
            return
        got = other_sets(T.run_json(["flows", "--session", str(sid)], db=db, key=None)[0])
        for f in OTHER_FIELDS:
            want = {str(v) for v in oracle[rel].get(f) or []}
            if f == "nbns.name":
                # tshark's words after the name: "NAME<00> (Workstation/Redirector)".
                want = {v.split(" (")[0] for v in want}
            if not want and not got[f]:
                continue
            total += 1
            if want == got[f]:
                equal += 1
            elif (rel, f) not in tool:
                bad.append("%s %s: missing %s, extra %s" % (
                    rel, f, sorted(want - got[f])[:3], sorted(got[f] - want)[:3]))
    print("-- other protocols: %d captures, %d field-captures, %d equal to tshark (%.1f %%)"
          % (len(rels), total, equal, 100.0 * equal / max(total, 1)))
    c.ok(total >= 50, "other protocols: %d field-captures compared" % total)
    c.ok(not bad, "other protocols: no field-capture differs through the pipeline that the "
         "parsers alone get right", "\n".join(bad))


def sctp_checks(c, tmp):
    """SCTP chunks through the pipeline: an association's INIT, INIT ACK,
    DATA with two payload protocols and its ABORT, both directions on one
    flow with app "sctp" and one element per packet."""
    import struct
    import tungen
    a, b = bytes([10, 3, 0, 1]), bytes([10, 3, 0, 2])

    def pkt(src, dst, vtag, chunks):
        body = struct.pack("!HHII", 36412, 36412, vtag, 0) + chunks
        return tungen.eth(0x0800, tungen.ipv4(src, dst, 132, body))

    def chunk(ctype, flags, value):
        raw = struct.pack("!BBH", ctype, flags, 4 + len(value)) + value
        return raw + b"\0" * (-len(raw) % 4)

    init = chunk(1, 0, struct.pack("!IIHHI", 0xA1, 65536, 4, 4, 77))
    init_ack = chunk(2, 0, struct.pack("!IIHHI", 0xB2, 65536, 2, 4, 500))
    data = (chunk(0, 3, struct.pack("!IHHI", 77, 0, 0, 18) + b"s1ap") +
            chunk(0, 3, struct.pack("!IHHI", 78, 1, 0, 46) + b"diameter!"))
    frames = [pkt(a, b, 0, init), pkt(b, a, 0xA1, init_ack), pkt(a, b, 0xB2, data),
              pkt(b, a, 0xA1, chunk(6, 0, struct.pack("!HH", 13, 4)))]
    pcap = os.path.join(tmp, "sctp.pcap")
    l7gen.write_pcap(pcap, frames)
    db = os.path.join(tmp, "sctp.db")
    summ, _ = T.capture_file(db, pcap, extra=["-q"])
    flows = T.flows(db, "1")
    c.eq(len(flows), 1, "sctp: one flow for the association", json.dumps(flows)[:800])
    f = flows[0] if flows else {}
    c.eq((f.get("ip_proto"), f.get("packets_to_server"), f.get("packets_to_client")),
         (132, 2, 2), "sctp: protocol 132, both directions")
    c.eq(f.get("app"), "sctp", "sctp: app")
    got = f.get("sctp") or []
    c.eq([m.get("chunks") for m in got], [["INIT"], ["INIT_ACK"], ["DATA", "DATA"], ["ABORT"]],
         "sctp: the chunks of each packet", json.dumps(got))
    if len(got) == 4:
        c.eq((got[0].get("initiate_tag"), got[0].get("out_streams"), got[0].get("initial_tsn")),
             (0xA1, 4, 77), "sctp: INIT's initiate tag, streams and TSN")
        c.eq((got[2].get("vtag"), got[2].get("n_data"), got[2].get("data_bytes"),
              got[2].get("ppids")), (0xB2, 2, 13, ["18", "46"]),
             "sctp: DATA chunks, user bytes, payload protocols")
        c.eq(got[3].get("cause"), 13, "sctp: ABORT's cause")
    r = T.run(["flows", "--session", "1", "--json", "--where", "sctp.ppids == 46"], db=db)
    c.ok(r.rc == 0 and len(r.json()) == 1, "sctp: --where sctp.ppids == 46", r.describe())


def main():
    c = T.Checks("l7 metadata through capture, store and flows --json")
    with tempfile.TemporaryDirectory(prefix="pr-l7-") as tmp:
        with c.section("generated fixture"):
            fixture_checks(c, tmp)
        with c.section("IP fragments"):
            fragment_checks(c, tmp)
        with c.section("TCP reassembly"):
            reorder_checks(c, tmp)
        with c.section("corpus"):
            corpus_checks(c, tmp)
        with c.section("other protocols"):
            other_checks(c, tmp)
        with c.section("SCTP chunks"):
            sctp_checks(c, tmp)
    c.finish()


if __name__ == "__main__":
    main()
