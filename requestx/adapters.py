"""requests' transport adapters: ``Session.mount(prefix, adapter)``.

libcurl is requestx's transport, so an adapter here is mostly what it says
about the requests sent under its prefix: ``HTTPAdapter(max_retries=...)``
gives them its retry policy (requests' recipe,
``s.mount("https://", HTTPAdapter(max_retries=Retry(...)))``), and the
session sends them as any other. A ``BaseAdapter`` of your own (or an
HTTPAdapter subclass that overrides ``send``) is given the requests under its
prefix, as requests does: ``send(request, stream, timeout, verify, cert,
proxies)`` returns the Response, so custom and test adapters keep working.
The pool arguments are accepted and do nothing: the engine's pool is the
session's.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from .policy.retry import Retry

__all__ = ["BaseAdapter", "HTTPAdapter", "DEFAULT_POOLSIZE", "DEFAULT_RETRIES", "DEFAULT_POOLBLOCK"]

# The session handing a request to an adapter's send(), for HTTPAdapter.send
# (a subclass that wraps send() and calls it sends through that session).
SENDING: ContextVar[Any] = ContextVar("requestx_adapter_session")

DEFAULT_POOLBLOCK = False
DEFAULT_POOLSIZE = 10
DEFAULT_RETRIES = 0


class BaseAdapter:
    """The Base Transport Adapter."""

    def send(
        self,
        request: Any,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Any:
        """Send a PreparedRequest and return its Response."""
        raise NotImplementedError

    def close(self) -> None:
        """Clean up adapter specific items."""


class HTTPAdapter(BaseAdapter):
    """requests' HTTPAdapter: ``max_retries`` (an int, as
    ``Retry.from_int``; 0 means requests' ``Retry(0, read=False)``; or a
    Retry) is the retry policy of every request sent under its prefix."""

    __attrs__ = ["max_retries", "config", "_pool_connections", "_pool_maxsize", "_pool_block"]

    def __init__(
        self,
        pool_connections: int = DEFAULT_POOLSIZE,
        pool_maxsize: int = DEFAULT_POOLSIZE,
        max_retries: Any = DEFAULT_RETRIES,
        pool_block: bool = DEFAULT_POOLBLOCK,
    ) -> None:
        if max_retries == DEFAULT_RETRIES:
            self.max_retries: Any = Retry(0, read=False)
        else:
            self.max_retries = Retry.from_int(max_retries)
        self.config: dict[str, Any] = {}
        self._pool_connections = pool_connections
        self._pool_maxsize = pool_maxsize
        self._pool_block = pool_block

    def __getstate__(self) -> dict[str, Any]:
        state = {attr: getattr(self, attr, None) for attr in self.__attrs__}
        if getattr(self, "_builtin", False):
            state["_builtin"] = True  # a session's own default (see _core/base.py)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for attr, value in state.items():
            setattr(self, attr, value)

    def send(
        self,
        request: Any,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Any:
        """Send one request (no redirects, no hooks) with this adapter's retry
        policy, through the session that handed it to this adapter: for
        subclasses that wrap ``send`` and call it."""
        session = SENDING.get(None)
        if session is None:
            raise RuntimeError(
                "HTTPAdapter.send() sends through the Session it is mounted on: "
                "use session.send(request) (or mount the adapter)"
            )
        return session._adapter_send(self, request, stream, timeout, verify, cert, proxies)

    # The session sends requests under a plain HTTPAdapter itself (only its
    # max_retries matter); an overriding send() is called instead.
    send.policy_only = True  # type: ignore[attr-defined]
