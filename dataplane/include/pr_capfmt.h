/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The capture file formats, as the reader (dataplane/rx/pr_capfile.c) and
 * the writer (storage/pr_pcapw.c) both know them: classic pcap (and the
 * modified-pcap variant the reader accepts) and pcapng block types, option
 * codes and the limits that both sides keep. Constants only.
 */
#ifndef PR_CAPFMT_H
#define PR_CAPFMT_H

/* Classic pcap: the magic as written by the file's byte order. */
#define PR_PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PR_PCAP_MAGIC_NSEC 0xa1b23c4du
/* Alexey Kuznetzov's modified pcap: 24-byte record headers. */
#define PR_PCAP_MAGIC_KUZNETZOV 0xa1b2cd34u
#define PR_PCAP_FILE_HDR_LEN 24u
#define PR_PCAP_REC_HDR_LEN 16u
#define PR_PCAP_KUZNETZOV_REC_HDR_LEN 24u

/* pcapng block types. */
#define PR_PCAPNG_SHB 0x0a0d0d0au
#define PR_PCAPNG_IDB 0x00000001u
#define PR_PCAPNG_PB 0x00000002u /* obsolete Packet Block */
#define PR_PCAPNG_SPB 0x00000003u
#define PR_PCAPNG_NRB 0x00000004u
#define PR_PCAPNG_ISB 0x00000005u
#define PR_PCAPNG_EPB 0x00000006u
#define PR_PCAPNG_DSB 0x0000000au
#define PR_PCAPNG_CB 0x00000badu
#define PR_PCAPNG_CB_NOCOPY 0x40000badu
/* The SHB's byte-order magic. */
#define PR_PCAPNG_BOM 0x1a2b3c4du
#define PR_PCAPNG_BLOCK_MIN 12u
#define PR_PCAPNG_SHB_MIN 28u
/* Type, length, interface, two time stamp words, two lengths, trailing length. */
#define PR_PCAPNG_EPB_OVERHEAD 32u

/* pcapng option codes (opt_* and if_* share the numbering space per block). */
#define PR_PCAPNG_OPT_ENDOFOPT 0
#define PR_PCAPNG_OPT_COMMENT 1
#define PR_PCAPNG_OPT_IF_NAME 2
#define PR_PCAPNG_OPT_IF_DESCRIPTION 3
#define PR_PCAPNG_OPT_SHB_USERAPPL 4
#define PR_PCAPNG_OPT_IF_TSRESOL 9
#define PR_PCAPNG_OPT_IF_TSOFFSET 14

/*
 * The largest captured length either side accepts: four times libpcap's
 * 262144 maximum snaplen (D-Bus and USB captures go above 65535).
 */
#define PR_CAPFMT_MAX_CAP_LEN (262144u * 4)

#endif /* PR_CAPFMT_H */
