"""Types of requestx._engine, the C extension (requestx/_engine/engine.c).

The engine's results are tuples, named once in requestx/_wire.py::

    (status, version, head, body, timings, flags)

``body`` is bytes, or the object that streams it (``Stream`` from
``Client.perform``, the ``AsyncTransfer`` itself from a future resolved by
``AsyncClient.submit``). ``settings`` is the tuple built by
requestx/_core/settings.py ``engine_settings()``.
"""

from collections.abc import Callable, Coroutine, Generator, Iterator
from typing import Any, Final, Optional, Union, final

_Settings = tuple[Any, ...]
_Headers = tuple[bytes, ...]
# Client.perform: None, bytes, or a streamed body (chunk iterator, length;
# -1: unknown, sent chunked).
_SyncBody = Union[None, bytes, tuple[Iterator[bytes], int]]
# AsyncClient.submit: None, bytes, or the length of a body then fed with
# AsyncTransfer.feed() (-1: unknown).
_AsyncBody = Union[None, bytes, int]

SyncResult = tuple[int, int, bytes, Union[bytes, "Stream"], bytes, int]
AsyncResult = tuple[int, int, bytes, Union[bytes, "AsyncTransfer"], bytes, int]

PHASE_CONNECT: Final[int]
PHASE_WAIT: Final[int]
PHASE_BODY: Final[int]
HTTP_VERSION_1_1: Final[int]
HTTP_VERSION_2: Final[int]
HTTP_VERSION_2_PRIOR_KNOWLEDGE: Final[int]

class TransferError(Exception):
    """A libcurl transfer failed: args are (curl_code, message, phase)."""

    args: tuple[int, str, int]

@final
class Client:
    """A pool of libcurl handles sharing connections, DNS and TLS sessions."""

    def __init__(self) -> None: ...
    @property
    def idle_handles(self) -> int: ...
    def perform(
        self,
        method: str,
        url: str,
        headers: _Headers,
        body: _SyncBody,
        connect_timeout: float,
        read_timeout: float,
        settings: _Settings,
        stream: bool,
        /,
    ) -> SyncResult: ...
    def close(self) -> None: ...

@final
class Stream:
    """A response body that is still arriving (made by Client.perform)."""

    @property
    def finished(self) -> bool: ...
    def read(self) -> bytes: ...
    def close(self) -> None: ...
    def timings(self) -> Optional[bytes]: ...

@final
class Port:
    """The mailbox of one event loop: completions arrive through one eventfd."""

    def __init__(self) -> None: ...
    def fileno(self) -> int: ...
    def drain(self) -> None: ...

@final
class AsyncTransfer:
    """One request on the engine thread (made by AsyncClient.submit)."""

    @property
    def finished(self) -> bool: ...
    def cancel(self) -> None: ...
    def take(self) -> Optional[bytes]: ...
    def wait(self, future: Any, /) -> None: ...
    def feed(self, chunk: bytes, /) -> int: ...
    def wait_upload(self, future: Any, /) -> bool: ...

@final
class AsyncClient:
    """A connection pool with limits, driven by the engine thread."""

    def __init__(
        self, max_connections: int = ..., max_connections_per_host: int = ..., http2: bool = ...
    ) -> None: ...
    def submit(
        self,
        port: Port,
        future: Any,
        method: str,
        url: str,
        host: str,
        headers: _Headers,
        body: _AsyncBody,
        connect_timeout: float,
        read_timeout: float,
        settings: _Settings,
        stream: bool,
        /,
    ) -> AsyncTransfer: ...
    def close(self) -> None: ...

@final
class SSEParser:
    """An incremental server-sent events parser (WHATWG event-stream rules)."""

    def __init__(self, last_event_id: str = "") -> None: ...
    @property
    def last_event_id(self) -> str: ...
    def feed(self, data: bytes, /) -> list[tuple[str, str, str, Optional[int]]]: ...

@final
class Pending(Coroutine[Any, Any, Any]):
    """Pending(session, url): the coroutine of a plain AsyncSession.get(url)."""

    def __init__(self, session: Any, url: Any, /) -> None: ...
    def __await__(self) -> Generator[Any, None, Any]: ...
    def __next__(self) -> Any: ...
    def send(self, value: Any, /) -> Any: ...
    def throw(self, typ: Any, val: Any = ..., tb: Any = ..., /) -> Any: ...
    def close(self) -> None: ...

def set_pending_hooks(
    start: Callable[..., Any], done: Callable[..., Any], failed: Callable[..., Any], /
) -> None: ...
def curl_version() -> str: ...
def features() -> frozenset[str]: ...
