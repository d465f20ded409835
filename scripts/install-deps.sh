#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install every Debian 12 package packetrecorderd needs to build, test,
# fuzz and benchmark. Idempotent and non-interactive. Runs apt-get as root
# (through sudo when started by another user).
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config
	libpcap-dev libsqlcipher-dev libssl-dev liburing-dev libzstd-dev libjson-c-dev
	# the afxdp backend: libxdp/libbpf, and clang/llvm for its XDP program
	libxdp-dev libbpf-dev
	# the HTTP API (controlplane/http): libmicrohttpd, GnuTLS for its client certificates
	libmicrohttpd-dev libgnutls28-dev
	# the dpdk backend (DPDK 22.11 with its PMDs), and dpdk-testpmd, its benchmark peer
	dpdk-dev dpdk
	# the gRPC API: the C core, and protobuf-c messages generated at build time
	libgrpc-dev libprotobuf-c-dev protobuf-c-compiler
	# tests, fuzzing, formatting
	libcmocka-dev clang llvm libclang-rt-14-dev clang-format python3
	# promtool checks the metrics text (tests/unit/test_pr_metrics.c); the
	# HTTP tests drive the API with curl, make certificates with openssl,
	# read docs/openapi.yaml and the compose file with python3-yaml, and
	# are scraped by a real Prometheus (tests/integration/test_http_*.py)
	prometheus curl openssl python3-yaml
	# gRPC tests: a real client, stubs generated at test time
	python3-grpcio python3-grpc-tools
	# peers and oracles used by tests and benchmarks
	sqlcipher tcpdump tshark iproute2 procps
	# the slow-disk test: a loop device with ext4 (losetup, mount, mkfs.ext4)
	util-linux mount e2fsprogs
	# benchmark peer and generator: live capture (bench/bench_live.py), and
	# writing a pcap beside the store (bench/bench_store.py)
	netsniff-ng
	# ... and Stenographer's stenotype, the live-capture benchmark's peer
	stenographer
	# the replay benchmark's peer (bench/bench_replay.py)
	tcpreplay
	# the protocol-analysis benchmark's peer (bench/bench_l7.py)
	libndpi-bin
)

as_root=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		as_root=(sudo)
	else
		echo "install-deps: run as root (or install sudo)" >&2
		exit 1
	fi
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages are installed"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the default (no) is fine.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	"${as_root[@]}" debconf-set-selections 2>/dev/null || true
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"${missing[@]}"
echo "install-deps: done"
