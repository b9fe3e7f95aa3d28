"""A threaded, keep-alive (HTTP/1.1) loopback server for the httpbin WSGI app.

pytest-httpbin's own server handles one connection at a time and closes every
connection after one response; the thread-safety and connection-reuse tests
need a server that serves connections concurrently and keeps them alive, so the
suite runs httpbin on werkzeug's threaded server instead.
"""

from __future__ import annotations

import ssl
import threading
from urllib.parse import urljoin

from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs) -> None:  # no access log on stderr
        pass

    def log(self, *args, **kwargs) -> None:
        pass


class WSGIServer:
    """Serve ``app`` on 127.0.0.1:<ephemeral> in a background thread."""

    def __init__(self, app, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1"):
        self._server = make_server(
            host, 0, app, threaded=True, request_handler=_QuietHandler, ssl_context=ssl_context
        )
        self.host = host
        self.port = self._server.server_port
        self.protocol = "https" if ssl_context is not None else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"{self.protocol}://{self.host}:{self.port}"

    def url_for_host(self, host: str) -> str:
        """The same server under another name for the same address (e.g. localhost)."""
        return f"{self.protocol}://{host}:{self.port}"

    def __add__(self, path: str) -> str:
        return self.url + path

    def join(self, path: str) -> str:
        return urljoin(self.url, path)

    def start(self) -> WSGIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> WSGIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
