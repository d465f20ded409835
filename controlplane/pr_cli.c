// SPDX-License-Identifier: Apache-2.0
/*
 * Shared command-line plumbing (see pr_cli.h): option handling for the
 * store, key resolution (option, key file, PACKETRECORDER_DB_KEY), store
 * opening with errors mapped to exit codes, and the packet cursor of the
 * query engine (controlplane/query/) opened with every failure printed,
 * for the commands that read stored packets. Main thread only.
 */
#include "pr_cli.h"
#include "pr_json.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * The text for the character at p[0..n): how many bytes it takes (*used)
 * and what to print for it in out (NUL-terminated, at most 4 per byte).
 */
static void esc_char(const unsigned char *p, size_t n, char out[17], size_t *used)
{
	size_t len = pr_json_utf8_len(p, n);
	bool hide = false;

	*used = len ? len : 1;
	if (len == 1) {
		switch (p[0]) {
		case '\\':
			strcpy(out, "\\\\");
			return;
		case '\n':
			strcpy(out, "\\n");
			return;
		case '\r':
			strcpy(out, "\\r");
			return;
		case '\t':
			strcpy(out, "\\t");
			return;
		case 0x1b:
			strcpy(out, "\\e");
			return;
		default:
			hide = p[0] < 0x20 || p[0] == 0x7f;
		}
	} else if (len == 2) {
		hide = p[0] == 0xc2 && p[1] < 0xa0; /* C1: U+0080..U+009F, 0x9b is a CSI */
	} else if (len == 3) {
		/* Bidi overrides reorder what follows them on the line. */
		hide = p[0] == 0xe2 && ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
					(p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9));
	} else if (!len) {
		hide = true;
	}
	if (!hide) {
		memcpy(out, p, *used);
		out[*used] = 0;
		return;
	}
	for (size_t i = 0; i < *used; i++)
		snprintf(out + 4 * i, 5, "\\x%02x", p[i]);
}

size_t pr_cli_esc(char *buf, size_t len, const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, pos = 0, chars = 0;

	if (!len)
		return 0;
	while (i < n) {
		char piece[17];
		size_t used, plen, pchars;

		esc_char(p + i, n - i, piece, &used);
		plen = strlen(piece);
		/* An escape is as wide as its text; a character is one column. */
		pchars = piece[0] == '\\' ? plen : 1;
		if (pos + plen >= len || (max_chars && chars + pchars > max_chars))
			break;
		memcpy(buf + pos, piece, plen);
		pos += plen;
		chars += pchars;
		i += used;
	}
	buf[pos] = 0;
	return chars;
}

/* Print "packetrecorder: <prefix><message>\n", the message escaped. */
static void message(const char *prefix, const char *fmt, va_list ap)
{
	char *msg = NULL, *esc = NULL;
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n >= 0)
		msg = malloc((size_t)n + 1);
	if (msg) {
		vsnprintf(msg, (size_t)n + 1, fmt, ap);
		esc = malloc(PR_CLI_ESC_SIZE((size_t)n));
	}
	if (esc)
		pr_cli_esc(esc, PR_CLI_ESC_SIZE((size_t)n), msg, 0);
	fprintf(stderr, "packetrecorder: %s%s\n", prefix, esc ? esc : "(out of memory)");
	free(esc);
	free(msg);
}

void pr_cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("error: ", fmt, ap);
	va_end(ap);
}

void pr_cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("warning: ", fmt, ap);
	va_end(ap);
}

void pr_cli_note(const struct pr_cli *cli, const char *fmt, ...)
{
	va_list ap;

	if (cli->quiet > 0)
		return;
	va_start(ap, fmt);
	message("", fmt, ap);
	va_end(ap);
}

void pr_cli_init(struct pr_cli *cli, const char *command)
{
	memset(cli, 0, sizeof(*cli));
	cli->command = command;
	cli->db_path = "packets.db";
	pr_config_defaults(&cli->cfg);
}

static void key_wipe(struct pr_cli *cli)
{
	if (cli->key) {
		explicit_bzero(cli->key, strlen(cli->key));
		free(cli->key);
		cli->key = NULL;
	}
}

void pr_cli_fini(struct pr_cli *cli)
{
	key_wipe(cli);
}

/*
 * Keep a copy of the key and overwrite its bytes in argv at once: the
 * kernel shows the argv memory in /proc/PID/cmdline, and so to ps and any
 * user, for as long as the process runs. (It is visible from exec until
 * here; --key-file and the environment never are.)
 */
static int key_take(struct pr_cli *cli, char *arg)
{
	char *k = strdup(arg);

	if (!k) {
		pr_cli_error("--encryption-key: %s", strerror(ENOMEM));
		return -PR_EXIT_FAIL;
	}
	memset(arg, 'x', strlen(arg));
	key_wipe(cli);
	cli->key = k;
	cli->key_given = true;
	return 1;
}

int pr_cli_common_opt(struct pr_cli *cli, int c, char *arg)
{
	switch (c) {
	case 'd':
		if (!arg[0]) {
			pr_cli_error("--database: empty file name");
			return -PR_EXIT_USAGE;
		}
		cli->db_path = arg;
		return 1;
	case PR_OPT_KEY:
		return key_take(cli, arg);
	case PR_OPT_KEY_FILE:
		if (!arg[0]) {
			pr_cli_error("--key-file: empty file name");
			return -PR_EXIT_USAGE;
		}
		cli->key_file = arg;
		return 1;
	case PR_OPT_CONFIG:
		if (!arg[0]) {
			pr_cli_error("--config: empty file name");
			return -PR_EXIT_USAGE;
		}
		cli->config_path = arg;
		return 1;
	case PR_OPT_JSON:
		cli->json = true;
		return 1;
	case 'q':
		cli->quiet++;
		return 1;
	case 'v':
		cli->quiet--;
		return 1;
	case PR_OPT_FROM:
	case PR_OPT_TO:
		if (pr_cli_parse_time(arg,
				      c == PR_OPT_FROM ? &cli->range.from_ns : &cli->range.to_ns)) {
			pr_cli_error("--%s: \"%s\" is not a time (RFC 3339 such as "
				     "2024-05-01T12:00:00Z, or epoch nanoseconds)",
				     c == PR_OPT_FROM ? "from" : "to", arg);
			return -PR_EXIT_USAGE;
		}
		if (cli->range.from_ns && cli->range.to_ns &&
		    cli->range.from_ns > cli->range.to_ns) {
			pr_cli_error("--from is after --to: nothing could match");
			return -PR_EXIT_USAGE;
		}
		return 1;
	case PR_OPT_FLOW: {
		uint64_t v;

		if (pr_cli_parse_u64("--flow", arg, &v))
			return -PR_EXIT_USAGE;
		cli->range.has_flow = true;
		cli->range.flow_id = v;
		return 1;
	}
	default:
		return 0;
	}
}

int pr_cli_parse_time(const char *s, uint64_t *ns)
{
	int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
	uint64_t frac = 0, scale = 1000000000u;
	struct tm tm = { 0 };
	const char *p;
	time_t t;

	if (!s[0])
		return -1;
	if (strspn(s, "0123456789") == strlen(s)) {
		if (strlen(s) > 19)
			return -1;
		*ns = strtoull(s, NULL, 10);
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	p = s + n;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return -1;
		while (*p >= '0' && *p <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
		   strlen(p) == 6 && oh < 24 && om < 60) {
		if (*p == '+') {
			oh = -oh;
			om = -om;
		}
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm) + (time_t)oh * 3600 + (time_t)om * 60;
	if (t < 0)
		return -1;
	*ns = (uint64_t)t * 1000000000u + frac;
	return 0;
}

void pr_cli_key_help(FILE *f)
{
	fputs("      --key-file FILE    read the store's key from the first line of FILE\n"
	      "      --encryption-key K the key itself: a passphrase, or 64 hex digits for a raw\n"
	      "                         key (default $PACKETRECORDER_DB_KEY). Prefer --key-file or\n"
	      "                         the variable: other users can see a key on the command\n"
	      "                         line (ps) until the command has wiped it\n",
	      f);
}

int pr_cli_usage_error(const struct pr_cli *cli)
{
	fprintf(stderr, "Try 'packetrecorder %s --help'.\n", cli->command);
	return PR_EXIT_USAGE;
}

static int read_key_file(const char *path, char **out)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		pr_cli_error("--key-file %s: %s", path, strerror(errno));
		return PR_EXIT_FAIL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!buf[0]) {
		pr_cli_error("--key-file %s: the first line is empty", path);
		explicit_bzero(buf, sizeof(buf));
		return PR_EXIT_USAGE;
	}
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out ? 0 : PR_EXIT_FAIL;
}

int pr_cli_prepare(struct pr_cli *cli)
{
	const char *env;
	char err[512];
	int ret;

	if (!cli->config_path) {
		env = getenv("PACKETRECORDER_CONFIG");
		if (env && env[0])
			cli->config_path = env;
	}
	if (cli->config_path) {
		ret = pr_config_load(&cli->cfg, cli->config_path, err, sizeof(err));
		if (ret) {
			pr_cli_error("%s", err);
			return ret == -EINVAL ? PR_EXIT_USAGE : PR_EXIT_FAIL;
		}
	}
	if (cli->key_given && cli->key_file) {
		pr_cli_error("give either --encryption-key or --key-file, not both");
		return PR_EXIT_USAGE;
	}
	if (cli->key_file)
		return read_key_file(cli->key_file, &cli->key);
	if (cli->key_given) {
		if (!cli->key[0]) {
			pr_cli_error("--encryption-key: empty key");
			return PR_EXIT_USAGE;
		}
	} else {
		env = getenv("PACKETRECORDER_DB_KEY");
		if (env && env[0])
			cli->key = strdup(env);
	}
	return 0;
}

int pr_cli_parse_u64(const char *opt, const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || s[0] == ' ') {
		pr_cli_error("%s: not a whole number: \"%s\"", opt, s);
		return PR_EXIT_USAGE;
	}
	*out = v;
	return 0;
}

int pr_cli_parse_size(const char *opt, const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		goto bad;
	if (*end) {
		switch (*end) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		default:
			goto bad;
		}
		if (end[1] || v > (~0ull >> shift))
			goto bad;
	}
	*out = v << shift;
	return 0;
bad:
	pr_cli_error("%s: not a size in bytes (k, m, g suffixes allowed): \"%s\"", opt, s);
	return PR_EXIT_USAGE;
}

int pr_cli_parse_double(const char *opt, const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e9) {
		pr_cli_error("%s: not a non-negative number: \"%s\"", opt, s);
		return PR_EXIT_USAGE;
	}
	*out = v;
	return 0;
}

int pr_cli_parse_session(const char *s, int64_t *out)
{
	uint64_t v;

	if (pr_cli_parse_u64("--session", s, &v))
		return PR_EXIT_USAGE;
	if (!v || v > INT64_MAX) {
		pr_cli_error("--session: session ids start at 1: \"%s\"", s);
		return PR_EXIT_USAGE;
	}
	*out = (int64_t)v;
	return 0;
}

int pr_cli_parse_file_mode(const char *opt, const char *s, unsigned int *mode)
{
	if (pr_outfile_parse_mode(s, mode)) {
		pr_cli_error("%s: not an octal permission mode from 0 to 0777: \"%s\"", opt, s);
		return PR_EXIT_USAGE;
	}
	return 0;
}

int pr_cli_check_str(const char *opt, const char *s, size_t max, bool allow_empty)
{
	size_t n = strlen(s);

	if (!n && !allow_empty) {
		pr_cli_error("%s: empty value", opt);
		return PR_EXIT_USAGE;
	}
	if (n >= max) {
		pr_cli_error("%s: %zu bytes is too long: at most %zu bytes", opt, n, max - 1);
		return PR_EXIT_USAGE;
	}
	return 0;
}

int pr_cli_outfile_open(const struct pr_outfile_cfg *cfg, struct pr_outfile **out)
{
	char err[PATH_MAX * 3];
	int ret = pr_outfile_open(cfg, out, err, sizeof(err));

	if (!ret)
		return 0;
	pr_cli_error("%s", err);
	return ret == -EINVAL ? PR_EXIT_USAGE : PR_EXIT_FAIL;
}

int pr_cli_outfile_commit(struct pr_outfile *of)
{
	char err[PATH_MAX + 256];

	if (!pr_outfile_commit(of, err, sizeof(err)))
		return 0;
	pr_cli_error("%s", err);
	return PR_EXIT_FAIL;
}

int pr_cli_open_store(struct pr_cli *cli, bool create, struct pr_store **out)
{
	struct pr_store_cfg scfg = {
		.path = cli->db_path,
		.key = cli->key,
		.create = create,
		.block_max_packets = cli->cfg.block_max_packets,
		.block_max_bytes = (uint32_t)cli->cfg.block_max_bytes,
		.manual_checkpoint = cli->manual_checkpoint,
		.store_mode = cli->cfg.store_mode ? PR_STORE_MODE_DB : PR_STORE_MODE_SEGMENTS,
		.compress = cli->cfg.store_compress != 0,
		/* Reading commands work on a store they cannot write (read-only media). */
		.readonly_fallback = !create,
	};
	int ret, n;

	*out = NULL;
	if (!create && access(cli->db_path, F_OK)) {
		pr_cli_error("%s: no such database (capture something first, or give -d FILE)",
			     cli->db_path);
		return PR_EXIT_NOTFOUND;
	}
	ret = pr_store_open(&scfg, out);
	if (ret) {
		pr_cli_error("%s", pr_store_open_error());
		if (ret == -EKEYREJECTED)
			return PR_EXIT_KEY;
		/* Only a command that reads a store can be missing one; capture could not create it. */
		if (ret == -ENOENT && !create)
			return PR_EXIT_NOTFOUND;
		return PR_EXIT_FAIL;
	}
	if (!pr_store_is_encrypted(*out))
		pr_cli_warn("%s is not encrypted (no --encryption-key, --key-file or "
			    "PACKETRECORDER_DB_KEY): anyone who can read the file can read the "
			    "packets",
			    cli->db_path);
	if (pr_store_is_readonly(*out)) {
		pr_cli_note(cli,
			    "%s: the store is not writable here: reading only, nothing will be "
			    "written (sessions of a writer that died are not marked interrupted)",
			    cli->db_path);
		return 0;
	}
	n = pr_store_recover(*out);
	if (n > 0)
		pr_cli_note(cli,
			    "%s: %d session%s left running by a process that died %s now "
			    "marked interrupted",
			    cli->db_path, n, n == 1 ? "" : "s", n == 1 ? "is" : "are");
	return 0;
}

int pr_cli_get_session(struct pr_cli *cli, struct pr_store *st, int64_t id,
		       struct pr_session_info *out)
{
	struct pr_query_err err;
	int ret = pr_query_session_get(st, id, out, &err);

	if (ret == -ENOENT) {
		pr_cli_error("no session %lld in %s (see `packetrecorder sessions`)", (long long)id,
			     cli->db_path);
		return PR_EXIT_NOTFOUND;
	}
	if (ret) {
		pr_cli_error("%s: %s", cli->db_path, err.msg);
		return PR_EXIT_FAIL;
	}
	return 0;
}

int pr_cli_filter_check(const char *expr)
{
	struct pr_query_err err;
	int ret = pr_query_filter_check(expr, &err);

	if (!ret)
		return 0;
	pr_cli_error("%s", err.msg);
	return pr_cli_query_rc(ret);
}

int pr_cli_query_rc(int err)
{
	switch (err) {
	case 0:
		return PR_EXIT_OK;
	case -EINVAL:
		return PR_EXIT_USAGE;
	case -ENOENT:
		return PR_EXIT_NOTFOUND;
	default:
		return PR_EXIT_FAIL;
	}
}

int pr_cli_session_open(struct pr_cli *cli, int64_t session, const char *filter,
			struct pr_cli_session *s)
{
	struct pr_query_pkts_req req = {
		.session = session,
		.filter = filter,
		.from_ns = cli->range.from_ns,
		.to_ns = cli->range.to_ns,
		.has_flow = cli->range.has_flow,
		.flow_id = cli->range.flow_id,
	};
	struct pr_query_err err;
	int rc;

	s->id = session;
	/* The checks in the order the user can fix them: filter, key, store, session. */
	if ((rc = pr_cli_filter_check(filter)) || (rc = pr_cli_prepare(cli)) ||
	    (rc = pr_cli_open_store(cli, false, &s->st)) ||
	    (rc = pr_cli_get_session(cli, s->st, session, &s->si)))
		return rc;
	rc = pr_query_pkts_open(s->st, &req, &s->q, &err);
	if (rc) {
		/* The store's failures name the store, as every command's do. */
		if (rc == -EINVAL || rc == -ENOENT)
			pr_cli_error("%s", err.msg);
		else
			pr_cli_error("%s: %s", cli->db_path, err.msg);
		return pr_cli_query_rc(rc);
	}
	s->si = *pr_query_pkts_session(s->q);
	s->flt = pr_query_pkts_filter(s->q);
	s->it = pr_query_pkts_iter(s->q);
	return 0;
}

int pr_cli_session_next(const struct pr_cli *cli, struct pr_cli_session *s,
			struct pr_block_pkt *pkt)
{
	struct pr_query_err err;
	struct pr_query_pkt qp;
	int ret = pr_query_pkts_next(s->q, &qp, &err);

	if (ret == 1) {
		*pkt = qp.pkt;
		s->index = qp.index;
		return 1;
	}
	if (ret < 0) {
		pr_cli_error("%s: %s", cli->db_path, err.msg);
		return -1;
	}
	return 0;
}

void pr_cli_session_close(struct pr_cli_session *s)
{
	pr_query_pkts_close(s->q);
	pr_store_close(s->st);
	memset(s, 0, sizeof(*s));
}

void pr_cli_format_ts(uint64_t ts_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ts_ns / 1000000000ull);
	struct tm tm;

	if (!gmtime_r(&sec, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned long long)(ts_ns % 1000000000ull));
}

const char *pr_cli_ip_proto_name(uint8_t proto)
{
	switch (proto) {
	case 1:
		return "ICMP";
	case 2:
		return "IGMP";
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 47:
		return "GRE";
	case 50:
		return "ESP";
	case 58:
		return "ICMPv6";
	case 89:
		return "OSPF";
	case 132:
		return "SCTP";
	default:
		return NULL;
	}
}
