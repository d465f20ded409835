/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every packetrecorder command shares: exit codes, the options that
 * name and unlock the store, error printing, number parsing, opening the
 * store (with the key check, the plaintext warning and recovery of
 * interrupted sessions), and BPF filters compiled per link type. Called
 * from the command functions on the main thread.
 */
#ifndef PR_CLI_H
#define PR_CLI_H

#include <getopt.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

#include "pr_config.h"
#include "pr_outfile.h"
#include "pr_query.h"
#include "pr_store.h"

enum pr_exit {
	PR_EXIT_OK = 0,
	PR_EXIT_FAIL = 1, /* run-time failure */
	PR_EXIT_KEY = 2, /* encryption key rejected */
	PR_EXIT_USAGE = 3, /* bad command line or filter */
	PR_EXIT_NOTFOUND = 4, /* no such session or database */
};

enum {
	PR_OPT_KEY = 1000,
	PR_OPT_KEY_FILE,
	PR_OPT_CONFIG,
	PR_OPT_JSON,
	PR_OPT_FILE_MODE, /* --file-mode of the commands that write files */
	PR_OPT_FROM, /* --from/--to/--flow of the commands that read packets or flows */
	PR_OPT_TO,
	PR_OPT_FLOW,
	PR_OPT_FIRST_COMMAND_OPT = 1100, /* commands number their own long-only options from here */
};

/* Long options every store command accepts; append to a command's table. */
#define PR_CLI_COMMON_OPTIONS                                                                    \
	{ "database", required_argument, NULL, 'd' },                                            \
		{ "encryption-key", required_argument, NULL, PR_OPT_KEY },                       \
		{ "key-file", required_argument, NULL, PR_OPT_KEY_FILE },                        \
		{ "config", required_argument, NULL, PR_OPT_CONFIG },                            \
		{ "json", no_argument, NULL, PR_OPT_JSON }, { "quiet", no_argument, NULL, 'q' }, \
		{ "verbose", no_argument, NULL, 'v' },                                           \
	{                                                                                        \
		"help", no_argument, NULL, 'h'                                                   \
	}
#define PR_CLI_COMMON_SHORT "d:qvh"

/* --from TIME, --to TIME, --flow ID: append to the table of a command that reads packets. */
#define PR_CLI_RANGE_OPTIONS                                  \
	{ "from", required_argument, NULL, PR_OPT_FROM },     \
		{ "to", required_argument, NULL, PR_OPT_TO }, \
	{                                                     \
		"flow", required_argument, NULL, PR_OPT_FLOW  \
	}
/* Their --help lines. */
#define PR_CLI_RANGE_HELP                                                                    \
	"      --from TIME        only packets at or after TIME (RFC 3339, e.g.\n"           \
	"                         2024-05-01T12:00:00.5Z or +02:00, or epoch nanoseconds)\n" \
	"      --to TIME          only packets at or before TIME (same forms)\n"             \
	"      --flow ID          only the packets of flow ID (see `flows`)\n"

struct pr_cli {
	const char *command;
	const char *db_path;
	bool key_given; /* --encryption-key: its copy is in key, argv's bytes are wiped */
	const char *key_file; /* --key-file */
	const char *config_path;
	bool json;
	bool manual_checkpoint; /* the writer leaves WAL checkpoints to another connection */
	int quiet;
	struct pr_config cfg;
	char *key; /* resolved key (owned, wiped on fini), NULL for none */
	struct pr_store_pkt_query range; /* --from, --to, --flow; all zero: everything */
};

void pr_cli_init(struct pr_cli *cli, const char *command);
void pr_cli_fini(struct pr_cli *cli);
/*
 * Handle one of the common options. Returns 1 if c was one (and it was
 * fine), 0 if c is not a common option, or a negative exit code. 'h' is
 * left to the caller (each command prints its own help). The value of
 * --encryption-key is copied and overwritten in place with 'x' bytes, so
 * that /proc/PID/cmdline (ps) stops showing it: arg must be writable argv
 * memory (getopt's optarg).
 */
int pr_cli_common_opt(struct pr_cli *cli, int c, char *arg);
/*
 * A time for --from/--to: RFC 3339 (date, 'T' or ' ', time with optional
 * fraction, 'Z' or +hh:mm/-hh:mm) or a whole number of epoch nanoseconds.
 * 0 or -1 when it is neither (or before 1970).
 */
int pr_cli_parse_time(const char *s, uint64_t *ns);
/* The --help lines of the key options, the same in every store command. */
void pr_cli_key_help(FILE *f);
/* Load the config file (if any) and resolve the key. Returns an exit code. */
int pr_cli_prepare(struct pr_cli *cli);

/*
 * "packetrecorder: error: <message>" on stderr. The message is printed
 * through pr_cli_esc(): names, paths and filters from the command line or
 * the store cannot send control sequences to the terminal.
 */
void pr_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A message that --quiet silences. */
void pr_cli_note(const struct pr_cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "unknown option" style errors for getopt's '?' and return PR_EXIT_USAGE. */
int pr_cli_usage_error(const struct pr_cli *cli);

/*
 * s made safe to print on a terminal, in buf (len bytes with the NUL):
 * C0 control characters, DEL, C1 controls (U+0080..U+009F) and the
 * bidirectional overrides (U+202A..U+202E, U+2066..U+2069) are written
 * as \n \r \t \e or \xNN per byte, a backslash as \\, and each byte that
 * is not part of valid UTF-8 as \xNN; everything else passes unchanged.
 * At most max_chars characters (an escape counts its length; 0: no limit)
 * and what fits in buf: never cut inside a character or an escape. Returns
 * the characters written, for padding columns. Any thread.
 */
size_t pr_cli_esc(char *buf, size_t len, const char *s, size_t max_chars);
/* Bytes enough for pr_cli_esc() of a string of n bytes, with its NUL. */
#define PR_CLI_ESC_SIZE(n) (4 * (n) + 1)

/* Parse helpers: print an error naming opt and return PR_EXIT_USAGE, or 0. */
int pr_cli_parse_u64(const char *opt, const char *s, uint64_t *out);
int pr_cli_parse_size(const char *opt, const char *s, uint64_t *out); /* k/m/g suffixes */
int pr_cli_parse_double(const char *opt, const char *s, double *out);
int pr_cli_parse_session(const char *s, int64_t *out);
int pr_cli_parse_file_mode(const char *opt, const char *s, unsigned int *mode);
/*
 * A string option that the store keeps in a field of max bytes (with its
 * NUL, see struct pr_session_info): too long, or empty when !allow_empty,
 * is an error naming opt and the limit. PR_EXIT_USAGE or 0.
 */
int pr_cli_check_str(const char *opt, const char *s, size_t max, bool allow_empty);

/*
 * Open an output file with pr_outfile_open() and print why not. Returns
 * an exit code: PR_EXIT_USAGE for a file that may not be written (the
 * store, the input, an existing file that is not a capture file),
 * PR_EXIT_FAIL for the system's errors.
 */
int pr_cli_outfile_open(const struct pr_outfile_cfg *cfg, struct pr_outfile **out);
/* Commit it (pr_outfile_commit()) and print why not. Returns an exit code. */
int pr_cli_outfile_commit(struct pr_outfile *of);

/*
 * Open the store of cli->db_path with the resolved key. create: capture
 * may create it. Prints the error and returns an exit code (0 on success).
 * Marks interrupted sessions. Warns once when the store is not encrypted.
 */
int pr_cli_open_store(struct pr_cli *cli, bool create, struct pr_store **out);
/* Get a session or print "no session N in DB" and return PR_EXIT_NOTFOUND. */
int pr_cli_get_session(struct pr_cli *cli, struct pr_store *st, int64_t id,
		       struct pr_session_info *out);

/* Check that a BPF expression compiles for Ethernet. Prints and returns PR_EXIT_USAGE. */
int pr_cli_filter_check(const char *expr);

/* For the commands that walk ses.it themselves (export): pr_query_filter_match(). */
static inline bool pr_cli_filter_match(const struct pr_query_filter *f,
				       const struct pr_block_pkt *pkt)
{
	return pr_query_filter_match(f, pkt);
}

/*
 * What query, export and replay read: the store, the session and the
 * query engine's packet cursor (pr_query.h) with its filter compiled for
 * the session's interfaces, opened in that order with every failure
 * printed. Caller-owned; zero it before open. it and flt belong to q.
 */
struct pr_cli_session {
	struct pr_store *st;
	struct pr_session_info si;
	struct pr_query_pkts *q;
	const struct pr_query_filter *flt;
	struct pr_store_pkt_iter *it;
	int64_t id;
	uint64_t index; /* session index (0-based) of the packet last returned */
};

/* Returns an exit code (0 on success); on failure s holds nothing to close but what close frees. */
int pr_cli_session_open(struct pr_cli *cli, int64_t session, const char *filter,
			struct pr_cli_session *s);
/*
 * Next packet that passes the filter: 1, 0 after the last, or -1 after
 * printing what is damaged. *pkt is valid until the next call.
 */
int pr_cli_session_next(const struct pr_cli *cli, struct pr_cli_session *s,
			struct pr_block_pkt *pkt);
void pr_cli_session_close(struct pr_cli_session *s);
/* The exit code for a negative errno of the query engine: usage, not found, failure. */
int pr_cli_query_rc(int err);

/*
 * The rows of `sessions`, `flows`, `query` and `list-interfaces` as JSON objects (the keys in
 * docs/packetrecorder-<command>.md) and as text lines under their header
 * line, on stdout. `manage` prints what a remote daemon answers with the
 * same functions, so both give the same output. Flows as JSON objects:
 * pr_flowjson.h.
 */
struct pr_json;
void pr_cli_session_json(struct pr_json *j, const struct pr_session_info *s);
void pr_cli_sessions_text_header(void);
void pr_cli_session_text(const struct pr_session_info *s);
void pr_cli_flows_text_header(void);
void pr_cli_flow_text(const struct pr_store_flow *f);
void pr_cli_packet_json(struct pr_json *j, const struct pr_query_pkt *p, bool show_data);
/* One interface of list-interfaces as a JSON object (the HTTP API writes the same). */
struct pr_query_iface;
void pr_cli_iface_json(struct pr_json *j, const struct pr_query_iface *iface);
void pr_cli_packets_text_header(void);
void pr_cli_packet_text(const struct pr_query_pkt *p, bool show_data);
void pr_cli_iface_json(struct pr_json *j, const struct pr_query_iface *d);
void pr_cli_ifaces_text_header(void);
void pr_cli_iface_text(const struct pr_query_iface *d);

/* Helpers for output. */
void pr_cli_format_ts(uint64_t ts_ns, char *buf, size_t len); /* ISO 8601 UTC, ns */
const char *pr_cli_ip_proto_name(uint8_t proto);

/* The commands. Each returns an exit code. argv[0] is the command name. */
int pr_cmd_capture(int argc, char **argv);
int pr_cmd_sessions(int argc, char **argv);
int pr_cmd_query(int argc, char **argv);
int pr_cmd_flows(int argc, char **argv);
int pr_cmd_metadata(int argc, char **argv);
int pr_cmd_export(int argc, char **argv);
int pr_cmd_replay(int argc, char **argv);
int pr_cmd_list_interfaces(int argc, char **argv);
int pr_cmd_generate(int argc, char **argv);
int pr_cmd_demo(int argc, char **argv);
int pr_cmd_config(int argc, char **argv);
int pr_cmd_manage(int argc, char **argv);

#endif /* PR_CLI_H */
