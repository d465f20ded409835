// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP server (pr_http.h): our own listening socket handed to
 * libmicrohttpd (so port 0 works and the port is known), its internal
 * polling thread plus one thread per connection, TLS through its GnuTLS
 * options, and the life of a request: route, admission (client
 * certificate, API key, rate limit: pr_http_admit.c), body, handler, and
 * the count in the metrics when it completes. Checks come before the body
 * is read, so a refused request never gets to send one. Runs on
 * libmicrohttpd's threads; create and destroy on the daemon's main thread.
 */
#define _GNU_SOURCE
#include "pr_http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#define PR_LOG_MODULE "http"
#include "pr_log.h"
#include "pr_metrics.h"
#include "pr_sensor_metrics.h"

#define DEFAULT_MAX_CONNECTIONS 64u
#define DEFAULT_MAX_PER_IP 32u
#define DEFAULT_TIMEOUT_S 30u
#define DEFAULT_MAX_BODY 65536u
#define DEFAULT_HEARTBEAT_MS 15000u
/*
 * Each connection's memory pool: the request line and headers must fit
 * in it (larger ones are answered 431 by libmicrohttpd), and it holds the
 * buffer responses are sent from, so it also sets the size of each send.
 */
#define CONN_MEMORY (128u * 1024u)
#define MAX_TLS_FILE (1u << 20)
#define RATE_BUCKETS 256u

uint64_t pr_http_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t pr_http_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *const route_names[PR_ROUTE_MAX] = {
	[PR_ROUTE_NONE] = "other",
	[PR_ROUTE_HEALTH] = "/health",
	[PR_ROUTE_METRICS] = "/metrics",
	[PR_ROUTE_STATS] = "/api/v1/stats",
	[PR_ROUTE_INTERFACES] = "/api/v1/interfaces",
	[PR_ROUTE_SESSIONS] = "/api/v1/sessions",
	[PR_ROUTE_SESSION] = "/api/v1/sessions/{id}",
	[PR_ROUTE_FLOWS] = "/api/v1/sessions/{id}/flows",
	[PR_ROUTE_PCAP] = "/api/v1/sessions/{id}/pcap",
	[PR_ROUTE_CAPTURES] = "/api/v1/captures",
	[PR_ROUTE_CAPTURE] = "/api/v1/captures/{id}",
	[PR_ROUTE_EVENTS] = "/api/v1/events",
};

/* The methods each route answers: GET also means HEAD. */
static const char *const route_allow[PR_ROUTE_MAX] = {
	[PR_ROUTE_HEALTH] = "GET, HEAD",   [PR_ROUTE_METRICS] = "GET, HEAD",
	[PR_ROUTE_STATS] = "GET, HEAD",	   [PR_ROUTE_INTERFACES] = "GET, HEAD",
	[PR_ROUTE_SESSIONS] = "GET, HEAD", [PR_ROUTE_SESSION] = "GET, HEAD",
	[PR_ROUTE_FLOWS] = "GET, HEAD",	   [PR_ROUTE_PCAP] = "GET, HEAD",
	[PR_ROUTE_CAPTURES] = "POST",	   [PR_ROUTE_CAPTURE] = "DELETE",
	[PR_ROUTE_EVENTS] = "GET",
};

const char *pr_http_route_name(enum pr_http_route r)
{
	return (unsigned)r < PR_ROUTE_MAX ? route_names[r] : "other";
}

const char *pr_http_arg(struct pr_http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *pr_http_header(struct pr_http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ---- routing ---- */

/*
 * An {id} path segment: decimal digits of a number from 1 to INT64_MAX.
 * Anything else is a 400 that says so.
 */
static bool parse_id(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;

	if (!n || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (INT64_MAX - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return v > 0;
}

enum pr_http_route pr_http_route_match(const char *url, int64_t *id, const char **seg,
				       size_t *seg_len)
{
	static const struct {
		const char *path;
		enum pr_http_route route;
	} fixed[] = {
		{ "/health", PR_ROUTE_HEALTH },
		{ "/metrics", PR_ROUTE_METRICS },
		{ "/api/v1/stats", PR_ROUTE_STATS },
		{ "/api/v1/interfaces", PR_ROUTE_INTERFACES },
		{ "/api/v1/sessions", PR_ROUTE_SESSIONS },
		{ "/api/v1/captures", PR_ROUTE_CAPTURES },
		{ "/api/v1/events", PR_ROUTE_EVENTS },
	};
	static const char sessions[] = "/api/v1/sessions/", captures[] = "/api/v1/captures/";
	const char *p, *slash;

	*id = 0;
	*seg = NULL;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(url, fixed[i].path))
			return fixed[i].route;
	if (!strncmp(url, captures, sizeof(captures) - 1)) {
		p = url + sizeof(captures) - 1;
		if (!*p || strchr(p, '/'))
			return PR_ROUTE_NONE;
		*seg = p;
		*seg_len = strlen(p);
		if (!parse_id(p, *seg_len, id))
			*id = -1;
		return PR_ROUTE_CAPTURE;
	}
	if (strncmp(url, sessions, sizeof(sessions) - 1))
		return PR_ROUTE_NONE;
	p = url + sizeof(sessions) - 1;
	slash = strchr(p, '/');
	*seg = p;
	*seg_len = slash ? (size_t)(slash - p) : strlen(p);
	if (!*seg_len)
		return PR_ROUTE_NONE;
	if (!parse_id(p, *seg_len, id))
		*id = -1;
	if (!slash)
		return PR_ROUTE_SESSION;
	if (!strcmp(slash, "/flows"))
		return PR_ROUTE_FLOWS;
	if (!strcmp(slash, "/pcap"))
		return PR_ROUTE_PCAP;
	return PR_ROUTE_NONE;
}

static bool method_allowed(enum pr_http_route route, const char *method)
{
	const char *allow = route_allow[route];

	if (!strcmp(allow, "GET, HEAD"))
		return !strcmp(method, MHD_HTTP_METHOD_GET) ||
		       !strcmp(method, MHD_HTTP_METHOD_HEAD);
	return !strcmp(method, allow);
}

/* ---- the handlers of this file ---- */

static enum MHD_Result handle_health(struct pr_http_req *r)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return MHD_NO;
	json_object_object_add(o, "status", json_object_new_string("ok"));
	json_object_object_add(o, "version", json_object_new_string(PR_VERSION));
	json_object_object_add(
		o, "uptime_s",
		json_object_new_double((double)(pr_http_mono_ns() - r->srv->start_mono_ns) / 1e9));
	return pr_http_resp_json(r, 200, o);
}

static enum MHD_Result handle_metrics(struct pr_http_req *r)
{
	char *text = NULL;
	size_t len = 0;
	int err;

	if (!r->srv->cfg.metrics)
		return pr_http_resp_error(r, 404, "this server has no metrics registry");
	err = pr_metrics_render(r->srv->cfg.metrics, &text, &len);
	if (err)
		return pr_http_resp_error(r, 500, "rendering the metrics: %s", strerror(-err));
	return pr_http_resp_buf(r, 200, PR_METRICS_CONTENT_TYPE, text, len);
}

static enum MHD_Result dispatch(struct pr_http_req *r)
{
	switch (r->route) {
	case PR_ROUTE_HEALTH:
		return handle_health(r);
	case PR_ROUTE_METRICS:
		return handle_metrics(r);
	case PR_ROUTE_STATS:
		return pr_http_api_stats(r);
	case PR_ROUTE_INTERFACES:
		return pr_http_api_interfaces(r);
	case PR_ROUTE_SESSIONS:
		return pr_http_api_sessions(r);
	case PR_ROUTE_SESSION:
		return pr_http_api_session(r);
	case PR_ROUTE_FLOWS:
		return pr_http_api_flows(r);
	case PR_ROUTE_PCAP:
		return pr_http_api_pcap(r);
	case PR_ROUTE_CAPTURES:
		return pr_http_api_capture_start(r);
	case PR_ROUTE_CAPTURE:
		return pr_http_api_capture_stop(r);
	case PR_ROUTE_EVENTS:
		return pr_http_sse_events(r);
	default:
		return pr_http_resp_error(r, 404, "no such resource");
	}
}

/*
 * The first call of a request, with its headers: route, admission and
 * the body's announced size. Returns MHD_YES to go on (the body, or the
 * handler on the next call), or what queuing an error returned.
 */
static enum MHD_Result request_begin(struct pr_http_req *r, const char *url, bool *answered)
{
	struct pr_http_server *srv = r->srv;
	enum MHD_Result ret = MHD_YES;
	const char *seg = NULL, *cl;
	size_t seg_len = 0;

	*answered = true;
	r->route = pr_http_route_match(url, &r->id, &seg, &seg_len);
	/* Admission first: without a key, a client learns nothing, not even what exists. */
	if (pr_http_admit(r, &ret))
		return ret;
	if (r->route == PR_ROUTE_NONE)
		return pr_http_resp_error(r, 404, "no such resource");
	if (!method_allowed(r->route, r->method)) {
		pr_http_set_header(MHD_HTTP_HEADER_ALLOW, "%s", route_allow[r->route]);
		return pr_http_resp_error(r, 405, "%s answers %s, not %s",
					  pr_http_route_name(r->route), route_allow[r->route],
					  r->method);
	}
	if (r->id < 0)
		return pr_http_resp_error(r, 400,
					  "%s id \"%.*s\" is not a number from 1 to %" PRId64,
					  r->route == PR_ROUTE_CAPTURE ? "capture" : "session",
					  (int)(seg_len > 64 ? 64 : seg_len), seg, INT64_MAX);
	cl = pr_http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (!errno && end != cl && n > srv->cfg.max_body_bytes)
			return pr_http_resp_error(
				r, 413,
				"the request body (%llu bytes) is larger than the "
				"limit of %u bytes",
				n, srv->cfg.max_body_bytes);
	}
	*answered = false;
	return MHD_YES;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct pr_http_server *srv = cls;
	struct pr_http_req *r = *con_cls;

	(void)version;
	if (!r) {
		enum MHD_Result ret;
		bool answered;

		/* A header set for a response that never went out must not reach this one. */
		pr_http_set_header(NULL, "%s", "");
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->srv = srv;
		r->conn = conn;
		r->method = method;
		r->start_ns = pr_http_mono_ns();
		*con_cls = r;
		ret = request_begin(r, url, &answered);
		/*
		 * A refusal goes out now, before any body is read (the connection
		 * then closes). The rest is answered on a later call, once
		 * libmicrohttpd has the whole request: a response queued before
		 * that would cost the connection its keep-alive.
		 */
		if (answered || ret != MHD_YES)
			return ret;
		return MHD_YES;
	}
	if (r->status)
		return MHD_YES; /* answered already (the body of a refused upload) */
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		if (!r->body_too_big && r->body_len + n <= srv->cfg.max_body_bytes) {
			char *nb = realloc(r->body, r->body_len + n + 1);

			if (!nb)
				return MHD_NO;
			memcpy(nb + r->body_len, upload_data, n);
			r->body = nb;
			r->body_len += n;
			r->body[r->body_len] = 0;
		} else {
			/*
			 * A chunked body that grew past the limit (a Content-Length
			 * above it was refused before the body). libmicrohttpd takes
			 * no response in the middle of a body, and reading the rest
			 * only to refuse it would let a client stream for ever: the
			 * connection is closed.
			 */
			r->body_too_big = true;
			return MHD_NO;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return dispatch(r);
}

/*
 * The method as a metrics label: a client may send any token as a
 * method, and each would be a series of its own.
 */
static const char *method_label(const char *m)
{
	static const char *const known[] = { "GET",    "HEAD",	"POST",	   "PUT",
					     "DELETE", "PATCH", "OPTIONS", "CONNECT" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(m, known[i]))
			return known[i];
	return "other";
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct pr_http_server *srv = cls;
	struct pr_http_req *r = *con_cls;

	(void)conn;
	(void)toe;
	if (!r)
		return;
	if (r->status && srv->cfg.sm) {
		char code[16];

		snprintf(code, sizeof(code), "%u", r->status);
		pr_sensor_metrics_request(srv->cfg.sm, PR_SM_API_HTTP, method_label(r->method),
					  pr_http_route_name(r->route), code,
					  (double)(r->resp_ns - r->start_ns) / 1e9);
	}
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static void connection_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct pr_http_server *srv = cls;

	(void)conn;
	(void)socket_context;
	if (!srv->cfg.sm)
		return;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		pr_metric_add(srv->cfg.sm->connections[PR_SM_API_HTTP], 1);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		pr_metric_add(srv->cfg.sm->connections[PR_SM_API_HTTP], -1);
}

/* libmicrohttpd's own messages (a failed TLS handshake, a refused connection): debug level. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	if (pr_log_get_level() < PR_LOG_INFO)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
		msg[--n] = 0;
	PR_INFO("libmicrohttpd: %s", msg);
}

/* ---- setup ---- */

static int fail(char *err, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return code;
}

/*
 * Split "HOST:PORT", "[V6]:PORT" or ":PORT" and open a listening socket
 * on the first address it resolves to. An empty host listens on every
 * address (IPv6 and IPv4 where the system allows both on one socket).
 */
static int listen_on(const char *addr, int *fd_out, uint16_t *port_out, char *err, size_t elen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	char host[256], port[16];
	const char *colon, *h = addr;
	size_t hlen;
	int fd = -1, rc, e = 0;

	if (!addr || !*addr)
		return fail(err, elen, -EINVAL, "no address to listen on");
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':')
			return fail(err, elen, -EINVAL, "address \"%s\": expected [IPV6]:PORT",
				    addr);
		h = addr + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return fail(err, elen, -EINVAL, "address \"%s\": expected HOST:PORT", addr);
		if (memchr(addr, ':', (size_t)(colon - addr)))
			return fail(err, elen, -EINVAL,
				    "address \"%s\": an IPv6 address goes in brackets: [::1]:8080",
				    addr);
		hlen = (size_t)(colon - addr);
	}
	if (hlen >= sizeof(host) || !colon[1] || strlen(colon + 1) >= sizeof(port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || atoi(colon + 1) > 65535)
		return fail(err, elen, -EINVAL, "address \"%s\": bad host or port", addr);
	memcpy(host, h, hlen);
	host[hlen] = 0;
	snprintf(port, sizeof(port), "%s", colon + 1);
	if (!hlen)
		hints.ai_family = AF_INET6; /* "::", with IPv4 mapped in where allowed */
	rc = getaddrinfo(hlen ? host : NULL, port, &hints, &res);
	if (rc && !hlen) {
		hints.ai_family = AF_INET;
		rc = getaddrinfo(NULL, port, &hints, &res);
	}
	if (rc)
		return fail(err, elen, -EINVAL, "address \"%s\": %s", addr, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1, zero = 0;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			e = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6 && !hlen)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 128))
			break;
		e = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fail(err, elen, e ? e : -EADDRNOTAVAIL, "listen on %s: %s", addr,
			    strerror(e ? -e : EADDRNOTAVAIL));
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		getsockname(fd, (struct sockaddr *)&ss, &sl);
		*port_out = ntohs(ss.ss_family == AF_INET6 ?
					  ((struct sockaddr_in6 *)&ss)->sin6_port :
					  ((struct sockaddr_in *)&ss)->sin_port);
	}
	*fd_out = fd;
	return 0;
}

/* A PEM file, whole, checked to hold a block of the kind wanted ("CERTIFICATE", "PRIVATE KEY"). */
static int read_pem(const char *what, const char *path, const char *kind, char **out, char *err,
		    size_t elen)
{
	struct stat stb;
	char *buf = NULL, begin[64];
	size_t n = 0;
	FILE *f;
	int e;

	*out = NULL;
	f = fopen(path, "re");
	if (!f) {
		e = errno;
		return fail(err, elen, -e, "%s %s: %s", what, path, strerror(e));
	}
	if (fstat(fileno(f), &stb) || stb.st_size > (off_t)MAX_TLS_FILE) {
		fclose(f);
		return fail(err, elen, -EFBIG, "%s %s: not a PEM file of at most %u bytes", what,
			    path, MAX_TLS_FILE);
	}
	buf = calloc(1, (size_t)stb.st_size + 1);
	if (!buf) {
		fclose(f);
		return fail(err, elen, -ENOMEM, "%s: %s", what, strerror(ENOMEM));
	}
	n = fread(buf, 1, (size_t)stb.st_size, f);
	fclose(f);
	buf[n] = 0;
	snprintf(begin, sizeof(begin), "-----BEGIN ");
	if (!strstr(buf, begin) || !strstr(buf, kind)) {
		OPENSSL_cleanse(buf, n);
		free(buf);
		return fail(err, elen, -EBADMSG, "%s %s: no PEM %s in it", what, path, kind);
	}
	*out = buf;
	return 0;
}

static void pem_free(char *p)
{
	if (p) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

int pr_http_server_create(const struct pr_http_cfg *cfg, struct pr_http_server **out, char *err,
			  size_t err_len)
{
	struct pr_http_server *srv = calloc(1, sizeof(*srv));
	struct MHD_OptionItem opts[20];
	unsigned n = 0, flags;
	int ret;

	*out = NULL;
	if (err && err_len)
		err[0] = 0;
	if (!srv)
		return fail(err, err_len, -ENOMEM, "%s", strerror(ENOMEM));
	srv->listen_fd = -1;
	srv->cfg = *cfg;
	srv->start_mono_ns = pr_http_mono_ns();
	pthread_mutex_init(&srv->lock, NULL);
	pthread_mutex_init(&srv->rl_lock, NULL);
	/* Defaults, and limits that keep one client from taking everything. */
	if (!srv->cfg.max_connections)
		srv->cfg.max_connections = DEFAULT_MAX_CONNECTIONS;
	if (!srv->cfg.max_connections_per_ip)
		srv->cfg.max_connections_per_ip = DEFAULT_MAX_PER_IP;
	if (srv->cfg.max_connections_per_ip > srv->cfg.max_connections)
		srv->cfg.max_connections_per_ip = srv->cfg.max_connections;
	if (!srv->cfg.connection_timeout_s)
		srv->cfg.connection_timeout_s = DEFAULT_TIMEOUT_S;
	if (!srv->cfg.max_body_bytes)
		srv->cfg.max_body_bytes = DEFAULT_MAX_BODY;
	if (!srv->cfg.sse_heartbeat_ms)
		srv->cfg.sse_heartbeat_ms = DEFAULT_HEARTBEAT_MS;
	/* An idle stream must say something before the inactivity timeout closes it. */
	if (srv->cfg.sse_heartbeat_ms > srv->cfg.connection_timeout_s * 500u)
		srv->cfg.sse_heartbeat_ms = srv->cfg.connection_timeout_s * 500u;
	if (srv->cfg.rate_limit_per_s < 0 || !isfinite(srv->cfg.rate_limit_per_s)) {
		ret = fail(err, err_len, -EINVAL, "rate limit %g: not a rate",
			   srv->cfg.rate_limit_per_s);
		goto fail_free;
	}
	if (srv->cfg.rate_limit_per_s > 0) {
		if (!srv->cfg.rate_limit_burst) {
			double b = ceil(2 * srv->cfg.rate_limit_per_s);

			srv->cfg.rate_limit_burst = b < 1 ? 1 : b > 1e6 ? 1000000u : (uint32_t)b;
		}
		srv->n_buckets = RATE_BUCKETS;
		srv->buckets = calloc(RATE_BUCKETS, sizeof(*srv->buckets));
		if (!srv->buckets) {
			ret = fail(err, err_len, -ENOMEM, "%s", strerror(ENOMEM));
			goto fail_free;
		}
	}
	/* Strings we keep are ours: the caller's may go away after create. */
	srv->cfg.addr = NULL;
	srv->cfg.tls_cert_file = srv->cfg.tls_key_file = srv->cfg.tls_client_ca_file = NULL;
	if (!cfg->tls_cert_file != !cfg->tls_key_file) {
		ret = fail(err, err_len, -EINVAL, "TLS needs both a certificate and its key");
		goto fail_free;
	}
	if (cfg->tls_client_ca_file && !cfg->tls_cert_file) {
		ret = fail(err, err_len, -EINVAL,
			   "a client CA (mutual TLS) needs TLS: a certificate and its key");
		goto fail_free;
	}
	if (cfg->tls_cert_file && ((ret = read_pem("TLS certificate", cfg->tls_cert_file,
						   "CERTIFICATE", &srv->tls_cert, err, err_len)) ||
				   (ret = read_pem("TLS key", cfg->tls_key_file, "PRIVATE KEY",
						   &srv->tls_key, err, err_len))))
		goto fail_free;
	if (cfg->tls_client_ca_file) {
		ret = read_pem("TLS client CA", cfg->tls_client_ca_file, "CERTIFICATE",
			       &srv->tls_ca, err, err_len);
		if (ret)
			goto fail_free;
		srv->mtls = true;
	}
	ret = listen_on(cfg->addr, &srv->listen_fd, &srv->port, err, err_len);
	if (ret)
		goto fail_free;

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
		MHD_USE_ERROR_LOG;
	/* The logger first: libmicrohttpd may log while it reads the options after it. */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, srv };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, srv->listen_fd, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, srv->cfg.max_connections,
					     NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
					     srv->cfg.max_connections_per_ip, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
					     srv->cfg.connection_timeout_s, NULL };
	opts[n++] =
		(struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
					     (intptr_t)request_completed, srv };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
					     (intptr_t)connection_notify, srv };
	if (srv->tls_cert) {
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key };
		/* TLS 1.2 and 1.3 only. */
		opts[n++] = (struct MHD_OptionItem){
			MHD_OPTION_HTTPS_PRIORITIES, 0,
			(void *)(uintptr_t) "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
		};
		if (srv->tls_ca)
			opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0,
							     srv->tls_ca };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	srv->d = MHD_start_daemon(flags, 0, NULL, NULL, access_handler, srv, MHD_OPTION_ARRAY, opts,
				  MHD_OPTION_END);
	/*
	 * The socket is libmicrohttpd's now, whether it started or not: it
	 * closes a socket it was given on stop, and on a failed start too.
	 */
	srv->listen_fd = -1;
	if (!srv->d) {
		ret = fail(err, err_len, -EIO,
			   "libmicrohttpd did not start on %s%s (for TLS: is the key the "
			   "certificate's, and both PEM?)",
			   cfg->addr, srv->tls_cert ? " with TLS" : "");
		goto fail_free;
	}
	PR_NOTICE("listening on %s (port %u)%s%s", cfg->addr, srv->port,
		  srv->tls_cert ? ", TLS" : "", srv->mtls ? " with client certificates" : "");
	*out = srv;
	return 0;

fail_free:
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	pem_free(srv->tls_cert);
	pem_free(srv->tls_key);
	pem_free(srv->tls_ca);
	free(srv->buckets);
	pthread_mutex_destroy(&srv->lock);
	pthread_mutex_destroy(&srv->rl_lock);
	free(srv);
	return ret;
}

uint16_t pr_http_server_port(const struct pr_http_server *srv)
{
	return srv->port;
}

void pr_http_server_destroy(struct pr_http_server *srv)
{
	if (!srv)
		return;
	/*
	 * Event streams first: a connection thread waiting for the next event
	 * must come back before libmicrohttpd can join it. Downloads need
	 * nothing: their content reader returns after each piece.
	 */
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_mutex_unlock(&srv->lock);
	pr_http_sse_stop_all(srv);
	MHD_stop_daemon(srv->d);
	/* Every connection thread is gone, and with them every store connection lent. */
	pem_free(srv->tls_cert);
	pem_free(srv->tls_key);
	pem_free(srv->tls_ca);
	free(srv->buckets);
	pthread_mutex_destroy(&srv->lock);
	pthread_mutex_destroy(&srv->rl_lock);
	free(srv);
}
