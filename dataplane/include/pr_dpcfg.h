/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every setting of the dataplane, defined once: struct pr_dp_cfg holds
 * them (plain C, fixed sizes, no pointers, so it travels as a versioned
 * block in the shared region), and one table (pr_dpcfg.c) gives each its
 * key, type, bounds, default and meaning. The configuration file's
 * dataplane keys, packetrecorder-dataplane's command line (the key with
 * '-' for '_': --flow-max) and `packetrecorder config` all come from that
 * table; capture and replay fill the struct and put it in the region, and
 * the dataplane reads it from there. Any thread; no state.
 */
#ifndef PR_DPCFG_H
#define PR_DPCFG_H

#include <stddef.h>
#include <stdint.h>

#define PR_DPCFG_VERSION 1u

enum pr_dp_mode {
	PR_DP_MODE_CAPTURE = 1, /* workers fill the worker rings */
	PR_DP_MODE_TX = 2, /* the tx core sends what the tx ring holds */
};

struct pr_dp_cfg {
	uint32_t version; /* PR_DPCFG_VERSION */
	uint32_t size; /* sizeof(struct pr_dp_cfg) of the writer */
	uint32_t mode; /* enum pr_dp_mode */
	uint32_t workers; /* capture worker cores = the region's worker rings */
	char backend[16]; /* "pcap", "afxdp", "dpdk" */
	char interface[256]; /* live capture or transmit interface, "" for none */
	char read_path[4096]; /* capture file, "-" = stdin, "" for none */
	char filter[1024]; /* BPF expression, "" for none */
	char backend_args[1024]; /* afxdp: key=value,...; dpdk: EAL arguments */
	uint32_t snaplen;
	uint32_t promisc; /* 0 or 1 */
	uint64_t buffer_size; /* kernel capture buffer, bytes */
	uint64_t count; /* stop after this many packets, all workers together; 0: no limit */
	uint64_t duration_ns; /* stop after this long; 0: no limit */
	uint32_t flow_max;
	uint32_t flow_idle_timeout_s;
	uint32_t flow_active_timeout_s;
	uint32_t flow_tcp_closed_timeout_s;
	uint32_t stats_interval_ms; /* how often each worker sends its counters */
	uint32_t reserved;
	uint64_t ring_bytes; /* each worker's record ring (a power of two), when a region is made */
	uint32_t ipfrag_max_datagrams; /* IP reassemblies in progress per worker; 0: off */
	uint32_t ipfrag_timeout_s; /* an incomplete datagram is given up after this */
	uint32_t l7_depth_bytes; /* parser window per flow direction; 0: each protocol's own */
	uint32_t l7_buf_bytes; /* largest message collected across TCP segments */
	uint32_t l7_buf_count; /* those buffers per worker */
	uint32_t tcp_reasm_held_bytes; /* out-of-order bytes one direction may hold; 0: off */
	uint32_t tcp_reasm_chunks; /* the held bytes' pool per worker, in 2 KiB chunks */
	uint32_t reserved2;
};

enum pr_dpcfg_type {
	PR_DPCFG_U32,
	PR_DPCFG_U64,
	PR_DPCFG_SIZE, /* a u64 with k/m/g suffixes */
	PR_DPCFG_STR, /* a NUL-terminated char array of `size` bytes */
	PR_DPCFG_BOOL, /* a u32: 0/1, no/yes, off/on, false/true */
	PR_DPCFG_SECONDS, /* decimal seconds, kept as u64 nanoseconds */
};

/* pr_dpcfg_opt.flags */
#define PR_DPCFG_F_CONFIG 0x1u /* also a key of the configuration file */
#define PR_DPCFG_F_POW2 0x2u /* a number that must be a power of two */

struct pr_dpcfg_opt {
	const char *key; /* config key; packetrecorder-dataplane's option is "--" + key, '_' -> '-' */
	enum pr_dpcfg_type type;
	size_t offset;
	size_t size; /* bytes of the field */
	uint64_t min, max; /* numbers; for SECONDS in whole seconds */
	const char *def; /* default, as written in a file */
	uint32_t flags;
	const char *doc;
};

/* The table, in the order `config` prints it; *n gets its length. */
const struct pr_dpcfg_opt *pr_dpcfg_opts(size_t *n);
/* The entry for key, or NULL. */
const struct pr_dpcfg_opt *pr_dpcfg_find(const char *key);
/* Fill cfg with every default; mode capture, one worker. */
void pr_dpcfg_defaults(struct pr_dp_cfg *cfg);
/*
 * Set one setting from its text form. Returns 0, -ENOENT (no such key)
 * or -EINVAL; on failure err says why, naming the key ("snaplen: bad value
 * \"0\" (a number from 1 to 262144)").
 */
int pr_dpcfg_set(struct pr_dp_cfg *cfg, const char *key, const char *value, char *err,
		 size_t errlen);
/* The value of o in cfg as text (as a file would hold it). */
void pr_dpcfg_format(const struct pr_dp_cfg *cfg, const struct pr_dpcfg_opt *o, char *buf,
		     size_t len);
/*
 * Check a whole struct (from the region, or filled by a front end): its
 * version and size, every number within its bounds, every string
 * terminated, mode and the source consistent. Returns 0 or -EINVAL with
 * err naming the first thing wrong.
 */
int pr_dpcfg_check(const struct pr_dp_cfg *cfg, char *err, size_t errlen);

#endif /* PR_DPCFG_H */
