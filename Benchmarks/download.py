#!/usr/bin/env python3
"""files.download of a big file: throughput, and the worker's peak resident memory.

  python3 Benchmarks/download.py [--worker BINARY] [--mib 1024] [--chunk-bytes 1048576] [--slow-host]

Provisions a node (openlattice-test/busybox:latest, labelled olw-bench=download), makes a file of
--mib MiB from /dev/urandom in it, downloads it with files.download, checks the SHA-256 against
sha256sum in the node, and prints the elapsed time, MiB/s and the worker's VmHWM (peak RSS) from
/proc/PID/status. --slow-host reads the worker's stdout in small sips with pauses, so the engine
transfer must pause instead of the worker buffering (the peak RSS is what shows it). The node is
destroyed at the end, also on an error.
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", default=os.path.join(ROOT, ".build-release/release/openlattice-docker-worker"))
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--chunk-bytes", type=int, default=1 << 20)
    parser.add_argument("--slow-host", action="store_true")
    args = parser.parse_args()
    worker = subprocess.Popen([args.worker], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    next_id = [0]

    def send(method, params):
        next_id[0] += 1
        worker.stdin.write((json.dumps({"jsonrpc": "2.0", "id": next_id[0], "method": method, "params": params}) + "\n").encode())
        worker.stdin.flush()
        return next_id[0]

    def lines():
        while True:
            line = worker.stdout.readline()
            if not line:
                raise EOFError("the worker closed its output")
            if args.slow_host:
                time.sleep(0.002)
            yield json.loads(line)

    reader = lines()

    def call(method, params):
        request = send(method, params)
        for message in reader:
            if message.get("id") == request:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    external_id = None
    try:
        call("initialize", {"protocolVersion": "1.1"})
        node = call("provision", {"spec": {"runtime": {"image": "openlattice-test/busybox:latest"}, "labels": {"olw-bench": "download"}}})
        external_id = node["externalId"]
        call("exec", {"externalId": external_id, "command": ["sh", "-c", f"head -c {args.mib << 20} /dev/urandom > /tmp/big"],
                      "options": {"timeoutMs": 600000}})
        expected = call("exec", {"externalId": external_id, "command": ["sha256sum", "/tmp/big"]})["stdout"].split()[0]
        start = time.monotonic()
        request = send("files.download", {"externalId": external_id, "path": "/tmp/big", "chunkBytes": args.chunk_bytes})
        digest = hashlib.sha256()
        size = 0
        progress = 0
        for message in reader:
            if message.get("method") == "files.data" and message["params"]["requestId"] == request:
                data = base64.b64decode(message["params"]["data"])
                digest.update(data)
                size += len(data)
            elif message.get("method") == "files.progress":
                progress += 1
            elif message.get("id") == request:
                if "error" in message:
                    raise RuntimeError(f"files.download: {message['error']}")
                result = message["result"]
                break
        elapsed = time.monotonic() - start
        with open(f"/proc/{worker.pid}/status") as status:
            peak = next(line for line in status if line.startswith("VmHWM:")).split()[1]
        ok = digest.hexdigest() == expected == result["sha256"] and size == args.mib << 20
        print(f"files.download {args.mib} MiB (chunkBytes {args.chunk_bytes}{', slow host' if args.slow_host else ''}): "
              f"{elapsed:.1f} s, {args.mib / elapsed:.1f} MiB/s, {progress} files.progress, "
              f"worker peak RSS {int(peak) / 1024:.1f} MiB, sha256 {'matches' if ok else 'DIFFERS'}")
        return 0 if ok else 1
    finally:
        if external_id:
            try:
                call("destroy", {"externalId": external_id})
            except Exception as error:  # noqa: BLE001
                print(f"destroy failed: {error}; remove the node labelled olw-bench=download", file=sys.stderr)
        worker.stdin.close()
        worker.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
