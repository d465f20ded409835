/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to dataplane/l7/: the layout behind struct pr_l7_state, the
 * per-core context, and the helpers every protocol file uses (reassembly
 * buffers, stopping a direction, emitting a transaction, digests, bounded
 * strings, big-endian readers). No other module includes this header or
 * touches these fields.
 */
#ifndef PR_L7_INT_H
#define PR_L7_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "pr_compiler.h"
#include "pr_l7.h"

/* l7_dir.flags */
#define DIR_SEQ_VALID 0x01 /* next_seq holds the sequence number of the next new byte */
#define DIR_DONE 0x02 /* nothing more is parsed in this direction */
#define DIR_STREAMBUF 0x04 /* buf holds stream bytes the parser has not consumed yet */

/* Detection waits for this many bytes of a TCP direction before it decides anything. */
#define L7_DETECT_MIN 8

/* One direction of a flow: ordering, window, and the borrowed buffer. */
struct l7_dir {
	uint64_t skip; /* bytes to drop before parsing resumes (message bodies) */
	uint32_t next_seq;
	uint32_t parsed; /* bytes consumed by the parser: the window */
	uint32_t buf_len; /* bytes held in buf */
	uint16_t buf; /* 1 + index of the pool buffer; 0: none (so a zeroed state holds none) */
	uint8_t flags; /* DIR_* */
	uint8_t tries; /* payloads that detection looked at */
	uint8_t pre[L7_DETECT_MIN - 1]; /* first bytes, too few to detect anything yet (TCP) */
	uint8_t pre_len;
};

/* TLS, per direction: record framing and the handshake message being collected. */
struct l7_tls_dir {
	uint32_t hlen; /* body length of the handshake message in progress */
	uint32_t hhave; /* body bytes of it seen so far (buffered or not) */
	uint16_t rleft; /* payload bytes left in the current record */
	uint16_t rec_version; /* of the record the current message began in */
	uint8_t rhdr[5]; /* a record header split across segments */
	uint8_t rhave;
	uint8_t hhdr[4]; /* a handshake header split across records or segments */
	uint8_t hhave_hdr;
	uint8_t rtype; /* content type of the current record */
	uint8_t flags; /* TLS_D_* (pr_l7_tls.c) */
};

struct l7_tls {
	struct l7_tls_dir d[2];
};

struct l7_http {
	uint64_t pend_bits; /* 2 bits per unanswered request, oldest lowest (pr_l7_http.c) */
	uint32_t index[2]; /* requests / responses seen */
	uint8_t pend; /* unanswered requests (at most 32 tracked) */
	uint8_t mode[2]; /* HTTP_M_* (pr_l7_http.c) */
	uint8_t reserved;
};

struct l7_ssh {
	uint8_t state[2]; /* SSH_S_* (pr_l7_ssh.c) */
	uint8_t lines[2]; /* lines before the identification string */
};

struct l7_smtp {
	uint8_t flags; /* SMTP_F_* (pr_l7_smtp.c) */
	uint8_t reserved[3];
};

/* DTLS, per direction: the handshake message being put together from fragments. */
struct l7_dtls {
	uint32_t have[2]; /* bytes of it held in the direction's buffer, in order */
	uint32_t len[2]; /* its length; 0: none in progress */
	uint16_t seq[2]; /* its message_seq */
	uint16_t rec_version[2]; /* of the record that began it */
	uint8_t type[2];
	uint8_t reserved[2];
};

/* BGP: what each side's OPEN said (O_* in pr_l7_bgp.c). */
struct l7_bgp {
	uint8_t open[2];
};

/* LDAP: a StartTLS request waiting for its response (pr_l7_ldap.c). */
struct l7_ldap {
	uint32_t starttls_id;
	uint8_t starttls;
};

/* QUIC: the client's destination connection id (the Initial keys come from it). */
struct l7_quic {
	uint32_t version;
	uint32_t have[2]; /* contiguous CRYPTO bytes held from offset 0, per direction */
	uint8_t dcid_len;
	uint8_t dcid[20];
	uint8_t reserved[3];
};

/*
 * The real layout of struct pr_l7_state. may_alias: the caller's storage
 * is declared as an array of words and only ever accessed through this.
 */
struct l7_flow {
	uint8_t app; /* enum pr_l7_app */
	uint8_t ip_proto;
	uint8_t flags; /* FLOW_* */
	uint8_t reserved;
	uint16_t cport;
	uint16_t sport;
	struct l7_dir dir[2];
	union {
		struct l7_tls tls;
		struct l7_http http;
		struct l7_ssh ssh;
		struct l7_smtp smtp;
		struct l7_quic quic;
		struct l7_bgp bgp;
		struct l7_ldap ldap;
		struct l7_dtls dtls;
	} u;
} __attribute__((may_alias));

/* l7_flow.flags */
#define FLOW_DONE 0x01 /* both directions done, or detection gave up */

PR_STATIC_ASSERT(sizeof(struct l7_flow) <= sizeof(struct pr_l7_state),
		 "l7 flow state fits struct pr_l7_state");

static inline struct l7_flow *l7_flow(struct pr_l7_state *st)
{
	return (struct l7_flow *)st;
}

/* A reassembly buffer of the pool: who holds it. */
struct l7_bufmeta {
	struct l7_flow *owner; /* NULL when free */
	uint16_t next_free; /* 1 + index of the next free buffer; 0 ends the list */
	uint8_t dir;
	uint8_t reserved;
};

/* A parsed leaf certificate, keyed by the SHA-256 of its DER ("" when the slot is empty). */
struct l7_cert_entry {
	struct pr_l7_tls_cert cert; /* chain_len and PR_L7_TLS_CERT_CHAIN_CUT are per message */
};

/*
 * NetFlow v9 / IPFIX templates kept per core, keyed by the flow that
 * carried them (the exporter), the observation domain (source id) and
 * the template id; direct mapped, a newer template takes the slot.
 */
#define L7_NF_TEMPLATES 256
#define L7_NF_FIELDS 64

struct l7_nf_field {
	uint16_t type; /* information element; 0x8000 set when enterprise-specific */
	uint16_t len; /* 65535: variable length (IPFIX) */
};

struct l7_nf_template {
	uint64_t flow_id;
	uint32_t domain;
	uint16_t id;
	uint16_t n_fields;
	uint8_t used;
	uint8_t options; /* an options template: its records are counted, not reported */
	uint8_t reserved[6];
	struct l7_nf_field f[L7_NF_FIELDS];
};

/* Sizes of the scratch areas (fingerprint strings, sorted lists). */
#define L7_SCRATCH_BYTES (64u * 1024u)
#define L7_SORT_ENTRIES 16384u

struct pr_l7_ctx {
	struct pr_l7_cfg cfg;
	uint8_t *buf_mem; /* buf_count buffers of buf_bytes */
	size_t buf_mem_len;
	struct l7_bufmeta *bufmeta;
	uint32_t buf_bytes;
	uint16_t buf_count;
	uint16_t free_head; /* 1 + index of the first free buffer; 0: none */
	uint16_t hand; /* index the reclaim clock looks at next */

	/* The pr_l7_process() call in progress. */
	const struct pr_l7_pkt *pkt;
	pr_l7_emit_fn emit;
	void *emit_arg;
	bool buf_full; /* parse() sees a full buffer: nothing more fits for this message */

	EVP_MD_CTX *md_ctx;
	EVP_MD *md5; /* NULL where MD5 is not available (FIPS): JA3/HASSH stay "" */
	EVP_MD *sha1;
	EVP_MD *sha256;
	BIO *bio; /* memory BIO for X.509 names */
	/* QUIC Initial protection (RFC 9001 5): NULL where unavailable, QUIC then stays opaque. */
	EVP_CIPHER *aes128_ecb;
	EVP_CIPHER *aes128_gcm;
	EVP_CIPHER_CTX *cipher_ctx;
	EVP_MAC *hmac;
	EVP_MAC_CTX *mac_ctx;

	struct l7_nf_template *nf_templates; /* L7_NF_TEMPLATES */
	struct l7_cert_entry *cert_cache; /* direct mapped by the digest's first bits */
	size_t cert_cache_len;
	uint32_t cert_cache_mask;

	struct pr_l7_stats st;
	char *scratch; /* L7_SCRATCH_BYTES */
	uint16_t *sort_a; /* L7_SORT_ENTRIES each */
	uint16_t *sort_b;
	struct pr_l7_txn txn;
};

/* Why a direction stops (which counter, if any, it feeds). */
enum l7_stop {
	L7_STOP_DONE = 0, /* the protocol has nothing more to say */
	L7_STOP_MALFORMED,
	L7_STOP_OVERSIZE,
	L7_STOP_DEPTH,
	L7_STOP_GAP,
	L7_STOP_NOBUF,
};

/* ---- helpers (pr_l7.c) ---- */

/* Stop parsing direction d; gives back its buffer. */
void l7_dir_stop(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, enum l7_stop why);

static inline bool l7_dir_done(const struct l7_flow *fl, uint8_t d)
{
	return fl->dir[d].flags & DIR_DONE;
}

/* Drop the next n bytes of direction d without parsing them. */
static inline void l7_dir_skip(struct l7_flow *fl, uint8_t d, uint64_t n)
{
	fl->dir[d].skip += n;
}

/*
 * The buffer of direction d, borrowed from the pool if it has none (its
 * length is fl->dir[d].buf_len, its size ctx->buf_bytes). NULL when the
 * pool is empty: the direction is then stopped. A parser either returns
 * short and lets pr_l7.c keep the rest (DIR_STREAMBUF), or consumes
 * everything and keeps what it needs in this buffer itself (TLS), never
 * both.
 */
uint8_t *l7_buf_get(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d);
void l7_buf_put(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d);

/*
 * Switch a flow to another protocol from the next byte on (SMTP STARTTLS
 * to TLS): both directions restart with empty buffers and windows.
 */
void l7_flow_switch(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t app);

/* The transaction to fill: header set from the current packet, body not cleared. */
struct pr_l7_txn *l7_txn_begin(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, uint8_t kind);
void l7_txn_emit(struct pr_l7_ctx *ctx);

/* Lowercase hex digests; out gets 2 * digest bytes + NUL. False (out "") on failure. */
bool l7_digest_hex(struct pr_l7_ctx *ctx, const EVP_MD *md, const void *p, size_t n, char *out);

/* Sort n values ascending in place (heapsort: no allocation, O(n log n)). */
void l7_sort_u16(uint16_t *a, size_t n);

/* GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ..., 0xfafa. */
static inline bool l7_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static inline uint16_t l7_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t l7_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t l7_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A bounded string being built: appends past cap are dropped and set cut. */
struct l7_sb {
	char *p;
	size_t cap; /* including the NUL */
	size_t len;
	bool cut;
};

static inline void l7_sb_init(struct l7_sb *sb, char *p, size_t cap)
{
	sb->p = p;
	sb->cap = cap;
	sb->len = 0;
	sb->cut = false;
	if (cap)
		p[0] = '\0';
}

void l7_sb_putn(struct l7_sb *sb, const char *s, size_t n);
void l7_sb_putc(struct l7_sb *sb, char c);
void l7_sb_u32(struct l7_sb *sb, uint32_t v);
void l7_sb_hex16(struct l7_sb *sb, uint16_t v); /* 4 lowercase hex digits */

/*
 * Copy n bytes of text into dst (cap bytes with the NUL), cut to fit;
 * control bytes become '?'. Returns the length written.
 */
size_t l7_copy_text(char *dst, size_t cap, const uint8_t *s, size_t n);

/* Case-insensitive: does s (n bytes) start with the NUL-terminated word? */
bool l7_prefix_ci(const uint8_t *s, size_t n, const char *word);

/* Append p[0..n) as lowercase hex. */
void l7_sb_hex(struct l7_sb *sb, const uint8_t *p, size_t n);

/* Append an address: 4 bytes as IPv4, 16 as IPv6 (inet_ntop forms). */
void l7_sb_addr(struct l7_sb *sb, const uint8_t *p, size_t n);

/* An address as text into dst (PR_L7_ADDR_MAX bytes); "" for another length. */
void l7_addr_text(char *dst, const uint8_t *p, size_t n);

/* Append ',' first unless the string is empty (lists of values). */
static inline void l7_sb_sep(struct l7_sb *sb)
{
	if (sb->len)
		l7_sb_putc(sb, ',');
}

/*
 * A bounded reader: every read checks what is left, and a read past the
 * end sets bad and returns zeros, so a parser checks bad once at the end.
 */
struct l7_rd {
	const uint8_t *p;
	const uint8_t *end;
	bool bad;
};

static inline struct l7_rd l7_rd_make(const uint8_t *p, size_t n)
{
	struct l7_rd r = { p, p + n, false };

	return r;
}

static inline size_t l7_rd_left(const struct l7_rd *r)
{
	return r->bad ? 0 : (size_t)(r->end - r->p);
}

static inline bool l7_rd_need(struct l7_rd *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return false;
	}
	return true;
}

static inline uint8_t l7_rd_u8(struct l7_rd *r)
{
	return l7_rd_need(r, 1) ? *r->p++ : 0;
}

static inline uint16_t l7_rd_u16(struct l7_rd *r)
{
	uint16_t v = 0;

	if (l7_rd_need(r, 2)) {
		v = l7_be16(r->p);
		r->p += 2;
	}
	return v;
}

static inline uint32_t l7_rd_u32(struct l7_rd *r)
{
	uint32_t v = 0;

	if (l7_rd_need(r, 4)) {
		v = l7_be32(r->p);
		r->p += 4;
	}
	return v;
}

/* The next n bytes (NULL when there are fewer), skipped. */
static inline const uint8_t *l7_rd_bytes(struct l7_rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (!l7_rd_need(r, n))
		return NULL;
	r->p += n;
	return p;
}

/* A reader over the next n bytes, which this one skips. */
static inline struct l7_rd l7_rd_sub(struct l7_rd *r, size_t n)
{
	struct l7_rd s = { r->p, r->p, true };

	if (l7_rd_need(r, n)) {
		s.end = r->p + n;
		s.bad = false;
		r->p += n;
	}
	return s;
}

/* Offset of the first '\n' in p[0..n), or -1. */
static inline long l7_find_lf(const uint8_t *p, size_t n)
{
	const uint8_t *q = memchr(p, '\n', n);

	return q ? (long)(q - p) : -1;
}

/* Length of a line without its CR LF (or LF). */
static inline size_t l7_line_len(const uint8_t *p, size_t lf)
{
	return lf && p[lf - 1] == '\r' ? lf - 1 : lf;
}

extern const struct pr_l7_ops pr_l7_tls_ops;
extern const struct pr_l7_ops pr_l7_dns_ops;
extern const struct pr_l7_ops pr_l7_http_ops;
extern const struct pr_l7_ops pr_l7_ssh_ops;
extern const struct pr_l7_ops pr_l7_smtp_ops;
extern const struct pr_l7_ops pr_l7_quic_ops;
extern const struct pr_l7_ops pr_l7_ldap_ops;
extern const struct pr_l7_ops pr_l7_netbios_ops;
extern const struct pr_l7_ops pr_l7_smb_ops;
extern const struct pr_l7_ops pr_l7_bgp_ops;
extern const struct pr_l7_ops pr_l7_ospf_ops;
extern const struct pr_l7_ops pr_l7_eigrp_ops;
extern const struct pr_l7_ops pr_l7_rip_ops;
extern const struct pr_l7_ops pr_l7_snmp_ops;
extern const struct pr_l7_ops pr_l7_ntp_ops;
extern const struct pr_l7_ops pr_l7_netflow_ops;
extern const struct pr_l7_ops pr_l7_sflow_ops;
extern const struct pr_l7_ops pr_l7_dhcp_ops;
extern const struct pr_l7_ops pr_l7_icmp_ops;
extern const struct pr_l7_ops pr_l7_kerberos_ops;
extern const struct pr_l7_ops pr_l7_sip_ops;
extern const struct pr_l7_ops pr_l7_dtls_ops;
extern const struct pr_l7_ops pr_l7_sctp_ops;

/*
 * A NetBIOS name (first-level encoding, then scope labels; compression
 * pointers only backwards) at msg[off]: "NAME<xx>.scope" into dst, as
 * Wireshark writes it. Returns the offset after it as written (after the
 * first pointer), 0 when malformed (pr_l7_netbios.c).
 */
uint32_t l7_netbios_name(const uint8_t *msg, uint32_t len, uint32_t off, char *dst, size_t cap);

/*
 * A ClientHello or ServerHello body (after the 4-byte handshake header),
 * from TLS records or QUIC CRYPTO frames: one transaction (pr_l7_tls.c).
 */
void l7_tls_client_hello(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			 uint32_t n);
void l7_tls_server_hello(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			 uint32_t n);

/*
 * A ClientHello, ServerHello or Certificate body of hlen bytes, have of
 * which are at p (a Certificate may be held only in part); other types
 * are ignored (pr_l7_tls.c, for TLS and DTLS).
 */
void l7_tls_message(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, uint8_t type,
		    const uint8_t *p, uint32_t have, uint32_t hlen);

#endif /* PR_L7_INT_H */
