// SPDX-License-Identifier: Apache-2.0
/*
 * The L7 framework: the registry of protocol parsers, the per-core context
 * (configuration, reassembly buffer pool, certificate cache, digest
 * contexts, scratch), and the path of one payload: TCP ordering (drop what
 * was seen, stop at a gap), detection by content and ports, the window per
 * direction, and the stream feed that keeps a message's bytes in a
 * borrowed buffer until the parser can consume it whole. Only the core
 * that created a context calls it; nothing locks. The context owns the
 * buffers and lends them to flow directions; a direction gives its buffer
 * back as soon as it holds nothing, when it stops, and when the flow ends.
 */
#define PR_LOG_MODULE "l7"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/bio.h>
#include <openssl/evp.h>

#include "pr_assert.h"
#include "pr_log.h"
#include "pr_l7_int.h"

#define TH_SYN 0x02

/* Limits that keep buffer indexes in 16 bits and sizes sane. */
#define BUF_BYTES_MIN 512u
#define BUF_BYTES_MAX (1u << 20)
#define BUF_COUNT_MAX 65535u
#define DETECT_PACKETS_MAX 64u
#define CERT_CACHE_MAX 65536u
/* Entries the reclaim clock looks at for an abandoned buffer before it takes a live one. */
#define RECLAIM_SCAN 64u

static const struct pr_l7_ops *const registry[PR_L7_APP_COUNT] = {
	[PR_L7_APP_TLS] = &pr_l7_tls_ops,     [PR_L7_APP_DNS] = &pr_l7_dns_ops,
	[PR_L7_APP_HTTP] = &pr_l7_http_ops,   [PR_L7_APP_SSH] = &pr_l7_ssh_ops,
	[PR_L7_APP_SMTP] = &pr_l7_smtp_ops,   [PR_L7_APP_QUIC] = &pr_l7_quic_ops,
	[PR_L7_APP_LDAP] = &pr_l7_ldap_ops,   [PR_L7_APP_NETBIOS] = &pr_l7_netbios_ops,
	[PR_L7_APP_SMB] = &pr_l7_smb_ops,     [PR_L7_APP_BGP] = &pr_l7_bgp_ops,
	[PR_L7_APP_OSPF] = &pr_l7_ospf_ops,   [PR_L7_APP_EIGRP] = &pr_l7_eigrp_ops,
	[PR_L7_APP_RIP] = &pr_l7_rip_ops,     [PR_L7_APP_SNMP] = &pr_l7_snmp_ops,
	[PR_L7_APP_NTP] = &pr_l7_ntp_ops,     [PR_L7_APP_NETFLOW] = &pr_l7_netflow_ops,
	[PR_L7_APP_SFLOW] = &pr_l7_sflow_ops, [PR_L7_APP_DHCP] = &pr_l7_dhcp_ops,
	[PR_L7_APP_ICMP] = &pr_l7_icmp_ops,   [PR_L7_APP_KERBEROS] = &pr_l7_kerberos_ops,
	[PR_L7_APP_SIP] = &pr_l7_sip_ops,     [PR_L7_APP_DTLS] = &pr_l7_dtls_ops,
	[PR_L7_APP_SCTP] = &pr_l7_sctp_ops,
};

/*
 * Detection order: the checks that need the most specific bytes first, so
 * that a port hint of a later protocol never hides a clear content match.
 */
static const uint8_t detect_order[] = {
	/* Content alone is enough. */
	PR_L7_APP_TLS,
	PR_L7_APP_SSH,
	PR_L7_APP_QUIC,
	PR_L7_APP_DTLS,
	PR_L7_APP_SIP, /* before HTTP: NOTIFY and SUBSCRIBE are methods of both */
	PR_L7_APP_HTTP,
	PR_L7_APP_SMTP,
	/* A port and a plausible header. */
	PR_L7_APP_DNS,
	PR_L7_APP_LDAP,
	PR_L7_APP_KERBEROS,
	PR_L7_APP_SMB,
	PR_L7_APP_NETBIOS,
	PR_L7_APP_BGP,
	PR_L7_APP_SNMP,
	PR_L7_APP_NTP,
	PR_L7_APP_DHCP,
	PR_L7_APP_RIP,
	PR_L7_APP_SFLOW,
	PR_L7_APP_NETFLOW,
	/* IP protocols. */
	PR_L7_APP_OSPF,
	PR_L7_APP_EIGRP,
	PR_L7_APP_ICMP,
	PR_L7_APP_SCTP,
};

static const uint32_t depth_default[PR_L7_APP_COUNT] = {
	[PR_L7_APP_TLS] = PR_L7_DEPTH_TLS_DEFAULT,
	[PR_L7_APP_DNS] = PR_L7_DEPTH_DNS_DEFAULT,
	[PR_L7_APP_HTTP] = PR_L7_DEPTH_HTTP_DEFAULT,
	[PR_L7_APP_SSH] = PR_L7_DEPTH_SSH_DEFAULT,
	[PR_L7_APP_SMTP] = PR_L7_DEPTH_SMTP_DEFAULT,
	[PR_L7_APP_QUIC] = PR_L7_DEPTH_QUIC_DEFAULT,
	[PR_L7_APP_LDAP] = PR_L7_DEPTH_LDAP_DEFAULT,
	[PR_L7_APP_NETBIOS] = PR_L7_DEPTH_NETBIOS_DEFAULT,
	[PR_L7_APP_SMB] = PR_L7_DEPTH_SMB_DEFAULT,
	[PR_L7_APP_BGP] = PR_L7_DEPTH_BGP_DEFAULT,
	[PR_L7_APP_OSPF] = PR_L7_DEPTH_ROUTING_DEFAULT,
	[PR_L7_APP_EIGRP] = PR_L7_DEPTH_ROUTING_DEFAULT,
	[PR_L7_APP_RIP] = PR_L7_DEPTH_ROUTING_DEFAULT,
	[PR_L7_APP_SNMP] = PR_L7_DEPTH_SNMP_DEFAULT,
	[PR_L7_APP_NTP] = PR_L7_DEPTH_NTP_DEFAULT,
	[PR_L7_APP_NETFLOW] = PR_L7_DEPTH_UNLIMITED,
	[PR_L7_APP_SFLOW] = PR_L7_DEPTH_UNLIMITED,
	[PR_L7_APP_DHCP] = PR_L7_DEPTH_DHCP_DEFAULT,
	[PR_L7_APP_ICMP] = PR_L7_DEPTH_ICMP_DEFAULT,
	[PR_L7_APP_KERBEROS] = PR_L7_DEPTH_KERBEROS_DEFAULT,
	[PR_L7_APP_SIP] = PR_L7_DEPTH_SIP_DEFAULT,
	[PR_L7_APP_DTLS] = PR_L7_DEPTH_DTLS_DEFAULT,
	[PR_L7_APP_SCTP] = PR_L7_DEPTH_SCTP_DEFAULT,
};

const struct pr_l7_ops *pr_l7_ops_get(uint8_t app)
{
	return app < PR_L7_APP_COUNT ? registry[app] : NULL;
}

const char *pr_l7_app_name(uint8_t app)
{
	const struct pr_l7_ops *ops = pr_l7_ops_get(app);

	return ops ? ops->name : "unknown";
}

/* ---- context ---- */

void pr_l7_ctx_destroy(struct pr_l7_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->buf_mem)
		munmap(ctx->buf_mem, ctx->buf_mem_len);
	if (ctx->cert_cache)
		munmap(ctx->cert_cache, ctx->cert_cache_len);
	free(ctx->bufmeta);
	free(ctx->nf_templates);
	free(ctx->scratch);
	free(ctx->sort_a);
	free(ctx->sort_b);
	EVP_MD_CTX_free(ctx->md_ctx);
	EVP_MD_free(ctx->md5);
	EVP_MD_free(ctx->sha1);
	EVP_MD_free(ctx->sha256);
	BIO_free(ctx->bio);
	EVP_CIPHER_free(ctx->aes128_ecb);
	EVP_CIPHER_free(ctx->aes128_gcm);
	EVP_CIPHER_CTX_free(ctx->cipher_ctx);
	EVP_MAC_CTX_free(ctx->mac_ctx);
	EVP_MAC_free(ctx->hmac);
	free(ctx);
}

int pr_l7_ctx_create(const struct pr_l7_cfg *cfg, int numa_node, struct pr_l7_ctx **out)
{
	struct pr_l7_ctx *ctx = NULL;
	void *mem;
	int err = 0;

	/*
	 * No libnuma in the dataplane: the pool is touched below by the
	 * creating thread, which is the core that will use it, so first-touch
	 * places it on that core's node.
	 */
	(void)numa_node;
	if (!out || !cfg)
		return -EINVAL;
	*out = NULL;
	if (posix_memalign(&mem, PR_CACHE_LINE, sizeof(*ctx)))
		return -ENOMEM;
	ctx = mem;
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = *cfg;
	for (int a = 1; a < PR_L7_APP_COUNT; a++)
		if (!ctx->cfg.depth_bytes[a])
			ctx->cfg.depth_bytes[a] = depth_default[a];
	if (!ctx->cfg.buf_bytes)
		ctx->cfg.buf_bytes = PR_L7_BUF_BYTES_DEFAULT;
	if (!ctx->cfg.buf_count)
		ctx->cfg.buf_count = PR_L7_BUF_COUNT_DEFAULT;
	if (!ctx->cfg.detect_packets)
		ctx->cfg.detect_packets = PR_L7_DETECT_PACKETS_DEFAULT;
	if (!ctx->cfg.app_mask)
		ctx->cfg.app_mask = ((1u << PR_L7_APP_COUNT) - 1) & ~1u;
	if (!ctx->cfg.cert_cache_entries)
		ctx->cfg.cert_cache_entries = PR_L7_CERT_CACHE_DEFAULT;
	if (ctx->cfg.buf_bytes < BUF_BYTES_MIN || ctx->cfg.buf_bytes > BUF_BYTES_MAX ||
	    ctx->cfg.buf_count > BUF_COUNT_MAX || ctx->cfg.detect_packets > DETECT_PACKETS_MAX ||
	    ctx->cfg.cert_cache_entries > CERT_CACHE_MAX ||
	    (ctx->cfg.cert_cache_entries & (ctx->cfg.cert_cache_entries - 1))) {
		err = -EINVAL;
		goto err;
	}
	ctx->buf_bytes = ctx->cfg.buf_bytes;
	ctx->buf_count = (uint16_t)ctx->cfg.buf_count;
	ctx->buf_mem_len = (size_t)ctx->buf_bytes * ctx->buf_count;
	ctx->buf_mem = mmap(NULL, ctx->buf_mem_len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ctx->buf_mem == MAP_FAILED) {
		err = -errno;
		ctx->buf_mem = NULL;
		goto err;
	}
	ctx->cert_cache_mask = ctx->cfg.cert_cache_entries - 1;
	ctx->cert_cache_len = (size_t)ctx->cfg.cert_cache_entries * sizeof(*ctx->cert_cache);
	ctx->cert_cache = mmap(NULL, ctx->cert_cache_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ctx->cert_cache == MAP_FAILED) {
		err = -errno;
		ctx->cert_cache = NULL;
		goto err;
	}
	/* Touch every page now: no page faults on the dataplane later. */
	memset(ctx->buf_mem, 0, ctx->buf_mem_len);
	memset(ctx->cert_cache, 0, ctx->cert_cache_len);
	ctx->bufmeta = calloc(ctx->buf_count, sizeof(*ctx->bufmeta));
	ctx->nf_templates = calloc(L7_NF_TEMPLATES, sizeof(*ctx->nf_templates));
	ctx->scratch = malloc(L7_SCRATCH_BYTES);
	ctx->sort_a = malloc(L7_SORT_ENTRIES * sizeof(uint16_t));
	ctx->sort_b = malloc(L7_SORT_ENTRIES * sizeof(uint16_t));
	ctx->md_ctx = EVP_MD_CTX_new();
	ctx->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	ctx->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	ctx->bio = BIO_new(BIO_s_mem());
	if (!ctx->bufmeta || !ctx->nf_templates || !ctx->scratch || !ctx->sort_a || !ctx->sort_b ||
	    !ctx->md_ctx || !ctx->sha1 || !ctx->sha256 || !ctx->bio) {
		err = -ENOMEM;
		goto err;
	}
	/* MD5 is missing from a FIPS provider: JA3 and HASSH then stay empty. */
	ctx->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	if (!ctx->md5)
		PR_WARN("MD5 not available from OpenSSL: JA3, JA3S and HASSH are left empty");
	ctx->aes128_ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	ctx->aes128_gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	ctx->cipher_ctx = EVP_CIPHER_CTX_new();
	ctx->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx->mac_ctx = ctx->hmac ? EVP_MAC_CTX_new(ctx->hmac) : NULL;
	if (!ctx->aes128_ecb || !ctx->aes128_gcm || !ctx->cipher_ctx || !ctx->mac_ctx)
		PR_WARN("AES-128 or HMAC not available from OpenSSL: QUIC Initial packets stay "
			"opaque");
	for (uint32_t i = 0; i < ctx->buf_count; i++)
		ctx->bufmeta[i].next_free = i + 1 < ctx->buf_count ? (uint16_t)(i + 2) : 0;
	ctx->free_head = ctx->buf_count ? 1 : 0;
	*out = ctx;
	return 0;
err:
	pr_l7_ctx_destroy(ctx);
	return err;
}

void pr_l7_ctx_stats(const struct pr_l7_ctx *ctx, struct pr_l7_stats *out)
{
	*out = ctx->st;
}

/* ---- buffers ---- */

static inline uint8_t *buf_ptr(const struct pr_l7_ctx *ctx, uint16_t b)
{
	return ctx->buf_mem + (size_t)(b - 1) * ctx->buf_bytes;
}

void l7_buf_put(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d)
{
	struct l7_dir *ds = &fl->dir[d];
	uint16_t b = ds->buf;

	ds->buf = 0;
	ds->buf_len = 0;
	ds->flags &= (uint8_t)~DIR_STREAMBUF;
	if (!b)
		return;
	PR_ASSERT(b <= ctx->buf_count && ctx->bufmeta[b - 1].owner == fl);
	ctx->bufmeta[b - 1].owner = NULL;
	ctx->bufmeta[b - 1].next_free = ctx->free_head;
	ctx->free_head = b;
}

/*
 * The pool is empty. A buffer whose owner no longer points at it belongs
 * to a flow that ended without pr_l7_flow_end(): take it back. Failing
 * that, take the one under the clock hand from its (live) direction, which
 * stops: a direction that waited that long for the rest of a message is
 * the likeliest to be dead, and the newcomer has a whole message ahead.
 */
static uint16_t buf_reclaim(struct pr_l7_ctx *ctx)
{
	uint32_t scan = PR_MIN(RECLAIM_SCAN, (uint32_t)ctx->buf_count);
	struct l7_bufmeta *m;
	struct l7_flow *vfl;
	uint16_t h = 0;

	if (!ctx->buf_count)
		return 0;
	for (uint32_t i = 0; i < scan; i++) {
		h = ctx->hand;
		ctx->hand = (uint16_t)((ctx->hand + 1u) % ctx->buf_count);
		m = &ctx->bufmeta[h];
		if (m->owner->dir[m->dir].buf != h + 1) {
			ctx->st.buf_reclaimed++;
			m->owner = NULL;
			return (uint16_t)(h + 1);
		}
	}
	m = &ctx->bufmeta[h];
	vfl = m->owner;
	vfl->dir[m->dir].buf = 0;
	vfl->dir[m->dir].buf_len = 0;
	vfl->dir[m->dir].flags = (uint8_t)((vfl->dir[m->dir].flags & ~DIR_STREAMBUF) | DIR_DONE);
	if ((vfl->dir[0].flags & DIR_DONE) && (vfl->dir[1].flags & DIR_DONE))
		vfl->flags |= FLOW_DONE;
	ctx->st.buf_exhausted++;
	m->owner = NULL;
	return (uint16_t)(h + 1);
}

uint8_t *l7_buf_get(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d)
{
	struct l7_dir *ds = &fl->dir[d];
	uint16_t b;

	if (ds->buf)
		return buf_ptr(ctx, ds->buf);
	b = ctx->free_head;
	if (b)
		ctx->free_head = ctx->bufmeta[b - 1].next_free;
	else
		b = buf_reclaim(ctx);
	if (unlikely(!b)) {
		l7_dir_stop(ctx, fl, d, L7_STOP_NOBUF);
		return NULL;
	}
	ctx->bufmeta[b - 1].owner = fl;
	ctx->bufmeta[b - 1].dir = d;
	ds->buf = b;
	ds->buf_len = 0;
	return buf_ptr(ctx, b);
}

/* ---- flow state ---- */

void l7_dir_stop(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, enum l7_stop why)
{
	struct l7_dir *ds = &fl->dir[d];

	if (ds->flags & DIR_DONE)
		return;
	ds->flags |= DIR_DONE;
	ds->skip = 0;
	l7_buf_put(ctx, fl, d);
	switch (why) {
	case L7_STOP_DONE:
		break;
	case L7_STOP_MALFORMED:
		ctx->st.malformed++;
		break;
	case L7_STOP_OVERSIZE:
		ctx->st.oversize++;
		break;
	case L7_STOP_DEPTH:
		ctx->st.depth_reached++;
		break;
	case L7_STOP_GAP:
		ctx->st.gaps++;
		break;
	case L7_STOP_NOBUF:
		ctx->st.buf_exhausted++;
		break;
	}
	if ((fl->dir[0].flags & DIR_DONE) && (fl->dir[1].flags & DIR_DONE))
		fl->flags |= FLOW_DONE;
}

void pr_l7_flow_init(struct pr_l7_state *st, uint8_t ip_proto, uint16_t client_port,
		     uint16_t server_port)
{
	struct l7_flow *fl = l7_flow(st);

	memset(fl, 0, sizeof(*fl));
	fl->ip_proto = ip_proto;
	fl->cport = client_port;
	fl->sport = server_port;
	if (ip_proto != PR_L7_PROTO_TCP && ip_proto != PR_L7_PROTO_UDP &&
	    ip_proto != PR_L7_PROTO_ICMP && ip_proto != PR_L7_PROTO_ICMPV6 &&
	    ip_proto != PR_L7_PROTO_OSPF && ip_proto != PR_L7_PROTO_EIGRP &&
	    ip_proto != PR_L7_PROTO_SCTP) {
		fl->app = PR_L7_APP_UNKNOWN;
		fl->flags = FLOW_DONE;
		fl->dir[0].flags = DIR_DONE;
		fl->dir[1].flags = DIR_DONE;
	}
}

void pr_l7_flow_end(struct pr_l7_ctx *ctx, struct pr_l7_state *st)
{
	struct l7_flow *fl = l7_flow(st);

	l7_buf_put(ctx, fl, 0);
	l7_buf_put(ctx, fl, 1);
	fl->dir[0].flags |= DIR_DONE;
	fl->dir[1].flags |= DIR_DONE;
	fl->flags |= FLOW_DONE;
}

uint8_t pr_l7_flow_app(const struct pr_l7_state *st)
{
	return ((const struct l7_flow *)st)->app;
}

bool pr_l7_flow_done(const struct pr_l7_state *st)
{
	return ((const struct l7_flow *)st)->flags & FLOW_DONE;
}

void l7_flow_switch(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t app)
{
	for (uint8_t d = 0; d < 2; d++) {
		l7_buf_put(ctx, fl, d);
		fl->dir[d].skip = 0;
		fl->dir[d].parsed = 0;
		fl->dir[d].flags &= DIR_SEQ_VALID;
	}
	fl->flags = 0;
	fl->app = app;
	memset(&fl->u, 0, sizeof(fl->u));
	registry[app]->init((struct pr_l7_state *)fl);
}

/* ---- transactions ---- */

struct pr_l7_txn *l7_txn_begin(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, uint8_t kind)
{
	struct pr_l7_txn *t = &ctx->txn;

	t->flow_id = ctx->pkt ? ctx->pkt->flow_id : 0;
	t->ts_ns = ctx->pkt ? ctx->pkt->ts_ns : 0;
	t->app = fl->app;
	t->kind = kind;
	t->dir = d;
	t->reserved = 0;
	t->reserved2 = 0;
	return t;
}

void l7_txn_emit(struct pr_l7_ctx *ctx)
{
	ctx->st.txns++;
	if (ctx->emit)
		ctx->emit(ctx->emit_arg, &ctx->txn);
}

/* ---- the path of a payload ---- */

/*
 * Put a TCP payload in order: trim what was seen before, refuse a gap.
 * Returns false when nothing new is left to parse.
 */
static bool tcp_order(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d,
		      const struct pr_l7_pkt *pkt, const uint8_t **p, uint32_t *len)
{
	struct l7_dir *ds = &fl->dir[d];
	uint32_t seq = pkt->seq;

	if (pkt->tcp_flags & TH_SYN) {
		/* The SYN takes one sequence number; its payload (TCP Fast Open) follows. */
		seq++;
		ds->next_seq = seq;
		ds->flags |= DIR_SEQ_VALID;
	}
	if (!*len)
		return false;
	if (!(ds->flags & DIR_SEQ_VALID)) {
		ds->next_seq = seq;
		ds->flags |= DIR_SEQ_VALID;
	}
	if ((int32_t)(seq - ds->next_seq) > 0) {
		/*
		 * Bytes are missing (lost, or never captured). Before
		 * detection nothing depends on them: start over from here.
		 * After it, the parser would read garbage: stop, unless the
		 * parser can tell that these bytes start a message.
		 */
		if (fl->app != PR_L7_APP_NONE) {
			const struct pr_l7_ops *ops = registry[fl->app];

			if (!ops->resync || !ops->resync((struct pr_l7_state *)fl, d, *p, *len)) {
				l7_dir_stop(ctx, fl, d, L7_STOP_GAP);
				return false;
			}
			/* What was half read belongs to the lost bytes. */
			l7_buf_put(ctx, fl, d);
			ds->skip = 0;
			ctx->st.resyncs++;
		}
		ds->next_seq = seq;
		ds->pre_len = 0;
	} else if (seq != ds->next_seq) {
		uint32_t old = ds->next_seq - seq;

		if (old >= *len) {
			ctx->st.retransmits++;
			return false;
		}
		*p += old;
		*len -= old;
	}
	ds->next_seq += *len;
	return true;
}

static void flow_give_up(struct pr_l7_ctx *ctx, struct l7_flow *fl)
{
	fl->app = PR_L7_APP_UNKNOWN;
	fl->flags |= FLOW_DONE;
	fl->dir[0].flags |= DIR_DONE;
	fl->dir[1].flags |= DIR_DONE;
	ctx->st.undetected++;
}

/* Does a parser recognise these bytes? Sets the flow's app if so; counts nothing. */
static bool detect_try(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
		       uint32_t len)
{
	uint8_t l4 = fl->ip_proto == PR_L7_PROTO_TCP ? PR_L7_L4_TCP :
		     fl->ip_proto == PR_L7_PROTO_UDP ? PR_L7_L4_UDP :
						       PR_L7_L4_IP;

	for (size_t i = 0; i < PR_ARRAY_SIZE(detect_order); i++) {
		uint8_t app = detect_order[i];
		const struct pr_l7_ops *ops = registry[app];

		if (!ops || !(ctx->cfg.app_mask & (1u << app)) || !(ops->l4 & l4))
			continue;
		if (!ops->detect(fl->ip_proto, d, fl->cport, fl->sport, p, len))
			continue;
		fl->app = app;
		memset(&fl->u, 0, sizeof(fl->u));
		ops->init((struct pr_l7_state *)fl);
		ctx->st.detected[app]++;
		return true;
	}
	return false;
}

/* detect_try(), and a failure counts towards giving up on the flow. */
static bool detect(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
		   uint32_t len)
{
	if (detect_try(ctx, fl, d, p, len))
		return true;
	fl->dir[d].tries++;
	if (fl->dir[0].tries + fl->dir[1].tries >= 2 * ctx->cfg.detect_packets)
		flow_give_up(ctx, fl);
	return false;
}

/*
 * Detection on a TCP direction's first bytes. Fewer than L7_DETECT_MIN are
 * kept in the state and looked at again with the next segment (a stack
 * that sends a hello in tiny segments is still recognised); the checks see
 * them and the new bytes as one run. On success both go to the parser.
 */
static bool detect_stream(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			  uint32_t len, bool *pre_pending)
{
	struct l7_dir *ds = &fl->dir[d];
	uint32_t n;
	bool ok;

	*pre_pending = false;
	if (ds->pre_len + len < L7_DETECT_MIN) {
		memcpy(ds->pre + ds->pre_len, p, len);
		ds->pre_len = (uint8_t)(ds->pre_len + len);
		return false;
	}
	if (!ds->pre_len)
		return detect(ctx, fl, d, p, len);
	/* Checks look at the first few hundred bytes at most: a bounded copy. */
	n = PR_MIN(len, 4096u);
	memcpy(ctx->scratch, ds->pre, ds->pre_len);
	memcpy(ctx->scratch + ds->pre_len, p, n);
	ok = detect_try(ctx, fl, d, (const uint8_t *)ctx->scratch, ds->pre_len + n);
	if (ok) {
		*pre_pending = true;
		return true;
	}
	/* The kept bytes may be noise before the real start (a stray byte): try without. */
	ds->pre_len = 0;
	return detect(ctx, fl, d, p, len);
}

/* Drop bytes the parser asked to skip: buffered ones first, they come earlier. */
static void skip_bytes(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t **p,
		       uint32_t *len)
{
	struct l7_dir *ds = &fl->dir[d];
	uint32_t n;

	if (ds->flags & DIR_STREAMBUF) {
		uint8_t *buf = buf_ptr(ctx, ds->buf);

		n = (uint32_t)PR_MIN(ds->skip, (uint64_t)ds->buf_len);
		ds->buf_len -= n;
		memmove(buf, buf + n, ds->buf_len);
		ds->skip -= n;
		if (!ds->buf_len)
			l7_buf_put(ctx, fl, d);
	}
	n = (uint32_t)PR_MIN(ds->skip, (uint64_t)*len);
	*p += n;
	*len -= n;
	ds->skip -= n;
}

static inline void consumed(struct pr_l7_ctx *ctx, struct l7_dir *ds, uint32_t depth, uint32_t c)
{
	/* An unlimited window is never counted, so it never ends (nor wraps). */
	if (depth != PR_L7_DEPTH_UNLIMITED)
		ds->parsed += c;
	ctx->st.bytes += c;
}

/*
 * Feed in-order TCP bytes to the flow's parser. Unbuffered bytes go to the
 * parser straight from the packet; what it leaves (an incomplete message)
 * is copied into a borrowed buffer, to which later bytes are appended
 * until the parser consumes them. The parser never sees more than the
 * window allows; a message that outgrows the buffer or the window stops
 * the direction.
 */
static void stream_feed(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			uint32_t len)
{
	/* Only SMTP switches (to TLS), and TLS never does: this recurses once at most. */
	const uint8_t app = fl->app;
	const struct pr_l7_ops *ops = registry[app];
	const uint32_t depth = ctx->cfg.depth_bytes[app];
	struct pr_l7_state *st = (struct pr_l7_state *)fl;
	struct l7_dir *ds = &fl->dir[d];

	while (!(ds->flags & DIR_DONE) && fl->app == app) {
		uint32_t c, n, lim;
		uint8_t *buf;

		if (ds->skip)
			skip_bytes(ctx, fl, d, &p, &len);
		if (ds->parsed >= depth) {
			if (len || (ds->flags & DIR_STREAMBUF))
				l7_dir_stop(ctx, fl, d, L7_STOP_DEPTH);
			return;
		}
		lim = depth - ds->parsed;
		if (!(ds->flags & DIR_STREAMBUF)) {
			if (!len)
				return;
			n = PR_MIN(len, lim);
			ctx->buf_full = false;
			c = ops->parse(ctx, st, d, p, n);
			if (ds->flags & DIR_DONE)
				return;
			PR_ASSERT(c <= n);
			if (fl->app != app) {
				/* Switched (STARTTLS): the rest belongs to the new parser. */
				consumed(ctx, ds, depth, c);
				stream_feed(ctx, fl, d, p + c, len - c);
				return;
			}
			consumed(ctx, ds, depth, c);
			p += c;
			len -= c;
			if (c)
				continue;
			if (n < len) {
				/* The window ends inside this message. */
				l7_dir_stop(ctx, fl, d, L7_STOP_DEPTH);
				return;
			}
			if (!l7_buf_get(ctx, fl, d))
				return;
			ds->flags |= DIR_STREAMBUF;
			continue;
		}
		buf = buf_ptr(ctx, ds->buf);
		n = ds->buf_len < lim ? PR_MIN(len, lim - ds->buf_len) : 0;
		n = PR_MIN(n, ctx->buf_bytes - ds->buf_len);
		memcpy(buf + ds->buf_len, p, n);
		ds->buf_len += n;
		p += n;
		len -= n;
		ctx->buf_full = ds->buf_len == ctx->buf_bytes || ds->buf_len >= lim;
		c = ops->parse(ctx, st, d, buf, ds->buf_len);
		if ((ds->flags & DIR_DONE) || fl->app != app)
			return;
		PR_ASSERT(c <= ds->buf_len);
		consumed(ctx, ds, depth, c);
		if (c) {
			ds->buf_len -= c;
			memmove(buf, buf + c, ds->buf_len);
			if (!ds->buf_len)
				l7_buf_put(ctx, fl, d);
			continue;
		}
		if (ctx->buf_full) {
			l7_dir_stop(ctx, fl, d,
				    ds->buf_len == ctx->buf_bytes ? L7_STOP_OVERSIZE :
								    L7_STOP_DEPTH);
			return;
		}
		if (!len)
			return;
	}
}

/*
 * A datagram is one message: parsed whole while the window is not used
 * up (its parser reads bounded headers, so a large one costs no more),
 * not at all after.
 */
static void datagram_feed(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *p,
			  uint32_t len)
{
	struct l7_dir *ds = &fl->dir[d];
	const uint32_t depth = ctx->cfg.depth_bytes[fl->app];

	if (ds->parsed >= depth) {
		l7_dir_stop(ctx, fl, d, L7_STOP_DEPTH);
		return;
	}
	ctx->buf_full = true;
	registry[fl->app]->parse(ctx, (struct pr_l7_state *)fl, d, p, len);
	/* Saturating: a huge datagram ends the window, it does not wrap it. */
	consumed(ctx, ds, depth, PR_MIN(len, depth - ds->parsed));
}

void pr_l7_process(struct pr_l7_ctx *ctx, struct pr_l7_state *st, const struct pr_l7_pkt *pkt,
		   pr_l7_emit_fn emit, void *arg)
{
	struct l7_flow *fl = l7_flow(st);
	uint8_t d = pkt->dir & 1;
	const uint8_t *p = pkt->data;
	uint32_t len = pkt->len;

	if (fl->flags & FLOW_DONE)
		return;
	if (fl->ip_proto == PR_L7_PROTO_TCP) {
		if (fl->dir[d].flags & DIR_DONE)
			return;
		if (pkt->has_seq && !tcp_order(ctx, fl, d, pkt, &p, &len))
			return;
	} else if (fl->dir[d].flags & DIR_DONE) {
		return;
	}
	if (!len)
		return;
	ctx->st.packets++;
	ctx->pkt = pkt;
	ctx->emit = emit;
	ctx->emit_arg = arg;
	if (fl->ip_proto != PR_L7_PROTO_TCP) {
		/* UDP and the other IP protocols: one message per packet. */
		if (fl->app != PR_L7_APP_NONE || detect(ctx, fl, d, p, len))
			datagram_feed(ctx, fl, d, p, len);
		goto out;
	}
	if (fl->app == PR_L7_APP_NONE) {
		bool pre_pending;

		if (!detect_stream(ctx, fl, d, p, len, &pre_pending))
			goto out;
		if (pre_pending) {
			uint8_t pre[L7_DETECT_MIN];
			uint8_t n = fl->dir[d].pre_len;

			/* Copied out first: the state may be switched while it is parsed. */
			memcpy(pre, fl->dir[d].pre, n);
			fl->dir[d].pre_len = 0;
			stream_feed(ctx, fl, d, pre, n);
		}
	}
	stream_feed(ctx, fl, d, p, len);
out:
	ctx->pkt = NULL;
}

void pr_l7_process_burst(struct pr_l7_ctx *ctx, struct pr_l7_state *const *st,
			 const struct pr_l7_pkt *pkt, uint16_t n, pr_l7_emit_fn emit, void *arg)
{
	for (uint16_t i = 0; i < n; i++)
		pr_l7_process(ctx, st[i], &pkt[i], emit, arg);
}

/* ---- helpers for the protocol files ---- */

bool l7_digest_hex(struct pr_l7_ctx *ctx, const EVP_MD *md, const void *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;

	out[0] = '\0';
	if (!md || !EVP_DigestInit_ex2(ctx->md_ctx, md, NULL) ||
	    !EVP_DigestUpdate(ctx->md_ctx, p, n) || !EVP_DigestFinal_ex(ctx->md_ctx, dg, &dl))
		return false;
	for (unsigned int i = 0; i < dl; i++) {
		out[2 * i] = hex[dg[i] >> 4];
		out[2 * i + 1] = hex[dg[i] & 15];
	}
	out[2 * dl] = '\0';
	return true;
}

static void sift_down(uint16_t *a, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		uint16_t t;

		if (child >= n)
			return;
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

void l7_sort_u16(uint16_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n; end > 1; end--) {
		uint16_t t = a[0];

		a[0] = a[end - 1];
		a[end - 1] = t;
		sift_down(a, 0, end - 1);
	}
}

void l7_sb_putn(struct l7_sb *sb, const char *s, size_t n)
{
	size_t room = sb->cap - 1 - sb->len;

	if (!sb->cap)
		return;
	if (n > room) {
		n = room;
		sb->cut = true;
	}
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

void l7_sb_putc(struct l7_sb *sb, char c)
{
	l7_sb_putn(sb, &c, 1);
}

void l7_sb_u32(struct l7_sb *sb, uint32_t v)
{
	char tmp[10];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	l7_sb_putn(sb, tmp + i, sizeof(tmp) - i);
}

void l7_sb_hex(struct l7_sb *sb, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		char tmp[2] = { hex[p[i] >> 4], hex[p[i] & 15] };

		l7_sb_putn(sb, tmp, 2);
	}
}

void l7_addr_text(char *dst, const uint8_t *p, size_t n)
{
	dst[0] = '\0';
	if (n == 4)
		inet_ntop(AF_INET, p, dst, PR_L7_ADDR_MAX);
	else if (n == 16)
		inet_ntop(AF_INET6, p, dst, PR_L7_ADDR_MAX);
}

void l7_sb_addr(struct l7_sb *sb, const uint8_t *p, size_t n)
{
	char tmp[PR_L7_ADDR_MAX];

	l7_addr_text(tmp, p, n);
	l7_sb_putn(sb, tmp, strlen(tmp));
}

void l7_sb_hex16(struct l7_sb *sb, uint16_t v)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[4] = { hex[v >> 12], hex[(v >> 8) & 15], hex[(v >> 4) & 15], hex[v & 15] };

	l7_sb_putn(sb, tmp, 4);
}

size_t l7_copy_text(char *dst, size_t cap, const uint8_t *s, size_t n)
{
	size_t i;

	if (!cap)
		return 0;
	if (n > cap - 1)
		n = cap - 1;
	for (i = 0; i < n; i++)
		dst[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
	dst[n] = '\0';
	return n;
}

static inline uint8_t upper(uint8_t c)
{
	return c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
}

bool l7_prefix_ci(const uint8_t *s, size_t n, const char *word)
{
	for (size_t i = 0; word[i]; i++)
		if (i >= n || upper(s[i]) != upper((uint8_t)word[i]))
			return false;
	return true;
}
