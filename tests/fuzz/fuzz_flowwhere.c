// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target over the `flows --where` language
 * (controlplane/query/pr_flowwhere.c), which takes hostile input through
 * HTTP's ?where= as well as the command line. The input, up to its first
 * NUL, is the expression, copied into an exactly-sized buffer so that
 * AddressSanitizer sees a read past its terminator. Compiling must never
 * crash, must end every error message, must stay within the documented
 * bounds (a compile that takes seconds is a finding: libFuzzer's -timeout),
 * and a compiled filter must evaluate against flows of every shape without
 * reading out of bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pr_flowwhere.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

/* Flows as flows --json prints them: scalars, objects, lists, nulls, odd types. */
static const char *const flow_text[] = {
	("{\"flow_id\":1,\"src_ip\":\"10.0.0.1\",\"src_port\":40000,\"dst_ip\":\"10.0.0.2\","
	 "\"dst_port\":443,\"ip_proto\":6,\"packets\":10,\"bytes\":5000,\"app\":\"tls\","
	 "\"tls\":{\"sni\":\"www.example.com\",\"alpn\":[\"h2\",\"http/1.1\"],\"ja3\":"
	 "\"e7d705a3286e19ea42f587b344ee6865\",\"cert_sans\":[\"a.example\",\"b.example\"]}}"),
	("{\"flow_id\":2,\"src_ip\":\"2001:db8::1\",\"src_port\":53000,\"dst_ip\":\"2001:db8::53\","
	 "\"dst_port\":53,\"ip_proto\":17,\"app\":\"dns\",\"dns\":[{\"id\":1,\"qname\":"
	 "\"example.org\",\"qtype\":1,\"answers\":[{\"name\":\"example.org\",\"type\":1,"
	 "\"ttl\":300,\"data\":\"192.0.2.1\"}]},{\"id\":2,\"qname\":\"\",\"response\":true}]}"),
	("{\"flow_id\":3,\"src_ip\":\"?\",\"app\":null,\"packets\":18446744073709551615,"
	 "\"x\":-1.5e308,\"y\":[[],{},null,true,\"\"],\"z\":{\"\":{\"\":[1,2,3]}}}"),
};

static struct json_object *flows[sizeof(flow_text) / sizeof(flow_text[0])];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = strnlen((const char *)data, size);
	struct pr_flowwhere *w = NULL;
	char *expr = malloc(len + 1);
	char err[256];
	int ret;

	if (!flows[0])
		for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++) {
			flows[i] = json_tokener_parse(flow_text[i]);
			check(flows[i] != NULL);
		}
	if (!expr)
		return 0;
	memcpy(expr, data, len);
	expr[len] = 0;
	memset(err, 'x', sizeof(err));
	ret = pr_flowwhere_compile(expr, &w, err, sizeof(err));
	if (ret) {
		check(ret == -EINVAL || ret == -ENOMEM);
		check(w == NULL);
		check(memchr(err, 0, sizeof(err)) != NULL && err[0]);
		check(len > 0 || strstr(err, "empty") != NULL);
	} else {
		check(w != NULL);
		check(len <= PR_FLOWWHERE_MAX_LEN);
		for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++)
			(void)pr_flowwhere_match(w, flows[i]);
		pr_flowwhere_destroy(w);
	}
	/* Without an error buffer the answer is the same. */
	w = NULL;
	check(pr_flowwhere_compile(expr, &w, NULL, 0) == ret);
	pr_flowwhere_destroy(w);
	free(expr);
	return 0;
}
