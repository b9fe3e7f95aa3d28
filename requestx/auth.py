"""Authentication handlers, as in requests: any callable that takes a
PreparedRequest and returns it (usually with an Authorization header added)."""

from __future__ import annotations

import os
import re
import threading
import time
import warnings
from base64 import b64encode
from typing import Any, Callable, Optional, Union
from urllib.parse import urlsplit

from ._headers import parse_dict_header

__all__ = ["AuthBase", "HTTPBasicAuth", "HTTPDigestAuth", "HTTPProxyAuth"]


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        # requests 2.32 still accepts these (deprecated): same here
        warnings.warn(
            "Non-string usernames and passwords are deprecated; pass str or bytes "
            f"(got {type(value).__name__})",
            category=DeprecationWarning,
            stacklevel=3,
        )
        value = str(value)
    text: str = value
    return text.encode("latin1")


def _basic_auth_str(username: Union[str, bytes], password: Union[str, bytes]) -> str:
    """The value of a Basic Authorization header."""
    token = b64encode(_to_bytes(username) + b":" + _to_bytes(password)).strip()
    return "Basic " + token.decode("ascii")


class AuthBase:
    """Base class that all auth implementations derive from."""

    def __call__(self, r: Any) -> Any:
        raise NotImplementedError("Auth hooks must be callable.")


class _Credentials(AuthBase):
    """An auth handler made of a user name and a password; two are equal when
    both are (any object with the same two attributes compares equal)."""

    username: Any
    password: Any

    def __eq__(self, other: object) -> bool:
        return (self.username, self.password) == (
            getattr(other, "username", None),
            getattr(other, "password", None),
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


class HTTPBasicAuth(_Credentials):
    """Attaches HTTP Basic Authentication to the given Request object."""

    def __init__(self, username: Union[str, bytes], password: Union[str, bytes]) -> None:
        self.username = username
        self.password = password

    def __call__(self, r: Any) -> Any:
        r.headers["Authorization"] = _basic_auth_str(self.username, self.password)
        return r


class HTTPProxyAuth(HTTPBasicAuth):
    """Attaches HTTP Proxy Authentication to a given Request object."""

    def __call__(self, r: Any) -> Any:
        r.headers["Proxy-Authorization"] = _basic_auth_str(self.username, self.password)
        return r


def _hasher(algorithm: str) -> Optional[Callable[[str], str]]:
    name = {
        "MD5": "md5",
        "MD5-SESS": "md5",
        "SHA": "sha1",
        "SHA-256": "sha256",
        "SHA-256-SESS": "sha256",
        "SHA-512": "sha512",
        "SHA-512-SESS": "sha512",
    }.get(algorithm)
    if name is None:
        return None
    import hashlib  # digest auth only: not imported with the package

    def digest(text: str) -> str:
        return hashlib.new(name, text.encode("utf-8")).hexdigest()

    return digest


class HTTPDigestAuth(_Credentials):
    """HTTP Digest authentication (RFC 7616): MD5, MD5-sess, SHA, SHA-256 and
    SHA-512 (and their -sess forms), qop "auth" with a nonce count, and one
    retry after a 401 that carries a Digest challenge."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self._thread_local = threading.local()

    def init_per_thread_state(self) -> None:
        state = self._thread_local
        if not hasattr(state, "init"):
            state.init = True
            state.last_nonce = ""
            state.nonce_count = 0
            state.chal = {}
            state.pos = None
            state.num_401_calls = None

    def build_digest_header(self, method: str, url: str) -> Optional[str]:
        """The Authorization value answering the last challenge, or None when
        the challenge asks for something we cannot do."""
        state = self._thread_local
        chal = state.chal
        realm = chal["realm"]
        nonce = chal["nonce"]
        qop = chal.get("qop")
        algorithm = chal.get("algorithm")
        opaque = chal.get("opaque")
        algo = (algorithm or "MD5").upper()
        hash_fn = _hasher(algo)
        if hash_fn is None:
            return None
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        ha1 = hash_fn(f"{self.username}:{realm}:{self.password}")
        ha2 = hash_fn(f"{method}:{path}")
        if nonce == state.last_nonce:
            state.nonce_count += 1
        else:
            state.nonce_count = 1
        ncvalue = f"{state.nonce_count:08x}"
        seed = f"{state.nonce_count}{nonce}{time.ctime()}".encode() + os.urandom(8)
        import hashlib

        cnonce = hashlib.sha1(seed).hexdigest()[:16]
        if algo.endswith("-SESS"):
            ha1 = hash_fn(f"{ha1}:{nonce}:{cnonce}")
        if not qop:
            response = hash_fn(f"{ha1}:{nonce}:{ha2}")
        elif qop == "auth" or "auth" in [q.strip() for q in qop.split(",")]:
            response = hash_fn(f"{ha1}:{nonce}:{ncvalue}:{cnonce}:auth:{ha2}")
        else:
            return None  # auth-int is not supported
        state.last_nonce = nonce
        header = (
            f'username="{self.username}", realm="{realm}", nonce="{nonce}", '
            f'uri="{path}", response="{response}"'
        )
        if opaque:
            header += f', opaque="{opaque}"'
        if algorithm:
            header += f', algorithm="{algorithm}"'
        if qop:
            header += f', qop="auth", nc={ncvalue}, cnonce="{cnonce}"'
        return f"Digest {header}"

    def handle_redirect(self, r: Any, **kwargs: Any) -> None:
        """A redirect starts the count of 401 answers afresh."""
        if r.is_redirect:
            self._thread_local.num_401_calls = 1

    def handle_401(self, r: Any, **kwargs: Any) -> Any:
        """Answer a Digest challenge once, resending the request."""
        state = self._thread_local
        if not 400 <= r.status_code < 500:
            state.num_401_calls = 1
            return r
        if state.pos is not None:
            r.request.body.seek(state.pos)
        challenge = r.headers.get("www-authenticate", "")
        if "digest" in challenge.lower() and state.num_401_calls < 2:
            state.num_401_calls += 1
            state.chal = parse_dict_header(re.sub(r"(?i)digest ", "", challenge, count=1))
            is_async = getattr(r.connection, "is_async", False)
            if not is_async:
                r.content
                r.close()
            prep = r.request.copy()
            from .cookies import RequestsCookieJar, extract_cookies_to_jar

            jar = prep._cookies
            if jar is None:
                jar = RequestsCookieJar()
            extract_cookies_to_jar(jar, r.request, r)
            prep.prepare_cookies(jar)
            value = self.build_digest_header(prep.method, prep.url)
            if value is None:
                return r
            prep.headers["Authorization"] = value
            if is_async:
                return self._resend_async(r, prep, kwargs)
            retried = r.connection.send(prep, **kwargs)
            retried.history.append(r)
            retried.request = prep
            return retried
        state.num_401_calls = 1
        return r

    async def _resend_async(self, r: Any, prep: Any, kwargs: dict[str, Any]) -> Any:
        """handle_401 for an AsyncSession response: the same steps, awaited."""
        await r.aread()
        r.close()
        retried = await r.connection.send(prep, **kwargs)
        retried.history.append(r)
        retried.request = prep
        return retried

    def __call__(self, r: Any) -> Any:
        self.init_per_thread_state()
        state = self._thread_local
        if state.last_nonce:
            value = self.build_digest_header(r.method, r.url)
            if value:
                r.headers["Authorization"] = value
        try:
            state.pos = r.body.tell()
        except AttributeError:
            state.pos = None
        r.register_hook("response", self.handle_401)
        r.register_hook("response", self.handle_redirect)
        state.num_401_calls = 1
        return r
