/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `packetrecorder serve`, the daemon (pr_serve.c). Main thread; returns
 * an exit code (pr_cli.h) when it stops.
 */
#ifndef PR_SERVE_H
#define PR_SERVE_H

int pr_cmd_serve(int argc, char **argv);

#endif /* PR_SERVE_H */
