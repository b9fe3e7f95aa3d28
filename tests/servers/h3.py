"""An HTTP/3 test server: hypercorn on loopback with QUIC (UDP) and TLS over
TCP (h2, http/1.1) on the same port number, in a thread with its own event
loop, serving a small ASGI app.

Endpoints (each answers JSON, and every request is logged as
``(client (host, port), http_version)`` so that tests can count the
connections a client used: a QUIC connection keeps its UDP source address):

    GET  /echo...   {"method", "path", "http_version", "client"}
    POST /upload    {"length", "sha256", "http_version"} of the request body
    GET  /client    {"client": [host, port], "http_version"}
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
from typing import Any, Optional

from hypercorn.asyncio import serve
from hypercorn.config import Config


def free_tcp_and_udp_port() -> int:
    """A loopback port number free for both TCP and UDP."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no loopback port free for both TCP and UDP")


class H3Server:
    """``with H3Server(certfile, keyfile) as s:`` s.url ("https://127.0.0.1:PORT"),
    s.reset_log(), s.log() -> [(client, http_version), ...]."""

    def __init__(self, certfile: str, keyfile: str) -> None:
        self.port = free_tcp_and_udp_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.config = Config()
        self.config.bind = [f"127.0.0.1:{self.port}"]
        self.config.quic_bind = [f"127.0.0.1:{self.port}"]
        self.config.certfile = certfile
        self.config.keyfile = keyfile
        self.config.accesslog = None
        self.config.errorlog = None
        self.config.keep_alive_timeout = 60
        self._log: list[tuple[tuple[str, int], str]] = []
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._thread = threading.Thread(target=self._run, name="h3-server", daemon=True)
        self.error: Optional[BaseException] = None

    # the ASGI app --------------------------------------------------------------

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        client = tuple(scope["client"]) if scope.get("client") else ("", 0)
        version = "HTTP/" + scope["http_version"]
        with self._lock:
            self._log.append((client, version))  # type: ignore[arg-type]
        path = scope["path"]
        if path == "/upload":
            answer: dict[str, Any] = {
                "length": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "http_version": version,
            }
        elif path == "/client":
            answer = {"client": list(client), "http_version": version}
        else:
            answer = {
                "method": scope["method"],
                "path": path,
                "http_version": version,
                "client": list(client),
            }
        payload = json.dumps(answer).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(payload)),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    # the thread ----------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._stop = asyncio.Event()
        try:
            loop.run_until_complete(serve(self.app, self.config, shutdown_trigger=self._stop.wait))  # type: ignore[arg-type]
        except BaseException as error:  # reported by __enter__ / the fixture
            self.error = error
        finally:
            loop.close()

    def __enter__(self) -> H3Server:
        self._thread.start()
        # hypercorn binds the UDP socket before it listens on TCP: once a TCP
        # connect succeeds, QUIC datagrams queue for the server too
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self._thread.is_alive():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"the HTTP/3 server did not start: {self.error!r}")

    def __exit__(self, *exc: object) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(30)

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    def log(self) -> list[tuple[tuple[str, int], str]]:
        """(client address, HTTP version) of every request since reset_log()."""
        with self._lock:
            return list(self._log)
