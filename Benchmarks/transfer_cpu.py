#!/usr/bin/env python3
"""Where a transfer's CPU goes: 256 MiB up (files.upload, 4 MiB chunks, two in flight) and down
(files.download), with the CPU seconds of the worker, this Python host and dockerd for each.

  python3 Benchmarks/transfer_cpu.py [--worker BINARY] [--mib 256]

Needs the engine and the test image (scripts/setup.sh); the node is labelled olw-bench=files and
destroyed at the end.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import files as F  # noqa: E402


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dockerd_seconds():
    pids = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout.split()
    return sum(cpu_seconds(int(pid)) for pid in pids)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", default=os.path.join(F.ROOT, ".build-release/release/openlattice-docker-worker"))
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args()
    worker = F.Worker(args.worker)
    node = None
    source = os.path.join("/tmp", f"olw-transfer-cpu-{os.getpid()}.bin")
    try:
        worker.call("initialize", {"protocolVersion": "1.1"})
        node = worker.call("provision", {"spec": {"runtime": {"image": F.IMAGE}, "labels": {"olw-bench": "files"}}})["externalId"]
        with open(source, "wb") as handle:
            for _ in range(args.mib):
                handle.write(os.urandom(1 << 20))
        for direction in ("up", "down"):
            worker_before, dockerd_before = cpu_seconds(worker.process.pid), dockerd_seconds()
            host_before, start = time.process_time(), time.monotonic()
            if direction == "up":
                F.upload(worker, node, source, "/tmp/w.bin", args.mib << 20)
            else:
                worker.call("files.download", {"externalId": node, "path": "/tmp/w.bin", "chunkBytes": 1 << 20}, sink=lambda _: None)
            elapsed = time.monotonic() - start
            print(f"{direction}: {args.mib} MiB in {elapsed:.2f} s ({args.mib / elapsed:.0f} MiB/s); CPU seconds: worker "
                  f"{cpu_seconds(worker.process.pid) - worker_before:.2f}, host {time.process_time() - host_before:.2f}, "
                  f"dockerd {dockerd_seconds() - dockerd_before:.2f}")
        return 0
    finally:
        if node:
            worker.call("destroy", {"externalId": node})
        worker.close()
        if os.path.exists(source):
            os.remove(source)


if __name__ == "__main__":
    sys.exit(main())
