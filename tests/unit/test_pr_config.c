// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of the configuration loader (controlplane/pr_config.c): the
 * defaults, every key, the file syntax (comments, blank lines, quotes,
 * whitespace, CRLF), size suffixes, the errors (unknown key, bad or
 * out-of-range value, ring_bytes not a power of two, missing or oversized
 * file) and that pr_config_dump() writes a file that reads back to the
 * same struct. Files go to a mkdtemp() directory that the group teardown
 * removes. Single thread.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pr_config.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

static char g_dir[64];
static char g_err[512];

static int group_setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/test_pr_config.XXXXXX");
	return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Each test starts with an empty error message. */
static int test_setup(void **state)
{
	(void)state;
	memset(g_err, 0, sizeof(g_err));
	return 0;
}

/* Parse text over the defaults into cfg; returns what pr_config_parse() did. */
static int parse(struct pr_config *cfg, const char *text)
{
	pr_config_defaults(cfg);
	g_err[0] = 0;
	return pr_config_parse(cfg, text, strlen(text), "t.conf", g_err, sizeof(g_err));
}

/* Parse must fail with -EINVAL and an error containing each of the strings. */
static void expect_error(const char *text, const char *want1, const char *want2)
{
	struct pr_config cfg;
	int ret = parse(&cfg, text);

	if (ret != -EINVAL)
		fail_msg("\"%s\": returned %d, not -EINVAL", text, ret);
	if (!strstr(g_err, want1) || (want2 && !strstr(g_err, want2)))
		fail_msg("\"%s\": error \"%s\" does not name \"%s\"%s%s", text, g_err, want1,
			 want2 ? " and " : "", want2 ? want2 : "");
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void expect_equal(const struct pr_config *a, const struct pr_config *b)
{
	assert_int_equal(a->dp.ring_bytes, b->dp.ring_bytes);
	assert_int_equal(a->dp.flow_max, b->dp.flow_max);
	assert_int_equal(a->dp.flow_idle_timeout_s, b->dp.flow_idle_timeout_s);
	assert_int_equal(a->dp.flow_active_timeout_s, b->dp.flow_active_timeout_s);
	assert_int_equal(a->dp.flow_tcp_closed_timeout_s, b->dp.flow_tcp_closed_timeout_s);
	assert_int_equal(a->block_max_packets, b->block_max_packets);
	assert_int_equal(a->block_max_bytes, b->block_max_bytes);
	assert_int_equal(a->commit_interval_ms, b->commit_interval_ms);
	assert_int_equal(a->commit_max_bytes, b->commit_max_bytes);
	assert_int_equal(a->dp.snaplen, b->dp.snaplen);
	assert_int_equal(a->dp.buffer_size, b->dp.buffer_size);
	assert_string_equal(a->dataplane_path, b->dataplane_path);
	assert_string_equal(a->dpdk_args, b->dpdk_args);
	assert_string_equal(a->grpc_addr, b->grpc_addr);
	assert_string_equal(a->http_addr, b->http_addr);
	assert_int_equal(a->grpc_threads, b->grpc_threads);
	assert_int_equal(a->grpc_max_streams, b->grpc_max_streams);
	assert_int_equal(a->grpc_max_message_bytes, b->grpc_max_message_bytes);
	assert_int_equal(a->grpc_chunk_bytes, b->grpc_chunk_bytes);
	assert_int_equal(a->grpc_keepalive_s, b->grpc_keepalive_s);
	assert_int_equal(a->shutdown_grace_ms, b->shutdown_grace_ms);
	assert_string_equal(a->tls_cert, b->tls_cert);
	assert_string_equal(a->tls_key, b->tls_key);
	assert_string_equal(a->tls_client_ca, b->tls_client_ca);
	assert_string_equal(a->api_keys_file, b->api_keys_file);
	assert_int_equal(a->health_open, b->health_open);
	assert_int_equal(a->metrics_open, b->metrics_open);
	assert_int_equal(a->http_max_connections, b->http_max_connections);
	assert_int_equal(a->http_max_connections_per_ip, b->http_max_connections_per_ip);
	assert_int_equal(a->http_timeout_s, b->http_timeout_s);
	assert_int_equal(a->http_max_body_bytes, b->http_max_body_bytes);
	assert_int_equal(a->http_rate_limit, b->http_rate_limit);
	assert_int_equal(a->http_rate_burst, b->http_rate_burst);
	assert_int_equal(a->sse_heartbeat_ms, b->sse_heartbeat_ms);
	assert_int_equal(a->event_history, b->event_history);
}

static void test_defaults(void **state)
{
	struct pr_config cfg;

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	pr_config_defaults(&cfg);
	assert_int_equal(cfg.dp.ring_bytes, 64 * MiB);
	assert_int_equal(cfg.dp.flow_max, 262144);
	assert_int_equal(cfg.dp.flow_idle_timeout_s, 300);
	assert_int_equal(cfg.dp.flow_active_timeout_s, 3600);
	assert_int_equal(cfg.dp.flow_tcp_closed_timeout_s, 5);
	assert_int_equal(cfg.block_max_packets, 256);
	assert_int_equal(cfg.block_max_bytes, 1 * MiB);
	assert_int_equal(cfg.commit_interval_ms, 1000);
	assert_int_equal(cfg.commit_max_bytes, 64 * MiB);
	assert_int_equal(cfg.dp.snaplen, 65535);
	assert_int_equal(cfg.dp.buffer_size, 10 * MiB);
	assert_string_equal(cfg.dataplane_path, "");
	/* An empty file changes nothing. */
	assert_int_equal(parse(&cfg, ""), 0);
	assert_int_equal(cfg.dp.ring_bytes, 64 * MiB);
	assert_string_equal(cfg.dataplane_path, "");
}

static void test_every_key(void **state)
{
	struct pr_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "ring_bytes = 2m\n"
				     "flow_max = 1000\n"
				     "flow_idle_timeout_s = 60\n"
				     "flow_active_timeout_s = 0\n"
				     "flow_tcp_closed_timeout_s = 3600\n"
				     "block_max_packets = 65536\n"
				     "block_max_bytes = 4096\n"
				     "commit_interval_ms = 10\n"
				     "commit_max_bytes = 65536\n"
				     "snaplen = 1514\n"
				     "buffer_size = 65536\n"
				     "dataplane_path = /usr/lib/pr/packetrecorder-dataplane\n"),
			 0);
	assert_int_equal(cfg.dp.ring_bytes, 2 * MiB);
	assert_int_equal(cfg.dp.flow_max, 1000);
	assert_int_equal(cfg.dp.flow_idle_timeout_s, 60);
	assert_int_equal(cfg.dp.flow_active_timeout_s, 0);
	assert_int_equal(cfg.dp.flow_tcp_closed_timeout_s, 3600);
	assert_int_equal(cfg.block_max_packets, 65536);
	assert_int_equal(cfg.block_max_bytes, 4096);
	assert_int_equal(cfg.commit_interval_ms, 10);
	assert_int_equal(cfg.commit_max_bytes, 65536);
	assert_int_equal(cfg.dp.snaplen, 1514);
	assert_int_equal(cfg.dp.buffer_size, 65536);
	assert_string_equal(cfg.dataplane_path, "/usr/lib/pr/packetrecorder-dataplane");

	/* The other end of every range. */
	assert_int_equal(
		parse(&cfg, "ring_bytes = 16g\nflow_max = 67108864\n"
			    "flow_idle_timeout_s = 604800\nflow_active_timeout_s = 604800\n"
			    "flow_tcp_closed_timeout_s = 0\nblock_max_packets = 1\n"
			    "block_max_bytes = 64m\ncommit_interval_ms = 60000\n"
			    "commit_max_bytes = 4g\nsnaplen = 262144\nbuffer_size = 2147483647\n"),
		0);
	assert_int_equal(cfg.dp.ring_bytes, 16 * GiB);
	assert_int_equal(cfg.dp.flow_max, 1u << 26);
	assert_int_equal(cfg.dp.flow_idle_timeout_s, 604800);
	assert_int_equal(cfg.dp.flow_active_timeout_s, 604800);
	assert_int_equal(cfg.dp.flow_tcp_closed_timeout_s, 0);
	assert_int_equal(cfg.block_max_packets, 1);
	assert_int_equal(cfg.block_max_bytes, 64 * MiB);
	assert_int_equal(cfg.commit_interval_ms, 60000);
	assert_int_equal(cfg.commit_max_bytes, 4 * GiB);
	assert_int_equal(cfg.dp.snaplen, 262144);
	assert_int_equal(cfg.dp.buffer_size, 2 * GiB - 1);
	assert_int_equal(parse(&cfg, "ring_bytes = 1m\nflow_max = 64\nsnaplen = 1\n"
				     "flow_idle_timeout_s = 1\n"),
			 0);
	assert_int_equal(cfg.dp.ring_bytes, 1 * MiB);
	assert_int_equal(cfg.dp.flow_max, 64);
	assert_int_equal(cfg.dp.snaplen, 1);
	assert_int_equal(cfg.dp.flow_idle_timeout_s, 1);
}

static void test_syntax(void **state)
{
	struct pr_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "# a comment\n"
				     "\n"
				     "   \t\n"
				     "  # indented comment = 5\n"
				     "\tflow_max\t=\t1000   # trailing comment\n"
				     "snaplen=1500\n"
				     "flow_idle_timeout_s   =    42   \n"
				     "block_max_packets = \"128\"\n"
				     "dataplane_path = \"/opt/my dp/bin\"  # quoted, with a space\n"
				     "commit_interval_ms = 250"),
			 0);
	assert_int_equal(cfg.dp.flow_max, 1000);
	assert_int_equal(cfg.dp.snaplen, 1500);
	assert_int_equal(cfg.dp.flow_idle_timeout_s, 42);
	assert_int_equal(cfg.block_max_packets, 128);
	assert_string_equal(cfg.dataplane_path, "/opt/my dp/bin");
	/* The last line had no newline. */
	assert_int_equal(cfg.commit_interval_ms, 250);
	/* Untouched keys keep their defaults. */
	assert_int_equal(cfg.dp.ring_bytes, 64 * MiB);

	/* CRLF line ends. */
	assert_int_equal(parse(&cfg, "flow_max = 77\r\nsnaplen = 99\r\n"), 0);
	assert_int_equal(cfg.dp.flow_max, 77);
	assert_int_equal(cfg.dp.snaplen, 99);

	/* The last assignment wins; '=' inside a value is part of it. */
	assert_int_equal(parse(&cfg, "flow_max = 100\nflow_max = 200\n"
				     "dataplane_path = /a=b\n"),
			 0);
	assert_int_equal(cfg.dp.flow_max, 200);
	assert_string_equal(cfg.dataplane_path, "/a=b");

	/* Quotes: an empty string, leading spaces kept inside quotes, a lone quote kept. */
	assert_int_equal(parse(&cfg, "dataplane_path = \"\"\n"), 0);
	assert_string_equal(cfg.dataplane_path, "");
	assert_int_equal(parse(&cfg, "dataplane_path = \"  x \"\n"), 0);
	assert_string_equal(cfg.dataplane_path, "  x ");
	assert_int_equal(parse(&cfg, "dataplane_path = \"\n"), 0);
	assert_string_equal(cfg.dataplane_path, "\"");
	/* A '#' inside quotes is part of the value, not a comment. */
	assert_int_equal(parse(&cfg, "dataplane_path = \"/opt/#1/dp\" # comment\n"), 0);
	assert_string_equal(cfg.dataplane_path, "/opt/#1/dp");
}

static void test_sizes(void **state)
{
	struct pr_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "ring_bytes = 4096k\nbuffer_size = 65536\n"
				     "commit_max_bytes = 1G\nblock_max_bytes = 8K\n"),
			 0);
	assert_int_equal(cfg.dp.ring_bytes, 4 * MiB);
	assert_int_equal(cfg.dp.buffer_size, 65536);
	assert_int_equal(cfg.commit_max_bytes, 1 * GiB);
	assert_int_equal(cfg.block_max_bytes, 8 * KiB);
	assert_int_equal(parse(&cfg, "ring_bytes = 1048576\nbuffer_size = 64k\n"
				     "commit_max_bytes = 3M\n"),
			 0);
	assert_int_equal(cfg.dp.ring_bytes, 1 * MiB);
	assert_int_equal(cfg.dp.buffer_size, 64 * KiB);
	assert_int_equal(cfg.commit_max_bytes, 3 * MiB);
	assert_int_equal(parse(&cfg, "ring_bytes = \"8m\"\n"), 0);
	assert_int_equal(cfg.dp.ring_bytes, 8 * MiB);

	expect_error("buffer_size = 1t\n", "buffer_size", "t.conf:1");
	expect_error("buffer_size = 1mb\n", "buffer_size", NULL);
	expect_error("buffer_size = 1 m\n", "buffer_size", NULL);
	expect_error("buffer_size = m\n", "buffer_size", NULL);
	expect_error("buffer_size = 10.5m\n", "buffer_size", NULL);
	/* Past the maximum only once the suffix is applied. */
	expect_error("commit_max_bytes = 5g\n", "commit_max_bytes", NULL);
	expect_error("ring_bytes = 32g\n", "ring_bytes", NULL);
	expect_error("buffer_size = 63k\n", "buffer_size", NULL);
	/* The shift must not overflow into a small number. */
	expect_error("ring_bytes = 17179869184g\n", "ring_bytes", NULL);
	expect_error("ring_bytes = 18014398509481984k\n", "ring_bytes", NULL);
	expect_error("ring_bytes = 99999999999999999999\n", "ring_bytes", NULL);
	/* Only size keys take suffixes. */
	expect_error("snaplen = 64k\n", "snaplen", NULL);
	expect_error("flow_max = 1m\n", "flow_max", NULL);
}

static void test_unknown_key(void **state)
{
	struct pr_config cfg;

	(void)state;
	expect_error("flow_max = 100\n# c\nring_size = 1m\n", "t.conf:3:", "ring_size");
	expect_error("Ring_Bytes = 1m\n", "t.conf:1:", "Ring_Bytes");
	expect_error("ring bytes = 1m\n", "t.conf:1:", "ring bytes");
	expect_error("= 5\n", "t.conf:1:", "unknown key");
	expect_error("\n\nflow_max 100\n", "t.conf:3:", "key = value");
	expect_error("snaplen\n", "t.conf:1:", NULL);
	/* The error names the file it was given. */
	pr_config_defaults(&cfg);
	assert_int_equal(pr_config_parse(&cfg, "x = 1", 5, "/etc/pr/pr.conf", g_err, sizeof(g_err)),
			 -EINVAL);
	assert_non_null(strstr(g_err, "/etc/pr/pr.conf:1:"));
	/* A short or absent error buffer is fine. */
	assert_int_equal(pr_config_parse(&cfg, "x = 1", 5, "t", g_err, 4), -EINVAL);
	assert_int_equal(strlen(g_err), 3);
	assert_int_equal(pr_config_parse(&cfg, "x = 1", 5, "t", NULL, 0), -EINVAL);
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_error("flow_max = 63\n", "flow_max", "t.conf:1:");
	expect_error("\nflow_max = 67108865\n", "flow_max", "t.conf:2:");
	expect_error("flow_max = -1\n", "flow_max", NULL);
	expect_error("flow_max = \n", "flow_max", NULL);
	expect_error("flow_max = 0x100\n", "flow_max", NULL);
	expect_error("flow_max = 100 200\n", "flow_max", NULL);
	expect_error("flow_max = 1e3\n", "flow_max", NULL);
	expect_error("flow_max = +100\n", "flow_max", NULL);
	expect_error("flow_max = 4294967360\n", "flow_max", NULL);
	expect_error("snaplen = 0\n", "snaplen", NULL);
	expect_error("snaplen = 262145\n", "snaplen", NULL);
	expect_error("flow_idle_timeout_s = 0\n", "flow_idle_timeout_s", NULL);
	expect_error("flow_tcp_closed_timeout_s = 3601\n", "flow_tcp_closed_timeout_s", NULL);
	expect_error("block_max_packets = 0\n", "block_max_packets", NULL);
	expect_error("block_max_packets = 65537\n", "block_max_packets", NULL);
	expect_error("block_max_bytes = 4095\n", "block_max_bytes", NULL);
	expect_error("commit_interval_ms = 9\n", "commit_interval_ms", NULL);
	expect_error("commit_interval_ms = 60001\n", "commit_interval_ms", NULL);
	expect_error("ring_bytes = 512k\n", "ring_bytes", NULL);
	expect_error("buffer_size = 5g\n", "buffer_size", NULL);
	/* The message says what would have been accepted. */
	expect_error("flow_max = 5\n", "from 64 to 67108864", NULL);
	expect_error("buffer_size = 5\n", "k/m/g", NULL);
}

static void test_string_value(void **state)
{
	struct pr_config cfg;
	char text[1100];

	(void)state;
	/* 511 bytes fit with the NUL; 512 do not. */
	snprintf(text, sizeof(text), "dataplane_path = /%0510d\n", 0);
	assert_int_equal(parse(&cfg, text), 0);
	assert_int_equal(strlen(cfg.dataplane_path), 511);
	snprintf(text, sizeof(text), "dataplane_path = /%0511d\n", 0);
	expect_error(text, "dataplane_path", "t.conf:1:");
}

/*
 * Lines longer than the parser's buffer must not be cut silently: the cut
 * could drop the part that makes the value invalid.
 */
static void test_long_lines(void **state)
{
	struct pr_config cfg;
	char text[4096];

	(void)state;
	snprintf(text, sizeof(text), "flow_max = 100%2000sx\n", "");
	expect_error(text, "t.conf:1:", NULL);
	/* A long comment is fine, and so is a long tail after a '#'. */
	memset(text, 'c', sizeof(text));
	text[0] = '#';
	memcpy(text + 3000, "\nflow_max = 123\n", 17);
	assert_int_equal(parse(&cfg, text), 0);
	assert_int_equal(cfg.dp.flow_max, 123);
	snprintf(text, sizeof(text), "flow_max = 124 #%2000s\n", "");
	assert_int_equal(parse(&cfg, text), 0);
	assert_int_equal(cfg.dp.flow_max, 124);
}

/* A NUL byte must not hide the rest of its line. */
static void test_nul_byte(void **state)
{
	static const char text[] = "flow_max = 100\0junk\n";
	struct pr_config cfg;
	int ret;

	(void)state;
	pr_config_defaults(&cfg);
	ret = pr_config_parse(&cfg, text, sizeof(text) - 1, "t.conf", g_err, sizeof(g_err));
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(g_err, "t.conf:1:"));
}

static void test_ring_bytes_pow2(void **state)
{
	struct pr_config cfg;

	(void)state;
	expect_error("ring_bytes = 3m\n", "ring_bytes", "power of two");
	expect_error("ring_bytes = 1048577\n", "ring_bytes", "power of two");
	expect_error("flow_max = 100\nring_bytes = 12582912\n", "ring_bytes", "12582912");
	for (int shift = 20; shift <= 34; shift++) {
		char text[64];

		snprintf(text, sizeof(text), "ring_bytes = %llu\n", 1ull << shift);
		assert_int_equal(parse(&cfg, text), 0);
		assert_int_equal(cfg.dp.ring_bytes, 1ull << shift);
	}
}

static void test_load_file(void **state)
{
	struct pr_config cfg;
	char path[128];
	int ret;

	(void)state;
	snprintf(path, sizeof(path), "%s/ok.conf", g_dir);
	write_file(path, "flow_max = 4096\n# comment\nring_bytes = 128m\n", 44);
	pr_config_defaults(&cfg);
	assert_int_equal(pr_config_load(&cfg, path, g_err, sizeof(g_err)), 0);
	assert_int_equal(cfg.dp.flow_max, 4096);
	assert_int_equal(cfg.dp.ring_bytes, 128 * MiB);

	/* The error names the path and the line. */
	snprintf(path, sizeof(path), "%s/bad.conf", g_dir);
	write_file(path, "\n\nbogus = 1\n", 12);
	assert_int_equal(pr_config_load(&cfg, path, g_err, sizeof(g_err)), -EINVAL);
	assert_non_null(strstr(g_err, "bad.conf:3:"));
	assert_non_null(strstr(g_err, "bogus"));

	snprintf(path, sizeof(path), "%s/empty.conf", g_dir);
	write_file(path, "", 0);
	pr_config_defaults(&cfg);
	assert_int_equal(pr_config_load(&cfg, path, g_err, sizeof(g_err)), 0);
	assert_int_equal(cfg.dp.flow_max, 262144);

	snprintf(path, sizeof(path), "%s/missing.conf", g_dir);
	g_err[0] = 0;
	assert_int_equal(pr_config_load(&cfg, path, g_err, sizeof(g_err)), -ENOENT);
	assert_non_null(strstr(g_err, path));

	/* A directory is not a config file. */
	ret = pr_config_load(&cfg, g_dir, g_err, sizeof(g_err));
	assert_true(ret < 0);
	assert_non_null(strstr(g_err, g_dir));
}

static void test_load_sizes(void **state)
{
	struct pr_config cfg;
	char path[128];
	size_t big = 2 * MiB, mid = 200 * KiB;
	char *text = malloc(big);

	(void)state;
	assert_non_null(text);
	/* A large file of comments, with one key at the very end. */
	memset(text, '.', mid);
	for (size_t i = 0; i < mid; i += 64) {
		text[i] = '#';
		text[i + 63] = '\n';
	}
	memcpy(text + mid, "snaplen = 777\n", 14);
	snprintf(path, sizeof(path), "%s/mid.conf", g_dir);
	write_file(path, text, mid + 14);
	pr_config_defaults(&cfg);
	assert_int_equal(pr_config_load(&cfg, path, g_err, sizeof(g_err)), 0);
	assert_int_equal(cfg.dp.snaplen, 777);

	memset(text, '\n', big);
	snprintf(path, sizeof(path), "%s/big.conf", g_dir);
	write_file(path, text, big);
	assert_int_equal(pr_config_load(&cfg, path, g_err, sizeof(g_err)), -EINVAL);
	assert_non_null(strstr(g_err, "1 MiB"));
	free(text);
}

/* Dump, parse the dump: the same struct. */
static void roundtrip(const struct pr_config *in)
{
	struct pr_config out;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int ret;

	assert_non_null(f);
	pr_config_dump(in, f);
	assert_int_equal(fclose(f), 0);
	pr_config_defaults(&out);
	/* Start from different values so an unparsed key shows. */
	out.dp.flow_max = 12345;
	out.dp.snaplen = 54321;
	snprintf(out.dataplane_path, sizeof(out.dataplane_path), "not-from-the-dump");
	ret = pr_config_parse(&out, buf, len, "dump", g_err, sizeof(g_err));
	if (ret)
		fail_msg("dump does not parse: %s\n%s", g_err, buf);
	expect_equal(&out, in);
	free(buf);
}

static void test_dump_roundtrip(void **state)
{
	static const char *const keys[] = {
		"ring_bytes",
		"flow_max",
		"flow_idle_timeout_s",
		"flow_active_timeout_s",
		"flow_tcp_closed_timeout_s",
		"ipfrag_max_datagrams",
		"ipfrag_timeout_s",
		"l7_depth_bytes",
		"l7_buf_bytes",
		"l7_buf_count",
		"tcp_reasm_held_bytes",
		"tcp_reasm_chunks",
		"block_max_packets",
		"block_max_bytes",
		"commit_interval_ms",
		"commit_max_bytes",
		"snaplen",
		"buffer_size",
		"dataplane_path",
		"dpdk_args",
		"grpc_addr",
		"http_addr",
		"grpc_threads",
		"grpc_max_streams",
		"grpc_max_message_bytes",
		"grpc_chunk_bytes",
		"grpc_keepalive_s",
		"shutdown_grace_ms",
		"tls_cert",
		"tls_key",
		"tls_client_ca",
		"api_keys_file",
		"health_open",
		"metrics_open",
		"http_max_connections",
		"http_max_connections_per_ip",
		"http_timeout_s",
		"http_max_body_bytes",
		"http_rate_limit",
		"http_rate_burst",
		"sse_heartbeat_ms",
		"event_history",
	};
	struct pr_config cfg;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	pr_config_defaults(&cfg);
	roundtrip(&cfg);

	/* Every key appears once, as an assignment at the start of a line. */
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	pr_config_dump(&cfg, f);
	assert_int_equal(fclose(f), 0);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char needle[64];
		const char *hit;

		snprintf(needle, sizeof(needle), "\n%s = ", keys[i]);
		hit = strstr(buf, needle);
		assert_non_null(hit);
		assert_null(strstr(hit + 1, needle));
	}
	assert_non_null(strstr(buf, "\nring_bytes = 67108864\n"));
	assert_non_null(strstr(buf, "\ndataplane_path = \"\"\n"));
	assert_non_null(strstr(buf, "\ngrpc_addr = \"127.0.0.1:50051\"\n"));
	free(buf);

	assert_int_equal(parse(&cfg, "ring_bytes = 16g\nflow_max = 64\nflow_idle_timeout_s = 1\n"
				     "flow_active_timeout_s = 0\nflow_tcp_closed_timeout_s = 3600\n"
				     "block_max_packets = 65536\nblock_max_bytes = 4097\n"
				     "commit_interval_ms = 60000\ncommit_max_bytes = 4g\n"
				     "snaplen = 262144\nbuffer_size = 65537\n"),
			 0);
	snprintf(cfg.dataplane_path, sizeof(cfg.dataplane_path), "/opt/a b/#2/\"dp\"=x");
	roundtrip(&cfg);
	snprintf(cfg.dataplane_path, sizeof(cfg.dataplane_path), "  leading and trailing  ");
	roundtrip(&cfg);
	memset(cfg.dataplane_path, 'p', sizeof(cfg.dataplane_path) - 1);
	cfg.dataplane_path[sizeof(cfg.dataplane_path) - 1] = 0;
	roundtrip(&cfg);
	/* EAL arguments keep their own quotes; the file's quotes are only the outer pair. */
	snprintf(cfg.dpdk_args, sizeof(cfg.dpdk_args),
		 "--vdev 'net_pcap0,rx_pcap=/a b.pcap' --no-huge -m 256");
	roundtrip(&cfg);
}

static void test_dpdk_args(void **state)
{
	struct pr_config cfg;

	(void)state;
	pr_config_defaults(&cfg);
	assert_string_equal(cfg.dpdk_args, "");
	assert_int_equal(parse(&cfg, "dpdk_args = --vdev net_null0 --no-huge\n"), 0);
	assert_string_equal(cfg.dpdk_args, "--vdev net_null0 --no-huge");
	assert_int_equal(parse(&cfg, "dpdk_args = \"--vdev 'net_pcap0,rx_pcap=/x #1.pcap'\"\n"), 0);
	assert_string_equal(cfg.dpdk_args, "--vdev 'net_pcap0,rx_pcap=/x #1.pcap'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, test_setup),
		cmocka_unit_test_setup(test_every_key, test_setup),
		cmocka_unit_test_setup(test_syntax, test_setup),
		cmocka_unit_test_setup(test_sizes, test_setup),
		cmocka_unit_test_setup(test_unknown_key, test_setup),
		cmocka_unit_test_setup(test_bad_values, test_setup),
		cmocka_unit_test_setup(test_string_value, test_setup),
		cmocka_unit_test_setup(test_long_lines, test_setup),
		cmocka_unit_test_setup(test_nul_byte, test_setup),
		cmocka_unit_test_setup(test_ring_bytes_pow2, test_setup),
		cmocka_unit_test_setup(test_load_file, test_setup),
		cmocka_unit_test_setup(test_load_sizes, test_setup),
		cmocka_unit_test_setup(test_dump_roundtrip, test_setup),
		cmocka_unit_test_setup(test_dpdk_args, test_setup),
	};

	return cmocka_run_group_tests_name("pr_config", tests, group_setup, group_teardown);
}
