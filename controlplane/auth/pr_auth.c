// SPDX-License-Identifier: Apache-2.0
/*
 * API key checks (pr_auth.h). The set of keys is an array of SHA-256
 * digests behind a read-write lock: checks take it shared, a reload
 * builds the new array outside it and swaps the pointer under it. Key
 * text is wiped from our buffers as soon as it is hashed. Any thread for
 * checks; create, reload and destroy from the main thread.
 */
#include "pr_auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define DIGEST_LEN 32
/* A key file larger than this is not a key file. */
#define KEYS_FILE_MAX (1u << 20)

struct keyset {
	unsigned n, cap;
	uint8_t (*digest)[DIGEST_LEN];
};

struct pr_auth {
	pthread_rwlock_t lock;
	struct keyset *keys; /* under lock */
	char *key; /* copies of the cfg strings, wiped on destroy */
	char *keys_list;
	char *keys_file;
	atomic_uint_least64_t failures;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void pr_auth_cfg_from_env(struct pr_auth_cfg *cfg)
{
	const char *v;

	memset(cfg, 0, sizeof(*cfg));
	v = getenv("PACKETRECORDER_API_KEY");
	cfg->key = v && v[0] ? v : NULL;
	v = getenv("PACKETRECORDER_API_KEYS");
	cfg->keys = v && v[0] ? v : NULL;
	v = getenv("PACKETRECORDER_API_KEYS_FILE");
	cfg->keys_file = v && v[0] ? v : NULL;
}

static int sha256(const void *p, size_t n, uint8_t out[DIGEST_LEN])
{
	unsigned int len = DIGEST_LEN;

	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 ? 0 : -ENOMEM;
}

static void keyset_free(struct keyset *ks)
{
	if (!ks)
		return;
	if (ks->digest)
		OPENSSL_cleanse(ks->digest, (size_t)ks->cap * DIGEST_LEN);
	free(ks->digest);
	free(ks);
}

/* Check one key and add its digest. what names its source for errors. */
static int keyset_add(struct keyset *ks, const char *k, size_t n, const char *what, unsigned idx,
		      char *err, size_t errlen)
{
	if (n < PR_AUTH_KEY_MIN) {
		set_err(err, errlen, "%s: key %u: %zu characters, at least %d are needed", what,
			idx, n, PR_AUTH_KEY_MIN);
		return -EINVAL;
	}
	if (n > PR_AUTH_KEY_MAX) {
		set_err(err, errlen, "%s: key %u: longer than %d characters", what, idx,
			PR_AUTH_KEY_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];

		if (c <= 0x20 || c >= 0x7f || c == ',') {
			set_err(err, errlen,
				"%s: key %u: character %zu is not printable ASCII (or is a space "
				"or comma)",
				what, idx, i + 1);
			return -EINVAL;
		}
	}
	if (ks->n == PR_AUTH_MAX_KEYS) {
		set_err(err, errlen, "%s: more than %d keys", what, PR_AUTH_MAX_KEYS);
		return -E2BIG;
	}
	if (ks->n == ks->cap) {
		unsigned cap = ks->cap ? ks->cap * 2 : 8;
		uint8_t(*d)[DIGEST_LEN] = calloc(cap, DIGEST_LEN);

		if (!d) {
			set_err(err, errlen, "%s: %s", what, strerror(ENOMEM));
			return -ENOMEM;
		}
		if (ks->digest) {
			memcpy(d, ks->digest, (size_t)ks->n * DIGEST_LEN);
			OPENSSL_cleanse(ks->digest, (size_t)ks->cap * DIGEST_LEN);
			free(ks->digest);
		}
		ks->digest = d;
		ks->cap = cap;
	}
	if (sha256(k, n, ks->digest[ks->n])) {
		set_err(err, errlen, "%s: SHA-256 failed", what);
		return -ENOMEM;
	}
	ks->n++;
	return 0;
}

/* Add each key of a list separated by any of seps; blank entries are skipped. */
static int add_list(struct keyset *ks, const char *list, const char *seps, bool comments,
		    const char *what, char *err, size_t errlen)
{
	unsigned idx = 0;
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, seps), b = 0, e = n;
		int ret;

		/* Spaces around a key are layout ("a, b"), not part of it. */
		while (b < e && (p[b] == ' ' || p[b] == '\t' || p[b] == '\r'))
			b++;
		while (e > b && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\r'))
			e--;
		if (e > b && !(comments && p[b] == '#')) {
			ret = keyset_add(ks, p + b, e - b, what, ++idx, err, errlen);
			if (ret)
				return ret;
		}
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

static int read_keys_file(struct keyset *ks, const char *path, char *err, size_t errlen)
{
	char what[600];
	struct stat sb;
	char *buf = NULL;
	size_t n;
	FILE *f;
	int ret;

	snprintf(what, sizeof(what), "PACKETRECORDER_API_KEYS_FILE %s", path);
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		set_err(err, errlen, "%s: %s", what, strerror(errno));
		return ret;
	}
	if (fstat(fileno(f), &sb) || sb.st_size > KEYS_FILE_MAX) {
		set_err(err, errlen, "%s: not a key file (larger than %u bytes)", what,
			KEYS_FILE_MAX);
		ret = -EINVAL;
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		set_err(err, errlen, "%s: %s", what, strerror(ENOMEM));
		ret = -ENOMEM;
		goto out;
	}
	n = fread(buf, 1, (size_t)sb.st_size, f);
	buf[n] = 0;
	if (memchr(buf, 0, n)) {
		set_err(err, errlen, "%s: NUL byte: not a text file", what);
		ret = -EINVAL;
		goto out;
	}
	ret = add_list(ks, buf, "\n", true, what, err, errlen);
out:
	if (buf) {
		OPENSSL_cleanse(buf, (size_t)sb.st_size + 1);
		free(buf);
	}
	fclose(f);
	return ret;
}

static int load(const struct pr_auth *a, struct keyset **out, char *err, size_t errlen)
{
	struct keyset *ks = calloc(1, sizeof(*ks));
	int ret = 0;

	*out = NULL;
	if (!ks) {
		set_err(err, errlen, "API keys: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (a->key)
		ret = keyset_add(ks, a->key, strlen(a->key), "PACKETRECORDER_API_KEY", 1, err,
				 errlen);
	if (!ret && a->keys_list)
		ret = add_list(ks, a->keys_list, ",", false, "PACKETRECORDER_API_KEYS", err,
			       errlen);
	if (!ret && a->keys_file)
		ret = read_keys_file(ks, a->keys_file, err, errlen);
	if (ret) {
		keyset_free(ks);
		return ret;
	}
	*out = ks;
	return 0;
}

static void str_wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

int pr_auth_create(const struct pr_auth_cfg *cfg, struct pr_auth **out, char *err, size_t errlen)
{
	struct pr_auth *a = calloc(1, sizeof(*a));
	int ret;

	*out = NULL;
	if (!a) {
		set_err(err, errlen, "API keys: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	pthread_rwlock_init(&a->lock, NULL);
	if ((cfg->key && !(a->key = strdup(cfg->key))) ||
	    (cfg->keys && !(a->keys_list = strdup(cfg->keys))) ||
	    (cfg->keys_file && !(a->keys_file = strdup(cfg->keys_file)))) {
		set_err(err, errlen, "API keys: %s", strerror(ENOMEM));
		ret = -ENOMEM;
		goto err;
	}
	ret = load(a, &a->keys, err, errlen);
	if (ret)
		goto err;
	*out = a;
	return 0;
err:
	pr_auth_destroy(a);
	return ret;
}

void pr_auth_destroy(struct pr_auth *a)
{
	if (!a)
		return;
	keyset_free(a->keys);
	str_wipe_free(a->key);
	str_wipe_free(a->keys_list);
	free(a->keys_file);
	pthread_rwlock_destroy(&a->lock);
	free(a);
}

unsigned pr_auth_key_count(const struct pr_auth *a)
{
	struct pr_auth *m = (struct pr_auth *)(uintptr_t)a; /* the lock is not the value */
	unsigned n;

	pthread_rwlock_rdlock(&m->lock);
	n = m->keys ? m->keys->n : 0;
	pthread_rwlock_unlock(&m->lock);
	return n;
}

bool pr_auth_enabled(const struct pr_auth *a)
{
	return a && pr_auth_key_count(a) > 0;
}

int pr_auth_check(void *ctx, const char *key, size_t len)
{
	struct pr_auth *a = ctx;
	uint8_t h[DIGEST_LEN];
	unsigned match = 0;

	/* Hashing first makes every comparison as long as every other. */
	if (!key || sha256(key, len, h)) {
		atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
		return -EACCES;
	}
	pthread_rwlock_rdlock(&a->lock);
	for (unsigned i = 0; a->keys && i < a->keys->n; i++)
		match |= (unsigned)(CRYPTO_memcmp(a->keys->digest[i], h, DIGEST_LEN) == 0);
	pthread_rwlock_unlock(&a->lock);
	OPENSSL_cleanse(h, sizeof(h));
	if (match)
		return 0;
	atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
	return -EACCES;
}

bool pr_auth_header_key(const char *name, size_t name_len, const char *value, size_t value_len,
			const char **out, size_t *out_len)
{
	if (name_len == 9 && !strncasecmp(name, "x-api-key", 9)) {
		*out = value;
		*out_len = value_len;
		return true;
	}
	if (name_len == 13 && !strncasecmp(name, "authorization", 13) && value_len > 7 &&
	    !strncasecmp(value, "bearer ", 7)) {
		size_t b = 7;

		while (b < value_len && value[b] == ' ')
			b++;
		*out = value + b;
		*out_len = value_len - b;
		return true;
	}
	return false;
}

void pr_auth_count_failure(struct pr_auth *a)
{
	atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
}

uint64_t pr_auth_failures(const struct pr_auth *a)
{
	return atomic_load_explicit(&((struct pr_auth *)(uintptr_t)a)->failures,
				    memory_order_relaxed);
}

int pr_auth_reload(struct pr_auth *a, char *err, size_t errlen)
{
	struct keyset *ks, *old;
	int ret = load(a, &ks, err, errlen);

	if (ret)
		return ret;
	pthread_rwlock_wrlock(&a->lock);
	old = a->keys;
	a->keys = ks;
	pthread_rwlock_unlock(&a->lock);
	keyset_free(old);
	return 0;
}

bool pr_auth_addr_is_loopback(const char *addr)
{
	char host[256];
	const char *colon;
	struct in6_addr a6;
	struct in_addr a4;
	size_t n;

	if (!strncmp(addr, "unix:", 5) || !strncmp(addr, "unix-abstract:", 14))
		return true;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || (size_t)(end - addr - 1) >= sizeof(host))
			return false;
		n = (size_t)(end - addr - 1);
		memcpy(host, addr + 1, n);
		host[n] = 0;
		return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	colon = strrchr(addr, ':');
	n = colon ? (size_t)(colon - addr) : strlen(addr);
	if (!n || n >= sizeof(host))
		return false;
	memcpy(host, addr, n);
	host[n] = 0;
	if (!strcmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return false;
}
