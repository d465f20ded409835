#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The benchmark entry point: ingest and export of packetrecorder beside
# tcpdump on the largest corpus bench trace and a generated 2M-packet trace.
# Prints a Markdown report (for docs/PERFORMANCE.md) on stdout; progress on
# stderr. Options go to bench_ingest.py (--bin, --workdir, --keep, --runs,
# --packets, --trace FILE, --no-generate); see bench/README.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/bench_ingest.py" "$@"
