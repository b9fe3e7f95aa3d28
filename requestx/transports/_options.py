"""The constructor options of httpx's transports, turned into engine settings.

httpx's ``HTTPTransport(verify, cert, trust_env, http1, http2, limits, proxy,
uds, local_address, retries, socket_options)`` describes a connection pool.
:class:`ConfiguredTransport`, the base of both requestx transports, takes
those arguments, checks them once, and keeps the one engine Settings object
they amount to. Settings objects are shared between transports with equal
options, and the engine skips re-applying its options when it is handed
settings it has applied already.

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
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import ssl
import tempfile
from typing import Any, Optional
from urllib.parse import quote, urlsplit

from .. import _engine

__all__ = ["ConfiguredTransport", "DEFAULT_MAX_CONNECTIONS"]

# httpx's DEFAULT_LIMITS allow 100 connections.
DEFAULT_MAX_CONNECTIONS = 100

# Proxy URL schemes libcurl speaks (httpx itself knows http, https, socks5, socks5h).
_PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")


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
        retries: int = 0,
        socket_options: Any = None,
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
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an int >= 0, not {retries!r}")
        max_connections = DEFAULT_MAX_CONNECTIONS
        if limits is not None:
            max_connections = limits.max_connections
            if max_connections is not None and max_connections < 1:
                raise ValueError("limits.max_connections must be at least 1 (or None)")
        if not http1:
            version = _engine.HTTP_VERSION_2_PRIOR_KNOWLEDGE  # h2c over http, h2 via ALPN
        elif http2:
            version = _engine.HTTP_VERSION_2  # h2 via ALPN over TLS, HTTP/1.1 otherwise
        else:
            version = _engine.HTTP_VERSION_1_1
        verify_flag, ca_info, ca_path = _verification(verify, trust_env)
        cert_file, key_file = _client_certificate(cert)
        self._proxy = _proxy_url(proxy)  # "" when there is none
        interface = f"host!{local_address}" if local_address else None
        key = (
            version, verify_flag, ca_info, ca_path, cert_file, key_file, self._proxy,
            interface, uds or None,
        )  # fmt: skip
        self._settings = _settings(key)
        self._retries = retries
        self._max_connections: Optional[int] = max_connections  # None: no limit
        self._http2 = bool(http2)
        self._open()

    def _open(self) -> None:
        raise NotImplementedError

    def _proxy_kind(self, url: str) -> Optional[str]:
        """How a request to ``url`` uses the proxy: None, "forward" (an http
        URL sent to an HTTP proxy) or "tunnel" (see _errors.httpx_error)."""
        if not self._proxy:
            return None
        forward = url.startswith("http:") and self._proxy.startswith(("http:", "https:"))
        return "forward" if forward else "tunnel"


@functools.lru_cache(maxsize=64)
def _settings(key: tuple[Any, ...]) -> _engine.Settings:
    """One engine Settings object per distinct configuration."""
    version, verify, ca_info, ca_path, cert, key_file, proxy, interface, uds = key
    decode = False  # httpx undoes Content-Encoding itself
    return _engine.Settings(
        version, verify, ca_info, ca_path, cert, key_file, proxy, decode, interface, uds
    )


# TLS ---------------------------------------------------------------------------


def _verification(verify: Any, trust_env: bool) -> tuple[bool, Optional[str], Optional[str]]:
    """(verify peer and host, CA file, CA directory); None: libcurl's default store."""
    if verify is True:
        if trust_env:
            if os.environ.get("SSL_CERT_FILE"):
                return True, _existing(os.environ["SSL_CERT_FILE"], "CA bundle"), None
            if os.environ.get("SSL_CERT_DIR"):
                return True, None, _existing(os.environ["SSL_CERT_DIR"], "CA directory")
        return True, None, None
    if verify is False:
        return False, None, None
    if isinstance(verify, (str, os.PathLike)):
        path = _existing(os.fspath(verify), "CA bundle")
        return (True, None, path) if os.path.isdir(path) else (True, path, None)
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
        return _existing(os.fspath(cert), "client certificate"), None
    cert_file, key_file, *password = cert
    if password and password[0]:
        raise ValueError(
            "an encrypted client key (cert=(file, key, password)) is not supported by "
            "requestx's transports; decrypt the key first"
        )
    return (
        _existing(os.fspath(cert_file), "client certificate"),
        _existing(os.fspath(key_file), "client key") if key_file else None,
    )


def _existing(path: str, what: str) -> str:
    if not os.path.exists(path):
        raise FileNotFoundError(f"Could not find the TLS {what}, invalid path: {path}")
    return path


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
    auth = None
    if hasattr(proxy, "url") and hasattr(proxy, "auth"):  # httpx.Proxy / httpx2.Proxy
        if getattr(proxy, "headers", None):
            raise ValueError("proxy headers are not supported by requestx's transports")
        auth = proxy.auth
        proxy = proxy.url
    parts = urlsplit(str(proxy))
    scheme = parts.scheme.lower()
    if scheme not in _PROXY_SCHEMES:
        raise ValueError(f"Unknown scheme for proxy URL {str(proxy)!r}")
    if not parts.hostname:
        raise ValueError(f"The proxy URL {str(proxy)!r} has no host")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    if auth is None and (parts.username or parts.password):
        return f"{scheme}://{parts.netloc}"  # already percent-encoded as given
    userinfo = ""
    if auth is not None:
        user, password = auth
        userinfo = f"{quote(user, safe='')}:{quote(password or '', safe='')}@"
    return f"{scheme}://{userinfo}{host}{port}"
