// SPDX-License-Identifier: Apache-2.0
/*
 * Who may make a request (pr_http_admit() in pr_http_int.h): with a
 * client CA, a client certificate it signed; with API keys, one of them
 * (x-api-key or "Authorization: Bearer", checked by the daemon's auth
 * callback in constant time), counted when missing or wrong; and, with a
 * rate limit, a token from the key's bucket (the client address's without
 * keys). Connection threads; the buckets sit behind one lock.
 */
#include "pr_http_int.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include "pr_sensor_metrics.h"

/*
 * The API key of the request: x-api-key, else "Authorization: Bearer
 * KEY" (the scheme in any case). NULL when neither is there.
 */
static const char *request_key(struct pr_http_req *r, size_t *len)
{
	const char *k = pr_http_header(r, "x-api-key");

	if (!k) {
		const char *a = pr_http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);

		if (a && !strncasecmp(a, "Bearer", 6) && (a[6] == ' ' || a[6] == '\t')) {
			k = a + 6;
			while (*k == ' ' || *k == '\t')
				k++;
		}
	}
	if (!k || !*k)
		return NULL;
	*len = strlen(k);
	return k;
}

/* FNV-1a, so that the rate table never holds a key itself. */
static uint64_t digest(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

/*
 * Take a token from id's bucket. Returns 0, or the seconds to wait
 * before one is there. The table holds the RATE_BUCKETS most recently
 * seen keys; a new key takes the slot of the one seen longest ago.
 */
static unsigned rate_take(struct pr_http_server *srv, uint64_t id)
{
	double rate = srv->cfg.rate_limit_per_s, burst = srv->cfg.rate_limit_burst;
	struct pr_http_bucket *b = NULL, *oldest = NULL;
	uint64_t now = pr_http_mono_ns();
	unsigned wait = 0;

	pthread_mutex_lock(&srv->rl_lock);
	for (unsigned i = 0; i < srv->n_buckets; i++) {
		struct pr_http_bucket *c = &srv->buckets[i];

		if (c->id == id) {
			b = c;
			break;
		}
		if (!oldest || c->last_ns < oldest->last_ns)
			oldest = c;
	}
	if (!b) {
		b = oldest;
		b->id = id;
		b->tokens = burst;
		b->last_ns = now;
	}
	b->tokens += rate * (double)(now - b->last_ns) / 1e9;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last_ns = now;
	if (b->tokens >= 1)
		b->tokens -= 1;
	else
		wait = (unsigned)ceil((1 - b->tokens) / rate);
	pthread_mutex_unlock(&srv->rl_lock);
	return wait;
}

/* The client's address as text, for rate limiting without keys. */
static void client_addr(struct pr_http_req *r, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(buf, len, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
			  (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  buf, (socklen_t)len);
}

/* With --tls-client-ca: is the client's certificate one of ours? 0, or an error queued. */
static int client_cert_check(struct pr_http_req *r, enum MHD_Result *ret)
{
	const union MHD_ConnectionInfo *ci;
	unsigned status = 0;
	int rc;

	if (!r->srv->mtls)
		return 0;
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session) {
		*ret = pr_http_resp_error(r, 403, "a client certificate is required");
		return -1;
	}
	rc = gnutls_certificate_verify_peers2((gnutls_session_t)ci->tls_session, &status);
	if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND) {
		*ret = pr_http_resp_error(r, 403, "a client certificate is required");
		return -1;
	}
	if (rc < 0 || status) {
		gnutls_datum_t why = { NULL, 0 };

		if (rc >= 0)
			gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why,
								     0);
		*ret = pr_http_resp_error(r, 403, "the client certificate is not trusted: %s",
					  rc < 0   ? gnutls_strerror(rc) :
					  why.data ? (const char *)why.data :
						     "verification failed");
		gnutls_free(why.data);
		return -1;
	}
	return 0;
}

/* Auth and the rate limit. 0 to go on, or an error was queued into *ret. */
int pr_http_admit(struct pr_http_req *r, enum MHD_Result *ret)
{
	struct pr_http_server *srv = r->srv;
	bool open = (r->route == PR_ROUTE_HEALTH && srv->cfg.open_health) ||
		    (r->route == PR_ROUTE_METRICS && srv->cfg.open_metrics);
	const char *key = NULL;
	size_t klen = 0;
	uint64_t id;

	if (client_cert_check(r, ret))
		return -1;
	if (srv->cfg.auth && !open) {
		key = request_key(r, &klen);
		if (!key || srv->cfg.auth(srv->cfg.auth_ctx, key, klen)) {
			if (srv->cfg.sm)
				pr_sensor_metrics_auth_failure(srv->cfg.sm, PR_SM_API_HTTP, !key);
			pr_http_set_header(MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					   "Bearer realm=\"packetrecorder\"");
			*ret = pr_http_resp_error(
				r, 401,
				key ? "the API key is not valid" :
				      "an API key is required: send it as x-api-key or "
				      "\"Authorization: Bearer KEY\"");
			return -1;
		}
	}
	if (srv->cfg.rate_limit_per_s > 0 && r->route != PR_ROUTE_HEALTH) {
		unsigned wait;

		if (key) {
			id = digest(key, klen);
		} else {
			char addr[INET6_ADDRSTRLEN];

			client_addr(r, addr, sizeof(addr));
			id = digest(addr, strlen(addr));
		}
		if ((wait = rate_take(srv, id))) {
			pr_http_set_header(MHD_HTTP_HEADER_RETRY_AFTER, "%u", wait);
			*ret = pr_http_resp_error(r, 429,
						  "rate limit of %g requests per second exceeded; "
						  "retry in %u s",
						  srv->cfg.rate_limit_per_s, wait);
			return -1;
		}
	}
	return 0;
}
