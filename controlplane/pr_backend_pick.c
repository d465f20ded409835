// SPDX-License-Identifier: Apache-2.0
/*
 * The default capture backend for an interface (see pr_backend_pick.h).
 * Only what can be known without loading anything: the build, the
 * effective capabilities, the link type and the MTU.
 */
#include "pr_backend_pick.h"
#include "pr_compiler.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CAP_NET_ADMIN_BIT 12
#define CAP_NET_RAW_BIT 13
#define CAP_SYS_ADMIN_BIT 21
#define CAP_BPF_BIT 39

/*
 * The largest frame a 4 KiB AF_XDP frame holds in copy mode: 4096 less
 * XDP's 256-byte headroom and the kernel's skb_shared_info tail.
 */
#define AFXDP_MAX_MTU 3498

/* Unused in a build without AF_XDP, where every interface gets pcap. */
static PR_UNUSED bool read_u64(const char *path, int base, uint64_t *out)
{
	char buf[64];
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, sizeof(buf), f) &&
	     sscanf(buf, base == 16 ? "%" SCNx64 : "%" SCNu64, out) == 1;
	fclose(f);
	return ok;
}

static PR_UNUSED uint64_t cap_effective(void)
{
	char line[256];
	uint64_t caps = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %" SCNx64, &caps) == 1)
			break;
	fclose(f);
	return caps;
}

const char *pr_backend_pick(const char *ifname, char *why, size_t whylen)
{
	char path[256];
	uint64_t caps, type, mtu;

	why[0] = 0;
#ifndef PR_HAVE_AF_XDP
	(void)ifname;
	(void)caps;
	(void)type;
	(void)mtu;
	(void)path;
	snprintf(why, whylen, "this build has no AF_XDP backend");
	return "pcap";
#else
	caps = cap_effective();
	if (!(caps & (1ull << CAP_NET_ADMIN_BIT)) || !(caps & (1ull << CAP_NET_RAW_BIT)) ||
	    !(caps & ((1ull << CAP_BPF_BIT) | (1ull << CAP_SYS_ADMIN_BIT)))) {
		snprintf(why, whylen, "AF_XDP needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF");
		return "pcap";
	}
	if (strlen(ifname) > 15 || strchr(ifname, '/') || ifname[0] == '.') {
		snprintf(why, whylen, "\"%s\" is not a network interface name", ifname);
		return "pcap";
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/type", ifname);
	if (!read_u64(path, 10, &type)) {
		snprintf(why, whylen, "no network interface %s", ifname);
		return "pcap";
	}
	if (type != 1) { /* ARPHRD_ETHER: XDP sees Ethernet frames only */
		snprintf(why, whylen, "%s is not an Ethernet interface (type %" PRIu64 ")", ifname,
			 type);
		return "pcap";
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/mtu", ifname);
	if (read_u64(path, 10, &mtu) && mtu > AFXDP_MAX_MTU) {
		snprintf(why, whylen, "MTU %" PRIu64 " is above the %d an AF_XDP frame holds", mtu,
			 AFXDP_MAX_MTU);
		return "pcap";
	}
	return "afxdp";
#endif
}
