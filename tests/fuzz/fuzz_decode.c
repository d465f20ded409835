// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the L2-L4 decoder. The first two input bytes
 * (little-endian) pick a linktype from the list below, modulo its length;
 * the rest is the frame, copied into an exactly sized heap buffer so that
 * AddressSanitizer catches any read past cap_len. Afterwards the offsets the
 * decoder reports are checked against cap_len, so a wrong offset aborts
 * even where no byte was read; so are the tunnel fields (pr_decode opens
 * tunnels: seeds eth_tunnel_*). Single-threaded; owns only the copy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pr_decode.h"

/*
 * 12 and 14 are the legacy raw-IP values, 50/51/104 PPP in HDLC framing,
 * PPPoE without Ethernet and Cisco HDLC; 147 (USER0) stands for every
 * unknown linktype. Append only: seed files name their linktype by index.
 */
static const uint32_t linktypes[] = {
	PR_LINKTYPE_ETHERNET,
	PR_LINKTYPE_NULL,
	PR_LINKTYPE_LOOP,
	PR_LINKTYPE_RAW,
	12,
	14,
	PR_LINKTYPE_IPV4,
	PR_LINKTYPE_IPV6,
	PR_LINKTYPE_LINUX_SLL,
	PR_LINKTYPE_LINUX_SLL2,
	PR_LINKTYPE_PPP,
	PR_LINKTYPE_IEEE802_11,
	PR_LINKTYPE_IEEE802_11_RADIOTAP,
	PR_LINKTYPE_NFLOG,
	147,
	50,
	51,
	104,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pr_decoded d;
	uint32_t linktype, cap;
	uint8_t *frame;

	if (size < 2 || size - 2 > UINT32_MAX)
		return 0;
	linktype = linktypes[(data[0] | data[1] << 8) % (sizeof(linktypes) / sizeof(linktypes[0]))];
	cap = (uint32_t)(size - 2);
	/*
	 * Exactly cap bytes. An empty frame is decoded in place instead: data
	 * + 2 is then the end of the caller's exactly sized buffer, so a read
	 * there is caught just the same.
	 */
	frame = malloc(cap ? cap : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 2, cap);
	pr_decode(linktype, cap ? frame : data + 2, cap, &d);
	free(frame);

	if ((d.flags & (PR_DEC_IPV4 | PR_DEC_IPV6)) && d.l3_off >= cap)
		abort();
	if ((d.flags & PR_DEC_L4) && (d.l4_off >= cap || d.l4_off < d.l3_off))
		abort();
	if (d.payload_off > cap || d.payload_len > cap - d.payload_off)
		abort();
	if (d.vlan_count > 16 || d.mpls_count > 16)
		abort();
	/* A tunnel: the inner IP header lies after the outer one, the depth is bounded. */
	if (d.flags & PR_DEC_TUNNEL) {
		if (!(d.flags & (PR_DEC_IPV4 | PR_DEC_IPV6)) || d.l3_off <= d.outer_l3_off ||
		    !d.tun_count || d.tun_count > PR_DEC_MAX_TUNNELS || !pr_tun_name(d.tun_type) ||
		    (d.outer_ip_version != 4 && d.outer_ip_version != 6))
			abort();
	} else if (d.tun_count || d.tun_type) {
		abort();
	}
	/* Every linktype the decoder knows has a name. */
	if (!(d.flags & PR_DEC_UNKNOWN_LINKTYPE) && !pr_linktype_name(linktype))
		abort();
	return 0;
}
