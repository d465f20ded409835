#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Corpus oracle test: every capture of ../shared/corpus (except malformed/)
goes through `packetrecorder capture -r`, and the stored session and flows
are compared with the tshark oracle `<capture>.expect.json` (EXPECT.md).

Per capture, one fresh plaintext store in a temporary directory:
  capture -r FILE -d DB -s 262144 --json   packets, bytes, captured_bytes
  sessions -d DB --json                   first/last packet timestamps
  flows -d DB --session ID --json         TCP/UDP flows vs tshark streams
and stores the capture a second time with --store-mode db: query, flows and
the pcapng export must be byte for byte those of the (default) segment store.

Flows: our TCP/UDP records (records of one 5-tuple split by a timeout
joined again, see corpus_lib.our_flows) against tshark's streams with
`tunneled: false`, as multisets of (proto, unordered endpoint pair, packets,
bytes), then per direction. Packet counts, bytes and timestamps (first/last
packet of the session vs the oracle's min_ts/max_ts) must match exactly.

Status of each capture:
  exact      everything matches
  explained  packet counts, bytes and timestamps match, and the flows match
             once known keying differences are taken out (tshark splitting a
             UDP 5-tuple into several streams, as its SNMP dissector does; we
             key flows on the outermost VLAN, tshark does not), or every
             differing flow involves IP fragments or a tunnel, or tshark
             complained about the capture (the legitimate differences of
             EXPECT.md); the details say which
  allowed    listed in ALLOWLIST below (verified by hand, reason given)
  FAIL       anything else

Usage: test_corpus.py [-v] [-j N] [--no-bench] [SUBSTRING ...]
Environment: PR_BIN, PR_CORPUS (see CMakeLists.txt); PR_CORPUS_NO_BENCH=1.
Exit: 0 all good, 1 a FAIL, 77 skipped (no corpus or no binary).
"""

import argparse
import concurrent.futures
import hashlib
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus_lib as L  # noqa: E402
import prtest as P  # noqa: E402

# Snap length for `capture -r`: libpcap's maximum, so no corpus frame is cut
# (ipv6/ipv6_jumbogram_1.pcap has a 65590-byte frame, above the 65535
# default) and captured_bytes can be compared with tshark's frame.cap_len.
SNAPLEN = "262144"

# Captures whose differences were checked by hand and are not our bugs.
# Keep it minimal: one line of reason each. Prefer fixing the comparison.
ALLOWLIST = {
	"ipv6/zeek_ipv6-mobility-dst-opts.pcap":
		"frame 1: a Destination Options option (0xca, length 144) overruns its 24-byte "
		"header; tshark stops there (malformed), we skip the header by its length and "
		"count the UDP datagram behind it",
}

# tshark protocol names (oracle "protocols") that mean a tunnel: tshark then
# counts a packet in its outer flow and its inner one; we key it on the inner
# one only, or on the outer one for tunnels we do not open.
TUNNEL_PROTOCOLS = {"gre", "vxlan", "geneve", "gtp", "teredo", "erspan", "l2tp",
		    "ipip", "ip-in-ip", "6in4", "etherip", "mpls-in-ip", "nsh", "pptp"}

EXCLUDED_DIRS = ("malformed",)
BENCH_DIR = "bench"


def session_of(db, exe, sid):
	r = L.run([exe, "sessions", "-d", db, "--json", "-q"], timeout=120)
	if r.rc != 0:
		return None, "sessions: " + r.describe()
	try:
		for s in r.json():
			if s.get("session_id") == sid:
				return s, None
	except ValueError as e:
		return None, "sessions: bad JSON: %s" % e
	return None, "sessions: session %s not listed" % sid


def tunnel_kinds(oracle, facts):
	kinds = set(facts.tunnels)
	kinds |= {p for p in oracle.get("protocols", {}) if p in TUNNEL_PROTOCOLS}
	if any(f.get("tunneled") for f in oracle.get("flows", [])):
		kinds.add("tunneled-flows")
	return kinds


def explain_flow(fl, facts, tunnel_pairs, oracle):
	"""Why a differing flow is a legitimate difference, or None."""
	if (fl.proto, fl.ip_pair()) in facts.frag_pairs or fl.ip_pair() in facts.frag_ip_pairs:
		return "fragments"
	if tunnel_pairs and fl.ip_pair() in tunnel_pairs:
		return "tunnel"
	if oracle.get("tshark_messages"):
		return "tshark complained"
	return None


def check_capture(args):
	rel, corpus, exe, verbose = args
	t0 = time.monotonic()
	res = {"file": rel, "status": "FAIL", "details": [], "explain": set(), "seconds": 0.0,
	       "packets": 0}
	path = os.path.join(corpus, rel)
	oracle = L.load_oracle(corpus, rel)
	if oracle is None:
		res["status"] = "skipped"
		res["details"].append("no .expect.json")
		return res
	tmp = tempfile.mkdtemp(prefix="pr-corpus-")
	try:
		_check(res, path, rel, corpus, exe, oracle, tmp, verbose)
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	res["seconds"] = time.monotonic() - t0
	res["explain"] = sorted(res["explain"])
	return res


def _check(res, path, rel, corpus, exe, oracle, tmp, verbose):
	db = os.path.join(tmp, "corpus.db")
	big = os.path.getsize(path) > 4 << 20
	r = L.run([exe, "capture", "-r", path, "-d", db, "-s", SNAPLEN, "--json", "-q"],
		  timeout=600 if big else 120)
	fails = []
	san = L.sanitizer_report(r.stderr)
	if san:
		fails.append("sanitizer report (%s) on stderr" % san)
	if r.rc != 0:
		res["details"] = fails + ["capture failed: " + r.describe()]
		return
	try:
		summ = r.json()
	except ValueError as e:
		res["details"] = fails + ["capture --json: bad JSON: %s" % e]
		return
	res["packets"] = summ.get("packets", 0)
	# every packet of the file is stored, filtered or counted as a drop
	if summ.get("status") == "completed" and P.accounting_error(summ):
		fails.append("capture does not add up: " + P.accounting_error(summ))

	# --- packet counts and bytes (must be exact) ---
	for ours_key, their_key in (("packets", "packets"), ("bytes", "bytes_wire"),
				    ("captured_bytes", "bytes_captured")):
		if summ.get(ours_key) != oracle[their_key]:
			fails.append("%s %s != tshark %s %s" % (ours_key, summ.get(ours_key), their_key,
								 oracle[their_key]))
	if summ.get("status") != "completed" or summ.get("end_reason") != "eof":
		fails.append("status %s/%s, want completed/eof" % (summ.get("status"),
								   summ.get("end_reason")))
	if summ.get("drops_total", 0) != 0:
		fails.append("drops_total %s" % summ.get("drops_total"))

	sid = summ.get("session_id")
	sess, err = session_of(db, exe, sid)
	if err:
		fails.append(err)
	else:
		if sess.get("packets") != summ.get("packets"):
			fails.append("sessions packets %s != capture %s" % (sess.get("packets"),
									   summ.get("packets")))
		# first_packet_ts/last_packet_ts are compared with the oracle's
		# min_ts/max_ts: the store keeps the earliest and latest timestamp
		# of the session (they differ from first_ts/last_ts, the first and
		# last frame in file order, only where timestamps go backwards, e.g.
		# linktypes_formats/pcpp_many_interfaces-1.pcapng).
		if oracle["packets"]:
			want = (L.ts_to_ns(oracle["min_ts"]), L.ts_to_ns(oracle["max_ts"]))
			got = (sess.get("first_packet_ts"), sess.get("last_packet_ts"))
			if got != want:
				order = (L.ts_to_ns(oracle["first_ts"]), L.ts_to_ns(oracle["last_ts"]))
				note = " (= tshark first/last in file order)" if got == order else ""
				fails.append("first/last_packet_ts %s/%s != tshark min/max %s/%s%s" % (
					_ts(got[0]), _ts(got[1]), oracle["min_ts"], oracle["max_ts"], note))

	# --- flows ---
	r = L.run([exe, "flows", "-d", db, "--session", str(sid), "--json", "-q"],
		  timeout=300 if big else 120)
	if r.rc != 0:
		res["details"] = fails + ["flows failed: " + r.describe()]
		return
	try:
		records = r.json()
	except ValueError as e:
		res["details"] = fails + ["flows --json: bad JSON: %s" % e]
		return
	if summ.get("flows") is not None and summ.get("flows") != len(records):
		fails.append("capture says %s flows, flows --json lists %d" % (summ.get("flows"),
										len(records)))

	fails.extend(compare_store_modes(exe, path, db, sid, tmp, big))

	syn = L.SynLookup(path)
	# Flows taken out of a tunnel are keyed on the inner packet: they are
	# compared with tshark's inner streams, the rest with its outer ones.
	inner = [x for x in records if x.get("tunnel")]
	records = [x for x in records if not x.get("tunnel")]
	tun_lines = check_tunnelled(res, path, oracle, inner, syn, fails)
	diff = L.compare_flows(L.our_flows(records, syn), L.oracle_flows(oracle))
	limit = None if verbose else 4
	explained_lines = []
	if not diff.ok():
		# Known differences of keying, not of counting: retry with them
		# taken out, and say so.
		theirs, udp_split = L.merge_udp_streams(L.oracle_flows(oracle))
		ours, vlans = L.merge_vlans(L.our_flows(records, syn))
		if udp_split or vlans:
			diff = L.compare_flows(ours, theirs)
			if udp_split:
				res["explain"].add("tshark split a UDP 5-tuple")
			if vlans:
				res["explain"].add("5-tuple on several VLANs")
	if not diff.ok():
		facts = L.capture_facts(path)
		tkinds = tunnel_kinds(oracle, facts)
		tunnel_pairs = set()
		if tkinds:
			# outer endpoints carrying a tunnel, and tshark's inner flows
			tunnel_pairs |= facts.tunnel_ip_pairs
			tunnel_pairs |= {f.ip_pair() for f in L.oracle_flows(oracle, which="tunneled")}
		unexplained = False
		for fl in diff.all_flows():
			why = explain_flow(fl, facts, tunnel_pairs, oracle)
			if why is None:
				unexplained = True
			else:
				res["explain"].add(why)
		lines = L.describe_diff(diff, limit)
		if unexplained:
			fails.extend(lines)
			if oracle.get("linktypes") and set(oracle["linktypes"]) - {1}:
				fails.append("linktypes %s" % oracle["linktypes"])
		else:
			explained_lines = lines
	elif res["explain"]:
		explained_lines = ["%d flows matched after merging" % diff.matched]
	if fails:
		res["details"] = fails
		if rel in ALLOWLIST:
			res["status"] = "allowed"
			res["details"] = ["allowlisted: " + ALLOWLIST[rel]] + fails
		return
	if explained_lines or "tunnelled fragments" in res["explain"]:
		res["status"] = "explained"
		res["details"] = (["(%s) " % ", ".join(sorted(res["explain"]))] + explained_lines +
				  tun_lines)
	else:
		res["status"] = "exact"
		res["details"] = ["%d flows matched" % diff.matched] + tun_lines


def check_tunnelled(res, path, oracle, inner, syn, fails):
	"""Our flows taken out of tunnels against tshark's TCP/UDP streams
	inside a tunnel (`tunneled: true`). A capture whose outer datagrams are
	fragmented differs: tshark reassembles them and counts the inner packet,
	we keep the fragments on the outer flow (docs/DECODING.md)."""
	theirs = L.oracle_flows(oracle, which="tunneled")
	ours = L.our_flows(inner, syn)
	if not ours and not theirs:
		return []
	diff = L.compare_flows(ours, theirs)
	if diff.ok():
		return ["%d tunnelled flows matched tshark's inner streams" % diff.matched]
	facts = L.capture_facts(path)
	lines = ["tunnelled: " + x for x in L.describe_diff(diff, 4)]
	if facts.frag_pairs or facts.frag_ip_pairs:
		res["explain"].add("tunnelled fragments")
		return lines
	fails.extend(lines)
	return []


def compare_store_modes(exe, path, db, sid, tmp, big):
	"""The same capture in a --store-mode db store must answer exactly as the
	segment store db did: query, flows and the pcapng export, byte for byte."""
	db2 = os.path.join(tmp, "corpus-dbmode.db")
	t = 600 if big else 120
	r = L.run([exe, "capture", "-r", path, "-d", db2, "-s", SNAPLEN, "--store-mode", "db",
		   "-q"], timeout=t)
	if r.rc != 0:
		return ["capture --store-mode db failed: " + r.describe()]
	out = []
	for what, args in (("query --json", ["query", "--session", str(sid), "--json", "-q"]),
			   ("flows --json", ["flows", "--session", str(sid), "--json", "-q"])):
		a = L.run([exe] + args + ["-d", db], timeout=t)
		b = L.run([exe] + args + ["-d", db2], timeout=t)
		if a.rc != 0 or b.rc != 0 or a.stdout != b.stdout:
			out.append("store modes differ: %s (segments exit %s, db exit %s)" % (
				what, a.rc, b.rc))
	sums = []
	for d, name in ((db, "seg.pcapng"), (db2, "db.pcapng")):
		o = os.path.join(tmp, name)
		r = L.run([exe, "export", "--session", str(sid), "-d", d, "-o", o, "--format",
			   "pcapng", "-q"], timeout=t)
		if r.rc != 0:
			out.append("export from the %s store failed: %s" % (name[:-7], r.describe()))
			return out
		with open(o, "rb") as fh:
			sums.append(hashlib.sha256(fh.read()).hexdigest())
	if sums[0] != sums[1]:
		out.append("store modes differ: the pcapng exports are not byte-identical")
	return out


def _ts(v):
	return L.ns_to_str(v) if isinstance(v, int) else repr(v)


def main():
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("-v", "--verbose", action="store_true", help="all details of every capture")
	ap.add_argument("-j", "--jobs", type=int, default=2)
	ap.add_argument("--no-bench", action="store_true", help="leave out the big bench/ captures")
	ap.add_argument("only", nargs="*", help="run the captures whose path contains one of these")
	opts = ap.parse_args()
	corpus, exe = L.require_corpus_and_binary()
	no_bench = opts.no_bench or os.environ.get("PR_CORPUS_NO_BENCH") == "1"
	excluded = EXCLUDED_DIRS + ((BENCH_DIR,) if no_bench else ())
	files = L.list_captures(corpus, exclude_dirs=excluded)
	if opts.only:
		files = [f for f in files if any(s in f for s in opts.only)]
	# Biggest first so the two workers finish together.
	files.sort(key=lambda f: -os.path.getsize(os.path.join(corpus, f)))
	t0 = time.monotonic()
	results = []
	with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
		for res in pool.map(check_capture, [(f, corpus, exe, opts.verbose) for f in files]):
			results.append(res)
	results.sort(key=lambda r: r["file"])
	wall = time.monotonic() - t0

	width = max([len(r["file"]) for r in results] + [4])
	print("%-*s  %-9s  %s" % (width, "file", "status", "details"))
	print("%s  %s  %s" % ("-" * width, "-" * 9, "-" * 40))
	counts = {}
	for r in results:
		counts[r["status"]] = counts.get(r["status"], 0) + 1
		det = r["details"] if (opts.verbose or r["status"] != "exact") else r["details"][:1]
		limit = None if opts.verbose else 5
		det = det[:limit] if limit else det
		print("%-*s  %-9s  %s" % (width, r["file"], r["status"], det[0] if det else ""))
		for d in det[1:]:
			print("%-*s  %-9s    %s" % (width, "", "", d))
	failed = counts.get("FAIL", 0)
	passed = counts.get("exact", 0) + counts.get("explained", 0) + counts.get("allowed", 0)
	print()
	print("%d passed (%d exact, %d explained, %d allowed), %d failed, %d skipped; "
	      "%d captures in %.1f s" % (passed, counts.get("exact", 0), counts.get("explained", 0),
					 counts.get("allowed", 0), failed, counts.get("skipped", 0),
					 len(results), wall))
	return 1 if failed else 0


if __name__ == "__main__":
	sys.exit(main())
