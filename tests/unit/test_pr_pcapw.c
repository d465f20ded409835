// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for pr_pcapw, the pcap/pcapng writer. Files are written to
 * $TMPDIR and checked three ways: byte for byte against layouts spelled out
 * here, field by field through pr_capfile, and (pcap) through libpcap; a
 * pcapng file is also given to tshark when it is installed. Error paths:
 * a second pcap link type, bad arguments, and a full disk (/dev/full).
 * Single-threaded; every file is removed afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pr_capfile.h"
#include "pr_pcapw.h"

#define TS0 1700000000123456789ull

static uint8_t pkt[2048];

static char *temp_path(void)
{
	const char *dir = getenv("TMPDIR");
	char *path = malloc(4096);
	int fd;

	assert_non_null(path);
	snprintf(path, 4096, "%s/test_pr_pcapw.XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return path;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_true(read(fd, buf, (size_t)st.st_size) == st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* Host-order byte builder for the expected layouts. */
struct exp {
	uint8_t b[4096];
	size_t len;
};

static void e32(struct exp *e, uint32_t v)
{
	memcpy(e->b + e->len, &v, 4);
	e->len += 4;
}

static void e16(struct exp *e, uint16_t v)
{
	memcpy(e->b + e->len, &v, 2);
	e->len += 2;
}

static void ebytes(struct exp *e, const void *p, size_t n)
{
	memcpy(e->b + e->len, p, n);
	e->len += n;
	while (e->len % 4 && n % 4) {
		e->b[e->len++] = 0;
		n++;
	}
}

static struct pr_pcapw *create(const char *path, enum pr_pcapw_format fmt, const char *comment,
			       const char *appl)
{
	struct pr_pcapw_cfg cfg = {
		.format = fmt, .path = path, .comment = comment, .user_appl = appl
	};
	struct pr_pcapw *w = NULL;

	assert_int_equal(pr_pcapw_create(&cfg, &w), 0);
	assert_non_null(w);
	return w;
}

static int add(struct pr_pcapw *w, uint32_t linktype, uint32_t snaplen, uint8_t tsresol,
	       const char *name, const char *descr)
{
	struct pr_pcapw_iface ifc = {
		.linktype = linktype,
		.snaplen = snaplen,
		.tsresol = tsresol,
		.name = name,
		.description = descr,
	};

	return pr_pcapw_add_iface(w, &ifc);
}

static void test_pcap_usec_bytes(void **state)
{
	char *path = temp_path();
	struct pr_pcapw *w = create(path, PR_PCAPW_PCAP, NULL, NULL);
	struct exp e = { .len = 0 };
	uint8_t *got;
	size_t len;

	(void)state;
	assert_int_equal(add(w, 1, 0, 6, "ignored", NULL), 0);
	assert_int_equal(pr_pcapw_write(w, 0, TS0, pkt, 60, 60), 0);
	assert_int_equal(pr_pcapw_write(w, 0, 5, pkt, 3, 1514), 0);
	assert_int_equal(pr_pcapw_close(w), 0);

	e32(&e, 0xa1b2c3d4);
	e16(&e, 2);
	e16(&e, 4);
	e32(&e, 0);
	e32(&e, 0);
	e32(&e, 262144);
	e32(&e, 1);
	e32(&e, 1700000000);
	e32(&e, 123456); /* truncated, not rounded */
	e32(&e, 60);
	e32(&e, 60);
	memcpy(e.b + e.len, pkt, 60);
	e.len += 60;
	e32(&e, 0);
	e32(&e, 0);
	e32(&e, 3);
	e32(&e, 1514);
	memcpy(e.b + e.len, pkt, 3);
	e.len += 3;
	got = slurp(path, &len);
	assert_int_equal(len, e.len);
	assert_memory_equal(got, e.b, len);
	free(got);
	unlink(path);
	free(path);
}

/* Reads a pcap file with libpcap at ns precision and checks the records. */
static void libpcap_check(const char *path, const uint64_t *ts, const uint32_t *cap,
			  const uint32_t *wire, int n, int linktype)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p =
		pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int i = 0;

	assert_non_null(p);
	assert_int_equal(pcap_datalink(p), linktype);
	while (pcap_next_ex(p, &hdr, &data) == 1) {
		assert_true(i < n);
		/* libpcap sign-extends the 32-bit seconds; the format says unsigned */
		assert_true((uint64_t)(uint32_t)hdr->ts.tv_sec * 1000000000u +
				    (uint64_t)hdr->ts.tv_usec ==
			    ts[i]);
		assert_int_equal(hdr->caplen, cap[i]);
		assert_int_equal(hdr->len, wire[i]);
		if (cap[i])
			assert_memory_equal(data, pkt, cap[i]);
		i++;
	}
	assert_int_equal(i, n);
	pcap_close(p);
}

static void capfile_check(const char *path, const uint64_t *ts, const uint32_t *cap,
			  const uint32_t *wire, const uint32_t *iface, int n)
{
	struct pr_capfile *cf;
	struct pr_capfile_pkt pp;

	assert_int_equal(pr_capfile_open_path(path, &cf), 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(pr_capfile_next(cf, &pp), 1);
		assert_true(pp.ts_ns == ts[i]);
		assert_int_equal(pp.cap_len, cap[i]);
		assert_int_equal(pp.wire_len, wire[i]);
		assert_int_equal(pp.iface, iface ? iface[i] : 0);
		if (cap[i])
			assert_memory_equal(pp.data, pkt, cap[i]);
	}
	assert_int_equal(pr_capfile_next(cf, &pp), 0);
	pr_capfile_close(cf);
}

static void pcap_case(uint8_t tsresol, uint8_t want_resol, uint64_t div)
{
	static const uint32_t cap[] = { 60, 0, 2048, 100 };
	static const uint32_t wire[] = { 60, 64, 2048, 9000 };
	static const uint64_t in_ts[] = { TS0, 0, 999999999, 4294967295999999999ull };
	uint64_t ts[4];
	char *path = temp_path();
	struct pr_pcapw *w = create(path, PR_PCAPW_PCAP, "no comment in pcap", NULL);
	struct pr_capfile *cf;

	assert_int_equal(add(w, 1, 65535, tsresol, NULL, NULL), 0);
	/* the same link type shares index 0, another is refused */
	assert_int_equal(add(w, 1, 9000, 9, "again", NULL), 0);
	assert_int_equal(add(w, 101, 0, tsresol, NULL, NULL), -EINVAL);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pr_pcapw_write(w, 0, in_ts[i], pkt, cap[i], wire[i]), 0);
		ts[i] = in_ts[i] / div * div;
	}
	assert_int_equal(pr_pcapw_write(w, 1, TS0, pkt, 1, 1), -EINVAL);
	assert_int_equal(pr_pcapw_close(w), 0);

	assert_int_equal(pr_capfile_open_path(path, &cf), 0);
	assert_int_equal(pr_capfile_format(cf), PR_CAPFILE_PCAP);
	assert_int_equal(pr_capfile_iface(cf, 0)->linktype, 1);
	assert_int_equal(pr_capfile_iface(cf, 0)->snaplen, 65535);
	assert_int_equal(pr_capfile_iface(cf, 0)->tsresol, want_resol);
	pr_capfile_close(cf);
	capfile_check(path, ts, cap, wire, NULL, 4);
	libpcap_check(path, ts, cap, wire, 4, 1);
	unlink(path);
	free(path);
}

static void test_pcap_usec(void **state)
{
	(void)state;
	pcap_case(6, 6, 1000);
}

static void test_pcap_nsec(void **state)
{
	(void)state;
	pcap_case(9, 9, 1);
	/* any other resolution takes the finer magic */
	pcap_case(3, 9, 1);
}

static void test_pcapng_bytes(void **state)
{
	char *path = temp_path();
	struct pr_pcapw *w = create(path, PR_PCAPW_PCAPNG, "hello", "packetrecorderd test");
	struct exp e = { .len = 0 };
	uint64_t units = TS0 / 1000;
	uint8_t *got;
	size_t len;

	(void)state;
	assert_int_equal(add(w, 1, 0, 6, "eth0", NULL), 0);
	assert_int_equal(add(w, 101, 128, 9, NULL, "raw tunnel"), 1);
	assert_int_equal(pr_pcapw_write(w, 0, TS0, pkt, 5, 60), 0);
	assert_int_equal(pr_pcapw_write(w, 1, TS0, pkt, 8, 8), 0);
	assert_int_equal(pr_pcapw_close(w), 0);

	/* SHB: 28 + comment (4 + 8) + userappl (4 + 20) + end (4) */
	e32(&e, 0x0a0d0d0a);
	e32(&e, 68);
	e32(&e, 0x1a2b3c4d);
	e16(&e, 1);
	e16(&e, 0);
	e32(&e, 0xffffffff);
	e32(&e, 0xffffffff);
	e16(&e, 1);
	e16(&e, 5);
	ebytes(&e, "hello", 5);
	e16(&e, 4);
	e16(&e, 20);
	ebytes(&e, "packetrecorderd test", 20);
	e32(&e, 0);
	e32(&e, 68);
	/* IDB 0: if_name only, usec needs no if_tsresol */
	e32(&e, 1);
	e32(&e, 32);
	e16(&e, 1);
	e16(&e, 0);
	e32(&e, 262144);
	e16(&e, 2);
	e16(&e, 4);
	ebytes(&e, "eth0", 4);
	e32(&e, 0);
	e32(&e, 32);
	/* IDB 1: if_description and if_tsresol 9 */
	e32(&e, 1);
	e32(&e, 48);
	e16(&e, 101);
	e16(&e, 0);
	e32(&e, 128);
	e16(&e, 3);
	e16(&e, 10);
	ebytes(&e, "raw tunnel", 10);
	e16(&e, 9);
	e16(&e, 1);
	ebytes(&e, "\x09", 1);
	e32(&e, 0);
	e32(&e, 48);
	/* EPB on 0: 5 bytes padded to 8 */
	e32(&e, 6);
	e32(&e, 40);
	e32(&e, 0);
	e32(&e, (uint32_t)(units >> 32));
	e32(&e, (uint32_t)units);
	e32(&e, 5);
	e32(&e, 60);
	ebytes(&e, pkt, 5);
	e32(&e, 40);
	/* EPB on 1 in ns */
	e32(&e, 6);
	e32(&e, 40);
	e32(&e, 1);
	e32(&e, (uint32_t)(TS0 >> 32));
	e32(&e, (uint32_t)TS0);
	e32(&e, 8);
	e32(&e, 8);
	ebytes(&e, pkt, 8);
	e32(&e, 40);

	got = slurp(path, &len);
	assert_int_equal(len, e.len);
	assert_memory_equal(got, e.b, len);
	free(got);
	unlink(path);
	free(path);
}

static void test_pcapng_read_back(void **state)
{
	static const uint32_t cap[] = { 60, 1, 2048, 0, 7 };
	static const uint32_t wire[] = { 60, 1, 4000, 0, 7 };
	static const uint32_t iface[] = { 0, 1, 0, 1, 2 };
	uint64_t ts[5] = { TS0 / 1000 * 1000, TS0, (TS0 + 1000) / 1000 * 1000, 1,
			   TS0 / 1000000 * 1000000 };
	char *path = temp_path();
	struct pr_pcapw *w = create(path, PR_PCAPW_PCAPNG, "two interfaces", NULL);
	const struct pr_capfile_iface *ifc;
	struct pr_capfile *cf;

	(void)state;
	assert_int_equal(add(w, 1, 65535, 6, "eth0", "uplink"), 0);
	assert_int_equal(add(w, 101, 0, 9, "tun0", NULL), 1);
	assert_int_equal(add(w, 228, 0, 3, NULL, NULL), 2);
	for (int i = 0; i < 5; i++)
		assert_int_equal(
			pr_pcapw_write(w, iface[i], i == 4 ? TS0 : ts[i], pkt, cap[i], wire[i]), 0);
	assert_int_equal(pr_pcapw_write(w, 3, TS0, pkt, 1, 1), -EINVAL);
	assert_int_equal(pr_pcapw_write(w, 0, TS0, pkt, 61, 60), -EINVAL);
	assert_int_equal(pr_pcapw_close(w), 0);

	assert_int_equal(pr_capfile_open_path(path, &cf), 0);
	assert_int_equal(pr_capfile_format(cf), PR_CAPFILE_PCAPNG);
	pr_capfile_close(cf);
	capfile_check(path, ts, cap, wire, iface, 5);
	assert_int_equal(pr_capfile_open_path(path, &cf), 0);
	{
		struct pr_capfile_pkt pp;

		while (pr_capfile_next(cf, &pp) == 1)
			;
	}
	assert_int_equal(pr_capfile_iface_count(cf), 3);
	ifc = pr_capfile_iface(cf, 0);
	assert_int_equal(ifc->linktype, 1);
	assert_int_equal(ifc->snaplen, 65535);
	assert_int_equal(ifc->tsresol, 6);
	assert_string_equal(ifc->name, "eth0");
	assert_string_equal(ifc->description, "uplink");
	ifc = pr_capfile_iface(cf, 1);
	assert_int_equal(ifc->linktype, 101);
	assert_int_equal(ifc->snaplen, 262144);
	assert_int_equal(ifc->tsresol, 9);
	assert_string_equal(ifc->name, "tun0");
	assert_string_equal(ifc->description, "");
	assert_int_equal(pr_capfile_iface(cf, 2)->tsresol, 3);
	pr_capfile_close(cf);

	/* tshark, when present, must see the same interfaces and times */
	if (system("command -v tshark >/dev/null 2>&1") == 0) {
		char cmd[8192], line[256];
		const char *want[] = {
			"0\t1700000000.123456000", "1\t1700000000.123456789",
			"0\t1700000000.123457000", "1\t0.000000001",
			"2\t1700000000.123000000",
		};
		FILE *f;
		int i = 0;

		snprintf(cmd, sizeof(cmd),
			 "tshark -r '%s' -T fields -e frame.interface_id -e frame.time_epoch "
			 "2>/dev/null",
			 path);
		f = popen(cmd, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			assert_true(i < 5);
			assert_string_equal(line, want[i]);
			i++;
		}
		assert_int_equal(pclose(f), 0);
		assert_int_equal(i, 5);
	}
	unlink(path);
	free(path);
}

/*
 * Writing what was read must give the same bytes, at every resolution the
 * writer accepts, binary ones included.
 */
static void test_pcapng_rewrite_identical(void **state)
{
	static const uint8_t resols[] = { 6, 9, 0, 3, 0x80 | 10, 0x80 | 20, 0x80 | 29 };
	char *a = temp_path(), *b = temp_path();
	struct pr_pcapw *w = create(a, PR_PCAPW_PCAPNG, NULL, NULL);
	struct pr_capfile *cf;
	struct pr_capfile_pkt pp;
	uint8_t *fa, *fb;
	size_t la, lb;
	uint64_t ts = TS0;
	uint32_t added = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(resols); i++)
		assert_int_equal(add(w, 1, 0, resols[i], NULL, NULL), (int)i);
	for (int i = 0; i < 2000; i++) {
		ts += 987654321ull * (uint64_t)i + 7;
		assert_int_equal(pr_pcapw_write(w, (uint32_t)i % sizeof(resols), ts, pkt,
						(uint32_t)i % 70, 70),
				 0);
	}
	assert_int_equal(pr_pcapw_close(w), 0);

	assert_int_equal(pr_capfile_open_path(a, &cf), 0);
	w = create(b, PR_PCAPW_PCAPNG, NULL, NULL);
	while (pr_capfile_next(cf, &pp) == 1) {
		/* interfaces appear as the reader meets their IDBs */
		while (added < pr_capfile_iface_count(cf)) {
			assert_int_equal(add(w, 1, 0, pr_capfile_iface(cf, added)->tsresol, NULL,
					     NULL),
					 (int)added);
			added++;
		}
		assert_int_equal(
			pr_pcapw_write(w, pp.iface, pp.ts_ns, pp.data, pp.cap_len, pp.wire_len), 0);
	}
	pr_capfile_close(cf);
	assert_int_equal(pr_pcapw_close(w), 0);
	fa = slurp(a, &la);
	fb = slurp(b, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(fa, fb, la);
	free(fa);
	free(fb);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
}

static void test_bad_args(void **state)
{
	struct pr_pcapw_cfg cfg = { .format = PR_PCAPW_PCAPNG, .path = NULL };
	char *path = temp_path();
	struct pr_pcapw *w = (struct pr_pcapw *)1;
	char *big = malloc(70000);

	(void)state;
	assert_int_equal(pr_pcapw_create(&cfg, &w), -EINVAL);
	assert_null(w);
	cfg.path = "/nonexistent/dir/x.pcapng";
	assert_int_equal(pr_pcapw_create(&cfg, &w), -ENOENT);
	memset(big, 'x', 69999);
	big[69999] = '\0';
	cfg.path = path;
	cfg.comment = big;
	assert_int_equal(pr_pcapw_create(&cfg, &w), -EINVAL);

	w = create(path, PR_PCAPW_PCAPNG, NULL, NULL);
	assert_int_equal(add(w, 70000, 0, 6, NULL, NULL), -EINVAL);
	assert_int_equal(add(w, 1, 0, 6, big, NULL), -EINVAL);
	assert_int_equal(pr_pcapw_write(w, 0, 0, pkt, 1, 1), -EINVAL);
	assert_int_equal(add(w, 1, 0, 6, NULL, NULL), 0);
	assert_int_equal(pr_pcapw_write(w, 0, 0, pkt, 2, 1), -EINVAL);
	assert_int_equal(pr_pcapw_write(w, 0, 0, NULL, 2, 2), -EINVAL);
	assert_int_equal(pr_pcapw_write(w, 0, 0, NULL, 0, 2), 0);
	/* none of the refusals damaged the file */
	assert_int_equal(pr_pcapw_flush(w), 0);
	assert_int_equal(pr_pcapw_close(w), 0);
	assert_int_equal(pr_pcapw_close(NULL), 0);
	free(big);
	unlink(path);
	free(path);
}

/* Resolutions finer than ns (10^-12 s, 2^-40 s) are written as ns. */
static void test_pcapng_fine_tsresol(void **state)
{
	static const uint64_t ts[] = { TS0, TS0 };
	static const uint32_t cap[] = { 10, 10 };
	static const uint32_t iface[] = { 0, 1 };
	char *path = temp_path();
	struct pr_pcapw *w = create(path, PR_PCAPW_PCAPNG, NULL, NULL);
	struct pr_capfile *cf;
	struct pr_capfile_pkt pp;

	(void)state;
	assert_int_equal(add(w, 1, 0, 12, NULL, NULL), 0);
	assert_int_equal(add(w, 1, 0, 0x80 | 40, NULL, NULL), 1);
	assert_int_equal(pr_pcapw_write(w, 0, TS0, pkt, 10, 10), 0);
	assert_int_equal(pr_pcapw_write(w, 1, TS0, pkt, 10, 10), 0);
	assert_int_equal(pr_pcapw_close(w), 0);
	capfile_check(path, ts, cap, cap, iface, 2);
	assert_int_equal(pr_capfile_open_path(path, &cf), 0);
	assert_int_equal(pr_capfile_next(cf, &pp), 1);
	assert_int_equal(pr_capfile_iface(cf, 0)->tsresol, 9);
	assert_int_equal(pr_capfile_iface(cf, 1)->tsresol, 9);
	pr_capfile_close(cf);
	unlink(path);
	free(path);
}

/* A pcap with no interface declared still opens in readers. */
static void test_pcap_empty(void **state)
{
	char *path = temp_path();
	struct pr_pcapw *w = create(path, PR_PCAPW_PCAP, NULL, NULL);
	struct pr_capfile *cf;
	struct pr_capfile_pkt pp;

	(void)state;
	assert_int_equal(pr_pcapw_close(w), 0);
	assert_int_equal(pr_capfile_open_path(path, &cf), 0);
	assert_int_equal(pr_capfile_iface(cf, 0)->linktype, 1);
	assert_int_equal(pr_capfile_next(cf, &pp), 0);
	pr_capfile_close(cf);
	unlink(path);
	free(path);
}

/* Packets larger than what is left of the buffer, up to the 1 MiB maximum. */
static void test_large_packets(void **state)
{
	size_t big_len = 262144 * 4;
	uint8_t *big = malloc(big_len);
	char *path = temp_path();
	struct pr_pcapw *w;
	struct pr_capfile *cf;
	struct pr_capfile_pkt pp;

	(void)state;
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 13 + i / 256);
	for (int fmt = PR_PCAPW_PCAP; fmt <= PR_PCAPW_PCAPNG; fmt++) {
		w = create(path, (enum pr_pcapw_format)fmt, NULL, NULL);
		assert_int_equal(add(w, 1, 0, 9, NULL, NULL), 0);
		assert_int_equal(pr_pcapw_write(w, 0, 1, big, 1000, 1000), 0);
		assert_int_equal(pr_pcapw_write(w, 0, 2, big, (uint32_t)big_len, (uint32_t)big_len),
				 0);
		assert_int_equal(pr_pcapw_write(w, 0, 3, big, 999999, 1000000), 0);
		assert_int_equal(pr_pcapw_write(w, 0, 4, big, (uint32_t)big_len + 1,
						(uint32_t)big_len + 1),
				 -EINVAL);
		assert_int_equal(pr_pcapw_close(w), 0);
		assert_int_equal(pr_capfile_open_path(path, &cf), 0);
		assert_int_equal(pr_capfile_next(cf, &pp), 1);
		assert_int_equal(pp.cap_len, 1000);
		assert_memory_equal(pp.data, big, 1000);
		assert_int_equal(pr_capfile_next(cf, &pp), 1);
		assert_int_equal(pp.cap_len, big_len);
		assert_true(pp.ts_ns == 2);
		assert_memory_equal(pp.data, big, big_len);
		assert_int_equal(pr_capfile_next(cf, &pp), 1);
		assert_int_equal(pp.cap_len, 999999);
		assert_int_equal(pp.wire_len, 1000000);
		assert_memory_equal(pp.data, big, 999999);
		assert_int_equal(pr_capfile_next(cf, &pp), 0);
		pr_capfile_close(cf);
	}
	unlink(path);
	free(path);
	free(big);
}

static void test_enospc(void **state)
{
	struct pr_pcapw *w;
	int err = 0;

	(void)state;
	if (access("/dev/full", W_OK)) {
		skip();
		return;
	}
	/* Small writes sit in the buffer: the error comes with the flush in close. */
	w = create("/dev/full", PR_PCAPW_PCAPNG, NULL, NULL);
	assert_int_equal(add(w, 1, 0, 6, NULL, NULL), 0);
	assert_int_equal(pr_pcapw_write(w, 0, TS0, pkt, 60, 60), 0);
	assert_int_equal(pr_pcapw_close(w), -ENOSPC);

	/* Past one buffer the error comes from a write, stays, and close repeats it. */
	w = create("/dev/full", PR_PCAPW_PCAP, NULL, NULL);
	assert_int_equal(add(w, 1, 0, 6, NULL, NULL), 0);
	for (int i = 0; i < 2000 && !err; i++)
		err = pr_pcapw_write(w, 0, TS0, pkt, sizeof(pkt), sizeof(pkt));
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(pr_pcapw_write(w, 0, TS0, pkt, 60, 60), -ENOSPC);
	assert_int_equal(pr_pcapw_flush(w), -ENOSPC);
	assert_int_equal(pr_pcapw_close(w), -ENOSPC);
}

/* "-" writes to standard output, which the writer flushes but leaves open. */
static void test_stdout(void **state)
{
	static const uint32_t cap[] = { 60 };
	static const uint64_t ts[] = { TS0 };
	char *path = temp_path();
	int saved = dup(STDOUT_FILENO);
	int fd = open(path, O_WRONLY | O_TRUNC);
	struct pr_pcapw *w;

	(void)state;
	assert_true(saved >= 0 && fd >= 0);
	fflush(stdout);
	assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);
	w = create("-", PR_PCAPW_PCAP, NULL, NULL);
	assert_int_equal(add(w, 1, 0, 9, NULL, NULL), 0);
	assert_int_equal(pr_pcapw_write(w, 0, TS0, pkt, 60, 60), 0);
	assert_int_equal(pr_pcapw_close(w), 0);
	/* still open: this write must succeed */
	assert_true(write(STDOUT_FILENO, "", 0) == 0);
	assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	capfile_check(path, ts, cap, cap, NULL, 1);
	unlink(path);
	free(path);
}

/*
 * use_fd writes to a descriptor it was given (a pipe, as HTTP downloads
 * do), byte for byte what a file would get, and leaves it open.
 */
static void test_fd(void **state)
{
	struct pr_pcapw_cfg cfg = { .format = PR_PCAPW_PCAPNG, .use_fd = true, .comment = "c" };
	char *path = temp_path();
	struct pr_pcapw *w, *wf;
	uint8_t *want, got[4096];
	size_t want_len, got_len = 0;
	int fds[2];

	(void)state;
	/* With use_fd a path is a mistake, and so is a negative descriptor. */
	cfg.path = path;
	assert_int_equal(pr_pcapw_create(&cfg, &w), -EINVAL);
	cfg.path = NULL;
	cfg.fd = -1;
	assert_int_equal(pr_pcapw_create(&cfg, &w), -EINVAL);
	assert_int_equal(pipe(fds), 0);
	cfg.fd = fds[1];
	assert_int_equal(pr_pcapw_create(&cfg, &w), 0);
	wf = create(path, PR_PCAPW_PCAPNG, "c", NULL);
	assert_int_equal(add(w, 1, 0, 9, "eth0", NULL), 0);
	assert_int_equal(add(wf, 1, 0, 9, "eth0", NULL), 0);
	assert_int_equal(pr_pcapw_write(w, 0, TS0, pkt, 60, 60), 0);
	assert_int_equal(pr_pcapw_write(wf, 0, TS0, pkt, 60, 60), 0);
	assert_int_equal(pr_pcapw_close(w), 0);
	assert_int_equal(pr_pcapw_close(wf), 0);
	/* still open: the end of file comes when we close it */
	assert_int_equal(close(fds[1]), 0);
	for (;;) {
		ssize_t n = read(fds[0], got + got_len, sizeof(got) - got_len);

		assert_true(n >= 0);
		if (!n)
			break;
		got_len += (size_t)n;
	}
	close(fds[0]);
	want = slurp(path, &want_len);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free(want);
	unlink(path);
	free(path);
}

struct sink {
	uint8_t buf[4096];
	size_t len;
	unsigned calls;
	int fail; /* return this from the next call */
};

static int sink_cb(void *ctx, const uint8_t *data, size_t len)
{
	struct sink *s = ctx;

	s->calls++;
	if (s->fail)
		return s->fail;
	assert_true(s->len + len <= sizeof(s->buf));
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return 0;
}

/*
 * write_fn gets what a file would get, in order, when the writer flushes
 * (a gRPC download sends each flush as a chunk); its error sticks as an
 * I/O error does. pr_pcapw_buffered() says what is waiting.
 */
static void test_write_fn(void **state)
{
	struct sink sk = { .len = 0 };
	struct pr_pcapw_cfg cfg = { .format = PR_PCAPW_PCAPNG, .write_fn = sink_cb,
				    .write_ctx = &sk, .comment = "c" };
	char *path = temp_path();
	struct pr_pcapw *w, *wf;
	uint8_t *want;
	size_t want_len;

	(void)state;
	/* A path as well is a mistake. */
	cfg.path = path;
	assert_int_equal(pr_pcapw_create(&cfg, &w), -EINVAL);
	cfg.path = NULL;
	assert_int_equal(pr_pcapw_create(&cfg, &w), 0);
	wf = create(path, PR_PCAPW_PCAPNG, "c", NULL);
	assert_int_equal(add(w, 1, 0, 9, "eth0", NULL), 0);
	assert_int_equal(add(wf, 1, 0, 9, "eth0", NULL), 0);
	assert_int_equal(sk.calls, 0);
	assert_true(pr_pcapw_buffered(w) > 0);
	assert_int_equal(pr_pcapw_write(w, 0, TS0, pkt, 60, 60), 0);
	assert_int_equal(pr_pcapw_flush(w), 0);
	assert_int_equal(pr_pcapw_buffered(w), 0);
	assert_int_equal(sk.calls, 1);
	assert_int_equal(pr_pcapw_write(w, 0, TS0 + 1, pkt, 60, 60), 0);
	assert_int_equal(pr_pcapw_write(wf, 0, TS0, pkt, 60, 60), 0);
	assert_int_equal(pr_pcapw_write(wf, 0, TS0 + 1, pkt, 60, 60), 0);
	assert_int_equal(pr_pcapw_close(w), 0);
	assert_int_equal(pr_pcapw_close(wf), 0);
	assert_int_equal(sk.calls, 2);
	want = slurp(path, &want_len);
	assert_int_equal(sk.len, want_len);
	assert_memory_equal(sk.buf, want, want_len);
	free(want);

	sk = (struct sink){ .fail = -ECONNRESET };
	assert_int_equal(pr_pcapw_create(&cfg, &w), 0);
	assert_int_equal(add(w, 1, 0, 9, "eth0", NULL), 0);
	assert_int_equal(pr_pcapw_flush(w), -ECONNRESET);
	assert_int_equal(pr_pcapw_write(w, 0, TS0, pkt, 60, 60), -ECONNRESET);
	assert_int_equal(pr_pcapw_close(w), -ECONNRESET);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_fn),
		cmocka_unit_test(test_pcap_usec_bytes),
		cmocka_unit_test(test_pcap_usec),
		cmocka_unit_test(test_pcap_nsec),
		cmocka_unit_test(test_pcapng_bytes),
		cmocka_unit_test(test_pcapng_read_back),
		cmocka_unit_test(test_pcapng_rewrite_identical),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_pcapng_fine_tsresol),
		cmocka_unit_test(test_pcap_empty),
		cmocka_unit_test(test_large_packets),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_stdout),
		cmocka_unit_test(test_fd),
	};

	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(i * 31 + 5);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
