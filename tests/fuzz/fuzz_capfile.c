// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the capture-file reader (pr_capfile). The input is
 * copied into an exactly sized heap buffer, so AddressSanitizer catches a
 * read one byte past the end, and every packet's bytes are summed so a
 * data pointer or length that strays outside the buffer is touched too.
 * Interface lookups and the error accessors are exercised as a caller
 * would. The same bytes are then streamed (pr_capfile_open_stream()) in
 * chunks of pseudo-random sizes, with "nothing yet" answers in between,
 * while the caller holds a pseudo-random number of packets before
 * releasing them: every packet, the end and the error message must be
 * what the in-memory read gave, and held packets must be intact when
 * released. Single-threaded; owns nothing between runs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pr_capfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the sum alive so the compiler cannot drop the reads. */
static volatile uint64_t sink;

struct feed {
	const uint8_t *p;
	size_t len;
	size_t pos;
	uint64_t rng;
};

static uint32_t rnd(struct feed *f)
{
	/* xorshift64: deterministic per input, so a crash replays */
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return (uint32_t)(f->rng >> 16);
}

static ssize_t feed_read(void *ctx, uint8_t *buf, size_t len)
{
	struct feed *f = ctx;
	uint32_t r = rnd(f);
	size_t n;

	if (r % 8 == 0)
		return -EAGAIN;
	if (f->pos == f->len)
		return 0;
	/* mostly small chunks, sometimes large ones */
	n = r % 4 ? 1 + r % 64 : 1 + r % 70000;
	if (n > len)
		n = len;
	if (n > f->len - f->pos)
		n = f->len - f->pos;
	memcpy(buf, f->p + f->pos, n);
	f->pos += n;
	return (ssize_t)n;
}

/* Strips the "<name>: " an open error starts with. */
static const char *after_name(const char *msg)
{
	const char *p = strstr(msg, ": ");

	return p ? p + 2 : msg;
}

static bool same_pkt(const struct pr_capfile_pkt *a, const struct pr_capfile_pkt *b)
{
	return a->cap_len == b->cap_len && a->wire_len == b->wire_len && a->ts_ns == b->ts_ns &&
	       a->iface == b->iface && a->offset == b->offset &&
	       (!a->cap_len || !memcmp(a->data, b->data, a->cap_len));
}

/*
 * Streams `data` and checks it against the in-memory read: `want` holds
 * its n packets, `end` its last return, `msg` its error message.
 */
static void stream_pass(const uint8_t *data, size_t size, const struct pr_capfile_pkt *want,
			size_t n, int end, const char *msg)
{
	struct pr_capfile_pkt held[40];
	struct feed f = { .p = data, .len = size, .rng = 0x9e3779b97f4a7c15ull ^ size };
	struct pr_capfile *cf = NULL;
	size_t got = 0, nheld = 0, hold;
	int ret, spins = 0;

	for (size_t i = 0; i < size && i < 64; i++)
		f.rng = f.rng * 31 + data[i] + 1;
	if (pr_capfile_open_stream(feed_read, &f, "<stream>", &cf)) {
		/* an open refused here must have been refused (or failed the same way) in memory */
		if (n || end != -EINVAL || strcmp(after_name(pr_capfile_open_error()), msg))
			abort();
		return;
	}
	hold = 1 + rnd(&f) % 40;
	for (;;) {
		ret = pr_capfile_next(cf, &held[nheld]);
		if (ret == -EAGAIN || ret == -ENOBUFS) {
			/* the source always comes back; released packets always make room */
			if (++spins > 1000)
				abort();
		} else {
			spins = 0;
		}
		if (ret == -EAGAIN)
			continue;
		if (ret == 1) {
			if (got >= n || !same_pkt(&held[nheld], &want[got]))
				abort();
			got++;
			nheld++;
		}
		if (ret == 1 && nheld < hold)
			continue;
		/* release: what was held must still read as it did when handed out */
		for (size_t i = 0; i < nheld; i++)
			if (!same_pkt(&held[i], &want[got - nheld + i]))
				abort();
		pr_capfile_release_before(cf, pr_capfile_offset(cf));
		nheld = 0;
		hold = 1 + rnd(&f) % 40;
		if (ret == 1 || ret == -ENOBUFS)
			continue;
		break;
	}
	if (ret != end || got != n || pr_capfile_next(cf, &held[0]) != end)
		abort();
	if (ret < 0 && strcmp(pr_capfile_errmsg(cf), msg))
		abort();
	pr_capfile_close(cf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pr_capfile_pkt pkt;
	struct pr_capfile_pkt *pkts = NULL;
	struct pr_capfile *cf = NULL;
	uint8_t *copy = malloc(size ? size : 1);
	size_t n = 0, cap = 0;
	char msg[256] = "";
	uint64_t sum = 0;
	int ret;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (pr_capfile_open_mem(copy, size, &cf)) {
		sum += strlen(pr_capfile_open_error());
		snprintf(msg, sizeof(msg), "%s", after_name(pr_capfile_open_error()));
		stream_pass(copy, size, NULL, 0, -EINVAL, msg);
		goto out;
	}
	while ((ret = pr_capfile_next(cf, &pkt)) == 1) {
		const struct pr_capfile_iface *ifc = pr_capfile_iface(cf, pkt.iface);

		if (!ifc || pkt.wire_len < pkt.cap_len || pkt.offset >= pr_capfile_size(cf))
			abort();
		for (uint32_t i = 0; i < pkt.cap_len; i++)
			sum += pkt.data[i];
		sum += pkt.ts_ns + ifc->linktype + strlen(ifc->name) + strlen(ifc->description);
		if (n == cap) {
			struct pr_capfile_pkt *np;

			cap = cap ? cap * 2 : 64;
			np = realloc(pkts, cap * sizeof(*pkts));
			if (!np)
				goto out;
			pkts = np;
		}
		pkts[n++] = pkt;
	}
	/* An error must be sticky and explained; a clean end must stay an end. */
	if (pr_capfile_next(cf, &pkt) != ret || (ret < 0 && !pr_capfile_errmsg(cf)[0]))
		abort();
	sum += pr_capfile_offset(cf) + pr_capfile_iface_count(cf);
	snprintf(msg, sizeof(msg), "%s", pr_capfile_errmsg(cf));
	/* the memory reader's packets point into copy, which lives on */
	stream_pass(copy, size, pkts, n, ret, msg);
out:
	pr_capfile_close(cf);
	free(pkts);
	free(copy);
	sink += sum;
	return 0;
}
