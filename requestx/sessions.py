"""Session: settings that persist across requests, the cookie jar, and the
redirect loop. One Session owns one engine Client (a pool of libcurl handles
sharing connections), so keep-alive works across its requests and threads."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Optional
from urllib.parse import urljoin, urlsplit

from . import _engine
from .__version__ import __version__
from ._body import is_async_only, stream_chunks
from ._environment import (
    DEFAULT_PORTS,
    environment_ca_bundle,
    environment_proxies,
    netrc_auth,
    netrc_exists,
    select_proxy,
    should_bypass_proxy,
)
from ._url import prepare_url, requote_uri, sendable
from .auth import _basic_auth_str
from .exceptions import (
    ChunkedEncodingError,
    ContentDecodingError,
    InvalidHeader,
    InvalidProxyURL,
    TooManyRedirects,
    UnrewindableBodyError,
    from_transfer_error,
)
from .models import (
    DEFAULT_REDIRECT_LIMIT,
    REDIRECT_STATI,
    PreparedRequest,
    RawResponse,
    Request,
    Response,
    SharedHeaders,
    default_hooks,
    dispatch_hook,
    wire_headers,
)
from .status_codes import codes
from .structures import CaseInsensitiveDict

__all__ = ["Session", "session", "default_headers", "merge_setting"]

_ENCODINGS = ", ".join(
    e for e in ("gzip", "deflate", "br", "zstd") if e in _engine.features() or e == "deflate"
)


# Methods for which urllib3 sends "Content-Length: 0" when there is no body.
_METHODS_EXPECTING_BODY = frozenset({"PATCH", "POST", "PUT"})

# The usual methods in upper case: a request keeps this string rather than a
# new one made by str.upper().
_UPPER_METHODS = {
    name: name.upper()
    for verb in ("get", "post", "put", "patch", "delete", "head", "options")
    for name in (verb, verb.upper())
}

# Session.cookies before its jar is made (a session may never need one); the
# lock makes sure threads sharing a session make one jar (or hooks dict), not
# one each. _SET_TO_NONE stands for `session.hooks = None`.
_NO_JAR: Any = object()
_SET_TO_NONE: Any = object()
_JAR_LOCK = threading.Lock()

# The cookie helpers are imported where used: http.cookiejar brings
# urllib.request, http.client and email with it (~3.5 MB of a process that a
# request without cookies never needs). requests.sessions has these names.
_COOKIE_NAMES = frozenset(
    {"RequestsCookieJar", "cookiejar_from_dict", "extract_cookies_to_jar", "merge_cookies"}
)


def __getattr__(name: str) -> Any:
    if name in _COOKIE_NAMES:
        from . import cookies

        return getattr(cookies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_netrc_auth(url: str, raise_errors: bool = False) -> Optional[tuple[str, str]]:
    """requests' name for the .netrc lookup (tests patch it here)."""
    return netrc_auth(url, raise_errors)


def default_user_agent(name: str = "python-requestx") -> str:
    return f"{name}/{__version__}"


# The default headers' store, made once: every session's headers start as a
# copy of it (the (name, value) pairs are shared; a store replaces a pair, it
# never changes one). Never changed itself.
_DEFAULT_HEADER_STORE = CaseInsensitiveDict(
    {
        "User-Agent": default_user_agent(),
        "Accept-Encoding": _ENCODINGS,
        "Accept": "*/*",
        "Connection": "keep-alive",
    }
)._store


def default_headers() -> CaseInsensitiveDict[str]:
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
    headers._store = _DEFAULT_HEADER_STORE.copy()
    return headers


# What sessions whose headers are still the defaults share, instead of one
# copy each (module functions make a session per call): the headers requests
# send, and their wire lines for a request without a body.
_DEFAULT_SHARED_HEADERS = SharedHeaders(_DEFAULT_HEADER_STORE)
_DEFAULT_CLEAN_HEADERS = (_DEFAULT_HEADER_STORE, _DEFAULT_SHARED_HEADERS)
_DEFAULT_WIRE = (_DEFAULT_HEADER_STORE, wire_headers(_DEFAULT_SHARED_HEADERS.view(), False))

# Engine Settings objects by (verify, cert, proxy, http2), shared by every
# session (the same Settings object lets the engine skip re-applying them);
# a session still checks the files a key names before its first use of it.
# Emptied when it reaches _SETTINGS_MAX keys (a process rotating through
# proxies must not keep every one of them).
_SETTINGS: dict[tuple[Any, ...], _engine.Settings] = {}
_SETTINGS_MAX = 256


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


def _timeouts(timeout: Any) -> tuple[float, float]:
    """(connect, read) seconds from requests' timeout argument; 0 = no limit."""
    if timeout is None:
        return 0.0, 0.0
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


def _proxy_url(proxy: Optional[str]) -> str:
    if not proxy:
        return ""
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", proxy) or re.match(r"^[^:/]+:\d+(/|$)", proxy):
        proxy = "http://" + proxy  # "host:port" has no scheme
    scheme = proxy.split(":", 1)[0].lower()
    if scheme not in ("http", "https", "socks4", "socks4a", "socks5", "socks5h"):
        raise InvalidProxyURL(f"Unsupported proxy URL scheme: {proxy!r}")
    if not urlsplit(proxy).hostname:
        raise InvalidProxyURL(
            "Please check proxy URL. It is malformed and could be missing the host."
        )
    return proxy


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


class Session:
    """A requests-compatible session: persistent headers, cookies, auth,
    params, proxies, TLS settings and a pool of keep-alive connections."""

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
        "stream",
        "trust_env",
        "max_redirects",
    ]

    def __init__(self, *, http2: Any = False, _client: Optional[_engine.Client] = None) -> None:
        """``http2=True`` negotiates HTTP/2 over TLS (ALPN), HTTP/1.1 elsewhere;
        ``http2="prior_knowledge"`` speaks HTTP/2 (h2c) even over plain http."""
        self.headers: Any = default_headers()
        self.auth: Any = None
        self.proxies: dict[str, str] = {}
        self._hooks: Any = None  # made when first read: see hooks
        self.params: Any = {}
        self.stream = False
        self.verify: Any = True
        self.cert: Any = None
        self.max_redirects = DEFAULT_REDIRECT_LIMIT
        self.trust_env = True
        self._cookie_jar: Any = _NO_JAR  # made when first used: see cookies
        self.adapters: dict[str, Any] = {}
        self.http2 = http2
        self._owns_client = _client is None
        self._client = _engine.Client() if _client is None else _client
        self._env: Optional[tuple[dict[str, str], Optional[str], bool]] = None
        self._connection = SessionConnection(self)
        self._settings_cache: Optional[dict[tuple[Any, ...], _engine.Settings]] = None
        self._files_checked: Optional[tuple[Any, ...]] = None  # see _engine_settings_slow
        # the header lines last sent without and with a body (see _wire)
        self._wire_cache: Optional[tuple[dict[str, Any], tuple[bytes, ...]]] = None
        self._wire_cache_body: Optional[tuple[dict[str, Any], tuple[bytes, ...]]] = None
        self._clean_headers: Optional[tuple[dict[str, Any], SharedHeaders]] = None
        self._default_settings: Optional[tuple[tuple[Any, ...], _engine.Settings]] = None

    @property
    def cookies(self) -> Any:
        """The session's cookie jar (a RequestsCookieJar until replaced)."""
        jar = self._cookie_jar
        if jar is _NO_JAR:
            from .cookies import RequestsCookieJar

            with _JAR_LOCK:
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
            with _JAR_LOCK:
                hooks = self._hooks
                if hooks is None:
                    hooks = self._hooks = default_hooks()
        return None if hooks is _SET_TO_NONE else hooks

    @hooks.setter
    def hooks(self, value: Any) -> None:
        self._hooks = _SET_TO_NONE if value is None else value

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the idle connections of this session's pool."""
        if self._owns_client:
            self._client.close()

    def __getstate__(self) -> dict[str, Any]:
        state = {attr: getattr(self, attr, None) for attr in self.__attrs__}
        state["http2"] = self.http2  # what requestx adds
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        for attr, value in state.items():
            setattr(self, attr, value)

    # preparing --------------------------------------------------------------

    def _merged_headers(self, headers: Any) -> Any:
        """A request's headers over the session's: a CaseInsensitiveDict, or
        SharedHeaders when the session's headers alone are sent."""
        session_headers = self.headers
        if headers is not None or type(session_headers) is not CaseInsensitiveDict:
            merged = merge_setting(headers, session_headers, dict_class=CaseInsensitiveDict)
            if merged is None:
                return CaseInsensitiveDict()
            return _native_names(merged)
        # session headers alone: every request shares their None-free copy
        # while they are unchanged (the comparison sees changes made in place)
        cached = self._clean_headers
        store = session_headers._store
        if cached is None or cached[0] != store:
            if store == _DEFAULT_HEADER_STORE:
                cached = _DEFAULT_CLEAN_HEADERS
            else:
                clean = {k: kv for k, kv in store.items() if kv[1] is not None}
                cached = (store.copy(), SharedHeaders(clean))
            self._clean_headers = cached
        return cached[1]

    def prepare_request(self, request: Request) -> PreparedRequest:
        """Merge the session's settings into ``request`` and prepare it."""
        from .cookies import RequestsCookieJar, cookiejar_from_dict, merge_cookies

        cookies = request.cookies or {}
        if not isinstance(cookies, RequestsCookieJar) and not hasattr(cookies, "add_cookie_header"):
            cookies = cookiejar_from_dict(cookies)
        merged_cookies = merge_cookies(merge_cookies(RequestsCookieJar(), self.cookies), cookies)
        auth = request.auth
        explicit_header = any(
            str(name).lower() == "authorization" for name in (request.headers or {})
        )
        if self.trust_env and not auth and not self.auth and not explicit_header:
            auth = get_netrc_auth(request.url) if isinstance(request.url, str) else None
        p = PreparedRequest()
        p.prepare(
            method=request.method.upper() if request.method else request.method,
            url=request.url,
            files=request.files,
            data=request.data,
            json=request.json,
            headers=merge_setting(request.headers, self.headers, dict_class=CaseInsensitiveDict),
            params=merge_setting(request.params, self.params),
            auth=merge_setting(auth, self.auth),
            cookies=merged_cookies,
            hooks=merge_hooks(request.hooks, self.hooks),
        )
        return p

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
    ) -> PreparedRequest:
        """prepare_request() for Session.request, without the intermediate
        Request object and with nothing done that the call does not need."""
        if isinstance(method, bytes):
            method = method.decode("ascii")
        upper = _UPPER_METHODS.get(method) if type(method) is str else None
        method = upper if upper is not None else method.upper()
        session_params = self.params
        if params is None:
            params = session_params or None
        elif session_params:
            params = merge_setting(params, session_params)
        target = prepare_url(url, params)
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
        if (session_jar is not _NO_JAR and session_jar._cookies) or cookies:
            from .cookies import RequestsCookieJar, cookiejar_from_dict, merge_cookies

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
            auth = get_netrc_auth(target.url)  # as in requests, beats user:pass@ in the URL
        if auth is not None or target.auth is not None:
            p.prepare_auth(auth)

        session_hooks = self._hooks  # None: never read, so the empty default
        if session_hooks is _SET_TO_NONE:
            session_hooks = None
        merged_hooks = merge_hooks(hooks, session_hooks)
        if merged_hooks:
            p.prepare_hooks(merged_hooks)
        return p

    # environment and engine settings ----------------------------------------

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """requests' environment merge, except that an explicit ``verify`` (on
        the request or the session) always beats REQUESTS_CA_BUNDLE."""
        proxies = dict(proxies or {})
        if self.trust_env:
            env_proxies = environment_proxies()
            no_proxy = proxies.get("no_proxy") or env_proxies.get("no")
            if not should_bypass_proxy(url, no_proxy):
                for key, value in env_proxies.items():
                    if key != "no":
                        proxies.setdefault(key, value)
            if (verify is None and self.verify is True) or verify is True:
                verify = environment_ca_bundle() or verify
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }

    def _environment(self) -> tuple[dict[str, str], Optional[str], bool]:
        """Proxies, CA bundle and whether a .netrc exists, read from the
        environment once per session (requests reads them on every request)."""
        if self._env is None:
            self._env = (environment_proxies(), environment_ca_bundle(), netrc_exists())
        return self._env

    def _engine_settings(
        self, url: str, proxies: Any, verify: Any, cert: Any
    ) -> tuple[_engine.Settings, Optional[str]]:
        """The engine's Settings for one hop, and how a proxy is used:
        None, "forward" (an http URL sent to an HTTP proxy) or "tunnel"."""
        if proxies is None and verify is None and cert is None and not self.proxies:
            # the common case: nothing per request, no proxy anywhere
            key = (self.verify, self.cert, self.trust_env, self.http2)
            cached = self._default_settings
            if cached is not None and cached[0] == key:
                return cached[1], None
            if not (self.trust_env and self._environment()[0]):
                settings = self._engine_settings_slow(url, None, None, None)[0]
                self._default_settings = (key, settings)
                return settings, None
        return self._engine_settings_slow(url, proxies, verify, cert)

    def _engine_settings_slow(
        self, url: str, proxies: Any, verify: Any, cert: Any
    ) -> tuple[_engine.Settings, Optional[str]]:
        if verify is None:
            verify = self.verify
        if verify is True and self.trust_env:
            # True is the default; False or a CA path set anywhere wins over the environment
            verify = self._environment()[1] or True
        if cert is None:
            cert = self.cert
        # request over session over environment; a None value removes a key,
        # also one the environment would fill in
        proxy_map = dict(self.proxies or {})
        if proxies:
            proxy_map.update(proxies)
        if self.trust_env:
            env_proxies = self._environment()[0]
            if env_proxies:
                no_proxy = proxy_map.get("no_proxy") or env_proxies.get("no")
                if not should_bypass_proxy(url, no_proxy):
                    for key, value in env_proxies.items():
                        if key != "no":
                            proxy_map.setdefault(key, value)
        proxy_map = {k: v for k, v in proxy_map.items() if v is not None}
        proxy = _proxy_url(select_proxy(url, proxy_map)) if proxy_map else ""
        kind = None
        if proxy:
            forwards = url.startswith("http:") and proxy.startswith(("http:", "https:"))
            kind = "forward" if forwards else "tunnel"
        key = (verify, cert if not isinstance(cert, list) else tuple(cert), proxy, self.http2)
        if type(self)._build_settings is not Session._build_settings:
            cache = self._settings_cache  # a subclass's own settings stay its own
            if cache is None:
                cache = self._settings_cache = {}
            settings = cache.get(key)
            if settings is None:
                settings = cache[key] = self._build_settings(verify, cert, proxy)
            return settings, kind
        settings = _SETTINGS.get(key)
        names_files = type(verify) is not bool or cert is not None
        if settings is None or (names_files and self._files_checked != key):
            # _build_settings raises OSError for a CA bundle or certificate
            # file that does not exist, as on this session's first use of it
            settings = self._build_settings(verify, cert, proxy)
            if len(_SETTINGS) >= _SETTINGS_MAX:
                _SETTINGS.clear()
            settings = _SETTINGS.setdefault(key, settings)
            if names_files:
                self._files_checked = key
        return settings, kind

    def _build_settings(self, verify: Any, cert: Any, proxy: str) -> _engine.Settings:
        import os

        ca_info = ca_path = None
        if isinstance(verify, str):
            if not os.path.exists(verify):
                raise OSError(
                    f"Could not find a suitable TLS CA certificate bundle, invalid path: {verify}"
                )
            if os.path.isdir(verify):
                ca_path = verify
            else:
                ca_info = verify
            verify_flag = True
        else:
            verify_flag = bool(verify)
        cert_file = key_file = None
        if cert:
            if isinstance(cert, (tuple, list)):
                cert_file, key_file = cert[0], cert[1]
            else:
                cert_file = cert
            for path, what in ((cert_file, "certificate"), (key_file, "key")):
                if path and not os.path.exists(path):
                    raise OSError(f"Could not find the TLS {what} file, invalid path: {path}")
        if self.http2 == "prior_knowledge":
            version = _engine.HTTP_VERSION_2_PRIOR_KNOWLEDGE  # h2c, also over plain http
        elif self.http2:
            version = _engine.HTTP_VERSION_2  # h2 via ALPN over TLS, HTTP/1.1 otherwise
        else:
            version = _engine.HTTP_VERSION_1_1
        decode, interface, unix_socket = True, None, None  # the transports differ
        return _engine.Settings(
            version, verify_flag, ca_info, ca_path, cert_file, key_file, proxy,
            decode, interface, unix_socket,
        )  # fmt: skip

    # sending ------------------------------------------------------------------

    def request(
        self,
        method: Any,
        url: Any,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        cookies: Any = None,
        files: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = True,
        proxies: Any = None,
        hooks: Any = None,
        stream: Any = None,
        verify: Any = None,
        cert: Any = None,
        json: Any = None,
    ) -> Response:
        """Send a request; the arguments are those of requests.Session.request."""
        prep = self._prepare(method, url, params, data, headers, cookies, files, auth, json, hooks)
        return self._send(prep, timeout, allow_redirects, proxies, stream, verify, cert)

    def get(self, url: Any, **kwargs: Any) -> Response:
        kwargs.setdefault("allow_redirects", True)
        return self.request("GET", url, **kwargs)

    def options(self, url: Any, **kwargs: Any) -> Response:
        kwargs.setdefault("allow_redirects", True)
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: Any, **kwargs: Any) -> Response:
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def post(self, url: Any, data: Any = None, json: Any = None, **kwargs: Any) -> Response:
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: Any, data: Any = None, **kwargs: Any) -> Response:
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: Any, data: Any = None, **kwargs: Any) -> Response:
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: Any, **kwargs: Any) -> Response:
        return self.request("DELETE", url, **kwargs)

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        """Send a PreparedRequest (requests' Session.send)."""
        if isinstance(request, Request):
            raise ValueError("You can only send PreparedRequests.")
        if request._target is None or request._target.url != request.url:
            request._target = prepare_url(request.url)
        return self._send(
            request,
            kwargs.get("timeout"),
            kwargs.get("allow_redirects", True),
            kwargs.get("proxies"),
            kwargs.get("stream"),
            kwargs.get("verify"),
            kwargs.get("cert"),
        )

    def _wire(self, prep: PreparedRequest) -> tuple[Any, tuple[bytes, ...]]:
        """What the engine sends for ``prep``: the body (bytes, None, or
        (stream, length) for a streamed one, length -1 when unknown) and the
        header lines."""
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
            cached = self._wire_cache_body if has_body else self._wire_cache
            if cached is not None and (cached[0] is key or cached[0] == key):
                return body, cached[1]
            if key is _DEFAULT_HEADER_STORE and not has_body:
                self._wire_cache = _DEFAULT_WIRE
                return body, _DEFAULT_WIRE[1]
        lines = wire_headers(headers.view() if shared else headers, has_body)
        if key is not None:
            # a shared store never changes: kept as it is, it matches by identity
            entry = (key if shared else key.copy(), lines)
            if has_body:
                self._wire_cache_body = entry
            else:
                self._wire_cache = entry
        return body, lines

    def _received(
        self,
        result: tuple[Any, ...],
        prep: PreparedRequest,
        raw_type: Any,
        connection: Any = None,
    ) -> Response:
        """The Response for one hop's engine result; cookies go to the jar."""
        response = Response._from_engine(result, prep, raw_type, connection or self._connection)
        flags = result[5]
        if flags:
            if flags & _engine.FLAG_LENGTH_CONFLICT:
                response.close()
                raise InvalidHeader(
                    "the response has Content-Length fields that disagree", request=prep
                )
            if flags & _engine.FLAG_SETS_COOKIE:
                from .cookies import extract_cookies_to_jar

                extract_cookies_to_jar(self.cookies, prep, response)
        return response

    def _send_hop(
        self,
        prep: PreparedRequest,
        timeouts: tuple[float, float],
        proxies: Any,
        stream: bool,
        verify: Any,
        cert: Any,
    ) -> Response:
        """One request, one response: no redirects followed."""
        target = prep._target
        assert target is not None
        settings, proxy_kind = self._engine_settings(target.url, proxies, verify, cert)
        body, lines = self._wire(prep)
        if isinstance(body, tuple):
            if is_async_only(body[0]):
                raise TypeError(
                    "an async iterable request body needs AsyncSession "
                    "(or `await requestx.post(...)` inside a running event loop)"
                )
            body = (stream_chunks(body[0]), body[1])
        try:
            result = self._client.perform(
                prep.method,
                sendable(target),
                lines,
                body,
                timeouts[0],
                timeouts[1],
                settings,
                stream,
            )
        except _engine.TransferError as exc:
            raise from_transfer_error(exc, request=prep, proxy=proxy_kind) from None
        return self._received(result, prep, RawResponse)

    def _send(
        self,
        prep: PreparedRequest,
        timeout: Any,
        allow_redirects: bool,
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
    ) -> Response:
        if stream is None:
            stream = self.stream
        timeouts = _timeouts(timeout)
        response = self._send_hop(prep, timeouts, proxies, bool(stream), verify, cert)
        hooks = prep._hooks
        if hooks and hooks.get("response"):
            response = dispatch_hook(
                "response",
                hooks,
                response,
                timeout=timeout,
                proxies=proxies,
                stream=stream,
                verify=verify,
                cert=cert,
            )
        if self._may_redirect(response) and self.get_redirect_target(response):
            if allow_redirects:
                response = self._follow(response, prep, timeout, proxies, stream, verify, cert)
            else:
                response._next = self._redirect_request(response, prep)
        if not stream and response._stream is not None:
            response.content
        return response

    # redirects --------------------------------------------------------------

    def _may_redirect(self, resp: Response) -> bool:
        """A cheap test before get_redirect_target(), which parses headers;
        a subclass that overrides get_redirect_target is always asked."""
        return (
            resp.status_code in REDIRECT_STATI
            or type(self).get_redirect_target is not Session.get_redirect_target
        )

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
        if "Authorization" in headers and self.should_strip_auth(response.request.url, url):
            del headers["Authorization"]
        new_auth = get_netrc_auth(url) if self.trust_env and self._environment()[2] else None
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
                from urllib.parse import unquote

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
            _rewind(prepared)
        prepared.headers.pop("Cookie", None)
        from .cookies import RequestsCookieJar, extract_cookies_to_jar, merge_cookies

        jar = prepared._cookies
        if jar is None:
            jar = RequestsCookieJar()
        extract_cookies_to_jar(jar, req, resp)
        merge_cookies(jar, self.cookies)
        prepared.prepare_cookies(jar)
        self.rebuild_auth(prepared, resp)
        return prepared

    def resolve_redirects(
        self,
        resp: Response,
        req: PreparedRequest,
        stream: Any = False,
        timeout: Any = None,
        verify: Any = None,
        cert: Any = None,
        proxies: Any = None,
        yield_requests: bool = False,
        **adapter_kwargs: Any,
    ) -> Iterator[Any]:
        """Follow the redirects from ``resp``, yielding each new Response (or,
        with ``yield_requests``, the first redirected PreparedRequest)."""
        history: list[Response] = []
        timeouts = _timeouts(timeout)
        while self.get_redirect_target(resp):
            try:
                resp.content
            except (ChunkedEncodingError, ContentDecodingError, RuntimeError):
                resp.close()
            req, hop_proxies = self._redirect_step(resp, req, history, proxies)
            if yield_requests:
                yield req
                return
            hop = self._send_hop(req, timeouts, hop_proxies, bool(stream), verify, cert)
            resp = self._arrived_after_redirect(hop, req, history)
            yield resp

    def _follow(
        self,
        resp: Response,
        req: PreparedRequest,
        timeout: Any,
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
    ) -> Response:
        history = [resp]
        history.extend(self.resolve_redirects(resp, req, stream, timeout, verify, cert, proxies))
        return _with_history(history.pop(), history)

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

    def _arrived_after_redirect(
        self, resp: Response, req: PreparedRequest, history: list[Response]
    ) -> Response:
        resp.history = history[:]
        hooks = req._hooks
        if hooks and hooks.get("response"):
            resp = dispatch_hook("response", hooks, resp)
        return resp  # type: ignore[no-any-return]


def _native_names(headers: Any) -> CaseInsensitiveDict[Any]:
    """Header names as plain str (requests decodes bytes names)."""
    if not isinstance(headers, CaseInsensitiveDict):
        headers = CaseInsensitiveDict(headers)
    if all(type(name) is str for name in headers):
        return headers
    native: CaseInsensitiveDict[Any] = CaseInsensitiveDict()
    for name, value in headers.items():
        native[name.decode("ascii") if isinstance(name, bytes) else str(name)] = value
    return native


def _with_history(resp: Response, history: list[Response]) -> Response:
    """Give every hop the hops before it, and the final response them all."""
    for i, hop in enumerate(history):
        hop.history = history[:i]
    resp.history = history
    return resp


class SessionConnection:
    """What ``Response.connection`` is: sends one more request on the session
    that produced the response, without following redirects or running hooks
    (what requests' transport adapter does; auth handlers such as
    HTTPDigestAuth resend through it)."""

    __slots__ = ("_session",)

    def __init__(self, session: Session) -> None:
        self._session = session

    def send(
        self,
        request: PreparedRequest,
        stream: Any = False,
        timeout: Any = None,
        verify: Any = None,
        cert: Any = None,
        proxies: Any = None,
        **kwargs: Any,
    ) -> Response:
        session = self._session
        if request._target is None or request._target.url != request.url:
            request._target = prepare_url(request.url)
        response = session._send_hop(
            request, _timeouts(timeout), proxies, bool(stream), verify, cert
        )
        if not stream:
            response.content
        return response

    def close(self) -> None:
        pass


def _rewind(prepared: PreparedRequest) -> None:
    """Seek a streamed body back to where it started, for a 307/308 hop."""
    position = prepared._body_position
    seek = getattr(prepared.body, "seek", None)
    if not isinstance(position, int) or seek is None:
        raise UnrewindableBodyError("Unable to rewind request body for redirect.")
    try:
        seek(position)
    except OSError:
        raise UnrewindableBodyError(
            "An error occurred when rewinding request body for redirect."
        ) from None


def session() -> Session:
    """Returns a new Session (deprecated in requests; kept for compatibility)."""
    return Session()
