"""Shared by record_examples.py and check_examples.py: a worker subprocess spoken to over pipes, with
every line written and read kept in order, and a minimal Docker Engine client (unix socket, stdlib
only) for cleaning up what a session leaves behind.
"""
import http.client
import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_WORKER = os.path.join(ROOT, ".build", "debug", "openlattice-docker-worker")
EXAMPLES_DIR = os.path.normpath(os.path.join(HERE, "..", "examples"))
DOC_PATH = os.path.normpath(os.path.join(HERE, "..", "openrpc.json"))

# The value of the `openlattice.test` label and of `config.ownerId` in recorded sessions. A replay
# replaces it (in those two places only) with a value of its own, so that concurrent runs and the
# recording never touch each other's containers.
RUN_TOKEN = "examples"
TOKEN_KEYS = ("openlattice.test", "ownerId")


def worker_binary(explicit=None):
    return explicit or os.environ.get("OPENLATTICE_DOCKER_WORKER") or DEFAULT_WORKER


class WorkerSession:
    """A worker process. `log` holds every line in the order it was written or read, as
    {"direction": "send"|"recv", "message": …} (or {"direction": "send", "raw": text} for a line that
    is not JSON)."""

    def __init__(self, binary, arguments=()):
        env = dict(os.environ)
        self.process = subprocess.Popen(
            [binary, *arguments], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.lock = threading.Condition()
        self.log = []
        self.received = []  # parsed messages (a batch response is one list entry)
        self.bad_lines = []
        self.stderr = bytearray()
        self.closed = False
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # ── I/O ──────────────────────────────────────────────────────────

    def _read(self):
        for line in self.process.stdout:
            text = line.decode("utf-8", "replace").rstrip("\n")
            if not text.strip():
                continue
            try:
                message = json.loads(text)
            except ValueError:
                with self.lock:
                    self.bad_lines.append(text)
                    self.lock.notify_all()
                continue
            with self.lock:
                self.log.append({"direction": "recv", "message": message})
                self.received.append(message)
                self.lock.notify_all()
        with self.lock:
            self.closed = True
            self.lock.notify_all()

    def _drain_stderr(self):
        for chunk in iter(lambda: self.process.stderr.read1(65536), b""):
            self.stderr.extend(chunk)

    def write_message(self, message):
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        with self.lock:
            self.log.append({"direction": "send", "message": message})
        self._write(line)

    def write_raw(self, text):
        with self.lock:
            self.log.append({"direction": "send", "raw": text})
        self._write(text)

    def _write(self, line):
        try:
            self.process.stdin.write((line + "\n").encode("utf-8"))
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    # ── requests ─────────────────────────────────────────────────────

    def new_id(self):
        self.next_id += 1
        return self.next_id

    def start(self, method, params=None, id=None):
        """Sends a request; returns its id."""
        request_id = self.new_id() if id is None else id
        message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.write_message(message)
        return request_id

    def notify(self, method, params):
        self.write_message({"jsonrpc": "2.0", "method": method, "params": params})

    def cancel(self, request_id):
        self.notify("$/cancelRequest", {"id": request_id})

    def responses(self):
        """Every response received so far, batch members included."""
        with self.lock:
            out = []
            for message in self.received:
                for item in (message if isinstance(message, list) else [message]):
                    if isinstance(item, dict) and "method" not in item:
                        out.append(item)
            return out

    def notifications(self, method=None, request_id=None):
        with self.lock:
            return [m for m in self.received if isinstance(m, dict) and "method" in m
                    and (method is None or m["method"] == method)
                    and (request_id is None or (m.get("params") or {}).get("requestId") == request_id)]

    def wait_for(self, predicate, timeout=60.0, what="a message"):
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
                if self.closed:
                    value = predicate()
                    if value:
                        return value
                    raise EOFError(f"the worker exited while waiting for {what}")
                self.lock.wait(min(remaining, 0.5))

    def response(self, request_id, timeout=60.0):
        def find():
            for item in self._responses_unlocked():
                if item.get("id") == request_id and type(item.get("id")) is type(request_id):
                    return item
            return None
        return self.wait_for(find, timeout, f"the response to {request_id!r}")

    def _responses_unlocked(self):
        for message in self.received:
            for item in (message if isinstance(message, list) else [message]):
                if isinstance(item, dict) and "method" not in item:
                    yield item

    def call(self, method, params=None, id=None, timeout=60.0, expect=None):
        """Sends a request and waits for its response. expect=None: a result is required;
        expect=<code>: an error with that code is required."""
        request_id = self.start(method, params, id)
        response = self.response(request_id, timeout)
        if expect is None and "result" not in response:
            raise RuntimeError(f"{method} failed: {response.get('error')}")
        if expect is not None and (response.get("error") or {}).get("code") != expect:
            raise RuntimeError(f"{method}: expected error {expect}, got {response}")
        return response

    def close(self, timeout=5.0):
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode


# ── the engine, for cleanup ──────────────────────────────────────────

class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


def _engine_socket():
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return host[len("unix://"):]
    return "/var/run/docker.sock"


def engine(method, path, query=None):
    """One request to the local engine; returns (status, parsed body or None)."""
    if query:
        path += "?" + urllib.parse.urlencode(query)
    connection = _UnixHTTPConnection(_engine_socket())
    try:
        connection.request(method, path)
        response = connection.getresponse()
        body = response.read()
        try:
            return response.status, json.loads(body) if body else None
        except ValueError:
            return response.status, None
    finally:
        connection.close()


def remove_labelled(label_value):
    """Force-removes every container labelled openlattice.test=<label_value>, with its anonymous
    volumes; returns how many."""
    filters = json.dumps({"label": [f"openlattice.test={label_value}"]})
    status, containers = engine("GET", "/containers/json", {"all": "true", "filters": filters})
    if status != 200:
        return 0
    for container in containers or []:
        engine("DELETE", f"/containers/{container['Id']}", {"force": "true", "v": "true"})
    return len(containers or [])


def remove_images(image_ids):
    for image in image_ids:
        engine("DELETE", f"/images/{urllib.parse.quote(image, safe='')}", {"force": "true"})


def snapshot_images(log):
    """The snapshot images (ids) a session's log shows were made."""
    methods = {}
    images = []
    for entry in log:
        message = entry.get("message")
        for item in (message if isinstance(message, list) else [message]):
            if not isinstance(item, dict):
                continue
            if entry["direction"] == "send" and "method" in item and "id" in item:
                methods[json.dumps(item["id"])] = item["method"]
            elif entry["direction"] == "recv" and "method" not in item and isinstance(item.get("result"), dict):
                if methods.get(json.dumps(item.get("id"))) == "snapshot":
                    images.append(item["result"].get("externalId"))
    return [i for i in images if isinstance(i, str)]
