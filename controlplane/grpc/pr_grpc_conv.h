/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Between the store's structs and the API's protobuf-c messages, both
 * ways: the server fills messages from what the query engine returns,
 * and `manage` turns a daemon's messages back into the structs the CLI
 * prints, so both print the same. A message filled here points into the
 * struct it came from (strings) and into buf (addresses): keep them while
 * the message is used. Any thread.
 */
#ifndef PR_GRPC_CONV_H
#define PR_GRPC_CONV_H

#include <arpa/inet.h>

#include "packetrecorder.pb-c.h"
#include "pr_query.h"
#include "pr_store.h"

void pr_grpc_session_to_pb(const struct pr_session_info *s, Packetrecorder__V1__Session *m,
			   Packetrecorder__V1__DropsByReason *drops);
/* -EINVAL for a status name this build does not know (then it says running). */
int pr_grpc_session_from_pb(const Packetrecorder__V1__Session *m, struct pr_session_info *s);

struct pr_grpc_flow_text {
	char src[INET6_ADDRSTRLEN];
	char dst[INET6_ADDRSTRLEN];
};
void pr_grpc_flow_to_pb(const struct pr_store_flow *f, Packetrecorder__V1__Flow *m,
			struct pr_grpc_flow_text *buf);
/* -EINVAL for an address, TCP state or end reason this build cannot read. */
int pr_grpc_flow_from_pb(const Packetrecorder__V1__Flow *m, struct pr_store_flow *f);

void pr_grpc_packet_to_pb(const struct pr_query_pkt *p, bool data, Packetrecorder__V1__Packet *m);
void pr_grpc_packet_from_pb(const Packetrecorder__V1__Packet *m, struct pr_query_pkt *p);

void pr_grpc_store_info_to_pb(const struct pr_store_info *in, Packetrecorder__V1__StoreStats *m);

#endif /* PR_GRPC_CONV_H */
