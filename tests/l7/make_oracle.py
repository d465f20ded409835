#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write tests/l7/oracle.json: tshark's values of the fields that
tests/l7/pr_l7_corpus.c compares for the protocols the corpus's own
oracle files (<capture>.expect.json, made by bench/make_expect.py) do not
cover: LDAP, NetBIOS, SMB, BGP, OSPF, EIGRP, RIP, SNMP, NTP, NetFlow,
sFlow, DHCP, Kerberos, SIP, ICMP, DTLS.

For every capture whose expect.json lists one of these protocols in
"protocols", tshark runs once per protocol group with -n, the capture's
decode-as rules, a display filter that keeps the group's own frames
(quoted copies in ICMP errors and packets sampled by sFlow left out, as
our parsers never see those), and -T fields; the output is the sorted set
of values per field. Run it again after the corpus changes:

    python3 tests/l7/make_oracle.py ../shared/corpus > tests/l7/oracle.json

    python3 tests/l7/make_oracle.py --update tests/l7/oracle.json --groups bgp,sflow \
        ../shared/corpus > new.json     # only some groups again

Standard library and tshark only. The file records the tshark version.
"""
import json
import os
import subprocess
import sys

# group: (protocols in expect.json, display filter, occurrence, fields)
NOT_NESTED = " and !icmp and !icmpv6 and !sflow"
GROUPS = {
    "ldap": (["ldap", "cldap"], "(ldap or cldap)" + NOT_NESTED, "a",
             ["ldap.protocolOp", "ldap.name", "ldap.baseObject", "ldap.resultCode",
              "ldap.objectName"]),
    "nbns": (["nbns"], "nbns" + NOT_NESTED, "a", ["nbns.name"]),
    "nbdgm": (["nbdgm"], "nbdgm" + NOT_NESTED, "a",
              ["nbdgm.source_name", "nbdgm.destination_name"]),
    "nbss": (["nbss"], "nbss" + NOT_NESTED, "a", ["nbss.called_name", "nbss.calling_name"]),
    "smb": (["smb", "smb2"], "(smb or smb2) and tcp" + NOT_NESTED, "a",
            ["smb.dialect", "smb2.dialect"]),
    "bgp": (["bgp"], "bgp" + NOT_NESTED, "a",
            ["bgp.type", "bgp.open.myas", "bgp.open.identifier", "bgp.open.holdtime",
             "bgp.nlri_prefix", "bgp.withdrawn_prefix", "bgp.mp_reach_nlri_ipv4_prefix",
             "bgp.mp_reach_nlri_ipv6_prefix", "bgp.mp_unreach_nlri_ipv4_prefix",
             "bgp.mp_unreach_nlri_ipv6_prefix", "bgp.notify.major_error"]),
    "ospf": (["ospf"], "ospf" + NOT_NESTED, "a", ["ospf.msg", "ospf.srcrouter", "ospf.area_id"]),
    "eigrp": (["eigrp"], "eigrp" + NOT_NESTED, "f", ["eigrp.opcode", "eigrp.as"]),
    "rip": (["rip", "ripng"], "(rip or ripng)" + NOT_NESTED, "a",
            ["rip.command", "rip.version", "rip.ip", "ripng.cmd", "ripng.rte.ipv6_prefix"]),
    "snmp": (["snmp"], "snmp" + NOT_NESTED, "a",
             ["snmp.community", "snmp.name", "snmp.data", "snmp.msgUserName"]),
    "ntp": (["ntp"], "ntp" + NOT_NESTED, "f", ["ntp.flags.vn", "ntp.flags.mode", "ntp.stratum"]),
    "cflow": (["cflow"], "cflow" + NOT_NESTED, "a",
              ["cflow.version", "cflow.count", "cflow.srcaddr", "cflow.dstaddr"]),
    "sflow": (["sflow"], "sflow", "f",
              ["sflow_245.agent", "sflow_245.agent.v6", "sflow_245.numsamples"]),
    "dhcp": (["dhcp", "dhcpv6"], "(dhcp or dhcpv6)" + NOT_NESTED, "a",
             ["dhcp.option.dhcp", "dhcp.hw.mac_addr", "dhcp.option.hostname", "dhcp.ip.your",
              "dhcpv6.msgtype"]),
    "kerberos": (["kerberos"], "kerberos" + NOT_NESTED, "a",
                 ["kerberos.msg_type", "kerberos.realm", "kerberos.CNameString",
                  "kerberos.SNameString"]),
    "sip": (["sip"], "sip" + NOT_NESTED, "a", ["sip.Method", "sip.Status-Code", "sip.Call-ID"]),
    "dtls": (["dtls"], "dtls" + NOT_NESTED, "a",
             ["dtls.handshake.extensions_server_name", "dtls.handshake.ja3",
              "dtls.handshake.ja3s"]),
    "icmp": (["icmp", "icmpv6"], "(icmp or icmpv6) and !sflow", "f",
             ["icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code"]),
}

AGG = "\x1f"


def tshark_version():
    out = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "unknown"


def run(cap, rules, flt, occ, fields):
    cmd = ["tshark", "-r", cap, "-n", "-Y", flt, "-T", "fields", "-E", "occurrence=" + occ,
           "-E", "aggregator=" + AGG, "-E", "separator=/t"]
    for r in rules:
        cmd += ["-d", r]
    for f in fields:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True, errors="surrogateescape")
    sets = {f: set() for f in fields}
    for line in res.stdout.splitlines():
        cols = line.split("\t")
        for f, c in zip(fields, cols):
            for v in c.split(AGG):
                if v != "":
                    sets[f].add(v)
    return sets


def main():
    args = sys.argv[1:]
    base, only = None, None
    while args and args[0].startswith("--"):
        if args[0] == "--update" and len(args) > 1:
            with open(args[1]) as f:
                base = json.load(f)
            args = args[2:]
        elif args[0] == "--groups" and len(args) > 1:
            only = set(args[1].split(","))
            args = args[2:]
        else:
            break
    if len(args) != 1 or (only and not base):
        sys.exit("usage: make_oracle.py [--update OLD.json --groups g1,g2] CORPUS_DIR > oracle.json")
    root = args[0]
    out = base or {"schema": 1, "captures": {}}
    out["tshark"] = tshark_version()
    out["groups"] = {g: v[3] for g, v in GROUPS.items()}
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if not name.endswith(".expect.json"):
                continue
            cap = os.path.join(dirpath, name[: -len(".expect.json")])
            rel = os.path.relpath(cap, root)
            with open(os.path.join(dirpath, name)) as f:
                protos = json.load(f).get("protocols", {})
            rules = []
            if os.path.exists(cap + ".decode-as"):
                with open(cap + ".decode-as") as f:
                    rules = [l.strip() for l in f if l.strip() and not l.startswith("#")]
            entry = out["captures"].get(rel, {})
            for g, (names, flt, occ, fields) in GROUPS.items():
                if only and g not in only:
                    continue
                for f in fields:
                    entry.pop(f, None)
                if not any(n in protos for n in names):
                    continue
                for f, vals in run(cap, rules, flt, occ, fields).items():
                    if vals:
                        entry[f] = sorted(vals)
                if g not in entry.setdefault("_groups", []):
                    entry["_groups"].append(g)
            if entry:
                out["captures"][rel] = entry
            else:
                out["captures"].pop(rel, None)
    json.dump(out, sys.stdout, indent=0, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
