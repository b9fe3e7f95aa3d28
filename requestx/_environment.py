"""What ``trust_env`` reads from the environment: proxies, NO_PROXY, CA
bundles and .netrc credentials."""

from __future__ import annotations

import ipaddress
import os
from typing import Any, Optional
from urllib.parse import urlsplit

__all__ = [
    "environment_proxies",
    "environment_ca_bundle",
    "netrc_auth",
    "netrc_exists",
    "select_proxy",
    "should_bypass_proxy",
]

DEFAULT_PORTS = {"http": 80, "https": 443}


def environment_proxies() -> dict[str, str]:
    """Proxy URLs from HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY (any case)."""
    # urllib.request (which imports http.client and email) only when some
    # variable is a *_proxy one: without one its answer is {}
    if not any(name.lower()[-6:] == "_proxy" for name in os.environ):
        return {}
    from urllib.request import getproxies_environment

    return dict(getproxies_environment())


def environment_ca_bundle() -> Optional[str]:
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def _host_matches(host: str, port: Optional[int], entry: str) -> bool:
    entry = entry.strip().lower()
    if not entry:
        return False
    if entry == "*":
        return True
    try:
        network = ipaddress.ip_network(entry, strict=False)
        try:
            return ipaddress.ip_address(host) in network
        except ValueError:
            return False
    except ValueError:
        pass
    entry_host, _, entry_port = entry.partition(":")
    if entry_port and port is not None and entry_port != str(port):
        return False
    entry_host = entry_host.lstrip(".")
    return host == entry_host or host.endswith("." + entry_host)


def should_bypass_proxy(url: str, no_proxy: Optional[str]) -> bool:
    """True when NO_PROXY names the URL's host (domain suffix, IP, CIDR, '*')."""
    if no_proxy is None:
        no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY")
    if not no_proxy:
        return False
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        return True
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        port = None
    return any(_host_matches(host, port, entry) for entry in no_proxy.replace(" ", "").split(","))


def select_proxy(url: str, proxies: Optional[dict[str, Any]]) -> Optional[str]:
    """The proxy for ``url``: 'scheme://host', then 'scheme', 'all://host', 'all'."""
    if not proxies:
        return None
    parts = urlsplit(url)
    if parts.hostname is None:
        return proxies.get(parts.scheme, proxies.get("all"))
    for key in (
        f"{parts.scheme}://{parts.hostname}",
        parts.scheme,
        f"all://{parts.hostname}",
        "all",
    ):
        if key in proxies:
            return proxies[key]  # type: ignore[no-any-return]
    return None


def _netrc_paths() -> list[str]:
    netrc_env = os.environ.get("NETRC")
    candidates = [netrc_env] if netrc_env else ["~/.netrc", "~/_netrc"]
    return [os.path.expanduser(c) for c in candidates]


def netrc_exists() -> bool:
    return any(os.path.exists(path) for path in _netrc_paths())


def netrc_auth(url: str, raise_errors: bool = False) -> Optional[tuple[str, str]]:
    """Credentials for the URL's host from $NETRC, ~/.netrc or ~/_netrc."""
    try:
        from netrc import NetrcParseError, netrc
    except ImportError:
        return None
    for path in _netrc_paths():
        if not os.path.exists(path):
            continue
        host = urlsplit(url).hostname or ""
        try:
            found = netrc(path).authenticators(host)
        except (NetrcParseError, OSError):
            if raise_errors:
                raise
            return None
        if found:
            login = 0 if found[0] else 1
            return (found[login] or "", found[2] or "")
        return None
    return None
