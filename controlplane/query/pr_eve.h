/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A flow and its L7 metadata as JSON lines in the shape of Suricata's
 * eve.json, so that pipelines built for Suricata (Filebeat's suricata
 * module, Logstash, Splunk's TA, jq scripts) read what packetrecorder
 * stored: one `flow` event per flow, and `dns`, `tls`, `http`, `ssh` and
 * `smtp` events built from the flow's merged L7 keys (pr_l7view.h). Every
 * event has Suricata's common keys: timestamp, flow_id, event_type,
 * src_ip, src_port, dest_ip, dest_port, proto, and app_proto where known;
 * docs/packetrecorder-metadata.md lists what each event type carries.
 *
 * Never prints: each line goes to a callback. Any thread.
 */
#ifndef PR_EVE_H
#define PR_EVE_H

#include <stddef.h>
#include <stdint.h>

#include "pr_store.h"

enum pr_eve_type {
	PR_EVE_FLOW,
	PR_EVE_DNS,
	PR_EVE_TLS,
	PR_EVE_HTTP,
	PR_EVE_SSH,
	PR_EVE_SMTP,
	PR_EVE_TYPE_MAX,
};

#define PR_EVE_ALL ((1u << PR_EVE_TYPE_MAX) - 1)

/* "flow", "dns", ... */
const char *pr_eve_type_name(enum pr_eve_type t);

/*
 * A comma-separated list of event type names as a mask. 0 with *mask, or
 * -EINVAL with err naming the type that is none.
 */
int pr_eve_types_parse(const char *list, uint32_t *mask, char *err, size_t errlen);

/* One line of JSON, without its newline. A non-zero return stops and is returned. */
typedef int (*pr_eve_line_fn)(void *ctx, const char *line);

/*
 * The events of flow f whose types are in mask, l7_obj being the flow's
 * L7 keys as pr_l7view_object() gives them (NULL or "": none). Returns 0,
 * fn's non-zero return, or -ENOMEM. L7 keys that do not parse are skipped.
 */
int pr_eve_flow(const struct pr_store_flow *f, const char *l7_obj, uint32_t mask, pr_eve_line_fn fn,
		void *ctx);

#endif /* PR_EVE_H */
