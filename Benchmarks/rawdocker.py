"""A minimal HTTP/1.1 client for the Docker Engine API on its unix socket.

This is the benchmark's floor: one persistent (keep-alive) connection, requests written by hand,
responses read with Content-Length or chunked decoding, and for `POST /exec/{id}/start` (no
`Upgrade` header) the multiplexed stream read until the engine closes the connection, with the
8-byte frame headers demultiplexed here.  No third-party code.
"""

import codecs
import json
import socket
import struct

_FRAME = struct.Struct(">BxxxL")


class EngineHTTPError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status
        self.body = body


class RawDocker:
    """One keep-alive connection to the engine; not thread-safe (use one per thread)."""

    def __init__(self, path="/var/run/docker.sock", api_version=None, recv_size=256 * 1024):
        self.path = path
        self.sock = None
        self.buf = bytearray()
        self.recv_size = recv_size
        self.connects = 0
        self.prefix = ""
        if api_version is None:
            _, headers, _ = self.request("GET", "/_ping", versioned=False)
            api_version = headers.get("api-version", "1.41")
        self.prefix = "/v" + api_version

    # -- connection -------------------------------------------------------------------------

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        self.sock = s
        self.buf = bytearray()
        self.connects += 1

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
                self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(self.recv_size)
        if not data:
            raise ConnectionError("engine closed the connection")
        self.buf += data

    def _readline(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            self._fill()

    def _readexact(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _send(self, method, path, body, versioned):
        if self.sock is None:
            self._connect()
        target = (self.prefix if versioned else "") + path
        head = f"{method} {target} HTTP/1.1\r\nHost: docker\r\n"
        if body is not None:
            if not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body, separators=(",", ":")).encode()
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        elif method in ("POST", "PUT"):
            head += "Content-Length: 0\r\n"
        data = (head + "\r\n").encode() + (body or b"")
        self.sock.sendall(data)

    def _read_head(self):
        status_line = self._readline()
        parts = status_line.split(b" ", 2)
        status = int(parts[1])
        headers = {}
        while True:
            line = self._readline()
            if not line:
                break
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode()] = value.strip().decode()
        return status, headers

    # -- plain requests ---------------------------------------------------------------------

    def request(self, method, path, body=None, versioned=True, _retry=True):
        """Sends one request and reads the whole response: (status, headers, body bytes)."""
        reused = self.sock is not None
        try:
            self._send(method, path, body, versioned)
            status, headers = self._read_head()
        except (ConnectionError, BrokenPipeError, ConnectionResetError):
            # A keep-alive connection the engine closed meanwhile: reconnect once.
            self.close()
            if reused and _retry:
                return self.request(method, path, body, versioned, _retry=False)
            raise
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self._readline().split(b";")[0], 16)
                if size == 0:
                    while self._readline():  # trailers
                        pass
                    break
                chunks.append(self._readexact(size))
                self._readexact(2)
            payload = b"".join(chunks)
        elif "content-length" in headers:
            payload = self._readexact(int(headers["content-length"]))
        elif status in (204, 304) or method == "HEAD":
            payload = b""
        else:  # read to close
            while True:
                try:
                    self._fill()
                except ConnectionError:
                    break
            payload = bytes(self.buf)
            self.close()
        if headers.get("connection", "").lower() == "close" and self.sock is not None:
            self.close()
        return status, headers, payload

    def json(self, method, path, body=None, versioned=True):
        status, _, payload = self.request(method, path, body, versioned)
        if status >= 400:
            raise EngineHTTPError(status, payload)
        return json.loads(payload) if payload else None

    # -- Docker operations --------------------------------------------------------------------

    def ping(self):
        status, _, payload = self.request("GET", "/_ping", versioned=False)
        if status != 200:
            raise EngineHTTPError(status, payload)
        return payload

    def inspect(self, cid):
        return self.json("GET", f"/containers/{cid}/json")

    def exec_stream(self, cid, cmd, on_data=None, text=False):
        """Create an exec, start it, read the multiplexed stream to its end (the engine closes the
        connection), then read the exit code.  Returns (exit_code, stdout_bytes, stderr_bytes);
        with `on_data(stream, data)` the payloads are handed over (as str when `text`)."""
        created = self.json(
            "POST", f"/containers/{cid}/exec",
            {"Cmd": cmd, "AttachStdout": True, "AttachStderr": True, "AttachStdin": False, "Tty": False})
        eid = created["Id"]
        self._send("POST", f"/exec/{eid}/start", b'{"Detach":false,"Tty":false}', True)
        status, headers = self._read_head()
        if status >= 400:
            body = bytes(self.buf)
            self.close()
            raise EngineHTTPError(status, body)
        counts = [0, 0, 0]
        decoders = {1: codecs.getincrementaldecoder("utf-8")("replace"),
                    2: codecs.getincrementaldecoder("utf-8")("replace")} if text else None
        sock = self.sock
        buf = self.buf  # whatever came with the head
        view_size = self.recv_size
        header = bytearray()
        remaining = 0
        stream = 1
        pending = memoryview(bytes(buf))
        self.buf = bytearray()
        while True:
            pos = 0
            n = len(pending)
            while pos < n:
                if remaining == 0:
                    need = 8 - len(header)
                    take = pending[pos:pos + need]
                    header += take
                    pos += len(take)
                    if len(header) == 8:
                        stream, remaining = _FRAME.unpack(header)
                        header = bytearray()
                    continue
                take = min(remaining, n - pos)
                piece = pending[pos:pos + take]
                counts[stream] += take
                if on_data is not None:
                    if text:
                        on_data(stream, decoders[stream].decode(piece))
                    else:
                        on_data(stream, piece)
                pos += take
                remaining -= take
            data = sock.recv(view_size)
            if not data:
                break
            pending = memoryview(data)
        # The engine closed the exec connection: the next request opens a new one.
        self.close()
        if text and on_data is not None:
            for s, d in decoders.items():
                tail = d.decode(b"", final=True)
                if tail:
                    on_data(s, tail)
        while True:
            info = self.json("GET", f"/exec/{eid}/json")
            if not info.get("Running"):
                return info.get("ExitCode"), counts[1], counts[2]

    def create(self, body, name=None):
        path = "/containers/create" + (f"?name={name}" if name else "")
        return self.json("POST", path, body)["Id"]

    def start(self, cid):
        status, _, payload = self.request("POST", f"/containers/{cid}/start")
        if status >= 400:
            raise EngineHTTPError(status, payload)

    def remove(self, cid, force=True, volumes=True):
        status, _, payload = self.request(
            "DELETE", f"/containers/{cid}?force={'true' if force else 'false'}&v={'true' if volumes else 'false'}")
        if status >= 400 and status != 404:
            raise EngineHTTPError(status, payload)

    def list_ids(self, label):
        filters = json.dumps({"label": [label]})
        from urllib.parse import quote
        return [c["Id"] for c in self.json("GET", f"/containers/json?all=true&filters={quote(filters)}")]
