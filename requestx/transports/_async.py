"""AsyncHTTPTransport: httpx's async transport on the requestx engine thread.

``handle_async_request()`` submits one exchange to the engine thread and
awaits the end of its response headers; the body is then taken from the
engine's buffer as httpx reads it, each chunk as soon as it arrives.
Cancelling the awaiting task, or closing the response, stops the transfer
(its connection is closed, never returned half-read to the pool). A request
body that httpx streams is fed to the engine as libcurl takes it.

Runs under asyncio (any loop, uvloop included) and under trio (_backends.py).
"""

from __future__ import annotations

from typing import Any, Optional

from .. import _engine
from ..policy.call import run_async
from ._backends import running_backend
from ._errors import connect_retry_delay, httpx_error, transport_error
from ._limits import AsyncLimit
from ._options import ConfiguredTransport
from ._package import AsyncTransportBase, HttpxPackage
from ._wire import incoming, outgoing, set_attempts

__all__ = ["AsyncHTTPTransport"]

# No bound on the engine's side when httpx's limits set none.
_UNBOUNDED = 1 << 30


class AsyncHTTPTransport(ConfiguredTransport, AsyncTransportBase):
    """``httpx.AsyncClient(transport=requestx.AsyncHTTPTransport())``.

    The arguments are those of ``httpx.AsyncHTTPTransport`` (see
    HTTPTransport and docs/httpx.md).
    """

    def _open(self) -> None:
        size = self._max_connections
        self._limit = AsyncLimit(size) if size else None
        self._aclient = _engine.AsyncClient(
            size or _UNBOUNDED, 0, self._multiplex, stats=self._stats
        )

    async def __aenter__(self) -> AsyncHTTPTransport:
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pool once the transfers in flight end; a later request
        opens a new one."""
        self._aclient.close()
        self._open()

    async def handle_async_request(self, request: Any) -> Any:
        watch = self._watch(request)
        if watch is not None:
            return await self._watched(request, watch)
        attempts = self._attempts(request, _discard)
        if attempts is None:
            return await self._handle(request)
        sleeper = running_backend().sleep
        response = await run_async(attempts, _once, (self._handle, request, None), sleeper)
        set_attempts(response, attempts.count)
        return response

    async def _watched(self, request: Any, watch: Any) -> Any:
        """handle_async_request for an observed request: start and end told."""
        watch.request_start()
        try:
            attempts = self._attempts(request, _discard, watch)
            if attempts is None:
                response = await self._handle(request, watch)
            else:
                sleeper = running_backend().sleep
                response = await run_async(attempts, _once, (self._handle, request, watch), sleeper)
                set_attempts(response, attempts.count)
        except BaseException as exc:
            watch.request_end(None, exc)
            raise
        watch.request_end(response)
        return response

    async def _handle(self, request: Any, watch: Any = None) -> Any:
        """One request through the engine: the response at its headers."""
        attempt = None
        if watch is not None:
            attempt = watch.attempt_start(request.method, str(request.url))
            if attempt.headers:
                request.headers.update(attempt.headers)
        package, url, origin, body, length, lines, connect, read, pool = outgoing(request)
        lines = self._lines_for(url, lines)
        upload = None
        if length is not None:  # streamed: fed to the engine as it is produced
            body, upload = length, request.stream
        backend = running_backend()
        limit = self._limit
        if limit is not None and not limit.try_acquire():
            if not await limit.acquire(backend, pool):
                raise transport_error(
                    package, "PoolTimeout", "no connection became free in time", request
                )
        try:
            transfer, result = await self._exchange(
                backend, package, request, url, origin, lines, body, upload, connect, read
            )
        except BaseException as exc:
            if limit is not None:
                limit.release()
            if attempt is not None:
                watch.attempt_end(attempt, error=exc, body=body)
            raise
        if attempt is not None:
            watch.attempt_end(attempt, result, body=body)
        stream = package.stream_class(AsyncResponseStream)(
            transfer, request, package, limit, backend
        )
        return incoming(package, request, result, stream)

    async def _exchange(
        self,
        backend: Any,
        package: HttpxPackage,
        request: Any,
        url: str,
        origin: str,
        lines: tuple[bytes, ...],
        body: Any,
        upload: Any,
        connect: float,
        read: float,
    ) -> tuple[Any, tuple[Any, ...]]:
        """Submit the request and await its response headers, again after a
        failed connect (up to `retries` times; never with a streamed body,
        which may be partly consumed): (transfer, engine result)."""
        retries = 0 if upload is not None else self._retries
        attempt = 0
        while True:
            port, future = backend.submission()
            transfer = self._aclient.submit(
                port, future, request.method, url, origin, lines, body, connect, read, 0.0,
                self._settings, True,
            )  # fmt: skip
            producer = None if upload is None else backend.start_upload(transfer, upload)
            try:
                return transfer, await backend.wait(future)
            except _engine.TransferError as exc:
                failed = None if producer is None else producer.error()
                if failed is not None:
                    raise failed from None  # the body's own error
                delay = connect_retry_delay(exc, attempt, retries)
                if delay is None:
                    raise httpx_error(package, exc, request, self._proxy_kind(url)) from None
            except BaseException:  # cancelled (asyncio or trio), interrupted
                transfer.cancel()  # frees its connection at once
                raise
            await backend.sleep(delay)
            attempt += 1


class AsyncResponseStream:
    """The response body as httpx reads it: chunks as they arrive. Made a
    subclass of the request's package's AsyncByteStream (HttpxPackage)."""

    httpx_base = "AsyncByteStream"

    def __init__(
        self,
        transfer: Any,
        request: Any,
        package: HttpxPackage,
        limit: Optional[AsyncLimit],
        backend: Any,
    ) -> None:
        self._transfer = transfer
        self._request = request
        self._package = package
        self._limit = limit
        self._backend = backend

    async def __aiter__(self) -> Any:
        while self._transfer is not None:
            transfer = self._transfer
            try:
                chunk = transfer.take()
            except _engine.TransferError as exc:
                self._finish(False)
                raise httpx_error(self._package, exc, self._request) from None
            if chunk is None:  # nothing yet: wait for the engine's news
                waiter = self._backend.future()
                transfer.wait(waiter)
                try:
                    await self._backend.wait(waiter)
                except BaseException:  # cancelled (asyncio or trio), interrupted
                    self._finish(True)
                    raise
                continue
            if not chunk:
                self._finish(False)
                return
            yield chunk

    def _finish(self, cancel: bool) -> None:
        transfer = self._transfer
        if transfer is not None:
            self._transfer = None
            if cancel:
                transfer.cancel()
            if self._limit is not None:
                self._limit.release()

    async def aclose(self) -> None:
        """Stop the transfer if it is still running (its connection is closed)."""
        self._finish(True)

    def discard(self) -> None:
        self._finish(True)

    def __del__(self) -> None:
        # a response dropped unread must not keep its transfer (and its place
        # under the connection limit) alive
        if self._transfer is not None:
            self._finish(True)


def _discard(response: Any) -> None:
    """Close a response the retry loop drops (an async one cannot be closed
    with close(): its stream is stopped as aclose() would)."""
    response.stream.discard()


async def _once(handle: Any, request: Any, watch: Any, _policy: Any, _total: float) -> Any:
    """One attempt for the retry loop (the transports take no deadline)."""
    return await handle(request, watch)
