// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the BPF filter module (dataplane/filter): one expression
 * compiled per link type (Ethernet and raw IP here) and matched against
 * packets built in the test; "rejects all" as a verdict for one link type
 * and an error for none; messages that name the expression, interface and
 * link type; the "simple filter" test and the flow-level "cannot match"
 * decision that lets readers skip blocks; a filter without expression.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_filter.h"

#define LT_ETHER 1u
#define LT_RAW 101u

/* An IPv4 TCP packet 10.0.0.1:sport -> 10.0.0.2:dport; with eth, behind an Ethernet header. */
static uint32_t build(uint8_t *buf, bool eth, uint16_t sport, uint16_t dport)
{
	uint8_t *ip = buf + (eth ? 14 : 0);

	memset(buf, 0, 14 + 40);
	if (eth) {
		memset(buf, 2, 12);
		buf[12] = 0x08;
	}
	ip[0] = 0x45;
	ip[3] = 40;
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 10, ip[15] = 1;
	ip[16] = 10, ip[19] = 2;
	ip[20] = (uint8_t)(sport >> 8), ip[21] = (uint8_t)sport;
	ip[22] = (uint8_t)(dport >> 8), ip[23] = (uint8_t)dport;
	ip[32] = 0x50;
	return (eth ? 14u : 0u) + 40u;
}

static void test_check(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(pr_filter_check(NULL, err, sizeof(err)), 0);
	assert_int_equal(pr_filter_check("", err, sizeof(err)), 0);
	assert_int_equal(pr_filter_check("tcp port 80", err, sizeof(err)), 0);
	assert_int_equal(pr_filter_check("tcp port eighty", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad filter expression \"tcp port eighty\": "));
}

/* "portrange N-M or ..." up to len bytes (at least len - 25): the optimizer's worst shape. */
static char *range_chain(size_t len)
{
	char *s = malloc(len + 1), term[32];
	size_t off = 0;

	assert_non_null(s);
	s[0] = 0;
	for (int i = 1;; i++) {
		int n = snprintf(term, sizeof(term), "%sportrange %d-%d", off ? " or " : "", i,
				 i + 5);

		if (off + (size_t)n > len)
			break;
		memcpy(s + off, term, (size_t)n + 1);
		off += (size_t)n;
	}
	/* Pad with spaces to exactly len bytes. */
	memset(s + off, ' ', len - off);
	s[len] = 0;
	return s;
}

static void test_too_long(void **state)
{
	struct pr_filter *f = NULL;
	char err[512], *s;

	(void)state;
	/* The longest accepted expression compiles, in its worst shape. */
	s = range_chain(PR_FILTER_MAX_LEN);
	assert_int_equal(strlen(s), PR_FILTER_MAX_LEN);
	assert_int_equal(pr_filter_check(s, err, sizeof(err)), 0);
	assert_int_equal(pr_filter_create(s, &f, err, sizeof(err)), 0);
	assert_int_equal(pr_filter_add_iface(f, 0, LT_ETHER, 65535, err, sizeof(err)), 0);
	pr_filter_destroy(f);
	free(s);
	/* One byte more is refused before libpcap sees it, naming the limit. */
	s = range_chain(PR_FILTER_MAX_LEN + 1);
	assert_int_equal(pr_filter_check(s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "filter: 1024 bytes, more than 1023 (the limit"));
	f = NULL;
	assert_int_equal(pr_filter_create(s, &f, err, sizeof(err)), -EINVAL);
	assert_null(f);
	free(s);
}

static void test_per_linktype(void **state)
{
	struct pr_filter *f;
	uint8_t pkt[64];
	char err[512];
	uint32_t len;

	(void)state;
	assert_int_equal(pr_filter_create("tcp port 80", &f, err, sizeof(err)), 0);
	assert_false(pr_filter_accepts_all(f));
	assert_string_equal(pr_filter_expr(f), "tcp port 80");
	assert_int_equal(pr_filter_add_iface(f, 0, LT_ETHER, 65535, err, sizeof(err)), 0);
	assert_int_equal(pr_filter_add_iface(f, 1, LT_RAW, 0, err, sizeof(err)), 0);
	/* The same expression, two programs: each reads its own link layer. */
	len = build(pkt, true, 40000, 80);
	assert_true(pr_filter_match(f, 0, pkt, len, len));
	assert_false(pr_filter_match(f, 1, pkt, len, len));
	len = build(pkt, false, 80, 40000);
	assert_true(pr_filter_match(f, 1, pkt, len, len));
	len = build(pkt, false, 443, 40000);
	assert_false(pr_filter_match(f, 1, pkt, len, len));
	/* An interface never added passes nothing. */
	assert_false(pr_filter_match(f, 2, pkt, len, len));
	assert_false(pr_filter_match(f, 9999, pkt, len, len));
	assert_int_equal(pr_filter_ifaces_compiled(f), 2);
	assert_int_equal(pr_filter_add_iface(f, PR_FILTER_MAX_IFACES, LT_ETHER, 0, err,
					     sizeof(err)),
			 -E2BIG);
	pr_filter_destroy(f);
}

static void test_rejects_all(void **state)
{
	struct pr_filter *f;
	uint8_t pkt[64];
	char err[512];
	uint32_t len;

	(void)state;
	/* "arp" is valid; on raw IP no packet can be ARP. */
	assert_int_equal(pr_filter_create("arp", &f, err, sizeof(err)), 0);
	assert_int_equal(pr_filter_add_iface(f, 0, LT_RAW, 0, err, sizeof(err)),
			 PR_FILTER_REJECTS_ALL);
	assert_int_equal(pr_filter_add_iface(f, 1, LT_ETHER, 0, err, sizeof(err)), 0);
	assert_int_equal(pr_filter_ifaces_rejecting(f), 1);
	assert_int_equal(pr_filter_ifaces_compiled(f), 1);
	len = build(pkt, false, 1, 2);
	assert_false(pr_filter_match(f, 0, pkt, len, len));
	/* Adding again replaces: the counts follow. */
	assert_int_equal(pr_filter_add_iface(f, 0, LT_ETHER, 0, err, sizeof(err)), 0);
	assert_int_equal(pr_filter_ifaces_rejecting(f), 0);
	assert_int_equal(pr_filter_ifaces_compiled(f), 2);
	pr_filter_destroy(f);

	/* Valid for Ethernet, impossible for a link type: an error naming both. */
	assert_int_equal(pr_filter_create("ether host 01:02:03:04:05:06", &f, err, sizeof(err)), 0);
	assert_int_equal(pr_filter_add_iface(f, 3, LT_RAW, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad filter expression \"ether host 01:02:03:04:05:06\" for "
				    "interface 3 (link type 101): "));
	pr_filter_destroy(f);
}

static void test_accept_all(void **state)
{
	struct pr_filter *f;
	uint8_t pkt[64];
	char err[512];
	uint32_t len = build(pkt, true, 1, 2);
	struct pr_filter_flow fl = { .ip_version = 4, .ip_proto = 6 };

	(void)state;
	assert_int_equal(pr_filter_create("", &f, err, sizeof(err)), 0);
	assert_true(pr_filter_accepts_all(f));
	assert_int_equal(pr_filter_add_iface(f, 0, LT_ETHER, 0, err, sizeof(err)), 0);
	assert_true(pr_filter_match(f, 0, pkt, len, len));
	assert_true(pr_filter_match(f, 77, pkt, len, len));
	assert_true(pr_filter_flow_may_match(f, &fl));
	pr_filter_destroy(f);
}

static void test_simple(void **state)
{
	(void)state;
	assert_true(pr_filter_is_simple("tcp port 80"));
	assert_true(pr_filter_is_simple("host 10.0.0.1 and (udp or icmp)"));
	assert_true(pr_filter_is_simple("net 2001:db8::/32 && dst port 53"));
	assert_false(pr_filter_is_simple("not tcp"));
	assert_false(pr_filter_is_simple("vlan and tcp"));
	assert_false(pr_filter_is_simple("tcp[13] & 2 != 0"));
	assert_false(pr_filter_is_simple("port http"));
	assert_false(pr_filter_is_simple(NULL));
}

static void test_flow_may_match(void **state)
{
	struct pr_filter *f;
	char err[512];
	struct pr_filter_flow fl = {
		.iface = 0,
		.ip_version = 4,
		.ip_proto = 6,
		.src_ip = { 10, 0, 0, 1 },
		.dst_ip = { 10, 0, 0, 2 },
		.src_port = 40000,
		.dst_port = 443,
	};

	(void)state;
	assert_int_equal(pr_filter_create("tcp port 80", &f, err, sizeof(err)), 0);
	/* No interface yet: it cannot tell. */
	assert_true(pr_filter_flow_may_match(f, &fl));
	assert_int_equal(pr_filter_add_iface(f, 0, LT_ETHER, 0, err, sizeof(err)), 0);
	assert_false(pr_filter_flow_may_match(f, &fl));
	/* Either direction counts. */
	fl.src_port = 80;
	assert_true(pr_filter_flow_may_match(f, &fl));
	fl.src_port = 40000;
	/*
	 * A tagged flow is built with its tag: a simple filter matches no
	 * tagged frame, whatever its ports (as tcpdump without "vlan").
	 */
	fl.vlan = 7;
	assert_false(pr_filter_flow_may_match(f, &fl));
	fl.src_port = 80;
	assert_false(pr_filter_flow_may_match(f, &fl));
	fl.src_port = 40000;
	fl.vlan = 0;
	/* A non-IP one: the built packet would not be like its packets. */
	fl.ip_version = 0;
	assert_true(pr_filter_flow_may_match(f, &fl));
	pr_filter_destroy(f);

	/* Not a simple filter: no decision. */
	assert_int_equal(pr_filter_create("not tcp port 443", &f, err, sizeof(err)), 0);
	assert_int_equal(pr_filter_add_iface(f, 0, LT_ETHER, 0, err, sizeof(err)), 0);
	fl.ip_version = 4;
	assert_true(pr_filter_flow_may_match(f, &fl));
	pr_filter_destroy(f);

	/* IPv6 and host: a flow between other hosts cannot match. */
	assert_int_equal(pr_filter_create("host 2001:db8::1", &f, err, sizeof(err)), 0);
	assert_int_equal(pr_filter_add_iface(f, 0, LT_ETHER, 0, err, sizeof(err)), 0);
	memset(&fl, 0, sizeof(fl));
	fl.ip_version = 6;
	fl.ip_proto = 17;
	fl.src_ip[0] = 0x20, fl.src_ip[1] = 0x01, fl.src_ip[2] = 0x0d, fl.src_ip[3] = 0xb8;
	fl.dst_ip[0] = 0x20, fl.dst_ip[1] = 0x01, fl.dst_ip[2] = 0x0d, fl.dst_ip[3] = 0xb8;
	fl.src_ip[15] = 2;
	fl.dst_ip[15] = 3;
	assert_false(pr_filter_flow_may_match(f, &fl));
	fl.dst_ip[15] = 1;
	assert_true(pr_filter_flow_may_match(f, &fl));
	pr_filter_destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),	       cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_per_linktype),   cmocka_unit_test(test_rejects_all),
		cmocka_unit_test(test_accept_all),     cmocka_unit_test(test_simple),
		cmocka_unit_test(test_flow_may_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
