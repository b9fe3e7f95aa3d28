"""libcurl's side of headers and the engine's result, for every face.

What goes down: a request's header fields become the lines handed to
libcurl (``"Name: value"``; ``"Name;"`` sends a field with an empty value,
``"Name:"`` removes a field libcurl would add on its own). What comes up: the
engine's result tuple, named here once, whose header block is split into
the reason phrase and the fields in order.

The engine's result (``Client.perform``, ``AsyncTransfer.take``)::

    (status, version, head, body, timings, flags)

    status   int, the final response's status code
    version  int, 10 / 11 / 20 / 30 (see HTTP_VERSIONS)
    head     bytes, the final response's header block, status line included
    body     bytes (a whole body) or the engine's stream object (stream=True)
    timings  bytes, TIMINGS-packed seconds (TIMING_NAMES)
    flags    int, FLAG_* bits
"""

from __future__ import annotations

import struct
from collections.abc import Container, Mapping
from typing import Any, AnyStr, Union

from . import _engine
from ._headers import check_header_validity

__all__ = [
    "FLAG_LENGTH_CONFLICT",
    "FLAG_SETS_COOKIE",
    "HTTP_VERSIONS",
    "RESULT_FLAGS",
    "TIMINGS",
    "TIMING_CONNECTS",
    "TIMING_NAMES",
    "TIMING_QUEUE",
    "timings_dict",
    "closing_lines",
    "forwarded_lines",
    "header_line",
    "parse_head",
    "request_lines",
]

# Positions in the engine's result (see the module docstring).
RESULT_STATUS, RESULT_VERSION, RESULT_HEAD, RESULT_BODY, RESULT_TIMINGS, RESULT_FLAGS = range(6)

# Bits of the result's flags.
FLAG_SETS_COOKIE = _engine.FLAG_SETS_COOKIE  # a Set-Cookie field arrived (on any hop)
FLAG_LENGTH_CONFLICT = _engine.FLAG_LENGTH_CONFLICT  # Content-Length fields that disagree
FLAG_RESENT = _engine.FLAG_RESENT  # libcurl sent it again: its reused connection had died

# The packed timings: seconds since the request started, per phase; then
# the wait for a connection slot (seconds) and the connections the transfer
# opened (0: it reused one).
TIMINGS = struct.Struct("8d")
TIMING_NAMES = ("namelookup", "connect", "tls", "pretransfer", "first_byte", "total")
TIMING_QUEUE, TIMING_CONNECTS = 6, 7

HTTP_VERSIONS = {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2", 30: "HTTP/3"}


# Going down ------------------------------------------------------------------


def header_line(name: Union[str, bytes], value: Union[str, bytes]) -> bytes:
    """One field as libcurl takes it; str is sent as Latin-1, or UTF-8 where
    Latin-1 cannot say it."""
    n = name if isinstance(name, bytes) else name.encode("latin-1")
    if isinstance(value, bytes):
        v = value
    else:
        try:
            v = value.encode("latin-1")
        except UnicodeEncodeError:
            v = value.encode("utf-8")
    return n + b": " + v if v else n + b";"


def closing_lines(present: Container[str], has_body: bool) -> list[bytes]:
    """The lines that stop libcurl from adding fields requests and httpx never
    send; ``present`` answers ``in`` for the lower-case names being sent."""
    lines = []
    if "accept" not in present:
        lines.append(b"Accept:")
    if has_body:
        if "expect" not in present:
            lines.append(b"Expect:")  # no "Expect: 100-continue" for large bodies
        if "content-type" not in present:
            lines.append(b"Content-Type:")
    return lines


# Header lines with the line that stops libcurl from adding "Proxy-Connection:
# Keep-Alive" to a request it forwards to an HTTP proxy, by the lines without
# it: the same lines give the same tuple (see request_lines). Only requests
# sent through a forwarding proxy carry it: libcurl checks every custom line
# on every request.
_FORWARDED: dict[tuple[bytes, ...], tuple[bytes, ...]] = {}


def forwarded_lines(lines: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """``lines`` for a request forwarded to an HTTP proxy (see above)."""
    out = _FORWARDED.get(lines)
    if out is None:
        if any(line[:17].lower() == b"proxy-connection:" for line in lines):
            out = lines  # the caller's own field is sent as it is
        else:
            out = (*lines, b"Proxy-Connection:")
        if len(_FORWARDED) >= _LINES_MAX:
            _FORWARDED.clear()
        _FORWARDED[lines] = out
    return out


# Header lines already validated and encoded, by (name, value): a request
# whose headers differ from the last one's in one field (a POST's
# Content-Length) checks only that one. Only str and bytes pairs are stored;
# emptied when full.
_LINES: dict[tuple[Any, Any], bytes] = {}
_LINES_MAX = 512


def request_lines(headers: Mapping[Any, Any], has_body: bool) -> tuple[bytes, ...]:
    """The lines for a requests-style header mapping (case-insensitive, None
    values left out), checked with requests' rules (InvalidHeader)."""
    lines = []
    known = _LINES
    for name, value in headers.items():
        if value is None:
            continue
        try:
            line = known[name, value]
        except (KeyError, TypeError):  # TypeError: an unhashable (so invalid) part
            check_header_validity(name, value)
            line = header_line(name, value)
            if len(known) >= _LINES_MAX:
                known.clear()
            known[name, value] = line
        lines.append(line)
    lines.extend(closing_lines(headers, has_body))
    return tuple(lines)


# Coming up -------------------------------------------------------------------


def timings_dict(packed: Any, attempts: int = 1, redirect: float = 0.0) -> dict[str, Any]:
    """Response.timings (and the transports' ``extensions["timings"]``) from
    the engine's packed timings: libcurl's phases in seconds since the
    transfer started, in order (a phase that did not happen, such as TLS on
    plain http, takes the time of the one before it, so that
    namelookup <= connect <= tls <= pretransfer <= first_byte <= total on a
    new connection; a reused one has 0 for the first three), ``queue`` (the
    wait for a connection slot, before the transfer started), ``redirect``
    (the time of the hops before this one), ``reused`` and ``attempts``."""
    values = TIMINGS.unpack(packed) if packed else (0.0,) * 8
    out: dict[str, Any] = {}
    previous = 0.0
    reused = values[TIMING_CONNECTS] == 0 and packed is not None
    for i, name in enumerate(TIMING_NAMES):
        value = values[i]
        if value < previous and not (reused and i < 3):
            value = previous
        out[name] = value
        if not (reused and i < 3):
            previous = value
    out["queue"] = values[TIMING_QUEUE]
    out["redirect"] = redirect
    out["reused"] = reused
    out["attempts"] = attempts
    return out


def parse_head(raw: AnyStr) -> tuple[AnyStr, list[tuple[AnyStr, AnyStr]]]:
    """(reason phrase, [(name, value), ...]) of a header block, str or bytes:
    the fields in order, repeated ones kept; a folded continuation line is
    joined to the field it continues; CRLF or bare LF line ends."""
    if isinstance(raw, bytes):
        nl, cr, sp, ws, colon = b"\n", b"\r", b" ", b" \t", b":"
    else:
        nl, cr, sp, ws, colon = "\n", "\r", " ", " \t", ":"
    lines = raw.split(nl)
    status = lines[0].rstrip(cr).split(sp, 2)
    reason = status[2].strip(ws) if len(status) > 2 else raw[:0]
    pairs: list[Any] = []
    for line in lines[1:]:
        line = line.rstrip(cr)
        if not line:
            continue
        if line[:1] in (sp, ws[1:]):  # a folded line
            if pairs:
                name, value = pairs[-1]
                pairs[-1] = (name, value + sp + line.strip(ws))
            continue
        name, sep, value = line.partition(colon)
        if sep:
            pairs.append((name.rstrip(ws), value.strip(ws)))
    return reason, pairs
