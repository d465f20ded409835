/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tx core: the dataplane thread that sends what the control plane's
 * replay scheduler puts on the tx ring, each packet at the time it carries.
 * It is the only consumer of the tx ring and the only producer of the
 * report ring (its interface, counters and END record for the control
 * plane), so no ring ever has two producers, whatever the workers do.
 * Runs on the dataplane's main thread (or a thread of its own).
 */
#ifndef PR_TXCORE_H
#define PR_TXCORE_H

#include <stdatomic.h>

#include "pr_rx.h"

/*
 * Send until a TX_END record, a stop request, or a corrupt tx ring; then
 * emit the final counters and an END record on the report ring. ops/rx:
 * a backend opened with tx_only (borrowed). region: the checked, mapped
 * shared region. Returns 0, or -EPROTO when a ring header is not valid.
 */
int pr_txcore_run(const struct pr_rx_ops *ops, struct pr_rx *rx, void *region, atomic_bool *stop);

#endif /* PR_TXCORE_H */
