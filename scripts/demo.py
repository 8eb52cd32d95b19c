#!/usr/bin/env python3
"""Drives the worker through a short real session and prints the protocol exchange.

    --> lines the host sends (stdin of the worker)
    <-- lines the worker answers (its stdout)
"""
import json
import os
import subprocess
import sys
import threading

WORKER = os.environ.get("OPENLATTICE_DOCKER_WORKER", os.path.join(os.path.dirname(__file__), "..", ".build", "debug", "openlattice-docker-worker"))


class Session:
    def __init__(self):
        self.proc = subprocess.Popen([WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr)
        self.next_id = 0
        self.waiting = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode().rstrip("\n")
            print("<-- " + (line if len(line) < 400 else line[:400] + " …"), flush=True)
            message = json.loads(line)
            if "id" in message and "method" not in message:
                with self.lock:
                    event = self.waiting.get(message["id"])
                if event:
                    event[1] = message
                    event[0].set()

    def call(self, method, params=None):
        self.next_id += 1
        request = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            request["params"] = params
        event = [threading.Event(), None]
        with self.lock:
            self.waiting[self.next_id] = event
        line = json.dumps(request)
        print("--> " + line, flush=True)
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        event[0].wait(120)
        response = event[1]
        if response is None or "error" in response:
            raise SystemExit(f"demo: {method} failed: {response}")
        return response["result"]


def main():
    session = Session()
    session.call("initialize", {"protocolVersion": "1.0", "config": {"defaultLabels": {"openlattice.demo": "true"}}})
    session.call("healthCheck")
    node = session.call("provision", {"spec": {
        "name": "openlattice-demo",
        "runtime": {"image": "openlattice-test/busybox:latest", "env": {"GREETING": "hello from the worker"}},
        "network": {"ports": [{"port": 8080, "hostPort": 0}]},
        "labels": {"openlattice.test": "demo"},
    }})
    node_id = node["externalId"]
    try:
        session.call("exec", {"externalId": node_id, "command": ["sh", "-c", "echo $GREETING; sleep 0.3; echo to stderr >&2; echo done"],
                              "options": {"stream": True}})
        session.call("inspect", {"externalId": node_id})
        ref = session.call("snapshot", {"externalId": node_id, "tag": "demo"})
    finally:
        session.call("destroy", {"externalId": node_id})
    subprocess.run(["docker", "rmi", "-f", ref["externalId"]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    session.call("shutdown")
    session.proc.wait(5)
    print(f"worker exited with {session.proc.returncode}")


if __name__ == "__main__":
    main()
