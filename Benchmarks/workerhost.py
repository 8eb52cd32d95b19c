"""A host for the worker, as an orchestrator would be: spawns the binary, writes JSON-RPC requests
on its stdin, and reads its stdout on a dedicated reader thread that routes responses to waiting
callers by id and counts the (decoded) bytes of `exec.output` notifications per request."""

import base64
import itertools
import json
import os
import subprocess
import threading
import time


class RPCError(Exception):
    def __init__(self, error):
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.error = error


class _Pending:
    __slots__ = ("event", "response", "encoding", "out_bytes", "err_bytes", "notifications", "sent_at", "done_at")

    def __init__(self):
        self.event = threading.Event()
        self.response = None
        self.encoding = None
        self.out_bytes = 0
        self.err_bytes = 0
        self.notifications = 0
        self.sent_at = 0.0
        self.done_at = 0.0


class WorkerHost:
    def __init__(self, binary, args=(), stderr_path=None, env=None):
        self.binary = binary
        self.spawned_at = time.perf_counter()
        self._stderr = open(stderr_path, "ab") if stderr_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [binary, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            bufsize=0, env=env)
        self.pid = self.proc.pid
        self._ids = itertools.count(1)
        self._pending = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.unrouted = 0
        self.lines = 0
        self.reader_cpu = 0.0  # CPU seconds the reader thread spent
        self._reader = threading.Thread(target=self._read_loop, name="worker-stdout", daemon=True)
        self._reader.start()

    # -- reading ----------------------------------------------------------------------------

    def _read_loop(self):
        fd = self.proc.stdout.fileno()
        pending = []  # pieces of a line not yet ended by a newline
        t0 = time.thread_time()
        try:
            while True:
                data = os.read(fd, 1 << 20)
                if not data:
                    break
                if pending:
                    i = data.find(b"\n")
                    if i < 0:
                        pending.append(data)
                        continue
                    pending.append(data[:i])
                    self._handle(b"".join(pending))
                    pending = []
                    data = data[i + 1:]
                lines = data.split(b"\n")
                last = lines.pop()
                if last:
                    pending.append(last)
                for line in lines:
                    self._handle(line)
        finally:
            self.reader_cpu += time.thread_time() - t0
            with self._lock:
                for slot in self._pending.values():
                    if not slot.event.is_set():
                        slot.response = {"error": {"code": -1, "message": "worker stdout closed"}}
                        slot.done_at = time.perf_counter()
                        slot.event.set()

    def _handle(self, line, loads=json.loads, b64=base64.b64decode):
        """One line from the worker: a response, a batch response, or a notification."""
        if not line.strip():
            return
        self.lines += 1
        msg = loads(line)
        if isinstance(msg, list):
            for m in msg:
                self._route(m)
            return
        if "id" in msg:
            self._route(msg)
            return
        if msg.get("method") == "exec.output":
            p = msg["params"]
            slot = self._pending.get(p["requestId"])
            if slot is None:
                self.unrouted += 1
                return
            data = p["data"]
            n = len(b64(data)) if slot.encoding == "base64" else len(data.encode("utf-8"))
            if p["stream"] == "stdout":
                slot.out_bytes += n
            else:
                slot.err_bytes += n
            slot.notifications += 1

    def _route(self, msg):
        slot = self._pending.get(msg.get("id"))
        if slot is None:
            self.unrouted += 1
            return
        slot.done_at = time.perf_counter()
        slot.response = msg
        slot.event.set()

    # -- writing ----------------------------------------------------------------------------

    def _new_slot(self, rid, encoding):
        slot = _Pending()
        slot.encoding = encoding
        with self._lock:
            self._pending[rid] = slot
        return slot

    def send_many(self, calls, encoding=None):
        """Writes several requests in one write; returns their (id, slot) pairs."""
        out = []
        lines = []
        for method, params in calls:
            rid = next(self._ids)
            slot = self._new_slot(rid, encoding)
            out.append((rid, slot))
            lines.append(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params},
                                    separators=(",", ":")))
        data = ("\n".join(lines) + "\n").encode()
        now = time.perf_counter()
        for _, slot in out:
            slot.sent_at = now
        with self._write_lock:
            self.proc.stdin.write(data)
        return out

    def wait(self, rid, slot, timeout=600):
        if not slot.event.wait(timeout):
            raise TimeoutError(f"request {rid} not answered in {timeout}s")
        with self._lock:
            self._pending.pop(rid, None)
        msg = slot.response
        if "error" in msg:
            raise RPCError(msg["error"])
        return msg.get("result")

    def call(self, method, params=None, encoding=None, timeout=600):
        ((rid, slot),) = self.send_many([(method, params or {})], encoding)
        return self.wait(rid, slot, timeout)

    def call_counted(self, method, params, encoding):
        """A call whose exec.output bytes are counted; returns (result, stdout_bytes, stderr_bytes, notifications)."""
        ((rid, slot),) = self.send_many([(method, params)], encoding)
        result = self.wait(rid, slot)
        return result, slot.out_bytes, slot.err_bytes, slot.notifications

    def initialize(self, config=None):
        params = {"protocolVersion": "1.0"}
        if config:
            params["config"] = config
        return self.call("initialize", params)

    # -- /proc ------------------------------------------------------------------------------

    def status(self):
        return proc_status(self.pid)

    def cpu_seconds(self):
        return proc_cpu_seconds(self.pid)

    def close(self):
        try:
            self.call("shutdown", {}, timeout=5)
        except Exception:
            pass
        try:
            self.proc.stdin.close()
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self._stderr is not subprocess.DEVNULL:
            self._stderr.close()


def proc_status(pid):
    """Threads, VmRSS and VmHWM (kB) of a process."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Threads", "VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0])
    return out


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_split(pid):
    """(user, system) CPU seconds of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / _CLK_TCK, int(fields[12]) / _CLK_TCK


def proc_cpu_seconds(pid):
    """User + system CPU seconds of a process (all its threads)."""
    return sum(proc_cpu_split(pid))


class ProcSampler:
    """Samples a process's thread count and RSS every `interval` seconds on a background thread."""

    def __init__(self, pid, interval=0.005):
        self.pid = pid
        self.interval = interval
        self.max_threads = 0
        self.max_rss_kb = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                st = proc_status(self.pid)
            except (FileNotFoundError, ProcessLookupError):
                return
            self.samples += 1
            self.max_threads = max(self.max_threads, st.get("Threads", 0))
            self.max_rss_kb = max(self.max_rss_kb, st.get("VmRSS", 0))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
