"""A loopback event-stream server whose connections follow a script, for the
EventSource tests: connection N gets ``scripts[N]`` (the last one repeats).

A script is a ``Reply``: status, content type and body bytes, then how the
connection ends: "close" (the stream drops cleanly after the body, as a
restarting server's would), "reset" (an abrupt RST mid-stream), "refuse"
(an RST before any answer) or "hold" (stay open, sending nothing more, until
the server is closed). Every request
head is recorded in ``requests`` (lower-cased header names), so tests can
check Accept, Cache-Control and Last-Event-ID.
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/event-stream"
    end: str = "close"  # "close", "reset", "refuse" or "hold"


class EventStreamServer:
    def __init__(self, scripts: list[Reply]) -> None:
        self.scripts = scripts
        self.requests: list[dict[str, str]] = []
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            index = len(self.requests)
            worker = threading.Thread(target=self._serve, args=(conn, index), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _read_head(self, conn: socket.socket) -> dict[str, str]:
        data = b""
        while b"\r\n\r\n" not in data:
            piece = conn.recv(4096)
            if not piece:
                break
            data += piece
        lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        head = {":request": lines[0]}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            head[name.strip().lower()] = value.strip()
        return head

    def _serve(self, conn: socket.socket, index: int) -> None:
        with conn:
            self.requests.append(self._read_head(conn))
            reply = self.scripts[min(index, len(self.scripts) - 1)]
            if reply.end == "refuse":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            reason = {200: "OK", 204: "No Content"}.get(reply.status, "Status")
            head = f"HTTP/1.1 {reply.status} {reason}\r\n"
            if reply.status != 204:
                head += f"Content-Type: {reply.content_type}\r\nConnection: close\r\n"
            try:
                conn.sendall(head.encode() + b"\r\n" + reply.body)
                if reply.end == "reset":
                    self._stop.wait(0.2)  # let the client read what was sent
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif reply.end == "hold":
                    self._stop.wait(30)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        for thread in self._threads[1:]:
            thread.join(5)

    def __enter__(self) -> EventStreamServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
