#!/usr/bin/env python3
"""A quick loop over item 4 alone: the worker's exec output stream against the raw socket client.

    python3 Benchmarks/stream.py [WORKER] [MiB]     (defaults: the release build, 128)

Prints, per trial, MiB/s for both, the number of `exec.output` notifications and the worker's CPU
milliseconds per MiB (steadier than throughput on a shared machine). Used to try stream-path changes.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from workerhost import WorkerHost, proc_cpu_seconds  # noqa: E402
from rawdocker import RawDocker  # noqa: E402
from run import IMAGE, RELEASE_WORKER, MiB  # noqa: E402

worker = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else RELEASE_WORKER
mib = int(sys.argv[2]) if len(sys.argv) > 2 else 128
raw = RawDocker()
w = WorkerHost(worker, [])
w.initialize()
cid = raw.create({"Image": IMAGE, "Cmd": ["sleep", "600"], "Labels": {"openlattice.test": "streambench", "openlattice.managed": "true"}})
try:
    raw.start(cid)
    for variant, cmd, enc in (("binary", ["head", "-c", str(mib * MiB), "/dev/zero"], "base64"),
                              ("text", ["sh", "-c", f"yes abcdefghijklmnopqrstuvwxyz | head -c {mib * MiB}"], "utf8")):
        for trial in range(3):
            c0 = proc_cpu_seconds(w.pid); h0 = time.process_time(); t0 = time.perf_counter()
            res, out, err, n = w.call_counted("exec", {"externalId": cid, "command": cmd, "options": {"stream": True, "encoding": enc}}, enc)
            dt = time.perf_counter() - t0; c1 = proc_cpu_seconds(w.pid); h1 = time.process_time()
            assert out == mib * MiB, out
            t1 = time.perf_counter(); code, rout, rerr = raw.exec_stream(cid, cmd, text=False); rdt = time.perf_counter() - t1
            print(f"{variant}: worker {mib/dt:.1f} MiB/s ({n} notifications, worker CPU {1000*(c1-c0)/mib:.2f} ms/MiB, host CPU {1000*(h1-h0)/mib:.2f} ms/MiB)  raw {mib/rdt:.1f} MiB/s", flush=True)
finally:
    w.close()
    raw.remove(cid)
