// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_txcore.h. Its records to the control plane (the
 * interface it sends on, counters every 100 ms, END) are few: each waits
 * up to 5 s for ring room rather than being lost.
 */
#define PR_LOG_MODULE "txcore"

#include "pr_txcore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "pr_log.h"
#include "pr_ring.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put_ctl_record(struct pr_ring_prod *p, const void *rec, uint32_t len)
{
	void *slot;
	int tries = 0;
	struct timespec pause = { 0, 1000000 };

	while (!(slot = pr_ring_prod_reserve(p, len)) && tries++ < 5000) {
		pr_ring_prod_publish(p);
		nanosleep(&pause, NULL);
	}
	if (!slot)
		return;
	memcpy(slot, rec, len);
	pr_ring_prod_commit(p);
	pr_ring_prod_publish(p);
}

/* Sleep until shortly before t (CLOCK_MONOTONIC), then spin the rest. */
static void wait_until(uint64_t t, atomic_bool *stop_flag)
{
	if (t > mono_ns() + 200000) {
		struct timespec ts = {
			.tv_sec = (time_t)((t - 100000) / 1000000000ull),
			.tv_nsec = (long)((t - 100000) % 1000000000ull),
		};

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR &&
		       !atomic_load(stop_flag))
			;
	}
	while (mono_ns() < t && !atomic_load(stop_flag))
		;
}

/*
 * Packets come off the tx ring in order and each is sent at its send_at
 * time (CLOCK_MONOTONIC, absolute), sleeping until shortly before and
 * spinning the rest, so timing does not drift as sleeps add up. The
 * packets that are due by then go out in one tx_burst() (up to PR_BURST),
 * so a replay that is behind, or at top speed, pays one call per burst.
 * The time that call returned is each paced packet's hand-off time; its
 * lateness against send_at goes into the timing histogram.
 */
int pr_txcore_run(const struct pr_rx_ops *ops, struct pr_rx *rx, void *base, atomic_bool *stop_flag)
{
	struct pr_ring_cons cons;
	struct pr_ring_prod prod;
	struct pr_rec_stats st = { .hdr = { .type = PR_REC_STATS, .len = sizeof(st) } };
	struct pr_rec_end end = { .hdr = { .type = PR_REC_END, .len = sizeof(end) } };
	static struct pr_rec_tx_timing tim;
	struct pr_tx_pkt burst[PR_BURST];
	uint64_t at[PR_BURST];
	uint64_t last_stats = mono_ns();
	int ret;

	/* Wake from the absolute sleeps on time, not up to 50 us late (the default slack). */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	memset(&tim, 0, sizeof(tim));
	tim.hdr.type = PR_REC_TX_TIMING;
	tim.hdr.len = sizeof(tim);
	ret = pr_ring_cons_init(&cons, pr_shm_tx_ring(base), PR_RING_ROLE_TX);
	if (!ret)
		ret = pr_ring_prod_init(&prod, pr_shm_report_ring(base), PR_RING_ROLE_RX);
	if (ret)
		return ret;
	end.reason = PR_END_STOPPED;
	{
		/* Announce the interface: the scheduler checks the link type matches. */
		struct pr_rec_iface ir = { .hdr = { .type = PR_REC_IFACE, .len = sizeof(ir) } };
		struct pr_rx_iface info;

		if (ops->iface_get(rx, 0, &info) == 0) {
			ir.linktype = info.linktype;
			ir.snaplen = info.snaplen;
			ir.tsresol = info.tsresol;
			memcpy(ir.name, info.name, sizeof(ir.name));
			ir.name[sizeof(ir.name) - 1] = 0;
			put_ctl_record(&prod, &ir, sizeof(ir));
		}
	}
	while (!atomic_load(stop_flag)) {
		const struct pr_rec_hdr *h = pr_ring_cons_peek(&cons);
		uint16_t n = 0;
		bool done = false;
		uint64_t now;

		if (!h) {
			struct timespec pause = { 0, 50000 };

			if (cons.error) {
				end.reason = PR_END_ERROR;
				end.error = cons.error;
				snprintf(end.message, sizeof(end.message), "tx ring corrupt");
				break;
			}
			nanosleep(&pause, NULL);
			continue;
		}
		/* Records stay valid until release: gather the burst, then send it. */
		while (h && n < PR_BURST) {
			if (h->type == PR_REC_TX_END) {
				pr_ring_cons_advance(&cons, h);
				end.reason = PR_END_EOF;
				done = true;
				break;
			}
			if (h->type == PR_REC_TX_PACKET &&
			    h->len >= sizeof(struct pr_rec_tx_packet)) {
				const struct pr_rec_tx_packet *tp =
					(const struct pr_rec_tx_packet *)h;

				if (tp->len > h->len - sizeof(*tp)) {
					st.counters[PR_STAT_TX_ERRORS]++;
				} else {
					/* The first waits for its time; later ones join only if due. */
					if (!n)
						wait_until(tp->send_at_ns, stop_flag);
					else if (tp->send_at_ns > mono_ns())
						break;
					burst[n].data = tp->data;
					burst[n].len = tp->len;
					at[n++] = tp->send_at_ns;
				}
			}
			pr_ring_cons_advance(&cons, h);
			h = pr_ring_cons_peek(&cons);
		}
		if (n) {
			uint16_t off = 0;

			while (off < n && !atomic_load(stop_flag)) {
				int k = ops->tx_burst(rx, burst + off, (uint16_t)(n - off));

				now = mono_ns();
				if (k <= 0) {
					/* Refused: count this packet as an error and go on. */
					st.counters[PR_STAT_TX_ERRORS]++;
					if (st.counters[PR_STAT_TX_ERRORS] == 1)
						PR_WARN("%s", ops->errmsg(rx));
					off++;
					continue;
				}
				if (!tim.first_ns)
					tim.first_ns = now;
				tim.last_ns = now;
				for (int i = 0; i < k; i++, off++) {
					st.counters[PR_STAT_TX_PACKETS]++;
					st.counters[PR_STAT_TX_BYTES] += burst[off].len;
					if (at[off] && now >= at[off]) {
						uint64_t late = now - at[off];

						tim.timed++;
						tim.sum_ns += late;
						if (late > tim.max_ns)
							tim.max_ns = late;
						tim.hist[pr_tx_hist_bucket(late)]++;
					}
				}
			}
		}
		pr_ring_cons_release(&cons);
		if (done)
			break;
		now = mono_ns();
		if (now - last_stats > 100000000ull) {
			last_stats = now;
			put_ctl_record(&prod, &st, sizeof(st));
		}
	}
	put_ctl_record(&prod, &tim, sizeof(tim));
	put_ctl_record(&prod, &st, sizeof(st));
	put_ctl_record(&prod, &end, sizeof(end));
	return 0;
}
