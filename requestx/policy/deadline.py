"""The deadline of one call: ``Timeout(total=...)`` (requestx/_timeout.py).

The total bounds the whole call: every attempt, redirect and backoff sleep.
Each attempt is given what is left as libcurl's whole-transfer limit, so a
server that drips one byte a second cannot hold the call past its deadline;
running out raises DeadlineExceeded (a Timeout).
"""

from __future__ import annotations

import time
from typing import Any

from .._timeout import TimeoutSetting
from ..exceptions import DeadlineExceeded

__all__ = ["Deadline", "TimeoutSetting"]


class Deadline:
    """When a call must be over, on the monotonic clock."""

    __slots__ = ("at", "total")

    def __init__(self, total: float, clock: Any = time.monotonic) -> None:
        self.total = total
        self.at = clock() + total

    def remaining(self, clock: Any = time.monotonic) -> float:
        """Seconds left; DeadlineExceeded when none are."""
        left: float = self.at - clock()
        if left <= 0:
            raise DeadlineExceeded(f"the call took longer than its total timeout ({self.total} s)")
        return left
