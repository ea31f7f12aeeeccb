"""fleet.py - case 8 of bench.py: what shipping to NATS JetStream costs.

Starts its own nats-server (one JetStream node in the quick run, a cluster
of three with replicas 3 in the full run) on free loopback ports in a
scratch directory under /tmp, and measures in the same run, from 1 and 4
shimmed writer processes (case 5's load): the host's ingest without a
[forward] section and with one (ratio; target >= 0.90), the records/s
JetStream acknowledged (the store's forward cursor), the CPU the host's collector
and the nats-server nodes spent per record (so that what the collector
itself costs is told apart from what the servers take from a machine
they share with it), the aggregator's rate
consuming a backlog into a central store (target >= 100k/s) and the lag
from the host's last commit to the central store holding every record.

PHITRAIL_BENCH_NATS_NICE=N runs the nats-server nodes at nice N: with
19, they take only the CPU the host leaves idle, which shows the host's
ingest as on a machine of its own (the default, 0, is the figure to
quote: the servers compete for the same cores).

It owns the nats-server processes it starts and must stop them, and every
collector it starts, however the case ends; it never waits without a
timeout and never reports a figure it did not measure.
"""

import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HOST = "bench-host"


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def nats_server():
    path = shutil.which("nats-server")
    if path is None and os.access("/usr/sbin/nats-server", os.X_OK):
        path = "/usr/sbin/nats-server"
    return path


class Nats:
    """N nats-server nodes with JetStream, each with its own store dir."""

    def __init__(self, exe, nodes):
        self.exe = exe
        self.nodes = nodes
        self.dir = tempfile.mkdtemp(prefix="phitrail-bench-nats.")
        ports = free_ports(3 * nodes)
        self.client = ports[:nodes]
        self.cluster = ports[nodes:2 * nodes]
        self.http = ports[2 * nodes:]
        self.urls = ",".join("nats://127.0.0.1:%d" % p for p in self.client)
        self.procs = []

    def start(self):
        for i in range(self.nodes):
            store = os.path.join(self.dir, "n%d" % i)
            os.makedirs(store)
            conf = os.path.join(self.dir, "n%d.conf" % i)
            with open(conf, "w") as f:
                f.write('server_name: n%d\nlisten: 127.0.0.1:%d\n'
                        'http: 127.0.0.1:%d\njetstream { store_dir: "%s" }\n'
                        % (i, self.client[i], self.http[i], store))
                if self.nodes > 1:
                    routes = ", ".join("nats-route://127.0.0.1:%d" % p
                                       for j, p in enumerate(self.cluster) if j != i)
                    f.write("cluster {\n  name: phitrail-bench\n"
                            "  listen: 127.0.0.1:%d\n  routes: [ %s ]\n}\n"
                            % (self.cluster[i], routes))
            log = open(os.path.join(self.dir, "n%d.log" % i), "ab")
            nice = int(os.environ.get("PHITRAIL_BENCH_NATS_NICE", "0"))
            self.procs.append(subprocess.Popen([self.exe, "-c", conf], stdout=log,
                                               stderr=log,
                                               preexec_fn=lambda: os.nice(nice)))
            log.close()
        # JetStream answers once every node is healthy (a cluster elected
        # its meta leader)
        deadline = time.monotonic() + 30
        for i in range(self.nodes):
            while True:
                if self.procs[i].poll() is not None:
                    raise RuntimeError("nats-server n%d exited at start (see %s)"
                                       % (i, self.dir))
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/healthz"
                                                % self.http[i], timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("nats-server n%d not healthy within 30 s" % i)
                time.sleep(0.1)

    def stop(self, keep):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def cpu_s(pids):
    """CPU seconds (user + system, every thread) the processes used so far;
    None when one cannot be read."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def collector_pids(pid):
    """The collector's processes: the parent and its children (the store
    process, which does the work, and the signer)."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [pid] + [int(p) for p in f.read().split()]
    except OSError:
        return [pid]


def sql_one(db, sql, args=()):
    """One value from a store, read-only (None while it cannot be read)."""
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        try:
            row = con.execute(sql, args).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def wait_value(fn, target, timeout_s, poll_s=0.01):
    """Polls fn() until it is >= target; returns the monotonic time it
    was first seen there, or None after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        v = fn()
        now = time.monotonic()
        if v is not None and v >= target:
            return now
        if now > deadline:
            return None
        time.sleep(poll_s)


def cursor(dep):
    return sql_one(dep.db, "SELECT through_id FROM forward_cursor WHERE sink = 'nats'")


def central_count(agg):
    return sql_one(agg.db, "SELECT count(*) FROM records WHERE host = ?", (HOST,))


def settle(dep, agg, timeout_s, stable_s=1.0, poll_s=0.01):
    """Samples (time, host count, cursor, central count) until the host's
    count stayed the same for stable_s; None after timeout_s."""
    samples = []
    t0 = time.monotonic()
    last, last_change = None, t0
    while True:
        n = sql_one(dep.db, "SELECT count(*) FROM records")
        now = time.monotonic()
        samples.append((now, n, cursor(dep), central_count(agg) if agg else None))
        if n is not None and n != last:
            last, last_change = n, now
        if last is not None and now - last_change >= stable_s:
            return [x for x in samples if x[1] is not None]
        if now - t0 > timeout_s:
            return None
        time.sleep(poll_s)


class FleetCase:
    def __init__(self, bench, deployment, not_measured, log, summary):
        self.b = bench
        self.log = log
        self.summary = summary
        self.Deployment = deployment
        self.NotMeasured = not_measured
        self.streams = 0

    def forward_section(self, nats):
        self.streams += 1
        self.stream = "PHITRAIL_BENCH_%d" % self.streams
        self.prefix = "pb%d" % self.streams
        return ("\n[forward]\nservers = %s\nstream = %s\nsubject_prefix = %s\n"
                "replicas = %d\nhost = %s\n" % (nats.urls, self.stream, self.prefix,
                                                nats.nodes, HOST))

    def central(self, nats):
        """An aggregator deployment on the current stream (not started)."""
        extra = ("\n[aggregate]\nservers = %s\nstream = %s\nsubject_prefix = %s\n"
                 "replicas = %d\ndurable = bench\n"
                 % (nats.urls, self.stream, self.prefix, nats.nodes))
        return self.Deployment(self.b.p, flush="batch", label="fleet-central",
                               extra=extra)

    @staticmethod
    def cpu_per_record(dep, nats_pids, cpu0, records):
        """Microseconds of CPU per stored record since cpu0: the collector's
        (all its processes and threads) and, with nats_pids, the servers'."""
        out = {}
        now = cpu_s(collector_pids(dep.proc.pid))
        if now is not None and cpu0[0] is not None:
            out["collector_cpu_us"] = (now - cpu0[0]) * 1e6 / records
        if nats_pids:
            now = cpu_s(nats_pids)
            if now is not None and cpu0[1] is not None:
                out["nats_cpu_us"] = (now - cpu0[1]) * 1e6 / records
        return out

    def run_once(self, writers, records, nats=None, mode=None):
        """One host ingest run. mode None: no [forward]; "backlog": forward,
        then the aggregator started on the shipped backlog; "live": forward
        with the aggregator consuming during the run."""
        extra = self.forward_section(nats) if nats else ""
        dep = self.Deployment(self.b.p, flush="batch", label="fleet-host", extra=extra)
        agg = None
        timeout = self.b.size("ingest_timeout_s")
        try:
            dep.start()
            if mode == "live":
                agg = self.central(nats)
                agg.start("--aggregate")
            dep.wait_stored(None, 10, stable_s=0.3)
            base = sql_one(dep.db, "SELECT count(*) FROM records") or 0
            per_writer = max(1, int(records / writers / self.b.calib[0]))
            c0 = cursor(dep) or 0
            nats_pids = [p.pid for p in nats.procs] if nats else []
            cpu0 = cpu_s(collector_pids(dep.proc.pid)), cpu_s(nats_pids)
            t0 = time.monotonic()
            procs = [subprocess.Popen([self.b.p.fileloop, "-n", str(per_writer), "-w", "0",
                                       "-s", "120", dep.phi, "256"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      env=dep.env(True)) for _ in range(writers)]
            for pr in procs:
                pr.wait(timeout=300)
            t_writers = time.monotonic() - t0
            # the last commit: when the host's count took its final value
            # (the calibration's estimate is off by a few hundred in 200k);
            # the cursor and the central count are sampled meanwhile
            samples = settle(dep, agg if mode == "live" else None, timeout)
            if samples is None:
                raise self.NotMeasured("the host's count did not settle within %d s"
                                       % timeout)
            got = samples[-1][1]
            t_host = next(t for t, n, _, _ in samples if n == got)
            if got <= base:
                raise self.NotMeasured("the host stored nothing")
            res = {"records": got - base, "ingest_s": t_host - t0,
                   "writers_s": t_writers,
                   "ingest_rate": (got - base) / (t_host - t0)}
            if not nats:
                res.update(self.cpu_per_record(dep, [], cpu0, got - base))
                return res
            last = sql_one(dep.db, "SELECT max(id) FROM records")
            total = got

            def reached(col, target, fn):
                seen = [t for t, *v in samples if v[col] is not None and v[col] >= target]
                return seen[0] if seen else wait_value(fn, target, timeout)
            t_shipped = reached(1, last, lambda: cursor(dep))
            if t_shipped is None:
                raise self.NotMeasured("the forward cursor did not reach id %d within "
                                       "%d s (see %s)" % (last, timeout, dep.dir))
            # the cursor is at the last id: all the shipping's CPU is spent
            res.update(self.cpu_per_record(dep, nats_pids, cpu0, got - base))
            res.update({"shipped": last - c0, "shipped_s": t_shipped - t0,
                        "ship_rate": (last - c0) / (t_shipped - t0),
                        "cursor_after_last_commit_s": max(0.0, t_shipped - t_host)})
            if mode == "live":
                t_central = reached(2, total, lambda: central_count(agg))
                if t_central is None:
                    raise self.NotMeasured("the central store held %s of %d records "
                                           "after %d s" % (central_count(agg),
                                                           total, timeout))
                res["lag_s"] = max(0.0, t_central - t_host)
            elif mode == "backlog":
                dep.stop()
                agg = self.central(nats)
                agg.start("--aggregate")
                first = wait_value(lambda: central_count(agg), 1, timeout,
                                   poll_s=0.002)
                n_first = central_count(agg) or 0
                t_done = wait_value(lambda: central_count(agg), total, timeout,
                                    poll_s=0.002)
                if first is None or t_done is None or t_done <= first:
                    raise self.NotMeasured("the aggregator stored %s of %d records "
                                           "within %d s" % (central_count(agg),
                                                            total, timeout))
                res.update({"backlog": total, "aggregate_s": t_done - first,
                            "aggregate_rate": (total - n_first) / (t_done - first)})
            return res
        finally:
            for d in (agg, dep):
                if d is not None:
                    d.remove(self.b.args.keep)

    def run(self):
        b = self.b
        keys = [("8_fleet_%d" % w, "8 fleet, %d wr" % w) for w in (1, 4)]
        exe = nats_server()
        why = None
        if exe is None:
            why = "nats-server is not installed"
        elif b.calib is None or b.calib[0] <= 0:
            why = "no calibration: the collector or the shim did not run"
        if why:
            for k, c in keys:
                b.not_measured(k, c, why)
            return
        nodes = 1 if b.q else 3
        nats = Nats(exe, nodes)
        # a SIGTERM to the harness still stops the servers and collectors
        old_term = signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: SIGTERM"))
        try:
            nats.start()
            for (key, case), writers in zip(keys, (1, 4)):
                self.log("case 8: fleet, %d writer(s), %d node(s)" % (writers, nodes))
                try:
                    self.measure(key, case, nats, writers)
                except (self.NotMeasured, subprocess.TimeoutExpired) as e:
                    b.not_measured(key, case, str(e))
        except RuntimeError as e:
            for k, c in keys:
                if k not in b.cases:
                    b.not_measured(k, c, str(e))
        finally:
            nats.stop(b.args.keep)
            signal.signal(signal.SIGTERM, old_term)

    def measure(self, key, case, nats, writers):
        b = self.b
        records = b.size("fleet_records")
        bare, fwd, live = [], [], []
        live_why = None
        for _ in range(b.args.runs or b.size("ingest_runs")):
            bare.append(self.run_once(writers, records))
            fwd.append(self.run_once(writers, records, nats, "backlog"))
            try:
                live.append(self.run_once(writers, records, nats, "live"))
            except (self.NotMeasured, subprocess.TimeoutExpired) as e:
                live_why = str(e)
        rb = [r["ingest_rate"] for r in bare]
        rf = [r["ingest_rate"] for r in fwd]
        pairs = [f / x for f, x in zip(rf, rb)]
        ratio = statistics.median(rf) / statistics.median(rb)
        ship = [r["ship_rate"] for r in fwd]
        agg = [r["aggregate_rate"] for r in fwd]
        lag = [r["lag_s"] for r in live]
        if live_why:
            lag = []
        behind = [r["cursor_after_last_commit_s"] for r in fwd]
        cpu_bare = [r["collector_cpu_us"] for r in bare if "collector_cpu_us" in r]
        cpu_fwd = [r["collector_cpu_us"] for r in fwd if "collector_cpu_us" in r]
        cpu_nats = [r["nats_cpu_us"] for r in fwd if "nats_cpu_us" in r]
        topo = "%d node%s, replicas %d" % (nats.nodes, "s" if nats.nodes > 1 else "",
                                           nats.nodes)
        if os.environ.get("PHITRAIL_BENCH_NATS_NICE", "0") != "0":
            topo += ", nats-server at nice %s" % os.environ["PHITRAIL_BENCH_NATS_NICE"]
        b.cases[key] = {
            "measured": True, "unit": "records/s", "nats": topo,
            "records_per_run": records,
            "ingest_no_forward": self.summary(rb), "ingest_forward": self.summary(rf),
            "ratio": ratio, "ratio_pair_min": min(pairs), "ratio_pair_max": max(pairs),
            "target_ratio": 0.90,
            "shipping_acked": self.summary(ship),
            "cursor_after_last_commit_s": self.summary(behind),
            "collector_cpu_us_per_record": {
                "no_forward": self.summary(cpu_bare) if cpu_bare else None,
                "forward": self.summary(cpu_fwd) if cpu_fwd else None},
            "nats_cpu_us_per_record": self.summary(cpu_nats) if cpu_nats else None,
            "aggregator": self.summary(agg), "target_aggregator": 100000,
            "lag_s": self.summary(lag) if lag else None, "lag_not_measured": live_why,
            "runs": {"no_forward": bare, "forward": fwd, "forward_live": live}}
        b.row("%s ingest" % case, "%.0f rec/s" % statistics.median(rb),
              "%.0f rec/s" % statistics.median(rf),
              "%.3f [%.3f-%.3f]" % (ratio, min(pairs), max(pairs)),
              "host ingest with [forward] / without (%s); target >= 0.90" % topo)
        b.row("%s shipping" % case, "-", "%.0f rec/s" % statistics.median(ship),
              "[%.0f-%.0f]" % (min(ship), max(ship)),
              "acked by JetStream (forward cursor); cursor at the last id %.2f s "
              "after the last host commit" % statistics.median(behind))
        if cpu_bare and cpu_fwd:
            b.row("%s collector CPU" % case, "%.1f us/rec" % statistics.median(cpu_bare),
                  "%.1f us/rec" % statistics.median(cpu_fwd),
                  "%.2f" % (statistics.median(cpu_fwd) / statistics.median(cpu_bare)),
                  "the host collector's CPU (all threads) per stored record, "
                  "without / with [forward], until the cursor is at the last id")
        if cpu_nats:
            b.row("%s nats-server CPU" % case, "-", "%.1f us/rec" % statistics.median(cpu_nats),
                  "[%.1f-%.1f]" % (min(cpu_nats), max(cpu_nats)),
                  "all %s nats-server node(s) together, per shipped record, on the "
                  "same cores as the host" % nats.nodes)
        b.row("%s aggregator" % case, "-", "%.0f rec/s" % statistics.median(agg),
              "[%.0f-%.0f]" % (min(agg), max(agg)),
              "stream -> central store, a backlog of %d; target >= 100k/s"
              % fwd[0]["backlog"])
        if lag:
            b.row("%s lag" % case, "-", "%.2f s" % statistics.median(lag),
                  "[%.2f-%.2f]" % (min(lag), max(lag)),
                  "last host commit -> central store complete, aggregator running")
        else:
            b.row("%s lag" % case, "-", "-", "not measured",
                  "aggregator running during the ingest: %s" % live_why)
