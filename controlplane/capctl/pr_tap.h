/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The live tap: copies of the packets a running capture stores, handed to
 * subscribers (gRPC LiveTap, `manage tap`) as they go by. Each capture has
 * one hub; its ingest thread publishes every stored packet into it, and
 * each subscriber has its own BPF filter, rate cap and bounded queue.
 *
 * A tap never slows the capture down and never grows without bound:
 * - with no subscriber, publishing a packet is one atomic load;
 * - a packet is copied only when it passes the subscriber's filter, its
 *   rate cap (packets per second, a token bucket one second deep) and
 *   fits its queue (queue_bytes); otherwise it is counted as lost, by
 *   reason, and the subscriber is told how many it lost before the next
 *   one it gets (lost_before), as StreamEvents does;
 * - a slow client fills only its own queue.
 *
 * When the capture ends, the hub is ended: subscribers drain what is
 * queued, then get -EPIPE. The hub is reference-counted: a subscriber may
 * outlive the capture's registry entry.
 *
 * Functions return 0 or a negative errno; they never print. Publishing is
 * one thread (the capture's); subscribers are any threads, one each.
 */
#ifndef PR_TAP_H
#define PR_TAP_H

#include <stddef.h>
#include <stdint.h>

struct pr_rec_iface;
struct pr_rec_packet;

/* Subscribers of one capture at most; more is -ENOSPC. */
#define PR_TAP_MAX_SUBS 8
/* A subscriber's queue when it asks for none, and the most it may ask for. */
#define PR_TAP_QUEUE_BYTES (8u << 20)
/* The rate cap when a subscriber asks for none (0), and the highest it may ask for. */
#define PR_TAP_DEFAULT_PPS 100000u
#define PR_TAP_MAX_PPS 10000000u
/* The largest snaplen a subscriber may ask for. */
#define PR_TAP_MAX_SNAPLEN 262144u

struct pr_tap_hub;
struct pr_tap;

/* 0 or -ENOMEM. The creator holds one reference. */
int pr_tap_hub_create(struct pr_tap_hub **out);
/* Drop a reference; the last one frees the hub. NULL is a no-op. */
void pr_tap_hub_put(struct pr_tap_hub *h);

/* The capture announced an interface: later packets of it can be filtered. */
void pr_tap_hub_iface(struct pr_tap_hub *h, const struct pr_rec_iface *rec);
/* The capture stored a packet (its index in the session is the count of those before it). */
void pr_tap_hub_packet(struct pr_tap_hub *h, const struct pr_rec_packet *rec);
/* The capture is over (msg: how, or NULL): subscribers drain, then get -EPIPE. */
void pr_tap_hub_end(struct pr_tap_hub *h, const char *msg);

struct pr_tap_opts {
	const char *filter; /* tcpdump syntax; NULL or "": every packet */
	uint32_t max_pps; /* 0: PR_TAP_DEFAULT_PPS */
	uint32_t snaplen; /* bytes of each packet; 0: all that was captured */
	uint32_t queue_bytes; /* 0: PR_TAP_QUEUE_BYTES */
};

/*
 * Subscribe. Returns 0 with *out, -EINVAL (msg names the field: "filter",
 * "max_packets_per_s", "snaplen"), -EPIPE (the capture is over), -ENOSPC
 * (PR_TAP_MAX_SUBS already) or -ENOMEM.
 */
int pr_tap_open(struct pr_tap_hub *h, const struct pr_tap_opts *o, struct pr_tap **out, char *msg,
		size_t msg_len);

struct pr_tap_pkt {
	uint64_t index; /* in the session, from 0 */
	uint64_t ts_ns;
	uint64_t flow_id;
	uint32_t wire_len;
	uint32_t cap_len; /* bytes at data (after the subscriber's snaplen) */
	uint32_t iface;
	uint32_t linktype;
	uint64_t lost_before; /* packets this subscriber lost since the one before */
	const uint8_t *data; /* valid until the next pr_tap_next() or pr_tap_close() */
};

/* 1 with *out, 0 when nothing is queued now, -EPIPE once the capture is over and drained. */
int pr_tap_next(struct pr_tap *t, struct pr_tap_pkt *out);

struct pr_tap_stats {
	uint64_t seen; /* packets the capture stored while subscribed */
	uint64_t matched; /* ... that passed the filter */
	uint64_t queued; /* ... copied into the queue */
	uint64_t taken; /* ... handed out by pr_tap_next() */
	uint64_t lost_rate; /* matched, over the rate cap */
	uint64_t lost_queue; /* matched, the queue full (the client too slow) */
	uint64_t queue_bytes; /* queued now */
	char end_msg[256]; /* how the capture ended, once it has */
};

void pr_tap_get_stats(struct pr_tap *t, struct pr_tap_stats *out);
/* Unsubscribe and free what is queued. NULL is a no-op. */
void pr_tap_close(struct pr_tap *t);

#endif /* PR_TAP_H */
