/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `packetrecorder verify-export`: check an exported file against its
 * signed manifest. Main thread.
 */
#ifndef PR_CMD_VERIFY_EXPORT_H
#define PR_CMD_VERIFY_EXPORT_H

/* Returns an exit code: 0 everything matches, 1 a mismatch, 3 usage. */
int pr_cmd_verify_export(int argc, char **argv);

#endif /* PR_CMD_VERIFY_EXPORT_H */
