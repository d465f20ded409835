/* SPDX-License-Identifier: Apache-2.0 */
/*
 * L7 parsers: the application-layer facts of a flow (TLS hellos and
 * certificates with JA3/JA3S/JA4/JA4S, QUIC Initial hellos, DNS messages,
 * HTTP/1.x requests and responses, SSH banners and HASSH, SMTP commands),
 * read from the first bytes of each direction. One ops table per protocol family (the
 * registry below); a per-core context (struct pr_l7_ctx) that owns the
 * configuration, a pool of reassembly buffers, digest contexts and scratch
 * space; and a fixed-size per-flow state (struct pr_l7_state) that the
 * caller keeps beside its flow table, zeroed or set up by
 * pr_l7_flow_init() when the flow is created.
 *
 * The caller hands each TCP or UDP payload to pr_l7_process() in capture
 * order, with its direction and, for TCP, its sequence number. TCP bytes
 * are put in order per direction with a small bounded scheme: retransmitted
 * bytes are dropped, a gap (lost or out-of-order segment) stops that
 * direction, and a message that spans segments is collected in a buffer
 * borrowed from the core's pool while it is incomplete. Each direction
 * sees at most depth_bytes[app] bytes; skipped message bodies (HTTP) do not
 * count. Every finished transaction (one hello, one certificate, one DNS
 * message, one HTTP request or response, one SSH banner or KEXINIT, one
 * SMTP command) is passed to the caller's emit callback as a struct
 * pr_l7_txn; the consumer merges a flow's transactions into the per-flow
 * view.
 *
 * Per packet: no allocation, no locks, no logging. The exceptions are
 * OpenSSL's d2i_X509() on a leaf certificate the core has not parsed
 * before (at most one per Certificate message; see cert_cache_entries),
 * and its HMAC and AES contexts' own bookkeeping when a QUIC Initial
 * packet is unprotected. Dataplane core only: one context per core, and a
 * state is only used with the context of the core that owns its flow.
 */
#ifndef PR_L7_H
#define PR_L7_H

#include <stdbool.h>
#include <stdint.h>

#include "pr_compiler.h"

/* Direction of a payload, relative to the flow's initiator (the client). */
#define PR_L7_DIR_C2S 0
#define PR_L7_DIR_S2C 1

/* IP protocol numbers the parsers handle. */
#define PR_L7_PROTO_TCP 6
#define PR_L7_PROTO_UDP 17

enum pr_l7_app {
	PR_L7_APP_NONE = 0, /* not detected yet */
	PR_L7_APP_TLS = 1,
	PR_L7_APP_DNS = 2,
	PR_L7_APP_HTTP = 3,
	PR_L7_APP_SSH = 4,
	PR_L7_APP_SMTP = 5,
	PR_L7_APP_QUIC = 6,
	PR_L7_APP_COUNT,
	PR_L7_APP_UNKNOWN = 255, /* detection gave up */
};

/* Defaults of struct pr_l7_cfg (a zero field takes its default). */
#define PR_L7_DEPTH_TLS_DEFAULT 16384u /* handshakes with certificate chains */
#define PR_L7_DEPTH_DNS_DEFAULT 1048576u /* UDP flows carry many independent messages */
#define PR_L7_DEPTH_HTTP_DEFAULT \
	65536u /* header bytes (keep-alive flows); skipped bodies do not count */
#define PR_L7_DEPTH_SSH_DEFAULT 8192u /* banner and KEXINIT */
#define PR_L7_DEPTH_SMTP_DEFAULT 65536u /* commands and the DATA bodies between them */
#define PR_L7_DEPTH_QUIC_DEFAULT 16384u /* Initial datagrams up to both hellos */
#define PR_L7_BUF_BYTES_DEFAULT 16384u
#define PR_L7_BUF_COUNT_DEFAULT 1024u
#define PR_L7_DETECT_PACKETS_DEFAULT 4u
#define PR_L7_CERT_CACHE_DEFAULT 256u

struct pr_l7_cfg {
	/* Window per flow direction, by enum pr_l7_app (index 0 is unused). */
	uint32_t depth_bytes[PR_L7_APP_COUNT];
	uint32_t buf_bytes; /* size of one reassembly buffer: the largest message collected */
	uint32_t buf_count; /* reassembly buffers per core (at most 65535) */
	uint32_t detect_packets; /* payload packets per direction before detection gives up */
	uint32_t app_mask; /* 1u << app for each parser to run; 0 = all */
	/*
	 * Parsed leaf certificates remembered per core, by the SHA-256 of
	 * their DER (a power of two, about 8.5 KiB each): a server sends the
	 * same leaf to every client, and OpenSSL 3 takes ~200 us to parse one.
	 */
	uint32_t cert_cache_entries;
};

/*
 * Per-flow state: the caller keeps one per flow (a side array indexed like
 * its flow entries), never looks inside, and calls pr_l7_flow_init() when
 * the flow starts. Its layout is private to dataplane/l7/.
 */
#define PR_L7_STATE_SIZE 256
struct pr_l7_state {
	uint64_t opaque[PR_L7_STATE_SIZE / 8];
} PR_CACHE_ALIGNED;

/* One payload handed to pr_l7_process(). */
struct pr_l7_pkt {
	const uint8_t *data; /* payload (borrowed for the call) */
	uint32_t len;
	uint32_t seq; /* TCP sequence number of data[0] (or of the SYN) */
	uint64_t ts_ns; /* capture time, copied into emitted transactions */
	uint64_t flow_id; /* copied into emitted transactions */
	uint8_t dir; /* PR_L7_DIR_* */
	uint8_t tcp_flags; /* SYN (0x02) makes seq + 1 the first data byte */
	uint8_t has_seq; /* seq is valid (TCP); without it bytes are taken as in order */
	uint8_t reserved;
};

/* ---- transactions ---- */

enum pr_l7_txn_kind {
	PR_L7_TXN_TLS_CLIENT_HELLO = 1, /* also from a QUIC Initial (app quic) */
	PR_L7_TXN_TLS_SERVER_HELLO = 2,
	PR_L7_TXN_TLS_CERTIFICATE = 3, /* the leaf of a Certificate message */
	PR_L7_TXN_DNS_MESSAGE = 4,
	PR_L7_TXN_HTTP_REQUEST = 5,
	PR_L7_TXN_HTTP_RESPONSE = 6,
	PR_L7_TXN_SSH_BANNER = 7,
	PR_L7_TXN_SSH_KEXINIT = 8,
	PR_L7_TXN_SMTP_BANNER = 9,
	PR_L7_TXN_SMTP_COMMAND = 10,
};

/* Sizes of the fixed buffers (strings include their NUL; longer values are cut). */
#define PR_L7_NAME_MAX 256 /* DNS answer names and data, SNI, Host */
#define PR_L7_DNS_QNAME_MAX 1024 /* a 255-byte name with every byte escaped as \DDD fits */
#define PR_L7_TLS_MAX_CIPHERS 128
#define PR_L7_TLS_MAX_EXTS 64
#define PR_L7_TLS_MAX_GROUPS 32
#define PR_L7_TLS_MAX_SIGALGS 48
#define PR_L7_TLS_MAX_ECPF 8
#define PR_L7_TLS_FP_STRING_MAX 1024 /* ja3_string, ja4_r, ja3s_string */
#define PR_L7_X509_NAME_MAX 2048
#define PR_L7_X509_SANS_MAX 4096
#define PR_L7_DNS_MAX_ANSWERS 16
#define PR_L7_HTTP_URI_MAX 4096
#define PR_L7_HTTP_FIELD_MAX 512
#define PR_L7_SSH_BANNER_MAX 256
#define PR_L7_SSH_HASSH_STRING_MAX 2048
#define PR_L7_SMTP_LINE_MAX 1024

/* pr_l7_tls_client_hello.flags */
#define PR_L7_TLS_CH_SNI 0x01 /* server_name extension present */
#define PR_L7_TLS_CH_ALPN 0x02
#define PR_L7_TLS_CH_SUPPORTED_VERSIONS 0x04
#define PR_L7_TLS_CH_SESSION_TICKET 0x08 /* non-empty session ticket: resumption attempt */
#define PR_L7_TLS_CH_PSK 0x10 /* pre_shared_key extension: TLS 1.3 resumption attempt */
#define PR_L7_TLS_CH_LISTS_CUT 0x20 /* a list had more entries than its array */

struct pr_l7_tls_client_hello {
	uint16_t record_version; /* version of the record that began the hello */
	uint16_t version; /* legacy_version (what JA3 uses) */
	uint16_t max_version; /* highest supported_versions entry (GREASE out), else version */
	uint8_t flags; /* PR_L7_TLS_CH_* */
	uint8_t session_id_len;
	/* Counts as on the wire (GREASE included); the arrays hold the first entries. */
	uint16_t n_ciphers;
	uint16_t n_exts;
	uint16_t n_groups;
	uint16_t n_sigalgs;
	uint16_t n_ecpf;
	uint16_t ciphers[PR_L7_TLS_MAX_CIPHERS];
	uint16_t exts[PR_L7_TLS_MAX_EXTS];
	uint16_t groups[PR_L7_TLS_MAX_GROUPS];
	uint16_t sigalgs[PR_L7_TLS_MAX_SIGALGS];
	uint8_t ecpf[PR_L7_TLS_MAX_ECPF];
	char sni[PR_L7_NAME_MAX];
	char alpn[128]; /* offered protocols, ',' joined */
	char ja3[33]; /* lowercase MD5 hex; "" when MD5 is unavailable */
	char ja4[37];
	char ja3_string[PR_L7_TLS_FP_STRING_MAX]; /* cut when longer; ja3 hashes all of it */
	char ja4_r[PR_L7_TLS_FP_STRING_MAX]; /* JA4 with the raw (sorted) lists, cut when longer */
};

/* pr_l7_tls_server_hello.flags */
#define PR_L7_TLS_SH_HRR 0x01 /* a HelloRetryRequest */
#define PR_L7_TLS_SH_TLS13 0x02 /* TLS 1.3 chosen: the certificate is encrypted, never seen */
#define PR_L7_TLS_SH_ALPN 0x04
#define PR_L7_TLS_SH_SUPPORTED_VERSIONS 0x08

struct pr_l7_tls_server_hello {
	uint16_t version; /* legacy_version */
	uint16_t selected_version; /* supported_versions if present, else version */
	uint16_t cipher;
	uint8_t compression;
	uint8_t flags; /* PR_L7_TLS_SH_* */
	uint8_t session_id_len;
	uint8_t reserved;
	uint16_t n_exts;
	uint16_t exts[PR_L7_TLS_MAX_EXTS];
	char alpn[64]; /* the chosen protocol */
	char ja3s[33];
	char ja4s[32];
	char ja3s_string[PR_L7_TLS_FP_STRING_MAX];
};

/* pr_l7_tls_cert.flags */
#define PR_L7_TLS_CERT_PARSE_ERROR 0x01 /* OpenSSL rejected the DER; only the hashes are set */
#define PR_L7_TLS_CERT_CHAIN_CUT 0x02 /* chain_len counts only the certificates seen */

struct pr_l7_tls_cert {
	uint8_t flags; /* PR_L7_TLS_CERT_* */
	uint8_t chain_len; /* certificates in the message (up to 255) */
	uint16_t reserved;
	uint32_t der_len; /* bytes of the leaf's DER */
	int64_t not_before; /* seconds since the Unix epoch */
	int64_t not_after;
	char not_before_str[24]; /* "2014-10-14T09:20:47Z" */
	char not_after_str[24];
	char sha1[41]; /* lowercase hex of the DER's digest */
	char sha256[65];
	char serial[130]; /* lowercase hex of the serial's content bytes */
	char subject[PR_L7_X509_NAME_MAX]; /* RFC 4514: most specific RDN first, UTF-8 kept */
	char issuer[PR_L7_X509_NAME_MAX];
	char sans[PR_L7_X509_SANS_MAX]; /* DNS names and IP addresses, ',' joined */
};

/* pr_l7_dns.flags */
#define PR_L7_DNS_RESPONSE 0x0001 /* QR */
#define PR_L7_DNS_AA 0x0002
#define PR_L7_DNS_TC 0x0004 /* truncated: the answer continues over TCP */
#define PR_L7_DNS_RD 0x0008
#define PR_L7_DNS_RA 0x0010
#define PR_L7_DNS_EDNS 0x0020 /* an OPT record in the additional section */
#define PR_L7_DNS_DO 0x0040 /* EDNS DNSSEC OK */
#define PR_L7_DNS_TCP 0x0080 /* over TCP (length prefixed) */
#define PR_L7_DNS_MALFORMED 0x0100 /* parsing stopped early; fields so far are valid */

struct pr_l7_dns_answer {
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	char name[PR_L7_NAME_MAX];
	/*
	 * A/AAAA: the address; CNAME/NS/PTR: the name; MX: "pref name"; SRV:
	 * "prio weight port target"; SOA: "mname rname serial refresh retry
	 * expire minimum"; TXT: the strings joined by ' '; others: "" (see
	 * docs/PROTOCOLS.md).
	 */
	char data[PR_L7_NAME_MAX];
};

struct pr_l7_dns {
	uint16_t id;
	uint16_t flags; /* PR_L7_DNS_* */
	uint8_t opcode;
	uint8_t rcode; /* header RCODE (4 bits) */
	uint8_t edns_version;
	uint8_t n_answers; /* entries in answers[] (at most PR_L7_DNS_MAX_ANSWERS) */
	uint16_t qdcount;
	uint16_t ancount;
	uint16_t nscount;
	uint16_t arcount;
	uint16_t qtype; /* of the first question (0 when there is none) */
	uint16_t qclass;
	uint16_t edns_udp_size;
	uint16_t reserved;
	/*
	 * Names: labels joined by '.', the root as "." ("" when absent).
	 * Control bytes and space are written \DDD (decimal, RFC 1035 master
	 * file style, as Wireshark does), '.' and '\' inside a label as \. and
	 * \\; other bytes are copied, so UTF-8 names stay readable.
	 */
	char qname[PR_L7_DNS_QNAME_MAX];
	struct pr_l7_dns_answer answers[PR_L7_DNS_MAX_ANSWERS];
};

/* pr_l7_http.present: which headers the message carried */
#define PR_L7_HTTP_HOST 0x0001
#define PR_L7_HTTP_USER_AGENT 0x0002
#define PR_L7_HTTP_REFERER 0x0004
#define PR_L7_HTTP_CONTENT_TYPE 0x0008
#define PR_L7_HTTP_CONTENT_LENGTH 0x0010
#define PR_L7_HTTP_SERVER 0x0020
#define PR_L7_HTTP_CHUNKED 0x0040 /* Transfer-Encoding: chunked */

struct pr_l7_http {
	uint16_t present; /* PR_L7_HTTP_* */
	uint16_t status; /* responses */
	uint8_t version_major;
	uint8_t version_minor;
	uint16_t reserved;
	uint32_t index; /* 1 for the first request (or response) of the flow, then 2, ... */
	uint32_t reserved2;
	int64_t content_length; /* -1 when absent */
	char method[32]; /* requests */
	char host[PR_L7_NAME_MAX];
	char content_type[128];
	char user_agent[PR_L7_HTTP_FIELD_MAX];
	char referer[PR_L7_HTTP_FIELD_MAX];
	char server[PR_L7_NAME_MAX]; /* responses */
	char uri[PR_L7_HTTP_URI_MAX]; /* requests */
};

struct pr_l7_ssh_banner {
	char banner[PR_L7_SSH_BANNER_MAX]; /* identification string without CR LF */
};

struct pr_l7_ssh_kexinit {
	/* C2S: HASSH (client); S2C: HASSH-server. */
	char hassh[33];
	char hassh_string[PR_L7_SSH_HASSH_STRING_MAX]; /* "kex;enc;mac;cmp", cut when longer */
	char host_key_algorithms[512];
};

struct pr_l7_smtp {
	uint16_t reply_code; /* banner */
	char verb[16]; /* upper-cased command: "EHLO", "MAIL", "RCPT", "STARTTLS", ... */
	/* MAIL/RCPT: the address between < >; HELO/EHLO: the domain; banner: its text. */
	char arg[PR_L7_NAME_MAX];
	char line[PR_L7_SMTP_LINE_MAX]; /* the line without CR LF (AUTH: verb and mechanism only) */
};

struct pr_l7_txn {
	uint64_t flow_id;
	uint64_t ts_ns; /* of the packet that completed the transaction */
	uint8_t app; /* enum pr_l7_app */
	uint8_t kind; /* enum pr_l7_txn_kind */
	uint8_t dir; /* PR_L7_DIR_* of the message */
	uint8_t reserved;
	uint32_t reserved2;
	union {
		struct pr_l7_tls_client_hello tls_ch;
		struct pr_l7_tls_server_hello tls_sh;
		struct pr_l7_tls_cert tls_cert;
		struct pr_l7_dns dns;
		struct pr_l7_http http;
		struct pr_l7_ssh_banner ssh_banner;
		struct pr_l7_ssh_kexinit ssh_kex;
		struct pr_l7_smtp smtp;
	} u;
};

/* Receives each finished transaction; txn is valid only during the call. */
typedef void (*pr_l7_emit_fn)(void *arg, const struct pr_l7_txn *txn);

/* Counters of one context (plain, written by the owning core only). */
struct pr_l7_stats {
	uint64_t packets; /* payloads given to pr_l7_process() */
	uint64_t bytes; /* bytes consumed by parsers */
	uint64_t detected[PR_L7_APP_COUNT]; /* flows detected per app */
	uint64_t undetected; /* flows detection gave up on */
	uint64_t txns; /* transactions emitted */
	uint64_t retransmits; /* TCP segments whose bytes were all seen before */
	uint64_t gaps; /* directions stopped by a TCP sequence gap */
	uint64_t depth_reached; /* directions stopped by their window */
	uint64_t malformed; /* directions a parser stopped on bad input */
	uint64_t oversize; /* messages larger than a buffer (skipped or stopped) */
	uint64_t buf_exhausted; /* directions stopped for want of a buffer */
	uint64_t buf_reclaimed; /* buffers taken back from flows that never ended */
	uint64_t cert_errors; /* certificates OpenSSL could not parse */
	uint64_t cert_cache_hits; /* leaf certificates found already parsed */
	uint64_t undecryptable; /* QUIC Initial packets whose protection did not open */
};

struct pr_l7_ctx;

/*
 * Create a per-core context: copies cfg (zero fields take the defaults
 * above), allocates buf_count * buf_bytes of reassembly buffers on
 * numa_node (a hint; -1: any) and the digest contexts. Returns 0, -EINVAL
 * (a value out of range) or -ENOMEM. Startup only.
 */
int pr_l7_ctx_create(const struct pr_l7_cfg *cfg, int numa_node, struct pr_l7_ctx **out);
void pr_l7_ctx_destroy(struct pr_l7_ctx *ctx); /* NULL is a no-op */

/*
 * Start a flow's state. ip_proto is the flow's IP protocol; the ports are
 * those of its initiator (client) and responder (server). Any flow may be
 * started; those that are neither TCP nor UDP are marked finished at once.
 * Dataplane core only.
 */
void pr_l7_flow_init(struct pr_l7_state *st, uint8_t ip_proto, uint16_t client_port,
		     uint16_t server_port);

/*
 * Parse one payload of a flow (see the file comment). Transactions it
 * finishes go to emit before it returns. Never fails: what it could not
 * parse is counted. Dataplane core only.
 */
void pr_l7_process(struct pr_l7_ctx *ctx, struct pr_l7_state *st, const struct pr_l7_pkt *pkt,
		   pr_l7_emit_fn emit, void *arg);

/* pr_l7_process() over n payloads; st[i] is the state of pkt[i]'s flow. */
void pr_l7_process_burst(struct pr_l7_ctx *ctx, struct pr_l7_state *const *st,
			 const struct pr_l7_pkt *pkt, uint16_t n, pr_l7_emit_fn emit, void *arg);

/*
 * The flow ended (or was evicted): give back its buffers. The state may be
 * reused with pr_l7_flow_init() afterwards. A buffer held by a flow whose
 * end was never reported is taken back when the pool runs dry, so a
 * forgotten call costs memory for a while, never correctness.
 */
void pr_l7_flow_end(struct pr_l7_ctx *ctx, struct pr_l7_state *st);

/* The flow's enum pr_l7_app (PR_L7_APP_NONE until detected). */
uint8_t pr_l7_flow_app(const struct pr_l7_state *st);

/* True when neither direction will be parsed any more: the caller may stop calling. */
bool pr_l7_flow_done(const struct pr_l7_state *st);

void pr_l7_ctx_stats(const struct pr_l7_ctx *ctx, struct pr_l7_stats *out);

/* "tls", "dns", "http", "ssh", "smtp", "quic"; "unknown" otherwise. Any thread. */
const char *pr_l7_app_name(uint8_t app);

/* ---- the registry ---- */

/* pr_l7_ops.l4 */
#define PR_L7_L4_TCP 0x01
#define PR_L7_L4_UDP 0x02

/*
 * One protocol family. detect() looks at a direction's first payload (and
 * the ports) and says whether the flow is this protocol; init() sets up the
 * protocol's part of a state; parse() takes in-order bytes of one direction
 * and returns how many it consumed: whole messages only, so what is left is
 * kept and offered again with the next bytes (UDP: one datagram per call,
 * the return value is ignored). A parser that needs more than a buffer can
 * hold, or sees something it cannot parse, stops the direction itself.
 */
struct pr_l7_ops {
	const char *name;
	uint8_t app_id; /* enum pr_l7_app */
	uint8_t l4; /* PR_L7_L4_* */
	bool (*detect)(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
		       const uint8_t *data, uint32_t len);
	void (*init)(struct pr_l7_state *st);
	uint32_t (*parse)(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t dir,
			  const uint8_t *data, uint32_t len);
};

/* The ops of an app, or NULL. Any thread. */
const struct pr_l7_ops *pr_l7_ops_get(uint8_t app);

#endif /* PR_L7_H */
