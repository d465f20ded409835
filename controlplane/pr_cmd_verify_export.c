// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder verify-export FILE --manifest M [--public-key K]`:
 * recompute the SHA-256 and size of an exported file, check the Ed25519
 * signature of its manifest with the given public key (or the one the
 * manifest carries, which proves integrity but not origin) and say
 * exactly what does not match. Needs no store and no key. Main thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_cli.h"
#include "pr_cmd_verify_export.h"
#include "pr_json.h"
#include "pr_manifest.h"

/* A manifest is small; a bigger file is not one of ours. */
#define MAX_MANIFEST (16u << 20)

enum {
	OPT_PUBKEY = PR_OPT_FIRST_COMMAND_OPT,
};

static void usage(FILE *f)
{
	fprintf(f, "usage: packetrecorder verify-export FILE --manifest M [--public-key KEY]\n"
		   "                                    [--json]\n"
		   "\n"
		   "Check an exported file against the manifest `export --manifest` wrote.\n"
		   "\n"
		   "  -m, --manifest M       the manifest\n"
		   "  -k, --public-key KEY   the sensor's public key: 64 hex digits, or a file\n"
		   "                         holding them or an Ed25519 key in PEM (see\n"
		   "                         `export --show-public-key`). Without it the key\n"
		   "                         in the manifest is used: that proves the file and\n"
		   "                         manifest are intact, not who made them\n"
		   "      --json             print the result as JSON\n"
		   "  -q, --quiet            print only problems\n"
		   "  -h, --help             this help\n"
		   "\n"
		   "Exit: 0 everything matches, 1 something does not match (or a file cannot\n"
		   "be read), 3 usage.\n");
}

static int read_all(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;
	int err = 0;

	if (!f)
		return -errno;
	buf = malloc(MAX_MANIFEST + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	n = fread(buf, 1, MAX_MANIFEST + 1, f);
	if (ferror(f)) {
		err = -EIO;
		goto out;
	}
	if (n > MAX_MANIFEST) {
		err = -EFBIG;
		goto out;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return err;
}

int pr_cmd_verify_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "manifest", required_argument, NULL, 'm' },
		{ "public-key", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, PR_OPT_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t pub[PR_SENSOR_PUBKEY_LEN];
	struct pr_manifest_check r;
	const char *manifest = NULL, *key = NULL, *file;
	char *m = NULL, err[512];
	bool json = false, quiet = false, ok;
	size_t len = 0;
	int opt, ret, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "m:k:qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			manifest = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case PR_OPT_JSON:
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			rc = PR_EXIT_OK;
			goto out;
		default:
			usage(stderr);
			rc = PR_EXIT_USAGE;
			goto out;
		}
	}
	if (optind + 1 != argc || !manifest) {
		pr_cli_error("verify-export: one FILE and --manifest M are required");
		usage(stderr);
		rc = PR_EXIT_USAGE;
		goto out;
	}
	file = argv[optind];
	if (key && pr_manifest_parse_pubkey(key, pub, err, sizeof(err))) {
		pr_cli_error("--public-key: %s", err);
		rc = PR_EXIT_USAGE;
		goto out;
	}
	ret = read_all(manifest, &m, &len);
	if (ret) {
		pr_cli_error("%s: %s", manifest, strerror(-ret));
		rc = PR_EXIT_FAIL;
		goto out;
	}
	ret = pr_manifest_verify(m, len, file, key ? pub : NULL, &r);
	if (ret) {
		pr_cli_error("%s: %s", file, strerror(-ret));
		rc = PR_EXIT_FAIL;
		goto out;
	}
	ok = pr_manifest_check_ok(&r);
	if (json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_obj_begin(&j);
		pr_json_kv_str(&j, "file", file);
		pr_json_kv_str(&j, "manifest", manifest);
		pr_json_kv_bool(&j, "ok", ok);
		pr_json_kv_bool(&j, "manifest_parsed", r.parsed);
		if (!r.parsed) {
			pr_json_kv_str(&j, "problem", r.problem);
		} else {
			pr_json_kv_bool(&j, "signature_ok", r.sig_ok);
			pr_json_kv_bool(&j, "file_sha256_ok", r.hash_ok);
			pr_json_kv_bool(&j, "file_size_ok", r.size_ok);
			pr_json_kv_str(&j, "file_sha256", r.file_sha256);
			pr_json_kv_str(&j, "manifest_file_sha256", r.manifest_sha256);
			pr_json_kv_u64(&j, "file_bytes", r.file_bytes);
			pr_json_kv_u64(&j, "manifest_file_bytes", r.manifest_bytes);
			pr_json_kv_str(&j, "public_key", r.used_key);
			pr_json_kv_str(&j, "key_source", key ? "given" : "manifest");
			pr_json_kv_bool(&j, "key_matches_manifest", r.key_matches);
			pr_json_kv_bool(&j, "origin_proven", ok && key);
		}
		pr_json_obj_end(&j);
		pr_json_end(&j);
	} else if (!r.parsed) {
		printf("MISMATCH: %s: %s\n", manifest, r.problem);
	} else {
		if (!r.hash_ok)
			printf("MISMATCH: file hash: %s has SHA-256 %s, the manifest says %s\n",
			       file, r.file_sha256, r.manifest_sha256);
		if (!r.size_ok)
			printf("MISMATCH: file size: %s has %" PRIu64
			       " bytes, the manifest says %" PRIu64 "\n",
			       file, r.file_bytes, r.manifest_bytes);
		if (!r.sig_ok) {
			if (key && !r.key_matches)
				printf("MISMATCH: signature: the manifest was not signed by the "
				       "given key %s (it names key %s)\n",
				       r.used_key, r.manifest_key);
			else
				printf("MISMATCH: signature: the manifest's contents were changed "
				       "after signing (a field or the signature was edited)\n");
		}
		if (ok && !quiet) {
			printf("OK: %s matches %s: SHA-256 %s, %" PRIu64 " bytes, signature by "
			       "%s\n",
			       file, manifest, r.file_sha256, r.file_bytes, r.used_key);
			if (!key)
				printf("note: checked with the key in the manifest itself: this "
				       "proves integrity, not origin; give --public-key to prove "
				       "which sensor made it\n");
		}
	}
	rc = ok ? PR_EXIT_OK : PR_EXIT_FAIL;
out:
	free(m);
	return rc;
}
