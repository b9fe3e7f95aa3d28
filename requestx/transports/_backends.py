"""How AsyncHTTPTransport waits for the engine thread: under asyncio or trio.

The engine hands its news to a *port* (an eventfd) and resolves the waiting
"futures" from the event loop's thread, in ``Port.drain()``, by calling their
``cancelled()``, ``set_result()`` and ``set_exception()``.

* asyncio: the loop's port is drained by its reader callback
  (``_core.aio.port``); futures are the loop's own.
* trio: there are no reader callbacks, so one system task per trio run waits
  for its port's eventfd to be readable and drains it; futures are
  :class:`TrioFuture`, a trio.Event with a result.

A backend also knows how to sleep, to wait with a deadline, and to run the
producer of a streamed request body next to the request.
"""

from __future__ import annotations

import asyncio
import math
import sys
import weakref
from typing import Any, Optional

from .._core import aio

__all__ = ["running_backend"]


class AsyncioBackend:
    """Waiting on an asyncio event loop (uvloop included)."""

    @staticmethod
    def submission() -> tuple[Any, Any]:
        """(port, future) to submit one request with."""
        loop = asyncio.get_running_loop()
        return aio.port(loop), loop.create_future()

    @staticmethod
    def future() -> Any:
        return asyncio.get_running_loop().create_future()

    @staticmethod
    async def wait(future: Any) -> Any:
        return await future

    @staticmethod
    async def wait_for(future: Any, timeout: Optional[float]) -> Any:
        """The future's result, or False after ``timeout`` seconds (the future
        is then cancelled, so that nobody resolves it any more)."""
        if timeout is None:
            return await future
        done, _ = await asyncio.wait((future,), timeout=timeout)
        if not done:
            future.cancel()
            return False
        return future.result()

    sleep = staticmethod(asyncio.sleep)

    @staticmethod
    def start_upload(transfer: Any, body: Any) -> Any:
        return Upload(aio.start_upload(transfer, body))


class Upload:
    """A running producer of a streamed request body."""

    def __init__(self, task: Any) -> None:
        self._task = task

    def error(self) -> Optional[BaseException]:
        """The exception the producer failed with, if it has."""
        task = self._task
        if task.done() and not task.cancelled():
            return task.exception()  # type: ignore[no-any-return]
        return None


ASYNCIO = AsyncioBackend()


# trio ------------------------------------------------------------------------------


class TrioFuture:
    """What the engine resolves under trio: a trio.Event with a result."""

    __slots__ = ("_event", "_value", "_error", "_cancelled")

    def __init__(self, trio: Any) -> None:
        self._event = trio.Event()
        self._value: Any = None
        self._error: Optional[BaseException] = None
        self._cancelled = False

    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._cancelled = True

    def done(self) -> bool:
        return self._cancelled or self._event.is_set()

    def set_result(self, value: Any) -> None:
        self._value = value
        self._event.set()

    def set_exception(self, error: BaseException) -> None:
        self._error = error
        self._event.set()

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value

    async def wait(self) -> Any:
        try:
            await self._event.wait()
        except BaseException:
            self._cancelled = True  # trio.Cancelled, KeyboardInterrupt, ...
            raise
        return self.result()

    def __await__(self) -> Any:
        return self.wait().__await__()


class TrioBackend:
    """Waiting inside a trio run."""

    def __init__(self, trio: Any) -> None:
        self._trio = trio
        self._ports: Any = weakref.WeakKeyDictionary()  # root task -> port

    def _run_port(self) -> Any:
        """The port of the current trio run, drained by a system task."""
        lowlevel = self._trio.lowlevel
        root = lowlevel.current_root_task()
        port = self._ports.get(root)
        if port is None:
            from .. import _engine

            port = self._ports[root] = _engine.Port()
            lowlevel.spawn_system_task(self._drain_forever, port, name="requestx port")
        return port

    async def _drain_forever(self, port: Any) -> None:
        fd = port.fileno()
        wait_readable = self._trio.lowlevel.wait_readable
        while True:
            await wait_readable(fd)
            port.drain()

    def submission(self) -> tuple[Any, Any]:
        return self._run_port(), TrioFuture(self._trio)

    def future(self) -> Any:
        return TrioFuture(self._trio)

    @staticmethod
    async def wait(future: Any) -> Any:
        return await future.wait()

    async def wait_for(self, future: Any, timeout: Optional[float]) -> Any:
        with self._trio.move_on_after(math.inf if timeout is None else timeout):
            return await future.wait()
        future.cancel()
        return False

    async def sleep(self, seconds: float) -> None:
        await self._trio.sleep(seconds)

    def start_upload(self, transfer: Any, body: Any) -> Any:
        upload = TrioUpload()
        self._trio.lowlevel.spawn_system_task(upload.run, self, transfer, body)
        return upload


class TrioUpload:
    """The producer of a streamed request body, as a trio system task (the
    transport has no nursery of its own). Its failure is kept, not raised:
    an exception escaping a system task would end the whole trio run."""

    def __init__(self) -> None:
        self._error: Optional[BaseException] = None

    def error(self) -> Optional[BaseException]:
        return self._error

    async def run(self, backend: TrioBackend, transfer: Any, body: Any) -> None:
        try:
            await aio.upload(transfer, body, backend.future)  # cancels the transfer on failure
        except backend._trio.Cancelled:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the request
            self._error = exc


_trio_backend: Optional[TrioBackend] = None


def running_backend() -> Any:
    """The backend of the running event loop: asyncio, or trio."""
    if asyncio._get_running_loop() is not None:
        return ASYNCIO
    trio = sys.modules.get("trio")
    if trio is not None and trio.lowlevel.in_trio_run():
        global _trio_backend
        if _trio_backend is None:
            _trio_backend = TrioBackend(trio)
        return _trio_backend
    raise RuntimeError("requestx.AsyncHTTPTransport needs a running asyncio or trio event loop")
