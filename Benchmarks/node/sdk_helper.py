#!/usr/bin/env python3
"""The Docker SDK for Python (docker-py 7.1.0) as a helper process of Benchmarks/node/run.mjs.

Reads one JSON request per line on stdin, runs it with the SDK, and writes one JSON line on stdout:
{"seconds": wall time of the operation measured here, in this process, ...} or {"error": "..."}.
The timing is taken inside Python around the SDK call alone, so the pipe to Node is not counted:
the SDK figure is what a Python host using the SDK sees.

Operations (member "op"): version; ping; inspect {id}; exec {id, cmd}; stream {id, cmd, text};
concurrent {id, cmd, n}; cycle {image, env, labels}.
"""
import json
import os
import sys
import time

import docker

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from run import sdk_stream_bytes, threaded  # noqa: E402  (Benchmarks/run.py's, as its items 4 and 5 use them)


def main():
    client = docker.DockerClient(base_url="unix:///var/run/docker.sock")
    # docker-py keys its connection pools by URL and keeps 25 of them: 64 threads each exec'ing
    # evict and close pools still in use with the defaults (see Benchmarks/README.md); give it room.
    wide = docker.DockerClient(base_url="unix:///var/run/docker.sock", num_pools=1024, max_pool_size=256)
    containers = {}

    def container(cid):
        if cid not in containers:
            containers[cid] = client.containers.get(cid)
        return containers[cid]

    def run(req):
        op = req["op"]
        if op == "version":
            return {"sdk": docker.__version__, "python": sys.version.split()[0]}
        if op == "ping":
            t0 = time.perf_counter()
            client.ping()
            return {"seconds": time.perf_counter() - t0}
        if op == "inspect":
            t0 = time.perf_counter()
            client.containers.get(req["id"]).attrs
            return {"seconds": time.perf_counter() - t0}
        if op == "exec":
            c = container(req["id"])
            t0 = time.perf_counter()
            code = c.exec_run(req["cmd"]).exit_code
            return {"seconds": time.perf_counter() - t0, "exitCode": code}
        if op == "stream":
            c = container(req["id"])
            t0 = time.perf_counter()
            total = sdk_stream_bytes(c, req["cmd"], req.get("text"))
            return {"seconds": time.perf_counter() - t0, "bytes": total}
        if op == "concurrent":
            c = wide.containers.get(req["id"])
            codes = [None] * req["n"]

            def job(i):
                codes[i] = c.exec_run(req["cmd"]).exit_code

            return {"seconds": threaded(job, req["n"]), "exitCodes": codes}
        if op == "cycle":
            t0 = time.perf_counter()
            c = client.containers.run(req["image"], ["sh", "-c", "sleep infinity"], detach=True,
                                      environment=req["env"], ports={"8080/tcp": None}, labels=req["labels"])
            code = c.exec_run(["true"]).exit_code
            c.remove(force=True)
            return {"seconds": time.perf_counter() - t0, "exitCode": code}
        raise ValueError(f"unknown op {op!r}")

    for line in sys.stdin:
        try:
            out = run(json.loads(line))
        except Exception as e:  # noqa: BLE001 -- reported to the Node side
            out = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
