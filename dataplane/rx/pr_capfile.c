// SPDX-License-Identifier: Apache-2.0
/*
 * Capture-file reader behind pr_capfile.h. The whole file sits in one
 * contiguous read-only buffer (a private mapping of a regular file, a
 * malloc'd copy of a pipe or stdin, or the caller's memory) and
 * pr_capfile_next() walks it record by record, handing out pointers into
 * that buffer, so the per-packet path does no allocation, no copy and no
 * system call. Every multi-byte field is read with memcpy (records in a
 * file have no alignment) and checked against the bytes left before it is
 * used; the first damage found becomes a sticky error that names the byte
 * offset. Called by one thread per reader (the pcap backend's rx core,
 * tests, fuzzers). The reader owns the mapping or the copy, and the
 * interface table, which only grows while a pcapng file is read; the
 * interface structs it hands out never move.
 */
#include "pr_capfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pr_compiler.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du
/* Alexey Kuznetzov's patched libpcap: 8 more bytes per record header */
#define PCAP_MAGIC_KUZNETZOV 0xa1b2cd34u
#define PCAP_FILE_HDR_LEN 24u
#define PCAP_REC_HDR_LEN 16u
#define PCAP_KUZNETZOV_REC_HDR_LEN 24u

#define PCAPNG_SHB 0x0a0d0d0au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_PB 0x00000002u
#define PCAPNG_SPB 0x00000003u
#define PCAPNG_NRB 0x00000004u
#define PCAPNG_ISB 0x00000005u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_DSB 0x0000000au
#define PCAPNG_CB 0x00000badu
#define PCAPNG_CB_NOCOPY 0x40000badu
#define PCAPNG_BLOCK_MIN 12u
#define PCAPNG_SHB_MIN 28u

#define OPT_ENDOFOPT 0
#define OPT_IF_NAME 2
#define OPT_IF_DESCRIPTION 3
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14

/*
 * Four times the 262144-byte snap length libpcap and Wireshark allow: no
 * real capture comes near it, yet a corrupt length is caught before anyone
 * trusts it.
 */
#define MAX_CAP_LEN (262144u * 4)
/* Bounds the table a hostile file can make us allocate (an IDB is 20 bytes). */
#define MAX_IFACES 65536u
#define NSEC_PER_SEC 1000000000u

enum ts_kind {
	TS_MUL, /* 10^-n with n <= 9: ns = units * factor, exact */
	TS_DIV, /* 10^-n with n > 9: ns = units / factor, truncated */
	TS_BIN, /* 2^-n: ns = units * 1e9 >> factor, truncated */
};

/* What the per-packet path needs of an interface, kept dense for the cache. */
struct ts_conv {
	uint64_t factor;
	uint64_t offset_ns;
	uint32_t snaplen;
	uint8_t kind;
};

struct pr_capfile {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	enum pr_capfile_format format;
	bool swap; /* file (or current section) byte order differs from ours */
	int err; /* sticky: once set, every pr_capfile_next() returns it */

	uint32_t rec_hdr_len; /* pcap */
	uint32_t ts_mult; /* pcap: ns per fraction unit */
	uint8_t len_order; /* pcap: LEN_* */

	uint32_t section_base; /* pcapng: flat index of the section's interface 0 */
	uint32_t n_ifaces;
	uint32_t cap_ifaces;
	struct ts_conv *conv;
	struct pr_capfile_iface **ifaces;

	void *map;
	size_t map_len;
	size_t released; /* bytes at the start of map handed back (page aligned) */
	uint8_t *copy;
	char errmsg[256];
};

/* Pre-2.3 pcap writers swapped incl_len and orig_len; libpcap undoes it. */
enum { LEN_NORMAL, LEN_SWAPPED, LEN_MAYBE_SWAPPED };

static _Thread_local char open_err[512];

static inline uint16_t rd16(const struct pr_capfile *cf, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return cf->swap ? __builtin_bswap16(v) : v;
}

static inline uint32_t rd32(const struct pr_capfile *cf, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return cf->swap ? __builtin_bswap32(v) : v;
}

static inline uint64_t rd64(const struct pr_capfile *cf, const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return cf->swap ? __builtin_bswap64(v) : v;
}

static int __attribute__((format(printf, 2, 3))) fail(struct pr_capfile *cf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cf->errmsg, sizeof(cf->errmsg), fmt, ap);
	va_end(ap);
	cf->err = -EINVAL;
	return cf->err;
}

static const char *block_name(uint32_t type)
{
	switch (type) {
	case PCAPNG_SHB:
		return "section header block";
	case PCAPNG_IDB:
		return "interface description block";
	case PCAPNG_PB:
		return "packet block";
	case PCAPNG_SPB:
		return "simple packet block";
	case PCAPNG_NRB:
		return "name resolution block";
	case PCAPNG_ISB:
		return "interface statistics block";
	case PCAPNG_EPB:
		return "enhanced packet block";
	case PCAPNG_DSB:
		return "decryption secrets block";
	case PCAPNG_CB:
	case PCAPNG_CB_NOCOPY:
		return "custom block";
	default:
		return "block";
	}
}

static inline uint64_t ts_to_ns(const struct ts_conv *c, uint64_t units)
{
	uint64_t ns;

	/* Unsigned arithmetic: a absurd timestamp wraps, it never traps. */
	if (likely(c->kind == TS_MUL))
		ns = units * c->factor;
	else if (c->kind == TS_DIV)
		ns = c->factor ? units / c->factor : 0;
	else
		ns = (uint64_t)(((unsigned __int128)units * NSEC_PER_SEC) >> c->factor);
	return ns + c->offset_ns;
}

static void conv_init(struct ts_conv *c, uint8_t tsresol, int64_t tsoffset_s, uint32_t snaplen)
{
	unsigned int n = tsresol & 0x7f;
	uint64_t p10 = 1;

	c->snaplen = snaplen;
	c->offset_ns = (uint64_t)tsoffset_s * NSEC_PER_SEC;
	if (tsresol & 0x80) {
		c->kind = TS_BIN;
		c->factor = n;
		return;
	}
	if (n <= 9) {
		for (unsigned int i = n; i < 9; i++)
			p10 *= 10;
		c->kind = TS_MUL;
		c->factor = p10;
		return;
	}
	/* 10^(n-9) fits in 64 bits up to n = 28; finer units make every ns value 0. */
	c->kind = TS_DIV;
	if (n - 9 > 19) {
		c->factor = 0;
		return;
	}
	for (unsigned int i = 9; i < n; i++)
		p10 *= 10;
	c->factor = p10;
}

static int iface_add(struct pr_capfile *cf, const struct pr_capfile_iface *src)
{
	struct pr_capfile_iface *ifc;

	if (cf->n_ifaces == cf->cap_ifaces) {
		uint32_t cap = cf->cap_ifaces ? cf->cap_ifaces * 2 : 4;
		struct ts_conv *conv;
		struct pr_capfile_iface **ifaces;

		conv = realloc(cf->conv, cap * sizeof(*conv));
		if (!conv)
			return -ENOMEM;
		cf->conv = conv;
		ifaces = realloc(cf->ifaces, cap * sizeof(*ifaces));
		if (!ifaces)
			return -ENOMEM;
		cf->ifaces = ifaces;
		cf->cap_ifaces = cap;
	}
	/* One allocation per interface so pointers handed out stay valid as the table grows. */
	ifc = malloc(sizeof(*ifc));
	if (!ifc)
		return -ENOMEM;
	*ifc = *src;
	conv_init(&cf->conv[cf->n_ifaces], ifc->tsresol, ifc->tsoffset_s, ifc->snaplen);
	cf->ifaces[cf->n_ifaces++] = ifc;
	return 0;
}

/* pcapng option strings are UTF-8 without a terminator; stop at an embedded NUL. */
static void copy_opt_str(char *dst, size_t dst_len, const uint8_t *src, size_t src_len)
{
	const uint8_t *nul = memchr(src, 0, src_len);

	if (nul)
		src_len = (size_t)(nul - src);
	if (src_len >= dst_len)
		src_len = dst_len - 1;
	memcpy(dst, src, src_len);
	dst[src_len] = '\0';
}

static int pcap_open(struct pr_capfile *cf, uint32_t magic)
{
	struct pr_capfile_iface ifc = { 0 };
	uint16_t major, minor;
	int err;

	if (cf->len < PCAP_FILE_HDR_LEN)
		return fail(cf, "truncated pcap file header at offset 0 (%zu of %u bytes)", cf->len,
			    PCAP_FILE_HDR_LEN);
	major = rd16(cf, cf->buf + 4);
	minor = rd16(cf, cf->buf + 6);
	if (major != 2)
		return fail(cf, "pcap file header at offset 0: unsupported version %u.%u", major,
			    minor);
	/* The same rule as libpcap, so both read a 2.0-2.3 file alike. */
	if (minor < 3)
		cf->len_order = LEN_SWAPPED;
	else if (minor == 3)
		cf->len_order = LEN_MAYBE_SWAPPED;
	else
		cf->len_order = LEN_NORMAL;

	cf->format = PR_CAPFILE_PCAP;
	cf->rec_hdr_len = magic == PCAP_MAGIC_KUZNETZOV ? PCAP_KUZNETZOV_REC_HDR_LEN :
							  PCAP_REC_HDR_LEN;
	cf->ts_mult = magic == PCAP_MAGIC_NSEC ? 1 : 1000;
	ifc.snaplen = rd32(cf, cf->buf + 16);
	/* The upper 16 bits carry the FCS length and reserved flags. */
	ifc.linktype = rd32(cf, cf->buf + 20) & 0xffff;
	ifc.tsresol = magic == PCAP_MAGIC_NSEC ? 9 : 6;
	err = iface_add(cf, &ifc);
	if (err)
		return err;
	cf->pos = PCAP_FILE_HDR_LEN;
	return 0;
}

static int pcap_next(struct pr_capfile *cf, struct pr_capfile_pkt *pkt)
{
	size_t off = cf->pos;
	size_t left = cf->len - off;
	const uint8_t *p = cf->buf + off;
	uint32_t sec, frac, incl, orig;

	if (unlikely(left < cf->rec_hdr_len)) {
		if (left == 0)
			return 0;
		return fail(cf, "truncated record header at offset %zu (%zu bytes left)", off,
			    left);
	}
	sec = rd32(cf, p);
	frac = rd32(cf, p + 4);
	incl = rd32(cf, p + 8);
	orig = rd32(cf, p + 12);
	if (unlikely(cf->len_order != LEN_NORMAL) &&
	    (cf->len_order == LEN_SWAPPED || incl > orig)) {
		uint32_t t = incl;

		incl = orig;
		orig = t;
	}
	left -= cf->rec_hdr_len;
	if (unlikely(incl > MAX_CAP_LEN))
		return fail(
			cf,
			"packet record at offset %zu: %u bytes of data announced, more than the "
			"%u maximum",
			off, incl, MAX_CAP_LEN);
	if (unlikely(incl > left))
		return fail(
			cf,
			"truncated packet record at offset %zu: %u bytes of data announced, %zu "
			"left",
			off, incl, left);

	pkt->data = p + cf->rec_hdr_len;
	pkt->cap_len = incl;
	pkt->wire_len = orig > incl ? orig : incl;
	pkt->ts_ns = (uint64_t)sec * NSEC_PER_SEC + (uint64_t)frac * cf->ts_mult;
	pkt->iface = 0;
	pkt->offset = off;
	cf->pos = off + cf->rec_hdr_len + incl;
	return 1;
}

/*
 * Checks the framing every block shares: 32-bit multiple, at least the
 * 12 bytes of type and both length copies, inside the file, and equal
 * length copies.
 */
static int block_check(struct pr_capfile *cf, size_t off, uint32_t type, uint32_t blen)
{
	const char *name = block_name(type);
	size_t left = cf->len - off;

	if (blen < PCAPNG_BLOCK_MIN)
		return fail(cf, "%s (type 0x%08x) at offset %zu: total length %u is below 12", name,
			    type, off, blen);
	if (blen % 4)
		return fail(
			cf,
			"%s (type 0x%08x) at offset %zu: total length %u is not a multiple of 4",
			name, type, off, blen);
	if (blen > left)
		return fail(
			cf,
			"truncated %s (type 0x%08x) at offset %zu: %u bytes announced, %zu left",
			name, type, off, blen, left);
	if (rd32(cf, cf->buf + off + blen - 4) != blen)
		return fail(cf,
			    "%s (type 0x%08x) at offset %zu: trailing length %u does not match the "
			    "leading %u",
			    name, type, off, rd32(cf, cf->buf + off + blen - 4), blen);
	return 0;
}

static int shb_parse(struct pr_capfile *cf, size_t off)
{
	static const uint8_t bom_le[4] = { 0x4d, 0x3c, 0x2b, 0x1a };
	static const uint8_t bom_be[4] = { 0x1a, 0x2b, 0x3c, 0x4d };
	const uint8_t *p = cf->buf + off;
	size_t left = cf->len - off;
	bool file_le;
	uint16_t major, minor;
	uint32_t blen;
	int err;

	if (left < 12)
		return fail(cf, "truncated section header block at offset %zu (%zu bytes left)",
			    off, left);
	/* The byte-order magic decides how to read everything else, the length included. */
	if (!memcmp(p + 8, bom_le, 4))
		file_le = true;
	else if (!memcmp(p + 8, bom_be, 4))
		file_le = false;
	else
		return fail(cf,
			    "section header block at offset %zu: bad byte-order magic "
			    "0x%02x%02x%02x%02x",
			    off, p[8], p[9], p[10], p[11]);
	cf->swap = file_le != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
	blen = rd32(cf, p + 4);
	err = block_check(cf, off, PCAPNG_SHB, blen);
	if (err)
		return err;
	if (blen < PCAPNG_SHB_MIN)
		return fail(cf, "section header block at offset %zu: total length %u is below %u",
			    off, blen, PCAPNG_SHB_MIN);
	major = rd16(cf, p + 12);
	minor = rd16(cf, p + 14);
	if (major != 1)
		return fail(cf,
			    "section header block at offset %zu: unsupported pcapng version %u.%u",
			    off, major, minor);
	cf->format = PR_CAPFILE_PCAPNG;
	cf->section_base = cf->n_ifaces;
	cf->pos = off + blen;
	return 0;
}

static int idb_parse(struct pr_capfile *cf, size_t off, const uint8_t *body, uint32_t body_len)
{
	struct pr_capfile_iface ifc = { 0 };
	const uint8_t *opt;
	size_t o = 8;
	int err;

	if (body_len < 8)
		return fail(cf, "interface description block at offset %zu: %u bytes too short",
			    off, body_len + 12);
	if (cf->n_ifaces >= MAX_IFACES)
		return fail(cf,
			    "interface description block at offset %zu: more than %u interfaces",
			    off, MAX_IFACES);
	ifc.linktype = rd16(cf, body);
	ifc.snaplen = rd32(cf, body + 4);
	ifc.tsresol = 6;
	while (o + 4 <= body_len) {
		uint16_t code = rd16(cf, body + o);
		uint16_t olen = rd16(cf, body + o + 2);

		if (code == OPT_ENDOFOPT)
			break;
		if (olen > body_len - o - 4)
			return fail(
				cf,
				"interface description block at offset %zu: option %u at offset "
				"%zu runs past the end of the block",
				off, code, off + 8 + o);
		opt = body + o + 4;
		/* Wrong-sized known options are ignored, as Wireshark does. */
		switch (code) {
		case OPT_IF_NAME:
			copy_opt_str(ifc.name, sizeof(ifc.name), opt, olen);
			break;
		case OPT_IF_DESCRIPTION:
			copy_opt_str(ifc.description, sizeof(ifc.description), opt, olen);
			break;
		case OPT_IF_TSRESOL:
			if (olen == 1)
				ifc.tsresol = opt[0];
			break;
		case OPT_IF_TSOFFSET:
			if (olen == 8)
				ifc.tsoffset_s = (int64_t)rd64(cf, opt);
			break;
		default:
			break;
		}
		o += 4 + (((size_t)olen + 3) & ~(size_t)3);
	}
	err = iface_add(cf, &ifc);
	if (err) {
		fail(cf, "interface description block at offset %zu: out of memory", off);
		cf->err = err;
	}
	return err;
}

/* Resolves a section-relative interface id to the flat index. */
static inline int iface_lookup(struct pr_capfile *cf, size_t off, uint32_t type, uint32_t id,
			       uint32_t *flat)
{
	uint32_t in_section = cf->n_ifaces - cf->section_base;

	if (unlikely(id >= in_section))
		return fail(cf,
			    "%s at offset %zu: interface %u is not defined (the section has %u so "
			    "far)",
			    block_name(type), off, id, in_section);
	*flat = cf->section_base + id;
	return 0;
}

static int cap_check(struct pr_capfile *cf, size_t off, uint32_t type, uint32_t cap, uint32_t room)
{
	if (cap > MAX_CAP_LEN)
		return fail(cf,
			    "%s at offset %zu: %u bytes of packet data announced, more than the %u "
			    "maximum",
			    block_name(type), off, cap, MAX_CAP_LEN);
	if (cap > room)
		return fail(
			cf,
			"%s at offset %zu: %u bytes of packet data announced, the block holds %u",
			block_name(type), off, cap, room);
	return 0;
}

/* EPB and the obsolete PB share the layout after their first 32-bit word. */
static int epb_parse(struct pr_capfile *cf, size_t off, uint32_t type, const uint8_t *body,
		     uint32_t body_len, struct pr_capfile_pkt *pkt)
{
	uint32_t id, cap, orig, flat = 0;
	uint64_t units;
	int err;

	if (unlikely(body_len < 20))
		return fail(cf, "%s at offset %zu: %u bytes too short", block_name(type), off,
			    body_len + 12);
	id = type == PCAPNG_EPB ? rd32(cf, body) : rd16(cf, body);
	units = (uint64_t)rd32(cf, body + 4) << 32 | rd32(cf, body + 8);
	cap = rd32(cf, body + 12);
	orig = rd32(cf, body + 16);
	err = cap_check(cf, off, type, cap, body_len - 20);
	if (unlikely(err))
		return err;
	err = iface_lookup(cf, off, type, id, &flat);
	if (unlikely(err))
		return err;
	pkt->data = body + 20;
	pkt->cap_len = cap;
	pkt->wire_len = orig > cap ? orig : cap;
	pkt->ts_ns = ts_to_ns(&cf->conv[flat], units);
	pkt->iface = flat;
	pkt->offset = off;
	return 1;
}

static int spb_parse(struct pr_capfile *cf, size_t off, const uint8_t *body, uint32_t body_len,
		     struct pr_capfile_pkt *pkt)
{
	uint32_t orig, cap, flat = 0, snaplen;
	int err;

	if (body_len < 4)
		return fail(cf, "simple packet block at offset %zu: %u bytes too short", off,
			    body_len + 12);
	err = iface_lookup(cf, off, PCAPNG_SPB, 0, &flat);
	if (err)
		return err;
	orig = rd32(cf, body);
	/* The block holds min(original length, snaplen) bytes plus padding. */
	cap = body_len - 4;
	if (orig < cap)
		cap = orig;
	snaplen = cf->conv[flat].snaplen;
	if (snaplen && snaplen < cap)
		cap = snaplen;
	err = cap_check(cf, off, PCAPNG_SPB, cap, body_len - 4);
	if (err)
		return err;
	pkt->data = body + 4;
	pkt->cap_len = cap;
	pkt->wire_len = orig > cap ? orig : cap;
	/* An SPB carries no time stamp: the capture loop stamps it. */
	pkt->ts_ns = PR_CAPFILE_TS_NONE;
	pkt->iface = flat;
	pkt->offset = off;
	return 1;
}

static int pcapng_next(struct pr_capfile *cf, struct pr_capfile_pkt *pkt)
{
	for (;;) {
		size_t off = cf->pos;
		size_t left = cf->len - off;
		const uint8_t *p = cf->buf + off;
		uint32_t type, blen;
		int ret = 0;

		if (unlikely(left < 8)) {
			if (left == 0)
				return 0;
			return fail(cf, "truncated block header at offset %zu (%zu bytes left)",
				    off, left);
		}
		/* The SHB type reads the same in both byte orders. */
		memcpy(&type, p, sizeof(type));
		if (unlikely(type == PCAPNG_SHB)) {
			ret = shb_parse(cf, off);
			if (ret)
				return ret;
			continue;
		}
		type = rd32(cf, p);
		blen = rd32(cf, p + 4);
		ret = block_check(cf, off, type, blen);
		if (unlikely(ret))
			return ret;
		switch (type) {
		case PCAPNG_EPB:
		case PCAPNG_PB:
			ret = epb_parse(cf, off, type, p + 8, blen - 12, pkt);
			break;
		case PCAPNG_SPB:
			ret = spb_parse(cf, off, p + 8, blen - 12, pkt);
			break;
		case PCAPNG_IDB:
			ret = idb_parse(cf, off, p + 8, blen - 12);
			break;
		default:
			break;
		}
		if (ret < 0)
			return ret;
		cf->pos = off + blen;
		if (ret)
			return ret;
	}
}

static int header_parse(struct pr_capfile *cf)
{
	uint32_t magic, raw;

	if (cf->len == 0)
		return fail(cf, "not a pcap or pcapng file: file is empty (0 bytes)");
	if (cf->len < 4)
		return fail(cf, "not a pcap or pcapng file: file is too short (%zu bytes)",
			    cf->len);
	memcpy(&raw, cf->buf, sizeof(raw));
	if (raw == PCAPNG_SHB)
		return shb_parse(cf, 0);
	magic = raw;
	cf->swap = false;
	if (magic != PCAP_MAGIC_USEC && magic != PCAP_MAGIC_NSEC && magic != PCAP_MAGIC_KUZNETZOV) {
		magic = __builtin_bswap32(raw);
		cf->swap = true;
	}
	if (magic != PCAP_MAGIC_USEC && magic != PCAP_MAGIC_NSEC && magic != PCAP_MAGIC_KUZNETZOV)
		return fail(
			cf,
			"not a pcap or pcapng file: unknown magic 0x%02x%02x%02x%02x at offset 0",
			cf->buf[0], cf->buf[1], cf->buf[2], cf->buf[3]);
	return pcap_open(cf, magic);
}

static int open_common(struct pr_capfile *cf, const char *name, struct pr_capfile **out)
{
	int err = header_parse(cf);

	if (err) {
		snprintf(open_err, sizeof(open_err), "%s: %s", name,
			 cf->errmsg[0] ? cf->errmsg : strerror(-err));
		pr_capfile_close(cf);
		return err;
	}
	/* Open errors belong to pr_capfile_open_error(); the reader starts clean. */
	cf->errmsg[0] = '\0';
	*out = cf;
	return 0;
}

static int read_all(int fd, uint8_t **out, size_t *out_len)
{
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = malloc(cap);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			uint8_t *nbuf = realloc(buf, cap * 2);

			if (!nbuf) {
				err = -ENOMEM;
				goto err_free;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto err_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*out_len = len;
	return 0;
err_free:
	free(buf);
	return err;
}

int pr_capfile_open_path(const char *path, struct pr_capfile **out)
{
	struct pr_capfile *cf = NULL;
	bool is_stdin = !strcmp(path, "-");
	const char *name = is_stdin ? "<stdin>" : path;
	struct stat st;
	int fd = -1;
	int err = 0;

	*out = NULL;
	cf = calloc(1, sizeof(*cf));
	if (!cf) {
		err = -ENOMEM;
		goto err_msg;
	}
	if (is_stdin) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			goto err_msg;
		}
	}
	if (fstat(fd, &st)) {
		err = -errno;
		goto err_msg;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		/*
		 * A private read-only mapping: the page cache feeds the
		 * reader without a copy, and the kernel reads ahead.
		 */
		cf->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (cf->map == MAP_FAILED) {
			cf->map = NULL;
		} else {
			cf->map_len = (size_t)st.st_size;
			madvise(cf->map, cf->map_len, MADV_SEQUENTIAL);
			cf->buf = cf->map;
			cf->len = cf->map_len;
		}
	}
	if (!cf->map && !(S_ISREG(st.st_mode) && st.st_size == 0)) {
		/* Pipes, stdin and files that cannot be mapped are read whole. */
		err = read_all(fd, &cf->copy, &cf->len);
		if (err)
			goto err_msg;
		cf->buf = cf->copy;
	}
	if (!is_stdin)
		close(fd);
	fd = -1;
	return open_common(cf, name, out);

err_msg:
	snprintf(open_err, sizeof(open_err), "%s: %s", name, strerror(-err));
	if (fd >= 0 && !is_stdin)
		close(fd);
	pr_capfile_close(cf);
	return err;
}

int pr_capfile_open_mem(const uint8_t *buf, size_t len, struct pr_capfile **out)
{
	struct pr_capfile *cf;

	*out = NULL;
	cf = calloc(1, sizeof(*cf));
	if (!cf) {
		snprintf(open_err, sizeof(open_err), "<memory>: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	cf->buf = buf;
	cf->len = buf ? len : 0;
	return open_common(cf, "<memory>", out);
}

const char *pr_capfile_open_error(void)
{
	return open_err;
}

int pr_capfile_next(struct pr_capfile *cf, struct pr_capfile_pkt *pkt)
{
	if (unlikely(cf->err))
		return cf->err;
	if (likely(cf->format == PR_CAPFILE_PCAP))
		return pcap_next(cf, pkt);
	return pcapng_next(cf, pkt);
}

enum pr_capfile_format pr_capfile_format(const struct pr_capfile *cf)
{
	return cf->format;
}

uint32_t pr_capfile_iface_count(const struct pr_capfile *cf)
{
	return cf->n_ifaces;
}

const struct pr_capfile_iface *pr_capfile_iface(const struct pr_capfile *cf, uint32_t idx)
{
	return idx < cf->n_ifaces ? cf->ifaces[idx] : NULL;
}

const char *pr_capfile_errmsg(const struct pr_capfile *cf)
{
	return cf->errmsg;
}

uint64_t pr_capfile_offset(const struct pr_capfile *cf)
{
	return cf->pos;
}

uint64_t pr_capfile_size(const struct pr_capfile *cf)
{
	return cf->len;
}

void pr_capfile_release_before(struct pr_capfile *cf, uint64_t offset)
{
	const size_t chunk = 8u << 20;
	size_t end;

	/*
	 * Only a mapped file can give pages back, and only in large steps so
	 * the madvise() cost stays negligible. The pages stay in the page
	 * cache; they just stop counting against this process.
	 */
	if (!cf->map || offset > cf->map_len || offset < cf->released + chunk)
		return;
	end = (size_t)offset & ~(chunk - 1);
	if (end <= cf->released)
		return;
	madvise((uint8_t *)cf->map + cf->released, end - cf->released, MADV_DONTNEED);
	cf->released = end;
}

void pr_capfile_close(struct pr_capfile *cf)
{
	if (!cf)
		return;
	for (uint32_t i = 0; i < cf->n_ifaces; i++)
		free(cf->ifaces[i]);
	free(cf->ifaces);
	free(cf->conv);
	if (cf->map)
		munmap(cf->map, cf->map_len);
	free(cf->copy);
	free(cf);
}
