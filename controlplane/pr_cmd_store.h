/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store lifecycle commands (pr_cmd_store.c): store-info, verify,
 * delete-session, pin, unpin, retention and rekey. Each takes argc/argv
 * with argv[0] the command name, and returns an exit code (pr_cli.h).
 * Main thread only.
 */
#ifndef PR_CMD_STORE_H
#define PR_CMD_STORE_H

int pr_cmd_store_info(int argc, char **argv);
int pr_cmd_verify(int argc, char **argv);
int pr_cmd_delete_session(int argc, char **argv);
int pr_cmd_pin(int argc, char **argv);
int pr_cmd_unpin(int argc, char **argv);
int pr_cmd_retention(int argc, char **argv);
int pr_cmd_rekey(int argc, char **argv);

#endif /* PR_CMD_STORE_H */
