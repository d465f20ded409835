// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the flow export parsers of dataplane/l7: NetFlow v5, v9
 * and IPFIX (pr_l7_netflow.c) and sFlow (pr_l7_sflow.c). Export packets
 * are built here from RFC 3954, RFC 7011 and the sFlow v5 specification:
 * v5 records; v9 templates, data before and after their template, options
 * templates, a template one exporter sent that another may not use;
 * IPFIX with IPv6 addresses, 8-byte counters, an enterprise-specific and
 * a variable-length field, and a template withdrawal; sFlow flow, counter
 * and expanded samples with IPv4 and IPv6 agents, and a sample whose
 * length runs past the datagram. The expected record values are the ones
 * put in. The group setup creates one context. Single-threaded.
 *
 * With PR_L7_SEED_DIR set, the datagrams are also written there as fuzz
 * seeds (tests/fuzz/seeds/fuzz_l7_flowexp/, configs of fuzz_l7_flowexp.c).
 */
#include "l7_test.h"

/* fuzz_l7_flowexp.c's configs */
#define CFG_NETFLOW 0
#define CFG_IPFIX 1
#define CFG_SFLOW 2

static void v5_record(struct buf *b, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
		      uint16_t dport, uint32_t pkts, uint32_t bytes)
{
	putn(b, src, 4);
	putn(b, dst, 4);
	putn(b, (uint8_t[]){ 10, 0, 0, 254 }, 4);
	put16(b, 3);
	put16(b, 4);
	put32(b, pkts);
	put32(b, bytes);
	put32(b, 1000);
	put32(b, 2000);
	put16(b, sport);
	put16(b, dport);
	put8(b, 0);
	put8(b, 0x1b); /* TCP flags */
	put8(b, 6);
	put8(b, 0);
	put16(b, 65001);
	put16(b, 65002);
	put8(b, 24);
	put8(b, 16);
	put16(b, 0);
}

static void test_v5(void **state)
{
	struct buf d = { 0 };
	const struct pr_l7_txn *t;

	(void)state;
	put16(&d, 5);
	put16(&d, 2);
	put32(&d, 123456);
	put32(&d, 1700000000);
	put32(&d, 0);
	put32(&d, 77);
	put8(&d, 1);
	put8(&d, 2);
	put16(&d, 0);
	v5_record(&d, (uint8_t[]){ 192, 0, 2, 1 }, (uint8_t[]){ 198, 51, 100, 7 }, 40000, 443, 10,
		  5000);
	v5_record(&d, (uint8_t[]){ 192, 0, 2, 2 }, (uint8_t[]){ 198, 51, 100, 8 }, 40001, 80, 3,
		  180);
	one(PR_L7_PROTO_UDP, 50000, 9999,
	    &d); /* on no well-known port: recognised by its lengths */
	assert_int_equal(count(PR_L7_TXN_NETFLOW_RECORD), 2);
	t = find(PR_L7_TXN_NETFLOW_RECORD, 0);
	assert_int_equal(t->app, PR_L7_APP_NETFLOW);
	assert_string_equal(t->u.nf_record.src, "192.0.2.1");
	assert_string_equal(t->u.nf_record.dst, "198.51.100.7");
	assert_string_equal(t->u.nf_record.next_hop, "10.0.0.254");
	assert_int_equal(t->u.nf_record.sport, 40000);
	assert_int_equal(t->u.nf_record.dport, 443);
	assert_int_equal(t->u.nf_record.proto, 6);
	assert_int_equal(t->u.nf_record.tcp_flags, 0x1b);
	assert_int_equal(t->u.nf_record.packets, 10);
	assert_int_equal(t->u.nf_record.bytes, 5000);
	assert_int_equal(t->u.nf_record.in_if, 3);
	assert_int_equal(t->u.nf_record.out_if, 4);
	assert_int_equal(t->u.nf_record.first, 1000);
	assert_int_equal(t->u.nf_record.last, 2000);
	assert_int_equal(t->u.nf_record.src_mask, 24);
	assert_int_equal(t->u.nf_record.dst_mask, 16);
	t = find(PR_L7_TXN_NETFLOW_EXPORT, 0);
	assert_non_null(t);
	assert_int_equal(t->u.netflow.version, 5);
	assert_int_equal(t->u.netflow.count, 2);
	assert_int_equal(t->u.netflow.sequence, 77);
	assert_int_equal(t->u.netflow.source_id, 0x0102);
	assert_int_equal(t->u.netflow.n_records, 2);
	seed1("netflow_v5", CFG_NETFLOW, &d);
}

static void v9_hdr(struct buf *b, uint16_t count, uint32_t source)
{
	put16(b, 9);
	put16(b, count);
	put32(b, 5000);
	put32(b, 1700000000);
	put32(b, 1);
	put32(b, source);
}

static void v9_data(struct buf *b, const uint8_t src[4], uint16_t sport)
{
	put32(b, 4242); /* IN_BYTES */
	put32(b, 7); /* IN_PKTS */
	put8(b, 17); /* PROTOCOL */
	put16(b, sport);
	putn(b, src, 4);
	put16(b, 53);
	putn(b, (uint8_t[]){ 203, 0, 113, 9 }, 4);
}

static void test_v9(void **state)
{
	static const uint16_t fields[][2] = { { 1, 4 }, { 2, 4 },  { 4, 1 }, { 7, 2 },
					      { 8, 4 }, { 11, 2 }, { 12, 4 } };
	struct buf p1 = { 0 }, p2 = { 0 };
	const struct pr_l7_txn *t;
	struct conn c;
	size_t at;

	(void)state;
	v9_hdr(&p1, 5, 9);
	/* Template flowset: template 256. */
	put16(&p1, 0);
	at = mark(&p1, 2);
	put16(&p1, 256);
	put16(&p1, 7);
	for (int i = 0; i < 7; i++) {
		put16(&p1, fields[i][0]);
		put16(&p1, fields[i][1]);
	}
	p1.b[at] = 0;
	p1.b[at + 1] = (uint8_t)(p1.len - at + 2);
	/* Options template flowset: template 257 (scope: system; option: sampling interval). */
	put16(&p1, 1);
	put16(&p1, 20);
	put16(&p1, 257);
	put16(&p1, 4);
	put16(&p1, 4);
	put16(&p1, 1);
	put16(&p1, 4);
	put16(&p1, 34);
	put16(&p1, 4);
	put16(&p1, 0); /* padding */
	/* Data flowset 256: two records and 3 bytes of padding. */
	put16(&p1, 256);
	put16(&p1, 4 + 2 * 21 + 2);
	v9_data(&p1, (uint8_t[]){ 192, 0, 2, 10 }, 5353);
	v9_data(&p1, (uint8_t[]){ 192, 0, 2, 11 }, 5354);
	put16(&p1, 0);
	/* Options data 257. */
	put16(&p1, 257);
	put16(&p1, 12);
	put32(&p1, 1);
	put32(&p1, 100);
	/* A later packet: data for 256 (known now) and for 300 (never seen). */
	v9_hdr(&p2, 2, 9);
	put16(&p2, 256);
	put16(&p2, 4 + 21);
	v9_data(&p2, (uint8_t[]){ 192, 0, 2, 12 }, 6000);
	put16(&p2, 300);
	put16(&p2, 8);
	put32(&p2, 0);

	conn_init(&c, PR_L7_PROTO_UDP, 50000, 2055);
	send_buf(&c, 0, &p1);
	send_buf(&c, 0, &p2);
	pr_l7_flow_end(g_ctx, &c.st);
	assert_int_equal(count(PR_L7_TXN_NETFLOW_RECORD), 3);
	t = find(PR_L7_TXN_NETFLOW_RECORD, 1);
	assert_string_equal(t->u.nf_record.src, "192.0.2.11");
	assert_string_equal(t->u.nf_record.dst, "203.0.113.9");
	assert_int_equal(t->u.nf_record.sport, 5354);
	assert_int_equal(t->u.nf_record.dport, 53);
	assert_int_equal(t->u.nf_record.proto, 17);
	assert_int_equal(t->u.nf_record.bytes, 4242);
	assert_int_equal(t->u.nf_record.packets, 7);
	assert_int_equal(t->u.nf_record.template_id, 256);
	t = find(PR_L7_TXN_NETFLOW_EXPORT, 0);
	assert_int_equal(t->u.netflow.version, 9);
	assert_int_equal(t->u.netflow.n_templates, 2);
	assert_int_equal(t->u.netflow.n_records, 2);
	assert_int_equal(t->u.netflow.n_sets, 4);
	assert_true(t->u.netflow.n_options >= 2);
	t = find(PR_L7_TXN_NETFLOW_EXPORT, 1);
	assert_int_equal(t->u.netflow.n_records, 1);
	assert_int_equal(t->u.netflow.n_unknown, 1);
	assert_string_equal(find(PR_L7_TXN_NETFLOW_RECORD, 2)->u.nf_record.src, "192.0.2.12");

	/* Another exporter's flow may not use that template. */
	memset(&g_cap, 0, sizeof(g_cap));
	conn_init(&c, PR_L7_PROTO_UDP, 50001, 2055);
	c.flow_id = 43;
	send_buf(&c, 0, &p2);
	pr_l7_flow_end(g_ctx, &c.st);
	assert_int_equal(count(PR_L7_TXN_NETFLOW_RECORD), 0);
	assert_int_equal(find(PR_L7_TXN_NETFLOW_EXPORT, 0)->u.netflow.n_unknown, 2);
	{
		const struct buf *ms[2] = { &p1, &p2 };

		seed("netflow_v9", CFG_NETFLOW, ms, 2, 0);
	}
}

static void test_ipfix(void **state)
{
	static const uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t d6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
	struct buf tpl = { 0 }, data = { 0 }, wd = { 0 };
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	put16(&tpl, 10);
	put16(&tpl, 0);
	put32(&tpl, 1700000000);
	put32(&tpl, 1);
	put32(&tpl, 77); /* observation domain */
	put16(&tpl, 2);
	put16(&tpl, 4 + 4 + 7 * 4 + 4);
	put16(&tpl, 300);
	put16(&tpl, 7);
	putn(&tpl, (uint8_t[]){ 0, 27, 0, 16, 0, 28, 0, 16, 0, 1, 0, 8, 0, 2, 0, 8 }, 16);
	putn(&tpl, (uint8_t[]){ 0x80, 100, 0, 4, 0, 0, 0, 9 }, 8); /* enterprise 9, element 100 */
	putn(&tpl, (uint8_t[]){ 0, 82, 0xff, 0xff }, 4); /* interfaceName, variable length */
	putn(&tpl, (uint8_t[]){ 0, 152, 0, 8 }, 4);
	tpl.b[2] = (uint8_t)(tpl.len >> 8);
	tpl.b[3] = (uint8_t)tpl.len;

	put16(&data, 10);
	put16(&data, 0);
	put32(&data, 1700000001);
	put32(&data, 2);
	put32(&data, 77);
	put16(&data, 300);
	put16(&data, 4 + 16 + 16 + 8 + 8 + 4 + 5 + 8);
	putn(&data, s6, 16);
	putn(&data, d6, 16);
	put32(&data, 0);
	put32(&data, 123456789);
	put32(&data, 0);
	put32(&data, 99);
	put32(&data, 0xdeadbeef);
	put8(&data, 4);
	puts_(&data, "eth0");
	put32(&data, 0x0000018b);
	put32(&data, 0xcfee5c00);
	data.b[2] = (uint8_t)(data.len >> 8);
	data.b[3] = (uint8_t)data.len;

	/* Withdrawal of template 300 (field count 0). */
	put16(&wd, 10);
	put16(&wd, 24);
	put32(&wd, 1700000002);
	put32(&wd, 3);
	put32(&wd, 77);
	put16(&wd, 2);
	put16(&wd, 8);
	put16(&wd, 300);
	put16(&wd, 0);

	conn_init(&c, PR_L7_PROTO_UDP, 50000, 4739);
	send_buf(&c, 0, &tpl);
	send_buf(&c, 0, &data);
	send_buf(&c, 0, &wd);
	send_buf(&c, 0, &data);
	pr_l7_flow_end(g_ctx, &c.st);
	assert_int_equal(count(PR_L7_TXN_NETFLOW_RECORD), 1);
	t = find(PR_L7_TXN_NETFLOW_RECORD, 0);
	assert_int_equal(t->u.nf_record.version, 10);
	assert_string_equal(t->u.nf_record.src, "2001:db8::1");
	assert_string_equal(t->u.nf_record.dst, "2001:db8::2");
	assert_int_equal(t->u.nf_record.bytes, 123456789);
	assert_int_equal(t->u.nf_record.packets, 99);
	assert_int_equal(t->u.nf_record.first, 0x0000018bcfee5c00ull);
	t = find(PR_L7_TXN_NETFLOW_EXPORT, 0);
	assert_int_equal(t->u.netflow.n_templates, 1);
	assert_int_equal(t->u.netflow.source_id, 77);
	/* After the withdrawal the same data is no longer decoded. */
	assert_int_equal(find(PR_L7_TXN_NETFLOW_EXPORT, 3)->u.netflow.n_unknown, 1);
	{
		const struct buf *ms[3] = { &tpl, &data, &wd };

		seed("ipfix_template_data", CFG_IPFIX, ms, 3, 0);
	}
}

static void sample(struct buf *b, uint32_t fmt, const uint8_t *body, size_t n)
{
	put32(b, fmt);
	put32(b, (uint32_t)n);
	putn(b, body, n);
}

static void test_sflow(void **state)
{
	struct buf d4 = { 0 }, d6 = { 0 }, cut = { 0 };
	uint8_t flow[40] = { 0 }, exp[44] = { 0 }, ctr[16] = { 0 };
	const struct pr_l7_txn *t;

	(void)state;
	flow[10] = 0x04; /* sampling rate 1024 at offset 8 */
	exp[15] = 0x64; /* sampling rate 100 at offset 12 */
	put32(&d4, 5);
	put32(&d4, 1);
	putn(&d4, (uint8_t[]){ 192, 0, 2, 50 }, 4);
	put32(&d4, 3);
	put32(&d4, 1000);
	put32(&d4, 60000);
	put32(&d4, 3);
	sample(&d4, 1, flow, sizeof(flow));
	sample(&d4, 2, ctr, sizeof(ctr));
	sample(&d4, 3, exp, sizeof(exp));
	put32(&d6, 5);
	put32(&d6, 2);
	putn(&d6, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 0x50 }, 16);
	put32(&d6, 0);
	put32(&d6, 1);
	put32(&d6, 1);
	put32(&d6, 1);
	sample(&d6, 4, ctr, sizeof(ctr));
	/* A sample whose length runs past the datagram. */
	cut = d4;
	cut.b[35] = 200;

	one(PR_L7_PROTO_UDP, 50000, 6343, &d4);
	one(PR_L7_PROTO_UDP, 50000, 6343, &d6);
	one(PR_L7_PROTO_UDP, 50000, 6343, &cut);
	t = find(PR_L7_TXN_SFLOW, 0);
	assert_non_null(t);
	assert_int_equal(t->app, PR_L7_APP_SFLOW);
	assert_string_equal(t->u.sflow.agent, "192.0.2.50");
	assert_int_equal(t->u.sflow.sub_agent, 3);
	assert_int_equal(t->u.sflow.sequence, 1000);
	assert_int_equal(t->u.sflow.n_samples, 3);
	assert_int_equal(t->u.sflow.n_flow, 2);
	assert_int_equal(t->u.sflow.n_counter, 1);
	assert_int_equal(t->u.sflow.sampling_rate, 1024);
	t = find(PR_L7_TXN_SFLOW, 1);
	assert_string_equal(t->u.sflow.agent, "2001:db8::50");
	assert_int_equal(t->u.sflow.n_counter, 1);
	t = find(PR_L7_TXN_SFLOW, 2);
	assert_int_equal(t->u.sflow.n_samples, 3);
	assert_int_equal(t->u.sflow.n_flow, 0);
	seed1("sflow_v5_ipv4", CFG_SFLOW, &d4);
	seed1("sflow_v5_ipv6", CFG_SFLOW, &d6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_v5, l7t_reset),
		cmocka_unit_test_setup(test_v9, l7t_reset),
		cmocka_unit_test_setup(test_ipfix, l7t_reset),
		cmocka_unit_test_setup(test_sflow, l7t_reset),
	};

	return cmocka_run_group_tests(tests, l7t_setup, l7t_teardown);
}
