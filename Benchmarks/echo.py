#!/usr/bin/env python3
"""Interactive stdin round trip: a line typed into `cat` and echoed back, worker against raw socket.

  python3 Benchmarks/echo.py [--worker BINARY] [--rounds 300]

Issue 13's target: through the worker (`exec {stdin: true, stream: true}`, `exec.input` in,
`exec.output` out) a line comes back from `cat` in under 10 ms more than through the engine's own
hijacked exec stream, driven here on the raw socket exactly as the worker drives it
(`POST /exec/{id}/start` with `Connection: Upgrade`, `Upgrade: tcp`, then the multiplexed stream).
Both run in one process, one after the other, against the same node (openlattice-test/busybox:latest,
labelled olw-bench=echo), which is destroyed at the end, also on an error. Prints the median and
90th percentile of each and the worker's added latency.
"""
import argparse
import json
import os
import queue
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOCKET = "/var/run/docker.sock"


class Worker:
    """The worker over pipes: requests by id, notifications into a queue."""

    def __init__(self, binary):
        self.proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.answers, self.notes, self.next_id = {}, queue.Queue(), 1
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            msg = json.loads(line)
            if "id" in msg and "method" not in msg:
                with self.lock:
                    self.answers[msg["id"]] = msg
                    self.lock.notify_all()
            else:
                self.notes.put(msg)

    def send(self, method, params=None, notification=False):
        msg = {"jsonrpc": "2.0", "method": method, "params": params or {}}
        rid = None
        if not notification:
            rid = self.next_id
            self.next_id += 1
            msg["id"] = rid
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()
        return rid

    def wait(self, rid, timeout=120):
        with self.lock:
            self.lock.wait_for(lambda: rid in self.answers, timeout)
            msg = self.answers.pop(rid)
        if "error" in msg:
            raise RuntimeError(f"{msg['error']}")
        return msg["result"]

    def call(self, method, params=None):
        return self.wait(self.send(method, params))


def raw_request(method, path, body=None):
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(SOCKET)
    data = json.dumps(body).encode() if body is not None else b""
    sock.sendall(f"{method} /v1.41{path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
    sock.close()
    head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        body, out = rest, b""
        while body:
            size_line, _, body = body.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            out, body = out + body[:size], body[size + 2:]
        rest = out
    return json.loads(rest) if rest.strip() else None


def raw_rounds(container, rounds, line):
    """`cat` through a hijacked exec on the raw socket; seconds per round."""
    exec_id = raw_request("POST", f"/containers/{container}/exec",
                          {"Cmd": ["cat"], "AttachStdin": True, "AttachStdout": True, "AttachStderr": True})["Id"]
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(SOCKET)
    body = b'{"Detach":false,"Tty":false}'
    sock.sendall(f"POST /v1.41/exec/{exec_id}/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
                 f"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    buffered = b""
    while b"\r\n\r\n" not in buffered:
        buffered += sock.recv(4096)
    head, _, buffered = buffered.partition(b"\r\n\r\n")
    assert b" 101 " in head.split(b"\r\n")[0], head
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        sock.sendall(line)
        got = b""
        while len(got) < len(line):
            while len(buffered) < 8 or len(buffered) < 8 + struct.unpack(">I", buffered[4:8])[0]:
                buffered += sock.recv(65536)
            size = struct.unpack(">I", buffered[4:8])[0]
            got += buffered[8:8 + size]
            buffered = buffered[8 + size:]
        times.append(time.perf_counter() - start)
        assert got == line, got
    sock.shutdown(socket.SHUT_WR)
    sock.close()
    return times


def worker_rounds(worker, container, rounds, line):
    """`cat` through the worker's exec with stdin; seconds per round."""
    rid = worker.send("exec", {"externalId": container, "command": ["cat"], "options": {"stdin": True, "stream": True}})
    text = line.decode()
    # The first round waits for the exec to start; it is not counted.
    times = []
    for round_ in range(rounds + 1):
        start = time.perf_counter()
        worker.send("exec.input", {"requestId": rid, "data": text}, notification=True)
        got = ""
        while len(got) < len(text):
            note = worker.notes.get(timeout=30)
            if note.get("method") == "exec.output" and note["params"]["requestId"] == rid:
                got += note["params"]["data"]
        assert got == text, got
        if round_ > 0:
            times.append(time.perf_counter() - start)
    worker.send("exec.input", {"requestId": rid, "data": "", "eof": True}, notification=True)
    worker.wait(rid)
    return times


def summary(times):
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.9)] * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", default=os.path.join(ROOT, ".build/debug/openlattice-docker-worker"))
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    worker = Worker(args.worker)
    worker.call("initialize", {"protocolVersion": "1.1"})
    node = worker.call("provision", {"spec": {"runtime": {"image": "openlattice-test/busybox:latest"},
                                              "labels": {"olw-bench": "echo"}}})
    container = node["externalId"]
    try:
        line = b"the quick brown fox jumps over the lazy dog\n"
        results = {}
        # Alternating, twice each: the machine's noise falls on both.
        for name in ["raw", "worker", "raw", "worker"]:
            times = raw_rounds(container, args.rounds, line) if name == "raw" else worker_rounds(worker, container, args.rounds, line)
            results.setdefault(name, []).extend(times)
        raw_median, raw_p90 = summary(results["raw"])
        worker_median, worker_p90 = summary(results["worker"])
        print(f"echo round trip through cat, {len(results['raw'])} rounds each ({os.path.basename(args.worker)} "
              f"from {os.path.dirname(args.worker)})")
        print(f"  raw socket hijack: median {raw_median:.3f} ms, p90 {raw_p90:.3f} ms")
        print(f"  worker:            median {worker_median:.3f} ms, p90 {worker_p90:.3f} ms")
        added = worker_median - raw_median
        print(f"  worker adds {added:.3f} ms at the median (target < 10 ms): {'met' if added < 10 else 'NOT met'}")
    finally:
        worker.call("destroy", {"externalId": container})
        worker.proc.stdin.close()
        worker.proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
