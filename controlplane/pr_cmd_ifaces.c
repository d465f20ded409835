// SPDX-License-Identifier: Apache-2.0
/*
 * `packetrecorder list-interfaces`: the interfaces libpcap can capture
 * from, with their addresses and state. Main thread only.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
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

static const char *addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	if (!sa)
		return NULL;
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				 buf, (socklen_t)len);
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6,
				 &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
				 (socklen_t)len);
	return NULL;
}

int pr_cmd_list_interfaces(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, PR_OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_if_t *all = NULL;
	bool json = false;
	int opt;

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
	if (pcap_findalldevs(&all, errbuf) < 0) {
		pr_cli_error("list interfaces: %s", errbuf);
		return PR_EXIT_FAIL;
	}
	if (json) {
		struct pr_json j;

		pr_json_init(&j, stdout);
		pr_json_arr_begin(&j);
		for (pcap_if_t *d = all; d; d = d->next) {
			pr_json_obj_begin(&j);
			pr_json_kv_str(&j, "name", d->name);
			pr_json_kv_str(&j, "description", d->description ? d->description : "");
			pr_json_key(&j, "addresses");
			pr_json_arr_begin(&j);
			for (pcap_addr_t *a = d->addresses; a; a = a->next) {
				char buf[INET6_ADDRSTRLEN];

				if (addr_text(a->addr, buf, sizeof(buf)))
					pr_json_str(&j, buf);
			}
			pr_json_arr_end(&j);
			pr_json_kv_bool(&j, "up", d->flags & PCAP_IF_UP);
			pr_json_kv_bool(&j, "running", d->flags & PCAP_IF_RUNNING);
			pr_json_kv_bool(&j, "loopback", d->flags & PCAP_IF_LOOPBACK);
			pr_json_obj_end(&j);
		}
		pr_json_arr_end(&j);
		pr_json_end(&j);
	} else {
		printf("%-20s %-8s %-40s %s\n", "NAME", "STATE", "ADDRESSES", "DESCRIPTION");
		for (pcap_if_t *d = all; d; d = d->next) {
			char addrs[512] = "";
			size_t off = 0;

			for (pcap_addr_t *a = d->addresses; a && off < sizeof(addrs) - 64;
			     a = a->next) {
				char buf[INET6_ADDRSTRLEN];

				if (addr_text(a->addr, buf, sizeof(buf)))
					off += (size_t)snprintf(addrs + off, sizeof(addrs) - off,
								"%s%s", off ? "," : "", buf);
			}
			printf("%-20s %-8s %-40s %s\n", d->name,
			       (d->flags & PCAP_IF_UP) ?
				       ((d->flags & PCAP_IF_RUNNING) ? "up" : "up,norun") :
				       "down",
			       addrs[0] ? addrs : "-", d->description ? d->description : "");
		}
	}
	pcap_freealldevs(all);
	return PR_EXIT_OK;
}
