/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writer for capture files: classic pcap (microsecond or nanosecond magic,
 * one link type) and pcapng (a Section Header Block with optional comment,
 * one Interface Description Block per interface with if_name,
 * if_description and if_tsresol, Enhanced Packet Blocks). Timestamps are
 * written at each interface's resolution, so a file read at that resolution
 * is written back bit for bit. Buffered writes; errors (disk full) are
 * returned, not hidden. Export and `capture --pcap` use it. One writer per
 * thread.
 */
#ifndef PR_PCAPW_H
#define PR_PCAPW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pr_pcapw_format {
	PR_PCAPW_PCAP = 1,
	PR_PCAPW_PCAPNG = 2,
};

/*
 * Where the bytes go instead of a file: called with the buffered bytes
 * when the buffer fills and on flush. 0 or a negative errno (kept, as an
 * I/O error is). The bytes are valid during the call only.
 */
typedef int (*pr_pcapw_write_fn)(void *ctx, const uint8_t *data, size_t len);

struct pr_pcapw_cfg {
	enum pr_pcapw_format format;
	const char *path; /* "-" writes to standard output; NULL with use_fd or write_fn */
	bool use_fd;
	int fd; /* with use_fd: an open descriptor (a pipe, a socket); the writer never closes it */
	pr_pcapw_write_fn write_fn; /* instead of a file (a network stream); path NULL */
	void *write_ctx;
	const char *comment; /* pcapng shb_comment, NULL for none */
	const char *user_appl; /* pcapng shb_userappl, NULL for none */
};

struct pr_pcapw_iface {
	uint32_t linktype;
	uint32_t snaplen; /* 0 = 262144 */
	uint8_t tsresol; /* 6 = usec, 9 = nsec (pcapng may use any power of 10 up to 9) */
	const char *name; /* NULL or "" to leave out */
	const char *description;
};

struct pr_pcapw;

/* Create the file (truncating). 0 or -errno. */
int pr_pcapw_create(const struct pr_pcapw_cfg *cfg, struct pr_pcapw **out);
/*
 * Declare an interface; returns its index (>= 0) or -errno. pcap takes one
 * interface only (-EINVAL for a second with another link type; a second
 * with the same link type shares index 0), whose tsresol picks the magic.
 */
int pr_pcapw_add_iface(struct pr_pcapw *w, const struct pr_pcapw_iface *iface);
/* Write one packet. 0 or -errno (-ENOSPC, -EIO, -EINVAL for a bad index). */
int pr_pcapw_write(struct pr_pcapw *w, uint32_t iface, uint64_t ts_ns, const uint8_t *data,
		   uint32_t cap_len, uint32_t wire_len);
/* Bytes written into the buffer and not flushed yet. */
size_t pr_pcapw_buffered(const struct pr_pcapw *w);
/* Flush buffered bytes. 0 or -errno. */
int pr_pcapw_flush(struct pr_pcapw *w);
/* Flush and close; returns the first error seen, if any. NULL returns 0. */
int pr_pcapw_close(struct pr_pcapw *w);

#endif /* PR_PCAPW_H */
