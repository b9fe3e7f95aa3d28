"""Engine settings for every face: what TLS and proxy options amount to.

A request's engine settings are one ``_engine.Settings`` object: the HTTP
version, TLS verification (on or off, a CA file or directory), the client
certificate and key, the proxy URL, whether libcurl undoes Content-Encoding,
the local interface and a Unix socket. They are made once per distinct
configuration and shared by every session and transport that has it (the
engine also skips re-applying the options of the Settings a handle applied
last). Files named by an option are checked when a configuration is first
resolved, so a missing one fails before anything is sent.

The rules the faces share live here once:

* the proxy URL: ``host:port`` means ``http://host:port``; the schemes are
  those libcurl speaks; a URL without a host is refused (InvalidProxyURL, a
  ValueError);
* how a proxy is used: an ``http:`` URL is *forwarded* to an HTTP(S) proxy,
  which answers for the origin; everything else is *tunnelled*;
* which proxy applies: the request's mapping over the session's over the
  environment's; a None value removes a key (also one the environment would
  fill in); NO_PROXY (or the mapping's ``no_proxy``) turns the environment's
  off for the hosts it names.

What differs by face stays with the face: requests' ``verify`` (a bool or a
path, REQUESTS_CA_BUNDLE) and httpx's (also an ssl.SSLContext, SSL_CERT_FILE).
"""

from __future__ import annotations

import os
import re
from typing import Any, Optional
from urllib.parse import urlsplit

from .. import _engine
from .._environment import select_proxy, should_bypass_proxy
from ..exceptions import InvalidProxyURL

__all__ = [
    "PROXY_SCHEMES",
    "ca_location",
    "client_files",
    "cached_settings",
    "engine_settings",
    "keep_settings",
    "check_http3",
    "http_version",
    "merge_proxies",
    "proxy_kind",
    "proxy_url",
]

# Proxy URL schemes libcurl speaks.
PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")

_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HOST_PORT = re.compile(r"^[^:/]+:\d+(/|$)")


def proxy_url(proxy: Optional[str]) -> str:
    """libcurl's proxy URL for ``proxy``; "" for none."""
    if not proxy:
        return ""
    if not _HAS_SCHEME.match(proxy) or _HOST_PORT.match(proxy):
        proxy = "http://" + proxy  # "host:port" has no scheme
    scheme = proxy.split(":", 1)[0].lower()
    if scheme not in PROXY_SCHEMES:
        raise InvalidProxyURL(f"Unsupported proxy URL scheme: {proxy!r}")
    if not urlsplit(proxy).hostname:
        raise InvalidProxyURL(
            "Please check proxy URL. It is malformed and could be missing the host."
        )
    return proxy


def proxy_kind(url: str, proxy: str) -> Optional[str]:
    """How a request to ``url`` uses ``proxy``: None (no proxy), "forward"
    (an http URL sent to an HTTP proxy, which answers for the origin) or
    "tunnel" (see exceptions.proxy_failed)."""
    if not proxy:
        return None
    forward = url.startswith("http:") and proxy.startswith(("http:", "https:"))
    return "forward" if forward else "tunnel"


def merge_proxies(
    url: str,
    request_proxies: Any,
    session_proxies: Any,
    environment: Optional[dict[str, str]],
) -> dict[str, str]:
    """The proxy mapping for ``url``: the request's over the session's over
    the environment's (``environment``: environment_proxies(), or None when
    trust_env is off); None values removed."""
    merged = dict(session_proxies or {})
    if request_proxies:
        merged.update(request_proxies)
    if environment:
        no_proxy = merged.get("no_proxy") or environment.get("no")
        if not should_bypass_proxy(url, no_proxy):
            for key, value in environment.items():
                if key != "no":
                    merged.setdefault(key, value)
    return {k: v for k, v in merged.items() if v is not None}


def selected_proxy(url: str, proxies: dict[str, str]) -> str:
    """The normalized proxy URL that ``proxies`` picks for ``url``, or ""."""
    return proxy_url(select_proxy(url, proxies)) if proxies else ""


def ca_location(path: str) -> tuple[Optional[str], Optional[str]]:
    """(CA file, CA directory) for a ``verify`` path; OSError if it is missing."""
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Could not find a suitable TLS CA certificate bundle, invalid path: {path}"
        )
    return (None, path) if os.path.isdir(path) else (path, None)


def client_files(cert_file: Any, key_file: Any = None) -> tuple[Optional[str], Optional[str]]:
    """The client certificate and key paths, each checked to exist."""
    paths = []
    for path, what in ((cert_file, "certificate"), (key_file, "key")):
        if path:
            path = os.fspath(path)
            if not os.path.exists(path):
                raise FileNotFoundError(f"Could not find the TLS {what} file, invalid path: {path}")
        paths.append(path or None)
    return paths[0], paths[1]


def check_http3(http3: Any, http2: Any = False, http1: bool = True) -> Any:
    """``http3`` as given, once checked: False, True (QUIC raced against TCP,
    which falls back to HTTP/2 or HTTP/1.1) or "only" (QUIC, no fallback).
    ValueError for another value or for HTTP/3 beside HTTP/2 prior knowledge;
    RuntimeError when this libcurl has no HTTP/3 (before anything is sent)."""
    if http3 is False or http3 is None:
        return False
    if http3 is not True and http3 != "only":
        raise ValueError(f"http3 must be True, False or 'only', not {http3!r}")
    if http2 == "prior_knowledge" or not http1:
        raise ValueError("http3 cannot be combined with HTTP/2 prior knowledge (h2c)")
    if "http3" not in _engine.features():
        raise RuntimeError(
            f"this libcurl ({_engine.curl_version()}) was built without HTTP/3 support "
            "(QUIC): http3 needs requestx's bundled libcurl"
        )
    return http3


def http_version(http2: Any, http1: bool = True, http3: Any = False) -> int:
    """The engine's HTTP version for a face's ``http2`` and ``http3`` options
    (``http3`` checked by check_http3): "prior_knowledge" (or no HTTP/1.1)
    speaks HTTP/2 even over plain http (h2c); http2=True negotiates HTTP/2
    over TLS (ALPN) and uses HTTP/1.1 elsewhere. http3=True tries QUIC on
    https URLs and races TCP against it (HTTP/2 or HTTP/1.1 by ALPN), plain
    http URLs use HTTP/1.1; "only" is QUIC without fallback (libcurl refuses
    an http URL)."""
    if http3 == "only":
        return _engine.HTTP_VERSION_3_ONLY
    if http3:
        return _engine.HTTP_VERSION_3
    if http2 == "prior_knowledge" or not http1:
        return _engine.HTTP_VERSION_2_PRIOR_KNOWLEDGE
    if http2:
        return _engine.HTTP_VERSION_2
    return _engine.HTTP_VERSION_1_1


def engine_settings(
    version: int,
    verify: bool,
    ca_info: Optional[str],
    ca_path: Optional[str],
    cert: Optional[str],
    key: Optional[str],
    proxy: str,
    decode: bool,
    interface: Optional[str] = None,
    unix_socket: Optional[str] = None,
    resend_unsafe: bool = False,
) -> Any:
    """A Settings object for these values (already checked); keep it with
    keep_settings() to share it."""
    return _engine.Settings(
        version,
        verify,
        ca_info,
        ca_path,
        cert,
        key,
        proxy,
        decode,
        interface,
        unix_socket,
        resend_unsafe,
    )


# Settings objects by the options they were made from (each face has its own
# key shape), shared by every session and transport of the process: the same
# object also lets the engine skip re-applying what it already set. Emptied
# when it reaches _SETTINGS_MAX keys (a process rotating through proxies must
# not keep every one it ever used).
_SETTINGS: dict[tuple[Any, ...], Any] = {}
_SETTINGS_MAX = 256


def cached_settings(key: tuple[Any, ...]) -> Any:
    """The Settings kept for ``key``, or None."""
    return _SETTINGS.get(key)


def keep_settings(key: tuple[Any, ...], settings: Any) -> Any:
    """Keep ``settings`` for ``key``; the one kept first wins."""
    if len(_SETTINGS) >= _SETTINGS_MAX:
        _SETTINGS.clear()
    return _SETTINGS.setdefault(key, settings)
