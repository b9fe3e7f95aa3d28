"""A loopback HTTP/1.1 server that watches its clients, for the asyncio tests.

Unlike the fault server's stall endpoints (which sleep without looking at the
socket), every wait here watches the connection, so the server notices at
once when a client gives up and closes it.  It also counts the requests in
flight, overall and per Host header, and keeps the peak of each.

  /ok                 200 "ok\\n" (keep-alive)
  /slow?delay=s       counted in flight while it waits ``s`` seconds (default
                      0.2), then 200 "slow\\n"
  /hold?id=X          never answers: waits (up to HOLD_LIMIT s) for the client
                      to close the connection and records when (``closed_at``)
  /echo?...           200, body = the request target (keep-alive)
  /digest?delay=s     without an Authorization header: 401 with a Digest
                      challenge; with one: waits ``s`` seconds (default 0.5),
                      then 200 "authorized\n" (the digest is not checked)

WatchServer attributes: ``url``, ``in_flight``, ``peak``, ``peak_by_host``,
``held`` (ids of /hold requests waiting), ``closed_at`` (id -> monotonic time
the client closed), ``requests`` (targets in arrival order),
``connections_accepted``, ``reset_peaks()``.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

HOLD_LIMIT = 15.0
IDLE_LIMIT = 30.0


class WatchServer:
    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1024)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list = []
        self.in_flight = 0
        self.peak = 0
        self.by_host: dict = {}
        self.peak_by_host: dict = {}
        self.held: set = set()
        self.closed_at: dict = {}
        self.requests: list = []
        self.connections_accepted = 0
        self.errors: list = []

    def __add__(self, path: str) -> str:
        return self.url + path

    def url_for_host(self, host: str) -> str:
        return f"http://{host}:{self.port}"

    def reset_peaks(self) -> None:
        with self._lock:
            self.peak = self.in_flight
            self.peak_by_host = dict(self.by_host)

    # -- lifecycle ----------------------------------------------------------------
    def __enter__(self) -> WatchServer:
        thread = threading.Thread(target=self._accept_loop, daemon=True, name="watch-accept")
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections_accepted += 1
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    # -- one connection -------------------------------------------------------------
    def _wait_readable(self, sock: socket.socket, limit: float) -> bool:
        deadline = time.monotonic() + limit
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            readable, _, _ = select.select([sock], [], [], min(left, 0.05))
            if readable:
                return True
        return False

    def _read_request(self, sock: socket.socket, buf: bytearray):
        while b"\r\n\r\n" not in buf:
            if not self._wait_readable(sock, IDLE_LIMIT):
                return None
            data = sock.recv(65536)
            if not data:
                return None
            buf += data
        end = buf.index(b"\r\n\r\n") + 4
        head = bytes(buf[:end]).decode("latin-1")
        del buf[:end]
        lines = head.split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(buf) < length:
            if not self._wait_readable(sock, IDLE_LIMIT):
                return None
            data = sock.recv(65536)
            if not data:
                return None
            buf += data
        del buf[:length]
        return method, target, headers

    @staticmethod
    def _respond(sock: socket.socket, body: bytes) -> None:
        sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )

    def _serve(self, sock: socket.socket) -> None:
        buf = bytearray()
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not self._stop.is_set():
                req = self._read_request(sock, buf)
                if req is None:
                    return
                method, target, headers = req
                with self._lock:
                    self.requests.append(target)
                parts = urlsplit(target)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/slow":
                    self._slow(sock, headers.get("host", ""), float(query.get("delay", "0.2")))
                elif parts.path == "/hold":
                    self._hold(sock, query.get("id", target))
                    return
                elif parts.path == "/digest":
                    self._digest(sock, headers, float(query.get("delay", "0.5")))
                elif parts.path == "/echo":
                    self._respond(sock, target.encode())
                else:
                    self._respond(sock, b"ok\n")
        except OSError:
            pass
        except Exception as exc:  # a bug in this server: keep it for inspection
            self.errors.append(exc)
        finally:
            sock.close()

    def _digest(self, sock: socket.socket, headers: dict, delay: float) -> None:
        if not headers.get("authorization", "").lower().startswith("digest "):
            challenge = 'Digest realm="watch", nonce="abc123", qop="auth", algorithm=MD5'
            sock.sendall(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: %s\r\n"
                b"Content-Length: 0\r\n\r\n" % challenge.encode()
            )
            return
        self._stop.wait(delay)
        self._respond(sock, b"authorized\n")

    def _slow(self, sock: socket.socket, host: str, delay: float) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.by_host[host] = self.by_host.get(host, 0) + 1
            self.peak_by_host[host] = max(self.peak_by_host.get(host, 0), self.by_host[host])
        try:
            self._stop.wait(delay)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.by_host[host] -= 1
        self._respond(sock, b"slow\n")

    def _hold(self, sock: socket.socket, ident: str) -> None:
        with self._lock:
            self.held.add(ident)
        try:
            if self._wait_readable(sock, HOLD_LIMIT):
                try:
                    data = sock.recv(1)
                except OSError:
                    data = b""
                if not data:
                    with self._lock:
                        self.closed_at[ident] = time.monotonic()
        finally:
            with self._lock:
                self.held.discard(ident)
