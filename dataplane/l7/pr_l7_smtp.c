// SPDX-License-Identifier: Apache-2.0
/*
 * SMTP: the server's banner and the client's commands (HELO/EHLO, MAIL
 * FROM, RCPT TO, DATA, BDAT, STARTTLS, AUTH with its mechanism only, and
 * the other verbs of RFC 5321), one transaction each. Message contents are
 * passed over: a DATA body line by line up to its lone ".", a BDAT chunk
 * by its length. Only two replies matter: 354 starts a DATA body, and 220
 * after STARTTLS turns the flow into TLS (pr_l7_tls.c takes over at the
 * next byte, so the hellos and certificate are read too), as does a TLS
 * record where a command was due (implicit TLS after a plain banner).
 * Called by pr_l7.c on the dataplane core that owns the flow.
 */
#include <stdio.h>
#include <string.h>

#include "pr_l7_int.h"

/* l7_smtp.flags */
#define SMTP_F_BANNER 0x01 /* the server's first line has been seen */
#define SMTP_F_BODY 0x02 /* client bytes are a DATA body */
#define SMTP_F_BOL 0x04 /* the body is at the start of a line */
#define SMTP_F_STARTTLS 0x08 /* STARTTLS sent, its reply not seen yet */

/* Longest command or reply line we wait for (RFC 5321 allows 512 and 1000 with extensions). */
#define SMTP_LINE_MAX 4096

static const char *const verbs[] = {
	"HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "STARTTLS", "AUTH",    "QUIT",	   "RSET",
	"NOOP", "VRFY", "EXPN", "HELP", "TURN", "ETRN", "ATRN",	    "XCLIENT", "XFORWARD",
};

/* The text between the first '<' and the following '>', or after the ':' when there are none. */
static void address(const uint8_t *v, size_t n, char *dst, size_t cap)
{
	const uint8_t *lt = memchr(v, '<', n), *gt, *colon;

	if (lt) {
		gt = memchr(lt, '>', n - (size_t)(lt - v));
		if (gt) {
			l7_copy_text(dst, cap, lt + 1, (size_t)(gt - lt - 1));
			return;
		}
	}
	colon = memchr(v, ':', n);
	if (colon) {
		size_t k = n - (size_t)(colon + 1 - v);
		const uint8_t *s = colon + 1;

		while (k && *s == ' ') {
			s++;
			k--;
		}
		for (size_t i = 0; i < k; i++) {
			if (s[i] == ' ') {
				k = i;
				break;
			}
		}
		l7_copy_text(dst, cap, s, k);
		return;
	}
	dst[0] = '\0';
}

static void command(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *line,
		    size_t n)
{
	struct l7_smtp *s = &fl->u.smtp;
	const char *verb = NULL;
	size_t vl = 0, al;
	const uint8_t *arg;
	struct pr_l7_txn *t;
	struct pr_l7_smtp *m;

	while (vl < n && line[vl] != ' ')
		vl++;
	for (size_t i = 0; i < PR_ARRAY_SIZE(verbs); i++) {
		if (vl == strlen(verbs[i]) && l7_prefix_ci(line, vl, verbs[i])) {
			verb = verbs[i];
			break;
		}
	}
	/* Not a command: an AUTH exchange line, or garbage. Neither is reported. */
	if (!verb)
		return;
	arg = line + vl;
	al = n - vl;
	while (al && *arg == ' ') {
		arg++;
		al--;
	}
	t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_SMTP_COMMAND);
	m = &t->u.smtp;
	m->reply_code = 0;
	strcpy(m->verb, verb);
	m->arg[0] = '\0';
	if (!strcmp(verb, "AUTH")) {
		/* Never the initial response: it carries credentials. */
		size_t k = 0;

		while (k < al && arg[k] != ' ')
			k++;
		l7_copy_text(m->arg, sizeof(m->arg), arg, k);
		snprintf(m->line, sizeof(m->line), "AUTH %s", m->arg);
	} else {
		l7_copy_text(m->line, sizeof(m->line), line, n);
		if (!strcmp(verb, "MAIL") || !strcmp(verb, "RCPT"))
			address(arg, al, m->arg, sizeof(m->arg));
		else if (!strcmp(verb, "HELO") || !strcmp(verb, "EHLO"))
			l7_copy_text(m->arg, sizeof(m->arg), arg, al);
	}
	l7_txn_emit(ctx);

	if (!strcmp(verb, "STARTTLS")) {
		s->flags |= SMTP_F_STARTTLS;
	} else if (!strcmp(verb, "BDAT")) {
		uint64_t sz = 0;
		size_t i;

		for (i = 0; i < al && arg[i] >= '0' && arg[i] <= '9' && sz < (1ull << 40); i++)
			sz = sz * 10 + (uint64_t)(arg[i] - '0');
		if (i)
			l7_dir_skip(fl, d, sz);
	}
}

/* A DATA body: whole lines up to a line holding only "." (dot-stuffed lines go on). */
static uint32_t body(struct l7_smtp *s, const uint8_t *p, uint32_t len)
{
	uint32_t off = 0;

	while (off < len) {
		long lf;

		if ((s->flags & SMTP_F_BOL) && p[off] == '.') {
			uint32_t n = len - off;

			if (n >= 2 && p[off + 1] == '\n') {
				s->flags &= (uint8_t)~SMTP_F_BODY;
				return off + 2;
			}
			if (n >= 3 && p[off + 1] == '\r' && p[off + 2] == '\n') {
				s->flags &= (uint8_t)~SMTP_F_BODY;
				return off + 3;
			}
			if (n == 1 || (n == 2 && p[off + 1] == '\r'))
				return off; /* the end marker may be split: wait for it */
		}
		lf = l7_find_lf(p + off, len - off);
		if (lf < 0) {
			s->flags &= (uint8_t)~SMTP_F_BOL;
			return len;
		}
		off += (uint32_t)lf + 1;
		s->flags |= SMTP_F_BOL;
	}
	return off;
}

static void reply(struct pr_l7_ctx *ctx, struct l7_flow *fl, uint8_t d, const uint8_t *line,
		  size_t n)
{
	struct l7_smtp *s = &fl->u.smtp;
	unsigned int code;
	bool last;

	if (n < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9')
		return;
	code = (unsigned int)((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
	last = n == 3 || line[3] != '-';
	if (!(s->flags & SMTP_F_BANNER)) {
		struct pr_l7_txn *t = l7_txn_begin(ctx, fl, d, PR_L7_TXN_SMTP_BANNER);
		size_t skip = n > 4 ? 4 : n;

		s->flags |= SMTP_F_BANNER;
		t->u.smtp.reply_code = (uint16_t)code;
		t->u.smtp.verb[0] = '\0';
		l7_copy_text(t->u.smtp.arg, sizeof(t->u.smtp.arg), line + skip, n - skip);
		l7_copy_text(t->u.smtp.line, sizeof(t->u.smtp.line), line, n);
		l7_txn_emit(ctx);
		return;
	}
	if (!last)
		return;
	if (code == 354) {
		s->flags |= SMTP_F_BODY | SMTP_F_BOL;
	} else if (s->flags & SMTP_F_STARTTLS) {
		s->flags &= (uint8_t)~SMTP_F_STARTTLS;
		if (code == 220)
			l7_flow_switch(ctx, fl, PR_L7_APP_TLS);
	}
}

static uint32_t smtp_parse(struct pr_l7_ctx *ctx, struct pr_l7_state *st, uint8_t d,
			   const uint8_t *p, uint32_t len)
{
	struct l7_flow *fl = l7_flow(st);
	struct l7_smtp *s = &fl->u.smtp;
	uint32_t off = 0;

	while (off < len && !l7_dir_done(fl, d) && !fl->dir[d].skip && fl->app == PR_L7_APP_SMTP) {
		const uint8_t *q = p + off;
		long lf;

		if (d == PR_L7_DIR_C2S && (s->flags & SMTP_F_BODY)) {
			uint32_t c = body(s, q, len - off);

			off += c;
			if (!c)
				break;
			continue;
		}
		if (d == PR_L7_DIR_C2S && len - off >= 3 && q[0] == 0x16 && q[1] == 3 &&
		    q[2] <= 4) {
			/* A TLS handshake where a command was due: implicit TLS (port 465). */
			l7_flow_switch(ctx, fl, PR_L7_APP_TLS);
			break;
		}
		lf = l7_find_lf(q, len - off);
		if (lf < 0) {
			if (len - off > SMTP_LINE_MAX)
				l7_dir_stop(ctx, fl, d, L7_STOP_MALFORMED);
			break;
		}
		off += (uint32_t)lf + 1;
		if (d == PR_L7_DIR_C2S)
			command(ctx, fl, d, q, l7_line_len(q, (size_t)lf));
		else
			reply(ctx, fl, d, q, l7_line_len(q, (size_t)lf));
	}
	return off;
}

static bool smtp_port(uint16_t port)
{
	return port == 25 || port == 587 || port == 2525;
}

/*
 * The server's greeting ("220 " or "220-") on a mail port or naming SMTP,
 * or a client opening with HELO/EHLO.
 */
static bool smtp_detect(uint8_t ip_proto, uint8_t dir, uint16_t client_port, uint16_t server_port,
			const uint8_t *p, uint32_t len)
{
	(void)ip_proto;
	(void)client_port;
	if (dir == PR_L7_DIR_C2S)
		return len >= 5 && (l7_prefix_ci(p, len, "EHLO ") || l7_prefix_ci(p, len, "HELO "));
	if (len < 4 || memcmp(p, "220", 3) || (p[3] != ' ' && p[3] != '-'))
		return false;
	if (smtp_port(server_port))
		return true;
	for (uint32_t i = 4; i + 4 <= len && p[i] != '\n'; i++)
		if (!memcmp(p + i, "SMTP", 4))
			return true;
	return false;
}

static void smtp_init(struct pr_l7_state *st)
{
	(void)st;
}

const struct pr_l7_ops pr_l7_smtp_ops = {
	.name = "smtp",
	.app_id = PR_L7_APP_SMTP,
	.l4 = PR_L7_L4_TCP,
	.detect = smtp_detect,
	.init = smtp_init,
	.parse = smtp_parse,
};
