// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target over the configuration parser (controlplane/pr_config.c).
 * The input is taken as a config file. Parsing must never crash or read
 * past the input (it is copied into an exactly-sized buffer, with no NUL
 * after it, so AddressSanitizer sees a read one byte past the end). An
 * error must leave a NUL-terminated message; a success must leave every
 * key inside its documented range, and the struct must survive
 * pr_config_dump() and a second parse unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static void check_ranges(const struct pr_config *c)
{
	check(c->dp.ring_bytes >= 1u << 20 && c->dp.ring_bytes <= 1ull << 34 &&
	      is_pow2(c->dp.ring_bytes));
	check(c->dp.flow_max >= 64 && c->dp.flow_max <= 1u << 26);
	check(c->dp.flow_idle_timeout_s >= 1 && c->dp.flow_idle_timeout_s <= 86400 * 7);
	check(c->dp.flow_active_timeout_s <= 86400 * 7);
	check(c->dp.flow_tcp_closed_timeout_s <= 3600);
	check(c->block_max_packets >= 1 && c->block_max_packets <= 65536);
	check(c->block_max_bytes >= 4096 && c->block_max_bytes <= 64u << 20);
	check(c->commit_interval_ms >= 10 && c->commit_interval_ms <= 60000);
	check(c->commit_max_bytes >= 1u << 16 && c->commit_max_bytes <= 1ull << 32);
	check(c->dp.snaplen >= 1 && c->dp.snaplen <= 262144);
	check(c->dp.buffer_size >= 65536 && c->dp.buffer_size <= 1ull << 32);
	check(memchr(c->dataplane_path, 0, sizeof(c->dataplane_path)) != NULL);
	check(memchr(c->dpdk_args, 0, sizeof(c->dpdk_args)) != NULL);
}

static void check_roundtrip(const struct pr_config *c)
{
	struct pr_config again;
	char err[256];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	/*
	 * The file syntax has no escapes: a path holding a double quote can be
	 * read but not always written back. Everything else must round-trip.
	 */
	if (strchr(c->dataplane_path, '"') || strchr(c->dpdk_args, '"'))
		return;
	f = open_memstream(&buf, &len);
	if (!f)
		return;
	pr_config_dump(c, f);
	if (fclose(f)) {
		free(buf);
		return;
	}
	pr_config_defaults(&again);
	check(pr_config_parse(&again, buf, len, "dump", err, sizeof(err)) == 0);
	check(again.dp.ring_bytes == c->dp.ring_bytes && again.dp.flow_max == c->dp.flow_max &&
	      again.dp.flow_idle_timeout_s == c->dp.flow_idle_timeout_s &&
	      again.dp.flow_active_timeout_s == c->dp.flow_active_timeout_s &&
	      again.dp.flow_tcp_closed_timeout_s == c->dp.flow_tcp_closed_timeout_s &&
	      again.block_max_packets == c->block_max_packets &&
	      again.block_max_bytes == c->block_max_bytes &&
	      again.commit_interval_ms == c->commit_interval_ms &&
	      again.commit_max_bytes == c->commit_max_bytes && again.dp.snaplen == c->dp.snaplen &&
	      again.dp.buffer_size == c->dp.buffer_size &&
	      !strcmp(again.dataplane_path, c->dataplane_path) &&
	      !strcmp(again.dpdk_args, c->dpdk_args));
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pr_config cfg;
	char err[256];
	char *text;
	int ret;

	text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	pr_config_defaults(&cfg);
	memset(err, 'x', sizeof(err));
	ret = pr_config_parse(&cfg, text, size, "fuzz.conf", err, sizeof(err));
	if (ret) {
		check(ret < 0);
		check(memchr(err, 0, sizeof(err)) != NULL);
		check(!strncmp(err, "fuzz.conf", 9));
	} else {
		check_ranges(&cfg);
		check_roundtrip(&cfg);
	}
	/* A tiny error buffer must be respected too. */
	pr_config_defaults(&cfg);
	memset(err, 'x', sizeof(err));
	if (pr_config_parse(&cfg, text, size, "fuzz.conf", err, 5))
		check(err[4] == 0 && err[5] == 'x');
	free(text);
	return 0;
}
