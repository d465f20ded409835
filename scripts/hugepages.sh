#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Make hugepages available to DPDK: mount hugetlbfs on /dev/hugepages (it
# is not mounted by default here) and reserve at least PAGES 2 MiB pages
# (default 256). Needs root; without it, says so and exits 0, and the DPDK
# tests run with --no-huge instead. Idempotent.
#
#   scripts/hugepages.sh [PAGES]
set -euo pipefail

pages=${1:-256}
if [ "$(id -u)" -ne 0 ]; then
	echo "hugepages: not root: no hugepages reserved (DPDK tests use --no-huge)"
	exit 0
fi
mkdir -p /dev/hugepages
if ! mountpoint -q /dev/hugepages; then
	mount -t hugetlbfs nodev /dev/hugepages
fi
if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt "$pages" ]; then
	echo "$pages" >/proc/sys/vm/nr_hugepages
fi
# The kernel may find fewer free 2 MiB pages than asked for: say what we got.
got=$(awk '/^HugePages_Total:/ {print $2}' /proc/meminfo)
free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
echo "hugepages: /dev/hugepages mounted, ${got} pages reserved, ${free} free"
if [ "$got" -lt "$pages" ]; then
	echo "hugepages: warning: asked for ${pages}, the kernel gave ${got}" >&2
fi
