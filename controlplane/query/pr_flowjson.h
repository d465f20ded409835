/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stored flow as the JSON object `flows --json` prints (keys in
 * docs/packetrecorder-flows.md), and the --where test against that very
 * object. One rendering for every front end: the CLI and HTTP print it,
 * manage prints what a daemon sent with it, and the CLI, HTTP and gRPC
 * filter flows by matching it, so the three give the same answers. No
 * printing of its own (it writes to the caller's pr_json), no exits; any
 * thread.
 */
#ifndef PR_FLOWJSON_H
#define PR_FLOWJSON_H

#include "pr_store.h"

struct pr_json;
struct pr_l7view;
struct pr_flowwhere;

/* The flow's object, with its L7 keys ("app", "tls", "dns", ...) from l7 (NULL: none). */
void pr_flowjson_write(struct pr_json *j, const struct pr_store_flow *f, struct pr_l7view *l7);

/*
 * The same object from the flow and the text of its L7 keys (a JSON object,
 * as the gRPC Flow's l7_json; NULL or "" for none): how manage prints what
 * flows --json prints.
 */
void pr_flowjson_write_members(struct pr_json *j, const struct pr_store_flow *f,
			       const char *l7_obj);

/*
 * Does the flow, as pr_flowjson_write() writes it with l7 (loaded for the
 * flow), match the compiled --where filter w? 1, 0, or -ENOMEM.
 */
int pr_flowjson_match(const struct pr_flowwhere *w, const struct pr_store_flow *f,
		      struct pr_l7view *l7);

#endif /* PR_FLOWJSON_H */
