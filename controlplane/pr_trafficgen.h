/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A deterministic generator of synthetic mixed traffic (Ethernet: TCP
 * connections with handshake, request/response data and teardown, DNS over
 * UDP, ICMP echo, ARP, VLAN-tagged TCP, IPv6 UDP), written to a capture
 * file. It is the embedded traffic source of `generate` and `demo`, so the
 * main job runs without a network or an external capture. Main thread.
 */
#ifndef PR_TRAFFICGEN_H
#define PR_TRAFFICGEN_H

#include <stdint.h>

#include "pr_pcapw.h"

struct pr_trafficgen_cfg {
	const char *path;
	enum pr_pcapw_format format;
	uint64_t packets; /* at least this many are written (a conversation is never cut) */
	uint64_t seed;
	uint64_t start_ts_ns; /* 0 = 2026-01-01T00:00:00Z */
};

struct pr_trafficgen_result {
	uint64_t packets;
	uint64_t bytes;
	uint64_t conversations;
};

/* Write the file. 0 or -errno. */
int pr_trafficgen_write(const struct pr_trafficgen_cfg *cfg, struct pr_trafficgen_result *res);

#endif /* PR_TRAFFICGEN_H */
