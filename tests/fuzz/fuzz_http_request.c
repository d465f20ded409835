// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: what controlplane/http decodes of a request itself
 * (libmicrohttpd parses the HTTP): the route of a path with its {id}, and
 * a JSON body through json-c into a capture request. The first byte picks
 * which; the rest is the input, copied into a buffer of exactly its
 * length (plus the NUL a path has) so that ASan sees a read past the end.
 * A decoded request must be whole: a route in range, an id that is -1 or
 * positive, a capture request with an interface.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pr_http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, msg[1024];

	if (!size)
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = 0;
	if (data[0] & 1) {
		const char *seg = NULL;
		size_t seg_len = 0;
		int64_t id = 0;
		enum pr_http_route r = pr_http_route_match(buf, &id, &seg, &seg_len);

		if ((unsigned)r >= PR_ROUTE_MAX || id < -1 ||
		    (seg && (seg < buf || seg + seg_len > buf + size - 1)))
			abort();
	} else {
		struct json_object *o = pr_http_body_parse(buf, size - 1, msg, sizeof(msg));

		if (o) {
			struct pr_http_capture_req req;

			if (!pr_http_capture_req_parse(o, &req, msg, sizeof(msg)) &&
			    (!req.interface || !req.interface[0]))
				abort();
			json_object_put(o);
		}
	}
	free(buf);
	return 0;
}
