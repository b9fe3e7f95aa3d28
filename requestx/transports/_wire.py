"""An httpx request as the engine sends it, and the engine's answer as httpx
response parts.

The wire carries exactly httpx's headers, in httpx's order, Host included:
the header lines handed to libcurl also remove what libcurl would add by
itself (``Accept: */*``; ``Expect: 100-continue`` and a form Content-Type
for bodies). With ``decode`` off in the settings, libcurl neither asks for an
encoding nor undoes one: httpx sees the body as the server sent it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Optional

from .._headers import check_method
from .._wire import FLAG_LENGTH_CONFLICT, closing_lines, header_line, parse_head, timings_dict
from .._wire import HTTP_VERSIONS as _VERSION_NAMES
from ._errors import transport_error
from ._package import HttpxPackage, package_of

__all__ = ["Timings", "outgoing", "incoming", "engine_url", "header_lines", "set_attempts"]

# The engine's version numbers as httpx's "http_version" extension.
HTTP_VERSIONS = {number: name.encode("ascii") for number, name in _VERSION_NAMES.items()}


# Methods already found sendable (a space or control character in one would
# write its own request line: _headers.check_method).
_CHECKED_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


def outgoing(request: Any) -> tuple[Any, ...]:
    """Everything the engine needs of an httpx request, as
    (package, url, origin, body, streamed length, header lines, connect, read, pool):
    body is bytes or None; the streamed length is None when the body is not
    streamed (request.stream), else its Content-Length or -1 (chunked); the
    timeouts are seconds, 0 (connect, read) or None (pool) for no limit."""
    package = package_of(request)
    method = request.method
    if method not in _CHECKED_METHODS:
        try:
            check_method(method)
        except ValueError:
            # httpx's own transport says the same (h11)
            raise transport_error(
                package, "LocalProtocolError", "Illegal method characters", request
            ) from None
        if len(_CHECKED_METHODS) < _CACHE_LIMIT:
            _CHECKED_METHODS.add(method)
    url, origin = engine_url(package, request)
    length = None
    try:
        body = request.content or None
    except package.RequestNotRead:  # streamed
        body = None
        declared = request.headers.get("Content-Length")
        length = int(declared) if declared else -1
    lines = header_lines(
        package, request, request.headers.raw, body is not None or length is not None
    )
    timeout = request.extensions.get("timeout")
    if not timeout:
        return package, url, origin, body, length, lines, 0.0, 0.0, None
    connect = timeout.get("connect") or 0.0
    read = timeout.get("read") or 0.0
    return package, url, origin, body, length, lines, connect, read, timeout.get("pool")


def incoming(package: HttpxPackage, request: Any, result: tuple[Any, ...], stream: Any) -> Any:
    """The package's Response for the engine's ``result``, its body ``stream``."""
    status, version, raw_head, _, timings, flags = result
    if flags & FLAG_LENGTH_CONFLICT:
        stream.discard()
        raise transport_error(
            package, "RemoteProtocolError", "conflicting Content-Length headers", request
        )
    reason, headers = parse_head(raw_head)
    extensions: dict[str, Any] = {
        "http_version": HTTP_VERSIONS.get(version, b"HTTP/1.1"),
        "timings": Timings(timings),
    }
    if version < 20:
        extensions["reason_phrase"] = reason  # HTTP/2 has none
    return package.Response(status, headers=headers, stream=stream, extensions=extensions)


class Timings(Mapping[str, Any]):
    """``response.extensions["timings"]``: Response.timings' keys and values
    (_wire.timings_dict), unpacked when first read."""

    __slots__ = ("_packed", "_values", "attempts")

    def __init__(self, packed: bytes) -> None:
        self._packed = packed
        self._values: Optional[dict[str, Any]] = None
        self.attempts = 1

    def _dict(self) -> dict[str, Any]:
        if self._values is None:
            self._values = timings_dict(self._packed, self.attempts)
        return self._values

    def __getitem__(self, key: str) -> Any:
        return self._dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __repr__(self) -> str:
        return repr(self._dict())


def set_attempts(response: Any, count: int) -> None:
    """The retry loop sent ``count`` attempts for ``response``."""
    timings = response.extensions.get("timings")
    if count > 1 and isinstance(timings, Timings):
        timings.attempts = count
        timings._values = None


_origins: dict[tuple[bytes, bytes, Optional[int]], tuple[str, str]] = {}
_lines: dict[tuple[Any, ...], tuple[bytes, ...]] = {}
_CACHE_LIMIT = 512  # distinct origins or header sets remembered


def engine_url(package: HttpxPackage, request: Any) -> tuple[str, str]:
    """(URL for libcurl, "scheme://host:port" origin) of ``request``: the URL
    without its userinfo (httpx turns that into an Authorization header, and
    libcurl must not use it on its own) and without a fragment."""
    url = request.url
    key = (url.raw_scheme, url.raw_host, url.port)
    origin = _origins.get(key)
    if origin is None:
        origin = _origin(package, request, *key)
    return origin[0] + url.raw_path.decode("ascii"), origin[1]


def _origin(
    package: HttpxPackage, request: Any, scheme: bytes, host: bytes, port: Optional[int]
) -> tuple[str, str]:
    if scheme not in (b"http", b"https"):
        if not scheme:
            message = "Request URL is missing an 'http://' or 'https://' protocol."
        else:
            message = f"Request URL has an unsupported protocol '{scheme.decode('ascii')}://'."
        raise transport_error(package, "UnsupportedProtocol", message, request)
    if not host:
        raise transport_error(package, "LocalProtocolError", "Missing host in URL", request)
    name = host.decode("ascii")
    if ":" in name:
        name = f"[{name}]"  # an IPv6 literal
    default_port = 443 if scheme == b"https" else 80
    prefix = f"{scheme.decode('ascii')}://{name}"
    result = (prefix + (f":{port}" if port else ""), f"{prefix}:{port or default_port}")
    if len(_origins) >= _CACHE_LIMIT:
        _origins.clear()
    _origins[(scheme, host, port)] = result
    return result


def header_lines(
    package: HttpxPackage, request: Any, raw: list[tuple[bytes, bytes]], has_body: bool
) -> tuple[bytes, ...]:
    """libcurl's header lines for httpx's raw headers. The same header set
    gives the same tuple object, which lets the sync engine reuse the header
    list it built for it."""
    key = (has_body, *raw)
    lines = _lines.get(key)
    if lines is None:
        lines = _build_lines(package, request, raw, has_body)
        if len(_lines) >= _CACHE_LIMIT:
            _lines.clear()
        _lines[key] = lines
    return lines


def _build_lines(
    package: HttpxPackage, request: Any, raw: list[tuple[bytes, bytes]], has_body: bool
) -> tuple[bytes, ...]:
    lines = []
    names = set()
    for name, value in raw:
        if b"\r" in value or b"\n" in value or b"\0" in value:
            raise transport_error(package, "LocalProtocolError", "Illegal header value", request)
        if not name or b":" in name or b"\r" in name or b"\n" in name or b" " in name:
            raise transport_error(package, "LocalProtocolError", "Illegal header name", request)
        lines.append(header_line(name, value))
        names.add(name.decode("latin-1").lower())
    lines.extend(closing_lines(names, has_body))
    return tuple(lines)
