"""A fast keep-alive HTTP/1.1 server in a child process, for load tests.

Every request (its body, if any, is skipped by Content-Length) gets the same
small response at once. The server runs on asyncio (uvloop when installed) in
its own process, so it answers tens of thousands of requests a second without
competing with the test for the GIL: fast enough for races in the client to
show.

    with QuickHTTPServer() as server:
        server.url  # "http://127.0.0.1:<port>"

After a request for /arm, requests for a path starting with /held are
answered only once a request for /release has arrived (on any connection;
from then on /held is answered at once too, until the next /arm): what a
client holds for requests in flight can be measured while none can finish.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nquick"


_held: list = []  # protocols with answers waiting for /release
_released = True  # until /arm


class _Protocol(asyncio.Protocol):
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = b""
        self.waiting: list[bytes] = []  # answers held (in order) until /release

    def _release_all(self) -> None:
        global _released
        _released = True
        for protocol in _held:
            if not protocol.transport.is_closing():
                protocol.transport.write(b"".join(protocol.waiting))
            protocol.waiting = []
        _held.clear()

    def data_received(self, data: bytes) -> None:
        global _released
        self.buffer += data
        answers = []
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buffer[:end].lower()
            length = 0
            start = head.find(b"\ncontent-length:")
            if start >= 0:
                length = int(head[start + 16 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                break
            self.buffer = self.buffer[end + 4 + length :]
            if head.startswith(b"get /arm "):
                _released = False
            if head.startswith(b"get /release "):
                if answers:  # what came before goes first
                    self.transport.write(b"".join(answers))
                    answers = []
                self._release_all()
            if (head.startswith(b"get /held") and not _released) or self.waiting:
                if not self.waiting:
                    _held.append(self)
                self.waiting.append(RESPONSE)  # after the held one, in order
            else:
                answers.append(RESPONSE)
        if answers:
            self.transport.write(b"".join(answers))


def _serve(port: int) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Protocol, "127.0.0.1", port, backlog=512)
        print("ready", flush=True)
        await server.serve_forever()

    asyncio.run(main())


class QuickHTTPServer:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> QuickHTTPServer:
        tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        code = f"import sys; sys.path.insert(0, {tests_dir!r}); "
        code += f"from servers.quick_http import _serve; _serve({self.port})"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert self._proc.stdout is not None
        if self._proc.stdout.readline().strip() != b"ready":
            self.__exit__()
            raise RuntimeError("the quick HTTP server did not start")
        return self

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
            self._proc = None
