// SPDX-License-Identifier: Apache-2.0
/*
 * The libpcap backend: live capture and transmission through libpcap on
 * any interface, and offline reading of pcap/pcapng files through our own
 * reader (pr_capfile), which keeps pcapng interfaces, nanosecond
 * timestamps, and names the offset of any damage. Live packets are copied
 * from libpcap's buffer into a per-instance staging area (libpcap reuses its
 * buffer on the next call); file packets point straight into the mapped
 * file or the reader's stream buffer, until release_burst(). A stream
 * (pipe, FIFO, device, stdin) never blocks a burst: with nothing to read
 * the burst is empty and the core polls wait_fd(), so a stop request is
 * seen at once. Owned and called by one dataplane core.
 */
#define _GNU_SOURCE /* sendmmsg */
#define PR_LOG_MODULE "rx.pcap"

#include <errno.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_capfile.h"
#include "pr_log.h"
#include "pr_rx.h"

_Static_assert(PR_CAPFILE_TS_NONE == PR_RX_TS_NONE, "a packet without time stamp passes as is");

struct pr_rx {
	pcap_t *pcap; /* live or tx; NULL for files */
	struct pr_capfile *cf; /* offline; NULL for live */
	struct pr_rx_iface live_iface;
	uint8_t *staging; /* PR_BURST * snaplen bytes, live only */
	uint32_t snaplen;
	struct pr_rx_pkt *cb_pkts; /* pcap_dispatch callback state */
	uint16_t cb_n;
	char path[256]; /* the file, for messages */
	uint64_t burst_end; /* file offset after the last packet handed out */
	char errbuf[PCAP_ERRBUF_SIZE + 512];
};

static void live_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct pr_rx *rx = (struct pr_rx *)user;
	struct pr_rx_pkt *p = &rx->cb_pkts[rx->cb_n];
	uint8_t *dst = rx->staging + (size_t)rx->cb_n * rx->snaplen;
	uint32_t len = h->caplen < rx->snaplen ? h->caplen : rx->snaplen;

	memcpy(dst, bytes, len);
	p->data = dst;
	p->cap_len = len;
	p->wire_len = h->len > len ? h->len : len;
	/* Opened with nanosecond precision: tv_usec holds nanoseconds. */
	p->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
	p->iface = 0;
	rx->cb_n++;
}

static int open_live(const struct pr_rx_cfg *cfg, struct pr_rx *rx, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	int rc;

	rx->pcap = pcap_create(cfg->interface, ebuf);
	if (!rx->pcap) {
		snprintf(err, errlen, "interface %s: %s", cfg->interface, ebuf);
		return -ENODEV;
	}
	if (!cfg->tx_only) {
		pcap_set_snaplen(rx->pcap, (int)cfg->snaplen);
		pcap_set_promisc(rx->pcap, cfg->promisc);
		pcap_set_buffer_size(rx->pcap, (int)cfg->buffer_size);
		/* Short timeout: the loop polls between bursts and must see stop requests. */
		pcap_set_timeout(rx->pcap, 50);
		pcap_set_immediate_mode(rx->pcap, 0);
		pcap_set_tstamp_precision(rx->pcap, PCAP_TSTAMP_PRECISION_NANO);
	}
	rc = pcap_activate(rx->pcap);
	if (rc < 0) {
		int err_code = rc == PCAP_ERROR_PERM_DENIED    ? -EPERM :
			       rc == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV :
								 -EIO;

		/* libpcap's message already says what the status says, when it has one. */
		snprintf(err, errlen, "interface %s: %s", cfg->interface,
			 pcap_geterr(rx->pcap)[0] ? pcap_geterr(rx->pcap) : pcap_statustostr(rc));
		return err_code;
	}
	if (rc > 0)
		PR_WARN("interface %s: %s: %s", cfg->interface, pcap_statustostr(rc),
			pcap_geterr(rx->pcap));
	snprintf(rx->live_iface.name, sizeof(rx->live_iface.name), "%s", cfg->interface);
	if (cfg->tx_only) {
		rx->live_iface.linktype = (uint32_t)pcap_datalink(rx->pcap);
		return 0;
	}
	if (cfg->nb_queues > 1) {
		/*
		 * Several workers on one interface: each opens its own socket and
		 * all join one kernel fan-out group, which hands each packet to
		 * one socket by a hash of its flow that is the same in both
		 * directions (PACKET_FANOUT_HASH uses the symmetric flow hash), so a
		 * conversation stays on one worker. The group id is this process's:
		 * its workers open their sockets one after the other.
		 */
		int arg = (int)((getpid() & 0xffff) | (PACKET_FANOUT_HASH << 16));

		if (setsockopt(pcap_fileno(rx->pcap), SOL_PACKET, PACKET_FANOUT, &arg,
			       sizeof(arg))) {
			int e = errno;

			snprintf(err, errlen, "interface %s: join fan-out group for %u workers: %s",
				 cfg->interface, cfg->nb_queues, strerror(e));
			return -e;
		}
	}
	if (pcap_setnonblock(rx->pcap, 1, ebuf) < 0) {
		snprintf(err, errlen, "interface %s: set non-blocking: %s", cfg->interface, ebuf);
		return -EIO;
	}
	rx->snaplen = cfg->snaplen;
	rx->staging = malloc((size_t)PR_BURST * cfg->snaplen);
	if (!rx->staging) {
		snprintf(err, errlen, "interface %s: staging buffer: %s", cfg->interface,
			 strerror(ENOMEM));
		return -ENOMEM;
	}
	rx->live_iface.linktype = (uint32_t)pcap_datalink(rx->pcap);
	rx->live_iface.snaplen = cfg->snaplen;
	rx->live_iface.tsresol =
		pcap_get_tstamp_precision(rx->pcap) == PCAP_TSTAMP_PRECISION_NANO ? 9 : 6;
	return 0;
}

static int pcap_be_open(const struct pr_rx_cfg *cfg, struct pr_rx **out, char *err, size_t errlen)
{
	struct pr_rx *rx;
	int ret;

	*out = NULL;
	if (!!cfg->interface == !!cfg->read_path) {
		snprintf(err, errlen, "give exactly one of an interface or a capture file");
		return -EINVAL;
	}
	rx = calloc(1, sizeof(*rx));
	if (!rx) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (cfg->read_path && cfg->nb_queues > 1) {
		snprintf(err, errlen, "%s: a capture file is read by one worker, not %u",
			 cfg->read_path, cfg->nb_queues);
		free(rx);
		return -EINVAL;
	}
	if (cfg->read_path) {
		snprintf(rx->path, sizeof(rx->path), "%s",
			 strcmp(cfg->read_path, "-") ? cfg->read_path : "<stdin>");
		ret = pr_capfile_open_path(cfg->read_path, &rx->cf);
		if (ret) {
			snprintf(err, errlen, "%s", pr_capfile_open_error());
			goto err_free;
		}
	} else {
		ret = open_live(cfg, rx, err, errlen);
		if (ret)
			goto err_free;
	}
	*out = rx;
	return 0;
err_free:
	if (rx->pcap)
		pcap_close(rx->pcap);
	free(rx->staging);
	free(rx);
	return ret;
}

static int pcap_be_rx_burst(struct pr_rx *rx, struct pr_rx_pkt *pkts, uint16_t max)
{
	int n, rc;

	if (rx->cf) {
		struct pr_capfile_pkt cp;

		for (n = 0; n < max; n++) {
			rc = pr_capfile_next(rx->cf, &cp);
			if (rc <= 0) {
				if (n)
					break; /* hand out what we have; the next call reports */
				/*
				 * A quiet stream; or, never at the start of a burst
				 * (the last one was released), a full buffer.
				 */
				if (rc == -EAGAIN || rc == -ENOBUFS)
					return 0;
				return rc == 0 ? PR_RX_EOF : rc;
			}
			pkts[n].data = cp.data;
			pkts[n].cap_len = cp.cap_len;
			pkts[n].wire_len = cp.wire_len;
			pkts[n].ts_ns = cp.ts_ns;
			pkts[n].iface = (uint16_t)cp.iface;
		}
		rx->burst_end = pr_capfile_offset(rx->cf);
		return n;
	}
	rx->cb_pkts = pkts;
	rx->cb_n = 0;
	rc = pcap_dispatch(rx->pcap, max, live_cb, (u_char *)rx);
	if (rc == PCAP_ERROR) {
		snprintf(rx->errbuf, sizeof(rx->errbuf), "interface %s: %s", rx->live_iface.name,
			 pcap_geterr(rx->pcap));
		return -EIO;
	}
	return rx->cb_n;
}

static void pcap_be_release_burst(struct pr_rx *rx, struct pr_rx_pkt *pkts, uint16_t n)
{
	(void)pkts;
	(void)n;
	/*
	 * Live packets sit in staging, reused by the next burst. File packets
	 * point into the mapping or the stream buffer: once a burst is
	 * released, everything before its end is done with, and the reader may
	 * drop those pages or reuse that memory.
	 */
	if (rx->cf)
		pr_capfile_release_before(rx->cf, rx->burst_end);
}

static int pcap_be_stats(struct pr_rx *rx, struct pr_rx_stats *out)
{
	struct pcap_stat ps;

	memset(out, 0, sizeof(*out));
	if (!rx->pcap)
		return 0;
	if (pcap_stats(rx->pcap, &ps) < 0)
		return -EIO;
	out->kernel_drops = ps.ps_drop;
	out->iface_drops = ps.ps_ifdrop;
	return 0;
}

static uint32_t pcap_be_iface_count(struct pr_rx *rx)
{
	return rx->cf ? pr_capfile_iface_count(rx->cf) : 1;
}

static int pcap_be_iface_get(struct pr_rx *rx, uint32_t idx, struct pr_rx_iface *out)
{
	const struct pr_capfile_iface *ci;

	if (!rx->cf) {
		if (idx)
			return -ENOENT;
		*out = rx->live_iface;
		return 0;
	}
	ci = pr_capfile_iface(rx->cf, idx);
	if (!ci)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->linktype = ci->linktype;
	out->snaplen = ci->snaplen;
	out->tsresol = ci->tsresol;
	snprintf(out->name, sizeof(out->name), "%s", ci->name);
	snprintf(out->description, sizeof(out->description), "%s", ci->description);
	return 0;
}

/*
 * One sendmmsg() per burst on libpcap's PF_PACKET socket (bound to the
 * interface, so no address is needed): pcap_inject() would cost one
 * send() per frame. Where sendmmsg is refused outright (not a socket),
 * pcap_inject() frame by frame.
 */
static int pcap_be_tx_burst(struct pr_rx *rx, const struct pr_tx_pkt *pkts, uint16_t n)
{
	struct mmsghdr msg[PR_BURST];
	struct iovec iov[PR_BURST];
	uint16_t i, k;
	int fd, sent;

	if (!rx->pcap)
		return -ENOTSUP;
	fd = pcap_fileno(rx->pcap);
	k = n < PR_BURST ? n : PR_BURST;
	memset(msg, 0, sizeof(msg[0]) * k);
	for (i = 0; i < k; i++) {
		/* sendmmsg only reads the frame; iovec has no const member. */
		memcpy(&iov[i].iov_base, &pkts[i].data, sizeof(iov[i].iov_base));
		iov[i].iov_len = pkts[i].len;
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	do
		sent = fd >= 0 ? sendmmsg(fd, msg, k, 0) : -1;
	while (sent < 0 && errno == EINTR);
	if (sent > 0)
		return sent;
	if (fd >= 0 && errno != ENOTSOCK && errno != EOPNOTSUPP) {
		snprintf(rx->errbuf, sizeof(rx->errbuf), "interface %s: send: %s",
			 rx->live_iface.name, strerror(errno));
		return -errno;
	}
	for (i = 0; i < n; i++) {
		if (pcap_inject(rx->pcap, pkts[i].data, pkts[i].len) < 0) {
			snprintf(rx->errbuf, sizeof(rx->errbuf), "interface %s: send: %s",
				 rx->live_iface.name, pcap_geterr(rx->pcap));
			return i ? i : -EIO;
		}
	}
	return i;
}

static int pcap_be_wait_fd(struct pr_rx *rx)
{
	if (rx->cf)
		return pr_capfile_fd(rx->cf); /* a stream's descriptor; -1 for a mapped file */
	return pcap_get_selectable_fd(rx->pcap);
}

static bool pcap_be_is_offline(struct pr_rx *rx)
{
	return rx->cf != NULL;
}

static const char *pcap_be_errmsg(struct pr_rx *rx)
{
	if (rx->cf) {
		/* The reader's message names the offset; the user also wants the file. */
		snprintf(rx->errbuf, sizeof(rx->errbuf), "%s: %s", rx->path,
			 pr_capfile_errmsg(rx->cf));
	}
	return rx->errbuf;
}

static void pcap_be_close(struct pr_rx *rx)
{
	if (!rx)
		return;
	if (rx->pcap)
		pcap_close(rx->pcap);
	pr_capfile_close(rx->cf);
	free(rx->staging);
	free(rx);
}

const struct pr_rx_ops pr_rx_pcap_ops = {
	.name = "pcap",
	.open = pcap_be_open,
	.rx_burst = pcap_be_rx_burst,
	.release_burst = pcap_be_release_burst,
	.stats = pcap_be_stats,
	.iface_count = pcap_be_iface_count,
	.iface_get = pcap_be_iface_get,
	.tx_burst = pcap_be_tx_burst,
	.wait_fd = pcap_be_wait_fd,
	.is_offline = pcap_be_is_offline,
	.errmsg = pcap_be_errmsg,
	.close = pcap_be_close,
};
