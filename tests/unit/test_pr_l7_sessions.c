// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the NetBIOS, SMB and SIP parsers of dataplane/l7
 * (pr_l7_netbios.c, pr_l7_smb.c, pr_l7_sip.c). Names are encoded here in
 * NetBIOS's first-level encoding, SMB1 and SMB2 messages built from
 * [MS-CIFS] and [MS-SMB2], SIP messages written out in text; the expected
 * values are the ones put in, names in Wireshark's "NAME<xx>" form. Also:
 * compression pointers that point forward, compound SMB2 requests, a
 * message larger than a buffer, an encrypted SMB3 message, SIP's compact
 * headers, bodies and keep-alives. The group setup creates one context.
 * Single-threaded.
 *
 * With PR_L7_SEED_DIR set, the messages are also written there as fuzz
 * seeds (tests/fuzz/seeds/fuzz_l7_mgmt/, configs of fuzz_l7_mgmt.c).
 */
#include "l7_test.h"

/* fuzz_l7_mgmt.c's configs */
#define CFG_NBNS 8
#define CFG_NBDS 9
#define CFG_SMB445 10
#define CFG_SMB139 11
#define CFG_SIP_UDP 12
#define CFG_SIP_TCP 13

/* A NetBIOS name (16 bytes: 15 padded with spaces, then the suffix), first-level encoded. */
static void nbname(struct buf *b, const char *name, size_t n, uint8_t suffix)
{
	uint8_t raw[16];

	memset(raw, ' ', 15);
	memcpy(raw, name, n);
	raw[15] = suffix;
	put8(b, 32);
	for (int i = 0; i < 16; i++) {
		put8(b, 'A' + (raw[i] >> 4));
		put8(b, 'A' + (raw[i] & 15));
	}
	put8(b, 0);
}

static void nb_hdr(struct buf *b, uint16_t id, uint16_t flags, int qd, int an, int ar)
{
	put16(b, id);
	put16(b, flags);
	put16(b, (unsigned int)qd);
	put16(b, (unsigned int)an);
	put16(b, 0);
	put16(b, (unsigned int)ar);
}

static void test_nbns(void **state)
{
	struct buf q = { 0 }, reg = { 0 }, stat = { 0 }, fwd = { 0 };
	const struct pr_l7_txn *t;

	(void)state;
	nb_hdr(&q, 0x1234, 0x0110, 1, 0, 0); /* query, RD, broadcast */
	nbname(&q, "WORKGROUP", 9, 0x1d);
	put16(&q, 0x20);
	put16(&q, 1);
	/* Registration: the additional record points back at the question's name. */
	nb_hdr(&reg, 7, 0x2910, 1, 0, 1);
	nbname(&reg, "\x01\x02__MSBROWSE__\x02", 15, 0x01);
	put16(&reg, 0x20);
	put16(&reg, 1);
	put16(&reg, 0xc00c);
	put16(&reg, 0x20);
	put16(&reg, 1);
	put32(&reg, 300000);
	put16(&reg, 6);
	putn(&reg, (uint8_t[]){ 0x80, 0, 192, 168, 1, 5 }, 6);
	/* Node status answer for "*": two names. */
	nb_hdr(&stat, 9, 0x8400, 0, 1, 0);
	nbname(&stat, "*\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15, 0);
	put16(&stat, 0x21);
	put16(&stat, 1);
	put32(&stat, 0);
	put16(&stat, 1 + 2 * 18);
	put8(&stat, 2);
	putn(&stat, "HOST1          \x00\x04\x00", 18);
	putn(&stat, "WORKGROUP      \x1e\x84\x00", 18);
	/* A pointer forward: refused (no loops possible), the message marked. */
	nb_hdr(&fwd, 3, 0x0000, 1, 0, 0);
	put16(&fwd, 0xc020);

	one(PR_L7_PROTO_UDP, 137, 137, &q);
	one(PR_L7_PROTO_UDP, 137, 137, &reg);
	one(PR_L7_PROTO_UDP, 50000, 137, &stat);
	one(PR_L7_PROTO_UDP, 137, 137, &fwd);
	t = find(PR_L7_TXN_NBNS, 0);
	assert_non_null(t);
	assert_int_equal(t->app, PR_L7_APP_NETBIOS);
	assert_string_equal(t->u.nbns.name, "WORKGROUP<1d>");
	assert_int_equal(t->u.nbns.qtype, 0x20);
	assert_int_equal(t->u.nbns.flags, PR_L7_NBNS_RD | PR_L7_NBNS_BROADCAST);
	t = find(PR_L7_TXN_NBNS, 1);
	assert_int_equal(t->u.nbns.opcode, 5);
	assert_string_equal(t->u.nbns.name, "<01><02>__MSBROWSE__<02><01>");
	assert_string_equal(t->u.nbns.addrs, "192.168.1.5");
	assert_int_equal(t->u.nbns.ttl, 300000);
	t = find(PR_L7_TXN_NBNS, 2);
	assert_true(t->u.nbns.flags & PR_L7_NBNS_RESPONSE);
	assert_string_equal(t->u.nbns.name,
			    "*<00><00><00><00><00><00><00><00><00><00><00><00><00><00><00>");
	assert_int_equal(t->u.nbns.qtype, 0x21);
	assert_int_equal(t->u.nbns.n_names, 2);
	assert_string_equal(t->u.nbns.names, "HOST1<00>,WORKGROUP<1e>");
	t = find(PR_L7_TXN_NBNS, 3);
	assert_true(t->u.nbns.flags & PR_L7_NBNS_MALFORMED);
	seed1("nbns_query", CFG_NBNS, &q);
	seed1("nbns_registration", CFG_NBNS, &reg);
	seed1("nbns_node_status", CFG_NBNS, &stat);
}

static void test_nbds(void **state)
{
	struct buf d = { 0 };
	const struct pr_l7_txn *t;

	(void)state;
	putn(&d, (uint8_t[]){ 0x11, 0x0a, 0x80, 0x01, 192, 168, 1, 7, 0, 138, 0, 0, 0, 0 }, 14);
	nbname(&d, "HOST1", 5, 0);
	nbname(&d, "WORKGROUP", 9, 0x1d);
	/* SMB Transaction carrying a mailslot message. */
	putn(&d, "\xffSMB\x25", 5);
	for (int i = 0; i < 27; i++)
		put8(&d, 0);
	put8(&d, 17); /* word count */
	for (int i = 0; i < 34; i++)
		put8(&d, 0);
	le16(&d, 20);
	putn(&d, "\\MAILSLOT\\BROWSE\0xyz", 20);
	one(PR_L7_PROTO_UDP, 138, 138, &d);
	t = find(PR_L7_TXN_NBDS, 0);
	assert_non_null(t);
	assert_int_equal(t->u.nbds.msg_type, 0x11);
	assert_string_equal(t->u.nbds.src_ip, "192.168.1.7");
	assert_int_equal(t->u.nbds.src_port, 138);
	assert_string_equal(t->u.nbds.src_name, "HOST1<00>");
	assert_string_equal(t->u.nbds.dst_name, "WORKGROUP<1d>");
	assert_string_equal(t->u.nbds.mailslot, "\\MAILSLOT\\BROWSE");
	seed1("nbds_browse", CFG_NBDS, &d);
}

/* ---- SMB ---- */

static size_t nbss(struct buf *b, unsigned int type)
{
	put8(b, type);
	return mark(b, 3);
}

static void smb1_hdr(struct buf *b, unsigned int cmd, uint32_t status, int reply, int unicode)
{
	putn(b, "\xffSMB", 4);
	put8(b, cmd);
	le32(b, status);
	put8(b, reply ? 0x98 : 0x18);
	le16(b, unicode ? 0xc807 : 0x4807);
	for (int i = 0; i < 20; i++)
		put8(b, 0);
}

static void smb2_hdr(struct buf *b, unsigned int cmd, uint32_t status, int reply, uint32_t next)
{
	putn(b, "\xfeSMB", 4);
	le16(b, 64);
	le16(b, 0);
	le32(b, status);
	le16(b, cmd);
	le16(b, 1);
	le32(b, reply ? 1 : 0);
	le32(b, next);
	for (int i = 0; i < 40; i++)
		put8(b, 0);
}

static void utf16(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if ((uint8_t)*s == 0xc3) { /* the test's only non-ASCII: e-acute */
			le16(b, 0xe9);
			s++;
		} else {
			le16(b, (uint8_t)*s);
		}
	}
}

static void test_smb1(void **state)
{
	struct buf c2s = { 0 }, s2c = { 0 };
	const struct pr_l7_txn *t;
	struct conn c;
	size_t at, bc;

	(void)state;
	/* NBSS session request, then SMB1 NEGOTIATE and a Unicode TREE_CONNECT_ANDX. */
	at = nbss(&c2s, 0x81);
	nbname(&c2s, "SERVER", 6, 0x20);
	nbname(&c2s, "CLIENT", 6, 0x00);
	fix(&c2s, at, 3);
	at = nbss(&c2s, 0);
	smb1_hdr(&c2s, 0x72, 0, 0, 0);
	put8(&c2s, 0);
	bc = c2s.len;
	le16(&c2s, 0);
	{
		static const char d[] =
			"\x02PC NETWORK PROGRAM 1.0\0\x02NT LM 0.12\0\x02SMB 2.002\0"
			"\x02SMB 2.\?\?\?";

		putn(&c2s, d, sizeof(d)); /* the last string's NUL included */
	}
	c2s.b[bc] = (uint8_t)(c2s.len - bc - 2);
	fix(&c2s, at, 3);
	at = nbss(&c2s, 0);
	smb1_hdr(&c2s, 0x75, 0, 0, 1);
	put8(&c2s, 4);
	putn(&c2s, (uint8_t[]){ 0xff, 0, 0, 0, 0x08, 0 }, 6);
	le16(&c2s, 1); /* password length */
	bc = c2s.len;
	le16(&c2s, 0);
	put8(&c2s, 0); /* the password byte */
	if ((c2s.len - (at + 3)) & 1)
		put8(&c2s, 0); /* pad: Unicode strings 2-aligned from the SMB header */
	utf16(&c2s, "\\\\SERVER\\IPC$");
	le16(&c2s, 0);
	putn(&c2s, "?????\0", 6);
	c2s.b[bc] = (uint8_t)(c2s.len - bc - 2);
	fix(&c2s, at, 3);
	put8(&s2c, 0x82);
	putn(&s2c, (uint8_t[]){ 0, 0, 0 }, 3);
	at = nbss(&s2c, 0);
	smb1_hdr(&s2c, 0x72, 0, 1, 0);
	put8(&s2c, 17);
	le16(&s2c, 1); /* dialect index */
	for (int i = 0; i < 32; i++)
		put8(&s2c, 0);
	le16(&s2c, 0);
	fix(&s2c, at, 3);

	conn_init(&c, PR_L7_PROTO_TCP, 50000, 139);
	send_seg(&c, 0, c2s.b, c2s.len, 13);
	send_buf(&c, 1, &s2c);
	pr_l7_flow_end(g_ctx, &c.st);
	t = find(PR_L7_TXN_SMB, 0);
	assert_non_null(t);
	assert_int_equal(t->app, PR_L7_APP_SMB);
	assert_int_equal(t->u.smb.version, 0);
	assert_int_equal(t->u.smb.nbss_type, 0x81);
	assert_string_equal(t->u.smb.called, "SERVER<20>");
	assert_string_equal(t->u.smb.calling, "CLIENT<00>");
	t = find(PR_L7_TXN_SMB, 1);
	assert_int_equal(t->u.smb.version, 1);
	assert_int_equal(t->u.smb.command, 0x72);
	assert_int_equal(t->u.smb.n_dialects, 4);
	assert_string_equal(t->u.smb.dialects,
			    "PC NETWORK PROGRAM 1.0,NT LM 0.12,SMB 2.002,SMB 2.???");
	t = find(PR_L7_TXN_SMB, 2);
	assert_int_equal(t->u.smb.command, 0x75);
	assert_string_equal(t->u.smb.path, "\\\\SERVER\\IPC$");
	t = find(PR_L7_TXN_SMB, 3);
	assert_int_equal(t->u.smb.nbss_type, 0x82);
	t = find(PR_L7_TXN_SMB, 4);
	assert_true(t->u.smb.flags & PR_L7_SMB_RESPONSE);
	assert_int_equal(t->u.smb.dialect, 1);
	{
		const struct buf *ms[2] = { &c2s, &s2c };

		seed("smb1_negotiate", CFG_SMB139, ms, 2, 2);
	}
}

static void test_smb2(void **state)
{
	static const uint16_t dialects[] = { 0x0202, 0x0210, 0x0300, 0x0302, 0x0311 };
	struct buf c2s = { 0 }, s2c = { 0 }, big = { 0 }, enc = { 0 };
	const struct pr_l7_txn *t;
	struct pr_l7_stats before, after;
	struct conn c;
	size_t at, first;

	(void)state;
	at = nbss(&c2s, 0);
	smb2_hdr(&c2s, 0, 0, 0, 0);
	le16(&c2s, 36);
	le16(&c2s, 5);
	for (int i = 0; i < 32; i++)
		put8(&c2s, 0);
	for (int i = 0; i < 5; i++)
		le16(&c2s, dialects[i]);
	fix(&c2s, at, 3);
	/* Two TREE_CONNECT requests compounded in one message. */
	at = nbss(&c2s, 0);
	first = c2s.len;
	smb2_hdr(&c2s, 3, 0, 0, 0);
	le16(&c2s, 9);
	le16(&c2s, 0);
	le16(&c2s, 72); /* path offset from the header */
	le16(&c2s, 2 * 15);
	utf16(&c2s, "\\\\srv\\caf\xc3\xa9");
	le16(&c2s, 0);
	while ((c2s.len - first) & 7)
		put8(&c2s, 0);
	c2s.b[first + 20] = (uint8_t)(c2s.len - first);
	smb2_hdr(&c2s, 3, 0, 0, 0);
	le16(&c2s, 9);
	le16(&c2s, 0);
	le16(&c2s, 72);
	le16(&c2s, 2 * 12);
	utf16(&c2s, "\\\\srv\\share");
	fix(&c2s, at, 3);
	/* A WRITE much larger than a buffer: its header is read, the rest skipped. */
	at = nbss(&big, 0);
	smb2_hdr(&big, 9, 0, 0, 0);
	for (int i = 0; i < 20000; i++)
		put8(&big, 0x5a);
	fix(&big, at, 3);
	/* Responses: NEGOTIATE picks 3.1.1, SESSION_SETUP fails, then encryption starts. */
	at = nbss(&s2c, 0);
	smb2_hdr(&s2c, 0, 0, 1, 0);
	le16(&s2c, 65);
	le16(&s2c, 1);
	le16(&s2c, 0x0311);
	for (int i = 0; i < 58; i++)
		put8(&s2c, 0);
	fix(&s2c, at, 3);
	at = nbss(&s2c, 0);
	smb2_hdr(&s2c, 1, 0xc000006d, 1, 0);
	le16(&s2c, 9);
	for (int i = 0; i < 7; i++)
		put8(&s2c, 0);
	fix(&s2c, at, 3);
	at = nbss(&enc, 0);
	putn(&enc, "\xfdSMB", 4);
	for (int i = 0; i < 60; i++)
		put8(&enc, 0x11);
	fix(&enc, at, 3);

	conn_init(&c, PR_L7_PROTO_TCP, 50000, 445);
	send_buf(&c, 0, &c2s);
	pr_l7_ctx_stats(g_ctx, &before);
	send_seg(&c, 0, big.b, big.len, 1448);
	pr_l7_ctx_stats(g_ctx, &after);
	assert_int_equal(after.oversize, before.oversize + 1);
	send_buf(&c, 0, &c2s); /* after the skipped message, parsing goes on */
	send_buf(&c, 1, &s2c);
	send_buf(&c, 1, &enc);
	send_buf(&c, 1, &s2c);
	t = find(PR_L7_TXN_SMB, 0);
	assert_non_null(t);
	assert_int_equal(t->u.smb.version, 2);
	assert_int_equal(t->u.smb.command, 0);
	assert_int_equal(t->u.smb.n_dialects, 5);
	assert_string_equal(t->u.smb.dialects, "0202,0210,0300,0302,0311");
	t = find(PR_L7_TXN_SMB, 1);
	assert_int_equal(t->u.smb.command, 3);
	assert_string_equal(t->u.smb.path, "\\\\srv\\caf\xc3\xa9");
	t = find(PR_L7_TXN_SMB, 2);
	assert_string_equal(t->u.smb.path, "\\\\srv\\share");
	/* The second copy of the requests (after the WRITE) came through: 6 so far. */
	assert_int_equal(find(PR_L7_TXN_SMB, 5)->u.smb.command, 3);
	t = find(PR_L7_TXN_SMB, 6);
	assert_true(t->u.smb.flags & PR_L7_SMB_RESPONSE);
	assert_int_equal(t->u.smb.dialect, 0x0311);
	t = find(PR_L7_TXN_SMB, 7);
	assert_int_equal(t->u.smb.command, 1);
	assert_int_equal(t->u.smb.status, 0xc000006d);
	t = find(PR_L7_TXN_SMB, 8);
	assert_true(t->u.smb.flags & PR_L7_SMB_ENCRYPTED);
	/* Nothing after the encrypted message is read. */
	assert_int_equal(count(PR_L7_TXN_SMB), 9);
	pr_l7_flow_end(g_ctx, &c.st);
	{
		const struct buf *ms[3] = { &c2s, &s2c, &enc };

		seed("smb2_negotiate", CFG_SMB445, ms, 3, 6);
	}
}

/* ---- SIP ---- */

static const char invite[] = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
			     "v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776\r\n"
			     "f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
			     "t: sip:bob@biloxi.example.com\r\n"
			     "i: a84b4c76e66710@pc33.atlanta.example.com\r\n"
			     "CSeq: 314159 INVITE\r\n"
			     "User-Agent: softphone/1.0\r\n"
			     "c: application/sdp\r\n"
			     "l: 4\r\n"
			     "\r\n"
			     "v=0\n";

static const char ok[] = "SIP/2.0 200 OK\r\n"
			 "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776\r\n"
			 "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
			 "To: <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
			 "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
			 "CSeq: 314159 INVITE\r\n"
			 "Server: pbx/2\r\n"
			 "Content-Length: 0\r\n"
			 "\r\n";

static void test_sip(void **state)
{
	struct buf inv = { 0 }, resp = { 0 }, tcp = { 0 }, junk = { 0 };
	struct pr_l7_stats before, after;
	const struct pr_l7_txn *t;
	struct conn c;

	(void)state;
	puts_(&inv, invite);
	puts_(&resp, ok);
	conn_init(&c, PR_L7_PROTO_UDP, 5060, 5060);
	send_buf(&c, 0, &inv);
	send_buf(&c, 1, &resp);
	pr_l7_flow_end(g_ctx, &c.st);
	t = find(PR_L7_TXN_SIP, 0);
	assert_non_null(t);
	assert_int_equal(t->app, PR_L7_APP_SIP);
	assert_string_equal(t->u.sip.method, "INVITE");
	assert_string_equal(t->u.sip.uri, "sip:bob@biloxi.example.com");
	assert_string_equal(t->u.sip.from, "sip:alice@atlanta.example.com");
	assert_string_equal(t->u.sip.to, "sip:bob@biloxi.example.com");
	assert_string_equal(t->u.sip.call_id, "a84b4c76e66710@pc33.atlanta.example.com");
	assert_int_equal(t->u.sip.cseq, 314159);
	assert_string_equal(t->u.sip.cseq_method, "INVITE");
	assert_string_equal(t->u.sip.user_agent, "softphone/1.0");
	assert_string_equal(t->u.sip.via, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776");
	assert_string_equal(t->u.sip.content_type, "application/sdp");
	t = find(PR_L7_TXN_SIP, 1);
	assert_int_equal(t->u.sip.status, 200);
	assert_string_equal(t->u.sip.user_agent, "pbx/2");
	assert_string_equal(t->u.sip.to, "sip:bob@biloxi.example.com");

	/* TCP: the INVITE, a keep-alive and an extension method in one run, in 9-byte segments. */
	memset(&g_cap, 0, sizeof(g_cap));
	puts_(&tcp, invite);
	puts_(&tcp, "\r\n\r\n");
	puts_(&tcp,
	      "REGIStER sip:example.com SIP/2.0\r\nCall-ID: x1\r\nContent-Length: 3\r\n\r\nabc");
	puts_(&junk, "HTTP/1.1 200 OK\r\n\r\n");
	conn_init(&c, PR_L7_PROTO_TCP, 50000, 5060);
	send_seg(&c, 0, tcp.b, tcp.len, 9);
	pr_l7_ctx_stats(g_ctx, &before);
	send_buf(&c, 0, &junk);
	pr_l7_ctx_stats(g_ctx, &after);
	pr_l7_flow_end(g_ctx, &c.st);
	assert_int_equal(count(PR_L7_TXN_SIP), 2);
	assert_string_equal(find(PR_L7_TXN_SIP, 0)->u.sip.method, "INVITE");
	t = find(PR_L7_TXN_SIP, 1);
	assert_string_equal(t->u.sip.method, "REGIStER");
	assert_string_equal(t->u.sip.call_id, "x1");
	assert_int_equal(after.malformed, before.malformed + 1);
	{
		const struct buf *ms[2] = { &inv, &resp };

		seed("sip_invite_udp", CFG_SIP_UDP, ms, 2, 2);
		seed1("sip_tcp", CFG_SIP_TCP, &tcp);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_nbns, l7t_reset),
		cmocka_unit_test_setup(test_nbds, l7t_reset),
		cmocka_unit_test_setup(test_smb1, l7t_reset),
		cmocka_unit_test_setup(test_smb2, l7t_reset),
		cmocka_unit_test_setup(test_sip, l7t_reset),
	};

	return cmocka_run_group_tests(tests, l7t_setup, l7t_teardown);
}
