"""A raw-socket HTTP/1.1 server with scripted misbehaviours, for tests.

The server listens on 127.0.0.1 on an ephemeral port, serves each connection in
its own thread and keeps connections alive between well-formed requests.  The
behaviour is selected by the request path (see ``FaultServer.routes``).  A
request whose target is in absolute form (``GET http://host/path``), i.e. a
request sent to a forward proxy, is answered with a JSON description of what
the "proxy" received instead of being routed.

Endpoints (FaultServer.routes):

  /, /ok              200 "ok\n"
  /json               200 JSON {"method", "path", "scheme"}
  /echo-raw[/...]     200, body = the exact bytes of the request (head + body as sent)
  /echo-head          200, body = the request line and header block only
  /conn-id            200 "<connection id> <requests served before on it>"
  /status/<code>      that status, short text body (none for 204/304)
  /redirect           ?status=302&location=... : redirect, Location sent verbatim
  /redirect-loop      302 to itself, forever
  /cookie-redirect    Set-Cookie flavor=choco, then 302 to ?location= (default /echo-raw)
  /set-cookie         one Set-Cookie per query argument
  /close              reads the request, closes without a response
  /reset              reads the request, resets the connection (SO_LINGER 0)
  /short              Content-Length: 100 (or ?declared=N), sends 10 bytes, closes
  /bad-chunk          chunked: one good chunk, then a non-hex chunk size, closes
  /truncated-chunk    chunked: two good chunks, closes without the last-chunk
  /stall-headers      reads the request, never answers
  /stall-body         headers (Content-Length: 100) and 10 bytes, then nothing
  /slow-chunks        chunked: SLOW_FIRST, waits (?gate=T until the test opens gate T,
                      or ?delay=s), then SLOW_SECOND
  /drip               ?n=6&interval=0.15: n bytes, one per interval (Content-Length)
  /big, /big-chunked  ?size=N bytes of big_body(N), Content-Length or chunked framing
  /counting           ?size=N&trickle=K: counting_body(N), Content-Length; all but the
                      last K bytes at once, then those 512 bytes every 2 ms
  /until-close        body framed by connection close (no length, not chunked)
  /ok-then-close      a normal-looking response, then the connection is closed
  /conflicting-length two Content-Length fields that disagree
  /headers-cut        "Transfer-Encoding: chunked", then the connection ends mid-headers
  /length-overflow    Content-Length: 99999999999999999999, two bytes, closes
  /huge-headers       ?kib=N: a header block of about N KiB (default 1024), then 200
  /gzip /deflate /deflate-raw /br /zstd
                      compressed_payload(name) with the matching Content-Encoding
  /bad-gzip           Content-Encoding: gzip over bytes that are not gzip
  /multi-header       X-Multi three times, two Set-Cookie fields
  /links              a Link header with rel="next" and rel="last"
  /reason             "HTTP/1.1 299 Totally Fine"
  /charset            ?cs=&text=: text encoded with and labelled as charset cs
  /unicode-text       UNICODE_TEXT in UTF-8, Content-Type from ?ct= (no charset)
  /json-bad           application/json that is not JSON
  /json-utf16         JSON encoded as UTF-16 (with BOM), application/octet-stream
  /continue-first     an unsolicited "100 Continue" block, then 200 with X-Final
  /latin1-header      X-Latin header with latin-1 bytes ("café crème")
  /mixed-case-dup     x-dup / X-DUP / X-Dup fields
  /cookie-expires     two Set-Cookie fields whose Expires contains a comma
  /no-reason          "HTTP/1.1 200 " (empty reason phrase)
  /http10             an HTTP/1.0 response, then close
  /chunked-trailers   chunked body followed by a trailer field
  /not-modified-with-length  304 with Content-Length: 50 and (correctly) no body
  /redirect-utf8-location    302 whose Location has raw UTF-8 bytes
  /fail-n-times       ?n=2&key=k&status=503&retry_after=V&mode=status|close|stall: the
                      first n requests of key k (default: the path and query) fail
                      (that status, with Retry-After: V when given; or the connection
                      closed after reading the request; or no answer until the stall
                      ends), later ones get 200 with the request body echoed
  /status/<code>      also ?retry_after=V: a Retry-After field with that value
  /stale-second       the first request on a connection is answered (keep-alive);
                      a later one on the same connection is read, then the
                      connection is closed without a response; 200 on a fresh one
  absolute-form target ("GET http://...")  answered as a forward proxy would be
                      asked: JSON {"proxied": true, "target", "host",
                      "proxy_authorization"}; CONNECT gets 405.

Everything the server received is recorded (``FaultServer.requests``) together
with the number of accepted connections, so tests can assert exactly what went
over the wire, or that nothing did; ``hits(path)`` counts the requests of a path.

The server is also used, wrapped in TLS, by ``tests/servers/tls.py``.
"""

from __future__ import annotations

import array
import functools
import gzip
import http
import json
import select
import socket
import ssl
import struct
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Callable
from urllib.parse import parse_qs, urlsplit

try:
    import brotli
except ImportError:  # pragma: no cover - brotli is a test dependency
    brotli = None

try:
    import zstandard
except ImportError:  # pragma: no cover - zstandard is a test dependency
    zstandard = None

HOST = "127.0.0.1"
MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
POLL = 0.05
IDLE_LIMIT = 30.0  # a keep-alive connection idle this long is closed
SEND_TIMEOUT = 5.0  # a client that stops reading for this long is dropped
STALL_LIMIT = 10.0  # the stall endpoints give up (close) after this long
GATE_LIMIT = 3.0  # /slow-chunks waits at most this long for its gate

# The decoded body of /gzip, /deflate, /deflate-raw, /br and /zstd is this JSON
# document with "encoding" set to the name of the endpoint.
COMPRESSED_FILLER = "requestx decompresses transparently. " * 40

# /slow-chunks sends the first chunk, waits, then sends the second one.
SLOW_FIRST = b"alpha\nbeta\n"
SLOW_SECOND = b"gamma\n"

# /short announces SHORT_DECLARED bytes and sends only SHORT_BODY.
SHORT_DECLARED = 100
SHORT_BODY = b"0123456789"

# /multi-header sends these repeated fields.
MULTI_VALUES = ("first", "second", "third")

# /links sends this Link header.
LINK_HEADER = '<http://127.0.0.1/page/2>; rel="next", <http://127.0.0.1/page/9>; rel="last"'

# /charset default text: not ASCII, encodable in latin-1.
CHARSET_TEXT = "café crème, señor, Ærø"

# /unicode-text body (UTF-8, no charset in Content-Type).
UNICODE_TEXT = "Ünïcödé tëxt — ✓ ☃ 日本語のテキスト, ещё немного текста на русском."


class _ClientGone(Exception):
    """The peer closed the connection or misbehaved; stop serving it."""


class _Stopping(Exception):
    """The server is shutting down."""


@dataclass
class RecordedRequest:
    """One request as received on the wire."""

    conn_id: int
    method: str
    target: str
    version: str
    headers: list  # list of (name, value) in wire order, names as sent
    head: bytes  # request line and header block, including the blank line
    body: bytes  # the decoded body (chunked framing removed)
    raw: bytes  # exactly the bytes received for this request

    @property
    def path(self) -> str:
        return urlsplit(self.target).path or "/"

    @property
    def query(self) -> dict:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list:
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    @property
    def wants_close(self) -> bool:
        conn = (self.header("Connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" not in conn
        return "close" in conn


class Gate:
    """Synchronises /slow-chunks with a test (see ``FaultServer.gate``)."""

    def __init__(self) -> None:
        self.first_sent = threading.Event()
        self.opened = threading.Event()
        self.second_sent = threading.Event()

    def open(self) -> None:
        self.opened.set()


class Connection:
    """Buffered, stoppable reads and writes on one accepted socket."""

    def __init__(self, server: RawHTTPServer, sock: socket.socket, conn_id):
        self.server = server
        self.sock = sock  # possibly an SSLSocket (socket.socket methods reach the fd)
        self.conn_id = conn_id
        self.buf = bytearray()
        self.closed = False
        self.requests_served = 0

    # -- reading ----------------------------------------------------------------
    def _fill(self, idle_limit: float = IDLE_LIMIT) -> None:
        deadline = time.monotonic() + idle_limit
        while True:
            if self.server.stopping:
                raise _Stopping()
            pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
            if not pending:
                readable, _, _ = select.select([self.sock], [], [], POLL)
                if not readable:
                    if time.monotonic() > deadline:
                        raise _ClientGone("idle")
                    continue
            try:
                data = self.sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError) as exc:
                raise _ClientGone(str(exc)) from exc
            if not data:
                raise _ClientGone("eof")
            self.buf += data
            return

    def read_until(self, delim: bytes, limit: int) -> bytes:
        start = 0
        while True:
            idx = self.buf.find(delim, start)
            if idx >= 0:
                end = idx + len(delim)
                out = bytes(self.buf[:end])
                del self.buf[:end]
                return out
            if len(self.buf) > limit:
                raise _ClientGone("line too long")
            start = max(0, len(self.buf) - len(delim) + 1)
            self._fill()

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_request(self) -> RecordedRequest | None:
        """Read one request; None when the client closed an idle connection."""
        try:
            # Tolerate stray CRLFs between requests (RFC 9112 section 2.2).
            while True:
                if not self.buf:
                    self._fill()
                if self.buf.startswith(b"\r\n"):
                    del self.buf[:2]
                    continue
                break
        except _ClientGone:
            return None
        head = self.read_until(b"\r\n\r\n", MAX_HEAD)
        lines = head[:-4].split(b"\r\n")
        try:
            method, target, version = lines[0].decode("latin-1").split(" ", 2)
        except ValueError as exc:
            raise _ClientGone("bad request line") from exc
        headers = []
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip(" \t")))
        req = RecordedRequest(self.conn_id, method, target, version, headers, head, b"", head)
        if (req.header("Expect") or "").lower() == "100-continue":
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        te = (req.header("Transfer-Encoding") or "").lower()
        raw_body = bytearray()
        body = bytearray()
        if "chunked" in te:
            while True:
                size_line = self.read_until(b"\r\n", 1024)
                raw_body += size_line
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError as exc:
                    raise _ClientGone("bad chunk size from client") from exc
                if size == 0:
                    # trailers, then the final CRLF
                    while True:
                        line = self.read_until(b"\r\n", MAX_HEAD)
                        raw_body += line
                        if line == b"\r\n":
                            break
                    break
                if len(body) + size > MAX_BODY:
                    raise _ClientGone("body too large")
                data = self.read_exact(size + 2)
                raw_body += data
                body += data[:-2]
        elif req.header("Content-Length") is not None:
            try:
                length = int(req.header("Content-Length"))
            except ValueError as exc:
                raise _ClientGone("bad content-length from client") from exc
            if length > MAX_BODY:
                raise _ClientGone("body too large")
            body = bytearray(self.read_exact(length))
            raw_body = body
        req.body = bytes(body)
        req.raw = head + bytes(raw_body)
        return req

    # -- writing ----------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if self.server.stopping:
            raise _Stopping()
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as exc:
            raise _ClientGone(str(exc)) from exc

    def respond(
        self,
        req: RecordedRequest,
        status: int = 200,
        body: bytes = b"",
        headers=(),
        reason: str | None = None,
        content_type: str | None = "text/plain; charset=utf-8",
    ) -> None:
        """Send a complete, well-formed response (no body for HEAD)."""
        if reason is None:
            try:
                reason = http.HTTPStatus(status).phrase
            except ValueError:
                reason = "Unknown"
        hdrs = list(headers)
        names = {n.lower() for n, _ in hdrs}
        if content_type and "content-type" not in names:
            hdrs.append(("Content-Type", content_type))
        bodyless = status in (204, 304) or 100 <= status < 200
        if not bodyless and "content-length" not in names and "transfer-encoding" not in names:
            hdrs.append(("Content-Length", str(len(body))))
        head = f"HTTP/1.1 {status} {reason}\r\n"
        head += "".join(f"{n}: {v}\r\n" for n, v in hdrs)
        head += "\r\n"
        payload = head.encode("latin-1")
        if req.method != "HEAD" and not bodyless:
            payload += body
        self.send(payload)

    def close(self, reset: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        if reset:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        else:
            self.shutdown()
        try:
            self.sock.close()
        except OSError:
            pass

    def shutdown(self) -> None:
        """Shut the TCP connection down (wakes a thread blocked on it)."""
        try:
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
        except OSError:
            pass


Handler = Callable[["RawHTTPServer", Connection, RecordedRequest], bool]


class RawHTTPServer:
    """Threaded loopback HTTP/1.1 server dispatching on path to handlers.

    A handler returns True to keep the connection alive for the next request.
    Subclasses fill ``routes`` (exact path -> handler) and ``prefix_routes``.
    """

    routes: dict = {}
    prefix_routes: dict = {}

    def __init__(self, ssl_context: ssl.SSLContext | None = None, backlog: int = 128):
        self.ssl_context = ssl_context
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, 0))
        self._listener.listen(backlog)
        self._listener.settimeout(POLL)
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: set = set()
        self._conns: set = set()
        self._gates: dict = {}
        self._failures: dict = {}  # /fail-n-times: requests seen per key
        self._next_conn_id = 0
        self.requests: list = []  # RecordedRequest, in arrival order
        self.handler_errors: list = []  # unexpected exceptions in handlers
        self._accept_thread: threading.Thread | None = None

    # -- public API -------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def join(self, path: str) -> str:
        return self.url + path

    def hits(self, path: str) -> int:
        """How many requests of ``path`` (without the query) arrived."""
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def __add__(self, path: str) -> str:
        return self.join(path)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def connections_accepted(self) -> int:
        with self._lock:
            return self._next_conn_id

    def open_connection_ids(self) -> set:
        """Ids of the connections currently open (served by a thread)."""
        with self._lock:
            return {c.conn_id for c in self._conns}

    def requests_to(self, path: str) -> list:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def requests_with(self, token: str) -> list:
        """Recorded requests whose target contains ``token``."""
        with self._lock:
            return [r for r in self.requests if token in r.target]

    def gate(self, token: str) -> Gate:
        with self._lock:
            if token not in self._gates:
                self._gates[token] = Gate()
            return self._gates[token]

    def start(self) -> RawHTTPServer:
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"{type(self).__name__}-accept", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for gate in list(self._gates.values()):
            gate.opened.set()
        if self._accept_thread is not None:
            self._accept_thread.join(5)
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self._conns)
            threads = list(self._threads)
        for conn in conns:
            conn.shutdown()
        for thread in threads:
            thread.join(5)

    def __enter__(self) -> RawHTTPServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_stalls(self, stall: float) -> bool:
        """Sleep up to ``stall`` seconds; False if the server is stopping."""
        return not self._stop.wait(stall)

    # -- internals --------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            with self._lock:
                self._next_conn_id += 1
                conn_id = self._next_conn_id
            thread = threading.Thread(
                target=self._serve, args=(sock, conn_id), name=f"conn-{conn_id}", daemon=True
            )
            with self._lock:
                self._threads.add(thread)
            thread.start()

    def _serve(self, raw_sock: socket.socket, conn_id: int) -> None:
        sock = raw_sock
        conn = None
        try:
            raw_sock.settimeout(SEND_TIMEOUT)
            raw_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                sock = self.ssl_context.wrap_socket(
                    raw_sock, server_side=True, do_handshake_on_connect=False
                )
            conn = Connection(self, sock, conn_id)
            with self._lock:
                self._conns.add(conn)
            if self.ssl_context is not None:
                sock.do_handshake()
            while not self._stop.is_set():
                req = conn.read_request()
                if req is None:
                    break
                with self._lock:
                    self.requests.append(req)
                handler = self._find_handler(req)
                keep = handler(self, conn, req)
                conn.requests_served += 1
                if not keep or req.wants_close or conn.closed:
                    break
        except (_ClientGone, _Stopping, OSError, ssl.SSLError):
            pass
        except Exception as exc:  # a bug in a handler: keep it for inspection
            self.handler_errors.append(exc)
        finally:
            if conn is not None:
                conn.close()
                with self._lock:
                    self._conns.discard(conn)
            else:
                try:
                    sock.close()
                except OSError:
                    pass
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _find_handler(self, req: RecordedRequest) -> Handler:
        if "://" in req.target.split("?", 1)[0] or req.method == "CONNECT":
            return self.routes.get("<proxy>", _not_found)
        handler = self.routes.get(req.path)
        if handler is not None:
            return handler
        for prefix, handler in self.prefix_routes.items():
            if req.path.startswith(prefix):
                return handler
        return _not_found


# ---------------------------------------------------------------------------
# Handlers shared by the plain and the TLS servers
# ---------------------------------------------------------------------------


def _not_found(server, conn, req) -> bool:
    conn.respond(req, 404, b"no such endpoint\n")
    return True


def _ok(server, conn, req) -> bool:
    conn.respond(req, 200, b"ok\n")
    return True


def _json(server, conn, req) -> bool:
    body = json.dumps({"method": req.method, "path": req.path, "scheme": server.scheme})
    conn.respond(req, 200, body.encode(), content_type="application/json")
    return True


def _echo_raw(server, conn, req) -> bool:
    conn.respond(req, 200, req.raw, content_type="application/octet-stream")
    return True


def _echo_head(server, conn, req) -> bool:
    conn.respond(req, 200, req.head, content_type="application/octet-stream")
    return True


def _conn_id(server, conn, req) -> bool:
    body = f"{conn.conn_id} {conn.requests_served}".encode()
    conn.respond(req, 200, body)
    return True


def _status(server, conn, req) -> bool:
    try:
        code = int(req.path.rsplit("/", 1)[1])
    except ValueError:
        code = 400
    body = b"" if code in (204, 304) else f"status {code}\n".encode()
    retry_after = req.arg("retry_after")
    headers = [("Retry-After", retry_after)] if retry_after is not None else []
    conn.respond(req, code, body, headers=headers)
    return True


def _fail_n_times(server, conn, req) -> bool:
    """/fail-n-times?n=2&key=k&status=503&retry_after=V&mode=status|close|stall."""
    key = req.arg("key") or req.target
    with server._lock:
        seen = server._failures.get(key, 0)
        server._failures[key] = seen + 1
    if seen >= int(req.arg("n", "1")):
        conn.respond(req, 200, req.body or b"ok\n")
        return True
    mode = req.arg("mode", "status")
    if mode == "close":
        conn.close()
        return False
    if mode == "stall":
        server.wait_stalls(STALL_LIMIT)
        conn.close()
        return False
    retry_after = req.arg("retry_after")
    headers = [("Retry-After", retry_after)] if retry_after is not None else []
    status = int(req.arg("status", "503"))
    conn.respond(req, status, f"failure {seen + 1}\n".encode(), headers=headers)
    return True


def _stale_second(server, conn, req) -> bool:
    """The second request of a connection finds it dead (read, no answer)."""
    if conn.requests_served > 0:
        conn.close()
        return False
    conn.respond(req, 200, req.body or b"ok\n")
    return True


def _redirect(server, conn, req) -> bool:
    """/redirect?status=302&location=... : Location sent verbatim."""
    status = int(req.arg("status", "302"))
    location = req.arg("location", "/ok")
    conn.respond(req, status, b"", headers=[("Location", location)])
    return True


def _redirect_loop(server, conn, req) -> bool:
    conn.respond(req, 302, b"", headers=[("Location", "/redirect-loop")])
    return True


def _cookie_redirect(server, conn, req) -> bool:
    location = req.arg("location", "/echo-raw")
    conn.respond(
        req,
        302,
        b"",
        headers=[("Set-Cookie", "flavor=choco; Path=/"), ("Location", location)],
    )
    return True


def _proxy(server, conn, req) -> bool:
    """Answer a forward-proxy request with what the proxy received."""
    if req.method == "CONNECT":
        conn.respond(req, 405, b"CONNECT not supported by this test proxy\n")
        return False
    info = {
        "proxied": True,
        "method": req.method,
        "target": req.target,
        "host": req.header("Host"),
        "proxy_authorization": req.header("Proxy-Authorization"),
    }
    conn.respond(req, 200, json.dumps(info).encode(), content_type="application/json")
    return True


# ---------------------------------------------------------------------------
# Fault handlers
# ---------------------------------------------------------------------------


def _close(server, conn, req) -> bool:
    conn.close()
    return False


def _reset(server, conn, req) -> bool:
    conn.close(reset=True)
    return False


def _short(server, conn, req) -> bool:
    declared = int(req.arg("declared", str(SHORT_DECLARED)))
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {declared}\r\n\r\n"
    ).encode()
    conn.send(head + SHORT_BODY)
    conn.close()
    return False


_CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _bad_chunk(server, conn, req) -> bool:
    # One good chunk, then a chunk-size line that is not hexadecimal.
    conn.send(_CHUNKED_HEAD + _chunk(b"good chunk\n") + b"zz\r\nthis is not a chunk\r\n")
    conn.close()
    return False


def _truncated_chunk(server, conn, req) -> bool:
    # Two good chunks, then the connection closes without the last-chunk.
    conn.send(_CHUNKED_HEAD + _chunk(b"first part\n") + _chunk(b"second part\n"))
    conn.close()
    return False


def _stall_headers(server, conn, req) -> bool:
    server.wait_stalls(STALL_LIMIT)
    conn.close()
    return False


def _stall_body(server, conn, req) -> bool:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n"
    conn.send(head + b"partial...")
    server.wait_stalls(STALL_LIMIT)
    conn.close()
    return False


def _slow_chunks(server, conn, req) -> bool:
    """First chunk, wait (for the gate ``?gate=token`` or ``?delay=s``), second."""
    token = req.arg("gate")
    conn.send(_CHUNKED_HEAD + _chunk(SLOW_FIRST))
    if token is not None:
        gate = server.gate(token)
        gate.first_sent.set()
        gate.opened.wait(GATE_LIMIT)
        if server.stopping:
            return False
        gate.second_sent.set()
    else:
        if not server.wait_stalls(float(req.arg("delay", "0.3"))):
            return False
    conn.send(_chunk(SLOW_SECOND) + b"0\r\n\r\n")
    return True


def _drip(server, conn, req) -> bool:
    """/drip?n=6&interval=0.15: n bytes (Content-Length), one per interval."""
    n = int(req.arg("n", "6"))
    interval = float(req.arg("interval", "0.15"))
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % n)
    for _ in range(n):
        if not server.wait_stalls(interval):
            return False
        conn.send(b"x")
    return True


def big_body(size: int) -> bytes:
    """The deterministic body of /big?size=N."""
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


def _big(server, conn, req) -> bool:
    """/big?size=N (default 4 MiB), Content-Length framed, sent in pieces."""
    size = int(req.arg("size", str(4 * 1024 * 1024)))
    body = big_body(size)
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Length: %d\r\n\r\n" % size
    )
    if req.method == "HEAD":
        return True
    view = memoryview(body)
    for start in range(0, size, 65536):
        conn.send(view[start : start + 65536].tobytes())
    return True


@functools.lru_cache(maxsize=4)
def counting_body(size: int) -> bytes:
    """The body of /counting?size=N: each 8-byte word holds its own offset
    (big-endian), so a byte out of place or from another chunk shows. Kept:
    making 32 MiB holds the GIL for a good part of a second, which a test
    timing the event loop must not count (it warms this cache first)."""
    words = array.array("Q", range(0, size + 8, 8))
    if sys.byteorder == "little":
        words.byteswap()
    return words.tobytes()[:size]


def _counting(server, conn, req) -> bool:
    size = int(req.arg("size", str(4 * 1024 * 1024)))
    trickle = min(size, int(req.arg("trickle", "0")))
    body = memoryview(counting_body(size))
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Length: %d\r\n\r\n" % size
    )
    fast = size - trickle
    for start in range(0, fast, 65536):
        conn.send(body[start : min(start + 65536, fast)].tobytes())
    for start in range(fast, size, 512):
        if not server.wait_stalls(0.002):
            return False
        conn.send(body[start : start + 512].tobytes())
    return True


def _big_chunked(server, conn, req) -> bool:
    """/big-chunked?size=N, chunked framing, 64 KiB chunks."""
    size = int(req.arg("size", str(4 * 1024 * 1024)))
    body = big_body(size)
    conn.send(_CHUNKED_HEAD)
    for start in range(0, size, 65536):
        conn.send(_chunk(body[start : start + 65536]))
    conn.send(b"0\r\n\r\n")
    return True


def _conflicting_length(server, conn, req) -> bool:
    """Two Content-Length fields that disagree (a response-splitting risk)."""
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n"
        b"Content-Length: 32\r\n\r\n-- Bad Actor -- Original Content\r\n"
    )
    return False


def _length_overflow(server, conn, req) -> bool:
    """A Content-Length no 64-bit integer holds, a short body, the end."""
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nab")
    return False


def _huge_headers(server, conn, req) -> bool:
    """A header block of about ?kib= KiB, in 1 KiB fields."""
    fields = b"".join(
        b"X-Filler-%d: %s\r\n" % (i, b"f" * 1000) for i in range(int(req.arg("kib", "1024")))
    )
    conn.send(b"HTTP/1.1 200 OK\r\n" + fields + b"Content-Length: 2\r\n\r\nok")
    return True


def _headers_cut(server, conn, req) -> bool:
    """A chunked response whose header block is cut off by the connection's end."""
    conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n")
    return False


def _ok_then_close(server, conn, req) -> bool:
    """A normal keep-alive looking response, then the server closes the
    connection anyway (as servers do with idle keep-alive connections)."""
    conn.respond(req, 200, f"{conn.conn_id}".encode())
    conn.close()
    return False


def _until_close(server, conn, req) -> bool:
    """A body framed by connection close (no Content-Length, not chunked)."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
    conn.send(head + b"read until the server closes\n")
    conn.close()
    return False


def compressed_payload(name: str) -> bytes:
    return json.dumps({"encoding": name, "filler": COMPRESSED_FILLER}).encode()


def _compress(name: str, data: bytes) -> bytes:
    if name == "gzip":
        return gzip.compress(data)
    if name == "deflate":
        return zlib.compress(data)
    if name == "deflate-raw":
        comp = zlib.compressobj(wbits=-15)
        return comp.compress(data) + comp.flush()
    if name == "br":
        return brotli.compress(data)
    if name == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    raise ValueError(name)


def _make_compressed(name: str, wire_name: str) -> Handler:
    def handler(server, conn, req) -> bool:
        body = _compress(name, compressed_payload(name))
        conn.respond(
            req,
            200,
            body,
            headers=[("Content-Encoding", wire_name), ("Vary", "Accept-Encoding")],
            content_type="application/json",
        )
        return True

    return handler


def _bad_gzip(server, conn, req) -> bool:
    body = b"\x1f\x8b\x08\x00this is definitely not a gzip stream"
    conn.respond(req, 200, body, headers=[("Content-Encoding", "gzip")])
    return True


def _multi_header(server, conn, req) -> bool:
    headers = [("X-Multi", v) for v in MULTI_VALUES]
    headers += [("Set-Cookie", "first=1; Path=/"), ("Set-Cookie", "second=2; Path=/")]
    conn.respond(req, 200, b"multi\n", headers=headers)
    return True


def _links(server, conn, req) -> bool:
    conn.respond(req, 200, b"links\n", headers=[("Link", LINK_HEADER)])
    return True


def _reason(server, conn, req) -> bool:
    conn.respond(req, 299, b"custom\n", reason="Totally Fine")
    return True


def _charset(server, conn, req) -> bool:
    """/charset?cs=iso-8859-1: CHARSET_TEXT encoded with and labelled as cs."""
    cs = req.arg("cs", "iso-8859-1")
    body = req.arg("text", CHARSET_TEXT).encode(cs)
    conn.respond(req, 200, body, content_type=f"text/plain; charset={cs}")
    return True


def _unicode_text(server, conn, req) -> bool:
    """UNICODE_TEXT in UTF-8, Content-Type from ?ct= (default text/plain, no charset)."""
    ct = req.arg("ct", "text/plain")
    conn.respond(req, 200, UNICODE_TEXT.encode("utf-8"), content_type=ct)
    return True


def _json_bad(server, conn, req) -> bool:
    conn.respond(req, 200, b'{"unterminated": ', content_type="application/json")
    return True


def _json_utf16(server, conn, req) -> bool:
    body = json.dumps({"text": "utf-16 json ✓"}).encode("utf-16")
    conn.respond(req, 200, body, content_type="application/octet-stream")
    return True


def _continue_first(server, conn, req) -> bool:
    """An unsolicited 100 Continue (with a header of its own), then the response."""
    conn.send(b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n")
    conn.respond(req, 200, b"after continue\n", headers=[("X-Final", "yes")])
    return True


def _latin1_header(server, conn, req) -> bool:
    head = (
        b"HTTP/1.1 200 OK\r\nX-Latin: caf\xe9 cr\xe8me\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"
    )
    conn.send(head)
    return True


def _mixed_case_dup(server, conn, req) -> bool:
    headers = [("x-dup", "lower"), ("X-DUP", "upper"), ("X-Dup", "title")]
    conn.respond(req, 200, b"dup\n", headers=headers)
    return True


def _cookie_expires(server, conn, req) -> bool:
    """Set-Cookie fields whose Expires attribute contains a comma."""
    headers = [
        ("Set-Cookie", "early=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/"),
        ("Set-Cookie", "late=2; Expires=Thu, 22 Oct 2037 07:28:00 GMT; Path=/"),
    ]
    conn.respond(req, 200, b"cookies\n", headers=headers)
    return True


def _no_reason(server, conn, req) -> bool:
    conn.send(b"HTTP/1.1 200 \r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")
    return True


def _http10(server, conn, req) -> bool:
    conn.send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nold ok")
    conn.close()
    return False


def _chunked_trailers(server, conn, req) -> bool:
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
        b"Trailer: X-Trailer\r\n\r\n"
        + _chunk(b"body with ")
        + _chunk(b"trailers\n")
        + b"0\r\nX-Trailer: trailing-value\r\n\r\n"
    )
    return True


def _not_modified_with_length(server, conn, req) -> bool:
    # A 304 announces the length of the representation but never has a body.
    conn.send(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 50\r\n\r\n')
    return True


def _redirect_utf8_location(server, conn, req) -> bool:
    # Location with raw UTF-8 bytes, as some servers send it.
    conn.send(b"HTTP/1.1 302 Found\r\nLocation: /echo-raw/\xc3\xbc\r\nContent-Length: 0\r\n\r\n")
    return True


def _set_cookie(server, conn, req) -> bool:
    """/set-cookie?name=value...: one Set-Cookie per query argument."""
    headers = [("Set-Cookie", f"{k}={v[0]}; Path=/") for k, v in req.query.items()]
    conn.respond(req, 200, b"cookies set\n", headers=headers)
    return True


class FaultServer(RawHTTPServer):
    """The fault server: every endpoint, selected by path."""

    routes = {
        "/": _ok,
        "/ok": _ok,
        "/json": _json,
        "/echo-raw": _echo_raw,
        "/echo-head": _echo_head,
        "/conn-id": _conn_id,
        "/redirect": _redirect,
        "/redirect-loop": _redirect_loop,
        "/cookie-redirect": _cookie_redirect,
        "/set-cookie": _set_cookie,
        "/close": _close,
        "/reset": _reset,
        "/short": _short,
        "/bad-chunk": _bad_chunk,
        "/truncated-chunk": _truncated_chunk,
        "/stall-headers": _stall_headers,
        "/stall-body": _stall_body,
        "/slow-chunks": _slow_chunks,
        "/drip": _drip,
        "/big": _big,
        "/big-chunked": _big_chunked,
        "/counting": _counting,
        "/until-close": _until_close,
        "/ok-then-close": _ok_then_close,
        "/conflicting-length": _conflicting_length,
        "/headers-cut": _headers_cut,
        "/length-overflow": _length_overflow,
        "/huge-headers": _huge_headers,
        "/gzip": _make_compressed("gzip", "gzip"),
        "/deflate": _make_compressed("deflate", "deflate"),
        "/deflate-raw": _make_compressed("deflate-raw", "deflate"),
        "/br": _make_compressed("br", "br"),
        "/zstd": _make_compressed("zstd", "zstd"),
        "/bad-gzip": _bad_gzip,
        "/multi-header": _multi_header,
        "/links": _links,
        "/reason": _reason,
        "/charset": _charset,
        "/unicode-text": _unicode_text,
        "/json-bad": _json_bad,
        "/json-utf16": _json_utf16,
        "/continue-first": _continue_first,
        "/latin1-header": _latin1_header,
        "/mixed-case-dup": _mixed_case_dup,
        "/cookie-expires": _cookie_expires,
        "/no-reason": _no_reason,
        "/http10": _http10,
        "/chunked-trailers": _chunked_trailers,
        "/not-modified-with-length": _not_modified_with_length,
        "/redirect-utf8-location": _redirect_utf8_location,
        "/fail-n-times": _fail_n_times,
        "/stale-second": _stale_second,
        "<proxy>": _proxy,
    }
    prefix_routes = {"/status/": _status, "/echo-raw/": _echo_raw}


class StalledConnectTarget:
    """A loopback address whose TCP connect() never completes.

    A listening socket with a backlog of 0 whose accept queue is filled by a
    connection that is never accepted: further SYNs are dropped by the kernel,
    so a client's connect stalls until its connect timeout.  ``works`` tells
    whether the trick was verified on this machine.
    """

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((HOST, 0))
        self._listener.listen(0)
        self.host, self.port = self._listener.getsockname()[:2]
        self._fillers = []
        self.works = False
        for _ in range(4):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.settimeout(0.3)
            try:
                probe.connect((self.host, self.port))
            except TimeoutError:
                self.works = True
                probe.close()
                break
            except OSError:
                probe.close()
                break
            self._fillers.append(probe)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        for sock in self._fillers:
            sock.close()
        self._listener.close()


def refused_port() -> int:
    """A loopback port that was bound and closed, so connecting is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
