#!/usr/bin/env python3
"""A unix-socket forwarding proxy in front of the Docker engine, for fault-injection tests.

It listens on --listen and forwards every connection, byte for byte, to --upstream
(default /var/run/docker.sock), so a worker pointed at the proxy talks to the real engine,
until it is told to misbehave. The faults stay inside the proxy: the real engine, which other
tests share, is never disturbed.

Modes:
  forward  accept and forward (the default)
  refuse   the engine is "stopped": the listening socket is closed (connections are refused)
           and every open connection is dropped
  hang     the engine accepts connections but never answers: open connections are dropped,
           new ones are accepted and read, and nothing is ever sent back
  swallow:REGEX   forward, except that a request whose request line matches REGEX (for example
           'POST /v[0-9.]+/exec/[0-9a-f]+/start') is never sent on and never answered: from then on
           that connection is silent both ways (the engine never sees the request)
  headers:REGEX   forward, except that the answer to a request whose request line matches REGEX
           stops after its response headers: the connection stays open and nothing more arrives

Control: write "<sequence> <mode>" to the --control file and send SIGHUP (or just wait: the file
is also polled every 50 ms). Once a mode is in force the proxy writes the same "<sequence> <mode>"
line to --state, so a test knows when it may go on. SIGUSR1/SIGUSR2 switch to refuse/hang and
SIGCONT back to forward, for use by hand.

  python3 scripts/engine-proxy.py --listen /tmp/p.sock --control /tmp/p.ctl --state /tmp/p.state
"""
import argparse
import os
import re
import signal
import socket
import sys
import threading
import time

MODES = ("forward", "refuse", "hang")
SELECTIVE = ("swallow", "headers")


class Proxy:
    def __init__(self, listen, upstream, control, state):
        self.listen_path = listen
        self.upstream = upstream
        self.control = control
        self.state = state
        self.lock = threading.Lock()
        self.mode = "forward"
        self.sequence = "0"
        self.listener = None
        self.connections = set()  # open sockets (both sides) to drop on a mode change
        self.wake = threading.Event()

    # -- listening -------------------------------------------------------------------------
    def open_listener(self):
        if self.listener is not None:
            return
        try:
            os.unlink(self.listen_path)
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.listen_path)
        os.chmod(self.listen_path, 0o666)
        listener.listen(128)
        self.listener = listener
        threading.Thread(target=self.accept_loop, args=(listener,), daemon=True).start()

    def close_listener(self):
        listener, self.listener = self.listener, None
        if listener is not None:
            # Closing the socket leaves the file in place: connect() then gets ECONNREFUSED,
            # as with an engine that stopped.
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()

    def accept_loop(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                mode = self.mode
                if listener is not self.listener:
                    client.close()
                    return
                self.connections.add(client)
            if mode == "hang":
                threading.Thread(target=self.swallow, args=(client,), daemon=True).start()
            else:
                threading.Thread(target=self.forward, args=(client,), daemon=True).start()

    # -- connections -----------------------------------------------------------------------
    def drop(self, sock):
        with self.lock:
            self.connections.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def drop_all(self):
        with self.lock:
            sockets = list(self.connections)
            self.connections.clear()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass

    def swallow(self, client):
        """Reads whatever arrives and never answers."""
        try:
            while client.recv(65536):
                pass
        except OSError:
            pass
        self.drop(client)

    def forward(self, client):
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(self.upstream)
        except OSError:
            upstream.close()
            self.drop(client)
            return
        with self.lock:
            self.connections.add(upstream)

        with self.lock:
            mode = self.mode
        kind, _, pattern = mode.partition(":")
        matcher = re.compile(pattern.encode()) if kind in SELECTIVE else None
        # What this connection does now: forward, swallow (silent both ways), or cut after the
        # response head of the request that matched.
        flags = {"swallow": False, "cut": False}

        def pump(source, target, upward):
            head_done = False
            pending = b""
            try:
                while True:
                    data = source.recv(262144)
                    if not data:
                        break
                    if flags["swallow"]:
                        continue
                    if upward and matcher is not None:
                        first_line = data.split(b"\r\n", 1)[0]
                        if matcher.search(first_line):
                            if kind == "swallow":
                                flags["swallow"] = True
                                print(f"engine-proxy: swallowed {first_line!r}", file=sys.stderr, flush=True)
                                continue
                            flags["cut"] = True
                            print(f"engine-proxy: cutting the answer to {first_line!r}", file=sys.stderr, flush=True)
                    if not upward and flags["cut"]:
                        if head_done:
                            continue
                        pending += data
                        end = pending.find(b"\r\n\r\n")
                        if end < 0:
                            continue
                        target.sendall(pending[: end + 4])
                        head_done = True
                        continue
                    target.sendall(data)
            except OSError:
                pass
            # One direction ended: end the other (HTTP/1.1 keep-alive ends with both).
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        back = threading.Thread(target=pump, args=(upstream, client, False), daemon=True)
        back.start()
        pump(client, upstream, True)
        back.join()
        self.drop(client)
        self.drop(upstream)

    # -- modes -----------------------------------------------------------------------------
    def apply(self, mode, sequence):
        if mode not in MODES and mode.partition(":")[0] not in SELECTIVE:
            print(f"engine-proxy: unknown mode {mode!r}", file=sys.stderr, flush=True)
            return
        with self.lock:
            self.mode = mode
            self.sequence = sequence
        # Every mode change drops the open connections, as an engine restart would: a worker must
        # not keep talking to the engine through a keep-alive connection from before.
        self.close_listener()
        self.drop_all()
        if mode != "refuse":
            self.open_listener()
        if self.state:
            tmp = self.state + ".tmp"
            with open(tmp, "w") as handle:
                handle.write(f"{sequence} {mode}\n")
            os.replace(tmp, self.state)
        print(f"engine-proxy: {sequence} {mode}", file=sys.stderr, flush=True)

    def read_control(self):
        if not self.control:
            return None
        try:
            with open(self.control) as handle:
                parts = handle.read().split()
        except FileNotFoundError:
            return None
        if len(parts) == 2:
            return parts[0], parts[1]
        if len(parts) == 1:
            return parts[0], parts[0]
        return None

    def run(self):
        self.apply("forward", self.sequence)
        applied = (self.sequence, "forward")
        while True:
            self.wake.wait(0.05)
            self.wake.clear()
            wanted = self.read_control()
            if wanted and wanted != applied:
                sequence, mode = wanted
                self.apply(mode, sequence)
                applied = wanted


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", required=True, help="unix socket path to listen on")
    parser.add_argument("--upstream", default="/var/run/docker.sock", help="the engine's unix socket")
    parser.add_argument("--control", help="file holding '<sequence> <mode>'")
    parser.add_argument("--state", help="file the proxy writes '<sequence> <mode>' to once applied")
    args = parser.parse_args()
    proxy = Proxy(args.listen, args.upstream, args.control, args.state)

    def by_signal(mode):
        def handler(signum, frame):
            if mode is None:
                proxy.wake.set()
            else:
                # Written through the control file so the main loop applies it.
                if proxy.control:
                    with open(proxy.control, "w") as handle:
                        handle.write(f"sig{time.time_ns()} {mode}\n")
                proxy.wake.set()
        return handler

    signal.signal(signal.SIGHUP, by_signal(None))
    signal.signal(signal.SIGUSR1, by_signal("refuse"))
    signal.signal(signal.SIGUSR2, by_signal("hang"))
    signal.signal(signal.SIGCONT, by_signal("forward"))
    signal.signal(signal.SIGTERM, lambda *_: (proxy.close_listener(), proxy.drop_all(), os._exit(0)))
    try:
        proxy.run()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.close_listener()
        try:
            os.unlink(args.listen)
        except OSError:
            pass


if __name__ == "__main__":
    main()
