// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder list-interfaces`: the interfaces libpcap can capture
 * from, with their addresses and state, as the query engine lists them
 * (pr_query_ifaces(), which the daemon's APIs answer from too). Main
 * thread only.
 */
#include <stdio.h>
#include <string.h>

#include "pr_cli.h"
#include "pr_json.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: packetrecorder list-interfaces [--json]\n"
		   "\n"
		   "List the interfaces packets can be captured from.\n"
		   "\n"
		   "      --json             a JSON array of {name, description, addresses, up,\n"
		   "                         running, loopback}\n"
		   "  -h, --help             this help\n");
}

void pr_cli_iface_json(struct pr_json *j, const struct pr_query_iface *d)
{
	pr_json_obj_begin(j);
	pr_json_kv_str(j, "name", d->name);
	pr_json_kv_str(j, "description", d->description);
	pr_json_key(j, "addresses");
	pr_json_arr_begin(j);
	for (size_t i = 0; i < d->n_addresses; i++)
		pr_json_str(j, d->addresses[i]);
	pr_json_arr_end(j);
	pr_json_kv_bool(j, "up", d->up);
	pr_json_kv_bool(j, "running", d->running);
	pr_json_kv_bool(j, "loopback", d->loopback);
	pr_json_obj_end(j);
}

static int iface_json_cb(void *ctx, const struct pr_query_iface *d)
{
	pr_cli_iface_json(ctx, d);
	return 0;
}

void pr_cli_ifaces_text_header(void)
{
	printf("%-20s %-8s %-40s %s\n", "NAME", "STATE", "ADDRESSES", "DESCRIPTION");
}

void pr_cli_iface_text(const struct pr_query_iface *d)
{
	char addrs[512] = "";
	size_t off = 0;

	for (size_t i = 0; i < d->n_addresses && off < sizeof(addrs) - 64; i++)
		off += (size_t)snprintf(addrs + off, sizeof(addrs) - off, "%s%s", off ? "," : "",
					d->addresses[i]);
	printf("%-20s %-8s %-40s %s\n", d->name, d->up ? (d->running ? "up" : "up,norun") : "down",
	       addrs[0] ? addrs : "-", d->description);
}

static int iface_text_cb(void *ctx, const struct pr_query_iface *d)
{
	(void)ctx;
	pr_cli_iface_text(d);
	return 0;
}

int pr_cmd_list_interfaces(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, PR_OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pr_query_err err;
	struct pr_json j;
	bool json = false;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == PR_OPT_JSON) {
			json = true;
		} else if (opt == 'h') {
			usage(stdout);
			return PR_EXIT_OK;
		} else {
			fprintf(stderr, "Try 'packetrecorder list-interfaces --help'.\n");
			return PR_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		pr_cli_error("list-interfaces: unexpected argument \"%s\"", argv[optind]);
		return PR_EXIT_USAGE;
	}
	if (json) {
		pr_json_init(&j, stdout);
		pr_json_arr_begin(&j);
		ret = pr_query_ifaces(iface_json_cb, &j, &err);
		if (!ret) {
			pr_json_arr_end(&j);
			pr_json_end(&j);
		}
	} else {
		pr_cli_ifaces_text_header();
		ret = pr_query_ifaces(iface_text_cb, NULL, &err);
	}
	if (ret < 0) {
		pr_cli_error("%s", err.msg);
		return PR_EXIT_FAIL;
	}
	return PR_EXIT_OK;
}
