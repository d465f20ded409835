/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reader for capture files: classic pcap (both byte orders, microsecond and
 * nanosecond magic, the modified-pcap variants tcpdump knows) and pcapng
 * (every section, every Interface Description Block with its if_tsresol,
 * if_tsoffset, if_name and if_description; Enhanced, Simple and obsolete
 * Packet Blocks; other blocks skipped). It works on one contiguous buffer:
 * a regular file is mapped, anything else (a pipe, stdin) is read whole.
 * Bounds are checked on every field: a damaged file ends with an error that
 * names the byte offset, and everything before it has been returned.
 *
 * One reader per thread; no global state. The pcap backend of the
 * dataplane, tests and fuzzers use it.
 */
#ifndef PR_CAPFILE_H
#define PR_CAPFILE_H

#include <stddef.h>
#include <stdint.h>

enum pr_capfile_format {
	PR_CAPFILE_PCAP = 1,
	PR_CAPFILE_PCAPNG = 2,
};

struct pr_capfile_iface {
	uint32_t linktype;
	uint32_t snaplen;
	uint8_t tsresol; /* pcapng if_tsresol byte: 6 = usec (pcap default), 9 = nsec, 0x80|n = 2^-n */
	int64_t tsoffset_s; /* pcapng if_tsoffset, added to every timestamp */
	char name[64]; /* if_name, or "" */
	char description[128]; /* if_description, or "" */
};

/* pr_capfile_pkt.ts_ns of a packet that carries no time stamp (pcapng SPB). */
#define PR_CAPFILE_TS_NONE UINT64_MAX

struct pr_capfile_pkt {
	const uint8_t *data; /* cap_len bytes, valid until pr_capfile_close() */
	uint32_t cap_len;
	uint32_t wire_len; /* original length; never below cap_len */
	/*
	 * ns since the Unix epoch, offsets and resolution applied; 0 is a
	 * real time stamp of 0, PR_CAPFILE_TS_NONE a packet without one (SPB)
	 */
	uint64_t ts_ns;
	uint32_t iface; /* index into the interfaces of this file (0 for pcap) */
	uint64_t offset; /* byte offset of the packet's record in the file */
};

struct pr_capfile;

/*
 * Open a capture file by path ("-" reads standard input). Returns 0, or
 * -ENOENT/-EACCES/... from the system, or -EINVAL when the file is not a
 * pcap/pcapng file or its header is damaged (see pr_capfile_open_error()).
 * *out is set to NULL on failure.
 */
int pr_capfile_open_path(const char *path, struct pr_capfile **out);

/*
 * Open a reader over a caller-owned buffer, which must outlive the reader.
 * Same returns as pr_capfile_open_path(). Used by fuzzers and tests.
 */
int pr_capfile_open_mem(const uint8_t *buf, size_t len, struct pr_capfile **out);

/* The message of the last failed open in this thread ("" if none). */
const char *pr_capfile_open_error(void);

/*
 * Next packet. Returns 1 with *pkt filled, 0 at a clean end of file, or
 * -EINVAL (damaged: see pr_capfile_errmsg(), which names the offset) after
 * which every call returns the same error.
 */
int pr_capfile_next(struct pr_capfile *cf, struct pr_capfile_pkt *pkt);

enum pr_capfile_format pr_capfile_format(const struct pr_capfile *cf);
/* Interfaces seen so far; pcapng may add more as the file is read. */
uint32_t pr_capfile_iface_count(const struct pr_capfile *cf);
const struct pr_capfile_iface *pr_capfile_iface(const struct pr_capfile *cf, uint32_t idx);
/* Human-readable reason of the last error, naming the byte offset; "" if none. */
const char *pr_capfile_errmsg(const struct pr_capfile *cf);
/* Bytes of the file consumed so far, and its size (for progress). */
uint64_t pr_capfile_offset(const struct pr_capfile *cf);
uint64_t pr_capfile_size(const struct pr_capfile *cf);

/*
 * The caller is done with every packet that starts before offset (a file
 * offset, as in pr_capfile_pkt.offset): their data pointers must not be
 * used again. A mapped file gives those pages back to the kernel, so a
 * large file is read in bounded memory. Never needed for correctness.
 */
void pr_capfile_release_before(struct pr_capfile *cf, uint64_t offset);

void pr_capfile_close(struct pr_capfile *cf); /* NULL is a no-op */

#endif /* PR_CAPFILE_H */
