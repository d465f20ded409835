# SPDX-License-Identifier: Apache-2.0
"""Helpers of the dpdk backend's integration tests (test_dpdk_*.py,
test_priv_dpdk_*.py): whether this build has the backend, which EAL memory
arguments this machine can take, and one capture's store content in a form
two captures can be compared by.

Memory: hugepages when the machine has free ones (.ci/run and root mount
hugetlbfs and reserve them), else --no-huge with -m 512, which is slower but
enough for a test; the test prints which. Python 3 standard library only."""
import os
import re

import prtest

# Frames per second are not the point here; these tests check what is stored.
NO_HUGE = ["--no-huge", "-m", "512"]


def hugepages_free():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                m = re.match(r"HugePages_Free:\s+(\d+)", line)
                if m:
                    return int(m.group(1))
    except OSError:
        pass
    return 0


def tsan_build():
    return "tsan" in os.path.basename(os.path.normpath(prtest.BUILD_DIR))


def mem_args():
    """EAL memory arguments for this machine, and a note saying which."""
    if tsan_build():
        # ThreadSanitizer makes the EAL's hugepage setup take ~15 s per start, --no-huge ~4 s.
        return list(NO_HUGE), "ThreadSanitizer build: --no-huge"
    free = hugepages_free()
    # A test dataplane takes ~30 MB (pools of buffer_size, the EAL's heap); leave room for
    # the tests that run beside it.
    if free >= 64:
        return [], "hugepages (%d free)" % free
    return list(NO_HUGE), "no free hugepages (mount hugetlbfs and reserve pages for the " \
                          "fast path): --no-huge"


def eal(*words):
    """A --dpdk-args string: the words, then this machine's memory arguments. The words
    must need no quoting (paths of the tests' temporary files do not)."""
    return " ".join(list(words) + mem_args()[0])


def require_dpdk(tmp):
    """Skip (exit 77) unless this build has the dpdk backend and the EAL starts here."""
    db = os.path.join(tmp, "probe.db")
    r = prtest.run(["capture", "--backend", "dpdk", "-i", "net_null0", "-c", "1",
                    "--dpdk-args", eal("--vdev", "net_null0"), "--json"], db=db, timeout=60)
    if "built without DPDK support" in r.err:
        prtest.skip("this build has no dpdk backend (configure with -DPR_WITH_DPDK=ON)")
    if r.rc != 0:
        j = {}
        try:
            j = r.json()
        except prtest.TestError:
            pass
        msg = j.get("message") or r.err.strip().splitlines()[-1:]
        if "EAL initialisation failed" in str(msg) and os.geteuid() != 0:
            prtest.skip("the DPDK EAL does not start without root here: %s" % msg)
        raise prtest.TestError("the dpdk backend does not capture from net_null0:\n%s" %
                               r.describe())
    print("note: EAL memory: %s" % mem_args()[1])


def content(db, sid, tmp, tag):
    """What a session stored: summary figures, flows, packets (query --show-data) and the
    exported pcap's bytes."""
    s = prtest.session(db, sid)
    fl = prtest.flows(db, sid)
    rows = prtest.query(db, sid, ["--show-data"])
    out = os.path.join(tmp, "export-%s.pcap" % tag)
    r = prtest.run(["export", "--session", sid, "--output", out], db=db, timeout=120)
    if r.rc != 0:
        raise prtest.TestError("export of session %s failed\n%s" % (sid, r.describe()))
    with open(out, "rb") as f:
        pcap = f.read()
    return {
        "packets": s.get("packets"),
        "bytes": s.get("bytes"),
        "captured_bytes": s.get("captured_bytes"),
        "flows": s.get("flows"),
        "flow_list": sorted(tuple(f.get(k) for k in prtest.FLOW_FIELDS) for f in fl),
        "rows": [(x.get("ts"), x.get("cap_len"), x.get("wire_len"), x.get("data"))
                 for x in rows],
        "pcap": pcap,
    }


def diff(a, b):
    """The keys whose values differ between two content() results, with a short reason."""
    out = []
    for k in a:
        if a[k] == b[k]:
            continue
        if k in ("packets", "bytes", "captured_bytes", "flows"):
            out.append("%s %r vs %r" % (k, a[k], b[k]))
        elif k == "pcap":
            n = next((i for i, (x, y) in enumerate(zip(a[k], b[k])) if x != y),
                     min(len(a[k]), len(b[k])))
            out.append("exported pcap differs at byte %d (%d vs %d bytes)" %
                       (n, len(a[k]), len(b[k])))
        else:
            n = next((i for i, (x, y) in enumerate(zip(a[k], b[k])) if x != y),
                     min(len(a[k]), len(b[k])))
            out.append("%s differ at entry %d of %d/%d" % (k, n, len(a[k]), len(b[k])))
    return out
