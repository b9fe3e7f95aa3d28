"""The ``timeout=`` setting with a total: ``requestx.Timeout(connect=3,
read=10, total=30)``.

requests' ``timeout`` is a number (connect and read) or a ``(connect, read)``
pair; both keep their meaning. ``total`` bounds the whole call: every
attempt, redirect and backoff sleep (see requestx/policy/deadline.py).

``requestx.Timeout`` is also requests' exception class: called with only the
keywords connect, read and total it makes this setting instead (see
exceptions.Timeout), so ``except requestx.Timeout`` keeps working. A leaf
module: it imports nothing of requestx's.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["TimeoutSetting"]


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


class TimeoutSetting:
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
        if not isinstance(other, TimeoutSetting):
            return NotImplemented
        return (self.total, self.connect, self.read) == (other.total, other.connect, other.read)

    def __hash__(self) -> int:
        return hash((self.total, self.connect, self.read))

    def __getstate__(self) -> Any:
        return (self.total, self.connect, self.read)

    def __setstate__(self, state: Any) -> None:
        self.total, self.connect, self.read = state
