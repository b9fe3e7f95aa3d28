"""URL preparation: requests' rules for what a URL may be, with a cache.

``prepare_url`` validates and normalises a URL exactly once per distinct
string (the result is cached), because a client that talks to the same
endpoints over and over should not re-parse them on every request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

from .exceptions import InvalidSchema, InvalidURL, MissingSchema

__all__ = [
    "redact_url",
    "PreparedURL",
    "prepare_url",
    "encode_params",
    "requote_uri",
    "sendable",
    "to_key_val_list",
    "urldefragauth",
]


class PreparedURL(NamedTuple):
    url: str  # what requests shows as PreparedRequest.url (may hold user:pass)
    wire: Optional[str]  # what is sent (no user info, no fragment); None: not http(s)
    scheme: str  # "http" or "https"
    host: str  # lower case, IDNA-encoded, no brackets
    auth: Optional[tuple[str, str]]  # from user:pass@ in the URL
    origin: str = ""  # "scheme://host:port", the unit of per-host connection limits


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SAFE_QUOTE = "!#$%&'()*+,/:;=?@[]~"
# Characters a registered name may hold (RFC 3986 reg-name, plus '%' escapes).
_HOST_OK = re.compile(r"^[A-Za-z0-9\-._~%!$&'()*+,;=]+$")

_CACHE: dict[str, PreparedURL] = {}
_CACHE_MAX = 1024


class _BadEscape(ValueError):
    pass


def _unquote_unreserved(uri: str) -> str:
    """Decode %XX escapes of unreserved characters; leave the rest escaped.
    A '%' followed by two letters or digits that are not hex is an error."""
    parts = uri.split("%")
    for i in range(1, len(parts)):
        pair = parts[i][:2]
        if len(pair) == 2 and pair.isalnum():
            try:
                ch = chr(int(pair, 16))
            except ValueError:
                raise _BadEscape(pair) from None
            parts[i] = ch + parts[i][2:] if ch in _UNRESERVED else "%" + parts[i]
        else:
            parts[i] = "%" + parts[i]
    return "".join(parts)


def requote_uri(uri: str) -> str:
    """Quote what must be quoted in a URI, without double-quoting escapes; a
    stray '%' (not the start of an escape) is quoted as %25."""
    try:
        return quote(_unquote_unreserved(uri), safe=_SAFE_QUOTE)
    except _BadEscape:
        return quote(uri, safe="!#$&'()*+,/:;=?@[]~")


def _idna_label(label: str) -> str:
    """One host label in IDNA 2008 form (as the idna package requests uses
    gives it): NFC, lower case, no transitional mapping (ß stays ß), and
    punycode; symbols, punctuation, spaces and controls are refused."""
    if label.isascii():
        return label.lower()
    import unicodedata  # non-ASCII host names only

    label = unicodedata.normalize("NFC", label).lower()
    for ch in label:
        if ord(ch) > 127 and unicodedata.category(ch)[0] in "SPZC":
            raise UnicodeError(f"character {ch!r} is not allowed in a host name")
    return "xn--" + label.encode("punycode").decode("ascii")


def _encode_host(host: str, url: str, scheme: str) -> str:
    if host.isascii():
        if host.startswith(("*", ".")) or not _HOST_OK.match(host):
            raise InvalidURL(f"Invalid URL {url!r}: URL has an invalid label.")
        # as urllib3: only http(s) host names are case-normalised
        return host.lower() if scheme in ("http", "https") else host
    try:
        return ".".join(_idna_label(label) for label in host.split("."))
    except UnicodeError:
        raise InvalidURL(f"Invalid URL {url!r}: URL has an invalid label.") from None


def _prepare(url: str) -> PreparedURL:
    raw = url
    url = url.lstrip()
    scheme_end = url.find(":")
    if scheme_end > 0 and not url[:scheme_end].lower().startswith("http"):
        # mailto:, data:, ftp://...: kept as they are, refused when sent
        return PreparedURL(url, None, url[:scheme_end].lower(), "", None)
    if "\r" in url or "\n" in url or "\t" in url:
        # urlsplit drops these without a word (WHATWG's rule), which would
        # send "/a\r\nX" as "/aX": requests percent-encodes them instead
        url = url.replace("\r", "%0D").replace("\n", "%0A").replace("\t", "%09")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidURL(f"Invalid URL {raw!r}: {exc}") from None
    if not parts.scheme:
        raise MissingSchema(
            f"Invalid URL {raw!r}: No scheme supplied. Perhaps you meant https://{raw}?"
        )
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    if not netloc:
        raise InvalidURL(f"Invalid URL {raw!r}: No host supplied")
    userinfo, at, hostport = netloc.rpartition("@")
    if not hostport:
        raise InvalidURL(f"Invalid URL {raw!r}: No host supplied")
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise InvalidURL(f"Invalid URL {raw!r}: bad IPv6 address")
        host, port_text = hostport[1:end], hostport[end + 1 :]
        if port_text and not port_text.startswith(":"):
            raise InvalidURL(f"Invalid URL {raw!r}: bad IPv6 address")
        port_text = port_text[1:]
        host_for_netloc = f"[{host.lower()}]"
        if not re.match(r"^[0-9A-Fa-f:.]+(%25?[A-Za-z0-9._~-]+)?$", host):
            raise InvalidURL(f"Invalid URL {raw!r}: bad IPv6 address")
        host = host.lower()
    else:
        host, _, port_text = hostport.partition(":")
        if not host:
            raise InvalidURL(f"Invalid URL {raw!r}: No host supplied")
        host = _encode_host(host, raw, scheme)
        host_for_netloc = host
    if port_text:
        if not port_text.isdigit() or int(port_text) > 65535:
            raise InvalidURL(f"Invalid URL {raw!r}: Failed to parse port {port_text!r}")
        host_for_netloc += f":{int(port_text)}"
    auth = None
    if at:
        user, _, password = userinfo.partition(":")
        auth = (unquote(user), unquote(password))
        netloc = f"{userinfo}@{host_for_netloc}"
    else:
        netloc = host_for_netloc
    path = parts.path or "/"
    shown = requote_uri(urlunsplit((scheme, netloc, path, parts.query, parts.fragment)))
    if any(c in shown for c in "\r\n\x00\t "):
        raise InvalidURL(f"Invalid URL {raw!r}: contains whitespace or control characters")
    wire = None
    if scheme in ("http", "https"):
        wire = requote_uri(urlunsplit((scheme, host_for_netloc, path, parts.query, "")))
    port = int(port_text) if port_text else (443 if scheme == "https" else 80)
    return PreparedURL(shown, wire, scheme, host, auth, f"{scheme}://{host}:{port}")


def sendable(target: PreparedURL) -> str:
    """The URL to send, or InvalidSchema for a scheme other than http/https."""
    if target.wire is None:
        raise InvalidSchema(f"No connection adapters were found for {target.url!r}")
    return target.wire


def to_key_val_list(value: Any) -> list[tuple[Any, Any]]:
    """A mapping or a list of pairs as a list of pairs (requests' helper)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, bool, int)):
        raise ValueError("cannot encode objects that are not 2-tuples")
    if isinstance(value, Mapping):
        return list(value.items())
    return list(value)


def encode_params(data: Any) -> Any:
    """Form-encode a mapping or list of pairs; strings, bytes and file objects
    pass through unchanged (requests' ``_encode_params``)."""
    if isinstance(data, (str, bytes)):
        return data
    if hasattr(data, "read"):
        return data
    if hasattr(data, "__iter__"):
        result = []
        for key, values in to_key_val_list(data):
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                values = [values]
            for v in values:
                if v is not None:
                    result.append(
                        (
                            key.encode("utf-8") if isinstance(key, str) else key,
                            v.encode("utf-8") if isinstance(v, str) else v,
                        )
                    )
        return urlencode(result, doseq=True)
    return data


def prepare_url(url: Any, params: Any = None) -> PreparedURL:
    """Validate and normalise ``url`` and append ``params`` to its query."""
    if isinstance(url, bytes):
        url = url.decode("utf8")
    elif not isinstance(url, str):
        url = str(url)
    prepared = _CACHE.get(url)
    if prepared is None:
        prepared = _prepare(url)
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[url] = prepared
    if params and prepared.scheme.startswith("http"):
        query = encode_params(params)
        if isinstance(query, bytes):
            query = query.decode("utf-8")
        if query:
            wire = prepared.wire
            prepared = prepared._replace(
                url=_add_query(prepared.url, query),
                wire=None if wire is None else _add_query(wire, query),
            )
    return prepared


def _add_query(url: str, query: str) -> str:
    base, hash_, fragment = url.partition("#")
    if base.endswith("?"):
        joined = base + query
    elif "?" in base:
        joined = f"{base}&{query}"
    else:
        joined = f"{base}?{query}"
    return requote_uri(joined + hash_ + fragment)


def urldefragauth(url: str) -> str:
    """The URL without fragment and user info (requests' helper)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


# Query parameters whose values are credentials (OpenTelemetry's list for
# url.full, and the usual names of signed URLs).
_SENSITIVE_QUERY = frozenset(
    {"awsaccesskeyid", "signature", "sig", "x-goog-signature", "x-amz-signature", "token"}
)


def redact_url(url: str, query: bool = True) -> str:
    """``url`` as telemetry and logs may show it: no userinfo, no fragment;
    ``query``: the query kept, with the values of credential parameters
    replaced by REDACTED; else left out."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "REDACTED"
    netloc = parts.netloc.rpartition("@")[2]
    text = ""
    if query and parts.query:
        pieces = []
        for item in parts.query.split("&"):
            name, eq, _ = item.partition("=")
            pieces.append(f"{name}=REDACTED" if eq and name.lower() in _SENSITIVE_QUERY else item)
        text = "&".join(pieces)
    return urlunsplit((parts.scheme, netloc, parts.path, text, ""))
