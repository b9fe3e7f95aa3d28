"""A small threaded forward proxy on loopback, for the proxy tests.

One listening socket on 127.0.0.1 (ephemeral port) speaks every protocol; the
first byte of a connection selects it:

* ``0x05``: SOCKS5 (RFC 1928), command CONNECT, address types IPv4, domain name
  and IPv6, methods "no authentication" and username/password (RFC 1929);
* ``0x04``: SOCKS4 CONNECT, and SOCKS4a (a domain name after the user id);
* anything else: HTTP/1.x, either forward proxying of an absolute-form request
  (``GET http://host:port/path HTTP/1.1``), relayed to the origin in origin form
  with ``Connection: close`` (the response is relayed as it comes, with its
  connection fields replaced by ``Connection: close``), or ``CONNECT host:port``
  tunnelling (``200 Connection established``, then bytes both ways).

``credentials=(user, password)`` makes the proxy require them: HTTP requests
without a matching ``Proxy-Authorization: Basic ...`` get ``407`` with
``Proxy-Authenticate: Basic realm="requestx-proxy"``; SOCKS5 clients must use
the username/password method (SOCKS4 is not authenticated).  Without
credentials, a SOCKS5 client offering only username/password is accepted with
any name and password (which are recorded).

Target names are resolved by the proxy itself, never through DNS, so that
nothing leaves the machine: ``hosts`` maps names (or addresses) to an IPv4
address; otherwise ``localhost``, ``*.localhost``, ``127.*`` and ``::1`` go to
127.0.0.1 (on the port the client asked for) and every other target is
unreachable (HTTP 502, SOCKS5 reply 4, SOCKS4 reply 0x5B).

Every proxied request is recorded (``ProxyServer.records``, a list of
``ProxyRecord``): its kind (``http``, ``connect``, ``socks5``, ``socks4``,
``socks4a``), the target exactly as the client gave it (host and port; for SOCKS
also the address type, which tells socks5, where the client resolved the name,
from socks5h, where the name itself is sent), the credentials offered, whether
they were accepted, and what the proxy answered.

``mode`` makes the proxy fail on purpose (it may be changed while running):

  ``normal``            proxy as described above
  ``close``             close every accepted connection at once, reading nothing
  ``close-on-connect``  read a CONNECT request (or a SOCKS request), record it,
                        close without answering
  ``refuse-connect``    answer CONNECT with ``403 Forbidden``
  ``socks-reject``      answer SOCKS requests with "connection not allowed"
                        (SOCKS5 reply 2, SOCKS4 0x5B)

``stop()`` (or leaving the ``with`` block) closes the listening socket and every
open connection and joins the threads.
"""

from __future__ import annotations

import base64
import ipaddress
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import quote, urlsplit

HOST = "127.0.0.1"
POLL = 0.05
IO_TIMEOUT = 10.0  # a client silent this long during a handshake is dropped
IDLE_LIMIT = 30.0  # a relay with no traffic either way this long is closed
MAX_HEAD = 64 * 1024
REALM = "requestx-proxy"

MODES = ("normal", "close", "close-on-connect", "refuse-connect", "socks-reject")

# Hop-by-hop fields the proxy does not pass on (RFC 9110 section 7.6.1).
_REQUEST_HOP_FIELDS = {"proxy-authorization", "proxy-connection", "connection", "keep-alive"}
_RESPONSE_HOP_FIELDS = {"proxy-connection", "connection", "keep-alive"}

# SOCKS5 constants (RFC 1928, RFC 1929)
SOCKS5_NO_AUTH = 0x00
SOCKS5_USERPASS = 0x02
SOCKS5_NO_ACCEPTABLE = 0xFF
SOCKS5_ATYP = {0x01: "ipv4", 0x03: "domain", 0x04: "ipv6"}
SOCKS5_SUCCEEDED = 0x00
SOCKS5_NOT_ALLOWED = 0x02
SOCKS5_HOST_UNREACHABLE = 0x04
SOCKS5_REFUSED = 0x05
SOCKS5_COMMAND_NOT_SUPPORTED = 0x07
SOCKS5_ATYP_NOT_SUPPORTED = 0x08
SOCKS4_GRANTED = 0x5A
SOCKS4_REJECTED = 0x5B


class _Drop(Exception):
    """Stop serving this connection (peer gone, protocol error, or on purpose)."""


@dataclass
class ProxyRecord:
    """One request the proxy received."""

    kind: str  # "http", "connect", "socks5", "socks4" or "socks4a"
    host: str = ""  # target host as the client gave it (brackets removed)
    port: int = 0
    address_type: str = ""  # "ipv4", "ipv6" or "domain"
    username: Optional[str] = None
    password: Optional[str] = None
    authorized: bool = True
    # HTTP status the proxy or the origin answered (http, connect), or the
    # SOCKS reply code; None when the proxy closed without answering.
    reply: Optional[int] = None
    request_line: str = ""  # http and connect
    headers: list = field(default_factory=list)  # (name, value) as received
    methods: tuple = ()  # SOCKS5: the authentication methods offered

    @property
    def target(self) -> str:
        """host:port, with an IPv6 address in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def header(self, name: str) -> Optional[str]:
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None


def _address_type(host: str) -> str:
    try:
        return "ipv6" if ipaddress.ip_address(host).version == 6 else "ipv4"
    except ValueError:
        return "domain"


def _split_host_port(text: str, default_port: int) -> tuple:
    """'host:port', '[v6]:port' or 'host' -> (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host:
        raise _Drop("no host")
    try:
        return host, int(port) if port else default_port
    except ValueError as exc:
        raise _Drop("bad port") from exc


def _basic_credentials(value: Optional[str]) -> tuple:
    if not value:
        return None, None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("latin-1")
    except (ValueError, UnicodeDecodeError):
        return None, None
    user, _, password = decoded.partition(":")
    return user, password


class _ResponseHeadRewriter:
    """Passes an origin's response through, replacing the connection fields of
    the final (non-1xx) head with ``Connection: close``."""

    def __init__(self, record: ProxyRecord) -> None:
        self.record = record
        self.buf = b""
        self.done = False

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return data
        self.buf += data
        out = b""
        while not self.done:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    raise _Drop("response head too long")
                return out
            head, self.buf = self.buf[: end + 4], self.buf[end + 4 :]
            lines = head[:-4].split(b"\r\n")
            try:
                status = int(lines[0].split()[1])
            except (IndexError, ValueError):
                status = 0
            if 100 <= status < 200 and status != 101:
                out += head
                continue
            self.record.reply = status
            kept = [
                line
                for line in lines[1:]
                if line.split(b":", 1)[0].strip().lower().decode("latin-1")
                not in _RESPONSE_HOP_FIELDS
            ]
            out += b"\r\n".join([lines[0], *kept, b"Connection: close"]) + b"\r\n\r\n"
            out += self.buf
            self.buf = b""
            self.done = True
        return out

    def flush(self) -> bytes:
        data, self.buf = self.buf, b""
        return data


class ProxyServer:
    """HTTP, CONNECT, SOCKS5 and SOCKS4(a) proxy on 127.0.0.1:<ephemeral>."""

    def __init__(
        self,
        credentials: Optional[tuple] = None,
        hosts: Optional[dict] = None,
        mode: str = "normal",
    ) -> None:
        self.credentials = credentials
        self.hosts = {k.lower(): v for k, v in (hosts or {}).items()}
        self.mode = mode
        self.records: list = []
        self.handler_errors: list = []
        self.connections_accepted = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list = []
        self._open: set = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, 0))
        self._listener.listen(64)
        self.host = HOST
        self.port = self._listener.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)

    # -- addresses -----------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def proxy_url(
        self, scheme: str = "http", username: Optional[str] = None, password: Optional[str] = None
    ) -> str:
        """e.g. proxy_url("socks5h", "user", "p@ss") -> socks5h://user:p%40ss@127.0.0.1:port"""
        userinfo = ""
        if username is not None:
            userinfo = quote(username, safe="")
            if password is not None:
                userinfo += ":" + quote(password, safe="")
            userinfo += "@"
        return f"{scheme}://{userinfo}{HOST}:{self.port}"

    def authed_url(self, scheme: str = "http") -> str:
        """The proxy URL carrying the configured credentials."""
        assert self.credentials is not None
        return self.proxy_url(scheme, *self.credentials)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> ProxyServer:
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._accept_thread.join(5)
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            sockets = list(self._open)
            threads = list(self._threads)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(5)

    def __enter__(self) -> ProxyServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- records ---------------------------------------------------------------------
    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def of_kind(self, kind: str) -> list:
        with self._lock:
            return [r for r in self.records if r.kind == kind]

    def _record(self, record: ProxyRecord) -> ProxyRecord:
        with self._lock:
            self.records.append(record)
        return record

    # -- serving -------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            readable, _, _ = select.select([self._listener], [], [], POLL)
            if not readable:
                continue
            try:
                client, _ = self._listener.accept()
            except OSError:
                continue
            with self._lock:
                self.connections_accepted += 1
                self._open.add(client)
                thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        upstream: list = []
        try:
            if self.mode == "close":
                return
            client.settimeout(IO_TIMEOUT)
            first = client.recv(1, socket.MSG_PEEK)
            if not first:
                return
            if first[0] == 5:
                self._socks5(client, upstream)
            elif first[0] == 4:
                self._socks4(client, upstream)
            else:
                self._http(client, upstream)
        except (_Drop, OSError):
            pass
        except Exception as exc:  # a bug in the proxy: make the test fail
            self.handler_errors.append(repr(exc))
        finally:
            for sock in [client, *upstream]:
                try:
                    sock.close()
                except OSError:
                    pass
            with self._lock:
                self._open.difference_update([client, *upstream])

    # -- helpers -------------------------------------------------------------------------
    def _recv_exact(self, sock: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            if self._stopping.is_set():
                raise _Drop("stopping")
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise _Drop("eof")
            data += chunk
        return data

    def _resolve(self, host: str) -> Optional[str]:
        name = host.lower().rstrip(".")
        if name in self.hosts:
            return self.hosts[name]
        if name == "localhost" or name.endswith(".localhost") or name == "::1":
            return HOST
        if name.startswith("127.") and _address_type(name) == "ipv4":
            return HOST
        return None

    def _connect_upstream(self, host: str, port: int, upstream: list) -> Optional[socket.socket]:
        """A connection to the target, or None when it is unreachable or refused."""
        address = self._resolve(host)
        if address is None:
            return None
        try:
            sock = socket.create_connection((address, port), timeout=IO_TIMEOUT)
        except OSError:
            return None
        upstream.append(sock)
        with self._lock:
            self._open.add(sock)
        return sock

    def _relay(self, client: socket.socket, upstream: socket.socket, rewriter=None) -> None:
        """Bytes both ways until the upstream side closes (or nothing moves for
        IDLE_LIMIT seconds).  The client's end of file is passed on as a
        half-close."""
        client.settimeout(IO_TIMEOUT)
        upstream.settimeout(IO_TIMEOUT)
        open_ends = [client, upstream]
        last = time.monotonic()
        while not self._stopping.is_set():
            readable, _, _ = select.select(open_ends, [], [], POLL)
            if not readable:
                if time.monotonic() - last > IDLE_LIMIT:
                    return
                continue
            last = time.monotonic()
            for sock in readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if sock is upstream:
                    if rewriter is not None:
                        data = rewriter.feed(data) if data else rewriter.flush()
                    if not data:
                        return  # the origin (or the tunnel's far end) is done
                    client.sendall(data)
                    continue
                if not data:
                    open_ends.remove(client)
                    try:
                        upstream.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                upstream.sendall(data)

    # -- HTTP: forward proxying and CONNECT ------------------------------------------
    def _read_head(self, sock: socket.socket) -> tuple:
        buf = b""
        while b"\r\n\r\n" not in buf:
            if len(buf) > MAX_HEAD or self._stopping.is_set():
                raise _Drop("head too long")
            chunk = sock.recv(65536)
            if not chunk:
                raise _Drop("eof in head")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name, value.strip(" \t")))
        return lines[0], headers, rest

    @staticmethod
    def _answer(sock: socket.socket, status: int, reason: str, headers=(), body=b"") -> None:
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{name}: {value}" for name, value in headers]
        lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
        sock.sendall("\r\n".join(lines).encode("latin-1") + body)

    def _http(self, client: socket.socket, upstream: list) -> None:
        request_line, headers, rest = self._read_head(client)
        try:
            method, target, version = request_line.split(" ", 2)
        except ValueError:
            self._answer(client, 400, "Bad Request", body=b"bad request line\n")
            return
        record = ProxyRecord(kind="connect" if method == "CONNECT" else "http")
        record.request_line = request_line
        record.headers = headers
        if method == "CONNECT":
            record.host, record.port = _split_host_port(target, 443)
        else:
            parts = urlsplit(target)
            if parts.scheme.lower() != "http" or not parts.hostname:
                self._record(record)
                record.reply = 400
                self._answer(client, 400, "Bad Request", body=b"not a proxy request\n")
                return
            record.host, record.port = _split_host_port(parts.netloc.rpartition("@")[2], 80)
        record.address_type = _address_type(record.host)
        record.username, record.password = _basic_credentials(record.header("Proxy-Authorization"))
        if self.credentials is not None:
            record.authorized = (record.username, record.password) == tuple(self.credentials)
        self._record(record)

        if not record.authorized:
            record.reply = 407
            self._answer(
                client,
                407,
                "Proxy Authentication Required",
                [("Proxy-Authenticate", f'Basic realm="{REALM}"'), ("Content-Type", "text/plain")],
                b"proxy authentication required\n",
            )
            return
        if method == "CONNECT":
            self._connect(client, record, rest, upstream)
            return

        origin = self._connect_upstream(record.host, record.port, upstream)
        if origin is None:
            record.reply = 502
            self._answer(client, 502, "Bad Gateway", body=b"target unreachable\n")
            return
        parts = urlsplit(target)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        forwarded = [f"{method} {path} {version}"]
        forwarded += [
            f"{name}: {value}"
            for name, value in headers
            if name.strip().lower() not in _REQUEST_HOP_FIELDS
        ]
        forwarded += ["Connection: close", "", ""]
        origin.sendall("\r\n".join(forwarded).encode("latin-1") + rest)
        self._relay(client, origin, _ResponseHeadRewriter(record))

    def _connect(self, client: socket.socket, record: ProxyRecord, rest: bytes, upstream) -> None:
        if self.mode == "close-on-connect":
            return
        if self.mode == "refuse-connect":
            record.reply = 403
            self._answer(client, 403, "Forbidden", body=b"CONNECT refused by policy\n")
            return
        origin = self._connect_upstream(record.host, record.port, upstream)
        if origin is None:
            record.reply = 502
            self._answer(client, 502, "Bad Gateway", body=b"target unreachable\n")
            return
        record.reply = 200
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            origin.sendall(rest)
        self._relay(client, origin)

    # -- SOCKS -----------------------------------------------------------------------------
    def _socks5(self, client: socket.socket, upstream: list) -> None:
        _version, count = self._recv_exact(client, 2)
        methods = tuple(self._recv_exact(client, count))
        # recorded before any reply, so that a test that has seen the reply
        # also sees the record
        record = self._record(ProxyRecord(kind="socks5", methods=methods))
        if self.credentials is not None:
            method = SOCKS5_USERPASS if SOCKS5_USERPASS in methods else SOCKS5_NO_ACCEPTABLE
        elif SOCKS5_NO_AUTH in methods:
            method = SOCKS5_NO_AUTH
        elif SOCKS5_USERPASS in methods:
            method = SOCKS5_USERPASS
        else:
            method = SOCKS5_NO_ACCEPTABLE
        if method == SOCKS5_NO_ACCEPTABLE:
            record.authorized = False
        client.sendall(bytes([5, method]))
        if method == SOCKS5_NO_ACCEPTABLE:
            return
        if method == SOCKS5_USERPASS:
            _subversion, length = self._recv_exact(client, 2)
            username = self._recv_exact(client, length).decode("latin-1")
            (length,) = self._recv_exact(client, 1)
            password = self._recv_exact(client, length).decode("latin-1")
            record.username, record.password = username, password
            if self.credentials is not None:
                record.authorized = (username, password) == tuple(self.credentials)
            client.sendall(bytes([1, 0 if record.authorized else 1]))
            if not record.authorized:
                return

        _version, command, _reserved, atyp = self._recv_exact(client, 4)
        record.address_type = SOCKS5_ATYP.get(atyp, f"unknown-{atyp}")
        if atyp == 0x01:
            record.host = socket.inet_ntop(socket.AF_INET, self._recv_exact(client, 4))
        elif atyp == 0x04:
            record.host = socket.inet_ntop(socket.AF_INET6, self._recv_exact(client, 16))
        elif atyp == 0x03:
            (length,) = self._recv_exact(client, 1)
            record.host = self._recv_exact(client, length).decode("latin-1")
        else:
            self._socks5_reply(client, record, SOCKS5_ATYP_NOT_SUPPORTED)
            return
        record.port = int.from_bytes(self._recv_exact(client, 2), "big")
        if command != 0x01:
            self._socks5_reply(client, record, SOCKS5_COMMAND_NOT_SUPPORTED)
        elif self.mode == "close-on-connect":
            return
        elif self.mode == "socks-reject":
            self._socks5_reply(client, record, SOCKS5_NOT_ALLOWED)
        elif self._resolve(record.host) is None:
            self._socks5_reply(client, record, SOCKS5_HOST_UNREACHABLE)
        else:
            origin = self._connect_upstream(record.host, record.port, upstream)
            if origin is None:
                self._socks5_reply(client, record, SOCKS5_REFUSED)
                return
            self._socks5_reply(client, record, SOCKS5_SUCCEEDED, origin.getsockname())
            self._relay(client, origin)

    @staticmethod
    def _socks5_reply(client, record: ProxyRecord, code: int, bound=("0.0.0.0", 0)) -> None:
        record.reply = code
        address = socket.inet_pton(socket.AF_INET, bound[0])
        client.sendall(bytes([5, code, 0, 0x01]) + address + bound[1].to_bytes(2, "big"))

    def _read_cstring(self, sock: socket.socket, limit: int = 1024) -> str:
        data = b""
        while True:
            byte = self._recv_exact(sock, 1)
            if byte == b"\0":
                return data.decode("latin-1")
            data += byte
            if len(data) > limit:
                raise _Drop("string too long")

    def _socks4(self, client: socket.socket, upstream: list) -> None:
        head = self._recv_exact(client, 8)
        command = head[1]
        port = int.from_bytes(head[2:4], "big")
        ip = socket.inet_ntop(socket.AF_INET, head[4:8])
        user = self._read_cstring(client)
        record = ProxyRecord(kind="socks4", port=port, username=user)
        if head[4:7] == b"\0\0\0" and head[7] != 0:  # SOCKS4a: a name follows
            record.kind = "socks4a"
            record.host = self._read_cstring(client)
        else:
            record.host = ip
        record.address_type = _address_type(record.host)
        self._record(record)
        if self.mode == "close-on-connect":
            return
        origin = None
        if command == 0x01 and self.mode != "socks-reject":
            origin = self._connect_upstream(record.host, record.port, upstream)
        if origin is None:
            record.reply = SOCKS4_REJECTED
            client.sendall(bytes([0, SOCKS4_REJECTED]) + bytes(6))
            return
        record.reply = SOCKS4_GRANTED
        bound_ip, bound_port = origin.getsockname()[:2]
        client.sendall(
            bytes([0, SOCKS4_GRANTED])
            + bound_port.to_bytes(2, "big")
            + socket.inet_pton(socket.AF_INET, bound_ip)
        )
        self._relay(client, origin)
