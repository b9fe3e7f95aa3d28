"""BaseSession: everything a session does that is not I/O.

Session (sync) and AsyncSession (asyncio) are siblings over this class, as
httpx's Client and AsyncClient are over its BaseClient. What is here is
written once for both: the attributes requests users set (headers, auth,
cookies, proxies, params, verify, cert, ...), pickling, preparing a request,
the environment merge, the engine settings of a hop, the header lines and
body handed to the engine, building a Response from the engine's result, and
the redirect policy (which responses redirect, where to, with which method,
auth, cookies and proxies). What each face keeps is only what waits: its hop
(one request handed to the engine), its redirect loop and its connection
object (``Response.connection``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Generic, Optional, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

from .. import adapters as _adapters
from .._body import rewind
from .._environment import (
    DEFAULT_PORTS,
    environment_ca_bundle,
    environment_proxies,
    netrc_auth,
    netrc_exists,
    select_proxy,
    should_bypass_proxy,
)
from .._headers import DEFAULT_HEADER_STORE, check_method, default_headers
from .._timeout import TimeoutSetting
from .._url import prepare_url, requote_uri, sendable
from .._wire import (
    FLAG_LENGTH_CONFLICT,
    FLAG_RESENT,
    FLAG_SETS_COOKIE,
    RESULT_FLAGS,
    forwarded_lines,
    request_lines,
)
from ..auth import _basic_auth_str
from ..exceptions import InvalidHeader, InvalidSchema, TooManyRedirects
from ..models import (
    DEFAULT_REDIRECT_LIMIT,
    REDIRECT_STATI,
    PreparedRequest,
    Request,
    Response,
    SharedHeaders,
    default_hooks,
)
from ..policy.call import Attempts
from ..policy.deadline import Deadline
from ..policy.retry import as_retry
from ..status_codes import codes
from ..structures import CaseInsensitiveDict
from . import settings as _settings
from . import stats as _stats

__all__ = [
    "BaseConnection",
    "BaseSession",
    "merge_setting",
    "merge_hooks",
    "should_strip_auth",
    "timeouts",
]

# Methods for which urllib3 sends "Content-Length: 0" when there is no body.
_METHODS_EXPECTING_BODY = frozenset({"PATCH", "POST", "PUT"})

# The usual methods in upper case: a request keeps this string rather than a
# new one made by str.upper().
_UPPER_METHODS = {
    name: name.upper()
    for verb in ("get", "post", "put", "patch", "delete", "head", "options")
    for name in (verb, verb.upper())
}

# Session.cookies before its jar is made and Session.hooks before its dict is
# (a session may never need either); the lock makes sure threads sharing a
# session make one of each, not one per thread. _SET_TO_NONE stands for
# `session.hooks = None`.
_NO_JAR: Any = object()
_SET_TO_NONE: Any = object()
_LAZY_INIT_LOCK = threading.Lock()

# What sessions whose headers are still the defaults share, instead of one
# copy each (module functions make a session per call): the headers requests
# send, and their wire lines for a request without a body.
_DEFAULT_SHARED_HEADERS = SharedHeaders(DEFAULT_HEADER_STORE)
_DEFAULT_CLEAN_HEADERS = (DEFAULT_HEADER_STORE, _DEFAULT_SHARED_HEADERS)
_DEFAULT_LINES = (DEFAULT_HEADER_STORE, request_lines(_DEFAULT_SHARED_HEADERS.view(), False))

_NO_TIMEOUTS = (0.0, 0.0)


def merge_setting(request_setting: Any, session_setting: Any, dict_class: Any = dict) -> Any:
    """A request's setting over the session's; for mappings, merged key by key,
    with keys the request sets to None removed."""
    if session_setting is None:
        return request_setting
    if request_setting is None:
        return session_setting
    if not (isinstance(session_setting, Mapping) and isinstance(request_setting, Mapping)):
        return request_setting
    merged = dict_class(session_setting.items())
    merged.update(request_setting.items())
    for key in [k for k, v in merged.items() if v is None]:
        del merged[key]
    return merged


def merge_hooks(request_hooks: Any, session_hooks: Any, dict_class: Any = dict) -> Any:
    if session_hooks is None or session_hooks.get("response") == []:
        return request_hooks
    if request_hooks is None or request_hooks.get("response") == []:
        return session_hooks
    return merge_setting(request_hooks, session_hooks, dict_class)


def timeouts(timeout: Any) -> tuple[float, float]:
    """(connect, read) seconds from requests' timeout argument; 0 = no limit."""
    if timeout is None:
        return _NO_TIMEOUTS
    if type(timeout) is TimeoutSetting:  # already checked; its total is the call's (see _policy)
        return timeout.connect or 0.0, timeout.read or 0.0
    if isinstance(timeout, tuple):
        try:
            connect, read = timeout
        except ValueError:
            raise ValueError(
                f"Invalid timeout {timeout}. Pass a (connect, read) timeout tuple, "
                "or a single float to set both timeouts to the same value."
            ) from None
    else:
        connect = read = timeout
    values = []
    for value in (connect, read):
        if value is None:
            values.append(0.0)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(
                f"Timeout value must be an int, float or None, not {type(value).__name__}"
            )
        if value <= 0:
            raise ValueError(f"Attempted to set timeout to {value}, but it must be > 0")
        values.append(float(value))
    return values[0], values[1]


def should_strip_auth(old_url: str, new_url: str) -> bool:
    """requests' rule: drop Authorization on a redirect to another host, or to
    another scheme or port (except the http -> https upgrade on default ports)."""
    old, new = urlsplit(old_url), urlsplit(new_url)
    if old.hostname != new.hostname:
        return True
    if (
        old.scheme == "http"
        and old.port in (80, None)
        and new.scheme == "https"
        and new.port in (443, None)
    ):
        return False
    changed_port = old.port != new.port
    changed_scheme = old.scheme != new.scheme
    default_port = (DEFAULT_PORTS.get(old.scheme, None), None)
    if not changed_scheme and old.port in default_port and new.port in default_port:
        return False
    return changed_port or changed_scheme


def native_names(headers: Mapping[Any, Any]) -> CaseInsensitiveDict[Any]:
    """Header names as plain str (requests decodes bytes names)."""
    if not isinstance(headers, CaseInsensitiveDict):
        headers = CaseInsensitiveDict(headers)
    if all(type(name) is str for name in headers):
        return headers
    native: CaseInsensitiveDict[Any] = CaseInsensitiveDict()
    for name, value in headers.items():
        native[name.decode("ascii") if isinstance(name, bytes) else str(name)] = value
    return native


def _builtin_adapter() -> Any:
    """One of a session's two default adapters (not mounted by the user: the
    session's own retries apply under it)."""
    adapter = _adapters.HTTPAdapter()
    adapter._builtin = True  # type: ignore[attr-defined]
    return adapter


def _usable_retry(value: Any) -> Any:
    """The Retry a ``retries=`` value amounts to, or None when it can never
    allow another attempt (False, 0, requests' default ``Retry(0, read=False)``):
    the hop then runs without the loop."""
    retry = as_retry(value, None)
    if retry is None or retry.total == 0 or retry.total is False:
        return None
    return retry


def with_history(resp: Response, history: list[Response]) -> Response:
    """Give every hop the hops before it, and the final response them all."""
    for i, hop in enumerate(history):
        hop.history = history[:i]
    resp.history = history
    return resp


# What a face's request() returns: a Response (Session) or an awaitable of
# one (AsyncSession); the verbs return what request() does.
ResponseT = TypeVar("ResponseT")


class BaseSession(Generic[ResponseT]):
    """Persistent headers, cookies, auth, params, proxies and TLS settings,
    and the rules that turn them and a request's arguments into what the
    engine sends. Not used on its own: see Session and AsyncSession."""

    __attrs__ = [
        "headers",
        "cookies",
        "auth",
        "proxies",
        "hooks",
        "params",
        "verify",
        "cert",
        "adapters",
        "trust_env",
        "max_redirects",
    ]

    # Constructor arguments a pickle keeps, beside __attrs__.
    _init_state: tuple[str, ...] = ("http2", "http3", "retries", "resend_stale_connections")
    # (observers and stats are not pickled: a copy starts without them)

    # Whether get_redirect_target is BaseSession's own: _may_redirect's
    # shortcut skips calling it only then (set per class, below).
    _own_redirect_target = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._own_redirect_target = cls.get_redirect_target is BaseSession.get_redirect_target

    def __init__(
        self,
        *,
        http2: Any = False,
        http3: Any = False,
        retries: Any = None,
        breaker: Any = None,
        resend_stale_connections: str = "idempotent",
        observers: Optional[Iterable[Any]] = None,
        stats: bool = False,
        stats_max_origins: int = 1000,
    ) -> None:
        """``http2=True`` negotiates HTTP/2 over TLS (ALPN), HTTP/1.1 elsewhere;
        ``http2="prior_knowledge"`` speaks HTTP/2 (h2c) even over plain http.
        ``http3=True`` tries HTTP/3 (QUIC) for https URLs, racing a TCP
        connection against it that falls back to HTTP/2 or HTTP/1.1 when the
        server has no QUIC; plain http URLs use HTTP/1.1. ``http3="only"``:
        QUIC without fallback (an http URL is an InvalidURL). Either raises
        RuntimeError here when this libcurl has no HTTP/3.
        ``retries``: an int (as requests' ``Retry.from_int``) or a Retry, the
        policy of every request (see docs/resilience.md); ``breaker``: a
        CircuitBreaker consulted per attempt. ``resend_stale_connections``:
        when a reused connection turns out dead before any response byte,
        libcurl sends the request again on a new one: "idempotent" (the
        default) allows that for GET, HEAD, PUT, DELETE, OPTIONS and TRACE
        only (the others fail with ConnectionError, sent once); "always" for
        every method. ``observers``: objects told of each call's events
        (docs/observability.md); ``stats=True`` keeps aggregates in the
        engine (``stats()``), for at most ``stats_max_origins`` origins (the
        rest count as one, "_other")."""
        if resend_stale_connections not in ("idempotent", "always"):
            raise ValueError(
                "resend_stale_connections must be 'idempotent' or 'always', "
                f"not {resend_stale_connections!r}"
            )
        self.headers: Any = default_headers()
        self.auth: Any = None
        self.proxies: dict[str, str] = {}
        self._hooks: Any = None  # made when first read: see hooks
        self.params: Any = {}
        self.verify: Any = True
        self.cert: Any = None
        self.max_redirects = DEFAULT_REDIRECT_LIMIT
        self.trust_env = True
        self._cookie_jar: Any = _NO_JAR  # made when first used: see cookies
        self._adapters: Optional[dict[str, Any]] = None  # made when first used: see adapters
        self.http2 = http2
        self.http3 = _settings.check_http3(http3, http2)
        self._retries = retries
        self._retry = _usable_retry(retries)  # what _attempts uses of it
        self._breaker = breaker
        # whether anything of the session's own may add a policy to a call:
        # kept by the setters, so a request without one checks one flag
        self._has_policy = retries is not None or breaker is not None
        self.resend_stale_connections = resend_stale_connections
        # observers of this session's calls (with requestx.observers)
        self.observers: list[Any] = list(observers) if observers else []
        self._stats = _stats.new_stats(self, stats_max_origins) if stats else None
        # what the environment holds, read once (see _environment)
        self._env: Optional[tuple[dict[str, str], Optional[str], bool]] = None
        # the settings of a hop with no per-request option: (key, settings)
        self._default_settings: Optional[tuple[tuple[Any, ...], Any]] = None
        # the settings key whose files were last checked (see _resolve_settings)
        self._files_checked: Optional[tuple[Any, ...]] = None
        # the header lines last sent without and with a body (see _body_and_lines)
        self._lines_cache: Optional[tuple[dict[str, Any], tuple[bytes, ...]]] = None
        self._lines_cache_body: Optional[tuple[dict[str, Any], tuple[bytes, ...]]] = None
        # the session's headers without None values, shared (see _merged_headers)
        self._clean_headers: Optional[tuple[dict[str, Any], SharedHeaders]] = None

    @property
    def cookies(self) -> Any:
        """The session's cookie jar (a RequestsCookieJar until replaced)."""
        jar = self._cookie_jar
        if jar is _NO_JAR:
            from ..cookies import RequestsCookieJar

            with _LAZY_INIT_LOCK:
                jar = self._cookie_jar
                if jar is _NO_JAR:
                    jar = self._cookie_jar = RequestsCookieJar()
        return jar

    @cookies.setter
    def cookies(self, value: Any) -> None:
        self._cookie_jar = value

    @property
    def hooks(self) -> Any:
        """The session's event hooks, ``{"response": [...]}``."""
        hooks = self._hooks
        if hooks is None:
            with _LAZY_INIT_LOCK:
                hooks = self._hooks
                if hooks is None:
                    hooks = self._hooks = default_hooks()
        return None if hooks is _SET_TO_NONE else hooks

    @hooks.setter
    def hooks(self, value: Any) -> None:
        self._hooks = _SET_TO_NONE if value is None else value

    @property
    def retries(self) -> Any:
        """The session's retry policy: None (requests' default: none), an int
        (``Retry.from_int``) or a Retry."""
        return self._retries

    @retries.setter
    def retries(self, value: Any) -> None:
        self._retry = _usable_retry(value)  # TypeError now, not at the next request
        self._retries = value
        self._has_policy = True

    @property
    def breaker(self) -> Any:
        """The CircuitBreaker every request of the session consults, or None."""
        return self._breaker

    @breaker.setter
    def breaker(self, value: Any) -> None:
        self._breaker = value
        self._has_policy = True

    @property
    def adapters(self) -> dict[str, Any]:
        """requests' transport adapters by URL prefix, longest first (an
        HTTPAdapter for "https://" and "http://" until others are mounted)."""
        if self._adapters is None:
            self._adapters = {"https://": _builtin_adapter(), "http://": _builtin_adapter()}
            self._has_policy = True  # the dict may be changed in place from now on
        return self._adapters

    @adapters.setter
    def adapters(self, value: dict[str, Any]) -> None:
        self._adapters = value
        self._has_policy = True

    def mount(self, prefix: str, adapter: Any) -> None:
        """Use ``adapter`` for the URLs that start with ``prefix`` (the longest
        prefix wins): an HTTPAdapter's max_retries, or a BaseAdapter's send."""
        adapters = self.adapters
        adapters[prefix] = adapter
        for key in [k for k in adapters if len(k) < len(prefix)]:
            adapters[key] = adapters.pop(key)

    def get_adapter(self, url: str) -> Any:
        """The adapter mounted for ``url``."""
        for prefix, adapter in self.adapters.items():
            if url.lower().startswith(prefix.lower()):
                return adapter
        raise InvalidSchema(f"No connection adapters were found for {url!r}")

    def _mounted(self, url: str) -> Any:
        """The adapter the user mounted for ``url``, or None (the defaults,
        or none mounted: the session sends as configured)."""
        if self._adapters is None:
            return None
        try:
            adapter = self.get_adapter(url)
        except InvalidSchema:
            return None
        if getattr(adapter, "_builtin", False):
            return None  # the session's own default: the session's policy applies
        return adapter

    def _policy(self, timeout: Any, retries: Any, breaker: Any) -> Any:
        """What the call adds to each hop: (retries, breaker, deadline), or
        None when it adds nothing. The faces call it only when a request or
        the session has something (see _has_policy): the common request
        costs one check."""
        total = timeout.total if type(timeout) is TimeoutSetting else None
        if (
            retries is None
            and breaker is None
            and total is None
            and self._retries is None
            and self._breaker is None
            and self._adapters is None
        ):
            return None
        return (retries, breaker, Deadline(total) if total is not None else None)

    def _attempts(self, prep: PreparedRequest, policy: Any) -> Optional[Attempts]:
        """The retry and breaker state of one hop, or None for a plain hop."""
        retries, breaker, deadline = policy
        if retries is not None:
            retry = _usable_retry(retries)
        else:
            adapter = self._mounted(prep.url or "") if self._adapters is not None else None
            retry = self._retry if adapter is None else _usable_retry(adapter.max_retries)
        if breaker is None:
            breaker = self.breaker
        elif breaker is False:
            breaker = None
        if retry is None and breaker is None and deadline is None:
            return None
        return Attempts(prep, retry, breaker, deadline, watch=prep._watch, stats=self._stats)

    def _custom_adapter(self, url: str) -> Any:
        """A mounted adapter that sends requests itself (its own send())."""
        adapter = self._mounted(url)
        if adapter is None or getattr(type(adapter).send, "policy_only", False):
            return None
        return adapter

    def __getstate__(self) -> dict[str, Any]:
        state = {attr: getattr(self, attr, None) for attr in self.__attrs__ if attr != "adapters"}
        state["adapters"] = self._adapters  # None: the defaults, made when first read
        for name in self._init_state:
            state[name] = getattr(self, name)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        kwargs = {name: state.pop(name) for name in self._init_state if name in state}
        self.__init__(**kwargs)  # type: ignore[misc]
        for attr, value in state.items():
            if attr in self.__attrs__ and not (attr == "adapters" and value is None):
                setattr(self, attr, value)

    def _session_stream(self) -> bool:
        """The session's default for ``stream`` (Session has the attribute)."""
        return False

    def stats(self) -> Optional[_stats.Snapshot]:
        """The session's aggregates (``stats=True``; else None), a plain
        snapshot: see requestx/_core/stats.py and docs/observability.md."""
        return None if self._stats is None else _stats.snapshot(self._stats)

    # the verbs: request() is the face's -------------------------------------------

    # Each face sends in its own way: Session.request, AsyncSession.request.
    request: Callable[..., ResponseT]

    def get(self, url: Any, **kwargs: Any) -> ResponseT:
        kwargs.setdefault("allow_redirects", True)
        return self.request("GET", url, **kwargs)

    def options(self, url: Any, **kwargs: Any) -> ResponseT:
        kwargs.setdefault("allow_redirects", True)
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: Any, **kwargs: Any) -> ResponseT:
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def post(self, url: Any, data: Any = None, json: Any = None, **kwargs: Any) -> ResponseT:
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: Any, data: Any = None, **kwargs: Any) -> ResponseT:
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: Any, data: Any = None, **kwargs: Any) -> ResponseT:
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: Any, **kwargs: Any) -> ResponseT:
        return self.request("DELETE", url, **kwargs)

    # preparing --------------------------------------------------------------

    def _merged_headers(self, headers: Any) -> Any:
        """A request's headers over the session's: a CaseInsensitiveDict, or
        SharedHeaders when the session's headers alone are sent."""
        session_headers = self.headers
        if headers is not None or type(session_headers) is not CaseInsensitiveDict:
            merged = merge_setting(headers, session_headers, dict_class=CaseInsensitiveDict)
            if merged is None:
                return CaseInsensitiveDict()
            return native_names(merged)
        # session headers alone: every request shares their None-free copy
        # while they are unchanged (the comparison sees changes made in place)
        cached = self._clean_headers
        store = session_headers._store
        if cached is None or cached[0] != store:
            if store == DEFAULT_HEADER_STORE:
                cached = _DEFAULT_CLEAN_HEADERS
            else:
                clean = {k: kv for k, kv in store.items() if kv[1] is not None}
                cached = (store.copy(), SharedHeaders(clean))
            self._clean_headers = cached
        return cached[1]

    def prepare_request(self, request: Request) -> PreparedRequest:
        """Merge the session's settings into ``request`` and prepare it
        (requests' Session.prepare_request)."""
        return self._prepare(
            request.method,
            request.url,
            request.params,
            request.data,
            request.headers,
            request.cookies,
            request.files,
            request.auth,
            request.json,
            request.hooks,
            to_send=False,
        )

    def _prepare(
        self,
        method: Any,
        url: Any,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        cookies: Any = None,
        files: Any = None,
        auth: Any = None,
        json: Any = None,
        hooks: Any = None,
        to_send: bool = True,
    ) -> PreparedRequest:
        """The PreparedRequest for a request's arguments merged with the
        session's. ``to_send``: it is sent now, so a URL that cannot be sent
        fails here (InvalidSchema), and nothing it does not need is made;
        prepare_request() passes False and gets requests' full object."""
        if isinstance(method, bytes):
            method = method.decode("ascii")
        if method is not None:
            upper = _UPPER_METHODS.get(method) if type(method) is str else None
            if upper is None:
                upper = method.upper()
                check_method(upper)  # the usual ones need no check
            method = upper
        session_params = self.params
        if params is None:
            params = session_params or None
        elif session_params:
            params = merge_setting(params, session_params)
        target = prepare_url(url, params)
        if to_send:
            sendable(target)  # InvalidSchema before anything else is done

        p = PreparedRequest.__new__(PreparedRequest)
        p.method = method
        p.url = target.url
        p._target = target
        p.body = None
        p._body_position = None
        p._cookies = None
        p._headers = self._merged_headers(headers)
        if data or files or json is not None:
            p.prepare_body(data, files, json)
        elif method not in ("GET", "HEAD") and p.headers.get("Content-Length") is None:
            p.headers["Content-Length"] = "0"

        session_jar = self._cookie_jar
        if (session_jar is not _NO_JAR and session_jar._cookies) or cookies or not to_send:
            from ..cookies import RequestsCookieJar, cookiejar_from_dict, merge_cookies

            if cookies is not None and not hasattr(cookies, "add_cookie_header"):
                cookies = cookiejar_from_dict(cookies)
            jar = merge_cookies(merge_cookies(RequestsCookieJar(), self.cookies), cookies)
            p.prepare_cookies(jar)

        if auth is None:
            auth = self.auth
        if (
            auth is None
            and self.trust_env
            and self._environment()[2]
            and "Authorization" not in p.headers  # an explicit header beats .netrc
        ):
            auth = netrc_auth(target.url)  # as in requests, beats user:pass@ in the URL
        if auth is not None or target.auth is not None:
            p.prepare_auth(auth)

        session_hooks = self._hooks  # None: never read, so the empty default
        if session_hooks is _SET_TO_NONE:
            session_hooks = None
        merged_hooks = merge_hooks(hooks, session_hooks)
        if merged_hooks:
            p.prepare_hooks(merged_hooks)
        return p

    @staticmethod
    def _to_send(request: Any) -> PreparedRequest:
        """A PreparedRequest handed to send() or to Response.connection, with
        its URL prepared again if it was changed since."""
        if isinstance(request, Request):
            raise ValueError("You can only send PreparedRequests.")
        if request._target is None or request._target.url != request.url:
            request._target = prepare_url(request.url)
        return request  # type: ignore[no-any-return]

    # environment and engine settings ----------------------------------------

    def _environment(self) -> tuple[dict[str, str], Optional[str], bool]:
        """Proxies, CA bundle and whether a .netrc exists, read from the
        environment once per session (requests reads them on every request)."""
        if self._env is None:
            self._env = (environment_proxies(), environment_ca_bundle(), netrc_exists())
        return self._env

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """requests' environment merge, with the one precedence rule every
        request of requestx follows: the request's proxies over the session's
        over the environment's, and an explicit ``verify`` (on the request or
        the session) over REQUESTS_CA_BUNDLE. The environment is read anew."""
        environment = environment_proxies() if self.trust_env else None
        merged = _settings.merge_proxies(url, proxies, self.proxies, environment)
        if verify is None:
            verify = self.verify
        if verify is True and self.trust_env:
            verify = environment_ca_bundle() or True
        return {
            "proxies": merged,
            "stream": merge_setting(stream, self._session_stream()),
            "verify": verify,
            "cert": merge_setting(cert, self.cert),
        }

    def _engine_settings(self, url: str, proxies: Any, verify: Any, cert: Any) -> tuple[Any, Any]:
        """The engine Settings for one hop, and how a proxy is used: None,
        "forward" (an http URL sent to an HTTP proxy) or "tunnel"."""
        if proxies is None and verify is None and cert is None and not self.proxies:
            # the common case: nothing per request, no proxy anywhere
            key = (
                self.verify,
                self.cert,
                self.trust_env,
                self.http2,
                self.http3,
                self.resend_stale_connections,
            )
            cached = self._default_settings
            if cached is not None and cached[0] == key:
                return cached[1], None
            if not (self.trust_env and self._environment()[0]):
                settings = self._resolve_settings(url, None, None, None)[0]
                self._default_settings = (key, settings)
                return settings, None
        return self._resolve_settings(url, proxies, verify, cert)

    def _resolve_settings(self, url: str, proxies: Any, verify: Any, cert: Any) -> tuple[Any, Any]:
        if verify is None:
            verify = self.verify
        if verify is True and self.trust_env:
            # True is the default; False or a CA path set anywhere wins over the environment
            verify = self._environment()[1] or True
        if cert is None:
            cert = self.cert
        environment = self._environment()[0] if self.trust_env else None
        proxy_map = _settings.merge_proxies(url, proxies, self.proxies, environment)
        proxy = _settings.selected_proxy(url, proxy_map)
        kind = _settings.proxy_kind(url, proxy)
        cert_key = tuple(cert) if isinstance(cert, list) else cert
        key = (
            "session",
            verify,
            cert_key,
            proxy,
            self.http2,
            self.http3,
            self.resend_stale_connections,
        )
        settings = _settings.cached_settings(key)
        names_files = type(verify) is not bool or cert is not None
        if settings is None or (names_files and self._files_checked != key):
            # _build_settings raises OSError for a CA bundle or certificate
            # file that does not exist, also when another session made the
            # Settings: each session checks on its first use of them
            settings = _settings.keep_settings(key, self._build_settings(verify, cert, proxy))
            if names_files:
                self._files_checked = key
        return settings, kind

    def _build_settings(self, verify: Any, cert: Any, proxy: str) -> Any:
        """The engine Settings for requests-style ``verify`` (a bool or a CA
        path) and ``cert`` (a path or a (cert, key) pair); a file they name
        that does not exist raises OSError."""
        ca_info = ca_path = None
        if isinstance(verify, str):
            ca_info, ca_path = _settings.ca_location(verify)
            verify_flag = True
        else:
            verify_flag = bool(verify)
        cert_file = key_file = None
        if cert:
            if isinstance(cert, (tuple, list)):
                cert_file, key_file = _settings.client_files(cert[0], cert[1])
            else:
                cert_file, key_file = _settings.client_files(cert)
        return _settings.engine_settings(
            _settings.http_version(self.http2, True, _settings.check_http3(self.http3, self.http2)),
            verify_flag,
            ca_info,
            ca_path,
            cert_file,
            key_file,
            proxy,
            True,  # libcurl undoes Content-Encoding (httpx's transports do it themselves)
            resend_unsafe=self.resend_stale_connections == "always",
        )

    def _body_and_lines(
        self, prep: PreparedRequest, proxy_kind: Optional[str]
    ) -> tuple[Any, tuple[bytes, ...]]:
        """What the engine sends for ``prep``: the body (bytes, None, or
        (stream, length) for a streamed one, length -1 when unknown) and the
        header lines (``proxy_kind``: see _engine_settings)."""
        body, lines = self._body_and_own_lines(prep)
        if proxy_kind == "forward":
            lines = forwarded_lines(lines)
        return body, lines

    def _body_and_own_lines(self, prep: PreparedRequest) -> tuple[Any, tuple[bytes, ...]]:
        body = prep.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif isinstance(body, (bytearray, memoryview)):
            body = bytes(body)
        elif body is not None and not isinstance(body, bytes):
            length = prep.headers.get("Content-Length")
            body = (body, int(length) if length else -1)
        if body is None and prep.method in _METHODS_EXPECTING_BODY:
            body = b""  # sent as "Content-Length: 0", as urllib3 does
        # The same header set as last time (with a body or without) gives the
        # same tuple object, which lets the engine reuse the curl_slist it
        # built for it.
        headers = prep._headers
        shared = type(headers) is SharedHeaders
        has_body = body is not None
        key = None
        if shared or type(headers) is CaseInsensitiveDict:
            key = headers.store if shared else headers._store
            cached = self._lines_cache_body if has_body else self._lines_cache
            if cached is not None and (cached[0] is key or cached[0] == key):
                return body, cached[1]
            if key is DEFAULT_HEADER_STORE and not has_body:
                self._lines_cache = _DEFAULT_LINES
                return body, _DEFAULT_LINES[1]
        lines = request_lines(headers.view() if shared else headers, has_body)
        if key is not None:
            # a shared store never changes: kept as it is, it matches by identity
            entry = (key if shared else key.copy(), lines)
            if has_body:
                self._lines_cache_body = entry
            else:
                self._lines_cache = entry
        return body, lines

    # responses ----------------------------------------------------------------

    def _received(
        self, result: tuple[Any, ...], prep: PreparedRequest, raw_type: Any, connection: Any
    ) -> Response:
        """The Response for one hop's engine result; cookies go to the jar."""
        response = Response._from_engine(result, prep, raw_type, connection)
        flags = result[RESULT_FLAGS]
        if flags:
            if flags & FLAG_LENGTH_CONFLICT:
                response.close()
                raise InvalidHeader(
                    "the response has Content-Length fields that disagree", request=prep
                )
            if flags & FLAG_RESENT:
                response.resent = True
            if flags & FLAG_SETS_COOKIE:
                from ..cookies import extract_cookies_to_jar

                extract_cookies_to_jar(self.cookies, prep, response)
        return response

    # the redirect policy --------------------------------------------------------

    def _may_redirect(self, resp: Response) -> bool:
        """A cheap test before get_redirect_target(), which parses headers;
        a subclass that overrides get_redirect_target is always asked."""
        return resp.status_code in REDIRECT_STATI or not self._own_redirect_target

    def get_redirect_target(self, resp: Response) -> Optional[str]:
        """The Location of a redirect response, decoded as requests does."""
        if resp.is_redirect:
            location = resp.headers["location"]
            try:
                return location.encode("latin1").decode("utf8")
            except UnicodeError:
                return location
        return None

    def should_strip_auth(self, old_url: str, new_url: str) -> bool:
        """Whether a redirect from ``old_url`` to ``new_url`` drops Authorization."""
        return should_strip_auth(old_url, new_url)

    def rebuild_method(self, prepared_request: PreparedRequest, response: Response) -> None:
        """301/302 turn POST (302: anything but HEAD) into GET; 303 likewise."""
        method = prepared_request.method
        status = response.status_code
        if status == codes.see_other and method != "HEAD":
            method = "GET"
        if status == codes.found and method != "HEAD":
            method = "GET"
        if status == codes.moved and method == "POST":
            method = "GET"
        prepared_request.method = method

    def rebuild_auth(self, prepared_request: PreparedRequest, response: Response) -> None:
        """Drop Authorization when the redirect leaves the original host."""
        headers = prepared_request.headers
        url = prepared_request.url or ""
        if "Authorization" in headers and self.should_strip_auth(
            response.request.url,  # type: ignore[arg-type]  # a sent request's: a str
            url,
        ):
            del headers["Authorization"]
        new_auth = netrc_auth(url) if self.trust_env and self._environment()[2] else None
        if new_auth is not None:
            prepared_request.prepare_auth(new_auth)

    def rebuild_proxies(self, prepared_request: PreparedRequest, proxies: Any) -> dict[str, Any]:
        """The proxies for the redirect target, with Proxy-Authorization updated."""
        headers = prepared_request.headers
        url = prepared_request.url or ""
        scheme = urlsplit(url).scheme
        new_proxies = dict(proxies or {})
        if self.trust_env and not should_bypass_proxy(url, new_proxies.get("no_proxy")):
            env = environment_proxies()
            proxy_from_env = env.get(scheme, env.get("all"))
            if proxy_from_env:
                new_proxies.setdefault(scheme, proxy_from_env)
        headers.pop("Proxy-Authorization", None)
        proxy = select_proxy(url, new_proxies)
        if proxy and not url.lower().startswith("https"):  # https: sent in the CONNECT
            parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            if parts.username:
                headers["Proxy-Authorization"] = _basic_auth_str(
                    unquote(parts.username), unquote(parts.password or "")
                )
        return new_proxies

    def _redirect_request(self, resp: Response, req: PreparedRequest) -> PreparedRequest:
        """The PreparedRequest that follows redirect response ``resp`` to ``req``."""
        location = self.get_redirect_target(resp) or ""
        prepared = req.copy()
        previous_fragment = urlsplit(req.url or "").fragment
        if location.startswith("//"):
            location = f"{urlsplit(resp.url or '').scheme}:{location}"
        parsed = urlsplit(location)
        if parsed.fragment == "" and previous_fragment:
            parsed = parsed._replace(fragment=previous_fragment)
        location = parsed.geturl()
        if not parsed.netloc:
            location = urljoin(resp.url or "", requote_uri(location))
        else:
            location = requote_uri(location)
        target = prepare_url(location)
        prepared._target = target
        prepared.url = target.url
        self.rebuild_method(prepared, resp)
        if resp.status_code not in (codes.temporary_redirect, codes.permanent_redirect):
            for header in ("Content-Length", "Content-Type", "Transfer-Encoding"):
                prepared.headers.pop(header, None)
            prepared.body = None
        elif prepared._body_position is not None:
            rewind(prepared)
        prepared.headers.pop("Cookie", None)
        from ..cookies import RequestsCookieJar, extract_cookies_to_jar, merge_cookies

        jar = prepared._cookies
        if jar is None:
            jar = RequestsCookieJar()
        extract_cookies_to_jar(jar, req, resp)
        merge_cookies(jar, self.cookies)
        prepared.prepare_cookies(jar)
        self.rebuild_auth(prepared, resp)
        return prepared

    def _redirect_step(
        self, resp: Response, req: PreparedRequest, history: list[Response], proxies: Any
    ) -> tuple[PreparedRequest, Any]:
        """Between two hops of a redirect chain: record ``resp``, enforce
        max_redirects, and build the next request and its proxies."""
        history.append(resp)
        if len(history) > self.max_redirects:
            raise TooManyRedirects(f"Exceeded {self.max_redirects} redirects.", response=resp)
        resp.close()
        next_req = self._redirect_request(resp, req)
        if self.trust_env or proxies:
            proxies = self.rebuild_proxies(next_req, proxies)
        return next_req, proxies


class BaseConnection:
    """What ``Response.connection`` is: it sends one more request on the
    session that produced the response, without following redirects or
    running hooks (what requests' transport adapter does; auth handlers such
    as HTTPDigestAuth resend through it). Each face's send() waits its way."""

    __slots__ = ("_session",)

    def __init__(self, session: Any) -> None:
        self._session = session

    def close(self) -> None:
        pass
