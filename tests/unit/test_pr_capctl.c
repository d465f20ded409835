// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests of controlplane/capctl: what a request may not be, and the
 * registry's answers, without starting a dataplane (that is
 * tests/integration/test_priv_capture_control.py). Each refused request
 * must name its field, leave nothing in the registry and create no store.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pr_capctl.h"
#include "pr_config.h"

struct fx {
	char dir[64];
	char db[128];
	struct pr_config cfg;
	struct pr_capctl *cc;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct pr_capctl_cfg cc;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/prcapctl-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/store.db", f->dir);
	pr_config_defaults(&f->cfg);
	cc = (struct pr_capctl_cfg){ .cfg = &f->cfg, .db_path = f->db, .db_key = "k" };
	assert_int_equal(pr_capctl_create(&cc, &f->cc), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pr_capctl_destroy(f->cc);
	/* No request here may have created the store. */
	assert_int_not_equal(access(f->db, F_OK), 0);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* start must fail with err, a message containing word, and leave the registry empty. */
static void refused(struct fx *f, const struct pr_capctl_req *req, int err, const char *word)
{
	struct pr_capctl_info info, *all;
	char msg[1024];
	size_t n;

	assert_int_equal(pr_capctl_start(f->cc, req, &info, msg, sizeof(msg)), err);
	if (!strstr(msg, word))
		fail_msg("message \"%s\" does not name \"%s\"", msg, word);
	assert_int_equal(pr_capctl_list(f->cc, &all, &n), 0);
	assert_int_equal(n, 0);
	free(all);
}

static void test_bad_requests(void **state)
{
	struct fx *f = *state;
	char longname[300];

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	refused(f, &(struct pr_capctl_req){ .interface = NULL }, -EINVAL, "interface: required");
	refused(f, &(struct pr_capctl_req){ .interface = "" }, -EINVAL, "interface: required");
	refused(f, &(struct pr_capctl_req){ .interface = "nosuch0" }, -ENODEV, "interface");
	refused(f, &(struct pr_capctl_req){ .interface = longname }, -EINVAL, "interface");
	refused(f, &(struct pr_capctl_req){ .interface = "lo", .name = longname }, -EINVAL, "name");
	refused(f, &(struct pr_capctl_req){ .interface = "lo", .filter = "port banana" }, -EINVAL,
		"filter");
	refused(f, &(struct pr_capctl_req){ .interface = "lo", .backend = "netmap" }, -EINVAL,
		"backend");
	refused(f, &(struct pr_capctl_req){ .interface = "lo", .snaplen = 1u << 30 }, -EINVAL,
		"snaplen");
	refused(f, &(struct pr_capctl_req){ .interface = "lo", .duration_s = UINT64_MAX / 2 },
		-EINVAL, "duration_s");
}

static void test_unknown_capture(void **state)
{
	struct fx *f = *state;
	struct pr_capctl_info info;
	char msg[256];

	assert_int_equal(pr_capctl_stop(f->cc, 42, &info, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "capture_id"));
	assert_int_equal(pr_capctl_get(f->cc, 42, &info), -ENOENT);
}

static void test_shutdown_refuses(void **state)
{
	struct fx *f = *state;
	struct pr_capctl_req req = { .interface = "lo", .backend = "pcap" };
	struct pr_capctl_info info;
	char msg[256];

	pr_capctl_shutdown(f->cc);
	assert_int_equal(pr_capctl_start(f->cc, &req, &info, msg, sizeof(msg)), -ESHUTDOWN);
	assert_non_null(strstr(msg, "stopping"));
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(pr_capctl_state_name(PR_CAPCTL_STARTING), "starting");
	assert_string_equal(pr_capctl_state_name(PR_CAPCTL_RUNNING), "running");
	assert_string_equal(pr_capctl_state_name(PR_CAPCTL_STOPPING), "stopping");
	assert_string_equal(pr_capctl_state_name(PR_CAPCTL_STOPPED), "stopped");
	assert_string_equal(pr_capctl_state_name(PR_CAPCTL_FAILED), "failed");
	assert_string_equal(pr_capctl_state_name((enum pr_capctl_state)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_refuses, setup, teardown),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
