"""``limits.max_connections`` and the pool timeout.

httpx bounds a transport's connections and lets a request wait up to the
`pool` timeout for one to free up (then PoolTimeout). Here the bound counts
exchanges in flight: a request holds its place from the moment it is sent
until its response body has been read to the end or closed. Below the bound,
taking a place is one comparison; only a request that must wait pays for it.
(The async engine enforces the same bound again in C, as a backstop.)
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Optional

__all__ = ["SyncLimit", "AsyncLimit"]


class SyncLimit:
    """At most ``size`` exchanges at once across threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._in_use = 0
        self._freed = threading.Condition(threading.Lock())

    def acquire(self, timeout: Optional[float]) -> bool:
        """Take a place, waiting up to ``timeout`` seconds (None: for ever);
        False when none freed up in time."""
        with self._freed:
            if self._in_use >= self._size and not self._freed.wait_for(
                lambda: self._in_use < self._size, timeout
            ):
                return False
            self._in_use += 1
            return True

    def release(self) -> None:
        with self._freed:
            self._in_use -= 1
            self._freed.notify()


class AsyncLimit:
    """At most ``size`` exchanges at once on an event loop (asyncio or trio:
    the waiting is the backend's). A freed place is handed directly to the
    longest waiter, so none is lost to a race."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._in_use = 0
        self._waiters: collections.deque[Any] = collections.deque()

    def try_acquire(self) -> bool:
        if self._in_use < self._size and not self._waiters:
            self._in_use += 1
            return True
        return False

    async def acquire(self, backend: Any, timeout: Optional[float]) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever) for a place; False
        when none freed up in time."""
        waiter = backend.future()
        self._waiters.append(waiter)
        try:
            granted = await backend.wait_for(waiter, timeout)
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a place while being cancelled: pass it on
            else:
                waiter.cancel()
                self._forget(waiter)
            raise
        if not granted:
            self._forget(waiter)
        return bool(granted)

    def _forget(self, waiter: Any) -> None:
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the place goes to the waiter
                return
        self._in_use -= 1
