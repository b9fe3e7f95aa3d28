"""requestx._engine: the C engine under requestx (sources: requestx/_engine/).

Results. ``Client.perform()`` returns, and an ``AsyncTransfer``'s future is
resolved with, a 6-tuple (:data:`Result`), by position:

    0 status        int, the final response's status code
    1 http_version  int: 10, 11, 20 or 30
    2 raw_headers   bytes, the final response's header block as received
    3 body          bytes; with stream=True the Stream (sync) or the AsyncTransfer
    4 timings       bytes, eight native doubles (struct "8d"): namelookup, connect,
                    appconnect, pretransfer, starttransfer, total, queue (seconds;
                    queue: the wait for a connection slot), connections opened
    5 flags         int, a set of FLAG_* bits

Failures raise :class:`TransferError` ``(curl_code, message, phase)``.
Timeouts are seconds as floats; 0 (or less) means no limit.
"""

import asyncio
from collections.abc import Coroutine, Generator, Iterator
from typing import Any, Final, Optional, Union, final

# The result tuple described above.
Result = tuple[int, int, bytes, Any, bytes, int]

# A sync request body: bytes, None, or a streamed body as (iterator of
# bytes-like chunks, announced length or -1 for chunked).
SyncBody = Union[bytes, None, tuple[Iterator[Any], int]]

# Response flags (result item 5).
FLAG_SETS_COOKIE: Final[int]
FLAG_LENGTH_CONFLICT: Final[int]
FLAG_RESENT: Final[int]

# Stats.count() kinds.
STAT_RETRY: Final[int]
STAT_RESEND: Final[int]
STAT_TRANSITION: Final[int]
STAT_STATE: Final[int]

# How far a failed exchange got (TransferError.args[2]).
PHASE_CONNECT: Final[int]
PHASE_WAIT: Final[int]
PHASE_BODY: Final[int]

# Settings.http_version values (CURL_HTTP_VERSION_*).
HTTP_VERSION_1_1: Final[int]
HTTP_VERSION_2: Final[int]
HTTP_VERSION_2_PRIOR_KNOWLEDGE: Final[int]
HTTP_VERSION_3: Final[int]  # QUIC raced against TCP, which falls back to HTTP/2 or HTTP/1.1
HTTP_VERSION_3_ONLY: Final[int]

# libcurl's CURLcode values (curl/curl.h) that requestx's error tables name.
CURLE_OK: Final[int]
CURLE_UNSUPPORTED_PROTOCOL: Final[int]
CURLE_FAILED_INIT: Final[int]
CURLE_URL_MALFORMAT: Final[int]
CURLE_COULDNT_RESOLVE_PROXY: Final[int]
CURLE_COULDNT_RESOLVE_HOST: Final[int]
CURLE_COULDNT_CONNECT: Final[int]
CURLE_WEIRD_SERVER_REPLY: Final[int]
CURLE_HTTP2: Final[int]
CURLE_PARTIAL_FILE: Final[int]
CURLE_TOO_LARGE: Final[int]
CURLE_WRITE_ERROR: Final[int]
CURLE_OUT_OF_MEMORY: Final[int]
CURLE_OPERATION_TIMEDOUT: Final[int]
CURLE_SSL_CONNECT_ERROR: Final[int]
CURLE_ABORTED_BY_CALLBACK: Final[int]
CURLE_TOO_MANY_REDIRECTS: Final[int]
CURLE_GOT_NOTHING: Final[int]
CURLE_SSL_ENGINE_NOTFOUND: Final[int]
CURLE_SEND_ERROR: Final[int]
CURLE_RECV_ERROR: Final[int]
CURLE_SSL_CERTPROBLEM: Final[int]
CURLE_SSL_CIPHER: Final[int]
CURLE_PEER_FAILED_VERIFICATION: Final[int]
CURLE_BAD_CONTENT_ENCODING: Final[int]
CURLE_SSL_CACERT_BADFILE: Final[int]
CURLE_SSL_SHUTDOWN_FAILED: Final[int]
CURLE_SSL_CRL_BADFILE: Final[int]
CURLE_SSL_ISSUER_ERROR: Final[int]
CURLE_HTTP2_STREAM: Final[int]
CURLE_PROXY: Final[int]
CURLE_SSL_CLIENTCERT: Final[int]
CURLE_HTTP3: Final[int]
CURLE_QUIC_CONNECT_ERROR: Final[int]

class TransferError(Exception):
    """A libcurl transfer failed: args are (curl_code, message, phase).
    Also raised for the engine's own resources (CURLE_OUT_OF_MEMORY: no
    libcurl handle or pool; CURLE_FAILED_INIT: no engine thread)."""

    args: tuple[int, str, int]

def curl_version() -> str:
    """libcurl's version string."""

def features() -> frozenset[str]:
    """What this libcurl supports that requestx uses: a subset of gzip, br,
    zstd, http2, http3, alt-svc, websockets, ssl, https-proxy, idn, threadsafe."""

def default_ca() -> tuple[str | None, str | None]:
    """The CA file and directory that verify=True uses: libcurl's built-in
    ones if they exist here, else the first of the usual system locations."""

@final
class Settings:
    """One configuration of TLS, proxy, HTTP version, decoding and local
    address, built once and passed to perform() and submit(). The engine
    skips re-applying settings a handle has already applied. Compared and
    hashed by identity."""

    def __new__(
        cls,
        http_version: int,
        verify: object,
        ca_info: Optional[str],
        ca_path: Optional[str],
        cert: Optional[str],
        key: Optional[str],
        proxy: Optional[str],
        decode: object,
        interface: Optional[str],
        unix_socket: Optional[str],
        resend_unsafe: object = False,
    ) -> Settings: ...
    @property
    def http_version(self) -> int:
        """HTTP_VERSION_*."""
    @property
    def verify(self) -> bool:
        """Verify the peer's certificate and host name."""
    @property
    def ca_info(self) -> Optional[str]:
        """A CA bundle file (None, with ca_path None: libcurl's default store)."""
    @property
    def ca_path(self) -> Optional[str]:
        """A CA directory."""
    @property
    def cert(self) -> Optional[str]:
        """A client certificate file."""
    @property
    def key(self) -> Optional[str]:
        """The client certificate's key file."""
    @property
    def proxy(self) -> Optional[str]:
        """The proxy URL; None or "": no proxy (never the environment's)."""
    @property
    def decode(self) -> bool:
        """Undo Content-Encoding (requests); False: the bytes as sent (httpx)."""
    @property
    def interface(self) -> Optional[str]:
        """The local address to bind ("host!1.2.3.4")."""
    @property
    def unix_socket(self) -> Optional[str]:
        """A Unix socket to connect to instead of the URL's host."""
    @property
    def resend_unsafe(self) -> bool:
        """Let libcurl send a non-idempotent request again when its reused
        connection died before any response byte (False: such a request
        fails with TransferError instead; idempotent ones are re-sent)."""

# A histogram of Stats.snapshot(): (count, sum, per-bucket counts: one per
# boundary and the overflow bucket).
Histogram = tuple[int, float, tuple[int, ...]]

@final
class Stats:
    """Request aggregates a Client or AsyncClient keeps (``stats=``), updated
    by the engine as transfers end; origins beyond ``max_origins`` fold into
    one ``"_other"`` entry."""

    def __init__(self, max_origins: int = 1000) -> None: ...
    def snapshot(self) -> dict[str, Any]:
        """A copy: ``bounds`` (the 14 histogram boundaries, seconds),
        ``origins`` [(name, open connections, transfers in flight, (queue,
        dns, connect, tls, first_byte histograms))], ``series`` [(origin
        index, method, status, CURLcode, phase, duration histogram)],
        ``counters`` [(kind, origin index, label, value)]."""
    def count(self, kind: int, origin: str, label: str, value: int, /) -> None:
        """Add ``value`` to the counter (kind STAT_STATE: set the gauge) of
        ``origin`` (a URL or "scheme://host:port") and ``label``."""

@final
class Client:
    """A pool of libcurl handles sharing connections, DNS and TLS sessions;
    usable from many threads at once (each transfer releases the GIL)."""

    def __init__(self, *, stats: Optional[Stats] = None) -> None: ...
    def perform(
        self,
        method: str,
        url: str,
        headers: Optional[tuple[bytes, ...]],
        body: SyncBody,
        connect_timeout: float,
        read_timeout: float,
        total_timeout: float,
        settings: Settings,
        stream: bool,
        /,
    ) -> Result:
        """One request: header lines are b"Name: value"; with stream=True it
        returns at the end of the headers and item 3 is a Stream."""
    def close(self) -> None:
        """Close the pooled connections; the next request opens new ones."""
    @property
    def idle_handles(self) -> int:
        """Easy handles waiting in the pool."""

@final
class Stream:
    """A response body that is still arriving (perform(..., stream=True))."""

    def read(self) -> bytes:
        """The body bytes that have arrived, waiting for at least one; b"" at
        the end. Raises TransferError if the body breaks."""
    def close(self) -> None:
        """Abort the transfer if still running (its connection is closed)."""
    def timings(self) -> Optional[bytes]:
        """libcurl's phase timings so far (result item 4), None once released."""
    @property
    def finished(self) -> bool:
        """True once the whole body was read."""

@final
class AsyncClient:
    """A connection pool with limits, driven by the engine thread."""

    def __init__(
        self,
        max_connections: int = 100,
        max_connections_per_host: int = 0,
        http2: bool = False,
        *,
        stats: Optional[Stats] = None,
    ) -> None: ...
    def submit(
        self,
        port: Port,
        future: asyncio.Future[Result],
        method: str,
        url: str,
        host: str,
        headers: Optional[tuple[bytes, ...]],
        body: Union[bytes, None, int],
        connect_timeout: float,
        read_timeout: float,
        total_timeout: float,
        settings: Settings,
        stream: bool,
        /,
    ) -> AsyncTransfer:
        """Hand one request to the engine thread; ``future`` is resolved (on
        the loop that drains ``port``) with the result or an exception. host
        keys the per-host limit. body: bytes, None, or the announced length
        (-1: chunked) of a body then fed with AsyncTransfer.feed(). Raises
        RuntimeError once closed."""
    def close(self) -> None:
        """Close the pooled connections once in-flight transfers end."""

@final
class Port:
    """The mailbox of one event loop: completions arrive through one eventfd."""

    def __init__(self) -> None: ...
    def fileno(self) -> int:
        """The eventfd to watch for readability."""
    def drain(self) -> None:
        """Resolve the futures of every transfer with news (the reader callback)."""

@final
class AsyncTransfer:
    """One request on the engine thread (made by AsyncClient.submit)."""

    def cancel(self) -> None:
        """Stop the transfer (its connection is closed, not reused)."""
    def take(self) -> Optional[bytes]:
        """stream=True: body bytes that arrived, b"" at the end, or None: call
        wait() and await its future first. Raises TransferError if the body
        broke."""
    def wait(self, future: asyncio.Future[None], /) -> None:
        """Resolve ``future`` with None when take() has something new."""
    def feed(self, chunk: bytes, /) -> int:
        """Add a piece of a streamed request body (b"" ends it): 0 go on,
        1 call wait_upload() first, 2 the transfer is over: stop producing."""
    def wait_upload(self, future: asyncio.Future[None], /) -> bool:
        """True: ``future`` is resolved once the producer may go on (or the
        transfer ends); False: go on now."""
    @property
    def finished(self) -> bool:
        """The body was read to its end."""

@final
class SSEParser:
    """An incremental server-sent events parser (WHATWG event-stream rules)."""

    def __init__(self, last_event_id: str = "") -> None: ...
    def feed(self, data: bytes, /) -> list[tuple[str, str, str, Optional[int]]]:
        """The events these bytes complete, as (event, data, id, retry)."""
    @property
    def last_event_id(self) -> str:
        """The last event id seen."""

@final
class Pending(Coroutine[Any, Any, Any]):
    """Pending(session, url): the coroutine of a plain AsyncSession.get(url).
    It calls session._pending_start(url) -> (future, prep, transfer, proxy),
    session._pending_done(prep, result) -> Response or an awaitable it then
    awaits, and session._pending_failed(exc, transfer, prep, proxy) -> the
    exception to raise."""

    def __init__(self, session: Any, url: Any, /) -> None: ...
    def send(self, value: Any, /) -> Any: ...
    def throw(self, typ: Any, val: Any = ..., tb: Any = ..., /) -> Any: ...
    def close(self) -> None: ...
    def __next__(self) -> Any: ...
    def __await__(self) -> Generator[Any, None, Any]: ...  # the object itself

@final
class WebSocket:
    """WebSocket(max_size=1048576): one WebSocket connection (ws.h), a
    dedicated easy handle with CONNECT_ONLY=2. Events are tuples: (1, str)
    text, (2, bytes) binary, (10, bytes) a pong's payload, (8, code, reason)
    the end of input (the close frame, ours for 1007/1009/1011, or 1006)."""

    def __init__(self, max_size: int = ...) -> None: ...
    def connect(
        self,
        url: str,
        headers: tuple[bytes, ...],
        settings: Settings,
        connect_timeout: float,
        open_timeout: float,
        /,
    ) -> None:
        """The handshake, GIL released; TransferError on failure (then
        .status and .head say what the server answered)."""
    def recv(self, timeout_ms: int, /) -> list[tuple[Any, ...]]:
        """Waits (GIL released) until an event is ready or the time is up
        ([]); -1 waits forever. Signals are checked every 100 ms."""
    def drain(self, room: int, /) -> tuple[list[tuple[Any, ...]], int]:
        """The events ready now, at most ``room`` whole messages, never
        waiting; the int has bit 1 (more may be ready: call again) and bit 2
        (frames wait for a writable socket)."""
    def send(self, data: Any, kind: int, wait_ms: int, /) -> tuple[int, bool]:
        """Queue a frame (a copy) of ``kind`` (1 text, 2 binary, 8 close,
        9 ping, 10 pong) and write what the socket takes; wait_ms != 0 waits
        for it to be written (-1 forever). (its number, whether written)."""
    def flush(self) -> int:
        """Write queued frames; the number of the last one written."""
    def close(self) -> None:
        """Close the connection at once (no close frame)."""
    def fileno(self) -> int: ...
    @property
    def status(self) -> int: ...
    @property
    def head(self) -> bytes: ...
    @property
    def pending(self) -> bool: ...
    @property
    def failure(self) -> int: ...
