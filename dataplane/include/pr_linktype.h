/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LINKTYPE_* values (the numbers capture files carry) and their mapping to
 * libpcap's DLT_* values, which differ for a few types (raw IP is
 * LINKTYPE_RAW 101 in files but DLT_RAW 12 on Linux). Anything that hands a
 * stored link type to libpcap (pcap_open_dead for BPF filters) maps it
 * first. Header only; no libpcap include, so every directory may use it.
 */
#ifndef PR_LINKTYPE_H
#define PR_LINKTYPE_H

#include <stdint.h>

static inline int pr_linktype_to_dlt(uint32_t linktype)
{
	switch (linktype) {
	case 100: /* LINKTYPE_ATM_RFC1483 */
		return 11;
	case 101: /* LINKTYPE_RAW */
		return 12; /* DLT_RAW on Linux */
	case 102: /* LINKTYPE_SLIP_BSDOS */
		return 15;
	case 103: /* LINKTYPE_PPP_BSDOS */
		return 16;
	case 106: /* LINKTYPE_ATM_CLIP */
		return 19;
	default:
		return (int)linktype;
	}
}

#endif /* PR_LINKTYPE_H */
