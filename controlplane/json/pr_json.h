/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A streaming JSON writer: objects and arrays are written as they are
 * built, so a listing of millions of packets never sits in memory. Strings
 * are escaped per RFC 8259 (bytes that are not valid UTF-8 are written as
 * \u00XX of the byte, so the output is always valid JSON). Caller-owned
 * struct; one writer per thread.
 */
#ifndef PR_JSON_H
#define PR_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PR_JSON_MAX_DEPTH 16

struct pr_json {
	FILE *f;
	int depth;
	bool need_comma[PR_JSON_MAX_DEPTH];
	bool after_key;
	bool pretty_arrays; /* one element of a top-level array per line */
	bool top_is_array;
};

void pr_json_init(struct pr_json *j, FILE *f);
void pr_json_obj_begin(struct pr_json *j);
void pr_json_obj_end(struct pr_json *j);
void pr_json_arr_begin(struct pr_json *j);
void pr_json_arr_end(struct pr_json *j);
void pr_json_key(struct pr_json *j, const char *key);
void pr_json_str(struct pr_json *j, const char *s);
void pr_json_strn(struct pr_json *j, const char *s, size_t n);
void pr_json_u64(struct pr_json *j, uint64_t v);
void pr_json_i64(struct pr_json *j, int64_t v);
void pr_json_double(struct pr_json *j, double v);
void pr_json_bool(struct pr_json *j, bool v);
void pr_json_null(struct pr_json *j);
/* A value that is already JSON text (the caller vouches that it is valid). */
void pr_json_raw(struct pr_json *j, const char *json);
/* Lowercase hex of n bytes, as a string. */
void pr_json_hex(struct pr_json *j, const uint8_t *p, size_t n);

/* key + value shorthands */
void pr_json_kv_str(struct pr_json *j, const char *k, const char *v);
void pr_json_kv_u64(struct pr_json *j, const char *k, uint64_t v);
void pr_json_kv_i64(struct pr_json *j, const char *k, int64_t v);
void pr_json_kv_double(struct pr_json *j, const char *k, double v);
void pr_json_kv_bool(struct pr_json *j, const char *k, bool v);

/* Ends the document with a newline. */
void pr_json_end(struct pr_json *j);

/*
 * Length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) at the start of p[0..n), or 0 if it
 * is not one. 1 for an ASCII byte. Any thread.
 */
size_t pr_json_utf8_len(const uint8_t *p, size_t n);

#endif /* PR_JSON_H */
