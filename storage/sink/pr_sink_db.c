// SPDX-License-Identifier: Apache-2.0
/*
 * The db sink: a block is the blob of its own index row, in the one
 * SQLCipher file (encrypted and authenticated by SQLCipher's page codec).
 * Nothing to sync beyond the store's commit, no segments, no state.
 */
#include <errno.h>
#include <stdlib.h>

#include "pr_sink.h"

static int db_put(struct pr_sink *sk, int64_t session, const uint8_t *blk, size_t len,
		  bool boundary, struct pr_sink_ref *ref)
{
	(void)sk;
	(void)session;
	(void)blk;
	(void)boundary;
	*ref = (struct pr_sink_ref){ .length = (uint32_t)len };
	return 0;
}

static int db_sync(struct pr_sink *sk)
{
	(void)sk;
	return 0;
}

static int db_get(struct pr_sink *sk, const struct pr_sink_ref *ref, const void *row,
		  size_t row_len, struct pr_sink_buf *buf, const uint8_t **out, size_t *out_len)
{
	(void)sk;
	(void)ref;
	(void)buf;
	*out = row;
	*out_len = row_len;
	return 0;
}

static int db_repair(struct pr_sink *sk, int64_t session, struct pr_sink_repair *rep)
{
	(void)sk;
	(void)session;
	(void)rep;
	return 0;
}

static int db_finish(struct pr_sink *sk, int64_t session)
{
	(void)sk;
	(void)session;
	return 0;
}

static int db_delete_segment(struct pr_sink *sk, int64_t segment_id, const char *file)
{
	(void)sk;
	(void)segment_id;
	(void)file;
	return 0;
}

static void db_destroy(struct pr_sink *sk)
{
	free(sk);
}

static const struct pr_sink_ops db_ops = {
	.name = "db",
	.put = db_put,
	.sync = db_sync,
	.get = db_get,
	.repair = db_repair,
	.finish = db_finish,
	.delete_segment = db_delete_segment,
	.destroy = db_destroy,
};

int pr_sink_db_create(char *errmsg, size_t errlen, struct pr_sink **out)
{
	struct pr_sink *sk = calloc(1, sizeof(*sk));

	*out = NULL;
	if (!sk)
		return -ENOMEM;
	sk->ops = &db_ops;
	sk->errmsg = errmsg;
	sk->errlen = errlen;
	*out = sk;
	return 0;
}
