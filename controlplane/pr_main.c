// SPDX-License-Identifier: Apache-2.0
/*
 * packetrecorder: the command-line front end and control plane. Finds the
 * command named by the first argument and runs it; each command lives in
 * its own pr_cmd_*.c. Only this file exits the process.
 */
#include <stdio.h>
#include <string.h>

#include "pr_cli.h"
#include "pr_cmd_store.h"
#include "pr_cmd_verify_export.h"
#include "pr_log.h"
#include "pr_serve.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "capture", pr_cmd_capture,
	  "capture from an interface or a pcap/pcapng file into the store" },
	{ "sessions", pr_cmd_sessions, "list capture sessions" },
	{ "flows", pr_cmd_flows, "list the flows of a session" },
	{ "metadata", pr_cmd_metadata,
	  "list the L7 transactions of a session (TLS, DNS, HTTP, ...)" },
	{ "query", pr_cmd_query, "list the packets of a session (BPF filter, hex data)" },
	{ "export", pr_cmd_export, "write a session to a pcap or pcapng file" },
	{ "replay", pr_cmd_replay,
	  "send a session's packets out of an interface with their timing" },
	{ "list-interfaces", pr_cmd_list_interfaces, "list the interfaces to capture from" },
	{ "generate", pr_cmd_generate, "write a synthetic capture of mixed traffic" },
	{ "demo", pr_cmd_demo, "run the whole path on generated traffic (no network needed)" },
	{ "config", pr_cmd_config, "check a configuration file and print every key in effect" },
	{ "verify-export", pr_cmd_verify_export,
	  "check an exported file against its signed manifest" },
	{ "store-info", pr_cmd_store_info, "size, rate, retention and days left of a store" },
	{ "verify", pr_cmd_verify, "read and authenticate every block; report each problem" },
	{ "delete-session", pr_cmd_delete_session,
	  "delete a session and destroy its keys (crypto-shredding)" },
	{ "pin", pr_cmd_pin, "keep a session from retention and delete-session" },
	{ "unpin", pr_cmd_unpin, "let retention and delete-session have a session again" },
	{ "retention", pr_cmd_retention, "set retention limits; delete what is beyond them" },
	{ "rekey", pr_cmd_rekey, "change the store's key without rewriting segments" },
	{ "serve", pr_cmd_serve, "run the daemon: the gRPC API over the store (systemd-ready)" },
	{ "manage", pr_cmd_manage, "drive a remote daemon over gRPC (sessions, downloads, ...)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: packetrecorder <command> [options]\n"
		   "       packetrecorder <command> --help\n"
		   "       packetrecorder --version\n"
		   "\n"
		   "High-speed packet capture into an encrypted store.\n"
		   "\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n"
		   "The store is packets.db unless -d/--database says otherwise; its key comes\n"
		   "from --encryption-key, --key-file or PACKETRECORDER_DB_KEY.\n"
		   "Exit codes: 0 ok, 1 failure, 2 key rejected, 3 usage, 4 not found.\n"
		   "Documentation: docs/packetrecorder.md and docs/packetrecorder-<command>.md.\n");
}

int main(int argc, char **argv)
{
	pr_log_set_program("packetrecorder");
	if (argc < 2) {
		usage(stderr);
		return PR_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return PR_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("packetrecorder %s\n", PR_VERSION);
		return PR_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name)) {
			char prog[64];

			/* getopt prefixes its messages with argv[0]: make them ours. */
			snprintf(prog, sizeof(prog), "packetrecorder: error: %s", commands[i].name);
			argv[1] = prog;
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "packetrecorder: error: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return PR_EXIT_USAGE;
}
