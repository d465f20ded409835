/* SPDX-License-Identifier: Apache-2.0 */
/*
 * systemd's notification protocol, written by hand (no libsystemd): state
 * lines such as "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..." and
 * "WATCHDOG=1" go in one datagram to the unix socket named by
 * $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace). Without
 * $NOTIFY_SOCKET (not started by systemd with Type=notify) every call
 * does nothing and succeeds. Any thread.
 */
#ifndef PR_SDNOTIFY_H
#define PR_SDNOTIFY_H

#include <stdint.h>

/* Send state (lines separated by '\n'). 0, or a negative errno (a bad socket name, send failed). */
int pr_sd_notify(const char *state);
int pr_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * How often systemd wants "WATCHDOG=1" (WatchdogSec=): $WATCHDOG_USEC when
 * $WATCHDOG_PID is unset or ours, else 0 (no watchdog).
 */
uint64_t pr_sd_watchdog_usec(void);

#endif /* PR_SDNOTIFY_H */
