#!/usr/bin/env python3
"""Drives the worker over pipes for profiling: N healthChecks / warm inspects, or one streamed exec.

    drive.py [--worker W] [--tool none|callgrind|strace|perf] [--out PREFIX] health N
    drive.py ... inspect N
    drive.py ... stream MIB base64|utf8

Measurement (callgrind instrumentation, strace -c -f, perf record) covers only the N requests after
initialize (and, for inspect, after a first cold one). Prints wall time and, for strace, the summary.
"""
import argparse, os, subprocess, sys, time, signal
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from rawdocker import RawDocker
from workerhost import WorkerHost
MiB = 1 << 20
IMAGE = "openlattice-test/busybox:latest"
LABELS = {"olw-bench": "1", "olw-prof": "1", "openlattice.managed": "true"}
SHIM = "/tmp/olw-sigsuspend_shim.so"
SHIM_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sigsuspend_shim.c")

ap = argparse.ArgumentParser()
ap.add_argument("--worker", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.build-release/release/openlattice-docker-worker"))
ap.add_argument("--tool", default="none")
ap.add_argument("--out", default="/tmp/prof-run")
ap.add_argument("--idle", type=float, default=0, help="instead of requests: measure this many idle seconds (after the warm-up)")
ap.add_argument("mode")
ap.add_argument("n", type=int)
ap.add_argument("encoding", nargs="?", default="base64")
a = ap.parse_args()

raw = RawDocker()
cid = None
if a.mode in ("inspect", "stream"):
    cid = raw.create({"Image": IMAGE, "Cmd": ["sleep", "3600"], "Labels": LABELS})
    raw.start(cid)
try:
    if a.tool == "callgrind":
        if not os.path.exists(SHIM):
            subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", SHIM, SHIM_SOURCE], check=True)
        w = WorkerHost("valgrind", ["--tool=callgrind", f"--callgrind-out-file={a.out}.callgrind", "--separate-threads=no",
                                    "--instr-atstart=no", "--dump-instr=no", a.worker],
                       stderr_path=a.out + ".valgrind.log", env=dict(os.environ, LD_PRELOAD=SHIM))
    else:
        w = WorkerHost(a.worker, stderr_path=a.out + ".stderr.log")
    w.initialize()
    # warm-up: a few requests, so connections, metadata and (inspect) the stats stream exist
    for _ in range(5):
        if a.mode == "health": w.call("healthCheck", {})
        elif a.mode == "inspect": w.call("inspect", {"externalId": cid})
    if a.mode == "inspect": time.sleep(1.5); w.call("inspect", {"externalId": cid})
    if a.mode == "stream":
        w.call_counted("exec", {"externalId": cid, "command": ["head", "-c", "1048576", "/dev/zero"], "options": {"stream": True, "encoding": a.encoding}}, a.encoding)
    pid = w.pid
    tool = None
    if a.tool == "callgrind":
        subprocess.run(["callgrind_control", "-z", str(pid)], stdout=subprocess.DEVNULL)
        subprocess.run(["callgrind_control", "-i", "on", str(pid)], check=True, stdout=subprocess.DEVNULL)
    elif a.tool == "strace":
        tool = subprocess.Popen(["strace", "-f", "-c", "-o", a.out + ".strace", "-p", str(pid)], stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    elif a.tool == "perf":
        tool = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "4000", "-g", "-o", a.out + ".perf", "-p", str(pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    t0 = time.perf_counter()
    notes = ""
    if a.idle:
        time.sleep(a.idle)
    elif a.mode == "health":
        for _ in range(a.n): w.call("healthCheck", {})
    elif a.mode == "inspect":
        for _ in range(a.n): w.call("inspect", {"externalId": cid})
    elif a.mode == "stream":
        size = a.n * MiB
        cmd = ["head", "-c", str(size), "/dev/zero"] if a.encoding == "base64" else ["sh", "-c", f"yes abcdefghijklmnopqrstuvwxyz | head -c {size}"]
        res, out, _, nn = w.call_counted("exec", {"externalId": cid, "command": cmd, "options": {"stream": True, "encoding": a.encoding}}, a.encoding)
        assert res["exitCode"] == 0 and out == size, (res, out)
        notes = f" {nn} notifications, {w.lines} lines total"
    dt = time.perf_counter() - t0
    if a.tool == "callgrind":
        subprocess.run(["callgrind_control", "-i", "off", str(pid)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["callgrind_control", "-d", str(pid)], check=True, stdout=subprocess.DEVNULL)
    elif tool:
        tool.send_signal(signal.SIGINT); tool.wait()
    print(f"{a.mode} {a.n} {a.encoding if a.mode=='stream' else ''}: {dt:.3f} s{notes}", flush=True)
    w.close()
finally:
    if cid: raw.remove(cid)
