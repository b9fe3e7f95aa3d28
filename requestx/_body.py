"""Request bodies: form data, JSON and multipart, encoded as requests does."""

from __future__ import annotations

import io
import json as _json
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Optional

from ._url import encode_params, to_key_val_list
from .exceptions import InvalidJSONError, UnrewindableBodyError

__all__ = [
    "encode_body",
    "encode_multipart",
    "guess_filename",
    "is_stream",
    "rewind",
    "stream_chunks",
    "stream_length",
]


def guess_filename(obj: Any) -> Optional[str]:
    """The base name of a file object's ``name``, if it has a usable one."""
    name = getattr(obj, "name", None)
    if name and isinstance(name, (str, bytes)) and name[0] != "<" and name[-1] != ">":
        base = os.path.basename(name)
        return base.decode("utf-8") if isinstance(base, bytes) else base
    return None


_PARAM_ESCAPES = str.maketrans({"\n": "%0A", "\r": "%0D", '"': "%22"})


def _quote_param(value: str) -> str:
    """Escape a Content-Disposition parameter as browsers and urllib3 2 do."""
    return value.translate(_PARAM_ESCAPES)


def _part(
    boundary: bytes,
    name: str,
    data: bytes,
    filename: Optional[str] = None,
    content_type: Optional[str] = None,
    headers: Optional[Mapping[str, str]] = None,
) -> bytes:
    disposition = f'form-data; name="{_quote_param(name)}"'
    if filename is not None:
        disposition += f'; filename="{_quote_param(filename)}"'
    lines = [f"Content-Disposition: {disposition}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    for key, value in (headers or {}).items():
        if key.lower() not in ("content-disposition", "content-type") and value:
            lines.append(f"{key}: {value}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return b"--" + boundary + b"\r\n" + head + data + b"\r\n"


def encode_multipart(files: Any, data: Any) -> tuple[bytes, str]:
    """Build a multipart/form-data body from ``files=`` and ``data=``."""
    if not files:
        raise ValueError("Files must be provided.")
    if isinstance(data, (str, bytes)):
        raise ValueError("Data must not be a string.")
    boundary = os.urandom(16).hex().encode("ascii")
    parts: list[bytes] = []
    for field, values in to_key_val_list(data or {}):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        for value in values:
            if value is None:
                continue
            if not isinstance(value, bytes):
                value = str(value).encode("utf-8")
            name = field.decode("utf-8") if isinstance(field, bytes) else str(field)
            parts.append(_part(boundary, name, value))
    for field, spec in to_key_val_list(files):
        content_type = headers = None
        if isinstance(spec, (tuple, list)):
            if len(spec) == 2:
                filename, fileobj = spec
            elif len(spec) == 3:
                filename, fileobj, content_type = spec
            else:
                filename, fileobj, content_type, headers = spec
        else:
            filename = guess_filename(spec) or field
            fileobj = spec
        if fileobj is None:
            continue
        if isinstance(fileobj, (str, bytes, bytearray)):
            payload = fileobj
        elif hasattr(fileobj, "read"):
            payload = fileobj.read()
        else:
            payload = fileobj
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        name = field.decode("utf-8") if isinstance(field, bytes) else str(field)
        parts.append(_part(boundary, name, bytes(payload), filename, content_type, headers))
    parts.append(b"--" + boundary + b"--\r\n")
    return b"".join(parts), "multipart/form-data; boundary=" + boundary.decode("ascii")


_BLOCK = 64 * 1024  # how much of a file object is read at a time


def is_stream(data: Any) -> bool:
    """A body sent as it is produced: a file object, generator or iterator."""
    if isinstance(data, (str, bytes, bytearray, memoryview, list, tuple, Mapping)):
        return False
    return hasattr(data, "read") or hasattr(data, "__iter__") or hasattr(data, "__aiter__")


def is_async_only(body: Any) -> bool:
    """An async iterable that only AsyncSession can send."""
    return hasattr(body, "__aiter__") and not (hasattr(body, "__iter__") or hasattr(body, "read"))


def stream_length(body: Any) -> Optional[int]:
    """The number of bytes a streamed body will still give, when that can be
    known without reading it (requests' super_len: its total length minus
    the position it was read or seeked to); None for generators."""
    total: Optional[int] = None
    if hasattr(body, "__len__"):
        total = len(body)
    elif hasattr(body, "len"):
        total = int(body.len)
    elif hasattr(body, "fileno"):
        try:
            total = os.fstat(body.fileno()).st_size
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            pass
    if not hasattr(body, "tell"):
        return total
    try:
        position: int = body.tell()
    except OSError:
        return total
    if total is None:
        try:
            body.seek(0, io.SEEK_END)
            total = body.tell()
            body.seek(position)
        except (AttributeError, OSError):
            return None
    return max(0, total - position)


def stream_chunks(body: Any, block: int = _BLOCK) -> Iterator[bytes]:
    """The bytes of a streamed body, block by block (str is sent as UTF-8)."""
    if hasattr(body, "read"):
        while True:
            chunk = body.read(block)
            if not chunk:
                return
            yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk
    else:
        for chunk in body:
            yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk


async def astream_chunks(body: Any) -> AsyncIterator[bytes]:
    """stream_chunks() for AsyncSession: also takes async iterables."""
    if hasattr(body, "__aiter__"):
        async for chunk in body:
            yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk
    else:
        for chunk in stream_chunks(body):
            yield chunk


def encode_body(data: Any, files: Any, json: Any) -> tuple[Any, Optional[str]]:
    """Returns (body, content type to add if the caller set none). The body is
    what requests puts in PreparedRequest.body: bytes, str, or the stream."""
    if not data and json is not None:
        try:
            text = _json.dumps(json, allow_nan=False)
        except ValueError as exc:
            raise InvalidJSONError(exc) from exc
        return text.encode("utf-8"), "application/json"
    if files:
        return encode_multipart(files, data)
    if not data:
        return None, None
    if isinstance(data, bytes):
        return data, None
    if isinstance(data, str):
        return data, None
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data), None
    if is_stream(data):
        return data, None
    return encode_params(data), "application/x-www-form-urlencoded"


def rewind(prepared: Any) -> None:
    """Seek a prepared request's streamed body back to where it started (for
    a 307/308 hop); UnrewindableBodyError if it cannot be."""
    position = prepared._body_position
    seek = getattr(prepared.body, "seek", None)
    if not isinstance(position, int) or seek is None:
        raise UnrewindableBodyError("Unable to rewind request body for redirect.")
    try:
        seek(position)
    except OSError:
        raise UnrewindableBodyError(
            "An error occurred when rewinding request body for redirect."
        ) from None
