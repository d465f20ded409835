/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reader for capture files: classic pcap (both byte orders, microsecond and
 * nanosecond magic, the modified-pcap variants tcpdump knows) and pcapng
 * (every section, every Interface Description Block with its if_tsresol,
 * if_tsoffset, if_name and if_description; Enhanced, Simple and obsolete
 * Packet Blocks; other blocks skipped). A regular file is mapped; anything
 * else (a pipe, a FIFO, a character device, a socket, stdin) is streamed
 * through one buffer of a few MiB, so an endless input is read in bounded
 * memory and a quiet one never blocks the caller. Bounds are
 * checked on every field: a damaged file ends with an error that names the
 * byte offset, and everything before it has been returned.
 *
 * One reader per thread; no global state. The pcap backend of the
 * dataplane, tests and fuzzers use it.
 */
#ifndef PR_CAPFILE_H
#define PR_CAPFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
	const uint8_t *data; /* cap_len bytes; see pr_capfile_release_before() */
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
 * Open a capture file by path ("-" reads standard input). A regular file
 * is mapped; anything else is streamed (see pr_capfile_open_stream()),
 * opened without waiting for a FIFO's writer and read without ever
 * blocking. Returns 0, or -ENOENT/-EACCES/-EISDIR/... from the system, or
 * -EINVAL when the input is empty, does not start with a pcap or pcapng
 * magic, or its header is damaged (see pr_capfile_open_error()). A stream
 * whose header has not arrived yet opens fine; pr_capfile_next() checks it
 * when it comes. *out is set to NULL on failure.
 */
int pr_capfile_open_path(const char *path, struct pr_capfile **out);

/*
 * Open a reader over a caller-owned buffer, which must outlive the reader.
 * Same returns as pr_capfile_open_path(). Used by fuzzers and tests.
 */
int pr_capfile_open_mem(const uint8_t *buf, size_t len, struct pr_capfile **out);

/*
 * How a stream reader gets its bytes: read up to len bytes into buf and
 * return how many (> 0), 0 at the end of the input, -EAGAIN when nothing
 * is available yet (never wait for it), or another -errno, which ends the
 * reading with an error.
 */
typedef ssize_t (*pr_capfile_read_fn)(void *ctx, uint8_t *buf, size_t len);

/*
 * Open a reader over a stream of bytes delivered by read(ctx, ...); name
 * is used in messages. The reader owns one buffer: 64 KiB at first, 4 MiB
 * at most, more only for a block that large (16 MiB at most). It tries to
 * read the file header at once: returns as pr_capfile_open_path() does.
 */
int pr_capfile_open_stream(pr_capfile_read_fn read, void *ctx, const char *name,
			   struct pr_capfile **out);

/* The message of the last failed open in this thread ("" if none). */
const char *pr_capfile_open_error(void);

/*
 * Next packet. Returns 1 with *pkt filled, 0 at a clean end of file, or
 * -EINVAL (damaged: see pr_capfile_errmsg(), which names the offset) or
 * another -errno (a stream's read failed) after which every call returns
 * the same error. A stream may also return, without changing anything:
 * -EAGAIN, no complete record has arrived yet (poll pr_capfile_fd(), call
 * again later); -ENOBUFS, packets not yet released fill the buffer
 * (release them with pr_capfile_release_before(), call again).
 */
int pr_capfile_next(struct pr_capfile *cf, struct pr_capfile_pkt *pkt);

/* PR_CAPFILE_PCAP or PR_CAPFILE_PCAPNG; 0 while a stream's header is still to come. */
enum pr_capfile_format pr_capfile_format(const struct pr_capfile *cf);
/* Interfaces seen so far; pcapng may add more as the file is read. */
uint32_t pr_capfile_iface_count(const struct pr_capfile *cf);
const struct pr_capfile_iface *pr_capfile_iface(const struct pr_capfile *cf, uint32_t idx);
/* Human-readable reason of the last error, naming the byte offset; "" if none. */
const char *pr_capfile_errmsg(const struct pr_capfile *cf);
/* Bytes of the file consumed so far, and its size (a stream: the bytes read so far). */
uint64_t pr_capfile_offset(const struct pr_capfile *cf);
uint64_t pr_capfile_size(const struct pr_capfile *cf);
/* The descriptor a stream opened by path reads (for poll()), or -1. */
int pr_capfile_fd(const struct pr_capfile *cf);

/*
 * The caller is done with every packet that starts before offset (a file
 * offset, as in pr_capfile_pkt.offset): their data pointers must not be
 * used again. A packet's data stays valid until it is released this way,
 * or until pr_capfile_close(). A mapped file gives the pages back to the
 * kernel, so a large file is read in bounded memory; a stream reuses its
 * buffer only once every packet handed out has been released, and a
 * caller that holds more packets than the buffer has room for gets
 * -ENOBUFS.
 */
void pr_capfile_release_before(struct pr_capfile *cf, uint64_t offset);

void pr_capfile_close(struct pr_capfile *cf); /* NULL is a no-op */

#endif /* PR_CAPFILE_H */
