"""Request, PreparedRequest and Response, with requests' attributes and rules.

A Response is built from what the engine returns: the status, the raw header
block and the body (or a Stream still delivering it). Headers, text, cookies,
elapsed and the reason phrase are computed only when first read.
"""

from __future__ import annotations

import codecs
import json as _json
import re
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional

from ._body import encode_body, is_stream, stream_length
from ._headers import check_header_validity, check_method
from ._raw import AsyncRawResponse, RawResponse
from ._url import PreparedURL, prepare_url
from ._wire import HTTP_VERSIONS, TIMINGS, parse_head, timings_dict
from .auth import HTTPBasicAuth
from .exceptions import (
    HTTPError,
    StreamConsumedError,
)
from .exceptions import JSONDecodeError as RequestsJSONDecodeError
from .status_codes import codes
from .structures import CaseInsensitiveDict, _slotted_state

if TYPE_CHECKING:
    import datetime

    from .cookies import RequestsCookieJar
    from .sse import ServerSentEvent

__all__ = ["Request", "PreparedRequest", "Response", "HOOKS", "default_hooks", "dispatch_hook"]

HOOKS = ["response"]
REDIRECT_STATI = (301, 302, 303, 307, 308)
DEFAULT_REDIRECT_LIMIT = 30
CONTENT_CHUNK_SIZE = 10 * 1024
ITER_CHUNK_SIZE = 512

# The cookie helpers are imported where used (see sessions._COOKIE_NAMES);
# requests.models has these names.
_COOKIE_NAMES = frozenset(
    {
        "RequestsCookieJar",
        "_copy_cookie_jar",
        "cookiejar_from_dict",
        "extract_cookies_to_jar",
        "get_cookie_header",
    }
)


def __getattr__(name: str) -> Any:
    if name in _COOKIE_NAMES:
        from . import cookies

        return getattr(cookies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_hooks() -> dict[str, list[Callable[..., Any]]]:
    return {event: [] for event in HOOKS}


def dispatch_hook(key: str, hooks: Any, hook_data: Any, **kwargs: Any) -> Any:
    """Run the hooks registered for ``key``; a hook may replace the data."""
    hooks = hooks or {}
    hooks = hooks.get(key)
    if hooks:
        if callable(hooks):
            hooks = [hooks]
        for hook in hooks:
            result = hook(hook_data, **kwargs)
            if result is not None:
                hook_data = result
    return hook_data


class RequestHooksMixin:
    hooks: dict[str, list[Callable[..., Any]]]

    def register_hook(self, event: str, hook: Any) -> None:
        if event not in self.hooks:
            raise ValueError(f'Unsupported event specified, with event name "{event}"')
        if callable(hook):
            self.hooks[event].append(hook)
        elif hasattr(hook, "__iter__"):
            self.hooks[event].extend(h for h in hook if callable(h))

    def deregister_hook(self, event: str, hook: Any) -> bool:
        try:
            self.hooks[event].remove(hook)
            return True
        except ValueError:
            return False


class Request(RequestHooksMixin):
    """A user-created request, turned into a PreparedRequest to be sent."""

    def __init__(
        self,
        method: Optional[str] = None,
        url: Any = None,
        headers: Any = None,
        files: Any = None,
        data: Any = None,
        params: Any = None,
        auth: Any = None,
        cookies: Any = None,
        hooks: Any = None,
        json: Any = None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = {} if headers is None else headers
        self.files = [] if files is None else files
        self.data = [] if data is None else data
        self.json = json
        self.params = {} if params is None else params
        self.auth = auth
        self.cookies = cookies
        self.hooks = default_hooks()
        for k, v in (hooks or {}).items():
            self.register_hook(event=k, hook=v)

    def __repr__(self) -> str:
        return f"<Request [{self.method}]>"

    def prepare(self) -> PreparedRequest:
        p = PreparedRequest()
        p.prepare(
            method=self.method,
            url=self.url,
            headers=self.headers,
            files=self.files,
            data=self.data,
            json=self.json,
            params=self.params,
            auth=self.auth,
            cookies=self.cookies,
            hooks=self.hooks,
        )
        return p


class SharedHeaders:
    """A session's merged headers, shared by every request prepared from them
    while they are unchanged (Session keeps one per header state). ``store``
    is a CaseInsensitiveDict's store that nobody changes: a PreparedRequest
    copies it when its ``headers`` are first read, so a request whose headers
    are never read or changed (a plain GET) makes no copy of its own."""

    __slots__ = ("store",)

    def __init__(self, store: dict[str, tuple[str, Any]]) -> None:
        self.store = store

    def __getstate__(self) -> Any:
        return _slotted_state(self)

    def view(self) -> CaseInsensitiveDict[Any]:
        """A CaseInsensitiveDict over ``store`` itself, to read, never change."""
        view: CaseInsensitiveDict[Any] = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
        view._store = self.store
        return view


class PreparedRequest(RequestHooksMixin):
    """The exact bytes that will be sent: method, URL, headers and body."""

    _hooks: Optional[dict[str, list[Callable[..., Any]]]] = None
    _headers: Any = None
    _watch: Any = None  # the observed call it belongs to (_core/observe.py), or None

    @property
    def headers(self) -> CaseInsensitiveDict[Any]:
        headers = self._headers
        if type(headers) is SharedHeaders:
            own: CaseInsensitiveDict[Any] = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
            own._store = headers.store.copy()
            headers = self._headers = own
        return headers  # type: ignore[no-any-return]

    @headers.setter
    def headers(self, value: Any) -> None:
        self._headers = value

    @property
    def hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """Made on first use: most requests never have a hook."""
        if self._hooks is None:
            self._hooks = default_hooks()
        return self._hooks

    @hooks.setter
    def hooks(self, value: dict[str, list[Callable[..., Any]]]) -> None:
        self._hooks = value

    def __init__(self) -> None:
        self.method: Optional[str] = None
        self.url: Optional[str] = None
        self.headers: CaseInsensitiveDict[Any] = CaseInsensitiveDict()
        self._cookies: Any = None
        self.body: Any = None
        self.hooks = default_hooks()
        self._body_position: Any = None
        self._target: Optional[PreparedURL] = None

    def prepare(
        self,
        method: Optional[str] = None,
        url: Any = None,
        headers: Any = None,
        files: Any = None,
        data: Any = None,
        params: Any = None,
        auth: Any = None,
        cookies: Any = None,
        hooks: Any = None,
        json: Any = None,
    ) -> None:
        self.prepare_method(method)
        self.prepare_url(url, params)
        self.prepare_headers(headers)
        self.prepare_cookies(cookies)
        self.prepare_body(data, files, json)
        self.prepare_auth(auth, url)
        self.prepare_hooks(hooks)

    def __repr__(self) -> str:
        return f"<PreparedRequest [{self.method}]>"

    def copy(self) -> PreparedRequest:
        p = PreparedRequest()
        p.method = self.method
        p.url = self.url
        headers = self._headers
        if type(headers) is SharedHeaders:
            p._headers = headers  # nobody changes it: no need to copy
        else:
            p.headers = headers.copy() if headers is not None else None
        if self._cookies is not None:
            from .cookies import _copy_cookie_jar

            p._cookies = _copy_cookie_jar(self._cookies)
        p.body = self.body
        p.hooks = self.hooks
        p._body_position = self._body_position
        p._target = self._target
        if self._watch is not None:
            p._watch = self._watch
        return p

    def prepare_method(self, method: Any) -> None:
        self.method = method
        if self.method is not None:
            if isinstance(self.method, bytes):
                self.method = self.method.decode("ascii")
            self.method = self.method.upper()
            check_method(self.method)

    def prepare_url(self, url: Any, params: Any) -> None:
        target = prepare_url(url, params)
        self._target = target
        self.url = target.url

    def prepare_headers(self, headers: Any) -> None:
        self.headers = CaseInsensitiveDict()
        if headers:
            for name, value in headers.items():
                check_header_validity(name, value)
                self.headers[name.decode("ascii") if isinstance(name, bytes) else name] = value

    def prepare_body(self, data: Any, files: Any, json: Any = None) -> None:
        if files and is_stream(data):
            raise NotImplementedError("Streamed bodies and files are mutually exclusive.")
        body, content_type = encode_body(data, files, json)
        self.body = body
        if is_stream(body):
            try:
                self._body_position = body.tell()
            except (AttributeError, OSError):
                self._body_position = object()  # cannot be rewound
        self.prepare_content_length(body)
        if is_stream(body) and "Content-Length" not in self.headers:
            self.headers["Transfer-Encoding"] = "chunked"  # length unknown
        if content_type and "content-type" not in self.headers:
            self.headers["Content-Type"] = content_type

    def prepare_content_length(self, body: Any) -> None:
        """Content-Length of the body; "0" for a method that should carry one
        but has none; nothing for a stream of unknown length."""
        if body is not None:
            streamed = is_stream(body)
            if streamed:
                length = stream_length(body)
            else:
                length = len(body.encode("utf-8") if isinstance(body, str) else body)
            if length:
                self.headers["Content-Length"] = str(length)
                return
            if streamed:
                return
        if self.method not in ("GET", "HEAD") and self.headers.get("Content-Length") is None:
            self.headers["Content-Length"] = "0"

    def prepare_auth(self, auth: Any, url: str = "") -> None:
        if auth is None and self._target is not None and self._target.auth:
            auth = self._target.auth if any(self._target.auth) else None
        if auth:
            if isinstance(auth, tuple) and len(auth) == 2:
                auth = HTTPBasicAuth(*auth)
            result = auth(self)
            self.__dict__.update(result.__dict__)
            if "headers" in self.__dict__:  # from an object whose headers are an attribute
                self._headers = self.__dict__.pop("headers")
            self.prepare_content_length(self.body)

    def prepare_cookies(self, cookies: Any) -> None:
        from .cookies import RequestsCookieJar, cookiejar_from_dict, get_cookie_header

        if isinstance(cookies, RequestsCookieJar) or (
            cookies is not None and hasattr(cookies, "add_cookie_header")
        ):
            self._cookies = cookies
        else:
            self._cookies = cookiejar_from_dict(cookies)
        cookie_header = get_cookie_header(self._cookies, self)
        if cookie_header is not None:
            self.headers["Cookie"] = cookie_header

    def prepare_hooks(self, hooks: Any) -> None:
        hooks = hooks or []
        for event in hooks:
            self.register_hook(event, hooks[event])

    @property
    def path_url(self) -> str:
        target = self._target or prepare_url(self.url)
        rest = target.wire.split("://", 1)[1]  # type: ignore[union-attr]  # None: not http(s)
        slash = rest.find("/")
        return rest[slash:] if slash >= 0 else "/"


# Response ------------------------------------------------------------------


def _headers_from_pairs(pairs: list[tuple[str, str]]) -> CaseInsensitiveDict[str]:
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    store = headers._store
    for name, value in pairs:
        key = name.lower()
        seen = store.get(key)
        store[key] = (name, value) if seen is None else (seen[0], f"{seen[1]}, {value}")
    return headers


def _encoding_from_content_type(content_type: Optional[str]) -> Optional[str]:
    """requests' rule: the charset parameter; else ISO-8859-1 for text/*,
    UTF-8 for application/json; else unknown."""
    if not content_type:
        return None
    media, *params = content_type.split(";")
    for param in params:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("'\"") or None
    media = media.strip().lower()
    if "text" in media:
        return "ISO-8859-1"
    if "application/json" in media:
        return "utf-8"
    return None


def _guess_json_utf(data: bytes) -> Optional[str]:
    """JSON starts with two ASCII characters, so the NUL pattern of the first
    four bytes tells UTF-8, -16 or -32 apart (RFC 4627)."""
    sample = data[:4]
    if sample in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE):
        return "utf-32"
    if sample[:3] == codecs.BOM_UTF8:
        return "utf-8-sig"
    if sample[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    nulls = sample.count(b"\x00")
    if nulls == 0:
        return "utf-8"
    if nulls == 2:
        if sample[::2] == b"\x00\x00":
            return "utf-16-be"
        if sample[1::2] == b"\x00\x00":
            return "utf-16-le"
    if nulls == 3:
        if sample[:3] == b"\x00\x00\x00":
            return "utf-32-be"
        if sample[1:] == b"\x00\x00\x00":
            return "utf-32-le"
    return None


def _detect_encoding(content: bytes) -> str:
    """A standard-library stand-in for chardet: BOMs, then ASCII, then UTF-8,
    then Windows-1252 (the usual encoding of undeclared legacy text)."""
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if content.startswith(bom):
            return name
    if content.isascii():
        return "ascii"
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "windows-1252"


def parse_header_links(value: str) -> list[dict[str, str]]:
    """Parse a Link header into a list of dicts with 'url' and the parameters."""
    links: list[dict[str, str]] = []
    replace_chars = " '\""
    value = value.strip(replace_chars)
    if not value:
        return links
    for val in re.split(", *<", value):
        try:
            url, params = val.split(";", 1)
        except ValueError:
            url, params = val, ""
        link = {"url": url.strip("<> '\"")}
        for param in params.split(";"):
            try:
                key, v = param.split("=")
            except ValueError:
                break
            link[key.strip(replace_chars)] = v.strip(replace_chars)
        links.append(link)
    return links


_UNSET: Any = object()


def _timedelta(*args: Any, **kwargs: Any) -> datetime.timedelta:
    """datetime.timedelta, imported on first use (Response.elapsed)."""
    import datetime

    return datetime.timedelta(*args, **kwargs)


_NO_HISTORY: Any = object()  # Response.history before it is read or set


class Response:
    """The server's response to an HTTP request."""

    # What every response has lives in slots (no per-response dict for them);
    # what is parsed or set later (headers, reason, cookies, ...) goes to the
    # instance dict, over the class-level defaults below.
    __slots__ = (
        "_content",
        "_content_consumed",
        "status_code",
        "_raw_head",
        "url",
        "_history",
        "_timings",
        "_request",
        "_version",
        "_stream",
        "connection",
        "__dict__",
        "__weakref__",
    )

    __attrs__ = [
        "_content",
        "status_code",
        "headers",
        "url",
        "history",
        "encoding",
        "reason",
        "cookies",
        "elapsed",
        "request",
    ]

    _history: list[Response]  # a slot; _NO_HISTORY until read or set

    # Defaults for responses built by _from_engine(), which sets the slots.
    _next: Optional[PreparedRequest] = None
    # the Retry that got this response, once a retry happened (see policy/call.py)
    retries: Any = None
    # libcurl sent the request a second time on a fresh connection: the reused
    # one had died before any response byte (idempotent requests only)
    resent = False
    attempts = 1  # sends of this hop under a retry policy
    _headers: Any = None
    _pairs: Optional[list[tuple[str, str]]] = None
    _reason: Any = None
    _raw: Any = None
    _encoding: Any = _UNSET
    _cookies: Any = None
    _elapsed: Any = None

    def __init__(self) -> None:
        self._content: Any = False
        self._content_consumed = False
        self._next: Optional[PreparedRequest] = None
        # int as in requests' stubs, though a Response() not from a server
        # has None, as in requests
        self.status_code: int = None  # type: ignore[assignment]
        self._headers: Any = CaseInsensitiveDict()
        self._raw_head: Optional[bytes] = None
        self._pairs: Optional[list[tuple[str, str]]] = None
        self._reason: Any = None
        self.raw: Any = None
        self.url: str = None  # type: ignore[assignment]  # as status_code
        self._encoding: Any = _UNSET
        self.history: list[Response] = []
        self._cookies: Any = None
        self._elapsed: Any = _timedelta(0)
        self._timings: Optional[bytes] = None
        self._request: Any = None
        self._version = 11
        self._stream: Any = None
        self.connection: Any = None

    @classmethod
    def _from_engine(
        cls,
        result: tuple[int, int, bytes, Any, bytes, int],
        request: PreparedRequest,
        raw_type: Any = None,
        connection: Any = None,
    ) -> Response:
        status, version, raw_head, payload, timings, _ = result  # see _wire
        self = cls.__new__(cls)
        # the slots; the rest keeps the class-level defaults
        self.status_code = status
        self._raw_head = raw_head
        self.url = request.url  # type: ignore[assignment]  # prepared: a str
        self._history = _NO_HISTORY
        self._timings = timings
        self._request = request
        self._version = version
        self.connection = connection
        if type(payload) is bytes:
            self._content = payload
            self._content_consumed = True
            self._stream = None
        else:
            self._content = False
            self._content_consumed = False
            self._stream = payload
            self.raw = (raw_type or RawResponse)(self, payload)
        return self

    # lazily parsed parts ---------------------------------------------------

    def _parse(self) -> None:
        reason, pairs = parse_head((self._raw_head or b"").decode("latin-1"))
        self._pairs = pairs
        if self._reason is None:
            self._reason = reason
        if self._headers is None:
            self._headers = _headers_from_pairs(pairs)

    def _header_pairs(self) -> list[tuple[str, str]]:
        """Every header field as received, repeated ones separately."""
        if self._pairs is None:
            if self._raw_head is None:
                return list(self.headers.items())
            self._parse()
        return self._pairs  # type: ignore[return-value]

    @property
    def history(self) -> list[Response]:
        """The responses of the redirects that led here, oldest first."""
        history = self._history
        if history is _NO_HISTORY:  # made on first use: most responses have none
            history = self._history = []
        return history

    @history.setter
    def history(self, value: list[Response]) -> None:
        self._history = value

    @property
    def raw(self) -> Any:
        """The body as a file-like object; for a response that is not streamed
        it is already read, so ``raw.read()`` gives b"" (as in requests)."""
        raw = self._raw
        if raw is None and self._raw_head is not None:
            raw = self._raw = RawResponse(self, None)
        return raw

    @raw.setter
    def raw(self, value: Any) -> None:
        self._raw = value

    @property
    def headers(self) -> CaseInsensitiveDict[str]:
        if self._headers is None:
            self._parse()
        return self._headers  # type: ignore[no-any-return]

    @headers.setter
    def headers(self, value: Any) -> None:
        self._headers = value

    @property
    def reason(self) -> str:
        if self._reason is None and self._raw_head is not None:
            self._parse()
        return self._reason  # type: ignore[no-any-return]

    @reason.setter
    def reason(self, value: Any) -> None:
        self._reason = value

    @property
    def encoding(self) -> Optional[str]:
        if self._encoding is _UNSET:
            self._encoding = _encoding_from_content_type(self.headers.get("content-type"))
        return self._encoding  # type: ignore[no-any-return]

    @encoding.setter
    def encoding(self, value: Optional[str]) -> None:
        self._encoding = value

    @property
    def cookies(self) -> RequestsCookieJar:
        if self._cookies is None:
            from .cookies import RequestsCookieJar, extract_cookies_to_jar

            jar = RequestsCookieJar()
            if self._request is not None and self._raw_head is not None:
                extract_cookies_to_jar(jar, self._request, self)
            self._cookies = jar
        return self._cookies  # type: ignore[no-any-return]

    @cookies.setter
    def cookies(self, value: Any) -> None:
        self._cookies = value

    @property
    def elapsed(self) -> datetime.timedelta:
        """Time from sending the request to the arrival of the response headers."""
        if self._elapsed is None:
            t = self._timing_values()
            self._elapsed = _timedelta(seconds=t[4] or t[5])
        return self._elapsed  # type: ignore[no-any-return]

    @elapsed.setter
    def elapsed(self, value: datetime.timedelta) -> None:
        self._elapsed = value

    @property
    def http_version(self) -> str:
        """The protocol of the response: "HTTP/1.1", "HTTP/2", "HTTP/1.0"."""
        return HTTP_VERSIONS.get(self._version, "HTTP/1.1")

    @property
    def timings(self) -> dict[str, Any]:
        """The phases of this response's transfer in seconds since it started
        (namelookup, connect, tls, pretransfer, first_byte, total), ``queue``
        (its wait for a connection slot), ``redirect`` (the time of the
        redirect hops before it), ``reused`` (its connection was) and
        ``attempts`` (sends under a retry policy; 1 without one). See
        docs/observability.md."""
        history = self.history
        redirect = sum(hop._timing_values()[5] for hop in history) if history else 0.0
        return timings_dict(self._timings, self.attempts, redirect)

    def _timing_values(self) -> tuple[float, ...]:
        packed = self._timings
        return TIMINGS.unpack(packed) if packed else (0.0,) * 8

    @property
    def request(self) -> PreparedRequest:
        return self._request  # type: ignore[no-any-return]

    @request.setter
    def request(self, value: Any) -> None:
        self._request = value

    def _request_obj(self) -> Any:
        return self._request

    # the requests API --------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        if not self._content_consumed:
            self.content
        state = {attr: getattr(self, attr, None) for attr in self.__attrs__}
        # what requestx adds: http_version and timings
        state["_version"] = getattr(self, "_version", 11)
        state["_timings"] = getattr(self, "_timings", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        for name, value in state.items():
            setattr(self, name, value)
        self._content_consumed = True
        self.raw = None

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"

    def __bool__(self) -> bool:
        return self.ok

    def __nonzero__(self) -> bool:
        return self.ok

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_content(128)

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    @property
    def ok(self) -> bool:
        try:
            self.raise_for_status()
        except HTTPError:
            return False
        return True

    @property
    def is_redirect(self) -> bool:
        return "location" in self.headers and self.status_code in REDIRECT_STATI

    @property
    def is_permanent_redirect(self) -> bool:
        return "location" in self.headers and self.status_code in (
            codes.moved_permanently,
            codes.permanent_redirect,
        )

    @property
    def next(self) -> Optional[PreparedRequest]:
        return self._next

    @property
    def apparent_encoding(self) -> str:
        return _detect_encoding(self.content or b"")

    def _chunks(self, chunk_size: Optional[int]) -> Iterator[bytes]:
        raw = self.raw
        if raw is None:
            return
        try:
            if hasattr(raw, "stream"):
                yield from raw.stream(chunk_size)
            else:  # any file-like object (tests and mocks set r.raw = BytesIO(...))
                while True:
                    chunk = raw.read(chunk_size or CONTENT_CHUNK_SIZE)
                    if not chunk:
                        break
                    yield chunk
        finally:
            self._content_consumed = True

    def iter_content(
        self, chunk_size: Optional[int] = 1, decode_unicode: bool = False
    ) -> Iterator[Any]:
        """Iterate over the body. Chunks are delivered as they arrive and are at
        most ``chunk_size`` bytes long; None means "whatever has arrived"."""
        if self._content_consumed and isinstance(self._content, bool):
            raise StreamConsumedError()
        if chunk_size is not None and not isinstance(chunk_size, int):
            raise TypeError(f"chunk_size must be an int, it is instead a {type(chunk_size)}.")
        if self._content_consumed:
            content = self._content or b""
            step = chunk_size or len(content) or 1
            chunks: Iterator[Any] = (content[i : i + step] for i in range(0, len(content), step))
        else:
            chunks = self._chunks(chunk_size)
        if decode_unicode:
            chunks = self._decode_stream(chunks)
        return chunks

    def _decode_stream(self, chunks: Iterator[bytes]) -> Iterator[Any]:
        if self.encoding is None:
            yield from chunks
            return
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")
        for chunk in chunks:
            text = decoder.decode(chunk)
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    def iter_lines(
        self,
        chunk_size: Optional[int] = ITER_CHUNK_SIZE,
        decode_unicode: bool = False,
        delimiter: Any = None,
    ) -> Iterator[Any]:
        """Iterate over the body line by line; each complete line is yielded
        as soon as it has arrived (no waiting for ``chunk_size`` bytes)."""
        pending = None
        for chunk in self.iter_content(chunk_size=chunk_size, decode_unicode=decode_unicode):
            if pending is not None:
                chunk = pending + chunk
            lines = chunk.split(delimiter) if delimiter else chunk.splitlines()
            if lines and lines[-1] and chunk and lines[-1][-1] == chunk[-1]:
                pending = lines.pop()
            else:
                pending = None
            yield from lines
        if pending is not None:
            yield pending

    @property
    def content(self) -> Any:
        """The whole body as bytes."""
        if self._content is False:
            if self._content_consumed:
                raise RuntimeError("The content for this response was already consumed")
            if isinstance(self.raw, AsyncRawResponse):
                raise RuntimeError(
                    "this response's body is still streaming on the event loop: "
                    "use `await response.aread()` first"
                )
            if self.status_code == 0 or self.raw is None:
                self._content = None
            else:
                self._content = self.raw.read()
            self._content_consumed = True
        return self._content

    @property
    def text(self) -> str:
        """The body decoded with ``encoding`` (or the apparent encoding)."""
        content = self.content
        if not content:
            return ""
        encoding = self.encoding
        if encoding is None:
            encoding = self.apparent_encoding
        try:
            return str(content, encoding, errors="replace")
        except (LookupError, TypeError):
            return str(content, errors="replace")

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON; raises requestx.JSONDecodeError if it is not."""
        content = self.content
        encoding = self.encoding
        try:
            if not encoding and content and len(content) > 3:
                guessed = _guess_json_utf(content)
                if guessed is not None:
                    try:
                        return _json.loads(content.decode(guessed), **kwargs)
                    except UnicodeDecodeError:
                        pass
            if encoding and encoding.lower().replace("-", "") == "utf8" and content:
                return _json.loads(content.decode("utf-8"), **kwargs)
            return _json.loads(self.text, **kwargs)
        except _json.JSONDecodeError as exc:
            raise RequestsJSONDecodeError(exc.msg, exc.doc, exc.pos) from None

    @property
    def links(self) -> dict[str, dict[str, str]]:
        header = self.headers.get("link")
        resolved: dict[str, dict[str, str]] = {}
        if header:
            for link in parse_header_links(header):
                key = link.get("rel") or link.get("url")
                resolved[key] = link  # type: ignore[index]
        return resolved

    def raise_for_status(self) -> None:
        """Raise HTTPError for a 4xx or 5xx status."""
        reason = self.reason
        if isinstance(reason, bytes):
            try:
                reason = reason.decode("utf-8")
            except UnicodeDecodeError:
                reason = reason.decode("iso-8859-1")
        status = self.status_code or 0
        if 400 <= status < 500:
            msg = f"{status} Client Error: {reason} for url: {self.url}"
        elif 500 <= status < 600:
            msg = f"{status} Server Error: {reason} for url: {self.url}"
        else:
            return
        raise HTTPError(msg, response=self)

    def iter_sse(self) -> Iterator[ServerSentEvent]:
        """Server-sent events (``requestx.ServerSentEvent``), each yielded as
        soon as it is complete; use with ``stream=True``."""
        from .sse import iter_sse

        return iter_sse(self)

    def aiter_sse(self) -> AsyncIterator[ServerSentEvent]:
        """The async twin of iter_sse(), for AsyncSession responses."""
        from .sse import aiter_sse

        return aiter_sse(self)

    # asyncio: responses of AsyncSession (stream=True) ---------------------------

    async def aread(self) -> bytes:
        """Read the rest of the body (an AsyncSession stream) and return it all."""
        if self._content is False:
            raw = self.raw
            self._content = await raw.read() if isinstance(raw, AsyncRawResponse) else b""
            self._content_consumed = True
        return self._content  # type: ignore[no-any-return]

    async def aiter_content(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        """Yield the body as it arrives, in chunks of at most ``chunk_size``."""
        raw = self.raw
        if not isinstance(raw, AsyncRawResponse) or self._content_consumed:
            if self._content_consumed and isinstance(self._content, bool):
                raise StreamConsumedError()
            content = self._content or b""
            step = chunk_size or len(content) or 1
            for i in range(0, len(content), step):
                yield content[i : i + step]
            return
        try:
            async for chunk in raw.stream(chunk_size):
                yield chunk
        finally:
            self._content_consumed = True

    async def aiter_lines(
        self, chunk_size: Optional[int] = None, delimiter: Any = None
    ) -> AsyncIterator[bytes]:
        """Yield each line as soon as it is complete."""
        pending = None
        async for chunk in self.aiter_content(chunk_size):
            if pending is not None:
                chunk = pending + chunk
            lines = chunk.split(delimiter) if delimiter else chunk.splitlines()
            if lines and lines[-1] and chunk and lines[-1][-1] == chunk[-1]:
                pending = lines.pop()
            else:
                pending = None
            for line in lines:
                yield line
        if pending is not None:
            yield pending

    async def aclose(self) -> None:
        """Stop an unfinished async stream (its connection is closed)."""
        self.close()

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection: an unread stream is aborted, never reused."""
        if self._raw is not None and hasattr(self._raw, "close"):
            self._raw.close()
        self._stream = None
