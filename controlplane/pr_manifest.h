/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Export manifests: the signed JSON that describes an exported file. The
 * export command writes the manifest's fields with pr_json into memory
 * (the canonical bytes: one compact object, keys in the order written);
 * pr_manifest_write() appends the Ed25519 signature over those bytes as a
 * last member, "signature". Verification splits that member off again,
 * checks the signature over the bytes before it, recomputes the exported
 * file's SHA-256 and compares it and its size with the manifest's. Main
 * thread of the export and verify-export commands; owns nothing.
 */
#ifndef PR_MANIFEST_H
#define PR_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pr_store.h"

#define PR_MANIFEST_FORMAT "packetrecorder-export-manifest"
#define PR_MANIFEST_VERSION 1
#define PR_SHA256_LEN 32

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void pr_manifest_hex(const uint8_t *p, size_t n, char *out);

/* SHA-256 and size of a file. Returns 0 or a negative errno. */
int pr_manifest_sha256_file(const char *path, uint8_t sha[PR_SHA256_LEN], uint64_t *size);

/*
 * Write the manifest: canon (the object without its signature, ending in
 * '}') with ,"signature":"<hex>"} in place of the final brace, and a
 * newline. Returns 0 or -EIO.
 */
int pr_manifest_write(FILE *f, const char *canon, size_t len, const uint8_t sig[PR_SENSOR_SIG_LEN]);

/*
 * A public key as --public-key takes it: 64 hex digits, or the name of a
 * file holding them (as `export --show-public-key` prints) or an Ed25519
 * public key in PEM. Returns 0, or -EINVAL with the reason in err.
 */
int pr_manifest_parse_pubkey(const char *arg, uint8_t pub[PR_SENSOR_PUBKEY_LEN], char *err,
			     size_t errlen);

/* What pr_manifest_verify() found. */
struct pr_manifest_check {
	bool parsed; /* the manifest has our format, a signature member and the fields below */
	char problem[256]; /* why not parsed */
	bool sig_ok; /* the signature is valid for the key used over the canonical bytes */
	bool key_from_manifest; /* no key given: the manifest's own was used */
	bool key_matches; /* a given key equals the manifest's sensor_public_key */
	bool hash_ok; /* the file's SHA-256 equals the manifest's */
	bool size_ok; /* the file's size equals the manifest's */
	char file_sha256[2 * PR_SHA256_LEN + 1]; /* computed */
	char manifest_sha256[2 * PR_SHA256_LEN + 1]; /* claimed */
	uint64_t file_bytes; /* computed */
	uint64_t manifest_bytes; /* claimed */
	char manifest_key[2 * PR_SENSOR_PUBKEY_LEN + 1];
	char used_key[2 * PR_SENSOR_PUBKEY_LEN + 1];
};

/*
 * Check file against the manifest text m (len bytes). pub: the key the
 * signature must verify with, or NULL for the manifest's own (which
 * proves integrity, not origin). Returns 0 when the check ran (res says
 * what matched), or a negative errno when file could not be read.
 */
int pr_manifest_verify(const char *m, size_t len, const char *file, const uint8_t *pub,
		       struct pr_manifest_check *res);

/* Everything matched. */
bool pr_manifest_check_ok(const struct pr_manifest_check *res);

#endif /* PR_MANIFEST_H */
