// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the management and directory parsers of dataplane/l7:
 * SNMP (pr_l7_snmp.c), NTP (pr_l7_ntp.c), DHCP and DHCPv6
 * (pr_l7_dhcp.c), LDAP (pr_l7_ldap.c) and Kerberos (pr_l7_kerberos.c).
 * Messages are built here, BER element by element where the protocol is
 * ASN.1; the expected values are the ones put in (a filter's RFC 4515
 * text, an OID's dotted form). Also: credentials that must never reach a
 * transaction, messages split into tiny segments and several in one,
 * StartTLS handing the flow to TLS, SASL-protected LDAP, truncated
 * messages. The group setup creates one context. Single-threaded.
 *
 * With PR_L7_SEED_DIR set, the messages are also written there as fuzz
 * seeds (tests/fuzz/seeds/fuzz_l7_mgmt/, configs of fuzz_l7_mgmt.c).
 */
#include "l7_test.h"

/* fuzz_l7_mgmt.c's configs */
#define CFG_LDAP 0
#define CFG_CLDAP 1
#define CFG_KRB_UDP 2
#define CFG_KRB_TCP 3
#define CFG_SNMP 4
#define CFG_NTP 5
#define CFG_DHCP 6
#define CFG_DHCP6 7

/* An OID's BER contents from its arcs (the first two folded together). */
static void oid(struct buf *b, unsigned int tag, const uint64_t *arcs, size_t n)
{
	struct buf c = { .len = 0 };

	for (size_t i = 1; i < n; i++) {
		uint64_t v = i == 1 ? arcs[0] * 40 + arcs[1] : arcs[i];
		uint8_t tmp[10];
		int k = 0;

		do {
			tmp[k++] = (uint8_t)(v & 0x7f);
			v >>= 7;
		} while (v);
		while (k--)
			put8(&c, tmp[k] | (k ? 0x80 : 0));
	}
	ber(b, tag, &c);
}

/* ---- SNMP ---- */

static void varbind(struct buf *list, const uint64_t *arcs, size_t n)
{
	struct buf vb = { .len = 0 };

	oid(&vb, 0x06, arcs, n);
	put8(&vb, 0x05); /* NULL */
	put8(&vb, 0);
	ber(list, 0x30, &vb);
}

static void test_snmp(void **state)
{
	static const uint64_t sysdescr[] = { 1, 3, 6, 1, 2, 1, 1, 1, 0 };
	static const uint64_t sysname[] = { 1, 3, 6, 1, 2, 1, 1, 5, 0 };
	static const uint64_t big[] = { 1, 3, 6, 1, 4, 1, 2021, 4294967296ull };
	static const uint64_t ent[] = { 1, 3, 6, 1, 4, 1, 9 };
	struct buf pdu = { 0 }, vbl = { 0 }, msg = { 0 }, m1 = { 0 }, trap = { 0 }, m2 = { 0 };
	struct buf v3 = { 0 }, hdr = { 0 }, usm = { 0 }, usmo = { 0 }, scoped = { 0 }, m3 = { 0 };
	struct buf cut;
	const struct pr_l7_txn *t;

	(void)state;
	/* v2c get-request, three bindings. */
	varbind(&vbl, sysdescr, 9);
	varbind(&vbl, sysname, 9);
	varbind(&vbl, big, 8);
	ber_int(&pdu, 0x02, 0x1234);
	ber_int(&pdu, 0x02, 0);
	ber_int(&pdu, 0x02, 0);
	ber(&pdu, 0x30, &vbl);
	ber_int(&msg, 0x02, 1);
	ber_str(&msg, 0x04, "public");
	ber(&msg, 0xa0, &pdu);
	ber(&m1, 0x30, &msg);
	/* v1 trap. */
	pdu.len = vbl.len = msg.len = 0;
	oid(&pdu, 0x06, ent, 7);
	ber_raw(&pdu, 0x40, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	ber_int(&pdu, 0x02, 6);
	ber_int(&pdu, 0x02, 1);
	ber_int(&pdu, 0x43, 12345);
	varbind(&vbl, sysname, 9);
	ber(&pdu, 0x30, &vbl);
	ber_int(&msg, 0x02, 0);
	ber_str(&msg, 0x04, "traps");
	ber(&msg, 0xa4, &pdu);
	ber(&trap, 0x30, &msg);
	/* v3: USM user "admin", a plaintext scoped get. */
	ber_int(&hdr, 0x02, 77);
	ber_int(&hdr, 0x02, 65507);
	ber_raw(&hdr, 0x04, (uint8_t[]){ 0x05 }, 1); /* auth, reportable */
	ber_int(&hdr, 0x02, 3);
	ber_raw(&usm, 0x04, (uint8_t[]){ 0x80, 0x00, 0x1f, 0x88, 0x04 }, 5);
	ber_int(&usm, 0x02, 3);
	ber_int(&usm, 0x02, 1000);
	ber_str(&usm, 0x04, "admin");
	ber_raw(&usm, 0x04, "123456789012", 12);
	ber_raw(&usm, 0x04, "", 0);
	ber(&usmo, 0x30, &usm);
	pdu.len = vbl.len = 0;
	varbind(&vbl, sysname, 9);
	ber_int(&pdu, 0x02, 9);
	ber_int(&pdu, 0x02, 0);
	ber_int(&pdu, 0x02, 0);
	ber(&pdu, 0x30, &vbl);
	ber_raw(&scoped, 0x04, (uint8_t[]){ 0x80, 0x00, 0x1f, 0x88, 0x04 }, 5);
	ber_str(&scoped, 0x04, "");
	ber(&scoped, 0xa0, &pdu);
	ber_int(&v3, 0x02, 3);
	ber(&v3, 0x30, &hdr);
	ber(&v3, 0x04, &usmo);
	ber(&v3, 0x30, &scoped);
	ber(&m2, 0x30, &v3);
	/* v3 with an encrypted PDU. */
	v3.len = 0;
	ber_int(&v3, 0x02, 3);
	ber(&v3, 0x30, &hdr);
	ber(&v3, 0x04, &usmo);
	ber_raw(&v3, 0x04, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	ber(&m3, 0x30, &v3);

	one(PR_L7_PROTO_UDP, 50000, 161, &m1);
	one(PR_L7_PROTO_UDP, 50000, 162, &trap);
	one(PR_L7_PROTO_UDP, 50000, 161, &m2);
	one(PR_L7_PROTO_UDP, 50000, 161, &m3);
	/* Cut inside the bindings: what was read is reported, marked truncated. */
	cut = m1;
	cut.len -= 10;
	cut.b[1] -= 10;
	cut.b[cut.b[3] + 4 + 8 + 1] -= 10;
	one(PR_L7_PROTO_UDP, 50000, 161, &cut);

	t = find(PR_L7_TXN_SNMP, 0);
	assert_non_null(t);
	assert_int_equal(t->app, PR_L7_APP_SNMP);
	assert_int_equal(t->u.snmp.version, 1);
	assert_string_equal(t->u.snmp.community, "public");
	assert_int_equal(t->u.snmp.pdu_type, 0);
	assert_int_equal(t->u.snmp.request_id, 0x1234);
	assert_int_equal(t->u.snmp.n_varbinds, 3);
	assert_string_equal(t->u.snmp.oids,
			    "1.3.6.1.2.1.1.1.0,1.3.6.1.2.1.1.5.0,1.3.6.1.4.1.2021.4294967296");
	t = find(PR_L7_TXN_SNMP, 1);
	assert_int_equal(t->u.snmp.version, 0);
	assert_int_equal(t->u.snmp.pdu_type, 4);
	assert_string_equal(t->u.snmp.enterprise, "1.3.6.1.4.1.9");
	assert_int_equal(t->u.snmp.generic_trap, 6);
	assert_int_equal(t->u.snmp.specific_trap, 1);
	assert_string_equal(t->u.snmp.oids, "1.3.6.1.2.1.1.5.0");
	t = find(PR_L7_TXN_SNMP, 2);
	assert_int_equal(t->u.snmp.version, 3);
	assert_string_equal(t->u.snmp.user, "admin");
	assert_string_equal(t->u.snmp.engine_id, "80001f8804");
	assert_int_equal(t->u.snmp.msg_flags, 5);
	assert_int_equal(t->u.snmp.pdu_type, 0);
	assert_int_equal(t->u.snmp.request_id, 9);
	assert_string_equal(t->u.snmp.community, "");
	t = find(PR_L7_TXN_SNMP, 3);
	assert_int_equal(t->u.snmp.pdu_type, PR_L7_SNMP_PDU_ENCRYPTED);
	assert_string_equal(t->u.snmp.user, "admin");
	t = find(PR_L7_TXN_SNMP, 4);
	assert_non_null(t);
	assert_true(t->u.snmp.truncated);
	assert_string_equal(t->u.snmp.community, "public");
	seed1("snmp_v2c_get", CFG_SNMP, &m1);
	seed1("snmp_v1_trap", CFG_SNMP, &trap);
	seed1("snmp_v3", CFG_SNMP, &m2);
}

/* ---- NTP ---- */

static void test_ntp(void **state)
{
	struct buf cli = { 0 }, srv = { 0 }, s1 = { 0 }, ctl = { 0 }, priv = { 0 };
	const struct pr_l7_txn *t;

	(void)state;
	put8(&cli, 0x23); /* v4, client */
	for (int i = 1; i < 40; i++)
		put8(&cli, 0);
	put32(&cli, 0xe0000000);
	put32(&cli, 0x80000000);
	put8(&srv, 0x24); /* v4, server */
	put8(&srv, 2);
	put8(&srv, 6);
	put8(&srv, 0xec); /* precision -20 */
	put32(&srv, 0x00000100);
	put32(&srv, 0x00000200);
	putn(&srv, (uint8_t[]){ 192, 168, 1, 1 }, 4);
	for (int i = 0; i < 32; i++)
		put8(&srv, (unsigned int)i);
	put8(&s1, 0x1c); /* v3, server, stratum 1, "GPS" */
	put8(&s1, 1);
	put16(&s1, 0);
	put32(&s1, 0);
	put32(&s1, 0);
	putn(&s1, "GPS\0", 4);
	for (int i = 0; i < 32; i++)
		put8(&s1, 0);
	putn(&ctl, (uint8_t[]){ 0x16, 0x82, 0, 5, 0x06, 0x15, 0, 0, 0, 0, 0, 0 }, 12);
	putn(&priv, (uint8_t[]){ 0x17, 0x00, 0x03, 42 }, 4);
	for (int i = 0; i < 8; i++)
		put8(&priv, 0);

	one(PR_L7_PROTO_UDP, 123, 123, &cli);
	one(PR_L7_PROTO_UDP, 123, 123, &srv);
	one(PR_L7_PROTO_UDP, 123, 123, &s1);
	one(PR_L7_PROTO_UDP, 50000, 123, &ctl);
	one(PR_L7_PROTO_UDP, 50000, 123, &priv);
	t = find(PR_L7_TXN_NTP, 0);
	assert_int_equal(t->u.ntp.version, 4);
	assert_int_equal(t->u.ntp.mode, 3);
	assert_int_equal(t->u.ntp.xmt_ts, 0xe000000080000000ull);
	t = find(PR_L7_TXN_NTP, 1);
	assert_int_equal(t->u.ntp.mode, 4);
	assert_int_equal(t->u.ntp.stratum, 2);
	assert_int_equal(t->u.ntp.poll, 6);
	assert_int_equal(t->u.ntp.precision, -20);
	assert_int_equal(t->u.ntp.root_delay, 0x100);
	assert_string_equal(t->u.ntp.refid, "192.168.1.1");
	t = find(PR_L7_TXN_NTP, 2);
	assert_int_equal(t->u.ntp.version, 3);
	assert_string_equal(t->u.ntp.refid, "GPS");
	t = find(PR_L7_TXN_NTP, 3);
	assert_int_equal(t->u.ntp.mode, 6);
	assert_int_equal(t->u.ntp.opcode, 2);
	assert_int_equal(t->u.ntp.flags, PR_L7_NTP_RESPONSE);
	assert_int_equal(t->u.ntp.sequence, 5);
	t = find(PR_L7_TXN_NTP, 4);
	assert_int_equal(t->u.ntp.mode, 7);
	assert_int_equal(t->u.ntp.opcode, 42);
	seed1("ntp_client", CFG_NTP, &cli);
	seed1("ntp_control", CFG_NTP, &ctl);
}

/* ---- DHCP ---- */

static void bootp(struct buf *b, unsigned int op, uint32_t xid, const uint8_t yi[4])
{
	put8(b, op);
	put8(b, 1);
	put8(b, 6);
	put8(b, 0);
	put32(b, xid);
	put32(b, 0);
	put32(b, 0);
	putn(b, yi, 4);
	put32(b, 0);
	put32(b, 0);
	putn(b, (uint8_t[]){ 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30 }, 6);
	for (int i = 0; i < 10 + 64 + 128; i++)
		put8(b, 0);
	put32(b, 0x63825363);
}

static void test_dhcp(void **state)
{
	static const uint8_t zero[4], yi[4] = { 192, 168, 1, 50 };
	struct buf disc = { 0 }, offer = { 0 }, sol = { 0 }, relay = { 0 };
	const struct pr_l7_txn *t;
	size_t at;

	(void)state;
	bootp(&disc, 1, 0xdeadbeef, zero);
	putn(&disc, (uint8_t[]){ 53, 1, 1 }, 3);
	putn(&disc, (uint8_t[]){ 61, 7, 1, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30 }, 9);
	putn(&disc, (uint8_t[]){ 12, 5, 'h', 'o', 's', 't', '1' }, 7);
	putn(&disc, (uint8_t[]){ 55, 4, 1, 3, 6, 15 }, 6);
	putn(&disc, (uint8_t[]){ 60, 8, 'M', 'S', 'F', 'T', ' ', '5', '.', '0' }, 10);
	putn(&disc, (uint8_t[]){ 81,  18, 0x05, 0,   0,	  5,   'h', 'o', 's', 't',
				 '1', 7,  'e',	'x', 'a', 'm', 'p', 'l', 'e', 0 },
	     20);
	put8(&disc, 255);
	/* OFFER: the hostname in the file field (option overload). */
	bootp(&offer, 2, 0xdeadbeef, yi);
	memcpy(offer.b + 108, (uint8_t[]){ 12, 3, 'f', 'i', 'l', 255 }, 6);
	putn(&offer, (uint8_t[]){ 53, 1, 2, 54, 4, 192, 168, 1, 1, 51, 4, 0, 0, 0x0e, 0x10 }, 15);
	putn(&offer, (uint8_t[]){ 52, 1, 1, 255 }, 4);
	/* DHCPv6 SOLICIT: client DUID, option request, FQDN. */
	put32(&sol, 0x01abcdef);
	putn(&sol, (uint8_t[]){ 0, 1, 0, 10, 0, 3, 0, 1, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30 }, 14);
	putn(&sol, (uint8_t[]){ 0, 6, 0, 4, 0, 23, 0, 24 }, 8);
	putn(&sol, (uint8_t[]){ 0, 39, 0, 8, 0x01, 5, 'h', 'o', 's', 't', '2', 0 }, 12);
	/* RELAY-FORW carrying a REPLY with an IA_NA address. */
	put8(&relay, 12);
	put8(&relay, 0);
	putn(&relay, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 9 }, 16);
	for (int i = 0; i < 16; i++)
		put8(&relay, 0);
	put16(&relay, 9);
	at = mark(&relay, 2);
	put32(&relay, 0x07000042);
	put16(&relay, 3);
	put16(&relay, 12 + 4 + 24);
	put32(&relay, 1);
	put32(&relay, 3600);
	put32(&relay, 5400);
	put16(&relay, 5);
	put16(&relay, 24);
	putn(&relay, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, [14] = 1, [15] = 0x44 }, 16);
	put32(&relay, 7200);
	put32(&relay, 7500);
	fix(&relay, at, 2);

	one(PR_L7_PROTO_UDP, 68, 67, &disc);
	one(PR_L7_PROTO_UDP, 68, 67, &offer);
	one(PR_L7_PROTO_UDP, 546, 547, &sol);
	one(PR_L7_PROTO_UDP, 547, 547, &relay);
	t = find(PR_L7_TXN_DHCP, 0);
	assert_non_null(t);
	assert_int_equal(t->u.dhcp.version, 4);
	assert_int_equal(t->u.dhcp.msg_type, 1);
	assert_int_equal(t->u.dhcp.xid, 0xdeadbeef);
	assert_string_equal(t->u.dhcp.client_mac, "02:00:5e:10:20:30");
	assert_string_equal(t->u.dhcp.client_id, "0102005e102030");
	assert_string_equal(t->u.dhcp.hostname, "host1");
	assert_string_equal(t->u.dhcp.params, "1,3,6,15");
	assert_string_equal(t->u.dhcp.vendor_class, "MSFT 5.0");
	assert_string_equal(t->u.dhcp.fqdn, "host1.example");
	t = find(PR_L7_TXN_DHCP, 1);
	assert_int_equal(t->u.dhcp.msg_type, 2);
	assert_string_equal(t->u.dhcp.yiaddr, "192.168.1.50");
	assert_string_equal(t->u.dhcp.server_id, "192.168.1.1");
	assert_int_equal(t->u.dhcp.lease_time, 3600);
	assert_string_equal(t->u.dhcp.hostname, "fil");
	t = find(PR_L7_TXN_DHCP, 2);
	assert_int_equal(t->u.dhcp.version, 6);
	assert_int_equal(t->u.dhcp.msg_type, 1);
	assert_int_equal(t->u.dhcp.xid, 0xabcdef);
	assert_string_equal(t->u.dhcp.client_id, "0003000102005e102030");
	assert_string_equal(t->u.dhcp.params, "23,24");
	assert_string_equal(t->u.dhcp.fqdn, "host2");
	t = find(PR_L7_TXN_DHCP, 3);
	assert_int_equal(t->u.dhcp.msg_type, 7);
	assert_int_equal(t->u.dhcp.xid, 0x42);
	assert_string_equal(t->u.dhcp.relay, "2001:db8::9");
	assert_string_equal(t->u.dhcp.yiaddr, "2001:db8::144");
	assert_int_equal(t->u.dhcp.lease_time, 7500);
	seed1("dhcp_discover", CFG_DHCP, &disc);
	seed1("dhcp_offer_overload", CFG_DHCP, &offer);
	seed1("dhcp6_solicit", CFG_DHCP6, &sol);
	seed1("dhcp6_relay", CFG_DHCP6, &relay);
}

/* ---- LDAP ---- */

static void ldap_msg(struct buf *out, int id, unsigned int op_tag, const struct buf *op)
{
	struct buf m = { 0 };

	ber_int(&m, 0x02, id);
	ber(&m, op_tag, op);
	ber(out, 0x30, &m);
}

static void ava(struct buf *f, unsigned int tag, const char *a, const char *v)
{
	struct buf c = { 0 };

	ber_str(&c, 0x04, a);
	ber_str(&c, 0x04, v);
	ber(f, tag, &c);
}

static void test_ldap(void **state)
{
	struct buf bind = { 0 }, bindr = { 0 }, search = { 0 }, entry = { 0 }, done = { 0 };
	struct buf op = { 0 }, flt = { 0 }, inner = { 0 }, inner2 = { 0 }, x = { 0 }, c2s = { 0 },
		   s2c = { 0 };
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	ber_int(&op, 0x02, 3);
	ber_str(&op, 0x04, "cn=admin,dc=example,dc=com");
	ber_str(&op, 0x80, "hunter2");
	ldap_msg(&bind, 1, 0x60, &op);
	op.len = 0;
	ber_int(&op, 0x0a, 0);
	ber_str(&op, 0x04, "");
	ber_str(&op, 0x04, "");
	ldap_msg(&bindr, 1, 0x61, &op);
	/* (&(objectClass=person)(|(cn=Jo*hn*)(!(mail=*)))(uid~=x\y)(o:dn:2.4.6:=v)) */
	ava(&flt, 0xa3, "objectClass", "person");
	{
		struct buf sub = { 0 }, pieces = { 0 }, notf = { 0 };

		ber_str(&sub, 0x04, "cn");
		ber_str(&pieces, 0x80, "Jo");
		ber_str(&pieces, 0x81, "hn");
		ber(&sub, 0x30, &pieces);
		ber(&inner, 0xa4, &sub);
		ber_str(&notf, 0x87, "mail");
		ber(&inner, 0xa2, &notf);
		ber(&flt, 0xa1, &inner);
		ava(&flt, 0xa8, "uid", "x\\y");
		ber_str(&inner2, 0x81, "2.4.6");
		ber_str(&inner2, 0x82, "o");
		ber_str(&inner2, 0x83, "v");
		ber_raw(&inner2, 0x84, "\x01", 1);
		ber(&flt, 0xa9, &inner2);
	}
	op.len = 0;
	ber_str(&op, 0x04, "dc=example,dc=com");
	ber_int(&op, 0x0a, 2);
	ber_int(&op, 0x0a, 0);
	ber_int(&op, 0x02, 0);
	ber_int(&op, 0x02, 0);
	ber_raw(&op, 0x01, "\x00", 1);
	ber(&op, 0xa0, &flt);
	x.len = 0;
	ber_str(&x, 0x04, "cn");
	ber_str(&x, 0x04, "mail");
	ber(&op, 0x30, &x);
	ldap_msg(&search, 2, 0x63, &op);
	op.len = 0;
	ber_str(&op, 0x04, "cn=John,dc=example,dc=com");
	x.len = 0;
	{
		struct buf a = { 0 }, vals = { 0 };

		ber_str(&a, 0x04, "cn");
		ber_str(&vals, 0x04, "John");
		ber(&a, 0x31, &vals);
		ber(&x, 0x30, &a);
	}
	ber(&op, 0x30, &x);
	ldap_msg(&entry, 2, 0x64, &op);
	op.len = 0;
	ber_int(&op, 0x0a, 32);
	ber_str(&op, 0x04, "dc=example,dc=com");
	ber_str(&op, 0x04, "no such object");
	ldap_msg(&done, 2, 0x65, &op);

	conn_init(&c, PR_L7_PROTO_TCP, 50000, 389);
	putn(&c2s, bind.b, bind.len);
	putn(&c2s, search.b, search.len);
	send_seg(&c, 0, c2s.b, c2s.len, 3); /* two messages, in 3-byte segments */
	putn(&s2c, bindr.b, bindr.len);
	putn(&s2c, entry.b, entry.len);
	putn(&s2c, done.b, done.len);
	send_buf(&c, 1, &s2c); /* three in one segment */
	assert_int_equal(count(PR_L7_TXN_LDAP_MESSAGE), 5);
	t = find(PR_L7_TXN_LDAP_MESSAGE, 0);
	assert_int_equal(t->app, PR_L7_APP_LDAP);
	assert_int_equal(t->u.ldap.op, 0);
	assert_int_equal(t->u.ldap.version, 3);
	assert_int_equal(t->u.ldap.auth, 0);
	assert_string_equal(t->u.ldap.name, "cn=admin,dc=example,dc=com");
	/* The simple bind's password is nowhere in any transaction. */
	for (unsigned int i = 0; i < g_cap.n; i++)
		assert_null(memmem(&g_cap.t[i], sizeof(g_cap.t[i]), "hunter2", 7));
	t = find(PR_L7_TXN_LDAP_MESSAGE, 1);
	assert_int_equal(t->u.ldap.op, 3);
	assert_int_equal(t->u.ldap.msg_id, 2);
	assert_string_equal(t->u.ldap.name, "dc=example,dc=com");
	assert_int_equal(t->u.ldap.scope, 2);
	assert_string_equal(t->u.ldap.filter,
			    "(&(objectClass=person)(|(cn=Jo*hn*)(!(mail=*)))(uid~=x\\5cy)"
			    "(o:dn:2.4.6:=v))");
	assert_int_equal(t->u.ldap.n_attrs, 2);
	t = find(PR_L7_TXN_LDAP_MESSAGE, 2);
	assert_int_equal(t->u.ldap.op, 1);
	assert_int_equal(t->u.ldap.result, 0);
	t = find(PR_L7_TXN_LDAP_MESSAGE, 3);
	assert_int_equal(t->u.ldap.op, 4);
	assert_string_equal(t->u.ldap.name, "cn=John,dc=example,dc=com");
	assert_int_equal(t->u.ldap.n_attrs, 1);
	t = find(PR_L7_TXN_LDAP_MESSAGE, 4);
	assert_int_equal(t->u.ldap.op, 5);
	assert_int_equal(t->u.ldap.result, 32);
	assert_string_equal(t->u.ldap.matched, "dc=example,dc=com");
	assert_string_equal(t->u.ldap.diag, "no such object");
	pr_l7_flow_end(g_ctx, &c.st);

	/* CLDAP: the entry and the result in one datagram. */
	memset(&g_cap, 0, sizeof(g_cap));
	conn_init(&c, PR_L7_PROTO_UDP, 50000, 389);
	send_buf(&c, 0, &search);
	s2c.len = 0;
	putn(&s2c, entry.b, entry.len);
	putn(&s2c, done.b, done.len);
	send_buf(&c, 1, &s2c);
	assert_int_equal(count(PR_L7_TXN_LDAP_MESSAGE), 3);
	assert_true(find(PR_L7_TXN_LDAP_MESSAGE, 2)->u.ldap.flags & PR_L7_LDAP_UDP);
	pr_l7_flow_end(g_ctx, &c.st);
	{
		const struct buf *ms[2] = { &c2s, &s2c };

		seed("ldap_bind_search", CFG_LDAP, ms, 2, 2);
		seed("cldap_search", CFG_CLDAP, ms, 2, 2);
	}
}

static void test_ldap_starttls_and_sasl(void **state)
{
	struct buf req = { 0 }, resp = { 0 }, op = { 0 }, hello = { 0 }, sasl = { 0 };
	struct conn c;

	(void)state;
	ber_str(&op, 0x80, "1.3.6.1.4.1.1466.20037");
	ldap_msg(&req, 1, 0x77, &op);
	op.len = 0;
	ber_int(&op, 0x0a, 0);
	ber_str(&op, 0x04, "");
	ber_str(&op, 0x04, "");
	ldap_msg(&resp, 1, 0x78, &op);
	/* A TLS record with the start of a ClientHello. */
	putn(&hello,
	     (uint8_t[]){ 0x16, 0x03, 0x01, 0x00, 0x30, 0x01, 0x00, 0x00, 0x2c, 0x03, 0x03 }, 11);

	conn_init(&c, PR_L7_PROTO_TCP, 50000, 389);
	send_buf(&c, 0, &req);
	send_buf(&c, 1, &resp);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_TLS);
	assert_string_equal(find(PR_L7_TXN_LDAP_MESSAGE, 0)->u.ldap.name, "1.3.6.1.4.1.1466.20037");
	send_buf(&c, 0, &hello);
	assert_int_equal(pr_l7_flow_app(&c.st), PR_L7_APP_TLS);
	pr_l7_flow_end(g_ctx, &c.st);

	/* After a SASL bind with a security layer: length-prefixed buffers end the direction. */
	memset(&g_cap, 0, sizeof(g_cap));
	putn(&sasl, (uint8_t[]){ 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 }, 12);
	conn_init(&c, PR_L7_PROTO_TCP, 50000, 389);
	send_buf(&c, 0, &req);
	send_buf(&c, 0, &sasl);
	send_buf(&c, 0, &req);
	assert_int_equal(count(PR_L7_TXN_LDAP_MESSAGE), 1);
	pr_l7_flow_end(g_ctx, &c.st);
	{
		const struct buf *ms[3] = { &req, &resp, &hello };

		seed("ldap_starttls", CFG_LDAP, ms, 3, 2);
	}
}

/* ---- Kerberos ---- */

static void principal(struct buf *out, unsigned int tag, int type, const char *a, const char *b)
{
	struct buf pn = { 0 }, seq = { 0 }, strs = { 0 }, t0 = { 0 }, t1 = { 0 };

	ber_int(&t0, 0x02, type);
	ber(&pn, 0xa0, &t0);
	ber_str(&strs, 0x1b, a);
	if (b)
		ber_str(&strs, 0x1b, b);
	ber(&t1, 0x30, &strs);
	ber(&pn, 0xa1, &t1);
	ber(&seq, 0x30, &pn);
	ber(out, tag, &seq);
}

static void explicit_int(struct buf *out, unsigned int tag, int v)
{
	struct buf c = { 0 };

	ber_int(&c, 0x02, v);
	ber(out, tag, &c);
}

static void explicit_str(struct buf *out, unsigned int tag, unsigned int stag, const char *s)
{
	struct buf c = { 0 };

	ber_str(&c, stag, s);
	ber(out, tag, &c);
}

static void enc_data(struct buf *out, unsigned int tag, int etype)
{
	struct buf e = { 0 }, s = { 0 };

	explicit_int(&e, 0xa0, etype);
	explicit_str(&e, 0xa2, 0x04, "ciphertext");
	ber(&s, 0x30, &e);
	ber(out, tag, &s);
}

static void test_kerberos(void **state)
{
	struct buf body = { 0 }, req = { 0 }, seq = { 0 }, asreq = { 0 }, etl = { 0 }, x = { 0 };
	struct buf err = { 0 }, krberr = { 0 }, tkt = { 0 }, tkts = { 0 }, ticket = { 0 };
	struct buf rep = { 0 }, asrep = { 0 }, tcp = { 0 };
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	/* AS-REQ: kdc-options, cname, realm, sname, till, nonce, etypes. */
	ber_raw(&x, 0x03, "\x00\x40\x81\x00\x10", 5);
	ber(&body, 0xa0, &x);
	principal(&body, 0xa1, 1, "alice", NULL);
	explicit_str(&body, 0xa2, 0x1b, "EXAMPLE.COM");
	principal(&body, 0xa3, 2, "krbtgt", "EXAMPLE.COM");
	explicit_str(&body, 0xa5, 0x18, "20370913024805Z");
	explicit_int(&body, 0xa7, 123456);
	ber_int(&etl, 0x02, 18);
	ber_int(&etl, 0x02, 17);
	ber_int(&etl, 0x02, 23);
	x.len = 0;
	ber(&x, 0x30, &etl);
	ber(&body, 0xa8, &x);
	explicit_int(&req, 0xa1, 5);
	explicit_int(&req, 0xa2, 10);
	x.len = 0;
	ber(&x, 0x30, &body);
	ber(&req, 0xa4, &x);
	ber(&seq, 0x30, &req);
	ber(&asreq, 0x6a, &seq);
	/* KRB-ERROR 25 (pre-authentication required). */
	explicit_int(&err, 0xa0, 5);
	explicit_int(&err, 0xa1, 30);
	explicit_str(&err, 0xa4, 0x18, "20240101000000Z");
	explicit_int(&err, 0xa5, 0);
	explicit_int(&err, 0xa6, 25);
	explicit_str(&err, 0xa9, 0x1b, "EXAMPLE.COM");
	principal(&err, 0xaa, 2, "krbtgt", "EXAMPLE.COM");
	explicit_str(&err, 0xab, 0x1b, "NEEDED_PREAUTH");
	seq.len = 0;
	ber(&seq, 0x30, &err);
	ber(&krberr, 0x7e, &seq);
	/* AS-REP over TCP: crealm, cname, ticket (realm, sname, enc-part), enc-part. */
	explicit_int(&tkt, 0xa0, 5);
	explicit_str(&tkt, 0xa1, 0x1b, "EXAMPLE.COM");
	principal(&tkt, 0xa2, 2, "krbtgt", "EXAMPLE.COM");
	enc_data(&tkt, 0xa3, 18);
	ber(&tkts, 0x30, &tkt);
	ber(&ticket, 0x61, &tkts);
	explicit_int(&rep, 0xa0, 5);
	explicit_int(&rep, 0xa1, 11);
	explicit_str(&rep, 0xa3, 0x1b, "EXAMPLE.COM");
	principal(&rep, 0xa4, 1, "alice", NULL);
	ber(&rep, 0xa5, &ticket);
	enc_data(&rep, 0xa6, 17);
	seq.len = 0;
	ber(&seq, 0x30, &rep);
	ber(&asrep, 0x6b, &seq);
	put32(&tcp, (uint32_t)asrep.len);
	putn(&tcp, asrep.b, asrep.len);

	one(PR_L7_PROTO_UDP, 50000, 88, &asreq);
	one(PR_L7_PROTO_UDP, 50000, 88, &krberr);
	conn_init(&c, PR_L7_PROTO_TCP, 50000, 88);
	send_seg(&c, 1, tcp.b, tcp.len, 5);
	pr_l7_flow_end(g_ctx, &c.st);
	t = find(PR_L7_TXN_KERBEROS, 0);
	assert_non_null(t);
	assert_int_equal(t->u.krb.msg_type, 10);
	assert_int_equal(t->u.krb.pvno, 5);
	assert_string_equal(t->u.krb.realm, "EXAMPLE.COM");
	assert_string_equal(t->u.krb.cname, "alice");
	assert_string_equal(t->u.krb.sname, "krbtgt/EXAMPLE.COM");
	assert_string_equal(t->u.krb.etypes, "18,17,23");
	t = find(PR_L7_TXN_KERBEROS, 1);
	assert_int_equal(t->u.krb.msg_type, 30);
	assert_int_equal(t->u.krb.error_code, 25);
	assert_string_equal(t->u.krb.e_text, "NEEDED_PREAUTH");
	assert_string_equal(t->u.krb.sname, "krbtgt/EXAMPLE.COM");
	t = find(PR_L7_TXN_KERBEROS, 2);
	assert_non_null(t);
	assert_int_equal(t->u.krb.msg_type, 11);
	assert_string_equal(t->u.krb.cname, "alice");
	assert_string_equal(t->u.krb.sname, "krbtgt/EXAMPLE.COM");
	assert_int_equal(t->u.krb.enc_etype, 17);
	assert_false(t->u.krb.truncated);
	seed1("krb_as_req", CFG_KRB_UDP, &asreq);
	seed1("krb_error", CFG_KRB_UDP, &krberr);
	seed1("krb_as_rep_tcp", CFG_KRB_TCP, &tcp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_snmp, l7t_reset),
		cmocka_unit_test_setup(test_ntp, l7t_reset),
		cmocka_unit_test_setup(test_dhcp, l7t_reset),
		cmocka_unit_test_setup(test_ldap, l7t_reset),
		cmocka_unit_test_setup(test_ldap_starttls_and_sasl, l7t_reset),
		cmocka_unit_test_setup(test_kerberos, l7t_reset),
	};

	return cmocka_run_group_tests(tests, l7t_setup, l7t_teardown);
}
