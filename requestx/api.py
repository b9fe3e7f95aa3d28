"""Module-level functions: ``requestx.get(url)`` and friends, as in requests.

Outside a running event loop each returns a Response. Inside one (in a
coroutine, a task, a callback of a running loop) each returns an awaitable
that resolves to the Response: ``r = await requestx.get(url)``. The one
caveat: inside a running loop you must await the call.

Each call uses a fresh Session (so cookies never leak between calls) on a
shared engine client, so connections to the same host are reused.
"""

from __future__ import annotations

import threading
from asyncio import _get_running_loop
from typing import Any, Optional

from . import _engine
from .async_sessions import AsyncSession
from .models import Response
from .sessions import Session
from .websocket import WebSocket

__all__ = ["request", "get", "options", "head", "post", "put", "patch", "delete", "ws_connect"]

_shared_client: Optional[_engine.Client] = None
_shared_aclient: Optional[_engine.AsyncClient] = None
_shared_lock = threading.Lock()


def _client() -> _engine.Client:
    global _shared_client
    if _shared_client is None:
        with _shared_lock:
            if _shared_client is None:
                _shared_client = _engine.Client()
    return _shared_client


def _aclient() -> _engine.AsyncClient:
    global _shared_aclient
    if _shared_aclient is None:
        with _shared_lock:
            if _shared_aclient is None:
                _shared_aclient = _engine.AsyncClient(100, 0, False)
    return _shared_aclient


async def _arequest(method: str, url: Any, **kwargs: Any) -> Response:
    session = AsyncSession(_aclient=_aclient())
    try:
        if method == "get" and not kwargs:
            pending = session.get(url)  # its leaner coroutine: see AsyncSession.get
        else:
            pending = session.request(method=method, url=url, **kwargs)
        del kwargs  # not kept across the await (10,000 gathered calls: 10,000 dicts)
        return await pending
    finally:
        await session.close()


def request(method: str, url: Any, **kwargs: Any) -> Response:  # awaitable in a loop
    """Send a request and return its Response (requests.request); inside a
    running event loop, return an awaitable of it."""
    if _get_running_loop() is not None:
        return _arequest(method, url, **kwargs)  # type: ignore[return-value]
    with Session(_client=_client()) as session:
        return session.request(method=method, url=url, **kwargs)


def get(url: Any, params: Any = None, **kwargs: Any) -> Response:
    if params is not None:  # None is request()'s default
        kwargs["params"] = params
    return request("get", url, **kwargs)


def options(url: Any, **kwargs: Any) -> Response:
    return request("options", url, **kwargs)


def head(url: Any, **kwargs: Any) -> Response:
    kwargs.setdefault("allow_redirects", False)
    return request("head", url, **kwargs)


def post(url: Any, data: Any = None, json: Any = None, **kwargs: Any) -> Response:
    return request("post", url, data=data, json=json, **kwargs)


def put(url: Any, data: Any = None, **kwargs: Any) -> Response:
    return request("put", url, data=data, **kwargs)


def patch(url: Any, data: Any = None, **kwargs: Any) -> Response:
    return request("patch", url, data=data, **kwargs)


def delete(url: Any, **kwargs: Any) -> Response:
    return request("delete", url, **kwargs)


def ws_connect(url: str, **kwargs: Any) -> WebSocket:  # awaitable in a loop
    """Open a WebSocket (Session.ws_connect); inside a running event loop,
    return what AsyncSession.ws_connect does (await it, or ``async with``)."""
    if _get_running_loop() is not None:
        return AsyncSession(_aclient=_aclient()).ws_connect(url, **kwargs)  # type: ignore[return-value]
    with Session(_client=_client()) as session:
        return session.ws_connect(url, **kwargs)
