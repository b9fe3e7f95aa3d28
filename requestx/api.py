"""Module-level functions: ``requestx.get(url)`` and friends, as in requests.

Each call uses a fresh Session (so cookies never leak between calls) on a
shared engine Client, so connections to the same host are reused.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from . import _engine
from .models import Response
from .sessions import Session

__all__ = ["request", "get", "options", "head", "post", "put", "patch", "delete"]

_shared_client: Optional[_engine.Client] = None
_shared_lock = threading.Lock()


def _client() -> _engine.Client:
    global _shared_client
    if _shared_client is None:
        with _shared_lock:
            if _shared_client is None:
                _shared_client = _engine.Client()
    return _shared_client


def request(method: str, url: Any, **kwargs: Any) -> Response:
    """Send a request and return its Response (requests.request)."""
    with Session(_client=_client()) as session:
        return session.request(method=method, url=url, **kwargs)


def get(url: Any, params: Any = None, **kwargs: Any) -> Response:
    return request("get", url, params=params, **kwargs)


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
