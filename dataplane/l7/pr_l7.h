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
#define PR_L7_PROTO_ICMP 1
#define PR_L7_PROTO_TCP 6
#define PR_L7_PROTO_UDP 17
#define PR_L7_PROTO_ICMPV6 58
#define PR_L7_PROTO_EIGRP 88
#define PR_L7_PROTO_OSPF 89
#define PR_L7_PROTO_SCTP 132

enum pr_l7_app {
	PR_L7_APP_NONE = 0, /* not detected yet */
	PR_L7_APP_TLS = 1,
	PR_L7_APP_DNS = 2,
	PR_L7_APP_HTTP = 3,
	PR_L7_APP_SSH = 4,
	PR_L7_APP_SMTP = 5,
	PR_L7_APP_QUIC = 6,
	PR_L7_APP_LDAP = 7,
	PR_L7_APP_NETBIOS = 8, /* NBNS and NBDS */
	PR_L7_APP_SMB = 9, /* NBSS and SMB over TCP */
	PR_L7_APP_BGP = 10,
	PR_L7_APP_OSPF = 11,
	PR_L7_APP_EIGRP = 12,
	PR_L7_APP_RIP = 13, /* RIPv1, RIPv2, RIPng */
	PR_L7_APP_SNMP = 14,
	PR_L7_APP_NTP = 15,
	PR_L7_APP_NETFLOW = 16, /* NetFlow v5, v9, IPFIX */
	PR_L7_APP_SFLOW = 17,
	PR_L7_APP_DHCP = 18, /* DHCP and DHCPv6 */
	PR_L7_APP_ICMP = 19, /* ICMP and ICMPv6 */
	PR_L7_APP_KERBEROS = 20,
	PR_L7_APP_SIP = 21,
	PR_L7_APP_DTLS = 22,
	PR_L7_APP_SCTP = 23, /* SCTP's own chunks */
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
#define PR_L7_DEPTH_LDAP_DEFAULT 65536u /* binds, searches and their results */
#define PR_L7_DEPTH_NETBIOS_DEFAULT 16384u
#define PR_L7_DEPTH_SMB_DEFAULT 65536u /* session setup, negotiate, tree connects */
#define PR_L7_DEPTH_BGP_DEFAULT 65536u /* OPENs and the first UPDATEs of a table */
#define PR_L7_DEPTH_ROUTING_DEFAULT 16384u /* OSPF, EIGRP, RIP: the first hellos and updates */
#define PR_L7_DEPTH_SNMP_DEFAULT 65536u
#define PR_L7_DEPTH_NTP_DEFAULT 4096u
#define PR_L7_DEPTH_DHCP_DEFAULT 16384u
#define PR_L7_DEPTH_ICMP_DEFAULT 4096u
#define PR_L7_DEPTH_KERBEROS_DEFAULT 65536u
#define PR_L7_DEPTH_SIP_DEFAULT 65536u
#define PR_L7_DEPTH_DTLS_DEFAULT 32768u /* hellos and a certificate chain in fragments */
#define PR_L7_DEPTH_SCTP_DEFAULT \
	16384u /* set-up, the first DATA chunks, the teardown's first packets */
/* A window of this size has no end: flow exports (NetFlow, sFlow) are read whole. */
#define PR_L7_DEPTH_UNLIMITED 0xffffffffu
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
	/*
	 * TCP and UDP: the payload. Other IP protocols (ICMP, ICMPv6, OSPF,
	 * EIGRP): everything after the IP header(s), the protocol's own header
	 * included. Borrowed for the call.
	 */
	const uint8_t *data;
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
	PR_L7_TXN_TLS_CLIENT_HELLO = 1, /* also from QUIC Initials and DTLS (app quic, dtls) */
	PR_L7_TXN_TLS_SERVER_HELLO = 2,
	PR_L7_TXN_TLS_CERTIFICATE = 3, /* the leaf of a Certificate message */
	PR_L7_TXN_DNS_MESSAGE = 4,
	PR_L7_TXN_HTTP_REQUEST = 5,
	PR_L7_TXN_HTTP_RESPONSE = 6,
	PR_L7_TXN_SSH_BANNER = 7,
	PR_L7_TXN_SSH_KEXINIT = 8,
	PR_L7_TXN_SMTP_BANNER = 9,
	PR_L7_TXN_SMTP_COMMAND = 10,
	PR_L7_TXN_LDAP_MESSAGE = 11,
	PR_L7_TXN_NBNS = 12,
	PR_L7_TXN_NBDS = 13,
	PR_L7_TXN_SMB = 14, /* an NBSS session packet or an SMB message worth reporting */
	PR_L7_TXN_BGP = 15,
	PR_L7_TXN_OSPF = 16,
	PR_L7_TXN_EIGRP = 17,
	PR_L7_TXN_RIP = 18,
	PR_L7_TXN_SNMP = 19,
	PR_L7_TXN_NTP = 20,
	PR_L7_TXN_NETFLOW_EXPORT = 21, /* one export packet */
	PR_L7_TXN_NETFLOW_RECORD = 22, /* one flow record inside it */
	PR_L7_TXN_SFLOW = 23,
	PR_L7_TXN_DHCP = 24,
	PR_L7_TXN_ICMP = 25,
	PR_L7_TXN_KERBEROS = 26,
	PR_L7_TXN_SIP = 27,
	PR_L7_TXN_SCTP = 28, /* one SCTP packet's chunks */
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

/* Text of an IPv4 or IPv6 address, with its NUL. */
#define PR_L7_ADDR_MAX 46

/* pr_l7_ldap.flags */
#define PR_L7_LDAP_UDP 0x01 /* connectionless LDAP (CLDAP) */
#define PR_L7_LDAP_TRUNCATED 0x02 /* the message broke off; fields so far are valid */

struct pr_l7_ldap {
	uint32_t msg_id;
	uint8_t op; /* protocolOp: the [APPLICATION n] tag, 0 bindRequest .. 25 intermediateResponse */
	uint8_t result; /* resultCode of a response (0 success, 49 invalidCredentials, ...) */
	uint8_t scope; /* searchRequest: 0 base, 1 one level, 2 subtree */
	uint8_t flags; /* PR_L7_LDAP_* */
	uint8_t version; /* bindRequest */
	uint8_t auth; /* bindRequest: 0 simple, 3 SASL (the password is never copied) */
	uint16_t n_attrs; /* searchRequest attributes, addRequest/searchResultEntry attributes */
	/*
	 * The DN the operation names: bindRequest name, searchRequest
	 * baseObject, modify/add/delete/modifyDN/compare entry,
	 * searchResultEntry objectName; extendedRequest: its OID.
	 */
	char name[PR_L7_NAME_MAX];
	char filter[512]; /* searchRequest filter in RFC 4515 text, cut when longer */
	char mechanism[64]; /* SASL mechanism */
	char diag[256]; /* diagnosticMessage of a response */
	char matched[PR_L7_NAME_MAX]; /* matchedDN of a response */
};

/* pr_l7_nbns.flags */
#define PR_L7_NBNS_RESPONSE 0x01
#define PR_L7_NBNS_AA 0x02
#define PR_L7_NBNS_TC 0x04
#define PR_L7_NBNS_RD 0x08
#define PR_L7_NBNS_RA 0x10
#define PR_L7_NBNS_BROADCAST 0x20
#define PR_L7_NBNS_MALFORMED 0x40

struct pr_l7_nbns {
	uint16_t id;
	uint8_t opcode; /* 0 query, 5 registration, 6 release, 7 WACK, 8/9 refresh */
	uint8_t rcode;
	uint8_t flags; /* PR_L7_NBNS_* */
	uint8_t n_names; /* NBSTAT answer: names in the node's table */
	uint16_t qtype; /* 0x20 NB, 0x21 NBSTAT (question, else first answer) */
	uint16_t qdcount, ancount, nscount, arcount;
	uint32_t ttl; /* first answer */
	/* NetBIOS name as tshark writes it: "NAME<1d>", then ".scope" if any. */
	char name[PR_L7_NAME_MAX];
	char addrs[256]; /* NB answers or registrations: their IPv4 addresses, ',' joined */
	char names[512]; /* NBSTAT answer: "NAME<20>,..." */
};

struct pr_l7_nbds {
	uint8_t msg_type; /* 0x10 direct unique, 0x11 direct group, 0x12 broadcast, 0x13-0x16 */
	uint8_t flags; /* the header's flags byte (node type, first, more) */
	uint16_t dgm_id;
	uint16_t src_port;
	uint8_t error; /* 0x13 error datagram */
	uint8_t reserved;
	char src_ip[16];
	char src_name[PR_L7_NAME_MAX];
	char dst_name[PR_L7_NAME_MAX];
	char mailslot[128]; /* SMB transaction name ("\\MAILSLOT\\BROWSE") when there is one */
};

/* pr_l7_smb.flags */
#define PR_L7_SMB_RESPONSE 0x01
#define PR_L7_SMB_ENCRYPTED 0x02 /* an SMB3 transform header: nothing more is readable */

struct pr_l7_smb {
	uint8_t version; /* 0: an NBSS packet alone, 1: SMB1, 2: SMB2/3 */
	uint8_t nbss_type; /* 0x00 session message, 0x81 request, 0x82/0x83 answers, 0x85 keepalive */
	uint8_t flags; /* PR_L7_SMB_* */
	uint8_t reserved;
	uint16_t command; /* SMB1 command byte or SMB2 command */
	uint16_t dialect; /* negotiate response: SMB2 dialect (0x0311), SMB1 dialect index */
	uint32_t status; /* NTSTATUS */
	uint16_t n_dialects; /* negotiate request: dialects offered */
	uint16_t reserved2;
	/* Negotiate request: SMB1 dialect strings or SMB2 dialects as 4 hex digits, ',' joined. */
	char dialects[256];
	char called[64]; /* NBSS session request: called and calling NetBIOS names */
	char calling[64];
	char path[PR_L7_NAME_MAX]; /* tree connect: the share ("\\\\server\\share") */
};

/* pr_l7_bgp.flags */
#define PR_L7_BGP_AS4 0x01 /* AS numbers read as 4 bytes (both OPENs had the capability) */
#define PR_L7_BGP_ADD_PATH 0x02 /* NLRI carry path identifiers */
#define PR_L7_BGP_LISTS_CUT 0x04 /* prefixes or the AS path did not fit */

struct pr_l7_bgp {
	uint8_t type; /* 1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH */
	uint8_t version; /* OPEN */
	uint16_t hold_time; /* OPEN */
	uint32_t my_as; /* OPEN: the 4-byte AS capability's value when present, else the 2-byte field */
	uint8_t err_code; /* NOTIFICATION */
	uint8_t err_subcode;
	uint8_t flags; /* PR_L7_BGP_* */
	uint8_t safi; /* MP_REACH/MP_UNREACH or ROUTE-REFRESH */
	uint16_t afi;
	uint16_t length;
	uint32_t n_announced; /* prefixes in NLRI and MP_REACH_NLRI */
	uint32_t n_withdrawn; /* prefixes in withdrawn routes and MP_UNREACH_NLRI */
	char router_id[16]; /* OPEN: BGP identifier */
	char caps[128]; /* OPEN: capability codes, ',' joined */
	char as_path[256]; /* "65001 65002 {3 4}"; AS_SET in braces */
	char next_hop[PR_L7_ADDR_MAX];
	char announced[512]; /* "10.0.0.0/8,2001:db8::/32": the first prefixes */
	char withdrawn[512];
};

struct pr_l7_ospf {
	uint8_t version; /* 2 or 3 */
	uint8_t type; /* 1 hello, 2 DB description, 3 LS request, 4 LS update, 5 LS ack */
	uint16_t length;
	uint16_t auth_type; /* OSPFv2: 0 none, 1 simple, 2 cryptographic */
	uint8_t priority; /* hello */
	uint8_t instance; /* OSPFv3 instance id */
	uint16_t hello_interval;
	uint16_t n_neighbors; /* hello */
	uint32_t dead_interval;
	uint32_t n_lsas; /* LSAs or LSA headers in DBD, LSR, LSU, LSAck */
	uint32_t lsa_types; /* bit t: LSA type t (OSPFv3: its function code) seen, t < 32 */
	char router_id[16];
	char area_id[16];
	char mask[16]; /* OSPFv2 hello */
	char dr[16]; /* hello: designated and backup designated router */
	char bdr[16];
};

struct pr_l7_eigrp {
	uint8_t version;
	uint8_t opcode; /* 1 update, 3 query, 4 reply, 5 hello, 10 SIA query, 11 SIA reply */
	uint16_t as;
	uint32_t flags; /* header flags: 1 init, 2 conditional receive, 4 restart, 8 end of table */
	uint32_t seq;
	uint32_t ack;
	uint16_t hold_time; /* parameter TLV */
	uint16_t n_routes; /* internal and external route TLVs */
	uint8_t k[5]; /* K1..K5 of the parameter TLV */
	uint8_t reserved[3];
	char sw_version[32]; /* software version TLV: "IOS 12.4, EIGRP 1.2" */
	char routes[512]; /* "10.1.0.0/16,...": the first destinations */
};

struct pr_l7_rip {
	uint8_t version; /* 1, 2; RIPng: 1 with ng set */
	uint8_t ng; /* RIPng (IPv6) */
	uint8_t command; /* 1 request, 2 response */
	uint8_t reserved;
	uint16_t auth_type; /* RIPv2: 2 simple password (never copied), 3 keyed message digest */
	uint16_t n_routes;
	char routes[1024]; /* "10.0.0.0/8 metric 1,...": the first entries */
};

/* pr_l7_snmp.pdu_type: the PDU's context tag; PR_L7_SNMP_PDU_ENCRYPTED for v3 privacy. */
#define PR_L7_SNMP_PDU_ENCRYPTED 255

struct pr_l7_snmp {
	uint8_t version; /* as on the wire: 0 v1, 1 v2c, 3 v3 */
	uint8_t pdu_type; /* 0 get, 1 getnext, 2 response, 3 set, 4 trap (v1), 5 getbulk, 6 inform, 7 trap v2, 8 report */
	uint8_t msg_flags; /* v3: 1 auth, 2 priv, 4 reportable */
	uint8_t truncated; /* the message broke off; fields so far are valid */
	int32_t request_id;
	int32_t error_status; /* getbulk: non-repeaters */
	int32_t error_index; /* getbulk: max-repetitions */
	int32_t generic_trap; /* v1 trap */
	int32_t specific_trap;
	uint16_t n_varbinds;
	uint16_t reserved;
	char community[128]; /* v1, v2c */
	char user[64]; /* v3 USM user name */
	char engine_id[68]; /* v3 authoritative engine id, hex */
	char enterprise[128]; /* v1 trap: enterprise OID */
	char oids[1024]; /* variable binding names, dotted, ',' joined: the first ones */
};

/* pr_l7_ntp.flags */
#define PR_L7_NTP_RESPONSE 0x01 /* mode 6/7: the R bit */
#define PR_L7_NTP_ERROR 0x02 /* mode 6: the E bit */
#define PR_L7_NTP_MORE 0x04 /* mode 6/7: the M bit */

struct pr_l7_ntp {
	uint8_t version;
	uint8_t mode; /* 1 symmetric active .. 4 server, 5 broadcast, 6 control, 7 private */
	uint8_t leap;
	uint8_t stratum;
	int8_t poll;
	int8_t precision;
	uint8_t flags; /* PR_L7_NTP_* */
	uint8_t opcode; /* mode 6: control opcode; mode 7: request code */
	uint16_t sequence; /* mode 6 */
	uint16_t assoc_id; /* mode 6 */
	uint32_t root_delay; /* 16.16 seconds */
	uint32_t root_dispersion;
	uint64_t ref_ts; /* NTP timestamps (32.32 seconds since 1900) */
	uint64_t org_ts;
	uint64_t rec_ts;
	uint64_t xmt_ts;
	/* Stratum 0 (kiss code) and 1: the four characters ("GPS", "RATE"); else an IPv4 address (v3/v4 over IPv4) or hex. */
	char refid[PR_L7_ADDR_MAX];
};

struct pr_l7_netflow {
	uint16_t version; /* 5, 9, 10 (IPFIX) */
	uint16_t count; /* header count: records (v5), records and templates (v9) */
	uint32_t sys_uptime_ms; /* v5, v9 */
	uint32_t unix_secs; /* export time */
	uint32_t sequence;
	uint32_t source_id; /* v9 source id, IPFIX observation domain, v5 engine type << 8 | id */
	uint16_t sampling; /* v5 sampling interval field */
	uint16_t n_sets; /* flowsets / sets */
	uint16_t n_templates; /* template records read (and kept) */
	uint16_t n_records; /* data records decoded into PR_L7_TXN_NETFLOW_RECORD */
	uint16_t n_unknown; /* data records whose template is not known yet */
	uint16_t n_options; /* options template and options data records */
	uint32_t length; /* bytes of the export packet */
};

struct pr_l7_netflow_record {
	uint16_t version;
	uint16_t template_id; /* 0 for v5 */
	uint8_t proto;
	uint8_t tcp_flags;
	uint8_t src_mask;
	uint8_t dst_mask;
	uint16_t sport;
	uint16_t dport;
	uint32_t in_if;
	uint32_t out_if;
	uint64_t packets;
	uint64_t bytes;
	uint64_t first; /* as exported: ms of uptime (v5/v9) or ms since the epoch (IPFIX) */
	uint64_t last;
	char src[PR_L7_ADDR_MAX];
	char dst[PR_L7_ADDR_MAX];
	char next_hop[PR_L7_ADDR_MAX];
};

struct pr_l7_sflow {
	uint32_t version;
	uint32_t sub_agent;
	uint32_t sequence;
	uint32_t uptime_ms;
	uint32_t n_samples; /* the header's count */
	uint32_t n_flow; /* flow samples (compact and expanded) read */
	uint32_t n_counter; /* counter samples (compact and expanded) read */
	uint32_t sampling_rate; /* of the first flow sample */
	char agent[PR_L7_ADDR_MAX];
};

struct pr_l7_dhcp {
	uint8_t version; /* 4: DHCP, 6: DHCPv6 */
	uint8_t msg_type; /* option 53 (1 DISCOVER .. 8 INFORM) or the DHCPv6 message type */
	uint8_t op; /* BOOTP op: 1 request, 2 reply */
	uint8_t hops;
	uint32_t xid; /* DHCPv6: 24 bits */
	uint32_t lease_time; /* option 51, or the first IA address's valid lifetime */
	char client_mac[18]; /* chaddr of an Ethernet client */
	char ciaddr[16];
	char yiaddr[PR_L7_ADDR_MAX]; /* the address assigned (DHCPv6: the first IA address) */
	char server_id[PR_L7_ADDR_MAX]; /* option 54 (DHCPv6: the server DUID in hex) */
	char requested_ip[16]; /* option 50 */
	char relay[PR_L7_ADDR_MAX]; /* giaddr, or the DHCPv6 relay's link address */
	char hostname[PR_L7_NAME_MAX]; /* option 12 */
	char fqdn[PR_L7_NAME_MAX]; /* option 81 / DHCPv6 option 39 */
	char vendor_class[128]; /* option 60 / DHCPv6 option 16 */
	char client_id[130]; /* option 61 / DHCPv6 client DUID, hex */
	char params[256]; /* option 55 / DHCPv6 option request: codes, ',' joined */
};

/* pr_l7_icmp.flags */
#define PR_L7_ICMP_QUOTED 0x01 /* an error that quotes a packet: the q_ fields hold its flow */
#define PR_L7_ICMP_QUOTED_PORTS 0x02 /* ... and its ports were in the quote */
#define PR_L7_ICMP_ND_ROUTER 0x04 /* NA R flag */
#define PR_L7_ICMP_ND_SOLICITED 0x08 /* NA S flag */
#define PR_L7_ICMP_ND_OVERRIDE 0x10 /* NA O flag */

struct pr_l7_icmp {
	uint8_t version; /* 4 or 6 */
	uint8_t type;
	uint8_t code;
	uint8_t flags; /* PR_L7_ICMP_* */
	uint16_t id; /* echo, timestamp, extended echo */
	uint16_t seq;
	uint32_t value; /* packet too big / fragmentation needed: MTU; parameter problem: pointer */
	uint8_t q_proto; /* quoted packet: IP protocol, addresses and ports */
	uint8_t ra_hop_limit; /* router advertisement */
	uint8_t ra_flags; /* M 0x80, O 0x40, ... */
	uint8_t reserved;
	uint16_t q_sport;
	uint16_t q_dport;
	uint16_t ra_lifetime;
	uint16_t reserved2;
	uint32_t ra_reachable;
	uint32_t ra_retrans;
	uint32_t mtu; /* MTU option */
	char q_src[PR_L7_ADDR_MAX];
	char q_dst[PR_L7_ADDR_MAX];
	char target[PR_L7_ADDR_MAX]; /* NS/NA/redirect target; ICMPv4 redirect gateway */
	char lladdr[18]; /* source or target link-layer address option */
	char prefixes[256]; /* RA prefix information: "2001:db8::/64,..." */
	char rdnss[256]; /* RA recursive DNS servers */
};

struct pr_l7_kerberos {
	uint8_t msg_type; /* 10 AS-REQ, 11 AS-REP, 12 TGS-REQ, 13 TGS-REP, 14 AP-REQ, 15 AP-REP, 30 KRB-ERROR */
	uint8_t pvno;
	uint8_t truncated; /* the message broke off; fields so far are valid */
	uint8_t reserved;
	int32_t error_code; /* KRB-ERROR (25 preauth required, 6 unknown client, ...) */
	int32_t enc_etype; /* KDC-REP enc-part or the ticket's: the encryption type used */
	char realm[128]; /* the request's realm, the reply's crealm, the error's realm */
	char cname[PR_L7_NAME_MAX]; /* client principal: components joined by '/' */
	char sname[PR_L7_NAME_MAX]; /* service principal ("krbtgt/EXAMPLE.COM") */
	char etypes[128]; /* KDC-REQ: encryption types offered, ',' joined */
	char e_text[128]; /* KRB-ERROR text */
};

struct pr_l7_sip {
	uint16_t status; /* responses */
	uint16_t reserved;
	uint32_t cseq;
	char method[32]; /* requests */
	char cseq_method[32];
	char uri[PR_L7_NAME_MAX]; /* request URI */
	char from[PR_L7_NAME_MAX]; /* the address in From (the URI between < >, else the value) */
	char to[PR_L7_NAME_MAX];
	char call_id[PR_L7_NAME_MAX];
	char user_agent[PR_L7_NAME_MAX]; /* User-Agent, or Server of a response */
	char via[PR_L7_NAME_MAX]; /* the first Via */
	char content_type[64];
};

/* pr_l7_sctp.flags */
#define PR_L7_SCTP_MALFORMED 0x01 /* a chunk length ran past the packet: the walk stopped */
#define PR_L7_SCTP_LISTS_CUT 0x02 /* chunks or ppids did not fit */

struct pr_l7_sctp {
	uint32_t vtag; /* the common header's verification tag */
	uint16_t n_chunks;
	uint16_t n_data; /* DATA and I-DATA chunks */
	uint32_t data_bytes; /* their user data bytes */
	uint32_t initiate_tag; /* INIT, INIT ACK */
	uint32_t a_rwnd;
	uint32_t initial_tsn;
	uint16_t out_streams;
	uint16_t in_streams;
	uint16_t cause; /* ABORT, ERROR: the first error cause code */
	uint8_t flags; /* PR_L7_SCTP_* */
	uint8_t reserved;
	char chunks[160]; /* chunk type names in order, ',' joined: "INIT", "DATA,SACK", "TYPE_77" */
	char ppids[96]; /* DATA payload protocol identifiers, decimal, ',' joined, once each */
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
		struct pr_l7_ldap ldap;
		struct pr_l7_nbns nbns;
		struct pr_l7_nbds nbds;
		struct pr_l7_smb smb;
		struct pr_l7_bgp bgp;
		struct pr_l7_ospf ospf;
		struct pr_l7_eigrp eigrp;
		struct pr_l7_rip rip;
		struct pr_l7_snmp snmp;
		struct pr_l7_ntp ntp;
		struct pr_l7_netflow netflow;
		struct pr_l7_netflow_record nf_record;
		struct pr_l7_sflow sflow;
		struct pr_l7_dhcp dhcp;
		struct pr_l7_icmp icmp;
		struct pr_l7_kerberos krb;
		struct pr_l7_sip sip;
		struct pr_l7_sctp sctp;
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
	uint64_t resyncs; /* gaps a parser got over: the bytes after them started a message */
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
 * those of its initiator (client) and responder (server) (0 for protocols
 * without ports). Any flow may be started; those whose protocol no parser
 * reads (TCP, UDP, ICMP, ICMPv6, OSPF, EIGRP do) are marked finished at
 * once. Dataplane core only.
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
#define PR_L7_L4_IP 0x04 /* another IP protocol (ICMP, OSPF, EIGRP): detect() checks which */

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
	/*
	 * Optional (TCP): after a gap, do these bytes start a message? If so
	 * the parser has reset its state of that direction and parsing goes
	 * on from them; without it (or when it says no) a gap stops the
	 * direction.
	 */
	bool (*resync)(struct pr_l7_state *st, uint8_t dir, const uint8_t *data, uint32_t len);
};

/* The ops of an app, or NULL. Any thread. */
const struct pr_l7_ops *pr_l7_ops_get(uint8_t app);

#endif /* PR_L7_H */
