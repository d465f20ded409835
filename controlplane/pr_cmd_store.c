// SPDX-License-Identifier: Apache-2.0
/*
 * The store lifecycle commands: `store-info` (size, rate, retention and
 * days left), `verify` (every block read and authenticated), and the
 * ones that change a store: `delete-session` (crypto-shredding), `pin`,
 * `unpin`, `retention` (limits, and deleting what is beyond them) and
 * `rekey` (a new SQLCipher key, segments untouched). Each is a thin
 * layer over the pr_store lifecycle API that prints text or JSON. Main
 * thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pr_cli.h"
#include "pr_cmd_store.h"
#include "pr_json.h"

enum {
	OPT_APPLY = PR_OPT_FIRST_COMMAND_OPT + 50,
	OPT_RET_DAYS,
	OPT_RET_BYTES,
	OPT_NOW,
	OPT_NEW_KEY_FILE,
};

/* Every option of these commands; each command's table admits its own. */
struct store_opts {
	int64_t session;
	bool have_session;
	bool yes;
	bool apply;
	bool have_days, have_bytes;
	uint64_t days, bytes;
	uint64_t now_ns;
	const char *new_key_file;
};

static int own_opt(struct store_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 'S':
		if (pr_cli_parse_session(arg, &o->session))
			return PR_EXIT_USAGE;
		o->have_session = true;
		return 0;
	case 'y':
		o->yes = true;
		return 0;
	case OPT_APPLY:
		o->apply = true;
		return 0;
	case OPT_RET_DAYS:
		if (pr_cli_parse_u64("--retention-days", arg, &o->days))
			return PR_EXIT_USAGE;
		if (o->days > PR_STORE_RETENTION_MAX_DAYS) {
			pr_cli_error("--retention-days: at most %u", PR_STORE_RETENTION_MAX_DAYS);
			return PR_EXIT_USAGE;
		}
		o->have_days = true;
		return 0;
	case OPT_RET_BYTES:
		if (pr_cli_parse_size("--retention-bytes", arg, &o->bytes))
			return PR_EXIT_USAGE;
		o->have_bytes = true;
		return 0;
	case OPT_NOW:
		if (pr_cli_parse_u64("--now", arg, &o->now_ns))
			return PR_EXIT_USAGE;
		if (!o->now_ns) {
			pr_cli_error("--now: give a time in ns since the epoch, not 0");
			return PR_EXIT_USAGE;
		}
		return 0;
	case OPT_NEW_KEY_FILE:
		if (!arg[0]) {
			pr_cli_error("--new-key-file: empty file name");
			return PR_EXIT_USAGE;
		}
		o->new_key_file = arg;
		return 0;
	default:
		return PR_EXIT_USAGE;
	}
}

/* Parse argv; returns an exit code to end with, or -1 to go on. */
static int parse(struct pr_cli *cli, int argc, char **argv, const char *shortopts,
		 const struct option *longopts, void (*usage)(FILE *), struct store_opts *o)
{
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		ret = pr_cli_common_opt(cli, opt, optarg);
		if (ret < 0)
			return -ret;
		if (ret)
			continue;
		if (opt == 'h') {
			usage(stdout);
			return PR_EXIT_OK;
		}
		if (opt == '?')
			return pr_cli_usage_error(cli);
		ret = own_opt(o, opt, optarg);
		if (ret)
			return ret;
	}
	if (optind < argc) {
		pr_cli_error("%s: unexpected argument \"%s\"", cli->command, argv[optind]);
		return pr_cli_usage_error(cli);
	}
	return -1;
}

/* The exit code for a failed store call; prints its message first. */
static int store_fail(const struct pr_cli *cli, struct pr_store *st, int err, const char *what)
{
	pr_cli_error("%s: %s: %s", cli->db_path, what, pr_store_errmsg(st));
	if (err == -ENOENT)
		return PR_EXIT_NOTFOUND;
	if (err == -EINVAL)
		return PR_EXIT_USAGE;
	return PR_EXIT_FAIL;
}

/* A command that writes needs a store it can write. */
static int need_writable(const struct pr_cli *cli, struct pr_store *st)
{
	if (!pr_store_is_readonly(st))
		return 0;
	pr_cli_error("%s: the store is not writable here (read-only media or no permission): "
		     "%s changes the store and cannot run",
		     cli->db_path, cli->command);
	return PR_EXIT_FAIL;
}

static int need_session(const struct pr_cli *cli, const struct store_opts *o)
{
	if (o->have_session)
		return 0;
	pr_cli_error("%s: give the session with --session ID (see `packetrecorder sessions`)",
		     cli->command);
	return pr_cli_usage_error(cli);
}

/* "12.3 GiB" */
static void fmt_bytes(double v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u)
		snprintf(buf, len, "%.1f %s", v, units[u]);
	else
		snprintf(buf, len, "%.0f B", v);
}

/* ---- store-info ---- */

static void store_info_usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder store-info [-d DB] [--json]\n"
		"\n"
		"Show what the store holds: mode, size on disk, segments, sessions, packets,\n"
		"the oldest and newest packet, the rate it grows at, its retention limits,\n"
		"the free space, and the days left until the limit or a full disk.\n"
		"\n"
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             one JSON object (keys: docs/packetrecorder-store.md)\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help             this help\n"
		   "\n"
		   "Exit: 0 ok, 1 failure, 2 key rejected, 3 usage, 4 no such store.\n");
}

static void kv_u64_or_null(struct pr_json *j, const char *k, bool have, uint64_t v)
{
	pr_json_key(j, k);
	if (have)
		pr_json_u64(j, v);
	else
		pr_json_null(j);
}

static void info_json(const struct pr_store_info *in, const char *pubkey)
{
	struct pr_json j;

	pr_json_init(&j, stdout);
	pr_json_obj_begin(&j);
	pr_json_kv_str(&j, "mode", pr_store_mode_name(in->mode));
	pr_json_kv_bool(&j, "encrypted", in->encrypted);
	pr_json_kv_bool(&j, "readonly", in->readonly);
	pr_json_kv_u64(&j, "size_bytes", in->size_bytes);
	pr_json_kv_u64(&j, "db_bytes", in->db_bytes);
	pr_json_kv_u64(&j, "wal_bytes", in->wal_bytes);
	pr_json_kv_u64(&j, "segment_bytes", in->segment_bytes);
	pr_json_kv_u64(&j, "segment_files", in->segment_files);
	pr_json_kv_u64(&j, "segments", in->segments);
	pr_json_kv_u64(&j, "sessions", in->sessions);
	pr_json_kv_u64(&j, "pinned_sessions", in->pinned_sessions);
	pr_json_kv_u64(&j, "running_sessions", in->running_sessions);
	pr_json_kv_u64(&j, "packets", in->packets);
	pr_json_kv_u64(&j, "expired_packets", in->expired_packets);
	pr_json_kv_u64(&j, "oldest_packet_ts", in->oldest_ts_ns);
	pr_json_kv_u64(&j, "newest_packet_ts", in->newest_ts_ns);
	pr_json_kv_double(&j, "capture_s", (double)in->capture_ns / 1e9);
	pr_json_key(&j, "bytes_per_day");
	if (in->have_rate)
		pr_json_double(&j, in->bytes_per_day);
	else
		pr_json_null(&j);
	kv_u64_or_null(&j, "retention_days", in->retention_days, in->retention_days);
	kv_u64_or_null(&j, "retention_bytes", in->retention_bytes, in->retention_bytes);
	kv_u64_or_null(&j, "fs_free_bytes", in->have_fs, in->fs_free_bytes);
	pr_json_key(&j, "days_left");
	if (in->have_days_left)
		pr_json_double(&j, in->days_left);
	else
		pr_json_null(&j);
	pr_json_key(&j, "days_left_until");
	if (in->have_days_left)
		pr_json_str(&j, in->limited_by_retention ? "retention_bytes" : "disk_full");
	else
		pr_json_null(&j);
	pr_json_key(&j, "sensor_public_key");
	if (pubkey[0])
		pr_json_str(&j, pubkey);
	else
		pr_json_null(&j);
	pr_json_obj_end(&j);
	pr_json_end(&j);
}

static void info_text(const struct pr_store_info *in, const char *pubkey)
{
	char a[32], b[32], c[32], t1[64], t2[64];

	printf("mode:            %s%s\n", pr_store_mode_name(in->mode),
	       in->mode == PR_STORE_MODE_SEGMENTS ? " (sealed segment files beside the database)" :
						    " (packets inside the database)");
	printf("encrypted:       %s%s\n", in->encrypted ? "yes" : "no",
	       in->readonly ? " (opened read-only)" : "");
	fmt_bytes((double)in->size_bytes, a, sizeof(a));
	fmt_bytes((double)in->db_bytes, b, sizeof(b));
	fmt_bytes((double)in->segment_bytes, c, sizeof(c));
	fmt_bytes((double)in->wal_bytes, t1, sizeof(t1));
	printf("size on disk:    %s (%" PRIu64 " bytes: database %s, -wal and -shm %s, segment "
	       "files %s)\n",
	       a, in->size_bytes, b, t1, c);
	printf("segments:        %" PRIu64 " (%" PRIu64 " files)\n", in->segments,
	       in->segment_files);
	printf("sessions:        %" PRIu64 " (%" PRIu64 " pinned, %" PRIu64 " running)\n",
	       in->sessions, in->pinned_sessions, in->running_sessions);
	printf("packets:         %" PRIu64 " stored, %" PRIu64 " expired\n", in->packets,
	       in->expired_packets);
	if (in->packets) {
		pr_cli_format_ts(in->oldest_ts_ns, t1, sizeof(t1));
		pr_cli_format_ts(in->newest_ts_ns, t2, sizeof(t2));
		printf("oldest packet:   %s\nnewest packet:   %s\n", t1, t2);
	} else {
		printf("oldest packet:   -\nnewest packet:   -\n");
	}
	if (in->have_rate) {
		fmt_bytes(in->bytes_per_day, a, sizeof(a));
		printf("rate:            %s per day (over %.1f s of capture)\n", a,
		       (double)in->capture_ns / 1e9);
	} else {
		printf("rate:            unknown (no capture time yet)\n");
	}
	if (in->retention_days || in->retention_bytes) {
		if (in->retention_days)
			snprintf(t1, sizeof(t1), "%" PRIu64 " days", in->retention_days);
		else
			snprintf(t1, sizeof(t1), "no age limit");
		if (in->retention_bytes)
			fmt_bytes((double)in->retention_bytes, a, sizeof(a));
		else
			snprintf(a, sizeof(a), "no size limit");
		printf("retention:       %s, %s\n", t1, a);
	} else {
		printf("retention:       none\n");
	}
	if (in->have_fs) {
		fmt_bytes((double)in->fs_free_bytes, a, sizeof(a));
		printf("free space:      %s\n", a);
	} else {
		printf("free space:      unknown\n");
	}
	if (in->have_days_left)
		printf("days left:       %.1f (until %s)\n", in->days_left,
		       in->limited_by_retention ? "retention_bytes is reached" :
						  "the disk is full");
	else
		printf("days left:       unknown\n");
	printf("sensor key:      %s\n",
	       pubkey[0] ? pubkey : "none yet (made by the first export with --manifest)");
}

int pr_cmd_store_info(int argc, char **argv)
{
	static const struct option longopts[] = { PR_CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	struct store_opts o = { 0 };
	char pubkey[2 * PR_SENSOR_PUBKEY_LEN + 1];
	struct pr_store_info in;
	struct pr_store *st = NULL;
	struct pr_cli cli;
	int rc, err;

	pr_cli_init(&cli, "store-info");
	rc = parse(&cli, argc, argv, PR_CLI_COMMON_SHORT, longopts, store_info_usage, &o);
	if (rc >= 0)
		goto out;
	if ((rc = pr_cli_prepare(&cli)) || (rc = pr_cli_open_store(&cli, false, &st)))
		goto out;
	err = pr_store_get_info(st, 0, &in);
	if (err) {
		rc = store_fail(&cli, st, err, "store info");
		goto out;
	}
	/*
	 * The Ed25519 key that signs export manifests (verify-export
	 * --public-key): made on first use, so only where the store is
	 * writable; a read-only store without one shows none.
	 */
	{
		uint8_t pub[PR_SENSOR_PUBKEY_LEN];

		pubkey[0] = 0;
		if (!pr_store_sensor_pubkey(st, pub))
			for (int i = 0; i < PR_SENSOR_PUBKEY_LEN; i++)
				snprintf(pubkey + 2 * i, 3, "%02x", pub[i]);
	}
	if (cli.json)
		info_json(&in, pubkey);
	else
		info_text(&in, pubkey);
	rc = PR_EXIT_OK;
out:
	pr_store_close(st);
	pr_cli_fini(&cli);
	return rc;
}

/* ---- verify ---- */

static void verify_usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder verify [-d DB] [--session ID] [--json]\n"
		"\n"
		"Read and authenticate every packet block of the store (or of one session),\n"
		"carrying on after each problem; check the blocks against the index and the\n"
		"sessions, and each segment file and key. Each problem names the session,\n"
		"the block and the segment.\n"
		"\n"
		"  -S, --session ID       only this session\n"
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             one JSON object (keys: docs/packetrecorder-store.md)\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help             this help\n"
		   "\n"
		   "Exit: 0 no problem, 1 problems found (or the check failed), 2 key rejected,\n"
		   "3 usage, 4 no such store or session.\n");
}

static int problem_json_cb(void *ctx, const struct pr_store_verify_problem *p)
{
	struct pr_json *j = ctx;

	pr_json_obj_begin(j);
	pr_json_kv_str(j, "kind", pr_store_problem_name(p->kind));
	kv_u64_or_null(j, "session_id", p->session, (uint64_t)p->session);
	kv_u64_or_null(j, "block_id", p->block, (uint64_t)p->block);
	kv_u64_or_null(j, "first_packet_index", p->block, p->first_seq);
	kv_u64_or_null(j, "segment_id", p->segment, (uint64_t)p->segment);
	pr_json_key(j, "file");
	if (p->file[0])
		pr_json_str(j, p->file);
	else
		pr_json_null(j);
	pr_json_kv_str(j, "error", strerror(-p->err));
	pr_json_kv_str(j, "message", p->what);
	pr_json_obj_end(j);
	return 0;
}

static int problem_text_cb(void *ctx, const struct pr_store_verify_problem *p)
{
	char where[192] = "", esc_where[PR_CLI_ESC_SIZE(192)];
	char esc_what[PR_CLI_ESC_SIZE(sizeof(p->what))];
	size_t n = 0;

	(void)ctx;
	if (p->session)
		n += (size_t)snprintf(where + n, sizeof(where) - n, "session %lld, ",
				      (long long)p->session);
	if (p->block && n < sizeof(where))
		n += (size_t)snprintf(where + n, sizeof(where) - n,
				      "block %lld (packets from %" PRIu64 "), ",
				      (long long)p->block, p->first_seq);
	if (p->segment && n < sizeof(where))
		n += (size_t)snprintf(where + n, sizeof(where) - n, "segment %lld, ",
				      (long long)p->segment);
	if (p->file[0] && n < sizeof(where))
		n += (size_t)snprintf(where + n, sizeof(where) - n, "file %s, ", p->file);
	if (n >= 2 && n < sizeof(where))
		where[n - 2] = 0;
	/* File names come from the store, paths from the command line: escaped. */
	pr_cli_esc(esc_where, sizeof(esc_where), where, 0);
	pr_cli_esc(esc_what, sizeof(esc_what), p->what, 0);
	printf("PROBLEM %s: %s: %s\n", pr_store_problem_name(p->kind), esc_where, esc_what);
	return 0;
}

int pr_cmd_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 'S' },
		PR_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct store_opts o = { 0 };
	struct pr_store_verify_result res;
	struct pr_session_info si;
	struct pr_store *st = NULL;
	struct pr_cli cli;
	struct pr_json j;
	int rc, err;

	pr_cli_init(&cli, "verify");
	rc = parse(&cli, argc, argv, "S:" PR_CLI_COMMON_SHORT, longopts, verify_usage, &o);
	if (rc >= 0)
		goto out;
	if ((rc = pr_cli_prepare(&cli)) || (rc = pr_cli_open_store(&cli, false, &st)))
		goto out;
	if (o.have_session && (rc = pr_cli_get_session(&cli, st, o.session, &si)))
		goto out;
	if (cli.json) {
		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_key(&j, "problems");
		pr_json_arr_begin(&j);
		err = pr_store_verify(st, o.have_session ? o.session : 0, problem_json_cb, &j,
				      &res);
		pr_json_arr_end(&j);
		kv_u64_or_null(&j, "session_id", o.have_session, (uint64_t)o.session);
		pr_json_kv_u64(&j, "sessions", res.sessions);
		pr_json_kv_u64(&j, "segments", res.segments);
		pr_json_kv_u64(&j, "blocks", res.blocks);
		pr_json_kv_u64(&j, "blocks_ok", res.blocks_ok);
		pr_json_kv_u64(&j, "packets_ok", res.packets_ok);
		pr_json_kv_u64(&j, "problem_count", res.problems);
		pr_json_kv_bool(&j, "ok", !err && !res.problems);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		err = pr_store_verify(st, o.have_session ? o.session : 0, problem_text_cb, NULL,
				      &res);
	}
	if (err) {
		rc = store_fail(&cli, st, err, "verify");
		goto out;
	}
	if (!cli.json) {
		char n[32];

		snprintf(n, sizeof(n), "%" PRIu64, res.problems);
		printf("verified %" PRIu64 " session%s, %" PRIu64 " segment%s, %" PRIu64
		       " block%s (%" PRIu64 " ok, %" PRIu64 " packets): %s problem%s\n",
		       res.sessions, res.sessions == 1 ? "" : "s", res.segments,
		       res.segments == 1 ? "" : "s", res.blocks, res.blocks == 1 ? "" : "s",
		       res.blocks_ok, res.packets_ok, res.problems ? n : "no",
		       res.problems == 1 ? "" : "s");
	}
	if (res.problems)
		pr_cli_error("%s: verify found %" PRIu64 " problem%s", cli.db_path, res.problems,
			     res.problems == 1 ? "" : "s");
	rc = res.problems ? PR_EXIT_FAIL : PR_EXIT_OK;
out:
	pr_store_close(st);
	pr_cli_fini(&cli);
	return rc;
}

/* ---- delete-session ---- */

static void delete_usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder delete-session --session ID [-d DB] [--yes] [--json]\n"
		"\n"
		"Delete a session for good: its segment keys are overwritten and deleted, which\n"
		"destroys the packets in its segment files (crypto-shredding); its index rows,\n"
		"flows, interfaces and its row go, its segment files are removed and the\n"
		"write-ahead log is emptied. Refused for a session that is still being\n"
		"captured, and for a pinned one (unpin it first).\n"
		"\n"
		"  -S, --session ID       the session (see `packetrecorder sessions`)\n"
		"  -y, --yes              do not ask (needed when standard input is not a\n"
		"                         terminal)\n"
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             print a JSON summary on stdout\n");
	pr_cli_key_help(f);
	fprintf(f,
		"  -h, --help             this help\n"
		"\n"
		"Exit: 0 deleted, 1 failure, refused (running, pinned) or not confirmed,\n"
		"2 key rejected, 3 usage (also no --yes without a terminal), 4 no such store or\n"
		"session.\n");
}

/* Ask on the terminal; true only for "y" or "yes". */
static bool confirm(int64_t id, const struct pr_session_info *si)
{
	char line[16];

	fprintf(stderr,
		"packetrecorder: delete session %lld (%" PRIu64 " packets, %s)? Its keys are "
		"destroyed: this cannot be undone. [y/N] ",
		(long long)id, si->packets, pr_session_status_name(si->status));
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = 0;
	return !strcmp(line, "y") || !strcmp(line, "Y") || !strcmp(line, "yes");
}

int pr_cmd_delete_session(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 'S' },
		{ "yes", no_argument, NULL, 'y' },
		PR_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct store_opts o = { 0 };
	struct pr_store_delete_result res;
	struct pr_session_info si;
	struct pr_store *st = NULL;
	struct pr_cli cli;
	struct pr_json j;
	int rc, err;

	pr_cli_init(&cli, "delete-session");
	rc = parse(&cli, argc, argv, "S:y" PR_CLI_COMMON_SHORT, longopts, delete_usage, &o);
	if (rc >= 0)
		goto out;
	if ((rc = need_session(&cli, &o)))
		goto out;
	if (!o.yes && !isatty(STDIN_FILENO)) {
		pr_cli_error("delete-session: give --yes to delete session %lld without being "
			     "asked (standard input is not a terminal)",
			     (long long)o.session);
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	if ((rc = pr_cli_prepare(&cli)) || (rc = pr_cli_open_store(&cli, false, &st)) ||
	    (rc = need_writable(&cli, st)) || (rc = pr_cli_get_session(&cli, st, o.session, &si)))
		goto out;
	if (!o.yes && !confirm(o.session, &si)) {
		pr_cli_error("session %lld not deleted", (long long)o.session);
		rc = PR_EXIT_FAIL;
		goto out;
	}
	err = pr_store_delete_session(st, o.session, &res);
	if (err == -EPERM) {
		pr_cli_error("%s: %s (`packetrecorder unpin --session %lld`)", cli.db_path,
			     pr_store_errmsg(st), (long long)o.session);
		rc = PR_EXIT_FAIL;
		goto out;
	}
	if (err && !res.segments && !res.blocks && !res.packets) {
		rc = store_fail(&cli, st, err, "delete session");
		goto out;
	}
	if (err) {
		/* Committed: the keys are gone; only removing a file went wrong. */
		pr_cli_error("%s: session %lld deleted and its keys destroyed, but: %s",
			     cli.db_path, (long long)o.session, pr_store_errmsg(st));
	}
	if (!res.wal_clean)
		pr_cli_warn("%s: another process kept the write-ahead log from being emptied: "
			    "old pages with the destroyed keys stay in %s-wal until the next "
			    "checkpoint (run `packetrecorder verify` or any command again when "
			    "no capture is running)",
			    cli.db_path, cli.db_path);
	if (cli.json) {
		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_i64(&j, "session_id", o.session);
		pr_json_kv_bool(&j, "deleted", true);
		pr_json_kv_u64(&j, "packets", res.packets);
		pr_json_kv_u64(&j, "blocks", res.blocks);
		pr_json_kv_u64(&j, "flows", res.flows);
		pr_json_kv_u64(&j, "segments", res.segments);
		pr_json_kv_u64(&j, "files_removed", res.files_removed);
		pr_json_kv_bool(&j, "wal_clean", res.wal_clean);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		pr_cli_note(&cli,
			    "session %lld deleted: %" PRIu64 " packets in %" PRIu64
			    " blocks, %" PRIu64 " flows, %" PRIu64
			    " segment key%s destroyed, %" PRIu64 " file%s removed",
			    (long long)o.session, res.packets, res.blocks, res.flows, res.segments,
			    res.segments == 1 ? "" : "s", res.files_removed,
			    res.files_removed == 1 ? "" : "s");
	}
	rc = err ? PR_EXIT_FAIL : PR_EXIT_OK;
out:
	pr_store_close(st);
	pr_cli_fini(&cli);
	return rc;
}

/* ---- pin / unpin ---- */

static void pin_usage_of(FILE *f, const char *cmd)
{
	bool pin = !strcmp(cmd, "pin");

	fprintf(f,
		"usage: packetrecorder %s --session ID [-d DB] [--json]\n"
		"\n"
		"%s\n"
		"\n"
		"  -S, --session ID       the session (see `packetrecorder sessions`)\n"
		"  -d, --database FILE    the store (default packets.db)\n"
		"      --json             print {\"session_id\", \"pinned\"} on stdout\n",
		cmd,
		pin ? "Pin a session: retention never deletes its segments and delete-session\n"
		      "refuses it, until it is unpinned." :
		      "Unpin a session: retention and delete-session treat it as any other again.");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help             this help\n"
		   "\n"
		   "Exit: 0 ok, 1 failure, 2 key rejected, 3 usage, 4 no such store or session.\n");
}

static void pin_usage(FILE *f)
{
	pin_usage_of(f, "pin");
}

static void unpin_usage(FILE *f)
{
	pin_usage_of(f, "unpin");
}

static int pin_cmd(int argc, char **argv, bool pin)
{
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 'S' },
		PR_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct store_opts o = { 0 };
	struct pr_session_info si;
	struct pr_store *st = NULL;
	struct pr_cli cli;
	struct pr_json j;
	int rc, err;

	pr_cli_init(&cli, pin ? "pin" : "unpin");
	rc = parse(&cli, argc, argv, "S:" PR_CLI_COMMON_SHORT, longopts,
		   pin ? pin_usage : unpin_usage, &o);
	if (rc >= 0)
		goto out;
	if ((rc = need_session(&cli, &o)) || (rc = pr_cli_prepare(&cli)) ||
	    (rc = pr_cli_open_store(&cli, false, &st)) || (rc = need_writable(&cli, st)) ||
	    (rc = pr_cli_get_session(&cli, st, o.session, &si)))
		goto out;
	err = pr_store_session_pin(st, o.session, pin);
	if (err) {
		rc = store_fail(&cli, st, err, pin ? "pin" : "unpin");
		goto out;
	}
	if (cli.json) {
		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_i64(&j, "session_id", o.session);
		pr_json_kv_bool(&j, "pinned", pin);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		pr_cli_note(&cli, "session %lld %s", (long long)o.session,
			    pin ? "pinned: retention keeps it, delete-session refuses it" :
				  "unpinned");
	}
	rc = PR_EXIT_OK;
out:
	pr_store_close(st);
	pr_cli_fini(&cli);
	return rc;
}

int pr_cmd_pin(int argc, char **argv)
{
	return pin_cmd(argc, argv, true);
}

int pr_cmd_unpin(int argc, char **argv)
{
	return pin_cmd(argc, argv, false);
}

/* ---- retention ---- */

static void retention_usage(FILE *f)
{
	fprintf(f,
		"usage: packetrecorder retention [-d DB] [--retention-days N] [--retention-bytes SIZE]\n"
		"                                [--apply] [--now NS] [--json]\n"
		"\n"
		"Set the store's retention limits (kept in the store), and show which segments\n"
		"are beyond them: oldest first, whole segments of sessions that are not pinned,\n"
		"while the oldest is older than the age limit or the store is above the size\n"
		"limit. --apply deletes them (their keys, index rows and files); packets are\n"
		"never rewritten. Needs a store in segment mode.\n"
		"\n"
		"      --retention-days N     keep packets N days (0: no age limit)\n"
		"      --retention-bytes SIZE keep the store below SIZE bytes on disk (k, m, g\n"
		"                             suffixes; 0: no size limit)\n"
		"      --apply                delete what is beyond the limits\n"
		"      --now NS               count ages as of NS (ns since the epoch) instead of\n"
		"                             now: what would go by then\n"
		"  -d, --database FILE        the store (default packets.db)\n"
		"      --json                 one JSON object (keys: docs/packetrecorder-store.md)\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help                 this help\n"
		   "\n"
		   "Exit: 0 ok, 1 failure (also a store in db mode), 2 key rejected, 3 usage,\n"
		   "4 no such store.\n");
}

struct ret_print {
	struct pr_json *j;
	bool applied;
};

static const char *reason_name(uint32_t r)
{
	return r == PR_RETENTION_AGE ? "age" : r == PR_RETENTION_SIZE ? "size" : "unknown";
}

static int ret_item_cb(void *ctx, const struct pr_store_retention_item *it)
{
	struct ret_print *p = ctx;
	char ts[64], sz[32], file[PR_CLI_ESC_SIZE(sizeof(it->file))];

	if (p->j) {
		pr_json_obj_begin(p->j);
		pr_json_kv_i64(p->j, "segment_id", it->segment);
		pr_json_kv_i64(p->j, "session_id", it->session);
		pr_json_kv_str(p->j, "file", it->file);
		pr_json_kv_u64(p->j, "closed_ts", it->age_ts_ns);
		pr_json_kv_u64(p->j, "blocks", it->blocks);
		pr_json_kv_u64(p->j, "packets", it->packets);
		pr_json_kv_u64(p->j, "bytes", it->file_bytes);
		pr_json_kv_str(p->j, "reason", reason_name(it->reason));
		pr_json_obj_end(p->j);
		return 0;
	}
	pr_cli_format_ts(it->age_ts_ns, ts, sizeof(ts));
	ts[19] = 0;
	fmt_bytes((double)it->file_bytes, sz, sizeof(sz));
	pr_cli_esc(file, sizeof(file), it->file, 0);
	printf("%s segment %lld of session %lld (%s, closed %s, %" PRIu64 " packets, %s): %s\n",
	       p->applied ? "deleted" : "would delete", (long long)it->segment,
	       (long long)it->session, file, ts, it->packets, sz,
	       it->reason == PR_RETENTION_AGE ? "older than the age limit" :
						"the store is above the size limit");
	return 0;
}

static void ret_summary_text(const struct pr_store_retention_result *r, bool applied)
{
	char a[32], b[32], c[32];

	if (!r->retention_days && !r->retention_bytes) {
		printf("no retention limits set: nothing is deleted (set --retention-days or "
		       "--retention-bytes)\n");
		return;
	}
	if (r->retention_days)
		snprintf(a, sizeof(a), "%" PRIu64 " days", r->retention_days);
	else
		snprintf(a, sizeof(a), "no age limit");
	if (r->retention_bytes)
		fmt_bytes((double)r->retention_bytes, b, sizeof(b));
	else
		snprintf(b, sizeof(b), "no size limit");
	printf("retention: %s, %s\n", a, b);
	fmt_bytes((double)r->size_before, a, sizeof(a));
	fmt_bytes((double)r->size_after, b, sizeof(b));
	fmt_bytes((double)r->bytes, c, sizeof(c));
	printf("%s %" PRIu64 " segment%s (%" PRIu64 " packets, %s): store %s -> %s\n",
	       applied ? "deleted" : "would delete", r->segments, r->segments == 1 ? "" : "s",
	       r->packets, c, a, b);
	if (r->kept_pinned)
		printf("kept %" PRIu64 " segment%s of pinned sessions\n", r->kept_pinned,
		       r->kept_pinned == 1 ? "" : "s");
}

int pr_cmd_retention(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "retention-days", required_argument, NULL, OPT_RET_DAYS },
		{ "retention-bytes", required_argument, NULL, OPT_RET_BYTES },
		{ "apply", no_argument, NULL, OPT_APPLY },
		{ "now", required_argument, NULL, OPT_NOW },
		PR_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct store_opts o = { 0 };
	struct pr_store_retention_result res;
	struct ret_print pp = { 0 };
	struct pr_store *st = NULL;
	uint64_t days, bytes;
	struct pr_cli cli;
	struct pr_json j;
	int rc, err;

	pr_cli_init(&cli, "retention");
	rc = parse(&cli, argc, argv, PR_CLI_COMMON_SHORT, longopts, retention_usage, &o);
	if (rc >= 0)
		goto out;
	if ((rc = pr_cli_prepare(&cli)) || (rc = pr_cli_open_store(&cli, false, &st)))
		goto out;
	if ((o.have_days || o.have_bytes || o.apply) && (rc = need_writable(&cli, st)))
		goto out;
	if (pr_store_get_mode(st) != PR_STORE_MODE_SEGMENTS &&
	    (o.apply || (o.have_days && o.days) || (o.have_bytes && o.bytes))) {
		pr_cli_error("%s: retention deletes whole segments, and this store keeps its "
			     "packets in the database (store mode db): delete sessions with "
			     "`packetrecorder delete-session` instead",
			     cli.db_path);
		rc = PR_EXIT_FAIL;
		goto out;
	}
	if (o.have_days || o.have_bytes) {
		err = pr_store_get_retention(st, &days, &bytes);
		if (!err)
			err = pr_store_set_retention(st, o.have_days ? o.days : days,
						     o.have_bytes ? o.bytes : bytes);
		if (err) {
			rc = store_fail(&cli, st, err, "set retention");
			goto out;
		}
	}
	if (!o.now_ns) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		o.now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}
	pp.applied = o.apply;
	if (cli.json) {
		pp.j = &j;
		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_bool(&j, "applied", o.apply);
		pr_json_key(&j, "segments");
		pr_json_arr_begin(&j);
	}
	if (pr_store_get_mode(st) != PR_STORE_MODE_SEGMENTS) {
		/* Nothing to list: a db store has no limits (refused above) and no segments. */
		memset(&res, 0, sizeof(res));
		err = 0;
	} else if (o.apply) {
		err = pr_store_retention_enforce(st, o.now_ns, ret_item_cb, &pp, &res);
	} else {
		err = pr_store_retention_plan(st, o.now_ns, ret_item_cb, &pp, &res);
	}
	if (cli.json) {
		pr_json_arr_end(&j);
		kv_u64_or_null(&j, "retention_days", res.retention_days, res.retention_days);
		kv_u64_or_null(&j, "retention_bytes", res.retention_bytes, res.retention_bytes);
		pr_json_kv_u64(&j, "now_ts", o.now_ns);
		pr_json_kv_u64(&j, "size_bytes", res.size_before);
		pr_json_kv_u64(&j, "size_after_bytes", res.size_after);
		pr_json_kv_u64(&j, "deleted_segments", res.segments);
		pr_json_kv_u64(&j, "deleted_blocks", res.blocks);
		pr_json_kv_u64(&j, "deleted_packets", res.packets);
		pr_json_kv_u64(&j, "deleted_bytes", res.bytes);
		pr_json_kv_u64(&j, "kept_pinned", res.kept_pinned);
		pr_json_kv_u64(&j, "kept_open", res.kept_open);
		pr_json_kv_bool(&j, "over_size", res.over_size);
		pr_json_key(&j, "wal_clean");
		if (o.apply)
			pr_json_bool(&j, res.wal_clean);
		else
			pr_json_null(&j);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	}
	if (err) {
		rc = store_fail(&cli, st, err, "retention");
		goto out;
	}
	if (!cli.json)
		ret_summary_text(&res, o.apply);
	if (res.over_size)
		pr_cli_warn("%s: the store stays above its size limit: what is left is pinned, "
			    "being written, or the database itself",
			    cli.db_path);
	if (o.apply && res.segments && !res.wal_clean)
		pr_cli_warn(
			"%s: another process kept the write-ahead log from being emptied: "
			"old pages with the destroyed keys stay in it until the next checkpoint",
			cli.db_path);
	rc = PR_EXIT_OK;
out:
	pr_store_close(st);
	pr_cli_fini(&cli);
	return rc;
}

/* ---- rekey ---- */

static void rekey_usage(FILE *f)
{
	fprintf(f, "usage: packetrecorder rekey -d DB --new-key-file FILE [--key-file OLD | ...]\n"
		   "\n"
		   "Change the key of an encrypted store: every page of the database is rewritten\n"
		   "under the new key (and with it the segment keys it holds); the segment files\n"
		   "are not touched. No other process may have the store open meanwhile.\n"
		   "\n"
		   "      --new-key-file FILE  the new key: the first line of FILE (a passphrase,\n"
		   "                           or 64 hex digits for a raw key)\n"
		   "  -d, --database FILE      the store (default packets.db)\n"
		   "      --json               print {\"rekeyed\": true, ...} on stdout\n");
	pr_cli_key_help(f);
	fprintf(f, "  -h, --help               this help\n"
		   "\n"
		   "Exit: 0 rekeyed, 1 failure (also a plaintext store, or the store in use),\n"
		   "2 the old key was rejected, 3 usage, 4 no such store.\n");
}

/* The first line of path, in *out (owned, wiped by the caller). Returns an exit code. */
static int read_new_key(const char *path, char **out)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n;

	*out = NULL;
	if (!f) {
		pr_cli_error("--new-key-file %s: %s", path, strerror(errno));
		return PR_EXIT_FAIL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (!buf[0]) {
		pr_cli_error("--new-key-file %s: the first line is empty", path);
		explicit_bzero(buf, sizeof(buf));
		return PR_EXIT_USAGE;
	}
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (!*out) {
		pr_cli_error("--new-key-file: %s", strerror(ENOMEM));
		return PR_EXIT_FAIL;
	}
	return 0;
}

/* Open the store again with the new key and read its sessions: the rekey took. */
static int rekey_check(const struct pr_cli *cli, const char *key)
{
	struct pr_store_cfg cfg = { .path = cli->db_path, .key = key, .readonly = true };
	struct pr_store *st = NULL;
	struct pr_store_info in;
	int err;

	err = pr_store_open(&cfg, &st);
	if (err) {
		pr_cli_error("%s: the store does not open with the new key: %s", cli->db_path,
			     pr_store_open_error());
		return PR_EXIT_FAIL;
	}
	err = pr_store_get_info(st, 0, &in);
	if (err)
		pr_cli_error("%s: read under the new key: %s", cli->db_path, pr_store_errmsg(st));
	pr_store_close(st);
	return err ? PR_EXIT_FAIL : 0;
}

int pr_cmd_rekey(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "new-key-file", required_argument, NULL, OPT_NEW_KEY_FILE },
		PR_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct store_opts o = { 0 };
	struct pr_store *st = NULL;
	char *newkey = NULL;
	struct pr_cli cli;
	struct pr_json j;
	int rc, err;

	pr_cli_init(&cli, "rekey");
	rc = parse(&cli, argc, argv, PR_CLI_COMMON_SHORT, longopts, rekey_usage, &o);
	if (rc >= 0)
		goto out;
	if (!o.new_key_file) {
		pr_cli_error("rekey: give the new key with --new-key-file FILE");
		rc = pr_cli_usage_error(&cli);
		goto out;
	}
	if ((rc = read_new_key(o.new_key_file, &newkey)) || (rc = pr_cli_prepare(&cli)))
		goto out;
	if (cli.key && !strcmp(cli.key, newkey)) {
		pr_cli_error("rekey: the new key is the key the store has now");
		rc = PR_EXIT_USAGE;
		goto out;
	}
	if ((rc = pr_cli_open_store(&cli, false, &st)) || (rc = need_writable(&cli, st)))
		goto out;
	if (!pr_store_is_encrypted(st)) {
		pr_cli_error("%s: the store is not encrypted: rekey changes the key of an "
			     "encrypted store and cannot encrypt a plaintext one (capture into a "
			     "new store with a key instead)",
			     cli.db_path);
		rc = PR_EXIT_FAIL;
		goto out;
	}
	err = pr_store_rekey(st, newkey);
	if (err) {
		rc = store_fail(&cli, st, err, "rekey");
		goto out;
	}
	pr_store_close(st);
	st = NULL;
	if ((rc = rekey_check(&cli, newkey)))
		goto out;
	if (cli.json) {
		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_bool(&j, "rekeyed", true);
		pr_json_kv_bool(&j, "segments_rewritten", false);
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else {
		pr_cli_note(&cli,
			    "%s: the store's key is changed; open it with the new key from now on "
			    "(the segment files were not touched)",
			    cli.db_path);
	}
	rc = PR_EXIT_OK;
out:
	if (newkey) {
		explicit_bzero(newkey, strlen(newkey));
		free(newkey);
	}
	pr_store_close(st);
	pr_cli_fini(&cli);
	return rc;
}
