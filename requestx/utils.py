"""requests' helper module: ``requests.utils`` for code that uses it.

User code written for requests calls these helpers directly, e.g.
``requests.utils.dict_from_cookiejar(s.cookies)``,
``requests.utils.quote(...)`` or ``requests.utils.default_headers()``. With
``import requestx as requests`` those calls land here: the same names,
signatures and results as requests 2.32, built on requestx's own internals
(URL quoting, NO_PROXY matching, .netrc lookup, cookie jars, body lengths)
so that a helper answers what requestx itself does when it sends a request.

Where requestx deliberately differs from requests, so does its helper:

* ``default_user_agent()`` and ``default_headers()`` describe requestx
  ("python-requestx/<version>", the encodings libcurl can decode);
* ``should_bypass_proxies()`` matches NO_PROXY entries as requestx does when
  it sends: an entry's port also matches the scheme's default port, an
  'ip:port' entry matches that address and port, '*' may be one entry of
  several, CIDR entries may be IPv6 networks, and a URL whose port is not a
  number is not an error;
* ``get_encoding_from_headers()`` compares media types case-insensitively
  ("TEXT/HTML" is text);
* ``check_header_validity()`` also refuses NUL bytes (libcurl cannot send them);
* ``prepend_scheme_if_needed()`` parses with the standard library rather
  than urllib3, so characters urllib3 would re-encode (a space, "%7e") are
  left as they are;
* ``get_unicode_from_response()`` and ``extract_zipped_paths()`` behave as
  in requests >= 2.33: a body without a charset is decoded as UTF-8 (2.32
  returned the bytes), a zipped file is extracted to a new temporary file
  (2.32 reused a predictable name in the temporary directory);
* ``DEFAULT_CA_BUNDLE_PATH`` is the CA file verify=True uses: libcurl's
  built-in one if it exists, else the first of the usual system locations
  (None when there is none), not certifi's bundle.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from http.cookiejar import CookieJar
from typing import Any, Optional, Union
from urllib.parse import quote, unquote, urlparse, urlsplit, urlunparse, urlunsplit
from urllib.request import proxy_bypass

from . import _url
from ._body import guess_filename as _guess_filename
from ._body import rewind as _rewind
from ._body import stream_length
from ._environment import (
    DEFAULT_PORTS,
    environment_proxies,
    netrc_auth,
    select_proxy,
    should_bypass_proxy,
)
from ._headers import ACCEPT_ENCODINGS as _ENCODINGS
from ._headers import check_header_validity as _check_header_parts
from ._headers import (
    default_headers,
    default_user_agent,
    parse_dict_header,
    parse_list_header,
    unquote_header_value,
)
from .cookies import cookiejar_from_dict
from .exceptions import FileModeWarning, InvalidURL
from .models import Response, _encoding_from_content_type, _guess_json_utf, parse_header_links

__all__ = [
    "DEFAULT_ACCEPT_ENCODING",
    "DEFAULT_CA_BUNDLE_PATH",  # noqa: F822 (module __getattr__, computed on first use)
    "DEFAULT_PORTS",
    "NETRC_FILES",
    "UNRESERVED_SET",
    "add_dict_to_cookiejar",
    "address_in_network",
    "check_header_validity",
    "cookiejar_from_dict",
    "default_headers",
    "default_user_agent",
    "dict_from_cookiejar",
    "dict_to_sequence",
    "dotted_netmask",
    "extract_zipped_paths",
    "from_key_val_list",
    "get_auth_from_url",
    "get_encoding_from_headers",
    "get_encodings_from_content",
    "get_environ_proxies",
    "get_netrc_auth",
    "get_unicode_from_response",
    "guess_filename",
    "guess_json_utf",
    "is_ipv4_address",
    "is_valid_cidr",
    "iter_slices",
    "parse_dict_header",
    "parse_header_links",
    "parse_list_header",
    "prepend_scheme_if_needed",
    "quote",
    "requote_uri",
    "resolve_proxies",
    "rewind_body",
    "select_proxy",
    "set_environ",
    "should_bypass_proxies",
    "stream_decode_response_unicode",
    "super_len",
    "to_key_val_list",
    "to_native_string",
    "unquote",
    "unquote_header_value",
    "unquote_unreserved",
    "urldefragauth",
    "urlparse",
    "urlunparse",
]

NETRC_FILES = (".netrc", "_netrc")
DEFAULT_ACCEPT_ENCODING = _ENCODINGS
UNRESERVED_SET = _url._UNRESERVED

# Re-exported as they are: cookiejar_from_dict, select_proxy,
# parse_header_links, default_headers, default_user_agent, quote, DEFAULT_PORTS.


# --------------------------------------------------------------------------
# The CA bundle: the engine's default (libcurl's built-in, else the system's)


def __getattr__(name: str) -> Any:
    # DEFAULT_CA_BUNDLE_PATH is computed on first use: it loads the engine.
    if name == "DEFAULT_CA_BUNDLE_PATH":
        from . import _engine

        path = _engine.default_ca()[0]
        globals()[name] = path
        return path
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"DEFAULT_CA_BUNDLE_PATH"})


# --------------------------------------------------------------------------
# Cookies


def dict_from_cookiejar(cj: CookieJar) -> dict[str, Optional[str]]:
    """A plain ``{name: value}`` dict of every cookie in ``cj``."""
    return {cookie.name: cookie.value for cookie in cj}


def add_dict_to_cookiejar(cj: CookieJar, cookie_dict: Mapping[str, Any]) -> CookieJar:
    """Add the cookies of ``cookie_dict`` to ``cj`` (any CookieJar) and return it."""
    return cookiejar_from_dict(cookie_dict, cj)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Encodings and text


# What get_encodings_from_content looks for, in this order: every
# <meta ... charset=X>, then every <meta ... content="charset=X">, then an
# XML declaration at the very start. None of them crosses a line break; the
# value ends at the first quote or '>'.
_META_CHARSET = re.compile(r"""<meta[^\n]*?charset=["']*([^\n]+?)["'>]""", re.IGNORECASE)
_META_CONTENT_CHARSET = re.compile(
    r"""<meta[^\n]*?content=["']*;?charset=([^\n]+?)["'>]""", re.IGNORECASE
)
_XML_DECLARATION = re.compile(r"""\A<\?xml[^\n]*?encoding=["']*([^\n]+?)["'>]""")


def get_encodings_from_content(content: str) -> list[str]:
    """The encodings an HTML or XML document declares, in requests' order.
    Deprecated in requests (it warns), as here."""
    warnings.warn(
        "get_encodings_from_content is deprecated and will be removed in requests 3.0 "
        "(see requests issue #2266)",
        DeprecationWarning,
        stacklevel=2,
    )
    found: list[str] = []
    for pattern in (_META_CHARSET, _META_CONTENT_CHARSET, _XML_DECLARATION):
        found.extend(pattern.findall(content))
    return found


_PARAM_STRIP = "\"' "


def _parse_content_type_header(header: str) -> tuple[str, dict[str, Any]]:
    """("media/type", {param: value}) of a Content-Type value; parameter
    names are lower-cased, quotes and spaces around names and values removed,
    a parameter without '=' maps to True."""
    media, *pieces = header.split(";")
    params: dict[str, Any] = {}
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        key, equals, value = piece.partition("=")
        if equals:
            params[key.strip(_PARAM_STRIP).lower()] = value.strip(_PARAM_STRIP)
        else:
            params[piece.lower()] = True
    return media.strip(), params


def get_encoding_from_headers(headers: Mapping[str, str]) -> Optional[str]:
    """The charset of the Content-Type header; else ISO-8859-1 for text/*,
    utf-8 for application/json, else None."""
    content_type = headers.get("content-type")
    if not content_type:
        return None
    media, params = _parse_content_type_header(content_type)
    charset = params.get("charset")
    if isinstance(charset, str):
        return charset.strip("'\"")
    return _encoding_from_content_type(media)


def stream_decode_response_unicode(iterator: Iterable[bytes], r: Any) -> Iterator[Any]:
    """Decode the chunks of ``iterator`` with ``r.encoding`` incrementally;
    the chunks pass through unchanged when ``r.encoding`` is None."""
    return Response._decode_stream(r, iterator)  # type: ignore[arg-type]


def iter_slices(string: Union[str, bytes], slice_length: Optional[int]) -> Iterator[Any]:
    """``string`` in pieces of ``slice_length``; in one piece when it is None
    or not positive."""
    size = len(string)
    if slice_length is None or slice_length <= 0:
        slice_length = size
    for start in range(0, size, slice_length or 1):
        yield string[start : start + slice_length]


def get_unicode_from_response(r: Any) -> Any:
    """``r.content`` as text: with the Content-Type charset when it decodes
    cleanly, else with that charset (or utf-8) and replacement characters.
    Deprecated in requests (it warns), as here."""
    warnings.warn(
        "get_unicode_from_response is deprecated and will be removed in requests 3.0 "
        "(see requests issue #2266)",
        DeprecationWarning,
        stacklevel=2,
    )
    content = r.content
    if content is None:
        return None
    encoding = get_encoding_from_headers(r.headers)
    if encoding:
        try:
            return str(content, encoding)
        except UnicodeError:
            pass
    try:
        return str(content, encoding or "utf-8", errors="replace")
    except TypeError:
        return content


def guess_json_utf(data: bytes) -> Optional[str]:
    """The UTF encoding of a JSON document, from its BOM or the pattern of
    NUL bytes in its first four bytes; None if neither tells."""
    return _guess_json_utf(data)


def to_native_string(string: Union[str, bytes], encoding: str = "ascii") -> str:
    """``string`` as str (bytes are decoded with ``encoding``)."""
    return string if isinstance(string, str) else string.decode(encoding)


# --------------------------------------------------------------------------
# URLs


def unquote_unreserved(uri: str) -> str:
    """Decode the %XX escapes of unreserved characters, leave the others;
    InvalidURL for an escape such as '%zz'."""
    try:
        return _url._unquote_unreserved(uri)
    except _url._BadEscape as exc:
        raise InvalidURL(f"Invalid percent-escape sequence: '{exc.args[0]}'") from None


requote_uri = _url.requote_uri


def urldefragauth(url: str) -> str:
    """``url`` without its fragment and user info. A URL without '//' is read
    as authority then path ('example.com/path' -> '//example.com/path')."""
    scheme, netloc, path, query, _ = urlsplit(url)
    if netloc:
        return _url.urldefragauth(url)
    return urlunsplit((scheme, path.rpartition("@")[2], "", query, ""))


# a scheme as urllib3 recognises one (no '.'), or a leading '/'
_SCHEME_OR_SLASH = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+\-]*:|/)")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 for an absolute path ('/a/./b/../c' -> '/a/c')."""
    if "." not in path:
        return path
    kept: list[str] = []
    segments = path[1:].split("/")
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if segments[-1] in (".", ".."):
        kept.append("")
    return "/" + "/".join(kept)


def prepend_scheme_if_needed(url: str, new_scheme: str) -> str:
    """``url`` with ``new_scheme`` in front when it has no scheme; user info,
    port, path, query and fragment are kept. As requests (through urllib3):
    the scheme and an http(s) host are lower-cased, dot segments removed
    from an http(s) path, and a URL without an authority keeps its path
    after '//' ('localhost:8080' is scheme 'localhost')."""
    parts = urlsplit(url if _SCHEME_OR_SLASH.match(url) else "//" + url)
    scheme = parts.scheme or None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    path = parts.path
    if path and not path.startswith("/"):
        path = "/" + path
    if scheme in (None, "http", "https"):
        hostport = hostport.lower()
        path = _remove_dot_segments(path)
    netloc = hostport
    if not netloc:
        netloc, path = path, ""
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit((scheme or new_scheme, netloc, path, parts.query, parts.fragment))


def get_auth_from_url(url: str) -> tuple[str, str]:
    """(username, password) from the URL's user info, percent-decoded;
    ('', '') unless both are present."""
    parts = urlparse(url)
    if parts.username is None or parts.password is None:
        return ("", "")
    return (unquote(parts.username), unquote(parts.password))


def check_header_validity(header: tuple[Union[str, bytes], Union[str, bytes]]) -> None:
    """InvalidHeader unless ``(name, value)`` may be sent: str or bytes, no
    leading whitespace, no ':' in the name, no CR, LF (or NUL) anywhere."""
    name, value = header
    _check_header_parts(name, value)


def to_key_val_list(value: Any) -> Optional[list[tuple[Any, Any]]]:
    """A mapping or an iterable of pairs as a list of pairs; None stays None;
    ValueError for str, bytes, bool and int."""
    if value is None:
        return None
    return _url.to_key_val_list(value)


def from_key_val_list(value: Any) -> Optional[OrderedDict[Any, Any]]:
    """A mapping or an iterable of pairs as an OrderedDict; None stays None;
    ValueError for str, bytes, bool and int."""
    if value is None:
        return None
    return OrderedDict(_url.to_key_val_list(value))


def dict_to_sequence(d: Any) -> Any:
    """``d.items()`` when ``d`` has items, else ``d`` itself."""
    return d.items() if hasattr(d, "items") else d


# --------------------------------------------------------------------------
# Networks and proxies


def is_ipv4_address(string_ip: str) -> bool:
    """True for anything the C library reads as an IPv4 address
    (inet_aton: '8.8.8.8', also '127.1')."""
    try:
        socket.inet_aton(string_ip)
    except OSError:
        return False
    return True


def is_valid_cidr(string_network: str) -> bool:
    """True for 'a.b.c.d/n' with an IPv4 address and 1 <= n <= 32."""
    address, slash, bits = string_network.partition("/")
    if not slash or "/" in bits:
        return False
    try:
        mask = int(bits)
    except ValueError:
        return False
    return 1 <= mask <= 32 and is_ipv4_address(address)


def _ipv4_int(address: str) -> int:
    return int.from_bytes(socket.inet_aton(address), "big")


def dotted_netmask(mask: int) -> str:
    """The dotted-quad form of a prefix length: 24 -> '255.255.255.0'."""
    if not 0 <= mask <= 32:
        raise ValueError(f"a netmask has 0 to 32 bits, not {mask!r}")
    bits = (0xFFFFFFFF << (32 - mask)) & 0xFFFFFFFF
    return socket.inet_ntoa(bits.to_bytes(4, "big"))


def address_in_network(ip: str, net: str) -> bool:
    """True when IPv4 address ``ip`` is in network ``net`` ('a.b.c.d/n')."""
    network, bits = net.split("/")
    mask = _ipv4_int(dotted_netmask(int(bits)))
    return (_ipv4_int(ip) ^ _ipv4_int(network)) & mask == 0


@contextlib.contextmanager
def set_environ(env_name: str, value: Optional[str]) -> Iterator[None]:
    """Set ``os.environ[env_name]`` for the ``with`` block and restore it
    after; a None value leaves the environment alone."""
    if value is None:
        yield
        return
    previous = os.environ.get(env_name)
    os.environ[env_name] = value
    try:
        yield
    finally:
        if previous is None:
            del os.environ[env_name]
        else:
            os.environ[env_name] = previous


def should_bypass_proxies(url: str, no_proxy: Optional[str]) -> bool:
    """True when ``url`` must not go through a proxy: it has no host (file:),
    ``no_proxy`` (else $no_proxy, else $NO_PROXY) names its host (domain and
    its subdomains, IP, CIDR network, host:port, '*'), or the platform's proxy
    settings exclude it (urllib's proxy_bypass, given the host name only)."""
    explicit = no_proxy
    if no_proxy is None:
        no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY")
    hostname = urlparse(url).hostname
    if hostname is None:
        return True
    if no_proxy and should_bypass_proxy(url, no_proxy):
        return True
    with set_environ("no_proxy", explicit):
        try:
            return bool(proxy_bypass(hostname))
        except (TypeError, socket.gaierror):
            return False


def get_environ_proxies(url: str, no_proxy: Optional[str] = None) -> dict[str, str]:
    """The environment's proxies (HTTP_PROXY, ...; keyed 'http', 'https',
    'all', 'no'), or {} when ``url`` bypasses proxies."""
    if should_bypass_proxies(url, no_proxy=no_proxy):
        return {}
    return environment_proxies()


def resolve_proxies(
    request: Any, proxies: Optional[dict[str, str]], trust_env: bool = True
) -> dict[str, str]:
    """``proxies`` plus, with ``trust_env``, the environment's proxy for the
    request's scheme (unless NO_PROXY, or proxies['no_proxy'], excludes the
    URL); an explicit entry wins."""
    proxies = proxies if proxies is not None else {}
    url = request.url
    resolved = proxies.copy()
    if trust_env:
        no_proxy = proxies.get("no_proxy")
        found = get_environ_proxies(url, no_proxy=no_proxy)
        scheme = urlparse(url).scheme
        proxy = found.get(scheme, found.get("all"))
        if proxy:
            resolved.setdefault(scheme, proxy)
    return resolved


# --------------------------------------------------------------------------
# Bodies and files


def super_len(o: Any) -> int:
    """How many bytes of ``o`` are left to send: str (as UTF-8), bytes and
    anything with ``len()`` or ``.len``, files (size minus position),
    streams with tell/seek; 0 when it cannot be told. Warns
    (FileModeWarning) for a file opened in text mode."""
    if isinstance(o, str):
        o = o.encode("utf-8")
    if not hasattr(o, "__len__") and not hasattr(o, "len") and _is_text_mode_file(o):
        warnings.warn(
            "the length of a file opened in text mode is its size in bytes, which may not "
            "be the length of what is sent: open it in binary mode ('rb')",
            FileModeWarning,
            stacklevel=2,
        )
    if hasattr(o, "tell"):
        try:
            o.tell()
        except OSError:
            return 0  # stdin and the like: length unknown, sent chunked
    return stream_length(o) or 0


def _is_text_mode_file(o: Any) -> bool:
    if not hasattr(o, "fileno"):
        return False
    try:
        o.fileno()
    except Exception:
        return False
    return "b" not in getattr(o, "mode", "b")


def rewind_body(prepared_request: Any) -> None:
    """Seek a prepared request's streamed body back to where it started
    (UnrewindableBodyError if it cannot be)."""
    _rewind(prepared_request)


def get_netrc_auth(url: Union[str, bytes], raise_errors: bool = False) -> Optional[tuple[str, str]]:
    """(login, password) for the URL's host from $NETRC, ~/.netrc or ~/_netrc,
    or None; parse errors are raised only with ``raise_errors``."""
    if isinstance(url, bytes):
        url = url.decode("utf-8")
    if urlsplit(url).hostname is None:
        return None
    found = netrc_auth(url, raise_errors)
    return found if found and any(found) else None


def guess_filename(obj: Any) -> Optional[Union[str, bytes]]:
    """The base name of ``obj.name`` unless it is missing or a pseudo-name
    such as '<stdin>'; a bytes name gives bytes."""
    name = getattr(obj, "name", None)
    if isinstance(name, bytes):
        return os.path.basename(name) if name else None
    return _guess_filename(obj)


def extract_zipped_paths(path: str) -> str:
    """``path`` itself when it exists or is not inside a zip archive;
    otherwise the archive member it names is copied to a new temporary file,
    whose path is returned (for CA bundles shipped inside zipped apps)."""
    if os.path.exists(path):
        return path
    archive, member = os.path.split(path)
    while archive and not os.path.exists(archive):
        archive, head = os.path.split(archive)
        if not head:  # splitting no longer shortens it (e.g. a UNC root)
            break
        member = f"{head}/{member}"
    import tempfile
    import zipfile

    if not zipfile.is_zipfile(archive):
        return path
    with zipfile.ZipFile(archive) as bundle:
        if member not in bundle.namelist():
            return path
        data = bundle.read(member)
    fd, extracted = tempfile.mkstemp(suffix=os.path.splitext(member)[1])
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return extracted
