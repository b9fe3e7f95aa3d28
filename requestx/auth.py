"""Authentication handlers, as in requests: any callable that takes a
PreparedRequest and returns it (usually with an Authorization header added)."""

from __future__ import annotations

from base64 import b64encode
from typing import Any, Union

__all__ = ["AuthBase", "HTTPBasicAuth", "HTTPProxyAuth"]


def _to_bytes(value: Union[str, bytes]) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise TypeError(f"Basic auth credentials must be str or bytes, not {type(value).__name__}")
    return value.encode("latin1")


def _basic_auth_str(username: Union[str, bytes], password: Union[str, bytes]) -> str:
    """The value of a Basic Authorization header."""
    token = b64encode(_to_bytes(username) + b":" + _to_bytes(password)).strip()
    return "Basic " + token.decode("ascii")


class AuthBase:
    """Base class that all auth implementations derive from."""

    def __call__(self, r: Any) -> Any:
        raise NotImplementedError("Auth hooks must be callable.")


class HTTPBasicAuth(AuthBase):
    """Attaches HTTP Basic Authentication to the given Request object."""

    def __init__(self, username: Union[str, bytes], password: Union[str, bytes]) -> None:
        self.username = username
        self.password = password

    def __eq__(self, other: object) -> bool:
        return all(
            [
                self.username == getattr(other, "username", None),
                self.password == getattr(other, "password", None),
            ]
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __call__(self, r: Any) -> Any:
        r.headers["Authorization"] = _basic_auth_str(self.username, self.password)
        return r


class HTTPProxyAuth(HTTPBasicAuth):
    """Attaches HTTP Proxy Authentication to a given Request object."""

    def __call__(self, r: Any) -> Any:
        r.headers["Proxy-Authorization"] = _basic_auth_str(self.username, self.password)
        return r
