#!/usr/bin/env python3
"""Benchmarks of openlattice-docker-worker against the Docker SDK for Python and a raw-socket client.

    python3 Benchmarks/run.py [--worker PATH] [--quick]

Builds the release binary (swift build -c release --static-swift-stdlib --product openlattice-docker-worker --scratch-path .build-release; incremental) unless
--worker names one, measures items 1-7 of the benchmark issue side by side on the same engine and
test image, prints a markdown table (median, min-max over repeated trials, with the ratios
worker/SDK and worker/raw) and writes it to Benchmarks/results/latest.md; a full run also puts the
table into README.md between its benchmark-table markers.  Every container it creates is labelled
olw-bench=1 and removed at the end, also on Ctrl-C or an exception.
"""

import argparse
import codecs
import datetime
import logging
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from rawdocker import RawDocker  # noqa: E402
from workerhost import ProcSampler, WorkerHost, proc_cpu_seconds, proc_cpu_split, proc_status  # noqa: E402

import docker  # noqa: E402

ROOT = os.path.dirname(HERE)
IMAGE = "openlattice-test/busybox:latest"
SOCKET = "/var/run/docker.sock"
LABEL_KEY, LABEL_VALUE = "olw-bench", "1"  # openlattice.* labels are the worker's alone
LABELS = {LABEL_KEY: LABEL_VALUE}
# The worker acts only on containers labelled as managed by OpenLattice.
TARGET_LABELS = {**LABELS, "openlattice.managed": "true"}
MiB = 1 << 20

FULL = dict(ping=300, inspect=200, exec_true=40, cycle=8, stream_trials=3, bin_mib=256, text_mib=64,
            conc_trials=3, conc_execs=64, conc_inspects=256, start_trials=10)
QUICK = dict(ping=60, inspect=40, exec_true=10, cycle=3, stream_trials=1, bin_mib=32, text_mib=16,
             conc_trials=1, conc_execs=64, conc_inspects=256, start_trials=5)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# statistics and formatting


class Figure:
    """A series of trial values with a unit; `higher` says whether bigger is better."""

    def __init__(self, values, unit, higher=False):
        self.values = list(values)
        self.unit = unit
        self.higher = higher

    @property
    def median(self):
        return statistics.median(self.values) if self.values else float("nan")

    def cell(self):
        if not self.values:
            return "—"
        med, lo, hi = self.median, min(self.values), max(self.values)
        if len(self.values) == 1:
            return f"{fmt(med)} {self.unit}"
        return f"{fmt(med)} {self.unit} ({fmt(lo)}–{fmt(hi)})"


def fmt(x):
    if x != x:
        return "nan"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def ratio(a, b):
    if a is None or b is None or not a.values or not b.values or b.median == 0:
        return None
    return a.median / b.median


def ratio_cell(r):
    return "—" if r is None else f"{r:.2f}×"


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def threaded(job, count):
    """Runs job(0..count-1) on `count` threads released at once; the wall seconds until the last ended."""
    barrier = threading.Barrier(count + 1)
    ends = [0.0] * count
    errors = []

    def run(i):
        barrier.wait()
        try:
            job(i)
        except Exception as e:  # noqa: BLE001
            errors.append(e)
        ends[i] = time.perf_counter()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return max(ends) - t0


def sdk_stream_bytes(container, cmd, text):
    """Runs `cmd` in a docker-py container with `exec_run(stream=True)` and returns the bytes it
    delivered: with `text`, those of the text after an incremental UTF-8 decoder (as a host shows it)."""
    _, gen = container.exec_run(cmd, stream=True)
    total = 0
    if text:
        dec = codecs.getincrementaldecoder("utf-8")("replace")
        for chunk in gen:
            total += len(dec.decode(chunk).encode("utf-8"))
    else:
        for chunk in gen:
            total += len(chunk)
    return total

# ---------------------------------------------------------------------------------------------
# engine helpers


def engine_cpu(pids):
    total = 0.0
    for pid in pids:
        try:
            total += proc_cpu_seconds(pid)
        except OSError:
            pass
    return total


def machine_cpu():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


def ctx_switches(pid):
    """Voluntary + involuntary context switches summed over a process's threads."""
    n = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if "ctxt_switches" in line:
                            n += int(line.split()[1])
            except OSError:
                pass
    except OSError:
        pass
    return n


def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class CPUWindow:
    """CPU seconds spent by the worker, this host process, and the engine daemons over a block."""

    def __init__(self, worker_pid=None, engine_pids=()):
        self.worker_pid = worker_pid
        self.engine_pids = [p for p in engine_pids if p]

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.w0 = proc_cpu_split(self.worker_pid) if self.worker_pid else (0.0, 0.0)
        self.h0 = self_cpu()
        self.e0 = engine_cpu(self.engine_pids)
        self.m0 = machine_cpu()
        self.c0 = ctx_switches(self.worker_pid) if self.worker_pid else 0
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        w1 = proc_cpu_split(self.worker_pid) if self.worker_pid else (0.0, 0.0)
        self.worker_user, self.worker_sys = w1[0] - self.w0[0], w1[1] - self.w0[1]
        self.worker = self.worker_user + self.worker_sys
        self.host = self_cpu() - self.h0
        self.engine = engine_cpu(self.engine_pids) - self.e0
        m1 = machine_cpu()
        self.machine_busy = (m1[0] - self.m0[0]) / max(1, m1[1] - self.m0[1])  # fraction of all CPUs
        self.switches = (ctx_switches(self.worker_pid) - self.c0) if self.worker_pid else 0


def engine_daemon_pids():
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in ("dockerd", "containerd") or comm.startswith("containerd-shim"):
            pids.append(int(entry))
    return pids


def cleanup_containers(raw=None):
    try:
        raw = raw or RawDocker(SOCKET)
        ids = raw.list_ids(f"{LABEL_KEY}={LABEL_VALUE}")
        for cid in ids:
            raw.remove(cid)
        raw.close()
        return len(ids)
    except Exception as e:  # cleanup must not hide the original error
        log(f"cleanup failed: {e}")
        return 0


# ---------------------------------------------------------------------------------------------
# the benchmark


class Bench:
    def __init__(self, args):
        self.args = args
        self.p = QUICK if args.quick else FULL
        self.rows = []
        self.notes = []
        self.workers = []
        self.results_dir = os.path.join(HERE, "results")
        os.makedirs(self.results_dir, exist_ok=True)
        self.stderr_log = os.path.join(self.results_dir, "worker-stderr.log")
        open(self.stderr_log, "w").close()

    # -- setup / teardown -----------------------------------------------------------------

    def setup(self):
        self.raw = RawDocker(SOCKET)
        self.version = self.raw.json("GET", "/version")
        self.sdk = docker.DockerClient(base_url="unix://" + SOCKET)
        stale = cleanup_containers(self.raw)
        if stale:
            log(f"removed {stale} stale benchmark container(s)")
        self.raw.json("GET", f"/images/{IMAGE}/json")
        body = {"Image": IMAGE, "Cmd": ["sleep", "86400"], "Labels": TARGET_LABELS}
        self.cid = self.raw.create(body, name=f"olbench-target-{os.getpid()}")
        self.raw.start(self.cid)
        self.sdk_container = self.sdk.containers.get(self.cid)
        self.engine_pids = engine_daemon_pids()

    def spawn(self):
        w = WorkerHost(self.args.worker, stderr_path=self.stderr_log)
        self.workers.append(w)
        return w

    def teardown(self):
        for w in self.workers:
            try:
                w.close()
            except Exception as e:
                log(f"closing worker {w.pid}: {e}")
        n = cleanup_containers()
        log(f"removed {n} benchmark container(s)")

    # -- helpers ----------------------------------------------------------------------------

    def interleave(self, n, ops, warmup=3):
        """Runs each op `n` times, rotating the order every round; returns per-op timings (s).
        Also sets `self.worker_cpu_per_call` (ms of worker CPU per worker op, background work included)."""
        for name, fn in ops.items():
            for _ in range(warmup):
                fn()
        c0 = proc_cpu_seconds(self.worker.pid)
        times = {name: [] for name in ops}
        names = list(ops)
        for i in range(n):
            k = i % len(names)
            for name in names[k:] + names[:k]:
                dt, _ = timed(ops[name])
                times[name].append(dt)
        self.worker_cpu_per_call = (proc_cpu_seconds(self.worker.pid) - c0) * 1000 / max(1, n)
        return times

    def compare(self, name, w, s, r, target_kind):
        """Adds a latency row with a ≤1.10×raw-and-faster-than-SDK style target."""
        rw, rs = ratio(w, r), ratio(w, s)
        if target_kind == "latency":
            target = "≤ 1.10 × raw, < SDK"
            met = rw is not None and rs is not None and rw <= 1.10 and rs < 1.0
        elif target_kind == "throughput":
            target = "≥ 0.8 × raw, ≥ SDK"
            met = rw is not None and rs is not None and rw >= 0.8 and rs >= 1.0
        elif target_kind == "wall":
            target = "≤ 1.10 × raw"
            met = rw is not None and rw <= 1.10
        else:
            target, met = "— (no target)", None
        self.rows.append(dict(name=name, worker=w.cell(), sdk=s.cell() if s else "—", raw=r.cell() if r else "—",
                              ws=ratio_cell(rs), wr=ratio_cell(rw), target=target, met=met))

    # -- item 7 (start) -----------------------------------------------------------------------

    def item7_start(self):
        log("item 7: worker start -> initialize answered")
        times = []
        for _ in range(self.p["start_trials"]):
            t0 = time.perf_counter()
            w = WorkerHost(self.args.worker, stderr_path=self.stderr_log)
            try:
                w.initialize()
                times.append(time.perf_counter() - t0)
            finally:
                w.close()
        self.start_fig = Figure([t * 1000 for t in times], "ms")

    # -- items 1-3 ------------------------------------------------------------------------------

    def item1(self, w):
        log("item 1: healthCheck / ping round trip")
        res = w.call("healthCheck")
        assert res["healthy"], res
        sdk = self.sdk
        raw = self.raw
        t = self.interleave(self.p["ping"], {
            "worker": lambda: w.call("healthCheck"),
            "sdk": sdk.ping,
            "raw": raw.ping,
        })
        W, S, R = (Figure([x * 1000 for x in t[k]], "ms") for k in ("worker", "sdk", "raw"))
        self.compare("1. healthCheck round trip (`/_ping`)", W, S, R, "latency")
        cpu1 = self.worker_cpu_per_call
        # Diagnostic: what the worker's healthCheck does on the engine (ping, then /version).
        pv = []
        for _ in range(self.p["ping"] // 2):
            dt, _ = timed(lambda: (raw.ping(), raw.json("GET", "/version")))
            pv.append(dt * 1000)
        self.ping_version = Figure(pv, "ms")
        self.notes.append(
            f"Item 1: the worker's `healthCheck` answers `engine {{version, apiVersion, os, arch}}` too, so it makes two "
            f"engine requests (`GET /_ping`, then `GET /version`). Raw socket doing the same two requests: "
            f"{self.ping_version.cell()}; worker/raw(ping+version) = {W.median / self.ping_version.median:.2f}×. "
            f"Worker CPU per healthCheck: {fmt(cpu1)} ms.")

    def item2(self, w):
        log("item 2: inspect a running container")
        dt, cold = timed(w.call, "inspect", {"externalId": self.cid})
        cold_ms = dt * 1000
        c = self.sdk_container
        sdk = self.sdk
        raw = self.raw
        cid = self.cid
        ages = []

        def worker_inspect():
            res = w.call("inspect", {"externalId": cid})
            sampled = (res.get("resources") or {}).get("sampledAt")
            if sampled:
                ts = datetime.datetime.fromisoformat(sampled.replace("Z", "+00:00"))
                ages.append((datetime.datetime.now(datetime.timezone.utc) - ts).total_seconds())
            return res

        t = self.interleave(self.p["inspect"], {
            "worker": worker_inspect,
            "sdk": lambda: sdk.containers.get(cid).attrs,
            "raw": lambda: raw.inspect(cid),
        })
        W, S, R = (Figure([x * 1000 for x in t[k]], "ms") for k in ("worker", "sdk", "raw"))
        rw = ratio(W, R)
        self.rows.append(dict(
            name="2. inspect of a running container (after the first)", worker=W.cell(), sdk=S.cell(), raw=R.cell(),
            ws=ratio_cell(ratio(W, S)), wr=ratio_cell(rw), target="≤ 2 × raw", met=rw is not None and rw <= 2.0))
        has_res = "resources" in cold
        self.rows.append(dict(
            name="2a. first inspect of that container (stats stream starts)", worker=f"{fmt(cold_ms)} ms",
            sdk="—", raw="—", ws="—", wr="—", target="— (info)", met=None))
        age_note = (f"`resources.sampledAt` present on {len(ages)} of {len(t['worker']) + 3} warm inspects, "
                    f"sample age median {fmt(statistics.median(ages))} s (max {fmt(max(ages))} s)"
                    if ages else "`resources.sampledAt` was NOT present in the warm inspects")
        self.notes.append(
            f"Item 2: first inspect {fmt(cold_ms)} ms (resources in it: {has_res}); {age_note}. "
            f"SDK and raw read only `GET /containers/{{id}}/json` (no resources). "
            f"Worker CPU per warm inspect: {fmt(self.worker_cpu_per_call)} ms.")

    def item3(self, w):
        log("item 3: exec [\"true\"] round trip")
        cid = self.cid
        c = self.sdk_container
        raw = self.raw
        codes = {"worker": set(), "sdk": set(), "raw": set()}

        def wk():
            codes["worker"].add(w.call("exec", {"externalId": cid, "command": ["true"]})["exitCode"])

        def sd():
            codes["sdk"].add(c.exec_run(["true"]).exit_code)

        def rw_():
            codes["raw"].add(raw.exec_stream(cid, ["true"])[0])

        t = self.interleave(self.p["exec_true"], {"worker": wk, "sdk": sd, "raw": rw_})
        for k, v in codes.items():
            assert v == {0}, (k, v)
        W, S, R = (Figure([x * 1000 for x in t[k]], "ms") for k in ("worker", "sdk", "raw"))
        self.compare("3. exec `true` round trip with exit code", W, S, R, "latency")
        self.notes.append(f"Item 3: worker CPU per exec: {fmt(self.worker_cpu_per_call)} ms; the engine's exec "
                          f"(runc) dominates the round trip.")

    # -- item 6 ---------------------------------------------------------------------------------

    def item6(self, w):
        log("item 6: provision -> exec -> destroy")
        env = {"OL_BENCH_A": "1", "OL_BENCH_B": "two"}
        raw = self.raw
        sdk = self.sdk

        def wk():
            node = w.call("provision", {"spec": {
                "runtime": {"image": IMAGE, "env": env},
                "network": {"ports": [{"port": 8080, "hostPort": 0}]},
                "labels": LABELS}})
            res = w.call("exec", {"externalId": node["externalId"], "command": ["true"]})
            assert res["exitCode"] == 0, res
            w.call("destroy", {"externalId": node["externalId"]})

        def sd():
            c = sdk.containers.run(IMAGE, ["sh", "-c", "sleep infinity"], detach=True, environment=env,
                                   ports={"8080/tcp": None}, labels=LABELS)
            assert c.exec_run(["true"]).exit_code == 0
            c.remove(force=True)

        def rw_():
            # The same engine requests the worker makes: image check, create, start, inspect,
            # exec (create, start, inspect), remove.
            raw.json("GET", f"/images/{IMAGE}/json")
            cid = raw.create({
                "Image": IMAGE, "Cmd": ["sh", "-c", "sleep infinity"],
                "Env": [f"{k}={v}" for k, v in env.items()], "Labels": LABELS,
                "ExposedPorts": {"8080/tcp": {}},
                "HostConfig": {"PortBindings": {"8080/tcp": [{"HostPort": ""}]}}})
            raw.start(cid)
            raw.inspect(cid)
            assert raw.exec_stream(cid, ["true"])[0] == 0
            raw.remove(cid)

        t = self.interleave(self.p["cycle"], {"worker": wk, "sdk": sd, "raw": rw_}, warmup=1)
        W, S, R = (Figure([x * 1000 for x in t[k]], "ms") for k in ("worker", "sdk", "raw"))
        self.compare("6. provision → exec → destroy (env, port, labels)", W, S, R, "latency")

    # -- item 4 ---------------------------------------------------------------------------------

    def item4(self, w):
        log("item 4: exec output throughput")
        cid = self.cid
        c = self.sdk_container
        raw = self.raw
        reset_hwm(w.pid)
        diag = []
        for variant, mib, cmd, encoding in (
            ("binary", self.p["bin_mib"], ["head", "-c", str(self.p["bin_mib"] * MiB), "/dev/zero"], "base64"),
            ("text", self.p["text_mib"],
             ["sh", "-c", f"yes abcdefghijklmnopqrstuvwxyz | head -c {self.p['text_mib'] * MiB}"], "utf8"),
        ):
            expected = mib * MiB
            rates = {"worker": [], "sdk": [], "raw": []}
            cpu = {"worker": [], "sdk": [], "raw": []}
            notes = []
            text = variant == "text"

            def wk():
                with CPUWindow(w.pid, self.engine_pids) as win:
                    res, out, err, n = w.call_counted(
                        "exec", {"externalId": cid, "command": cmd, "options": {"stream": True, "encoding": encoding}},
                        encoding)
                assert res["exitCode"] == 0 and out == expected, (res, out, expected)
                notes.append(n)
                return win

            def sd():
                with CPUWindow(None, self.engine_pids) as win:
                    total = sdk_stream_bytes(c, cmd, text)
                assert total == expected, (total, expected)
                return win

            def rw_():
                counter = [0]
                if text:
                    def on_data(stream, s):
                        counter[0] += len(s.encode("utf-8"))
                else:
                    on_data = None
                with CPUWindow(None, self.engine_pids) as win:
                    code, out, err = raw.exec_stream(cid, cmd, on_data=on_data, text=text)
                if text:
                    out = counter[0]
                assert code == 0 and out == expected, (code, out, expected)
                return win

            fns = {"worker": wk, "sdk": sd, "raw": rw_}
            names = list(fns)
            with ProcSampler(w.pid) as samp:
                for i in range(self.p["stream_trials"]):
                    k = i % 3
                    for name in names[k:] + names[:k]:
                        win = fns[name]()
                        rates[name].append(expected / MiB / win.wall)
                        cpu[name].append(win)
            W, S, R = (Figure(rates[k], "MiB/s", higher=True) for k in ("worker", "sdk", "raw"))
            label = (f"4. exec output throughput, binary `head -c {mib}M /dev/zero` (worker: stream, base64)"
                     if not text else
                     f"4b. exec output throughput, text `yes … \\| head -c {mib}M` (worker: stream, utf8)")
            self.compare(label, W, S, R, "throughput")
            self.stream_peak_threads = max(getattr(self, "stream_peak_threads", 0), samp.max_threads)
            avg = lambda xs: sum(xs) / len(xs)
            for name in names:
                wins = cpu[name]
                mib_total = expected / MiB * len(wins)
                wall = sum(x.wall for x in wins)
                per = lambda attr: 1000 * sum(getattr(x, attr) for x in wins) / mib_total
                busy = sum(x.machine_busy * x.wall for x in wins) / wall
                if name == "worker":
                    sw = sum(x.switches for x in wins) / len(wins)
                    wcell = (f"{fmt(per('worker'))} (user {fmt(per('worker_user'))}, sys {fmt(per('worker_sys'))}); "
                             f"{fmt(avg(notes))} notifications of {fmt(expected / avg(notes) / 1024)} KiB, "
                             f"{fmt(sw / avg(notes))} context switches each")
                else:
                    wcell = "—"
                diag.append(f"| {variant} | {name} | {fmt(statistics.median(rates[name]))} | {wcell} | "
                            f"{fmt(per('host'))} | {fmt(per('engine'))} | {100 * busy:.0f}% |")
        self.cpu_table = diag
        self.hwm4 = read_hwm(w.pid)

    # -- item 5 ---------------------------------------------------------------------------------

    def item5(self, w):
        log("item 5: concurrency")
        cid = self.cid
        n = self.p["conc_execs"]
        cmd = ["sleep", "1"]
        reset_hwm(w.pid)
        self.hwm4_after = proc_status(w.pid)["VmRSS"]
        walls = {"worker": [], "sdk": [], "raw": []}
        peak_threads = 0
        raw_conns = [RawDocker(SOCKET, api_version=self.raw.prefix[2:]) for _ in range(n)]
        for r in raw_conns:
            r.ping()

        def wk():
            nonlocal peak_threads
            with ProcSampler(w.pid, 0.002) as samp:
                t0 = time.perf_counter()
                sent = w.send_many([("exec", {"externalId": cid, "command": cmd})] * n)
                codes = [w.wait(rid, slot)["exitCode"] for rid, slot in sent]
                wall = time.perf_counter() - t0
            peak_threads = max(peak_threads, samp.max_threads)
            assert codes == [0] * n, codes
            return wall

        def rw_():
            def job(i):
                code = raw_conns[i].exec_stream(cid, cmd)[0]
                assert code == 0
            return threaded(job, n)

        # docker-py keys its connection pools by URL and keeps 25 of them: with the default client,
        # 64 threads each exec'ing (two new URLs per exec) evict and close pools other threads are
        # still using ("'NoneType' object has no attribute 'qsize'").  Give it room.
        sdk_conc = docker.DockerClient(base_url="unix://" + SOCKET, num_pools=4 * m_pools(self.p),
                                       max_pool_size=self.p["conc_inspects"])
        c = sdk_conc.containers.get(cid)

        def sd():
            def job(i):
                assert c.exec_run(cmd).exit_code == 0
            return threaded(job, n)

        fns = {"worker": wk, "sdk": sd, "raw": rw_}
        names = list(fns)
        for i in range(self.p["conc_trials"]):
            k = i % 3
            for name in names[k:] + names[:k]:
                walls[name].append(fns[name]())
        W, S, R = (Figure(walls[k], "s") for k in ("worker", "sdk", "raw"))
        self.compare(f"5. {n} concurrent `sleep 1` execs, wall time", W, S, R, "wall")
        self.rows.append(dict(
            name=f"5a. worker threads, peak during the {n} execs", worker=str(peak_threads), sdk="—", raw="—",
            ws="—", wr="—", target="< 16", met=peak_threads < 16))

        # 256 concurrent inspects.
        m = self.p["conc_inspects"]
        inspect_conns = raw_conns + [RawDocker(SOCKET, api_version=self.raw.prefix[2:]) for _ in range(m - n)]
        for r in inspect_conns[n:]:
            r.ping()
        for r in raw_conns:
            r.ping()  # the exec streams closed those connections; reopen them
        rates = {"worker": [], "sdk": [], "raw": []}
        ipeak = 0

        def wk_i():
            nonlocal ipeak
            with ProcSampler(w.pid, 0.002) as samp:
                t0 = time.perf_counter()
                sent = w.send_many([("inspect", {"externalId": cid})] * m)
                for rid, slot in sent:
                    assert w.wait(rid, slot)["status"] == "running"
                wall = time.perf_counter() - t0
            ipeak = max(ipeak, samp.max_threads)
            return wall

        def rw_i():
            return threaded(lambda i: inspect_conns[i].inspect(cid), m)

        sdk = sdk_conc

        def sd_i():
            return threaded(lambda i: sdk.containers.get(cid).attrs, m)

        fns = {"worker": wk_i, "sdk": sd_i, "raw": rw_i}
        for i in range(self.p["conc_trials"] * 2):
            k = i % 3
            for name in names[k:] + names[:k]:
                rates[name].append(m / fns[name]())
        for r in inspect_conns:
            r.close()
        W, S, R = (Figure(rates[k], "req/s", higher=True) for k in ("worker", "sdk", "raw"))
        self.compare(f"5b. {m} concurrent inspects, throughput", W, S, R, "none")
        self.hwm5 = read_hwm(w.pid)
        self.notes.append(
            f"Item 5: worker peak threads {peak_threads} during the execs, {ipeak} during the inspects, "
            f"{getattr(self, 'stream_peak_threads', '?')} during the item-4 streams. Raw: {n} threads each with its own "
            f"keep-alive connection (exec start consumes a connection: the engine closes it at the end of the "
            f"stream); SDK: {n} threads sharing one `DockerClient` (created with `num_pools` and `max_pool_size` "
            f"raised: with the defaults docker-py 7.1 crashes at 64 concurrent execs, because it keys its 25 "
            f"connection pools by URL and closes evicted pools still in use).")
        sdk_conc.close()

    # -- run --------------------------------------------------------------------------------

    def run(self):
        t_start = time.perf_counter()
        self.load_start = loadavg()
        self.setup()
        self.item7_start()
        w = self.spawn()
        self.worker = w
        t0 = time.perf_counter()
        w.initialize()
        main_ready_ms = (time.perf_counter() - t0) * 1000
        time.sleep(0.3)
        idle = proc_status(w.pid)
        self.idle_rss_mb = idle["VmRSS"] / 1024
        self.idle_detail = (f"idle RSS {idle['VmRSS'] / 1024:.1f} MB = {idle.get('RssAnon', 0) / 1024:.1f} MB anonymous "
                            f"+ {idle.get('RssFile', 0) / 1024:.1f} MB file-backed (mapped code of the binary and the "
                            f"shared libraries it loads) + {idle.get('RssShmem', 0) / 1024:.1f} MB shmem; "
                            f"{idle['Threads']} threads")
        pss, top = smaps_summary(w.pid)
        if pss is not None:
            self.idle_detail += (f"; proportional set size (shared pages split among their users) {pss / 1024:.1f} MB; "
                                 f"largest: " + ", ".join(f"{name} {kb / 1024:.1f} MB" for name, kb in top))
        log(f"worker {w.pid} ready; idle RSS {self.idle_rss_mb:.1f} MB, threads {idle['Threads']}")
        self.item1(w)
        self.item2(w)
        self.item3(w)
        self.item6(w)
        after_warm = proc_status(w.pid)
        self.item4(w)
        self.item5(w)
        self.total_s = time.perf_counter() - t_start

        s = self.start_fig
        self.rows.append(dict(name="7. worker start → `initialize` answered", worker=s.cell(), sdk="—", raw="—",
                              ws="—", wr="—", target="< 50 ms", met=s.median < 50))
        self.rows.append(dict(name="7a. worker resident memory, idle after `initialize`",
                              worker=f"{self.idle_rss_mb:.1f} MB", sdk="—", raw="—", ws="—", wr="—",
                              target="< 20 MB", met=self.idle_rss_mb < 20))
        for label, hwm in (("item 4 (streams)", self.hwm4), ("item 5 (concurrency)", self.hwm5)):
            mb = hwm / 1024
            self.rows.append(dict(name=f"7b. worker peak resident memory during {label}", worker=f"{mb:.1f} MB",
                                  sdk="—", raw="—", ws="—", wr="—", target="< 64 MB", met=mb < 64))
        self.notes.append(
            f"Item 7: {len(s.values)} fresh spawns measured from `Popen` to the `initialize` response; the main "
            f"worker's own start took {fmt(main_ready_ms)} ms to initialize. {self.idle_detail}. RSS after items 1-3 and 6: "
            f"{after_warm['VmRSS'] / 1024:.1f} MB. Peak RSS is `VmHWM`, reset (`/proc/PID/clear_refs` = 5) before "
            f"items 4 and 5 (a reset sets it to the RSS of that moment, so item 5's peak starts from what item 4 left "
            f"resident: {self.hwm4_after / 1024:.1f} MB when item 5 began){'' if self.hwm_reset_ok else ' (reset not permitted: peaks include earlier items)'}.")
        return self.report()

    def report(self):
        v = self.version
        lines = []
        lines.append("# openlattice-docker-worker benchmark results")
        lines.append("")
        binary = os.path.abspath(self.args.worker)
        try:
            mtime = datetime.datetime.fromtimestamp(os.path.getmtime(binary), datetime.timezone.utc)
            built = mtime.strftime("%Y-%m-%d %H:%M UTC")
        except OSError:
            built = "?"
        rev = git_rev()
        lines += [
            f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')}"
            f"{' (--quick)' if self.args.quick else ''}",
            f"- machine: {os.cpu_count()} CPUs (nproc {nproc()}), {cpu_model()}, {mem_total()}, "
            f"Linux {platform.release()}; load average {self.load_start} at the start, {loadavg()} at the end "
            f"(the machine is shared: other work on it shows up as noise)",
            f"- engine: Docker {v.get('Version')} (API {v.get('ApiVersion')}), {v.get('Os')}/{v.get('Arch')}, "
            f"socket {SOCKET}",
            f"- worker binary: `{binary}` (built {built}; sources at {rev})",
            f"- peers: Docker SDK for Python {docker.__version__} on Python {platform.python_version()}; "
            f"raw-socket client `Benchmarks/rawdocker.py`",
            f"- image: `{IMAGE}`; figures are median (min–max) over the trials; the run took {self.total_s:.0f} s",
            "",
        ]
        table = ["| benchmark | worker | SDK | raw | worker/SDK | worker/raw | target | met? |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in self.rows:
            met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**")
            table.append(f"| {r['name']} | {r['worker']} | {r['sdk']} | {r['raw']} | {r.get('ws', '—')} | "
                         f"{r.get('wr', '—')} | {r['target']} | {met} |")
        lines += table
        lines.append("")
        lines.append("Ratios are of medians: for times, < 1 means the worker is faster; for throughputs "
                     "(MiB/s, req/s), > 1 means the worker is faster.")
        lines.append("")
        lines.append("## Diagnostics")
        lines.append("")
        for n in self.notes:
            lines.append(f"- {n}")
        lines.append("")
        lines.append("Item 4, CPU milliseconds spent per MiB delivered (all trials), by process: the worker, this Python "
                     "host (for the worker column: the reader thread's `json.loads` and base64/UTF-8 decoding), and the "
                     "engine daemons (dockerd, containerd, shims). Machine busy = share of all CPUs busy, whatever "
                     "ran (other users of the machine included).")
        lines.append("")
        lines.append("| stream | client | MiB/s | worker CPU ms/MiB | host CPU ms/MiB | engine CPU ms/MiB | machine busy |")
        lines.append("|---|---|---|---|---|---|---|")
        lines += getattr(self, "cpu_table", [])
        lines.append("")
        text = "\n".join(lines)
        # A --quick smoke run does not overwrite the full results.
        path = self.args.out or os.path.join(self.results_dir, "latest-quick.md" if self.args.quick else "latest.md")
        with open(path, "w") as f:
            f.write(text)
        print(text)
        log(f"written to {path}")
        return text


# ---------------------------------------------------------------------------------------------


def m_pools(p):
    return p["conc_execs"] * 2 + p["conc_inspects"]


def reset_hwm(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        Bench.hwm_reset_ok = True
    except OSError:
        Bench.hwm_reset_ok = False


Bench.hwm_reset_ok = True


def read_hwm(pid):
    return proc_status(pid)["VmHWM"]


def smaps_summary(pid, top=6):
    """Pss total (kB) and the mappings with the most resident memory."""
    per = {}
    cur = "[anon]"
    pss = 0
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                if not parts[0].endswith(":"):
                    cur = os.path.basename(parts[5]) if len(parts) > 5 else "[anon]"
                elif parts[0] == "Rss:":
                    per[cur] = per.get(cur, 0) + int(parts[1])
                elif parts[0] == "Pss:":
                    pss += int(parts[1])
    except OSError:
        return None, []
    return pss, sorted(per.items(), key=lambda kv: -kv[1])[:top]


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def nproc():
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def mem_total():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return "?"


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "Sources", "Package.swift"],
                               capture_output=True, text=True).stdout.strip()
        return f"commit {rev}" + (" with uncommitted changes in Sources/" if dirty else "")
    except OSError:
        return "?"


RELEASE_SCRATCH = ".build-release"
RELEASE_WORKER = os.path.join(ROOT, RELEASE_SCRATCH, "release", "openlattice-docker-worker")


def build_release():
    """Builds (or brings up to date) the release binary the benchmark measures by default."""
    log(f"building the release binary: swift build -c release --static-swift-stdlib --product openlattice-docker-worker --scratch-path {RELEASE_SCRATCH}")
    done = subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", "openlattice-docker-worker", "--scratch-path", RELEASE_SCRATCH], cwd=ROOT,
                          stdout=sys.stderr)
    if done.returncode != 0:
        sys.exit(f"the release build failed (exit {done.returncode})")
    return RELEASE_WORKER




def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", help="worker binary to measure (default: build the release binary and measure it)")
    ap.add_argument("--quick", action="store_true", help="fewer trials and smaller streams (smoke test, ~1 min)")
    ap.add_argument("--out", help="where to write the markdown (default Benchmarks/results/latest.md, "
                                  "or latest-quick.md with --quick)")
    args = ap.parse_args()
    if args.worker is None:
        args.worker = build_release()
    if not os.access(args.worker, os.X_OK):
        sys.exit(f"worker binary not found: {args.worker}")
    logging.getLogger("urllib3").setLevel(logging.ERROR)

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    bench = Bench(args)
    try:
        bench.run()
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
    finally:
        bench.teardown()


if __name__ == "__main__":
    main()
