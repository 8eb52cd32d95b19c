#!/usr/bin/env python3
"""Data movement (issue 14): the worker's file methods side by side with `docker cp`, in one run.

  python3 Benchmarks/files.py [--worker BINARY] [--mib 1024] [--rounds 3] [--quick]

Items, each a median over --rounds trials, worker and `docker cp` alternating:
  1. a file of --mib MiB (random) host → node: files.upload (size given, 4 MiB chunks, two in
     flight) vs `docker cp FILE NODE:/tmp/…`; sha256 checked in the node for both.
  2. the same file node → host: files.download (1 MiB notifications, decoded and hashed by the
     host) vs `docker cp NODE:/tmp/… DIR`; sha256 checked.
  3. 200 files of 1 KiB: one files.writeMany vs 200 files.write calls vs `docker cp` of the folder.
  4. a folder of 5,000 files, 200 MiB in all: host → node as a tar stream (files.upload
     format tar, fed by `tar -c` as it writes) vs `docker cp DIR NODE:/…`; node → host by
     files.download of the folder (a tar stream, unpacked by `tar -x` as it comes) vs `docker cp`.
The worker's peak resident memory (VmHWM, reset before each item through clear_refs) is printed
with each. --quick: 64 MiB, one round, 1,000 files of 20 MiB in all. Needs the engine and the
test image (scripts/setup.sh); every node is labelled olw-bench=files and destroyed at the end.
"""
import argparse
import base64
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = "openlattice-test/busybox:latest"


class Worker:
    """The worker over pipes; one reader thread routes responses and feeds files.data to a sink."""

    def __init__(self, binary):
        self.process = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.lock = threading.Condition()
        self.responses = {}
        self.sinks = {}  # request id -> callable(bytes)
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            message = json.loads(line)
            if message.get("method") == "files.data":
                sink = self.sinks.get(message["params"]["requestId"])
                if sink:
                    sink(base64.b64decode(message["params"]["data"]))
                continue
            if "id" in message:
                with self.lock:
                    self.responses[message["id"]] = message
                    self.lock.notify_all()
        with self.lock:
            self.responses[None] = {"error": "the worker closed its output"}
            self.lock.notify_all()

    def send(self, method, params, sink=None):
        with self.lock:
            self.next_id += 1
            request = self.next_id
            if sink:
                self.sinks[request] = sink
        self.process.stdin.write((json.dumps({"jsonrpc": "2.0", "id": request, "method": method, "params": params}) + "\n").encode())
        self.process.stdin.flush()
        return request

    def wait(self, request, timeout=900):
        deadline = time.monotonic() + timeout
        with self.lock:
            while request not in self.responses:
                if None in self.responses:
                    raise RuntimeError("the worker closed its output")
                if not self.lock.wait(deadline - time.monotonic()):
                    raise TimeoutError(f"no answer to {request}")
            message = self.responses.pop(request)
            self.sinks.pop(request, None)
        if "error" in message:
            raise RuntimeError(message["error"])
        return message["result"]

    def call(self, method, params, sink=None):
        return self.wait(self.send(method, params, sink))

    def reset_peak(self):
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as refs:
            refs.write("5")

    def peak_mib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)


def run(*command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, **kwargs)


def node_sum(node, path):
    return run("docker", "exec", node, "sha256sum", path).stdout.split()[0].decode()


def file_sum(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def timed(action):
    start = time.monotonic()
    action()
    return time.monotonic() - start


def send_chunks(worker, params, read):
    """files.upload with `params`, then the blocks `read()` gives (4 MiB, two in flight), then the finish."""
    upload_id = worker.call("files.upload", params)["uploadId"]
    pending = []
    for block in iter(lambda: read(4 << 20), b""):
        pending.append(worker.send("files.uploadChunk", {"uploadId": upload_id, "data": base64.b64encode(block).decode(),
                                                        "encoding": "base64"}))
        if len(pending) >= 2:
            worker.wait(pending.pop(0))
    for request in pending:
        worker.wait(request)
    return worker.call("files.finishUpload", {"uploadId": upload_id})


def upload(worker, node, source, path, size):
    """files.upload of a host file, its size given."""
    with open(source, "rb") as handle:
        return send_chunks(worker, {"externalId": node, "path": path, "size": size}, handle.read)


def upload_folder(worker, node, folder, target):
    """files.upload format tar, fed by `tar -c` as it writes."""
    tar = subprocess.Popen(["tar", "-C", folder, "-cf", "-", "."], stdout=subprocess.PIPE)
    try:
        return send_chunks(worker, {"externalId": node, "path": target, "format": "tar"}, tar.stdout.read)
    finally:
        tar.wait()


def download_folder(worker, node, path, into):
    """files.download of a folder, unpacked by `tar -x` as it comes."""
    tar = subprocess.Popen(["tar", "-C", into, "-xf", "-"], stdin=subprocess.PIPE)
    result = worker.call("files.download", {"externalId": node, "path": path, "chunkBytes": 1 << 20}, sink=tar.stdin.write)
    tar.stdin.close()
    tar.wait()
    return result


def fmt(values, unit="s"):
    return f"{statistics.median(values):.3f} {unit} ({min(values):.3f}–{max(values):.3f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", default=os.environ.get("OPENLATTICE_DOCKER_WORKER")
                        or os.path.join(ROOT, ".build-release/release/openlattice-docker-worker"))
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    files_in_folder, folder_mib = 5000, 200
    if args.quick:
        args.mib, args.rounds, files_in_folder, folder_mib = 64, 1, 1000, 20
    size = args.mib << 20
    work = tempfile.mkdtemp(prefix="olw-bench-files-")
    worker = Worker(args.worker)
    node = None
    rows = []
    try:
        worker.call("initialize", {"protocolVersion": "1.1"})
        node = worker.call("provision", {"spec": {"runtime": {"image": IMAGE}, "labels": {"olw-bench": "files"}}})["externalId"]
        print(f"[files] node {node[:12]}, worker {args.worker}", flush=True)

        # 1 and 2: one big file both ways.
        source = os.path.join(work, "big.bin")
        with open(source, "wb") as handle:
            for _ in range(args.mib):
                handle.write(os.urandom(1 << 20))
        expected = file_sum(source)
        up_worker, up_cp, down_worker, down_cp, peaks = [], [], [], [], {"up": 0, "down": 0}
        for round_ in range(args.rounds):
            worker.reset_peak()
            up_worker.append(timed(lambda: upload(worker, node, source, "/tmp/w.bin", size)))
            peaks["up"] = max(peaks["up"], worker.peak_mib())
            assert node_sum(node, "/tmp/w.bin") == expected, "files.upload landed other bytes"
            up_cp.append(timed(lambda: run("docker", "cp", source, f"{node}:/tmp/c.bin")))
            assert node_sum(node, "/tmp/c.bin") == expected, "docker cp landed other bytes"
            digest = hashlib.sha256()
            worker.reset_peak()
            result = {}
            down_worker.append(timed(lambda: result.update(
                worker.call("files.download", {"externalId": node, "path": "/tmp/w.bin", "chunkBytes": 1 << 20}, sink=digest.update))))
            peaks["down"] = max(peaks["down"], worker.peak_mib())
            assert digest.hexdigest() == expected == result["sha256"], "files.download gave other bytes"
            out = os.path.join(work, f"cp-out-{round_}")
            os.mkdir(out)
            down_cp.append(timed(lambda: run("docker", "cp", f"{node}:/tmp/c.bin", out)))
            assert file_sum(os.path.join(out, "c.bin")) == expected, "docker cp gave other bytes"
            shutil.rmtree(out)
            print(f"[files] round {round_ + 1}: up {up_worker[-1]:.2f}/{up_cp[-1]:.2f} s, down {down_worker[-1]:.2f}/{down_cp[-1]:.2f} s "
                  "(worker/docker cp)", flush=True)
        run("docker", "exec", node, "rm", "-f", "/tmp/w.bin", "/tmp/c.bin")
        os.remove(source)
        mibs = lambda times: [args.mib / t for t in times]  # noqa: E731
        rows.append((f"1. {args.mib} MiB file host → node", fmt(mibs(up_worker), "MiB/s"), fmt(mibs(up_cp), "MiB/s"),
                     statistics.median(mibs(up_worker)) / statistics.median(mibs(up_cp)), "≥ 0.8", f"{peaks['up']:.1f} MiB"))
        rows.append((f"2. {args.mib} MiB file node → host", fmt(mibs(down_worker), "MiB/s"), fmt(mibs(down_cp), "MiB/s"),
                     statistics.median(mibs(down_worker)) / statistics.median(mibs(down_cp)), "≥ 0.8", f"{peaks['down']:.1f} MiB"))

        # 3: 200 small files.
        small = os.path.join(work, "small")
        os.mkdir(small)
        contents = {f"f{index:03}.txt": os.urandom(1024) for index in range(200)}
        for name, data in contents.items():
            with open(os.path.join(small, name), "wb") as handle:
                handle.write(data)
        many, single, cp_small = [], [], []
        for round_ in range(args.rounds):
            files = [{"path": f"/srv/m{round_}/{name}", "content": base64.b64encode(data).decode(), "encoding": "base64"}
                     for name, data in contents.items()]
            many.append(timed(lambda: worker.call("files.writeMany", {"externalId": node, "files": files})))

            def each():
                for name, data in contents.items():
                    worker.call("files.write", {"externalId": node, "path": f"/srv/s{round_}/{name}",
                                                "content": base64.b64encode(data).decode(), "encoding": "base64"})
            single.append(timed(each))
            cp_small.append(timed(lambda: run("docker", "cp", small, f"{node}:/srv/c{round_}")))
            listed = run("docker", "exec", node, "sh", "-c", f"ls /srv/m{round_} | wc -l; ls /srv/c{round_} | wc -l").stdout.split()
            assert listed == [b"200", b"200"], listed
        rows.append(("3. 200 files of 1 KiB, one files.writeMany", fmt(many), fmt(cp_small),
                     statistics.median(cp_small) / statistics.median(many), "≥ 1 (no slower)", ""))
        rows.append(("3a. the same as 200 files.write calls", fmt(single), "—",
                     statistics.median(single) / statistics.median(many), "≥ 50 (writeMany faster)", ""))

        # 4: a folder of many files, both ways.
        folder = os.path.join(work, "tree")
        per_file = (folder_mib << 20) // files_in_folder
        for index in range(files_in_folder):
            sub = os.path.join(folder, f"d{index % 50:02}")
            os.makedirs(sub, exist_ok=True)
            with open(os.path.join(sub, f"f{index:05}.bin"), "wb") as handle:
                handle.write(os.urandom(per_file))
        tree_up_worker, tree_up_cp, tree_down_worker, tree_down_cp, tree_peak = [], [], [], [], 0
        count = f"find /srv/t -type f | wc -l"
        for round_ in range(args.rounds):
            run("docker", "exec", node, "sh", "-c", "rm -rf /srv/t /srv/ct && mkdir -p /srv/t")
            worker.reset_peak()
            tree_up_worker.append(timed(lambda: upload_folder(worker, node, folder, "/srv/t")))
            tree_peak = max(tree_peak, worker.peak_mib())
            assert run("docker", "exec", node, "sh", "-c", count).stdout.split() == [str(files_in_folder).encode()]
            tree_up_cp.append(timed(lambda: run("docker", "cp", folder, f"{node}:/srv/ct")))
            into = os.path.join(work, f"down-{round_}")
            os.mkdir(into)
            worker.reset_peak()
            tree_down_worker.append(timed(lambda: download_folder(worker, node, "/srv/t", into)))
            tree_peak = max(tree_peak, worker.peak_mib())
            got = sum(len(names) for _, _, names in os.walk(into))
            assert got == files_in_folder, f"files.download of the folder gave {got} files"
            cp_into = os.path.join(work, f"cp-down-{round_}")
            os.mkdir(cp_into)
            tree_down_cp.append(timed(lambda: run("docker", "cp", f"{node}:/srv/ct", cp_into)))
            shutil.rmtree(into)
            shutil.rmtree(cp_into)
            print(f"[files] folder round {round_ + 1}: up {tree_up_worker[-1]:.2f}/{tree_up_cp[-1]:.2f} s, "
                  f"down {tree_down_worker[-1]:.2f}/{tree_down_cp[-1]:.2f} s", flush=True)
        label = f"{folder_mib} MiB folder of {files_in_folder:,} files"
        rows.append((f"4. {label} host → node", fmt(tree_up_worker), fmt(tree_up_cp),
                     statistics.median(tree_up_cp) / statistics.median(tree_up_worker), "≥ 0.8", f"{tree_peak:.1f} MiB"))
        rows.append((f"4a. {label} node → host", fmt(tree_down_worker), fmt(tree_down_cp),
                     statistics.median(tree_down_cp) / statistics.median(tree_down_worker), "≥ 0.8", ""))

        print()
        print(f"Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {args.rounds} round(s), load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, worker {os.path.relpath(args.worker, ROOT)}:")
        print()
        print("| item | worker | docker cp | worker speed ÷ docker cp's | target | worker peak RSS |")
        print("|---|---|---|---|---|---|")
        for name, ours, theirs, ratio, target, peak in rows:
            print(f"| {name} | {ours} | {theirs} | {ratio:.2f}× | {target} | {peak} |")
        return 0
    finally:
        if node:
            try:
                worker.call("destroy", {"externalId": node})
            except Exception as error:  # noqa: BLE001
                print(f"destroy failed: {error}; remove the node labelled olw-bench=files", file=sys.stderr)
        worker.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
