// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder export`: write a session's packets to a pcap or pcapng
 * file, unchanged (same bytes, link types and timestamps at the
 * resolution each interface had), to JSON lines or CSV (one line per
 * packet with its flow's 5-tuple), or to a new standalone store (db).
 * Every export can say how complete it is: the intervals in which the
 * capture lost packets (from the drop counters capture recorded over
 * time) and what --from/--to/--flow/--filter/--limit left out, in the
 * pcapng section comment and in a manifest (--manifest) signed with the
 * store's Ed25519 key. Outputs go through pr_outfile: never the store, a
 * new file created with O_EXCL, an existing one replaced only when the
 * export succeeded. A failed export removes only what it created and
 * never touches the store's packets. Main thread only.
 */
#define _GNU_SOURCE /* asprintf */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "pr_cli.h"
#include "pr_compiler.h"
#include "pr_json.h"
#include "pr_manifest.h"
#include "pr_pcapw.h"

enum fmt {
	FMT_PCAP,
	FMT_PCAPNG,
	FMT_JSONL,
	FMT_CSV,
	FMT_DB,
};

static const char *const fmt_names[] = { "pcap", "pcapng", "jsonl", "csv", "db" };

enum {
	OPT_MANIFEST = PR_OPT_FIRST_COMMAND_OPT,
	OPT_SHOW_DATA,
	OPT_OUTPUT_KEY,
	OPT_OUTPUT_KEY_FILE,
	OPT_SHOW_PUBKEY,
};

/* At most this many loss intervals are listed; the rest are summed. */
#define MAX_INTERVALS 1000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder export --session ID --output FILE\n"
		"                             [--format pcap|pcapng|jsonl|csv|db] [--show-data]\n"
		"                             [--limit N] [--filter BPF] [--manifest FILE] [--json]\n"
		"       packetrecorder export --show-public-key [--json]\n"
		"\n"
		"Write a session's packets to a capture file, byte for byte, with their\n"
		"timestamps and link types; or one line per packet (jsonl, csv); or a new\n"
		"store (db). --manifest writes a signed description of the export.\n"
		"\n"
		"  -S, --session ID       the session (see `packetrecorder sessions`)\n"
		"  -o, --output FILE      the file to write (- = standard output, not with db or\n"
		"                         --manifest); an existing FILE must be a capture file\n"
		"                         and is replaced only when the export succeeds; never\n"
		"                         the store\n"
		"      --file-mode MODE   permissions of FILE, octal (default 0600)\n"
		"  -F, --format FMT       pcap (default; one link type), pcapng (any number of\n"
		"                         interfaces, names kept, session and completeness as\n"
		"                         section comment), jsonl or csv (one line per packet:\n"
		"                         time, lengths, interface, flow, 5-tuple, TCP flags),\n"
		"                         db (a new store: the packets, their flows, the session)\n"
		"      --show-data        jsonl/csv: add the packet bytes as hex\n"
		"      --output-key KEY   db: the new store's key (passphrase or 64 hex digits)\n"
		"      --output-key-file F  db: read that key from file F (first line)\n"
		"                         (without either, the new store is not encrypted)\n"
		"  -n, --limit N          at most N packets (after the filter; 0 = all)\n"
		"  -f, --filter EXPR      BPF filter, tcpdump syntax\n" PR_CLI_RANGE_HELP
		"  -m, --manifest FILE    write a JSON manifest signed with the store's Ed25519\n"
		"                         key (see `packetrecorder verify-export`)\n"
		"      --show-public-key  print the store's public key (created on first use)\n"
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             print a JSON summary on stdout\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help             this help\n"
		   "\n"
		   "Exit: 0 ok, 1 failure, 2 key rejected, 3 usage (also an --output that is the\n"
		   "store, or an existing file that is not a capture file), 4 no such session.\n");
}

/* The session's flows by flow id: open addressing, loaded once. */
struct flow_map {
	struct pr_store_flow *v;
	bool *used; /* a selected packet belongs to it (db: export it) */
	size_t cap; /* power of two */
	size_t n;
};

static size_t flow_slot(const struct flow_map *m, uint64_t id)
{
	size_t i = (size_t)(id * 0x9e3779b97f4a7c15ull) & (m->cap - 1);

	while (m->v[i].flow_id && m->v[i].flow_id != id)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int flow_map_add_cb(void *ctx, const struct pr_store_flow *f)
{
	struct flow_map *m = ctx;

	if (!f->flow_id)
		return 0;
	if (2 * (m->n + 1) > m->cap) {
		struct flow_map nm = { .cap = m->cap ? m->cap * 2 : 1024 };

		nm.v = calloc(nm.cap, sizeof(*nm.v));
		nm.used = calloc(nm.cap, sizeof(*nm.used));
		if (!nm.v || !nm.used) {
			free(nm.v);
			free(nm.used);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i].flow_id) {
				size_t j = flow_slot(&nm, m->v[i].flow_id);

				nm.v[j] = m->v[i];
				nm.used[j] = m->used[i];
			}
		nm.n = m->n;
		free(m->v);
		free(m->used);
		*m = nm;
	}
	{
		size_t j = flow_slot(m, f->flow_id);

		if (!m->v[j].flow_id)
			m->n++;
		m->v[j] = *f;
	}
	return 0;
}

static const struct pr_store_flow *flow_map_get(const struct flow_map *m, uint64_t id, size_t *slot)
{
	size_t i;

	if (!id || !m->cap)
		return NULL;
	i = flow_slot(m, id);
	*slot = i;
	return m->v[i].flow_id ? &m->v[i] : NULL;
}

struct export_ctx {
	struct pr_pcapw *w;
	enum fmt fmt;
	int map[256]; /* our interface index -> writer index */
	uint32_t linktype[256];
	char ifname[256][64];
	uint32_t first_linktype;
	bool have_first;
	bool any_nsec;
	int rc;
	const char *output;
	struct pr_store *dst; /* db */
	int64_t dst_session;
};

static int scan_iface_cb(void *ctx, const struct pr_store_iface *iface)
{
	struct export_ctx *e = ctx;

	if (iface->index < 256) {
		e->linktype[iface->index] = iface->linktype;
		snprintf(e->ifname[iface->index], sizeof(e->ifname[0]), "%s", iface->name);
		e->map[iface->index] = 0;
	}
	if (iface->tsresol != 6)
		e->any_nsec = true;
	if (e->fmt == FMT_PCAP) {
		if (!e->have_first) {
			e->have_first = true;
			e->first_linktype = iface->linktype;
		} else if (iface->linktype != e->first_linktype) {
			pr_cli_error("export: the session has interfaces with different link types "
				     "(%u and %u): pcap holds one; use --format pcapng",
				     e->first_linktype, iface->linktype);
			e->rc = PR_EXIT_USAGE;
			return 1;
		}
	}
	return 0;
}

static int add_iface_cb(void *ctx, const struct pr_store_iface *iface)
{
	struct export_ctx *e = ctx;
	struct pr_pcapw_iface wi = {
		.linktype = iface->linktype,
		.snaplen = iface->snaplen,
		/* pcap has one magic: nanoseconds if any interface needs them. */
		.tsresol = e->fmt == FMT_PCAP ? (e->any_nsec ? 9 : 6) : iface->tsresol,
		.name = iface->name,
		.description = iface->description,
	};
	int idx;

	if (iface->index >= 256)
		return 0;
	if (e->fmt == FMT_DB) {
		idx = pr_store_session_add_iface(e->dst, e->dst_session, iface);
		if (idx < 0) {
			pr_cli_error("%s: interface %u: %s", e->output, iface->index,
				     pr_store_errmsg(e->dst));
			e->rc = PR_EXIT_FAIL;
			return 1;
		}
		return 0;
	}
	idx = pr_pcapw_add_iface(e->w, &wi);
	if (idx < 0) {
		pr_cli_error("%s: interface %u: %s", e->output, iface->index, strerror(-idx));
		e->rc = PR_EXIT_FAIL;
		return 1;
	}
	e->map[iface->index] = idx;
	return 0;
}

/*
 * The TCP flags of a packet, where its bytes show them: Ethernet (up to
 * two VLAN tags) or raw IP, IPv4 or IPv6 without extension headers. -1
 * when not known.
 */
static int tcp_flags_of(uint32_t linktype, const uint8_t *p, uint32_t len)
{
	uint32_t off = 0, ethertype;
	uint8_t proto;

	if (linktype == 1) {
		if (len < 14)
			return -1;
		ethertype = (uint32_t)p[12] << 8 | p[13];
		off = 14;
		for (int i = 0; i < 2 && (ethertype == 0x8100 || ethertype == 0x88a8); i++) {
			if (len < off + 4)
				return -1;
			ethertype = (uint32_t)p[off + 2] << 8 | p[off + 3];
			off += 4;
		}
	} else if (linktype == 101 || linktype == 12 || linktype == 14) {
		if (len < 1)
			return -1;
		ethertype = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
	} else if (linktype == 228) {
		ethertype = 0x0800;
	} else if (linktype == 229) {
		ethertype = 0x86dd;
	} else {
		return -1;
	}
	if (ethertype == 0x0800) {
		if (len < off + 20 || (p[off] >> 4) != 4)
			return -1;
		proto = p[off + 9];
		/* A later fragment has no TCP header. */
		if ((((uint32_t)p[off + 6] << 8 | p[off + 7]) & 0x1fff) != 0)
			return -1;
		off += (uint32_t)(p[off] & 15) * 4;
	} else if (ethertype == 0x86dd) {
		if (len < off + 40 || (p[off] >> 4) != 6)
			return -1;
		proto = p[off + 6];
		off += 40;
	} else {
		return -1;
	}
	if (proto != 6 || len < off + 14)
		return -1;
	return p[off + 13];
}

static void tcp_flags_text(int flags, char *buf)
{
	static const char names[] = "FSRPAUEC";
	size_t n = 0;

	for (int i = 0; i < 8; i++)
		if (flags & (1 << i))
			buf[n++] = names[i];
	buf[n] = 0;
}

static void ip_text(uint8_t ver, const uint8_t *ip, char *buf, size_t len)
{
	if (!inet_ntop(ver == 6 ? AF_INET6 : AF_INET, ip, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void hex_out(FILE *f, const uint8_t *p, uint32_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (uint32_t i = 0; i < n; i++) {
		fputc(digits[p[i] >> 4], f);
		fputc(digits[p[i] & 15], f);
	}
}

#define CSV_HEADER                                                                              \
	"index,ts_ns,time,cap_len,wire_len,iface,interface,flow_id,ip_version,ip_proto,src_ip," \
	"src_port,dst_ip,dst_port,vlan,tcp_flags"

static void write_line(const struct export_ctx *e, FILE *f, const struct flow_map *fm,
		       uint64_t index, const struct pr_block_pkt *p, bool show_data)
{
	char ts[64], src[INET6_ADDRSTRLEN] = "", dst[INET6_ADDRSTRLEN] = "", flags[9] = "";
	const struct pr_store_flow *fl;
	uint32_t lt = p->iface < 256 ? e->linktype[p->iface] : 0;
	const char *ifn = p->iface < 256 ? e->ifname[p->iface] : "";
	size_t slot;
	int tf;

	pr_cli_format_ts(p->ts_ns, ts, sizeof(ts));
	fl = flow_map_get(fm, p->flow_id, &slot);
	if (fl) {
		ip_text(fl->ip_version, fl->src_ip, src, sizeof(src));
		ip_text(fl->ip_version, fl->dst_ip, dst, sizeof(dst));
	}
	tf = tcp_flags_of(lt, p->data, p->cap_len);
	if (tf >= 0)
		tcp_flags_text(tf, flags);
	if (e->fmt == FMT_JSONL) {
		struct pr_json j;

		pr_json_init(&j, f);
		j.pretty_arrays = false;
		pr_json_obj_begin(&j);
		pr_json_kv_u64(&j, "index", index);
		pr_json_kv_u64(&j, "ts", p->ts_ns);
		pr_json_kv_str(&j, "time", ts);
		pr_json_kv_u64(&j, "cap_len", p->cap_len);
		pr_json_kv_u64(&j, "wire_len", p->wire_len);
		pr_json_kv_u64(&j, "iface", p->iface);
		pr_json_kv_str(&j, "interface", ifn);
		pr_json_kv_u64(&j, "linktype", lt);
		pr_json_kv_u64(&j, "flow_id", p->flow_id);
		if (fl) {
			pr_json_kv_u64(&j, "ip_version", fl->ip_version);
			pr_json_kv_u64(&j, "ip_proto", fl->ip_proto);
			pr_json_kv_str(&j, "protocol", pr_cli_ip_proto_name(fl->ip_proto));
			pr_json_kv_str(&j, "src_ip", src);
			pr_json_kv_u64(&j, "src_port", fl->src_port);
			pr_json_kv_str(&j, "dst_ip", dst);
			pr_json_kv_u64(&j, "dst_port", fl->dst_port);
			pr_json_kv_u64(&j, "vlan", fl->vlan);
		}
		if (tf >= 0)
			pr_json_kv_str(&j, "tcp_flags", flags);
		if (show_data) {
			pr_json_key(&j, "data");
			pr_json_hex(&j, p->data, p->cap_len);
		}
		pr_json_obj_end(&j);
		pr_json_end(&j);
		return;
	}
	fprintf(f, "%" PRIu64 ",%" PRIu64 ",%s,%u,%u,%u,", index, p->ts_ns, ts, p->cap_len,
		p->wire_len, p->iface);
	csv_str(f, ifn);
	fprintf(f, ",%" PRIu64 ",", p->flow_id);
	if (fl)
		fprintf(f, "%u,%u,%s,%u,%s,%u,%u", fl->ip_version, fl->ip_proto, src, fl->src_port,
			dst, fl->dst_port, fl->vlan);
	else
		fputs(",,,,,,", f);
	fprintf(f, ",%s", flags);
	if (show_data) {
		fputc(',', f);
		hex_out(f, p->data, p->cap_len);
	}
	fputs("\r\n", f);
}

/* What an export left out, beside the capture's own losses. */
struct cuts {
	uint64_t from_ns, to_ns; /* --from/--to that cut stored packets, 0: none */
	bool flow;
	uint64_t flow_id;
	uint64_t filter_excluded; /* read (in range) but rejected by --filter */
	bool limit_cut; /* --limit stopped the export before the last wanted packet */
	uint64_t limit_next_index, limit_next_ts; /* the first packet it left out */
};

struct completeness {
	struct pr_drop_interval *iv;
	size_t n_iv; /* listed */
	size_t n_total; /* found (more than listed when above MAX_INTERVALS) */
	uint64_t lost[PR_DROP_REASON_MAX]; /* in the listed and unlisted intervals */
	uint64_t lost_total;
	uint64_t session_drops; /* the session's totals: loss anywhere in it */
	uint64_t stored; /* the session's packets: a loss before none of them runs to the end */
	bool have_rows; /* capture recorded drop counters over time */
};

static int completeness_load(struct pr_store *st, const struct pr_session_info *si,
			     const struct pr_store_pkt_query *range, struct completeness *c)
{
	int err;

	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		c->session_drops += si->drops[i];
	c->stored = si->packets;
	err = pr_store_drop_intervals(st, si->id, range->from_ns, range->to_ns, &c->iv, &c->n_total,
				      &c->have_rows);
	if (err)
		return err;
	c->n_iv = c->n_total < MAX_INTERVALS ? c->n_total : MAX_INTERVALS;
	for (size_t i = 0; i < c->n_total; i++) {
		for (int r = 0; r < PR_DROP_REASON_MAX; r++)
			c->lost[r] += c->iv[i].lost[r];
		c->lost_total += c->iv[i].lost_total;
	}
	return 0;
}

/*
 * One loss interval in words: "125509 lost (ring_full 125509) between
 * packets 62938 and 62939, stamped between T1 and T2". Packet numbers
 * count from 0, as query numbers them.
 */
static void interval_text(const struct completeness *c, const struct pr_drop_interval *iv,
			  char *buf, size_t len)
{
	char a[64] = "the start", b[64] = "the end", why[160] = "";
	bool last = iv->before_packet >= c->stored;
	size_t off = 0;

	for (int r = 0; r < PR_DROP_REASON_MAX && off < sizeof(why); r++)
		if (iv->lost[r])
			off += (size_t)snprintf(why + off, sizeof(why) - off, "%s%s %" PRIu64,
						off ? ", " : "", pr_drop_reason_name(r),
						iv->lost[r]);
	if (iv->from_ts_ns)
		pr_cli_format_ts(iv->from_ts_ns, a, sizeof(a));
	if (iv->to_ts_ns)
		pr_cli_format_ts(iv->to_ts_ns, b, sizeof(b));
	off = (size_t)snprintf(buf, len, "%" PRIu64 " lost (%s) ", iv->lost_total, why);
	if (off >= len)
		return;
	if (iv->after_packet && !last)
		off += (size_t)snprintf(buf + off, len - off,
					"between packets %" PRIu64 " and %" PRIu64,
					iv->after_packet - 1, iv->before_packet);
	else if (iv->after_packet)
		off += (size_t)snprintf(buf + off, len - off, "after packet %" PRIu64,
					iv->after_packet - 1);
	else if (!last)
		off += (size_t)snprintf(buf + off, len - off, "before packet %" PRIu64,
					iv->before_packet);
	else
		off += (size_t)snprintf(buf + off, len - off, "anywhere in the session");
	if (off < len)
		snprintf(buf + off, len - off, ", stamped between %s and %s", a, b);
}

/* One line on the loss for comments and messages, naming at most list intervals. */
static void loss_summary(const struct completeness *c, size_t list, char *buf, size_t len)
{
	char one[384];
	size_t off;

	if (!c->session_drops) {
		snprintf(buf, len, "no loss: the capture dropped no packets");
		return;
	}
	if (!c->n_total) {
		snprintf(buf, len,
			 "no loss in the exported range (the capture lost %" PRIu64
			 " packets elsewhere)",
			 c->session_drops);
		return;
	}
	off = (size_t)snprintf(buf, len,
			       "LOSS: %" PRIu64 " packets lost by the capture in %zu interval%s",
			       c->lost_total, c->n_total, c->n_total == 1 ? "" : "s");
	for (size_t i = 0; i < c->n_iv && i < list && off < len; i++) {
		interval_text(c, &c->iv[i], one, sizeof(one));
		off += (size_t)snprintf(buf + off, len - off, "%s %s", i ? ";" : ":", one);
	}
	if (list && c->n_total > list && off < len)
		snprintf(buf + off, len - off, "; ... (all in the manifest)");
}

/*
 * Every listed interval on a line of its own, for the pcapng section
 * comment, while the comment stays within a pcapng option (64 KiB); what
 * does not fit is left to the manifest, and a last line says so.
 */
static char *interval_lines(const struct completeness *c, size_t room)
{
	char one[384], *buf;
	size_t off = 0, i;

	if (!c->n_iv)
		return strdup("");
	buf = malloc(room + 1);
	if (!buf)
		return NULL;
	buf[0] = 0;
	for (i = 0; i < c->n_iv; i++) {
		char line[448];
		int n;

		interval_text(c, &c->iv[i], one, sizeof(one));
		n = snprintf(line, sizeof(line), "\nloss interval %zu/%zu: %s", i + 1, c->n_total,
			     one);
		/* Keep room for the closing line. */
		if (n < 0 || off + (size_t)n + 96 > room)
			break;
		memcpy(buf + off, line, (size_t)n + 1);
		off += (size_t)n;
	}
	if (i < c->n_total)
		snprintf(buf + off, room + 1 - off, "\nloss intervals %zu to %zu: in the manifest",
			 i + 1, c->n_total);
	return buf;
}

static void cuts_summary(const struct cuts *k, bool final, char *buf, size_t len)
{
	char t[64];
	size_t off = 0;

	buf[0] = 0;
	if (k->from_ns) {
		pr_cli_format_ts(k->from_ns, t, sizeof(t));
		off += (size_t)snprintf(buf + off, len - off, "; cut: packets before %s (--from)",
					t);
	}
	if (k->to_ns && off < len) {
		pr_cli_format_ts(k->to_ns, t, sizeof(t));
		off += (size_t)snprintf(buf + off, len - off, "; cut: packets after %s (--to)", t);
	}
	if (k->flow && off < len)
		off += (size_t)snprintf(buf + off, len - off,
					"; cut: every flow but %" PRIu64 " (--flow)", k->flow_id);
	if (final && k->filter_excluded && off < len)
		off += (size_t)snprintf(buf + off, len - off,
					"; cut: filter excluded %" PRIu64 " packets",
					k->filter_excluded);
	if (final && k->limit_cut && off < len) {
		pr_cli_format_ts(k->limit_next_ts, t, sizeof(t));
		snprintf(buf + off, len - off,
			 "; cut: limit reached, packets from %" PRIu64 " (%s) on left out",
			 k->limit_next_index, t);
	}
}

static void json_ts(struct pr_json *j, const char *key, uint64_t ns)
{
	char t[64], k[64];

	pr_cli_format_ts(ns, t, sizeof(t));
	pr_json_kv_str(j, key, ns ? t : "");
	snprintf(k, sizeof(k), "%s_ns", key);
	pr_json_kv_u64(j, k, ns);
}

struct manifest_in {
	const char *store_path;
	const struct pr_session_info *si;
	const struct pr_store_pkt_query *range;
	const char *filter;
	uint64_t limit;
	enum fmt fmt;
	const char *output;
	uint64_t packets, bytes, wire_bytes, first_ts, last_ts;
	const struct completeness *c;
	const struct cuts *k;
	const char *sha_hex;
	uint64_t file_bytes;
	const char *pub_hex;
	bool encrypted;
};

/* The canonical bytes: a compact object, keys in this order. */
static void manifest_body(FILE *f, const struct manifest_in *m)
{
	const struct pr_session_info *si = m->si;
	const char *base = strrchr(m->output, '/');
	char loss[2048], cut[1024];
	struct timespec now;
	struct pr_json j;

	clock_gettime(CLOCK_REALTIME, &now);
	pr_json_init(&j, f);
	j.pretty_arrays = false;
	pr_json_obj_begin(&j);
	pr_json_kv_str(&j, "format", PR_MANIFEST_FORMAT);
	pr_json_kv_u64(&j, "format_version", PR_MANIFEST_VERSION);
	pr_json_kv_str(&j, "generator", "packetrecorder " PR_VERSION);
	json_ts(&j, "export_time", (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec);
	pr_json_kv_str(&j, "store_file",
		       strrchr(m->store_path, '/') ? strrchr(m->store_path, '/') + 1 :
						     m->store_path);
	pr_json_kv_bool(&j, "store_encrypted", m->encrypted);
	pr_json_key(&j, "session");
	pr_json_obj_begin(&j);
	pr_json_kv_i64(&j, "id", si->id);
	pr_json_kv_str(&j, "name", si->name);
	pr_json_kv_str(&j, "source_kind", si->source_kind);
	pr_json_kv_str(&j, "source", si->source);
	pr_json_kv_str(&j, "capture_filter", si->filter);
	pr_json_kv_str(&j, "status", pr_session_status_name(si->status));
	json_ts(&j, "start", si->start_ts_ns);
	json_ts(&j, "end", si->end_ts_ns);
	pr_json_kv_u64(&j, "packets", si->packets);
	pr_json_key(&j, "drops");
	pr_json_obj_begin(&j);
	for (int i = 0; i < PR_DROP_REASON_MAX; i++)
		pr_json_kv_u64(&j, pr_drop_reason_name(i), si->drops[i]);
	pr_json_obj_end(&j);
	pr_json_obj_end(&j);
	pr_json_key(&j, "selection");
	pr_json_obj_begin(&j);
	pr_json_kv_str(&j, "format", fmt_names[m->fmt]);
	pr_json_kv_str(&j, "filter", m->filter ? m->filter : "");
	json_ts(&j, "from", m->range->from_ns);
	json_ts(&j, "to", m->range->to_ns);
	pr_json_key(&j, "flow");
	if (m->range->has_flow)
		pr_json_u64(&j, m->range->flow_id);
	else
		pr_json_null(&j);
	pr_json_kv_u64(&j, "limit", m->limit);
	pr_json_obj_end(&j);
	pr_json_kv_u64(&j, "packets", m->packets);
	pr_json_kv_u64(&j, "bytes", m->bytes);
	pr_json_kv_u64(&j, "wire_bytes", m->wire_bytes);
	json_ts(&j, "first_ts", m->first_ts);
	json_ts(&j, "last_ts", m->last_ts);
	pr_json_key(&j, "completeness");
	pr_json_obj_begin(&j);
	loss_summary(m->c, 8, loss, sizeof(loss));
	cuts_summary(m->k, true, cut, sizeof(cut));
	pr_json_kv_bool(&j, "no_loss", m->c->n_total == 0);
	pr_json_kv_bool(&j, "complete", m->c->n_total == 0 && !cut[0]);
	pr_json_kv_str(&j, "loss", loss);
	pr_json_kv_bool(&j, "drop_counters_over_time", m->c->have_rows);
	pr_json_kv_u64(&j, "lost_packets", m->c->lost_total);
	pr_json_kv_u64(&j, "drop_intervals_total", m->c->n_total);
	pr_json_key(&j, "drop_intervals");
	pr_json_arr_begin(&j);
	for (size_t i = 0; i < m->c->n_iv; i++) {
		const struct pr_drop_interval *iv = &m->c->iv[i];

		pr_json_obj_begin(&j);
		json_ts(&j, "from", iv->from_ts_ns);
		json_ts(&j, "to", iv->to_ts_ns);
		json_ts(&j, "from_wall", iv->from_wall_ns);
		json_ts(&j, "to_wall", iv->to_wall_ns);
		pr_json_kv_u64(&j, "after_packet", iv->after_packet);
		pr_json_kv_u64(&j, "before_packet", iv->before_packet);
		pr_json_kv_u64(&j, "lost", iv->lost_total);
		pr_json_key(&j, "by_reason");
		pr_json_obj_begin(&j);
		for (int r = 0; r < PR_DROP_REASON_MAX; r++)
			if (iv->lost[r])
				pr_json_kv_u64(&j, pr_drop_reason_name(r), iv->lost[r]);
		pr_json_obj_end(&j);
		pr_json_obj_end(&j);
	}
	pr_json_arr_end(&j);
	pr_json_key(&j, "cuts");
	pr_json_arr_begin(&j);
	if (m->k->from_ns) {
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "kind", "from");
		pr_json_kv_str(&j, "what", "packets before --from left out");
		json_ts(&j, "before", m->k->from_ns);
		pr_json_obj_end(&j);
	}
	if (m->k->to_ns) {
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "kind", "to");
		pr_json_kv_str(&j, "what", "packets after --to left out");
		json_ts(&j, "after", m->k->to_ns);
		pr_json_obj_end(&j);
	}
	if (m->k->flow) {
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "kind", "flow");
		pr_json_kv_str(&j, "what", "packets of other flows left out");
		pr_json_kv_u64(&j, "flow", m->k->flow_id);
		pr_json_obj_end(&j);
	}
	if (m->k->filter_excluded) {
		char w[96];

		snprintf(w, sizeof(w), "filter excluded %" PRIu64 " packets",
			 m->k->filter_excluded);
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "kind", "filter");
		pr_json_kv_str(&j, "what", w);
		pr_json_kv_u64(&j, "excluded", m->k->filter_excluded);
		pr_json_obj_end(&j);
	}
	if (m->k->limit_cut) {
		char w[160], t[64];

		pr_cli_format_ts(m->k->limit_next_ts, t, sizeof(t));
		snprintf(w, sizeof(w),
			 "limit reached at packet %" PRIu64 " (%s): it and later ones left out",
			 m->k->limit_next_index, t);
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "kind", "limit");
		pr_json_kv_str(&j, "what", w);
		pr_json_kv_u64(&j, "next_packet", m->k->limit_next_index);
		json_ts(&j, "next_ts", m->k->limit_next_ts);
		pr_json_obj_end(&j);
	}
	pr_json_arr_end(&j);
	pr_json_obj_end(&j);
	pr_json_kv_str(&j, "file_name", base ? base + 1 : m->output);
	pr_json_kv_u64(&j, "file_bytes", m->file_bytes);
	pr_json_kv_str(&j, "file_sha256", m->sha_hex);
	pr_json_kv_str(&j, "signature_algorithm", "Ed25519");
	pr_json_kv_str(&j, "sensor_public_key", m->pub_hex);
	pr_json_obj_end(&j);
}

/* Write, sign and commit the manifest. Returns an exit code. */
static int manifest_write(struct pr_cli *cli, struct pr_store *st, const char *path,
			  unsigned int mode, struct manifest_in *m)
{
	uint8_t sha[PR_SHA256_LEN], pub[PR_SENSOR_PUBKEY_LEN], sig[PR_SENSOR_SIG_LEN];
	char sha_hex[2 * PR_SHA256_LEN + 1], pub_hex[2 * PR_SENSOR_PUBKEY_LEN + 1];
	struct pr_outfile *of = NULL;
	char *canon = NULL;
	size_t clen = 0;
	FILE *mem = NULL, *f = NULL;
	int ret, rc = PR_EXIT_FAIL;

	ret = pr_manifest_sha256_file(m->output, sha, &m->file_bytes);
	if (ret) {
		pr_cli_error("%s: %s", m->output, strerror(-ret));
		goto out;
	}
	pr_manifest_hex(sha, sizeof(sha), sha_hex);
	m->sha_hex = sha_hex;
	if (pr_store_sensor_pubkey(st, pub)) {
		pr_cli_error("%s: %s", cli->db_path, pr_store_errmsg(st));
		goto out;
	}
	pr_manifest_hex(pub, sizeof(pub), pub_hex);
	m->pub_hex = pub_hex;
	mem = open_memstream(&canon, &clen);
	if (!mem) {
		pr_cli_error("manifest: %s", strerror(errno));
		goto out;
	}
	manifest_body(mem, m);
	if (fclose(mem)) {
		mem = NULL;
		pr_cli_error("manifest: %s", strerror(ENOMEM));
		goto out;
	}
	mem = NULL;
	if (pr_store_sensor_sign(st, canon, clen, sig)) {
		pr_cli_error("%s: %s", cli->db_path, pr_store_errmsg(st));
		goto out;
	}
	{
		struct pr_outfile_cfg oc = {
			.opt = "--manifest",
			.path = path,
			.mode = mode,
			.store = cli->db_path,
		};

		if ((rc = pr_cli_outfile_open(&oc, &of)))
			goto out;
	}
	rc = PR_EXIT_FAIL;
	f = fopen(pr_outfile_path(of), "w");
	if (!f || pr_manifest_write(f, canon, clen, sig) || fclose(f)) {
		if (f)
			f = NULL;
		pr_cli_error("%s: %s", path, strerror(errno ? errno : EIO));
		goto out;
	}
	f = NULL;
	rc = pr_cli_outfile_commit(of);
out:
	if (mem)
		fclose(mem);
	free(canon);
	pr_outfile_destroy(of);
	return rc;
}

static int show_public_key(struct pr_cli *cli)
{
	uint8_t pub[PR_SENSOR_PUBKEY_LEN];
	char hex[2 * PR_SENSOR_PUBKEY_LEN + 1];
	struct pr_store *st = NULL;
	int rc;

	if ((rc = pr_cli_prepare(cli)) || (rc = pr_cli_open_store(cli, false, &st)))
		goto out;
	if (pr_store_sensor_pubkey(st, pub)) {
		pr_cli_error("%s: %s", cli->db_path, pr_store_errmsg(st));
		rc = PR_EXIT_FAIL;
		goto out;
	}
	pr_manifest_hex(pub, sizeof(pub), hex);
	if (cli->json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "algorithm", "Ed25519");
		pr_json_kv_str(&j, "public_key", hex);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		printf("%s\n", hex);
	}
	rc = PR_EXIT_OK;
out:
	pr_store_close(st);
	return rc;
}

static int read_key_file(const char *path, char **out)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		pr_cli_error("--output-key-file: %s: %s", path, strerror(errno));
		return PR_EXIT_USAGE;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!buf[0]) {
		pr_cli_error("--output-key-file: %s: empty key", path);
		return PR_EXIT_USAGE;
	}
	*out = strdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return *out ? 0 : PR_EXIT_FAIL;
}

/* Open the new store of a db export on the file pr_outfile created. Returns an exit code. */
static int db_open(struct export_ctx *e, const char *path, const char *key,
		   const struct pr_session_info *si, const char *db_path)
{
	struct pr_store_cfg sc = {
		.path = path,
		.key = key,
		.create = true,
		.store_mode = PR_STORE_MODE_DB,
	};
	struct pr_session_info info = *si;
	int ret;

	ret = pr_store_open(&sc, &e->dst);
	if (ret) {
		pr_cli_error("%s: %s", e->output, pr_store_open_error());
		return PR_EXIT_FAIL;
	}
	snprintf(info.message, sizeof(info.message), "exported from %s session %lld", db_path,
		 (long long)si->id);
	ret = pr_store_session_begin(e->dst, &info, &e->dst_session);
	if (ret) {
		pr_cli_error("%s: %s", e->output, pr_store_errmsg(e->dst));
		return PR_EXIT_FAIL;
	}
	return 0;
}

static int db_finish(struct export_ctx *e, const struct flow_map *fm,
		     const struct pr_session_info *si)
{
	for (size_t i = 0; i < fm->cap; i++)
		if (fm->v[i].flow_id && fm->used[i] &&
		    pr_store_add_flow(e->dst, e->dst_session, &fm->v[i]))
			goto fail;
	if (pr_store_session_set_drops(e->dst, e->dst_session, si->drops) ||
	    pr_store_session_end(e->dst, e->dst_session,
				 si->status == PR_SESSION_RUNNING ? PR_SESSION_COMPLETED :
								    si->status,
				 si->message) ||
	    pr_store_checkpoint(e->dst, true))
		goto fail;
	pr_store_close(e->dst);
	e->dst = NULL;
	return 0;
fail:
	pr_cli_error("%s: %s", e->output, pr_store_errmsg(e->dst));
	return PR_EXIT_FAIL;
}

int pr_cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 'S' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'F' },
		{ "limit", required_argument, NULL, 'n' },
		{ "filter", required_argument, NULL, 'f' },
		{ "manifest", required_argument, NULL, 'm' },
		{ "show-data", no_argument, NULL, OPT_SHOW_DATA },
		{ "output-key", required_argument, NULL, OPT_OUTPUT_KEY },
		{ "output-key-file", required_argument, NULL, OPT_OUTPUT_KEY_FILE },
		{ "show-public-key", no_argument, NULL, OPT_SHOW_PUBKEY },
		{ "file-mode", required_argument, NULL, PR_OPT_FILE_MODE },
		PR_CLI_COMMON_OPTIONS,
		PR_CLI_RANGE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct export_ctx e = { .fmt = FMT_PCAP, .rc = 0 };
	struct pr_cli_session ses = { 0 };
	const struct pr_session_info *si = &ses.si;
	struct pr_outfile *out = NULL;
	unsigned int file_mode = PR_OUTFILE_MODE_DEFAULT;
	struct completeness comp = { 0 };
	struct flow_map fm = { 0 };
	struct cuts cuts = { 0 };
	struct pr_cli cli;
	struct pr_block_pkt p;
	const char *filter = NULL, *manifest = NULL, *key_file = NULL;
	char *out_key = NULL;
	char *comment = NULL, ts0[64], ts1[64], loss[2048], cut[1024];
	uint64_t limit = 0, written = 0, bytes = 0, wire = 0, first_ts = 0, last_ts = 0;
	bool show_data = false, show_pub = false;
	FILE *tf = NULL;
	int64_t session = 0;
	int opt, rc, ret = 0;

	for (int i = 0; i < 256; i++)
		e.map[i] = -1;
	pr_cli_init(&cli, "export");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "S:o:F:n:f:m:" PR_CLI_COMMON_SHORT, longopts,
				  NULL)) != -1) {
		ret = pr_cli_common_opt(&cli, opt, optarg);
		if (ret < 0) {
			rc = -ret;
			goto out;
		}
		if (ret)
			continue;
		switch (opt) {
		case 'S':
			if ((rc = pr_cli_parse_session(optarg, &session)))
				goto out;
			break;
		case 'o':
			if ((rc = pr_cli_check_str("--output", optarg, PATH_MAX, false)))
				goto out;
			e.output = optarg;
			break;
		case 'm':
			if ((rc = pr_cli_check_str("--manifest", optarg, PATH_MAX, false)))
				goto out;
			manifest = optarg;
			break;
		case PR_OPT_FILE_MODE:
			if ((rc = pr_cli_parse_file_mode("--file-mode", optarg, &file_mode)))
				goto out;
			break;
		case 'F': {
			bool found = false;

			for (size_t i = 0; i < PR_ARRAY_SIZE(fmt_names); i++)
				if (!strcmp(optarg, fmt_names[i])) {
					e.fmt = (enum fmt)i;
					found = true;
				}
			if (!found) {
				pr_cli_error(
					"--format: \"%s\" is not pcap, pcapng, jsonl, csv or db",
					optarg);
				rc = PR_EXIT_USAGE;
				goto out;
			}
			break;
		}
		case 'n':
			if ((rc = pr_cli_parse_u64("--limit", optarg, &limit)))
				goto out;
			break;
		case 'f':
			filter = optarg;
			break;
		case OPT_SHOW_DATA:
			show_data = true;
			break;
		case OPT_OUTPUT_KEY:
			free(out_key);
			out_key = strdup(optarg);
			/* As --encryption-key: keep it out of ps. */
			memset(optarg, 'x', strlen(optarg));
			if (!out_key) {
				rc = PR_EXIT_FAIL;
				goto out;
			}
			break;
		case OPT_OUTPUT_KEY_FILE:
			key_file = optarg;
			break;
		case OPT_SHOW_PUBKEY:
			show_pub = true;
			break;
		case 'h':
			usage(stdout);
			rc = PR_EXIT_OK;
			goto out;
		default:
			rc = pr_cli_usage_error(&cli);
			goto out;
		}
	}
	if (optind < argc) {
		pr_cli_error("export: unexpected argument \"%s\"", argv[optind]);
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	if (show_pub) {
		rc = show_public_key(&cli);
		goto out;
	}
	if (!session || !e.output) {
		pr_cli_error("export: --session ID and --output FILE are required");
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	if (!strcmp(e.output, "-") && (e.fmt == FMT_DB || manifest)) {
		pr_cli_error("export: --format db and --manifest need --output FILE, not -");
		rc = PR_EXIT_USAGE;
		goto out;
	}
	if ((out_key || key_file) && e.fmt != FMT_DB) {
		pr_cli_error("export: --output-key and --output-key-file are for --format db");
		rc = PR_EXIT_USAGE;
		goto out;
	}
	if (show_data && e.fmt != FMT_JSONL && e.fmt != FMT_CSV) {
		pr_cli_error("export: --show-data is for --format jsonl and csv");
		rc = PR_EXIT_USAGE;
		goto out;
	}
	if (key_file && !out_key && (rc = read_key_file(key_file, &out_key)))
		goto out;
	if (manifest && !strcmp(manifest, e.output)) {
		pr_cli_error("export: --manifest and --output name the same file");
		rc = PR_EXIT_USAGE;
		goto out;
	}
	/* Checked before the store is opened: only stat() ever looks at its files. */
	{
		struct pr_outfile_cfg oc = {
			.opt = "--output",
			.path = e.output,
			.mode = file_mode,
			.store = cli.db_path,
		};

		if ((rc = pr_cli_outfile_open(&oc, &out)))
			goto out;
	}
	if ((rc = pr_cli_session_open(&cli, session, filter, &ses)))
		goto out;
	pr_store_ifaces_foreach(ses.st, session, scan_iface_cb, &e);
	if (e.rc) {
		rc = e.rc;
		goto out;
	}
	if (e.fmt == FMT_JSONL || e.fmt == FMT_CSV || e.fmt == FMT_DB) {
		ret = pr_store_flows_foreach(ses.st, session, flow_map_add_cb, &fm);
		if (ret) {
			pr_cli_error("%s: session %lld: flows: %s", cli.db_path, (long long)session,
				     ret < 0 ? strerror(-ret) : pr_store_errmsg(ses.st));
			rc = PR_EXIT_FAIL;
			goto out;
		}
	}
	ret = completeness_load(ses.st, si, &cli.range, &comp);
	if (ret) {
		pr_cli_error("%s: session %lld: drop counters: %s", cli.db_path, (long long)session,
			     pr_store_errmsg(ses.st));
		rc = PR_EXIT_FAIL;
		goto out;
	}
	if (cli.range.from_ns && cli.range.from_ns > si->first_pkt_ts_ns)
		cuts.from_ns = cli.range.from_ns;
	if (cli.range.to_ns && cli.range.to_ns < si->last_pkt_ts_ns)
		cuts.to_ns = cli.range.to_ns;
	cuts.flow = cli.range.has_flow;
	cuts.flow_id = cli.range.flow_id;
	pr_cli_format_ts(si->first_pkt_ts_ns, ts0, sizeof(ts0));
	pr_cli_format_ts(si->last_pkt_ts_ns, ts1, sizeof(ts1));
	/* The pcapng comment lists every interval on a line of its own, below. */
	loss_summary(&comp, 0, loss, sizeof(loss));
	cuts_summary(&cuts, false, cut, sizeof(cut));
	if (asprintf(&comment,
		     "packetrecorder session %lld \"%s\" from %s %s%s%s; %" PRIu64
		     " packets from %s to %s; status %s\ncompleteness: %s%s%s",
		     (long long)si->id, si->name, si->source_kind, si->source,
		     si->filter[0] ? "; capture filter " : "", si->filter, si->packets, ts0, ts1,
		     pr_session_status_name(si->status), loss, cut,
		     filter || limit ? "; --filter/--limit cuts: in the manifest" : "") < 0) {
		comment = NULL;
		rc = PR_EXIT_FAIL;
		goto out;
	}
	if (comp.n_iv) {
		size_t have = strlen(comment);
		char *lines = have < UINT16_MAX ? interval_lines(&comp, UINT16_MAX - have) : NULL;
		char *both = NULL;

		if (!lines || asprintf(&both, "%s%s", comment, lines) < 0) {
			free(lines);
			pr_cli_error("export: %s", strerror(ENOMEM));
			rc = PR_EXIT_FAIL;
			goto out;
		}
		free(lines);
		free(comment);
		comment = both;
	}
	/* Messages and --json name the first few intervals in the line itself. */
	loss_summary(&comp, 8, loss, sizeof(loss));
	if (e.fmt == FMT_PCAP || e.fmt == FMT_PCAPNG) {
		struct pr_pcapw_cfg wc = {
			.format = e.fmt == FMT_PCAP ? PR_PCAPW_PCAP : PR_PCAPW_PCAPNG,
			.path = pr_outfile_path(out),
			.comment = comment,
			.user_appl = "packetrecorder " PR_VERSION,
		};

		ret = pr_pcapw_create(&wc, &e.w);
		if (ret) {
			pr_cli_error("%s: %s", e.output, strerror(-ret));
			rc = PR_EXIT_FAIL;
			goto out;
		}
	} else if (e.fmt == FMT_DB) {
		if (!out_key)
			pr_cli_warn("%s: no --output-key: the exported store is not encrypted",
				    e.output);
		if ((rc = db_open(&e, pr_outfile_path(out), out_key, si, cli.db_path)))
			goto out;
	} else {
		tf = strcmp(e.output, "-") ? fopen(pr_outfile_path(out), "w") : stdout;
		if (!tf) {
			pr_cli_error("%s: %s", e.output, strerror(errno));
			rc = PR_EXIT_FAIL;
			goto out;
		}
		if (e.fmt == FMT_CSV)
			fprintf(tf, "%s%s\r\n", CSV_HEADER, show_data ? ",data" : "");
	}
	if (e.fmt != FMT_JSONL && e.fmt != FMT_CSV) {
		pr_store_ifaces_foreach(ses.st, session, add_iface_cb, &e);
		if (e.rc) {
			rc = e.rc;
			goto out;
		}
	}
	/* pr_cli_session_next(), counting what the filter rejects. */
	while ((ret = pr_store_pkt_iter_next(ses.it, &p)) == 1) {
		uint64_t index = pr_store_pkt_iter_index(ses.it);

		if (!pr_cli_filter_match(ses.flt, &p)) {
			cuts.filter_excluded++;
			continue;
		}
		if (limit && written >= limit) {
			cuts.limit_cut = true;
			cuts.limit_next_index = index;
			cuts.limit_next_ts = p.ts_ns;
			break;
		}
		if (p.iface >= 256 || e.map[p.iface] < 0) {
			pr_cli_error("session %lld: a packet names interface %u, which the session "
				     "does not have",
				     (long long)session, p.iface);
			rc = PR_EXIT_FAIL;
			goto out;
		}
		if (e.w) {
			ret = pr_pcapw_write(e.w, (uint32_t)e.map[p.iface], p.ts_ns, p.data,
					     p.cap_len, p.wire_len);
			if (ret) {
				pr_cli_error("%s: %s", e.output, strerror(-ret));
				rc = PR_EXIT_FAIL;
				goto out;
			}
		} else if (e.dst) {
			size_t slot;

			if (flow_map_get(&fm, p.flow_id, &slot))
				fm.used[slot] = true;
			if (pr_store_add_packet(e.dst, e.dst_session, &p) ||
			    ((written + 1) % 65536 == 0 && pr_store_commit(e.dst))) {
				pr_cli_error("%s: %s", e.output, pr_store_errmsg(e.dst));
				rc = PR_EXIT_FAIL;
				goto out;
			}
		} else {
			write_line(&e, tf, &fm, index, &p, show_data);
		}
		if (!written)
			first_ts = p.ts_ns;
		last_ts = p.ts_ns;
		written++;
		bytes += p.cap_len;
		wire += p.wire_len;
	}
	if (ret < 0) {
		pr_cli_error("%s: session %lld: %s", cli.db_path, (long long)session,
			     pr_store_errmsg(ses.st));
		rc = PR_EXIT_FAIL;
		goto out;
	}
	if (e.w) {
		ret = pr_pcapw_close(e.w);
		e.w = NULL;
		if (ret) {
			pr_cli_error("%s: %s", e.output, strerror(-ret));
			rc = PR_EXIT_FAIL;
			goto out;
		}
	} else if (e.dst) {
		if ((rc = db_finish(&e, &fm, si)))
			goto out;
	} else if (tf) {
		ret = tf == stdout ? fflush(tf) : fclose(tf);
		tf = NULL;
		if (ret) {
			pr_cli_error("%s: %s", e.output, strerror(errno));
			rc = PR_EXIT_FAIL;
			goto out;
		}
	}
	if ((rc = pr_cli_outfile_commit(out)))
		goto out;
	if (manifest) {
		struct manifest_in m = {
			.store_path = cli.db_path,
			.si = si,
			.range = &cli.range,
			.filter = filter,
			.limit = limit,
			.fmt = e.fmt,
			.output = e.output,
			.packets = written,
			.bytes = bytes,
			.wire_bytes = wire,
			.first_ts = first_ts,
			.last_ts = last_ts,
			.c = &comp,
			.k = &cuts,
			.encrypted = pr_store_is_encrypted(ses.st),
		};

		if ((rc = manifest_write(&cli, ses.st, manifest, file_mode, &m)))
			goto out;
	}
	cuts_summary(&cuts, true, cut, sizeof(cut));
	if (cli.json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_i64(&j, "session_id", session);
		pr_json_kv_str(&j, "output", e.output);
		pr_json_kv_str(&j, "format", fmt_names[e.fmt]);
		pr_json_kv_u64(&j, "packets", written);
		pr_json_kv_u64(&j, "bytes", bytes);
		pr_json_kv_bool(&j, "no_loss", comp.n_total == 0);
		pr_json_kv_str(&j, "loss", loss);
		pr_json_kv_str(&j, "cuts", cut[0] ? cut + 2 : "");
		{
			uint64_t rd = 0, sk = 0;

			/* How much the block index saved: blocks never read nor decrypted. */
			if (ses.it)
				pr_store_pkt_iter_stats(ses.it, &rd, &sk);
			pr_json_kv_u64(&j, "blocks_read", rd);
			pr_json_kv_u64(&j, "blocks_skipped", sk);
		}
		if (manifest)
			pr_json_kv_str(&j, "manifest", manifest);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		pr_cli_note(&cli,
			    "exported %" PRIu64 " packets (%" PRIu64
			    " bytes) of session %lld to %s; %s%s",
			    written, bytes, (long long)session, e.output, loss, cut);
	}
	rc = PR_EXIT_OK;
out:
	/* A failed export removes only what it created: the new or the temporary file. */
	if (tf && tf != stdout)
		fclose(tf);
	pr_pcapw_close(e.w);
	pr_store_close(e.dst);
	pr_outfile_destroy(out);
	pr_cli_session_close(&ses);
	if (out_key) {
		OPENSSL_cleanse(out_key, strlen(out_key));
		free(out_key);
	}
	free(comment);
	free(comp.iv);
	free(fm.v);
	free(fm.used);
	pr_cli_fini(&cli);
	return rc;
}
