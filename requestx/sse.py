"""Server-sent events: ``Response.iter_sse()`` and ``Response.aiter_sse()``.

The parsing is done incrementally in C (``requestx/_engine/sse.h``) by the
WHATWG event-stream rules, and each event is yielded as soon as the blank line
that ends it has arrived: nothing waits for a buffer to fill.
"""

from __future__ import annotations

import json as _json
from collections.abc import AsyncIterator, Iterator
from typing import Any, Optional

from . import _engine

__all__ = ["ServerSentEvent", "iter_sse", "aiter_sse"]


class ServerSentEvent:
    """One event: its type (``event``, "message" by default), ``data``, the
    last event ``id`` seen on the stream, and ``retry`` (milliseconds) when the
    event carried a valid one."""

    __slots__ = ("event", "data", "id", "retry")

    def __init__(
        self, event: str = "message", data: str = "", id: str = "", retry: Optional[int] = None
    ) -> None:
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry

    def json(self, **kwargs: Any) -> Any:
        """The data parsed as JSON."""
        return _json.loads(self.data, **kwargs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (self.event, self.data, self.id, self.retry) == (
            other.event,
            other.data,
            other.id,
            other.retry,
        )

    def __repr__(self) -> str:
        return (
            f"ServerSentEvent(event={self.event!r}, data={self.data!r}, id={self.id!r}, "
            f"retry={self.retry!r})"
        )


def iter_sse(response: Any) -> Iterator[ServerSentEvent]:
    """The events of a (preferably stream=True) response, as they arrive."""
    parser = _engine.SSEParser()
    for chunk in response.iter_content(chunk_size=None):
        for fields in parser.feed(chunk):
            yield ServerSentEvent(*fields)


async def aiter_sse(response: Any) -> AsyncIterator[ServerSentEvent]:
    """The events of an AsyncSession response, as they arrive."""
    parser = _engine.SSEParser()
    async for chunk in response.aiter_content(None):
        for fields in parser.feed(chunk):
            yield ServerSentEvent(*fields)
