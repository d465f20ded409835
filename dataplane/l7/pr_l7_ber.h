/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to dataplane/l7/: a bounded reader of ASN.1 BER/DER elements,
 * for the parsers of SNMP, LDAP and Kerberos. Definite lengths only (none
 * of the three uses the indefinite form on the wire); tag numbers and
 * lengths that do not fit 32 bits are refused. Header only; no state.
 */
#ifndef PR_L7_BER_H
#define PR_L7_BER_H

#include "pr_l7_int.h"

#define BER_UNIVERSAL 0
#define BER_APPLICATION 1
#define BER_CONTEXT 2
#define BER_PRIVATE 3

#define BER_INTEGER 2
#define BER_OCTET_STRING 4
#define BER_NULL 5
#define BER_OID 6
#define BER_ENUMERATED 10
#define BER_SEQUENCE 16
#define BER_SET 17

struct l7_ber {
	uint8_t cls; /* BER_UNIVERSAL .. BER_PRIVATE */
	bool cons; /* constructed */
	uint32_t tag;
	struct l7_rd val; /* the contents */
};

/* The next element of r into e. False (and r->bad) when it does not parse or fit. */
static inline bool l7_ber_next(struct l7_rd *r, struct l7_ber *e)
{
	uint8_t b = l7_rd_u8(r), lb;
	uint32_t len;

	e->cls = b >> 6;
	e->cons = b & 0x20;
	e->tag = b & 0x1f;
	if (e->tag == 0x1f) {
		/* High tag numbers: base-128, at most four bytes here. */
		e->tag = 0;
		for (int i = 0;; i++) {
			b = l7_rd_u8(r);
			if (r->bad || i == 4) {
				r->bad = true;
				return false;
			}
			e->tag = e->tag << 7 | (b & 0x7f);
			if (!(b & 0x80))
				break;
		}
	}
	lb = l7_rd_u8(r);
	if (lb < 0x80) {
		len = lb;
	} else if (lb == 0x80 || lb > 0x84) {
		r->bad = true; /* indefinite, or longer than 32 bits */
		return false;
	} else {
		len = 0;
		for (int i = 0; i < (lb & 0x7f); i++)
			len = len << 8 | l7_rd_u8(r);
	}
	e->val = l7_rd_sub(r, len);
	return !r->bad;
}

/* Is e the element (class, tag)? */
static inline bool l7_ber_is(const struct l7_ber *e, uint8_t cls, uint32_t tag)
{
	return e->cls == cls && e->tag == tag;
}

/* A signed INTEGER (or ENUMERATED) of at most 8 bytes. */
static inline bool l7_ber_int(const struct l7_ber *e, int64_t *v)
{
	size_t n = l7_rd_left(&e->val);
	uint64_t u;

	if (!n || n > 8)
		return false;
	u = (e->val.p[0] & 0x80) ? ~(uint64_t)0 : 0;
	for (size_t i = 0; i < n; i++)
		u = u << 8 | e->val.p[i];
	*v = (int64_t)u;
	return true;
}

/* Read the next element and require (class, tag); returns its contents reader. */
static inline bool l7_ber_expect(struct l7_rd *r, uint8_t cls, uint32_t tag, struct l7_ber *e)
{
	return l7_ber_next(r, e) && l7_ber_is(e, cls, tag);
}

/* An OBJECT IDENTIFIER's contents in dotted form ("1.3.6.1.2.1.1.5.0"); "" when malformed. */
static inline void l7_ber_oid(struct l7_sb *sb, const uint8_t *p, size_t n)
{
	size_t start = sb->len;
	uint64_t v = 0;
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		if (v >> 56) {
			goto bad; /* an arc past 63 bits */
		}
		v = v << 7 | (p[i] & 0x7f);
		if (p[i] & 0x80) {
			if (i + 1 == n)
				goto bad; /* the last arc does not end */
			continue;
		}
		if (first) {
			uint64_t a = v < 40 ? 0 : v < 80 ? 1 : 2;

			l7_sb_u32(sb, (uint32_t)a);
			l7_sb_putc(sb, '.');
			v -= a * 40;
			first = false;
		} else {
			l7_sb_putc(sb, '.');
		}
		if (v > 0xffffffffu) {
			/* Rare (UUID arcs): printed in two halves would be wrong, so as decimal. */
			char tmp[24];
			int k = 0;

			do {
				tmp[k++] = (char)('0' + v % 10);
				v /= 10;
			} while (v);
			while (k)
				l7_sb_putc(sb, tmp[--k]);
		} else {
			l7_sb_u32(sb, (uint32_t)v);
		}
		v = 0;
	}
	return;
bad:
	sb->len = start;
	if (sb->cap)
		sb->p[start] = '\0';
}

#endif /* PR_L7_BER_H */
