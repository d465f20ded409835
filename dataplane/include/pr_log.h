/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The logger every process uses. Messages go to stderr as
 * "<program>: <module>: <message>" and are filtered by level. Each .c file
 * defines PR_LOG_MODULE before using the macros. Thread-safe (one fprintf
 * per message). Never log secrets (STYLE.md section 7).
 */
#ifndef PR_LOG_H
#define PR_LOG_H

#include <stdarg.h>

enum pr_log_level {
	PR_LOG_ERR = 3, /* an operation failed and someone must act */
	PR_LOG_WARN = 4, /* degraded, carrying on */
	PR_LOG_NOTICE = 5, /* a state change: start, stop, reload */
	PR_LOG_INFO = 6, /* one-time detail */
	PR_LOG_DEBUG = 7,
};

/* Set the program name printed before each message (borrowed, not copied). */
void pr_log_set_program(const char *name);
/* Messages above this level are dropped. Default PR_LOG_NOTICE. */
void pr_log_set_level(int level);
int pr_log_get_level(void);

void pr_log_msg(int level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pr_log_vmsg(int level, const char *module, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#ifndef PR_LOG_MODULE
#define PR_LOG_MODULE "main"
#endif

#define PR_ERR(...) pr_log_msg(PR_LOG_ERR, PR_LOG_MODULE, __VA_ARGS__)
#define PR_WARN(...) pr_log_msg(PR_LOG_WARN, PR_LOG_MODULE, __VA_ARGS__)
#define PR_NOTICE(...) pr_log_msg(PR_LOG_NOTICE, PR_LOG_MODULE, __VA_ARGS__)
#define PR_INFO(...) pr_log_msg(PR_LOG_INFO, PR_LOG_MODULE, __VA_ARGS__)
#ifdef PR_DEBUG
#define PR_DBG(...) pr_log_msg(PR_LOG_DEBUG, PR_LOG_MODULE, __VA_ARGS__)
#else
#define PR_DBG(...) ((void)0)
#endif

#endif /* PR_LOG_H */
