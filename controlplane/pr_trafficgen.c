// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_trafficgen.h. Frames are assembled in one buffer
 * with correct IPv4 header checksums and lengths; TCP sequence numbers
 * follow the bytes sent, so tools that analyse TCP (tshark) see clean
 * conversations. A xorshift generator seeded from cfg->seed picks hosts,
 * ports, sizes and gaps, so the same seed always gives the same file.
 */
#include "pr_trafficgen.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct gen {
	struct pr_pcapw *w;
	uint64_t rng;
	uint64_t ts;
	uint64_t packets, bytes;
	int err;
	uint8_t buf[1600];
};

static uint64_t rnd(struct gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return g->rng;
}

static uint32_t rnd_range(struct gen *g, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(rnd(g) % (hi - lo + 1));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Add n bytes as big-endian 16-bit words to a one's-complement sum (RFC 1071). */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	return fold(sum16(p, n, 0));
}

/* The TCP/UDP checksum over the pseudo-header and segment (RFC 793, 768, 8200). */
static uint16_t l4_csum(const uint8_t *src, const uint8_t *dst, size_t alen, uint8_t proto,
			const uint8_t *seg, size_t len)
{
	uint16_t c = fold(
		sum16(seg, len, sum16(dst, alen, sum16(src, alen, 0)) + proto + (uint32_t)len));

	/* UDP sends a computed 0 as 0xffff: 0 means "no checksum" (IPv6 forbids it). */
	return c ? c : 0xffff;
}

static void emit(struct gen *g, size_t len)
{
	int ret;

	if (g->err)
		return;
	ret = pr_pcapw_write(g->w, 0, g->ts, g->buf, (uint32_t)len, (uint32_t)len);
	if (ret)
		g->err = ret;
	g->packets++;
	g->bytes += len;
}

static void gap(struct gen *g, uint32_t min_us, uint32_t max_us)
{
	g->ts += (uint64_t)rnd_range(g, min_us, max_us) * 1000ull + rnd_range(g, 0, 999);
}

struct endpoint {
	uint8_t mac[6];
	uint8_t ip[4];
	uint16_t port;
};

/* Ethernet (+ optional VLAN) + IPv4 header; returns the offset of L4. */
static size_t ipv4_hdr(struct gen *g, const struct endpoint *s, const struct endpoint *d,
		       uint16_t vlan, uint8_t proto, size_t l4_len)
{
	uint8_t *b = g->buf;
	size_t off = 12;
	uint8_t *ip;

	memcpy(b, d->mac, 6);
	memcpy(b + 6, s->mac, 6);
	if (vlan) {
		put16(b + off, 0x8100);
		put16(b + off + 2, vlan);
		off += 4;
	}
	put16(b + off, 0x0800);
	off += 2;
	ip = b + off;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4_len));
	put16(ip + 4, (uint16_t)rnd(g));
	ip[6] = 0x40; /* don't fragment */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, s->ip, 4);
	memcpy(ip + 16, d->ip, 4);
	put16(ip + 10, csum(ip, 20));
	return off + 20;
}

static void tcp_pkt(struct gen *g, const struct endpoint *s, const struct endpoint *d,
		    uint16_t vlan, uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *data,
		    size_t dlen)
{
	size_t off = ipv4_hdr(g, s, d, vlan, 6, 20 + dlen);
	uint8_t *t = g->buf + off;

	memset(t, 0, 20);
	put16(t, s->port);
	put16(t + 2, d->port);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 0x50;
	t[13] = flags;
	put16(t + 14, 64240);
	if (dlen)
		memcpy(t + 20, data, dlen);
	put16(t + 16, l4_csum(s->ip, d->ip, 4, 6, t, 20 + dlen));
	emit(g, off + 20 + dlen);
}

static void fill_payload(struct gen *g, uint8_t *p, size_t n)
{
	static const char text[] = "packetrecorder synthetic payload 0123456789 ";

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)text[(i + (rnd(g) & 3)) % (sizeof(text) - 1)];
}

static void tcp_conversation(struct gen *g, struct endpoint *c, struct endpoint *s, uint16_t vlan)
{
	uint8_t data[1460];
	uint32_t cseq = (uint32_t)rnd(g), sseq = (uint32_t)rnd(g);
	uint32_t exchanges = rnd_range(g, 1, 4);
	int len;

	tcp_pkt(g, c, s, vlan, cseq, 0, 0x02, NULL, 0);
	gap(g, 100, 3000);
	tcp_pkt(g, s, c, vlan, sseq, cseq + 1, 0x12, NULL, 0);
	gap(g, 50, 500);
	cseq++;
	sseq++;
	tcp_pkt(g, c, s, vlan, cseq, sseq, 0x10, NULL, 0);
	for (uint32_t i = 0; i < exchanges; i++) {
		uint32_t segs = rnd_range(g, 1, 6);

		gap(g, 100, 20000);
		len = snprintf((char *)data, sizeof(data),
			       "GET /object/%u HTTP/1.1\r\nHost: www.example.com\r\n"
			       "User-Agent: packetrecorder-gen\r\n\r\n",
			       (unsigned)rnd_range(g, 1, 99999));
		tcp_pkt(g, c, s, vlan, cseq, sseq, 0x18, data, (size_t)len);
		cseq += (uint32_t)len;
		for (uint32_t k = 0; k < segs; k++) {
			size_t n = k + 1 < segs ? 1460 : rnd_range(g, 20, 1460);

			gap(g, 20, 2000);
			if (k == 0) {
				len = snprintf((char *)data, sizeof(data),
					       "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
					       (unsigned)(segs * 1460));
				fill_payload(g, data + len, n > (size_t)len ? n - (size_t)len : 0);
				if (n < (size_t)len)
					n = (size_t)len;
			} else {
				fill_payload(g, data, n);
			}
			tcp_pkt(g, s, c, vlan, sseq, cseq, 0x18, data, n);
			sseq += (uint32_t)n;
		}
		gap(g, 50, 500);
		tcp_pkt(g, c, s, vlan, cseq, sseq, 0x10, NULL, 0);
	}
	gap(g, 100, 5000);
	tcp_pkt(g, c, s, vlan, cseq, sseq, 0x11, NULL, 0);
	gap(g, 50, 500);
	tcp_pkt(g, s, c, vlan, sseq, cseq + 1, 0x11, NULL, 0);
	gap(g, 50, 500);
	tcp_pkt(g, c, s, vlan, cseq + 1, sseq + 1, 0x10, NULL, 0);
}

static void udp_pkt(struct gen *g, const struct endpoint *s, const struct endpoint *d,
		    const uint8_t *data, size_t dlen)
{
	size_t off = ipv4_hdr(g, s, d, 0, 17, 8 + dlen);
	uint8_t *u = g->buf + off;

	put16(u, s->port);
	put16(u + 2, d->port);
	put16(u + 4, (uint16_t)(8 + dlen));
	put16(u + 6, 0);
	memcpy(u + 8, data, dlen);
	put16(u + 6, l4_csum(s->ip, d->ip, 4, 17, u, 8 + dlen));
	emit(g, off + 8 + dlen);
}

static size_t dns_name(uint8_t *p, const char *name)
{
	size_t n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

static void dns_exchange(struct gen *g, struct endpoint *c, struct endpoint *s)
{
	static const char *const names[] = { "www.example.com", "mail.example.org",
					     "cdn.example.net", "api.example.com" };
	uint8_t q[512];
	uint16_t id = (uint16_t)rnd(g);
	size_t n = 12, qend;

	memset(q, 0, 12);
	put16(q, id);
	q[2] = 0x01; /* recursion desired */
	put16(q + 4, 1);
	n += dns_name(q + n, names[rnd(g) % 4]);
	put16(q + n, 1); /* A */
	put16(q + n + 2, 1); /* IN */
	n += 4;
	qend = n;
	udp_pkt(g, c, s, q, n);
	gap(g, 500, 30000);
	q[2] = 0x81;
	q[3] = 0x80;
	put16(q + 6, 1);
	n = qend;
	put16(q + n, 0xc00c);
	put16(q + n + 2, 1);
	put16(q + n + 4, 1);
	put32(q + n + 6, 300);
	put16(q + n + 10, 4);
	put32(q + n + 12, 0x5db8d822);
	n += 16;
	{
		struct endpoint rs = *s, rc = *c;

		udp_pkt(g, &rs, &rc, q, n);
	}
}

static void icmp_echo(struct gen *g, struct endpoint *a, struct endpoint *b)
{
	uint16_t id = (uint16_t)rnd(g);

	for (int i = 0; i < 2; i++) {
		for (int dir = 0; dir < 2; dir++) {
			size_t off = ipv4_hdr(g, dir ? b : a, dir ? a : b, 0, 1, 8 + 32);
			uint8_t *ic = g->buf + off;

			ic[0] = dir ? 0 : 8;
			ic[1] = 0;
			put16(ic + 2, 0);
			put16(ic + 4, id);
			put16(ic + 6, (uint16_t)(i + 1));
			fill_payload(g, ic + 8, 32);
			put16(ic + 2, csum(ic, 40));
			emit(g, off + 40);
			gap(g, 200, 2000);
		}
		gap(g, 100000, 300000);
	}
}

static void arp_request(struct gen *g, const struct endpoint *a, const struct endpoint *b)
{
	uint8_t *p = g->buf;

	memset(p, 0xff, 6);
	memcpy(p + 6, a->mac, 6);
	put16(p + 12, 0x0806);
	put16(p + 14, 1);
	put16(p + 16, 0x0800);
	p[18] = 6;
	p[19] = 4;
	put16(p + 20, 1);
	memcpy(p + 22, a->mac, 6);
	memcpy(p + 28, a->ip, 4);
	memset(p + 32, 0, 6);
	memcpy(p + 38, b->ip, 4);
	memset(p + 42, 0, 18);
	emit(g, 60);
}

static void ipv6_udp(struct gen *g, const struct endpoint *a, const struct endpoint *b)
{
	uint8_t *p = g->buf;
	size_t dlen = rnd_range(g, 16, 400);

	memcpy(p, b->mac, 6);
	memcpy(p + 6, a->mac, 6);
	put16(p + 12, 0x86dd);
	memset(p + 14, 0, 40);
	p[14] = 0x60;
	put16(p + 18, (uint16_t)(8 + dlen));
	p[20] = 17;
	p[21] = 64;
	p[22] = 0x20;
	p[23] = 0x01;
	p[24] = 0x0d;
	p[25] = 0xb8;
	p[37] = a->ip[3];
	p[38] = 0x20;
	p[39] = 0x01;
	p[40] = 0x0d;
	p[41] = 0xb8;
	p[53] = b->ip[3];
	put16(p + 54, a->port);
	put16(p + 56, 443);
	put16(p + 58, (uint16_t)(8 + dlen));
	put16(p + 60, 0);
	fill_payload(g, p + 62, dlen);
	put16(p + 60, l4_csum(p + 22, p + 38, 16, 17, p + 54, 8 + dlen));
	emit(g, 62 + dlen);
}

static void make_host(struct gen *g, struct endpoint *e, bool server)
{
	e->mac[0] = 0x02;
	for (int i = 1; i < 6; i++)
		e->mac[i] = (uint8_t)rnd(g);
	e->ip[0] = server ? 192 : 10;
	e->ip[1] = server ? 0 : 1;
	e->ip[2] = server ? 2 : (uint8_t)rnd_range(g, 0, 3);
	e->ip[3] = (uint8_t)rnd_range(g, 1, 254);
	e->port = server ? 80 : (uint16_t)rnd_range(g, 32768, 60999);
}

int pr_trafficgen_write(const struct pr_trafficgen_cfg *cfg, struct pr_trafficgen_result *res)
{
	static struct gen g;
	struct pr_pcapw_cfg wc = {
		.format = cfg->format,
		.path = cfg->path,
		.comment = "synthetic traffic from packetrecorder generate",
		.user_appl = "packetrecorder " PR_VERSION,
	};
	struct pr_pcapw_iface wi = { .linktype = 1,
				     .snaplen = 65535,
				     .tsresol = 9,
				     .name = "gen0",
				     .description = "packetrecorder generator" };
	uint64_t conversations = 0;
	int ret;

	memset(&g, 0, sizeof(g));
	g.rng = cfg->seed * 0x9e3779b97f4a7c15ull + 0x1234567;
	g.ts = cfg->start_ts_ns ? cfg->start_ts_ns : 1767225600ull * 1000000000ull;
	ret = pr_pcapw_create(&wc, &g.w);
	if (ret)
		return ret;
	ret = pr_pcapw_add_iface(g.w, &wi);
	if (ret < 0)
		goto out;
	while (g.packets < cfg->packets && !g.err) {
		struct endpoint c, s;
		uint32_t kind = rnd_range(&g, 0, 99);

		make_host(&g, &c, false);
		make_host(&g, &s, true);
		if (kind < 55) {
			tcp_conversation(&g, &c, &s, 0);
		} else if (kind < 65) {
			s.port = 8080;
			tcp_conversation(&g, &c, &s, (uint16_t)rnd_range(&g, 10, 20));
		} else if (kind < 85) {
			s.port = 53;
			dns_exchange(&g, &c, &s);
		} else if (kind < 92) {
			icmp_echo(&g, &c, &s);
		} else if (kind < 96) {
			arp_request(&g, &c, &s);
		} else {
			ipv6_udp(&g, &c, &s);
		}
		conversations++;
		gap(&g, 10, 5000);
	}
	ret = g.err;
out : {
	int cret = pr_pcapw_close(g.w);

	if (!ret)
		ret = cret;
}
	if (res) {
		res->packets = g.packets;
		res->bytes = g.bytes;
		res->conversations = conversations;
	}
	return ret;
}
