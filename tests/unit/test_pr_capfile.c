// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for pr_capfile, the pcap/pcapng reader. Every input is built
 * here byte by byte in either byte order (so each test states exactly what
 * the file holds), read back, and checked field by field; damaged inputs
 * are made by cutting and patching the valid ones. The classic pcap cases
 * are also read with libpcap at nanosecond precision and compared packet by
 * packet. Every case is also streamed (pr_capfile_open_stream()) in chunks
 * of every size down to one byte, with "nothing yet" answers in between,
 * and must read exactly as from memory; streams larger than the reader's
 * window, blocks larger than it, endless and quiet inputs are checked
 * too. Single-threaded; temporary files and FIFOs live in $TMPDIR and are
 * removed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pr_capfile.h"

/* A growable byte string written in one chosen byte order. */
struct bld {
	uint8_t *p;
	size_t len;
	size_t cap;
	bool be;
	size_t blk; /* start of the pcapng block being built */
};

/* What a test expects pr_capfile_next() to return, in order. */
struct want {
	const uint8_t *data;
	uint32_t cap_len;
	uint32_t wire_len;
	uint64_t ts_ns;
	uint32_t iface;
	size_t offset;
	size_t end; /* offset just past the record */
};

#define MAX_WANT 16

/*
 * A stream source over a byte string for pr_capfile_open_stream(): at most
 * `chunk` bytes per read (0: as many as asked), a random size in 1..chunk
 * when seeded, -EAGAIN on every `eagain`-th call, and `err` instead of the
 * end of input when set.
 */
struct src {
	const uint8_t *p;
	size_t len;
	size_t pos;
	size_t chunk;
	unsigned int seed;
	unsigned int eagain;
	unsigned int calls;
	int err;
};

static ssize_t src_read(void *ctx, uint8_t *buf, size_t len)
{
	struct src *s = ctx;
	size_t n = len;

	s->calls++;
	if (s->eagain && s->calls % s->eagain == 0)
		return -EAGAIN;
	if (s->pos == s->len)
		return s->err;
	if (s->chunk && n > s->chunk)
		n = s->chunk;
	if (s->seed && n > 1)
		n = 1 + (size_t)rand_r(&s->seed) % n;
	if (n > s->len - s->pos)
		n = s->len - s->pos;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

/*
 * The ways each valid input is read: mode 0 from memory, the others
 * streamed in chunks of a fixed or random size, some with -EAGAIN in
 * between. Modes below N_PLAIN_MODES never answer -EAGAIN, so an open
 * always gets as far as the bytes allow.
 */
static const struct {
	size_t chunk;
	unsigned int seed;
	unsigned int eagain;
} modes[] = {
	{ 0, 0, 0 },  { 1, 0, 0 },    { 7, 0, 0 }, { 0, 0, 0 }, { 2, 0, 0 },	{ 3, 0, 0 },
	{ 64, 0, 0 }, { 4096, 0, 0 }, { 1, 0, 2 }, { 5, 0, 3 }, { 100, 17, 4 }, { 1000, 99, 2 },
};
#define N_PLAIN_MODES 4
#define N_MODES (sizeof(modes) / sizeof(modes[0]))

static int open_mode(size_t mode, const uint8_t *p, size_t len, struct src *s,
		     struct pr_capfile **cf)
{
	if (mode == 0)
		return pr_capfile_open_mem(p, len, cf);
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->len = len;
	s->chunk = modes[mode].chunk;
	s->seed = modes[mode].seed;
	s->eagain = modes[mode].eagain;
	return pr_capfile_open_stream(src_read, s, "<stream>", cf);
}

/* pr_capfile_next(), asked again while a stream answers "nothing yet". */
static int next_pkt(struct pr_capfile *cf, struct pr_capfile_pkt *pkt)
{
	int ret;

	for (int tries = 0; tries < 1000000; tries++) {
		ret = pr_capfile_next(cf, pkt);
		if (ret != -EAGAIN)
			return ret;
	}
	fail_msg("the stream never got past -EAGAIN");
	return ret;
}

static void put(struct bld *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put8(struct bld *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put16(struct bld *b, uint16_t v)
{
	uint8_t x[2];

	for (int i = 0; i < 2; i++)
		x[b->be ? 1 - i : i] = (uint8_t)(v >> (8 * i));
	put(b, x, 2);
}

static void put32(struct bld *b, uint32_t v)
{
	uint8_t x[4];

	for (int i = 0; i < 4; i++)
		x[b->be ? 3 - i : i] = (uint8_t)(v >> (8 * i));
	put(b, x, 4);
}

static void put64(struct bld *b, uint64_t v)
{
	uint8_t x[8];

	for (int i = 0; i < 8; i++)
		x[b->be ? 7 - i : i] = (uint8_t)(v >> (8 * i));
	put(b, x, 8);
}

static void pad4(struct bld *b)
{
	while (b->len % 4)
		put8(b, 0);
}

static void set32(struct bld *b, size_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b->p[at + (size_t)(b->be ? 3 - i : i)] = (uint8_t)(v >> (8 * i));
}

static void blk_begin(struct bld *b, uint32_t type)
{
	b->blk = b->len;
	put32(b, type);
	put32(b, 0);
}

static void blk_end(struct bld *b)
{
	uint32_t total;

	pad4(b);
	total = (uint32_t)(b->len - b->blk + 4);
	set32(b, b->blk + 4, total);
	put32(b, total);
}

static void opt_bytes(struct bld *b, uint16_t code, const void *v, uint16_t len)
{
	put16(b, code);
	put16(b, len);
	put(b, v, len);
	pad4(b);
}

static void opt_str(struct bld *b, uint16_t code, const char *s)
{
	opt_bytes(b, code, s, (uint16_t)strlen(s));
}

static void opt_end(struct bld *b)
{
	put32(b, 0);
}

static void shb(struct bld *b, bool be)
{
	b->be = be;
	blk_begin(b, 0x0a0d0d0a);
	put32(b, 0x1a2b3c4d);
	put16(b, 1);
	put16(b, 0);
	put64(b, UINT64_MAX);
	opt_str(b, 1, "made by test_pr_capfile");
	opt_end(b);
	blk_end(b);
}

/* Deterministic packet bytes that differ per packet. */
static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void pcap_hdr(struct bld *b, bool be, uint32_t magic, uint32_t linktype)
{
	b->be = be;
	put32(b, magic);
	put16(b, 2);
	put16(b, 4);
	put32(b, 0);
	put32(b, 0);
	put32(b, 65535);
	put32(b, linktype);
}

static void pcap_rec(struct bld *b, struct want *w, uint32_t sec, uint32_t frac, uint32_t mult,
		     const uint8_t *data, uint32_t cap, uint32_t orig)
{
	w->offset = b->len;
	put32(b, sec);
	put32(b, frac);
	put32(b, cap);
	put32(b, orig);
	w->data = data;
	w->cap_len = cap;
	w->wire_len = orig > cap ? orig : cap;
	w->ts_ns = (uint64_t)sec * 1000000000u + (uint64_t)frac * mult;
	w->iface = 0;
	put(b, data, cap);
	w->end = b->len;
}

static void epb(struct bld *b, struct want *w, uint32_t iface, uint64_t units, uint64_t ts_ns,
		uint32_t flat, const uint8_t *data, uint32_t cap, uint32_t orig)
{
	w->offset = b->len;
	blk_begin(b, 6);
	put32(b, iface);
	put32(b, (uint32_t)(units >> 32));
	put32(b, (uint32_t)units);
	put32(b, cap);
	put32(b, orig);
	put(b, data, cap);
	pad4(b);
	/* an epb_flags option, which the reader must step over */
	put16(b, 2);
	put16(b, 4);
	put32(b, 1);
	opt_end(b);
	blk_end(b);
	w->data = data;
	w->cap_len = cap;
	w->wire_len = orig > cap ? orig : cap;
	w->ts_ns = ts_ns;
	w->iface = flat;
	w->end = b->len;
}

static void check_pkts(struct pr_capfile *cf, const struct want *w, int n)
{
	struct pr_capfile_pkt pkt;

	for (int i = 0; i < n; i++) {
		assert_int_equal(next_pkt(cf, &pkt), 1);
		assert_int_equal(pkt.cap_len, w[i].cap_len);
		assert_int_equal(pkt.wire_len, w[i].wire_len);
		assert_true(pkt.ts_ns == w[i].ts_ns);
		assert_int_equal(pkt.iface, w[i].iface);
		assert_int_equal(pkt.offset, w[i].offset);
		if (w[i].cap_len)
			assert_memory_equal(pkt.data, w[i].data, w[i].cap_len);
		assert_true(pr_capfile_offset(cf) == w[i].end);
	}
}

static void check_eof(struct pr_capfile *cf)
{
	struct pr_capfile_pkt pkt;

	assert_int_equal(next_pkt(cf, &pkt), 0);
	assert_int_equal(next_pkt(cf, &pkt), 0);
	assert_true(pr_capfile_offset(cf) == pr_capfile_size(cf));
	assert_string_equal(pr_capfile_errmsg(cf), "");
}

static void check_error(struct pr_capfile *cf, const char *needle)
{
	struct pr_capfile_pkt pkt;

	assert_int_equal(next_pkt(cf, &pkt), -EINVAL);
	assert_int_equal(next_pkt(cf, &pkt), -EINVAL);
	if (!strstr(pr_capfile_errmsg(cf), needle))
		fail_msg("error \"%s\" does not contain \"%s\"", pr_capfile_errmsg(cf), needle);
}

static uint8_t pkt_a[60], pkt_b[1514], pkt_c[4];

/* Three records: a full frame, a snapped one, and one whose orig_len is too small. */
static int build_pcap(struct bld *b, struct want *w, bool be, uint32_t magic)
{
	uint32_t mult = magic == 0xa1b23c4d ? 1 : 1000;
	uint32_t frac_max = magic == 0xa1b23c4d ? 999999999 : 999999;

	/* FCS bits above the link type must not leak into it. */
	pcap_hdr(b, be, magic, 0x14000000 | 1);
	pcap_rec(b, &w[0], 1700000000, 1, mult, pkt_a, sizeof(pkt_a), sizeof(pkt_a));
	pcap_rec(b, &w[1], 1700000001, frac_max, mult, pkt_b, 128, sizeof(pkt_b));
	pcap_rec(b, &w[2], 0xffffffff, 0, mult, pkt_c, sizeof(pkt_c), 2);
	return 3;
}

static void pcap_case(bool be, uint32_t magic)
{
	struct bld b = { 0 };
	struct want w[MAX_WANT];
	struct pr_capfile *cf;
	const struct pr_capfile_iface *ifc;
	int n = build_pcap(&b, w, be, magic);

	for (size_t m = 0; m < N_MODES; m++) {
		struct src s;

		assert_int_equal(open_mode(m, b.p, b.len, &s, &cf), 0);
		if (m == 0) {
			/* from memory the header is read and the size known at once */
			assert_int_equal(pr_capfile_format(cf), PR_CAPFILE_PCAP);
			assert_true(pr_capfile_offset(cf) == 24);
			assert_true(pr_capfile_size(cf) == b.len);
		}
		check_pkts(cf, w, n);
		assert_int_equal(pr_capfile_format(cf), PR_CAPFILE_PCAP);
		assert_int_equal(pr_capfile_iface_count(cf), 1);
		ifc = pr_capfile_iface(cf, 0);
		assert_non_null(ifc);
		assert_null(pr_capfile_iface(cf, 1));
		assert_int_equal(ifc->linktype, 1);
		assert_int_equal(ifc->snaplen, 65535);
		assert_int_equal(ifc->tsresol, magic == 0xa1b23c4d ? 9 : 6);
		assert_true(ifc->tsoffset_s == 0);
		assert_string_equal(ifc->name, "");
		check_eof(cf);
		assert_true(pr_capfile_size(cf) == b.len);
		pr_capfile_close(cf);
	}
	free(b.p);
}

static void test_pcap_usec_le(void **state)
{
	(void)state;
	pcap_case(false, 0xa1b2c3d4);
}

static void test_pcap_usec_be(void **state)
{
	(void)state;
	pcap_case(true, 0xa1b2c3d4);
}

static void test_pcap_nsec_le(void **state)
{
	(void)state;
	pcap_case(false, 0xa1b23c4d);
}

static void test_pcap_nsec_be(void **state)
{
	(void)state;
	pcap_case(true, 0xa1b23c4d);
}

static void test_pcap_kuznetzov(void **state)
{
	struct bld b = { 0 };
	struct pr_capfile *cf;
	struct pr_capfile_pkt pkt;

	(void)state;
	pcap_hdr(&b, false, 0xa1b2cd34, 1);
	put32(&b, 10);
	put32(&b, 20);
	put32(&b, sizeof(pkt_a));
	put32(&b, 70);
	put32(&b, 3); /* ifindex */
	put16(&b, 0x0800); /* protocol */
	put8(&b, 0); /* pkt_type */
	put8(&b, 0);
	put(&b, pkt_a, sizeof(pkt_a));
	assert_int_equal(pr_capfile_open_mem(b.p, b.len, &cf), 0);
	assert_int_equal(pr_capfile_next(cf, &pkt), 1);
	assert_int_equal(pkt.cap_len, sizeof(pkt_a));
	assert_int_equal(pkt.wire_len, 70);
	assert_true(pkt.ts_ns == 10000020000ull);
	assert_ptr_equal(pkt.data, b.p + 24 + 24);
	check_eof(cf);
	pr_capfile_close(cf);
	free(b.p);
}

/* Before 2.3, writers put orig_len first; libpcap swaps the two back. */
static void test_pcap_old_version_swapped_lengths(void **state)
{
	struct bld b = { 0 };
	struct pr_capfile *cf;
	struct pr_capfile_pkt pkt;

	(void)state;
	b.be = false;
	put32(&b, 0xa1b2c3d4);
	put16(&b, 2);
	put16(&b, 0);
	put32(&b, 0);
	put32(&b, 0);
	put32(&b, 96);
	put32(&b, 1);
	put32(&b, 1);
	put32(&b, 2);
	put32(&b, 1514); /* orig_len in the incl_len slot */
	put32(&b, 40);
	put(&b, pkt_b, 40);
	assert_int_equal(pr_capfile_open_mem(b.p, b.len, &cf), 0);
	assert_int_equal(pr_capfile_next(cf, &pkt), 1);
	assert_int_equal(pkt.cap_len, 40);
	assert_int_equal(pkt.wire_len, 1514);
	check_eof(cf);
	pr_capfile_close(cf);
	free(b.p);
}

/*
 * Section 1 (byte order `be`): IDB 0 Ethernet/usec named, IDB 1 raw IP
 * nsec with if_tsoffset; EPBs on both, an NRB, an ISB and an unknown
 * block to skip, an SPB and an obsolete PB. Section 2 (the other byte
 * order): one IDB with a binary resolution and an EPB on it, which must
 * come back as flat interface 2.
 */
static int build_pcapng(struct bld *b, struct want *w, bool be, size_t *bounds, int *n_bounds)
{
	int n = 0, nb = 0;

	shb(b, be);
	bounds[nb++] = b->len;
	blk_begin(b, 1);
	put16(b, 1);
	put16(b, 0);
	put32(b, 0);
	opt_str(b, 2, "eth0");
	opt_str(b, 3, "uplink port");
	opt_end(b);
	blk_end(b);
	bounds[nb++] = b->len;
	blk_begin(b, 1);
	put16(b, 101);
	put16(b, 0);
	put32(b, 1500);
	opt_bytes(b, 9, "\x09", 1);
	b->be ? opt_bytes(b, 14, "\xff\xff\xff\xff\xff\xff\xff\xf6", 8) :
		opt_bytes(b, 14, "\xf6\xff\xff\xff\xff\xff\xff\xff", 8); /* -10 s */
	opt_str(b, 2, "tun0");
	opt_end(b);
	blk_end(b);
	bounds[nb++] = b->len;

	epb(b, &w[n++], 0, 1700000000123456ull, 1700000000123456000ull, 0, pkt_a, sizeof(pkt_a),
	    sizeof(pkt_a));
	bounds[nb++] = b->len;
	epb(b, &w[n++], 1, 1700000010987654321ull, 1700000000987654321ull, 1, pkt_b, 100, 1514);
	bounds[nb++] = b->len;

	blk_begin(b, 4); /* NRB: one IPv4 record, then end */
	put16(b, 1);
	put16(b, 8);
	put32(b, 0x0a000001);
	put(b, "a.b\0", 4);
	put32(b, 0);
	blk_end(b);
	bounds[nb++] = b->len;
	blk_begin(b, 5); /* ISB */
	put32(b, 0);
	put32(b, 0);
	put32(b, 0);
	blk_end(b);
	bounds[nb++] = b->len;
	blk_begin(b, 0x12345678);
	put(b, "xyz", 3);
	blk_end(b);
	bounds[nb++] = b->len;

	/* SPB on interface 0 (snaplen 0 = unlimited): cap is min(orig, room) */
	w[n].offset = b->len;
	blk_begin(b, 3);
	put32(b, 3);
	put(b, pkt_c, 3);
	blk_end(b);
	w[n].data = pkt_c;
	w[n].cap_len = 3;
	w[n].wire_len = 3;
	w[n].ts_ns = PR_CAPFILE_TS_NONE;
	w[n].iface = 0;
	w[n++].end = b->len;
	bounds[nb++] = b->len;

	/* obsolete PB on interface 1 */
	w[n].offset = b->len;
	blk_begin(b, 2);
	put16(b, 1);
	put16(b, 0);
	/* 12e9 ns in two 32-bit halves */
	put32(b, 2);
	put32(b, 3410065408u);
	put32(b, 8);
	put32(b, 8);
	put(b, pkt_a, 8);
	blk_end(b);
	w[n].data = pkt_a;
	w[n].cap_len = 8;
	w[n].wire_len = 8;
	w[n].ts_ns = 2000000000;
	w[n].iface = 1;
	w[n++].end = b->len;
	bounds[nb++] = b->len;

	shb(b, !be);
	bounds[nb++] = b->len;
	blk_begin(b, 1);
	put16(b, 228);
	put16(b, 0);
	put32(b, 0);
	opt_bytes(b, 9, "\x94", 1); /* 2^-20 s */
	opt_end(b);
	blk_end(b);
	bounds[nb++] = b->len;
	/* 5 s + 3/2^20 s = 5.000002861022949... s */
	epb(b, &w[n++], 0, (5ull << 20) + 3, 5000002861ull, 2, pkt_b, 64, 64);
	bounds[nb++] = b->len;
	*n_bounds = nb;
	return n;
}

static void pcapng_case_mode(const struct bld *bp, const struct want *w, int n, size_t m);

static void pcapng_case(bool be)
{
	struct bld b = { 0 };
	struct want w[MAX_WANT];
	size_t bounds[32];
	int nb;
	int n = build_pcapng(&b, w, be, bounds, &nb);

	for (size_t m = 0; m < N_MODES; m++)
		pcapng_case_mode(&b, w, n, m);
	free(b.p);
}

static void pcapng_case_mode(const struct bld *bp, const struct want *w, int n, size_t m)
{
	const struct bld b = *bp;
	struct pr_capfile *cf;
	const struct pr_capfile_iface *ifc;
	struct src s;

	assert_int_equal(open_mode(m, b.p, b.len, &s, &cf), 0);
	assert_int_equal(pr_capfile_iface_count(cf), 0);
	check_pkts(cf, w, 1);
	assert_int_equal(pr_capfile_format(cf), PR_CAPFILE_PCAPNG);
	assert_int_equal(pr_capfile_iface_count(cf), 2);
	ifc = pr_capfile_iface(cf, 0);
	assert_int_equal(ifc->linktype, 1);
	assert_int_equal(ifc->snaplen, 0);
	assert_int_equal(ifc->tsresol, 6);
	assert_true(ifc->tsoffset_s == 0);
	assert_string_equal(ifc->name, "eth0");
	assert_string_equal(ifc->description, "uplink port");
	check_pkts(cf, w + 1, n - 2);
	/* held across more reads: the struct must not move when the table grows */
	ifc = pr_capfile_iface(cf, 1);
	check_pkts(cf, w + n - 1, 1);
	assert_int_equal(ifc->linktype, 101);
	assert_int_equal(ifc->snaplen, 1500);
	assert_int_equal(ifc->tsresol, 9);
	assert_true(ifc->tsoffset_s == -10);
	assert_string_equal(ifc->name, "tun0");
	assert_string_equal(ifc->description, "");
	assert_int_equal(pr_capfile_iface_count(cf), 3);
	ifc = pr_capfile_iface(cf, 2);
	assert_int_equal(ifc->linktype, 228);
	assert_int_equal(ifc->tsresol, 0x94);
	check_eof(cf);
	pr_capfile_close(cf);
}

static void test_pcapng_le(void **state)
{
	(void)state;
	pcapng_case(false);
}

static void test_pcapng_be(void **state)
{
	(void)state;
	pcapng_case(true);
}

/* One IDB with the given tsresol byte and one EPB with `units`; returns ts_ns. */
static uint64_t ts_for(uint8_t tsresol, uint64_t units)
{
	struct bld b = { 0 };
	struct pr_capfile *cf;
	struct pr_capfile_pkt pkt;
	uint64_t ts;

	shb(&b, false);
	blk_begin(&b, 1);
	put32(&b, 1);
	put32(&b, 0);
	opt_bytes(&b, 9, &tsresol, 1);
	opt_end(&b);
	blk_end(&b);
	blk_begin(&b, 6);
	put32(&b, 0);
	put32(&b, (uint32_t)(units >> 32));
	put32(&b, (uint32_t)units);
	put32(&b, 0);
	put32(&b, 0);
	blk_end(&b);
	assert_int_equal(pr_capfile_open_mem(b.p, b.len, &cf), 0);
	assert_int_equal(pr_capfile_next(cf, &pkt), 1);
	ts = pkt.ts_ns;
	pr_capfile_close(cf);
	free(b.p);
	return ts;
}

static void test_pcapng_tsresol(void **state)
{
	(void)state;
	assert_true(ts_for(0, 1700000000) == 1700000000000000000ull);
	assert_true(ts_for(3, 1700000000123ull) == 1700000000123000000ull);
	assert_true(ts_for(6, 1700000000123456ull) == 1700000000123456000ull);
	assert_true(ts_for(9, 1700000000123456789ull) == 1700000000123456789ull);
	/* picoseconds truncate to ns */
	assert_true(ts_for(12, 17000000001234567ull) == 17000000001234ull);
	/* 10^-30 s: no 64-bit count reaches one ns */
	assert_true(ts_for(30, UINT64_MAX) == 0);
	/* 2^-10 s: 1 unit = 976562.5 ns */
	assert_true(ts_for(0x8a, 1) == 976562);
	assert_true(ts_for(0x8a, 1024) == 1000000000);
	/* 2^-40 s with a value whose product needs more than 64 bits */
	assert_true(ts_for(0x80 | 40, 1700000000ull << 32) == 1700000000000000000ull >> 8);
	assert_true(ts_for(0x80 | 127, UINT64_MAX) == 0);
}

/* SPB captured length honours the interface's snaplen. */
static void test_pcapng_spb_snaplen(void **state)
{
	struct bld b = { 0 };
	struct pr_capfile *cf;
	struct pr_capfile_pkt pkt;

	(void)state;
	shb(&b, true);
	blk_begin(&b, 1);
	put16(&b, 1);
	put16(&b, 0);
	put32(&b, 16);
	blk_end(&b);
	blk_begin(&b, 3);
	put32(&b, 60);
	put(&b, pkt_a, 16);
	blk_end(&b);
	assert_int_equal(pr_capfile_open_mem(b.p, b.len, &cf), 0);
	assert_int_equal(pr_capfile_next(cf, &pkt), 1);
	assert_int_equal(pkt.cap_len, 16);
	assert_int_equal(pkt.wire_len, 60);
	assert_memory_equal(pkt.data, pkt_a, 16);
	check_eof(cf);
	pr_capfile_close(cf);
	free(b.p);
}

static void cut_everywhere_mode(const struct bld *b, const struct want *w, int n,
				const size_t *bounds, int nb, size_t hdr_len, size_t mode);

/*
 * Cuts a valid file at every length. A cut on a record boundary must read
 * like a complete file; any other cut returns the records before it and
 * then an error naming an offset.
 */
static void cut_everywhere(const struct bld *b, const struct want *w, int n, const size_t *bounds,
			   int nb, size_t hdr_len)
{
	/* A stream that ends early must read exactly like the same bytes in memory. */
	for (size_t m = 0; m < N_PLAIN_MODES; m++)
		cut_everywhere_mode(b, w, n, bounds, nb, hdr_len, m);
}

static void cut_everywhere_mode(const struct bld *b, const struct want *w, int n,
				const size_t *bounds, int nb, size_t hdr_len, size_t mode)
{
	for (size_t len = 0; len < b->len; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		struct pr_capfile *cf = (struct pr_capfile *)1;
		bool boundary = false;
		size_t start = 0;
		char where[64];
		int before = 0;
		struct src s;
		int err;

		memcpy(copy, b->p, len);
		err = open_mode(mode, copy, len, &s, &cf);
		if (len < hdr_len) {
			assert_int_equal(err, -EINVAL);
			assert_null(cf);
			assert_true(pr_capfile_open_error()[0] != '\0');
			if (len >= 4 && !strstr(pr_capfile_open_error(), "offset"))
				fail_msg("cut at %zu: \"%s\"", len, pr_capfile_open_error());
			free(copy);
			continue;
		}
		assert_int_equal(err, 0);
		for (int i = 0; i < nb; i++) {
			boundary |= bounds[i] == len;
			if (bounds[i] <= len && bounds[i] > start)
				start = bounds[i];
		}
		while (before < n && w[before].end <= len)
			before++;
		check_pkts(cf, w, before);
		if (boundary) {
			check_eof(cf);
		} else {
			/* the error names the record the cut went through */
			snprintf(where, sizeof(where), "at offset %zu", start);
			check_error(cf, where);
		}
		pr_capfile_close(cf);
		free(copy);
	}
}

static void test_truncation_pcap(void **state)
{
	struct bld b = { 0 };
	struct want w[MAX_WANT];
	size_t bounds[MAX_WANT + 1];
	int n;

	(void)state;
	n = build_pcap(&b, w, false, 0xa1b2c3d4);
	bounds[0] = 24;
	for (int i = 0; i < n; i++)
		bounds[i + 1] = w[i].end;
	cut_everywhere(&b, w, n, bounds, n + 1, 24);
	free(b.p);
}

static void test_truncation_pcapng(void **state)
{
	struct bld b = { 0 };
	struct want w[MAX_WANT];
	size_t bounds[32];
	int n, nb;

	(void)state;
	for (int be = 0; be < 2; be++) {
		b.len = 0;
		n = build_pcapng(&b, w, be, bounds, &nb);
		cut_everywhere(&b, w, n, bounds, nb, bounds[0]);
	}
	free(b.p);
}

static void expect_open_error(const uint8_t *buf, size_t len, const char *msg)
{
	struct pr_capfile *cf = (struct pr_capfile *)1;

	assert_int_equal(pr_capfile_open_mem(buf, len, &cf), -EINVAL);
	assert_null(cf);
	if (!strstr(pr_capfile_open_error(), msg))
		fail_msg("\"%s\" does not contain \"%s\"", pr_capfile_open_error(), msg);
}

static void test_bad_headers(void **state)
{
	static const uint8_t magic[24] = { 0x12, 0x34, 0x56, 0x78 };
	uint8_t one = 0;
	struct bld b = { 0 };

	(void)state;
	expect_open_error(&one, 0, "<memory>: not a pcap or pcapng file: file is empty (0 bytes)");
	expect_open_error(NULL, 0, "file is empty (0 bytes)");
	expect_open_error(magic, 3, "too short");
	expect_open_error(magic, sizeof(magic),
			  "<memory>: not a pcap or pcapng file (starts with 12 34 56 78)");
	pcap_hdr(&b, false, 0xa1b2c3d4, 1);
	b.p[4] = 1;
	expect_open_error(b.p, b.len, "unsupported version 1.4");
	b.len = 0;
	shb(&b, false);
	b.p[8] = 0;
	expect_open_error(b.p, b.len, "byte-order magic");
	b.len = 0;
	shb(&b, true);
	b.p[13] = 2;
	expect_open_error(b.p, b.len, "unsupported pcapng version 2.0");
	free(b.p);
}

/* Builds SHB + IDB and lets `damage` append one bad block; checks the error. */
static void bad_block(void (*damage)(struct bld *b), const char *msg)
{
	struct bld b = { 0 };
	struct pr_capfile *cf;

	shb(&b, false);
	blk_begin(&b, 1);
	put16(&b, 1);
	put16(&b, 0);
	put32(&b, 0);
	blk_end(&b);
	damage(&b);
	for (size_t m = 0; m < N_MODES; m++) {
		struct src s;

		assert_int_equal(open_mode(m, b.p, b.len, &s, &cf), 0);
		check_error(cf, msg);
		pr_capfile_close(cf);
	}
	free(b.p);
}

static void dmg_len_odd(struct bld *b)
{
	blk_begin(b, 6);
	put(b, pkt_a, 20);
	blk_end(b);
	set32(b, b->blk + 4, 34);
}

static void dmg_len_small(struct bld *b)
{
	put32(b, 5);
	put32(b, 8);
	put32(b, 8);
}

static void dmg_trailer(struct bld *b)
{
	blk_begin(b, 5);
	put32(b, 0);
	blk_end(b);
	set32(b, b->len - 4, 20);
}

static void dmg_too_long(struct bld *b)
{
	blk_begin(b, 6);
	put(b, pkt_a, 20);
	blk_end(b);
	set32(b, b->blk + 4, 1000);
}

static void dmg_epb_iface(struct bld *b)
{
	blk_begin(b, 6);
	for (int i = 0; i < 5; i++)
		put32(b, i == 0);
	blk_end(b);
}

static void dmg_epb_caplen(struct bld *b)
{
	blk_begin(b, 6);
	put32(b, 0);
	put32(b, 0);
	put32(b, 0);
	put32(b, 9);
	put32(b, 9);
	put(b, pkt_a, 8);
	blk_end(b);
}

static void dmg_epb_short(struct bld *b)
{
	blk_begin(b, 6);
	put32(b, 0);
	blk_end(b);
}

static void dmg_idb_option(struct bld *b)
{
	blk_begin(b, 1);
	put16(b, 1);
	put16(b, 0);
	put32(b, 0);
	put16(b, 2);
	put16(b, 40);
	put32(b, 0);
	blk_end(b);
}

static void dmg_spb_no_iface(struct bld *b)
{
	shb(b, false);
	blk_begin(b, 3);
	put32(b, 4);
	put32(b, 0);
	blk_end(b);
}

static void dmg_block_header(struct bld *b)
{
	put32(b, 6);
}

static void test_bad_blocks(void **state)
{
	(void)state;
	/* SHB with comment is 60 bytes, the IDB 20: the bad block is at 80 */
	bad_block(dmg_len_odd,
		  "enhanced packet block (type 0x00000006) at offset 80: total length 34 is not "
		  "a multiple of 4");
	bad_block(dmg_len_small,
		  "block (type 0x00000005) at offset 80: total length 8 is below 12");
	bad_block(dmg_trailer, "trailing length 20 does not match the leading 16");
	bad_block(dmg_too_long, "truncated enhanced packet block (type 0x00000006) at offset 80: "
				"1000 bytes announced, 32 left");
	bad_block(dmg_epb_iface, "at offset 80: interface 1 is not defined");
	bad_block(dmg_epb_caplen,
		  "at offset 80: 9 bytes of packet data announced, the block holds 8");
	bad_block(dmg_epb_short, "enhanced packet block at offset 80: 16 bytes too short");
	bad_block(dmg_idb_option, "option 2 at offset 96 runs past the end of the block");
	bad_block(dmg_spb_no_iface,
		  "simple packet block at offset 140: interface 0 is not defined");
	bad_block(dmg_block_header, "truncated block header at offset 80 (4 bytes left)");
}

static void test_bad_pcap_records(void **state)
{
	struct bld b = { 0 };
	struct pr_capfile *cf;
	struct pr_capfile_pkt pkt;

	(void)state;
	pcap_hdr(&b, true, 0xa1b2c3d4, 1);
	put32(&b, 1);
	put32(&b, 2);
	put32(&b, 262144 * 4 + 1);
	put32(&b, 262144 * 4 + 1);
	assert_int_equal(pr_capfile_open_mem(b.p, b.len, &cf), 0);
	check_error(cf, "packet record at offset 24: 1048577 bytes of data announced, more than");
	pr_capfile_close(cf);

	b.len = 0;
	pcap_hdr(&b, false, 0xa1b2c3d4, 1);
	put32(&b, 1);
	put32(&b, 2);
	put32(&b, 60);
	put32(&b, 60);
	put(&b, pkt_a, 20);
	assert_int_equal(pr_capfile_open_mem(b.p, b.len, &cf), 0);
	check_error(cf,
		    "truncated packet record at offset 24: 60 bytes of data announced, 20 left");
	pr_capfile_close(cf);

	b.len = 0;
	pcap_hdr(&b, false, 0xa1b2c3d4, 1);
	put32(&b, 1);
	put32(&b, 2);
	put32(&b, 0);
	put32(&b, 0);
	put32(&b, 1);
	assert_int_equal(pr_capfile_open_mem(b.p, b.len, &cf), 0);
	assert_int_equal(pr_capfile_next(cf, &pkt), 1);
	assert_int_equal(pkt.cap_len, 0);
	check_error(cf, "truncated record header at offset 40 (4 bytes left)");
	pr_capfile_close(cf);
	free(b.p);
}

static char *temp_file(const uint8_t *data, size_t len)
{
	const char *dir = getenv("TMPDIR");
	char *path = malloc(4096);
	int fd;

	snprintf(path, 4096, "%s/test_pr_capfile.XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_true(write(fd, data, len) == (ssize_t)len);
	close(fd);
	return path;
}

static void test_open_path(void **state)
{
	struct bld b = { 0 };
	struct want w[MAX_WANT];
	struct pr_capfile *cf;
	char *path;
	char *empty;
	int n;

	(void)state;
	n = build_pcap(&b, w, false, 0xa1b23c4d);
	path = temp_file(b.p, b.len);
	assert_int_equal(pr_capfile_open_path(path, &cf), 0);
	check_pkts(cf, w, n);
	check_eof(cf);
	pr_capfile_close(cf);

	empty = temp_file(b.p, 0);
	assert_int_equal(pr_capfile_open_path(empty, &cf), -EINVAL);
	assert_null(cf);
	assert_true(strstr(pr_capfile_open_error(), empty) != NULL);
	assert_true(strstr(pr_capfile_open_error(),
			   ": not a pcap or pcapng file: file is empty (0 bytes)") != NULL);
	unlink(empty);
	free(empty);

	assert_int_equal(pr_capfile_open_path("/nonexistent/x.pcap", &cf), -ENOENT);
	assert_null(cf);
	assert_string_equal(pr_capfile_open_error(),
			    "/nonexistent/x.pcap: No such file or directory");

	/* "-": standard input, here a pipe, which the reader streams */
	{
		int fds[2], saved = dup(STDIN_FILENO);

		assert_int_equal(pipe(fds), 0);
		assert_true(write(fds[1], b.p, b.len) == (ssize_t)b.len);
		close(fds[1]);
		assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
		close(fds[0]);
		assert_int_equal(pr_capfile_open_path("-", &cf), 0);
		check_pkts(cf, w, n);
		check_eof(cf);
		pr_capfile_close(cf);
		assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
		close(saved);
	}

	unlink(path);
	free(path);
	free(b.p);
}

/* Our reader and libpcap must agree on every record of a pcap file. */
static void compare_with_libpcap(const char *path, bool nonempty)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p =
		pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	struct pr_capfile *cf;
	struct pr_capfile_pkt pkt;
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int n = 0, ret;

	assert_non_null(p);
	assert_int_equal(pr_capfile_open_path(path, &cf), 0);
	/* libpcap turns LINKTYPE_ values 100-112 (RAW and friends) into older DLT_ ones */
	if (pr_capfile_iface(cf, 0)->linktype < 100 || pr_capfile_iface(cf, 0)->linktype > 112)
		assert_int_equal(pr_capfile_iface(cf, 0)->linktype, pcap_datalink(p));
	while ((ret = pcap_next_ex(p, &hdr, &data)) == 1) {
		assert_int_equal(pr_capfile_next(cf, &pkt), 1);
		/* libpcap sign-extends the 32-bit seconds; the format says unsigned */
		assert_true(pkt.ts_ns == (uint64_t)(uint32_t)hdr->ts.tv_sec * 1000000000u +
						 (uint64_t)hdr->ts.tv_usec);
		assert_int_equal(pkt.cap_len, hdr->caplen);
		assert_int_equal(pkt.wire_len, hdr->len > hdr->caplen ? hdr->len : hdr->caplen);
		if (hdr->caplen)
			assert_memory_equal(pkt.data, data, hdr->caplen);
		n++;
	}
	assert_true(n > 0 || !nonempty);
	/* a damaged file ends in an error for both, after the same packets */
	if (ret == PCAP_ERROR)
		check_error(cf, "offset");
	else
		check_eof(cf);
	pr_capfile_close(cf);
	pcap_close(p);
}

static void test_libpcap_agrees(void **state)
{
	static const uint32_t magics[] = { 0xa1b2c3d4, 0xa1b23c4d };

	(void)state;
	for (int be = 0; be < 2; be++) {
		for (size_t m = 0; m < 2; m++) {
			struct bld b = { 0 };
			struct want w[MAX_WANT];
			char *path;

			build_pcap(&b, w, be, magics[m]);
			/* libpcap checks snaplen against caplen: keep the snapped record legal */
			path = temp_file(b.p, b.len);
			compare_with_libpcap(path, true);
			unlink(path);
			free(path);
			free(b.p);
		}
	}
}

/* Every classic pcap fixture in tests/pcaps, when there are any, read both ways. */
static void test_fixtures_agree_with_libpcap(void **state)
{
#ifdef PR_TEST_PCAPS
	DIR *d = opendir(PR_TEST_PCAPS);
	struct dirent *de;
	int files = 0;

	(void)state;
	if (!d) {
		skip();
		return;
	}
	while ((de = readdir(d))) {
		char path[4096];
		uint8_t magic[4] = { 0 };
		size_t n = strlen(de->d_name);
		FILE *f;

		if (n < 5 || strcmp(de->d_name + n - 5, ".pcap"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", PR_TEST_PCAPS, de->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		n = fread(magic, 1, sizeof(magic), f);
		fclose(f);
		/* some .pcap files are pcapng, which libpcap reads with other limits */
		if (n == 4 && (!memcmp(magic, "\xd4\xc3\xb2\xa1", 4) ||
			       !memcmp(magic, "\xa1\xb2\xc3\xd4", 4) ||
			       !memcmp(magic, "\x4d\x3c\xb2\xa1", 4) ||
			       !memcmp(magic, "\xa1\xb2\x3c\x4d", 4))) {
			compare_with_libpcap(path, false);
			files++;
		}
	}
	closedir(d);
	if (!files)
		skip();
#else
	(void)state;
	skip();
#endif
}

/* RssFile of this process in KiB, from /proc/self/status (0 if unknown). */
static long rss_file_kib(void)
{
	char line[256];
	long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssFile: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * Reading a mapped 48 MiB file while releasing what was read keeps the
 * file's pages out of our resident set (pr_capfile_release_before); every
 * packet still reads back intact.
 */
static void test_release_before_bounds_memory(void **state)
{
	static uint8_t rec[16 + 1500];
	const uint32_t n = 32768; /* 32768 x 1516 bytes ~ 48 MiB */
	char path[] = "/tmp/test_pr_capfile_rss.XXXXXX";
	struct pr_capfile_pkt pkt;
	struct pr_capfile *cf = NULL;
	uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	long before, peak = 0;
	uint32_t i, seen = 0;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(hdr, 1, 24, f), 24);
	for (i = 0; i < n; i++) {
		uint32_t rh[4] = { i, 0, 1500, 1500 };

		memcpy(rec, rh, 16);
		memset(rec + 16, (int)(i & 0xff), 1500);
		memcpy(rec + 16, &i, 4);
		assert_int_equal(fwrite(rec, 1, sizeof(rec), f), sizeof(rec));
	}
	assert_int_equal(fclose(f), 0);
	if (!rss_file_kib()) {
		unlink(path);
		skip();
	}
	assert_int_equal(pr_capfile_open_path(path, &cf), 0);
	before = rss_file_kib();
	while (pr_capfile_next(cf, &pkt) == 1) {
		uint32_t seq;
		long now;

		assert_int_equal(pkt.cap_len, 1500);
		memcpy(&seq, pkt.data, 4);
		assert_int_equal(seq, seen);
		assert_int_equal(pkt.data[1499], seen & 0xff);
		seen++;
		pr_capfile_release_before(cf, pkt.offset + 16 + pkt.cap_len);
		if ((seen & 1023) == 0) {
			now = rss_file_kib();
			if (now > peak)
				peak = now;
		}
	}
	assert_int_equal(seen, n);
	/* Without releasing, the whole 48 MiB would be resident; with it, at most ~2 chunks. */
	assert_true(peak - before < 24 * 1024);
	pr_capfile_close(cf);
	unlink(path);
}

/* Appends a classic pcap record of `cap` bytes whose first 4 bytes are `seq`. */
static void seq_rec(struct bld *b, uint32_t seq, uint32_t cap)
{
	uint8_t *data = malloc(cap);

	assert_non_null(data);
	fill(data, cap, (uint8_t)seq);
	if (cap >= 4)
		memcpy(data, &seq, 4);
	put32(b, seq);
	put32(b, 0);
	put32(b, cap);
	put32(b, cap);
	put(b, data, cap);
	free(data);
}

/* The record seq_rec() made: right length, right bytes. */
static void check_seq(const struct pr_capfile_pkt *pkt, uint32_t seq, uint32_t cap)
{
	uint8_t *data = malloc(cap);

	assert_non_null(data);
	fill(data, cap, (uint8_t)seq);
	if (cap >= 4)
		memcpy(data, &seq, 4);
	assert_int_equal(pkt->cap_len, cap);
	assert_true(pkt->ts_ns == (uint64_t)seq * 1000000000u);
	assert_memory_equal(pkt->data, data, cap);
	free(data);
}

/* Record sizes that make records straddle every buffer boundary sooner or later. */
static uint32_t seq_len(uint32_t seq)
{
	return 60 + (seq * 2654435761u) % 9000;
}

/*
 * About 3 windows' worth of records read as the pcap backend does, in
 * bursts of 32 released together, from reads of random size: every record
 * that straddles the buffer's end (while the burst before it still pins
 * the buffer, or not) comes out whole, and the packets of a burst are
 * intact when it is released.
 */
static void test_stream_window(void **state)
{
	struct bld b = { 0 };
	struct pr_capfile *cf;
	struct pr_capfile_pkt burst[32];
	uint32_t seq[32];
	uint32_t n = 0, total;
	struct src s = { 0 };
	int ret = 0;

	(void)state;
	pcap_hdr(&b, false, 0xa1b2c3d4, 1);
	for (total = 0; b.len < (12u << 20); total++)
		seq_rec(&b, total, seq_len(total));
	for (int round = 0; round < 2; round++) {
		memset(&s, 0, sizeof(s));
		s.p = b.p;
		s.len = b.len;
		s.chunk = round ? 1500 : 200000;
		s.seed = 7 + (unsigned int)round;
		s.eagain = round ? 5 : 0;
		assert_int_equal(pr_capfile_open_stream(src_read, &s, "<stream>", &cf), 0);
		n = 0;
		for (;;) {
			int k = 0;

			while (k < 32) {
				ret = pr_capfile_next(cf, &burst[k]);
				if (ret != 1)
					break;
				seq[k] = n++;
				k++;
			}
			for (int i = 0; i < k; i++)
				check_seq(&burst[i], seq[i], seq_len(seq[i]));
			pr_capfile_release_before(cf, pr_capfile_offset(cf));
			if (ret == 0 || ret == -EINVAL)
				break;
			assert_true(ret == 1 || ret == -EAGAIN || ret == -ENOBUFS);
		}
		assert_int_equal(ret, 0);
		assert_int_equal(n, total);
		assert_true(pr_capfile_size(cf) == b.len);
		pr_capfile_close(cf);
	}
	free(b.p);
}

/*
 * Records as large as the reader allows (1 MiB of data), larger than its
 * first buffer; a pcapng block above the 4 MiB window (skipped), and one
 * above the 16 MiB maximum (an error naming its offset), streamed a byte
 * at a time and in odd chunks, and from memory alike.
 */
static void test_stream_big_blocks(void **state)
{
	const uint32_t big = 262144 * 4;
	struct bld b = { 0 };
	struct pr_capfile *cf;
	struct pr_capfile_pkt pkt;
	uint8_t *data = malloc(big);
	size_t bad_at;

	(void)state;
	assert_non_null(data);
	fill(data, big, 9);
	pcap_hdr(&b, true, 0xa1b23c4d, 1);
	seq_rec(&b, 0, 60);
	seq_rec(&b, 1, big);
	seq_rec(&b, 2, 70);
	seq_rec(&b, 3, big);
	for (size_t m = 0; m < N_MODES; m++) {
		struct src s;

		/* a few bytes at a time is slow under sanitizers; the small cases cover it */
		if (modes[m].chunk && modes[m].chunk < 64)
			continue;
		assert_int_equal(open_mode(m, b.p, b.len, &s, &cf), 0);
		for (uint32_t i = 0; i < 4; i++) {
			assert_int_equal(next_pkt(cf, &pkt), 1);
			check_seq(&pkt, i, i & 1 ? big : 60 + 10 * (i / 2));
			pr_capfile_release_before(cf, pr_capfile_offset(cf));
		}
		check_eof(cf);
		pr_capfile_close(cf);
	}

	b.len = 0;
	shb(&b, false);
	blk_begin(&b, 1);
	put16(&b, 1);
	put16(&b, 0);
	put32(&b, 0);
	blk_end(&b);
	blk_begin(&b, 6);
	put32(&b, 0);
	put32(&b, 0);
	put32(&b, 5);
	put32(&b, big);
	put32(&b, big);
	put(&b, data, big);
	blk_end(&b);
	/* a custom block of 9 MiB: longer than the window, read and skipped */
	blk_begin(&b, 0x00000bad);
	put32(&b, 12345); /* private enterprise number */
	for (uint32_t i = 0; i < (9u << 20) / 4; i++)
		put32(&b, i);
	blk_end(&b);
	blk_begin(&b, 3);
	put32(&b, 60);
	put(&b, pkt_a, 60);
	blk_end(&b);
	bad_at = b.len;
	put32(&b, 6);
	put32(&b, (16u << 20) + 4);
	put32(&b, 0);
	{
		char msg[160];
		static const size_t chunks[] = { 0, 4093, 65536, 1 << 20 };

		snprintf(msg, sizeof(msg),
			 "enhanced packet block (type 0x00000006) at offset %zu: total length "
			 "16777220 is more than the 16777216 maximum",
			 bad_at);
		for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			struct src s = { .p = b.p, .len = b.len, .chunk = chunks[c] };

			if (c == 0)
				assert_int_equal(pr_capfile_open_mem(b.p, b.len, &cf), 0);
			else
				assert_int_equal(
					pr_capfile_open_stream(src_read, &s, "<stream>", &cf), 0);
			assert_int_equal(next_pkt(cf, &pkt), 1);
			assert_int_equal(pkt.cap_len, big);
			assert_true(pkt.ts_ns == 5000);
			assert_memory_equal(pkt.data, data, big);
			pr_capfile_release_before(cf, pr_capfile_offset(cf));
			assert_int_equal(next_pkt(cf, &pkt), 1);
			assert_int_equal(pkt.cap_len, 60);
			assert_memory_equal(pkt.data, pkt_a, 60);
			check_error(cf, msg);
			pr_capfile_close(cf);
		}
	}
	free(data);
	free(b.p);
}

/*
 * A caller that holds on to its packets: the stream keeps every one of
 * them intact, says -ENOBUFS when they fill its buffer, and goes on once
 * they are released.
 */
static void test_stream_held_packets(void **state)
{
	const uint32_t big = 262144 * 4;
	struct bld b = { 0 };
	struct pr_capfile *cf;
	struct pr_capfile_pkt held[40];
	struct src s = { 0 };
	uint32_t n = 0, k = 0, nobufs = 0;
	int ret;

	(void)state;
	pcap_hdr(&b, false, 0xa1b2c3d4, 1);
	for (uint32_t i = 0; i < 40; i++)
		seq_rec(&b, i, i % 3 ? 1000 : big);
	s.p = b.p;
	s.len = b.len;
	s.chunk = 300000;
	assert_int_equal(pr_capfile_open_stream(src_read, &s, "<stream>", &cf), 0);
	for (;;) {
		ret = next_pkt(cf, &held[k]);
		if (ret == 1) {
			k++;
			n++;
			continue;
		}
		if (ret == 0)
			break;
		assert_int_equal(ret, -ENOBUFS);
		assert_true(k > 0);
		nobufs++;
		for (uint32_t i = 0; i < k; i++) {
			uint32_t seq = n - k + i;

			check_seq(&held[i], seq, seq % 3 ? 1000 : big);
		}
		/* still -ENOBUFS until they are released, without losing a byte */
		assert_int_equal(pr_capfile_next(cf, &held[k]), -ENOBUFS);
		pr_capfile_release_before(cf, pr_capfile_offset(cf));
		k = 0;
	}
	for (uint32_t i = 0; i < k; i++)
		check_seq(&held[i], n - k + i, (n - k + i) % 3 ? 1000 : big);
	assert_int_equal(n, 40);
	assert_true(nobufs > 0);
	pr_capfile_close(cf);
	free(b.p);
}

/* An endless source of zero bytes that counts what it was asked for. */
static ssize_t zero_read(void *ctx, uint8_t *buf, size_t len)
{
	size_t *total = ctx;

	memset(buf, 0, len);
	*total += len;
	return (ssize_t)len;
}

static void expect_stream_error(struct src *s, int err, const char *msg)
{
	struct pr_capfile *cf = (struct pr_capfile *)1;

	assert_int_equal(pr_capfile_open_stream(src_read, s, "<stream>", &cf), err);
	assert_null(cf);
	if (!strstr(pr_capfile_open_error(), msg))
		fail_msg("\"%s\" does not contain \"%s\"", pr_capfile_open_error(), msg);
}

/*
 * Input that is no capture file is refused as soon as its first 4 bytes
 * are in, even from an endless source; an empty or short one when it ends.
 */
static void test_stream_not_a_capture(void **state)
{
	static const uint8_t text[] = "hello, world\n";
	struct pr_capfile *cf = (struct pr_capfile *)1;
	struct pr_capfile_pkt pkt;
	size_t total = 0;
	struct bld b = { 0 };
	struct src s = { 0 };

	(void)state;
	assert_int_equal(pr_capfile_open_stream(zero_read, &total, "/dev/zero", &cf), -EINVAL);
	assert_null(cf);
	assert_string_equal(pr_capfile_open_error(),
			    "/dev/zero: not a pcap or pcapng file (starts with 00 00 00 00)");
	assert_true(total <= 64 * 1024);

	s = (struct src){ .p = text, .len = sizeof(text) - 1, .chunk = 1 };
	expect_stream_error(&s, -EINVAL,
			    "<stream>: not a pcap or pcapng file (starts with 68 65 6c 6c)");
	assert_int_equal(s.pos, 4); /* decided on the magic alone */
	s = (struct src){ .p = text, .len = 0 };
	expect_stream_error(&s, -EINVAL,
			    "<stream>: not a pcap or pcapng file: file is empty (0 bytes)");
	s = (struct src){ .p = text, .len = 3, .chunk = 1 };
	expect_stream_error(&s, -EINVAL, "file is too short (3 bytes)");
	pcap_hdr(&b, false, 0xa1b2c3d4, 1);
	s = (struct src){ .p = b.p, .len = 20, .chunk = 3 };
	expect_stream_error(&s, -EINVAL, "truncated pcap file header at offset 0 (20 of 24 bytes)");
	s = (struct src){ .p = b.p, .len = 20, .err = -EIO };
	expect_stream_error(&s, -EIO, "<stream>: read failed at offset 20: Input/output error");

	/* A source with nothing yet: the open succeeds, the verdict comes with the bytes. */
	s = (struct src){ .p = text, .len = sizeof(text) - 1, .eagain = 1 };
	assert_int_equal(pr_capfile_open_stream(src_read, &s, "<stream>", &cf), 0);
	assert_int_equal(pr_capfile_format(cf), 0);
	assert_int_equal(pr_capfile_next(cf, &pkt), -EAGAIN);
	assert_int_equal(pr_capfile_next(cf, &pkt), -EAGAIN);
	assert_int_equal(pr_capfile_iface_count(cf), 0);
	assert_string_equal(pr_capfile_errmsg(cf), "");
	s.eagain = 0;
	check_error(cf, "not a pcap or pcapng file (starts with 68 65 6c 6c)");
	pr_capfile_close(cf);
	free(b.p);
}

/* A read error after some packets: they are returned, then a sticky error naming the offset. */
static void test_stream_read_error(void **state)
{
	struct bld b = { 0 };
	struct want w[MAX_WANT];
	struct pr_capfile *cf;
	struct pr_capfile_pkt pkt;
	struct src s;
	char msg[128];

	(void)state;
	build_pcap(&b, w, false, 0xa1b2c3d4);
	s = (struct src){ .p = b.p, .len = w[1].end + 5, .chunk = 16, .err = -EIO };
	assert_int_equal(pr_capfile_open_stream(src_read, &s, "<stream>", &cf), 0);
	check_pkts(cf, w, 2);
	assert_int_equal(next_pkt(cf, &pkt), -EIO);
	assert_int_equal(next_pkt(cf, &pkt), -EIO);
	snprintf(msg, sizeof(msg), "read failed at offset %zu: Input/output error", w[1].end + 5);
	assert_string_equal(pr_capfile_errmsg(cf), msg);
	pr_capfile_close(cf);
	free(b.p);
}

static char *temp_name(const char *what)
{
	const char *dir = getenv("TMPDIR");
	char *path = malloc(4096);

	snprintf(path, 4096, "%s/test_pr_capfile.%s.%d", dir ? dir : "/tmp", what, (int)getpid());
	unlink(path);
	return path;
}

/* Waits for the stream opened by path to have something, as the capture loop does. */
static int next_polled(struct pr_capfile *cf, struct pr_capfile_pkt *pkt)
{
	int ret;

	for (int tries = 0; tries < 500; tries++) {
		struct pollfd pfd = { .fd = pr_capfile_fd(cf), .events = POLLIN };

		ret = pr_capfile_next(cf, pkt);
		if (ret != -EAGAIN)
			return ret;
		assert_true(pfd.fd >= 0);
		poll(&pfd, 1, 10);
	}
	return ret;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * By path: /dev/zero is refused at once; a FIFO with no writer opens at
 * once and reads as "nothing yet" instead of blocking; half a record
 * likewise; the rest arrives, then the end.
 */
static void test_open_path_streams(void **state)
{
	struct bld b = { 0 };
	struct want w[MAX_WANT];
	struct pr_capfile *cf = (struct pr_capfile *)1;
	struct pr_capfile_pkt pkt;
	char *fifo = temp_name("fifo");
	double t0;
	int n, wfd;

	(void)state;
	t0 = mono_s();
	assert_int_equal(pr_capfile_open_path("/dev/zero", &cf), -EINVAL);
	assert_null(cf);
	assert_string_equal(pr_capfile_open_error(),
			    "/dev/zero: not a pcap or pcapng file (starts with 00 00 00 00)");
	assert_int_equal(pr_capfile_open_path("/", &cf), -EISDIR);
	assert_string_equal(pr_capfile_open_error(), "/: Is a directory");

	n = build_pcap(&b, w, true, 0xa1b2c3d4);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(pr_capfile_open_path(fifo, &cf), 0);
	assert_true(pr_capfile_fd(cf) >= 0);
	assert_int_equal(pr_capfile_next(cf, &pkt), -EAGAIN);
	wfd = open(fifo, O_WRONLY | O_NONBLOCK);
	assert_true(wfd >= 0);
	assert_int_equal(pr_capfile_next(cf, &pkt), -EAGAIN);
	/* the header and half of the first record */
	assert_true(write(wfd, b.p, w[0].offset + 30) == (ssize_t)(w[0].offset + 30));
	assert_int_equal(pr_capfile_next(cf, &pkt), -EAGAIN);
	assert_int_equal(pr_capfile_format(cf), PR_CAPFILE_PCAP);
	assert_true(write(wfd, b.p + w[0].offset + 30, b.len - w[0].offset - 30) ==
		    (ssize_t)(b.len - w[0].offset - 30));
	close(wfd);
	for (int i = 0; i < n; i++) {
		assert_int_equal(next_polled(cf, &pkt), 1);
		assert_int_equal(pkt.cap_len, w[i].cap_len);
		assert_memory_equal(pkt.data, w[i].data, w[i].cap_len);
	}
	assert_int_equal(next_polled(cf, &pkt), 0);
	pr_capfile_close(cf);
	/* nothing above may have waited for input */
	assert_true(mono_s() - t0 < 5.0);
	unlink(fifo);
	free(fifo);
	free(b.p);
}

/*
 * The shape of corpus file sv_bug-6875-01.pcap (Suricata bug 6875): a
 * standard-magic 2.4 pcap whose first record announces more bytes than
 * were written, so the second record header is read from inside other
 * bytes and announces 1409179648 bytes. libpcap and tcpdump stop there,
 * after one packet; tshark reads a second one because wiretap, on a
 * seekable file, guesses the Red Hat 6.1 "ss990417" variant (24-byte
 * record headers) from the first records, under which the bytes happen to
 * parse a bit longer. We read pcap as libpcap does (and as wiretap does
 * from a pipe): one packet, then an error naming offset 88 here.
 */
static void test_pcap_record_overrun(void **state)
{
	struct bld b = { 0 };
	struct pr_capfile *cf;
	struct pr_capfile_pkt pkt;
	uint8_t body[48];
	char *path;

	(void)state;
	fill(body, sizeof(body), 4);
	pcap_hdr(&b, false, 0xa1b2c3d4, 1);
	put32(&b, 1508525002);
	put32(&b, 992213);
	put32(&b, sizeof(body));
	put32(&b, sizeof(body));
	put(&b, body, sizeof(body));
	/*
	 * At 88, read as a standard record header: an absurd incl_len. Read
	 * with 24-byte ss990417 headers, the first record ends 8 bytes later
	 * and a record of 1 of 1048576 bytes, stamped 1409179648 s and
	 * 4211277 us, follows at 96.
	 */
	put32(&b, 1140783872);
	put32(&b, 0);
	put32(&b, 0x53fe6000);
	put32(&b, 0x0040424d);
	put32(&b, 1);
	put32(&b, 0x100000);
	put32(&b, 0);
	put32(&b, 0);
	put8(&b, 0x55);
	for (size_t m = 0; m < N_MODES; m++) {
		struct src s;

		assert_int_equal(open_mode(m, b.p, b.len, &s, &cf), 0);
		assert_int_equal(next_pkt(cf, &pkt), 1);
		assert_int_equal(pkt.cap_len, sizeof(body));
		assert_true(pkt.ts_ns == 1508525002992213000ull);
		check_error(cf, "packet record at offset 88: 1409179648 bytes of data announced, "
				"more than the 1048576 maximum");
		pr_capfile_close(cf);
	}
	/* and libpcap agrees: one packet, then an error */
	path = temp_file(b.p, b.len);
	compare_with_libpcap(path, true);
	unlink(path);
	free(path);
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_usec_le),
		cmocka_unit_test(test_pcap_usec_be),
		cmocka_unit_test(test_pcap_nsec_le),
		cmocka_unit_test(test_pcap_nsec_be),
		cmocka_unit_test(test_pcap_kuznetzov),
		cmocka_unit_test(test_pcap_old_version_swapped_lengths),
		cmocka_unit_test(test_pcapng_le),
		cmocka_unit_test(test_pcapng_be),
		cmocka_unit_test(test_pcapng_tsresol),
		cmocka_unit_test(test_pcapng_spb_snaplen),
		cmocka_unit_test(test_truncation_pcap),
		cmocka_unit_test(test_truncation_pcapng),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_bad_blocks),
		cmocka_unit_test(test_bad_pcap_records),
		cmocka_unit_test(test_open_path),
		cmocka_unit_test(test_libpcap_agrees),
		cmocka_unit_test(test_fixtures_agree_with_libpcap),
		cmocka_unit_test(test_release_before_bounds_memory),
		cmocka_unit_test(test_stream_window),
		cmocka_unit_test(test_stream_big_blocks),
		cmocka_unit_test(test_stream_held_packets),
		cmocka_unit_test(test_stream_not_a_capture),
		cmocka_unit_test(test_stream_read_error),
		cmocka_unit_test(test_open_path_streams),
		cmocka_unit_test(test_pcap_record_overrun),
	};

	fill(pkt_a, sizeof(pkt_a), 1);
	fill(pkt_b, sizeof(pkt_b), 2);
	fill(pkt_c, sizeof(pkt_c), 3);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
