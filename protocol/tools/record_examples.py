#!/usr/bin/env python3
"""Records protocol/examples/*.jsonl from real sessions with the worker against the real engine.

  python3 protocol/tools/record_examples.py [--worker BINARY] [--out DIR] [FAMILY ...]

For each method family (lifecycle, exec, files, network, metrics, logs, events, errors, tenancy) it spawns the
worker, runs a scripted session against the engine and writes every line of it, in the order it was
written or read, to <out>/<family>.jsonl, one JSON object a line:

  {"direction": "send", "message": {…request or notification…}}
  {"direction": "recv", "message": {…response, batch response or notification…}}
  {"direction": "send", "raw": "…"}        (only for a deliberately malformed line, in errors.jsonl)

Every container a session makes is labelled openlattice.test=examples; they, and the snapshot images a
session made, are removed at the end whatever happens. check_examples.py validates the files against
openrpc.json and replays them against a live worker. Needs only the Python standard library.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from worker_session import (EXAMPLES_DIR, ROOT, RUN_TOKEN, WorkerSession, remove_images, remove_labelled,  # noqa: E402
                            snapshot_images, worker_binary)

IMAGE = "openlattice-test/busybox:latest"
LABELS = {"openlattice.test": RUN_TOKEN}


def init(s, config=None, version="1.0"):
    params = {"protocolVersion": version}
    if config:
        params["config"] = config
    return s.call("initialize", params)["result"]


def provision(s, **spec):
    spec.setdefault("runtime", {"image": IMAGE})
    spec.setdefault("labels", dict(LABELS))
    return s.call("provision", {"spec": spec})["result"]


def wait_until(predicate, timeout=30.0, what="a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


# ── the families ─────────────────────────────────────────────────────

def family_lifecycle(s):
    init(s, {"ownerId": RUN_TOKEN, "defaultLabels": {"team": "examples"}})
    s.call("healthCheck", {}, id="health-1")
    s.call("detectGpu", {})
    node = provision(
        s, runtime={"image": IMAGE, "env": {"GREETING": "hello", "MODE": "demo"}, "workdir": "/tmp"},
        cpu={"cores": 0.5}, memory={"sizeGiB": 0.25}, network={"ports": [{"port": 8080, "hostPort": 0}]})
    eid = node["externalId"]
    s.call("inspect", {"externalId": eid})
    s.call("list", {"labels": LABELS})
    s.call("getExtension", {"externalId": eid, "name": "metrics"})
    s.call("getExtension", {"externalId": eid, "name": "gpu"})
    s.call("pause", {"externalId": eid})
    s.call("pause", {"externalId": eid})
    s.call("resume", {"externalId": eid})
    s.call("restart", {"externalId": eid, "timeoutSeconds": 1})
    s.call("stop", {"externalId": eid, "timeoutSeconds": 1})
    s.call("stop", {"externalId": eid})
    s.call("inspect", {"externalId": eid})
    s.call("start", {"externalId": eid})
    s.call("start", {"externalId": eid})
    ref = s.call("snapshot", {"externalId": eid})["result"]
    s.call("snapshot", {"externalId": eid, "tag": "examples-tagged"})
    restored = s.call("restore", {"ref": ref, "spec": {"labels": LABELS}})["result"]
    s.call("inspect", {"externalId": restored["externalId"]})
    s.call("reap", {"keep": [eid]})
    s.call("destroy", {"externalId": eid})
    s.call("destroy", {"externalId": eid})
    s.call("inspect", {"externalId": eid})
    s.call("list", {"labels": LABELS})
    s.call("shutdown", {})


def family_exec(s):
    init(s, version="1.1")
    eid = provision(s)["externalId"]
    s.call("exec", {"externalId": eid, "command": ["sh", "-c", "echo \"$GREETING from $(pwd)\"; echo oops >&2; exit 42"],
                    "options": {"cwd": "/tmp", "env": {"GREETING": "hello"}}})
    s.call("exec", {"externalId": eid, "command": ["sh", "-c", "echo one; sleep 0.3; echo two >&2"],
                    "options": {"stream": True}})
    s.call("exec", {"externalId": eid, "command": ["sh", "-c", "printf '\\377\\000ab'"], "options": {"encoding": "base64"}})
    s.call("exec", {"externalId": eid, "command": ["sh", "-c", "printf 'caf\\303'; sleep 0.3; printf '\\251 \\377x\\n'"],
                    "options": {"stream": True, "encoding": "utf8"}})
    s.call("exec", {"externalId": eid, "command": ["sleep", "30"], "options": {"timeoutMs": 500}})
    s.call("exec", {"externalId": eid, "command": ["no-such-command"]})
    s.call("exec", {"externalId": eid, "command": ["id", "-u"], "options": {"user": "65534"}})
    # 1.1: stdin through exec.input (text, then base64 with eof), and a terminal that exec.resize resizes.
    shell = s.start("exec", {"externalId": eid, "command": ["sh", "-c", "read line; echo \"got $line\"; cat; exit 3"],
                             "options": {"stdin": True}})
    s.notify("exec.input", {"requestId": shell, "data": "one\n"})
    s.notify("exec.input", {"requestId": shell, "data": "dHdvCg==", "encoding": "base64", "eof": True})
    s.response(shell)
    term = s.start("exec", {"externalId": eid, "command": ["sh", "-c", "stty size; sleep 1; stty size"],
                            "options": {"tty": {"rows": 24, "cols": 80}, "stream": True}})
    time.sleep(0.5)
    s.notify("exec.resize", {"requestId": term, "rows": 40, "cols": 120})
    s.response(term)
    # 1.1: background commands: answered at once with {execId}; exec.attach from an offset; exec.list;
    # exec.kill with SIGTERM, whose trap runs.
    bg = s.call("exec", {"externalId": eid, "command": ["sh", "-c", "echo one; sleep 1; echo two >&2; exit 3"],
                         "options": {"background": True}})["result"]["execId"]
    s.call("exec.attach", {"execId": bg, "offset": 4})
    trap = s.call("exec", {"externalId": eid,
                           "command": ["sh", "-c", "trap 'echo bye; exit 0' TERM; touch /tmp/trapped; sleep 60 & wait"],
                           "options": {"background": True}})["result"]["execId"]
    # A replay does not sleep: it waits for the trap to be set, so that SIGTERM finds it.
    s.call("exec", {"externalId": eid, "command": ["sh", "-c", "until [ -e /tmp/trapped ]; do sleep 0.05; done"]})
    s.call("exec.list", {"externalId": eid})
    s.call("exec.kill", {"execId": trap, "signal": "SIGTERM"})
    s.call("exec.attach", {"execId": trap})
    s.call("destroy", {"externalId": eid})
    s.call("shutdown", {})


def family_files(s):
    init(s)
    eid = provision(s)["externalId"]
    s.call("getExtension", {"externalId": eid, "name": "files"})
    s.call("files.mkdir", {"externalId": eid, "path": "/srv/app/data"})
    s.call("files.write", {"externalId": eid, "path": "/srv/app/hello.txt", "content": "héllo\nworld\n"})
    s.call("files.write", {"externalId": eid, "path": "/srv/app/data/blob.bin", "content": "AAEC/4CBgoM=",
                           "encoding": "base64", "mode": 384})
    s.call("files.write", {"externalId": eid, "path": "/srv/new/dir/note.txt", "content": "made with its parents",
                           "createParents": True})
    s.call("exec", {"externalId": eid, "command": ["ln", "-s", "hello.txt", "/srv/app/current"]})
    s.call("files.read", {"externalId": eid, "path": "/srv/app/hello.txt"})
    s.call("files.read", {"externalId": eid, "path": "/srv/app/hello.txt", "offset": 7, "length": 5})
    s.call("files.read", {"externalId": eid, "path": "/srv/app/data/blob.bin", "encoding": "base64"})
    s.call("files.read", {"externalId": eid, "path": "/srv/app/data/blob.bin"})
    s.call("files.read", {"externalId": eid, "path": "/srv/app/current"})
    s.call("files.list", {"externalId": eid, "path": "/srv/app"})
    # 1.1: many files in one upload; a file and a folder (tar) streamed back in files.data.
    s.call("files.writeMany", {"externalId": eid, "files": [
        {"path": "/srv/app/many/a.txt", "content": "one\n"},
        {"path": "/srv/app/many/bin/run", "content": "IyEvYmluL3NoCg==", "encoding": "base64", "mode": 493}]})
    s.call("files.writeMany", {"externalId": eid, "files": [{"path": "/srv/app/many/a.txt", "content": "x"},
                                                            {"path": "/srv/app/many/./a.txt", "content": "y"}]},
           expect=-32602)
    s.call("files.download", {"externalId": eid, "path": "/srv/app/hello.txt"})
    s.call("files.download", {"externalId": eid, "path": "/srv/app/many/bin"})
    up = s.call("files.upload", {"externalId": eid, "path": "/srv/app/up.bin", "size": 8, "mode": 384})
    upload_id = up["result"]["uploadId"]
    s.call("files.uploadChunk", {"uploadId": upload_id, "data": "AAECAw==", "encoding": "base64"})
    s.call("files.uploadChunk", {"uploadId": upload_id, "data": "/4CBgg==", "encoding": "base64"})
    s.call("files.finishUpload", {"uploadId": upload_id})
    gone = s.call("files.upload", {"externalId": eid, "path": "/srv/app/hello.txt"})
    s.call("files.uploadChunk", {"uploadId": gone["result"]["uploadId"], "data": "never lands"})
    s.call("files.cancelUpload", {"uploadId": gone["result"]["uploadId"]})
    s.call("files.finishUpload", {"uploadId": gone["result"]["uploadId"]}, expect=-32602)
    s.call("files.remove", {"externalId": eid, "path": "/srv/app/data"}, expect=-32009)
    s.call("files.remove", {"externalId": eid, "path": "/srv/app/data", "recursive": True})
    s.call("files.remove", {"externalId": eid, "path": "/srv/app/hello.txt"})
    s.call("files.mkdir", {"externalId": eid, "path": "/srv/x/y", "recursive": False}, expect=-32004)
    s.call("files.read", {"externalId": eid, "path": "/srv/app/hello.txt"}, expect=-32004)
    s.call("files.list", {"externalId": eid, "path": "/srv/app"})
    s.call("stop", {"externalId": eid, "timeoutSeconds": 0})
    s.call("files.write", {"externalId": eid, "path": "/srv/stopped.txt", "content": "written while stopped"})
    s.call("files.read", {"externalId": eid, "path": "/srv/stopped.txt"})
    s.call("destroy", {"externalId": eid})
    s.call("shutdown", {})


def family_network(s):
    init(s)
    eid = provision(s, network={"ports": [{"port": 8080, "hostPort": 0}, {"port": 5353, "protocol": "udp", "hostPort": 0}]})["externalId"]
    s.call("getExtension", {"externalId": eid, "name": "network"})
    s.call("network.getUrl", {"externalId": eid, "port": 8080})
    s.call("network.getUrl", {"externalId": eid, "port": 8080, "protocol": "tcp", "scope": "host"})
    s.call("network.getUrl", {"externalId": eid, "port": 9999}, expect=-32004)
    s.call("network.getUrl", {"externalId": eid, "port": 8080, "scope": "internal"}, expect=-32004)
    s.call("destroy", {"externalId": eid})
    s.call("shutdown", {})


def family_metrics(s):
    init(s)
    eid = provision(s, memory={"sizeGiB": 0.25})["externalId"]
    s.call("getExtension", {"externalId": eid, "name": "metrics"})
    s.call("metrics.getResourceUsage", {"externalId": eid})
    s.call("metrics.streamMetrics", {"externalId": eid, "intervalMs": 1000, "maxSamples": 2})
    stream = s.start("metrics.streamMetrics", {"externalId": eid})
    wait_until(lambda: s.notifications("metrics.sample", stream), 30, "a metrics.sample")
    s.cancel(stream)
    s.response(stream)
    s.call("stop", {"externalId": eid, "timeoutSeconds": 0})
    s.call("metrics.streamMetrics", {"externalId": eid, "maxSamples": 5})
    s.call("metrics.getResourceUsage", {"externalId": eid}, expect=-32009)
    s.call("destroy", {"externalId": eid})
    s.call("shutdown", {})


def family_logs(s):
    init(s)
    script = "echo starting; echo warming up >&2; i=1; while [ $i -le 4 ]; do echo tick $i; i=$((i+1)); sleep 0.5; done; echo done >&2"
    eid = provision(s, runtime={"image": IMAGE, "command": ["sh", "-c", script]})["externalId"]
    s.call("getExtension", {"externalId": eid, "name": "logs"})
    time.sleep(0.3)
    s.call("logs", {"externalId": eid})
    s.call("logs", {"externalId": eid, "tail": 1, "timestamps": True})
    s.call("logs", {"externalId": eid, "tail": "all", "follow": True}, timeout=30)
    s.call("logs", {"externalId": eid, "since": "2020-01-01T00:00:00Z", "tail": "all"})
    s.call("logs", {"externalId": eid, "tail": "all", "follow": True}, timeout=30)
    s.call("destroy", {"externalId": eid})
    s.call("shutdown", {})


def family_events(s):
    init(s)
    subscription = s.start("events.subscribe", {})
    time.sleep(0.5)  # let the subscription reach the engine
    node = provision(s, runtime={"image": IMAGE, "command": ["sh", "-c", "sleep 1; exit 3"]})
    eid = node["externalId"]

    def event(action):
        return lambda: [n for n in s.notifications("node.event", subscription)
                        if n["params"].get("externalId") == eid and n["params"].get("action") == action]
    wait_until(event("die"), 30, "the die event")
    s.call("destroy", {"externalId": eid})
    wait_until(event("destroy"), 30, "the destroy event")
    s.cancel(subscription)
    s.response(subscription)
    s.call("shutdown", {})


def family_lifetimes(s):
    s.call("initialize", {"protocolVersion": "1.1", "config": {"ownerId": RUN_TOKEN, "onHostExit": "destroy"}})
    subscription = s.start("events.subscribe", {})
    node = provision(
        s, runtime={"image": IMAGE, "command": ["sh", "-c", "sleep 1; echo ready; exec nc -ll -p 8080 -e echo hi"],
                    "init": True},
        network={"ports": [{"port": 8080, "hostPort": 0}]},
        lifetime={"ttlSeconds": 600, "idleSeconds": 300, "onExpire": "destroy"},
        readiness={"tcpPort": 8080, "logLine": "ready", "timeoutMs": 30000})
    eid = node["externalId"]
    s.call("inspect", {"externalId": eid})
    s.call("lifetime.set", {"externalId": eid, "ttlSeconds": 1200, "idleSeconds": None})
    ref = s.call("snapshot", {"externalId": eid, "tag": "examples-lifetimes"})["result"]
    s.call("snapshots.list", {})
    restored = s.call("restore", {"ref": ref, "spec": {"labels": LABELS, "memory": {"sizeGiB": 0.25},
                                                       "network": {"ports": [{"port": 8080, "hostPort": 0}]}}})["result"]
    s.call("snapshots.delete", {"ref": ref}, expect=-32009)
    s.call("destroy", {"externalId": restored["externalId"]})
    s.call("snapshots.delete", {"ref": ref})
    short = provision(s, lifetime={"ttlSeconds": 1})
    wait_until(lambda: [n for n in s.notifications("node.event", subscription)
                        if n["params"].get("externalId") == short["externalId"] and n["params"].get("action") == "expired"],
               30, "the expired event")
    s.call("provision", {"spec": {"runtime": {"image": IMAGE}, "labels": LABELS,
                                  "readiness": {"exec": ["test", "-e", "/never"], "timeoutMs": 500}}}, expect=-32008)
    s.cancel(subscription)
    s.response(subscription)
    s.call("destroy", {"externalId": eid})
    s.call("shutdown", {})


def family_errors(s):
    s.call("inspect", {"externalId": "olx-anything"}, expect=-32002)
    s.call("initialize", {"protocolVersion": "9.9"}, expect=-32602)
    init(s)
    s.call("initialize", {"protocolVersion": "1.0"}, expect=-32600)
    s.write_raw('{"jsonrpc": "2.0", "id": 90, "method": "healthCheck"')
    s.wait_for(lambda: [r for r in s._responses_unlocked() if r.get("id") is None], 10, "the parse error")
    s.write_message({"id": 91, "method": "healthCheck"})
    s.response(91)
    s.call("no.such.method", {}, expect=-32601)
    s.call("inspect", [1], expect=-32602)
    s.call("exec", {"externalId": "olx-anything", "command": "ls"}, expect=-32602)
    s.call("inspect", {"externalId": "not a valid id!"}, expect=-32602)
    s.write_message([{"jsonrpc": "2.0", "id": 92, "method": "healthCheck", "params": {}},
                     {"jsonrpc": "2.0", "id": 93, "method": "no.such.method"}])
    s.response(93)
    s.write_message([])
    s.wait_for(lambda: len([r for r in s._responses_unlocked() if r.get("id") is None]) >= 2, 10, "the empty batch error")
    s.call("exec", {"externalId": "olx-no-such-node", "command": ["true"]}, expect=-32004)
    s.call("stop", {"externalId": "olx-no-such-node"}, expect=-32004)
    s.call("provision", {"spec": {"runtime": {"image": IMAGE}, "gpu": {"count": 1}, "labels": LABELS}}, expect=-32602)
    s.call("provision", {"spec": {"runtime": {"image": IMAGE, "command": []}, "labels": LABELS}}, expect=-32602)
    s.call("provision", {"spec": {"runtime": {"image": "127.0.0.1:1/openlattice-missing:latest"}, "labels": LABELS}}, expect=-32000)
    s.call("reap", {}, expect=-32602)
    eid = provision(s)["externalId"]
    s.call("files.read", {"externalId": eid, "path": "etc/hostname"}, expect=-32602)
    s.call("files.read", {"externalId": eid, "path": "/no/such/file"}, expect=-32004)
    slow = s.start("exec", {"externalId": eid, "command": ["sleep", "30"]})
    time.sleep(0.5)
    s.cancel(slow)
    s.response(slow)
    s.call("stop", {"externalId": eid, "timeoutSeconds": 0})
    s.call("exec", {"externalId": eid, "command": ["true"]}, expect=-32009)
    s.call("pause", {"externalId": eid}, expect=-32009)
    s.call("destroy", {"externalId": eid})
    s.call("shutdown", {})


def family_tenancy(s):
    # protocol 1.1: an owner and a security policy; what a spec may not ask is refused naming the field
    s.call("initialize", {"protocolVersion": "1.1", "config": {"ownerId": RUN_TOKEN, "policy": {
        "bindMounts": "none", "publishAddress": "127.0.0.1", "pidsLimit": 64, "capDrop": ["ALL"],
        "noNewPrivileges": True, "maxCpuCores": 1, "maxMemoryGiB": 0.5}}})
    s.call("provision", {"spec": {"runtime": {"image": IMAGE}, "labels": {**LABELS, "openlattice.owner": "someone-else"}}},
           expect=-32602)
    s.call("provision", {"spec": {"runtime": {"image": "../../_ping"}, "labels": LABELS}}, expect=-32602)
    s.call("provision", {"spec": {"runtime": {"image": IMAGE}, "labels": LABELS,
                                  "volumes": [{"source": "/var/run/docker.sock", "target": "/var/run/docker.sock"}]}}, expect=-32602)
    s.call("provision", {"spec": {"runtime": {"image": IMAGE}, "labels": LABELS, "cpu": {"cores": 4}}}, expect=-32602)
    s.call("provision", {"spec": {"runtime": {"image": IMAGE}, "labels": LABELS, "security": {"pidsLimit": 1000}}}, expect=-32602)
    node = provision(s, network={"ports": [{"port": 8080, "hostPort": 0}], "mode": "bridge"}, security={"pidsLimit": 32})
    eid = node["externalId"]
    s.call("exec", {"externalId": eid, "command": ["sh", "-c", "ls /sys/class/net | sort | head -1"]})
    s.call("files.write", {"externalId": eid, "path": "/tmp/suid", "content": "x", "mode": 0o4755}, expect=-32602)
    s.call("snapshot", {"externalId": eid, "tag": "tenancy-examples"})
    s.call("list", {"labels": LABELS})
    s.call("destroy", {"externalId": eid})
    s.call("shutdown", {})


FAMILIES = {
    "lifecycle": family_lifecycle,
    "exec": family_exec,
    "files": family_files,
    "network": family_network,
    "metrics": family_metrics,
    "logs": family_logs,
    "events": family_events,
    "lifetimes": family_lifetimes,
    "errors": family_errors,
    "tenancy": family_tenancy,
}


def record(name, binary, out_dir):
    session = WorkerSession(binary)
    try:
        FAMILIES[name](session)
        status = session.close(timeout=5)
        if status != 0:
            raise RuntimeError(f"the worker exited with status {status}")
    finally:
        session.close(timeout=2)
        remove_images(snapshot_images(session.log))
        remove_labelled(RUN_TOKEN)
    if session.bad_lines:
        raise RuntimeError(f"non-JSON lines on stdout: {session.bad_lines[:3]}")
    path = os.path.join(out_dir, f"{name}.jsonl")
    with open(path, "w", encoding="utf-8") as handle:
        for entry in session.log:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return path, len(session.log)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("families", nargs="*", help=f"which to record (default all: {', '.join(FAMILIES)})")
    parser.add_argument("--worker", help="the worker binary (default $OPENLATTICE_DOCKER_WORKER or .build/debug)")
    parser.add_argument("--out", default=EXAMPLES_DIR, help="where to write the .jsonl files")
    args = parser.parse_args()
    unknown = [f for f in args.families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    os.makedirs(args.out, exist_ok=True)
    binary = worker_binary(args.worker)
    failed = 0
    for name in args.families or FAMILIES:
        try:
            path, count = record(name, binary, args.out)
            print(f"record_examples: {name}: {count} lines -> {os.path.relpath(path, ROOT)}")
        except Exception as error:  # report and go on with the next family
            failed += 1
            print(f"record_examples: {name} failed: {type(error).__name__}: {error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
