// SPDX-License-Identifier: Apache-2.0
/*
 * Capture-file writer behind pr_pcapw.h. Headers and packet records are
 * built in host byte order in one 1 MiB buffer that goes to the file with
 * write(2) when it fills, on pr_pcapw_flush() and on pr_pcapw_close(), so
 * a packet costs a memcpy and a system call is paid per megabyte. The
 * first I/O error is kept and returned by every later call (a file with a
 * hole in it is worse than a short one). Called by one thread per writer
 * (export, `capture --pcap`, HTTP and gRPC downloads); the writer owns
 * its buffer, its interface table and the file descriptor it opened;
 * standard output and a descriptor it was given it only writes to, and
 * a write_fn (a gRPC stream) gets the buffer's bytes instead of a file.
 */
#include "pr_capfmt.h"
#include "pr_pcapw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE (1u << 20)
#define DEFAULT_SNAPLEN 262144u
#define NSEC_PER_SEC 1000000000u

/*
 * The finest binary resolution (2^-29 s) whose units still map one to one
 * onto nanoseconds and back; see ns_to_units().
 */
#define MAX_BIN_TSRESOL 29

struct wiface {
	uint32_t linktype;
	uint8_t tsresol;
	uint64_t div; /* decimal resolutions: ns per unit */
};

struct pr_pcapw {
	int fd;
	bool own_fd;
	pr_pcapw_write_fn write_fn;
	void *write_ctx;
	enum pr_pcapw_format format;
	int err; /* first I/O error, sticky */
	uint8_t *buf;
	size_t used;
	uint32_t n_ifaces;
	uint32_t cap_ifaces;
	struct wiface *ifaces;
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static int write_full(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* write(2) makes no progress only on a device that will never take more. */
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int buf_flush(struct pr_pcapw *w)
{
	int err;

	if (w->err)
		return w->err;
	if (w->write_fn)
		err = w->write_fn(w->write_ctx, w->buf, w->used);
	else
		err = write_full(w->fd, w->buf, w->used);
	w->used = 0;
	if (err)
		w->err = err;
	return err;
}

/* Makes room for n contiguous bytes; n never exceeds BUF_SIZE. */
static int buf_reserve(struct pr_pcapw *w, size_t n)
{
	if (BUF_SIZE - w->used >= n)
		return 0;
	return buf_flush(w);
}

static void put16(struct pr_pcapw *w, uint16_t v)
{
	memcpy(w->buf + w->used, &v, sizeof(v));
	w->used += sizeof(v);
}

static void put32(struct pr_pcapw *w, uint32_t v)
{
	memcpy(w->buf + w->used, &v, sizeof(v));
	w->used += sizeof(v);
}

static void put64(struct pr_pcapw *w, uint64_t v)
{
	memcpy(w->buf + w->used, &v, sizeof(v));
	w->used += sizeof(v);
}

static void put_bytes(struct pr_pcapw *w, const void *p, size_t len)
{
	memcpy(w->buf + w->used, p, len);
	w->used += len;
}

/* Packet data may be as large as the buffer, so it goes in by pieces. */
static int put_data(struct pr_pcapw *w, const uint8_t *p, size_t len)
{
	while (len) {
		size_t n = BUF_SIZE - w->used;
		int err;

		if (!n) {
			err = buf_flush(w);
			if (err)
				return err;
			n = BUF_SIZE;
		}
		if (n > len)
			n = len;
		put_bytes(w, p, n);
		p += n;
		len -= n;
	}
	return 0;
}

static void put_pad(struct pr_pcapw *w, size_t len)
{
	size_t n = pad4(len) - len;

	memset(w->buf + w->used, 0, n);
	w->used += n;
}

static size_t opt_str_len(const char *s)
{
	return s && s[0] ? 4 + pad4(strlen(s)) : 0;
}

static void put_opt_str(struct pr_pcapw *w, uint16_t code, const char *s)
{
	size_t len;

	if (!s || !s[0])
		return;
	len = strlen(s);
	put16(w, code);
	put16(w, (uint16_t)len);
	put_bytes(w, s, len);
	put_pad(w, len);
}

/* An option value carries a 16-bit length; a longer string cannot be written whole. */
static bool opt_str_ok(const char *s)
{
	return !s || strlen(s) <= UINT16_MAX;
}

static void shb_write(struct pr_pcapw *w, const char *comment, const char *user_appl)
{
	size_t opts = opt_str_len(comment) + opt_str_len(user_appl);
	size_t blen;

	if (opts)
		opts += 4;
	blen = 28 + opts;
	put32(w, PR_PCAPNG_SHB);
	put32(w, (uint32_t)blen);
	put32(w, PR_PCAPNG_BOM);
	put16(w, 1);
	put16(w, 0);
	/* -1: section length not given, so the file can be appended to and streamed */
	put64(w, UINT64_MAX);
	put_opt_str(w, PR_PCAPNG_OPT_COMMENT, comment);
	put_opt_str(w, PR_PCAPNG_OPT_SHB_USERAPPL, user_appl);
	if (opts)
		put32(w, PR_PCAPNG_OPT_ENDOFOPT);
	put32(w, (uint32_t)blen);
}

int pr_pcapw_create(const struct pr_pcapw_cfg *cfg, struct pr_pcapw **out)
{
	struct pr_pcapw *w = NULL;
	int err = 0;

	*out = NULL;
	/* Exactly one of path, use_fd and write_fn says where the bytes go. */
	if (!cfg || (!!cfg->path + cfg->use_fd + !!cfg->write_fn) != 1 ||
	    (cfg->use_fd && cfg->fd < 0) ||
	    (cfg->format != PR_PCAPW_PCAP && cfg->format != PR_PCAPW_PCAPNG))
		return -EINVAL;
	if (!opt_str_ok(cfg->comment) || !opt_str_ok(cfg->user_appl))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = -1;
	w->format = cfg->format;
	w->buf = malloc(BUF_SIZE);
	if (!w->buf) {
		err = -ENOMEM;
		goto err_free;
	}
	if (cfg->use_fd) {
		w->fd = cfg->fd;
	} else if (cfg->write_fn) {
		w->write_fn = cfg->write_fn;
		w->write_ctx = cfg->write_ctx;
	} else if (!strcmp(cfg->path, "-")) {
		w->fd = STDOUT_FILENO;
	} else {
		/*
		 * Owner only, whatever the umask: captures carry other people's
		 * traffic. The commands create the file beforehand (pr_outfile)
		 * and set the mode the user asked for.
		 */
		w->fd = open(cfg->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (w->fd < 0) {
			err = -errno;
			goto err_free;
		}
		w->own_fd = true;
	}
	if (w->format == PR_PCAPW_PCAPNG)
		shb_write(w, cfg->comment, cfg->user_appl);
	*out = w;
	return 0;

err_free:
	free(w->buf);
	free(w);
	return err;
}

static bool tsresol_ok(uint8_t tsresol)
{
	if (tsresol & 0x80)
		return (tsresol & 0x7f) <= MAX_BIN_TSRESOL;
	return tsresol <= 9;
}

static int iface_store(struct pr_pcapw *w, const struct pr_pcapw_iface *ifc)
{
	struct wiface *wi;

	if (w->n_ifaces == w->cap_ifaces) {
		uint32_t cap = w->cap_ifaces ? w->cap_ifaces * 2 : 4;
		struct wiface *n = realloc(w->ifaces, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		w->ifaces = n;
		w->cap_ifaces = cap;
	}
	wi = &w->ifaces[w->n_ifaces];
	wi->linktype = ifc->linktype;
	wi->tsresol = ifc->tsresol;
	wi->div = 1;
	if (!(ifc->tsresol & 0x80))
		for (unsigned int i = ifc->tsresol; i < 9; i++)
			wi->div *= 10;
	return (int)w->n_ifaces++;
}

static int pcap_add_iface(struct pr_pcapw *w, const struct pr_pcapw_iface *ifc)
{
	/* Anything but microseconds gets the nanosecond magic, the finer of the two. */
	bool usec = ifc->tsresol == 6;
	struct pr_pcapw_iface first = *ifc;
	int err;

	if (w->n_ifaces)
		return ifc->linktype == w->ifaces[0].linktype ? 0 : -EINVAL;
	first.tsresol = usec ? 6 : 9;
	err = buf_reserve(w, PR_PCAP_FILE_HDR_LEN);
	if (err)
		return err;
	err = iface_store(w, &first);
	if (err < 0)
		return err;
	put32(w, usec ? PR_PCAP_MAGIC_USEC : PR_PCAP_MAGIC_NSEC);
	put16(w, 2);
	put16(w, 4);
	put32(w, 0); /* thiszone: always UTC */
	put32(w, 0); /* sigfigs */
	put32(w, ifc->snaplen ? ifc->snaplen : DEFAULT_SNAPLEN);
	put32(w, ifc->linktype);
	return 0;
}

static int pcapng_add_iface(struct pr_pcapw *w, const struct pr_pcapw_iface *iface)
{
	struct pr_pcapw_iface ifc = *iface;
	size_t opts, blen;
	bool resol;
	int err, idx;

	if (ifc.linktype > UINT16_MAX || !opt_str_ok(ifc.name) || !opt_str_ok(ifc.description))
		return -EINVAL;
	/*
	 * Units finer than what a ns timestamp can tell apart would only be
	 * filled with zeros or guesses: nanoseconds keep every digit we have.
	 */
	if (!tsresol_ok(ifc.tsresol))
		ifc.tsresol = 9;
	resol = ifc.tsresol != 6;
	opts = opt_str_len(ifc.name) + opt_str_len(ifc.description) + (resol ? 8 : 0);
	if (opts)
		opts += 4;
	blen = 20 + opts;
	err = buf_reserve(w, blen);
	if (err)
		return err;
	idx = iface_store(w, &ifc);
	if (idx < 0)
		return idx;
	put32(w, PR_PCAPNG_IDB);
	put32(w, (uint32_t)blen);
	put16(w, (uint16_t)ifc.linktype);
	put16(w, 0);
	put32(w, ifc.snaplen ? ifc.snaplen : DEFAULT_SNAPLEN);
	put_opt_str(w, PR_PCAPNG_OPT_IF_NAME, ifc.name);
	put_opt_str(w, PR_PCAPNG_OPT_IF_DESCRIPTION, ifc.description);
	if (resol) {
		put16(w, PR_PCAPNG_OPT_IF_TSRESOL);
		put16(w, 1);
		put32(w, 0);
		w->buf[w->used - 4] = ifc.tsresol;
	}
	if (opts)
		put32(w, PR_PCAPNG_OPT_ENDOFOPT);
	put32(w, (uint32_t)blen);
	return idx;
}

int pr_pcapw_add_iface(struct pr_pcapw *w, const struct pr_pcapw_iface *iface)
{
	if (!iface)
		return -EINVAL;
	if (w->err)
		return w->err;
	if (w->format == PR_PCAPW_PCAP)
		return pcap_add_iface(w, iface);
	return pcapng_add_iface(w, iface);
}

/*
 * Binary resolutions round up: a reader turns units into
 * floor(units * 1e9 / 2^n) ns, and for 2^n <= 1e9 rounding that back up
 * gives the original units, so a file read and written again is unchanged.
 */
static uint64_t ns_to_units(const struct wiface *wi, uint64_t ts_ns)
{
	unsigned int n = wi->tsresol & 0x7f;

	if (wi->tsresol & 0x80)
		return (uint64_t)((((unsigned __int128)ts_ns << n) + NSEC_PER_SEC - 1) /
				  NSEC_PER_SEC);
	return wi->div == 1 ? ts_ns : ts_ns / wi->div;
}

static void pcap_put_record(struct pr_pcapw *w, uint64_t ts_ns, uint32_t cap_len, uint32_t wire_len)
{
	const struct wiface *wi = &w->ifaces[0];

	/* pcap seconds are 32 bits: unsigned, they last until 2106. */
	put32(w, (uint32_t)(ts_ns / NSEC_PER_SEC));
	put32(w, (uint32_t)((ts_ns % NSEC_PER_SEC) / wi->div));
	put32(w, cap_len);
	put32(w, wire_len);
}

static void pcapng_put_epb(struct pr_pcapw *w, uint32_t iface, uint64_t ts_ns, uint32_t cap_len,
			   uint32_t wire_len)
{
	uint64_t units = ns_to_units(&w->ifaces[iface], ts_ns);
	uint32_t blen = PR_PCAPNG_EPB_OVERHEAD + (uint32_t)pad4(cap_len);

	put32(w, PR_PCAPNG_EPB);
	put32(w, blen);
	put32(w, iface);
	put32(w, (uint32_t)(units >> 32));
	put32(w, (uint32_t)units);
	put32(w, cap_len);
	put32(w, wire_len);
}

int pr_pcapw_write(struct pr_pcapw *w, uint32_t iface, uint64_t ts_ns, const uint8_t *data,
		   uint32_t cap_len, uint32_t wire_len)
{
	bool ng = w->format == PR_PCAPW_PCAPNG;
	int err;

	/* Bad arguments leave the file intact, so they are not sticky. */
	if (iface >= w->n_ifaces || cap_len > wire_len || cap_len > PR_CAPFMT_MAX_CAP_LEN ||
	    (cap_len && !data))
		return -EINVAL;
	if (w->err)
		return w->err;
	err = buf_reserve(w, PR_PCAPNG_EPB_OVERHEAD - 4);
	if (err)
		return err;
	if (ng)
		pcapng_put_epb(w, iface, ts_ns, cap_len, wire_len);
	else
		pcap_put_record(w, ts_ns, cap_len, wire_len);
	err = put_data(w, data, cap_len);
	if (err || !ng)
		return err;
	err = buf_reserve(w, 3 + 4);
	if (err)
		return err;
	put_pad(w, cap_len);
	put32(w, PR_PCAPNG_EPB_OVERHEAD + (uint32_t)pad4(cap_len));
	return 0;
}

size_t pr_pcapw_buffered(const struct pr_pcapw *w)
{
	return w->used;
}

int pr_pcapw_flush(struct pr_pcapw *w)
{
	if (!w->used)
		return w->err;
	return buf_flush(w);
}

int pr_pcapw_close(struct pr_pcapw *w)
{
	int err;

	if (!w)
		return 0;
	/*
	 * A pcap file with no interface declared still gets a header
	 * (Ethernet, microseconds) so an empty export opens in any tool.
	 */
	if (w->format == PR_PCAPW_PCAP && !w->n_ifaces && !w->err) {
		const struct pr_pcapw_iface eth = { .linktype = 1, .tsresol = 6 };

		pcap_add_iface(w, &eth);
	}
	err = pr_pcapw_flush(w);
	if (w->own_fd && close(w->fd) && !err)
		err = -errno;
	free(w->ifaces);
	free(w->buf);
	free(w);
	return err;
}
