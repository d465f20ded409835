// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder generate` (write a synthetic capture) and
 * `packetrecorder demo` (the main job on an embedded default: generate a
 * capture, store it encrypted under a fresh random key, then show the
 * sessions, the flows and an export). demo runs the other commands
 * in-process with the same code paths a user's commands take. Main thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pr_cli.h"
#include "pr_json.h"
#include "pr_trafficgen.h"

static void gen_usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder generate --output FILE [--packets N] [--seed S]\n"
		"                               [--format pcap|pcapng] [--json]\n"
		"\n"
		"Write a synthetic capture of mixed traffic: TCP connections with handshake,\n"
		"HTTP-like request/response and teardown, DNS, ICMP echo, ARP, VLAN-tagged TCP\n"
		"and IPv6 UDP, with nanosecond timestamps. The same seed gives the same file.\n"
		"\n"
		"  -o, --output FILE      the file to write; an existing FILE must be a capture\n"
		"                         file and is replaced only on success\n"
		"      --file-mode MODE   permissions of FILE, octal (default 0600)\n"
		"  -n, --packets N        at least N packets (default 10000)\n"
		"      --seed S           random seed (default 1)\n"
		"  -F, --format FMT       pcap (default) or pcapng\n"
		"      --json             print a JSON summary on stdout\n"
		"  -h, --help             this help\n");
}

int pr_cmd_generate(int argc, char **argv)
{
	enum { O_SEED = PR_OPT_FIRST_COMMAND_OPT };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "file-mode", required_argument, NULL, PR_OPT_FILE_MODE },
		{ "packets", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, O_SEED },
		{ "format", required_argument, NULL, 'F' },
		{ "json", no_argument, NULL, PR_OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pr_trafficgen_cfg cfg = { .format = PR_PCAPW_PCAP, .packets = 10000, .seed = 1 };
	struct pr_trafficgen_result res;
	struct pr_outfile_cfg oc = { .opt = "--output", .mode = PR_OUTFILE_MODE_DEFAULT };
	struct pr_outfile *out = NULL;
	bool json = false;
	int opt, rc, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:n:F:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			oc.path = optarg;
			break;
		case PR_OPT_FILE_MODE:
			if ((rc = pr_cli_parse_file_mode("--file-mode", optarg, &oc.mode)))
				return rc;
			break;
		case 'n':
			if ((rc = pr_cli_parse_u64("--packets", optarg, &cfg.packets)))
				return rc;
			break;
		case O_SEED:
			if ((rc = pr_cli_parse_u64("--seed", optarg, &cfg.seed)))
				return rc;
			break;
		case 'F':
			if (!strcmp(optarg, "pcap")) {
				cfg.format = PR_PCAPW_PCAP;
			} else if (!strcmp(optarg, "pcapng")) {
				cfg.format = PR_PCAPW_PCAPNG;
			} else {
				pr_cli_error("--format: \"%s\" is not pcap or pcapng", optarg);
				return PR_EXIT_USAGE;
			}
			break;
		case PR_OPT_JSON:
			json = true;
			break;
		case 'h':
			gen_usage(stdout);
			return PR_EXIT_OK;
		default:
			fprintf(stderr, "Try 'packetrecorder generate --help'.\n");
			return PR_EXIT_USAGE;
		}
	}
	if (!oc.path || optind < argc) {
		pr_cli_error("generate: --output FILE is required");
		return PR_EXIT_USAGE;
	}
	/*
	 * generate knows no store: an existing file is replaced only when it
	 * is a capture file, which keeps it off a store (and any other file).
	 */
	if ((rc = pr_cli_outfile_open(&oc, &out)))
		return rc;
	cfg.path = pr_outfile_path(out);
	ret = pr_trafficgen_write(&cfg, &res);
	if (ret) {
		pr_cli_error("%s: %s", oc.path, strerror(-ret));
		pr_outfile_destroy(out);
		return PR_EXIT_FAIL;
	}
	rc = pr_cli_outfile_commit(out);
	pr_outfile_destroy(out);
	if (rc)
		return rc;
	if (json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "output", oc.path);
		pr_json_kv_u64(&j, "packets", res.packets);
		pr_json_kv_u64(&j, "bytes", res.bytes);
		pr_json_kv_u64(&j, "conversations", res.conversations);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		char *name = malloc(PR_CLI_ESC_SIZE(strlen(oc.path)));

		if (name)
			pr_cli_esc(name, PR_CLI_ESC_SIZE(strlen(oc.path)), oc.path, 0);
		fprintf(stderr,
			"packetrecorder: wrote %" PRIu64 " packets (%" PRIu64 " bytes, %" PRIu64
			" conversations) to %s\n",
			res.packets, res.bytes, res.conversations, name ? name : "?");
		free(name);
	}
	return PR_EXIT_OK;
}

static void demo_usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder demo [--dir DIR] [--packets N]\n"
		"\n"
		"Run the whole path on an embedded default, with no network and no external\n"
		"capture: generate DIR/demo.pcap, capture it into the encrypted store\n"
		"DIR/demo.db under a fresh random key (DIR/demo.key), then show the sessions,\n"
		"the first flows and a pcapng export (DIR/demo-export.pcapng).\n"
		"\n"
		"  --dir DIR              where to put the files (default ./packetrecorder-demo)\n"
		"  -n, --packets N        packets to generate (default 20000)\n"
		"  -h, --help             this help\n");
}

static int run(int (*cmd)(int, char **), const char **args)
{
	/* The commands take main()'s argv type; getopt only permutes pointers. */
	union {
		const char **c;
		char **n;
	} av = { .c = args };
	int argc = 0;

	while (args[argc])
		argc++;
	fflush(stdout);
	return cmd(argc, av.n);
}

int pr_cmd_demo(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ "packets", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = "packetrecorder-demo";
	char pcap[1024], db[1024], keyf[1024], out[1024], npk[32], hexkey[65];
	uint8_t raw[32];
	uint64_t packets = 20000;
	int opt, rc, fd;
	FILE *kf;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "D:n:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'D':
			dir = optarg;
			break;
		case 'n':
			if ((rc = pr_cli_parse_u64("--packets", optarg, &packets)))
				return rc;
			break;
		case 'h':
			demo_usage(stdout);
			return PR_EXIT_OK;
		default:
			fprintf(stderr, "Try 'packetrecorder demo --help'.\n");
			return PR_EXIT_USAGE;
		}
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		pr_cli_error("demo: %s: %s", dir, strerror(errno));
		return PR_EXIT_FAIL;
	}
	snprintf(pcap, sizeof(pcap), "%s/demo.pcap", dir);
	snprintf(db, sizeof(db), "%s/demo.db", dir);
	snprintf(keyf, sizeof(keyf), "%s/demo.key", dir);
	snprintf(out, sizeof(out), "%s/demo-export.pcapng", dir);
	snprintf(npk, sizeof(npk), "%" PRIu64, packets);
	/* A fresh store each run: the demo's key changes every time. */
	unlink(db);
	{
		char side[1100];

		snprintf(side, sizeof(side), "%s-wal", db);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", db);
		unlink(side);
	}
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
		pr_cli_error("demo: no randomness for a key: %s", strerror(errno));
		return PR_EXIT_FAIL;
	}
	for (int i = 0; i < 32; i++)
		snprintf(hexkey + 2 * i, 3, "%02x", raw[i]);
	fd = open(keyf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	kf = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!kf || fprintf(kf, "%s\n", hexkey) < 0 || fclose(kf)) {
		pr_cli_error("demo: %s: %s", keyf, strerror(errno));
		return PR_EXIT_FAIL;
	}
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(hexkey, sizeof(hexkey));

	printf("== 1. generate %s packets of synthetic traffic -> %s\n", npk, pcap);
	{
		const char *a[] = { "generate", "--output", pcap, "--packets", npk, NULL };

		if ((rc = run(pr_cmd_generate, a)))
			return rc;
	}
	printf("\n== 2. capture -r %s into the encrypted store %s (key in %s)\n", pcap, db, keyf);
	{
		const char *a[] = { "capture",	  "-r", pcap,	  "-d",	  db,
				    "--key-file", keyf, "--name", "demo", NULL };

		if ((rc = run(pr_cmd_capture, a)))
			return rc;
	}
	printf("\n== 3. sessions\n");
	{
		const char *a[] = { "sessions", "-d", db, "--key-file", keyf, NULL };

		if ((rc = run(pr_cmd_sessions, a)))
			return rc;
	}
	printf("\n== 4. the first 15 flows of session 1\n");
	{
		const char *a[] = { "flows",	 "-d", db,	  "--key-file", keyf,
				    "--session", "1",  "--limit", "15",		NULL };

		if ((rc = run(pr_cmd_flows, a)))
			return rc;
	}
	printf("\n== 5. export session 1 -> %s\n", out);
	{
		const char *a[] = { "export", "-d",	  db,	    "--key-file", keyf, "--session",
				    "1",      "--format", "pcapng", "--output",	  out,	NULL };

		if ((rc = run(pr_cmd_export, a)))
			return rc;
	}
	printf("\n== 6. the first 5 packets of session 1\n");
	{
		const char *a[] = { "query",	 "-d", db,	  "--key-file", keyf,
				    "--session", "1",  "--limit", "5",		NULL };

		if ((rc = run(pr_cmd_query, a)))
			return rc;
	}
	printf("\nDone. Explore further with, for example:\n"
	       "  packetrecorder flows -d %s --key-file %s --session 1 --json\n"
	       "  packetrecorder query -d %s --key-file %s --session 1 --filter 'udp port 53' "
	       "--show-data\n"
	       "  tshark -r %s\n",
	       db, keyf, db, keyf, out);
	return PR_EXIT_OK;
}

static void config_usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder config [--config FILE]\n"
		"\n"
		"Print the configuration in effect (the defaults, or FILE/PACKETRECORDER_CONFIG\n"
		"applied over them) as an annotated configuration file with every key.\n"
		"Checks FILE: an unknown key or a bad value is an error naming file:line.\n"
		"\n"
		"      --config FILE      the configuration file to check and print\n"
		"  -h, --help             this help\n");
}

int pr_cmd_config(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, PR_OPT_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pr_cli cli;
	int opt, rc;

	pr_cli_init(&cli, "config");
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == PR_OPT_CONFIG) {
			cli.config_path = optarg;
		} else if (opt == 'h') {
			config_usage(stdout);
			return PR_EXIT_OK;
		} else {
			return pr_cli_usage_error(&cli);
		}
	}
	if (optind < argc) {
		pr_cli_error("config: unexpected argument \"%s\"", argv[optind]);
		return pr_cli_usage_error(&cli);
	}
	rc = pr_cli_prepare(&cli);
	if (!rc)
		pr_config_dump(&cli.cfg, stdout);
	pr_cli_fini(&cli);
	return rc;
}
