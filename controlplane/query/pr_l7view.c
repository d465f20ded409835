// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_l7view.h on json-c: META fields become a json-c
 * object, and a flow's rows are merged into one object per flow whose
 * keys the front ends print one by one.
 */
#include "pr_l7view.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

struct pr_l7view {
	struct json_object *root; /* the merged keys, "app" first */
	char app[PR_META_NAME_MAX];
};

/* Length of a valid UTF-8 sequence at p (RFC 3629), or 0. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A json-c string of n bytes; bytes that are not UTF-8 become U+0080..U+00FF. */
static struct json_object *utf8_string(const uint8_t *p, size_t n)
{
	struct json_object *o;
	char *buf = malloc(2 * n + 1);
	size_t i = 0, o_len = 0;

	if (!buf)
		return NULL;
	while (i < n) {
		size_t l = p[i] ? utf8_len(p + i, n - i) : 0;

		if (l) {
			memcpy(buf + o_len, p + i, l);
			o_len += l;
			i += l;
		} else if (!p[i]) {
			i++; /* a NUL would end the C string json-c keeps */
		} else {
			buf[o_len++] = (char)(0xc0 | p[i] >> 6);
			buf[o_len++] = (char)(0x80 | (p[i] & 0x3f));
			i++;
		}
	}
	o = json_object_new_string_len(buf, (int)o_len);
	free(buf);
	return o;
}

static struct json_object *field_value(uint8_t type, const uint8_t *v, size_t n)
{
	char num[32];

	switch (type) {
	case PR_META_INT:
		if (n >= sizeof(num))
			return NULL;
		memcpy(num, v, n);
		num[n] = 0;
		return json_object_new_int64(strtoll(num, NULL, 10));
	case PR_META_BOOL:
		return json_object_new_boolean(n == 1 && v[0] == '1');
	default:
		return utf8_string(v, n);
	}
}

/* Put key = val into obj following the rules of struct pr_meta_field. Takes val. */
static void field_put(struct json_object *obj, const char *key, uint8_t type,
		      struct json_object *val)
{
	const char *dot = strchr(key, '.');
	struct json_object *arr, *last = NULL;

	if (dot && dot != key && dot[1]) {
		char list[256];
		size_t n = (size_t)(dot - key);

		memcpy(list, key, n);
		list[n] = 0;
		if (!json_object_object_get_ex(obj, list, &arr) ||
		    !json_object_is_type(arr, json_type_array)) {
			arr = json_object_new_array();
			json_object_object_add(obj, list, arr);
		}
		n = json_object_array_length(arr);
		if (n)
			last = json_object_array_get_idx(arr, n - 1);
		if (!last || json_object_object_get_ex(last, dot + 1, NULL)) {
			last = json_object_new_object();
			json_object_array_add(arr, last);
		}
		json_object_object_add(last, dot + 1, val);
		return;
	}
	if (type == PR_META_LIST) {
		if (!json_object_object_get_ex(obj, key, &arr) ||
		    !json_object_is_type(arr, json_type_array)) {
			arr = json_object_new_array();
			json_object_object_add(obj, key, arr);
		}
		json_object_array_add(arr, val);
		return;
	}
	json_object_object_add(obj, key, val);
}

int pr_l7view_fields_json(const struct pr_rec_meta *rec, char **out)
{
	const uint8_t *p = rec->data, *end;
	struct json_object *obj;
	uint32_t i;
	int ret = 0;

	*out = NULL;
	if (rec->hdr.len < sizeof(*rec) || rec->data_len > rec->hdr.len - sizeof(*rec))
		return -EBADMSG;
	end = p + rec->data_len;
	obj = json_object_new_object();
	if (!obj)
		return -ENOMEM;
	for (i = 0; i < rec->n_fields; i++) {
		struct pr_meta_field f;
		struct json_object *val;
		char key[256];

		if ((size_t)(end - p) < sizeof(f)) {
			ret = -EBADMSG;
			goto out;
		}
		memcpy(&f, p, sizeof(f));
		p += sizeof(f);
		if ((size_t)(end - p) < (size_t)f.key_len + f.val_len || !f.key_len) {
			ret = -EBADMSG;
			goto out;
		}
		memcpy(key, p, f.key_len);
		key[f.key_len] = 0;
		val = field_value(f.type, p + f.key_len, f.val_len);
		p += f.key_len + f.val_len;
		if (!val || strlen(key) != f.key_len) {
			json_object_put(val);
			continue;
		}
		field_put(obj, key, f.type, val);
	}
	*out = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	if (!*out)
		ret = -ENOMEM;
out:
	json_object_put(obj);
	return ret;
}

int pr_l7view_create(struct pr_l7view **out)
{
	struct pr_l7view *v = calloc(1, sizeof(*v));

	*out = NULL;
	if (!v)
		return -ENOMEM;
	v->root = json_object_new_object();
	if (!v->root) {
		free(v);
		return -ENOMEM;
	}
	*out = v;
	return 0;
}

void pr_l7view_destroy(struct pr_l7view *v)
{
	if (!v)
		return;
	json_object_put(v->root);
	free(v);
}

/* Protocols whose transactions make one object per flow (the rest: a list). */
static bool merges_to_object(const char *app)
{
	static const char *const names[] = { "tls", "quic", "dtls", "ssh", "smtp" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(app, names[i]))
			return true;
	return false;
}

/* Copy src's keys into dst: lists are joined, other values replace (the later message wins). */
static void merge_into(struct json_object *dst, struct json_object *src)
{
	json_object_object_foreach(src, key, val)
	{
		struct json_object *old;

		if (json_object_is_type(val, json_type_array) &&
		    json_object_object_get_ex(dst, key, &old) &&
		    json_object_is_type(old, json_type_array)) {
			size_t i, n = json_object_array_length(val);

			for (i = 0; i < n; i++)
				json_object_array_add(
					old, json_object_get(json_object_array_get_idx(val, i)));
			continue;
		}
		json_object_object_add(dst, key, json_object_get(val));
	}
}

/* HTTP: the element of the list with the same index (request n, response n), or NULL. */
static struct json_object *find_index(struct json_object *arr, struct json_object *fields)
{
	struct json_object *idx, *e, *ei;
	size_t i, n;

	if (!json_object_object_get_ex(fields, "index", &idx))
		return NULL;
	n = json_object_array_length(arr);
	for (i = n; i-- > 0;) {
		e = json_object_array_get_idx(arr, i);
		if (json_object_object_get_ex(e, "index", &ei) &&
		    json_object_get_int64(ei) == json_object_get_int64(idx))
			return e;
	}
	return NULL;
}

void pr_l7view_add(struct pr_l7view *v, const struct pr_store_l7 *m)
{
	struct json_object *fields, *slot;

	if (!m->app[0] || !strcmp(m->app, "unknown"))
		return;
	/*
	 * The first protocol seen names the flow: SMTP that turns to TLS
	 * after STARTTLS stays an SMTP flow (the parsers' final app, in the
	 * "app" row, is then tls).
	 */
	/* A tunnel's outer side says nothing of the application: one object, no name. */
	if (!strcmp(m->app, "tunnel")) {
		fields = json_tokener_parse(m->fields);
		if (fields && json_object_is_type(fields, json_type_object) &&
		    !json_object_object_get_ex(v->root, "tunnel", NULL)) {
			json_object_object_add(v->root, "tunnel", fields);
			return;
		}
		json_object_put(fields);
		return;
	}
	if (!strcmp(m->kind, "app")) {
		if (!v->app[0])
			snprintf(v->app, sizeof(v->app), "%s", m->app);
		return;
	}
	if (!v->app[0])
		snprintf(v->app, sizeof(v->app), "%s", m->app);
	fields = json_tokener_parse(m->fields);
	if (!fields || !json_object_is_type(fields, json_type_object)) {
		json_object_put(fields);
		return;
	}
	if (merges_to_object(m->app)) {
		if (!json_object_object_get_ex(v->root, m->app, &slot)) {
			slot = json_object_new_object();
			json_object_object_add(v->root, m->app, slot);
		}
		merge_into(slot, fields);
		json_object_put(fields);
		return;
	}
	if (!json_object_object_get_ex(v->root, m->app, &slot)) {
		slot = json_object_new_array();
		json_object_object_add(v->root, m->app, slot);
	}
	if (strcmp(m->app, "dns") && strcmp(m->app, "http"))
		json_object_object_add(fields, "kind", json_object_new_string(m->kind));
	if (!strcmp(m->app, "http")) {
		struct json_object *e = find_index(slot, fields);

		if (e) {
			merge_into(e, fields);
			json_object_put(fields);
			return;
		}
	}
	json_object_array_add(slot, fields);
}

static int add_cb(void *ctx, const struct pr_store_l7 *m)
{
	pr_l7view_add(ctx, m);
	return 0;
}

int pr_l7view_load(struct pr_l7view *v, struct pr_store *st, int64_t session, uint64_t flow_id)
{
	struct json_object *fresh = json_object_new_object();

	if (!fresh)
		return -ENOMEM;
	json_object_put(v->root);
	v->root = fresh;
	v->app[0] = 0;
	return pr_store_l7_foreach(st, session, flow_id, NULL, add_cb, v);
}

int pr_l7view_foreach(struct pr_l7view *v, pr_l7view_key_fn fn, void *ctx)
{
	int ret;

	if (v->app[0]) {
		struct json_object *s = json_object_new_string(v->app);

		ret = fn(ctx, "app", json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
		json_object_put(s);
		if (ret)
			return ret;
	}
	json_object_object_foreach(v->root, key, val)
	{
		ret = fn(ctx, key,
			 json_object_to_json_string_ext(
				 val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		if (ret)
			return ret;
	}
	return 0;
}

const char *pr_l7view_app(const struct pr_l7view *v)
{
	return v->app[0] ? v->app : NULL;
}

int pr_l7view_object(struct pr_l7view *v, char **out)
{
	struct json_object *o = json_object_new_object();
	const char *s;

	*out = NULL;
	if (!o)
		return -ENOMEM;
	/* The keys flows --json puts after the flow's own: "app" (null when none) first. */
	json_object_object_add(o, "app", v->app[0] ? json_object_new_string(v->app) : NULL);
	json_object_object_foreach(v->root, key, val)
		json_object_object_add(o, key, json_object_get(val));
	s = json_object_to_json_string_ext(o,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	*out = s ? strdup(s) : NULL;
	json_object_put(o);
	return *out ? 0 : -ENOMEM;
}
