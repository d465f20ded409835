// SPDX-License-Identifier: Apache-2.0
/*
 * Export manifests: SHA-256 of the exported file, the signature member
 * appended to the canonical bytes, and verification. The manifest is
 * parsed only as far as verification needs: the members file_sha256,
 * file_bytes and sensor_public_key of the signed part, which pr_json
 * writes compactly ("key":value) and which cannot occur inside a string
 * value because pr_json escapes every quote there. Main thread; owns
 * nothing beyond a call.
 */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "pr_manifest.h"

#define SIG_MEMBER ",\"signature\":\""

void pr_manifest_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

/*
 * n bytes from 2n hex digits. lower: only the lower-case digits that
 * pr_manifest_hex() writes, so that a manifest has one spelling and a
 * changed letter case is a change like any other.
 */
static int unhex(const char *s, size_t slen, uint8_t *out, size_t n, bool lower)
{
	if (slen != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < 2 * n; i++) {
		int c = (unsigned char)s[i], v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (!lower && c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return -EINVAL;
		if (i & 1)
			out[i / 2] = (uint8_t)(out[i / 2] << 4 | v);
		else
			out[i / 2] = (uint8_t)v;
	}
	return 0;
}

int pr_manifest_sha256_file(const char *path, uint8_t sha[PR_SHA256_LEN], uint64_t *size)
{
	EVP_MD_CTX *md = NULL;
	unsigned int mdlen = 0;
	uint64_t total = 0;
	uint8_t *buf = NULL;
	int fd, err = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	buf = malloc(1 << 20);
	md = EVP_MD_CTX_new();
	if (!buf || !md) {
		err = -ENOMEM;
		goto out;
	}
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) <= 0) {
		err = -EIO;
		goto out;
	}
	while ((n = read(fd, buf, 1 << 20)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		EVP_DigestUpdate(md, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(md, sha, &mdlen) <= 0 || mdlen != PR_SHA256_LEN)
		err = -EIO;
	*size = total;
out:
	EVP_MD_CTX_free(md);
	free(buf);
	if (fd >= 0)
		close(fd);
	return err;
}

int pr_manifest_write(FILE *f, const char *canon, size_t len, const uint8_t sig[PR_SENSOR_SIG_LEN])
{
	char hex[2 * PR_SENSOR_SIG_LEN + 1];

	if (!len || canon[len - 1] != '}')
		return -EINVAL;
	pr_manifest_hex(sig, PR_SENSOR_SIG_LEN, hex);
	if (fwrite(canon, 1, len - 1, f) != len - 1 || fprintf(f, SIG_MEMBER "%s\"}\n", hex) < 0 ||
	    fflush(f))
		return -EIO;
	return 0;
}

int pr_manifest_parse_pubkey(const char *arg, uint8_t pub[PR_SENSOR_PUBKEY_LEN], char *err,
			     size_t errlen)
{
	char buf[4096];
	size_t n, len = PR_SENSOR_PUBKEY_LEN;
	EVP_PKEY *pk = NULL;
	FILE *f = NULL;
	int ret = -EINVAL;

	if (!unhex(arg, strlen(arg), pub, PR_SENSOR_PUBKEY_LEN, false)) {
		ret = 0;
		goto out;
	}
	f = fopen(arg, "r");
	if (!f) {
		snprintf(err, errlen, "\"%s\" is neither 64 hex digits nor a readable file: %s",
			 arg, strerror(errno));
		goto out;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = 0;
	if (!unhex(buf, n, pub, PR_SENSOR_PUBKEY_LEN, false)) {
		ret = 0;
		goto out;
	}
	rewind(f);
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (pk && EVP_PKEY_id(pk) == EVP_PKEY_ED25519 &&
	    EVP_PKEY_get_raw_public_key(pk, pub, &len) > 0 && len == PR_SENSOR_PUBKEY_LEN) {
		ret = 0;
		goto out;
	}
	snprintf(err, errlen, "%s: not 64 hex digits or an Ed25519 public key in PEM", arg);
out:
	EVP_PKEY_free(pk);
	if (f)
		fclose(f);
	return ret;
}

/* The value of a top-level string member "key":"..." of the signed part. */
static bool find_str(const char *m, size_t len, const char *key, const char **v, size_t *vlen)
{
	char pat[64];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = memmem(m, len, pat, strlen(pat));
	if (!p)
		return false;
	p += strlen(pat);
	end = memchr(p, '"', len - (size_t)(p - m));
	if (!end)
		return false;
	*v = p;
	*vlen = (size_t)(end - p);
	return true;
}

static bool find_u64(const char *m, size_t len, const char *key, uint64_t *v)
{
	char pat[64], num[32];
	const char *p;
	size_t i = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = memmem(m, len, pat, strlen(pat));
	if (!p)
		return false;
	p += strlen(pat);
	while (p < m + len && i < sizeof(num) - 1 && isdigit((unsigned char)*p))
		num[i++] = *p++;
	num[i] = 0;
	if (!i)
		return false;
	*v = strtoull(num, NULL, 10);
	return true;
}

int pr_manifest_verify(const char *m, size_t len, const char *file, const uint8_t *pub,
		       struct pr_manifest_check *res)
{
	uint8_t sig[PR_SENSOR_SIG_LEN], mkey[PR_SENSOR_PUBKEY_LEN], sha[PR_SHA256_LEN];
	const char *sigp = NULL, *p, *v;
	char *canon = NULL;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pk = NULL;
	size_t clen, vlen;
	int err;

	memset(res, 0, sizeof(*res));
	err = pr_manifest_sha256_file(file, sha, &res->file_bytes);
	if (err)
		goto out;
	pr_manifest_hex(sha, sizeof(sha), res->file_sha256);
	/*
	 * Exactly as pr_manifest_write() ends it: one newline, which may be
	 * gone, and nothing else. Any other byte after the signature, even
	 * white space, is a change to the manifest and reported as one.
	 */
	if (len && m[len - 1] == '\n')
		len--;
	/* The last signature member: what follows it must be the hex and "}". */
	for (p = m; (p = memmem(p, len - (size_t)(p - m), SIG_MEMBER, strlen(SIG_MEMBER))); p++)
		sigp = p;
	if (!sigp || len - (size_t)(sigp - m) != strlen(SIG_MEMBER) + 2 * PR_SENSOR_SIG_LEN + 2 ||
	    memcmp(m + len - 2, "\"}", 2) ||
	    unhex(sigp + strlen(SIG_MEMBER), 2 * PR_SENSOR_SIG_LEN, sig, sizeof(sig), true)) {
		snprintf(res->problem, sizeof(res->problem),
			 "no signature member at the end of the manifest (a manifest must be "
			 "kept byte for byte as export wrote it)");
		goto out;
	}
	clen = (size_t)(sigp - m) + 1;
	canon = malloc(clen);
	if (!canon) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(canon, m, clen - 1);
	canon[clen - 1] = '}';
	if (!find_str(canon, clen, "format", &v, &vlen) || vlen != strlen(PR_MANIFEST_FORMAT) ||
	    memcmp(v, PR_MANIFEST_FORMAT, vlen)) {
		snprintf(res->problem, sizeof(res->problem),
			 "not a packetrecorder export manifest (no \"format\":\"%s\")",
			 PR_MANIFEST_FORMAT);
		goto out;
	}
	if (!find_str(canon, clen, "sensor_public_key", &v, &vlen) ||
	    unhex(v, vlen, mkey, sizeof(mkey), true)) {
		snprintf(res->problem, sizeof(res->problem),
			 "the manifest has no valid sensor_public_key");
		goto out;
	}
	pr_manifest_hex(mkey, sizeof(mkey), res->manifest_key);
	if (!find_str(canon, clen, "file_sha256", &v, &vlen) ||
	    vlen != sizeof(res->manifest_sha256) - 1 ||
	    !find_u64(canon, clen, "file_bytes", &res->manifest_bytes)) {
		snprintf(res->problem, sizeof(res->problem),
			 "the manifest has no valid file_sha256 or file_bytes");
		goto out;
	}
	memcpy(res->manifest_sha256, v, vlen);
	res->parsed = true;
	res->hash_ok = !strcmp(res->manifest_sha256, res->file_sha256);
	res->size_ok = res->manifest_bytes == res->file_bytes;
	res->key_from_manifest = !pub;
	if (!pub)
		pub = mkey;
	res->key_matches = !memcmp(pub, mkey, sizeof(mkey));
	pr_manifest_hex(pub, PR_SENSOR_PUBKEY_LEN, res->used_key);
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, PR_SENSOR_PUBKEY_LEN);
	md = EVP_MD_CTX_new();
	if (!pk || !md) {
		err = -ENOMEM;
		goto out;
	}
	res->sig_ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) > 0 &&
		      EVP_DigestVerify(md, sig, sizeof(sig), (const uint8_t *)canon, clen) == 1;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	free(canon);
	return err;
}

bool pr_manifest_check_ok(const struct pr_manifest_check *res)
{
	return res->parsed && res->sig_ok && res->hash_ok && res->size_ok;
}
