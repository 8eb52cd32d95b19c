#!/usr/bin/env python3
"""A MOCK Docker engine, for the few faults a real engine cannot be made to show on demand.

Serves HTTP/1.1 on a unix socket: `/_ping` (Api-Version 1.41), `/info` with an `nvidia` runtime,
`/version`, a managed container for any GET /containers/{id}/json, and answers DELETE /containers/{id} with 500 "permission denied". Used only by tests
named as mock-backed; everything else runs against the real engine.
"""
import http.server
import json
import os
import signal
import socketserver
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status, body):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Api-Version", "1.41")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.endswith("/_ping"):
            data = b"OK"
            self.send_response(200)
            self.send_header("Api-Version", "1.41")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(data)
        elif path.endswith("/info"):
            self._send(200, {"Runtimes": {"nvidia": {"path": "nvidia-container-runtime"}, "runc": {"path": "runc"}}})
        elif path.startswith("/v1.41/containers/") and path.endswith("/json"):
            cid = path.split("/")[3]
            self._send(200, {"Id": cid, "Name": "/" + cid, "Config": {"Labels": {"openlattice.managed": "true"}},
                             "State": {"Status": "running", "Running": True}})
        elif path.endswith("/version"):
            self._send(200, {"Version": "fake", "ApiVersion": "1.41", "Os": "linux", "Arch": "amd64"})
        else:
            self._send(404, {"message": "no such thing in the fake engine"})

    def do_DELETE(self):
        self._send(500, {"message": "permission denied"})

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if __name__ == "__main__":
    # Exit on SIGTERM even when the parent started us with SIGTERM ignored (dispositions are inherited).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    with Server(path, Handler) as server:
        print("ready", flush=True)
        server.serve_forever()
