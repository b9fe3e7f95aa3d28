"""Response.raw: the body of a stream=True response, as the engine delivers it.

RawResponse reads from the sync engine's Stream; AsyncRawResponse from an
AsyncTransfer on the engine thread. Both hand out bytes as they arrive and
turn a broken body into the requests exception at the point it is reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Optional

from . import _engine
from .exceptions import from_transfer_error

if TYPE_CHECKING:
    from .models import Response

__all__ = ["RawResponse", "AsyncRawResponse"]


def _split(data: bytes, amt: Optional[int]) -> tuple[bytes, bytes]:
    """(at most ``amt`` bytes of ``data``, the rest); None means everything."""
    if amt is None or len(data) <= amt:
        return data, b""
    return data[:amt], data[amt:]


class RawResponse:
    """What ``Response.raw`` offers: the (already decoded) body as a file-like
    object for stream=True responses, plus status, version and headers."""

    def __init__(self, response: Response, stream: Any) -> None:
        self._response = response
        self._stream = stream
        self._buffer = b""
        self.status = response.status_code
        self.version = response._version
        self.decode_content = True

    @property
    def headers(self) -> Any:
        return self._response.headers

    @property
    def reason(self) -> str:
        return self._response.reason

    @property
    def closed(self) -> bool:
        return self._stream is None

    def _next_chunk(self) -> bytes:
        if self._stream is None:
            return b""
        try:
            chunk: bytes = self._stream.read()
        except _engine.TransferError as exc:
            self._stream = None
            raise from_transfer_error(exc, request=self._response._request_obj()) from None
        if not chunk:
            self._stream = None
        return chunk

    def read(self, amt: Optional[int] = None, decode_content: Any = None, **_: Any) -> bytes:
        """Read ``amt`` bytes (fewer only at the end), or everything."""
        parts = [self._buffer]
        have = len(self._buffer)
        while amt is None or have < amt:
            chunk = self._next_chunk()
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        data, self._buffer = _split(b"".join(parts), amt)
        return data

    def stream(self, amt: Optional[int] = 2**16, decode_content: Any = None) -> Iterator[bytes]:
        """Yield chunks as they arrive, none longer than ``amt``."""
        while True:
            if self._buffer:
                chunk, self._buffer = self._buffer, b""
            else:
                chunk = self._next_chunk()
            if not chunk:
                return
            chunk, self._buffer = _split(chunk, amt or None)
            yield chunk

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def release_conn(self) -> None:
        self.close()


class AsyncRawResponse:
    """The asyncio twin of RawResponse: ``await read(amt)``, ``async for`` over
    ``stream(amt)``, ``close()``. Data is taken from the engine thread's buffer;
    with nothing there, the reader waits for the engine's next news."""

    def __init__(self, response: Any, transfer: Any) -> None:
        self._response = response
        self._transfer = transfer
        self._buffer = b""
        self._done = False
        self.status = response.status_code
        self.version = response._version
        self.decode_content = True

    @property
    def headers(self) -> Any:
        return self._response.headers

    @property
    def closed(self) -> bool:
        return self._done

    async def _next_chunk(self) -> bytes:
        if self._done:
            return b""
        transfer = self._transfer
        while True:
            try:
                chunk = transfer.take()
            except _engine.TransferError as exc:
                self._done = True
                raise from_transfer_error(exc, request=self._response.request) from None
            if chunk is not None:
                if not chunk:
                    self._done = True
                return chunk  # type: ignore[no-any-return]
            waiter = asyncio.get_running_loop().create_future()
            transfer.wait(waiter)
            await waiter

    async def read(self, amt: Optional[int] = None) -> bytes:
        """Read ``amt`` bytes (fewer only at the end), or everything."""
        parts = [self._buffer]
        have = len(self._buffer)
        while amt is None or have < amt:
            chunk = await self._next_chunk()
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        data, self._buffer = _split(b"".join(parts), amt)
        return data

    async def stream(self, amt: Optional[int] = 2**16) -> AsyncIterator[bytes]:
        """Yield chunks as they arrive, none longer than ``amt``."""
        while True:
            if self._buffer:
                chunk, self._buffer = self._buffer, b""
            else:
                chunk = await self._next_chunk()
            if not chunk:
                return
            chunk, self._buffer = _split(chunk, amt or None)
            yield chunk

    def close(self) -> None:
        """Stop the transfer if it is still running (its connection is closed)."""
        if not self._done:
            self._done = True
            self._transfer.cancel()

    def __del__(self) -> None:
        # a response dropped unread must not keep its transfer (and its place
        # under the session's connection limits) alive
        if not self._done:
            self._done = True
            self._transfer.cancel()

    def release_conn(self) -> None:
        self.close()
