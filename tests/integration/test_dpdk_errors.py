#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The dpdk backend's errors and its ways in (skipped when the build has no
dpdk backend):

- an EAL option the EAL does not know, a word that is no option, an open
  quote, a port that does not exist, a capture file that does not exist:
  exit 1, a failed session, and a message that names what is wrong; with
  --json, stdout stays one JSON document (the EAL prints its usage with
  printf, which must not reach it);
- --dpdk-args with another backend, or beside --backend-args: exit 3;
- net_null0 with -c 5000 stores 5000 packets of 64 bytes with no drop;
- the dpdk_args config key does what --dpdk-args does."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpdktest  # noqa: E402
import prtest  # noqa: E402
from prtest import TestError  # noqa: E402

ck = prtest.Checks("test_dpdk_errors")
prtest.pr_bin()


def failing(db, args, what, *needles):
    r = prtest.run(["capture"] + args + ["--json"], db=db, timeout=60)
    ck.rc(r, 1, what)
    j = r.json()  # raises if the EAL's usage text reached stdout
    msg = j.get("message", "")
    ck.eq(j.get("status"), "failed", "%s: the session is marked failed" % what)
    ck.ok(all(n in msg for n in needles), "%s: the message says %s" %
          (what, " / ".join(repr(n) for n in needles)), "message: %r" % msg)
    return msg


def main(tmp):
    dpdktest.require_dpdk(tmp)
    db = os.path.join(tmp, "e.db")
    mem = dpdktest.mem_args()[0]

    with ck.section("bad EAL arguments"):
        failing(db, ["--backend", "dpdk", "-i", "net_null0", "--dpdk-args",
                     dpdktest.eal("--vdev", "net_null0", "--no-such-eal-option")],
                "an unknown EAL option", "DPDK EAL initialisation failed", "--dpdk-args")
        failing(db, ["--backend", "dpdk", "-i", "net_null0", "--dpdk-args",
                     dpdktest.eal("--vdev", "net_null0", "stray")],
                "a word that is no option", '"stray" is not an EAL option')
        failing(db, ["--backend", "dpdk", "-i", "net_null0", "--dpdk-args",
                     "--vdev 'net_null0 " + " ".join(mem)],
                "an open quote", "unterminated ' quote starting at offset 7")

    with ck.section("a missing port or file"):
        failing(db, ["--backend", "dpdk", "-i", "net_nope0", "--dpdk-args",
                     dpdktest.eal("--vdev", "net_null0")],
                "a port that does not exist", 'DPDK port "net_nope0" not found',
                "ports: net_null0")
        failing(db, ["--backend", "dpdk", "-i", "net_null0", "--dpdk-args", dpdktest.eal()],
                "no vdev at all", 'DPDK port "net_null0" not found', "no ports")
        r = prtest.run(["capture", "--backend", "dpdk", "-r", os.path.join(tmp, "absent.pcap"),
                        "--dpdk-args", dpdktest.eal()], db=db)
        ck.rc(r, 1, "-r of a file that does not exist")
        ck.ok("absent.pcap: No such file or directory" in r.err, "-r: the message names the file",
              r.err)

    with ck.section("--dpdk-args is for the dpdk backend"):
        for args in (["--backend", "pcap", "-i", "lo", "--dpdk-args", "--no-huge"],
                     ["--dpdk-args", "--no-huge", "--backend-args", "x", "-i", "lo"]):
            r = prtest.run(["capture"] + args, db=db)
            ck.rc(r, 3, " ".join(args))
            ck.ok("--dpdk-args: for --backend dpdk" in r.err, "the usage error says why", r.err)

    with ck.section("net_null0, -c 5000"):
        obj, _ = prtest.run_json(["capture", "-i", "net_null0", "-c", "5000", "--dpdk-args",
                                  dpdktest.eal("--vdev", "net_null0,copy=1")], db=db)
        ck.eq(obj.get("packets"), 5000, "net_null0: 5000 packets stored")
        ck.eq(obj.get("end_reason"), "count", "net_null0: ended by the count")
        ck.eq(obj.get("drops_total"), 0, "net_null0: no drops")
        r = prtest.run(["query", "--session", obj["session_id"], "--limit", "1", "--json"],
                       db=db)
        row = r.json()[0] if r.rc == 0 and r.json() else {}
        ck.ok(row.get("wire_len") == 64 and row.get("linktype") == 1,
              "net_null0: 64-byte Ethernet frames", repr(row))

    with ck.section("the dpdk_args config key"):
        conf = os.path.join(tmp, "dp.conf")
        with open(conf, "w") as f:
            f.write('dpdk_args = "%s"\n' % dpdktest.eal("--vdev", "net_null0,copy=1"))
        obj, _ = prtest.run_json(["capture", "--backend", "dpdk", "-i", "net_null0", "-c", "700",
                                  "--config", conf], db=db)
        ck.eq(obj.get("packets"), 700, "config dpdk_args: 700 packets from net_null0")


with prtest.tmpdir() as tmpd:
    try:
        main(tmpd)
    except TestError as e:
        ck.error("dpdk errors", e)
ck.finish()
