#!/usr/bin/env python3
"""Profiles the worker on the exec output path (the item-4 stream) or on inspect round trips.

    python3 Benchmarks/profile.py callgrind [--mib 16] [--encoding base64|utf8] [--worker PATH]
    python3 Benchmarks/profile.py perf      [--mib 256] [--encoding base64|utf8] [--worker PATH]
    python3 Benchmarks/profile.py callgrind --inspects 300

`callgrind` runs the worker under `valgrind --tool=callgrind` (instruction counts; threads and
syscall costs are not visible) and prints the top functions with `callgrind_annotate`.
`perf` records the worker with the `cpu-clock` software event (no hardware counters in this VM)
while it streams, including kernel time, and prints `perf report` by symbol.
Output files go to Benchmarks/results/profile/ (git-ignored).
"""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from rawdocker import RawDocker  # noqa: E402
from run import IMAGE, MiB, SOCKET, TARGET_LABELS, default_worker  # noqa: E402
from workerhost import WorkerHost  # noqa: E402


def drive(w, cid, args, before=None):
    w.initialize()
    if before:
        before()
    t0 = time.perf_counter()
    if args.inspects:
        w.call("inspect", {"externalId": cid})
        for _ in range(args.inspects):
            w.call("inspect", {"externalId": cid})
        what = f"{args.inspects} inspects"
    else:
        size = args.mib * MiB
        if args.encoding == "base64":
            cmd = ["head", "-c", str(size), "/dev/zero"]
        else:
            cmd = ["sh", "-c", f"yes abcdefghijklmnopqrstuvwxyz | head -c {size}"]
        res, out, _, n = w.call_counted(
            "exec", {"externalId": cid, "command": cmd, "options": {"stream": True, "encoding": args.encoding}},
            args.encoding)
        assert res["exitCode"] == 0 and out == size, (res, out)
        what = f"{args.mib} MiB stream ({args.encoding}), {n} notifications"
    print(f"drove {what} in {time.perf_counter() - t0:.2f} s", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tool", choices=["callgrind", "perf"])
    ap.add_argument("--worker", default=default_worker())
    ap.add_argument("--mib", type=int, default=None)
    ap.add_argument("--encoding", choices=["base64", "utf8"], default="base64")
    ap.add_argument("--inspects", type=int, default=0, help="profile N warm inspects instead of a stream")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    if args.mib is None:
        args.mib = 16 if args.tool == "callgrind" else 256
    outdir = os.path.join(HERE, "results", "profile")
    os.makedirs(outdir, exist_ok=True)
    tag = f"inspect{args.inspects}" if args.inspects else f"{args.encoding}-{args.mib}M"

    raw = RawDocker(SOCKET)
    cid = raw.create({"Image": IMAGE, "Cmd": ["sleep", "3600"], "Labels": TARGET_LABELS})
    raw.start(cid)
    try:
        if args.tool == "callgrind":
            out = os.path.join(outdir, f"callgrind.{tag}.out")
            # valgrind 3.19 aborts on libdispatch's sigsuspend of a read-only mask: preload a shim.
            shim = os.path.join(outdir, "sigsuspend_shim.so")
            subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", shim,
                            os.path.join(HERE, "tools", "sigsuspend_shim.c")], check=True)
            env = dict(os.environ, LD_PRELOAD=shim)
            # Instrumentation starts after `initialize`, so start-up (dynamic linking, Swift
            # metadata) stays out of the counts.
            w = WorkerHost("valgrind", ["--tool=callgrind", f"--callgrind-out-file={out}", "--separate-threads=no",
                                        "--instr-atstart=no", args.worker],
                           stderr_path=os.path.join(outdir, "valgrind.log"), env=env)

            def instrument_on():
                subprocess.run(["callgrind_control", "-i", "on", str(w.pid)], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                drive(w, cid, args, before=instrument_on)
            finally:
                w.close()
            report = subprocess.run(["callgrind_annotate", "--inclusive=no", out], capture_output=True, text=True).stdout
            lines = report.splitlines()
            # the summary, then the first `top` function lines
            start = next((i for i, l in enumerate(lines) if "file:function" in l), 0)
            head = lines[:start + 2 + args.top]
            print("\n".join(head))
            with open(os.path.join(outdir, f"callgrind.{tag}.txt"), "w") as f:
                f.write(report)
        else:
            out = os.path.join(outdir, f"perf.{tag}.data")
            w = WorkerHost(args.worker)
            try:
                w.initialize()
                rec = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "2000", "-g", "-o", out,
                                        "-p", str(w.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
                w.initialize = lambda: None  # already initialized
                drive(w, cid, args)
                rec.send_signal(2)
                rec.wait()
            finally:
                w.close()
            report = subprocess.run(["perf", "report", "-i", out, "--no-children", "--sort", "dso,symbol",
                                     "--stdio", "-g", "none", "--percent-limit", "0.7"],
                                    capture_output=True, text=True).stdout
            print("\n".join(l for l in report.splitlines() if l and not l.startswith("#"))[:6000])
            with open(os.path.join(outdir, f"perf.{tag}.txt"), "w") as f:
                f.write(report)
    finally:
        raw.remove(cid)


if __name__ == "__main__":
    main()
