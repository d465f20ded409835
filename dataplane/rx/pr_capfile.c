// SPDX-License-Identifier: Apache-2.0
/*
 * Capture-file reader behind pr_capfile.h. The parser walks one contiguous
 * read-only buffer record by record, handing out pointers into it, so the
 * per-packet path does no allocation, no copy and no system call. The
 * buffer is a private mapping of a regular file, the caller's memory, or,
 * for a stream, a window of the input in a bounded buffer the reader owns:
 * when a record is not complete yet the parser asks for more bytes
 * instead of calling it truncated, the buffer is refilled (moving the
 * unread tail to the front once no packet handed out points into it), and
 * a quiet source makes pr_capfile_next() return -EAGAIN rather than wait.
 * Every multi-byte field is read with memcpy (records in a file have no
 * alignment) and checked against the bytes left before it is used; the
 * first damage found becomes a sticky error that names the byte offset in
 * the input. Called by one thread per reader (the pcap backend's rx core,
 * tests, fuzzers). The reader owns the mapping or the stream buffer, and
 * the interface table, which only grows while a pcapng file is read; the
 * interface structs it hands out never move.
 */
#include "pr_capfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pr_capfmt.h"
#include "pr_compiler.h"

/* Formats and limits: pr_capfmt.h, shared with the writer (storage/pr_pcapw.c). */

/*
 * The longest pcapng block accepted, from a stream or a file alike: a
 * stream must hold a whole block in its buffer. Far above what writers
 * produce (Wireshark itself refuses blocks of a few hundred KiB), so only
 * a corrupt length meets it.
 */
#define MAX_BLOCK_LEN (16u << 20)
/*
 * A stream's buffer starts small (most streamed inputs in tests and
 * fuzzers are) and doubles each time it wraps around, up to the size it
 * is read in; only a block larger than that makes it grow further, up to
 * MAX_BLOCK_LEN.
 */
#define STREAM_BUF_MIN (64u << 10)
#define STREAM_WINDOW (4u << 20)
/* Parser-internal: a stream's record is incomplete, more bytes are needed. */
#define MORE 2
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
	const uint8_t *buf; /* the input's bytes [base, base + len) */
	size_t len;
	size_t pos; /* the next record, an index into buf */
	uint64_t base; /* input offset of buf[0]; 0 unless streaming */
	enum pr_capfile_format format; /* 0: header not read yet (stream) */
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

	/* stream */
	pr_capfile_read_fn read; /* NULL: mapped or caller's memory */
	void *read_ctx;
	uint8_t *sbuf; /* scap bytes; buf points here */
	size_t scap;
	size_t want; /* bytes from pos the parser asked for (MORE) */
	uint64_t out_end; /* input offset just past the last packet handed out */
	uint64_t done; /* the caller released every packet before this offset */
	bool eof;
	int fd; /* the descriptor fd_read() reads, or -1 */
	bool own_fd;
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

/* Input offset of buffer index off, for messages and packet offsets. */
static inline uint64_t at(const struct pr_capfile *cf, size_t off)
{
	return cf->base + off;
}

/*
 * A record starting at pos needs `want` bytes and the buffer has fewer:
 * true (and the parser returns MORE) when a stream can still bring them,
 * false when the input really ends here.
 */
static inline bool more_coming(struct pr_capfile *cf, size_t want)
{
	if (!cf->read || cf->eof)
		return false;
	cf->want = want;
	return true;
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
	case PR_PCAPNG_SHB:
		return "section header block";
	case PR_PCAPNG_IDB:
		return "interface description block";
	case PR_PCAPNG_PB:
		return "packet block";
	case PR_PCAPNG_SPB:
		return "simple packet block";
	case PR_PCAPNG_NRB:
		return "name resolution block";
	case PR_PCAPNG_ISB:
		return "interface statistics block";
	case PR_PCAPNG_EPB:
		return "enhanced packet block";
	case PR_PCAPNG_DSB:
		return "decryption secrets block";
	case PR_PCAPNG_CB:
	case PR_PCAPNG_CB_NOCOPY:
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

	if (cf->len < PR_PCAP_FILE_HDR_LEN) {
		if (more_coming(cf, PR_PCAP_FILE_HDR_LEN))
			return MORE;
		return fail(cf, "truncated pcap file header at offset 0 (%zu of %u bytes)", cf->len,
			    PR_PCAP_FILE_HDR_LEN);
	}
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
	cf->rec_hdr_len = magic == PR_PCAP_MAGIC_KUZNETZOV ? PR_PCAP_KUZNETZOV_REC_HDR_LEN :
							     PR_PCAP_REC_HDR_LEN;
	cf->ts_mult = magic == PR_PCAP_MAGIC_NSEC ? 1 : 1000;
	ifc.snaplen = rd32(cf, cf->buf + 16);
	/* The upper 16 bits carry the FCS length and reserved flags. */
	ifc.linktype = rd32(cf, cf->buf + 20) & 0xffff;
	ifc.tsresol = magic == PR_PCAP_MAGIC_NSEC ? 9 : 6;
	err = iface_add(cf, &ifc);
	if (err)
		return err;
	cf->pos = PR_PCAP_FILE_HDR_LEN;
	return 0;
}

static int pcap_next(struct pr_capfile *cf, struct pr_capfile_pkt *pkt)
{
	size_t off = cf->pos;
	size_t left = cf->len - off;
	const uint8_t *p = cf->buf + off;
	uint32_t sec, frac, incl, orig;

	if (unlikely(left < cf->rec_hdr_len)) {
		if (more_coming(cf, cf->rec_hdr_len))
			return MORE;
		if (left == 0)
			return 0;
		return fail(cf, "truncated record header at offset %" PRIu64 " (%zu bytes left)",
			    at(cf, off), left);
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
	if (unlikely(incl > PR_CAPFMT_MAX_CAP_LEN))
		return fail(cf,
			    "packet record at offset %" PRIu64 ": %u bytes of data announced, more "
			    "than the %u maximum",
			    at(cf, off), incl, PR_CAPFMT_MAX_CAP_LEN);
	if (unlikely(incl > left)) {
		if (more_coming(cf, cf->rec_hdr_len + incl))
			return MORE;
		return fail(cf,
			    "truncated packet record at offset %" PRIu64 ": %u bytes of data "
			    "announced, %zu left",
			    at(cf, off), incl, left);
	}

	pkt->data = p + cf->rec_hdr_len;
	pkt->cap_len = incl;
	pkt->wire_len = orig > incl ? orig : incl;
	pkt->ts_ns = (uint64_t)sec * NSEC_PER_SEC + (uint64_t)frac * cf->ts_mult;
	pkt->iface = 0;
	pkt->offset = at(cf, off);
	cf->pos = off + cf->rec_hdr_len + incl;
	return 1;
}

/*
 * Checks the framing every block shares: 32-bit multiple, at least the
 * 12 bytes of type and both length copies, at most MAX_BLOCK_LEN, inside
 * the file, and equal length copies. Returns MORE when a stream has not
 * delivered the whole block yet.
 */
static int block_check(struct pr_capfile *cf, size_t off, uint32_t type, uint32_t blen)
{
	const char *name = block_name(type);
	size_t left = cf->len - off;

	if (blen < PR_PCAPNG_BLOCK_MIN)
		return fail(cf,
			    "%s (type 0x%08x) at offset %" PRIu64 ": total length %u is below 12",
			    name, type, at(cf, off), blen);
	if (blen % 4)
		return fail(cf,
			    "%s (type 0x%08x) at offset %" PRIu64 ": total length %u is not a "
			    "multiple of 4",
			    name, type, at(cf, off), blen);
	if (blen > MAX_BLOCK_LEN)
		return fail(cf,
			    "%s (type 0x%08x) at offset %" PRIu64 ": total length %u is more than "
			    "the %u maximum",
			    name, type, at(cf, off), blen, MAX_BLOCK_LEN);
	if (blen > left) {
		if (more_coming(cf, blen))
			return MORE;
		return fail(cf,
			    "truncated %s (type 0x%08x) at offset %" PRIu64 ": %u bytes announced, "
			    "%zu left",
			    name, type, at(cf, off), blen, left);
	}
	if (rd32(cf, cf->buf + off + blen - 4) != blen)
		return fail(cf,
			    "%s (type 0x%08x) at offset %" PRIu64 ": trailing length %u does not "
			    "match the leading %u",
			    name, type, at(cf, off), rd32(cf, cf->buf + off + blen - 4), blen);
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

	if (left < 12) {
		if (more_coming(cf, 12))
			return MORE;
		return fail(cf,
			    "truncated section header block at offset %" PRIu64 " (%zu bytes left)",
			    at(cf, off), left);
	}
	/* The byte-order magic decides how to read everything else, the length included. */
	if (!memcmp(p + 8, bom_le, 4))
		file_le = true;
	else if (!memcmp(p + 8, bom_be, 4))
		file_le = false;
	else
		return fail(cf,
			    "section header block at offset %" PRIu64 ": bad byte-order magic "
			    "0x%02x%02x%02x%02x",
			    at(cf, off), p[8], p[9], p[10], p[11]);
	cf->swap = file_le != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
	blen = rd32(cf, p + 4);
	err = block_check(cf, off, PR_PCAPNG_SHB, blen);
	if (err)
		return err;
	if (blen < PR_PCAPNG_SHB_MIN)
		return fail(cf,
			    "section header block at offset %" PRIu64
			    ": total length %u is below %u",
			    at(cf, off), blen, PR_PCAPNG_SHB_MIN);
	major = rd16(cf, p + 12);
	minor = rd16(cf, p + 14);
	if (major != 1)
		return fail(cf,
			    "section header block at offset %" PRIu64
			    ": unsupported pcapng version "
			    "%u.%u",
			    at(cf, off), major, minor);
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
		return fail(cf,
			    "interface description block at offset %" PRIu64 ": %u bytes too short",
			    at(cf, off), body_len + 12);
	if (cf->n_ifaces >= MAX_IFACES)
		return fail(cf,
			    "interface description block at offset %" PRIu64 ": more than %u "
			    "interfaces",
			    at(cf, off), MAX_IFACES);
	ifc.linktype = rd16(cf, body);
	ifc.snaplen = rd32(cf, body + 4);
	ifc.tsresol = 6;
	while (o + 4 <= body_len) {
		uint16_t code = rd16(cf, body + o);
		uint16_t olen = rd16(cf, body + o + 2);

		if (code == PR_PCAPNG_OPT_ENDOFOPT)
			break;
		if (olen > body_len - o - 4)
			return fail(cf,
				    "interface description block at offset %" PRIu64 ": option %u "
				    "at offset %" PRIu64 " runs past the end of the block",
				    at(cf, off), code, at(cf, off + 8 + o));
		opt = body + o + 4;
		/* Wrong-sized known options are ignored, as Wireshark does. */
		switch (code) {
		case PR_PCAPNG_OPT_IF_NAME:
			copy_opt_str(ifc.name, sizeof(ifc.name), opt, olen);
			break;
		case PR_PCAPNG_OPT_IF_DESCRIPTION:
			copy_opt_str(ifc.description, sizeof(ifc.description), opt, olen);
			break;
		case PR_PCAPNG_OPT_IF_TSRESOL:
			if (olen == 1)
				ifc.tsresol = opt[0];
			break;
		case PR_PCAPNG_OPT_IF_TSOFFSET:
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
		fail(cf, "interface description block at offset %" PRIu64 ": out of memory",
		     at(cf, off));
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
			    "%s at offset %" PRIu64
			    ": interface %u is not defined (the section has "
			    "%u so far)",
			    block_name(type), at(cf, off), id, in_section);
	*flat = cf->section_base + id;
	return 0;
}

static int cap_check(struct pr_capfile *cf, size_t off, uint32_t type, uint32_t cap, uint32_t room)
{
	if (cap > PR_CAPFMT_MAX_CAP_LEN)
		return fail(cf,
			    "%s at offset %" PRIu64
			    ": %u bytes of packet data announced, more than "
			    "the %u maximum",
			    block_name(type), at(cf, off), cap, PR_CAPFMT_MAX_CAP_LEN);
	if (cap > room)
		return fail(cf,
			    "%s at offset %" PRIu64
			    ": %u bytes of packet data announced, the block "
			    "holds %u",
			    block_name(type), at(cf, off), cap, room);
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
		return fail(cf, "%s at offset %" PRIu64 ": %u bytes too short", block_name(type),
			    at(cf, off), body_len + 12);
	id = type == PR_PCAPNG_EPB ? rd32(cf, body) : rd16(cf, body);
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
	pkt->offset = at(cf, off);
	return 1;
}

static int spb_parse(struct pr_capfile *cf, size_t off, const uint8_t *body, uint32_t body_len,
		     struct pr_capfile_pkt *pkt)
{
	uint32_t orig, cap, flat = 0, snaplen;
	int err;

	if (body_len < 4)
		return fail(cf, "simple packet block at offset %" PRIu64 ": %u bytes too short",
			    at(cf, off), body_len + 12);
	err = iface_lookup(cf, off, PR_PCAPNG_SPB, 0, &flat);
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
	err = cap_check(cf, off, PR_PCAPNG_SPB, cap, body_len - 4);
	if (err)
		return err;
	pkt->data = body + 4;
	pkt->cap_len = cap;
	pkt->wire_len = orig > cap ? orig : cap;
	/* An SPB carries no time stamp: the capture loop stamps it. */
	pkt->ts_ns = PR_CAPFILE_TS_NONE;
	pkt->iface = flat;
	pkt->offset = at(cf, off);
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
			if (more_coming(cf, 8))
				return MORE;
			if (left == 0)
				return 0;
			return fail(cf,
				    "truncated block header at offset %" PRIu64 " (%zu bytes left)",
				    at(cf, off), left);
		}
		/* The SHB type reads the same in both byte orders. */
		memcpy(&type, p, sizeof(type));
		if (unlikely(type == PR_PCAPNG_SHB)) {
			ret = shb_parse(cf, off);
			if (ret)
				return ret;
			continue;
		}
		type = rd32(cf, p);
		blen = rd32(cf, p + 4);
		ret = block_check(cf, off, type, blen);
		if (unlikely(ret))
			return ret; /* damage, or MORE */
		switch (type) {
		case PR_PCAPNG_EPB:
		case PR_PCAPNG_PB:
			ret = epb_parse(cf, off, type, p + 8, blen - 12, pkt);
			break;
		case PR_PCAPNG_SPB:
			ret = spb_parse(cf, off, p + 8, blen - 12, pkt);
			break;
		case PR_PCAPNG_IDB:
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

/*
 * The file header: a pcap file header or the first Section Header Block.
 * The magic is checked as soon as its 4 bytes are there, so input that is
 * no capture at all (/dev/zero, a text file) fails at once, even from a
 * stream that will never end.
 */
static int header_parse(struct pr_capfile *cf)
{
	uint32_t magic, raw;

	if (cf->len < 4) {
		if (more_coming(cf, 4))
			return MORE;
		if (cf->len == 0)
			return fail(cf, "not a pcap or pcapng file: file is empty (0 bytes)");
		return fail(cf, "not a pcap or pcapng file: file is too short (%zu bytes)",
			    cf->len);
	}
	memcpy(&raw, cf->buf, sizeof(raw));
	if (raw == PR_PCAPNG_SHB)
		return shb_parse(cf, 0);
	magic = raw;
	cf->swap = false;
	if (magic != PR_PCAP_MAGIC_USEC && magic != PR_PCAP_MAGIC_NSEC &&
	    magic != PR_PCAP_MAGIC_KUZNETZOV) {
		magic = __builtin_bswap32(raw);
		cf->swap = true;
	}
	if (magic != PR_PCAP_MAGIC_USEC && magic != PR_PCAP_MAGIC_NSEC &&
	    magic != PR_PCAP_MAGIC_KUZNETZOV)
		return fail(cf, "not a pcap or pcapng file (starts with %02x %02x %02x %02x)",
			    cf->buf[0], cf->buf[1], cf->buf[2], cf->buf[3]);
	return pcap_open(cf, magic);
}

/*
 * Bring more of a stream into the buffer: cf->want bytes from pos are
 * needed. Returns 0 when bytes came or the input ended (cf->eof), -EAGAIN
 * when none are available now, -ENOBUFS when packets not yet released pin
 * the buffer, or a read error or -ENOMEM, which become sticky.
 */
static int refill(struct pr_capfile *cf)
{
	size_t need = cf->pos + cf->want;
	ssize_t n;

	if (need > cf->scap) {
		size_t cap = cf->scap;

		/*
		 * The record runs past the buffer's end. Move the unread tail
		 * to the front, and grow while below the working size or when
		 * the record is larger than the buffer; both move bytes, so
		 * only once no packet handed out points into the buffer.
		 */
		if (cf->done < cf->out_end)
			return -ENOBUFS;
		if (cf->pos) {
			memmove(cf->sbuf, cf->sbuf + cf->pos, cf->len - cf->pos);
			cf->base += cf->pos;
			cf->len -= cf->pos;
			cf->pos = 0;
		}
		if (cap < STREAM_WINDOW)
			cap *= 2;
		while (cap < cf->want)
			cap *= 2;
		if (cap > cf->scap) {
			uint8_t *nbuf = realloc(cf->sbuf, cap);

			if (!nbuf) {
				snprintf(cf->errmsg, sizeof(cf->errmsg),
					 "buffer of %zu bytes at offset %" PRIu64 ": %s", cap,
					 at(cf, 0), strerror(ENOMEM));
				cf->err = -ENOMEM;
				return cf->err;
			}
			cf->sbuf = nbuf;
			cf->buf = nbuf;
			cf->scap = cap;
		}
	}
	n = cf->read(cf->read_ctx, cf->sbuf + cf->len, cf->scap - cf->len);
	if (n > 0) {
		cf->len += (size_t)n;
		return 0;
	}
	if (n == 0) {
		cf->eof = true;
		return 0;
	}
	if (n == -EAGAIN)
		return -EAGAIN;
	snprintf(cf->errmsg, sizeof(cf->errmsg), "read failed at offset %" PRIu64 ": %s",
		 at(cf, cf->len), strerror((int)-n));
	cf->err = (int)n;
	return cf->err;
}

/* Parse what the buffer holds: 1 (packet), 0 (end), -errno, or MORE (stream). */
static int parse_next(struct pr_capfile *cf, struct pr_capfile_pkt *pkt)
{
	int ret;

	if (likely(cf->format == PR_CAPFILE_PCAP))
		return pcap_next(cf, pkt);
	if (likely(cf->format == PR_CAPFILE_PCAPNG))
		return pcapng_next(cf, pkt);
	ret = header_parse(cf);
	if (ret == 0)
		return parse_next(cf, pkt);
	if (ret < 0 && !cf->err) {
		snprintf(cf->errmsg, sizeof(cf->errmsg), "%s", strerror(-ret));
		cf->err = ret;
	}
	return ret;
}

/*
 * The header of a stream may not have arrived yet: the reader opens
 * anyway and pr_capfile_next() parses it when it comes.
 */
static int open_common(struct pr_capfile *cf, const char *name, struct pr_capfile **out)
{
	int err;

	for (;;) {
		err = header_parse(cf);
		if (err != MORE)
			break;
		err = refill(cf);
		if (err)
			break;
	}
	if (err == -EAGAIN)
		err = 0;
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

/*
 * The read function of a stream opened by path. poll() first, so that a
 * pipe or FIFO with nothing to say (or no writer yet) answers -EAGAIN
 * instead of blocking, without setting O_NONBLOCK on a standard input
 * that other processes share.
 */
static ssize_t fd_read(void *ctx, uint8_t *buf, size_t len)
{
	struct pr_capfile *cf = ctx;
	struct pollfd pfd = { .fd = cf->fd, .events = POLLIN };
	ssize_t n;
	int ret;

	ret = poll(&pfd, 1, 0);
	if (ret == 0)
		return -EAGAIN;
	if (ret < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	n = read(cf->fd, buf, len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? -EAGAIN : -errno;
	return n;
}

static int stream_init(struct pr_capfile *cf, pr_capfile_read_fn read, void *ctx)
{
	cf->sbuf = malloc(STREAM_BUF_MIN);
	if (!cf->sbuf)
		return -ENOMEM;
	cf->scap = STREAM_BUF_MIN;
	cf->buf = cf->sbuf;
	cf->read = read;
	cf->read_ctx = ctx;
	return 0;
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
	cf->fd = -1;
	if (is_stdin) {
		fd = STDIN_FILENO;
	} else {
		/* O_NONBLOCK: a FIFO without a writer must not hold up the open. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			err = -errno;
			goto err_msg;
		}
	}
	if (fstat(fd, &st)) {
		err = -errno;
		goto err_msg;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
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
	if (cf->map) {
		if (!is_stdin)
			close(fd);
		return open_common(cf, name, out);
	}
	/* Pipes, FIFOs, devices, sockets, stdin and unmappable files are streamed. */
	cf->fd = fd;
	cf->own_fd = !is_stdin;
	fd = -1;
	err = stream_init(cf, fd_read, cf);
	if (err)
		goto err_msg;
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
	cf->fd = -1;
	cf->buf = buf;
	cf->len = buf ? len : 0;
	return open_common(cf, "<memory>", out);
}

int pr_capfile_open_stream(pr_capfile_read_fn read, void *ctx, const char *name,
			   struct pr_capfile **out)
{
	struct pr_capfile *cf;
	int err;

	*out = NULL;
	cf = calloc(1, sizeof(*cf));
	if (!cf) {
		snprintf(open_err, sizeof(open_err), "%s: %s", name, strerror(ENOMEM));
		return -ENOMEM;
	}
	cf->fd = -1;
	err = stream_init(cf, read, ctx);
	if (err) {
		snprintf(open_err, sizeof(open_err), "%s: %s", name, strerror(-err));
		pr_capfile_close(cf);
		return err;
	}
	return open_common(cf, name, out);
}

const char *pr_capfile_open_error(void)
{
	return open_err;
}

int pr_capfile_next(struct pr_capfile *cf, struct pr_capfile_pkt *pkt)
{
	int ret;

	if (unlikely(cf->err))
		return cf->err;
	ret = parse_next(cf, pkt);
	/* A stream: read until the record is whole, the source is quiet, or it ends. */
	while (unlikely(ret == MORE)) {
		ret = refill(cf);
		if (ret)
			return ret;
		ret = parse_next(cf, pkt);
	}
	/* A stream keeps the bytes of packets handed out until they are released. */
	if (likely(ret == 1))
		cf->out_end = at(cf, cf->pos);
	return ret;
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
	return at(cf, cf->pos);
}

uint64_t pr_capfile_size(const struct pr_capfile *cf)
{
	return at(cf, cf->len);
}

int pr_capfile_fd(const struct pr_capfile *cf)
{
	return cf->fd;
}

void pr_capfile_release_before(struct pr_capfile *cf, uint64_t offset)
{
	const size_t chunk = 8u << 20;
	size_t end;

	if (cf->read) {
		/* The next refill may reuse the buffer once this covers out_end. */
		if (offset > cf->done)
			cf->done = offset;
		return;
	}
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
	free(cf->sbuf);
	if (cf->own_fd)
		close(cf->fd);
	free(cf);
}
