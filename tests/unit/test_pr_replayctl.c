// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of controlplane/replay's replay control: what a request may
 * not be, and the registry's answers, on a real (empty) store and without
 * starting a dataplane (that is tests/integration/test_priv_replay_control.py).
 * Each refused request must name its field and leave nothing in the
 * registry.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pr_config.h"
#include "pr_replayctl.h"
#include "pr_store.h"

struct fx {
	char dir[64];
	char db[128];
	struct pr_config cfg;
	struct pr_replayctl *rc;
	int64_t session; /* a session of the store, with no packets */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct pr_store_cfg scfg = { .create = true };
	struct pr_session_info si = { .snaplen = 65535 };
	struct pr_replayctl_cfg rcfg;
	struct pr_store *st;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/prreplayctl-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/store.db", f->dir);
	scfg.path = f->db;
	assert_int_equal(pr_store_open(&scfg, &st), 0);
	snprintf(si.name, sizeof(si.name), "empty");
	snprintf(si.source, sizeof(si.source), "test");
	snprintf(si.source_kind, sizeof(si.source_kind), "file");
	assert_int_equal(pr_store_session_begin(st, &si, &f->session), 0);
	assert_int_equal(pr_store_session_end(st, f->session, PR_SESSION_COMPLETED, "test"), 0);
	pr_store_close(st);
	pr_config_defaults(&f->cfg);
	rcfg = (struct pr_replayctl_cfg){ .cfg = &f->cfg, .db_path = f->db };
	assert_int_equal(pr_replayctl_create(&rcfg, &f->rc), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	pr_replayctl_destroy(f->rc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* start must fail with err and a message starting with field, and leave the registry empty. */
static void refused(struct fx *f, const struct pr_replayctl_req *req, int err, const char *field)
{
	struct pr_replayctl_info info;
	char msg[1024];

	assert_int_equal(pr_replayctl_start(f->rc, req, &info, msg, sizeof(msg)), err);
	if (strncmp(msg, field, strlen(field)))
		fail_msg("message \"%s\" does not start with \"%s\"", msg, field);
	assert_int_equal(pr_replayctl_get(f->rc, 1, &info), -ENOENT);
}

static void test_bad_requests(void **state)
{
	struct fx *f = *state;
	int64_t s = f->session;
	char longstr[1100];

	memset(longstr, 'n', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = 0;
	refused(f, &(struct pr_replayctl_req){ .interface = "lo" }, -EINVAL, "session_id: ");
	refused(f, &(struct pr_replayctl_req){ .session_id = -3, .interface = "lo" }, -EINVAL,
		"session_id: ");
	refused(f, &(struct pr_replayctl_req){ .session_id = s }, -EINVAL, "interface: required");
	refused(f, &(struct pr_replayctl_req){ .session_id = s, .interface = "" }, -EINVAL,
		"interface: required");
	refused(f, &(struct pr_replayctl_req){ .session_id = s, .interface = "nosuch0" }, -ENODEV,
		"interface: no such interface");
	refused(f, &(struct pr_replayctl_req){ .session_id = s, .interface = longstr }, -EINVAL,
		"interface: at most");
	refused(f, &(struct pr_replayctl_req){ .session_id = s, .interface = "lo", .speed = -1 },
		-EINVAL, "speed: ");
	refused(f, &(struct pr_replayctl_req){ .session_id = s, .interface = "lo", .speed = NAN },
		-EINVAL, "speed: ");
	refused(f,
		&(struct pr_replayctl_req){ .session_id = s, .interface = "lo", .speed = INFINITY },
		-EINVAL, "speed: ");
	refused(f,
		&(struct pr_replayctl_req){
			.session_id = s, .interface = "lo", .speed = 2, .pps = 10 },
		-EINVAL, "speed, pps: ");
	refused(f,
		&(struct pr_replayctl_req){
			.session_id = s, .interface = "lo", .filter = "port banana" },
		-EINVAL, "filter: ");
	refused(f,
		&(struct pr_replayctl_req){ .session_id = s, .interface = "lo", .filter = longstr },
		-EINVAL, "filter: at most");
	refused(f,
		&(struct pr_replayctl_req){
			.session_id = s, .interface = "lo", .backend = "netmap" },
		-EINVAL, "backend: ");
}

static void test_missing_session(void **state)
{
	struct fx *f = *state;

	refused(f,
		&(struct pr_replayctl_req){
			.session_id = f->session + 1000, .interface = "lo", .backend = "pcap" },
		-ENOENT, "session_id: ");
}

static void test_unreadable_store(void **state)
{
	struct fx *f = *state;
	struct pr_replayctl_cfg rcfg = { .cfg = &f->cfg, .db_path = "/nonexistent/x.db" };
	struct pr_replayctl_req req = { .session_id = 1, .interface = "lo", .backend = "pcap" };
	struct pr_replayctl_info info;
	struct pr_replayctl *rc;
	char msg[1024];

	assert_int_equal(pr_replayctl_create(&rcfg, &rc), 0);
	assert_int_equal(pr_replayctl_start(rc, &req, &info, msg, sizeof(msg)), -EIO);
	assert_true(msg[0] != 0);
	assert_int_equal(pr_replayctl_get(rc, 1, &info), -ENOENT);
	pr_replayctl_destroy(rc);
}

static void test_unknown_replay(void **state)
{
	struct fx *f = *state;
	struct pr_replayctl_info info;
	char msg[256];

	assert_int_equal(pr_replayctl_stop(f->rc, 42, &info, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "replay_id"));
	assert_int_equal(pr_replayctl_get(f->rc, 42, &info), -ENOENT);
}

static void test_shutdown_refuses(void **state)
{
	struct fx *f = *state;
	struct pr_replayctl_req req = { .session_id = f->session, .interface = "lo" };
	struct pr_replayctl_info info;
	char msg[256];

	pr_replayctl_shutdown(f->rc);
	assert_int_equal(pr_replayctl_start(f->rc, &req, &info, msg, sizeof(msg)), -ESHUTDOWN);
	assert_non_null(strstr(msg, "stopping"));
}

static void test_create(void **state)
{
	struct pr_replayctl_cfg rcfg = { .db_path = "x.db" };
	struct pr_replayctl *rc;

	(void)state;
	assert_int_equal(pr_replayctl_create(NULL, &rc), -EINVAL);
	assert_int_equal(pr_replayctl_create(&rcfg, &rc), -EINVAL);
	assert_null(rc);
	pr_replayctl_destroy(NULL);
	pr_replayctl_shutdown(NULL);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(pr_replayctl_state_name(PR_REPLAYCTL_STARTING), "starting");
	assert_string_equal(pr_replayctl_state_name(PR_REPLAYCTL_RUNNING), "running");
	assert_string_equal(pr_replayctl_state_name(PR_REPLAYCTL_STOPPED), "stopped");
	assert_string_equal(pr_replayctl_state_name(PR_REPLAYCTL_FAILED), "failed");
	assert_string_equal(pr_replayctl_state_name((enum pr_replayctl_state)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_refuses, setup, teardown),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
