"""The constructor options of httpx's transports, turned into engine settings.

httpx's ``HTTPTransport(verify, cert, trust_env, http1, http2, limits, proxy,
uds, local_address, retries, socket_options)`` describes a connection pool.
:class:`ConfiguredTransport`, the base of both requestx transports, takes
those arguments, checks them once, and keeps the one engine settings tuple
they amount to. Settings tuples are shared between transports with equal
options, and the engine skips re-applying its options when it is handed the
same tuple object again.

What libcurl cannot take from httpx is decided here, in one place:

* ``verify=<ssl.SSLContext>``: libcurl has its own TLS set-up, so only what can
  be read back from the context is used: ``verify_mode`` (``CERT_NONE`` turns
  verification off) and the CA certificates loaded into it from a file or from
  memory (``get_ca_certs()``), which are written once to a PEM bundle for
  libcurl. A client certificate loaded into the context cannot be read back:
  pass ``cert=`` instead. Ciphers and protocol versions of the context are not
  used.
* ``verify=True`` trusts the system's CA store (or ``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR`` with ``trust_env``), not certifi's bundle.
* ``socket_options`` and proxy ``headers`` are refused with a clear error;
  an encrypted client key (``cert=(file, key, password)``) too.

One option is requestx's own: ``http3=True`` (keyword-only) tries HTTP/3 over
QUIC for https URLs and falls back to HTTP/2 or HTTP/1.1 over TCP (libcurl
races the two); ``http3="only"`` has no fallback. It needs a libcurl with
HTTP/3 (RuntimeError at construction otherwise).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import ssl
import tempfile
from collections.abc import Iterable
from typing import Any, Optional
from urllib.parse import quote, urlsplit

from .. import _engine
from .._core import observe as _observe
from .._core import settings as _settings
from .._core import stats as _stats
from .._wire import forwarded_lines
from ..policy.call import Attempts
from ..policy.retry import as_retry

__all__ = ["ConfiguredTransport", "DEFAULT_MAX_CONNECTIONS"]

# httpx's DEFAULT_LIMITS allow 100 connections.
DEFAULT_MAX_CONNECTIONS = 100


class ConfiguredTransport:
    """httpx's transport constructor, shared by HTTPTransport and
    AsyncHTTPTransport; ``_open()`` then makes the subclass's pool."""

    def __init__(
        self,
        verify: Any = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: Any = None,
        proxy: Any = None,
        uds: Optional[str] = None,
        local_address: Optional[str] = None,
        retries: Any = 0,
        socket_options: Any = None,
        *,
        breaker: Any = None,
        http3: Any = False,
        observers: Optional[Iterable[Any]] = None,
        stats: bool = False,
        stats_max_origins: int = 1000,
    ) -> None:
        if socket_options:
            raise ValueError(
                "socket_options are not supported by requestx's transports: libcurl opens "
                "the sockets (with TCP_NODELAY)"
            )
        if not (http1 or http2):
            raise ValueError("At least one of http1 or http2 must be enabled.")
        if http2 and "http2" not in _engine.features():
            raise RuntimeError("this libcurl was built without HTTP/2 support (nghttp2)")
        http3 = _settings.check_http3(http3, http2, http1)
        retry = None
        if not isinstance(retries, int) and as_retry(retries, None) is not None:
            retry, retries = retries, 0  # a Retry: the whole policy
        elif isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an int >= 0 or a Retry, not {retries!r}")
        max_connections = DEFAULT_MAX_CONNECTIONS
        if limits is not None:
            max_connections = limits.max_connections
            if max_connections is not None and max_connections < 1:
                raise ValueError("limits.max_connections must be at least 1 (or None)")
        version = _settings.http_version(http2, http1, http3)
        verify_flag, ca_info, ca_path = _verification(verify, trust_env)
        cert_file, key_file = _client_certificate(cert)
        self._proxy = _proxy_url(proxy)  # "" when there is none
        interface = f"host!{local_address}" if local_address else None
        key = (
            "transport", version, verify_flag, ca_info, ca_path, cert_file, key_file,
            self._proxy, interface, uds or None,
        )  # fmt: skip
        settings = _settings.cached_settings(key)
        if settings is None:
            # decode=False: httpx undoes Content-Encoding itself
            fields = (*key[1:7], self._proxy, False, interface, uds or None)
            settings = _settings.keep_settings(key, _settings.engine_settings(*fields))
        self._settings = settings
        self._retries = retries  # httpx's meaning: connect failures, this many times
        self._retry = retry
        self._breaker = breaker
        # observers of this transport's requests (with requestx.observers)
        self.observers: list[Any] = list(observers) if observers else []
        self._stats = _stats.new_stats(self, stats_max_origins) if stats else None
        self._max_connections: Optional[int] = max_connections  # None: no limit
        # whether a new transfer waits for a connection it could multiplex on
        self._multiplex = bool(http2 or http3)
        self._open()

    def _open(self) -> None:
        raise NotImplementedError

    def stats(self) -> Optional[_stats.Snapshot]:
        """The transport's aggregates (``stats=True``; else None): see
        Session.stats() and docs/observability.md."""
        return None if self._stats is None else _stats.snapshot(self._stats)

    def _watch(self, request: Any) -> Optional[_observe.Watch]:
        """The Watch of a request, or None when nobody observes it."""
        if _observe.watched(self.observers):
            return _observe.Watch(self.observers, request.method, str(request.url))
        return None

    def _proxy_kind(self, url: str) -> Optional[str]:
        """How a request to ``url`` uses the proxy (see _errors.httpx_error)."""
        return _settings.proxy_kind(url, self._proxy)

    def _attempts(self, request: Any, close: Any, watch: Any = None) -> Optional[Attempts]:
        """The retry (a Retry given to the transport, or in the request's
        ``extensions["retries"]``) and breaker state of one request, or None."""
        retry = self._retry
        extension = request.extensions.get("retries")
        if extension is not None:
            retry = None if isinstance(extension, int) else as_retry(extension, None)
        if retry is None and self._breaker is None:
            return None
        return Attempts(
            _Request(request), retry, self._breaker, None, close=close, watch=watch,
            stats=self._stats,
        )  # fmt: skip

    def _lines_for(self, url: str, lines: tuple[bytes, ...]) -> tuple[bytes, ...]:
        """The header lines of a request to ``url`` (see _wire.forwarded_lines)."""
        if self._proxy and self._proxy_kind(url) == "forward":
            return forwarded_lines(lines)
        return lines


class _Request:
    """What the retry loop reads of an httpx request: its URL and method, its
    headers (an Idempotency-Key), and its body (bytes are replayed; a stream
    is not, see policy.call.replay)."""

    __slots__ = ("url", "method", "headers", "body", "_body_position")

    def __init__(self, request: Any) -> None:
        self.url = str(request.url)
        self.method = request.method
        self.headers = request.headers
        try:
            self.body: Any = request.content
        except Exception:  # httpx's RequestNotRead: a streamed body
            self.body = request.stream
        self._body_position = None


# TLS ---------------------------------------------------------------------------


def _verification(verify: Any, trust_env: bool) -> tuple[bool, Optional[str], Optional[str]]:
    """(verify peer and host, CA file, CA directory); None: libcurl's default store."""
    if verify is True:
        if trust_env:
            if os.environ.get("SSL_CERT_FILE"):
                return (True, *_settings.ca_location(os.environ["SSL_CERT_FILE"]))
            if os.environ.get("SSL_CERT_DIR"):
                return (True, *_settings.ca_location(os.environ["SSL_CERT_DIR"]))
        return True, None, None
    if verify is False:
        return False, None, None
    if isinstance(verify, (str, os.PathLike)):
        return (True, *_settings.ca_location(os.fspath(verify)))
    if isinstance(verify, ssl.SSLContext):
        if verify.verify_mode == ssl.CERT_NONE:
            return False, None, None
        der = verify.get_ca_certs(binary_form=True)
        return True, (_ca_bundle(tuple(der)) if der else None), None
    raise TypeError(f"verify must be True, False, a path or an ssl.SSLContext, not {verify!r}")


def _client_certificate(cert: Any) -> tuple[Optional[str], Optional[str]]:
    if not cert:
        return None, None
    if isinstance(cert, (str, os.PathLike)):
        return _settings.client_files(cert)
    cert_file, key_file, *password = cert
    if password and password[0]:
        raise ValueError(
            "an encrypted client key (cert=(file, key, password)) is not supported by "
            "requestx's transports; decrypt the key first"
        )
    return _settings.client_files(cert_file, key_file)


_bundles: dict[str, str] = {}


def _ca_bundle(der_certs: tuple[bytes, ...]) -> str:
    """A PEM file holding these CA certificates, written once per process and
    per distinct set (libcurl reads CAs from files, not from an SSLContext)."""
    digest = hashlib.sha256(b"".join(der_certs)).hexdigest()
    path = _bundles.get(digest)
    if path is None:
        fd, path = tempfile.mkstemp(prefix="requestx-ca-", suffix=".pem")
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.writelines(ssl.DER_cert_to_PEM_cert(der) for der in der_certs)
        if not _bundles:
            atexit.register(_remove_bundles)
        _bundles[digest] = path
    return path


def _remove_bundles() -> None:
    for path in _bundles.values():
        try:
            os.unlink(path)
        except OSError:
            pass
    _bundles.clear()


# Proxies -------------------------------------------------------------------------


def _proxy_url(proxy: Any) -> str:
    """libcurl's proxy URL for httpx's ``proxy=`` (a URL string, an httpx URL or
    an httpx Proxy), with the credentials back in the URL; "" for none."""
    if proxy is None:
        return ""
    if not (hasattr(proxy, "url") and hasattr(proxy, "auth")):  # a str or an httpx URL
        return _settings.proxy_url(str(proxy))
    # an httpx.Proxy / httpx2.Proxy
    if getattr(proxy, "headers", None):
        raise ValueError("proxy headers are not supported by requestx's transports")
    url = _settings.proxy_url(str(proxy.url))
    if proxy.auth is None:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    user, password = proxy.auth
    userinfo = f"{quote(user, safe='')}:{quote(password or '', safe='')}@"
    return f"{parts.scheme}://{userinfo}{host}{port}"
