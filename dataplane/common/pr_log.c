// SPDX-License-Identifier: Apache-2.0
/*
 * Implementation of pr_log.h: level filter and one formatted write to
 * stderr per message, so lines from several threads never interleave.
 */
#include "pr_log.h"

#include <stdio.h>
#include <string.h>

static const char *log_program = "packetrecorder";
static int log_level = PR_LOG_NOTICE;

void pr_log_set_program(const char *name)
{
	if (name)
		log_program = name;
}

void pr_log_set_level(int level)
{
	log_level = level;
}

int pr_log_get_level(void)
{
	return log_level;
}

void pr_log_vmsg(int level, const char *module, const char *fmt, va_list ap)
{
	char msg[1024];
	const char *tag = "";

	if (level > log_level)
		return;
	if (level == PR_LOG_ERR)
		tag = "error: ";
	else if (level == PR_LOG_WARN)
		tag = "warning: ";
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s: %s%s%s%s\n", log_program, tag, module ? module : "",
		module ? ": " : "", msg);
}

void pr_log_msg(int level, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pr_log_vmsg(level, module, fmt, ap);
	va_end(ap);
}
