// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_json.h. Writes straight to the FILE; the only state
 * is the nesting depth and whether a comma is due at each level.
 */
#include "pr_json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void pr_json_init(struct pr_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty_arrays = true;
}

/*
 * The comma state of the innermost open container. Levels deeper than
 * PR_JSON_MAX_DEPTH share the last slot; that is enough because a parent's
 * state is only needed again once its child is closed, and json_close()
 * then restores it (the child was an item, so the parent is non-empty).
 */
static bool *level_comma(struct pr_json *j)
{
	return &j->need_comma[(j->depth < PR_JSON_MAX_DEPTH ? j->depth : PR_JSON_MAX_DEPTH) - 1];
}

static void before_value(struct pr_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0) {
		bool *comma = level_comma(j);

		if (*comma)
			fputc(',', j->f);
		*comma = true;
		if (j->pretty_arrays && j->top_is_array && j->depth == 1)
			fputc('\n', j->f);
	}
}

static void json_open(struct pr_json *j, char c)
{
	before_value(j);
	fputc(c, j->f);
	if (j->depth == 0)
		j->top_is_array = c == '[';
	j->depth++;
	*level_comma(j) = false;
}

static void json_close(struct pr_json *j, char c)
{
	bool had_items = j->depth > 0 && *level_comma(j);

	/* An unbalanced close is the caller's bug: keep the state in bounds. */
	if (j->depth > 0)
		j->depth--;
	if (j->depth > 0)
		*level_comma(j) = true;
	if (c == ']' && j->pretty_arrays && j->depth == 0 && had_items)
		fputc('\n', j->f);
	fputc(c, j->f);
}

void pr_json_obj_begin(struct pr_json *j)
{
	json_open(j, '{');
}

void pr_json_obj_end(struct pr_json *j)
{
	json_close(j, '}');
}

void pr_json_arr_begin(struct pr_json *j)
{
	json_open(j, '[');
}

void pr_json_arr_end(struct pr_json *j)
{
	json_close(j, ']');
}

size_t pr_json_utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c, lo = 0x80, hi = 0xbf;
	size_t len = 0, k;

	if (!n)
		return 0;
	c = p[0];
	if (c < 0x80)
		return 1;
	/*
	 * The second byte's range also rules out overlong forms, UTF-16
	 * surrogates (ED A0..BF) and code points above U+10FFFF, which strict
	 * decoders reject (RFC 3629, section 4).
	 */
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (!len || len > n || p[1] < lo || p[1] > hi)
		return 0;
	for (k = 2; k < len; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	return len;
}

static void put_escaped(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	fputc('"', f);
	while (i < n) {
		unsigned char c = p[i];
		size_t len;

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n':
				fputs("\\n", f);
				break;
			case '\r':
				fputs("\\r", f);
				break;
			case '\t':
				fputs("\\t", f);
				break;
			default:
				fprintf(f, "\\u%04x", c);
			}
			i++;
			continue;
		}
		/* Valid UTF-8 passes through; a stray byte becomes the code point of its value. */
		len = pr_json_utf8_len(p + i, n - i);
		if (len) {
			fwrite(p + i, 1, len, f);
			i += len;
			continue;
		}
		fprintf(f, "\\u%04x", c);
		i++;
	}
	fputc('"', f);
}

void pr_json_key(struct pr_json *j, const char *key)
{
	before_value(j);
	put_escaped(j->f, key, strlen(key));
	fputc(':', j->f);
	j->after_key = true;
}

void pr_json_str(struct pr_json *j, const char *s)
{
	if (!s) {
		pr_json_null(j);
		return;
	}
	pr_json_strn(j, s, strlen(s));
}

void pr_json_strn(struct pr_json *j, const char *s, size_t n)
{
	before_value(j);
	put_escaped(j->f, s, n);
}

void pr_json_raw(struct pr_json *j, const char *json)
{
	before_value(j);
	fputs(json, j->f);
}

void pr_json_u64(struct pr_json *j, uint64_t v)
{
	before_value(j);
	fprintf(j->f, "%" PRIu64, v);
}

void pr_json_i64(struct pr_json *j, int64_t v)
{
	before_value(j);
	fprintf(j->f, "%" PRId64, v);
}

void pr_json_double(struct pr_json *j, double v)
{
	before_value(j);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void pr_json_bool(struct pr_json *j, bool v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->f);
}

void pr_json_null(struct pr_json *j)
{
	before_value(j);
	fputs("null", j->f);
}

void pr_json_hex(struct pr_json *j, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	before_value(j);
	fputc('"', j->f);
	for (size_t i = 0; i < n; i++) {
		fputc(hex[p[i] >> 4], j->f);
		fputc(hex[p[i] & 15], j->f);
	}
	fputc('"', j->f);
}

void pr_json_kv_str(struct pr_json *j, const char *k, const char *v)
{
	pr_json_key(j, k);
	pr_json_str(j, v);
}

void pr_json_kv_u64(struct pr_json *j, const char *k, uint64_t v)
{
	pr_json_key(j, k);
	pr_json_u64(j, v);
}

void pr_json_kv_i64(struct pr_json *j, const char *k, int64_t v)
{
	pr_json_key(j, k);
	pr_json_i64(j, v);
}

void pr_json_kv_double(struct pr_json *j, const char *k, double v)
{
	pr_json_key(j, k);
	pr_json_double(j, v);
}

void pr_json_kv_bool(struct pr_json *j, const char *k, bool v)
{
	pr_json_key(j, k);
	pr_json_bool(j, v);
}

void pr_json_end(struct pr_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
