"""WebSocket servers on loopback, for tests/test_websocket.py.

``WSServer`` runs the ``websockets`` library's asyncio server in a thread of
its own (its own event loop), optionally over TLS. The path picks the
behaviour (query arguments in brackets):

  /echo                 every message back, as it came (text or binary)
  /headers              one text message: the upgrade request's headers as JSON
  /push?n=&size=&code=&reason=
                        n text messages "0".."n-1" (or binary of ``size``
                        bytes), then a close frame with code and reason
  /close?code=&reason=  a close frame at once
  /big?size=&frame=     one binary message of ``size`` bytes sent in frames
                        of ``frame`` bytes, then echo
  /drop                 the TCP connection dropped after one message, no close
  /silent               one message, then stops reading (pings go unanswered)
  /flood?n=&size=       n binary messages as fast as the socket takes them,
                        then "done" and a normal close
  /ping                 the server pings the client; sends "pong ok" when
                        the pong came back
  /protocol             the negotiated subprotocol as one text message
  /refuse               the handshake is answered 403 with a header

``RawFrameServer`` is a bare TCP server that does the handshake by hand and
records the masking keys of the client's frames (``keys``), for the test that
every frame gets a fresh one.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import ssl
import threading
from http import HTTPStatus
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _first_known(connection: Any, offered: Any) -> Optional[str]:
    """The client's first choice among those this server speaks, or none."""
    return next((p for p in offered if p in ("chat", "superchat")), None)


class WSServer:
    def __init__(self, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self.ssl_context = ssl_context
        self.port = 0
        self.connections = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Future[None]] = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ws-server", daemon=True)
        self.errors: list[BaseException] = []
        self._live: set[Any] = set()

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl_context else "ws"
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> WSServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        async with serve(
            self._handler,
            "127.0.0.1",
            0,
            ssl=self.ssl_context,
            max_size=None,
            select_subprotocol=_first_known,
            process_request=self._process_request,
            ping_interval=None,
            compression=None,
            close_timeout=1,
        ) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop
            for ws in list(self._live):  # a paused reader would not see the client go
                ws.transport.abort()

    def _process_request(self, connection: Any, request: Any) -> Optional[Response]:
        if request.path.startswith("/refuse"):
            headers = Headers([("X-Refused", "yes"), ("Content-Length", "7")])
            return Response(HTTPStatus.FORBIDDEN.value, "Forbidden", headers, b"refused")
        return None

    async def _handler(self, ws: Any) -> None:
        self.connections += 1
        self._live.add(ws)
        parts = urlsplit(ws.request.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        try:
            await self._serve(ws, path, q)
        except Exception as exc:  # connection errors are the tests' business
            from websockets.exceptions import ConnectionClosed

            if not isinstance(exc, ConnectionClosed):
                self.errors.append(exc)
        finally:
            self._live.discard(ws)

    async def _serve(self, ws: Any, path: str, q: dict[str, str]) -> None:
        if path == "/echo":
            async for message in ws:
                await ws.send(message)
        elif path == "/headers":
            await ws.send(json.dumps(dict(ws.request.headers.raw_items())))
            await ws.wait_closed()
        elif path == "/push":
            size = int(q.get("size", 0))
            for i in range(int(q.get("n", 3))):
                await ws.send(bytes([i % 256]) * size if size else str(i))
            await ws.close(int(q.get("code", 1000)), q.get("reason", ""))
        elif path == "/close":
            await ws.close(int(q.get("code", 1000)), q.get("reason", ""))
        elif path == "/big":
            size, frame = int(q["size"]), int(q.get("frame", 65536))
            data = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
            await ws.send([data[i : i + frame] for i in range(0, size, frame)])
            async for message in ws:
                await ws.send(message)
        elif path == "/drop":
            await ws.send("bye")
            await asyncio.sleep(0.05)
            ws.transport.abort()
        elif path == "/silent":
            await ws.send("quiet now")
            ws.transport.pause_reading()
            await ws.wait_closed()  # ends when the server stops (see _main)
        elif path == "/flood":
            n, size = int(q.get("n", 1000)), int(q.get("size", 1024))
            payload = b"f" * size
            for _ in range(n):
                await ws.send(payload)
            await ws.send("done")
            await ws.close()
        elif path == "/ping":
            pong = await ws.ping(b"from-server")
            await asyncio.wait_for(pong, 5)
            await ws.send("pong ok")
            await ws.wait_closed()
        elif path == "/protocol":
            await ws.send(ws.subprotocol or "")
            await ws.wait_closed()
        elif path == "/badtext":
            await ws.send(b"\xff\xfe", text=True)  # a text frame that is not UTF-8
            await ws.wait_closed()
        else:
            await ws.close(1008, "no such path")


class RawFrameServer:
    """Accepts one client, answers its upgrade by hand, reads ``frames``
    frames and records each one's masking key (None: unmasked)."""

    def __init__(self, frames: int = 2, protocol: str = "", answer: bool = True) -> None:
        self.frames = frames
        self.protocol = protocol  # a Sec-WebSocket-Protocol to answer with
        self.answer = answer  # False: read the upgrade request, never answer it
        self.keys: list[Optional[bytes]] = []
        self.payloads: list[bytes] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(1)
        self.port = self._sock.getsockname()[1]
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/raw"

    def __enter__(self) -> RawFrameServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.done.set()
        self._sock.close()
        self._thread.join(5)

    def _read(self, conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _run(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = ""
            for line in request.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-key":
                    key = value.strip()
            if not self.answer:
                self.done.wait(30)
                return
            accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            extra = f"Sec-WebSocket-Protocol: {self.protocol}\r\n" if self.protocol else ""
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                + accept.encode()
                + b"\r\n"
                + extra.encode()
                + b"\r\n"
            )
            try:
                for _ in range(self.frames):
                    head = self._read(conn, 2)
                    masked = head[1] & 0x80
                    length = head[1] & 0x7F
                    if length == 126:
                        length = int.from_bytes(self._read(conn, 2), "big")
                    elif length == 127:
                        length = int.from_bytes(self._read(conn, 8), "big")
                    mask = self._read(conn, 4) if masked else None
                    payload = self._read(conn, length)
                    if mask is not None:
                        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                    self.keys.append(mask)
                    self.payloads.append(payload)
            except (EOFError, OSError):
                pass
            finally:
                self.done.set()
