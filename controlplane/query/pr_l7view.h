/* SPDX-License-Identifier: Apache-2.0 */
/*
 * L7 metadata in the control plane: the fields of a META record as the
 * JSON object the store keeps (ingest), and a flow's stored rows merged
 * into the keys of the flow JSON (front ends): "app", then one key per
 * protocol: an object for tls, quic, dtls, ssh and smtp (the flow's hellos,
 * certificate, banners and commands together), a list of transactions for
 * dns, http (request n and response n in one element) and the others.
 * Any thread; a view belongs to the thread that made it.
 */
#ifndef PR_L7VIEW_H
#define PR_L7VIEW_H

#include <stdint.h>

#include "pr_record.h"
#include "pr_store.h"

/*
 * The fields of rec (its whole length already checked against hdr.len)
 * as a JSON object text in *out (malloc'd; the caller frees it). Bytes
 * that are not UTF-8 become the code point of the byte, so the text is
 * always valid JSON. Returns 0, -EBADMSG (a field runs past the record)
 * or -ENOMEM.
 */
int pr_l7view_fields_json(const struct pr_rec_meta *rec, char **out);

struct pr_l7view;

int pr_l7view_create(struct pr_l7view **out); /* 0 or -ENOMEM */
void pr_l7view_destroy(struct pr_l7view *v); /* NULL is a no-op */

/*
 * Forget the last flow and merge the rows of flow_id of a session. 0 (a
 * flow without rows is fine), or the store's negative errno.
 */
int pr_l7view_load(struct pr_l7view *v, struct pr_store *st, int64_t session, uint64_t flow_id);

/* Merge one row (its fields text is parsed; a row that does not parse is skipped). */
void pr_l7view_add(struct pr_l7view *v, const struct pr_store_l7 *m);

/*
 * Each key of the merged view in order ("app" first, when known), with
 * its value as JSON text (valid until the next load). A non-zero return
 * of fn stops and is returned.
 */
typedef int (*pr_l7view_key_fn)(void *ctx, const char *key, const char *json);
int pr_l7view_foreach(struct pr_l7view *v, pr_l7view_key_fn fn, void *ctx);

/* The flow's application ("tls", ...) or NULL when none was detected. */
const char *pr_l7view_app(const struct pr_l7view *v);

/*
 * The keys the view adds to a flow, as one JSON object text: "app" (null
 * when no protocol was recognised) and one key per protocol, as flows
 * --json has them. The gRPC Flow message carries it (l7_json). malloc'd
 * into *out; 0 or -ENOMEM.
 */
int pr_l7view_object(struct pr_l7view *v, char **out);

#endif /* PR_L7VIEW_H */
