/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API keys of the daemon's front ends (gRPC and HTTP). Keys come from
 * PACKETRECORDER_API_KEY (one key), PACKETRECORDER_API_KEYS (several,
 * comma-separated) and PACKETRECORDER_API_KEYS_FILE (one key a line, '#'
 * comments and blank lines skipped), all of them together. A client sends
 * one as "x-api-key: KEY" or "authorization: Bearer KEY".
 *
 * Only the SHA-256 digest of each key is kept; the text is wiped as soon
 * as it is hashed. A presented key is hashed and compared with every
 * digest with CRYPTO_memcmp(), always all of them, so the time taken says
 * nothing about how much of a key was right, which key matched, or its
 * length. A key must be at least PR_AUTH_KEY_MIN bytes of printable ASCII
 * without spaces or commas: a short key is guessed, and a space or comma
 * would be cut by one way of sending it and not by another.
 *
 * pr_auth_reload() reads the key file again (key rotation on SIGHUP) and
 * swaps the set of keys at once; a check sees the old set or the new one,
 * never a mix. Checks run on any thread, concurrently with a reload.
 * Failures are counted (pr_auth_failures()). Keys are never logged.
 */
#ifndef PR_AUTH_H
#define PR_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PR_AUTH_KEY_MIN 16
#define PR_AUTH_KEY_MAX 512
#define PR_AUTH_MAX_KEYS 4096

/* Where keys come from; every field may be NULL. */
struct pr_auth_cfg {
	const char *key; /* one key (PACKETRECORDER_API_KEY) */
	const char *keys; /* comma-separated keys (PACKETRECORDER_API_KEYS) */
	const char *keys_file; /* path (PACKETRECORDER_API_KEYS_FILE); re-read by reload */
};

/* The cfg the three environment variables give (pointers into the environment). */
void pr_auth_cfg_from_env(struct pr_auth_cfg *cfg);

struct pr_auth;

/*
 * Read the keys. Returns 0, -EINVAL (a key too short, too long or with a
 * character that is not allowed: err names where it came from, e.g.
 * "PACKETRECORDER_API_KEYS: key 2: ...", never the key itself), -ENOENT or
 * -EACCES (the key file), -E2BIG (more than PR_AUTH_MAX_KEYS), -ENOMEM.
 * No key at all is fine: pr_auth_enabled() then says false and every
 * check fails. Main thread.
 */
int pr_auth_create(const struct pr_auth_cfg *cfg, struct pr_auth **out, char *err, size_t errlen);
void pr_auth_destroy(struct pr_auth *a); /* NULL is a no-op */

/* Are any keys configured? Any thread. */
bool pr_auth_enabled(const struct pr_auth *a);
/* How many keys are configured. Any thread. */
unsigned pr_auth_key_count(const struct pr_auth *a);

/*
 * Is key (len bytes, not NUL-terminated) one of the keys? 0 when it is,
 * -EACCES when not (or when no key is configured), counted as a failure.
 * The signature is pr_http_auth_fn's: ctx is the struct pr_auth. Any
 * thread, constant time in the key's content.
 */
int pr_auth_check(void *ctx, const char *key, size_t len);

/*
 * The key of a request's headers: "x-api-key" as it is, or the token of
 * "authorization: Bearer TOKEN" (the scheme's case ignored). name and
 * value as received; returns the key and its length in *out and *out_len, or
 * false when the header carries none.
 */
bool pr_auth_header_key(const char *name, size_t name_len, const char *value, size_t value_len,
			const char **out, size_t *out_len);

/*
 * Count a failure seen elsewhere (a request that carried no key at all),
 * so that pr_auth_failures() counts every refusal. Any thread.
 */
void pr_auth_count_failure(struct pr_auth *a);
uint64_t pr_auth_failures(const struct pr_auth *a);

/*
 * Read the keys again from the same cfg (the file may have changed) and
 * use the new set. On error the old set stays and err says why. Same
 * returns as pr_auth_create(). Main thread (checks may run meanwhile).
 */
int pr_auth_reload(struct pr_auth *a, char *err, size_t errlen);

/*
 * Is addr ("HOST:PORT", "[V6]:PORT", ":PORT", "unix:PATH") reachable only
 * from this machine? True for 127.0.0.0/8, ::1, "localhost" and unix
 * sockets; false for everything else, ":PORT" and names included (a name
 * may resolve to anything). serve refuses a non-loopback address without
 * keys unless told otherwise.
 */
bool pr_auth_addr_is_loopback(const char *addr);

#endif /* PR_AUTH_H */
