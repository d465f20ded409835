// SPDX-License-Identifier: Apache-2.0
/*
 * AES-256-GCM sealing of packet blocks (see pr_seal.h). One EVP context
 * per sealer, reset for every block: setting up a context costs more than
 * sealing a small block. GCM with a 96-bit nonce built from a per-key
 * counter: a nonce is never used twice under one key as long as the
 * caller never reuses a counter value with that key (the segment sink
 * gives every segment its own key and numbers its blocks from 0).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pr_seal.h"

struct pr_seal {
	EVP_CIPHER_CTX *ctx;
};

int pr_seal_create(struct pr_seal **out)
{
	struct pr_seal *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s || !(s->ctx = EVP_CIPHER_CTX_new())) {
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void pr_seal_destroy(struct pr_seal *s)
{
	if (!s)
		return;
	EVP_CIPHER_CTX_free(s->ctx);
	free(s);
}

int pr_seal_key_generate(uint8_t key[PR_SEAL_KEY_LEN])
{
	return RAND_bytes(key, PR_SEAL_KEY_LEN) == 1 ? 0 : -EIO;
}

void pr_seal_nonce(uint64_t seq, uint8_t nonce[PR_SEAL_NONCE_LEN])
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

/* EVP takes int lengths: feed large buffers in pieces. */
static int update(EVP_CIPHER_CTX *ctx, bool enc, uint8_t *out, const uint8_t *in, size_t len)
{
	const size_t step = 1u << 30;
	int n;

	while (len) {
		size_t part = len < step ? len : step;

		if ((enc ? EVP_EncryptUpdate(ctx, out, &n, in, (int)part) :
			   EVP_DecryptUpdate(ctx, out, &n, in, (int)part)) != 1)
			return -EIO;
		if (out)
			out += part;
		in += part;
		len -= part;
	}
	return 0;
}

static int start(struct pr_seal *s, bool enc, const uint8_t *key, const uint8_t *nonce,
		 const void *aad, size_t aad_len)
{
	int ok;

	ok = enc ? EVP_EncryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) :
		   EVP_DecryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL);
	if (ok == 1)
		ok = EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_IVLEN, PR_SEAL_NONCE_LEN, NULL);
	if (ok == 1)
		ok = enc ? EVP_EncryptInit_ex(s->ctx, NULL, NULL, key, nonce) :
			   EVP_DecryptInit_ex(s->ctx, NULL, NULL, key, nonce);
	if (ok != 1)
		return -EIO;
	return aad_len ? update(s->ctx, enc, NULL, aad, aad_len) : 0;
}

int pr_seal_encrypt(struct pr_seal *s, const uint8_t key[PR_SEAL_KEY_LEN],
		    const uint8_t nonce[PR_SEAL_NONCE_LEN], const void *aad, size_t aad_len,
		    const void *in, size_t len, void *out, uint8_t tag[PR_SEAL_TAG_LEN])
{
	uint8_t fin[16];
	int n, err;

	err = start(s, true, key, nonce, aad, aad_len);
	if (!err)
		err = update(s->ctx, true, out, in, len);
	if (!err && EVP_EncryptFinal_ex(s->ctx, fin, &n) != 1)
		err = -EIO;
	if (!err && EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, PR_SEAL_TAG_LEN, tag) != 1)
		err = -EIO;
	return err;
}

int pr_seal_decrypt(struct pr_seal *s, const uint8_t key[PR_SEAL_KEY_LEN],
		    const uint8_t nonce[PR_SEAL_NONCE_LEN], const void *aad, size_t aad_len,
		    const void *in, size_t len, void *out, const uint8_t tag[PR_SEAL_TAG_LEN])
{
	uint8_t fin[16], t[PR_SEAL_TAG_LEN];
	int n, err;

	memcpy(t, tag, sizeof(t));
	err = start(s, false, key, nonce, aad, aad_len);
	if (!err)
		err = update(s->ctx, false, out, in, len);
	if (!err && EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_TAG, PR_SEAL_TAG_LEN, t) != 1)
		err = -EIO;
	/* The tag is checked here: a mismatch is the only failure left. */
	if (!err && EVP_DecryptFinal_ex(s->ctx, fin, &n) != 1)
		err = -EBADMSG;
	return err;
}
