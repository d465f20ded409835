/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The capture backend interface: one const ops table per backend (pcap
 * today; afxdp and dpdk register too and, when compiled out, fail at open
 * with a clear "built without ..." error). The lcore loop calls it once per
 * burst, never once per packet. A backend instance belongs to the core
 * that opened it.
 */
#ifndef PR_RX_H
#define PR_RX_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pr_record.h"

#define PR_BURST 32

/* A received packet. data stays valid until release_burst() for it. */
/*
 * pr_rx_pkt.ts_ns of a packet without a time stamp of its own. 0 is a
 * real time stamp (some captures hold packets stamped 0, and an export
 * must give 0 back), so "none" is a value no real time takes.
 */
#define PR_RX_TS_NONE UINT64_MAX

struct pr_rx_pkt {
	const uint8_t *data;
	uint32_t cap_len;
	uint32_t wire_len;
	uint64_t ts_ns; /* PR_RX_TS_NONE: the loop stamps it with the burst time */
	uint16_t iface;
};

/* A packet to send (replay). */
struct pr_tx_pkt {
	const uint8_t *data;
	uint32_t len;
};

struct pr_rx_cfg {
	const char *interface; /* live capture or transmit interface, or NULL */
	const char *read_path; /* capture file ("-" = stdin), or NULL */
	uint32_t snaplen;
	bool promisc;
	uint32_t buffer_size; /* kernel buffer, bytes */
	uint16_t queue; /* the rx (or tx) queue this instance polls: the worker index */
	uint16_t nb_queues; /* queues the interface is opened with (workers); 0 = 1 */
	bool tx_only; /* open for transmission only (replay) */
	/*
	 * Backend-specific arguments, or NULL: the EAL arguments for dpdk
	 * ("--vdev net_pcap0,rx_pcap=x.pcap --no-huge ..."). Same on every core.
	 */
	const char *backend_args;
};

/*
 * Cumulative counters of one backend instance. kernel_drops and
 * iface_drops are what every backend fills. The named reasons below are
 * filled by the backends that know them (0 otherwise); each frame is
 * counted under at most one of them, so they add up:
 *   received = delivered + rule_* + no_socket + xsk_rx_dropped + xsk_rx_ring_full
 *              + nic_missed + nic_nombuf + nic_errors
 * where delivered is what rx_burst() handed out. kernel_drops (afxdp) or
 * iface_drops (dpdk) of such a backend is the sum of its loss reasons
 * (no_socket, xsk_rx_dropped, xsk_rx_ring_full; nic_*); rule drops are
 * wanted, not losses, and stay out of it. The xsk_*_descs fields are
 * diagnostics that overlap the reasons (a failed fill-ring take also
 * counts in xsk_rx_dropped) and add to nothing. A counter that belongs to
 * the whole port rather than to one queue (dpdk's) is reported by the
 * instance of queue 0 only, so that sums over the workers count it once.
 */
struct pr_rx_stats {
	uint64_t kernel_drops; /* lost before the backend saw them */
	uint64_t iface_drops; /* lost by the interface/driver */
	uint64_t received; /* frames that reached the capture point (AF_XDP: the XDP program) */
	uint64_t rule_proto; /* dropped on purpose by an early protocol rule */
	uint64_t rule_port; /* ... by an early port rule */
	uint64_t rule_prefix; /* ... by an early IPv4/IPv6 prefix rule */
	uint64_t no_socket; /* no capture socket on the frame's queue: left to the kernel */
	uint64_t xsk_rx_dropped; /* AF_XDP: no free frame, or a frame too large */
	uint64_t xsk_rx_ring_full; /* AF_XDP: the socket's rx ring was full */
	uint64_t xsk_fill_ring_empty_descs; /* diagnostic: takes from an empty fill ring */
	uint64_t xsk_rx_invalid_descs; /* diagnostic: invalid fill-ring entries */
	uint64_t xsk_tx_invalid_descs; /* diagnostic: invalid tx descriptors */
	uint64_t nic_missed; /* dpdk imissed: the NIC found no free rx descriptor */
	uint64_t nic_nombuf; /* dpdk rx_nombuf: no mbuf to receive into */
	uint64_t nic_errors; /* dpdk ierrors: received with an error, dropped */
};

struct pr_rx_iface {
	uint32_t linktype;
	uint32_t snaplen;
	uint8_t tsresol;
	char name[PR_IFACE_NAME_MAX];
	char description[PR_IFACE_DESC_MAX];
};

struct pr_rx;

/* rx_burst() returns this at the end of an offline source. */
#define PR_RX_EOF (-ENODATA)

struct pr_rx_ops {
	const char *name;
	/* 0 or -errno; on failure err holds a sentence naming what failed. */
	int (*open)(const struct pr_rx_cfg *cfg, struct pr_rx **out, char *err, size_t errlen);
	/* Packets received (0..max), PR_RX_EOF, or -errno (then errmsg()). */
	int (*rx_burst)(struct pr_rx *rx, struct pr_rx_pkt *pkts, uint16_t max);
	void (*release_burst)(struct pr_rx *rx, struct pr_rx_pkt *pkts, uint16_t n);
	int (*stats)(struct pr_rx *rx, struct pr_rx_stats *out);
	/* Interfaces known so far (an offline pcapng may add more while read). */
	uint32_t (*iface_count)(struct pr_rx *rx);
	int (*iface_get)(struct pr_rx *rx, uint32_t idx, struct pr_rx_iface *out);
	/* Packets sent (0..n) or -errno. */
	int (*tx_burst)(struct pr_rx *rx, const struct pr_tx_pkt *pkts, uint16_t n);
	/* A descriptor to poll() on while idle, or -1 (busy polling only). */
	int (*wait_fd)(struct pr_rx *rx);
	/* True when the source is a file: never drop, wait for ring room instead. */
	bool (*is_offline)(struct pr_rx *rx);
	const char *(*errmsg)(struct pr_rx *rx);
	void (*close)(struct pr_rx *rx); /* NULL is a no-op */
};

/*
 * Find a backend by name ("pcap", "afxdp", "dpdk"). NULL if the name is
 * unknown. A known backend that is compiled out is returned too: its
 * open() fails with -ENOTSUP and says how to build it in.
 */
const struct pr_rx_ops *pr_rx_ops_find(const char *name);
/* Names of all registered backends, NULL-terminated. */
const char *const *pr_rx_ops_names(void);

extern const struct pr_rx_ops pr_rx_pcap_ops;
#ifdef PR_HAVE_AF_XDP
extern const struct pr_rx_ops pr_rx_afxdp_ops;
#endif

#endif /* PR_RX_H */
