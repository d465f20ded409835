/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DPDK capture backend (pr_rx_dpdk.c): any DPDK port (a PCI NIC bound
 * to vfio-pci, or a virtual device: net_pcap, net_af_xdp, net_af_packet,
 * net_tap, net_null, net_ring) behind struct pr_rx_ops. One instance per
 * worker polls one rx queue of the port; the first instance opened in the
 * process initialises the EAL and configures the port for all workers.
 * Built only with PR_WITH_DPDK; otherwise pr_rx.c registers an absent
 * "dpdk" backend that says how to build it in.
 */
#ifndef PR_RX_DPDK_H
#define PR_RX_DPDK_H

#include "pr_rx.h"

extern const struct pr_rx_ops pr_rx_dpdk_ops;

#endif /* PR_RX_DPDK_H */
