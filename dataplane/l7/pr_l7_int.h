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

/*
 * A ClientHello or ServerHello body (after the 4-byte handshake header),
 * from TLS records or QUIC CRYPTO frames: one transaction (pr_l7_tls.c).
 */
void l7_tls_client_hello(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			 uint32_t n);
void l7_tls_server_hello(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			 uint32_t n);

#endif /* PR_L7_INT_H */
