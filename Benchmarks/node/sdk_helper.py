#!/usr/bin/env python3
"""The Docker SDK for Python (docker-py 7.1.0) as a helper process of Benchmarks/node/run.mjs.

Reads one JSON request per line on stdin, runs it with the SDK, and writes one JSON line on stdout:
{"seconds": wall time of the operation measured here, in this process, ...} or {"error": "..."}.
The timing is taken inside Python around the SDK call alone, so the pipe to Node is not counted:
the SDK figure is what a Python host using the SDK sees.

Operations (member "op"): version; ping; inspect {id}; exec {id, cmd}; stream {id, cmd, text,
expected}; concurrent {id, cmd, n}; cycle {image, env, labels}.
"""
import codecs
import json
import sys
import threading
import time

import docker


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
            _, gen = c.exec_run(req["cmd"], stream=True)
            total = 0
            if req.get("text"):
                dec = codecs.getincrementaldecoder("utf-8")("replace")
                for chunk in gen:
                    total += len(dec.decode(chunk).encode("utf-8"))
            else:
                for chunk in gen:
                    total += len(chunk)
            return {"seconds": time.perf_counter() - t0, "bytes": total}
        if op == "concurrent":
            c = wide.containers.get(req["id"])
            n = req["n"]
            barrier = threading.Barrier(n + 1)
            codes = [None] * n

            def job(i):
                barrier.wait()
                codes[i] = c.exec_run(req["cmd"]).exit_code

            threads = [threading.Thread(target=job, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            barrier.wait()
            t0 = time.perf_counter()
            for t in threads:
                t.join()
            return {"seconds": time.perf_counter() - t0, "exitCodes": codes}
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
