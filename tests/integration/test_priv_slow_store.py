#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A live capture into a store on a slow disk, and the completeness map of
its exports with the drops that really happened (label: privileged;
skipped unless root, with a loop device and a block-I/O write limit).

The store lives on an ext4 file system on a loop device whose writes the
capture's cgroup may do at only SLOW_BPS bytes/s (cgroup v2 io.max, or
cgroup v1 blkio.throttle.write_bps_device where the io controller is on
v1). `capture -i --backend pcap` listens on one end of a veth pair; from a
network namespace on the other end a generator (a PACKET_TX_RING socket)
sends exactly N_FRAMES UDP frames numbered 0..N_FRAMES-1, RATE_PPS per
second, several times what the disk can take, and logs when it sent each
batch. Checked:

- slow disk: the dataplane kept receiving: its `received` (the drops the
  kernel reported included) equals what the veth delivered, which is what
  the generator sent (less what the veth itself dropped, reported); the
  shortfall shows as storage backlog drops (`store`: the ring was full
  while the store writer consumed it) in the summary, --json and the
  session in the store, received = stored + filtered + drops, the backlog
  filled the record ring and the store's wait for the disk is reported;
  kernel drops stay small (a capture that stalled on its ring would lose
  the kernel's whole buffer); after SIGINT the dataplane and capture end
  within the time the disk needs for what was waiting (ring and write
  buffers); the stored frames are a subsequence of what was sent, in
  order, none twice;
- completeness: the pcapng export's manifest and section comment list
  the same intervals, consistent with the drop_stats rows (counts by
  reason, sample times, packet counts), summing to the session's drops;
  every gap in the stored numbers lies in an interval, by packet number
  and by time (checked against when the generator sent the missing
  frames); verify-export passes; --limit, --filter and --from/--to cuts
  are named in their manifests, which still carry the loss intervals of
  their range; a one-byte change of the real file or of a real drop
  interval in the manifest is reported."""
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import TestError  # noqa: E402

if os.geteuid() != 0:
    prtest.skip("needs root (loop devices, cgroups, network namespaces)")
for tool in ("ip", "losetup", "mkfs.ext4", "mount", "umount"):
    if not prtest.have(tool):
        prtest.skip("no `%s`" % tool)

TAG = "%d" % (os.getpid() % 100000)
NS = "prslow" + TAG
HOST_IF = "prsh" + TAG
PEER_IF = "prsn" + TAG
CGROUP_NAME = "prtest-slow-" + TAG
SLOW_BPS = 4 << 20  # the disk: 4 MiB/s of writes
RING = "4m"  # a small record ring: it fills within a fraction of a second
N_FRAMES = 400000  # 4 s of traffic at the full rate



SAN = prtest.sanitized()
# 14 MB/s of frames, 3.5 times the disk. Under ThreadSanitizer the dataplane
# itself cannot take 100,000 frames/s (CI saw a quarter of them dropped by the
# kernel before the dataplane read them): half the rate is still twice what
# the disk takes, and the ring still fills within a second.
RATE_PPS = 50000 if SAN == "tsan" else 100000
DPORT, SPORT = 40000, 40001
SEQ_OFF = 14 + 20 + 8 + 5  # the frame number: after "PRSEQ" in the UDP payload
FRAME_LEN = 142

STARTED = []  # Popen objects, ended in finally
CLEANUP = []  # (what, function) run in reverse order, whatever happened


def sh(*args, check=True, ns=False, timeout=60):
    cmd = (["ip", "netns", "exec", NS] if ns else []) + [str(a) for a in args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check and p.returncode != 0:
        raise TestError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                             p.stderr.decode("utf-8", "replace").strip()))
    return p


def read_int(path):
    with open(path) as fh:
        return int(fh.read().strip())


def write_file(path, text):
    with open(path, "w") as fh:
        fh.write(text)


# ----------------------------------------------------------------- the slow disk


class Throttle:
    """A cgroup whose writes to one block device are limited to bps bytes/s."""

    def __init__(self, dev_major, dev_minor, bps):
        self.path = None
        self.kind = None
        dev = "%d:%d" % (dev_major, dev_minor)
        v2 = cgroup2_root()
        if v2 and "io" in open(os.path.join(v2, "cgroup.controllers")).read().split():
            # The io controller must be on for the root's children.
            sub = os.path.join(v2, "cgroup.subtree_control")
            if "io" not in open(sub).read().split():
                write_file(sub, "+io")
            self.path = os.path.join(v2, CGROUP_NAME)
            os.mkdir(self.path)
            CLEANUP.append(("cgroup " + self.path, self.remove))
            write_file(os.path.join(self.path, "io.max"), "%s wbps=%d" % (dev, bps))
            self.kind = "cgroup v2 io.max"
        elif os.path.exists("/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device"):
            self.path = os.path.join("/sys/fs/cgroup/blkio", CGROUP_NAME)
            os.mkdir(self.path)
            CLEANUP.append(("cgroup " + self.path, self.remove))
            write_file(os.path.join(self.path, "blkio.throttle.write_bps_device"),
                       "%s %d" % (dev, bps))
            self.kind = "cgroup v1 blkio.throttle.write_bps_device"
        else:
            raise SkipTest("no cgroup io controller (v2 io.max or v1 blkio throttling)")

    def enter(self):
        """For preexec_fn: move the calling (child) process into the cgroup."""
        write_file(os.path.join(self.path, "cgroup.procs"), str(os.getpid()))

    def remove(self):
        deadline = time.monotonic() + 10
        while True:
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                # Busy while a process of ours is still in it: it is being ended.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


class SkipTest(Exception):
    pass


def cgroup2_root():
    with open("/proc/self/mounts") as fh:
        for line in fh:
            f = line.split()
            if len(f) > 2 and f[2] == "cgroup2":
                return f[1]
    return None


def slow_disk(tmp):
    """An ext4 file system on a loop device at tmp/mnt, writes throttled. Returns
    (mount point, Throttle, loop device)."""
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as fh:
        fh.truncate(1 << 30)
    p = sh("losetup", "--find", "--show", img, check=False)
    if p.returncode != 0:
        raise SkipTest("losetup: %s" % p.stderr.decode("utf-8", "replace").strip())
    loop = p.stdout.decode().strip()
    CLEANUP.append(("loop device " + loop, lambda: sh("losetup", "-d", loop, check=False)))
    sh("mkfs.ext4", "-q", "-F", loop)
    mnt = os.path.join(tmp, "mnt")
    os.mkdir(mnt)
    sh("mount", loop, mnt)
    CLEANUP.append(("mount " + mnt, lambda: sh("umount", mnt, check=False)))
    st = os.stat(loop)
    thr = Throttle(os.major(st.st_rdev), os.minor(st.st_rdev), SLOW_BPS)
    return mnt, thr, loop


def measure_disk(mnt, thr):
    """Time 8 MiB of O_DIRECT writes from inside the cgroup: the limit holds."""
    target = os.path.join(mnt, "probe")
    t0 = time.monotonic()
    p = subprocess.run(["dd", "if=/dev/zero", "of=" + target, "bs=1M", "count=8",
                        "oflag=direct"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       preexec_fn=thr.enter, timeout=60)
    el = time.monotonic() - t0
    os.unlink(target)
    if p.returncode != 0:
        raise TestError("dd to the slow disk: %s" % p.stderr.decode("utf-8", "replace"))
    return (8 << 20) / el


# ----------------------------------------------------------------- the network


def setup_net():
    p = sh("ip", "netns", "add", NS, check=False)
    if p.returncode != 0:
        raise SkipTest("`ip netns add` failed: %s" % p.stderr.decode("utf-8", "replace").strip())
    CLEANUP.append(("netns " + NS, lambda: sh("ip", "netns", "del", NS, check=False)))
    sh("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", PEER_IF)
    CLEANUP.append(("link " + HOST_IF, lambda: sh("ip", "link", "del", HOST_IF, check=False)))
    sh("ip", "link", "set", PEER_IF, "netns", NS)
    for ifn, ns in ((HOST_IF, False), (PEER_IF, True)):
        # nothing but the generator's frames on the link: no IPv6 chatter, no addresses
        sh("sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % ifn, ns=ns, check=False)
    sh("ip", "link", "set", HOST_IF, "up")
    sh("ip", "link", "set", PEER_IF, "up", ns=True)


def if_stat(name, ns=False):
    out = sh("cat", "/sys/class/net/%s/statistics/%s" % (name[0], name[1]), ns=ns).stdout
    return int(out.decode().strip())


def link_counters():
    return {"host_rx": if_stat((HOST_IF, "rx_packets")),
            "host_rx_dropped": if_stat((HOST_IF, "rx_dropped")),
            "peer_tx": if_stat((PEER_IF, "tx_packets"), ns=True),
            "peer_tx_dropped": if_stat((PEER_IF, "tx_dropped"), ns=True)}


def packet_socket_on(ifindex):
    """A packet socket for every protocol (ETH_P_ALL) bound to ifindex exists."""
    with open("/proc/net/packet") as fh:
        next(fh)
        for line in fh:
            f = line.split()
            if len(f) >= 5 and f[3] == "0003" and int(f[4]) == ifindex:
                return True
    return False


# A PACKET_TX_RING sender: one send() per batch of frames, so the rate does
# not depend on the cost of a system call. Logs [first, count, t_before_ns,
# t_after_ns] per batch: frame i was stamped by the receiving kernel between
# its batch's two times (veth delivers within the sending call).
GENERATOR = r"""
import json, mmap, socket, struct, sys, time
ifname, n, rate, logpath = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
SOL_PACKET, PACKET_VERSION, PACKET_TX_RING, PACKET_QDISC_BYPASS = 263, 10, 13, 20
TPACKET_V2, FRAME, NFRAMES, BATCH = 1, 2048, 4096, 512
DATA = 32  # TPACKET_ALIGN(sizeof(struct tpacket2_hdr))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
s.setsockopt(SOL_PACKET, PACKET_TX_RING, struct.pack("IIII", FRAME * 64, NFRAMES // 64, FRAME,
                                                     NFRAMES))
s.bind((ifname, 0))
ring = mmap.mmap(s.fileno(), FRAME * NFRAMES, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
payload = b"PRSEQ" + bytes(4) + b"A" * 91
udp = struct.pack(">HHHH", %(sport)d, %(dport)d, 8 + len(payload), 0) + payload
ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                           bytes([10, 77, 0, 1]), bytes([10, 77, 0, 2])))
c = sum(struct.unpack(">10H", bytes(ip)))
c = (c & 0xffff) + (c >> 16)
c = (c & 0xffff) + (c >> 16)
struct.pack_into(">H", ip, 10, ~c & 0xffff)
# To a MAC address nobody has: the host's stack drops it at once, the capture sees it.
frame = bytes.fromhex("020000000002" "020000000001" "0800") + bytes(ip) + udp
assert len(frame) == %(flen)d
log, sent, idx, t_start = [], 0, 0, time.monotonic()
while sent < n:
    batch = 0
    t0 = time.time_ns()
    while batch < BATCH and sent + batch < n:
        off = idx * FRAME
        if struct.unpack_from("I", ring, off)[0] != 0:
            break  # not sent yet: the kernel still owns it
        ring[off + DATA:off + DATA + len(frame)] = frame
        struct.pack_into(">I", ring, off + DATA + %(seqoff)d, sent + batch)
        struct.pack_into("II", ring, off + 4, len(frame), len(frame))
        struct.pack_into("I", ring, off, 1)  # TP_STATUS_SEND_REQUEST
        idx = (idx + 1) %% NFRAMES
        batch += 1
    if batch:
        s.send(b"")
        log.append([sent, batch, t0, time.time_ns()])
        sent += batch
    ahead = sent / rate - (time.monotonic() - t_start)
    if ahead > 0:
        time.sleep(ahead)
    elif not batch:
        time.sleep(0.0001)
# every frame handed back: all were sent
for i in range(NFRAMES):
    while struct.unpack_from("I", ring, i * FRAME)[0] not in (0, 4):
        s.send(b"")
        time.sleep(0.001)
json.dump({"sent": sent, "seconds": time.monotonic() - t_start, "batches": log},
          open(logpath, "w"))
""" % {"sport": SPORT, "dport": DPORT, "flen": FRAME_LEN, "seqoff": SEQ_OFF}


def generate(tmp, n, rate):
    logpath = os.path.join(tmp, "gen.json")
    p = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", GENERATOR, PEER_IF,
                          str(n), str(rate), logpath], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    STARTED.append(p)
    try:
        out, err = p.communicate(timeout=n / rate * 4 + 60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise TestError("the generator did not finish")
    if p.returncode != 0:
        raise TestError("generator: exit %d: %s" % (p.returncode, err.decode("utf-8", "replace")))
    with open(logpath) as fh:
        return json.load(fh)


# ----------------------------------------------------------------- checks


ck = prtest.Checks("test_priv_slow_store")
prtest.pr_bin()


def seq_of(data):
    return struct.unpack_from(">I", data, SEQ_OFF)[0]


def gaps_of(seqs, n_sent):
    """[(position, first missing, last missing)]: position = the number of stored
    frames before the gap (= index of the first stored one after it)."""
    out = []
    expect = 0
    for i, s in enumerate(seqs):
        if s > expect:
            out.append((i, expect, s - 1))
        expect = s + 1
    if expect < n_sent:
        out.append((len(seqs), expect, n_sent - 1))
    return out


def sent_window(log, seq):
    """(earliest, latest) wall-clock ns at which frame seq reached the host."""
    lo, hi = 0, len(log) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if log[mid][0] <= seq:
            lo = mid
        else:
            hi = mid - 1
    first, count, t0, t1 = log[lo]
    assert first <= seq < first + count
    return t0, t1


SLACK_NS = 50 * 10**6  # the kernel stamps a frame a little after send() returned


def drop_rows(db):
    """The session's drop_stats rows in recording order, via the sqlcipher CLI."""
    r = prtest.sqlcipher(db, "SELECT wall_ts, pkt_ts, packets, drops_ring_full, drops_kernel, "
                             "drops_iface, drops_too_big, drops_store FROM drop_stats "
                             "WHERE session_id = 1 ORDER BY rowid;", key=prtest.KEY)
    if r is None:
        return None
    rc, out, err = r
    if rc != 0:
        raise TestError("sqlcipher: %s" % err)
    rows = []
    for line in out.splitlines():
        f = line.split("|")
        if len(f) == 8 and all(x.lstrip("-").isdigit() for x in f):
            v = [int(x) for x in f]
            drops = {k: 0 for k in prtest.DROP_KEYS}  # the columns read are the first five
            drops.update(zip(prtest.DROP_KEYS, v[3:]))
            rows.append({"wall": v[0], "pkt_ts": v[1], "packets": v[2], "drops": drops})
    return rows


def slow_capture(tmp, mnt, thr):
    db = os.path.join(mnt, "slow.db")
    conf = os.path.join(tmp, "slow.conf")
    write_file(conf, "ring_bytes = %s\n" % RING)
    cmd = [prtest.pr_bin(), "capture", "-i", HOST_IF, "--backend", "pcap", "-f",
           "udp port %d" % DPORT, "-d", db, "--encryption-key", prtest.KEY, "--config", conf,
           "--json"]
    ifindex = read_int("/sys/class/net/%s/ifindex" % HOST_IF)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=prtest.clean_env(), preexec_fn=thr.enter)
    STARTED.append(p)
    # The frames count only once the dataplane's socket takes them.
    if not prtest.wait_until(lambda: packet_socket_on(ifindex) or p.poll() is not None, 20):
        raise TestError("no packet socket on %s after 20 s" % HOST_IF)
    if p.poll() is not None:
        raise TestError("capture ended at once: %s" % p.stderr.read().decode("utf-8", "replace"))
    time.sleep(0.5)
    dps = [c for c in prtest.proc_children(p.pid) if "dataplane" in prtest.proc_exe(c)]
    before = link_counters()
    gen = generate(tmp, N_FRAMES, RATE_PPS)
    time.sleep(1.0)  # the dataplane reads what is still in the kernel's buffer
    after = link_counters()
    t_stop = time.monotonic()
    p.send_signal(signal.SIGINT)
    t_dp = None
    while p.poll() is None and time.monotonic() - t_stop < 120:
        if t_dp is None and dps and not any(prtest.proc_alive(d) for d in dps):
            t_dp = time.monotonic() - t_stop
        time.sleep(0.01)
    if p.poll() is None:
        p.kill()
        raise TestError("capture did not end within 120 s of SIGINT")
    t_cap = time.monotonic() - t_stop
    if t_dp is None:
        t_dp = t_cap
    out, err = p.communicate()
    res = prtest.Result(cmd, p.returncode, out.decode("utf-8", "replace"),
                        err.decode("utf-8", "replace"), t_cap)
    if res.rc != 0:
        raise TestError("capture: exit %s\n%s" % (res.rc, res.describe()))
    link = {k: after[k] - before[k] for k in after}
    return db, res.json(), gen, link, t_dp, t_cap


def check_capture(db, obj, gen, link, t_dp, t_cap, disk_bps):
    sent = gen["sent"]
    print("     generator: %d frames in %.2f s (%.0f/s); veth: %s" % (
        sent, gen["seconds"], sent / gen["seconds"], link))
    print("     capture: received %s, stored %s, drops %s, backlog %s; dataplane gone "
          "%.2f s and capture %.2f s after SIGINT" % (
              obj.get("received"), obj.get("packets"), obj.get("drops"), obj.get("backlog"),
              t_dp, t_cap))
    drops = obj.get("drops") or {}
    ck.eq(sent, N_FRAMES, "the generator sent %d frames" % N_FRAMES)
    ck.eq(link["peer_tx"], sent, "the peer's veth counted them sent")
    ck.eq(link["host_rx"] + link["host_rx_dropped"], sent,
          "the host's veth received them (rx_packets + rx_dropped %d)" % link["host_rx_dropped"])
    ck.eq(obj.get("status"), "completed", "status completed")
    ck.eq(obj.get("end_reason"), "stopped", "end_reason stopped")
    # received counts all that arrived, the kernel's and the interface's drops included.
    ck.eq(obj.get("received", -1), link["host_rx"],
          "received (kernel and interface drops included) = what the veth delivered")
    kdrops = drops.get("kernel", 0) + drops.get("interface", 0)
    # The store writer was there but behind: storage backlog, not a ring nobody read.
    backlog = drops.get("store", 0)
    if not SAN:
        ck.ok(kdrops <= sent // 50,
              "the dataplane never stalled: kernel and interface drops %d + %d, at most 2%% of %d"
              % (drops.get("kernel", 0), drops.get("interface", 0), sent))
        ck.ok(backlog >= sent // 4,
              "the slow disk shows as storage backlog drops (%d of %d)" % (backlog, sent))
    else:
        # A sanitized dataplane is slow in its own right, more so on a busy
        # machine, and the kernel drops what it cannot read: that is not a stall.
        # A stall would stop receipt once the ring is full, making the kernel's
        # drops the whole shortfall and backlog drops next to none; receipt
        # that goes on while the ring is full makes backlog drops the larger part.
        print("     note: %s build: kernel drops are not bounded to 2%%; storage backlog "
              "drops must outnumber them" % SAN)
        ck.ok(backlog > kdrops,
              "the dataplane never stalled: storage backlog drops %d outnumber kernel and "
              "interface drops %d (%s build)" % (backlog, kdrops, SAN))
        ck.ok(backlog >= sent // 8,
              "the slow disk shows as storage backlog drops (%d of %d)" % (backlog, sent))
    ck.eq(obj.get("filtered"), 0, "nothing else on the link: 0 filtered")
    total = sum(drops.get(k, 0) for k in prtest.DROP_KEYS)
    ck.eq(obj.get("drops_total"), total, "drops_total is the sum by reason")
    prtest.check_accounting(ck, obj, "slow disk")
    ck.eq(sent - obj.get("packets", 0), total + link["host_rx_dropped"],
          "the shortfall (sent - stored) is the counted drops")
    bl = obj.get("backlog") or {}
    ck.ok(bl.get("ring_bytes", 0) >= 4 << 20 and bl.get("max_bytes", 0) >= bl["ring_bytes"] * 9 // 10,
          "the backlog filled the record ring before the drops (%s)" % bl)
    ck.ok(bl.get("store_wait_s", 0) >= 1.0,
          "the store reports its wait for the disk (%.2f s)" % bl.get("store_wait_s", 0))
    # What waited in the ring and the store's write buffers (16 MiB) goes to the disk
    # first; the dataplane's last records (flows, counters, end) wait for ring room.
    bound = ((4 << 20) + (16 << 20)) / disk_bps + 10
    ck.ok(t_dp <= t_cap <= bound, "the dataplane ended %.2f s and capture %.2f s after SIGINT, "
          "within the %.1f s that writing the backlog to the %.1f MB/s disk may take" % (
              t_dp, t_cap, bound, disk_bps / 1e6))

    s = prtest.session(db, obj["session_id"])
    ck.eq(s.get("packets"), obj.get("packets"), "sessions: packets as the summary")
    ck.eq(s.get("drops_by_reason"), drops, "sessions: drops by reason as the summary")
    ck.eq(s.get("drops"), total, "sessions: drops total")
    ck.eq(s.get("status"), "completed", "sessions: status completed")


def exported(db, sid, tmp, name, extra=()):
    out = os.path.join(tmp, name + ".pcapng")
    man = os.path.join(tmp, name + ".json")
    obj, _ = prtest.run_json(["export", "--session", sid, "--output", out, "--format",
                              "pcapng", "--manifest", man] + list(extra), db=db, timeout=300)
    with open(man) as fh:
        m = json.load(fh)
    return out, man, m, obj


LINE_RE = re.compile(r"^loss interval (\d+)/(\d+): (\d+) lost \(([^)]*)\) (.*), stamped between "
                     r"(the start|\S+) and (.+)$")


def comment_intervals(cap):
    """The loss interval lines of the pcapng section comment."""
    out = []
    for c in cap.shb_comments:
        for line in c.split("\n"):
            mm = LINE_RE.match(line)
            if mm:
                out.append(mm)
    return out


def check_intervals_vs_rows(ivs, rows, session):
    """Each interval is the growth between two consecutive drop_stats rows (or the
    last row and the session's final counters), and every growth is an interval."""
    obs = list(rows)
    fin = session.get("drops_by_reason") or {}
    last = obs[-1]["drops"] if obs else {k: 0 for k in prtest.DROP_KEYS}
    if any(fin.get(k, 0) > last.get(k, 0) for k in prtest.DROP_KEYS):
        obs.append({"wall": session.get("end_ts"), "pkt_ts": session.get("last_packet_ts"),
                    "packets": session.get("packets"), "drops": fin})
    want = []
    prev = {"wall": 0, "pkt_ts": 0, "packets": 0, "drops": {k: 0 for k in prtest.DROP_KEYS}}
    for r in obs:
        grow = {k: r["drops"][k] - prev["drops"][k] for k in prtest.DROP_KEYS
                if r["drops"][k] > prev["drops"][k]}
        if grow:
            want.append((prev, r, grow))
        prev = r
    ck.eq(len(ivs), len(want), "one interval per growth of the drop_stats counters")
    probs = []
    for iv, (a, b, grow) in zip(ivs, want):
        got = (iv["from_wall_ns"], iv["to_wall_ns"], iv["after_packet"], iv["from_ns"],
               iv["by_reason"], iv["lost"])
        exp = (a["wall"], b["wall"], a["packets"], a["pkt_ts"], grow, sum(grow.values()))
        if got != exp:
            probs.append("interval %r, rows say %r" % (got, exp))
    ck.ok(not probs, "intervals match the rows: sample times, packets before, counts by "
          "reason", "\n".join(probs[:5]))


def check_coverage(what, ivs, ts, gaps, all_gaps, gen_log, first_idx=0):
    """Every gap of gaps lies in an interval, by packet number and by time, and its
    intervals say at least as many were lost; no interval says more were lost than
    the gaps it covers (of all_gaps, the whole session's) hold."""
    probs = []
    for pos, s0, s1 in gaps:
        g = first_idx + pos  # session packet number of the first stored frame after the gap
        lost_min = sent_window(gen_log, s0)[0]  # the earliest a missing frame was sent
        lost_max = sent_window(gen_log, s1)[0]  # the last missing frame: sent no earlier
        cover = [iv for iv in ivs if iv["after_packet"] <= g <= iv["before_packet"]]
        ok_time = [iv for iv in cover
                   if (pos == 0 or iv["from_ns"] <= ts[pos - 1])
                   and iv["from_ns"] <= sent_window(gen_log, s0)[1] + SLACK_NS
                   and (iv["to_ns"] == 0 or (iv["to_ns"] >= lost_max and
                                             (pos == 0 or iv["to_ns"] >= ts[pos - 1])))]
        if not cover:
            probs.append("frames %d-%d (before stored packet %d) in no interval's packets"
                         % (s0, s1, g))
        elif not ok_time:
            probs.append("frames %d-%d (sent from %d) outside the times of %s" % (
                s0, s1, lost_min, [(iv["from_ns"], iv["to_ns"]) for iv in cover]))
        need = s1 - s0 + 1
        if sum(iv["lost"] for iv in cover) < need:
            probs.append("frames %d-%d: %d missing, the intervals over them say %d" % (
                s0, s1, need, sum(iv["lost"] for iv in cover)))
    for iv in ivs:
        held = sum(s1 - s0 + 1 for pos, s0, s1 in all_gaps
                   if iv["after_packet"] <= first_idx + pos <= iv["before_packet"])
        if iv["lost"] > held:
            probs.append("interval %d..%d says %d lost, its gaps hold %d" % (
                iv["after_packet"], iv["before_packet"], iv["lost"], held))
    ck.ok(not probs, "%s: each of the %d gaps in the stored numbers lies in an interval, "
          "in packets and in time" % (what, len(gaps)), "\n".join(probs[:8]))


def completeness(db, obj, gen, link, tmp):
    sid = obj["session_id"]
    s = prtest.session(db, sid)
    pub = prtest.run_json(["export", "--show-public-key"], db=db)[0]["public_key"]
    full, full_man, m, eobj = exported(db, sid, tmp, "full")
    cap = prtest.read_capture(full)
    seqs = [seq_of(p.data) for p in cap.packets]
    ts = [p.ts_ns for p in cap.packets]
    n_stored = len(seqs)
    ck.eq(n_stored, obj["packets"], "the export holds every stored packet")
    ck.ok(all(b > a for a, b in zip(seqs, seqs[1:])) and (not seqs or seqs[-1] < N_FRAMES),
          "the stored frames are the sent ones, in order, none twice")
    gaps = gaps_of(seqs, gen["sent"])
    missing = sum(s1 - s0 + 1 for _, s0, s1 in gaps)
    print("     %d stored, %d missing in %d gaps" % (n_stored, missing, len(gaps)))
    c = m["completeness"]
    ivs = c["drop_intervals"]
    drops = s["drops_by_reason"]
    ck.eq(missing, s["drops"] + link["host_rx_dropped"], "missing frames = the session's drops")
    ck.ok(not c["no_loss"] and not c["complete"] and c["drop_counters_over_time"],
          "manifest: loss, recorded over time", repr({k: c[k] for k in ("no_loss", "complete")}))
    ck.eq(c["lost_packets"], s["drops"], "manifest: lost_packets = the session's drops")
    ck.eq(c["drop_intervals_total"], len(ivs), "manifest: every interval listed")
    by = {k: sum(iv["by_reason"].get(k, 0) for iv in ivs) for k in prtest.DROP_KEYS}
    ck.eq(by, drops, "manifest: intervals by reason sum to the session's drops")
    ck.eq(m["session"]["drops"], drops, "manifest: the session's drops")
    rows = drop_rows(db)
    if rows is None:
        print("note: no sqlcipher CLI: the drop_stats rows are not compared")
    else:
        print("     drop_stats: %d rows, %d intervals" % (len(rows), len(ivs)))
        check_intervals_vs_rows(ivs, rows, s)
    check_coverage("full export", ivs, ts, gaps, gaps, gen["batches"])

    # The pcapng says the same, line by line.
    lines = comment_intervals(cap)
    ck.eq(len(lines), len(ivs), "pcapng comment: one line per interval")
    probs = []
    for mm, iv in zip(lines, ivs):
        if int(mm.group(3)) != iv["lost"] or int(mm.group(2)) != len(ivs):
            probs.append("%s: count" % mm.group(0))
        a = mm.group(6)
        b = mm.group(7)
        # Loss before the first stored packet has no stamp to start from.
        if a != (iv["from"] or "the start") and not (a == "the start" and not iv["from_ns"]):
            probs.append("%s: from %s, manifest %s" % (mm.group(0), a, iv["from"]))
        if b != (iv["to"] or "the end"):
            probs.append("%s: to %s, manifest %s" % (mm.group(0), b, iv["to"]))
        where = mm.group(5)
        nums = [int(x) for x in re.findall(r"\d+", where)]
        exp = []
        if iv["after_packet"]:
            exp.append(iv["after_packet"] - 1)
        if iv["before_packet"] < n_stored:
            exp.append(iv["before_packet"])
        if nums != exp:
            probs.append("%s: packets %s, manifest %s" % (mm.group(0), nums, exp))
    ck.ok(not probs, "pcapng comment: the manifest's intervals (counts, packets, times)",
          "\n".join(probs[:5]))
    r = prtest.run(["verify-export", full, "--manifest", full_man, "--public-key", pub,
                    "--json"], key=None, timeout=120)
    ck.rc(r, 0, "verify-export of the full export")

    # Cuts: --limit and --filter are named, and the loss intervals stay.
    limit = n_stored // 3
    lo_seq = seqs[n_stored // 2]
    _, lim_man, lm, _ = exported(db, sid, tmp, "limit", ["--limit", limit])
    kinds = {k["kind"]: k for k in lm["completeness"]["cuts"]}
    ck.ok("limit" in kinds and kinds["limit"]["next_packet"] == limit and
          kinds["limit"]["next_ts_ns"] == ts[limit],
          "--limit %d: the cut names packet %d and its time" % (limit, limit), repr(kinds))
    ck.eq(lm["completeness"]["drop_intervals"], ivs, "--limit: the same loss intervals")
    ck.eq(lm["packets"], limit, "--limit: packets")
    flt = "udp[%d:4] < %d" % (SEQ_OFF - 14 - 20, lo_seq)
    fout, flt_man, fm, _ = exported(db, sid, tmp, "filter", ["--filter", flt])
    kinds = {k["kind"]: k for k in fm["completeness"]["cuts"]}
    ck.ok("filter" in kinds and kinds["filter"]["excluded"] == n_stored - n_stored // 2,
          "--filter %r: %d packets excluded, named" % (flt, n_stored - n_stored // 2),
          repr(kinds))
    ck.eq(fm["packets"], n_stored // 2, "--filter: packets")
    ck.ok(b"--filter/--limit cuts: in the manifest" in open(fout, "rb").read(),
          "--filter: the pcapng comment points to the manifest for the cuts")
    for f2, m2 in ((os.path.join(tmp, "limit.pcapng"), lim_man), (fout, flt_man)):
        ck.rc(prtest.run(["verify-export", f2, "--manifest", m2, "--public-key", pub],
                         key=None, timeout=120), 0, "verify-export %s" % os.path.basename(f2))

    # A time range: only the intervals that overlap it, and they cover its gaps.
    a_i, b_i = n_stored // 4, (3 * n_stored) // 4
    t_from, t_to = ts[a_i], ts[b_i]
    _, _, rm, _ = exported(db, sid, tmp, "range", ["--from", t_from, "--to", t_to])
    rivs = rm["completeness"]["drop_intervals"]
    want = [iv for iv in ivs if iv["from_ns"] <= t_to and (iv["to_ns"] == 0 or iv["to_ns"] >= t_from)]
    ck.eq(rivs, want, "--from/--to: the intervals that overlap the range (%d of %d)" % (
        len(want), len(ivs)))
    kinds = {k["kind"] for k in rm["completeness"]["cuts"]}
    ck.ok({"from", "to"} <= kinds, "--from/--to: both cuts named", repr(kinds))
    inside = [(pos, s0, s1) for pos, s0, s1 in gaps if a_i < pos <= b_i]
    check_coverage("--from/--to export", rivs, ts, inside, gaps, gen["batches"])

    # One byte of the real file, or of a real drop interval in the manifest.
    raw = bytearray(open(full, "rb").read())
    k = raw.find(b"loss interval 1/")
    k = raw.find(b" lost (", k) - 1  # the last digit of the first interval's count
    bad = os.path.join(tmp, "bad.pcapng")
    raw[k] = ord("0") + (raw[k] - ord("0") + 1) % 10
    open(bad, "wb").write(raw)
    r = prtest.run(["verify-export", bad, "--manifest", full_man, "--json"], key=None,
                   timeout=120)
    ck.ok(r.rc == 1 and not r.json().get("file_sha256_ok") and r.json().get("signature_ok"),
          "a changed digit in the pcapng's loss interval: the file hash, exit 1", r.describe())
    txt = open(full_man, "rb").read()
    k = txt.index(b'"drop_intervals":[')
    k = txt.index(b'"lost":', k) + len(b'"lost":')
    badm = os.path.join(tmp, "bad.json")
    open(badm, "wb").write(txt[:k] + bytes([ord("0") + (txt[k] - ord("0") + 1) % 10]) +
                           txt[k + 1:])
    r = prtest.run(["verify-export", full, "--manifest", badm, "--json"], key=None, timeout=120)
    ck.ok(r.rc == 1 and r.json().get("file_sha256_ok") and not r.json().get("signature_ok"),
          "a changed digit in a drop interval of the manifest: the signature, exit 1",
          r.describe())


def main(tmp):
    try:
        mnt, thr, loop = slow_disk(tmp)
        setup_net()
    except SkipTest as e:
        return str(e)
    bps = measure_disk(mnt, thr)
    print("     slow disk: %s on %s through %s: %.1f MB/s measured with dd" % (
        mnt, loop, thr.kind, bps / 1e6))
    if bps > SLOW_BPS * 2:
        raise TestError("the write limit does not hold: %.1f MB/s" % (bps / 1e6))
    res = None
    with ck.section("a live capture into a slow store"):
        res = slow_capture(tmp, mnt, thr)
        check_capture(*res[:6], bps)
    if res:
        with ck.section("completeness of exports with real drops"):
            completeness(res[0], res[1], res[2], res[3], tmp)
    return None


skipped = None
with prtest.tmpdir() as tmpd:
    try:
        skipped = main(tmpd)
    except TestError as e:
        ck.error("setup", e)
    finally:
        for p in STARTED:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for what, fn in reversed(CLEANUP):
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - every cleanup step must run
                print("cleanup of %s failed: %s" % (what, e))
if skipped:
    prtest.skip(skipped)
ck.finish()
