/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which capture backend `capture -i IF` uses when none is named: afxdp
 * where this build has it, the process holds the privileges it needs and
 * the interface can carry it; pcap otherwise. Reads /proc and /sys only;
 * the XDP program itself is loaded by the dataplane, which then says
 * exactly what failed if the kernel still refuses. Main thread.
 */
#ifndef PR_BACKEND_PICK_H
#define PR_BACKEND_PICK_H

#include <stddef.h>

/*
 * Returns "afxdp" or "pcap" (static strings). For pcap, why says in a
 * few words what kept afxdp out ("this build has no AF_XDP backend",
 * "needs CAP_BPF", ...); for afxdp it is empty.
 */
const char *pr_backend_pick(const char *ifname, char *why, size_t whylen);

#endif /* PR_BACKEND_PICK_H */
