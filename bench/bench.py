#!/usr/bin/env python3
"""bench.py - phitrail's cost, measured as ratios against the bare program.

Started by bench/run.sh (which compiles build/bench/fileloop first); see the
header of run.sh for the cases, the options and how to read the output.

This file owns the measuring discipline: every timed figure comes from
interleaved runs (bare, phitrail, bare, phitrail, ...) in the same session,
summarised as the median with the min-max of the per-pair ratios; a case
that cannot run says "not measured" and why, never a made-up number. It must
never touch anything outside its own scratch directories (under /tmp) and
build/bench/, never leave a collector running, and never loop unbounded:
every loop has a count and every wait a timeout.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import fleet
import kernel
import scale

FILES = 256                 # files in each tree (16 patients x 16 files)
PATIENT = "rare"            # the patient of the query case: 100 records
PATIENT_RECORDS = 100       # among everything cases 1-4 stored

# Iteration counts per run, (full, quick). Each loop is also capped in
# seconds by fileloop -s.
SIZES = {
    "runs": (9, 3),
    "nonphi": (100000, 10000),
    "phi": (50000, 5000),
    "strace": (4000, 500),
    "threads": (20000, 2000),      # per thread
    "forks": (300, 40),
    "ingest_runs": (3, 1),
    "ingest_batch_records": (200000, 8000),
    "ingest_every_records": (10000, 2000),
    "ingest_timeout_s": (120, 20),
    "query_runs": (7, 3),
    "filled_records": (10000000, 20000),   # case 5/6 "into a store holding N"
    "store_ingest_records": (200000, 5000),
    "callgrind": (2000, 500),
    "fleet_records": (200000, 20000),      # case 8, per run
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class NotMeasured(Exception):
    pass


# --- the pieces ----------------------------------------------------------

class Pieces:
    def __init__(self, root):
        b = os.path.join(root, "build")
        self.root = root
        self.shim = os.environ.get("PHITRAIL_LIB", os.path.join(b, "libphitrail.so"))
        self.collector = os.path.join(b, "phitraild")
        self.cli = os.path.join(b, "phitrail")
        self.fileloop = os.path.join(b, "bench", "fileloop")
        self.out = os.path.join(b, "bench")

    def have(self, what):
        return os.access(getattr(self, what), os.R_OK)


class Deployment:
    """A scratch phitrail deployment: config, trees, store, collector."""

    def __init__(self, pieces, flush="batch", label="main", extra="", settings="",
                 phi_dir=None):
        self.p = pieces
        self.dir = tempfile.mkdtemp(prefix="phitrail-bench-%s." % label)
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "phitrail.conf")
        # the PHI tree: beside the rest (one filesystem), or under phi_dir
        self.phi_top = (tempfile.mkdtemp(prefix="phitrail-bench-phi.", dir=phi_dir)
                        if phi_dir else None)
        if self.phi_top:
            os.chmod(self.phi_top, 0o755)
        self.phi = os.path.join(self.phi_top or self.dir, "patients")
        self.other = os.path.join(self.dir, "other")
        self.db = os.path.join(self.dir, "db", "audit.db")
        for d in ("run", "db"):
            os.makedirs(os.path.join(self.dir, d), mode=0o755)
        with open(self.conf, "w") as f:
            f.write("[phitrail]\n"
                    "workspace_id = bench\n"
                    "socket = %(d)s/run/ingest.sock\n"
                    "query_socket = %(d)s/run/query.sock\n"
                    "database = %(d)s/db/audit.db\n"
                    "spool = %(d)s/spool\n"
                    "flush = %(flush)s\n"
                    "key_file = %(d)s/db/signing.key\n"
                    "%(settings)s"
                    "\n[rule charts]\n"
                    "files = %(phi)s/{patient}/**\n"
                    % {"d": self.dir, "flush": flush, "settings": settings,
                       "phi": self.phi})
            f.write(extra)
        for tree in (self.phi, self.other):
            subprocess.run([self.p.fileloop, "-c", tree, str(FILES)], check=True)
        self.proc = None
        self.log = open(os.path.join(self.dir, "collector.log"), "ab")

    def env(self, shim):
        e = dict(os.environ)
        e["PHITRAIL_CONFIG"] = self.conf
        e.pop("LD_PRELOAD", None)
        if shim:
            e["LD_PRELOAD"] = self.p.shim
        return e

    def start(self, *args):
        if not self.p.have("collector") or not self.p.have("cli"):
            raise NotMeasured("build/phitraild or build/phitrail not built")
        self.proc = subprocess.Popen([self.p.collector, "--config", self.conf] + list(args),
                                     stdout=self.log, stderr=self.log,
                                     env=self.env(False))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise NotMeasured("the collector exited at start (see %s/collector.log)"
                                  % self.dir)
            if self.count() is not None:
                return
            time.sleep(0.05)
        self.stop()
        raise NotMeasured("the collector did not answer within 10 s")

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def remove(self, keep):
        self.stop()
        self.log.close()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            if self.phi_top:
                shutil.rmtree(self.phi_top, ignore_errors=True)

    def count(self, *extra):
        try:
            r = subprocess.run([self.p.cli, "query", "--config", self.conf, "--count"]
                               + list(extra), capture_output=True, text=True,
                               timeout=30, env=self.env(False))
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0:
            return None
        try:
            return int(r.stdout.split()[0])
        except (ValueError, IndexError):
            return None

    def collector_pids(self):
        """The collector's processes: the parent and its children (the
        store process, the signer); None when it is not running."""
        if self.proc is None:
            return None
        pid = self.proc.pid
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return [pid] + [int(p) for p in f.read().split()]
        except OSError:
            return None

    def cpu_s(self):
        """CPU seconds (user + system, every thread) of the collector's
        processes so far."""
        pids = self.collector_pids()
        if pids is None:
            return None
        ticks = 0
        for p in pids:
            try:
                with open("/proc/%d/stat" % p) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue
        return ticks / os.sysconf("SC_CLK_TCK")

    def status_kb(self, key):
        """key (VmHWM, VmRSS) summed over the collector's processes."""
        pids = self.collector_pids()
        if pids is None:
            return None
        total = None
        for p in pids:
            try:
                with open("/proc/%d/status" % p) as f:
                    for line in f:
                        if line.startswith(key + ":"):
                            total = (total or 0) + int(line.split()[1])
            except OSError:
                continue
        return total

    def wait_stored(self, at_least, timeout_s, stable_s=0.0):
        """Polls the count until it reaches at_least (then, when stable_s,
        until it stops changing for that long). Returns (count, seconds
        since the call when it was first seen at its final value)."""
        t0 = time.monotonic()
        last, last_change = None, t0
        while True:
            c = self.count()
            now = time.monotonic()
            if c is not None and c != last:
                last, last_change = c, now
            if last is not None and at_least is not None and last >= at_least \
                    and (stable_s == 0 or now - last_change >= stable_s):
                return last, last_change - t0
            if at_least is None and last is not None and now - last_change >= stable_s:
                return last, last_change - t0
            if now - t0 > timeout_s:
                return last, None
            time.sleep(0.02)


# --- running the loop ----------------------------------------------------

def parse_kv(text):
    out = {}
    for word in text.split():
        if "=" in word:
            k, v = word.split("=", 1)
            try:
                out[k] = float(v) if "." in v else int(v)
            except ValueError:
                out[k] = v
    return out


def fileloop(dep, tree, variant, n, threads=1, forked=False, exec_program=None,
             max_s=30, warmup=100, exe=None):
    args = [exe or dep.p.fileloop, "-n", str(n), "-t", str(threads), "-s", str(max_s),
            "-w", str(warmup)]
    if forked:
        args.append("-F")
    if exec_program:
        args += ["-X", exec_program]
    args += [tree, str(FILES)]
    if variant == "strace":
        args = ["strace", "-f", "-e", "trace=%file", "-o", "/dev/null"] + args
    r = subprocess.run(args, capture_output=True, text=True, timeout=max_s + 60,
                       env=dep.env(variant == "shim"))
    if r.returncode != 0:
        raise NotMeasured("fileloop (%s) failed: %s" % (variant, r.stderr.strip()[:200]))
    kv = parse_kv(r.stdout)
    if "ns_per_iteration" not in kv:
        raise NotMeasured("fileloop (%s) printed no result" % variant)
    return kv


def summary(values):
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "runs": len(values)}


def interleaved(dep, tree, variants, runs, n, drain=None, **kw):
    """Runs the variants in turn, runs times. After each audited run, when
    drain is given (the store), waits until the collector has caught up so
    the next run does not compete with the backlog for the CPUs."""
    per = {v: [] for v in variants}
    raw = {v: [] for v in variants}
    for _ in range(runs):
        for v in variants:
            kv = fileloop(dep, tree, v, n, **kw)
            per[v].append(kv["ns_per_iteration"])
            raw[v].append(kv)
            if drain is not None and v == "shim":
                drain()
    return per, raw


def ratio_stats(per, num, den):
    pairs = [a / b for a, b in zip(per[num], per[den]) if b > 0]
    med = statistics.median(per[num]) / statistics.median(per[den])
    return {"ratio": med, "pair_min": min(pairs), "pair_max": max(pairs)}


# --- calibration: records per iteration -----------------------------------

def calibrate(dep):
    """Records the shim produces per iteration of the PHI loop, and per
    process (constant). Two runs of different length, each waited for."""
    got = []
    for n in (500, 1500):
        before, _ = dep.wait_stored(None, 10, stable_s=0.5)
        fileloop(dep, dep.phi, "shim", n, warmup=0)
        after, _ = dep.wait_stored(None, 20, stable_s=0.5)
        if before is None or after is None:
            raise NotMeasured("the store's count is not readable")
        got.append(after - before)
    per_iteration = (got[1] - got[0]) / 1000.0
    per_process = got[0] - 500 * per_iteration
    return per_iteration, per_process


def syscalls_per_iteration(dep, tree, variant):
    """System calls per loop iteration, from strace -c over two loop
    lengths (the difference cancels start-up and exit)."""
    totals = []
    for n in (1000, 2000):
        out = os.path.join(dep.dir, "strace-c.txt")
        args = ["strace", "-f", "-c", "-o", out, dep.p.fileloop, "-n", str(n),
                "-w", "0", tree, str(FILES)]
        r = subprocess.run(args, capture_output=True, text=True, timeout=120,
                           env=dep.env(variant == "shim"))
        if r.returncode != 0:
            return None
        total = None
        with open(out) as f:
            for line in f:
                if line.strip().endswith("total"):
                    fields = line.split()
                    # % time, seconds, usecs/call, calls, [errors], "total"
                    total = int(fields[3])
        if total is None:
            return None
        totals.append(total)
    return (totals[1] - totals[0]) / 1000.0


# --- the cases -----------------------------------------------------------

class Bench:
    def __init__(self, args, root):
        self.args = args
        self.q = 1 if args.quick else 0
        self.p = Pieces(root)
        self.rows = []          # (case, bare, phitrail, ratio, note)
        self.cases = {}         # for summary.json
        self.calib = None
        self.no_collector = None    # why cases 1-4 ran without a collector

    def size(self, key):
        if key == "runs" and self.args.runs:
            return self.args.runs
        return SIZES[key][self.q]

    def row(self, case, bare, phitrail, ratio, note):
        self.rows.append((case, bare, phitrail, ratio, note))

    def not_measured(self, key, case, why):
        self.cases[key] = {"measured": False, "why": why}
        self.row(case, "-", "-", "not measured", why)
        log("  %s: not measured: %s" % (case, why))

    def drain_for(self, dep):
        def drain():
            if dep.proc is None or self.calib is None:
                return
            dep.wait_stored(None, 60, stable_s=0.3)
        return drain

    def loop_case(self, key, case, dep, tree, target, drain, **kw):
        runs = self.size("runs")
        per, raw = interleaved(dep, tree, ["bare", "shim"], runs, drain=drain, **kw)
        rs = ratio_stats(per, "shim", "bare")
        added = statistics.median(per["shim"]) - statistics.median(per["bare"])
        self.cases[key] = {
            "measured": True, "unit": "ns per iteration (open+read 4 KiB+close)",
            "bare": summary(per["bare"]), "phitrail": summary(per["shim"]),
            "ratio": rs["ratio"], "ratio_pair_min": rs["pair_min"],
            "ratio_pair_max": rs["pair_max"], "added_ns_per_iteration": added,
            "target_ratio": target,
            "rss_kb": {"bare": summary([r["rss_kb"] for r in raw["bare"]]),
                       "phitrail": summary([r["rss_kb"] for r in raw["shim"]])},
            "iterations_per_run": [r["iterations"] for r in raw["shim"]],
        }
        return per, raw, rs, added

    def fmt_ratio(self, rs):
        return "%.3f [%.3f-%.3f]" % (rs["ratio"], rs["pair_min"], rs["pair_max"])

    def case_nonphi(self, dep):
        log("case 1: open/read/close, files no rule matches")
        per, raw, rs, added = self.loop_case("1_nonphi", "1 non-PHI loop", dep,
                                             dep.other, 1.01, None,
                                             n=self.size("nonphi"))
        self.row("1 non-PHI loop", "%.0f ns" % statistics.median(per["bare"]),
                 "%.0f ns" % statistics.median(per["shim"]), self.fmt_ratio(rs),
                 "%+.0f ns/iteration; target <= 1.01" % added)

    def case_phi(self, dep):
        log("case 2: open/read/close, PHI files")
        drain = self.drain_for(dep)
        per, raw, rs, added = self.loop_case("2_phi", "2 PHI loop", dep, dep.phi,
                                             1.15, drain, n=self.size("phi"))
        note = "%+.0f ns/iteration" % added
        c = self.cases["2_phi"]
        if self.calib and self.calib[0] > 0:
            c["records_per_iteration"] = self.calib[0]
            c["added_ns_per_audited_call"] = added / self.calib[0]
            note += ", %+.0f ns/audited call (%.2f records/iteration)" % (
                added / self.calib[0], self.calib[0])
        for variant in ("bare", "shim"):
            s = syscalls_per_iteration(dep, dep.phi, variant)
            c["syscalls_per_iteration_" + ("bare" if variant == "bare" else "phitrail")] = s
        sb, ss = c["syscalls_per_iteration_bare"], c["syscalls_per_iteration_phitrail"]
        if sb is not None and ss is not None:
            note += ", syscalls/iteration %.2f -> %.2f" % (sb, ss)
        self.row("2 PHI loop", "%.0f ns" % statistics.median(per["bare"]),
                 "%.0f ns" % statistics.median(per["shim"]), self.fmt_ratio(rs),
                 note + "; target 1.15")
        bare_rss = statistics.median([r["rss_kb"] for r in raw["bare"]])
        shim_rss = statistics.median([r["rss_kb"] for r in raw["shim"]])
        self.cases["7_shim_rss"] = {
            "measured": True, "unit": "KiB VmRSS of fileloop after its PHI loop",
            "bare": bare_rss, "phitrail": shim_rss, "added_kb": shim_rss - bare_rss,
            "ratio": shim_rss / bare_rss if bare_rss else None}
        self.shim_rss_row = ("7 shim RSS/process", "%d KiB" % bare_rss,
                             "%d KiB" % shim_rss,
                             "%.2f" % (shim_rss / bare_rss) if bare_rss else "-",
                             "%+d KiB VmRSS after the PHI loop" % (shim_rss - bare_rss))
        return per

    def case_strace(self, dep):
        log("case 3: the PHI loop under strace -f -e trace=%file")
        runs = self.size("runs")
        drain = self.drain_for(dep)
        bare, shim, strace = [], [], []
        for _ in range(runs):
            bare.append(fileloop(dep, dep.phi, "bare", self.size("phi"))["ns_per_iteration"])
            shim.append(fileloop(dep, dep.phi, "shim", self.size("phi"))["ns_per_iteration"])
            drain()
            strace.append(fileloop(dep, dep.phi, "strace", self.size("strace"),
                                   max_s=10)["ns_per_iteration"])
        mb, ms, mt = (statistics.median(x) for x in (bare, shim, strace))
        shim_added = ms - mb
        strace_added = mt - mb
        pairs = [(t - b) / (s - b) for b, s, t in zip(bare, shim, strace) if s - b > 0]
        c = {"measured": True, "unit": "ns per iteration",
             "bare": summary(bare), "phitrail": summary(shim), "strace": summary(strace),
             "strace_over_bare": mt / mb, "shim_added_ns": shim_added,
             "strace_added_ns": strace_added, "target_added_ratio": 30}
        if shim_added > 0 and pairs:
            c["added_ratio"] = strace_added / shim_added
            c["added_ratio_pair_min"] = min(pairs)
            c["added_ratio_pair_max"] = max(pairs)
            rtext = "%.1f [%.1f-%.1f]" % (c["added_ratio"], min(pairs), max(pairs))
        else:
            rtext = "n/a (shim added <= 0)"
        self.cases["3_strace"] = c
        self.row("3 strace vs shim (PHI)", "%.0f ns" % mb, "%.0f ns" % ms, rtext,
                 "ratio = strace added / shim added (strace %.0f ns, %.1fx bare); "
                 "target >= 30" % (mt, mt / mb))

    def case_threads_forks(self, dep):
        drain = self.drain_for(dep)
        for threads in (2, 8):
            log("case 4: PHI loop, %d threads" % threads)
            key, case = "4_threads_%d" % threads, "4 PHI loop, %d threads" % threads
            per, raw, rs, added = self.loop_case(key, case, dep, dep.phi, None, drain,
                                                 n=self.size("threads"), threads=threads)
            self.cases[key]["unit"] = "ns of wall time per iteration, all threads"
            self.row(case, "%.0f ns" % statistics.median(per["bare"]),
                     "%.0f ns" % statistics.median(per["shim"]), self.fmt_ratio(rs),
                     "%+.0f ns/iteration (wall/all iterations)" % added)
        self.case_forks(dep)

    def case_forks(self, dep):
        """Case 4's process per file: forked (open/read/close, exit), and
        forked and exec'd as a shell loop runs cat (target 1.25)."""
        drain = self.drain_for(dep)
        cat = shutil.which("cat")
        for key, case, unit, kw in (
                ("4_fork_per_file", "4 PHI fork per file",
                 "ns per fork+open/read/close+exit+wait", {}),
                ("4_fork_exec_per_file", "4 PHI fork+exec cat per file",
                 "ns per fork+exec cat FILE+exit+wait", {"exec_program": cat})):
            if "exec_program" in kw and cat is None:
                self.not_measured(key, case, "no cat on PATH")
                continue
            log("case 4: PHI, %s" % case[6:])
            per, raw, rs, added = self.loop_case(key, case, dep, dep.phi, 1.25, drain,
                                                 n=self.size("forks"), forked=True, **kw)
            self.cases[key]["unit"] = unit
            self.row(case, "%.0f us" % (statistics.median(per["bare"]) / 1000),
                     "%.0f us" % (statistics.median(per["shim"]) / 1000),
                     self.fmt_ratio(rs), "%+.1f us/child; target 1.25" % (added / 1000))

    def ingest_once(self, flush, writers, records):
        dep = Deployment(self.p, flush=flush, label="ingest")
        try:
            dep.start()
            base, _ = dep.wait_stored(None, 10, stable_s=0.3)
            idle_hwm = dep.status_kb("VmHWM")
            cpu0 = dep.cpu_s()
            rpi, rpp = self.calib
            per_writer = max(1, int(records / writers / rpi))
            expected = base + int(round(writers * (per_writer * rpi + rpp)))
            t0 = time.monotonic()
            procs = [subprocess.Popen([self.p.fileloop, "-n", str(per_writer), "-w", "0",
                                       "-s", "120", dep.phi, str(FILES)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      env=dep.env(True)) for _ in range(writers)]
            failed = 0
            for pr in procs:
                pr.wait(timeout=300)
                failed += pr.returncode != 0
            t_writers = time.monotonic() - t0
            got, t_stored = dep.wait_stored(expected, self.size("ingest_timeout_s"))
            if t_stored is not None:
                t_stored += t_writers
            hwm = dep.status_kb("VmHWM")
            cpu1 = dep.cpu_s()
            stored = (got or base) - base
            return {"expected": expected - base, "stored": stored,
                    "collector_cpu_us_per_record":
                    (cpu1 - cpu0) * 1e6 / stored if cpu0 is not None and
                    cpu1 is not None and stored > 0 else None,
                    "writers_s": t_writers,
                    "stored_s": t_stored if t_stored is not None else
                    time.monotonic() - t0, "complete": t_stored is not None,
                    "writer_failures": failed, "collector_hwm_kb": hwm,
                    "collector_idle_hwm_kb": idle_hwm}
        finally:
            dep.remove(self.args.keep)

    def case_ingest(self):
        if self.calib is None or self.calib[0] <= 0:
            why = ("the PHI loop under the shim stored no records" if self.calib
                   else "no calibration: the collector did not run")
            for flush in ("batch", "every-record"):
                self.not_measured("5_ingest_" + flush, "5 ingest " + flush, why)
            return
        hwm_rows = []
        for flush in ("batch", "every-record"):
            records = self.size("ingest_batch_records" if flush == "batch"
                                else "ingest_every_records")
            peak = None
            for writers in (1, 4, 16):
                log("case 5: ingest, flush = %s, %d writer(s), ~%d records"
                    % (flush, writers, records))
                key = "5_ingest_%s_%d" % (flush, writers)
                case = "5 ingest %s, %d wr" % (flush, writers)
                results = []
                try:
                    for _ in range(self.size("ingest_runs")):
                        results.append(self.ingest_once(flush, writers, records))
                except NotMeasured as e:
                    self.not_measured(key, case, str(e))
                    continue
                rates = [r["stored"] / r["stored_s"] for r in results if r["stored_s"]]
                lags = [r["stored_s"] / r["writers_s"] for r in results if r["writers_s"]]
                incomplete = sum(not r["complete"] for r in results)
                self.cases[key] = {"measured": True, "unit": "records/s stored",
                                   "rate": summary(rates), "runs": results,
                                   "stored_over_written_time": summary(lags)}
                note = "stored/written time %.2f [%.2f-%.2f]" % (
                    statistics.median(lags), min(lags), max(lags))
                cpus = [r["collector_cpu_us_per_record"] for r in results
                        if r["collector_cpu_us_per_record"]]
                if cpus:
                    self.cases[key]["collector_cpu_us_per_record"] = summary(cpus)
                    note += ", collector CPU %.1f us/record" % statistics.median(cpus)
                if incomplete:
                    note += "; %d run(s) INCOMPLETE: %d of %d stored" % (
                        incomplete, results[-1]["stored"], results[-1]["expected"])
                if any(r["writer_failures"] for r in results):
                    note += "; a writer failed"
                if flush == "batch" and writers in (4, 16):
                    note += "; target >= 150000 rec/s"
                self.row(case, "-", "%.0f rec/s" % statistics.median(rates),
                         "[%.0f-%.0f]" % (min(rates), max(rates)), note)
                if writers == 16:
                    hw = [r["collector_hwm_kb"] for r in results if r["collector_hwm_kb"]]
                    idle = [r["collector_idle_hwm_kb"] for r in results
                            if r["collector_idle_hwm_kb"]]
                    if hw and idle:
                        peak = (max(hw), statistics.median(idle))
            if peak:
                self.cases["7_collector_hwm_" + flush] = {
                    "measured": True, "unit": "KiB VmHWM", "idle": peak[1],
                    "peak_16_writers": peak[0], "ratio": peak[0] / peak[1]}
                hwm_rows.append(("7 collector peak RSS, %s" % flush,
                                 "%d KiB" % peak[1], "%d KiB" % peak[0],
                                 "%.2f" % (peak[0] / peak[1]),
                                 "VmHWM idle vs after the 16-writer flood"))
            else:
                self.not_measured("7_collector_hwm_" + flush,
                                  "7 collector peak RSS, " + flush,
                                  "no 16-writer ingest run")
        self.hwm_rows = hwm_rows

    def query_table(self, dep):
        try:
            r = subprocess.run(["sqlite3", "-readonly", dep.db,
                                "SELECT name FROM sqlite_master WHERE type='table' "
                                "AND sql LIKE '%end_user_id%' LIMIT 1"],
                               capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        name = r.stdout.strip()
        return name if r.returncode == 0 and re.fullmatch(r"\w+", name or "") else None

    def patient_sql(self, table):
        """The best direct SQL for one patient's records: the same chunked
        index lookup as the store's own query (common/store/store_schema.h)."""
        shift = None
        for where in (("common", "store", "store_schema.h"), ("common", "store_schema.h")):
            try:
                with open(os.path.join(self.p.root, *where)) as f:
                    m = re.search(r"#define STORE_CHUNK_SHIFT (\d+)", f.read())
                    shift = int(m.group(1)) if m else None
                break
            except OSError:
                pass
        if shift is None:
            return "SELECT bytes FROM %s WHERE end_user_id='%s' ORDER BY id" % (table, PATIENT)
        return ("WITH RECURSIVE chunks(k) AS (SELECT (SELECT min(id) FROM %(t)s) >> %(s)d"
                " UNION ALL SELECT k + 1 FROM chunks WHERE k < (SELECT max(id) FROM %(t)s)"
                " >> %(s)d) SELECT bytes FROM %(t)s WHERE (id >> %(s)d) IN"
                " (SELECT k FROM chunks) AND end_user_id = '%(p)s' ORDER BY id"
                % {"t": table, "s": shift, "p": PATIENT})

    def case_query(self, dep, prefix=""):
        # One patient with a short trail in a store full of others'.
        rare = os.path.join(dep.phi, PATIENT)
        if not os.path.isdir(rare):
            subprocess.run([dep.p.fileloop, "-c", rare, "1"], check=True)
            subprocess.run([dep.p.fileloop, "-n", str(PATIENT_RECORDS), "-w", "0", rare, "1"],
                           check=True, stdout=subprocess.DEVNULL, env=dep.env(True))
        dep.wait_stored(None, 60, stable_s=0.5)
        table = self.query_table(dep)
        total = dep.count()
        since_ns = (time.time_ns() - 86400 * 10**9)
        cases = [
            (prefix + "6_query_patient", prefix + "6 query --patient",
             [self.p.cli, "query", "--config", dep.conf, "--patient", PATIENT],
             self.patient_sql(table)),
            (prefix + "6_query_count_1d", prefix + "6 query --count --since 1d",
             [self.p.cli, "query", "--config", dep.conf, "--count", "--since", "1d"],
             "SELECT count(*) FROM %s WHERE timestamp_ns >= %d" % (table, since_ns)),
        ]
        matched = dep.count("--patient", PATIENT)
        for key, case, cmd, sql in cases:
            log("case 6: %s (store of %s records)" % (case, total))
            variants = [("phitrail", cmd)]
            if table:
                variants.insert(0, ("bare", ["sqlite3", "-readonly", dep.db, sql]))
            times = {v: [] for v, _ in variants}
            for v, c in variants:            # warm the caches
                subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=120, env=dep.env(False))
            failed = None
            for _ in range(self.size("query_runs")):
                for v, c in variants:
                    t0 = time.perf_counter()
                    r = subprocess.run(c, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, timeout=120,
                                       env=dep.env(False))
                    times[v].append(time.perf_counter() - t0)
                    if r.returncode != 0:
                        failed = "%s exited %d: %s" % (v, r.returncode,
                                                       r.stderr.decode()[:200])
            if failed:
                self.not_measured(key, case, failed)
                continue
            c = {"measured": True, "unit": "seconds per command, warm, process included",
                 "store_records": total, "patient_records": matched,
                 "phitrail": summary(times["phitrail"])}
            mp = statistics.median(times["phitrail"])
            if table:
                c["bare"] = summary(times["bare"])
                rs = ratio_stats(times, "phitrail", "bare")
                c.update({"ratio": rs["ratio"], "ratio_pair_min": rs["pair_min"],
                          "ratio_pair_max": rs["pair_max"]})
                self.row(case, "%.1f ms" % (statistics.median(times["bare"]) * 1000),
                         "%.1f ms" % (mp * 1000), self.fmt_ratio(rs),
                         "bare = sqlite3 CLI on the store; %s records, %s of %s"
                         % (total, matched, PATIENT))
            else:
                self.row(case, "-", "%.1f ms" % (mp * 1000), "-",
                         "no sqlite3 baseline (table not found); %s records" % total)
            self.cases[key] = c

    def case_callgrind(self, dep):
        if shutil.which("valgrind") is None:
            self.not_measured("callgrind", "callgrind", "valgrind not installed")
            return
        n = self.size("callgrind")
        for key, case, tree in (("callgrind_1_nonphi", "1 callgrind non-PHI", dep.other),
                                ("callgrind_2_phi", "2 callgrind PHI", dep.phi)):
            log("callgrind: %s" % case)
            ir = {}
            for variant in ("bare", "shim"):
                out = os.path.join(dep.dir, "callgrind.%s.out" % variant)
                r = subprocess.run(["valgrind", "--tool=callgrind",
                                    "--toggle-collect=fileloop_timed",
                                    "--callgrind-out-file=" + out,
                                    dep.p.fileloop, "-n", str(n), "-s", "120",
                                    tree, str(FILES)],
                                   capture_output=True, text=True, timeout=600,
                                   env=dep.env(variant == "shim"))
                total = None
                if r.returncode == 0 and os.path.exists(out):
                    with open(out) as f:
                        for line in f:
                            if line.startswith("totals:") or line.startswith("summary:"):
                                total = int(line.split()[1])
                if total is None:
                    break
                ir[variant] = total / n
            if len(ir) != 2:
                self.not_measured(key, case, "valgrind run failed")
                continue
            self.cases[key] = {"measured": True, "unit": "instructions per iteration",
                               "bare": ir["bare"], "phitrail": ir["shim"],
                               "ratio": ir["shim"] / ir["bare"],
                               "added": ir["shim"] - ir["bare"]}
            self.row(case, "%.0f Ir" % ir["bare"], "%.0f Ir" % ir["shim"],
                     "%.3f" % (ir["shim"] / ir["bare"]),
                     "%+.0f instructions/iteration (user space)" % (ir["shim"] - ir["bare"]))

    def store_bytes(self, dep):
        total = 0
        for name in os.listdir(os.path.dirname(dep.db)):
            try:
                total += os.path.getsize(os.path.join(os.path.dirname(dep.db), name))
            except OSError:
                pass
        return total

    def fillstore(self):
        """Builds build/bench/fillstore (bench/fillstore.c) from the objects
        `make` left in build/obj; returns its path, or raises NotMeasured."""
        root = os.path.dirname(self.p.out.rstrip("/"))
        root = os.path.dirname(root)
        exe = os.path.join(self.p.out, "fillstore")
        src = os.path.join(root, "bench", "fillstore.c")
        common = os.path.join(root, "common")
        folders = sorted(os.listdir(common))
        objs = [os.path.join(root, "build", "obj", "common", d, f[:-2] + ".o")
                for d in folders
                for f in sorted(os.listdir(os.path.join(common, d)))
                if f.endswith(".c")]
        objs += [os.path.join(root, "build", "obj", "collector", n + ".o")
                 for n in ("store", "store_append", "store_frontier", "store_progress",
                           "store_wal", "loop", "log", "identity")]
        missing = [o for o in objs if not os.path.exists(o)]
        if missing:
            raise NotMeasured("%s missing (run make first)" % missing[0])
        newest = max(os.path.getmtime(f) for f in objs + [src])
        if not os.path.exists(exe) or os.path.getmtime(exe) < newest:
            r = subprocess.run([os.environ.get("CC", "cc"), "-std=gnu11", "-O2",
                                "-Wall", "-Wextra", "-Werror", "-Wformat=2", "-Wshadow",
                                "-Wno-unused-parameter", "-D_GNU_SOURCE",
                                ] + ["-I" + os.path.join(common, d) for d in folders] + [
                                "-I" + os.path.join(root, "collector"),
                                "-o", exe, src] + objs +
                               ["-lsqlite3", "-lmsgpackc", "-linih", "-lbsd", "-lsodium",
                                "-lpthread"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise NotMeasured("fillstore does not build: %s" % r.stderr[:300])
        return exe

    def store_ingest(self, exe, db, n):
        """The store's own ingest (fillstore --ingest: store_append, commits
        of the collector's group size, no spool, no shim)."""
        r = subprocess.run([exe, "--ingest", db, str(n)], capture_output=True,
                           text=True, timeout=1800)
        if r.returncode != 0:
            raise NotMeasured("fillstore --ingest failed: %s" % r.stderr[:200])
        return parse_kv(r.stdout)

    def case_filled(self, records, label):
        """Cases 5 and 6 against a store the generator filled with records
        (spread over 100 days, 200k patients, 300 actors): the store's own
        ingest rate at 0 and at that size, the collector's start-up on it,
        4-writer ingest through the collector, and the queries of case 6."""
        key = "5_filled_%s" % label
        case = "5/6 store of %s" % label
        try:
            exe = self.fillstore()
        except NotMeasured as e:
            self.not_measured(key, case, str(e))
            return
        dep = Deployment(self.p, flush="batch", label="filled")
        try:
            per_record = 700            # bytes on disk, measured at 1M, 10M and 50M
            need = per_record * records * 1.3
            free = shutil.disk_usage(dep.dir).free
            if need > 0.8 * free:
                raise NotMeasured("needs about %.0f GB of disk, %.0f GB free"
                                  % (need / 1e9, free / 1e9))
            n = self.size("store_ingest_records")
            fresh = os.path.join(dep.dir, "fresh.db")
            at0 = self.store_ingest(exe, fresh, n)
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(fresh + suffix):
                    os.unlink(fresh + suffix)
            log("case 5: filling a store with %d records (fillstore)" % records)
            t0 = time.monotonic()
            r = subprocess.run([exe, "--key", os.path.join(dep.dir, "db", "signing.key"),
                                dep.db, str(records)], capture_output=True, text=True,
                               timeout=7200)
            if r.returncode != 0:
                raise NotMeasured("fillstore failed: %s" % r.stderr[:200])
            fill = parse_kv(r.stdout)
            fill["wall_s"] = time.monotonic() - t0
            atn = self.store_ingest(exe, dep.db, n)
            c = {"measured": True, "unit": "records/s through store_append "
                 "(fillstore --ingest)", "store_records": records, "fill": fill,
                 "store_bytes": self.store_bytes(dep),
                 "at_0": at0, "at_n": atn,
                 "ratio": atn["records_per_s"] / at0["records_per_s"]}
            self.cases[key + "_store_ingest"] = c
            self.row("5 store ingest at 0 / %s" % label,
                     "%.0f rec/s" % at0["records_per_s"],
                     "%.0f rec/s" % atn["records_per_s"], "%.2f" % c["ratio"],
                     "store only; CPU us/record %.1f -> %.1f, bytes written/record "
                     "%.0f -> %.0f; target >= 0.80" % (
                         at0["cpu_us_per_record"], atn["cpu_us_per_record"],
                         at0["written_bytes_per_record"],
                         atn["written_bytes_per_record"]))
            t0 = time.monotonic()
            dep.start()
            start_s = time.monotonic() - t0
            self.cases[key + "_startup"] = {"measured": True, "unit": "s until the "
                                            "collector answers", "seconds": start_s}
            self.row("5 collector start on %s" % label, "-", "%.2f s" % start_s, "-",
                     "Merkle tree resumed from the stored frontier")
            if self.calib and self.calib[0] > 0:
                self.filled_ingest(dep, label)
                self.case_query(dep, prefix=label + " ")
        except NotMeasured as e:
            self.not_measured(key, case, str(e))
        finally:
            dep.remove(self.args.keep)

    def filled_ingest(self, dep, label):
        """Records/s from 4 shimmed writers (flush = batch) into the filled
        store dep runs on; its row, and its figures (None when not measured)."""
        key, case = "5_ingest_batch_4_%s" % label, "5 ingest batch, 4 wr, %s" % label
        if not self.calib or self.calib[0] <= 0:
            self.not_measured(key, case, "no calibration")
            return None
        base, _ = dep.wait_stored(None, 60, stable_s=0.3)
        rpi, rpp = self.calib
        per_writer = int(self.size("ingest_batch_records") / 4 / rpi) + 1
        t0 = time.monotonic()
        procs = [subprocess.Popen([self.p.fileloop, "-n", str(per_writer),
                                   "-w", "0", "-s", "300", dep.phi, str(FILES)],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=dep.env(True))
                 for _ in range(4)]
        for pr in procs:
            pr.wait(timeout=600)
        expected = base + int(4 * (per_writer * rpi + rpp))
        got, t = dep.wait_stored(expected, 600)
        if got is None or t is None:
            self.not_measured(key, case, "the store did not catch up within 600 s")
            return None
        rate = (got - base) / (time.monotonic() - t0)
        self.cases[key] = {"measured": True, "unit": "records/s stored",
                           "store_records": base, "rate": rate,
                           "load": "%.1f %.1f %.1f" % os.getloadavg()}
        self.row(case, "-", "%.0f rec/s" % rate, "-",
                 "into a store of %d records (compare 5 ingest batch, 4 wr); load %s; "
                 "target >= 150000 rec/s" % (base, self.cases[key]["load"]))
        return self.cases[key]

    # --- the run ----------------------------------------------------------

    def case_fleet(self):
        fleet.FleetCase(self, Deployment, NotMeasured, log, summary).run()

    def case_scale(self):
        scale.ScaleCase(self, Deployment, NotMeasured, log, summary, parse_kv).run()

    def case_kernel(self):
        kernel.KernelCase(self, Deployment, NotMeasured, log, fileloop, ratio_stats,
                          summary).run()

    def run_one(self, t_start):
        """--case NAME: the calibration, then that case alone."""
        dep = Deployment(self.p, label="main", phi_dir=self.args.phi_dir)
        try:
            dep.start()
            self.calib = calibrate(dep)
        except NotMeasured as e:
            self.no_collector = str(e)
        try:
            if self.args.case == "forks":
                self.case_forks(dep)
            elif self.args.case in ("1", "2"):
                try:
                    {"1": self.case_nonphi, "2": self.case_phi}[self.args.case](dep)
                except NotMeasured as e:
                    self.not_measured(self.args.case, "case " + self.args.case, str(e))
                if self.args.callgrind:
                    self.case_callgrind(dep)
        finally:
            dep.remove(self.args.keep)
        if self.args.case == "5" and self.calib is not None:
            self.case_ingest()
            self.rows.extend(self.hwm_rows)
        if self.args.case in ("fleet", "kernel", "scale"):
            {"fleet": self.case_fleet, "kernel": self.case_kernel,
             "scale": self.case_scale}[self.args.case]()
        self.report(time.monotonic() - t_start)

    def run(self):
        t_start = time.monotonic()
        if not self.p.have("fileloop"):
            sys.exit("bench: %s missing (run bench/run.sh)" % self.p.fileloop)
        if self.args.case:
            return self.run_one(t_start)
        shim_ok = self.p.have("shim")
        dep = Deployment(self.p, label="main", phi_dir=self.args.phi_dir)
        self.shim_rss_row = None
        self.hwm_rows = []
        try:
            collector = True
            try:
                dep.start()
            except NotMeasured as e:
                collector = False
                self.no_collector = str(e)
                log("no collector (%s): the shim runs without one" % e)
            if not shim_ok:
                for k, c in (("1_nonphi", "1 non-PHI loop"), ("2_phi", "2 PHI loop"),
                             ("3_strace", "3 strace vs shim"),
                             ("4_threads", "4 threads/forks")):
                    self.not_measured(k, c, "no shim at %s" % self.p.shim)
            else:
                if collector:
                    try:
                        self.calib = calibrate(dep)
                        log("calibration: %.3f records/iteration, %.1f per process"
                            % self.calib)
                    except NotMeasured as e:
                        log("calibration failed: %s" % e)
                for name, fn in (("1_nonphi", lambda: self.case_nonphi(dep)),
                                 ("2_phi", lambda: self.case_phi(dep))):
                    try:
                        fn()
                    except NotMeasured as e:
                        self.not_measured(name, name, str(e))
                try:
                    self.case_strace(dep)
                except NotMeasured as e:
                    self.not_measured("3_strace", "3 strace vs shim", str(e))
                try:
                    self.case_threads_forks(dep)
                except NotMeasured as e:
                    self.not_measured("4_threads", "4 threads/forks", str(e))
                if self.args.callgrind:
                    self.case_callgrind(dep)
            if collector and shim_ok:
                dep.wait_stored(None, 60, stable_s=0.5)
                try:
                    self.case_query(dep)
                except NotMeasured as e:
                    self.not_measured("6_query", "6 query", str(e))
            else:
                self.not_measured("6_query", "6 query", "needs the collector and the shim")
        finally:
            dep.remove(self.args.keep)
        if shim_ok:
            self.case_ingest()
        else:
            self.not_measured("5_ingest", "5 ingest", "needs the shim")
        self.case_fleet()
        self.case_kernel()
        def label(n):
            return "%gM" % (n / 1e6) if n >= 1000000 else "%gk" % (n / 1e3)
        self.case_filled(self.size("filled_records"), label(self.size("filled_records")))
        if self.args.big:
            self.case_filled(self.args.big_records, label(self.args.big_records))
        else:
            self.not_measured("5_big", "5/6 store of 100M",
                              "--big not given (needs about 70 GB of disk and "
                              "about an hour to fill; --case scale measures less)")
        if self.shim_rss_row:
            self.rows.append(self.shim_rss_row)
        else:
            self.not_measured("7_shim_rss", "7 shim RSS/process", "case 2 not measured")
        self.rows.extend(self.hwm_rows)
        self.report(time.monotonic() - t_start)

    def report(self, elapsed):
        head = ("case", "bare", "phitrail", "ratio median [min-max]", "note")
        rows = [head] + [tuple(str(x) for x in r) for r in self.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for i, r in enumerate(rows):
            print("  ".join(r[j].ljust(widths[j]) for j in range(4)) + "  " + r[4])
            if i == 0:
                print("  ".join("-" * w for w in widths) + "  " + "-" * 4)
        cpu = ""
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        out = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "uname": " ".join(platform.uname()),
            "uname_a": subprocess.run(["uname", "-a"], capture_output=True,
                                      text=True).stdout.strip(),
            "cpu": cpu, "cpus": os.cpu_count(), "mode": "quick" if self.q else "full",
            "elapsed_s": elapsed,
            "shim": self.p.shim,
            "collector_missing": self.no_collector,
            "calibration": ({"records_per_iteration": self.calib[0],
                             "records_per_process": self.calib[1]}
                            if self.calib else None),
            "cases": self.cases,
        }
        path = os.path.join(self.p.out, "summary.json")
        with open(path + ".tmp", "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(path + ".tmp", path)
        if self.no_collector:
            print("(cases 1-4 ran without a collector: %s)" % self.no_collector)
        print("(%s run, %.0f s; %s)" % (out["mode"], elapsed, path))


def main():
    ap = argparse.ArgumentParser(prog="bench/run.sh")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--big-records", type=int, default=100000000,
                    help="with --big: records in the big store (default 100M)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directories")
    ap.add_argument("--phi-dir", default=None,
                    help="the PHI tree under this directory (e.g. /dev/shm: "
                    "another filesystem than the non-PHI files under /tmp)")
    ap.add_argument("--records", help="--case scale: store sizes (1M,10M,50M)")
    ap.add_argument("--scale-dir", help="--case scale: keep and reuse the stores here")
    ap.add_argument("--scale-budget-gb", type=float, default=40,
                    help="--case scale: skip sizes expected to need more disk")
    ap.add_argument("--verify-timeout-s", type=int, default=1800,
                    help="--case scale: cut phitrail verify after this long")
    ap.add_argument("--case", choices=["1", "2", "5", "fleet", "kernel", "forks", "scale"],
                    help="the calibration and this case alone")
    ap.add_argument("--runs", type=int, default=0, help="interleaved runs per case")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    args = ap.parse_args()
    Bench(args, args.root).run()


if __name__ == "__main__":
    main()
