// SPDX-License-Identifier: Apache-2.0
/*
 * Corpus check of the L7 parsers against tshark. Every capture of the
 * corpus directory whose <capture>.expect.json (see EXPECT.md there) holds
 * tls, dns, http, ssh or smtp facts is read with pr_capfile, decoded with
 * pr_decode, split into flows by a small 5-tuple table of its own, and fed
 * payload by payload to dataplane/l7. Per capture and field (TLS SNI, JA3,
 * JA3S, leaf certificate subject; SSH banners, HASSH, HASSH-server; DNS
 * query names; HTTP methods, hosts, URIs, user agents; SMTP HELO/EHLO,
 * MAIL, RCPT and STARTTLS lines) the set of our values must equal the set
 * of tshark's. JA4 is checked the same way against Arkime's expected
 * sessions (<capture>.test), and reported against nDPI's (.out) files.
 *
 * IP fragments are put together and TCP segments put in order with
 * dataplane/reasm, and pr_decode() opens tunnels (IP in IP, GRE and
 * ERSPAN, VXLAN, GENEVE, GTP-U, Teredo) as tshark does, so the flows are
 * keyed on the inner packets. Captures whose differences come from a layer
 * this slice does not have yet or from a reasoned difference with the
 * oracle are listed in `exceptions` below: they are reported, not counted
 * as failures. Exit 0 when every other field-capture matches, 1 otherwise,
 * 77 when the corpus is absent.
 *
 *   pr_l7_corpus [-v] [--bench N] CORPUS_DIR [SUBSTRING ...]
 *
 * --bench N feeds the payloads of the selected captures N times through
 * fresh flow states and prints ns per payload (nothing is compared).
 * Single-threaded test tool; everything it allocates is freed per capture.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pr_capfile.h"
#include "pr_decode.h"
#include "pr_ipfrag.h"
#include "pr_l7.h"
#include "pr_tcpreasm.h"

#define EXIT_SKIP 77

/* ---- a minimal JSON reader (objects, arrays, strings, numbers, literals) ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	bool b;
	double num;
	char *s; /* J_STR (UTF-8, NUL-terminated) */
	size_t n; /* J_ARR/J_OBJ: entries */
	char **keys; /* J_OBJ */
	struct jv **v; /* J_ARR/J_OBJ */
};

struct jp {
	const char *p;
	const char *end;
	bool bad;
};

static void jv_free(struct jv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		jv_free(v->v[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->keys);
	free(v->v);
	free(v->s);
	free(v);
}

static void jp_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

static void utf8_put(char **o, uint32_t cp)
{
	char *q = *o;

	if (cp < 0x80) {
		*q++ = (char)cp;
	} else if (cp < 0x800) {
		*q++ = (char)(0xc0 | cp >> 6);
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*q++ = (char)(0xe0 | cp >> 12);
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*q++ = (char)(0xf0 | cp >> 18);
		*q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = q;
}

static uint32_t hex4(const char *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
	}
	return v;
}

static char *jp_string(struct jp *j)
{
	const char *s = ++j->p;
	char *out, *o;

	while (j->p < j->end && *j->p != '"')
		j->p += *j->p == '\\' ? 2 : 1;
	if (j->p >= j->end) {
		j->bad = true;
		return NULL;
	}
	out = malloc((size_t)(j->p - s) * 2 + 1);
	if (!out) {
		j->bad = true;
		return NULL;
	}
	o = out;
	while (s < j->p) {
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'u': {
			uint32_t cp;

			if (j->p - s < 5) {
				j->bad = true;
				break;
			}
			cp = hex4(s + 1);
			s += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && j->p - s >= 7 && s[1] == '\\' &&
			    s[2] == 'u') {
				uint32_t lo = hex4(s + 3);

				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				s += 6;
			}
			utf8_put(&o, cp);
			break;
		}
		default:
			*o++ = *s;
			break;
		}
		s++;
	}
	*o = '\0';
	j->p++;
	return out;
}

static struct jv *jp_value(struct jp *j, int depth)
{
	struct jv *v;

	jp_ws(j);
	if (j->bad || j->p >= j->end || depth > 64) {
		j->bad = true;
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		j->bad = true;
		return NULL;
	}
	if (*j->p == '{' || *j->p == '[') {
		bool obj = *j->p == '{';

		v->t = obj ? J_OBJ : J_ARR;
		j->p++;
		for (;;) {
			char *key = NULL;
			struct jv *e;

			jp_ws(j);
			if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
				j->p++;
				break;
			}
			if (obj) {
				if (j->p >= j->end || *j->p != '"') {
					j->bad = true;
					break;
				}
				key = jp_string(j);
				jp_ws(j);
				if (j->bad || j->p >= j->end || *j->p != ':') {
					free(key);
					j->bad = true;
					break;
				}
				j->p++;
			}
			e = jp_value(j, depth + 1);
			if (j->bad) {
				free(key);
				jv_free(e);
				break;
			}
			v->v = realloc(v->v, (v->n + 1) * sizeof(*v->v));
			if (obj)
				v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
			if (!v->v || (obj && !v->keys)) {
				j->bad = true;
				break;
			}
			v->v[v->n] = e;
			if (obj)
				v->keys[v->n] = key;
			v->n++;
			jp_ws(j);
			if (j->p < j->end && *j->p == ',')
				j->p++;
		}
	} else if (*j->p == '"') {
		v->t = J_STR;
		v->s = jp_string(j);
	} else if (!strncmp(j->p, "null", 4)) {
		v->t = J_NULL;
		j->p += 4;
	} else if (!strncmp(j->p, "true", 4)) {
		v->t = J_BOOL;
		v->b = true;
		j->p += 4;
	} else if (!strncmp(j->p, "false", 5)) {
		v->t = J_BOOL;
		j->p += 5;
	} else {
		char *e;

		v->t = J_NUM;
		v->num = strtod(j->p, &e);
		if (e == j->p)
			j->bad = true;
		j->p = e;
	}
	return v;
}

static const struct jv *jget(const struct jv *o, const char *key)
{
	if (!o || o->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return o->v[i];
	return NULL;
}

static const char *jstr(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v && v->t == J_STR ? v->s : NULL;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static struct jv *json_load(const char *path)
{
	size_t len = 0;
	char *text = read_file(path, &len);
	struct jp j;
	struct jv *v;

	if (!text)
		return NULL;
	j.p = text;
	j.end = text + len;
	j.bad = false;
	v = jp_value(&j, 0);
	free(text);
	if (j.bad) {
		jv_free(v);
		return NULL;
	}
	return v;
}

/* ---- string sets ---- */

struct sset {
	char **s;
	size_t n;
	size_t cap;
};

static void sset_add(struct sset *ss, const char *s)
{
	if (ss->n == ss->cap) {
		ss->cap = ss->cap ? 2 * ss->cap : 16;
		ss->s = realloc(ss->s, ss->cap * sizeof(*ss->s));
		if (!ss->s)
			abort();
	}
	ss->s[ss->n] = strdup(s);
	if (!ss->s[ss->n])
		abort();
	ss->n++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sset_finish(struct sset *ss)
{
	size_t w = 0;

	if (!ss->n)
		return;
	qsort(ss->s, ss->n, sizeof(*ss->s), cmp_str);
	for (size_t r = 0; r < ss->n; r++) {
		if (w && !strcmp(ss->s[w - 1], ss->s[r])) {
			free(ss->s[r]);
			continue;
		}
		ss->s[w++] = ss->s[r];
	}
	ss->n = w;
}

static void sset_free(struct sset *ss)
{
	for (size_t i = 0; i < ss->n; i++)
		free(ss->s[i]);
	free(ss->s);
	memset(ss, 0, sizeof(*ss));
}

static bool sset_has(const struct sset *ss, const char *s)
{
	return ss->n && bsearch(&s, ss->s, ss->n, sizeof(*ss->s), cmp_str) != NULL;
}

/*
 * Our strings in the oracle's form: DNS escapes (\DDD, \., \\) undone, then
 * written the way Wireshark's format_text() does it: control bytes as C
 * escapes or three octal digits, and bytes that are not UTF-8 as U+FFFD: a lead byte (the old 5- and 6-byte forms too)
 * takes the continuation bytes that follow it, and an incomplete or
 * invalid sequence becomes one U+FFFD; a stray byte becomes one U+FFFD.
 */
static void canon(const char *in, bool dns, char *out, size_t cap)
{
	uint8_t raw[8192];
	size_t n = 0, o = 0;

	for (size_t i = 0; in[i] && n < sizeof(raw); i++) {
		if (dns && in[i] == '\\' && in[i + 1] >= '0' && in[i + 1] <= '9' && in[i + 2] &&
		    in[i + 3]) {
			raw[n++] = (uint8_t)((in[i + 1] - '0') * 100 + (in[i + 2] - '0') * 10 +
					     (in[i + 3] - '0'));
			i += 3;
		} else if (dns && in[i] == '\\' && in[i + 1]) {
			raw[n++] = (uint8_t)in[++i];
		} else {
			raw[n++] = (uint8_t)in[i];
		}
	}
	for (size_t i = 0; i < n && o + 6 < cap;) {
		uint8_t c = raw[i++];
		size_t need, k;
		uint32_t cp;

		if (c < 0x20 || c == 0x7f) {
			/* format_text(): C escapes, else three octal digits. */
			static const char cesc[] = "abtnvfr";

			out[o++] = '\\';
			if (c >= 7 && c <= 13)
				out[o++] = cesc[c - 7];
			else if (c == '\\')
				out[o++] = '\\';
			else
				o += (size_t)snprintf(out + o, cap - o, "%03o", c);
			continue;
		}
		if (c < 0x80) {
			out[o++] = (char)c;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3;
			cp = c & 0x07;
		} else if ((c & 0xfc) == 0xf8) {
			need = 4;
			cp = c & 0x03;
		} else if ((c & 0xfe) == 0xfc) {
			need = 5;
			cp = c & 0x01;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			continue;
		}
		for (k = 0; k < need && i < n && (raw[i] & 0xc0) == 0x80; k++)
			cp = cp << 6 | (raw[i++] & 0x3f);
		if (k == need && need <= 3 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) &&
		    cp >= (need == 1 ? 0x80u :
			   need == 2 ? 0x800u :
				       0x10000u)) {
			memcpy(out + o, raw + i - need - 1, need + 1);
			o += need + 1;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
	}
	out[o] = '\0';
}

/* ---- fields ---- */

enum field {
	F_TLS_SNI,
	F_TLS_JA3,
	F_TLS_JA3S,
	F_TLS_CERT,
	F_TLS_JA4_ARKIME,
	F_TLS_JA4_NDPI,
	F_SSH_BANNER,
	F_SSH_HASSH,
	F_SSH_HASSH_SERVER,
	F_DNS_QNAME,
	F_HTTP_METHOD,
	F_HTTP_HOST,
	F_HTTP_URI,
	F_HTTP_UA,
	F_SMTP_CMD,
	/* From here on the oracle is tests/l7/oracle.json (tshark -T fields; the names are tshark's). */
	F_LDAP_OP,
	F_LDAP_NAME,
	F_LDAP_BASE,
	F_LDAP_RESULT,
	F_LDAP_OBJECT,
	F_NBNS_NAME,
	F_NBDGM_SRC,
	F_NBDGM_DST,
	F_NBSS_CALLED,
	F_NBSS_CALLING,
	F_SMB_DIALECT,
	F_SMB2_DIALECT,
	F_BGP_TYPE,
	F_BGP_MYAS,
	F_BGP_ID,
	F_BGP_HOLD,
	F_BGP_NLRI,
	F_BGP_WITHDRAWN,
	F_BGP_MP6,
	F_BGP_WD6,
	F_BGP_NOTIFY,
	F_OSPF_MSG,
	F_OSPF_ROUTER,
	F_OSPF_AREA,
	F_EIGRP_OPCODE,
	F_EIGRP_AS,
	F_RIP_CMD,
	F_RIP_VERSION,
	F_RIP_IP,
	F_RIPNG_CMD,
	F_RIPNG_PREFIX,
	F_SNMP_COMMUNITY,
	F_SNMP_NAME,
	F_SNMP_DATA,
	F_SNMP_USER,
	F_NTP_VN,
	F_NTP_MODE,
	F_NTP_STRATUM,
	F_CFLOW_VERSION,
	F_CFLOW_COUNT,
	F_CFLOW_SRC,
	F_CFLOW_DST,
	F_SFLOW_AGENT,
	F_SFLOW_NUMSAMPLES,
	F_DHCP_TYPE,
	F_DHCP_MAC,
	F_DHCP_HOSTNAME,
	F_DHCP_YOUR,
	F_DHCPV6_TYPE,
	F_KRB_TYPE,
	F_KRB_REALM,
	F_KRB_CNAME,
	F_KRB_SNAME,
	F_SIP_METHOD,
	F_SIP_STATUS,
	F_SIP_CALLID,
	F_ICMP_TYPE,
	F_ICMP_CODE,
	F_ICMPV6_TYPE,
	F_ICMPV6_CODE,
	F_DTLS_SNI,
	F_DTLS_JA3,
	F_DTLS_JA3S,
	F_COUNT,
};

#define F_FIRST_ORACLE F_LDAP_OP

static const char *const field_name[F_COUNT] = {
	"tls.sni",
	"tls.ja3",
	"tls.ja3s",
	"tls.cert_subject",
	"tls.ja4 (arkime)",
	"tls.ja4 (ndpi)",
	"ssh.banner",
	"ssh.hassh",
	"ssh.hassh_server",
	"dns.qname",
	"http.method",
	"http.host",
	"http.uri",
	"http.user_agent",
	"smtp.command",
	"ldap.protocolOp",
	"ldap.name",
	"ldap.baseObject",
	"ldap.resultCode",
	"ldap.objectName",
	"nbns.name",
	"nbdgm.source_name",
	"nbdgm.destination_name",
	"nbss.called_name",
	"nbss.calling_name",
	"smb.dialect",
	"smb2.dialect",
	"bgp.type",
	"bgp.open.myas",
	"bgp.open.identifier",
	"bgp.open.holdtime",
	"bgp.nlri_prefix+mp4",
	"bgp.withdrawn_prefix+mp4",
	"bgp.mp_reach_nlri_ipv6_prefix",
	"bgp.mp_unreach_nlri_ipv6_prefix",
	"bgp.notify.major_error",
	"ospf.msg",
	"ospf.srcrouter",
	"ospf.area_id",
	"eigrp.opcode",
	"eigrp.as",
	"rip.command",
	"rip.version",
	"rip.ip",
	"ripng.cmd",
	"ripng.rte.ipv6_prefix",
	"snmp.community",
	"snmp.name",
	"snmp.data",
	"snmp.msgUserName",
	"ntp.flags.vn",
	"ntp.flags.mode",
	"ntp.stratum",
	"cflow.version",
	"cflow.count",
	"cflow.srcaddr",
	"cflow.dstaddr",
	"sflow_245.agent+v6",
	"sflow_245.numsamples",
	"dhcp.option.dhcp",
	"dhcp.hw.mac_addr",
	"dhcp.option.hostname",
	"dhcp.ip.your",
	"dhcpv6.msgtype",
	"kerberos.msg_type",
	"kerberos.realm",
	"kerberos.CNameString",
	"kerberos.SNameString",
	"sip.Method",
	"sip.Status-Code",
	"sip.Call-ID",
	"icmp.type",
	"icmp.code",
	"icmpv6.type",
	"icmpv6.code",
	"dtls.handshake.extensions_server_name",
	"dtls.handshake.ja3",
	"dtls.handshake.ja3s",
};

/*
 * The oracle.json keys of a field when they are not its name: our
 * transactions keep NLRI and MP_REACH prefixes of a family in one list,
 * and the agent address in one string whatever its family.
 */
static const char *const *oracle_keys(enum field f)
{
	static const char *const nlri[] = { "bgp.nlri_prefix", "bgp.mp_reach_nlri_ipv4_prefix",
					    NULL };
	static const char *const wd[] = { "bgp.withdrawn_prefix", "bgp.mp_unreach_nlri_ipv4_prefix",
					  NULL };
	static const char *const agent[] = { "sflow_245.agent", "sflow_245.agent.v6", NULL };
	static const char *one[2];

	switch (f) {
	case F_BGP_NLRI:
		return nlri;
	case F_BGP_WITHDRAWN:
		return wd;
	case F_SFLOW_AGENT:
		return agent;
	default:
		one[0] = field_name[f];
		one[1] = NULL;
		return one;
	}
}

/* Fields that count towards the verdict (nDPI's JA4 is informative: see docs/PROTOCOLS.md). */
static bool field_gates(enum field f)
{
	return f != F_TLS_JA4_NDPI;
}

/*
 * Captures whose differences are known and not bugs of dataplane/l7, with
 * the reason. A capture listed here is reported, never counted as failed.
 */
struct exception {
	const char *capture; /* path under the corpus directory */
	enum field field; /* F_COUNT: every field */
	const char *reason;
};

#define SSH_PORT_REASON                                                                      \
	"SSH on a port other than 22: tshark dissects SSH on port 22 only, we detect it by " \
	"its identification string"

static const struct exception exceptions[] = {
	{ "bench/bench_mixed_real_concat.pcap", F_TLS_CERT,
	  "tcp/947, 949 and 953: the server's second segment arrives before its first; tshark "
	  "4.0 leaves out-of-order segments alone by default (tcp.reassemble_out_of_order is "
	  "off) and misses the certificates, dataplane/reasm puts them in order (tshark -o "
	  "tcp.reassemble_out_of_order:TRUE shows the same three subjects as we do)" },
	{ "bench/bench_mixed_real_concat.pcap", F_SSH_BANNER, SSH_PORT_REASON " (2200, 40184)" },
	{ "bench/bench_mixed_real_concat.pcap", F_SSH_HASSH_SERVER,
	  SSH_PORT_REASON " (2200, 40184)" },
	{ "malformed/fuzz-2006-06-26-2594.pcap", F_COUNT,
	  "a fuzzed capture: DNS labels, NetBIOS names and SIP headers with corrupted bytes; "
	  "tshark prints partial values and its own markers (\"<Unknown extended label>\", "
	  "\"Illegal NetBIOS name\") and decodes by port whatever the header says, we end a "
	  "value where its bytes stop making sense and skip what does not parse" },
	{ "bgp/pm_301-BGP-CISCO-pretag.pcap", F_COUNT,
	  "a generated capture: the OPEN rides on a SYN, and the next segment starts one byte "
	  "early (the generator forgot that a SYN takes a sequence number), so in sequence order "
	  "the stream loses its first byte there; tshark dissects each segment from its start" },
	{ "malformed/bgp-as-path-oobr.pcap", F_COUNT,
	  "a fuzzed capture (tcpdump's out-of-bounds test): malformed UPDATEs and a segment that "
	  "overlaps the stream with other bytes; we stop the direction at the first broken "
	  "message, tshark decodes what it can of every segment" },
	{ "chat/telegram.pcap", F_COUNT,
	  "UDP port 521 carries something else than RIPng (command 220, random prefixes): tshark "
	  "decodes it by port, our RIP parser wants a command and version RIP has" },
	{ "ldap/zeek_aduser1.pcap", F_KRB_TYPE,
	  "the AP-REQ (14) travels inside SPNEGO in an LDAP SASL bind and an SMB session setup; "
	  "our Kerberos parser reads port 88, GSS-API tokens inside other protocols are not "
	  "opened" },
	{ "malformed/rip_error_hexdump.pcap", F_COUNT,
	  "a fuzzed capture: the RIP datagram's IPv4 header has both DF and MF set, so it is the "
	  "first fragment of a datagram that never completes; tshark dissects the fragment, our "
	  "reassembly waits for the rest" },
	{ "malformed/smtp-moloch-bof.pcap", F_SMTP_CMD,
	  "HELO, MAIL, RCPT and DATA pipelined in one segment before the banner (the test of a "
	  "buffer overflow): tshark takes the segment for message text, we read the commands" },
	{ "smtp/wireshark-bdat.pcap", F_SMTP_CMD,
	  "SMTP on port 1224: tshark dissects SMTP on its registered ports only, we recognise the "
	  "banner and EHLO" },
	{ "sflow/sflow_multiple_counter_30_pdus.pcap", F_COUNT,
	  "NetFlow v5 sent to sFlow's port 6343 (the datagrams from port 40000): tshark tries sFlow "
	  "only and leaves them as UDP; with -d udp.port==6343,cflow it decodes the same records as "
	  "ours" },
	{ "smtp/sv_smtp-pipelining.pcap", F_SMTP_CMD,
	  "MAIL, RCPT and DATA pipelined in one segment (RFC 2920): tshark takes the segment for "
	  "message text; suricata-verify's own expectation (test.yaml) has them as commands, as we "
	  "do" },
	{ "ssh/zeek_ssh1-ssh2-fingerprints.pcap", F_SSH_BANNER, SSH_PORT_REASON " (2222)" },
	{ NULL, F_COUNT, NULL },
};

#define PR_ARRAY_SIZE_EXC (sizeof(exceptions) / sizeof(exceptions[0]))

/* Which exceptions explained a difference: one that never does is stale, and fails the run. */
static bool exception_used[PR_ARRAY_SIZE_EXC];

static const char *exception_for(const char *rel, enum field f)
{
	for (size_t i = 0; exceptions[i].capture; i++) {
		if (!strcmp(exceptions[i].capture, rel) &&
		    (exceptions[i].field == F_COUNT || exceptions[i].field == f)) {
			exception_used[i] = true;
			return exceptions[i].reason;
		}
	}
	return NULL;
}

struct tally {
	unsigned int captures;
	unsigned int equal;
	unsigned int excepted;
};

/* ---- our side: flows and emitted transactions ---- */

struct flow {
	struct flow *next;
	uint8_t key[40];
	struct pr_l7_state st;
	struct pr_tcpreasm_state rs;
	uint64_t id;
	uint32_t syn_seq;
	uint16_t cport; /* the ports the state was started with (for --bench) */
	uint16_t sport;
	uint8_t client_side; /* 0: the key's first (smaller) endpoint is the client */
	bool closed;
};

#define NBUCKETS 4096

/* Flow ids are unique over the whole run, as a sensor's are (NetFlow templates are keyed by them). */
static uint64_t g_next_id;

struct run {
	struct pr_l7_ctx *l7;
	struct pr_ipfrag *frag;
	struct pr_tcpreasm *tr;
	bool keep; /* --bench: keep every payload handed to the parsers */
	struct flow *bucket[NBUCKETS];
	struct sset ours[F_COUNT];
	uint64_t payloads;
};

static const char *const smtp_compared[] = { "HELO", "EHLO", "MAIL", "RCPT", "STARTTLS" };

static void add_u(struct sset *ss, uint64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	sset_add(ss, tmp);
}

static void add_str(struct sset *ss, const char *v)
{
	char tmp[8192];

	if (!v[0])
		return;
	canon(v, false, tmp, sizeof(tmp));
	sset_add(ss, tmp);
}

/*
 * Each item of a list ("a,b,c"; sep '/' for principal names), cut at the
 * first of `stop` (" /" keeps the address of "10.0.0.0/8 metric 1"); v4/v6
 * keep only IPv4 / IPv6 addresses (a ':' tells them apart).
 */
static void add_items(struct sset *ss, const char *list, char sep, const char *stop, int family)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, (char[]){ sep, '\0' }), k = stop ? strcspn(p, stop) : n;
		char tmp[512];

		if (k > n)
			k = n;
		if (k && k < sizeof(tmp)) {
			bool v6 = memchr(p, ':', k) != NULL;

			memcpy(tmp, p, k);
			tmp[k] = '\0';
			if (!family || (family == 4 && !v6) || (family == 6 && v6))
				add_str(ss, tmp);
		}
		p += n;
		if (*p)
			p++;
	}
}

/* The fields of the protocols whose oracle is tests/l7/oracle.json. */
static void emit_more(struct run *r, const struct pr_l7_txn *t)
{
	struct sset *o = r->ours;
	char tmp[64];

	switch (t->kind) {
	case PR_L7_TXN_LDAP_MESSAGE: {
		const struct pr_l7_ldap *l = &t->u.ldap;

		add_u(&o[F_LDAP_OP], l->op);
		if (l->op == 0)
			add_str(&o[F_LDAP_NAME], l->name);
		else if (l->op == 3)
			add_str(&o[F_LDAP_BASE], l->name);
		else if (l->op == 4)
			add_str(&o[F_LDAP_OBJECT], l->name);
		if (l->op == 1 || l->op == 5 || l->op == 7 || l->op == 9 || l->op == 11 ||
		    l->op == 13 || l->op == 15 || l->op == 24)
			add_u(&o[F_LDAP_RESULT], l->result);
		break;
	}
	case PR_L7_TXN_NBNS:
		add_str(&o[F_NBNS_NAME], t->u.nbns.name);
		break;
	case PR_L7_TXN_NBDS:
		add_str(&o[F_NBDGM_SRC], t->u.nbds.src_name);
		add_str(&o[F_NBDGM_DST], t->u.nbds.dst_name);
		break;
	case PR_L7_TXN_SMB:
		if (t->u.smb.version == 0) {
			add_str(&o[F_NBSS_CALLED], t->u.smb.called);
			add_str(&o[F_NBSS_CALLING], t->u.smb.calling);
		} else if (t->u.smb.version == 1 && t->u.smb.command == 0x72) {
			add_items(&o[F_SMB_DIALECT], t->u.smb.dialects, ',', NULL, 0);
		} else if (t->u.smb.version == 2 && t->u.smb.command == 0) {
			const char *p = t->u.smb.dialects;

			for (; strlen(p) >= 4; p += p[4] ? 5 : 4) {
				snprintf(tmp, sizeof(tmp), "0x%.4s", p);
				sset_add(&o[F_SMB2_DIALECT], tmp);
			}
			if (t->u.smb.flags & PR_L7_SMB_RESPONSE) {
				snprintf(tmp, sizeof(tmp), "0x%04x", t->u.smb.dialect);
				sset_add(&o[F_SMB2_DIALECT], tmp);
			}
		}
		break;
	case PR_L7_TXN_BGP: {
		const struct pr_l7_bgp *b = &t->u.bgp;

		add_u(&o[F_BGP_TYPE], b->type);
		if (b->type == 1) {
			/* The OPEN's own field: AS_TRANS stands in for a 4-byte AS (RFC 6793). */
			add_u(&o[F_BGP_MYAS], b->my_as > 65535 ? 23456 : b->my_as);
			add_str(&o[F_BGP_ID], b->router_id);
			add_u(&o[F_BGP_HOLD], b->hold_time);
		} else if (b->type == 2) {
			add_items(&o[F_BGP_NLRI], b->announced, ',', "/", 4);
			add_items(&o[F_BGP_MP6], b->announced, ',', "/", 6);
			add_items(&o[F_BGP_WITHDRAWN], b->withdrawn, ',', "/", 4);
			add_items(&o[F_BGP_WD6], b->withdrawn, ',', "/", 6);
		} else if (b->type == 3) {
			add_u(&o[F_BGP_NOTIFY], b->err_code);
		}
		break;
	}
	case PR_L7_TXN_OSPF:
		add_u(&o[F_OSPF_MSG], t->u.ospf.type);
		add_str(&o[F_OSPF_ROUTER], t->u.ospf.router_id);
		add_str(&o[F_OSPF_AREA], t->u.ospf.area_id);
		break;
	case PR_L7_TXN_EIGRP:
		add_u(&o[F_EIGRP_OPCODE], t->u.eigrp.opcode);
		add_u(&o[F_EIGRP_AS], t->u.eigrp.as);
		break;
	case PR_L7_TXN_RIP:
		if (t->u.rip.ng) {
			add_u(&o[F_RIPNG_CMD], t->u.rip.command);
			add_items(&o[F_RIPNG_PREFIX], t->u.rip.routes, ',', "/ ", 0);
		} else {
			add_u(&o[F_RIP_CMD], t->u.rip.command);
			add_u(&o[F_RIP_VERSION], t->u.rip.version);
			add_items(&o[F_RIP_IP], t->u.rip.routes, ',', "/ ", 0);
		}
		break;
	case PR_L7_TXN_SNMP: {
		const struct pr_l7_snmp *sn = &t->u.snmp;

		if (sn->version < 3)
			add_str(&o[F_SNMP_COMMUNITY], sn->community);
		else
			add_str(&o[F_SNMP_USER], sn->user);
		if (sn->pdu_type != PR_L7_SNMP_PDU_ENCRYPTED && !sn->truncated)
			add_u(&o[F_SNMP_DATA], sn->pdu_type);
		add_items(&o[F_SNMP_NAME], sn->oids, ',', NULL, 0);
		break;
	}
	case PR_L7_TXN_NTP:
		add_u(&o[F_NTP_VN], t->u.ntp.version);
		add_u(&o[F_NTP_MODE], t->u.ntp.mode);
		if (t->u.ntp.mode != 6 && t->u.ntp.mode != 7)
			add_u(&o[F_NTP_STRATUM], t->u.ntp.stratum);
		break;
	case PR_L7_TXN_NETFLOW_EXPORT:
		add_u(&o[F_CFLOW_VERSION], t->u.netflow.version);
		if (t->u.netflow.version != 10)
			add_u(&o[F_CFLOW_COUNT], t->u.netflow.count);
		break;
	case PR_L7_TXN_NETFLOW_RECORD:
		if (!strchr(t->u.nf_record.src, ':'))
			add_str(&o[F_CFLOW_SRC], t->u.nf_record.src);
		if (!strchr(t->u.nf_record.dst, ':'))
			add_str(&o[F_CFLOW_DST], t->u.nf_record.dst);
		break;
	case PR_L7_TXN_SFLOW:
		add_str(&o[F_SFLOW_AGENT], t->u.sflow.agent);
		add_u(&o[F_SFLOW_NUMSAMPLES], t->u.sflow.n_samples);
		break;
	case PR_L7_TXN_DHCP: {
		const struct pr_l7_dhcp *dh = &t->u.dhcp;

		if (dh->version == 6) {
			add_u(&o[F_DHCPV6_TYPE], dh->msg_type);
			break;
		}
		if (dh->msg_type)
			add_u(&o[F_DHCP_TYPE], dh->msg_type);
		add_str(&o[F_DHCP_MAC], dh->client_mac);
		add_str(&o[F_DHCP_HOSTNAME], dh->hostname);
		add_str(&o[F_DHCP_YOUR], dh->yiaddr);
		break;
	}
	case PR_L7_TXN_KERBEROS:
		add_u(&o[F_KRB_TYPE], t->u.krb.msg_type);
		add_str(&o[F_KRB_REALM], t->u.krb.realm);
		add_items(&o[F_KRB_CNAME], t->u.krb.cname, '/', NULL, 0);
		add_items(&o[F_KRB_SNAME], t->u.krb.sname, '/', NULL, 0);
		break;
	case PR_L7_TXN_SIP:
		if (t->u.sip.method[0])
			add_str(&o[F_SIP_METHOD], t->u.sip.method);
		else
			add_u(&o[F_SIP_STATUS], t->u.sip.status);
		add_str(&o[F_SIP_CALLID], t->u.sip.call_id);
		break;
	case PR_L7_TXN_ICMP:
		add_u(&o[t->u.icmp.version == 4 ? F_ICMP_TYPE : F_ICMPV6_TYPE], t->u.icmp.type);
		add_u(&o[t->u.icmp.version == 4 ? F_ICMP_CODE : F_ICMPV6_CODE], t->u.icmp.code);
		break;
	default:
		break;
	}
}

/* --dump: one line per transaction, its kind and main fields (for looking, not comparing). */
static bool g_dump;

static void dump(const struct pr_l7_txn *t)
{
	const char *app = pr_l7_app_name(t->app);

	printf("  txn flow %llu %s dir %u kind %u:", (unsigned long long)t->flow_id, app, t->dir,
	       t->kind);
	switch (t->kind) {
	case PR_L7_TXN_TLS_CLIENT_HELLO:
		printf(" sni=%s ja3=%s ja4=%s", t->u.tls_ch.sni, t->u.tls_ch.ja3, t->u.tls_ch.ja4);
		break;
	case PR_L7_TXN_TLS_SERVER_HELLO:
		printf(" ja3s=%s ja4s=%s", t->u.tls_sh.ja3s, t->u.tls_sh.ja4s);
		break;
	case PR_L7_TXN_DNS_MESSAGE:
		printf(" id=%u qname=%s", t->u.dns.id, t->u.dns.qname);
		break;
	case PR_L7_TXN_LDAP_MESSAGE:
		printf(" id=%u op=%u result=%u name=%s filter=%s", t->u.ldap.msg_id, t->u.ldap.op,
		       t->u.ldap.result, t->u.ldap.name, t->u.ldap.filter);
		break;
	case PR_L7_TXN_NBNS:
		printf(" op=%u name=%s addrs=%s names=%s", t->u.nbns.opcode, t->u.nbns.name,
		       t->u.nbns.addrs, t->u.nbns.names);
		break;
	case PR_L7_TXN_NBDS:
		printf(" type=%u src=%s dst=%s mailslot=%s", t->u.nbds.msg_type, t->u.nbds.src_name,
		       t->u.nbds.dst_name, t->u.nbds.mailslot);
		break;
	case PR_L7_TXN_SMB:
		printf(" v=%u cmd=%u status=%08x dialects=%s dialect=%04x path=%s called=%s",
		       t->u.smb.version, t->u.smb.command, t->u.smb.status, t->u.smb.dialects,
		       t->u.smb.dialect, t->u.smb.path, t->u.smb.called);
		break;
	case PR_L7_TXN_BGP:
		printf(" type=%u as=%u id=%s path=%s nh=%s ann=%s wd=%s", t->u.bgp.type,
		       t->u.bgp.my_as, t->u.bgp.router_id, t->u.bgp.as_path, t->u.bgp.next_hop,
		       t->u.bgp.announced, t->u.bgp.withdrawn);
		break;
	case PR_L7_TXN_OSPF:
		printf(" v=%u type=%u router=%s area=%s lsas=%u", t->u.ospf.version, t->u.ospf.type,
		       t->u.ospf.router_id, t->u.ospf.area_id, t->u.ospf.n_lsas);
		break;
	case PR_L7_TXN_EIGRP:
		printf(" opcode=%u as=%u routes=%s", t->u.eigrp.opcode, t->u.eigrp.as,
		       t->u.eigrp.routes);
		break;
	case PR_L7_TXN_RIP:
		printf(" ng=%u cmd=%u v=%u routes=%s", t->u.rip.ng, t->u.rip.command,
		       t->u.rip.version, t->u.rip.routes);
		break;
	case PR_L7_TXN_SNMP:
		printf(" v=%u pdu=%u community=%s user=%s oids=%s", t->u.snmp.version,
		       t->u.snmp.pdu_type, t->u.snmp.community, t->u.snmp.user, t->u.snmp.oids);
		break;
	case PR_L7_TXN_NTP:
		printf(" v=%u mode=%u stratum=%u refid=%s", t->u.ntp.version, t->u.ntp.mode,
		       t->u.ntp.stratum, t->u.ntp.refid);
		break;
	case PR_L7_TXN_NETFLOW_EXPORT:
		printf(" v=%u count=%u sets=%u templates=%u records=%u unknown=%u",
		       t->u.netflow.version, t->u.netflow.count, t->u.netflow.n_sets,
		       t->u.netflow.n_templates, t->u.netflow.n_records, t->u.netflow.n_unknown);
		break;
	case PR_L7_TXN_NETFLOW_RECORD:
		printf(" %s:%u -> %s:%u proto %u pkts %llu bytes %llu", t->u.nf_record.src,
		       t->u.nf_record.sport, t->u.nf_record.dst, t->u.nf_record.dport,
		       t->u.nf_record.proto, (unsigned long long)t->u.nf_record.packets,
		       (unsigned long long)t->u.nf_record.bytes);
		break;
	case PR_L7_TXN_SFLOW:
		printf(" agent=%s samples=%u flow=%u counter=%u", t->u.sflow.agent,
		       t->u.sflow.n_samples, t->u.sflow.n_flow, t->u.sflow.n_counter);
		break;
	case PR_L7_TXN_DHCP:
		printf(" v=%u type=%u mac=%s yiaddr=%s host=%s params=%s", t->u.dhcp.version,
		       t->u.dhcp.msg_type, t->u.dhcp.client_mac, t->u.dhcp.yiaddr,
		       t->u.dhcp.hostname, t->u.dhcp.params);
		break;
	case PR_L7_TXN_ICMP:
		printf(" v=%u type=%u code=%u quoted=%s->%s", t->u.icmp.version, t->u.icmp.type,
		       t->u.icmp.code, t->u.icmp.q_src, t->u.icmp.q_dst);
		break;
	case PR_L7_TXN_KERBEROS:
		printf(" type=%u realm=%s cname=%s sname=%s etypes=%s err=%d", t->u.krb.msg_type,
		       t->u.krb.realm, t->u.krb.cname, t->u.krb.sname, t->u.krb.etypes,
		       t->u.krb.error_code);
		break;
	case PR_L7_TXN_SIP:
		printf(" method=%s status=%u uri=%s from=%s to=%s call=%s", t->u.sip.method,
		       t->u.sip.status, t->u.sip.uri, t->u.sip.from, t->u.sip.to, t->u.sip.call_id);
		break;
	default:
		break;
	}
	printf("\n");
}

static void emit(void *arg, const struct pr_l7_txn *t)
{
	struct run *r = arg;
	char tmp[8192];

	if (g_dump)
		dump(t);
	if (t->app == PR_L7_APP_DTLS) {
		/* tshark's dtls.* fields (oracle.json), not its tls.* ones. */
		if (t->kind == PR_L7_TXN_TLS_CLIENT_HELLO) {
			if (t->u.tls_ch.flags & PR_L7_TLS_CH_SNI)
				add_str(&r->ours[F_DTLS_SNI], t->u.tls_ch.sni);
			sset_add(&r->ours[F_DTLS_JA3], t->u.tls_ch.ja3);
			sset_add(&r->ours[F_TLS_JA4_NDPI], t->u.tls_ch.ja4);
		} else if (t->kind == PR_L7_TXN_TLS_SERVER_HELLO) {
			sset_add(&r->ours[F_DTLS_JA3S], t->u.tls_sh.ja3s);
		}
		return;
	}
	switch (t->kind) {
	case PR_L7_TXN_TLS_CLIENT_HELLO:
		if ((t->u.tls_ch.flags & PR_L7_TLS_CH_SNI) && t->u.tls_ch.sni[0]) {
			canon(t->u.tls_ch.sni, false, tmp, sizeof(tmp));
			sset_add(&r->ours[F_TLS_SNI], tmp);
		}
		sset_add(&r->ours[F_TLS_JA3], t->u.tls_ch.ja3);
		sset_add(&r->ours[F_TLS_JA4_ARKIME], t->u.tls_ch.ja4);
		sset_add(&r->ours[F_TLS_JA4_NDPI], t->u.tls_ch.ja4);
		break;
	case PR_L7_TXN_TLS_SERVER_HELLO:
		sset_add(&r->ours[F_TLS_JA3S], t->u.tls_sh.ja3s);
		break;
	case PR_L7_TXN_TLS_CERTIFICATE:
		if (t->dir == PR_L7_DIR_S2C &&
		    !(t->u.tls_cert.flags & PR_L7_TLS_CERT_PARSE_ERROR)) {
			canon(t->u.tls_cert.subject, false, tmp, sizeof(tmp));
			sset_add(&r->ours[F_TLS_CERT], tmp);
		}
		break;
	case PR_L7_TXN_SSH_BANNER:
		canon(t->u.ssh_banner.banner, false, tmp, sizeof(tmp));
		sset_add(&r->ours[F_SSH_BANNER], tmp);
		break;
	case PR_L7_TXN_SSH_KEXINIT:
		sset_add(&r->ours[t->dir == PR_L7_DIR_C2S ? F_SSH_HASSH : F_SSH_HASSH_SERVER],
			 t->u.ssh_kex.hassh);
		break;
	case PR_L7_TXN_DNS_MESSAGE:
		if (t->u.dns.qdcount && t->u.dns.qname[0]) {
			if (!strcmp(t->u.dns.qname, "."))
				strcpy(tmp, "<Root>");
			else
				canon(t->u.dns.qname, true, tmp, sizeof(tmp));
			sset_add(&r->ours[F_DNS_QNAME], tmp);
		}
		break;
	case PR_L7_TXN_HTTP_REQUEST:
		sset_add(&r->ours[F_HTTP_METHOD], t->u.http.method);
		canon(t->u.http.uri, false, tmp, sizeof(tmp));
		sset_add(&r->ours[F_HTTP_URI], tmp);
		if (t->u.http.present & PR_L7_HTTP_HOST) {
			canon(t->u.http.host, false, tmp, sizeof(tmp));
			sset_add(&r->ours[F_HTTP_HOST], tmp);
		}
		if (t->u.http.present & PR_L7_HTTP_USER_AGENT) {
			canon(t->u.http.user_agent, false, tmp, sizeof(tmp));
			sset_add(&r->ours[F_HTTP_UA], tmp);
		}
		break;
	case PR_L7_TXN_SMTP_COMMAND:
		for (size_t i = 0; i < sizeof(smtp_compared) / sizeof(smtp_compared[0]); i++) {
			if (!strcmp(t->u.smtp.verb, smtp_compared[i])) {
				canon(t->u.smtp.line, false, tmp, sizeof(tmp));
				sset_add(&r->ours[F_SMTP_CMD], tmp);
			}
		}
		break;
	default:
		emit_more(r, t);
		break;
	}
}

static uint32_t key_hash(const uint8_t *k)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 40; i++)
		h = (h ^ k[i]) * 16777619u;
	return h % NBUCKETS;
}

static bool well_known(uint16_t port)
{
	return port < 1024 || port == 5353 || port == 5355 || port == 8080 || port == 3128;
}

/* Flow of a decoded packet, and the packet's direction in it. */
static struct flow *flow_of(struct run *r, const struct pr_decoded *d, uint8_t *dir)
{
	uint8_t key[40] = { 0 };
	const uint8_t *a = d->src_ip, *b = d->dst_ip;
	uint16_t pa = d->sport, pb = d->dport;
	int c = memcmp(a, b, 16);
	bool swap = c > 0 || (c == 0 && pa > pb);
	struct flow *f;
	uint32_t h;

	key[0] = d->ip_version;
	key[1] = d->ip_proto;
	memcpy(key + 2, swap ? b : a, 16);
	memcpy(key + 18, swap ? a : b, 16);
	key[34] = (uint8_t)((swap ? pb : pa) >> 8);
	key[35] = (uint8_t)(swap ? pb : pa);
	key[36] = (uint8_t)((swap ? pa : pb) >> 8);
	key[37] = (uint8_t)(swap ? pa : pb);
	h = key_hash(key);
	for (f = r->bucket[h]; f; f = f->next)
		if (!memcmp(f->key, key, 40))
			break;
	if (!f) {
		bool client_is_dst;

		f = aligned_alloc(64, (sizeof(*f) + 63) & ~(size_t)63);
		if (!f)
			abort();
		memset(f, 0, sizeof(*f));
		memcpy(f->key, key, 40);
		f->next = r->bucket[h];
		r->bucket[h] = f;
		/*
		 * The initiator: the SYN's sender, the SYN-ACK's receiver;
		 * without a handshake, the side not on a well-known port.
		 */
		if (d->ip_proto == 6 && (d->tcp_flags & 0x12) == 0x02)
			client_is_dst = false;
		else if (d->ip_proto == 6 && (d->tcp_flags & 0x12) == 0x12)
			client_is_dst = true;
		else
			client_is_dst = well_known(d->sport) && !well_known(d->dport);
		f->client_side = (uint8_t)(client_is_dst ? !swap : swap);
		f->cport = client_is_dst ? d->dport : d->sport;
		f->sport = client_is_dst ? d->sport : d->dport;
		pr_l7_flow_init(&f->st, d->ip_proto, f->cport, f->sport);
		pr_tcpreasm_flow_init(&f->rs);
		f->id = ++g_next_id;
	}
	*dir = (uint8_t)((swap ? 1 : 0) != f->client_side);
	return f;
}

/* One payload-carrying packet, kept for --bench. */
struct bpkt {
	struct flow *flow;
	struct pr_l7_pkt pkt;
};

static struct bpkt *bench_pkts;
static size_t bench_n, bench_cap;

/* Hand one payload to the parsers (and keep it for --bench). */
static void feed(struct run *r, struct flow *f, struct pr_l7_pkt *pkt)
{
	if (r->keep && pkt->len) {
		if (bench_n == bench_cap) {
			bench_cap = bench_cap ? 2 * bench_cap : 1024;
			bench_pkts = realloc(bench_pkts, bench_cap * sizeof(*bench_pkts));
			if (!bench_pkts)
				abort();
		}
		bench_pkts[bench_n].flow = f;
		bench_pkts[bench_n].pkt = *pkt;
		bench_pkts[bench_n].pkt.data = malloc(pkt->len);
		if (!bench_pkts[bench_n].pkt.data)
			abort();
		memcpy((void *)(uintptr_t)bench_pkts[bench_n].pkt.data, pkt->data, pkt->len);
		bench_n++;
	}
	if (pkt->len)
		r->payloads++;
	pr_l7_process(r->l7, &f->st, pkt, emit, r);
}

/* The flow and time of the segment being reassembled. */
struct deliver_arg {
	struct run *r;
	struct flow *f;
	uint64_t ts_ns;
};

/* In-order bytes from dataplane/reasm go to the parsers with their sequence number. */
static void tcp_deliver(void *arg, uint8_t dir, uint32_t seq, uint8_t flags, const uint8_t *data,
			uint32_t len)
{
	struct deliver_arg *da = arg;
	struct pr_l7_pkt pkt = {
		.data = data,
		.len = len,
		.seq = seq,
		.ts_ns = da->ts_ns,
		.flow_id = da->f->id,
		.dir = dir,
		.tcp_flags = (flags & PR_TCPREASM_SYN) ? 0x02 : 0,
		.has_seq = 1,
	};

	feed(da->r, da->f, &pkt);
}

static void flow_end(struct run *r, struct flow *f, uint64_t ts_ns)
{
	struct deliver_arg da = { r, f, ts_ns };

	if (f->key[1] == 6)
		pr_tcpreasm_flow_end(r->tr, &f->rs, tcp_deliver, &da);
	pr_l7_flow_end(r->l7, &f->st);
}

/* Deliver what reassembly still holds (the held bytes past their holes) before comparing. */
static void run_flush(struct run *r)
{
	for (int i = 0; i < NBUCKETS; i++) {
		for (struct flow *f = r->bucket[i]; f; f = f->next) {
			struct deliver_arg da = { r, f, 0 };

			if (f->key[1] == 6)
				pr_tcpreasm_flow_end(r->tr, &f->rs, tcp_deliver, &da);
		}
	}
}

static void run_free(struct run *r)
{
	for (int i = 0; i < NBUCKETS; i++) {
		while (r->bucket[i]) {
			struct flow *f = r->bucket[i];

			r->bucket[i] = f->next;
			flow_end(r, f, 0);
			free(f);
		}
	}
	for (int i = 0; i < F_COUNT; i++)
		sset_free(&r->ours[i]);
}

/* ---- the packet path ---- */

static void frame(struct run *r, uint32_t linktype, const uint8_t *data, uint32_t len,
		  uint64_t ts_ns, int depth);

/*
 * A decoded packet of a flow: TCP goes through dataplane/reasm's stream
 * reassembly, UDP straight to the parsers.
 */
static void transport(struct run *r, const struct pr_decoded *d, const uint8_t *data,
		      uint64_t ts_ns)
{
	struct pr_l7_pkt pkt;
	struct flow *f;
	uint8_t dir;

	f = flow_of(r, d, &dir);
	if (d->ip_proto == 6 && (d->tcp_flags & 0x12) == 0x02 && dir == PR_L7_DIR_C2S) {
		/* A new connection on this 5-tuple after the last one closed. */
		if (f->closed || (f->syn_seq && f->syn_seq != d->tcp_seq)) {
			flow_end(r, f, ts_ns);
			pr_l7_flow_init(&f->st, 6, d->sport, d->dport);
			pr_tcpreasm_flow_init(&f->rs);
			f->id = ++g_next_id;
			f->closed = false;
		}
		f->syn_seq = d->tcp_seq;
	}
	if (d->ip_proto == 6) {
		struct deliver_arg da = { r, f, ts_ns };
		struct pr_tcpreasm_seg seg = {
			.data = data + d->payload_off,
			.len = d->payload_len,
			.seq = d->tcp_seq,
			.ack = d->tcp_ack,
			.dir = dir,
			.tcp_flags = d->tcp_flags,
		};

		if (d->tcp_flags & 0x05)
			f->closed = true;
		pr_tcpreasm_segment(r->tr, &f->rs, &seg, tcp_deliver, &da);
		return;
	}
	memset(&pkt, 0, sizeof(pkt));
	pkt.data = data + d->payload_off;
	pkt.len = d->payload_len;
	if (d->ip_proto != 17) {
		/* ICMP, OSPF, EIGRP: the parsers read their own header too. */
		pkt.data = data + d->l4_off;
		pkt.len = d->payload_off + d->payload_len - d->l4_off;
	}
	pkt.ts_ns = ts_ns;
	pkt.flow_id = f->id;
	pkt.dir = dir;
	feed(r, f, &pkt);
}

/*
 * One frame (or a rebuilt datagram): IP fragments go to dataplane/reasm
 * and the datagram they make comes back here whole; pr_decode() opens the
 * tunnels, so flows see the innermost packet (tshark opens the same ones).
 */
static void frame(struct run *r, uint32_t linktype, const uint8_t *data, uint32_t len,
		  uint64_t ts_ns, int depth)
{
	struct pr_decoded d;

	if (depth > 4)
		return;
	pr_decode(linktype, data, len, &d);
	if (!(d.flags & (PR_DEC_IPV4 | PR_DEC_IPV6)))
		return;
	if (d.flags & PR_DEC_FRAGMENT) {
		const uint8_t *out;
		uint32_t out_len;
		uint8_t *copy;

		if (pr_ipfrag_add(r->frag, data + d.l3_off, len - d.l3_off, ts_ns, &out,
				  &out_len) != PR_IPFRAG_DONE)
			return;
		/* Valid until the next pr_ipfrag_add(), which the inner packet may make. */
		copy = malloc(out_len);
		if (!copy)
			abort();
		memcpy(copy, out, out_len);
		frame(r, PR_LINKTYPE_RAW, copy, out_len, ts_ns, depth + 1);
		free(copy);
		return;
	}
	if (((d.flags & PR_DEC_L4) &&
	     (d.ip_proto == 6 || d.ip_proto == 17 || d.ip_proto == 1 || d.ip_proto == 58)) ||
	    d.ip_proto == 88 || d.ip_proto == 89)
		transport(r, &d, data, ts_ns);
}

/* Decode and feed every packet of a capture. Returns 0 or -1 (unreadable). */
static int run_capture(struct run *r, const char *path)
{
	struct pr_capfile *cf;
	struct pr_capfile_pkt cp;
	int rc;

	if (pr_capfile_open_path(path, &cf))
		return -1;
	while ((rc = pr_capfile_next(cf, &cp)) == 1) {
		const struct pr_capfile_iface *ifc = pr_capfile_iface(cf, cp.iface);

		if (ifc)
			frame(r, ifc->linktype, cp.data, cp.cap_len, cp.ts_ns, 0);
	}
	pr_capfile_close(cf);
	return 0;
}

/* ---- the oracle's side ---- */

/* tshark's own words around a value, left out: "NAME<00> (Workstation/Redirector)". */
static void oracle_add(struct sset *ss, enum field f, const char *v)
{
	char tmp[1024];
	const char *sp;

	if (f == F_NBNS_NAME && (sp = strstr(v, " (")) && (size_t)(sp - v) < sizeof(tmp)) {
		memcpy(tmp, v, (size_t)(sp - v));
		tmp[sp - v] = '\0';
		sset_add(ss, tmp);
		return;
	}
	sset_add(ss, v);
}

static void oracle_sets(const struct jv *root, const char *cap_path, const struct jv *more,
			struct sset *o)
{
	const struct jv *tls = jget(root, "tls"), *ssh = jget(root, "ssh");
	const struct jv *dns = jget(root, "dns"), *http = jget(root, "http");
	const struct jv *smtp = jget(root, "smtp"), *a;
	char path[4096 + 16];
	size_t len;
	char *text;

	if ((a = jget(tls, "client_hellos")) && a->t == J_ARR) {
		for (size_t i = 0; i < a->n; i++) {
			if (jstr(a->v[i], "sni"))
				sset_add(&o[F_TLS_SNI], jstr(a->v[i], "sni"));
			if (jstr(a->v[i], "ja3"))
				sset_add(&o[F_TLS_JA3], jstr(a->v[i], "ja3"));
		}
	}
	if ((a = jget(tls, "server_hellos")) && a->t == J_ARR)
		for (size_t i = 0; i < a->n; i++)
			if (jstr(a->v[i], "ja3s"))
				sset_add(&o[F_TLS_JA3S], jstr(a->v[i], "ja3s"));
	if ((a = jget(tls, "certificates")) && a->t == J_ARR) {
		for (size_t i = 0; i < a->n; i++) {
			const struct jv *fs = jget(a->v[i], "from_server");

			if (fs && fs->t == J_BOOL && fs->b && jstr(a->v[i], "subject"))
				sset_add(&o[F_TLS_CERT], jstr(a->v[i], "subject"));
		}
	}
	if ((a = jget(ssh, "banners")) && a->t == J_ARR)
		for (size_t i = 0; i < a->n; i++)
			if (jstr(a->v[i], "banner"))
				sset_add(&o[F_SSH_BANNER], jstr(a->v[i], "banner"));
	if ((a = jget(ssh, "hassh")) && a->t == J_ARR)
		for (size_t i = 0; i < a->n; i++)
			if (jstr(a->v[i], "hassh"))
				sset_add(&o[F_SSH_HASSH], jstr(a->v[i], "hassh"));
	if ((a = jget(ssh, "hassh_server")) && a->t == J_ARR)
		for (size_t i = 0; i < a->n; i++)
			if (jstr(a->v[i], "hassh_server"))
				sset_add(&o[F_SSH_HASSH_SERVER], jstr(a->v[i], "hassh_server"));
	if ((a = jget(dns, "entries")) && a->t == J_ARR) {
		for (size_t i = 0; i < a->n; i++) {
			const struct jv *nested = jget(a->v[i], "nested");
			const struct jv *q = jget(a->v[i], "questions");

			if ((nested && nested->t == J_BOOL && nested->b) || !q || q->t != J_ARR)
				continue;
			/* We report the first question of a message. */
			if (q->n && jstr(q->v[0], "name"))
				sset_add(&o[F_DNS_QNAME], jstr(q->v[0], "name"));
		}
	}
	if ((a = jget(http, "requests")) && a->t == J_ARR) {
		for (size_t i = 0; i < a->n; i++) {
			static const char *const keys[] = { "method", "host", "uri", "user_agent" };
			static const enum field fs[] = { F_HTTP_METHOD, F_HTTP_HOST, F_HTTP_URI,
							 F_HTTP_UA };

			for (int k = 0; k < 4; k++)
				if (jstr(a->v[i], keys[k]))
					sset_add(&o[fs[k]], jstr(a->v[i], keys[k]));
		}
	}
	if ((a = jget(smtp, "commands")) && a->t == J_ARR) {
		for (size_t i = 0; i < a->n; i++) {
			const char *cmd = jstr(a->v[i], "command"), *line = jstr(a->v[i], "line");

			if (!cmd || !line)
				continue;
			for (size_t k = 0; k < sizeof(smtp_compared) / sizeof(smtp_compared[0]);
			     k++)
				if (!strcasecmp(cmd, smtp_compared[k]))
					sset_add(&o[F_SMTP_CMD], line);
		}
	}

	/* The other protocols: tests/l7/oracle.json's entry for this capture. */
	for (int f = F_FIRST_ORACLE; f < F_COUNT; f++) {
		for (const char *const *k = oracle_keys((enum field)f); *k; k++) {
			const struct jv *vals = jget(more, *k);

			for (size_t i = 0; vals && vals->t == J_ARR && i < vals->n; i++)
				if (vals->v[i]->t == J_STR)
					oracle_add(&o[f], (enum field)f, vals->v[i]->s);
		}
	}

	/* Arkime's expected sessions, <capture without its extension>.test: "ja4" arrays. */
	snprintf(path, sizeof(path), "%s", cap_path);
	if (strrchr(path, '.') && strrchr(path, '.') > strrchr(path, '/'))
		*strrchr(path, '.') = '\0';
	strncat(path, ".test", sizeof(path) - strlen(path) - 1);
	text = read_file(path, &len);
	if (text) {
		struct jp j = { text, text + len, false };
		struct jv *t = jp_value(&j, 0);
		const struct jv *sessions = jget(t, "sessions3");

		for (size_t i = 0; sessions && sessions->t == J_ARR && i < sessions->n; i++) {
			const struct jv *tl = jget(jget(sessions->v[i], "body"), "tls");
			const struct jv *ja4 = jget(tl, "ja4");

			for (size_t k = 0; ja4 && ja4->t == J_ARR && k < ja4->n; k++)
				if (ja4->v[k]->t == J_STR)
					sset_add(&o[F_TLS_JA4_ARKIME], ja4->v[k]->s);
		}
		jv_free(t);
		free(text);
	}
	/* nDPI's expected output: "[JA4: ...]" per flow. */
	snprintf(path, sizeof(path), "%s.out", cap_path);
	text = read_file(path, &len);
	if (text) {
		for (char *p = strstr(text, "[JA4: "); p; p = strstr(p + 1, "[JA4: ")) {
			char v[64];
			size_t k = 0;

			p += 6;
			while (p[k] && p[k] != ']' && k < sizeof(v) - 1) {
				v[k] = p[k];
				k++;
			}
			v[k] = '\0';
			sset_add(&o[F_TLS_JA4_NDPI], v);
		}
		free(text);
	}
}

/* ---- driver ---- */

struct opts {
	bool verbose;
	int bench;
	const char *corpus;
	char **only;
	int n_only;
};

static struct tally tallies[F_COUNT];
/*
 * The issue's own count for the tls..smtp fields: only captures whose
 * expect.json holds facts of the protocol (tallies[] counts every capture
 * where either side has a value, which also catches values we find where
 * tshark has none).
 */
static struct tally issue_tally;

/* tests/l7/oracle.json: tshark's values for the protocols EXPECT.md's oracle leaves out. */
static struct jv *g_oracle;

/* Reassembly tables, shared by every capture (each capture's flows end before the next). */
static struct pr_ipfrag *g_frag;
static struct pr_tcpreasm *g_tr;

/* Per protocol: captures where one of its fields was compared, all equal, or all explained. */
enum proto {
	P_TLS,
	P_SSH,
	P_DNS,
	P_HTTP,
	P_SMTP,
	P_LDAP,
	P_NETBIOS,
	P_SMB,
	P_BGP,
	P_OSPF,
	P_EIGRP,
	P_RIP,
	P_SNMP,
	P_NTP,
	P_NETFLOW,
	P_SFLOW,
	P_DHCP,
	P_KERBEROS,
	P_SIP,
	P_ICMP,
	P_DTLS,
	P_COUNT
};
static const char *const proto_name[P_COUNT] = {
	"tls",	   "ssh",   "dns",  "http",	"smtp", "ldap", "netbios",
	"smb",	   "bgp",   "ospf", "eigrp",	"rip",	"snmp", "ntp",
	"netflow", "sflow", "dhcp", "kerberos", "sip",	"icmp", "dtls",
};
static struct tally proto_tallies[P_COUNT];

static enum proto proto_of(enum field f)
{
	/* The first field of each protocol, in enum order. */
	static const struct {
		enum field first;
		enum proto p;
	} t[] = {
		{ F_TLS_SNI, P_TLS },		{ F_SSH_BANNER, P_SSH },
		{ F_DNS_QNAME, P_DNS },		{ F_HTTP_METHOD, P_HTTP },
		{ F_SMTP_CMD, P_SMTP },		{ F_LDAP_OP, P_LDAP },
		{ F_NBNS_NAME, P_NETBIOS },	{ F_NBSS_CALLED, P_SMB },
		{ F_BGP_TYPE, P_BGP },		{ F_OSPF_MSG, P_OSPF },
		{ F_EIGRP_OPCODE, P_EIGRP },	{ F_RIP_CMD, P_RIP },
		{ F_SNMP_COMMUNITY, P_SNMP },	{ F_NTP_VN, P_NTP },
		{ F_CFLOW_VERSION, P_NETFLOW }, { F_SFLOW_AGENT, P_SFLOW },
		{ F_DHCP_TYPE, P_DHCP },	{ F_KRB_TYPE, P_KERBEROS },
		{ F_SIP_METHOD, P_SIP },	{ F_ICMP_TYPE, P_ICMP },
		{ F_DTLS_SNI, P_DTLS },
	};
	enum proto p = P_TLS;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]) && f >= t[i].first; i++)
		p = t[i].p;
	return p;
}
static unsigned int failures;

static void print_diff(const char *rel, enum field f, const struct sset *o, const struct sset *u,
		       const char *why)
{
	int shown = 0;

	printf("%s %s: %s\n", why ? "EXCEPTED" : "DIFF", rel, field_name[f]);
	if (why)
		printf("    reason: %s\n", why);
	for (size_t i = 0; i < o->n && shown < 6; i++)
		if (!sset_has(u, o->s[i])) {
			printf("    oracle only: %.300s\n", o->s[i]);
			shown++;
		}
	for (size_t i = 0; i < u->n && shown < 12; i++)
		if (!sset_has(o, u->s[i])) {
			printf("    ours only:   %.300s\n", u->s[i]);
			shown++;
		}
}

static bool sset_equal(const struct sset *a, const struct sset *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->s[i], b->s[i]))
			return false;
	return true;
}

static void check_capture(const struct opts *op, const char *json_path, const char *rel,
			  struct pr_l7_ctx *l7)
{
	char cap_path[4096];
	struct sset o[F_COUNT];
	struct pr_l7_stats before, after;
	bool seen[P_COUNT], differ[P_COUNT], unexplained[P_COUNT];
	struct run *r;
	struct jv *root;
	bool any = false;

	snprintf(cap_path, sizeof(cap_path), "%.*s",
		 (int)(strlen(json_path) - strlen(".expect.json")), json_path);
	root = json_load(json_path);
	if (!root) {
		printf("DIFF %s: unreadable oracle\n", rel);
		failures++;
		return;
	}
	/*
	 * Every capture is read: one where tshark has nothing for a field
	 * still counts when we have something (a parser seeing what is not
	 * there).
	 */
	memset(o, 0, sizeof(o));
	oracle_sets(root, cap_path, jget(jget(g_oracle, "captures"), rel), o);
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->l7 = l7;
	r->frag = g_frag;
	r->tr = g_tr;
	r->keep = op->bench > 0;
	pr_l7_ctx_stats(l7, &before);
	if (run_capture(r, cap_path)) {
		const struct jv *pk = jget(root, "packets");

		/* A file cut in its global header: tshark read nothing from it either. */
		if (pk && pk->t == J_NUM && pk->num == 0) {
			if (op->verbose)
				printf("skipped %s: unreadable, and tshark read no packet\n", rel);
			goto out;
		}
		printf("DIFF %s: unreadable capture\n", rel);
		failures++;
		goto out;
	}
	run_flush(r);
	if (op->bench > 0)
		goto out;
	memset(seen, 0, sizeof(seen));
	memset(differ, 0, sizeof(differ));
	memset(unexplained, 0, sizeof(unexplained));
	for (int f = 0; f < F_COUNT; f++) {
		enum proto pt = proto_of((enum field)f);
		const char *why;
		bool held;

		sset_finish(&o[f]);
		sset_finish(&r->ours[f]);
		if (!o[f].n && !r->ours[f].n)
			continue;
		/* JA4 references exist only for some captures: compare only there. */
		if ((f == F_TLS_JA4_ARKIME || f == F_TLS_JA4_NDPI) && !o[f].n)
			continue;
		any = true;
		tallies[f].captures++;
		held = f < F_FIRST_ORACLE && field_gates((enum field)f) &&
		       jget(root, proto_name[pt]);
		if (held)
			issue_tally.captures++;
		if (field_gates((enum field)f))
			seen[pt] = true;
		if (sset_equal(&o[f], &r->ours[f])) {
			tallies[f].equal++;
			if (held)
				issue_tally.equal++;
			continue;
		}
		why = exception_for(rel, (enum field)f);
		if (field_gates((enum field)f))
			differ[pt] = true;
		if (why) {
			tallies[f].excepted++;
		} else if (field_gates((enum field)f)) {
			failures++;
			unexplained[pt] = true;
		}
		if (why || field_gates((enum field)f) || op->verbose)
			print_diff(rel, (enum field)f, &o[f], &r->ours[f], why);
	}
	for (int pt = 0; pt < P_COUNT; pt++) {
		if (!seen[pt])
			continue;
		proto_tallies[pt].captures++;
		if (!differ[pt])
			proto_tallies[pt].equal++;
		else if (!unexplained[pt])
			proto_tallies[pt].excepted++;
	}
	pr_l7_ctx_stats(l7, &after);
	if (op->verbose && any)
		printf("checked %s (%lu payloads; %lu gaps, %lu malformed, %lu undetected, "
		       "%lu certificate errors)\n",
		       rel, (unsigned long)r->payloads, (unsigned long)(after.gaps - before.gaps),
		       (unsigned long)(after.malformed - before.malformed),
		       (unsigned long)(after.undetected - before.undetected),
		       (unsigned long)(after.cert_errors - before.cert_errors));
out:
	jv_free(root);
	pr_ipfrag_expire(g_frag, UINT64_MAX);
	for (int f = 0; f < F_COUNT; f++)
		sset_free(&o[f]);
	if (op->bench > 0) {
		/* Keep the flows for the benchmark: only the sets go. */
		for (int i = 0; i < F_COUNT; i++)
			sset_free(&r->ours[i]);
		return;
	}
	run_free(r);
	free(r);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const struct opts *op, const char *dir, const char *rel, struct pr_l7_ctx *l7,
		 int depth)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d || depth > 3) {
		if (d)
			closedir(d);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (!names)
			abort();
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_cstr);
	for (size_t i = 0; i < n; i++) {
		char path[4096], sub[4096];
		struct stat sb;
		size_t nl = strlen(names[i]);
		bool selected = !op->n_only;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", names[i]);
		if (stat(path, &sb)) {
			free(names[i]);
			continue;
		}
		if (S_ISDIR(sb.st_mode)) {
			walk(op, path, sub, l7, depth + 1);
		} else if (nl > 12 && !strcmp(names[i] + nl - 12, ".expect.json")) {
			for (int k = 0; k < op->n_only; k++)
				if (strstr(sub, op->only[k]))
					selected = true;
			if (selected) {
				sub[strlen(sub) - 12] = '\0';
				check_capture(op, path, sub, l7);
			}
		}
		free(names[i]);
	}
	free(names);
}

/* CPU time of this thread: the machine is shared, wall time says more about the neighbours. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void noop_emit(void *arg, const struct pr_l7_txn *t)
{
	(*(uint64_t *)arg)++;
	(void)t;
}

/* One pass over every kept payload, each flow parsed from its first byte again. */
static double bench_round(struct pr_l7_ctx *l7, uint32_t round, uint64_t *txns)
{
	double t0 = now_s();

	for (size_t i = 0; i < bench_n; i++) {
		struct flow *f = bench_pkts[i].flow;

		if (f->syn_seq != round) {
			pr_l7_flow_end(l7, &f->st);
			pr_l7_flow_init(&f->st, f->key[1], f->cport, f->sport);
			f->syn_seq = round;
		}
	}
	for (size_t i = 0; i < bench_n; i++)
		pr_l7_process(l7, &bench_pkts[i].flow->st, &bench_pkts[i].pkt, noop_emit, txns);
	return now_s() - t0;
}

/*
 * ns per payload on a fresh context: the first round parses every
 * certificate (cold), the later ones find them in the certificate cache,
 * as a sensor does for the servers it sees again and again.
 */
static void bench(int rounds)
{
	struct pr_l7_cfg cfg = { 0 };
	struct pr_l7_ctx *l7;
	uint64_t txns = 0, bytes = 0;
	double cold, warm = 0;

	if (pr_l7_ctx_create(&cfg, -1, &l7))
		abort();
	for (size_t i = 0; i < bench_n; i++)
		bytes += bench_pkts[i].pkt.len;
	cold = bench_round(l7, 0xffff0000u, &txns);
	for (int k = 1; k < rounds; k++)
		warm += bench_round(l7, (uint32_t)k, &txns);
	printf("bench: %zu payloads (%lu bytes), %lu transactions per round; cold round "
	       "%.1f ns/payload; %d warm rounds %.1f ns/payload, %.2f ns/byte\n",
	       bench_n, (unsigned long)bytes, (unsigned long)(txns / (uint64_t)rounds),
	       cold * 1e9 / (double)bench_n, rounds - 1,
	       rounds > 1 ? warm * 1e9 / ((double)bench_n * (rounds - 1)) : 0.0,
	       rounds > 1 ? warm * 1e9 / ((double)bytes * (rounds - 1)) : 0.0);
	pr_l7_ctx_destroy(l7);
}

int main(int argc, char **argv)
{
	struct opts op = { 0 };
	struct pr_l7_cfg cfg = { 0 };
	struct pr_ipfrag_cfg frag_cfg = { 0 };
	struct pr_tcpreasm_cfg tr_cfg = { 0 };
	struct pr_l7_ctx *l7 = NULL;
	/* [0]: the fields of EXPECT.md's oracle, [1]: those of tests/l7/oracle.json. */
	unsigned int total[2] = { 0 }, equal[2] = { 0 }, excepted[2] = { 0 };
	const char *oracle = PR_L7_ORACLE_DEFAULT;
	struct stat sb;
	int i, err;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v"))
			op.verbose = true;
		else if (!strcmp(argv[i], "--bench") && i + 1 < argc)
			op.bench = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--oracle") && i + 1 < argc)
			oracle = argv[++i];
		else if (!strcmp(argv[i], "--dump"))
			g_dump = true;
		else {
			fprintf(stderr,
				"usage: %s [-v] [--dump] [--bench N] [--oracle FILE] CORPUS_DIR "
				"[SUBSTRING ...]\n",
				argv[0]);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr,
			"usage: %s [-v] [--dump] [--bench N] [--oracle FILE] CORPUS_DIR [SUBSTRING ...]\n",
			argv[0]);
		return 2;
	}
	g_oracle = json_load(oracle);
	if (!g_oracle || !jget(g_oracle, "captures")) {
		fprintf(stderr, "%s: not an oracle file (tests/l7/make_oracle.py writes it)\n",
			oracle);
		return 1;
	}
	op.corpus = argv[i++];
	op.only = argv + i;
	op.n_only = argc - i;
	if (stat(op.corpus, &sb) || !S_ISDIR(sb.st_mode)) {
		printf("skipped: corpus %s not found\n", op.corpus);
		return EXIT_SKIP;
	}
	err = pr_l7_ctx_create(&cfg, -1, &l7);
	if (!err)
		err = pr_ipfrag_create(&frag_cfg, &g_frag);
	if (!err)
		err = pr_tcpreasm_create(&tr_cfg, &g_tr);
	if (err) {
		fprintf(stderr, "creating the l7 and reassembly contexts: %s\n", strerror(-err));
		return 1;
	}
	walk(&op, op.corpus, "", l7, 0);
	if (op.bench > 0) {
		bench(op.bench);
		pr_l7_ctx_destroy(l7);
		pr_ipfrag_destroy(g_frag);
		pr_tcpreasm_destroy(g_tr);
		return 0;
	}
	printf("\n%-18s %9s %7s %9s %8s %14s\n", "field", "captures", "equal", "excepted", "rate",
	       "rate (w/o exc)");
	for (int f = 0; f < F_COUNT; f++) {
		struct tally *t = &tallies[f];

		if (!t->captures)
			continue;
		printf("%-32s %9u %7u %9u %7.1f%% %13.1f%%\n", field_name[f], t->captures, t->equal,
		       t->excepted, 100.0 * t->equal / t->captures,
		       t->captures > t->excepted ? 100.0 * t->equal / (t->captures - t->excepted) :
						   100.0);
		if (field_gates((enum field)f)) {
			int k = f >= F_FIRST_ORACLE;

			total[k] += t->captures;
			equal[k] += t->equal;
			excepted[k] += t->excepted;
		}
	}
	{
		static const char *const label[3] = { "tls..smtp (gating)", "others (gating)",
						      "all (gating)" };

		for (int k = 0; k < 3; k++) {
			unsigned int tt = k < 2 ? total[k] : total[0] + total[1];
			unsigned int eq = k < 2 ? equal[k] : equal[0] + equal[1];
			unsigned int ex = k < 2 ? excepted[k] : excepted[0] + excepted[1];

			printf("%-32s %9u %7u %9u %7.1f%% %13.1f%%\n", label[k], tt, eq, ex,
			       tt ? 100.0 * eq / tt : 100.0,
			       tt > ex ? 100.0 * eq / (tt - ex) : 100.0);
		}
		printf("tls..smtp, counted as issue 8 counts (captures whose expect.json holds the "
		       "protocol): %u of %u equal, %.1f%%\n",
		       issue_tally.equal, issue_tally.captures,
		       issue_tally.captures ? 100.0 * issue_tally.equal / issue_tally.captures :
					      100.0);
	}
	printf("\n%-18s %9s %7s %9s %8s %14s\n", "protocol", "captures", "equal", "excepted",
	       "rate", "rate (w/o exc)");
	for (int pt = 0; pt < P_COUNT; pt++) {
		struct tally *t = &proto_tallies[pt];

		printf("%-32s %9u %7u %9u %7.1f%% %13.1f%%\n", proto_name[pt], t->captures,
		       t->equal, t->excepted, t->captures ? 100.0 * t->equal / t->captures : 100.0,
		       t->captures > t->excepted ? 100.0 * t->equal / (t->captures - t->excepted) :
						   100.0);
	}
	{
		struct pr_l7_stats st;

		pr_l7_ctx_stats(l7, &st);
		printf("l7: %lu payloads, %lu transactions, %lu gaps, %lu depth, %lu malformed, "
		       "%lu oversize, %lu cert errors, %lu undetected\n",
		       (unsigned long)st.packets, (unsigned long)st.txns, (unsigned long)st.gaps,
		       (unsigned long)st.depth_reached, (unsigned long)st.malformed,
		       (unsigned long)st.oversize, (unsigned long)st.cert_errors,
		       (unsigned long)st.undetected);
	}
	{
		struct pr_ipfrag_stats fs;
		struct pr_tcpreasm_stats ts;

		pr_ipfrag_stats(g_frag, &fs);
		pr_tcpreasm_stats(g_tr, &ts);
		printf("reasm: %lu fragments, %lu datagrams rebuilt, %lu dropped, %lu timed out; "
		       "%lu TCP segments held early, %lu retransmitted, %lu gaps (%lu acked)\n",
		       (unsigned long)fs.fragments, (unsigned long)fs.reassembled,
		       (unsigned long)fs.dropped, (unsigned long)fs.timeouts,
		       (unsigned long)ts.held_segments, (unsigned long)ts.retransmits,
		       (unsigned long)ts.gaps, (unsigned long)ts.gaps_acked);
	}
	/* A reason that explains nothing any more must go (only known on a full run). */
	for (size_t k = 0; !op.n_only && exceptions[k].capture; k++) {
		if (!exception_used[k]) {
			printf("STALE exception: %s %s: nothing differs any more\n",
			       exceptions[k].capture,
			       exceptions[k].field == F_COUNT ? "*" :
								field_name[exceptions[k].field]);
			failures++;
		}
	}
	pr_l7_ctx_destroy(l7);
	pr_ipfrag_destroy(g_frag);
	pr_tcpreasm_destroy(g_tr);
	jv_free(g_oracle);
	printf("%s: %u unexplained differences\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
