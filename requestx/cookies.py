"""Cookies: requests' ``RequestsCookieJar`` (a ``http.cookiejar.CookieJar``
that is also a mutable mapping) and the helpers requests exposes.

The jar logic (RFC 6265 domain and path matching, host-only cookies, Secure,
expiry) is the standard library's; this module adapts our request and
response objects to the interface ``http.cookiejar`` expects.
"""

from __future__ import annotations

import calendar
import copy
import threading
import time
from collections.abc import Iterator, MutableMapping
from email.message import Message
from http import cookiejar as cookielib
from http.cookies import Morsel
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "CookieConflictError",
    "RequestsCookieJar",
    "cookiejar_from_dict",
    "create_cookie",
    "extract_cookies_to_jar",
    "get_cookie_header",
    "merge_cookies",
    "morsel_to_cookie",
    "remove_cookie_by_name",
]


class MockRequest:
    """Presents a prepared request as the ``urllib.request.Request`` that
    ``http.cookiejar`` reads; the Cookie header it adds is collected here."""

    def __init__(self, request: Any) -> None:
        self._r = request
        self._new_headers: dict[str, str] = {}
        self.type: str = urlsplit(request.url).scheme

    def get_type(self) -> str:
        return self.type

    def get_host(self) -> str:
        url: str = self._r.url
        return urlsplit(url).netloc

    def get_origin_req_host(self) -> str:
        return self.get_host()

    def get_full_url(self) -> str:
        host = self._r.headers.get("Host")
        url: str = self._r.url
        if not host:
            return url
        if isinstance(host, bytes):
            host = host.decode("utf-8")
        parts = urlsplit(url)
        full: str = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
        return full

    def is_unverifiable(self) -> bool:
        return True

    def has_header(self, name: str) -> bool:
        return name in self._r.headers or name in self._new_headers

    def get_header(self, name: str, default: Any = None) -> Any:
        return self._r.headers.get(name, self._new_headers.get(name, default))

    def add_header(self, key: str, val: str) -> None:
        raise NotImplementedError("Cookie headers should be added with add_unredirected_header()")

    def add_unredirected_header(self, name: str, value: str) -> None:
        self._new_headers[name] = value

    def get_new_headers(self) -> dict[str, str]:
        return self._new_headers

    @property
    def unverifiable(self) -> bool:
        return self.is_unverifiable()

    @property
    def origin_req_host(self) -> str:
        return self.get_origin_req_host()

    @property
    def host(self) -> str:
        return self.get_host()


class MockResponse:
    """Presents response headers as the ``info()`` message http.cookiejar reads."""

    def __init__(self, headers: Message) -> None:
        self._headers = headers

    def info(self) -> Message:
        return self._headers


def _message_from_pairs(pairs: Any) -> Message:
    msg = Message()
    for name, value in pairs:
        msg[name] = value
    return msg


def extract_cookies_to_jar(jar: cookielib.CookieJar, request: Any, response: Any) -> None:
    """Store the cookies ``response`` sets into ``jar``."""
    pairs = getattr(response, "_header_pairs", None)
    if pairs is None:
        original = getattr(response, "_original_response", None)
        if original is None or not hasattr(original, "msg"):
            return
        message = original.msg
    else:
        message = _message_from_pairs(pairs())
    jar.extract_cookies(MockResponse(message), MockRequest(request))  # type: ignore[arg-type]


def get_cookie_header(jar: cookielib.CookieJar, request: Any) -> Optional[str]:
    """The Cookie header ``jar`` would send with ``request``, or None."""
    mock = MockRequest(request)
    jar.add_cookie_header(mock)  # type: ignore[arg-type]
    return mock.get_new_headers().get("Cookie")


def remove_cookie_by_name(
    cookiejar: cookielib.CookieJar,
    name: str,
    domain: Optional[str] = None,
    path: Optional[str] = None,
) -> None:
    """Remove every cookie called ``name`` (optionally only for domain/path)."""
    doomed = [
        (c.domain, c.path, c.name)
        for c in cookiejar
        if c.name == name
        and (domain is None or domain == c.domain)
        and (path is None or path == c.path)
    ]
    for d, p, n in doomed:
        cookiejar.clear(d, p, n)


class CookieConflictError(RuntimeError):
    """More than one cookie matches a name; use get() with a domain and path."""


class RequestsCookieJar(cookielib.CookieJar, MutableMapping):  # type: ignore[type-arg]
    """A CookieJar with a dict interface; names may repeat across domains and
    paths, so get() and set() take ``domain`` and ``path``."""

    def get(
        self,
        name: str,
        default: Any = None,
        domain: Optional[str] = None,
        path: Optional[str] = None,
    ) -> Any:
        try:
            return self._find_no_duplicates(name, domain, path)
        except KeyError:
            return default

    def set(self, name: str, value: Any, **kwargs: Any) -> Optional[cookielib.Cookie]:
        """Set a cookie; a value of None removes it."""
        if value is None:
            remove_cookie_by_name(self, name, domain=kwargs.get("domain"), path=kwargs.get("path"))
            return None
        if isinstance(value, Morsel):
            cookie = morsel_to_cookie(value)
        else:
            cookie = create_cookie(name, value, **kwargs)
        self.set_cookie(cookie)
        return cookie

    def iterkeys(self) -> Iterator[str]:
        for cookie in iter(self):
            yield cookie.name

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(self.iterkeys())

    def itervalues(self) -> Iterator[Any]:
        for cookie in iter(self):
            yield cookie.value

    def values(self) -> list[Any]:  # type: ignore[override]
        return list(self.itervalues())

    def iteritems(self) -> Iterator[tuple[str, Any]]:
        for cookie in iter(self):
            yield cookie.name, cookie.value

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return list(self.iteritems())

    def list_domains(self) -> list[str]:
        domains: list[str] = []
        for cookie in iter(self):
            if cookie.domain not in domains:
                domains.append(cookie.domain)
        return domains

    def list_paths(self) -> list[str]:
        paths: list[str] = []
        for cookie in iter(self):
            if cookie.path not in paths:
                paths.append(cookie.path)
        return paths

    def multiple_domains(self) -> bool:
        domains: list[str] = []
        for cookie in iter(self):
            if cookie.domain is not None and cookie.domain in domains:
                return True
            domains.append(cookie.domain)
        return False

    def get_dict(self, domain: Optional[str] = None, path: Optional[str] = None) -> dict[str, Any]:
        return {
            c.name: c.value
            for c in iter(self)
            if (domain is None or c.domain == domain) and (path is None or c.path == path)
        }

    def __contains__(self, name: object) -> bool:
        try:
            return super().__contains__(name)
        except CookieConflictError:
            return True

    def __getitem__(self, name: str) -> Any:
        return self._find_no_duplicates(name)

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        remove_cookie_by_name(self, name)

    def __len__(self) -> int:
        return sum(1 for _ in iter(self))

    def set_cookie(self, cookie: cookielib.Cookie, *args: Any, **kwargs: Any) -> None:
        value = cookie.value
        if isinstance(value, str) and value.startswith('"') and value.endswith('"'):
            cookie.value = value.replace('\\"', "")
        return super().set_cookie(cookie, *args, **kwargs)

    def update(self, other: Any = (), **kwargs: Any) -> None:  # type: ignore[override]
        if isinstance(other, cookielib.CookieJar):
            for cookie in other:
                self.set_cookie(copy.copy(cookie))
        else:
            super().update(other, **kwargs)

    def _find(self, name: str, domain: Optional[str] = None, path: Optional[str] = None) -> Any:
        for cookie in iter(self):
            if cookie.name == name and (domain is None or cookie.domain == domain):
                if path is None or cookie.path == path:
                    return cookie.value
        raise KeyError(f"name={name!r}, domain={domain!r}, path={path!r}")

    def _find_no_duplicates(
        self, name: str, domain: Optional[str] = None, path: Optional[str] = None
    ) -> Any:
        found = None
        for cookie in iter(self):
            if cookie.name != name:
                continue
            if domain is not None and cookie.domain != domain:
                continue
            if path is not None and cookie.path != path:
                continue
            if found is not None:
                raise CookieConflictError(f"There are multiple cookies with name, {name!r}")
            found = cookie.value
            if found is None:
                found = ""
        if found is None:
            raise KeyError(f"name={name!r}, domain={domain!r}, path={path!r}")
        return found

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_cookies_lock")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_cookies_lock" not in self.__dict__:
            self._cookies_lock = threading.RLock()

    def copy(self) -> RequestsCookieJar:
        new = RequestsCookieJar()
        new.set_policy(self.get_policy())
        new.update(self)
        return new

    def get_policy(self) -> cookielib.CookiePolicy:
        return self._policy  # type: ignore[attr-defined,no-any-return]


def _copy_cookie_jar(jar: Optional[cookielib.CookieJar]) -> Optional[cookielib.CookieJar]:
    if jar is None:
        return None
    if hasattr(jar, "copy"):
        return jar.copy()  # type: ignore[no-any-return]
    new = copy.copy(jar)
    new.clear()
    for cookie in jar:
        new.set_cookie(copy.copy(cookie))
    return new


def create_cookie(name: str, value: Any, **kwargs: Any) -> cookielib.Cookie:
    """A Cookie with requests' defaults (path "/", no domain, not secure)."""
    result: dict[str, Any] = {
        "version": 0,
        "name": name,
        "value": value,
        "port": None,
        "domain": "",
        "path": "/",
        "secure": False,
        "expires": None,
        "discard": True,
        "comment": None,
        "comment_url": None,
        "rest": {"HttpOnly": None},
        "rfc2109": False,
    }
    unexpected = set(kwargs) - set(result)
    if unexpected:
        raise TypeError(f"create_cookie() got unexpected keyword arguments: {list(unexpected)}")
    result.update(kwargs)
    result["port_specified"] = bool(result["port"])
    result["domain_specified"] = bool(result["domain"])
    result["domain_initial_dot"] = result["domain"].startswith(".")
    result["path_specified"] = bool(result["path"])
    return cookielib.Cookie(**result)


def morsel_to_cookie(morsel: Morsel) -> cookielib.Cookie:  # type: ignore[type-arg]
    """Convert an ``http.cookies.Morsel`` into a Cookie."""
    expires = None
    if morsel["max-age"]:
        try:
            expires = int(time.time() + int(morsel["max-age"]))
        except ValueError:
            raise TypeError(f"max-age: {morsel['max-age']} must be integer") from None
    elif morsel["expires"]:
        expires = calendar.timegm(time.strptime(morsel["expires"], "%a, %d-%b-%Y %H:%M:%S GMT"))
    return create_cookie(
        comment=morsel["comment"],
        comment_url=bool(morsel["comment"]),
        discard=False,
        domain=morsel["domain"],
        expires=expires,
        name=morsel.key,
        path=morsel["path"],
        port=None,
        rest={"HttpOnly": morsel["httponly"]},
        rfc2109=False,
        secure=bool(morsel["secure"]),
        value=morsel.value,
        version=morsel["version"] or 0,
    )


def cookiejar_from_dict(
    cookie_dict: Optional[dict[str, Any]],
    cookiejar: Optional[cookielib.CookieJar] = None,
    overwrite: bool = True,
) -> cookielib.CookieJar:
    """A jar holding the cookies of ``cookie_dict`` (added to ``cookiejar`` if given)."""
    if cookiejar is None:
        cookiejar = RequestsCookieJar()
    if cookie_dict is not None:
        names = [cookie.name for cookie in cookiejar]
        for name in cookie_dict:
            if overwrite or name not in names:
                cookiejar.set_cookie(create_cookie(name, cookie_dict[name]))
    return cookiejar


def merge_cookies(cookiejar: cookielib.CookieJar, cookies: Any) -> cookielib.CookieJar:
    """Add ``cookies`` (a dict or a CookieJar) to ``cookiejar`` and return it."""
    if not isinstance(cookiejar, cookielib.CookieJar):
        raise ValueError("You can only merge into CookieJar")
    if isinstance(cookies, dict):
        cookiejar = cookiejar_from_dict(cookies, cookiejar=cookiejar, overwrite=False)
    elif isinstance(cookies, cookielib.CookieJar):
        try:
            cookiejar.update(cookies)  # type: ignore[attr-defined]
        except AttributeError:
            for cookie in cookies:
                cookiejar.set_cookie(cookie)
    return cookiejar
