// SPDX-License-Identifier: Apache-2.0
/*
 * BGP-4 over TCP port 179 (RFC 4271, 4-byte AS numbers of RFC 6793,
 * multiprotocol NLRI of RFC 4760, ADD-PATH of RFC 7911). One transaction
 * per message: OPEN (version, AS, hold time, identifier, capabilities),
 * UPDATE (prefixes announced and withdrawn, IPv4 and IPv6 unicast and
 * multicast as text, other families counted; AS path, next hop),
 * NOTIFICATION (error code and subcode), KEEPALIVE, ROUTE-REFRESH.
 *
 * Two things depend on the session: AS numbers are 4 bytes when both
 * OPENs carried the capability, and NLRI carry path identifiers when the
 * sender offered to send them and the receiver to receive them. When an
 * OPEN was not seen (a capture that starts late), the AS path is read in
 * the size that fills the attribute exactly, and prefixes with path
 * identifiers when they would not parse without. Called by pr_l7.c on
 * the dataplane core that owns the flow.
 */
#include <string.h>

#include "pr_l7_int.h"

#define HDR 19

#define T_OPEN 1
#define T_UPDATE 2
#define T_NOTIFICATION 3
#define T_KEEPALIVE 4
#define T_ROUTE_REFRESH 5

#define CAP_AS4 65
#define CAP_ADD_PATH 69

#define A_AS_PATH 2
#define A_NEXT_HOP 3
#define A_MP_REACH 14
#define A_MP_UNREACH 15

/* l7_bgp.open[d] */
#define O_SEEN 0x01
#define O_AS4 0x02
#define O_AP_SEND 0x04 /* IPv4 unicast ADD-PATH: this side sends path ids */
#define O_AP_RECV 0x08 /* ... and receives them */

static void open_msg(struct pr_l7_bgp *b, uint8_t *state, const uint8_t *p, uint32_t n)
{
	struct l7_rd r = l7_rd_make(p + HDR, n - HDR);
	struct l7_sb caps;
	struct l7_rd opt;
	const uint8_t *id;

	l7_sb_init(&caps, b->caps, sizeof(b->caps));
	b->version = l7_rd_u8(&r);
	b->my_as = l7_rd_u16(&r);
	b->hold_time = l7_rd_u16(&r);
	id = l7_rd_bytes(&r, 4);
	if (id)
		l7_addr_text(b->router_id, id, 4);
	opt = l7_rd_sub(&r, l7_rd_u8(&r));
	*state = O_SEEN;
	while (l7_rd_left(&opt) >= 2) {
		uint8_t ptype = l7_rd_u8(&opt);
		struct l7_rd par = l7_rd_sub(&opt, l7_rd_u8(&opt));

		if (ptype != 2)
			continue; /* only capabilities are worth reading */
		while (l7_rd_left(&par) >= 2) {
			uint8_t code = l7_rd_u8(&par);
			struct l7_rd cv = l7_rd_sub(&par, l7_rd_u8(&par));

			if (cv.bad)
				break;
			l7_sb_sep(&caps);
			l7_sb_u32(&caps, code);
			if (code == CAP_AS4 && l7_rd_left(&cv) == 4) {
				b->my_as = l7_be32(cv.p);
				*state |= O_AS4;
			} else if (code == CAP_ADD_PATH) {
				while (l7_rd_left(&cv) >= 4) {
					uint16_t afi = l7_rd_u16(&cv);
					uint8_t safi = l7_rd_u8(&cv), sr = l7_rd_u8(&cv);

					if (afi == 1 && safi == 1)
						*state |= (sr & 2 ? O_AP_SEND : 0) |
							  (sr & 1 ? O_AP_RECV : 0);
				}
			}
		}
	}
}

/*
 * Prefixes of one family from r into sb: text for IPv4/IPv6 unicast,
 * multicast, labeled unicast (RFC 8277) and MPLS VPN (RFC 4364), whose
 * label stack (up to its bottom-of-stack bit) and route distinguisher
 * come before the address and are left out of the text. Returns how many,
 * or -1 when they do not parse.
 */
static int prefixes(struct l7_rd r, uint16_t afi, uint8_t safi, bool path_id, struct l7_sb *sb,
		    bool *cut)
{
	uint32_t alen = afi == 1 ? 4 : afi == 2 ? 16 : 0;
	bool labeled = safi == 4 || safi == 128;
	bool text = alen && (safi == 1 || safi == 2 || labeled);
	int n = 0;

	while (l7_rd_left(&r)) {
		uint8_t addr[16] = { 0 };
		uint32_t plen, nb, bits, skip = 0;

		if (path_id)
			l7_rd_u32(&r);
		plen = l7_rd_u8(&r);
		nb = (plen + 7) / 8;
		if (r.bad || nb > l7_rd_left(&r))
			return -1;
		bits = plen;
		if (text && labeled) {
			for (int k = 0; k < 8; k++) {
				uint32_t label;

				if (bits < 24)
					return -1;
				label = l7_be24(r.p + skip);
				skip += 3;
				bits -= 24;
				/* Bottom of stack, or the values withdrawals carry (RFC 8277 2.4). */
				if ((label & 1) || label == 0x800000 || label == 0)
					break;
			}
			if (safi == 128) {
				if (bits < 64)
					return -1;
				skip += 8;
				bits -= 64;
			}
		}
		if (text && bits > alen * 8)
			return -1;
		if (text) {
			char one[PR_L7_ADDR_MAX + 4];
			struct l7_sb o;

			memcpy(addr, r.p + skip, (bits + 7) / 8);
			l7_sb_init(&o, one, sizeof(one));
			l7_sb_addr(&o, addr, alen);
			l7_sb_putc(&o, '/');
			l7_sb_u32(&o, bits);
			if (sb->len + 1 + o.len < sb->cap) {
				l7_sb_sep(sb);
				l7_sb_putn(sb, one, o.len);
			} else {
				*cut = true;
			}
		}
		l7_rd_bytes(&r, nb);
		n++;
	}
	return n;
}

/*
 * Could r be prefixes with path identifiers? Each must have a length the
 * family allows, end inside r, and leave the bits after its length clear
 * (the test Wireshark makes), and its identifier must have a zero top
 * byte: speakers number paths from 1, while plain prefixes misread as
 * identifiers start with a prefix length (and they often pass the rest of
 * the test: two /24s read like one identifier and one /24).
 */
static bool looks_add_path(struct l7_rd r, uint32_t max_bits)
{
	if (!l7_rd_left(&r))
		return false;
	while (l7_rd_left(&r)) {
		uint32_t plen, nb;

		if (l7_rd_u32(&r) >> 24)
			return false;
		plen = l7_rd_u8(&r);
		nb = (plen + 7) / 8;
		if (r.bad || plen > max_bits || nb > l7_rd_left(&r))
			return false;
		if ((plen & 7) && (r.p[nb - 1] & (0xff >> (plen & 7))))
			return false;
		l7_rd_bytes(&r, nb);
	}
	return true;
}

/* Prefixes, with path identifiers if the session says so or (unknown) if they look so. */
static int prefixes_auto(struct l7_rd r, uint16_t afi, uint8_t safi, int add_path, struct l7_sb *sb,
			 bool *cut, uint8_t *flags)
{
	if (add_path < 0)
		add_path = afi <= 2 && looks_add_path(r, safi == 4 || safi == 128 ? 255 :
							 afi == 1		  ? 32 :
										    128);
	if (add_path > 0)
		*flags |= PR_L7_BGP_ADD_PATH;
	return prefixes(r, afi, safi, add_path > 0, sb, cut);
}

/* An AS_PATH in as_size-byte numbers; false when the segments do not fill it exactly. */
static bool as_path(struct l7_rd r, int as_size, struct l7_sb *sb)
{
	size_t mark = sb->len;

	while (l7_rd_left(&r)) {
		uint8_t type = l7_rd_u8(&r), count = l7_rd_u8(&r);
		bool set = type == 1 || type == 4;

		if (r.bad || (size_t)count * (size_t)as_size > l7_rd_left(&r))
			goto bad;
		if (sb->len > mark)
			l7_sb_putc(sb, ' ');
		if (set)
			l7_sb_putc(sb, '{');
		for (uint8_t i = 0; i < count; i++) {
			if (i)
				l7_sb_putc(sb, set ? ',' : ' ');
			l7_sb_u32(sb, as_size == 4 ? l7_rd_u32(&r) : l7_rd_u16(&r));
		}
		if (set)
			l7_sb_putc(sb, '}');
	}
	return true;
bad:
	sb->len = mark;
	if (sb->cap)
		sb->p[mark] = '\0';
	return false;
}

/*
 * ADD-PATH for an MP attribute's family: the OPENs are only read for
 * IPv4 unicast, so other families of a known session go without path
 * identifiers, and those of an unknown one by the look of their bytes.
 */
static int mp_add_path(const struct pr_l7_bgp *b, int add_path)
{
	if (b->afi == 1 && b->safi == 1)
		return add_path;
	return add_path >= 0 ? 0 : -1;
}

static void update_msg(struct pr_l7_bgp *b, const uint8_t *state, uint8_t d, const uint8_t *p,
		       uint32_t n)
{
	struct l7_rd r = l7_rd_make(p + HDR, n - HDR), wd, attrs;
	struct l7_sb ann, wdn, path;
	bool cut = false;
	int as4 = -1, add_path = -1, k;

	l7_sb_init(&ann, b->announced, sizeof(b->announced));
	l7_sb_init(&wdn, b->withdrawn, sizeof(b->withdrawn));
	l7_sb_init(&path, b->as_path, sizeof(b->as_path));
	if ((state[0] & O_SEEN) && (state[1] & O_SEEN)) {
		as4 = (state[0] & O_AS4) && (state[1] & O_AS4);
		add_path = (state[d] & O_AP_SEND) && (state[!d] & O_AP_RECV);
	}
	wd = l7_rd_sub(&r, l7_rd_u16(&r));
	attrs = l7_rd_sub(&r, l7_rd_u16(&r));
	if (r.bad)
		return;
	k = prefixes_auto(wd, 1, 1, add_path, &wdn, &cut, &b->flags);
	if (k > 0)
		b->n_withdrawn += (uint32_t)k;
	while (l7_rd_left(&attrs) >= 3) {
		uint8_t flags = l7_rd_u8(&attrs), type = l7_rd_u8(&attrs);
		uint16_t alen = flags & 0x10 ? l7_rd_u16(&attrs) : l7_rd_u8(&attrs);
		struct l7_rd v = l7_rd_sub(&attrs, alen);

		if (v.bad)
			break;
		switch (type) {
		case A_AS_PATH:
			if (as4 >= 0) {
				as_path(v, as4 ? 4 : 2, &path);
			} else if (as_path(v, 4, &path)) {
				as4 = 1;
			} else {
				as_path(v, 2, &path);
			}
			break;
		case A_NEXT_HOP:
			if (alen == 4)
				l7_addr_text(b->next_hop, v.p, 4);
			break;
		case A_MP_REACH: {
			uint8_t nhl;

			b->afi = l7_rd_u16(&v);
			b->safi = l7_rd_u8(&v);
			nhl = l7_rd_u8(&v);
			if (l7_rd_need(&v, nhl) && (nhl == 4 || nhl == 16 || nhl == 32))
				l7_addr_text(b->next_hop, v.p, nhl == 32 ? 16 : nhl);
			l7_rd_bytes(&v, nhl);
			l7_rd_u8(&v); /* reserved */
			if (v.bad)
				break;
			k = prefixes_auto(v, b->afi, b->safi, mp_add_path(b, add_path), &ann, &cut,
					  &b->flags);
			if (k > 0)
				b->n_announced += (uint32_t)k;
			break;
		}
		case A_MP_UNREACH:
			b->afi = l7_rd_u16(&v);
			b->safi = l7_rd_u8(&v);
			if (v.bad)
				break;
			k = prefixes_auto(v, b->afi, b->safi, mp_add_path(b, add_path), &wdn, &cut,
					  &b->flags);
			if (k > 0)
				b->n_withdrawn += (uint32_t)k;
			break;
		default:
			break;
		}
	}
	if (as4 > 0)
		b->flags |= PR_L7_BGP_AS4;
	/* What follows the attributes is IPv4 unicast NLRI. */
	k = prefixes_auto(r, 1, 1, add_path, &ann, &cut, &b->flags);
	if (k > 0)
		b->n_announced += (uint32_t)k;
	if (cut || path.cut)
		b->flags |= PR_L7_BGP_LISTS_CUT;
}

static void message(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
		    uint32_t n)
{
	struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_BGP);
	struct pr_l7_bgp *b = &t->u.bgp;

	memset(b, 0, offsetof(struct pr_l7_bgp, router_id));
	b->router_id[0] = b->caps[0] = b->as_path[0] = b->next_hop[0] = '\0';
	b->announced[0] = b->withdrawn[0] = '\0';
	b->type = p[18];
	b->length = (uint16_t)n;
	switch (b->type) {
	case T_OPEN:
		open_msg(b, &fl->u.bgp.open[d], p, n);
		if (fl->u.bgp.open[d] & O_AS4)
			b->flags |= PR_L7_BGP_AS4;
		break;
	case T_UPDATE:
		update_msg(b, fl->u.bgp.open, d, p, n);
		break;
	case T_NOTIFICATION:
		if (n >= HDR + 2) {
			b->err_code = p[HDR];
			b->err_subcode = p[HDR + 1];
		}
		break;
	case T_ROUTE_REFRESH:
		if (n >= HDR + 4) {
			b->afi = l7_be16(p + HDR);
			b->safi = p[HDR + 3];
		}
		break;
	default:
		break;
	}
	l7_txn_emit(ctx);
}

static bool marker_ok(const uint8_t *p)
{
	for (int i = 0; i < 16; i++)
		if (p[i] != 0xff)
			return false;
	return true;
}

static uint32_t bgp_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			  const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	uint32_t off = 0;

	while (len - off >= HDR) {
		uint32_t mlen = l7_be16(p + off + 16);

		if (!marker_ok(p + off) || mlen < HDR || p[off + 18] < T_OPEN ||
		    p[off + 18] > T_ROUTE_REFRESH) {
			l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
			return off;
		}
		if (mlen > len - off) {
			if (!ctx->buf_full)
				break;
			/* Larger than a buffer: skip it whole. */
			ctx->st.oversize++;
			l7_dir_skip(fl, d, mlen - (len - off));
			return len;
		}
		message(ctx, fl, d, p + off, mlen);
		off += mlen;
	}
	return off;
}

static bool header_ok(const uint8_t *p, uint32_t len)
{
	return len >= HDR && marker_ok(p) && l7_be16(p + 16) >= HDR && p[18] >= T_OPEN &&
	       p[18] <= T_ROUTE_REFRESH;
}

/*
 * Port 179 and a BGP header: the marker, a sane length and type. A first
 * segment may be shorter than a header: on this port eight bytes of the
 * marker are enough.
 */
static bool bgp_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
		       const uint8_t *p, uint32_t len)
{
	(void)ip_proto;
	(void)dir;
	if (server_port != 179 && client_port != 179)
		return false;
	if (len >= HDR)
		return header_ok(p, len);
	for (uint32_t i = 0; i < len && i < 16; i++)
		if (p[i] != 0xff)
			return false;
	return len >= 8;
}

/* After a gap: the marker makes a message start unmistakable. */
static bool bgp_resync(struct pr_l7_state *st, uint8_t dir, const uint8_t *p, uint32_t len)
{
	(void)st;
	(void)dir;
	return header_ok(p, len);
}

static void bgp_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_bgp_ops = {
	.name = "bgp",
	.app_id = PR_L7_APP_BGP,
	.l4 = PR_L7_L4_TCP,
	.detect = bgp_detect,
	.init = bgp_init,
	.parse = bgp_parse,
	.resync = bgp_resync,
};
