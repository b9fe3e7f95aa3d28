"""requestx.utils against requests.utils: the same call on both must give the
same result (or an exception of the same class), over tables of inputs.

Where requestx deliberately answers differently (its User-Agent, NO_PROXY
matching as requestx sends, case-insensitive media types, NUL bytes in
headers, libcurl's CA file) the test is marked ``requestx_only`` and states
requestx's answer. Nothing here touches the network.
"""

from __future__ import annotations

import http.cookiejar
import inspect
import io
import os
import subprocess
import sys
import tarfile
import urllib.parse
import warnings
import zipfile
from types import SimpleNamespace

import pytest
import requests
import requests.utils

import requestx
import requestx.utils

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def outcome(func, *args, **kwargs):
    """("value", result) or ("raises", exception class name)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return ("value", func(*args, **kwargs))
        except Exception as exc:
            return ("raises", type(exc).__name__)


def assert_same(name, *args, **kwargs):
    ours = outcome(getattr(requestx.utils, name), *args, **kwargs)
    theirs = outcome(getattr(requests.utils, name), *args, **kwargs)
    assert ours == theirs


def assert_same_fresh(name, make_args):
    """For inputs a call changes (streams): each side gets its own."""
    ours = outcome(getattr(requestx.utils, name), *make_args())
    theirs = outcome(getattr(requests.utils, name), *make_args())
    assert ours == theirs


@pytest.fixture
def clean_proxy_env(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


# --------------------------------------------------------------------------
# The module's surface

PUBLIC_NAMES = (
    "dict_from_cookiejar add_dict_to_cookiejar cookiejar_from_dict get_encodings_from_content "
    "get_encoding_from_headers stream_decode_response_unicode iter_slices "
    "get_unicode_from_response unquote_unreserved requote_uri address_in_network "
    "dotted_netmask is_ipv4_address is_valid_cidr set_environ should_bypass_proxies "
    "get_environ_proxies select_proxy resolve_proxies default_user_agent default_headers "
    "parse_header_links guess_json_utf prepend_scheme_if_needed get_auth_from_url "
    "check_header_validity urldefragauth rewind_body super_len get_netrc_auth guess_filename "
    "extract_zipped_paths from_key_val_list to_key_val_list parse_list_header "
    "parse_dict_header unquote_header_value dict_to_sequence quote to_native_string"
).split()


def test_import_requestx_exposes_utils():
    code = "import requestx; print(requestx.utils.dict_from_cookiejar([]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "{}"


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_same_parameters(name):
    ours = inspect.signature(getattr(requestx.utils, name)).parameters
    theirs = inspect.signature(getattr(requests.utils, name)).parameters
    assert [(p.name, p.kind) for p in ours.values()] == [(p.name, p.kind) for p in theirs.values()]


@pytest.mark.parametrize("name", ["DEFAULT_PORTS", "NETRC_FILES", "UNRESERVED_SET"])
def test_same_constant(name):
    assert getattr(requestx.utils, name) == getattr(requests.utils, name)


def test_quote_is_urllib_quote():
    assert requestx.utils.quote is urllib.parse.quote


def test_cookiejar_from_dict_is_requestx_cookies():
    assert requestx.utils.cookiejar_from_dict is requestx.cookies.cookiejar_from_dict


@pytest.mark.requestx_only
def test_default_ca_bundle_is_the_engines_and_a_readable_file():
    path = requestx.utils.DEFAULT_CA_BUNDLE_PATH
    assert path == requestx._engine.default_ca()[0]
    # this machine is Debian: its bundle is where every Debian keeps it
    assert path == "/etc/ssl/certs/ca-certificates.crt"
    assert os.access(path, os.R_OK)
    assert requestx._engine.default_ca()[1] == "/etc/ssl/certs"


def test_default_ca_bundle_in_dir():
    assert "DEFAULT_CA_BUNDLE_PATH" in dir(requestx.utils)


# --------------------------------------------------------------------------
# Cookies


@pytest.mark.parametrize(
    "jar_class", [http.cookiejar.CookieJar, requestx.cookies.RequestsCookieJar]
)
def test_add_dict_to_cookiejar(jar_class):
    jar = requestx.utils.add_dict_to_cookiejar(jar_class(), {"test": "cookies", "good": "x"})
    assert {c.name: c.value for c in jar} == {"test": "cookies", "good": "x"}


@pytest.mark.parametrize(
    "jar_class", [http.cookiejar.CookieJar, requestx.cookies.RequestsCookieJar]
)
def test_dict_from_cookiejar(jar_class):
    jar = requestx.utils.cookiejar_from_dict({"a": "1", "b": "2"}, jar_class())
    assert requestx.utils.dict_from_cookiejar(jar) == requests.utils.dict_from_cookiejar(jar)


def test_dict_from_session_cookies():
    session = requestx.Session()
    session.cookies.set("k", "v", domain="example.com")
    assert requestx.utils.dict_from_cookiejar(session.cookies) == {"k": "v"}


# --------------------------------------------------------------------------
# Encodings and text

CONTENT_DECLARATIONS = [
    "",
    '<meta charset="UTF-8">',
    '<meta http-equiv="Content-type" content="text/html;charset=UTF-8">',
    '<meta http-equiv="Content-type" content="text/html;charset=UTF-8" />',
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<?xml version="1.0" encoding="XML"?>\n<meta charset="HTML5">\n'
    '<meta http-equiv="Content-type" content="text/html;charset=HTML4" />',
    "<META CHARSET=utf-8>",
    "<meta content='charset=x'>",
    '<meta content=";charset=y">',
    '  <?xml encoding="not-at-start"?>',
    '<?XML encoding="upper"?>',
    '<meta\ncharset="across-lines">',
    '<meta charset="a"><meta charset="b">',
    '<meta charset="">',
    "<meta charset=unterminated",
]


@pytest.mark.parametrize("content", CONTENT_DECLARATIONS)
def test_get_encodings_from_content(content):
    assert_same("get_encodings_from_content", content)


def test_get_encodings_from_content_warns():
    with pytest.warns(DeprecationWarning):
        requestx.utils.get_encodings_from_content("")


CONTENT_TYPES = [
    "application/xml",
    "application/json ; charset=utf-8",
    "application/json ; Charset=utf-8",
    "multipart/form-data; boundary = something ; boundary2='something_else'",
    'multipart/form-data; boundary = something ; "boundary2=something_else"',
    "application/json ; ; ",
    "text/plain; charset=a; charset=b",
    "",
]


@pytest.mark.parametrize("value", CONTENT_TYPES)
def test_parse_content_type_header(value):
    assert_same("_parse_content_type_header", value)


@pytest.mark.requestx_only
def test_parse_content_type_header_flag_parameter():
    # requests 2.32 (the version requestx follows) maps a parameter without
    # '=' to True; requests >= 2.33 drops it.
    assert requestx.utils._parse_content_type_header("text/plain; flag ") == (
        "text/plain",
        {"flag": True},
    )


HEADERS_FOR_ENCODING = [
    {},
    {"content-type": "application/json; charset=utf-8"},
    {"content-type": "text/plain"},
    {"content-type": 'text/html; charset="UTF-8"'},
    {"content-type": "text/html; charset='x'"},
    {"content-type": "application/json"},
    {"content-type": "application/octet-stream"},
    {"content-type": "text/plain; charset=a; charset=b"},
    {"content-type": "text/plain; charset="},
    {"content-type": "x/y; CHARSET=latin1"},
    {"content-type": "application/vnd.api+json"},
    {"content-type": ""},
    {"Content-Type": "text/csv"},
]


@pytest.mark.parametrize("headers", HEADERS_FOR_ENCODING)
def test_get_encoding_from_headers(headers):
    assert_same("get_encoding_from_headers", requestx.structures.CaseInsensitiveDict(headers))


@pytest.mark.requestx_only
def test_get_encoding_from_headers_media_type_case_insensitive():
    headers = requestx.structures.CaseInsensitiveDict({"Content-Type": "TEXT/plain"})
    assert requestx.utils.get_encoding_from_headers(headers) == "ISO-8859-1"


@pytest.mark.parametrize(
    "encoding, chunks",
    [
        (None, [b"ab", b"\xc3", b"\xa9"]),
        ("utf-8", [b"ab", b"\xc3", b"\xa9"]),
        ("utf-8", [b"\xff", b"ok"]),
        ("utf-16", ["h\u00e9".encode("utf-16")[:3], "h\u00e9".encode("utf-16")[3:]]),
        ("latin-1", [b"\xe9", b""]),
        ("utf-8", []),
    ],
)
def test_stream_decode_response_unicode(encoding, chunks):
    r = SimpleNamespace(encoding=encoding)
    ours = list(requestx.utils.stream_decode_response_unicode(iter(chunks), r))
    theirs = list(requests.utils.stream_decode_response_unicode(iter(chunks), r))
    assert ours == theirs


def test_stream_decode_response_unicode_is_lazy():
    r = SimpleNamespace()  # no encoding yet: not read until iterated
    requestx.utils.stream_decode_response_unicode(iter([]), r)


def test_stream_decode_response_unicode_with_response():
    r = requestx.Response()
    r.encoding = "utf-8"
    assert list(requestx.utils.stream_decode_response_unicode([b"\xc3", b"\xa9"], r)) == ["\u00e9"]


@pytest.mark.parametrize(
    "string, length",
    [("", 0), ("T", 1), ("Test", 1), ("Test", 3), ("Content", None), ("Other", -5),
     ("Cont", 0), (b"abcdef", 4), ("abc", 10)],
)  # fmt: skip
def test_iter_slices(string, length):
    ours = list(requestx.utils.iter_slices(string, length))
    assert ours == list(requests.utils.iter_slices(string, length))


@pytest.mark.parametrize(
    "headers, content",
    [
        ({"content-type": "text/plain; charset=utf-8"}, "h\u00e9".encode()),
        ({"content-type": "text/plain; charset=ascii"}, "h\u00e9".encode()),
        ({"content-type": "text/plain"}, "h\u00e9".encode("latin-1")),
        ({}, "h\u00e9".encode()),
        ({}, b"\xff"),
        ({"content-type": "text/plain; charset=utf-8"}, None),
        ({"content-type": "text/plain; charset=no-such-codec"}, b"x"),
    ],
)
def test_get_unicode_from_response(headers, content):
    r = SimpleNamespace(headers=requestx.structures.CaseInsensitiveDict(headers), content=content)
    assert_same("get_unicode_from_response", r)


def test_get_unicode_from_response_warns():
    r = SimpleNamespace(headers={}, content=b"")
    with pytest.warns(DeprecationWarning):
        requestx.utils.get_unicode_from_response(r)


JSON_SAMPLES = [
    text.encode(codec)
    for text in ("{}", "[1]", '"a"', "1", "", "\ufeff{}")
    for codec in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                  "utf-32-le", "utf-32-be")
] + [b"\x00\x00\x00\x00", b"\x00", b"\x00a", b"a\x00\x00b", b"\x00\x00a\x00"]  # fmt: skip


@pytest.mark.parametrize("data", JSON_SAMPLES)
def test_guess_json_utf(data):
    assert_same("guess_json_utf", data)


@pytest.mark.parametrize("value", ["T", b"T", "\u00e9"])
def test_to_native_string(value):
    assert_same("to_native_string", value)


# --------------------------------------------------------------------------
# URLs

URIS = [
    "http://example.com/fiz?buz=%25ppicture",
    "http://example.com/fiz?buz=%ppicture",
    "http://example.com/?a=%--",
    "http://example.com/?a=%300",
    "http://e.com/%7e%7E%41%2F",
    "http://e.com/%zz",
    "http://e.com/a b",
    "http://e.com/%",
    "http://e.com/%4",
    "http://e.com/\u00e9",
    "http://e.com/%%41",
    "http://e.com/%g",
    "http://e.com/?q=a+b&c=%20",
]


@pytest.mark.parametrize("uri", URIS)
def test_requote_uri(uri):
    assert_same("requote_uri", uri)


@pytest.mark.parametrize("uri", URIS)
def test_unquote_unreserved(uri):
    assert_same("unquote_unreserved", uri)


def test_unquote_unreserved_invalid_escape_is_invalid_url():
    with pytest.raises(requestx.exceptions.InvalidURL):
        requestx.utils.unquote_unreserved("http://e.com/%zz")


@pytest.mark.parametrize(
    "url",
    [
        "http://u:p@example.com/path?a=1#test",
        "http://example.com/path",
        "//u:p@example.com/path",
        "//example.com/path",
        "example.com/path",
        "scheme:u:p@example.com/path",
        "http://u@h/p;params?q#f",
        "http://h/p@x",
        "",
        "a@b@c/d",
        "http://[::1]:80/x#y",
        "file:///etc/x",
    ],
)
def test_urldefragauth(url):
    assert_same("urldefragauth", url)


@pytest.mark.parametrize(
    "url",
    [
        "example.com/path",
        "//example.com/path",
        "example.com:80",
        "http://user:pass@example.com/path?query",
        "http://user@example.com/path?query",
        "localhost:8080",
        "HTTP://User:Pw@EXAMPLE.com/A/../B?q#f",
        "example.com/a/./b/../c",
        "example.com/a/.",
        "example.com/../..",
        "socks5://proxy:1080",
        "socks5://USER@Host:1/x/..",
        "http://[::1]:80/x",
        "proxy",
        "",
        "/path",
        "10.0.0.1:3128",
        "user:pw@proxy:3128",
        "ftp://EX.com/../a",
        "http://ex.com?x#y",
        "mailto:a@b.c",
        "//u:p@h:1/p?q#f",
    ],
)
def test_prepend_scheme_if_needed(url):
    assert_same("prepend_scheme_if_needed", url, "http")


def test_prepend_scheme_if_needed_keeps_scheme():
    assert requestx.utils.prepend_scheme_if_needed("https://h/", "http") == "https://h/"


USER = PASSWORD = "%!*'();:@&=+$,/?#[] "
QUOTED = urllib.parse.quote(USER, "")


@pytest.mark.parametrize(
    "url",
    [
        f"http://{QUOTED}:{QUOTED}@request.com/url.html#test",
        "http://user:pass@complex.url.com/path?query=yes",
        "http://user:pass%20pass@complex.url.com/path?query=yes",
        "http://user:pass pass@complex.url.com/path?query=yes",
        "http://user%25user:pass@complex.url.com/path?query=yes",
        "http://user:pass%23pass@complex.url.com/path?query=yes",
        "http://complex.url.com/path?query=yes",
        "http://user@h",
        "http://:p@h",
        "http://u:@h",
        "u:p@h",
        "http://a:b@c:d@h/",
    ],
)
def test_get_auth_from_url(url):
    assert_same("get_auth_from_url", url)


@pytest.mark.parametrize(
    "value",
    [
        ('<http:/.../front.jpeg>; rel=front; type="image/jpeg"'),
        "<http:/.../front.jpeg>",
        "<http:/.../front.jpeg>;",
        '<http:/.../front.jpeg>; type="image/jpeg",<http://.../back.jpeg>;',
        "",
        '<a>; rel="next", <b>; rel="last"',
        "<a>; broken",
    ],
)
def test_parse_header_links(value):
    assert_same("parse_header_links", value)


# --------------------------------------------------------------------------
# Header values

HEADER_VALUES = [
    "a",
    '"a"',
    '""',
    '"',
    '"a\\\\b"',
    '"a\\"b"',
    '"\\\\\\\\srv\\\\x"',
    "a, b",
    'a="x, y", b',
    '"a", "b"',
    'a="\\"x\\""',
    'a="x\\\\\\\\y"',
    "a=b=c",
    "=x",
    "a=",
    'a="',
    " a = b ",
    "a,,b",
    "",
    'token, "quoted, comma", x="y"',
    'foo="is a fish", bar="as well"',
    "key_without_value",
]


@pytest.mark.parametrize("value", HEADER_VALUES)
def test_parse_list_header(value):
    assert_same("parse_list_header", value)


@pytest.mark.parametrize("value", HEADER_VALUES)
def test_parse_dict_header(value):
    assert_same("parse_dict_header", value)


@pytest.mark.parametrize("value", [*HEADER_VALUES, None])
@pytest.mark.parametrize("is_filename", [False, True])
def test_unquote_header_value(value, is_filename):
    assert_same("unquote_header_value", value, is_filename)


@pytest.mark.parametrize(
    "header",
    [("a", "b"), (b"a", b"b"), ("a", " b"), (" a", "b"), ("a:", "b"), ("a", "b\r\nc"),
     ("a", "b\n"), ("a", ""), ("a", 1), (1, "a"), ("a", None), ("a", "\tb"), ("", "b")],
)  # fmt: skip
def test_check_header_validity(header):
    assert_same("check_header_validity", header)


@pytest.mark.requestx_only
@pytest.mark.parametrize("header", [("a\x00", "b"), ("a", "b\x00")])
def test_check_header_validity_refuses_nul(header):
    with pytest.raises(requestx.exceptions.InvalidHeader):
        requestx.utils.check_header_validity(header)


# --------------------------------------------------------------------------
# Key/value helpers


@pytest.mark.parametrize(
    "value",
    [[("key", "val")], (("key", "val"),), {"key": "val"}, None, "string", b"x", True, 3, [],
     [("a", 1), ("a", 2)]],
)  # fmt: skip
@pytest.mark.parametrize("name", ["to_key_val_list", "from_key_val_list", "dict_to_sequence"])
def test_key_val_helpers(name, value):
    assert_same(name, value)


def test_from_key_val_list_is_ordered_dict():
    assert type(requestx.utils.from_key_val_list([("a", 1)])).__name__ == "OrderedDict"


# --------------------------------------------------------------------------
# Networks

ADDRESSES = ["8.8.8.8", "8.8.8.8.8", "localhost.localdomain", "127.1", "1", "0x7f.1",
             "256.1.1.1", "", "::1", "01.02.03.04"]  # fmt: skip


@pytest.mark.parametrize("value", ADDRESSES)
def test_is_ipv4_address(value):
    assert_same("is_ipv4_address", value)


@pytest.mark.parametrize(
    "value",
    ["192.168.1.0/24", "8.8.8.8", "192.168.1.0/a", "192.168.1.0/128", "192.168.1.0/-1",
     "192.168.1.999/24", "0.0.0.0/0", "1.2.3.4/32", "1.2.3.4/1", "1.2.3.4/33", "1.2.3.4/24/1",
     "/24", "127.1/8", "::1/128", "1.2.3.4/ 24"],
)  # fmt: skip
def test_is_valid_cidr(value):
    assert_same("is_valid_cidr", value)


@pytest.mark.parametrize("mask", [0, 1, 8, 24, 25, 31, 32, 33])
def test_dotted_netmask(mask):
    assert_same("dotted_netmask", mask)


def test_dotted_netmask_negative_raises():
    # requests raises struct.error, requestx ValueError
    assert outcome(requestx.utils.dotted_netmask, -1)[0] == "raises"


@pytest.mark.parametrize("ip", ["192.168.1.1", "172.16.0.1", "10.0.0.1", "127.1"])
@pytest.mark.parametrize(
    "net", ["192.168.1.0/24", "172.16.0.0/12", "10.0.0.0/8", "0.0.0.0/1", "127.0.0.0/8"]
)
def test_address_in_network(ip, net):
    assert_same("address_in_network", ip, net)


# --------------------------------------------------------------------------
# Environment and proxies


@pytest.mark.parametrize("name", ["no_proxy", "REQUESTX_TEST_NEW_VARIABLE"])
@pytest.mark.parametrize("value", ["192.168.0.0/24,localhost", None])
def test_set_environ_sets_then_restores(monkeypatch, name, value):
    monkeypatch.setenv("no_proxy", "before")
    monkeypatch.delenv("REQUESTX_TEST_NEW_VARIABLE", raising=False)
    saved = dict(os.environ)
    with requestx.utils.set_environ(name, value):
        assert os.environ.get(name) == (value if value is not None else saved.get(name))
    assert dict(os.environ) == saved


def test_set_environ_restores_after_exception(monkeypatch):
    monkeypatch.delenv("REQUESTX_TEST_NEW_VARIABLE", raising=False)
    with pytest.raises(KeyError):
        with requestx.utils.set_environ("REQUESTX_TEST_NEW_VARIABLE", "x"):
            raise KeyError("inside")
    assert "REQUESTX_TEST_NEW_VARIABLE" not in os.environ


NO_PROXY_LISTS = [
    "192.168.0.0/24,127.0.0.1,localhost.localdomain,172.16.1.1, google.com:6000",
    "example.com",
    ".example.com",
    "ample.com",
    "*",
    "example.com:8080",
    "10.0.0.0/8",
    "EXAMPLE.COM",
    "localhost",
    "",
    ",",
    "sub.example.com",
    "10.0.0.1",
]
BYPASS_URLS = [
    "http://example.com/",
    "http://example.com:8080/",
    "http://sub.example.com/",
    "https://example.com/",
    "http://notexample.com/",
    "http://10.1.2.3/",
    "http://10.0.0.1:8080/",
    "http://[::1]:80/",
    "http://localhost/",
    "http://192.168.0.1:5000/",
    "http://172.16.1.12/",
    "http://google.com:6000/",
    "http://google.com:5000/v1.0/",
    "file:///some/path/on/disk",
    "http://",
]


@pytest.mark.parametrize("no_proxy", NO_PROXY_LISTS)
@pytest.mark.parametrize("url", BYPASS_URLS)
def test_should_bypass_proxies_argument(clean_proxy_env, url, no_proxy):
    assert_same("should_bypass_proxies", url, no_proxy=no_proxy)


@pytest.mark.parametrize("variable", ["no_proxy", "NO_PROXY"])
@pytest.mark.parametrize("url", BYPASS_URLS)
def test_should_bypass_proxies_environment(clean_proxy_env, variable, url):
    clean_proxy_env.setenv(variable, NO_PROXY_LISTS[0])
    assert_same("should_bypass_proxies", url, no_proxy=None)


def test_should_bypass_proxies_argument_beats_environment(clean_proxy_env):
    clean_proxy_env.setenv("no_proxy", "example.com")
    assert not requestx.utils.should_bypass_proxies("http://example.com/", no_proxy="other.com")


@pytest.mark.parametrize(
    "url", ["http://user:pass@172.16.1.1:5000", "http://hostname:5000/", "http://HostName/"]
)
def test_should_bypass_proxies_asks_platform_with_hostname(clean_proxy_env, monkeypatch, url):
    asked = []
    monkeypatch.setattr(requestx.utils, "proxy_bypass", lambda host: asked.append(host))
    requestx.utils.should_bypass_proxies(url, no_proxy=None)
    assert asked == [urllib.parse.urlsplit(url).hostname]


@pytest.mark.requestx_only
@pytest.mark.parametrize(
    "url, no_proxy",
    [
        ("http://example.com/", "*,foo.com"),  # '*' among other entries
        ("http://example.com/", "example.com:80"),  # the scheme's default port
        ("http://127.0.0.1:8080/", "127.0.0.1:8080"),  # ip:port
        ("http://[::1]/", "::/0"),  # an IPv6 network
    ],
)
def test_should_bypass_proxies_as_requestx_sends(clean_proxy_env, url, no_proxy):
    assert requestx.utils.should_bypass_proxies(url, no_proxy=no_proxy)


@pytest.fixture
def proxy_env(clean_proxy_env):
    clean_proxy_env.setenv("http_proxy", "http://proxy.example:3128")
    clean_proxy_env.setenv("ALL_PROXY", "socks5://socks.example:1080")
    clean_proxy_env.setenv("no_proxy", "skip.example")
    return clean_proxy_env


PROXY_URLS = ["http://a.example/", "https://a.example/", "http://skip.example/", "file:///x"]


@pytest.mark.parametrize("url", PROXY_URLS)
@pytest.mark.parametrize("no_proxy", [None, "a.example"])
def test_get_environ_proxies(proxy_env, url, no_proxy):
    assert_same("get_environ_proxies", url, no_proxy=no_proxy)


@pytest.mark.parametrize("url", PROXY_URLS)
@pytest.mark.parametrize(
    "proxies", [None, {}, {"http": "http://mine:1"}, {"no_proxy": "a.example"}, {"https": "x"}]
)
@pytest.mark.parametrize("trust_env", [True, False])
def test_resolve_proxies(proxy_env, url, proxies, trust_env):
    request = SimpleNamespace(url=url)
    assert_same("resolve_proxies", request, proxies, trust_env)


def test_resolve_proxies_does_not_change_argument(proxy_env):
    proxies = {"https": "http://mine:1"}
    requestx.utils.resolve_proxies(SimpleNamespace(url="http://a.example/"), proxies)
    assert proxies == {"https": "http://mine:1"}


PROXY_TABLES = [
    {"http": "http://http.proxy", "http://some.host": "http://some.host.proxy"},
    {"all": "socks5://http.proxy", "all://some.host": "socks5://some.host.proxy"},
    {"http": "h", "https": "s", "all": "a", "https://Some.Host": "x", "all://some.host": "y"},
    None,
    {},
]


@pytest.mark.parametrize(
    "url",
    ["hTTp://u:p@Some.Host/path", "hTTp:///path", "hTTps://Other.Host", "file:///etc/motd",
     "https://", "http://some.host:8080/", "http://[::1]/"],
)  # fmt: skip
@pytest.mark.parametrize("proxies", PROXY_TABLES)
def test_select_proxy(url, proxies):
    assert_same("select_proxy", url, proxies)


# --------------------------------------------------------------------------
# Default headers


@pytest.mark.requestx_only
def test_default_user_agent_names_requestx():
    assert requestx.utils.default_user_agent() == f"python-requestx/{requestx.__version__}"


def test_default_user_agent_custom_name():
    assert requestx.utils.default_user_agent("x").startswith("x/")


def test_default_headers_same_names():
    ours = requestx.utils.default_headers()
    assert sorted(ours) == sorted(requests.utils.default_headers())
    assert ours["User-Agent"] == requestx.utils.default_user_agent()


def test_default_headers_is_fresh_case_insensitive_dict():
    headers = requestx.utils.default_headers()
    headers["accept"] = "x"
    assert requestx.utils.default_headers()["Accept"] == "*/*"


# --------------------------------------------------------------------------
# Bodies and files


class _NoLenTellFails:
    def tell(self):
        raise OSError()

    def seek(self, offset, whence):
        pass


class _LenTellFails:
    def __len__(self):
        return 5

    def tell(self):
        raise OSError()


class _TellNoSeek:
    def tell(self):
        return 3


class _SeekFails:
    def tell(self):
        return 0

    def seek(self, *args):
        raise OSError()


def _partly_read(data):
    stream = io.BytesIO(data)
    stream.read(2)
    return stream


def _written_stringio():
    stream = io.StringIO()
    stream.write("foobarbogus")
    return stream


SIZED = {
    "empty str": lambda: "",
    "str": lambda: "Test",
    "non-ascii str (UTF-8 bytes)": lambda: "\u00e9t\u00e9",
    "bytes": lambda: b"abc",
    "BytesIO": lambda: io.BytesIO(b"12345"),
    "StringIO": lambda: io.StringIO("12345"),
    "partly read BytesIO": lambda: _partly_read(b"12345"),
    "written StringIO": _written_stringio,
    "list": lambda: [1, 2, 3],
    "object": object,
    ".len": lambda: SimpleNamespace(len=5),
    "int": lambda: 5,
    "tell fails, no len": _NoLenTellFails,
    "tell fails, len": _LenTellFails,
    "tell without seek": _TellNoSeek,
    "seek fails": _SeekFails,
}


@pytest.mark.parametrize("make", SIZED.values(), ids=SIZED.keys())
def test_super_len(make):
    assert_same_fresh("super_len", lambda: (make(),))


@pytest.mark.parametrize("skip", [0, 10])
def test_super_len_binary_file(skip):
    with open(__file__, "rb") as f:
        f.read(skip)
        assert requestx.utils.super_len(f) == requests.utils.super_len(f)


def test_super_len_text_file_warns(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("Test")
    with open(path) as f, pytest.warns(requestx.FileModeWarning):
        assert requestx.utils.super_len(f) == 4


def test_super_len_binary_file_does_not_warn(tmp_path, recwarn):
    path = tmp_path / "t.bin"
    path.write_bytes(b"Test")
    with open(path, "rb") as f:
        assert requestx.utils.super_len(f) == 4
    assert len(recwarn) == 0


def test_super_len_tarfile_member(tmp_path):
    (tmp_path / "test.txt").write_text("Test")
    archive = tmp_path / "test.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path / "test.txt", arcname="test.txt")
    with tarfile.open(archive) as tar:
        assert requestx.utils.super_len(tar.extractfile("test.txt")) == 4


@pytest.mark.parametrize(
    "obj",
    [1, SimpleNamespace(name=1), SimpleNamespace(name=b"value"), SimpleNamespace(name="value"),
     SimpleNamespace(name="/a/b/c.txt"), SimpleNamespace(name="<stdin>"),
     SimpleNamespace(name=b"/a/b"), SimpleNamespace(name=""), SimpleNamespace(name=b""),
     SimpleNamespace(name="a/"), SimpleNamespace(name="<x"), SimpleNamespace()],
)  # fmt: skip
def test_guess_filename(obj):
    assert_same("guess_filename", obj)


def _prepared(body):
    return requestx.Request("POST", "http://example.com/", data=body).prepare()


def test_rewind_body_seeks_to_start_position():
    body = io.BytesIO(b"the data")
    body.read(4)
    prepared = _prepared(body)
    prepared.body.read()
    requestx.utils.rewind_body(prepared)
    assert prepared.body.read() == b"data"


@pytest.mark.parametrize(
    "position, body",
    [(None, io.BytesIO(b"x")), (0, SimpleNamespace()), ("start", io.BytesIO(b"x"))],
)
def test_rewind_body_unrewindable(position, body):
    prepared = SimpleNamespace(body=body, _body_position=position)
    assert outcome(requestx.utils.rewind_body, prepared) == outcome(
        requests.utils.rewind_body, prepared
    )


def test_rewind_body_seek_error():
    prepared = SimpleNamespace(body=_SeekFails(), _body_position=0)
    with pytest.raises(requestx.exceptions.UnrewindableBodyError, match="error occurred"):
        requestx.utils.rewind_body(prepared)


NETRC_TEXT = "machine example.com login aaaa password bbbb\ndefault login dd password ee\n"


@pytest.mark.parametrize(
    "url",
    ["http://example.com/thing", "http://EXAMPLE.com:8080/", "http://example.com:@evil.com/",
     "http://other.com/", b"http://example.com/", "file:///x"],
)  # fmt: skip
def test_get_netrc_auth(tmp_path, monkeypatch, url):
    (tmp_path / "netrc").write_text(NETRC_TEXT)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert_same("get_netrc_auth", url)


def test_get_netrc_auth_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NETRC", str(tmp_path / "absent"))
    assert requestx.utils.get_netrc_auth("http://example.com/") is None


@pytest.mark.parametrize("raise_errors", [False, True])
def test_get_netrc_auth_parse_error(tmp_path, monkeypatch, raise_errors):
    (tmp_path / "netrc").write_text("machine example.com login\n  'unterminated\n")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert_same("get_netrc_auth", "http://example.com/", raise_errors)


@pytest.mark.parametrize(
    "path", ["/", __file__, pytest.__file__, "/etc/invalid/location", r"\\localhost\invalid\l"]
)
def test_extract_zipped_paths_unchanged(path):
    assert requestx.utils.extract_zipped_paths(path) == path


def test_extract_zipped_paths_extracts_member(tmp_path):
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("certs/ca.pem", b"PEM DATA")
    extracted = requestx.utils.extract_zipped_paths(str(archive / "certs" / "ca.pem"))
    try:
        assert extracted.endswith(".pem")
        with open(extracted, "rb") as f:
            assert f.read() == b"PEM DATA"
    finally:
        os.unlink(extracted)


def test_extract_zipped_paths_missing_member(tmp_path):
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.txt", b"x")
    path = str(archive / "b.txt")
    assert requestx.utils.extract_zipped_paths(path) == path
