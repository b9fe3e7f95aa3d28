"""Timeout(connect, read, total), and the deadline of one call.

requests' ``timeout`` is a number (connect and read) or a ``(connect, read)``
pair; both keep their meaning. ``Timeout(total=...)`` adds a bound on the
whole call: every attempt, redirect and backoff sleep. Each attempt is then
given what is left as libcurl's whole-transfer limit, so a server that
drips one byte a second cannot hold the call past its deadline; running
out raises DeadlineExceeded (a Timeout).
"""

from __future__ import annotations

import time
from typing import Any, Optional

from ..exceptions import DeadlineExceeded

__all__ = ["Deadline", "Timeout"]


def _seconds(name: str, value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(
            f"Timeout {name} must be an int, float or None, not {type(value).__name__}"
        )
    if value <= 0:
        raise ValueError(f"Attempted to set {name} timeout to {value}, but it must be > 0")
    return float(value)


class Timeout:
    """``timeout=requestx.Timeout(connect=3, read=10, total=30)``: the connect
    and read timeouts of requests, and ``total`` for the whole call."""

    __slots__ = ("connect", "read", "total")

    def __init__(
        self,
        total: Optional[float] = None,
        connect: Optional[float] = None,
        read: Optional[float] = None,
    ) -> None:
        self.total = _seconds("total", total)
        self.connect = _seconds("connect", connect)
        self.read = _seconds("read", read)

    def __repr__(self) -> str:
        return f"Timeout(total={self.total}, connect={self.connect}, read={self.read})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeout):
            return NotImplemented
        return (self.total, self.connect, self.read) == (other.total, other.connect, other.read)

    def __hash__(self) -> int:
        return hash((self.total, self.connect, self.read))

    def __getstate__(self) -> Any:
        return (self.total, self.connect, self.read)

    def __setstate__(self, state: Any) -> None:
        self.total, self.connect, self.read = state


class Deadline:
    """When a call must be over, on the monotonic clock."""

    __slots__ = ("at", "total")

    def __init__(self, total: float, clock: Any = time.monotonic) -> None:
        self.total = total
        self.at = clock() + total

    def remaining(self, clock: Any = time.monotonic) -> float:
        """Seconds left; DeadlineExceeded when none are."""
        left = self.at - clock()
        if left <= 0:
            raise DeadlineExceeded(f"the call took longer than its total timeout ({self.total} s)")
        return left
