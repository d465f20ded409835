// SPDX-License-Identifier: Apache-2.0
/*
 * Flow filters (`flows --where`): a recursive-descent parser turns the
 * expression into an array of nodes (or/and lists, not, and comparisons of
 * a field with a value), the regular expressions compiled and the values
 * that are numbers or networks decoded once; evaluation walks the nodes
 * against a flow's JSON object, with "any element" semantics wherever a
 * field's path crosses a list. The parser is bounded (length, nodes,
 * nesting) so that hostile input costs little; its recursion is bounded by
 * the nesting limit, and and/or chains are lists, not nested pairs, so the
 * evaluator's recursion is too. Owns its nodes; compile in any thread,
 * evaluate from any number of threads at once.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_flowwhere.h"
#include "pr_regex_guard.h"

#define MAX_PATHS 3 /* fields a shortcut stands for */
#define MAX_COMPONENTS 16 /* dotted names in a field */
#define WALK_MAX_DEPTH 32 /* objects and lists walked into; json-c parses 32 deep */

enum node_kind { N_OR, N_AND, N_NOT, N_EXISTS, N_CMP };
enum cmp_op { OP_EQ, OP_NE, OP_RE, OP_NRE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN };

struct num {
	bool is_double;
	bool neg; /* integer: the sign, with mag the magnitude (no -0) */
	uint64_t mag;
	double d;
};

struct node {
	enum node_kind kind;
	int first, next; /* children of or/and/not; the next sibling (-1: none) */
	enum cmp_op op;
	int npaths;
	char *path[MAX_PATHS]; /* components NUL-separated */
	int ncomp[MAX_PATHS];
	char *value; /* decoded */
	size_t value_len;
	bool has_num;
	struct num num;
	bool has_re;
	regex_t re;
	int family; /* OP_IN: AF_INET or AF_INET6, with the network and its prefix */
	uint8_t net[16];
	unsigned prefix;
};

struct pr_flowwhere {
	struct node *nodes;
	int n;
	int root;
};

enum tok_kind { T_END, T_LPAREN, T_RPAREN, T_OP, T_WORD, T_STRING };

struct tok {
	enum tok_kind kind;
	size_t pos; /* 0-based offset in the expression */
	size_t len; /* source bytes */
	enum cmp_op op;
	char *text; /* T_WORD, T_STRING: decoded, in the parser's scratch */
	size_t text_len;
};

struct parser {
	const char *src;
	size_t len;
	size_t cur; /* where the next token starts */
	struct tok tok; /* the current token */
	char *scratch; /* decoded token text (never longer than the source) */
	struct pr_flowwhere *w;
	char *err;
	size_t errlen;
	bool failed;
	bool nomem;
	struct pr_regex_size re; /* the regular expressions' size so far */
};

static const char *const op_names[] = {
	[OP_EQ] = "==", [OP_NE] = "!=", [OP_RE] = "~",	[OP_NRE] = "!~", [OP_LT] = "<",
	[OP_LE] = "<=", [OP_GT] = ">",	[OP_GE] = ">=", [OP_IN] = "in",
};

static const struct {
	const char *name;
	const char *paths[MAX_PATHS];
} shortcuts[] = {
	{ "sni", { "tls.sni", "quic.sni", "dtls.sni" } },
	{ "qname", { "dns.qname" } },
	{ "host", { "http.host" } },
	{ "user_agent", { "http.user_agent" } },
	{ "ua", { "http.user_agent" } },
	{ "ja3", { "tls.ja3", "dtls.ja3" } },
	{ "ja4", { "tls.ja4", "quic.ja4", "dtls.ja4" } },
	{ "port", { "src_port", "dst_port" } },
	{ "ip", { "src_ip", "dst_ip" } },
	{ "addr", { "src_ip", "dst_ip" } },
};

/* ---- errors ---- */

static void fail_at(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return;
	p->failed = true;
	if (!p->err || !p->errlen)
		return;
	n = snprintf(p->err, p->errlen, "at %zu: ", pos + 1);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * The token as the user wrote it, quoted and cut to 40 bytes, with bytes
 * that would garble a terminal shown as '?', or "the end".
 */
static const char *tok_desc(const struct parser *p, const struct tok *t, char *buf, size_t len)
{
	size_t i, n = t->len < 40 ? t->len : 40, o = 0;

	if (t->kind == T_END)
		return "the end";
	buf[o++] = '"';
	for (i = 0; i < n && o + 5 < len; i++) {
		unsigned char c = (unsigned char)p->src[t->pos + i];

		buf[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (n < t->len && o + 5 < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = 0;
	return buf;
}

/* ---- lexer ---- */

static bool word_char(char c)
{
	return c && !isspace((unsigned char)c) && !strchr("()\"=!<>~", c);
}

/* Read the token at p->cur into p->tok. */
static void lex(struct parser *p)
{
	const char *s = p->src;
	size_t i = p->cur, o = 0;
	struct tok *t = &p->tok;

	while (i < p->len && isspace((unsigned char)s[i]))
		i++;
	*t = (struct tok){ .kind = T_END, .pos = i };
	if (i >= p->len) {
		p->cur = i;
		return;
	}
	switch (s[i]) {
	case '(':
	case ')':
		t->kind = s[i] == '(' ? T_LPAREN : T_RPAREN;
		t->len = 1;
		break;
	case '=':
	case '!':
	case '<':
	case '>':
	case '~':
		t->kind = T_OP;
		t->len = 1;
		if (s[i] == '~') {
			t->op = OP_RE;
		} else if (s[i] == '<' || s[i] == '>') {
			bool eq = s[i + 1] == '=';

			t->op = s[i] == '<' ? (eq ? OP_LE : OP_LT) : (eq ? OP_GE : OP_GT);
			t->len += eq;
		} else if (s[i] == '=' && s[i + 1] == '=') {
			t->op = OP_EQ;
			t->len = 2;
		} else if (s[i] == '!' && (s[i + 1] == '=' || s[i + 1] == '~')) {
			t->op = s[i + 1] == '=' ? OP_NE : OP_NRE;
			t->len = 2;
		} else if (s[i] == '=') {
			fail_at(p, i, "unexpected \"=\" (compare with \"==\")");
		} else {
			fail_at(p, i, "unexpected \"!\" (negate with \"not\")");
		}
		break;
	case '"':
		/*
		 * Only \" and \\ are escapes; any other backslash stays, so that
		 * "\.com$" is the regular expression it looks like.
		 */
		t->kind = T_STRING;
		t->text = p->scratch;
		for (i++; i < p->len && s[i] != '"'; i++) {
			if (s[i] == '\\' && (s[i + 1] == '"' || s[i + 1] == '\\'))
				i++;
			p->scratch[o++] = s[i];
		}
		if (i >= p->len) {
			fail_at(p, t->pos, "unterminated string (no closing '\"')");
			return;
		}
		p->scratch[o] = 0;
		t->text_len = o;
		t->len = i + 1 - t->pos;
		break;
	default:
		t->kind = T_WORD;
		t->text = p->scratch;
		while (i < p->len && word_char(s[i]))
			p->scratch[o++] = s[i++];
		p->scratch[o] = 0;
		t->text_len = o;
		t->len = o;
		break;
	}
	p->cur = t->pos + t->len;
}

static bool is_word(const struct tok *t, const char *w)
{
	return t->kind == T_WORD && !strcmp(t->text, w);
}

/* ---- parser ---- */

static int new_node(struct parser *p, enum node_kind kind)
{
	struct pr_flowwhere *w = p->w;
	struct node *n;

	if (w->n >= PR_FLOWWHERE_MAX_NODES) {
		fail_at(p, p->tok.pos,
			"more than %d comparisons and operators (the limit of an expression)",
			PR_FLOWWHERE_MAX_NODES);
		return -1;
	}
	n = &w->nodes[w->n];
	n->kind = kind;
	n->first = n->next = -1;
	return w->n++;
}

static int parse_or(struct parser *p, int depth);

/* "name(.name)*" with names of letters, digits, '_' and '-'. */
static bool field_ok(const char *s)
{
	int comps = 1;

	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++) {
		if (*s == '.') {
			if (!s[1] || s[1] == '.' || ++comps > MAX_COMPONENTS)
				return false;
		} else if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') {
			return false;
		}
	}
	return true;
}

static int add_path(struct node *n, const char *field)
{
	char *c = strdup(field);

	if (!c)
		return -ENOMEM;
	n->ncomp[n->npaths] = 1;
	for (char *d = c; (d = strchr(d, '.')); d++) {
		*d = 0;
		n->ncomp[n->npaths]++;
	}
	n->path[n->npaths++] = c;
	return 0;
}

static int set_field(struct parser *p, struct node *n, const char *field)
{
	for (size_t i = 0; i < sizeof(shortcuts) / sizeof(shortcuts[0]); i++) {
		if (strcmp(field, shortcuts[i].name))
			continue;
		for (int k = 0; k < MAX_PATHS && shortcuts[i].paths[k]; k++)
			if (add_path(n, shortcuts[i].paths[k]))
				goto nomem;
		return 0;
	}
	if (!add_path(n, field))
		return 0;
nomem:
	p->nomem = true;
	fail_at(p, p->tok.pos, "out of memory");
	return -ENOMEM;
}

/* A number as JSON writes them: -?digits(.digits)?([eE][+-]?digits)? */
static bool parse_num(const char *s, struct num *out)
{
	const char *q = s + (*s == '-');
	bool is_double = false;
	char *end;

	if (!isdigit((unsigned char)*q))
		return false;
	while (isdigit((unsigned char)*q))
		q++;
	if (*q == '.') {
		is_double = true;
		if (!isdigit((unsigned char)*++q))
			return false;
		while (isdigit((unsigned char)*q))
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		is_double = true;
		q += q[1] == '+' || q[1] == '-';
		if (!isdigit((unsigned char)*++q))
			return false;
		while (isdigit((unsigned char)*q))
			q++;
	}
	if (*q)
		return false;
	*out = (struct num){ .is_double = is_double };
	errno = 0;
	out->d = strtod(s, NULL);
	if (!is_double) {
		/* Too big for 64 bits: compare as a double rather than clamp. */
		out->mag = strtoull(s + (*s == '-'), &end, 10);
		if (errno == ERANGE)
			out->is_double = true;
		out->neg = *s == '-' && out->mag;
	}
	return true;
}

static bool parse_net(const char *s, struct node *n)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long pfx;
	char *end;

	if (alen >= sizeof(addr))
		return false;
	memcpy(addr, s, alen);
	addr[alen] = 0;
	if (inet_pton(AF_INET, addr, n->net) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, n->net) == 1)
		n->family = AF_INET6;
	else
		return false;
	n->prefix = n->family == AF_INET ? 32 : 128;
	if (!slash)
		return true;
	if (!isdigit((unsigned char)slash[1]))
		return false;
	errno = 0;
	pfx = strtoul(slash + 1, &end, 10);
	if (*end || errno || pfx > n->prefix)
		return false;
	n->prefix = (unsigned)pfx;
	return true;
}

/* FIELD [OP VALUE | in NETWORK] */
static int parse_cmp(struct parser *p)
{
	char desc[64], desc2[64];
	struct node *n;
	int i, ret;

	if (p->tok.kind != T_WORD || is_word(&p->tok, "and") || is_word(&p->tok, "or") ||
	    is_word(&p->tok, "in")) {
		fail_at(p, p->tok.pos, "expected a field name, got %s",
			tok_desc(p, &p->tok, desc, sizeof(desc)));
		return -1;
	}
	if (!field_ok(p->tok.text)) {
		fail_at(p, p->tok.pos,
			"%s is not a field name (names of letters, digits, '_' and '-', joined by '.')",
			tok_desc(p, &p->tok, desc, sizeof(desc)));
		return -1;
	}
	i = new_node(p, N_EXISTS);
	if (i < 0)
		return -1;
	n = &p->w->nodes[i];
	if (set_field(p, n, p->tok.text))
		return -1;
	lex(p);
	if (p->failed)
		return -1;
	if (p->tok.kind == T_OP) {
		n->op = p->tok.op;
	} else if (is_word(&p->tok, "in")) {
		n->op = OP_IN;
	} else {
		return i; /* a bare field: exists and is not empty */
	}
	n->kind = N_CMP;
	struct tok optok = p->tok;

	lex(p);
	if (p->failed)
		return -1;
	if (p->tok.kind != T_WORD && p->tok.kind != T_STRING) {
		fail_at(p, p->tok.pos, "expected a value after %s, got %s",
			tok_desc(p, &optok, desc, sizeof(desc)),
			tok_desc(p, &p->tok, desc2, sizeof(desc2)));
		return -1;
	}
	n->value = strdup(p->tok.text);
	if (!n->value) {
		p->nomem = true;
		fail_at(p, p->tok.pos, "out of memory");
		return -1;
	}
	n->value_len = p->tok.text_len;
	n->has_num = parse_num(n->value, &n->num);
	switch (n->op) {
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		if (!n->has_num) {
			fail_at(p, p->tok.pos, "expected a number after \"%s\", got %s",
				op_names[n->op], tok_desc(p, &p->tok, desc, sizeof(desc)));
			return -1;
		}
		break;
	case OP_IN:
		if (!parse_net(n->value, n)) {
			fail_at(p, p->tok.pos,
				"expected an address or network (10.0.0.0/8, 2001:db8::/32) after "
				"\"in\", got %s",
				tok_desc(p, &p->tok, desc, sizeof(desc)));
			return -1;
		}
		break;
	case OP_RE:
	case OP_NRE:
		if (pr_regex_has_backref(n->value)) {
			fail_at(p, p->tok.pos,
				"back-references (\\1 ... \\9) are not supported in %s",
				tok_desc(p, &p->tok, desc, sizeof(desc)));
			return -1;
		}
		{
			struct pr_regex_size sz;
			const char *what = NULL;
			unsigned lim = 0;

			if (pr_regex_expanded_size(n->value, &sz)) {
				fail_at(p, p->tok.pos,
					"%s repeats ('*', '+', {m,n}) a part that can match "
					"nothing, as \"(a|)*\", \"(b*)+\" or \"c**\" do; "
					"the regex compiler takes minutes on such patterns: "
					"repeat what must match something",
					tok_desc(p, &p->tok, desc, sizeof(desc)));
				return -1;
			}
			if (sz.atoms > PR_FLOWWHERE_MAX_RE_ATOMS - p->re.atoms) {
				what = "atoms";
				lim = PR_FLOWWHERE_MAX_RE_ATOMS;
			} else if (sz.empty > PR_FLOWWHERE_MAX_RE_EMPTY - p->re.empty) {
				what = "optional parts, groups and alternatives";
				lim = PR_FLOWWHERE_MAX_RE_EMPTY;
			}
			if (what) {
				fail_at(p, p->tok.pos,
					"%s is too large once its repetitions are expanded (more "
					"than %u %s in the expression's regular expressions, the "
					"limit)",
					tok_desc(p, &p->tok, desc, sizeof(desc)), lim, what);
				return -1;
			}
			pr_regex_size_add(&p->re, &sz, 1);
		}
		ret = regcomp(&n->re, n->value, REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (ret) {
			char msg[128];

			regerror(ret, &n->re, msg, sizeof(msg));
			fail_at(p, p->tok.pos, "bad regular expression %s: %s",
				tok_desc(p, &p->tok, desc, sizeof(desc)), msg);
			return -1;
		}
		n->has_re = true;
		break;
	default:
		break;
	}
	lex(p);
	return p->failed ? -1 : i;
}

/* not UNARY | ( OR ) | CMP */
static int parse_unary(struct parser *p, int depth)
{
	char desc[64];
	int i, c;

	if (is_word(&p->tok, "not") || p->tok.kind == T_LPAREN) {
		size_t open = p->tok.pos;
		bool paren = p->tok.kind == T_LPAREN;

		if (depth >= PR_FLOWWHERE_MAX_DEPTH) {
			fail_at(p, p->tok.pos,
				"nested deeper than %d parentheses and \"not\" (the limit)",
				PR_FLOWWHERE_MAX_DEPTH);
			return -1;
		}
		lex(p);
		if (p->failed)
			return -1;
		if (paren) {
			c = parse_or(p, depth + 1);
			if (c < 0)
				return -1;
			if (p->tok.kind != T_RPAREN) {
				fail_at(p, p->tok.pos,
					"expected \")\" to close the \"(\" at %zu, got %s",
					open + 1, tok_desc(p, &p->tok, desc, sizeof(desc)));
				return -1;
			}
			lex(p);
			return p->failed ? -1 : c;
		}
		c = parse_unary(p, depth + 1);
		if (c < 0)
			return -1;
		i = new_node(p, N_NOT);
		if (i >= 0)
			p->w->nodes[i].first = c;
		return i;
	}
	return parse_cmp(p);
}

/* One level of the and/or lists: items joined by word, as one list node. */
static int parse_list(struct parser *p, int depth, const char *word, enum node_kind kind)
{
	int first, last, i, c;

	first = kind == N_AND ? parse_unary(p, depth) : parse_list(p, depth, "and", N_AND);
	if (first < 0 || !is_word(&p->tok, word))
		return first;
	i = new_node(p, kind);
	if (i < 0)
		return -1;
	p->w->nodes[i].first = last = first;
	while (is_word(&p->tok, word)) {
		lex(p);
		if (p->failed)
			return -1;
		c = kind == N_AND ? parse_unary(p, depth) : parse_list(p, depth, "and", N_AND);
		if (c < 0)
			return -1;
		p->w->nodes[last].next = c;
		last = c;
	}
	return i;
}

static int parse_or(struct parser *p, int depth)
{
	return parse_list(p, depth, "or", N_OR);
}

int pr_flowwhere_compile(const char *expr, struct pr_flowwhere **out, char *err, size_t errlen)
{
	struct parser p = { .src = expr, .err = err, .errlen = errlen };
	struct pr_flowwhere *w = NULL;
	char desc[64];
	int ret = -EINVAL;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	p.len = strnlen(expr, PR_FLOWWHERE_MAX_LEN + 1);
	if (p.len > PR_FLOWWHERE_MAX_LEN) {
		if (err && errlen)
			snprintf(err, errlen, "the expression is longer than %d bytes (the limit)",
				 PR_FLOWWHERE_MAX_LEN);
		return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	p.scratch = malloc(p.len + 1);
	if (!w || !p.scratch)
		goto nomem;
	w->nodes = calloc(PR_FLOWWHERE_MAX_NODES, sizeof(*w->nodes));
	if (!w->nodes)
		goto nomem;
	p.w = w;
	lex(&p);
	if (!p.failed && p.tok.kind == T_END)
		fail_at(&p, p.tok.pos, "empty expression");
	if (!p.failed)
		w->root = parse_or(&p, 0);
	if (!p.failed && p.tok.kind != T_END)
		fail_at(&p, p.tok.pos, "expected \"and\", \"or\" or the end, got %s",
			tok_desc(&p, &p.tok, desc, sizeof(desc)));
	if (p.failed) {
		if (p.nomem)
			ret = -ENOMEM;
		goto out;
	}
	*out = w;
	w = NULL;
	ret = 0;
	goto out;
nomem:
	ret = -ENOMEM;
	if (err && errlen)
		snprintf(err, errlen, "out of memory");
out:
	free(p.scratch);
	pr_flowwhere_destroy(w);
	return ret;
}

void pr_flowwhere_destroy(struct pr_flowwhere *w)
{
	if (!w)
		return;
	for (int i = 0; w->nodes && i < w->n; i++) {
		struct node *n = &w->nodes[i];

		for (int k = 0; k < n->npaths; k++)
			free(n->path[k]);
		free(n->value);
		if (n->has_re)
			regfree(&n->re);
	}
	free(w->nodes);
	free(w);
}

/* ---- evaluation ---- */

static int num_cmp(const struct num *a, const struct num *b)
{
	if (a->is_double || b->is_double) {
		double x = a->is_double ? a->d : (a->neg ? -(double)a->mag : (double)a->mag);
		double y = b->is_double ? b->d : (b->neg ? -(double)b->mag : (double)b->mag);

		return x < y ? -1 : x > y ? 1 : 0;
	}
	if (a->neg != b->neg)
		return a->neg ? -1 : 1;
	if (a->mag == b->mag)
		return 0;
	return (a->mag < b->mag) != a->neg ? -1 : 1;
}

static void json_num(struct json_object *o, struct num *out)
{
	*out = (struct num){ 0 };
	if (json_object_is_type(o, json_type_double)) {
		out->is_double = true;
		out->d = json_object_get_double(o);
		return;
	}
	int64_t v = json_object_get_int64(o);

	/* json-c keeps values above INT64_MAX as unsigned; get_uint64 reads both. */
	if (v < 0) {
		out->neg = true;
		out->mag = (uint64_t)(-(v + 1)) + 1;
	} else {
		out->mag = json_object_get_uint64(o);
	}
}

static bool net_match(const struct node *n, const char *s)
{
	uint8_t a[16];
	unsigned full, rest;

	if (inet_pton(n->family, s, a) != 1)
		return false;
	full = n->prefix / 8;
	rest = n->prefix % 8;
	if (memcmp(a, n->net, full))
		return false;
	return !rest || !((a[full] ^ n->net[full]) & (0xff00u >> rest));
}

/* The positive form of the node's test on one value (a list's elements are walked before). */
static bool leaf_match(const struct node *n, struct json_object *o)
{
	enum json_type t = json_object_get_type(o);
	char buf[64];
	const char *s;
	size_t len;
	struct num v;

	if (n->kind == N_EXISTS) {
		switch (t) {
		case json_type_string:
			return json_object_get_string_len(o) > 0;
		case json_type_boolean:
			return json_object_get_boolean(o);
		case json_type_object:
			return json_object_object_length(o) > 0;
		case json_type_int:
		case json_type_double:
			return true;
		default:
			return false;
		}
	}
	switch (t) {
	case json_type_string:
		s = json_object_get_string(o);
		len = (size_t)json_object_get_string_len(o);
		break;
	case json_type_int:
	case json_type_double:
		json_num(o, &v);
		if (n->op == OP_EQ && n->has_num)
			return num_cmp(&v, &n->num) == 0;
		if (n->op >= OP_LT && n->op <= OP_GE) {
			int c = num_cmp(&v, &n->num);

			return n->op == OP_LT ? c < 0 :
			       n->op == OP_LE ? c <= 0 :
			       n->op == OP_GT ? c > 0 :
						c >= 0;
		}
		/* Otherwise the number as JSON writes it, for == with a word and for ~. */
		if (v.is_double)
			snprintf(buf, sizeof(buf), "%.17g", v.d);
		else
			snprintf(buf, sizeof(buf), "%s%" PRIu64, v.neg ? "-" : "", v.mag);
		s = buf;
		len = strlen(buf);
		break;
	case json_type_boolean:
		s = json_object_get_boolean(o) ? "true" : "false";
		len = strlen(s);
		break;
	default:
		return false;
	}
	switch (n->op) {
	case OP_EQ:
	case OP_NE:
		return len == n->value_len && !memcmp(s, n->value, len);
	case OP_RE:
	case OP_NRE:
		return !regexec(&n->re, s, 0, NULL, 0);
	case OP_IN:
		return t == json_type_string && net_match(n, s);
	default:
		return false; /* < <= > >= on a value that is not a number */
	}
}

/* Any value at the path under o: lists are walked into, element by element. */
static bool walk(const struct node *n, struct json_object *o, const char *comp, int left, int depth)
{
	struct json_object *c;

	if (!o || depth > WALK_MAX_DEPTH)
		return false;
	if (json_object_is_type(o, json_type_array)) {
		size_t len = json_object_array_length(o);

		for (size_t i = 0; i < len; i++)
			if (walk(n, json_object_array_get_idx(o, i), comp, left, depth + 1))
				return true;
		return false;
	}
	if (!left)
		return leaf_match(n, o);
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, comp, &c))
		return false;
	return walk(n, c, comp + strlen(comp) + 1, left - 1, depth + 1);
}

static bool eval(const struct pr_flowwhere *w, int i, struct json_object *flow)
{
	const struct node *n = &w->nodes[i];
	bool any = false;
	int c;

	switch (n->kind) {
	case N_OR:
		for (c = n->first; c >= 0; c = w->nodes[c].next)
			if (eval(w, c, flow))
				return true;
		return false;
	case N_AND:
		for (c = n->first; c >= 0; c = w->nodes[c].next)
			if (!eval(w, c, flow))
				return false;
		return true;
	case N_NOT:
		return !eval(w, n->first, flow);
	default:
		break;
	}
	for (int k = 0; k < n->npaths && !any; k++)
		any = walk(n, flow, n->path[k], n->ncomp[k], 0);
	/* != and !~ are "no value matches": the negation of == and ~. */
	if (n->kind == N_CMP && (n->op == OP_NE || n->op == OP_NRE))
		return !any;
	return any;
}

bool pr_flowwhere_match(const struct pr_flowwhere *w, struct json_object *flow)
{
	return eval(w, w->root, flow);
}
