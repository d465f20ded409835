#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A test receiver: reads frames off an interface through an AF_PACKET
socket (root) and, at the end, prints one JSON line with every frame that
contains MARKER, in arrival order: {"frames": [[ts_ns, "hex"], ...]}.
ts_ns is the kernel's receive time (SO_TIMESTAMPNS, CLOCK_REALTIME).
Prints "ready" on stderr once its socket is bound. Ends after --idle
seconds without a marked frame (once one came), or after --timeout.

  rawsink.py IFACE --marker TEXT [--idle S] [--timeout S]"""
import argparse
import json
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 3
SO_TIMESTAMPNS = 35


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--marker", required=True)
    ap.add_argument("--idle", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()
    marker = a.marker.encode()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((a.iface, ETH_P_ALL))
    print("ready", file=sys.stderr, flush=True)
    frames = []
    start = last = time.monotonic()
    while True:
        now = time.monotonic()
        if now - start > a.timeout or (frames and now - last > a.idle):
            break
        r, _, _ = select.select([s], [], [], 0.05)
        if not r:
            continue
        while True:
            try:
                data, anc, _, addr = s.recvmsg(65536, 64, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            if addr[2] == socket.PACKET_OUTGOING or marker not in data:
                continue
            ts = 0
            for lvl, typ, val in anc:
                if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(val) >= 16:
                    sec, nsec = struct.unpack("qq", val[:16])
                    ts = sec * 10**9 + nsec
            frames.append([ts, data.hex()])
            last = time.monotonic()
    print(json.dumps({"frames": frames}))


main()
