// SPDX-License-Identifier: Apache-2.0
/*
 * sd_notify without libsystemd (pr_sdnotify.h): one AF_UNIX datagram per
 * call to the socket $NOTIFY_SOCKET names. The socket is opened and
 * closed per call: notifications are a few per daemon lifetime (and one
 * per watchdog period), and a descriptor kept open would leak into the
 * capture processes the daemon starts. Any thread.
 */
#include "pr_sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int pr_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n, len;
	socklen_t sl;
	int fd, ret = 0;

	if (!path || !path[0])
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, n);
	/* "@name": the abstract namespace, whose names start with a NUL byte. */
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	len = strlen(state);
	if (sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sl) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}

int pr_sd_notifyf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return pr_sd_notify(buf);
}

uint64_t pr_sd_watchdog_usec(void)
{
	const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (!us || !us[0])
		return 0;
	if (pid && pid[0] && strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	errno = 0;
	v = strtoull(us, &end, 10);
	if (errno || *end)
		return 0;
	return v;
}
