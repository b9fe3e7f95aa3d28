"""WebSocket connections: the sync face, and the handshake both faces share.

``Session.ws_connect(url)`` returns a :class:`WebSocket`; the async twin is
in ``async_websocket.py``. The engine (``_engine/ws.h``) reads and writes the
frames, reassembles fragmented messages, answers the server's pings and
hands Python whole messages, as many as are ready per call; this module keeps
the messages the engine handed over, the keepalive pings and the closing
handshake.

The upgrade request is prepared like any request of the session: its
headers, cookies, auth, proxies (always tunnelled with CONNECT) and TLS
settings apply, over those given to ``ws_connect``.
"""

from __future__ import annotations

import json as _json
import os
import struct
import time
from collections import deque
from typing import Any, Iterator, Optional, Sequence, Union

from . import _engine
from ._core.base import timeouts
from ._wire import parse_head
from .exceptions import WebSocketClosed, WebSocketError, from_transfer_error
from .structures import CaseInsensitiveDict

__all__ = ["WebSocket", "Message", "DEFAULT_MAX_SIZE"]

Message = Union[str, bytes]

# the engine's event kinds (ws.h)
TEXT, BINARY, CLOSE, PING, PONG = 1, 2, 8, 9, 10

DEFAULT_MAX_SIZE = 1024 * 1024
DEFAULT_PING_INTERVAL = 20.0
DEFAULT_PING_TIMEOUT = 20.0
DEFAULT_CLOSE_TIMEOUT = 10.0

# iteration ends quietly on these; any other close raises
NORMAL_CLOSE_CODES = (1000, 1001, 1005)

# header fields the engine writes for the upgrade itself
_OWN_FIELDS = (
    b"connection:",
    b"upgrade:",
    b"sec-websocket-",
    b"content-length:",
    b"accept-encoding:",
    b"transfer-encoding:",
)


class Handshake:
    """What the engine needs for one upgrade request, prepared by a session."""

    __slots__ = (
        "url",
        "lines",
        "settings",
        "connect_timeout",
        "open_timeout",
        "subprotocols",
        "proxy",
    )

    def __init__(
        self,
        url: str,
        lines: tuple[bytes, ...],
        settings: Any,
        connect_timeout: float,
        open_timeout: float,
        subprotocols: tuple[str, ...],
        proxy: Optional[str],
    ) -> None:
        self.url = url
        self.lines = lines
        self.settings = settings
        self.connect_timeout = connect_timeout
        self.open_timeout = open_timeout
        self.subprotocols = subprotocols
        self.proxy = proxy  # "tunnel" through a proxy, or None


def prepare_handshake(
    session: Any,
    url: str,
    *,
    subprotocols: Optional[Sequence[str]] = None,
    headers: Any = None,
    cookies: Any = None,
    auth: Any = None,
    params: Any = None,
    proxies: Any = None,
    verify: Any = None,
    cert: Any = None,
    timeout: Any = None,
    open_timeout: Optional[float] = 10.0,
) -> Handshake:
    """The upgrade request for ``url`` (ws:// or wss://) with the session's
    settings: prepared as a GET of the http(s) URL, so cookies, auth and
    proxies are chosen exactly as for one."""
    if not isinstance(url, str):
        url = url.decode("ascii") if isinstance(url, bytes) else str(url)
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    http_scheme = {"ws": "http", "wss": "https", "http": "http", "https": "https"}.get(scheme)
    if not sep or http_scheme is None:
        from .exceptions import InvalidSchema

        raise InvalidSchema(f"No connection adapters were found for {url!r} (ws:// or wss://)")
    http_url = f"{http_scheme}://{rest}"
    prep = session._prepare("GET", http_url, params, None, headers, cookies, None, auth)
    target = prep._target
    settings, proxy_kind = session._engine_settings(target.url, proxies, verify, cert)
    _, lines = session._body_and_own_lines(prep)
    kept = [line for line in lines if not line.lower().startswith(_OWN_FIELDS)]
    protocols = tuple(subprotocols or ())
    if protocols:
        kept.append(b"Sec-WebSocket-Protocol: " + ", ".join(protocols).encode("ascii"))
    ws_url = ("wss" if http_scheme == "https" else "ws") + target.url[len(http_scheme) :]
    connect, _read = timeouts(timeout)
    proxy = "tunnel" if proxy_kind else None  # an upgrade always goes through CONNECT
    return Handshake(ws_url, tuple(kept), settings, connect, open_timeout or 0.0, protocols, proxy)


def handshake_failed(conn: Any, error: BaseException, handshake: Handshake) -> Exception:
    """The exception for a failed handshake: WebSocketError when the server
    answered with something other than 101, else the connection's error."""
    status = conn.status
    if status and status != 101:
        _, pairs = parse_head(conn.head.decode("latin-1"))
        headers = CaseInsensitiveDict(pairs)
        return WebSocketError(
            f"WebSocket handshake refused: {status}", status=status, headers=headers
        )
    return from_transfer_error(error, proxy=handshake.proxy)


def accepted(conn: Any, handshake: Handshake) -> tuple[CaseInsensitiveDict[str], Optional[str]]:
    """The handshake response's headers and the subprotocol the server chose
    (one of those offered; anything else fails the connection)."""
    _, pairs = parse_head(conn.head.decode("latin-1"))
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(pairs)
    chosen = headers.get("Sec-WebSocket-Protocol")
    if chosen is not None:
        chosen = chosen.strip()
        if chosen not in handshake.subprotocols:
            conn.close()
            raise WebSocketError(
                f"the server chose subprotocol {chosen!r}, not one offered",
                status=101,
                headers=headers,
            )
    return headers, chosen


def frame_of(message: Any) -> tuple[Any, int]:
    """(payload, kind) of a message to send: str as text, bytes-like as binary."""
    if isinstance(message, str):
        return message.encode("utf-8"), TEXT
    if isinstance(message, (bytes, bytearray, memoryview)):
        return message, BINARY
    raise TypeError(f"a WebSocket message is str or bytes, not {type(message).__name__}")


# close codes an endpoint may send (RFC 6455 7.4: not 1004-1006, not 1015)
_SENDABLE_CODES = frozenset(range(1000, 1015)) - {1004, 1005, 1006}


def close_payload(code: int, reason: str) -> bytes:
    """A close frame's payload: the code, then the reason in UTF-8."""
    if code not in _SENDABLE_CODES and not 3000 <= code <= 4999:
        raise ValueError(f"{code} is not a close code an endpoint may send")
    data = struct.pack("!H", code) + reason.encode("utf-8")
    if len(data) > 125:
        raise ValueError("a close reason is at most 123 bytes of UTF-8")
    return data


def ping_payload() -> bytes:
    return os.urandom(8)


def _ms(seconds: Optional[float]) -> int:
    if seconds is None:
        return -1
    return max(0, int(seconds * 1000 + 0.999))


class WebSocket:
    """A WebSocket connection (sync). A context manager; iterating yields
    messages until the server closes normally.

    One thread should receive at a time (``recv``, ``ping``, iteration);
    another may send meanwhile. Keepalive pings are sent while ``recv`` waits.
    """

    def __init__(
        self,
        conn: Any,
        headers: CaseInsensitiveDict[str],
        subprotocol: Optional[str],
        *,
        url: str = "",
        ping_interval: Optional[float] = DEFAULT_PING_INTERVAL,
        ping_timeout: Optional[float] = DEFAULT_PING_TIMEOUT,
        close_timeout: Optional[float] = DEFAULT_CLOSE_TIMEOUT,
    ) -> None:
        self._conn = conn
        self.url = url
        self.response_headers = headers
        self.subprotocol = subprotocol
        self.close_code: Optional[int] = None
        self.close_reason: str = ""
        self._messages: deque[Message] = deque()
        self._pings: dict[bytes, float] = {}
        self._rtt: dict[bytes, float] = {}
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._close_timeout = close_timeout
        self._keepalive: Optional[bytes] = None  # the keepalive ping awaiting its pong
        self._keepalive_sent = 0.0
        self._keepalive_at = time.monotonic() + ping_interval if ping_interval else None

    # -- the context manager, iteration -------------------------------------

    def __enter__(self) -> WebSocket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[Message]:
        while True:
            try:
                yield self.recv()
            except WebSocketClosed as exc:
                if exc.code in NORMAL_CLOSE_CODES:
                    return
                raise

    def __repr__(self) -> str:
        state = "open" if self.close_code is None else f"closed {self.close_code}"
        return f"<WebSocket {self.url} [{state}]>"

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    # -- receiving -----------------------------------------------------------

    def _absorb(self, events: list[Any]) -> None:
        now = time.monotonic()
        for event in events:
            kind = event[0]
            if kind == TEXT or kind == BINARY:
                self._messages.append(event[1])
            elif kind == PONG:
                sent = self._pings.pop(event[1], None)
                if sent is not None:
                    self._rtt[event[1]] = now - sent
                if event[1] == self._keepalive and self._ping_interval:
                    self._keepalive = None
                    self._keepalive_at = self._keepalive_sent + self._ping_interval
            elif kind == CLOSE:
                self._closed(event[1], event[2])

    def _closed(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._conn.close()

    def _raise_closed(self) -> None:
        raise WebSocketClosed(self.close_code or 1006, self.close_reason)

    def _wait(self, deadline: Optional[float]) -> None:
        """One call into the engine: until an event, the deadline, or the
        keepalive's next step."""
        now = time.monotonic()
        until = deadline
        if self._keepalive_at is not None and (until is None or self._keepalive_at < until):
            until = self._keepalive_at
        self._absorb(self._conn.recv(_ms(None if until is None else max(0.0, until - now))))
        if self.close_code is None and self._keepalive_at is not None:
            self._keepalive_step()

    def _keepalive_step(self) -> None:
        """Every ping_interval a ping; a pong due within ping_timeout, else
        the connection is failed with 1011."""
        now = time.monotonic()
        assert self._keepalive_at is not None and self._ping_interval
        if now < self._keepalive_at:
            return
        if self._keepalive is not None:  # the last keepalive ping is unanswered
            self._fail(1011, "keepalive ping timeout")
            return
        payload = ping_payload()
        self._send_frame(payload, PING)
        self._keepalive_sent = now
        if self._ping_timeout:
            self._keepalive = payload
            self._keepalive_at = now + self._ping_timeout
        else:
            self._keepalive_at = now + self._ping_interval

    def _fail(self, code: int, reason: str) -> None:
        """Close for a reason of ours, without waiting for the peer."""
        try:
            self._conn.send(close_payload(code, reason), CLOSE, _ms(self._close_timeout))
        except _engine.TransferError:
            pass
        self._closed(code, reason)

    def recv(self, timeout: Optional[float] = None) -> Message:
        """The next message: str for text, bytes for binary. ``timeout``:
        seconds to wait (None: forever), then TimeoutError (the connection
        stays open). Raises WebSocketClosed once the connection is closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._messages:
            if self.close_code is not None:
                self._raise_closed()
            self._wait(deadline)
            if not self._messages and deadline is not None and time.monotonic() >= deadline:
                if self.close_code is not None:
                    self._raise_closed()
                raise TimeoutError("no WebSocket message within the timeout")
        return self._messages.popleft()

    def recv_json(self, timeout: Optional[float] = None, **kwargs: Any) -> Any:
        """The next message, decoded as JSON."""
        return _json.loads(self.recv(timeout), **kwargs)

    # -- sending -------------------------------------------------------------

    def _send_frame(self, payload: Any, kind: int) -> None:
        if self.close_code is not None:
            self._raise_closed()
        try:
            self._conn.send(payload, kind, -1)
        except _engine.TransferError:
            self._closed(1006, "")
            self._raise_closed()

    def send(self, message: Message) -> None:
        """Send a message: str as text, bytes as binary. Returns once the
        socket took the whole message (it waits while the socket is full)."""
        payload, kind = frame_of(message)
        self._send_frame(payload, kind)

    def send_json(self, obj: Any, **kwargs: Any) -> None:
        """Send ``obj`` as a JSON text message."""
        self.send(_json.dumps(obj, **kwargs))

    def ping(self, timeout: Optional[float] = None) -> float:
        """Send a ping and wait for its pong; the round trip in seconds.
        Messages that arrive meanwhile are kept for recv()."""
        payload = ping_payload()
        self._pings[payload] = time.monotonic()
        self._send_frame(payload, PING)
        wait = timeout if timeout is not None else self._ping_timeout
        deadline = None if wait is None else time.monotonic() + wait
        while payload not in self._rtt:
            if self.close_code is not None:
                self._pings.pop(payload, None)
                self._raise_closed()
            if deadline is not None and time.monotonic() >= deadline:
                self._pings.pop(payload, None)
                raise TimeoutError("no pong within the timeout")
            self._wait(deadline)
        return self._rtt.pop(payload)

    # -- closing -------------------------------------------------------------

    def close(self, code: int = 1000, reason: str = "") -> None:
        """The closing handshake: send a close frame, wait up to
        close_timeout for the server's, then close the connection."""
        if self.close_code is not None:
            return
        payload = close_payload(code, reason)
        try:
            self._conn.send(payload, CLOSE, _ms(self._close_timeout))
        except _engine.TransferError:
            self._closed(1006, "")
            return
        deadline = None if self._close_timeout is None else time.monotonic() + self._close_timeout
        while self.close_code is None:
            if deadline is not None and time.monotonic() >= deadline:
                break
            events = self._conn.recv(
                _ms(None if deadline is None else max(0.0, deadline - time.monotonic()))
            )
            for event in events:
                if event[0] == CLOSE:
                    self._closed(event[1], event[2])
        if self.close_code is None:
            self._closed(code, reason)


def connect(
    session: Any,
    url: str,
    *,
    subprotocols: Optional[Sequence[str]] = None,
    headers: Any = None,
    cookies: Any = None,
    auth: Any = None,
    params: Any = None,
    proxies: Any = None,
    verify: Any = None,
    cert: Any = None,
    timeout: Any = None,
    max_size: Optional[int] = DEFAULT_MAX_SIZE,
    ping_interval: Optional[float] = DEFAULT_PING_INTERVAL,
    ping_timeout: Optional[float] = DEFAULT_PING_TIMEOUT,
    open_timeout: Optional[float] = 10.0,
    close_timeout: Optional[float] = DEFAULT_CLOSE_TIMEOUT,
) -> WebSocket:
    """Session.ws_connect(): the handshake, then the open WebSocket."""
    handshake = prepare_handshake(
        session,
        url,
        subprotocols=subprotocols,
        headers=headers,
        cookies=cookies,
        auth=auth,
        params=params,
        proxies=proxies,
        verify=verify,
        cert=cert,
        timeout=timeout,
        open_timeout=open_timeout,
    )
    conn = _engine.WebSocket(max_size=max_size or (1 << 62))
    try:
        conn.connect(
            handshake.url,
            handshake.lines,
            handshake.settings,
            handshake.connect_timeout,
            handshake.open_timeout,
        )
    except _engine.TransferError as error:
        raise handshake_failed(conn, error, handshake) from None
    response_headers, chosen = accepted(conn, handshake)
    return WebSocket(
        conn,
        response_headers,
        chosen,
        url=handshake.url,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        close_timeout=close_timeout,
    )
