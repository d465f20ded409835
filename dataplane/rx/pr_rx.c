// SPDX-License-Identifier: Apache-2.0
/*
 * The backend registry. Every backend the design knows is listed, built or
 * not, so asking for one that this binary lacks gives a precise error
 * instead of "unknown backend". Startup only; no state.
 */
#include "pr_rx.h"

#include <stdio.h>
#include <string.h>

#ifdef PR_HAVE_DPDK
#include "pr_rx_dpdk.h"
#endif

#if !defined(PR_HAVE_AF_XDP) || !defined(PR_HAVE_DPDK)
static int absent_open(const char *what, const char *option, char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "this packetrecorder-dataplane was built without %s support "
		 "(configure with -D%s=ON)",
		 what, option);
	return -ENOTSUP;
}
#endif

#ifndef PR_HAVE_AF_XDP
static int afxdp_absent_open(const struct pr_rx_cfg *cfg, struct pr_rx **out, char *err,
			     size_t errlen)
{
	(void)cfg;
	*out = NULL;
	return absent_open("AF_XDP", "PR_WITH_AF_XDP", err, errlen);
}

static const struct pr_rx_ops afxdp_absent_ops = {
	.name = "afxdp",
	.open = afxdp_absent_open,
};
#endif

#ifndef PR_HAVE_DPDK
static int dpdk_absent_open(const struct pr_rx_cfg *cfg, struct pr_rx **out, char *err,
			    size_t errlen)
{
	(void)cfg;
	*out = NULL;
	return absent_open("DPDK", "PR_WITH_DPDK", err, errlen);
}

static const struct pr_rx_ops dpdk_absent_ops = {
	.name = "dpdk",
	.open = dpdk_absent_open,
};
#endif

static const struct pr_rx_ops *const backends[] = {
	&pr_rx_pcap_ops,
#ifdef PR_HAVE_AF_XDP
	&pr_rx_afxdp_ops,
#else
	&afxdp_absent_ops,
#endif
#ifdef PR_HAVE_DPDK
	&pr_rx_dpdk_ops,
#else
	&dpdk_absent_ops,
#endif
};

static const char *const backend_names[] = { "pcap", "afxdp", "dpdk", NULL };

const struct pr_rx_ops *pr_rx_ops_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

const char *const *pr_rx_ops_names(void)
{
	return backend_names;
}
