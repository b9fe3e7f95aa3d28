"""What every asyncio face needs of the engine thread: the event loop's
completion port, and the producer that feeds a streamed request body.

The engine thread tells an event loop about finished transfers through one
``_engine.Port`` per loop (an eventfd registered with ``loop.add_reader``);
its reader callback, ``Port.drain`` (C), resolves every finished future in
one go. After fork() a child makes its own port: the inherited eventfd is
shared with the parent (the engine side of fork: see _engine/process.h).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any, Callable, Optional

from .. import _engine
from .._body import astream_chunks

__all__ = ["port", "start_upload", "upload"]

# One completion port per event loop: (pid that made it, port).
_ports: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[int, Any]] = (
    weakref.WeakKeyDictionary()
)


def port(loop: asyncio.AbstractEventLoop) -> Any:
    """The loop's completion port."""
    pid = os.getpid()
    entry = _ports.get(loop)
    if entry is not None and entry[0] == pid:
        return entry[1]
    if entry is not None:
        loop.remove_reader(entry[1].fileno())
    new = _engine.Port()
    loop.add_reader(new.fileno(), new.drain)
    _ports[loop] = (pid, new)
    return new


# Upload tasks still running; asyncio itself keeps only weak references.
_uploads: set[asyncio.Task[None]] = set()


def start_upload(transfer: Any, body: Any) -> asyncio.Task[None]:
    """Feed a streamed request body (file, iterator or async iterable) to the
    engine as libcurl takes it, on the running loop."""
    task = asyncio.get_running_loop().create_task(upload(transfer, body))
    _uploads.add(task)
    task.add_done_callback(_uploads.discard)
    return task


# AsyncTransfer.feed(): 0 means go on, FEED_WAIT that enough is buffered
# (wait_upload's waiter says when to go on), FEED_OVER that the transfer no
# longer wants the body (answered early, failed or cancelled).
FEED_WAIT, FEED_OVER = 1, 2


async def upload(transfer: Any, body: Any, new_future: Optional[Callable[[], Any]] = None) -> None:
    """Feed ``body`` to ``transfer``, pausing while enough is buffered.
    ``new_future`` makes the waiters (the httpx transport's trio backend
    passes its own); by default the running asyncio loop's futures."""
    if new_future is None:
        new_future = asyncio.get_running_loop().create_future
    try:
        async for chunk in astream_chunks(body):
            if not chunk:
                continue
            state = transfer.feed(chunk)
            if state == FEED_WAIT:
                waiter = new_future()
                if transfer.wait_upload(waiter):
                    await waiter
            elif state == FEED_OVER:
                return
        transfer.feed(b"")
    except BaseException:
        transfer.cancel()  # the request fails with the body's own exception
        raise
