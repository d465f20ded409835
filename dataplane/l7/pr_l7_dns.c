// SPDX-License-Identifier: Apache-2.0
/*
 * DNS over UDP (one message per datagram) and TCP (2-byte length prefix,
 * several messages per segment or one message over several), on the DNS,
 * mDNS and LLMNR ports. Each message becomes one transaction: header,
 * first question, up to PR_L7_DNS_MAX_ANSWERS answers with their data in
 * text, and EDNS (OPT) from the additional section. Names are expanded
 * with compression pointers that may only point before the part of the
 * name being read, so every name ends after a bounded number of steps,
 * however the message is built. Called by pr_l7.c on the dataplane core
 * that owns the flow.
 */
#include <arpa/inet.h>
#include <string.h>

#include "pr_l7_int.h"

#define HDR_LEN 12
#define T_A 1
#define T_NS 2
#define T_CNAME 5
#define T_SOA 6
#define T_PTR 12
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28
#define T_SRV 33
#define T_OPT 41

/* Bounds on the work one message may cost. */
#define MAX_LABELS 128
#define MAX_JUMPS 32
#define MAX_RECORDS 256

static bool dns_port(uint16_t port)
{
	return port == 53 || port == 5353 || port == 5355;
}

/*
 * Append one label's bytes as text at dst[*o] (cap bytes with the NUL):
 * control bytes and space as \DDD, '.' and '\' escaped, the rest copied.
 * A label that does not fit is cut at a character boundary.
 */
static void label_text(char *dst, size_t cap, size_t *o, const uint8_t *p, uint32_t l)
{
	size_t n = *o;

	for (uint32_t i = 0; i < l; i++) {
		uint8_t c = p[i];

		if (n + 5 > cap)
			break;
		if (c == '.' || c == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)c;
		} else if (c <= 0x20 || c == 0x7f) {
			dst[n++] = '\\';
			dst[n++] = (char)('0' + c / 100);
			dst[n++] = (char)('0' + c / 10 % 10);
			dst[n++] = (char)('0' + c % 10);
		} else {
			dst[n++] = (char)c;
		}
	}
	*o = n;
}

/*
 * Expand the name at off into dst (NULL: only skip it), always NUL-terminated.
 * Returns the offset just after the name where it was written (after its
 * first pointer), or 0 when the name runs off the message, loops or is too
 * long (dst then holds the labels read so far).
 */
static uint32_t read_name(const uint8_t *msg, uint32_t len, uint32_t off, char *dst, size_t cap)
{
	uint32_t pos = off, after = 0, start = off;
	unsigned int labels = 0, jumps = 0;
	size_t o = 0;

	for (;;) {
		uint8_t l;

		if (pos >= len)
			goto bad;
		l = msg[pos];
		if (l == 0) {
			if (!after)
				after = pos + 1;
			break;
		}
		if ((l & 0xc0) == 0xc0) {
			uint32_t target;

			if (pos + 1 >= len || ++jumps > MAX_JUMPS)
				goto bad;
			target = (uint32_t)(l & 0x3f) << 8 | msg[pos + 1];
			if (!after)
				after = pos + 2;
			/*
			 * Only backwards, and before everything read so far:
			 * the start of each part strictly decreases, so no loop.
			 */
			if (target >= start)
				goto bad;
			start = target;
			pos = target;
			continue;
		}
		if (l & 0xc0)
			goto bad; /* extended label types (RFC 6891 obsoleted them) */
		if (pos + 1u + l > len || ++labels > MAX_LABELS)
			goto bad;
		if (dst) {
			if (o && o + 2 < cap)
				dst[o++] = '.';
			label_text(dst, cap, &o, msg + pos + 1, l);
		}
		pos += 1u + l;
	}
	if (dst) {
		if (!o && cap > 1)
			dst[o++] = '.';
		dst[o] = '\0';
	}
	return after;
bad:
	/* What was read stays, terminated: a broken message still shows its name so far. */
	if (dst)
		dst[o] = '\0';
	return 0;
}

/* The data of one record in text (see struct pr_l7_dns_answer). */
static void rdata_text(const uint8_t *msg, uint32_t len, uint16_t type, uint32_t off,
		       uint16_t rdlen, char *dst, size_t cap)
{
	const uint8_t *r = msg + off;
	char name[PR_L7_NAME_MAX], name2[PR_L7_NAME_MAX];
	struct l7_sb sb;
	uint32_t o;

	dst[0] = '\0';
	switch (type) {
	case T_A:
		if (rdlen == 4)
			inet_ntop(AF_INET, r, dst, (socklen_t)cap);
		break;
	case T_AAAA:
		if (rdlen == 16)
			inet_ntop(AF_INET6, r, dst, (socklen_t)cap);
		break;
	case T_CNAME:
	case T_NS:
	case T_PTR:
		read_name(msg, len, off, dst, cap);
		break;
	case T_MX:
		if (rdlen > 2 && read_name(msg, len, off + 2, name, sizeof(name))) {
			l7_sb_init(&sb, dst, cap);
			l7_sb_u32(&sb, l7_be16(r));
			l7_sb_putc(&sb, ' ');
			l7_sb_putn(&sb, name, strlen(name));
		}
		break;
	case T_SRV:
		if (rdlen > 6 && read_name(msg, len, off + 6, name, sizeof(name))) {
			l7_sb_init(&sb, dst, cap);
			for (int i = 0; i < 3; i++) {
				l7_sb_u32(&sb, l7_be16(r + 2 * i));
				l7_sb_putc(&sb, ' ');
			}
			l7_sb_putn(&sb, name, strlen(name));
		}
		break;
	case T_SOA:
		o = read_name(msg, len, off, name, sizeof(name));
		if (o)
			o = read_name(msg, len, o, name2, sizeof(name2));
		if (o && o + 20 <= off + rdlen) {
			l7_sb_init(&sb, dst, cap);
			l7_sb_putn(&sb, name, strlen(name));
			l7_sb_putc(&sb, ' ');
			l7_sb_putn(&sb, name2, strlen(name2));
			for (int i = 0; i < 5; i++) {
				l7_sb_putc(&sb, ' ');
				l7_sb_u32(&sb, l7_be32(msg + o + 4 * (uint32_t)i));
			}
		}
		break;
	case T_TXT:
		l7_sb_init(&sb, dst, cap);
		for (o = 0; o < rdlen;) {
			uint8_t sl = r[o];

			if (o + 1u + sl > rdlen)
				break;
			if (o)
				l7_sb_putc(&sb, ' ');
			if (sb.len + sl + 1 <= sb.cap) {
				l7_copy_text(sb.p + sb.len, sb.cap - sb.len, r + o + 1, sl);
				sb.len += sl;
			}
			o += 1u + sl;
		}
		break;
	default:
		break;
	}
}

static void message(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *msg,
		    uint32_t len, bool tcp)
{
	struct pr_l7_txn *t;
	struct pr_l7_dns *dn;
	uint16_t f, qd, an, ns, ar;
	uint32_t off = HDR_LEN;

	if (len < HDR_LEN) {
		ctx->st.malformed++;
		return;
	}
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_DNS_MESSAGE);
	dn = &t->u.dns;
	memset(dn, 0, offsetof(struct pr_l7_dns, qname));
	dn->qname[0] = '\0';
	dn->id = l7_be16(msg);
	f = l7_be16(msg + 2);
	dn->opcode = (f >> 11) & 15;
	dn->rcode = f & 15;
	dn->flags =
		(uint16_t)((f & 0x8000 ? PR_L7_DNS_RESPONSE : 0) | (f & 0x0400 ? PR_L7_DNS_AA : 0) |
			   (f & 0x0200 ? PR_L7_DNS_TC : 0) | (f & 0x0100 ? PR_L7_DNS_RD : 0) |
			   (f & 0x0080 ? PR_L7_DNS_RA : 0) | (tcp ? PR_L7_DNS_TCP : 0));
	dn->qdcount = qd = l7_be16(msg + 4);
	dn->ancount = an = l7_be16(msg + 6);
	dn->nscount = ns = l7_be16(msg + 8);
	dn->arcount = ar = l7_be16(msg + 10);

	for (uint32_t i = 0; i < qd && i < MAX_RECORDS; i++) {
		off = read_name(msg, len, off, i ? NULL : dn->qname, sizeof(dn->qname));
		if (!off || off + 4 > len)
			goto bad;
		if (!i) {
			dn->qtype = l7_be16(msg + off);
			dn->qclass = l7_be16(msg + off + 2);
		}
		off += 4;
	}
	for (uint32_t i = 0; i < (uint32_t)an + ns + ar && i < MAX_RECORDS; i++) {
		struct pr_l7_dns_answer *a = NULL;
		uint16_t type, rclass, rdlen;
		uint32_t ttl, noff;

		if (i < an && dn->n_answers < PR_L7_DNS_MAX_ANSWERS)
			a = &dn->answers[dn->n_answers];
		noff = read_name(msg, len, off, a ? a->name : NULL, PR_L7_NAME_MAX);
		if (!noff || noff + 10 > len)
			goto bad;
		type = l7_be16(msg + noff);
		rclass = l7_be16(msg + noff + 2);
		ttl = l7_be32(msg + noff + 4);
		rdlen = l7_be16(msg + noff + 8);
		off = noff + 10;
		if (rdlen > len - off)
			goto bad;
		if (a) {
			a->type = type;
			a->rclass = rclass;
			a->ttl = ttl;
			rdata_text(msg, len, type, off, rdlen, a->data, sizeof(a->data));
			dn->n_answers++;
		} else if (i >= (uint32_t)an + ns && type == T_OPT) {
			/* OPT: class is the UDP payload size, TTL holds ext-rcode, version, DO. */
			dn->flags |= PR_L7_DNS_EDNS | (ttl & 0x8000 ? PR_L7_DNS_DO : 0);
			dn->edns_udp_size = rclass;
			dn->edns_version = (uint8_t)(ttl >> 16);
		}
		off += rdlen;
	}
	l7_txn_emit(ctx);
	return;
bad:
	dn->flags |= PR_L7_DNS_MALFORMED;
	ctx->st.malformed++;
	l7_txn_emit(ctx);
}

static uint32_t dns_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			  const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	uint32_t off = 0;

	if (fl->ip_proto == PR_L7_PROTO_UDP) {
		message(ctx, fl, d, p, len, false);
		return len;
	}
	while (len - off >= 2) {
		uint32_t mlen = l7_be16(p + off);

		if (mlen + 2 > len - off) {
			if (!ctx->buf_full)
				break;
			/* Larger than a buffer (or the window): skip it whole. */
			ctx->st.oversize++;
			l7_dir_skip(fl, d, mlen + 2 - (len - off));
			return len;
		}
		message(ctx, fl, d, p + off + 2, mlen, true);
		off += mlen + 2;
	}
	return off;
}

/* A header that could be DNS: a known opcode, and a plausible question count. */
static bool header_ok(const uint8_t *h, uint32_t len)
{
	return len >= HDR_LEN && ((h[2] >> 3) & 15) <= 6 && l7_be16(h + 4) <= 32;
}

static bool dns_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
		       const uint8_t *p, uint32_t len)
{
	(void)dir;
	if (!dns_port(server_port) && !dns_port(client_port))
		return false;
	if (ip_proto == PR_L7_PROTO_UDP)
		return header_ok(p, len);
	return server_port == 53 && len >= 2 + HDR_LEN && l7_be16(p) >= HDR_LEN &&
	       header_ok(p + 2, len - 2);
}

static void dns_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_dns_ops = {
	.name = "dns",
	.app_id = PR_L7_APP_DNS,
	.l4 = PR_L7_L4_TCP | PR_L7_L4_UDP,
	.detect = dns_detect,
	.init = dns_init,
	.parse = dns_parse,
};
