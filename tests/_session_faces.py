"""Helpers of the tests that check one behaviour of the requests surface
through both of its faces (``face`` fixture): "Session" makes the calls with
requestx.Session, "AsyncSession" with requestx.AsyncSession on an event loop
of its own. The AsyncSession face is skipped when the package has none (the
suite pointed at plain requests, see README.md), so the Session face still
runs there.

``face.request(method, url, setup=None, **kwargs)`` makes one request on a
fresh session (``setup(session)`` runs first) and returns the response with
its body read; ``response.session_cookies`` is the session's jar as a dict
once the call has ended. Exceptions propagate.

``face.raises(expected, method, url, setup=None, **kwargs)`` is the
exception of the same call (the test fails when it raises none, or another).

``with face.session(setup=None, **options) as s:`` holds one session for
several calls. ``s.get(...)``, ``s.request(...)``, ``s.send(...)`` and the
other verbs return responses on both faces: on the AsyncSession each call
runs to its end on the session's event loop, and a streamed response has its
body read. ``s.wait(x)`` is ``x`` on the Session face and the result of
awaiting ``x`` on the AsyncSession face (for ``r.connection.send(...)``).
Attributes are read from and set on the session itself; ``s.session`` is it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Callable, Iterator, Optional

import pytest

import requestx

FACES = ["Session", "AsyncSession"]
VERBS = frozenset({"request", "get", "options", "head", "post", "put", "patch", "delete", "send"})


class _SyncCalls:
    """A Session seen through the face interface: everything passes through."""

    def __init__(self, session: Any) -> None:
        object.__setattr__(self, "session", session)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.session, name, value)

    def wait(self, value: Any) -> Any:
        return value


class _AsyncCalls:
    """An AsyncSession whose verbs run to their end on the session's loop."""

    def __init__(self, session: Any, loop: asyncio.AbstractEventLoop) -> None:
        object.__setattr__(self, "session", session)
        object.__setattr__(self, "_loop", loop)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.session, name)
        if name not in VERBS:
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.wait(_with_body(value(*args, **kwargs)))

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.session, name, value)

    def wait(self, awaitable: Any) -> Any:
        return self._loop.run_until_complete(awaitable)


async def _with_body(awaitable: Any) -> Any:
    response = await awaitable
    if response.raw is not None and response._content is False:
        await response.aread()  # a streamed response: read it as the Session face would
    return response


async def _new_async_session(options: dict) -> Any:
    return requestx.AsyncSession(**options)


@contextlib.contextmanager
def _event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop, closed as asyncio.run closes its own."""
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        try:
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


class SessionFace:
    """One face of the requests surface: Session or AsyncSession."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.is_async = name == "AsyncSession"
        self.cls = getattr(requestx, name)

    def __repr__(self) -> str:
        return f"<face {self.name}>"

    @contextlib.contextmanager
    def session(
        self, setup: Optional[Callable[[Any], Any]] = None, **options: Any
    ) -> Iterator[Any]:
        if not self.is_async:
            with self.cls(**options) as s:
                if setup:
                    setup(s)
                yield _SyncCalls(s)
            return
        with _event_loop() as loop:
            s = loop.run_until_complete(_new_async_session(options))
            try:
                if setup:
                    setup(s)
                yield _AsyncCalls(s, loop)
            finally:
                loop.run_until_complete(s.close())

    def request(
        self, method: str, url: Any, setup: Optional[Callable[[Any], Any]] = None, **kwargs: Any
    ) -> Any:
        with self.session(setup) as s:
            r = s.request(method, url, **kwargs)
            r.content  # noqa: B018 - a streamed body is read before the session closes
            r.session_cookies = dict(s.cookies)
            return r

    def raises(
        self,
        expected: Any,
        method: str,
        url: Any,
        setup: Optional[Callable[[Any], Any]] = None,
        **kwargs: Any,
    ) -> BaseException:
        with pytest.raises(expected) as info:
            self.request(method, url, setup, **kwargs)
        return info.value


def _face(request: Any) -> SessionFace:
    if not hasattr(requestx, request.param):
        pytest.skip(f"the package under test has no {request.param}")
    return SessionFace(request.param)


# Imported by the test modules under this name; the fixture is "face".
face_fixture = pytest.fixture(params=FACES, name="face")(_face)
