"""Header values as requests reads and writes them: the checks a header must
pass before it is sent, the parsers of list and dict header values, and the
headers a session sends by default.

A leaf: it imports nothing of requestx's but the engine, the exceptions and
structures, so that auth, models, utils and the sessions can all use it.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from . import _engine
from .__version__ import __version__
from .exceptions import InvalidHeader
from .structures import CaseInsensitiveDict

__all__ = [
    "ACCEPT_ENCODINGS",
    "check_header_validity",
    "check_method",
    "default_headers",
    "default_user_agent",
    "parse_dict_header",
    "parse_list_header",
    "unquote_header_value",
]

# requests' header rules: a name has no ':' or whitespace at its start and no
# CR/LF; a value has no leading whitespace and no CR/LF. We also refuse NUL.
_NAME_OK = re.compile(r"^[^:\s][^:\r\n\x00]*$")
_VALUE_OK = re.compile(r"^\S[^\r\n\x00]*$|^$")
_NAME_OK_B = re.compile(rb"^[^:\s][^:\r\n\x00]*$")
_VALUE_OK_B = re.compile(rb"^\S[^\r\n\x00]*$|^$")


# A method with a space or a control character in it would write its own
# request line and header fields (the CVE-2020-26116 class): http.client,
# under requests, refuses those with ValueError, and so does requestx.
_METHOD_BAD = re.compile(r"[\x00-\x20\x7f]")


def check_method(method: str) -> None:
    """Raise ValueError for a method that must not be sent."""
    found = _METHOD_BAD.search(method)
    if found is not None or not method:
        detail = f" (found at least {found.group()!r})" if found else ""
        raise ValueError(f"method can't be empty or contain control characters: {method!r}{detail}")


def check_header_validity(name: Any, value: Any) -> None:
    """Raise InvalidHeader for a header that must not be sent."""
    pattern: re.Pattern[Any]
    for part, which in ((name, 0), (value, 1)):
        if isinstance(part, str):
            pattern = (_NAME_OK, _VALUE_OK)[which]
        elif isinstance(part, bytes):
            pattern = (_NAME_OK_B, _VALUE_OK_B)[which]
        else:
            raise InvalidHeader(
                f"Header part ({part!r}) from {(name, value)} must be of type str or bytes, "
                f"not {type(part)}"
            )
        if not pattern.fullmatch(part):
            kind = "name" if which == 0 else "value"
            raise InvalidHeader(
                f"Invalid leading whitespace, reserved character(s), or return character(s) "
                f"in header {kind}: {part!r}"
            )


def unquote_header_value(value: str, is_filename: bool = False) -> str:
    """Remove the double quotes around a header value and undo its '\\\\' and
    '\\"' escapes; a quoted filename starting with '\\\\' (a UNC path) keeps
    its backslashes."""
    if not value or not (value[0] == value[-1] == '"'):
        return value
    inner = value[1:-1]
    if is_filename and inner[:2] == "\\\\":
        return inner
    return inner.replace("\\\\", "\\").replace('\\"', '"')


def _unquote_element(text: str) -> str:
    """A list or dict element as requests gives it: a double-quoted element
    loses its quotes and is then unquoted once more."""
    if text[:1] == text[-1:] == '"':
        return unquote_header_value(text[1:-1])
    return text


def parse_list_header(value: str) -> list[str]:
    """The elements of a comma-separated header (RFC 7230 lists; commas
    inside double quotes do not split), unquoted."""
    # urllib.request brings http.client and email: imported when first needed
    from urllib.request import parse_http_list

    return [_unquote_element(item) for item in parse_http_list(value)]


def parse_dict_header(value: str) -> dict[str, Optional[str]]:
    """'a=1, b="x, y", c' -> {'a': '1', 'b': 'x, y', 'c': None}."""
    from urllib.request import parse_http_list

    result: dict[str, Optional[str]] = {}
    for item in parse_http_list(value):
        name, equals, rest = item.partition("=")
        result[name] = _unquote_element(rest) if equals else None
    return result


# The content codings libcurl can undo here, as Accept-Encoding says them.
ACCEPT_ENCODINGS = ", ".join(
    e for e in ("gzip", "deflate", "br", "zstd") if e in _engine.features() or e == "deflate"
)


def default_user_agent(name: str = "python-requestx") -> str:
    return f"{name}/{__version__}"


# The default headers' store, made once: every session's headers start as a
# copy of it (the (name, value) pairs are shared; a store replaces a pair, it
# never changes one). Never changed itself.
DEFAULT_HEADER_STORE: dict[str, tuple[str, str]] = CaseInsensitiveDict(
    {
        "User-Agent": default_user_agent(),
        "Accept-Encoding": ACCEPT_ENCODINGS,
        "Accept": "*/*",
        "Connection": "keep-alive",
    }
)._store


def default_headers() -> CaseInsensitiveDict[str]:
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
    headers._store = DEFAULT_HEADER_STORE.copy()
    return headers
