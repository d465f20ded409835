/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sealing of packet blocks: AES-256-GCM through OpenSSL's EVP interface.
 * A sealer keeps one cipher context for reuse; it is not thread-safe, so
 * each thread that seals or opens blocks has its own. Keys are 32 random
 * bytes (one per segment), nonces 12 bytes built from a counter that the
 * caller never repeats under one key (pr_seal_nonce()).
 */
#ifndef PR_SEAL_H
#define PR_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define PR_SEAL_KEY_LEN 32
#define PR_SEAL_NONCE_LEN 12
#define PR_SEAL_TAG_LEN 16

struct pr_seal;

/* 0, or -ENOMEM. */
int pr_seal_create(struct pr_seal **out);
void pr_seal_destroy(struct pr_seal *s); /* NULL is a no-op */

/* Fill key with random bytes from OpenSSL's CSPRNG. 0, or -EIO. */
int pr_seal_key_generate(uint8_t key[PR_SEAL_KEY_LEN]);

/* The nonce of the seq-th block under one key: 4 zero bytes, then seq big-endian. */
void pr_seal_nonce(uint64_t seq, uint8_t nonce[PR_SEAL_NONCE_LEN]);

/*
 * Encrypt len bytes of in into out (same length; may be the same buffer)
 * and authenticate them together with aad. Writes the tag. 0, or -EIO.
 */
int pr_seal_encrypt(struct pr_seal *s, const uint8_t key[PR_SEAL_KEY_LEN],
		    const uint8_t nonce[PR_SEAL_NONCE_LEN], const void *aad, size_t aad_len,
		    const void *in, size_t len, void *out, uint8_t tag[PR_SEAL_TAG_LEN]);

/*
 * Check tag over aad and in, and decrypt into out (may be in). 0, or
 * -EBADMSG when anything was changed (or the key is another one), -EIO on
 * a library failure. out holds nothing usable after -EBADMSG.
 */
int pr_seal_decrypt(struct pr_seal *s, const uint8_t key[PR_SEAL_KEY_LEN],
		    const uint8_t nonce[PR_SEAL_NONCE_LEN], const void *aad, size_t aad_len,
		    const void *in, size_t len, void *out, const uint8_t tag[PR_SEAL_TAG_LEN]);

#endif /* PR_SEAL_H */
