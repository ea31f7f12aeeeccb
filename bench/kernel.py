"""kernel.py - case 9 of bench.py: what the kernel safety net (fanotify,
the collector as root) costs, each as a ratio measured in one run:

  9a  case 1's loop (files no rule matches) under the shim, with the
      collector's safety net on vs off
  9b  case 2's loop (PHI files) under the shim, net on vs off
  9c  a statically linked fileloop (build/bench/fileloop-static, which no
      shim can see) reading PHI files: on a tree no collector watches
      ("bare") vs on a tree a collector with the safety net watches; the
      records it stored from the kernel are counted too

Two deployments run side by side, one with kernel_safety_net = off and one
with it on; the runs alternate off, on, off, on, ... Needs CAP_SYS_ADMIN
(root): otherwise "not measured". It owns the collectors it starts and
stops them however the case ends.
"""

import os
import statistics

NET_KEY = "kernel_safety_net = %s\n"


class KernelCase:
    def __init__(self, bench, deployment, not_measured, log, fileloop, ratio_stats,
                 summary):
        self.b = bench
        self.Deployment = deployment
        self.NotMeasured = not_measured
        self.log = log
        self.fileloop = fileloop
        self.ratio_stats = ratio_stats
        self.summary = summary
        self.static = os.path.join(bench.p.out, "fileloop-static")

    def deployments(self):
        off = self.Deployment(self.b.p, label="kernel-off", settings=NET_KEY % "off")
        on = self.Deployment(self.b.p, label="kernel-on", settings=NET_KEY % "on")
        return off, on

    def drain(self, dep):
        # the kernel's reports wait a second for a shim record to cover them
        dep.wait_stored(None, 60, stable_s=1.5)

    def loop(self, key, case, off, on, tree_of, n, variant="shim", exe=None):
        """Alternating runs on off's tree and on's tree; the ratio on/off."""
        per = {"off": [], "on": []}
        for _ in range(self.b.size("runs")):
            for name, dep in (("off", off), ("on", on)):
                kv = self.fileloop(dep, tree_of(dep), variant, n, exe=exe)
                per[name].append(kv["ns_per_iteration"])
                self.drain(dep)
        rs = self.ratio_stats(per, "on", "off")
        self.b.cases[key] = {
            "measured": True, "unit": "ns per iteration (open+read 4 KiB+close)",
            "net_off": self.summary(per["off"]), "net_on": self.summary(per["on"]),
            "ratio": rs["ratio"], "ratio_pair_min": rs["pair_min"],
            "ratio_pair_max": rs["pair_max"]}
        return per, rs

    def row(self, case, per, rs, note):
        self.b.row(case, "%.0f ns" % statistics.median(per["off"]),
                   "%.0f ns" % statistics.median(per["on"]), self.b.fmt_ratio(rs), note)

    def run(self):
        log = self.log
        if os.geteuid() != 0:
            for k, c in (("9a_kernel_nonphi", "9a net: non-PHI loop"),
                         ("9b_kernel_phi", "9b net: PHI loop"),
                         ("9c_kernel_static", "9c net: static PHI loop")):
                self.b.not_measured(k, c, "the safety net needs CAP_SYS_ADMIN (root)")
            return
        off, on = self.deployments()
        try:
            off.start()
            on.start()
            with open(os.path.join(on.dir, "collector.log")) as f:
                if "kernel safety net: on" not in f.read():
                    raise self.NotMeasured("the safety net did not start (see %s)"
                                           % on.dir)
            log("case 9a: the non-PHI loop under the shim, safety net off vs on")
            per, rs = self.loop("9a_kernel_nonphi", "9a", off, on, lambda d: d.other,
                                self.b.size("nonphi"))
            self.row("9a net: non-PHI loop", per, rs, "shim in both; net off vs on")
            log("case 9b: the PHI loop under the shim, safety net off vs on")
            per, rs = self.loop("9b_kernel_phi", "9b", off, on, lambda d: d.phi,
                                self.b.size("phi"))
            self.row("9b net: PHI loop", per, rs, "shim in both; net off vs on")
            self.static_case(off, on)
        except self.NotMeasured as e:
            for k, c in (("9a_kernel_nonphi", "9a net: non-PHI loop"),
                         ("9b_kernel_phi", "9b net: PHI loop"),
                         ("9c_kernel_static", "9c net: static PHI loop")):
                if k not in self.b.cases:
                    self.b.not_measured(k, c, str(e))
        finally:
            off.remove(self.b.args.keep)
            on.remove(self.b.args.keep)

    def static_case(self, off, on, files=256):
        if not os.access(self.static, os.X_OK):
            raise self.NotMeasured("no %s (no static libc?)" % self.static)
        self.log("case 9c: a static program's PHI loop, bare vs safety net on")
        before = on.count("--event", "viewed") or 0
        per, rs = self.loop("9c_kernel_static", "9c", off, on, lambda d: d.phi,
                            self.b.size("phi"), variant="bare", exe=self.static)
        stored = (on.count("--event", "viewed") or 0) - before
        expected = self.b.size("runs") * files
        self.b.cases["9c_kernel_static"]["kernel_records"] = stored
        self.b.cases["9c_kernel_static"]["kernel_records_expected"] = expected
        self.row("9c net: static PHI loop", per, rs,
                 "bare: a tree no collector watches; %d of %d Viewed stored from "
                 "the kernel (one per file and process)" % (stored, expected))
