// SPDX-License-Identifier: Apache-2.0
/*
 * The AF_XDP backend. One instance per worker core, each with its own
 * UMEM, fill/completion rings and socket bound to rx queue cfg->queue of
 * the interface. The XDP program (ebpf/pr_xdp_capture.bpf.c, embedded in
 * this binary) is shared by every instance on one interface in this
 * process: the first open loads and attaches it (libxdp first, so other
 * XDP programs may coexist where its dispatcher works; else a plain
 * libbpf attach through a BPF link, which the kernel removes if we die),
 * each instance puts its socket into the program's XSK map at its queue,
 * and the last close detaches it. Native (driver) mode is tried before
 * generic (SKB) mode, zero-copy before copy mode.
 *
 * Per burst: peek the rx ring, hand out pointers into the UMEM; at
 * release, give the same frames back through the fill ring and release the
 * rx ring, then wake the kernel only when it asks (needs_wakeup). Nothing
 * is copied. A tx-only instance (replay) has no program, only a tx ring:
 * frames come from a free list refilled from the completion ring.
 *
 * Owned and called by one dataplane core, except the shared program state
 * (a mutex, at open and close) and the rule calls (kernel maps, any
 * thread). Settings come in cfg->backend_args as "key=value,..." (see
 * docs/BACKENDS.md and args_parse() below).
 */
#define PR_LOG_MODULE "rx.afxdp"

#include "pr_rx_afxdp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "pr_compiler.h"
#include "pr_log.h"
#include "pr_xdp_capture_shared.h"

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

/* The program object, embedded by ebpf/CMakeLists.txt. */
extern const unsigned char pr_xdp_capture_obj[];
extern const unsigned long pr_xdp_capture_obj_size;

enum xdp_mode_want { MODE_AUTO, MODE_NATIVE, MODE_GENERIC };
enum tri { TRI_AUTO, TRI_ON, TRI_OFF };
enum attach_want { ATTACH_AUTO, ATTACH_LIBXDP, ATTACH_LIBBPF };

#define MAX_INIT_RULES 64

struct afxdp_args {
	uint32_t frames; /* UMEM frames of this instance */
	uint32_t frame_size;
	uint32_t rx_ring, fill_ring, tx_ring, comp_ring;
	uint32_t busy_poll_us, busy_poll_budget;
	enum xdp_mode_want mode;
	enum tri zerocopy;
	enum attach_want attach;
	bool hugepages;
	uint32_t n_rules;
	struct pr_afxdp_rule rules[MAX_INIT_RULES];
};

/*
 * Defaults: 16384 frames of 4 KiB (64 MiB) per queue, a fill ring that
 * holds all of them and an rx ring of 8192, so that a burst of several
 * milliseconds at line rate waits in the kernel rings instead of being
 * dropped while the core is busy with the previous one.
 */
static const struct afxdp_args args_default = {
	.frames = 16384,
	.frame_size = 4096,
	.rx_ring = 8192,
	.fill_ring = 0, /* 0: the frames, rounded up to a power of two */
	.tx_ring = 4096,
	.comp_ring = 0, /* 0: like the fill ring */
	.busy_poll_budget = 64,
};

/* The program on one interface, shared by this process's instances there. */
struct xdp_attach {
	struct xdp_attach *next;
	int ifindex;
	char ifname[IF_NAMESIZE];
	int refs;
	struct bpf_object *obj; /* ours, when attached through libbpf */
	struct xdp_program *xprog; /* when attached through libxdp (owns its object) */
	int link_fd; /* BPF link of the libbpf path, or -1 */
	bool netlink; /* libbpf path without links: detach through netlink */
	uint32_t nl_flags;
	bool native;
	int prog_id;
	int xsks_fd, counters_fd, rules_fd, proto_fd, port_fd, v4_fd, v6_fd;
	int promisc_fd; /* AF_PACKET socket holding a promiscuous membership, or -1 */
	pthread_mutex_t rule_lock; /* rule flags are read-modify-write */
	uint32_t n_port, n_v4, n_v6, n_proto; /* rules present, per table */
	uint32_t n_sockets, want_sockets; /* armed once n_sockets reaches want_sockets */
	bool armed;
};

static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xdp_attach *attach_list;

struct pr_rx {
	struct xdp_attach *at; /* NULL for tx-only */
	struct afxdp_args args;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	uint8_t *area;
	size_t area_size;
	bool area_huge;
	int fd;
	uint32_t queue;
	uint32_t snaplen;
	bool zerocopy;
	bool busy_poll;
	bool tx_only;
	/* the burst handed out: its rx-ring start and the frames to give back */
	uint32_t burst_n;
	uint64_t burst_addr[PR_BURST];
	/* frames that found no fill-ring room (cannot happen while fill >= frames) */
	uint64_t *stash;
	uint32_t n_stash;
	/* tx: free frames */
	uint64_t *tx_free;
	uint32_t n_tx_free;
	uint32_t tx_outstanding;
	uint64_t wakeups;
	struct pr_rx_iface iface;
	char errbuf[512];
};

/* libbpf and libxdp messages go to our logger, one level lower. */
static int lib_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t l;
	int lvl = level == LIBBPF_WARN ? PR_LOG_INFO : PR_LOG_DEBUG;

	if (lvl > pr_log_get_level())
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	l = strlen(buf);
	while (l && (buf[l - 1] == '\n' || buf[l - 1] == ' '))
		buf[--l] = 0;
	pr_log_msg(lvl, "rx.afxdp.lib", "%s", buf);
	return 0;
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return lib_print(level == LIBXDP_WARN ? LIBBPF_WARN : LIBBPF_DEBUG, fmt, ap);
}

static void lib_log_setup(void)
{
	libbpf_set_print(lib_print);
	libxdp_set_print(xdp_print);
}

static void lib_log_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, lib_log_setup);
}

static uint32_t pow2_up(uint32_t v)
{
	uint32_t p = 1;

	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

/* ---- arguments ---------------------------------------------------------- */

static int parse_num(const char *key, const char *v, uint64_t min, uint64_t max, uint32_t *out,
		     char *err, size_t errlen)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || errno || *end || n < min || n > max) {
		snprintf(err, errlen, "afxdp %s: \"%s\" is not a number from %llu to %llu", key, v,
			 (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = (uint32_t)n;
	return 0;
}

static int parse_pow2(const char *key, const char *v, uint32_t *out, char *err, size_t errlen)
{
	int ret = parse_num(key, v, 64, 1u << 20, out, err, errlen);

	if (!ret && (*out & (*out - 1))) {
		snprintf(err, errlen, "afxdp %s: %s is not a power of two", key, v);
		return -EINVAL;
	}
	return ret;
}

/*
 * backend_args: comma-separated key=value. Keys: frames, frame_size,
 * rx_ring, fill_ring, tx_ring, comp_ring (powers of two), mode
 * (auto|native|generic), zerocopy (auto|on|off), attach (auto|libxdp|libbpf),
 * busy_poll_us, busy_poll_budget, hugepages (0|1), drop (a rule; repeatable).
 */
static int args_parse(const char *s, struct afxdp_args *a, char *err, size_t errlen)
{
	char buf[2048], *save = NULL, *tok;
	int ret = 0;

	*a = args_default;
	if (!s || !*s)
		goto defaults;
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "afxdp arguments: longer than %zu bytes", sizeof(buf) - 1);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		char *v = strchr(tok, '=');

		while (isspace((unsigned char)*tok))
			tok++;
		if (!*tok)
			continue;
		if (!v) {
			snprintf(err, errlen, "afxdp arguments: \"%s\" is not key=value", tok);
			return -EINVAL;
		}
		*v++ = 0;
		if (!strcmp(tok, "frames"))
			ret = parse_num(tok, v, 64, 1u << 22, &a->frames, err, errlen);
		else if (!strcmp(tok, "frame_size")) {
			/* Aligned UMEM chunks: a power of two the kernel accepts. */
			ret = parse_num(tok, v, 2048, 4096, &a->frame_size, err, errlen);
			if (!ret && a->frame_size != 2048 && a->frame_size != 4096) {
				snprintf(err, errlen, "afxdp frame_size: %s is not 2048 or 4096",
					 v);
				ret = -EINVAL;
			}
		} else if (!strcmp(tok, "rx_ring"))
			ret = parse_pow2(tok, v, &a->rx_ring, err, errlen);
		else if (!strcmp(tok, "fill_ring"))
			ret = parse_pow2(tok, v, &a->fill_ring, err, errlen);
		else if (!strcmp(tok, "tx_ring"))
			ret = parse_pow2(tok, v, &a->tx_ring, err, errlen);
		else if (!strcmp(tok, "comp_ring"))
			ret = parse_pow2(tok, v, &a->comp_ring, err, errlen);
		else if (!strcmp(tok, "busy_poll_us"))
			ret = parse_num(tok, v, 0, 1000000, &a->busy_poll_us, err, errlen);
		else if (!strcmp(tok, "busy_poll_budget"))
			ret = parse_num(tok, v, 1, 65535, &a->busy_poll_budget, err, errlen);
		else if (!strcmp(tok, "hugepages")) {
			uint32_t h;

			ret = parse_num(tok, v, 0, 1, &h, err, errlen);
			a->hugepages = h;
		} else if (!strcmp(tok, "mode")) {
			if (!strcmp(v, "auto"))
				a->mode = MODE_AUTO;
			else if (!strcmp(v, "native"))
				a->mode = MODE_NATIVE;
			else if (!strcmp(v, "generic") || !strcmp(v, "skb"))
				a->mode = MODE_GENERIC;
			else
				goto bad_word;
		} else if (!strcmp(tok, "zerocopy")) {
			if (!strcmp(v, "auto"))
				a->zerocopy = TRI_AUTO;
			else if (!strcmp(v, "on") || !strcmp(v, "1"))
				a->zerocopy = TRI_ON;
			else if (!strcmp(v, "off") || !strcmp(v, "0"))
				a->zerocopy = TRI_OFF;
			else
				goto bad_word;
		} else if (!strcmp(tok, "attach")) {
			if (!strcmp(v, "auto"))
				a->attach = ATTACH_AUTO;
			else if (!strcmp(v, "libxdp"))
				a->attach = ATTACH_LIBXDP;
			else if (!strcmp(v, "libbpf"))
				a->attach = ATTACH_LIBBPF;
			else
				goto bad_word;
		} else if (!strcmp(tok, "drop")) {
			if (a->n_rules >= MAX_INIT_RULES) {
				snprintf(err, errlen, "afxdp drop: more than %d rules",
					 MAX_INIT_RULES);
				return -EINVAL;
			}
			ret = pr_afxdp_rule_parse(v, &a->rules[a->n_rules++], err, errlen);
		} else {
			snprintf(err, errlen,
				 "afxdp arguments: unknown key \"%s\" (known: frames, frame_size, "
				 "rx_ring, fill_ring, tx_ring, comp_ring, mode, zerocopy, attach, "
				 "busy_poll_us, busy_poll_budget, hugepages, drop)",
				 tok);
			return -EINVAL;
		}
		continue;
bad_word:
		snprintf(err, errlen,
			 "afxdp %s: \"%s\" is not one of its values (see docs/BACKENDS.md)", tok,
			 v);
		return -EINVAL;
	}
	if (ret)
		return ret;
defaults:
	if (!a->fill_ring)
		a->fill_ring = pow2_up(a->frames);
	if (!a->comp_ring)
		a->comp_ring = pow2_up(a->frames);
	return 0;
}

int pr_afxdp_rule_parse(const char *s, struct pr_afxdp_rule *out, char *err, size_t errlen)
{
	const char *v = strchr(s, ':');
	char kind[16];
	uint32_t n;

	memset(out, 0, sizeof(*out));
	if (!v || (size_t)(v - s) >= sizeof(kind)) {
		snprintf(err, errlen,
			 "rule \"%s\": expected proto:N, tcp:PORT, udp:PORT, port:PORT or "
			 "net:ADDR/LEN",
			 s);
		return -EINVAL;
	}
	memcpy(kind, s, (size_t)(v - s));
	kind[v - s] = 0;
	v++;
	if (!strcmp(kind, "proto")) {
		if (parse_num("rule proto", v, 0, 255, &n, err, errlen))
			return -EINVAL;
		out->kind = PR_AFXDP_RULE_PROTO;
		out->proto = (uint8_t)n;
		return 0;
	}
	if (!strcmp(kind, "tcp") || !strcmp(kind, "udp") || !strcmp(kind, "port")) {
		if (parse_num("rule port", v, 0, 65535, &n, err, errlen))
			return -EINVAL;
		out->kind = PR_AFXDP_RULE_PORT;
		out->port = (uint16_t)n;
		out->port_l4 = !strcmp(kind, "tcp") ? PR_XDP_PORT_TCP :
			       !strcmp(kind, "udp") ? PR_XDP_PORT_UDP :
						      PR_XDP_PORT_TCP | PR_XDP_PORT_UDP;
		return 0;
	}
	if (!strcmp(kind, "net")) {
		char addr[64];
		const char *slash = strchr(v, '/');
		size_t al = slash ? (size_t)(slash - v) : strlen(v);
		uint32_t maxlen;

		if (al >= sizeof(addr))
			goto bad_net;
		memcpy(addr, v, al);
		addr[al] = 0;
		if (inet_pton(AF_INET, addr, out->addr) == 1) {
			out->family = 4;
			maxlen = 32;
		} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
			out->family = 6;
			maxlen = 128;
		} else {
			goto bad_net;
		}
		n = maxlen;
		if (slash &&
		    parse_num("rule net prefix length", slash + 1, 0, maxlen, &n, err, errlen))
			return -EINVAL;
		out->kind = PR_AFXDP_RULE_PREFIX;
		out->prefixlen = (uint8_t)n;
		/* Bits past the prefix must not matter to the trie: clear them. */
		for (uint32_t b = n; b < maxlen; b++)
			out->addr[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
		return 0;
bad_net:
		snprintf(err, errlen, "rule \"%s\": \"%s\" is not an IPv4 or IPv6 address/length",
			 s, v);
		return -EINVAL;
	}
	snprintf(err, errlen, "rule \"%s\": unknown kind \"%s\" (proto, tcp, udp, port, net)", s,
		 kind);
	return -EINVAL;
}

/* ---- rules --------------------------------------------------------------- */

static int rules_publish(struct xdp_attach *at)
{
	struct pr_xdp_rules r = { .armed = at->armed };
	uint32_t zero = 0;

	if (at->n_proto)
		r.flags |= PR_XDP_RULE_PROTO;
	if (at->n_port)
		r.flags |= PR_XDP_RULE_PORT;
	if (at->n_v4)
		r.flags |= PR_XDP_RULE_V4;
	if (at->n_v6)
		r.flags |= PR_XDP_RULE_V6;
	return bpf_map_update_elem(at->rules_fd, &zero, &r, BPF_ANY) ? -errno : 0;
}

static int rule_apply(struct xdp_attach *at, const struct pr_afxdp_rule *rule, bool drop)
{
	int ret = 0;

	pthread_mutex_lock(&at->rule_lock);
	switch (rule->kind) {
	case PR_AFXDP_RULE_PROTO: {
		uint32_t k = rule->proto;
		uint8_t old = 0, v = drop;

		bpf_map_lookup_elem(at->proto_fd, &k, &old);
		if (bpf_map_update_elem(at->proto_fd, &k, &v, BPF_ANY)) {
			ret = -errno;
			break;
		}
		if (!old && v)
			at->n_proto++;
		else if (old && !v && at->n_proto)
			at->n_proto--;
		break;
	}
	case PR_AFXDP_RULE_PORT: {
		uint32_t k = rule->port;
		uint8_t old = 0, v;

		bpf_map_lookup_elem(at->port_fd, &k, &old);
		v = drop ? (uint8_t)(old | rule->port_l4) : (uint8_t)(old & ~rule->port_l4);
		if (bpf_map_update_elem(at->port_fd, &k, &v, BPF_ANY)) {
			ret = -errno;
			break;
		}
		if (!old && v)
			at->n_port++;
		else if (old && !v && at->n_port)
			at->n_port--;
		break;
	}
	case PR_AFXDP_RULE_PREFIX: {
		struct pr_xdp_lpm_v4 k4 = { .prefixlen = rule->prefixlen };
		struct pr_xdp_lpm_v6 k6 = { .prefixlen = rule->prefixlen };
		void *key = rule->family == 4 ? (void *)&k4 : (void *)&k6;
		int fd = rule->family == 4 ? at->v4_fd : at->v6_fd;
		uint32_t *cnt = rule->family == 4 ? &at->n_v4 : &at->n_v6;
		uint8_t one = 1;

		memcpy(k4.addr, rule->addr, 4);
		memcpy(k6.addr, rule->addr, 16);
		if (drop) {
			/* BPF_NOEXIST tells a new entry from a repeated one, for the count. */
			if (!bpf_map_update_elem(fd, key, &one, BPF_NOEXIST))
				(*cnt)++;
			else if (errno != EEXIST)
				ret = -errno;
		} else {
			if (!bpf_map_delete_elem(fd, key)) {
				if (*cnt)
					(*cnt)--;
			} else if (errno != ENOENT) {
				ret = -errno;
			}
		}
		break;
	}
	default:
		ret = -EINVAL;
	}
	if (!ret)
		ret = rules_publish(at);
	pthread_mutex_unlock(&at->rule_lock);
	return ret;
}

int pr_afxdp_rule_set(struct pr_rx *rx, const struct pr_afxdp_rule *rule, bool drop)
{
	if (!rx || !rx->at)
		return -ENOTSUP; /* a tx-only instance runs no program */
	return rule_apply(rx->at, rule, drop);
}

/* ---- the program on an interface ------------------------------------------ */

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__fd(m) : -1;
}

static struct bpf_object *obj_open(char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = PR_XDP_PROG_NAME);
	struct bpf_object *obj;

	obj = bpf_object__open_mem(pr_xdp_capture_obj, pr_xdp_capture_obj_size, &oo);
	if (!obj) {
		snprintf(err, errlen, "XDP program: open: %s", strerror(errno));
		return NULL;
	}
	return obj;
}

/* The kernel id of a loaded program fd, or 0. */
static int prog_id_of(int fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return (int)info.id;
}

/* What holds the interface's XDP hook now, for the EBUSY message. */
static void describe_busy(int ifindex, const char *ifname, char *err, size_t errlen,
			  const char *what)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[BPF_OBJ_NAME_LEN] = "?";

	if (!bpf_xdp_query(ifindex, 0, &q) && q.prog_id) {
		int fd = bpf_prog_get_fd_by_id(q.prog_id);
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			snprintf(name, sizeof(name), "%s", info.name);
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen,
			 "interface %s: %s: XDP program %u (\"%s\") is already attached%s; "
			 "remove it with `ip link set dev %s xdp off` if nothing uses it",
			 ifname, what, q.prog_id, name,
			 !strncmp(name, PR_XDP_PROG_NAME, sizeof(name) - 1) ?
				 " (ours: another capture runs, or one did not exit cleanly)" :
				 "",
			 ifname);
		return;
	}
	snprintf(err, errlen, "interface %s: %s: %s", ifname, what, strerror(EBUSY));
}

static int attach_libxdp(struct xdp_attach *at, bool native, char *err, size_t errlen)
{
	struct bpf_object *obj = obj_open(err, errlen);
	struct xdp_program *xp;
	int ret;

	if (!obj)
		return -ENOENT;
	xp = xdp_program__from_bpf_obj(obj, "xdp");
	if (libxdp_get_error(xp)) {
		ret = (int)libxdp_get_error(xp);
		snprintf(err, errlen, "interface %s: libxdp: %s", at->ifname, strerror(-ret));
		bpf_object__close(obj);
		return ret;
	}
	ret = xdp_program__attach(xp, at->ifindex, native ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0);
	if (ret) {
		snprintf(err, errlen, "interface %s: libxdp attach (%s mode): %s", at->ifname,
			 native ? "native" : "generic", strerror(-ret));
		xdp_program__close(xp);
		bpf_object__close(obj);
		return ret;
	}
	at->xprog = xp;
	at->obj = obj; /* from_bpf_obj leaves the object to us */
	at->prog_id = (int)xdp_program__id(xp);
	return 0;
}

static int attach_libbpf(struct xdp_attach *at, bool native, char *err, size_t errlen)
{
	struct bpf_object *obj = obj_open(err, errlen);
	struct bpf_program *prog;
	uint32_t mode = native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	int ret, fd;

	if (!obj)
		return -ENOENT;
	ret = bpf_object__load(obj);
	if (ret) {
		snprintf(err, errlen, "XDP program: load: %s", strerror(-ret));
		goto err_close;
	}
	prog = bpf_object__find_program_by_name(obj, PR_XDP_PROG_NAME);
	fd = prog ? bpf_program__fd(prog) : -1;
	if (fd < 0) {
		ret = -ENOENT;
		snprintf(err, errlen, "XDP program: no function %s in the object",
			 PR_XDP_PROG_NAME);
		goto err_close;
	}
	/*
	 * A BPF link first: the kernel takes it down with our last file
	 * descriptor, so a crash never leaves the program behind. Kernels
	 * before 5.9 have no XDP links: then netlink, detached at close.
	 */
	{
		LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = mode);

		at->link_fd = bpf_link_create(fd, at->ifindex, BPF_XDP, &lo);
	}
	if (at->link_fd < 0) {
		ret = -errno;
		if (ret == -EBUSY || ret == -EEXIST) {
			describe_busy(at->ifindex, at->ifname, err, errlen,
				      native ? "native mode" : "generic mode");
			goto err_close;
		}
		if (ret != -EINVAL && ret != -EOPNOTSUPP && ret != -ENOTSUP) {
			snprintf(err, errlen, "interface %s: XDP attach (%s mode): %s", at->ifname,
				 native ? "native" : "generic", strerror(-ret));
			goto err_close;
		}
		at->nl_flags = mode | XDP_FLAGS_UPDATE_IF_NOEXIST;
		ret = bpf_xdp_attach(at->ifindex, fd, at->nl_flags, NULL);
		if (ret) {
			if (ret == -EBUSY || ret == -EEXIST)
				describe_busy(at->ifindex, at->ifname, err, errlen,
					      native ? "native mode" : "generic mode");
			else
				snprintf(err, errlen, "interface %s: XDP attach (%s mode): %s",
					 at->ifname, native ? "native" : "generic", strerror(-ret));
			goto err_close;
		}
		at->netlink = true;
	}
	at->obj = obj;
	at->prog_id = prog_id_of(fd);
	return 0;
err_close:
	bpf_object__close(obj);
	return ret;
}

static void attach_free(struct xdp_attach *at)
{
	if (!at)
		return;
	if (at->xprog) {
		int ret = xdp_program__detach(at->xprog, at->ifindex,
					      at->native ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0);

		if (ret)
			PR_WARN("interface %s: detach XDP program: %s", at->ifname, strerror(-ret));
		xdp_program__close(at->xprog);
	} else if (at->link_fd >= 0) {
		close(at->link_fd);
	} else if (at->netlink) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, o);
		struct bpf_program *p = bpf_object__find_program_by_name(at->obj, PR_XDP_PROG_NAME);

		/* Only our program: another one put there since must stay. */
		o.old_prog_fd = p ? bpf_program__fd(p) : -1;
		if (bpf_xdp_detach(
			    at->ifindex,
			    (at->nl_flags & ~XDP_FLAGS_UPDATE_IF_NOEXIST) | XDP_FLAGS_REPLACE, &o))
			PR_WARN("interface %s: detach XDP program: %s", at->ifname,
				strerror(errno));
	}
	bpf_object__close(at->obj);
	if (at->promisc_fd >= 0)
		close(at->promisc_fd);
	pthread_mutex_destroy(&at->rule_lock);
	free(at);
}

/*
 * Promiscuous mode the way libpcap does it: a membership on an AF_PACKET
 * socket, counted by the kernel and dropped with the socket, so that the
 * interface's own flag is left as the administrator set it.
 */
static int promisc_hold(int ifindex)
{
	struct packet_mreq mr = { .mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int attach_get(const struct pr_rx_cfg *cfg, const struct afxdp_args *a, int ifindex,
		      struct xdp_attach **out, char *err, size_t errlen)
{
	struct xdp_attach *at;
	int ret = 0;

	pthread_mutex_lock(&attach_lock);
	for (at = attach_list; at; at = at->next) {
		if (at->ifindex == ifindex) {
			at->refs++;
			*out = at;
			goto out;
		}
	}
	at = calloc(1, sizeof(*at));
	if (!at) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		goto out;
	}
	at->ifindex = ifindex;
	at->want_sockets = cfg->nb_queues ? cfg->nb_queues : 1;
	at->link_fd = -1;
	at->promisc_fd = -1;
	pthread_mutex_init(&at->rule_lock, NULL);
	snprintf(at->ifname, sizeof(at->ifname), "%s", cfg->interface);
	lib_log_init();
	{
		/* Native first unless told; generic works on every interface. */
		bool try_native = a->mode != MODE_GENERIC;
		bool try_generic = a->mode != MODE_NATIVE;
		char e1[512] = "", e2[512] = "";

		ret = -ENOTSUP;
		for (int pass = 0; pass < 2 && ret; pass++) {
			bool native = pass == 0;

			if ((native && !try_native) || (!native && !try_generic))
				continue;
			ret = -ENOTSUP;
			if (a->attach != ATTACH_LIBBPF) {
				ret = attach_libxdp(at, native, e1, sizeof(e1));
				if (ret)
					PR_INFO("%s", e1);
			}
			if (ret && a->attach != ATTACH_LIBXDP) {
				ret = attach_libbpf(at, native, e2, sizeof(e2));
				if (ret)
					PR_INFO("%s", e2);
			}
			if (!ret)
				at->native = native;
			else if (ret == -EBUSY || ret == -EEXIST)
				break; /* another program holds the hook: generic would fail too */
		}
		if (ret) {
			snprintf(err, errlen, "%s", e2[0] ? e2 : e1);
			goto err_free;
		}
	}
	at->xsks_fd = map_fd(at->obj, PR_XDP_MAP_XSKS);
	at->counters_fd = map_fd(at->obj, PR_XDP_MAP_COUNTERS);
	at->rules_fd = map_fd(at->obj, PR_XDP_MAP_RULES);
	at->proto_fd = map_fd(at->obj, PR_XDP_MAP_PROTO);
	at->port_fd = map_fd(at->obj, PR_XDP_MAP_PORT);
	at->v4_fd = map_fd(at->obj, PR_XDP_MAP_V4);
	at->v6_fd = map_fd(at->obj, PR_XDP_MAP_V6);
	if (at->xsks_fd < 0 || at->counters_fd < 0 || at->rules_fd < 0 || at->proto_fd < 0 ||
	    at->port_fd < 0 || at->v4_fd < 0 || at->v6_fd < 0) {
		ret = -ENOENT;
		snprintf(err, errlen, "XDP program: a map is missing from the object");
		goto err_free;
	}
	for (uint32_t i = 0; i < a->n_rules; i++) {
		ret = rule_apply(at, &a->rules[i], true);
		if (ret) {
			snprintf(err, errlen, "interface %s: early-drop rule %u: %s", at->ifname, i,
				 strerror(-ret));
			goto err_free;
		}
	}
	if (cfg->promisc) {
		at->promisc_fd = promisc_hold(ifindex);
		if (at->promisc_fd < 0)
			PR_WARN("interface %s: promiscuous mode: %s", at->ifname, strerror(errno));
	}
	PR_INFO("interface %s: XDP program %d attached in %s mode through %s", at->ifname,
		at->prog_id, at->native ? "native" : "generic",
		at->xprog	 ? "libxdp" :
		at->link_fd >= 0 ? "a libbpf link" :
				   "libbpf (netlink)");
	at->refs = 1;
	at->next = attach_list;
	attach_list = at;
	*out = at;
	goto out;
err_free:
	attach_free(at);
out:
	pthread_mutex_unlock(&attach_lock);
	return ret;
}

static void attach_put(struct xdp_attach *at)
{
	struct xdp_attach **pp;

	if (!at)
		return;
	pthread_mutex_lock(&attach_lock);
	if (--at->refs == 0) {
		for (pp = &attach_list; *pp; pp = &(*pp)->next) {
			if (*pp == at) {
				*pp = at->next;
				break;
			}
		}
		attach_free(at);
	}
	pthread_mutex_unlock(&attach_lock);
}

/* ---- the socket ------------------------------------------------------------ */

static int rx_queues_of(const char *ifname)
{
	char path[128];
	int n = 0;

	for (;; n++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%d", ifname, n);
		if (access(path, F_OK))
			break;
	}
	return n;
}

static int umem_setup(struct pr_rx *rx, char *err, size_t errlen)
{
	struct xsk_umem_config uc = {
		.fill_size = rx->args.fill_ring,
		.comp_size = rx->args.comp_ring,
		.frame_size = rx->args.frame_size,
		.frame_headroom = 0,
	};
	int ret;

	rx->area_size = (size_t)rx->args.frames * rx->args.frame_size;
	rx->area = MAP_FAILED;
	if (rx->args.hugepages) {
		rx->area = mmap(NULL, rx->area_size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
		if (rx->area == MAP_FAILED)
			PR_WARN("interface %s queue %u: UMEM on hugepages: %s; using 4 KiB pages",
				rx->iface.name, rx->queue, strerror(errno));
		else
			rx->area_huge = true;
	}
	if (rx->area == MAP_FAILED)
		rx->area = mmap(NULL, rx->area_size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (rx->area == MAP_FAILED) {
		ret = -errno;
		rx->area = NULL;
		snprintf(err, errlen, "interface %s queue %u: UMEM of %zu bytes: %s",
			 rx->iface.name, rx->queue, rx->area_size, strerror(-ret));
		return ret;
	}
	ret = xsk_umem__create(&rx->umem, rx->area, rx->area_size, &rx->fq, &rx->cq, &uc);
	if (ret) {
		rx->umem = NULL;
		snprintf(err, errlen, "interface %s queue %u: UMEM registration: %s",
			 rx->iface.name, rx->queue, strerror(-ret));
	}
	return ret;
}

static void umem_teardown(struct pr_rx *rx)
{
	if (rx->umem)
		xsk_umem__delete(rx->umem);
	rx->umem = NULL;
	if (rx->area)
		munmap(rx->area, rx->area_size);
	rx->area = NULL;
}

/* EBUSY from bind: retried this often, this far apart (2 s in all). */
#define SOCKET_BUSY_TRIES 100
#define SOCKET_BUSY_WAIT_US 20000

static int socket_create(struct pr_rx *rx, bool zerocopy, char *err, size_t errlen)
{
	struct xsk_socket_config sc = {
		.rx_size = rx->tx_only ? 0 : rx->args.rx_ring,
		.tx_size = rx->tx_only ? rx->args.tx_ring : 0,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP | (zerocopy ? XDP_ZEROCOPY : XDP_COPY),
	};
	int ret, tries = 0;

	for (;;) {
		ret = umem_setup(rx, err, errlen);
		if (ret)
			return ret;
		ret = xsk_socket__create(&rx->xsk, rx->iface.name, rx->queue, rx->umem,
					 rx->tx_only ? NULL : &rx->rx, rx->tx_only ? &rx->tx : NULL,
					 &sc);
		if (!ret)
			return 0;
		rx->xsk = NULL;
		umem_teardown(rx);
		/*
		 * The kernel lets go of a closed socket's queue binding a little
		 * later, from a work queue: a capture started right after another
		 * one on the same queue (a restart, the mode fallback below) sees
		 * EBUSY for some milliseconds. Wait for it, boundedly.
		 */
		if (ret != -EBUSY || ++tries > SOCKET_BUSY_TRIES)
			break;
		usleep(SOCKET_BUSY_WAIT_US);
	}
	snprintf(err, errlen, "interface %s queue %u: AF_XDP socket (%s mode): %s%s",
		 rx->iface.name, rx->queue, zerocopy ? "zero-copy" : "copy", strerror(-ret),
		 ret == -EBUSY ? " (another AF_XDP socket is bound to this queue)" : "");
	return ret;
}

static int busy_poll_setup(struct pr_rx *rx)
{
	int one = 1, us = (int)rx->args.busy_poll_us, budget = (int)rx->args.busy_poll_budget;

	if (setsockopt(rx->fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) ||
	    setsockopt(rx->fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)) ||
	    setsockopt(rx->fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)))
		return -errno;
	return 0;
}

/* Put every rx frame on the fill ring; the rest of the UMEM is for tx. */
static int frames_setup(struct pr_rx *rx, char *err, size_t errlen)
{
	uint32_t i, idx = 0;

	if (rx->tx_only) {
		rx->tx_free = calloc(rx->args.frames, sizeof(*rx->tx_free));
		if (!rx->tx_free)
			goto nomem;
		for (i = 0; i < rx->args.frames; i++)
			rx->tx_free[i] = (uint64_t)i * rx->args.frame_size;
		rx->n_tx_free = rx->args.frames;
		return 0;
	}
	rx->stash = calloc(rx->args.frames, sizeof(*rx->stash));
	if (!rx->stash)
		goto nomem;
	/* The fill ring holds every frame (fill_ring >= frames, checked at open). */
	if (xsk_ring_prod__reserve(&rx->fq, rx->args.frames, &idx) != rx->args.frames) {
		snprintf(err, errlen,
			 "interface %s queue %u: fill ring of %u cannot take %u frames",
			 rx->iface.name, rx->queue, rx->args.fill_ring, rx->args.frames);
		return -ENOSPC;
	}
	for (i = 0; i < rx->args.frames; i++)
		*xsk_ring_prod__fill_addr(&rx->fq, idx + i) = (uint64_t)i * rx->args.frame_size;
	xsk_ring_prod__submit(&rx->fq, rx->args.frames);
	return 0;
nomem:
	snprintf(err, errlen, "%s", strerror(ENOMEM));
	return -ENOMEM;
}

/*
 * Count one more socket in the XSK map; the last of the workers arms the
 * program (see struct pr_xdp_rules). Frames that arrived before are the
 * kernel's, as if capture had not started yet.
 */
static int socket_arm(struct xdp_attach *at)
{
	int ret = 0;

	pthread_mutex_lock(&at->rule_lock);
	if (++at->n_sockets >= at->want_sockets && !at->armed) {
		at->armed = true;
		ret = rules_publish(at);
	}
	pthread_mutex_unlock(&at->rule_lock);
	return ret;
}

static void afxdp_close(struct pr_rx *rx);

static int afxdp_open(const struct pr_rx_cfg *cfg, struct pr_rx **out, char *err, size_t errlen)
{
	struct pr_rx *rx;
	int ifindex, nq, ret;

	*out = NULL;
	if (cfg->read_path || !cfg->interface) {
		snprintf(err, errlen,
			 "the afxdp backend captures from an interface; read files with pcap");
		return -EINVAL;
	}
	ifindex = (int)if_nametoindex(cfg->interface);
	if (!ifindex) {
		snprintf(err, errlen, "interface %s: %s", cfg->interface, strerror(errno));
		return -ENODEV;
	}
	rx = calloc(1, sizeof(*rx));
	if (!rx) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	rx->fd = -1;
	rx->queue = cfg->queue;
	rx->tx_only = cfg->tx_only;
	rx->snaplen = cfg->snaplen ? cfg->snaplen : PR_MAX_SNAPLEN;
	snprintf(rx->iface.name, sizeof(rx->iface.name), "%s", cfg->interface);
	rx->iface.linktype = 1; /* LINKTYPE_ETHERNET */
	rx->iface.snaplen = rx->snaplen;
	rx->iface.tsresol = 9;
	ret = args_parse(cfg->backend_args, &rx->args, err, errlen);
	if (ret)
		goto err;
	if (!rx->tx_only && rx->args.fill_ring < rx->args.frames) {
		snprintf(err, errlen,
			 "afxdp fill_ring (%u) must hold every frame (frames=%u): a frame the "
			 "fill ring cannot take back is lost to capture",
			 rx->args.fill_ring, rx->args.frames);
		ret = -EINVAL;
		goto err;
	}
	nq = rx_queues_of(cfg->interface);
	if (nq > 0 && rx->queue >= (uint32_t)nq) {
		snprintf(err, errlen, "interface %s has %d rx queue%s: there is no queue %u",
			 cfg->interface, nq, nq == 1 ? "" : "s", rx->queue);
		ret = -EINVAL;
		goto err;
	}
	if (rx->queue >= PR_XDP_MAX_QUEUES) {
		snprintf(err, errlen, "interface %s queue %u: at most %d queues are captured",
			 cfg->interface, rx->queue, PR_XDP_MAX_QUEUES);
		ret = -EINVAL;
		goto err;
	}
	if (!rx->tx_only) {
		ret = attach_get(cfg, &rx->args, ifindex, &rx->at, err, errlen);
		if (ret)
			goto err;
		if (rx->queue == 0 && nq > 0 && (cfg->nb_queues ? cfg->nb_queues : 1) < nq)
			PR_WARN("interface %s has %d rx queues, this capture reads %u: frames on "
				"the others go to the kernel stack, counted as no_socket (capture "
				"with %d workers, or `ethtool -L %s combined %u`)",
				cfg->interface, nq, cfg->nb_queues ? cfg->nb_queues : 1, nq,
				cfg->interface, cfg->nb_queues ? cfg->nb_queues : 1);
	}
	/*
	 * Zero-copy needs driver support and native mode; where it is not
	 * asked for explicitly its failure only means copy mode.
	 */
	ret = -EOPNOTSUPP;
	if (rx->args.zerocopy != TRI_OFF && (rx->tx_only || rx->at->native)) {
		ret = socket_create(rx, true, err, errlen);
		if (ret && rx->args.zerocopy == TRI_ON)
			goto err;
		rx->zerocopy = !ret;
	} else if (rx->args.zerocopy == TRI_ON) {
		snprintf(err, errlen, "interface %s: zero-copy needs native XDP mode (mode=native)",
			 cfg->interface);
		ret = -EINVAL;
		goto err;
	}
	if (ret) {
		ret = socket_create(rx, false, err, errlen);
		if (ret)
			goto err;
	}
	rx->fd = xsk_socket__fd(rx->xsk);
	/* Frames on the fill ring before the socket is in the map: none arrives to an empty one. */
	ret = frames_setup(rx, err, errlen);
	if (ret)
		goto err;
	if (!rx->tx_only) {
		ret = xsk_socket__update_xskmap(rx->xsk, rx->at->xsks_fd);
		if (ret) {
			snprintf(err, errlen, "interface %s queue %u: XSK map: %s", cfg->interface,
				 rx->queue, strerror(-ret));
			goto err;
		}
		ret = socket_arm(rx->at);
		if (ret) {
			snprintf(err, errlen, "interface %s: arm the XDP program: %s",
				 cfg->interface, strerror(-ret));
			goto err;
		}
	}
	if (rx->args.busy_poll_us) {
		ret = busy_poll_setup(rx);
		if (ret)
			PR_WARN("interface %s queue %u: busy polling: %s", cfg->interface,
				rx->queue, strerror(-ret));
		rx->busy_poll = !ret;
	}
	snprintf(rx->iface.description, sizeof(rx->iface.description), "afxdp queue %u %s %s",
		 rx->queue, rx->at ? (rx->at->native ? "native" : "generic") : "tx",
		 rx->zerocopy ? "zero-copy" : "copy");
	PR_INFO("interface %s queue %u: AF_XDP %s socket, %u frames of %u bytes, rx ring %u, "
		"fill ring %u%s",
		cfg->interface, rx->queue, rx->zerocopy ? "zero-copy" : "copy", rx->args.frames,
		rx->args.frame_size, rx->args.rx_ring, rx->args.fill_ring,
		rx->busy_poll ? ", busy polling" : "");
	*out = rx;
	return 0;
err:
	afxdp_close(rx);
	return ret;
}

/* Wake the kernel: it stopped looking at our rings until told. */
static inline void kick_rx(struct pr_rx *rx)
{
	rx->wakeups++;
	recvfrom(rx->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

static int afxdp_rx_burst(struct pr_rx *rx, struct pr_rx_pkt *pkts, uint16_t max)
{
	uint32_t idx = 0, n, i;

	if (unlikely(rx->tx_only))
		return -ENOTSUP;
	if (max > PR_BURST)
		max = PR_BURST;
	n = xsk_ring_cons__peek(&rx->rx, max, &idx);
	if (!n) {
		/*
		 * Nothing to read. With busy polling this syscall is what runs
		 * the driver's NAPI; otherwise only a fill ring the kernel
		 * gave up on needs it (it sets the flag when it ran dry).
		 */
		if (rx->busy_poll || xsk_ring_prod__needs_wakeup(&rx->fq))
			kick_rx(rx);
		return 0;
	}
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx->rx, idx + i);
		uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);
		uint32_t len = d->len;

		rx->burst_addr[i] = xsk_umem__extract_addr(d->addr);
		pkts[i].data = rx->area + addr;
		pkts[i].cap_len = len < rx->snaplen ? len : rx->snaplen;
		pkts[i].wire_len = len;
		pkts[i].ts_ns = PR_RX_TS_NONE; /* AF_XDP gives none: stamped per burst */
		pkts[i].iface = 0;
	}
	rx->burst_n = n;
	return (int)n;
}

static void afxdp_release_burst(struct pr_rx *rx, struct pr_rx_pkt *pkts, uint16_t n)
{
	uint32_t idx = 0, want, i;

	(void)pkts;
	if (!rx->burst_n)
		return;
	(void)n; /* the whole burst goes back, whatever the caller kept */
	/* Frames that found no room last time go first. */
	want = rx->n_stash + rx->burst_n;
	if (xsk_ring_prod__reserve(&rx->fq, want, &idx) == want) {
		uint32_t k = 0;

		for (i = 0; i < rx->n_stash; i++)
			*xsk_ring_prod__fill_addr(&rx->fq, idx + k++) = rx->stash[i];
		for (i = 0; i < rx->burst_n; i++)
			*xsk_ring_prod__fill_addr(&rx->fq, idx + k++) = rx->burst_addr[i];
		xsk_ring_prod__submit(&rx->fq, want);
		rx->n_stash = 0;
	} else {
		/* Cannot happen while the fill ring holds every frame; never lose one. */
		for (i = 0; i < rx->burst_n && rx->n_stash < rx->args.frames; i++)
			rx->stash[rx->n_stash++] = rx->burst_addr[i];
	}
	xsk_ring_cons__release(&rx->rx, rx->burst_n);
	rx->burst_n = 0;
	if (xsk_ring_prod__needs_wakeup(&rx->fq))
		kick_rx(rx);
}

static int afxdp_stats(struct pr_rx *rx, struct pr_rx_stats *out)
{
	struct xdp_statistics xs;
	socklen_t len = sizeof(xs);

	memset(out, 0, sizeof(*out));
	memset(&xs, 0, sizeof(xs));
	if (getsockopt(rx->fd, SOL_XDP, XDP_STATISTICS, &xs, &len))
		return -errno;
	out->xsk_rx_dropped = xs.rx_dropped;
	out->xsk_rx_ring_full = xs.rx_ring_full;
	out->xsk_fill_ring_empty_descs = xs.rx_fill_ring_empty_descs;
	out->xsk_rx_invalid_descs = xs.rx_invalid_descs;
	out->xsk_tx_invalid_descs = xs.tx_invalid_descs;
	/*
	 * The program's counters are per interface, not per queue: the
	 * instance of queue 0 reports them, so that a sum over instances
	 * counts each frame once.
	 */
	if (rx->at && rx->queue == 0) {
		int ncpu = libbpf_num_possible_cpus();
		struct pr_xdp_counters *pc;
		uint32_t zero = 0;

		if (ncpu <= 0)
			return ncpu ? ncpu : -EINVAL;
		pc = calloc((size_t)ncpu, sizeof(*pc));
		if (!pc)
			return -ENOMEM;
		if (bpf_map_lookup_elem(rx->at->counters_fd, &zero, pc)) {
			int ret = -errno;

			free(pc);
			return ret;
		}
		for (int c = 0; c < ncpu; c++) {
			out->received += pc[c].c[PR_XDP_SEEN];
			out->rule_proto += pc[c].c[PR_XDP_DROP_PROTO];
			out->rule_port += pc[c].c[PR_XDP_DROP_PORT];
			out->rule_prefix += pc[c].c[PR_XDP_DROP_PREFIX];
			out->no_socket += pc[c].c[PR_XDP_NO_SOCKET];
		}
		free(pc);
	}
	out->kernel_drops = out->no_socket + out->xsk_rx_dropped + out->xsk_rx_ring_full;
	return 0;
}

static uint32_t afxdp_iface_count(struct pr_rx *rx)
{
	(void)rx;
	return 1;
}

static int afxdp_iface_get(struct pr_rx *rx, uint32_t idx, struct pr_rx_iface *out)
{
	if (idx)
		return -ENOENT;
	*out = rx->iface;
	return 0;
}

static void tx_reclaim(struct pr_rx *rx)
{
	uint32_t idx = 0, n, i;

	n = xsk_ring_cons__peek(&rx->cq, rx->args.comp_ring, &idx);
	for (i = 0; i < n; i++)
		rx->tx_free[rx->n_tx_free++] =
			xsk_umem__extract_addr(*xsk_ring_cons__comp_addr(&rx->cq, idx + i));
	if (n) {
		xsk_ring_cons__release(&rx->cq, n);
		rx->tx_outstanding -= n;
	}
}

/* Make the kernel send what is on the tx ring. 0 or -errno (a real failure). */
static int tx_kick(struct pr_rx *rx)
{
	/*
	 * In copy mode the kernel sends only inside this syscall; in
	 * zero-copy mode only when it asked to be woken.
	 */
	if (rx->zerocopy && !xsk_ring_prod__needs_wakeup(&rx->tx))
		return 0;
	if (sendto(rx->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
		return 0;
	if (errno == EAGAIN || errno == EBUSY || errno == ENOBUFS || errno == EINTR)
		return 0;
	return -errno;
}

static int afxdp_tx_burst(struct pr_rx *rx, const struct pr_tx_pkt *pkts, uint16_t n)
{
	uint32_t idx = 0, k, i, spins = 0;
	int ret;

	if (!rx->tx_only)
		return -ENOTSUP;
	tx_reclaim(rx);
	/* Out of frames: everything is in flight. Push it and wait a little. */
	while (!rx->n_tx_free && spins++ < 100000) {
		ret = tx_kick(rx);
		if (ret)
			goto fail;
		tx_reclaim(rx);
	}
	k = n < rx->n_tx_free ? n : rx->n_tx_free;
	if (!k)
		return 0;
	k = xsk_ring_prod__reserve(&rx->tx, k, &idx);
	for (i = 0; i < k; i++) {
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&rx->tx, idx + i);
		uint64_t addr = rx->tx_free[--rx->n_tx_free];
		uint32_t len = pkts[i].len;

		if (len > rx->args.frame_size) {
			/* Too large for a frame: not sent; the caller counts an error. */
			rx->n_tx_free++;
			xsk_ring_prod__submit(&rx->tx, i);
			rx->tx_outstanding += i;
			snprintf(rx->errbuf, sizeof(rx->errbuf),
				 "interface %s: a %u-byte frame exceeds the %u-byte AF_XDP frame",
				 rx->iface.name, len, rx->args.frame_size);
			tx_kick(rx);
			return i ? (int)i : -EMSGSIZE;
		}
		memcpy(rx->area + addr, pkts[i].data, len);
		d->addr = addr;
		d->len = len;
		d->options = 0;
	}
	xsk_ring_prod__submit(&rx->tx, k);
	rx->tx_outstanding += k;
	ret = tx_kick(rx);
	if (ret)
		goto fail;
	return (int)k;
fail:
	snprintf(rx->errbuf, sizeof(rx->errbuf), "interface %s: AF_XDP send: %s", rx->iface.name,
		 strerror(-ret));
	return ret;
}

static int afxdp_wait_fd(struct pr_rx *rx)
{
	/* Busy polling spins in rx_burst; poll() would only add sleeps. */
	return rx->busy_poll ? -1 : rx->fd;
}

static bool afxdp_is_offline(struct pr_rx *rx)
{
	(void)rx;
	return false;
}

static const char *afxdp_errmsg(struct pr_rx *rx)
{
	return rx->errbuf;
}

static void afxdp_close(struct pr_rx *rx)
{
	if (!rx)
		return;
	if (rx->tx_only && rx->xsk) {
		/* Let what is queued leave before the socket goes (bounded). */
		for (int i = 0; i < 1000 && rx->tx_outstanding; i++) {
			tx_kick(rx);
			tx_reclaim(rx);
			if (rx->tx_outstanding)
				usleep(100);
		}
	}
	if (rx->xsk && !rx->tx_only) {
		struct pr_rx_stats st;

		if (!afxdp_stats(rx, &st))
			PR_INFO("interface %s queue %u: received %" PRIu64 ", rule drops %" PRIu64
				"/%" PRIu64 "/%" PRIu64 " (proto/port/prefix), no socket %" PRIu64
				", socket drops %" PRIu64 ", ring full %" PRIu64
				", fill ring empty %" PRIu64 ", wakeups %" PRIu64,
				rx->iface.name, rx->queue, st.received, st.rule_proto, st.rule_port,
				st.rule_prefix, st.no_socket, st.xsk_rx_dropped,
				st.xsk_rx_ring_full, st.xsk_fill_ring_empty_descs, rx->wakeups);
	}
	if (rx->xsk)
		xsk_socket__delete(rx->xsk); /* the kernel clears its XSK map entry */
	umem_teardown(rx);
	attach_put(rx->at);
	free(rx->stash);
	free(rx->tx_free);
	free(rx);
}

int pr_afxdp_info_get(struct pr_rx *rx, struct pr_afxdp_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!rx)
		return -EINVAL;
	out->native = rx->at && rx->at->native;
	out->zerocopy = rx->zerocopy;
	out->libxdp = rx->at && rx->at->xprog;
	out->busy_poll = rx->busy_poll;
	out->queue = rx->queue;
	out->frames = rx->args.frames;
	out->frame_size = rx->args.frame_size;
	out->rx_ring = rx->tx_only ? 0 : rx->args.rx_ring;
	out->fill_ring = rx->args.fill_ring;
	out->tx_ring = rx->tx_only ? rx->args.tx_ring : 0;
	out->comp_ring = rx->args.comp_ring;
	out->prog_id = rx->at ? rx->at->prog_id : 0;
	return 0;
}

const struct pr_rx_ops pr_rx_afxdp_ops = {
	.name = "afxdp",
	.open = afxdp_open,
	.rx_burst = afxdp_rx_burst,
	.release_burst = afxdp_release_burst,
	.stats = afxdp_stats,
	.iface_count = afxdp_iface_count,
	.iface_get = afxdp_iface_get,
	.tx_burst = afxdp_tx_burst,
	.wait_fd = afxdp_wait_fd,
	.is_offline = afxdp_is_offline,
	.errmsg = afxdp_errmsg,
	.close = afxdp_close,
};
