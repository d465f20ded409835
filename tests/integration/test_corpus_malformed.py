#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Malformed corpus test: every capture under ../shared/corpus/malformed/
goes through `packetrecorder capture -r FILE` (fresh plaintext store each).

A capture must:
  - finish within 60 s with exit 0 or 1: never a signal (crash, abort),
  - print no sanitizer report ("AddressSanitizer", "runtime error:", ...),
  - when it exits 1, say why on stderr naming the file and the "offset"
    where the damage is,
  - store at least as many packets as tshark read when tshark read the file
    completely (tshark_exit_code 0 and no "cut short" message); other count
    differences are reported, not failed (tshark's counts on damaged files
    cover the packets before the damage, and readers may differ on where
    to stop),
  - store exactly the count given in KNOWN_DIFFERENCES for a capture listed
    there (a difference from tshark checked by hand, with its reason).

Usage: test_corpus_malformed.py [-v] [-j N] [SUBSTRING ...]
Exit: 0 all good, 1 a FAIL, 77 skipped (no corpus or no binary).
"""

import argparse
import concurrent.futures
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus_lib as L  # noqa: E402

TIMEOUT_S = 60
SNAPLEN = "262144"  # see test_corpus.py: never cut a frame

# Captures where we read a different number of packets than tshark, checked
# by hand: {path: (packets we store, reason)}. Keep it minimal; see
# docs/packetrecorder-capture.md, "Files that tshark reads further".
KNOWN_DIFFERENCES = {
	"malformed/sv_bug-6875-01.pcap": (
		1,
		"standard-magic pcap whose record 1 overruns into record 2: read with "
		"standard 16-byte record headers (as libpcap, tcpdump and tshark from a pipe "
		"do) it ends at offset 228; tshark on a file guesses the ss990417 variant "
		"(24-byte headers) and reads a second, garbage record (1 of 1048576 bytes, "
		"year 1925)"),
}


def tshark_read_all(oracle):
	if oracle.get("tshark_exit_code") != 0:
		return False
	msgs = " ".join(oracle.get("tshark_messages") or [])
	return "cut short" not in msgs and "damaged" not in msgs and "corrupt" not in msgs


def stored_packets(exe, db, summ):
	"""Packets in the store: from the --json summary, else `sessions`."""
	if summ is not None and isinstance(summ.get("packets"), int):
		return summ["packets"], summ
	if not os.path.exists(db):
		return None, None
	r = L.run([exe, "sessions", "-d", db, "--json", "-q"], timeout=TIMEOUT_S)
	if r.rc != 0:
		return None, None
	try:
		sess = r.json()
	except ValueError:
		return None, None
	if not sess:
		return 0, None
	return sess[-1].get("packets"), sess[-1]


def check(args):
	rel, corpus, exe = args
	t0 = time.monotonic()
	path = os.path.join(corpus, rel)
	res = {"file": rel, "status": "FAIL", "details": [], "seconds": 0.0}
	oracle = L.load_oracle(corpus, rel)
	tmp = tempfile.mkdtemp(prefix="pr-malformed-")
	try:
		_check(res, path, rel, exe, oracle, os.path.join(tmp, "m.db"))
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	res["seconds"] = time.monotonic() - t0
	return res


def _check(res, path, rel, exe, oracle, db):
	fails, notes = [], []
	r = L.run([exe, "capture", "-r", path, "-d", db, "-s", SNAPLEN, "--json", "-q"],
		  timeout=TIMEOUT_S)
	if r.timed_out:
		fails.append("did not finish within %d s" % TIMEOUT_S)
	elif r.rc is None:
		fails.append(r.describe())
	elif r.rc < 0:
		fails.append("killed by signal %d: %s" % (-r.rc, r.describe()))
	elif r.rc not in (0, 1):
		fails.append("exit %d (want 0 or 1): %s" % (r.rc, r.describe()))
	san = L.sanitizer_report(r.stderr)
	if san:
		line = next((x for x in r.stderr.splitlines() if san in x), san)
		fails.append("sanitizer: %s" % line.strip()[:160])
	if r.rc == 1:
		err = r.stderr
		name = os.path.basename(path)
		if name not in err:
			fails.append("exit 1 but stderr does not name %s: %r" % (name, err.strip()[-160:]))
		if "offset" not in err:
			fails.append("exit 1 but stderr has no \"offset\": %r" % err.strip()[-160:])
		notes.append("exit 1: " + (err.strip().splitlines() or [""])[-1][:140])
	summ = None
	if r.rc in (0, 1) and r.stdout.strip():
		try:
			summ = r.json()
		except ValueError as e:
			fails.append("capture --json: bad JSON: %s" % e)
	ours = None
	if r.rc in (0, 1):
		ours, _ = stored_packets(exe, db, summ)

	mine = L.capture_facts(path)  # this test's own reader: a third opinion
	if oracle is None:
		notes.append("no .expect.json")
	elif ours is None:
		if r.rc == 0:
			fails.append("no packet count in the summary or the store")
		else:
			notes.append("no session stored")
	elif rel in KNOWN_DIFFERENCES:
		want, why = KNOWN_DIFFERENCES[rel]
		if ours != want:
			fails.append("stored %d packets, %d expected (known difference from tshark's %d: "
				     "%s)" % (ours, want, oracle["packets"], why))
		else:
			notes.append("%d packets, tshark %d: known difference: %s" % (
				ours, oracle["packets"], why))
	else:
		theirs = oracle["packets"]
		complete = tshark_read_all(oracle)
		if ours != theirs:
			msg = "stored %d packets, tshark read %d%s (python reader: %d)" % (
				ours, theirs, "" if complete else " before the damage", mine.frames)
			if complete and ours < theirs:
				fails.append(msg)
			else:
				notes.append(msg)
		else:
			notes.append("%d packets, as tshark" % ours)
		if summ and ours == theirs and complete and r.rc == 0:
			for k_ours, k_theirs in (("bytes", "bytes_wire"), ("captured_bytes", "bytes_captured")):
				if summ.get(k_ours) != oracle[k_theirs]:
					fails.append("%s %s != tshark %s %s" % (k_ours, summ.get(k_ours), k_theirs,
										 oracle[k_theirs]))
	# The store must stay readable after whatever the capture did.
	if r.rc in (0, 1) and os.path.exists(db) and summ is not None and summ.get("session_id"):
		fr = L.run([exe, "flows", "-d", db, "--session", str(summ["session_id"]), "--json", "-q"],
			   timeout=TIMEOUT_S)
		if fr.timed_out or fr.rc != 0 or L.sanitizer_report(fr.stderr):
			fails.append("flows after capture: " + fr.describe())
	res["status"] = "FAIL" if fails else "ok"
	res["details"] = fails + notes


def main():
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("-v", "--verbose", action="store_true")
	ap.add_argument("-j", "--jobs", type=int, default=2)
	ap.add_argument("only", nargs="*")
	opts = ap.parse_args()
	corpus, exe = L.require_corpus_and_binary()
	files = L.list_captures(corpus, include_dirs=("malformed",))
	if opts.only:
		files = [f for f in files if any(s in f for s in opts.only)]
	if not files:
		print("skipped: no captures under %s/malformed" % corpus)
		return L.EXIT_SKIP
	t0 = time.monotonic()
	with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
		results = list(pool.map(check, [(f, corpus, exe) for f in files]))
	width = max(len(r["file"]) for r in results)
	print("%-*s  %-6s  %s" % (width, "file", "status", "details"))
	print("%s  %s  %s" % ("-" * width, "-" * 6, "-" * 40))
	failed = 0
	for r in results:
		failed += r["status"] == "FAIL"
		det = r["details"] or [""]
		print("%-*s  %-6s  %s" % (width, r["file"], r["status"], det[0]))
		for d in det[1:] if (opts.verbose or r["status"] == "FAIL") else det[1:3]:
			print("%-*s  %-6s    %s" % (width, "", "", d))
	print()
	print("%d passed, %d failed, 0 skipped; %d captures in %.1f s" % (
		len(results) - failed, failed, len(results), time.monotonic() - t0))
	return 1 if failed else 0


if __name__ == "__main__":
	sys.exit(main())
