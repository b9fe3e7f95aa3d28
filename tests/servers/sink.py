"""A loopback HTTP/1.1 server for big transfers that never holds a body in
memory: uploads are hashed and discarded, downloads are generated block by
block. One request per connection (Connection: close).

  POST|PUT /upload         -> 200 JSON {"bytes": n, "sha256": hex, "chunked": bool}
  GET /download?size=N     -> N bytes of PATTERN repeated (Content-Length)
"""

from __future__ import annotations

import hashlib
import json
import socket
import socketserver
import threading
from urllib.parse import parse_qs, urlsplit

PATTERN = bytes(range(256)) * 256  # 64 KiB


def pattern_sha256(size: int) -> str:
    """The SHA-256 of the first ``size`` bytes of the repeated PATTERN."""
    h = hashlib.sha256()
    full, rest = divmod(size, len(PATTERN))
    for _ in range(full):
        h.update(PATTERN)
    h.update(PATTERN[:rest])
    return h.hexdigest()


class _Handler(socketserver.StreamRequestHandler):
    rbufsize = 256 * 1024

    def handle(self) -> None:
        request_line = self.rfile.readline(65537).decode("latin-1").strip()
        if not request_line:
            return
        method, target, _ = request_line.split(" ", 2)
        headers = {}
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        url = urlsplit(target)
        if url.path == "/upload":
            self._upload(headers)
        elif url.path == "/download":
            size = int(parse_qs(url.query).get("size", ["0"])[0])
            self._download(size)
        else:
            self._respond(404, b"no such endpoint\n", "text/plain")

    def _upload(self, headers: dict) -> None:
        h = hashlib.sha256()
        count = 0
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if chunked:
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    data = self.rfile.read(min(left, 256 * 1024))
                    if not data:
                        return
                    h.update(data)
                    count += len(data)
                    left -= len(data)
                self.rfile.readline()
        else:
            left = int(headers.get("content-length", "0"))
            while left:
                data = self.rfile.read(min(left, 256 * 1024))
                if not data:
                    return
                h.update(data)
                count += len(data)
                left -= len(data)
        body = json.dumps({"bytes": count, "sha256": h.hexdigest(), "chunked": chunked})
        self._respond(200, body.encode(), "application/json")

    def _download(self, size: int) -> None:
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % size
        )
        view = memoryview(PATTERN)
        left = size
        try:
            while left:
                n = min(left, len(PATTERN))
                self.wfile.write(view[:n])
                left -= n
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _respond(self, status: int, body: bytes, content_type: str) -> None:
        self.wfile.write(
            b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % (status, content_type.encode(), len(body)) + body
        )


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SinkServer:
    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SinkServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
