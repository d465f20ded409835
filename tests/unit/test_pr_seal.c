// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of block sealing (storage/seal/pr_seal.c): AES-256-GCM
 * against a published test vector, round trips of many sizes, and every
 * kind of change (data, associated data, tag, key, nonce, length) refused
 * with -EBADMSG; nonces of different counters differ.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pr_seal.h"

static int setup(void **state)
{
	struct pr_seal *s = NULL;

	assert_int_equal(pr_seal_create(&s), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	pr_seal_destroy(*state);
	return 0;
}

static void unhex(const char *h, uint8_t *out)
{
	for (size_t i = 0; h[2 * i]; i++) {
		unsigned int b;

		sscanf(h + 2 * i, "%2x", &b);
		out[i] = (uint8_t)b;
	}
}

/* NIST GCM test vector (AES-256, 96-bit IV, 64-byte plaintext, no AAD): test case 15. */
static void test_known_vector(void **state)
{
	uint8_t key[32], iv[12], pt[64], ct[64], want[64], tag[16], want_tag[16];

	unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key);
	unhex("cafebabefacedbaddecaf888", iv);
	unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
	      pt);
	unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
	      want);
	unhex("b094dac5d93471bdec1a502270e3cc6c", want_tag);
	assert_int_equal(pr_seal_encrypt(*state, key, iv, NULL, 0, pt, 64, ct, tag), 0);
	assert_memory_equal(ct, want, 64);
	assert_memory_equal(tag, want_tag, 16);
	assert_int_equal(pr_seal_decrypt(*state, key, iv, NULL, 0, ct, 64, ct, tag), 0);
	assert_memory_equal(ct, pt, 64);
}

static void test_roundtrip_and_tamper(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 1000, 65536, 1 << 20 };
	uint8_t key[32], key2[32], nonce[12], aad[64], tag[16];
	uint8_t *pt = malloc(1 << 20), *ct = malloc(1 << 20), *out = malloc(1 << 20);

	assert_non_null(pt);
	assert_non_null(ct);
	assert_non_null(out);
	assert_int_equal(pr_seal_key_generate(key), 0);
	assert_int_equal(pr_seal_key_generate(key2), 0);
	assert_memory_not_equal(key, key2, 32);
	for (size_t i = 0; i < (1 << 20); i++)
		pt[i] = (uint8_t)(i * 7 + 3);
	memset(aad, 0x5a, sizeof(aad));
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];

		pr_seal_nonce(k, nonce);
		assert_int_equal(pr_seal_encrypt(*state, key, nonce, aad, 64, pt, n, ct, tag), 0);
		if (n >= 16)
			assert_memory_not_equal(ct, pt, 16);
		assert_int_equal(pr_seal_decrypt(*state, key, nonce, aad, 64, ct, n, out, tag), 0);
		if (n)
			assert_memory_equal(out, pt, n);
		if (n) {
			ct[n / 2] ^= 1;
			assert_int_equal(pr_seal_decrypt(*state, key, nonce, aad, 64, ct, n, out,
							 tag),
					 -EBADMSG);
			ct[n / 2] ^= 1;
		}
		aad[10] ^= 1;
		assert_int_equal(pr_seal_decrypt(*state, key, nonce, aad, 64, ct, n, out, tag),
				 -EBADMSG);
		aad[10] ^= 1;
		tag[0] ^= 1;
		assert_int_equal(pr_seal_decrypt(*state, key, nonce, aad, 64, ct, n, out, tag),
				 -EBADMSG);
		tag[0] ^= 1;
		assert_int_equal(pr_seal_decrypt(*state, key2, nonce, aad, 64, ct, n, out, tag),
				 -EBADMSG);
		pr_seal_nonce(k + 1, nonce);
		assert_int_equal(pr_seal_decrypt(*state, key, nonce, aad, 64, ct, n, out, tag),
				 -EBADMSG);
		if (n)
			assert_int_equal(pr_seal_decrypt(*state, key, nonce, aad, 64, ct, n - 1,
							 out, tag),
					 -EBADMSG);
	}
	free(pt);
	free(ct);
	free(out);
}

static void test_nonces(void **state)
{
	uint8_t a[12], b[12];

	(void)state;
	pr_seal_nonce(0, a);
	pr_seal_nonce(1, b);
	assert_memory_not_equal(a, b, 12);
	pr_seal_nonce(0x0102030405060708ull, a);
	assert_int_equal(a[0] | a[1] | a[2] | a[3], 0);
	assert_int_equal(a[4], 1);
	assert_int_equal(a[11], 8);
	pr_seal_nonce(UINT64_MAX, b);
	assert_memory_not_equal(a, b, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_known_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_and_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonces, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
