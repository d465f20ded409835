// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_flowjson.h: the flow's own keys from the stored
 * row, then the L7 view's keys as they are. The --where test renders the
 * object with the same writer into memory and reads it back with json-c,
 * so a filter can never see a key or a value other than the one printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "pr_flowjson.h"
#include "pr_flowwhere.h"
#include "pr_json.h"
#include "pr_l7view.h"
#include "pr_record.h"

static void ip_text(uint8_t ver, const uint8_t *ip, char *buf, size_t len)
{
	if (!inet_ntop(ver == 6 ? AF_INET6 : AF_INET, ip, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static int l7_key_cb(void *ctx, const char *key, const char *json)
{
	struct pr_json *j = ctx;

	pr_json_key(j, key);
	pr_json_raw(j, json);
	return 0;
}

/* The flow's own keys, in an object the caller has begun and will end. */
static void flow_core_json(struct pr_json *j, const struct pr_store_flow *f)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	ip_text(f->ip_version, f->src_ip, src, sizeof(src));
	ip_text(f->ip_version, f->dst_ip, dst, sizeof(dst));
	pr_json_kv_u64(j, "flow_id", f->flow_id);
	pr_json_kv_str(j, "src_ip", src);
	pr_json_kv_u64(j, "src_port", f->src_port);
	pr_json_kv_str(j, "dst_ip", dst);
	pr_json_kv_u64(j, "dst_port", f->dst_port);
	pr_json_kv_u64(j, "ip_proto", f->ip_proto);
	pr_json_kv_u64(j, "vlan", f->vlan);
	pr_json_kv_u64(j, "first_ts", f->first_ts_ns);
	pr_json_kv_u64(j, "last_ts", f->last_ts_ns);
	pr_json_kv_u64(j, "packets", f->packets[0] + f->packets[1]);
	pr_json_kv_u64(j, "bytes", f->bytes[0] + f->bytes[1]);
	pr_json_kv_u64(j, "packets_to_server", f->packets[0]);
	pr_json_kv_u64(j, "packets_to_client", f->packets[1]);
	pr_json_kv_u64(j, "bytes_to_server", f->bytes[0]);
	pr_json_kv_u64(j, "bytes_to_client", f->bytes[1]);
	pr_json_kv_str(j, "tcp_state", pr_tcp_state_name(f->tcp_state));
	pr_json_kv_str(j, "end_reason", pr_flow_end_name(f->end_reason));
}

void pr_flowjson_write(struct pr_json *j, const struct pr_store_flow *f, struct pr_l7view *l7)
{
	pr_json_obj_begin(j);
	flow_core_json(j, f);
	if (l7) {
		if (!pr_l7view_app(l7)) {
			pr_json_key(j, "app");
			pr_json_null(j);
		}
		pr_l7view_foreach(l7, l7_key_cb, j);
	}
	pr_json_obj_end(j);
}

void pr_flowjson_write_members(struct pr_json *j, const struct pr_store_flow *f, const char *l7_obj)
{
	struct json_object *o = l7_obj && *l7_obj ? json_tokener_parse(l7_obj) : NULL;

	pr_json_obj_begin(j);
	flow_core_json(j, f);
	if (o && json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val)
		{
			pr_json_key(j, key);
			pr_json_raw(j, json_object_to_json_string_ext(
					       val, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
		}
	}
	json_object_put(o);
	pr_json_obj_end(j);
}

int pr_flowjson_match(const struct pr_flowwhere *w, const struct pr_store_flow *f,
		      struct pr_l7view *l7)
{
	struct json_object *obj;
	struct pr_json j;
	char *text = NULL;
	size_t len = 0;
	FILE *mf;
	int ret;

	/*
	 * The filter sees exactly the object flows --json prints: the same
	 * writer renders it, and json-c reads it back.
	 */
	mf = open_memstream(&text, &len);
	if (!mf)
		return -ENOMEM;
	pr_json_init(&j, mf);
	pr_flowjson_write(&j, f, l7);
	if (fclose(mf)) {
		free(text);
		return -ENOMEM;
	}
	obj = json_tokener_parse(text);
	free(text);
	if (!obj)
		return -ENOMEM;
	ret = pr_flowwhere_match(w, obj);
	json_object_put(obj);
	return ret;
}
