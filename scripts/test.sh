#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build and run every test: the release build, the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer and under ThreadSanitizer
# (the control plane runs a checkpointer thread, the dataplane a control
# socket thread), and each libFuzzer target for a short run. Privileged tests (label "privileged": network namespaces,
# veth) run when this runs as root and skip, saying so, otherwise. Tests
# that read ../shared/corpus skip when it is absent.
#
#   scripts/test.sh                 everything
#   PR_TEST_STAGES="release" scripts/test.sh      only some stages
#   PR_FUZZ_SECONDS=30              seconds per fuzz target (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."

stages=${PR_TEST_STAGES:-"release asan tsan fuzz"}
fuzz_seconds=${PR_FUZZ_SECONDS:-30}
jobs=$(nproc)
failed=0
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT

# The lines of failed tests that say what failed (FAIL checks, sanitizer
# reports, tracebacks, timeouts), at most 40 a test, for the end of the log:
# CI keeps only the head and tail of a long run.
failure_lines() {
	awk -v stage="$1" '
	/^[0-9]+\/[0-9]+ Testing: / { name = $3; n = 0; more = 0; buf = ""; next }
	/^FAIL |^Traceback|Error:|ERROR: |WARNING: ThreadSanitizer|SUMMARY: |timed out|Timeout/ {
		if (n++ < 40) buf = buf stage " " name ": " $0 "\n"
		more = /^FAIL / ? 4 : 0
		next
	}
	# The indented lines under a FAIL say what was seen: keep the first few.
	more > 0 && /^     / {
		if (n++ < 40) buf = buf stage " " name ": " substr($0, 1, 300) "\n"
		more--
		next
	}
	{ more = 0 }
	/^Test Failed/ { printf "%s", buf }
	' "build/$1/Testing/Temporary/LastTest.log" 2>/dev/null || true
}

run_ctest() {
	local preset=$1
	echo "=== ${preset}: configure and build"
	cmake --preset "$preset" >/dev/null
	cmake --build --preset "$preset" -j"$jobs"
	echo "=== ${preset}: ctest"
	if ! ctest --test-dir "build/${preset}" --output-on-failure -j"$jobs" --timeout 1500; then
		failed=1
		failure_lines "$preset" >>"$summary"
	fi
}

for stage in $stages; do
	case "$stage" in
	release | asan)
		run_ctest "$stage"
		;;
	tsan)
		# Races inside libraries not built with TSan (gRPC, abseil, OpenSSL)
		# are suppressed; tests/tsan.supp says which and why.
		saved_tsan=${TSAN_OPTIONS-}
		export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp${saved_tsan:+ $saved_tsan}"
		run_ctest "$stage"
		export TSAN_OPTIONS="$saved_tsan"
		;;
	fuzz)
		echo "=== fuzz: configure and build (clang, libFuzzer)"
		cmake --preset fuzz >/dev/null
		cmake --build --preset fuzz -j"$jobs"
		for f in build/fuzz/tests/fuzz/fuzz_*; do
			case "$f" in *_replay) continue ;; esac
			[ -x "$f" ] || continue
			name=$(basename "$f")
			corpus=$(mktemp -d)
			# Seeds: our fixtures and the target's own seeds (copied: libFuzzer writes
			# new inputs into the first corpus directory).
			cp tests/pcaps/*.pcap* "$corpus"/ 2>/dev/null || true
			cp tests/fuzz/seeds/"$name"/* "$corpus"/ 2>/dev/null || true
			echo "--- ${name}: ${fuzz_seconds} s"
			# -timeout: an input that runs 20 s is a finding, reported then; libFuzzer's
			# default (1200 s, checked every 601 s) let one run 20 minutes.
			if ! "$f" -max_total_time="$fuzz_seconds" -timeout=20 -rss_limit_mb=4096 \
				-print_final_stats=1 \
				"$corpus" >"build/fuzz/${name}.log" 2>&1; then
				echo "FAILED: ${name}; last lines of build/fuzz/${name}.log:"
				tail -n 40 "build/fuzz/${name}.log"
				echo "fuzz ${name}: failed, see build/fuzz/${name}.log" >>"$summary"
				failed=1
			else
				grep -E "stat::number_of_executed_units|Done" "build/fuzz/${name}.log" | tail -n 2
			fi
			rm -rf "$corpus"
		done
		;;
	*)
		echo "unknown stage: $stage" >&2
		exit 2
		;;
	esac
done

if [ "$failed" -ne 0 ]; then
	echo "=== what failed, stage by stage"
	cat "$summary"
	echo "scripts/test.sh: FAILED"
	exit 1
fi
echo "scripts/test.sh: all stages passed ($stages)"
