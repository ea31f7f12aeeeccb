"""scale.py - case "scale" of bench.py: the store at growing sizes.

  sh bench/run.sh --case scale [--records 1M,10M,50M] [--scale-dir DIR]
                  [--scale-budget-gb 40] [--verify-timeout-s 1800]

First, as the run's baseline, collector start and 4-writer ingest on an
empty store. Then for each size N (default 1M and 10M), a store filled by
bench/fillstore (real schema, msgpack bytes and leaf hashes; 100 days,
200,000 patients):

  fill         the fill's wall time (fillstore under nice -n 10)
  footprint    the store's files / N, and per table and index (dbstat)
  store ingest fillstore --ingest at N (the store alone, indexes live)
  start        collector start until it answers a query
  ingest       records/s from 4 shimmed writers into it (flush = batch)
  query        case 6 on it (warm), then `phitrail query --patient` cold:
               every run after `sync; echo 3 > /proc/sys/vm/drop_caches`
               (root only; "not measured" otherwise)
  verify       `phitrail verify` of the whole store, caches dropped first,
               bounded by --verify-timeout-s (a run cut there says so)

Every figure is stored with the load average at the time. A size whose
expected footprint (the bytes per record of the previous size, +10%, 700
when none) passes --scale-budget-gb is "not measured". With --scale-dir a
filled store is kept in DIR/N (audit.db, its key, fill.json) and reused
by the next run instead of being filled again; without it every store is
removed at the end. It owns the collectors it starts.
"""

import json
import os
import shutil
import subprocess
import time

FILL_TIMEOUT_S = 4 * 3600
DBSTAT_SQL = ("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name "
              "ORDER BY SUM(pgsize) DESC")


def parse_count(text):
    """1M, 10M, 50M, 500k or a plain number."""
    t = text.strip().lower()
    mult = {"k": 1000, "m": 1000000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def label(n):
    return "%gM" % (n / 1e6) if n >= 1000000 else "%gk" % (n / 1e3)


def load():
    return "%.1f %.1f %.1f" % os.getloadavg()


def drop_caches():
    """True when the page cache was dropped (needs root)."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


class ScaleCase:
    def __init__(self, bench, deployment, not_measured, log, summary, parse_kv):
        self.b = bench
        self.parse_kv = parse_kv
        self.Deployment = deployment
        self.NotMeasured = not_measured
        self.log = log
        self.summary = summary
        self.args = bench.args
        self.growth = []

    def run(self):
        sizes = [parse_count(s) for s in (self.args.records or "1M,10M").split(",")]
        per_record = 700.0
        self.empty()
        for n in sizes:
            need = n * per_record * 1.1
            budget = self.args.scale_budget_gb * 1e9
            key = "scale_%s" % label(n)
            if need > budget:
                self.b.not_measured(key, "scale %s" % label(n),
                                    "needs about %.0f GB, over the %.0f GB budget"
                                    % (need / 1e9, budget / 1e9))
                continue
            try:
                g = self.one(n, need)
            except self.NotMeasured as e:
                self.b.not_measured(key, "scale %s" % label(n), str(e))
                continue
            per_record = g["bytes_per_record"]
            self.growth.append(g)
        self.b.cases["scale_growth"] = {"measured": bool(self.growth),
                                        "sizes": self.growth}
        for g in self.growth:
            self.log("growth: %s" % json.dumps(g, sort_keys=True))

    def empty(self):
        """The same run's baseline: collector start and 4-writer ingest
        into a new, empty store."""
        dep = self.Deployment(self.b.p, flush="batch", label="scale")
        try:
            t0 = time.monotonic()
            dep.start()
            g = {"records": 0, "label": "0", "start_s": time.monotonic() - t0}
            self.b.row("scale 0 collector start", "-", "%.2f s" % g["start_s"], "-",
                       "a new store; load %s" % load())
            g["ingest_4"] = self.b.filled_ingest(dep, "0")
            self.growth.append(g)
        except self.NotMeasured as e:
            self.b.not_measured("scale_0", "scale 0", str(e))
        finally:
            dep.remove(self.args.keep)

    # --- the store ---------------------------------------------------------

    def kept(self, n):
        return os.path.join(self.args.scale_dir, str(n)) if self.args.scale_dir else None

    def obtain(self, dep, n, need):
        """Puts a store of n records at dep.db: the kept one, or a new fill
        (when need bytes are under 80% of the free disk). Returns the fill's
        figures."""
        kept = self.kept(n)
        dbdir = os.path.dirname(dep.db)
        if kept and os.path.exists(os.path.join(kept, "fill.json")):
            with open(os.path.join(kept, "fill.json")) as f:
                fill = json.load(f)
            os.rmdir(dbdir)
            os.rename(kept, dbdir)
            fill["reused"] = True
            return fill
        free = shutil.disk_usage(dbdir).free
        if need > 0.8 * free:
            raise self.NotMeasured("needs about %.0f GB, %.0f GB free"
                                   % (need / 1e9, free / 1e9))
        exe = self.b.fillstore()
        self.log("scale: filling %d records (load %s)" % (n, load()))
        fill = {"load_before": load()}
        t0 = time.monotonic()
        r = subprocess.run(["nice", "-n", "10", exe, "--key",
                            os.path.join(dbdir, "signing.key"), dep.db, str(n)],
                           capture_output=True, text=True, timeout=FILL_TIMEOUT_S)
        if r.returncode != 0:
            raise self.NotMeasured("fillstore failed: %s" % r.stderr[:200])
        fill.update(self.parse_kv(r.stdout))
        fill["wall_s"] = time.monotonic() - t0
        fill["load_after"] = load()
        with open(os.path.join(dbdir, "fill.json"), "w") as f:
            json.dump(fill, f)
        return fill

    def give_back(self, dep, n):
        kept = self.kept(n)
        if kept and os.path.exists(dep.db):
            os.makedirs(self.args.scale_dir, exist_ok=True)
            dep.stop()
            os.rename(os.path.dirname(dep.db), kept)

    def footprint(self, dep, n):
        files = sum(os.path.getsize(os.path.join(os.path.dirname(dep.db), f))
                    for f in os.listdir(os.path.dirname(dep.db))
                    if f.startswith("audit.db"))
        parts, records = {}, n
        try:
            r = subprocess.run(["sqlite3", "-readonly", dep.db,
                                "SELECT max(id) FROM records"],
                               capture_output=True, text=True, timeout=600)
            records = int(r.stdout.strip() or n)
            r = subprocess.run(["sqlite3", "-readonly", dep.db, DBSTAT_SQL],
                               capture_output=True, text=True, timeout=3600)
            for line in r.stdout.splitlines():
                name, size = line.rsplit("|", 1)
                parts[name] = int(size)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            parts = {}
        return files, parts, records

    # --- one size ----------------------------------------------------------

    def one(self, n, need):
        lab = label(n)
        dep = self.Deployment(self.b.p, flush="batch", label="scale")
        g = {"records": n, "label": lab}
        try:
            fill = self.obtain(dep, n, need)
            g["fill"] = fill
            files, parts, held = self.footprint(dep, n)
            g.update({"store_records": held, "store_bytes": files,
                      "bytes_per_record": files / held,
                      "parts_bytes_per_record": {k: v / held for k, v in parts.items()},
                      "footprint_load": load()})
            top = ", ".join("%s %.0f" % (k, v / held)
                            for k, v in list(parts.items())[:5])
            self.b.row("scale %s fill" % lab, "-", "%.0f s" % fill["wall_s"], "-",
                       "%s%.0f B/record (%.2f GB): %s; load %s" % (
                           "kept from an earlier run; " if fill.get("reused") else "",
                           files / held, files / 1e9, top, fill.get("load_before", "?")))
            atn = self.b.store_ingest(self.b.fillstore(), dep.db,
                                      self.b.size("store_ingest_records"))
            g["store_ingest"] = dict(atn, load=load())
            self.b.row("scale %s store ingest" % lab, "-",
                       "%.0f rec/s" % atn["records_per_s"], "-",
                       "fillstore --ingest; CPU %.1f us/record; load %s"
                       % (atn["cpu_us_per_record"], load()))
            t0 = time.monotonic()
            dep.start()
            g["start_s"] = time.monotonic() - t0
            self.b.row("scale %s collector start" % lab, "-", "%.2f s" % g["start_s"],
                       "-", "until it answers; load %s" % load())
            g["ingest_4"] = self.b.filled_ingest(dep, lab)
            self.b.case_query(dep, prefix="scale %s " % lab)
            g["query_warm"] = self.b.cases.get("scale %s 6_query_patient" % lab)
            g["query_cold"] = self.cold(dep, lab)
            g["verify"] = self.verify(dep, lab)
            return g
        finally:
            try:
                self.give_back(dep, n)
            finally:
                dep.remove(self.args.keep)

    def timed(self, cmd, dep, timeout_s):
        t0 = time.perf_counter()
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout_s, env=dep.env(False))
        except subprocess.TimeoutExpired:
            return None, "cut at %d s" % timeout_s
        return time.perf_counter() - t0, r

    def cold(self, dep, lab):
        key, case = "scale_%s_query_cold" % lab, "scale %s query --patient cold" % lab
        cmd = [self.b.p.cli, "query", "--config", dep.conf, "--patient", "rare"]
        times = []
        for _ in range(self.b.size("query_runs")):
            if not drop_caches():
                self.b.not_measured(key, case, "cannot drop the page cache (not root)")
                return None
            s, r = self.timed(cmd, dep, 600)
            if s is None or r.returncode != 0:
                self.b.not_measured(key, case, r if s is None else
                                    r.stderr.decode(errors="replace")[:200])
                return None
            times.append(s)
        c = {"measured": True, "unit": "seconds per command after drop_caches",
             "seconds": self.summary(times), "load": load()}
        self.b.cases[key] = c
        self.b.row(case, "-", "%.0f ms" % (sorted(times)[len(times) // 2] * 1000),
                   "[%.0f-%.0f]" % (min(times) * 1000, max(times) * 1000),
                   "sync + echo 3 > drop_caches before each of %d runs; load %s"
                   % (len(times), c["load"]))
        return c

    def verify(self, dep, lab):
        key, case = "scale_%s_verify" % lab, "scale %s verify" % lab
        dropped = drop_caches()
        limit = self.args.verify_timeout_s
        s, r = self.timed([self.b.p.cli, "verify", "--config", dep.conf], dep, limit)
        if s is None:
            self.b.not_measured(key, case, "%s (load %s)" % (r, load()))
            return {"measured": False, "why": r}
        if r.returncode != 0:
            why = (r.stdout + r.stderr).decode(errors="replace")[:200]
            self.b.not_measured(key, case, "verify failed: %s" % why)
            return {"measured": False, "why": why}
        c = {"measured": True, "seconds": s, "caches_dropped": dropped, "load": load()}
        self.b.cases[key] = c
        self.b.row(case, "-", "%.1f s" % s, "-", "%swhole store, collector running;"
                   " load %s" % ("caches dropped first; " if dropped else "", c["load"]))
        return c
