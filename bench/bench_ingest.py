#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Ingest and export benchmark of packetrecorder against tcpdump.

For each trace (the largest capture in ../shared/corpus/bench, and a
generated mixed trace of --packets packets, see gen_mixed.py):
  ingest, encrypted  packetrecorder capture -r TRACE -d DB --encryption-key <raw hex> --json
  ingest, plaintext  packetrecorder capture -r TRACE -d DB --json
  peer               tcpdump -r TRACE -w OUT
  export, encrypted  packetrecorder export -d DB --session 1 --output OUT.pcap
  peer               tcpdump -r EXPORTED.pcap -w OUT
Each row runs --runs times (default 3; a fresh store or output each time) and
shows the median wall time; packets/s and MB/s are computed from it (MB/s =
captured bytes / wall time, 1 MB = 10^6 bytes). CPU is user + system time of
the command and its children, max RSS the largest resident set of any
process in its tree (both from wait4()). The page cache is warmed by reading
each input once before timing. Prints a Markdown report on stdout.

    bench_ingest.py [--bin PATH] [--workdir DIR] [--keep] [--runs N]
                    [--packets N] [--trace FILE ...] [--no-generate]
"""

import argparse
import datetime
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)


def find_binary(arg):
	for cand in (arg, os.environ.get("PR_BIN"),
		     os.path.join(SOURCE, "build-lead", "controlplane", "packetrecorder"),
		     os.path.join(SOURCE, "build", "controlplane", "packetrecorder")):
		if cand and os.access(cand, os.X_OK):
			return os.path.abspath(cand)
	sys.exit("bench: packetrecorder not found (use --bin or PR_BIN)")


def snapshot_binaries(exe, work):
	"""Copy packetrecorder and its dataplane into work/bin (packetrecorder
	looks for the dataplane next to itself), so a rebuild during the run
	cannot change or break what is measured."""
	here = os.path.dirname(exe)
	dp = None
	for cand in (os.environ.get("PACKETRECORDER_DATAPLANE"),
		     os.path.join(here, "packetrecorder-dataplane"),
		     os.path.join(here, "..", "dataplane", "packetrecorder-dataplane")):
		if cand and os.access(cand, os.X_OK):
			dp = cand
			break
	if dp is None:
		return exe
	bindir = os.path.join(work, "bin")
	os.makedirs(bindir, exist_ok=True)
	for src in (exe, dp):
		shutil.copy2(src, os.path.join(bindir, os.path.basename(src)))
	return os.path.join(bindir, "packetrecorder")


class Measure:
	def __init__(self, wall, cpu, rss_kb, rc, stdout, stderr):
		self.wall = wall
		self.cpu = cpu
		self.rss_kb = rss_kb
		self.rc = rc
		self.stdout = stdout
		self.stderr = stderr


def timed(argv, env=None):
	"""Run argv; wall time, CPU (user+sys incl. children) and max RSS of the tree."""
	with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
		t0 = time.monotonic()
		p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
		_pid, status, ru = os.wait4(p.pid, 0)
		wall = time.monotonic() - t0
		p.returncode = os.waitstatus_to_exitcode(status)
		out.seek(0)
		err.seek(0)
		return Measure(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, p.returncode,
			       out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def warm(path):
	with open(path, "rb") as f:
		while f.read(8 << 20):
			pass


def dir_bytes(path):
	total = 0
	for root, _dirs, files in os.walk(path):
		for n in files:
			total += os.path.getsize(os.path.join(root, n))
	return total


def pcap_totals(path):
	"""(packets, captured bytes) of a classic pcap file, read with the
	standard library (the numbers MB/s are computed from)."""
	import struct
	n = 0
	cap = 0
	with open(path, "rb") as f:
		hdr = f.read(24)
		if len(hdr) < 24:
			return 0, 0
		magic = struct.unpack("<I", hdr[:4])[0]
		e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
		rec = struct.Struct(e + "IIII")
		while True:
			h = f.read(16)
			if len(h) < 16:
				break
			_s, _u, incl, _orig = rec.unpack(h)
			f.seek(incl, 1)
			n += 1
			cap += incl
	return n, cap


def tool_versions(exe):
	v = {}
	try:
		v["packetrecorder"] = subprocess.run([exe, "--version"], capture_output=True, text=True,
						     timeout=10).stdout.strip().splitlines()[0]
	except (OSError, IndexError, subprocess.SubprocessError):
		v["packetrecorder"] = "?"
	try:
		r = subprocess.run(["tcpdump", "--version"], capture_output=True, text=True, timeout=10)
		v["tcpdump"] = "; ".join(l.strip() for l in (r.stdout + r.stderr).splitlines()[:2])
	except OSError:
		v["tcpdump"] = "not installed"
	v["python"] = platform.python_version()
	return v


def machine_facts():
	cpu = "?"
	try:
		with open("/proc/cpuinfo") as f:
			for line in f:
				if line.startswith("model name"):
					cpu = line.split(":", 1)[1].strip()
					break
	except OSError:
		pass
	mem = "?"
	try:
		with open("/proc/meminfo") as f:
			kb = int(f.readline().split()[1])
			mem = "%.1f GiB" % (kb / 1048576)
	except (OSError, ValueError, IndexError):
		pass
	return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(), "memory": mem}


def loadavg():
	try:
		with open("/proc/loadavg") as f:
			return " ".join(f.read().split()[:3])
	except OSError:
		return "?"


class Row:
	def __init__(self, trace, what, cmd, packets, cap_bytes, runs, note=""):
		print("bench:   %-28s %s s" % (what, " / ".join("%.2f" % r.wall for r in runs)),
		      file=sys.stderr)
		self.trace = trace
		self.what = what
		self.cmd = cmd
		self.packets = packets
		self.cap_bytes = cap_bytes
		self.runs = runs
		self.note = note

	def median(self, attr):
		return statistics.median(getattr(r, attr) for r in self.runs)

	def cells(self):
		wall = self.median("wall")
		return [self.trace, self.what, "%d" % self.packets, "%.1f" % (self.cap_bytes / 1e6),
			"%.3f" % wall, "%.0f" % (self.packets / wall / 1e3), "%.1f" % (self.cap_bytes / wall / 1e6),
			"%.2f" % self.median("cpu"), "%.0f" % (max(r.rss_kb for r in self.runs) / 1024),
			" / ".join("%.3f" % r.wall for r in self.runs), self.note]


def fail(msg, m):
	sys.exit("bench: %s failed (exit %s): %s" % (msg, m.rc, m.stderr.strip()[-400:]))


def bench_trace(exe, trace, label, work, runs, rows):
	warm(trace)
	packets, cap = pcap_totals(trace)
	key = os.urandom(32).hex()
	env = dict(os.environ)
	env.pop("PACKETRECORDER_DB_KEY", None)
	env.pop("PACKETRECORDER_DATAPLANE", None)  # use the snapshot next to exe

	# Ingest, encrypted (raw key, no KDF)
	meas = []
	db_size = 0
	for i in range(runs):
		d = os.path.join(work, "enc%d" % i)
		os.makedirs(d)
		m = timed([exe, "capture", "-r", trace, "-d", os.path.join(d, "s.db"),
			   "--encryption-key", key, "--json", "-q"], env)
		if m.rc != 0:
			fail("encrypted ingest of " + trace, m)
		s = json.loads(m.stdout)
		if s.get("packets") != packets or s.get("drops_total"):
			sys.exit("bench: ingest stored %s packets (want %d), drops %s" % (
				s.get("packets"), packets, s.get("drops_total")))
		meas.append(m)
		db_size = dir_bytes(d)
		if i != runs - 1:
			shutil.rmtree(d)
	enc_dir = os.path.join(work, "enc%d" % (runs - 1))
	rows.append(Row(label, "ingest, encrypted store", "packetrecorder capture -r --encryption-key",
			packets, cap, meas, "store %.2fx input" % (db_size / max(1, os.path.getsize(trace)))))

	# Ingest, plaintext
	meas = []
	for i in range(runs):
		d = os.path.join(work, "plain%d" % i)
		os.makedirs(d)
		m = timed([exe, "capture", "-r", trace, "-d", os.path.join(d, "s.db"), "--json", "-q"], env)
		if m.rc != 0:
			fail("plaintext ingest of " + trace, m)
		meas.append(m)
		db_size = dir_bytes(d)
		shutil.rmtree(d)
	rows.append(Row(label, "ingest, plaintext store", "packetrecorder capture -r", packets, cap,
			meas, "store %.2fx input" % (db_size / max(1, os.path.getsize(trace)))))

	# Peer: tcpdump -r -w
	meas = []
	out = os.path.join(work, "tcpdump.pcap")
	for _ in range(runs):
		m = timed(["tcpdump", "-r", trace, "-w", out])
		if m.rc != 0:
			fail("tcpdump -r -w", m)
		meas.append(m)
		os.unlink(out)
	rows.append(Row(label, "peer: tcpdump -r -w", "tcpdump -r TRACE -w OUT", packets, cap, meas))

	# Export from the encrypted store
	meas = []
	exported = os.path.join(work, "export.pcap")
	identical = None
	for i in range(runs):
		if os.path.exists(exported):
			os.unlink(exported)
		m = timed([exe, "export", "-d", os.path.join(enc_dir, "s.db"), "--encryption-key", key,
			   "--session", "1", "--output", exported, "--json", "-q"], env)
		if m.rc != 0:
			fail("export", m)
		meas.append(m)
	identical = _same_file(exported, trace)
	rows.append(Row(label, "export, encrypted store", "packetrecorder export --session 1", packets,
			cap, meas, "output identical to input" if identical else "output differs from input"))

	# Peer: tcpdump re-writing the exported file
	warm(exported)
	meas = []
	for _ in range(runs):
		m = timed(["tcpdump", "-r", exported, "-w", out])
		if m.rc != 0:
			fail("tcpdump -r export -w", m)
		meas.append(m)
		os.unlink(out)
	rows.append(Row(label, "peer: tcpdump -r EXPORT -w", "tcpdump -r EXPORT -w OUT", packets, cap,
			meas))
	shutil.rmtree(enc_dir)
	os.unlink(exported)


def _same_file(a, b):
	if os.path.getsize(a) != os.path.getsize(b):
		return False
	with open(a, "rb") as fa, open(b, "rb") as fb:
		while True:
			x = fa.read(8 << 20)
			y = fb.read(8 << 20)
			if x != y:
				return False
			if not x:
				return True


def markdown(rows, facts, versions, started, load0, load1, traces, gen_note):
	lines = []
	lines.append("Measured %s UTC by `bench/run.sh` on %d CPU(s) (%s), kernel %s, %s RAM; "
		     "load average %s before, %s after." % (
			     started.strftime("%Y-%m-%d %H:%M"), facts["nproc"], facts["cpu"],
			     facts["kernel"], facts["memory"], load0, load1))
	lines.append("")
	lines.append("Tools: %s; %s; Python %s." % (versions["packetrecorder"], versions["tcpdump"],
						   versions["python"]))
	lines.append("")
	for label, path, desc in traces:
		lines.append("- `%s`: %s" % (label, desc))
	if gen_note:
		lines.append("- %s" % gen_note)
	lines.append("")
	head = ["trace", "operation", "packets", "MB", "wall s (median)", "kpps", "MB/s",
		"CPU s", "max RSS MiB", "runs (s)", "note"]
	lines.append("| " + " | ".join(head) + " |")
	lines.append("|" + "|".join(["---"] * 2 + ["---:"] * 8 + ["---"]) + "|")
	for r in rows:
		lines.append("| " + " | ".join(r.cells()) + " |")
	lines.append("")
	lines.append("MB = 10^6 bytes of captured packet data; kpps and MB/s from the median wall "
		     "time; CPU s = user + system of the whole process tree (median); max RSS = "
		     "largest single process of the tree, over all runs.")
	return "\n".join(lines)


def main():
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("--bin", help="packetrecorder (default: $PR_BIN, build-lead/, build/)")
	ap.add_argument("--workdir", help="where intermediate files go (default: a temp dir)")
	ap.add_argument("--keep", action="store_true", help="keep the workdir")
	ap.add_argument("--runs", type=int, default=3)
	ap.add_argument("--packets", type=int, default=2000000, help="size of the generated trace")
	ap.add_argument("--trace", action="append", default=[],
			help="benchmark this pcap (default: largest of corpus/bench + a generated one)")
	ap.add_argument("--no-generate", action="store_true", help="no generated trace")
	ap.add_argument("--corpus", default=os.environ.get("PR_CORPUS",
							   os.path.join(SOURCE, "..", "shared", "corpus")))
	opts = ap.parse_args()
	exe = find_binary(opts.bin)
	if not shutil.which("tcpdump"):
		sys.exit("bench: tcpdump not found")
	started = datetime.datetime.now(datetime.timezone.utc)
	load0 = loadavg()
	work = opts.workdir or tempfile.mkdtemp(prefix="pr-bench-")
	os.makedirs(work, exist_ok=True)
	made_work = opts.workdir is None
	traces = []
	gen_note = ""
	try:
		exe = snapshot_binaries(exe, work)
		for t in opts.trace:
			traces.append((os.path.basename(t), os.path.abspath(t), "given on the command line"))
		if not opts.trace:
			bench_files = sorted(glob.glob(os.path.join(opts.corpus, "bench", "*.pcap")),
					     key=os.path.getsize)
			if bench_files:
				t = bench_files[-1]
				traces.append((os.path.basename(t), t,
					       "largest capture of `../shared/corpus/bench/` (real traffic, "
					       "concatenated)"))
			else:
				print("bench: no captures in %s/bench; skipping that trace" % opts.corpus,
				      file=sys.stderr)
			if not opts.no_generate:
				gen = os.path.join(work, "mixed.pcap")
				t0 = time.monotonic()
				r = subprocess.run([sys.executable, os.path.join(HERE, "gen_mixed.py"), "--output",
						    gen, "--packets", str(opts.packets)], capture_output=True,
						   text=True)
				if r.returncode != 0:
					sys.exit("bench: gen_mixed.py failed: " + r.stderr)
				gen_note = "generating `mixed-%d.pcap` took %.1f s (`bench/gen_mixed.py`)" % (
					opts.packets, time.monotonic() - t0)
				traces.append(("mixed-%d.pcap" % opts.packets, gen,
					       "`bench/gen_mixed.py --packets %d` (seed 1): TCP sessions with "
					       "handshakes and teardown, DNS, UDP, ICMP, 12 %% IPv6, 10 %% VLAN, "
					       "frames 64-1514 bytes" % opts.packets))
		rows = []
		for label, path, _desc in traces:
			print("bench: %s ..." % label, file=sys.stderr)
			sub = os.path.join(work, "run-" + label)
			os.makedirs(sub, exist_ok=True)
			bench_trace(exe, path, label, sub, opts.runs, rows)
			shutil.rmtree(sub, ignore_errors=True)
		load1 = loadavg()
		print(markdown(rows, machine_facts(), tool_versions(exe), started, load0, load1, traces,
			       gen_note))
	finally:
		if made_work and not opts.keep:
			shutil.rmtree(work, ignore_errors=True)
		elif not opts.keep and opts.workdir:
			for n in ("mixed.pcap",):
				p = os.path.join(work, n)
				if os.path.exists(p):
					os.unlink(p)
	return 0


if __name__ == "__main__":
	sys.exit(main())
