// SPDX-License-Identifier: Apache-2.0
/*
 * The DPDK backend (see pr_rx_dpdk.h). Process-wide state sits under one
 * mutex: the EAL, initialised once from the first open's backend_args,
 * and per port its configuration. The first open of a port sets it up for
 * every worker: nb_queues rx queues, one mbuf pool each (workers share no
 * pool), as many tx queues as the device allows, and a symmetric RSS key
 * where the device hashes; the last close stops and closes it. An
 * instance belongs to the worker that polls its queue. rx_burst hands out
 * pointers into the mbufs it received; they stay valid until
 * release_burst frees them in bulk. The polling thread registers with the
 * EAL on its first burst, which gives it an lcore id and with that a
 * mempool cache: the project's own threads are the workers, and the EAL
 * is started with one lcore that launches nothing.
 *
 * A net_pcap queue that reads a file (rx_pcap=, or -r FILE, for which
 * this backend creates the vdev) is an offline source; how its end is
 * told from a pause is explained at offline_idle().
 */
#define PR_LOG_MODULE "rx.dpdk"

#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>

#include "pr_compiler.h"
#include "pr_dpdk_args.h"
#include "pr_log.h"
#include "pr_rx_dpdk.h"

#define LINKTYPE_ETHERNET 1
/* Descriptors per queue unless the device prefers others. */
#define DEFAULT_RXD 1024
#define DEFAULT_TXD 1024
/* The mempool cache per lcore; the pool is sized so that it never starves. */
#define POOL_CACHE 256
/* The largest frame a replay sends on a device without multi-segment tx (jumbo). */
#define TX_FRAME_MAX 9728u

/* tx_burst gives up on packets the device has not taken for this long. */
#define TX_STALL_NS 10000000ull
/* An offline queue whose error counter keeps rising this often has a damaged file. */
#define FILE_ERROR_POLLS 3
/* The vdev made for `-r FILE`. The name must start with the driver's. */
#define READ_VDEV "net_pcap_pr_read"

struct dpdk_port {
	int users; /* open instances; 0 = not configured */
	uint16_t nb_rxq, nb_txq;
	uint16_t nb_rxd, nb_txd;
	uint16_t nb_pools; /* entries of the per-queue arrays */
	uint32_t mbufs; /* per pool */
	struct rte_mempool **pools; /* one per rx queue (or tx queue when there is no rx) */
	uint8_t *rx_owned, *tx_owned; /* per queue: an instance polls it */
	uint8_t *rx_file; /* per rx queue: net_pcap reads a file into it */
	bool rss;
	bool own_vdev; /* READ_VDEV: removed at the last close */
	bool tx_multiseg;
	int ts_off;
	uint64_t ts_flag;
	uint32_t ts_mult; /* ns per dynfield unit; 0: the field is not a time we know */
	uint8_t tsresol;
	char name[RTE_ETH_NAME_MAX_LEN];
	char driver[32];
	char layout[80]; /* how packets reach the queues, for messages and the iface */
};

struct pr_rx {
	uint16_t port, queue;
	uint16_t txq;
	bool has_tx;
	bool offline;
	bool tx_only;
	bool tx_multiseg;
	bool thread_tried; /* the polling thread asked the EAL for an lcore */
	bool registered; /* ... and got one through rte_thread_register */
	pthread_t reg_thread;
	uint32_t snaplen;
	uint32_t ts_mult;
	int ts_off;
	uint64_t ts_flag;
	struct rte_mempool *pool; /* for tx: the queue's own pool */
	uint8_t *staging; /* PR_BURST * snaplen: packets spread over segments */
	uint16_t n_held;
	/* offline_idle() state */
	bool idle_seen;
	uint32_t idle_err_polls;
	uint64_t idle_ierrors, idle_nombuf;
	struct pr_rx_iface iface;
	struct rte_mbuf *mbufs[PR_BURST];
	char err[512];
};

static pthread_mutex_t dpdk_lock = PTHREAD_MUTEX_INITIALIZER;
static int eal_state; /* 0: not tried; 1: up; -errno: failed for good */
static char eal_err[512];
static char *eal_args_used;
static struct dpdk_port ports[RTE_MAX_ETHPORTS];

/* ---------------------------------------------------------------- EAL */

/*
 * DPDK logs through a stream; Linux's default writes to stdout, which
 * carries `capture --json`. Route every message to our logger on stderr,
 * one level lower (STYLE.md section 6): our own error says what failed.
 */
static ssize_t eal_log_write(void *cookie, const char *buf, size_t size)
{
	int lvl = rte_log_cur_msg_loglevel();
	int pr = lvl <= (int)RTE_LOG_ERR     ? PR_LOG_WARN :
		 lvl <= (int)RTE_LOG_WARNING ? PR_LOG_NOTICE :
		 lvl <= (int)RTE_LOG_NOTICE  ? PR_LOG_INFO :
					       PR_LOG_DEBUG;
	size_t n = size;

	(void)cookie;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n)
		pr_log_msg(pr, "dpdk", "%.*s", (int)n, buf);
	return (ssize_t)size;
}

static bool hugepages_free(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long n = 0;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %lu", &n) == 1)
			break;
	fclose(f);
	return n > 0;
}

/* "0000:01:00.0" or "01:00.0": a PCI address, as DPDK names PCI ports. */
static bool is_pci_addr(const char *s)
{
	unsigned dom, bus, dev, fn;
	char end;

	if (!s)
		return false;
	return sscanf(s, "%4x:%2x:%2x.%1u%c", &dom, &bus, &dev, &fn, &end) == 4 ||
	       sscanf(s, "%2x:%2x.%1u%c", &bus, &dev, &fn, &end) == 3;
}

/* "--lcores=0@(0,1,...)": lcore 0 floats over the CPUs we may run on. */
static void lcores_arg(char *buf, size_t len)
{
	cpu_set_t set;
	size_t o;
	bool first = true;

	o = (size_t)snprintf(buf, len, "--lcores=0@(");
	if (sched_getaffinity(0, sizeof(set), &set)) {
		snprintf(buf, len, "--lcores=0");
		return;
	}
	for (int c = 0; c < CPU_SETSIZE && o + 8 < len; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%d", first ? "" : ",", c);
		first = false;
	}
	snprintf(buf + o, len - o, ")");
}

/*
 * Start the EAL from the --dpdk-args words, adding only what the user left
 * out: one lcore floating over our CPUs (so rte_eal_init neither pins the
 * calling thread nor starts EAL worker threads: our workers are our own
 * threads); --in-memory and --no-telemetry (no runtime files or sockets,
 * so several dataplanes and dpdk-testpmd can run side by side); the PCI
 * bus limited to the port we were asked for (-a ADDR), or not scanned at
 * all when that port is a vdev, so that we never take over NICs bound to
 * vfio-pci for someone else; and a log level that follows ours. port is
 * cfg->interface. Called once, under dpdk_lock.
 */
static int eal_start(const char *args, const char *port, char *err, size_t errlen)
{
	static const char *const lcore_opts[] = { "-l", "-c", "--lcores", NULL };
	static const char *const mem_opts[] = { "--file-prefix", "--in-memory", "--no-shconf",
						"--proc-type", NULL };
	static const char *const tele_opts[] = { "--telemetry", "--no-telemetry", NULL };
	static const char *const pci_opts[] = { "-a", "--allow", "-b", "--block", "--no-pci", NULL };
	static const char *const huge_opts[] = { "--no-huge", NULL };
	static char prog[] = "packetrecorder-dataplane", in_memory[] = "--in-memory",
		    no_shconf[] = "--no-shconf", no_tele[] = "--no-telemetry",
		    no_pci[] = "--no-pci", allow[] = "-a";
	static char words_buf[4096], lcores[512], loglevel[32], pci[64];
	static char *argv[PR_DPDK_ARGS_MAX + 8];
	static cookie_io_functions_t log_fns = { .write = eal_log_write };
	char *words[PR_DPDK_ARGS_MAX], why[256];
	FILE *log;
	int n, argc = 0, ret, e, saved_stdout;

	n = pr_dpdk_args_split(args, words_buf, sizeof(words_buf), words, PR_DPDK_ARGS_MAX, why,
			       sizeof(why));
	if (n < 0) {
		snprintf(err, errlen, "--dpdk-args: %s", why);
		return n;
	}
	argv[argc++] = prog;
	if (!pr_dpdk_args_has(words, n, lcore_opts)) {
		lcores_arg(lcores, sizeof(lcores));
		argv[argc++] = lcores;
	}
	/* --no-huge implies legacy memory, which --in-memory refuses: no shared config does it. */
	if (!pr_dpdk_args_has(words, n, mem_opts))
		argv[argc++] = pr_dpdk_args_has(words, n, huge_opts) ? no_shconf : in_memory;
	if (!pr_dpdk_args_has(words, n, tele_opts))
		argv[argc++] = no_tele;
	if (!pr_dpdk_args_has(words, n, pci_opts) && port && port[0]) {
		if (is_pci_addr(port)) {
			snprintf(pci, sizeof(pci), "%s", port);
			argv[argc++] = allow;
			argv[argc++] = pci;
		} else {
			argv[argc++] = no_pci;
		}
	}
	snprintf(loglevel, sizeof(loglevel), "--log-level=%s",
		 pr_log_get_level() >= PR_LOG_DEBUG ? "debug" :
		 pr_log_get_level() >= PR_LOG_INFO  ? "info" :
						      "notice");
	argv[argc++] = loglevel;
	for (int i = 0; i < n; i++)
		argv[argc++] = words[i];
	argv[argc] = NULL;

	log = fopencookie(NULL, "w", log_fns);
	if (log) {
		setvbuf(log, NULL, _IOLBF, 0);
		rte_openlog_stream(log);
	}
	/*
	 * The EAL prints its usage (after a bad argument) and a few notes with
	 * printf; our stdout may be the control plane's, which carries JSON.
	 * Its messages belong on stderr for as long as it starts up.
	 */
	fflush(stdout);
	saved_stdout = dup(STDOUT_FILENO);
	if (saved_stdout >= 0)
		dup2(STDERR_FILENO, STDOUT_FILENO);
	ret = rte_eal_init(argc, argv);
	e = rte_errno;
	if (saved_stdout >= 0) {
		fflush(stdout);
		dup2(saved_stdout, STDOUT_FILENO);
		close(saved_stdout);
	}
	if (ret < 0) {
		const char *hint = "";

		if (!e)
			e = EINVAL;
		if (!pr_dpdk_args_has(words, n, huge_opts) && !hugepages_free())
			hint = " (no free hugepages: mount hugetlbfs and reserve pages, see "
			       "docs/BACKENDS.md, or add --no-huge to --dpdk-args)";
		else if (e == EINVAL)
			hint = " (an argument in --dpdk-args is not valid for the EAL; the "
			       "messages above say which)";
		else if (e == EALREADY)
			hint = " (it was started before in this process)";
		snprintf(err, errlen, "DPDK EAL initialisation failed: %s%s", rte_strerror(e),
			 hint);
		return -e;
	}
	/* getopt moved words that are no options to the end: they are not ours to take. */
	if (ret + 1 < argc) {
		snprintf(err, errlen,
			 "--dpdk-args: \"%s\" is not an EAL option (the dataplane takes no "
			 "application arguments there)",
			 argv[ret + 1]);
		rte_eal_cleanup();
		return -EINVAL;
	}
	PR_INFO("EAL up: main lcore %u, %u lcore%s, %s", rte_get_main_lcore(), rte_lcore_count(),
		rte_lcore_count() == 1 ? "" : "s",
		rte_eal_has_hugepages() ? "hugepages" : "no hugepages");
	return 0;
}

/* Start the EAL once per process; every later open must bring the same args. */
static int eal_ensure(const char *args, const char *port, char *err, size_t errlen)
{
	if (!args)
		args = "";
	if (!eal_state) {
		eal_state = eal_start(args, port, eal_err, sizeof(eal_err));
		if (!eal_state)
			eal_state = 1;
		eal_args_used = strdup(args);
	} else if (eal_args_used && strcmp(eal_args_used, args)) {
		snprintf(err, errlen,
			 "the DPDK EAL of this process was started with other arguments (\"%s\"); "
			 "every instance must bring the same --dpdk-args",
			 eal_args_used);
		return -EINVAL;
	}
	if (eal_state < 0) {
		snprintf(err, errlen, "%s", eal_err);
		return eal_state;
	}
	return 0;
}

/*
 * Give the calling thread an lcore id unless it has one (the thread that
 * started the EAL is lcore 0): with it, mbuf allocation and freeing go
 * through a per-thread cache instead of the pool's shared ring.
 */
static void thread_attach(struct pr_rx *rx)
{
	rx->thread_tried = true;
	if (rte_lcore_id() != LCORE_ID_ANY)
		return;
	if (rte_thread_register()) {
		PR_WARN("port %u queue %u: no lcore id for this thread (%s): mbufs go without a "
			"cache",
			rx->port, rx->queue, rte_strerror(rte_errno));
		return;
	}
	rx->registered = true;
	rx->reg_thread = pthread_self();
}

/* -------------------------------------------------------------- ports */

/* The vdev for `-r FILE`: net_pcap reading the file into one rx queue. */
static int read_vdev(const char *path, char *err, size_t errlen)
{
	char args[PATH_MAX + 16];
	uint16_t pid;
	int ret;

	if (!strcmp(path, "-")) {
		snprintf(err, errlen,
			 "the dpdk backend cannot read standard input (net_pcap reads files); "
			 "use --backend pcap");
		return -EINVAL;
	}
	/* The devargs syntax splits at these; a path holding one would be cut. */
	if (strpbrk(path, ",=[]")) {
		snprintf(err, errlen,
			 "%s: net_pcap cannot take a path with ',', '=', '[' or ']' in it; link "
			 "the file under another name",
			 path);
		return -EINVAL;
	}
	if (access(path, R_OK)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (!rte_eth_dev_get_port_by_name(READ_VDEV, &pid))
		return 0;
	snprintf(args, sizeof(args), "rx_pcap=%s", path);
	ret = rte_vdev_init(READ_VDEV, args);
	if (ret) {
		snprintf(err, errlen, "%s: net_pcap could not open it: %s", path,
			 strerror(ret < 0 ? -ret : EIO));
		return ret < 0 ? ret : -EIO;
	}
	return 1;
}

static int port_find(const struct pr_rx_cfg *cfg, uint16_t *pid, bool *own_vdev, char *err,
		     size_t errlen)
{
	const char *name = cfg->interface;
	char names[256] = "";
	uint16_t p;
	int ret;

	*own_vdev = false;
	if (cfg->read_path) {
		ret = read_vdev(cfg->read_path, err, errlen);
		if (ret < 0)
			return ret;
		*own_vdev = ret == 1;
		name = READ_VDEV;
	}
	if (!name || !name[0]) {
		RTE_ETH_FOREACH_DEV(p) {
			*pid = p;
			return 0;
		}
		snprintf(
			err, errlen,
			"no DPDK port: create one with --dpdk-args \"--vdev net_pcap0,rx_pcap=FILE\" "
			"(or net_af_xdp0,iface=IF ...), or allow a NIC bound to vfio-pci with -a "
			"PCI_ADDRESS");
		return -ENODEV;
	}
	if (!rte_eth_dev_get_port_by_name(name, pid))
		return 0;
	RTE_ETH_FOREACH_DEV(p) {
		char n[RTE_ETH_NAME_MAX_LEN];

		if (!rte_eth_dev_get_name_by_port(p, n))
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 names[0] ? ", " : "", n);
	}
	snprintf(err, errlen,
		 "DPDK port \"%s\" not found (%s%s); a port is a vdev given with --dpdk-args "
		 "\"--vdev %s,...\" or a PCI address allowed with -a",
		 name, names[0] ? "ports: " : "no ports", names, name);
	return -ENODEV;
}

/* How to get more queues out of a driver that has too few. */
static const char *queue_hint(const char *driver)
{
	if (!strcmp(driver, "net_pcap"))
		return "give one rx_pcap= or rx_iface= per queue";
	if (!strcmp(driver, "net_af_xdp"))
		return "add queue_count=N (and start_queue=) to the vdev";
	if (!strcmp(driver, "net_af_packet"))
		return "add qpairs=N to the vdev";
	if (!strcmp(driver, "net_tap"))
		return "create the tap with queues: the vdev takes as many as it is configured with";
	if (!strcmp(driver, "net_ring"))
		return "give the ring vdev more queues (nodeaction=NAME:0:CREATE per queue)";
	return "start fewer workers";
}

struct pcap_scan {
	struct dpdk_port *ps;
	uint16_t rxq;
	int error;
	char *err;
	size_t errlen;
};

/*
 * One devargs pair of a net_pcap port, in order: every rx_* key adds an rx
 * queue (that is how the driver numbers them); rx_pcap ones read files,
 * which must hold Ethernet frames, the only link type a DPDK port has.
 */
static int pcap_scan_pair(const char *key, const char *value, void *opaque)
{
	struct pcap_scan *sc = opaque;
	char ebuf[PCAP_ERRBUF_SIZE];
	pcap_t *p;

	if (strcmp(key, "rx_pcap") && strcmp(key, "rx_iface") && strcmp(key, "rx_iface_in") &&
	    strcmp(key, "iface"))
		return 0;
	if (!strcmp(key, "rx_pcap") && sc->rxq < sc->ps->nb_rxq) {
		p = pcap_open_offline(value, ebuf);
		if (p) {
			int dlt = pcap_datalink(p), snap = pcap_snapshot(p);
			const char *dname = pcap_datalink_val_to_name(dlt);

			pcap_close(p);
			if (dlt != DLT_EN10MB) {
				snprintf(sc->err, sc->errlen,
					 "%s: link type %s (DLT %d): net_pcap hands every packet "
					 "on as Ethernet; read this file with --backend pcap",
					 value, dname ? dname : "?", dlt);
				sc->error = -EPROTONOSUPPORT;
				return -1;
			}
			if (snap < 65535)
				PR_WARN("%s: snaplen %d: net_pcap keeps no original length, so "
					"packets cut at capture are stored with their captured "
					"length as wire length (--backend pcap keeps both)",
					value, snap);
		}
		sc->ps->rx_file[sc->rxq] = 1;
	}
	sc->rxq++;
	return 0;
}

/* Which rx queues of a net_pcap port read files (and end). */
static int pcap_scan_files(uint16_t pid, struct dpdk_port *ps, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	const struct rte_devargs *da;
	struct rte_kvargs *kv;
	struct pcap_scan sc = { .ps = ps, .err = err, .errlen = errlen };

	if (rte_eth_dev_info_get(pid, &info) || !info.device)
		return 0;
	da = rte_dev_devargs(info.device);
	if (!da || !da->args || !da->args[0])
		return 0;
	kv = rte_kvargs_parse(da->args, NULL);
	if (!kv)
		return 0;
	/* infinite_rx=1 replays the file for ever: a live source, never an end. */
	if (rte_kvargs_count(kv, "infinite_rx") == 0)
		rte_kvargs_process(kv, NULL, pcap_scan_pair, &sc);
	rte_kvargs_free(kv);
	return sc.error;
}

static void port_teardown(uint16_t pid, struct dpdk_port *ps)
{
	int ret;

	ret = rte_eth_dev_stop(pid);
	if (ret)
		PR_WARN("port %s: stop: %s", ps->name, strerror(-ret));
	/* Closing matters: net_af_xdp detaches its XDP program, net_pcap flushes tx files. */
	ret = rte_eth_dev_close(pid);
	if (ret)
		PR_WARN("port %s: close: %s", ps->name, strerror(-ret));
	if (ps->own_vdev)
		rte_vdev_uninit(ps->name);
	for (uint16_t q = 0; ps->pools && q < ps->nb_pools; q++)
		rte_mempool_free(ps->pools[q]);
	free(ps->pools);
	free(ps->rx_owned);
	free(ps->tx_owned);
	free(ps->rx_file);
	memset(ps, 0, sizeof(*ps));
}

/*
 * Configure and start a port for nq workers. RSS spreads flows over the
 * queues where the device hashes, with a key of repeated 0x6d5a: with it,
 * the Toeplitz hash of (a, b) equals that of (b, a), so both directions
 * of a conversation reach one worker and its flow table. Where the
 * device cannot hash, each queue gets what the driver puts there (one
 * file per net_pcap queue, one ring per net_ring queue, the kernel's
 * symmetric fanout hash for net_af_packet), and the layout says so.
 */
static int port_setup(uint16_t pid, struct dpdk_port *ps, const struct pr_rx_cfg *cfg, bool own,
		      char *err, size_t errlen)
{
	static uint8_t rss_key[128];
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	uint16_t nq = cfg->nb_queues ? cfg->nb_queues : 1, npools;
	uint32_t elt = (uint32_t)(sizeof(struct rte_mbuf) + RTE_MBUF_DEFAULT_BUF_SIZE);
	uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE;
	uint32_t min_mbufs;
	int socket, ret;

	memset(ps, 0, sizeof(*ps));
	ps->own_vdev = own;
	rte_eth_dev_get_name_by_port(pid, ps->name);
	ret = rte_eth_dev_info_get(pid, &info);
	if (ret) {
		snprintf(err, errlen, "port %s: device info: %s", ps->name, strerror(-ret));
		goto fail;
	}
	snprintf(ps->driver, sizeof(ps->driver), "%s", info.driver_name ? info.driver_name : "?");
	ps->nb_rxq = cfg->tx_only ? (uint16_t)PR_MIN(nq, info.max_rx_queues) : nq;
	ps->nb_txq = (uint16_t)PR_MIN(nq, info.max_tx_queues);
	if (!cfg->tx_only && nq > info.max_rx_queues) {
		snprintf(err, errlen,
			 "port %s (%s) has %u rx queue%s, %u worker%s need one each: %s", ps->name,
			 ps->driver, info.max_rx_queues, info.max_rx_queues == 1 ? "" : "s", nq,
			 nq == 1 ? "" : "s", queue_hint(ps->driver));
		ret = -EINVAL;
		goto fail;
	}
	if (cfg->tx_only && !ps->nb_txq) {
		snprintf(err, errlen, "port %s (%s) has no tx queue to send on", ps->name,
			 ps->driver);
		ret = -ENOTSUP;
		goto fail;
	}
	memset(&conf, 0, sizeof(conf));
	if (ps->nb_rxq > 1 && info.flow_type_rss_offloads) {
		uint8_t klen = info.hash_key_size ? info.hash_key_size : 40;

		if (klen > sizeof(rss_key))
			klen = sizeof(rss_key);
		for (uint8_t i = 0; i < klen; i++)
			rss_key[i] = i & 1 ? 0x5a : 0x6d;
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = klen;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_SCTP) &
			info.flow_type_rss_offloads;
		ps->rss = conf.rx_adv_conf.rss_conf.rss_hf != 0;
		if (!ps->rss)
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
		ps->tx_multiseg = true;
	} else if (cfg->tx_only) {
		/*
		 * A device that sends only single-segment mbufs (net_pcap,
		 * several NICs) needs a jumbo frame in one mbuf: a replay's
		 * pools get room for TX_FRAME_MAX bytes each, or every frame
		 * larger than 2 KiB would be refused.
		 */
		data_room = RTE_PKTMBUF_HEADROOM + TX_FRAME_MAX;
		elt = (uint32_t)(sizeof(struct rte_mbuf) + data_room);
	}
	ret = rte_eth_dev_configure(pid, ps->nb_rxq, ps->nb_txq, &conf);
	if (ret) {
		snprintf(err, errlen, "port %s (%s): configure %u rx and %u tx queues: %s",
			 ps->name, ps->driver, ps->nb_rxq, ps->nb_txq, strerror(-ret));
		goto fail;
	}
	ps->nb_rxd = info.default_rxportconf.ring_size ? info.default_rxportconf.ring_size :
							 DEFAULT_RXD;
	ps->nb_txd = info.default_txportconf.ring_size ? info.default_txportconf.ring_size :
							 DEFAULT_TXD;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &ps->nb_rxd, &ps->nb_txd);
	if (ret) {
		snprintf(err, errlen, "port %s: descriptor counts: %s", ps->name, strerror(-ret));
		goto fail;
	}
	/*
	 * The pool holds buffer_size bytes of mbufs (the "capture buffer" of
	 * every backend), and never fewer than the rx and tx rings plus the
	 * cache and a burst in flight can hold at once.
	 */
	min_mbufs = ps->nb_rxd + ps->nb_txd + 2 * POOL_CACHE + 4 * PR_BURST;
	ps->mbufs = PR_MAX(cfg->buffer_size / elt, min_mbufs);
	socket = rte_eth_dev_socket_id(pid);
	if (socket < 0)
		socket = (int)SOCKET_ID_ANY;
	/* Per queue index a worker may have: every one gets a pool, for rx or tx. */
	npools = PR_MAX(nq, PR_MAX(ps->nb_rxq, ps->nb_txq));
	ps->nb_pools = npools;
	ps->pools = calloc(npools, sizeof(*ps->pools));
	ps->rx_owned = calloc(npools, 1);
	ps->tx_owned = calloc(npools, 1);
	ps->rx_file = calloc(npools, 1);
	if (!ps->pools || !ps->rx_owned || !ps->tx_owned || !ps->rx_file) {
		snprintf(err, errlen, "port %s: %s", ps->name, strerror(ENOMEM));
		ret = -ENOMEM;
		goto fail;
	}
	for (uint16_t q = 0; q < npools; q++) {
		char pname[RTE_MEMPOOL_NAMESIZE];

		snprintf(pname, sizeof(pname), "pr_p%u_q%u", pid, q);
		ps->pools[q] =
			rte_pktmbuf_pool_create(pname, ps->mbufs, POOL_CACHE, 0, data_room, socket);
		if (!ps->pools[q]) {
			ret = -rte_errno;
			snprintf(err, errlen, "port %s queue %u: pool of %u mbufs (%u MiB): %s%s",
				 ps->name, q, ps->mbufs,
				 (unsigned)(((uint64_t)ps->mbufs * elt) >> 20), rte_strerror(-ret),
				 rte_eal_has_hugepages() ?
					 " (reserve more hugepages, or lower -b/buffer_size)" :
					 " (with --no-huge give the EAL more memory: -m MB)");
			goto fail;
		}
		if (q < ps->nb_rxq) {
			ret = rte_eth_rx_queue_setup(pid, q, ps->nb_rxd, (unsigned)socket, NULL,
						     ps->pools[q]);
			if (ret) {
				snprintf(err, errlen,
					 "port %s queue %u: rx setup (%u descriptors): %s",
					 ps->name, q, ps->nb_rxd, strerror(-ret));
				goto fail;
			}
		}
		if (q < ps->nb_txq) {
			ret = rte_eth_tx_queue_setup(pid, q, ps->nb_txd, (unsigned)socket, NULL);
			if (ret) {
				snprintf(err, errlen,
					 "port %s queue %u: tx setup (%u descriptors): %s",
					 ps->name, q, ps->nb_txd, strerror(-ret));
				goto fail;
			}
		}
	}
	if (!strcmp(ps->driver, "net_pcap")) {
		ret = pcap_scan_files(pid, ps, err, errlen);
		if (ret)
			goto fail;
	}
	if (cfg->promisc && !cfg->tx_only) {
		ret = rte_eth_promiscuous_enable(pid);
		if (ret && ret != -ENOTSUP)
			PR_WARN("port %s: promiscuous mode: %s", ps->name, strerror(-ret));
	}
	ret = rte_eth_dev_start(pid);
	if (ret) {
		snprintf(err, errlen, "port %s (%s): start: %s", ps->name, ps->driver,
			 strerror(-ret));
		goto fail;
	}
	/*
	 * net_pcap stamps each packet with the file's (or libpcap's) time, in
	 * microseconds since the epoch, in the rx timestamp dynfield. Other
	 * drivers put a NIC clock there whose unit and epoch only the NIC
	 * knows; those packets get the burst time instead.
	 */
	ps->tsresol = 9;
	if (!strcmp(ps->driver, "net_pcap")) {
		int off = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, NULL);
		int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, NULL);

		if (off >= 0 && bit >= 0) {
			ps->ts_off = off;
			ps->ts_flag = 1ull << bit;
			ps->ts_mult = 1000;
			ps->tsresol = 6;
		}
	}
	if (ps->nb_rxq <= 1)
		snprintf(ps->layout, sizeof(ps->layout), "1 rx queue");
	else if (ps->rss)
		snprintf(ps->layout, sizeof(ps->layout), "%u rx queues, symmetric RSS", ps->nb_rxq);
	else
		snprintf(ps->layout, sizeof(ps->layout),
			 "%u rx queues without RSS (as %.31s fills them)", ps->nb_rxq, ps->driver);
	PR_NOTICE("port %s (%s): %s, %u+%u descriptors, %u mbufs per queue%s", ps->name, ps->driver,
		  ps->layout, ps->nb_rxd, ps->nb_txd, ps->mbufs,
		  ps->ts_mult ? ", file timestamps (us)" : "");
	if (ps->nb_rxq > 1 && !ps->rss)
		PR_NOTICE("port %s: no RSS: the two directions of a flow may reach different "
			  "workers",
			  ps->name);
	return 0;
fail:
	/* A failed setup leaves the port as it found it; the next open may try again. */
	rte_eth_dev_stop(pid);
	for (uint16_t q = 0; ps->pools && q < ps->nb_pools; q++)
		rte_mempool_free(ps->pools[q]);
	free(ps->pools);
	free(ps->rx_owned);
	free(ps->tx_owned);
	free(ps->rx_file);
	if (ps->own_vdev)
		rte_vdev_uninit(READ_VDEV);
	memset(ps, 0, sizeof(*ps));
	return ret ? ret : -EIO;
}

/* ---------------------------------------------------------------- ops */

static void dpdk_close(struct pr_rx *rx);

static int dpdk_open(const struct pr_rx_cfg *cfg, struct pr_rx **out, char *err, size_t errlen)
{
	uint16_t nq = cfg->nb_queues ? cfg->nb_queues : 1, pid = 0;
	struct dpdk_port *ps = NULL;
	struct pr_rx *rx;
	bool own = false;
	int ret;

	*out = NULL;
	if (cfg->interface && cfg->read_path) {
		snprintf(err, errlen, "give a DPDK port or a capture file, not both");
		return -EINVAL;
	}
	if (cfg->queue >= nq) {
		snprintf(err, errlen, "queue %u of %u: no such queue", cfg->queue, nq);
		return -EINVAL;
	}
	if (cfg->read_path && nq > 1) {
		snprintf(
			err, errlen,
			"%s: a capture file is read by one worker; for several, give one "
			"rx_pcap= per queue in --dpdk-args \"--vdev net_pcap0,rx_pcap=A,rx_pcap=B\"",
			cfg->read_path);
		return -EINVAL;
	}
	rx = calloc(1, sizeof(*rx));
	if (!rx) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	pthread_mutex_lock(&dpdk_lock);
	/* -r FILE makes a vdev: no PCI device is wanted then either. */
	ret = eal_ensure(cfg->backend_args, cfg->read_path ? READ_VDEV : cfg->interface, err,
			 errlen);
	if (ret)
		goto err_unlock;
	ret = port_find(cfg, &pid, &own, err, errlen);
	if (ret)
		goto err_unlock;
	ps = &ports[pid];
	if (!ps->users) {
		ret = port_setup(pid, ps, cfg, own, err, errlen);
		if (ret)
			goto err_unlock;
	} else if (!cfg->tx_only && nq != ps->nb_rxq) {
		snprintf(err, errlen, "port %s is set up for %u workers, not %u", ps->name,
			 ps->nb_rxq, nq);
		ret = -EINVAL;
		goto err_unlock;
	}
	if (cfg->tx_only && cfg->queue >= ps->nb_txq) {
		snprintf(err, errlen, "port %s (%s) has %u tx queue%s: no queue %u to send on",
			 ps->name, ps->driver, ps->nb_txq, ps->nb_txq == 1 ? "" : "s", cfg->queue);
		ret = -EINVAL;
		goto err_unlock_put;
	}
	if (cfg->tx_only ? ps->tx_owned[cfg->queue] : ps->rx_owned[cfg->queue]) {
		snprintf(err, errlen, "port %s %s queue %u is polled by another instance", ps->name,
			 cfg->tx_only ? "tx" : "rx", cfg->queue);
		ret = -EBUSY;
		goto err_unlock_put;
	}
	if (cfg->tx_only)
		ps->tx_owned[cfg->queue] = 1;
	else
		ps->rx_owned[cfg->queue] = 1;
	ps->users++;
	rx->port = pid;
	rx->queue = cfg->queue;
	rx->tx_only = cfg->tx_only;
	rx->offline = !cfg->tx_only && ps->rx_file[cfg->queue];
	/* A worker may send on its own tx queue; no queue ever has two senders. */
	rx->has_tx = cfg->queue < ps->nb_txq;
	rx->txq = cfg->queue;
	rx->tx_multiseg = ps->tx_multiseg;
	rx->pool = ps->pools[cfg->queue];
	rx->ts_mult = ps->ts_mult;
	rx->ts_off = ps->ts_off;
	rx->ts_flag = ps->ts_flag;
	rx->iface.linktype = LINKTYPE_ETHERNET;
	rx->iface.snaplen = cfg->snaplen;
	rx->iface.tsresol = ps->tsresol;
	snprintf(rx->iface.name, sizeof(rx->iface.name), "%s", ps->name);
	/* 5 + 31 + 6 + 5 + 2 + 78 characters: always whole in PR_IFACE_DESC_MAX. */
	snprintf(rx->iface.description, sizeof(rx->iface.description), "DPDK %.31s port %u: %.78s",
		 ps->driver, pid, ps->layout);
	pthread_mutex_unlock(&dpdk_lock);

	rx->snaplen = cfg->snaplen ? cfg->snaplen : 65535;
	/* Packets larger than one mbuf come in segments and are copied here whole. */
	if (!cfg->tx_only && rx->snaplen > RTE_MBUF_DEFAULT_DATAROOM) {
		rx->staging = malloc((size_t)PR_BURST * rx->snaplen);
		if (!rx->staging) {
			snprintf(err, errlen, "port %s: staging buffer: %s", rx->iface.name,
				 strerror(ENOMEM));
			dpdk_close(rx);
			return -ENOMEM;
		}
	}
	*out = rx;
	return 0;
err_unlock_put:
	/* The port stays as it is for its other users, or goes if it has none. */
	if (!ps->users)
		port_teardown(pid, ps);
err_unlock:
	pthread_mutex_unlock(&dpdk_lock);
	free(rx);
	return ret;
}

/*
 * An empty burst from a queue that reads a file. net_pcap's rx either
 * delivers a packet, stops at the end of the file, stops at a read error
 * (counted in ierrors) or stops for want of an mbuf (counted in
 * rx_nombuf, and that packet is lost). A file never makes it wait. So a
 * burst that comes back empty while neither counter moved since the last
 * empty burst has met the end of the file; we read the counters after
 * each empty burst and compare. A counter that moved means "not sure
 * yet": poll again (another queue of the port may have moved it); one
 * that keeps rising with nothing delivered means the file cannot be read
 * on.
 */
static int offline_idle(struct pr_rx *rx)
{
	struct rte_eth_stats st;
	int ret;

	pthread_mutex_lock(&dpdk_lock);
	ret = rte_eth_stats_get(rx->port, &st);
	pthread_mutex_unlock(&dpdk_lock);
	if (ret) {
		snprintf(rx->err, sizeof(rx->err), "port %s: stats: %s", rx->iface.name,
			 strerror(-ret));
		return ret;
	}
	if (rx->idle_seen && st.ierrors == rx->idle_ierrors && st.rx_nombuf == rx->idle_nombuf)
		return PR_RX_EOF;
	if (rx->idle_seen && st.ierrors != rx->idle_ierrors &&
	    ++rx->idle_err_polls >= FILE_ERROR_POLLS) {
		snprintf(rx->err, sizeof(rx->err),
			 "port %s queue %u: the capture file cannot be read further (net_pcap "
			 "counts read errors: a damaged or truncated file)",
			 rx->iface.name, rx->queue);
		return -EIO;
	}
	rx->idle_seen = true;
	rx->idle_ierrors = st.ierrors;
	rx->idle_nombuf = st.rx_nombuf;
	return 0;
}

static int dpdk_rx_burst(struct pr_rx *rx, struct pr_rx_pkt *pkts, uint16_t max)
{
	uint16_t n, i;

	if (unlikely(!rx->thread_tried))
		thread_attach(rx);
	n = rte_eth_rx_burst(rx->port, rx->queue, rx->mbufs, PR_MIN(max, PR_BURST));
	rx->n_held = n;
	if (unlikely(!n))
		return rx->offline ? offline_idle(rx) : 0;
	rx->idle_seen = false;
	rx->idle_err_polls = 0;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = rx->mbufs[i];
		uint32_t cap = PR_MIN(m->pkt_len, rx->snaplen);
		const uint8_t *data = rte_pktmbuf_mtod(m, const uint8_t *);

		if (unlikely(m->data_len < cap))
			data = rte_pktmbuf_read(m, 0, cap, rx->staging + (size_t)i * rx->snaplen);
		pkts[i].data = data;
		pkts[i].cap_len = cap;
		pkts[i].wire_len = m->pkt_len;
		pkts[i].iface = 0;
		if (rx->ts_mult && (m->ol_flags & rx->ts_flag))
			pkts[i].ts_ns =
				*RTE_MBUF_DYNFIELD(m, rx->ts_off, const uint64_t *) * rx->ts_mult;
		else
			pkts[i].ts_ns = PR_RX_TS_NONE;
	}
	return n;
}

static void dpdk_release_burst(struct pr_rx *rx, struct pr_rx_pkt *pkts, uint16_t n)
{
	(void)pkts;
	(void)n;
	if (rx->n_held) {
		rte_pktmbuf_free_bulk(rx->mbufs, rx->n_held);
		rx->n_held = 0;
	}
}

/*
 * rte_eth_stats counts for the whole port: only queue 0's instance
 * reports it (see struct pr_rx_stats). received is what the port took in
 * (ipackets, delivered to the queues, plus what it lost on the way in);
 * iface_drops is the sum of the losses. A queue that reads a file counts
 * read attempts, not packets, in ierrors: those are no drops.
 */
static int dpdk_stats(struct pr_rx *rx, struct pr_rx_stats *out)
{
	struct rte_eth_stats st;
	int ret;

	memset(out, 0, sizeof(*out));
	if (rx->queue != 0)
		return 0;
	pthread_mutex_lock(&dpdk_lock);
	ret = rte_eth_stats_get(rx->port, &st);
	pthread_mutex_unlock(&dpdk_lock);
	if (ret)
		return ret;
	out->nic_missed = st.imissed;
	out->nic_nombuf = st.rx_nombuf;
	out->nic_errors = rx->offline ? 0 : st.ierrors;
	out->iface_drops = out->nic_missed + out->nic_nombuf + out->nic_errors;
	out->received = st.ipackets + out->iface_drops;
	return 0;
}

static uint32_t dpdk_iface_count(struct pr_rx *rx)
{
	(void)rx;
	return 1;
}

static int dpdk_iface_get(struct pr_rx *rx, uint32_t idx, struct pr_rx_iface *out)
{
	if (idx)
		return -ENOENT;
	*out = rx->iface;
	return 0;
}

/* Copy a packet into a fresh mbuf (a chain when it is larger than one). */
static struct rte_mbuf *tx_mbuf(struct pr_rx *rx, const struct pr_tx_pkt *p)
{
	struct rte_mbuf *head = rte_pktmbuf_alloc(rx->pool), *m = head;
	uint32_t done = 0;

	while (m) {
		uint16_t room = rte_pktmbuf_tailroom(m);
		uint32_t chunk = PR_MIN(p->len - done, (uint32_t)room);

		memcpy(rte_pktmbuf_append(m, (uint16_t)chunk), p->data + done, chunk);
		done += chunk;
		if (done == p->len)
			return head;
		if (!rx->tx_multiseg)
			break;
		m = rte_pktmbuf_alloc(rx->pool);
		if (m && rte_pktmbuf_chain(head, m)) {
			rte_pktmbuf_free(m);
			m = NULL;
		}
	}
	rte_pktmbuf_free(head);
	return NULL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Send n packets on the instance's tx queue. A full tx ring is waited out
 * (a replay must not lose packets to a short burst of back-pressure), up
 * to TX_STALL_NS without progress; what is still unsent then is freed.
 */
static int dpdk_tx_burst(struct pr_rx *rx, const struct pr_tx_pkt *pkts, uint16_t n)
{
	struct rte_mbuf *m[PR_BURST];
	uint16_t built = 0, sent = 0;
	uint64_t stall_since = 0;

	if (!rx->has_tx) {
		snprintf(rx->err, sizeof(rx->err), "port %s has no tx queue", rx->iface.name);
		return -ENOTSUP;
	}
	if (unlikely(!rx->thread_tried))
		thread_attach(rx);
	n = PR_MIN(n, PR_BURST);
	for (; built < n; built++) {
		m[built] = tx_mbuf(rx, &pkts[built]);
		if (!m[built])
			break;
	}
	while (sent < built) {
		uint16_t k = rte_eth_tx_burst(rx->port, rx->txq, m + sent, built - sent);

		sent += k;
		if (k) {
			stall_since = 0;
		} else if (!stall_since) {
			stall_since = mono_ns();
		} else if (mono_ns() - stall_since > TX_STALL_NS) {
			break;
		}
	}
	if (sent < built)
		rte_pktmbuf_free_bulk(m + sent, built - sent);
	if (!sent && n) {
		snprintf(rx->err, sizeof(rx->err), "port %s queue %u: %s", rx->iface.name, rx->txq,
			 built ? "the device takes no packets (tx ring stays full)" :
				 "no mbuf for the packet (or it is larger than the device sends)");
		return built ? -EAGAIN : -ENOBUFS;
	}
	return sent;
}

static int dpdk_wait_fd(struct pr_rx *rx)
{
	(void)rx;
	return -1; /* a poll-mode driver has nothing to sleep on */
}

static bool dpdk_is_offline(struct pr_rx *rx)
{
	return rx->offline;
}

static const char *dpdk_errmsg(struct pr_rx *rx)
{
	return rx->err;
}

static void dpdk_close(struct pr_rx *rx)
{
	struct dpdk_port *ps;

	if (!rx)
		return;
	if (rx->n_held)
		dpdk_release_burst(rx, NULL, 0);
	pthread_mutex_lock(&dpdk_lock);
	ps = &ports[rx->port];
	if (ps->users) {
		if (rx->tx_only)
			ps->tx_owned[rx->queue] = 0;
		else
			ps->rx_owned[rx->queue] = 0;
		if (--ps->users == 0)
			port_teardown(rx->port, ps);
	}
	pthread_mutex_unlock(&dpdk_lock);
	if (rx->registered && pthread_equal(rx->reg_thread, pthread_self()))
		rte_thread_unregister();
	free(rx->staging);
	free(rx);
}

const struct pr_rx_ops pr_rx_dpdk_ops = {
	.name = "dpdk",
	.open = dpdk_open,
	.rx_burst = dpdk_rx_burst,
	.release_burst = dpdk_release_burst,
	.stats = dpdk_stats,
	.iface_count = dpdk_iface_count,
	.iface_get = dpdk_iface_get,
	.tx_burst = dpdk_tx_burst,
	.wait_fd = dpdk_wait_fd,
	.is_offline = dpdk_is_offline,
	.errmsg = dpdk_errmsg,
	.close = dpdk_close,
};
